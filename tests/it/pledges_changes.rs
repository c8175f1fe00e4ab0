//! A backer's pledges through the API and the forms: changed and cancelled inside their window,
//! bad amounts refused, frozen projects refused, a form submitted twice, the founder's view of
//! the backers, and the whole flow in a browser.

use rust_decimal::Decimal;

use crate::support::{form_field, made_pledge, status_and_detail, Anonymous, TestApp};

#[tokio::test]
async fn reward_pledges_can_be_changed_and_cancelled_until_the_deadline_only() {
    let app = TestApp::spawn().await;
    let (project, tiers) = app
        .live_reward_project(&[("20.00", Some(1)), ("50.00", Some(2))])
        .await;
    let backer = app.fixture_backer().await;
    app.fund(&backer, "100.00").await;
    let first = made_pledge(
        &app.pledge(
            &backer.token,
            project,
            serde_json::json!({"tier_id": tiers[0], "amount": "20.00"}),
            None,
        )
        .await,
    );

    let (changed, _) = app
        .change_pledge(
            &backer,
            first,
            serde_json::json!({"tier_id": tiers[1], "amount": "60.00"}),
        )
        .await;
    assert_eq!(changed, 200);
    assert_eq!(app.wallet_balance(&backer).await, Decimal::from(40));
    let claims: Vec<i32> = sqlx::query_scalar(
        "SELECT claimed FROM reward_tiers WHERE project_id = $1 ORDER BY position",
    )
    .bind(project)
    .fetch_all(&app.db)
    .await
    .unwrap();
    assert_eq!(claims, vec![0, 1], "the old tier's unit went back");

    assert_eq!(app.cancel_pledge(&backer.token, first).await.0, 200);
    assert_eq!(
        app.wallet_balance(&backer).await,
        Decimal::from(100),
        "money back at once"
    );

    let second = made_pledge(
        &app.pledge(
            &backer.token,
            project,
            serde_json::json!({"amount": "15"}),
            None,
        )
        .await,
    );
    app.set_project(project, "live", time::Duration::seconds(-1))
        .await;
    let late = app.cancel_pledge(&backer.token, second).await;
    assert_eq!(late.0, 409, "after the deadline a reward pledge stands");
    assert_eq!(app.wallet_balance(&backer).await, Decimal::from(85));
    app.assert_books_balance().await;
}

#[tokio::test]
async fn bad_pledge_amounts_are_refused_and_move_no_money() {
    let app = TestApp::spawn().await;
    let (project, tiers) = app.live_reward_project(&[("20.00", None)]).await;
    let backer = app.fixture_backer().await;
    app.fund(&backer, "100.00").await;
    for amount in [
        serde_json::json!("0"),
        serde_json::json!("-1"),
        serde_json::json!("1.234"),
        serde_json::json!("99999999999999"),
        serde_json::json!("lots"),
        serde_json::json!(null),
    ] {
        let response = app
            .pledge(
                &backer.token,
                project,
                serde_json::json!({"amount": amount}),
                None,
            )
            .await;
        assert_eq!(response.0, 422, "{amount}");
    }
    let below = app
        .pledge(
            &backer.token,
            project,
            serde_json::json!({"tier_id": tiers[0], "amount": "19.99"}),
            None,
        )
        .await;
    assert_eq!(below.0, 422, "below the tier's price");
    assert_eq!(app.wallet_balance(&backer).await, Decimal::from(100));
    app.assert_books_balance().await;
}

#[tokio::test]
async fn a_frozen_project_refuses_pledges_through_the_api() {
    let app = TestApp::spawn().await;
    let (project, _) = app.live_reward_project(&[]).await;
    let backer = app.fixture_backer().await;
    app.fund(&backer, "100.00").await;
    app.set_project(project, "frozen", time::Duration::days(3))
        .await;
    let (status, text) = status_and_detail(
        app.pledge(
            &backer.token,
            project,
            serde_json::json!({"amount": "5"}),
            None,
        )
        .await,
    );
    assert_eq!(status, 409);
    assert!(text.contains("frozen"), "{text}");
    assert_eq!(app.wallet_balance(&backer).await, Decimal::from(100));
    app.assert_books_balance().await;
}

