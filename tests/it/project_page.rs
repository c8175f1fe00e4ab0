//! The project page: its pledge chart agrees with the total beside it (after settlement too),
//! the pledge form says every refusal at once, and the page fits a phone in both languages.

use std::str::FromStr;

use rust_decimal::Decimal;
use zhonglian::settlement::Settler;

use crate::fixtures::{backed_project, make_due, Shape};
use crate::support::{form_field, made_pledge, TestApp};

/// The text of the first element carrying `marker` (an attribute, e.g. `class="chart-total"`).
#[track_caller]
fn text_after(html: &str, marker: &str) -> String {
    let start = html
        .find(marker)
        .unwrap_or_else(|| panic!("no {marker} on the page"));
    let open = start + html[start..].find('>').unwrap() + 1;
    let close = open + html[open..].find('<').unwrap();
    html[open..close].to_owned()
}

/// The last point of the chart's line, as (x, y) in SVG units.
fn last_point(html: &str) -> (f64, f64) {
    let line = form_attribute(html, "class=\"line\" points=\"");
    let last = line.split(' ').next_back().unwrap();
    let (x, y) = last.split_once(',').unwrap();
    (x.parse().unwrap(), y.parse().unwrap())
}

fn form_attribute(html: &str, marker: &str) -> String {
    let start = html.find(marker).unwrap_or_else(|| panic!("no {marker}")) + marker.len();
    html[start..].split('"').next().unwrap().to_owned()
}

async fn english_page(app: &TestApp, path: &str, token: Option<&str>) -> String {
    let mut request = app
        .client
        .get(app.url(path))
        .header("accept-language", "en");
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.unwrap().text().await.unwrap()
}

#[tokio::test]
async fn the_chart_of_a_funded_project_ends_at_its_total_not_at_zero() {
    let app = TestApp::spawn().await;
    let goal = Decimal::from(100);
    let backed = backed_project(
        &app.db,
        7,
        Decimal::from_str("14.30").unwrap(),
        goal,
        Shape::Reward,
    )
    .await
    .unwrap();
    make_due(&app.db, backed.project).await.unwrap();
    Settler::new(&app.state).settle_due(&|_| {}).await.unwrap();
    let project = zhonglian::projects::ProjectId(backed.project);
    assert_eq!(
        app.escrow_balance(project).await,
        Decimal::ZERO,
        "paid out: an escrow chart would end at 0"
    );

    let page = english_page(&app, &format!("/projects/{project}"), None).await;
    assert_eq!(text_after(&page, "id=\"pledged-total\""), "CN¥100.10");
    assert_eq!(
        text_after(&page, "class=\"chart-total\""),
        "CN¥100.10",
        "the chart says where it ends"
    );
    let (x, y) = last_point(&page);
    assert_eq!(
        (x, y),
        (392.0, 30.0),
        "the line ends at the top right, not at the base"
    );
    assert!(page.contains("id=\"settlement-outcome\""));
    assert!(
        page.contains("Payout to the founder") && page.contains("Platform fee"),
        "the settlement's kinds are said in words"
    );
    assert!(!page.contains(">payout<") && !page.contains(">tx_hash<"));

    let chinese = app
        .client
        .get(app.url(&format!("/projects/{project}")))
        .header("accept-language", "zh-CN")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(text_after(&chinese, "class=\"chart-total\""), "¥100.10");
    assert!(chinese.contains("付款给发起人") && chinese.contains("交易哈希"));
}

