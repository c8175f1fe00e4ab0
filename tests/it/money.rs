//! The journal: balanced entries, no overdraft, append-only, exactly-once keys.

use rust_decimal::Decimal;
use zhonglian::money::{self, AccountOwner, EntryKind, Money, Posting, Transfer};

use crate::support::TestApp;

#[tokio::test]
async fn a_transfer_moves_money_and_the_books_balance() {
    let app = TestApp::spawn().await;
    let backer = app.fixture_backer().await;
    let me = app
        .client
        .get(app.url("/api/v1/me"))
        .bearer_auth(&backer.token)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 200, "fixture users can use the API");
    app.fund(&backer, "300.00").await;
    assert_eq!(app.wallet_balance(&backer).await, Decimal::new(30000, 2));
    app.assert_books_balance().await;
}

#[tokio::test]
async fn a_wallet_can_never_go_below_zero() {
    let app = TestApp::spawn().await;
    let backer = app.fixture_backer().await;
    app.fund(&backer, "10.00").await;
    let mut conn = app.db.acquire().await.unwrap();
    let wallet = money::account_for(&mut conn, AccountOwner::BackerWallet(backer.id), "CNY")
        .await
        .unwrap();
    let fee = money::account_for(&mut conn, AccountOwner::PlatformFee, "CNY")
        .await
        .unwrap();
    let refused = money::transfer(
        &mut conn,
        Transfer {
            from: wallet,
            to: fee,
            amount: Money::parse("10.01").unwrap(),
            kind: EntryKind::Fee,
            reference: "test",
            once_key: None,
        },
    )
    .await;
    assert_eq!(
        zhonglian::http::error::Error::from(refused.unwrap_err()).status_code(),
        409
    );
    assert_eq!(app.wallet_balance(&backer).await, Decimal::new(1000, 2));
    app.assert_books_balance().await;
}

#[tokio::test]
async fn the_database_refuses_an_entry_that_does_not_sum_to_zero() {
    let app = TestApp::spawn().await;
    let backer = app.fixture_backer().await;
    app.fund(&backer, "10.00").await;
    let mut tx = app.db.begin().await.unwrap();
    let wallet = money::account_for(&mut tx, AccountOwner::BackerWallet(backer.id), "CNY")
        .await
        .unwrap();
    let entry: i64 = sqlx::query_scalar(
        "INSERT INTO journal_entries (kind, reference) VALUES ('fee', 'forged') RETURNING id",
    )
    .fetch_one(&mut *tx)
    .await
    .unwrap();
    sqlx::query("INSERT INTO journal_postings (entry_id, account_id, amount) VALUES ($1, $2, 5)")
        .bind(entry)
        .bind(wallet.0)
        .execute(&mut *tx)
        .await
        .unwrap();
    let commit = tx.commit().await;
    let error = commit.unwrap_err();
    assert!(
        matches!(&error, sqlx::Error::Database(d) if d.constraint() == Some("journal_entry_balanced")),
        "{error}"
    );
    let refused = sqlx::query("DELETE FROM journal_postings")
        .execute(&app.db)
        .await;
    assert!(refused.is_err(), "the journal is append-only");
    app.assert_books_balance().await;
}

#[tokio::test]
async fn an_entry_with_a_once_key_happens_at_most_once() {
    let app = TestApp::spawn().await;
    let backer = app.fixture_backer().await;
    let mut conn = app.db.acquire().await.unwrap();
    let gateway = money::account_for(&mut conn, AccountOwner::Gateway, "CNY")
        .await
        .unwrap();
    let wallet = money::account_for(&mut conn, AccountOwner::BackerWallet(backer.id), "CNY")
        .await
        .unwrap();
    let mut made = 0;
    for _ in 0..3 {
        let lines = [
            Posting {
                account: gateway,
                amount: Decimal::new(-500, 2),
            },
            Posting {
                account: wallet,
                amount: Decimal::new(500, 2),
            },
        ];
        let entry = money::post_entry(
            &mut conn,
            EntryKind::Deposit,
            "deposit:x",
            Some("deposit:x"),
            &lines,
        )
        .await
        .unwrap();
        made += usize::from(entry.is_some());
    }
    assert_eq!(made, 1);
    assert_eq!(app.wallet_balance(&backer).await, Decimal::new(500, 2));
    app.assert_books_balance().await;
}

