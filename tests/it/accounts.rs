//! Accounts and sessions over real HTTP.

use serde_json::json;
use zhonglian::http::Keys;

use crate::support::TestApp;

#[tokio::test]
async fn a_backer_signs_up_logs_in_sees_themselves_and_logs_out() {
    let app = TestApp::spawn().await;
    let user = app.signup("Ada@Example.com", "backer").await;
    assert_eq!(user["email"], "ada@example.com");
    assert_eq!(user["roles"], json!(["backer"]));

    let token = app.login("ada@example.com").await;
    let me = app
        .client
        .get(app.url("/api/v1/me"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 200);
    let me: serde_json::Value = me.json().await.unwrap();
    assert_eq!(me["id"], user["id"]);

    let out = app
        .client
        .post(app.url("/api/v1/auth/logout"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), 204);
    let after = app
        .client
        .get(app.url("/api/v1/me"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(
        after.status(),
        401,
        "a revoked token must be refused at once"
    );
}

#[tokio::test]
async fn a_user_may_be_founder_and_backer() {
    let app = TestApp::spawn().await;
    let response = app
        .client
        .post(app.url("/api/v1/auth/signup"))
        .json(
            &json!({"email": "both@example.com", "password": "correct horse battery",
                      "display_name": "Both", "role": ["founder", "backer"]}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let user: serde_json::Value = response.json().await.unwrap();
    assert_eq!(user["roles"], json!(["founder", "backer"]));
}

async fn problem(response: reqwest::Response) -> (u16, serde_json::Value) {
    let status = response.status().as_u16();
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json",
        "status {status} should be a JSON problem"
    );
    (status, response.json().await.unwrap())
}

#[tokio::test]
async fn bad_sign_ups_and_log_ins_get_clear_client_errors() {
    let app = TestApp::spawn().await;
    app.signup("taken@example.com", "backer").await;
    // (what is sent, status, what the detail says if it must say something, why).
    let big = format!("{{\"email\": \"{}\"}}", "a".repeat(2 * 1024 * 1024));
    let cases: [(String, u16, Option<&str>, &str); 5] = [
        (
            json!({"email": "TAKEN@example.com", "password": "correct horse battery",
                   "display_name": "X", "role": "backer"})
            .to_string(),
            409,
            Some("already exists"),
            "an address is taken whatever its case",
        ),
        (
            json!({"email": "short@example.com", "password": "123456789",
                   "display_name": "X", "role": "backer"})
            .to_string(),
            422,
            Some("10 characters"),
            "a short password",
        ),
        (
            json!({"email": "reg@example.com", "password": "correct horse battery",
                   "display_name": "X", "role": "regulator"})
            .to_string(),
            422,
            None,
            "nobody makes themselves a regulator",
        ),
        (
            "{\"email\": ".to_owned(),
            400,
            Some("not valid JSON"),
            "broken JSON",
        ),
        (big, 413, None, "a body past the limit"),
    ];
    for (body, expected, detail, why) in cases {
        let (status, body) = problem(
            app.client
                .post(app.url("/api/v1/auth/signup"))
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(status, expected, "{why}");
        if let Some(detail) = detail {
            assert!(
                body["detail"].as_str().unwrap().contains(detail),
                "{why}: {body}"
            );
        }
    }

    let login = |email: &str, password: &str| {
        app.client
            .post(app.url("/api/v1/auth/login"))
            .json(&json!({"email": email, "password": password}))
            .send()
    };
    let (status, wrong_password) =
        problem(login("taken@example.com", "wrong password!").await.unwrap()).await;
    assert_eq!(status, 401);
    let (status, unknown) = problem(
        login("nobody@example.com", "wrong password!")
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 401);
    assert_eq!(
        wrong_password["detail"], unknown["detail"],
        "the answer must not reveal whether the account exists"
    );
}

fn forged(claims: serde_json::Value, key: &jsonwebtoken::EncodingKey) -> String {
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims,
        key,
    )
    .unwrap()
}

#[tokio::test]
async fn forged_expired_and_foreign_tokens_are_refused() {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
    use base64::Engine;

    let app = TestApp::spawn().await;
    let user = app.signup("jwt@example.com", "backer").await;
    let token = app.login("jwt@example.com").await;
    let claims: serde_json::Value =
        serde_json::from_slice(&B64.decode(token.split('.').nth(1).unwrap()).unwrap()).unwrap();
    assert_eq!(claims["sub"], user["id"]);
    let keys = Keys::derive(&secrecy::SecretString::from(
        "test secret key material, 32+ bytes long".to_owned(),
    ));

    let none_header = B64.encode(br#"{"alg":"none","typ":"JWT"}"#);
    let alg_none = format!("{none_header}.{}.", token.split('.').nth(1).unwrap());

    let other_key = jsonwebtoken::EncodingKey::from_secret(b"somebody else's key");
    let wrong_signature = forged(claims.clone(), &other_key);

    let mut expired = claims.clone();
    expired["exp"] = json!(time::OffsetDateTime::now_utc().unix_timestamp() - 10);
    let expired = forged(expired, &keys.jwt_encoding);

    let mut audience = claims.clone();
    audience["aud"] = json!("another-service");
    let wrong_audience = forged(audience, &keys.jwt_encoding);

    let mut session = claims.clone();
    session["jti"] = json!(uuid::Uuid::new_v4());
    let unknown_session = forged(session, &keys.jwt_encoding);

    let genuine_copy = forged(claims, &keys.jwt_encoding);
    let ok = app
        .client
        .get(app.url("/api/v1/me"))
        .bearer_auth(&genuine_copy)
        .send()
        .await
        .unwrap();
    assert_eq!(
        ok.status(),
        200,
        "the control token signed with the real key works"
    );

    for (name, bad) in [
        ("alg none", alg_none),
        ("wrong signature", wrong_signature),
        ("expired", expired),
        ("wrong audience", wrong_audience),
        ("unknown session", unknown_session),
        ("garbage", "not.a.token".to_owned()),
    ] {
        let response = app
            .client
            .get(app.url("/api/v1/me"))
            .bearer_auth(&bad)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 401, "{name} token was not refused");
    }
}

#[tokio::test]
async fn repeated_failed_log_ins_are_rate_limited_with_a_clear_message() {
    let app = TestApp::spawn().await;
    app.signup("victim@example.com", "backer").await;
    for _ in 0..10 {
        let r = app
            .client
            .post(app.url("/api/v1/auth/login"))
            .json(&json!({"email": "victim@example.com", "password": "guess guess guess"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401);
    }
    let blocked = app
        .client
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({"email": "victim@example.com", "password": "correct horse battery"}))
        .send()
        .await
        .unwrap();
    assert_eq!(blocked.status(), 429, "even the right password waits");
    let body: serde_json::Value = blocked.json().await.unwrap();
    assert!(body["detail"].as_str().unwrap().contains("Wait 15 minutes"));
}

#[tokio::test]
async fn browser_forms_sign_up_log_in_and_out_with_a_session_cookie() {
    let app = TestApp::spawn().await;
    let csrf = app.csrf_from("/signup").await;
    let response = app
        .client
        .post(app.url("/signup"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("email", "form@example.com"),
            ("display_name", "表单用户"),
            ("password", "correct horse battery"),
            ("backer", "on"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303);
    let cookie = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|c| c.starts_with("zl_session="))
        .expect("a session cookie");
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"));

    let home = app.html("/").await;
    assert!(
        home.contains("表单用户"),
        "the home page greets the signed-in user"
    );

    let csrf = app.csrf_from("/").await;
    let out = app
        .client
        .post(app.url("/logout"))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), 303);
    let home = app.html("/").await;
    assert!(!home.contains("表单用户"));
}

#[tokio::test]
async fn a_form_post_without_or_with_a_wrong_csrf_token_is_refused() {
    let app = TestApp::spawn().await;
    app.signup("csrf@example.com", "backer").await;
    let real = app.csrf_from("/login").await;
    let fields = |csrf: Option<&str>| {
        let mut f = vec![
            ("email", "csrf@example.com"),
            ("password", "correct horse battery"),
        ];
        if let Some(c) = csrf {
            f.push(("csrf", c));
        }
        f.into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect::<Vec<_>>()
    };
    for csrf in [None, Some("0".repeat(64).as_str()), Some("nonsense")] {
        let response = app
            .client
            .post(app.url("/login"))
            .form(&fields(csrf))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 403, "csrf {csrf:?} accepted");
        let page = response.text().await.unwrap();
        assert!(
            page.contains("<html"),
            "the refusal is a page, not a bare status"
        );
    }
    // A token from another browser (another cookie) is refused too.
    let stranger = crate::support::client();
    let response = stranger
        .post(app.url("/login"))
        .form(&fields(Some(&real)))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
    let response = app
        .client
        .post(app.url("/login"))
        .form(&fields(Some(&real)))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303, "the genuine token works");
}

#[tokio::test]
async fn a_wrong_password_in_the_browser_shows_the_form_again_with_a_message() {
    let app = TestApp::spawn().await;
    app.signup("page@example.com", "backer").await;
    let csrf = app.csrf_from("/login").await;
    let response = app
        .client
        .post(app.url("/login"))
        .header("accept-language", "en")
        .form(&[
            ("csrf", csrf.as_str()),
            ("email", "page@example.com"),
            ("password", "not the password"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    let page = response.text().await.unwrap();
    assert!(page.contains("Wrong email or password."));
    assert!(
        page.contains("value=\"page@example.com\""),
        "the email is kept"
    );
}

#[tokio::test]
async fn the_admin_command_creates_regulators_who_can_log_in() {
    let app = TestApp::spawn().await;
    let url = app.database_url();
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_zhonglian"))
            .args([
                "admin",
                "create-user",
                "--role",
                "regulator",
                "--email",
                "Reg@Example.com",
            ])
            .env("DATABASE_URL", url)
            .env("ZHONGLIAN_ADMIN_PASSWORD", "correct horse battery")
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let token = app.login("reg@example.com").await;
    let me: serde_json::Value = app
        .client
        .get(app.url("/api/v1/me"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["roles"], json!(["regulator"]));

    let url = app.database_url();
    let refused = tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_zhonglian"))
            .args([
                "admin",
                "create-user",
                "--role",
                "founder",
                "--email",
                "f@example.com",
            ])
            .env("DATABASE_URL", url)
            .env("ZHONGLIAN_ADMIN_PASSWORD", "correct horse battery")
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(
        !refused.status.success(),
        "the admin command only makes staff"
    );
}
