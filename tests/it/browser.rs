//! Browser flows in headless Chromium, driven over WebDriver (chromedriver).

use std::path::PathBuf;
use std::process::Child;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use base64::Engine as _;
use fantoccini::error::CmdError;
use fantoccini::wd::WebDriverCompatibleCommand;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;

use crate::support::TestApp;

/// Starts one chromedriver for the test process; a detached watcher stops it when we exit.
fn driver_url() -> &'static str {
    static DRIVER: OnceLock<(String, Mutex<Child>)> = OnceLock::new();
    &DRIVER
        .get_or_init(|| {
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .expect("a free port")
                .port();
            let binary = ["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"]
                .into_iter()
                .find(|p| std::path::Path::new(p).exists())
                .unwrap_or("chromedriver");
            let child = std::process::Command::new(binary)
                .arg(format!("--port={port}"))
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
                .expect("chromedriver (apt-get install chromium chromium-driver)");
            let script = format!(
                "while kill -0 {} 2>/dev/null; do sleep 0.5; done; kill {}",
                std::process::id(),
                child.id()
            );
            std::process::Command::new("setsid")
                .args(["-f", "sh", "-c", &script])
                .status()
                .expect("watcher");
            // Wait until the driver accepts connections.
            for _ in 0..200 {
                if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            (format!("http://127.0.0.1:{port}"), Mutex::new(child))
        })
        .0
}

/// A Chromium session in a laptop's window, 1366x900, so the whole menu stands in one row.
pub(crate) async fn browser() -> Client {
    let client = session(json!({})).await;
    client
        .set_window_size(1366, 900)
        .await
        .expect("a window size");
    client
}

/// The width and height of the phone `phone()` emulates (CSS pixels).
pub(crate) const PHONE: (u32, u32) = (390, 844);

/// A Chromium session that emulates a phone: chromedriver's mobile emulation with a 390x844
/// viewport at pixel ratio 3, touch, and a phone's user agent, so pages get the phone's
/// viewport (and a too-wide page shows the zoom-out a phone would do).
pub(crate) async fn phone() -> Client {
    session(json!({
        "mobileEmulation": {
            "deviceMetrics": {"width": PHONE.0, "height": PHONE.1, "pixelRatio": 3.0, "touch": true},
            "userAgent": "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 \
                          (KHTML, like Gecko) Chrome/126.0 Mobile Safari/537.36"
        }
    }))
    .await
}

/// A headless Chromium session; `extra` adds to the `goog:chromeOptions`.
async fn session(extra: serde_json::Value) -> Client {
    // Both TLS back ends are linked in; pick one for the WebDriver client.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let profile = std::env::temp_dir().join(format!("zl-chrome-{}", uuid::Uuid::new_v4().simple()));
    let mut options = json!({
        "binary": "/usr/bin/chromium",
        "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--no-first-run", "--disable-component-update",
                 "--disable-sync", "--lang=en-US", "--window-size=1366,900",
                 "--hide-scrollbars", format!("--user-data-dir={}", profile.display())]
    });
    if let (Some(options), Some(extra)) = (options.as_object_mut(), extra.as_object()) {
        options.extend(extra.clone());
    }
    let mut caps = serde_json::Map::new();
    caps.insert("goog:chromeOptions".into(), options);
    ClientBuilder::rustls()
        .expect("TLS roots")
        .capabilities(caps)
        .connect(driver_url())
        .await
        .expect("a Chromium session")
}

/// What parsing a URL fails with (the `url` crate's error, named through reqwest's `Url`).
type UrlError = <reqwest::Url as std::str::FromStr>::Err;

/// A command of CDP, the debugging protocol of Chromium, sent through chromedriver's `goog/cdp/execute`.
#[derive(Debug)]
struct Cdp {
    method: &'static str,
    params: serde_json::Value,
}

impl WebDriverCompatibleCommand for Cdp {
    fn endpoint(
        &self,
        base_url: &reqwest::Url,
        session_id: Option<&str>,
    ) -> Result<reqwest::Url, UrlError> {
        base_url.join(&format!(
            "session/{}/goog/cdp/execute",
            session_id.unwrap_or_default()
        ))
    }

    fn method_and_body(&self, _: &reqwest::Url) -> (axum::http::Method, Option<String>) {
        let body = json!({"cmd": self.method, "params": self.params});
        (axum::http::Method::POST, Some(body.to_string()))
    }
}

/// The folder screenshots go to: `screenshots/` in the target folder.
pub(crate) fn screenshot_folder() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target"))
        .join("screenshots")
}

