//! Tile audit benchmark: seeds LEAVES leaves (default 10^6), then times `audit --tiles` (entry
//! bundles and tiles onto a compact range) against `audit` over the JSON API on the same
//! server, printing the leaves/s of each and their ratio.
//!
//! `cargo run --release --example audit_follow_bench -- [LEAVES] [--serve FILE]`: with
//! `--serve`, it writes the server's URL into FILE after seeding and keeps serving until killed
//! (what `bench/tiles.sh` uses). It starts its own PostgreSQL cluster and the server binary
//! next to it as a child process.

use std::time::{Duration, Instant};

use serde_json::json;
use zhonglian::db::embedded::{Cluster, ClusterOptions};
use zhonglian::ledger::entry::{EntryKind, NewEntry};
use zhonglian::ledger::{store, Ledger};

const SEED: &str = "4343434343434343434343434343434343434343434343434343434343434343";
const ORIGIN: &str = "zhonglian.bench/tiles";
const BATCH: u64 = 1000;

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

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let leaves: u64 = args
        .first()
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let serve_file = args
        .iter()
        .position(|a| a == "--serve")
        .and_then(|i| args.get(i + 1))
        .cloned();
    let dir = std::env::temp_dir().join(format!("zhonglian-tiles-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let cluster = Cluster::start(&dir.join("pg"), &ClusterOptions::for_server())?;
    cluster.stop_and_remove_after(std::process::id())?;
    zhonglian::db::create_database(&cluster, "bench").await?;
    let db = zhonglian::db::pool(cluster.connect_options("bench"), 20).await?;
    zhonglian::db::migrate(&db).await?;
    let ledger = Ledger::new(ORIGIN, hex::decode(SEED)?.try_into().expect("32 bytes"));
    ledger.ensure_checkpoint(&db).await?;

    println!("seeding {leaves} leaves in batches of {BATCH} ...");
    let mut size = store::size(&db).await?;
    while size < leaves {
        let n = (leaves - size).min(BATCH);
        let mut tx = db.begin().await?;
        ledger.append(&mut tx, &batch(size, n)).await?;
        tx.commit().await?;
        size += n;
    }

    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let server_bin = std::env::current_exe()?
        .parent()
        .and_then(|p| p.parent())
        .map(|p| p.join("zhonglian"))
        .expect("target dir");
    let mut server = std::process::Command::new(&server_bin)
        .args(["serve"])
        .env(
            "DATABASE_URL",
            format!(
                "postgres://postgres@localhost/bench?host={}",
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
    for _ in 0..400 {
        if client.get(format!("{base}/healthz")).send().await.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    if let Some(file) = serve_file {
        std::fs::write(&file, format!("{base}\n{size}\n"))?;
        println!("serving {base} with {size} leaves until stopped");
        tokio::signal::ctrl_c().await?;
    } else {
        let started = Instant::now();
        let tiles = zhonglian::cli::follow::run(&zhonglian::cli::follow::FollowOptions {
            server: base.clone(),
            key: Some(ledger.verifier_key()),
            policy: None,
            state: None,
            concurrency: 8,
            interval: None,
        })
        .await?;
        let tiles_rate = tiles.new_leaves as f64 / started.elapsed().as_secs_f64();
        anyhow::ensure!(tiles.problem.is_none(), "tile audit: {:?}", tiles.problem);

        let started = Instant::now();
        let api = zhonglian::cli::audit::run(&zhonglian::cli::audit::AuditOptions {
            server: base.clone(),
            state: None,
            key: Some(ledger.verifier_key()),
            policy: None,
            concurrency: 8,
            progress: false,
        })
        .await?;
        let api_rate = api.size as f64 / started.elapsed().as_secs_f64();
        anyhow::ensure!(api.problems.is_empty(), "API audit: {:?}", api.problems);

        println!(
            "audit --tiles: {} leaves at {tiles_rate:.0} leaves/s",
            tiles.new_leaves
        );
        println!(
            "audit (JSON API): {} leaves at {api_rate:.0} leaves/s",
            api.size
        );
        println!("ratio tiles / API: {:.2}", tiles_rate / api_rate.max(1e-9));
    }

    let _ = server.kill();
    let _ = server.wait();
    db.close().await;
    cluster.stop()?;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
