//! What a founder does to their own listing: draft it, edit it, add and remove tiers, submit it
//! for review, withdraw it, post updates, set its cover. Each change runs in one transaction on
//! the locked project, so the state it checks is the state it changes.

use sqlx::PgPool;
use time::OffsetDateTime;

use super::cover::Cover;
use super::domain::{self, NewTier};
use super::lifecycle::{self, Action};
use super::repo::{self, Changes, NewProject, Project};
use super::{can_view, ProjectId, ProjectKind, ProjectState, TierId};
use crate::accounts::AuthUser;
use crate::config::Settings;
use crate::error::{Error, Result};

/// Checks that `founder` owns the locked `project`: 404 when they may not even see it, 403 when
/// it is someone else's public project.
pub(super) fn check_owner(project: &Project, founder: &AuthUser) -> Result<()> {
    if project.founder_id == founder.user.id {
        Ok(())
    } else if can_view(project, Some(founder), OffsetDateTime::now_utc()) {
        Err(Error::Forbidden)
    } else {
        Err(Error::NotFound)
    }
}

/// The refusal for a change to a project that is in review or has ended.
pub(super) fn locked(state: ProjectState) -> Error {
    if state == ProjectState::InReview {
        Error::conflict("projects.error.in_review_locked")
    } else {
        Error::conflict("projects.error.closed")
    }
}

/// A founder's own project, for reading in their tools.
pub async fn owned(db: &PgPool, id: ProjectId, founder: &AuthUser) -> Result<Project> {
    let project = repo::find(db, id).await?.ok_or(Error::NotFound)?;
    check_owner(&project, founder)?;
    Ok(project)
}

/// Creates a draft for `founder`.
pub async fn create(db: &PgPool, founder: &AuthUser, new: NewProject) -> Result<Project> {
    match (new.kind, &new.offering) {
        (ProjectKind::Equity, None) => {
            return Err(Error::invalid("projects.error.offering_required"))
        }
        (ProjectKind::Reward, Some(_)) => {
            return Err(Error::invalid("projects.error.offering_for_reward"))
        }
        _ => {}
    }
    if new.kind == ProjectKind::Equity && !new.tiers.is_empty() {
        return Err(Error::invalid("projects.error.tiers_for_equity"));
    }
    let id = repo::create(db, founder.user.id, new).await?;
    repo::find(db, id).await?.ok_or(Error::NotFound)
}

/// Edits a project: anything while it is a draft; once live, only the story (kept as a dated
/// revision); nothing while it is in review or after it has ended.
pub async fn edit(
    db: &PgPool,
    founder: &AuthUser,
    id: ProjectId,
    changes: Changes,
) -> Result<Project> {
    let mut tx = db.begin().await?;
    let project = repo::lock(&mut tx, id).await?.ok_or(Error::NotFound)?;
    check_owner(&project, founder)?;
    match project.state {
        ProjectState::Draft => {
            if changes.offering.is_some() && project.kind != ProjectKind::Equity {
                return Err(Error::invalid("projects.error.offering_for_reward"));
            }
            if changes.goal.is_some() && project.kind == ProjectKind::Equity {
                return Err(Error::invalid("projects.error.goal_for_equity"));
            }
            repo::apply(&mut tx, &project, &changes).await?;
        }
        ProjectState::Live | ProjectState::Frozen => {
            if changes.touches_more_than_story() {
                return Err(Error::invalid("projects.error.live_locked"));
            }
            if let Some(story) = &changes.story {
                if *story != project.story {
                    repo::add_revision(&mut tx, id, "story", &project.story, "").await?;
                    repo::apply(&mut tx, &project, &changes).await?;
                    repo::forget_translated_stories(&mut tx, id).await?;
                }
            }
        }
        state => return Err(locked(state)),
    }
    tx.commit().await?;
    repo::find(db, id).await?.ok_or(Error::NotFound)
}

