//! Withdrawals: money out of the wallet to a bank account through the sandbox gateway, never
//! more than the balance (also twenty at once), exactly once per Idempotency-Key, returned to
//! the wallet when the bank declines, listed in the API and on `/wallet`.

use std::sync::Arc;
use std::time::Duration;

use fantoccini::Locator;
use reqwest::{Method, StatusCode};
use rust_decimal::Decimal;
use serde_json::{json, Value};
use zhonglian::accounts::domain::UserId;
use zhonglian::money::provider::{GatewayNotice, Outcome, SandboxProvider};

use crate::browser::{
    fill, full_page_screenshot, page_width, phone, screenshot_folder, sign_up, text_of, PHONE,
};
use crate::support::{
    assert_problem, assert_status, form_field, status_and_json, Backer, Caller, TestApp,
};

/// An account the sandbox's bank pays.
const GOOD_ACCOUNT: &str = "6222 0212 3456 7890";
/// An account the sandbox's bank declines (it ends in 0000).
const DECLINED_ACCOUNT: &str = "6222 0212 3456 0000";

fn cny(text: &str) -> Decimal {
    text.parse().unwrap()
}

/// `POST /api/v1/wallet/withdrawals` with an optional Idempotency-Key.
async fn withdraw(app: &TestApp, who: &Backer, body: Value, key: Option<&str>) -> Answer {
    let mut request = app
        .request_as(Method::POST, "/wallet/withdrawals", who)
        .json(&body);
    if let Some(key) = key {
        request = request.header("idempotency-key", key);
    }
    let response = request.send().await.expect("request sent");
    let replayed = response.headers().get("idempotent-replayed").is_some();
    let (status, body) = status_and_json(response).await;
    Answer {
        status,
        body,
        replayed,
    }
}

struct Answer {
    status: StatusCode,
    body: Value,
    replayed: bool,
}

impl Answer {
    fn pair(&self) -> (StatusCode, Value) {
        (self.status, self.body.clone())
    }
}

/// The backer's withdrawals as `GET /api/v1/wallet` lists them.
async fn listed(app: &TestApp, who: &Backer) -> Vec<Value> {
    let (status, wallet) = app.get_json("/wallet", who).await;
    assert_eq!(status, 200, "{wallet}");
    wallet["withdrawals"].as_array().expect("a list").clone()
}

/// Waits until the gateway has answered every withdrawal of the backer (none pending).
async fn settled(app: &TestApp, who: &Backer) -> Vec<Value> {
    for _ in 0..200 {
        let list = listed(app, who).await;
        if list.iter().all(|w| w["state"] != "pending") {
            return list;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the gateway never answered: {:?}", listed(app, who).await);
}

/// The kinds of the notifications the user has.
async fn notices_of(app: &TestApp, who: &Backer) -> Vec<String> {
    sqlx::query_scalar("SELECT kind FROM notifications WHERE user_id = $1 ORDER BY id")
        .bind(who.id)
        .fetch_all(&app.db)
        .await
        .unwrap()
}

#[tokio::test]
async fn twenty_concurrent_withdrawals_against_a_balance_for_three_make_exactly_three() {
    let app = Arc::new(TestApp::spawn().await);
    let backer = Arc::new(app.fixture_backer().await);
    app.fund(&backer, "300.00").await;

    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let (app, backer) = (app.clone(), backer.clone());
            tokio::spawn(async move {
                withdraw(
                    &app,
                    &backer,
                    json!({"amount": "100.00", "currency": "CNY", "account": GOOD_ACCOUNT}),
                    None,
                )
                .await
                .pair()
            })
        })
        .collect();
    let mut made = 0;
    for task in tasks {
        let answer = task.await.unwrap();
        if answer.0 == StatusCode::CREATED {
            made += 1;
        } else {
            assert_problem(&answer, 409, "conflict");
            assert!(
                answer.1["detail"]
                    .as_str()
                    .unwrap()
                    .contains("does not hold enough"),
                "{}",
                answer.1
            );
        }
    }

    assert_eq!(made, 3);
    assert_eq!(app.wallet_balance(&backer).await, Decimal::ZERO);
    let list = settled(&app, &backer).await;
    assert_eq!(list.len(), 3);
    assert!(list.iter().all(|w| w["state"] == "completed"), "{list:?}");
    app.assert_books_balance().await;
}

