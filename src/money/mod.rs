//! Money: accounts, the double-entry journal, wallet top-ups and withdrawals through a payment
//! provider.
//!
//! Money moves only as journal entries whose postings sum to zero (the database refuses anything
//! else at commit). Every function that moves money takes a `&mut PgConnection` so the caller
//! decides the transaction: a pledge moves its money in the same transaction that records it, and
//! settlement moves a whole project's money in one.

pub mod amount;
pub mod api;
pub mod batch;
pub mod pages;
pub mod provider;
pub mod withdrawals;

use rust_decimal::Decimal;
use serde::Serialize;
use sqlx::{PgConnection, PgExecutor};
use time::OffsetDateTime;
use uuid::Uuid;

pub use amount::Money;

use crate::error::{Error, Result, ResultExt};
use crate::ids::{ProjectId, UserId};

pub use crate::ids::{AccountId, JournalEntryId};

/// The constraint that keeps every account but the gateway at zero or above.
const NO_OVERDRAFT: &str = "money_accounts_no_overdraft";

/// What a person is told when a movement would take a wallet below zero.
pub(crate) fn insufficient_funds() -> Error {
    Error::conflict("money.error.insufficient_funds")
}

/// Currency codes: three capital letters. Every project has one; wallets are per currency.
pub type Currency = String;

/// The currency of projects and wallets unless chosen otherwise.
pub use crate::config::DEFAULT_CURRENCY;

/// Whose account, and what for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountOwner {
    /// A backer's wallet: topped up through the payment provider, pays pledges, gets refunds.
    BackerWallet(UserId),
    /// A project's escrow: holds active pledges until settlement.
    ProjectEscrow(ProjectId),
    /// A founder's wallet: receives the net payout of a funded project.
    FounderWallet(UserId),
    /// An investor's market escrow: holds their buy orders' money until their auctions settle
    /// (one per investor, so that buyers in one auction never wait on one another's row).
    MarketEscrow(UserId),
    /// The platform's fee income.
    PlatformFee,
    /// The outside world (card networks, banks); its balance is minus all money paid in.
    Gateway,
}

/// The kinds of account, as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::Type)]
#[sqlx(type_name = "text", rename_all = "snake_case")]
pub enum AccountKind {
    BackerWallet,
    ProjectEscrow,
    FounderWallet,
    MarketEscrow,
    PlatformFee,
    Gateway,
}

impl AccountOwner {
    /// The stored kind.
    pub fn kind(self) -> AccountKind {
        match self {
            AccountOwner::BackerWallet(_) => AccountKind::BackerWallet,
            AccountOwner::ProjectEscrow(_) => AccountKind::ProjectEscrow,
            AccountOwner::FounderWallet(_) => AccountKind::FounderWallet,
            AccountOwner::MarketEscrow(_) => AccountKind::MarketEscrow,
            AccountOwner::PlatformFee => AccountKind::PlatformFee,
            AccountOwner::Gateway => AccountKind::Gateway,
        }
    }

    /// The `owner_id` column: a user's or a project's id, or nil for the platform's own
    /// accounts. The one place an id is unwrapped, since the column holds either kind.
    fn owner_id(self) -> Uuid {
        match self {
            AccountOwner::BackerWallet(UserId(user))
            | AccountOwner::FounderWallet(UserId(user))
            | AccountOwner::MarketEscrow(UserId(user)) => user,
            AccountOwner::ProjectEscrow(ProjectId(project)) => project,
            AccountOwner::PlatformFee | AccountOwner::Gateway => Uuid::nil(),
        }
    }
}

/// Why money moved. Stored as text, so settlement's kinds sit beside the pledging room's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, sqlx::Type, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
#[sqlx(type_name = "text", rename_all = "snake_case")]
pub enum EntryKind {
    /// Gateway -> backer wallet: a top-up.
    Deposit,
    /// Backer wallet -> escrow: a new pledge.
    PledgeHold,
    /// Either way between wallet and escrow: a changed pledge.
    PledgeChange,
    /// Escrow -> backer wallet: a cancelled pledge.
    PledgeRelease,
    /// Escrow -> founder wallet (net) and platform fee: a funded project's pledge collected.
    PledgeCollected,
    /// Escrow -> backer wallet: a failed project's pledge returned.
    PledgeRefunded,
    /// Founder wallet -> gateway: money paid out to the founder's bank.
    Payout,
    /// Escrow -> platform fee.
    Fee,
    /// Backer wallet -> gateway: money sent to the backer's bank account.
    Withdrawal,
    /// Gateway -> backer wallet: a withdrawal the bank refused, credited back.
    WithdrawalReturned,
    /// Backer wallet -> market escrow: a buy order's money held.
    OrderHold,
    /// Market escrow -> backer wallet: what a buy order held and did not pay.
    OrderRelease,
    /// Market escrow -> the seller's wallet (the price less the market fee), the platform fee
    /// (the fee) and, on a buy's last trade, the buyer's wallet (what the hold kept beyond what
    /// the buy paid).
    TradeSettled,
}

