//! A listing's life: the state machine the founder and the regulator drive, who may drive it,
//! and how fresh the public views of a project are after a decision.

use serde_json::json;

use crate::support::{assert_detail_contains, Anonymous, TestApp};

#[tokio::test]
async fn every_allowed_transition_works_and_every_other_is_refused_with_a_clear_message() {
    let app = TestApp::spawn().await;
    let founder = app.login_as_founder().await;
    let regulator = app.login_as_regulator().await;
    let id = app.create_reward_project(&founder, "Transitions").await;

    // draft: only submit (founder) and cancel are possible.
    for action in ["approve", "reject", "freeze", "unfreeze"] {
        let (status, body) = app.regulate(&regulator, id, action, "why").await;
        assert_eq!(status, 409, "{action} from draft");
        assert!(
            body["detail"].as_str().unwrap().starts_with("Only"),
            "{body}"
        );
    }
    let (status, body) = app.founder_action(&founder, id, "submit").await;
    assert_eq!(
        (status.as_u16(), body["state"].as_str()),
        (200, Some("in_review"))
    );

    // in_review: submitting again, freezing and unfreezing are refused.
    let (status, body) = app.founder_action(&founder, id, "submit").await;
    assert_eq!(status, 409);
    assert_eq!(body["detail"], "Only a draft can be submitted for review.");
    for action in ["freeze", "unfreeze"] {
        assert_eq!(
            app.regulate(&regulator, id, action, "why").await.0,
            409,
            "{action} from in_review"
        );
    }

    // in_review -> draft (reject), with a reason the founder sees.
    let (status, trail) = app
        .regulate(&regulator, id, "reject", "The risk section is missing.")
        .await;
    assert_eq!(
        (status.as_u16(), trail["to_state"].as_str()),
        (200, Some("draft"))
    );
    let (_, detail) = app.get_json(&format!("/projects/{id}"), &founder).await;
    assert_eq!(detail["project"]["state"], "draft");
    assert_eq!(
        detail["project"]["review_note"],
        "The risk section is missing."
    );

    // draft -> in_review -> live.
    assert_eq!(app.founder_action(&founder, id, "submit").await.0, 200);
    let (status, _) = app
        .regulate(&regulator, id, "approve", "Complete now.")
        .await;
    assert_eq!(status, 200);
    assert_eq!(app.project_state(&founder, id).await, "live");

    // live: approve, reject, unfreeze, submit and the founder's cancel are refused.
    for action in ["approve", "reject", "unfreeze"] {
        assert_eq!(
            app.regulate(&regulator, id, action, "why").await.0,
            409,
            "{action} from live"
        );
    }
    assert_eq!(app.founder_action(&founder, id, "submit").await.0, 409);
    let (status, body) = app.founder_action(&founder, id, "cancel").await;
    assert_eq!(status, 409);
    assert_detail_contains(&body, "before it launches");

    // live <-> frozen.
    assert_eq!(
        app.regulate(&regulator, id, "freeze", "Complaint under investigation.")
            .await
            .0,
        200
    );
    assert_eq!(app.project_state(&founder, id).await, "frozen");
    assert_eq!(app.regulate(&regulator, id, "freeze", "again").await.0, 409);
    assert_eq!(app.regulate(&regulator, id, "approve", "x").await.0, 409);
    assert_eq!(
        app.regulate(&regulator, id, "unfreeze", "Complaint resolved.")
            .await
            .0,
        200
    );
    assert_eq!(app.project_state(&founder, id).await, "live");

    // live -> cancelled by the regulator; then nothing more.
    assert_eq!(
        app.regulate(&regulator, id, "cancel", "Founder unreachable.")
            .await
            .0,
        200
    );
    assert_eq!(app.project_state(&founder, id).await, "cancelled");
    for action in ["approve", "reject", "freeze", "unfreeze", "cancel"] {
        assert_eq!(
            app.regulate(&regulator, id, action, "why").await.0,
            409,
            "{action} from cancelled"
        );
    }
    assert_eq!(app.founder_action(&founder, id, "submit").await.0, 409);

    // The founder may cancel a draft and a project in review.
    let draft = app.create_reward_project(&founder, "Withdrawn draft").await;
    assert_eq!(
        app.founder_action(&founder, draft, "cancel").await.1["state"],
        "cancelled"
    );
    let reviewed = app
        .create_reward_project(&founder, "Withdrawn in review")
        .await;
    app.founder_action(&founder, reviewed, "submit").await;
    assert_eq!(
        app.founder_action(&founder, reviewed, "cancel").await.1["state"],
        "cancelled"
    );
    // And the regulator may cancel one in review.
    let stopped = app
        .create_reward_project(&founder, "Stopped in review")
        .await;
    app.founder_action(&founder, stopped, "submit").await;
    assert_eq!(
        app.regulate(&regulator, stopped, "cancel", "Fraudulent listing.")
            .await
            .0,
        200
    );

    // Settled states are set by the settlement room; here every action on them is refused.
    for state in ["funded", "failed", "settling"] {
        let p = app
            .create_reward_project(&founder, &format!("Ended {state}"))
            .await;
        sqlx::query("UPDATE projects SET state = $1, launched_at = now() WHERE id = $2")
            .bind(state)
            .bind(p)
            .execute(&app.db)
            .await
            .unwrap();
        for action in ["approve", "reject", "freeze", "unfreeze", "cancel"] {
            assert_eq!(
                app.regulate(&regulator, p, action, "why").await.0,
                409,
                "{action} from {state}"
            );
        }
        assert_eq!(app.founder_action(&founder, p, "cancel").await.0, 409);
    }
}

