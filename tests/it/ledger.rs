//! The ledger in PostgreSQL: proofs from the store, concurrency, append-only, API, receipts,
//! the command-line verifiers and the auditor.

use std::process::Command;

use rand::{Rng, SeedableRng};
use serde_json::json;
use zhonglian::accounts::domain::{Role, UserId};
use zhonglian::ledger::entry::{EntryKind, NewEntry};
use zhonglian::ledger::merkle::{self, Hash};
use zhonglian::ledger::store;

use crate::support::TestApp;

/// `n` supervision entries tagged `tag`, each with a nonce so that no two are alike.
pub(crate) fn entries(n: usize, tag: &str) -> Vec<NewEntry> {
    (0..n)
        .map(|i| {
            NewEntry::new(
                EntryKind::Supervision,
                json!({"n": i, "tag": tag, "nonce": uuid::Uuid::new_v4().to_string()})
                    .as_object()
                    .cloned()
                    .unwrap(),
            )
        })
        .collect()
}

async fn append(app: &TestApp, batch: &[NewEntry]) -> store::Appended {
    let mut tx = app.db.begin().await.unwrap();
    let appended = app.state.ledger.append(&mut tx, batch).await.unwrap();
    tx.commit().await.unwrap();
    appended
}

async fn all_leaf_hashes(app: &TestApp) -> Vec<Hash> {
    let rows: Vec<(Vec<u8>,)> = sqlx::query_as("SELECT tx_hash FROM ledger_leaves ORDER BY idx")
        .fetch_all(&app.db)
        .await
        .unwrap();
    rows.into_iter()
        .map(|(tx,)| merkle::leaf_hash(&tx))
        .collect()
}

#[tokio::test]
async fn every_proof_the_store_produces_verifies_and_a_flipped_bit_fails() {
    let app = TestApp::spawn().await;
    let seed: u64 = rand::random();
    println!("seed {seed}");
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut total = 0usize;
    while total < 2500 {
        let n = rng.gen_range(1..=300);
        append(&app, &entries(n, "prop")).await;
        total += n;
    }
    let leaves = all_leaf_hashes(&app).await;
    let size = leaves.len() as u64;
    assert_eq!(
        store::head(&app.db).await.unwrap(),
        (size, merkle::root_of(&leaves))
    );

    for _ in 0..150 {
        let tree = rng.gen_range(1..=size);
        let index = rng.gen_range(0..tree);
        let proof = store::inclusion(&app.db, index, tree).await.unwrap();
        let root = merkle::root_of(&leaves[..tree as usize]);
        assert_eq!(proof.root, root, "root at {tree}");
        assert_eq!(proof.leaf_hash, leaves[index as usize]);
        assert_eq!(
            proof.path,
            merkle::inclusion_proof(&leaves[..tree as usize], index).unwrap()
        );
        merkle::verify_inclusion(&proof.leaf_hash, index, tree, &proof.path, &root).unwrap();
        if !proof.path.is_empty() {
            let mut bad = proof.path.clone();
            let (e, b) = (rng.gen_range(0..bad.len()), rng.gen_range(0..256));
            bad[e][b / 8] ^= 1 << (b % 8);
            assert!(merkle::verify_inclusion(&proof.leaf_hash, index, tree, &bad, &root).is_err());
        }

        let first = rng.gen_range(1..=tree);
        let c = store::consistency(&app.db, first, tree).await.unwrap();
        assert_eq!(c.first_root, merkle::root_of(&leaves[..first as usize]));
        merkle::verify_consistency(first, tree, &c.first_root, &c.second_root, &c.path).unwrap();
        if !c.path.is_empty() {
            let mut bad = c.path.clone();
            let (e, b) = (rng.gen_range(0..bad.len()), rng.gen_range(0..256));
            bad[e][b / 8] ^= 1 << (b % 8);
            assert!(
                merkle::verify_consistency(first, tree, &c.first_root, &c.second_root, &bad)
                    .is_err()
            );
        }
    }
}

