//! Resetting a forgotten password by e-mail. A request issues a single-use token valid for 30
//! minutes (stored hashed); the caller queues the mail in the same transaction. Opening the
//! link sets the new password and ends every session of the account.

use std::net::IpAddr;

use sqlx::{PgConnection, PgPool};

use super::domain::{Email, Password};
use super::throttle::{address_key, Refused};
use super::{password, tokens};
use crate::error::{Error, Result};
use crate::i18n::Lang;
use crate::ids::UserId;

/// How long a reset link stays valid.
pub const VALID_MINUTES: i32 = 30;
/// Most reset requests for one e-mail address in an hour.
pub const MAX_PER_EMAIL: i64 = 3;
/// Most reset requests from one client address in an hour.
pub const MAX_PER_ADDRESS: i64 = 10;
const WINDOW_MINUTES: i32 = 60;

/// A reset issued for an existing account: where to send it, in which language, and the token.
pub struct Issued {
    pub email: String,
    pub language: Lang,
    pub token: String,
}

/// Counts a reset request against the e-mail's and the address's hourly limits (whether or not
/// the account exists, so the refusal tells nothing either).
pub async fn admit(db: &PgPool, email: &str, address: Option<IpAddr>) -> Result<(), Refused> {
    let email = email.trim().to_lowercase();
    let address = address.map(address_key);
    let mut tx = db.begin().await.map_err(Error::from)?;
    sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended('zhonglian/reset/' || $1, 0))")
        .bind(&email)
        .execute(&mut *tx)
        .await
        .map_err(Error::from)?;
    sqlx::query(
        "DELETE FROM password_reset_requests
         WHERE requested_at <= now() - make_interval(mins => $1::int)",
    )
    .bind(WINDOW_MINUTES)
    .execute(&mut *tx)
    .await
    .map_err(Error::from)?;
    let (by_email, by_address): (i64, i64) = sqlx::query_as(
        "SELECT count(*) FILTER (WHERE email = $1),
                count(*) FILTER (WHERE address = $2)
         FROM password_reset_requests WHERE email = $1 OR address = $2",
    )
    .bind(&email)
    .bind(&address)
    .fetch_one(&mut *tx)
    .await
    .map_err(Error::from)?;
    if by_email >= MAX_PER_EMAIL || by_address >= MAX_PER_ADDRESS {
        return Err(Refused::too_many(
            "accounts.error.reset_rate_limited",
            i64::from(WINDOW_MINUTES) * 60,
        ));
    }
    sqlx::query("INSERT INTO password_reset_requests (address, email) VALUES ($1, $2)")
        .bind(&address)
        .bind(&email)
        .execute(&mut *tx)
        .await
        .map_err(Error::from)?;
    tx.commit().await.map_err(Error::from)?;
    Ok(())
}

/// Deletes the reset requests counted for `email` (a deleted account's address).
pub async fn forget_requests(conn: &mut PgConnection, email: &str) -> Result<()> {
    sqlx::query("DELETE FROM password_reset_requests WHERE email = $1")
        .bind(email.trim().to_lowercase())
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Issues a reset token for the account of `email`, if there is one, in the caller's
/// transaction. The time it takes does not depend on the answer: both ways hash a password.
pub async fn issue(conn: &mut PgConnection, email: &str) -> Result<Option<Issued>> {
    let found: Option<(UserId, String, String)> = match Email::parse(email) {
        Ok(email) => {
            sqlx::query_as(
                "SELECT id, email, language FROM users
                 WHERE lower(email) = $1 AND deleted_at IS NULL",
            )
            .bind(email.as_str())
            .fetch_optional(&mut *conn)
            .await?
        }
        Err(_) => None,
    };
    // The same hashing work whether or not the account exists.
    password::verify(String::new(), None).await?;
    let Some((user, email, language)) = found else {
        return Ok(None);
    };
    let (token, hash) = tokens::fresh();
    sqlx::query("INSERT INTO password_resets (token_hash, user_id) VALUES ($1, $2)")
        .bind(hash)
        .bind(user)
        .execute(&mut *conn)
        .await?;
    Ok(Some(Issued {
        email,
        language: Lang::from_code(&language).unwrap_or(Lang::Zh),
        token,
    }))
}

/// Sets a new password with a reset token: the token is looked up first (a cheap SELECT, so a
/// wrong one costs no hash), then used up with a conditional UPDATE (two uses race for one
/// success); every session of the account ends and its other reset tokens are used up.
pub async fn confirm(db: &PgPool, token: &str, new_password: Password) -> Result<UserId> {
    let refused = || Error::invalid("accounts.error.reset_token_invalid");
    if token.len() > tokens::MAX_TOKEN_CHARS {
        return Err(refused());
    }
    let digest = tokens::digest(token);
    let live: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM password_resets
                         WHERE token_hash = $1 AND used_at IS NULL
                           AND created_at > now() - make_interval(mins => $2::int))",
    )
    .bind(&digest)
    .bind(VALID_MINUTES)
    .fetch_one(db)
    .await?;
    if !live {
        return Err(refused());
    }
    let hash = password::hash(new_password).await?;
    let mut tx = db.begin().await?;
    let user: Option<UserId> = sqlx::query_scalar(
        "UPDATE password_resets SET used_at = now()
         WHERE token_hash = $1 AND used_at IS NULL
           AND created_at > now() - make_interval(mins => $2::int)
         RETURNING user_id",
    )
    .bind(&digest)
    .bind(VALID_MINUTES)
    .fetch_optional(&mut *tx)
    .await?;
    let user = user.ok_or_else(refused)?;
    let updated =
        sqlx::query("UPDATE users SET password_hash = $2 WHERE id = $1 AND deleted_at IS NULL")
            .bind(user)
            .bind(hash)
            .execute(&mut *tx)
            .await?;
    if updated.rows_affected() == 0 {
        return Err(refused());
    }
    use_up_tokens(&mut tx, user).await?;
    super::sessions::revoke_all(&mut tx, user, None).await?;
    tx.commit().await?;
    Ok(user)
}

/// Marks every unused reset token of `user` used: once the password or the address changed,
/// a link mailed earlier must not set the password again.
pub async fn use_up_tokens(conn: &mut PgConnection, user: UserId) -> Result<()> {
    sqlx::query(
        "UPDATE password_resets SET used_at = now() WHERE user_id = $1 AND used_at IS NULL",
    )
    .bind(user)
    .execute(&mut *conn)
    .await?;
    Ok(())
}
