//! Stored notifications: what the notifications page lists, and [`tell`], which stores one and
//! queues its letter in the caller's transaction.

use serde::Serialize;
use sqlx::{PgConnection, PgPool};
use time::OffsetDateTime;

use super::{outbox, NoticeKind};
use crate::error::Result;
use crate::ids::{ProjectId, UserId};

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
    /// When the user opened the notifications page after it came; `None`: unread.
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub read_at: Option<OffsetDateTime>,
}

/// Tells `users` of something in the caller's transaction: stores the same notification for
/// each and queues its letter to each in their own language, so both happen exactly when the
/// cause commits. `params` fill the kind's texts (see [`super::text`]).
pub async fn tell(
    conn: &mut PgConnection,
    users: &[UserId],
    project: Option<ProjectId>,
    kind: NoticeKind,
    params: &serde_json::Value,
) -> Result<()> {
    store_many(conn, users, project, kind, params).await?;
    outbox::enqueue_notice(conn, users, kind, params).await
}

/// Stores the same notification for many users in one statement, without a letter.
pub async fn store_many(
    conn: &mut PgConnection,
    users: &[UserId],
    project: Option<ProjectId>,
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

/// Marks the notifications `shown` to `user` read (those past the page, or arrived since it
/// was read, stay unread).
pub async fn mark_read(db: &PgPool, user: UserId, shown: &[i64]) -> Result<()> {
    sqlx::query(
        "UPDATE notifications SET read_at = now()
         WHERE user_id = $1 AND id = ANY($2) AND read_at IS NULL",
    )
    .bind(user)
    .bind(shown)
    .execute(db)
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
        "SELECT id, kind, project_id, params, created_at, read_at FROM notifications
          WHERE user_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2",
    )
    .bind(user)
    .bind(limit)
    .fetch_all(db)
    .await?;
    Ok(rows)
}
