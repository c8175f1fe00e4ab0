//! A witness (C2SP tlog-witness): it cosigns a log's checkpoint only when the checkpoint is
//! consistent with the latest one it cosigned for that log, so a log that shows two histories
//! is caught by any witness that saw both. The regulator runs one as its supervision node, and
//! exchanges run one for each other (`zhonglian witness`, or mounted under `/witness` by
//! `zhonglian serve`).
//!
//! Its state (per log, the latest cosigned size and root) and the evidence of misbehaviour it
//! keeps are files under its data folder, each written crash-safely before it answers.

pub mod client;
pub mod request;
pub mod state;
pub mod web;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use secrecy::ExposeSecret;
use time::OffsetDateTime;
use tokio::sync::Mutex;

use crate::ledger::merkle;
use crate::ledger::note::{KeyType, Note, NoteSigner, SignatureLine, VerifierKey};
use request::AddCheckpoint;
use state::{Evidence, LogState};

/// Parses a log's verifier key (type 0x01; its name is the log's origin), as `--log` and
/// `WITNESS_LOGS` give it.
pub fn parse_log_key(raw: &str) -> Result<VerifierKey, String> {
    let key = VerifierKey::parse(raw).map_err(|e| format!("the log key `{}`: {e}", raw.trim()))?;
    if key.kind() != KeyType::Ed25519 {
        return Err(format!(
            "the log key `{}` is not an Ed25519 note key (type 0x01)",
            key.name()
        ));
    }
    Ok(key)
}

/// How the witness answered an `add-checkpoint` request.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// 200: the cosignature lines.
    Cosigned(Vec<SignatureLine>),
    /// 400: the request is malformed, or its old size is above the checkpoint's.
    BadRequest(String),
    /// 403: no valid signature from the log's key.
    Forbidden(String),
    /// 404: the witness does not know the checkpoint's origin.
    UnknownOrigin(String),
    /// 409: the old size is not the latest cosigned size, which is given.
    Conflict(u64),
    /// 422: the proof does not verify, or the checkpoint contradicts the cosigned one.
    Unprocessable(String),
}

/// One log the witness follows: its keys (an origin may have several) and its state, behind a
/// lock held from the check of the old size until the new state is on disk.
struct Followed {
    keys: Vec<VerifierKey>,
    state: Mutex<LogState>,
}

/// A witness: its cosigning key, the logs it follows and its data folder.
pub struct Witness {
    signer: NoteSigner,
    logs: HashMap<String, Followed>,
    dir: PathBuf,
}

