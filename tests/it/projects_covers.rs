//! Covers and the founder's HTML forms: what an upload may be, when it may change, who sees
//! it, and the CSRF token every form (the multipart one too) carries.

use reqwest::Method;

use crate::support::TestApp;
use zhonglian::ids::ProjectId;

/// A PNG signature padded to `len` bytes: enough for the server's sniffing.
fn png(len: usize) -> Vec<u8> {
    let mut bytes = b"\x89PNG\r\n\x1a\n".to_vec();
    bytes.resize(len, 0);
    bytes
}

/// `PUT /api/v1/projects/{id}/cover` as `token`, with `bytes` as an `image/png` part.
async fn upload(
    app: &TestApp,
    token: &str,
    id: ProjectId,
    bytes: Vec<u8>,
) -> (reqwest::StatusCode, serde_json::Value) {
    let form = reqwest::multipart::Form::new().part(
        "cover",
        reqwest::multipart::Part::bytes(bytes)
            .file_name("cover.png")
            .mime_str("image/png")
            .unwrap(),
    );
    app.send_json(
        app.request_as(Method::PUT, &format!("/projects/{id}/cover"), token)
            .multipart(form),
    )
    .await
}

#[tokio::test]
async fn a_cover_that_is_not_an_image_or_is_too_large_is_refused() {
    let app = TestApp::spawn().await;
    let founder = app.login_as_founder().await;
    let id = app.create_reward_project(&founder, "Covered").await;

    let (status, body) = upload(&app, &founder, id, b"<svg onload=alert(1)></svg>".to_vec()).await;
    assert_eq!(status, 422);
    assert_eq!(
        body["detail"],
        "The cover must be a PNG, JPEG, WebP or GIF image."
    );
    let too_large = upload(&app, &founder, id, png(2 * 1024 * 1024 + 1)).await;
    assert_eq!(too_large.0, 413);
    let far_too_large = upload(&app, &founder, id, png(5 * 1024 * 1024)).await;
    assert_eq!(far_too_large.0, 413);

    let ok = upload(&app, &founder, id, png(1500 * 1024)).await;
    assert_eq!(ok.0, 204, "a 1.5 MiB PNG fits, above the global body limit");
    let served = app
        .client
        .get(app.url(&format!("/projects/{id}/cover")))
        .bearer_auth(&founder)
        .send()
        .await
        .unwrap();
    assert_eq!(served.status(), 200);
    assert_eq!(served.headers()["content-type"], "image/png");
    assert_eq!(served.bytes().await.unwrap().len(), 1500 * 1024);
    let public = app.get(&format!("/projects/{id}/cover")).await;
    assert_eq!(
        public.status(),
        404,
        "a draft's cover is as private as the draft"
    );
    let other = app.login_as_founder().await;
    assert_eq!(upload(&app, &other, id, png(100)).await.0, 404);
}

#[tokio::test]
async fn a_cover_can_be_changed_only_while_the_project_is_a_draft() {
    let app = TestApp::spawn().await;
    let founder = app.login_as_founder().await;
    let regulator = app.login_as_regulator().await;
    let id = app.create_reward_project(&founder, "Fixed cover").await;
    assert_eq!(upload(&app, &founder, id, png(64)).await.0, 204);
    app.launch(&founder, &regulator, id).await;
    let (status, body) = upload(&app, &founder, id, png(64)).await;
    assert_eq!(status, 409, "{body}");
    let public = app.get(&format!("/projects/{id}/cover")).await;
    assert_eq!(public.status(), 200, "a live project's cover is public");
    assert_eq!(public.headers()["content-type"], "image/png");
}

#[tokio::test]
async fn a_founder_uses_the_html_forms_with_csrf() {
    let app = TestApp::spawn().await;
    let email = "forms@example.com";
    app.signup(email, "founder").await;
    let csrf = app.csrf_from("/login").await;
    let login = app
        .client
        .post(app.url("/login"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("email", email),
            ("password", "correct horse battery"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 303);
    let csrf = app.csrf_from("/founder/projects/new").await;
    let deadline = (time::OffsetDateTime::now_utc() + time::Duration::days(20))
        .date()
        .to_string();
    let form = [
        ("csrf", csrf.as_str()),
        ("kind", "reward"),
        ("title", "表单项目 Form project"),
        ("summary", "s"),
        ("story", "story"),
        ("category", "music"),
        ("deadline", deadline.as_str()),
        ("goal", "5,000"),
        ("currency", "CNY"),
    ];
    let created = app
        .client
        .post(app.url("/founder/projects"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 303);
    let location = created.headers()["location"].to_str().unwrap();
    // The edit page, saying the draft was created.
    let (location, notice) = location.split_once('?').unwrap();
    assert_eq!(notice, "notice=created");
    let location = location.to_owned();
    let tier = app
        .client
        .post(app.url(&format!("{location}/tiers")))
        .form(&[
            ("csrf", csrf.as_str()),
            ("title", "Vinyl"),
            ("price", "abc"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(tier.status(), 422, "a bad price re-renders the form");
    let page = tier.text().await.unwrap();
    assert!(page.contains("id=\"tier_price-error\""), "beside the price");
    assert!(page.contains("value=\"Vinyl\""), "the tier's title is kept");
    let forged = app
        .client
        .post(app.url(&format!("{location}/submit")))
        .form(&[("csrf", "0".repeat(64))])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 403);
    let cover = reqwest::multipart::Form::new()
        .text("csrf", "f".repeat(64))
        .part(
            "cover",
            reqwest::multipart::Part::bytes(png(100)).file_name("c.png"),
        );
    let forged_cover = app
        .client
        .post(app.url(&format!("{location}/cover")))
        .multipart(cover)
        .send()
        .await
        .unwrap();
    assert_eq!(
        forged_cover.status(),
        403,
        "the multipart upload checks the CSRF token too"
    );
    let cover = reqwest::multipart::Form::new()
        .text("csrf", csrf.clone())
        .part(
            "cover",
            reqwest::multipart::Part::bytes(png(100)).file_name("c.png"),
        );
    let uploaded = app
        .client
        .post(app.url(&format!("{location}/cover")))
        .multipart(cover)
        .send()
        .await
        .unwrap();
    assert_eq!(uploaded.status(), 303);
    let dashboard = app.html("/founder").await;
    assert!(dashboard.contains("表单项目 Form project"));
}
