//! Listings in PostgreSQL: every query this room runs.

use rust_decimal::Decimal;
use serde::Serialize;
use sqlx::{PgConnection, PgPool};
use time::OffsetDateTime;
use uuid::Uuid;

use super::domain::{NewOffering, NewTier, SecurityType, Slug};
use super::{markdown, search, ProjectId, ProjectKind, ProjectState, TierId};
use crate::accounts::domain::UserId;
use crate::error::{Error, Message, Result};

/// A project as the API and pages show it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
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
    /// Whether the project takes pledges at `now` (the one rule, [`super::capacity::accepts_pledges`]).
    pub fn is_open(&self, now: OffsetDateTime) -> bool {
        super::capacity::accepts_pledges(self.state, self.launched_at, self.deadline, now)
    }

    /// Whether anyone may see it: it has been launched (whatever happened since).
    pub fn is_public(&self, now: OffsetDateTime) -> bool {
        super::is_public(self.state, self.launched_at, now)
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

#[derive(sqlx::FromRow)]
struct ProjectRow {
    id: Uuid,
    founder_id: Uuid,
    founder_name: String,
    slug: String,
    title: String,
    summary: String,
    story: String,
    story_html: String,
    category: String,
    kind: String,
    state: String,
    goal: Decimal,
    currency: String,
    deadline: Option<OffsetDateTime>,
    launched_at: Option<OffsetDateTime>,
    pledged_total: Decimal,
    backer_count: i32,
    review_note: Option<String>,
    has_cover: bool,
    created_at: OffsetDateTime,
    updated_at: OffsetDateTime,
}

impl TryFrom<ProjectRow> for Project {
    type Error = Error;

    fn try_from(row: ProjectRow) -> Result<Self> {
        let corrupt =
            |what: &str| Error::Internal(anyhow::anyhow!("stored project has a bad {what}"));
        Ok(Project {
            id: ProjectId(row.id),
            founder_id: UserId(row.founder_id),
            founder_name: row.founder_name,
            slug: row.slug,
            title: row.title,
            summary: row.summary,
            story: row.story,
            story_html: row.story_html,
            category: row.category,
            kind: ProjectKind::parse(&row.kind).ok_or_else(|| corrupt("kind"))?,
            state: ProjectState::parse(&row.state).ok_or_else(|| corrupt("state"))?,
            goal: row.goal,
            currency: row.currency,
            deadline: row.deadline,
            launched_at: row.launched_at,
            pledged_total: row.pledged_total,
            backer_count: row.backer_count,
            review_note: row.review_note,
            has_cover: row.has_cover,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}

/// The columns of `ProjectRow`, for `FROM projects p JOIN users u ON u.id = p.founder_id
/// JOIN project_totals t ON t.project_id = p.id`.
const COLUMNS: &str = "p.id, p.founder_id, u.display_name AS founder_name, p.slug, p.title, \
     p.summary, p.story, p.story_html, p.category, p.kind, p.state, p.goal, p.currency, p.deadline, \
     p.launched_at, t.pledged_total, t.backer_count, p.review_note, \
     p.has_cover, \
     p.created_at, p.updated_at";

/// The same without the story, for lists.
const CARD_COLUMNS: &str = "p.id, p.founder_id, u.display_name AS founder_name, p.slug, p.title, \
     p.summary, '' AS story, '' AS story_html, p.category, p.kind, p.state, p.goal, p.currency, p.deadline, \
     p.launched_at, t.pledged_total, t.backer_count, p.review_note, \
     p.has_cover, \
     p.created_at, p.updated_at";

fn rows(rows: Vec<ProjectRow>) -> Result<Vec<Project>> {
    rows.into_iter().map(Project::try_from).collect()
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

fn slug_taken(e: sqlx::Error) -> Error {
    match &e {
        sqlx::Error::Database(d) if d.constraint() == Some("projects_slug_key") => {
            Error::Conflict(Message::Key("projects.error.slug_taken"))
        }
        _ => Error::Database(e),
    }
}

/// Creates a draft with its tiers or offering, in one transaction.
pub async fn create(db: &PgPool, founder: UserId, new: NewProject) -> Result<ProjectId> {
    let id = ProjectId(Uuid::new_v4());
    let mut tx = db.begin().await?;
    let chosen = new.slug.is_some();
    let mut slug = new
        .slug
        .clone()
        .unwrap_or_else(|| Slug::derive(&new.title, id));
    // A derived slug that is taken gets the id's first digits; a chosen one is the founder's to fix.
    for attempt in 0..2 {
        let inserted: Option<Uuid> = sqlx::query_scalar(
            "INSERT INTO projects (id, founder_id, slug, title, summary, story, category, kind,
                                   goal, currency, deadline, search, story_html)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, to_tsvector('simple', $12), $13)
             ON CONFLICT (slug) DO NOTHING RETURNING id",
        )
        .bind(id.0)
        .bind(founder.0)
        .bind(slug.as_str())
        .bind(&new.title)
        .bind(&new.summary)
        .bind(&new.story)
        .bind(new.category)
        .bind(new.kind.as_str())
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
            return Err(Error::Conflict(Message::Key("projects.error.slug_taken")));
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
    let row: Option<ProjectRow> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM projects p JOIN users u ON u.id = p.founder_id
             JOIN project_totals t ON t.project_id = p.id WHERE p.id = $1"
    ))
    .bind(id.0)
    .fetch_optional(db)
    .await?;
    row.map(Project::try_from).transpose()
}

/// A project by id (when the text is a UUID) or slug.
pub async fn find_by_key(db: &PgPool, key: &str) -> Result<Option<Project>> {
    if let Ok(id) = key.parse::<Uuid>() {
        return find(db, ProjectId(id)).await;
    }
    let row: Option<ProjectRow> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM projects p JOIN users u ON u.id = p.founder_id
             JOIN project_totals t ON t.project_id = p.id WHERE p.slug = $1"
    ))
    .bind(key.trim().to_ascii_lowercase())
    .fetch_optional(db)
    .await?;
    row.map(Project::try_from).transpose()
}

