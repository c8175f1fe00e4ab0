//! A project's discussion: comments and one level of replies, newest comments first, paged by a
//! keyset cursor so a page never reads more than its own rows.
//!
//! Rules: only signed-in users post; a project's discussion opens at launch and stays open
//! (also while frozen: backers then need answers most) until the project is cancelled, when it
//! becomes read-only. A reply to a reply is attached to the top comment it answers, so the
//! discussion keeps one level. On an equity offering every poster must say whether they are
//! paid to promote it (Reg CF 227.303(c)); on every kind they may say so. Each author may post
//! [`RATE_COUNT`] comments per [`RATE_WINDOW_SECONDS`]. The founder is told of a new comment,
//! a commenter of a reply, in the comment's transaction.

use serde_json::json;
use sqlx::{PgConnection, PgPool};
use time::OffsetDateTime;

use crate::accounts::throttle::Refused;
use crate::error::{Error, Message, Result};
use crate::ids::{CommentId, ProjectId, UserId};
use crate::notify::{self, NoticeKind};
use crate::projects::repo::Project;
use crate::projects::{is_public, markdown, ProjectKind, ProjectState};

/// The longest comment, in characters.
pub const BODY_MAX: usize = 5000;
/// Comments per page unless the reader asks for another size.
pub const PAGE_DEFAULT: i64 = 20;
/// The most comments one page may hold.
pub const PAGE_MAX: i64 = 50;
/// The most replies one comment may gather (so a page's replies are bounded too).
pub const MAX_REPLIES: i64 = 100;
/// How many comments an author may post within [`RATE_WINDOW_SECONDS`].
pub const RATE_COUNT: i64 = 5;
/// The rate limit's window.
pub const RATE_WINDOW_SECONDS: i64 = 60;

/// A comment's text, trimmed: 1 to [`BODY_MAX`] characters of Markdown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Body(String);

impl Body {
    /// Checks the length of the trimmed text.
    pub fn parse(raw: &str) -> Result<Self> {
        let text = raw.trim();
        let chars = text.chars().count();
        if chars == 0 {
            return Err(Error::invalid("community.error.body_empty"));
        }
        if chars > BODY_MAX {
            return Err(Error::invalid("community.error.body_long"));
        }
        Ok(Self(text.to_owned()))
    }

    /// The Markdown as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Where the next page starts: just after the last comment of the page before (its time and
/// id, so comments of the same microsecond are neither skipped nor repeated).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    at: OffsetDateTime,
    id: CommentId,
}

impl Cursor {
    /// The cursor just after the comment of `id` written at `at`.
    pub fn new(at: OffsetDateTime, id: CommentId) -> Self {
        Self { at, id }
    }

    /// The time and id it names.
    pub fn parts(&self) -> (OffsetDateTime, CommentId) {
        (self.at, self.id)
    }

    /// Reads a cursor as [`Cursor::encode`] writes it.
    pub fn parse(raw: &str) -> Result<Self> {
        let bad = || Error::malformed("community.error.cursor");
        let (micros, id) = raw.trim().split_once('_').ok_or_else(bad)?;
        let micros: i128 = micros.parse().map_err(|_| bad())?;
        let at =
            OffsetDateTime::from_unix_timestamp_nanos(micros.checked_mul(1000).ok_or_else(bad)?)
                .map_err(|_| bad())?;
        let id = id.parse().map_err(|_| bad())?;
        Ok(Self { at, id })
    }

    /// `<microseconds since 1970>_<comment id>`: opaque to readers, exact to the database's
    /// microsecond.
    pub fn encode(&self) -> String {
        format!("{}_{}", self.at.unix_timestamp_nanos() / 1000, self.id)
    }
}

/// A page size as asked (`None`: the default): 1 to [`PAGE_MAX`].
pub fn page_size(raw: Option<&str>) -> Result<i64> {
    match raw.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(PAGE_DEFAULT),
        Some(raw) => match raw.parse::<i64>() {
            Ok(n) if (1..=PAGE_MAX).contains(&n) => Ok(n),
            _ => Err(Error::malformed("community.error.limit")),
        },
    }
}

/// A comment as submitted.
#[derive(Debug, Clone)]
pub struct NewComment {
    pub body: Body,
    /// The comment it answers (a reply to a reply answers that reply's top comment).
    pub parent: Option<CommentId>,
    /// Whether the author is paid to promote the project; `None` when not said.
    pub compensated_promoter: Option<bool>,
}

