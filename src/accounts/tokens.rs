//! Single-use tokens sent by e-mail (password reset, e-mail change): 32 random bytes, given to
//! the reader in base64url, kept by us only as their SHA-256, so a copy of the database opens
//! no account.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};

/// Longest token text accepted (43 characters encode 32 bytes; anything longer is not ours).
pub const MAX_TOKEN_CHARS: usize = 64;

/// A fresh token: the text for the link and the hash to store.
pub fn fresh() -> (String, Vec<u8>) {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let text = URL_SAFE_NO_PAD.encode(bytes);
    let hash = digest(&text);
    (text, hash)
}

/// The stored hash of a token text.
pub fn digest(text: &str) -> Vec<u8> {
    Sha256::digest(text.as_bytes()).to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fresh_token_is_stored_only_as_its_hash() {
        let (text, hash) = fresh();
        assert_eq!(text.len(), 43);
        assert_eq!(hash, digest(&text));
        assert_ne!(hash, text.as_bytes());
    }

    #[test]
    fn two_fresh_tokens_differ() {
        assert_ne!(fresh().0, fresh().0);
    }
}
