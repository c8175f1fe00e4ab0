//! Follows in the browser: the "launching soon" page of a project approved to launch later, the
//! follow and unfollow forms (on that page and on the project page), and `/me/following`.

use askama::Template;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;
use time::OffsetDateTime;

use super::follows::{self, FollowButton};
use crate::app::AppState;
use crate::http::csrf::CsrfForm;
use crate::http::error::{Error, Result};
use crate::http::extract::{CurrentUser, MaybeUser, Path};
use crate::http::pages::{render, with_notice, Chrome};
use crate::http::redirect::safe_next;
use crate::projects::cards::{label, Card};
use crate::projects::ProjectState;

/// Routes of the follows.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/projects/{key}/soon", get(launching_soon))
        .route("/projects/{key}/follow", post(follow))
        .route("/projects/{key}/unfollow", post(unfollow))
        .route("/me/following", get(following_page))
}

#[derive(Template)]
#[template(path = "community/soon.html")]
struct SoonPage {
    chrome: Chrome,
    card: Card,
    /// When it launches, for the reader.
    launch: String,
    deadline: String,
    goal: String,
    founder_name: String,
    follow: FollowButton,
}

/// `GET /projects/{key}/soon`: what a project approved to launch later is, when it opens, and a
/// button to follow it. Once it has launched, its page is the project page.
async fn launching_soon(
    State(state): State<AppState>,
    chrome: Chrome,
    MaybeUser(viewer): MaybeUser,
    Path(key): Path<String>,
) -> Result<Response> {
    let project = crate::projects::repo::find_by_key(&state.db, &key)
        .await?
        .ok_or(Error::NotFound)?;
    let now = OffsetDateTime::now_utc();
    if project.is_public(now) {
        return Ok(Redirect::to(&format!("/projects/{}", project.slug)).into_response());
    }
    let Some(launch) = project
        .launched_at
        .filter(|_| follows::is_scheduled(&project, now))
    else {
        return Err(Error::NotFound);
    };
    let follow = FollowButton::load(&state.db, &project, viewer.map(|v| v.user.id)).await?;
    let c = &chrome;
    render(&SoonPage {
        card: Card::in_zone(&project, c.t, &c.zone, now),
        launch: c.moment(&launch),
        deadline: project.deadline.map(|d| c.moment(&d)).unwrap_or_default(),
        goal: c.money(&project.goal, &project.currency),
        founder_name: project.founder_name.clone(),
        follow,
        chrome,
    })
}

/// The follow form: where to go back to.
#[derive(Deserialize)]
struct FollowFields {
    back: Option<String>,
}

/// Where a follow form sends the browser: the page it came from, saying what happened.
fn back_to(fields: &FollowFields, slug: &str, notice: &str) -> Response {
    let fallback = format!("/projects/{slug}");
    let back = match fields.back.as_deref() {
        Some(path) if safe_next(Some(path)) == path => path,
        _ => fallback.as_str(),
    };
    Redirect::to(&with_notice(back, notice)).into_response()
}

/// A visitor who is not signed in is asked to, then comes back to `back`.
fn login_first(fields: &FollowFields) -> Response {
    let next = safe_next(fields.back.as_deref());
    let query = serde_urlencoded::to_string([("next", next)]).unwrap_or_default();
    Redirect::to(&format!("/login?{query}")).into_response()
}

/// `POST /projects/{key}/follow`.
async fn follow(
    State(state): State<AppState>,
    MaybeUser(viewer): MaybeUser,
    Path(key): Path<String>,
    CsrfForm(fields): CsrfForm<FollowFields>,
) -> Result<Response> {
    let Some(user) = viewer else {
        return Ok(login_first(&fields));
    };
    let project = follows::followable(&state.db, &key, Some(&user)).await?;
    follows::follow(&state.db, user.user.id, project.id).await?;
    Ok(back_to(&fields, &project.slug, "community.followed"))
}

/// `POST /projects/{key}/unfollow`.
async fn unfollow(
    State(state): State<AppState>,
    MaybeUser(viewer): MaybeUser,
    Path(key): Path<String>,
    CsrfForm(fields): CsrfForm<FollowFields>,
) -> Result<Response> {
    let Some(user) = viewer else {
        return Ok(login_first(&fields));
    };
    let project = follows::followable(&state.db, &key, Some(&user)).await?;
    follows::unfollow(&state.db, user.user.id, project.id).await?;
    Ok(back_to(&fields, &project.slug, "community.unfollowed"))
}

/// A followed project as the list shows it.
struct FollowedRow {
    title: String,
    href: String,
    state: String,
    /// "Launches …" for one launching soon, else "Closes …".
    when: String,
}

#[derive(Template)]
#[template(path = "community/following.html")]
struct FollowingPage {
    chrome: Chrome,
    rows: Vec<FollowedRow>,
}

/// `GET /me/following`: the projects the reader follows.
async fn following_page(
    State(state): State<AppState>,
    chrome: Chrome,
    CurrentUser(user): CurrentUser,
) -> Result<Response> {
    let now = OffsetDateTime::now_utc();
    let c = &chrome;
    let rows = follows::following(&state.db, user.user.id)
        .await?
        .into_iter()
        .map(|f| {
            let soon = f.state == ProjectState::Live && f.launched_at.is_some_and(|l| l > now);
            let (href, when) = match (soon, f.launched_at, f.deadline) {
                (true, Some(l), _) => (
                    format!("/projects/{}/soon", f.slug),
                    c.t.fill("community.launches_at", &[("at", &c.moment(&l))]),
                ),
                (_, _, Some(d)) => (
                    format!("/projects/{}", f.slug),
                    c.t.fill("community.closes_at", &[("at", &c.moment(&d))]),
                ),
                _ => (format!("/projects/{}", f.slug), String::new()),
            };
            FollowedRow {
                title: f.title,
                href,
                state: label(c.t, "projects.state", f.state.as_str()),
                when,
            }
        })
        .collect();
    render(&FollowingPage { chrome, rows })
}
