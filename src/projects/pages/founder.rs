//! The founder's tools in the browser: the dashboard, the project form, tiers, the cover,
//! submission, withdrawal and updates. A refusal re-renders the edit page with its message.

use askama::Template;
use axum::extract::{Multipart, State};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use time::OffsetDateTime;

use super::form::{decimal, whole, ProjectForm};
use super::{choices, cover_url, label, time_left, upload, Choice};
use crate::accounts::AuthUser;
use crate::app::AppState;
use crate::http::csrf::{CsrfForm, CsrfToken};
use crate::http::error::{Error, Result};
use crate::http::extract::{Founder, Path, RequireRole};
use crate::http::pages::{render, Chrome};
use crate::projects::domain::{NewTier, CATEGORIES};
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
    error: Option<String>,
    form: ProjectForm,
    categories: Vec<Choice>,
    securities: Vec<Choice>,
    tiers: Vec<repo::Tier>,
    currency: String,
}

fn form_page(
    chrome: Chrome,
    project: Option<&Project>,
    tiers: Vec<repo::Tier>,
    form: ProjectForm,
    error: Option<String>,
) -> EditPage {
    let t = chrome.t;
    let state = project.map_or(ProjectState::Draft, |p| p.state);
    // A new project shows both the reward and the equity fields: the kind is chosen on the form.
    let kind = project.map(|p| p.kind);
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
        error,
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
        chrome,
    }
}

fn with_status(mut response: Response, error: &Error) -> Response {
    *response.status_mut() = error.status_code();
    response
}

/// `GET /founder/projects/new`: an empty project form.
pub(super) async fn new_form(
    chrome: Chrome,
    RequireRole { .. }: RequireRole<Founder>,
) -> Result<Response> {
    let form = ProjectForm {
        kind: "reward".into(),
        currency: "CNY".into(),
        ..Default::default()
    };
    render(&form_page(chrome, None, Vec::new(), form, None))
}

/// `POST /founder/projects`: creates a draft from the form.
pub(super) async fn create(
    State(state): State<AppState>,
    chrome: Chrome,
    RequireRole { 0: founder, .. }: RequireRole<Founder>,
    CsrfForm(form): CsrfForm<ProjectForm>,
) -> Result<Response> {
    let attempt = async {
        let new = form.to_new(&state.settings)?;
        projects::create(&state.db, &founder, new)
            .await
            .map_err(Error::from)
    }
    .await;
    match attempt {
        Ok(project) => {
            Ok(Redirect::to(&format!("/founder/projects/{}", project.id)).into_response())
        }
        Err(e @ (Error::Unprocessable(_) | Error::Conflict(_))) => {
            let message = e.message().in_lang(chrome.t);
            Ok(with_status(
                render(&form_page(chrome, None, Vec::new(), form, Some(message)))?,
                &e,
            ))
        }
        Err(e) => Err(e),
    }
}

async fn edit_page(
    state: &AppState,
    chrome: Chrome,
    founder: &AuthUser,
    id: ProjectId,
    form: Option<ProjectForm>,
    error: Option<String>,
) -> Result<EditPage> {
    let project = projects::owned(&state.db, id, founder).await?;
    let mut conn = state.db.acquire().await?;
    let tiers = repo::tiers(&mut conn, id).await?;
    let offering = repo::offering(&mut conn, id).await?;
    drop(conn);
    let form = form.unwrap_or_else(|| ProjectForm::from_project(&project, offering.as_ref()));
    Ok(form_page(chrome, Some(&project), tiers, form, error))
}

/// `GET /founder/projects/{id}`: the edit page of a founder's project.
pub(super) async fn edit_form(
    State(state): State<AppState>,
    chrome: Chrome,
    RequireRole { 0: founder, .. }: RequireRole<Founder>,
    Path(id): Path<ProjectId>,
) -> Result<Response> {
    render(&edit_page(&state, chrome, &founder, id, None, None).await?)
}

