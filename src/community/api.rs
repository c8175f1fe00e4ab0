//! Follows in the API: `POST` and `DELETE /api/v1/projects/{id}/follow`, both idempotent, and
//! `GET /api/v1/me/following`.

use axum::extract::State;
use serde::Serialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::follows::{self, Followed};
use crate::app::AppState;
use crate::http::error::Result;
use crate::http::extract::{ApiJson, CurrentUser, Path};

/// Routes of the follows, relative to `/api/v1`.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(follow, unfollow))
        .routes(routes!(my_following))
}

/// Whether the caller follows the project now, and how many do.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct FollowState {
    pub following: bool,
    pub followers: i64,
}

/// Follows a project the caller can see, or one launching soon. Following it again changes
/// nothing.
#[utoipa::path(post, path = "/api/v1/projects/{id}/follow", tag = "community",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "project id or slug")),
    responses((status = 200, body = FollowState), (status = 401), (status = 404),
              (status = 409, description = "following too many projects")))]
pub async fn follow(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(key): Path<String>,
) -> Result<ApiJson<FollowState>> {
    let project = follows::followable(&state.db, &key, Some(&user)).await?;
    follows::follow(&state.db, user.user.id, project.id).await?;
    Ok(ApiJson(FollowState {
        following: true,
        followers: follows::follower_count(&state.db, project.id).await?,
    }))
}

/// Stops following a project. Unfollowing one not followed changes nothing.
#[utoipa::path(delete, path = "/api/v1/projects/{id}/follow", tag = "community",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "project id or slug")),
    responses((status = 200, body = FollowState), (status = 401), (status = 404)))]
pub async fn unfollow(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(key): Path<String>,
) -> Result<ApiJson<FollowState>> {
    let project = follows::followable(&state.db, &key, Some(&user)).await?;
    follows::unfollow(&state.db, user.user.id, project.id).await?;
    Ok(ApiJson(FollowState {
        following: false,
        followers: follows::follower_count(&state.db, project.id).await?,
    }))
}

/// The projects the caller follows, most recently followed first (at most 200).
#[utoipa::path(get, path = "/api/v1/me/following", tag = "community",
    security(("bearer" = [])),
    responses((status = 200, body = [Followed]), (status = 401)))]
pub async fn my_following(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
) -> Result<ApiJson<Vec<Followed>>> {
    Ok(ApiJson(follows::following(&state.db, user.user.id).await?))
}
