//! E-mail outbox benchmark: 10,000 letters queued while the mail server is down for 30 s, then
//! delivered by the outbox sender once it is back; each must arrive exactly once. The reference
//! in the same run is the same number of letters sent straight to the same server through the
//! same SMTP transport, with no outbox, so the drain rate is printed as a share of it.
//!
//! `cargo run --release --example mail_bench -- [LETTERS] [DOWN_SECONDS]`
//! (needs Debian's `python3-aiosmtpd`).

use std::collections::HashSet;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use secrecy::SecretString;
use zhonglian::db::embedded::{Cluster, ClusterOptions};
use zhonglian::notify::mailer::{Mailer, SmtpMailer};
use zhonglian::notify::outbox::{self, Outgoing};
use zhonglian::notify::sender::Sender;
use zhonglian::notify::Letter;

/// The mail server: aiosmtpd writing each message into a Maildir.
struct SmtpServer {
    port: u16,
    maildir: PathBuf,
    process: Option<Child>,
}

impl SmtpServer {
    fn start(&mut self) -> anyhow::Result<()> {
        self.process = Some(
            Command::new("/usr/bin/python3")
                .args(["-m", "aiosmtpd", "-n", "-l"])
                .arg(format!("127.0.0.1:{}", self.port))
                .args(["-c", "aiosmtpd.handlers.Mailbox"])
                .arg(&self.maildir)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()?,
        );
        let deadline = Instant::now() + Duration::from_secs(15);
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            anyhow::ensure!(Instant::now() < deadline, "aiosmtpd did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(())
    }

    fn stop(&mut self) {
        if let Some(mut p) = self.process.take() {
            let _ = p.kill();
            let _ = p.wait();
        }
    }

    /// How many messages have arrived (a directory listing, no reading).
    fn count(&self) -> usize {
        std::fs::read_dir(self.maildir.join("new")).map_or(0, Iterator::count)
    }

    /// The Message-IDs of every message received, one per message.
    fn message_ids(&self) -> Vec<String> {
        let Ok(entries) = std::fs::read_dir(self.maildir.join("new")) else {
            return Vec::new();
        };
        entries
            .flatten()
            .filter_map(|e| message_id(&e.path()))
            .collect()
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.maildir);
    }
}

fn message_id(path: &Path) -> Option<String> {
    let text = std::fs::read_to_string(path).ok()?;
    text.lines()
        .find(|l| l.to_ascii_lowercase().starts_with("message-id:"))
        .map(|l| l[11..].trim().to_owned())
}

fn letter(n: usize) -> Letter {
    Letter {
        subject: format!("众链：通知 {n}"),
        body: format!("您关注的项目有新消息（{n}）。\n\nYour notifications are on Zhonglian."),
    }
}

async fn wait_for(server: &SmtpServer, n: usize, limit: Duration) -> anyhow::Result<Duration> {
    let started = Instant::now();
    while server.count() < n {
        anyhow::ensure!(
            started.elapsed() < limit,
            "only {} of {n} arrived",
            server.count()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(started.elapsed())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let letters: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(10_000);
    let down: u64 = std::env::args()
        .nth(2)
        .and_then(|a| a.parse().ok())
        .unwrap_or(30);
    let dir = std::env::temp_dir().join(format!("zhonglian-mail-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let cluster = Cluster::start(&dir.join("pg"), &ClusterOptions::for_server())?;
    cluster.stop_and_remove_after(std::process::id())?;
    zhonglian::db::create_database(&cluster, "bench").await?;
    let db = zhonglian::db::pool(cluster.connect_options("bench"), 8).await?;
    zhonglian::db::migrate(&db).await?;

    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let url: SecretString = format!("smtp://127.0.0.1:{port}").into();
    let mailer: Arc<dyn Mailer> =
        Arc::new(SmtpMailer::new(&url, "Zhonglian <bench@zhonglian.test>")?);

    // The reference: the same letters straight to the same server, four at a time.
    let mut reference = SmtpServer {
        port,
        maildir: dir.join("reference"),
        process: None,
    };
    reference.start()?;
    let started = Instant::now();
    let mut sending = tokio::task::JoinSet::new();
    for n in 0..letters {
        if sending.len() >= 4 {
            sending.join_next().await.transpose()?.transpose()?;
        }
        let mailer = mailer.clone();
        sending.spawn(async move {
            let outgoing = Outgoing {
                id: n as i64,
                to_address: format!("reader-{}@example.com", n % 1000),
                subject: letter(n).subject,
                body: letter(n).body,
                attempts: 1,
                created_at: time::OffsetDateTime::now_utc(),
            };
            mailer.send(&outgoing).await
        });
    }
    while let Some(done) = sending.join_next().await {
        done??;
    }
    wait_for(&reference, letters, Duration::from_secs(600)).await?;
    let direct = letters as f64 / started.elapsed().as_secs_f64();
    println!("reference, sent straight through SMTP: {direct:.0} letters/s");
    reference.stop();
    drop(reference);

    // The outbox: queued while the server is down, drained once it is back.
    let mut server = SmtpServer {
        port,
        maildir: dir.join("outbox"),
        process: None,
    };
    let started = Instant::now();
    let mut tx = db.begin().await?;
    for n in 0..letters {
        outbox::enqueue(
            &mut tx,
            &format!("reader-{}@example.com", n % 1000),
            &letter(n),
        )
        .await?;
    }
    tx.commit().await?;
    let queued = letters as f64 / started.elapsed().as_secs_f64();
    println!("queued into the outbox: {queued:.0} letters/s (one transaction); mail server down for {down} s");
    let worker = tokio::spawn(Sender::new(db.clone(), mailer.clone()).run(Duration::from_secs(1)));
    tokio::time::sleep(Duration::from_secs(down)).await;
    let (waiting, given_up) = outbox::counts(&db).await?;
    anyhow::ensure!(
        waiting as usize == letters && given_up == 0,
        "{waiting} waiting, {given_up} given up after the outage"
    );
    println!("after the outage: {waiting} waiting, {given_up} given up; starting the mail server");
    server.start()?;
    let back = Instant::now();
    wait_for(&server, letters, Duration::from_secs(1800)).await?;
    let drained = back.elapsed();
    // Anything sent twice would arrive after the last first copy: give it the time to.
    tokio::time::sleep(Duration::from_secs(3)).await;
    worker.abort();
    let ids = server.message_ids();
    let distinct: HashSet<&String> = ids.iter().collect();
    let (left, _) = outbox::counts(&db).await?;
    let drain = letters as f64 / drained.as_secs_f64();

    println!("letters: {letters}, mail server down for {down} s while queued");
    println!(
        "outbox drained after the server returned: {drain:.0} letters/s in {:.1} s ({:.2} of the reference)",
        drained.as_secs_f64(),
        drain / direct
    );
    println!(
        "received: {} messages, {} distinct Message-IDs, {left} left in the outbox",
        ids.len(),
        distinct.len()
    );
    anyhow::ensure!(
        ids.len() == letters && distinct.len() == letters && left == 0,
        "a letter was lost or sent twice"
    );
    Ok(())
}
