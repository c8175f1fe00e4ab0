//! `/api/v1/projects` and `/api/v1/me/projects`: listings for founders and everyone.

use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouterExt};
use utoipa_axum::routes;

use axum::extract::{DefaultBodyLimit, Multipart, Query, State};
use axum::http::StatusCode;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use time::OffsetDateTime;

use super::domain::{self, NewOffering, NewTier, Slug};
use super::pages::upload::{self, UPLOAD_BODY_LIMIT};
use super::repo::{self, Changes, Filter, NewProject, Project, Sort, Update};
use super::{search, views, ProjectId, ProjectKind, ProjectState, TierId};
use crate::accounts::AuthUser;
use crate::app::AppState;
use crate::config::Settings;
use crate::http::error::{Error, Message, Result};
use crate::http::extract::{ApiJson, Founder, MaybeUser, Path, RequireRole};

pub use super::views::ProjectDetail;

/// Routes of this room, relative to `/api/v1`.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create, list))
        .routes(routes!(show, edit))
        .routes(routes!(submit))
        .routes(routes!(cancel))
        .routes(routes!(add_tier))
        .routes(routes!(delete_tier))
        .routes(routes!(post_update))
        .routes(routes!(upload_cover).layer(DefaultBodyLimit::max(UPLOAD_BODY_LIMIT)))
        .routes(routes!(mine))
}

/// A reward tier as submitted.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct TierInput {
    /// 1 to 120 characters besides surrounding spaces; no control characters but line breaks
    /// and tabs.
    #[schema(
        max_length = 120,
        pattern = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]*$"
    )]
    pub title: String,
    /// At most 5,000 characters.
    #[serde(default)]
    #[schema(
        max_length = 5000,
        pattern = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]*$"
    )]
    pub description: String,
    #[schema(value_type = String, example = "128.00", pattern = r"^([1-9][0-9]{0,7}(\.[0-9]{1,2})?|0\.(0[1-9]|[1-9][0-9]?))$")]
    pub price: Decimal,
    /// Leave out for unlimited.
    #[schema(minimum = 1, maximum = 1_000_000)]
    pub quantity_limit: Option<i64>,
    /// `YYYY-MM`.
    pub delivery_month: Option<String>,
    #[serde(default)]
    pub ships: bool,
}

impl TierInput {
    fn parse(&self) -> Result<NewTier> {
        Ok(NewTier::parse(
            &self.title,
            &self.description,
            self.price,
            self.quantity_limit,
            self.delivery_month.as_deref(),
            self.ships,
        )?)
    }
}

/// An equity offering as submitted.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct OfferingInput {
    #[schema(value_type = String, example = "10.00")]
    pub price_per_share: Decimal,
    pub min_shares: i64,
    pub max_shares: i64,
    pub min_shares_per_investor: Option<i64>,
    #[schema(value_type = String, example = "20000000.00")]
    pub pre_money_valuation: Decimal,
    /// `ordinary_shares` or `convertible_note`.
    pub security_type: String,
    pub risk_warning: String,
}

impl OfferingInput {
    fn parse(&self) -> Result<NewOffering> {
        Ok(NewOffering::parse(
            self.price_per_share,
            self.min_shares,
            self.max_shares,
            self.min_shares_per_investor,
            self.pre_money_valuation,
            &self.security_type,
            &self.risk_warning,
        )?)
    }
}

/// Body of `PUT /api/v1/projects/{id}/cover` (documentation only: the handler reads the
/// multipart stream itself).
#[derive(utoipa::ToSchema)]
pub struct CoverUpload {
    /// A PNG, JPEG, WebP or GIF image, at most 2 MiB.
    #[schema(value_type = String, format = Binary)]
    pub cover: Vec<u8>,
}

