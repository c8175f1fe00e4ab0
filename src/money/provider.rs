//! Wallet top-ups through a payment provider, and the built-in sandbox provider.
//!
//! A top-up starts as a pending deposit with a unique gateway reference; the payer goes to the
//! provider's checkout; the provider later calls back with the outcome. The callback is verified
//! by the provider and applied at most once: the deposit leaves `pending` with a conditional
//! `UPDATE`, and its crediting journal entry carries a once-key, so a repeated or concurrent
//! callback credits the wallet once.
//!
//! Withdrawals go the other way ([`super::withdrawals`]): the sandbox pays them out moments after
//! they are made and confirms each by a callback signed exactly like a deposit's, approved, or
//! declined for an account number ending in [`SandboxProvider::DECLINED_ACCOUNT_ENDING`].

use std::sync::Arc;

use hmac::{Hmac, Mac};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use sqlx::PgPool;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::ids::DepositId;

use super::withdrawals::{self, BankAccount, Withdrawal};
use super::{AccountOwner, EntryKind, Money, Posting};
use crate::error::{Error, Message, Result};
use crate::ids::UserId;

/// What the gateway says happened to a payment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Approved,
    Declined,
}

/// A verified notice from a gateway.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct GatewayNotice {
    /// The deposit's gateway reference.
    pub reference: String,
    pub outcome: Outcome,
}

/// How far a callback's timestamp may be from our clock, either way. A captured callback
/// replayed later than this is refused outright; inside it, a replay finds its deposit settled.
pub const CALLBACK_FRESHNESS_SECONDS: i64 = 300;

/// A gateway callback as it arrives: the raw body and the two headers that authenticate it.
#[derive(Debug, Clone, Copy)]
pub struct Callback<'a> {
    pub body: &'a [u8],
    /// Unix seconds when the gateway signed it (`X-Gateway-Timestamp`).
    pub timestamp: &'a str,
    /// Hex HMAC-SHA256 over `timestamp || "." || body` (`X-Gateway-Signature`).
    pub signature: &'a str,
}

/// Why a callback was not believed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CallbackRefusal {
    #[error("the signature does not match")]
    Forged,
    #[error("the timestamp is missing or outside the freshness window")]
    Stale,
    #[error("the body is not a notice")]
    Malformed,
}

/// A card gateway, or something that behaves like one.
pub trait PaymentProvider: Send + Sync {
    /// The provider's stored name.
    fn name(&self) -> &'static str;

    /// Where to send the payer to pay for the deposit with this reference.
    fn checkout_url(&self, reference: &str) -> String;

    /// Checks a callback's signature and freshness at `now`, and reads it.
    fn verify_callback(
        &self,
        callback: Callback<'_>,
        now: OffsetDateTime,
    ) -> std::result::Result<GatewayNotice, CallbackRefusal>;
}

/// The built-in sandbox gateway: a checkout page on this site that approves, declines, answers
/// slowly or not at all, and callbacks signed with the shared gateway secret.
pub struct SandboxProvider {
    key: Vec<u8>,
}

impl SandboxProvider {
    /// The stored provider name.
    pub const NAME: &'static str = "sandbox";

    /// A sandbox whose callback key is derived from the server secret (the sandbox runs inside
    /// the server, so nobody else needs the key).
    pub fn new(server_secret: &[u8]) -> Self {
        let mut mac =
            Hmac::<Sha256>::new_from_slice(server_secret).expect("HMAC takes any key length");
        mac.update(b"zhonglian/sandbox-gateway/v1");
        Self::with_key(&mac.finalize().into_bytes())
    }

    /// A sandbox that signs and checks callbacks with `shared`, the secret both sides were
    /// given (`PAYMENT_GATEWAY_SECRET`), used as the HMAC key as it is.
    pub fn with_key(shared: &[u8]) -> Self {
        Self {
            key: shared.to_vec(),
        }
    }

