//! The exchange's orders, clearing and settlement: holds, cancellation, the investor limit and
//! the holder cap, halts and freezes, delivery versus payment, and the published book.

use std::str::FromStr;

use reqwest::StatusCode;
use rust_decimal::Decimal;
use serde_json::{json, Value};
use zhonglian::ledger::merkle;
use zhonglian::market::book::{self, BookOrder};
use zhonglian::market::clear::{Clearer, Finished};
use zhonglian::projects::ProjectId;
use zhonglian::settlement::Settler;

use crate::market::{hand_to, window};
use crate::settlement::{assert_journal_is_sound, assert_ledger_is_sound, balance, spawn_server};
use crate::support::{made_pledge, Backer, Caller, TestApp};

pub(crate) fn d(text: &str) -> Decimal {
    Decimal::from_str(text).unwrap()
}

/// A funded equity offering at 10.00 a share whose holders took the given shares (each funded
/// with 2,000.00 first), with at most `max_investors` holders, and its founder.
pub(crate) async fn company(
    app: &TestApp,
    holdings: &[(&Backer, i64)],
    max_investors: i32,
) -> (ProjectId, Backer) {
    let project = app
        .live_equity_project(
            "10.00",
            (1, 100_000),
            1,
            max_investors,
            time::Duration::days(10),
        )
        .await;
    for (who, shares) in holdings {
        app.fund(who, "2000.00").await;
        let body = json!({
            "shares": shares, "acknowledge_risk": true,
            "annual_income": "30000", "net_worth": "20000"
        });
        made_pledge(&app.pledge(&who.token, project, body, None).await);
    }
    app.set_project(project, "live", time::Duration::seconds(-1))
        .await;
    Settler::new(&app.state)
        .settle_due(&|_| {})
        .await
        .expect("settlement");
    let founder = app.fixture_user(&["founder"]).await;
    hand_to(app, project, &founder).await;
    (project, founder)
}

/// An auction of `project` open from now for an hour; its id.
pub(crate) async fn open_auction(app: &TestApp, project: ProjectId, founder: &Backer) -> String {
    let (status, auction) = app
        .post_json(
            &format!("/companies/{project}/auctions"),
            founder,
            window(time::Duration::ZERO, time::Duration::hours(1)),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{auction}");
    auction["id"].as_str().unwrap().to_owned()
}

/// Moves the auction's close into the past, as the clock would.
pub(crate) async fn close(app: &TestApp, auction: &str) {
    sqlx::query(
        "UPDATE auctions SET opens_at = now() - interval '2 minutes',
                             closes_at = now() - interval '1 second'
          WHERE id = $1::uuid",
    )
    .bind(auction)
    .execute(&app.db)
    .await
    .unwrap();
}

pub(crate) fn clearer(app: &TestApp) -> Clearer {
    Clearer::new(
        app.db.clone(),
        app.state.ledger.clone(),
        &app.state.settings,
    )
}

async fn clear(app: &TestApp) -> Vec<Finished> {
    clearer(app).clear_due().await.expect("clearing")
}

pub(crate) async fn order(
    app: &TestApp,
    who: &Backer,
    auction: &str,
    side: &str,
    shares: i64,
    price: &str,
) -> (StatusCode, Value) {
    app.post_json(
        &format!("/auctions/{auction}/orders"),
        who,
        json!({
            "side": side, "shares": shares, "limit_price": price,
            "annual_income": "30000", "net_worth": "20000"
        }),
    )
    .await
}

async fn placed(app: &TestApp, who: &Backer, auction: &str, side: &str, n: i64, p: &str) -> Value {
    let (status, order) = order(app, who, auction, side, n, p).await;
    assert_eq!(status, StatusCode::CREATED, "{order}");
    order
}

async fn wallet(app: &TestApp, who: &Backer) -> Decimal {
    balance(&app.db, "backer_wallet", who.id.0).await
}

/// What every investor's market escrow holds.
async fn market_escrows(app: &TestApp) -> Decimal {
    sqlx::query_scalar(
        "SELECT coalesce(sum(balance), 0) FROM money_accounts WHERE kind = 'market_escrow'",
    )
    .fetch_one(&app.db)
    .await
    .unwrap()
}

async fn holding(app: &TestApp, who: &Backer) -> Value {
    let (status, body) = app.get_json("/me/holdings", who).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body.as_array()
        .unwrap()
        .first()
        .cloned()
        .unwrap_or(Value::Null)
}

async fn book_of(app: &TestApp, auction: &str, who: &Backer) -> Value {
    let (status, book) = app
        .get_json(&format!("/auctions/{auction}/book"), who)
        .await;
    assert_eq!(status, StatusCode::OK, "{book}");
    book
}

/// How many people have held shares of `project`: its first holders and everyone who bought.
async fn holders_ever(app: &TestApp, project: ProjectId) -> i64 {
    sqlx::query_scalar(
        "SELECT count(*) FROM (SELECT holder_id FROM share_lots WHERE project_id = $1
                               UNION SELECT buyer_id FROM market_trades WHERE project_id = $1) h",
    )
    .bind(project)
    .fetch_one(&app.db)
    .await
    .unwrap()
}

