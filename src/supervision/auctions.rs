//! The regulator halts an auction window: nothing in it trades, and the action is recorded (the
//! trail row and the `supervision` ledger entry) with the window's halt, in one transaction.

use sqlx::PgPool;

use super::record::{self, Record, Subject};
use crate::accounts::AuthUser;
use crate::error::Result;
use crate::ids::AuctionId;
use crate::ledger::Ledger;
use crate::market::auctions::{self, Auction};

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
