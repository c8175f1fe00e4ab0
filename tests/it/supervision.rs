//! The regulator's queue and actions: recorded in the trail and anchored on the ledger.

use reqwest::Method;
use serde_json::{json, Value};

use crate::support::TestApp;

#[tokio::test]
async fn regulator_actions_are_recorded_in_the_trail_and_anchored_on_the_ledger() {
    let app = TestApp::spawn().await;
    let founder = app.login_as_founder().await;
    let regulator = app.login_as_regulator().await;
    let project = app.create_reward_project(&founder, "Supervised").await;
    let id = app.launch(&founder, &regulator, &project).await;
    let frozen = app
        .api(
            Method::POST,
            &format!("/regulator/projects/{id}/freeze"),
            &regulator,
        )
        .json(&json!({"reason": "Misleading claims in the story."}))
        .send()
        .await
        .unwrap();
    assert_eq!(frozen.status(), 200);

    let detail: Value = app
        .client
        .get(app.url(&format!("/api/v1/projects/{id}")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let trail = detail["supervision"].as_array().unwrap();
    let actions: Vec<&str> = trail
        .iter()
        .map(|t| t["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["approve", "freeze"]);
    assert_eq!(trail[1]["reason"], "Misleading claims in the story.");
    assert_eq!(trail[1]["regulator_name"], "Staff");

    let leaves: Value = app
        .client
        .get(app.url("/api/v1/ledger/leaves?start=0&end=2"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let kinds: Vec<&str> = leaves
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["supervision", "supervision"]);
    for entry in trail {
        let hash = entry["tx_hash"].as_str().unwrap();
        let proof = app
            .client
            .get(app.url(&format!(
                "/api/v1/ledger/proof/inclusion?tx_hash={hash}&tree_size=2"
            )))
            .send()
            .await
            .unwrap();
        assert_eq!(proof.status(), 200, "the trail links to a provable leaf");
    }
    let auditor = app
        .login_as_staff(zhonglian::accounts::domain::Role::Auditor)
        .await;
    let hash = trail[1]["tx_hash"].as_str().unwrap();
    let entry: Value = app
        .api(Method::GET, &format!("/ledger/entries/{hash}"), &auditor)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let text = entry.to_string();
    assert!(
        text.contains("freeze") && text.contains("Misleading claims") && text.contains(&id),
        "{text}"
    );

    let html = app
        .client
        .get(app.url("/projects/supervised"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("id=\"frozen-banner\"") && html.contains("Misleading claims in the story.")
    );
    assert!(
        html.contains(&format!("/api/v1/ledger/proof/inclusion?tx_hash={hash}")),
        "the page links the proof"
    );
    let browse: Value = app
        .client
        .get(app.url("/api/v1/projects"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        browse["projects"],
        json!([]),
        "a frozen project is not listed with live ones"
    );
}

#[tokio::test]
async fn a_refused_action_leaves_no_trail_and_no_ledger_entry() {
    let app = TestApp::spawn().await;
    let founder = app.login_as_founder().await;
    let regulator = app.login_as_regulator().await;
    let project = app.create_reward_project(&founder, "Untouched").await;
    let id = project["id"].as_str().unwrap();
    app.api(Method::POST, &format!("/projects/{id}/submit"), &founder)
        .send()
        .await
        .unwrap();
    let no_reason = app
        .api(
            Method::POST,
            &format!("/regulator/projects/{id}/reject"),
            &regulator,
        )
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(no_reason.status(), 422);
    let wrong = app
        .api(
            Method::POST,
            &format!("/regulator/projects/{id}/freeze"),
            &regulator,
        )
        .json(&json!({"reason": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 409);
    let unknown = app
        .api(
            Method::POST,
            &format!("/regulator/projects/{id}/delete"),
            &regulator,
        )
        .json(&json!({"reason": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);
    let size: i64 = sqlx::query_scalar("SELECT size FROM ledger_head")
        .fetch_one(&app.db)
        .await
        .unwrap();
    let trail: i64 = sqlx::query_scalar("SELECT count(*) FROM supervision_actions")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!((size, trail), (0, 0));
}

#[tokio::test]
async fn the_queue_lists_submitted_projects_with_what_is_needed_to_decide() {
    let app = TestApp::spawn().await;
    let founder = app.login_as_founder().await;
    let regulator = app.login_as_regulator().await;
    let waiting = app
        .create_reward_project(&founder, "Waiting for review")
        .await;
    app.create_reward_project(&founder, "Still a draft").await;
    let id = waiting["id"].as_str().unwrap();
    app.api(Method::POST, &format!("/projects/{id}/submit"), &founder)
        .send()
        .await
        .unwrap();

    let queue: Value = app
        .api(Method::GET, "/regulator/queue", &regulator)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let queue = queue.as_array().unwrap();
    assert_eq!(queue.len(), 1);
    assert_eq!(queue[0]["project"]["title"], "Waiting for review");
    assert_eq!(queue[0]["project"]["story"], "Our story.");
    assert_eq!(queue[0]["tiers"][0]["title"], "Thank-you card");
    let seen = app
        .api(Method::GET, &format!("/projects/{id}"), &regulator)
        .send()
        .await
        .unwrap();
    assert_eq!(seen.status(), 200, "the regulator sees a submitted project");
}

#[tokio::test]
async fn an_approval_with_a_launch_time_goes_live_only_when_it_comes() {
    let app = TestApp::spawn().await;
    let founder = app.login_as_founder().await;
    let regulator = app.login_as_regulator().await;
    let project = app.create_reward_project(&founder, "Scheduled").await;
    let id = project["id"].as_str().unwrap();
    app.api(Method::POST, &format!("/projects/{id}/submit"), &founder)
        .send()
        .await
        .unwrap();
    let later = (time::OffsetDateTime::now_utc() + time::Duration::days(2))
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let too_late = (time::OffsetDateTime::now_utc() + time::Duration::days(40))
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let refused = app
        .api(
            Method::POST,
            &format!("/regulator/projects/{id}/approve"),
            &regulator,
        )
        .json(&json!({"launch_at": too_late}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        refused.status(),
        422,
        "the deadline would come before the launch"
    );
    let approved: Value = app
        .api(
            Method::POST,
            &format!("/regulator/projects/{id}/approve"),
            &regulator,
        )
        .json(&json!({"launch_at": later}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(approved["to_state"], "live");
    assert!(approved["launch_at"].is_string());
    let public = app
        .client
        .get(app.url(&format!("/api/v1/projects/{id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(public.status(), 404, "not public before its launch time");
    let browse: Value = app
        .client
        .get(app.url("/api/v1/projects"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(browse["projects"], json!([]));
    let own = app
        .client
        .get(app.url("/projects/scheduled"))
        .bearer_auth(&founder)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(own.contains("id=\"scheduled-banner\""));

    sqlx::query(
        "UPDATE projects SET launched_at = now() - interval '1 minute' WHERE id = $1::uuid",
    )
    .bind(id)
    .execute(&app.db)
    .await
    .unwrap();
    let public = app
        .client
        .get(app.url(&format!("/api/v1/projects/{id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(
        public.status(),
        200,
        "public once the launch time has passed"
    );
}

#[tokio::test]
async fn the_regulator_page_lists_the_queue_and_its_forms_act() {
    let app = TestApp::spawn().await;
    let founder = app.login_as_founder().await;
    let project = app
        .create_reward_project(&founder, "Reviewed in the browser")
        .await;
    let id = project["id"].as_str().unwrap();
    app.api(Method::POST, &format!("/projects/{id}/submit"), &founder)
        .send()
        .await
        .unwrap();
    let email = "regulator-page@example.com";
    zhonglian::accounts::create_staff_user(
        &app.db,
        email,
        "Reg",
        "correct horse battery".into(),
        zhonglian::accounts::domain::Role::Regulator,
    )
    .await
    .unwrap();
    let csrf = app.csrf_from("/login").await;
    app.client
        .post(app.url("/login"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("email", email),
            ("password", "correct horse battery"),
        ])
        .send()
        .await
        .unwrap();
    // Form tokens are bound to the session, so the signed-in pages give a new one.
    let csrf = app.csrf_from("/regulator").await;
    let queue = app
        .client
        .get(app.url("/regulator"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(queue.contains("Reviewed in the browser"));
    let rejected = app
        .client
        .post(app.url(&format!("/regulator/projects/{id}/reject")))
        .form(&[("csrf", csrf.as_str()), ("reason", "Add delivery dates.")])
        .send()
        .await
        .unwrap();
    assert_eq!(rejected.status(), 303);
    let html = app
        .client
        .get(app.url(&format!("/projects/{id}")))
        .bearer_auth(&founder)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("id=\"rejection-note\"") && html.contains("Add delivery dates."),
        "the founder sees why"
    );
}