async fn deposit(app: &TestApp, token: &str, body: serde_json::Value) -> reqwest::Response {
    app.client
        .post(app.url("/api/v1/wallet/deposits"))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_repeated_gateway_callback_credits_the_wallet_once() {
    let app = TestApp::spawn().await;
    let backer = app.fixture_backer().await;
    let started = deposit(&app, &backer.token, serde_json::json!({"amount": "250.00"})).await;
    assert_eq!(started.status(), 201);
    let started: serde_json::Value = started.json().await.unwrap();
    assert_eq!(started["state"], "pending");
    assert!(started["checkout_url"]
        .as_str()
        .unwrap()
        .starts_with("/sandbox/checkout/"));

    let gateway = zhonglian::money::api::sandbox(&app.state).expect("the tests run the sandbox");
    let notice = zhonglian::money::provider::GatewayNotice {
        reference: started["reference"].as_str().unwrap().to_owned(),
        outcome: zhonglian::money::provider::Outcome::Approved,
    };
    let (body, timestamp, signature) = gateway.signed_notice(&notice);
    let mut calls = Vec::new();
    for _ in 0..10 {
        let request = app
            .client
            .post(app.url("/api/v1/payments/sandbox/callback"))
            .header("content-type", "application/json")
            .header("x-gateway-timestamp", timestamp.clone())
            .header("x-gateway-signature", signature.clone())
            .body(body.clone());
        calls.push(request);
    }
    for response in futures_join(calls).await {
        assert_eq!(response.status(), 200);
    }
    let forged = app
        .client
        .post(app.url("/api/v1/payments/sandbox/callback"))
        .header("x-gateway-timestamp", timestamp.clone())
        .header("x-gateway-signature", "00".repeat(32))
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 400);

    assert_eq!(app.wallet_balance(&backer).await, Decimal::new(25000, 2));
    let wallet: serde_json::Value = app
        .client
        .get(app.url("/api/v1/wallet"))
        .bearer_auth(&backer.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(wallet["balances"][0]["balance"], "250.00");
    assert_eq!(wallet["history"].as_array().unwrap().len(), 1);
    assert_eq!(wallet["deposits"][0]["state"], "approved");
    app.assert_books_balance().await;
}

async fn futures_join(requests: Vec<reqwest::RequestBuilder>) -> Vec<reqwest::Response> {
    // Spawned together so the callbacks really race.
    let handles: Vec<_> = requests
        .into_iter()
        .map(|r| tokio::spawn(r.send()))
        .collect();
    let mut out = Vec::new();
    for handle in handles {
        out.push(handle.await.unwrap().unwrap());
    }
    out
}

#[tokio::test]
async fn a_declined_top_up_credits_nothing() {
    let app = TestApp::spawn().await;
    let backer = app.fixture_backer().await;
    let response = deposit(
        &app,
        &backer.token,
        serde_json::json!({"amount": "80", "sandbox_answer": "decline"}),
    )
    .await;
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["state"], "declined");
    assert_eq!(app.wallet_balance(&backer).await, Decimal::ZERO);
    app.assert_books_balance().await;
}

#[tokio::test]
async fn bad_amounts_are_refused_with_a_clear_message() {
    let app = TestApp::spawn().await;
    let backer = app.fixture_backer().await;
    let cases = [
        (serde_json::json!("0"), "more than zero"),
        (serde_json::json!("-10"), "more than zero"),
        (serde_json::json!("10.001"), "two decimals"),
        (serde_json::json!("1000000000000"), "too large"),
        (serde_json::json!(1_000_000_000_000u64), "too large"),
        (serde_json::json!(1e300), "exponent"),
        (serde_json::json!("ten"), "as a number"),
        (serde_json::json!("12,50"), "as a number"),
    ];
    for (amount, expected) in cases {
        let response = deposit(&app, &backer.token, serde_json::json!({"amount": amount})).await;
        assert_eq!(response.status(), 422, "{amount}");
        let problem: serde_json::Value = response.json().await.unwrap();
        let detail = problem["detail"].as_str().unwrap();
        assert!(detail.contains(expected), "{amount}: {detail}");
    }
    // As sent by a client that writes exponents (serde_json writes 100.0 as `100.0`).
    for raw in [
        r#"{"amount":1e2}"#,
        r#"{"amount":1E2}"#,
        r#"{"amount":5e-1}"#,
    ] {
        let response = app
            .api(reqwest::Method::POST, "/wallet/deposits", &backer.token)
            .header("content-type", "application/json")
            .body(raw)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 422, "{raw}");
        let problem: serde_json::Value = response.json().await.unwrap();
        assert!(problem["detail"].as_str().unwrap().contains("exponent"));
    }
    assert_eq!(app.wallet_balance(&backer).await, Decimal::ZERO);
    app.assert_books_balance().await;
}
