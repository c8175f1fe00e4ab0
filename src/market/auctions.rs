//! Auction windows: the issuer of a funded equity offering schedules when its shares trade, one
//! window at a time; the regulator may halt a window before it clears (see
//! `supervision::auctions`). A window's state follows from the clock and from what happened to
//! it: scheduled, open, closed (waiting to be cleared), halted or cleared.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use sqlx::{PgConnection, PgPool};
use time::OffsetDateTime;

use crate::error::{Error, Result};
use crate::ids::{AuctionId, ProjectId, UserId};
use crate::projects::{repo, ProjectKind, ProjectState};

/// Longest window.
pub const MAX_WINDOW: time::Duration = time::Duration::days(31);
/// Furthest ahead a window may open.
pub const MAX_AHEAD: time::Duration = time::Duration::days(366);
/// Most windows of one company listed at once.
pub const MAX_LISTED: i64 = 100;

/// Where a window stands now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AuctionState {
    /// Before `opens_at`.
    Scheduled,
    /// Taking orders.
    Open,
    /// Past `closes_at`, not cleared yet.
    Closed,
    /// Stopped by the regulator: nothing trades.
    Halted,
    Cleared,
}

/// One auction window.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Auction {
    #[schema(value_type = String, format = Uuid)]
    pub id: AuctionId,
    /// The company: its funded equity offering.
    #[schema(value_type = String, format = Uuid)]
    pub project_id: ProjectId,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub opens_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub closes_at: OffsetDateTime,
    pub state: AuctionState,
    /// The regulator's reason, when halted.
    pub halt_reason: Option<String>,
    /// The price clearing prefers among ties (the last clearing price, or the offering's price
    /// per share), once cleared.
    #[schema(value_type = Option<String>, example = "10.00")]
    pub reference_price: Option<Decimal>,
    /// The one price every trade was made at; absent when nothing crossed.
    #[schema(value_type = Option<String>, example = "11.00")]
    pub clearing_price: Option<Decimal>,
    /// Shares traded, once cleared.
    pub volume: Option<i64>,
    /// Orders in the published book, once cleared.
    pub book_size: Option<i64>,
    /// The Merkle root of the published book (hex), as in the `auction_cleared` ledger entry.
    pub book_root: Option<String>,
    /// Whether its trades have settled and its orders let go of their holds.
    pub settled: bool,
    /// While open: the price and volume it would clear at now (absent without a cross).
    pub indicative: Option<Indicative>,
}

/// What an open window would clear at now.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Indicative {
    #[schema(value_type = String, example = "11.00")]
    pub price: Decimal,
    pub volume: i64,
}

#[derive(sqlx::FromRow)]
struct Row {
    id: AuctionId,
    project_id: ProjectId,
    opens_at: OffsetDateTime,
    closes_at: OffsetDateTime,
    halted_at: Option<OffsetDateTime>,
    halt_reason: Option<String>,
    cleared_at: Option<OffsetDateTime>,
    reference_price: Option<Decimal>,
    clearing_price: Option<Decimal>,
    volume: Option<i64>,
    book_size: Option<i64>,
    book_root: Option<Vec<u8>>,
    finished_at: Option<OffsetDateTime>,
}

impl Row {
    fn at(self, now: OffsetDateTime) -> Auction {
        let state = if self.cleared_at.is_some() {
            AuctionState::Cleared
        } else if self.halted_at.is_some() {
            AuctionState::Halted
        } else if now < self.opens_at {
            AuctionState::Scheduled
        } else if now < self.closes_at {
            AuctionState::Open
        } else {
            AuctionState::Closed
        };
        Auction {
            id: self.id,
            project_id: self.project_id,
            opens_at: self.opens_at,
            closes_at: self.closes_at,
            state,
            halt_reason: self.halt_reason,
            reference_price: self.reference_price,
            clearing_price: self.clearing_price,
            volume: self.volume,
            book_size: self.book_size,
            book_root: self.book_root.map(hex::encode),
            settled: self.finished_at.is_some(),
            indicative: None,
        }
    }
}

const COLUMNS: &str = "id, project_id, opens_at, closes_at, halted_at, halt_reason, cleared_at,
    reference_price, clearing_price, volume, book_size, book_root, finished_at";

