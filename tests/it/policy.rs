//! Trust policies against a real server: the published policy, `.tlog-proof` downloads checked
//! by `zhonglian verify-receipt --policy`, and `zhonglian audit --policy`, with and without the
//! quorum of cosignatures.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use zhonglian::accounts::domain::Role;
use zhonglian::ledger::policy::Policy;

use crate::support::{test_witnesses, TestApp};

async fn get_text(app: &TestApp, path: &str, token: Option<&str>) -> reqwest::Response {
    let mut request = app.client.get(app.url(path));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.unwrap()
}

/// Writes the published policy and the `.tlog-proof` (and JSON receipt) of leaf 3 to files.
async fn download(app: &TestApp) -> (PathBuf, PathBuf, PathBuf) {
    let auditor = app.login_as_staff(Role::Auditor).await;
    let tx = app.leaf_tx_hash(3).await;
    let dir = app.data_dir.join("policy-test");
    std::fs::create_dir_all(&dir).unwrap();
    let policy = get_text(app, "/ledger/tlog/policy", None).await;
    assert!(policy.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain"));
    let policy_file = dir.join("policy.txt");
    std::fs::write(&policy_file, policy.text().await.unwrap()).unwrap();

    let proof = get_text(
        app,
        &format!("/api/v1/ledger/receipts/{tx}/tlog-proof"),
        Some(&auditor),
    )
    .await;
    assert_eq!(proof.status(), 200);
    let disposition = proof.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        disposition.starts_with("attachment;") && disposition.contains(".tlog-proof"),
        "{disposition}"
    );
    let proof_file = dir.join("receipt.tlog-proof");
    std::fs::write(&proof_file, proof.text().await.unwrap()).unwrap();

    let receipt = get_text(
        app,
        &format!("/api/v1/ledger/receipts/{tx}"),
        Some(&auditor),
    )
    .await;
    let receipt_file = dir.join("receipt.json");
    std::fs::write(&receipt_file, receipt.text().await.unwrap()).unwrap();
    (policy_file, proof_file, receipt_file)
}

async fn run(args: Vec<String>) -> (Output, String) {
    let out = tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_zhonglian"))
            .args(&args)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    (out, stdout)
}

async fn verify(file: &Path, policy: &Path) -> (Output, String) {
    run(vec![
        "verify-receipt".into(),
        file.display().to_string(),
        "--policy".into(),
        policy.display().to_string(),
    ])
    .await
}

async fn audit(app: &TestApp, policy: &Path) -> (Output, String) {
    run(vec![
        "audit".into(),
        "--server".into(),
        app.address.clone(),
        "--policy".into(),
        policy.display().to_string(),
    ])
    .await
}

#[tokio::test]
async fn the_published_policy_names_the_log_and_requires_every_witness() {
    let app = TestApp::spawn_with_witnesses().await;
    let text = get_text(&app, "/ledger/tlog/policy", None)
        .await
        .text()
        .await
        .unwrap();
    let policy = Policy::parse(&text).unwrap();
    assert_eq!(
        policy.logs()[0].key.to_string(),
        app.state.ledger.verifier_key()
    );
    let names: Vec<&str> = policy.witnesses().iter().map(|w| w.name.as_str()).collect();
    assert_eq!(names, vec!["a.witness.example", "b.witness.example"]);
    assert!(text.contains("group witnesses all a.witness.example b.witness.example"));
}

#[tokio::test]
async fn a_cosigned_tlog_proof_verifies_against_the_published_policy() {
    let app = TestApp::spawn_with_witnesses().await;
    for w in &test_witnesses() {
        app.cosign_latest(w).await;
    }
    let (policy, proof, receipt) = download(&app).await;
    let (out, stdout) = verify(&proof, &policy).await;
    assert!(out.status.success(), "{stdout}");
    assert!(
        stdout.contains("ok   witness a.witness.example"),
        "{stdout}"
    );
    assert!(stdout.contains("ok   inclusion") && stdout.contains("receipt is valid"));
    let (out, stdout) = verify(&receipt, &policy).await;
    assert!(out.status.success(), "{stdout}");
    let (out, stdout) = audit(&app, &policy).await;
    assert!(out.status.success(), "{stdout}");
    assert!(stdout.contains("ok   quorum: met"), "{stdout}");
}

#[tokio::test]
async fn a_checkpoint_below_quorum_is_refused_and_the_missing_witness_named() {
    let app = TestApp::spawn_with_witnesses().await;
    app.cosign_latest(&test_witnesses()[0]).await;
    let (policy, proof, receipt) = download(&app).await;
    for file in [&proof, &receipt] {
        let (out, stdout) = verify(file, &policy).await;
        assert_eq!(out.status.code(), Some(1), "{stdout}");
        assert!(
            stdout.contains("FAIL witness b.witness.example: no cosignature")
                && stdout.contains("not signed: b.witness.example")
                && stdout.contains("receipt is NOT valid"),
            "{stdout}"
        );
    }
    let (out, stdout) = audit(&app, &policy).await;
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("FAIL quorum: NOT met"), "{stdout}");
}

#[tokio::test]
async fn a_tlog_proof_with_another_entry_fails_inclusion() {
    let app = TestApp::spawn_with_witnesses().await;
    for w in &test_witnesses() {
        app.cosign_latest(w).await;
    }
    let (policy, proof, _) = download(&app).await;
    let other = proof.with_file_name("other-entry.json");
    std::fs::write(&other, b"{\"n\":99}").unwrap();
    let (out, stdout) = run(vec![
        "verify-receipt".into(),
        proof.display().to_string(),
        "--policy".into(),
        policy.display().to_string(),
        "--entry".into(),
        other.display().to_string(),
    ])
    .await;
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("FAIL inclusion"), "{stdout}");
}

#[tokio::test]
async fn the_openapi_document_lists_the_tlog_proof_download() {
    let app = TestApp::spawn().await;
    let doc: serde_json::Value = get_text(&app, "/api/v1/openapi.json", None)
        .await
        .json()
        .await
        .unwrap();
    let path = &doc["paths"]["/api/v1/ledger/receipts/{tx_hash}/tlog-proof"]["get"];
    assert!(
        path["responses"]["200"]["content"]["text/plain"].is_object(),
        "{path}"
    );
}
