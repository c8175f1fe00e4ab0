//! The rope-net: two exchanges witness each other, and the regulator's supervision node
//! witnesses both. Three real processes (exchange A and exchange B as `zhonglian serve`, each
//! mounting a witness of the other's ledger, and the regulator's `zhonglian witness`); each
//! exchange's published checkpoint carries two valid cosignatures, and stays consistent as both
//! ledgers grow. Then a fork of A's ledger (the same key, another entry) is refused by the
//! witnesses that cosigned the honest history, and kept as evidence, and an audit with A's
//! published policy refuses the fork, naming the witnesses that did not sign it.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use sqlx::PgPool;
use zhonglian::ledger::checkpoint::{Checkpoint, Signer, Verifier};
use zhonglian::ledger::merkle;
use zhonglian::ledger::note::{KeyType, Note, NoteSigner, VerifierKey};
use zhonglian::ledger::Ledger;

use crate::support::{fresh_database, TEST_SECRET_KEY};

/// One exchange: its ledger's key and origin, its database, its data folder and port.
struct Exchange {
    origin: String,
    seed: [u8; 32],
    witness_seed: [u8; 32],
    db: PgPool,
    url: String,
    dir: PathBuf,
    port: u16,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port()
}

fn folder(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("zl-{name}-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).expect("folder");
    dir
}

/// A witness key generated into `dir` before the first start, so the test knows its vkey.
fn plant_witness_key(dir: &std::path::Path, name: &str, seed: [u8; 32]) -> VerifierKey {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join("witness.key"), hex::encode(seed)).unwrap();
    NoteSigner::new(name, KeyType::Cosignature, seed).verifier_key()
}

impl Exchange {
    async fn new(name: &str, seed: u8) -> Self {
        let (database, db) = fresh_database().await;
        let options = db.connect_options();
        let url = format!(
            "postgres://{}@localhost/{database}?host={}",
            options.get_username(),
            crate::support::cluster_dir().display()
        );
        Self {
            origin: format!("{name}.test/ledger"),
            seed: [seed; 32],
            witness_seed: [seed + 100; 32],
            db,
            url,
            dir: folder(name),
            port: free_port(),
        }
    }

    fn ledger(&self) -> Ledger {
        Ledger::new(&self.origin, self.seed)
    }

    fn key(&self) -> String {
        Signer::new(&self.origin, self.seed).verifier_key()
    }

    fn witness_name(&self) -> String {
        self.origin.replace("/ledger", "/witness")
    }

    /// Its witness's vkey (the key planted in its data folder).
    fn witness_key(&self) -> VerifierKey {
        plant_witness_key(
            &self.dir.join("witness"),
            &self.witness_name(),
            self.witness_seed,
        )
    }

    fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// `zhonglian serve` witnessing `other`, submitting to `witnesses`.
    fn serve(&self, other: &Exchange, witnesses: &[(String, VerifierKey)]) -> Child {
        let witnesses: Vec<String> = witnesses.iter().map(|(u, k)| format!("{u} {k}")).collect();
        Command::new(env!("CARGO_BIN_EXE_zhonglian"))
            .arg("serve")
            .env("DATABASE_URL", &self.url)
            .env("ZHONGLIAN_DATA_DIR", &self.dir)
            .env("ZHONGLIAN_SECRET_KEY", TEST_SECRET_KEY)
            .env("ZHONGLIAN_LEDGER_KEY", hex::encode(self.seed))
            .env("LEDGER_ORIGIN", &self.origin)
            .env("BIND", format!("127.0.0.1:{}", self.port))
            .env("WITNESS_LOGS", other.key())
            .env("WITNESS_NAME", self.witness_name())
            .env("LEDGER_WITNESSES", witnesses.join(","))
            .env("MIN_CAMPAIGN_SECONDS", "0")
            .env("METRICS_TOKEN", "rope-net-metrics")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("zhonglian serve")
    }

    async fn append(&self, n: usize, tag: &str) {
        let batch = crate::ledger::entries(n, &format!("{}-{tag}", self.origin));
        let mut tx = self.db.begin().await.unwrap();
        self.ledger().append(&mut tx, &batch).await.unwrap();
        tx.commit().await.unwrap();
    }

    async fn published(&self, http: &reqwest::Client) -> Option<String> {
        let r = http
            .get(format!("{}/ledger/tlog/checkpoint", self.base()))
            .send()
            .await
            .ok()?;
        r.status().is_success().then_some(r.text().await.ok()?)
    }
}

