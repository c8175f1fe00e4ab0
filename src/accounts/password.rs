//! Password hashing with argon2id, off the async runtime.

use std::sync::LazyLock;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

use super::domain::Password;

fn argon2() -> Argon2<'static> {
    // OWASP's argon2id baseline: 19 MiB, 2 passes, 1 lane.
    let params = Params::new(19_456, 2, 1, None).expect("valid argon2 parameters");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// A hash verified when the account does not exist, so timing does not reveal which emails
/// have accounts.
static DUMMY_HASH: LazyLock<String> =
    LazyLock::new(|| hash_blocking("not a real password, only for timing"));

fn hash_blocking(password: &str) -> String {
    let salt = SaltString::generate(&mut rand::rngs::OsRng);
    argon2()
        .hash_password(password.as_bytes(), &salt)
        .expect("argon2 hashing with valid parameters cannot fail")
        .to_string()
}

/// Hashes a password on the blocking pool.
pub async fn hash(password: Password) -> anyhow::Result<String> {
    Ok(tokio::task::spawn_blocking(move || hash_blocking(password.expose())).await?)
}

/// Checks `password` against `stored` (or against a dummy hash when there is no account), on the
/// blocking pool. Returns true only for a real match.
pub async fn verify(password: String, stored: Option<String>) -> anyhow::Result<bool> {
    Ok(tokio::task::spawn_blocking(move || {
        let real = stored.is_some();
        let phc = stored.unwrap_or_else(|| DUMMY_HASH.clone());
        let Ok(parsed) = PasswordHash::new(&phc) else {
            return false;
        };
        let matches = argon2()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok();
        real && matches
    })
    .await?)
}

/// Computes the dummy hash now, so the first unknown-account login is not faster than the rest.
pub fn warm_up() {
    LazyLock::force(&DUMMY_HASH);
}
