//! The compact range: the right edge of the tree, enough to compute its root and to extend it
//! leaf by leaf. The store keeps one in its head row and resumes appending from it.

use super::hash::{node_hash, Hash};
use super::plan::ProofError;
use super::tree::{fold_range, node_at, NodeId};

/// Incremental tree (the right edge / compact range) used by the store to append in batches.
///
/// It holds the tree size and the hashes of `range_nodes(0, size)`: one complete subtree per set
/// bit of the size, largest (leftmost) first. That is all that is needed to compute the root and
/// to extend the tree, so the store can resume appending from a few dozen stored hashes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CompactRange {
    size: u64,
    frontier: Vec<Hash>,
}

impl CompactRange {
    /// The empty tree.
    pub fn empty() -> Self {
        Self {
            size: 0,
            // A u64-sized tree never has more than 64 frontier subtrees; reserving avoids regrowth.
            frontier: Vec::with_capacity(u64::BITS as usize),
        }
    }

    /// Resumes from a stored size and the hashes of `range_nodes(0, size)`, left to right.
    ///
    /// # Errors
    ///
    /// [`ProofError::FrontierLength`] unless there is one hash per set bit of `size`.
    pub fn from_frontier(size: u64, frontier: Vec<Hash>) -> Result<Self, ProofError> {
        let expected = size.count_ones() as usize;
        if frontier.len() != expected {
            return Err(ProofError::FrontierLength {
                size,
                expected,
                actual: frontier.len(),
            });
        }
        Ok(Self { size, frontier })
    }

    /// The number of leaves appended so far.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The hashes of `range_nodes(0, size)`, left to right: what to store to resume later with
    /// [`CompactRange::from_frontier`].
    pub fn frontier(&self) -> &[Hash] {
        &self.frontier
    }

    /// The Merkle tree hash of the leaves appended so far.
    pub fn root(&self) -> Hash {
        fold_range(&self.frontier)
    }

    /// Appends one leaf hash, calling `on_node` for every complete subtree of level >= 1 it
    /// completes (so the store can persist it), bottom-up.
    ///
    /// # Panics
    ///
    /// If the tree already holds `u64::MAX` leaves.
    pub fn append(&mut self, leaf_hash: Hash, mut on_node: impl FnMut(NodeId, Hash)) {
        let position = self.size;
        let new_size = position
            .checked_add(1)
            .expect("a tree cannot hold more than u64::MAX leaves");
        let mut hash = leaf_hash;
        let mut level = 0;
        // Each trailing one bit of `position` is a complete subtree of that size waiting for an
        // equally large right sibling; the new leaf completes them, smallest first. `position` is
        // below u64::MAX, so it has at most 63 trailing ones and the shifts stay in range.
        while (position >> level) & 1 == 1 {
            let left = self
                .frontier
                .pop()
                .expect("the frontier holds one hash per set bit of the size");
            hash = node_hash(&left, &hash);
            level += 1;
            on_node(node_at(level, position >> level), hash);
        }
        self.frontier.push(hash);
        self.size = new_size;
    }
}
