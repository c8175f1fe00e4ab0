//! The journal: balanced entries, no overdraft, append-only, exactly-once keys.

use rust_decimal::Decimal;
use zhonglian::money::{self, AccountOwner, EntryKind, Money, Posting, Transfer};

use crate::support::TestApp;

#[tokio::test]
async fn a_transfer_moves_money_and_the_books_balance() {
    let app = TestApp::spawn().await;
    let backer = app.fixture_backer().await;
    let me = app
        .client
        .get(app.url("/api/v1/me"))
        .bearer_auth(&backer.token)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 200, "fixture users can use the API");
    app.fund(&backer, "300.00").await;
    assert_eq!(app.wallet_balance(&backer).await, Decimal::new(30000, 2));
    app.assert_books_balance().await;
}

#[tokio::test]
async fn a_wallet_can_never_go_below_zero() {
    let app = TestApp::spawn().await;
    let backer = app.fixture_backer().await;
    app.fund(&backer, "10.00").await;
    let mut conn = app.db.acquire().await.unwrap();
    let wallet = money::account_for(&mut conn, AccountOwner::BackerWallet(backer.id), "CNY")
        .await
        .unwrap();
    let fee = money::account_for(&mut conn, AccountOwner::PlatformFee, "CNY")
        .await
        .unwrap();
    let refused = money::transfer(
        &mut conn,
        Transfer {
            from: wallet,
            to: fee,
            amount: Money::parse("10.01").unwrap(),
            kind: EntryKind::Fee,
            reference: "test",
            once_key: None,
        },
    )
    .await;
    assert_eq!(refused.unwrap_err().status_code(), 409);
    assert_eq!(app.wallet_balance(&backer).await, Decimal::new(1000, 2));
    app.assert_books_balance().await;
}

#[tokio::test]
async fn the_database_refuses_an_entry_that_does_not_sum_to_zero() {
    let app = TestApp::spawn().await;
    let backer = app.fixture_backer().await;
    app.fund(&backer, "10.00").await;
    let mut tx = app.db.begin().await.unwrap();
    let wallet = money::account_for(&mut tx, AccountOwner::BackerWallet(backer.id), "CNY")
        .await
        .unwrap();
    let entry: i64 = sqlx::query_scalar(
        "INSERT INTO journal_entries (kind, reference) VALUES ('fee', 'forged') RETURNING id",
    )
    .fetch_one(&mut *tx)
    .await
    .unwrap();
    sqlx::query("INSERT INTO journal_postings (entry_id, account_id, amount) VALUES ($1, $2, 5)")
        .bind(entry)
        .bind(wallet.0)
        .execute(&mut *tx)
        .await
        .unwrap();
    let commit = tx.commit().await;
    let error = commit.unwrap_err();
    assert!(
        matches!(&error, sqlx::Error::Database(d) if d.constraint() == Some("journal_entry_balanced")),
        "{error}"
    );
    let refused = sqlx::query("DELETE FROM journal_postings")
        .execute(&app.db)
        .await;
    assert!(refused.is_err(), "the journal is append-only");
    app.assert_books_balance().await;
}

#[tokio::test]
async fn an_entry_with_a_once_key_happens_at_most_once() {
    let app = TestApp::spawn().await;
    let backer = app.fixture_backer().await;
    let mut conn = app.db.acquire().await.unwrap();
    let gateway = money::account_for(&mut conn, AccountOwner::Gateway, "CNY")
        .await
        .unwrap();
    let wallet = money::account_for(&mut conn, AccountOwner::BackerWallet(backer.id), "CNY")
        .await
        .unwrap();
    let mut made = 0;
    for _ in 0..3 {
        let lines = [
            Posting {
                account: gateway,
                amount: Decimal::new(-500, 2),
            },
            Posting {
                account: wallet,
                amount: Decimal::new(500, 2),
            },
        ];
        let entry = money::post_entry(
            &mut conn,
            EntryKind::Deposit,
            "deposit:x",
            Some("deposit:x"),
            &lines,
        )
        .await
        .unwrap();
        made += usize::from(entry.is_some());
    }
    assert_eq!(made, 1);
    assert_eq!(app.wallet_balance(&backer).await, Decimal::new(500, 2));
    app.assert_books_balance().await;
}
