//! What an investor holds: the shares of each company (a funded equity offering) from the
//! settlement room's register (`share_lots`), what they cost, and how many are past the lock-up
//! (`SECONDARY_LOCKUP_DAYS` from issue) and so may be offered in an auction.

use rust_decimal::Decimal;
use serde::Serialize;
use sqlx::PgPool;
use time::OffsetDateTime;

use crate::error::Result;
use crate::ids::{ProjectId, UserId};

/// Most companies one holdings list shows.
pub const MAX_HOLDINGS: i64 = 500;

/// One company's shares held by one investor.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Holding {
    #[schema(value_type = String, format = Uuid)]
    pub project_id: ProjectId,
    /// The company's page is `/projects/{slug}`.
    pub slug: String,
    pub company: String,
    pub currency: String,
    pub shares: i64,
    /// What the shares cost when they were issued, two decimals.
    #[schema(value_type = String, example = "300.00")]
    pub cost: Decimal,
    /// Shares past the lock-up: those an auction may sell.
    pub sellable_shares: i64,
    /// When the last locked shares may be sold; absent when none are locked.
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub locked_until: Option<OffsetDateTime>,
    /// The last auction's clearing price; absent until an auction of the company has cleared.
    #[schema(value_type = Option<String>, example = "12.50")]
    pub last_price: Option<Decimal>,
}

/// The holdings of `holder`, companies by name, shares locked for `lockup_days` from issue.
pub async fn holdings(db: &PgPool, holder: UserId, lockup_days: u32) -> Result<Vec<Holding>> {
    Ok(sqlx::query_as(
        "WITH lots AS (
             SELECT project_id, shares, price_per_share,
                    issued_at + make_interval(days => $2) AS free_at
               FROM share_lots WHERE holder_id = $1
         )
         SELECT l.project_id, h.slug, h.title AS company, h.currency,
                sum(l.shares)::int8 AS shares,
                sum(l.shares * l.price_per_share)::numeric(20, 2) AS cost,
                coalesce(sum(l.shares) FILTER (WHERE l.free_at <= now()), 0)::int8 AS sellable_shares,
                max(l.free_at) FILTER (WHERE l.free_at > now()) AS locked_until,
                NULL::numeric(20, 2) AS last_price
           FROM lots l JOIN project_headlines h ON h.id = l.project_id
          GROUP BY l.project_id, h.slug, h.title, h.currency
          ORDER BY h.title, l.project_id
          LIMIT $3",
    )
    .bind(holder)
    .bind(i32::try_from(lockup_days).unwrap_or(i32::MAX))
    .bind(MAX_HOLDINGS)
    .fetch_all(db)
    .await?)
}
