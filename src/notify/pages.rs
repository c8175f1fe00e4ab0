//! Notifications in the browser: the header's unread count, and `/me/notifications`.

use std::collections::HashMap;

use askama::Template;
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use axum::Router;

use crate::app::AppState;
use crate::http::error::Result;
use crate::http::extract::CurrentUser;
use crate::http::pages::{render, Chrome};
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
            super::unread_count(db, user).await.unwrap_or(0)
        })
    }
}

/// Routes of this room.
pub fn routes() -> Router<AppState> {
    Router::new().route("/me/notifications", get(notifications_page))
}

/// Whether a notification's `link` is a path on this site (never another site's address).
fn is_site_path(link: &str) -> bool {
    link.starts_with('/') && !link.starts_with("//") && !link.contains('\\')
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
#[template(path = "notify/notifications.html")]
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
    let rows = super::recent(&state.db, user.user.id, 100).await?;
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
            let link = n.params["link"].as_str().filter(|l| is_site_path(l));
            let (link, link_key) = match (receipt, link) {
                (Some(pledge), _) => (
                    format!("/me/pledges/{pledge}/receipt"),
                    "notify.see_receipt",
                ),
                (None, Some(link)) => (link.to_owned(), "notify.see_more"),
                (None, None) => (format!("/projects/{slug}"), "notify.see_project"),
            };
            NotificationRow {
                text: super::text(chrome.lang, n.kind, &n.params),
                link,
                link_key,
                at: chrome.moment(&n.created_at),
                unread: n.read_at.is_none(),
            }
        })
        .collect();
    super::mark_read(&state.db, user.user.id, &shown).await?;
    // The header of this very page already counts them as read.
    chrome.unread = 0;
    render(&NotificationsPage {
        chrome,
        notifications,
    })
}

#[cfg(test)]
mod tests {
    use super::is_site_path;

    #[test]
    fn only_paths_on_this_site_are_links() {
        assert!(is_site_path("/wallet"));
        assert!(is_site_path("/projects/tea#comment-1"));
        assert!(!is_site_path("//evil.example/x"));
        assert!(!is_site_path("https://evil.example"));
        assert!(!is_site_path("/\\evil.example"));
    }
}