/// A window's times, checked: it opens now or later (within [`MAX_AHEAD`]), and closes after it
/// opens, within [`MAX_WINDOW`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    opens_at: OffsetDateTime,
    closes_at: OffsetDateTime,
}

impl Window {
    /// Checks `opens_at` and `closes_at` against `now`. A minute's grace for a window meant to
    /// open at once, whose request took a moment to arrive.
    pub fn new(
        opens_at: OffsetDateTime,
        closes_at: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<Self> {
        if opens_at < now - time::Duration::minutes(1) {
            return Err(Error::invalid("market.error.opens_in_past"));
        }
        if opens_at > now + MAX_AHEAD {
            return Err(Error::invalid("market.error.opens_too_late"));
        }
        if closes_at <= opens_at {
            return Err(Error::invalid("market.error.closes_before_opening"));
        }
        if closes_at - opens_at > MAX_WINDOW {
            return Err(Error::invalid("market.error.window_too_long"));
        }
        Ok(Self {
            opens_at,
            closes_at,
        })
    }
}

/// Schedules `window` for the company `project` as `issuer`, who must be its founder; the
/// offering must be funded, and the window may not overlap another of the company's windows
/// that was not halted.
pub async fn schedule(
    db: &PgPool,
    issuer: UserId,
    project: ProjectId,
    window: Window,
) -> Result<Auction> {
    let company = repo::find(db, project).await?.ok_or(Error::NotFound)?;
    // A funded offering is public; anything else is the founder's to know about.
    let funded = company.kind == ProjectKind::Equity && company.state == ProjectState::Funded;
    if company.founder_id != issuer {
        return Err(if funded {
            Error::Forbidden
        } else {
            Error::NotFound
        });
    }
    if !funded {
        return Err(Error::invalid("market.error.not_a_company"));
    }
    let mut tx = db.begin().await?;
    // One scheduler per company at a time, so two overlapping windows cannot both pass the check.
    sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended('auctions:' || $1::text, 0))")
        .bind(project)
        .execute(&mut *tx)
        .await?;
    let overlaps: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM auctions
                         WHERE project_id = $1 AND halted_at IS NULL
                           AND opens_at < $3 AND $2 < closes_at)",
    )
    .bind(project)
    .bind(window.opens_at)
    .bind(window.closes_at)
    .fetch_one(&mut *tx)
    .await?;
    if overlaps {
        return Err(Error::conflict("market.error.overlap"));
    }
    if super::freezes::is_frozen(&mut tx, project).await? {
        return Err(Error::conflict("market.error.frozen"));
    }
    let row: Row = sqlx::query_as(&format!(
        "INSERT INTO auctions (id, project_id, opens_at, closes_at, created_by)
         VALUES ($1, $2, $3, $4, $5) RETURNING {COLUMNS}"
    ))
    .bind(AuctionId(uuid::Uuid::new_v4()))
    .bind(project)
    .bind(window.opens_at)
    .bind(window.closes_at)
    .bind(issuer)
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(row.at(OffsetDateTime::now_utc()))
}

/// The auction `id`.
pub async fn find(db: &PgPool, id: AuctionId) -> Result<Option<Auction>> {
    let row: Option<Row> = sqlx::query_as(&format!("SELECT {COLUMNS} FROM auctions WHERE id = $1"))
        .bind(id)
        .fetch_optional(db)
        .await?;
    Ok(row.map(|r| r.at(OffsetDateTime::now_utc())))
}

/// The company's windows, the latest first (at most [`MAX_LISTED`]).
pub async fn of_company(db: &PgPool, project: ProjectId) -> Result<Vec<Auction>> {
    let rows: Vec<Row> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM auctions WHERE project_id = $1
          ORDER BY opens_at DESC, id LIMIT $2"
    ))
    .bind(project)
    .bind(MAX_LISTED)
    .fetch_all(db)
    .await?;
    let now = OffsetDateTime::now_utc();
    Ok(rows.into_iter().map(|r| r.at(now)).collect())
}

