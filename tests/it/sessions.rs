//! Log-in throttling with device cookies, client addresses behind proxies, sign-up limits, and
//! CSRF protection of cookie sessions on the API.

use reqwest::{Client, Response, StatusCode};
use serde_json::{json, Value};

use crate::support::{client, TestApp};

const PASSWORD: &str = "correct horse battery";

async fn api_login(app: &TestApp, client: &Client, email: &str, password: &str) -> Response {
    client
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({"email": email, "password": password}))
        .send()
        .await
        .expect("login request")
}

async fn login_from(app: &TestApp, forwarded_for: &str, email: &str, password: &str) -> Response {
    client()
        .post(app.url("/api/v1/auth/login"))
        .header("x-forwarded-for", forwarded_for)
        .json(&json!({"email": email, "password": password}))
        .send()
        .await
        .expect("login request")
}

fn retry_after(response: &Response) -> u64 {
    response
        .headers()
        .get("retry-after")
        .expect("a Retry-After header")
        .to_str()
        .expect("ascii")
        .parse()
        .expect("seconds")
}

async fn code(response: Response) -> String {
    let body: Value = response.json().await.expect("problem json");
    body["code"].as_str().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn the_owner_with_a_device_cookie_logs_in_while_an_attacker_is_throttled() {
    let app = TestApp::spawn().await;
    app.signup("owner@example.com", "backer").await;
    let owner = client();
    let first = api_login(&app, &owner, "owner@example.com", PASSWORD).await;
    assert_eq!(first.status(), 200);
    let cookie = first
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|c| c.starts_with("zl_device="))
        .expect("a device cookie");
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"));
    let body: Value = first.json().await.unwrap();
    let device_token = body["device_token"]
        .as_str()
        .expect("device token")
        .to_owned();

    let attacker = client();
    for _ in 0..10 {
        let guess = api_login(&app, &attacker, "owner@example.com", "guess guess guess").await;
        assert_eq!(guess.status(), 401);
    }
    let blocked = api_login(&app, &attacker, "owner@example.com", PASSWORD).await;
    assert_eq!(blocked.status(), 429, "the attacker is throttled");

    let with_cookie = api_login(&app, &owner, "owner@example.com", PASSWORD).await;
    assert_eq!(with_cookie.status(), 200, "the owner's browser gets in");
    let with_token = client()
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({"email": "owner@example.com", "password": PASSWORD, "device_token": device_token}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        with_token.status(),
        200,
        "a client sending the token gets in"
    );

    // A device token is bound to its account: it does not unlock another one.
    app.signup("other@example.com", "backer").await;
    for _ in 0..10 {
        api_login(&app, &attacker, "other@example.com", "guess guess guess").await;
    }
    let foreign = client()
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({"email": "other@example.com", "password": PASSWORD, "device_token": device_token}))
        .send()
        .await
        .unwrap();
    assert_eq!(foreign.status(), 429);

    // A device that fails too often is a stranger again.
    let stolen = client();
    for _ in 0..10 {
        let guess = stolen
            .post(app.url("/api/v1/auth/login"))
            .json(&json!({"email": "owner@example.com", "password": "guess guess guess", "device_token": device_token}))
            .send()
            .await
            .unwrap();
        assert_eq!(guess.status(), 401);
    }
    let locked = stolen
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({"email": "owner@example.com", "password": PASSWORD, "device_token": device_token}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        locked.status(),
        429,
        "the over-used device token is locked out"
    );
}

#[tokio::test]
async fn an_address_is_throttled_but_other_addresses_are_not() {
    let app = TestApp::spawn_with(|s| {
        s.trusted_proxies = zhonglian::http::extract::TrustedProxies::parse("127.0.0.1").unwrap();
    })
    .await;
    app.signup("neighbour@example.com", "backer").await;
    for n in 0..20 {
        let guess = login_from(
            &app,
            "203.0.113.7",
            &format!("target-{n}@example.com"),
            "guess guess guess",
        )
        .await;
        assert_eq!(guess.status(), 401);
    }
    let blocked = login_from(&app, "203.0.113.7", "neighbour@example.com", PASSWORD).await;
    assert_eq!(blocked.status(), 429, "the guessing address is throttled");
    let elsewhere = login_from(&app, "198.51.100.20", "neighbour@example.com", PASSWORD).await;
    assert_eq!(elsewhere.status(), 200, "another address is not");
}

