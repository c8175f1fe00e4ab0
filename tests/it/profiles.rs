//! Profiles: `/u/{id}` and `GET /api/v1/users/{id}` show the bio, the projects launched and the
//! number backed (the list only when made public); a regulator verifies an identity on the
//! record; a deleted account's profile is gone.

use reqwest::Method;
use serde_json::json;
use zhonglian::ids::UserId;

use crate::support::*;

/// The founder of a fixture project.
async fn founder_of(app: &TestApp, project: zhonglian::projects::ProjectId) -> UserId {
    sqlx::query_scalar("SELECT founder_id FROM projects WHERE id = $1")
        .bind(project)
        .fetch_one(&app.db)
        .await
        .expect("founder")
}

/// A backer who pledged to one live project, and that project.
async fn backer_of_one_project(app: &TestApp) -> (Backer, zhonglian::projects::ProjectId) {
    let (project, _) = app.live_reward_project(&[("20.00", None)]).await;
    let backer = app.fixture_backer().await;
    app.fund(&backer, "100.00").await;
    let pledged = app
        .pledge(&backer, project, json!({"amount": "10.00"}), None)
        .await;
    assert_status(&pledged, 201);
    (backer, project)
}

#[tokio::test]
async fn a_profile_shows_the_bio_launched_projects_and_backed_count() {
    let app = TestApp::spawn().await;
    let (backer, project) = backer_of_one_project(&app).await;
    let founder = founder_of(&app, project).await;
    let draft = app
        .fixture_project("reward", "draft", time::Duration::days(7))
        .await;
    sqlx::query("UPDATE projects SET founder_id = $1 WHERE id = $2")
        .bind(founder)
        .bind(draft)
        .execute(&app.db)
        .await
        .expect("a draft of the same founder");
    app.patch_json("/me", &backer, json!({"bio": "I back tea farms."}))
        .await;

    let (_, founder_profile) = app
        .get_json(&format!("/users/{}", founder.0), &Anonymous)
        .await;
    let (status, backer_profile) = app
        .get_json(&format!("/users/{}", backer.id.0), &Anonymous)
        .await;
    let page = app.html(&format!("/u/{}", backer.id.0)).await;

    assert_eq!(status, 200);
    let launched = founder_profile["launched"].as_array().expect("launched");
    assert_eq!(launched.len(), 1, "only the live project, not the draft");
    assert_eq!(launched[0]["id"], project.to_string());
    assert_eq!(backer_profile["bio"], "I back tea farms.");
    assert_eq!(backer_profile["backed_count"], 1);
    assert!(page.contains("I back tea farms."), "{page}");
}

#[tokio::test]
async fn the_backed_list_is_shown_only_when_the_user_made_it_public() {
    let app = TestApp::spawn().await;
    let (backer, project) = backer_of_one_project(&app).await;
    let path = format!("/users/{}", backer.id.0);

    let (_, private) = app.get_json(&path, &Anonymous).await;
    app.patch_json("/me", &backer, json!({"backed_public": true}))
        .await;
    let (_, public) = app.get_json(&path, &Anonymous).await;
    let page = app.html(&format!("/u/{}", backer.id.0)).await;

    assert!(private["backed"].is_null(), "{private}");
    assert_eq!(private["backed_count"], 1);
    assert_eq!(public["backed"][0]["id"], project.to_string());
    assert!(page.contains("id=\"backed-list\""));
}

#[tokio::test]
async fn a_regulator_verifies_an_identity_with_a_badge_a_trail_row_and_a_ledger_entry() {
    let app = TestApp::spawn().await;
    let person = app.fixture_backer().await;
    let regulator = app.login_as_regulator().await;
    let leaves_before: i64 = sqlx::query_scalar("SELECT count(*) FROM ledger_leaves")
        .fetch_one(&app.db)
        .await
        .expect("leaves");

    let (status, verified) = app
        .post_json(
            &format!("/regulator/users/{}/verify-identity", person.id.0),
            &regulator,
            json!({"reason": "Passport checked in person."}),
        )
        .await;

    assert_eq!(status, 200, "{verified}");
    let (_, profile) = app
        .get_json(&format!("/users/{}", person.id.0), &Anonymous)
        .await;
    assert!(profile["identity_verified_at"].is_string(), "{profile}");
    let page = app.html(&format!("/u/{}", person.id.0)).await;
    assert!(page.contains("id=\"identity-verified\""));
    let (action, hash): (String, Vec<u8>) = sqlx::query_as(
        "SELECT action, tx_hash FROM supervision_actions WHERE subject_user_id = $1",
    )
    .bind(person.id)
    .fetch_one(&app.db)
    .await
    .expect("the trail row");
    assert_eq!(action, "verify_identity");
    assert_eq!(hex::encode(&hash), verified["tx_hash"].as_str().unwrap());
    let on_ledger: i64 =
        sqlx::query_scalar("SELECT count(*) FROM ledger_leaves WHERE tx_hash = $1")
            .bind(&hash)
            .fetch_one(&app.db)
            .await
            .expect("leaf");
    assert_eq!(on_ledger, 1);
    let leaves_after: i64 = sqlx::query_scalar("SELECT count(*) FROM ledger_leaves")
        .fetch_one(&app.db)
        .await
        .expect("leaves");
    assert_eq!(leaves_after, leaves_before + 1);
}

