//! The log's side of witnessing: after each new checkpoint, the latest one goes to every
//! witness of `LEDGER_WITNESSES` with the consistency proof from the size that witness last
//! cosigned, and the cosignatures that come back are checked and stored, so the published
//! checkpoint carries them. It runs beside the appends and never holds them up: a witness that
//! is down or refuses is asked again with backoff and only shows as lag.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sqlx::PgPool;

use super::request::AddCheckpoint;
use crate::config::Witnesses;
use crate::ledger::note::{KeyType, SignatureLine, VerifierKey};
use crate::ledger::{cosignatures, store, witness_peers};

/// How often the latest checkpoint is looked at.
const POLL: Duration = Duration::from_millis(200);
/// The longest wait between attempts at a failing witness.
const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// How long one request may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// The advisory lock that makes one server process at a time submit (several may share a
/// database).
const LOCK: &str = "zhonglian/witnessing";

/// One witness the log submits to.
#[derive(Debug, Clone)]
pub struct Peer {
    pub url: String,
    pub key: VerifierKey,
}

/// Parses the witnesses of the settings: each key must be a cosignature key (type 0x04), and
/// no two may share a name.
pub fn peers(witnesses: &Witnesses) -> anyhow::Result<Vec<Peer>> {
    let mut peers: Vec<Peer> = Vec::new();
    for peer in &witnesses.0 {
        let key = VerifierKey::parse(&peer.key)
            .map_err(|e| anyhow::anyhow!("LEDGER_WITNESSES: the key `{}`: {e}", peer.key))?;
        anyhow::ensure!(
            key.kind() == KeyType::Cosignature,
            "LEDGER_WITNESSES: the key of {} is not a cosignature key (type 0x04)",
            key.name()
        );
        anyhow::ensure!(
            !peers.iter().any(|p| p.key.name() == key.name()),
            "LEDGER_WITNESSES: the witness {} is named twice",
            key.name()
        );
        peers.push(Peer {
            url: peer.url.clone(),
            key,
        });
    }
    Ok(peers)
}

/// What `/metrics` says of one witness.
#[derive(Debug, Clone, Default)]
pub struct Lag {
    pub witness: String,
    pub cosigned_size: u64,
    pub behind: u64,
    /// Seconds since it last cosigned, when it ever did in this process.
    pub seconds_since: Option<f64>,
    pub failures: u64,
}

/// The lag of every witness, as the client last saw it.
#[derive(Debug, Default)]
pub struct Status(Mutex<Vec<Lag>>);

impl Status {
    /// The Prometheus exposition of the lags.
    pub fn render(&self) -> String {
        use std::fmt::Write;
        let lags = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut out = String::new();
        let gauges = [
            (
                "zhonglian_witness_cosigned_size",
                "The size the witness last cosigned.",
            ),
            (
                "zhonglian_witness_behind_leaves",
                "Leaves the witness has not cosigned yet.",
            ),
            (
                "zhonglian_witness_seconds_since_cosignature",
                "Seconds since its last cosignature.",
            ),
            (
                "zhonglian_witness_failures",
                "Attempts failed since its last cosignature.",
            ),
        ];
        for (i, (name, help)) in gauges.iter().enumerate() {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge");
            for lag in lags.iter() {
                let value = match i {
                    0 => lag.cosigned_size as f64,
                    1 => lag.behind as f64,
                    2 => match lag.seconds_since {
                        Some(s) => s,
                        None => continue,
                    },
                    _ => lag.failures as f64,
                };
                let _ = writeln!(out, "{name}{{witness=\"{}\"}} {value}", lag.witness);
            }
        }
        out
    }
}

/// The state of one witness within the client.
struct Follow {
    peer: Peer,
    known: Option<u64>,
    failures: u32,
    next_attempt: Instant,
    last_cosigned: Option<Instant>,
}

