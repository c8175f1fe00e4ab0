//! C2SP signed notes (`c2sp.org/signed-note`): verifier keys, signature lines, Ed25519 note
//! signatures (type 0x01) and timestamped Ed25519 checkpoint cosignatures (type 0x04,
//! `c2sp.org/tlog-cosignature`, the `cosignature/v1` message).
//!
//! ```text
//! <text ending in newline>\n— <key name> <base64(4-byte key id || signature)>\n...
//! ```
//! A verifier key is `<name>+<8 hex key id>+<base64(type || public key)>`, and the key id is the
//! first 4 bytes of SHA-256(name || 0x0A || type || public key).

use std::fmt;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use ed25519_dalek::{Signature, Signer as _, SigningKey, Verifier as _, VerifyingKey};
use sha2::{Digest, Sha256};

/// The most signature lines a note may carry; the spec asks verifiers to accept at least 16.
pub const MAX_SIGNATURES: usize = 64;

/// The signature types this log uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyType {
    /// Ed25519 over the note text: the log's own checkpoint signature.
    Ed25519,
    /// Timestamped Ed25519 cosignature over `cosignature/v1\ntime <t>\n` and the note text.
    Cosignature,
}

impl KeyType {
    /// The signature type byte of the spec.
    pub fn byte(self) -> u8 {
        match self {
            KeyType::Ed25519 => 0x01,
            KeyType::Cosignature => 0x04,
        }
    }

    fn from_byte(byte: u8) -> Option<Self> {
        match byte {
            0x01 => Some(KeyType::Ed25519),
            0x04 => Some(KeyType::Cosignature),
            _ => None,
        }
    }
}

/// Why a note, key or signature was not accepted.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum NoteError {
    #[error("the verifier key is not in the form <name>+<8 hex key id>+<base64 key>")]
    BadKey,
    #[error("the verifier key's id does not match its name and public key")]
    KeyIdMismatch,
    #[error("the note is not a signed note (text, blank line, signature lines)")]
    Malformed,
    #[error("the note carries more than {MAX_SIGNATURES} signatures")]
    TooManySignatures,
    #[error("no signature by key {0} on the note")]
    NoSignatureForKey(String),
    #[error("the signature by key {0} is not valid")]
    BadSignature(String),
}

/// Key names are non-empty and hold no Unicode space and no '+'.
pub fn valid_key_name(name: &str) -> bool {
    !name.is_empty() && !name.chars().any(|c| c.is_whitespace() || c == '+')
}

fn key_id(name: &str, kind: KeyType, public: &VerifyingKey) -> [u8; 4] {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update([0x0A, kind.byte()]);
    h.update(public.as_bytes());
    let digest = h.finalize();
    [digest[0], digest[1], digest[2], digest[3]]
}

/// The message a `cosignature/v1` signs: header, timestamp line, then the note text.
pub fn cosigned_message(timestamp: u64, text: &str) -> String {
    format!("cosignature/v1\ntime {timestamp}\n{text}")
}

/// A published verifier key of type 0x01 or 0x04.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifierKey {
    name: String,
    id: [u8; 4],
    kind: KeyType,
    key: VerifyingKey,
}

impl VerifierKey {
    /// Parses a vkey and checks that its id matches its name, type and key.
    pub fn parse(text: &str) -> Result<Self, NoteError> {
        let text = text.trim();
        // Key names never contain '+', but base64 may: split from the left.
        let mut parts = text.splitn(3, '+');
        let (Some(name), Some(id_hex), Some(b64)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(NoteError::BadKey);
        };
        if !valid_key_name(name) || id_hex.len() != 8 {
            return Err(NoteError::BadKey);
        }
        let id: [u8; 4] = hex::decode(id_hex)
            .ok()
            .and_then(|v| v.try_into().ok())
            .ok_or(NoteError::BadKey)?;
        let blob = B64.decode(b64).map_err(|_| NoteError::BadKey)?;
        let (kind, key) = blob.split_first().ok_or(NoteError::BadKey)?;
        let kind = KeyType::from_byte(*kind).ok_or(NoteError::BadKey)?;
        let key: [u8; 32] = key.try_into().map_err(|_| NoteError::BadKey)?;
        let key = VerifyingKey::from_bytes(&key).map_err(|_| NoteError::BadKey)?;
        if key_id(name, kind, &key) != id {
            return Err(NoteError::KeyIdMismatch);
        }
        Ok(Self {
            name: name.to_owned(),
            id,
            kind,
            key,
        })
    }

    /// The key's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The 4-byte key id.
    pub fn id(&self) -> [u8; 4] {
        self.id
    }

    /// The signature type.
    pub fn kind(&self) -> KeyType {
        self.kind
    }

    /// The raw Ed25519 public key.
    pub fn public_key(&self) -> [u8; 32] {
        self.key.to_bytes()
    }

