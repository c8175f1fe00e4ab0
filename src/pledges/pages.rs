//! `/projects/{id}/pledge`, `/me/pledges` and changing or cancelling a pledge in the browser.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use rust_decimal::Decimal;
use serde::Deserialize;
use time::OffsetDateTime;
use uuid::Uuid;

use super::api::parse_id;
use super::limits::{DeclaredAmount, Shares};
use super::{
    EquityRequest, PledgeChange, PledgeId, PledgeRequest, PledgeState, PledgeView, RequestKey,
};
use crate::accounts::domain::Role;
use crate::accounts::AuthUser;
use crate::app::AppState;
use crate::http::csrf::CsrfForm;
use crate::http::error::{Error, Message, Result};
use crate::http::extract::MaybeUser;
use crate::http::pages::{render, Chrome};
use crate::money::amount::fixed;
use crate::money::pages::{login_first, short_time};
use crate::money::{self, AccountOwner, Money};
use crate::projects::capacity::{self, OfferingTerms, PledgeTarget, TierOffer};
use crate::projects::{ProjectId, ProjectKind, TierId};

/// Routes of this room.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/projects/{id}/pledge", get(pledge_form).post(pledge))
        .route("/me/pledges", get(mine))
        .route("/pledges/{id}/cancel", post(cancel))
        .route("/pledges/{id}/change", get(change_form).post(change))
        .merge(super::founder::routes())
}

/// A tier as the form shows it.
struct TierChoice {
    id: String,
    title: String,
    description: String,
    price: String,
    left: Option<String>,
    sold_out: bool,
    checked: bool,
}