async fn notices(app: &TestApp, who: &Backer, kind: &str) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM notifications WHERE user_id = $1 AND kind = $2")
        .bind(who.id)
        .bind(kind)
        .fetch_one(&app.db)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_holder_sells_a_buyer_buys_and_cash_and_shares_move_together() {
    let app = TestApp::spawn().await;
    let (seller, other, buyer) = (
        app.fixture_backer().await,
        app.fixture_backer().await,
        app.fixture_backer().await,
    );
    let (project, founder) = company(&app, &[(&seller, 20), (&other, 5)], 200).await;
    app.fund(&buyer, "1000.00").await;
    let auction = open_auction(&app, project, &founder).await;

    let sell = placed(&app, &seller, &auction, "sell", 10, "9.00").await;
    assert_eq!(
        (sell["state"].as_str(), sell["held"].as_str()),
        (Some("open"), Some("0.00")),
        "amounts have two decimals"
    );
    let (status, refused) = order(&app, &seller, &auction, "sell", 11, "9.00").await;
    assert_eq!(
        status,
        StatusCode::CONFLICT,
        "10 of 20 are locked: {refused}"
    );
    assert!(
        refused["detail"].as_str().unwrap().contains("at most 10"),
        "{refused}"
    );
    let buy = placed(&app, &buyer, &auction, "buy", 8, "12.00").await;
    assert_eq!(buy["held"], "96.00");
    assert_eq!(
        wallet(&app, &buyer).await,
        d("904.00"),
        "the buy holds its money"
    );
    let (status, _) = order(&app, &buyer, &auction, "sell", 1, "20.00").await;
    assert_eq!(status, StatusCode::CONFLICT, "no order on both sides");

    // Both 9.00 and 12.00 trade 8 with the same imbalance; 9.00 is closer to the offering's 10.00.
    let (_, open) = app.get_json(&format!("/auctions/{auction}"), &buyer).await;
    assert_eq!(
        open["indicative"],
        json!({"price": "9.00", "volume": 8}),
        "{open}"
    );

    close(&app, &auction).await;
    let finished = clear(&app).await;
    assert_eq!(finished.len(), 1);
    assert_eq!(finished[0].cleared, Some((d("9.00"), 8)));
    assert_eq!(finished[0].trades, 1);

    // Delivery versus payment: 72.00 for 8 shares, 1% of it to the platform.
    assert_eq!(wallet(&app, &buyer).await, d("928.00"));
    assert_eq!(
        wallet(&app, &seller).await,
        d("1871.28"),
        "1800 + 72.00 - 0.72"
    );
    assert_eq!(market_escrows(&app).await, Decimal::ZERO);
    let fee: Decimal = sqlx::query_scalar("SELECT sum(fee) FROM market_trades")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(fee, d("0.72"));
    let mine = holding(&app, &buyer).await;
    assert_eq!(
        (
            &mine["shares"],
            &mine["cost"],
            &mine["last_price"],
            &mine["sellable_shares"]
        ),
        (&json!(8), &json!("72.00"), &json!("9.00"), &json!(8))
    );
    let theirs = holding(&app, &seller).await;
    assert_eq!(
        (&theirs["shares"], &theirs["sellable_shares"]),
        (&json!(12), &json!(12))
    );
    // The founder's register now: the seller's rest, the buyer's new holding, the other holder.
    let path = format!("/projects/{project}/market/holders.csv");
    let register = app.html_as(&path, &founder).await;
    let email = |who: &Backer| format!("fixture-{}@example.com", who.id.0.simple());
    let rows: Vec<&str> = register.trim_start_matches('\u{feff}').lines().collect();
    assert_eq!(
        rows[1..],
        [
            format!("Fixture User,{},12,0,8", email(&seller)),
            format!("Fixture User,{},8,8,0", email(&buyer)),
            format!("Fixture User,{},5,0,0", email(&other)),
        ],
        "{register}"
    );
    let theirs = buyer
        .authorize(app.client.get(app.url(&path)))
        .send()
        .await
        .unwrap();
    assert_eq!(
        theirs.status(),
        StatusCode::NOT_FOUND,
        "only the founder reads it"
    );
    let (_, orders) = app.get_json("/me/orders", &seller).await;
    let o = &orders[0];
    assert_eq!(
        (&o["state"], &o["filled"], &o["price"], &o["released"]),
        (&json!("cleared"), &json!(8), &json!("9.00"), &json!(true))
    );
    assert_eq!(notices(&app, &seller, "order_filled").await, 1);
    assert_eq!(notices(&app, &buyer, "order_filled").await, 1);

    // The published book replays to the price, the fills and the root on the ledger.
    let published = book_of(&app, &auction, &buyer).await;
    let orders: Vec<BookOrder> = serde_json::from_value(published["orders"].clone()).unwrap();
    assert_eq!(orders.len(), 2);
    let replayed = book::replay(&orders, d("10.00")).expect("the book replays");
    assert_eq!(replayed.cleared, Some((d("9.00"), 8)));
    assert_eq!(
        hex::encode(replayed.root),
        published["book_root"].as_str().unwrap()
    );
    let entry: Value =
        serde_json::from_str(published["cleared_receipt"]["entry"].as_str().unwrap()).unwrap();
    assert_eq!(entry["kind"], "auction_cleared");
    assert_eq!(
        (
            &entry["clearing_price"],
            &entry["volume"],
            &entry["book_root"],
            &entry["reference_price"]
        ),
        (
            &json!("9.00"),
            &json!(8),
            &published["book_root"],
            &json!("10.00")
        )
    );
    let transfer: String =
        sqlx::query_scalar("SELECT entry FROM ledger_leaves WHERE kind = 'share_transfer'")
            .fetch_one(&app.db)
            .await
            .unwrap();
    let transfer: Value = serde_json::from_str(&transfer).unwrap();
    assert_eq!(
        (&transfer["shares"], &transfer["price"]),
        (&json!(8), &json!("9.00"))
    );
    assert!(
        !transfer.to_string().contains(&buyer.id.to_string()),
        "parties are commitments"
    );

    // The buyer's receipt proves the order is in the book.
    let (status, receipt) = app
        .get_json(
            &format!("/orders/{}/receipt", buy["id"].as_str().unwrap()),
            &buyer,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{receipt}");
    let leaf: [u8; 32] = sha2::Digest::finalize(<sha2::Sha256 as sha2::Digest>::new_with_prefix(
        receipt["leaf"].as_str().unwrap().as_bytes(),
    ))
    .into();
    let path: Vec<merkle::Hash> = receipt["inclusion_path"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            hex::decode(h.as_str().unwrap())
                .unwrap()
                .try_into()
                .unwrap()
        })
        .collect();
    let root: merkle::Hash = hex::decode(receipt["book_root"].as_str().unwrap())
        .unwrap()
        .try_into()
        .unwrap();
    merkle::verify_inclusion(
        &merkle::leaf_hash(&leaf),
        receipt["leaf_index"].as_u64().unwrap(),
        receipt["book_size"].as_u64().unwrap(),
        &path,
        &root,
    )
    .expect("the order is in the book");
    let (status, _) = app
        .get_json(
            &format!("/orders/{}/receipt", buy["id"].as_str().unwrap()),
            &seller,
        )
        .await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "only the owner gets the receipt"
    );

    assert_journal_is_sound(&app.db).await;
    assert_ledger_is_sound(&app.db).await;
    assert!(clear(&app).await.is_empty(), "an auction clears once");
}

