//! The witness (`zhonglian witness`) as a real process, held to C2SP tlog-witness: every status
//! code of `add-checkpoint`, cosignatures that verify with its published key, a state that
//! survives SIGKILL and never rolls back, one winner among concurrent requests from one size,
//! and the evidence of a log that signed two histories.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use zhonglian::ledger::checkpoint::Signer;
use zhonglian::ledger::merkle::{self, Hash};
use zhonglian::ledger::note::{KeyType, Note, SignatureLine, VerifierKey};

const ORIGIN: &str = "exchange.test/ledger";
const WITNESS_NAME: &str = "supervision.test/witness";

/// A log kept in memory: its signer and its leaf hashes.
struct Log {
    signer: Signer,
    leaves: Vec<Hash>,
}

impl Log {
    fn new(origin: &str, seed: u8) -> Self {
        Self {
            signer: Signer::new(origin, [seed; 32]),
            leaves: Vec::new(),
        }
    }

    /// Adds `n` leaves whose inputs start with `tag`.
    fn grow(&mut self, n: usize, tag: &str) {
        for i in 0..n {
            let input = format!("{tag}-{}", self.leaves.len() + i);
            self.leaves.push(merkle::leaf_hash(input.as_bytes()));
        }
    }

    fn key(&self) -> String {
        self.signer.verifier_key()
    }

    fn root(&self, size: u64) -> Hash {
        merkle::root_of(&self.leaves[..size as usize])
    }

    fn note(&self, size: u64) -> String {
        self.signer.sign(size, &self.root(size))
    }

    fn proof(&self, old: u64, size: u64) -> Vec<Hash> {
        if old == 0 || old == size {
            return Vec::new();
        }
        merkle::consistency_proof(&self.leaves, old, size).expect("proof")
    }

    /// The `add-checkpoint` body for the checkpoint of `size` from `old`.
    fn request(&self, old: u64, size: u64) -> String {
        body(old, &self.proof(old, size), &self.note(size))
    }
}

fn body(old: u64, proof: &[Hash], note: &str) -> String {
    use base64::Engine;
    let mut body = format!("old {old}\n");
    for hash in proof {
        body.push_str(&base64::engine::general_purpose::STANDARD.encode(hash));
        body.push('\n');
    }
    body.push('\n');
    body.push_str(note);
    body
}

/// A `zhonglian witness` process on a port of its own.
struct WitnessProcess {
    child: Option<Child>,
    dir: PathBuf,
    port: u16,
    logs: Vec<String>,
    http: reqwest::Client,
}

/// What the witness answered.
struct Answer {
    status: u16,
    content_type: String,
    body: String,
}

impl WitnessProcess {
    async fn start(dir: &Path, logs: &[String]) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let mut witness = Self {
            child: None,
            dir: dir.to_owned(),
            port,
            logs: logs.to_vec(),
            http: reqwest::Client::new(),
        };
        witness.run().await;
        witness
    }

    /// Starts the process (again) on the same folder and port, and waits until it answers.
    async fn run(&mut self) {
        let mut command = Command::new(env!("CARGO_BIN_EXE_zhonglian"));
        command
            .arg("witness")
            .arg("--data-dir")
            .arg(&self.dir)
            .arg("--bind")
            .arg(format!("127.0.0.1:{}", self.port))
            .arg("--name")
            .arg(WITNESS_NAME)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        for log in &self.logs {
            command.arg("--log").arg(log);
        }
        self.child = Some(command.spawn().expect("zhonglian witness"));
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(r) = self.http.get(self.url("/key")).send().await {
                if r.status().is_success() {
                    return;
                }
            }
            assert!(Instant::now() < deadline, "the witness did not start");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().expect("SIGKILL");
            child.wait().expect("reaped");
        }
    }

    async fn key(&self) -> VerifierKey {
        let text = self
            .http
            .get(self.url("/key"))
            .send()
            .await
            .expect("key")
            .text()
            .await
            .expect("key text");
        VerifierKey::parse(text.lines().next().unwrap_or_default()).expect("a vkey")
    }

    async fn add(&self, body: String) -> Answer {
        let response = self
            .http
            .post(self.url("/add-checkpoint"))
            .body(body)
            .send()
            .await
            .expect("add-checkpoint");
        Answer {
            status: response.status().as_u16(),
            content_type: response
                .headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned(),
            body: response.text().await.expect("body"),
        }
    }

    async fn evidence(&self) -> Vec<serde_json::Value> {
        self.http
            .get(self.url("/evidence"))
            .send()
            .await
            .expect("evidence")
            .json()
            .await
            .expect("evidence JSON")
    }
}

