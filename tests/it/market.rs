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
pub(crate) async fn funded_offering(
    app: &TestApp,
    investor: &Backer,
) -> zhonglian::projects::ProjectId {
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

/// RFC 3339 text of now plus `offset`.
pub(crate) fn at(offset: time::Duration) -> String {
    (time::OffsetDateTime::now_utc() + offset)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap()
}

/// Makes `founder` the founder of `project`, so that a token of theirs acts as its issuer.
pub(crate) async fn hand_to(
    app: &TestApp,
    project: zhonglian::projects::ProjectId,
    founder: &Backer,
) {
    sqlx::query("UPDATE projects SET founder_id = $2 WHERE id = $1")
        .bind(project)
        .bind(founder.id)
        .execute(&app.db)
        .await
        .unwrap();
}

/// A funded offering whose founder can sign in with the returned token.
async fn company_with_founder(app: &TestApp) -> (zhonglian::projects::ProjectId, Backer) {
    let investor = app.fixture_backer().await;
    let project = funded_offering(app, &investor).await;
    let founder = app.fixture_user(&["founder"]).await;
    hand_to(app, project, &founder).await;
    (project, founder)
}

pub(crate) fn window(opens: time::Duration, closes: time::Duration) -> Value {
    serde_json::json!({ "opens_at": at(opens), "closes_at": at(closes) })
}

#[tokio::test]
async fn the_issuer_schedules_auction_windows_that_never_overlap() {
    let app = TestApp::spawn().await;
    let (project, founder) = company_with_founder(&app).await;
    let path = format!("/companies/{project}/auctions");
    let hour = time::Duration::hours(1);

    let (status, first) = app.post_json(&path, &founder, window(hour, 3 * hour)).await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    assert_eq!(first["state"], "scheduled");
    assert_eq!(first["project_id"], project.to_string());
    let (status, read) = app
        .get_json(
            &format!("/auctions/{}", first["id"].as_str().unwrap()),
            &founder,
        )
        .await;
    assert_eq!((status, &read), (StatusCode::OK, &first));

    let (status, overlap) = app
        .post_json(&path, &founder, window(2 * hour, 4 * hour))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{overlap}");
    assert!(
        overlap["detail"].as_str().unwrap().contains("overlaps"),
        "{overlap}"
    );
    let (status, later) = app
        .post_json(&path, &founder, window(3 * hour, 5 * hour))
        .await;
    assert_eq!(
        status,
        StatusCode::CREATED,
        "a window may start as the last one closes: {later}"
    );

    let (_, listed) = app.get_json(&path, &founder).await;
    let ids: Vec<&Value> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|a| &a["id"])
        .collect();
    assert_eq!(ids, vec![&later["id"], &first["id"]], "the latest first");

    // Once a window's opening time has passed, it is open.
    sqlx::query("UPDATE auctions SET opens_at = now() - interval '1 minute' WHERE id = $1::uuid")
        .bind(first["id"].as_str().unwrap())
        .execute(&app.db)
        .await
        .unwrap();
    let (_, open) = app
        .get_json(
            &format!("/auctions/{}", first["id"].as_str().unwrap()),
            &founder,
        )
        .await;
    assert_eq!(open["state"], "open");
}

