//! Keys derived from the server secret, one per purpose.

use jsonwebtoken::{DecodingKey, EncodingKey};

use crate::config::secret_bytes;

/// The keys of one server secret.
pub struct Keys {
    pub jwt_encoding: EncodingKey,
    pub jwt_decoding: DecodingKey,
    pub csrf: Vec<u8>,
    /// Signs the device cookies that exempt a known browser from its account's log-in throttle.
    pub device: Vec<u8>,
}

impl Keys {
    /// Derives the session and CSRF keys from the secret (HMAC with a purpose label), so one
    /// leaked derived key does not give away the others.
    pub fn derive(secret: &secrecy::SecretString) -> Self {
        use hmac::{Hmac, Mac};
        let derive = |purpose: &str| {
            let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret_bytes(secret))
                .expect("HMAC takes any key length");
            mac.update(purpose.as_bytes());
            mac.finalize().into_bytes().to_vec()
        };
        let jwt = derive("zhonglian/jwt/v1");
        Self {
            jwt_encoding: EncodingKey::from_secret(&jwt),
            jwt_decoding: DecodingKey::from_secret(&jwt),
            csrf: derive("zhonglian/csrf/v1"),
            device: derive("zhonglian/device/v1"),
        }
    }
}
