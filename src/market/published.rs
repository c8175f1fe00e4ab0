//! What a cleared auction publishes: its de-identified order book with the `auction_cleared`
//! entry's receipt (so `zhonglian verify-auction` can replay the book, compare the root and check
//! the entry against a signed checkpoint), and each order's receipt for its owner (the order's
//! leaf, its salt and its inclusion in the book).

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use time::OffsetDateTime;

use super::book::BookOrder;
use super::clearing::Side;
use crate::error::{Error, Result};
use crate::ids::{AuctionId, OrderId, ProjectId, UserId};
use crate::ledger::merkle::{self, Hash};
use crate::ledger::receipt::{self, Receipt};

/// A cleared auction's published book.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PublishedBook {
    #[schema(value_type = String, format = Uuid)]
    pub auction_id: AuctionId,
    #[schema(value_type = String, format = Uuid)]
    pub project_id: ProjectId,
    /// The price clearing preferred among ties.
    #[schema(value_type = String, example = "10.00")]
    pub reference_price: Decimal,
    /// Absent when nothing crossed.
    #[schema(value_type = Option<String>, example = "11.00")]
    pub clearing_price: Option<Decimal>,
    pub volume: i64,
    /// The RFC 9162 root over the orders' leaves (hex).
    pub book_root: String,
    /// The orders in the book's order (time, then commitment); cancelled orders are not in it.
    pub orders: Vec<BookOrder>,
    /// The receipt of the `auction_cleared` ledger entry that holds the price, the volume and
    /// the root, against the latest signed checkpoint.
    #[schema(value_type = Object)]
    pub cleared_receipt: Receipt,
}

#[derive(sqlx::FromRow)]
struct Cleared {
    project_id: ProjectId,
    reference_price: Decimal,
    clearing_price: Option<Decimal>,
    volume: i64,
    book_root: Vec<u8>,
    cleared_tx: Vec<u8>,
}

#[derive(sqlx::FromRow)]
struct Leaf {
    id: OrderId,
    user_id: UserId,
    #[sqlx(try_from = "String")]
    side: Side,
    shares: i64,
    limit_price: Decimal,
    placed_at: OffsetDateTime,
    commitment: String,
    filled: i64,
    salt: Vec<u8>,
}

impl Leaf {
    fn book_order(&self) -> BookOrder {
        BookOrder {
            commitment: self.commitment.clone(),
            side: self.side,
            shares: self.shares as u64,
            limit_price: self.limit_price,
            placed_at: self.placed_at,
            filled: self.filled as u64,
        }
    }
}

async fn cleared(db: &PgPool, auction: AuctionId) -> Result<Option<Cleared>> {
    Ok(sqlx::query_as(
        "SELECT project_id, reference_price, clearing_price, volume, book_root, cleared_tx
           FROM auctions WHERE id = $1 AND cleared_at IS NOT NULL",
    )
    .bind(auction)
    .fetch_optional(db)
    .await?)
}

async fn leaves(db: &PgPool, auction: AuctionId) -> Result<Vec<Leaf>> {
    Ok(sqlx::query_as(
        "SELECT id, user_id, side, shares, limit_price, placed_at, commitment, filled, salt
           FROM market_orders WHERE auction_id = $1 AND state = 'cleared'
          ORDER BY placed_at, commitment",
    )
    .bind(auction)
    .fetch_all(db)
    .await?)
}

fn hash(bytes: Vec<u8>) -> Result<Hash> {
    bytes
        .try_into()
        .map_err(|_| Error::Internal(anyhow::anyhow!("a stored hash is not 32 bytes")))
}

async fn cleared_receipt(db: &PgPool, tx: Vec<u8>) -> Result<Receipt> {
    receipt::build(db, &hash(tx)?, None)
        .await
        .map_err(|e| Error::Internal(anyhow::anyhow!("receipt of an auction: {e}")))?
        .ok_or_else(|| Error::Internal(anyhow::anyhow!("a cleared auction without its entry")))
}

/// The book of the auction `auction`, once it has cleared (404 before).
pub async fn book(db: &PgPool, auction: AuctionId) -> Result<PublishedBook> {
    let c = cleared(db, auction).await?.ok_or(Error::NotFound)?;
    let orders: Vec<BookOrder> = leaves(db, auction)
        .await?
        .iter()
        .map(Leaf::book_order)
        .collect();
    Ok(PublishedBook {
        auction_id: auction,
        project_id: c.project_id,
        reference_price: c.reference_price,
        clearing_price: c.clearing_price,
        volume: c.volume,
        book_root: hex::encode(c.book_root),
        orders,
        cleared_receipt: cleared_receipt(db, c.cleared_tx).await?,
    })
}

/// An owner's proof that their order is in a cleared auction's book.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct OrderReceipt {
    pub version: u32,
    #[schema(value_type = String, format = Uuid)]
    pub auction_id: AuctionId,
    /// The order's leaf as published.
    pub order: BookOrder,
    /// The canonical text of the leaf: SHA-256 of it is the leaf input.
    pub leaf: String,
    /// The salt of the commitment (hex) and the owner it binds.
    pub salt: String,
    pub owner_id: String,
    pub leaf_index: u64,
    pub book_size: u64,
    /// The inclusion path in the book's tree (hex), RFC 9162.
    pub inclusion_path: Vec<String>,
    pub book_root: String,
    /// The receipt of the `auction_cleared` entry holding `book_root`.
    #[schema(value_type = Object)]
    pub cleared_receipt: Receipt,
}

/// The receipt of `owner`'s order `order`, once its auction has cleared and it is in the book.
pub async fn order_receipt(db: &PgPool, owner: UserId, order: OrderId) -> Result<OrderReceipt> {
    let auction: AuctionId =
        sqlx::query_scalar("SELECT auction_id FROM market_orders WHERE id = $1 AND user_id = $2")
            .bind(order)
            .bind(owner)
            .fetch_optional(db)
            .await?
            .ok_or(Error::NotFound)?;
    let c = cleared(db, auction).await?.ok_or(Error::NotFound)?;
    let all = leaves(db, auction).await?;
    let index = all
        .iter()
        .position(|l| l.id == order && l.user_id == owner)
        .ok_or(Error::NotFound)?;
    let mine = all[index].book_order();
    let hashes: Vec<Hash> = all
        .iter()
        .map(|l| merkle::leaf_hash(&l.book_order().leaf_input()))
        .collect();
    let path = merkle::inclusion_proof(&hashes, index as u64)
        .map_err(|e| Error::Internal(anyhow::anyhow!("book inclusion: {e}")))?;
    Ok(OrderReceipt {
        version: 1,
        auction_id: auction,
        leaf: mine.canonical(),
        order: mine,
        salt: hex::encode(&all[index].salt),
        owner_id: owner.to_string(),
        leaf_index: index as u64,
        book_size: all.len() as u64,
        inclusion_path: path.iter().map(hex::encode).collect(),
        book_root: hex::encode(c.book_root),
        cleared_receipt: cleared_receipt(db, c.cleared_tx).await?,
    })
}
