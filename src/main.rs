//! Zhonglian's command line: a thin shell over the library.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use zhonglian::accounts::domain::Role;
use zhonglian::config::Settings;
use zhonglian::db::Database;
use zhonglian::Application;

/// Zhonglian (众链): a crowdfunding exchange whose every settled money movement is publicly
/// verifiable. Without a command, serves the site (same as `serve`).
#[derive(Parser)]
#[command(version, args_conflicts_with_subcommands = true)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    serve: ServeArgs,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the site and the API (starts the embedded PostgreSQL when `DATABASE_URL` is unset).
    Serve(ServeArgs),
    /// Apply database migrations and exit.
    Migrate {
        #[command(flatten)]
        settings: Settings,
    },
    /// Settle every project past its deadline now (the server also does this continuously).
    Settle {
        /// Settle the projects that are due (required: settling is never implicit).
        #[arg(long)]
        due: bool,
        #[command(flatten)]
        settings: Settings,
    },
    /// Administrative tasks.
    #[command(subcommand)]
    Admin(AdminCommand),
    /// Check a receipt (JSON) or an offline proof (`.tlog-proof`) against the ledger's verifier
    /// key or a trust policy (C2SP tlog-policy, whose quorum of cosignatures must be met); exit 0
    /// only if it is valid.
    VerifyReceipt {
        /// The receipt JSON or `.tlog-proof` file.
        file: PathBuf,
        /// The verifier key (`name+keyid+base64`) or a file holding it.
        #[arg(long, required_unless_present = "policy", conflicts_with = "policy")]
        key: Option<String>,
        /// A trust policy file (e.g. downloaded from /ledger/tlog/policy).
        #[arg(long)]
        policy: Option<PathBuf>,
        /// For a `.tlog-proof`: the entry's canonical bytes, instead of the proof's extra line.
        #[arg(long)]
        entry: Option<PathBuf>,
    },
    /// Replay a cleared auction from its published order book: recompute the clearing price and
    /// every fill, rebuild the book's root, compare them with the `auction_cleared` ledger entry
    /// and check its receipt; exit 0 only if all of it matches.
    VerifyAuction {
        /// The book's URL (`https://…/api/v1/auctions/ID/book`), or a saved book with `--server`.
        book: String,
        /// For a saved book: the server whose latest checkpoint the entry is checked against.
        #[arg(long)]
        server: Option<String>,
        /// The verifier key (`name+keyid+base64`) or a file holding it (else the server's).
        #[arg(long, conflicts_with = "policy")]
        key: Option<String>,
        /// A trust policy file: its quorum of witness cosignatures must be met.
        #[arg(long)]
        policy: Option<PathBuf>,
    },
    /// Check an inclusion or consistency proof (hex hashes); exit 0 when valid, 1 when not.
    #[command(subcommand)]
    VerifyProof(ProofCommand),
    /// Download every leaf from a server, rebuild the tree, check the signed checkpoint and its
    /// consistency with the last audit's; exit 1 on any mismatch.
    Audit {
        /// Base URL of the server, e.g. <https://zhonglian.example>
        #[arg(long)]
        server: String,
        /// File remembering the last checkpoint seen (read, and written after a clean audit).
        #[arg(long)]
        state: Option<PathBuf>,
        /// The verifier key to trust (otherwise the one in the state file, else the server's).
        #[arg(long)]
        key: Option<String>,
        /// A trust policy file: its quorum of witness cosignatures must be met.
        #[arg(long)]
        policy: Option<PathBuf>,
        /// Leaf pages (of 1,000) fetched at once.
        #[arg(long, default_value_t = 8)]
        concurrency: usize,
        /// Audit once through the C2SP tiles (`/ledger/tlog/`) instead of the JSON API.
        #[arg(long)]
        tiles: bool,
        /// Keep auditing through the tiles, one line per new checkpoint.
        #[arg(long)]
        follow: bool,
        /// Seconds between checkpoint polls with `--follow`.
        #[arg(long, default_value_t = 10)]
        interval: u64,
    },
    /// Run a witness (C2SP tlog-witness) for the given logs: it cosigns a checkpoint only when
    /// it is consistent with the last one it cosigned, and keeps the requests that prove a log
    /// inconsistent. Prints `listening on <address>` and its verifier key when ready.
    Witness {
        /// Folder of its key (generated on first start), its state and its evidence.
        #[arg(long, default_value = "witness-data")]
        data_dir: PathBuf,
        /// Address to listen on (port 0: any free port).
        #[arg(long, default_value = "127.0.0.1:9701")]
        bind: std::net::SocketAddr,
        /// The witness's key name, e.g. `supervision.example/witness`.
        #[arg(long)]
        name: String,
        /// A log to witness: its verifier key (type 0x01; its name is the log's origin).
        #[arg(long = "log", required = true, value_parser = zhonglian::witness::parse_log_key)]
        logs: Vec<zhonglian::ledger::note::VerifierKey>,
    },
}

