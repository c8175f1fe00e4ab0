//! Pledging: money moves with the pledge, capacity is never oversold under concurrency, one
//! idempotency key makes one pledge, and a busy or stuck desk answers 503 and makes nothing.

use std::sync::Arc;

use rust_decimal::Decimal;
use zhonglian::money::Money;
use zhonglian::pledges::{self, PledgeRequest};

use crate::support::{funded_backers, made_pledge, status_and_detail, TestApp};

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
            Err(e) => {
                let shown = e.to_string();
                assert_eq!(
                    zhonglian::http::error::Error::from(e).status_code(),
                    409,
                    "{shown}"
                );
            }
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

    assert_eq!(
        zhonglian::http::error::Error::from(refused.unwrap_err()).status_code(),
        409
    );
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
            status_and_detail(app.pledge(&backer.token, project, body, None).await)
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
        .bind(tiers[0])
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
            made_pledge(&app.pledge(&token, project, body, Some("order-7f3a")).await)
        }));
    }
    let mut ids = std::collections::HashSet::new();
    for task in tasks {
        ids.insert(task.await.unwrap());
    }

    assert_eq!(ids.len(), 1, "every repeat answers with the same pledge");
    assert_eq!(app.wallet_balance(&backer).await, Decimal::new(7000, 2));
    let different = app
        .pledge(
            &backer.token,
            project,
            serde_json::json!({"tier_id": tiers[0], "amount": "31.00"}),
            Some("order-7f3a"),
        )
        .await;
    assert_eq!(different.0, 422, "same key, different body");
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
            status_and_detail(app.pledge(&token, project, body, None).await)
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
            let response = app
                .pledge_request(&backer.token, project, &body, None)
                .send()
                .await
                .unwrap();
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
        .bind(project)
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
        .bind(project)
        .execute(&mut *freeze)
        .await
        .unwrap();

    let stuck = {
        let (app, token, body) = (app.clone(), first.token.clone(), body.clone());
        tokio::spawn(async move {
            app.pledge_request(&token, project, &body, Some("lamp-order-1"))
                .send()
                .await
                .unwrap()
        })
    };
    while sessions_waiting_for_a_lock(&app).await == 0 {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let queued = app
        .pledge_request(&second.token, project, &body, None)
        .send();
    let queued = tokio::time::timeout(std::time::Duration::from_secs(10), queued)
        .await
        .expect("a waiting request is answered in bounded time")
        .unwrap();
    let stuck = tokio::time::timeout(std::time::Duration::from_secs(10), stuck)
        .await
        .expect("a request inside a stuck transaction is answered in bounded time")
        .unwrap();
    for response in [&queued, &stuck] {
        assert_eq!(response.status(), 503);
        assert!(response.headers().contains_key("retry-after"));
    }
    freeze.rollback().await.unwrap();
    let retried = app
        .pledge(&first.token, project, body, Some("lamp-order-1"))
        .await;

    assert_eq!(
        retried.0, 201,
        "the retry finds the pledge or makes it, once"
    );
    let count = |backer: zhonglian::accounts::domain::UserId| {
        let db = app.db.clone();
        async move {
            sqlx::query_scalar::<_, i64>("SELECT count(*) FROM pledges WHERE backer_id = $1")
                .bind(backer)
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
