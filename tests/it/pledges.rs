//! Pledging: money moves with the pledge, capacity is never oversold, windows and idempotency.

use std::sync::Arc;

use rust_decimal::Decimal;
use zhonglian::money::Money;
use zhonglian::pledges::{self, PledgeRequest};

use crate::support::TestApp;

fn reward(tier: Option<zhonglian::projects::TierId>, amount: &str) -> PledgeRequest {
    PledgeRequest::Reward {
        tier,
        amount: Money::parse(amount).unwrap(),
    }
}

#[tokio::test]
async fn a_reward_pledge_moves_its_amount_from_the_wallet_to_escrow() {
    let app = TestApp::spawn().await;
    let (project, tiers) = app.live_reward_project(&[("50.00", Some(10))]).await;
    let backer = app.fixture_backer().await;
    app.fund(&backer, "100.00").await;

    let created = app
        .state
        .pledge_desk
        .create(backer.id, project, &reward(Some(tiers[0]), "60.00"), None)
        .await
        .unwrap();

    assert_eq!(created.pledge.amount, Decimal::new(6000, 2));
    assert_eq!(app.wallet_balance(&backer).await, Decimal::new(4000, 2));
    assert_eq!(app.escrow_balance(project).await, Decimal::new(6000, 2));
    app.assert_books_balance().await;
}

#[tokio::test]
async fn concurrent_pledges_never_oversell_a_limited_tier_when_called_directly() {
    let app = Arc::new(TestApp::spawn().await);
    let (project, tiers) = app.live_reward_project(&[("10.00", Some(5))]).await;
    let mut tasks = Vec::new();
    for _ in 0..40 {
        let backer = app.fixture_backer().await;
        app.fund(&backer, "10.00").await;
        let app = app.clone();
        let tier = tiers[0];
        tasks.push(tokio::spawn(async move {
            app.state
                .pledge_desk
                .create(backer.id, project, &reward(Some(tier), "10.00"), None)
                .await
        }));
    }
    let mut ok = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(_) => ok += 1,
            Err(e) => assert_eq!(e.status_code(), 409, "{e}"),
        }
    }
    assert_eq!(ok, 5);
    assert_eq!(app.escrow_balance(project).await, Decimal::new(5000, 2));
    app.assert_books_balance().await;
}

#[tokio::test]
async fn a_frozen_project_refuses_pledges_and_moves_no_money() {
    let app = TestApp::spawn().await;
    let (project, _) = app.live_reward_project(&[("50.00", None)]).await;
    app.set_project(project, "frozen", time::Duration::days(3))
        .await;
    let backer = app.fixture_backer().await;
    app.fund(&backer, "100.00").await;

    let refused = app
        .state
        .pledge_desk
        .create(backer.id, project, &reward(None, "20.00"), None)
        .await;

    assert_eq!(refused.unwrap_err().status_code(), 409);
    assert_eq!(app.wallet_balance(&backer).await, Decimal::new(10000, 2));
    app.assert_books_balance().await;
}

#[tokio::test]
async fn an_equity_commitment_costs_shares_times_price() {
    let app = TestApp::spawn().await;
    let project = app
        .live_equity_project("12.50", (10, 1000), 4, 200, time::Duration::days(10))
        .await;
    let investor = app.fixture_backer().await;
    app.fund(&investor, "1000.00").await;
    let request = PledgeRequest::Equity(pledges::EquityRequest {
        shares: pledges::limits::Shares::new(8).unwrap(),
        risk_acknowledged: true,
        declaration: Some((Decimal::from(60_000), Decimal::from(40_000))),
    });

    let created = app
        .state
        .pledge_desk
        .create(investor.id, project, &request, None)
        .await
        .unwrap();

    assert_eq!(created.pledge.amount, Decimal::new(10000, 2));
    assert_eq!(created.pledge.shares, Some(8));
    assert_eq!(app.escrow_balance(project).await, Decimal::new(10000, 2));
    app.assert_books_balance().await;
}

async fn pledge_via_api(
    app: &TestApp,
    token: &str,
    project: zhonglian::projects::ProjectId,
    body: serde_json::Value,
    key: Option<&str>,
) -> reqwest::Response {
    let mut request = app
        .client
        .post(app.url(&format!("/api/v1/projects/{project}/pledges")))
        .bearer_auth(token)
        .json(&body);
    if let Some(key) = key {
        request = request.header("idempotency-key", key);
    }
    request.send().await.unwrap()
}

