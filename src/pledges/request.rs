//! What a backer asks for, the key that makes asking twice safe, and the answer to a repeat.

use rust_decimal::Decimal;
use sha2::{Digest, Sha256};
use sqlx::PgPool;

use super::extras::Extras;
use super::limits::Shares;
use super::{find, Pledge, PledgeId};
use crate::error::{Error, Message, Result};
use crate::ids::{ProjectId, TierId, UserId};
use crate::money::Money;

/// What a backer asks for.
#[derive(Debug, Clone)]
pub enum PledgeRequest {
    /// A reward pledge: a tier (or none) and the total amount, at least the tier's price.
    Reward { tier: Option<TierId>, amount: Money },
    /// A reward pledge with shipping and add-ons: `amount` is the reward part (at least the
    /// tier's price); the add-ons and the shipping are added to it.
    RewardWithExtras {
        tier: Option<TierId>,
        amount: Money,
        extras: Extras,
    },
    /// An equity commitment.
    Equity(EquityRequest),
}

/// An equity commitment's terms and the investor's declarations.
#[derive(Debug, Clone)]
pub struct EquityRequest {
    pub shares: Shares,
    /// The investor has read and accepted the offering's risk warning.
    pub risk_acknowledged: bool,
    /// Self-declared (annual income, net worth), stored; needed once.
    pub declaration: Option<(Decimal, Decimal)>,
}

impl PledgeRequest {
    /// A digest of what was asked, to tell a repeat from a different request under one key.
    pub(super) fn digest(&self, project: ProjectId) -> Vec<u8> {
        let text = match self {
            PledgeRequest::Reward { tier, amount } => format!(
                "reward|{project}|{}|{}",
                tier.map(|t| t.to_string()).unwrap_or_default(),
                amount.to_fixed()
            ),
            PledgeRequest::RewardWithExtras {
                tier,
                amount,
                extras,
            } => format!(
                "reward|{project}|{}|{}{}",
                tier.map(|t| t.to_string()).unwrap_or_default(),
                amount.to_fixed(),
                extras.digest_text()
            ),
            PledgeRequest::Equity(e) => format!(
                "equity|{project}|{}|{}|{}",
                e.shares.get(),
                e.risk_acknowledged,
                e.declaration
                    .map(|(i, n)| format!("{i:.2}/{n:.2}"))
                    .unwrap_or_default()
            ),
        };
        Sha256::digest(text.as_bytes()).to_vec()
    }
}

/// An `Idempotency-Key` header or a form's one-time key.
#[derive(Debug, Clone)]
pub struct RequestKey(String);

impl RequestKey {
    /// 1 to 255 visible ASCII characters.
    pub fn parse(raw: &str) -> Result<Self> {
        let key = raw.trim();
        if key.is_empty() || key.len() > 255 || !key.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(Error::malformed("pledges.error.idempotency_key"));
        }
        Ok(Self(key.to_owned()))
    }

    /// The key.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The outcome of [`super::Desk::create`].
#[derive(Debug, Clone)]
pub struct Created {
    pub pledge: Pledge,
    /// The key had already made this pledge; nothing new happened.
    pub replayed: bool,
}

/// A claimed request key, as stored.
#[derive(sqlx::FromRow)]
struct ClaimedKey {
    request_hash: Vec<u8>,
    pledge_id: PledgeId,
}

/// The pledge a key already made, when asked again with the same request.
pub(super) async fn replay(
    db: &PgPool,
    backer: UserId,
    key: &RequestKey,
    digest: &[u8],
) -> Result<Created> {
    let claimed: ClaimedKey = sqlx::query_as(
        "SELECT request_hash, pledge_id FROM pledge_request_keys WHERE user_id = $1 AND key = $2",
    )
    .bind(backer)
    .bind(key.as_str())
    .fetch_one(db)
    .await?;
    if claimed.request_hash != digest {
        return Err(Error::Invalid(Message::Key("pledges.error.key_reused")));
    }
    let pledge = find(db, claimed.pledge_id)
        .await?
        .ok_or_else(|| Error::Internal(anyhow::anyhow!("key names a missing pledge")))?;
    Ok(Created {
        pledge,
        replayed: true,
    })
}
