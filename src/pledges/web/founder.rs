//! The founder's tools: the backers page, its CSV exports, and the pledge chart.

use askama::Template;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use rust_decimal::Decimal;

use super::chart::pledge_chart_svg;
use crate::accounts::AuthUser;
use crate::app::AppState;
use crate::http::error::{Error, Result};
use crate::http::extract::{CurrentUser, MaybeUser, Path};
use crate::http::pages::{csv_attachment, render, Chrome};
use crate::ids::ProjectId;
use crate::money::pages::login_first;
use crate::pledges::backers::{backers, backers_csv_text, share_register_csv_text};
use crate::pledges::PledgeState;
use crate::projects::capacity::{self, PledgeTarget};
use crate::projects::ProjectKind;

/// Page routes of the founder's tools.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/founder/projects/{id}/backers", get(backers_page))
        .route("/founder/projects/{id}/backers.csv", get(backers_csv))
        .route(
            "/founder/projects/{id}/share-register.csv",
            get(share_register_csv),
        )
        .route("/founder/projects/{id}/pledges.svg", get(chart))
}

/// The project, if `user` founded it; someone else's project is "not found".
pub(super) async fn own_project(
    state: &AppState,
    user: &AuthUser,
    project: ProjectId,
) -> Result<PledgeTarget> {
    capacity::pledge_target(&state.db, project)
        .await?
        .filter(|t| t.founder == user.user.id)
        .ok_or(Error::NotFound)
}

struct Line {
    name: String,
    email: String,
    what: String,
    amount: String,
    state_key: &'static str,
    at: String,
}

#[derive(Template)]
#[template(path = "pledges/backers.html")]
struct BackersPage {
    chrome: Chrome,
    project_id: String,
    title: String,
    is_equity: bool,
    /// How many pledges the list has (a backer holds at most one per project).
    count: i64,
    lines: Vec<Line>,
    total: String,
    chart: String,
}

impl BackersPage {
    /// The chart is markup this server drew from numbers and catalogue-free labels; nothing in
    /// it comes from a person.
    fn chart_markup(&self) -> &str {
        &self.chart
    }
}

async fn backers_page(
    State(state): State<AppState>,
    chrome: Chrome,
    MaybeUser(user): MaybeUser,
    Path(id): Path<ProjectId>,
) -> Result<Response> {
    let Some(user) = user else {
        return Ok(login_first(&format!("/founder/projects/{id}/backers")));
    };
    let target = own_project(&state, &user, id).await?;
    let list = backers(&state.db, target.id).await?;
    let total: Decimal = list.iter().map(|b| b.amount).sum();
    let t = chrome.t;
    let lines: Vec<Line> = list
        .into_iter()
        .map(|b| Line {
            what: match (b.shares, b.tier) {
                (Some(n), _) => t.fill("pledges.n_shares", &[("n", &n.to_string())]),
                (None, Some(tier)) => tier,
                (None, None) => t.get("pledges.no_reward").to_owned(),
            },
            name: b.display_name,
            email: b.email,
            amount: chrome.money(&b.amount, &b.currency),
            state_key: match b.state {
                PledgeState::Collected => "pledges.state.collected",
                _ => "pledges.state.active",
            },
            at: chrome.moment(&b.pledged_at),
        })
        .collect();
    let chart = pledge_chart_svg(&state.db, target.id, chrome.lang, &chrome.zone).await?;
    render(&BackersPage {
        project_id: target.id.to_string(),
        title: target.title,
        is_equity: target.kind == ProjectKind::Equity,
        total: chrome.money(&total, &target.currency),
        count: i64::try_from(lines.len()).unwrap_or(i64::MAX),
        lines,
        chart,
        chrome,
    })
}

async fn backers_csv(
    State(state): State<AppState>,
    chrome: Chrome,
    CurrentUser(user): CurrentUser,
    Path(id): Path<ProjectId>,
) -> Result<Response> {
    let lang = chrome.lang;
    let target = own_project(&state, &user, id).await?;
    let body = backers_csv_text(&state.db, target.id, lang).await?;
    Ok(csv_attachment(&format!("backers-{}.csv", target.id), body))
}

async fn share_register_csv(
    State(state): State<AppState>,
    chrome: Chrome,
    CurrentUser(user): CurrentUser,
    Path(id): Path<ProjectId>,
) -> Result<Response> {
    let target = own_project(&state, &user, id).await?;
    if target.kind != ProjectKind::Equity {
        return Err(Error::NotFound);
    }
    let lang = chrome.lang;
    let body = share_register_csv_text(&state.db, target.id, lang).await?;
    Ok(csv_attachment(
        &format!("share-register-{}.csv", target.id),
        body,
    ))
}

async fn chart(
    State(state): State<AppState>,
    chrome: Chrome,
    MaybeUser(viewer): MaybeUser,
    Path(project): Path<ProjectId>,
) -> Result<Response> {
    crate::projects::visible_target(&state.db, project, viewer.as_ref()).await?;
    let svg = pledge_chart_svg(&state.db, project, chrome.lang, &chrome.zone).await?;
    Ok(([(header::CONTENT_TYPE, "image/svg+xml")], svg).into_response())
}