impl EntryKind {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            EntryKind::Deposit => "deposit",
            EntryKind::PledgeHold => "pledge_hold",
            EntryKind::PledgeChange => "pledge_change",
            EntryKind::PledgeRelease => "pledge_release",
            EntryKind::PledgeCollected => "pledge_collected",
            EntryKind::PledgeRefunded => "pledge_refunded",
            EntryKind::Payout => "payout",
            EntryKind::Fee => "fee",
            EntryKind::Withdrawal => "withdrawal",
            EntryKind::WithdrawalReturned => "withdrawal_returned",
            EntryKind::OrderHold => "order_hold",
            EntryKind::OrderRelease => "order_release",
            EntryKind::TradeSettled => "trade_settled",
        }
    }
}

/// One movement from one account to another.
#[derive(Debug, Clone)]
pub struct Transfer<'a> {
    pub from: AccountId,
    pub to: AccountId,
    pub amount: Money,
    pub kind: EntryKind,
    /// What the movement is about, e.g. `pledge:<id>`; shown in histories.
    pub reference: &'a str,
    /// When set, a second entry with the same key is not made (see [`post_entry`]).
    pub once_key: Option<&'a str>,
}

/// One line of a multi-posting entry: positive credits the account, negative debits it.
#[derive(Debug, Clone, Copy)]
pub struct Posting {
    pub account: AccountId,
    pub amount: Decimal,
}

/// A backer's wallet and a project's escrow in `currency`, in that order: the two accounts a
/// pledge's money moves between (held, changed, released).
pub async fn wallet_and_escrow(
    conn: &mut PgConnection,
    backer: UserId,
    project: ProjectId,
    currency: &str,
) -> Result<(AccountId, AccountId)> {
    let wallet = account_for(conn, AccountOwner::BackerWallet(backer), currency).await?;
    let escrow = account_for(conn, AccountOwner::ProjectEscrow(project), currency).await?;
    Ok((wallet, escrow))
}

/// The account of `owner` in `currency`, created on first use. Safe under concurrency: creation
/// is an `INSERT … ON CONFLICT DO NOTHING` on the owner key, never check-then-insert.
pub async fn account_for(
    conn: &mut PgConnection,
    owner: AccountOwner,
    currency: &str,
) -> Result<AccountId> {
    let find = || {
        sqlx::query_scalar::<_, AccountId>(
            "SELECT id FROM money_accounts WHERE kind = $1 AND owner_id = $2 AND currency = $3",
        )
        .bind(owner.kind())
        .bind(owner.owner_id())
        .bind(currency)
    };
    if let Some(id) = find().fetch_optional(&mut *conn).await? {
        return Ok(id);
    }
    sqlx::query(
        "INSERT INTO money_accounts (id, kind, owner_id, currency) VALUES ($1, $2, $3, $4)
         ON CONFLICT ON CONSTRAINT money_accounts_owner_key DO NOTHING",
    )
    .bind(Uuid::new_v4())
    .bind(owner.kind())
    .bind(owner.owner_id())
    .bind(currency)
    .execute(&mut *conn)
    .await?;
    Ok(find().fetch_one(&mut *conn).await?)
}

/// Moves `amount` from one account to another as one journal entry. Fails with a clear
/// "insufficient funds" error (and moves nothing) when a wallet would go below zero. Returns
/// `None` when `once_key` was already used, that is when this movement had already happened.
pub async fn transfer(
    conn: &mut PgConnection,
    transfer: Transfer<'_>,
) -> Result<Option<JournalEntryId>> {
    post_entry(
        conn,
        transfer.kind,
        transfer.reference,
        transfer.once_key,
        &[
            Posting {
                account: transfer.from,
                amount: -transfer.amount.value(),
            },
            Posting {
                account: transfer.to,
                amount: transfer.amount.value(),
            },
        ],
    )
    .await
}

