//! The embedded cluster shared by the server and the command line, and the server's behaviour
//! while its database is away. These tests run the real binary, each with a data folder (and
//! so an embedded cluster) of its own, `DATABASE_URL` unset.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use zhonglian::db::embedded::{Cluster, ClusterOptions};
use zhonglian::Application;

use crate::support::{client, test_settings};

/// How long a fresh server may take to initialise its cluster and migrate (the machine is
/// shared, so this is generous; it is a bound, not a wait).
const READY_WITHIN: Duration = Duration::from_secs(90);

/// A `zhonglian serve` process on its own embedded cluster; killed, its cluster stopped and its
/// folder removed when dropped, whether the test passed or not.
struct Server {
    child: Child,
    data_dir: PathBuf,
    base: String,
    client: reqwest::Client,
}

/// A data folder of its own, in memory where the machine has `/dev/shm`: a cluster's fsyncs
/// there cost nothing, so initdb and crash recovery take as long as PostgreSQL's own work and
/// not as long as a disk shared with other builds.
fn fresh_folder(purpose: &str) -> PathBuf {
    let shm = Path::new("/dev/shm");
    let root = if shm.is_dir() {
        shm.to_owned()
    } else {
        std::env::temp_dir()
    };
    let dir = root.join(format!(
        "zhonglian-{purpose}-{}",
        uuid::Uuid::new_v4().simple()
    ));
    std::fs::create_dir_all(dir.join("pg")).expect("data folder");
    // Should the test process itself be killed, the cluster still goes when it exits.
    Cluster::existing(&dir.join("pg"))
        .and_then(|c| c.stop_and_remove_after(std::process::id()))
        .expect("cluster watcher");
    dir
}

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
    listener.local_addr().expect("port").port()
}

/// `zhonglian <args>` with the settings every process of one test shares.
fn zhonglian(data_dir: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_zhonglian"));
    command
        .args(args)
        .env_remove("DATABASE_URL")
        .env("ZHONGLIAN_DATA_DIR", data_dir)
        .env(
            "ZHONGLIAN_SECRET_KEY",
            "test secret key material, 32+ bytes long",
        )
        .env(
            "ZHONGLIAN_LEDGER_KEY",
            "0101010101010101010101010101010101010101010101010101010101010101",
        )
        .env("LEDGER_ORIGIN", "zhonglian.test/ledger")
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null());
    command
}

impl Server {
    /// Starts a server and waits until `/healthz` answers 200.
    async fn start() -> Server {
        let data_dir = fresh_folder("cluster");
        let port = free_port();
        let log = std::fs::File::create(data_dir.join("server.log")).expect("server log");
        let child = zhonglian(&data_dir, &["serve"])
            .env("BIND", format!("127.0.0.1:{port}"))
            .stdout(log.try_clone().expect("server log"))
            .stderr(log)
            .spawn()
            .expect("server");
        let mut server = Server {
            child,
            data_dir,
            base: format!("http://127.0.0.1:{port}"),
            client: client(),
        };
        server.wait_healthy(READY_WITHIN).await;
        server
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    async fn health(&self) -> Option<u16> {
        let answer = self
            .client
            .get(self.url("/healthz"))
            .timeout(Duration::from_secs(5))
            .send()
            .await
            .ok()?;
        Some(answer.status().as_u16())
    }

    /// Polls `/healthz` until it answers 200; panics (with the server's log) past `within`.
    async fn wait_healthy(&mut self, within: Duration) -> Duration {
        let started = Instant::now();
        while started.elapsed() < within {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("the server exited with {status}: {}", self.log());
            }
            if self.health().await == Some(200) {
                return started.elapsed();
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!(
            "/healthz was not 200 within {within:?}: {}",
            self.log()
                .lines()
                .rev()
                .take(10)
                .collect::<Vec<_>>()
                .join("\n")
        );
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.data_dir.join("server.log")).unwrap_or_default()
    }

    fn postmaster_pid(&self) -> i32 {
        self.try_postmaster_pid()
            .expect("a pid on the first line of postmaster.pid")
    }

    /// The first line of `<data>/pg/postmaster.pid`, if the file is there.
    fn try_postmaster_pid(&self) -> Option<i32> {
        let text = std::fs::read_to_string(self.data_dir.join("pg").join("postmaster.pid")).ok()?;
        text.lines().next()?.trim().parse().ok()
    }

    /// Runs a command beside the server, on the same data folder.
    fn run(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        let mut command = zhonglian(&self.data_dir, args);
        for (name, value) in env {
            command.env(name, value);
        }
        command.output().expect("command")
    }

    /// The server still serves: the same postmaster as `before`, `/healthz` and a page 200.
    async fn assert_still_serving(&self, before: i32, after: &str) {
        assert_eq!(
            self.postmaster_pid(),
            before,
            "the postmaster is the one that ran before {after}"
        );
        assert!(
            kill(Pid::from_raw(before), None).is_ok(),
            "the postmaster is alive after {after}"
        );
        assert_eq!(self.health().await, Some(200), "/healthz after {after}");
        let page = self.client.get(self.url("/")).send().await.expect("page");
        assert_eq!(page.status(), 200, "the home page after {after}");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // Only a child not yet waited for: a reaped one's pid may belong to someone else now.
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = kill(Pid::from_raw(self.child.id() as i32), Signal::SIGTERM);
        }
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Ok(cluster) = Cluster::existing(&self.data_dir.join("pg")) {
            let _ = cluster.stop();
        }
        let _ = std::fs::remove_dir_all(&self.data_dir);
    }
}

