//! Withdrawals: money out of a backer's wallet to their bank account, through the gateway.
//!
//! A withdrawal debits the wallet at once, in the transaction that records it (journal entry
//! `withdrawal`, wallet -> gateway): the wallet's no-overdraft CHECK refuses one the balance does
//! not cover, so twenty at once against a balance for three make exactly three. It is `pending`
//! until the gateway confirms the payout, then `completed`, or `failed` with the money credited
//! back (entry `withdrawal_returned`, at most once). The owner is told of either outcome in the
//! transaction that records it.
//!
//! An `Idempotency-Key` (or the wallet form's one-time key) is claimed by the INSERT that
//! records the withdrawal, so a repeat, even a concurrent one, waits for the first and answers
//! the same withdrawal; the same key with another request is refused.

use rust_decimal::Decimal;
use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::PgPool;
use time::OffsetDateTime;
use uuid::Uuid;

use super::provider::{Outcome, PaymentProvider};
use super::{AccountOwner, EntryKind, Money, Posting};
use crate::error::{Error, Message, Result};
use crate::ids::{UserId, WithdrawalId};
use crate::notify::{self, NoticeKind};

/// A bank account number as the bank knows it: an IBAN or a domestic account or card number.
/// Spaces and hyphens between groups are dropped and letters capitalised; what is left is 8 to
/// 34 capital letters and digits, with at least 6 digits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BankAccount(String);

impl BankAccount {
    /// The fewest characters of an account number.
    pub const MIN: usize = 8;
    /// The most characters of an account number (the longest IBAN).
    pub const MAX: usize = 34;

    /// Parses what a person typed or a client sent.
    pub fn parse(raw: &str) -> Result<Self> {
        // Bounded before anything else: a megabyte of spaces is not an account number.
        if raw.len() > 2 * Self::MAX {
            return Err(invalid("money.error.account_length"));
        }
        let mut account = String::with_capacity(Self::MAX);
        for c in raw.trim().chars() {
            match c {
                ' ' | '-' => {}
                c if c.is_ascii_alphanumeric() => account.push(c.to_ascii_uppercase()),
                _ => return Err(invalid("money.error.account_characters")),
            }
        }
        if !(Self::MIN..=Self::MAX).contains(&account.len()) {
            return Err(invalid("money.error.account_length"));
        }
        if account.bytes().filter(u8::is_ascii_digit).count() < 6 {
            return Err(invalid("money.error.account_characters"));
        }
        Ok(Self(account))
    }

    /// The normalised account number.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The account as it is shown after it was given: only its last four characters.
    pub fn masked(&self) -> String {
        mask(&self.0)
    }
}

/// `•••• 1234`: the last four characters of an account number.
fn mask(account: &str) -> String {
    let tail = &account[account.len().saturating_sub(4)..];
    format!("•••• {tail}")
}

fn invalid(key: &'static str) -> Error {
    Error::Invalid(Message::Key(key))
}

/// A client's key for one withdrawal (`Idempotency-Key`): 1 to 255 visible ASCII characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WithdrawalKey(String);

impl WithdrawalKey {
    /// The most characters of a key.
    pub const MAX: usize = 255;

    /// Parses a header value or a form's one-time key.
    pub fn parse(raw: &str) -> Result<Self> {
        let key = raw.trim();
        if key.is_empty() || key.len() > Self::MAX || !key.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(Error::malformed("money.error.idempotency_key"));
        }
        Ok(Self(key.to_owned()))
    }

    /// The key.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What a withdrawal asks for, parsed.
#[derive(Debug, Clone)]
pub struct WithdrawalRequest {
    pub amount: Money,
    pub currency: String,
    pub account: BankAccount,
}

impl WithdrawalRequest {
    /// What a key is bound to: the same key must come with the same request.
    fn digest(&self) -> Vec<u8> {
        let text = format!(
            "withdrawal|{}|{}|{}",
            self.amount.to_fixed(),
            self.currency,
            self.account.as_str()
        );
        Sha256::digest(text.as_bytes()).to_vec()
    }
}

