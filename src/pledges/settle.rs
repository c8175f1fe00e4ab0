//! What settlement does to pledges: take the next batch of active pledges of a project and move
//! them to `collected` or `refunded` in the caller's transaction.

use rust_decimal::Decimal;
use sqlx::PgConnection;
use uuid::Uuid;

use super::{PledgeId, PledgeState};
use crate::error::Result;
use crate::ids::{ProjectId, UserId};

/// A pledge just settled.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Settled {
    pub id: PledgeId,
    #[sqlx(rename = "backer_id")]
    pub backer: UserId,
    pub amount: Decimal,
    pub shares: Option<i64>,
}

/// Moves up to `limit` active pledges of `project` with ids above `after` (in id order) to `to`,
/// and returns exactly the pledges that moved: a pledge changed concurrently is not returned, so
/// nothing is settled twice or on a stale amount. Passing the last id of the previous batch
/// lets the index scan start past the pledges already settled, whose old index entries are not
/// yet vacuumed; a fresh start (after a crash) passes `None`.
pub async fn settle_batch(
    conn: &mut PgConnection,
    project: ProjectId,
    to: PledgeState,
    after: Option<PledgeId>,
    limit: i64,
) -> Result<Vec<Settled>> {
    let mut settled: Vec<Settled> = sqlx::query_as(
        "UPDATE pledges SET state = $2, updated_at = now(), closed_at = now()
          WHERE id IN (SELECT id FROM pledges
                        WHERE project_id = $1 AND state = 'active' AND id > $4
                        ORDER BY id LIMIT $3
                        FOR UPDATE)
            AND state = 'active'
         RETURNING id, backer_id, amount, shares",
    )
    .bind(project)
    .bind(to)
    .bind(limit)
    .bind(after.unwrap_or(PledgeId(Uuid::nil())))
    .fetch_all(&mut *conn)
    .await?;
    settled.sort_by_key(|s| s.id);
    Ok(settled)
}

/// Sum of the project's collected pledges.
pub async fn collected_total(conn: &mut PgConnection, project: ProjectId) -> Result<Decimal> {
    Ok(sqlx::query_scalar(
        "SELECT coalesce(sum(amount), 0) FROM pledges WHERE project_id = $1 AND state = 'collected'",
    )
    .bind(project)
    .fetch_one(&mut *conn)
    .await?)
}

/// Number of active pledges (for progress bars).
pub async fn active_count(conn: &mut PgConnection, project: ProjectId) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "SELECT count(*) FROM pledges WHERE project_id = $1 AND state = 'active'",
    )
    .bind(project)
    .fetch_one(&mut *conn)
    .await?)
}

/// Everyone whose pledge to the project was settled (collected or refunded).
pub async fn settled_backers(conn: &mut PgConnection, project: ProjectId) -> Result<Vec<UserId>> {
    Ok(sqlx::query_scalar(
        "SELECT DISTINCT backer_id FROM pledges
          WHERE project_id = $1 AND state IN ('collected', 'refunded')",
    )
    .bind(project)
    .fetch_all(&mut *conn)
    .await?)
}