/// Body of `POST /api/v1/projects`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct CreateProject {
    pub title: String,
    /// Derived from the title when left out.
    pub slug: Option<String>,
    #[serde(default)]
    pub summary: String,
    /// Markdown.
    #[serde(default)]
    pub story: String,
    pub category: String,
    pub kind: ProjectKind,
    /// Reward projects only; an equity project's goal is `min_shares * price_per_share`.
    #[schema(value_type = Option<String>, example = "50000.00")]
    pub goal: Option<Decimal>,
    /// CNY when left out.
    pub currency: Option<String>,
    /// RFC 3339; between `MIN_CAMPAIGN_SECONDS` and 90 days after launch.
    pub deadline: String,
    #[serde(default)]
    pub tiers: Vec<TierInput>,
    pub offering: Option<OfferingInput>,
}

/// Body of `PATCH /api/v1/projects/{id}`: only the fields to change. Once live, only `story`.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct EditProject {
    pub title: Option<String>,
    pub slug: Option<String>,
    pub summary: Option<String>,
    pub story: Option<String>,
    pub category: Option<String>,
    #[schema(value_type = Option<String>)]
    pub goal: Option<Decimal>,
    pub currency: Option<String>,
    pub deadline: Option<String>,
    pub offering: Option<OfferingInput>,
}

/// Checks an edit's fields.
pub fn parse_changes(body: &EditProject, settings: &Settings) -> Result<Changes> {
    Ok(Changes {
        title: body.title.as_deref().map(domain::title).transpose()?,
        slug: body.slug.as_deref().map(Slug::parse).transpose()?,
        summary: body.summary.as_deref().map(domain::summary).transpose()?,
        story: body.story.as_deref().map(domain::story).transpose()?,
        category: body.category.as_deref().map(domain::category).transpose()?,
        goal: body
            .goal
            .map(|g| domain::money(g, "projects.error.goal"))
            .transpose()?,
        currency: body
            .currency
            .as_deref()
            .map(|c| domain::currency(Some(c), &settings.supported_currencies))
            .transpose()?,
        deadline: body
            .deadline
            .as_deref()
            .map(|d| {
                domain::deadline(
                    domain::parse_time(d)?,
                    OffsetDateTime::now_utc(),
                    settings.min_campaign_seconds,
                )
            })
            .transpose()?,
        offering: body
            .offering
            .as_ref()
            .map(OfferingInput::parse)
            .transpose()?,
    })
}

/// Checks a new project's fields.
pub fn parse_new(body: &CreateProject, settings: &Settings) -> Result<NewProject> {
    let offering = body
        .offering
        .as_ref()
        .map(OfferingInput::parse)
        .transpose()?;
    let goal = match (&offering, body.goal) {
        (Some(o), _) => o.goal()?,
        (None, Some(goal)) => domain::money(goal, "projects.error.goal")?,
        (None, None) => return Err(Error::Unprocessable(Message::Key("projects.error.goal"))),
    };
    let slug = body
        .slug
        .as_deref()
        .filter(|s| !s.trim().is_empty())
        .map(Slug::parse)
        .transpose()?;
    Ok(NewProject {
        title: domain::title(&body.title)?,
        slug,
        summary: domain::summary(&body.summary)?,
        story: domain::story(&body.story)?,
        category: domain::category(&body.category)?,
        kind: body.kind,
        goal,
        currency: domain::currency(body.currency.as_deref(), &settings.supported_currencies)?,
        deadline: domain::deadline(
            domain::parse_time(&body.deadline)?,
            OffsetDateTime::now_utc(),
            settings.min_campaign_seconds,
        )?,
        tiers: body
            .tiers
            .iter()
            .map(TierInput::parse)
            .collect::<Result<_>>()?,
        offering,
    })
}

/// Everything the page of `project` shows, backers-only updates when `include_backers_only`.
pub async fn detail(
    state: &AppState,
    project: Project,
    include_backers_only: bool,
) -> Result<ProjectDetail> {
    let parts = repo::parts(&state.db, project.id, include_backers_only).await?;
    Ok(ProjectDetail::assemble(project, parts).0)
}