#[tokio::test]
async fn without_a_cross_nothing_trades_and_every_hold_returns() {
    let app = TestApp::spawn().await;
    let (seller, buyer) = (app.fixture_backer().await, app.fixture_backer().await);
    let (project, founder) = company(&app, &[(&seller, 20)], 200).await;
    app.fund(&buyer, "1000.00").await;
    let auction = open_auction(&app, project, &founder).await;
    placed(&app, &seller, &auction, "sell", 5, "15.00").await;
    placed(&app, &buyer, &auction, "buy", 5, "10.00").await;
    assert_eq!(wallet(&app, &buyer).await, d("950.00"));

    close(&app, &auction).await;
    let finished = clear(&app).await;
    assert_eq!((finished[0].cleared, finished[0].trades), (None, 0));
    assert_eq!(
        wallet(&app, &buyer).await,
        d("1000.00"),
        "the hold returned"
    );
    assert_eq!(
        holding(&app, &seller).await["sellable_shares"],
        20,
        "the shares are free"
    );
    let published = book_of(&app, &auction, &buyer).await;
    assert_eq!(published["clearing_price"], Value::Null);
    assert_eq!(published["volume"], 0);
    let orders: Vec<BookOrder> = serde_json::from_value(published["orders"].clone()).unwrap();
    assert!(orders.iter().all(|o| o.filled == 0) && orders.len() == 2);
    assert_eq!(book::replay(&orders, d("10.00")).unwrap().cleared, None);
    assert_eq!(notices(&app, &buyer, "order_filled").await, 0);
    assert_journal_is_sound(&app.db).await;
}

#[tokio::test]
async fn an_order_may_be_cancelled_until_the_close_and_not_after() {
    let app = TestApp::spawn().await;
    let (seller, buyer) = (app.fixture_backer().await, app.fixture_backer().await);
    let (project, founder) = company(&app, &[(&seller, 20)], 200).await;
    app.fund(&buyer, "1000.00").await;
    let auction = open_auction(&app, project, &founder).await;
    let first = placed(&app, &buyer, &auction, "buy", 10, "11.00").await;
    let path = format!("/orders/{}", first["id"].as_str().unwrap());

    let (status, _) = app.delete_json(&path, &seller).await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "only its owner cancels an order"
    );
    let (status, cancelled) = app.delete_json(&path, &buyer).await;
    assert_eq!(status, StatusCode::OK, "{cancelled}");
    assert_eq!(
        (&cancelled["state"], &cancelled["released"]),
        (&json!("cancelled"), &json!(true))
    );
    assert_eq!(wallet(&app, &buyer).await, d("1000.00"));
    let (status, _) = app.delete_json(&path, &buyer).await;
    assert_eq!(status, StatusCode::CONFLICT, "once");

    let sell = placed(&app, &seller, &auction, "sell", 10, "9.00").await;
    placed(&app, &buyer, &auction, "buy", 4, "11.00").await;
    close(&app, &auction).await;
    let (status, refused) = app
        .delete_json(
            &format!("/orders/{}", sell["id"].as_str().unwrap()),
            &seller,
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{refused}");
    assert!(
        refused["detail"].as_str().unwrap().contains("closed"),
        "{refused}"
    );
    let (status, _) = order(&app, &buyer, &auction, "buy", 1, "11.00").await;
    assert_eq!(status, StatusCode::CONFLICT, "no order after the close");

    clear(&app).await;
    let published = book_of(&app, &auction, &buyer).await;
    let orders = published["orders"].as_array().unwrap();
    assert_eq!(
        orders.len(),
        2,
        "the cancelled order is not in the book: {published}"
    );
    assert_eq!(
        wallet(&app, &buyer).await,
        d("1000.00") - d("4") * d("9.00")
    );
    assert_journal_is_sound(&app.db).await;
}

