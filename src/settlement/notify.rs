//! Notifications: stored for the user's pages, and sent through a pluggable e-mail sender
//! (the default one only logs).

use serde::Serialize;
use sqlx::{PgConnection, PgPool};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::accounts::domain::UserId;
use crate::error::Result;
use crate::projects::ProjectId;

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

/// A stored notification.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Notification {
    pub id: i64,
    pub kind: String,
    #[schema(value_type = Option<String>, format = Uuid)]
    pub project_id: Option<Uuid>,
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
    kind: &str,
    params: &serde_json::Value,
) -> Result<()> {
    let ids: Vec<Uuid> = users.iter().map(|u| u.0).collect();
    sqlx::query(
        "INSERT INTO notifications (user_id, project_id, kind, params)
         SELECT u, $2, $3, $4 FROM unnest($1::uuid[]) AS t(u)",
    )
    .bind(&ids)
    .bind(project.0)
    .bind(kind)
    .bind(params)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// A user's latest notifications.
pub async fn recent(db: &PgPool, user: UserId, limit: i64) -> Result<Vec<Notification>> {
    let rows: Vec<(i64, String, Option<Uuid>, serde_json::Value, OffsetDateTime)> = sqlx::query_as(
        "SELECT id, kind, project_id, params, created_at FROM notifications
          WHERE user_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2",
    )
    .bind(user.0)
    .bind(limit)
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(id, kind, project_id, params, created_at)| Notification {
            id,
            kind,
            project_id,
            params,
            created_at,
        })
        .collect())
}

/// E-mails everyone notified about `project` with `kind`, a page of addresses at a time, so a
/// project with 200,000 backers does not hold them all in memory.
pub async fn mail_all(
    db: &PgPool,
    mailer: &dyn Mailer,
    project: ProjectId,
    kind: &str,
    subject: &str,
    body: &str,
) -> Result<()> {
    let mut after = 0i64;
    loop {
        let rows: Vec<(i64, String)> = sqlx::query_as(
            "SELECT n.id, u.email FROM notifications n JOIN users u ON u.id = n.user_id
              WHERE n.project_id = $1 AND n.kind = $2 AND n.id > $3
              ORDER BY n.id LIMIT 1000",
        )
        .bind(project.0)
        .bind(kind)
        .bind(after)
        .fetch_all(db)
        .await?;
        let Some((last, _)) = rows.last() else {
            return Ok(());
        };
        after = *last;
        for (_, email) in &rows {
            mailer.send(email, subject, body);
        }
    }
}
