//! Forms that help: every refusal at once beside its field with the input kept, a confirmation
//! step (plain HTML, no script) before cancelling and before every regulator action, a notice
//! after an action, and the reader's time zone on `/me/settings`.

use fantoccini::Locator;
use serde_json::json;
use zhonglian::accounts::domain::Role;
use zhonglian::projects::ProjectId;

use crate::browser::{browser, fill, text_of};
use crate::support::{form_field, made_pledge, Backer, TestApp};

/// Someone signed in through the log-in form, with their own cookies (a browser without
/// script, as far as the server can tell).
struct Session {
    client: reqwest::Client,
    base: String,
}

impl Session {
    async fn sign_in(app: &TestApp, email: &str) -> Session {
        let session = Session {
            client: english_client(),
            base: app.url(""),
        };
        let csrf = session.csrf("/login").await;
        let (status, _) = session
            .post(
                "/login",
                &[
                    ("csrf", &csrf),
                    ("email", email),
                    ("password", "correct horse battery"),
                ],
            )
            .await;
        assert_eq!(status, 303, "log-in of {email}");
        session
    }

    /// A page's status and HTML.
    async fn page(&self, path: &str) -> (u16, String) {
        let response = self
            .client
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap();
        (response.status().as_u16(), response.text().await.unwrap())
    }

    /// The form token of a page (tokens are bound to the session).
    async fn csrf(&self, path: &str) -> String {
        form_field(&self.page(path).await.1, "csrf")
    }

    /// Posts a form; the status and where it leads (a redirect) or the page it answers.
    async fn post(&self, path: &str, fields: &[(&str, &str)]) -> (u16, String) {
        let response = self
            .client
            .post(format!("{}{path}", self.base))
            .form(fields)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        match response.headers().get("location") {
            Some(location) => (status, location.to_str().unwrap().to_owned()),
            None => (status, response.text().await.unwrap()),
        }
    }
}

/// A cookie-keeping client, not following redirects, reading English.
fn english_client() -> reqwest::Client {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        reqwest::header::ACCEPT_LANGUAGE,
        reqwest::header::HeaderValue::from_static("en"),
    );
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .default_headers(headers)
        .build()
        .unwrap()
}

async fn founder(app: &TestApp, email: &str) -> Session {
    app.signup(email, "founder").await;
    Session::sign_in(app, email).await
}

async fn regulator(app: &TestApp, email: &str) -> Session {
    zhonglian::accounts::create_staff_user(
        &app.db,
        email,
        "Reg",
        "correct horse battery".into(),
        Role::Regulator,
    )
    .await
    .unwrap();
    Session::sign_in(app, email).await
}

fn in_days(days: i64) -> String {
    let at = time::OffsetDateTime::now_utc() + time::Duration::days(days);
    format!(
        "{}T{:02}:{:02}",
        at.date(),
        at.time().hour(),
        at.time().minute()
    )
}

