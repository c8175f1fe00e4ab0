//! The in-memory reference implementations: RFC 9162's top-down recursion over a slice of leaf
//! hashes. They cost O(n) hashing, so the store never uses them for proofs; they exist so the
//! tests can compare two independently shaped derivations, and for tools that hold every leaf
//! (the auditor rebuilding the tree).

use super::compact::CompactRange;
use super::hash::Hash;
use super::plan::ProofError;

/// The Merkle tree hash of `leaves` (RFC 9162 §2.1.1 MTH), computed iteratively with a
/// [`CompactRange`] so that large trees need neither recursion nor per-node allocation.
pub fn root_of(leaves: &[Hash]) -> Hash {
    let mut range = CompactRange::empty();
    for leaf in leaves {
        range.append(*leaf, |_, _| {});
    }
    range.root()
}

/// The largest power of two strictly below `n`, where the RFC splits a tree of `n >= 2` leaves.
fn split_point(n: usize) -> usize {
    debug_assert!(n >= 2);
    1 << (usize::BITS - 1 - (n - 1).leading_zeros())
}

/// Reference inclusion proof over in-memory leaf hashes: RFC 9162 §2.1.3.1 PATH(m, `D_n`).
///
/// The RFC's recursion is unrolled into a descent from the root: each step keeps the half holding
/// the leaf and records the other half's hash. PATH lists those hashes leaf-first, so the list is
/// reversed at the end. Costs O(n) hashing; the store uses
/// [`inclusion_plan`](super::inclusion_plan) instead.
///
/// # Errors
///
/// Requires `index < leaves.len()`; otherwise [`ProofError::IndexOutOfRange`].
pub fn inclusion_proof(leaves: &[Hash], index: u64) -> Result<Vec<Hash>, ProofError> {
    let size = leaves.len() as u64;
    if index >= size {
        return Err(ProofError::IndexOutOfRange { index, size });
    }
    // In range of a slice length, so it fits in usize.
    let mut m = index as usize;
    let mut subtree = leaves;
    let mut proof = Vec::new();
    while subtree.len() > 1 {
        let k = split_point(subtree.len());
        if m < k {
            proof.push(root_of(&subtree[k..]));
            subtree = &subtree[..k];
        } else {
            proof.push(root_of(&subtree[..k]));
            subtree = &subtree[k..];
            m -= k;
        }
    }
    proof.reverse();
    Ok(proof)
}

/// Reference consistency proof over in-memory leaf hashes: RFC 9162 §2.1.4.1 PROOF(m, `D_n`) between
/// the trees of the first `first` and the first `second` leaves.
///
/// SUBPROOF(m, `D_n`, b) is unrolled into a descent like [`inclusion_proof`]'s; the flag `b` ("this
/// subtree's root is the first tree's root") becomes `whole_first_tree`.
///
/// # Errors
///
/// Requires `0 < first <= second <= leaves.len()`: [`ProofError::FirstExceedsSecond`],
/// [`ProofError::SizeExceedsLeaves`] or [`ProofError::EmptyFirstTree`] otherwise.
pub fn consistency_proof(
    leaves: &[Hash],
    first: u64,
    second: u64,
) -> Result<Vec<Hash>, ProofError> {
    if first > second {
        return Err(ProofError::FirstExceedsSecond { first, second });
    }
    let available = leaves.len() as u64;
    if second > available {
        return Err(ProofError::SizeExceedsLeaves {
            size: second,
            available,
        });
    }
    if first == 0 {
        return Err(ProofError::EmptyFirstTree);
    }
    // Both are at most a slice length, so they fit in usize.
    let mut m = first as usize;
    let mut subtree = &leaves[..second as usize];
    let mut whole_first_tree = true;
    let mut proof = Vec::new();
    loop {
        if m == subtree.len() {
            // The verifier already holds the first root, so it is sent only when this subtree is a
            // strict part of the first tree.
            if !whole_first_tree {
                proof.push(root_of(subtree));
            }
            break;
        }
        let k = split_point(subtree.len());
        if m <= k {
            proof.push(root_of(&subtree[k..]));
            subtree = &subtree[..k];
        } else {
            proof.push(root_of(&subtree[..k]));
            subtree = &subtree[k..];
            m -= k;
            whole_first_tree = false;
        }
    }
    proof.reverse();
    Ok(proof)
}
