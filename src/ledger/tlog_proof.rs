//! Offline proofs of logging (`c2sp.org/tlog-proof@v1`): the leaf's index, its inclusion proof
//! and the cosigned checkpoint, in one text file (`.tlog-proof`).
//!
//! The entry's canonical bytes travel on the `extra` line, so a proof is self-contained. The
//! spec says "Applications MUST NOT implicitly trust the extra data": we never do, the leaf
//! hash is computed from those bytes and must reach the signed root through the proof.

use std::fmt;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use sha2::{Digest, Sha256};
use sqlx::PgPool;

use super::merkle::{self, Hash};
use super::policy::{Evaluation, Policy};
use super::store::{self, StoreError};

/// The first line of every proof.
pub const HEADER: &str = "c2sp.org/tlog-proof@v1";

/// The most inclusion-path lines a proof may carry (a tree of 2^64 leaves needs 64).
const MAX_PATH: usize = 64;

/// Why a file is not a tlog proof.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProofFormatError {
    #[error("the first line is not `c2sp.org/tlog-proof@v1`")]
    Header,
    #[error("the extra line is not base64")]
    Extra,
    #[error("the index line is missing or not a decimal without leading zeroes")]
    Index,
    #[error("an inclusion proof line is not a base64 SHA-256 hash")]
    Path,
    #[error("no blank line and checkpoint after the inclusion proof")]
    Checkpoint,
}

/// A parsed proof.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlogProof {
    /// Opaque extra data: here, the entry's canonical bytes.
    pub extra: Option<Vec<u8>>,
    pub index: u64,
    /// From the leaf's sibling up to the root's child.
    pub path: Vec<Hash>,
    /// The checkpoint note, verbatim, with its cosignatures.
    pub checkpoint: String,
}

impl TlogProof {
    /// Parses a proof exactly in the spec's line format.
    pub fn parse(text: &str) -> Result<Self, ProofFormatError> {
        let mut rest = text
            .strip_prefix(HEADER)
            .and_then(|r| r.strip_prefix('\n'))
            .ok_or(ProofFormatError::Header)?;
        let next_line = |rest: &mut &str| -> Option<String> {
            let (line, after) = rest.split_once('\n')?;
            *rest = after;
            Some(line.to_owned())
        };
        let mut line = next_line(&mut rest).ok_or(ProofFormatError::Index)?;
        let mut extra = None;
        if let Some(b64) = line.strip_prefix("extra ") {
            extra = Some(B64.decode(b64).map_err(|_| ProofFormatError::Extra)?);
            line = next_line(&mut rest).ok_or(ProofFormatError::Index)?;
        }
        let index = line
            .strip_prefix("index ")
            .filter(|i| *i == "0" || (!i.starts_with('0') && !i.is_empty()))
            .filter(|i| i.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|i| i.parse::<u64>().ok())
            .ok_or(ProofFormatError::Index)?;
        let mut path = Vec::new();
        loop {
            let line = next_line(&mut rest).ok_or(ProofFormatError::Checkpoint)?;
            if line.is_empty() {
                break;
            }
            if path.len() == MAX_PATH {
                return Err(ProofFormatError::Path);
            }
            let hash: Hash = B64
                .decode(&line)
                .ok()
                .and_then(|h| h.try_into().ok())
                .ok_or(ProofFormatError::Path)?;
            path.push(hash);
        }
        if rest.is_empty() {
            return Err(ProofFormatError::Checkpoint);
        }
        Ok(Self {
            extra,
            index,
            path,
            checkpoint: rest.to_owned(),
        })
    }

    /// Checks the proof of `entry` (its canonical bytes) against `policy` at `now` (Unix
    /// seconds): the checkpoint per the policy, then the leaf's inclusion under its root.
    pub fn verify(&self, entry: &[u8], policy: &Policy, now: u64) -> ProofCheck {
        let evaluation = policy.evaluate(&self.checkpoint, now);
        let tx_hash: Hash = Sha256::digest(entry).into();
        let inclusion = match &evaluation.checkpoint {
            None => Err("no checkpoint signed by a known log".to_owned()),
            Some(c) => merkle::verify_inclusion(
                &merkle::leaf_hash(&tx_hash),
                self.index,
                c.size,
                &self.path,
                &c.root,
            )
            .map_err(|e| e.to_string()),
        };
        ProofCheck {
            tx_hash,
            evaluation,
            inclusion,
        }
    }
}

impl fmt::Display for TlogProof {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{HEADER}")?;
        if let Some(extra) = &self.extra {
            writeln!(f, "extra {}", B64.encode(extra))?;
        }
        writeln!(f, "index {}", self.index)?;
        for hash in &self.path {
            writeln!(f, "{}", B64.encode(hash))?;
        }
        writeln!(f)?;
        f.write_str(&self.checkpoint)
    }
}

/// The outcome of [`TlogProof::verify`].
#[derive(Debug, Clone)]
pub struct ProofCheck {
    /// SHA-256 of the entry: the Merkle leaf input.
    pub tx_hash: Hash,
    pub evaluation: Evaluation,
    pub inclusion: Result<(), String>,
}

