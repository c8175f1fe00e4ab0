//! Accounts that heal themselves: a forgotten password reset by a mailed link (through a real
//! SMTP server), a password changed, sessions listed and ended, the e-mail changed by a link,
//! the account edited and deleted.

use reqwest::Method;
use serde_json::json;

use crate::support::*;

const PASSWORD: &str = "correct horse battery";
const NEW_PASSWORD: &str = "a much newer battery staple";

fn unique_email(what: &str) -> String {
    format!("{what}-{}@example.com", uuid::Uuid::new_v4().simple())
}

/// The token in the link of a letter body (`...?token=<token>`).
fn token_in(body: &str) -> String {
    let start = body.find("token=").expect("a link with a token") + "token=".len();
    body[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect()
}

/// The body of the newest letter queued for `to` (the app of these tests sends none).
async fn queued_body(app: &TestApp, to: &str) -> String {
    sqlx::query_scalar(
        "SELECT body FROM mail_outbox WHERE to_address = $1 ORDER BY id DESC LIMIT 1",
    )
    .bind(to)
    .fetch_one(&app.db)
    .await
    .expect("a queued letter")
}

async fn queued_count(app: &TestApp, to: &str) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM mail_outbox WHERE to_address = $1")
        .bind(to)
        .fetch_one(&app.db)
        .await
        .expect("count")
}

async fn login_status(app: &TestApp, email: &str, password: &str) -> u16 {
    app.client
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({"email": email, "password": password}))
        .send()
        .await
        .expect("login")
        .status()
        .as_u16()
}

async fn ask_reset(app: &TestApp, email: &str) -> (reqwest::StatusCode, String) {
    let response = app
        .client
        .post(app.url("/api/v1/auth/password-reset"))
        .json(&json!({ "email": email }))
        .send()
        .await
        .expect("reset request");
    (response.status(), response.text().await.expect("body"))
}

async fn confirm_reset(app: &TestApp, token: &str, password: &str) -> u16 {
    app.client
        .post(app.url("/api/v1/auth/password-reset/confirm"))
        .json(&json!({ "token": token, "password": password }))
        .send()
        .await
        .expect("confirm")
        .status()
        .as_u16()
}

#[tokio::test]
async fn a_password_reset_mailed_through_smtp_lets_the_user_log_in_with_the_new_password() {
    let smtp = SmtpServer::start();
    let app = TestApp::spawn_with_mail(&smtp).await;
    let email = unique_email("forgetful");
    app.signup(&email, "backer").await;

    let (status, _) = ask_reset(&app, &email).await;
    let mail = smtp.wait_for(&email, 1).await;
    let confirmed = confirm_reset(&app, &token_in(&mail[0].body), NEW_PASSWORD).await;

    assert_eq!(status, 202);
    assert_eq!(confirmed, 204);
    assert_eq!(login_status(&app, &email, NEW_PASSWORD).await, 200);
    assert_eq!(login_status(&app, &email, PASSWORD).await, 401);
}

#[tokio::test]
async fn a_reset_token_is_refused_the_second_time() {
    let app = TestApp::spawn().await;
    let email = unique_email("twice");
    app.signup(&email, "backer").await;
    ask_reset(&app, &email).await;
    let token = token_in(&queued_body(&app, &email).await);
    assert_eq!(confirm_reset(&app, &token, NEW_PASSWORD).await, 204);

    let again = confirm_reset(&app, &token, "yet another long password").await;

    assert_eq!(again, 422);
    assert_eq!(login_status(&app, &email, NEW_PASSWORD).await, 200);
}

#[tokio::test]
async fn a_reset_token_is_refused_after_30_minutes() {
    let app = TestApp::spawn().await;
    let email = unique_email("late");
    app.signup(&email, "backer").await;
    ask_reset(&app, &email).await;
    let token = token_in(&queued_body(&app, &email).await);
    sqlx::query("UPDATE password_resets SET created_at = now() - interval '31 minutes'")
        .execute(&app.db)
        .await
        .expect("age the token");

    let late = confirm_reset(&app, &token, NEW_PASSWORD).await;

    assert_eq!(late, 422);
    assert_eq!(login_status(&app, &email, PASSWORD).await, 200);
}