    fn mac(&self, timestamp: &str, body: &[u8]) -> Hmac<Sha256> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC takes any key length");
        mac.update(timestamp.as_bytes());
        mac.update(b".");
        mac.update(body);
        mac
    }

    /// Signs a callback body at a time, as the gateway side does.
    pub fn sign(&self, timestamp: &str, body: &[u8]) -> String {
        hex::encode(self.mac(timestamp, body).finalize().into_bytes())
    }

    /// Payouts to an account number ending in these four characters are declined by the
    /// sandbox's bank, so that a failed withdrawal can be tried.
    pub const DECLINED_ACCOUNT_ENDING: &'static str = "0000";

    /// How the sandbox's bank answers a payout to `account`.
    pub fn payout_outcome(account: &BankAccount) -> Outcome {
        if account.as_str().ends_with(Self::DECLINED_ACCOUNT_ENDING) {
            Outcome::Declined
        } else {
            Outcome::Approved
        }
    }

    /// A callback for a notice signed now, as the gateway would send it: body, timestamp,
    /// signature.
    pub fn signed_notice(&self, notice: &GatewayNotice) -> (Vec<u8>, String, String) {
        let body = serde_json::to_vec(notice).expect("a notice always serialises");
        let timestamp = OffsetDateTime::now_utc().unix_timestamp().to_string();
        let signature = self.sign(&timestamp, &body);
        (body, timestamp, signature)
    }
}

impl PaymentProvider for SandboxProvider {
    fn name(&self) -> &'static str {
        Self::NAME
    }

    fn checkout_url(&self, reference: &str) -> String {
        format!("/sandbox/checkout/{reference}")
    }

    fn verify_callback(
        &self,
        callback: Callback<'_>,
        now: OffsetDateTime,
    ) -> std::result::Result<GatewayNotice, CallbackRefusal> {
        let signature =
            hex::decode(callback.signature.trim()).map_err(|_| CallbackRefusal::Forged)?;
        self.mac(callback.timestamp, callback.body)
            .verify_slice(&signature)
            .map_err(|_| CallbackRefusal::Forged)?;
        // Checked after the signature, so that only the gateway learns about its clock.
        let signed_at: i64 = callback
            .timestamp
            .parse()
            .map_err(|_| CallbackRefusal::Stale)?;
        if (now.unix_timestamp() - signed_at).abs() > CALLBACK_FRESHNESS_SECONDS {
            return Err(CallbackRefusal::Stale);
        }
        serde_json::from_slice(callback.body).map_err(|_| CallbackRefusal::Malformed)
    }
}

/// Where a top-up is: `pending -> approved | declined`, decided once by the gateway.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, sqlx::Type, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
#[sqlx(type_name = "text", rename_all = "snake_case")]
pub enum DepositState {
    Pending,
    Approved,
    Declined,
}

impl DepositState {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            DepositState::Pending => "pending",
            DepositState::Approved => "approved",
            DepositState::Declined => "declined",
        }
    }
}

impl From<Outcome> for DepositState {
    fn from(outcome: Outcome) -> Self {
        match outcome {
            Outcome::Approved => DepositState::Approved,
            Outcome::Declined => DepositState::Declined,
        }
    }
}

/// A top-up as the wallet shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Deposit {
    #[schema(value_type = String, format = Uuid)]
    pub id: DepositId,
    pub provider: String,
    pub reference: String,
    #[schema(value_type = String, example = "500.00")]
    #[serde(with = "rust_decimal::serde::str")]
    pub amount: Decimal,
    pub currency: String,
    pub state: DepositState,
    /// Where the payer completes a pending top-up.
    pub checkout_url: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
}

/// A deposit as stored.
#[derive(sqlx::FromRow)]
struct DepositRow {
    id: DepositId,
    user_id: UserId,
    provider: String,
    reference: String,
    amount: Decimal,
    currency: String,
    state: DepositState,
    created_at: OffsetDateTime,
}

const DEPOSIT_COLUMNS: &str =
    "id, user_id, provider, reference, amount, currency, state, created_at";

fn deposit(row: DepositRow, provider: Option<&dyn PaymentProvider>) -> (UserId, Deposit) {
    let checkout_url = provider
        .filter(|p| row.state == DepositState::Pending && p.name() == row.provider)
        .map(|p| p.checkout_url(&row.reference));
    (
        row.user_id,
        Deposit {
            id: row.id,
            provider: row.provider,
            reference: row.reference,
            amount: row.amount,
            currency: row.currency,
            state: row.state,
            checkout_url,
            created_at: row.created_at,
        },
    )
}