/// The project `key` (id or slug) as `viewer` may see it, with the ledger's current size; 404
/// when they may not. One query, or none for an anonymous visitor when a recent view is kept.
pub async fn visible_detail(
    state: &AppState,
    key: &str,
    viewer: Option<&AuthUser>,
) -> Result<Arc<(ProjectDetail, u64)>> {
    let key = views::key(key);
    if viewer.is_none() {
        if let Some(view) = state.public_views.get(&key) {
            return Ok(view);
        }
    }
    let (project, mut parts) = repo::view(&state.db, &key, viewer.map(|v| v.user.id))
        .await?
        .ok_or(Error::NotFound)?;
    if !super::can_view(&project, viewer, OffsetDateTime::now_utc()) {
        return Err(Error::NotFound);
    }
    // A backer other than the founder also reads backers-only updates: two more queries, for
    // signed-in visitors only.
    if let Some(user) = viewer {
        if user.user.id != project.founder_id
            && crate::pledges::has_backed(&state.db, user.user.id, project.id).await?
        {
            parts = repo::parts(&state.db, project.id, true).await?;
        }
    }
    let view = Arc::new(ProjectDetail::assemble(project, parts));
    if viewer.is_none() {
        state.public_views.insert(key, view.clone());
    }
    Ok(view)
}

/// Forgets the kept anonymous view of `project`, by id and by slug: for changes visitors must see
/// at once, such as a regulator's freeze or cancellation.
pub fn forget_public_view(state: &AppState, project: &Project) {
    views::forget(&state.public_views, project);
}

/// Creates a draft (founders only).
#[utoipa::path(post, path = "/api/v1/projects", tag = "projects", security(("bearer" = [])),
    request_body = CreateProject,
    responses((status = 201, body = ProjectDetail), (status = 401), (status = 403, description = "not a founder"),
              (status = 409, description = "slug taken"), (status = 422, description = "invalid field")))]
pub async fn create(
    State(state): State<AppState>,
    RequireRole { 0: founder, .. }: RequireRole<Founder>,
    ApiJson(body): ApiJson<CreateProject>,
) -> Result<(StatusCode, ApiJson<ProjectDetail>)> {
    let new = parse_new(&body, &state.settings)?;
    let project = super::create(&state.db, &founder, new).await?;
    Ok((
        StatusCode::CREATED,
        ApiJson(detail(&state, project, true).await?),
    ))
}

/// Query of `GET /api/v1/projects`.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
pub struct ListQuery {
    /// `reward` or `equity`.
    pub kind: Option<String>,
    pub category: Option<String>,
    /// Full-text search over title and summary (Chinese included).
    pub q: Option<String>,
    /// `newest` (default), `ending` or `funded`.
    pub sort: Option<String>,
    /// From 1.
    pub page: Option<String>,
    /// `live` (default), `frozen`, `funded` or `failed`.
    pub state: Option<String>,
}

/// Projects per page.
pub const PER_PAGE: u32 = 12;

impl ListQuery {
    /// Checks the query; empty values count as absent, as browsers send them.
    pub fn filter(&self) -> Result<Filter> {
        let present = |v: &Option<String>| {
            v.as_deref()
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_owned)
        };
        let bad = |key: &'static str| Error::BadRequest(Message::Key(key));
        Ok(Filter {
            kind: present(&self.kind)
                .map(|k| ProjectKind::parse(&k).ok_or_else(|| bad("projects.error.filter_kind")))
                .transpose()?,
            category: present(&self.category)
                .map(|c| domain::category(&c).map_err(|_| bad("projects.error.category")))
                .transpose()?,
            query: present(&self.q).and_then(|q| search::query(&q)),
            state: present(&self.state)
                .map(|s| match ProjectState::parse(&s) {
                    Some(
                        s @ (ProjectState::Live
                        | ProjectState::Frozen
                        | ProjectState::Funded
                        | ProjectState::Failed),
                    ) => Ok(s),
                    _ => Err(bad("projects.error.filter_state")),
                })
                .transpose()?,
            sort: present(&self.sort)
                .map(|s| Sort::parse(&s).ok_or_else(|| bad("projects.error.filter_sort")))
                .transpose()?
                .unwrap_or_default(),
            page: present(&self.page)
                .map(|p| {
                    p.parse::<u32>()
                        .ok()
                        .filter(|p| (1..=10_000).contains(p))
                        .ok_or_else(|| bad("projects.error.filter_page"))
                })
                .transpose()?
                .unwrap_or(1),
            per_page: PER_PAGE,
        })
    }
}

