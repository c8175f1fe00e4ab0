//! Load generator for the pledge benchmark (see `bench/pledges.sh`).
//!
//! Prepares its own data in the server's database (backers with sessions and funded wallets,
//! live projects with tiers: fixtures, as the catalogue is not this generator's business), then
//! sends `POST /api/v1/projects/{id}/pledges` with a Bearer token and an Idempotency-Key from
//! `--clients` concurrent clients for `--seconds`, and prints one JSON line of figures.
//!
//! Scenarios: `spread` (each client walks its own projects; no shared rows), `hot` (every
//! client pledges for one limited tier of one project: tier, escrow and project rows are hot),
//! `orders` (every client places buy orders in one open auction of a funded equity offering,
//! each by its own investor: `POST /api/v1/auctions/{id}/orders`, the market escrow is hot).

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use rust_decimal::Decimal;
use sqlx::postgres::PgConnectOptions;
use sqlx::PgPool;
use uuid::Uuid;
use zhonglian::accounts::domain::UserId;
use zhonglian::config::Settings;
use zhonglian::money::{self, AccountOwner, EntryKind, Posting};

#[derive(Parser)]
struct Args {
    /// Base URL of the running server.
    #[arg(long, default_value = "http://127.0.0.1:18080")]
    url: String,
    /// The server's data folder (its embedded cluster and secret live there).
    #[arg(long)]
    data_dir: PathBuf,
    #[arg(long, default_value_t = 32)]
    clients: usize,
    #[arg(long, default_value_t = 15)]
    seconds: u64,
    /// `spread`, `hot` or `orders`.
    #[arg(long, default_value = "spread")]
    scenario: String,
    /// The server's process id, to sample its resident memory under load.
    #[arg(long)]
    server_pid: Option<u32>,
    /// Most pledges one run can make (sizes the fixtures).
    #[arg(long, default_value_t = 60_000)]
    capacity: usize,
}

fn superuser() -> String {
    if nix::unistd::geteuid().is_root() {
        "postgres".into()
    } else {
        std::env::var("USER").unwrap_or_else(|_| "postgres".into())
    }
}

fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// One pledge to send: (bearer token, project, tier).
type Job = (Arc<str>, Uuid, Uuid);

struct Fixture {
    /// Each client's jobs, in order.
    clients: Vec<Vec<Job>>,
}