async fn state_of(app: &TestApp, project: ProjectId) -> String {
    sqlx::query_scalar("SELECT state::text FROM projects WHERE id = $1")
        .bind(project)
        .fetch_one(&app.db)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_new_project_form_with_three_errors_shows_all_three_beside_their_fields_and_keeps_the_input(
) {
    let app = TestApp::spawn().await;
    let maker = founder(&app, "maker@example.com").await;
    let csrf = maker.csrf("/founder/projects/new?kind=reward").await;
    let deadline = in_days(20);
    let (status, html) = maker
        .post(
            "/founder/projects",
            &[
                ("csrf", &csrf),
                ("kind", "reward"),
                ("title", "   "),
                ("summary", "Lanterns kept as typed"),
                ("story", "A story."),
                ("category", "design"),
                ("deadline", &deadline),
                ("goal", "lots"),
                ("currency", "XYZ"),
            ],
        )
        .await;
    assert_eq!(status, 422, "the same form again, not an error page");
    assert!(html.contains("id=\"error-summary\""), "{html}");
    for field in ["title", "goal", "currency"] {
        assert!(
            html.contains(&format!("<p class=\"field-error\" id=\"{field}-error\">")),
            "no refusal beside {field}"
        );
        assert!(html.contains(&format!("aria-describedby=\"{field}-error\"")));
    }
    assert_eq!(html.matches("class=\"field-error\"").count(), 3);
    assert!(html.contains("value=\"Lanterns kept as typed\""));
    assert!(html.contains("value=\"lots\""), "the refused goal is kept");
    assert!(html.contains("id=\"project-form\""));
    let drafts: i64 = sqlx::query_scalar("SELECT count(*) FROM projects")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(drafts, 0);
}

#[tokio::test]
async fn the_new_project_form_asks_for_the_kind_first_and_then_shows_only_its_fields() {
    let app = TestApp::spawn().await;
    let maker = founder(&app, "kinds@example.com").await;
    let (_, choice) = maker.page("/founder/projects/new").await;
    assert!(choice.contains("href=\"/founder/projects/new?kind=reward\""));
    assert!(choice.contains("href=\"/founder/projects/new?kind=equity\""));
    assert!(!choice.contains("id=\"project-form\""));
    let (_, reward) = maker.page("/founder/projects/new?kind=reward").await;
    assert!(reward.contains("id=\"reward-fields\"") && !reward.contains("id=\"equity-fields\""));
    assert!(!reward.contains("type=\"radio\""));
    let (_, equity) = maker.page("/founder/projects/new?kind=equity").await;
    assert!(equity.contains("id=\"equity-fields\"") && !equity.contains("id=\"reward-fields\""));
}

#[tokio::test]
async fn in_the_browser_three_errors_show_beside_their_fields_in_both_languages() {
    let app = TestApp::spawn().await;
    app.signup("browser-maker@example.com", "founder").await;
    let c = browser().await;
    let result = async {
        c.goto(&app.url("/login")).await?;
        fill(&c, "input[name=email]", "browser-maker@example.com").await?;
        fill(&c, "input[name=password]", "correct horse battery").await?;
        c.find(Locator::Id("login-submit")).await?.click().await?;
        c.wait().for_element(Locator::Id("current-user")).await?;
        for (lang, expected) in [("en", "Title"), ("zh", "标题")] {
            c.goto(&app.url(&format!("/lang/{lang}?next=/founder/projects/new")))
                .await?;
            c.find(Locator::Id("choose-reward")).await?.click().await?;
            c.wait().for_element(Locator::Id("project-form")).await?;
            // Spaces pass the browser's `required`, and only the server can refuse them.
            fill(&c, "#f-title", "   ").await?;
            fill(&c, "#f-summary", "Kept as typed").await?;
            fill(&c, "#f-goal", "lots").await?;
            c.find(Locator::Id("f-currency")).await?.clear().await?;
            fill(&c, "#f-currency", "XYZ").await?;
            c.execute(
                "document.querySelector('input[name=deadline]').value = arguments[0];",
                vec![json!(in_days(20))],
            )
            .await?;
            c.find(Locator::Id("create-project")).await?.click().await?;
            c.wait().for_element(Locator::Id("error-summary")).await?;
            assert_eq!(
                c.find_all(Locator::Css(".error-summary li")).await?.len(),
                3
            );
            for field in ["title", "goal", "currency"] {
                let text = text_of(&c, &format!("#{field}-error")).await;
                assert!(!text.is_empty(), "{lang}: nothing beside {field}");
                assert!(!text.contains("projects.error"), "{lang}: {text}");
            }
            let summary = c.find(Locator::Id("f-summary")).await?;
            assert_eq!(
                summary.prop("value").await?.as_deref(),
                Some("Kept as typed")
            );
            let goal = c.find(Locator::Id("f-goal")).await?;
            assert_eq!(goal.prop("value").await?.as_deref(), Some("lots"));
            let page = c.source().await?;
            assert!(page.contains(expected), "{lang}");
        }
        Ok::<(), fantoccini::error::CmdError>(())
    }
    .await;
    c.close().await.ok();
    result.unwrap();
}

#[tokio::test]
async fn cancelling_a_pledge_asks_first_and_only_the_confirmed_post_cancels_it() {
    let app = TestApp::spawn().await;
    let (project, tiers) = app.live_reward_project(&[("88.00", Some(10))]).await;
    let user = app.signup("careful@example.com", "backer").await;
    let backer = Backer {
        id: zhonglian::accounts::domain::UserId(user["id"].as_str().unwrap().parse().unwrap()),
        token: app.login("careful@example.com").await,
    };
    app.fund(&backer, "100.00").await;
    let pledge = made_pledge(
        &app.pledge(
            &backer.token,
            project,
            json!({"tier_id": tiers[0], "amount": "88.00"}),
            None,
        )
        .await,
    );
    let me = Session::sign_in(&app, "careful@example.com").await;
    let csrf = me.csrf("/me/pledges").await;
    let path = format!("/pledges/{pledge}/cancel");

    let (status, asked) = me.post(&path, &[("csrf", &csrf)]).await;
    assert_eq!(status, 200);
    assert!(
        asked.contains("id=\"confirm-form\"") && asked.contains("name=\"confirm\" value=\"yes\"")
    );
    assert!(asked.contains(&format!("action=\"{path}\"")));
    assert!(asked.contains("Fixture project"), "the project's title");
    assert!(asked.contains("88.00"), "the amount");
    assert!(asked.contains("href=\"/me/pledges\" id=\"confirm-back\""));
    let state: String = sqlx::query_scalar("SELECT state::text FROM pledges WHERE id = $1")
        .bind(pledge)
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(state, "active", "asking changes nothing");

    let (status, to) = me.post(&path, &[("csrf", &csrf), ("confirm", "yes")]).await;
    assert_eq!(status, 303);
    assert!(to.starts_with("/me/pledges"), "{to}");
    let state: String = sqlx::query_scalar("SELECT state::text FROM pledges WHERE id = $1")
        .bind(pledge)
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(state, "cancelled");
    assert_eq!(
        app.wallet_balance(&backer).await,
        rust_decimal::Decimal::from(100)
    );
}

#[tokio::test]
async fn withdrawing_a_project_asks_first_and_only_the_confirmed_post_cancels_it() {
    let app = TestApp::spawn().await;
    let token = app.login_as_founder().await;
    let email: String =
        sqlx::query_scalar("SELECT email FROM users WHERE 'founder' = ANY(roles::text[])")
            .fetch_one(&app.db)
            .await
            .unwrap();
    let id = app.create_reward_project(&token, "Second thoughts").await;
    let maker = Session::sign_in(&app, &email).await;
    let csrf = maker.csrf(&format!("/founder/projects/{id}")).await;
    let path = format!("/founder/projects/{id}/cancel");

    let (status, asked) = maker.post(&path, &[("csrf", &csrf)]).await;
    assert_eq!(status, 200);
    assert!(asked.contains("Second thoughts") && asked.contains("id=\"confirm-yes\""));
    assert_eq!(state_of(&app, id).await, "draft", "asking changes nothing");

    let (status, to) = maker
        .post(&path, &[("csrf", &csrf), ("confirm", "yes")])
        .await;
    assert_eq!(
        (status, to),
        (
            303,
            format!("/founder/projects/{id}?notice=project_cancelled")
        )
    );
    assert_eq!(state_of(&app, id).await, "cancelled");
}

#[tokio::test]
async fn a_freeze_asks_first_with_the_reason_typed_and_only_the_confirmed_post_freezes() {
    let app = TestApp::spawn().await;
    let (project, _) = app.live_reward_project(&[("20.00", None)]).await;
    let reg = regulator(&app, "reg@example.com").await;
    let csrf = reg.csrf("/regulator").await;
    let path = format!("/regulator/projects/{project}/freeze");
    let reason = "Complaints about delivery.";

    let (status, asked) = reg
        .post(&path, &[("csrf", &csrf), ("reason", reason)])
        .await;
    assert_eq!(status, 200);
    assert!(asked.contains("Freeze this project?"));
    assert!(asked.contains("Fixture project"));
    assert!(asked.contains(&format!("name=\"reason\" value=\"{reason}\"")));
    assert!(
        asked.contains("id=\"confirm-reason\""),
        "the reason is shown"
    );
    assert_eq!(state_of(&app, project).await, "live");

    let (status, refused) = reg
        .post(
            &path,
            &[("csrf", &csrf), ("reason", " "), ("confirm", "yes")],
        )
        .await;
    assert_eq!(status, 422, "a freeze needs a reason");
    assert!(refused.contains("id=\"reason-error\"") && refused.contains("aria-invalid=\"true\""));
    assert_eq!(state_of(&app, project).await, "live");

    let (status, to) = reg
        .post(
            &path,
            &[("csrf", &csrf), ("reason", reason), ("confirm", "yes")],
        )
        .await;
    assert_eq!(
        (status, to.as_str()),
        (
            303,
            &*format!("/projects/{project}?notice=regulator_freeze")
        )
    );
    assert_eq!(state_of(&app, project).await, "frozen");
}

#[tokio::test]
async fn in_the_browser_a_regulator_freezes_and_a_founder_withdraws_through_the_confirmation() {
    let app = TestApp::spawn().await;
    let (live, _) = app.live_reward_project(&[("20.00", None)]).await;
    zhonglian::accounts::create_staff_user(
        &app.db,
        "reg-browser@example.com",
        "Reg",
        "correct horse battery".into(),
        Role::Regulator,
    )
    .await
    .unwrap();
    app.signup("withdraws@example.com", "founder").await;
    let token = app.login("withdraws@example.com").await;
    let draft = app.create_reward_project(&token, "Not after all").await;
    let c = browser().await;
    let log_in = |email: &'static str| {
        let c = c.clone();
        let url = app.url("/login");
        async move {
            c.goto(&url).await?;
            fill(&c, "input[name=email]", email).await?;
            fill(&c, "input[name=password]", "correct horse battery").await?;
            c.find(Locator::Id("login-submit")).await?.click().await?;
            c.wait().for_element(Locator::Id("current-user")).await?;
            Ok::<(), fantoccini::error::CmdError>(())
        }
    };
    let result = async {
        log_in("reg-browser@example.com").await?;
        c.goto(&app.url(&format!("/projects/{live}"))).await?;
        c.find(Locator::Css(
            "#regulator-actions .action-form input[name=reason]",
        ))
        .await?
        .send_keys("Checking the maker.")
        .await?;
        c.find(Locator::Id("freeze")).await?.click().await?;
        assert!(text_of(&c, "#confirm-reason")
            .await
            .contains("Checking the maker."));
        assert_eq!(state_of(&app, live).await, "live");
        c.find(Locator::Id("confirm-back")).await?.click().await?;
        c.wait()
            .for_element(Locator::Id("regulator-actions"))
            .await?;
        assert_eq!(
            state_of(&app, live).await,
            "live",
            "going back changes nothing"
        );
        c.find(Locator::Css(
            "#regulator-actions .action-form input[name=reason]",
        ))
        .await?
        .send_keys("Checking the maker.")
        .await?;
        c.find(Locator::Id("freeze")).await?.click().await?;
        c.wait()
            .for_element(Locator::Id("confirm-yes"))
            .await?
            .click()
            .await?;
        c.wait().for_element(Locator::Id("notice")).await?;
        assert_eq!(state_of(&app, live).await, "frozen");
        c.find(Locator::Id("logout")).await?.click().await?;
        c.wait().for_element(Locator::Id("login-link")).await?;

        log_in("withdraws@example.com").await?;
        c.goto(&app.url(&format!("/founder/projects/{draft}")))
            .await?;
        c.find(Locator::Id("cancel-project")).await?.click().await?;
        assert!(text_of(&c, "#confirm-subject")
            .await
            .contains("Not after all"));
        assert_eq!(state_of(&app, draft).await, "draft");
        c.find(Locator::Id("confirm-yes")).await?.click().await?;
        c.wait().for_element(Locator::Id("notice")).await?;
        assert_eq!(state_of(&app, draft).await, "cancelled");
        Ok::<(), fantoccini::error::CmdError>(())
    }
    .await;
    c.close().await.ok();
    result.unwrap();
}

