//! The C2SP tlog-tiles read path: every path rule and header, an independent Go client
//! (`tests/oracle`, built on golang.org/x/mod/sumdb/tlog) reading the tree through the tiles,
//! and `zhonglian audit --tiles` / `--follow`, including against a server that lies.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use axum::body::Bytes;
use axum::http::{StatusCode, Uri};
use zhonglian::ledger::merkle;

use crate::support::TestApp;

/// Appends `n` leaves in one batch (one signed checkpoint).
async fn grow(app: &TestApp, n: usize, tag: &str) {
    let mut tx = app.db.begin().await.unwrap();
    app.state
        .ledger
        .append(&mut tx, &crate::ledger::entries(n, tag))
        .await
        .unwrap();
    tx.commit().await.unwrap();
}

async fn get(app: &TestApp, path: &str) -> reqwest::Response {
    app.client.get(app.url(path)).send().await.unwrap()
}

fn header(response: &reqwest::Response, name: &str) -> String {
    response
        .headers()
        .get(name)
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default()
}

async fn column(app: &TestApp, sql: &str) -> Vec<u8> {
    let rows: Vec<Vec<u8>> = sqlx::query_scalar(sql).fetch_all(&app.db).await.unwrap();
    rows.concat()
}

#[tokio::test]
async fn tiles_and_bundles_are_served_exactly_as_the_spec_defines_them() {
    let app = TestApp::spawn().await;
    assert_eq!(get(&app, "/ledger/tlog/tile/0/000.p/1").await.status(), 404);
    grow(&app, 300, "a").await;
    grow(&app, 257, "b").await;

    let full = get(&app, "/ledger/tlog/tile/0/000").await;
    assert_eq!(full.status(), 200);
    assert_eq!(header(&full, "content-type"), "application/octet-stream");
    assert_eq!(
        header(&full, "cache-control"),
        "public, max-age=31536000, immutable"
    );
    let body = full.bytes().await.unwrap();
    assert_eq!(body.len(), 8192);
    let leaves = column(
        &app,
        "SELECT leaf_hash FROM ledger_leaves WHERE idx < 256 ORDER BY idx",
    )
    .await;
    assert_eq!(body.to_vec(), leaves);

    // 557 leaves: two full level-0 tiles, a partial one of 45, a level-1 tile of width 2.
    let partial = get(&app, "/ledger/tlog/tile/0/002.p/45").await;
    assert_eq!(partial.status(), 200);
    assert_eq!(header(&partial, "cache-control"), "public, max-age=2");
    let partial = partial.bytes().await.unwrap();
    let tail = column(
        &app,
        "SELECT leaf_hash FROM ledger_leaves WHERE idx >= 512 ORDER BY idx",
    )
    .await;
    assert_eq!(partial.to_vec(), tail);
    // The partial tile of the earlier checkpoint (300 leaves) is still served.
    assert_eq!(
        get(&app, "/ledger/tlog/tile/0/001.p/44").await.status(),
        200
    );

    let level1 = get(&app, "/ledger/tlog/tile/1/000.p/2").await;
    assert_eq!(level1.status(), 200);
    let nodes = column(
        &app,
        "SELECT hash FROM ledger_nodes WHERE level = 8 AND idx < 2 ORDER BY idx",
    )
    .await;
    assert_eq!(level1.bytes().await.unwrap().to_vec(), nodes);

    let bundle = get(&app, "/ledger/tlog/tile/entries/000").await;
    assert_eq!(bundle.status(), 200);
    assert_eq!(header(&bundle, "content-type"), "application/octet-stream");
    assert_eq!(
        header(&bundle, "cache-control"),
        "public, max-age=31536000, immutable"
    );
    let bundle = bundle.bytes().await.unwrap();
    assert_eq!(bundle.len(), 256 * 34);
    for (i, entry) in bundle.chunks(34).enumerate() {
        assert_eq!(
            &entry[..2],
            &[0, 32],
            "entry {i} is a uint16 length then 32 bytes"
        );
        assert_eq!(merkle::leaf_hash(&entry[2..]), leaves[i * 32..(i + 1) * 32]);
    }
    let last = get(&app, "/ledger/tlog/tile/entries/002.p/45").await;
    assert_eq!(last.status(), 200);
    assert_eq!(header(&last, "cache-control"), "public, max-age=2");
    assert_eq!(last.bytes().await.unwrap().len(), 45 * 34);

    for path in [
        "0/002",
        "0/002.p/46",
        "1/000",
        "1/000.p/3",
        "2/000.p/1",
        "entries/003.p/1",
        "00/000",
        "01/000",
        "64/000",
        "0/00",
        "0/0000",
        "0/x000/001",
        "0/000.p/0",
        "0/000.p/256",
        "0/000.p/01",
        "0/x018/x446/x744/x073/x709/x551/616",
        "data/000",
    ] {
        let response = get(&app, &format!("/ledger/tlog/tile/{path}")).await;
        assert_eq!(response.status(), 404, "{path}");
        assert_eq!(
            header(&response, "content-type"),
            "text/plain; charset=utf-8",
            "{path}"
        );
        let text = response.text().await.unwrap();
        assert!(
            text.contains("tile path") || text.contains("signed tree does not hold"),
            "{path}: {text}"
        );
    }

    let checkpoint = get(&app, "/ledger/tlog/checkpoint").await;
    assert_eq!(checkpoint.status(), 200);
    assert_eq!(
        header(&checkpoint, "content-type"),
        "text/plain; charset=utf-8"
    );
    assert_eq!(header(&checkpoint, "cache-control"), "public, max-age=2");
    let text = checkpoint.text().await.unwrap();
    assert!(text.contains("\n557\n"), "{text}");
    let api = get(&app, "/api/v1/ledger/checkpoint").await;
    assert_eq!(api.text().await.unwrap(), text);
}