impl Drop for WitnessProcess {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn folder(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("zl-{name}-{}", uuid::Uuid::new_v4().simple()))
}

/// The cosignature lines of a 200 answer, each checked with the witness's key over `note`.
fn cosignatures(answer: &Answer, key: &VerifierKey, note: &str) -> Vec<u64> {
    assert_eq!(answer.status, 200, "{}", answer.body);
    let text = Note::parse(note).expect("note").text;
    let lines: Vec<SignatureLine> = answer
        .body
        .lines()
        .map(|l| SignatureLine::parse(l).expect("a signature line"))
        .collect();
    assert!(!lines.is_empty() && answer.body.ends_with('\n'));
    lines
        .iter()
        .filter(|l| key.owns(l))
        .map(|l| {
            key.check(&text, l)
                .expect("the cosignature verifies")
                .expect("a timestamp")
        })
        .collect()
}

#[tokio::test]
async fn add_checkpoint_answers_every_status_code_of_the_spec() {
    let mut log = Log::new(ORIGIN, 1);
    log.grow(8, "a");
    let witness = WitnessProcess::start(&folder("witness-codes"), &[log.key()]).await;
    let key = witness.key().await;
    assert_eq!(key.kind(), KeyType::Cosignature);
    assert_eq!(key.name(), WITNESS_NAME);

    // 404: a log the witness does not follow.
    let mut stranger = Log::new("other.test/ledger", 2);
    stranger.grow(3, "s");
    assert_eq!(witness.add(stranger.request(0, 3)).await.status, 404);

    // 403: the right origin signed by another key, and the log's key id with a bad signature.
    let mut impostor = Log::new(ORIGIN, 3);
    impostor.leaves = log.leaves.clone();
    assert_eq!(witness.add(impostor.request(0, 5)).await.status, 403);
    let note = log.note(5);
    let mut broken = Note::parse(&note).unwrap();
    broken.signatures[0].signature[10] ^= 1;
    assert_eq!(
        witness.add(body(0, &[], &broken.to_string())).await.status,
        403
    );

    // 400: an old size above the checkpoint's, and bodies that are not requests.
    assert_eq!(witness.add(body(6, &[], &log.note(5))).await.status, 400);
    for bad in [
        format!("old 01\n\n{note}"),
        format!("fresh 0\n\n{note}"),
        format!("old 0\nnot-base64!\n\n{note}"),
        format!("old 0\n{note}"),
        format!("old 1\n{}\n{note}", "AAAA\n".repeat(64)),
    ] {
        assert_eq!(witness.add(bad.clone()).await.status, 400, "{bad:?}");
    }

    // 409 before anything was cosigned: the witness's size is 0.
    let conflict = witness.add(log.request(3, 5)).await;
    assert_eq!(conflict.status, 409);
    assert_eq!(conflict.content_type, "text/x.tlog.size");
    assert_eq!(conflict.body, "0\n");

    // 422: from 0 a proof must be empty; a size-0 checkpoint must have the empty root.
    let stray = body(0, &[[7u8; 32]], &note);
    assert_eq!(witness.add(stray).await.status, 422);
    let empty_but_not = log.signer.sign(0, &[9u8; 32]);
    assert_eq!(witness.add(body(0, &[], &empty_but_not)).await.status, 422);

    // 200: the first cosignature, timestamped now.
    let first = witness.add(log.request(0, 5)).await;
    let now = time::OffsetDateTime::now_utc().unix_timestamp() as u64;
    let stamps = cosignatures(&first, &key, &note);
    assert_eq!(stamps.len(), 1);
    assert!(stamps[0] > 0 && stamps[0].abs_diff(now) < 60, "{stamps:?}");

    // 409 now says 5; 422 for a bad proof and for another root at the cosigned size.
    let again = witness.add(log.request(0, 8)).await;
    assert_eq!((again.status, again.body.as_str()), (409, "5\n"));
    let mut wrong_proof = log.proof(5, 8);
    wrong_proof[0][0] ^= 1;
    assert_eq!(
        witness
            .add(body(5, &wrong_proof, &log.note(8)))
            .await
            .status,
        422
    );
    let mut fork = Log::new(ORIGIN, 1);
    fork.grow(5, "fork");
    assert_eq!(witness.add(fork.request(5, 5)).await.status, 422);

    // 200 onwards with a real proof; the same checkpoint again is cosigned again.
    let onwards = witness.add(log.request(5, 8)).await;
    cosignatures(&onwards, &key, &log.note(8));
    let same = witness.add(log.request(8, 8)).await;
    cosignatures(&same, &key, &log.note(8));

    // The two signed contradictions are kept as evidence (a bad proof proves nothing): the
    // empty tree with a root, and the fork beside the checkpoint it contradicts.
    let evidence = witness.evidence().await;
    assert_eq!(evidence.len(), 2, "{evidence:?}");
    assert!(evidence.iter().all(|e| e["origin"] == ORIGIN));
    let forked = evidence
        .iter()
        .find(|e| e["request"].as_str() == Some(fork.request(5, 5).as_str()))
        .expect("the fork is kept");
    assert_eq!(forked["cosigned_size"], 5);
    let cosigned = forked["cosigned"]
        .as_str()
        .expect("the cosigned checkpoint");
    assert!(cosigned.starts_with(&Note::parse(&note).unwrap().text));
}

