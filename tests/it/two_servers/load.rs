//! The machinery of the two-servers test: the server processes, the clients' load, what they
//! saw, and the reads of the books afterwards.

use std::collections::{BTreeMap, HashMap};
use std::process::Child;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use sqlx::PgPool;
use uuid::Uuid;
use zhonglian::ledger::merkle;

use crate::support::{Backer, TestApp};

use super::MAX_REQUESTS_PER_CLIENT;

/// A `zhonglian serve` process, stopped (SIGTERM, then waited for) when dropped.
pub(super) struct Server {
    pub(super) child: Child,
    pub(super) base: String,
}

impl Server {
    pub(super) fn start(app: &TestApp, name: &str) -> Server {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free loopback port")
            .port();
        let data_dir = app.data_dir.join(name);
        std::fs::create_dir_all(&data_dir).expect("server data folder");
        let log = std::fs::File::create(data_dir.join("server.log")).expect("server log");
        let child = crate::support::serve_command(app, &data_dir)
            .env("BIND", format!("127.0.0.1:{port}"))
            .env("MIN_CAMPAIGN_SECONDS", "0")
            .env("PAYMENT_PROVIDER", "sandbox")
            .env("SETTLEMENT_BATCH_SIZE", "7")
            .env("DATABASE_POOL_SIZE", "12")
            .env("RUST_LOG", "warn")
            .stdout(log.try_clone().expect("server log"))
            .stderr(log)
            .spawn()
            .expect("server process");
        Server {
            child,
            base: format!("http://127.0.0.1:{port}"),
        }
    }

