//! Orders: limit orders placed in an open auction window, what they hold, and their cancellation.
//!
//! A buy order holds `shares x limit_price` of the buyer's wallet in their market escrow
//! (a journal entry) and counts in the buyer's 12-month investor limit; a sell order locks shares
//! past their lock-up (the holding's sellable shares less what the holder's other orders lock).
//! Both are made in one transaction with the order, under the auction row's share lock, so the
//! clearing worker (which locks it for update) sees every order committed before it or none.
//! One holder never has orders on both sides of one auction.

use rust_decimal::Decimal;
use serde::Serialize;
use sqlx::{PgConnection, PgPool};
use time::OffsetDateTime;

use super::clearing::Side;
use super::holdings;
use crate::error::{Error, Message, Result};
use crate::ids::{AuctionId, OrderId, ProjectId, UserId};
use crate::ledger::entry::{new_salt, party_commitment};
use crate::money::{self, AccountOwner, EntryKind, Money, Posting};
use crate::pledges::limits::{InvestorLimitRule, Shares};
use crate::pledges::request::RequestKey;

/// Most open orders one person may have in one auction.
pub const MAX_OPEN_PER_AUCTION: i64 = 100;
/// Most orders one list shows.
pub const MAX_LISTED: i64 = 200;

/// An order as placed: side, shares and limit price, checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NewOrder {
    pub side: Side,
    pub shares: Shares,
    pub limit_price: Money,
}

impl NewOrder {
    /// What a buy holds: shares x limit price.
    pub fn hold(&self) -> Decimal {
        match self.side {
            Side::Buy => Decimal::from(self.shares.get()) * self.limit_price.value(),
            Side::Sell => Decimal::ZERO,
        }
    }
}

/// Where an order stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, sqlx::Type, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
#[sqlx(type_name = "text", rename_all = "snake_case")]
pub enum OrderState {
    /// In the book until the close.
    Open,
    /// Cancelled by its owner before the close.
    Cancelled,
    /// Left out at clearing: the company's holder cap, or a halted window.
    Excluded,
    /// In the published book, with its fill.
    Cleared,
}

/// One order, as its owner sees it.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Order {
    #[schema(value_type = String, format = Uuid)]
    pub id: OrderId,
    #[schema(value_type = String, format = Uuid)]
    pub auction_id: AuctionId,
    #[schema(value_type = String, format = Uuid)]
    pub project_id: ProjectId,
    #[sqlx(try_from = "String")]
    pub side: Side,
    pub shares: i64,
    #[schema(value_type = String, example = "12.50")]
    pub limit_price: Decimal,
    pub currency: String,
    /// Money a buy holds in escrow until its auction settles (zero for a sell).
    #[schema(value_type = String, example = "125.00")]
    #[serde(serialize_with = "crate::money::amount::two_places")]
    pub held: Decimal,
    /// When it was placed: its time priority.
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub placed_at: OffsetDateTime,
    pub state: OrderState,
    /// Shares traded, once its auction cleared.
    pub filled: Option<i64>,
    /// The price they traded at: the auction's clearing price.
    #[schema(value_type = Option<String>, example = "11.00")]
    pub price: Option<Decimal>,
    /// Whether its hold (money or shares) was let go.
    pub released: bool,
    /// The owner's commitment in the published book.
    pub commitment: String,
}

impl TryFrom<String> for Side {
    type Error = String;

    fn try_from(text: String) -> std::result::Result<Self, String> {
        match text.as_str() {
            "buy" => Ok(Side::Buy),
            "sell" => Ok(Side::Sell),
            _ => Err(format!("unknown side {text}")),
        }
    }
}

const COLUMNS: &str = "o.id, o.auction_id, o.project_id, o.side, o.shares, o.limit_price,
    o.currency, o.held, o.placed_at, o.state, o.filled,
    CASE WHEN o.filled > 0 THEN a.clearing_price END AS price,
    o.released_at IS NOT NULL AS released, o.commitment";

/// The outcome of [`place`].
#[derive(Debug, Clone)]
pub struct Placed {
    pub order: Order,
    /// The idempotency key had already placed this order; nothing new happened.
    pub replayed: bool,
}

/// What placing an order needs besides the order.
pub struct Placing<'a> {
    pub rule: &'a InvestorLimitRule,
    pub lockup_days: u32,
    /// Income and net worth, when the buyer declares them with this order.
    pub declaration: Option<(Decimal, Decimal)>,
    pub key: Option<&'a RequestKey>,
}

/// The auction row as an order sees it, read under its share lock.
#[derive(sqlx::FromRow)]
struct Window {
    project_id: ProjectId,
    open: bool,
    currency: String,
    frozen: bool,
}

