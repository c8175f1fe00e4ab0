//! The catalogue as a visitor meets it: demo projects read in either language and found by a
//! search in either, covers every project draws itself, cards that tell how a campaign ended,
//! the home page's sections, and listings that answer every page asked for.

use serde_json::json;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use zhonglian::ids::ProjectId;

use crate::support::TestApp;

/// A page as a visitor reading `lang` (`en` or `zh-CN`) without a session gets it.
async fn page_in(app: &TestApp, lang: &str, path: &str) -> (u16, String) {
    let response = reqwest::Client::new()
        .get(app.url(path))
        .header("accept-language", lang)
        .send()
        .await
        .expect("page request");
    let status = response.status().as_u16();
    (status, response.text().await.expect("page body"))
}

/// The demo data, loaded as `serve` loads it.
async fn with_demo() -> TestApp {
    let app = TestApp::spawn().await;
    zhonglian::demo::load(&app.state).await.unwrap();
    app
}

async fn slug_of(app: &TestApp, title: &str) -> String {
    sqlx::query_scalar("SELECT slug FROM projects WHERE title = $1")
        .bind(title)
        .fetch_one(&app.db)
        .await
        .unwrap()
}

/// Every `src` of the cover images on a page.
fn cover_sources(html: &str) -> Vec<String> {
    html.split("<img class=\"cover\" src=\"")
        .skip(1)
        .map(|rest| rest.split('"').next().unwrap().replace("&#x2f;", "/"))
        .collect()
}

#[tokio::test]
async fn an_english_search_finds_a_chinese_demo_project_and_shows_it_in_english() {
    let app = with_demo().await;

    let (status, found) = page_in(&app, "en", "/projects?q=ancient+tea").await;
    assert_eq!(status, 200);
    assert!(
        found.contains("Ancient Tea Trees of Yunnan"),
        "the Chinese tea garden is found in English and titled in English"
    );
    assert!(!found.contains("云南古树普洱茶园"));

    let tea = format!("/projects/{}", slug_of(&app, "云南古树普洱茶园").await);
    let (_, chinese) = page_in(&app, "zh-CN", &tea).await;
    assert!(chinese.contains("云南古树普洱茶园") && chinese.contains("认养一棵古树"));
    // The anonymous view is kept per language: the Chinese view just kept is not the English one.
    let (_, english) = page_in(&app, "en", &tea).await;
    assert!(english.contains("Ancient Tea Trees of Yunnan"), "the title");
    assert!(english.contains("Adopt an old tree"), "the tier");
    assert!(english.contains("three tea-farming families"), "the story");
    assert!(!english.contains("认养一棵古树"));
}

#[tokio::test]
async fn a_chinese_search_finds_an_english_demo_project_and_shows_it_in_chinese() {
    let app = with_demo().await;

    let (status, found) = page_in(&app, "zh-CN", "/projects?q=太阳能").await;
    assert_eq!(status, 200);
    assert!(
        found.contains("乡村学校太阳能灯"),
        "found and titled in Chinese"
    );
    assert!(!found.contains("Solar Lantern for Rural Schools"));

    let (_, english) = page_in(&app, "en", "/projects?q=solar").await;
    assert!(
        english.contains("Solar Lantern for Rural Schools"),
        "its original text for an English reader"
    );
    let lantern = format!(
        "/projects/{}",
        slug_of(&app, "Solar Lantern for Rural Schools").await
    );
    let (_, chinese) = page_in(&app, "zh-CN", &lantern).await;
    assert!(chinese.contains("乡村学校太阳能灯") && chinese.contains("买一盏，捐一盏"));
}

#[tokio::test]
async fn every_demo_project_has_a_cover_served_as_an_image() {
    let app = with_demo().await;
    let bare: i64 = sqlx::query_scalar("SELECT count(*) FROM projects WHERE NOT has_cover")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(bare, 0, "every demo project drew its cover");

    let mut sources = Vec::new();
    for listing in ["live", "frozen", "funded", "failed"] {
        let (_, html) = page_in(&app, "en", &format!("/projects?state={listing}")).await;
        sources.extend(cover_sources(&html));
    }
    assert!(sources.len() >= 9, "{sources:?}");
    for src in sources {
        let answer = reqwest::get(app.url(&src)).await.unwrap();
        assert_eq!(answer.status(), 200, "{src}");
        assert_eq!(answer.headers()["content-type"], "image/png", "{src}");
        let bytes = answer.bytes().await.unwrap();
        assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"), "{src}");
    }
}