/// How wide the open page is, in CSS pixels (`document.documentElement.scrollWidth`): wider
/// than the window means the reader scrolls sideways.
pub(crate) async fn page_width(client: &Client) -> Result<u64, CmdError> {
    let width = client
        .execute("return document.documentElement.scrollWidth", vec![])
        .await?;
    Ok(width.as_u64().unwrap_or(u64::MAX))
}

/// Writes a PNG of the whole page, beyond the viewport, to `path`, in CSS pixels (one image
/// pixel per CSS pixel, whatever the device's pixel ratio), so screenshots stay small.
pub(crate) async fn full_page_screenshot(
    client: &Client,
    path: &std::path::Path,
) -> Result<(), CmdError> {
    let metrics = client
        .issue_cmd(Cdp {
            method: "Page.getLayoutMetrics",
            params: json!({}),
        })
        .await?;
    let size = &metrics["cssContentSize"];
    let ratio = client
        .execute("return window.devicePixelRatio", vec![])
        .await?;
    let ratio = ratio.as_f64().unwrap_or(1.0);
    let shot = client
        .issue_cmd(Cdp {
            method: "Page.captureScreenshot",
            params: json!({
                "format": "png",
                "captureBeyondViewport": true,
                "clip": {"x": 0, "y": 0, "width": size["width"], "height": size["height"],
                         "scale": 1.0 / ratio}
            }),
        })
        .await?;
    let png = base64::engine::general_purpose::STANDARD
        .decode(shot["data"].as_str().unwrap_or_default())
        .map_err(CmdError::ImageDecodeError)?;
    if let Some(folder) = path.parent() {
        std::fs::create_dir_all(folder).expect("the screenshot folder");
    }
    std::fs::write(path, png).expect("the screenshot file");
    Ok(())
}

/// Types `text` into the field `css` selects.
pub(crate) async fn fill(client: &Client, css: &str, text: &str) -> Result<(), CmdError> {
    client.find(Locator::Css(css)).await?.send_keys(text).await
}

/// Signs up on the `/signup` page as a backer named `name`, and waits to be signed in.
pub(crate) async fn sign_up(
    client: &Client,
    app: &TestApp,
    email: &str,
    name: &str,
) -> Result<(), CmdError> {
    client.goto(&app.url("/signup")).await?;
    fill(client, "input[name=email]", email).await?;
    fill(client, "input[name=display_name]", name).await?;
    fill(client, "input[name=password]", "correct horse battery").await?;
    client
        .find(Locator::Id("signup-submit"))
        .await?
        .click()
        .await
}

pub(crate) async fn text_of(client: &Client, css: &str) -> String {
    client
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .text()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_visitor_signs_up_logs_in_sees_their_name_switches_language_and_logs_out() {
    let app = TestApp::spawn().await;
    let c = browser().await;
    let result = async {
        sign_up(&c, &app, "browser@example.com", "Browser Bai").await?;
        assert_eq!(text_of(&c, "#current-user").await, "Browser Bai");

        c.find(Locator::Id("logout")).await?.click().await?;
        c.wait()
            .for_element(Locator::Id("login-link"))
            .await?
            .click()
            .await?;
        c.find(Locator::Css("input[name=email]"))
            .await?
            .send_keys("browser@example.com")
            .await?;
        c.find(Locator::Css("input[name=password]"))
            .await?
            .send_keys("correct horse battery")
            .await?;
        c.find(Locator::Id("login-submit")).await?.click().await?;
        assert_eq!(text_of(&c, "#current-user").await, "Browser Bai");

        let lang = c.find(Locator::Css("html")).await?.attr("lang").await?;
        assert_eq!(lang.as_deref(), Some("en"));
        assert_eq!(text_of(&c, "#logout").await, "Log out");
        c.find(Locator::Id("lang-toggle")).await?.click().await?;
        assert_eq!(text_of(&c, "#logout").await, "退出");
        let lang = c.find(Locator::Css("html")).await?.attr("lang").await?;
        assert_eq!(lang.as_deref(), Some("zh-CN"));
        c.goto(&app.url("/ledger")).await?;
        assert_eq!(
            text_of(&c, "#logout").await,
            "退出",
            "the choice is remembered"
        );

        c.find(Locator::Id("logout")).await?.click().await?;
        c.wait().for_element(Locator::Id("login-link")).await?;
        assert!(c.find(Locator::Id("current-user")).await.is_err());
        Ok::<(), fantoccini::error::CmdError>(())
    }
    .await;
    c.close().await.ok();
    result.unwrap();
}

/// What `/verify` said: the result's class and text, and each step as (id, class, text).
struct Verified {
    class: String,
    text: String,
    steps: Vec<(String, String, String)>,
}

impl Verified {
    fn step(&self, id: &str) -> (&str, &str) {
        self.steps
            .iter()
            .find(|(step, _, _)| step == id)
            .map(|(_, class, text)| (class.as_str(), text.as_str()))
            .unwrap_or_else(|| panic!("no step {id}: {:?}", self.steps))
    }
}

/// Reads the result of the verification just started, once it is there.
async fn verified(c: &Client) -> Result<Verified, CmdError> {
    let result = c
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css("#verify-result.valid, #verify-result.invalid"))
        .await?;
    let mut steps = Vec::new();
    for li in c.find_all(Locator::Css("#verify-steps li")).await? {
        steps.push((
            li.attr("data-step").await?.unwrap_or_default(),
            li.attr("class").await?.unwrap_or_default(),
            li.text().await?,
        ));
    }
    Ok(Verified {
        class: result.attr("class").await?.unwrap_or_default(),
        text: result.text().await?,
        steps,
    })
}

