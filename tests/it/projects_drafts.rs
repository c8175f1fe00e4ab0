//! A founder's listing before and after launch: drafting, who may see and edit it, what stays
//! locked once it is live, slugs, the story's Markdown, and the refusals of bad input.

use serde_json::{json, Value};

use crate::support::{
    assert_detail_contains, assert_status, count_of, in_days, project_id, Anonymous, TestApp,
};

#[tokio::test]
async fn a_founder_drafts_a_reward_project_that_only_they_can_see() {
    let app = TestApp::spawn().await;
    let founder = app.login_as_founder().await;
    let project = app
        .create_reward_project_json(&founder, "Bamboo Desk Lamp")
        .await;
    assert_eq!(project["slug"], "bamboo-desk-lamp");
    assert_eq!(project["state"], "draft");
    assert_eq!(project["currency"], "CNY");

    let (own, detail) = app.get_json("/projects/bamboo-desk-lamp", &founder).await;
    assert_eq!(own, 200);
    assert_eq!(detail["tiers"][0]["remaining"], 100);

    // Nobody else sees a draft: the public, another founder, its page, the regulator.
    let other = app.login_as_founder().await;
    let regulator = app.login_as_regulator().await;
    let (anonymous, _) = app.get_json("/projects/bamboo-desk-lamp", &Anonymous).await;
    assert_eq!(anonymous, 404, "a draft is invisible to the public");
    let (theirs, _) = app.get_json("/projects/bamboo-desk-lamp", &other).await;
    assert_eq!(
        theirs, 404,
        "another founder's draft is answered as missing"
    );
    let (page, _) = app.page("/projects/bamboo-desk-lamp").await;
    assert_eq!(page, 404);
    let (before_review, _) = app.get_json("/projects/bamboo-desk-lamp", &regulator).await;
    assert_eq!(
        before_review, 404,
        "the regulator sees projects once submitted"
    );
}

#[tokio::test]
async fn a_founder_cannot_edit_another_founders_project() {
    let app = TestApp::spawn().await;
    let owner = app.login_as_founder().await;
    let intruder = app.login_as_founder().await;
    let regulator = app.login_as_regulator().await;
    let id = app.create_reward_project(&owner, "Private draft").await;
    let hijack = json!({"title": "Hijacked"});
    assert_eq!(
        app.patch_json(&format!("/projects/{id}"), &intruder, hijack.clone())
            .await
            .0,
        404,
        "drafts of others do not exist"
    );
    assert_eq!(app.founder_action(&intruder, id, "submit").await.0, 404);

    let live = app.create_reward_project(&owner, "Public project").await;
    let live_id = app.launch(&owner, &regulator, live).await;
    assert_eq!(
        app.patch_json(&format!("/projects/{live_id}"), &intruder, hijack)
            .await
            .0,
        403,
        "a public project of someone else"
    );
    let (tier, _) = app
        .post_json(
            &format!("/projects/{live_id}/tiers"),
            &intruder,
            json!({"title": "Free stuff", "price": "1.00"}),
        )
        .await;
    assert_eq!(tier, 403);
    let (_, detail) = app
        .get_json(&format!("/projects/{live_id}"), &Anonymous)
        .await;
    assert_eq!(detail["project"]["title"], "Public project");
    assert_eq!(count_of(&detail, "tiers"), 1);
}

