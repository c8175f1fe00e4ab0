//! Following a project: anyone signed in may follow a project they can see, and one approved
//! to launch later (its "launching soon" page) before anyone can see the rest of it. Following
//! and unfollowing are idempotent: the row exists or it does not.

use serde::Serialize;
use sqlx::{PgConnection, PgPool};
use time::OffsetDateTime;

use crate::accounts::AuthUser;
use crate::error::{Error, Message, Result};
use crate::ids::{ProjectId, UserId};
use crate::projects::repo::{self, Project};
use crate::projects::{can_view, ProjectState};

/// How many projects one user may follow at once.
pub const MAX_FOLLOWS: i64 = 500;

/// How many followed projects one list shows.
pub const LIST_LIMIT: i64 = 200;

/// Whether `project` is approved and waits for its launch time (a "launching soon" project).
pub fn is_scheduled(project: &Project, now: OffsetDateTime) -> bool {
    project.state == ProjectState::Live && project.launched_at.is_some_and(|l| l > now)
}

/// Whether `viewer` may follow `project`: when they may see it, or when it is launching soon.
pub fn is_followable(project: &Project, viewer: Option<&AuthUser>, now: OffsetDateTime) -> bool {
    is_scheduled(project, now) || can_view(project, viewer, now)
}

/// The project `key` (id or slug) if `viewer` may follow it; 404 otherwise, as for a project
/// they may not see.
pub async fn followable(db: &PgPool, key: &str, viewer: Option<&AuthUser>) -> Result<Project> {
    let project = repo::find_by_key(db, key).await?.ok_or(Error::NotFound)?;
    if is_followable(&project, viewer, OffsetDateTime::now_utc()) {
        Ok(project)
    } else {
        Err(Error::NotFound)
    }
}

/// `user` follows `project` (nothing changes when they already do). Refused past
/// [`MAX_FOLLOWS`]: the insert counts, under the user's follow lock, so two follows at once
/// cannot both see room for one more.
pub async fn follow(db: &PgPool, user: UserId, project: ProjectId) -> Result<()> {
    let mut tx = db.begin().await?;
    lock_follows(&mut tx, user).await?;
    let inserted = sqlx::query(
        "INSERT INTO project_follows (user_id, project_id)
         SELECT $1, $2
          WHERE (SELECT count(*) FROM project_follows WHERE user_id = $1) < $3
         ON CONFLICT DO NOTHING",
    )
    .bind(user)
    .bind(project)
    .bind(MAX_FOLLOWS)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    tx.commit().await?;
    if inserted == 0 && !is_following(db, user, project).await? {
        return Err(Error::Conflict(Message::Key(
            "community.error.too_many_follows",
        )));
    }
    Ok(())
}

/// Serialises `user`'s follows until the transaction ends. A count and an insert in one
/// statement are not enough alone: under read committed, two follows at once each count the
/// rows committed before them, and both would pass a limit with room for one.
pub async fn lock_follows(conn: &mut PgConnection, user: UserId) -> Result<()> {
    sqlx::query(
        "SELECT pg_advisory_xact_lock(hashtextextended('zhonglian/follows/' || $1::text, 0))",
    )
    .bind(user)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// `user` no longer follows `project` (nothing changes when they did not).
pub async fn unfollow(db: &PgPool, user: UserId, project: ProjectId) -> Result<()> {
    sqlx::query("DELETE FROM project_follows WHERE user_id = $1 AND project_id = $2")
        .bind(user)
        .bind(project)
        .execute(db)
        .await?;
    Ok(())
}

/// Whether `user` follows `project`.
pub async fn is_following(db: &PgPool, user: UserId, project: ProjectId) -> Result<bool> {
    Ok(sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM project_follows WHERE user_id = $1 AND project_id = $2)",
    )
    .bind(user)
    .bind(project)
    .fetch_one(db)
    .await?)
}

/// How many people follow `project`.
pub async fn follower_count(db: &PgPool, project: ProjectId) -> Result<i64> {
    Ok(
        sqlx::query_scalar("SELECT count(*) FROM project_follows WHERE project_id = $1")
            .bind(project)
            .fetch_one(db)
            .await?,
    )
}

/// A project a user follows, as their list shows it.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Followed {
    #[schema(value_type = String, format = Uuid)]
    pub project_id: ProjectId,
    pub slug: String,
    pub title: String,
    pub state: ProjectState,
    /// When it went (or goes) live.
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub launched_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub deadline: Option<OffsetDateTime>,
    /// When the user began to follow it.
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub followed_at: OffsetDateTime,
}

/// The projects `user` follows, most recently followed first, at most [`LIST_LIMIT`]. Only
/// approved ones: a project sent back to its draft is not shown until it is approved again.
pub async fn following(db: &PgPool, user: UserId) -> Result<Vec<Followed>> {
    Ok(sqlx::query_as(
        "SELECT s.id AS project_id, s.slug, s.title, s.state, s.launched_at, s.deadline,
                f.created_at AS followed_at
           FROM project_follows f JOIN project_schedule s ON s.id = f.project_id
          WHERE f.user_id = $1 AND s.launched_at IS NOT NULL
            AND s.state NOT IN ('draft', 'in_review')
          ORDER BY f.created_at DESC, s.id
          LIMIT $2",
    )
    .bind(user)
    .bind(LIST_LIMIT)
    .fetch_all(db)
    .await?)
}

/// What a follow button shows: where it posts, whether the reader follows, and how many do.
#[derive(Debug, Clone)]
pub struct FollowButton {
    /// The project's slug, in the form's address.
    pub slug: String,
    /// `None` for a visitor who is not signed in (the button leads to the login page).
    pub following: Option<bool>,
    pub followers: i64,
}

impl FollowButton {
    /// The button of `project` for `reader`.
    pub async fn load(db: &PgPool, project: &Project, reader: Option<UserId>) -> Result<Self> {
        let followers = follower_count(db, project.id).await?;
        Self::with_followers(db, project, reader, followers).await
    }

    /// The button of `project` for `reader`, when the caller has read how many follow it (the
    /// project page's query does): a query only for a signed-in reader.
    pub async fn with_followers(
        db: &PgPool,
        project: &Project,
        reader: Option<UserId>,
        followers: i64,
    ) -> Result<Self> {
        let following = match reader {
            Some(user) => Some(is_following(db, user, project.id).await?),
            None => None,
        };
        Ok(Self {
            slug: project.slug.clone(),
            following,
            followers,
        })
    }
}
