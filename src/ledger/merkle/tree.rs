//! Naming the nodes of the tree and the subtree maths on leaf positions: which complete aligned
//! subtrees cover a range, how their hashes fold into the range's root, and the bottom-up walk
//! from a node to the root that proofs and verifiers share. No hashing of leaves happens here,
//! only of hashes already computed.

use super::hash::{empty_root, node_hash, Hash};

/// Identifies a complete, aligned subtree: leaves [index << level, (index + 1) << level).
///
/// Level 0 is a single leaf. The derived ordering (level first, then index) is what
/// [`ProofPlan::node_ids`](super::ProofPlan::node_ids) sorts by, which groups a storage query
/// by level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId {
    /// Height of the subtree: it holds `2^level` leaves. Always below 64.
    pub level: u8,
    /// Position of the subtree among the subtrees of the same level, counted from the left.
    pub index: u64,
}

impl NodeId {
    /// The subtree at `level` whose position among its level is `index`.
    pub const fn new(level: u8, index: u64) -> Self {
        Self { level, index }
    }

    /// The single leaf at position `index`.
    pub const fn leaf(index: u64) -> Self {
        Self { level: 0, index }
    }
}

/// Builds a [`NodeId`] from the `u32` levels the bit arithmetic below produces.
pub(super) fn node_at(level: u32, index: u64) -> NodeId {
    // Levels come from shifts and bit counts of u64 values, so they are at most 63.
    debug_assert!(level < 64, "level {level} cannot exist in a u64-sized tree");
    NodeId {
        level: level as u8,
        index,
    }
}

/// The complete aligned subtrees covering [begin, end), left to right, sizes decreasing as in the
/// RFC's recursion (binary decomposition of end-begin starting at begin). Empty when begin == end.
///
/// Every range the RFC recursion produces starts at a multiple of a power of two at least as large
/// as the range, and for those the result is exactly the binary decomposition of `end - begin`,
/// so [`fold_range`] over their hashes is `MTH(D[begin:end])`. For any other `begin` the result is
/// still the minimal cover by aligned subtrees (sizes first grow, then shrink), which is a valid
/// set of nodes to fetch but is not an RFC subtree.
///
/// # Panics
///
/// If `begin > end`, which no caller in this module produces and which indicates a bug.
pub fn range_nodes(begin: u64, end: u64) -> Vec<NodeId> {
    assert!(
        begin <= end,
        "range_nodes: begin {begin} is after end {end}"
    );
    let mut nodes = Vec::with_capacity((end - begin).count_ones() as usize);
    push_range_nodes(begin, end, &mut nodes);
    nodes
}

/// Appends the cover of `[begin, end)` to `out`; shared so callers can reuse one vector.
pub(super) fn push_range_nodes(mut begin: u64, end: u64, out: &mut Vec<NodeId>) {
    while begin < end {
        // The biggest block that still fits in what is left ...
        let fits = u64::BITS - 1 - (end - begin).leading_zeros();
        // ... and keeps the subtree aligned at `begin` (0 is aligned to everything).
        let level = if begin == 0 {
            fits
        } else {
            fits.min(begin.trailing_zeros())
        };
        out.push(node_at(level, begin >> level));
        begin += 1 << level;
    }
}

/// Fold complete-subtree hashes (as returned for `range_nodes`) into the range's Merkle tree hash:
/// right to left, `acc = node_hash(h_i, acc)`. Empty slice -> `empty_root()`.
///
/// Folding from the right reproduces the RFC's tree because the smallest subtrees sit at the right
/// edge, where the RFC recursion combines them first.
pub fn fold_range(hashes: &[Hash]) -> Hash {
    match hashes.split_last() {
        None => empty_root(),
        Some((last, rest)) => rest
            .iter()
            .rev()
            .fold(*last, |acc, left| node_hash(left, &acc)),
    }
}

// The bottom-up walk shared by plans and verifiers.
//
// Start at node `pos` of some level, where `last` is the position of the rightmost node of that
// level in the tree (`(size - 1) >> level`). Going up one level at a time until `last` is 0 (the
// root): if `pos` is odd its sibling `pos - 1` is a complete subtree on the left; if `pos` is even
// and `pos < last` its sibling `pos + 1` exists on the right (complete, or cut short by the tree
// size); if `pos == last` is even there is no sibling and the RFC tree simply promotes the node, so
// that level contributes no proof element. This is the walk RFC 9162 §2.1.3.2 spells out with its
// `fn`/`sn` variables.

/// Number of proof elements on the walk from node `pos` to the root.
pub(super) fn path_len(mut pos: u64, mut last: u64) -> usize {
    let mut len = 0;
    while last > 0 {
        if pos & 1 == 1 || pos < last {
            len += 1;
        }
        pos >>= 1;
        last >>= 1;
    }
    len
}

/// Appends to `out` the plan for the walk from node (`level`, `pos`) to the root of a tree of
/// `size` leaves.
pub(super) fn push_path_plan(level: u32, mut pos: u64, size: u64, out: &mut Vec<Vec<NodeId>>) {
    let mut level = level;
    let mut last = (size - 1) >> level;
    while last > 0 {
        if pos & 1 == 1 {
            out.push(vec![node_at(level, pos - 1)]);
        } else if pos < last {
            let begin = (pos + 1) << level;
            // Saturating: near u64::MAX the sibling's nominal end does not fit, but `size` does.
            let end = begin.saturating_add(1 << level).min(size);
            let mut nodes = Vec::with_capacity((end - begin).count_ones() as usize);
            push_range_nodes(begin, end, &mut nodes);
            out.push(nodes);
        }
        pos >>= 1;
        last >>= 1;
        level += 1;
    }
}

/// Where a consistency proof from `first` leaves starts: the level and position of the largest
/// complete subtree that ends exactly at leaf `first` (RFC 9162 §2.1.4.2 shifts `first - 1` right
/// past its trailing ones to find it). Requires `first > 0`.
pub(super) fn consistency_start(first: u64) -> (u32, u64) {
    let level = first.trailing_zeros();
    (level, (first - 1) >> level)
}

/// The complete subtrees whose fold is the root of a tree of `size` leaves: `range_nodes(0, size)`,
/// one per set bit of `size`.
pub fn root_plan(size: u64) -> Vec<NodeId> {
    range_nodes(0, size)
}
