//! Delivery versus payment: a cleared auction's trades settle in batches, each batch one
//! transaction that moves the cash (from the buyer's market escrow to the seller's wallet less
//! the market fee, and the fee to the platform), moves the shares (the trade becomes part of
//! both holdings) and appends each trade's `share_transfer` entry, or does none of it. Then the
//! orders let go of what they still hold, in batches too: a buy's money beyond what it paid
//! returns to the buyer's wallet, a sell's remaining shares are free again, and whoever traded
//! is told. Every movement has a once-key, so a batch can never happen twice.

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
use crate::money::batch::{self, BatchTransfer};
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
        "SELECT id, project_id, buyer_id, seller_id, shares, price, fee FROM market_trades
          WHERE auction_id = $1 AND tx_hash IS NULL ORDER BY id LIMIT $2",
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
        trades.iter().map(|t| t.seller_id),
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
    let mut proceeds = Vec::with_capacity(trades.len());
    let mut fees = Vec::with_capacity(trades.len());
    let mut entries = Vec::with_capacity(trades.len());
    let at = entry::now_text();
    for t in &trades {
        let wallet = account(&wallets, t.seller_id)?;
        let escrow = account(&escrows, t.buyer_id)?;
        let gross = Decimal::from(t.shares) * t.price;
        if gross > t.fee {
            proceeds.push(BatchTransfer {
                from: escrow,
                to: wallet,
                amount: gross - t.fee,
                reference: format!("trade:{}", t.id),
                once_key: format!("market:trade:{}", t.id),
            });
        }
        if t.fee > Decimal::ZERO {
            fees.push(BatchTransfer {
                from: escrow,
                to: fee_account,
                amount: t.fee,
                reference: format!("trade:{}", t.id),
                once_key: format!("market:fee:{}", t.id),
            });
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
    let moved = batch::post_transfers(&mut tx, money::EntryKind::TradeSettled, &proceeds).await?
        + batch::post_transfers(&mut tx, money::EntryKind::MarketFee, &fees).await?;
    if moved != (proceeds.len() + fees.len()) as u64 {
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
    tx.commit().await?;
    Ok(Step::Done(trades.len() as u64))
}

#[derive(sqlx::FromRow)]
struct Held {
    id: OrderId,
    user_id: UserId,
    project_id: ProjectId,
    #[sqlx(try_from = "String")]
    side: Side,
    shares: i64,
    held: Decimal,
    filled: i64,
    price: Option<Decimal>,
}

/// Lets the next batch of the auction's orders go of their holds, and tells those who traded.
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
         RETURNING o.id, o.user_id, o.project_id, o.side, o.shares, o.held,
                   coalesce(o.filled, 0) AS filled, a.clearing_price AS price",
    )
    .bind(auction)
    .bind(clearer.batch_size)
    .fetch_all(&mut *tx)
    .await?;
    let Some(first) = orders.first() else {
        tx.commit().await?;
        return Ok(Step::Done(0));
    };
    let project = first.project_id;
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
    // Who traded, by what they are told: side, shares ordered and shares filled.
    let mut told: BTreeMap<(&str, i64, i64), Vec<UserId>> = BTreeMap::new();
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
        if o.filled > 0 {
            told.entry((o.side.as_str(), o.shares, o.filled))
                .or_default()
                .push(o.user_id);
        }
    }
    let returned = batch::post_transfers(&mut tx, money::EntryKind::OrderRelease, &returns).await?;
    if returned != returns.len() as u64 {
        return Err(Error::Internal(anyhow::anyhow!(
            "orders of auction {auction} had already been released"
        )));
    }
    let price = first.price.map(fixed).unwrap_or_default();
    for ((side, shares, filled), users) in &told {
        let params = json!({
            "title": company.title,
            "side": side,
            "ordered": shares.to_string(),
            "shares": filled.to_string(),
            "amount": price,
            "currency": company.currency,
        });
        notices::tell(
            &mut tx,
            users,
            Some(project),
            NoticeKind::OrderFilled,
            &params,
        )
        .await?;
    }
    tx.commit().await?;
    Ok(Step::Done(orders.len() as u64))
}
