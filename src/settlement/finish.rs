//! The last transaction of a settlement: the payout and the fee of a funded project, its final
//! state, everyone's notification; then the e-mails, after commit.

use rust_decimal::Decimal;
use serde_json::json;
use sqlx::PgConnection;

use super::records::{record_transactions, Record};
use super::{fields, now_text, platform_fee, ProjectSettled, Settler};
use crate::error::Result;
use crate::ledger::entry::{EntryKind, NewEntry};
use crate::money::{self, AccountOwner, Posting};
use crate::notify::{self, NoticeKind};
use crate::pledges::settle as pledge_settle;
use crate::projects::settling::{self, Outcome, Settling};

impl Settler {
    /// The last transaction: for a funded project, escrow -> founder (net) and platform fee,
    /// anchored as `payout` and `fee`, and a payout to the founder's bank queued; then the
    /// project's final state and everyone's notification.
    pub(super) async fn finish(
        &self,
        conn: &mut PgConnection,
        project: &Settling,
    ) -> Result<ProjectSettled> {
        let mut collected = Decimal::ZERO;
        let mut fee = Decimal::ZERO;
        if project.outcome == Outcome::Funded {
            collected = pledge_settle::collected_total(conn, project.id).await?;
            fee = platform_fee(collected, self.fee_bps);
            let payout = collected - fee;
            let at = now_text();
            let escrow = money::account_for(
                conn,
                AccountOwner::ProjectEscrow(project.id),
                &project.currency,
            )
            .await?;
            let founder_wallet = money::account_for(
                conn,
                AccountOwner::FounderWallet(project.founder),
                &project.currency,
            )
            .await?;
            let fee_account =
                money::account_for(conn, AccountOwner::PlatformFee, &project.currency).await?;
            let mut postings = vec![Posting {
                account: escrow,
                amount: -collected,
            }];
            if !payout.is_zero() {
                postings.push(Posting {
                    account: founder_wallet,
                    amount: payout,
                });
            }
            if !fee.is_zero() {
                postings.push(Posting {
                    account: fee_account,
                    amount: fee,
                });
            }
            let reference = format!("project:{}", project.id);
            money::post_entry(
                conn,
                money::EntryKind::PledgeCollected,
                &reference,
                Some(&format!("settlement:collect:{}", project.id)),
                &postings,
            )
            .await?;

            let payout_reference = format!("payout:{}", project.id);
            let mut entries = Vec::new();
            let mut records = Vec::new();
            if !fee.is_zero() {
                entries.push(NewEntry::new(
                    EntryKind::Fee,
                    fields(json!({
                        "project": project.id.to_string(),
                        "amount": money::amount::fixed(fee),
                        "collected": money::amount::fixed(collected),
                        "rate_bps": self.fee_bps,
                        "currency": project.currency,
                        "at": at,
                    })),
                ));
                records.push(Record::project(project.id, EntryKind::Fee, fee));
            }
            let mut parties = Vec::new();
            let founder = NewEntry::commit_party(&mut parties, project.founder);
            let mut entry = NewEntry::new(
                EntryKind::Payout,
                fields(json!({
                    "project": project.id.to_string(),
                    "amount": money::amount::fixed(payout),
                    "currency": project.currency,
                    "founder": founder,
                    "reference": payout_reference,
                    "at": at,
                })),
            );
            entry.parties = parties;
            entries.push(entry);
            records.push(Record::project(project.id, EntryKind::Payout, payout));
            let appended = self.ledger.append(conn, &entries).await?;
            record_transactions(conn, &records, &appended.tx_hashes).await?;
            sqlx::query(
                "INSERT INTO payouts (project_id, founder_id, amount, currency, provider, reference)
                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (project_id) DO NOTHING",
            )
            .bind(project.id)
            .bind(project.founder)
            .bind(payout)
            .bind(&project.currency)
            .bind(money::provider::SandboxProvider::NAME)
            .bind(&payout_reference)
            .execute(&mut *conn)
            .await?;
        }
        settling::finish(conn, project).await?;
        let kind = outcome_kind(project.outcome);
        let params = json!({
            "title": project.title,
            "slug": project.slug,
            "collected": money::amount::fixed(collected),
            "currency": project.currency,
        });
        let backers = pledge_settle::settled_backers(conn, project.id).await?;
        notify::tell(conn, &backers, Some(project.id), kind, &params).await?;
        notify::tell(conn, &[project.founder], Some(project.id), kind, &params).await?;
        Ok(ProjectSettled {
            project: project.id,
            outcome: project.outcome,
            pledges: 0,
            collected,
            fee,
        })
    }
}

/// The notification kind of an outcome.
fn outcome_kind(outcome: Outcome) -> NoticeKind {
    match outcome {
        Outcome::Funded => NoticeKind::ProjectFunded,
        Outcome::Failed => NoticeKind::ProjectFailed,
        Outcome::Refund => NoticeKind::ProjectCancelled,
    }
}
