//! Notifications: stored for the user's pages, and sent through a pluggable e-mail sender
//! (the default one only logs).

use serde::Serialize;
use sqlx::{PgConnection, PgPool};
use time::OffsetDateTime;

use crate::accounts::contacts;
use crate::error::Result;
use crate::ids::{ProjectId, UserId};

/// Sends e-mail. Implementations must not block the runtime for long.
pub trait Mailer: Send + Sync {
    /// Sends one message.
    fn send(&self, to: &str, subject: &str, body: &str);
}

/// The default sender: writes each message to the log.
pub struct LogMailer;

impl Mailer for LogMailer {
    fn send(&self, to: &str, subject: &str, body: &str) {
        // The address and the text are personal data: INFO says only that a message went out.
        tracing::info!(subject, "e-mail (logged, not sent)");
        tracing::debug!(to, body, "e-mail contents");
    }
}

/// What a notification tells: how a project the user took part in settled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, sqlx::Type, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
#[sqlx(type_name = "text", rename_all = "snake_case")]
pub enum NoticeKind {
    ProjectFunded,
    ProjectFailed,
    ProjectCancelled,
}

impl NoticeKind {
    /// The stored and published name.
    pub fn as_str(self) -> &'static str {
        match self {
            NoticeKind::ProjectFunded => "project_funded",
            NoticeKind::ProjectFailed => "project_failed",
            NoticeKind::ProjectCancelled => "project_cancelled",
        }
    }
}

impl std::fmt::Display for NoticeKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A stored notification.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Notification {
    pub id: i64,
    pub kind: NoticeKind,
    #[schema(value_type = Option<String>, format = Uuid)]
    pub project_id: Option<ProjectId>,
    #[schema(value_type = Object)]
    pub params: serde_json::Value,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
}

/// Stores the same notification for many users in one statement.
pub async fn store_many(
    conn: &mut PgConnection,
    users: &[UserId],
    project: ProjectId,
    kind: NoticeKind,
    params: &serde_json::Value,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO notifications (user_id, project_id, kind, params)
         SELECT u, $2, $3, $4 FROM unnest($1::uuid[]) AS t(u)",
    )
    .bind(users)
    .bind(project)
    .bind(kind)
    .bind(params)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// How many of `user`'s notifications are unread.
pub async fn unread_count(db: &PgPool, user: UserId) -> Result<i64> {
    let count: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM notifications WHERE user_id = $1 AND read_at IS NULL",
    )
    .bind(user)
    .fetch_one(db)
    .await?;
    Ok(count)
}

/// A user's latest notifications.
pub async fn recent(db: &PgPool, user: UserId, limit: i64) -> Result<Vec<Notification>> {
    let rows = sqlx::query_as(
        "SELECT id, kind, project_id, params, created_at FROM notifications
          WHERE user_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2",
    )
    .bind(user)
    .bind(limit)
    .fetch_all(db)
    .await?;
    Ok(rows)
}

/// Addressees of one page of notifications.
const MAIL_PAGE: i64 = 1000;

/// One notification to e-mail: whom it is for.
#[derive(sqlx::FromRow)]
struct Addressee {
    id: i64,
    user_id: UserId,
}

/// E-mails everyone notified about `project` with `kind`, a page of addresses at a time, so a
/// project with 200,000 backers does not hold them all in memory. The addresses are the
/// accounts room's ([`contacts::of`]); a user who has no address any more is skipped.
pub async fn mail_all(
    db: &PgPool,
    mailer: &dyn Mailer,
    project: ProjectId,
    kind: NoticeKind,
    subject: &str,
    body: &str,
) -> Result<()> {
    let mut after = 0i64;
    loop {
        let page: Vec<Addressee> = sqlx::query_as(
            "SELECT id, user_id FROM notifications
              WHERE project_id = $1 AND kind = $2 AND id > $3
              ORDER BY id LIMIT $4",
        )
        .bind(project)
        .bind(kind)
        .bind(after)
        .bind(MAIL_PAGE)
        .fetch_all(db)
        .await?;
        let Some(last) = page.last() else {
            return Ok(());
        };
        after = last.id;
        let users: Vec<UserId> = page.iter().map(|n| n.user_id).collect();
        let contacts = contacts::of(db, &users).await?;
        // In notification order, as before: one message per notification.
        for contact in page.iter().filter_map(|n| contacts.get(&n.user_id)) {
            mailer.send(&contact.email, subject, body);
        }
    }
}