    /// Waits (at most 60 s) until `/healthz` says ok.
    pub(super) async fn wait_until_healthy(&mut self, client: &reqwest::Client) {
        for _ in 0..600 {
            if let Some(status) = self.child.try_wait().expect("server status") {
                panic!("the server at {} exited early: {status}", self.base);
            }
            if let Ok(r) = client.get(format!("{}/healthz", self.base)).send().await {
                if r.status() == StatusCode::OK {
                    return;
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the server at {} never became healthy", self.base);
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let pid = nix::unistd::Pid::from_raw(self.child.id() as i32);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
        for _ in 0..100 {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A JSON request with a bearer token to `base`; returns the status and the body (Null if none).
pub(super) async fn call(
    client: &reqwest::Client,
    base: &str,
    method: Method,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut request = client
        .request(method, format!("{base}/api/v1{path}"))
        .bearer_auth(token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.expect("a request to a running server");
    let status = response.status();
    let text = response.text().await.unwrap_or_default();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

pub(super) fn rfc3339_in(seconds: i64) -> String {
    (time::OffsetDateTime::now_utc() + time::Duration::seconds(seconds))
        .format(&time::format_description::well_known::Rfc3339)
        .expect("a time")
}

/// A live project with its tiers (id, price).
pub(super) struct Listing {
    pub(super) id: Uuid,
    pub(super) tiers: Vec<(Uuid, &'static str)>,
    pub(super) equity: bool,
}

/// Creates a reward project through `base` as `founder`, has `regulator` approve it, and
/// returns it.
pub(super) async fn launch_reward(
    client: &reqwest::Client,
    base: &str,
    (founder, regulator): (&str, &str),
    title: &str,
    goal: &str,
    deadline_in: i64,
    tiers: &[(&'static str, Option<i64>)],
) -> Listing {
    let tier_json: Vec<Value> = tiers
        .iter()
        .enumerate()
        .map(|(i, (price, limit))| json!({"title": format!("Tier {i}"), "price": price, "quantity_limit": limit}))
        .collect();
    let (status, created) = call(
        client,
        base,
        Method::POST,
        "/projects",
        founder,
        Some(json!({
            "title": title, "summary": "A project under load", "story": "Our story.",
            "category": "design", "kind": "reward", "goal": goal,
            "deadline": rfc3339_in(deadline_in), "tiers": tier_json,
        })),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "creating {title}: {created}");
    let id: Uuid = created["project"]["id"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .expect("project id");
    let (status, body) = call(
        client,
        base,
        Method::POST,
        &format!("/projects/{id}/submit"),
        founder,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "submitting {title}: {body}");
    let (status, body) = call(
        client,
        base,
        Method::POST,
        &format!("/regulator/projects/{id}/approve"),
        regulator,
        Some(json!({"reason": "Complete listing."})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "approving {title}: {body}");
    let tiers = created["tiers"]
        .as_array()
        .expect("tiers")
        .iter()
        .zip(tiers)
        .map(|(t, (price, _))| (t["id"].as_str().unwrap().parse().unwrap(), *price))
        .collect();
    Listing {
        id,
        tiers,
        equity: false,
    }
}

/// What the clients saw, by server and status.
#[derive(Default)]
pub(super) struct Tally {
    pub(super) answers: BTreeMap<(usize, u16), u64>,
    pub(super) server_errors: Vec<String>,
}

impl Tally {
    pub(super) fn record(&mut self, server: usize, what: &str, status: StatusCode, body: &Value) {
        *self.answers.entry((server, status.as_u16())).or_default() += 1;
        // 503 is the pledge desk's bounded refusal (with Retry-After); anything else 5xx is a bug.
        if status.is_server_error() && status != StatusCode::SERVICE_UNAVAILABLE {
            self.server_errors.push(format!("{what}: {status} {body}"));
        }
    }

    pub(super) fn successes_on(&self, server: usize) -> u64 {
        self.answers
            .iter()
            .filter(|((s, code), _)| *s == server && (200..300).contains(code))
            .map(|(_, n)| n)
            .sum()
    }
}

/// One backer pledging, changing and cancelling at random until `until`, alternating servers.
pub(super) async fn backer_load(
    bases: Arc<Vec<String>>,
    listings: Arc<Vec<Listing>>,
    backer: Backer,
    seed: u64,
    until: Instant,
    tally: Arc<Mutex<Tally>>,
) {
    // Longer than the server's own 30 s request limit, so that a request slowed down by a noisy
    // machine is answered by the server (408) and counted, not dropped by this client: this
    // test is about the books, and latency is the benchmarks' business.
    // The server closes a keep-alive connection that stays idle for its header read timeout
    // (10 s); a client that keeps idle connections longer can send on one just as it closes.
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(45))
        .pool_idle_timeout(Duration::from_secs(2))
        .build()
        .expect("client");
    let mut rng = StdRng::seed_from_u64(seed);
    // My active pledge per project, as far as I know.
    let mut mine: HashMap<Uuid, Uuid> = HashMap::new();
    for n in 0..MAX_REQUESTS_PER_CLIENT {
        if Instant::now() >= until {
            break;
        }
        let server = (n + seed as usize) % bases.len();
        let base = &bases[server];
        // The hot project (index 0) is what everyone wants; the rest spread the load.
        let listing = if rng.gen_bool(0.4) {
            &listings[0]
        } else {
            &listings[rng.gen_range(1..listings.len())]
        };
        let (what, status, body) = match mine.get(&listing.id).copied() {
            None => {
                let body = if listing.equity {
                    json!({"shares": rng.gen_range(5..=15), "acknowledge_risk": true,
                           "annual_income": "100000.00", "net_worth": "100000.00"})
                } else {
                    let (tier, price) = listing.tiers[rng.gen_range(0..listing.tiers.len())];
                    json!({"tier_id": tier, "amount": price})
                };
                let path = format!("/projects/{}/pledges", listing.id);
                let (status, answer) = call(
                    &client,
                    base,
                    Method::POST,
                    &path,
                    &backer.token,
                    Some(body),
                )
                .await;
                if status == StatusCode::CREATED {
                    if let Some(id) = answer["id"].as_str().and_then(|s| s.parse().ok()) {
                        mine.insert(listing.id, id);
                    }
                }
                ("pledge", status, answer)
            }
            Some(pledge) if rng.gen_bool(0.6) && !listing.equity => {
                let (tier, price) = listing.tiers[rng.gen_range(0..listing.tiers.len())];
                let extra = rng.gen_range(0..30);
                let amount = format!(
                    "{}",
                    price.parse::<rust_decimal::Decimal>().unwrap()
                        + rust_decimal::Decimal::from(extra)
                );
                let (status, answer) = call(
                    &client,
                    base,
                    Method::PATCH,
                    &format!("/pledges/{pledge}"),
                    &backer.token,
                    Some(json!({"tier_id": tier, "amount": amount})),
                )
                .await;
                ("change", status, answer)
            }
            Some(pledge) => {
                let (status, answer) = call(
                    &client,
                    base,
                    Method::DELETE,
                    &format!("/pledges/{pledge}"),
                    &backer.token,
                    None,
                )
                .await;
                // Cancelled, or no longer cancellable (ended, settled): either way not mine to
                // change again.
                if status == StatusCode::OK || status == StatusCode::CONFLICT {
                    mine.remove(&listing.id);
                }
                ("cancel", status, answer)
            }
        };
        tally.lock().unwrap().record(server, what, status, &body);
    }
}

/// The regulator freezing a random project and unfreezing it a moment later, until `until`.
pub(super) async fn regulator_load(
    bases: Arc<Vec<String>>,
    projects: Vec<Uuid>,
    token: String,
    until: Instant,
    tally: Arc<Mutex<Tally>>,
) -> u64 {
    let client = crate::support::client();
    let mut rng = StdRng::seed_from_u64(7);
    let mut frozen = 0;
    for n in 0..200usize {
        if Instant::now() >= until {
            break;
        }
        let project = projects[rng.gen_range(0..projects.len())];
        let server = n % bases.len();
        let reason = json!({"reason": "Checking a complaint."});
        let (status, body) = call(
            &client,
            &bases[server],
            Method::POST,
            &format!("/regulator/projects/{project}/freeze"),
            &token,
            Some(reason.clone()),
        )
        .await;
        tally
            .lock()
            .unwrap()
            .record(server, "freeze", status, &body);
        if status == StatusCode::OK {
            frozen += 1;
            tokio::time::sleep(Duration::from_millis(rng.gen_range(300..1500))).await;
            // Unfreeze through the other server; retried so nothing stays frozen.
            let mut unfrozen = false;
            for attempt in 0..20 {
                let other = (server + 1 + attempt) % bases.len();
                let (status, body) = call(
                    &client,
                    &bases[other],
                    Method::POST,
                    &format!("/regulator/projects/{project}/unfreeze"),
                    &token,
                    Some(reason.clone()),
                )
                .await;
                tally
                    .lock()
                    .unwrap()
                    .record(other, "unfreeze", status, &body);
                if status == StatusCode::OK {
                    unfrozen = true;
                    break;
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            assert!(unfrozen, "project {project} could not be unfrozen");
        }
        tokio::time::sleep(Duration::from_millis(rng.gen_range(500..1500))).await;
    }
    frozen
}

/// A signed checkpoint's size and root.
pub(super) fn parse_checkpoint(note: &str) -> (u64, merkle::Hash) {
    let mut lines = note.lines();
    let _origin = lines.next().expect("origin line");
    let size = lines
        .next()
        .and_then(|l| l.parse().ok())
        .expect("size line");
    let root = lines
        .next()
        .and_then(|l| base64::engine::general_purpose::STANDARD.decode(l).ok())
        .and_then(|b| b.try_into().ok())
        .expect("root line");
    (size, root)
}

/// Checkpoints from both servers, every 1-2 s, until `until`.
pub(super) async fn checkpoint_load(
    bases: Arc<Vec<String>>,
    until: Instant,
) -> Vec<(u64, merkle::Hash)> {
    let client = crate::support::client();
    let mut seen = Vec::new();
    for n in 0..200usize {
        if Instant::now() >= until {
            break;
        }
        let response = client
            .get(format!(
                "{}/api/v1/ledger/checkpoint",
                bases[n % bases.len()]
            ))
            .send()
            .await
            .expect("checkpoint request");
        assert_eq!(response.status(), StatusCode::OK);
        seen.push(parse_checkpoint(&response.text().await.expect("note")));
        tokio::time::sleep(Duration::from_millis(1000 + (n as u64 % 3) * 300)).await;
    }
    seen
}

/// The first error lines the two servers logged (they log only warnings and errors here).
pub(super) fn server_errors_logged(data_dir: &std::path::Path) -> String {
    ["a", "b"]
        .iter()
        .filter_map(|name| std::fs::read_to_string(data_dir.join(name).join("server.log")).ok())
        .flat_map(|log| {
            log.lines()
                .filter(|l| l.contains("ERROR") || l.contains("error"))
                .take(5)
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

pub(super) async fn scalar(db: &PgPool, sql: &str) -> i64 {
    sqlx::query_scalar(sql)
        .fetch_one(db)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}
