//! `/api/v1/projects/{id}/pledges`, `/api/v1/pledges/{id}`, `/api/v1/me/pledges`, and the
//! founder's `/api/v1/founder/projects/{id}/backers`.

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer};

use super::founder::own_project;
use crate::app::AppState;
use crate::http::error::{Error, Message, Result};
use crate::http::extract::{ApiJson, Backer, CurrentUser, Path, RequireRole};
use crate::ids::{AddonId, PledgeId, ProjectId, TierId};
use crate::money::amount::AmountInput;
use crate::pledges::backers::{self, BackerLine};
use crate::pledges::extras::{Extras, ShippingAddress, ShippingChoice};
use crate::pledges::limits::{DeclaredAmount, Shares};
use crate::pledges::{
    self, EquityRequest, Pledge, PledgeChange, PledgeRequest, PledgeView, RequestKey,
};
use crate::projects::shipping::Region;

/// Routes of this room, relative to `/api/v1`.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create))
        .routes(routes!(change, cancel))
        .routes(routes!(mine))
        .routes(routes!(backers_api))
}

/// Body of `POST /api/v1/projects/{id}/pledges`: `{"tier_id", "amount"}` for a reward project
/// (no `tier_id` pledges without reward), with `region` and `address` for a tier that ships and
/// any `addons`; `{"shares", "acknowledge_risk"}` for equity. The pledge's amount is `amount`
/// plus the add-ons plus shipping.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct PledgeBody {
    #[schema(value_type = Option<String>, format = Uuid)]
    pub tier_id: Option<TierId>,
    /// The reward part, at least the tier's price (add-ons and shipping are added to it); a
    /// string with up to two decimals.
    #[schema(value_type = Option<String>, example = "128.00", pattern = r"^([1-9][0-9]{0,7}(\.[0-9]{1,2})?|0\.(0[1-9]|[1-9][0-9]?))$")]
    pub amount: Option<AmountInput>,
    /// Number of shares (equity projects).
    #[schema(minimum = 1, maximum = 1_000_000_000)]
    pub shares: Option<i64>,
    /// The investor has read the offering's risk warning (equity projects).
    pub acknowledge_risk: Option<bool>,
    /// Self-declared annual income, for the 12-month investment limit (stored; needed once):
    /// zero or more, at most 10,000,000,000, two decimals at most, commas between thousands.
    #[schema(value_type = Option<String>, example = "80000.00")]
    pub annual_income: Option<AmountInput>,
    /// Self-declared net worth, for the 12-month investment limit (stored; needed once); as
    /// `annual_income`.
    #[schema(value_type = Option<String>, example = "150000.00")]
    pub net_worth: Option<AmountInput>,
    /// Where the reward ships: required with `address` for a tier that ships, refused for one
    /// that does not. A region without a price of its own ships at the `rest_of_world` price.
    pub region: Option<Region>,
    /// The shipping address, 1 to 500 characters (line breaks allowed); seen only by the backer
    /// and the project's founder.
    #[schema(max_length = 500)]
    pub address: Option<String>,
    /// Add-ons with quantities (reward pledges with a tier the add-on goes with): each add-on
    /// once, 1 to 100 units, at most 20 add-ons. Their prices are added to the amount.
    #[serde(default)]
    #[schema(max_items = 20)]
    pub addons: Vec<AddonPickBody>,
}

/// Units of one add-on in a pledge body.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct AddonPickBody {
    #[schema(value_type = String, format = Uuid)]
    pub addon_id: AddonId,
    #[schema(minimum = 1, maximum = 100)]
    pub quantity: i64,
}

/// Parses a declared figure with the one parser the form also uses ([`DeclaredAmount`]).
pub fn declared(raw: &AmountInput) -> Result<Decimal> {
    let text = match raw {
        AmountInput::Text(t) => t.clone(),
        AmountInput::Number(n) => n.to_string(),
    };
    Ok(DeclaredAmount::parse(&text).map(DeclaredAmount::value)?)
}