#[tokio::test]
async fn the_reset_answer_is_the_same_for_an_unknown_email() {
    let app = TestApp::spawn().await;
    let known = unique_email("known");
    app.signup(&known, "backer").await;
    let unknown = unique_email("nobody");

    let for_known = ask_reset(&app, &known).await;
    let for_unknown = ask_reset(&app, &unknown).await;

    assert_eq!(for_known, for_unknown);
    assert_eq!(for_unknown.0, 202);
    assert_eq!(queued_count(&app, &known).await, 1);
    assert_eq!(queued_count(&app, &unknown).await, 0);
}

#[tokio::test]
async fn reset_requests_for_one_address_are_rate_limited() {
    let app = TestApp::spawn().await;
    let email = unique_email("eager");
    for _ in 0..3 {
        assert_eq!(ask_reset(&app, &email).await.0, 202);
    }

    let (status, _) = ask_reset(&app, &email).await;

    assert_eq!(status, 429);
}

#[tokio::test]
async fn changing_the_password_needs_the_current_one() {
    let app = TestApp::spawn().await;
    let email = unique_email("careful");
    app.signup(&email, "backer").await;
    let token = app.login(&email).await;
    let change = |current: &str| json!({"current_password": current, "new_password": NEW_PASSWORD});

    let wrong = app
        .post_json("/me/password", &token, change("not my password"))
        .await;
    let right = app
        .post_json("/me/password", &token, change(PASSWORD))
        .await;

    assert_status(&wrong, 422);
    assert_status(&right, 204);
    assert_eq!(login_status(&app, &email, NEW_PASSWORD).await, 200);
}

#[tokio::test]
async fn changing_the_password_ends_the_other_sessions_but_not_this_one() {
    let app = TestApp::spawn().await;
    let email = unique_email("moving");
    app.signup(&email, "backer").await;
    let here = app.login(&email).await;
    let elsewhere = app.login(&email).await;

    let changed = app
        .post_json(
            "/me/password",
            &here,
            json!({"current_password": PASSWORD, "new_password": NEW_PASSWORD}),
        )
        .await;

    assert_status(&changed, 204);
    assert_status(&app.get_json("/me", &here).await, 200);
    assert_status(&app.get_json("/me", &elsewhere).await, 401);
}

#[tokio::test]
async fn the_session_list_marks_the_current_session() {
    let app = TestApp::spawn().await;
    let email = unique_email("listed");
    app.signup(&email, "backer").await;
    let here = app.login(&email).await;
    app.login(&email).await;

    let (status, sessions) = app.get_json("/me/sessions", &here).await;

    assert_eq!(status, 200);
    let list = sessions.as_array().expect("a list");
    assert_eq!(list.len(), 2);
    assert_eq!(list.iter().filter(|s| s["current"] == true).count(), 1);
}

#[tokio::test]
async fn logging_out_everywhere_ends_the_other_sessions() {
    let app = TestApp::spawn().await;
    let email = unique_email("everywhere");
    app.signup(&email, "backer").await;
    let here = app.login(&email).await;
    let elsewhere = app.login(&email).await;

    let ended = app.delete_json("/me/sessions", &here).await;

    assert_status(&ended, 204);
    assert_status(&app.get_json("/me", &elsewhere).await, 401);
    assert_status(&app.get_json("/me", &here).await, 401);
}