#[tokio::test]
async fn shares_inside_the_lock_up_cannot_be_offered() {
    let app = TestApp::spawn_with(|s| s.secondary_lockup_days = 365).await;
    let seller = app.fixture_backer().await;
    let (project, founder) = company(&app, &[(&seller, 20)], 200).await;
    let auction = open_auction(&app, project, &founder).await;
    let (status, refused) = order(&app, &seller, &auction, "sell", 1, "9.00").await;
    assert_eq!(status, StatusCode::CONFLICT, "{refused}");
    assert!(
        refused["detail"].as_str().unwrap().contains("at most 0"),
        "{refused}"
    );
}

#[tokio::test]
async fn buys_count_in_the_investor_limit_also_when_sent_at_once() {
    let app = std::sync::Arc::new(TestApp::spawn().await);
    let (seller, buyer) = (app.fixture_backer().await, app.fixture_backer().await);
    let (project, founder) = company(&app, &[(&seller, 20)], 200).await;
    app.fund(&buyer, "5000.00").await;
    let auction = open_auction(&app, project, &founder).await;
    // Declared 30,000 and 20,000: a limit of 2,500 in 12 months; ten buys of 500 at once.
    let tasks: Vec<_> = (0..10)
        .map(|_| {
            let (app, buyer, auction) = (app.clone(), buyer.clone(), auction.clone());
            tokio::spawn(async move { order(&app, &buyer, &auction, "buy", 50, "10.00").await })
        })
        .collect();
    let mut statuses = Vec::new();
    for task in tasks {
        statuses.push(task.await.unwrap().0);
    }
    let created = statuses
        .iter()
        .filter(|s| **s == StatusCode::CREATED)
        .count();
    let refused = statuses
        .iter()
        .filter(|s| **s == StatusCode::UNPROCESSABLE_ENTITY)
        .count();
    assert_eq!((created, refused), (5, 5), "{statuses:?}");
    assert_eq!(wallet(&app, &buyer).await, d("2500.00"));

    // The market's purchases count against a primary equity pledge too.
    let next = app
        .live_equity_project("10.00", (1, 1000), 1, 200, time::Duration::days(10))
        .await;
    let answer = app
        .pledge(
            &buyer.token,
            next,
            json!({"shares": 1, "acknowledge_risk": true}),
            None,
        )
        .await;
    assert_eq!(answer.0, StatusCode::UNPROCESSABLE_ENTITY, "{}", answer.1);
}

#[tokio::test]
async fn the_holder_cap_leaves_out_new_buyers_past_it_in_price_then_time_order() {
    let app = TestApp::spawn().await;
    let (seller, holder) = (app.fixture_backer().await, app.fixture_backer().await);
    let (early, generous) = (app.fixture_backer().await, app.fixture_backer().await);
    // Two holders and a cap of three: one newcomer fits.
    let (project, founder) = company(&app, &[(&seller, 20), (&holder, 5)], 3).await;
    for who in [&early, &generous] {
        app.fund(who, "1000.00").await;
    }
    let auction = open_auction(&app, project, &founder).await;
    placed(&app, &seller, &auction, "sell", 15, "9.00").await;
    let left_out = placed(&app, &early, &auction, "buy", 5, "11.00").await;
    placed(&app, &generous, &auction, "buy", 5, "12.00").await;
    placed(&app, &holder, &auction, "buy", 5, "11.00").await;

    close(&app, &auction).await;
    let finished = clear(&app).await;
    assert_eq!(finished[0].trades, 2);
    let (_, mine) = app.get_json("/me/orders", &early).await;
    assert_eq!(mine[0]["id"], left_out["id"]);
    assert_eq!(mine[0]["state"], "excluded");
    assert_eq!(
        wallet(&app, &early).await,
        d("1000.00"),
        "its money returned"
    );
    assert_eq!(holding(&app, &early).await, Value::Null);
    assert_eq!(holding(&app, &generous).await["shares"], 5);
    assert_eq!(
        holding(&app, &holder).await["shares"],
        10,
        "a holder is never left out"
    );
    let published = book_of(&app, &auction, &seller).await;
    assert_eq!(published["orders"].as_array().unwrap().len(), 3);
    let holders = holders_ever(&app, project).await;
    assert_eq!(holders, 3);
    assert_journal_is_sound(&app.db).await;
}