/// `n` funded fixture backers, made a few at a time.
async fn funded_backers(app: &Arc<TestApp>, n: usize, amount: &str) -> Vec<crate::support::Backer> {
    let mut out = Vec::with_capacity(n);
    for chunk in (0..n).collect::<Vec<_>>().chunks(16) {
        let mut tasks = Vec::new();
        for _ in chunk {
            let app = app.clone();
            let amount = amount.to_owned();
            tasks.push(tokio::spawn(async move {
                let backer = app.fixture_backer().await;
                app.fund(&backer, &amount).await;
                backer
            }));
        }
        for task in tasks {
            out.push(task.await.unwrap());
        }
    }
    out
}

async fn detail(response: reqwest::Response) -> (u16, String) {
    let status = response.status().as_u16();
    let body: serde_json::Value = response.json().await.unwrap_or_default();
    (status, body["detail"].as_str().unwrap_or("").to_owned())
}

#[tokio::test]
async fn a_thousand_concurrent_pledges_against_a_hundred_unit_tier_sell_exactly_a_hundred() {
    // Room for the whole burst: this is about overselling, not about the desk shedding load.
    let app = Arc::new(
        TestApp::spawn_with(|settings| {
            settings.pledge_queue_limit = 1_000;
            settings.pledge_wait_seconds = 25;
        })
        .await,
    );
    let (project, tiers) = app.live_reward_project(&[("25.00", Some(100))]).await;
    let backers = funded_backers(&app, 1000, "25.00").await;

    let mut tasks = Vec::new();
    for backer in backers {
        let app = app.clone();
        let tier = tiers[0];
        tasks.push(tokio::spawn(async move {
            let body = serde_json::json!({"tier_id": tier, "amount": "25.00"});
            detail(pledge_via_api(&app, &backer.token, project, body, None).await).await
        }));
    }
    let mut succeeded = 0;
    let mut sold_out = 0;
    for task in tasks {
        match task.await.unwrap() {
            (201, _) => succeeded += 1,
            (409, detail) if detail.contains("sold out") => sold_out += 1,
            other => panic!("unexpected answer {other:?}"),
        }
    }

    assert_eq!(succeeded, 100);
    assert_eq!(sold_out, 900);
    assert_eq!(
        app.escrow_balance(project).await,
        Decimal::new(2500 * 100, 2)
    );
    let claimed: i32 = sqlx::query_scalar("SELECT claimed FROM reward_tiers WHERE id = $1")
        .bind(tiers[0].0)
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(claimed, 100);
    app.assert_books_balance().await;
}

#[tokio::test]
async fn fifty_concurrent_repeats_of_one_idempotency_key_make_one_pledge() {
    let app = Arc::new(TestApp::spawn().await);
    let (project, tiers) = app.live_reward_project(&[("30.00", None)]).await;
    let backer = app.fixture_backer().await;
    app.fund(&backer, "100.00").await;
    let body = serde_json::json!({"tier_id": tiers[0], "amount": "30.00"});

    let mut tasks = Vec::new();
    for _ in 0..50 {
        let (app, token, body) = (app.clone(), backer.token.clone(), body.clone());
        tasks.push(tokio::spawn(async move {
            let response = pledge_via_api(&app, &token, project, body, Some("order-7f3a")).await;
            assert_eq!(response.status(), 201);
            let pledge: serde_json::Value = response.json().await.unwrap();
            pledge["id"].as_str().unwrap().to_owned()
        }));
    }
    let mut ids = std::collections::HashSet::new();
    for task in tasks {
        ids.insert(task.await.unwrap());
    }

    assert_eq!(ids.len(), 1, "every repeat answers with the same pledge");
    assert_eq!(app.wallet_balance(&backer).await, Decimal::new(7000, 2));
    let different = pledge_via_api(
        &app,
        &backer.token,
        project,
        serde_json::json!({"tier_id": tiers[0], "amount": "31.00"}),
        Some("order-7f3a"),
    )
    .await;
    assert_eq!(different.status(), 422, "same key, different body");
    app.assert_books_balance().await;
}