#[tokio::test]
async fn notices_follow_a_submission_an_approval_and_an_update() {
    let app = TestApp::spawn().await;
    let maker = founder(&app, "noticed@example.com").await;
    let token = app.login("noticed@example.com").await;
    let id = app.create_reward_project(&token, "Noticed").await;
    let csrf = maker.csrf(&format!("/founder/projects/{id}")).await;
    let (_, to) = maker
        .post(
            &format!("/founder/projects/{id}/submit"),
            &[("csrf", &csrf)],
        )
        .await;
    assert!(
        maker.page(&to).await.1.contains("Submitted for review."),
        "{to}"
    );

    let reg = regulator(&app, "approver@example.com").await;
    let reg_csrf = reg.csrf("/regulator").await;
    let (_, to) = reg
        .post(
            &format!("/regulator/projects/{id}/approve"),
            &[
                ("csrf", &reg_csrf),
                ("reason", ""),
                ("launch_at", ""),
                ("confirm", "yes"),
            ],
        )
        .await;
    let (_, approved) = reg.page(&to).await;
    assert!(
        approved.contains("id=\"notice\"") && approved.contains("Approved: the project is live."),
        "{to}"
    );

    let (_, to) = maker
        .post(
            &format!("/founder/projects/{id}/updates"),
            &[
                ("csrf", &csrf),
                ("title", "Week one"),
                ("body", "We started."),
            ],
        )
        .await;
    assert!(
        maker.page(&to).await.1.contains("Your update is posted."),
        "{to}"
    );
}

