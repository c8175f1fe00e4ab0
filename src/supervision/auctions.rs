//! The regulator halts an auction window, or freezes a company's trading (halting its unfinished
//! windows until it is unfrozen): nothing halted trades, and each action is recorded (the trail
//! row and the `supervision` ledger entry) with its effect, in one transaction.

use sqlx::PgPool;

use super::record::{self, Record, Subject};
use crate::accounts::AuthUser;
use crate::error::Result;
use crate::ids::{AuctionId, ProjectId};
use crate::ledger::Ledger;
use crate::market::auctions::{self, Auction};
use crate::market::freezes;

/// The action's name on the trail and in the ledger entry.
pub const ACTION: &str = "halt_auction";

pub use super::record::reason;

/// Halts the auction `id` for `reason` (checked with [`reason`]) as `regulator`.
pub async fn halt(
    db: &PgPool,
    ledger: &Ledger,
    regulator: &AuthUser,
    id: AuctionId,
    reason: &str,
) -> Result<Auction> {
    let mut tx = db.begin().await?;
    let halted = auctions::halt(&mut tx, id, reason).await?;
    record::record(
        &mut tx,
        ledger,
        Record {
            action: ACTION,
            regulator: regulator.user.id,
            reason,
            subject: Subject::Auction {
                project: halted.project_id,
                auction: id,
            },
            fields: serde_json::Map::new(),
            parties: Vec::new(),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(halted)
}

/// Freezes the trading of the company `project` for `reason` as `regulator`: its unfinished
/// windows are halted, none may be scheduled, no order placed. Returns how many were halted.
pub async fn freeze_trading(
    db: &PgPool,
    ledger: &Ledger,
    regulator: &AuthUser,
    project: ProjectId,
    reason: &str,
) -> Result<u64> {
    let mut tx = db.begin().await?;
    let halted = freezes::freeze(db, &mut tx, project, reason).await?;
    record_company(
        &mut tx,
        ledger,
        regulator,
        "freeze_trading",
        project,
        reason,
    )
    .await?;
    tx.commit().await?;
    Ok(halted)
}

/// Lets the company `project` trade again (windows halted by the freeze stay halted).
pub async fn unfreeze_trading(
    db: &PgPool,
    ledger: &Ledger,
    regulator: &AuthUser,
    project: ProjectId,
    reason: &str,
) -> Result<()> {
    let mut tx = db.begin().await?;
    freezes::unfreeze(&mut tx, project).await?;
    record_company(
        &mut tx,
        ledger,
        regulator,
        "unfreeze_trading",
        project,
        reason,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

async fn record_company(
    conn: &mut sqlx::PgConnection,
    ledger: &Ledger,
    regulator: &AuthUser,
    action: &str,
    project: ProjectId,
    reason: &str,
) -> Result<()> {
    record::record(
        conn,
        ledger,
        Record {
            action,
            regulator: regulator.user.id,
            reason,
            subject: Subject::Company(project),
            fields: serde_json::Map::new(),
            parties: Vec::new(),
        },
    )
    .await?;
    Ok(())
}
