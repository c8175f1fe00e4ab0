//! `zhonglian verify-auction`: replays a cleared auction from its published, de-identified order
//! book. It recomputes the clearing price and every fill (with the same pure code the server
//! clears with), rebuilds the book's Merkle root, compares all of it with the `auction_cleared`
//! ledger entry (whose reference price it uses, not the book's), and checks that entry's receipt
//! against the ledger's key or a trust policy. Any difference is a failure.

use std::path::PathBuf;

use rust_decimal::Decimal;
use serde_json::Value;

use super::{load_policy, print_evaluation, print_step, read, Trust};
use crate::ledger::checkpoint::Verifier;
use crate::ledger::receipt;
use crate::market::book::{self, ReplayError};
use crate::market::published::PublishedBook;

/// Where the book comes from.
pub enum Source {
    /// The book's URL (`…/api/v1/auctions/{id}/book`).
    Url(String),
    /// A saved book, and the server whose latest checkpoint its entry is checked against.
    File { file: PathBuf, server: String },
}

/// What to trust: a key or a policy given, else the server's key (said so on stderr).
pub struct Options {
    pub source: Source,
    pub key: Option<String>,
    pub policy: Option<PathBuf>,
}

async fn get(client: &reqwest::Client, url: &str) -> anyhow::Result<String> {
    Ok(client
        .get(url)
        .send()
        .await?
        .error_for_status()
        .map_err(|e| anyhow::anyhow!("{url}: {e}"))?
        .text()
        .await?)
}

/// The server's base URL from a book URL (everything before `/api/v1/`).
fn server_of(url: &str) -> anyhow::Result<String> {
    url.split_once("/api/v1/")
        .map(|(base, _)| base.to_owned())
        .ok_or_else(|| anyhow::anyhow!("{url} is not a book URL (…/api/v1/auctions/ID/book)"))
}

fn parse_book(text: &str) -> anyhow::Result<PublishedBook> {
    serde_json::from_str(text).map_err(|e| anyhow::anyhow!("the book is not a published book: {e}"))
}

/// Runs the check; true when the book replays to exactly what the signed ledger says.
pub async fn run(options: &Options) -> anyhow::Result<bool> {
    let client = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(60))
        .build()?;
    let (book, server, fresh) = match &options.source {
        Source::Url(url) => {
            let book = parse_book(&get(&client, url).await?)?;
            (book, server_of(url)?, None)
        }
        Source::File { file, server } => {
            let book = parse_book(&read(file)?)?;
            let server = server.trim_end_matches('/').to_owned();
            let url = format!("{server}/api/v1/auctions/{}/book", book.auction_id);
            let fresh = parse_book(&get(&client, &url).await?)?;
            (book, server, Some(fresh))
        }
    };
    let key_text;
    let trust = match (&options.policy, &options.key) {
        (Some(policy), _) => Trust::Policy(policy),
        (None, Some(key)) => Trust::Key(key),
        (None, None) => {
            key_text = get(&client, &format!("{server}/api/v1/ledger/key")).await?;
            eprintln!("note: trusting the server's key: {}", key_text.trim());
            Trust::Key(key_text.trim())
        }
    };
    let policy = load_policy(&trust)?;
    let mut ok = check_entry(&book)?;
    let receipts =
        std::iter::once(&book.cleared_receipt).chain(fresh.as_ref().map(|f| &f.cleared_receipt));
    for r in receipts {
        if r.entry != book.cleared_receipt.entry {
            print_step(
                false,
                "entry",
                "the server's entry differs from the saved book's",
            );
            ok = false;
            continue;
        }
        let evaluation = policy.evaluate(&r.checkpoint, super::now());
        let Some(log) = policy
            .logs()
            .first()
            .and_then(|l| Verifier::parse(&l.key.to_string()).ok())
        else {
            print_step(false, "signature", "the policy names no log");
            return Ok(false);
        };
        for step in receipt::verify(r, &log) {
            print_step(step.ok, step.name, &step.detail);
            ok &= step.ok;
        }
        ok &= print_evaluation(&evaluation);
    }
    println!(
        "{}",
        if ok {
            "auction replays exactly"
        } else {
            "auction does NOT replay"
        }
    );
    Ok(ok)
}

/// Replays the book and compares it with the `auction_cleared` entry, printing each step.
fn check_entry(book: &PublishedBook) -> anyhow::Result<bool> {
    let entry: Value = serde_json::from_str(&book.cleared_receipt.entry)
        .map_err(|e| anyhow::anyhow!("the auction's entry is not JSON: {e}"))?;
    let text = |name: &str| entry[name].as_str().unwrap_or_default().to_owned();
    let is_entry =
        entry["kind"] == "auction_cleared" && text("auction") == book.auction_id.to_string();
    print_step(
        is_entry,
        "entry",
        &format!("auction_cleared entry of auction {}", text("auction")),
    );
    let Ok(reference) = text("reference_price").parse::<Decimal>() else {
        print_step(false, "reference", "the entry has no reference price");
        return Ok(false);
    };
    let replayed = match book::replay(&book.orders, reference) {
        Ok(r) => r,
        Err(e) => {
            let detail = match &e {
                ReplayError::Fill { index, .. } => format!("{e} (order {index} of the book)"),
                _ => e.to_string(),
            };
            print_step(false, "replay", &detail);
            return Ok(false);
        }
    };
    print_step(
        true,
        "replay",
        &format!(
            "{} orders re-cleared against {reference}; every fill as published",
            book.orders.len()
        ),
    );
    let (price, volume) = match replayed.cleared {
        Some((p, v)) => (Some(crate::money::amount::fixed(p)), v),
        None => (None, 0),
    };
    let signed_price = entry["clearing_price"].as_str().map(str::to_owned);
    let price_ok = price == signed_price && Some(volume) == entry["volume"].as_u64();
    print_step(
        price_ok,
        "price",
        &format!(
            "clears at {} for {volume} shares; the entry says {} for {}",
            price.as_deref().unwrap_or("no price"),
            signed_price.as_deref().unwrap_or("no price"),
            entry["volume"]
        ),
    );
    let root = hex::encode(replayed.root);
    let root_ok =
        root == text("book_root") && Some(book.orders.len() as u64) == entry["book_size"].as_u64();
    print_step(
        root_ok,
        "root",
        &format!(
            "the book's root {root} over {} orders; the entry says {} over {}",
            book.orders.len(),
            text("book_root"),
            entry["book_size"]
        ),
    );
    Ok(is_entry && price_ok && root_ok)
}
