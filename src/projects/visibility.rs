//! Who may see a project: the one visibility rule, and the lookups that apply it.

use sqlx::PgPool;
use time::OffsetDateTime;

use super::repo::{self, Project};
use super::{capacity, ProjectId, ProjectState};
use crate::accounts::domain::Role;
use crate::accounts::AuthUser;
use crate::error::{Error, Result};
use crate::ids::UserId;

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
    db: &PgPool,
    id: ProjectId,
    viewer: Option<&AuthUser>,
) -> Result<capacity::PledgeTarget> {
    capacity::pledge_target(db, id)
        .await?
        .filter(|t| can_view_target(t, viewer, OffsetDateTime::now_utc()))
        .ok_or(Error::NotFound)
}

/// A project `viewer` may see, by id or slug; 404 otherwise.
pub async fn visible(db: &PgPool, key: &str, viewer: Option<&AuthUser>) -> Result<Project> {
    let project = repo::find_by_key(db, key).await?.ok_or(Error::NotFound)?;
    if can_view(&project, viewer, OffsetDateTime::now_utc()) {
        Ok(project)
    } else {
        Err(Error::NotFound)
    }
}