#[tokio::test]
async fn deleting_the_account_removes_personal_data_and_the_login() {
    let app = TestApp::spawn().await;
    let (email, who) = member(&app, "leaving").await;
    let token = who.token.clone();
    app.patch_json("/me", &token, json!({"bio": "Tea farmer in Anxi."}))
        .await;
    let pledge = pledged_and_cancelled(&app, &who).await;
    sqlx::query("INSERT INTO pledge_addresses (pledge_id, address) VALUES ($1, 'Anxi, Fujian')")
        .bind(pledge)
        .execute(&app.db)
        .await
        .expect("an address");
    let withdrawn = app
        .send_json(
            app.request_as(Method::POST, "/wallet/withdrawals", &who)
                .json(&json!({"amount": "100.00", "account": "6222 0212 3456 7890"})),
        )
        .await;
    assert_status(&withdrawn, 201);
    withdrawals_settled(&app, &who).await;
    let pending_email = unique_email("pending-new");
    app.post_json(
        "/me/email",
        &token,
        json!({ "email": pending_email, "password": PASSWORD }),
    )
    .await;
    ask_reset(&app, &email).await;

    let deleted = delete_me(&app, &who).await;

    assert_status(&deleted, 204);
    let (stored_email, name, bio, hash): (String, String, String, String) =
        sqlx::query_as("SELECT email, display_name, bio, password_hash FROM users WHERE id = $1")
            .bind(who.id)
            .fetch_one(&app.db)
            .await
            .expect("the tombstone");
    assert!(!stored_email.contains(&email), "{stored_email}");
    assert_ne!(name, "Test User");
    assert_eq!(bio, "");
    assert_eq!(hash, "");
    assert_eq!(login_status(&app, &email, PASSWORD).await, 401);
    assert_status(&app.get_json("/me", &token).await, 401);
    let contacts: i64 =
        sqlx::query_scalar("SELECT count(*) FROM mail_contacts WHERE email LIKE 'deleted:%'")
            .fetch_one(&app.db)
            .await
            .expect("contacts");
    assert_eq!(contacts, 0);
    let addresses: i64 = sqlx::query_scalar("SELECT count(*) FROM pledge_addresses")
        .fetch_one(&app.db)
        .await
        .expect("addresses");
    assert_eq!(addresses, 0);
    let accounts: Vec<String> =
        sqlx::query_scalar("SELECT account FROM wallet_withdrawals WHERE user_id = $1")
            .bind(who.id)
            .fetch_all(&app.db)
            .await
            .expect("accounts");
    assert_eq!(accounts, ["XXXXXXXX7890"]);
    assert_eq!(queued_count(&app, &pending_email).await, 0);
    let requests: i64 =
        sqlx::query_scalar("SELECT count(*) FROM password_reset_requests WHERE email = $1")
            .bind(&email)
            .fetch_one(&app.db)
            .await
            .expect("requests");
    assert_eq!(requests, 0);
}

/// Funds `who` with 100.00, pledges it to a new project and cancels the pledge (the money is
/// back in the wallet); the pledge's id.
async fn pledged_and_cancelled(app: &TestApp, who: &Backer) -> zhonglian::ids::PledgeId {
    let (project, tiers) = app.live_reward_project(&[("100.00", None)]).await;
    app.fund(who, "100.00").await;
    let pledge = made_pledge(
        &app.pledge(
            who,
            project,
            json!({"tier_id": tiers[0], "amount": "100.00"}),
            None,
        )
        .await,
    );
    assert_status(&app.cancel_pledge(who, pledge).await, 200);
    pledge
}

#[tokio::test]
async fn deleting_the_account_needs_the_password() {
    let app = TestApp::spawn().await;
    let email = unique_email("stolen");
    app.signup(&email, "backer").await;
    let token = app.login(&email).await;

    let refused = app
        .send_json(
            app.request_as(Method::DELETE, "/me", &token)
                .json(&json!({ "password": "a thief's guess" })),
        )
        .await;

    assert_status(&refused, 422);
    assert_eq!(login_status(&app, &email, PASSWORD).await, 200);
}

#[tokio::test]
async fn the_email_changes_only_after_the_link_is_opened() {
    let app = TestApp::spawn().await;
    let old = unique_email("old");
    let new = unique_email("new");
    app.signup(&old, "backer").await;
    let token = app.login(&old).await;

    let asked = app
        .post_json(
            "/me/email",
            &token,
            json!({ "email": new, "password": PASSWORD }),
        )
        .await;
    let (_, before) = app.get_json("/me", &token).await;
    let link = token_in(&queued_body(&app, &new).await);
    let opened = app
        .post_json("/me/email/confirm", &Anonymous, json!({ "token": link }))
        .await;
    let (_, after) = app.get_json("/me", &token).await;

    assert_status(&asked, 202);
    assert_eq!(before["email"], old.as_str());
    assert_status(&opened, 204);
    assert_eq!(after["email"], new.as_str());
    assert_eq!(login_status(&app, &new, PASSWORD).await, 200);
}

