//! Receipts, notifications and founders' money: a backer reaches the receipt of a settled pledge,
//! a regulator's freeze reaches the founder and the backers, the backers CSV opens right in a
//! spreadsheet, and the receipt and ledger pages read in Chinese throughout.

use std::time::Duration;

use fantoccini::Locator;
use serde_json::json;
use zhonglian::accounts::domain::UserId;
use zhonglian::pledges::{PledgeId, PledgeRequest};
use zhonglian::projects::{ProjectId, TierId};
use zhonglian::settlement::Settler;

use crate::fixtures::{backed_project, make_due, Shape};
use crate::pages_audit::english_ledger_words;
use crate::support::{Backer, TestApp};

/// A project funded by three others and by `backer` (20.00 CNY on its one tier), settled; the
/// project's title and the backer's pledge.
async fn settled_pledge_of(app: &TestApp, backer: UserId) -> (String, PledgeId) {
    let p = backed_project(
        &app.db,
        3,
        "20.00".parse().unwrap(),
        "50.00".parse().unwrap(),
        Shape::Reward,
    )
    .await
    .unwrap();
    let who = Backer {
        id: backer,
        token: String::new(),
    };
    app.fund(&who, "20.00").await;
    let tier: uuid::Uuid = sqlx::query_scalar("SELECT id FROM reward_tiers WHERE project_id = $1")
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
    Settler::new(&app.state).settle_due(&|_| {}).await.unwrap();
    let title: String = sqlx::query_scalar("SELECT title FROM projects WHERE id = $1")
        .bind(p.project)
        .fetch_one(&app.db)
        .await
        .unwrap();
    (title, pledge.id)
}

/// A page's text as a reader sees it: no scripts, no tags.
fn visible_text(html: &str) -> String {
    let mut text = String::new();
    let mut rest = html;
    while let Some(start) = rest.find("<script") {
        text.push_str(&rest[..start]);
        rest = rest[start..]
            .find("</script>")
            .map_or("", |end| &rest[start + end + "</script>".len()..]);
    }
    text.push_str(rest);
    let mut out = String::new();
    let mut in_tag = false;
    for c in text.chars() {
        match c {
            '<' => in_tag = true,
            '>' => {
                in_tag = false;
                out.push(' ');
            }
            _ if !in_tag => out.push(c),
            _ => {}
        }
    }
    out
}

#[tokio::test]
async fn a_backer_opens_the_receipt_of_a_settled_pledge_from_their_pledges_page() {
    let app = TestApp::spawn().await;
    let c = crate::browser::browser().await;
    let result = async {
        crate::browser::sign_up(&c, &app, "receipt@example.com", "陈小明").await?;
        crate::browser::text_of(&c, "#current-user").await;
        let backer: uuid::Uuid =
            sqlx::query_scalar("SELECT id FROM users WHERE email = 'receipt@example.com'")
                .fetch_one(&app.db)
                .await
                .unwrap();
        let (title, pledge) = settled_pledge_of(&app, UserId(backer)).await;
        c.goto(&app.url("/me/pledges")).await?;
        c.find(Locator::Id(&format!("receipt-{pledge}")))
            .await?
            .click()
            .await?;
        let project = crate::browser::text_of(&c, "#receipt-project").await;
        let amount = crate::browser::text_of(&c, "#receipt-amount").await;
        let verdict = crate::browser::text_of(&c, "#receipt-verdict").await;
        let passed = c
            .find_all(Locator::Css("#receipt-steps li.pass"))
            .await?
            .len();
        let failed = c
            .find_all(Locator::Css("#receipt-steps li.fail"))
            .await?
            .len();
        let url = c.current_url().await?;
        Ok::<_, fantoccini::error::CmdError>((title, project, amount, verdict, passed, failed, url))
    }
    .await;
    c.close().await.ok();
    let (title, project, amount, verdict, passed, failed, url) = result.unwrap();
    assert!(url.path().ends_with("/receipt"), "{url}");
    assert_eq!(project, title);
    assert!(amount.contains("20.00"), "{amount}");
    assert!(
        verdict.contains("已验证") || verdict.contains("Verified"),
        "{verdict}"
    );
    assert!(
        passed >= 5,
        "version, hash, inclusion, signature and checkpoint pass: {passed}"
    );
    assert_eq!(failed, 0);
}

