//! Proof plans against the reference proofs, range covers, and the refusals of impossible
//! requests and malformed input.

use super::*;

#[test]
fn plans_agree_with_the_reference_proofs_for_every_size_up_to_64() {
    let leaves = &sample_leaves()[..64];
    let oracle = subtree_oracle(leaves);
    for size in 1..=64u64 {
        let tree = &leaves[..size as usize];
        for index in 0..size {
            let plan = inclusion_plan(index, size).unwrap();
            for id in plan.node_ids() {
                assert!(
                    node_end(id) <= u128::from(size),
                    "{id:?} beyond size {size}"
                );
            }
            let proof = inclusion_proof(tree, index).unwrap();
            assert_eq!(
                assemble_from(&plan, &oracle),
                proof,
                "inclusion {index} of {size}"
            );
        }
        for first in 1..=size {
            let plan = consistency_plan(first, size).unwrap();
            for id in plan.node_ids() {
                assert!(
                    node_end(id) <= u128::from(size),
                    "{id:?} beyond size {size}"
                );
            }
            let proof = consistency_proof(tree, first, size).unwrap();
            assert_eq!(
                assemble_from(&plan, &oracle),
                proof,
                "consistency {first}->{size}"
            );
        }
    }
}

#[test]
fn node_ids_are_sorted_and_deduplicated() {
    let plan = ProofPlan {
        elements: vec![
            vec![NodeId::new(2, 1), NodeId::leaf(12)],
            vec![NodeId::new(2, 1)],
            vec![NodeId::leaf(3)],
        ],
    };
    assert_eq!(
        plan.node_ids(),
        vec![NodeId::leaf(3), NodeId::leaf(12), NodeId::new(2, 1)]
    );
}

#[test]
fn assembling_fails_when_a_subtree_is_missing_or_an_element_is_empty() {
    let plan = inclusion_plan(5, 11).unwrap();
    let oracle = subtree_oracle(&sample_leaves()[..11]);
    let missing = plan.node_ids()[0];
    assert_eq!(
        plan.assemble(|id| (id != missing).then(|| oracle[&id])),
        None
    );
    let malformed = ProofPlan {
        elements: vec![vec![]],
    };
    assert_eq!(malformed.assemble(|_| Some(empty_root())), None);
}

#[test]
fn range_nodes_cover_any_range_with_aligned_subtrees() {
    for begin in 0..70u64 {
        for end in begin..70 {
            let nodes = range_nodes(begin, end);
            let mut at = u128::from(begin);
            for id in &nodes {
                assert_eq!(node_begin(*id), at, "gap in range_nodes({begin}, {end})");
                at = node_end(*id);
            }
            assert_eq!(at, u128::from(end));
        }
    }
    assert!(range_nodes(9, 9).is_empty());
    assert_eq!(
        range_nodes(1, 4),
        vec![NodeId::leaf(1), NodeId::new(1, 1)],
        "an unaligned start grows before it shrinks"
    );
}

#[test]
fn range_nodes_of_rfc_subtrees_fold_to_their_merkle_tree_hash() {
    let leaves = &sample_leaves()[..256];
    let oracle = subtree_oracle(leaves);
    for level in 0..=8u32 {
        let width = 1u64 << level;
        for start in (0..256).step_by(width as usize) {
            for len in 1..=width.min(256 - start) {
                let nodes = range_nodes(start, start + len);
                assert_eq!(nodes.len(), len.count_ones() as usize);
                let hashes: Vec<Hash> = nodes.iter().map(|id| oracle[id]).collect();
                let range = &leaves[start as usize..(start + len) as usize];
                assert_eq!(fold_range(&hashes), root_of(range));
            }
        }
    }
}

#[test]
fn inclusion_in_an_empty_tree_is_always_an_error() {
    let leaf = leaf_hash(b"x");
    for index in [0, 1, u64::MAX] {
        let out_of_range = ProofError::IndexOutOfRange { index, size: 0 };
        assert_eq!(inclusion_plan(index, 0), Err(out_of_range.clone()));
        assert_eq!(inclusion_proof(&[], index), Err(out_of_range));
        assert_eq!(
            verify_inclusion(&leaf, index, 0, &NO_PATH, &empty_root()),
            Err(VerifyError::IndexOutOfRange { index, size: 0 })
        );
    }
}

#[test]
fn proof_requests_for_impossible_sizes_are_errors() {
    let leaves = &sample_leaves()[..10];
    assert_eq!(
        inclusion_plan(10, 10),
        Err(ProofError::IndexOutOfRange {
            index: 10,
            size: 10
        })
    );
    assert_eq!(
        inclusion_proof(leaves, 10),
        Err(ProofError::IndexOutOfRange {
            index: 10,
            size: 10
        })
    );
    let backwards = ProofError::FirstExceedsSecond {
        first: 5,
        second: 4,
    };
    assert_eq!(consistency_plan(5, 4), Err(backwards.clone()));
    assert_eq!(consistency_proof(leaves, 5, 4), Err(backwards));
    for second in [0, 1, 10] {
        assert_eq!(consistency_plan(0, second), Err(ProofError::EmptyFirstTree));
        assert_eq!(
            consistency_proof(leaves, 0, second),
            Err(ProofError::EmptyFirstTree)
        );
    }
    assert_eq!(
        consistency_proof(leaves, 3, 11),
        Err(ProofError::SizeExceedsLeaves {
            size: 11,
            available: 10
        })
    );
    assert_eq!(consistency_plan(7, 7), Ok(ProofPlan::default()));
    assert_eq!(consistency_proof(leaves, 7, 7), Ok(vec![]));
}

