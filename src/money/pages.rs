//! `/wallet` (balances, movements, top-ups, withdrawals) and the sandbox gateway's checkout
//! page.

use std::time::Duration;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use serde::Deserialize;

use super::api::{
    deposit_limits, gateway_for_top_ups, gateway_for_withdrawals, listing_gateway, sandbox,
    start_payout,
};
use super::provider::{self, Deposit, DepositState, GatewayNotice, Outcome};
use super::withdrawals::{self, BankAccount, Withdrawal, WithdrawalState};
use super::{Money, WalletBalance, WalletLine};
use crate::accounts::AuthUser;
use crate::app::AppState;
use crate::error::Error as Refusal;
use crate::http::confirm::{is_confirmed, Carried, Confirm};
use crate::http::csrf::CsrfForm;
use crate::http::error::{Error, Result};
use crate::http::extract::MaybeUser;
use crate::http::form::FieldErrors;
use crate::http::pages::{render, Chrome};

/// How long the sandbox gateway takes in its slow mode.
pub const SANDBOX_SLOW: Duration = Duration::from_millis(2_500);

/// Routes of this room.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/wallet", get(wallet_page))
        .route("/wallet/deposits", axum::routing::post(start_top_up))
        .route("/wallet/withdrawals", axum::routing::post(withdraw))
        .route(
            "/sandbox/checkout/{reference}",
            get(checkout_page).post(checkout_answer),
        )
}

/// Sends a signed-out visitor to the login page, coming back to `path`.
pub fn login_first(path: &str) -> Response {
    Redirect::to(&format!(
        "/login?next={}",
        serde_urlencoded::to_string([("", path)])
            .map(|s| s.trim_start_matches('=').to_owned())
            .unwrap_or_default()
    ))
    .into_response()
}

/// One wallet line, ready to show.
struct Line {
    kind_key: &'static str,
    reference: String,
    amount: String,
    incoming: bool,
    at: String,
}

impl Line {
    /// A wallet line in the reader's money format and zone.
    fn new(line: WalletLine, chrome: &Chrome) -> Self {
        let incoming = line.amount.is_sign_positive();
        let amount = chrome.money(&line.amount.abs(), &line.currency);
        Line {
            kind_key: kind_key(&line.kind),
            reference: line.reference,
            incoming,
            amount: if incoming {
                format!("+{amount}")
            } else {
                format!("-{amount}")
            },
            at: chrome.moment(&line.at),
        }
    }
}

/// The catalogue key naming a journal entry kind.
pub fn kind_key(kind: &str) -> &'static str {
    match kind {
        "deposit" => "money.kind.deposit",
        "pledge_hold" => "money.kind.pledge_hold",
        "pledge_change" => "money.kind.pledge_change",
        "pledge_release" => "money.kind.pledge_release",
        "pledge_refunded" => "money.kind.pledge_refunded",
        "pledge_collected" => "money.kind.pledge_collected",
        "withdrawal" => "money.kind.withdrawal",
        "withdrawal_returned" => "money.kind.withdrawal_returned",
        "order_hold" => "money.kind.order_hold",
        "order_release" => "money.kind.order_release",
        "trade_settled" => "money.kind.trade_settled",
        _ => "money.kind.other",
    }
}

#[derive(Template)]
#[template(path = "money/wallet.html")]
struct WalletPage {
    chrome: Chrome,
    balances: Vec<WalletBalance>,
    lines: Vec<Line>,
    deposits: Vec<Deposit>,
    /// Why the top-up was refused: always about its amount (its form's one field).
    error: Option<String>,
    amount: String,
    notice: Option<String>,
    /// Whether a payment gateway runs, so that the top-up form can be offered.
    can_top_up: bool,
    /// The currency top-ups and withdrawals are made in.
    currency: String,
    withdrawals: Vec<Withdrawal>,
    withdraw: WithdrawForm,
}

/// The withdrawal form as typed, with its refusals beside their fields.
#[derive(Default)]
pub(super) struct WithdrawForm {
    pub amount: String,
    pub account: String,
    /// The form's one-time key: sending it twice makes one withdrawal.
    pub key: String,
    pub amount_error: Option<String>,
    pub account_error: Option<String>,
}

impl WithdrawForm {
    /// An empty form with a fresh key.
    pub fn fresh() -> Self {
        Self {
            key: uuid::Uuid::new_v4().simple().to_string(),
            ..Self::default()
        }
    }

