//! A call auction's one clearing price and every order's fill, from the orders alone: pure
//! computation, no I/O, no clock. The server clears with it at the close, shows the indicative
//! price with it while the window is open, and `zhonglian verify-auction` replays a published
//! book with it, so the three cannot disagree.
//!
//! # The rule
//!
//! At a price `p` the demand is the shares of every buy limited at `p` or above, the supply the
//! shares of every sell limited at `p` or below, and the volume the smaller of the two. The
//! clearing price is the limit price (of any order) with the largest volume; ties go to the
//! smallest imbalance (demand and supply furthest apart loses), then to the price closest to the
//! reference (the last clearing price, or the offering's price per share), then to the lower
//! price. The volume only changes at limit prices, so no other price could trade more.
//!
//! At that price the side with fewer shares on offer fills completely. The other side fills by
//! price priority (a higher buy limit, a lower sell limit first), then time priority (earlier
//! orders first: their position in the slice, which is the book's order), until the volume is
//! used; one order may fill in part. Everyone trades at the one price. No volume at any price
//! (no cross): nothing trades.

use std::cmp::{Ordering, Reverse};

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// Most shares one order may carry. With at most [`MAX_ORDERS`] orders, every sum of shares
/// fits in a `u64`, so clearing never overflows.
pub const MAX_SHARES: u64 = 1_000_000_000_000;

/// Most orders one auction may hold.
pub const MAX_ORDERS: usize = 1_000_000;

/// Which way an order trades.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    Buy,
    Sell,
}

impl Side {
    /// The stored and published name.
    pub fn as_str(self) -> &'static str {
        match self {
            Side::Buy => "buy",
            Side::Sell => "sell",
        }
    }
}

/// One order as clearing sees it: its side, its shares and its limit price. Its time priority
/// is its position in the slice given to [`clear`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Order {
    pub side: Side,
    pub shares: u64,
    pub limit: Decimal,
}

/// Shares passing from one sell order to one buy order at the clearing price.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Trade {
    /// The buy order's position.
    pub buy: usize,
    /// The sell order's position.
    pub sell: usize,
    pub shares: u64,
}

/// The outcome of an auction that crossed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Clearing {
    /// The one price every trade is made at.
    pub price: Decimal,
    /// Shares traded: the sum of the buys' fills, and of the sells'.
    pub volume: u64,
    /// Shares filled, by order position (0 for an order that trades nothing).
    pub fills: Vec<u64>,
    /// Who trades with whom: buys and sells paired in their priority order.
    pub trades: Vec<Trade>,
}

/// Why a set of orders cannot be cleared.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClearingError {
    #[error("an auction holds at most {MAX_ORDERS} orders; this one holds {0}")]
    TooManyOrders(usize),
    #[error("order {0} is for {1} shares; an order is for 1 to {MAX_SHARES}")]
    BadShares(usize, u64),
    #[error("order {0} is limited at {1}; a limit price is above zero")]
    BadLimit(usize, Decimal),
}

/// The price an auction would clear at now and the shares it would trade: the indicative
/// price of an open window. `None` when the orders do not cross.
pub fn indicative(
    orders: &[Order],
    reference: Decimal,
) -> Result<Option<(Decimal, u64)>, ClearingError> {
    check(orders)?;
    Ok(best_price(orders, reference))
}

/// Clears `orders` (in time priority) against `reference`: the clearing price, every order's
/// fill and the trades, or `None` when no price trades anything.
pub fn clear(orders: &[Order], reference: Decimal) -> Result<Option<Clearing>, ClearingError> {
    check(orders)?;
    let Some((price, volume)) = best_price(orders, reference) else {
        return Ok(None);
    };
    let mut fills = vec![0u64; orders.len()];
    let buys = fill_side(orders, Side::Buy, price, volume, &mut fills);
    let sells = fill_side(orders, Side::Sell, price, volume, &mut fills);
    let trades = pair(&buys, &sells, &fills);
    debug_assert_eq!(trades.iter().map(|t| t.shares).sum::<u64>(), volume);
    Ok(Some(Clearing {
        price,
        volume,
        fills,
        trades,
    }))
}

fn check(orders: &[Order]) -> Result<(), ClearingError> {
    if orders.len() > MAX_ORDERS {
        return Err(ClearingError::TooManyOrders(orders.len()));
    }
    for (i, o) in orders.iter().enumerate() {
        if o.shares == 0 || o.shares > MAX_SHARES {
            return Err(ClearingError::BadShares(i, o.shares));
        }
        if o.limit <= Decimal::ZERO {
            return Err(ClearingError::BadLimit(i, o.limit));
        }
    }
    Ok(())
}

