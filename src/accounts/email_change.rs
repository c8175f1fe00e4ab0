//! Changing one's e-mail address: the new address gets a link, and the account's address
//! changes only when that link is opened (so nobody moves an account to an address they do not
//! hold). The caller queues the mail in the same transaction as the token.

use sqlx::{PgConnection, PgPool};

use super::domain::Email;
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

/// Opens a confirmation link: the token is used up and the account takes the new address.
pub async fn confirm(db: &PgPool, token: &str) -> Result<UserId> {
    if token.len() > tokens::MAX_TOKEN_CHARS {
        return Err(Error::invalid("accounts.error.email_token_invalid"));
    }
    let mut tx = db.begin().await?;
    let pending: Option<(UserId, String)> = sqlx::query_as(
        "UPDATE email_changes SET used_at = now()
         WHERE token_hash = $1 AND used_at IS NULL
           AND created_at > now() - make_interval(hours => $2::int)
         RETURNING user_id, new_email",
    )
    .bind(tokens::digest(token))
    .bind(VALID_HOURS)
    .fetch_optional(&mut *tx)
    .await?;
    let (user, email) =
        pending.ok_or_else(|| Error::invalid("accounts.error.email_token_invalid"))?;
    let done = sqlx::query("UPDATE users SET email = $2 WHERE id = $1 AND deleted_at IS NULL")
        .bind(user)
        .bind(&email)
        .execute(&mut *tx)
        .await
        .on_constraint("users_email_key", |_| {
            Error::conflict("accounts.error.email_taken")
        })?;
    if done.rows_affected() == 0 {
        return Err(Error::invalid("accounts.error.email_token_invalid"));
    }
    super::reset::use_up_tokens(&mut tx, user).await?;
    tx.commit().await?;
    Ok(user)
}
