//! The `projects` row itself: reading, locking, creating, editing, changing state, and the
//! revisions kept for changes made after launch.

use rust_decimal::Decimal;
use serde::Serialize;
use sqlx::{PgConnection, PgPool};
use time::OffsetDateTime;

use super::offering::put_offering;
use super::tiers::insert_tier;
use super::translations::SEARCH_WITH_TRANSLATIONS;
use crate::error::{Error, Result, ResultExt};
use crate::ids::UserId;
use crate::projects::domain::{NewOffering, NewTier, Slug};
use crate::projects::{markdown, search, ProjectId, ProjectKind, ProjectState};

/// A project as the API and pages show it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema, sqlx::FromRow)]
pub struct Project {
    #[schema(value_type = String, format = Uuid)]
    pub id: ProjectId,
    #[schema(value_type = String, format = Uuid)]
    pub founder_id: UserId,
    pub founder_name: String,
    pub slug: String,
    pub title: String,
    pub summary: String,
    /// Markdown source.
    pub story: String,
    /// The story rendered and sanitised when it was written (empty in lists).
    #[serde(skip)]
    pub story_html: String,
    pub category: String,
    pub kind: ProjectKind,
    pub state: ProjectState,
    #[schema(value_type = String, example = "50000.00")]
    pub goal: Decimal,
    pub currency: String,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub deadline: Option<OffsetDateTime>,
    /// When it went (or goes) live; in the future for a scheduled launch.
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub launched_at: Option<OffsetDateTime>,
    #[schema(value_type = String, example = "12800.00")]
    pub pledged_total: Decimal,
    pub backer_count: i32,
    /// The regulator's last note to the founder (why it was rejected or frozen).
    pub review_note: Option<String>,
    pub has_cover: bool,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: OffsetDateTime,
}

impl Project {
    /// Whether the project takes pledges at `now` (the one rule,
    /// [`crate::projects::capacity::accepts_pledges`]).
    pub fn is_open(&self, now: OffsetDateTime) -> bool {
        crate::projects::capacity::accepts_pledges(self.state, self.launched_at, self.deadline, now)
    }

    /// Whether anyone may see it: it has been launched (whatever happened since).
    pub fn is_public(&self, now: OffsetDateTime) -> bool {
        crate::projects::is_public(self.state, self.launched_at, now)
    }

    /// Percentage of the goal pledged, rounded down.
    pub fn percent(&self) -> i64 {
        if self.goal <= Decimal::ZERO {
            return 0;
        }
        use rust_decimal::prelude::ToPrimitive;
        (self.pledged_total * Decimal::from(100) / self.goal)
            .floor()
            .to_i64()
            .unwrap_or(0)
    }
}

/// The tables a [`Project`] is read from: the founder's name comes from the accounts room's
/// `public_profiles` view.
pub(super) const FROM: &str = "FROM projects p JOIN public_profiles u ON u.id = p.founder_id
     JOIN project_totals t ON t.project_id = p.id";

/// The columns of [`Project`], over [`FROM`].
pub(super) const COLUMNS: &str = "p.id, p.founder_id, u.display_name AS founder_name, p.slug, \
     p.title, p.summary, p.story, p.story_html, p.category, p.kind, p.state, p.goal, p.currency, \
     p.deadline, p.launched_at, t.pledged_total, t.backer_count, p.review_note, p.has_cover, \
     p.created_at, p.updated_at";

/// The same without the story, for lists.
pub(super) const CARD_COLUMNS: &str = "p.id, p.founder_id, u.display_name AS founder_name, \
     p.slug, p.title, p.summary, '' AS story, '' AS story_html, p.category, p.kind, p.state, \
     p.goal, p.currency, p.deadline, p.launched_at, t.pledged_total, t.backer_count, \
     p.review_note, p.has_cover, p.created_at, p.updated_at";

/// [`COLUMNS`] in the reader's language: texts from the translation joined as `tr` (see
/// [`localized_from`]) where there is one.
pub(super) const LOCAL_COLUMNS: &str = "p.id, p.founder_id, u.display_name AS founder_name, \
     p.slug, COALESCE(tr.title, p.title) AS title, COALESCE(tr.summary, p.summary) AS summary, \
     COALESCE(tr.story, p.story) AS story, COALESCE(tr.story_html, p.story_html) AS story_html, \
     p.category, p.kind, p.state, p.goal, p.currency, p.deadline, p.launched_at, \
     t.pledged_total, t.backer_count, p.review_note, p.has_cover, p.created_at, p.updated_at";