/// Locks a project for a change of state or content, inside the caller's transaction.
pub async fn lock(conn: &mut PgConnection, id: ProjectId) -> Result<Option<Project>> {
    let row: Option<ProjectRow> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM projects p JOIN users u ON u.id = p.founder_id
             JOIN project_totals t ON t.project_id = p.id
         WHERE p.id = $1 FOR UPDATE OF p"
    ))
    .bind(id.0)
    .fetch_optional(&mut *conn)
    .await?;
    row.map(Project::try_from).transpose()
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
    .bind(id.0)
    .bind(to.as_str())
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

/// Applies changes to a locked project.
pub async fn apply(conn: &mut PgConnection, project: &Project, changes: &Changes) -> Result<()> {
    let title = changes.title.as_deref().unwrap_or(&project.title);
    let summary = changes.summary.as_deref().unwrap_or(&project.summary);
    let goal = match &changes.offering {
        Some(offering) => Some(offering.goal()?),
        None => changes.goal,
    };
    sqlx::query(
        "UPDATE projects SET title = $2, slug = COALESCE($3, slug), summary = $4,
                story = COALESCE($5, story), category = COALESCE($6, category),
                goal = COALESCE($7, goal), currency = COALESCE($8, currency),
                deadline = COALESCE($9, deadline), search = to_tsvector('simple', $10),
                story_html = COALESCE($11, story_html), updated_at = now()
         WHERE id = $1",
    )
    .bind(project.id.0)
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
    .map_err(slug_taken)?;
    if let Some(offering) = &changes.offering {
        put_offering(conn, project.id, offering).await?;
    }
    Ok(())
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
    .bind(id.0)
    .bind(change)
    .bind(previous)
    .bind(detail)
    .execute(&mut *conn)
    .await?;
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

/// A reward tier with what is left of it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Tier {
    #[schema(value_type = String, format = Uuid)]
    pub id: TierId,
    pub title: String,
    pub description: String,
    /// The description rendered and sanitised when written.
    #[serde(skip)]
    pub description_html: String,
    #[schema(value_type = String, example = "128.00")]
    pub price: Decimal,
    pub quantity_limit: Option<i32>,
    pub claimed: i32,
    /// `quantity_limit - claimed`; `None` when unlimited.
    pub remaining: Option<i32>,
    /// `YYYY-MM`.
    pub delivery_month: Option<String>,
    pub ships: bool,
}

