//! The listing flow in headless Chromium: a founder drafts and submits, a regulator approves,
//! the project appears on the home page. No JavaScript on our side is needed for any of it.

use fantoccini::{Client, Locator};
use serde_json::json;

use crate::browser::{browser, text_of};
use crate::support::TestApp;

async fn log_in(c: &Client, app: &TestApp, email: &str) -> Result<(), fantoccini::error::CmdError> {
    c.goto(&app.url("/login")).await?;
    c.find(Locator::Css("input[name=email]"))
        .await?
        .send_keys(email)
        .await?;
    c.find(Locator::Css("input[name=password]"))
        .await?
        .send_keys("correct horse battery")
        .await?;
    c.find(Locator::Id("login-submit")).await?.click().await?;
    c.wait().for_element(Locator::Id("current-user")).await?;
    Ok(())
}

async fn fill(c: &Client, css: &str, text: &str) -> Result<(), fantoccini::error::CmdError> {
    c.find(Locator::Css(css)).await?.send_keys(text).await
}

#[tokio::test]
async fn a_founder_submits_a_reward_project_with_two_tiers_a_regulator_approves_it_and_it_is_on_the_home_page(
) {
    let app = TestApp::spawn().await;
    app.signup("maker@example.com", "founder").await;
    zhonglian::accounts::create_staff_user(
        &app.db,
        "reviewer@example.com",
        "Reviewer",
        "correct horse battery".into(),
        zhonglian::accounts::domain::Role::Regulator,
    )
    .await
    .unwrap();
    let title = "Paper Lantern Workshop 纸灯笼工坊";
    let c = browser().await;
    let result = async {
        log_in(&c, &app, "maker@example.com").await?;
        c.find(Locator::Id("nav-founder")).await?.click().await?;
        c.wait()
            .for_element(Locator::Id("new-project"))
            .await?
            .click()
            .await?;
        // The kind comes first; the form then has only that kind's fields.
        c.wait()
            .for_element(Locator::Id("choose-reward"))
            .await?
            .click()
            .await?;
        fill(&c, "#project-form input[name=title]", title).await?;
        fill(
            &c,
            "#project-form input[name=summary]",
            "Hand-made lanterns for the Mid-Autumn festival",
        )
        .await?;
        fill(
            &c,
            "#project-form textarea[name=story]",
            "## Why\n\nBecause **light** matters.",
        )
        .await?;
        fill(&c, "#project-form input[name=goal]", "8000").await?;
        let deadline = (time::OffsetDateTime::now_utc() + time::Duration::days(21)).date();
        // Typing into a datetime-local field depends on the browser's locale; set it as a paste would.
        c.execute(
            "document.querySelector('input[name=deadline]').value = arguments[0];",
            vec![json!(format!("{deadline}T12:00"))],
        )
        .await?;
        c.find(Locator::Id("create-project")).await?.click().await?;

        for (tier, price) in [("Postcard set", "39"), ("Lantern kit", "199")] {
            c.wait().for_element(Locator::Id("tier-form")).await?;
            fill(&c, "#tier-form input[name=title]", tier).await?;
            fill(&c, "#tier-form input[name=price]", price).await?;
            c.find(Locator::Id("add-tier")).await?.click().await?;
            c.wait()
                .for_element(Locator::XPath(&format!("//li[contains(., '{tier}')]")))
                .await?;
        }
        assert_eq!(c.find_all(Locator::Css(".tier-item")).await?.len(), 2);
        c.find(Locator::Id("submit-project")).await?.click().await?;
        c.wait().for_element(Locator::Id("update-editor")).await?;
        assert_eq!(text_of(&c, "#project-state").await, "In review");
        assert!(text_of(&c, "#notice")
            .await
            .contains("Submitted for review"));

        c.find(Locator::Id("logout")).await?.click().await?;
        c.wait().for_element(Locator::Id("login-link")).await?;
        log_in(&c, &app, "reviewer@example.com").await?;
        c.find(Locator::Id("nav-regulator")).await?.click().await?;
        c.wait()
            .for_element(Locator::Css(".queue-link"))
            .await?
            .click()
            .await?;
        c.wait()
            .for_element(Locator::Id("approve"))
            .await?
            .click()
            .await?;
        // Every regulator action asks first, on a page of its own.
        assert!(text_of(&c, "#confirm-subject").await.contains(title));
        c.find(Locator::Id("confirm-yes")).await?.click().await?;
        c.wait().for_element(Locator::Css(".trail-row")).await?;
        assert!(text_of(&c, "#notice").await.contains("Approved"));
        assert_eq!(text_of(&c, "#project-state").await, "Live");

        c.goto(&app.url("/")).await?;
        let live = text_of(&c, "#new").await;
        assert!(live.contains(title), "{live}");
        assert!(live.contains("0%"), "{live}");
        c.find(Locator::LinkText(title)).await?.click().await?;
        assert_eq!(text_of(&c, "#project-title").await, title);
        assert_eq!(
            c.find_all(Locator::Css("#tiers .reward-tier")).await?.len(),
            2
        );
        Ok::<(), fantoccini::error::CmdError>(())
    }
    .await;
    c.close().await.ok();
    result.unwrap();
}
