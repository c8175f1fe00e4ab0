//! Safe by default: a fresh start has no account anyone can log into, and money enters wallets
//! only through a gateway that was chosen, whose callbacks are signed, fresh and bounded.

use std::process::Child;
use std::time::{Duration, Instant};

use rust_decimal::Decimal;
use serde_json::json;

use crate::support::TestApp;

/// A `zhonglian serve` process on the test app's database, killed when dropped.
struct Server {
    child: Child,
    address: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// Starts the real binary with `args` and the test's keys, writing its output to `log`, and
/// waits until `/healthz` answers.
async fn serve(app: &TestApp, args: &[&str], log: &std::path::Path) -> Server {
    let port = free_port();
    std::fs::create_dir_all(&app.data_dir).expect("data folder");
    let out = std::fs::File::create(log).expect("log file");
    let child = crate::support::serve_command(app, &app.data_dir)
        .args(args)
        .env("BIND", format!("127.0.0.1:{port}"))
        .env("RUST_LOG", "info")
        .env_remove("ZHONGLIAN_DEMO")
        .env_remove("PAYMENT_PROVIDER")
        .stdout(out.try_clone().expect("log file"))
        .stderr(out)
        .spawn()
        .expect("server");
    let server = Server {
        child,
        address: format!("http://127.0.0.1:{port}"),
    };
    let started = Instant::now();
    loop {
        let health = app
            .client
            .get(format!("{}/healthz", server.address))
            .send()
            .await;
        if health.is_ok_and(|r| r.status() == 200) {
            return server;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the server did not become healthy: {}",
            std::fs::read_to_string(log).unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn count(app: &TestApp, table: &str) -> i64 {
    sqlx::query_scalar(&format!("SELECT count(*) FROM {table}"))
        .fetch_one(&app.db)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_fresh_start_without_the_demo_flag_has_no_account_at_all() {
    let app = TestApp::spawn().await;
    let log = app.data_dir.join("plain.log");
    let server = serve(&app, &[], &log).await;
    assert_eq!(count(&app, "users").await, 0, "nobody can log in");
    assert_eq!(count(&app, "projects").await, 0);
    let login = app
        .client
        .post(format!("{}/api/v1/auth/login", server.address))
        .json(&json!({"email": "regulator@demo.zhonglian", "password": "zhonglian-demo"}))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 401);
    // Without a chosen gateway, no money can enter a wallet either.
    let callback = app
        .client
        .post(format!(
            "{}/api/v1/payments/sandbox/callback",
            server.address
        ))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(callback.status(), 404);
}

#[tokio::test]
async fn the_demo_flag_loads_the_demo_without_logging_its_password() {
    let app = TestApp::spawn().await;
    let log = app.data_dir.join("demo.log");
    let server = serve(&app, &["--demo"], &log).await;
    assert!(count(&app, "users").await >= 5, "the demo accounts exist");
    let login = app
        .client
        .post(format!("{}/api/v1/auth/login", server.address))
        .json(&json!({"email": "backer@demo.zhonglian", "password": "zhonglian-demo"}))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 200);
    drop(server);
    let output = std::fs::read_to_string(&log).unwrap();
    assert!(output.contains("demo data loaded"), "{output}");
    assert!(!output.contains("zhonglian-demo"), "no password in the log");
}

#[tokio::test]
async fn without_a_payment_provider_top_ups_are_refused_with_a_clear_problem() {
    let app = TestApp::spawn_with(|s| s.payment_provider = None).await;
    let backer = app.fixture_backer().await;
    let (status, problem) = app
        .post_json(
            "/wallet/deposits",
            &backer.token,
            json!({"amount": "100", "sandbox_answer": "approve"}),
        )
        .await;
    assert_eq!(status, 409);
    assert!(problem["detail"]
        .as_str()
        .unwrap()
        .contains("no payment provider"));
    assert_eq!(app.wallet_balance(&backer).await, Decimal::ZERO);

    let page = app
        .client
        .get(app.url("/wallet"))
        .header("cookie", format!("zl_session={}", backer.token))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("id=\"no-provider\""), "the page says why");
    assert!(!page.contains("id=\"top-up-form\""), "and offers no form");
    let checkout = app
        .client
        .get(app.url("/sandbox/checkout/zl_anything"))
        .header("cookie", format!("zl_session={}", backer.token))
        .send()
        .await
        .unwrap();
    assert_eq!(checkout.status(), 404);
}

/// A pending top-up of `amount` for `token`; returns its reference.
async fn pending_top_up(app: &TestApp, token: &str, amount: &str) -> String {
    let (status, deposit) = app
        .post_json("/wallet/deposits", token, json!({"amount": amount}))
        .await;
    assert_eq!(status, 201, "{deposit}");
    deposit["reference"].as_str().unwrap().to_owned()
}

async fn callback(app: &TestApp, body: &[u8], timestamp: &str, signature: &str) -> u16 {
    app.client
        .post(app.url("/api/v1/payments/sandbox/callback"))
        .header("content-type", "application/json")
        .header("x-gateway-timestamp", timestamp)
        .header("x-gateway-signature", signature)
        .body(body.to_vec())
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn a_gateway_callback_is_applied_only_when_signed_over_a_fresh_timestamp() {
    let app = TestApp::spawn().await;
    let backer = app.fixture_backer().await;
    let reference = pending_top_up(&app, &backer.token, "120.00").await;
    let gateway = zhonglian::money::api::sandbox(&app.state).unwrap();
    let body = serde_json::to_vec(&json!({"reference": reference, "outcome": "approved"})).unwrap();

    let an_hour_ago = (time::OffsetDateTime::now_utc().unix_timestamp() - 3600).to_string();
    let stale = gateway.sign(&an_hour_ago, &body);
    assert_eq!(callback(&app, &body, &an_hour_ago, &stale).await, 400);
    let now = time::OffsetDateTime::now_utc().unix_timestamp().to_string();
    assert_eq!(
        callback(&app, &body, &now, &stale).await,
        400,
        "a signature binds its own timestamp"
    );
    let other_key = zhonglian::money::provider::SandboxProvider::new(b"not the shared secret");
    assert_eq!(
        callback(&app, &body, &now, &other_key.sign(&now, &body)).await,
        400
    );
    assert_eq!(callback(&app, &body, "", "").await, 400);
    assert_eq!(app.wallet_balance(&backer).await, Decimal::ZERO);

    let genuine = gateway.sign(&now, &body);
    assert_eq!(callback(&app, &body, &now, &genuine).await, 200);
    assert_eq!(
        callback(&app, &body, &now, &genuine).await,
        200,
        "a replay is answered"
    );
    assert_eq!(
        app.wallet_balance(&backer).await,
        Decimal::new(12000, 2),
        "and applied once"
    );
    app.assert_books_balance().await;
}

/// The cookies of a signed-in browser (session and CSRF) and its form token, which is bound
/// to that session.
async fn signed_in_browser(app: &TestApp, session: &str) -> (String, String) {
    let response = reqwest::get(app.url("/login")).await.unwrap();
    let csrf_cookie = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("zl_csrf="))
        .and_then(|v| v.split(';').next())
        .expect("a CSRF cookie")
        .to_owned();
    let cookies = format!("zl_session={session}; {csrf_cookie}");
    let html = reqwest::Client::new()
        .get(app.url("/wallet"))
        .header("cookie", &cookies)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let marker = "name=\"csrf\" value=\"";
    let start = html.find(marker).expect("a CSRF field") + marker.len();
    (cookies, html[start..start + 64].to_owned())
}

#[tokio::test]
async fn only_the_owner_of_a_top_up_can_open_or_answer_its_checkout() {
    let app = TestApp::spawn().await;
    let owner = app.fixture_backer().await;
    let stranger = app.fixture_backer().await;
    let reference = pending_top_up(&app, &owner.token, "75.00").await;
    let path = format!("/sandbox/checkout/{reference}");
    let as_user = |token: &str| format!("zl_session={token}");

    let anonymous = app.get(&path).await;
    assert_eq!(anonymous.status(), 303, "anonymous visitors log in first");
    let seen = app
        .client
        .get(app.url(&path))
        .header("cookie", as_user(&stranger.token))
        .send()
        .await
        .unwrap();
    assert_eq!(seen.status(), 404);

    let (stranger_cookies, stranger_csrf) = signed_in_browser(&app, &stranger.token).await;
    let answered = app
        .client
        .post(app.url(&path))
        .header("cookie", stranger_cookies)
        .form(&[("csrf", stranger_csrf.as_str()), ("answer", "approve")])
        .send()
        .await
        .unwrap();
    assert_eq!(answered.status(), 404, "a stranger cannot approve it");
    assert_eq!(app.wallet_balance(&owner).await, Decimal::ZERO);

    let (owner_cookies, owner_csrf) = signed_in_browser(&app, &owner.token).await;
    let own = app
        .client
        .post(app.url(&path))
        .header("cookie", owner_cookies)
        .form(&[("csrf", owner_csrf.as_str()), ("answer", "approve")])
        .send()
        .await
        .unwrap();
    assert_eq!(own.status(), 303);
    assert_eq!(app.wallet_balance(&owner).await, Decimal::new(7500, 2));
    app.assert_books_balance().await;
}

#[tokio::test]
async fn top_ups_above_the_per_deposit_or_daily_limit_are_refused_also_at_once() {
    let app = TestApp::spawn_with(|s| {
        s.deposit_max = Decimal::from(100);
        s.deposit_daily_max = Decimal::from(250);
    })
    .await;
    let backer = app.fixture_backer().await;
    let (status, problem) = app
        .post_json(
            "/wallet/deposits",
            &backer.token,
            json!({"amount": "100.01", "sandbox_answer": "approve"}),
        )
        .await;
    assert_eq!(status, 422);
    assert!(problem["detail"].as_str().unwrap().contains("100.00"));

    let attempts: Vec<_> = (0..6)
        .map(|_| {
            app.api(reqwest::Method::POST, "/wallet/deposits", &backer.token)
                .json(&json!({"amount": "60", "sandbox_answer": "approve"}))
                .send()
        })
        .map(tokio::spawn)
        .collect();
    let mut made = 0;
    for attempt in attempts {
        let status = attempt.await.unwrap().unwrap().status().as_u16();
        assert!(status == 201 || status == 422, "{status}");
        made += usize::from(status == 201);
    }
    assert_eq!(
        made, 4,
        "four of 60 fit under 250 in a day, whatever the race"
    );
    assert_eq!(app.wallet_balance(&backer).await, Decimal::from(240));

    let declined = app
        .post_json(
            "/wallet/deposits",
            &backer.token,
            json!({"amount": "10", "sandbox_answer": "approve"}),
        )
        .await;
    assert_eq!(declined.0, 201, "ten more still fit");
    app.assert_books_balance().await;
}

#[tokio::test]
async fn currencies_the_platform_does_not_take_are_refused() {
    let app = TestApp::spawn().await;
    let backer = app.fixture_backer().await;
    for currency in ["XXX", "ABC", "usd"] {
        let (status, _) = app
            .post_json(
                "/wallet/deposits",
                &backer.token,
                json!({"amount": "10", "currency": currency}),
            )
            .await;
        assert_eq!(status, 422, "{currency}");
    }
    let founder = app.login_as_founder().await;
    let deadline = (time::OffsetDateTime::now_utc() + time::Duration::days(30))
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let (status, problem) = app
        .post_json(
            "/projects",
            &founder,
            json!({
                "title": "Junk currency", "summary": "s", "story": "s", "category": "design",
                "kind": "reward", "goal": "100.00", "currency": "XXX", "deadline": deadline,
            }),
        )
        .await;
    assert_eq!(status, 422);
    assert!(problem["detail"]
        .as_str()
        .unwrap()
        .contains("does not take that currency"));
    let accounts: i64 =
        sqlx::query_scalar("SELECT count(*) FROM money_accounts WHERE currency <> 'CNY'")
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(accounts, 0, "no junk accounts");
}

#[tokio::test]
async fn a_gateway_that_signs_as_the_readme_says_is_believed() {
    use hmac::{Hmac, Mac};
    let shared = "a secret the gateway and Zhonglian were both given";
    let app = TestApp::spawn_with(|s| {
        s.payment_gateway_secret = Some(secrecy::SecretString::from(shared.to_owned()));
    })
    .await;
    let backer = app.fixture_backer().await;
    let reference = pending_top_up(&app, &backer.token, "42.00").await;
    let body = serde_json::to_vec(&json!({"reference": reference, "outcome": "approved"})).unwrap();
    let timestamp = time::OffsetDateTime::now_utc().unix_timestamp().to_string();
    // Computed here from the README's words alone: hex HMAC-SHA256, keyed with the shared
    // secret, of the timestamp, a dot and the body.
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(shared.as_bytes()).unwrap();
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(&body);
    let signature = hex::encode(mac.finalize().into_bytes());
    assert_eq!(callback(&app, &body, &timestamp, &signature).await, 200);
    assert_eq!(app.wallet_balance(&backer).await, Decimal::new(4200, 2));
}

#[tokio::test]
async fn a_form_body_that_does_not_say_it_is_a_form_is_refused_before_the_database() {
    let app = TestApp::spawn().await;
    let csrf = app.csrf_from("/login").await;
    let response = app
        .client
        .post(app.url("/login"))
        .header("content-type", "text/plain")
        .body(format!(
            "csrf={csrf}&email=a%00b%40example.com&password=whatever-it-is"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
}
