//! Verification of inclusion and consistency proofs (RFC 9162 §2.1.3.2 and §2.1.4.2) from
//! untrusted input.
//!
//! Every input is a byte slice a client sent: wrong hash lengths, wrong proof lengths and
//! impossible sizes are reported as a [`VerifyError`] naming what was wrong, and nothing here
//! panics on anything a client can send. The proof's shape is fixed by the sizes alone, so its
//! length is checked before any hashing.

use std::fmt;

use super::hash::{empty_root, node_hash, Hash};
use super::tree::{consistency_start, path_len};

/// Which input of a verification call a [`VerifyError::HashLength`] refers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HashRole {
    /// The leaf hash being proven.
    LeafHash,
    /// The root of an inclusion proof's tree.
    Root,
    /// The root of the older tree in a consistency proof.
    FirstRoot,
    /// The root of the newer tree in a consistency proof.
    SecondRoot,
    /// The proof element at this zero-based position.
    PathElement(usize),
}

impl fmt::Display for HashRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::LeafHash => f.write_str("leaf hash"),
            Self::Root => f.write_str("root"),
            Self::FirstRoot => f.write_str("first root"),
            Self::SecondRoot => f.write_str("second root"),
            Self::PathElement(position) => write!(f, "proof element {position}"),
        }
    }
}

/// Why a proof did not verify.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum VerifyError {
    /// An input that should be a SHA-256 hash is not 32 bytes long.
    #[error("{role} is {len} bytes long, but SHA-256 hashes are 32 bytes")]
    HashLength {
        /// Which input was malformed.
        role: HashRole,
        /// Its actual length.
        len: usize,
    },
    /// The leaf index is not inside the tree; includes every inclusion claim about an empty tree.
    #[error("leaf index {index} is out of range for a tree of size {size}")]
    IndexOutOfRange {
        /// The claimed leaf position.
        index: u64,
        /// The claimed tree size.
        size: u64,
    },
    /// The proof has the wrong number of elements for the claimed sizes. The shape of every proof
    /// is fixed by the sizes alone, so this is checked before any hashing.
    #[error("the proof has {actual} elements, but a proof for these sizes has exactly {expected}")]
    PathLength {
        /// The number of elements the sizes require.
        expected: usize,
        /// The number of elements supplied.
        actual: usize,
    },
    /// Consistency "backwards in time": an append-only log never shrinks.
    #[error("first tree size {first} is larger than second tree size {second}")]
    FirstExceedsSecond {
        /// The older tree size.
        first: u64,
        /// The newer tree size.
        second: u64,
    },
    /// A tree of size 0 was given a root other than SHA-256 of the empty string.
    #[error("the root of an empty tree must be SHA-256 of the empty string")]
    NotEmptyTreeRoot,
    /// Two roots claimed for the same tree size differ.
    #[error("both trees have size {size}, but their roots differ")]
    RootsDiffer {
        /// The common tree size.
        size: u64,
    },
    /// The inclusion proof leads to a different root.
    #[error("the inclusion proof does not lead to the given root")]
    RootMismatch,
    /// The consistency proof does not reproduce the older tree's root.
    #[error("the consistency proof does not reproduce the first root")]
    FirstRootMismatch,
    /// The consistency proof does not reproduce the newer tree's root.
    #[error("the consistency proof does not reproduce the second root")]
    SecondRootMismatch,
}

/// Converts an untrusted byte slice into a hash, naming it in the error.
fn to_hash(bytes: &[u8], role: HashRole) -> Result<Hash, VerifyError> {
    Hash::try_from(bytes).map_err(|_| VerifyError::HashLength {
        role,
        len: bytes.len(),
    })
}

/// Pulls the next proof element off `elements` as a hash. The caller has already checked the
/// number of elements; running out anyway is reported as a length error rather than a panic.
fn next_element<'a>(
    elements: &mut impl Iterator<Item = (usize, &'a [u8])>,
    expected: usize,
) -> Result<Hash, VerifyError> {
    match elements.next() {
        Some((position, bytes)) => to_hash(bytes, HashRole::PathElement(position)),
        None => Err(VerifyError::PathLength {
            expected,
            actual: expected.saturating_sub(1),
        }),
    }
}

/// The root that an inclusion proof leads to (RFC 9162 §2.1.3.2 without the final comparison), for
/// callers that compare it against a signed tree head themselves.
///
/// # Errors
///
/// [`VerifyError::HashLength`] for a leaf hash or proof element that is not 32 bytes,
/// [`VerifyError::IndexOutOfRange`] unless `index < size`, [`VerifyError::PathLength`] unless
/// the proof has exactly the elements `index` and `size` fix.
pub fn root_from_inclusion(
    leaf_hash: &[u8],
    index: u64,
    size: u64,
    path: &[impl AsRef<[u8]>],
) -> Result<Hash, VerifyError> {
    let mut acc = to_hash(leaf_hash, HashRole::LeafHash)?;
    if index >= size {
        return Err(VerifyError::IndexOutOfRange { index, size });
    }
    let mut pos = index;
    let mut last = size - 1;
    let expected = path_len(pos, last);
    if path.len() != expected {
        return Err(VerifyError::PathLength {
            expected,
            actual: path.len(),
        });
    }
    let mut elements = path.iter().map(AsRef::as_ref).enumerate();
    while last > 0 {
        if pos & 1 == 1 {
            acc = node_hash(&next_element(&mut elements, expected)?, &acc);
        } else if pos < last {
            acc = node_hash(&acc, &next_element(&mut elements, expected)?);
        }
        pos >>= 1;
        last >>= 1;
    }
    Ok(acc)
}