#[tokio::test]
async fn only_the_founder_of_a_funded_equity_offering_schedules_and_only_sound_windows() {
    let app = TestApp::spawn().await;
    let (project, founder) = company_with_founder(&app).await;
    let path = format!("/companies/{project}/auctions");
    let hour = time::Duration::hours(1);

    let stranger = app.fixture_user(&["founder"]).await;
    let (status, _) = app
        .post_json(&path, &stranger, window(hour, 2 * hour))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    for (body, says) in [
        (window(-hour, hour), "past"),
        (window(2 * hour, hour), "closes after it opens"),
        (window(hour, time::Duration::days(40)), "31 days"),
        (
            window(time::Duration::days(400), time::Duration::days(401)),
            "within a year",
        ),
    ] {
        let (status, refused) = app.post_json(&path, &founder, body).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
        assert!(
            refused["detail"].as_str().unwrap().contains(says),
            "{refused}"
        );
    }

    let live = app
        .live_equity_project("10.00", (1, 100), 1, 200, time::Duration::days(10))
        .await;
    hand_to(&app, live, &founder).await;
    let (status, refused) = app
        .post_json(
            &format!("/companies/{live}/auctions"),
            &founder,
            window(hour, 2 * hour),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
    assert!(
        refused["detail"].as_str().unwrap().contains("funded"),
        "{refused}"
    );
    let (status, hidden) = app
        .post_json(
            &format!("/companies/{live}/auctions"),
            &stranger,
            window(hour, 2 * hour),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "an offering not yet funded is not shown to others: {hidden}"
    );
    let (status, _) = app
        .post_json(
            &format!("/companies/{}/auctions", uuid::Uuid::new_v4()),
            &founder,
            window(hour, 2 * hour),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_regulator_halts_an_auction_on_the_trail_and_the_ledger_once() {
    let app = TestApp::spawn().await;
    let (project, founder) = company_with_founder(&app).await;
    let hour = time::Duration::hours(1);
    let (_, auction) = app
        .post_json(
            &format!("/companies/{project}/auctions"),
            &founder,
            window(hour, 2 * hour),
        )
        .await;
    let id = auction["id"].as_str().unwrap().to_owned();
    let halt = format!("/regulator/auctions/{id}/halt");
    let body = serde_json::json!({ "reason": "Inquiry into the issuer's accounts" });

    let (status, _) = app.post_json(&halt, &founder, body.clone()).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "only a regulator halts");
    let regulator = app.login_as_regulator().await;
    let (status, refused) = app
        .post_json(&halt, &regulator, serde_json::json!({ "reason": " " }))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");

    let (status, halted) = app.post_json(&halt, &regulator, body.clone()).await;
    assert_eq!(status, StatusCode::OK, "{halted}");
    assert_eq!(halted["state"], "halted");
    assert_eq!(halted["halt_reason"], "Inquiry into the issuer's accounts");
    let (status, again) = app.post_json(&halt, &regulator, body).await;
    assert_eq!(status, StatusCode::CONFLICT, "{again}");

    let (action, entry): (String, String) = sqlx::query_as(
        "SELECT s.action, l.entry FROM supervision_actions s
           JOIN ledger_leaves l ON l.tx_hash = s.tx_hash
          WHERE s.auction_id = $1::uuid",
    )
    .bind(&id)
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(action, "halt_auction");
    let entry: Value = serde_json::from_str(&entry).unwrap();
    assert_eq!(entry["kind"], "supervision");
    assert_eq!(entry["action"], "halt_auction");
    assert_eq!(entry["auction"], id.as_str());
    assert_eq!(entry["project"], project.to_string());

    // A halted window no longer blocks the company from scheduling that time again.
    let (status, _) = app
        .post_json(
            &format!("/companies/{project}/auctions"),
            &founder,
            window(hour, 2 * hour),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
}

#[tokio::test]
async fn of_concurrent_requests_for_one_window_exactly_one_is_scheduled() {
    let app = std::sync::Arc::new(TestApp::spawn().await);
    let (project, founder) = company_with_founder(&app).await;
    let hour = time::Duration::hours(1);
    let body = window(hour, 2 * hour);
    let tasks: Vec<_> = (0..10)
        .map(|_| {
            let (app, founder, body) = (app.clone(), founder.clone(), body.clone());
            tokio::spawn(async move {
                app.post_json(&format!("/companies/{project}/auctions"), &founder, body)
                    .await
                    .0
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for task in tasks {
        statuses.push(task.await.unwrap());
    }
    let created = statuses
        .iter()
        .filter(|s| **s == StatusCode::CREATED)
        .count();
    let refused = statuses
        .iter()
        .filter(|s| **s == StatusCode::CONFLICT)
        .count();
    assert_eq!((created, refused), (1, 9), "{statuses:?}");
}