#[tokio::test]
async fn the_state_and_the_evidence_survive_a_restart() {
    let mut log = Log::new(ORIGIN, 1);
    log.grow(10, "r");
    let mut witness = WitnessProcess::start(&folder("witness-restart"), &[log.key()]).await;
    let key = witness.key().await;
    assert_eq!(witness.add(log.request(0, 4)).await.status, 200);
    let mut fork = Log::new(ORIGIN, 1);
    fork.grow(4, "other");
    assert_eq!(witness.add(fork.request(4, 4)).await.status, 422);

    witness.kill();
    witness.run().await;

    assert_eq!(witness.key().await, key, "the key is kept in its folder");
    let conflict = witness.add(log.request(0, 10)).await;
    assert_eq!((conflict.status, conflict.body.as_str()), (409, "4\n"));
    assert_eq!(witness.add(log.request(4, 10)).await.status, 200);
    assert_eq!(witness.evidence().await.len(), 1);
}

#[tokio::test]
async fn of_concurrent_requests_from_one_size_exactly_one_is_cosigned() {
    let mut log = Log::new(ORIGIN, 1);
    log.grow(40, "c");
    let witness = WitnessProcess::start(&folder("witness-race"), &[log.key()]).await;
    assert_eq!(witness.add(log.request(0, 10)).await.status, 200);

    let mut racing = tokio::task::JoinSet::new();
    for size in 11..=40u64 {
        let (http, url, body) = (
            witness.http.clone(),
            witness.url("/add-checkpoint"),
            log.request(10, size),
        );
        racing.spawn(async move {
            let status = http.post(url).body(body).send().await.unwrap().status();
            (size, status.as_u16())
        });
    }
    let answers = racing.join_all().await;

    let won: Vec<u64> = answers
        .iter()
        .filter(|(_, status)| *status == 200)
        .map(|(size, _)| *size)
        .collect();
    assert_eq!(won.len(), 1, "answers: {answers:?}");
    assert!(answers.iter().all(|(_, s)| *s == 200 || *s == 409));
    let latest = witness.add(log.request(0, 40)).await;
    assert_eq!(latest.body, format!("{}\n", won[0]));
}

