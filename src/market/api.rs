//! The exchange in the API: holdings, and the auction windows an issuer schedules and the
//! regulator may halt.

use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use time::OffsetDateTime;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::auctions::{self, Auction, Window};
use super::holdings::{self, Holding};
use crate::app::AppState;
use crate::error::Error;
use crate::http::error::Result;
use crate::http::extract::{ApiJson, CurrentUser, Path, Regulator, RequireRole};
use crate::ids::{AuctionId, ProjectId};
use crate::supervision::auctions as supervised;

/// Routes of the exchange, relative to `/api/v1`.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(my_holdings))
        .routes(routes!(schedule, company_auctions))
        .routes(routes!(auction))
        .routes(routes!(halt))
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

/// Body of scheduling an auction window.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct WindowInput {
    /// When orders are first taken: now or later, within a year.
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub opens_at: OffsetDateTime,
    /// When the window closes and is cleared: after it opens, within 31 days of it.
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub closes_at: OffsetDateTime,
}

/// Schedules a call auction of the company's shares (its founder only, once the equity offering
/// is funded). Windows of one company never overlap.
#[utoipa::path(post, path = "/api/v1/companies/{project_id}/auctions", tag = "market",
    security(("bearer" = [])),
    params(("project_id" = String, Path, format = Uuid)),
    request_body = WindowInput,
    responses((status = 201, body = Auction), (status = 401),
              (status = 403, description = "not the company's founder"),
              (status = 404, description = "no such project"),
              (status = 409, description = "overlaps another window"),
              (status = 422, description = "not a funded equity offering, or bad times")))]
pub async fn schedule(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(project): Path<ProjectId>,
    ApiJson(input): ApiJson<WindowInput>,
) -> Result<(StatusCode, ApiJson<Auction>)> {
    let window = Window::new(input.opens_at, input.closes_at, OffsetDateTime::now_utc())?;
    let auction = auctions::schedule(&state.db, user.user.id, project, window).await?;
    Ok((StatusCode::CREATED, ApiJson(auction)))
}

/// The company's auction windows, the latest first (at most 100).
#[utoipa::path(get, path = "/api/v1/companies/{project_id}/auctions", tag = "market",
    params(("project_id" = String, Path, format = Uuid)),
    responses((status = 200, body = [Auction])))]
pub async fn company_auctions(
    State(state): State<AppState>,
    Path(project): Path<ProjectId>,
) -> Result<ApiJson<Vec<Auction>>> {
    Ok(ApiJson(auctions::of_company(&state.db, project).await?))
}

/// One auction window and where it stands.
#[utoipa::path(get, path = "/api/v1/auctions/{id}", tag = "market",
    params(("id" = String, Path, format = Uuid)),
    responses((status = 200, body = Auction), (status = 404)))]
pub async fn auction(
    State(state): State<AppState>,
    Path(id): Path<AuctionId>,
) -> Result<ApiJson<Auction>> {
    let found = auctions::find(&state.db, id)
        .await?
        .ok_or(Error::NotFound)?;
    Ok(ApiJson(found))
}

/// Body of halting an auction.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct HaltInput {
    /// Why, 1 to 2000 characters.
    pub reason: String,
}

/// Halts an auction window before it clears (regulators only): nothing in it trades; the
/// action is on the supervision trail and the ledger.
#[utoipa::path(post, path = "/api/v1/regulator/auctions/{id}/halt", tag = "supervision",
    security(("bearer" = [])),
    params(("id" = String, Path, format = Uuid)),
    request_body = HaltInput,
    responses((status = 200, body = Auction),
              (status = 403, description = "not a regulator"),
              (status = 404, description = "no such auction"),
              (status = 409, description = "already halted or cleared"),
              (status = 422, description = "a missing or too long reason")))]
pub async fn halt(
    State(state): State<AppState>,
    RequireRole { 0: regulator, .. }: RequireRole<Regulator>,
    Path(id): Path<AuctionId>,
    ApiJson(input): ApiJson<HaltInput>,
) -> Result<ApiJson<Auction>> {
    let reason = supervised::reason(&input.reason)?;
    let halted = supervised::halt(&state.db, &state.ledger, &regulator, id, &reason).await?;
    Ok(ApiJson(halted))
}
