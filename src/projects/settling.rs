//! The end of a project's life: which projects are due for settlement, the outcome, and the
//! final state. Settlement calls these inside its own transactions.

use rust_decimal::Decimal;
use sqlx::PgConnection;
use uuid::Uuid;

use super::{ProjectId, ProjectKind, ProjectState};
use crate::accounts::domain::UserId;
use crate::error::{Error, Result};

/// How a project's pledges end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The goal (equity: minimum shares) was reached: collect every pledge.
    Funded,
    /// The goal was missed: refund every pledge.
    Failed,
    /// The regulator cancelled the project: refund every pledge.
    Refund,
}

impl Outcome {
    fn as_str(self) -> &'static str {
        match self {
            Outcome::Funded => "funded",
            Outcome::Failed => "failed",
            Outcome::Refund => "refund",
        }
    }

    fn parse(raw: &str) -> Option<Self> {
        match raw {
            "funded" => Some(Outcome::Funded),
            "failed" => Some(Outcome::Failed),
            "refund" => Some(Outcome::Refund),
            _ => None,
        }
    }
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

type Row = (
    Uuid,
    String,
    String,
    Uuid,
    String,
    String,
    String,
    Option<String>,
    Decimal,
    Decimal,
    Option<i64>,
    Option<i64>,
    Option<Decimal>,
);

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
    .bind(id.0)
    .fetch_optional(&mut *conn)
    .await?;
    match row {
        Some(row) => Ok(Some(begin(conn, row).await?)),
        None => Ok(None),
    }
}

async fn begin(conn: &mut PgConnection, row: Row) -> Result<Settling> {
    let (id, slug, title, founder, kind, state, currency, outcome, goal, pledged, sold, min, price) =
        row;
    let kind = ProjectKind::parse(&kind)
        .ok_or_else(|| Error::Internal(anyhow::anyhow!("unknown project kind {kind}")))?;
    let state = ProjectState::parse(&state)
        .ok_or_else(|| Error::Internal(anyhow::anyhow!("unknown project state {state}")))?;
    let outcome = match outcome.as_deref().and_then(Outcome::parse) {
        Some(decided) => decided,
        None => {
            let decided = if state == ProjectState::Cancelled {
                Outcome::Refund
            } else {
                let reached = match kind {
                    ProjectKind::Reward => pledged >= goal,
                    ProjectKind::Equity => sold.unwrap_or(0) >= min.unwrap_or(i64::MAX),
                };
                if reached {
                    Outcome::Funded
                } else {
                    Outcome::Failed
                }
            };
            sqlx::query(
                "UPDATE projects SET settlement_outcome = $2,
                        state = CASE WHEN state = 'live' THEN 'settling' ELSE state END,
                        updated_at = now()
                  WHERE id = $1",
            )
            .bind(id)
            .bind(decided.as_str())
            .execute(&mut *conn)
            .await?;
            decided
        }
    };
    Ok(Settling {
        id: ProjectId(id),
        slug,
        title,
        founder: UserId(founder),
        kind,
        currency,
        outcome,
        price_per_share: price,
    })
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
    .bind(project.id.0)
    .bind(state.as_str())
    .execute(&mut *conn)
    .await?;
    Ok(())
}
