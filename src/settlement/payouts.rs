//! Founder payouts: queued by the last transaction of a funded project, then paid to the
//! founder's bank through the gateway, once however often it is retried.

use rust_decimal::Decimal;

use super::Settler;
use crate::error::Result;
use crate::ids::{ProjectId, UserId};
use crate::money::{self, AccountOwner, Posting};

/// A payout waiting to be sent.
#[derive(sqlx::FromRow)]
struct PendingPayout {
    project_id: ProjectId,
    founder_id: UserId,
    amount: Decimal,
    currency: String,
    reference: String,
}

impl Settler {
    /// Pays queued founder payouts to their bank through the gateway: each moves the founder's
    /// wallet to the gateway once (the journal's once-key is the payout reference), however
    /// often it is retried.
    pub async fn send_pending_payouts(&self) -> Result<u64> {
        let pending: Vec<PendingPayout> = sqlx::query_as(
            "SELECT project_id, founder_id, amount, currency, reference FROM payouts
              WHERE state = 'pending' ORDER BY created_at LIMIT 100",
        )
        .fetch_all(&self.db)
        .await?;
        let mut sent = 0;
        for PendingPayout {
            project_id,
            founder_id,
            amount,
            currency,
            reference,
        } in pending
        {
            let mut tx = self.db.begin().await?;
            if !amount.is_zero() {
                let wallet =
                    money::account_for(&mut tx, AccountOwner::FounderWallet(founder_id), &currency)
                        .await?;
                let gateway = money::account_for(&mut tx, AccountOwner::Gateway, &currency).await?;
                money::post_entry(
                    &mut tx,
                    money::EntryKind::Payout,
                    &reference,
                    Some(&reference),
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
            }
            sqlx::query(
                "UPDATE payouts SET state = 'sent', sent_at = now() WHERE project_id = $1 AND state = 'pending'",
            )
            .bind(project_id)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            sent += 1;
        }
        Ok(sent)
    }
}