#[tokio::test]
async fn a_wallet_with_money_for_three_pledges_makes_exactly_three_of_twenty_concurrent_ones() {
    let app = Arc::new(TestApp::spawn().await);
    let backer = app.fixture_backer().await;
    app.fund(&backer, "30.00").await;
    let mut projects = Vec::new();
    for _ in 0..20 {
        projects.push(app.live_reward_project(&[]).await.0);
    }

    let mut tasks = Vec::new();
    for project in projects {
        let (app, token) = (app.clone(), backer.token.clone());
        tasks.push(tokio::spawn(async move {
            let body = serde_json::json!({"amount": "10.00"});
            detail(pledge_via_api(&app, &token, project, body, None).await).await
        }));
    }
    let mut succeeded = 0;
    for task in tasks {
        match task.await.unwrap() {
            (201, _) => succeeded += 1,
            (409, detail) => assert!(detail.contains("not hold enough"), "{detail}"),
            other => panic!("unexpected answer {other:?}"),
        }
    }

    assert_eq!(succeeded, 3);
    assert_eq!(app.wallet_balance(&backer).await, Decimal::ZERO);
    app.assert_books_balance().await;
}

fn equity(shares: i64) -> serde_json::Value {
    serde_json::json!({
        "shares": shares, "acknowledge_risk": true,
        "annual_income": "30000", "net_worth": "20000"
    })
}

#[tokio::test]
async fn the_investor_limit_holds_under_concurrent_commitments() {
    let app = Arc::new(TestApp::spawn().await);
    let investor = app.fixture_backer().await;
    app.fund(&investor, "20000.00").await;
    let mut projects = Vec::new();
    for _ in 0..10 {
        projects.push(
            app.live_equity_project("100.00", (1, 1000), 1, 200, time::Duration::days(10))
                .await,
        );
    }

    // Income 30,000 and net worth 20,000: the limit is 2,500, so two commitments of 1,000 fit.
    let mut tasks = Vec::new();
    for project in projects {
        let (app, token) = (app.clone(), investor.token.clone());
        tasks.push(tokio::spawn(async move {
            detail(pledge_via_api(&app, &token, project, equity(10), None).await).await
        }));
    }
    let mut succeeded = 0;
    for task in tasks {
        match task.await.unwrap() {
            (201, _) => succeeded += 1,
            (422, detail) => assert!(detail.contains("12-month"), "{detail}"),
            other => panic!("unexpected answer {other:?}"),
        }
    }

    assert_eq!(succeeded, 2);
    assert_eq!(app.wallet_balance(&investor).await, Decimal::from(18_000));
    app.assert_books_balance().await;
}

#[tokio::test]
async fn the_configured_investor_limit_rule_is_the_one_applied() {
    let app = TestApp::spawn_with(|settings| {
        settings.investor_limit_rule =
            pledges::limits::InvestorLimitRule::parse("1000,2,4,124000,124000").unwrap();
    })
    .await;
    let investor = app.fixture_backer().await;
    app.fund(&investor, "5000.00").await;
    let mut projects = Vec::new();
    for _ in 0..2 {
        projects.push(
            app.live_equity_project("100.00", (1, 1000), 1, 200, time::Duration::days(10))
                .await,
        );
    }

    // Income 30,000 and net worth 20,000: 2% of the greater is 600, so the floor of 1,000 is the
    // limit. The default rule would allow 2,500, and both commitments of 1,000.
    let first = detail(pledge_via_api(&app, &investor.token, projects[0], equity(10), None).await);
    assert_eq!(first.await.0, 201);
    let (status, refusal) =
        detail(pledge_via_api(&app, &investor.token, projects[1], equity(10), None).await).await;
    assert_eq!(status, 422);
    assert!(refusal.contains("12-month"), "{refusal}");
    assert_eq!(app.wallet_balance(&investor).await, Decimal::from(4_000));
}

#[tokio::test]
async fn the_investor_cap_holds_under_concurrency() {
    let app = Arc::new(TestApp::spawn().await);
    let project = app
        .live_equity_project("10.00", (1, 100_000), 2, 5, time::Duration::days(10))
        .await;
    let investors = funded_backers(&app, 30, "100.00").await;

    let mut tasks = Vec::new();
    for investor in investors {
        let app = app.clone();
        tasks.push(tokio::spawn(async move {
            detail(pledge_via_api(&app, &investor.token, project, equity(3), None).await).await
        }));
    }
    let mut succeeded = 0;
    for task in tasks {
        match task.await.unwrap() {
            (201, _) => succeeded += 1,
            (409, detail) => assert!(detail.contains("maximum number of investors"), "{detail}"),
            other => panic!("unexpected answer {other:?}"),
        }
    }

    assert_eq!(succeeded, 5);
    let (sold, investors): (i64, i32) = sqlx::query_as(
        "SELECT shares_sold, investor_count FROM equity_offerings WHERE project_id = $1",
    )
    .bind(project.0)
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!((sold, investors), (15, 5));
    app.assert_books_balance().await;
}

