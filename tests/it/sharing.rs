//! Sharing a project: Open Graph and Twitter card tags with absolute addresses, a copy-link
//! button, and a QR code of the project's address that a decoder reads back.

use crate::support::*;

const SITE: &str = "https://zhonglian.example";

/// An app that believes it is reached at [`SITE`], with one launched project; returns the app
/// and the project's slug.
async fn shared_project(title: &str) -> (TestApp, String) {
    let app = TestApp::spawn_with(|s| s.public_url = SITE.into()).await;
    let founder = app.login_as_founder().await;
    let regulator = app.login_as_regulator().await;
    let created = app.create_reward_project_json(&founder, title).await;
    app.launch(&founder, &regulator, project_id(&created)).await;
    let slug = created["slug"].as_str().unwrap().to_owned();
    (app, slug)
}

/// The `content` of the first `<meta>` whose `attribute` is `name`.
#[track_caller]
fn meta(html: &str, attribute: &str, name: &str) -> String {
    let marker = format!("<meta {attribute}=\"{name}\" content=\"");
    let start = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no {name} tag"))
        + marker.len();
    html[start..].split('"').next().unwrap().to_owned()
}

#[tokio::test]
async fn the_project_page_has_open_graph_and_twitter_tags_with_absolute_addresses() {
    let (app, slug) = shared_project("Bamboo Steamers").await;

    let page = app.html(&format!("/projects/{slug}")).await;

    assert_eq!(meta(&page, "property", "og:title"), "Bamboo Steamers");
    assert_eq!(
        meta(&page, "property", "og:url"),
        format!("{SITE}/projects/{slug}")
    );
    let image = meta(&page, "property", "og:image");
    assert!(image.starts_with(&format!("{SITE}/")), "{image}");
    assert_eq!(meta(&page, "name", "twitter:card"), "summary_large_image");
    assert_eq!(meta(&page, "name", "twitter:image"), image);
    let cover = app.get(image.trim_start_matches(SITE)).await;
    assert_eq!(cover.status(), 200, "the image is served");
}

#[tokio::test]
async fn the_project_page_offers_a_copy_link_button_with_its_script() {
    let (app, slug) = shared_project("Ink Stones").await;

    let page = app.html(&format!("/projects/{slug}")).await;

    assert!(page.contains("id=\"copy-link\""));
    assert!(page.contains(&format!("value=\"{SITE}/projects/{slug}\"")));
    assert!(page.contains("<script src=\"/static/share.js\"></script>"));
    let script = app.get("/static/share.js").await;
    assert_eq!(script.status(), 200);
    assert!(script.text().await.unwrap().contains("clipboard"));
}

/// The dark modules of an SVG drawn as `M{x} {y}h{w}v{h}H{x}V{y}` rectangles, as a greyscale
/// bitmap `scale` pixels to a unit.
fn rasterise(svg: &str, scale: usize) -> (usize, usize, Vec<u8>) {
    let number = |after: &str| -> usize {
        let start = svg.find(after).unwrap() + after.len();
        svg[start..].split('"').next().unwrap().parse().unwrap()
    };
    let (width, height) = (number("width=\""), number("height=\""));
    let (w, h) = (width * scale, height * scale);
    let mut pixels = vec![255u8; w * h];
    let path = svg
        .split(" d=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap();
    for rect in path.split('M').filter(|r| !r.is_empty()) {
        let fields: Vec<usize> = rect
            .split(|c: char| !c.is_ascii_digit())
            .filter(|s| !s.is_empty())
            .map(|s| s.parse().unwrap())
            .collect();
        let (x, y, rw, rh) = (fields[0], fields[1], fields[2], fields[3]);
        for row in y * scale..(y + rh) * scale {
            for col in x * scale..(x + rw) * scale {
                pixels[row * w + col] = 0;
            }
        }
    }
    (w, h, pixels)
}

#[tokio::test]
async fn the_qr_code_is_an_svg_that_decodes_to_the_project_address() {
    let (app, slug) = shared_project("Paper Umbrellas").await;

    let response = app.get(&format!("/projects/{slug}/qr.svg")).await;

    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "image/svg+xml");
    let caching = response.headers()["cache-control"].to_str().unwrap();
    assert!(caching.contains("max-age="), "{caching}");
    let svg = response.text().await.unwrap();
    assert!(svg.contains("<svg"));
    let (w, h, pixels) = rasterise(&svg, 2);
    let mut image = rqrr::PreparedImage::prepare_from_greyscale(w, h, |x, y| pixels[y * w + x]);
    let grids = image.detect_grids();
    assert_eq!(grids.len(), 1, "one QR code in the picture");
    let (_, text) = grids[0].decode().expect("a readable code");
    assert_eq!(text, format!("{SITE}/projects/{slug}"));
}

#[tokio::test]
async fn the_qr_code_of_a_draft_is_not_served_to_strangers() {
    let app = TestApp::spawn().await;
    let founder = app.login_as_founder().await;
    let created = app
        .create_reward_project_json(&founder, "Hidden Draft")
        .await;

    let response = app
        .get(&format!(
            "/projects/{}/qr.svg",
            created["slug"].as_str().unwrap()
        ))
        .await;

    assert_eq!(response.status(), 404);
}

#[tokio::test]
async fn on_a_phone_the_share_box_fits_the_screen_and_its_copy_button_is_shown_by_the_script() {
    use crate::browser::{page_width, phone, PHONE};
    use fantoccini::{error::CmdError, Locator};
    let (app, slug) = shared_project("Lacquer Boxes").await;
    let c = phone().await;
    let result = async {
        c.goto(&app.url(&format!("/projects/{slug}"))).await?;
        let button = c.find(Locator::Id("copy-link")).await?;
        let shown = button.is_displayed().await?;
        let qr = c.find(Locator::Id("share-qr")).await?;
        // A lazy image loads once it is scrolled into view.
        let loaded: bool = c
            .execute_async(
                "const img = arguments[0], done = arguments[arguments.length - 1];
                 img.scrollIntoView();
                 if (img.complete && img.naturalWidth > 0) { done(true); }
                 else { img.onload = () => done(img.naturalWidth > 0); img.onerror = () => done(false); }",
                vec![serde_json::to_value(&qr)?],
            )
            .await?
            .as_bool()
            .unwrap_or(false);
        Ok::<_, CmdError>((shown, loaded, page_width(&c).await?))
    }
    .await;
    c.close().await.ok();
    let (shown, loaded, width) = result.unwrap();

    assert!(shown, "share.js shows the copy button");
    assert!(loaded, "the QR code loads as an image");
    assert!(width <= u64::from(PHONE.0), "no horizontal scroll: {width}");
}