#[tokio::test]
async fn a_regulator_freeze_reaches_the_founder_and_the_backers_with_the_reason() {
    let app = TestApp::spawn().await;
    let (project, tiers) = app.live_reward_project(&[("20.00", None)]).await;
    let founder = app.fixture_user(&["founder"]).await;
    sqlx::query("UPDATE projects SET founder_id = $1 WHERE id = $2")
        .bind(founder.id)
        .bind(project)
        .execute(&app.db)
        .await
        .unwrap();
    let backer = app.fixture_backer().await;
    app.fund(&backer, "20.00").await;
    let pledged = app
        .pledge(
            &backer,
            project,
            json!({"tier_id": tiers[0], "amount": "20.00"}),
            None,
        )
        .await;
    assert_eq!(pledged.0, 201, "{:?}", pledged.1);
    let regulator = app.login_as_regulator().await;

    let frozen = app
        .regulate(
            &regulator,
            project,
            "freeze",
            "Claims about the harvest are unproven",
        )
        .await;
    assert_eq!(frozen.0, 200, "{:?}", frozen.1);

    let before = app.html_as("/", &founder).await;
    assert!(
        before.contains("id=\"unread-count\""),
        "the header counts it"
    );
    let notices = app.html_as("/me/notifications", &founder).await;
    assert!(
        notices.contains("Claims about the harvest are unproven"),
        "{notices}"
    );
    assert!(
        notices.contains("Fixture project"),
        "the notice names the project"
    );
    assert!(!notices.contains("regulator_frozen"), "{notices}");
    let after = app.html_as("/", &founder).await;
    assert!(
        !after.contains("id=\"unread-count\""),
        "read once the page was opened"
    );

    let backers_notices = app.html_as("/me/notifications", &backer).await;
    assert!(
        backers_notices.contains("Claims about the harvest are unproven"),
        "{backers_notices}"
    );
}

#[tokio::test]
async fn a_regulator_approval_tells_the_founder_but_not_the_backers() {
    let app = TestApp::spawn().await;
    let (project, tiers) = app.live_reward_project(&[("20.00", None)]).await;
    let backer = app.fixture_backer().await;
    app.fund(&backer, "20.00").await;
    let pledged = app
        .pledge(
            &backer,
            project,
            json!({"tier_id": tiers[0], "amount": "20.00"}),
            None,
        )
        .await;
    assert_eq!(pledged.0, 201);
    let regulator = app.login_as_regulator().await;
    assert_eq!(
        app.regulate(&regulator, project, "freeze", "Checking")
            .await
            .0,
        200
    );
    assert_eq!(
        app.regulate(&regulator, project, "unfreeze", "Checked")
            .await
            .0,
        200
    );

    let kinds: Vec<(String, bool)> = sqlx::query_as(
        "SELECT n.kind, n.user_id = p.founder_id FROM notifications n
           JOIN projects p ON p.id = n.project_id WHERE n.project_id = $1 ORDER BY n.id",
    )
    .bind(project)
    .fetch_all(&app.db)
    .await
    .unwrap();
    let kinds: Vec<(&str, bool)> = kinds.iter().map(|(k, f)| (k.as_str(), *f)).collect();
    assert_eq!(
        kinds,
        [
            ("regulator_frozen", true),
            ("regulator_frozen", false),
            ("regulator_unfrozen", true)
        ]
    );
}

#[tokio::test]
async fn the_backers_csv_starts_with_the_bom_and_has_its_headers() {
    let app = TestApp::spawn().await;
    let (project, tiers) = app.live_reward_project(&[("20.00", None)]).await;
    let founder = app.fixture_user(&["founder"]).await;
    sqlx::query("UPDATE projects SET founder_id = $1 WHERE id = $2")
        .bind(founder.id)
        .bind(project)
        .execute(&app.db)
        .await
        .unwrap();
    let backer = app.fixture_backer().await;
    app.fund(&backer, "20.00").await;
    let pledged = app
        .pledge(
            &backer,
            project,
            json!({"tier_id": tiers[0], "amount": "20.00"}),
            None,
        )
        .await;
    assert_eq!(pledged.0, 201);

    let response = app
        .client
        .get(app.url(&format!("/founder/projects/{project}/backers.csv")))
        .bearer_auth(&founder.token)
        .header("accept-language", "zh-CN")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let bytes = response.bytes().await.unwrap();
    assert_eq!(&bytes[..3], b"\xEF\xBB\xBF", "UTF-8 BOM first");
    let text = String::from_utf8(bytes[3..].to_vec()).unwrap();
    let header = text.lines().next().unwrap();
    assert_eq!(
        header,
        "支持编号,姓名,电子邮箱,回报,需寄送,收货地址,寄送地区,加购,金额,币种,状态,支持时间"
    );
    assert_eq!(text.lines().count(), 2, "{text}");
}

