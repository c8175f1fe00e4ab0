//! The command-line verifiers and the auditor: they use only the pure ledger code and HTTP,
//! never the database, so anyone can run them against any Zhonglian server.

pub mod audit;
pub mod follow;

use std::path::Path;

use crate::ledger::checkpoint::Verifier;
use crate::ledger::merkle::{self, Hash};
use crate::ledger::receipt::{self, Receipt};

/// `zhonglian verify-receipt FILE --key KEY`: prints each step; true only if all hold.
pub fn verify_receipt(file: &Path, key: &str) -> anyhow::Result<bool> {
    let key_text = read_key(key)?;
    let verifier = Verifier::parse(&key_text)?;
    let text = std::fs::read_to_string(file)
        .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", file.display()))?;
    let receipt: Receipt = match serde_json::from_str(&text) {
        Ok(r) => r,
        Err(e) => {
            println!("FAIL parse: the file is not a version 1 receipt: {e}");
            return Ok(false);
        }
    };
    let steps = receipt::verify(&receipt, &verifier);
    for step in &steps {
        println!(
            "{} {}: {}",
            if step.ok { "ok  " } else { "FAIL" },
            step.name,
            step.detail
        );
    }
    let valid = steps.iter().all(|s| s.ok);
    println!(
        "{}",
        if valid {
            "receipt is valid"
        } else {
            "receipt is NOT valid"
        }
    );
    Ok(valid)
}

/// A key given inline, or the path of a file holding it.
fn read_key(key: &str) -> anyhow::Result<String> {
    if key.contains('+') {
        return Ok(key.to_owned());
    }
    std::fs::read_to_string(key).map_err(|e| anyhow::anyhow!("cannot read key file {key}: {e}"))
}

/// Parses a hex hash argument, saying which one is wrong.
pub fn hex_hash(name: &str, text: &str) -> anyhow::Result<Vec<u8>> {
    hex::decode(text.trim()).map_err(|_| anyhow::anyhow!("{name} is not hex: {text}"))
}

/// `zhonglian verify-proof inclusion ...`
pub fn verify_inclusion(
    leaf_hash: &str,
    index: u64,
    size: u64,
    root: &str,
    path: &[String],
) -> anyhow::Result<Result<(), String>> {
    let leaf = hex_hash("--leaf-hash", leaf_hash)?;
    let root = hex_hash("--root", root)?;
    let path = path
        .iter()
        .map(|p| hex_hash("a path element", p))
        .collect::<anyhow::Result<Vec<_>>>()?;
    Ok(merkle::verify_inclusion(&leaf, index, size, &path, &root).map_err(|e| e.to_string()))
}

/// `zhonglian verify-proof consistency ...`
pub fn verify_consistency(
    first: u64,
    second: u64,
    first_root: &str,
    second_root: &str,
    path: &[String],
) -> anyhow::Result<Result<(), String>> {
    let a = hex_hash("--first-root", first_root)?;
    let b = hex_hash("--second-root", second_root)?;
    let path = path
        .iter()
        .map(|p| hex_hash("a path element", p))
        .collect::<anyhow::Result<Vec<_>>>()?;
    Ok(merkle::verify_consistency(first, second, &a, &b, &path).map_err(|e| e.to_string()))
}

/// Parses a 32-byte hex hash.
pub fn parse_hash(text: &str) -> Option<Hash> {
    hex::decode(text).ok()?.try_into().ok()
}
