//! A user's sessions: the list of where they are signed in, logging out everywhere, and
//! changing the password (which ends every other session).

use serde::Serialize;
use sqlx::{PgConnection, PgPool};
use time::OffsetDateTime;

use super::domain::Password;
use super::password;
use super::throttle::{self, Refused};
use crate::error::{Error, Message, Result};
use crate::ids::{SessionId, UserId};

/// Most sessions a list shows (newest first).
pub const LIST_LIMIT: i64 = 100;

/// One open session as its owner sees it.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct SessionInfo {
    #[schema(value_type = String, format = Uuid)]
    pub id: SessionId,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub expires_at: OffsetDateTime,
    /// The browser or client that opened it, as it named itself (at most 200 characters).
    pub user_agent: Option<String>,
    /// Whether this is the session of the request that asked.
    #[sqlx(default)]
    pub current: bool,
}

/// The open sessions of `user`, newest first; `current` marks the asking one.
pub async fn list(db: &PgPool, user: UserId, current: SessionId) -> Result<Vec<SessionInfo>> {
    Ok(sqlx::query_as(
        "SELECT id, created_at, expires_at, user_agent, id = $2 AS current FROM sessions
         WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > now()
         ORDER BY created_at DESC, id LIMIT $3",
    )
    .bind(user)
    .bind(current)
    .bind(LIST_LIMIT)
    .fetch_all(db)
    .await?)
}

/// Ends every session of `user` but `keep` (all of them when `keep` is `None`).
pub async fn revoke_all(
    conn: &mut PgConnection,
    user: UserId,
    keep: Option<SessionId>,
) -> Result<u64> {
    let done = sqlx::query(
        "UPDATE sessions SET revoked_at = now()
         WHERE user_id = $1 AND revoked_at IS NULL AND id IS DISTINCT FROM $2",
    )
    .bind(user)
    .bind(keep)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected())
}

/// Logs `user` out everywhere (this session too).
pub async fn log_out_everywhere(db: &PgPool, user: UserId) -> Result<u64> {
    let mut conn = db.acquire().await?;
    revoke_all(&mut conn, user, None).await
}

/// Whether `candidate` is the current password of `user` (a deleted account has none).
pub async fn check_password(db: &PgPool, user: UserId, candidate: String) -> Result<bool> {
    if candidate.len() > Password::MAX_BYTES {
        return Ok(false);
    }
    let stored: Option<String> =
        sqlx::query_scalar("SELECT password_hash FROM users WHERE id = $1 AND deleted_at IS NULL")
            .bind(user)
            .fetch_optional(db)
            .await?;
    password::verify(candidate, stored).await
}

/// Checks that `candidate` is `user`'s current password, counted in the log-in limits (see
/// [`throttle::admit_password_check`]): a wrong one is a failure of the account, a right one is
/// forgotten.
pub async fn confirm_password(
    db: &PgPool,
    user: UserId,
    candidate: String,
) -> std::result::Result<(), Refused> {
    let wrong = || Error::Invalid(Message::Key("accounts.error.current_password_wrong"));
    let email: Option<String> =
        sqlx::query_scalar("SELECT lower(email) FROM users WHERE id = $1 AND deleted_at IS NULL")
            .bind(user)
            .fetch_optional(db)
            .await
            .map_err(Error::from)?;
    let Some(email) = email else {
        return Err(wrong().into());
    };
    let admitted = throttle::admit_password_check(db, &email).await?;
    match check_password(db, user, candidate).await {
        Ok(true) => {
            throttle::forget(db, admitted).await?;
            Ok(())
        }
        Ok(false) => Err(wrong().into()),
        // The password could not be checked (hashing busy): not a failure.
        Err(e) => {
            throttle::forget(db, admitted).await?;
            Err(e.into())
        }
    }
}

/// Changes the password of `user` when `current` is right, and ends every other session
/// (`keep` stays signed in).
pub async fn change_password(
    db: &PgPool,
    user: UserId,
    keep: SessionId,
    current: String,
    new_password: Password,
) -> std::result::Result<(), Refused> {
    confirm_password(db, user, current).await?;
    Ok(set_password(db, user, keep, new_password).await?)
}

/// Stores `user`'s new password, uses up their reset links and ends every session but `keep`.
async fn set_password(
    db: &PgPool,
    user: UserId,
    keep: SessionId,
    new_password: Password,
) -> Result<()> {
    let hash = password::hash(new_password).await?;
    let mut tx = db.begin().await?;
    sqlx::query("UPDATE users SET password_hash = $2 WHERE id = $1")
        .bind(user)
        .bind(hash)
        .execute(&mut *tx)
        .await?;
    super::reset::use_up_tokens(&mut tx, user).await?;
    revoke_all(&mut tx, user, Some(keep)).await?;
    tx.commit().await?;
    Ok(())
}
