//! What a user sets for themselves: for now, the time zone they read times in.

use sqlx::PgPool;

use crate::error::{Error, Result};
use crate::i18n::format::Zone;
use crate::ids::UserId;

/// Stores the zone `user` reads times in: `None` for the default of their language, or an IANA
/// name the time-zone database knows (anything else is refused, `settings.unknown_zone`).
pub async fn set_time_zone(db: &PgPool, user: UserId, zone: Option<&str>) -> Result<()> {
    let zone = zone
        .map(|name| Zone::named(name).ok_or_else(|| Error::invalid("settings.unknown_zone")))
        .transpose()?;
    sqlx::query("UPDATE users SET time_zone = $2 WHERE id = $1")
        .bind(user)
        .bind(zone.as_ref().map(Zone::name))
        .execute(db)
        .await?;
    Ok(())
}