/// A client streams growing checkpoints while the witness is killed with SIGKILL at random
/// moments and restarted: after each restart its size is at least the last one it answered
/// 200 for (a crash never rolls it back), and it goes on from there.
#[tokio::test]
async fn sigkill_never_rolls_the_witness_back() {
    let mut log = Log::new(ORIGIN, 1);
    log.grow(400, "k");
    let mut witness = WitnessProcess::start(&folder("witness-crash"), &[log.key()]).await;
    let mut acknowledged = 0u64;
    let mut known = 0u64;
    for round in 0..4u64 {
        let http = witness.http.clone();
        let url = witness.url("/add-checkpoint");
        let requests: Vec<(u64, String)> = (known + 1..=known + 80)
            .map(|size| (size, log.request(size - 1, size)))
            .collect();
        let cosigned = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
        let progress = cosigned.clone();
        let client = tokio::spawn(async move {
            let mut last = None;
            for (size, body) in requests {
                match http.post(&url).body(body).send().await {
                    Ok(r) if r.status().as_u16() == 200 => {
                        last = Some(size);
                        progress.store(size, std::sync::atomic::Ordering::SeqCst);
                    }
                    _ => break,
                }
            }
            last
        });
        // The kill lands while requests are in flight: after the first answer of the round
        // (however slow the machine), then a little later each round.
        let first = tokio::time::Instant::now();
        while cosigned.load(std::sync::atomic::Ordering::SeqCst) == 0
            && first.elapsed() < Duration::from_secs(30)
        {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        tokio::time::sleep(Duration::from_millis(10 + 20 * round)).await;
        witness.kill();
        if let Some(size) = client.await.expect("client") {
            acknowledged = size;
        }
        witness.run().await;
        let probe = witness.add(log.request(0, 400)).await;
        let size: u64 = if probe.status == 200 {
            400
        } else {
            assert_eq!(probe.status, 409, "{}", probe.body);
            probe.body.trim().parse().expect("a size")
        };
        assert!(
            size >= acknowledged,
            "round {round}: the witness is at {size}, but it answered 200 for {acknowledged}"
        );
        known = size;
        if known >= 320 {
            break;
        }
    }
    assert!(acknowledged > 0, "no request was cosigned before a kill");
}

#[tokio::test]
async fn a_server_with_witness_logs_mounts_the_witness_under_witness() {
    let mut other = Log::new("other-exchange.test/ledger", 4);
    other.grow(3, "o");
    let app = crate::support::TestApp::spawn().await;
    let data = folder("mounted-witness");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap()
        .port();
    let mut server = crate::support::serve_command(&app, &data)
        .env("BIND", format!("127.0.0.1:{port}"))
        .env("WITNESS_LOGS", other.key())
        .env("WITNESS_NAME", "exchange.test/witness")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("serve");
    let base = format!("http://127.0.0.1:{port}/witness");
    let http = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    let key = loop {
        if let Ok(r) = http.get(format!("{base}/key")).send().await {
            if r.status().is_success() {
                break r.text().await.unwrap();
            }
        }
        assert!(Instant::now() < deadline, "the server did not start");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let key = VerifierKey::parse(key.lines().next().unwrap()).unwrap();
    assert_eq!(key.name(), "exchange.test/witness");

    let answer = http
        .post(format!("{base}/add-checkpoint"))
        .body(other.request(0, 3))
        .send()
        .await
        .unwrap();
    let status = answer.status().as_u16();
    let text = answer.text().await.unwrap();

    let _ = server.kill();
    let _ = server.wait();
    let _ = std::fs::remove_dir_all(&data);
    let answer = Answer {
        status,
        content_type: String::new(),
        body: text,
    };
    cosignatures(&answer, &key, &other.note(3));
}