#[tokio::test]
async fn the_chart_agrees_with_the_total_beside_it_right_after_a_fresh_pledge() {
    let app = TestApp::spawn().await;
    let (project, tiers) = app.live_reward_project(&[("20.00", None)]).await;
    let path = format!("/projects/{project}");
    let first = app.fixture_backer().await;
    let empty = english_page(&app, &path, Some(&first.token)).await;
    assert!(
        empty.contains("id=\"chart-empty\""),
        "no pledge yet: the page says so"
    );
    assert!(!empty.contains("class=\"line\""));

    app.fund(&first, "100.00").await;
    let made = app
        .pledge(
            &first.token,
            project,
            serde_json::json!({"tier_id": tiers[0], "amount": "20.00"}),
            None,
        )
        .await;
    assert_eq!(made.0, 201);
    let page = english_page(&app, &path, Some(&first.token)).await;
    assert_eq!(text_after(&page, "id=\"pledged-total\""), "CN¥20.00");
    assert_eq!(text_after(&page, "class=\"chart-total\""), "CN¥20.00");
    assert_eq!(text_after(&page, "id=\"backer-count\""), "1 backer");

    let second = app.fixture_backer().await;
    app.fund(&second, "200.00").await;
    let made = app
        .pledge(
            &second.token,
            project,
            serde_json::json!({"tier_id": tiers[0], "amount": "148.00"}),
            None,
        )
        .await;
    assert_eq!(made.0, 201);
    let page = english_page(&app, &path, Some(&second.token)).await;
    assert_eq!(text_after(&page, "id=\"pledged-total\""), "CN¥168.00");
    assert_eq!(
        text_after(&page, "class=\"chart-total\""),
        "CN¥168.00",
        "a chart drawn a moment ago is not served for the new total"
    );
    assert_eq!(text_after(&page, "id=\"backer-count\""), "2 backers");
    assert!(page.contains("aria-label=\"1% of the goal pledged: CN¥168.00 of CN¥10,000.00\""));
}

