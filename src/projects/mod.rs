//! Listings: projects, their states, reward tiers and equity offerings; browsing and search;
//! the founder's tools. Who may do what is decided here, for the API and the pages alike.

pub mod api;
pub mod cover;
pub mod domain;
pub mod lifecycle;
pub mod markdown;
pub mod pages;
pub mod repo;
pub mod search;

pub mod capacity;
pub mod settling;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::accounts::domain::{Role, UserId};
use crate::accounts::AuthUser;
use crate::app::AppState;
use crate::error::{Error, Message, Result};
use domain::NewTier;
use lifecycle::Action;
use repo::{Changes, NewProject, Project};

pub use crate::ids::{ProjectId, TierId};

/// What backers get: rewards, or shares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ProjectKind {
    Reward,
    Equity,
}

impl ProjectKind {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            ProjectKind::Reward => "reward",
            ProjectKind::Equity => "equity",
        }
    }

    /// Parses a stored or submitted name.
    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "reward" => Some(ProjectKind::Reward),
            "equity" => Some(ProjectKind::Equity),
            _ => None,
        }
    }
}

/// Where a project is in its life (see DESIGN.md, "States").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ProjectState {
    Draft,
    InReview,
    Live,
    Frozen,
    Settling,
    Funded,
    Failed,
    Cancelled,
}

impl ProjectState {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            ProjectState::Draft => "draft",
            ProjectState::InReview => "in_review",
            ProjectState::Live => "live",
            ProjectState::Frozen => "frozen",
            ProjectState::Settling => "settling",
            ProjectState::Funded => "funded",
            ProjectState::Failed => "failed",
            ProjectState::Cancelled => "cancelled",
        }
    }

    /// Parses a stored name.
    pub fn parse(raw: &str) -> Option<Self> {
        Some(match raw {
            "draft" => ProjectState::Draft,
            "in_review" => ProjectState::InReview,
            "live" => ProjectState::Live,
            "frozen" => ProjectState::Frozen,
            "settling" => ProjectState::Settling,
            "funded" => ProjectState::Funded,
            "failed" => ProjectState::Failed,
            "cancelled" => ProjectState::Cancelled,
            _ => return None,
        })
    }

    /// Whether the project has reached an end state.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            ProjectState::Funded | ProjectState::Failed | ProjectState::Cancelled
        )
    }
}

/// Whether `viewer` may see `project`: its founder always; a regulator or an auditor once it was
/// submitted; everyone else once it has launched. Anything else is answered as if it did not
/// exist. Every route that shows a project or its data asks this (or [`can_view_target`]).
pub fn can_view(project: &Project, viewer: Option<&AuthUser>, now: OffsetDateTime) -> bool {
    may_see(
        project.founder_id,
        project.state,
        project.launched_at,
        viewer,
        now,
    )
}

/// [`can_view`] for the pledging room's view of a project.
pub fn can_view_target(
    target: &capacity::PledgeTarget,
    viewer: Option<&AuthUser>,
    now: OffsetDateTime,
) -> bool {
    may_see(
        target.founder,
        target.state,
        target.launched_at,
        viewer,
        now,
    )
}

/// Whether a project is public: it has been launched (whatever happened since).
pub fn is_public(
    state: ProjectState,
    launched_at: Option<OffsetDateTime>,
    now: OffsetDateTime,
) -> bool {
    launched_at.is_some_and(|t| t <= now)
        && !matches!(state, ProjectState::Draft | ProjectState::InReview)
}

/// The one visibility rule, on the fields it needs.
fn may_see(
    founder: UserId,
    state: ProjectState,
    launched_at: Option<OffsetDateTime>,
    viewer: Option<&AuthUser>,
    now: OffsetDateTime,
) -> bool {
    if is_public(state, launched_at, now) {
        return true;
    }
    match viewer {
        Some(user) if user.user.id == founder => true,
        // Auditors check the ledger, not the review queue: they see what the public sees.
        Some(user) if user.user.has_role(Role::Regulator) => state != ProjectState::Draft,
        _ => false,
    }
}

/// The project `id` as the pledging room sees it, if `viewer` may see it; 404 otherwise.
pub async fn visible_target(
    state: &AppState,
    id: ProjectId,
    viewer: Option<&AuthUser>,
) -> Result<capacity::PledgeTarget> {
    capacity::pledge_target(&state.db, id)
        .await?
        .filter(|t| can_view_target(t, viewer, OffsetDateTime::now_utc()))
        .ok_or(Error::NotFound)
}

