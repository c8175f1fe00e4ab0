//! `/projects/{id}/pledge`: the pledge form and what it sends, and the tier and offering
//! pieces the change form shares.

use askama::Template;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use rust_decimal::Decimal;
use serde::Deserialize;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::accounts::domain::Role;
use crate::accounts::AuthUser;
use crate::app::AppState;
use crate::http::csrf::CsrfForm;
use crate::http::error::{Error, Message, Result};
use crate::http::extract::{MaybeUser, Path};
use crate::http::pages::{render, Chrome};
use crate::ids::{ProjectId, TierId};
use crate::money::amount::fixed;
use crate::money::pages::{login_first, short_time};
use crate::money::{self, AccountOwner, Money};
use crate::pledges::limits::{DeclaredAmount, Shares};
use crate::pledges::{self, EquityRequest, PledgeRequest, RequestKey};
use crate::projects::capacity::{self, OfferingTerms, PledgeTarget, TierOffer};
use crate::projects::ProjectKind;

/// Routes of the pledge form.
pub(super) fn routes() -> Router<AppState> {
    Router::new().route("/projects/{id}/pledge", get(pledge_form).post(pledge))
}

/// A tier as the form shows it.
pub(super) struct TierChoice {
    pub(super) id: String,
    pub(super) title: String,
    pub(super) description: String,
    pub(super) price: String,
    pub(super) left: Option<String>,
    pub(super) sold_out: bool,
    pub(super) checked: bool,
}

pub(super) fn tier_choices(
    tiers: &[TierOffer],
    chosen: Option<TierId>,
    t: &crate::i18n::Catalogue,
) -> Vec<TierChoice> {
    let catalogue = t;
    tiers
        .iter()
        .map(|t| TierChoice {
            id: t.id.to_string(),
            title: t.title.clone(),
            description: t.description.clone(),
            price: fixed(t.price),
            left: t
                .remaining()
                .map(|n| catalogue.fill("pledges.left", &[("n", &n.to_string())])),
            sold_out: t.remaining() == Some(0) && Some(t.id) != chosen,
            checked: Some(t.id) == chosen,
        })
        .collect()
}

/// An offering as the form shows it.
pub(super) struct Offering {
    pub(super) price: String,
    pub(super) min_per_investor: i64,
    pub(super) remaining: i64,
    pub(super) investors_left: i32,
    pub(super) risk_warning: String,
}

impl From<&OfferingTerms> for Offering {
    fn from(t: &OfferingTerms) -> Self {
        Offering {
            price: fixed(t.price_per_share),
            min_per_investor: t.min_shares_per_investor,
            remaining: t.remaining(),
            investors_left: (t.max_investors - t.investor_count).max(0),
            risk_warning: t.risk_warning.clone(),
        }
    }
}

#[derive(Template)]
#[template(path = "pledges/new.html")]
struct PledgePage {
    chrome: Chrome,
    project_id: String,
    title: String,
    currency: String,
    is_equity: bool,
    open: bool,
    /// Why it takes no pledges (when it opens, if it is scheduled); empty while open.
    closed_message: String,
    deadline: String,
    tiers: Vec<TierChoice>,
    no_reward_checked: bool,
    offering: Option<Offering>,
    balance: String,
    existing: Option<String>,
    key: String,
    error: Option<String>,
    extra: String,
    amount: String,
    shares: String,
    annual_income: String,
    net_worth: String,
    limit: Option<String>,
}

/// What the person typed, kept when the form comes back with an error.
#[derive(Debug, Default, Deserialize)]
struct PledgeFields {
    key: String,
    tier: Option<String>,
    #[serde(default)]
    extra: String,
    #[serde(default)]
    amount: String,
    #[serde(default)]
    shares: String,
    acknowledge_risk: Option<String>,
    #[serde(default)]
    annual_income: String,
    #[serde(default)]
    net_worth: String,
}

/// The project, if `viewer` may see it (the projects room's one rule); 404 otherwise.
async fn load_target(
    state: &AppState,
    project: ProjectId,
    viewer: Option<&AuthUser>,
) -> Result<PledgeTarget> {
    Ok(crate::projects::visible_target(&state.db, project, viewer).await?)
}

/// A tier field as sent: a tier's id, or nothing (`none` or empty) for no reward. Anything else
/// names no tier.
pub(super) fn chosen_tier(raw: Option<&str>) -> Option<TierId> {
    raw.and_then(|t| t.parse().ok())
}

