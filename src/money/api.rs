//! `/api/v1/wallet`, its deposits and withdrawals, and the sandbox gateway's callbacks.

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use super::amount::AmountInput;
use super::provider::{self, Deposit, GatewayNotice, Outcome, SandboxProvider};
use super::withdrawals::{self, BankAccount, Withdrawal, WithdrawalKey, WithdrawalRequest};
use super::{WalletBalance, WalletLine};
use crate::app::AppState;
use crate::config::{Currencies, Settings};
use crate::http::error::{Error, Message, Result};
use crate::http::extract::{ApiJson, CurrentUser};

/// Routes of this room, relative to `/api/v1`.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(wallet))
        .routes(routes!(create_deposit))
        .routes(routes!(sandbox_callback))
        .routes(routes!(create_withdrawal))
        .routes(routes!(sandbox_payout_callback))
}

/// The sandbox gateway of this server, when `PAYMENT_PROVIDER=sandbox` chose it.
pub fn sandbox(state: &AppState) -> Option<&SandboxProvider> {
    state.gateway.as_deref()
}

/// The gateway a top-up goes through; without one, top-ups are refused with a clear reason.
pub fn gateway_for_top_ups(state: &AppState) -> Result<&SandboxProvider> {
    sandbox(state).ok_or(Error::Conflict(Message::Key("money.error.no_provider")))
}

/// The gateway as the deposit listings use it, for the checkout links of pending top-ups.
pub fn listing_gateway(state: &AppState) -> Option<&dyn provider::PaymentProvider> {
    sandbox(state).map(|g| g as &dyn provider::PaymentProvider)
}

/// The top-up limits the settings name (`DEPOSIT_MAX`, `DEPOSIT_DAILY_MAX`).
pub fn deposit_limits(settings: &Settings) -> provider::DepositLimits {
    provider::DepositLimits {
        per_deposit: settings.deposit_max,
        per_day: settings.deposit_daily_max,
    }
}

/// Checks a currency code against the ones the platform takes (`SUPPORTED_CURRENCIES`); the
/// default one when omitted.
pub fn parse_currency(raw: Option<&str>, supported: &Currencies) -> Result<String> {
    let code = raw.map(str::trim).unwrap_or(supported.default_code());
    if supported.contains(code) {
        Ok(code.to_owned())
    } else {
        Err(Error::Unprocessable(Message::Key("money.error.currency")))
    }
}

/// What the sandbox gateway should answer at once (API clients and tests; people use the
/// checkout page).
#[derive(Debug, Clone, Copy, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SandboxAnswer {
    Approve,
    Decline,
}

/// Body of `POST /api/v1/wallet/deposits`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct DepositRequest {
    /// The amount, as a string with up to two decimals (`"500.00"`); a JSON number is accepted.
    #[schema(value_type = String, example = "500.00", pattern = r"^([1-9][0-9]{0,7}(\.[0-9]{1,2})?|0\.(0[1-9]|[1-9][0-9]?))$")]
    pub amount: AmountInput,
    /// One of the platform's currencies; the default one (CNY) when omitted.
    #[schema(pattern = "^[A-Z]{3}$")]
    pub currency: Option<String>,
    /// With the sandbox provider: have the gateway answer at once instead of waiting for the
    /// payer at `checkout_url`.
    pub sandbox_answer: Option<SandboxAnswer>,
}

/// Starts a wallet top-up. Without `sandbox_answer`, send the payer to `checkout_url`; the
/// wallet is credited when the gateway calls back.
#[utoipa::path(post, path = "/api/v1/wallet/deposits", tag = "money",
    security(("bearer" = [])),
    request_body = DepositRequest,
    responses((status = 201, body = Deposit), (status = 401, description = "not signed in"),
              (status = 409, description = "no payment provider is configured on this server"),
              (status = 422, description = "bad amount or currency, or above the per-deposit or daily limit")))]
pub async fn create_deposit(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiJson(body): ApiJson<DepositRequest>,
) -> Result<(StatusCode, ApiJson<Deposit>)> {
    let gateway = gateway_for_top_ups(&state)?;
    let amount = body.amount.parse()?;
    let currency = parse_currency(
        body.currency.as_deref(),
        &state.settings.supported_currencies,
    )?;
    let limits = deposit_limits(&state.settings);
    let mut deposit =
        provider::start_deposit(&state.db, gateway, limits, user.user.id, amount, &currency)
            .await?;
    if let Some(answer) = body.sandbox_answer {
        let notice = GatewayNotice {
            reference: deposit.reference.clone(),
            outcome: match answer {
                SandboxAnswer::Approve => Outcome::Approved,
                SandboxAnswer::Decline => Outcome::Declined,
            },
        };
        deposit = provider::apply_notice(&state.db, gateway, &notice).await?;
    }
    Ok((StatusCode::CREATED, ApiJson(deposit)))
}

