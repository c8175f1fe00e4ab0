//! Many transfers in one statement, for settlement: refunding a failed project of 200,000
//! pledges one entry at a time would take minutes.

use std::collections::HashMap;

use rust_decimal::Decimal;
use sqlx::PgConnection;
use uuid::Uuid;

use super::{insufficient_funds, AccountId, AccountKind, EntryKind, NO_OVERDRAFT};
use crate::error::{Error, Result, ResultExt};
use crate::ids::UserId;

/// One transfer of a batch. `once_key` makes it happen at most once ever.
#[derive(Debug, Clone)]
pub struct BatchTransfer {
    pub from: AccountId,
    pub to: AccountId,
    pub amount: Decimal,
    pub reference: String,
    pub once_key: String,
}

/// Posts each transfer as its own journal entry (two postings), updating the balances, in one
/// statement. Transfers whose `once_key` was already used are skipped. Returns how many were
/// posted. The database checks at commit that every entry balances.
pub async fn post_transfers(
    conn: &mut PgConnection,
    kind: EntryKind,
    transfers: &[BatchTransfer],
) -> Result<u64> {
    if transfers.is_empty() {
        return Ok(0);
    }
    if transfers.iter().any(|t| t.amount <= Decimal::ZERO) {
        return Err(Error::Internal(anyhow::anyhow!(
            "a batch transfer must be positive"
        )));
    }
    let references: Vec<&str> = transfers.iter().map(|t| t.reference.as_str()).collect();
    let keys: Vec<&str> = transfers.iter().map(|t| t.once_key.as_str()).collect();
    let from: Vec<AccountId> = transfers.iter().map(|t| t.from).collect();
    let to: Vec<AccountId> = transfers.iter().map(|t| t.to).collect();
    let amounts: Vec<Decimal> = transfers.iter().map(|t| t.amount).collect();
    let posted: i64 = sqlx::query_scalar(
        "WITH input AS (
             SELECT * FROM unnest($1::text[], $2::text[], $3::uuid[], $4::uuid[], $5::numeric[])
                 WITH ORDINALITY AS t(reference, once_key, from_account, to_account, amount, n)
         ), entries AS (
             INSERT INTO journal_entries (kind, reference, once_key)
             SELECT $6, reference, once_key FROM input ORDER BY n
             ON CONFLICT ON CONSTRAINT journal_entries_once_key DO NOTHING
             RETURNING id, once_key
         ), posted AS (
             SELECT e.id, i.from_account, i.to_account, i.amount
             FROM entries e JOIN input i ON i.once_key = e.once_key
         ), lines AS (
             SELECT id, from_account AS account_id, -amount AS amount FROM posted
             UNION ALL
             SELECT id, to_account, amount FROM posted
         ), postings AS (
             INSERT INTO journal_postings (entry_id, account_id, amount)
             SELECT id, account_id, amount FROM lines
         ), moved AS (
             UPDATE money_accounts a SET balance = a.balance + d.amount
             FROM (SELECT account_id, sum(amount) AS amount FROM lines GROUP BY account_id) d
             WHERE a.id = d.account_id
         )
         SELECT count(*) FROM posted",
    )
    .bind(&references)
    .bind(&keys)
    .bind(&from)
    .bind(&to)
    .bind(&amounts)
    .bind(kind)
    .fetch_one(&mut *conn)
    .await
    .on_constraint(NO_OVERDRAFT, |_| insufficient_funds())?;
    Ok(posted as u64)
}

/// A backer's wallet account, as [`backer_wallets`] reads it.
#[derive(sqlx::FromRow)]
struct WalletRow {
    owner_id: UserId,
    id: AccountId,
}

/// The wallets of `backers` in `currency`, created where missing, in two statements.
pub async fn backer_wallets(
    conn: &mut PgConnection,
    backers: &[UserId],
    currency: &str,
) -> Result<HashMap<UserId, AccountId>> {
    accounts_of(conn, AccountKind::BackerWallet, backers, currency).await
}

/// The accounts of kind `kind` (one owned by a user: a wallet, a market escrow) of `owners` in
/// `currency`, created where missing, in two statements.
pub async fn accounts_of(
    conn: &mut PgConnection,
    kind: AccountKind,
    owners: &[UserId],
    currency: &str,
) -> Result<HashMap<UserId, AccountId>> {
    let fresh: Vec<AccountId> = owners.iter().map(|_| AccountId(Uuid::new_v4())).collect();
    sqlx::query(
        "INSERT INTO money_accounts (id, kind, owner_id, currency)
         SELECT id, $3, owner_id, $4 FROM unnest($1::uuid[], $2::uuid[]) AS t(id, owner_id)
         ON CONFLICT ON CONSTRAINT money_accounts_owner_key DO NOTHING",
    )
    .bind(&fresh)
    .bind(owners)
    .bind(kind)
    .bind(currency)
    .execute(&mut *conn)
    .await?;
    let rows: Vec<WalletRow> = sqlx::query_as(
        "SELECT owner_id, id FROM money_accounts
         WHERE kind = $1 AND currency = $2 AND owner_id = ANY($3)",
    )
    .bind(kind)
    .bind(currency)
    .bind(owners)
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows.into_iter().map(|r| (r.owner_id, r.id)).collect())
}