#[tokio::test]
async fn a_withdrawal_is_pending_until_the_gateway_confirms_then_completed_and_told() {
    let app = TestApp::spawn().await;
    let backer = app.fixture_backer().await;
    app.fund(&backer, "500.00").await;

    let made = withdraw(
        &app,
        &backer,
        json!({"amount": "120.50", "account": GOOD_ACCOUNT}),
        None,
    )
    .await;

    assert_status(&made.pair(), 201);
    assert_eq!(made.body["state"], "pending");
    assert_eq!(made.body["amount"], "120.50");
    assert_eq!(made.body["currency"], "CNY");
    assert_eq!(app.wallet_balance(&backer).await, cny("379.50"));
    let list = settled(&app, &backer).await;
    assert_eq!(list[0]["state"], "completed");
    assert!(list[0]["completed_at"].is_string());
    assert_eq!(app.wallet_balance(&backer).await, cny("379.50"));
    assert_eq!(notices_of(&app, &backer).await, ["withdrawal_completed"]);
    app.assert_books_balance().await;
}

#[tokio::test]
async fn a_withdrawal_the_bank_declines_fails_and_returns_the_money_to_the_wallet() {
    let app = TestApp::spawn().await;
    let backer = app.fixture_backer().await;
    app.fund(&backer, "500.00").await;

    let made = withdraw(
        &app,
        &backer,
        json!({"amount": "200.00", "account": DECLINED_ACCOUNT}),
        None,
    )
    .await;
    assert_status(&made.pair(), 201);
    let list = settled(&app, &backer).await;

    assert_eq!(list[0]["state"], "failed");
    assert_eq!(app.wallet_balance(&backer).await, cny("500.00"));
    let (_, wallet) = app.get_json("/wallet", &backer).await;
    let kinds: Vec<&str> = wallet["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|line| line["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["withdrawal_returned", "withdrawal", "deposit"]);
    assert_eq!(notices_of(&app, &backer).await, ["withdrawal_failed"]);
    app.assert_books_balance().await;
}

#[tokio::test]
async fn an_idempotency_key_replayed_answers_the_same_withdrawal_and_moves_the_money_once() {
    let app = Arc::new(TestApp::spawn().await);
    let backer = Arc::new(app.fixture_backer().await);
    app.fund(&backer, "300.00").await;
    let body = json!({"amount": "100.00", "currency": "CNY", "account": GOOD_ACCOUNT});

    let tasks: Vec<_> = (0..5)
        .map(|_| {
            let (app, backer, body) = (app.clone(), backer.clone(), body.clone());
            tokio::spawn(async move { withdraw(&app, &backer, body, Some("payout-7")).await })
        })
        .collect();
    let mut answers = Vec::new();
    for task in tasks {
        answers.push(task.await.unwrap());
    }
    let again = withdraw(&app, &backer, body, Some("payout-7")).await;

    assert!(answers.iter().all(|a| a.status == 201), "all 201");
    let ids: Vec<&Value> = answers.iter().map(|a| &a.body["id"]).collect();
    assert!(ids.iter().all(|id| *id == &again.body["id"]), "{ids:?}");
    assert_eq!(answers.iter().filter(|a| !a.replayed).count(), 1);
    assert!(again.replayed);
    assert_eq!(app.wallet_balance(&backer).await, cny("200.00"));
    assert_eq!(settled(&app, &backer).await.len(), 1);
    app.assert_books_balance().await;
}

#[tokio::test]
async fn an_idempotency_key_reused_with_another_body_is_refused() {
    let app = TestApp::spawn().await;
    let backer = app.fixture_backer().await;
    app.fund(&backer, "300.00").await;
    let first = withdraw(
        &app,
        &backer,
        json!({"amount": "100.00", "account": GOOD_ACCOUNT}),
        Some("k1"),
    )
    .await;
    assert_status(&first.pair(), 201);

    let other = withdraw(
        &app,
        &backer,
        json!({"amount": "150.00", "account": GOOD_ACCOUNT}),
        Some("k1"),
    )
    .await;

    assert_problem(&other.pair(), 422, "unprocessable");
    assert_eq!(app.wallet_balance(&backer).await, cny("200.00"));
    settled(&app, &backer).await;
}

#[tokio::test]
async fn a_withdrawal_above_the_balance_is_refused_and_moves_nothing() {
    let app = TestApp::spawn().await;
    let backer = app.fixture_backer().await;
    app.fund(&backer, "100.00").await;

    let refused = withdraw(
        &app,
        &backer,
        json!({"amount": "100.01", "account": GOOD_ACCOUNT}),
        None,
    )
    .await;

    assert_problem(&refused.pair(), 409, "conflict");
    assert_eq!(app.wallet_balance(&backer).await, cny("100.00"));
    assert!(listed(&app, &backer).await.is_empty());
    app.assert_books_balance().await;
}