#[tokio::test]
async fn a_project_without_a_cover_shows_art_drawn_from_its_category_and_slug() {
    let app = TestApp::spawn().await;
    let founder = app.login_as_founder().await;
    let regulator = app.login_as_regulator().await;
    let id = app.create_reward_project(&founder, "Paper Lamps").await;
    app.launch(&founder, &regulator, id).await;

    let (_, listing) = page_in(&app, "en", "/projects").await;
    let sources = cover_sources(&listing);
    assert_eq!(sources, ["/covers/design/paper-lamps"]);
    let art = reqwest::get(app.url(&sources[0])).await.unwrap();
    assert_eq!(art.headers()["content-type"], "image/png");
    assert_eq!(
        art.headers()["content-security-policy"],
        "default-src 'none'"
    );

    for unknown in [
        "/covers/weapons/paper-lamps",
        "/covers/design/Not%20A%20Slug",
    ] {
        let answer = reqwest::get(app.url(unknown)).await.unwrap();
        assert_eq!(answer.status(), 404, "{unknown}");
    }
}

/// A launched reward project with one backer of its 50.00 tier.
async fn project_with_one_backer(app: &TestApp, founder: &str, regulator: &str) -> ProjectId {
    let id = app.create_reward_project(founder, "Kite Festival").await;
    app.launch(founder, regulator, id).await;
    let (_, shown) = app.get_json(&format!("/projects/{id}"), founder).await;
    let tier = shown["tiers"][0]["id"].as_str().unwrap().to_owned();
    let backer = app.fixture_backer().await;
    app.fund(&backer, "100.00").await;
    let (status, body) = app
        .pledge(
            &backer,
            id,
            json!({"tier_id": tier, "amount": "50.00"}),
            None,
        )
        .await;
    assert_eq!(status, 201, "{body}");
    id
}

#[tokio::test]
async fn one_backer_is_singular_and_a_cancelled_project_shows_cancelled_not_days_left() {
    let app = TestApp::spawn().await;
    let founder = app.login_as_founder().await;
    let regulator = app.login_as_regulator().await;
    let id = project_with_one_backer(&app, &founder, &regulator).await;

    let (_, listing) = page_in(&app, "en", "/projects").await;
    assert!(listing.contains("1 backer<"), "singular in English");
    assert!(!listing.contains("1 backers"));
    assert!(listing.contains("29 days left") || listing.contains("30 days left"));
    assert!(listing.contains("aria-label=\"0% of the goal pledged\""));
    assert!(listing.contains("CN¥50.00"), "money as English writes it");
    let (_, chinese) = page_in(&app, "zh-CN", "/projects").await;
    assert!(chinese.contains("1 位支持者") && chinese.contains("¥50.00"));

    let (cancelled, body) = app
        .regulate(&regulator, id, "cancel", "The rewards cannot be delivered.")
        .await;
    assert_eq!(cancelled, 200, "{body}");
    let (_, page) = page_in(&app, "en", &format!("/projects/{id}")).await;
    assert!(page.contains("Cancelled"), "the outcome is shown");
    assert!(
        !page.contains("days left"),
        "no countdown for a cancelled project"
    );
}

#[tokio::test]
async fn a_page_past_the_last_is_a_page_with_the_way_back_and_a_bad_filter_says_why() {
    let app = TestApp::spawn().await;
    let (status, html) = page_in(&app, "en", "/projects?page=99999&sort=funded").await;
    assert_eq!(status, 200);
    assert!(html.contains("id=\"past-the-end\""));
    assert!(
        html.contains("href=\"/projects?sort=funded&#38;page=1\""),
        "{html}"
    );

    for bad in ["page=x", "sort=random", "kind=loan", "state=draft"] {
        let (status, html) = page_in(&app, "en", &format!("/projects?{bad}")).await;
        assert_eq!(status, 400, "{bad}");
        assert!(html.contains("id=\"listing-refused\""), "{bad}");
        assert!(html.contains("href=\"/projects\""), "{bad}: a way back");
    }
}

