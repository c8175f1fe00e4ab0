//! Lists of projects: the public listing with its filters and orders, a founder's projects, and
//! the regulator's queues.

use sqlx::PgPool;

use super::project::{localized_from, Project, CARD_COLUMNS, COLUMNS, FROM, LOCAL_CARD_COLUMNS};
use crate::error::Result;
use crate::i18n::Lang;
use crate::ids::UserId;
use crate::projects::{ProjectId, ProjectKind, ProjectState};

/// The order of a listing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Sort {
    #[default]
    Newest,
    EndingSoon,
    MostFunded,
    /// Approved projects whose launch is still ahead, the soonest first.
    Launching,
}

impl Sort {
    /// Parses `newest`, `ending` or `funded`.
    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "newest" => Some(Sort::Newest),
            "ending" | "ending_soon" => Some(Sort::EndingSoon),
            "funded" | "most_funded" => Some(Sort::MostFunded),
            "launching" => Some(Sort::Launching),
            _ => None,
        }
    }

    /// The name in URLs.
    pub fn as_str(self) -> &'static str {
        match self {
            Sort::Newest => "newest",
            Sort::EndingSoon => "ending",
            Sort::MostFunded => "funded",
            Sort::Launching => "launching",
        }
    }

    fn order_by(self) -> &'static str {
        match self {
            Sort::Newest => "p.launched_at DESC, p.id",
            Sort::EndingSoon => "p.deadline ASC, p.id",
            Sort::MostFunded => "t.pledged_total DESC, t.project_id",
            Sort::Launching => "p.launched_at ASC, p.id",
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

/// One page of public projects (with [`Sort::Launching`], of projects approved to launch later),
/// and whether another page follows; texts in `lang` where a project has them.
///
/// Two statements. The first finds the page's ids in `projects` alone (with the totals only to
/// sort by funding); the second reads their cards by id. Planning the four-table join for every
/// search cost more than running it, and only the first statement needs a plan of its own.
///
/// The first statement holds only the conditions in use: with `($n IS NULL OR ...)` guards the
/// prepared statement's generic plan could not use the indexes, and scanned every project.
pub async fn browse(
    db: &PgPool,
    filter: &Filter,
    lang: Option<Lang>,
) -> Result<(Vec<Project>, bool)> {
    let per_page = filter.per_page.clamp(1, 60) as i64;
    let offset = (filter.page.max(1) as i64 - 1).saturating_mul(per_page);
    let state = filter.state.unwrap_or(ProjectState::Live);
    let mut sql = sqlx::QueryBuilder::<sqlx::Postgres>::new("SELECT p.id FROM projects p");
    if filter.sort == Sort::MostFunded {
        sql.push(" JOIN project_totals t ON t.project_id = p.id");
    }
    let launched = if filter.sort == Sort::Launching {
        " WHERE p.launched_at > now()"
    } else {
        " WHERE p.launched_at <= now()"
    };
    sql.push(launched).push(" AND p.state = ").push_bind(state);
    if filter.sort == Sort::EndingSoon {
        // Campaigns past their deadline are over (waiting for settlement), not ending soon.
        sql.push(" AND p.deadline > now()");
    }
    if let Some(kind) = filter.kind {
        sql.push(" AND p.kind = ").push_bind(kind);
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
    let mut ids: Vec<ProjectId> = sql
        .build_query_scalar()
        .persistent(filter.query.is_none())
        .fetch_all(db)
        .await?;
    let more = ids.len() as i64 > per_page;
    ids.truncate(per_page as usize);
    if ids.is_empty() {
        return Ok((Vec::new(), false));
    }
    let mut found: Vec<Project> = sqlx::query_as(&format!(
        "SELECT {LOCAL_CARD_COLUMNS} {} WHERE p.id = ANY($1)",
        localized_from(2)
    ))
    .bind(&ids)
    .bind(lang.map(Lang::tag))
    .fetch_all(db)
    .await?;
    found.sort_by_key(|project| ids.iter().position(|id| *id == project.id));
    Ok((found, more))
}

/// A founder's own projects, newest first.
pub async fn by_founder(db: &PgPool, founder: UserId) -> Result<Vec<Project>> {
    Ok(sqlx::query_as(&format!(
        "SELECT {CARD_COLUMNS} {FROM} WHERE p.founder_id = $1 ORDER BY p.created_at DESC"
    ))
    .bind(founder)
    .fetch_all(db)
    .await?)
}

/// Projects waiting for review, oldest submission first.
pub async fn review_queue(db: &PgPool) -> Result<Vec<Project>> {
    Ok(sqlx::query_as(&format!(
        "SELECT {COLUMNS} {FROM} WHERE p.state = 'in_review' ORDER BY p.submitted_at, p.created_at"
    ))
    .fetch_all(db)
    .await?)
}

/// Projects the regulator may freeze, unfreeze or cancel.
pub async fn supervised(db: &PgPool) -> Result<Vec<Project>> {
    Ok(sqlx::query_as(&format!(
        "SELECT {CARD_COLUMNS} {FROM} WHERE p.state IN ('live', 'frozen')
         ORDER BY p.state DESC, p.deadline LIMIT 200"
    ))
    .fetch_all(db)
    .await?)
}
