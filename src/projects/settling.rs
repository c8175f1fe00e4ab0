//! The end of a project's life: which projects are due for settlement, the outcome, and the
//! final state. Settlement calls these inside its own transactions.

use rust_decimal::Decimal;
use sqlx::PgConnection;

use super::{ProjectId, ProjectKind, ProjectState};
use crate::error::Result;
use crate::ids::UserId;

/// How a project's pledges end (stored in `projects.settlement_outcome` once decided).
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::Type)]
#[sqlx(type_name = "text", rename_all = "snake_case")]
pub enum Outcome {
    /// The goal (equity: minimum shares) was reached: collect every pledge.
    Funded,
    /// The goal was missed: refund every pledge.
    Failed,
    /// The regulator cancelled the project: refund every pledge.
    Refund,
}

/// A project being settled, locked by the caller's transaction.
#[derive(Debug, Clone)]
pub struct Settling {
    pub id: ProjectId,
    pub slug: String,
    pub title: String,
    pub founder: UserId,
    pub kind: ProjectKind,
    pub currency: String,
    pub outcome: Outcome,
    pub price_per_share: Option<Decimal>,
}

/// A due project's row, with what deciding its outcome needs.
#[derive(sqlx::FromRow)]
struct Row {
    id: ProjectId,
    slug: String,
    title: String,
    founder_id: UserId,
    kind: ProjectKind,
    state: ProjectState,
    currency: String,
    settlement_outcome: Option<Outcome>,
    goal: Decimal,
    pledged_total: Decimal,
    shares_sold: Option<i64>,
    min_shares: Option<i64>,
    price_per_share: Option<Decimal>,
}

const SELECT: &str = "SELECT p.id, p.slug, p.title, p.founder_id, p.kind, p.state, p.currency,
        p.settlement_outcome, p.goal, t.pledged_total, o.shares_sold, o.min_shares, o.price_per_share
   FROM projects p JOIN project_totals t ON t.project_id = p.id
   LEFT JOIN equity_offerings o ON o.project_id = p.id";

/// Locks the next project due for settlement, skipping projects another worker holds: a live
/// project past its deadline (frozen ones wait), one already settling, or one cancelled by the
/// regulator after launch whose pledges are not yet refunded. On first lock the outcome is decided and the
/// project moves to `settling`, so a resumed settlement keeps the same outcome.
pub async fn lock_next_due(conn: &mut PgConnection) -> Result<Option<Settling>> {
    let row: Option<Row> = sqlx::query_as(&format!(
        "{SELECT}
          WHERE (p.state = 'live' AND p.deadline <= now())
             OR p.state = 'settling'
             OR (p.state = 'cancelled' AND p.settled_at IS NULL AND p.launched_at IS NOT NULL)
          ORDER BY p.deadline NULLS FIRST, p.id
          LIMIT 1
          FOR UPDATE OF p SKIP LOCKED"
    ))
    .fetch_optional(&mut *conn)
    .await?;
    match row {
        Some(row) => Ok(Some(begin(conn, row).await?)),
        None => Ok(None),
    }
}

/// Locks a given project if it is still being settled and nobody else holds it.
pub async fn lock_settling(conn: &mut PgConnection, id: ProjectId) -> Result<Option<Settling>> {
    let row: Option<Row> = sqlx::query_as(&format!(
        "{SELECT}
          WHERE p.id = $1 AND (p.state = 'settling' OR (p.state = 'cancelled' AND p.settled_at IS NULL))
          FOR UPDATE OF p SKIP LOCKED"
    ))
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?;
    match row {
        Some(row) => Ok(Some(begin(conn, row).await?)),
        None => Ok(None),
    }
}

async fn begin(conn: &mut PgConnection, row: Row) -> Result<Settling> {
    let outcome = match row.settlement_outcome {
        Some(decided) => decided,
        None => {
            let decided = decide(&row);
            sqlx::query(
                "UPDATE projects SET settlement_outcome = $2,
                        state = CASE WHEN state = 'live' THEN 'settling' ELSE state END,
                        updated_at = now()
                  WHERE id = $1",
            )
            .bind(row.id)
            .bind(decided)
            .execute(&mut *conn)
            .await?;
            decided
        }
    };
    Ok(Settling {
        id: row.id,
        slug: row.slug,
        title: row.title,
        founder: row.founder_id,
        kind: row.kind,
        currency: row.currency,
        outcome,
        price_per_share: row.price_per_share,
    })
}

/// The outcome of a project whose outcome is not decided yet: a cancelled project refunds; else
/// it is funded when it reached its goal (equity: its minimum shares).
fn decide(row: &Row) -> Outcome {
    if row.state == ProjectState::Cancelled {
        return Outcome::Refund;
    }
    let reached = match row.kind {
        ProjectKind::Reward => row.pledged_total >= row.goal,
        ProjectKind::Equity => row.shares_sold.unwrap_or(0) >= row.min_shares.unwrap_or(i64::MAX),
    };
    if reached {
        Outcome::Funded
    } else {
        Outcome::Failed
    }
}

/// Marks the project settled: `funded` or `failed` (a cancelled project stays `cancelled`).
pub async fn finish(conn: &mut PgConnection, project: &Settling) -> Result<()> {
    let state = match project.outcome {
        Outcome::Funded => ProjectState::Funded,
        Outcome::Failed => ProjectState::Failed,
        Outcome::Refund => ProjectState::Cancelled,
    };
    sqlx::query(
        "UPDATE projects SET state = $2, settled_at = now(), updated_at = now() WHERE id = $1",
    )
    .bind(project.id)
    .bind(state)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// For the demo catalogue only: ends a live campaign now, so the settlement worker settles it
/// for real (ledger entries, receipts) moments after the server starts. With `reach_goal`, the
/// goal (or an equity offering's minimum) comes down to what was pledged, so it is funded.
pub async fn end_campaign_now(db: &sqlx::PgPool, id: ProjectId, reach_goal: bool) -> Result<()> {
    let mut tx = db.begin().await?;
    sqlx::query(
        "UPDATE projects SET deadline = now() - interval '1 second',
                goal = CASE WHEN $2 AND t.pledged_total > 0 THEN LEAST(goal, t.pledged_total) ELSE goal END
           FROM project_totals t
          WHERE id = $1 AND t.project_id = $1",
    )
    .bind(id)
    .bind(reach_goal)
    .execute(&mut *tx)
    .await?;
    if reach_goal {
        sqlx::query(
            "UPDATE equity_offerings SET min_shares = LEAST(min_shares, GREATEST(shares_sold, 1))
              WHERE project_id = $1",
        )
        .bind(id)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(())
}
