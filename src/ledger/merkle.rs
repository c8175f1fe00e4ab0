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

use sha2::{Digest, Sha256};
use std::fmt;

/// Length in bytes of every hash in the tree (SHA-256).
pub const HASH_LEN: usize = 32;

/// A SHA-256 hash: a leaf hash, an interior node hash or a tree root.
pub type Hash = [u8; HASH_LEN];

/// Domain-separation prefix for leaves (RFC 9162 §2.1.1), so a leaf can never be passed off as an
/// interior node and vice versa (second-preimage resistance of the tree).
const LEAF_PREFIX: u8 = 0x00;
/// Domain-separation prefix for interior nodes (RFC 9162 §2.1.1).
const NODE_PREFIX: u8 = 0x01;

/// The Merkle tree hash of the empty tree: SHA-256 of the empty string (RFC 9162 §2.1.1).
pub fn empty_root() -> Hash {
    Sha256::digest([]).into()
}

/// The hash of one leaf: `SHA-256(0x00 || leaf_input)`.
pub fn leaf_hash(leaf_input: &[u8]) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update([LEAF_PREFIX]);
    hasher.update(leaf_input);
    hasher.finalize().into()
}

/// The hash of an interior node: `SHA-256(0x01 || left || right)`.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update([NODE_PREFIX]);
    hasher.update(left);
    hasher.update(right);
    hasher.finalize().into()
}