/// Places `order` by `user` in the auction `auction`.
pub async fn place(
    db: &PgPool,
    user: UserId,
    auction: AuctionId,
    order: NewOrder,
    placing: Placing<'_>,
) -> Result<Placed> {
    if let Some(key) = placing.key {
        if let Some(placed) = replay(db, user, key, auction, &order).await? {
            return Ok(placed);
        }
    }
    let mut tx = db.begin().await?;
    match place_in(&mut tx, user, auction, &order, &placing).await {
        Ok(id) => {
            tx.commit().await?;
            let order = find(db, user, id).await?.ok_or(Error::NotFound)?;
            Ok(Placed {
                order,
                replayed: false,
            })
        }
        Err(e) => {
            // At once: a dropped transaction keeps its locks (the auction's share lock) until
            // its connection is next used, and the clearing worker skips a locked auction.
            tx.rollback().await?;
            match placing.key {
                Some(key) if is_key_conflict(&e) => replay(db, user, key, auction, &order)
                    .await?
                    .ok_or(Error::NotFound),
                _ => Err(e),
            }
        }
    }
}

async fn place_in(
    conn: &mut PgConnection,
    user: UserId,
    auction: AuctionId,
    order: &NewOrder,
    placing: &Placing<'_>,
) -> Result<OrderId> {
    let window: Window = sqlx::query_as(
        "SELECT a.project_id, h.currency,
                a.halted_at IS NULL AND a.cleared_at IS NULL
                    AND clock_timestamp() >= a.opens_at AND clock_timestamp() < a.closes_at AS open,
                EXISTS (SELECT 1 FROM trading_freezes f WHERE f.project_id = a.project_id) AS frozen
           FROM auctions a JOIN project_headlines h ON h.id = a.project_id
          WHERE a.id = $1
            FOR SHARE OF a",
    )
    .bind(auction)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(Error::NotFound)?;
    if window.frozen {
        return Err(Error::conflict("market.error.frozen"));
    }
    if !window.open {
        return Err(Error::conflict("market.error.not_open"));
    }
    // One holder's orders in one company are placed one at a time: the shares a sell may lock,
    // the side of the book and the count of open orders are checked against committed orders.
    sqlx::query(
        "SELECT pg_advisory_xact_lock(hashtextextended('holding:' || $1::text || $2::text, 0))",
    )
    .bind(user)
    .bind(window.project_id)
    .execute(&mut *conn)
    .await?;
    let (open_here, other_side): (i64, bool) = sqlx::query_as(
        "SELECT count(*), coalesce(bool_or(side <> $3), false) FROM market_orders
          WHERE auction_id = $1 AND user_id = $2 AND state = 'open'",
    )
    .bind(auction)
    .bind(user)
    .bind(order.side.as_str())
    .fetch_one(&mut *conn)
    .await?;
    if other_side {
        return Err(Error::conflict("market.error.both_sides"));
    }
    if open_here >= MAX_OPEN_PER_AUCTION {
        return Err(Error::conflict("market.error.too_many_orders"));
    }
    let id = OrderId(uuid::Uuid::new_v4());
    let held = order.hold();
    match order.side {
        Side::Sell => {
            let sellable =
                holdings::unlocked_shares(conn, user, window.project_id, placing.lockup_days)
                    .await?;
            if order.shares.get() > sellable {
                return Err(Error::Conflict(Message::Text(format!(
                    "You can offer at most {sellable} shares of this company now."
                ))));
            }
        }
        Side::Buy => {
            crate::pledges::check_investor_limit(
                conn,
                placing.rule,
                user,
                placing.declaration,
                held,
                None,
            )
            .await?;
            hold(conn, user, &window.currency, id, held).await?;
        }
    }
    let salt = new_salt();
    sqlx::query(
        "INSERT INTO market_orders (id, auction_id, project_id, user_id, side, shares,
                                    limit_price, currency, held, salt, commitment,
                                    idempotency_key)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
    )
    .bind(id)
    .bind(auction)
    .bind(window.project_id)
    .bind(user)
    .bind(order.side.as_str())
    .bind(order.shares.get())
    .bind(order.limit_price.value())
    .bind(&window.currency)
    .bind(held)
    .bind(salt.to_vec())
    .bind(party_commitment(&salt, user))
    .bind(placing.key.map(RequestKey::as_str))
    .execute(&mut *conn)
    .await?;
    Ok(id)
}

/// Moves a buy's money from the buyer's wallet into their market escrow.
async fn hold(
    conn: &mut PgConnection,
    user: UserId,
    currency: &str,
    order: OrderId,
    amount: Decimal,
) -> Result<()> {
    let wallet = money::account_for(conn, AccountOwner::BackerWallet(user), currency).await?;
    let escrow = money::account_for(conn, AccountOwner::MarketEscrow(user), currency).await?;
    money::post_entry(
        conn,
        EntryKind::OrderHold,
        &format!("order:{order}"),
        Some(&format!("order:hold:{order}")),
        &[
            Posting {
                account: wallet,
                amount: -amount,
            },
            Posting {
                account: escrow,
                amount,
            },
        ],
    )
    .await?;
    Ok(())
}

