//! Delivery versus payment: a cleared auction's trades settle in batches, each batch one
//! transaction that moves the cash and the shares and appends each trade's `share_transfer`
//! entry, or does none of it. A trade's journal entry pays out of the buyer's market escrow the
//! seller (the price less the market fee), the platform (the fee) and, when it is the buy's last
//! trade, the buyer (what the hold kept beyond what the buy paid); the shares move because the
//! settled trade is part of both holdings. An order whose last trade settles lets go of its hold
//! in the same transaction and its owner is told. The orders that traded nothing then let go in
//! batches too (a buy's money returns). Every movement has a once-key, so a batch can never
//! happen twice.

use std::collections::{BTreeMap, HashMap};

use rust_decimal::Decimal;
use serde_json::json;
use sqlx::PgConnection;

use super::clear::Clearer;
use super::clearing::Side;
use crate::error::{Error, Result};
use crate::ids::{AuctionId, OrderId, ProjectId, UserId};
use crate::ledger::entry::{self, EntryKind, NewEntry};
use crate::money::amount::fixed;
use crate::money::batch::{self, BatchEntry, BatchTransfer};
use crate::money::{self, AccountId, AccountKind, AccountOwner};
use crate::notify::{self as notices, NoticeKind};

/// What one batch did.
pub(super) enum Step {
    /// This many trades (or orders) settled; zero when none was left.
    Done(u64),
    /// Another worker holds the auction now; it will finish it.
    Busy,
}

#[derive(sqlx::FromRow)]
struct Trade {
    id: i64,
    project_id: ProjectId,
    buyer_id: UserId,
    seller_id: UserId,
    shares: i64,
    price: Decimal,
    fee: Decimal,
    buy_order: OrderId,
    sell_order: OrderId,
    closes_buy: bool,
    closes_sell: bool,
    /// What the buy's hold keeps beyond what all its trades pay.
    change: Decimal,
    buy_shares: i64,
    buy_filled: i64,
    sell_shares: i64,
    sell_filled: i64,
}

#[derive(sqlx::FromRow)]
struct Company {
    title: String,
    currency: String,
}

/// The accounts of `kind` of these users (each once) in `currency`.
async fn accounts(
    conn: &mut PgConnection,
    kind: AccountKind,
    users: impl Iterator<Item = UserId>,
    currency: &str,
) -> Result<HashMap<UserId, AccountId>> {
    let mut users: Vec<UserId> = users.collect();
    users.sort_unstable();
    users.dedup();
    batch::accounts_of(conn, kind, &users, currency).await
}

/// `user`'s account in `accounts`.
fn account(accounts: &HashMap<UserId, AccountId>, user: UserId) -> Result<AccountId> {
    accounts
        .get(&user)
        .copied()
        .ok_or_else(|| Error::Internal(anyhow::anyhow!("no account of user {user}")))
}

/// Locks the auction for one batch; `None` when another worker holds it.
async fn lock(conn: &mut PgConnection, auction: AuctionId) -> Result<Option<Company>> {
    Ok(sqlx::query_as(
        "SELECT h.title, h.currency
           FROM auctions a JOIN project_headlines h ON h.id = a.project_id
          WHERE a.id = $1
            FOR UPDATE OF a SKIP LOCKED",
    )
    .bind(auction)
    .fetch_optional(&mut *conn)
    .await?)
}

