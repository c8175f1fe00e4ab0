//! The page audit: every page of the demo site, in both languages, on a laptop (1366 px) and
//! on a phone (390 px, chromedriver's mobile emulation), in headless Chromium. Each page must be
//! no wider than the screen, show no untranslated catalogue key (nor, in Chinese, an English
//! ledger kind), and have no serious or critical axe-core violation; each leaves a full-page
//! screenshot under `target/screenshots/`. One test per language and width, so they run side by
//! side and a failure names its pages.

use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Duration;

use fantoccini::error::CmdError;
use fantoccini::{Client, Locator};
use serde_json::{json, Value};

use crate::browser::{browser, fill, full_page_screenshot, phone, screenshot_folder, PHONE};
use crate::support::{AuditPage, DemoSite, Reader};

/// Where `.ci/run` installs axe-core (`npm install --prefix`), under the home folder.
const AXE_FOLDER: &str = ".cache/zhonglian/axe";

/// axe-core's browser bundle: from `$AXE_CORE_JS`, else from the folder `.ci/run` installs it in.
fn axe_source() -> &'static str {
    static SOURCE: OnceLock<String> = OnceLock::new();
    SOURCE.get_or_init(|| {
        let path = std::env::var_os("AXE_CORE_JS")
            .map(PathBuf::from)
            .unwrap_or_else(|| {
                let home = std::env::var_os("HOME")
                    .map(PathBuf::from)
                    .unwrap_or_default();
                home.join(AXE_FOLDER)
                    .join("node_modules/axe-core/axe.min.js")
            });
        std::fs::read_to_string(&path).unwrap_or_else(|e| {
            panic!(
                "axe-core is missing at {} ({e}): install it with \
                 `npm install --prefix ~/{AXE_FOLDER} axe-core@4` (as .ci/run does), \
                 or point AXE_CORE_JS at its axe.min.js",
                path.display()
            )
        })
    })
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Lang {
    Zh,
    En,
}

impl Lang {
    fn code(self) -> &'static str {
        match self {
            Lang::Zh => "zh",
            Lang::En => "en",
        }
    }
}

/// What one page showed.
#[derive(Default)]
struct Findings {
    /// Every axe-core violation: (id, impact, targets).
    violations: Vec<(String, String, Vec<String>)>,
    problems: Vec<String>,
}

impl Findings {
    fn serious(&self) -> usize {
        self.violations
            .iter()
            .filter(|(_, impact, _)| impact == "serious" || impact == "critical")
            .count()
    }
}

/// The words of `text` made of ASCII letters, digits, `_` and `.` (a word ends at any other
/// character), without leading or trailing dots.
fn ascii_words(text: &str) -> impl Iterator<Item = &str> {
    // Digits belong to a word, so a hash such as `3fee4a` is one word, not the word `fee`.
    text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '.'))
        .map(|word| word.trim_matches('.'))
        .filter(|word| !word.is_empty())
}

/// Text that looks like a catalogue key (`section.key`), minus what is allowed to look so.
fn untranslated_keys(text: &str) -> Vec<String> {
    // Domains and addresses of the demo and the test setup, and the file names pages mention.
    let allowed = [
        "demo.zhonglian",
        "zhonglian.test",
        "example.com",
        "backers.csv",
        "audit.json",
        "verify.js",
    ];
    // A word glued to an upper-case letter or a digit (`Node.js`, `v1.2`) is not a key.
    let glued = |word: &str| {
        let start = word.as_ptr() as usize - text.as_ptr() as usize;
        let before = text[..start].chars().next_back();
        let after = text[start + word.len()..].chars().next();
        [before, after]
            .into_iter()
            .flatten()
            .any(|c| c.is_ascii_alphanumeric())
    };
    // A key is lower-case, and each of its parts has a letter (`v1.2` and `Node.js` are not keys).
    let key_like = |word: &&str| {
        word.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '.')
            && word
                .split('.')
                .all(|part| part.chars().any(|c| c.is_ascii_lowercase()))
    };
    ascii_words(text)
        .filter(|word| word.contains('.') && !word.contains(".."))
        .filter(key_like)
        .filter(|word| !glued(word))
        .filter(|word| !allowed.iter().any(|a| word.contains(a)))
        .map(str::to_owned)
        .collect()
}