/// Gives back what an order holds in escrow: `amount` to the buyer's wallet, once ever.
pub(super) async fn release_money(
    conn: &mut PgConnection,
    user: UserId,
    currency: &str,
    order: OrderId,
    amount: Decimal,
) -> Result<()> {
    if amount <= Decimal::ZERO {
        return Ok(());
    }
    let wallet = money::account_for(conn, AccountOwner::BackerWallet(user), currency).await?;
    let escrow = money::account_for(conn, AccountOwner::MarketEscrow(user), currency).await?;
    money::post_entry(
        conn,
        EntryKind::OrderRelease,
        &format!("order:{order}"),
        Some(&format!("order:release:{order}")),
        &[
            Posting {
                account: escrow,
                amount: -amount,
            },
            Posting {
                account: wallet,
                amount,
            },
        ],
    )
    .await?;
    Ok(())
}

fn is_key_conflict(e: &Error) -> bool {
    match e {
        Error::Database(sqlx::Error::Database(db)) => {
            db.constraint() == Some("market_orders_idempotency_key")
        }
        _ => false,
    }
}

/// The order `key` already placed, when it did: the same order again is a replay, another
/// order under the same key a 422.
async fn replay(
    db: &PgPool,
    user: UserId,
    key: &RequestKey,
    auction: AuctionId,
    order: &NewOrder,
) -> Result<Option<Placed>> {
    let found: Option<Order> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM market_orders o JOIN auctions a ON a.id = o.auction_id
          WHERE o.user_id = $1 AND o.idempotency_key = $2"
    ))
    .bind(user)
    .bind(key.as_str())
    .fetch_optional(db)
    .await?;
    let Some(found) = found else {
        return Ok(None);
    };
    let same = found.auction_id == auction
        && found.side == order.side
        && found.shares == order.shares.get()
        && found.limit_price == order.limit_price.value();
    if !same {
        return Err(Error::invalid("pledges.error.key_reused"));
    }
    Ok(Some(Placed {
        order: found,
        replayed: true,
    }))
}

/// Cancels `user`'s open order `id` before its auction closes; a buy's money goes back to the
/// wallet in the same transaction.
pub async fn cancel(db: &PgPool, user: UserId, id: OrderId) -> Result<Order> {
    let mut tx = db.begin().await?;
    match cancel_in(&mut tx, user, id).await {
        Ok(()) => tx.commit().await?,
        Err(e) => {
            tx.rollback().await?;
            return Err(e);
        }
    }
    find(db, user, id).await?.ok_or(Error::NotFound)
}

async fn cancel_in(tx: &mut PgConnection, user: UserId, id: OrderId) -> Result<()> {
    let row: Option<(AuctionId, bool)> = sqlx::query_as(
        "SELECT a.id, a.cleared_at IS NULL AND clock_timestamp() < a.closes_at
           FROM market_orders o JOIN auctions a ON a.id = o.auction_id
          WHERE o.id = $1 AND o.user_id = $2
            FOR SHARE OF a",
    )
    .bind(id)
    .bind(user)
    .fetch_optional(&mut *tx)
    .await?;
    let (_, before_close) = row.ok_or(Error::NotFound)?;
    if !before_close {
        return Err(Error::conflict("market.error.closed"));
    }
    let cancelled: Option<(String, Decimal)> = sqlx::query_as(
        "UPDATE market_orders SET state = 'cancelled', released_at = now()
          WHERE id = $1 AND user_id = $2 AND state = 'open'
         RETURNING currency, held",
    )
    .bind(id)
    .bind(user)
    .fetch_optional(&mut *tx)
    .await?;
    let (currency, held) =
        cancelled.ok_or_else(|| Error::conflict("market.error.not_cancellable"))?;
    release_money(tx, user, &currency, id, held).await
}

/// `user`'s order `id`.
pub async fn find(db: &PgPool, user: UserId, id: OrderId) -> Result<Option<Order>> {
    Ok(sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM market_orders o JOIN auctions a ON a.id = o.auction_id
          WHERE o.id = $1 AND o.user_id = $2"
    ))
    .bind(id)
    .bind(user)
    .fetch_optional(db)
    .await?)
}

/// `user`'s orders, the latest first (at most [`MAX_LISTED`]); only those of `project` when set.
pub async fn of_user(db: &PgPool, user: UserId, project: Option<ProjectId>) -> Result<Vec<Order>> {
    Ok(sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM market_orders o JOIN auctions a ON a.id = o.auction_id
          WHERE o.user_id = $1 AND ($2::uuid IS NULL OR o.project_id = $2)
          ORDER BY o.placed_at DESC, o.id LIMIT $3"
    ))
    .bind(user)
    .bind(project)
    .bind(MAX_LISTED)
    .fetch_all(db)
    .await?)
}