async fn insert_tier(conn: &mut PgConnection, id: ProjectId, tier: &NewTier) -> Result<TierId> {
    let tier_id = TierId(Uuid::new_v4());
    sqlx::query(
        "INSERT INTO reward_tiers (id, project_id, position, title, description, price,
                                   quantity_limit, delivery_month, ships, description_html)
         VALUES ($1, $2, (SELECT COALESCE(max(position) + 1, 0) FROM reward_tiers WHERE project_id = $2),
                 $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(tier_id.0)
    .bind(id.0)
    .bind(&tier.title)
    .bind(&tier.description)
    .bind(tier.price)
    .bind(tier.quantity_limit)
    .bind(tier.delivery_month)
    .bind(tier.ships)
    .bind(markdown::render(&tier.description))
    .execute(&mut *conn)
    .await?;
    Ok(tier_id)
}

/// Adds a tier to a locked project.
pub async fn add_tier(conn: &mut PgConnection, id: ProjectId, tier: &NewTier) -> Result<TierId> {
    insert_tier(conn, id, tier).await
}

/// Removes a tier nobody has claimed (drafts only; the caller checks the state).
pub async fn delete_tier(conn: &mut PgConnection, id: ProjectId, tier: TierId) -> Result<bool> {
    let done =
        sqlx::query("DELETE FROM reward_tiers WHERE id = $1 AND project_id = $2 AND claimed = 0")
            .bind(tier.0)
            .bind(id.0)
            .execute(&mut *conn)
            .await?;
    Ok(done.rows_affected() == 1)
}

/// The tiers of a project, in order.
pub async fn tiers(db: &mut PgConnection, id: ProjectId) -> Result<Vec<Tier>> {
    type Row = (
        Uuid,
        String,
        String,
        String,
        Decimal,
        Option<i32>,
        i32,
        Option<time::Date>,
        bool,
    );
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT id, title, description, description_html, price, quantity_limit, claimed,
                delivery_month, ships
         FROM reward_tiers WHERE project_id = $1 ORDER BY position, created_at",
    )
    .bind(id.0)
    .fetch_all(&mut *db)
    .await?;
    Ok(rows
        .into_iter()
        .map(
            |(id, title, description, description_html, price, limit, claimed, month, ships)| {
                Tier {
                    id: TierId(id),
                    title,
                    description,
                    description_html,
                    price,
                    quantity_limit: limit,
                    claimed,
                    remaining: limit.map(|l| (l - claimed).max(0)),
                    delivery_month: month
                        .map(|m| format!("{:04}-{:02}", m.year(), m.month() as u8)),
                    ships,
                }
            },
        )
        .collect())
}

/// An equity offering with what is left of it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Offering {
    #[schema(value_type = String, example = "10.00")]
    pub price_per_share: Decimal,
    pub min_shares: i64,
    pub max_shares: i64,
    pub min_shares_per_investor: i64,
    #[schema(value_type = String, example = "20000000.00")]
    pub pre_money_valuation: Decimal,
    pub security_type: SecurityType,
    pub risk_warning: String,
    pub max_investors: i32,
    pub shares_sold: i64,
    /// `max_shares - shares_sold`.
    pub shares_left: i64,
    pub investor_count: i32,
}