/// The gateway a withdrawal is paid out through; without one, withdrawals are refused with a
/// clear reason.
pub fn gateway_for_withdrawals(state: &AppState) -> Result<&SandboxProvider> {
    sandbox(state).ok_or(Error::Conflict(Message::Key(
        "money.error.no_provider_withdrawals",
    )))
}

/// Body of `POST /api/v1/wallet/withdrawals`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct WithdrawalBody {
    /// The amount, as a string with up to two decimals (`"300.00"`); a JSON number is accepted.
    #[schema(value_type = String, example = "300.00", pattern = r"^([1-9][0-9]{0,7}(\.[0-9]{1,2})?|0\.(0[1-9]|[1-9][0-9]?))$")]
    pub amount: AmountInput,
    /// One of the platform's currencies; the default one (CNY) when omitted.
    #[schema(pattern = "^[A-Z]{3}$")]
    pub currency: Option<String>,
    /// The bank account to pay: 8 to 34 letters and digits (at least 6 digits), spaces and
    /// hyphens between groups allowed. With the sandbox gateway, an account ending in `0000` is
    /// declined by the bank.
    #[schema(example = "6222 0212 3456 7890", max_length = 68)]
    pub account: String,
}

impl WithdrawalBody {
    /// The withdrawal this body asks for.
    pub fn into_request(self, supported: &Currencies) -> Result<WithdrawalRequest> {
        let amount = self.amount.parse()?;
        let currency = parse_currency(self.currency.as_deref(), supported)?;
        let account = BankAccount::parse(&self.account)?;
        Ok(WithdrawalRequest {
            amount,
            currency,
            account,
        })
    }
}

/// The `Idempotency-Key` header, when sent.
fn withdrawal_key(headers: &HeaderMap) -> Result<Option<WithdrawalKey>> {
    headers
        .get("idempotency-key")
        .map(|v| {
            v.to_str()
                .map_err(|_| Error::BadRequest(Message::Key("money.error.idempotency_key")))
                .and_then(|key| Ok(WithdrawalKey::parse(key)?))
        })
        .transpose()
}

/// Starts the payout of a new withdrawal through the sandbox gateway. A replayed one was
/// started by the request that made it; if it is still pending, the gateway is asked again
/// (its answer is applied once however often it comes).
pub fn start_payout(state: &AppState, started: &withdrawals::Started, account: &BankAccount) {
    let pending = started.withdrawal.state == withdrawals::WithdrawalState::Pending;
    if let (true, Some(gateway)) = (!started.replayed || pending, state.gateway.clone()) {
        provider::pay_out(
            state.db.clone(),
            gateway,
            started.withdrawal.reference.clone(),
            account,
        );
    }
}

/// Withdraws money from the wallet to a bank account. The wallet is debited at once and the
/// withdrawal is `pending` until the gateway confirms the payout (`completed`), or refuses it
/// (`failed`, the money back in the wallet). With an `Idempotency-Key`, repeating the request
/// (even concurrently) returns the same withdrawal, marked `Idempotent-Replayed: true`, and moves
/// the money once; the same key with a different body is a 422.
#[utoipa::path(post, path = "/api/v1/wallet/withdrawals", tag = "money",
    security(("bearer" = [])),
    params(("Idempotency-Key" = Option<String>, Header, pattern = "^[!-~]{1,255}$", description = "makes retries safe: 1 to 255 visible ASCII characters")),
    request_body = WithdrawalBody,
    responses((status = 201, body = Withdrawal),
              (status = 400, description = "malformed body or Idempotency-Key"),
              (status = 401, description = "not signed in"),
              (status = 409, description = "insufficient funds, or no payment provider is configured on this server"),
              (status = 413, description = "body too large"),
              (status = 422, description = "bad amount, currency or account, or the key reused with another body")))]