#[tokio::test]
async fn bad_withdrawal_input_is_a_client_problem_never_a_server_error() {
    let app = TestApp::spawn().await;
    let backer = app.fixture_backer().await;
    app.fund(&backer, "100.00").await;
    let cases = [
        (json!({"amount": "-5.00", "account": GOOD_ACCOUNT}), 422),
        (json!({"amount": -5, "account": GOOD_ACCOUNT}), 422),
        (json!({"amount": "0", "account": GOOD_ACCOUNT}), 422),
        (json!({"amount": "1.234", "account": GOOD_ACCOUNT}), 422),
        (json!({"amount": "abc", "account": GOOD_ACCOUNT}), 422),
        (json!({"amount": "1e3", "account": GOOD_ACCOUNT}), 422),
        (
            json!({"amount": "10.00", "currency": "XYZ", "account": GOOD_ACCOUNT}),
            422,
        ),
        (
            json!({"amount": "10.00", "currency": "cny", "account": GOOD_ACCOUNT}),
            422,
        ),
        (json!({"amount": "10.00", "account": "1234"}), 422),
        (json!({"amount": "10.00", "account": "ABCDEFGHIJKL"}), 422),
        (
            json!({"amount": "10.00", "account": "6222<script>7890"}),
            422,
        ),
        (
            json!({"amount": "10.00", "account": "１２３４５６７８９０"}),
            422,
        ),
        (json!({"amount": "10.00", "account": "9".repeat(5000)}), 422),
        (json!({"amount": "10.00", "account": 62220212}), 422),
        (json!({"amount": "10.00"}), 422),
        (json!({"account": GOOD_ACCOUNT}), 422),
        (json!([1, 2]), 422),
    ];
    for (body, status) in cases {
        let answer = withdraw(&app, &backer, body.clone(), None).await;
        assert_eq!(
            answer.status.as_u16(),
            status,
            "{body} gave {}",
            answer.body
        );
        assert!(answer.body["detail"].is_string(), "{body}: {}", answer.body);
    }
    let bad_key = withdraw(
        &app,
        &backer,
        json!({"amount": "10.00", "account": GOOD_ACCOUNT}),
        Some("has space"),
    )
    .await;
    assert_problem(&bad_key.pair(), 400, "bad_request");

    assert_eq!(app.wallet_balance(&backer).await, cny("100.00"));
    assert!(listed(&app, &backer).await.is_empty());
}

#[tokio::test]
async fn withdrawals_are_listed_in_the_wallet_api_newest_first_with_the_account_masked() {
    let app = TestApp::spawn().await;
    let backer = app.fixture_backer().await;
    app.fund(&backer, "300.00").await;
    for amount in ["10.00", "20.00"] {
        let made = withdraw(
            &app,
            &backer,
            json!({"amount": amount, "account": GOOD_ACCOUNT}),
            None,
        )
        .await;
        assert_status(&made.pair(), 201);
    }

    let list = settled(&app, &backer).await;

    let amounts: Vec<&str> = list.iter().map(|w| w["amount"].as_str().unwrap()).collect();
    assert_eq!(amounts, ["20.00", "10.00"]);
    assert_eq!(list[0]["account"], "•••• 7890");
    let (_, wallet) = app.get_json("/wallet", &backer).await;
    assert!(!wallet.to_string().contains("6222021234567890"));
}

#[tokio::test]
async fn a_withdrawal_is_listed_on_the_wallet_page_in_both_languages() {
    let app = TestApp::spawn().await;
    let backer = app.fixture_backer().await;
    app.fund(&backer, "300.00").await;
    let made = withdraw(
        &app,
        &backer,
        json!({"amount": "42.00", "account": DECLINED_ACCOUNT}),
        None,
    )
    .await;
    assert_status(&made.pair(), 201);
    settled(&app, &backer).await;

    let page = |lang: &'static str| {
        let request = backer
            .authorize(app.client.get(app.url("/wallet")))
            .header("accept-language", lang);
        async move { request.send().await.unwrap().text().await.unwrap() }
    };
    let english = page("en").await;
    let chinese = page("zh-CN").await;

    for html in [&english, &chinese] {
        assert!(html.contains("id=\"withdrawals-table\""));
        assert!(html.contains("•••• 0000"));
        assert!(!html.contains("6222021234560000"));
    }
    assert!(english.contains("Declined, money returned"), "{english}");
    assert!(chinese.contains("已被拒绝，款项已退回"));
    assert!(chinese.contains("提现到银行账户"));
}

