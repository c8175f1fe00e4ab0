//! Profiles: `/u/{id}` and `GET /api/v1/users/{id}` (name, bio, avatar, projects launched,
//! number backed and, when the user made it public, the list), the avatar image, and the
//! regulator's identity verification (`POST /api/v1/regulator/users/{id}/verify-identity`, a
//! button on the profile through a confirmation). A deleted account's profile is gone (404).

use askama::Template;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
use serde::{Deserialize, Serialize};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::accounts::avatar;
use crate::accounts::domain::Role;
use crate::accounts::profile::{self, Profile};
use crate::app::AppState;
use crate::http::confirm::{is_confirmed, Carried, Confirm};
use crate::http::csrf::CsrfForm;
use crate::http::error::{Error, Result};
use crate::http::extract::{ApiJson, MaybeUser, Path, Regulator, RequireRole};
use crate::http::pages::{render, with_notice, Chrome};
use crate::ids::{ProjectId, UserId};
use crate::pledges::{lists, PledgeState};
use crate::projects::{repo, ProjectState};
use crate::supervision::identity;

/// Most launched projects and backed projects a profile lists.
pub const LIST_LIMIT: usize = 100;

/// API routes of profiles, relative to `/api/v1`.
pub fn api_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(user_api))
        .routes(routes!(verify_api))
}

/// A project as a profile lists it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ProjectLink {
    #[schema(value_type = String, format = Uuid)]
    pub id: ProjectId,
    pub title: String,
    /// Where its page is (`/projects/{slug or id}`).
    pub path: String,
    pub state: Option<ProjectState>,
}

/// A user's public profile.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PublicProfile {
    #[serde(flatten)]
    pub profile: Profile,
    /// Projects the user launched that are live or finished (at most 100).
    pub launched: Vec<ProjectLink>,
    /// How many projects the user backed.
    pub backed_count: usize,
    /// The projects backed (at most 100), only when the user made the list public.
    pub backed: Option<Vec<ProjectLink>>,
}

async fn public_profile(state: &AppState, id: UserId) -> Result<PublicProfile> {
    let profile = profile::public(&state.db, id)
        .await?
        .ok_or(Error::NotFound)?;
    let launched = repo::by_founder(&state.db, id)
        .await?
        .into_iter()
        .filter(|p| {
            matches!(
                p.state,
                ProjectState::Live
                    | ProjectState::Settling
                    | ProjectState::Funded
                    | ProjectState::Failed
            )
        })
        .take(LIST_LIMIT)
        .map(|p| ProjectLink {
            id: p.id,
            path: format!("/projects/{}", p.slug),
            title: p.title,
            state: Some(p.state),
        })
        .collect();
    let mut backed: Vec<ProjectLink> = Vec::new();
    for pledge in lists::for_backer(&state.db, id).await? {
        let counts = !matches!(pledge.pledge.state, PledgeState::Cancelled);
        if counts && !backed.iter().any(|b| b.id == pledge.pledge.project_id) {
            backed.push(ProjectLink {
                id: pledge.pledge.project_id,
                path: format!("/projects/{}", pledge.pledge.project_id.0),
                title: pledge.project_title,
                state: None,
            });
        }
    }
    let backed_count = backed.len();
    backed.truncate(LIST_LIMIT);
    Ok(PublicProfile {
        backed: profile.backed_public.then_some(backed),
        backed_count,
        launched,
        profile,
    })
}

/// A user's public profile.
#[utoipa::path(get, path = "/api/v1/users/{id}", tag = "accounts",
    params(("id" = String, Path, description = "the user's id")),
    responses((status = 200, body = PublicProfile),
              (status = 404, description = "no such user (or not a user id), or the account was deleted")))]
pub async fn user_api(
    State(state): State<AppState>,
    Path(id): Path<UserId>,
) -> Result<ApiJson<PublicProfile>> {
    Ok(ApiJson(public_profile(&state, id).await?))
}

/// Body of an identity verification.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct VerifyInput {
    /// What was checked (at most 500 characters); a standard reason when left out.
    #[schema(max_length = 500)]
    pub reason: Option<String>,
}

/// The recorded verification.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Verified {
    /// The hash of its ledger entry, in hex.
    pub tx_hash: String,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub at: time::OffsetDateTime,
}

