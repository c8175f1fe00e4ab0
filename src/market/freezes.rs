//! Companies whose trading the regulator froze: their unfinished windows are halted at once (so
//! nothing in them trades and every hold returns), no window may be scheduled and no order
//! placed until the regulator unfreezes them. The supervision room records both actions.

use sqlx::{PgConnection, PgPool};

use crate::error::{Error, Result};
use crate::ids::ProjectId;
use crate::projects::{repo, ProjectKind, ProjectState};

/// Freezes the trading of `project` (a funded equity offering) for `reason` in the caller's
/// transaction; returns how many windows it halted. Refused when already frozen.
pub async fn freeze(
    db: &PgPool,
    conn: &mut PgConnection,
    project: ProjectId,
    reason: &str,
) -> Result<u64> {
    let company = repo::find(db, project).await?.ok_or(Error::NotFound)?;
    if company.kind != ProjectKind::Equity || company.state != ProjectState::Funded {
        return Err(Error::invalid("market.error.not_a_company"));
    }
    // The scheduler's lock: a window scheduled at the same instant sees the freeze or is halted.
    sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended('auctions:' || $1::text, 0))")
        .bind(project)
        .execute(&mut *conn)
        .await?;
    let frozen = sqlx::query(
        "INSERT INTO trading_freezes (project_id, reason) VALUES ($1, $2)
         ON CONFLICT (project_id) DO NOTHING",
    )
    .bind(project)
    .bind(reason)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if frozen == 0 {
        return Err(Error::conflict("market.error.already_frozen"));
    }
    Ok(sqlx::query(
        "UPDATE auctions SET halted_at = now(), halt_reason = $2
          WHERE project_id = $1 AND halted_at IS NULL AND cleared_at IS NULL",
    )
    .bind(project)
    .bind(reason)
    .execute(&mut *conn)
    .await?
    .rows_affected())
}

/// Lets `project` trade again, in the caller's transaction. Refused when it is not frozen.
pub async fn unfreeze(conn: &mut PgConnection, project: ProjectId) -> Result<()> {
    let lifted = sqlx::query("DELETE FROM trading_freezes WHERE project_id = $1")
        .bind(project)
        .execute(&mut *conn)
        .await?
        .rows_affected();
    if lifted == 0 {
        return Err(Error::conflict("market.error.not_frozen"));
    }
    Ok(())
}

/// Whether the trading of `project` is frozen.
pub async fn is_frozen(conn: &mut PgConnection, project: ProjectId) -> Result<bool> {
    Ok(
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM trading_freezes WHERE project_id = $1)")
            .bind(project)
            .fetch_one(&mut *conn)
            .await?,
    )
}
