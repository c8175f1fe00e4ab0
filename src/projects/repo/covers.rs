//! Stored cover images.

use sqlx::PgPool;

use crate::error::Result;
use crate::projects::ProjectId;

/// A stored cover.
#[derive(Debug, sqlx::FromRow)]
pub struct StoredCover {
    pub content_type: String,
    pub bytes: Vec<u8>,
}

/// Stores a cover, replacing any earlier one.
pub async fn put_cover(db: &PgPool, id: ProjectId, content_type: &str, bytes: &[u8]) -> Result<()> {
    let mut tx = db.begin().await?;
    sqlx::query(
        "INSERT INTO project_covers (project_id, content_type, bytes) VALUES ($1, $2, $3)
         ON CONFLICT (project_id) DO UPDATE SET content_type = EXCLUDED.content_type,
             bytes = EXCLUDED.bytes, updated_at = now()",
    )
    .bind(id)
    .bind(content_type)
    .bind(bytes)
    .execute(&mut *tx)
    .await?;
    sqlx::query("UPDATE projects SET has_cover = true, updated_at = now() WHERE id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

/// A project's stored cover.
pub async fn cover(db: &PgPool, id: ProjectId) -> Result<Option<StoredCover>> {
    Ok(
        sqlx::query_as("SELECT content_type, bytes FROM project_covers WHERE project_id = $1")
            .bind(id)
            .fetch_optional(db)
            .await?,
    )
}