/// How much may be topped up: at once, and by one user in 24 hours.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DepositLimits {
    pub per_deposit: Decimal,
    pub per_day: Decimal,
}

/// Starts a top-up: records a pending deposit under a fresh gateway reference, unless it is
/// above the per-deposit limit or would take the user's last 24 hours of top-ups in that
/// currency (pending and approved) above the daily one.
pub async fn start_deposit(
    db: &PgPool,
    provider: &dyn PaymentProvider,
    limits: DepositLimits,
    user: UserId,
    amount: Money,
    currency: &str,
) -> Result<Deposit> {
    if amount.value() > limits.per_deposit {
        return Err(Error::Invalid(Message::Fill(
            "money.error.deposit_too_large",
            vec![("limit", super::amount::fixed(limits.per_deposit))],
        )));
    }
    let fresh = Uuid::new_v4();
    let (id, reference) = (DepositId(fresh), format!("zl_{}", fresh.simple()));
    let mut tx = db.begin().await?;
    // One user's top-ups are counted and added one at a time, so two at once cannot both fit
    // under the daily limit that only one of them fits under.
    sqlx::query(
        "SELECT pg_advisory_xact_lock(hashtextextended('wallet_deposits:' || $1::text, 0))",
    )
    .bind(user)
    .execute(&mut *tx)
    .await?;
    let row: Option<DepositRow> = sqlx::query_as(&format!(
        "INSERT INTO wallet_deposits (id, user_id, provider, reference, amount, currency)
         SELECT $1, $2, $3, $4, $5, $6
         WHERE (SELECT coalesce(sum(amount), 0) FROM wallet_deposits
                WHERE user_id = $2 AND currency = $6 AND state <> 'declined'
                  AND created_at > now() - interval '24 hours') + $5 <= $7
         RETURNING {DEPOSIT_COLUMNS}"
    ))
    .bind(id)
    .bind(user)
    .bind(provider.name())
    .bind(&reference)
    .bind(amount.value())
    .bind(currency)
    .bind(limits.per_day)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(row) = row else {
        return Err(Error::Invalid(Message::Fill(
            "money.error.daily_limit",
            vec![("limit", super::amount::fixed(limits.per_day))],
        )));
    };
    tx.commit().await?;
    Ok(deposit(row, Some(provider)).1)
}

/// A deposit by its gateway reference, with its owner.
pub async fn find_deposit(
    db: &PgPool,
    provider: &dyn PaymentProvider,
    reference: &str,
) -> Result<Option<(UserId, Deposit)>> {
    let row: Option<DepositRow> = sqlx::query_as(&format!(
        "SELECT {DEPOSIT_COLUMNS} FROM wallet_deposits WHERE provider = $1 AND reference = $2"
    ))
    .bind(provider.name())
    .bind(reference)
    .fetch_optional(db)
    .await?;
    Ok(row.map(|r| deposit(r, Some(provider))))
}

/// A user's latest deposits; pending ones carry a checkout link while `provider` is theirs.
pub async fn deposits_of(
    db: &PgPool,
    provider: Option<&dyn PaymentProvider>,
    user: UserId,
    limit: i64,
) -> Result<Vec<Deposit>> {
    let rows: Vec<DepositRow> = sqlx::query_as(&format!(
        "SELECT {DEPOSIT_COLUMNS} FROM wallet_deposits WHERE user_id = $1
         ORDER BY created_at DESC LIMIT $2"
    ))
    .bind(user)
    .bind(limit)
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().map(|r| deposit(r, provider).1).collect())
}