/// Where a withdrawal is: `pending -> completed | failed`, decided once by the gateway.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, sqlx::Type, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
#[sqlx(type_name = "text", rename_all = "snake_case")]
pub enum WithdrawalState {
    /// Debited from the wallet; the gateway has not confirmed the payout yet.
    Pending,
    /// The bank received the money.
    Completed,
    /// The bank refused it; the money is back in the wallet.
    Failed,
}

impl WithdrawalState {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            WithdrawalState::Pending => "pending",
            WithdrawalState::Completed => "completed",
            WithdrawalState::Failed => "failed",
        }
    }
}

impl From<Outcome> for WithdrawalState {
    fn from(outcome: Outcome) -> Self {
        match outcome {
            Outcome::Approved => WithdrawalState::Completed,
            Outcome::Declined => WithdrawalState::Failed,
        }
    }
}

/// A withdrawal as the wallet shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Withdrawal {
    #[schema(value_type = String, format = Uuid)]
    pub id: WithdrawalId,
    pub provider: String,
    /// The gateway's reference of the payout.
    pub reference: String,
    #[schema(value_type = String, example = "300.00")]
    #[serde(with = "rust_decimal::serde::str")]
    pub amount: Decimal,
    pub currency: String,
    /// The bank account, masked: only its last four characters.
    #[schema(example = "•••• 1234")]
    pub account: String,
    pub state: WithdrawalState,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
    /// When the gateway confirmed or refused the payout.
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub completed_at: Option<OffsetDateTime>,
}

/// A withdrawal as stored.
#[derive(sqlx::FromRow)]
struct WithdrawalRow {
    id: WithdrawalId,
    user_id: UserId,
    provider: String,
    reference: String,
    amount: Decimal,
    currency: String,
    account: String,
    state: WithdrawalState,
    request_hash: Vec<u8>,
    created_at: OffsetDateTime,
    completed_at: Option<OffsetDateTime>,
}

const COLUMNS: &str = "id, user_id, provider, reference, amount, currency, account, state, \
                       request_hash, created_at, completed_at";

impl WithdrawalRow {
    fn shown(self) -> Withdrawal {
        Withdrawal {
            id: self.id,
            account: mask(&self.account),
            provider: self.provider,
            reference: self.reference,
            amount: self.amount,
            currency: self.currency,
            state: self.state,
            created_at: self.created_at,
            completed_at: self.completed_at,
        }
    }
}

/// The outcome of [`start`].
#[derive(Debug, Clone)]
pub struct Started {
    pub withdrawal: Withdrawal,
    /// The key had already made this withdrawal; nothing new happened.
    pub replayed: bool,
}

/// Makes a withdrawal: records it as pending under a fresh gateway reference and debits the
/// wallet, in one transaction. Refused with "insufficient funds" (and nothing recorded) when the
/// wallet does not hold the amount. With `key`, a repeat answers the withdrawal the key made.
pub async fn start(
    db: &PgPool,
    provider: &dyn PaymentProvider,
    user: UserId,
    request: &WithdrawalRequest,
    key: Option<&WithdrawalKey>,
) -> Result<Started> {
    let fresh = Uuid::new_v4();
    let (id, reference) = (WithdrawalId(fresh), format!("zw_{}", fresh.simple()));
    let digest = request.digest();
    let mut tx = db.begin().await?;
    // A concurrent twin with the same key waits here until that one commits (then this finds
    // its withdrawal) or rolls back (then this makes its own).
    let row: Option<WithdrawalRow> = sqlx::query_as(&format!(
        "INSERT INTO wallet_withdrawals
             (id, user_id, provider, reference, amount, currency, account, request_key, request_hash)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
         ON CONFLICT ON CONSTRAINT wallet_withdrawals_request_key DO NOTHING
         RETURNING {COLUMNS}"
    ))
    .bind(id)
    .bind(user)
    .bind(provider.name())
    .bind(&reference)
    .bind(request.amount.value())
    .bind(&request.currency)
    .bind(request.account.as_str())
    .bind(key.map(WithdrawalKey::as_str))
    .bind(&digest)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(row) = row else {
        drop(tx);
        let key = key.ok_or_else(|| Error::Internal(anyhow::anyhow!("conflict without a key")))?;
        return replay(db, user, key, &digest).await;
    };
    let wallet =
        super::account_for(&mut tx, AccountOwner::BackerWallet(user), &request.currency).await?;
    let gateway = super::account_for(&mut tx, AccountOwner::Gateway, &request.currency).await?;
    let amount = request.amount.value();
    let entry = super::post_entry(
        &mut tx,
        EntryKind::Withdrawal,
        &format!("withdrawal:{}", row.id),
        Some(&format!("withdrawal:{}", row.id)),
        &[
            Posting {
                account: wallet,
                amount: -amount,
            },
            Posting {
                account: gateway,
                amount,
            },
        ],
    )
    .await?;
    sqlx::query("UPDATE wallet_withdrawals SET entry_id = $2 WHERE id = $1")
        .bind(row.id)
        .bind(entry)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    tracing::info!(%reference, "withdrawal debited, waiting for the gateway");
    Ok(Started {
        withdrawal: row.shown(),
        replayed: false,
    })
}