    /// Whether a signature line is this key's (same name and id).
    pub fn owns(&self, line: &SignatureLine) -> bool {
        line.name == self.name && line.id == self.id
    }

    /// Checks one signature line of this key over `text`. Returns the cosignature's timestamp,
    /// or `None` for a plain Ed25519 signature.
    pub fn check(&self, text: &str, line: &SignatureLine) -> Result<Option<u64>, NoteError> {
        let bad = || NoteError::BadSignature(self.name.clone());
        match self.kind {
            KeyType::Ed25519 => {
                let signature = Signature::from_slice(&line.signature).map_err(|_| bad())?;
                self.key
                    .verify(text.as_bytes(), &signature)
                    .map_err(|_| bad())?;
                Ok(None)
            }
            KeyType::Cosignature => {
                if line.signature.len() != 8 + 64 {
                    return Err(bad());
                }
                let timestamp = u64::from_be_bytes(line.signature[..8].try_into().expect("8"));
                if timestamp > i64::MAX as u64 {
                    return Err(bad());
                }
                let signature = Signature::from_slice(&line.signature[8..]).map_err(|_| bad())?;
                let message = cosigned_message(timestamp, text);
                self.key
                    .verify(message.as_bytes(), &signature)
                    .map_err(|_| bad())?;
                Ok(Some(timestamp))
            }
        }
    }

    /// Verifies the note's signature by this key: the spec's rule is that a matching line must
    /// verify. Returns the cosignature's timestamp, or `None` for a plain signature.
    pub fn verify(&self, note: &Note) -> Result<Option<u64>, NoteError> {
        let mut result = Err(NoteError::NoSignatureForKey(self.name.clone()));
        for line in note.signatures.iter().filter(|l| self.owns(l)) {
            match self.check(&note.text, line) {
                Ok(t) => return Ok(t),
                Err(e) => result = Err(e),
            }
        }
        result
    }
}

impl fmt::Display for VerifierKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut blob = vec![self.kind.byte()];
        blob.extend_from_slice(self.key.as_bytes());
        write!(
            f,
            "{}+{}+{}",
            self.name,
            hex::encode(self.id),
            B64.encode(blob)
        )
    }
}

/// One signature line: `— <name> <base64(id || signature)>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureLine {
    pub name: String,
    pub id: [u8; 4],
    /// The bytes after the key id.
    pub signature: Vec<u8>,
}

impl SignatureLine {
    /// Parses one line without its newline.
    pub fn parse(line: &str) -> Result<Self, NoteError> {
        let rest = line.strip_prefix("\u{2014} ").ok_or(NoteError::Malformed)?;
        let (name, b64) = rest.split_once(' ').ok_or(NoteError::Malformed)?;
        if !valid_key_name(name) {
            return Err(NoteError::Malformed);
        }
        let blob = B64.decode(b64).map_err(|_| NoteError::Malformed)?;
        if blob.len() < 5 {
            return Err(NoteError::Malformed);
        }
        Ok(Self {
            name: name.to_owned(),
            id: blob[..4].try_into().expect("4"),
            signature: blob[4..].to_vec(),
        })
    }
}

impl fmt::Display for SignatureLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut blob = self.id.to_vec();
        blob.extend_from_slice(&self.signature);
        write!(f, "\u{2014} {} {}", self.name, B64.encode(blob))
    }
}

/// A signed note: its text (with the final newline) and its signature lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    pub text: String,
    pub signatures: Vec<SignatureLine>,
}

impl Note {
    /// Parses a signed note. The text ends at the last blank line; every line after it must be a
    /// well-formed signature line.
    pub fn parse(note: &str) -> Result<Self, NoteError> {
        if note.chars().any(|c| c < ' ' && c != '\n') || !note.ends_with('\n') {
            return Err(NoteError::Malformed);
        }
        let split = note.rfind("\n\n").ok_or(NoteError::Malformed)?;
        let text = &note[..=split];
        let signatures = note[split + 2..]
            .lines()
            .map(SignatureLine::parse)
            .collect::<Result<Vec<_>, _>>()?;
        if signatures.is_empty() {
            return Err(NoteError::Malformed);
        }
        if signatures.len() > MAX_SIGNATURES {
            return Err(NoteError::TooManySignatures);
        }
        Ok(Self {
            text: text.to_owned(),
            signatures,
        })
    }

    /// Adds a signature line unless the same key (name and id) has signed already.
    pub fn add(&mut self, line: SignatureLine) {
        if !self
            .signatures
            .iter()
            .any(|l| l.name == line.name && l.id == line.id)
        {
            self.signatures.push(line);
        }
    }
}

impl fmt::Display for Note {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{}", self.text)?;
        for line in &self.signatures {
            writeln!(f, "{line}")?;
        }
        Ok(())
    }
}

/// An Ed25519 key that signs notes (type 0x01) or cosigns checkpoints (type 0x04).
pub struct NoteSigner {
    name: String,
    kind: KeyType,
    key: SigningKey,
    id: [u8; 4],
}