/// Applies a verified gateway notice: an approved deposit credits the wallet, once, whatever
/// the number of callbacks; a declined one moves nothing. Returns the deposit as it now stands.
pub async fn apply_notice(
    db: &PgPool,
    provider: &dyn PaymentProvider,
    notice: &GatewayNotice,
) -> Result<Deposit> {
    let mut tx = db.begin().await?;
    let state = DepositState::from(notice.outcome);
    let settled: Option<DepositRow> = sqlx::query_as(&format!(
        "UPDATE wallet_deposits SET state = $3, completed_at = now()
         WHERE provider = $1 AND reference = $2 AND state = 'pending'
         RETURNING {DEPOSIT_COLUMNS}"
    ))
    .bind(provider.name())
    .bind(&notice.reference)
    .bind(state)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(row) = settled else {
        // Already settled by an earlier callback (or unknown): nothing more to do.
        drop(tx);
        return find_deposit(db, provider, &notice.reference)
            .await?
            .map(|(_, d)| d)
            .ok_or(Error::NotFound);
    };
    let (user, deposit) = deposit(row, Some(provider));
    if notice.outcome == Outcome::Approved {
        let gateway = super::account_for(&mut tx, AccountOwner::Gateway, &deposit.currency).await?;
        let wallet =
            super::account_for(&mut tx, AccountOwner::BackerWallet(user), &deposit.currency)
                .await?;
        let once = format!("deposit:{}:{}", provider.name(), deposit.reference);
        let entry = super::post_entry(
            &mut tx,
            EntryKind::Deposit,
            &format!("deposit:{}", deposit.id),
            Some(&once),
            &[
                Posting {
                    account: gateway,
                    amount: -deposit.amount,
                },
                Posting {
                    account: wallet,
                    amount: deposit.amount,
                },
            ],
        )
        .await?;
        if let Some(entry) = entry {
            sqlx::query("UPDATE wallet_deposits SET entry_id = $2 WHERE id = $1")
                .bind(deposit.id)
                .bind(entry)
                .execute(&mut *tx)
                .await?;
        }
    }
    tx.commit().await?;
    tracing::info!(reference = %deposit.reference, state = state.as_str(), "deposit settled by the gateway");
    Ok(deposit)
}

/// Checks a raw callback; a forged, stale or malformed one is a 400.
fn verify(provider: &dyn PaymentProvider, callback: Callback<'_>) -> Result<GatewayNotice> {
    provider
        .verify_callback(callback, OffsetDateTime::now_utc())
        .map_err(|refusal| {
            tracing::warn!(provider = provider.name(), %refusal, "gateway callback refused");
            Error::Malformed(Message::Key(match refusal {
                CallbackRefusal::Stale => "money.error.stale_callback",
                CallbackRefusal::Forged | CallbackRefusal::Malformed => "money.error.bad_callback",
            }))
        })
}

/// Verifies and applies a raw callback; a forged, stale or malformed one is a 400 and moves
/// nothing.
pub async fn handle_callback(
    db: &PgPool,
    provider: &dyn PaymentProvider,
    callback: Callback<'_>,
) -> Result<Deposit> {
    let notice = verify(provider, callback)?;
    apply_notice(db, provider, &notice).await
}

/// Verifies and applies a raw payout callback (the notice names a withdrawal's reference); a
/// forged, stale or malformed one is a 400 and moves nothing, a repeat changes nothing.
pub async fn handle_payout_callback(
    db: &PgPool,
    provider: &dyn PaymentProvider,
    callback: Callback<'_>,
) -> Result<Withdrawal> {
    let notice = verify(provider, callback)?;
    withdrawals::settle(db, provider, &notice.reference, notice.outcome).await
}

/// The sandbox paying a withdrawal out: moments after it was made, the gateway answers by a
/// signed payout callback to this server, exactly as an outside gateway would. Runs on its own;
/// the withdrawal is pending until then.
pub fn pay_out(
    db: PgPool,
    gateway: Arc<SandboxProvider>,
    reference: String,
    account: &BankAccount,
) -> tokio::task::JoinHandle<()> {
    let outcome = SandboxProvider::payout_outcome(account);
    tokio::spawn(async move {
        let (body, timestamp, signature) = gateway.signed_notice(&GatewayNotice {
            reference: reference.clone(),
            outcome,
        });
        let callback = Callback {
            body: &body,
            timestamp: &timestamp,
            signature: &signature,
        };
        // As a gateway retries a callback it got no answer to: a database that is briefly away
        // does not leave the withdrawal pending.
        for attempt in 1..=PAYOUT_CALLBACK_TRIES {
            match handle_payout_callback(&db, gateway.as_ref(), callback).await {
                Ok(_) => return,
                Err(error) if attempt == PAYOUT_CALLBACK_TRIES => {
                    tracing::error!(%reference, %error, "the sandbox payout could not be confirmed");
                }
                Err(error) => {
                    tracing::warn!(%reference, %error, attempt, "sandbox payout callback failed, retrying");
                    tokio::time::sleep(std::time::Duration::from_millis(200 << attempt)).await;
                }
            }
        }
    })
}

