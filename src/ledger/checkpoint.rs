//! Signed checkpoints in the C2SP tlog-checkpoint signed-note format, and their verification.
//!
//! ```text
//! <origin>\n<size>\n<base64 root>\n\n— <key name> <base64(key id || Ed25519 signature)>\n
//! ```
//! The key id is the first 4 bytes of SHA-256(name || 0x0A || 0x01 || public key); the published
//! verifier key is `<name>+<8 hex key id>+<base64(0x01 || public key)>`.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use ed25519_dalek::{Signature, Signer as _, SigningKey, Verifier as _, VerifyingKey};
use sha2::{Digest, Sha256};

use super::merkle::Hash;

/// Signature algorithm byte of Ed25519 in signed notes.
const ALG_ED25519: u8 = 0x01;

fn key_id(name: &str, public: &VerifyingKey) -> [u8; 4] {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update([0x0A, ALG_ED25519]);
    h.update(public.as_bytes());
    let digest = h.finalize();
    [digest[0], digest[1], digest[2], digest[3]]
}

/// The body that is signed: origin, size, base64 root, each followed by a newline.
pub fn body(origin: &str, size: u64, root: &Hash) -> String {
    format!("{origin}\n{size}\n{}\n", B64.encode(root))
}

/// Signs checkpoints with the ledger's key.
pub struct Signer {
    name: String,
    key: SigningKey,
    id: [u8; 4],
}

impl Signer {
    /// A signer whose key name is `name` (the log's origin) from a 32-byte seed.
    pub fn new(name: &str, seed: [u8; 32]) -> Self {
        let key = SigningKey::from_bytes(&seed);
        let id = key_id(name, &key.verifying_key());
        Self {
            name: name.to_owned(),
            key,
            id,
        }
    }

    /// The origin line and key name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The signed note for a tree of `size` leaves with root `root`.
    pub fn sign(&self, size: u64, root: &Hash) -> String {
        let body = body(&self.name, size, root);
        let signature = self.key.sign(body.as_bytes());
        let mut blob = Vec::with_capacity(68);
        blob.extend_from_slice(&self.id);
        blob.extend_from_slice(&signature.to_bytes());
        format!("{body}\n\u{2014} {} {}\n", self.name, B64.encode(blob))
    }

    /// The verifier key to publish.
    pub fn verifier_key(&self) -> String {
        let mut blob = vec![ALG_ED25519];
        blob.extend_from_slice(self.key.verifying_key().as_bytes());
        format!(
            "{}+{}+{}",
            self.name,
            hex::encode(self.id),
            B64.encode(blob)
        )
    }
}

/// Why a checkpoint or key was not accepted.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CheckpointError {
    #[error("the verifier key is not in the form <name>+<8 hex key id>+<base64 key>")]
    BadKey,
    #[error("the verifier key's id does not match its name and public key")]
    KeyIdMismatch,
    #[error("the checkpoint is not a signed note (origin, size, root, blank line, signatures)")]
    Malformed,
    #[error("no signature by key {0} on the checkpoint")]
    NoSignatureForKey(String),
    #[error("the checkpoint's signature is not valid")]
    BadSignature,
}

/// A published verifier key.
#[derive(Debug, Clone)]
pub struct Verifier {
    name: String,
    id: [u8; 4],
    key: VerifyingKey,
}

impl Verifier {
    /// Parses `<name>+<hex id>+<base64(0x01 || key)>` and checks that the id matches.
    pub fn parse(text: &str) -> Result<Self, CheckpointError> {
        let text = text.trim();
        // Key names never contain '+', but base64 may: split from the left.
        let mut parts = text.splitn(3, '+');
        let (Some(name), Some(id_hex), Some(b64)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(CheckpointError::BadKey);
        };
        let id: [u8; 4] = hex::decode(id_hex)
            .ok()
            .and_then(|v| v.try_into().ok())
            .ok_or(CheckpointError::BadKey)?;
        let blob = B64.decode(b64).map_err(|_| CheckpointError::BadKey)?;
        let (alg, key) = blob.split_first().ok_or(CheckpointError::BadKey)?;
        if *alg != ALG_ED25519 || name.is_empty() {
            return Err(CheckpointError::BadKey);
        }
        let key: [u8; 32] = key.try_into().map_err(|_| CheckpointError::BadKey)?;
        let key = VerifyingKey::from_bytes(&key).map_err(|_| CheckpointError::BadKey)?;
        if key_id(name, &key) != id {
            return Err(CheckpointError::KeyIdMismatch);
        }
        Ok(Self {
            name: name.to_owned(),
            id,
            key,
        })
    }

