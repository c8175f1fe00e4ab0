//! The regulator's queue and actions: recorded in the trail and anchored on the ledger.

use reqwest::Method;
use serde_json::{json, Value};

use crate::support::{in_days, strings_of, Anonymous, TestApp};

#[tokio::test]
async fn regulator_actions_are_recorded_in_the_trail_and_anchored_on_the_ledger() {
    let app = TestApp::spawn().await;
    let founder = app.login_as_founder().await;
    let regulator = app.login_as_regulator().await;
    let project = app.create_reward_project(&founder, "Supervised").await;
    let id = app.launch(&founder, &regulator, project).await;
    let (frozen, _) = app
        .regulate(&regulator, id, "freeze", "Misleading claims in the story.")
        .await;
    assert_eq!(frozen, 200);

    let (_, detail) = app.get_json(&format!("/projects/{id}"), &Anonymous).await;
    let trail = detail["supervision"].as_array().unwrap();
    assert_eq!(
        strings_of(&detail, "supervision", "action"),
        ["approve", "freeze"]
    );
    assert_eq!(trail[1]["reason"], "Misleading claims in the story.");
    assert_eq!(trail[1]["regulator_name"], "Staff");

    let (_, leaves) = app
        .get_json("/ledger/leaves?start=0&end=2", &Anonymous)
        .await;
    let kinds: Vec<&str> = leaves
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["supervision", "supervision"]);
    for entry in trail {
        let hash = entry["tx_hash"].as_str().unwrap();
        let (proof, _) = app
            .get_json(
                &format!("/ledger/proof/inclusion?tx_hash={hash}&tree_size=2"),
                &Anonymous,
            )
            .await;
        assert_eq!(proof, 200, "the trail links to a provable leaf");
    }
    let auditor = app
        .login_as_staff(zhonglian::accounts::domain::Role::Auditor)
        .await;
    let hash = trail[1]["tx_hash"].as_str().unwrap();
    let (_, entry) = app
        .get_json(&format!("/ledger/entries/{hash}"), &auditor)
        .await;
    let text = entry.to_string();
    assert!(
        text.contains("freeze")
            && text.contains("Misleading claims")
            && text.contains(&id.to_string()),
        "{text}"
    );

    let html = app.html("/projects/supervised").await;
    assert!(
        html.contains("id=\"frozen-banner\"") && html.contains("Misleading claims in the story.")
    );
    assert!(
        html.contains(&format!("/api/v1/ledger/proof/inclusion?tx_hash={hash}")),
        "the page links the proof"
    );
    let (_, browse) = app.get_json("/projects", &Anonymous).await;
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
    let id = app.create_reward_project(&founder, "Untouched").await;
    app.founder_action(&founder, id, "submit").await;
    // (action, body, status): no reason, an action that does not apply, one that does not exist.
    let refusals: [(&str, Value, u16); 3] = [
        ("reject", json!({}), 422),
        ("freeze", json!({"reason": "x"}), 409),
        ("delete", json!({"reason": "x"}), 404),
    ];
    for (action, body, status) in refusals {
        let (answer, problem) = app
            .post_json(
                &format!("/regulator/projects/{id}/{action}"),
                &regulator,
                body,
            )
            .await;
        assert_eq!(answer, status, "{action}: {problem}");
    }
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
    let id = app
        .create_reward_project(&founder, "Waiting for review")
        .await;
    app.create_reward_project(&founder, "Still a draft").await;
    app.founder_action(&founder, id, "submit").await;

    let (_, queue) = app.get_json("/regulator/queue", &regulator).await;
    let queue = queue.as_array().unwrap();
    assert_eq!(queue.len(), 1);
    assert_eq!(queue[0]["project"]["title"], "Waiting for review");
    assert_eq!(queue[0]["project"]["story"], "Our story.");
    assert_eq!(queue[0]["tiers"][0]["title"], "Thank-you card");
    let (seen, _) = app.get_json(&format!("/projects/{id}"), &regulator).await;
    assert_eq!(seen, 200, "the regulator sees a submitted project");
}

#[tokio::test]
async fn an_approval_with_a_launch_time_goes_live_only_when_it_comes() {
    let app = TestApp::spawn().await;
    let founder = app.login_as_founder().await;
    let regulator = app.login_as_regulator().await;
    let id = app.create_reward_project(&founder, "Scheduled").await;
    app.founder_action(&founder, id, "submit").await;
    let approve = format!("/regulator/projects/{id}/approve");
    let (refused, _) = app
        .post_json(&approve, &regulator, json!({"launch_at": in_days(40)}))
        .await;
    assert_eq!(refused, 422, "the deadline would come before the launch");
    let (_, approved) = app
        .post_json(&approve, &regulator, json!({"launch_at": in_days(2)}))
        .await;
    assert_eq!(approved["to_state"], "live");
    assert!(approved["launch_at"].is_string());
    let (public, _) = app.get_json(&format!("/projects/{id}"), &Anonymous).await;
    assert_eq!(public, 404, "not public before its launch time");
    let (_, browse) = app.get_json("/projects", &Anonymous).await;
    assert_eq!(browse["projects"], json!([]));
    let own = app.html_as("/projects/scheduled", &founder).await;
    assert!(own.contains("id=\"scheduled-banner\""));

    sqlx::query("UPDATE projects SET launched_at = now() - interval '1 minute' WHERE id = $1")
        .bind(id)
        .execute(&app.db)
        .await
        .unwrap();
    let (public, _) = app.get_json(&format!("/projects/{id}"), &Anonymous).await;
    assert_eq!(public, 200, "public once the launch time has passed");
}

#[tokio::test]
async fn the_regulator_page_lists_the_queue_and_its_forms_act() {
    let app = TestApp::spawn().await;
    let founder = app.login_as_founder().await;
    let id = app
        .create_reward_project(&founder, "Reviewed in the browser")
        .await;
    app.founder_action(&founder, id, "submit").await;
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
    let queue = app.html("/regulator").await;
    assert!(queue.contains("Reviewed in the browser"));
    let rejected = app
        .client
        .request(
            Method::POST,
            app.url(&format!("/regulator/projects/{id}/reject")),
        )
        .form(&[
            ("csrf", csrf.as_str()),
            ("reason", "Add delivery dates."),
            ("confirm", "yes"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(rejected.status(), 303);
    let html = app.html_as(&format!("/projects/{id}"), &founder).await;
    assert!(
        html.contains("id=\"rejection-note\"") && html.contains("Add delivery dates."),
        "the founder sees why"
    );
}