/// The price and volume the open auction `auction` would clear at now, from its open orders
/// (the buys the holder cap would leave out are counted: the figure is indicative). The orders
/// are read summed by side and limit, one row per price: the price and the volume depend only
/// on those sums, so a book of a million orders costs the reader a few hundred rows.
pub async fn indicative(db: &PgPool, auction: &Auction) -> Result<Option<Indicative>> {
    use super::clearing::{self, Order, Side, MAX_SHARES};
    if auction.state != AuctionState::Open {
        return Ok(None);
    }
    let rows: Vec<(String, Decimal, i64)> = sqlx::query_as(
        "SELECT side, limit_price, least(sum(shares), $2)::int8 FROM market_orders
          WHERE auction_id = $1 AND state = 'open' GROUP BY side, limit_price",
    )
    .bind(auction.id)
    .bind(MAX_SHARES as i64)
    .fetch_all(db)
    .await?;
    let orders: Vec<Order> = rows
        .into_iter()
        .filter_map(|(side, limit, shares)| {
            Some(Order {
                side: Side::try_from(side).ok()?,
                shares: shares as u64,
                limit,
            })
        })
        .collect();
    let reference = reference_price(db, auction.project_id).await?;
    // A refusal (more price levels than one auction may hold) shows no figure, never an error.
    let found = clearing::indicative(&orders, reference).unwrap_or(None);
    Ok(found.map(|(price, volume)| Indicative {
        price,
        volume: volume as i64,
    }))
}

/// The reference price of the company's next clearing: its last clearing price, or the
/// offering's price per share.
pub async fn reference_price(db: &PgPool, project: ProjectId) -> Result<Decimal> {
    if let Some(price) = last_price(db, project).await? {
        return Ok(price);
    }
    let mut conn = db.acquire().await?;
    Ok(repo::offering(&mut conn, project)
        .await?
        .map(|o| o.price_per_share)
        .unwrap_or(Decimal::ONE))
}

/// The company's last clearing price, if an auction of it ever traded.
pub async fn last_price(
    db: impl sqlx::PgExecutor<'_>,
    project: ProjectId,
) -> Result<Option<Decimal>> {
    Ok(sqlx::query_scalar(
        "SELECT clearing_price FROM auctions
          WHERE project_id = $1 AND clearing_price IS NOT NULL
          ORDER BY cleared_at DESC LIMIT 1",
    )
    .bind(project)
    .fetch_optional(db)
    .await?)
}

/// Halts the auction `id` for `reason` in the caller's transaction (the supervision room records
/// the action beside it); refused once it has cleared or was halted.
pub async fn halt(conn: &mut PgConnection, id: AuctionId, reason: &str) -> Result<Auction> {
    let row: Option<Row> = sqlx::query_as(&format!(
        "UPDATE auctions SET halted_at = now(), halt_reason = $2
          WHERE id = $1 AND halted_at IS NULL AND cleared_at IS NULL
         RETURNING {COLUMNS}"
    ))
    .bind(id)
    .bind(reason)
    .fetch_optional(&mut *conn)
    .await?;
    match row {
        Some(row) => Ok(row.at(OffsetDateTime::now_utc())),
        None => {
            let exists: bool =
                sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM auctions WHERE id = $1)")
                    .bind(id)
                    .fetch_one(&mut *conn)
                    .await?;
            Err(if exists {
                Error::conflict("market.error.not_haltable")
            } else {
                Error::NotFound
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn a_window_opens_now_or_later_and_closes_after_it_opens_within_a_month() {
        let now = datetime!(2026-12-03 10:00 UTC);
        let hour = time::Duration::hours(1);
        assert!(Window::new(now, now + hour, now).is_ok());
        assert!(Window::new(now - time::Duration::seconds(30), now + hour, now).is_ok());
        let refused = |opens, closes| {
            Window::new(opens, closes, now)
                .unwrap_err()
                .message()
                .in_lang(crate::i18n::Lang::En.catalogue())
        };
        assert!(refused(now - hour, now + hour).contains("past"));
        assert!(refused(now + hour, now + hour).contains("after"));
        assert!(refused(now, now + MAX_WINDOW + hour).contains("31 days"));
        assert!(refused(now + MAX_AHEAD + hour, now + MAX_AHEAD + 2 * hour).contains("year"));
    }
}
