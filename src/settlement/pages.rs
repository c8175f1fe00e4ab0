//! Settlement in the browser: a pledge's receipt, verified against the latest checkpoint.

use askama::Template;
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use axum::Router;

use crate::app::AppState;
use crate::http::error::{Error, Result};
use crate::http::extract::{CurrentUser, Path};
use crate::http::pages::{render, Chrome};
use crate::i18n::Catalogue;
use crate::ledger::checkpoint::Verifier;
use crate::ledger::pages::kind_key;
use crate::ledger::receipt::{self, Receipt, Step};
use crate::pledges::{PledgeId, PledgeState};

/// Routes of this room.
pub fn routes() -> Router<AppState> {
    Router::new().route("/me/pledges/{id}/receipt", get(receipt_page))
}

/// One check of the receipt, in the reader's words.
struct StepRow {
    name: &'static str,
    ok: bool,
    detail: String,
}

/// The catalogue key of a check's name (the checks are [`receipt::verify`]'s).
fn step_key(name: &str) -> &'static str {
    match name {
        "version" => "settlement.step_version",
        "tx_hash" => "settlement.step_tx_hash",
        "inclusion" => "settlement.step_inclusion",
        "signature" => "settlement.step_signature",
        "checkpoint" => "settlement.step_checkpoint",
        _ => "settlement.step_party",
    }
}

/// A check as the page says it: its name and what it found, in words from the catalogue. A
/// check that failed says so plainly; the technical reason is in the receipt for the expert.
fn step_row(t: &'static Catalogue, step: &Step, receipt: &Receipt, signer: &str) -> StepRow {
    let detail = if !step.ok {
        t.get("settlement.detail_failed").to_owned()
    } else {
        let size = receipt.tree_size.to_string();
        let leaf = receipt.leaf_index.to_string();
        let version = receipt.version.to_string();
        match step.name {
            "version" => t.fill("settlement.detail_version", &[("version", &version)]),
            "tx_hash" => t.fill("settlement.detail_tx_hash", &[("hash", &receipt.tx_hash)]),
            "inclusion" => t.fill(
                "settlement.detail_inclusion",
                &[
                    ("leaf", &leaf),
                    ("size", &size),
                    ("root", &receipt.root_hash),
                ],
            ),
            "signature" => t.fill("settlement.detail_signature", &[("signer", signer)]),
            "checkpoint" => t.fill(
                "settlement.detail_checkpoint",
                &[("size", &size), ("root", &receipt.root_hash)],
            ),
            _ => t.get("settlement.detail_party").to_owned(),
        }
    };
    StepRow {
        name: t.get(step_key(step.name)),
        ok: step.ok,
        detail,
    }
}

#[derive(Template)]
#[template(path = "settlement/receipt.html")]
struct ReceiptPage {
    chrome: Chrome,
    pledge_id: String,
    project_title: String,
    project_slug: String,
    what: String,
    amount: String,
    collected: bool,
    settled_at: String,
    kind_key: &'static str,
    leaf_index: u64,
    tree_size: u64,
    root_hash: String,
    tx_hash: String,
    path: Vec<String>,
    steps: Vec<StepRow>,
    valid: bool,
    json: String,
}

impl ReceiptPage {
    /// The receipt as JSON for the script element that carries it (the verifier and the tests
    /// read it there); `<` is escaped so no text in it can close the element.
    fn json_markup(&self) -> String {
        self.json.replace('<', "\\u003c")
    }
}

/// What the pledge bought: its shares, its tier's title, or no reward.
async fn what_it_bought(
    state: &AppState,
    t: &Catalogue,
    pledge: &crate::pledges::Pledge,
) -> Result<String> {
    if let Some(shares) = pledge.shares {
        return Ok(t.fill("pledges.n_shares", &[("n", &shares.to_string())]));
    }
    let Some(tier) = pledge.tier_id else {
        return Ok(t.get("pledges.no_reward").to_owned());
    };
    let tiers = crate::projects::capacity::tiers_in(&state.db, pledge.project_id, t.lang()).await?;
    Ok(tiers
        .into_iter()
        .find(|offer| offer.id == tier)
        .map_or_else(
            || t.get("pledges.no_reward").to_owned(),
            |offer| offer.title,
        ))
}

async fn receipt_page(
    State(state): State<AppState>,
    chrome: Chrome,
    CurrentUser(user): CurrentUser,
    Path(id): Path<PledgeId>,
) -> Result<Response> {
    let (pledge, receipt) = super::api::settled_pledge(&state, &user, id).await?;
    let project = crate::projects::repo::find(&state.db, pledge.project_id)
        .await?
        .ok_or(Error::NotFound)?;
    let verifier = Verifier::parse(&state.ledger.verifier_key())
        .map_err(|e| Error::Internal(anyhow::anyhow!("our own key does not parse: {e}")))?;
    let steps: Vec<StepRow> = receipt::verify(&receipt, &verifier)
        .iter()
        .map(|s| step_row(chrome.t, s, &receipt, verifier.name()))
        .collect();
    let kind = serde_json::from_str::<serde_json::Value>(&receipt.entry)
        .ok()
        .and_then(|v| v["kind"].as_str().map(str::to_owned))
        .unwrap_or_default();
    let what = what_it_bought(&state, chrome.t, &pledge).await?;
    render(&ReceiptPage {
        pledge_id: id.to_string(),
        project_title: project.title,
        project_slug: project.slug,
        what,
        amount: chrome.money(&pledge.amount, &pledge.currency),
        collected: pledge.state == PledgeState::Collected,
        // A settled pledge changes no more: its last change is its settlement.
        settled_at: chrome.moment(&pledge.updated_at),
        kind_key: kind_key(&kind),
        leaf_index: receipt.leaf_index,
        tree_size: receipt.tree_size,
        root_hash: receipt.root_hash.clone(),
        tx_hash: receipt.tx_hash.clone(),
        path: receipt.inclusion_path.clone(),
        valid: steps.iter().all(|s| s.ok),
        steps,
        json: serde_json::to_string(&receipt).map_err(|e| Error::Internal(e.into()))?,
        chrome,
    })
}