async fn put_offering(conn: &mut PgConnection, id: ProjectId, o: &NewOffering) -> Result<()> {
    sqlx::query(
        "INSERT INTO equity_offerings (project_id, price_per_share, min_shares, max_shares,
             min_shares_per_investor, pre_money_valuation, security_type, risk_warning)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         ON CONFLICT (project_id) DO UPDATE SET price_per_share = EXCLUDED.price_per_share,
             min_shares = EXCLUDED.min_shares, max_shares = EXCLUDED.max_shares,
             min_shares_per_investor = EXCLUDED.min_shares_per_investor,
             pre_money_valuation = EXCLUDED.pre_money_valuation,
             security_type = EXCLUDED.security_type, risk_warning = EXCLUDED.risk_warning",
    )
    .bind(id.0)
    .bind(o.price_per_share)
    .bind(o.min_shares)
    .bind(o.max_shares)
    .bind(o.min_shares_per_investor)
    .bind(o.pre_money_valuation)
    .bind(o.security_type.as_str())
    .bind(&o.risk_warning)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The offering of an equity project.
pub async fn offering(db: &mut PgConnection, id: ProjectId) -> Result<Option<Offering>> {
    type Row = (
        Decimal,
        i64,
        i64,
        i64,
        Decimal,
        String,
        String,
        i32,
        i64,
        i32,
    );
    let row: Option<Row> = sqlx::query_as(
        "SELECT price_per_share, min_shares, max_shares, min_shares_per_investor,
                pre_money_valuation, security_type, risk_warning, max_investors, shares_sold,
                investor_count
         FROM equity_offerings WHERE project_id = $1",
    )
    .bind(id.0)
    .fetch_optional(&mut *db)
    .await?;
    row.map(
        |(price, min, max, per, valuation, security, risk, max_inv, sold, investors)| {
            Ok(Offering {
                price_per_share: price,
                min_shares: min,
                max_shares: max,
                min_shares_per_investor: per,
                pre_money_valuation: valuation,
                security_type: SecurityType::parse(&security)?,
                risk_warning: risk,
                max_investors: max_inv,
                shares_sold: sold,
                shares_left: (max - sold).max(0),
                investor_count: investors,
            })
        },
    )
    .transpose()
}

/// How many tiers a project has (a reward project needs one before review).
pub async fn tier_count(conn: &mut PgConnection, id: ProjectId) -> Result<i64> {
    Ok(
        sqlx::query_scalar("SELECT count(*) FROM reward_tiers WHERE project_id = $1")
            .bind(id.0)
            .fetch_one(&mut *conn)
            .await?,
    )
}

/// Whether an equity project has its offering.
pub async fn has_offering(conn: &mut PgConnection, id: ProjectId) -> Result<bool> {
    Ok(
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM equity_offerings WHERE project_id = $1)")
            .bind(id.0)
            .fetch_one(&mut *conn)
            .await?,
    )
}

/// The order of a listing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Sort {
    #[default]
    Newest,
    EndingSoon,
    MostFunded,
}

impl Sort {
    /// Parses `newest`, `ending` or `funded`.
    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "newest" => Some(Sort::Newest),
            "ending" | "ending_soon" => Some(Sort::EndingSoon),
            "funded" | "most_funded" => Some(Sort::MostFunded),
            _ => None,
        }
    }

    /// The name in URLs.
    pub fn as_str(self) -> &'static str {
        match self {
            Sort::Newest => "newest",
            Sort::EndingSoon => "ending",
            Sort::MostFunded => "funded",
        }
    }

    fn order_by(self) -> &'static str {
        match self {
            Sort::Newest => "p.launched_at DESC, p.id",
            Sort::EndingSoon => "p.deadline ASC, p.id",
            Sort::MostFunded => "t.pledged_total DESC, t.project_id",
        }
    }
}

/// What a visitor asked to browse.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub kind: Option<ProjectKind>,
    pub category: Option<&'static str>,
    /// A `to_tsquery('simple', ...)` expression from `search::query`.
    pub query: Option<String>,
    /// Public states to show; `live` by default.
    pub state: Option<ProjectState>,
    pub sort: Sort,
    /// From 1.
    pub page: u32,
    pub per_page: u32,
}

