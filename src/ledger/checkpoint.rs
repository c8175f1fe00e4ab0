//! Signed checkpoints in the C2SP tlog-checkpoint signed-note format, and their verification.
//!
//! ```text
//! <origin>\n<size>\n<base64 root>\n\n— <key name> <base64(key id || Ed25519 signature)>\n
//! ```
//! The note format, keys and cosignatures are in [`super::note`]; the log's key name is its
//! origin and its key type is Ed25519 (0x01).

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;

use super::merkle::Hash;
use super::note::{KeyType, Note, NoteError, NoteSigner, VerifierKey};

/// The body that is signed: origin, size, base64 root, each followed by a newline.
pub fn body(origin: &str, size: u64, root: &Hash) -> String {
    format!("{origin}\n{size}\n{}\n", B64.encode(root))
}

/// Signs checkpoints with the ledger's key.
pub struct Signer {
    key: NoteSigner,
}

impl Signer {
    /// A signer whose key name is `name` (the log's origin) from a 32-byte seed.
    pub fn new(name: &str, seed: [u8; 32]) -> Self {
        Self {
            key: NoteSigner::new(name, KeyType::Ed25519, seed),
        }
    }

    /// The origin line and key name.
    pub fn name(&self) -> &str {
        self.key.name()
    }

    /// The signed note for a tree of `size` leaves with root `root`.
    pub fn sign(&self, size: u64, root: &Hash) -> String {
        let text = body(self.name(), size, root);
        let line = self.key.sign(&text, 0);
        Note {
            text,
            signatures: vec![line],
        }
        .to_string()
    }

    /// The verifier key to publish.
    pub fn verifier_key(&self) -> String {
        self.key.verifier_key().to_string()
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

impl From<NoteError> for CheckpointError {
    fn from(e: NoteError) -> Self {
        match e {
            NoteError::BadKey => CheckpointError::BadKey,
            NoteError::KeyIdMismatch => CheckpointError::KeyIdMismatch,
            NoteError::Malformed | NoteError::TooManySignatures => CheckpointError::Malformed,
            NoteError::NoSignatureForKey(name) => CheckpointError::NoSignatureForKey(name),
            NoteError::BadSignature(_) => CheckpointError::BadSignature,
        }
    }
}

/// A published verifier key of a log (type 0x01).
#[derive(Debug, Clone)]
pub struct Verifier {
    key: VerifierKey,
}

impl Verifier {
    /// Parses `<name>+<hex id>+<base64(0x01 || key)>` and checks that the id matches.
    pub fn parse(text: &str) -> Result<Self, CheckpointError> {
        let key = VerifierKey::parse(text)?;
        if key.kind() != KeyType::Ed25519 {
            return Err(CheckpointError::BadKey);
        }
        Ok(Self { key })
    }

    /// The key's name.
    pub fn name(&self) -> &str {
        self.key.name()
    }

    /// The note key underneath.
    pub fn key(&self) -> &VerifierKey {
        &self.key
    }

    /// Checks the note's signature by this key and returns what it says.
    pub fn verify(&self, note: &str) -> Result<Checkpoint, CheckpointError> {
        let note = Note::parse(note)?;
        let checkpoint = Checkpoint::parse_body(&note.text)?;
        self.key.verify(&note)?;
        Ok(checkpoint)
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
    /// Reads the first three lines of a checkpoint's text (extension lines may follow).
    pub fn parse_body(body: &str) -> Result<Self, CheckpointError> {
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