#[tokio::test]
async fn equity_below_the_minimum_or_without_the_risk_acknowledged_is_refused() {
    let app = TestApp::spawn().await;
    let project = app
        .live_equity_project("10.00", (1, 100), 5, 200, time::Duration::days(10))
        .await;
    let investor = app.fixture_backer().await;
    app.fund(&investor, "1000.00").await;

    let (status, text) =
        detail(pledge_via_api(&app, &investor.token, project, equity(4), None).await).await;
    assert_eq!((status, text.contains("at least 5")), (422, true), "{text}");
    let mut unacknowledged = equity(5);
    unacknowledged["acknowledge_risk"] = serde_json::json!(false);
    let (status, text) =
        detail(pledge_via_api(&app, &investor.token, project, unacknowledged, None).await).await;
    assert_eq!((status, text.contains("risk")), (422, true), "{text}");
    let (status, text) =
        detail(pledge_via_api(&app, &investor.token, project, equity(101), None).await).await;
    assert_eq!(status, 409, "{text}");
    assert_eq!(app.wallet_balance(&investor).await, Decimal::from(1000));
    app.assert_books_balance().await;
}

async fn cancel_via_api(app: &TestApp, token: &str, pledge: &str) -> reqwest::Response {
    app.client
        .delete(app.url(&format!("/api/v1/pledges/{pledge}")))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
}