/// Verifies that `leaf_hash` is leaf `index` of the tree of `size` leaves whose root is `root`
/// (RFC 9162 §2.1.3.2).
///
/// The proof binds the leaf and its index to `root`; `size` only fixes the proof's shape, and
/// neighbouring sizes often share a shape (leaf 2 verifies the same way in trees of 9 to 16
/// leaves). So `size` and `root` must come from the same signed tree head.
///
/// # Errors
///
/// Those of [`root_from_inclusion`], a malformed `root`, and [`VerifyError::RootMismatch`] when
/// the proof leads elsewhere.
pub fn verify_inclusion(
    leaf_hash: &[u8],
    index: u64,
    size: u64,
    path: &[impl AsRef<[u8]>],
    root: &[u8],
) -> Result<(), VerifyError> {
    let root = to_hash(root, HashRole::Root)?;
    if root_from_inclusion(leaf_hash, index, size, path)? == root {
        Ok(())
    } else {
        Err(VerifyError::RootMismatch)
    }
}

/// Verifies that the tree of `second` leaves with root `second_root` extends the tree of `first`
/// leaves with root `first_root` (RFC 9162 §2.1.4.2).
///
/// Degenerate sizes, which the RFC's procedure does not cover:
/// - `first == second`: only an empty proof is valid, and then the claim is just "the roots are the
///   same"; it is checked byte for byte, as the transparency-dev probes require (they accept two
///   identical roots even when those are not 32 bytes). For size 0 both roots must moreover be
///   [`empty_root`].
/// - `first == 0 < second`: every tree extends the empty one, so only an empty proof is valid, and
///   `first_root` must be [`empty_root`] (the only root a tree of size 0 can have) and
///   `second_root` must be a well-formed hash. [`consistency_plan`](super::consistency_plan)
///   refuses to produce such a proof; this accepts the trivially true claim if a client makes it.
///
/// # Errors
///
/// [`VerifyError::FirstExceedsSecond`] when the log would have shrunk, a malformed hash or a
/// proof of the wrong length, and [`VerifyError::FirstRootMismatch`] or
/// [`VerifyError::SecondRootMismatch`] when the proof does not rebuild the root it claims.
pub fn verify_consistency(
    first: u64,
    second: u64,
    first_root: &[u8],
    second_root: &[u8],
    path: &[impl AsRef<[u8]>],
) -> Result<(), VerifyError> {
    if first > second {
        return Err(VerifyError::FirstExceedsSecond { first, second });
    }
    if first == second || first == 0 {
        if !path.is_empty() {
            return Err(VerifyError::PathLength {
                expected: 0,
                actual: path.len(),
            });
        }
        if first == 0 {
            let empty = empty_root();
            if to_hash(first_root, HashRole::FirstRoot)? != empty {
                return Err(VerifyError::NotEmptyTreeRoot);
            }
            let second_root = to_hash(second_root, HashRole::SecondRoot)?;
            if second == 0 && second_root != empty {
                return Err(VerifyError::NotEmptyTreeRoot);
            }
        } else if first_root != second_root {
            return Err(VerifyError::RootsDiffer { size: first });
        }
        return Ok(());
    }

    let first_root = to_hash(first_root, HashRole::FirstRoot)?;
    let second_root = to_hash(second_root, HashRole::SecondRoot)?;
    let (level, mut pos) = consistency_start(first);
    let mut last = (second - 1) >> level;
    // When `first` is a power of two the start subtree is the whole first tree, whose root the
    // verifier already has, so the proof omits it.
    let first_is_subtree = pos == 0;
    let expected = path_len(pos, last) + usize::from(!first_is_subtree);
    if path.len() != expected {
        return Err(VerifyError::PathLength {
            expected,
            actual: path.len(),
        });
    }
    let mut elements = path.iter().map(AsRef::as_ref).enumerate();
    let start = if first_is_subtree {
        first_root
    } else {
        next_element(&mut elements, expected)?
    };
    // Two roots are rebuilt side by side from the start subtree: the first tree's root takes only
    // the left siblings (everything right of the start subtree was appended later), the second
    // tree's root takes every sibling.
    let mut old = start;
    let mut new = start;
    while last > 0 {
        if pos & 1 == 1 {
            let left = next_element(&mut elements, expected)?;
            old = node_hash(&left, &old);
            new = node_hash(&left, &new);
        } else if pos < last {
            new = node_hash(&new, &next_element(&mut elements, expected)?);
        }
        pos >>= 1;
        last >>= 1;
    }
    if old != first_root {
        return Err(VerifyError::FirstRootMismatch);
    }
    if new != second_root {
        return Err(VerifyError::SecondRootMismatch);
    }
    Ok(())
}
