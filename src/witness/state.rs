//! The witness's durable state: per log, the latest cosigned size, root and checkpoint, in
//! `state/<hex SHA-256 of the origin>.json`; and the evidence of misbehaviour, one file per
//! request under `evidence/`. Every file is written to a temporary name, flushed to disk,
//! renamed into place and its folder flushed, so a crash leaves the old file or the new one,
//! never a torn one, and an answer is given only after the new state is durable.

use std::io::Write;
use std::path::{Path, PathBuf};

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use crate::ledger::merkle::{self, Hash};

/// What the witness knows of one log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogState {
    pub origin: String,
    /// The latest cosigned size (0 before the first cosignature).
    pub size: u64,
    /// Its root (the empty tree's before the first cosignature).
    pub root: Hash,
    /// The checkpoint as cosigned, with the log's and the witness's signatures.
    pub note: Option<String>,
}

#[derive(Serialize, Deserialize)]
struct StoredState {
    origin: String,
    size: u64,
    root: String,
    note: Option<String>,
}

/// A request that showed the log signing something inconsistent with what was cosigned.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct Evidence {
    pub origin: String,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub received_at: OffsetDateTime,
    pub reason: String,
    /// The size the witness had cosigned when the request came.
    pub cosigned_size: u64,
    /// The checkpoint it had cosigned then, with the log's signature: beside the request, the
    /// two signed statements that contradict each other.
    pub cosigned: Option<String>,
    /// The whole request body, as received.
    pub request: String,
}

/// The lowercase hex SHA-256 of an origin (the name of its state file, and the path element of
/// the monitoring endpoint).
pub fn origin_hash(origin: &str) -> String {
    hex::encode(Sha256::digest(origin.as_bytes()))
}

fn state_file(dir: &Path, origin: &str) -> PathBuf {
    dir.join("state")
        .join(format!("{}.json", origin_hash(origin)))
}

/// Writes `bytes` to `path` crash-safely (temporary file, fsync, rename, fsync of the folder).
fn write_durably(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let folder = path.parent().expect("a file in a folder");
    std::fs::create_dir_all(folder)?;
    let temporary = path.with_extension("tmp");
    let mut file = std::fs::File::create(&temporary)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    drop(file);
    std::fs::rename(&temporary, path)?;
    std::fs::File::open(folder)?.sync_all()?;
    Ok(())
}

/// The stored state of `origin`, or the empty tree's when the witness never cosigned it.
pub fn load(dir: &Path, origin: &str) -> anyhow::Result<LogState> {
    let path = state_file(dir, origin);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Ok(LogState {
                origin: origin.to_owned(),
                size: 0,
                root: merkle::empty_root(),
                note: None,
            })
        }
        Err(e) => anyhow::bail!("cannot read {}: {e}", path.display()),
    };
    let stored: StoredState = serde_json::from_str(&text)
        .map_err(|e| anyhow::anyhow!("{} is not a witness state: {e}", path.display()))?;
    anyhow::ensure!(
        stored.origin == origin,
        "{} holds the state of {:?}, not {origin:?}",
        path.display(),
        stored.origin
    );
    let root: Hash = B64
        .decode(&stored.root)
        .ok()
        .and_then(|r| r.try_into().ok())
        .ok_or_else(|| anyhow::anyhow!("{}: the root is not a base64 hash", path.display()))?;
    Ok(LogState {
        origin: stored.origin,
        size: stored.size,
        root,
        note: stored.note,
    })
}

/// Stores `state` durably, replacing the previous one.
pub fn store(dir: &Path, state: &LogState) -> anyhow::Result<()> {
    let stored = StoredState {
        origin: state.origin.clone(),
        size: state.size,
        root: B64.encode(state.root),
        note: state.note.clone(),
    };
    write_durably(
        &state_file(dir, &state.origin),
        &serde_json::to_vec(&stored)?,
    )
}

/// Keeps one piece of evidence durably.
pub fn keep_evidence(dir: &Path, evidence: &Evidence) -> anyhow::Result<()> {
    let name = format!(
        "{:020}-{}.json",
        evidence.received_at.unix_timestamp_nanos(),
        &hex::encode(Sha256::digest(evidence.request.as_bytes()))[..16]
    );
    write_durably(
        &dir.join("evidence").join(name),
        &serde_json::to_vec(evidence)?,
    )
}

/// Every piece of evidence kept, oldest first.
pub fn evidence(dir: &Path) -> anyhow::Result<Vec<Evidence>> {
    let folder = dir.join("evidence");
    let mut names: Vec<PathBuf> = match std::fs::read_dir(&folder) {
        Ok(entries) => entries
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => anyhow::bail!("cannot read {}: {e}", folder.display()),
    };
    names.sort();
    names
        .iter()
        .map(|path| {
            let text = std::fs::read_to_string(path)?;
            serde_json::from_str(&text)
                .map_err(|e| anyhow::anyhow!("{} is not evidence: {e}", path.display()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stored_state_reads_back_and_a_missing_one_is_the_empty_tree() {
        let dir = std::env::temp_dir().join(format!("zl-witness-state-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let fresh = load(&dir, "log.test").unwrap();
        assert_eq!((fresh.size, fresh.root), (0, merkle::empty_root()));
        let next = LogState {
            origin: "log.test".into(),
            size: 7,
            root: [7u8; 32],
            note: Some("note\n".into()),
        };
        store(&dir, &next).unwrap();
        assert_eq!(load(&dir, "log.test").unwrap(), next);
        assert!(load(&dir, "other.test").unwrap().note.is_none());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
