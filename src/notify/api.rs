//! Notifications in the API.

use axum::extract::State;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::Notification;
use crate::app::AppState;
use crate::http::error::Result;
use crate::http::extract::{ApiJson, CurrentUser};

/// Routes of this room, relative to `/api/v1`.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(my_notifications))
}

/// The signed-in user's latest notifications.
#[utoipa::path(get, path = "/api/v1/me/notifications", tag = "notify",
    security(("bearer" = [])),
    responses((status = 200, body = [Notification]), (status = 401)))]
pub async fn my_notifications(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
) -> Result<ApiJson<Vec<Notification>>> {
    Ok(ApiJson(super::recent(&state.db, user.user.id, 50).await?))
}