/// Writes one journal entry with any number of postings (for example a collected pledge split
/// between the founder's wallet and the platform fee) and updates the balances, all in one
/// statement. The postings must sum to zero; the database checks it again at commit.
///
/// With `once_key`, the entry is made at most once ever: a repeat returns `Ok(None)` and moves
/// nothing, which is how gateway callbacks and settlement steps stay exactly-once.
pub async fn post_entry(
    conn: &mut PgConnection,
    kind: EntryKind,
    reference: &str,
    once_key: Option<&str>,
    postings: &[Posting],
) -> Result<Option<JournalEntryId>> {
    let sum: Decimal = postings.iter().map(|p| p.amount).sum();
    if postings.len() < 2 || !sum.is_zero() {
        return Err(Error::Internal(anyhow::anyhow!(
            "unbalanced journal entry {reference}: {postings:?}"
        )));
    }
    let accounts: Vec<AccountId> = postings.iter().map(|p| p.account).collect();
    let amounts: Vec<Decimal> = postings.iter().map(|p| p.amount).collect();
    // One statement: the entry, its postings, and the balances. A balance CHECK failing aborts
    // the whole statement, so no half-written entry can exist.
    let row: Option<(JournalEntryId, i64)> = sqlx::query_as(
        "WITH entry AS (
             INSERT INTO journal_entries (kind, reference, once_key) VALUES ($1, $2, $3)
             ON CONFLICT ON CONSTRAINT journal_entries_once_key DO NOTHING
             RETURNING id
         ), lines AS (
             SELECT account_id, amount FROM unnest($4::uuid[], $5::numeric[]) AS t(account_id, amount)
         ), moved AS (
             UPDATE money_accounts a SET balance = a.balance + d.amount
             FROM (SELECT account_id, sum(amount) AS amount FROM lines GROUP BY account_id) d, entry
             WHERE a.id = d.account_id
             RETURNING a.id
         ), posted AS (
             INSERT INTO journal_postings (entry_id, account_id, amount)
             SELECT entry.id, lines.account_id, lines.amount FROM entry, lines
         )
         SELECT entry.id, (SELECT count(*) FROM moved) FROM entry",
    )
    .bind(kind)
    .bind(reference)
    .bind(once_key)
    .bind(&accounts)
    .bind(&amounts)
    .fetch_optional(&mut *conn)
    .await
    .on_constraint(NO_OVERDRAFT, |_| insufficient_funds())?;
    let Some((id, moved)) = row else {
        return Ok(None);
    };
    let distinct = {
        let mut ids = accounts.clone();
        ids.sort_unstable();
        ids.dedup();
        ids.len() as i64
    };
    if moved != distinct {
        return Err(Error::Internal(anyhow::anyhow!(
            "journal entry {reference} names an unknown account"
        )));
    }
    Ok(Some(id))
}

/// The balance of an account (zero for an account never used).
pub async fn balance<'e>(db: impl PgExecutor<'e>, account: AccountId) -> Result<Decimal> {
    Ok(
        sqlx::query_scalar("SELECT balance FROM money_accounts WHERE id = $1")
            .bind(account)
            .fetch_optional(db)
            .await?
            .unwrap_or_default(),
    )
}

/// The balance of `owner`'s account in `currency`, without creating it.
pub async fn balance_of<'e>(
    db: impl PgExecutor<'e>,
    owner: AccountOwner,
    currency: &str,
) -> Result<Decimal> {
    Ok(sqlx::query_scalar(
        "SELECT balance FROM money_accounts WHERE kind = $1 AND owner_id = $2 AND currency = $3",
    )
    .bind(owner.kind())
    .bind(owner.owner_id())
    .bind(currency)
    .fetch_optional(db)
    .await?
    .unwrap_or_default())
}

/// A wallet's balance in one currency.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct WalletBalance {
    pub currency: String,
    #[schema(value_type = String, example = "128.00")]
    #[serde(with = "rust_decimal::serde::str")]
    pub balance: Decimal,
}

/// One movement on a wallet, newest first in histories.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct WalletLine {
    #[schema(value_type = i64)]
    pub entry_id: JournalEntryId,
    /// The entry's kind as stored: an open set of names (see [`EntryKind`]).
    pub kind: String,
    pub reference: String,
    pub currency: String,
    /// Positive: money in; negative: money out.
    #[schema(value_type = String, example = "-128.00")]
    #[serde(with = "rust_decimal::serde::str")]
    pub amount: Decimal,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub at: OffsetDateTime,
}