#[tokio::test]
async fn the_holder_cap_holds_when_newcomers_buy_at_once_and_two_workers_clear() {
    let app = std::sync::Arc::new(TestApp::spawn().await);
    let (seller, holder) = (app.fixture_backer().await, app.fixture_backer().await);
    // Two holders and a cap of five: three of eight newcomers fit.
    let (project, founder) = company(&app, &[(&seller, 50), (&holder, 5)], 5).await;
    let mut newcomers = Vec::new();
    for _ in 0..8 {
        let who = app.fixture_backer().await;
        app.fund(&who, "1000.00").await;
        newcomers.push(who);
    }
    let auction = open_auction(&app, project, &founder).await;
    placed(&app, &seller, &auction, "sell", 40, "9.00").await;
    let tasks: Vec<_> = newcomers
        .iter()
        .enumerate()
        .map(|(i, who)| {
            let (app, who, auction) = (app.clone(), who.clone(), auction.clone());
            let limit = format!("{}.00", 10 + i);
            tokio::spawn(async move { order(&app, &who, &auction, "buy", 2, &limit).await.0 })
        })
        .collect();
    for task in tasks {
        assert_eq!(
            task.await.unwrap(),
            StatusCode::CREATED,
            "the cap applies at clearing"
        );
    }

    close(&app, &auction).await;
    let (one, other) = (clearer(&app), clearer(&app));
    let (a, b) = tokio::join!(one.clear_due(), other.clear_due());
    let trades: u64 = a.unwrap().iter().chain(&b.unwrap()).map(|f| f.trades).sum();
    assert_eq!(trades, 3, "cleared once, three newcomers trade");
    for (i, who) in newcomers.iter().enumerate() {
        let expected = if i >= 5 { json!(2) } else { Value::Null };
        assert_eq!(
            holding(&app, who)
                .await
                .get("shares")
                .cloned()
                .unwrap_or(Value::Null),
            expected,
            "the three highest limits are admitted (newcomer {i})"
        );
        if i < 5 {
            assert_eq!(wallet(&app, who).await, d("1000.00"), "its money returned");
        }
    }
    let holders = holders_ever(&app, project).await;
    assert_eq!(holders, 5);
    let entries: i64 =
        sqlx::query_scalar("SELECT count(*) FROM ledger_leaves WHERE kind = 'auction_cleared'")
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(entries, 1, "one auction_cleared entry");
    assert_eq!(market_escrows(&app).await, Decimal::ZERO);
    assert_journal_is_sound(&app.db).await;
}

#[tokio::test]
async fn an_auction_that_fails_to_clear_does_not_hold_up_the_others() {
    let app = TestApp::spawn().await;
    let (seller, buyer) = (app.fixture_backer().await, app.fixture_backer().await);
    let (project, founder) = company(&app, &[(&seller, 20)], 200).await;
    app.fund(&buyer, "1000.00").await;
    let auction = open_auction(&app, project, &founder).await;
    placed(&app, &seller, &auction, "sell", 5, "9.00").await;
    placed(&app, &buyer, &auction, "buy", 5, "11.00").await;
    close(&app, &auction).await;
    // A window that closed earlier on a project with no offering: clearing it fails every time.
    let (broken, _) = app.live_reward_project(&[("100.00", None)]).await;
    sqlx::query(
        "INSERT INTO auctions (id, project_id, opens_at, closes_at, created_by)
         VALUES (gen_random_uuid(), $1, now() - interval '3 hours', now() - interval '2 hours', $2)",
    )
    .bind(broken)
    .bind(founder.id)
    .execute(&app.db)
    .await
    .unwrap();

    for pass in 0..2 {
        let failed = clearer(&app).clear_due().await;
        assert!(failed.is_err(), "pass {pass}: the failure is reported");
    }
    assert_eq!(
        holding(&app, &buyer).await["shares"],
        5,
        "the good one cleared"
    );
    let unfinished: Vec<String> =
        sqlx::query_scalar("SELECT id::text FROM auctions WHERE finished_at IS NULL")
            .fetch_all(&app.db)
            .await
            .unwrap();
    assert_eq!(unfinished.len(), 1);
    assert_ne!(unfinished[0], auction);
    assert_journal_is_sound(&app.db).await;
}

#[tokio::test]
async fn a_halted_auction_and_a_frozen_company_trade_nothing() {
    let app = TestApp::spawn().await;
    let (seller, buyer) = (app.fixture_backer().await, app.fixture_backer().await);
    let (project, founder) = company(&app, &[(&seller, 20)], 200).await;
    app.fund(&buyer, "1000.00").await;
    let regulator = app.login_as_regulator().await;
    let reason = json!({"reason": "Unusual trading"});

    let auction = open_auction(&app, project, &founder).await;
    placed(&app, &seller, &auction, "sell", 5, "9.00").await;
    placed(&app, &buyer, &auction, "buy", 5, "11.00").await;
    let (status, _) = app
        .post_json(
            &format!("/regulator/auctions/{auction}/halt"),
            &regulator,
            reason.clone(),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = order(&app, &buyer, &auction, "buy", 1, "11.00").await;
    assert_eq!(
        status,
        StatusCode::CONFLICT,
        "a halted window takes no order"
    );
    let finished = clear(&app).await;
    assert_eq!((finished[0].cleared, finished[0].trades), (None, 0));
    assert_eq!(wallet(&app, &buyer).await, d("1000.00"));
    let (_, orders) = app.get_json("/me/orders", &seller).await;
    assert_eq!(orders[0]["state"], "excluded");
    let (status, _) = app
        .get_json(&format!("/auctions/{auction}/book"), &buyer)
        .await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "a halted auction publishes no book"
    );

    let next = open_auction(&app, project, &founder).await;
    placed(&app, &buyer, &next, "buy", 5, "11.00").await;
    let freeze = format!("/regulator/companies/{project}/freeze");
    let (status, _) = app.post_json(&freeze, &founder, reason.clone()).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, body) = app.post_json(&freeze, &regulator, reason.clone()).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let (status, _) = app.post_json(&freeze, &regulator, reason.clone()).await;
    assert_eq!(status, StatusCode::CONFLICT, "frozen once");
    let (_, halted) = app.get_json(&format!("/auctions/{next}"), &buyer).await;
    assert_eq!(halted["state"], "halted", "freezing halts the open window");
    let (status, refused) = order(&app, &seller, &next, "sell", 1, "9.00").await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(
        refused["detail"].as_str().unwrap().contains("frozen"),
        "{refused}"
    );
    let later = window(time::Duration::hours(2), time::Duration::hours(3));
    let path = format!("/companies/{project}/auctions");
    let (status, _) = app.post_json(&path, &founder, later.clone()).await;
    assert_eq!(status, StatusCode::CONFLICT, "no window while frozen");
    clear(&app).await;
    assert_eq!(wallet(&app, &buyer).await, d("1000.00"));

    let (status, _) = app
        .post_json(
            &format!("/regulator/companies/{project}/unfreeze"),
            &regulator,
            reason,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = app.post_json(&path, &founder, later).await;
    assert_eq!(status, StatusCode::CREATED);
    let actions: Vec<String> = sqlx::query_scalar(
        "SELECT s.action FROM supervision_actions s JOIN ledger_leaves l ON l.tx_hash = s.tx_hash
          WHERE s.project_id = $1 AND s.action LIKE '%trading' ORDER BY s.at",
    )
    .bind(project)
    .fetch_all(&app.db)
    .await
    .unwrap();
    assert_eq!(actions, ["freeze_trading", "unfreeze_trading"]);
    assert_journal_is_sound(&app.db).await;
}

