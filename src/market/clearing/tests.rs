use proptest::prelude::*;
use rust_decimal::Decimal;

use super::*;

fn price(text: &str) -> Decimal {
    text.parse().expect("a price")
}

fn buy(shares: u64, limit: &str) -> Order {
    Order {
        side: Side::Buy,
        shares,
        limit: price(limit),
    }
}

fn sell(shares: u64, limit: &str) -> Order {
    Order {
        side: Side::Sell,
        shares,
        limit: price(limit),
    }
}

#[test]
fn a_book_crosses_at_the_price_that_trades_most_and_the_shorter_side_fills_completely() {
    let orders = [
        buy(100, "10.50"),
        buy(200, "10.00"),
        buy(100, "9.50"),
        sell(150, "9.50"),
        sell(100, "10.00"),
        sell(100, "10.50"),
    ];
    let c = clear(&orders, price("9.00")).unwrap().expect("a cross");
    // 9.50 trades 150, 10.00 trades 250 (demand 300, supply 250), 10.50 trades 100.
    assert_eq!((c.price, c.volume), (price("10.00"), 250));
    assert_eq!(c.fills, vec![100, 150, 0, 150, 100, 0]);
    assert_eq!(
        c.trades,
        vec![
            Trade {
                buy: 0,
                sell: 3,
                shares: 100
            },
            Trade {
                buy: 1,
                sell: 3,
                shares: 50
            },
            Trade {
                buy: 1,
                sell: 4,
                shares: 100
            },
        ]
    );
}

#[test]
fn a_tie_in_volume_goes_to_the_smaller_imbalance_before_the_reference() {
    let orders = [
        buy(100, "11.00"),
        buy(50, "10.00"),
        sell(100, "10.00"),
        sell(60, "11.00"),
    ];
    // Both 10.00 (demand 150, supply 100) and 11.00 (demand 100, supply 160) trade 100; the
    // reference sits on 11.00, but 10.00 leaves 50 unmatched against 60.
    let c = clear(&orders, price("11.00")).unwrap().expect("a cross");
    assert_eq!((c.price, c.volume), (price("10.00"), 100));
    assert_eq!(c.fills, vec![100, 0, 100, 0]);
}

#[test]
fn a_tie_in_volume_and_imbalance_goes_to_the_price_closest_to_the_reference_then_the_lower() {
    let orders = [buy(100, "11.00"), sell(100, "10.00")];
    let at = |reference: &str| {
        clear(&orders, price(reference))
            .unwrap()
            .expect("a cross")
            .price
    };
    assert_eq!(at("10.90"), price("11.00"));
    assert_eq!(at("10.20"), price("10.00"));
    assert_eq!(at("10.50"), price("10.00"), "halfway: the lower price");
    assert_eq!(at("12.00"), price("11.00"));
}

#[test]
fn orders_that_do_not_cross_trade_nothing() {
    let orders = [buy(100, "9.00"), buy(5, "9.99"), sell(100, "10.00")];
    assert_eq!(clear(&orders, price("10.00")).unwrap(), None);
    assert_eq!(indicative(&orders, price("10.00")).unwrap(), None);
    assert_eq!(clear(&[buy(1, "5.00")], price("5.00")).unwrap(), None);
    assert_eq!(clear(&[], price("5.00")).unwrap(), None);
}

#[test]
fn equal_limits_fill_in_time_priority() {
    let orders = [
        buy(30, "10.00"),
        sell(50, "10.00"),
        buy(30, "10.00"),
        buy(30, "10.00"),
    ];
    let c = clear(&orders, price("10.00")).unwrap().expect("a cross");
    assert_eq!(c.fills, vec![30, 50, 20, 0]);
}

#[test]
fn an_order_without_shares_or_a_positive_limit_is_refused() {
    assert_eq!(
        clear(&[buy(0, "1.00")], Decimal::ONE),
        Err(ClearingError::BadShares(0, 0))
    );
    assert_eq!(
        clear(&[sell(1, "1.00"), buy(1, "0.00")], Decimal::ONE),
        Err(ClearingError::BadLimit(1, Decimal::ZERO))
    );
    assert_eq!(
        clear(&[buy(MAX_SHARES + 1, "1.00")], Decimal::ONE),
        Err(ClearingError::BadShares(0, MAX_SHARES + 1))
    );
}

/// Demand, supply and volume at `p`, counted the slow way.
fn at_price(orders: &[Order], p: Decimal) -> (u64, u64, u64) {
    let demand = orders
        .iter()
        .filter(|o| o.side == Side::Buy && o.limit >= p)
        .map(|o| o.shares)
        .sum::<u64>();
    let supply = orders
        .iter()
        .filter(|o| o.side == Side::Sell && o.limit <= p)
        .map(|o| o.shares)
        .sum::<u64>();
    (demand, supply, demand.min(supply))
}

