//! The clearing worker: at an auction's close it clears the book once, then settles its trades
//! (delivery versus payment, see [`super::deliver`]) and lets every order go of its hold.
//!
//! The first transaction locks the auction (`FOR UPDATE SKIP LOCKED`, so several workers never
//! clear one auction at once), leaves out the buys the company's holder cap refuses, clears the
//! rest with [`super::clearing::clear`], writes every order's fill and the trades, and appends
//! the `auction_cleared` entry (clearing price, volume, reference price and the root of the
//! de-identified book); the result is then fixed. A halted window clears nothing: its orders are
//! left out and their holds return. Killing the process at any instant rolls back at most the
//! transaction in flight; the next pass resumes where the committed ones stopped.
//!
//! # The holder cap
//!
//! A company has at most `max_investors` holders (the offering's, 200 by default). Before
//! clearing, buys are taken in price-then-time priority (a higher limit first, then the earlier
//! order); a buy of someone who holds no shares is admitted while the holders before the auction
//! plus the new buyers already admitted are fewer than the cap, and left out (`excluded`, not in
//! the book, its money returned) once they are not. Buyers who already hold shares are never left
//! out, and one admitted buyer's other buys are admitted with the first. Sellers who sell all
//! their shares free no place in the same auction: the cap holds whatever the fills turn out to be.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use rust_decimal::Decimal;
use serde_json::json;
use sqlx::{PgConnection, PgPool, Postgres, Transaction};
use time::OffsetDateTime;

use super::book::{self, BookOrder};
use super::clearing::{self, Order, Side, MAX_ORDERS};
use super::deliver;
use super::holdings;
use crate::config::Settings;
use crate::error::{Error, Result};
use crate::ids::{AuctionId, OrderId, ProjectId, UserId};
use crate::ledger::entry::{self, EntryKind, NewEntry};
use crate::ledger::Ledger;
use crate::money::amount::fixed;
use crate::projects::repo;

/// What the worker runs on, taken explicitly so the market knows nothing of the server's state.
#[derive(Clone)]
pub struct Clearer {
    pub(super) db: PgPool,
    pub(super) ledger: Arc<Ledger>,
    /// The market fee, in basis points of each trade's price, paid by the seller.
    pub(super) fee_bps: u32,
    /// Trades (and orders released) per transaction.
    pub(super) batch_size: i64,
}

/// What happened to one auction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finished {
    pub auction: AuctionId,
    /// The clearing price and the volume; `None` when nothing traded (no cross, or halted).
    pub cleared: Option<(Decimal, u64)>,
    pub trades: u64,
}

#[derive(sqlx::FromRow)]
struct Due {
    id: AuctionId,
    project_id: ProjectId,
    halted: bool,
    cleared: bool,
}

/// One open order as clearing reads it, in the book's order.
#[derive(sqlx::FromRow)]
struct Open {
    id: OrderId,
    user_id: UserId,
    #[sqlx(try_from = "String")]
    side: Side,
    shares: i64,
    limit_price: Decimal,
    placed_at: OffsetDateTime,
    commitment: String,
}

impl Clearer {
    /// A worker over a database and a ledger, with the market fee and batch size of `settings`.
    pub fn new(db: PgPool, ledger: Arc<Ledger>, settings: &Settings) -> Self {
        Self {
            db,
            ledger,
            fee_bps: settings.market_fee_bps,
            batch_size: settings.settlement_batch_size.max(1),
        }
    }

    /// Settles this many trades per transaction.
    pub fn with_batch_size(mut self, batch_size: i64) -> Self {
        self.batch_size = batch_size.max(1);
        self
    }

    /// Clears and settles every auction that is due, one after the other. One that fails is
    /// left for the next pass and the others still clear; the first failure is then returned.
    pub async fn clear_due(&self) -> Result<Vec<Finished>> {
        let (mut done, mut failed, mut first_error) = (Vec::new(), Vec::new(), None);
        while let Some((tx, due)) = self.pick(&failed).await? {
            match self.finish(tx, &due).await {
                Ok(Some(finished)) => done.push(finished),
                // Another worker holds the auction now and will finish it.
                Ok(None) => break,
                Err(e) => {
                    tracing::error!(auction = %due.id, error = %e, "clearing an auction failed; the others go on");
                    failed.push(due.id);
                    first_error.get_or_insert(e);
                }
            }
        }
        match first_error {
            Some(e) => Err(e),
            None => Ok(done),
        }
    }