#[tokio::test]
async fn an_idempotency_key_places_one_order() {
    let app = TestApp::spawn().await;
    let (seller, buyer) = (app.fixture_backer().await, app.fixture_backer().await);
    let (project, founder) = company(&app, &[(&seller, 20)], 200).await;
    app.fund(&buyer, "1000.00").await;
    let auction = open_auction(&app, project, &founder).await;
    let send = |shares: i64| {
        app.api(
            reqwest::Method::POST,
            &format!("/auctions/{auction}/orders"),
            &buyer.token,
        )
        .header("Idempotency-Key", "order-1")
        .json(
            &json!({"side": "buy", "shares": shares, "limit_price": "10.00",
                      "annual_income": "30000", "net_worth": "20000"}),
        )
        .send()
    };
    let first = send(3).await.unwrap();
    assert_eq!(first.status(), StatusCode::CREATED);
    let first: Value = first.json().await.unwrap();
    let again = send(3).await.unwrap();
    assert_eq!(again.status(), StatusCode::CREATED);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    let again: Value = again.json().await.unwrap();
    assert_eq!(first["id"], again["id"]);
    assert_eq!(wallet(&app, &buyer).await, d("970.00"), "held once");
    let other = send(4).await.unwrap();
    assert_eq!(other.status(), StatusCode::UNPROCESSABLE_ENTITY);
}

