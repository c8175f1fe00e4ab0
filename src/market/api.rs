//! The exchange in the API: `GET /api/v1/me/holdings`.

use axum::extract::State;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::holdings::{self, Holding};
use crate::app::AppState;
use crate::http::error::Result;
use crate::http::extract::{ApiJson, CurrentUser};

/// Routes of the exchange, relative to `/api/v1`.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(my_holdings))
}

/// The caller's shares by company (at most 500): shares, cost, how many are past the lock-up
/// (`SECONDARY_LOCKUP_DAYS` from issue), and the last clearing price.
#[utoipa::path(get, path = "/api/v1/me/holdings", tag = "market",
    security(("bearer" = [])),
    responses((status = 200, body = [Holding]), (status = 401)))]
pub async fn my_holdings(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
) -> Result<ApiJson<Vec<Holding>>> {
    let days = state.settings.secondary_lockup_days;
    Ok(ApiJson(
        holdings::holdings(&state.db, user.user.id, days).await?,
    ))
}
