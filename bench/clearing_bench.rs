//! Clearing a call auction in-process: the clearing price, every fill and the trades of N
//! random orders (default 100,000), and the replay of the same book as `verify-auction` does it
//! (checking every fill and hashing the book's Merkle root), against sorting the same orders by
//! price, the least any clearing must do. Medians of five runs of each.
//!
//! `cargo run --release --example clearing_bench -- 100000`

use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rust_decimal::Decimal;
use time::OffsetDateTime;
use zhonglian::market::book::{self, BookOrder};
use zhonglian::market::clearing::{self, Order, Side};

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .map(|a| a.parse().expect("the number of orders"))
        .unwrap_or(100_000);
    let mut rng = StdRng::seed_from_u64(7);
    // Limits from 9.00 to 11.00 around a reference of 10.00, buys and sells in equal measure.
    let orders: Vec<Order> = (0..n)
        .map(|_| Order {
            side: if rng.gen_bool(0.5) {
                Side::Buy
            } else {
                Side::Sell
            },
            shares: rng.gen_range(1..=500),
            limit: Decimal::new(rng.gen_range(900..=1100), 2),
        })
        .collect();
    let reference = Decimal::TEN;

    let sort = median(|| {
        let mut limits: Vec<Decimal> = orders.iter().map(|o| o.limit).collect();
        limits.sort_unstable();
        std::hint::black_box(limits);
    });
    let mut cleared = None;
    let clear = median(|| {
        cleared = clearing::clear(&orders, reference).expect("valid orders");
    });
    let c = cleared.expect("random orders around one price cross");

    let start = OffsetDateTime::now_utc();
    let published: Vec<BookOrder> = orders
        .iter()
        .zip(&c.fills)
        .enumerate()
        .map(|(i, (o, &filled))| BookOrder {
            commitment: format!("{i:064x}"),
            side: o.side,
            shares: o.shares,
            limit_price: o.limit,
            placed_at: start + time::Duration::microseconds(i as i64),
            filled,
        })
        .collect();
    let replay = median(|| {
        let replayed = book::replay(&published, reference).expect("the book replays");
        assert_eq!(replayed.cleared, Some((c.price, c.volume)));
    });

    println!(
        "{n} orders: clearing price {} for {} shares in {} trades",
        c.price,
        c.volume,
        c.trades.len()
    );
    println!("sorting the limits (reference)    {:>9.1} ms", ms(sort));
    println!(
        "clearing: price, fills, trades    {:>9.1} ms  ({:.1}x the sort; target <= 1,000 ms)",
        ms(clear),
        clear.as_secs_f64() / sort.as_secs_f64()
    );
    println!(
        "replay: fills checked, root       {:>9.1} ms  ({:.1}x the sort)",
        ms(replay),
        replay.as_secs_f64() / sort.as_secs_f64()
    );
}

fn median(mut run: impl FnMut()) -> Duration {
    let mut times: Vec<Duration> = (0..5)
        .map(|_| {
            let t = Instant::now();
            run();
            t.elapsed()
        })
        .collect();
    times.sort();
    times[2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