    /// Locks the next due auction but those in `skip`; `None` when nothing is due (or every due
    /// auction is another worker's now).
    async fn pick(
        &self,
        skip: &[AuctionId],
    ) -> Result<Option<(Transaction<'static, Postgres>, Due)>> {
        let mut tx = self.db.begin().await?;
        let due: Option<Due> = sqlx::query_as(
            "SELECT id, project_id, halted_at IS NOT NULL AS halted,
                    cleared_at IS NOT NULL AS cleared
               FROM auctions
              WHERE finished_at IS NULL AND (halted_at IS NOT NULL OR closes_at <= now())
                AND id <> ALL($1)
              ORDER BY closes_at, id LIMIT 1
                FOR UPDATE SKIP LOCKED",
        )
        .bind(skip)
        .fetch_optional(&mut *tx)
        .await?;
        match due {
            Some(due) => Ok(Some((tx, due))),
            None => {
                tx.commit().await?;
                Ok(None)
            }
        }
    }

    /// Clears the auction `tx` locked (unless it already was) and settles it to the end; `None`
    /// when another worker took it over between batches.
    async fn finish(
        &self,
        mut tx: Transaction<'static, Postgres>,
        due: &Due,
    ) -> Result<Option<Finished>> {
        let started = std::time::Instant::now();
        let decided = if due.halted {
            exclude_open(&mut tx, due.id).await
        } else if !due.cleared {
            self.decide(&mut tx, due).await
        } else {
            Ok(())
        };
        if let Err(e) = decided {
            // Ends it now, so that the auction's lock does not outlive the failure.
            tx.rollback().await?;
            return Err(e);
        }
        tx.commit().await?;
        tracing::info!(auction = %due.id, elapsed_ms = started.elapsed().as_millis() as u64, "auction cleared");
        let mut trades = 0;
        loop {
            match deliver::settle_trades(self, due.id).await? {
                deliver::Step::Done(n) if n > 0 => trades += n,
                deliver::Step::Done(_) => break,
                deliver::Step::Busy => return Ok(None),
            }
        }
        tracing::info!(auction = %due.id, trades, elapsed_ms = started.elapsed().as_millis() as u64, "auction's trades settled");
        loop {
            match deliver::release_orders(self, due.id).await? {
                deliver::Step::Done(n) if n > 0 => {}
                deliver::Step::Done(_) => break,
                deliver::Step::Busy => return Ok(None),
            }
        }
        let cleared: Option<(Option<Decimal>, Option<i64>)> = sqlx::query_as(
            "UPDATE auctions SET finished_at = now() WHERE id = $1 AND finished_at IS NULL
             RETURNING clearing_price, volume",
        )
        .bind(due.id)
        .fetch_optional(&self.db)
        .await?;
        let cleared = match cleared {
            Some((Some(price), Some(volume))) if volume > 0 => Some((price, volume as u64)),
            _ => None,
        };
        tracing::info!(auction = %due.id, ?cleared, trades, elapsed_ms = started.elapsed().as_millis() as u64, "auction finished");
        Ok(Some(Finished {
            auction: due.id,
            cleared,
            trades,
        }))
    }

