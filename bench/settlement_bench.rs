//! Settlement benchmark: one project with 185,341 pledges (Sanderson 2022's backer count),
//! settled with its ledger appends and checkpoints, while its project page is being read.
//!
//! `cargo run --release --example settlement_bench -- [PLEDGES] [reward|equity]`

#[path = "fixtures.rs"]
mod fixtures;

use std::str::FromStr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rust_decimal::Decimal;
use zhonglian::config::Settings;
use zhonglian::db::embedded::{Cluster, ClusterOptions};
use zhonglian::settlement::Settler;
use zhonglian::Application;

fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let pledges: i64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(185_341);
    let shape = match std::env::args().nth(2).as_deref() {
        Some("equity") => fixtures::Shape::Equity {
            min_shares: (pledges / 2).max(1),
        },
        _ => fixtures::Shape::Reward,
    };
    let dir = std::env::temp_dir().join(format!("zhonglian-settle-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let cluster = Cluster::start(&dir.join("pg"), &ClusterOptions::for_server())?;
    cluster.stop_and_remove_after(std::process::id())?;
    zhonglian::db::create_database(&cluster, "bench").await?;
    let db = zhonglian::db::pool(cluster.connect_options("bench"), 24).await?;
    zhonglian::db::migrate(&db).await?;

    let started = Instant::now();
    let amount = Decimal::from_str("25.00")?;
    let project =
        fixtures::backed_project(&db, pledges, amount, Decimal::from(1000), shape).await?;
    fixtures::make_due(&db, project.project).await?;
    sqlx::query("ANALYZE").execute(&db).await?;
    println!(
        "fixture: {pledges} pledges in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    // The site, in this process, serving the project's page while it settles.
    let mut settings = Settings::for_data_dir(dir.join("data"));
    settings.ledger_origin = "zhonglian.bench/ledger".into();
    let app = Application::build(settings.clone(), db.clone()).await?;
    let base = format!("http://{}", app.local_addr()?);
    let state = app.state().clone();
    state.ledger.ensure_checkpoint(&db).await?;
    tokio::spawn(app.run(std::future::pending()));
    let slug: String = sqlx::query_scalar("SELECT slug FROM projects WHERE id = $1")
        .bind(project.project)
        .fetch_one(&db)
        .await?;
    let page = format!("{base}/projects/{slug}");
    let client = reqwest::Client::new();
    let status = client.get(&page).send().await?.status();
    anyhow::ensure!(status.is_success(), "{page} answered {status}");

    let settling = Arc::new(AtomicBool::new(true));
    let mut readers = Vec::new();
    for _ in 0..4 {
        let (client, page, settling) = (client.clone(), page.clone(), settling.clone());
        readers.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            while settling.load(Ordering::Relaxed) {
                let t = Instant::now();
                if let Ok(r) = client.get(&page).send().await {
                    let _ = r.bytes().await;
                }
                latencies.push(t.elapsed());
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            latencies
        }));
    }

    let settler = Settler::new(&state);
    let rss_before = peak_rss_kib();
    let started = Instant::now();
    let report = |p: zhonglian::settlement::Progress| {
        if (p.settled % 50_000 < 5_000 && p.settled > 0) || p.remaining == 0 {
            println!(
                "  {:>7} settled at {:.1} s",
                p.settled,
                started.elapsed().as_secs_f64()
            );
        }
    };
    let settled = settler.settle_due(&report).await?;
    let seconds = started.elapsed().as_secs_f64();
    settling.store(false, Ordering::Relaxed);
    let mut latencies = Vec::new();
    for r in readers {
        latencies.extend(r.await?);
    }
    latencies.sort();
    let s = settled
        .first()
        .ok_or_else(|| anyhow::anyhow!("nothing settled"))?;
    println!(
        "settled {} pledges ({:?}) in {seconds:.1} s: {:.0} pledges/s; collected {}, fee {}",
        s.pledges,
        s.outcome,
        s.pledges as f64 / seconds,
        s.collected,
        s.fee
    );
    let p = |q: f64| latencies[((latencies.len() as f64 - 1.0) * q).round() as usize];
    println!(
        "project page during settlement: {} reads, p50 {:?}, p99 {:?}",
        latencies.len(),
        p(0.5),
        p(0.99)
    );
    println!(
        "peak RSS of the settling server process: {} MiB (before settling: {} MiB)",
        peak_rss_kib() / 1024,
        rss_before / 1024
    );
    let paid: Option<Decimal> =
        sqlx::query_scalar("SELECT amount FROM payouts WHERE founder_id = $1 AND state = 'sent'")
            .bind(project.founder)
            .fetch_optional(&db)
            .await?;
    println!(
        "founder payout sent: {}",
        paid.map(|p| p.to_string()).unwrap_or_else(|| "none".into())
    );
    db.close().await;
    cluster.stop()?;
    Ok(())
}