/// [`CARD_COLUMNS`] in the reader's language (see [`LOCAL_COLUMNS`]).
pub(super) const LOCAL_CARD_COLUMNS: &str = "p.id, p.founder_id, u.display_name AS founder_name, \
     p.slug, COALESCE(tr.title, p.title) AS title, COALESCE(tr.summary, p.summary) AS summary, \
     '' AS story, '' AS story_html, p.category, p.kind, p.state, p.goal, p.currency, p.deadline, \
     p.launched_at, t.pledged_total, t.backer_count, p.review_note, p.has_cover, p.created_at, \
     p.updated_at";

/// [`FROM`] with the project's translation in the language tag bound as `$param` joined as `tr`
/// (a NULL tag joins nothing: the originals).
pub(super) fn localized_from(param: usize) -> String {
    format!(
        "{FROM} LEFT JOIN project_translations tr ON tr.project_id = p.id AND tr.lang = ${param}"
    )
}

/// A new project, checked.
pub struct NewProject {
    pub title: String,
    /// Chosen by the founder; derived from the title when `None`.
    pub slug: Option<Slug>,
    pub summary: String,
    pub story: String,
    pub category: &'static str,
    pub kind: ProjectKind,
    pub goal: Decimal,
    pub currency: String,
    pub deadline: OffsetDateTime,
    pub tiers: Vec<NewTier>,
    pub offering: Option<NewOffering>,
}

/// Creates a draft with its tiers or offering, in one transaction.
pub async fn create(db: &PgPool, founder: UserId, new: NewProject) -> Result<ProjectId> {
    let id = ProjectId(uuid::Uuid::new_v4());
    let mut tx = db.begin().await?;
    let chosen = new.slug.is_some();
    let mut slug = new
        .slug
        .clone()
        .unwrap_or_else(|| Slug::derive(&new.title, id));
    // A derived slug that is taken gets the id's first digits; a chosen one is the founder's to fix.
    for attempt in 0..2 {
        let inserted: Option<ProjectId> = sqlx::query_scalar(
            "INSERT INTO projects (id, founder_id, slug, title, summary, story, category, kind,
                                   goal, currency, deadline, search, story_html)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, to_tsvector('simple', $12), $13)
             ON CONFLICT (slug) DO NOTHING RETURNING id",
        )
        .bind(id)
        .bind(founder)
        .bind(slug.as_str())
        .bind(&new.title)
        .bind(&new.summary)
        .bind(&new.story)
        .bind(new.category)
        .bind(new.kind)
        .bind(new.goal)
        .bind(&new.currency)
        .bind(new.deadline)
        .bind(search::document(&format!("{} {}", new.title, new.summary)))
        .bind(markdown::render(&new.story))
        .fetch_optional(&mut *tx)
        .await?;
        if inserted.is_some() {
            break;
        }
        if chosen || attempt == 1 {
            return Err(Error::conflict("projects.error.slug_taken"));
        }
        slug = slug.with_suffix(id);
    }
    for tier in &new.tiers {
        insert_tier(&mut tx, id, tier).await?;
    }
    if let Some(offering) = &new.offering {
        put_offering(&mut tx, id, offering).await?;
    }
    tx.commit().await?;
    Ok(id)
}

/// A project by id.
pub async fn find(db: &PgPool, id: ProjectId) -> Result<Option<Project>> {
    Ok(
        sqlx::query_as(&format!("SELECT {COLUMNS} {FROM} WHERE p.id = $1"))
            .bind(id)
            .fetch_optional(db)
            .await?,
    )
}

/// A project by id (when the text is a UUID) or slug.
pub async fn find_by_key(db: &PgPool, key: &str) -> Result<Option<Project>> {
    if let Ok(id) = key.parse::<ProjectId>() {
        return find(db, id).await;
    }
    Ok(
        sqlx::query_as(&format!("SELECT {COLUMNS} {FROM} WHERE p.slug = $1"))
            .bind(key.trim().to_ascii_lowercase())
            .fetch_optional(db)
            .await?,
    )
}