#[tokio::test]
async fn the_founder_sees_backers_exports_them_and_gets_a_chart() {
    let app = TestApp::spawn().await;
    let (project, tiers) = app.live_reward_project(&[("20.00", None)]).await;
    for _ in 0..3 {
        let backer = app.fixture_backer().await;
        app.fund(&backer, "20.00").await;
        let response = app
            .pledge(
                &backer.token,
                project,
                serde_json::json!({"tier_id": tiers[0], "amount": "20.00"}),
                None,
            )
            .await;
        assert_eq!(response.0, 201);
    }
    let csv =
        zhonglian::pledges::backers::backers_csv_text(&app.db, project, zhonglian::i18n::Lang::En)
            .await
            .unwrap();
    assert_eq!(csv.lines().count(), 4, "{csv}");
    assert!(csv.starts_with("\u{feff}Pledge,Name,E-mail,Reward,Ships,Shipping address"));
    let en = zhonglian::i18n::Lang::En;
    let utc = zhonglian::i18n::format::Zone::for_reader(None, en);
    let svg = zhonglian::pledges::web::chart::pledge_chart_svg(&app.db, project, en, &utc)
        .await
        .unwrap();
    assert!(svg.starts_with("<svg") && svg.contains("<polyline") && !svg.contains("<script"));
    assert!(svg.contains("CN¥60.00"), "the total is labelled: {svg}");

    let (founder_id,): (uuid::Uuid,) =
        sqlx::query_as("SELECT founder_id FROM projects WHERE id = $1")
            .bind(project)
            .fetch_one(&app.db)
            .await
            .unwrap();
    let founder =
        zhonglian::accounts::find_user(&app.db, zhonglian::accounts::domain::UserId(founder_id))
            .await
            .unwrap()
            .unwrap();
    let token = zhonglian::accounts::open_session(&app.state.db, &app.state.keys, founder, None)
        .await
        .unwrap()
        .token;
    let backers = format!("/founder/projects/{project}/backers");
    let (_, list) = app.get_json(&backers, &token).await;
    assert_eq!(list.as_array().unwrap().len(), 3);
    let stranger = app.fixture_backer().await;
    let (refused, _) = app.get_json(&backers, &stranger).await;
    assert_eq!(refused, 404);
    let (_, openapi) = app.get_json("/openapi.json", &Anonymous).await;
    for path in [
        "/api/v1/projects/{id}/pledges",
        "/api/v1/pledges/{id}",
        "/api/v1/me/pledges",
        "/api/v1/wallet",
        "/api/v1/wallet/deposits",
    ] {
        assert!(openapi["paths"][path].is_object(), "{path} is documented");
    }
    app.assert_books_balance().await;
}

#[tokio::test]
async fn a_pledge_form_submitted_twice_makes_one_pledge() {
    let app = TestApp::spawn().await;
    let (project, tiers) = app.live_reward_project(&[("20.00", None)]).await;
    let backer = app.fixture_backer().await;
    app.fund(&backer, "100.00").await;
    let page = app
        .html_as(&format!("/projects/{project}/pledge"), &backer)
        .await;
    let (csrf, key) = (form_field(&page, "csrf"), form_field(&page, "key"));
    let mut answers = Vec::new();
    for _ in 0..2 {
        let response = app
            .client
            .post(app.url(&format!("/projects/{project}/pledge")))
            .bearer_auth(&backer.token)
            .form(&[
                ("csrf", csrf.as_str()),
                ("key", key.as_str()),
                ("tier", &tiers[0].to_string()),
                ("extra", "5"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 303);
        answers.push(response.headers()["location"].to_str().unwrap().to_owned());
    }
    assert_eq!(
        answers[0], answers[1],
        "the second submit lands on the same pledge"
    );
    assert_eq!(app.wallet_balance(&backer).await, Decimal::from(75));
    app.assert_books_balance().await;
}

#[tokio::test]
async fn in_the_browser_a_backer_tops_up_pledges_sees_it_cancels_and_gets_the_money_back() {
    use fantoccini::Locator;

    use crate::browser::{browser, sign_up, text_of};

    let app = TestApp::spawn().await;
    let (project, _) = app
        .live_reward_project(&[("88.00", Some(10)), ("188.00", Some(5))])
        .await;
    let c = browser().await;
    let result = async {
        sign_up(&c, &app, "ada@example.com", "Ada Chen").await?;
        assert_eq!(text_of(&c, "#current-user").await, "Ada Chen");

        c.goto(&app.url("/wallet")).await?;
        assert_eq!(text_of(&c, "#balance-CNY").await, "CN¥0.00");
        c.find(Locator::Id("top-up-amount"))
            .await?
            .send_keys("200")
            .await?;
        c.find(Locator::Id("top-up-submit")).await?.click().await?;
        assert_eq!(text_of(&c, "#checkout-amount").await, "CN¥200.00");
        c.find(Locator::Id("sandbox-approve"))
            .await?
            .click()
            .await?;
        c.wait().for_element(Locator::Id("wallet-notice")).await?;
        assert_eq!(text_of(&c, "#balance-CNY").await, "CN¥200.00");

        c.goto(&app.url(&format!("/projects/{project}/pledge")))
            .await?;
        c.find(Locator::Id("tier-1")).await?.click().await?;
        c.find(Locator::Id("extra")).await?.send_keys("12").await?;
        c.find(Locator::Id("pledge-submit")).await?.click().await?;
        c.wait().for_element(Locator::Id("notice")).await?;
        let row = text_of(&c, "#my-pledges tbody tr").await;
        assert!(row.contains("Tier 1") && row.contains("100.00"), "{row}");
        assert!(row.contains("Active"), "{row}");
        c.goto(&app.url("/wallet")).await?;
        assert_eq!(text_of(&c, "#balance-CNY").await, "CN¥100.00");

        c.goto(&app.url("/me/pledges")).await?;
        c.find(Locator::Css("button.cancel-pledge"))
            .await?
            .click()
            .await?;
        // Cancelling asks first; only the confirmation cancels.
        c.wait()
            .for_element(Locator::Id("confirm-yes"))
            .await?
            .click()
            .await?;
        c.wait().for_element(Locator::Id("notice")).await?;
        let row = text_of(&c, "#my-pledges tbody tr").await;
        assert!(row.contains("Cancelled"), "{row}");
        c.goto(&app.url("/wallet")).await?;
        assert_eq!(text_of(&c, "#balance-CNY").await, "CN¥200.00");
        Ok::<(), fantoccini::error::CmdError>(())
    }
    .await;
    c.close().await.ok();
    result.unwrap();
    app.assert_books_balance().await;
}