async fn pledge_page(
    state: &AppState,
    chrome: Chrome,
    user: &AuthUser,
    target: PledgeTarget,
    fields: PledgeFields,
    error: Option<String>,
) -> Result<Response> {
    let tiers = capacity::tiers(&state.db, target.id).await?;
    let offering = capacity::offering(&state.db, target.id).await?;
    let balance = money::balance_of(
        &state.db,
        AccountOwner::BackerWallet(user.user.id),
        &target.currency,
    )
    .await?;
    let existing = pledges::active_pledge_of(&state.db, user.user.id, target.id).await?;
    let profile = pledges::declared_profile(&state.db, user.user.id).await?;
    let chosen = chosen_tier(fields.tier.as_deref());
    let (annual_income, net_worth) = match (&fields.annual_income, &fields.net_worth, profile) {
        (i, n, Some(p)) if i.is_empty() && n.is_empty() => {
            (fixed(p.annual_income), fixed(p.net_worth))
        }
        (i, n, _) => (i.clone(), n.clone()),
    };
    let rule = &state.settings.investor_limit_rule;
    let limit = profile.map(|p| fixed(rule.limit(p.annual_income, p.net_worth)));
    let key = if fields.key.is_empty() {
        Uuid::new_v4().to_string()
    } else {
        fields.key.clone()
    };
    let closed_message = match target.check_open(OffsetDateTime::now_utc()) {
        Ok(()) => String::new(),
        Err(e) => e.message().in_lang(chrome.t),
    };
    let mut response = render(&PledgePage {
        project_id: target.id.to_string(),
        title: target.title.clone(),
        currency: target.currency.clone(),
        is_equity: target.kind == ProjectKind::Equity,
        open: closed_message.is_empty(),
        closed_message,
        deadline: target.deadline.map(short_time).unwrap_or_default(),
        no_reward_checked: fields.tier.as_deref() == Some("none"),
        tiers: tier_choices(&tiers, chosen, chrome.t),
        offering: offering.as_ref().map(Offering::from),
        balance: fixed(balance),
        existing: existing.map(|e| e.to_string()),
        key,
        error,
        extra: fields.extra,
        amount: fields.amount,
        shares: fields.shares,
        annual_income,
        net_worth,
        limit,
        chrome,
    })?;
    if response.status().is_success() {
        // Each rendering carries a fresh one-time key; never serve it from a cache.
        response.headers_mut().insert(
            axum::http::header::CACHE_CONTROL,
            axum::http::HeaderValue::from_static("no-store"),
        );
    }
    Ok(response)
}

async fn pledge_form(
    State(state): State<AppState>,
    chrome: Chrome,
    MaybeUser(user): MaybeUser,
    Path(id): Path<ProjectId>,
) -> Result<Response> {
    let target = load_target(&state, id, user.as_ref()).await?;
    let Some(user) = user else {
        return Ok(login_first(&format!("/projects/{id}/pledge")));
    };
    if !user.user.has_role(Role::Backer) {
        return Err(Error::Forbidden);
    }
    pledge_page(&state, chrome, &user, target, PledgeFields::default(), None).await
}

fn form_request(
    target: &PledgeTarget,
    tiers: &[TierOffer],
    f: &PledgeFields,
) -> Result<PledgeRequest> {
    let optional_money = |raw: &str| -> Result<Option<Decimal>> {
        if raw.trim().is_empty() {
            Ok(None)
        } else {
            Ok(Money::parse(raw).map(|m| Some(m.value()))?)
        }
    };
    match target.kind {
        ProjectKind::Reward => {
            let tier = match f.tier.as_deref() {
                None | Some("none") | Some("") => None,
                Some(raw) => Some(tiers.iter().find(|t| t.id.to_string() == raw).ok_or(
                    Error::Unprocessable(Message::Key("pledges.error.unknown_tier")),
                )?),
            };
            let amount = match tier {
                Some(t) => t.price + optional_money(&f.extra)?.unwrap_or_default(),
                None => optional_money(&f.amount)?.ok_or(Error::Unprocessable(Message::Key(
                    "pledges.error.amount_missing",
                )))?,
            };
            Ok(PledgeRequest::Reward {
                tier: tier.map(|t| t.id),
                amount: Money::try_from(amount)?,
            })
        }
        ProjectKind::Equity => {
            let declared = |raw: &str| DeclaredAmount::parse(raw).map(DeclaredAmount::value);
            Ok(PledgeRequest::Equity(EquityRequest {
                shares: Shares::parse(&f.shares)?,
                risk_acknowledged: f.acknowledge_risk.is_some(),
                declaration: Some((declared(&f.annual_income)?, declared(&f.net_worth)?)),
            }))
        }
    }
}

async fn pledge(
    State(state): State<AppState>,
    chrome: Chrome,
    MaybeUser(user): MaybeUser,
    Path(id): Path<ProjectId>,
    CsrfForm(fields): CsrfForm<PledgeFields>,
) -> Result<Response> {
    let target = load_target(&state, id, user.as_ref()).await?;
    let Some(user) = user else {
        return Ok(login_first(&format!("/projects/{id}/pledge")));
    };
    if !user.user.has_role(Role::Backer) {
        return Err(Error::Forbidden);
    }
    let tiers = capacity::tiers(&state.db, target.id).await?;
    let attempt = async {
        let key = RequestKey::parse(&fields.key)?;
        let request = form_request(&target, &tiers, &fields)?;
        state
            .pledge_desk
            .create(user.user.id, target.id, &request, Some(&key))
            .await
            .map_err(Error::from)
    }
    .await;
    match attempt {
        Ok(created) => {
            Ok(Redirect::to(&format!("/me/pledges?made={}", created.pledge.id)).into_response())
        }
        Err(e) if e.status_code().is_client_error() => {
            let status = e.status_code();
            let message = e.message().in_lang(chrome.t);
            let mut response =
                pledge_page(&state, chrome, &user, target, fields, Some(message)).await?;
            *response.status_mut() = status;
            Ok(response)
        }
        Err(e) => Err(e),
    }
}