/// Waits until the exchange publishes a checkpoint of at least `size` cosigned by every key of
/// `witnesses`, and returns it.
async fn cosigned(
    exchange: &Exchange,
    http: &reqwest::Client,
    size: u64,
    witnesses: &[&VerifierKey],
) -> (Checkpoint, String) {
    let log = Verifier::parse(&exchange.key()).unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(note) = exchange.published(http).await {
            let checkpoint = log.verify(&note).expect("signed by the exchange");
            let parsed = Note::parse(&note).unwrap();
            let all = witnesses.iter().all(|k| k.verify(&parsed).is_ok());
            if checkpoint.size >= size && all {
                return (checkpoint, note);
            }
        }
        assert!(
            Instant::now() < deadline,
            "{} did not publish size {size} cosigned by {} witnesses",
            exchange.origin,
            witnesses.len()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Serves `note` at `/ledger/tlog/checkpoint`, as an operator showing it as its log's checkpoint
/// would; the base URL.
async fn serve_checkpoint(note: String) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let app = axum::Router::new().route(
        "/ledger/tlog/checkpoint",
        axum::routing::get(move || async move { note }),
    );
    tokio::spawn(async move { axum::serve(listener, app).await });
    base
}

/// `zhonglian audit --tiles --policy` against `server`: whether it passed, and what it said.
async fn audit(server: &str, policy: &std::path::Path) -> (bool, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_zhonglian"));
    command
        .args(["audit", "--tiles", "--server", server, "--policy"])
        .arg(policy);
    let out = tokio::task::spawn_blocking(move || command.output().unwrap())
        .await
        .unwrap();
    let said =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    (out.status.success(), said)
}

struct Killed(Vec<Child>);

impl Drop for Killed {
    fn drop(&mut self) {
        for child in &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

#[tokio::test]
async fn two_exchanges_and_the_regulator_cosign_each_other_and_catch_a_fork() {
    let a = Exchange::new("exchange-a", 11).await;
    let b = Exchange::new("exchange-b", 12).await;
    let regulator_dir = folder("regulator");
    let regulator_key = plant_witness_key(&regulator_dir, "regulator.test/supervision", [33; 32]);
    let regulator_port = free_port();
    let regulator_url = format!("http://127.0.0.1:{regulator_port}");
    let regulator = Command::new(env!("CARGO_BIN_EXE_zhonglian"))
        .args(["witness", "--name", "regulator.test/supervision", "--bind"])
        .arg(format!("127.0.0.1:{regulator_port}"))
        .arg("--data-dir")
        .arg(&regulator_dir)
        .args(["--log", &a.key(), "--log", &b.key()])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("the regulator's witness");
    let (a_witness, b_witness) = (a.witness_key(), b.witness_key());
    let processes = Killed(vec![
        regulator,
        a.serve(
            &b,
            &[
                (format!("{}/witness", b.base()), b_witness.clone()),
                (regulator_url.clone(), regulator_key.clone()),
            ],
        ),
        b.serve(
            &a,
            &[
                (format!("{}/witness", a.base()), a_witness.clone()),
                (regulator_url.clone(), regulator_key.clone()),
            ],
        ),
    ]);
    let http = reqwest::Client::new();

    a.append(5, "a1").await;
    b.append(3, "b1").await;
    let (a5, _) = cosigned(&a, &http, 5, &[&b_witness, &regulator_key]).await;
    let (b3, _) = cosigned(&b, &http, 3, &[&a_witness, &regulator_key]).await;
    a.append(20, "a2").await;
    b.append(9, "b2").await;
    let (a25, a_note) = cosigned(&a, &http, 25, &[&b_witness, &regulator_key]).await;
    let (b12, _) = cosigned(&b, &http, 12, &[&a_witness, &regulator_key]).await;
    for (old, new, exchange) in [(&a5, &a25, &a), (&b3, &b12, &b)] {
        let proof = zhonglian::ledger::store::consistency(&exchange.db, old.size, new.size)
            .await
            .unwrap();
        merkle::verify_consistency(old.size, new.size, &old.root, &new.root, &proof.path)
            .expect("each published checkpoint extends the one before");
    }
    assert_eq!(Note::parse(&a_note).unwrap().signatures.len(), 3);

    // Go's sumdb/note opens A's checkpoint with A's key and both witnesses' cosignature keys,
    // and Go's sumdb/tlog proves the tree through the tiles.
    let oracle = crate::tlog_tiles::build_oracle(&a.dir);
    let (base, key) = (a.base(), a.key());
    let witnesses = [b_witness.to_string(), regulator_key.to_string()];
    let out = tokio::task::spawn_blocking(move || {
        Command::new(oracle)
            .args(["-server", &base, "-key", &key])
            .args(["-witness", &witnesses[0], "-witness", &witnesses[1]])
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("cosigned by exchange-b.test/witness"),
        "{stdout}"
    );
    assert!(
        stdout.contains("cosigned by regulator.test/supervision"),
        "{stdout}"
    );
    // A witness that never cosigned A's ledger (A's own, which witnesses B) is missing.
    let oracle = crate::tlog_tiles::build_oracle(&a.dir);
    let (base, key, stranger) = (a.base(), a.key(), a_witness.to_string());
    let refused = tokio::task::spawn_blocking(move || {
        Command::new(oracle)
            .args(["-server", &base, "-key", &key, "-witness", &stranger])
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(!refused.status.success());
    let said = String::from_utf8_lossy(&refused.stderr).to_string()
        + &String::from_utf8_lossy(&refused.stdout);
    assert!(
        said.contains("no valid cosignature by exchange-a.test/witness"),
        "{said}"
    );

    // The lag is on /ledger and in /metrics.
    let page = http
        .get(format!("{}/ledger", a.base()))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("id=\"witnesses\""), "{page}");
    assert!(
        page.contains("exchange-b.test/witness") && page.contains("regulator.test/supervision")
    );
    let metrics = http
        .get(format!("{}/metrics", a.base()))
        .bearer_auth("rope-net-metrics")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains(&format!(
            "zhonglian_witness_cosigned_size{{witness=\"regulator.test/supervision\"}} {}",
            a25.size
        )),
        "{metrics}"
    );

    // The fork: A's key signs a tree of the same size with one entry changed.
    let mut leaves: Vec<merkle::Hash> =
        sqlx::query_scalar::<_, Vec<u8>>("SELECT leaf_hash FROM ledger_leaves ORDER BY idx")
            .fetch_all(&a.db)
            .await
            .unwrap()
            .into_iter()
            .map(|h| h.try_into().unwrap())
            .collect();
    leaves[7] = merkle::leaf_hash(b"a different entry at index 7");
    let fork = Signer::new(&a.origin, a.seed).sign(a25.size, &merkle::root_of(&leaves));
    for base in [format!("{}/witness", b.base()), regulator_url.clone()] {
        let answer = http
            .post(format!("{base}/add-checkpoint"))
            .body(format!("old {}\n\n{fork}", a25.size))
            .send()
            .await
            .unwrap();
        let status = answer.status().as_u16();
        assert!(status == 409 || status == 422, "{base}: {status}");
        let evidence: Vec<serde_json::Value> = http
            .get(format!("{base}/evidence"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if status == 422 {
            assert!(
                evidence
                    .iter()
                    .any(|e| e["request"].as_str().is_some_and(|r| r.contains(&fork))),
                "{base} keeps the fork: {evidence:?}"
            );
        }
    }

    // A's operator shows an auditor the fork: without cosignatures, since the witnesses refused
    // it, and again with the honest checkpoint's cosignatures copied under it. An audit with
    // A's published policy refuses both and names the witnesses that did not sign; the honest
    // checkpoint passes the same audit.
    let policy = a.dir.join("policy.txt");
    let published = http
        .get(format!("{}/ledger/tlog/policy", a.base()))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    std::fs::write(&policy, published).unwrap();
    let copied: String = a_note
        .lines()
        .filter(|l| l.starts_with("\u{2014} ") && !l.contains(&a.origin))
        .map(|l| format!("{l}\n"))
        .collect();
    for shown in [fork.clone(), format!("{fork}{copied}")] {
        let said = audit(&serve_checkpoint(shown).await, &policy).await;
        assert!(!said.0, "{}", said.1);
        assert!(
            said.1
                .contains("not signed: exchange-b.test/witness, regulator.test/supervision"),
            "{}",
            said.1
        );
    }
    let honest = audit(&a.base(), &policy).await;
    assert!(honest.0, "{}", honest.1);

    drop(processes);
    for dir in [&a.dir, &b.dir, &regulator_dir] {
        let _ = std::fs::remove_dir_all(dir);
    }
}