/// The withdrawal a key already made, when asked again with the same request.
async fn replay(db: &PgPool, user: UserId, key: &WithdrawalKey, digest: &[u8]) -> Result<Started> {
    let row: WithdrawalRow = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM wallet_withdrawals WHERE user_id = $1 AND request_key = $2"
    ))
    .bind(user)
    .bind(key.as_str())
    .fetch_one(db)
    .await?;
    if row.request_hash != digest {
        return Err(invalid("money.error.key_reused"));
    }
    Ok(Started {
        withdrawal: row.shown(),
        replayed: true,
    })
}

/// A user's latest `limit` withdrawals, newest first.
pub async fn withdrawals_of(db: &PgPool, user: UserId, limit: i64) -> Result<Vec<Withdrawal>> {
    let rows: Vec<WithdrawalRow> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM wallet_withdrawals WHERE user_id = $1
         ORDER BY created_at DESC, id LIMIT $2"
    ))
    .bind(user)
    .bind(limit)
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().map(WithdrawalRow::shown).collect())
}

/// How many of `user`'s withdrawals still wait for the gateway.
pub async fn pending_of(conn: &mut sqlx::PgConnection, user: UserId) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "SELECT count(*) FROM wallet_withdrawals WHERE user_id = $1 AND state = 'pending'",
    )
    .bind(user)
    .fetch_one(&mut *conn)
    .await?)
}

/// Overwrites the bank account numbers of `user`'s withdrawals with `XXXXXXXX` and their last
/// four characters (what the wallet shows): a deleted account keeps no bank details, and the
/// masked number still passes the column's CHECK.
pub async fn forget_accounts_of(conn: &mut sqlx::PgConnection, user: UserId) -> Result<()> {
    sqlx::query(
        "UPDATE wallet_withdrawals SET account = 'XXXXXXXX' || right(account, 4)
         WHERE user_id = $1",
    )
    .bind(user)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Most pending withdrawals one start asks the gateway about again.
pub const RESUMED_AT_START: i64 = 1000;

/// The pending withdrawals of `provider`, oldest first (at most `limit`), with the account each
/// is paid to: a server that stopped before the gateway answered asks it again about these.
pub async fn pending(
    db: &PgPool,
    provider: &dyn PaymentProvider,
    limit: i64,
) -> Result<Vec<(String, BankAccount)>> {
    let rows: Vec<(String, String)> = sqlx::query_as(
        "SELECT reference, account FROM wallet_withdrawals
          WHERE provider = $1 AND state = 'pending' ORDER BY created_at, id LIMIT $2",
    )
    .bind(provider.name())
    .bind(limit)
    .fetch_all(db)
    .await?;
    rows.into_iter()
        .map(|(reference, account)| Ok((reference, BankAccount::parse(&account)?)))
        .collect()
}

/// A withdrawal by its gateway reference.
pub async fn find_withdrawal(
    db: &PgPool,
    provider: &dyn PaymentProvider,
    reference: &str,
) -> Result<Option<Withdrawal>> {
    let row: Option<WithdrawalRow> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM wallet_withdrawals WHERE provider = $1 AND reference = $2"
    ))
    .bind(provider.name())
    .bind(reference)
    .fetch_optional(db)
    .await?;
    Ok(row.map(WithdrawalRow::shown))
}

