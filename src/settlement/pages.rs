//! Settlement in the browser: a pledge's receipt, verified against the latest checkpoint, and
//! the user's notifications.

use askama::Template;
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use axum::Router;

use std::collections::HashMap;

use super::notify;
use crate::app::AppState;
use crate::http::error::{Error, Result};
use crate::http::extract::{CurrentUser, Path};
use crate::http::pages::{render, Chrome};
use crate::i18n::Catalogue;
use crate::ledger::checkpoint::Verifier;
use crate::ledger::pages::kind_key;
use crate::ledger::receipt::{self, Receipt, Step};
use crate::pledges::{PledgeId, PledgeState};
use crate::projects::ProjectId;

/// The header's count of unread notifications, which this room keeps.
pub struct Notifications;

impl crate::http::pages::Inbox for Notifications {
    fn unread<'a>(
        &'a self,
        db: &'a sqlx::PgPool,
        user: crate::ids::UserId,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = i64> + Send + 'a>> {
        Box::pin(async move {
            // The header must not fail a page: a count that cannot be read shows as none.
            notify::unread_count(db, user).await.unwrap_or(0)
        })
    }
}

/// Routes of this room.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/me/pledges/{id}/receipt", get(receipt_page))
        .route("/me/notifications", get(notifications_page))
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

/// A notification as the page lists it, with where to read more.
struct NotificationRow {
    text: String,
    link: String,
    link_key: &'static str,
    at: String,
    unread: bool,
}

#[derive(Template)]
#[template(path = "settlement/notifications.html")]
struct NotificationsPage {
    chrome: Chrome,
    notifications: Vec<NotificationRow>,
}

/// The reader's settled pledges by project: a settlement notice links to the receipt.
async fn receipts_by_project(
    state: &AppState,
    user: crate::ids::UserId,
) -> Result<HashMap<ProjectId, PledgeId>> {
    Ok(crate::pledges::for_backer(&state.db, user)
        .await?
        .into_iter()
        .filter(|v| {
            matches!(
                v.pledge.state,
                PledgeState::Collected | PledgeState::Refunded
            )
        })
        .map(|v| (v.pledge.project_id, v.pledge.id))
        .collect())
}

/// `/me/notifications`: the latest notifications, translated, each linked to the receipt or
/// the project it is about. Opening the page marks them read.
async fn notifications_page(
    State(state): State<AppState>,
    mut chrome: Chrome,
    CurrentUser(user): CurrentUser,
) -> Result<Response> {
    let rows = notify::recent(&state.db, user.user.id, 100).await?;
    let receipts = receipts_by_project(&state, user.user.id).await?;
    let shown: Vec<i64> = rows.iter().map(|n| n.id).collect();
    let notifications = rows
        .into_iter()
        .map(|n| {
            let slug = n.params["slug"].as_str().unwrap_or_default();
            let receipt = n
                .project_id
                .filter(|_| n.kind.is_settlement())
                .and_then(|p| receipts.get(&p));
            let (link, link_key) = match receipt {
                Some(pledge) => (
                    format!("/me/pledges/{pledge}/receipt"),
                    "settlement.see_receipt",
                ),
                None => (format!("/projects/{slug}"), "settlement.see_project"),
            };
            NotificationRow {
                text: notify::text(chrome.lang, n.kind, &n.params),
                link,
                link_key,
                at: chrome.moment(&n.created_at),
                unread: n.read_at.is_none(),
            }
        })
        .collect();
    notify::mark_read(&state.db, user.user.id, &shown).await?;
    // The header of this very page already counts them as read.
    chrome.unread = 0;
    render(&NotificationsPage {
        chrome,
        notifications,
    })
}