    /// The form as typed, with the refusals of `errors` in the reader's language.
    pub fn refused(
        amount: &str,
        account: &str,
        key: &str,
        errors: &FieldErrors,
        chrome: &Chrome,
    ) -> Self {
        Self {
            amount: amount.to_owned(),
            account: account.to_owned(),
            key: key.to_owned(),
            amount_error: errors.text("amount", chrome.t),
            account_error: errors.text("account", chrome.t),
        }
    }

    fn has_errors(&self) -> bool {
        self.amount_error.is_some() || self.account_error.is_some()
    }
}

impl WalletPage {
    fn amount_of(&self, balance: &WalletBalance) -> String {
        self.chrome.money(&balance.balance, &balance.currency)
    }

    fn deposit_amount(&self, deposit: &Deposit) -> String {
        self.chrome.money(&deposit.amount, &deposit.currency)
    }

    fn deposit_time(&self, deposit: &Deposit) -> String {
        self.chrome.moment(&deposit.created_at)
    }

    fn withdrawal_amount(&self, withdrawal: &Withdrawal) -> String {
        self.chrome.money(&withdrawal.amount, &withdrawal.currency)
    }

    fn withdrawal_time(&self, withdrawal: &Withdrawal) -> String {
        self.chrome.moment(&withdrawal.created_at)
    }

    fn withdrawal_state_key(&self, withdrawal: &Withdrawal) -> &'static str {
        match withdrawal.state {
            WithdrawalState::Pending => "money.withdrawal_pending",
            WithdrawalState::Completed => "money.withdrawal_completed",
            WithdrawalState::Failed => "money.withdrawal_failed",
        }
    }

    fn deposit_state_key(&self, deposit: &Deposit) -> &'static str {
        match deposit.state {
            DepositState::Approved => "money.deposit_approved",
            DepositState::Declined => "money.deposit_declined",
            DepositState::Pending => "money.deposit_pending",
        }
    }
}

#[derive(Deserialize)]
struct WalletQuery {
    deposit: Option<String>,
    withdrawal: Option<String>,
}

async fn wallet_page(
    State(state): State<AppState>,
    chrome: Chrome,
    MaybeUser(user): MaybeUser,
    Query(query): Query<WalletQuery>,
) -> Result<Response> {
    let Some(user) = user else {
        return Ok(login_first("/wallet"));
    };
    let notice = match (query.deposit, sandbox(&state)) {
        (Some(reference), Some(gateway)) => provider::find_deposit(&state.db, gateway, &reference)
            .await?
            .filter(|(owner, _)| *owner == user.user.id)
            .map(|(_, d)| {
                chrome
                    .t
                    .get(match d.state {
                        DepositState::Approved => "money.notice_approved",
                        DepositState::Declined => "money.notice_declined",
                        DepositState::Pending => "money.notice_pending",
                    })
                    .to_owned()
            }),
        _ => None,
    };
    // Looked up among the reader's own withdrawals: nobody learns of another's reference.
    let owned = withdrawals::withdrawals_of(&state.db, user.user.id, WITHDRAWALS_SHOWN).await?;
    let notice = notice.or_else(|| {
        query
            .withdrawal
            .filter(|reference| owned.iter().any(|w| &w.reference == reference))
            .map(|_| chrome.t.get("money.notice_withdrawal").to_owned())
    });
    wallet_response(
        &state,
        chrome,
        user.user.id,
        None,
        String::new(),
        notice,
        WithdrawForm::fresh(),
    )
    .await
}

/// How many withdrawals the wallet page lists.
const WITHDRAWALS_SHOWN: i64 = 20;

