//! Open-loop load for latency figures (see `bench/listings.sh`).
//!
//! Sends GET requests at a fixed rate whatever the server's pace, cycling through the paths in a
//! file, and times each request from the moment it was due. A closed-loop tool (`wrk`) waits for
//! an answer before it asks again, so a slow server slows its own load and its queue never shows
//! in the percentiles; here a request that waits behind a slow one is counted as late.
//!
//! Prints one line: the asked and achieved rates, p50/p90/p99/max, and the requests that failed
//! or were not sent because `--max-in-flight` were already waiting.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::Parser;
use tokio::sync::{mpsc, Semaphore};

#[derive(Parser)]
struct Args {
    /// Base URL of the running server.
    #[arg(long, default_value = "http://127.0.0.1:18080")]
    url: String,
    /// A file of paths, one per line (blank lines and lines starting with `#` are skipped).
    #[arg(long)]
    paths: PathBuf,
    /// Requests per second.
    #[arg(long)]
    rate: f64,
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Requests waiting at once before new ones are given up as failed.
    #[arg(long, default_value_t = 1024)]
    max_in_flight: usize,
}

enum Outcome {
    Answered(Duration),
    Failed,
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1].as_secs_f64() * 1000.0
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if !(args.rate > 0.0 && args.rate.is_finite()) {
        bail!("--rate must be a positive number of requests per second");
    }
    let paths: Vec<String> = std::fs::read_to_string(&args.paths)
        .with_context(|| format!("reading {}", args.paths.display()))?
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| format!("{}{l}", args.url.trim_end_matches('/')))
        .collect();
    if paths.is_empty() {
        bail!("{} holds no paths", args.paths.display());
    }
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()?;
    let total = (args.rate * args.seconds as f64).round() as u64;
    let period = Duration::from_secs_f64(1.0 / args.rate);
    let in_flight = Arc::new(Semaphore::new(args.max_in_flight));
    let (tx, mut rx) = mpsc::unbounded_channel();
    let start = Instant::now();
    for n in 0..total {
        let due = start + period.mul_f64(n as f64);
        tokio::time::sleep_until(due.into()).await;
        let Ok(permit) = in_flight.clone().try_acquire_owned() else {
            tx.send(Outcome::Failed)?;
            continue;
        };
        let request = client.get(&paths[n as usize % paths.len()]);
        let tx = tx.clone();
        tokio::spawn(async move {
            let answered = match request.send().await {
                Ok(response) if response.status().is_success() => response.bytes().await.is_ok(),
                _ => false,
            };
            drop(permit);
            let _ = tx.send(if answered {
                Outcome::Answered(due.elapsed())
            } else {
                Outcome::Failed
            });
        });
    }
    drop(tx);
    let mut latencies = Vec::with_capacity(total as usize);
    let mut failed = 0u64;
    while let Some(outcome) = rx.recv().await {
        match outcome {
            Outcome::Answered(latency) => latencies.push(latency),
            Outcome::Failed => failed += 1,
        }
    }
    let elapsed = start.elapsed().as_secs_f64();
    latencies.sort_unstable();
    println!(
        "asked {:.0}/s, answered {:.0}/s, p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms, max {:.2} ms, \
         failed {failed} of {total}",
        args.rate,
        latencies.len() as f64 / elapsed,
        percentile(&latencies, 50.0),
        percentile(&latencies, 90.0),
        percentile(&latencies, 99.0),
        percentile(&latencies, 100.0),
    );
    Ok(())
}
