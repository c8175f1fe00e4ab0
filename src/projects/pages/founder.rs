//! The founder's tools in the browser: the dashboard, the project form, tiers, the cover,
//! submission, withdrawal and updates. A refused form re-renders the edit page with every
//! refusal beside its field and what was typed; a done action comes back with a notice.

use askama::Template;
use axum::extract::{Multipart, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use time::OffsetDateTime;

use super::form::{ProjectForm, TierForm, UpdateForm};
use super::{choices, cover_url, label, time_left, upload, Choice};
use crate::accounts::AuthUser;
use crate::app::AppState;
use crate::error::Error as Refusal;
use crate::http::confirm::{Confirm, ConfirmOnly};
use crate::http::csrf::{CsrfForm, CsrfToken};
use crate::http::error::{Error, Result};
use crate::http::extract::{Founder, Path, RequireRole};
use crate::http::form::FieldErrors;
use crate::http::pages::{render, with_notice, Chrome};
use crate::projects::cover::MAX_COVER_BYTES;
use crate::projects::domain::{self, CATEGORIES};
use crate::projects::repo::{self, Project};
use crate::projects::{self as projects, ProjectId, ProjectKind, ProjectState, TierId};

/// A project in the founder's dashboard.
struct Row {
    id: String,
    title: String,
    slug: String,
    note: Option<String>,
    pledged: String,
    percent: i64,
    time_left: String,
    /// The payout and the fee of a settled project, each with its proof on the ledger.
    money: Vec<MoneyLine>,
}

/// A settlement transaction the founder is party to, as the dashboard shows it.
struct MoneyLine {
    kind_key: &'static str,
    amount: String,
    proof: String,
}

/// The payout and fee of each settled project of the founder, by project, with where to get
/// each one's inclusion proof against the current ledger size.
async fn settled_money(
    state: &AppState,
    chrome: &Chrome,
    projects: &[Project],
) -> Result<std::collections::HashMap<ProjectId, Vec<MoneyLine>>> {
    let mut money = std::collections::HashMap::new();
    let settled = projects.iter().filter(|p| p.state == ProjectState::Funded);
    let size = crate::ledger::store::size(&state.db).await?;
    for p in settled {
        let lines = crate::settlement::transactions_for_project(&state.db, p.id)
            .await?
            .into_iter()
            .filter(|t| t.kind == "payout" || t.kind == "fee")
            .map(|t| MoneyLine {
                kind_key: crate::ledger::pages::kind_key(&t.kind),
                amount: t
                    .amount
                    .map(|a| chrome.money(&a, &p.currency))
                    .unwrap_or_default(),
                proof: format!(
                    "/api/v1/ledger/proof/inclusion?tx_hash={}&tree_size={size}",
                    t.tx_hash
                ),
            })
            .collect();
        money.insert(p.id, lines);
    }
    Ok(money)
}

struct Group {
    state: String,
    rows: Vec<Row>,
}

#[derive(Template)]
#[template(path = "founder/dashboard.html")]
struct DashboardPage {
    chrome: Chrome,
    groups: Vec<Group>,
}

/// `GET /founder`: the founder's projects, grouped by state.
pub(super) async fn dashboard(
    State(state): State<AppState>,
    chrome: Chrome,
    RequireRole { 0: founder, .. }: RequireRole<Founder>,
) -> Result<Response> {
    let projects = repo::by_founder(&state.db, founder.user.id).await?;
    let mut money = settled_money(&state, &chrome, &projects).await?;
    let t = chrome.t;
    let now = OffsetDateTime::now_utc();
    let order = [
        ProjectState::Draft,
        ProjectState::InReview,
        ProjectState::Live,
        ProjectState::Frozen,
        ProjectState::Settling,
        ProjectState::Funded,
        ProjectState::Failed,
        ProjectState::Cancelled,
    ];
    let groups = order
        .iter()
        .filter_map(|s| {
            let rows: Vec<Row> = projects
                .iter()
                .filter(|p| p.state == *s)
                .map(|p| Row {
                    id: p.id.to_string(),
                    title: p.title.clone(),
                    slug: p.slug.clone(),
                    note: p.review_note.clone(),
                    pledged: chrome.money(&p.pledged_total, &p.currency),
                    percent: p.percent(),
                    time_left: time_left(t, p.deadline, now),
                    money: money.remove(&p.id).unwrap_or_default(),
                })
                .collect();
            (!rows.is_empty()).then(|| Group {
                state: label(t, "projects.state", s.as_str()),
                rows,
            })
        })
        .collect();
    render(&DashboardPage { chrome, groups })
}

#[derive(Template)]
#[template(path = "founder/edit.html")]
struct EditPage {
    chrome: Chrome,
    /// `None` while creating.
    id: Option<String>,
    slug: String,
    state: String,
    state_name: String,
    is_draft: bool,
    is_live: bool,
    is_reward: bool,
    is_equity: bool,
    can_cancel: bool,
    cover: Option<String>,
    review_note: Option<String>,
    /// A refusal that is about no one field (the project's state, a tier, the cover).
    error: Option<String>,
    /// The refusals of the project form's fields.
    errors: FieldErrors,
    /// The tier form as typed (empty but after a refusal) and its refusals.
    tier: TierForm,
    tier_errors: FieldErrors,
    /// The update form as typed (empty but after a refusal) and its refusals.
    update: UpdateForm,
    update_errors: FieldErrors,
    /// A new project whose kind is not chosen yet: the page offers the two kinds first.
    choose_kind: bool,
    form: ProjectForm,
    categories: Vec<Choice>,
    securities: Vec<Choice>,
    tiers: Vec<repo::Tier>,
    /// The project's add-ons (reward projects).
    addons: Vec<crate::projects::addons::Addon>,
    currency: String,
}

impl EditPage {
    /// The refusal of `field` in the reader's language, for the template.
    fn err(&self, field: &str) -> Option<String> {
        self.errors.text(field, self.chrome.t)
    }

    /// Every refusal of the project form, as (field, text), for the summary above it.
    fn summary(&self) -> Vec<(&'static str, String)> {
        self.errors.all(self.chrome.t)
    }

    /// The refusal of a tier form's `field`.
    fn tier_err(&self, field: &str) -> Option<String> {
        self.tier_errors.text(field, self.chrome.t)
    }

    /// The refusal of an update form's `field`.
    fn update_err(&self, field: &str) -> Option<String> {
        self.update_errors.text(field, self.chrome.t)
    }
}

/// What the edit page shows besides the project: what was refused, and the tier or update form
/// as typed when that was the one refused.
#[derive(Default)]
struct Refusals {
    error: Option<String>,
    errors: FieldErrors,
    tier: Option<(TierForm, FieldErrors)>,
    update: Option<(UpdateForm, FieldErrors)>,
}

impl Refusals {
    fn message(error: String) -> Self {
        Self {
            error: Some(error),
            ..Self::default()
        }
    }

    fn fields(errors: FieldErrors) -> Self {
        Self {
            errors,
            ..Self::default()
        }
    }
}

fn form_page(
    chrome: Chrome,
    project: Option<&Project>,
    tiers: Vec<repo::Tier>,
    form: ProjectForm,
    refusals: Refusals,
) -> EditPage {
    let t = chrome.t;
    let state = project.map_or(ProjectState::Draft, |p| p.state);
    // A new project shows the fields of the kind chosen first; a project keeps its kind.
    let kind = project.map(|p| p.kind).or_else(|| form.chosen_kind());
    EditPage {
        id: project.map(|p| p.id.to_string()),
        slug: project.map(|p| p.slug.clone()).unwrap_or_default(),
        state: label(t, "projects.state", state.as_str()),
        state_name: state.as_str().to_owned(),
        is_draft: state == ProjectState::Draft,
        is_live: matches!(state, ProjectState::Live | ProjectState::Frozen),
        is_reward: kind == Some(ProjectKind::Reward),
        is_equity: kind == Some(ProjectKind::Equity),
        can_cancel: matches!(state, ProjectState::Draft | ProjectState::InReview),
        cover: project.filter(|p| p.has_cover).map(cover_url),
        review_note: project.and_then(|p| p.review_note.clone()),
        error: refusals.error,
        errors: refusals.errors,
        tier: refusals
            .tier
            .as_ref()
            .map(|t| t.0.clone())
            .unwrap_or_default(),
        tier_errors: refusals.tier.map(|t| t.1).unwrap_or_default(),
        update: refusals
            .update
            .as_ref()
            .map(|u| u.0.clone())
            .unwrap_or_default(),
        update_errors: refusals.update.map(|u| u.1).unwrap_or_default(),
        choose_kind: kind.is_none(),
        categories: choices(t, "projects.category", CATEGORIES, &form.category),
        securities: choices(
            t,
            "projects.security",
            &["ordinary_shares", "convertible_note"],
            &form.security_type,
        ),
        currency: project.map_or_else(|| "CNY".to_owned(), |p| p.currency.clone()),
        form,
        tiers,
        addons: Vec::new(),
        chrome,
    }
}

fn with_status(mut response: Response, error: &Error) -> Response {
    *response.status_mut() = error.status_code();
    response
}

#[derive(Deserialize)]
pub(super) struct KindQuery {
    kind: Option<String>,
}

/// `GET /founder/projects/new`: the choice of kind, then (`?kind=reward|equity`) an empty form
/// with that kind's fields only.
pub(super) async fn new_form(
    chrome: Chrome,
    RequireRole { .. }: RequireRole<Founder>,
    Query(query): Query<KindQuery>,
) -> Result<Response> {
    let form = ProjectForm {
        kind: query.kind.unwrap_or_default(),
        currency: "CNY".into(),
        ..Default::default()
    };
    render(&form_page(
        chrome,
        None,
        Vec::new(),
        form,
        Refusals::default(),
    ))
}

/// `POST /founder/projects`: creates a draft from the form; every refused field is shown at
/// once beside it, with what was typed.
pub(super) async fn create(
    State(state): State<AppState>,
    chrome: Chrome,
    RequireRole { 0: founder, .. }: RequireRole<Founder>,
    CsrfForm(form): CsrfForm<ProjectForm>,
) -> Result<Response> {
    let refusals = match form.to_new(&state.settings) {
        Ok(new) => match projects::create(&state.db, &founder, new).await {
            Ok(project) => {
                let to = with_notice(&format!("/founder/projects/{}", project.id), "created");
                return Ok(Redirect::to(&to).into_response());
            }
            Err(e @ (Refusal::Invalid(_) | Refusal::Conflict(_))) => {
                let message = e.message().in_lang(chrome.t);
                (Refusals::message(message), Error::from(e).status_code())
            }
            Err(e) => return Err(e.into()),
        },
        Err(errors) => (Refusals::fields(errors), StatusCode::UNPROCESSABLE_ENTITY),
    };
    let (refusals, status) = refusals;
    let mut response = render(&form_page(chrome, None, Vec::new(), form, refusals))?;
    *response.status_mut() = status;
    Ok(response)
}

async fn edit_page(
    state: &AppState,
    chrome: Chrome,
    founder: &AuthUser,
    id: ProjectId,
    form: Option<ProjectForm>,
    refusals: Refusals,
) -> Result<EditPage> {
    let project = projects::owned(&state.db, id, founder).await?;
    let mut conn = state.db.acquire().await?;
    let tiers = repo::tiers(&mut conn, id).await?;
    let offering = repo::offering(&mut conn, id).await?;
    let addons = crate::projects::addons::of(&mut *conn, id).await?;
    drop(conn);
    let form = form.unwrap_or_else(|| ProjectForm::from_project(&project, offering.as_ref()));
    Ok(EditPage {
        addons,
        ..form_page(chrome, Some(&project), tiers, form, refusals)
    })
}

/// `GET /founder/projects/{id}`: the edit page of a founder's project.
pub(super) async fn edit_form(
    State(state): State<AppState>,
    chrome: Chrome,
    RequireRole { 0: founder, .. }: RequireRole<Founder>,
    Path(id): Path<ProjectId>,
) -> Result<Response> {
    let page = edit_page(&state, chrome, &founder, id, None, Refusals::default()).await?;
    render(&page)
}

/// Runs a founder's form action: done, back to the edit page saying so (`notice`); a user error
/// re-renders the edit page with the message.
async fn or_show_error(
    state: &AppState,
    chrome: Chrome,
    founder: &AuthUser,
    id: ProjectId,
    notice: &str,
    result: Result<(), impl Into<Error>>,
) -> Result<Response> {
    match result.map_err(Into::into) {
        Ok(()) => {
            let to = with_notice(&format!("/founder/projects/{id}"), notice);
            Ok(Redirect::to(&to).into_response())
        }
        Err(e @ (Error::Unprocessable(_) | Error::Conflict(_) | Error::PayloadTooLarge)) => {
            let message = e.message().in_lang(chrome.t);
            let page =
                edit_page(state, chrome, founder, id, None, Refusals::message(message)).await?;
            Ok(with_status(render(&page)?, &e))
        }
        Err(e) => Err(e),
    }
}

/// `POST /founder/projects/{id}`: saves the project form; every refused field is shown at once
/// beside it, with what was typed.
pub(super) async fn save(
    State(state): State<AppState>,
    chrome: Chrome,
    RequireRole { 0: founder, .. }: RequireRole<Founder>,
    Path(id): Path<ProjectId>,
    CsrfForm(form): CsrfForm<ProjectForm>,
) -> Result<Response> {
    let project = projects::owned(&state.db, id, &founder).await?;
    let changes = match form.to_changes(&project, &state.settings) {
        Ok(changes) => changes,
        Err(errors) => {
            let refusals = Refusals::fields(errors);
            let page = edit_page(&state, chrome, &founder, id, Some(form), refusals).await?;
            let mut response = render(&page)?;
            *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
            return Ok(response);
        }
    };
    match projects::edit(&state.db, &founder, id, changes).await {
        Ok(_) => {
            let to = with_notice(&format!("/founder/projects/{id}"), "saved");
            Ok(Redirect::to(&to).into_response())
        }
        Err(e @ (Refusal::Invalid(_) | Refusal::Conflict(_))) => {
            let refusals = Refusals::message(e.message().in_lang(chrome.t));
            let page = edit_page(&state, chrome, &founder, id, Some(form), refusals).await?;
            Ok(with_status(render(&page)?, &Error::from(e)))
        }
        Err(e) => Err(e.into()),
    }
}

/// `POST /founder/projects/{id}/tiers`: adds a reward tier; every refused field is shown at
/// once beside it, with what was typed.
pub(super) async fn add_tier(
    State(state): State<AppState>,
    chrome: Chrome,
    RequireRole { 0: founder, .. }: RequireRole<Founder>,
    Path(id): Path<ProjectId>,
    CsrfForm(form): CsrfForm<TierForm>,
) -> Result<Response> {
    let tier = match form.parse() {
        Ok(tier) => tier,
        Err(errors) => {
            let refusals = Refusals {
                tier: Some((form, errors)),
                ..Refusals::default()
            };
            let page = edit_page(&state, chrome, &founder, id, None, refusals).await?;
            let mut response = render(&page)?;
            *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
            return Ok(response);
        }
    };
    let result = projects::add_tier(&state.db, &founder, id, tier)
        .await
        .map(|_| ());
    or_show_error(&state, chrome, &founder, id, "tier_added", result).await
}

#[derive(Deserialize)]
pub(super) struct Empty {}

/// `POST /founder/projects/{id}/tiers/{tier}/delete`: removes a tier from a draft.
pub(super) async fn delete_tier(
    State(state): State<AppState>,
    chrome: Chrome,
    RequireRole { 0: founder, .. }: RequireRole<Founder>,
    Path((id, tier)): Path<(ProjectId, TierId)>,
    CsrfForm(_): CsrfForm<Empty>,
) -> Result<Response> {
    let result = projects::delete_tier(&state.db, &founder, id, tier)
        .await
        .map_err(Error::from);
    or_show_error(&state, chrome, &founder, id, "tier_deleted", result).await
}

/// `POST /founder/projects/{id}/cover`: stores the cover of a draft.
pub(super) async fn upload_cover(
    State(state): State<AppState>,
    chrome: Chrome,
    CsrfToken(expected): CsrfToken,
    RequireRole { 0: founder, .. }: RequireRole<Founder>,
    Path(id): Path<ProjectId>,
    form: Multipart,
) -> Result<Response> {
    projects::owned(&state.db, id, &founder).await?;
    let upload = upload::read(form).await;
    // The middleware derived the token this browser's cookie must produce; the multipart form
    // has to carry exactly that, as a URL-encoded form would.
    if let Ok(upload) = &upload {
        if upload.csrf.as_deref() != Some(expected.as_str()) {
            return Err(Error::Csrf);
        }
    }
    let result = match upload {
        Ok(upload) => projects::set_cover(&state.db, &founder, id, &upload.cover).await,
        Err(Refusal::TooLarge) => {
            // The refusal says the limit, so the founder knows what size to aim for.
            let limit = format!("{} MB", MAX_COVER_BYTES / (1024 * 1024));
            let message = chrome.t.fill("forms.cover_too_large", &[("limit", &limit)]);
            let refusals = Refusals::message(message);
            let page = edit_page(&state, chrome, &founder, id, None, refusals).await?;
            return Ok(with_status(render(&page)?, &Error::PayloadTooLarge));
        }
        Err(e) => Err(e),
    };
    or_show_error(&state, chrome, &founder, id, "cover_uploaded", result).await
}

/// `POST /founder/projects/{id}/submit`: asks for review.
pub(super) async fn submit(
    State(state): State<AppState>,
    chrome: Chrome,
    RequireRole { 0: founder, .. }: RequireRole<Founder>,
    Path(id): Path<ProjectId>,
    CsrfForm(_): CsrfForm<Empty>,
) -> Result<Response> {
    let result = projects::submit(&state.db, &state.settings, &founder, id)
        .await
        .map(|_| ());
    or_show_error(&state, chrome, &founder, id, "submitted", result).await
}

/// `POST /founder/projects/{id}/cancel`: asks first (a confirmation page re-posting with
/// `confirm=yes`), then withdraws a project before launch.
pub(super) async fn cancel(
    State(state): State<AppState>,
    chrome: Chrome,
    RequireRole { 0: founder, .. }: RequireRole<Founder>,
    Path(id): Path<ProjectId>,
    CsrfForm(form): CsrfForm<ConfirmOnly>,
) -> Result<Response> {
    if !form.confirmed() {
        let project = projects::owned(&state.db, id, &founder).await?;
        let t = chrome.t;
        return Confirm {
            heading: t.get("confirm.project_cancel.heading").to_owned(),
            subject: project.title.clone(),
            consequence: t.get("confirm.project_cancel.consequence").to_owned(),
            action: format!("/founder/projects/{id}/cancel"),
            fields: Vec::new(),
            back: format!("/founder/projects/{id}"),
            danger: true,
            chrome,
        }
        .respond();
    }
    let result = projects::founder_cancel(&state.db, &founder, id)
        .await
        .map(|_| ());
    or_show_error(&state, chrome, &founder, id, "project_cancelled", result).await
}

/// `POST /founder/projects/{id}/updates`: posts an update; a refused title or text is shown
/// beside its field, with what was typed.
pub(super) async fn post_update(
    State(state): State<AppState>,
    chrome: Chrome,
    RequireRole { 0: founder, .. }: RequireRole<Founder>,
    Path(id): Path<ProjectId>,
    CsrfForm(form): CsrfForm<UpdateForm>,
) -> Result<Response> {
    // The same rules as the domain's, checked here too so both refusals show at once.
    let mut errors = FieldErrors::new();
    errors.check(
        "update_title",
        domain::text(&form.title, 1, 120, "projects.error.update_title"),
    )?;
    errors.check(
        "update_body",
        domain::text(&form.body, 1, 20_000, "projects.error.update_body"),
    )?;
    if !errors.is_empty() {
        let refusals = Refusals {
            update: Some((form, errors)),
            ..Refusals::default()
        };
        let page = edit_page(&state, chrome, &founder, id, None, refusals).await?;
        let mut response = render(&page)?;
        *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
        return Ok(response);
    }
    let result = projects::post_update(
        &state.db,
        &founder,
        id,
        &form.title,
        &form.body,
        form.backers_only.is_some(),
    )
    .await
    .map(|_| ());
    or_show_error(&state, chrome, &founder, id, "update_posted", result).await
}

/// The add-on form, as sent: the tiers that may take it are checkboxes named `tier-<id>`.
#[derive(Deserialize)]
pub(super) struct AddonForm {
    #[serde(default)]
    title: String,
    #[serde(default)]
    price: String,
    #[serde(default)]
    quantity_limit: String,
    #[serde(flatten)]
    rest: std::collections::HashMap<String, String>,
}

impl AddonForm {
    fn parse(&self) -> crate::error::Result<crate::projects::addons::NewAddon> {
        let price = self
            .price
            .trim()
            .parse()
            .map_err(|_| Refusal::invalid("addons.error.price"))?;
        let limit = match self.quantity_limit.trim() {
            "" => None,
            raw => Some(
                raw.parse()
                    .map_err(|_| Refusal::invalid("addons.error.quantity_limit"))?,
            ),
        };
        let tiers: Vec<TierId> = self
            .rest
            .keys()
            .filter_map(|name| name.strip_prefix("tier-")?.parse().ok())
            .collect();
        crate::projects::addons::NewAddon::parse(&self.title, price, limit, &tiers)
    }
}

/// `POST /founder/projects/{id}/addons`: adds an add-on; a refusal is shown on the edit page.
pub(super) async fn add_addon(
    State(state): State<AppState>,
    chrome: Chrome,
    RequireRole { 0: founder, .. }: RequireRole<Founder>,
    Path(id): Path<ProjectId>,
    CsrfForm(form): CsrfForm<AddonForm>,
) -> Result<Response> {
    let result = match form.parse() {
        Ok(addon) => crate::projects::addons::add(&state.db, &founder, id, &addon)
            .await
            .map(drop),
        Err(refusal) => Err(refusal),
    };
    or_show_error(&state, chrome, &founder, id, "saved", result).await
}
