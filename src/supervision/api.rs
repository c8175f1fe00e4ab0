//! `/api/v1/regulator/*`: the review queue and the regulator's actions.

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use axum::extract::State;
use serde::Deserialize;

use super::{Decision, TrailEntry};
use crate::app::AppState;
use crate::http::error::{Error, Result};
use crate::http::extract::{ApiJson, Path, Regulator, RequireRole};
use crate::projects::api::{detail, forget_public_view, ProjectDetail};
use crate::projects::lifecycle::Action;
use crate::projects::{domain, repo, ProjectId};

/// Routes of this room, relative to `/api/v1`.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(queue))
        .routes(routes!(decide))
}

/// Projects waiting for review, each with everything needed to decide.
#[utoipa::path(get, path = "/api/v1/regulator/queue", tag = "supervision", security(("bearer" = [])),
    responses((status = 200, body = [ProjectDetail]), (status = 401), (status = 403, description = "not a regulator")))]
pub async fn queue(
    State(state): State<AppState>,
    RequireRole { .. }: RequireRole<Regulator>,
) -> Result<ApiJson<Vec<ProjectDetail>>> {
    let mut out = Vec::new();
    for project in repo::review_queue(&state.db).await? {
        out.push(detail(&state, project, true).await?);
    }
    Ok(ApiJson(out))
}

/// Body of a regulator action.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct DecisionInput {
    /// Why; required for every action but `approve`. The founder sees it.
    pub reason: Option<String>,
    /// `approve` only: RFC 3339 time to go live; at once when left out.
    pub launch_at: Option<String>,
}

/// Approves, rejects, freezes, unfreezes or cancels a project; recorded in the trail and on the
/// ledger.
#[utoipa::path(post, path = "/api/v1/regulator/projects/{id}/{action}", tag = "supervision",
    security(("bearer" = [])),
    params(("id" = String, Path), ("action" = String, Path, description = "approve | reject | freeze | unfreeze | cancel")),
    request_body = DecisionInput,
    responses((status = 200, body = TrailEntry), (status = 403, description = "not a regulator"), (status = 404),
              (status = 409, description = "not allowed from the project's state"),
              (status = 422, description = "missing reason or bad launch time")))]
pub async fn decide(
    State(state): State<AppState>,
    RequireRole { 0: regulator, .. }: RequireRole<Regulator>,
    Path((id, action)): Path<(ProjectId, String)>,
    ApiJson(body): ApiJson<DecisionInput>,
) -> Result<ApiJson<TrailEntry>> {
    let action = Action::regulator(&action).ok_or(Error::NotFound)?;
    let launch_at = body
        .launch_at
        .as_deref()
        .filter(|t| !t.trim().is_empty())
        .map(domain::parse_time)
        .transpose()?;
    let decision = Decision::parse(action, body.reason.as_deref(), launch_at)?;
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
    Ok(ApiJson(acted.trail))
}
