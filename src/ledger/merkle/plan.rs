//! Proof plans: which stored complete subtrees each element of an inclusion or consistency proof
//! folds (RFC 9162 §2.1.3.1 and §2.1.4.1, computed bottom-up from the sizes alone). The store
//! fetches every subtree of a plan in one query and [`ProofPlan::assemble`]s the proof.

use super::hash::{node_hash, Hash};
use super::tree::{consistency_start, node_at, path_len, push_path_plan, NodeId};

/// A proof "plan": each proof element is the fold of a list of complete subtrees. Storage fetches
/// every [`NodeId`] a plan needs in one query, then calls [`ProofPlan::assemble`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProofPlan {
    /// One entry per proof element, in proof order; each lists the subtrees to fold, left to right.
    pub elements: Vec<Vec<NodeId>>,
}

impl ProofPlan {
    /// Every subtree the plan needs, deduplicated and sorted (by level, then index), ready to be
    /// used as the key list of a single storage query.
    pub fn node_ids(&self) -> Vec<NodeId> {
        let mut ids: Vec<NodeId> = self.elements.iter().flatten().copied().collect();
        ids.sort_unstable();
        ids.dedup();
        ids
    }

    /// Turns the plan into the proof's hash list, looking each subtree hash up with `lookup`.
    ///
    /// Returns `None` if `lookup` is missing any subtree (the store is incomplete or the plan is for
    /// a tree it has not built yet) or if an element lists no subtrees (a hand-built, malformed
    /// plan: no RFC proof element is the empty tree).
    pub fn assemble(&self, lookup: impl Fn(NodeId) -> Option<Hash>) -> Option<Vec<Hash>> {
        self.elements
            .iter()
            .map(|nodes| {
                // Same fold as `fold_range`, done in place so assembling allocates only the output.
                let (last, rest) = nodes.split_last()?;
                let mut acc = lookup(*last)?;
                for id in rest.iter().rev() {
                    acc = node_hash(&lookup(*id)?, &acc);
                }
                Some(acc)
            })
            .collect()
    }
}

/// Errors producing a proof: the request does not describe a proof that exists.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum ProofError {
    /// Inclusion of a leaf that is not in the tree; includes every request against an empty tree.
    #[error("leaf index {index} is out of range for a tree of size {size}")]
    IndexOutOfRange {
        /// The requested leaf.
        index: u64,
        /// The size of the tree it was requested in.
        size: u64,
    },
    /// Consistency "backwards in time": an append-only log never shrinks.
    #[error("first tree size {first} is larger than second tree size {second}")]
    FirstExceedsSecond {
        /// The older tree size.
        first: u64,
        /// The newer tree size.
        second: u64,
    },
    /// Consistency from the empty tree. RFC 9162 §2.1.4.1 defines PROOF(m, `D_n`) only for m > 0:
    /// every tree trivially extends the empty one, so there is nothing to prove.
    #[error(
        "no consistency proof exists from a tree of size 0: RFC 9162 defines them only for \
         first > 0, and every tree trivially extends the empty tree"
    )]
    EmptyFirstTree,
    /// A reference implementation was asked about more leaves than it was given.
    #[error("tree size {size} exceeds the {available} leaves available")]
    SizeExceedsLeaves {
        /// The requested tree size.
        size: u64,
        /// How many leaf hashes were supplied.
        available: u64,
    },
    /// [`CompactRange::from_frontier`](super::CompactRange::from_frontier) got a frontier that
    /// cannot belong to a tree of that size.
    #[error(
        "a tree of size {size} has {expected} frontier subtrees, but {actual} hashes were given"
    )]
    FrontierLength {
        /// The stored tree size.
        size: u64,
        /// `size.count_ones()`: one complete subtree per set bit of the size.
        expected: usize,
        /// How many hashes were supplied.
        actual: usize,
    },
}

/// The inclusion proof plan for leaf `index` in a tree of `size` leaves: RFC 9162 §2.1.3.1 PATH,
/// in the RFC's order (the leaf's sibling first, the root's child last).
///
/// # Errors
///
/// Requires `index < size`; otherwise [`ProofError::IndexOutOfRange`] (so always for `size` 0).
pub fn inclusion_plan(index: u64, size: u64) -> Result<ProofPlan, ProofError> {
    if index >= size {
        return Err(ProofError::IndexOutOfRange { index, size });
    }
    let mut elements = Vec::with_capacity(path_len(index, size - 1));
    push_path_plan(0, index, size, &mut elements);
    Ok(ProofPlan { elements })
}

/// The consistency proof plan from a tree of `first` leaves to one of `second` leaves: RFC 9162
/// §2.1.4.1 PROOF/SUBPROOF, in the RFC's order. Empty when `first == second`.
///
/// The proof is the hash of the largest complete subtree ending at `first` (omitted when that
/// subtree is the whole first tree, i.e. `first` is a power of two, since the verifier already has
/// that root) followed by that subtree's inclusion path in the second tree.
///
/// # Errors
///
/// Requires `0 < first <= second`: [`ProofError::FirstExceedsSecond`] when the log would have
/// shrunk, [`ProofError::EmptyFirstTree`] for `first == 0`.
pub fn consistency_plan(first: u64, second: u64) -> Result<ProofPlan, ProofError> {
    if first > second {
        return Err(ProofError::FirstExceedsSecond { first, second });
    }
    if first == 0 {
        return Err(ProofError::EmptyFirstTree);
    }
    if first == second {
        return Ok(ProofPlan::default());
    }
    let (level, pos) = consistency_start(first);
    let mut elements = Vec::with_capacity(1 + path_len(pos, (second - 1) >> level));
    if pos != 0 {
        elements.push(vec![node_at(level, pos)]);
    }
    push_path_plan(level, pos, second, &mut elements);
    Ok(ProofPlan { elements })
}