impl PledgeBody {
    /// The request this body asks for.
    pub fn into_request(self) -> Result<PledgeRequest> {
        if let Some(shares) = self.shares {
            let extras = self.region.is_some() || self.address.is_some() || !self.addons.is_empty();
            if self.tier_id.is_some() || extras {
                return Err(Error::Unprocessable(Message::Key(
                    "pledges.error.wrong_kind",
                )));
            }
            let declaration = match (&self.annual_income, &self.net_worth) {
                (Some(income), Some(worth)) => Some((declared(income)?, declared(worth)?)),
                (None, None) => None,
                _ => {
                    return Err(Error::Unprocessable(Message::Key(
                        "pledges.error.declaration",
                    )))
                }
            };
            return Ok(PledgeRequest::Equity(EquityRequest {
                shares: Shares::new(shares)?,
                risk_acknowledged: self.acknowledge_risk.unwrap_or(false),
                declaration,
            }));
        }
        let amount = self
            .amount
            .ok_or(Error::Unprocessable(Message::Key(
                "pledges.error.amount_missing",
            )))?
            .parse()?;
        let shipping = match (self.region, self.address.as_deref()) {
            (None, None) => None,
            (Some(region), Some(address)) => Some(ShippingChoice {
                region,
                address: ShippingAddress::parse(address)?,
            }),
            (None, Some(_)) => {
                return Err(Error::Unprocessable(Message::Key(
                    "shipping.error.region_missing",
                )))
            }
            (Some(_), None) => {
                return Err(Error::Unprocessable(Message::Key(
                    "shipping.error.address_missing",
                )))
            }
        };
        let picks: Vec<(AddonId, i64)> = self
            .addons
            .iter()
            .map(|p| (p.addon_id, p.quantity))
            .collect();
        Ok(PledgeRequest::RewardWithExtras {
            tier: self.tier_id,
            amount,
            extras: Extras::new(shipping, &picks)?,
        })
    }
}

fn idempotency_key(headers: &HeaderMap) -> Result<Option<RequestKey>> {
    headers
        .get("idempotency-key")
        .map(|v| {
            v.to_str()
                .map_err(|_| Error::BadRequest(Message::Key("pledges.error.idempotency_key")))
                .and_then(|key| Ok(RequestKey::parse(key)?))
        })
        .transpose()
}

/// Pledges to a project. With an `Idempotency-Key`, repeating the request (even concurrently)
/// returns the same pledge, marked `Idempotent-Replayed: true`; the same key with a different
/// body is a 422. A 201 means the pledge and its money movement are committed.
#[utoipa::path(post, path = "/api/v1/projects/{id}/pledges", tag = "pledges",
    security(("bearer" = [])),
    params(("id" = String, Path, format = Uuid, description = "project id"),
           ("Idempotency-Key" = Option<String>, Header, pattern = "^[!-~]{1,255}$", description = "makes retries safe: 1 to 255 visible ASCII characters")),
    request_body = PledgeBody,
    responses((status = 201, body = Pledge),
              (status = 401, description = "not signed in"),
              (status = 403, description = "not a backer"),
              (status = 404, description = "no such project"),
              (status = 409, description = "sold out (a tier or an add-on), no shares or investor places left, insufficient funds, already backing, or the project does not take pledges (a scheduled one says when it opens)"),
              (status = 422, description = "bad amount or shares, limit exceeded, key reused with another body, a region or address missing for a tier that ships (or sent for one that does not), an unknown add-on or one the tier may not take"),
              (status = 503, description = "too many pledges waiting for this project, or no answer in time; retry after Retry-After (with the same Idempotency-Key)")))]
pub async fn create(
    State(state): State<AppState>,
    role: RequireRole<Backer>,
    Path(project): Path<ProjectId>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<PledgeBody>,
) -> Result<Response> {
    let user = role.0;
    // A project the backer may not see is not found, whatever the body says.
    crate::projects::visible_target(&state.db, project, Some(&user)).await?;
    let key = idempotency_key(&headers)?;
    let request = body.into_request()?;
    let created = state
        .pledge_desk
        .create(user.user.id, project, &request, key.as_ref())
        .await?;
    let mut response = (StatusCode::CREATED, ApiJson(created.pledge)).into_response();
    if created.replayed {
        response
            .headers_mut()
            .insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    Ok(response)
}

/// Tells an absent `tier_id` (keep the tier) from a `null` one (no reward).
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<TierId>>, D::Error> {
    Option::<TierId>::deserialize(d).map(Some)
}

/// Body of `PATCH /api/v1/pledges/{id}`: what changes. For a reward pledge, `tier_id` (null for
/// no reward; absent keeps the tier) and/or `amount`; for equity, `shares`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct ChangeBody {
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, format = Uuid)]
    pub tier_id: Option<Option<TierId>>,
    /// The new reward part; the pledge keeps its add-ons and its shipping is re-priced for the
    /// new tier, both added to it.
    #[schema(value_type = Option<String>, example = "150.00", pattern = r"^([1-9][0-9]{0,7}(\.[0-9]{1,2})?|0\.(0[1-9]|[1-9][0-9]?))$")]
    pub amount: Option<AmountInput>,
    #[schema(minimum = 1, maximum = 1_000_000_000)]
    pub shares: Option<i64>,
}