#[derive(Args)]
struct ServeArgs {
    #[command(flatten)]
    settings: Settings,
    /// Load the demo catalogue (accounts with a published password, projects, pledges) into an
    /// empty database, and use the sandbox payment gateway. Never for production.
    #[arg(long, env = "ZHONGLIAN_DEMO", value_parser = zhonglian::config::parse_bool,
          num_args = 0..=1, default_value_t = false, default_missing_value = "true")]
    demo: bool,
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Create a regulator or auditor account. The password is read from
    /// `ZHONGLIAN_ADMIN_PASSWORD` or, when unset, from the first line of standard input.
    CreateUser {
        #[arg(long)]
        role: String,
        #[arg(long)]
        email: String,
        #[arg(long)]
        display_name: Option<String>,
        #[command(flatten)]
        settings: Settings,
    },
}

#[derive(Subcommand)]
enum ProofCommand {
    /// Verify that a leaf is in a tree.
    Inclusion {
        #[arg(long)]
        leaf_hash: String,
        #[arg(long)]
        index: u64,
        #[arg(long)]
        size: u64,
        #[arg(long)]
        root: String,
        /// The audit path, hex, in order.
        path: Vec<String>,
    },
    /// Verify that one tree is a prefix of another.
    Consistency {
        #[arg(long)]
        first: u64,
        #[arg(long)]
        second: u64,
        #[arg(long)]
        first_root: String,
        #[arg(long)]
        second_root: String,
        /// The consistency path, hex, in order.
        path: Vec<String>,
    },
}

/// The database the settings name (`DATABASE_URL`, else the embedded cluster in the data folder),
/// migrated, with a pool of `max_connections`.
async fn open_database(settings: &Settings, max_connections: u32) -> anyhow::Result<Database> {
    Database::open(
        settings.database_url.as_ref(),
        &settings.data_dir,
        max_connections,
    )
    .await
}

