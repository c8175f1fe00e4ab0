//! Reading a project's discussion: one page of top comments, newest first, each with its
//! replies (oldest first), and the marks of their authors.

use std::collections::HashSet;

use serde::Serialize;
use sqlx::PgPool;
use time::OffsetDateTime;

use super::comments::{Cursor, MAX_REPLIES};
use crate::error::Result;
use crate::ids::{CommentId, UserId};
use crate::pledges::backers::backing_among;
use crate::projects::repo::Project;

/// A hidden comment: what the regulator said instead of the text.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct HiddenNote {
    pub reason: String,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub at: OffsetDateTime,
}

/// One comment or reply, as anyone may read it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Comment {
    pub id: CommentId,
    /// The top comment a reply answers; absent on a top comment.
    pub parent_id: Option<CommentId>,
    pub author_id: UserId,
    pub author_name: String,
    /// The Markdown as written; absent when the regulator hid the comment.
    pub body: Option<String>,
    /// The text as cleaned HTML; absent when hidden.
    pub body_html: Option<String>,
    /// Present when the regulator hid the comment.
    pub hidden: Option<HiddenNote>,
    /// The author is the project's founder.
    pub founder: bool,
    /// The author backs the project (an active or a collected pledge).
    pub backer: bool,
    /// The author said they are paid to promote the project.
    pub compensated_promoter: bool,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
    /// Replies, oldest first (always empty on a reply).
    #[schema(no_recursion)]
    pub replies: Vec<Comment>,
}

/// One page of the discussion (the default: an empty last page).
#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct CommentPage {
    pub comments: Vec<Comment>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

#[derive(sqlx::FromRow)]
struct Row {
    id: CommentId,
    parent_id: Option<CommentId>,
    author_id: UserId,
    author_name: String,
    body: Option<String>,
    body_html: Option<String>,
    hidden_reason: Option<String>,
    hidden_at: Option<OffsetDateTime>,
    compensated_promoter: bool,
    created_at: OffsetDateTime,
}

/// The columns of a comment; a hidden comment's text never leaves the database.
const COLUMNS: &str = "c.id, c.parent_id, c.author_id, p.display_name AS author_name,
    CASE WHEN c.hidden_at IS NULL THEN c.body END AS body,
    CASE WHEN c.hidden_at IS NULL THEN c.body_html END AS body_html,
    c.hidden_reason, c.hidden_at, c.compensated_promoter, c.created_at
    FROM comments c JOIN public_profiles p ON p.id = c.author_id";

/// One comment of `project` (a reply comes without its siblings).
pub async fn one(db: &PgPool, project: &Project, id: CommentId) -> Result<Comment> {
    let row: Row = sqlx::query_as(&format!(
        "SELECT {COLUMNS} WHERE c.id = $1 AND c.project_id = $2"
    ))
    .bind(id)
    .bind(project.id)
    .fetch_optional(db)
    .await?
    .ok_or(crate::error::Error::NotFound)?;
    let mut conn = db.acquire().await?;
    let backer = !backing_among(&mut conn, project.id, &[row.author_id])
        .await?
        .is_empty();
    Ok(shown(row, project, &|_| backer))
}

/// A row as readers see it, marked by its author's part in the project.
fn shown(row: Row, project: &Project, backs: &dyn Fn(UserId) -> bool) -> Comment {
    Comment {
        founder: row.author_id == project.founder_id,
        backer: backs(row.author_id),
        id: row.id,
        parent_id: row.parent_id,
        author_id: row.author_id,
        author_name: row.author_name,
        body: row.body,
        body_html: row.body_html,
        hidden: row
            .hidden_reason
            .zip(row.hidden_at)
            .map(|(reason, at)| HiddenNote { reason, at }),
        compensated_promoter: row.compensated_promoter,
        created_at: row.created_at,
        replies: Vec::new(),
    }
}

/// The page of `project`'s top comments after `after` (from the newest when `None`), at most
/// `limit` of them (the caller bounds it, see `comments::page_size`), with their replies.
pub async fn page(
    db: &PgPool,
    project: &Project,
    after: Option<Cursor>,
    limit: i64,
) -> Result<CommentPage> {
    let (after_at, after_id) = after.map(|c| c.parts()).unzip();
    let mut tops: Vec<Row> = sqlx::query_as(&format!(
        "SELECT {COLUMNS}
          WHERE c.project_id = $1 AND c.parent_id IS NULL
            AND ($2::timestamptz IS NULL OR (c.created_at, c.id) < ($2, $3))
          ORDER BY c.created_at DESC, c.id DESC
          LIMIT $4"
    ))
    .bind(project.id)
    .bind(after_at)
    .bind(after_id)
    .bind(limit + 1)
    .fetch_all(db)
    .await?;
    let more = tops.len() as i64 > limit;
    tops.truncate(usize::try_from(limit).unwrap_or(0));
    let next_cursor = more
        .then(|| {
            tops.last()
                .map(|r| Cursor::new(r.created_at, r.id).encode())
        })
        .flatten();
    if tops.is_empty() {
        // Most projects have no discussion yet: no replies or backers to look up.
        return Ok(CommentPage::default());
    }
    let ids: Vec<CommentId> = tops.iter().map(|r| r.id).collect();
    let replies: Vec<Row> = sqlx::query_as(&format!(
        "SELECT {COLUMNS}
          WHERE c.parent_id = ANY($1)
          ORDER BY c.created_at, c.id
          LIMIT $2"
    ))
    .bind(&ids)
    .bind(MAX_REPLIES * limit)
    .fetch_all(db)
    .await?;
    let mut authors: Vec<UserId> = tops
        .iter()
        .chain(&replies)
        .map(|r| r.author_id)
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    authors.sort();
    let mut conn = db.acquire().await?;
    let backers: HashSet<UserId> = backing_among(&mut conn, project.id, &authors)
        .await?
        .into_iter()
        .collect();
    let backs = |user: UserId| backers.contains(&user);
    let shown = |row: Row| shown(row, project, &backs);
    let mut comments: Vec<Comment> = tops.into_iter().map(shown).collect();
    for reply in replies {
        let reply = shown(reply);
        if let Some(top) = comments.iter_mut().find(|c| Some(c.id) == reply.parent_id) {
            top.replies.push(reply);
        }
    }
    Ok(CommentPage {
        comments,
        next_cursor,
    })
}