/// A project `viewer` may see, by id or slug; 404 otherwise.
pub async fn visible(state: &AppState, key: &str, viewer: Option<&AuthUser>) -> Result<Project> {
    let project = repo::find_by_key(&state.db, key)
        .await?
        .ok_or(Error::NotFound)?;
    if can_view(&project, viewer, OffsetDateTime::now_utc()) {
        Ok(project)
    } else {
        Err(Error::NotFound)
    }
}

/// Checks that `founder` owns the locked `project`: 404 when they may not even see it, 403 when
/// it is someone else's public project.
fn check_owner(project: &Project, founder: &AuthUser) -> Result<()> {
    if project.founder_id == founder.user.id {
        Ok(())
    } else if can_view(project, Some(founder), OffsetDateTime::now_utc()) {
        Err(Error::Forbidden)
    } else {
        Err(Error::NotFound)
    }
}

/// A founder's own project, for reading in their tools.
pub async fn owned(state: &AppState, id: ProjectId, founder: &AuthUser) -> Result<Project> {
    let project = repo::find(&state.db, id).await?.ok_or(Error::NotFound)?;
    check_owner(&project, founder)?;
    Ok(project)
}

/// Creates a draft for `founder`.
pub async fn create(state: &AppState, founder: &AuthUser, new: NewProject) -> Result<Project> {
    match (new.kind, &new.offering) {
        (ProjectKind::Equity, None) => {
            return Err(Error::Invalid(Message::Key(
                "projects.error.offering_required",
            )))
        }
        (ProjectKind::Reward, Some(_)) => {
            return Err(Error::Invalid(Message::Key(
                "projects.error.offering_for_reward",
            )))
        }
        _ => {}
    }
    if new.kind == ProjectKind::Equity && !new.tiers.is_empty() {
        return Err(Error::Invalid(Message::Key(
            "projects.error.tiers_for_equity",
        )));
    }
    let id = repo::create(&state.db, founder.user.id, new).await?;
    repo::find(&state.db, id).await?.ok_or(Error::NotFound)
}

/// Edits a project: anything while it is a draft; once live, only the story (kept as a dated
/// revision); nothing while it is in review or after it has ended.
pub async fn edit(
    state: &AppState,
    founder: &AuthUser,
    id: ProjectId,
    changes: Changes,
) -> Result<Project> {
    let mut tx = state.db.begin().await?;
    let project = repo::lock(&mut tx, id).await?.ok_or(Error::NotFound)?;
    check_owner(&project, founder)?;
    match project.state {
        ProjectState::Draft => {
            if changes.offering.is_some() && project.kind != ProjectKind::Equity {
                return Err(Error::Invalid(Message::Key(
                    "projects.error.offering_for_reward",
                )));
            }
            if changes.goal.is_some() && project.kind == ProjectKind::Equity {
                return Err(Error::Invalid(Message::Key(
                    "projects.error.goal_for_equity",
                )));
            }
            repo::apply(&mut tx, &project, &changes).await?;
        }
        ProjectState::Live | ProjectState::Frozen => {
            if changes.touches_more_than_story() {
                return Err(Error::Invalid(Message::Key("projects.error.live_locked")));
            }
            if let Some(story) = &changes.story {
                if *story != project.story {
                    repo::add_revision(&mut tx, id, "story", &project.story, "").await?;
                    repo::apply(&mut tx, &project, &changes).await?;
                }
            }
        }
        ProjectState::InReview => {
            return Err(Error::Conflict(Message::Key(
                "projects.error.in_review_locked",
            )))
        }
        _ => return Err(Error::Conflict(Message::Key("projects.error.closed"))),
    }
    tx.commit().await?;
    repo::find(&state.db, id).await?.ok_or(Error::NotFound)
}

/// Adds a reward tier: freely to a draft, and to a live project as a dated revision.
pub async fn add_tier(
    state: &AppState,
    founder: &AuthUser,
    id: ProjectId,
    tier: NewTier,
) -> Result<TierId> {
    let mut tx = state.db.begin().await?;
    let project = repo::lock(&mut tx, id).await?.ok_or(Error::NotFound)?;
    check_owner(&project, founder)?;
    if project.kind != ProjectKind::Reward {
        return Err(Error::Invalid(Message::Key(
            "projects.error.tiers_for_equity",
        )));
    }
    let tier_id = match project.state {
        ProjectState::Draft => repo::add_tier(&mut tx, id, &tier).await?,
        ProjectState::Live | ProjectState::Frozen => {
            let tier_id = repo::add_tier(&mut tx, id, &tier).await?;
            repo::add_revision(&mut tx, id, "tier", "", &tier.title).await?;
            tier_id
        }
        ProjectState::InReview => {
            return Err(Error::Conflict(Message::Key(
                "projects.error.in_review_locked",
            )))
        }
        _ => return Err(Error::Conflict(Message::Key("projects.error.closed"))),
    };
    tx.commit().await?;
    Ok(tier_id)
}