#[tokio::test]
async fn the_home_page_has_four_sections_each_leading_to_its_listing() {
    let app = TestApp::spawn().await;
    let founder = app.login_as_founder().await;
    let regulator = app.login_as_regulator().await;
    let live = app.create_reward_project(&founder, "Paper Lamps").await;
    app.launch(&founder, &regulator, live).await;
    let later = app
        .create_reward_project(&founder, "Night Market Guide")
        .await;
    app.submit(&founder, later).await;
    let launch_at = (OffsetDateTime::now_utc() + time::Duration::days(2))
        .format(&Rfc3339)
        .unwrap();
    let (approved, _) = app
        .post_json(
            &format!("/regulator/projects/{later}/approve"),
            &regulator,
            json!({"launch_at": launch_at}),
        )
        .await;
    assert_eq!(approved, 200);
    let ended = app.create_reward_project(&founder, "Finished Quilt").await;
    app.launch(&founder, &regulator, ended).await;
    zhonglian::projects::settling::end_campaign_now(&app.db, ended, false)
        .await
        .unwrap();

    let (status, home) = page_in(&app, "en", "/").await;
    assert_eq!(status, 200);
    for (section, sort) in [
        ("ending-soon", "ending"),
        ("most-funded", "funded"),
        ("new", "newest"),
        ("launching-soon", "launching"),
    ] {
        let start = home
            .find(&format!("id=\"{section}\""))
            .unwrap_or_else(|| panic!("no section {section}"));
        let body = &home[start..];
        let body = &body[..body.find("</section>").unwrap()];
        assert!(
            body.contains(&format!("href=\"/projects?sort={sort}\"")),
            "{section} leads to its listing"
        );
        let upcoming = body.contains("Night Market Guide");
        assert_eq!(upcoming, section == "launching-soon", "{section}");
        if section != "launching-soon" {
            assert!(body.contains("Paper Lamps"), "{section}");
        }
        if section == "ending-soon" {
            assert!(
                !body.contains("Finished Quilt"),
                "an ended campaign is not ending soon"
            );
        }
    }
    assert!(home.contains("Launches "), "the upcoming card says when");

    let (_, upcoming) = page_in(&app, "en", "/projects?sort=launching").await;
    assert!(upcoming.contains("Night Market Guide") && !upcoming.contains("Paper Lamps"));
}

#[tokio::test]
async fn on_a_phone_the_home_page_and_the_listing_fit_the_screen_and_every_cover_loads() {
    let app = with_demo().await;
    let c = crate::browser::browser().await;
    let result = async {
        c.set_window_size(390, 844).await?;
        std::fs::create_dir_all("target/screenshots").ok();
        for lang in ["en", "zh"] {
            c.goto(&app.url(&format!("/lang/{lang}"))).await.ok();
            for (name, path) in [("home", "/"), ("browse", "/projects")] {
                c.goto(&app.url(path)).await?;
                // Lazy images load as they scroll into view: bring each in, then wait for all.
                let loaded = c
                    .execute_async(
                        "const done = arguments[arguments.length - 1];
                         const images = [...document.querySelectorAll('img.cover')];
                         images.forEach(i => { i.loading = 'eager'; });
                         Promise.all(images.map(i => i.decode().then(() => i.naturalWidth, () => 0)))
                           .then(widths => done(widths));",
                        vec![],
                    )
                    .await?;
                let widths: Vec<u64> = serde_json::from_value(loaded).unwrap();
                assert!(!widths.is_empty(), "{name} {lang} has covers");
                assert!(
                    widths.iter().all(|w| *w == 640),
                    "{name} {lang}: every cover drew ({widths:?})"
                );
                let wide = crate::browser::page_width(&c).await?;
                assert!(
                    wide <= 390,
                    "{name} {lang} is {wide} px wide on a 390 px phone"
                );
                let png = c.screenshot().await?;
                std::fs::write(format!("target/screenshots/{name}-390-{lang}.png"), png).ok();
            }
        }
        Ok::<(), fantoccini::error::CmdError>(())
    }
    .await;
    c.close().await.ok();
    result.unwrap();
}