/// Settles the next batch of the auction's trades.
pub(super) async fn settle_trades(clearer: &Clearer, auction: AuctionId) -> Result<Step> {
    let mut tx = clearer.db.begin().await?;
    let Some(company) = lock(&mut tx, auction).await? else {
        return Ok(Step::Busy);
    };
    let trades: Vec<Trade> = sqlx::query_as(
        "SELECT t.id, t.project_id, t.buyer_id, t.seller_id, t.shares, t.price, t.fee,
                t.buy_order, t.sell_order, t.closes_buy, t.closes_sell,
                b.held - b.filled * t.price AS change, b.shares AS buy_shares,
                b.filled AS buy_filled, s.shares AS sell_shares, s.filled AS sell_filled
           FROM market_trades t
           JOIN market_orders b ON b.id = t.buy_order
           JOIN market_orders s ON s.id = t.sell_order
          WHERE t.auction_id = $1 AND t.tx_hash IS NULL ORDER BY t.id LIMIT $2",
    )
    .bind(auction)
    .bind(clearer.batch_size)
    .fetch_all(&mut *tx)
    .await?;
    let Some(first) = trades.first() else {
        // Ends the transaction now: a dropped one would hold the auction's lock until its
        // connection is next used, and the next step would find the auction busy.
        tx.commit().await?;
        return Ok(Step::Done(0));
    };
    let project = first.project_id;
    let fee_account =
        money::account_for(&mut tx, AccountOwner::PlatformFee, &company.currency).await?;
    let wallets = accounts(
        &mut tx,
        AccountKind::BackerWallet,
        trades.iter().flat_map(|t| [t.seller_id, t.buyer_id]),
        &company.currency,
    )
    .await?;
    let escrows = accounts(
        &mut tx,
        AccountKind::MarketEscrow,
        trades.iter().map(|t| t.buyer_id),
        &company.currency,
    )
    .await?;
    let mut payments = Vec::with_capacity(trades.len());
    let mut entries = Vec::with_capacity(trades.len());
    let mut closed = Vec::new();
    let mut told = Told::new();
    let at = entry::now_text();
    for t in &trades {
        let gross = Decimal::from(t.shares) * t.price;
        let change = if t.closes_buy {
            t.change
        } else {
            Decimal::ZERO
        };
        let mut postings = vec![(account(&escrows, t.buyer_id)?, -(gross + change))];
        for (to, amount) in [
            (account(&wallets, t.seller_id)?, gross - t.fee),
            (fee_account, t.fee),
            (account(&wallets, t.buyer_id)?, change),
        ] {
            if amount > Decimal::ZERO {
                postings.push((to, amount));
            }
        }
        payments.push(BatchEntry {
            reference: format!("trade:{}", t.id),
            once_key: format!("market:trade:{}", t.id),
            postings,
        });
        if t.closes_buy {
            closed.push(t.buy_order);
            told.add(Side::Buy, t.buy_shares, t.buy_filled, t.buyer_id);
        }
        if t.closes_sell {
            closed.push(t.sell_order);
            told.add(Side::Sell, t.sell_shares, t.sell_filled, t.seller_id);
        }
        let mut parties = Vec::new();
        let seller = NewEntry::commit_party(&mut parties, t.seller_id);
        let buyer = NewEntry::commit_party(&mut parties, t.buyer_id);
        let mut entry = NewEntry::new(
            EntryKind::ShareTransfer,
            entry::fields(json!({
                "auction": auction.to_string(),
                "project": project.to_string(),
                "trade": t.id,
                "shares": t.shares,
                "price": fixed(t.price),
                "fee": fixed(t.fee),
                "currency": company.currency,
                "seller": seller,
                "buyer": buyer,
                "at": at,
            })),
        );
        entry.parties = parties;
        entries.push(entry);
    }
    let moved = batch::post_entries(&mut tx, money::EntryKind::TradeSettled, &payments).await?;
    if moved != payments.len() as u64 {
        return Err(Error::Internal(anyhow::anyhow!(
            "trades of auction {auction} had already been paid"
        )));
    }
    let appended = clearer.ledger.append(&mut tx, &entries).await?;
    let ids: Vec<i64> = trades.iter().map(|t| t.id).collect();
    let hashes: Vec<Vec<u8>> = appended.tx_hashes.iter().map(|h| h.to_vec()).collect();
    sqlx::query(
        "UPDATE market_trades m SET tx_hash = t.tx_hash, settled_at = now()
           FROM unnest($1::int8[], $2::bytea[]) AS t(id, tx_hash) WHERE m.id = t.id",
    )
    .bind(&ids)
    .bind(&hashes)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "UPDATE market_orders o SET released_at = now()
           FROM unnest($1::uuid[]) AS t(id) WHERE o.id = t.id",
    )
    .bind(&closed)
    .execute(&mut *tx)
    .await?;
    let price = fixed(first.price);
    told.tell(&mut tx, project, &company, &price).await?;
    tx.commit().await?;
    Ok(Step::Done(trades.len() as u64))
}