/// Changes an active pledge: reward pledges until the deadline, equity until 48 hours before.
/// The difference moves between wallet and escrow at once.
#[utoipa::path(patch, path = "/api/v1/pledges/{id}", tag = "pledges",
    security(("bearer" = [])),
    params(("id" = String, Path, format = Uuid, description = "pledge id")),
    request_body = ChangeBody,
    responses((status = 200, body = Pledge), (status = 404, description = "not your pledge"),
              (status = 409, description = "window closed (or not yet open), sold out, insufficient funds"),
              (status = 422, description = "bad amount or shares, an add-on the new tier may not take, or a tier that ships for a pledge without an address"),
              (status = 403, description = "not a backer")))]
pub async fn change(
    State(state): State<AppState>,
    role: RequireRole<Backer>,
    Path(id): Path<PledgeId>,
    ApiJson(body): ApiJson<ChangeBody>,
) -> Result<ApiJson<Pledge>> {
    let user = role.0;
    let current = pledges::find(&state.db, id)
        .await?
        .filter(|p| p.backer_id == user.user.id)
        .ok_or(Error::NotFound)?;
    let change = if current.shares.is_some() {
        let shares = body
            .shares
            .ok_or(Error::Unprocessable(Message::Key("pledges.error.shares")))?;
        PledgeChange::Equity {
            shares: Shares::new(shares)?,
        }
    } else {
        let tier = body.tier_id.unwrap_or(current.tier_id);
        let amount = match body.amount {
            Some(raw) => raw.parse()?,
            None => crate::money::Money::try_from(current.reward_part())?,
        };
        PledgeChange::Reward { tier, amount }
    };
    Ok(ApiJson(
        pledges::change(
            &state.db,
            &state.settings.investor_limit_rule,
            user.user.id,
            id,
            &change,
        )
        .await?,
    ))
}

/// Cancels an active pledge inside its window; the money is back in the wallet at once.
#[utoipa::path(delete, path = "/api/v1/pledges/{id}", tag = "pledges",
    security(("bearer" = [])),
    params(("id" = String, Path, format = Uuid, description = "pledge id")),
    responses((status = 200, body = Pledge), (status = 404, description = "not your pledge"),
              (status = 409, description = "window closed or pledge not active"),
              (status = 403, description = "not a backer")))]
pub async fn cancel(
    State(state): State<AppState>,
    role: RequireRole<Backer>,
    Path(id): Path<PledgeId>,
) -> Result<ApiJson<Pledge>> {
    let user = role.0;
    Ok(ApiJson(pledges::cancel(&state.db, user.user.id, id).await?))
}

/// The signed-in backer's pledges, newest first, with their states.
#[utoipa::path(get, path = "/api/v1/me/pledges", tag = "pledges",
    security(("bearer" = [])),
    responses((status = 200, body = Vec<PledgeView>), (status = 401, description = "not signed in"),
              (status = 403, description = "not a backer")))]
pub async fn mine(
    State(state): State<AppState>,
    role: RequireRole<Backer>,
) -> Result<ApiJson<Vec<PledgeView>>> {
    let user = role.0;
    Ok(ApiJson(pledges::for_backer(&state.db, user.user.id).await?))
}

/// Founder's backers as JSON.
#[utoipa::path(get, path = "/api/v1/founder/projects/{id}/backers", tag = "pledges",
    security(("bearer" = [])),
    params(("id" = String, Path, format = Uuid, description = "project id")),
    responses((status = 200, body = Vec<BackerLine>), (status = 404, description = "not your project")))]
pub async fn backers_api(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<ProjectId>,
) -> Result<ApiJson<Vec<BackerLine>>> {
    let target = own_project(&state, &user, id).await?;
    Ok(ApiJson(backers::backers(&state.db, target.id).await?))
}
