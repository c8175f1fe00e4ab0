//! An auction's de-identified order book as it is published after clearing, its Merkle root,
//! and its replay: pure computation over the published orders, shared by the server (which
//! writes the root into the `auction_cleared` ledger entry) and `zhonglian verify-auction`
//! (which recomputes the price, every fill and the root from the book alone).
//!
//! The book's leaves are its orders in the order of `placed_at`, ties broken by commitment
//! (which is also the orders' time priority at clearing). Each is written as canonical JSON like a
//! ledger entry (keys sorted, no whitespace, amounts as two-decimal strings, times RFC 3339 UTC,
//! here to the microsecond as stored) with exactly the fields `commitment`, `side`, `shares`,
//! `limit_price`, `placed_at` and `filled`. A leaf's input is the SHA-256 of those bytes, hashed
//! into an RFC 9162 tree as the ledger's entries are. Cancelled orders are not in the book.

use std::cmp::Ordering;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::clearing::{self, ClearingError, Order, Side};
use crate::ledger::entry::canonical;
use crate::ledger::merkle::{self, Hash};

/// One order of a published book.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct BookOrder {
    /// The owner as a salted commitment (hex SHA-256), as parties appear on the ledger.
    pub commitment: String,
    pub side: Side,
    pub shares: u64,
    /// Two decimals, as a string.
    #[schema(value_type = String, example = "10.00")]
    #[serde(with = "two_decimals")]
    pub limit_price: Decimal,
    /// When the order was placed, RFC 3339 UTC to the microsecond.
    #[schema(value_type = String, example = "2026-12-03T10:00:00.000000Z")]
    #[serde(with = "micro_time")]
    pub placed_at: OffsetDateTime,
    /// Shares the order traded at the clearing price.
    pub filled: u64,
}

impl BookOrder {
    /// The leaf's canonical text.
    pub fn canonical(&self) -> String {
        canonical(&serde_json::json!({
            "commitment": self.commitment,
            "side": self.side.as_str(),
            "shares": self.shares,
            "limit_price": two_decimals::text(self.limit_price),
            "placed_at": micro_time::text(self.placed_at),
            "filled": self.filled,
        }))
    }

    /// The leaf input: SHA-256 of the canonical text.
    pub fn leaf_input(&self) -> Hash {
        Sha256::digest(self.canonical().as_bytes()).into()
    }
}

/// The book's order: time, then commitment.
pub fn book_order(a: &BookOrder, b: &BookOrder) -> Ordering {
    a.placed_at
        .cmp(&b.placed_at)
        .then_with(|| a.commitment.cmp(&b.commitment))
}

/// The RFC 9162 root over the book's leaves, in the order given (which [`replay`] checks is the
/// book's order).
pub fn root(book: &[BookOrder]) -> Hash {
    let leaves: Vec<Hash> = book
        .iter()
        .map(|o| merkle::leaf_hash(&o.leaf_input()))
        .collect();
    merkle::root_of(&leaves)
}

/// What replaying a book found: the price and volume it clears at (`None` without a cross) and
/// its root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Replayed {
    pub cleared: Option<(Decimal, u64)>,
    pub root: Hash,
}

/// Why a published book does not replay to what it says.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReplayError {
    #[error("order {0} is out of the book's order (time, then commitment)")]
    OutOfOrder(usize),
    #[error(transparent)]
    Invalid(#[from] ClearingError),
    #[error("order {index} says it filled {published} shares; clearing fills {replayed}")]
    Fill {
        index: usize,
        published: u64,
        replayed: u64,
    },
}

/// Clears the book's orders again against `reference` and checks every published fill; returns
/// the price, the volume and the root to compare with the `auction_cleared` entry.
pub fn replay(book: &[BookOrder], reference: Decimal) -> Result<Replayed, ReplayError> {
    if let Some(i) = book
        .windows(2)
        .position(|w| book_order(&w[0], &w[1]) != Ordering::Less)
    {
        return Err(ReplayError::OutOfOrder(i + 1));
    }
    let orders: Vec<Order> = book
        .iter()
        .map(|o| Order {
            side: o.side,
            shares: o.shares,
            limit: o.limit_price,
        })
        .collect();
    let clearing = clearing::clear(&orders, reference)?;
    let fills = match &clearing {
        Some(c) => c.fills.clone(),
        None => vec![0; book.len()],
    };
    for (index, (order, &replayed)) in book.iter().zip(&fills).enumerate() {
        if order.filled != replayed {
            return Err(ReplayError::Fill {
                index,
                published: order.filled,
                replayed,
            });
        }
    }
    Ok(Replayed {
        cleared: clearing.map(|c| (c.price, c.volume)),
        root: root(book),
    })
}

/// Amounts as two-decimal strings, as ledger entries write them.
mod two_decimals {
    use rust_decimal::Decimal;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn text(value: Decimal) -> String {
        crate::money::amount::fixed(value)
    }

    pub fn serialize<S: Serializer>(value: &Decimal, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&text(*value))
    }

    /// Exactly two decimals: a book that wrote `10.5` would not hash as it was published.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Decimal, D::Error> {
        let raw = String::deserialize(d)?;
        let value: Decimal = raw.parse().map_err(serde::de::Error::custom)?;
        if text(value) != raw {
            return Err(serde::de::Error::custom(format!(
                "`{raw}` is not an amount with two decimals"
            )));
        }
        Ok(value)
    }
}

/// Times as RFC 3339 UTC with six fractional digits: one text per instant.
mod micro_time {
    use serde::{Deserialize, Deserializer, Serializer};
    use time::OffsetDateTime;

    use super::Rfc3339;

    pub fn text(at: OffsetDateTime) -> String {
        let at = at.to_offset(time::UtcOffset::UTC);
        format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z",
            at.year(),
            u8::from(at.month()),
            at.day(),
            at.hour(),
            at.minute(),
            at.second(),
            at.microsecond()
        )
    }

    pub fn serialize<S: Serializer>(at: &OffsetDateTime, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&text(*at))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<OffsetDateTime, D::Error> {
        let raw = String::deserialize(d)?;
        let at = OffsetDateTime::parse(&raw, &Rfc3339).map_err(serde::de::Error::custom)?;
        if text(at) != raw {
            return Err(serde::de::Error::custom(format!(
                "`{raw}` is not a UTC time to the microsecond (like 2026-12-03T10:00:00.000000Z)"
            )));
        }
        Ok(at)
    }
}

#[cfg(test)]
mod tests;
