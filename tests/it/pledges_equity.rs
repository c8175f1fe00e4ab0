//! Equity commitments: the investor's 12-month limit and the offering's investor cap, under
//! concurrency too; the minimum, the risk acknowledgement, the 48-hour cancel window, and the
//! declared income and net worth read alike by the API and the form.

use std::sync::Arc;

use rust_decimal::Decimal;
use zhonglian::pledges;

use crate::support::{form_field, funded_backers, made_pledge, status_and_detail, TestApp};

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
            status_and_detail(app.pledge(&token, project, equity(10), None).await)
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
    let first = status_and_detail(
        app.pledge(&investor.token, projects[0], equity(10), None)
            .await,
    );
    assert_eq!(first.0, 201);
    let (status, refusal) = status_and_detail(
        app.pledge(&investor.token, projects[1], equity(10), None)
            .await,
    );
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
            status_and_detail(app.pledge(&investor.token, project, equity(3), None).await)
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
    .bind(project)
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
        status_and_detail(app.pledge(&investor.token, project, equity(4), None).await);
    assert_eq!((status, text.contains("at least 5")), (422, true), "{text}");
    let mut unacknowledged = equity(5);
    unacknowledged["acknowledge_risk"] = serde_json::json!(false);
    let (status, text) = status_and_detail(
        app.pledge(&investor.token, project, unacknowledged, None)
            .await,
    );
    assert_eq!((status, text.contains("risk")), (422, true), "{text}");
    let (status, text) = status_and_detail(
        app.pledge(&investor.token, project, equity(101), None)
            .await,
    );
    assert_eq!(status, 409, "{text}");
    assert_eq!(app.wallet_balance(&investor).await, Decimal::from(1000));
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
    let first = made_pledge(&app.pledge(&investor.token, project, equity(10), None).await);
    assert_eq!(app.cancel_pledge(&investor.token, first).await.0, 200);
    assert_eq!(app.wallet_balance(&investor).await, Decimal::from(1000));

    let second = made_pledge(&app.pledge(&investor.token, project, equity(10), None).await);
    app.set_project(project, "live", time::Duration::hours(47))
        .await;
    let (status, text) = status_and_detail(app.cancel_pledge(&investor.token, second).await);
    assert_eq!(status, 409);
    assert!(text.contains("48 hours"), "{text}");
    let offering: (i64, i32) = sqlx::query_as(
        "SELECT shares_sold, investor_count FROM equity_offerings WHERE project_id = $1",
    )
    .bind(project)
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(offering, (10, 1));
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
        let api = app
            .pledge(
                &investor.token,
                by_api,
                serde_json::json!({
                    "shares": 1, "acknowledge_risk": true,
                    "annual_income": input, "net_worth": input
                }),
                None,
            )
            .await
            .0
            .as_u16();
        let wallet = app.html_as("/wallet", &investor).await;
        let csrf = form_field(&wallet, "csrf");
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
