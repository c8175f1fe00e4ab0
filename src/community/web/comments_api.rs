//! `/api/v1/projects/{id}/comments` and `/api/v1/regulator/comments/{id}/hide`.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::AppState;
use crate::community::comments::{self, Body, Cursor, NewComment};
use crate::community::comments_list::{self, Comment, CommentPage};
use crate::http::error::Result;
use crate::http::extract::{ApiJson, CurrentUser, MaybeUser, Path, Regulator, RequireRole};
use crate::ids::{CommentId, ProjectId};
use crate::supervision::comments::{self as supervised, HiddenComment};

/// Routes of the discussion, relative to `/api/v1`.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(hide))
}

/// Query of `GET /api/v1/projects/{id}/comments`.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
pub struct PageQuery {
    /// The `next_cursor` of the page before; the newest comments when absent.
    pub cursor: Option<String>,
    /// Comments per page, 1 to 50 (20 when absent).
    pub limit: Option<String>,
}

/// A project's comments, newest first, each with its replies (oldest first).
#[utoipa::path(get, path = "/api/v1/projects/{id}/comments", tag = "community",
    params(("id" = String, Path, format = Uuid), PageQuery),
    responses((status = 200, body = CommentPage),
              (status = 400, description = "a cursor or a page size that is not one"),
              (status = 404, description = "no such project, or not visible to the caller")))]
pub async fn list(
    State(state): State<AppState>,
    MaybeUser(viewer): MaybeUser,
    Path(id): Path<ProjectId>,
    Query(query): Query<PageQuery>,
) -> Result<ApiJson<CommentPage>> {
    let project = crate::projects::visible(&state.db, &id.to_string(), viewer.as_ref()).await?;
    let limit = comments::page_size(query.limit.as_deref())?;
    let cursor = query
        .cursor
        .as_deref()
        .filter(|c| !c.trim().is_empty())
        .map(Cursor::parse)
        .transpose()?;
    Ok(ApiJson(
        comments_list::page(&state.db, &project, cursor, limit).await?,
    ))
}

/// Body of a new comment or reply.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct CommentInput {
    /// Markdown, 1 to 5000 characters (cleaned as project stories are).
    pub body: String,
    /// The comment answered; a reply to a reply answers that reply's top comment.
    pub parent_id: Option<CommentId>,
    /// "I am compensated to promote this": required (true or false) on equity offerings.
    pub compensated_promoter: Option<bool>,
}

/// Comments on a project or replies to a comment, as the signed-in user. The founder is
/// notified of a comment, the answered commenter of a reply.
#[utoipa::path(post, path = "/api/v1/projects/{id}/comments", tag = "community",
    security(("bearer" = [])),
    params(("id" = String, Path, format = Uuid)),
    request_body = CommentInput,
    responses((status = 201, body = Comment),
              (status = 404, description = "no such project, or not visible to the caller"),
              (status = 409, description = "the discussion is closed (not launched, or cancelled), the comment answered is hidden, or it has too many replies"),
              (status = 422, description = "an empty or too long body, an unknown parent, or the promoter question unanswered on an equity offering"),
              (status = 429, description = "too many comments in a minute; retry after `Retry-After` seconds")))]
pub async fn create(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<ProjectId>,
    ApiJson(input): ApiJson<CommentInput>,
) -> Result<Response> {
    let project = crate::projects::visible(&state.db, &id.to_string(), Some(&user)).await?;
    let new = NewComment {
        body: Body::parse(&input.body)?,
        parent: input.parent_id,
        compensated_promoter: input.compensated_promoter,
    };
    let posted = comments::post(
        &state.db,
        &project,
        user.user.id,
        &user.user.display_name,
        new,
    )
    .await;
    let id = match posted {
        Ok(id) => id,
        Err(refused) => return Ok(refused.into_response()),
    };
    let comment = comments_list::one(&state.db, &project, id).await?;
    Ok((StatusCode::CREATED, ApiJson(comment)).into_response())
}

/// Body of hiding a comment.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct HideInput {
    /// Why, 1 to 2000 characters: shown in place of the comment.
    pub reason: String,
}

/// Hides a comment (regulators only): it shows the reason instead of its text; the action is
/// recorded on the supervision trail and the ledger, and its author is told.
#[utoipa::path(post, path = "/api/v1/regulator/comments/{id}/hide", tag = "supervision",
    security(("bearer" = [])),
    params(("id" = String, Path, format = Uuid)),
    request_body = HideInput,
    responses((status = 200, body = HiddenComment),
              (status = 403, description = "not a regulator"),
              (status = 404, description = "no such comment"),
              (status = 409, description = "already hidden"),
              (status = 422, description = "a missing or too long reason")))]
pub async fn hide(
    State(state): State<AppState>,
    RequireRole { 0: regulator, .. }: RequireRole<Regulator>,
    Path(id): Path<CommentId>,
    ApiJson(input): ApiJson<HideInput>,
) -> Result<ApiJson<HiddenComment>> {
    let reason = supervised::reason(&input.reason)?;
    let hidden = supervised::hide(&state.db, &state.ledger, &regulator, id, &reason).await?;
    crate::community::kept::forget(&state.public_communities, hidden.project_id);
    Ok(ApiJson(hidden))
}