/// One page of public projects, and whether another page follows.
///
/// Two statements. The first finds the page's ids in `projects` alone (with the totals only to
/// sort by funding); the second reads their cards by id. Planning the four-table join for every
/// search cost more than running it, and only the first statement needs a plan of its own.
///
/// The first statement holds only the conditions in use: with `($n IS NULL OR ...)` guards the
/// prepared statement's generic plan could not use the indexes, and scanned every project.
pub async fn browse(db: &PgPool, filter: &Filter) -> Result<(Vec<Project>, bool)> {
    let per_page = filter.per_page.clamp(1, 60) as i64;
    let offset = (filter.page.max(1) as i64 - 1).saturating_mul(per_page);
    let state = filter.state.unwrap_or(ProjectState::Live);
    let mut sql = sqlx::QueryBuilder::<sqlx::Postgres>::new("SELECT p.id FROM projects p");
    if filter.sort == Sort::MostFunded {
        sql.push(" JOIN project_totals t ON t.project_id = p.id");
    }
    sql.push(" WHERE p.launched_at <= now() AND p.state = ")
        .push_bind(state.as_str());
    if let Some(kind) = filter.kind {
        sql.push(" AND p.kind = ").push_bind(kind.as_str());
    }
    if let Some(category) = filter.category {
        sql.push(" AND p.category = ").push_bind(category);
    }
    if let Some(query) = &filter.query {
        sql.push(" AND p.search @@ to_tsquery('simple', ")
            .push_bind(query.as_str())
            .push(")");
    }
    // The limit and offset are written into the statement, not bound: planned for an unknown
    // limit, the generic plan joined every project's totals before sorting (a third of the rate).
    sql.push(" ORDER BY ")
        .push(filter.sort.order_by())
        .push(format_args!(" LIMIT {} OFFSET {offset}", per_page + 1));
    // A search is planned for its own words: a kept generic plan guesses how many projects match
    // and, guessing many, reads all of them through the search index instead of walking the
    // listing's order until the page is full.
    let mut ids: Vec<Uuid> = sql
        .build_query_scalar()
        .persistent(filter.query.is_none())
        .fetch_all(db)
        .await?;
    let more = ids.len() as i64 > per_page;
    ids.truncate(per_page as usize);
    if ids.is_empty() {
        return Ok((Vec::new(), false));
    }
    let mut found = rows(
        sqlx::query_as(&format!(
            "SELECT {CARD_COLUMNS} FROM projects p JOIN users u ON u.id = p.founder_id
             JOIN project_totals t ON t.project_id = p.id
             WHERE p.id = ANY($1)"
        ))
        .bind(&ids)
        .fetch_all(db)
        .await?,
    )?;
    found.sort_by_key(|project| ids.iter().position(|id| *id == project.id.0));
    Ok((found, more))
}

/// A founder's own projects, newest first.
pub async fn by_founder(db: &PgPool, founder: UserId) -> Result<Vec<Project>> {
    rows(
        sqlx::query_as(&format!(
            "SELECT {CARD_COLUMNS} FROM projects p JOIN users u ON u.id = p.founder_id
             JOIN project_totals t ON t.project_id = p.id
             WHERE p.founder_id = $1 ORDER BY p.created_at DESC"
        ))
        .bind(founder.0)
        .fetch_all(db)
        .await?,
    )
}

/// Projects waiting for review, oldest submission first.
pub async fn review_queue(db: &PgPool) -> Result<Vec<Project>> {
    rows(
        sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM projects p JOIN users u ON u.id = p.founder_id
             JOIN project_totals t ON t.project_id = p.id
             WHERE p.state = 'in_review' ORDER BY p.submitted_at, p.created_at"
        ))
        .fetch_all(db)
        .await?,
    )
}

