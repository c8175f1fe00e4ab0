//! Settlement in the browser: a pledge's receipt, verified against the latest checkpoint, and
//! the user's notifications.

use askama::Template;
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use axum::Router;

use super::notify::{self, NoticeKind};
use crate::app::AppState;
use crate::http::error::{Error, Result};
use crate::http::extract::{CurrentUser, Path};
use crate::http::pages::{render, Chrome};
use crate::ledger::checkpoint::Verifier;
use crate::ledger::receipt;
use crate::pledges::PledgeId;

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

struct StepRow {
    name: &'static str,
    ok: bool,
    detail: String,
}

#[derive(Template)]
#[template(path = "settlement/receipt.html")]
struct ReceiptPage {
    chrome: Chrome,
    pledge_id: String,
    kind: String,
    leaf_index: u64,
    tree_size: u64,
    root_hash: String,
    tx_hash: String,
    path: Vec<String>,
    steps: Vec<StepRow>,
    valid: bool,
    json: String,
}

async fn receipt_page(
    State(state): State<AppState>,
    chrome: Chrome,
    CurrentUser(user): CurrentUser,
    Path(id): Path<PledgeId>,
) -> Result<Response> {
    let receipt = super::api::receipt_for(&state, &user, id).await?;
    let verifier = Verifier::parse(&state.ledger.verifier_key())
        .map_err(|e| Error::Internal(anyhow::anyhow!("our own key does not parse: {e}")))?;
    let steps: Vec<StepRow> = receipt::verify(&receipt, &verifier)
        .into_iter()
        .map(|s| StepRow {
            name: s.name,
            ok: s.ok,
            detail: s.detail,
        })
        .collect();
    let kind = serde_json::from_str::<serde_json::Value>(&receipt.entry)
        .ok()
        .and_then(|v| v["kind"].as_str().map(str::to_owned))
        .unwrap_or_default();
    render(&ReceiptPage {
        chrome,
        pledge_id: id.to_string(),
        kind,
        leaf_index: receipt.leaf_index,
        tree_size: receipt.tree_size,
        root_hash: receipt.root_hash.clone(),
        tx_hash: receipt.tx_hash.clone(),
        path: receipt.inclusion_path.clone(),
        valid: steps.iter().all(|s| s.ok),
        steps,
        json: serde_json::to_string_pretty(&receipt).map_err(|e| Error::Internal(e.into()))?,
    })
}

struct NotificationRow {
    text: String,
    slug: String,
    at: String,
}

#[derive(Template)]
#[template(path = "settlement/notifications.html")]
struct NotificationsPage {
    chrome: Chrome,
    notifications: Vec<NotificationRow>,
}

async fn notifications_page(
    State(state): State<AppState>,
    chrome: Chrome,
    CurrentUser(user): CurrentUser,
) -> Result<Response> {
    let rows = notify::recent(&state.db, user.user.id, 100).await?;
    let format = time::format_description::well_known::Rfc3339;
    let notifications = rows
        .into_iter()
        .map(|n| {
            let key = match n.kind {
                NoticeKind::ProjectFunded => "settlement.notice_funded",
                NoticeKind::ProjectFailed => "settlement.notice_failed",
                NoticeKind::ProjectCancelled => "settlement.notice_cancelled",
            };
            let title = n.params["title"].as_str().unwrap_or_default().to_owned();
            let amount = format!(
                "{} {}",
                n.params["collected"].as_str().unwrap_or_default(),
                n.params["currency"].as_str().unwrap_or_default()
            );
            NotificationRow {
                text: chrome.t.fill(
                    key,
                    &[("title", title.as_str()), ("amount", amount.as_str())],
                ),
                slug: n.params["slug"].as_str().unwrap_or_default().to_owned(),
                at: n.created_at.format(&format).unwrap_or_default(),
            }
        })
        .collect();
    render(&NotificationsPage {
        chrome,
        notifications,
    })
}
