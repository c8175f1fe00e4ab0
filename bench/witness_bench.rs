//! Witnessing benchmark, in one run:
//! 1. the ledger's append rate (batches of 100) without witnesses, then with two
//!    `zhonglian witness` processes cosigning beside it, as a ratio; and how long after being
//!    signed each checkpoint is covered by a checkpoint cosigned by both (p50, p99);
//! 2. one witness alone: `add-checkpoint` requests per second with its durable state, and p99,
//!    from 8 clients each submitting a growing log of its own.
//!
//! `cargo run --release --example witness_bench -- [SECONDS]` (needs the release binary:
//! `cargo build --release`). It starts its own PostgreSQL cluster.

use std::time::{Duration, Instant};

use serde_json::json;
use zhonglian::db::embedded::{Cluster, ClusterOptions};
use zhonglian::ledger::checkpoint::Signer;
use zhonglian::ledger::entry::{EntryKind, NewEntry};
use zhonglian::ledger::merkle::{self, Hash};
use zhonglian::ledger::note::{KeyType, NoteSigner};
use zhonglian::ledger::Ledger;
use zhonglian::witness::client::{self, Peer, Status};
use zhonglian::witness::request::AddCheckpoint;

const ORIGIN: &str = "zhonglian.bench/ledger";
const SEED: [u8; 32] = [42; 32];
const BATCH: usize = 100;

fn batch(start: usize) -> Vec<NewEntry> {
    (start..start + BATCH)
        .map(|i| {
            NewEntry::new(
                EntryKind::PledgeCollected,
                json!({"amount": format!("{}.00", i % 997), "pledge": format!("bench-{i}")})
                    .as_object()
                    .cloned()
                    .unwrap_or_default(),
            )
        })
        .collect()
}

/// Appends batches for `seconds`; returns leaves per second.
async fn append_for(
    db: &sqlx::PgPool,
    ledger: &Ledger,
    start: usize,
    seconds: u64,
) -> (f64, usize) {
    let started = Instant::now();
    let mut n = start;
    while started.elapsed() < Duration::from_secs(seconds) {
        let mut tx = db.begin().await.expect("tx");
        ledger.append(&mut tx, &batch(n)).await.expect("append");
        tx.commit().await.expect("commit");
        n += BATCH;
    }
    ((n - start) as f64 / started.elapsed().as_secs_f64(), n)
}

/// A witness process on a port of its own, with a planted key.
struct WitnessProcess {
    child: std::process::Child,
    url: String,
    key: zhonglian::ledger::note::VerifierKey,
    dir: std::path::PathBuf,
}