#[tokio::test]
async fn patching_me_changes_name_zone_language_and_adds_the_founder_role() {
    let app = TestApp::spawn().await;
    let email = unique_email("grower");
    app.signup(&email, "backer").await;
    let token = app.login(&email).await;

    let (status, user) = app
        .patch_json(
            "/me",
            &token,
            json!({"display_name": "Lin Wei", "time_zone": "Asia/Shanghai", "language": "en", "founder": true}),
        )
        .await;

    assert_eq!(status, 200, "{user}");
    assert_eq!(user["display_name"], "Lin Wei");
    assert_eq!(user["time_zone"], "Asia/Shanghai");
    let roles = user["roles"].as_array().expect("roles");
    assert!(roles.contains(&json!("founder")) && roles.contains(&json!("backer")));
    let language: String = sqlx::query_scalar("SELECT language FROM users WHERE lower(email) = $1")
        .bind(&email)
        .fetch_one(&app.db)
        .await
        .expect("language");
    assert_eq!(language, "en");
}

#[tokio::test]
async fn patching_me_refuses_an_unknown_time_zone() {
    let app = TestApp::spawn().await;
    let token = app.login_as_backer().await;

    let refused = app
        .patch_json("/me", &token, json!({"time_zone": "Mars/Olympus"}))
        .await;

    assert_status(&refused, 422);
}