fn init_tracing(format: &str) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,tower_http=info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    if format == "json" {
        builder.json().init();
    } else {
        builder.init();
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("zhonglian: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("zhonglian: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command.unwrap_or(Command::Serve(cli.serve)) {
        Command::Serve(args) => serve(args).await,
        Command::Witness {
            data_dir,
            bind,
            name,
            logs,
        } => witness(data_dir, bind, name, logs).await,
        Command::Migrate { settings } => {
            init_tracing(&settings.log_format);
            let db = open_database(&settings, 2).await?;
            println!("migrations applied");
            db.close().await;
            Ok(ExitCode::SUCCESS)
        }
        Command::Settle { due, settings } => {
            if !due {
                eprintln!(
                    "zhonglian: say `settle --due` to settle every project past its deadline"
                );
                return Ok(ExitCode::FAILURE);
            }
            init_tracing(&settings.log_format);
            settle_due(settings).await
        }
        Command::Admin(AdminCommand::CreateUser {
            role,
            email,
            display_name,
            settings,
        }) => {
            let role = Role::parse(&role)
                .filter(|r| matches!(r, Role::Regulator | Role::Auditor))
                .ok_or_else(|| anyhow::anyhow!("--role must be regulator or auditor"))?;
            let password = match std::env::var("ZHONGLIAN_ADMIN_PASSWORD") {
                Ok(p) => p,
                Err(_) => {
                    let mut line = String::new();
                    std::io::stdin().read_line(&mut line)?;
                    line.trim_end_matches(['\r', '\n']).to_owned()
                }
            };
            let db = open_database(&settings, 2).await?;
            let name = display_name.unwrap_or_else(|| email.clone());
            let created =
                zhonglian::accounts::create_staff_user(&db.pool, &email, &name, password, role)
                    .await;
            db.close().await;
            match created {
                Ok(user) => {
                    println!("created {} {} ({})", role.as_str(), user.email, user.id);
                    Ok(ExitCode::SUCCESS)
                }
                Err(e) => {
                    let message = e.message().in_lang(zhonglian::i18n::Lang::En.catalogue());
                    eprintln!("zhonglian: cannot create the account: {message}");
                    Ok(ExitCode::FAILURE)
                }
            }
        }
        Command::VerifyReceipt {
            file,
            key,
            policy,
            entry,
        } => {
            let trust = match (&key, &policy) {
                (_, Some(policy)) => zhonglian::cli::Trust::Policy(policy),
                (Some(key), None) => zhonglian::cli::Trust::Key(key),
                (None, None) => anyhow::bail!("give --key or --policy"),
            };
            Ok(
                if zhonglian::cli::verify_receipt(&file, trust, entry.as_deref())? {
                    ExitCode::SUCCESS
                } else {
                    ExitCode::FAILURE
                },
            )
        }
        Command::VerifyAuction {
            book,
            server,
            key,
            policy,
        } => {
            use zhonglian::cli::auction::{self, Source};
            let source = match server {
                Some(server) => Source::File {
                    file: PathBuf::from(book),
                    server,
                },
                None => Source::Url(book),
            };
            let options = auction::Options {
                source,
                key,
                policy,
            };
            Ok(if auction::run(&options).await? {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        Command::VerifyProof(proof) => {
            let outcome = match proof {
                ProofCommand::Inclusion {
                    leaf_hash,
                    index,
                    size,
                    root,
                    path,
                } => zhonglian::cli::verify_inclusion(&leaf_hash, index, size, &root, &path)?,
                ProofCommand::Consistency {
                    first,
                    second,
                    first_root,
                    second_root,
                    path,
                } => zhonglian::cli::verify_consistency(
                    first,
                    second,
                    &first_root,
                    &second_root,
                    &path,
                )?,
            };
            Ok(match outcome {
                Ok(()) => {
                    println!("valid");
                    ExitCode::SUCCESS
                }
                Err(reason) => {
                    println!("invalid: {reason}");
                    ExitCode::FAILURE
                }
            })
        }
        Command::Audit {
            server,
            state,
            key,
            policy,
            concurrency,
            tiles,
            follow,
            interval,
        } => {
            let policy = policy
                .map(|file| zhonglian::cli::load_policy(&zhonglian::cli::Trust::Policy(&file)))
                .transpose()?;
            if tiles || follow {
                let report = zhonglian::cli::follow::run(&zhonglian::cli::follow::FollowOptions {
                    server,
                    key,
                    policy,
                    state,
                    concurrency,
                    interval: follow.then(|| std::time::Duration::from_secs(interval.max(1))),
                })
                .await?;
                return Ok(if report.problem.is_none() {
                    ExitCode::SUCCESS
                } else {
                    ExitCode::FAILURE
                });
            }
            let started = std::time::Instant::now();
            let report = zhonglian::cli::audit::run(&zhonglian::cli::audit::AuditOptions {
                server,
                state,
                key,
                policy,
                concurrency,
                progress: true,
            })
            .await?;
            let seconds = started.elapsed().as_secs_f64();
            if report.problems.is_empty() {
                println!(
                    "ok: {} leaves rebuilt to root {} matching the signed checkpoint ({:.0} leaves/s)",
                    report.size,
                    hex::encode(report.root),
                    report.size as f64 / seconds.max(1e-9)
                );
                Ok(ExitCode::SUCCESS)
            } else {
                for problem in &report.problems {
                    println!("MISMATCH: {problem}");
                }
                Ok(ExitCode::FAILURE)
            }
        }
    }
}

async fn witness(
    data_dir: PathBuf,
    bind: std::net::SocketAddr,
    name: String,
    logs: Vec<zhonglian::ledger::note::VerifierKey>,
) -> anyhow::Result<ExitCode> {
    init_tracing("text");
    let witness = std::sync::Arc::new(zhonglian::witness::Witness::open(&data_dir, &name, &logs)?);
    let listener = tokio::net::TcpListener::bind(bind).await?;
    println!("listening on {}", listener.local_addr()?);
    println!("{}", witness.verifier_key());
    zhonglian::http::serve::serve(
        listener,
        zhonglian::witness::web::router(witness),
        zhonglian::http::serve::Limits {
            header_read_timeout: std::time::Duration::from_secs(10),
            max_connections: 1024,
        },
        shutdown_signal(),
    )
    .await?;
    Ok(ExitCode::SUCCESS)
}

async fn serve(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let mut settings = args.settings;
    if args.demo && settings.payment_provider.is_none() {
        // The demo's backers top up their wallets; nothing real is charged.
        settings.payment_provider = Some(zhonglian::config::PaymentProviderKind::Sandbox);
    }
    if args.demo && settings.smtp_url.is_none() {
        // The demo's accounts have made-up addresses: their letters go to the log.
        settings.mail_log = true;
    }
    if args.demo && std::env::var_os("SECONDARY_LOCKUP_DAYS").is_none() {
        // The demo's investors may sell the shares they were just issued.
        settings.secondary_lockup_days = 0;
    }
    init_tracing(&settings.log_format);
    tracing::info!(settings = ?settings, "starting");
    // A mail server address that cannot work stops the start before the database opens.
    let mailer = zhonglian::notify::mailer::from_settings(&settings)?;
    let started = std::time::Instant::now();
    let db = open_database(&settings, settings.pool_size()).await?;
    tracing::info!(
        elapsed_ms = started.elapsed().as_millis() as u64,
        embedded = db.cluster.is_some(),
        "database ready"
    );
    let app = match Application::build(settings, db.pool.clone()).await {
        Ok(app) => app,
        Err(e) => {
            db.close().await;
            return Err(e);
        }
    };
    app.state().ledger.ensure_checkpoint(&db.pool).await?;
    if args.demo {
        zhonglian::demo::load(app.state()).await?;
    }
    let worker = tokio::spawn(
        zhonglian::settlement::Settler::new(app.state()).run(std::time::Duration::from_secs(1)),
    );
    let clearer = tokio::spawn(
        zhonglian::market::clear::Clearer::new(
            db.pool.clone(),
            app.state().ledger.clone(),
            &app.state().settings,
        )
        .run(std::time::Duration::from_secs(1)),
    );
    if let Some(gateway) = app.state().gateway.clone() {
        let resumed = zhonglian::money::provider::resume_payouts(&db.pool, gateway).await?;
        if resumed > 0 {
            tracing::info!(
                withdrawals = resumed,
                "asked the gateway again about pending payouts"
            );
        }
    }
    let witnessing = (!app.state().ledger_witnesses.is_empty()).then(|| {
        tokio::spawn(zhonglian::witness::client::run(
            db.pool.clone(),
            app.state().ledger_witnesses.clone(),
            app.state().witnessing.clone(),
        ))
    });
    let reminders = tokio::spawn(
        zhonglian::community::reminders::Reminders::new(db.pool.clone())
            .run(std::time::Duration::from_secs(30)),
    );
    let sender = match mailer {
        Some(mailer) => Some(tokio::spawn(
            zhonglian::notify::sender::Sender::new(db.pool.clone(), mailer)
                .run(std::time::Duration::from_secs(1)),
        )),
        None => {
            tracing::warn!("SMTP_URL is not set: e-mail waits in the outbox until it is");
            None
        }
    };
    // The embedded cluster is watched and restarted if its postmaster dies; if it cannot be
    // started again, the server stops serving and exits non-zero.
    let (gave_up_tx, gave_up_rx) = tokio::sync::oneshot::channel();
    let watcher = db.cluster.clone().map(|cluster| {
        tokio::spawn(async move {
            let _ = gave_up_tx.send(zhonglian::db::watch::watch(cluster).await);
        })
    });
    let gave_up = std::sync::Arc::new(std::sync::Mutex::new(None));
    let stop = {
        let gave_up = gave_up.clone();
        async move {
            tokio::select! {
                () = shutdown_signal() => {},
                Ok(reason) = gave_up_rx => {
                    if let Ok(mut slot) = gave_up.lock() {
                        *slot = Some(reason);
                    }
                },
            }
        }
    };
    tracing::info!(address = %app.local_addr()?, "listening");
    app.run(stop).await?;
    // A settlement batch in flight is rolled back by the database; the next start resumes it.
    worker.abort();
    // So is an auction's clearing or settlement batch.
    clearer.abort();
    // A reminder batch in flight is rolled back; the next pass sends it.
    reminders.abort();
    // A cosignature not yet stored is asked for again at the next start.
    if let Some(witnessing) = witnessing {
        witnessing.abort();
    }
    // A letter being sent is leased; the next start sends it once the lease runs out.
    if let Some(sender) = sender {
        sender.abort();
    }
    // Stopped before the cluster is, so that it does not start it again.
    if let Some(watcher) = watcher {
        watcher.abort();
    }
    db.close().await;
    let reason = gave_up.lock().ok().and_then(|mut slot| slot.take());
    match reason {
        Some(reason) => Err(reason.into()),
        None => Ok(ExitCode::SUCCESS),
    }
}

async fn settle_due(settings: Settings) -> anyhow::Result<ExitCode> {
    let db = open_database(&settings, 4).await?;
    let ledger = std::sync::Arc::new(zhonglian::ledger::Ledger::load(&settings)?);
    let settler = zhonglian::settlement::Settler::from_parts(db.pool.clone(), ledger, &settings);
    let bar = indicatif::ProgressBar::new(0);
    bar.set_style(indicatif::ProgressStyle::with_template(
        "{spinner} {msg} [{elapsed_precise}] {wide_bar} {pos}/{len} pledges ({per_sec})",
    )?);
    let report = |p: zhonglian::settlement::Progress| {
        bar.set_message(p.project.to_string());
        bar.set_length(p.settled + p.remaining);
        bar.set_position(p.settled);
    };
    let result = settler.settle_due(&report).await;
    bar.finish_and_clear();
    db.close().await;
    match result {
        Ok(settled) => {
            for s in &settled {
                println!(
                    "{} {:?}: {} pledges, collected {}, fee {}",
                    s.project, s.outcome, s.pledges, s.collected, s.fee
                );
            }
            println!("{} project(s) settled", settled.len());
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            eprintln!("zhonglian: settlement stopped: {e}");
            Ok(ExitCode::FAILURE)
        }
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}