/// Asks the sandbox again about every withdrawal still pending (at start: a server stopped
/// between a withdrawal and its gateway's answer must not leave the money in between for ever).
/// Settling is idempotent, so a payout answered twice changes nothing the second time.
pub async fn resume_payouts(db: &PgPool, gateway: Arc<SandboxProvider>) -> Result<usize> {
    let pending = withdrawals::pending(db, gateway.as_ref(), withdrawals::RESUMED_AT_START).await?;
    for (reference, account) in &pending {
        pay_out(db.clone(), gateway.clone(), reference.clone(), account);
    }
    Ok(pending.len())
}

/// How often the sandbox sends a payout callback before it gives up (the signature stays
/// fresh: the tries take a few seconds, far inside [`CALLBACK_FRESHNESS_SECONDS`]).
const PAYOUT_CALLBACK_TRIES: u32 = 5;

#[cfg(test)]
mod tests {
    use super::*;

    fn notice() -> GatewayNotice {
        GatewayNotice {
            reference: "zl_test".into(),
            outcome: Outcome::Approved,
        }
    }

    #[test]
    fn a_callback_is_believed_only_with_its_own_signature_and_a_fresh_timestamp() {
        let gateway = SandboxProvider::new(b"shared secret");
        let now = OffsetDateTime::now_utc();
        let (body, timestamp, signature) = gateway.signed_notice(&notice());
        let genuine = Callback {
            body: &body,
            timestamp: &timestamp,
            signature: &signature,
        };
        assert_eq!(
            gateway.verify_callback(genuine, now).unwrap().reference,
            "zl_test"
        );

        let other_key = SandboxProvider::new(b"another secret");
        assert_eq!(
            other_key.verify_callback(genuine, now).unwrap_err(),
            CallbackRefusal::Forged
        );
        let moved_time = Callback {
            timestamp: "1",
            ..genuine
        };
        assert_eq!(
            gateway.verify_callback(moved_time, now).unwrap_err(),
            CallbackRefusal::Forged,
            "the timestamp is signed too"
        );
        let later = now + time::Duration::seconds(CALLBACK_FRESHNESS_SECONDS + 1);
        assert_eq!(
            gateway.verify_callback(genuine, later).unwrap_err(),
            CallbackRefusal::Stale
        );
        let inside = now + time::Duration::seconds(CALLBACK_FRESHNESS_SECONDS - 5);
        assert!(gateway.verify_callback(genuine, inside).is_ok());
    }

    #[test]
    fn the_sandbox_bank_declines_payouts_only_to_accounts_ending_in_0000() {
        let outcome =
            |raw: &str| SandboxProvider::payout_outcome(&BankAccount::parse(raw).unwrap());
        assert_eq!(outcome("6222 0212 3456 0000"), Outcome::Declined);
        assert_eq!(outcome("6222 0212 3456 7890"), Outcome::Approved);
        assert_eq!(outcome("6222 0212 0000 7890"), Outcome::Approved);
    }

    #[test]
    fn a_signed_body_that_is_not_a_notice_is_malformed() {
        let gateway = SandboxProvider::new(b"shared secret");
        let timestamp = OffsetDateTime::now_utc().unix_timestamp().to_string();
        let signature = gateway.sign(&timestamp, b"{}");
        let callback = Callback {
            body: b"{}",
            timestamp: &timestamp,
            signature: &signature,
        };
        assert_eq!(
            gateway
                .verify_callback(callback, OffsetDateTime::now_utc())
                .unwrap_err(),
            CallbackRefusal::Malformed
        );
    }
}