#[tokio::test]
async fn a_payout_callback_with_a_forged_signature_moves_nothing() {
    let app = TestApp::spawn().await;
    let backer = app.fixture_backer().await;
    app.fund(&backer, "300.00").await;
    let made = withdraw(
        &app,
        &backer,
        json!({"amount": "100.00", "account": GOOD_ACCOUNT}),
        None,
    )
    .await;
    settled(&app, &backer).await;
    let forger = SandboxProvider::new(b"not the server's secret");
    let (body, timestamp, signature) = forger.signed_notice(&GatewayNotice {
        reference: made.body["reference"].as_str().unwrap().to_owned(),
        outcome: Outcome::Declined,
    });

    let answer = status_and_json(
        app.client
            .post(app.url("/api/v1/payments/sandbox/payouts/callback"))
            .header("x-gateway-timestamp", timestamp)
            .header("x-gateway-signature", signature)
            .body(body)
            .send()
            .await
            .unwrap(),
    )
    .await;

    assert_problem(&answer, 400, "bad_request");
    assert_eq!(listed(&app, &backer).await[0]["state"], "completed");
    assert_eq!(app.wallet_balance(&backer).await, cny("200.00"));
}

#[tokio::test]
async fn a_genuine_payout_callback_repeated_after_the_outcome_changes_nothing() {
    let app = TestApp::spawn().await;
    let backer = app.fixture_backer().await;
    app.fund(&backer, "300.00").await;
    let made = withdraw(
        &app,
        &backer,
        json!({"amount": "100.00", "account": GOOD_ACCOUNT}),
        None,
    )
    .await;
    settled(&app, &backer).await;
    let gateway = app.state.gateway.as_ref().expect("the sandbox gateway");
    let (body, timestamp, signature) = gateway.signed_notice(&GatewayNotice {
        reference: made.body["reference"].as_str().unwrap().to_owned(),
        outcome: Outcome::Declined,
    });

    let answer = status_and_json(
        app.client
            .post(app.url("/api/v1/payments/sandbox/payouts/callback"))
            .header("x-gateway-timestamp", timestamp)
            .header("x-gateway-signature", signature)
            .body(body)
            .send()
            .await
            .unwrap(),
    )
    .await;

    assert_status(&answer, 200);
    assert_eq!(answer.1["state"], "completed");
    assert_eq!(app.wallet_balance(&backer).await, cny("200.00"));
    assert_eq!(notices_of(&app, &backer).await, ["withdrawal_completed"]);
    app.assert_books_balance().await;
}

#[tokio::test]
async fn the_wallet_form_refuses_beside_each_field_then_confirms_then_withdraws_once() {
    let app = TestApp::spawn().await;
    let email = "withdrawer@example.com";
    let user = app.signup(email, "backer").await;
    let backer = Backer {
        id: UserId(user["id"].as_str().unwrap().parse().unwrap()),
        token: app.login(email).await,
    };
    app.fund(&backer, "300.00").await;
    let wallet = app.html_as("/wallet", &backer).await;
    let (csrf, key) = (form_field(&wallet, "csrf"), form_field(&wallet, "key"));
    let post = |fields: Vec<(&'static str, String)>| {
        let request = backer
            .authorize(app.client.post(app.url("/wallet/withdrawals")))
            .header("accept-language", "en")
            .form(&fields);
        async move {
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            let location = response
                .headers()
                .get("location")
                .map(|l| l.to_str().unwrap().to_owned());
            (status, location, response.text().await.unwrap())
        }
    };
    let fields = |amount: &str, account: &str, confirm: bool| {
        let mut fields = vec![
            ("csrf", csrf.clone()),
            ("key", key.clone()),
            ("amount", amount.to_owned()),
            ("account", account.to_owned()),
        ];
        if confirm {
            fields.push(("confirm", "yes".to_owned()));
        }
        fields
    };

    let (status, _, refused) = post(fields("1.234", "12", true)).await;
    assert_eq!(status, 422);
    assert!(refused.contains("id=\"withdraw-amount-error\""));
    assert!(refused.contains("id=\"withdraw-account-error\""));
    assert!(
        refused.contains("value=\"1.234\""),
        "what was typed is kept"
    );

    let (status, _, asked) = post(fields("50", GOOD_ACCOUNT, false)).await;
    assert_eq!(status, 200);
    assert!(asked.contains("id=\"confirm-yes\"") && asked.contains("•••• 7890"));
    assert_eq!(app.wallet_balance(&backer).await, cny("300.00"));

    let (status, to, _) = post(fields("50", GOOD_ACCOUNT, true)).await;
    let (again, _, _) = post(fields("50", GOOD_ACCOUNT, true)).await;
    assert_eq!((status, again), (303, 303));
    assert!(to.unwrap().starts_with("/wallet?withdrawal=zw_"));
    assert_eq!(app.wallet_balance(&backer).await, cny("250.00"));
    assert_eq!(settled(&app, &backer).await.len(), 1);

    let (status, _, short) = post(vec![
        ("csrf", csrf.clone()),
        ("key", "another-key".to_owned()),
        ("amount", "999".to_owned()),
        ("account", GOOD_ACCOUNT.to_owned()),
        ("confirm", "yes".to_owned()),
    ])
    .await;
    assert_eq!(status, 409);
    assert!(short.contains("id=\"withdraw-amount-error\""));
    assert_eq!(app.wallet_balance(&backer).await, cny("250.00"));
}