impl WitnessProcess {
    async fn start(bin: &std::path::Path, name: &str, seed: u8, logs: &[String]) -> Self {
        let dir =
            std::env::temp_dir().join(format!("zl-bench-witness-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        std::fs::write(dir.join("witness.key"), hex::encode([seed; 32])).expect("key");
        let key = NoteSigner::new(name, KeyType::Cosignature, [seed; 32]).verifier_key();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("port")
            .port();
        let mut command = std::process::Command::new(bin);
        command
            .args(["witness", "--name", name, "--bind"])
            .arg(format!("127.0.0.1:{port}"))
            .arg("--data-dir")
            .arg(&dir)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
        for log in logs {
            command.arg("--log").arg(log);
        }
        let child = command.spawn().expect("zhonglian witness");
        let url = format!("http://127.0.0.1:{port}");
        let http = reqwest::Client::new();
        while http.get(format!("{url}/key")).send().await.is_err() {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Self {
            child,
            url,
            key,
            dir,
        }
    }
}

impl Drop for WitnessProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let seconds: u64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(20);
    let bin = std::env::current_exe()?
        .parent()
        .and_then(|p| p.parent())
        .map(|p| p.join("zhonglian"))
        .expect("target dir");
    let dir = std::env::temp_dir().join(format!("zhonglian-witness-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let cluster = Cluster::start(&dir.join("pg"), &ClusterOptions::for_server())?;
    cluster.stop_and_remove_after(std::process::id())?;
    zhonglian::db::create_database(&cluster, "bench").await?;
    let db = zhonglian::db::pool(cluster.connect_options("bench"), 8).await?;
    zhonglian::db::migrate(&db).await?;
    let ledger = Ledger::new(ORIGIN, SEED);
    ledger.ensure_checkpoint(&db).await?;
    let log_key = ledger.verifier_key();

    // 1. Appends without, then with, two witnesses.
    let (plain, next) = append_for(&db, &ledger, 0, seconds).await;
    let w1 = WitnessProcess::start(&bin, "bench.test/w1", 1, std::slice::from_ref(&log_key)).await;
    let w2 = WitnessProcess::start(&bin, "bench.test/w2", 2, std::slice::from_ref(&log_key)).await;
    let peers = vec![
        Peer {
            url: w1.url.clone(),
            key: w1.key.clone(),
        },
        Peer {
            url: w2.url.clone(),
            key: w2.key.clone(),
        },
    ];
    let worker = tokio::spawn(client::run(
        db.clone(),
        peers,
        std::sync::Arc::new(Status::default()),
    ));
    // Let the witnesses catch up with the first phase before timing.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let phase_start: time::OffsetDateTime =
        sqlx::query_scalar("SELECT now()").fetch_one(&db).await?;
    let (witnessed, _) = append_for(&db, &ledger, next, seconds).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    worker.abort();
    // For each checkpoint signed in the witnessed phase: the time until a checkpoint at least
    // as large carried both cosignatures.
    let covered: Vec<f64> = sqlx::query_scalar(
        "WITH both_cosigned AS (
             SELECT size, max(received_at) AS at FROM ledger_cosignatures
             GROUP BY size HAVING count(*) = 2)
         SELECT extract(epoch FROM (SELECT min(b.at) FROM both_cosigned b WHERE b.size >= c.size)
                                   - c.signed_at)::float8
         FROM ledger_checkpoints c
         WHERE c.signed_at >= $1
           AND EXISTS (SELECT 1 FROM both_cosigned b WHERE b.size >= c.size)",
    )
    .bind(phase_start)
    .fetch_all(&db)
    .await?;
    let signed: i64 =
        sqlx::query_scalar("SELECT count(*) FROM ledger_checkpoints WHERE signed_at >= $1")
            .bind(phase_start)
            .fetch_one(&db)
            .await?;
    let mut covered = covered;
    covered.sort_by(f64::total_cmp);
    drop((w1, w2));
    println!(
        "appends, batches of {BATCH}, {seconds} s each, {} cores",
        std::thread::available_parallelism().map_or(0, std::num::NonZero::get)
    );
    println!("  without witnesses:      {plain:.0} leaves/s");
    println!("  with two witnesses:     {witnessed:.0} leaves/s ({:.1}% of the rate without; target >= 90%)", 100.0 * witnessed / plain);
    println!(
        "  signed to cosigned by both: p50 {:.3} s, p99 {:.3} s over {} of {signed} checkpoints (target p99 <= 1 s)",
        percentile(&covered, 0.5),
        percentile(&covered, 0.99),
        covered.len()
    );

    // 2. One witness, 8 clients each with a log of its own, durable state.
    let logs: Vec<Signer> = (0..8u8)
        .map(|i| Signer::new(&format!("bench.test/log{i}"), [100 + i; 32]))
        .collect();
    let keys: Vec<String> = logs.iter().map(Signer::verifier_key).collect();
    let witness = WitnessProcess::start(&bin, "bench.test/alone", 3, &keys).await;
    let http = reqwest::Client::new();
    let started = Instant::now();
    let mut clients = tokio::task::JoinSet::new();
    for (i, log) in logs.into_iter().enumerate() {
        let (http, url) = (http.clone(), format!("{}/add-checkpoint", witness.url));
        clients.spawn(async move {
            let mut leaves: Vec<Hash> = Vec::new();
            let mut latencies = Vec::new();
            let mut size = 0u64;
            while started.elapsed() < Duration::from_secs(seconds) {
                let old = size;
                for j in 0..10 {
                    leaves.push(merkle::leaf_hash(format!("{i}-{old}-{j}").as_bytes()));
                }
                size = leaves.len() as u64;
                let proof = if old == 0 {
                    Vec::new()
                } else {
                    merkle::consistency_proof(&leaves, old, size).expect("proof")
                };
                let note = log.sign(size, &merkle::root_of(&leaves));
                let sent = Instant::now();
                let status = http
                    .post(&url)
                    .body(AddCheckpoint::body(old, &proof, &note))
                    .send()
                    .await
                    .expect("request")
                    .status();
                assert_eq!(status.as_u16(), 200);
                latencies.push(sent.elapsed().as_secs_f64());
            }
            latencies
        });
    }
    let mut latencies: Vec<f64> = clients.join_all().await.into_iter().flatten().collect();
    let elapsed = started.elapsed().as_secs_f64();
    latencies.sort_by(f64::total_cmp);
    println!(
        "witness add-checkpoint, 8 clients, durable state: {:.0} requests/s, p50 {:.1} ms, p99 {:.1} ms",
        latencies.len() as f64 / elapsed,
        1000.0 * percentile(&latencies, 0.5),
        1000.0 * percentile(&latencies, 0.99)
    );
    Ok(())
}