/// Removes a tier from a draft.
pub async fn delete_tier(
    state: &AppState,
    founder: &AuthUser,
    id: ProjectId,
    tier: TierId,
) -> Result<()> {
    let mut tx = state.db.begin().await?;
    let project = repo::lock(&mut tx, id).await?.ok_or(Error::NotFound)?;
    check_owner(&project, founder)?;
    if project.state != ProjectState::Draft {
        return Err(Error::Conflict(Message::Key(
            "projects.error.tier_delete_draft_only",
        )));
    }
    if !repo::delete_tier(&mut tx, id, tier).await? {
        return Err(Error::NotFound);
    }
    tx.commit().await?;
    Ok(())
}

/// The founder asks for review: the listing must be complete and its deadline still possible.
pub async fn submit(state: &AppState, founder: &AuthUser, id: ProjectId) -> Result<Project> {
    let mut tx = state.db.begin().await?;
    let project = repo::lock(&mut tx, id).await?.ok_or(Error::NotFound)?;
    check_owner(&project, founder)?;
    let to = lifecycle::next_state(project.state, Action::Submit)?;
    match project.kind {
        ProjectKind::Reward if repo::tier_count(&mut tx, id).await? == 0 => {
            return Err(Error::Invalid(Message::Key("projects.error.no_tiers")))
        }
        ProjectKind::Equity if !repo::has_offering(&mut tx, id).await? => {
            return Err(Error::Invalid(Message::Key(
                "projects.error.offering_required",
            )))
        }
        _ => {}
    }
    let deadline = project
        .deadline
        .ok_or_else(|| Error::Invalid(Message::Key("projects.error.deadline_soon")))?;
    domain::check_campaign(
        OffsetDateTime::now_utc(),
        deadline,
        state.settings.min_campaign_seconds,
    )?;
    // The rejection note stays visible to the founder until the next review decision.
    repo::set_state(&mut tx, id, to, project.review_note.as_deref(), None).await?;
    tx.commit().await?;
    repo::find(&state.db, id).await?.ok_or(Error::NotFound)
}

/// The founder withdraws a project that has not launched.
pub async fn founder_cancel(
    state: &AppState,
    founder: &AuthUser,
    id: ProjectId,
) -> Result<Project> {
    let mut tx = state.db.begin().await?;
    let project = repo::lock(&mut tx, id).await?.ok_or(Error::NotFound)?;
    check_owner(&project, founder)?;
    let to = lifecycle::next_state(project.state, Action::FounderCancel)?;
    repo::set_state(&mut tx, id, to, None, None).await?;
    tx.commit().await?;
    repo::find(&state.db, id).await?.ok_or(Error::NotFound)
}

/// Posts an update on a project that has been submitted.
pub async fn post_update(
    state: &AppState,
    founder: &AuthUser,
    id: ProjectId,
    title: &str,
    body: &str,
    backers_only: bool,
) -> Result<repo::Update> {
    let project = owned(state, id, founder).await?;
    if project.state == ProjectState::Draft {
        return Err(Error::Conflict(Message::Key("projects.error.update_draft")));
    }
    let title = domain::text(title, 1, 120, "projects.error.update_title")?;
    let body = domain::text(body, 1, 20_000, "projects.error.update_body")?;
    repo::add_update(&state.db, id, &title, &body, backers_only).await
}

/// Stores a cover; a draft's only, since once submitted the listing is what was reviewed.
pub async fn set_cover(
    state: &AppState,
    founder: &AuthUser,
    id: ProjectId,
    upload: &cover::Upload,
) -> Result<()> {
    let project = owned(state, id, founder).await?;
    if project.state != ProjectState::Draft {
        return Err(Error::Conflict(Message::Key(
            "projects.error.cover_draft_only",
        )));
    }
    repo::put_cover(&state.db, id, upload.content_type, &upload.bytes).await
}
