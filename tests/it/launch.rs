//! Scheduled launch: a project approved for a later launch is live but takes no pledge, through
//! any door, until its launch time, and says when it opens.

use reqwest::Method;
use rust_decimal::Decimal;
use serde_json::{json, Value};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::support::{form_field, Backer, TestApp};
use zhonglian::pledges::PledgeRequest;
use zhonglian::projects::{ProjectId, TierId};

/// A reward project approved to launch an hour from now; returns its id, its one tier, its
/// launch time as the API writes it and the founder's token.
async fn scheduled_project(app: &TestApp) -> (ProjectId, TierId, String, String) {
    let founder = app.login_as_founder().await;
    let regulator = app.login_as_regulator().await;
    let id = app.create_reward_project(&founder, "Night Lamp").await;
    app.submit(&founder, id).await;
    let launch_at = (OffsetDateTime::now_utc() + time::Duration::hours(1))
        .format(&Rfc3339)
        .unwrap();
    let (approved, _) = app
        .post_json(
            &format!("/regulator/projects/{id}/approve"),
            &regulator,
            json!({"launch_at": launch_at}),
        )
        .await;
    assert_eq!(approved, 200);
    let (_, shown) = app.get_json(&format!("/projects/{id}"), &founder).await;
    assert_eq!(shown["project"]["state"], "live");
    let opens = shown["project"]["launched_at"].as_str().unwrap().to_owned();
    let tier: TierId = shown["tiers"][0]["id"].as_str().unwrap().parse().unwrap();
    (id, tier, opens, founder)
}

async fn pledge_via_api(
    app: &TestApp,
    backer: &Backer,
    project: ProjectId,
    tier: TierId,
) -> (u16, String) {
    let response = app
        .api(
            Method::POST,
            &format!("/projects/{project}/pledges"),
            &backer.token,
        )
        .header("accept-language", "en")
        .json(&json!({"tier_id": tier, "amount": "50.00"}))
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let body: Value = response.json().await.unwrap_or_default();
    (
        status,
        body["detail"].as_str().unwrap_or_default().to_owned(),
    )
}

async fn page(app: &TestApp, token: &str, path: &str) -> (u16, String) {
    let response = app
        .client
        .get(app.url(path))
        .bearer_auth(token)
        .header("accept-language", "en")
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

async fn pledge_via_form(
    app: &TestApp,
    backer: &Backer,
    project: ProjectId,
    tier: TierId,
) -> (u16, String) {
    let (_, wallet) = page(app, &backer.token, "/wallet").await;
    let csrf = form_field(&wallet, "csrf");
    let key = uuid::Uuid::new_v4().to_string();
    let response = app
        .client
        .post(app.url(&format!("/projects/{project}/pledge")))
        .bearer_auth(&backer.token)
        .header("accept-language", "en")
        .form(&[
            ("csrf", csrf.as_str()),
            ("key", key.as_str()),
            ("tier", &tier.to_string()),
        ])
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

#[tokio::test]
async fn a_scheduled_project_refuses_pledges_before_launch() {
    let app = TestApp::spawn().await;
    let (project, tier, opens, founder) = scheduled_project(&app).await;
    // Who may see a scheduled project (here a regulator who also backs projects) is told when
    // it opens; everyone else does not even find it.
    let insider = app.fixture_user(&["backer", "regulator"]).await;
    let outsider = app.fixture_backer().await;
    for backer in [&insider, &outsider] {
        app.fund(backer, "100.00").await;
    }

    let (status, detail) = pledge_via_api(&app, &insider, project, tier).await;
    assert_eq!(status, 409, "{detail}");
    assert!(
        detail.contains(&opens),
        "the API names the opening time: {detail}"
    );
    // The API's problems are in English; pages speak the reader's language. A client of its
    // own, since the cookie jar keeps the language of earlier answers.
    let chinese = crate::support::client()
        .get(app.url(&format!("/projects/{project}/pledge")))
        .bearer_auth(&insider.token)
        .header("accept-language", "zh-CN")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        chinese.contains("开始接受支持") && chinese.contains(&opens),
        "in Chinese too"
    );
    let (status, form) = page(&app, &insider.token, &format!("/projects/{project}/pledge")).await;
    assert_eq!(status, 200);
    assert!(
        !form.contains("id=\"pledge-form\""),
        "no pledge form before launch"
    );
    assert!(
        form.contains("id=\"not-open\"") && form.contains(&opens),
        "the form page says when"
    );
    let (status, answer) = pledge_via_form(&app, &insider, project, tier).await;
    assert_eq!(status, 409);
    assert!(
        answer.contains(&opens),
        "the refused form says when it opens"
    );
    let desk = app
        .state
        .pledge_desk
        .create(
            insider.id,
            project,
            &PledgeRequest::Reward {
                tier: Some(tier),
                amount: zhonglian::money::Money::parse("50.00").unwrap(),
            },
            None,
        )
        .await;
    let refusal = desk.expect_err("the desk refuses too");
    assert_eq!(
        zhonglian::http::error::Error::from(refusal).status_code(),
        409
    );
    let (_, own_page) = page(&app, &founder, &format!("/projects/{project}")).await;
    assert!(own_page.contains("id=\"scheduled-banner\""));
    assert!(
        !own_page.contains("id=\"back-project\""),
        "no pledge button before launch"
    );
    assert_eq!(pledge_via_api(&app, &outsider, project, tier).await.0, 404);
    assert_eq!(
        page(
            &app,
            &outsider.token,
            &format!("/projects/{project}/pledge")
        )
        .await
        .0,
        404
    );
    for backer in [&insider, &outsider] {
        assert_eq!(
            app.wallet_balance(backer).await,
            Decimal::from(100),
            "no money moved"
        );
    }

    // The launch time comes.
    sqlx::query("UPDATE projects SET launched_at = now() - interval '1 second' WHERE id = $1")
        .bind(project.0)
        .execute(&app.db)
        .await
        .unwrap();

    assert_eq!(pledge_via_api(&app, &outsider, project, tier).await.0, 201);
    let (_, form) = page(&app, &insider.token, &format!("/projects/{project}/pledge")).await;
    assert!(
        form.contains("id=\"pledge-form\""),
        "the form is offered once launched"
    );
    assert_eq!(pledge_via_form(&app, &insider, project, tier).await.0, 303);
    for backer in [&insider, &outsider] {
        assert_eq!(app.wallet_balance(backer).await, Decimal::from(50));
    }
    let (_, own_page) = page(&app, &founder, &format!("/projects/{project}")).await;
    assert!(!own_page.contains("id=\"scheduled-banner\""));
    app.assert_books_balance().await;
}
