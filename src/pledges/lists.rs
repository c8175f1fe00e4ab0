//! Pledges as their backer lists them.

use serde::Serialize;
use sqlx::PgPool;
use time::OffsetDateTime;

use super::change::window_end;
use super::{Pledge, PledgeId};
use crate::error::Result;
use crate::ids::{ProjectId, UserId};
use crate::projects::ProjectKind;

/// A pledge with what the backer's list shows of its project.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PledgeView {
    #[serde(flatten)]
    pub pledge: Pledge,
    pub project_title: String,
    pub tier_title: Option<String>,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub changeable_until: Option<OffsetDateTime>,
}

/// A pledge joined with its project's and tier's headlines.
#[derive(sqlx::FromRow)]
struct ViewRow {
    #[sqlx(flatten)]
    pledge: Pledge,
    project_title: String,
    tier_title: Option<String>,
    project_kind: ProjectKind,
    deadline: Option<OffsetDateTime>,
}

/// Most pledges a backer's list shows.
const LIST_LIMIT: i64 = 500;

/// A backer's pledges, newest first (at most 500).
pub async fn for_backer(db: &PgPool, backer: UserId) -> Result<Vec<PledgeView>> {
    let rows: Vec<ViewRow> = sqlx::query_as(
        "SELECT p.id, p.project_id, p.backer_id, p.tier_id, p.amount, p.shares, p.currency,
                p.state, p.shipping_region, p.shipping_price, p.addons_price, p.created_at,
                p.updated_at, pr.title AS project_title,
                t.title AS tier_title, pr.kind AS project_kind, pr.deadline
         FROM pledges p JOIN project_headlines pr ON pr.id = p.project_id
         LEFT JOIN tier_headlines t ON t.id = p.tier_id
         WHERE p.backer_id = $1 ORDER BY p.created_at DESC, p.id LIMIT $2",
    )
    .bind(backer)
    .bind(LIST_LIMIT)
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let kind = r.project_kind;
            PledgeView {
                pledge: r.pledge,
                project_title: r.project_title,
                tier_title: r.tier_title,
                changeable_until: r.deadline.map(|d| window_end(kind, d)),
            }
        })
        .collect())
}

/// The backer's active pledge to the project, if any (a backer holds at most one).
pub async fn active_pledge_of(
    db: &PgPool,
    backer: UserId,
    project: ProjectId,
) -> Result<Option<PledgeId>> {
    Ok(sqlx::query_scalar(
        "SELECT id FROM pledges WHERE project_id = $1 AND backer_id = $2 AND state = 'active'",
    )
    .bind(project)
    .bind(backer)
    .fetch_optional(db)
    .await?)
}