/// Identifies a complete, aligned subtree: leaves [index << level, (index + 1) << level).
///
/// Level 0 is a single leaf. The derived ordering (level first, then index) is what
/// [`ProofPlan::node_ids`] sorts by, which groups a storage query by level.
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
fn node_at(level: u32, index: u64) -> NodeId {
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
fn push_range_nodes(mut begin: u64, end: u64, out: &mut Vec<NodeId>) {
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

/// Fold complete-subtree hashes (as returned for range_nodes) into the range's Merkle tree hash:
/// right to left, acc = node_hash(h_i, acc). Empty slice -> empty_root().
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

/// A proof "plan": each proof element is the fold of a list of complete subtrees. Storage fetches
/// every NodeId a plan needs in ONE query, then calls `assemble`.
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
    /// Consistency from the empty tree. RFC 9162 §2.1.4.1 defines PROOF(m, D_n) only for m > 0:
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
    /// [`CompactRange::from_frontier`] got a frontier that cannot belong to a tree of that size.
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
fn path_len(mut pos: u64, mut last: u64) -> usize {
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
fn push_path_plan(level: u32, mut pos: u64, size: u64, out: &mut Vec<Vec<NodeId>>) {
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

/// The inclusion proof plan for leaf `index` in a tree of `size` leaves: RFC 9162 §2.1.3.1 PATH,
/// in the RFC's order (the leaf's sibling first, the root's child last).
pub fn inclusion_plan(index: u64, size: u64) -> Result<ProofPlan, ProofError> {
    if index >= size {
        return Err(ProofError::IndexOutOfRange { index, size });
    }
    let mut elements = Vec::with_capacity(path_len(index, size - 1));
    push_path_plan(0, index, size, &mut elements);
    Ok(ProofPlan { elements })
}

/// Where a consistency proof from `first` leaves starts: the level and position of the largest
/// complete subtree that ends exactly at leaf `first` (RFC 9162 §2.1.4.2 shifts `first - 1` right
/// past its trailing ones to find it). Requires `first > 0`.
fn consistency_start(first: u64) -> (u32, u64) {
    let level = first.trailing_zeros();
    (level, (first - 1) >> level)
}

/// The consistency proof plan from a tree of `first` leaves to one of `second` leaves: RFC 9162
/// §2.1.4.1 PROOF/SUBPROOF, in the RFC's order. Empty when `first == second`.
///
/// The proof is the hash of the largest complete subtree ending at `first` (omitted when that
/// subtree is the whole first tree, i.e. `first` is a power of two, since the verifier already has
/// that root) followed by that subtree's inclusion path in the second tree.
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

/// The complete subtrees whose fold is the root of a tree of `size` leaves: `range_nodes(0, size)`,
/// one per set bit of `size`.
pub fn root_plan(size: u64) -> Vec<NodeId> {
    range_nodes(0, size)
}

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

/// Reference inclusion proof over in-memory leaf hashes: RFC 9162 §2.1.3.1 PATH(m, D_n).
///
/// The RFC's recursion is unrolled into a descent from the root: each step keeps the half holding
/// the leaf and records the other half's hash. PATH lists those hashes leaf-first, so the list is
/// reversed at the end. Costs O(n) hashing; the store uses [`inclusion_plan`] instead.
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

/// Reference consistency proof over in-memory leaf hashes: RFC 9162 §2.1.4.1 PROOF(m, D_n) between
/// the trees of the first `first` and the first `second` leaves.
///
/// SUBPROOF(m, D_n, b) is unrolled into a descent like [`inclusion_proof`]'s; the flag `b` ("this
/// subtree's root is the first tree's root") becomes `whole_first_tree`.
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
///   `second_root` must be a well-formed hash. [`consistency_plan`] refuses to produce such a
///   proof; this accepts the trivially true claim if a client makes it.
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

    /// Resume from a stored size and the hashes of range_nodes(0, size), left to right. Err if count mismatches.
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

    /// Append one leaf hash; call `on_node` for every complete subtree of level >= 1 completed by it
    /// (so the store can persist it), bottom-up.
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

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::STANDARD as BASE64;
    use base64::Engine as _;
    use proptest::prelude::*;
    use serde_json::Value;
    use std::collections::{BTreeSet, HashMap};
    use std::path::{Path, PathBuf};
    use std::sync::OnceLock;

    const DATA_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/rfc6962");

    /// Largest tree the property tests build.
    const MAX_SAMPLE_SIZE: usize = 3000;

    fn read_json(path: &Path) -> Value {
        let text = std::fs::read_to_string(path)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
        serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("bad JSON in {}: {e}", path.display()))
    }

    fn vectors() -> &'static Value {
        static VECTORS: OnceLock<Value> = OnceLock::new();
        VECTORS.get_or_init(|| read_json(&Path::new(DATA_DIR).join("vectors.json")))
    }

    fn from_hex(value: &Value) -> Vec<u8> {
        hex::decode(value.as_str().expect("hex string")).expect("valid hex")
    }

    fn hex_list(value: &Value) -> Vec<Vec<u8>> {
        value
            .as_array()
            .expect("array")
            .iter()
            .map(from_hex)
            .collect()
    }

    fn hash_from_hex(value: &Value) -> Hash {
        Hash::try_from(from_hex(value)).expect("32-byte hash")
    }

    fn hash_list(value: &Value) -> Vec<Hash> {
        value
            .as_array()
            .expect("array")
            .iter()
            .map(hash_from_hex)
            .collect()
    }

    fn from_base64(value: &Value) -> Vec<u8> {
        BASE64
            .decode(value.as_str().expect("base64 string"))
            .expect("valid base64")
    }

    /// A missing or `null` proof is the empty proof (the Go probes serialize nil slices as null).
    fn base64_list(value: &Value) -> Vec<Vec<u8>> {
        value
            .as_array()
            .map(|items| items.iter().map(from_base64).collect())
            .unwrap_or_default()
    }

    fn number(value: &Value) -> u64 {
        value.as_u64().expect("unsigned integer")
    }

    /// The eight RFC test leaves from vectors.json, hashed.
    fn vector_leaves() -> Vec<Hash> {
        hex_list(&vectors()["leaves_hex"])
            .iter()
            .map(|input| leaf_hash(input))
            .collect()
    }

    /// Distinct leaves for the larger trees, shared between tests.
    fn sample_leaves() -> &'static [Hash] {
        static LEAVES: OnceLock<Vec<Hash>> = OnceLock::new();
        LEAVES.get_or_init(|| {
            (0..MAX_SAMPLE_SIZE as u64)
                .map(|i| leaf_hash(&i.to_be_bytes()))
                .collect()
        })
    }

    /// Every complete aligned subtree of `leaves`, built level by level by pairing: deliberately a
    /// third way of computing subtree hashes, independent of `CompactRange` and of the RFC descent.
    fn subtree_oracle(leaves: &[Hash]) -> HashMap<NodeId, Hash> {
        let mut oracle = HashMap::new();
        let mut level_hashes = leaves.to_vec();
        let mut level = 0u8;
        while !level_hashes.is_empty() {
            for (index, hash) in level_hashes.iter().enumerate() {
                oracle.insert(NodeId::new(level, index as u64), *hash);
            }
            level_hashes = level_hashes
                .chunks_exact(2)
                .map(|pair| node_hash(&pair[0], &pair[1]))
                .collect();
            level += 1;
        }
        oracle
    }

    fn sample_oracle() -> &'static HashMap<NodeId, Hash> {
        static ORACLE: OnceLock<HashMap<NodeId, Hash>> = OnceLock::new();
        ORACLE.get_or_init(|| subtree_oracle(sample_leaves()))
    }

    fn node_begin(id: NodeId) -> u128 {
        u128::from(id.index) << id.level
    }

    fn node_end(id: NodeId) -> u128 {
        (u128::from(id.index) + 1) << id.level
    }

    /// The leaves `[begin, end)` a plan element covers, checking its subtrees are contiguous.
    fn element_span(nodes: &[NodeId]) -> (u128, u128) {
        assert!(!nodes.is_empty(), "a plan element lists no subtrees");
        for pair in nodes.windows(2) {
            assert_eq!(node_end(pair[0]), node_begin(pair[1]), "gap in {nodes:?}");
            assert!(
                pair[0].level > pair[1].level,
                "sizes not decreasing in {nodes:?}"
            );
        }
        (node_begin(nodes[0]), node_end(nodes[nodes.len() - 1]))
    }

    fn assemble_from(plan: &ProofPlan, oracle: &HashMap<NodeId, Hash>) -> Vec<Hash> {
        plan.assemble(|id| oracle.get(&id).copied())
            .expect("the oracle holds every complete subtree")
    }

    fn flip_bit(bytes: &[u8], bit: usize) -> Vec<u8> {
        let mut flipped = bytes.to_vec();
        let bit = bit % (flipped.len() * 8);
        flipped[bit / 8] ^= 1 << (bit % 8);
        flipped
    }

    const NO_PATH: [Hash; 0] = [];

    #[test]
    fn the_empty_root_is_sha256_of_nothing() {
        assert_eq!(
            hex::encode(empty_root()),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(root_of(&[]), empty_root());
        assert_eq!(fold_range(&[]), empty_root());
        assert_eq!(CompactRange::empty().root(), empty_root());
    }

    #[test]
    fn leaf_hashes_match_the_vectors() {
        assert_eq!(vector_leaves(), hash_list(&vectors()["leaf_hashes_hex"]));
    }

    #[test]
    fn roots_of_every_tree_size_from_0_to_8_match_the_vectors() {
        let leaves = vector_leaves();
        let oracle = subtree_oracle(&leaves);
        let roots = vectors()["roots_by_tree_size_hex"]
            .as_object()
            .expect("object");
        assert_eq!(roots.len(), 9);
        for (size, root) in roots {
            let size: usize = size.parse().expect("numeric size");
            let root = hash_from_hex(root);
            assert_eq!(root_of(&leaves[..size]), root, "root_of, size {size}");
            let planned: Vec<Hash> = root_plan(size as u64).iter().map(|id| oracle[id]).collect();
            assert_eq!(fold_range(&planned), root, "root_plan, size {size}");
        }
    }

    #[test]
    fn upstream_node_hashes_are_the_complete_subtrees_of_the_eight_leaf_tree() {
        let oracle = subtree_oracle(&vector_leaves());
        let levels = vectors()["node_hashes_by_level_upstream"]
            .as_array()
            .expect("array");
        assert_eq!(levels.len(), 4);
        for (level, hashes) in levels.iter().enumerate() {
            for (index, hash) in hash_list(hashes).into_iter().enumerate() {
                assert_eq!(oracle[&NodeId::new(level as u8, index as u64)], hash);
            }
        }
    }

    #[test]
    fn every_inclusion_vector_is_reproduced_by_both_implementations_and_verifies() {
        let leaves = vector_leaves();
        let oracle = subtree_oracle(&leaves);
        let mut checked = 0;
        for key in ["inclusion_upstream", "inclusion_computed_all"] {
            for case in vectors()[key].as_array().expect("array") {
                let (index, size) = (number(&case["leaf_index"]), number(&case["tree_size"]));
                let leaf = hash_from_hex(&case["leaf_hash"]);
                let root = hash_from_hex(&case["root"]);
                let path = hash_list(&case["path"]);
                let tree = &leaves[..size as usize];
                assert_eq!(inclusion_proof(tree, index).unwrap(), path, "{case}");
                let plan = inclusion_plan(index, size).unwrap();
                assert_eq!(assemble_from(&plan, &oracle), path, "{case}");
                assert_eq!(verify_inclusion(&leaf, index, size, &path, &root), Ok(()));
                assert_eq!(root_from_inclusion(&leaf, index, size, &path), Ok(root));
                checked += 1;
            }
        }
        assert_eq!(checked, 41);
    }

    #[test]
    fn every_consistency_vector_is_reproduced_by_both_implementations_and_verifies() {
        let leaves = vector_leaves();
        let oracle = subtree_oracle(&leaves);
        let mut checked = 0;
        for key in ["consistency_upstream", "consistency_computed_all"] {
            for case in vectors()[key].as_array().expect("array") {
                let (first, second) = (number(&case["size1"]), number(&case["size2"]));
                let root1 = hash_from_hex(&case["root1"]);
                let root2 = hash_from_hex(&case["root2"]);
                let proof = hash_list(&case["proof"]);
                assert_eq!(consistency_proof(&leaves, first, second).unwrap(), proof);
                let plan = consistency_plan(first, second).unwrap();
                assert_eq!(assemble_from(&plan, &oracle), proof, "{case}");
                assert_eq!(
                    verify_consistency(first, second, &root1, &root2, &proof),
                    Ok(()),
                    "{case}"
                );
                checked += 1;
            }
        }
        assert_eq!(checked, 41);
    }

    #[test]
    fn every_negative_vector_fails_verification() {
        let cases = vectors()["negative_upstream_must_fail"]
            .as_array()
            .expect("array");
        for case in cases {
            let result = match case["kind"].as_str() {
                Some("inclusion") => verify_inclusion(
                    &from_hex(&case["leaf_hash"]),
                    number(&case["leaf_index"]),
                    number(&case["tree_size"]),
                    &hex_list(&case["path"]),
                    &from_hex(&case["root"]),
                ),
                Some("consistency") => verify_consistency(
                    number(&case["size1"]),
                    number(&case["size2"]),
                    &from_hex(&case["root1"]),
                    &from_hex(&case["root2"]),
                    &hex_list(&case["proof"]),
                ),
                other => panic!("unknown kind {other:?}"),
            };
            assert!(result.is_err(), "accepted {}", case["file"]);
        }
        assert_eq!(cases.len(), 184);
    }

    fn json_files_under(dir: &Path, found: &mut Vec<PathBuf>) {
        let entries =
            std::fs::read_dir(dir).unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()));
        for entry in entries {
            let path = entry.expect("directory entry").path();
            if path.is_dir() {
                json_files_under(&path, found);
            } else if path.extension().is_some_and(|ext| ext == "json") {
                found.push(path);
            }
        }
    }

    #[test]
    fn every_upstream_probe_file_is_decided_as_its_want_err_says() {
        let root = Path::new(DATA_DIR).join("merkle-testdata/testdata");
        let mut files = Vec::new();
        json_files_under(&root, &mut files);
        files.sort();
        let (mut inclusion, mut consistency, mut accepted) = (0, 0, 0);
        let mut wrong = Vec::new();
        for file in &files {
            let probe = read_json(file);
            let want_err = probe["wantErr"].as_bool().expect("wantErr flag");
            let result = if probe.get("leafIdx").is_some() {
                inclusion += 1;
                verify_inclusion(
                    &from_base64(&probe["leafHash"]),
                    number(&probe["leafIdx"]),
                    number(&probe["treeSize"]),
                    &base64_list(&probe["proof"]),
                    &from_base64(&probe["root"]),
                )
            } else {
                consistency += 1;
                verify_consistency(
                    number(&probe["size1"]),
                    number(&probe["size2"]),
                    &from_base64(&probe["root1"]),
                    &from_base64(&probe["root2"]),
                    &base64_list(&probe["proof"]),
                )
            };
            if result.is_ok() {
                accepted += 1;
            }
            if result.is_err() != want_err {
                wrong.push(format!(
                    "{}: wantErr {want_err}, got {result:?}",
                    file.display()
                ));
            }
        }
        assert!(
            wrong.is_empty(),
            "probes decided wrongly:\n{}",
            wrong.join("\n")
        );
        assert!(files.len() > 150, "only {} probe files found", files.len());
        assert!(
            inclusion > 50 && consistency > 50,
            "{inclusion} / {consistency}"
        );
        // 10 happy paths, one matching single-entry tree, one pair of equal-size roots.
        assert_eq!(accepted, 12);
    }

    #[test]
    fn the_argon2020_certificate_transparency_inclusion_proof_verifies() {
        let dir = Path::new(DATA_DIR).join("argon2020");
        let leaf_input = std::fs::read_to_string(dir.join("leaf_input.b64")).expect("leaf input");
        let leaf_input = BASE64.decode(leaf_input.trim()).expect("base64 leaf input");
        let leaf = leaf_hash(&leaf_input);
        let proof = read_json(&dir.join("proof.json"));
        let sth = read_json(&dir.join("sth.json"));
        let index = number(&proof["leaf_index"]);
        let path = base64_list(&proof["audit_path"]);
        let size = number(&sth["tree_size"]);
        let root = from_base64(&sth["sha256_root_hash"]);
        assert_eq!((index, size), (10_000, 961_984_013));

        let summary = &vectors()["real_world_ct_argon2020"];
        assert_eq!(leaf.to_vec(), from_hex(&summary["leaf_hash_hex"]));
        assert_eq!(root, from_hex(&summary["root_hex"]));

        assert_eq!(verify_inclusion(&leaf, index, size, &path, &root), Ok(()));
        assert_eq!(
            inclusion_plan(index, size).unwrap().elements.len(),
            path.len()
        );
        assert_eq!(
            verify_inclusion(&leaf, index + 1, size, &path, &root),
            Err(VerifyError::RootMismatch)
        );
        assert!(verify_inclusion(&leaf, index, size * 2, &path, &root).is_err());
    }

    #[test]
    fn an_inclusion_proof_does_not_pin_the_tree_size_by_itself() {
        // The size only fixes the proof's shape: for a leaf far from the right edge, neighbouring
        // sizes give the same shape, so the root (and its signed size) is what must be trusted.
        let leaves = &sample_leaves()[..13];
        let path = inclusion_proof(leaves, 2).unwrap();
        let root = root_of(leaves);
        for size in 9..=16 {
            assert_eq!(verify_inclusion(&leaves[2], 2, size, &path, &root), Ok(()));
        }
        for size in [8, 17] {
            assert!(verify_inclusion(&leaves[2], 2, size, &path, &root).is_err());
        }
    }

    #[test]
    fn the_argon2020_certificate_transparency_consistency_proof_verifies() {
        let case = &vectors()["real_world_ct_argon2020"]["consistency"];
        let (first, second) = (number(&case["size1"]), number(&case["size2"]));
        let (root1, root2) = (from_hex(&case["root1_hex"]), from_hex(&case["root2_hex"]));
        let proof = hex_list(&case["proof_hex"]);
        let upstream = read_json(&Path::new(DATA_DIR).join("argon2020/consistency.json"));
        assert_eq!(base64_list(&upstream["consistency"]), proof);

        assert_eq!(
            verify_consistency(first, second, &root1, &root2, &proof),
            Ok(())
        );
        assert_eq!(
            consistency_plan(first, second).unwrap().elements.len(),
            proof.len()
        );
        assert!(verify_consistency(first, second, &root2, &root1, &proof).is_err());
        assert!(verify_consistency(first + 1, second, &root1, &root2, &proof).is_err());
    }

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

    /// A tree size and a leaf index in it.
    fn size_and_index() -> impl Strategy<Value = (u64, u64)> {
        (1..=MAX_SAMPLE_SIZE as u64).prop_flat_map(|size| (Just(size), 0..size))
    }

    /// Two tree sizes with `0 < first <= second`.
    fn first_and_second() -> impl Strategy<Value = (u64, u64)> {
        (1..=MAX_SAMPLE_SIZE as u64).prop_flat_map(|second| (1..=second, Just(second)))
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]

        #[test]
        fn random_inclusion_proofs_verify_and_any_tampering_fails(
            (size, index) in size_and_index(),
            bit in 0usize..256,
            other in any::<u64>(),
        ) {
            let leaves = &sample_leaves()[..size as usize];
            let root = root_of(leaves);
            let leaf = leaves[index as usize];
            let path = inclusion_proof(leaves, index).unwrap();
            let plan = inclusion_plan(index, size).unwrap();
            prop_assert_eq!(&assemble_from(&plan, sample_oracle()), &path);
            prop_assert_eq!(verify_inclusion(&leaf, index, size, &path, &root), Ok(()));

            for position in 0..path.len() {
                let mut tampered: Vec<Vec<u8>> = path.iter().map(|h| h.to_vec()).collect();
                tampered[position] = flip_bit(&tampered[position], bit);
                prop_assert!(verify_inclusion(&leaf, index, size, &tampered, &root).is_err());
            }
            prop_assert!(verify_inclusion(&flip_bit(&leaf, bit), index, size, &path, &root).is_err());
            prop_assert!(verify_inclusion(&leaf, index, size, &path, &flip_bit(&root, bit)).is_err());

            // Any other index, in range or not.
            let mut wrong = other % (size + 1);
            if wrong == index {
                wrong = size;
            }
            prop_assert!(verify_inclusion(&leaf, wrong, size, &path, &root).is_err());
        }

        #[test]
        fn random_consistency_proofs_verify_and_any_tampering_fails(
            (first, second) in first_and_second(),
            bit in 0usize..256,
        ) {
            let leaves = &sample_leaves()[..second as usize];
            let (old, new) = (root_of(&leaves[..first as usize]), root_of(leaves));
            let proof = consistency_proof(leaves, first, second).unwrap();
            let plan = consistency_plan(first, second).unwrap();
            prop_assert_eq!(&assemble_from(&plan, sample_oracle()), &proof);
            prop_assert_eq!(verify_consistency(first, second, &old, &new, &proof), Ok(()));

            for position in 0..proof.len() {
                let mut tampered: Vec<Vec<u8>> = proof.iter().map(|h| h.to_vec()).collect();
                tampered[position] = flip_bit(&tampered[position], bit);
                prop_assert!(verify_consistency(first, second, &old, &new, &tampered).is_err());
            }
            prop_assert!(
                verify_consistency(first, second, &flip_bit(&old, bit), &new, &proof).is_err()
            );
            prop_assert!(
                verify_consistency(first, second, &old, &flip_bit(&new, bit), &proof).is_err()
            );
            if first < second {
                prop_assert!(verify_consistency(first, second, &new, &old, &proof).is_err());
            }
        }

        #[test]
        fn inclusion_plans_partition_the_tree_around_the_leaf_at_any_size(
            (size, index) in (1..=u64::MAX).prop_flat_map(|size| (Just(size), 0..size)),
        ) {
            let plan = inclusion_plan(index, size).unwrap();
            let mut spans: Vec<(u128, u128)> =
                plan.elements.iter().map(|element| element_span(element)).collect();
            spans.push((u128::from(index), u128::from(index) + 1));
            spans.sort_unstable();
            let mut at = 0;
            for (begin, end) in spans {
                prop_assert_eq!(begin, at);
                at = end;
            }
            prop_assert_eq!(at, u128::from(size));
        }

        #[test]
        fn consistency_plans_partition_the_second_tree_at_any_size(
            (first, second) in (2..=u64::MAX).prop_flat_map(|second| (1..second, Just(second))),
        ) {
            let plan = consistency_plan(first, second).unwrap();
            let mut spans: Vec<(u128, u128)> =
                plan.elements.iter().map(|element| element_span(element)).collect();
            if first.is_power_of_two() {
                // The omitted element: the whole first tree.
                spans.push((0, u128::from(first)));
            }
            // Elements entirely inside the first tree rebuild it; the rest are appended leaves.
            let inside: u128 = spans
                .iter()
                .filter(|(_, end)| *end <= u128::from(first))
                .map(|(begin, end)| end - begin)
                .sum();
            prop_assert_eq!(inside, u128::from(first));
            spans.sort_unstable();
            let mut at = 0;
            for (begin, end) in spans {
                prop_assert_eq!(begin, at);
                at = end;
            }
            prop_assert_eq!(at, u128::from(second));
        }
    }
}