#[tokio::test]
async fn a_refused_update_and_a_refused_tier_show_every_refusal_and_keep_what_was_typed() {
    let app = TestApp::spawn().await;
    let maker = founder(&app, "updates@example.com").await;
    let token = app.login("updates@example.com").await;
    let id = app.create_reward_project(&token, "Typed twice").await;
    let csrf = maker.csrf(&format!("/founder/projects/{id}")).await;
    let (status, html) = maker
        .post(
            &format!("/founder/projects/{id}/tiers"),
            &[
                ("csrf", &csrf),
                ("title", " "),
                ("description", "Kept"),
                ("price", "free"),
                ("quantity_limit", "0"),
            ],
        )
        .await;
    assert_eq!(status, 422);
    for field in ["tier_title", "tier_price"] {
        assert!(html.contains(&format!("id=\"{field}-error\"")), "{field}");
    }
    assert!(html.contains(">Kept</textarea>") && html.contains("value=\"free\""));

    app.submit(&token, id).await;
    let (status, html) = maker
        .post(
            &format!("/founder/projects/{id}/updates"),
            &[
                ("csrf", &csrf),
                ("title", " "),
                ("body", " "),
                ("backers_only", "1"),
            ],
        )
        .await;
    assert_eq!(status, 422);
    assert!(
        html.contains("id=\"update_title-error\"") && html.contains("id=\"update_body-error\"")
    );
    assert!(
        html.contains("name=\"backers_only\" value=\"1\" checked"),
        "the choice is kept"
    );
}