#[tokio::test]
async fn x_forwarded_for_is_ignored_unless_the_peer_is_a_trusted_proxy() {
    // Without trusted proxies, a forged header does not make a new address: the peer is counted.
    let app = TestApp::spawn().await;
    for n in 0..20 {
        let guess = login_from(
            &app,
            &format!("192.0.2.{n}"),
            &format!("target-{n}@example.com"),
            "guess guess guess",
        )
        .await;
        assert_eq!(guess.status(), 401);
    }
    let forged = login_from(
        &app,
        "192.0.2.200",
        "fresh@example.com",
        "guess guess guess",
    )
    .await;
    assert_eq!(forged.status(), 429, "the forged header was believed");

    // Behind a trusted proxy, the header names the client, so each one is counted apart.
    let proxied = TestApp::spawn_with(|s| {
        s.trusted_proxies = zhonglian::http::extract::TrustedProxies::parse("127.0.0.1").unwrap();
    })
    .await;
    for n in 0..20 {
        let guess = login_from(
            &proxied,
            &format!("192.0.2.{n}"),
            &format!("target-{n}@example.com"),
            "guess guess guess",
        )
        .await;
        assert_eq!(guess.status(), 401);
    }
    let next = login_from(
        &proxied,
        "192.0.2.200",
        "fresh@example.com",
        "guess guess guess",
    )
    .await;
    assert_eq!(
        next.status(),
        401,
        "a new client behind the proxy is not throttled"
    );
    let recorded: Vec<(String,)> =
        sqlx::query_as("SELECT DISTINCT address FROM login_failures ORDER BY 1")
            .fetch_all(&proxied.db)
            .await
            .unwrap();
    assert_eq!(
        recorded.len(),
        21,
        "each forwarded client is its own address"
    );
    assert!(recorded.iter().all(|(a,)| a.starts_with("192.0.2.")));
}

