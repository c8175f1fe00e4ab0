//! `/projects/{id}/pledge`: the pledge form and what it sends, and the tier and offering
//! pieces the change form shares.

use std::collections::HashMap;

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use rust_decimal::Decimal;
use serde::Deserialize;
use time::OffsetDateTime;
use uuid::Uuid;

use super::extras_form::{self, ExtrasView};
use crate::accounts::domain::Role;
use crate::accounts::AuthUser;
use crate::app::AppState;
use crate::error::{Error as Refusal, Message};
use crate::http::csrf::CsrfForm;
use crate::http::error::{Error, Result};
use crate::http::extract::{MaybeUser, Path};
use crate::http::form::FieldErrors;
use crate::http::pages::{render, with_notice, Chrome};
use crate::ids::{ProjectId, TierId};
use crate::money::amount::fixed;
use crate::money::pages::login_first;
use crate::money::{self, AccountOwner, Money};
use crate::pledges::limits::{DeclaredAmount, Shares};
use crate::pledges::{self, EquityRequest, PledgeRequest, RequestKey};
use crate::projects::addons;
use crate::projects::capacity::{self, OfferingTerms, PledgeTarget, TierOffer};
use crate::projects::ProjectKind;

/// Routes of the pledge form.
pub(super) fn routes() -> Router<AppState> {
    Router::new().route("/projects/{id}/pledge", get(pledge_form).post(pledge))
}

/// A tier as the form shows it, priced for the reader.
pub(super) struct TierChoice {
    pub(super) id: String,
    pub(super) title: String,
    pub(super) description: String,
    pub(super) price: String,
    pub(super) left: Option<String>,
    pub(super) sold_out: bool,
    pub(super) checked: bool,
}