#[tokio::test]
async fn an_identity_is_verified_only_once() {
    let app = TestApp::spawn().await;
    let person = app.fixture_backer().await;
    let regulator = app.login_as_regulator().await;
    let path = format!("/regulator/users/{}/verify-identity", person.id.0);
    assert_status(&app.post_json(&path, &regulator, json!({})).await, 200);

    let again = app.post_json(&path, &regulator, json!({})).await;

    assert_status(&again, 409);
}

#[tokio::test]
async fn only_a_regulator_may_verify_an_identity() {
    let app = TestApp::spawn().await;
    let person = app.fixture_backer().await;
    let other = app.login_as_backer().await;

    let refused = app
        .post_json(
            &format!("/regulator/users/{}/verify-identity", person.id.0),
            &other,
            json!({}),
        )
        .await;

    assert_status(&refused, 403);
}

#[tokio::test]
async fn a_deleted_account_has_no_profile() {
    let app = TestApp::spawn().await;
    let email = format!("gone-{}@example.com", uuid::Uuid::new_v4().simple());
    let user = app.signup(&email, "backer").await;
    let token = app.login(&email).await;
    let id = user["id"].as_str().expect("id").to_owned();
    let deleted = app
        .send_json(
            app.request_as(Method::DELETE, "/me", &token)
                .json(&json!({"password": "correct horse battery"})),
        )
        .await;
    assert_status(&deleted, 204);

    let (api, _) = app.get_json(&format!("/users/{id}"), &Anonymous).await;
    let (page, _) = app.page(&format!("/u/{id}")).await;

    assert_eq!(api, 404);
    assert_eq!(page, 404);
}

#[tokio::test]
async fn an_uploaded_avatar_is_served_with_caching_and_other_files_are_refused() {
    let app = TestApp::spawn().await;
    let user = app.fixture_backer().await;
    let png = b"\x89PNG\r\n\x1a\n0000 not a real picture".to_vec();
    let upload = |bytes: Vec<u8>| {
        let part = reqwest::multipart::Part::bytes(bytes).file_name("me.png");
        app.request_as(Method::PUT, "/me/avatar", &user)
            .multipart(reqwest::multipart::Form::new().part("avatar", part))
    };

    let refused = app
        .send_json(upload(b"<svg onload=alert(1)>".to_vec()))
        .await;
    let stored = app.send_json(upload(png.clone())).await;
    let served = app.get(&format!("/u/{}/avatar", user.id.0)).await;

    assert_status(&refused, 422);
    assert_status(&stored, 204);
    assert_eq!(served.status(), 200);
    assert_eq!(served.headers()["content-type"], "image/png");
    assert!(served.headers()["cache-control"]
        .to_str()
        .unwrap()
        .contains("max-age"));
    assert_eq!(served.bytes().await.unwrap().to_vec(), png);
}

#[tokio::test]
async fn the_project_page_links_the_founder_name_to_the_profile() {
    let app = TestApp::spawn().await;
    let (project, _) = app.live_reward_project(&[("20.00", None)]).await;
    let founder = founder_of(&app, project).await;

    let page = app.html(&format!("/projects/{project}")).await;

    assert!(
        page.contains(&format!("href=\"/u/{}\"", founder.0)),
        "{page}"
    );
}

#[tokio::test]
async fn a_regulator_verifies_an_identity_from_the_profile_page_after_confirming() {
    let app = TestApp::spawn().await;
    let person = app.fixture_backer().await;
    let email = format!("regulator-{}@example.com", uuid::Uuid::new_v4().simple());
    zhonglian::accounts::create_staff_user(
        &app.db,
        &email,
        "Regulator",
        "correct horse battery".into(),
        zhonglian::accounts::domain::Role::Regulator,
    )
    .await
    .expect("regulator");
    app.sign_in_browser(&email).await;
    let profile = format!("/u/{}", person.id.0);
    let csrf = app.csrf_from(&profile).await;
    let action = format!("{profile}/verify-identity");

    let (asked, page) = app
        .post_form(&action, &[("csrf", &csrf), ("reason", "Passport")])
        .await;
    let (done, to) = app
        .post_form(
            &action,
            &[("csrf", &csrf), ("reason", "Passport"), ("confirm", "yes")],
        )
        .await;

    assert_eq!(asked, 200);
    assert!(page.contains("id=\"confirm-form\""), "{page}");
    assert_eq!(done, 303, "{to}");
    assert!(app
        .html(&profile)
        .await
        .contains("id=\"identity-verified\""));
}