/// The ledger's own words for its entry kinds and fields, which a Chinese page must translate.
pub(crate) fn english_ledger_words(text: &str) -> Vec<String> {
    let kinds = [
        "pledge_collected",
        "pledge_refunded",
        "payout",
        "fee",
        "shares_issued",
        "supervision",
        "tx_hash",
    ];
    ascii_words(text)
        .flat_map(|word| word.split('.'))
        .filter(|word| kinds.contains(word))
        .map(str::to_owned)
        .collect()
}

/// Runs axe-core on the open page and returns its violations.
async fn axe(client: &Client) -> Result<Vec<(String, String, Vec<String>)>, CmdError> {
    let present = client
        .execute("return typeof window.axe !== 'undefined'", vec![])
        .await?;
    if present != Value::Bool(true) {
        client.execute(axe_source(), vec![]).await?;
    }
    let found = client
        .execute_async(
            "const done = arguments[arguments.length - 1];
             axe.run(document, {resultTypes: ['violations']})
               .then(r => done(r.violations.map(v => ({
                   id: v.id, impact: v.impact || '',
                   targets: v.nodes.map(n => n.target.join(' '))}))))
               .catch(e => done([{id: 'axe-error', impact: 'critical', targets: [String(e)]}]));",
            vec![],
        )
        .await?;
    Ok(found
        .as_array()
        .into_iter()
        .flatten()
        .map(|v| {
            let targets = v["targets"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|t| t.as_str().map(str::to_owned))
                .collect();
            (
                v["id"].as_str().unwrap_or_default().to_owned(),
                v["impact"].as_str().unwrap_or_default().to_owned(),
                targets,
            )
        })
        .collect())
}

/// Opens `page` and checks it.
async fn audit_page(
    client: &Client,
    site: &DemoSite,
    page: &AuditPage,
    lang: Lang,
    width: u32,
) -> Result<Findings, CmdError> {
    client.goto(&site.app.url(&page.path)).await?;
    let mut findings = Findings::default();
    // The page itself, not an error page in its place (only the 404 is meant to be one).
    let error_page = client
        .execute(
            "return document.querySelector('.error-page') !== null",
            vec![],
        )
        .await?;
    if error_page != Value::Bool(page.name == "not-found") {
        findings.problems.push(format!(
            "an error page is {}expected here",
            if page.name == "not-found" { "" } else { "not " }
        ));
    }
    let scroll_width = crate::browser::page_width(client).await?;
    if scroll_width > u64::from(width) {
        let widest = client
            .execute(
                "const w = arguments[0];
                 return [...document.querySelectorAll('body *')]
                   .filter(e => e.getBoundingClientRect().right > w + 0.5)
                   .filter(e => !e.parentElement || e.parentElement.getBoundingClientRect().right <= w + 0.5)
                   .slice(0, 5)
                   .map(e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '')
                        + (e.className && typeof e.className === 'string' ? '.' + e.className.trim().split(/\\s+/).join('.') : '')
                        + ' ' + Math.round(e.getBoundingClientRect().right) + 'px');",
                vec![json!(width)],
            )
            .await?;
        findings.problems.push(format!(
            "{scroll_width} px wide on a {width} px screen; sticking out: {widest}"
        ));
    }
    let text = client
        .execute("return document.body.innerText", vec![])
        .await?;
    let text = text.as_str().unwrap_or_default();
    let keys = untranslated_keys(text);
    if !keys.is_empty() {
        findings
            .problems
            .push(format!("untranslated catalogue keys: {keys:?}"));
    }
    if lang == Lang::Zh {
        let words = english_ledger_words(text);
        if !words.is_empty() {
            findings
                .problems
                .push(format!("English ledger words on a Chinese page: {words:?}"));
        }
    }
    findings.violations = axe(client).await?;
    let file = screenshot_folder().join(format!("{}-{}-{width}.png", page.name, lang.code()));
    full_page_screenshot(client, &file).await?;
    Ok(findings)
}