/// Whose orders traded, by what they are told (side, shares ordered, shares filled), so that
/// each different notice is one statement.
struct Told(BTreeMap<(&'static str, i64, i64), Vec<UserId>>);

impl Told {
    fn new() -> Self {
        Self(BTreeMap::new())
    }

    fn add(&mut self, side: Side, shares: i64, filled: i64, user: UserId) {
        self.0
            .entry((side.as_str(), shares, filled))
            .or_default()
            .push(user);
    }

    async fn tell(
        &self,
        conn: &mut PgConnection,
        project: ProjectId,
        company: &Company,
        price: &str,
    ) -> Result<()> {
        for ((side, shares, filled), users) in &self.0 {
            let params = json!({
                "title": company.title,
                "side": side,
                "ordered": shares.to_string(),
                "shares": filled.to_string(),
                "amount": price,
                "currency": company.currency,
            });
            notices::tell(conn, users, Some(project), NoticeKind::OrderFilled, &params).await?;
        }
        Ok(())
    }
}

#[derive(sqlx::FromRow)]
struct Held {
    id: OrderId,
    user_id: UserId,
    #[sqlx(try_from = "String")]
    side: Side,
    held: Decimal,
    filled: i64,
    price: Option<Decimal>,
}

/// Lets the next batch of the auction's orders that still hold something go: those that traded
/// nothing (their last trade released the others). A buy's money returns to the buyer's wallet.
pub(super) async fn release_orders(clearer: &Clearer, auction: AuctionId) -> Result<Step> {
    let mut tx = clearer.db.begin().await?;
    let Some(company) = lock(&mut tx, auction).await? else {
        return Ok(Step::Busy);
    };
    // Marked released as they are read: one statement, and the batch's money moves below in
    // the same transaction, so a crash undoes both.
    let orders: Vec<Held> = sqlx::query_as(
        "WITH picked AS (
             SELECT id FROM market_orders
              WHERE auction_id = $1 AND released_at IS NULL AND state <> 'open'
              ORDER BY id LIMIT $2 FOR UPDATE
         )
         UPDATE market_orders o SET released_at = now()
           FROM picked p, auctions a
          WHERE o.id = p.id AND a.id = o.auction_id
         RETURNING o.id, o.user_id, o.side, o.held, coalesce(o.filled, 0) AS filled,
                   a.clearing_price AS price",
    )
    .bind(auction)
    .bind(clearer.batch_size)
    .fetch_all(&mut *tx)
    .await?;
    if orders.is_empty() {
        tx.commit().await?;
        return Ok(Step::Done(0));
    }
    let buyers = || {
        orders
            .iter()
            .filter(|o| o.side == Side::Buy)
            .map(|o| o.user_id)
    };
    let wallets = accounts(
        &mut tx,
        AccountKind::BackerWallet,
        buyers(),
        &company.currency,
    )
    .await?;
    let escrows = accounts(
        &mut tx,
        AccountKind::MarketEscrow,
        buyers(),
        &company.currency,
    )
    .await?;
    let mut returns = Vec::new();
    for o in &orders {
        let paid = Decimal::from(o.filled) * o.price.unwrap_or_default();
        if o.side == Side::Buy && o.held > paid {
            returns.push(BatchTransfer {
                from: account(&escrows, o.user_id)?,
                to: account(&wallets, o.user_id)?,
                amount: o.held - paid,
                reference: format!("order:{}", o.id),
                once_key: format!("order:release:{}", o.id),
            });
        }
    }
    let returned = batch::post_transfers(&mut tx, money::EntryKind::OrderRelease, &returns).await?;
    if returned != returns.len() as u64 {
        return Err(Error::Internal(anyhow::anyhow!(
            "orders of auction {auction} had already been released"
        )));
    }
    tx.commit().await?;
    Ok(Step::Done(orders.len() as u64))
}