impl Witness {
    /// Opens (or creates) the witness in `dir`: its key is `dir/witness.key` (generated on first
    /// start), its state `dir/state/`, its evidence `dir/evidence/`. Each log key is a type 0x01
    /// vkey whose name is the log's origin.
    pub fn open(dir: &Path, name: &str, logs: &[VerifierKey]) -> anyhow::Result<Self> {
        anyhow::ensure!(
            crate::ledger::note::valid_key_name(name),
            "the witness name {name:?} must be non-empty, without spaces or '+'"
        );
        anyhow::ensure!(!logs.is_empty(), "the witness follows no log (give --log)");
        std::fs::create_dir_all(dir)?;
        let seed = crate::config::load_or_create_secret(None, &dir.join("witness.key"), || {
            crate::config::random_hex(32)
        })?;
        let seed: [u8; 32] = hex::decode(seed.expose_secret().trim())
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| anyhow::anyhow!("{}: not 64 hex characters", dir.display()))?;
        let mut followed: HashMap<String, Followed> = HashMap::new();
        for key in logs {
            anyhow::ensure!(
                key.kind() == KeyType::Ed25519,
                "the log key {} is not an Ed25519 note key (type 0x01)",
                key.name()
            );
            match followed.get_mut(key.name()) {
                Some(log) => log.keys.push(key.clone()),
                None => {
                    let state = state::load(dir, key.name())?;
                    followed.insert(
                        key.name().to_owned(),
                        Followed {
                            keys: vec![key.clone()],
                            state: Mutex::new(state),
                        },
                    );
                }
            }
        }
        Ok(Self {
            signer: NoteSigner::new(name, KeyType::Cosignature, seed),
            logs: followed,
            dir: dir.to_owned(),
        })
    }

    /// The witness's verifier key (type 0x04).
    pub fn verifier_key(&self) -> VerifierKey {
        self.signer.verifier_key()
    }

    /// The data folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Answers one `add-checkpoint` request body, in the order of checks the spec gives.
    pub async fn add_checkpoint(&self, body: &str) -> anyhow::Result<Outcome> {
        let request = match AddCheckpoint::parse(body) {
            Ok(r) => r,
            Err(e) => return Ok(Outcome::BadRequest(e)),
        };
        let Some(log) = self.logs.get(&request.checkpoint.origin) else {
            return Ok(Outcome::UnknownOrigin(request.checkpoint.origin));
        };
        if let Err(why) = signed_by_log(&request.note, &log.keys) {
            return Ok(Outcome::Forbidden(why));
        }
        let checkpoint = &request.checkpoint;
        if request.old_size > checkpoint.size {
            return Ok(Outcome::BadRequest(format!(
                "the old size {} is above the checkpoint's size {}",
                request.old_size, checkpoint.size
            )));
        }
        let mut state = log.state.lock().await;
        if request.old_size != state.size {
            return Ok(Outcome::Conflict(state.size));
        }
        // From here the log's signature is valid. A signed empty tree with a root, or a second
        // root for a size already cosigned, proves by itself that the log misbehaved: such a
        // request is kept, with the checkpoint cosigned before. A proof that fails proves
        // nothing (anyone may send a log's checkpoint with a wrong proof), so it is only refused.
        let contradiction = if checkpoint.size == 0 && checkpoint.root != merkle::empty_root() {
            Some("a checkpoint of size 0 must have the empty tree's root".to_owned())
        } else if checkpoint.size == state.size && checkpoint.root != state.root {
            Some(format!(
                "the log signed another root for the cosigned size {}",
                state.size
            ))
        } else {
            None
        };
        if let Some(reason) = contradiction {
            let evidence = Evidence {
                origin: checkpoint.origin.clone(),
                received_at: OffsetDateTime::now_utc(),
                reason: reason.clone(),
                cosigned_size: state.size,
                cosigned: state.note.clone(),
                request: body.to_owned(),
            };
            let dir = self.dir.clone();
            tokio::task::spawn_blocking(move || state::keep_evidence(&dir, &evidence)).await??;
            return Ok(Outcome::Unprocessable(reason));
        }
        if let Err(e) = merkle::verify_consistency(
            state.size,
            checkpoint.size,
            &state.root,
            &checkpoint.root,
            &request.proof,
        ) {
            return Ok(Outcome::Unprocessable(format!(
                "no consistency from the cosigned size {} to {}: {e}",
                state.size, checkpoint.size
            )));
        }
        let timestamp = OffsetDateTime::now_utc().unix_timestamp().max(1) as u64;
        let line = self.signer.sign(&request.note.text, timestamp);
        let mut cosigned = request.note.clone();
        cosigned.add(line.clone());
        let next = LogState {
            origin: checkpoint.origin.clone(),
            size: checkpoint.size,
            root: checkpoint.root,
            note: Some(cosigned.to_string()),
        };
        let (dir, stored) = (self.dir.clone(), next.clone());
        tokio::task::spawn_blocking(move || state::store(&dir, &stored)).await??;
        *state = next;
        Ok(Outcome::Cosigned(vec![line]))
    }

    /// The latest checkpoint cosigned for `origin_hash` (hex SHA-256 of the origin), with the
    /// log's and the witness's signatures.
    pub async fn latest(&self, origin_hash: &str) -> Option<String> {
        for (origin, log) in &self.logs {
            if state::origin_hash(origin) == origin_hash {
                return log.state.lock().await.note.clone();
            }
        }
        None
    }
}

/// The spec's rule for the log's signature: a line whose name and id are a trusted key's must
/// verify, and at least one must.
fn signed_by_log(note: &Note, keys: &[VerifierKey]) -> Result<(), String> {
    let mut verified = false;
    for line in &note.signatures {
        for key in keys.iter().filter(|k| k.owns(line)) {
            key.check(&note.text, line)
                .map_err(|_| format!("the signature by {} does not verify", key.name()))?;
            verified = true;
        }
    }
    if verified {
        Ok(())
    } else {
        Err("no signature by the log's key".into())
    }
}
