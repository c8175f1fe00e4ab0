//! `/api/v1/projects` and `/api/v1/me/projects`: listings for founders and everyone.

use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouterExt};
use utoipa_axum::routes;

use axum::extract::{DefaultBodyLimit, Multipart, Query, State};
use axum::http::StatusCode;
use serde::Serialize;
use std::sync::Arc;
use time::OffsetDateTime;

use super::pages::upload::{self, UPLOAD_BODY_LIMIT};
use super::repo::{self, Project, Update};
use super::{views, ProjectId, TierId};
use crate::accounts::AuthUser;
use crate::app::AppState;
use crate::http::error::{Error, Message, Result};
use crate::http::extract::{ApiJson, Founder, MaybeUser, Path, RequireRole};
use crate::i18n::Lang;

mod addons;
mod input;
mod query;

pub use super::views::ProjectDetail;
pub use input::{
    parse_changes, parse_new, CoverUpload, CreateProject, EditProject, OfferingInput,
    ShippingInput, TierInput, UpdateInput,
};
pub use query::{ListQuery, ProjectPage, PER_PAGE};

/// Routes of this room, relative to `/api/v1`.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create, list))
        .routes(routes!(show, edit))
        .routes(routes!(submit))
        .routes(routes!(cancel))
        .routes(routes!(add_tier))
        .routes(routes!(delete_tier))
        .routes(routes!(addons::add_addon, addons::list_addons))
        .routes(routes!(post_update))
        .routes(routes!(upload_cover).layer(DefaultBodyLimit::max(UPLOAD_BODY_LIMIT)))
        .routes(routes!(mine))
}

/// Everything the page of `project` shows, backers-only updates when `include_backers_only`.
pub async fn detail(
    state: &AppState,
    project: Project,
    include_backers_only: bool,
) -> Result<ProjectDetail> {
    Ok(ProjectDetail::load(&state.db, project, include_backers_only).await?)
}

/// The project `key` (id or slug) as `viewer` may see it, with the ledger's current size; 404
/// when they may not. One query, or none for an anonymous visitor when a recent view is kept.
/// Texts are in `lang` where the project has them; `None` gives the originals, which the API
/// answers (a client reads the project as its founder wrote it).
pub async fn visible_detail(
    state: &AppState,
    key: &str,
    viewer: Option<&AuthUser>,
    lang: Option<Lang>,
) -> Result<Arc<(ProjectDetail, u64)>> {
    let kept_as = views::key(key, lang);
    if viewer.is_none() {
        if let Some(view) = state.public_views.get(&kept_as) {
            return Ok(view);
        }
    }
    let (project, mut parts) = repo::view(&state.db, key, viewer.map(|v| v.user.id), lang)
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
            parts = repo::parts(&state.db, project.id, true, lang).await?;
        }
    }
    let view = Arc::new(ProjectDetail::assemble(project, parts));
    if viewer.is_none() {
        state.public_views.insert(kept_as, view.clone());
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

/// Browses and searches public projects.
#[utoipa::path(get, path = "/api/v1/projects", tag = "projects", params(ListQuery),
    responses((status = 200, body = ProjectPage), (status = 400, description = "bad filter")))]
pub async fn list(
    State(state): State<AppState>,
    Query(query): Query<ListQuery>,
) -> Result<ApiJson<ProjectPage>> {
    let filter = query.filter()?;
    let (projects, has_more) = repo::browse(&state.db, &filter, None).await?;
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
        visible_detail(&state, &key, viewer.as_ref(), None)
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
    responses((status = 204), (status = 404),
              (status = 409, description = "not a draft, or an add-on names the tier"),
              (status = 403, description = "not a founder")))]
pub async fn delete_tier(
    State(state): State<AppState>,
    RequireRole { 0: founder, .. }: RequireRole<Founder>,
    Path((id, tier)): Path<(ProjectId, TierId)>,
) -> Result<StatusCode> {
    super::delete_tier(&state.db, &founder, id, tier).await?;
    Ok(StatusCode::NO_CONTENT)
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