    /// Clears the locked auction: fills, trades, the book's root and its ledger entry.
    async fn decide(&self, conn: &mut PgConnection, due: &Due) -> Result<()> {
        let offering = repo::offering(conn, due.project_id)
            .await?
            .ok_or_else(|| Error::Internal(anyhow::anyhow!("an auction without an offering")))?;
        let reference = super::auctions::last_price(&mut *conn, due.project_id)
            .await?
            .unwrap_or(offering.price_per_share);
        let open: Vec<Open> = sqlx::query_as(
            "SELECT id, user_id, side, shares, limit_price, placed_at, commitment
               FROM market_orders WHERE auction_id = $1 AND state = 'open'
              ORDER BY placed_at, commitment",
        )
        .bind(due.id)
        .fetch_all(&mut *conn)
        .await?;
        let holders: HashSet<UserId> = holdings::holders(conn, due.project_id)
            .await?
            .into_iter()
            .collect();
        let kept = admitted(&open, &holders, offering.max_investors.max(0) as usize);
        let book_orders: Vec<&Open> = kept.iter().map(|&i| &open[i]).collect();
        let orders: Vec<Order> = book_orders
            .iter()
            .map(|o| Order {
                side: o.side,
                shares: o.shares as u64,
                limit: o.limit_price,
            })
            .collect();
        let clearing = clearing::clear(&orders, reference)
            .map_err(|e| Error::Internal(anyhow::anyhow!("clearing {}: {e}", due.id)))?;
        let fills = match &clearing {
            Some(c) => c.fills.clone(),
            None => vec![0; orders.len()],
        };
        let book: Vec<BookOrder> = book_orders
            .iter()
            .zip(&fills)
            .map(|(o, &filled)| BookOrder {
                commitment: o.commitment.clone(),
                side: o.side,
                shares: o.shares as u64,
                limit_price: o.limit_price,
                placed_at: o.placed_at,
                filled,
            })
            .collect();
        let cleared_ids: Vec<OrderId> = book_orders.iter().map(|o| o.id).collect();
        let filled: Vec<i64> = fills.iter().map(|&f| f as i64).collect();
        // A sell that trades nothing holds nothing from now on; every other order lets go when
        // its last trade settles, or in the release that follows the trades.
        sqlx::query(
            "UPDATE market_orders o SET state = 'cleared', filled = t.filled,
                    released_at = CASE WHEN o.side = 'sell' AND t.filled = 0 THEN now() END
               FROM unnest($1::uuid[], $2::int8[]) AS t(id, filled) WHERE o.id = t.id",
        )
        .bind(&cleared_ids)
        .bind(&filled)
        .execute(&mut *conn)
        .await?;
        exclude_open(conn, due.id).await?;
        if let Some(c) = &clearing {
            self.write_trades(conn, due, &book_orders, c).await?;
        }
        let root = book::root(&book);
        let (price, volume) = match &clearing {
            Some(c) => (Some(c.price), c.volume),
            None => (None, 0),
        };
        let entry = NewEntry::new(
            EntryKind::AuctionCleared,
            entry::fields(json!({
                "auction": due.id.to_string(),
                "project": due.project_id.to_string(),
                "currency": offering_currency(conn, due.project_id).await?,
                "reference_price": fixed(reference),
                "clearing_price": price.map(fixed),
                "volume": volume,
                "book_size": book.len(),
                "book_root": hex::encode(root),
                "at": entry::now_text(),
            })),
        );
        let appended = self.ledger.append(conn, &[entry]).await?;
        sqlx::query(
            "UPDATE auctions SET cleared_at = now(), reference_price = $2, clearing_price = $3,
                    volume = $4, book_size = $5, book_root = $6, cleared_tx = $7
              WHERE id = $1",
        )
        .bind(due.id)
        .bind(reference)
        .bind(price)
        .bind(volume as i64)
        .bind(book.len() as i64)
        .bind(root.to_vec())
        .bind(appended.tx_hashes[0].to_vec())
        .execute(&mut *conn)
        .await?;
        Ok(())
    }