/// Adds a reward tier: freely to a draft, and to a live project as a dated revision.
pub async fn add_tier(
    db: &PgPool,
    founder: &AuthUser,
    id: ProjectId,
    tier: NewTier,
) -> Result<TierId> {
    let mut tx = db.begin().await?;
    let project = repo::lock(&mut tx, id).await?.ok_or(Error::NotFound)?;
    check_owner(&project, founder)?;
    if project.kind != ProjectKind::Reward {
        return Err(Error::invalid("projects.error.tiers_for_equity"));
    }
    let tier_id = match project.state {
        ProjectState::Draft => repo::add_tier(&mut tx, id, &tier).await?,
        ProjectState::Live | ProjectState::Frozen => {
            let tier_id = repo::add_tier(&mut tx, id, &tier).await?;
            repo::add_revision(&mut tx, id, "tier", "", &tier.title).await?;
            tier_id
        }
        state => return Err(locked(state)),
    };
    tx.commit().await?;
    Ok(tier_id)
}

/// Removes a tier from a draft.
pub async fn delete_tier(
    db: &PgPool,
    founder: &AuthUser,
    id: ProjectId,
    tier: TierId,
) -> Result<()> {
    let mut tx = db.begin().await?;
    let project = repo::lock(&mut tx, id).await?.ok_or(Error::NotFound)?;
    check_owner(&project, founder)?;
    if project.state != ProjectState::Draft {
        return Err(Error::conflict("projects.error.tier_delete_draft_only"));
    }
    if !repo::delete_tier(&mut tx, id, tier).await? {
        return Err(Error::NotFound);
    }
    tx.commit().await?;
    Ok(())
}

/// The founder asks for review: the listing must be complete and its deadline still possible
/// (at least `settings.min_campaign_seconds` away).
pub async fn submit(
    db: &PgPool,
    settings: &Settings,
    founder: &AuthUser,
    id: ProjectId,
) -> Result<Project> {
    let mut tx = db.begin().await?;
    let project = repo::lock(&mut tx, id).await?.ok_or(Error::NotFound)?;
    check_owner(&project, founder)?;
    let to = lifecycle::next_state(project.state, Action::Submit)?;
    match project.kind {
        ProjectKind::Reward if repo::tier_count(&mut tx, id).await? == 0 => {
            return Err(Error::invalid("projects.error.no_tiers"))
        }
        ProjectKind::Equity if !repo::has_offering(&mut tx, id).await? => {
            return Err(Error::invalid("projects.error.offering_required"))
        }
        _ => {}
    }
    let deadline = project
        .deadline
        .ok_or_else(|| Error::invalid("projects.error.deadline_soon"))?;
    domain::check_campaign(
        OffsetDateTime::now_utc(),
        deadline,
        settings.min_campaign_seconds,
    )?;
    // The rejection note stays visible to the founder until the next review decision.
    repo::set_state(&mut tx, id, to, project.review_note.as_deref(), None).await?;
    tx.commit().await?;
    repo::find(db, id).await?.ok_or(Error::NotFound)
}

/// The founder withdraws a project that has not launched.
pub async fn founder_cancel(db: &PgPool, founder: &AuthUser, id: ProjectId) -> Result<Project> {
    let mut tx = db.begin().await?;
    let project = repo::lock(&mut tx, id).await?.ok_or(Error::NotFound)?;
    check_owner(&project, founder)?;
    let to = lifecycle::next_state(project.state, Action::FounderCancel)?;
    repo::set_state(&mut tx, id, to, None, None).await?;
    tx.commit().await?;
    repo::find(db, id).await?.ok_or(Error::NotFound)
}

/// Posts an update on a project that has been submitted.
pub async fn post_update(
    db: &PgPool,
    founder: &AuthUser,
    id: ProjectId,
    title: &str,
    body: &str,
    backers_only: bool,
) -> Result<repo::Update> {
    let project = owned(db, id, founder).await?;
    if project.state == ProjectState::Draft {
        return Err(Error::conflict("projects.error.update_draft"));
    }
    let title = domain::text(title, 1, 120, "projects.error.update_title")?;
    let body = domain::text(body, 1, 20_000, "projects.error.update_body")?;
    repo::add_update(db, id, &title, &body, backers_only).await
}

/// Stores a cover; a draft's only, since once submitted the listing is what was reviewed.
pub async fn set_cover(
    db: &PgPool,
    founder: &AuthUser,
    id: ProjectId,
    cover: &Cover,
) -> Result<()> {
    let project = owned(db, id, founder).await?;
    if project.state != ProjectState::Draft {
        return Err(Error::conflict("projects.error.cover_draft_only"));
    }
    repo::put_cover(db, id, cover.content_type, &cover.bytes).await
}