#[tokio::test]
async fn a_translated_project_is_still_found_in_both_languages_after_its_founder_edits_it() {
    let app = TestApp::spawn().await;
    let (id, founder, regulator) = paper_lamps_in_chinese(&app, "我们的故事。").await;
    let (edited, body) = app
        .patch_json(
            &format!("/projects/{id}"),
            &founder,
            json!({"title": "Folded Paper Lamps"}),
        )
        .await;
    assert_eq!(edited, 200, "{body}");
    app.launch(&founder, &regulator, id).await;

    let (_, found) = page_in(&app, "zh-CN", "/projects?q=灯笼").await;
    assert!(
        found.contains("纸灯笼"),
        "the translation is still searched"
    );
    let (_, found) = page_in(&app, "en", "/projects?q=folded").await;
    assert!(
        found.contains("Folded Paper Lamps"),
        "and so is the new title"
    );
    let (_, page) = page_in(&app, "zh-CN", &format!("/projects/{id}")).await;
    assert!(
        page.contains("感谢卡") && page.contains("一张手写感谢卡。"),
        "tiers too"
    );
    let (_, api) = app.get_json(&format!("/projects/{id}"), &founder).await;
    assert_eq!(
        api["project"]["title"], "Folded Paper Lamps",
        "the API keeps the original"
    );
}

#[tokio::test]
async fn a_story_changed_after_launch_is_read_in_its_new_original_not_in_an_old_translation() {
    let app = TestApp::spawn().await;
    let (id, founder, regulator) = paper_lamps_in_chinese(&app, "旧的故事。").await;
    app.launch(&founder, &regulator, id).await;

    let (edited, body) = app
        .patch_json(
            &format!("/projects/{id}"),
            &founder,
            json!({"story": "The workshop moved; here is the new plan."}),
        )
        .await;
    assert_eq!(edited, 200, "{body}");

    let (_, page) = page_in(&app, "zh-CN", &format!("/projects/{id}")).await;
    assert!(page.contains("纸灯笼"), "the translated title stays");
    assert!(
        page.contains("the new plan") && !page.contains("旧的故事"),
        "the story is the current original, not the old translation"
    );
}

#[tokio::test]
async fn the_pledge_form_offers_the_tiers_in_the_readers_language() {
    let app = TestApp::spawn().await;
    let (id, founder, regulator) = paper_lamps_in_chinese(&app, "我们的故事。").await;
    app.launch(&founder, &regulator, id).await;
    let backer = app.login_as_backer().await;

    // No language asked for: the site's default, Chinese.
    let form = app
        .html_as(&format!("/projects/{id}/pledge"), &backer)
        .await;

    assert!(form.contains("纸灯笼"), "the title in Chinese: {form}");
    assert!(
        form.contains("感谢卡") && form.contains("一张手写感谢卡。"),
        "the tier in Chinese"
    );
}

/// A founder's "Paper Lamps" with its Chinese texts (`story` the translated story, one tier
/// 感谢卡), not yet launched; the founder's and a regulator's tokens.
async fn paper_lamps_in_chinese(app: &TestApp, story: &str) -> (ProjectId, String, String) {
    use zhonglian::i18n::Lang;
    use zhonglian::projects::repo::{put_translation, Translation};

    let founder = app.login_as_founder().await;
    let regulator = app.login_as_regulator().await;
    let id = app.create_reward_project(&founder, "Paper Lamps").await;
    let chinese = Translation::parse(
        Lang::Zh,
        "纸灯笼",
        "手工折叠的纸灯笼。",
        story,
        &[("感谢卡", "一张手写感谢卡。")],
    )
    .unwrap();
    put_translation(&app.db, id, &chinese).await.unwrap();
    (id, founder, regulator)
}