#[tokio::test]
async fn switching_language_while_signed_in_stores_it_for_the_mail() {
    let app = TestApp::spawn().await;
    let email = unique_email("reader");
    app.signup(&email, "backer").await;
    let token = app.login(&email).await;

    let switched = app
        .client
        .get(app.url("/lang/en"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("switch");

    assert_eq!(switched.status(), 303);
    let language: String = sqlx::query_scalar("SELECT language FROM users WHERE lower(email) = $1")
        .bind(&email)
        .fetch_one(&app.db)
        .await
        .expect("language");
    assert_eq!(language, "en");
}

#[tokio::test]
async fn the_forgot_password_page_answers_the_same_and_the_mailed_link_resets_in_the_browser_forms()
{
    let app = TestApp::spawn().await;
    let email = unique_email("pages");
    app.signup(&email, "backer").await;
    let login_page = app.html("/login").await;
    assert!(login_page.contains("href=\"/forgot-password\""));
    let csrf = app.csrf_from("/forgot-password").await;

    let asked = app
        .client
        .post(app.url("/forgot-password"))
        .form(&[("csrf", csrf.as_str()), ("email", email.as_str())])
        .send()
        .await
        .expect("forgot");
    let asked_html = asked.text().await.expect("page");
    let token = token_in(&queued_body(&app, &email).await);
    let csrf = app
        .csrf_from(&format!("/reset-password?token={token}"))
        .await;
    let reset = app
        .client
        .post(app.url("/reset-password"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("token", token.as_str()),
            ("password", NEW_PASSWORD),
        ])
        .send()
        .await
        .expect("reset");

    assert!(asked_html.contains("id=\"reset-sent\""));
    assert_eq!(reset.status(), 303);
    assert_eq!(login_status(&app, &email, NEW_PASSWORD).await, 200);
}

#[tokio::test]
async fn deleting_the_account_in_the_browser_asks_first_then_deletes() {
    let app = TestApp::spawn().await;
    let email = unique_email("browser");
    app.signup(&email, "backer").await;
    app.sign_in_browser(&email).await;
    let csrf = app.csrf_from("/me/settings").await;
    let fields = [("csrf", csrf.as_str()), ("delete_password", PASSWORD)];

    let (asked, page) = app.post_form("/me/delete", &fields).await;
    let still_there = login_status(&app, &email, PASSWORD).await;
    let confirmed = [
        ("csrf", csrf.as_str()),
        ("delete_password", PASSWORD),
        ("confirm", "yes"),
    ];
    let (done, to) = app.post_form("/me/delete", &confirmed).await;

    assert_eq!(asked, 200);
    assert!(page.contains("id=\"confirm-form\""), "{page}");
    assert_eq!(still_there, 200, "nothing happens before the confirmation");
    assert_eq!((done, to.as_str()), (303, "/?notice=account.deleted"));
    assert_eq!(login_status(&app, &email, PASSWORD).await, 401);
}

#[tokio::test]
async fn a_wrong_current_password_is_shown_beside_its_field_on_the_settings_page() {
    let app = TestApp::spawn().await;
    let email = unique_email("typo");
    app.signup(&email, "backer").await;
    app.sign_in_browser(&email).await;
    let csrf = app.csrf_from("/me/settings").await;

    let (status, page) = app
        .post_form(
            "/me/password",
            &[
                ("csrf", csrf.as_str()),
                ("current_password", "not it at all"),
                ("new_password", NEW_PASSWORD),
            ],
        )
        .await;

    assert_eq!(status, 422);
    assert!(page.contains("id=\"current_password-error\""), "{page}");
}

#[tokio::test]
async fn deleting_the_account_drops_the_letters_still_waiting_for_its_address() {
    let app = TestApp::spawn().await;
    let email = unique_email("unsent");
    app.signup(&email, "backer").await;
    let token = app.login(&email).await;
    ask_reset(&app, &email).await;
    assert_eq!(queued_count(&app, &email).await, 1);

    let deleted = app
        .send_json(
            app.request_as(Method::DELETE, "/me", &token)
                .json(&json!({ "password": PASSWORD })),
        )
        .await;

    assert_status(&deleted, 204);
    assert_eq!(queued_count(&app, &email).await, 0);
}

#[tokio::test]
async fn signing_up_stores_the_language_the_client_asked_in() {
    let app = TestApp::spawn().await;
    let email = unique_email("english");

    let response = app
        .client
        .post(app.url("/api/v1/auth/signup"))
        .header("accept-language", "en-GB,en;q=0.9")
        .json(
            &json!({"email": email, "password": PASSWORD, "display_name": "Ann", "role": "backer"}),
        )
        .send()
        .await
        .expect("signup");

    assert_eq!(response.status(), 201);
    let language: String = sqlx::query_scalar("SELECT language FROM users WHERE lower(email) = $1")
        .bind(&email)
        .fetch_one(&app.db)
        .await
        .expect("language");
    assert_eq!(language, "en");
}

/// A member signed up with [`PASSWORD`] and signed in: their address and themselves as a caller
/// the money fixtures take.
async fn member(app: &TestApp, what: &str) -> (String, Backer) {
    let email = unique_email(what);
    let user = app.signup(&email, "backer").await;
    let token = app.login(&email).await;
    let id = uuid::Uuid::parse_str(user["id"].as_str().expect("an id")).expect("a uuid");
    (
        email,
        Backer {
            id: zhonglian::accounts::domain::UserId(id),
            token,
        },
    )
}

async fn delete_me(app: &TestApp, who: &Backer) -> (reqwest::StatusCode, serde_json::Value) {
    app.send_json(
        app.request_as(Method::DELETE, "/me", who)
            .json(&json!({ "password": PASSWORD })),
    )
    .await
}

/// Waits until none of `who`'s withdrawals waits for the gateway.
async fn withdrawals_settled(app: &TestApp, who: &Backer) {
    for _ in 0..200 {
        let pending: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM wallet_withdrawals WHERE user_id = $1 AND state = 'pending'",
        )
        .bind(who.id)
        .fetch_one(&app.db)
        .await
        .expect("count");
        if pending == 0 {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the gateway never answered");
}

#[tokio::test]
async fn deleting_an_account_whose_wallet_holds_money_is_refused_with_a_conflict() {
    let app = TestApp::spawn().await;
    let (email, who) = member(&app, "moneyed").await;
    app.fund(&who, "10.00").await;

    let refused = delete_me(&app, &who).await;

    assert_status(&refused, 409);
    assert_eq!(login_status(&app, &email, PASSWORD).await, 200);
}

#[tokio::test]
async fn deleting_an_account_with_an_active_pledge_is_refused_with_a_conflict() {
    let app = TestApp::spawn().await;
    let (email, who) = member(&app, "backing").await;
    let (project, tiers) = app.live_reward_project(&[("100.00", None)]).await;
    app.fund(&who, "100.00").await;
    made_pledge(
        &app.pledge(
            &who,
            project,
            json!({"tier_id": tiers[0], "amount": "100.00"}),
            None,
        )
        .await,
    );

    let refused = delete_me(&app, &who).await;

    assert_status(&refused, 409);
    assert_eq!(login_status(&app, &email, PASSWORD).await, 200);
}

#[tokio::test]
async fn deleting_an_account_with_a_pending_withdrawal_is_refused_with_a_conflict() {
    let app = TestApp::spawn().await;
    let (email, who) = member(&app, "withdrawing").await;
    sqlx::query(
        "INSERT INTO wallet_withdrawals (id, user_id, provider, reference, amount, currency,
                                         account, request_hash)
         VALUES ($1, $2, 'sandbox', $3, 5, 'CNY', '6222021234567890', $4)",
    )
    .bind(uuid::Uuid::new_v4())
    .bind(who.id)
    .bind(uuid::Uuid::new_v4().to_string())
    .bind(vec![0u8; 32])
    .execute(&app.db)
    .await
    .expect("a pending withdrawal");

    let refused = delete_me(&app, &who).await;

    assert_status(&refused, 409);
    assert_eq!(login_status(&app, &email, PASSWORD).await, 200);
}

#[tokio::test]
async fn deleting_the_account_of_a_founder_whose_project_has_not_ended_is_refused_with_a_conflict()
{
    let app = TestApp::spawn().await;
    let email = unique_email("founding");
    app.signup(&email, "founder").await;
    let token = app.login(&email).await;
    app.create_reward_project(&token, "Oolong from Anxi").await;

    let refused = app
        .send_json(
            app.request_as(Method::DELETE, "/me", &token)
                .json(&json!({ "password": PASSWORD })),
        )
        .await;

    assert_status(&refused, 409);
    assert_eq!(login_status(&app, &email, PASSWORD).await, 200);
}

#[tokio::test]
async fn deleting_the_account_in_the_browser_forms_shows_why_beside_the_password_while_money_waits()
{
    let app = TestApp::spawn().await;
    let email = unique_email("moneyed-page");
    app.signup(&email, "backer").await;
    app.sign_in_browser(&email).await;
    let id: uuid::Uuid = sqlx::query_scalar("SELECT id FROM users WHERE lower(email) = $1")
        .bind(&email)
        .fetch_one(&app.db)
        .await
        .expect("the user");
    let who = Backer {
        id: zhonglian::accounts::domain::UserId(id),
        token: String::new(),
    };
    app.fund(&who, "10.00").await;
    let csrf = app.csrf_from("/me/settings").await;

    let (status, page) = app
        .post_form(
            "/me/delete",
            &[
                ("csrf", csrf.as_str()),
                ("delete_password", PASSWORD),
                ("confirm", "yes"),
            ],
        )
        .await;

    assert_eq!(status, 409);
    assert!(page.contains("id=\"delete_password-error\""), "{page}");
    assert_eq!(login_status(&app, &email, PASSWORD).await, 200);
}

/// The shortest of three runs of `run`.
async fn quickest<F: std::future::Future>(mut run: impl FnMut() -> F) -> std::time::Duration {
    let mut best = std::time::Duration::MAX;
    for _ in 0..3 {
        let started = std::time::Instant::now();
        run().await;
        best = best.min(started.elapsed());
    }
    best
}

#[tokio::test]
async fn a_wrong_reset_token_is_refused_without_hashing_the_new_password() {
    let app = TestApp::spawn().await;
    let one_hash = quickest(|| async {
        let password = zhonglian::accounts::domain::Password::parse(NEW_PASSWORD.to_owned());
        zhonglian::accounts::password::hash(password.expect("a password"))
            .await
            .expect("a hash");
    })
    .await;

    let refusal = quickest(|| async {
        assert_eq!(
            confirm_reset(&app, "no-such-token", NEW_PASSWORD).await,
            422
        );
    })
    .await;

    assert!(
        refusal < one_hash / 2,
        "a refusal took {refusal:?}, one hash {one_hash:?}"
    );
}

#[tokio::test]
async fn a_successful_reset_uses_up_the_other_reset_links_of_the_account() {
    let app = TestApp::spawn().await;
    let email = unique_email("two-links");
    app.signup(&email, "backer").await;
    ask_reset(&app, &email).await;
    let first = token_in(&queued_body(&app, &email).await);
    ask_reset(&app, &email).await;
    let second = token_in(&queued_body(&app, &email).await);
    assert_eq!(confirm_reset(&app, &second, NEW_PASSWORD).await, 204);

    let older = confirm_reset(&app, &first, "an attacker's long password").await;

    assert_eq!(older, 422);
    assert_eq!(login_status(&app, &email, NEW_PASSWORD).await, 200);
}

#[tokio::test]
async fn changing_the_password_uses_up_the_reset_links_mailed_before() {
    let app = TestApp::spawn().await;
    let email = unique_email("changed");
    app.signup(&email, "backer").await;
    let token = app.login(&email).await;
    ask_reset(&app, &email).await;
    let link = token_in(&queued_body(&app, &email).await);
    let changed = app
        .post_json(
            "/me/password",
            &token,
            json!({"current_password": PASSWORD, "new_password": NEW_PASSWORD}),
        )
        .await;
    assert_status(&changed, 204);

    let reset = confirm_reset(&app, &link, "an attacker's long password").await;

    assert_eq!(reset, 422);
    assert_eq!(login_status(&app, &email, NEW_PASSWORD).await, 200);
}

#[tokio::test]
async fn changing_the_email_uses_up_the_reset_links_mailed_to_the_old_address() {
    let app = TestApp::spawn().await;
    let old = unique_email("old-box");
    let new = unique_email("new-box");
    app.signup(&old, "backer").await;
    let token = app.login(&old).await;
    ask_reset(&app, &old).await;
    let link = token_in(&queued_body(&app, &old).await);
    app.post_json(
        "/me/email",
        &token,
        json!({ "email": new, "password": PASSWORD }),
    )
    .await;
    let confirmation = token_in(&queued_body(&app, &new).await);
    let opened = app
        .post_json(
            "/me/email/confirm",
            &Anonymous,
            json!({ "token": confirmation }),
        )
        .await;
    assert_status(&opened, 204);

    let reset = confirm_reset(&app, &link, "an attacker's long password").await;

    assert_eq!(reset, 422);
    assert_eq!(login_status(&app, &new, PASSWORD).await, 200);
}

#[tokio::test]
async fn asking_to_change_the_email_needs_the_current_password() {
    let app = TestApp::spawn().await;
    let email = unique_email("guarded");
    let new = unique_email("thief");
    app.signup(&email, "backer").await;
    let token = app.login(&email).await;

    let refused = app
        .post_json(
            "/me/email",
            &token,
            json!({ "email": new, "password": "a thief's guess" }),
        )
        .await;

    assert_status(&refused, 422);
    assert_eq!(queued_count(&app, &new).await, 0);
}

#[tokio::test]
async fn email_changes_asked_for_one_account_are_rate_limited() {
    let app = TestApp::spawn().await;
    let email = unique_email("restless");
    app.signup(&email, "backer").await;
    let token = app.login(&email).await;
    let ask = || async {
        app.post_json(
            "/me/email",
            &token,
            json!({ "email": unique_email("next"), "password": PASSWORD }),
        )
        .await
        .0
        .as_u16()
    };
    for _ in 0..3 {
        assert_eq!(ask().await, 202);
    }

    let fourth = app
        .request_as(Method::POST, "/me/email", &token)
        .json(&json!({ "email": unique_email("next"), "password": PASSWORD }))
        .send()
        .await
        .expect("fourth");

    assert_eq!(fourth.status().as_u16(), 429);
    let wait: i64 = fourth.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=3600).contains(&wait), "Retry-After: {wait}");
}