/// The tiers of a project in `currency` as choices, `chosen` checked.
pub(super) fn tier_choices(
    tiers: &[TierOffer],
    chosen: Option<TierId>,
    currency: &str,
    c: &Chrome,
) -> Vec<TierChoice> {
    tiers
        .iter()
        .map(|t| TierChoice {
            id: t.id.to_string(),
            title: t.title.clone(),
            description: t.description.clone(),
            price: c.money(&t.price, currency),
            left: t
                .remaining()
                .map(|n| c.t.fill("pledges.left", &[("n", &n.to_string())])),
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

impl Offering {
    /// The view of `t`, priced in `currency` for the reader.
    pub(super) fn new(t: &OfferingTerms, currency: &str, c: &Chrome) -> Self {
        Offering {
            price: c.money(&t.price_per_share, currency),
            min_per_investor: t.min_shares_per_investor,
            remaining: t.remaining(),
            investors_left: (t.max_investors - t.investor_count).max(0),
            risk_warning: t.risk_warning.clone(),
        }
    }
}

/// Which field of the pledge forms a refusal from the pledging room is about, so it is shown
/// beside that field; `None` for a refusal about the whole pledge (shown above the form).
pub(super) fn field_of(refusal: &Refusal) -> Option<&'static str> {
    let key = match refusal.message() {
        Message::Key(key) | Message::Fill(key, _) => key,
        Message::Text(_) => return None,
    };
    Some(match key {
        "pledges.error.sold_out" | "pledges.error.unknown_tier" => "tier",
        "pledges.error.below_price" => "extra",
        "pledges.error.amount_missing" => "amount",
        "pledges.error.shares" | "pledges.error.shares_left" => "shares",
        "pledges.error.risk" => "acknowledge_risk",
        "pledges.error.declaration" | "pledges.error.declaration_too_large" => "annual_income",
        "shipping.error.address_missing" | "shipping.error.address" => "address",
        "shipping.error.region"
        | "shipping.error.region_missing"
        | "shipping.error.no_shipping" => "region",
        key if key.starts_with("addons.error.") => "addons",
        _ => return None,
    })
}

/// Where a refusal about the whole form (not one field) is kept in [`FieldErrors`].
pub(super) const WHOLE_FORM: &str = "form";

/// Records a refusal of the pledging room beside its field (or for the whole form) when it is
/// about what was sent, and gives back the status to answer with; any other failure is
/// returned as the error, to fail the request.
pub(super) fn record_refusal(errors: &mut FieldErrors, refusal: Refusal) -> Result<StatusCode> {
    let field = field_of(&refusal).unwrap_or(WHOLE_FORM);
    let message = refusal.message();
    let error = Error::from(refusal);
    let status = error.status_code();
    if !status.is_client_error() || status == StatusCode::NOT_FOUND {
        return Err(error);
    }
    errors.add(field, message);
    Ok(status)
}

#[derive(Template)]
#[template(path = "pledges/new.html")]
struct PledgePage {
    chrome: Chrome,
    project_id: String,
    title: String,
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
    /// Every refusal of the last submit, by field ([`WHOLE_FORM`] for the pledge as a whole).
    errors: FieldErrors,
    extra: String,
    amount: String,
    shares: String,
    annual_income: String,
    net_worth: String,
    risk_acknowledged: bool,
    limit: Option<String>,
    /// The shipping and add-on parts.
    extras: ExtrasView,
}

impl PledgePage {
    /// The refusal of `field` in the reader's language, to show beside it.
    fn error(&self, field: &str) -> Option<String> {
        self.errors.text(field, self.chrome.t)
    }
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
    #[serde(default)]
    region: String,
    #[serde(default)]
    address: String,
    /// The add-on quantities (`addon-<id>`), among whatever else was sent.
    #[serde(flatten)]
    rest: HashMap<String, String>,
}

impl PledgeFields {
    /// The shipping and add-on fields as typed.
    fn typed(&self) -> extras_form::Typed<'_> {
        extras_form::Typed {
            region: &self.region,
            address: &self.address,
            rest: &self.rest,
        }
    }
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
    errors: FieldErrors,
) -> Result<Response> {
    let tiers = capacity::tiers_in(&state.db, target.id, chrome.lang).await?;
    let title = capacity::pledge_target_in(&state.db, target.id, chrome.lang)
        .await?
        .map_or_else(|| target.title.clone(), |shown| shown.title);
    let offering = capacity::offering(&state.db, target.id).await?;
    let addons = addons::of(&state.db, target.id).await?;
    let extras = extras_form::view(
        &state.db,
        target.id,
        &tiers,
        &addons,
        &target.currency,
        &fields.typed(),
        &chrome,
    )
    .await?;
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
    let limit =
        profile.map(|p| chrome.money(&rule.limit(p.annual_income, p.net_worth), &target.currency));
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
        title,
        is_equity: target.kind == ProjectKind::Equity,
        open: closed_message.is_empty(),
        closed_message,
        deadline: target
            .deadline
            .map(|d| chrome.moment(&d))
            .unwrap_or_default(),
        no_reward_checked: fields.tier.as_deref() == Some("none"),
        tiers: tier_choices(&tiers, chosen, &target.currency, &chrome),
        offering: offering
            .as_ref()
            .map(|o| Offering::new(o, &target.currency, &chrome)),
        balance: chrome.money(&balance, &target.currency),
        existing: existing.map(|e| e.to_string()),
        key,
        errors,
        extra: fields.extra,
        amount: fields.amount,
        shares: fields.shares,
        annual_income,
        net_worth,
        risk_acknowledged: fields.acknowledge_risk.is_some(),
        limit,
        extras,
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
    pledge_page(
        &state,
        chrome,
        &user,
        target,
        PledgeFields::default(),
        FieldErrors::new(),
    )
    .await
}

/// An optional amount: nothing typed is `None`.
fn optional_money(raw: &str) -> std::result::Result<Option<Decimal>, Refusal> {
    if raw.trim().is_empty() {
        Ok(None)
    } else {
        Money::parse(raw).map(|m| Some(m.value()))
    }
}

/// The pledge the form asks for, with every refusal of its fields recorded in `errors` (then
/// `None`). A failure that is not about the input fails the request.
fn form_request(
    target: &PledgeTarget,
    tiers: &[TierOffer],
    f: &PledgeFields,
    errors: &mut FieldErrors,
) -> std::result::Result<Option<PledgeRequest>, Refusal> {
    match target.kind {
        ProjectKind::Reward => {
            let tier = match f.tier.as_deref() {
                None | Some("none") | Some("") => Ok(None),
                Some(raw) => match tiers.iter().find(|t| t.id.to_string() == raw) {
                    Some(tier) => Ok(Some(tier)),
                    None => {
                        errors.add("tier", Message::Key("pledges.error.unknown_tier"));
                        Err(())
                    }
                },
            };
            let amount = match tier {
                Ok(Some(t)) => errors
                    .check("extra", optional_money(&f.extra))?
                    .map(|extra| t.price + extra.unwrap_or_default()),
                Ok(None) => match errors.check("amount", optional_money(&f.amount))? {
                    Some(None) => {
                        errors.add("amount", Message::Key("pledges.error.amount_missing"));
                        None
                    }
                    other => other.flatten(),
                },
                // The tier is refused; the extra amount is still checked, to say all at once.
                Err(()) => {
                    errors.check("extra", optional_money(&f.extra))?;
                    None
                }
            };
            let Some(amount) = amount else {
                return Ok(None);
            };
            let Some(amount) = errors.check("extra", Money::try_from(amount))? else {
                return Ok(None);
            };
            Ok(Some(PledgeRequest::Reward {
                tier: tier.ok().flatten().map(|t| t.id),
                amount,
            }))
        }
        ProjectKind::Equity => {
            let declared = |raw: &str| DeclaredAmount::parse(raw).map(DeclaredAmount::value);
            let shares = errors.check("shares", Shares::parse(&f.shares))?;
            let income = errors.check("annual_income", declared(&f.annual_income))?;
            let worth = errors.check("net_worth", declared(&f.net_worth))?;
            if f.acknowledge_risk.is_none() {
                errors.add("acknowledge_risk", Message::Key("pledges.error.risk"));
            }
            match (shares, income, worth) {
                (Some(shares), Some(income), Some(worth)) if errors.is_empty() => {
                    Ok(Some(PledgeRequest::Equity(EquityRequest {
                        shares,
                        risk_acknowledged: true,
                        declaration: Some((income, worth)),
                    })))
                }
                _ => Ok(None),
            }
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
    let mut errors = FieldErrors::new();
    let key = errors.check(WHOLE_FORM, RequestKey::parse(&fields.key))?;
    let request = match form_request(&target, &tiers, &fields, &mut errors)? {
        Some(PledgeRequest::Reward { tier, amount }) => {
            extras_form::parse(&state.db, target.id, tier, &fields.typed(), &mut errors)
                .await?
                .map(|extras| PledgeRequest::RewardWithExtras {
                    tier,
                    amount,
                    extras,
                })
        }
        other => other,
    };
    let (Some(key), Some(request)) = (key, request) else {
        return refused(
            &state,
            chrome,
            &user,
            target,
            fields,
            errors,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    };
    match state
        .pledge_desk
        .create(user.user.id, target.id, &request, Some(&key))
        .await
    {
        Ok(_) => Ok(Redirect::to(&with_notice("/me/pledges", "pledge_made")).into_response()),
        Err(refusal) => {
            let status = record_refusal(&mut errors, refusal)?;
            refused(&state, chrome, &user, target, fields, errors, status).await
        }
    }
}

/// The same form again, with what was typed and every refusal, answered with `status`.
async fn refused(
    state: &AppState,
    chrome: Chrome,
    user: &AuthUser,
    target: PledgeTarget,
    fields: PledgeFields,
    errors: FieldErrors,
    status: StatusCode,
) -> Result<Response> {
    let mut response = pledge_page(state, chrome, user, target, fields, errors).await?;
    *response.status_mut() = status;
    Ok(response)
}