    /// The key's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Checks the note's signature by this key and returns what it says.
    pub fn verify(&self, note: &str) -> Result<Checkpoint, CheckpointError> {
        let (body, signatures) = note.split_once("\n\n").ok_or(CheckpointError::Malformed)?;
        let body = format!("{body}\n");
        let checkpoint = Checkpoint::parse_body(&body)?;
        let mut found = false;
        for line in signatures.lines().filter(|l| !l.is_empty()) {
            let rest = line
                .strip_prefix("\u{2014} ")
                .ok_or(CheckpointError::Malformed)?;
            let (name, b64) = rest.rsplit_once(' ').ok_or(CheckpointError::Malformed)?;
            let blob = B64.decode(b64).map_err(|_| CheckpointError::Malformed)?;
            if name != self.name || blob.len() < 4 || blob[..4] != self.id {
                continue;
            }
            found = true;
            let signature =
                Signature::from_slice(&blob[4..]).map_err(|_| CheckpointError::BadSignature)?;
            if self.key.verify(body.as_bytes(), &signature).is_ok() {
                return Ok(checkpoint);
            }
        }
        Err(if found {
            CheckpointError::BadSignature
        } else {
            CheckpointError::NoSignatureForKey(self.name.clone())
        })
    }
}

/// What a checkpoint states.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    pub origin: String,
    pub size: u64,
    pub root: Hash,
}

impl Checkpoint {
    fn parse_body(body: &str) -> Result<Self, CheckpointError> {
        let mut lines = body.lines();
        let origin = lines
            .next()
            .filter(|o| !o.is_empty())
            .ok_or(CheckpointError::Malformed)?;
        let size = lines
            .next()
            .filter(|s| s == &"0" || !s.starts_with('0'))
            .and_then(|s| s.parse::<u64>().ok())
            .ok_or(CheckpointError::Malformed)?;
        let root: Hash = lines
            .next()
            .and_then(|r| B64.decode(r).ok())
            .and_then(|r| r.try_into().ok())
            .ok_or(CheckpointError::Malformed)?;
        Ok(Self {
            origin: origin.to_owned(),
            size,
            root,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signer() -> Signer {
        Signer::new("zhonglian.test/ledger", [7u8; 32])
    }

    #[test]
    fn a_signed_checkpoint_verifies_with_the_published_key() {
        let s = signer();
        let note = s.sign(42, &[9u8; 32]);
        assert!(note.starts_with("zhonglian.test/ledger\n42\n"));
        assert!(note.contains("\n\n\u{2014} zhonglian.test/ledger "));
        let cp = Verifier::parse(&s.verifier_key())
            .unwrap()
            .verify(&note)
            .unwrap();
        assert_eq!(cp.size, 42);
        assert_eq!(cp.root, [9u8; 32]);
    }

    #[test]
    fn a_changed_size_or_root_breaks_the_signature() {
        let s = signer();
        let v = Verifier::parse(&s.verifier_key()).unwrap();
        let note = s.sign(42, &[9u8; 32]);
        let forged = note.replacen("\n42\n", "\n43\n", 1);
        assert_eq!(v.verify(&forged), Err(CheckpointError::BadSignature));
    }

    #[test]
    fn another_key_is_not_accepted() {
        let note = signer().sign(1, &[1u8; 32]);
        let other = Signer::new("zhonglian.test/ledger", [8u8; 32]);
        let v = Verifier::parse(&other.verifier_key()).unwrap();
        assert!(v.verify(&note).is_err());
    }

    #[test]
    fn a_key_whose_id_does_not_match_is_refused() {
        let key = signer().verifier_key();
        let mut parts = key.splitn(3, '+');
        let (name, _, b64) = (parts.next().unwrap(), parts.next(), parts.next().unwrap());
        let wrong = format!("{name}+00000000+{b64}");
        assert_eq!(
            Verifier::parse(&wrong).unwrap_err(),
            CheckpointError::KeyIdMismatch
        );
        assert_eq!(
            Verifier::parse("garbage").unwrap_err(),
            CheckpointError::BadKey
        );
    }
}
