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

/// A leaf as the page lists it.
struct LeafRow {
    index: u64,
    tx_hash: String,
    kind: String,
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
    leaves: Vec<LeafRow>,
    older: Option<u64>,
    newer: Option<u64>,
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
    let checkpoint = store::latest_checkpoint(&state.db)
        .await?
        .map(|(_, note)| note)
        .unwrap_or_default();
    let format = time::format_description::well_known::Rfc3339;
    render(&LedgerPage {
        chrome,
        size,
        root: hex::encode(root),
        checkpoint,
        key: state.ledger.verifier_key(),
        leaves: leaves
            .into_iter()
            .map(|l| LeafRow {
                index: l.index,
                tx_hash: hex::encode(l.tx_hash),
                kind: l.kind,
                appended_at: l.appended_at.format(&format).unwrap_or_default(),
            })
            .collect(),
        older: (start > 0).then_some(start),
        newer: (end < size).then_some((end + PAGE).min(size)),
    })
}

#[derive(Template)]
#[template(path = "ledger/verify.html")]
struct VerifyPage {
    chrome: Chrome,
    key: String,
}

async fn verify(State(state): State<AppState>, chrome: Chrome) -> Result<Response> {
    render(&VerifyPage {
        chrome,
        key: state.ledger.verifier_key(),
    })
}
