//! `/regulator` in the browser: the review queue, supervised projects, and the action forms.

use askama::Template;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;
use time::OffsetDateTime;

use super::Decision;
use crate::app::AppState;
use crate::http::csrf::CsrfForm;
use crate::http::error::{Error, Result};
use crate::http::extract::{Path, Regulator, RequireRole};
use crate::http::pages::{render, Chrome};
use crate::projects::api::forget_public_view;
use crate::projects::lifecycle::Action;
use crate::projects::pages::{label, money_text, time_left, when};
use crate::projects::{domain, repo, ProjectId};

/// Routes of this room.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/regulator", get(queue))
        .route("/regulator/projects/{id}/{action}", post(decide))
}

struct QueueRow {
    href: String,
    title: String,
    founder: String,
    kind: String,
    category: String,
    goal: String,
    deadline: String,
    submitted_note: Option<String>,
    summary: String,
}

struct SupervisedRow {
    href: String,
    title: String,
    state: String,
    state_name: &'static str,
    pledged: String,
    time_left: String,
}

#[derive(Template)]
#[template(path = "supervision/queue.html")]
struct QueuePage {
    chrome: Chrome,
    queue: Vec<QueueRow>,
    supervised: Vec<SupervisedRow>,
}

async fn queue(
    State(state): State<AppState>,
    chrome: Chrome,
    RequireRole { .. }: RequireRole<Regulator>,
) -> Result<Response> {
    let t = chrome.t;
    let now = OffsetDateTime::now_utc();
    let (waiting, supervised) =
        tokio::try_join!(repo::review_queue(&state.db), repo::supervised(&state.db))?;
    let queue = waiting
        .iter()
        .map(|p| QueueRow {
            href: format!("/projects/{}", p.id),
            title: p.title.clone(),
            founder: p.founder_name.clone(),
            kind: label(t, "projects.kind", p.kind.as_str()),
            category: label(t, "projects.category", &p.category),
            goal: money_text(p.goal, &p.currency),
            deadline: p.deadline.map(when).unwrap_or_default(),
            submitted_note: p.review_note.clone(),
            summary: p.summary.clone(),
        })
        .collect();
    let supervised = supervised
        .iter()
        .map(|p| SupervisedRow {
            href: format!("/projects/{}", p.id),
            title: p.title.clone(),
            state: label(t, "projects.state", p.state.as_str()),
            state_name: p.state.as_str(),
            pledged: money_text(p.pledged_total, &p.currency),
            time_left: time_left(t, p.deadline, now),
        })
        .collect();
    render(&QueuePage {
        chrome,
        queue,
        supervised,
    })
}

#[derive(Deserialize)]
struct DecisionForm {
    #[serde(default)]
    reason: String,
    #[serde(default)]
    launch_at: String,
}

async fn decide(
    State(state): State<AppState>,
    RequireRole { 0: regulator, .. }: RequireRole<Regulator>,
    Path((id, action)): Path<(ProjectId, String)>,
    CsrfForm(form): CsrfForm<DecisionForm>,
) -> Result<Response> {
    let action = Action::regulator(&action).ok_or(Error::NotFound)?;
    let launch_at = Some(form.launch_at.trim())
        .filter(|t| !t.is_empty())
        .map(domain::parse_time)
        .transpose()?;
    let decision = Decision::parse(action, Some(&form.reason), launch_at)?;
    let acted = super::act(
        &state.db,
        &state.ledger,
        &state.settings,
        &regulator,
        id,
        decision,
    )
    .await?;
    forget_public_view(&state, &acted.project);
    Ok(Redirect::to(&format!("/projects/{id}")).into_response())
}