#[tokio::test]
async fn only_founders_create_and_only_regulators_review() {
    let app = TestApp::spawn().await;
    let backer = app.login_as_backer().await;
    let (status, _) = app
        .post_json(
            "/projects",
            &backer,
            json!({"title": "x", "category": "art", "kind": "reward", "goal": "1", "deadline": crate::support::in_days(5)}),
        )
        .await;
    assert_eq!(status, 403);
    let (anonymous, _) = app.post_json("/projects", &Anonymous, json!({})).await;
    assert_eq!(anonymous, 401);

    let founder = app.login_as_founder().await;
    let id = app.create_reward_project(&founder, "Self approval").await;
    app.founder_action(&founder, id, "submit").await;
    assert_eq!(app.regulate(&founder, id, "approve", "mine").await.0, 403);
    let (queue, _) = app.get_json("/regulator/queue", &founder).await;
    assert_eq!(queue, 403);
    let (page, _) = app.page("/regulator").await;
    assert_eq!(page, 401);
}

#[tokio::test]
async fn anonymous_views_are_reused_while_signed_in_users_and_regulator_actions_are_fresh() {
    let app = TestApp::spawn_with(|s| s.public_view_seconds = 600).await;
    let founder = app.login_as_founder().await;
    let regulator = app.login_as_regulator().await;
    let project = app.create_reward_project(&founder, "Reused view").await;
    let id = app.launch(&founder, &regulator, project).await;
    let anonymous = || async {
        let (status, body) = app.get_json(&format!("/projects/{id}"), &Anonymous).await;
        assert_eq!(status, 200);
        body["project"].clone()
    };
    let before = anonymous().await;
    // As a pledge through another server process would.
    sqlx::query("UPDATE project_totals SET pledged_total = 123 WHERE project_id = $1")
        .bind(id)
        .execute(&app.db)
        .await
        .unwrap();

    let reused = anonymous().await;
    let (_, signed_in) = app.get_json(&format!("/projects/{id}"), &founder).await;

    assert_eq!(reused["pledged_total"], before["pledged_total"]);
    assert_eq!(signed_in["project"]["pledged_total"], "123.00");
    let by_plain_id = || async {
        let path = format!("/projects/{}", id.to_string().replace('-', ""));
        let (status, body) = app.get_json(&path, &Anonymous).await;
        assert_eq!(status, 200);
        body["project"].clone()
    };
    assert_eq!(by_plain_id().await["state"], "live");
    let (frozen, _) = app
        .regulate(&regulator, id, "freeze", "Checking the claims.")
        .await;
    assert_eq!(frozen, 200);
    let after = anonymous().await;
    assert_eq!(after["state"], "frozen");
    assert_eq!(
        by_plain_id().await["state"],
        "frozen",
        "a view kept under another spelling of the id is forgotten too"
    );
    assert_eq!(after["pledged_total"], "123.00");
}

#[tokio::test]
async fn the_openapi_document_describes_the_listing_and_regulator_routes() {
    let app = TestApp::spawn().await;
    let (_, doc) = app.get_json("/openapi.json", &Anonymous).await;
    let paths = doc["paths"].as_object().unwrap();
    for path in [
        "/api/v1/projects",
        "/api/v1/projects/{key}",
        "/api/v1/projects/{id}/submit",
        "/api/v1/projects/{id}/tiers",
        "/api/v1/projects/{id}/cover",
        "/api/v1/regulator/queue",
        "/api/v1/regulator/projects/{id}/{action}",
    ] {
        assert!(paths.contains_key(path), "{path} is missing");
    }
    assert!(
        paths["/api/v1/projects"].get("post").is_some()
            && paths["/api/v1/projects"].get("get").is_some()
    );
    assert!(paths["/api/v1/projects/{key}"].get("patch").is_some());
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    for schema in [
        "CreateProject",
        "ProjectDetail",
        "TrailEntry",
        "DecisionInput",
        "TierInput",
        "OfferingInput",
    ] {
        assert!(schemas.contains_key(schema), "{schema} is missing");
    }
}