#[test]
fn consistency_between_equal_sizes_needs_an_empty_proof_and_equal_roots() {
    let root = root_of(&sample_leaves()[..6]);
    let other = root_of(&sample_leaves()[..5]);
    assert_eq!(verify_consistency(6, 6, &root, &root, &NO_PATH), Ok(()));
    assert_eq!(
        verify_consistency(6, 6, &root, &other, &NO_PATH),
        Err(VerifyError::RootsDiffer { size: 6 })
    );
    assert_eq!(
        verify_consistency(6, 6, &root, &root, &[root]),
        Err(VerifyError::PathLength {
            expected: 0,
            actual: 1
        })
    );
}

#[test]
fn consistency_from_the_empty_tree_is_only_the_empty_proof_from_the_empty_root() {
    let root = root_of(&sample_leaves()[..6]);
    let empty = empty_root();
    assert_eq!(verify_consistency(0, 6, &empty, &root, &NO_PATH), Ok(()));
    assert_eq!(verify_consistency(0, 0, &empty, &empty, &NO_PATH), Ok(()));
    assert_eq!(
        verify_consistency(0, 6, &root, &root, &NO_PATH),
        Err(VerifyError::NotEmptyTreeRoot)
    );
    assert_eq!(
        verify_consistency(0, 0, &empty, &root, &NO_PATH),
        Err(VerifyError::NotEmptyTreeRoot)
    );
    assert_eq!(
        verify_consistency(0, 6, &empty, &root, &[root]),
        Err(VerifyError::PathLength {
            expected: 0,
            actual: 1
        })
    );
    assert!(verify_consistency(0, 6, &empty, &root[..31], &NO_PATH).is_err());
}

#[test]
fn verifiers_report_malformed_hashes_instead_of_panicking() {
    let leaves = &sample_leaves()[..13];
    let (root, leaf) = (root_of(leaves), leaves[4]);
    let path = inclusion_proof(leaves, 4).unwrap();
    let old_root = root_of(&leaves[..6]);
    let proof = consistency_proof(leaves, 6, 13).unwrap();
    for len in [0, 1, 31, 33, 64] {
        let bad = vec![7u8; len];
        assert_eq!(
            verify_inclusion(&bad, 4, 13, &path, &root),
            Err(VerifyError::HashLength {
                role: HashRole::LeafHash,
                len
            })
        );
        assert_eq!(
            verify_inclusion(&leaf, 4, 13, &path, &bad),
            Err(VerifyError::HashLength {
                role: HashRole::Root,
                len
            })
        );
        for position in 0..path.len() {
            let mut broken: Vec<Vec<u8>> = path.iter().map(|h| h.to_vec()).collect();
            broken[position] = bad.clone();
            assert_eq!(
                verify_inclusion(&leaf, 4, 13, &broken, &root),
                Err(VerifyError::HashLength {
                    role: HashRole::PathElement(position),
                    len
                })
            );
        }
        assert_eq!(
            verify_consistency(6, 13, &bad, &root, &proof),
            Err(VerifyError::HashLength {
                role: HashRole::FirstRoot,
                len
            })
        );
        assert_eq!(
            verify_consistency(6, 13, &old_root, &bad, &proof),
            Err(VerifyError::HashLength {
                role: HashRole::SecondRoot,
                len
            })
        );
        for position in 0..proof.len() {
            let mut broken: Vec<Vec<u8>> = proof.iter().map(|h| h.to_vec()).collect();
            broken[position] = bad.clone();
            assert_eq!(
                verify_consistency(6, 13, &old_root, &root, &broken),
                Err(VerifyError::HashLength {
                    role: HashRole::PathElement(position),
                    len
                })
            );
        }
    }
    assert_eq!(
        verify_inclusion(&leaf, 4, 13, &path[1..], &root),
        Err(VerifyError::PathLength {
            expected: path.len(),
            actual: path.len() - 1
        })
    );
}

#[test]
fn plans_for_the_largest_possible_trees_do_not_overflow() {
    for (index, size) in [
        (0, u64::MAX),
        (u64::MAX - 1, u64::MAX),
        (u64::MAX / 2, u64::MAX),
        (1 << 63, (1 << 63) + 1),
    ] {
        let plan = inclusion_plan(index, size).unwrap();
        assert_eq!(plan.elements.len(), path_len(index, size - 1));
        for element in &plan.elements {
            let (_, end) = element_span(element);
            assert!(end <= u128::from(size));
        }
    }
    for (first, second) in [(1, u64::MAX), (u64::MAX - 1, u64::MAX), (1 << 63, u64::MAX)] {
        let plan = consistency_plan(first, second).unwrap();
        for element in &plan.elements {
            let (_, end) = element_span(element);
            assert!(end <= u128::from(second));
        }
    }
}