    /// Writes the clearing's trades, each with its fee, for [`deliver::settle_trades`].
    async fn write_trades(
        &self,
        conn: &mut PgConnection,
        due: &Due,
        book: &[&Open],
        clearing: &clearing::Clearing,
    ) -> Result<()> {
        let n = clearing.trades.len();
        let (mut buys, mut sells) = (Vec::with_capacity(n), Vec::with_capacity(n));
        let (mut buyers, mut sellers) = (Vec::with_capacity(n), Vec::with_capacity(n));
        let (mut shares, mut fees) = (Vec::with_capacity(n), Vec::with_capacity(n));
        // Each order's last trade, which settles the order too.
        let (mut last_buy, mut last_sell) = (HashMap::new(), HashMap::new());
        for (i, t) in clearing.trades.iter().enumerate() {
            last_buy.insert(t.buy, i);
            last_sell.insert(t.sell, i);
        }
        let (mut closes_buy, mut closes_sell) = (Vec::with_capacity(n), Vec::with_capacity(n));
        for (i, t) in clearing.trades.iter().enumerate() {
            closes_buy.push(last_buy[&t.buy] == i);
            closes_sell.push(last_sell[&t.sell] == i);
        }
        for t in &clearing.trades {
            let (buy, sell) = (book[t.buy], book[t.sell]);
            buys.push(buy.id);
            sells.push(sell.id);
            buyers.push(buy.user_id);
            sellers.push(sell.user_id);
            shares.push(t.shares as i64);
            let gross = Decimal::from(t.shares) * clearing.price;
            fees.push(crate::settlement::platform_fee(gross, self.fee_bps));
        }
        sqlx::query(
            "INSERT INTO market_trades (auction_id, project_id, buy_order, sell_order, buyer_id,
                                        seller_id, shares, price, fee, closes_buy, closes_sell)
             SELECT $1, $2, b, s, bu, se, n, $3, f, cb, cs
               FROM unnest($4::uuid[], $5::uuid[], $6::uuid[], $7::uuid[], $8::int8[],
                           $9::numeric[], $10::bool[], $11::bool[])
                    WITH ORDINALITY AS t(b, s, bu, se, n, f, cb, cs, i)
              ORDER BY i",
        )
        .bind(due.id)
        .bind(due.project_id)
        .bind(clearing.price)
        .bind(&buys)
        .bind(&sells)
        .bind(&buyers)
        .bind(&sellers)
        .bind(&shares)
        .bind(&fees)
        .bind(&closes_buy)
        .bind(&closes_sell)
        .execute(&mut *conn)
        .await?;
        Ok(())
    }

    /// Runs forever: clears what is due every `interval`. Started by `serve`.
    pub async fn run(self, interval: Duration) {
        let mut tick = tokio::time::interval(interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if let Err(e) = self.clear_due().await {
                tracing::error!(error = %e, "clearing pass failed; retrying");
            }
        }
    }
}

/// Leaves out the auction's orders still open (a halted window's, or buys the holder cap
/// refuses); a sell among them holds nothing from now on, a buy's money returns in the release.
async fn exclude_open(conn: &mut PgConnection, auction: AuctionId) -> Result<()> {
    sqlx::query(
        "UPDATE market_orders SET state = 'excluded',
                released_at = CASE WHEN side = 'sell' THEN now() END
          WHERE auction_id = $1 AND state = 'open'",
    )
    .bind(auction)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

async fn offering_currency(conn: &mut PgConnection, project: ProjectId) -> Result<String> {
    Ok(
        sqlx::query_scalar("SELECT currency FROM project_headlines WHERE id = $1")
            .bind(project)
            .fetch_one(&mut *conn)
            .await?,
    )
}

/// The positions in `open` (the book's order) of the orders that go into the book: every sell,
/// and the buys the holder cap admits (see the module's doc), at most [`MAX_ORDERS`] in all (the
/// earliest).
fn admitted(open: &[Open], holders: &HashSet<UserId>, cap: usize) -> Vec<usize> {
    let mut buys: Vec<usize> = (0..open.len())
        .filter(|&i| open[i].side == Side::Buy)
        .collect();
    buys.sort_by(|&a, &b| {
        open[b]
            .limit_price
            .cmp(&open[a].limit_price)
            .then(a.cmp(&b))
    });
    let mut newcomers: HashSet<UserId> = HashSet::new();
    let mut refused = vec![false; open.len()];
    for i in buys {
        let buyer = open[i].user_id;
        if holders.contains(&buyer) || newcomers.contains(&buyer) {
            continue;
        }
        if holders.len() + newcomers.len() < cap {
            newcomers.insert(buyer);
        } else {
            refused[i] = true;
        }
    }
    (0..open.len())
        .filter(|&i| !refused[i])
        .take(MAX_ORDERS)
        .collect()
}