/// Builds the Go client from Debian's golang.org/x/mod sources, offline. Without Go the test
/// fails and says what to install.
pub(crate) fn build_oracle(dir: &Path) -> PathBuf {
    let go = ["/usr/bin/go", "/usr/lib/go/bin/go"]
        .into_iter()
        .find(|p| Path::new(p).exists())
        .unwrap_or_else(|| {
            panic!("Go is needed for the tiles oracle: apt-get install golang-go golang-golang-x-mod-dev")
        });
    assert!(
        Path::new("/usr/share/gocode/src/golang.org/x/mod/sumdb/tlog").exists(),
        "golang.org/x/mod is needed for the tiles oracle: apt-get install golang-golang-x-mod-dev"
    );
    let output = dir.join("oracle");
    let cache = dir.join("gocache");
    let built = Command::new(go)
        .args(["build", "-o", output.to_str().unwrap(), "."])
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/oracle"))
        .env("GOPATH", "/usr/share/gocode")
        .env("GO111MODULE", "off")
        .env("GOFLAGS", "-mod=mod")
        .env("GOCACHE", &cache)
        .env("GOTOOLCHAIN", "local")
        .output()
        .unwrap();
    assert!(
        built.status.success(),
        "go build failed: {}",
        String::from_utf8_lossy(&built.stderr)
    );
    output
}

#[tokio::test]
async fn an_independent_go_client_proves_records_and_consistency_through_the_tiles() {
    let app = TestApp::spawn().await;
    std::fs::create_dir_all(&app.data_dir).unwrap();
    let oracle = build_oracle(&app.data_dir);
    grow(&app, 300, "a").await;
    let earlier = app.data_dir.join("earlier.checkpoint");
    let note = get(&app, "/ledger/tlog/checkpoint")
        .await
        .text()
        .await
        .unwrap();
    std::fs::write(&earlier, note).unwrap();
    grow(&app, 257, "b").await;

    let address = app.address.clone();
    let key = app.state.ledger.verifier_key();
    let out = tokio::task::spawn_blocking(move || {
        Command::new(oracle)
            .args(["-server", &address, "-key", &key, "-previous"])
            .arg(&earlier)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}{stderr}");
    assert!(stdout.contains("consistent: 300 -> 557"), "{stdout}");
    assert!(stdout.contains("ok: 557 leaves"), "{stdout}");
}

fn zhonglian() -> Command {
    Command::new(env!("CARGO_BIN_EXE_zhonglian"))
}

/// `audit --tiles` against `server`: success and what it printed.
async fn audit_tiles(server: &str, key: &str, state: &Path) -> (bool, String) {
    let (server, key, state) = (server.to_owned(), key.to_owned(), state.to_owned());
    tokio::task::spawn_blocking(move || {
        let out = zhonglian()
            .args([
                "audit", "--tiles", "--server", &server, "--key", &key, "--state",
            ])
            .arg(&state)
            .output()
            .unwrap();
        (
            out.status.success(),
            format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
        )
    })
    .await
    .unwrap()
}

#[tokio::test]
async fn the_tile_auditor_checks_growth_and_resumes_from_its_state() {
    let app = TestApp::spawn().await;
    std::fs::create_dir_all(&app.data_dir).unwrap();
    let state = app.data_dir.join("follow.json");
    let key = app.state.ledger.verifier_key();
    grow(&app, 300, "a").await;
    let (ok, out) = audit_tiles(&app.address, &key, &state).await;
    assert!(ok, "{out}");
    assert!(out.contains("checkpoint 300 "), "{out}");
    assert!(out.contains("300 new leaves"), "{out}");

    // Past 65,536 leaves: a full level-1 tile and a partial one of width 1.
    grow(&app, 66_000 - 300, "b").await;
    let (ok, out) = audit_tiles(&app.address, &key, &state).await;
    assert!(ok, "{out}");
    assert!(out.contains("checkpoint 66000 "), "{out}");
    assert!(out.contains("65700 new leaves"), "{out}");
    let remembered: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&state).unwrap()).unwrap();
    assert_eq!(remembered["size"], 66000);
    let (head, _) = zhonglian::ledger::store::head(&app.db).await.unwrap();
    assert_eq!(head, 66000);

    // Nothing new: still fine, nothing to fetch.
    let (ok, out) = audit_tiles(&app.address, &key, &state).await;
    assert!(ok, "{out}");
    assert!(out.contains("0 new leaves"), "{out}");

    // A checkpoint that the expected key did not sign is refused.
    let other = zhonglian::ledger::Ledger::new("other.example/log", [7; 32]).verifier_key();
    let fresh = app.data_dir.join("fresh.json");
    let (ok, out) = audit_tiles(&app.address, &other, &fresh).await;
    assert!(!ok, "{out}");
    assert!(out.contains("FAIL"), "{out}");
}