/// Wrong current passwords sent through the account's own operations (password change,
/// e-mail change, deletion) count in the log-in limit of the account: once it is reached, even
/// the right password is refused with 429 and Retry-After, and the account's log-in from a
/// client without a device cookie is refused too.
#[tokio::test]
async fn guessing_the_current_password_through_a_session_is_throttled_like_log_in() {
    let app = TestApp::spawn().await;
    let email = unique_email("stolen-session");
    app.signup(&email, "backer").await;
    let token = app.login(&email).await;
    let max = zhonglian::accounts::throttle::MAX_ACCOUNT_FAILURES;
    let guesses = [
        (
            "/me/password",
            json!({"current_password": "guess", "new_password": NEW_PASSWORD}),
        ),
        (
            "/me/email",
            json!({"email": unique_email("thief"), "password": "guess"}),
        ),
    ];
    for i in 0..max {
        let (path, body) = &guesses[i as usize % 2];
        let (status, _) = app.post_json(path, &token, body.clone()).await;
        assert_eq!(status.as_u16(), 422, "guess {i} on {path}");
    }
    let deleted = app
        .request_as(Method::DELETE, "/me", &token)
        .json(&json!({ "password": PASSWORD }))
        .send()
        .await
        .expect("delete");

    assert_eq!(deleted.status().as_u16(), 429);
    assert!(deleted.headers().contains_key("retry-after"));
    let right = app
        .post_json(
            "/me/password",
            &token,
            json!({"current_password": PASSWORD, "new_password": NEW_PASSWORD}),
        )
        .await;
    assert_eq!(right.0.as_u16(), 429);
    let stranger = client()
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({"email": email, "password": PASSWORD}))
        .send()
        .await
        .expect("log-in");
    assert_eq!(stranger.status().as_u16(), 429);
    let still: i64 = sqlx::query_scalar("SELECT count(*) FROM users WHERE lower(email) = $1")
        .bind(&email)
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(still, 1);
}