#[tokio::test]
async fn concurrent_appenders_leave_a_gap_free_log_whose_root_matches_a_rebuild() {
    let app = TestApp::spawn().await;
    let mut tasks = Vec::new();
    for worker in 0..8 {
        let db = app.db.clone();
        let state = app.state.clone();
        tasks.push(tokio::spawn(async move {
            for round in 0..25 {
                let mut tx = db.begin().await.unwrap();
                state
                    .ledger
                    .append(&mut tx, &entries(7, &format!("w{worker}r{round}")))
                    .await
                    .unwrap();
                tx.commit().await.unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let (count, min, max): (i64, i64, i64) =
        sqlx::query_as("SELECT count(*), min(idx), max(idx) FROM ledger_leaves")
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!((count, min, max), (8 * 25 * 7, 0, 8 * 25 * 7 - 1));
    let leaves = all_leaf_hashes(&app).await;
    let (size, root) = store::head(&app.db).await.unwrap();
    assert_eq!(size, leaves.len() as u64);
    assert_eq!(root, merkle::root_of(&leaves));
    let checkpoints: i64 = sqlx::query_scalar("SELECT count(*) FROM ledger_checkpoints")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(
        checkpoints,
        8 * 25 + 1,
        "one checkpoint per batch, plus the empty tree"
    );
}

/// A witness's cosignature of the checkpoint of `size`, stored as the log stores them.
async fn cosign(app: &TestApp, size: u64) -> String {
    use zhonglian::ledger::note::{KeyType, NoteSigner};
    let witness = NoteSigner::new("witness.test/w1", KeyType::Cosignature, [5u8; 32]);
    let (_, note) = zhonglian::ledger::cosignatures::published(&app.db, Some(size))
        .await
        .unwrap()
        .unwrap();
    let text = zhonglian::ledger::note::Note::parse(&note).unwrap().text;
    let line = witness.sign(&text, 1_780_000_000);
    let mut conn = app.db.acquire().await.unwrap();
    let key = witness.verifier_key();
    let at = zhonglian::ledger::cosignatures::record(&mut conn, size, &key, &line)
        .await
        .unwrap();
    assert_eq!(at, 1_780_000_000);
    key.to_string()
}

#[tokio::test]
async fn the_published_checkpoint_carries_each_valid_cosignature_once() {
    use zhonglian::ledger::note::{KeyType, Note, NoteSigner, VerifierKey};
    let app = TestApp::spawn().await;
    append(&app, &entries(2, "co")).await;
    let vkey = VerifierKey::parse(&cosign(&app, 2).await).unwrap();
    cosign(&app, 2).await;
    let note = app
        .client
        .get(app.url("/api/v1/ledger/checkpoint"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let parsed = Note::parse(&note).unwrap();
    assert_eq!(parsed.signatures.len(), 2, "{note}");
    assert_eq!(vkey.verify(&parsed), Ok(Some(1_780_000_000)));
    let log = zhonglian::ledger::checkpoint::Verifier::parse(&app.state.ledger.verifier_key());
    assert_eq!(log.unwrap().verify(&note).unwrap().size, 2);

    // A line from another key, or over another text, is refused and not published.
    let other = NoteSigner::new("witness.test/w1", KeyType::Cosignature, [6u8; 32]);
    let forged = other.sign(&parsed.text, 1_780_000_000);
    let mut conn = app.db.acquire().await.unwrap();
    let refused = zhonglian::ledger::cosignatures::record(&mut conn, 2, &vkey, &forged).await;
    assert!(refused.is_err());
    let witness = NoteSigner::new("witness.test/w1", KeyType::Cosignature, [5u8; 32]);
    let wrong_text = witness.sign("zhonglian.local/ledger\n1\nAAAA\n", 1_780_000_000);
    assert!(
        zhonglian::ledger::cosignatures::record(&mut conn, 2, &vkey, &wrong_text)
            .await
            .is_err()
    );
    let (_, again) = zhonglian::ledger::cosignatures::published(&app.db, None)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(again, note);
}

#[tokio::test]
async fn the_ledger_refuses_update_delete_truncate_and_duplicates() {
    let app = TestApp::spawn().await;
    let batch = entries(3, "ro");
    append(&app, &batch).await;
    cosign(&app, 3).await;
    for sql in [
        "UPDATE ledger_leaves SET kind = 'fee' WHERE idx = 0",
        "DELETE FROM ledger_leaves WHERE idx = 2",
        "TRUNCATE ledger_leaves CASCADE",
        "UPDATE ledger_nodes SET hash = hash",
        "DELETE FROM ledger_checkpoints",
        "TRUNCATE ledger_checkpoints CASCADE",
        "DELETE FROM ledger_cosignatures",
        "TRUNCATE ledger_cosignatures",
        "DELETE FROM ledger_head",
        "UPDATE ledger_head SET size = 0",
    ] {
        let err = sqlx::query(sql).execute(&app.db).await.unwrap_err();
        let message = err.to_string();
        assert!(
            message.contains("append-only") || message.contains("only grows"),
            "{sql}: {message}"
        );
    }
    let mut tx = app.db.begin().await.unwrap();
    let again = app.state.ledger.append(&mut tx, &batch[1..2]).await;
    assert!(matches!(again, Err(store::StoreError::Duplicate)));
    tx.rollback().await.unwrap();
    assert_eq!(store::size(&app.db).await.unwrap(), 3);
}

#[tokio::test]
async fn the_log_never_signs_two_roots_for_one_size() {
    let app = TestApp::spawn().await;
    append(&app, &entries(2, "eq")).await;
    // Someone planted a checkpoint for size 3 with another root.
    sqlx::query("INSERT INTO ledger_checkpoints (size, root, note) VALUES (3, $1, 'forged')")
        .bind(vec![7u8; 32])
        .execute(&app.db)
        .await
        .unwrap();
    let mut tx = app.db.begin().await.unwrap();
    let result = app.state.ledger.append(&mut tx, &entries(1, "eq2")).await;
    assert!(
        matches!(result, Err(store::StoreError::Equivocation(3))),
        "{result:?}"
    );
}

async fn get(app: &TestApp, path: &str) -> reqwest::Response {
    app.get(path).await
}

#[tokio::test]
async fn the_public_api_serves_checkpoint_key_leaves_and_proofs() {
    let app = TestApp::spawn().await;
    append(&app, &entries(10, "api")).await;
    append(&app, &entries(7, "api2")).await;
    let leaves = all_leaf_hashes(&app).await;

    let note = get(&app, "/api/v1/ledger/checkpoint").await;
    assert!(note.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain"));
    let note = note.text().await.unwrap();
    let key = get(&app, "/api/v1/ledger/key").await.text().await.unwrap();
    let verifier = zhonglian::ledger::checkpoint::Verifier::parse(&key).unwrap();
    let cp = verifier.verify(&note).unwrap();
    assert_eq!((cp.size, cp.root), (17, merkle::root_of(&leaves)));

    let page: Vec<serde_json::Value> = get(&app, "/api/v1/ledger/leaves?start=5&end=9")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page.len(), 4);
    assert_eq!(page[0]["index"], 5);
    assert_eq!(page[0]["kind"], "supervision");

    let proof: serde_json::Value = get(&app, "/api/v1/ledger/proof/inclusion?index=3&tree_size=12")
        .await
        .json()
        .await
        .unwrap();
    let path: Vec<Vec<u8>> = proof["path"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| hex::decode(h.as_str().unwrap()).unwrap())
        .collect();
    merkle::verify_inclusion(&leaves[3], 3, 12, &path, &merkle::root_of(&leaves[..12])).unwrap();
    assert_eq!(
        proof["root_hash"],
        hex::encode(merkle::root_of(&leaves[..12]))
    );

    let tx_hash = page[0]["tx_hash"].as_str().unwrap();
    let by_hash: serde_json::Value = get(
        &app,
        &format!("/api/v1/ledger/proof/inclusion?tx_hash={tx_hash}&tree_size=17"),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(by_hash["leaf_index"], 5);

    let consistency: serde_json::Value =
        get(&app, "/api/v1/ledger/proof/consistency?first=10&second=17")
            .await
            .json()
            .await
            .unwrap();
    let path: Vec<Vec<u8>> = consistency["path"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| hex::decode(h.as_str().unwrap()).unwrap())
        .collect();
    merkle::verify_consistency(
        10,
        17,
        &merkle::root_of(&leaves[..10]),
        &merkle::root_of(&leaves),
        &path,
    )
    .unwrap();
    let from_empty = get(&app, "/api/v1/ledger/proof/consistency?first=0&second=17").await;
    assert_eq!(from_empty.status(), 200);
}

#[tokio::test]
async fn bad_ledger_parameters_get_a_problem_never_a_500() {
    let app = TestApp::spawn().await;
    append(&app, &entries(5, "bad")).await;
    for (path, status) in [
        ("/api/v1/ledger/leaves?start=a&end=3", 400),
        ("/api/v1/ledger/leaves?start=0", 400),
        ("/api/v1/ledger/leaves?start=3&end=1", 400),
        ("/api/v1/ledger/leaves?start=0&end=1001", 400),
        ("/api/v1/ledger/leaves?start=0&end=6", 400),
        ("/api/v1/ledger/leaves?start=-1&end=2", 400),
        ("/api/v1/ledger/proof/inclusion?index=5&tree_size=5", 400),
        ("/api/v1/ledger/proof/inclusion?index=0&tree_size=6", 400),
        ("/api/v1/ledger/proof/inclusion?index=0&tree_size=0", 400),
        ("/api/v1/ledger/proof/inclusion?index=x&tree_size=3", 400),
        ("/api/v1/ledger/proof/inclusion?tree_size=3", 400),
        ("/api/v1/ledger/proof/inclusion?tx_hash=zz&tree_size=3", 400),
        (
            "/api/v1/ledger/proof/inclusion?tree_size=3&tx_hash=0000000000000000000000000000000000000000000000000000000000000000",
            404,
        ),
        ("/api/v1/ledger/proof/inclusion?index=99999999999999999999&tree_size=3", 400),
        ("/api/v1/ledger/proof/consistency?first=4&second=3", 400),
        ("/api/v1/ledger/proof/consistency?first=1&second=9", 400),
        ("/api/v1/ledger/proof/consistency?first=1", 400),
    ] {
        let response = get(&app, path).await;
        assert_eq!(response.status().as_u16(), status, "{path}");
        assert_eq!(response.headers()["content-type"], "application/problem+json", "{path}");
    }
}

/// Appends one entry with `party` as a party and returns its `tx_hash`.
async fn entry_for(app: &TestApp, party: UserId) -> String {
    let mut parties = Vec::new();
    let commitment = NewEntry::commit_party(&mut parties, party);
    let mut entry = NewEntry::new(
        EntryKind::PledgeCollected,
        json!({"amount": "88.00", "currency": "CNY", "backer": commitment, "pledge": "p-1"})
            .as_object()
            .cloned()
            .unwrap(),
    );
    entry.parties = parties;
    let appended = append(app, &[entry]).await;
    hex::encode(appended.tx_hashes[0])
}

#[tokio::test]
async fn full_entries_and_receipts_are_for_parties_auditors_and_regulators_only() {
    let app = TestApp::spawn().await;
    let party = app.signup("party@example.com", "backer").await;
    let party_id = UserId(party["id"].as_str().unwrap().parse().unwrap());
    let tx = entry_for(&app, party_id).await;
    append(&app, &entries(4, "more")).await;
    let party_token = app.login("party@example.com").await;
    let stranger = app.login_as_backer().await;
    let auditor = app.login_as_staff(Role::Auditor).await;
    let regulator = app.login_as_staff(Role::Regulator).await;

    let fetch = |path: String, token: Option<String>| {
        let mut request = app.client.get(app.url(&path));
        if let Some(t) = token {
            request = request.bearer_auth(t);
        }
        request.send()
    };
    let entry_path = format!("/api/v1/ledger/entries/{tx}");
    assert_eq!(fetch(entry_path.clone(), None).await.unwrap().status(), 401);
    assert_eq!(
        fetch(entry_path.clone(), Some(stranger.clone()))
            .await
            .unwrap()
            .status(),
        403
    );
    for token in [&party_token, &auditor, &regulator] {
        let r = fetch(entry_path.clone(), Some(token.clone()))
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let body: serde_json::Value = r.json().await.unwrap();
        assert_eq!(body["index"], 0);
        assert!(body["entry"]
            .as_str()
            .unwrap()
            .contains("\"amount\":\"88.00\""));
    }

    let receipt_path = format!("/api/v1/ledger/receipts/{tx}");
    let receipt: serde_json::Value = fetch(receipt_path.clone(), Some(party_token))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(receipt["version"], 1);
    assert_eq!(receipt["tree_size"], 5);
    assert_eq!(receipt["party_id"], party["id"]);
    assert!(receipt["party_salt"].is_string());
    let auditor_receipt: serde_json::Value = fetch(receipt_path.clone(), Some(auditor))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        auditor_receipt.get("party_salt").is_none(),
        "the salt is only for the party"
    );
    assert_eq!(
        fetch(receipt_path, Some(stranger)).await.unwrap().status(),
        403
    );
}

fn zhonglian() -> Command {
    Command::new(env!("CARGO_BIN_EXE_zhonglian"))
}

#[tokio::test]
async fn a_receipt_verifies_with_the_cli_and_fails_after_one_byte_changes() {
    let app = TestApp::spawn().await;
    let party = app.signup("cli@example.com", "backer").await;
    append(&app, &entries(6, "before")).await;
    let tx = entry_for(&app, UserId(party["id"].as_str().unwrap().parse().unwrap())).await;
    append(&app, &entries(9, "after")).await;
    let token = app.login("cli@example.com").await;
    let receipt = app
        .client
        .get(app.url(&format!("/api/v1/ledger/receipts/{tx}")))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let key = app.state.ledger.verifier_key();
    let dir = app.data_dir.join("receipts");
    std::fs::create_dir_all(&dir).unwrap();
    let good = dir.join("good.json");
    std::fs::write(&good, &receipt).unwrap();
    let out = zhonglian()
        .args(["verify-receipt", good.to_str().unwrap(), "--key", &key])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(stdout.contains("receipt is valid") && stdout.contains("ok   party"));

    // One byte of the entry (inside the amount), then one byte of the root.
    for (from, to) in [
        ("88.00", "89.00"),
        ("\"root_hash\":\"", "\"root_hash\":\"0"),
    ] {
        let mut tampered = receipt.replacen(from, to, 1);
        if from.starts_with("\"root_hash") {
            // Keep the length: drop the last hex digit of the root.
            let at = tampered.find("\"root_hash\":\"").unwrap() + 13 + 64;
            tampered.remove(at);
        }
        assert_ne!(tampered, receipt);
        let bad = dir.join("bad.json");
        std::fs::write(&bad, &tampered).unwrap();
        let out = zhonglian()
            .args(["verify-receipt", bad.to_str().unwrap(), "--key", &key])
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(1), "{stdout}");
        assert!(
            stdout.contains("FAIL") && stdout.contains("NOT valid"),
            "{stdout}"
        );
    }
}

#[tokio::test]
async fn verify_proof_exits_zero_for_a_valid_proof_and_one_with_a_reason_otherwise() {
    let app = TestApp::spawn().await;
    append(&app, &entries(11, "vp")).await;
    let p = store::inclusion(&app.db, 4, 11).await.unwrap();
    let mut args = vec![
        "verify-proof".to_owned(),
        "inclusion".into(),
        "--leaf-hash".into(),
        hex::encode(p.leaf_hash),
        "--index".into(),
        "4".into(),
        "--size".into(),
        "11".into(),
        "--root".into(),
        hex::encode(p.root),
    ];
    args.extend(p.path.iter().map(hex::encode));
    let ok = zhonglian().args(&args).output().unwrap();
    assert!(ok.status.success());
    args[5] = "5".into();
    let bad = zhonglian().args(&args).output().unwrap();
    assert_eq!(bad.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad.stdout).starts_with("invalid: "));

    let c = store::consistency(&app.db, 6, 11).await.unwrap();
    let mut args = vec![
        "verify-proof".to_owned(),
        "consistency".into(),
        "--first".into(),
        "6".into(),
        "--second".into(),
        "11".into(),
        "--first-root".into(),
        hex::encode(c.first_root),
        "--second-root".into(),
        hex::encode(c.second_root),
    ];
    args.extend(c.path.iter().map(hex::encode));
    assert!(zhonglian().args(&args).output().unwrap().status.success());
    args.pop();
    assert_eq!(
        zhonglian().args(&args).output().unwrap().status.code(),
        Some(1)
    );
}

async fn audit(app: &TestApp, state: &std::path::Path) -> (bool, String) {
    let address = app.address.clone();
    let state = state.to_owned();
    let key = app.state.ledger.verifier_key();
    tokio::task::spawn_blocking(move || {
        let out = zhonglian()
            .args([
                "audit",
                "--server",
                &address,
                "--state",
                state.to_str().unwrap(),
                "--key",
                &key,
            ])
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    })
    .await
    .unwrap()
}

#[tokio::test]
async fn the_auditor_checks_growth_and_names_the_index_of_a_tampered_row() {
    let app = TestApp::spawn().await;
    std::fs::create_dir_all(&app.data_dir).unwrap();
    let state = app.data_dir.join("audit.json");
    append(&app, &entries(1500, "a")).await;
    let (ok, out) = audit(&app, &state).await;
    assert!(ok, "{out}");
    assert!(out.contains("1500 leaves"));
    let remembered: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&state).unwrap()).unwrap();
    assert_eq!(remembered["size"], 1500);

    append(&app, &entries(777, "b")).await;
    let (ok, out) = audit(&app, &state).await;
    assert!(ok, "growth is consistent: {out}");

    // A superuser rewrites one transaction hash (and its leaf hash, to look consistent).
    let forged = [0xabu8; 32];
    sqlx::query("ALTER TABLE ledger_leaves DISABLE TRIGGER ledger_leaves_append_only")
        .execute(&app.db)
        .await
        .unwrap();
    sqlx::query("UPDATE ledger_leaves SET tx_hash = $1, leaf_hash = $2 WHERE idx = 1234")
        .bind(forged.to_vec())
        .bind(merkle::leaf_hash(&forged).to_vec())
        .execute(&app.db)
        .await
        .unwrap();
    let (ok, out) = audit(&app, &state).await;
    assert!(!ok);
    assert!(
        out.contains("leaf 1234 is not the leaf the checkpoint signed"),
        "{out}"
    );
}
