//! The regulator hides a comment: the comment shows the reason instead of its text, and the
//! action is recorded (the trail row and the `supervision` ledger entry) and its author told,
//! all in one transaction.

use serde::Serialize;
use serde_json::json;
use sqlx::PgPool;
use time::OffsetDateTime;

use super::record::{self, Record, Subject};
use crate::accounts::AuthUser;
use crate::community::comments;
use crate::error::{Error, Result};
use crate::ids::{CommentId, ProjectId};
use crate::ledger::Ledger;
use crate::notify::{self, NoticeKind};
use crate::projects::repo;

/// The action's name on the trail and in the ledger entry.
pub const ACTION: &str = "hide_comment";

/// A hidden comment's record.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct HiddenComment {
    pub comment_id: CommentId,
    #[schema(value_type = String, format = Uuid)]
    pub project_id: ProjectId,
    /// The project's slug (its page shows the comment hidden).
    pub slug: String,
    pub reason: String,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub at: OffsetDateTime,
    /// The hash of the action's ledger entry (hex).
    pub tx_hash: String,
}

pub use super::record::reason;

/// Hides `comment` for `reason` (checked with [`reason`]) as `regulator`.
pub async fn hide(
    db: &PgPool,
    ledger: &Ledger,
    regulator: &AuthUser,
    comment: CommentId,
    reason: &str,
) -> Result<HiddenComment> {
    let project = comments::project_of(db, comment)
        .await?
        .ok_or(Error::NotFound)?;
    let project = repo::find(db, project).await?.ok_or(Error::NotFound)?;
    let mut tx = db.begin().await?;
    let hidden = comments::hide(&mut tx, comment, reason).await?;
    let mut fields = serde_json::Map::new();
    fields.insert("slug".into(), project.slug.clone().into());
    let recorded = record::record(
        &mut tx,
        ledger,
        Record {
            action: ACTION,
            regulator: regulator.user.id,
            reason,
            subject: Subject::Comment {
                project: hidden.project,
                comment,
            },
            fields,
            parties: vec![("author", hidden.author)],
        },
    )
    .await?;
    let params = json!({
        "title": project.title,
        "slug": project.slug,
        "reason": reason,
        "link": comments::link(&project, comment),
    });
    notify::tell(
        &mut tx,
        &[hidden.author],
        Some(project.id),
        NoticeKind::CommentHidden,
        &params,
    )
    .await?;
    tx.commit().await?;
    Ok(HiddenComment {
        comment_id: comment,
        project_id: project.id,
        slug: project.slug,
        reason: reason.to_owned(),
        at: recorded.at,
        tx_hash: hex::encode(recorded.tx_hash),
    })
}