/// A backer's wallet balances, one per currency they have used.
pub async fn wallet_balances<'e>(
    db: impl PgExecutor<'e>,
    user: UserId,
) -> Result<Vec<WalletBalance>> {
    Ok(sqlx::query_as(
        "SELECT currency, balance FROM money_accounts
         WHERE kind = 'backer_wallet' AND owner_id = $1 ORDER BY currency",
    )
    .bind(user)
    .fetch_all(db)
    .await?)
}

/// Whether any of `user`'s wallets (as backer or founder, in any currency) holds money: an
/// account that does cannot be deleted without stranding it.
pub async fn holds_money(conn: &mut PgConnection, user: UserId) -> Result<bool> {
    Ok(sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM money_accounts
                         WHERE kind IN ('backer_wallet', 'founder_wallet') AND owner_id = $1
                           AND balance <> 0)",
    )
    .bind(user)
    .fetch_one(&mut *conn)
    .await?)
}

/// The latest `limit` movements on a backer's wallets.
pub async fn wallet_history<'e>(
    db: impl PgExecutor<'e>,
    user: UserId,
    limit: i64,
) -> Result<Vec<WalletLine>> {
    Ok(sqlx::query_as(
        "SELECT e.id AS entry_id, e.kind, e.reference, a.currency, p.amount, e.created_at AS at
         FROM money_accounts a
         JOIN journal_postings p ON p.account_id = a.id
         JOIN journal_entries e ON e.id = p.entry_id
         WHERE a.kind = 'backer_wallet' AND a.owner_id = $1
         ORDER BY e.id DESC LIMIT $2",
    )
    .bind(user)
    .bind(limit)
    .fetch_all(db)
    .await?)
}

/// The sum of every posting in one currency.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct CurrencySum {
    pub currency: String,
    pub sum: Decimal,
}

/// What an audit of the whole journal found (all zero and empty when the books are sound).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JournalCheck {
    /// Sum of every posting ever made, per currency; each must be zero.
    pub nonzero_currencies: Vec<CurrencySum>,
    /// Entries whose postings do not sum to zero.
    pub unbalanced_entries: Vec<JournalEntryId>,
    /// Accounts whose stored balance differs from the sum of their postings.
    pub drifted_accounts: Vec<AccountId>,
    /// Accounts (other than the gateway) below zero.
    pub negative_accounts: Vec<AccountId>,
}

impl JournalCheck {
    /// Whether the books are sound.
    pub fn is_sound(&self) -> bool {
        self.nonzero_currencies.is_empty()
            && self.unbalanced_entries.is_empty()
            && self.drifted_accounts.is_empty()
            && self.negative_accounts.is_empty()
    }
}

/// Checks the whole journal: every entry and currency sums to zero, every balance equals its
/// postings, no wallet or escrow is negative. For audits and tests.
pub async fn check_journal(db: &sqlx::PgPool) -> Result<JournalCheck> {
    let nonzero_currencies = sqlx::query_as(
        "SELECT a.currency, sum(p.amount) AS sum FROM journal_postings p
         JOIN money_accounts a ON a.id = p.account_id
         GROUP BY a.currency HAVING sum(p.amount) <> 0",
    )
    .fetch_all(db)
    .await?;
    let unbalanced_entries = sqlx::query_scalar(
        "SELECT e.id FROM journal_entries e LEFT JOIN journal_postings p ON p.entry_id = e.id
         GROUP BY e.id HAVING coalesce(sum(p.amount), 0) <> 0 OR count(p.id) < 2",
    )
    .fetch_all(db)
    .await?;
    let drifted_accounts = sqlx::query_scalar(
        "SELECT a.id FROM money_accounts a LEFT JOIN journal_postings p ON p.account_id = a.id
         GROUP BY a.id, a.balance HAVING a.balance <> coalesce(sum(p.amount), 0)",
    )
    .fetch_all(db)
    .await?;
    let negative_accounts =
        sqlx::query_scalar("SELECT id FROM money_accounts WHERE kind <> 'gateway' AND balance < 0")
            .fetch_all(db)
            .await?;
    Ok(JournalCheck {
        nonzero_currencies,
        unbalanced_entries,
        drifted_accounts,
        negative_accounts,
    })
}