pub async fn create_withdrawal(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    headers: HeaderMap,
    ApiJson(body): ApiJson<WithdrawalBody>,
) -> Result<Response> {
    let gateway = gateway_for_withdrawals(&state)?;
    let key = withdrawal_key(&headers)?;
    let request = body.into_request(&state.settings.supported_currencies)?;
    let started =
        withdrawals::start(&state.db, gateway, user.user.id, &request, key.as_ref()).await?;
    start_payout(&state, &started, &request.account);
    let mut response = (StatusCode::CREATED, ApiJson(started.withdrawal)).into_response();
    if started.replayed {
        response
            .headers_mut()
            .insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    Ok(response)
}

/// The signed-in user's wallet.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct WalletView {
    pub balances: Vec<WalletBalance>,
    /// The latest 100 movements, newest first.
    pub history: Vec<WalletLine>,
    /// The latest 20 top-ups.
    pub deposits: Vec<Deposit>,
    /// The latest 20 withdrawals, newest first.
    pub withdrawals: Vec<Withdrawal>,
}

/// Balances, movements and top-ups of the signed-in user's wallet.
#[utoipa::path(get, path = "/api/v1/wallet", tag = "money",
    security(("bearer" = [])),
    responses((status = 200, body = WalletView), (status = 401, description = "not signed in")))]
pub async fn wallet(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
) -> Result<ApiJson<WalletView>> {
    let id = user.user.id;
    Ok(ApiJson(WalletView {
        balances: super::wallet_balances(&state.db, id).await?,
        history: super::wallet_history(&state.db, id, 100).await?,
        deposits: provider::deposits_of(&state.db, listing_gateway(&state), id, 20).await?,
        withdrawals: withdrawals::withdrawals_of(&state.db, id, 20).await?,
    }))
}

/// A gateway notice as it came: its body, and the signature and time of its headers (missing
/// ones read as empty and fail verification).
fn signed_callback<'a>(headers: &'a HeaderMap, body: &'a Bytes) -> provider::Callback<'a> {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    };
    provider::Callback {
        body,
        timestamp: header("x-gateway-timestamp"),
        signature: header("x-gateway-signature"),
    }
}

/// The sandbox gateway's callback: a JSON notice, signed by the gateway with the shared secret
/// as hex HMAC-SHA256 over `timestamp "." body` in `X-Gateway-Signature`, the Unix time of
/// signing in `X-Gateway-Timestamp` (refused when more than five minutes off). Repeats are
/// harmless: a deposit is credited once. Not served unless `PAYMENT_PROVIDER=sandbox`.
#[utoipa::path(post, path = "/api/v1/payments/sandbox/callback", tag = "money",
    request_body = GatewayNotice,
    params(("X-Gateway-Signature" = String, Header, description = "hex HMAC-SHA256 of timestamp, '.', body"),
           ("X-Gateway-Timestamp" = String, Header, description = "Unix seconds when the gateway signed")),
    responses((status = 200, body = Deposit),
              (status = 400, description = "forged, stale or malformed"),
              (status = 404, description = "unknown reference, or no sandbox gateway on this server")))]
pub async fn sandbox_callback(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<ApiJson<Deposit>> {
    let gateway = sandbox(&state).ok_or(Error::NotFound)?;
    let callback = signed_callback(&headers, &body);
    let deposit = provider::handle_callback(&state.db, gateway, callback).await?;
    Ok(ApiJson(deposit))
}

/// The sandbox gateway's answer about a payout: a notice naming a withdrawal's reference,
/// signed and timed exactly as the deposit callback. `approved` completes the withdrawal,
/// `declined` fails it and returns the money to the wallet; repeats change nothing. Not served
/// unless `PAYMENT_PROVIDER=sandbox`.
#[utoipa::path(post, path = "/api/v1/payments/sandbox/payouts/callback", tag = "money",
    request_body = GatewayNotice,
    params(("X-Gateway-Signature" = String, Header, description = "hex HMAC-SHA256 of timestamp, '.', body"),
           ("X-Gateway-Timestamp" = String, Header, description = "Unix seconds when the gateway signed")),
    responses((status = 200, body = Withdrawal),
              (status = 400, description = "forged, stale or malformed"),
              (status = 404, description = "unknown reference, or no sandbox gateway on this server"),
              (status = 413, description = "body too large")))]
pub async fn sandbox_payout_callback(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<ApiJson<Withdrawal>> {
    let gateway = sandbox(&state).ok_or(Error::NotFound)?;
    let callback = signed_callback(&headers, &body);
    let withdrawal = provider::handle_payout_callback(&state.db, gateway, callback).await?;
    Ok(ApiJson(withdrawal))
}
