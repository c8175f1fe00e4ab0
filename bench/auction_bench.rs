//! Settling a call auction against settling pledges, in one run on one cluster: a reward project
//! of N pledges (default 50,000) settles first (its pledges per second are the reference, as
//! `settlement_bench` measures them), then an equity offering of N investors, whose register
//! goes on sale in an auction of 2N orders (every holder sells, N new investors buy one share
//! each, limits spread from 8.00 to 12.00), which is cleared and settled end to end (fills,
//! trades, ledger entries, checkpoints, money and shares, holds returned, fills notified).
//! Prints orders and trades settled per second and their ratios to pledges settled per second.
//! An order is what one investor asked, as a pledge is, so orders per second is the
//! like-for-like figure; this book has four orders per trade (half the buys and most sells
//! trade nothing), so trades per second is about a quarter of it.
//!
//! `cargo run --release --example auction_bench -- [N]`

#[path = "auction_fixtures.rs"]
mod auction_fixtures;
#[path = "fixtures.rs"]
mod fixtures;

use std::str::FromStr;
use std::time::Instant;

use rust_decimal::Decimal;
use zhonglian::config::Settings;
use zhonglian::db::embedded::{Cluster, ClusterOptions};
use zhonglian::market::clear::Clearer;
use zhonglian::settlement::Settler;
use zhonglian::Application;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "zhonglian::market=info".into()),
        )
        .init();
    let n: i64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(50_000);
    let dir = std::env::temp_dir().join(format!("zhonglian-auction-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let cluster = Cluster::start(&dir.join("pg"), &ClusterOptions::for_server())?;
    cluster.stop_and_remove_after(std::process::id())?;
    zhonglian::db::create_database(&cluster, "bench").await?;
    let db = zhonglian::db::pool(cluster.connect_options("bench"), 24).await?;
    zhonglian::db::migrate(&db).await?;
    let mut settings = Settings::for_data_dir(dir.join("data"));
    settings.ledger_origin = "zhonglian.bench/ledger".into();
    let app = Application::build(settings.clone(), db.clone()).await?;
    let state = app.state().clone();
    state.ledger.ensure_checkpoint(&db).await?;

    let ten = Decimal::from_str("10.00")?;
    let reference =
        fixtures::backed_project(&db, n, ten, Decimal::from(100), fixtures::Shape::Reward).await?;
    fixtures::make_due(&db, reference.project).await?;
    sqlx::query("ANALYZE").execute(&db).await?;
    let started = Instant::now();
    let settled = Settler::new(&state).settle_due(&|_| {}).await?;
    let pledge_seconds = started.elapsed().as_secs_f64();
    let pledges = settled.first().map_or(0, |s| s.pledges);
    let pledge_rate = pledges as f64 / pledge_seconds;
    let company = fixtures::backed_project(
        &db,
        n,
        ten,
        Decimal::from(100),
        fixtures::Shape::Equity { min_shares: 1 },
    )
    .await?;
    fixtures::make_due(&db, company.project).await?;
    Settler::new(&state).settle_due(&|_| {}).await?;
    println!("settled {pledges} pledges in {pledge_seconds:.2} s: {pledge_rate:.0} pledges/s");

    let started = Instant::now();
    let book =
        auction_fixtures::open_auction_book(&db, company.project, company.founder, n).await?;
    auction_fixtures::close_auction(&db, book.auction).await?;
    sqlx::query("ANALYZE").execute(&db).await?;
    println!(
        "fixture: {} sells and {} buys in {:.1} s",
        book.sells,
        book.buys,
        started.elapsed().as_secs_f64()
    );
    let (size_before, _) = zhonglian::ledger::store::head(&db).await?;
    let started = Instant::now();
    let finished = Clearer::new(db.clone(), state.ledger.clone(), &settings)
        .clear_due()
        .await?;
    let seconds = started.elapsed().as_secs_f64();
    let f = finished
        .first()
        .ok_or_else(|| anyhow::anyhow!("nothing cleared"))?;
    let (size_after, _) = zhonglian::ledger::store::head(&db).await?;
    let trade_rate = f.trades as f64 / seconds;
    println!(
        "cleared {} orders at {:?} and settled {} trades ({} ledger entries) in {seconds:.2} s: \
         {trade_rate:.0} trades/s, {:.0} orders/s",
        book.sells + book.buys,
        f.cleared,
        f.trades,
        size_after - size_before,
        (book.sells + book.buys) as f64 / seconds
    );
    let order_rate = (book.sells + book.buys) as f64 / seconds;
    println!(
        "auction settlement / pledge settlement: {:.1}% (orders/s over pledges/s; \
         trades/s over pledges/s: {:.1}%)",
        100.0 * order_rate / pledge_rate,
        100.0 * trade_rate / pledge_rate
    );
    db.close().await;
    cluster.stop()?;
    Ok(())
}