async fn fixture(args: &Args, db: &PgPool) -> anyhow::Result<Fixture> {
    let settings = Settings::for_data_dir(args.data_dir.clone());
    let app = zhonglian::Application::build(settings, db.clone()).await?;
    let state = app.state().clone();
    let run = Uuid::new_v4().simple().to_string()[..8].to_owned();
    let founder = Uuid::new_v4();
    sqlx::query(
        "INSERT INTO users (id, email, display_name, password_hash, roles)
         VALUES ($1, $2, 'Bench founder', 'bench: no password', '{founder}')",
    )
    .bind(founder)
    .bind(format!("bench-founder-{run}@example.com"))
    .execute(db)
    .await?;
    // Spread: each client has one backer and walks its own share of projects. Hot: every pledge
    // needs its own backer (one active pledge per backer and project), on one project.
    let (backers, projects) = match args.scenario.as_str() {
        "hot" | "orders" => (args.capacity, 1),
        _ => (args.clients, args.capacity),
    };
    let project_ids: Vec<Uuid> = (0..projects).map(|_| Uuid::new_v4()).collect();
    let tier_ids: Vec<Uuid> = (0..projects).map(|_| Uuid::new_v4()).collect();
    sqlx::query(
        "INSERT INTO projects (id, founder_id, slug, title, category, kind, state, goal, deadline,
                               launched_at)
         SELECT p, $2, 'bench-' || $3 || '-' || i, 'Bench project ' || i, 'design', 'reward',
                'live', 100000, now() + interval '7 days', now()
         FROM unnest($1::uuid[]) WITH ORDINALITY AS t(p, i)",
    )
    .bind(&project_ids)
    .bind(founder)
    .bind(&run)
    .execute(db)
    .await?;
    let limit: Option<i32> = (args.scenario == "hot").then_some(i32::MAX);
    sqlx::query(
        "INSERT INTO reward_tiers (id, project_id, title, price, quantity_limit)
         SELECT t, p, 'Bench tier', 10, $3 FROM unnest($1::uuid[], $2::uuid[]) AS x(t, p)",
    )
    .bind(&tier_ids)
    .bind(&project_ids)
    .bind(limit)
    .execute(db)
    .await?;
    // Escrow accounts exist before the run, as they would after a project's first pledge.
    sqlx::query(
        "INSERT INTO money_accounts (id, kind, owner_id, currency)
         SELECT gen_random_uuid(), 'project_escrow', p, 'CNY' FROM unnest($1::uuid[]) AS t(p)",
    )
    .bind(&project_ids)
    .execute(db)
    .await?;
    let user_ids: Vec<Uuid> = (0..backers).map(|_| Uuid::new_v4()).collect();
    sqlx::query(
        "INSERT INTO users (id, email, display_name, password_hash, roles)
         SELECT u, 'bench-' || $2 || '-' || i || '@example.com', 'Bench backer',
                'bench: no password', '{backer}'
         FROM unnest($1::uuid[]) WITH ORDINALITY AS t(u, i)",
    )
    .bind(&user_ids)
    .bind(&run)
    .execute(db)
    .await?;
    // Fund every wallet in one balanced journal entry from the gateway.
    sqlx::query(
        "INSERT INTO money_accounts (id, kind, owner_id, currency)
         SELECT gen_random_uuid(), 'backer_wallet', u, 'CNY' FROM unnest($1::uuid[]) AS t(u)",
    )
    .bind(&user_ids)
    .execute(db)
    .await?;
    let mut conn = db.acquire().await?;
    let gateway = money::account_for(&mut conn, AccountOwner::Gateway, "CNY").await?;
    let per_backer = Decimal::from(10 * (projects as i64 + 10));
    let wallets: Vec<Uuid> = sqlx::query_scalar(
        "SELECT id FROM money_accounts WHERE kind = 'backer_wallet' AND owner_id = ANY($1)",
    )
    .bind(&user_ids)
    .fetch_all(&mut *conn)
    .await?;
    // One deposit entry per backer: the journal's balance check re-sums an entry for each of
    // its postings, so one entry funding every wallet would cost O(backers^2) at commit.
    for wallet in wallets {
        let postings = [
            Posting {
                account: gateway,
                amount: -per_backer,
            },
            Posting {
                account: money::AccountId(wallet),
                amount: per_backer,
            },
        ];
        money::post_entry(&mut conn, EntryKind::Deposit, "bench", None, &postings).await?;
    }
    drop(conn);
    // Sessions are opened many at a time: each is one committed insert.
    let mut tokens = Vec::with_capacity(backers);
    for chunk in user_ids.chunks(64) {
        let mut set = tokio::task::JoinSet::new();
        for (n, user) in chunk.iter().enumerate() {
            let state = state.clone();
            let user = zhonglian::accounts::User {
                id: UserId(*user),
                email: format!("bench-{run}-{n}@example.com"),
                display_name: "Bench backer".into(),
                roles: vec![zhonglian::accounts::domain::Role::Backer],
                time_zone: None,
                created_at: time::OffsetDateTime::now_utc(),
            };
            set.spawn(async move {
                zhonglian::accounts::open_session(&state.db, &state.keys, user, None).await
            });
        }
        while let Some(session) = set.join_next().await {
            tokens.push(session??.token);
        }
    }
    if args.scenario == "orders" {
        let auction = open_auction(db, project_ids[0], founder).await?;
        let tokens: Vec<Arc<str>> = tokens.into_iter().map(Arc::from).collect();
        let mut clients: Vec<Vec<Job>> = vec![Vec::new(); args.clients];
        for (i, token) in tokens.iter().enumerate() {
            clients[i % args.clients].push((token.clone(), auction, Uuid::nil()));
        }
        return Ok(Fixture { clients });
    }
    let pairs: Vec<(Uuid, Uuid)> = project_ids.into_iter().zip(tier_ids).collect();
    let tokens: Vec<Arc<str>> = tokens.into_iter().map(Arc::from).collect();
    let mut clients: Vec<Vec<Job>> = vec![Vec::new(); args.clients];
    if args.scenario == "hot" {
        // Every pledge on the one project, each by its own backer.
        for (i, token) in tokens.iter().enumerate() {
            let (project, tier) = pairs[0];
            clients[i % args.clients].push((token.clone(), project, tier));
        }
    } else {
        // Client c pledges with its own backer across its own slice of projects.
        let slice = pairs.len() / args.clients;
        for (c, jobs) in clients.iter_mut().enumerate() {
            for (project, tier) in &pairs[c * slice..(c + 1) * slice] {
                jobs.push((tokens[c].clone(), *project, *tier));
            }
        }
    }
    Ok(Fixture { clients })
}