/// A proxy in front of `upstream` that flips the first byte of every response whose path
/// starts with `lie_on`.
async fn lying_proxy(upstream: String, lie_on: &'static str) -> String {
    let client = reqwest::Client::new();
    let handler = move |uri: Uri| {
        let client = client.clone();
        let upstream = upstream.clone();
        async move {
            let response = client
                .get(format!("{upstream}{}", uri.path()))
                .send()
                .await
                .unwrap();
            let status = StatusCode::from_u16(response.status().as_u16()).unwrap();
            let mut body = response.bytes().await.unwrap().to_vec();
            if uri.path().starts_with(lie_on) && !body.is_empty() {
                body[0] ^= 1;
            }
            (status, Bytes::from(body))
        }
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        axum::serve(listener, axum::Router::new().fallback(handler))
            .await
            .unwrap();
    });
    address
}

#[tokio::test]
async fn the_tile_auditor_refuses_a_server_that_tampers_with_a_tile() {
    let app = TestApp::spawn().await;
    std::fs::create_dir_all(&app.data_dir).unwrap();
    let key = app.state.ledger.verifier_key();
    grow(&app, 600, "a").await;
    for (lie_on, said) in [
        ("/ledger/tlog/tile/0/", "level-0 tile"),
        ("/ledger/tlog/tile/1/", "tile/1/000.p/2 holds a wrong hash"),
        ("/ledger/tlog/tile/entries/", "tile/entries/000 is not 256"),
        ("/ledger/tlog/checkpoint", "checkpoint"),
    ] {
        let proxy = lying_proxy(app.address.clone(), lie_on).await;
        let state = app.data_dir.join(format!("lie{}.json", lie_on.len()));
        let (ok, out) = audit_tiles(&proxy, &key, &state).await;
        assert!(!ok, "{lie_on}: {out}");
        assert!(
            out.contains("FAIL") && out.contains(said),
            "{lie_on}: {out}"
        );
        assert!(
            !state.exists(),
            "{lie_on}: a refused checkpoint is not remembered"
        );
    }
    let (ok, out) = audit_tiles(&app.address, &key, &app.data_dir.join("honest.json")).await;
    assert!(ok, "{out}");
}

#[tokio::test]
async fn audit_follow_prints_a_line_for_each_new_checkpoint() {
    let app = TestApp::spawn().await;
    std::fs::create_dir_all(&app.data_dir).unwrap();
    grow(&app, 10, "a").await;
    let mut child = zhonglian()
        .args([
            "audit",
            "--follow",
            "--interval",
            "1",
            "--server",
            &app.address,
        ])
        .args(["--key", &app.state.ledger.verifier_key(), "--state"])
        .arg(app.data_dir.join("follow.json"))
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let (lines_tx, mut lines) = tokio::sync::mpsc::unbounded_channel();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            if lines_tx.send(line.unwrap()).is_err() {
                break;
            }
        }
    });
    let first = next_news(&mut lines).await;
    assert!(first.starts_with("checkpoint 10 "), "{first}");
    grow(&app, 5, "b").await;
    let second = next_news(&mut lines).await;
    assert!(second.starts_with("checkpoint 15 "), "{second}");
    assert!(
        second.ends_with("5 new leaves checked through tiles"),
        "{second}"
    );
    child.kill().unwrap();
    child.wait().unwrap();
}

/// The next line of the follower that reports new leaves.
async fn next_news(lines: &mut tokio::sync::mpsc::UnboundedReceiver<String>) -> String {
    let wait = async {
        loop {
            let line = lines.recv().await.expect("the follower stopped");
            if !line.contains(": 0 new leaves") {
                return line;
            }
        }
    };
    tokio::time::timeout(std::time::Duration::from_secs(20), wait)
        .await
        .expect("no new checkpoint line within 20 s")
}
