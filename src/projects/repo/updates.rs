//! A founder's updates for backers.

use serde::Serialize;
use sqlx::PgPool;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::ids::UpdateId;

use crate::error::Result;
use crate::projects::{markdown, ProjectId};

/// A founder's news for backers.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Update {
    #[schema(value_type = String, format = Uuid)]
    pub id: UpdateId,
    pub title: String,
    /// Markdown source.
    pub body: String,
    /// The body rendered and sanitised when written.
    #[serde(skip)]
    pub body_html: String,
    pub backers_only: bool,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
}

/// What the database gives a new update.
#[derive(sqlx::FromRow)]
struct Posted {
    id: UpdateId,
    created_at: OffsetDateTime,
}

/// Posts an update.
pub async fn add_update(
    db: &PgPool,
    id: ProjectId,
    title: &str,
    body: &str,
    backers_only: bool,
) -> Result<Update> {
    let body_html = markdown::render(body);
    let posted: Posted = sqlx::query_as(
        "INSERT INTO project_updates (id, project_id, title, body, body_html, backers_only)
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id, created_at",
    )
    .bind(UpdateId(Uuid::new_v4()))
    .bind(id)
    .bind(title)
    .bind(body)
    .bind(&body_html)
    .bind(backers_only)
    .fetch_one(db)
    .await?;
    Ok(Update {
        id: posted.id,
        title: title.to_owned(),
        body: body.to_owned(),
        body_html,
        backers_only,
        created_at: posted.created_at,
    })
}
