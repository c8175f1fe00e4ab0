//! The exchange in the API: holdings, auction windows, orders, published books and receipts, and
//! the regulator's halts and freezes.

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use time::OffsetDateTime;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::auctions::{self, Auction, Window};
use super::clearing::Side;
use super::holdings::{self, Holding};
use super::orders::{self, NewOrder, Order, Placing};
use super::published::{self, OrderReceipt, PublishedBook};
use crate::app::AppState;
use crate::error::{Error, Message};
use crate::http::error::Result;
use crate::http::extract::{ApiJson, Backer, CurrentUser, Path, Regulator, RequireRole};
use crate::ids::{AuctionId, OrderId, ProjectId};
use crate::money::amount::AmountInput;
use crate::pledges::limits::Shares;
use crate::pledges::request::RequestKey;
use crate::pledges::web::api::declared;
use crate::supervision::auctions as supervised;

/// Routes of the exchange, relative to `/api/v1`.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(my_holdings))
        .routes(routes!(schedule, company_auctions))
        .routes(routes!(auction))
        .routes(routes!(place_order))
        .routes(routes!(cancel_order))
        .routes(routes!(my_orders))
        .routes(routes!(order_receipt))
        .routes(routes!(auction_book))
        .routes(routes!(halt))
        .routes(routes!(freeze_trading))
        .routes(routes!(unfreeze_trading))
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

/// One auction window and where it stands: while open, the indicative price and volume; once
/// cleared, the result (clearing price, volume, the book's size and root).
#[utoipa::path(get, path = "/api/v1/auctions/{id}", tag = "market",
    params(("id" = String, Path, format = Uuid)),
    responses((status = 200, body = Auction), (status = 404)))]
pub async fn auction(
    State(state): State<AppState>,
    Path(id): Path<AuctionId>,
) -> Result<ApiJson<Auction>> {
    let mut found = auctions::find(&state.db, id)
        .await?
        .ok_or(Error::NotFound)?;
    found.indicative = auctions::indicative(&state.db, &found).await?;
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

/// Body of placing an order.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct OrderBody {
    pub side: Side,
    #[schema(minimum = 1, maximum = 1_000_000_000)]
    pub shares: i64,
    /// The highest price a buy pays, the lowest a sell takes, per share.
    #[schema(value_type = String, example = "12.50")]
    pub limit_price: AmountInput,
    /// For a buyer who has not declared it yet: as on an equity pledge.
    #[schema(value_type = Option<String>, example = "80000")]
    pub annual_income: Option<AmountInput>,
    #[schema(value_type = Option<String>, example = "150000")]
    pub net_worth: Option<AmountInput>,
}

fn idempotency_key(headers: &HeaderMap) -> Result<Option<RequestKey>> {
    headers
        .get("idempotency-key")
        .map(|v| {
            v.to_str()
                .map_err(|_| Error::Malformed(Message::Key("pledges.error.idempotency_key")))
                .and_then(RequestKey::parse)
        })
        .transpose()
        .map_err(Into::into)
}

/// Places a limit order in an open auction window. A buy holds `shares x limit_price` of the
/// wallet in the buyer's market escrow and counts in the 12-month investor limit; a sell locks shares
/// past their lock-up. With an `Idempotency-Key`, repeating the request returns the same order,
/// marked `Idempotent-Replayed: true`; the same key for another order is a 422.
#[utoipa::path(post, path = "/api/v1/auctions/{id}/orders", tag = "market",
    security(("bearer" = [])),
    params(("id" = String, Path, format = Uuid),
           ("Idempotency-Key" = Option<String>, Header, pattern = "^[!-~]{1,255}$", description = "makes retries safe: 1 to 255 visible ASCII characters")),
    request_body = OrderBody,
    responses((status = 201, body = Order), (status = 401), (status = 403, description = "not a backer"),
              (status = 404, description = "no such auction"),
              (status = 409, description = "the window is not open, the company is frozen, not enough sellable shares, insufficient funds, an order on the other side, or too many orders"),
              (status = 422, description = "bad shares or price, the investor limit, a missing declaration, or a key reused for another order")))]