async fn pledge_id(response: reqwest::Response) -> String {
    assert_eq!(response.status(), 201);
    let body: serde_json::Value = response.json().await.unwrap();
    body["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn reward_pledges_can_be_changed_and_cancelled_until_the_deadline_only() {
    let app = TestApp::spawn().await;
    let (project, tiers) = app
        .live_reward_project(&[("20.00", Some(1)), ("50.00", Some(2))])
        .await;
    let backer = app.fixture_backer().await;
    app.fund(&backer, "100.00").await;
    let first = pledge_id(
        pledge_via_api(
            &app,
            &backer.token,
            project,
            serde_json::json!({"tier_id": tiers[0], "amount": "20.00"}),
            None,
        )
        .await,
    )
    .await;

    let changed = app
        .client
        .patch(app.url(&format!("/api/v1/pledges/{first}")))
        .bearer_auth(&backer.token)
        .json(&serde_json::json!({"tier_id": tiers[1], "amount": "60.00"}))
        .send()
        .await
        .unwrap();
    assert_eq!(changed.status(), 200);
    assert_eq!(app.wallet_balance(&backer).await, Decimal::from(40));
    let claims: Vec<i32> = sqlx::query_scalar(
        "SELECT claimed FROM reward_tiers WHERE project_id = $1 ORDER BY position",
    )
    .bind(project.0)
    .fetch_all(&app.db)
    .await
    .unwrap();
    assert_eq!(claims, vec![0, 1], "the old tier's unit went back");

    assert_eq!(
        cancel_via_api(&app, &backer.token, &first).await.status(),
        200
    );
    assert_eq!(
        app.wallet_balance(&backer).await,
        Decimal::from(100),
        "money back at once"
    );

    let second = pledge_id(
        pledge_via_api(
            &app,
            &backer.token,
            project,
            serde_json::json!({"amount": "15"}),
            None,
        )
        .await,
    )
    .await;
    app.set_project(project, "live", time::Duration::seconds(-1))
        .await;
    let late = cancel_via_api(&app, &backer.token, &second).await;
    assert_eq!(
        late.status(),
        409,
        "after the deadline a reward pledge stands"
    );
    assert_eq!(app.wallet_balance(&backer).await, Decimal::from(85));
    app.assert_books_balance().await;
}

#[tokio::test]
async fn equity_commitments_can_be_cancelled_until_48_hours_before_the_deadline() {
    let app = TestApp::spawn().await;
    let project = app
        .live_equity_project("10.00", (1, 1000), 1, 200, time::Duration::hours(72))
        .await;
    let investor = app.fixture_backer().await;
    app.fund(&investor, "1000.00").await;
    let first =
        pledge_id(pledge_via_api(&app, &investor.token, project, equity(10), None).await).await;
    assert_eq!(
        cancel_via_api(&app, &investor.token, &first).await.status(),
        200
    );
    assert_eq!(app.wallet_balance(&investor).await, Decimal::from(1000));

    let second =
        pledge_id(pledge_via_api(&app, &investor.token, project, equity(10), None).await).await;
    app.set_project(project, "live", time::Duration::hours(47))
        .await;
    let (status, text) = detail(cancel_via_api(&app, &investor.token, &second).await).await;
    assert_eq!(status, 409);
    assert!(text.contains("48 hours"), "{text}");
    let offering: (i64, i32) = sqlx::query_as(
        "SELECT shares_sold, investor_count FROM equity_offerings WHERE project_id = $1",
    )
    .bind(project.0)
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(offering, (10, 1));
    app.assert_books_balance().await;
}

#[tokio::test]
async fn bad_pledge_amounts_are_refused_and_move_no_money() {
    let app = TestApp::spawn().await;
    let (project, tiers) = app.live_reward_project(&[("20.00", None)]).await;
    let backer = app.fixture_backer().await;
    app.fund(&backer, "100.00").await;
    for amount in [
        serde_json::json!("0"),
        serde_json::json!("-1"),
        serde_json::json!("1.234"),
        serde_json::json!("99999999999999"),
        serde_json::json!("lots"),
        serde_json::json!(null),
    ] {
        let response = pledge_via_api(
            &app,
            &backer.token,
            project,
            serde_json::json!({"amount": amount}),
            None,
        )
        .await;
        assert_eq!(response.status(), 422, "{amount}");
    }
    let below = pledge_via_api(
        &app,
        &backer.token,
        project,
        serde_json::json!({"tier_id": tiers[0], "amount": "19.99"}),
        None,
    )
    .await;
    assert_eq!(below.status(), 422, "below the tier's price");
    assert_eq!(app.wallet_balance(&backer).await, Decimal::from(100));
    app.assert_books_balance().await;
}

#[tokio::test]
async fn a_frozen_project_refuses_pledges_through_the_api() {
    let app = TestApp::spawn().await;
    let (project, _) = app.live_reward_project(&[]).await;
    let backer = app.fixture_backer().await;
    app.fund(&backer, "100.00").await;
    app.set_project(project, "frozen", time::Duration::days(3))
        .await;
    let (status, text) = detail(
        pledge_via_api(
            &app,
            &backer.token,
            project,
            serde_json::json!({"amount": "5"}),
            None,
        )
        .await,
    )
    .await;
    assert_eq!(status, 409);
    assert!(text.contains("frozen"), "{text}");
    assert_eq!(app.wallet_balance(&backer).await, Decimal::from(100));
    app.assert_books_balance().await;
}

#[tokio::test]
async fn the_founder_sees_backers_exports_them_and_gets_a_chart() {
    let app = TestApp::spawn().await;
    let (project, tiers) = app.live_reward_project(&[("20.00", None)]).await;
    for _ in 0..3 {
        let backer = app.fixture_backer().await;
        app.fund(&backer, "20.00").await;
        let response = pledge_via_api(
            &app,
            &backer.token,
            project,
            serde_json::json!({"tier_id": tiers[0], "amount": "20.00"}),
            None,
        )
        .await;
        assert_eq!(response.status(), 201);
    }
    let csv = zhonglian::pledges::backers::backers_csv_text(&app.db, project)
        .await
        .unwrap();
    assert_eq!(csv.lines().count(), 4, "{csv}");
    assert!(csv.starts_with("pledge_id,name,email,reward,ships"));
    let svg = zhonglian::pledges::web::chart::pledge_chart_svg(&app.db, project)
        .await
        .unwrap();
    assert!(svg.starts_with("<svg") && svg.contains("<polyline") && !svg.contains("<script"));
    assert!(svg.contains("60.00"), "the peak is labelled: {svg}");

    let (founder_id,): (uuid::Uuid,) =
        sqlx::query_as("SELECT founder_id FROM projects WHERE id = $1")
            .bind(project.0)
            .fetch_one(&app.db)
            .await
            .unwrap();
    let founder =
        zhonglian::accounts::find_user(&app.db, zhonglian::accounts::domain::UserId(founder_id))
            .await
            .unwrap()
            .unwrap();
    let token = zhonglian::accounts::open_session(&app.state.db, &app.state.keys, founder, None)
        .await
        .unwrap()
        .token;
    let list: serde_json::Value = app
        .client
        .get(app.url(&format!("/api/v1/founder/projects/{project}/backers")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list.as_array().unwrap().len(), 3);
    let stranger = app.fixture_backer().await;
    let refused = app
        .client
        .get(app.url(&format!("/api/v1/founder/projects/{project}/backers")))
        .bearer_auth(&stranger.token)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 404);
    let openapi: serde_json::Value = app
        .client
        .get(app.url("/api/v1/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for path in [
        "/api/v1/projects/{id}/pledges",
        "/api/v1/pledges/{id}",
        "/api/v1/me/pledges",
        "/api/v1/wallet",
        "/api/v1/wallet/deposits",
    ] {
        assert!(openapi["paths"][path].is_object(), "{path} is documented");
    }
    app.assert_books_balance().await;
}

#[tokio::test]
async fn a_pledge_form_submitted_twice_makes_one_pledge() {
    let app = TestApp::spawn().await;
    let (project, tiers) = app.live_reward_project(&[("20.00", None)]).await;
    let backer = app.fixture_backer().await;
    app.fund(&backer, "100.00").await;
    let page = app
        .client
        .get(app.url(&format!("/projects/{project}/pledge")))
        .bearer_auth(&backer.token)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let field = |name: &str| {
        let marker = format!("name=\"{name}\" value=\"");
        let start = page.find(&marker).expect(name) + marker.len();
        page[start..].split('"').next().unwrap().to_owned()
    };
    let (csrf, key) = (field("csrf"), field("key"));
    let mut answers = Vec::new();
    for _ in 0..2 {
        let response = app
            .client
            .post(app.url(&format!("/projects/{project}/pledge")))
            .bearer_auth(&backer.token)
            .form(&[
                ("csrf", csrf.as_str()),
                ("key", key.as_str()),
                ("tier", &tiers[0].to_string()),
                ("extra", "5"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 303);
        answers.push(response.headers()["location"].to_str().unwrap().to_owned());
    }
    assert_eq!(
        answers[0], answers[1],
        "the second submit lands on the same pledge"
    );
    assert_eq!(app.wallet_balance(&backer).await, Decimal::from(75));
    app.assert_books_balance().await;
}

#[tokio::test]
async fn in_the_browser_a_backer_tops_up_pledges_sees_it_cancels_and_gets_the_money_back() {
    use fantoccini::Locator;

    use crate::browser::{browser, text_of};

    let app = TestApp::spawn().await;
    let (project, _) = app
        .live_reward_project(&[("88.00", Some(10)), ("188.00", Some(5))])
        .await;
    let c = browser().await;
    let result = async {
        c.goto(&app.url("/signup")).await?;
        c.find(Locator::Css("input[name=email]"))
            .await?
            .send_keys("ada@example.com")
            .await?;
        c.find(Locator::Css("input[name=display_name]"))
            .await?
            .send_keys("Ada Chen")
            .await?;
        c.find(Locator::Css("input[name=password]"))
            .await?
            .send_keys("correct horse battery")
            .await?;
        c.find(Locator::Id("signup-submit")).await?.click().await?;
        assert_eq!(text_of(&c, "#current-user").await, "Ada Chen");

        c.goto(&app.url("/wallet")).await?;
        assert_eq!(text_of(&c, "#balance-CNY").await, "0.00");
        c.find(Locator::Id("top-up-amount"))
            .await?
            .send_keys("200")
            .await?;
        c.find(Locator::Id("top-up-submit")).await?.click().await?;
        assert_eq!(text_of(&c, "#checkout-amount").await, "200.00");
        c.find(Locator::Id("sandbox-approve"))
            .await?
            .click()
            .await?;
        c.wait().for_element(Locator::Id("wallet-notice")).await?;
        assert_eq!(text_of(&c, "#balance-CNY").await, "200.00");

        c.goto(&app.url(&format!("/projects/{project}/pledge")))
            .await?;
        c.find(Locator::Id("tier-1")).await?.click().await?;
        c.find(Locator::Id("extra")).await?.send_keys("12").await?;
        c.find(Locator::Id("pledge-submit")).await?.click().await?;
        c.wait().for_element(Locator::Id("pledges-notice")).await?;
        let row = text_of(&c, "#my-pledges tbody tr").await;
        assert!(row.contains("Tier 1") && row.contains("100.00"), "{row}");
        assert!(row.contains("Active"), "{row}");
        c.goto(&app.url("/wallet")).await?;
        assert_eq!(text_of(&c, "#balance-CNY").await, "100.00");

        c.goto(&app.url("/me/pledges")).await?;
        c.find(Locator::Css("button.cancel-pledge"))
            .await?
            .click()
            .await?;
        c.wait().for_element(Locator::Id("pledges-notice")).await?;
        let row = text_of(&c, "#my-pledges tbody tr").await;
        assert!(row.contains("Cancelled"), "{row}");
        c.goto(&app.url("/wallet")).await?;
        assert_eq!(text_of(&c, "#balance-CNY").await, "200.00");
        Ok::<(), fantoccini::error::CmdError>(())
    }
    .await;
    c.close().await.ok();
    result.unwrap();
    app.assert_books_balance().await;
}

#[tokio::test]
async fn demo_backers_fund_their_wallets_and_pledge_for_live_demo_projects() {
    let app = TestApp::spawn().await;
    zhonglian::demo::load(&app.state).await.unwrap();
    let (reward, _) = app.live_reward_project(&[("88.00", Some(50))]).await;
    let equity = app
        .live_equity_project("10.00", (1, 1000), 5, 200, time::Duration::days(30))
        .await;

    zhonglian::demo::load_pledges(&app.state, &[reward, equity])
        .await
        .unwrap();

    assert_eq!(app.escrow_balance(reward).await, Decimal::from(176));
    assert_eq!(app.escrow_balance(equity).await, Decimal::from(100));
    app.assert_books_balance().await;
}

#[tokio::test]
async fn a_full_pledge_queue_answers_503_with_retry_after_and_the_books_balance() {
    let app = Arc::new(TestApp::spawn_with(|settings| settings.pledge_queue_limit = 2).await);
    let (project, tiers) = app.live_reward_project(&[("10.00", None)]).await;
    let backers = funded_backers(&app, 60, "10.00").await;

    let mut tasks = Vec::new();
    for backer in backers {
        let app = app.clone();
        let tier = tiers[0];
        tasks.push(tokio::spawn(async move {
            let body = serde_json::json!({"tier_id": tier, "amount": "10.00"});
            let response = pledge_via_api(&app, &backer.token, project, body, None).await;
            let retry_after = response.headers().get("retry-after").cloned();
            (response.status().as_u16(), retry_after)
        }));
    }
    let (mut made, mut busy) = (0, 0);
    for task in tasks {
        match task.await.unwrap() {
            (201, _) => made += 1,
            (503, Some(retry_after)) => {
                assert!(retry_after.to_str().unwrap().parse::<u64>().unwrap() > 0);
                busy += 1;
            }
            other => panic!("unexpected answer {other:?}"),
        }
    }

    assert!(made > 0, "some pledges are made");
    assert!(
        busy > 0,
        "past two waiting requests the desk says it is busy"
    );
    assert_eq!(app.escrow_balance(project).await, Decimal::from(10 * made));
    let pledged: i64 = sqlx::query_scalar("SELECT count(*) FROM pledges WHERE project_id = $1")
        .bind(project.0)
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(pledged, made, "every 503 made nothing");
    app.assert_books_balance().await;
}

/// How many of this database's sessions wait for a lock.
async fn sessions_waiting_for_a_lock(app: &TestApp) -> i64 {
    sqlx::query_scalar(
        "SELECT count(*) FROM pg_stat_activity
         WHERE datname = current_database() AND wait_event_type = 'Lock'",
    )
    .fetch_one(&app.db)
    .await
    .unwrap()
}

#[tokio::test]
async fn a_pledge_that_gets_no_answer_in_time_is_503_and_never_made_twice() {
    let app = Arc::new(TestApp::spawn_with(|settings| settings.pledge_wait_seconds = 1).await);
    let (project, tiers) = app.live_reward_project(&[("10.00", None)]).await;
    let (first, second) = (app.fixture_backer().await, app.fixture_backer().await);
    app.fund(&first, "30.00").await;
    app.fund(&second, "30.00").await;
    let body = serde_json::json!({"tier_id": tiers[0], "amount": "10.00"});
    // A regulator's freeze holding the project's row: the pledge transaction waits behind it.
    let mut freeze = app.db.begin().await.unwrap();
    sqlx::query("SELECT 1 FROM projects WHERE id = $1 FOR UPDATE")
        .bind(project.0)
        .execute(&mut *freeze)
        .await
        .unwrap();

    let stuck = {
        let (app, token, body) = (app.clone(), first.token.clone(), body.clone());
        tokio::spawn(async move {
            pledge_via_api(&app, &token, project, body, Some("lamp-order-1")).await
        })
    };
    while sessions_waiting_for_a_lock(&app).await == 0 {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let queued = pledge_via_api(&app, &second.token, project, body.clone(), None);
    let queued = tokio::time::timeout(std::time::Duration::from_secs(10), queued)
        .await
        .expect("a waiting request is answered in bounded time");
    let stuck = tokio::time::timeout(std::time::Duration::from_secs(10), stuck)
        .await
        .expect("a request inside a stuck transaction is answered in bounded time")
        .unwrap();
    for response in [&queued, &stuck] {
        assert_eq!(response.status(), 503);
        assert!(response.headers().contains_key("retry-after"));
    }
    freeze.rollback().await.unwrap();
    let retried = pledge_via_api(&app, &first.token, project, body, Some("lamp-order-1")).await;

    assert_eq!(
        retried.status(),
        201,
        "the retry finds the pledge or makes it, once"
    );
    let count = |backer: zhonglian::accounts::domain::UserId| {
        let db = app.db.clone();
        async move {
            sqlx::query_scalar::<_, i64>("SELECT count(*) FROM pledges WHERE backer_id = $1")
                .bind(backer.0)
                .fetch_one(&db)
                .await
                .unwrap()
        }
    };
    assert_eq!(
        count(first.id).await,
        1,
        "one pledge for the key, never two"
    );
    assert_eq!(app.wallet_balance(&first).await, Decimal::from(20));
    assert_eq!(
        count(second.id).await,
        0,
        "a request given up while waiting is never made"
    );
    assert_eq!(app.wallet_balance(&second).await, Decimal::from(30));
    app.assert_books_balance().await;
}

#[tokio::test]
async fn the_api_and_the_form_read_declared_income_and_net_worth_alike() {
    let app = TestApp::spawn().await;
    let by_api = app
        .live_equity_project("10.00", (1, 1000), 1, 200, time::Duration::days(7))
        .await;
    let by_form = app
        .live_equity_project("10.00", (1, 1000), 1, 200, time::Duration::days(7))
        .await;
    let inputs = [
        ("125000", true),
        ("125,000", true),
        ("125000.50", true),
        ("1,000,000", true),
        ("500000000", true),
        ("0", true),
        ("-5", false),
        ("1e5", false),
        ("NaN", false),
        ("12.345", false),
        ("1,2345", false),
        ("10000000001", false),
    ];

    for (input, accepted) in inputs {
        let investor = app.fixture_backer().await;
        app.fund(&investor, "100.00").await;
        let api = pledge_via_api(
            &app,
            &investor.token,
            by_api,
            serde_json::json!({
                "shares": 1, "acknowledge_risk": true,
                "annual_income": input, "net_worth": input
            }),
            None,
        )
        .await
        .status()
        .as_u16();
        let wallet = app
            .client
            .get(app.url("/wallet"))
            .bearer_auth(&investor.token)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let marker = "name=\"csrf\" value=\"";
        let start = wallet.find(marker).unwrap() + marker.len();
        let csrf = wallet[start..].split('"').next().unwrap().to_owned();
        let key = uuid::Uuid::new_v4().to_string();
        let form = app
            .client
            .post(app.url(&format!("/projects/{by_form}/pledge")))
            .bearer_auth(&investor.token)
            .form(&[
                ("csrf", csrf.as_str()),
                ("key", &key),
                ("shares", "1"),
                ("acknowledge_risk", "on"),
                ("annual_income", input),
                ("net_worth", input),
            ])
            .send()
            .await
            .unwrap()
            .status()
            .as_u16();

        let (want_api, want_form) = if accepted { (201, 303) } else { (422, 422) };
        assert_eq!((api, form), (want_api, want_form), "{input:?}");
    }
    app.assert_books_balance().await;
}