impl NoteSigner {
    /// A signer named `name` of the given type, from a 32-byte seed.
    pub fn new(name: &str, kind: KeyType, seed: [u8; 32]) -> Self {
        let key = SigningKey::from_bytes(&seed);
        let id = key_id(name, kind, &key.verifying_key());
        Self {
            name: name.to_owned(),
            kind,
            key,
            id,
        }
    }

    /// The key name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The verifier key to publish.
    pub fn verifier_key(&self) -> VerifierKey {
        VerifierKey {
            name: self.name.clone(),
            id: self.id,
            kind: self.kind,
            key: self.key.verifying_key(),
        }
    }

    /// The signature line over `text`. `timestamp` (POSIX seconds) is used by cosigners only.
    pub fn sign(&self, text: &str, timestamp: u64) -> SignatureLine {
        let signature = match self.kind {
            KeyType::Ed25519 => self.key.sign(text.as_bytes()).to_bytes().to_vec(),
            KeyType::Cosignature => {
                let message = cosigned_message(timestamp, text);
                let mut blob = timestamp.to_be_bytes().to_vec();
                blob.extend_from_slice(&self.key.sign(message.as_bytes()).to_bytes());
                blob
            }
        };
        SignatureLine {
            name: self.name.clone(),
            id: self.id,
            signature,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example of the signed-note spec.
    const SPEC_KEY: &str = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k";
    const SPEC_NOTE: &str = "This is an example message.\n\n\u{2014} example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n";

    #[test]
    fn the_spec_example_verifies_and_a_changed_text_does_not() {
        let key = VerifierKey::parse(SPEC_KEY).unwrap();
        let note = Note::parse(SPEC_NOTE).unwrap();
        assert_eq!(note.text, "This is an example message.\n");
        assert_eq!(key.verify(&note), Ok(None));
        assert_eq!(note.to_string(), SPEC_NOTE);
        let changed = Note::parse(&SPEC_NOTE.replace("example message", "exemplary note")).unwrap();
        assert_eq!(
            key.verify(&changed),
            Err(NoteError::BadSignature("example.com/foo".into()))
        );
        assert_eq!(key.to_string(), SPEC_KEY);
    }

    #[test]
    fn a_cosignature_verifies_over_its_timestamp_and_text() {
        let cosigner = NoteSigner::new("witness.test/w1", KeyType::Cosignature, [3u8; 32]);
        let text = "zhonglian.test/ledger\n5\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n";
        let line = cosigner.sign(text, 1_700_000_000);
        assert_eq!(line.signature.len(), 72);
        let vkey = VerifierKey::parse(&cosigner.verifier_key().to_string()).unwrap();
        assert_eq!(vkey.kind(), KeyType::Cosignature);
        assert_eq!(vkey.check(text, &line), Ok(Some(1_700_000_000)));
        let mut moved = line.clone();
        moved.signature[7] ^= 1;
        assert!(vkey.check(text, &moved).is_err());
        // The same seed as a plain key has another id, so the lines never mix.
        let plain = NoteSigner::new("witness.test/w1", KeyType::Ed25519, [3u8; 32]);
        assert_ne!(plain.verifier_key().id(), vkey.id());
    }

    #[test]
    fn unknown_keys_are_ignored_and_a_missing_one_is_named() {
        let log = NoteSigner::new("log.test", KeyType::Ed25519, [1u8; 32]);
        let other = NoteSigner::new("other.test", KeyType::Ed25519, [2u8; 32]);
        let text = "log.test\n1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n";
        let mut note = Note {
            text: text.into(),
            signatures: vec![other.sign(text, 0)],
        };
        assert_eq!(
            log.verifier_key().verify(&note),
            Err(NoteError::NoSignatureForKey("log.test".into()))
        );
        note.add(log.sign(text, 0));
        note.add(log.sign(text, 0));
        assert_eq!(note.signatures.len(), 2);
        assert_eq!(log.verifier_key().verify(&note), Ok(None));
        let reparsed = Note::parse(&note.to_string()).unwrap();
        assert_eq!(reparsed, note);
    }

    #[test]
    fn malformed_notes_and_keys_are_refused() {
        for bad in [
            "no blank line\n\u{2014} a AAAAAAAA\n",
            "text\n\n",
            "text\n\nnot a signature\n",
            "text\n\n\u{2014} a AAAA\n",
            "tab\there\n\n\u{2014} a AAAAAAAA\n",
            "text\n\n\u{2014} a AAAAAAAA",
        ] {
            assert!(Note::parse(bad).is_err(), "{bad:?}");
        }
        for bad in [
            "garbage",
            "name+zz+AQ==",
            "with space+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",
            "example.com/foo+00000000+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",
        ] {
            assert!(VerifierKey::parse(bad).is_err(), "{bad:?}");
        }
    }
}