/// Verifies a person's identity: the profile shows the badge; the action goes on the ledger.
#[utoipa::path(post, path = "/api/v1/regulator/users/{id}/verify-identity", tag = "supervision",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "the user's id")),
    request_body = VerifyInput,
    responses((status = 200, body = Verified),
              (status = 401, description = "not signed in"),
              (status = 403, description = "not a regulator"),
              (status = 404, description = "no such user (or not a user id), or the account was deleted"),
              (status = 409, description = "the identity is verified already"),
              (status = 422, description = "a reason longer than 500 characters")))]
pub async fn verify_api(
    State(state): State<AppState>,
    RequireRole { 0: regulator, .. }: RequireRole<Regulator>,
    Path(id): Path<UserId>,
    ApiJson(body): ApiJson<VerifyInput>,
) -> Result<ApiJson<Verified>> {
    let recorded = identity::verify(
        &state.db,
        &state.ledger,
        regulator.user.id,
        id,
        body.reason.as_deref(),
    )
    .await?;
    Ok(ApiJson(Verified {
        tx_hash: hex::encode(recorded.tx_hash),
        at: recorded.at,
    }))
}

#[derive(Template)]
#[template(path = "accounts/profile.html")]
struct ProfilePage {
    chrome: Chrome,
    shown: PublicProfile,
    id: String,
    joined: String,
    verified: Option<String>,
    /// The reader may verify this identity (a regulator, and it is not verified yet).
    may_verify: bool,
}

/// `GET /u/{id}`.
pub async fn profile_page(
    State(state): State<AppState>,
    chrome: Chrome,
    MaybeUser(reader): MaybeUser,
    Path(id): Path<UserId>,
) -> Result<Response> {
    let shown = public_profile(&state, id).await?;
    let is_regulator = reader.is_some_and(|r| r.user.has_role(Role::Regulator));
    let verified = shown
        .profile
        .identity_verified_at
        .as_ref()
        .map(|at| chrome.moment(at));
    render(&ProfilePage {
        id: id.0.to_string(),
        joined: chrome.moment(&shown.profile.created_at),
        may_verify: is_regulator && verified.is_none(),
        verified,
        shown,
        chrome,
    })
}

/// `GET /u/{id}/avatar`: the image, cached for a day (its address changes with nothing, so
/// revalidation uses `Last-Modified`).
pub async fn avatar_image(
    State(state): State<AppState>,
    Path(id): Path<UserId>,
) -> Result<Response> {
    profile::public(&state.db, id)
        .await?
        .ok_or(Error::NotFound)?;
    let stored = avatar::load(&state.db, id).await?.ok_or(Error::NotFound)?;
    let modified = stored
        .updated_at
        .format(&time::format_description::well_known::Rfc2822)
        .unwrap_or_default();
    Ok((
        [
            (header::CONTENT_TYPE, stored.content_type),
            (header::CACHE_CONTROL, "public, max-age=86400".to_owned()),
            (header::LAST_MODIFIED, modified),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_owned()),
        ],
        stored.bytes,
    )
        .into_response())
}

/// The verification form as posted.
#[derive(Deserialize)]
pub struct VerifyFields {
    #[serde(default)]
    reason: String,
    #[serde(default)]
    confirm: Option<String>,
}

/// `POST /u/{id}/verify-identity`: the regulator's button, through a confirmation.
pub async fn verify_page(
    State(state): State<AppState>,
    chrome: Chrome,
    RequireRole { 0: regulator, .. }: RequireRole<Regulator>,
    Path(id): Path<UserId>,
    CsrfForm(form): CsrfForm<VerifyFields>,
) -> Result<Response> {
    let shown = profile::public(&state.db, id)
        .await?
        .ok_or(Error::NotFound)?;
    let path = format!("/u/{}", id.0);
    if !is_confirmed(form.confirm.as_deref()) {
        return Confirm {
            heading: chrome.t.get("account.verify.heading").to_owned(),
            subject: shown.display_name,
            consequence: chrome.t.get("account.verify.consequence").to_owned(),
            action: format!("{path}/verify-identity"),
            fields: vec![Carried::shown(
                "reason",
                chrome.t.get("account.verify.reason"),
                &form.reason,
            )],
            back: path,
            danger: false,
            chrome,
        }
        .respond();
    }
    let reason = Some(form.reason.as_str()).filter(|r| !r.trim().is_empty());
    identity::verify(&state.db, &state.ledger, regulator.user.id, id, reason).await?;
    Ok(Redirect::to(&with_notice(&path, "account.identity_verified")).into_response())
}