/// Makes the bench's one project a funded equity offering at 10.00 a share and opens an
/// auction of it for an hour; returns the auction's id.
async fn open_auction(db: &PgPool, project: Uuid, founder: Uuid) -> anyhow::Result<Uuid> {
    sqlx::query("UPDATE projects SET kind = 'equity', state = 'funded' WHERE id = $1")
        .bind(project)
        .execute(db)
        .await?;
    sqlx::query(
        "INSERT INTO equity_offerings (project_id, price_per_share, min_shares, max_shares,
             pre_money_valuation, security_type, risk_warning, max_investors)
         VALUES ($1, 10, 1, 1000, 1000000, 'ordinary_shares', 'Investing is risky.', 1000000)",
    )
    .bind(project)
    .execute(db)
    .await?;
    let auction = Uuid::new_v4();
    sqlx::query(
        "INSERT INTO auctions (id, project_id, opens_at, closes_at, created_by)
         VALUES ($1, $2, now() - interval '1 minute', now() + interval '1 hour', $3)",
    )
    .bind(auction)
    .bind(project)
    .bind(founder)
    .execute(db)
    .await?;
    Ok(auction)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let options = PgConnectOptions::new()
        .host(&args.data_dir.join("pg").display().to_string())
        .port(5432)
        .username(&superuser())
        .database(zhonglian::db::EMBEDDED_DATABASE);
    let db = zhonglian::db::pool(options, 8).await?;
    let fixture = fixture(&args, &db).await?;

    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(args.clients)
        .build()?;
    let stop = Arc::new(AtomicBool::new(false));
    let refused = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let peak_rss = Arc::new(AtomicU64::new(0));
    if let Some(pid) = args.server_pid {
        let (stop, peak) = (stop.clone(), peak_rss.clone());
        tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                if let Some(kib) = rss_kib(pid) {
                    peak.fetch_max(kib, Ordering::Relaxed);
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        });
    }
    let started = Instant::now();
    let deadline = started + Duration::from_secs(args.seconds);
    let mut tasks = Vec::new();
    for jobs in fixture.clients {
        let (http, url, refused, failed) = (
            http.clone(),
            args.url.clone(),
            refused.clone(),
            failed.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            for (token, target, tier) in jobs {
                if Instant::now() >= deadline {
                    break;
                }
                let sent = Instant::now();
                let (path, body) = if tier.is_nil() {
                    (
                        format!("{url}/api/v1/auctions/{target}/orders"),
                        serde_json::json!({"side": "buy", "shares": 1, "limit_price": "10.00",
                                           "annual_income": "80000", "net_worth": "150000"}),
                    )
                } else {
                    (
                        format!("{url}/api/v1/projects/{target}/pledges"),
                        serde_json::json!({"tier_id": tier, "amount": "10.00"}),
                    )
                };
                let response = http
                    .post(path)
                    .bearer_auth(&*token)
                    .header("idempotency-key", Uuid::new_v4().to_string())
                    .json(&body)
                    .send()
                    .await;
                let elapsed = sent.elapsed();
                match response.map(|r| r.status().as_u16()) {
                    Ok(201) => latencies.push(elapsed),
                    Ok(409) => {
                        refused.fetch_add(1, Ordering::Relaxed);
                    }
                    _ => {
                        failed.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
            latencies
        }));
    }
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await?);
    }
    let elapsed = started.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    latencies.sort_unstable();
    let pct = |p: f64| -> f64 {
        if latencies.is_empty() {
            return 0.0;
        }
        let i = ((latencies.len() as f64 * p).ceil() as usize).clamp(1, latencies.len()) - 1;
        latencies[i].as_secs_f64() * 1000.0
    };
    let figures = serde_json::json!({
        "scenario": args.scenario,
        "clients": args.clients,
        "pledges": latencies.len(),
        "refused": refused.load(Ordering::Relaxed),
        "failed": failed.load(Ordering::Relaxed),
        "seconds": (elapsed * 100.0).round() / 100.0,
        "pledges_per_second": ((latencies.len() as f64 / elapsed) * 10.0).round() / 10.0,
        "p50_ms": (pct(0.50) * 10.0).round() / 10.0,
        "p99_ms": (pct(0.99) * 10.0).round() / 10.0,
        "server_peak_rss_mib": peak_rss.load(Ordering::Relaxed) / 1024,
    });
    let check = money::check_journal(&db).await?;
    if !check.is_sound() {
        anyhow::bail!("the books do not balance after the run: {check:?}");
    }
    println!("{figures}");
    Ok(())
}
