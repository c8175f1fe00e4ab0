//! Listings over real HTTP: drafting, editing, the state machine, browsing and search, covers.

use reqwest::Method;
use serde_json::{json, Value};

use crate::support::TestApp;

async fn status_and_body(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let body = response.json().await.unwrap_or(Value::Null);
    (status, body)
}

fn in_days(days: i64) -> String {
    (time::OffsetDateTime::now_utc() + time::Duration::days(days))
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap()
}

async fn act(app: &TestApp, token: &str, id: &str, action: &str, reason: &str) -> (u16, Value) {
    status_and_body(
        app.api(
            Method::POST,
            &format!("/regulator/projects/{id}/{action}"),
            token,
        )
        .json(&json!({ "reason": reason }))
        .send()
        .await
        .unwrap(),
    )
    .await
}

async fn founder_post(app: &TestApp, token: &str, id: &str, what: &str) -> (u16, Value) {
    status_and_body(
        app.api(Method::POST, &format!("/projects/{id}/{what}"), token)
            .send()
            .await
            .unwrap(),
    )
    .await
}

async fn state_of(app: &TestApp, token: &str, id: &str) -> String {
    let (_, body) = status_and_body(
        app.api(Method::GET, &format!("/projects/{id}"), token)
            .send()
            .await
            .unwrap(),
    )
    .await;
    body["project"]["state"].as_str().unwrap_or("?").to_owned()
}