/// Projects the regulator may freeze, unfreeze or cancel.
pub async fn supervised(db: &PgPool) -> Result<Vec<Project>> {
    rows(
        sqlx::query_as(&format!(
            "SELECT {CARD_COLUMNS} FROM projects p JOIN users u ON u.id = p.founder_id
             JOIN project_totals t ON t.project_id = p.id
             WHERE p.state IN ('live', 'frozen') ORDER BY p.state DESC, p.deadline LIMIT 200"
        ))
        .fetch_all(db)
        .await?,
    )
}

/// Stores a cover, replacing any earlier one.
pub async fn put_cover(db: &PgPool, id: ProjectId, content_type: &str, bytes: &[u8]) -> Result<()> {
    let mut tx = db.begin().await?;
    sqlx::query(
        "INSERT INTO project_covers (project_id, content_type, bytes) VALUES ($1, $2, $3)
         ON CONFLICT (project_id) DO UPDATE SET content_type = EXCLUDED.content_type,
             bytes = EXCLUDED.bytes, updated_at = now()",
    )
    .bind(id.0)
    .bind(content_type)
    .bind(bytes)
    .execute(&mut *tx)
    .await?;
    sqlx::query("UPDATE projects SET has_cover = true, updated_at = now() WHERE id = $1")
        .bind(id.0)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

/// A stored cover: content type and bytes.
pub async fn cover(db: &PgPool, id: ProjectId) -> Result<Option<(String, Vec<u8>)>> {
    Ok(
        sqlx::query_as("SELECT content_type, bytes FROM project_covers WHERE project_id = $1")
            .bind(id.0)
            .fetch_optional(db)
            .await?,
    )
}

/// A founder's news for backers.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Update {
    #[schema(value_type = String, format = Uuid)]
    pub id: Uuid,
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

/// Posts an update.
pub async fn add_update(
    db: &PgPool,
    id: ProjectId,
    title: &str,
    body: &str,
    backers_only: bool,
) -> Result<Update> {
    let body_html = markdown::render(body);
    let row: (Uuid, OffsetDateTime) = sqlx::query_as(
        "INSERT INTO project_updates (id, project_id, title, body, body_html, backers_only)
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id, created_at",
    )
    .bind(Uuid::new_v4())
    .bind(id.0)
    .bind(title)
    .bind(body)
    .bind(&body_html)
    .bind(backers_only)
    .fetch_one(db)
    .await?;
    Ok(Update {
        id: row.0,
        title: title.to_owned(),
        body: body.to_owned(),
        body_html,
        backers_only,
        created_at: row.1,
    })
}

/// What the project page shows besides the project itself, with the ledger's size for proofs.
pub struct Parts {
    pub tiers: Vec<Tier>,
    pub offering: Option<Offering>,
    pub updates: Vec<Update>,
    pub revisions: Vec<Revision>,
    pub trail: Vec<crate::supervision::TrailEntry>,
    pub tree_size: u64,
}

#[derive(serde::Deserialize)]
struct TierJson {
    id: Uuid,
    title: String,
    description: String,
    description_html: String,
    price: Decimal,
    quantity_limit: Option<i32>,
    claimed: i32,
    delivery_month: Option<String>,
    ships: bool,
}

#[derive(serde::Deserialize)]
struct OfferingJson {
    price_per_share: Decimal,
    min_shares: i64,
    max_shares: i64,
    min_shares_per_investor: i64,
    pre_money_valuation: Decimal,
    security_type: String,
    risk_warning: String,
    max_investors: i32,
    shares_sold: i64,
    investor_count: i32,
}

#[derive(serde::Deserialize)]
struct UpdateJson {
    id: Uuid,
    title: String,
    body: String,
    body_html: String,
    backers_only: bool,
    created_us: i64,
}

#[derive(serde::Deserialize)]
struct RevisionJson {
    change: String,
    detail: String,
    created_us: i64,
}

#[derive(serde::Deserialize)]
struct TrailJson {
    action: String,
    from_state: String,
    to_state: String,
    reason: String,
    regulator_name: String,
    launch_us: Option<i64>,
    at_us: i64,
    tx_hash: String,
}

/// Times travel through JSON as whole microseconds since the epoch, PostgreSQL's own
/// precision, so nothing is lost or reparsed from text.
fn from_micros(us: i64) -> Result<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(us) * 1000)
        .map_err(|e| Error::Internal(e.into()))
}