/// Whether the project's discussion takes new comments now.
pub fn is_open(project: &Project, now: OffsetDateTime) -> bool {
    is_public(project.state, project.launched_at, now) && project.state != ProjectState::Cancelled
}

/// Whether the project asks every poster whether they are paid to promote it.
pub fn asks_promoter(project: &Project) -> bool {
    project.kind == ProjectKind::Equity
}

/// Posts `new` on `project` as `author` (named `author_name` in the notifications), and tells
/// the founder and the answered commenter in the same transaction. A refusal over the rate
/// limit says when to come back.
pub async fn post(
    db: &PgPool,
    project: &Project,
    author: UserId,
    author_name: &str,
    new: NewComment,
) -> Result<CommentId, Refused> {
    if !is_open(project, OffsetDateTime::now_utc()) {
        return Err(Error::conflict("community.error.closed").into());
    }
    if asks_promoter(project) && new.compensated_promoter.is_none() {
        return Err(Error::invalid("community.error.promoter_required").into());
    }
    let mut tx = db.begin().await.map_err(Error::from)?;
    if let Some(wait) = wait_before_posting(&mut tx, author).await? {
        return Err(Refused {
            error: Error::Throttled(Message::Fill(
                "community.error.too_fast",
                vec![("seconds", wait.to_string())],
            )),
            retry_after: Some(wait),
        });
    }
    let parent = match new.parent {
        Some(parent) => Some(lock_parent(&mut tx, project.id, parent).await?),
        None => None,
    };
    let id: CommentId = sqlx::query_scalar(
        "INSERT INTO comments (project_id, author_id, parent_id, body, body_html,
                               compensated_promoter)
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
    )
    .bind(project.id)
    .bind(author)
    .bind(parent.map(|p| p.id))
    .bind(new.body.as_str())
    .bind(markdown::render(new.body.as_str()))
    .bind(new.compensated_promoter.unwrap_or(false))
    .fetch_one(&mut *tx)
    .await
    .map_err(Error::from)?;
    tell(
        &mut tx,
        project,
        author,
        author_name,
        id,
        parent.map(|p| p.author),
    )
    .await?;
    tx.commit().await.map_err(Error::from)?;
    Ok(id)
}

/// Seconds the author must wait before posting again, if over the rate limit. Takes a lock per
/// author for the transaction, so two posts at once cannot both pass the count.
async fn wait_before_posting(conn: &mut PgConnection, author: UserId) -> Result<Option<i64>> {
    sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended('comments/' || $1::text, 0))")
        .bind(author)
        .execute(&mut *conn)
        .await?;
    let (count, oldest): (i64, Option<OffsetDateTime>) = sqlx::query_as(
        "SELECT count(*), min(created_at) FROM comments
          WHERE author_id = $1 AND created_at > now() - make_interval(secs => $2)",
    )
    .bind(author)
    .bind(RATE_WINDOW_SECONDS as f64)
    .fetch_one(&mut *conn)
    .await?;
    if count < RATE_COUNT {
        return Ok(None);
    }
    let free_at = oldest.unwrap_or_else(OffsetDateTime::now_utc)
        + time::Duration::seconds(RATE_WINDOW_SECONDS);
    let wait = (free_at - OffsetDateTime::now_utc()).whole_seconds() + 1;
    Ok(Some(wait.clamp(1, RATE_WINDOW_SECONDS)))
}

/// The top comment a reply answers, locked so its reply count cannot be passed by two replies
/// at once.
#[derive(Debug, Clone, Copy)]
struct Parent {
    id: CommentId,
    author: UserId,
}

async fn lock_parent(
    conn: &mut PgConnection,
    project: ProjectId,
    asked: CommentId,
) -> Result<Parent> {
    let top: Option<CommentId> = sqlx::query_scalar(
        "SELECT COALESCE(parent_id, id) FROM comments WHERE id = $1 AND project_id = $2",
    )
    .bind(asked)
    .bind(project)
    .fetch_optional(&mut *conn)
    .await?;
    let top = top.ok_or_else(|| Error::invalid("community.error.parent"))?;
    let (author, hidden): (UserId, bool) = sqlx::query_as(
        "SELECT author_id, hidden_at IS NOT NULL FROM comments WHERE id = $1 FOR UPDATE",
    )
    .bind(top)
    .fetch_one(&mut *conn)
    .await?;
    if hidden {
        return Err(Error::conflict("community.error.parent_hidden"));
    }
    let replies: i64 = sqlx::query_scalar("SELECT count(*) FROM comments WHERE parent_id = $1")
        .bind(top)
        .fetch_one(&mut *conn)
        .await?;
    if replies >= MAX_REPLIES {
        return Err(Error::conflict("community.error.too_many_replies"));
    }
    Ok(Parent { id: top, author })
}