/// Submits checkpoints to the witnesses for ever (started by `serve` when witnesses are named).
pub async fn run(db: PgPool, peers: Vec<Peer>, status: Arc<Status>) {
    let http = reqwest::Client::builder()
        .timeout(REQUEST_TIMEOUT)
        .build()
        .expect("an HTTP client");
    let registered: Vec<(String, VerifierKey)> = peers
        .iter()
        .map(|p| (p.url.clone(), p.key.clone()))
        .collect();
    while let Err(error) = witness_peers::register(&db, &registered).await {
        tracing::warn!(%error, "witnesses not registered yet");
        tokio::time::sleep(MAX_BACKOFF).await;
    }
    let mut follows: Vec<Follow> = peers
        .into_iter()
        .map(|peer| Follow {
            peer,
            known: None,
            failures: 0,
            next_attempt: Instant::now(),
            last_cosigned: None,
        })
        .collect();
    let mut lock: Option<sqlx::pool::PoolConnection<sqlx::Postgres>> = None;
    loop {
        tokio::time::sleep(POLL).await;
        if lock.is_none() {
            lock = take_lock(&db).await;
            if lock.is_none() {
                continue;
            }
        }
        let latest = match store::latest_checkpoint(&db).await {
            Ok(Some(latest)) => latest,
            Ok(None) => continue,
            Err(error) => {
                tracing::warn!(%error, "no checkpoint to submit");
                lock = None;
                continue;
            }
        };
        let now = Instant::now();
        let due: Vec<usize> = (0..follows.len())
            .filter(|&i| follows[i].known != Some(latest.0) && follows[i].next_attempt <= now)
            .collect();
        let mut attempts = tokio::task::JoinSet::new();
        for &i in &due {
            let (db, http, peer, known, latest) = (
                db.clone(),
                http.clone(),
                follows[i].peer.clone(),
                follows[i].known,
                latest.clone(),
            );
            attempts.spawn(async move { (i, submit(&db, &http, &peer, known, &latest).await) });
        }
        for (i, outcome) in attempts.join_all().await {
            let follow = &mut follows[i];
            match outcome {
                Ok(size) => {
                    follow.known = Some(size);
                    follow.failures = 0;
                    follow.last_cosigned = Some(Instant::now());
                }
                Err(error) => {
                    tracing::warn!(witness = follow.peer.key.name(), %error, "witness did not cosign");
                    let _ = witness_peers::failed(&db, &follow.peer.key, &error.to_string()).await;
                    follow.failures += 1;
                    let wait = POLL * 2u32.saturating_pow(follow.failures.min(8));
                    follow.next_attempt = Instant::now() + wait.min(MAX_BACKOFF);
                }
            }
        }
        let lags = follows
            .iter()
            .map(|f| Lag {
                witness: f.peer.key.name().to_owned(),
                cosigned_size: f.known.unwrap_or(0),
                behind: latest.0.saturating_sub(f.known.unwrap_or(0)),
                seconds_since: f.last_cosigned.map(|t| t.elapsed().as_secs_f64()),
                failures: u64::from(f.failures),
            })
            .collect();
        *status
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = lags;
    }
}

/// The session-level advisory lock on a connection of its own, when no other process holds it.
async fn take_lock(db: &PgPool) -> Option<sqlx::pool::PoolConnection<sqlx::Postgres>> {
    let mut conn = db.acquire().await.ok()?;
    let taken: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock(hashtextextended($1, 0))")
        .bind(LOCK)
        .fetch_one(&mut *conn)
        .await
        .ok()?;
    taken.then_some(conn)
}

/// Submits the checkpoint `latest` to `peer` until it is cosigned (learning the witness's size
/// from a 409 at most twice), and returns the size it cosigned.
async fn submit(
    db: &PgPool,
    http: &reqwest::Client,
    peer: &Peer,
    known: Option<u64>,
    latest: &(u64, String),
) -> anyhow::Result<u64> {
    let (size, note) = latest;
    let mut old = match known {
        Some(k) => k,
        None => witness_peers::cosigned_size(db, &peer.key)
            .await?
            .unwrap_or(0),
    };
    for _ in 0..3 {
        anyhow::ensure!(
            old <= *size,
            "the witness has cosigned size {old}, beyond the log's {size}"
        );
        let proof = if old == 0 || old == *size {
            Vec::new()
        } else {
            store::consistency(db, old, *size).await?.path
        };
        match post(http, peer, &AddCheckpoint::body(old, &proof, note)).await? {
            Answer::Cosigned(lines) => {
                let mut conn = db.acquire().await?;
                let mut stored = false;
                for line in lines.iter().filter(|l| peer.key.owns(l)) {
                    cosignatures::record(&mut conn, *size, &peer.key, line).await?;
                    stored = true;
                }
                anyhow::ensure!(stored, "the answer holds no cosignature by its key");
                witness_peers::cosigned(db, &peer.key, *size, true).await?;
                return Ok(*size);
            }
            Answer::AtSize(at) => {
                witness_peers::cosigned(db, &peer.key, at, false).await?;
                if at == *size {
                    return Ok(at);
                }
                old = at;
            }
        }
    }
    anyhow::bail!("the witness's size kept changing")
}

/// One `add-checkpoint` request.
async fn post(http: &reqwest::Client, peer: &Peer, body: &str) -> anyhow::Result<Answer> {
    let response = http
        .post(format!("{}/add-checkpoint", peer.url))
        .body(body.to_owned())
        .send()
        .await?;
    let status = response.status().as_u16();
    let is_size = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("text/x.tlog.size"));
    let text = response.text().await?;
    match status {
        200 => Ok(Answer::Cosigned(
            text.lines()
                .filter(|l| !l.is_empty())
                .map(SignatureLine::parse)
                .collect::<Result<Vec<_>, _>>()?,
        )),
        409 if is_size => Ok(Answer::AtSize(
            super::request::parse_size(text.trim_end_matches('\n'))
                .ok_or_else(|| anyhow::anyhow!("a 409 without a size: {text:?}"))?,
        )),
        _ => anyhow::bail!("{status}: {}", text.trim()),
    }
}

/// What a witness answered.
enum Answer {
    /// 200: its signature lines.
    Cosigned(Vec<SignatureLine>),
    /// 409: the size it is at; submit again from there.
    AtSize(u64),
}
