//! What a user sets about themselves (name, time zone, language, bio, whether their backed
//! projects are public, the founder role), what anyone may read of them (the profile), and the
//! deletion of an account into a tombstone.

use serde::Serialize;
use sqlx::{PgConnection, PgPool};
use time::OffsetDateTime;

use super::domain::DisplayName;
use crate::error::{Error, Result};
use crate::i18n::format::Zone;
use crate::i18n::Lang;
use crate::ids::UserId;

/// Longest bio, in characters.
pub const BIO_MAX_CHARS: usize = 500;

/// A short text about oneself: at most 500 characters, no control characters but line breaks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bio(String);

impl Bio {
    /// Trims `raw` and checks its length and characters.
    pub fn parse(raw: &str) -> Result<Self> {
        let text = raw.trim();
        if text.chars().count() > BIO_MAX_CHARS {
            return Err(Error::invalid("accounts.error.bio_long"));
        }
        let bad = |c: char| {
            (c.is_control() && c != '\n' && c != '\r') || super::domain::is_bidi_control(c)
        };
        if text.chars().any(bad) {
            return Err(Error::invalid("accounts.error.bio_characters"));
        }
        Ok(Bio(text.replace("\r\n", "\n")))
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A change to one's own account; each field left `None` stays as it is.
#[derive(Debug, Default)]
pub struct Changes {
    pub display_name: Option<DisplayName>,
    /// `Some(None)`: back to the default of the language.
    pub time_zone: Option<Option<Zone>>,
    pub language: Option<Lang>,
    pub bio: Option<Bio>,
    pub backed_public: Option<bool>,
    /// Only `true` does anything: the founder role, once taken, stays.
    pub become_founder: bool,
}

/// Applies `changes` to `user` in one statement.
pub async fn update(db: &PgPool, user: UserId, changes: &Changes) -> Result<()> {
    sqlx::query(
        "UPDATE users SET
            display_name = coalesce($2, display_name),
            time_zone = CASE WHEN $3 THEN $4 ELSE time_zone END,
            language = coalesce($5, language),
            bio = coalesce($6, bio),
            backed_public = coalesce($7, backed_public),
            roles = CASE WHEN $8 AND NOT 'founder' = ANY(roles)
                         THEN array_append(roles, 'founder') ELSE roles END
         WHERE id = $1 AND deleted_at IS NULL",
    )
    .bind(user)
    .bind(changes.display_name.as_ref().map(DisplayName::as_str))
    .bind(changes.time_zone.is_some())
    .bind(
        changes
            .time_zone
            .as_ref()
            .and_then(|z| z.as_ref().map(Zone::name)),
    )
    .bind(changes.language.map(Lang::code))
    .bind(changes.bio.as_ref().map(Bio::as_str))
    .bind(changes.backed_public)
    .bind(changes.become_founder)
    .execute(db)
    .await?;
    Ok(())
}

/// Stores the language `user` reads (the site's language they chose).
pub async fn set_language(db: &PgPool, user: UserId, lang: Lang) -> Result<()> {
    update(
        db,
        user,
        &Changes {
            language: Some(lang),
            ..Changes::default()
        },
    )
    .await
}

/// The language `user` reads (Chinese for an unknown account).
pub async fn language(db: &PgPool, user: UserId) -> Result<Lang> {
    let code: Option<String> = sqlx::query_scalar("SELECT language FROM users WHERE id = $1")
        .bind(user)
        .fetch_optional(db)
        .await?;
    Ok(code
        .as_deref()
        .and_then(Lang::from_code)
        .unwrap_or(Lang::Zh))
}

/// What anyone may read of a user.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Profile {
    #[schema(value_type = String, format = Uuid)]
    pub id: UserId,
    pub display_name: String,
    pub bio: String,
    /// Whether the user lets anyone see the projects they backed.
    pub backed_public: bool,
    /// When a regulator verified the person's identity.
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub identity_verified_at: Option<OffsetDateTime>,
    /// Whether the user has an avatar (served at `/u/{id}/avatar`).
    pub has_avatar: bool,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
}

/// The profile of `user`; `None` for an unknown or deleted account.
pub async fn public(db: &PgPool, user: UserId) -> Result<Option<Profile>> {
    Ok(sqlx::query_as(
        "SELECT u.id, u.display_name, u.bio, u.backed_public, u.identity_verified_at,
                EXISTS (SELECT 1 FROM user_avatars a WHERE a.user_id = u.id) AS has_avatar,
                u.created_at
         FROM users u WHERE u.id = $1 AND u.deleted_at IS NULL",
    )
    .bind(user)
    .fetch_optional(db)
    .await?)
}

/// Marks `user`'s identity verified, in the caller's transaction (the regulator's action is
/// recorded beside it). `None` when there is no such account or it was verified already.
pub async fn mark_identity_verified(
    conn: &mut PgConnection,
    user: UserId,
) -> Result<Option<OffsetDateTime>> {
    Ok(sqlx::query_scalar(
        "UPDATE users SET identity_verified_at = now()
         WHERE id = $1 AND deleted_at IS NULL AND identity_verified_at IS NULL
         RETURNING identity_verified_at",
    )
    .bind(user)
    .fetch_optional(&mut *conn)
    .await?)
}

/// The name a deleted account shows where money and ledger references still name it.
pub const DELETED_NAME: &str = "—";

/// Deletes `user`'s personal data: e-mail, name, bio, avatar, password hash, sessions, pending
/// resets and e-mail changes. The row stays as a tombstone so pledges, journal entries and
/// ledger commitments still refer to something.
pub async fn delete(conn: &mut PgConnection, user: UserId) -> Result<()> {
    let done = sqlx::query(
        "UPDATE users SET email = 'deleted:' || id::text, display_name = $2, bio = '',
                password_hash = '', time_zone = NULL, backed_public = false, deleted_at = now()
         WHERE id = $1 AND deleted_at IS NULL",
    )
    .bind(user)
    .bind(DELETED_NAME)
    .execute(&mut *conn)
    .await?;
    if done.rows_affected() == 0 {
        return Err(Error::NotFound);
    }
    for statement in [
        "DELETE FROM user_avatars WHERE user_id = $1",
        "DELETE FROM password_resets WHERE user_id = $1",
        "DELETE FROM email_changes WHERE user_id = $1",
        "UPDATE sessions SET revoked_at = now(), user_agent = NULL
         WHERE user_id = $1",
    ] {
        sqlx::query(statement)
            .bind(user)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bio_keeps_line_breaks_and_refuses_other_control_characters() {
        assert_eq!(
            Bio::parse(" Tea\r\nfarmer ").unwrap().as_str(),
            "Tea\nfarmer"
        );
        assert!(Bio::parse("bell\u{7}").is_err());
        assert!(Bio::parse("\u{202e}evil").is_err());
    }

    #[test]
    fn a_bio_is_at_most_500_characters() {
        assert!(Bio::parse(&"茶".repeat(500)).is_ok());
        assert!(Bio::parse(&"茶".repeat(501)).is_err());
    }
}