impl ProofCheck {
    /// Valid only if the checkpoint meets the policy and the leaf is under its root.
    pub fn valid(&self) -> bool {
        self.evaluation.valid() && self.inclusion.is_ok()
    }
}

/// The proof of `tx_hash` at the latest checkpoint, with its stored cosignatures.
pub async fn build(db: &PgPool, tx_hash: &Hash) -> Result<Option<TlogProof>, StoreError> {
    let Some(entry) = store::entry(db, tx_hash).await? else {
        return Ok(None);
    };
    let Some((size, note)) = super::cosignatures::published(db, None).await? else {
        return Ok(None);
    };
    let proof = store::inclusion(db, entry.index, size).await?;
    Ok(Some(TlogProof {
        extra: Some(entry.text.into_bytes()),
        index: entry.index,
        path: proof.path,
        checkpoint: note,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::checkpoint::Signer;
    use crate::ledger::note::{KeyType, Note, NoteSigner};

    const NOW: u64 = 1_800_000_000;

    /// The spec's example, whose hashes are real base64 SHA-256 values (signatures elided).
    const SPEC_EXAMPLE: &str = "c2sp.org/tlog-proof@v1
extra YWdlLXYxLjIuMS1kYXJ3aW4tYXJtNjQudGFyLmd6kYXJ3aW4tYXJ
index 73894
gSKyXoYZUgZ6jduWYrkDOARinOMGJveXjgMkBTcdPlQ=
B95lDa8R83lS8n0eG+o0buTxRKQTYFi//1U8anccXmA=
EKNzoDWG8LGC0Yp9o+sv3qllpMP9uHQ9B20KNL+Q1zs=
RoopEkOdqkYqMB4MJXrbt/hMjOxsVn0IrWjpz1ZMMes=
AHCioX9nLjsrse6YhjRRmk1WUEirVOLLRoOQ6vfO5vk=

example.com/fancylog
109482
sFodV/vSp5O8n9a8QpW6PRY97tfOSW5bsc2Xl/EQi08=

\u{2014} example.com/fancylog hI2DJw==
";

    #[test]
    fn the_spec_example_parses_and_renders_back() {
        let proof = TlogProof::parse(SPEC_EXAMPLE).unwrap();
        assert_eq!(proof.index, 73894);
        assert_eq!(proof.path.len(), 5);
        assert!(proof
            .checkpoint
            .starts_with("example.com/fancylog\n109482\n"));
        assert_eq!(proof.to_string(), SPEC_EXAMPLE);
    }

    #[test]
    fn malformed_proofs_are_refused() {
        let cases = [
            (
                "c2sp.org/tlog-proof@v2\nindex 0\n\nx\n",
                ProofFormatError::Header,
            ),
            (
                "c2sp.org/tlog-proof@v1\nindex 01\n\nx\n",
                ProofFormatError::Index,
            ),
            (
                "c2sp.org/tlog-proof@v1\nindex +1\n\nx\n",
                ProofFormatError::Index,
            ),
            (
                "c2sp.org/tlog-proof@v1\nextra !!\nindex 1\n\nx\n",
                ProofFormatError::Extra,
            ),
            (
                "c2sp.org/tlog-proof@v1\nindex 1\nAAAA\n\nx\n",
                ProofFormatError::Path,
            ),
            (
                "c2sp.org/tlog-proof@v1\nindex 1\n",
                ProofFormatError::Checkpoint,
            ),
        ];
        for (text, expected) in cases {
            assert_eq!(TlogProof::parse(text), Err(expected), "{text}");
        }
    }

    #[test]
    fn a_cosigned_proof_verifies_and_a_wrong_entry_does_not() {
        let entries: Vec<Vec<u8>> = (0..5)
            .map(|i| format!("{{\"n\":{i}}}").into_bytes())
            .collect();
        let leaves: Vec<Hash> = entries
            .iter()
            .map(|e| merkle::leaf_hash(Sha256::digest(e).as_slice()))
            .collect();
        let log = Signer::new("zhonglian.test/ledger", [1u8; 32]);
        let witness = NoteSigner::new("w.example", KeyType::Cosignature, [2u8; 32]);
        let mut note = Note::parse(&log.sign(5, &merkle::root_of(&leaves))).unwrap();
        note.add(witness.sign(&note.text, NOW));
        let proof = TlogProof {
            extra: Some(entries[3].clone()),
            index: 3,
            path: merkle::inclusion_proof(&leaves, 3).unwrap(),
            checkpoint: note.to_string(),
        };
        let policy = Policy::parse(&format!(
            "log {}\nwitness W {}\nquorum W\n",
            log.verifier_key(),
            witness.verifier_key()
        ))
        .unwrap();
        let parsed = TlogProof::parse(&proof.to_string()).unwrap();
        assert_eq!(parsed, proof);
        assert!(parsed.verify(&entries[3], &policy, NOW).valid());
        assert!(!parsed.verify(&entries[2], &policy, NOW).valid());
    }
}
