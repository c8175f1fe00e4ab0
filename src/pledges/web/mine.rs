//! `/me/pledges`, and changing or cancelling a pledge in the browser.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;
use time::OffsetDateTime;

use super::form::{chosen_tier, record_refusal, tier_choices, Offering, TierChoice};
use crate::accounts::AuthUser;
use crate::app::AppState;
use crate::error::{Error as Refusal, Message};
use crate::http::confirm::{Confirm, ConfirmOnly};
use crate::http::csrf::CsrfForm;
use crate::http::error::{Error, Result};
use crate::http::extract::{MaybeUser, Path};
use crate::http::form::FieldErrors;
use crate::http::pages::{render, with_notice, Chrome};
use crate::i18n::format::money;
use crate::ids::{PledgeId, TierId};
use crate::money::amount::fixed;
use crate::money::pages::login_first;
use crate::money::Money;
use crate::pledges::limits::Shares;
use crate::pledges::{self, PledgeChange, PledgeState, PledgeView};
use crate::projects::capacity;
use crate::projects::ProjectKind;

/// Routes of the backer's list and its forms.
pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/me/pledges", get(mine))
        .route("/pledges/{id}/cancel", post(cancel))
        .route("/pledges/{id}/change", get(change_form).post(change))
}

/// A pledge as the backer's list shows it.
struct Row {
    id: String,
    project_id: String,
    project_title: String,
    what: String,
    amount: String,
    state: &'static str,
    state_key: &'static str,
    until: String,
    changeable: bool,
    /// Collected or refunded: it has a receipt on the ledger.
    settled: bool,
    created: String,
}

fn row(view: PledgeView, now: OffsetDateTime, chrome: &Chrome) -> Row {
    let t = chrome.t;
    let p = &view.pledge;
    let changeable =
        p.state == PledgeState::Active && view.changeable_until.is_some_and(|u| now < u);
    let what = match (&view.tier_title, p.shares) {
        (_, Some(shares)) => t.fill("pledges.n_shares", &[("n", &shares.to_string())]),
        (Some(title), None) => title.clone(),
        (None, None) => t.get("pledges.no_reward").to_owned(),
    };
    // The amount holds the reward, its add-ons and its shipping: say what is in it.
    let mut what = what;
    for (key, part) in [
        ("addons.in_pledge", p.addons_price),
        ("shipping.in_pledge", p.shipping_price),
    ] {
        if !part.is_zero() {
            let part = chrome.money(&part, &p.currency);
            what.push_str(" · ");
            what.push_str(&t.fill(key, &[("amount", &part)]));
        }
    }
    Row {
        id: p.id.to_string(),
        project_id: p.project_id.to_string(),
        project_title: view.project_title.clone(),
        what,
        amount: chrome.money(&p.amount, &p.currency),
        state: p.state.as_str(),
        state_key: match p.state {
            PledgeState::Active => "pledges.state.active",
            PledgeState::Cancelled => "pledges.state.cancelled",
            PledgeState::Collected => "pledges.state.collected",
            PledgeState::Refunded => "pledges.state.refunded",
        },
        until: view
            .changeable_until
            .map(|u| chrome.moment(&u))
            .unwrap_or_default(),
        changeable,
        settled: matches!(p.state, PledgeState::Collected | PledgeState::Refunded),
        created: chrome.moment(&p.created_at),
    }
}

#[derive(Template)]
#[template(path = "pledges/mine.html")]
struct MinePage {
    chrome: Chrome,
    rows: Vec<Row>,
    error: Option<String>,
}

async fn mine_page(
    state: &AppState,
    chrome: Chrome,
    user: &AuthUser,
    error: Option<String>,
) -> Result<Response> {
    let now = OffsetDateTime::now_utc();
    let rows = pledges::for_backer(&state.db, user.user.id)
        .await?
        .into_iter()
        .map(|v| row(v, now, &chrome))
        .collect();
    render(&MinePage {
        chrome,
        rows,
        error,
    })
}

async fn mine(
    State(state): State<AppState>,
    chrome: Chrome,
    MaybeUser(user): MaybeUser,
) -> Result<Response> {
    let Some(user) = user else {
        return Ok(login_first("/me/pledges"));
    };
    mine_page(&state, chrome, &user, None).await
}

/// `POST /pledges/{id}/cancel`: asks first (a confirmation page re-posting with `confirm=yes`),
/// then cancels the pledge and returns its money to the wallet.
async fn cancel(
    State(state): State<AppState>,
    chrome: Chrome,
    MaybeUser(user): MaybeUser,
    Path(id): Path<PledgeId>,
    CsrfForm(form): CsrfForm<ConfirmOnly>,
) -> Result<Response> {
    let Some(user) = user else {
        return Ok(login_first("/me/pledges"));
    };
    if !form.confirmed() {
        let view = pledges::for_backer(&state.db, user.user.id)
            .await?
            .into_iter()
            .find(|v| v.pledge.id == id)
            .ok_or(Error::NotFound)?;
        let t = chrome.t;
        let amount = money(chrome.lang, view.pledge.amount, &view.pledge.currency);
        return Confirm {
            heading: t.get("confirm.pledge_cancel.heading").to_owned(),
            subject: view.project_title.clone(),
            consequence: t.fill("confirm.pledge_cancel.consequence", &[("amount", &amount)]),
            action: format!("/pledges/{id}/cancel"),
            fields: Vec::new(),
            back: "/me/pledges".to_owned(),
            danger: true,
            chrome,
        }
        .respond();
    }
    match pledges::cancel(&state.db, user.user.id, id)
        .await
        .map_err(Error::from)
    {
        Ok(_) => Ok(Redirect::to(&with_notice("/me/pledges", "pledge_cancelled")).into_response()),
        Err(e @ Error::Conflict(_)) => {
            let message = e.message().in_lang(chrome.t);
            let mut response = mine_page(&state, chrome, &user, Some(message)).await?;
            *response.status_mut() = e.status_code();
            Ok(response)
        }
        Err(e) => Err(e),
    }
}