/// The select list of [`PartsRow`] for the project `p`: its tiers, offering, updates
/// (backers-only ones where `backers_only` holds), revisions and supervision trail, and the
/// ledger's size.
fn parts_columns(backers_only: &str) -> String {
    format!(
        "(SELECT COALESCE(json_agg(json_build_object(
                'id', id, 'title', title, 'description', description,
                'description_html', description_html, 'price', price::text,
                'quantity_limit', quantity_limit, 'claimed', claimed,
                'delivery_month', to_char(delivery_month, 'YYYY-MM'), 'ships', ships)
              ORDER BY position, created_at), '[]')
            FROM reward_tiers WHERE project_id = p.id) AS tiers,
           (SELECT json_build_object(
                'price_per_share', price_per_share::text, 'min_shares', min_shares,
                'max_shares', max_shares, 'min_shares_per_investor', min_shares_per_investor,
                'pre_money_valuation', pre_money_valuation::text, 'security_type', security_type,
                'risk_warning', risk_warning, 'max_investors', max_investors,
                'shares_sold', shares_sold, 'investor_count', investor_count)
            FROM equity_offerings WHERE project_id = p.id) AS offering,
           (SELECT COALESCE(json_agg(json_build_object(
                'id', id, 'title', title, 'body', body, 'body_html', body_html,
                'backers_only', backers_only,
                'created_us', (extract(epoch FROM created_at) * 1000000)::int8)
              ORDER BY created_at DESC), '[]')
            FROM project_updates WHERE project_id = p.id AND (NOT backers_only OR {backers_only}))
            AS updates,
           (SELECT COALESCE(json_agg(json_build_object(
                'change', change, 'detail', detail,
                'created_us', (extract(epoch FROM created_at) * 1000000)::int8)
              ORDER BY created_at, id), '[]')
            FROM project_revisions WHERE project_id = p.id) AS revisions,
           (SELECT COALESCE(json_agg(json_build_object(
                'action', s.action, 'from_state', s.from_state, 'to_state', s.to_state,
                'reason', s.reason, 'regulator_name', u.display_name,
                'launch_us', (extract(epoch FROM s.launch_at) * 1000000)::int8,
                'at_us', (extract(epoch FROM s.at) * 1000000)::int8,
                'tx_hash', encode(s.tx_hash, 'hex'))
              ORDER BY s.at, s.id), '[]')
            FROM supervision_actions s JOIN users u ON u.id = s.regulator_id
            WHERE s.project_id = p.id) AS trail,
           (SELECT size FROM ledger_head) AS tree_size"
    )
}

#[derive(sqlx::FromRow)]
struct PartsRow {
    tiers: sqlx::types::Json<Vec<TierJson>>,
    offering: Option<sqlx::types::Json<OfferingJson>>,
    updates: sqlx::types::Json<Vec<UpdateJson>>,
    revisions: sqlx::types::Json<Vec<RevisionJson>>,
    trail: sqlx::types::Json<Vec<TrailJson>>,
    tree_size: i64,
}

#[derive(sqlx::FromRow)]
struct ViewRow {
    #[sqlx(flatten)]
    project: ProjectRow,
    #[sqlx(flatten)]
    parts: PartsRow,
}