/// Opens /verify, pastes `receipt` (and `policy` over the page's recommended one, when given)
/// and verifies.
async fn verify_in_browser(
    c: &Client,
    app: &TestApp,
    receipt: &str,
    policy: Option<&str>,
) -> Result<Verified, CmdError> {
    c.goto(&app.url("/verify")).await?;
    // Typing a long receipt key by key is slow; set it the way a paste would.
    c.execute(
        "document.getElementById('receipt-input').value = arguments[0];
         if (arguments[1] !== null) document.getElementById('policy-input').value = arguments[1];",
        vec![json!(receipt), json!(policy)],
    )
    .await?;
    c.find(Locator::Id("verify-button")).await?.click().await?;
    verified(c).await
}

#[tokio::test]
async fn the_verify_page_passes_a_good_receipt_and_fails_a_tampered_one() {
    use zhonglian::accounts::domain::UserId;
    use zhonglian::ledger::entry::{EntryKind, NewEntry};

    let app = TestApp::spawn().await;
    let party = app.signup("receipt@example.com", "backer").await;
    let party_id = UserId(party["id"].as_str().unwrap().parse().unwrap());
    let mut batch = Vec::new();
    for i in 0..13 {
        let mut parties = Vec::new();
        let commitment = NewEntry::commit_party(&mut parties, party_id);
        let mut entry = NewEntry::new(
            EntryKind::PledgeRefunded,
            json!({"amount": format!("{i}.50"), "backer": commitment, "currency": "CNY"})
                .as_object()
                .cloned()
                .unwrap(),
        );
        entry.parties = parties;
        batch.push(entry);
    }
    let mut tx = app.db.begin().await.unwrap();
    let appended = app.state.ledger.append(&mut tx, &batch).await.unwrap();
    tx.commit().await.unwrap();
    let token = app.login("receipt@example.com").await;
    let receipt = app
        .client
        .get(app.url(&format!(
            "/api/v1/ledger/receipts/{}",
            hex::encode(appended.tx_hashes[6])
        )))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();

    let c = browser().await;
    let result = async {
        let good = verify_in_browser(&c, &app, &receipt, None).await?;
        let bad = verify_in_browser(&c, &app, &receipt.replacen("6.50", "6.51", 1), None).await?;
        Ok::<_, CmdError>((good, bad))
    }
    .await;
    c.close().await.ok();
    let (good, bad) = result.unwrap();

    assert_eq!(good.class, "valid", "{}", good.text);
    assert!(
        good.steps.len() >= 6 && good.steps.iter().all(|(_, class, _)| class == "pass"),
        "{:?}",
        good.steps
    );
    assert!(bad.class.contains("invalid"), "{}", bad.text);
    assert!(bad.text.contains("tampered"), "{}", bad.text);
}

/// `proof` with its entry (the `extra` line) changed: `"n":3` becomes `"n":4`.
fn with_another_entry(proof: &str) -> String {
    let b64 = base64::engine::general_purpose::STANDARD;
    let extra = proof
        .lines()
        .find_map(|l| l.strip_prefix("extra "))
        .expect("an extra line");
    let entry = String::from_utf8(b64.decode(extra).unwrap()).unwrap();
    let changed = entry.replacen("\"n\":3", "\"n\":4", 1);
    assert_ne!(entry, changed, "{entry}");
    proof.replacen(extra, &b64.encode(changed), 1)
}