pub async fn place_order(
    State(state): State<AppState>,
    RequireRole { 0: user, .. }: RequireRole<Backer>,
    Path(auction): Path<AuctionId>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<OrderBody>,
) -> Result<Response> {
    let key = idempotency_key(&headers)?;
    let order = NewOrder {
        side: body.side,
        shares: Shares::new(body.shares)?,
        limit_price: body.limit_price.parse()?,
    };
    let declaration = match (&body.annual_income, &body.net_worth) {
        (Some(income), Some(worth)) => Some((declared(income)?, declared(worth)?)),
        (None, None) => None,
        _ => return Err(Error::invalid("pledges.error.declaration").into()),
    };
    let placing = Placing {
        rule: &state.settings.investor_limit_rule,
        lockup_days: state.settings.secondary_lockup_days,
        declaration,
        key: key.as_ref(),
    };
    let placed = orders::place(&state.db, user.user.id, auction, order, placing).await?;
    let mut response = (StatusCode::CREATED, ApiJson(placed.order)).into_response();
    if placed.replayed {
        response
            .headers_mut()
            .insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    Ok(response)
}

/// Cancels one of the caller's open orders until its auction closes; a buy's money returns at
/// once.
#[utoipa::path(delete, path = "/api/v1/orders/{id}", tag = "market",
    security(("bearer" = [])),
    params(("id" = String, Path, format = Uuid)),
    responses((status = 200, body = Order), (status = 401),
              (status = 404, description = "not the caller's order"),
              (status = 409, description = "the auction has closed, or the order is not open")))]
pub async fn cancel_order(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<OrderId>,
) -> Result<ApiJson<Order>> {
    Ok(ApiJson(orders::cancel(&state.db, user.user.id, id).await?))
}

/// The caller's orders, the latest first (at most 200), with their fills.
#[utoipa::path(get, path = "/api/v1/me/orders", tag = "market",
    security(("bearer" = [])),
    responses((status = 200, body = [Order]), (status = 401)))]
pub async fn my_orders(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
) -> Result<ApiJson<Vec<Order>>> {
    Ok(ApiJson(
        orders::of_user(&state.db, user.user.id, None).await?,
    ))
}

/// The owner's proof that their order is in its cleared auction's book: the leaf, the salt of
/// its commitment, its inclusion path and the receipt of the `auction_cleared` entry.
#[utoipa::path(get, path = "/api/v1/orders/{id}/receipt", tag = "market",
    security(("bearer" = [])),
    params(("id" = String, Path, format = Uuid)),
    responses((status = 200, body = OrderReceipt), (status = 401),
              (status = 404, description = "not the caller's order, or not in a cleared book")))]
pub async fn order_receipt(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<OrderId>,
) -> Result<ApiJson<OrderReceipt>> {
    Ok(ApiJson(
        published::order_receipt(&state.db, user.user.id, id).await?,
    ))
}

/// A cleared auction's de-identified order book (a commitment instead of each owner), with the
/// receipt of its `auction_cleared` entry: enough for `zhonglian verify-auction` to replay it.
#[utoipa::path(get, path = "/api/v1/auctions/{id}/book", tag = "market",
    params(("id" = String, Path, format = Uuid)),
    responses((status = 200, body = PublishedBook),
              (status = 404, description = "no such auction, or not cleared yet")))]
pub async fn auction_book(
    State(state): State<AppState>,
    Path(id): Path<AuctionId>,
) -> Result<ApiJson<PublishedBook>> {
    Ok(ApiJson(published::book(&state.db, id).await?))
}

/// Freezes a company's trading (regulators only): its unfinished windows are halted, none may be
/// scheduled and no order placed until it is unfrozen; on the trail and the ledger.
#[utoipa::path(post, path = "/api/v1/regulator/companies/{project_id}/freeze", tag = "supervision",
    security(("bearer" = [])),
    params(("project_id" = String, Path, format = Uuid)),
    request_body = HaltInput,
    responses((status = 204), (status = 403, description = "not a regulator"),
              (status = 404, description = "no such project"),
              (status = 409, description = "already frozen"),
              (status = 422, description = "not a funded equity offering, or a missing or too long reason")))]
pub async fn freeze_trading(
    State(state): State<AppState>,
    RequireRole { 0: regulator, .. }: RequireRole<Regulator>,
    Path(project): Path<ProjectId>,
    ApiJson(input): ApiJson<HaltInput>,
) -> Result<StatusCode> {
    let reason = supervised::reason(&input.reason)?;
    supervised::freeze_trading(&state.db, &state.ledger, &regulator, project, &reason).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Lets a frozen company trade again (regulators only); on the trail and the ledger.
#[utoipa::path(post, path = "/api/v1/regulator/companies/{project_id}/unfreeze", tag = "supervision",
    security(("bearer" = [])),
    params(("project_id" = String, Path, format = Uuid)),
    request_body = HaltInput,
    responses((status = 204), (status = 403, description = "not a regulator"),
              (status = 409, description = "not frozen"),
              (status = 422, description = "a missing or too long reason")))]
pub async fn unfreeze_trading(
    State(state): State<AppState>,
    RequireRole { 0: regulator, .. }: RequireRole<Regulator>,
    Path(project): Path<ProjectId>,
    ApiJson(input): ApiJson<HaltInput>,
) -> Result<StatusCode> {
    let reason = supervised::reason(&input.reason)?;
    supervised::unfreeze_trading(&state.db, &state.ledger, &regulator, project, &reason).await?;
    Ok(StatusCode::NO_CONTENT)
}
