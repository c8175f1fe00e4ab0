//! Settlement: all-or-nothing, exactly once, anchored in the ledger, receipts for everyone.

use std::process::{Child, Command};
use std::str::FromStr;
use std::time::Duration;

use rust_decimal::Decimal;
use sqlx::PgPool;
use uuid::Uuid;
use zhonglian::accounts::domain::Role;
use zhonglian::ledger::merkle;
use zhonglian::ledger::store;
use zhonglian::settlement::Settler;

use crate::fixtures::{backed_project, make_due, Backed, Shape};
use crate::support::TestApp;

fn d(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}

async fn settle(app: &TestApp) -> Vec<zhonglian::settlement::ProjectSettled> {
    Settler::new(&app.state).settle_due(&|_| {}).await.unwrap()
}

async fn state_of(db: &PgPool, project: Uuid) -> String {
    sqlx::query_scalar("SELECT state FROM projects WHERE id = $1")
        .bind(project)
        .fetch_one(db)
        .await
        .unwrap()
}

pub(crate) async fn balance(db: &PgPool, kind: &str, owner: Uuid) -> Decimal {
    sqlx::query_scalar(
        "SELECT coalesce(sum(balance), 0) FROM money_accounts WHERE kind = $1 AND owner_id = $2",
    )
    .bind(kind)
    .bind(owner)
    .fetch_one(db)
    .await
    .unwrap()
}

/// Every journal entry balances, the whole journal sums to zero, every balance is the sum of
/// its account's postings, and no wallet or escrow is below zero.
pub(crate) async fn assert_journal_is_sound(db: &PgPool) {
    let check = zhonglian::money::check_journal(db).await.unwrap();
    assert!(check.is_sound(), "the books do not balance: {check:?}");
}

/// The ledger is contiguous from 0, its head is the root of a rebuild, and every stored
/// checkpoint is consistent with the next.
pub(crate) async fn assert_ledger_is_sound(db: &PgPool) {
    let hashes: Vec<Vec<u8>> = sqlx::query_scalar("SELECT tx_hash FROM ledger_leaves ORDER BY idx")
        .fetch_all(db)
        .await
        .unwrap();
    let max: Option<i64> = sqlx::query_scalar("SELECT max(idx) FROM ledger_leaves")
        .fetch_one(db)
        .await
        .unwrap();
    assert_eq!(max.map_or(0, |m| m + 1), hashes.len() as i64, "no gap");
    let leaves: Vec<merkle::Hash> = hashes.iter().map(|h| merkle::leaf_hash(h)).collect();
    let (size, root) = store::head(db).await.unwrap();
    assert_eq!(size, leaves.len() as u64);
    assert_eq!(
        root,
        merkle::root_of(&leaves),
        "the head is the root of a rebuild"
    );
    let checkpoints: Vec<(i64, Vec<u8>)> =
        sqlx::query_as("SELECT size, root FROM ledger_checkpoints ORDER BY size")
            .fetch_all(db)
            .await
            .unwrap();
    for pair in checkpoints.windows(2) {
        let ((a, ra), (b, rb)) = (&pair[0], &pair[1]);
        assert_eq!(ra.as_slice(), merkle::root_of(&leaves[..*a as usize]));
        let proof = store::consistency(db, *a as u64, *b as u64).await.unwrap();
        merkle::verify_consistency(*a as u64, *b as u64, ra, rb, &proof.path)
            .unwrap_or_else(|e| panic!("checkpoint {a} -> {b}: {e}"));
    }
}

