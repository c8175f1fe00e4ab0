use rust_decimal::Decimal;
use time::macros::datetime;

use super::*;
use crate::market::clearing::clear;

fn order(n: u8, side: Side, shares: u64, limit: &str, second: u8) -> BookOrder {
    BookOrder {
        commitment: format!("{n:02x}").repeat(32),
        side,
        shares,
        limit_price: limit.parse().unwrap(),
        placed_at: datetime!(2026-12-03 10:00:00 UTC) + time::Duration::seconds(second.into()),
        filled: 0,
    }
}

/// A book of four orders with the fills clearing gives them.
fn cleared_book() -> Vec<BookOrder> {
    let mut book = vec![
        order(1, Side::Buy, 100, "11.00", 0),
        order(2, Side::Sell, 60, "10.00", 1),
        order(3, Side::Buy, 50, "10.50", 2),
        order(4, Side::Sell, 80, "10.50", 3),
    ];
    let orders: Vec<_> = book
        .iter()
        .map(|o| clearing::Order {
            side: o.side,
            shares: o.shares,
            limit: o.limit_price,
        })
        .collect();
    let c = clear(&orders, Decimal::TEN).unwrap().expect("a cross");
    for (o, fill) in book.iter_mut().zip(c.fills) {
        o.filled = fill;
    }
    book
}

#[test]
fn a_leaf_is_canonical_json_with_exactly_the_published_fields() {
    let mut o = order(0xab, Side::Sell, 7, "12.5", 0);
    o.placed_at += time::Duration::microseconds(42);
    o.filled = 3;
    assert_eq!(
        o.canonical(),
        format!(
            r#"{{"commitment":"{}","filled":3,"limit_price":"12.50","placed_at":"2026-12-03T10:00:00.000042Z","shares":7,"side":"sell"}}"#,
            "ab".repeat(32)
        )
    );
    let text = serde_json::to_string(&o).unwrap();
    let back: BookOrder = serde_json::from_str(&text).unwrap();
    assert_eq!(back, o);
    assert_eq!(back.canonical(), o.canonical());
}

#[test]
fn a_published_order_with_other_spellings_is_refused() {
    let good = serde_json::to_value(order(1, Side::Buy, 1, "1.00", 0)).unwrap();
    for (field, bad) in [
        ("limit_price", serde_json::json!("1.0")),
        ("limit_price", serde_json::json!(1)),
        ("placed_at", serde_json::json!("2026-12-03T10:00:00Z")),
        (
            "placed_at",
            serde_json::json!("2026-12-03T18:00:00.000000+08:00"),
        ),
        ("side", serde_json::json!("bid")),
        ("shares", serde_json::json!(-1)),
    ] {
        let mut v = good.clone();
        v[field] = bad.clone();
        assert!(
            serde_json::from_value::<BookOrder>(v).is_err(),
            "{field} = {bad} was accepted"
        );
    }
}

#[test]
fn the_root_is_the_rfc9162_root_over_the_leaf_inputs() {
    let book = cleared_book();
    let leaves: Vec<_> = book
        .iter()
        .map(|o| merkle::leaf_hash(&o.leaf_input()))
        .collect();
    // RFC 9162 over four leaves: two levels of node hashes.
    let expected = merkle::node_hash(
        &merkle::node_hash(&leaves[0], &leaves[1]),
        &merkle::node_hash(&leaves[2], &leaves[3]),
    );
    assert_eq!(root(&book), expected);
    assert_eq!(root(&[]), merkle::empty_root());
}

#[test]
fn a_cleared_book_replays_to_its_price_volume_and_root() {
    let book = cleared_book();
    // At 10.50 demand is 150 and supply 140; at 10.00 demand 150, supply 60; at 11.00 demand
    // 100, supply 140.
    assert_eq!(
        book.iter().map(|o| o.filled).collect::<Vec<_>>(),
        vec![100, 60, 40, 80]
    );
    let replayed = replay(&book, Decimal::TEN).unwrap();
    assert_eq!(replayed.cleared, Some(("10.50".parse().unwrap(), 140)));
    assert_eq!(replayed.root, root(&book));
}

#[test]
fn a_book_with_one_changed_order_does_not_replay() {
    let book = cleared_book();
    let mut changed_fill = book.clone();
    changed_fill[2].filled = 50;
    assert_eq!(
        replay(&changed_fill, Decimal::TEN),
        Err(ReplayError::Fill {
            index: 2,
            published: 50,
            replayed: 40
        })
    );
    // A changed limit that keeps every fill still changes the root.
    let mut changed_limit = book.clone();
    changed_limit[0].limit_price = "12.00".parse().unwrap();
    let replayed = replay(&changed_limit, Decimal::TEN).unwrap();
    assert_ne!(replayed.root, root(&book));
    let mut swapped = book;
    swapped.swap(0, 1);
    assert_eq!(
        replay(&swapped, Decimal::TEN),
        Err(ReplayError::OutOfOrder(1))
    );
}

#[test]
fn a_book_that_does_not_cross_replays_with_nothing_filled() {
    let book = vec![
        order(1, Side::Buy, 10, "9.00", 0),
        order(2, Side::Sell, 10, "9.50", 1),
    ];
    assert_eq!(replay(&book, Decimal::TEN).unwrap().cleared, None);
    let mut claimed = book;
    claimed[0].filled = 10;
    assert!(matches!(
        replay(&claimed, Decimal::TEN),
        Err(ReplayError::Fill { index: 0, .. })
    ));
}