#[tokio::test]
async fn on_a_phone_a_backer_withdraws_from_the_wallet_page_without_scrolling_sideways() {
    let app = TestApp::spawn().await;
    let c = phone().await;
    let result = async {
        sign_up(&c, &app, "phone-withdraw@example.com", "Lin").await?;
        text_of(&c, "#current-user").await;
        let id: uuid::Uuid =
            sqlx::query_scalar("SELECT id FROM users WHERE email = 'phone-withdraw@example.com'")
                .fetch_one(&app.db)
                .await
                .unwrap();
        let backer = Backer {
            id: UserId(id),
            token: app.login("phone-withdraw@example.com").await,
        };
        app.fund(&backer, "300.00").await;
        c.goto(&app.url("/wallet")).await?;
        fill(&c, "#withdraw-amount", "75").await?;
        fill(&c, "#withdraw-account", GOOD_ACCOUNT).await?;
        c.find(Locator::Id("withdraw-submit"))
            .await?
            .click()
            .await?;
        c.wait()
            .at_most(Duration::from_secs(10))
            .for_element(Locator::Id("confirm-yes"))
            .await?
            .click()
            .await?;
        let row = text_of(&c, "#withdrawals-table tr.withdrawal").await;
        let width = page_width(&c).await?;
        full_page_screenshot(&c, &screenshot_folder().join("wallet-withdrawal-390.png")).await?;
        Ok::<_, fantoccini::error::CmdError>((row, width, backer))
    }
    .await;
    c.close().await.ok();
    let (row, width, backer) = result.expect("the browser session");

    assert!(row.contains("•••• 7890"), "{row}");
    assert!(width <= u64::from(PHONE.0), "the wallet is {width} px wide");
    assert_eq!(app.wallet_balance(&backer).await, cny("225.00"));
    settled(&app, &backer).await;
}

#[tokio::test]
async fn a_withdrawal_left_pending_by_a_stopped_server_is_paid_out_when_asked_again_at_start() {
    use zhonglian::money::withdrawals::{self, BankAccount, WithdrawalRequest};
    let app = TestApp::spawn().await;
    let backer = app.fixture_backer().await;
    app.fund(&backer, "100.00").await;
    let gateway = app.state.gateway.clone().expect("the sandbox gateway");
    // Made and committed, but the server stopped before the gateway was asked to pay it.
    let request = WithdrawalRequest {
        amount: zhonglian::money::Money::parse("40.00").expect("amount"),
        currency: "CNY".into(),
        account: BankAccount::parse(GOOD_ACCOUNT).expect("account"),
    };
    withdrawals::start(&app.db, gateway.as_ref(), backer.id, &request, None)
        .await
        .expect("withdrawal");
    assert_eq!(listed(&app, &backer).await[0]["state"], "pending");

    let resumed = zhonglian::money::provider::resume_payouts(&app.db, gateway)
        .await
        .expect("resumed");

    assert_eq!(resumed, 1);
    assert_eq!(settled(&app, &backer).await[0]["state"], "completed");
    assert_eq!(app.wallet_balance(&backer).await, cny("60.00"));
    app.assert_books_balance().await;
}
