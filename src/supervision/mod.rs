//! The regulator's actions on listings, and their trail. Every action is recorded with who took
//! it, when and why, and anchored on the public ledger in the same transaction as the change.
//!
//! This file is the domain: it takes the pool, the ledger and the settings it needs. `api` and
//! `pages` are its handlers (they also forget the anonymous views an action makes stale).

pub mod api;
pub mod auctions;
pub mod comments;
pub mod identity;
pub mod pages;
pub mod record;

use serde_json::json;
use sqlx::PgPool;
use time::OffsetDateTime;

use crate::accounts::AuthUser;
use crate::community::reminders;
use crate::config::Settings;
use crate::error::{Error, Message, Result};
use crate::ledger::Ledger;
use crate::notify::{self, NoticeKind};
use crate::projects::lifecycle::{self, Action};
use crate::projects::repo::{self, Project};
use crate::projects::{domain, ProjectId, ProjectState};

/// One recorded regulator action, as a project's trail shows it (the projects room reads the
/// trail through the `supervision_trail` view).
pub use crate::projects::trail::TrailEntry;

/// A regulator's decision, as submitted.
pub struct Decision {
    pub action: Action,
    pub reason: String,
    /// For an approval: launch later instead of at once.
    pub launch_at: Option<OffsetDateTime>,
}

impl Decision {
    /// Checks the reason: required except for an approval, which gets a standard one.
    pub fn parse(
        action: Action,
        reason: Option<&str>,
        launch_at: Option<OffsetDateTime>,
    ) -> Result<Self> {
        let reason = reason.map(str::trim).unwrap_or("");
        let reason = if reason.is_empty() && action == Action::Approve {
            "Approved for listing.".to_owned()
        } else {
            record::reason(reason)?
        };
        if launch_at.is_some() && action != Action::Approve {
            return Err(Error::Invalid(Message::Key(
                "supervision.error.launch_at_only_approve",
            )));
        }
        Ok(Self {
            action,
            reason,
            launch_at,
        })
    }
}

/// A regulator action taken: its trail entry, and the project as it was before it (its id and
/// slug name the views of it that are now stale).
pub struct Acted {
    pub trail: TrailEntry,
    pub project: Project,
}

/// Takes a regulator action: checks the transition, changes the state, appends the ledger entry
/// and records the trail row, all in one transaction, so none of it happens without the rest.
/// An approval's campaign must last at least `settings.min_campaign_seconds`.
pub async fn act(
    db: &PgPool,
    ledger: &Ledger,
    settings: &Settings,
    regulator: &AuthUser,
    id: ProjectId,
    decision: Decision,
) -> Result<Acted> {
    debug_assert!(decision.action.is_regulatory());
    let now = OffsetDateTime::now_utc();
    let mut tx = db.begin().await?;
    let project = repo::lock(&mut tx, id).await?.ok_or(Error::NotFound)?;
    let to = lifecycle::next_state(project.state, decision.action)?;
    let mut launch_at = None;
    let note = match decision.action {
        Action::Approve => {
            let launch = decision.launch_at.filter(|t| *t > now).unwrap_or(now);
            let deadline = project
                .deadline
                .ok_or_else(|| Error::Invalid(Message::Key("projects.error.deadline_soon")))?;
            domain::check_campaign(launch, deadline, settings.min_campaign_seconds)?;
            launch_at = Some(launch);
            None
        }
        Action::Unfreeze => None,
        _ => Some(decision.reason.as_str()),
    };
    repo::set_state(&mut tx, id, to, note, launch_at).await?;

    let mut fields = serde_json::Map::new();
    fields.insert("slug".into(), project.slug.clone().into());
    let recorded = record::record(
        &mut tx,
        ledger,
        record::Record {
            action: decision.action.as_str(),
            regulator: regulator.user.id,
            reason: &decision.reason,
            subject: record::Subject::Listing {
                project: id,
                from: project.state.as_str(),
                to: to.as_str(),
                launch_at,
            },
            fields,
            parties: vec![("founder", project.founder_id)],
        },
    )
    .await?;
    tell(&mut tx, &project, decision.action, &decision.reason).await?;
    if decision.action == Action::Approve && launch_at.is_some_and(|l| l <= now) {
        // Launched at once: its followers hear of it with the approval. A later launch is the
        // reminder worker's, which tells them once the launch time has come.
        let subject = reminders::Subject {
            id,
            slug: project.slug.clone(),
            title: project.title.clone(),
            launched_at: launch_at,
        };
        reminders::tell_launched(&mut tx, &subject).await?;
    }
    tx.commit().await?;
    let trail = TrailEntry {
        action: decision.action.as_str().into(),
        from_state: Some(project.state.as_str().into()),
        to_state: Some(to.as_str().into()),
        reason: decision.reason,
        regulator_name: regulator.user.display_name.clone(),
        launch_at,
        at: recorded.at,
        tx_hash: hex::encode(recorded.tx_hash),
    };
    Ok(Acted { trail, project })
}

/// The notification kind of a regulator's action.
fn notice_kind(action: Action) -> Option<NoticeKind> {
    Some(match action {
        Action::Approve => NoticeKind::RegulatorApproved,
        Action::Reject => NoticeKind::RegulatorRejected,
        Action::Freeze => NoticeKind::RegulatorFrozen,
        Action::Unfreeze => NoticeKind::RegulatorUnfrozen,
        Action::RegulatorCancel => NoticeKind::RegulatorCancelled,
        Action::Submit | Action::FounderCancel => return None,
    })
}

/// Notifies, in the action's transaction, the founder of every regulator action (with the
/// reason), and the project's active backers of a freeze or a cancellation (their money is held
/// or goes back). Their letters are queued in the same transaction.
async fn tell(
    conn: &mut sqlx::PgConnection,
    project: &Project,
    action: Action,
    reason: &str,
) -> Result<()> {
    let Some(kind) = notice_kind(action) else {
        return Ok(());
    };
    let params = json!({"title": project.title, "slug": project.slug, "reason": reason});
    notify::tell(conn, &[project.founder_id], Some(project.id), kind, &params).await?;
    if matches!(action, Action::Freeze | Action::RegulatorCancel) {
        let backers = crate::pledges::backers::active_backers(conn, project.id).await?;
        notify::tell(conn, &backers, Some(project.id), kind, &params).await?;
    }
    Ok(())
}

/// Whether the state is one a regulator still supervises (not yet settled or ended).
pub fn is_supervised(state: ProjectState) -> bool {
    matches!(
        state,
        ProjectState::InReview | ProjectState::Live | ProjectState::Frozen
    )
}