#[tokio::test]
async fn a_cover_too_large_is_refused_on_the_edit_page_saying_the_limit() {
    let app = TestApp::spawn().await;
    let maker = founder(&app, "covers@example.com").await;
    let token = app.login("covers@example.com").await;
    let id = app.create_reward_project(&token, "Big picture").await;
    let csrf = maker.csrf(&format!("/founder/projects/{id}")).await;
    for size in [2 * 1024 * 1024 + 1, 5 * 1024 * 1024] {
        let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
        png.resize(size, 0);
        let form = reqwest::multipart::Form::new()
            .text("csrf", csrf.clone())
            .part(
                "cover",
                reqwest::multipart::Part::bytes(png).file_name("c.png"),
            );
        let response = maker
            .client
            .post(format!("{}/founder/projects/{id}/cover", maker.base))
            .multipart(form)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 413, "{size} bytes");
        let html = response.text().await.unwrap();
        assert!(
            html.contains("at most 2 MB"),
            "{size} bytes: the limit is said: {}",
            &html[html.find("<main").unwrap_or(0)..][..800.min(html.len())]
        );
        assert!(
            html.contains("id=\"cover-form\""),
            "on the edit page, not a dead end"
        );
    }
}

#[tokio::test]
async fn the_settings_page_stores_a_zone_and_pages_then_show_times_in_it() {
    let app = TestApp::spawn().await;
    app.signup("zoned@example.com", "backer").await;
    let me = Session::sign_in(&app, "zoned@example.com").await;
    let (status, form) = me.page("/me/settings").await;
    assert_eq!(status, 200);
    assert!(
        form.contains("<option value=\"\" selected>"),
        "the language's default at first"
    );
    assert!(form.contains("<option value=\"America/New_York\">"));
    let csrf = form_field(&form, "csrf");

    let (status, to) = me
        .post(
            "/me/settings",
            &[("csrf", &csrf), ("time_zone", "America/New_York")],
        )
        .await;
    assert_eq!(
        (status, to.as_str()),
        (303, "/me/settings?notice=settings_saved")
    );
    let stored: Option<String> =
        sqlx::query_scalar("SELECT time_zone FROM users WHERE email = 'zoned@example.com'")
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(stored.as_deref(), Some("America/New_York"));
    let (_, saved) = me.page(&to).await;
    assert!(saved.contains("Your settings are saved."));
    assert!(saved.contains("<option value=\"America/New_York\" selected>"));
    let now = saved.split("id=\"zone-now\">").nth(1).unwrap_or_default();
    let now = now.split('<').next().unwrap_or_default();
    assert!(
        now.ends_with("UTC-5"),
        "the page's time is New York's (December): {now}"
    );
}

#[tokio::test]
async fn an_unknown_zone_is_refused_with_a_message_on_the_form() {
    let app = TestApp::spawn().await;
    app.signup("lost@example.com", "backer").await;
    let me = Session::sign_in(&app, "lost@example.com").await;
    let csrf = me.csrf("/me/settings").await;
    let (status, html) = me
        .post(
            "/me/settings",
            &[("csrf", &csrf), ("time_zone", "Mars/Olympus_Mons")],
        )
        .await;
    assert_eq!(status, 422);
    assert!(
        html.contains("id=\"time_zone-error\"") && html.contains("That time zone is not known.")
    );
    assert!(html.contains("id=\"settings-form\""), "the form again");
    let stored: Option<String> =
        sqlx::query_scalar("SELECT time_zone FROM users WHERE email = 'lost@example.com'")
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(stored, None);
}