#[tokio::test]
async fn a_founder_drafts_a_reward_project_that_only_they_can_see() {
    let app = TestApp::spawn().await;
    let founder = app.login_as_founder().await;
    let project = app
        .create_reward_project(&founder, "Bamboo Desk Lamp")
        .await;
    assert_eq!(project["slug"], "bamboo-desk-lamp");
    assert_eq!(project["state"], "draft");
    assert_eq!(project["currency"], "CNY");

    let own = app
        .api(Method::GET, "/projects/bamboo-desk-lamp", &founder)
        .send()
        .await
        .unwrap();
    assert_eq!(own.status(), 200);
    let detail: Value = own.json().await.unwrap();
    assert_eq!(detail["tiers"][0]["remaining"], 100);

    let anonymous = app
        .client
        .get(app.url("/api/v1/projects/bamboo-desk-lamp"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        anonymous.status(),
        404,
        "a draft is invisible to the public"
    );
    let other = app.login_as_founder().await;
    let theirs = app
        .api(Method::GET, "/projects/bamboo-desk-lamp", &other)
        .send()
        .await
        .unwrap();
    assert_eq!(
        theirs.status(),
        404,
        "another founder's draft is answered as missing"
    );
    let page = app
        .client
        .get(app.url("/projects/bamboo-desk-lamp"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 404);
    let regulator = app.login_as_regulator().await;
    let before_review = app
        .api(Method::GET, "/projects/bamboo-desk-lamp", &regulator)
        .send()
        .await
        .unwrap();
    assert_eq!(
        before_review.status(),
        404,
        "the regulator sees projects once submitted"
    );
}

#[tokio::test]
async fn every_allowed_transition_works_and_every_other_is_refused_with_a_clear_message() {
    let app = TestApp::spawn().await;
    let founder = app.login_as_founder().await;
    let regulator = app.login_as_regulator().await;
    let id = app.create_reward_project(&founder, "Transitions").await["id"]
        .as_str()
        .unwrap()
        .to_owned();

    // draft: only submit (founder) and cancel are possible.
    for action in ["approve", "reject", "freeze", "unfreeze"] {
        let (status, body) = act(&app, &regulator, &id, action, "why").await;
        assert_eq!(status, 409, "{action} from draft");
        assert!(
            body["detail"].as_str().unwrap().starts_with("Only"),
            "{body}"
        );
    }
    let (status, body) = founder_post(&app, &founder, &id, "submit").await;
    assert_eq!((status, body["state"].as_str()), (200, Some("in_review")));

    // in_review: submitting again, freezing and unfreezing are refused.
    let (status, body) = founder_post(&app, &founder, &id, "submit").await;
    assert_eq!(status, 409);
    assert_eq!(body["detail"], "Only a draft can be submitted for review.");
    for action in ["freeze", "unfreeze"] {
        assert_eq!(
            act(&app, &regulator, &id, action, "why").await.0,
            409,
            "{action} from in_review"
        );
    }

    // in_review -> draft (reject), with a reason the founder sees.
    let (status, trail) = act(
        &app,
        &regulator,
        &id,
        "reject",
        "The risk section is missing.",
    )
    .await;
    assert_eq!((status, trail["to_state"].as_str()), (200, Some("draft")));
    let (_, detail) = status_and_body(
        app.api(Method::GET, &format!("/projects/{id}"), &founder)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(detail["project"]["state"], "draft");
    assert_eq!(
        detail["project"]["review_note"],
        "The risk section is missing."
    );

    // draft -> in_review -> live.
    assert_eq!(founder_post(&app, &founder, &id, "submit").await.0, 200);
    let (status, _) = act(&app, &regulator, &id, "approve", "Complete now.").await;
    assert_eq!(status, 200);
    assert_eq!(state_of(&app, &founder, &id).await, "live");

    // live: approve, reject, unfreeze, submit and the founder's cancel are refused.
    for action in ["approve", "reject", "unfreeze"] {
        assert_eq!(
            act(&app, &regulator, &id, action, "why").await.0,
            409,
            "{action} from live"
        );
    }
    assert_eq!(founder_post(&app, &founder, &id, "submit").await.0, 409);
    let (status, body) = founder_post(&app, &founder, &id, "cancel").await;
    assert_eq!(status, 409);
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("before it launches"),
        "{body}"
    );

    // live <-> frozen.
    assert_eq!(
        act(
            &app,
            &regulator,
            &id,
            "freeze",
            "Complaint under investigation."
        )
        .await
        .0,
        200
    );
    assert_eq!(state_of(&app, &founder, &id).await, "frozen");
    assert_eq!(act(&app, &regulator, &id, "freeze", "again").await.0, 409);
    assert_eq!(act(&app, &regulator, &id, "approve", "x").await.0, 409);
    assert_eq!(
        act(&app, &regulator, &id, "unfreeze", "Complaint resolved.")
            .await
            .0,
        200
    );
    assert_eq!(state_of(&app, &founder, &id).await, "live");

    // live -> cancelled by the regulator; then nothing more.
    assert_eq!(
        act(&app, &regulator, &id, "cancel", "Founder unreachable.")
            .await
            .0,
        200
    );
    assert_eq!(state_of(&app, &founder, &id).await, "cancelled");
    for action in ["approve", "reject", "freeze", "unfreeze", "cancel"] {
        assert_eq!(
            act(&app, &regulator, &id, action, "why").await.0,
            409,
            "{action} from cancelled"
        );
    }
    assert_eq!(founder_post(&app, &founder, &id, "submit").await.0, 409);

    // The founder may cancel a draft and a project in review.
    let draft = app.create_reward_project(&founder, "Withdrawn draft").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        founder_post(&app, &founder, &draft, "cancel").await.1["state"],
        "cancelled"
    );
    let reviewed = app
        .create_reward_project(&founder, "Withdrawn in review")
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    founder_post(&app, &founder, &reviewed, "submit").await;
    assert_eq!(
        founder_post(&app, &founder, &reviewed, "cancel").await.1["state"],
        "cancelled"
    );
    // And the regulator may cancel one in review.
    let stopped = app
        .create_reward_project(&founder, "Stopped in review")
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    founder_post(&app, &founder, &stopped, "submit").await;
    assert_eq!(
        act(&app, &regulator, &stopped, "cancel", "Fraudulent listing.")
            .await
            .0,
        200
    );

    // Settled states are set by the settlement room; here every action on them is refused.
    for state in ["funded", "failed", "settling"] {
        let p = app
            .create_reward_project(&founder, &format!("Ended {state}"))
            .await["id"]
            .as_str()
            .unwrap()
            .to_owned();
        sqlx::query("UPDATE projects SET state = $1, launched_at = now() WHERE id = $2::uuid")
            .bind(state)
            .bind(&p)
            .execute(&app.db)
            .await
            .unwrap();
        for action in ["approve", "reject", "freeze", "unfreeze", "cancel"] {
            assert_eq!(
                act(&app, &regulator, &p, action, "why").await.0,
                409,
                "{action} from {state}"
            );
        }
        assert_eq!(founder_post(&app, &founder, &p, "cancel").await.0, 409);
    }
}

#[tokio::test]
async fn only_founders_create_and_only_regulators_review() {
    let app = TestApp::spawn().await;
    let backer = app.login_as_backer().await;
    let response = app
        .api(Method::POST, "/projects", &backer)
        .json(&json!({"title": "x", "category": "art", "kind": "reward", "goal": "1", "deadline": in_days(5)}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
    let anonymous = app
        .client
        .post(app.url("/api/v1/projects"))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);

    let founder = app.login_as_founder().await;
    let id = app.create_reward_project(&founder, "Self approval").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    founder_post(&app, &founder, &id, "submit").await;
    assert_eq!(act(&app, &founder, &id, "approve", "mine").await.0, 403);
    let queue = app
        .api(Method::GET, "/regulator/queue", &founder)
        .send()
        .await
        .unwrap();
    assert_eq!(queue.status(), 403);
    let page = app.client.get(app.url("/regulator")).send().await.unwrap();
    assert_eq!(page.status(), 401);
}

#[tokio::test]
async fn a_founder_cannot_edit_another_founders_project() {
    let app = TestApp::spawn().await;
    let owner = app.login_as_founder().await;
    let intruder = app.login_as_founder().await;
    let regulator = app.login_as_regulator().await;
    let draft = app.create_reward_project(&owner, "Private draft").await;
    let id = draft["id"].as_str().unwrap();
    let edit = |token: String, id: String| {
        let app = &app;
        async move {
            app.api(Method::PATCH, &format!("/projects/{id}"), &token)
                .json(&json!({"title": "Hijacked"}))
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    assert_eq!(
        edit(intruder.clone(), id.to_owned()).await,
        404,
        "drafts of others do not exist"
    );
    assert_eq!(founder_post(&app, &intruder, id, "submit").await.0, 404);

    let live = app.create_reward_project(&owner, "Public project").await;
    let live_id = app.launch(&owner, &regulator, &live).await;
    assert_eq!(
        edit(intruder.clone(), live_id.clone()).await,
        403,
        "a public project of someone else"
    );
    let tier = app
        .api(
            Method::POST,
            &format!("/projects/{live_id}/tiers"),
            &intruder,
        )
        .json(&json!({"title": "Free stuff", "price": "1.00"}))
        .send()
        .await
        .unwrap();
    assert_eq!(tier.status(), 403);
    let (_, detail) = status_and_body(
        app.client
            .get(app.url(&format!("/api/v1/projects/{live_id}")))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(detail["project"]["title"], "Public project");
    assert_eq!(detail["tiers"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn a_live_projects_goal_is_locked_but_its_story_and_new_tiers_become_dated_revisions() {
    let app = TestApp::spawn().await;
    let founder = app.login_as_founder().await;
    let regulator = app.login_as_regulator().await;
    let project = app.create_reward_project(&founder, "Locked goal").await;
    let id = project["id"].as_str().unwrap().to_owned();

    // A draft is edited freely.
    let (status, body) = status_and_body(
        app.api(Method::PATCH, &format!("/projects/{id}"), &founder)
            .json(&json!({"goal": "20000", "title": "Locked goal, renamed", "slug": "locked-goal"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["project"]["goal"], "20000.00");
    assert_eq!(
        body["revisions"],
        json!([]),
        "draft edits are not revisions"
    );

    app.launch(&founder, &regulator, &project).await;
    let (status, body) = status_and_body(
        app.api(Method::PATCH, &format!("/projects/{id}"), &founder)
            .json(&json!({"goal": "1.00"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 422);
    assert!(
        body["detail"].as_str().unwrap().contains("only the story"),
        "{body}"
    );

    let (status, body) = status_and_body(
        app.api(Method::PATCH, &format!("/projects/{id}"), &founder)
            .json(&json!({"story": "A better story."}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(body["project"]["story"], "A better story.");
    assert_eq!(body["project"]["goal"], "20000.00");
    let tier = app
        .api(Method::POST, &format!("/projects/{id}/tiers"), &founder)
        .json(&json!({"title": "Early bird", "price": "88.00", "delivery_month": "2027-03", "ships": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(tier.status(), 201);

    let (_, detail) = status_and_body(
        app.client
            .get(app.url("/api/v1/projects/locked-goal"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let changes: Vec<&str> = detail["revisions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["change"].as_str().unwrap())
        .collect();
    assert_eq!(changes, ["story", "tier"]);
    let html = app
        .client
        .get(app.url("/projects/locked-goal"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
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
    let project = app.create_reward_project(&founder, "Hostile story").await;
    let id = project["id"].as_str().unwrap().to_owned();
    let story = "# Hello\n\n<script>alert('story')</script>\n\n[click](javascript:alert('link')) \
                 [site](https://example.com)\n\n<img src=x onerror=alert('img')><iframe src=\"https://evil.example\"></iframe>\n\n\
                 <a href=\"javascript:alert('raw')\">raw</a>";
    let patched = app
        .api(Method::PATCH, &format!("/projects/{id}"), &founder)
        .json(&json!({ "story": story }))
        .send()
        .await
        .unwrap();
    assert_eq!(patched.status(), 200);
    app.launch(&founder, &regulator, &project).await;

    let html = app
        .client
        .get(app.url("/projects/hostile-story"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
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

fn png(len: usize) -> Vec<u8> {
    let mut bytes = b"\x89PNG\r\n\x1a\n".to_vec();
    bytes.resize(len, 0);
    bytes
}

async fn upload(app: &TestApp, token: &str, id: &str, bytes: Vec<u8>) -> reqwest::Response {
    let form = reqwest::multipart::Form::new().part(
        "cover",
        reqwest::multipart::Part::bytes(bytes)
            .file_name("cover.png")
            .mime_str("image/png")
            .unwrap(),
    );
    app.api(Method::PUT, &format!("/projects/{id}/cover"), token)
        .multipart(form)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_cover_that_is_not_an_image_or_is_too_large_is_refused() {
    let app = TestApp::spawn().await;
    let founder = app.login_as_founder().await;
    let project = app.create_reward_project(&founder, "Covered").await;
    let id = project["id"].as_str().unwrap();

    let (status, body) =
        status_and_body(upload(&app, &founder, id, b"<svg onload=alert(1)></svg>".to_vec()).await)
            .await;
    assert_eq!(status, 422);
    assert_eq!(
        body["detail"],
        "The cover must be a PNG, JPEG, WebP or GIF image."
    );
    let too_large = upload(&app, &founder, id, png(2 * 1024 * 1024 + 1)).await;
    assert_eq!(too_large.status(), 413);
    let far_too_large = upload(&app, &founder, id, png(5 * 1024 * 1024)).await;
    assert_eq!(far_too_large.status(), 413);

    let ok = upload(&app, &founder, id, png(1500 * 1024)).await;
    assert_eq!(
        ok.status(),
        204,
        "a 1.5 MiB PNG fits, above the global body limit"
    );
    let served = app
        .client
        .get(app.url(&format!("/projects/{id}/cover")))
        .bearer_auth(&founder)
        .send()
        .await
        .unwrap();
    assert_eq!(served.status(), 200);
    assert_eq!(served.headers()["content-type"], "image/png");
    assert_eq!(served.bytes().await.unwrap().len(), 1500 * 1024);
    let public = app
        .client
        .get(app.url(&format!("/projects/{id}/cover")))
        .send()
        .await
        .unwrap();
    assert_eq!(
        public.status(),
        404,
        "a draft's cover is as private as the draft"
    );
    let other = app.login_as_founder().await;
    assert_eq!(upload(&app, &other, id, png(100)).await.status(), 404);
}

#[tokio::test]
async fn search_finds_chinese_and_english_titles() {
    let app = TestApp::spawn().await;
    let founder = app.login_as_founder().await;
    let regulator = app.login_as_regulator().await;
    for title in [
        "云南古树茶园",
        "Solar Lantern for Rural Schools",
        "Bamboo Bicycle 竹制自行车",
        "古籍修复工作室",
    ] {
        let project = app.create_reward_project(&founder, title).await;
        app.launch(&founder, &regulator, &project).await;
    }
    app.create_reward_project(&founder, "Solar draft never submitted")
        .await;

    let titles = |q: &str| {
        let app = &app;
        let q = q.to_owned();
        async move {
            let response = app
                .client
                .get(app.url("/api/v1/projects"))
                .query(&[("q", q.as_str())])
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 200);
            let body: Value = response.json().await.unwrap();
            let mut titles: Vec<String> = body["projects"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p["title"].as_str().unwrap().to_owned())
                .collect();
            titles.sort();
            titles
        }
    };
    assert_eq!(titles("古树").await, ["云南古树茶园"]);
    assert_eq!(titles("茶园").await, ["云南古树茶园"]);
    assert_eq!(titles("古").await, ["云南古树茶园", "古籍修复工作室"]);
    assert_eq!(titles("自行车").await, ["Bamboo Bicycle 竹制自行车"]);
    assert_eq!(
        titles("solar").await,
        ["Solar Lantern for Rural Schools"],
        "drafts are never found"
    );
    assert_eq!(
        titles("LANT").await,
        ["Solar Lantern for Rural Schools"],
        "words match by prefix"
    );
    assert_eq!(titles("bamboo 自行车").await, ["Bamboo Bicycle 竹制自行车"]);
    assert!(
        titles("树古").await.is_empty(),
        "bigrams keep the order of the characters"
    );
    assert_eq!(
        titles("schools").await,
        ["Solar Lantern for Rural Schools"],
        "the summary is searched too"
    );

    let html = app
        .client
        .get(app.url("/projects?q=%E5%8F%A4%E6%A0%91"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("云南古树茶园") && !html.contains("Solar Lantern"));
}

#[tokio::test]
async fn browsing_filters_sorts_and_pages_live_projects() {
    let app = TestApp::spawn().await;
    let founder = app.login_as_founder().await;
    let regulator = app.login_as_regulator().await;
    for i in 0..14 {
        let project = app
            .create_reward_project(&founder, &format!("Project number {i}"))
            .await;
        app.launch(&founder, &regulator, &project).await;
    }
    let equity = create_equity(&app, &founder, "Equity in a bakery").await;
    app.launch(&founder, &regulator, &equity).await;
    sqlx::query(
        "UPDATE project_totals t SET pledged_total = CASE p.title
             WHEN 'Project number 3' THEN 9000
             ELSE 10 * coalesce(substring(p.title FROM 'Project number (\\d+)')::int, 0) END
         FROM projects p WHERE p.id = t.project_id",
    )
    .execute(&app.db)
    .await
    .unwrap();

    let get = |query: &'static str| {
        let app = &app;
        async move {
            status_and_body(
                app.client
                    .get(app.url(&format!("/api/v1/projects?{query}")))
                    .send()
                    .await
                    .unwrap(),
            )
            .await
        }
    };
    let titles = |page: &Value| -> Vec<String> {
        page["projects"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["title"].as_str().unwrap().to_owned())
            .collect()
    };
    let numbered = |numbers: &[u32]| -> Vec<String> {
        numbers
            .iter()
            .map(|n| format!("Project number {n}"))
            .collect()
    };
    let (_, first) = get("").await;
    assert_eq!(first["has_more"], true);
    assert_eq!(
        titles(&first),
        [
            vec!["Equity in a bakery".to_owned()],
            numbered(&[13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3])
        ]
        .concat(),
        "newest first"
    );
    let (_, second) = get("page=2").await;
    assert_eq!(second["projects"].as_array().unwrap().len(), 3);
    assert_eq!(second["has_more"], false);
    let (_, equities) = get("kind=equity").await;
    assert_eq!(equities["projects"].as_array().unwrap().len(), 1);
    let (_, finance) = get("category=food").await;
    assert_eq!(finance["projects"].as_array().unwrap().len(), 1);
    let (_, funded) = get("sort=funded").await;
    assert_eq!(
        titles(&funded),
        numbered(&[3, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 2])
    );
    let (_, ending) = get("sort=ending&kind=reward").await;
    assert_eq!(
        titles(&ending),
        numbered(&[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11])
    );
    let (_, searched) = get("q=project&sort=funded&page=2").await;
    assert_eq!(
        titles(&searched),
        numbered(&[1, 0]),
        "a search pages in the order asked for"
    );

    for bad in [
        "sort=random",
        "kind=loan",
        "page=0",
        "page=x",
        "category=weapons",
        "state=draft",
    ] {
        let (status, body) = get(bad).await;
        assert_eq!(status, 400, "{bad}");
        assert!(body["detail"].as_str().is_some(), "{bad}: {body}");
    }
    let html = app
        .client
        .get(app.url("/projects?page=2"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("rel=\"prev\"") && !html.contains("rel=\"next\""));
    let home = app
        .client
        .get(app.url("/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(home.contains("Equity in a bakery") && home.contains("id=\"ledger-size\""));
}

async fn create_equity(app: &TestApp, token: &str, title: &str) -> Value {
    let (status, body) = status_and_body(
        app.api(Method::POST, "/projects", token)
            .json(&json!({
                "title": title, "summary": "Shares in our bakery", "category": "food", "kind": "equity",
                "deadline": in_days(60),
                "offering": {"price_per_share": "12.50", "min_shares": 4000, "max_shares": 20000,
                             "min_shares_per_investor": 10, "pre_money_valuation": "5000000",
                             "security_type": "ordinary_shares", "risk_warning": "You may lose all of it."}
            }))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    body["project"].clone()
}

#[tokio::test]
async fn an_equity_projects_goal_is_its_minimum_raise() {
    let app = TestApp::spawn().await;
    let founder = app.login_as_founder().await;
    let project = create_equity(&app, &founder, "Bakery shares").await;
    assert_eq!(project["goal"], "50000.00");
    let id = project["id"].as_str().unwrap();
    let (_, detail) = status_and_body(
        app.api(Method::GET, &format!("/projects/{id}"), &founder)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(detail["offering"]["shares_left"], 20000);
    assert_eq!(detail["offering"]["security_type"], "ordinary_shares");
    let (status, body) = status_and_body(
        app.api(Method::PATCH, &format!("/projects/{id}"), &founder)
            .json(&json!({"goal": "1"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 422, "{body}");
    let (status, _) = status_and_body(
        app.api(Method::POST, &format!("/projects/{id}/tiers"), &founder)
            .json(&json!({"title": "t", "price": "1"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 422, "equity projects have no tiers");
}

#[tokio::test]
async fn slugs_are_derived_unique_and_conflicts_are_clear() {
    let app = TestApp::spawn().await;
    let founder = app.login_as_founder().await;
    let a = app.create_reward_project(&founder, "Same Title").await;
    let b = app.create_reward_project(&founder, "Same Title").await;
    assert_eq!(a["slug"], "same-title");
    assert!(
        b["slug"].as_str().unwrap().starts_with("same-title-"),
        "{b}"
    );
    let zh = app.create_reward_project(&founder, "云南古树茶园").await;
    let id = zh["id"].as_str().unwrap();
    assert_eq!(
        zh["slug"].as_str().unwrap(),
        format!("project-{}", &id.replace('-', "")[..8])
    );

    let (status, body) = status_and_body(
        app.api(Method::PATCH, &format!("/projects/{id}"), &founder)
            .json(&json!({"slug": "same-title"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 409);
    assert_eq!(
        body["detail"],
        "Another project already uses this slug. Choose another one."
    );
    let (status, _) = status_and_body(
        app.api(Method::PATCH, &format!("/projects/{id}"), &founder)
            .json(&json!({"slug": "Bad Slug!"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 422);
}

#[tokio::test]
async fn bad_project_input_gets_clear_client_errors() {
    let app = TestApp::spawn().await;
    let founder = app.login_as_founder().await;
    let base = json!({"title": "Valid", "category": "art", "kind": "reward", "goal": "100", "deadline": in_days(10)});
    let cases = [
        ("deadline", json!(in_days(91)), "at most 90 days"),
        ("deadline", json!(in_days(-1)), "too soon"),
        ("deadline", json!("tomorrow"), "YYYY-MM-DD"),
        ("goal", json!("-5"), "funding goal"),
        ("goal", json!("1.005"), "funding goal"),
        ("category", json!("weapons"), "categories"),
        ("title", json!(""), "title"),
        ("currency", json!("yuan"), "three-letter"),
        ("slug", json!("no spaces allowed"), "slug"),
    ];
    for (field, value, expected) in cases {
        let mut body = base.clone();
        body[field] = value;
        let (status, problem) = status_and_body(
            app.api(Method::POST, "/projects", &founder)
                .json(&body)
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(status, 422, "{field}: {problem}");
        assert!(
            problem["detail"].as_str().unwrap().contains(expected),
            "{field}: {problem}"
        );
    }
    let mut wrong_kind = base.clone();
    wrong_kind["kind"] = json!("loan");
    let (status, _) = status_and_body(
        app.api(Method::POST, "/projects", &founder)
            .json(&wrong_kind)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 422);
    let mut equity_without_offering = base.clone();
    equity_without_offering["kind"] = json!("equity");
    let (status, problem) = status_and_body(
        app.api(Method::POST, "/projects", &founder)
            .json(&equity_without_offering)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 422, "{problem}");

    let (status, project) = status_and_body(
        app.api(Method::POST, "/projects", &founder)
            .json(&base)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 201);
    let id = project["project"]["id"].as_str().unwrap();
    let (status, problem) = founder_post(&app, &founder, id, "submit").await;
    assert_eq!(status, 422);
    assert_eq!(
        problem["detail"],
        "Add at least one reward before submitting for review."
    );
    let not_json = app
        .api(Method::PATCH, &format!("/projects/{id}"), &founder)
        .body("{")
        .header("content-type", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(not_json.status(), 400);
    let missing = app
        .api(Method::POST, "/projects/not-a-uuid/submit", &founder)
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
}

#[tokio::test]
async fn backers_only_updates_are_shown_to_the_founder_and_backers_only() {
    let app = TestApp::spawn().await;
    let founder = app.login_as_founder().await;
    let regulator = app.login_as_regulator().await;
    let project = app.create_reward_project(&founder, "Updates").await;
    let id = app.launch(&founder, &regulator, &project).await;
    for (title, backers_only) in [("Public news", false), ("Secret news", true)] {
        let posted = app
            .api(Method::POST, &format!("/projects/{id}/updates"), &founder)
            .json(&json!({"title": title, "body": "**Hello**", "backers_only": backers_only}))
            .send()
            .await
            .unwrap();
        assert_eq!(posted.status(), 201);
    }
    let public = app
        .client
        .get(app.url("/projects/updates"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(public.contains("Public news") && !public.contains("Secret news"));
    let (_, own) = status_and_body(
        app.api(Method::GET, &format!("/projects/{id}"), &founder)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(own["updates"].as_array().unwrap().len(), 2);

    let backer = app.fixture_backer().await;
    app.fund(&backer, "100.00").await;
    let tier = own["tiers"][0]["id"].as_str().unwrap().to_owned();
    let pledged = app
        .api(
            Method::POST,
            &format!("/projects/{id}/pledges"),
            &backer.token,
        )
        .header("Idempotency-Key", "updates-test")
        .json(&json!({"tier_id": tier, "amount": "50.00"}))
        .send()
        .await
        .unwrap();
    assert_eq!(pledged.status(), 201);
    let (_, seen) = status_and_body(
        app.api(Method::GET, &format!("/projects/{id}"), &backer.token)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        seen["updates"].as_array().unwrap().len(),
        2,
        "a backer reads both"
    );
    let stranger = app.fixture_backer().await;
    let (_, other) = status_and_body(
        app.api(Method::GET, &format!("/projects/{id}"), &stranger.token)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        other["updates"].as_array().unwrap().len(),
        1,
        "a stranger reads the public one"
    );
}

#[tokio::test]
async fn a_founder_uses_the_html_forms_with_csrf() {
    let app = TestApp::spawn().await;
    let email = "forms@example.com";
    app.signup(email, "founder").await;
    let csrf = app.csrf_from("/login").await;
    let login = app
        .client
        .post(app.url("/login"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("email", email),
            ("password", "correct horse battery"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 303);
    let csrf = app.csrf_from("/founder/projects/new").await;
    let deadline = (time::OffsetDateTime::now_utc() + time::Duration::days(20))
        .date()
        .to_string();
    let form = [
        ("csrf", csrf.as_str()),
        ("kind", "reward"),
        ("title", "表单项目 Form project"),
        ("summary", "s"),
        ("story", "story"),
        ("category", "music"),
        ("deadline", deadline.as_str()),
        ("goal", "5,000"),
        ("currency", "CNY"),
    ];
    let created = app
        .client
        .post(app.url("/founder/projects"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 303);
    let location = created.headers()["location"].to_str().unwrap().to_owned();
    let tier = app
        .client
        .post(app.url(&format!("{location}/tiers")))
        .form(&[
            ("csrf", csrf.as_str()),
            ("title", "Vinyl"),
            ("price", "abc"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(tier.status(), 422, "a bad price re-renders the form");
    assert!(tier.text().await.unwrap().contains("id=\"form-error\""));
    let forged = app
        .client
        .post(app.url(&format!("{location}/submit")))
        .form(&[("csrf", "0".repeat(64))])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 403);
    let cover = reqwest::multipart::Form::new()
        .text("csrf", "f".repeat(64))
        .part(
            "cover",
            reqwest::multipart::Part::bytes(png(100)).file_name("c.png"),
        );
    let forged_cover = app
        .client
        .post(app.url(&format!("{location}/cover")))
        .multipart(cover)
        .send()
        .await
        .unwrap();
    assert_eq!(
        forged_cover.status(),
        403,
        "the multipart upload checks the CSRF token too"
    );
    let cover = reqwest::multipart::Form::new()
        .text("csrf", csrf.clone())
        .part(
            "cover",
            reqwest::multipart::Part::bytes(png(100)).file_name("c.png"),
        );
    let uploaded = app
        .client
        .post(app.url(&format!("{location}/cover")))
        .multipart(cover)
        .send()
        .await
        .unwrap();
    assert_eq!(uploaded.status(), 303);
    let dashboard = app
        .client
        .get(app.url("/founder"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(dashboard.contains("表单项目 Form project"));
}

#[tokio::test]
async fn the_demo_catalogue_has_projects_in_both_languages_in_every_state() {
    let app = TestApp::spawn().await;
    zhonglian::demo::load(&app.state).await.unwrap();
    // The demo's ended campaigns are settled by the worker, as `serve` does at start-up.
    let settled = zhonglian::settlement::Settler::new(&app.state)
        .settle_due(&|_| {})
        .await
        .unwrap();
    assert_eq!(
        settled.len(),
        3,
        "one funded, one failed, and the one the regulator cancelled after launch"
    );
    let receipts: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM settlement_transactions WHERE pledge_id IS NOT NULL",
    )
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert!(receipts >= 2, "the demo backers have real receipts");
    let states: Vec<(String, i64)> =
        sqlx::query_as("SELECT state, count(*) FROM projects GROUP BY state ORDER BY state")
            .fetch_all(&app.db)
            .await
            .unwrap();
    let states: std::collections::HashMap<String, i64> = states.into_iter().collect();
    for state in [
        "draft",
        "in_review",
        "live",
        "frozen",
        "cancelled",
        "funded",
        "failed",
    ] {
        assert!(
            states.get(state).copied().unwrap_or(0) >= 1,
            "{state}: {states:?}"
        );
    }
    assert!(states.values().sum::<i64>() >= 12);
    let kinds: i64 = sqlx::query_scalar("SELECT count(DISTINCT kind) FROM projects")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(kinds, 2);
    let trail: i64 = sqlx::query_scalar("SELECT count(*) FROM supervision_actions")
        .fetch_one(&app.db)
        .await
        .unwrap();
    let anchored: i64 =
        sqlx::query_scalar("SELECT count(*) FROM ledger_leaves WHERE kind = 'supervision'")
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert!(
        trail >= 10 && anchored == trail,
        "trail {trail}, ledger {anchored}"
    );

    let home = app
        .client
        .get(app.url("/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(home.contains("云南古树普洱茶园") && home.contains("Solar Lantern for Rural Schools"));
    let funded = app
        .client
        .get(app.url("/projects?state=funded"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(funded.contains("景德镇柴窑工作室"));
}

#[tokio::test]
async fn the_openapi_document_describes_the_listing_and_regulator_routes() {
    let app = TestApp::spawn().await;
    let doc: Value = app
        .client
        .get(app.url("/api/v1/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
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

#[tokio::test]
async fn a_cover_can_be_changed_only_while_the_project_is_a_draft() {
    let app = TestApp::spawn().await;
    let founder = app.login_as_founder().await;
    let regulator = app.login_as_regulator().await;
    let project = app.create_reward_project(&founder, "Fixed cover").await;
    let id = project["id"].as_str().unwrap().to_owned();
    assert_eq!(upload(&app, &founder, &id, png(64)).await.status(), 204);
    app.launch(&founder, &regulator, &project).await;
    let (status, body) = status_and_body(upload(&app, &founder, &id, png(64)).await).await;
    assert_eq!(status, 409, "{body}");
    let public = app
        .client
        .get(app.url(&format!("/projects/{id}/cover")))
        .send()
        .await
        .unwrap();
    assert_eq!(public.status(), 200, "a live project's cover is public");
    assert_eq!(public.headers()["content-type"], "image/png");
}

#[tokio::test]
async fn anonymous_views_are_reused_while_signed_in_users_and_regulator_actions_are_fresh() {
    let app = TestApp::spawn_with(|s| s.public_view_seconds = 600).await;
    let founder = app.login_as_founder().await;
    let regulator = app.login_as_regulator().await;
    let project = app.create_reward_project(&founder, "Reused view").await;
    let id = app.launch(&founder, &regulator, &project).await;
    let anonymous = || async {
        let (status, body) = status_and_body(
            app.client
                .get(app.url(&format!("/api/v1/projects/{id}")))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(status, 200);
        body["project"].clone()
    };
    let before = anonymous().await;
    // As a pledge through another server process would.
    sqlx::query("UPDATE project_totals SET pledged_total = 123 WHERE project_id = $1::uuid")
        .bind(&id)
        .execute(&app.db)
        .await
        .unwrap();

    let reused = anonymous().await;
    let (_, signed_in) = status_and_body(
        app.api(Method::GET, &format!("/projects/{id}"), &founder)
            .send()
            .await
            .unwrap(),
    )
    .await;

    assert_eq!(reused["pledged_total"], before["pledged_total"]);
    assert_eq!(signed_in["project"]["pledged_total"], "123.00");
    let by_plain_id = || async {
        let path = format!("/api/v1/projects/{}", id.replace('-', ""));
        let (status, body) =
            status_and_body(app.client.get(app.url(&path)).send().await.unwrap()).await;
        assert_eq!(status, 200);
        body["project"].clone()
    };
    assert_eq!(by_plain_id().await["state"], "live");
    let (frozen, _) = act(&app, &regulator, &id, "freeze", "Checking the claims.").await;
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