/// Where a notification about comment `id` leads.
pub fn link(project: &Project, id: CommentId) -> String {
    format!("/projects/{}#comment-{id}", project.slug)
}

/// Tells the founder of a new comment and the answered commenter of a reply (nobody of their
/// own comment; a founder answered gets the reply's notice only).
async fn tell(
    conn: &mut PgConnection,
    project: &Project,
    author: UserId,
    author_name: &str,
    id: CommentId,
    answered: Option<UserId>,
) -> Result<()> {
    let params = json!({
        "title": project.title,
        "slug": project.slug,
        "name": author_name,
        "link": link(project, id),
    });
    let answered = answered.filter(|a| *a != author);
    if let Some(answered) = answered {
        let kind = NoticeKind::CommentReplied;
        notify::tell(conn, &[answered], Some(project.id), kind, &params).await?;
    }
    if project.founder_id != author && answered != Some(project.founder_id) {
        let kind = NoticeKind::CommentPosted;
        notify::tell(conn, &[project.founder_id], Some(project.id), kind, &params).await?;
    }
    Ok(())
}

/// A comment the regulator hid: what the supervision record and the author's notice name.
#[derive(Debug, Clone, Copy)]
pub struct Hidden {
    pub project: ProjectId,
    pub author: UserId,
}

/// The project a comment belongs to, if the comment exists.
pub async fn project_of(db: &PgPool, comment: CommentId) -> Result<Option<ProjectId>> {
    Ok(
        sqlx::query_scalar("SELECT project_id FROM comments WHERE id = $1")
            .bind(comment)
            .fetch_optional(db)
            .await?,
    )
}

/// Hides a comment for `reason`, in the caller's transaction (the regulator's action records
/// it there too). A comment already hidden is refused, so one comment is hidden once.
pub async fn hide(conn: &mut PgConnection, comment: CommentId, reason: &str) -> Result<Hidden> {
    let hidden: Option<(ProjectId, UserId)> = sqlx::query_as(
        "UPDATE comments SET hidden_reason = $2, hidden_at = now()
          WHERE id = $1 AND hidden_at IS NULL
         RETURNING project_id, author_id",
    )
    .bind(comment)
    .bind(reason)
    .fetch_optional(&mut *conn)
    .await?;
    match hidden {
        Some((project, author)) => Ok(Hidden { project, author }),
        None => {
            let exists: bool =
                sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM comments WHERE id = $1)")
                    .bind(comment)
                    .fetch_one(&mut *conn)
                    .await?;
            Err(if exists {
                Error::conflict("community.error.already_hidden")
            } else {
                Error::NotFound
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_body_is_trimmed_and_bounded() {
        assert_eq!(Body::parse("  hi \n").unwrap().as_str(), "hi");
        assert!(Body::parse(" \n\t ").is_err());
        assert!(Body::parse(&"字".repeat(BODY_MAX)).is_ok());
        assert!(Body::parse(&"字".repeat(BODY_MAX + 1)).is_err());
    }

    #[test]
    fn a_cursor_reads_back_what_it_wrote() {
        let cursor = Cursor {
            at: OffsetDateTime::from_unix_timestamp_nanos(1_700_000_000_123_456_000).unwrap(),
            id: CommentId(uuid::Uuid::nil()),
        };
        assert_eq!(Cursor::parse(&cursor.encode()).unwrap(), cursor);
    }

    #[test]
    fn a_cursor_that_is_not_one_is_refused() {
        for raw in [
            "",
            "x",
            "12_",
            "_00000000-0000-0000-0000-000000000000",
            "1e9_x",
        ] {
            assert!(Cursor::parse(raw).is_err(), "{raw}");
        }
    }

    #[test]
    fn a_page_size_is_between_one_and_the_maximum() {
        assert_eq!(page_size(None).unwrap(), PAGE_DEFAULT);
        assert_eq!(page_size(Some("")).unwrap(), PAGE_DEFAULT);
        assert_eq!(page_size(Some("50")).unwrap(), 50);
        for raw in ["0", "51", "-1", "many"] {
            assert!(page_size(Some(raw)).is_err(), "{raw}");
        }
    }
}