#[tokio::test]
async fn a_pledge_form_with_several_errors_shows_all_of_them_and_keeps_the_input() {
    let app = TestApp::spawn().await;
    let project = app
        .live_equity_project("10.00", (10, 1000), 1, 50, time::Duration::days(7))
        .await;
    let investor = app.fixture_backer().await;
    app.fund(&investor, "1000.00").await;
    let path = format!("/projects/{project}/pledge");
    let form = english_page(&app, &path, Some(&investor.token)).await;
    let (csrf, key) = (form_field(&form, "csrf"), form_field(&form, "key"));
    let answer = app
        .client
        .post(app.url(&path))
        .bearer_auth(&investor.token)
        .header("accept-language", "en")
        .form(&[
            ("csrf", csrf.as_str()),
            ("key", key.as_str()),
            ("shares", "lots"),
            ("annual_income", "a great deal"),
            ("net_worth", "-5"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 422);
    let page = answer.text().await.unwrap();
    assert!(
        page.contains("id=\"pledge-form\""),
        "the same form, not a dead end"
    );
    for field in ["shares", "annual_income", "net_worth", "acknowledge_risk"] {
        assert!(
            page.contains(&format!("class=\"field-error\" id=\"{field}-error\"")),
            "{field} has its refusal beside it"
        );
        assert!(page.contains(&format!("aria-describedby=\"{field}-error\"")));
    }
    assert!(page.contains("class=\"error-summary\" role=\"alert\""));
    assert!(page.contains("Enter a whole number of shares"));
    assert!(page.contains("Read and acknowledge the risk warning first."));
    assert!(page.contains("value=\"lots\"") && page.contains("value=\"a great deal\""));
    assert_eq!(
        app.wallet_balance(&investor).await,
        Decimal::from(1000),
        "nothing was pledged"
    );

    // A reward form: a forged tier and a bad extra amount, both said at once.
    let (reward, _) = app.live_reward_project(&[("20.00", None)]).await;
    let path = format!("/projects/{reward}/pledge");
    let form = english_page(&app, &path, Some(&investor.token)).await;
    let answer = app
        .client
        .post(app.url(&path))
        .bearer_auth(&investor.token)
        .header("accept-language", "en")
        .form(&[
            ("csrf", form_field(&form, "csrf").as_str()),
            ("key", form_field(&form, "key").as_str()),
            ("tier", &uuid::Uuid::new_v4().to_string()),
            ("extra", "five"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 422);
    let page = answer.text().await.unwrap();
    assert!(page.contains("id=\"tier-error\"") && page.contains("id=\"extra-error\""));
    assert!(page.contains("value=\"five\""));
}

#[tokio::test]
async fn a_pledge_made_in_the_form_lands_on_a_page_that_says_so() {
    let app = TestApp::spawn().await;
    let (project, tiers) = app.live_reward_project(&[("20.00", None)]).await;
    let backer = app.fixture_backer().await;
    app.fund(&backer, "100.00").await;
    let path = format!("/projects/{project}/pledge");
    let form = english_page(&app, &path, Some(&backer.token)).await;
    let answer = app
        .client
        .post(app.url(&path))
        .bearer_auth(&backer.token)
        .form(&[
            ("csrf", form_field(&form, "csrf").as_str()),
            ("key", form_field(&form, "key").as_str()),
            ("tier", &tiers[0].to_string()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 303);
    let location = answer.headers()["location"].to_str().unwrap().to_owned();
    assert_eq!(location, "/me/pledges?notice=pledge_made");
    let landed = english_page(&app, &location, Some(&backer.token)).await;
    let notice = text_after(&landed, "id=\"notice\"");
    assert!(
        notice.starts_with("Thank you! Your pledge is in the project"),
        "{notice}"
    );
}

#[tokio::test]
async fn a_change_form_with_errors_comes_back_with_them_and_a_good_change_says_so() {
    let app = TestApp::spawn().await;
    let (project, tiers) = app.live_reward_project(&[("20.00", None)]).await;
    let backer = app.fixture_backer().await;
    app.fund(&backer, "100.00").await;
    let pledge = made_pledge(
        &app.pledge(
            &backer.token,
            project,
            serde_json::json!({"tier_id": tiers[0], "amount": "20.00"}),
            None,
        )
        .await,
    );
    let path = format!("/pledges/{pledge}/change");
    let form = english_page(&app, &path, Some(&backer.token)).await;
    let csrf = form_field(&form, "csrf");
    let send = |fields: Vec<(&'static str, String)>| {
        app.client
            .post(app.url(&path))
            .bearer_auth(&backer.token)
            .header("accept-language", "en")
            .form(&fields)
            .send()
    };
    let answer = send(vec![
        ("csrf", csrf.clone()),
        ("tier", "not-a-tier".into()),
        ("amount", "twenty".into()),
    ])
    .await
    .unwrap();
    assert_eq!(answer.status(), 422);
    let page = answer.text().await.unwrap();
    assert!(page.contains("id=\"change-form\""), "the same form");
    assert!(page.contains("id=\"tier-error\"") && page.contains("id=\"amount-error\""));
    assert!(page.contains("value=\"twenty\""));

    let answer = send(vec![
        ("csrf", csrf),
        ("tier", tiers[0].to_string()),
        ("amount", "30.00".into()),
    ])
    .await
    .unwrap();
    assert_eq!(answer.status(), 303);
    assert_eq!(
        answer.headers()["location"],
        "/me/pledges?notice=pledge_changed"
    );
    assert_eq!(app.wallet_balance(&backer).await, Decimal::from(70));
}

#[tokio::test]
async fn on_a_phone_the_reward_project_page_fits_the_screen_and_tiers_read_in_lines() {
    use crate::browser::{browser, full_page_screenshot, page_width, screenshot_folder};

    let app = TestApp::spawn().await;
    let (project, tiers) = app
        .live_reward_project(&[("88.00", Some(10)), ("1288.00", None)])
        .await;
    let long =
        "A signed first edition, a hand-printed poster of the cover art, and your name in the \
                acknowledgements. 限量签名版精装本，附手工丝网印刷海报，并在致谢页印上您的名字。";
    sqlx::query(
        "UPDATE reward_tiers SET description = $2, description_html = '<p>' || $2 || '</p>',
                delivery_month = date '2027-03-01' WHERE id = $1",
    )
    .bind(tiers[0])
    .bind(long)
    .execute(&app.db)
    .await
    .unwrap();
    let backer = app.fixture_backer().await;
    app.fund(&backer, "100.00").await;
    app.pledge(
        &backer.token,
        project,
        serde_json::json!({"tier_id": tiers[0], "amount": "88.00"}),
        None,
    )
    .await;

    let settled = backed_project(
        &app.db,
        3,
        Decimal::from(40),
        Decimal::from(100),
        Shape::Reward,
    )
    .await
    .unwrap()
    .project;
    make_due(&app.db, settled).await.unwrap();
    Settler::new(&app.state).settle_due(&|_| {}).await.unwrap();

    let c = browser().await;
    let result = async {
        c.set_window_size(390, 844).await?;
        for lang in ["en", "zh"] {
            c.goto(&app.url(&format!("/lang/{lang}?next=/projects/{project}")))
                .await?;
            c.wait()
                .for_element(fantoccini::Locator::Id("tiers"))
                .await?;
            let width = page_width(&c).await?;
            assert!(
                width <= 390,
                "{lang}: the page is {width} px wide on a 390 px phone"
            );
            let widths = c
                .execute(
                    "return [...document.querySelectorAll('.reward-tier-desc')]
                        .map(e => e.getBoundingClientRect().width);",
                    vec![],
                )
                .await?;
            let widths = widths.as_array().unwrap();
            assert_eq!(widths.len(), 2);
            for w in widths {
                assert!(
                    w.as_f64().unwrap() >= 200.0,
                    "{lang}: a tier description is {w} px wide"
                );
            }
            let cta = c
                .execute(
                    "const r = document.getElementById('back-project').getBoundingClientRect();
                     return r.right;",
                    vec![],
                )
                .await?;
            assert!(
                cta.as_f64().unwrap() <= 390.0,
                "{lang}: the pledge button is on the screen"
            );
            let chart = c
                .execute(
                    "return document.querySelector('#pledge-chart svg').getBoundingClientRect().width;",
                    vec![],
                )
                .await?;
            assert!(chart.as_f64().unwrap() <= 390.0);
            full_page_screenshot(&c, &screenshot_folder().join(format!("project-page-{lang}-390.png"))).await?;
        }
        // A settled project lists its ledger transactions: their hashes break, not the page.
        for lang in ["en", "zh"] {
            c.goto(&app.url(&format!("/lang/{lang}?next=/projects/{settled}")))
                .await?;
            c.wait()
                .for_element(fantoccini::Locator::Id("settlement-outcome"))
                .await?;
            let width = page_width(&c).await?;
            assert!(
                width <= 390,
                "{lang}: the settled project's page is {width} px wide on a 390 px phone"
            );
            full_page_screenshot(
                &c,
                &screenshot_folder().join(format!("project-page-settled-{lang}-390.png")),
            ).await?;
        }
        // The pledge form's tier choice reads as well, in both languages.
        crate::browser::sign_up(&c, &app, "phone@example.com", "Phone Fang").await?;
        c.wait()
            .for_element(fantoccini::Locator::Id("current-user"))
            .await?;
        for lang in ["en", "zh"] {
            c.goto(&app.url(&format!("/lang/{lang}?next=/projects/{project}/pledge")))
                .await?;
            c.wait()
                .for_element(fantoccini::Locator::Id("pledge-form"))
                .await?;
            let width = page_width(&c).await?;
            assert!(
                width <= 390,
                "{lang}: the pledge form is {width} px wide on a 390 px phone"
            );
            let desc = c
                .execute(
                    "return document.querySelector('.tier-option-desc').getBoundingClientRect().width;",
                    vec![],
                )
                .await?;
            assert!(
                desc.as_f64().unwrap() >= 200.0,
                "{lang}: a tier's description on the form is {desc} px wide"
            );
        }
        // On a laptop the tiers stand beside the story, each description in a few long lines.
        c.set_window_size(1366, 900).await?;
        c.goto(&app.url(&format!("/lang/en?next=/projects/{project}")))
            .await?;
        c.wait()
            .for_element(fantoccini::Locator::Id("tiers"))
            .await?;
        let width = c
            .execute(
                "return document.querySelector('.reward-tier-desc').getBoundingClientRect().width;",
                vec![],
            )
            .await?;
        assert!(width.as_f64().unwrap() >= 300.0, "at 1366 px: {width}");
        full_page_screenshot(&c, &screenshot_folder().join("project-page-en-1366.png")).await?;
        Ok::<(), fantoccini::error::CmdError>(())
    }
    .await;
    c.close().await.ok();
    result.unwrap();
}