fn orders() -> impl Strategy<Value = Vec<Order>> {
    // Few distinct prices, so ties in volume and imbalance are common.
    prop::collection::vec(
        (any::<bool>(), 1u64..400, 95i64..106).prop_map(|(is_buy, shares, cents)| Order {
            side: if is_buy { Side::Buy } else { Side::Sell },
            shares,
            limit: Decimal::new(cents * 10, 2),
        }),
        0..40,
    )
}

proptest! {
    #[test]
    fn clearing_keeps_every_limit_conserves_shares_and_trades_the_most(
        orders in orders(),
        reference_cents in 900i64..1100,
    ) {
        let reference = Decimal::new(reference_cents, 2);
        let candidates: Vec<Decimal> = orders.iter().map(|o| o.limit).collect();
        let most = candidates.iter().map(|&p| at_price(&orders, p).2).max().unwrap_or(0);
        let Some(c) = clear(&orders, reference).unwrap() else {
            prop_assert_eq!(most, 0, "no cross though some price trades");
            return Ok(());
        };
        // The volume is maximal, at the limits and anywhere between them.
        prop_assert_eq!(c.volume, most);
        for cents in 900..1100 {
            prop_assert!(at_price(&orders, Decimal::new(cents, 2)).2 <= c.volume);
        }
        // The chosen price is the best by the rule among those trading the most.
        let key = |p: Decimal| {
            let (d, s, _) = at_price(&orders, p);
            (d.abs_diff(s), (p - reference).abs(), p)
        };
        for &p in candidates.iter().filter(|&&p| at_price(&orders, p).2 == most) {
            prop_assert!(key(c.price) <= key(p), "{} preferred over {}", p, c.price);
        }
        // No order trades beyond its limit or its shares; both sides trade the volume.
        let (mut bought, mut sold) = (0, 0);
        for (o, &fill) in orders.iter().zip(&c.fills) {
            prop_assert!(fill <= o.shares);
            if fill > 0 {
                match o.side {
                    Side::Buy => prop_assert!(o.limit >= c.price),
                    Side::Sell => prop_assert!(o.limit <= c.price),
                }
            }
            match o.side {
                Side::Buy => bought += fill,
                Side::Sell => sold += fill,
            }
        }
        prop_assert_eq!(bought, c.volume);
        prop_assert_eq!(sold, c.volume);
        // The side with fewer shares on offer at the price fills completely.
        let (demand, supply, _) = at_price(&orders, c.price);
        let short = if demand <= supply { Side::Buy } else { Side::Sell };
        for (o, &fill) in orders.iter().zip(&c.fills) {
            let accepts = match o.side {
                Side::Buy => o.limit >= c.price,
                Side::Sell => o.limit <= c.price,
            };
            if o.side == short && accepts {
                prop_assert_eq!(fill, o.shares);
            }
        }
        // The trades deliver exactly the fills, each from a sell to a buy.
        let mut delivered = vec![0u64; orders.len()];
        for t in &c.trades {
            prop_assert_eq!(orders[t.buy].side, Side::Buy);
            prop_assert_eq!(orders[t.sell].side, Side::Sell);
            prop_assert!(t.shares > 0);
            delivered[t.buy] += t.shares;
            delivered[t.sell] += t.shares;
        }
        prop_assert_eq!(delivered, c.fills.clone());
        prop_assert_eq!(indicative(&orders, reference).unwrap(), Some((c.price, c.volume)));
    }

    #[test]
    fn a_better_limit_fills_before_a_worse_one_and_an_earlier_before_a_later(
        orders in orders(),
    ) {
        let Some(c) = clear(&orders, Decimal::TEN).unwrap() else { return Ok(()); };
        for (i, a) in orders.iter().enumerate() {
            for (j, b) in orders.iter().enumerate().skip(i + 1) {
                if a.side != b.side || c.fills[i] + c.fills[j] == 0 {
                    continue;
                }
                let a_first = match a.side {
                    Side::Buy => a.limit >= b.limit,
                    Side::Sell => a.limit <= b.limit,
                };
                // Whichever has priority is full before the other gets anything.
                let (first, second) = if a_first { (i, j) } else { (j, i) };
                if c.fills[second] > 0 {
                    prop_assert_eq!(c.fills[first], orders[first].shares);
                }
            }
        }
    }

    #[test]
    fn the_price_and_volume_follow_from_the_shares_summed_by_side_and_limit(
        orders in orders(),
        reference_cents in 900i64..1100,
    ) {
        // What the indicative price reads: one order per side and limit, in any order.
        let reference = Decimal::new(reference_cents, 2);
        let mut sums: std::collections::BTreeMap<(bool, Decimal), u64> = Default::default();
        for o in &orders {
            *sums.entry((o.side == Side::Buy, o.limit)).or_default() += o.shares;
        }
        let summed: Vec<Order> = sums
            .into_iter()
            .rev()
            .map(|((is_buy, limit), shares)| Order {
                side: if is_buy { Side::Buy } else { Side::Sell },
                shares,
                limit,
            })
            .collect();
        prop_assert_eq!(
            indicative(&summed, reference).unwrap(),
            clear(&orders, reference).unwrap().map(|c| (c.price, c.volume))
        );
    }
}
