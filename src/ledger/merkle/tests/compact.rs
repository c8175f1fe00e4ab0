//! The compact range: roots of every prefix, resuming from a frontier, and the subtrees an
//! append completes.

use super::*;

#[test]
fn compact_range_root_equals_root_of_for_every_prefix() {
    let leaves = &sample_leaves()[..600];
    let mut range = CompactRange::empty();
    assert_eq!(range.root(), root_of(&[]));
    for (i, leaf) in leaves.iter().enumerate() {
        range.append(*leaf, |_, _| {});
        assert_eq!(range.size(), i as u64 + 1);
        assert_eq!(range.root(), root_of(&leaves[..=i]), "size {}", i + 1);
    }
}

#[test]
fn compact_range_resumed_from_a_frontier_equals_continuing() {
    let leaves = &sample_leaves()[..300];
    let oracle = subtree_oracle(leaves);
    let mut reference = CompactRange::empty();
    for leaf in leaves {
        reference.append(*leaf, |_, _| {});
    }
    let mut running = CompactRange::empty();
    for split in 0..=leaves.len() {
        let frontier: Vec<Hash> = root_plan(split as u64)
            .iter()
            .map(|id| oracle[id])
            .collect();
        assert_eq!(
            running.frontier(),
            frontier.as_slice(),
            "frontier at {split}"
        );
        let mut resumed = CompactRange::from_frontier(split as u64, frontier).unwrap();
        assert_eq!(resumed, running);
        for leaf in &leaves[split..] {
            resumed.append(*leaf, |_, _| {});
        }
        assert_eq!(resumed, reference, "resumed at {split}");
        if let Some(leaf) = leaves.get(split) {
            running.append(*leaf, |_, _| {});
        }
    }
}

#[test]
fn from_frontier_rejects_a_frontier_of_the_wrong_length() {
    assert_eq!(
        CompactRange::from_frontier(6, vec![empty_root()]),
        Err(ProofError::FrontierLength {
            size: 6,
            expected: 2,
            actual: 1
        })
    );
    assert_eq!(
        CompactRange::from_frontier(0, vec![empty_root()]),
        Err(ProofError::FrontierLength {
            size: 0,
            expected: 0,
            actual: 1
        })
    );
    assert_eq!(
        CompactRange::from_frontier(0, vec![]),
        Ok(CompactRange::empty())
    );
}

#[test]
fn append_reports_exactly_the_completed_subtrees_bottom_up_with_their_hashes() {
    let leaves = &sample_leaves()[..300];
    let oracle = subtree_oracle(leaves);
    let mut range = CompactRange::empty();
    let mut reported = BTreeSet::new();
    for (position, leaf) in leaves.iter().enumerate() {
        let mut completed = Vec::new();
        range.append(*leaf, |id, hash| completed.push((id, hash)));
        // The subtrees the new leaf completes are those ending right after it, of level >= 1.
        let expected: Vec<NodeId> = (1..=8u8)
            .map(|level| NodeId::new(level, position as u64 >> level))
            .filter(|id| node_end(*id) == position as u128 + 1)
            .collect();
        let ids: Vec<NodeId> = completed.iter().map(|(id, _)| *id).collect();
        assert_eq!(ids, expected, "after leaf {position}");
        for (id, hash) in completed {
            assert_eq!(oracle[&id], hash, "{id:?}");
            let range_leaves = &leaves[node_begin(id) as usize..node_end(id) as usize];
            assert_eq!(root_of(range_leaves), hash, "{id:?}");
            assert!(reported.insert(id), "{id:?} reported twice");
        }
    }
    let all_internal: BTreeSet<NodeId> =
        oracle.keys().filter(|id| id.level >= 1).copied().collect();
    assert_eq!(reported, all_internal);
}