fn assert_success(output: &Output, what: &str) {
    assert!(
        output.status.success(),
        "{what} failed: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[tokio::test]
async fn migrate_beside_a_running_server_leaves_its_database_running() {
    let server = Server::start().await;
    let postmaster = server.postmaster_pid();

    let output = server.run(&["migrate"], &[]);

    assert_success(&output, "migrate");
    server.assert_still_serving(postmaster, "migrate").await;
}

#[tokio::test]
async fn admin_create_user_beside_a_running_server_leaves_its_database_running() {
    let server = Server::start().await;
    let postmaster = server.postmaster_pid();

    let output = server.run(
        &[
            "admin",
            "create-user",
            "--role",
            "regulator",
            "--email",
            "reg@cluster.test",
        ],
        &[("ZHONGLIAN_ADMIN_PASSWORD", "a long enough password 1")],
    );

    assert_success(&output, "admin create-user");
    server
        .assert_still_serving(postmaster, "admin create-user")
        .await;
}

#[tokio::test]
async fn a_failing_admin_create_user_beside_a_running_server_leaves_its_database_running() {
    let server = Server::start().await;
    let postmaster = server.postmaster_pid();
    let password = [("ZHONGLIAN_ADMIN_PASSWORD", "a long enough password 1")];
    let create = |role: &str| {
        server.run(
            &[
                "admin",
                "create-user",
                "--role",
                role,
                "--email",
                "twice@cluster.test",
            ],
            &password,
        )
    };
    assert_success(&create("auditor"), "the first admin create-user");

    let duplicate = create("auditor");
    let bad_role = create("emperor");

    assert!(!duplicate.status.success(), "a duplicate e-mail is refused");
    assert!(!bad_role.status.success(), "a bad role is refused");
    server
        .assert_still_serving(postmaster, "a failed admin create-user")
        .await;
}

#[tokio::test]
async fn settle_due_beside_a_running_server_leaves_its_database_running() {
    let server = Server::start().await;
    let postmaster = server.postmaster_pid();

    let output = server.run(&["settle", "--due"], &[]);

    assert_success(&output, "settle --due");
    server
        .assert_still_serving(postmaster, "settle --due")
        .await;
}

#[tokio::test]
async fn the_server_restarts_its_cluster_after_the_postmaster_is_killed() {
    let server = Server::start().await;
    let postmaster = server.postmaster_pid();

    kill(Pid::from_raw(postmaster), Signal::SIGKILL).expect("kill -9 the postmaster");

    // Right after the kill a pooled connection may still answer, so "back" means: another
    // postmaster runs, and the server answers through it.
    let killed = Instant::now();
    let mut back = false;
    while killed.elapsed() < Duration::from_secs(10) {
        let restarted = server
            .try_postmaster_pid()
            .is_some_and(|pid| pid != postmaster);
        if restarted && server.health().await == Some(200) {
            back = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(back, "not back within 10 s: {}", server.log());
    let page = server.client.get(server.url("/")).send().await.unwrap();
    assert_eq!(page.status(), 200, "pages are served again");
}

#[tokio::test]
async fn the_server_exits_with_one_clear_line_when_its_cluster_cannot_be_started_again() {
    let mut server = Server::start().await;
    let postmaster = server.postmaster_pid();
    // A configuration PostgreSQL refuses to start with.
    let conf = server.data_dir.join("pg").join("postgresql.conf");
    let mut text = std::fs::read_to_string(&conf).expect("postgresql.conf");
    text.push_str("\nthis line is not a setting\n");
    std::fs::write(&conf, text).expect("postgresql.conf");

    kill(Pid::from_raw(postmaster), Signal::SIGKILL).expect("kill -9 the postmaster");

    let killed = Instant::now();
    let status = loop {
        if let Ok(Some(status)) = server.child.try_wait() {
            break status;
        }
        assert!(
            killed.elapsed() < Duration::from_secs(30),
            "the server gave up in time: {}",
            server.log()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(!status.success(), "exits non-zero");
    let log = server.log();
    let reasons: Vec<&str> = log
        .lines()
        .filter(|line| line.starts_with("zhonglian: "))
        .collect();
    assert_eq!(reasons.len(), 1, "one line: {log}");
    assert!(
        reasons[0].contains("could not be started again"),
        "{}",
        reasons[0]
    );
}

#[tokio::test]
async fn a_cluster_left_by_a_killed_server_is_adopted_and_stopped_by_the_next_one() {
    let mut first = Server::start().await;
    let postmaster = first.postmaster_pid();
    first.child.kill().expect("kill -9 the server");
    first.child.wait().expect("the killed server");

    // The next server on the same folder, while the old postmaster still runs.
    let port = free_port();
    let log = std::fs::File::create(first.data_dir.join("second.log")).expect("log");
    let second = zhonglian(&first.data_dir, &["serve"])
        .env("BIND", format!("127.0.0.1:{port}"))
        .stdout(log.try_clone().expect("log"))
        .stderr(log)
        .spawn()
        .expect("second server");
    // The guard now owns the second server (the first one is already gone).
    first.child = second;
    first.base = format!("http://127.0.0.1:{port}");
    first.wait_healthy(READY_WITHIN).await;
    assert_eq!(
        first.postmaster_pid(),
        postmaster,
        "the running cluster is used"
    );

    kill(Pid::from_raw(first.child.id() as i32), Signal::SIGTERM).expect("stop the server");
    let status = first.child.wait().expect("the second server");

    let second_log = std::fs::read_to_string(first.data_dir.join("second.log")).unwrap_or_default();
    assert!(status.success(), "a clean stop ({status}): {second_log}");
    assert!(
        first.try_postmaster_pid().is_none(),
        "the adopted cluster is stopped with the server that adopted it"
    );
}

#[tokio::test]
async fn two_commands_started_at_once_on_a_fresh_folder_share_one_cluster() {
    let data_dir = fresh_folder("race");

    let racers: Vec<Child> = (0..2)
        .map(|_| {
            zhonglian(&data_dir, &["migrate"])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("migrate")
        })
        .collect();
    let outputs: Vec<Output> = racers
        .into_iter()
        .map(|child| child.wait_with_output().expect("migrate"))
        .collect();

    if let Ok(cluster) = Cluster::existing(&data_dir.join("pg")) {
        let _ = cluster.stop();
    }
    let _ = std::fs::remove_dir_all(&data_dir);
    for output in &outputs {
        assert_success(output, "a migrate racing another");
    }
}

/// An application (in this process) on a private cluster of its own, which the test stops;
/// the cluster is stopped and its folder removed when dropped.
struct AppOnOwnCluster {
    cluster: Cluster,
    dir: PathBuf,
    address: String,
}

impl AppOnOwnCluster {
    async fn start() -> AppOnOwnCluster {
        let dir = fresh_folder("away");
        let pg = dir.join("pg");
        let cluster =
            tokio::task::spawn_blocking(move || Cluster::start(&pg, &ClusterOptions::for_tests()))
                .await
                .expect("start task")
                .expect("cluster");
        zhonglian::db::create_database(&cluster, "zhonglian")
            .await
            .expect("database");
        let pool = zhonglian::db::pool(cluster.connect_options("zhonglian"), 4)
            .await
            .expect("pool");
        zhonglian::db::migrate(&pool).await.expect("migrations");
        let app = Application::build(test_settings(dir.join("data")), pool.clone())
            .await
            .expect("application");
        app.state()
            .ledger
            .ensure_checkpoint(&pool)
            .await
            .expect("checkpoint");
        let address = format!("http://{}", app.local_addr().expect("address"));
        tokio::spawn(app.run(std::future::pending()));
        AppOnOwnCluster {
            cluster,
            dir,
            address,
        }
    }
}

impl Drop for AppOnOwnCluster {
    fn drop(&mut self) {
        let _ = self.cluster.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[tokio::test]
async fn while_the_database_is_away_the_api_answers_503_with_retry_after_and_pages_a_notice() {
    let app = AppOnOwnCluster::start().await;
    let client = client();
    let url = |path: &str| format!("{}{path}", app.address);
    let healthy = client.get(url("/healthz")).send().await.unwrap();
    assert_eq!(healthy.status(), 200);
    let cluster = app.cluster.clone();
    tokio::task::spawn_blocking(move || cluster.stop())
        .await
        .unwrap()
        .expect("the database stops");

    let asked = Instant::now();
    let api = client.get(url("/api/v1/projects")).send().await.unwrap();
    let api_took = asked.elapsed();
    let page = client
        .get(url("/"))
        .header("accept-language", "en")
        .send()
        .await
        .unwrap();
    let asked = Instant::now();
    let health = client.get(url("/healthz")).send().await.unwrap();
    let health_took = asked.elapsed();

    assert_eq!(api.status(), 503);
    assert!(api.headers().contains_key("retry-after"), "API Retry-After");
    assert_eq!(
        api.headers()["content-type"],
        "application/problem+json",
        "a JSON problem"
    );
    assert!(
        api_took < Duration::from_secs(5),
        "fails fast: {api_took:?}"
    );
    let problem: serde_json::Value = api.json().await.unwrap();
    assert_eq!(problem["code"], "unavailable");
    assert_eq!(page.status(), 503);
    assert!(
        page.headers().contains_key("retry-after"),
        "page Retry-After"
    );
    let html = page.text().await.unwrap();
    assert!(
        html.contains("temporarily unavailable"),
        "the page says so: {html}"
    );
    assert_eq!(health.status(), 503);
    let health: serde_json::Value = health.json().await.unwrap();
    assert_eq!(health["database"], "unavailable");
    assert!(health_took < Duration::from_secs(3), "{health_took:?}");
}
