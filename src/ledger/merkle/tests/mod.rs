//! The tree's tests: upstream vectors and probes, plans against the reference, the compact
//! range, and properties over random trees. Shared fixtures live here.

use super::tree::path_len;
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
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("bad JSON in {}: {e}", path.display()))
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

mod compact;
mod plans;
mod properties;
mod vectors;
