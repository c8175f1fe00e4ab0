//! Wallet top-ups through a payment provider, and the built-in sandbox provider.
//!
//! A top-up starts as a pending deposit with a unique gateway reference; the payer goes to the
//! provider's checkout; the provider later calls back with the outcome. The callback is verified
//! by the provider and applied at most once: the deposit leaves `pending` with a conditional
//! `UPDATE`, and its crediting journal entry carries a once-key, so a repeated or concurrent
//! callback credits the wallet once.

use hmac::{Hmac, Mac};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use sqlx::PgPool;
use time::OffsetDateTime;
use uuid::Uuid;

use super::{AccountOwner, EntryKind, Money, Posting};
use crate::accounts::domain::UserId;
use crate::http::error::{Error, Message, Result};

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

/// A card gateway, or something that behaves like one.
pub trait PaymentProvider: Send + Sync {
    /// The provider's stored name.
    fn name(&self) -> &'static str;

    /// Where to send the payer to pay for the deposit with this reference.
    fn checkout_url(&self, reference: &str) -> String;

    /// Checks a callback's signature and reads it; `None` when it is not genuine.
    fn verify_callback(&self, body: &[u8], signature: &str) -> Option<GatewayNotice>;
}

/// The built-in sandbox gateway: a checkout page on this site that approves, declines, answers
/// slowly or not at all, and callbacks signed with a key derived from the server secret.
pub struct SandboxProvider {
    key: Vec<u8>,
}

impl SandboxProvider {
    /// The stored provider name.
    pub const NAME: &'static str = "sandbox";

    /// A sandbox whose callback key is derived from `secret` (a server key).
    pub fn new(secret: &[u8]) -> Self {
        let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes any key length");
        mac.update(b"zhonglian/sandbox-gateway/v1");
        Self {
            key: mac.finalize().into_bytes().to_vec(),
        }
    }

    /// Signs a callback body, as the gateway side does.
    pub fn sign(&self, body: &[u8]) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC takes any key length");
        mac.update(body);
        hex::encode(mac.finalize().into_bytes())
    }

    /// A signed callback body for a notice, as the gateway would send it.
    pub fn signed_notice(&self, notice: &GatewayNotice) -> (Vec<u8>, String) {
        let body = serde_json::to_vec(notice).expect("a notice always serialises");
        let signature = self.sign(&body);
        (body, signature)
    }
}

impl PaymentProvider for SandboxProvider {
    fn name(&self) -> &'static str {
        Self::NAME
    }

    fn checkout_url(&self, reference: &str) -> String {
        format!("/sandbox/checkout/{reference}")
    }

    fn verify_callback(&self, body: &[u8], signature: &str) -> Option<GatewayNotice> {
        let signature = hex::decode(signature.trim()).ok()?;
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).ok()?;
        mac.update(body);
        mac.verify_slice(&signature).ok()?;
        serde_json::from_slice(body).ok()
    }
}

/// A top-up as the wallet shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Deposit {
    #[schema(value_type = String, format = Uuid)]
    pub id: Uuid,
    pub provider: String,
    pub reference: String,
    #[schema(value_type = String, example = "500.00")]
    #[serde(with = "rust_decimal::serde::str")]
    pub amount: Decimal,
    pub currency: String,
    /// `pending`, `approved` or `declined`.
    pub state: String,
    /// Where the payer completes a pending top-up.
    pub checkout_url: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
}

type DepositRow = (
    Uuid,
    Uuid,
    String,
    String,
    Decimal,
    String,
    String,
    OffsetDateTime,
);

const DEPOSIT_COLUMNS: &str =
    "id, user_id, provider, reference, amount, currency, state, created_at";

fn deposit(row: DepositRow, provider: &dyn PaymentProvider) -> (UserId, Deposit) {
    let (id, user, provider_name, reference, amount, currency, state, created_at) = row;
    let checkout_url = (state == "pending").then(|| provider.checkout_url(&reference));
    (
        UserId(user),
        Deposit {
            id,
            provider: provider_name,
            reference,
            amount,
            currency,
            state,
            checkout_url,
            created_at,
        },
    )
}

/// Starts a top-up: records a pending deposit under a fresh gateway reference.
pub async fn start_deposit(
    db: &PgPool,
    provider: &dyn PaymentProvider,
    user: UserId,
    amount: Money,
    currency: &str,
) -> Result<Deposit> {
    let id = Uuid::new_v4();
    let reference = format!("zl_{}", id.simple());
    let row: DepositRow = sqlx::query_as(&format!(
        "INSERT INTO wallet_deposits (id, user_id, provider, reference, amount, currency)
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING {DEPOSIT_COLUMNS}"
    ))
    .bind(id)
    .bind(user.0)
    .bind(provider.name())
    .bind(&reference)
    .bind(amount.value())
    .bind(currency)
    .fetch_one(db)
    .await?;
    Ok(deposit(row, provider).1)
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
    Ok(row.map(|r| deposit(r, provider)))
}

/// A user's latest deposits.
pub async fn deposits_of(
    db: &PgPool,
    provider: &dyn PaymentProvider,
    user: UserId,
    limit: i64,
) -> Result<Vec<Deposit>> {
    let rows: Vec<DepositRow> = sqlx::query_as(&format!(
        "SELECT {DEPOSIT_COLUMNS} FROM wallet_deposits WHERE user_id = $1
         ORDER BY created_at DESC LIMIT $2"
    ))
    .bind(user.0)
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
    let state = match notice.outcome {
        Outcome::Approved => "approved",
        Outcome::Declined => "declined",
    };
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
    let (user, deposit) = deposit(row, provider);
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
                .bind(entry.0)
                .execute(&mut *tx)
                .await?;
        }
    }
    tx.commit().await?;
    tracing::info!(reference = %deposit.reference, state, "deposit settled by the gateway");
    Ok(deposit)
}

/// Verifies and applies a raw callback; a forged one is a 400.
pub async fn handle_callback(
    db: &PgPool,
    provider: &dyn PaymentProvider,
    body: &[u8],
    signature: &str,
) -> Result<Deposit> {
    let notice = provider
        .verify_callback(body, signature)
        .ok_or(Error::BadRequest(Message::Key("money.error.bad_callback")))?;
    apply_notice(db, provider, &notice).await
}