#[derive(Template)]
#[template(path = "pledges/change.html")]
struct ChangePage {
    chrome: Chrome,
    pledge_id: String,
    title: String,
    currency: String,
    is_equity: bool,
    tiers: Vec<TierChoice>,
    no_reward_checked: bool,
    amount: String,
    shares: String,
    offering: Option<Offering>,
    /// Where the reward ships, for its backer's eyes (kept by a change).
    address: Option<String>,
    /// Every refusal of the last submit, by field (`form` for the change as a whole).
    errors: FieldErrors,
}

impl ChangePage {
    /// The refusal of `field` in the reader's language, to show beside it.
    fn error(&self, field: &str) -> Option<String> {
        self.errors.text(field, self.chrome.t)
    }
}

#[derive(Debug, Default, Deserialize)]
struct ChangeFields {
    tier: Option<String>,
    #[serde(default)]
    amount: String,
    #[serde(default)]
    shares: String,
}

async fn change_page(
    state: &AppState,
    chrome: Chrome,
    user: &AuthUser,
    id: PledgeId,
    fields: Option<ChangeFields>,
    errors: FieldErrors,
) -> Result<Response> {
    let pledge = pledges::find(&state.db, id)
        .await?
        .filter(|p| p.backer_id == user.user.id)
        .ok_or(Error::NotFound)?;
    let target = capacity::pledge_target_in(&state.db, pledge.project_id, chrome.lang)
        .await?
        .ok_or(Error::NotFound)?;
    let tiers = capacity::tiers_in(&state.db, target.id, chrome.lang).await?;
    let offering = capacity::offering(&state.db, target.id).await?;
    let fields = fields.unwrap_or_else(|| ChangeFields {
        tier: Some(
            pledge
                .tier_id
                .map(|t| t.to_string())
                .unwrap_or_else(|| "none".into()),
        ),
        amount: fixed(pledge.reward_part()),
        shares: pledge.shares.map(|s| s.to_string()).unwrap_or_default(),
    });
    let chosen = chosen_tier(fields.tier.as_deref());
    let address = match pledge.shipping_region {
        Some(_) => pledges::extras::address_of(&state.db, id).await?,
        None => None,
    };
    render(&ChangePage {
        address,
        pledge_id: id.to_string(),
        title: target.title.clone(),
        is_equity: target.kind == ProjectKind::Equity,
        tiers: tier_choices(&tiers, chosen, &target.currency, &chrome),
        no_reward_checked: chosen.is_none(),
        amount: fields.amount,
        shares: fields.shares,
        offering: offering
            .as_ref()
            .map(|o| Offering::new(o, &target.currency, &chrome)),
        currency: target.currency.clone(),
        errors,
        chrome,
    })
}

async fn change_form(
    State(state): State<AppState>,
    chrome: Chrome,
    MaybeUser(user): MaybeUser,
    Path(id): Path<PledgeId>,
) -> Result<Response> {
    let Some(user) = user else {
        return Ok(login_first("/me/pledges"));
    };
    change_page(&state, chrome, &user, id, None, FieldErrors::new()).await
}

/// The change the form asks for, with every refusal of its fields recorded in `errors` (then
/// `None`).
fn change_request(
    is_equity: bool,
    fields: &ChangeFields,
    errors: &mut FieldErrors,
) -> std::result::Result<Option<PledgeChange>, Refusal> {
    if is_equity {
        let shares = errors.check("shares", Shares::parse(&fields.shares))?;
        return Ok(shares.map(|shares| PledgeChange::Equity { shares }));
    }
    let tier = match fields.tier.as_deref() {
        None | Some("none") | Some("") => Some(None),
        Some(raw) => match raw.parse::<TierId>() {
            Ok(tier) => Some(Some(tier)),
            Err(_) => {
                errors.add("tier", Message::Key("pledges.error.unknown_tier"));
                None
            }
        },
    };
    let amount = errors.check("amount", Money::parse(&fields.amount))?;
    Ok(match (tier, amount) {
        (Some(tier), Some(amount)) => Some(PledgeChange::Reward { tier, amount }),
        _ => None,
    })
}

async fn change(
    State(state): State<AppState>,
    chrome: Chrome,
    MaybeUser(user): MaybeUser,
    Path(id): Path<PledgeId>,
    CsrfForm(fields): CsrfForm<ChangeFields>,
) -> Result<Response> {
    let Some(user) = user else {
        return Ok(login_first("/me/pledges"));
    };
    let current = pledges::find(&state.db, id)
        .await?
        .filter(|p| p.backer_id == user.user.id)
        .ok_or(Error::NotFound)?;
    let mut errors = FieldErrors::new();
    let status = match change_request(current.shares.is_some(), &fields, &mut errors)? {
        None => StatusCode::UNPROCESSABLE_ENTITY,
        Some(change) => match pledges::change(
            &state.db,
            &state.settings.investor_limit_rule,
            user.user.id,
            id,
            &change,
        )
        .await
        {
            Ok(_) => {
                return Ok(
                    Redirect::to(&with_notice("/me/pledges", "pledge_changed")).into_response()
                )
            }
            Err(refusal) => record_refusal(&mut errors, refusal)?,
        },
    };
    let mut response = change_page(&state, chrome, &user, id, Some(fields), errors).await?;
    *response.status_mut() = status;
    Ok(response)
}
