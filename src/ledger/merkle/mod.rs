//! The RFC 9162 (Certificate Transparency v2) Merkle tree behind the public ledger.
//!
//! Everything here is pure computation over SHA-256 hashes: no I/O, no clock, no storage. The store
//! and the auditor build on it, so the two sides of every proof (producing and checking) share one
//! definition of the tree.
//!
//! # Model
//!
//! The tree over `n` leaves is the one RFC 9162 §2.1.1 defines recursively: split at the largest
//! power of two below `n`, hash the halves, combine. Every node of that tree is either a *complete
//! aligned subtree* (leaves `[i·2^l, (i+1)·2^l)`, named by a [`NodeId`]) or a node on the right edge
//! whose range is cut short by `n`. Complete subtrees never change once they exist, which is why
//! they are the only thing the store persists; any right-edge range is recovered by folding the
//! complete subtrees that cover it ([`range_nodes`] then [`fold_range`]).
//!
//! A proof is therefore first computed as a [`ProofPlan`] (which complete subtrees each element
//! folds), the store fetches all of those hashes in one query, and [`ProofPlan::assemble`] turns
//! them into the RFC's hash list. The in-memory reference implementations ([`root_of`],
//! [`inclusion_proof`], [`consistency_proof`]) follow the RFC's top-down recursion instead of the
//! bottom-up walk the plans use, so the tests compare two independently shaped derivations.
//!
//! Verification ([`verify_inclusion`], [`verify_consistency`]) takes untrusted byte slices and
//! reports malformed input (wrong hash lengths, wrong proof lengths, impossible sizes) as errors;
//! it never panics on anything a client can send.
//!
//! # Files
//!
//! - [`hash`]: leaf and node hashing, the empty tree.
//! - [`tree`]: node ids, range covers and folds, the walk from a node to the root.
//! - [`plan`]: which stored subtrees each proof element folds, and why a proof cannot exist.
//! - [`reference`]: the RFC's recursion over in-memory leaves, to test the plans against.
//! - [`verify`]: checking proofs from untrusted input, and why one does not verify.
//! - [`compact`]: the right edge of the tree, for appending in batches.
//!
//! The items are re-exported here, so callers name `merkle::verify_inclusion` and never the file.

mod compact;
mod hash;
mod plan;
mod reference;
mod tree;
mod verify;

pub use compact::CompactRange;
pub use hash::{empty_root, leaf_hash, node_hash, Hash, HASH_LEN};
pub use plan::{consistency_plan, inclusion_plan, ProofError, ProofPlan};
pub use reference::{consistency_proof, inclusion_proof, root_of};
pub use tree::{fold_range, range_nodes, root_plan, NodeId};
pub use verify::{
    root_from_inclusion, verify_consistency, verify_inclusion, HashRole, VerifyError,
};

#[cfg(test)]
mod tests;