#[tokio::test]
async fn a_live_projects_goal_is_locked_but_its_story_and_new_tiers_become_dated_revisions() {
    let app = TestApp::spawn().await;
    let founder = app.login_as_founder().await;
    let regulator = app.login_as_regulator().await;
    let id = app.create_reward_project(&founder, "Locked goal").await;
    let path = format!("/projects/{id}");

    // A draft is edited freely.
    let edited = app
        .patch_json(
            &path,
            &founder,
            json!({"goal": "20000", "title": "Locked goal, renamed", "slug": "locked-goal"}),
        )
        .await;
    assert_status(&edited, 200);
    assert_eq!(edited.1["project"]["goal"], "20000.00");
    assert_eq!(
        edited.1["revisions"],
        json!([]),
        "draft edits are not revisions"
    );

    app.launch(&founder, &regulator, id).await;
    let (status, body) = app
        .patch_json(&path, &founder, json!({"goal": "1.00"}))
        .await;
    assert_eq!(status, 422);
    assert_detail_contains(&body, "only the story");

    let (status, body) = app
        .patch_json(&path, &founder, json!({"story": "A better story."}))
        .await;
    assert_eq!(status, 200);
    assert_eq!(body["project"]["story"], "A better story.");
    assert_eq!(body["project"]["goal"], "20000.00");
    let (tier, _) = app
        .post_json(
            &format!("/projects/{id}/tiers"),
            &founder,
            json!({"title": "Early bird", "price": "88.00", "delivery_month": "2027-03", "ships": true,
                   "shipping": [{"region": "domestic", "price": "10.00"},
                                {"region": "rest_of_world", "price": "40.00"}]}),
        )
        .await;
    assert_eq!(tier, 201);

    let (_, detail) = app.get_json("/projects/locked-goal", &Anonymous).await;
    let changes: Vec<&str> = detail["revisions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["change"].as_str().unwrap())
        .collect();
    assert_eq!(changes, ["story", "tier"]);
    let html = app.html("/projects/locked-goal").await;
    assert!(
        html.contains("id=\"revisions\"") && html.contains("Early bird"),
        "the page shows the revisions"
    );
}

#[tokio::test]
async fn hostile_markdown_renders_inert() {
    let app = TestApp::spawn().await;
    let founder = app.login_as_founder().await;
    let regulator = app.login_as_regulator().await;
    let id = app.create_reward_project(&founder, "Hostile story").await;
    let story = "# Hello\n\n<script>alert('story')</script>\n\n[click](javascript:alert('link')) \
                 [site](https://example.com)\n\n<img src=x onerror=alert('img')><iframe src=\"https://evil.example\"></iframe>\n\n\
                 <a href=\"javascript:alert('raw')\">raw</a>";
    let (patched, _) = app
        .patch_json(
            &format!("/projects/{id}"),
            &founder,
            json!({ "story": story }),
        )
        .await;
    assert_eq!(patched, 200);
    app.launch(&founder, &regulator, id).await;

    let html = app.html("/projects/hostile-story").await;
    let story_html =
        &html[html.find("id=\"story\"").unwrap()..html.find("id=\"updates\"").unwrap()];
    assert!(!story_html.contains("<script"), "{story_html}");
    assert!(!story_html.contains("<iframe"), "{story_html}");
    assert!(!story_html.contains("<img"), "{story_html}");
    for tag in story_html.split("<a ").skip(1) {
        let attributes = &tag[..tag.find('>').unwrap()];
        assert!(
            !attributes.contains("javascript"),
            "a live link runs script: {attributes}"
        );
    }
    assert!(
        story_html.contains("&lt;script&gt;"),
        "raw HTML is shown as text: {story_html}"
    );
    assert!(
        story_html.contains("<a href=\"https://example.com\" rel=\"nofollow noopener\">site</a>"),
        "{story_html}"
    );
    assert!(story_html.contains("<h1>Hello</h1>"));
}

#[tokio::test]
async fn an_equity_projects_goal_is_its_minimum_raise() {
    let app = TestApp::spawn().await;
    let founder = app.login_as_founder().await;
    let project = app
        .create_equity_project_json(&founder, "Bakery shares")
        .await;
    assert_eq!(project["goal"], "50000.00");
    let id = project_id(&project);
    let (_, detail) = app.get_json(&format!("/projects/{id}"), &founder).await;
    assert_eq!(detail["offering"]["shares_left"], 20000);
    assert_eq!(detail["offering"]["security_type"], "ordinary_shares");
    let lowered = app
        .patch_json(&format!("/projects/{id}"), &founder, json!({"goal": "1"}))
        .await;
    assert_status(&lowered, 422);
    let (status, _) = app
        .post_json(
            &format!("/projects/{id}/tiers"),
            &founder,
            json!({"title": "t", "price": "1"}),
        )
        .await;
    assert_eq!(status, 422, "equity projects have no tiers");
}

#[tokio::test]
async fn slugs_are_derived_unique_and_conflicts_are_clear() {
    let app = TestApp::spawn().await;
    let founder = app.login_as_founder().await;
    let a = app.create_reward_project_json(&founder, "Same Title").await;
    let b = app.create_reward_project_json(&founder, "Same Title").await;
    assert_eq!(a["slug"], "same-title");
    assert!(
        b["slug"].as_str().unwrap().starts_with("same-title-"),
        "{b}"
    );
    let zh = app
        .create_reward_project_json(&founder, "云南古树茶园")
        .await;
    let id = project_id(&zh);
    assert_eq!(
        zh["slug"].as_str().unwrap(),
        format!("project-{}", &id.to_string().replace('-', "")[..8])
    );

    let (status, body) = app
        .patch_json(
            &format!("/projects/{id}"),
            &founder,
            json!({"slug": "same-title"}),
        )
        .await;
    assert_eq!(status, 409);
    assert_eq!(
        body["detail"],
        "Another project already uses this slug. Choose another one."
    );
    let (status, _) = app
        .patch_json(
            &format!("/projects/{id}"),
            &founder,
            json!({"slug": "Bad Slug!"}),
        )
        .await;
    assert_eq!(status, 422);
}

#[tokio::test]
async fn bad_project_input_gets_clear_client_errors() {
    let app = TestApp::spawn().await;
    let founder = app.login_as_founder().await;
    let base = json!({"title": "Valid", "category": "art", "kind": "reward", "goal": "100", "deadline": in_days(10)});
    // (field, bad value, what the detail says; `None`: any detail).
    let cases: [(&str, Value, Option<&str>); 11] = [
        ("deadline", json!(in_days(91)), Some("at most 90 days")),
        ("deadline", json!(in_days(-1)), Some("too soon")),
        ("deadline", json!("tomorrow"), Some("YYYY-MM-DD")),
        ("goal", json!("-5"), Some("funding goal")),
        ("goal", json!("1.005"), Some("funding goal")),
        ("category", json!("weapons"), Some("categories")),
        ("title", json!(""), Some("title")),
        ("currency", json!("yuan"), Some("three-letter")),
        ("slug", json!("no spaces allowed"), Some("slug")),
        ("kind", json!("loan"), None),
        // An equity project without its offering.
        ("kind", json!("equity"), None),
    ];
    for (field, value, expected) in cases {
        let mut body = base.clone();
        body[field] = value;
        let (status, problem) = app.post_json("/projects", &founder, body).await;
        assert_eq!(status, 422, "{field}: {problem}");
        if let Some(expected) = expected {
            assert!(
                problem["detail"].as_str().unwrap().contains(expected),
                "{field}: {problem}"
            );
        }
    }

    let (status, project) = app.post_json("/projects", &founder, base).await;
    assert_eq!(status, 201);
    let id = project_id(&project["project"]);
    let (status, problem) = app.founder_action(&founder, id, "submit").await;
    assert_eq!(status, 422);
    assert_eq!(
        problem["detail"],
        "Add at least one reward before submitting for review."
    );
    let (not_json, _) = app
        .send_json(
            app.request_as(reqwest::Method::PATCH, &format!("/projects/{id}"), &founder)
                .body("{")
                .header("content-type", "application/json"),
        )
        .await;
    assert_eq!(not_json, 400);
    let (missing, _) = app
        .post_empty("/projects/not-a-uuid/submit", &founder)
        .await;
    assert_eq!(missing, 404);
}

#[tokio::test]
async fn backers_only_updates_are_shown_to_the_founder_and_backers_only() {
    let app = TestApp::spawn().await;
    let founder = app.login_as_founder().await;
    let regulator = app.login_as_regulator().await;
    let project = app.create_reward_project(&founder, "Updates").await;
    let id = app.launch(&founder, &regulator, project).await;
    for (title, backers_only) in [("Public news", false), ("Secret news", true)] {
        let (posted, _) = app
            .post_json(
                &format!("/projects/{id}/updates"),
                &founder,
                json!({"title": title, "body": "**Hello**", "backers_only": backers_only}),
            )
            .await;
        assert_eq!(posted, 201);
    }
    let public = app.html("/projects/updates").await;
    assert!(public.contains("Public news") && !public.contains("Secret news"));
    let (_, own) = app.get_json(&format!("/projects/{id}"), &founder).await;
    assert_eq!(count_of(&own, "updates"), 2);

    let backer = app.fixture_backer().await;
    app.fund(&backer, "100.00").await;
    let tier = own["tiers"][0]["id"].as_str().unwrap().to_owned();
    let (pledged, _) = app
        .send_json(
            app.request_as(
                reqwest::Method::POST,
                &format!("/projects/{id}/pledges"),
                &backer,
            )
            .header("Idempotency-Key", "updates-test")
            .json(&json!({"tier_id": tier, "amount": "50.00"})),
        )
        .await;
    assert_eq!(pledged, 201);
    let (_, seen) = app.get_json(&format!("/projects/{id}"), &backer).await;
    assert_eq!(count_of(&seen, "updates"), 2, "a backer reads both");
    let stranger = app.fixture_backer().await;
    let (_, other) = app.get_json(&format!("/projects/{id}"), &stranger).await;
    assert_eq!(
        count_of(&other, "updates"),
        1,
        "a stranger reads the public one"
    );
}