#[tokio::test]
async fn on_a_phone_verify_checks_a_tlog_proof_against_a_policy_and_names_a_missing_witness() {
    use zhonglian::accounts::domain::Role;
    use zhonglian::ledger::note::{KeyType, NoteSigner};

    let app = TestApp::spawn_with_witnesses().await;
    for w in &crate::support::test_witnesses() {
        app.cosign_latest(w).await;
    }
    let auditor = app.login_as_staff(Role::Auditor).await;
    let tx = app.leaf_tx_hash(3).await;
    let proof = app
        .client
        .get(app.url(&format!("/api/v1/ledger/receipts/{tx}/tlog-proof")))
        .bearer_auth(auditor)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let published = app
        .client
        .get(app.url("/ledger/tlog/policy"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    // A policy that also requires a witness that never cosigned.
    let fresh = NoteSigner::new("fresh.witness.example", KeyType::Cosignature, [23u8; 32]);
    let strict = published.replace(
        "quorum witnesses\n",
        &format!(
            "witness fresh {}\ngroup strict all witnesses fresh\nquorum strict\n",
            fresh.verifier_key()
        ),
    );
    assert_ne!(strict, published);
    std::fs::create_dir_all(&app.data_dir).unwrap();
    let tampered_file = app.data_dir.join("tampered.tlog-proof");
    std::fs::write(&tampered_file, with_another_entry(&proof)).unwrap();

    let c = phone().await;
    let result = async {
        c.goto(&app.url("/verify")).await?;
        let prefilled = c
            .execute(
                "return document.getElementById('policy-input').value",
                vec![],
            )
            .await?;
        let accepted = c
            .find(Locator::Id("receipt-file"))
            .await?
            .attr("accept")
            .await?;
        let good = verify_in_browser(&c, &app, &proof, None).await?;
        let width = page_width(&c).await?;
        full_page_screenshot(&c, &screenshot_folder().join("verify-tlog-proof-390.png")).await?;
        let refused = verify_in_browser(&c, &app, &proof, Some(&strict)).await?;
        // The tampered proof comes as a file, as a reader would choose it.
        c.goto(&app.url("/verify")).await?;
        c.find(Locator::Id("receipt-file"))
            .await?
            .send_keys(&tampered_file.display().to_string())
            .await?;
        let tampered = verified(&c).await?;
        c.goto(&app.url("/lang/zh?next=/verify")).await?;
        text_of(&c, "#verify-button").await;
        let refused_zh = verify_in_browser(&c, &app, &proof, Some(&strict)).await?;
        Ok::<_, CmdError>((
            prefilled, accepted, good, width, refused, tampered, refused_zh,
        ))
    }
    .await;
    c.close().await.ok();
    let (prefilled, accepted, good, width, refused, tampered, refused_zh) = result.unwrap();

    assert_eq!(
        prefilled,
        json!(published),
        "the page offers the server's policy"
    );
    assert!(
        accepted.unwrap_or_default().contains(".tlog-proof"),
        "the file input takes proofs"
    );

    assert_eq!(good.class, "valid", "{}: {:?}", good.text, good.steps);
    for (id, class, text) in &good.steps {
        let expected = if id == "party" { "na" } else { "pass" };
        assert_eq!(class, expected, "{id}: {text}");
    }
    let (_, quorum) = good.step("quorum");
    assert!(
        quorum.contains("Cosigned by: a.witness.example, b.witness.example")
            && quorum.contains("Not cosigned by: none"),
        "{quorum}"
    );
    let (_, party) = good.step("party");
    assert!(party.contains("not applicable"), "{party}");
    assert!(
        width <= u64::from(PHONE.0),
        "the results fit the phone: {width}"
    );

    assert!(refused.class.contains("invalid"), "{}", refused.text);
    assert!(!refused.text.contains("tampered"), "{}", refused.text);
    let (class, quorum) = refused.step("quorum");
    assert_eq!(class, "fail", "{quorum}");
    assert!(
        quorum.contains("Not cosigned by: fresh")
            && quorum.contains("Cosigned by: a.witness.example, b.witness.example"),
        "{quorum}"
    );
    assert!(refused.text.contains("fresh"), "{}", refused.text);
    assert_eq!(refused.step("inclusion").0, "pass", "{:?}", refused.steps);

    assert!(tampered.class.contains("tampered"), "{}", tampered.text);
    assert!(tampered.text.contains("tampered"), "{}", tampered.text);
    assert_eq!(tampered.step("inclusion").0, "fail", "{:?}", tampered.steps);

    let (class, quorum) = refused_zh.step("quorum");
    assert_eq!(class, "fail", "{quorum}");
    assert!(quorum.contains("未联署：fresh"), "{quorum}");
}

#[tokio::test]
async fn on_a_phone_the_menu_opens_from_its_toggle_and_lists_its_links_one_per_line() {
    let app = TestApp::spawn().await;
    let c = phone().await;
    let result = async {
        sign_up(&c, &app, "phone@example.com", "Phone Pan").await?;
        c.wait().for_element(Locator::Id("current-user")).await?;
        let menu = c.find(Locator::Id("menu")).await?;
        assert_eq!(menu.attr("open").await?, None, "closed on a phone");
        assert!(
            !c.find(Locator::Id("nav-wallet"))
                .await?
                .is_displayed()
                .await?
        );

        // The toggle is the <details>'s own <summary>: the browser opens it, no script of ours.
        c.find(Locator::Id("menu-toggle")).await?.click().await?;
        let mut rows = Vec::new();
        for item in c
            .find_all(Locator::Css(".menu-items > a, .menu-items > form"))
            .await?
        {
            assert!(item.is_displayed().await?, "every link shows once open");
            rows.push(item.rectangle().await?);
        }
        let width = page_width(&c).await?;
        full_page_screenshot(&c, &screenshot_folder().join("menu-open-390.png")).await?;
        Ok::<_, CmdError>((rows, width))
    }
    .await;
    c.close().await.ok();
    let (rows, width) = result.unwrap();

    assert!(rows.len() >= 6, "{rows:?}");
    assert!(
        rows.windows(2)
            .all(|pair| pair[1].1 >= pair[0].1 + pair[0].3 - 1.0),
        "one link per line: {rows:?}"
    );
    assert!(
        rows.iter().all(|(x, _, w, _)| x + w <= f64::from(PHONE.0)),
        "{rows:?}"
    );
    assert!(width <= u64::from(PHONE.0), "{width}");
}

#[tokio::test]
async fn on_a_phone_a_stacked_table_shows_one_card_per_row_with_each_value_labelled() {
    let app = TestApp::spawn().await;
    let c = phone().await;
    let result = async {
        c.goto(&app.url("/ledger")).await?;
        // A table as the pages mark theirs: `stack`, and a data-label on every cell.
        c.execute(
            "const table = document.createElement('table');
             table.className = 'stack';
             table.id = 'stacked';
             table.innerHTML = '<thead><tr><th>Project</th><th>Transaction</th><th>Amount</th></tr></thead>'
               + '<tbody><tr><td data-label=\"Project\"><a href=\"/projects\">Solar Lantern for Rural Schools</a>'
               + '<br><small>Dec 1, 2026, 19:33 UTC</small></td>'
               + '<td data-label=\"Transaction\" class=\"hash\">' + 'ab12'.repeat(16) + '</td>'
               + '<td data-label=\"Amount\" class=\"num\">CN¥1,234.50</td></tr></tbody>';
             document.querySelector('main').append(table);",
            vec![],
        )
        .await?;
        full_page_screenshot(&c, &screenshot_folder().join("stacked-table-390.png")).await?;
        c.execute(
            "const cells = [...document.querySelectorAll('#stacked td')];
             const tops = cells.map(td => td.getBoundingClientRect().top);
             return {
               labels: cells.map(td => getComputedStyle(td, '::before').content),
               row: getComputedStyle(document.querySelector('#stacked tr')).display,
               header: document.querySelector('#stacked thead').getBoundingClientRect().height,
               stacked: tops.every((top, i) => i === 0 || top > tops[i - 1]),
               // Every piece of a value stands right of its label.
               beside: cells.every(td => {
                 const value = document.createRange();
                 value.selectNodeContents(td);
                 const start = td.getBoundingClientRect().left + td.offsetWidth * 0.35;
                 return [...value.getClientRects()].every(line => line.left >= start);
               }),
               width: document.documentElement.scrollWidth,
             };",
            vec![],
        )
        .await
    }
    .await;
    c.close().await.ok();
    let shown = result.unwrap();

    assert_eq!(
        shown["labels"],
        json!(["\"Project\"", "\"Transaction\"", "\"Amount\""]),
        "{shown}"
    );
    assert_eq!(shown["row"], "block", "{shown}");
    assert!(
        shown["header"].as_f64() <= Some(1.0),
        "the header row is only for screen readers: {shown}"
    );
    assert_eq!(shown["stacked"], true, "cells one under the other: {shown}");
    assert_eq!(shown["beside"], true, "values beside their labels: {shown}");
    assert!(
        shown["width"].as_u64() <= Some(u64::from(PHONE.0)),
        "{shown}"
    );
}
