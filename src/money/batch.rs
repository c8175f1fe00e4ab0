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

/// One entry of a batch: postings to several accounts summing to zero (a trade pays the seller,
/// the fee and the buyer's change out of one escrow). `once_key` makes it happen at most once.
#[derive(Debug, Clone)]
pub struct BatchEntry {
    pub reference: String,
    pub once_key: String,
    /// Account and amount: positive received, negative paid; none zero.
    pub postings: Vec<(AccountId, Decimal)>,
}

/// Posts each transfer as its own journal entry (two postings), as [`post_entries`] does.
pub async fn post_transfers(
    conn: &mut PgConnection,
    kind: EntryKind,
    transfers: &[BatchTransfer],
) -> Result<u64> {
    if transfers.iter().any(|t| t.amount <= Decimal::ZERO) {
        return Err(Error::Internal(anyhow::anyhow!(
            "a batch transfer must be positive"
        )));
    }
    let entries: Vec<BatchEntry> = transfers
        .iter()
        .map(|t| BatchEntry {
            reference: t.reference.clone(),
            once_key: t.once_key.clone(),
            postings: vec![(t.from, -t.amount), (t.to, t.amount)],
        })
        .collect();
    post_entries(conn, kind, &entries).await
}

/// Posts each entry with its postings, updating the balances, in one statement. Entries whose
/// `once_key` was already used are skipped. Returns how many were posted. The database checks
/// again at commit that every entry balances.
pub async fn post_entries(
    conn: &mut PgConnection,
    kind: EntryKind,
    entries: &[BatchEntry],
) -> Result<u64> {
    if entries.is_empty() {
        return Ok(0);
    }
    let unbalanced = |e: &BatchEntry| {
        e.postings.len() < 2
            || e.postings.iter().any(|(_, amount)| amount.is_zero())
            || e.postings
                .iter()
                .map(|(_, amount)| *amount)
                .sum::<Decimal>()
                != Decimal::ZERO
    };
    if entries.iter().any(unbalanced) {
        return Err(Error::Internal(anyhow::anyhow!(
            "a batch entry must have non-zero postings summing to zero"
        )));
    }
    let references: Vec<&str> = entries.iter().map(|e| e.reference.as_str()).collect();
    let keys: Vec<&str> = entries.iter().map(|e| e.once_key.as_str()).collect();
    // Two statements, each joined to nothing it would have to search: the entries' ids come
    // back by once-key, and the postings of entries already posted (a used once-key) are left out.
    let ids: Vec<(i64, String)> = sqlx::query_as(
        "INSERT INTO journal_entries (kind, reference, once_key)
         SELECT $3, reference, once_key
           FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS t(reference, once_key, n)
          ORDER BY n
         ON CONFLICT ON CONSTRAINT journal_entries_once_key DO NOTHING
         RETURNING id, once_key",
    )
    .bind(&references)
    .bind(&keys)
    .bind(kind)
    .fetch_all(&mut *conn)
    .await?;
    let posted: HashMap<&str, i64> = ids.iter().map(|(id, key)| (key.as_str(), *id)).collect();
    let lines = entries.iter().map(|e| e.postings.len()).sum();
    let (mut of, mut accounts, mut amounts) = (
        Vec::with_capacity(lines),
        Vec::with_capacity(lines),
        Vec::with_capacity(lines),
    );
    for e in entries {
        if let Some(&id) = posted.get(e.once_key.as_str()) {
            for &(account, amount) in &e.postings {
                of.push(id);
                accounts.push(account);
                amounts.push(amount);
            }
        }
    }
    if of.is_empty() {
        return Ok(0);
    }
    sqlx::query(
        "WITH lines AS (
             SELECT * FROM unnest($1::int8[], $2::uuid[], $3::numeric[])
                 WITH ORDINALITY AS l(entry_id, account_id, amount, n)
         ), postings AS (
             INSERT INTO journal_postings (entry_id, account_id, amount)
             SELECT entry_id, account_id, amount FROM lines ORDER BY n
         )
         UPDATE money_accounts a SET balance = a.balance + d.amount
           FROM (SELECT account_id, sum(amount) AS amount FROM lines GROUP BY account_id) d
          WHERE a.id = d.account_id",
    )
    .bind(&of)
    .bind(&accounts)
    .bind(&amounts)
    .execute(&mut *conn)
    .await
    .on_constraint(NO_OVERDRAFT, |_| insufficient_funds())?;
    Ok(ids.len() as u64)
}

/// A backer's wallet account, as [`backer_wallets`] reads it.
#[derive(sqlx::FromRow)]
struct WalletRow {
    owner_id: UserId,
    id: AccountId,
}

/// The wallets of `backers` in `currency`, created where missing.
pub async fn backer_wallets(
    conn: &mut PgConnection,
    backers: &[UserId],
    currency: &str,
) -> Result<HashMap<UserId, AccountId>> {
    accounts_of(conn, AccountKind::BackerWallet, backers, currency).await
}

/// The accounts of kind `kind` (one owned by a user: a wallet, a market escrow) of `owners` in
/// `currency`, created where missing: one statement when all exist, three when some do not.
pub async fn accounts_of(
    conn: &mut PgConnection,
    kind: AccountKind,
    owners: &[UserId],
    currency: &str,
) -> Result<HashMap<UserId, AccountId>> {
    let mut found = existing(conn, kind, owners, currency).await?;
    let missing: Vec<UserId> = owners
        .iter()
        .filter(|o| !found.contains_key(o))
        .copied()
        .collect();
    if missing.is_empty() {
        return Ok(found);
    }
    let fresh: Vec<AccountId> = missing.iter().map(|_| AccountId(Uuid::new_v4())).collect();
    sqlx::query(
        "INSERT INTO money_accounts (id, kind, owner_id, currency)
         SELECT id, $3, owner_id, $4 FROM unnest($1::uuid[], $2::uuid[]) AS t(id, owner_id)
         ON CONFLICT ON CONSTRAINT money_accounts_owner_key DO NOTHING",
    )
    .bind(&fresh)
    .bind(&missing)
    .bind(kind)
    .bind(currency)
    .execute(&mut *conn)
    .await?;
    found.extend(existing(conn, kind, &missing, currency).await?);
    Ok(found)
}

/// The accounts of kind `kind` of those of `owners` who have one in `currency`.
async fn existing(
    conn: &mut PgConnection,
    kind: AccountKind,
    owners: &[UserId],
    currency: &str,
) -> Result<HashMap<UserId, AccountId>> {
    let rows: Vec<WalletRow> = sqlx::query_as(
        "SELECT a.owner_id, a.id FROM unnest($3::uuid[]) AS o(id)
           JOIN money_accounts a ON a.kind = $1 AND a.owner_id = o.id AND a.currency = $2",
    )
    .bind(kind)
    .bind(currency)
    .bind(owners)
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows.into_iter().map(|r| (r.owner_id, r.id)).collect())
}