fn tier_choices(
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
struct Offering {
    price: String,
    min_per_investor: i64,
    remaining: i64,
    investors_left: i32,
    risk_warning: String,
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
    id: &str,
    viewer: Option<&AuthUser>,
) -> Result<PledgeTarget> {
    let project = ProjectId(parse_id(id)?);
    Ok(crate::projects::visible_target(&state.db, project, viewer).await?)
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
    let existing: Option<Uuid> = sqlx::query_scalar(
        "SELECT id FROM pledges WHERE project_id = $1 AND backer_id = $2 AND state = 'active'",
    )
    .bind(target.id.0)
    .bind(user.user.id.0)
    .fetch_optional(&state.db)
    .await?;
    let profile: Option<(Decimal, Decimal)> =
        sqlx::query_as("SELECT annual_income, net_worth FROM investor_profiles WHERE user_id = $1")
            .bind(user.user.id.0)
            .fetch_optional(&state.db)
            .await?;
    let chosen = fields
        .tier
        .as_deref()
        .and_then(|t| Uuid::parse_str(t).ok())
        .map(TierId);
    let (annual_income, net_worth) = match (&fields.annual_income, &fields.net_worth, profile) {
        (i, n, Some((pi, pn))) if i.is_empty() && n.is_empty() => (fixed(pi), fixed(pn)),
        (i, n, _) => (i.clone(), n.clone()),
    };
    let rule = &state.settings.investor_limit_rule;
    let limit = profile.map(|(i, n)| fixed(rule.limit(i, n)));
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
    Path(id): Path<String>,
) -> Result<Response> {
    let target = load_target(&state, &id, user.as_ref()).await?;
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
    Path(id): Path<String>,
    CsrfForm(fields): CsrfForm<PledgeFields>,
) -> Result<Response> {
    let target = load_target(&state, &id, user.as_ref()).await?;
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

/// A pledge as the backer's list shows it.
struct Row {
    id: String,
    project_id: String,
    project_title: String,
    what: String,
    amount: String,
    currency: String,
    state: &'static str,
    state_key: &'static str,
    until: String,
    changeable: bool,
    created: String,
}

fn row(view: PledgeView, now: OffsetDateTime, t: &crate::i18n::Catalogue) -> Row {
    let p = &view.pledge;
    let changeable =
        p.state == PledgeState::Active && view.changeable_until.is_some_and(|u| now < u);
    let what = match (&view.tier_title, p.shares) {
        (_, Some(shares)) => t.fill("pledges.n_shares", &[("n", &shares.to_string())]),
        (Some(title), None) => title.clone(),
        (None, None) => t.get("pledges.no_reward").to_owned(),
    };
    Row {
        id: p.id.to_string(),
        project_id: p.project_id.to_string(),
        project_title: view.project_title.clone(),
        what,
        amount: fixed(p.amount),
        currency: p.currency.clone(),
        state: p.state.as_str(),
        state_key: match p.state {
            PledgeState::Active => "pledges.state.active",
            PledgeState::Cancelled => "pledges.state.cancelled",
            PledgeState::Collected => "pledges.state.collected",
            PledgeState::Refunded => "pledges.state.refunded",
        },
        until: view.changeable_until.map(short_time).unwrap_or_default(),
        changeable,
        created: short_time(p.created_at),
    }
}

#[derive(Template)]
#[template(path = "pledges/mine.html")]
struct MinePage {
    chrome: Chrome,
    rows: Vec<Row>,
    notice: Option<String>,
    error: Option<String>,
}

#[derive(Deserialize)]
struct MineQuery {
    made: Option<String>,
    cancelled: Option<String>,
    changed: Option<String>,
}

async fn mine_page(
    state: &AppState,
    chrome: Chrome,
    user: &AuthUser,
    notice: Option<String>,
    error: Option<String>,
) -> Result<Response> {
    let now = OffsetDateTime::now_utc();
    let rows = super::for_backer(&state.db, user.user.id)
        .await?
        .into_iter()
        .map(|v| row(v, now, chrome.t))
        .collect();
    render(&MinePage {
        chrome,
        rows,
        notice,
        error,
    })
}

async fn mine(
    State(state): State<AppState>,
    chrome: Chrome,
    MaybeUser(user): MaybeUser,
    Query(query): Query<MineQuery>,
) -> Result<Response> {
    let Some(user) = user else {
        return Ok(login_first("/me/pledges"));
    };
    let notice = if query.made.is_some() {
        Some(chrome.t.get("pledges.notice_made").to_owned())
    } else if query.cancelled.is_some() {
        Some(chrome.t.get("pledges.notice_cancelled").to_owned())
    } else if query.changed.is_some() {
        Some(chrome.t.get("pledges.notice_changed").to_owned())
    } else {
        None
    };
    mine_page(&state, chrome, &user, notice, None).await
}

#[derive(Deserialize)]
struct Empty {}

async fn cancel(
    State(state): State<AppState>,
    chrome: Chrome,
    MaybeUser(user): MaybeUser,
    Path(id): Path<String>,
    CsrfForm(_): CsrfForm<Empty>,
) -> Result<Response> {
    let Some(user) = user else {
        return Ok(login_first("/me/pledges"));
    };
    let id = PledgeId(parse_id(&id)?);
    match super::cancel(&state.db, user.user.id, id)
        .await
        .map_err(Error::from)
    {
        Ok(_) => Ok(Redirect::to(&format!("/me/pledges?cancelled={id}")).into_response()),
        Err(e @ Error::Conflict(_)) => {
            let message = e.message().in_lang(chrome.t);
            let mut response = mine_page(&state, chrome, &user, None, Some(message)).await?;
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
    error: Option<String>,
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
    error: Option<String>,
) -> Result<Response> {
    let pledge = super::find(&state.db, id)
        .await?
        .filter(|p| p.backer_id == user.user.id)
        .ok_or(Error::NotFound)?;
    let target = capacity::pledge_target(&state.db, pledge.project_id)
        .await?
        .ok_or(Error::NotFound)?;
    let tiers = capacity::tiers(&state.db, target.id).await?;
    let offering = capacity::offering(&state.db, target.id).await?;
    let fields = fields.unwrap_or_else(|| ChangeFields {
        tier: Some(
            pledge
                .tier_id
                .map(|t| t.to_string())
                .unwrap_or_else(|| "none".into()),
        ),
        amount: fixed(pledge.amount),
        shares: pledge.shares.map(|s| s.to_string()).unwrap_or_default(),
    });
    let chosen = fields
        .tier
        .as_deref()
        .and_then(|t| Uuid::parse_str(t).ok())
        .map(TierId);
    render(&ChangePage {
        pledge_id: id.to_string(),
        title: target.title.clone(),
        currency: target.currency.clone(),
        is_equity: target.kind == ProjectKind::Equity,
        tiers: tier_choices(&tiers, chosen, chrome.t),
        no_reward_checked: chosen.is_none(),
        amount: fields.amount,
        shares: fields.shares,
        offering: offering.as_ref().map(Offering::from),
        error,
        chrome,
    })
}

async fn change_form(
    State(state): State<AppState>,
    chrome: Chrome,
    MaybeUser(user): MaybeUser,
    Path(id): Path<String>,
) -> Result<Response> {
    let Some(user) = user else {
        return Ok(login_first("/me/pledges"));
    };
    let id = PledgeId(parse_id(&id)?);
    change_page(&state, chrome, &user, id, None, None).await
}

async fn change(
    State(state): State<AppState>,
    chrome: Chrome,
    MaybeUser(user): MaybeUser,
    Path(id): Path<String>,
    CsrfForm(fields): CsrfForm<ChangeFields>,
) -> Result<Response> {
    let Some(user) = user else {
        return Ok(login_first("/me/pledges"));
    };
    let id = PledgeId(parse_id(&id)?);
    let attempt = async {
        let current = super::find(&state.db, id)
            .await?
            .filter(|p| p.backer_id == user.user.id)
            .ok_or(Error::NotFound)?;
        let change = if current.shares.is_some() {
            PledgeChange::Equity {
                shares: Shares::parse(&fields.shares)?,
            }
        } else {
            let tier = match fields.tier.as_deref() {
                None | Some("none") | Some("") => None,
                Some(raw) => Some(TierId(Uuid::parse_str(raw).map_err(|_| {
                    Error::Unprocessable(Message::Key("pledges.error.unknown_tier"))
                })?)),
            };
            PledgeChange::Reward {
                tier,
                amount: Money::parse(&fields.amount)?,
            }
        };
        super::change(
            &state.db,
            &state.settings.investor_limit_rule,
            user.user.id,
            id,
            &change,
        )
        .await
        .map_err(Error::from)
    }
    .await;
    match attempt {
        Ok(_) => Ok(Redirect::to(&format!("/me/pledges?changed={id}")).into_response()),
        Err(e) if e.status_code().is_client_error() && e.status_code() != 404 => {
            let status = e.status_code();
            let message = e.message().in_lang(chrome.t);
            let mut response =
                change_page(&state, chrome, &user, id, Some(fields), Some(message)).await?;
            *response.status_mut() = status;
            Ok(response)
        }
        Err(e) => Err(e),
    }
}
