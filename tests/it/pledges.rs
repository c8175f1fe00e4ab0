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

    let created = pledges::create(
        &app.db,
        backer.id,
        project,
        &reward(Some(tiers[0]), "60.00"),
        None,
    )
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
            pledges::create(
                &app.db,
                backer.id,
                project,
                &reward(Some(tier), "10.00"),
                None,
            )
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

    let refused = pledges::create(&app.db, backer.id, project, &reward(None, "20.00"), None).await;

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

    let created = pledges::create(&app.db, investor.id, project, &request, None)
        .await
        .unwrap();

    assert_eq!(created.pledge.amount, Decimal::new(10000, 2));
    assert_eq!(created.pledge.shares, Some(8));
    assert_eq!(app.escrow_balance(project).await, Decimal::new(10000, 2));
    app.assert_books_balance().await;
}
