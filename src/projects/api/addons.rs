//! `/api/v1/projects/{id}/addons`: a project's add-ons, and the founder adding one.

use axum::extract::State;
use axum::http::StatusCode;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::app::AppState;
use crate::http::error::Result;
use crate::http::extract::{ApiJson, Founder, MaybeUser, Path, RequireRole};
use crate::ids::{AddonId, ProjectId, TierId};
use crate::projects::addons::{self, Addon, NewAddon};

/// Body of `POST /api/v1/projects/{id}/addons`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct AddonInput {
    /// 1 to 120 characters besides surrounding spaces; no control characters.
    #[schema(
        max_length = 120,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$"
    )]
    pub title: String,
    #[schema(value_type = String, example = "25.00", pattern = r"^([1-9][0-9]{0,7}(\.[0-9]{1,2})?|0\.(0[1-9]|[1-9][0-9]?))$")]
    pub price: Decimal,
    /// Leave out for unlimited.
    #[schema(minimum = 1, maximum = 1_000_000)]
    pub quantity_limit: Option<i64>,
    /// The tiers that may take it (the project's own); empty or left out for every tier.
    #[serde(default)]
    #[schema(value_type = Vec<String>, max_items = 50)]
    pub tiers: Vec<TierId>,
}

/// The id of a new add-on.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AddonCreated {
    #[schema(value_type = String, format = Uuid)]
    pub id: AddonId,
}

/// Adds an add-on to the founder's reward project (a draft or live; at most 20 per project).
#[utoipa::path(post, path = "/api/v1/projects/{id}/addons", tag = "projects", security(("bearer" = [])),
    params(("id" = String, Path, format = Uuid, description = "project id")), request_body = AddonInput,
    responses((status = 201, body = AddonCreated),
              (status = 401, description = "not signed in"),
              (status = 403, description = "not a founder, or not your project"),
              (status = 404, description = "no such project"),
              (status = 409, description = "the project has ended or is in review, or has 20 add-ons already"),
              (status = 422, description = "bad title, price or limit, a tier of another project, or an equity project")))]
pub async fn add_addon(
    State(state): State<AppState>,
    RequireRole { 0: founder, .. }: RequireRole<Founder>,
    Path(id): Path<ProjectId>,
    ApiJson(body): ApiJson<AddonInput>,
) -> Result<(StatusCode, ApiJson<AddonCreated>)> {
    let addon = NewAddon::parse(&body.title, body.price, body.quantity_limit, &body.tiers)?;
    let id = addons::add(&state.db, &founder, id, &addon).await?;
    Ok((StatusCode::CREATED, ApiJson(AddonCreated { id })))
}

/// The add-ons of a project anyone may see, with the units claimed.
#[utoipa::path(get, path = "/api/v1/projects/{id}/addons", tag = "projects",
    params(("id" = String, Path, format = Uuid, description = "project id")),
    responses((status = 200, body = Vec<Addon>), (status = 404, description = "no such project")))]
pub async fn list_addons(
    State(state): State<AppState>,
    MaybeUser(user): MaybeUser,
    Path(id): Path<ProjectId>,
) -> Result<ApiJson<Vec<Addon>>> {
    let target = crate::projects::visible_target(&state.db, id, user.as_ref()).await?;
    Ok(ApiJson(addons::of(&state.db, target.id).await?))
}