async fn count(db: &PgPool, sql: &str, project: Uuid) -> i64 {
    sqlx::query_scalar(sql)
        .bind(project)
        .fetch_one(db)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_funded_reward_project_collects_every_pledge_to_the_cent() {
    let app = TestApp::spawn().await;
    // 7 x 14.30 = 100.10; the 5% fee is 5.005, charged as 5.01; the founder gets 95.09.
    let p = backed_project(&app.db, 7, d("14.30"), d("100.00"), Shape::Reward)
        .await
        .unwrap();
    make_due(&app.db, p.project).await.unwrap();
    let settled = settle(&app).await;
    assert_eq!(settled.len(), 1);
    assert_eq!(settled[0].collected, d("100.10"));
    assert_eq!(settled[0].fee, d("5.01"));

    assert_eq!(state_of(&app.db, p.project).await, "funded");
    let collected = count(
        &app.db,
        "SELECT count(*) FROM pledges WHERE project_id = $1 AND state = 'collected'",
        p.project,
    )
    .await;
    assert_eq!(collected, 7);
    assert_eq!(
        balance(&app.db, "project_escrow", p.project).await,
        Decimal::ZERO
    );
    assert_eq!(
        balance(&app.db, "platform_fee", Uuid::nil()).await,
        d("5.01")
    );
    let (payout, sent): (Decimal, String) =
        sqlx::query_as("SELECT amount, state FROM payouts WHERE project_id = $1")
            .bind(p.project)
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!((payout, sent.as_str()), (d("95.09"), "sent"));
    assert_eq!(
        balance(&app.db, "founder_wallet", p.founder).await,
        Decimal::ZERO,
        "paid out to the bank"
    );

    let kinds: Vec<String> = sqlx::query_scalar("SELECT kind FROM ledger_leaves ORDER BY idx")
        .fetch_all(&app.db)
        .await
        .unwrap();
    assert_eq!(kinds.iter().filter(|k| *k == "pledge_collected").count(), 7);
    assert_eq!(kinds.iter().filter(|k| *k == "fee").count(), 1);
    assert_eq!(kinds.iter().filter(|k| *k == "payout").count(), 1);
    let fee_entry: String =
        sqlx::query_scalar("SELECT entry FROM ledger_leaves WHERE kind = 'fee'")
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert!(
        fee_entry.contains("\"amount\":\"5.01\"") && fee_entry.contains("\"collected\":\"100.10\"")
    );
    let founders_notified = count(
        &app.db,
        "SELECT count(*) FROM notifications WHERE user_id = $1 AND kind = 'project_funded'",
        p.founder,
    )
    .await;
    assert_eq!(founders_notified, 1);
    assert_journal_is_sound(&app.db).await;
    assert_ledger_is_sound(&app.db).await;

    let again = settle(&app).await;
    assert!(again.is_empty(), "a settled project is never settled again");
}

#[tokio::test]
async fn a_failed_reward_project_refunds_every_pledge_to_the_wallets() {
    let app = TestApp::spawn().await;
    let p = backed_project(&app.db, 5, d("10.00"), d("1000.00"), Shape::Reward)
        .await
        .unwrap();
    make_due(&app.db, p.project).await.unwrap();
    settle(&app).await;
    assert_eq!(state_of(&app.db, p.project).await, "failed");
    let refunded: Decimal = sqlx::query_scalar(
        "SELECT sum(a.balance) FROM money_accounts a JOIN pledges p ON p.backer_id = a.owner_id
          WHERE p.project_id = $1 AND a.kind = 'backer_wallet' AND p.state = 'refunded'",
    )
    .bind(p.project)
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(refunded, d("50.00"));
    assert_eq!(
        balance(&app.db, "project_escrow", p.project).await,
        Decimal::ZERO
    );
    let leaves: i64 =
        sqlx::query_scalar("SELECT count(*) FROM ledger_leaves WHERE kind = 'pledge_refunded'")
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(leaves, 5);
    let fees: i64 =
        sqlx::query_scalar("SELECT count(*) FROM ledger_leaves WHERE kind IN ('fee', 'payout')")
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(fees, 0, "a failed project pays no fee and no payout");
    assert_journal_is_sound(&app.db).await;
    assert_ledger_is_sound(&app.db).await;
}

#[tokio::test]
async fn a_funded_equity_offering_issues_shares_into_the_register() {
    let app = TestApp::spawn().await;
    let p = backed_project(
        &app.db,
        6,
        d("25.00"),
        d("125.00"),
        Shape::Equity { min_shares: 5 },
    )
    .await
    .unwrap();
    make_due(&app.db, p.project).await.unwrap();
    let settled = settle(&app).await;
    assert_eq!(settled[0].collected, d("150.00"));
    assert_eq!(settled[0].fee, d("7.50"));
    assert_eq!(state_of(&app.db, p.project).await, "funded");
    let (holders, shares): (i64, Option<Decimal>) = sqlx::query_as(
        "SELECT count(DISTINCT holder_id), sum(shares)::numeric FROM share_register WHERE project_id = $1",
    )
    .bind(p.project)
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!((holders, shares), (6, Some(d("6"))));
    let issued: i64 =
        sqlx::query_scalar("SELECT count(*) FROM ledger_leaves WHERE kind = 'shares_issued'")
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(issued, 6);
    assert_journal_is_sound(&app.db).await;
    assert_ledger_is_sound(&app.db).await;
}

#[tokio::test]
async fn an_equity_offering_below_its_minimum_refunds_every_investor() {
    let app = TestApp::spawn().await;
    let p = backed_project(
        &app.db,
        3,
        d("25.00"),
        d("250.00"),
        Shape::Equity { min_shares: 10 },
    )
    .await
    .unwrap();
    make_due(&app.db, p.project).await.unwrap();
    settle(&app).await;
    assert_eq!(state_of(&app.db, p.project).await, "failed");
    assert_eq!(
        count(
            &app.db,
            "SELECT count(*) FROM share_register WHERE project_id = $1",
            p.project
        )
        .await,
        0
    );
    assert_eq!(
        balance(&app.db, "project_escrow", p.project).await,
        Decimal::ZERO
    );
    assert_journal_is_sound(&app.db).await;
}

#[tokio::test]
async fn a_project_with_no_pledges_fails_and_writes_nothing_to_the_ledger() {
    let app = TestApp::spawn().await;
    let p = backed_project(&app.db, 0, d("10.00"), d("100.00"), Shape::Reward)
        .await
        .unwrap();
    make_due(&app.db, p.project).await.unwrap();
    let before = store::size(&app.db).await.unwrap();
    settle(&app).await;
    assert_eq!(state_of(&app.db, p.project).await, "failed");
    assert_eq!(store::size(&app.db).await.unwrap(), before);
    assert_journal_is_sound(&app.db).await;
}

#[tokio::test]
async fn a_frozen_project_is_not_settled_until_unfrozen() {
    let app = TestApp::spawn().await;
    let p = backed_project(&app.db, 4, d("30.00"), d("100.00"), Shape::Reward)
        .await
        .unwrap();
    make_due(&app.db, p.project).await.unwrap();
    sqlx::query("UPDATE projects SET state = 'frozen' WHERE id = $1")
        .bind(p.project)
        .execute(&app.db)
        .await
        .unwrap();
    assert!(settle(&app).await.is_empty());
    assert_eq!(state_of(&app.db, p.project).await, "frozen");
    assert_eq!(
        count(
            &app.db,
            "SELECT count(*) FROM pledges WHERE project_id = $1 AND state = 'active'",
            p.project
        )
        .await,
        4
    );

    sqlx::query("UPDATE projects SET state = 'live' WHERE id = $1")
        .bind(p.project)
        .execute(&app.db)
        .await
        .unwrap();
    assert_eq!(settle(&app).await.len(), 1);
    assert_eq!(state_of(&app.db, p.project).await, "funded");
}

#[tokio::test]
async fn a_project_cancelled_by_the_regulator_refunds_every_pledge() {
    let app = TestApp::spawn().await;
    let p = backed_project(&app.db, 4, d("30.00"), d("100.00"), Shape::Reward)
        .await
        .unwrap();
    sqlx::query("UPDATE projects SET state = 'cancelled' WHERE id = $1")
        .bind(p.project)
        .execute(&app.db)
        .await
        .unwrap();
    settle(&app).await;
    assert_eq!(state_of(&app.db, p.project).await, "cancelled");
    assert_eq!(
        count(
            &app.db,
            "SELECT count(*) FROM pledges WHERE project_id = $1 AND state = 'refunded'",
            p.project
        )
        .await,
        4
    );
    let reason: String = sqlx::query_scalar(
        "SELECT entry FROM ledger_leaves WHERE kind = 'pledge_refunded' LIMIT 1",
    )
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert!(reason.contains("project_cancelled"));
    assert_journal_is_sound(&app.db).await;
}

#[tokio::test]
async fn two_workers_at_once_settle_each_project_once() {
    let app = TestApp::spawn().await;
    let mut projects = Vec::new();
    for i in 0..4 {
        let goal = if i % 2 == 0 { "100.00" } else { "100000.00" };
        let p = backed_project(&app.db, 300, d("7.77"), d(goal), Shape::Reward)
            .await
            .unwrap();
        make_due(&app.db, p.project).await.unwrap();
        projects.push(p);
    }
    let a = Settler::new(&app.state).with_batch_size(40);
    let b = Settler::new(&app.state).with_batch_size(40);
    let (ra, rb) = tokio::join!(a.settle_due(&|_| {}), b.settle_due(&|_| {}));
    ra.unwrap();
    rb.unwrap();
    for (i, p) in projects.iter().enumerate() {
        let expected = if i % 2 == 0 { "funded" } else { "failed" };
        assert_eq!(state_of(&app.db, p.project).await, expected);
        let records = count(&app.db, "SELECT count(*) FROM settlement_transactions WHERE project_id = $1 AND pledge_id IS NOT NULL", p.project).await;
        assert_eq!(records, 300, "each pledge settled exactly once");
        assert_eq!(
            balance(&app.db, "project_escrow", p.project).await,
            Decimal::ZERO
        );
    }
    let leaves = store::size(&app.db).await.unwrap();
    assert_eq!(
        leaves,
        4 * 300 + 2 * 2,
        "pledges, plus fee and payout of the two funded ones"
    );
    assert_journal_is_sound(&app.db).await;
    assert_ledger_is_sound(&app.db).await;
}

#[tokio::test]
async fn every_receipt_of_a_settled_project_verifies_with_the_cli() {
    let app = TestApp::spawn().await;
    let p = backed_project(&app.db, 4, d("50.00"), d("100.00"), Shape::Reward)
        .await
        .unwrap();
    make_due(&app.db, p.project).await.unwrap();
    settle(&app).await;
    let auditor = app.login_as_staff(Role::Auditor).await;
    let pledges: Vec<Uuid> = sqlx::query_scalar("SELECT id FROM pledges WHERE project_id = $1")
        .bind(p.project)
        .fetch_all(&app.db)
        .await
        .unwrap();
    std::fs::create_dir_all(&app.data_dir).unwrap();
    let key = app.state.ledger.verifier_key();
    for pledge in pledges {
        let receipt = app
            .client
            .get(app.url(&format!("/api/v1/pledges/{pledge}/receipt")))
            .bearer_auth(&auditor)
            .send()
            .await
            .unwrap();
        assert_eq!(receipt.status(), 200);
        let file = app.data_dir.join(format!("{pledge}.json"));
        std::fs::write(&file, receipt.text().await.unwrap()).unwrap();
        let out = Command::new(env!("CARGO_BIN_EXE_zhonglian"))
            .args(["verify-receipt", file.to_str().unwrap(), "--key", &key])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stdout)
        );
    }
    let stranger = app.login_as_backer().await;
    let refused = app
        .client
        .get(app.url(&format!("/api/v1/pledges/{}/receipt", Uuid::new_v4())))
        .bearer_auth(stranger)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 404);
}