#[tokio::test]
async fn the_receipt_and_ledger_pages_in_chinese_name_no_english_ledger_kind() {
    let app = TestApp::spawn().await;
    let backer = app.fixture_backer().await;
    let (_, pledge) = settled_pledge_of(&app, backer.id).await;

    let receipt = app
        .html_as(&format!("/me/pledges/{pledge}/receipt"), &backer)
        .await;
    assert!(
        receipt.contains("<html lang=\"zh-CN\""),
        "the page is Chinese"
    );
    let text = visible_text(&receipt);
    assert_eq!(english_ledger_words(&text), Vec::<String>::new(), "{text}");
    assert!(text.contains("支持款收取"), "the kind in words: {text}");

    let ledger = app.html_as("/ledger", &backer).await;
    let text = visible_text(&ledger);
    assert_eq!(english_ledger_words(&text), Vec::<String>::new(), "{text}");
    assert!(
        text.contains("向发起人付款") && text.contains("平台服务费"),
        "{text}"
    );
    assert!(
        text.contains("+00:00") || text.contains("UTC"),
        "ledger times carry their offset"
    );
    let server = app.state.settings.public_url.trim_end_matches('/');
    assert!(text.contains(&format!("--server {server}")), "{text}");
    assert!(!text.contains("this-server") && !text.contains("本服务器"));

    let verify = app.html_as("/verify", &backer).await;
    assert!(
        verify.contains("id=\"verify-text\""),
        "the script's strings are on the page"
    );
    assert!(verify.contains("未核验"), "in Chinese");
}

#[tokio::test]
async fn the_verifier_writes_its_checks_in_chinese_on_a_chinese_page() {
    let app = TestApp::spawn().await;
    let backer = app.fixture_backer().await;
    let (_, pledge) = settled_pledge_of(&app, backer.id).await;
    let receipt = app
        .html_as(&format!("/api/v1/pledges/{pledge}/receipt"), &backer)
        .await;
    let c = crate::browser::browser().await;
    let result = async {
        c.goto(&app.url("/lang/zh?next=/verify")).await?;
        crate::browser::text_of(&c, "#verify-button").await;
        c.execute(
            "document.getElementById('receipt-input').value = arguments[0];",
            vec![receipt.into()],
        )
        .await?;
        c.find(Locator::Id("verify-button")).await?.click().await?;
        c.wait()
            .at_most(Duration::from_secs(10))
            .for_element(Locator::Css("#verify-result.valid, #verify-result.invalid"))
            .await?;
        let mut details = Vec::new();
        for li in c.find_all(Locator::Css("#verify-steps li")).await? {
            details.push(li.text().await?);
        }
        Ok::<_, fantoccini::error::CmdError>(details)
    }
    .await;
    c.close().await.ok();
    let details = result.unwrap();
    assert_eq!(details.len(), 8, "every step, the quorum too: {details:?}");
    for detail in &details {
        assert!(
            !detail.contains("leaf hash =") && !detail.contains("receipt version"),
            "{detail}"
        );
    }
    assert!(details.iter().any(|d| d.contains("叶子")), "{details:?}");
}

#[tokio::test]
async fn the_founder_dashboard_links_the_backers_page_and_shows_payout_and_fee() {
    let app = TestApp::spawn().await;
    let p = backed_project(
        &app.db,
        3,
        "20.00".parse().unwrap(),
        "50.00".parse().unwrap(),
        Shape::Reward,
    )
    .await
    .unwrap();
    make_due(&app.db, p.project).await.unwrap();
    Settler::new(&app.state).settle_due(&|_| {}).await.unwrap();
    let user = zhonglian::accounts::find_user(&app.db, UserId(p.founder))
        .await
        .unwrap()
        .unwrap();
    let session = zhonglian::accounts::open_session(&app.state.db, &app.state.keys, user, None)
        .await
        .unwrap();

    let dashboard = app.html_as("/founder", &session.token).await;
    assert!(
        dashboard.contains(&format!("href=\"/founder/projects/{}/backers\"", p.project)),
        "{dashboard}"
    );
    // 3 x 20.00 = 60.00; the 5% fee is 3.00 and the founder is paid 57.00.
    let text = visible_text(&dashboard);
    assert!(text.contains("向发起人付款: ¥57.00"), "{text}");
    assert!(text.contains("平台服务费: ¥3.00"), "{text}");
}