/// One page of a listing.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ProjectPage {
    pub projects: Vec<Project>,
    pub page: u32,
    pub has_more: bool,
}

/// Browses and searches public projects.
#[utoipa::path(get, path = "/api/v1/projects", tag = "projects", params(ListQuery),
    responses((status = 200, body = ProjectPage), (status = 400, description = "bad filter")))]
pub async fn list(
    State(state): State<AppState>,
    Query(query): Query<ListQuery>,
) -> Result<ApiJson<ProjectPage>> {
    let filter = query.filter()?;
    let (projects, has_more) = repo::browse(&state.db, &filter).await?;
    Ok(ApiJson(ProjectPage {
        projects,
        page: filter.page,
        has_more,
    }))
}

/// A project by id or slug, as far as the caller may see it.
#[utoipa::path(get, path = "/api/v1/projects/{key}", tag = "projects",
    params(("key" = String, Path, description = "id or slug")),
    responses((status = 200, body = ProjectDetail), (status = 404)))]
pub async fn show(
    State(state): State<AppState>,
    MaybeUser(viewer): MaybeUser,
    Path(key): Path<String>,
) -> Result<ApiJson<ProjectDetail>> {
    Ok(ApiJson(
        visible_detail(&state, &key, viewer.as_ref())
            .await?
            .0
            .clone(),
    ))
}

/// Edits a project: any field of a draft; only the story once live (kept as a revision).
#[utoipa::path(patch, path = "/api/v1/projects/{key}", tag = "projects", security(("bearer" = [])),
    params(("key" = String, Path, description = "project id")), request_body = EditProject,
    responses((status = 200, body = ProjectDetail), (status = 403), (status = 404),
              (status = 409, description = "in review, ended, or slug taken"),
              (status = 422, description = "invalid field, or a field locked once live")))]
pub async fn edit(
    State(state): State<AppState>,
    RequireRole { 0: founder, .. }: RequireRole<Founder>,
    Path(id): Path<ProjectId>,
    ApiJson(body): ApiJson<EditProject>,
) -> Result<ApiJson<ProjectDetail>> {
    let changes = parse_changes(&body, &state.settings)?;
    let project = super::edit(&state.db, &founder, id, changes).await?;
    Ok(ApiJson(detail(&state, project, true).await?))
}

/// Submits a draft for review.
#[utoipa::path(post, path = "/api/v1/projects/{id}/submit", tag = "projects", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = Project), (status = 404), (status = 409, description = "not a draft"),
              (status = 422, description = "incomplete listing"),
              (status = 403, description = "not a founder")))]
pub async fn submit(
    State(state): State<AppState>,
    RequireRole { 0: founder, .. }: RequireRole<Founder>,
    Path(id): Path<ProjectId>,
) -> Result<ApiJson<Project>> {
    Ok(ApiJson(
        super::submit(&state.db, &state.settings, &founder, id).await?,
    ))
}

/// Withdraws a project before launch.
#[utoipa::path(post, path = "/api/v1/projects/{id}/cancel", tag = "projects", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = Project), (status = 404), (status = 409, description = "already launched"),
              (status = 403, description = "not a founder")))]
pub async fn cancel(
    State(state): State<AppState>,
    RequireRole { 0: founder, .. }: RequireRole<Founder>,
    Path(id): Path<ProjectId>,
) -> Result<ApiJson<Project>> {
    Ok(ApiJson(
        super::founder_cancel(&state.db, &founder, id).await?,
    ))
}

/// The id of a new tier.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Created {
    #[schema(value_type = String, format = Uuid)]
    pub id: TierId,
}

/// Adds a reward tier (to a draft, or to a live project as a revision).
#[utoipa::path(post, path = "/api/v1/projects/{id}/tiers", tag = "projects", security(("bearer" = [])),
    params(("id" = String, Path)), request_body = TierInput,
    responses((status = 201, body = Created), (status = 404), (status = 409), (status = 422),
              (status = 403, description = "not a founder")))]
