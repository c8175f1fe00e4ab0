//! The exchange in the browser: `/me/holdings`, the investor's shares by company.

use askama::Template;
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use axum::Router;

use super::holdings::{self, Holding};
use crate::app::AppState;
use crate::http::error::Result;
use crate::http::extract::CurrentUser;
use crate::http::pages::{render, Chrome};

/// Routes of the exchange's pages.
pub fn routes() -> Router<AppState> {
    Router::new().route("/me/holdings", get(holdings_page))
}

/// One holding as the page shows it.
struct HoldingRow {
    href: String,
    company: String,
    shares: String,
    cost: String,
    last_price: String,
    /// "All 30", or "10 of 30; the rest from <date>".
    sellable: String,
}

impl HoldingRow {
    fn new(h: &Holding, c: &Chrome) -> Self {
        let t = c.t;
        let (shares, sellable) = (h.shares.to_string(), h.sellable_shares.to_string());
        let sellable = match h.locked_until {
            None => t.fill("market.sellable_all", &[("shares", &shares)]),
            Some(until) => t.fill(
                "market.sellable_from",
                &[
                    ("sellable", &sellable),
                    ("shares", &shares),
                    ("at", &c.date(&until)),
                ],
            ),
        };
        Self {
            href: format!("/projects/{}", h.slug),
            company: h.company.clone(),
            shares,
            cost: c.money(&h.cost, &h.currency),
            last_price: h
                .last_price
                .map(|p| c.money(&p, &h.currency))
                .unwrap_or_else(|| t.get("market.no_auction_yet").to_owned()),
            sellable,
        }
    }
}

#[derive(Template)]
#[template(path = "market/holdings.html")]
struct HoldingsPage {
    chrome: Chrome,
    lockup_note: String,
    rows: Vec<HoldingRow>,
}

/// `GET /me/holdings`: the reader's shares, by company.
async fn holdings_page(
    State(state): State<AppState>,
    chrome: Chrome,
    CurrentUser(user): CurrentUser,
) -> Result<Response> {
    let days = state.settings.secondary_lockup_days;
    let rows = holdings::holdings(&state.db, user.user.id, days)
        .await?
        .iter()
        .map(|h| HoldingRow::new(h, &chrome))
        .collect();
    let lockup_note = chrome
        .t
        .fill("market.lockup_note", &[("days", &days.to_string())]);
    render(&HoldingsPage {
        chrome,
        lockup_note,
        rows,
    })
}