#[tokio::test]
async fn a_right_current_password_does_not_count_as_a_failure() {
    let app = TestApp::spawn().await;
    let email = unique_email("owner");
    app.signup(&email, "backer").await;
    let token = app.login(&email).await;
    let max = zhonglian::accounts::throttle::MAX_ACCOUNT_FAILURES;
    let mut password = PASSWORD.to_owned();
    for i in 0..max + 2 {
        let next = format!("{PASSWORD} {i}");
        let (status, _) = app
            .post_json(
                "/me/password",
                &token,
                json!({"current_password": password, "new_password": next}),
            )
            .await;
        assert_eq!(status.as_u16(), 204, "change {i}");
        password = next;
    }
    let failures: i64 = sqlx::query_scalar("SELECT count(*) FROM login_failures WHERE email = $1")
        .bind(&email)
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(failures, 0);
}

#[tokio::test]
async fn the_settings_page_says_when_password_checks_are_throttled() {
    let app = TestApp::spawn().await;
    let email = unique_email("form-guesser");
    app.signup(&email, "backer").await;
    app.sign_in_browser(&email).await;
    let csrf = app.csrf_from("/me/settings").await;
    let max = zhonglian::accounts::throttle::MAX_ACCOUNT_FAILURES;
    for _ in 0..max {
        let fields = [("csrf", csrf.as_str()), ("delete_password", "guess")];
        let (status, _) = app.post_form("/me/delete", &fields).await;
        assert_eq!(status, 422);
    }
    let response = app
        .client
        .post(app.url("/me/password"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("current_password", PASSWORD),
            ("new_password", NEW_PASSWORD),
        ])
        .send()
        .await
        .expect("form");

    assert_eq!(response.status().as_u16(), 429);
    assert!(response.headers().contains_key("retry-after"));
    let page = response.text().await.unwrap();
    assert!(
        page.contains("current_password"),
        "the message is beside the field"
    );
}

#[tokio::test]
async fn a_confirmed_email_change_is_told_to_the_old_address() {
    let app = TestApp::spawn().await;
    let old = unique_email("told-old");
    let new = unique_email("told-new");
    app.signup(&old, "backer").await;
    let token = app.login(&old).await;
    app.post_json(
        "/me/email",
        &token,
        json!({ "email": new, "password": PASSWORD }),
    )
    .await;
    let link = token_in(&queued_body(&app, &new).await);
    let before = queued_count(&app, &old).await;

    let opened = app
        .post_json("/me/email/confirm", &Anonymous, json!({ "token": link }))
        .await;

    assert_status(&opened, 204);
    assert_eq!(queued_count(&app, &old).await, before + 1);
    let told = zhonglian::i18n::Lang::Zh
        .catalogue()
        .get("accounts.mail.email_changed_body")
        .to_owned();
    assert_eq!(queued_body(&app, &old).await, told);
}