pub async fn add_tier(
    State(state): State<AppState>,
    RequireRole { 0: founder, .. }: RequireRole<Founder>,
    Path(id): Path<ProjectId>,
    ApiJson(body): ApiJson<TierInput>,
) -> Result<(StatusCode, ApiJson<Created>)> {
    let tier = super::add_tier(&state.db, &founder, id, body.parse()?).await?;
    Ok((StatusCode::CREATED, ApiJson(Created { id: tier })))
}

/// Removes an unclaimed tier from a draft.
#[utoipa::path(delete, path = "/api/v1/projects/{id}/tiers/{tier}", tag = "projects", security(("bearer" = [])),
    params(("id" = String, Path), ("tier" = String, Path)),
    responses((status = 204), (status = 404), (status = 409, description = "not a draft"),
              (status = 403, description = "not a founder")))]
pub async fn delete_tier(
    State(state): State<AppState>,
    RequireRole { 0: founder, .. }: RequireRole<Founder>,
    Path((id, tier)): Path<(ProjectId, TierId)>,
) -> Result<StatusCode> {
    super::delete_tier(&state.db, &founder, id, tier).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Body of `POST /api/v1/projects/{id}/updates`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct UpdateInput {
    pub title: String,
    /// Markdown.
    pub body: String,
    #[serde(default)]
    pub backers_only: bool,
}

/// Posts an update (public, or for backers only).
#[utoipa::path(post, path = "/api/v1/projects/{id}/updates", tag = "projects", security(("bearer" = [])),
    params(("id" = String, Path)), request_body = UpdateInput,
    responses((status = 201, body = Update), (status = 404), (status = 409), (status = 422),
              (status = 403, description = "not a founder")))]
pub async fn post_update(
    State(state): State<AppState>,
    RequireRole { 0: founder, .. }: RequireRole<Founder>,
    Path(id): Path<ProjectId>,
    ApiJson(body): ApiJson<UpdateInput>,
) -> Result<(StatusCode, ApiJson<Update>)> {
    let update = super::post_update(
        &state.db,
        &founder,
        id,
        &body.title,
        &body.body,
        body.backers_only,
    )
    .await?;
    Ok((StatusCode::CREATED, ApiJson(update)))
}

/// Uploads the cover (multipart field `cover`: PNG, JPEG, WebP or GIF, at most 2 MiB).
#[utoipa::path(put, path = "/api/v1/projects/{id}/cover", tag = "projects", security(("bearer" = [])),
    params(("id" = String, Path)),
    request_body(content_type = "multipart/form-data", content = CoverUpload, description = "field `cover`: the image"),
    responses((status = 204), (status = 400, description = "not a multipart/form-data body with a `cover` field"),
              (status = 404), (status = 413, description = "over 2 MiB"),
              (status = 422, description = "not a PNG, JPEG, WebP or GIF image"),
              (status = 403, description = "not a founder")))]
pub async fn upload_cover(
    State(state): State<AppState>,
    RequireRole { 0: founder, .. }: RequireRole<Founder>,
    Path(id): Path<ProjectId>,
    form: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> Result<StatusCode> {
    // A body that is not multipart is the client's mistake, answered as a problem like any other.
    let form = form.map_err(|e| Error::BadRequest(Message::Text(e.body_text())))?;
    super::owned(&state.db, id, &founder).await?;
    let upload = upload::read(form).await?;
    super::set_cover(&state.db, &founder, id, &upload.cover).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The signed-in founder's projects, in every state.
#[utoipa::path(get, path = "/api/v1/me/projects", tag = "projects", security(("bearer" = [])),
    responses((status = 200, body = [Project]), (status = 401), (status = 403)))]
pub async fn mine(
    State(state): State<AppState>,
    RequireRole { 0: founder, .. }: RequireRole<Founder>,
) -> Result<ApiJson<Vec<Project>>> {
    Ok(ApiJson(repo::by_founder(&state.db, founder.user.id).await?))
}
