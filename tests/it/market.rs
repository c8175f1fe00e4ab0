//! The exchange: an investor's holdings from the share register, and the lock-up before shares
//! may be sold.

use reqwest::StatusCode;
use serde_json::Value;
use zhonglian::settlement::Settler;

use crate::support::{made_pledge, Backer, TestApp};

fn equity(shares: i64) -> Value {
    serde_json::json!({
        "shares": shares, "acknowledge_risk": true,
        "annual_income": "30000", "net_worth": "20000"
    })
}

/// A funded equity offering at 100.00 a share in which `investor` took 3 shares and another
/// investor 2; returns the offering's id.
async fn funded_offering(app: &TestApp, investor: &Backer) -> zhonglian::projects::ProjectId {
    let other = app.fixture_backer().await;
    let project = app
        .live_equity_project("100.00", (1, 1000), 1, 200, time::Duration::days(10))
        .await;
    for (who, shares) in [(investor, 3), (&other, 2)] {
        app.fund(who, "1000.00").await;
        made_pledge(&app.pledge(&who.token, project, equity(shares), None).await);
    }
    app.set_project(project, "live", time::Duration::seconds(-1))
        .await;
    let settled = Settler::new(&app.state)
        .settle_due(&|_| {})
        .await
        .expect("settlement");
    assert_eq!(settled.len(), 1, "the offering settles");
    project
}

/// A page as `who` reads it in English, chosen as a reader does, with the language switch.
async fn english_page(app: &TestApp, path: &str, who: &Backer) -> String {
    app.get("/lang/en?next=%2F").await;
    let page = app.html_as(path, who).await;
    app.get("/lang/zh?next=%2F").await;
    page
}

#[tokio::test]
async fn an_investor_sees_the_shares_of_a_funded_offering_with_their_cost() {
    let app = TestApp::spawn().await;
    let investor = app.fixture_backer().await;
    let project = funded_offering(&app, &investor).await;

    let (status, body) = app.get_json("/me/holdings", &investor).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let holdings = body.as_array().expect("a list");
    assert_eq!(holdings.len(), 1, "{body}");
    let h = &holdings[0];
    assert_eq!(h["project_id"], project.to_string());
    assert_eq!(h["shares"], 3);
    assert_eq!(h["cost"], "300.00");
    assert_eq!(h["currency"], "CNY");
    assert_eq!(h["sellable_shares"], 3, "no lock-up in tests");
    assert_eq!(h["locked_until"], Value::Null);
    assert_eq!(h["last_price"], Value::Null, "no auction has cleared");

    let page = english_page(&app, "/me/holdings", &investor).await;
    assert!(page.contains(&format!(
        "href=\"/projects/{}\"",
        h["slug"].as_str().unwrap()
    )));
    assert!(page.contains("CN¥300.00"), "{page}");
    assert!(page.contains("All 3"), "{page}");
    let chinese = app.html_as("/me/holdings", &investor).await;
    assert!(
        chinese.contains("¥300.00") && chinese.contains("全部 3 股"),
        "{chinese}"
    );

    let stranger = app.fixture_backer().await;
    let (_, none) = app.get_json("/me/holdings", &stranger).await;
    assert_eq!(none, serde_json::json!([]));
    assert!(app
        .html_as("/me/holdings", &stranger)
        .await
        .contains("id=\"no-holdings\""));
}

#[tokio::test]
async fn shares_inside_the_lock_up_are_held_but_not_sellable() {
    let app = TestApp::spawn_with(|s| s.secondary_lockup_days = 365).await;
    let investor = app.fixture_backer().await;
    funded_offering(&app, &investor).await;

    let (_, body) = app.get_json("/me/holdings", &investor).await;
    let h = &body[0];
    assert_eq!(
        (h["shares"].as_i64(), h["sellable_shares"].as_i64()),
        (Some(3), Some(0))
    );
    let until = time::OffsetDateTime::parse(
        h["locked_until"].as_str().expect("a lock-up end"),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    let year = time::OffsetDateTime::now_utc() + time::Duration::days(365);
    assert!((until - year).abs() < time::Duration::minutes(5), "{until}");
    let page = english_page(&app, "/me/holdings", &investor).await;
    assert!(page.contains("0 of 3; the rest from"), "{page}");
    let chinese = app.html_as("/me/holdings", &investor).await;
    assert!(chinese.contains("3 股中 0 股可出售，其余自"), "{chinese}");
}

#[tokio::test]
async fn holdings_need_a_session() {
    let app = TestApp::spawn().await;
    let answer = app.get("/api/v1/me/holdings").await;
    assert_eq!(answer.status(), StatusCode::UNAUTHORIZED);
}
