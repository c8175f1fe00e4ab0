//! Changing one's e-mail address: the new address gets a link, and the account's address
//! changes only when that link is opened (so nobody moves an account to an address they do not
//! hold). The caller queues the mail in the same transaction as the token.

use sqlx::PgConnection;

use super::domain::Email;
use super::throttle::Refused;
use super::tokens;
use crate::error::Result;
use crate::error::{Error, ResultExt};
use crate::ids::UserId;

/// How long a confirmation link stays valid.
pub const VALID_HOURS: i32 = 24;

/// Records a pending change of `user`'s address to `new_email` and returns the link's token.
/// An address another account holds is refused now (and again when the link is opened).
pub async fn request(conn: &mut PgConnection, user: UserId, new_email: &Email) -> Result<String> {
    let taken: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM users WHERE lower(email) = $1)")
            .bind(new_email.as_str())
            .fetch_one(&mut *conn)
            .await?;
    if taken {
        return Err(Error::conflict("accounts.error.email_taken"));
    }
    let (token, hash) = tokens::fresh();
    sqlx::query("INSERT INTO email_changes (token_hash, user_id, new_email) VALUES ($1, $2, $3)")
        .bind(hash)
        .bind(user)
        .bind(new_email.as_str())
        .execute(&mut *conn)
        .await?;
    Ok(token)
}

/// The new addresses of `user`'s changes not confirmed yet (letters to them may still wait).
pub async fn pending_addresses(conn: &mut PgConnection, user: UserId) -> Result<Vec<String>> {
    Ok(sqlx::query_scalar(
        "SELECT new_email FROM email_changes WHERE user_id = $1 AND used_at IS NULL",
    )
    .bind(user)
    .fetch_all(&mut *conn)
    .await?)
}

/// Most changes one account may ask for in an hour (each mails a letter to an address of the
/// asker's choosing).
pub const MAX_PER_HOUR: i64 = 3;

/// Refuses a change when `user` asked for [`MAX_PER_HOUR`] in the last hour, saying when the
/// oldest of them ages out, in the caller's transaction (which then records the change): an
/// advisory lock per user makes concurrent requests count one after the other.
pub async fn admit(conn: &mut PgConnection, user: UserId) -> Result<(), Refused> {
    sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended('zhonglian/email/' || $1, 0))")
        .bind(user.0.to_string())
        .execute(&mut *conn)
        .await
        .map_err(Error::from)?;
    // The MAX_PER_HOUR-th newest request of the hour is the one whose ageing out lets the next in.
    let wait: Option<i64> = sqlx::query_scalar(
        "SELECT ceil(extract(epoch FROM created_at + interval '1 hour' - now()))::bigint
         FROM email_changes
         WHERE user_id = $1 AND created_at > now() - interval '1 hour'
         ORDER BY created_at DESC OFFSET $2 LIMIT 1",
    )
    .bind(user)
    .bind(MAX_PER_HOUR - 1)
    .fetch_optional(&mut *conn)
    .await
    .map_err(Error::from)?;
    match wait {
        Some(wait) => Err(Refused::too_many(
            "accounts.error.email_change_rate_limited",
            wait,
        )),
        None => Ok(()),
    }
}

/// A confirmed change: whose, and the address it replaced (told of the change).
pub struct Changed {
    pub user: UserId,
    pub old_email: String,
    pub language: String,
}

/// Opens a confirmation link in the caller's transaction: the token is used up, the account
/// takes the new address and its other reset links are used up.
pub async fn confirm(conn: &mut PgConnection, token: &str) -> Result<Changed> {
    if token.len() > tokens::MAX_TOKEN_CHARS {
        return Err(Error::invalid("accounts.error.email_token_invalid"));
    }
    let pending: Option<(UserId, String)> = sqlx::query_as(
        "UPDATE email_changes SET used_at = now()
         WHERE token_hash = $1 AND used_at IS NULL
           AND created_at > now() - make_interval(hours => $2::int)
         RETURNING user_id, new_email",
    )
    .bind(tokens::digest(token))
    .bind(VALID_HOURS)
    .fetch_optional(&mut *conn)
    .await?;
    let (user, email) =
        pending.ok_or_else(|| Error::invalid("accounts.error.email_token_invalid"))?;
    let old: Option<(String, String)> = sqlx::query_as(
        "SELECT email, language FROM users WHERE id = $1 AND deleted_at IS NULL FOR UPDATE",
    )
    .bind(user)
    .fetch_optional(&mut *conn)
    .await?;
    let (old_email, language) =
        old.ok_or_else(|| Error::invalid("accounts.error.email_token_invalid"))?;
    sqlx::query("UPDATE users SET email = $2 WHERE id = $1")
        .bind(user)
        .bind(&email)
        .execute(&mut *conn)
        .await
        .on_constraint("users_email_key", |_| {
            Error::conflict("accounts.error.email_taken")
        })?;
    super::reset::use_up_tokens(conn, user).await?;
    Ok(Changed {
        user,
        old_email,
        language,
    })
}
