//! Pledges: a backer puts money behind a reward tier or commits to equity shares, changes or
//! cancels it inside the window, and settlement later collects or refunds it.
//!
//! Each pledge, change and cancellation is made in one database transaction that claims capacity
//! (tier unit, shares), moves the money between the backer's wallet and the project's escrow,
//! records the pledge and updates the project's totals; an answer is given only after it commits.
//! New pledges go through the [`Desk`], which makes those waiting for one project together.
//!
//! The domain (this module and its files but `web/`) knows nothing of HTTP; `web/` holds the
//! pages and the API on top of it.

pub mod backers;
pub mod change;
pub mod chart;
mod create;
pub mod desk;
pub mod extras;
mod investors;
pub mod limits;
pub mod lists;
pub mod request;
pub mod settle;
mod tx;
pub mod web;

use rust_decimal::Decimal;
use serde::Serialize;
use sqlx::{PgConnection, PgExecutor, PgPool};
use time::OffsetDateTime;

use crate::error::Result;
use crate::ids::{ProjectId, TierId, UserId};
use crate::projects::shipping::Region;

pub use change::{cancel, change, change_window_end, PledgeChange, EQUITY_CHANGE_CUTOFF};
pub use desk::Desk;
pub use investors::{check_investor_limit, declared_profile, InvestorProfile};
pub use lists::{active_pledge_of, for_backer, PledgeView};
pub use request::{Created, EquityRequest, PledgeRequest, RequestKey};

pub use crate::ids::PledgeId;

/// Where a pledge is: `active -> cancelled | collected | refunded`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, sqlx::Type, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
#[sqlx(type_name = "text", rename_all = "snake_case")]
pub enum PledgeState {
    Active,
    Cancelled,
    Collected,
    Refunded,
}

impl PledgeState {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            PledgeState::Active => "active",
            PledgeState::Cancelled => "cancelled",
            PledgeState::Collected => "collected",
            PledgeState::Refunded => "refunded",
        }
    }
}

/// A pledge as stored.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Pledge {
    #[schema(value_type = String, format = Uuid)]
    pub id: PledgeId,
    #[schema(value_type = String, format = Uuid)]
    pub project_id: ProjectId,
    #[schema(value_type = String, format = Uuid)]
    pub backer_id: UserId,
    #[schema(value_type = Option<String>, format = Uuid)]
    pub tier_id: Option<TierId>,
    #[schema(value_type = String, example = "128.00")]
    #[serde(with = "rust_decimal::serde::str")]
    pub amount: Decimal,
    pub shares: Option<i64>,
    pub currency: String,
    pub state: PledgeState,
    /// Where its reward ships (a tier that ships only).
    pub shipping_region: Option<Region>,
    /// How much of `amount` is shipping.
    #[schema(value_type = String, example = "12.00")]
    #[serde(with = "rust_decimal::serde::str")]
    pub shipping_price: Decimal,
    /// How much of `amount` is add-ons.
    #[schema(value_type = String, example = "25.00")]
    #[serde(with = "rust_decimal::serde::str")]
    pub addons_price: Decimal,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: OffsetDateTime,
}

/// The columns of [`Pledge`], for `SELECT` and `RETURNING`.
const PLEDGE_COLUMNS: &str = "id, project_id, backer_id, tier_id, amount, shares, currency, \
     state, shipping_region, shipping_price, addons_price, created_at, updated_at";

impl Pledge {
    /// The reward part of the amount: the tier's price and any extra, without add-ons and
    /// shipping (what a change's amount replaces).
    pub fn reward_part(&self) -> Decimal {
        self.amount - self.addons_price - self.shipping_price
    }
}

/// A pledge by id.
pub async fn find<'e>(db: impl PgExecutor<'e>, id: PledgeId) -> Result<Option<Pledge>> {
    Ok(sqlx::query_as(&format!(
        "SELECT {PLEDGE_COLUMNS} FROM pledges WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(db)
    .await?)
}

/// Whether `backer` has pledged to `project` (and not cancelled): who may read backers-only
/// updates.
pub async fn has_backed(db: &PgPool, backer: UserId, project: ProjectId) -> Result<bool> {
    Ok(sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM pledges
                         WHERE backer_id = $1 AND project_id = $2 AND state <> 'cancelled')",
    )
    .bind(backer)
    .bind(project)
    .fetch_one(db)
    .await?)
}

/// How many of `backer`'s pledges are still active (money held in escrow for them).
pub async fn active_count(conn: &mut PgConnection, backer: UserId) -> Result<i64> {
    Ok(
        sqlx::query_scalar(
            "SELECT count(*) FROM pledges WHERE backer_id = $1 AND state = 'active'",
        )
        .bind(backer)
        .fetch_one(&mut *conn)
        .await?,
    )
}

/// Deletes the shipping addresses of `backer`'s pledges (personal data of a deleted account).
pub async fn forget_addresses_of(conn: &mut PgConnection, backer: UserId) -> Result<()> {
    sqlx::query(
        "DELETE FROM pledge_addresses
         WHERE pledge_id IN (SELECT id FROM pledges WHERE backer_id = $1)",
    )
    .bind(backer)
    .execute(&mut *conn)
    .await?;
    Ok(())
}