/// Applies the gateway's verified answer about a payout, once whatever the number of answers:
/// approved completes the withdrawal; declined fails it and credits the money back to the
/// wallet. The owner is told in the same transaction. Returns the withdrawal as it now stands.
pub async fn settle(
    db: &PgPool,
    provider: &dyn PaymentProvider,
    reference: &str,
    outcome: Outcome,
) -> Result<Withdrawal> {
    let mut tx = db.begin().await?;
    let state = WithdrawalState::from(outcome);
    let settled: Option<WithdrawalRow> = sqlx::query_as(&format!(
        "UPDATE wallet_withdrawals SET state = $3, completed_at = now()
         WHERE provider = $1 AND reference = $2 AND state = 'pending'
         RETURNING {COLUMNS}"
    ))
    .bind(provider.name())
    .bind(reference)
    .bind(state)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(row) = settled else {
        // Already settled by an earlier answer (or unknown): nothing more to do.
        drop(tx);
        return find_withdrawal(db, provider, reference)
            .await?
            .ok_or(Error::NotFound);
    };
    let user = row.user_id;
    if state == WithdrawalState::Failed {
        let gateway = super::account_for(&mut tx, AccountOwner::Gateway, &row.currency).await?;
        let wallet =
            super::account_for(&mut tx, AccountOwner::BackerWallet(user), &row.currency).await?;
        let entry = super::post_entry(
            &mut tx,
            EntryKind::WithdrawalReturned,
            &format!("withdrawal:{}", row.id),
            Some(&format!("withdrawal_returned:{}", row.id)),
            &[
                Posting {
                    account: gateway,
                    amount: -row.amount,
                },
                Posting {
                    account: wallet,
                    amount: row.amount,
                },
            ],
        )
        .await?;
        sqlx::query("UPDATE wallet_withdrawals SET return_entry_id = $2 WHERE id = $1")
            .bind(row.id)
            .bind(entry)
            .execute(&mut *tx)
            .await?;
    }
    let kind = match state {
        WithdrawalState::Failed => NoticeKind::WithdrawalFailed,
        _ => NoticeKind::WithdrawalCompleted,
    };
    let params = serde_json::json!({
        "amount": super::amount::fixed(row.amount),
        "currency": row.currency,
        "link": "/wallet#withdrawals",
    });
    notify::tell(&mut tx, &[user], None, kind, &params).await?;
    tx.commit().await?;
    tracing::info!(%reference, state = state.as_str(), "withdrawal settled by the gateway");
    Ok(row.shown())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_account_number_is_normalised_and_shown_by_its_last_four_characters() {
        let account = BankAccount::parse(" 6222 0212-3456 7890 ").unwrap();
        assert_eq!(account.as_str(), "6222021234567890");
        assert_eq!(account.masked(), "•••• 7890");
        let iban = BankAccount::parse("de89 3704 0044 0532 0130 00").unwrap();
        assert_eq!(iban.as_str(), "DE89370400440532013000");
    }

    #[test]
    fn an_account_number_of_the_wrong_length_or_characters_is_refused() {
        for (raw, key) in [
            ("1234567", "money.error.account_length"),
            (&"1".repeat(35), "money.error.account_length"),
            (&" ".repeat(500), "money.error.account_length"),
            ("", "money.error.account_length"),
            ("6222_0212_3456", "money.error.account_characters"),
            ("62220212345６", "money.error.account_characters"),
            ("ABCDEFGH12", "money.error.account_characters"),
        ] {
            match BankAccount::parse(raw) {
                Err(Error::Invalid(Message::Key(k))) => assert_eq!(k, key, "{raw:?}"),
                other => panic!("{raw:?} gave {other:?}"),
            }
        }
    }

    #[test]
    fn a_withdrawal_key_is_visible_ascii_of_bounded_length() {
        assert!(WithdrawalKey::parse("retry-1").is_ok());
        assert!(WithdrawalKey::parse("").is_err());
        assert!(WithdrawalKey::parse("has space").is_err());
        assert!(WithdrawalKey::parse(&"k".repeat(256)).is_err());
    }
}