/// Locks a project for a change of state or content, inside the caller's transaction.
pub async fn lock(conn: &mut PgConnection, id: ProjectId) -> Result<Option<Project>> {
    Ok(sqlx::query_as(&format!(
        "SELECT {COLUMNS} {FROM} WHERE p.id = $1 FOR UPDATE OF p"
    ))
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?)
}

/// Sets a new state. `launched_at` is written when given; `note` replaces the review note.
pub async fn set_state(
    conn: &mut PgConnection,
    id: ProjectId,
    to: ProjectState,
    note: Option<&str>,
    launched_at: Option<OffsetDateTime>,
) -> Result<()> {
    sqlx::query(
        "UPDATE projects SET state = $2, review_note = $3,
                launched_at = COALESCE($4, launched_at),
                submitted_at = CASE WHEN $2 = 'in_review' THEN now() ELSE submitted_at END,
                updated_at = now()
         WHERE id = $1",
    )
    .bind(id)
    .bind(to)
    .bind(note)
    .bind(launched_at)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Fields a founder may change; `None` leaves a field as it is.
#[derive(Default)]
pub struct Changes {
    pub title: Option<String>,
    pub slug: Option<Slug>,
    pub summary: Option<String>,
    pub story: Option<String>,
    pub category: Option<&'static str>,
    pub goal: Option<Decimal>,
    pub currency: Option<String>,
    pub deadline: Option<OffsetDateTime>,
    pub offering: Option<NewOffering>,
}

impl Changes {
    /// Whether anything but the story would change.
    pub fn touches_more_than_story(&self) -> bool {
        self.title.is_some()
            || self.slug.is_some()
            || self.summary.is_some()
            || self.category.is_some()
            || self.goal.is_some()
            || self.currency.is_some()
            || self.deadline.is_some()
            || self.offering.is_some()
    }
}

/// Applies changes to a locked project. A slug another project has is a 409.
pub async fn apply(conn: &mut PgConnection, project: &Project, changes: &Changes) -> Result<()> {
    let title = changes.title.as_deref().unwrap_or(&project.title);
    let summary = changes.summary.as_deref().unwrap_or(&project.summary);
    let goal = match &changes.offering {
        Some(offering) => Some(offering.goal()?),
        None => changes.goal,
    };
    sqlx::query(&format!(
        "UPDATE projects p SET title = $2, slug = COALESCE($3, slug), summary = $4,
                story = COALESCE($5, story), category = COALESCE($6, category),
                goal = COALESCE($7, goal), currency = COALESCE($8, currency),
                deadline = COALESCE($9, deadline),
                search = to_tsvector('simple', $10) || {SEARCH_WITH_TRANSLATIONS},
                story_html = COALESCE($11, story_html), updated_at = now()
         WHERE id = $1"
    ))
    .bind(project.id)
    .bind(title)
    .bind(changes.slug.as_ref().map(Slug::as_str))
    .bind(summary)
    .bind(changes.story.as_deref())
    .bind(changes.category)
    .bind(goal)
    .bind(changes.currency.as_deref())
    .bind(changes.deadline)
    .bind(search::document(&format!("{title} {summary}")))
    .bind(changes.story.as_deref().map(markdown::render))
    .execute(&mut *conn)
    .await
    .on_constraint("projects_slug_key", |_| {
        Error::conflict("projects.error.slug_taken")
    })?;
    if let Some(offering) = &changes.offering {
        put_offering(conn, project.id, offering).await?;
    }
    Ok(())
}

/// A dated change made after launch.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Revision {
    /// `story` or `tier`.
    pub change: String,
    /// For a tier, its title.
    pub detail: String,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
}

/// Records a change made after launch.
pub async fn add_revision(
    conn: &mut PgConnection,
    id: ProjectId,
    change: &str,
    previous: &str,
    detail: &str,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO project_revisions (project_id, change, previous, detail) VALUES ($1, $2, $3, $4)",
    )
    .bind(id)
    .bind(change)
    .bind(previous)
    .bind(detail)
    .execute(&mut *conn)
    .await?;
    Ok(())
}