/// The server as a process of its own on the test's database, settling `batch` pledges (or
/// trades) per transaction: a process that can be killed.
pub(crate) fn spawn_server(app: &TestApp, batch: &str) -> Child {
    crate::support::serve_command(app, &app.data_dir)
        .env("BIND", "127.0.0.1:0")
        .env("SETTLEMENT_BATCH_SIZE", batch)
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("server")
}

#[tokio::test]
async fn a_server_killed_mid_settlement_resumes_and_settles_every_pledge_exactly_once() {
    let app = TestApp::spawn().await;
    let p: Backed = backed_project(&app.db, 20_000, d("3.33"), d("1000.00"), Shape::Reward)
        .await
        .unwrap();
    // A checkpoint taken before the crash, which every later one must extend.
    let (before_size, before_root) = store::head(&app.db).await.unwrap();
    make_due(&app.db, p.project).await.unwrap();

    let mut server = spawn_server(&app, "500");
    let collected = |db: PgPool| async move {
        count(
            &db,
            "SELECT count(*) FROM pledges WHERE project_id = $1 AND state = 'collected'",
            p.project,
        )
        .await
    };
    let mut seen = 0;
    for _ in 0..3000 {
        seen = collected(app.db.clone()).await;
        if seen > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    server.kill().unwrap(); // SIGKILL, mid-settlement
    server.wait().unwrap();
    let at_crash = collected(app.db.clone()).await;
    assert!(
        seen > 0 && at_crash < 20_000,
        "killed mid-settlement ({at_crash} collected)"
    );
    assert_eq!(at_crash % 500, 0, "a batch is all or nothing");
    assert_journal_is_sound(&app.db).await;
    assert_ledger_is_sound(&app.db).await;

    let mut server = spawn_server(&app, "500");
    let mut finished = false;
    for _ in 0..1200 {
        if state_of(&app.db, p.project).await == "funded" {
            finished = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(server.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    server.wait().unwrap();
    assert!(finished, "the restarted server finished the settlement");

    assert_eq!(collected(app.db.clone()).await, 20_000);
    let records = count(&app.db, "SELECT count(DISTINCT pledge_id) FROM settlement_transactions WHERE project_id = $1 AND kind = 'pledge_collected'", p.project).await;
    assert_eq!(records, 20_000, "every pledge collected exactly once");
    let leaves: i64 =
        sqlx::query_scalar("SELECT count(*) FROM ledger_leaves WHERE kind = 'pledge_collected'")
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(leaves, 20_000, "one ledger entry per pledge, no duplicate");
    assert_eq!(
        balance(&app.db, "project_escrow", p.project).await,
        Decimal::ZERO
    );
    assert_journal_is_sound(&app.db).await;
    assert_ledger_is_sound(&app.db).await;
    let (size, root) = store::head(&app.db).await.unwrap();
    let proof = store::consistency(&app.db, before_size, size)
        .await
        .unwrap();
    merkle::verify_consistency(before_size, size, &before_root, &root, &proof.path)
        .expect("the ledger after the crash extends the checkpoint from before it");
}

#[tokio::test]
async fn a_backer_opens_the_receipt_of_a_settled_pledge_and_the_verify_page_says_valid() {
    use fantoccini::Locator;
    use zhonglian::accounts::domain::UserId;
    use zhonglian::money::{self, AccountOwner, Posting};
    use zhonglian::pledges::PledgeRequest;
    use zhonglian::projects::{ProjectId, TierId};

    let app = TestApp::spawn().await;
    let p = backed_project(&app.db, 3, d("20.00"), d("50.00"), Shape::Reward)
        .await
        .unwrap();
    let user = app.signup("settled@example.com", "backer").await;
    let backer = UserId(user["id"].as_str().unwrap().parse().unwrap());
    let mut tx = app.db.begin().await.unwrap();
    let wallet = money::account_for(&mut tx, AccountOwner::BackerWallet(backer), "CNY")
        .await
        .unwrap();
    let gateway = money::account_for(&mut tx, AccountOwner::Gateway, "CNY")
        .await
        .unwrap();
    money::post_entry(
        &mut tx,
        money::EntryKind::Deposit,
        "test:deposit",
        None,
        &[
            Posting {
                account: gateway,
                amount: -d("20.00"),
            },
            Posting {
                account: wallet,
                amount: d("20.00"),
            },
        ],
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let tier: Uuid = sqlx::query_scalar("SELECT id FROM reward_tiers WHERE project_id = $1")
        .bind(p.project)
        .fetch_one(&app.db)
        .await
        .unwrap();
    let pledge = app
        .state
        .pledge_desk
        .create(
            backer,
            ProjectId(p.project),
            &PledgeRequest::Reward {
                tier: Some(TierId(tier)),
                amount: zhonglian::money::Money::parse("20.00").unwrap(),
            },
            None,
        )
        .await
        .unwrap()
        .pledge;
    make_due(&app.db, p.project).await.unwrap();
    settle(&app).await;

    let c = crate::browser::browser().await;
    let result = async {
        c.goto(&app.url("/login")).await?;
        c.find(Locator::Css("input[name=email]"))
            .await?
            .send_keys("settled@example.com")
            .await?;
        c.find(Locator::Css("input[name=password]"))
            .await?
            .send_keys("correct horse battery")
            .await?;
        c.find(Locator::Id("login-submit")).await?.click().await?;
        crate::browser::text_of(&c, "#current-user").await;
        c.goto(&app.url(&format!("/me/pledges/{}/receipt", pledge.id)))
            .await?;
        let verdict = crate::browser::text_of(&c, "#receipt-verdict").await;
        let json = c
            .execute(
                "return document.getElementById('receipt-json').textContent;",
                vec![],
            )
            .await?;
        c.goto(&app.url("/verify")).await?;
        c.execute(
            "document.getElementById('receipt-input').value = arguments[0];",
            vec![json],
        )
        .await?;
        c.find(Locator::Id("verify-button")).await?.click().await?;
        let result = c
            .wait()
            .at_most(Duration::from_secs(10))
            .for_element(Locator::Css("#verify-result.valid, #verify-result.invalid"))
            .await?;
        let class = result.attr("class").await?.unwrap_or_default();
        let steps = c
            .find_all(Locator::Css("#verify-steps li.pass"))
            .await?
            .len();
        Ok::<_, fantoccini::error::CmdError>((verdict, class, steps))
    }
    .await;
    c.close().await.ok();
    let (verdict, class, steps) = result.unwrap();
    assert!(
        verdict.contains("Verified") || verdict.contains("已验证"),
        "{verdict}"
    );
    assert_eq!(class, "valid");
    assert_eq!(
        steps, 8,
        "every step passes, the party step and the policy's quorum included"
    );
}
