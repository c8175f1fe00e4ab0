//! The reminders a project's followers are sent: when it launches, and 48 hours before its
//! deadline if they have not backed it. Each is sent at most once per follower: the row in
//! `follow_reminders` is inserted (`ON CONFLICT DO NOTHING`) in the transaction that tells
//! them, and only the followers whose row this insert made are told. Two servers running
//! [`Reminders::pass`] at once therefore never tell anyone twice.

use std::time::Duration;

use serde_json::json;
use sqlx::{PgConnection, PgPool};
use time::OffsetDateTime;

use crate::error::Result;
use crate::ids::{ProjectId, UserId};
use crate::notify::{self, NoticeKind};

/// Followers told in one transaction; a project with more is finished by the next rounds.
pub const BATCH: i64 = 500;

/// Projects looked at in one round of a pass.
const PROJECTS_PER_ROUND: i64 = 50;

/// Rounds in one pass, so that one pass ends even when followers keep coming.
const ROUNDS: usize = 20;

/// What a reminder is about (the `kind` of its row).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reminder {
    /// The project is live.
    Launched,
    /// The project closes within 48 hours.
    DeadlineNear,
}

impl Reminder {
    fn as_str(self) -> &'static str {
        match self {
            Reminder::Launched => "launched",
            Reminder::DeadlineNear => "deadline_near",
        }
    }

    fn notice(self) -> NoticeKind {
        match self {
            Reminder::Launched => NoticeKind::ProjectLaunched,
            Reminder::DeadlineNear => NoticeKind::DeadlineNear,
        }
    }
}

/// The project a reminder names.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Subject {
    pub id: ProjectId,
    pub slug: String,
    pub title: String,
    pub launched_at: Option<OffsetDateTime>,
}

/// Tells the followers of a project that has just launched at `launched_at`, in the caller's
/// transaction: those who followed it before then and were not told yet, at most [`BATCH`].
/// Returns how many were told. The approval of a project that launches at once calls this.
pub async fn tell_launched(conn: &mut PgConnection, project: &Subject) -> Result<usize> {
    let Some(launched_at) = project.launched_at else {
        return Ok(0);
    };
    let users: Vec<UserId> = sqlx::query_scalar(
        "INSERT INTO follow_reminders (project_id, user_id, kind)
         SELECT project_id, user_id, 'launched' FROM project_follows f
          WHERE f.project_id = $1 AND f.created_at <= $2
            AND NOT EXISTS (SELECT 1 FROM follow_reminders r
                             WHERE r.project_id = f.project_id AND r.user_id = f.user_id
                               AND r.kind = 'launched')
          ORDER BY f.created_at
          LIMIT $3
         ON CONFLICT DO NOTHING
         RETURNING user_id",
    )
    .bind(project.id)
    .bind(launched_at)
    .bind(BATCH)
    .fetch_all(&mut *conn)
    .await?;
    tell(conn, project, Reminder::Launched, &users).await
}

/// Tells the followers of a project closing within 48 hours who have not backed it and were not
/// told yet, at most [`BATCH`], in the caller's transaction. Returns how many were told.
pub async fn tell_deadline_near(conn: &mut PgConnection, project: &Subject) -> Result<usize> {
    let users: Vec<UserId> = sqlx::query_scalar(
        "INSERT INTO follow_reminders (project_id, user_id, kind)
         SELECT project_id, user_id, 'deadline_near' FROM project_follows f
          WHERE f.project_id = $1
            AND NOT EXISTS (SELECT 1 FROM project_backers b
                             WHERE b.project_id = f.project_id AND b.backer_id = f.user_id)
            AND NOT EXISTS (SELECT 1 FROM follow_reminders r
                             WHERE r.project_id = f.project_id AND r.user_id = f.user_id
                               AND r.kind = 'deadline_near')
          ORDER BY f.created_at
          LIMIT $2
         ON CONFLICT DO NOTHING
         RETURNING user_id",
    )
    .bind(project.id)
    .bind(BATCH)
    .fetch_all(&mut *conn)
    .await?;
    tell(conn, project, Reminder::DeadlineNear, &users).await
}

/// Notifies `users` (and queues their letters) of `reminder` about `project`.
async fn tell(
    conn: &mut PgConnection,
    project: &Subject,
    reminder: Reminder,
    users: &[UserId],
) -> Result<usize> {
    if users.is_empty() {
        return Ok(0);
    }
    let params = json!({
        "title": project.title,
        "slug": project.slug,
        "link": format!("/projects/{}", project.slug),
    });
    notify::tell(conn, users, Some(project.id), reminder.notice(), &params).await?;
    Ok(users.len())
}

/// What one pass told.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Pass {
    /// Followers told that a project launched.
    pub launched: usize,
    /// Followers told that a project closes within 48 hours.
    pub deadline_near: usize,
}

/// The reminder worker: started by `serve` beside the settlement worker.
#[derive(Clone)]
pub struct Reminders {
    db: PgPool,
}

impl Reminders {
    /// A worker on `db`.
    pub fn new(db: PgPool) -> Self {
        Self { db }
    }

    /// One pass: tells every follower who is due a reminder (up to a bound; the next pass
    /// continues), each project's batch in its own transaction.
    pub async fn pass(&self) -> Result<Pass> {
        let mut pass = Pass::default();
        for reminder in [Reminder::Launched, Reminder::DeadlineNear] {
            for _ in 0..ROUNDS {
                let due = self.due(reminder).await?;
                if due.is_empty() {
                    break;
                }
                for project in &due {
                    let mut tx = self.db.begin().await?;
                    let told = match reminder {
                        Reminder::Launched => tell_launched(&mut tx, project).await?,
                        Reminder::DeadlineNear => tell_deadline_near(&mut tx, project).await?,
                    };
                    tx.commit().await?;
                    match reminder {
                        Reminder::Launched => pass.launched += told,
                        Reminder::DeadlineNear => pass.deadline_near += told,
                    }
                }
            }
        }
        Ok(pass)
    }

    /// Live projects with at least one follower due `reminder`.
    async fn due(&self, reminder: Reminder) -> Result<Vec<Subject>> {
        let condition = match reminder {
            // Followed before it launched: who follows a live project knows it is live.
            Reminder::Launched => "f.created_at <= s.launched_at",
            Reminder::DeadlineNear => {
                "s.deadline > now() AND s.deadline <= now() + interval '48 hours'
                 AND NOT EXISTS (SELECT 1 FROM project_backers b
                                  WHERE b.project_id = s.id AND b.backer_id = f.user_id)"
            }
        };
        let sql = format!(
            "SELECT s.id, s.slug, s.title, s.launched_at FROM project_schedule s
              WHERE s.state = 'live' AND s.launched_at <= now()
                AND EXISTS (SELECT 1 FROM project_follows f
                             WHERE f.project_id = s.id AND {condition}
                               AND NOT EXISTS (SELECT 1 FROM follow_reminders r
                                                WHERE r.project_id = s.id
                                                  AND r.user_id = f.user_id AND r.kind = $1))
              ORDER BY s.launched_at, s.id
              LIMIT $2"
        );
        Ok(sqlx::query_as(&sql)
            .bind(reminder.as_str())
            .bind(PROJECTS_PER_ROUND)
            .fetch_all(&self.db)
            .await?)
    }

    /// Runs forever: a pass every `interval`. Started by `serve`.
    pub async fn run(self, interval: Duration) {
        let mut tick = tokio::time::interval(interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if let Err(e) = self.pass().await {
                tracing::error!(error = %e, "reminder pass failed; retrying");
            }
        }
    }
}