/// Runs `zhonglian verify-auction` (without blocking the runtime the server under test runs on).
async fn verify_auction(args: &[&str]) -> (bool, String) {
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_zhonglian"))
        .arg("verify-auction")
        .args(args)
        .output()
        .await
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[tokio::test]
async fn verify_auction_replays_a_real_auction_and_rejects_a_book_with_one_changed_order() {
    let app = TestApp::spawn().await;
    let (a, b) = (app.fixture_backer().await, app.fixture_backer().await);
    let (c, e) = (app.fixture_backer().await, app.fixture_backer().await);
    let (project, founder) = company(&app, &[(&a, 30), (&b, 30)], 200).await;
    for who in [&c, &e] {
        app.fund(who, "1000.00").await;
    }
    let auction = open_auction(&app, project, &founder).await;
    placed(&app, &a, &auction, "sell", 12, "9.50").await;
    placed(&app, &b, &auction, "sell", 10, "10.50").await;
    placed(&app, &c, &auction, "buy", 15, "11.00").await;
    placed(&app, &e, &auction, "buy", 6, "10.00").await;
    close(&app, &auction).await;
    let finished = clear(&app).await;
    assert!(finished[0].cleared.is_some(), "{finished:?}");

    let url = app.url(&format!("/api/v1/auctions/{auction}/book"));
    let key = app.state.ledger.verifier_key();
    let (ok, out) = verify_auction(&[&url, "--key", &key]).await;
    assert!(ok, "{out}");
    assert!(out.contains("auction replays exactly"), "{out}");

    let saved: Value = reqwest::get(&url).await.unwrap().json().await.unwrap();
    std::fs::create_dir_all(&app.data_dir).unwrap();
    let file = app.data_dir.join("book.json");
    std::fs::write(&file, saved.to_string()).unwrap();
    let server = app.url("");
    let file_arg = file.to_str().unwrap();
    let (ok, out) = verify_auction(&[file_arg, "--server", &server, "--key", &key]).await;
    assert!(
        ok,
        "a saved book checks against the server's latest checkpoint: {out}"
    );

    // One order's limit changed: its fill no longer follows, or the root no longer matches.
    let mut changed = saved.clone();
    changed["orders"][3]["limit_price"] = json!("9.00");
    std::fs::write(&file, changed.to_string()).unwrap();
    let (ok, out) = verify_auction(&[file_arg, "--server", &server, "--key", &key]).await;
    assert!(!ok, "{out}");
    assert!(
        out.contains("FAIL") && out.contains("does NOT replay"),
        "{out}"
    );

    // A fill changed alone is named.
    let mut changed = saved.clone();
    let filled = changed["orders"][0]["filled"].as_u64().unwrap();
    changed["orders"][0]["filled"] = json!(filled + 1);
    std::fs::write(&file, changed.to_string()).unwrap();
    let (ok, out) = verify_auction(&[file_arg, "--server", &server, "--key", &key]).await;
    assert!(!ok && out.contains("order 0"), "{out}");

    // Another log's key does not vouch for the entry.
    let other = zhonglian::ledger::Ledger::new("other.example/log", [7; 32]).verifier_key();
    let (ok, out) = verify_auction(&[&url, "--key", &other]).await;
    assert!(!ok, "{out}");
}

async fn count(db: &sqlx::PgPool, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(db).await.unwrap()
}

#[tokio::test]
async fn a_server_killed_mid_settlement_of_an_auction_settles_every_trade_exactly_once() {
    use crate::auction_fixtures::{close_auction, open_auction_book};
    use crate::fixtures::{backed_project, make_due, Shape};
    let app = TestApp::spawn().await;
    let p = backed_project(
        &app.db,
        3000,
        d("10.00"),
        d("100.00"),
        Shape::Equity { min_shares: 1 },
    )
    .await
    .unwrap();
    make_due(&app.db, p.project).await.unwrap();
    Settler::new(&app.state).settle_due(&|_| {}).await.unwrap();
    let book = open_auction_book(&app.db, p.project, p.founder, 3000)
        .await
        .unwrap();
    assert_eq!((book.sells, book.buys), (3000, 3000));
    close_auction(&app.db, book.auction).await.unwrap();
    let settled = "SELECT count(*) FROM market_trades WHERE tx_hash IS NOT NULL";

    let mut server = spawn_server(&app, "100");
    let mut seen = 0;
    for _ in 0..3000 {
        seen = count(&app.db, settled).await;
        if seen > 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    server.kill().unwrap(); // SIGKILL, mid-settlement
    server.wait().unwrap();
    let trades = count(&app.db, "SELECT count(*) FROM market_trades").await;
    let at_crash = count(&app.db, settled).await;
    assert!(
        seen > 0 && at_crash < trades && trades > 500,
        "killed mid-settlement ({at_crash} of {trades} trades settled)"
    );
    assert_eq!(at_crash % 100, 0, "a batch is all or nothing");
    assert_journal_is_sound(&app.db).await;
    assert_ledger_is_sound(&app.db).await;

    let mut server = spawn_server(&app, "100");
    let mut finished = false;
    for _ in 0..1200 {
        let done = "SELECT count(*) FROM auctions WHERE finished_at IS NOT NULL";
        if count(&app.db, done).await == 1 {
            finished = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(server.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    server.wait().unwrap();
    assert!(finished, "the restarted server finished the auction");

    assert_eq!(count(&app.db, settled).await, trades);
    let leaves = "SELECT count(*) FROM ledger_leaves WHERE kind = 'share_transfer'";
    assert_eq!(
        count(&app.db, leaves).await,
        trades,
        "one entry per trade, no duplicate"
    );
    let paid = "SELECT count(*) FROM journal_entries WHERE kind = 'trade_settled'";
    assert_eq!(count(&app.db, paid).await, trades, "each seller paid once");
    let unreleased = "SELECT count(*) FROM market_orders WHERE released_at IS NULL";
    assert_eq!(count(&app.db, unreleased).await, 0);
    let cleared = "SELECT count(*) FROM ledger_leaves WHERE kind = 'auction_cleared'";
    assert_eq!(count(&app.db, cleared).await, 1, "cleared once");
    assert_eq!(
        market_escrows(&app).await,
        Decimal::ZERO,
        "every hold paid or returned"
    );
    // Shares are conserved and nobody holds fewer than none: per holder, the register plus
    // what they bought less what they sold.
    let (total, lowest): (i64, i64) = sqlx::query_as(
        "SELECT sum(n)::int8, min(n)::int8 FROM (
             SELECT holder, sum(shares) AS n FROM (
                 SELECT holder_id AS holder, shares FROM share_lots WHERE project_id = $1
                 UNION ALL SELECT buyer_id, shares FROM market_trades WHERE project_id = $1
                 UNION ALL SELECT seller_id, -shares FROM market_trades WHERE project_id = $1
             ) lots GROUP BY holder) h",
    )
    .bind(p.project)
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!((total, lowest), (3000, 0), "sellers who sold hold none");
    let sold_twice = "SELECT count(*) FROM (SELECT sell_order FROM market_trades
                        GROUP BY sell_order HAVING sum(shares) > 1) t";
    assert_eq!(
        count(&app.db, sold_twice).await,
        0,
        "no share is sold twice"
    );
    assert_journal_is_sound(&app.db).await;
    assert_ledger_is_sound(&app.db).await;
}

/// A backer who signed up in `c`, with a token of theirs for the API.
async fn signed_up(
    c: &fantoccini::Client,
    app: &TestApp,
    email: &str,
    name: &str,
) -> Result<Backer, fantoccini::error::CmdError> {
    crate::browser::sign_up(c, app, email, name).await?;
    crate::browser::text_of(c, "#current-user").await;
    let id: uuid::Uuid = sqlx::query_scalar("SELECT id FROM users WHERE email = $1")
        .bind(email)
        .fetch_one(&app.db)
        .await
        .unwrap();
    Ok(Backer {
        id: zhonglian::accounts::domain::UserId(id),
        token: app.login(email).await,
    })
}

/// Places an order through the market page's form in `c`.
async fn order_in_browser(
    c: &fantoccini::Client,
    market: &str,
    side: &str,
    shares: &str,
    price: &str,
    declare: bool,
) -> Result<String, fantoccini::error::CmdError> {
    use crate::browser::{fill, text_of};
    use fantoccini::Locator;
    c.goto(market).await?;
    c.find(Locator::Id(&format!("order-{side}")))
        .await?
        .click()
        .await?;
    fill(c, "#order-shares", shares).await?;
    fill(c, "#order-limit", price).await?;
    if declare {
        fill(c, "#order-income", "30000").await?;
        fill(c, "#order-worth", "20000").await?;
    }
    c.find(Locator::Id("order-submit")).await?.click().await?;
    Ok(text_of(c, "#notice").await)
}

#[tokio::test]
async fn on_phones_a_holder_sells_a_buyer_buys_and_both_see_the_fill_and_the_new_holding() {
    use crate::browser::{page_width, phone, text_of, PHONE};
    let app = TestApp::spawn().await;
    let (seller_c, buyer_c) = (phone().await, phone().await);
    let outcome = async {
        let seller = signed_up(&seller_c, &app, "holder@example.com", "Holder").await?;
        let buyer = signed_up(&buyer_c, &app, "buyer@example.com", "Buyer").await?;
        let (project, founder) = company(&app, &[(&seller, 20)], 200).await;
        app.fund(&buyer, "1000.00").await;
        let auction = open_auction(&app, project, &founder).await;
        let slug: String = sqlx::query_scalar("SELECT slug FROM projects WHERE id = $1")
            .bind(project)
            .fetch_one(&app.db)
            .await
            .unwrap();
        let market = app.url(&format!("/projects/{slug}/market"));
        let sold = order_in_browser(&seller_c, &market, "sell", "5", "9.00", false).await?;
        let bought = order_in_browser(&buyer_c, &market, "buy", "5", "11.00", true).await?;
        let indicative = text_of(&buyer_c, "#indicative").await;
        let width = page_width(&buyer_c).await?;

        close(&app, &auction).await;
        clear(&app).await;
        let mut seen = Vec::new();
        for c in [&seller_c, &buyer_c] {
            c.goto(&market).await?;
            let order = text_of(c, "tr.order .order-state").await;
            let past = text_of(c, "#past .past-price").await;
            c.goto(&app.url("/me/holdings")).await?;
            let shares = text_of(c, "tr.holding .holding-shares").await;
            c.goto(&app.url("/me/notifications")).await?;
            let told = text_of(c, "main").await;
            seen.push((order, past, shares, told));
        }
        Ok::<_, fantoccini::error::CmdError>((sold, bought, indicative, width, seen))
    }
    .await;
    seller_c.close().await.ok();
    buyer_c.close().await.ok();
    let (sold, bought, indicative, width, seen) = outcome.expect("the browser sessions");
    for notice in [&sold, &bought] {
        assert!(
            notice.contains("order is placed") || notice.contains("委托已提交"),
            "{notice}"
        );
    }
    assert!(indicative.contains("5"), "{indicative}");
    assert!(
        width <= u64::from(PHONE.0),
        "the market page is {width} px wide"
    );
    let (seller_sees, buyer_sees) = (&seen[0], &seen[1]);
    for (order, past, _, told) in [seller_sees, buyer_sees] {
        assert!(
            order.contains("5 / 5") || order.contains("5 of 5"),
            "{order}"
        );
        assert!(past.contains("9.00"), "{past}");
        assert!(
            told.contains("traded 5") || told.contains("成交 5"),
            "{told}"
        );
    }
    assert_eq!(seller_sees.2, "15");
    assert_eq!(buyer_sees.2, "5");
}

#[tokio::test]
async fn the_founder_schedules_a_window_from_the_market_page() {
    use crate::support::{form_field, Caller};
    let app = TestApp::spawn().await;
    let seller = app.fixture_backer().await;
    let (project, founder) = company(&app, &[(&seller, 20)], 200).await;
    let slug: String = sqlx::query_scalar("SELECT slug FROM projects WHERE id = $1")
        .bind(project)
        .fetch_one(&app.db)
        .await
        .unwrap();
    let path = format!("/projects/{slug}/market");
    let page = app.html_as(&path, &founder).await;
    assert!(page.contains("id=\"schedule-form\""), "{page}");
    assert!(
        !app.html_as(&path, &seller)
            .await
            .contains("id=\"schedule-form\""),
        "only the founder is offered the form"
    );
    let csrf = form_field(&page, "csrf");
    let post = |opens: &'static str, lasts: &'static str| {
        founder
            .authorize(app.client.post(app.url(&format!("{path}/auctions"))))
            .form(&[
                ("csrf", csrf.as_str()),
                ("opens_in_hours", opens),
                ("lasts_hours", lasts),
            ])
            .send()
    };
    let refused = post("0", "1000").await.unwrap();
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let refused = refused.text().await.unwrap();
    assert!(
        refused.contains("id=\"schedule-error-summary\""),
        "{refused}"
    );
    let done = post("0", "48").await.unwrap();
    assert_eq!(done.status(), StatusCode::SEE_OTHER);
    let (_, listed) = app
        .get_json(&format!("/companies/{project}/auctions"), &founder)
        .await;
    assert_eq!(listed[0]["state"], "open", "{listed}");
    let page = app.html_as(&path, &seller).await;
    assert!(
        page.contains("id=\"order-form\""),
        "the window takes orders"
    );
}