#[tokio::test]
async fn a_429_says_when_to_retry() {
    let app = TestApp::spawn().await;
    app.signup("patient@example.com", "backer").await;
    for _ in 0..10 {
        api_login(
            &app,
            &app.client,
            "patient@example.com",
            "guess guess guess",
        )
        .await;
    }
    let blocked = api_login(&app, &app.client, "patient@example.com", PASSWORD).await;
    assert_eq!(blocked.status(), 429);
    let wait = retry_after(&blocked);
    assert!(
        (800..=900).contains(&wait),
        "Retry-After {wait} is not the time until the 15-minute window lets the next try in"
    );

    // The browser form says so too.
    let csrf = app.csrf_from("/login").await;
    let page = app
        .client
        .post(app.url("/login"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("email", "patient@example.com"),
            ("password", PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 429);
    assert!((800..=900).contains(&retry_after(&page)));
}

#[tokio::test]
async fn sign_ups_from_one_address_are_rate_limited() {
    let app = TestApp::spawn_with(|s| {
        s.signup_limit_per_hour = 3;
        s.trusted_proxies = zhonglian::http::extract::TrustedProxies::parse("127.0.0.1").unwrap();
    })
    .await;
    let signup = |n: usize, from: &'static str| {
        client()
            .post(app.url("/api/v1/auth/signup"))
            .header("x-forwarded-for", from)
            .json(
                &json!({"email": format!("flood-{n}@example.com"), "password": PASSWORD,
                          "display_name": "Flood", "role": "backer"}),
            )
            .send()
    };
    for n in 0..3 {
        assert_eq!(signup(n, "203.0.113.50").await.unwrap().status(), 201);
    }
    let refused = signup(3, "203.0.113.50").await.unwrap();
    assert_eq!(refused.status(), 429);
    let wait = retry_after(&refused);
    assert!(
        (3500..=3600).contains(&wait),
        "Retry-After {wait} is not the time until the hour lets the next sign-up in"
    );
    assert_eq!(code(refused).await, "too_many_requests");
    assert_eq!(
        signup(4, "198.51.100.60").await.unwrap().status(),
        201,
        "another address may still sign up"
    );
}

#[tokio::test]
async fn an_overlong_password_is_refused_before_hashing() {
    let app = TestApp::spawn().await;
    app.signup("long@example.com", "backer").await;
    // 342 characters, 1,026 bytes: short in characters, long in bytes.
    let long = "密".repeat(342);
    let signup = app
        .client
        .post(app.url("/api/v1/auth/signup"))
        .json(&json!({"email": "new@example.com", "password": long, "display_name": "Long", "role": "backer"}))
        .send()
        .await
        .unwrap();
    assert_eq!(signup.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: Value = signup.json().await.unwrap();
    assert!(body["detail"].as_str().unwrap().contains("1,024 bytes"));

    let huge = "x".repeat(100_000);
    for email in ["long@example.com", "nobody@example.com"] {
        let login = api_login(&app, &app.client, email, &huge).await;
        assert_eq!(
            login.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "the same answer whether {email} has an account or not"
        );
    }
    let failures: i64 = sqlx::query_scalar("SELECT count(*) FROM login_failures")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(failures, 0, "the password never reached the check");
}

#[tokio::test]
async fn parallel_wrong_passwords_are_throttled_like_sequential_ones() {
    let app = TestApp::spawn().await;
    app.signup("target@example.com", "backer").await;
    let owner = client();
    let first = api_login(&app, &owner, "target@example.com", PASSWORD).await;
    assert_eq!(first.status(), 200, "the owner's device gets its cookie");

    // Thirty guesses at once from one client without a device cookie: each is counted before its
    // password is checked, so no more get an answer than ten sequential guesses would.
    let attacker = client();
    let guesses: Vec<_> = (0..30)
        .map(|_| {
            let (attacker, url) = (attacker.clone(), app.url("/api/v1/auth/login"));
            tokio::spawn(async move {
                attacker
                    .post(url)
                    .json(&json!({"email": "target@example.com", "password": "guess guess guess"}))
                    .send()
                    .await
                    .expect("login request")
                    .status()
            })
        })
        .collect();
    let (mut checked, mut throttled) = (0, 0);
    for guess in guesses {
        match guess.await.expect("guess task") {
            StatusCode::UNAUTHORIZED => checked += 1,
            StatusCode::TOO_MANY_REQUESTS => throttled += 1,
            other => panic!("a guess was answered {other}"),
        }
    }
    let max = zhonglian::accounts::throttle::MAX_ACCOUNT_FAILURES;
    assert!(checked <= max, "{checked} parallel guesses were checked");
    assert_eq!(checked + throttled, 30);
    let failures: i64 = sqlx::query_scalar("SELECT count(*) FROM login_failures")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert!(failures <= max, "{failures} failures were recorded");

    let blocked = api_login(&app, &attacker, "target@example.com", PASSWORD).await;
    assert_eq!(blocked.status(), 429, "the attacker is throttled");
    let owner_again = api_login(&app, &owner, "target@example.com", PASSWORD).await;
    assert_eq!(
        owner_again.status(),
        200,
        "the owner's device still gets in"
    );
}

#[tokio::test]
async fn a_correct_log_in_is_not_counted_as_a_failure() {
    let app = TestApp::spawn().await;
    app.signup("regular@example.com", "backer").await;
    for _ in 0..12 {
        let fresh = api_login(&app, &client(), "regular@example.com", PASSWORD).await;
        assert_eq!(
            fresh.status(),
            200,
            "a correct log-in never counts against the account"
        );
    }
    let failures: i64 = sqlx::query_scalar("SELECT count(*) FROM login_failures")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(failures, 0);
}

#[tokio::test]
async fn an_overlong_email_at_log_in_is_refused_not_a_server_error() {
    let app = TestApp::spawn().await;
    // Random letters, which PostgreSQL cannot compress to fit an index entry as it could a run
    // of one letter.
    let local: String = std::iter::repeat_with(|| uuid::Uuid::new_v4().simple().to_string())
        .flat_map(|part| part.chars().collect::<Vec<_>>())
        .take(5_000 - "@example.com".len())
        .collect();
    let long = format!("{local}@example.com");
    assert_eq!(long.chars().count(), 5_000);

    let api = api_login(&app, &app.client, &long, PASSWORD).await;
    assert_eq!(api.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: Value = api.json().await.unwrap();
    assert!(
        body["detail"].as_str().unwrap_or_default().contains("254"),
        "the answer says what is wrong: {body}"
    );

    // The log-in page answers the same, on the page.
    let csrf = app.csrf_from("/login").await;
    let page = app
        .client
        .post(app.url("/login"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("email", long.as_str()),
            ("password", PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.text().await.unwrap().contains("254"));

    let failures: i64 = sqlx::query_scalar("SELECT count(*) FROM login_failures")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(failures, 0, "nothing was recorded");

    // The API document says so.
    let doc: Value = app.get("/api/v1/openapi.json").await.json().await.unwrap();
    let email = &doc["components"]["schemas"]["LoginRequest"]["properties"]["email"];
    assert_eq!(email["maxLength"], 254, "{email}");
    let answers = &doc["paths"]["/api/v1/auth/login"]["post"]["responses"];
    assert!(answers["422"].is_object(), "{answers}");
}

#[tokio::test]
async fn addresses_in_one_ipv6_64_share_their_limit() {
    let app = TestApp::spawn_with(|s| {
        s.trusted_proxies = zhonglian::http::extract::TrustedProxies::parse("127.0.0.1").unwrap();
    })
    .await;
    app.signup("neighbour@example.com", "backer").await;
    // A host given a /64 has 2^64 addresses to guess from; they count as one client.
    for n in 0..20 {
        let guess = login_from(
            &app,
            &format!("2001:db8:1:2::{:x}", n + 1),
            &format!("target-{n}@example.com"),
            "guess guess guess",
        )
        .await;
        assert_eq!(guess.status(), 401);
    }
    let blocked = login_from(
        &app,
        "2001:db8:1:2:ffff:ffff:ffff:ffff",
        "neighbour@example.com",
        PASSWORD,
    )
    .await;
    assert_eq!(blocked.status(), 429, "the guessing /64 is throttled");
    let elsewhere = login_from(&app, "2001:db8:1:3::1", "neighbour@example.com", PASSWORD).await;
    assert_eq!(elsewhere.status(), 200, "the next /64 is not");
}

/// Signs `email` in through the browser form, so `app.client` holds a session cookie.
async fn browser_login(app: &TestApp, email: &str) {
    let csrf = app.csrf_from("/login").await;
    let response = app
        .client
        .post(app.url("/login"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("email", email),
            ("password", PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303, "browser log-in of {email}");
}

/// A founder signed in both ways: a bearer token, and `app.client`'s session cookie; with a draft.
async fn founder_with_a_draft(app: &TestApp) -> (String, String) {
    let email = format!("founder-{}@example.com", uuid::Uuid::new_v4().simple());
    app.signup(&email, "founder").await;
    let token = app.login(&email).await;
    let project = app.create_reward_project(&token, "Solar lantern").await;
    browser_login(app, &email).await;
    (token, project.to_string())
}

fn cookie_post(app: &TestApp, path: &str) -> reqwest::RequestBuilder {
    app.client.post(app.url(&format!("/api/v1{path}")))
}

#[tokio::test]
async fn a_cookie_only_api_post_without_a_csrf_header_is_refused() {
    let app = TestApp::spawn().await;
    let (_, id) = founder_with_a_draft(&app).await;
    for path in [
        format!("/projects/{id}/submit"),
        format!("/projects/{id}/cancel"),
        "/auth/logout".to_owned(),
    ] {
        let response = cookie_post(&app, &path).send().await.unwrap();
        assert_eq!(
            response.status(),
            403,
            "{path} was accepted on the cookie alone"
        );
        assert_eq!(code(response).await, "csrf", "{path}");
        let wrong = cookie_post(&app, &path)
            .header("x-csrf-token", "0".repeat(64))
            .send()
            .await
            .unwrap();
        assert_eq!(wrong.status(), 403, "{path} took a wrong token");
    }
    let state: String = sqlx::query_scalar("SELECT state FROM projects WHERE id = $1::uuid")
        .bind(&id)
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(state, "draft", "nothing changed");
    let me = app.get("/api/v1/me").await;
    assert_eq!(
        me.status(),
        200,
        "the session was not logged out, and reads need no header"
    );
}

#[tokio::test]
async fn a_cookie_api_post_with_the_csrf_header_is_accepted() {
    let app = TestApp::spawn().await;
    let (_, id) = founder_with_a_draft(&app).await;
    let csrf = app.csrf_from("/").await;
    let submitted = cookie_post(&app, &format!("/projects/{id}/submit"))
        .header("x-csrf-token", &csrf)
        .send()
        .await
        .unwrap();
    assert_eq!(submitted.status(), 200);
    let out = cookie_post(&app, "/auth/logout")
        .header("x-csrf-token", &csrf)
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), 204);
    let me = app.get("/api/v1/me").await;
    assert_eq!(me.status(), 401, "the cookie's session is over");
}

#[tokio::test]
async fn a_bearer_api_post_needs_no_csrf_header() {
    let app = TestApp::spawn().await;
    let (token, id) = founder_with_a_draft(&app).await;
    // The client holds a session cookie too; the bearer token is what counts.
    let submitted = app
        .api(
            reqwest::Method::POST,
            &format!("/projects/{id}/submit"),
            &token,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(submitted.status(), 200);
    let out = client()
        .post(app.url("/api/v1/auth/logout"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), 204);
}

#[tokio::test]
async fn a_csrf_token_from_another_session_is_refused() {
    let app = TestApp::spawn().await;
    let (_, id) = founder_with_a_draft(&app).await;
    let first_session_token = app.csrf_from("/").await;
    // The same browser (same CSRF cookie) signs in again: a new session.
    let email: String = sqlx::query_scalar("SELECT email FROM users LIMIT 1")
        .fetch_one(&app.db)
        .await
        .unwrap();
    browser_login(&app, &email).await;

    let api = cookie_post(&app, &format!("/projects/{id}/submit"))
        .header("x-csrf-token", &first_session_token)
        .send()
        .await
        .unwrap();
    assert_eq!(api.status(), 403, "the API took another session's token");
    let form = app
        .client
        .post(app.url("/logout"))
        .form(&[("csrf", first_session_token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(form.status(), 403, "a form took another session's token");

    let current = app.csrf_from("/").await;
    assert_ne!(current, first_session_token);
    let api = cookie_post(&app, &format!("/projects/{id}/submit"))
        .header("x-csrf-token", &current)
        .send()
        .await
        .unwrap();
    assert_eq!(api.status(), 200, "this session's token works");
}
