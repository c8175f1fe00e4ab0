//! `/ledger` and `/verify` in the browser.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use axum::routing::get;
use axum::Router;

use super::store;
use crate::app::AppState;
use crate::http::error::Result;
use crate::http::pages::{render, Chrome};

/// Routes of this room.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/ledger", get(ledger))
        .route("/verify", get(verify))
}

/// The catalogue key naming a ledger entry's kind (`pledge_collected`, `payout`, ...) in words,
/// for every page that shows one; a kind this list does not know reads as "other".
pub fn kind_key(kind: &str) -> &'static str {
    match kind {
        "pledge_collected" => "ledger.kinds.pledge_collected",
        "pledge_refunded" => "ledger.kinds.pledge_refunded",
        "payout" => "ledger.kinds.payout",
        "fee" => "ledger.kinds.fee",
        "shares_issued" => "ledger.kinds.shares_issued",
        "supervision" => "ledger.kinds.supervision",
        "share_transfer" => "ledger.kinds.share_transfer",
        "auction_cleared" => "ledger.kinds.auction_cleared",
        _ => "ledger.kinds.other",
    }
}

/// A leaf as the page lists it.
struct LeafRow {
    index: u64,
    tx_hash: String,
    kind_key: &'static str,
    appended_at: String,
}

#[derive(Template)]
#[template(path = "ledger/index.html")]
struct LedgerPage {
    chrome: Chrome,
    size: u64,
    root: String,
    checkpoint: String,
    key: String,
    /// Where auditors reach this server (`settings.public_url`), for the audit command.
    server: String,
    leaves: Vec<LeafRow>,
    older: Option<u64>,
    newer: Option<u64>,
    witnesses: Vec<WitnessRow>,
}

/// A witness of the ledger as the page lists it: how far behind the head it is.
struct WitnessRow {
    name: String,
    cosigned_size: Option<u64>,
    behind: u64,
    last_cosigned: Option<String>,
    failures: i32,
    last_error: Option<String>,
}

const PAGE: u64 = 50;

async fn ledger(
    State(state): State<AppState>,
    chrome: Chrome,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Response> {
    let (size, root) = store::head(&state.db).await?;
    // `before` pages backwards from the newest leaf; anything unparsable shows the newest.
    let end = params
        .get("before")
        .and_then(|b| b.parse::<u64>().ok())
        .map_or(size, |b| b.min(size));
    let start = end.saturating_sub(PAGE);
    let mut leaves = store::leaves(&state.db, start, end).await?;
    leaves.reverse();
    let checkpoint = super::cosignatures::published(&state.db, None)
        .await?
        .map(|(_, note)| note)
        .unwrap_or_default();
    let witnesses = super::witness_peers::all(&state.db)
        .await?
        .into_iter()
        .map(|p| WitnessRow {
            cosigned_size: p.cosigned_size.map(|s| s as u64),
            behind: size.saturating_sub(p.cosigned_size.unwrap_or(0) as u64),
            last_cosigned: p.cosigned_at.map(|t| chrome.ledger_time(&t)),
            failures: p.failures,
            last_error: p.last_error,
            name: p.witness,
        })
        .collect();
    render(&LedgerPage {
        size,
        root: hex::encode(root),
        checkpoint,
        key: state.ledger.verifier_key(),
        server: state.settings.public_url.trim_end_matches('/').to_owned(),
        leaves: leaves
            .into_iter()
            .map(|l| LeafRow {
                index: l.index,
                tx_hash: hex::encode(l.tx_hash),
                kind_key: kind_key(&l.kind),
                appended_at: chrome.ledger_time(&l.appended_at),
            })
            .collect(),
        older: (start > 0).then_some(start),
        newer: (end < size).then_some((end + PAGE).min(size)),
        witnesses,
        chrome,
    })
}

#[derive(Template)]
#[template(path = "ledger/verify.html")]
struct VerifyPage {
    chrome: Chrome,
    key: String,
    /// The recommended trust policy the policy box starts with; empty (the key alone is
    /// checked) when it cannot be built.
    policy: String,
    text: String,
}

impl VerifyPage {
    /// The script's strings as JSON for its `<script type="application/json">` block; `<` is
    /// escaped so no catalogue text can close the element.
    fn text_markup(&self) -> String {
        self.text.replace('<', "\\u003c")
    }
}

/// The sentences `static/verify.js` writes, by the names it looks them up with.
const SCRIPT_TEXT: [&str; 38] = [
    "detail_parse",
    "detail_parse_proof",
    "detail_tx_hash",
    "detail_leaf_hash",
    "detail_inclusion",
    "detail_checkpoint",
    "detail_checkpoint_proof",
    "detail_signature",
    "detail_quorum",
    "detail_quorum_none",
    "detail_party",
    "detail_na",
    "detail_na_quorum",
    "detail_na_proof",
    "list_none",
    "fail_mismatch",
    "fail_format",
    "fail_dependency",
    "fail_key",
    "fail_quorum",
    "fail_no_entry",
    "fail_unsupported",
    "fail_error",
    "policy_character",
    "policy_keyword",
    "policy_arity",
    "policy_key",
    "policy_key_type",
    "policy_duplicate_key",
    "policy_duplicate_name",
    "policy_undefined",
    "policy_duplicate_member",
    "policy_threshold",
    "policy_second_quorum",
    "policy_no_quorum",
    "policy_too_large",
    "file_too_large",
    "file_unreadable",
];

async fn verify(State(state): State<AppState>, chrome: Chrome) -> Result<Response> {
    let text: serde_json::Map<String, serde_json::Value> = SCRIPT_TEXT
        .iter()
        .map(|name| {
            let key = format!("verify.{name}");
            (name.to_string(), chrome.t.get(&key).to_owned().into())
        })
        .collect();
    let policy = match super::web::recommended_policy(&state) {
        Ok(policy) => policy.to_string(),
        Err(error) => {
            tracing::warn!(%error, "no recommended policy for /verify");
            String::new()
        }
    };
    render(&VerifyPage {
        key: state.ledger.verifier_key(),
        policy,
        text: serde_json::Value::Object(text).to_string(),
        chrome,
    })
}