/// The clearing price and its volume, by the rule's order of preferences; `None` without a
/// cross. One sort of the limits and one sweep over them.
fn best_price(orders: &[Order], reference: Decimal) -> Option<(Decimal, u64)> {
    let mut buys: Vec<(Decimal, u64)> = side_limits(orders, Side::Buy);
    let mut sells: Vec<(Decimal, u64)> = side_limits(orders, Side::Sell);
    if buys.is_empty() || sells.is_empty() {
        return None;
    }
    buys.sort_unstable_by_key(|o| o.0);
    sells.sort_unstable_by_key(|o| o.0);
    let mut prices: Vec<Decimal> = buys.iter().chain(&sells).map(|o| o.0).collect();
    prices.sort_unstable();
    prices.dedup();

    // Sweeping the prices upwards: sells at or below the price join the supply, buys below it
    // leave the demand.
    let mut demand: u64 = buys.iter().map(|o| o.1).sum();
    let mut supply: u64 = 0;
    let (mut next_buy, mut next_sell) = (0, 0);
    let mut best: Option<(Decimal, u64, u64)> = None;
    for &price in &prices {
        while next_sell < sells.len() && sells[next_sell].0 <= price {
            supply += sells[next_sell].1;
            next_sell += 1;
        }
        while next_buy < buys.len() && buys[next_buy].0 < price {
            demand -= buys[next_buy].1;
            next_buy += 1;
        }
        let volume = demand.min(supply);
        if volume == 0 {
            continue;
        }
        let imbalance = demand.abs_diff(supply);
        let better = match best {
            None => true,
            Some((p, v, i)) => preferred((price, volume, imbalance), (p, v, i), reference),
        };
        if better {
            best = Some((price, volume, imbalance));
        }
    }
    best.map(|(price, volume, _)| (price, volume))
}

/// Whether candidate `a` (price, volume, imbalance) beats `b`.
fn preferred(a: (Decimal, u64, u64), b: (Decimal, u64, u64), reference: Decimal) -> bool {
    let key = |(price, volume, imbalance): (Decimal, u64, u64)| {
        (Reverse(volume), imbalance, (price - reference).abs(), price)
    };
    key(a).cmp(&key(b)) == Ordering::Less
}

fn side_limits(orders: &[Order], side: Side) -> Vec<(Decimal, u64)> {
    orders
        .iter()
        .filter(|o| o.side == side)
        .map(|o| (o.limit, o.shares))
        .collect()
}

/// Fills one side's orders that accept `price` with `volume` shares in their priority order,
/// writing into `fills`; returns those orders' positions in that order.
fn fill_side(
    orders: &[Order],
    side: Side,
    price: Decimal,
    volume: u64,
    fills: &mut [u64],
) -> Vec<usize> {
    let mut eligible: Vec<usize> = (0..orders.len())
        .filter(|&i| {
            let o = &orders[i];
            o.side == side
                && match side {
                    Side::Buy => o.limit >= price,
                    Side::Sell => o.limit <= price,
                }
        })
        .collect();
    // Price priority, then time priority (the position).
    match side {
        Side::Buy => eligible.sort_unstable_by_key(|&i| (Reverse(orders[i].limit), i)),
        Side::Sell => eligible.sort_unstable_by_key(|&i| (orders[i].limit, i)),
    }
    let mut left = volume;
    for &i in &eligible {
        let fill = orders[i].shares.min(left);
        fills[i] = fill;
        left -= fill;
    }
    debug_assert_eq!(left, 0, "the volume never exceeds a side's eligible shares");
    eligible.retain(|&i| fills[i] > 0);
    eligible
}

/// Pairs filled buys with filled sells, both in priority order, into trades.
fn pair(buys: &[usize], sells: &[usize], fills: &[u64]) -> Vec<Trade> {
    let mut trades = Vec::with_capacity(buys.len() + sells.len());
    let (mut b, mut s) = (0, 0);
    let (mut buy_left, mut sell_left) = (0u64, 0u64);
    while b < buys.len() && s < sells.len() {
        if buy_left == 0 {
            buy_left = fills[buys[b]];
        }
        if sell_left == 0 {
            sell_left = fills[sells[s]];
        }
        let shares = buy_left.min(sell_left);
        trades.push(Trade {
            buy: buys[b],
            sell: sells[s],
            shares,
        });
        buy_left -= shares;
        sell_left -= shares;
        if buy_left == 0 {
            b += 1;
        }
        if sell_left == 0 {
            s += 1;
        }
    }
    trades
}

#[cfg(test)]
mod tests;
