//! What settlement records of its own: which ledger transaction settled which pledge or project
//! (`settlement_transactions`), and the shares an equity settlement issued (`share_register`).

use rust_decimal::Decimal;
use sqlx::{PgConnection, PgPool};

use crate::error::Result;
use crate::ids::{PledgeId, ProjectId};
use crate::ledger::entry::EntryKind;
use crate::ledger::merkle::Hash;
use crate::pledges::settle::Settled;
use crate::projects::settling::Settling;

/// What a ledger transaction of settlement is about.
pub(super) struct Record {
    project: ProjectId,
    pledge: Option<PledgeId>,
    kind: EntryKind,
    amount: Option<Decimal>,
}

impl Record {
    /// A pledge's transaction: collected, refunded, or its shares issued.
    pub(super) fn pledge(project: ProjectId, pledge: &Settled, kind: EntryKind) -> Self {
        Self {
            project,
            pledge: Some(pledge.id),
            kind,
            amount: Some(pledge.amount),
        }
    }

    /// A project's transaction: the fee or the payout.
    pub(super) fn project(project: ProjectId, kind: EntryKind, amount: Decimal) -> Self {
        Self {
            project,
            pledge: None,
            kind,
            amount: Some(amount),
        }
    }
}

/// Records which ledger transaction each record is (`tx_hashes[i]` is `records[i]`'s), in one
/// statement inside the settling transaction.
pub(super) async fn record_transactions(
    conn: &mut PgConnection,
    records: &[Record],
    tx_hashes: &[Hash],
) -> Result<()> {
    let hashes: Vec<Vec<u8>> = tx_hashes.iter().map(|h| h.to_vec()).collect();
    let projects: Vec<ProjectId> = records.iter().map(|r| r.project).collect();
    let pledges: Vec<Option<PledgeId>> = records.iter().map(|r| r.pledge).collect();
    let kinds: Vec<&str> = records.iter().map(|r| r.kind.as_str()).collect();
    let amounts: Vec<Option<Decimal>> = records.iter().map(|r| r.amount).collect();
    sqlx::query(
        "INSERT INTO settlement_transactions (tx_hash, project_id, pledge_id, kind, amount)
         SELECT * FROM unnest($1::bytea[], $2::uuid[], $3::uuid[], $4::text[], $5::numeric[])",
    )
    .bind(&hashes)
    .bind(&projects)
    .bind(&pledges)
    .bind(&kinds)
    .bind(&amounts)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Enters the shares of the `shares_issued` records in the share register, each with the ledger
/// transaction that issued it.
pub(super) async fn issue_shares(
    conn: &mut PgConnection,
    project: &Settling,
    pledges: &[Settled],
    records: &[Record],
    tx_hashes: &[Hash],
) -> Result<()> {
    let price = project.price_per_share.unwrap_or_default();
    let mut pledge_ids = Vec::new();
    let mut holders = Vec::new();
    let mut shares = Vec::new();
    let mut hashes = Vec::new();
    for (record, hash) in records.iter().zip(tx_hashes) {
        if record.kind != EntryKind::SharesIssued {
            continue;
        }
        let Some(pledge) = pledges.iter().find(|p| Some(p.id) == record.pledge) else {
            continue;
        };
        pledge_ids.push(pledge.id);
        holders.push(pledge.backer);
        shares.push(pledge.shares.unwrap_or_default());
        hashes.push(hash.to_vec());
    }
    sqlx::query(
        "INSERT INTO share_register (pledge_id, project_id, holder_id, shares, price_per_share, tx_hash)
         SELECT p, $2, h, s, $3, t FROM unnest($1::uuid[], $4::uuid[], $5::bigint[], $6::bytea[]) AS x(p, h, s, t)",
    )
    .bind(&pledge_ids)
    .bind(project.id)
    .bind(price)
    .bind(&holders)
    .bind(&shares)
    .bind(&hashes)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// One row of `settlement_transactions`, as a project's page lists it.
#[derive(sqlx::FromRow)]
struct TransactionRow {
    kind: String,
    tx_hash: Vec<u8>,
    amount: Option<Decimal>,
}

/// One ledger transaction of a project's settlement.
#[derive(Debug, Clone)]
pub struct SettledTransaction {
    /// The ledger entry's kind (`pledge_collected`, `payout`, ...).
    pub kind: String,
    /// Hex SHA-256 of the entry.
    pub tx_hash: String,
    /// What it moved, when it moved money.
    pub amount: Option<Decimal>,
}

/// The ledger transactions of a project's settlement, in order (at most 500).
pub async fn transactions_for_project(
    db: &PgPool,
    project: ProjectId,
) -> Result<Vec<SettledTransaction>> {
    let rows: Vec<TransactionRow> = sqlx::query_as(
        "SELECT kind, tx_hash, amount FROM settlement_transactions
          WHERE project_id = $1 ORDER BY created_at, kind LIMIT 500",
    )
    .bind(project)
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|row| SettledTransaction {
            kind: row.kind,
            tx_hash: hex::encode(row.tx_hash),
            amount: row.amount,
        })
        .collect())
}

/// The ledger transaction that settled a pledge (collected or refunded), if it has settled.
pub async fn pledge_transaction(db: &PgPool, pledge: PledgeId) -> Result<Option<Hash>> {
    let hash: Option<Vec<u8>> = sqlx::query_scalar(
        "SELECT tx_hash FROM settlement_transactions
          WHERE pledge_id = $1 AND kind IN ('pledge_collected', 'pledge_refunded')",
    )
    .bind(pledge)
    .fetch_optional(db)
    .await?;
    Ok(hash.and_then(|h| h.try_into().ok()))
}