/// Signs in as `reader` (after signing out whoever was), keeping the language.
async fn become_reader(
    client: &Client,
    site: &DemoSite,
    reader: Reader,
    lang: Lang,
) -> Result<(), CmdError> {
    client.delete_all_cookies().await?;
    let next = if reader.email().is_some() {
        "/login"
    } else {
        "/"
    };
    client
        .goto(&site.app.url(&format!("/lang/{}?next={next}", lang.code())))
        .await?;
    if let Some(email) = reader.email() {
        fill(client, "input[name=email]", email).await?;
        fill(
            client,
            "input[name=password]",
            zhonglian::demo::DEMO_PASSWORD,
        )
        .await?;
        client
            .find(Locator::Id("login-submit"))
            .await?
            .click()
            .await?;
        client
            .wait()
            .at_most(Duration::from_secs(10))
            .for_element(Locator::Id("current-user"))
            .await?;
    }
    Ok(())
}

/// Audits every page of the demo site in `lang`, on a laptop or a phone, and fails with the
/// list of pages that broke a rule.
async fn audit_site(lang: Lang, on_phone: bool) {
    let site = DemoSite::spawn().await;
    let (client, width) = if on_phone {
        (phone().await, PHONE.0)
    } else {
        (browser().await, 1366)
    };
    let mut failures = Vec::new();
    let mut totals = (0, 0);
    let outcome = async {
        let mut reader = None;
        for page in site.pages() {
            if reader != Some(page.reader) {
                become_reader(&client, &site, page.reader, lang).await?;
                reader = Some(page.reader);
            }
            let findings = audit_page(&client, &site, &page, lang, width).await?;
            let label = format!("{} ({}, {width} px, {})", page.name, lang.code(), page.path);
            println!(
                "axe {label}: {} violations, {} serious or critical",
                findings.violations.len(),
                findings.serious()
            );
            for (id, impact, targets) in &findings.violations {
                println!("  axe {impact} {id}: {}", targets.join(" | "));
            }
            totals.0 += findings.violations.len();
            totals.1 += findings.serious();
            if findings.serious() > 0 {
                failures.push(format!(
                    "{label}: {} serious or critical axe-core violations",
                    findings.serious()
                ));
            }
            for problem in findings.problems {
                failures.push(format!("{label}: {problem}"));
            }
        }
        Ok::<(), CmdError>(())
    }
    .await;
    client.close().await.ok();
    outcome.expect("the browser session");
    println!(
        "axe totals ({}, {width} px): {} violations, {} serious or critical; screenshots in {}",
        lang.code(),
        totals.0,
        totals.1,
        screenshot_folder().display()
    );
    assert!(
        failures.is_empty(),
        "{} problems:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[tokio::test]
async fn every_chinese_page_fits_a_laptop_is_translated_and_accessible() {
    audit_site(Lang::Zh, false).await;
}

#[tokio::test]
async fn every_chinese_page_fits_a_phone_is_translated_and_accessible() {
    audit_site(Lang::Zh, true).await;
}

#[tokio::test]
async fn every_english_page_fits_a_laptop_and_is_accessible() {
    audit_site(Lang::En, false).await;
}

#[tokio::test]
async fn every_english_page_fits_a_phone_and_is_accessible() {
    audit_site(Lang::En, true).await;
}

#[test]
fn catalogue_keys_and_ledger_words_are_recognised_but_addresses_are_not() {
    assert_eq!(
        untranslated_keys("见 receipt.title 与 backer@demo.zhonglian"),
        vec!["receipt.title"]
    );
    assert!(untranslated_keys("zhonglian.test/ledger 的检查点").is_empty());
    assert_eq!(
        english_ledger_words("类型 pledge_collected，fee"),
        vec!["pledge_collected", "fee"]
    );
    assert!(english_ledger_words("平台费 feed").is_empty());
    assert!(english_ledger_words("交易哈希 3fee4a0c").is_empty());
}
