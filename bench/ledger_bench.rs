//! Ledger benchmark: appends to 1,000,000 leaves in batches of 1,000, proof latency in-process
//! and over HTTP (16 clients), the auditor's rebuild rate, and server RSS at 10^4 and 10^6 leaves.
//!
//! `cargo run --release --example ledger_bench -- [LEAVES]` (see bench/README.md). It starts its
//! own PostgreSQL cluster (durable settings) and the release server as a child process.

use std::time::{Duration, Instant};

use rand::Rng;
use serde_json::json;
use zhonglian::db::embedded::{Cluster, ClusterOptions};
use zhonglian::ledger::entry::{EntryKind, NewEntry};
use zhonglian::ledger::{store, Ledger};

const SEED: &str = "4242424242424242424242424242424242424242424242424242424242424242";
const ORIGIN: &str = "zhonglian.bench/ledger";

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

fn batch(start: u64, n: u64) -> Vec<NewEntry> {
    (start..start + n)
        .map(|i| {
            NewEntry::new(
                EntryKind::PledgeCollected,
                json!({"amount": format!("{}.{:02}", i % 997, i % 100), "currency": "CNY",
                       "pledge": format!("bench-{i}"), "backer": format!("{:064x}", i)})
                .as_object()
                .cloned()
                .unwrap_or_default(),
            )
        })
        .collect()
}

async fn append_to(db: &sqlx::PgPool, ledger: &Ledger, target: u64) -> anyhow::Result<f64> {
    let started = Instant::now();
    let mut size = store::size(db).await?;
    let from = size;
    while size < target {
        let n = (target - size).min(1000);
        let mut tx = db.begin().await?;
        ledger.append(&mut tx, &batch(size, n)).await?;
        tx.commit().await?;
        size += n;
    }
    Ok((target - from) as f64 / started.elapsed().as_secs_f64())
}

async fn http_proofs(
    base: &str,
    size: u64,
    clients: usize,
    per_client: usize,
) -> (Vec<Duration>, f64) {
    let client = reqwest::Client::new();
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let client = client.clone();
        let base = base.to_owned();
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::with_capacity(per_client);
            for i in 0..per_client {
                let url = if i % 2 == 0 {
                    let index = rand::thread_rng().gen_range(0..size);
                    format!("{base}/api/v1/ledger/proof/inclusion?index={index}&tree_size={size}")
                } else {
                    let first = rand::thread_rng().gen_range(1..size);
                    format!("{base}/api/v1/ledger/proof/consistency?first={first}&second={size}")
                };
                let t = Instant::now();
                let r = client.get(url).send().await.expect("request");
                assert!(r.status().is_success());
                r.bytes().await.expect("body");
                lat.push(t.elapsed());
            }
            lat
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.expect("client task"));
    }
    let rate = all.len() as f64 / started.elapsed().as_secs_f64();
    all.sort();
    (all, rate)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let leaves: u64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let dir = std::env::temp_dir().join(format!("zhonglian-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let cluster = Cluster::start(&dir.join("pg"), &ClusterOptions::for_server())?;
    cluster.stop_and_remove_after(std::process::id())?;
    zhonglian::db::create_database(&cluster, "bench").await?;
    let db = zhonglian::db::pool(cluster.connect_options("bench"), 20).await?;
    zhonglian::db::migrate(&db).await?;
    let ledger = Ledger::new(ORIGIN, hex::decode(SEED)?.try_into().expect("32 bytes"));
    ledger.ensure_checkpoint(&db).await?;

    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let exe = std::env::current_exe()?;
    let server_bin = exe
        .parent()
        .and_then(|p| p.parent())
        .map(|p| p.join("zhonglian"))
        .expect("target dir");
    let mut server = std::process::Command::new(&server_bin)
        .args(["serve"])
        .env(
            "DATABASE_URL",
            format!(
                "postgres://{}@localhost/bench?host={}",
                "postgres",
                cluster.dir().display()
            ),
        )
        .env("BIND", format!("127.0.0.1:{port}"))
        .env("ZHONGLIAN_DATA_DIR", dir.join("server"))
        .env("ZHONGLIAN_LEDGER_KEY", SEED)
        .env("LEDGER_ORIGIN", ORIGIN)
        .env("RUST_LOG", "warn")
        .spawn()?;
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    for _ in 0..200 {
        if client.get(format!("{base}/healthz")).send().await.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let first = 10_000.min(leaves);
    append_to(&db, &ledger, first).await?;
    let _ = http_proofs(&base, first, 16, 200).await;
    let rss_small = rss_kib(server.id());

    println!("appending to {leaves} leaves in batches of 1,000 ...");
    let rate = append_to(&db, &ledger, leaves).await?;
    println!("append rate: {rate:.0} leaves/s ({first} -> {leaves})");

    let size = store::size(&db).await?;
    let mut inclusion = Vec::new();
    let mut consistency = Vec::new();
    for _ in 0..2000 {
        let index = rand::thread_rng().gen_range(0..size);
        let t = Instant::now();
        store::inclusion(&db, index, size).await?;
        inclusion.push(t.elapsed());
        let m = rand::thread_rng().gen_range(1..size);
        let t = Instant::now();
        store::consistency(&db, m, size).await?;
        consistency.push(t.elapsed());
    }
    inclusion.sort();
    consistency.sort();
    println!(
        "in-process at {size} leaves: inclusion p50 {:?} p99 {:?}; consistency p50 {:?} p99 {:?}",
        percentile(&inclusion, 0.5),
        percentile(&inclusion, 0.99),
        percentile(&consistency, 0.5),
        percentile(&consistency, 0.99)
    );

    let (lat, req_rate) = http_proofs(&base, size, 16, 1000).await;
    println!(
        "HTTP, 16 clients, {} proofs (half inclusion, half consistency): {req_rate:.0} req/s, p50 {:?} p99 {:?}",
        lat.len(),
        percentile(&lat, 0.5),
        percentile(&lat, 0.99)
    );
    let rss_large = rss_kib(server.id());
    println!(
        "server RSS: {} MiB at {first} leaves, {} MiB at {size} leaves",
        rss_small / 1024,
        rss_large / 1024
    );

    let started = Instant::now();
    let report = zhonglian::cli::audit::run(&zhonglian::cli::audit::AuditOptions {
        server: base.clone(),
        state: None,
        key: Some(ledger.verifier_key()),
        policy: None,
        concurrency: 8,
        progress: false,
    })
    .await?;
    let audit_rate = report.size as f64 / started.elapsed().as_secs_f64();
    println!(
        "audit: {} leaves rebuilt at {audit_rate:.0} leaves/s, problems: {}",
        report.size,
        report.problems.len()
    );
    let rss_after = rss_kib(server.id());
    println!("server RSS after the audit: {} MiB", rss_after / 1024);

    let _ = server.kill();
    let _ = server.wait();
    db.close().await;
    cluster.stop()?;
    Ok(())
}
