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
use crate::http::confirm::{is_confirmed, Carried, Confirm};
use crate::http::csrf::CsrfForm;
use crate::http::error::{Error, Result};
use crate::http::extract::{Path, Regulator, RequireRole};
use crate::http::form::FieldErrors;
use crate::http::pages::{render, with_notice, Chrome};
use crate::projects::api::forget_public_view;
use crate::projects::lifecycle::Action;
use crate::projects::pages::{label, time_left};
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
            goal: chrome.money(&p.goal, &p.currency),
            deadline: p.deadline.map(|d| chrome.moment(&d)).unwrap_or_default(),
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
            pledged: chrome.money(&p.pledged_total, &p.currency),
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
    #[serde(default)]
    confirm: Option<String>,
}

/// The decision a form asks for, or every refusal of its fields.
fn parse_decision(action: Action, form: &DecisionForm) -> Result<(Option<Decision>, FieldErrors)> {
    let mut errors = FieldErrors::new();
    let launch_at = errors
        .check(
            "launch_at",
            Some(form.launch_at.trim())
                .filter(|t| !t.is_empty())
                .map(domain::parse_time)
                .transpose(),
        )?
        .flatten();
    let decision = errors.check(
        "reason",
        Decision::parse(action, Some(&form.reason), launch_at),
    )?;
    Ok((decision.filter(|_| errors.is_empty()), errors))
}

/// The confirmation of `action` on `project`, with the form's fields (and their refusals).
fn confirmation(
    chrome: Chrome,
    project: &repo::Project,
    action: Action,
    form: &DecisionForm,
    errors: &FieldErrors,
) -> Confirm {
    let t = chrome.t;
    let name = action.as_str();
    let field = |name: &'static str, label: &str, value: &str, input: &'static str| {
        let mut carried = Carried::shown(name, label, value).as_input(input);
        carried.error = errors.text(name, t);
        carried
    };
    let mut fields = vec![field(
        "reason",
        t.get("supervision.reason"),
        &form.reason,
        "text",
    )];
    if action == Action::Approve {
        fields.push(field(
            "launch_at",
            t.get("supervision.launch_at"),
            &form.launch_at,
            "datetime-local",
        ));
    }
    Confirm {
        heading: t
            .get(&format!("confirm.regulator.{name}.heading"))
            .to_owned(),
        subject: project.title.clone(),
        consequence: t
            .get(&format!("confirm.regulator.{name}.consequence"))
            .to_owned(),
        action: format!("/regulator/projects/{}/{name}", project.id),
        fields,
        back: format!("/projects/{}#regulator-actions", project.id),
        danger: action != Action::Approve && action != Action::Unfreeze,
        chrome,
    }
}

/// `POST /regulator/projects/{id}/{action}`: asks first (what will happen, the project, the
/// reason typed), and acts only on the confirmed POST; a refused field is shown on that page.
async fn decide(
    State(state): State<AppState>,
    chrome: Chrome,
    RequireRole { 0: regulator, .. }: RequireRole<Regulator>,
    Path((id, action)): Path<(ProjectId, String)>,
    CsrfForm(form): CsrfForm<DecisionForm>,
) -> Result<Response> {
    let action = Action::regulator(&action).ok_or(Error::NotFound)?;
    let project = repo::find(&state.db, id).await?.ok_or(Error::NotFound)?;
    let (decision, errors) = parse_decision(action, &form)?;
    let decision = match decision {
        Some(decision) if is_confirmed(form.confirm.as_deref()) => decision,
        _ => return confirmation(chrome, &project, action, &form, &errors).respond(),
    };
    let acted = super::act(
        &state.db,
        &state.ledger,
        &state.settings,
        &regulator,
        id,
        decision,
    )
    .await;
    let acted = match acted {
        Ok(acted) => acted,
        Err(crate::error::Error::Invalid(message)) => {
            // The launch time is the one field the action itself checks (against the deadline).
            let mut errors = FieldErrors::new();
            let field = if action == Action::Approve {
                "launch_at"
            } else {
                "reason"
            };
            errors.add(field, message);
            return confirmation(chrome, &project, action, &form, &errors).respond();
        }
        Err(e) => return Err(e.into()),
    };
    forget_public_view(&state, &acted.project);
    let notice = format!("regulator_{}", action.as_str());
    Ok(Redirect::to(&with_notice(&format!("/projects/{id}"), &notice)).into_response())
}
