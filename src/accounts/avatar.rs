//! Avatars: a small image per user, recognised by its first bytes (never by the name or type
//! the browser sent), stored beside the account and served with caching.

use sqlx::PgPool;
use time::OffsetDateTime;

use crate::error::{Error, Result};
use crate::ids::UserId;

/// The largest avatar accepted (the database holds the same limit).
pub const MAX_AVATAR_BYTES: usize = 1024 * 1024;

/// The content type of a PNG, JPEG or WebP image, from its magic bytes (an avatar is never
/// animated, so a GIF is refused).
pub fn sniff(bytes: &[u8]) -> Option<&'static str> {
    crate::images::sniff(bytes).filter(|kind| *kind != "image/gif")
}

/// An accepted avatar: an image of a known type, at most [`MAX_AVATAR_BYTES`].
pub struct Avatar {
    pub content_type: &'static str,
    pub bytes: Vec<u8>,
}

impl Avatar {
    /// Accepts `bytes`: a 413 over [`MAX_AVATAR_BYTES`], a 422 for anything that is not a PNG,
    /// JPEG or WebP image.
    pub fn parse(bytes: Vec<u8>) -> Result<Self> {
        if bytes.len() > MAX_AVATAR_BYTES {
            return Err(Error::TooLarge);
        }
        let content_type =
            sniff(&bytes).ok_or_else(|| Error::invalid("accounts.error.avatar_type"))?;
        Ok(Avatar {
            content_type,
            bytes,
        })
    }
}

/// A stored avatar and when it last changed (for `Last-Modified` and the cache).
pub struct Stored {
    pub content_type: String,
    pub bytes: Vec<u8>,
    pub updated_at: OffsetDateTime,
}

/// Stores (or replaces) `user`'s avatar.
pub async fn save(db: &PgPool, user: UserId, avatar: &Avatar) -> Result<()> {
    sqlx::query(
        "INSERT INTO user_avatars (user_id, content_type, bytes)
         SELECT id, $2, $3 FROM users WHERE id = $1 AND deleted_at IS NULL
         ON CONFLICT (user_id) DO UPDATE
            SET content_type = EXCLUDED.content_type, bytes = EXCLUDED.bytes, updated_at = now()",
    )
    .bind(user)
    .bind(avatar.content_type)
    .bind(&avatar.bytes)
    .execute(db)
    .await?;
    Ok(())
}

/// The avatar of `user`, if they have one.
pub async fn load(db: &PgPool, user: UserId) -> Result<Option<Stored>> {
    let row: Option<(String, Vec<u8>, OffsetDateTime)> = sqlx::query_as(
        "SELECT content_type, bytes, updated_at FROM user_avatars WHERE user_id = $1",
    )
    .bind(user)
    .fetch_optional(db)
    .await?;
    Ok(row.map(|(content_type, bytes, updated_at)| Stored {
        content_type,
        bytes,
        updated_at,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_avatar_is_refused_when_too_large_or_not_an_image() {
        let mut big = b"\x89PNG\r\n\x1a\n".to_vec();
        big.resize(MAX_AVATAR_BYTES + 1, 0);
        assert!(matches!(Avatar::parse(big), Err(Error::TooLarge)));
        assert!(matches!(
            Avatar::parse(b"<svg onload=alert(1)>".to_vec()),
            Err(Error::Invalid(_))
        ));
        assert_eq!(
            Avatar::parse(vec![0xFF, 0xD8, 0xFF, 0xE0])
                .map(|a| a.content_type)
                .ok(),
            Some("image/jpeg")
        );
    }
}