/// A project by id (when the text is a UUID) or slug, with everything its page shows, in one
/// statement; backers-only updates when `viewer` is its founder (whether a backer may read them
/// is the pledging room's to say: see `projects::api::visible_detail`). The project page is the
/// busiest page: one query per part cost it more in round trips and per-statement work than the
/// rows themselves.
pub async fn view(
    db: &PgPool,
    key: &str,
    viewer: Option<UserId>,
) -> Result<Option<(Project, Parts)>> {
    let by = if key.parse::<Uuid>().is_ok() {
        "p.id = $1::uuid"
    } else {
        "p.slug = $1"
    };
    let backer = "coalesce(p.founder_id = $2, false)";
    let row: Option<ViewRow> = sqlx::query_as(&format!(
        "SELECT {COLUMNS}, {} FROM projects p JOIN users u ON u.id = p.founder_id
             JOIN project_totals t ON t.project_id = p.id WHERE {by}",
        parts_columns(backer)
    ))
    .bind(key.trim().to_ascii_lowercase())
    .bind(viewer.map(|v| v.0))
    .fetch_optional(db)
    .await?;
    row.map(|row| Ok((Project::try_from(row.project)?, parts_from(row.parts)?)))
        .transpose()
}

/// A project's parts (see [`parts_columns`]), backers-only updates when `include_backers_only`.
pub async fn parts(db: &PgPool, id: ProjectId, include_backers_only: bool) -> Result<Parts> {
    let row: PartsRow = sqlx::query_as(&format!(
        "SELECT {} FROM projects p WHERE p.id = $1",
        parts_columns("$2")
    ))
    .bind(id.0)
    .bind(include_backers_only)
    .fetch_one(db)
    .await?;
    parts_from(row)
}

fn parts_from(row: PartsRow) -> Result<Parts> {
    let PartsRow {
        tiers,
        offering,
        updates,
        revisions,
        trail,
        tree_size,
    } = row;
    let offering = offering
        .map(|sqlx::types::Json(o)| {
            Ok::<_, Error>(Offering {
                price_per_share: o.price_per_share,
                min_shares: o.min_shares,
                max_shares: o.max_shares,
                min_shares_per_investor: o.min_shares_per_investor,
                pre_money_valuation: o.pre_money_valuation,
                security_type: SecurityType::parse(&o.security_type)?,
                risk_warning: o.risk_warning,
                max_investors: o.max_investors,
                shares_sold: o.shares_sold,
                shares_left: (o.max_shares - o.shares_sold).max(0),
                investor_count: o.investor_count,
            })
        })
        .transpose()?;
    Ok(Parts {
        tiers: tiers
            .0
            .into_iter()
            .map(|t| Tier {
                id: TierId(t.id),
                title: t.title,
                description: t.description,
                description_html: t.description_html,
                price: t.price,
                quantity_limit: t.quantity_limit,
                claimed: t.claimed,
                remaining: t.quantity_limit.map(|l| (l - t.claimed).max(0)),
                delivery_month: t.delivery_month,
                ships: t.ships,
            })
            .collect(),
        offering,
        updates: updates
            .0
            .into_iter()
            .map(|u| {
                Ok(Update {
                    id: u.id,
                    title: u.title,
                    body: u.body,
                    body_html: u.body_html,
                    backers_only: u.backers_only,
                    created_at: from_micros(u.created_us)?,
                })
            })
            .collect::<Result<_>>()?,
        revisions: revisions
            .0
            .into_iter()
            .map(|r| {
                Ok(Revision {
                    change: r.change,
                    detail: r.detail,
                    created_at: from_micros(r.created_us)?,
                })
            })
            .collect::<Result<_>>()?,
        trail: trail
            .0
            .into_iter()
            .map(|s| {
                Ok(crate::supervision::TrailEntry {
                    action: s.action,
                    from_state: s.from_state,
                    to_state: s.to_state,
                    reason: s.reason,
                    regulator_name: s.regulator_name,
                    launch_at: s.launch_us.map(from_micros).transpose()?,
                    at: from_micros(s.at_us)?,
                    tx_hash: s.tx_hash,
                })
            })
            .collect::<Result<_>>()?,
        tree_size: tree_size as u64,
    })
}