/// The wallet page, with the top-up form's refusal (`error`, `amount`) and the withdrawal form
/// as they stand; 422 when the withdrawal form has a refusal.
pub(super) async fn wallet_response(
    state: &AppState,
    chrome: Chrome,
    user: crate::ids::UserId,
    error: Option<String>,
    amount: String,
    notice: Option<String>,
    withdraw: WithdrawForm,
) -> Result<Response> {
    let mut balances = super::wallet_balances(&state.db, user).await?;
    if balances.is_empty() {
        balances.push(WalletBalance {
            currency: state.settings.supported_currencies.default_code().into(),
            balance: rust_decimal::Decimal::ZERO,
        });
    }
    let lines = super::wallet_history(&state.db, user, 50)
        .await?
        .into_iter()
        .map(|line| Line::new(line, &chrome))
        .collect();
    let refused = withdraw.has_errors();
    let mut response = render(&WalletPage {
        withdrawals: withdrawals::withdrawals_of(&state.db, user, WITHDRAWALS_SHOWN).await?,
        withdraw,
        chrome,
        balances,
        lines,
        deposits: provider::deposits_of(&state.db, listing_gateway(state), user, 10).await?,
        error,
        amount,
        notice,
        can_top_up: sandbox(state).is_some(),
        currency: state
            .settings
            .supported_currencies
            .default_code()
            .to_owned(),
    })?;
    if refused {
        *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    Ok(response)
}

#[derive(Deserialize)]
struct TopUpFields {
    amount: String,
}

async fn start_top_up(
    State(state): State<AppState>,
    chrome: Chrome,
    MaybeUser(user): MaybeUser,
    CsrfForm(form): CsrfForm<TopUpFields>,
) -> Result<Response> {
    let Some(user) = user else {
        return Ok(login_first("/wallet"));
    };
    let started = async {
        let gateway = gateway_for_top_ups(&state)?;
        let amount: Money = Money::parse(&form.amount)?;
        provider::start_deposit(
            &state.db,
            gateway,
            deposit_limits(&state.settings),
            user.user.id,
            amount,
            state.settings.supported_currencies.default_code(),
        )
        .await
        .map_err(Error::from)
    };
    match started.await {
        Ok(deposit) => Ok(
            Redirect::to(&deposit.checkout_url.unwrap_or_else(|| "/wallet".into())).into_response(),
        ),
        Err(e @ (Error::Database(_) | Error::Internal(_))) => Err(e),
        Err(e) => {
            let message = e.message().in_lang(chrome.t);
            let mut response = wallet_response(
                &state,
                chrome,
                user.user.id,
                Some(message),
                form.amount,
                None,
                WithdrawForm::fresh(),
            )
            .await?;
            *response.status_mut() = e.status_code();
            Ok(response)
        }
    }
}

#[derive(Deserialize)]
struct WithdrawFields {
    #[serde(default)]
    amount: String,
    #[serde(default)]
    account: String,
    #[serde(default)]
    key: String,
    #[serde(default)]
    confirm: Option<String>,
}

/// The confirmation of a withdrawal: what leaves the wallet, and to which account.
fn withdraw_confirmation(
    chrome: Chrome,
    fields: &WithdrawFields,
    request: &withdrawals::WithdrawalRequest,
) -> Confirm {
    let t = chrome.t;
    let amount = chrome.money(&request.amount.value(), &request.currency);
    let account = request.account.masked();
    Confirm {
        heading: t.get("confirm.withdrawal.heading").to_owned(),
        subject: t.fill("money.withdrawal_to", &[("account", &account)]),
        consequence: t.fill(
            "confirm.withdrawal.consequence",
            &[("amount", &amount), ("account", &account)],
        ),
        action: "/wallet/withdrawals".into(),
        fields: vec![
            Carried::shown("amount", t.get("money.amount"), &fields.amount),
            Carried::hidden("account", &fields.account),
            Carried::hidden("key", &fields.key),
        ],
        back: "/wallet#withdraw-form".into(),
        danger: true,
        chrome,
    }
}

/// The withdrawal form: refusals beside their fields, then a confirmation, then the withdrawal
/// (its one-time key makes a second submission answer the first withdrawal).
async fn withdraw(
    State(state): State<AppState>,
    chrome: Chrome,
    MaybeUser(user): MaybeUser,
    CsrfForm(form): CsrfForm<WithdrawFields>,
) -> Result<Response> {
    let Some(user) = user else {
        return Ok(login_first("/wallet"));
    };
    let user = user.user.id;
    let gateway = gateway_for_withdrawals(&state)?;
    let key = withdrawals::WithdrawalKey::parse(&form.key)?;
    let mut errors = FieldErrors::new();
    let amount = errors.check("amount", Money::parse(&form.amount))?;
    let account = errors.check("account", BankAccount::parse(&form.account))?;
    let (Some(amount), Some(account)) = (amount, account) else {
        let refused =
            WithdrawForm::refused(&form.amount, &form.account, &form.key, &errors, &chrome);
        return wallet_response(&state, chrome, user, None, String::new(), None, refused).await;
    };
    let request = withdrawals::WithdrawalRequest {
        amount,
        currency: state
            .settings
            .supported_currencies
            .default_code()
            .to_owned(),
        account,
    };
    if !is_confirmed(form.confirm.as_deref()) {
        return withdraw_confirmation(chrome, &form, &request).respond();
    }
    let (status, message) =
        match withdrawals::start(&state.db, gateway, user, &request, Some(&key)).await {
            Ok(started) => {
                start_payout(&state, &started, &request.account);
                let reference = &started.withdrawal.reference;
                let to = format!("/wallet?withdrawal={reference}#withdrawals");
                return Ok(Redirect::to(&to).into_response());
            }
            // Insufficient funds, or the form's key used for another amount: told beside the
            // amount.
            Err(Refusal::Conflict(message)) => (StatusCode::CONFLICT, message),
            Err(Refusal::Invalid(message)) => (StatusCode::UNPROCESSABLE_ENTITY, message),
            Err(other) => return Err(other.into()),
        };
    errors.add("amount", message);
    let refused = WithdrawForm::refused(&form.amount, &form.account, &form.key, &errors, &chrome);
    let mut response =
        wallet_response(&state, chrome, user, None, String::new(), None, refused).await?;
    *response.status_mut() = status;
    Ok(response)
}

#[derive(Template)]
#[template(path = "money/checkout.html")]
struct CheckoutPage {
    chrome: Chrome,
    deposit: Deposit,
    amount: String,
}

/// The deposit behind a checkout, when the visitor is the one who started it: nobody else may
/// see or answer someone's checkout (a stranger is told it does not exist).
async fn own_deposit(state: &AppState, user: &AuthUser, reference: &str) -> Result<Deposit> {
    let gateway = sandbox(state).ok_or(Error::NotFound)?;
    match provider::find_deposit(&state.db, gateway, reference).await? {
        Some((owner, deposit)) if owner == user.user.id => Ok(deposit),
        _ => Err(Error::NotFound),
    }
}

async fn checkout_page(
    State(state): State<AppState>,
    chrome: Chrome,
    MaybeUser(user): MaybeUser,
    Path(reference): Path<String>,
) -> Result<Response> {
    let Some(user) = user else {
        return Ok(login_first(&format!("/sandbox/checkout/{reference}")));
    };
    let deposit = own_deposit(&state, &user, &reference).await?;
    if deposit.state != DepositState::Pending {
        return Ok(Redirect::to(&format!("/wallet?deposit={reference}")).into_response());
    }
    let amount = chrome.money(&deposit.amount, &deposit.currency);
    render(&CheckoutPage {
        chrome,
        deposit,
        amount,
    })
}

#[derive(Deserialize)]
struct AnswerFields {
    answer: String,
}

/// The sandbox gateway at work: it answers as the payer asked, by a signed callback to this
/// server, exactly as an outside gateway would.
async fn checkout_answer(
    State(state): State<AppState>,
    MaybeUser(user): MaybeUser,
    Path(reference): Path<String>,
    CsrfForm(form): CsrfForm<AnswerFields>,
) -> Result<Response> {
    let user = user.ok_or(Error::Unauthorized)?;
    own_deposit(&state, &user, &reference).await?;
    let gateway = sandbox(&state).ok_or(Error::NotFound)?;
    let (outcome, delay, repeats) = match form.answer.as_str() {
        "approve" => (Some(Outcome::Approved), None, 1),
        "decline" => (Some(Outcome::Declined), None, 1),
        // A slow gateway answers late and, as real ones do after a timeout, twice.
        "slow" => (Some(Outcome::Approved), Some(SANDBOX_SLOW), 2),
        // A gateway that never answers: the deposit stays pending and nothing is credited.
        "timeout" => (None, None, 0),
        _ => return Err(Error::bad_request("error.bad_form")),
    };
    if let Some(delay) = delay {
        tokio::time::sleep(delay).await;
    }
    if let Some(outcome) = outcome {
        let (body, timestamp, signature) = gateway.signed_notice(&GatewayNotice {
            reference: reference.clone(),
            outcome,
        });
        let callback = provider::Callback {
            body: &body,
            timestamp: &timestamp,
            signature: &signature,
        };
        for _ in 0..repeats {
            provider::handle_callback(&state.db, gateway, callback).await?;
        }
    }
    Ok(Redirect::to(&format!("/wallet?deposit={reference}")).into_response())
}