/// Runs a founder's form action; a user error re-renders the edit page with the message.
async fn or_show_error(
    state: &AppState,
    chrome: Chrome,
    founder: &AuthUser,
    id: ProjectId,
    form: Option<ProjectForm>,
    result: Result<(), impl Into<Error>>,
) -> Result<Response> {
    match result.map_err(Into::into) {
        Ok(()) => Ok(Redirect::to(&format!("/founder/projects/{id}")).into_response()),
        Err(e @ (Error::Unprocessable(_) | Error::Conflict(_) | Error::PayloadTooLarge)) => {
            let message = e.message().in_lang(chrome.t);
            let page = edit_page(state, chrome, founder, id, form, Some(message)).await?;
            Ok(with_status(render(&page)?, &e))
        }
        Err(e) => Err(e),
    }
}

/// `POST /founder/projects/{id}`: saves the project form.
pub(super) async fn save(
    State(state): State<AppState>,
    chrome: Chrome,
    RequireRole { 0: founder, .. }: RequireRole<Founder>,
    Path(id): Path<ProjectId>,
    CsrfForm(form): CsrfForm<ProjectForm>,
) -> Result<Response> {
    let result = async {
        let project = projects::owned(&state.db, id, &founder).await?;
        let changes = form.to_changes(&project, &state.settings)?;
        projects::edit(&state.db, &founder, id, changes)
            .await
            .map(|_| ())
            .map_err(Error::from)
    }
    .await;
    or_show_error(&state, chrome, &founder, id, Some(form), result).await
}

#[derive(Deserialize)]
pub(super) struct TierForm {
    title: String,
    #[serde(default)]
    description: String,
    price: String,
    #[serde(default)]
    quantity_limit: String,
    #[serde(default)]
    delivery_month: String,
    ships: Option<String>,
}

/// `POST /founder/projects/{id}/tiers`: adds a reward tier.
pub(super) async fn add_tier(
    State(state): State<AppState>,
    chrome: Chrome,
    RequireRole { 0: founder, .. }: RequireRole<Founder>,
    Path(id): Path<ProjectId>,
    CsrfForm(form): CsrfForm<TierForm>,
) -> Result<Response> {
    let result = async {
        let limit = form.quantity_limit.trim();
        let tier = NewTier::parse(
            &form.title,
            &form.description,
            decimal(&form.price, "projects.error.tier_price")?,
            if limit.is_empty() {
                None
            } else {
                Some(whole(limit, "projects.error.quantity_limit")?)
            },
            Some(&form.delivery_month),
            form.ships.is_some(),
        )?;
        projects::add_tier(&state.db, &founder, id, tier)
            .await
            .map(|_| ())
            .map_err(Error::from)
    }
    .await;
    or_show_error(&state, chrome, &founder, id, None, result).await
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
    or_show_error(&state, chrome, &founder, id, None, result).await
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
        Err(e) => Err(e),
    };
    or_show_error(&state, chrome, &founder, id, None, result).await
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
    or_show_error(&state, chrome, &founder, id, None, result).await
}

/// `POST /founder/projects/{id}/cancel`: withdraws a project before launch.
pub(super) async fn cancel(
    State(state): State<AppState>,
    chrome: Chrome,
    RequireRole { 0: founder, .. }: RequireRole<Founder>,
    Path(id): Path<ProjectId>,
    CsrfForm(_): CsrfForm<Empty>,
) -> Result<Response> {
    let result = projects::founder_cancel(&state.db, &founder, id)
        .await
        .map(|_| ());
    or_show_error(&state, chrome, &founder, id, None, result).await
}

#[derive(Deserialize)]
pub(super) struct UpdateForm {
    title: String,
    body: String,
    backers_only: Option<String>,
}

/// `POST /founder/projects/{id}/updates`: posts an update.
pub(super) async fn post_update(
    State(state): State<AppState>,
    chrome: Chrome,
    RequireRole { 0: founder, .. }: RequireRole<Founder>,
    Path(id): Path<ProjectId>,
    CsrfForm(form): CsrfForm<UpdateForm>,
) -> Result<Response> {
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
    or_show_error(&state, chrome, &founder, id, None, result).await
}
