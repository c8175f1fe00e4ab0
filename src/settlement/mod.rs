//! Settlement: at the deadline every pledge is collected or refunded, exactly once, and each
//! settled transaction goes on the public ledger in the same database transaction that moves
//! its money.
//!
//! A project settles in batches. Each batch is one transaction that locks the project
//! (`FOR UPDATE SKIP LOCKED`, so several workers never settle one project at once), moves up to
//! `batch_size` active pledges to `collected` or `refunded`, moves their money, records their
//! ledger entries and appends them. The last transaction moves the collected money to the
//! founder and the platform fee, anchors the fee and payout, and closes the project. Killing the
//! process at any instant rolls back at most the batch in flight; the next run continues.

pub mod api;
pub mod notify;
pub mod pages;

use std::sync::Arc;
use std::time::Duration;

use rust_decimal::{Decimal, RoundingStrategy};
use serde_json::json;
use sqlx::{PgConnection, PgPool};
use time::OffsetDateTime;

use crate::app::AppState;
use crate::error::{Error, Result};
use crate::ledger::entry::{EntryKind, NewEntry};
use crate::ledger::merkle::Hash;
use crate::ledger::Ledger;
use crate::money::batch::{self, BatchTransfer};
use crate::money::{self, AccountOwner, Posting};
use crate::pledges::settle::{self as pledge_settle, Settled};
use crate::pledges::{PledgeId, PledgeState};
use crate::projects::settling::{self, Outcome, Settling};
use crate::projects::{ProjectId, ProjectKind};
use notify::Mailer;

/// The platform fee on `total` at `bps` basis points, rounded to the cent, half away from zero
/// (100.10 at 5% is 5.005, charged as 5.01). The founder receives `total - fee`, so the two
/// always add up to exactly what was collected.
pub fn platform_fee(total: Decimal, bps: u32) -> Decimal {
    (total * Decimal::from(bps) / Decimal::from(10_000))
        .round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero)
}

/// What happened to one project.
#[derive(Debug, Clone)]
pub struct ProjectSettled {
    pub project: ProjectId,
    pub outcome: Outcome,
    pub pledges: u64,
    pub collected: Decimal,
    pub fee: Decimal,
}

/// Progress reported while a project settles.
#[derive(Debug, Clone, Copy)]
pub struct Progress {
    pub project: ProjectId,
    pub settled: u64,
    pub remaining: u64,
}

/// Settles projects; cheap to clone.
#[derive(Clone)]
pub struct Settler {
    db: PgPool,
    ledger: Arc<Ledger>,
    fee_bps: u32,
    mailer: Arc<dyn Mailer>,
    batch_size: i64,
}

impl Settler {
    /// A settler using the application's database, ledger and fee, with the logging mailer.
    pub fn new(state: &AppState) -> Self {
        Self::from_parts(state.db.clone(), state.ledger.clone(), &state.settings)
    }

    /// A settler for tools that have no web state (the `settle` command).
    pub fn from_parts(db: PgPool, ledger: Arc<Ledger>, settings: &crate::config::Settings) -> Self {
        Self {
            db,
            ledger,
            fee_bps: settings.platform_fee_bps,
            mailer: Arc::new(notify::LogMailer),
            batch_size: settings.settlement_batch_size.max(1),
        }
    }

    /// Uses another e-mail sender.
    pub fn with_mailer(mut self, mailer: Arc<dyn Mailer>) -> Self {
        self.mailer = mailer;
        self
    }

    /// Settles this many pledges per transaction.
    pub fn with_batch_size(mut self, batch_size: i64) -> Self {
        self.batch_size = batch_size.max(1);
        self
    }

    /// Settles every project that is due, one after the other, then sends pending payouts.
    pub async fn settle_due(
        &self,
        progress: &(dyn Fn(Progress) + Sync),
    ) -> Result<Vec<ProjectSettled>> {
        let mut done = Vec::new();
        while let Some(settled) = self.settle_next(progress).await? {
            done.push(settled);
        }
        self.send_pending_payouts().await?;
        Ok(done)
    }

    /// Settles the next due project to the end; `None` when nothing is due (or every due
    /// project is being settled by another worker).
    pub async fn settle_next(
        &self,
        progress: &(dyn Fn(Progress) + Sync),
    ) -> Result<Option<ProjectSettled>> {
        let mut tx = self.db.begin().await?;
        let Some(project) = settling::lock_next_due(&mut tx).await? else {
            return Ok(None);
        };
        let remaining = pledge_settle::active_count(&mut tx, project.id).await? as u64;
        // The outcome is now recorded: commit it, so the batches below can resume after a crash.
        tx.commit().await?;
        tracing::info!(project = %project.id, outcome = ?project.outcome, pledges = remaining, "settling");
        let mut settled = 0u64;
        let mut cursor = None;
        progress(Progress {
            project: project.id,
            settled,
            remaining,
        });
        loop {
            match self.batch(project.id, cursor).await? {
                Step::Settled(n, last) => {
                    settled += n;
                    cursor = Some(last);
                    progress(Progress {
                        project: project.id,
                        settled,
                        remaining: remaining.saturating_sub(settled),
                    });
                }
                Step::Finished(summary) => {
                    tracing::info!(project = %project.id, outcome = ?summary.outcome, pledges = settled, "settled");
                    self.announce(&summary).await;
                    return Ok(Some(ProjectSettled {
                        pledges: settled,
                        ..summary
                    }));
                }
                // Another worker holds the project now; it will finish it.
                Step::Busy => return Ok(None),
            }
        }
    }

    async fn batch(&self, id: ProjectId, after: Option<PledgeId>) -> Result<Step> {
        let mut tx = self.db.begin().await?;
        let Some(project) = settling::lock_settling(&mut tx, id).await? else {
            return Ok(Step::Busy);
        };
        let to = match project.outcome {
            Outcome::Funded => PledgeState::Collected,
            Outcome::Failed | Outcome::Refund => PledgeState::Refunded,
        };
        let mut pledges =
            pledge_settle::settle_batch(&mut tx, project.id, to, after, self.batch_size).await?;
        if pledges.is_empty() && after.is_some() {
            // Past the cursor there is nothing left; look once more from the start, for pledges
            // another worker's rolled-back batch left behind.
            pledges =
                pledge_settle::settle_batch(&mut tx, project.id, to, None, self.batch_size).await?;
        }
        if pledges.is_empty() {
            let summary = self.finish(&mut tx, &project).await?;
            tx.commit().await?;
            return Ok(Step::Finished(summary));
        }
        let at = now_text();
        match project.outcome {
            Outcome::Funded => self.collect(&mut tx, &project, &pledges, &at).await?,
            Outcome::Failed | Outcome::Refund => {
                self.refund(&mut tx, &project, &pledges, &at).await?
            }
        }
        tx.commit().await?;
        let last = pledges
            .last()
            .map(|p| p.id)
            .unwrap_or(PledgeId(uuid::Uuid::nil()));
        Ok(Step::Settled(pledges.len() as u64, last))
    }

    /// Collected pledges stay in escrow until the project finishes; each gets its ledger entry
    /// (and, for equity, its shares) now.
    async fn collect(
        &self,
        conn: &mut PgConnection,
        project: &Settling,
        pledges: &[Settled],
        at: &str,
    ) -> Result<()> {
        let mut entries = Vec::with_capacity(pledges.len() * 2);
        let mut records = Vec::with_capacity(pledges.len() * 2);
        for pledge in pledges {
            let mut parties = Vec::new();
            let backer = NewEntry::commit_party(&mut parties, pledge.backer);
            let founder = NewEntry::commit_party(&mut parties, project.founder);
            let mut entry = NewEntry::new(
                EntryKind::PledgeCollected,
                object(json!({
                    "project": project.id.to_string(),
                    "pledge": pledge.id.to_string(),
                    "amount": money::amount::fixed(pledge.amount),
                    "currency": project.currency,
                    "backer": backer,
                    "founder": founder,
                    "at": at,
                })),
            );
            entry.parties = parties;
            entries.push(entry);
            records.push(Record::pledge(
                project.id,
                pledge,
                EntryKind::PledgeCollected,
            ));
            if let (ProjectKind::Equity, Some(shares), Some(price)) =
                (project.kind, pledge.shares, project.price_per_share)
            {
                let mut parties = Vec::new();
                let holder = NewEntry::commit_party(&mut parties, pledge.backer);
                let mut entry = NewEntry::new(
                    EntryKind::SharesIssued,
                    object(json!({
                        "project": project.id.to_string(),
                        "pledge": pledge.id.to_string(),
                        "shares": shares,
                        "price_per_share": money::amount::fixed(price),
                        "holder": holder,
                        "at": at,
                    })),
                );
                entry.parties = parties;
                entries.push(entry);
                records.push(Record::pledge(project.id, pledge, EntryKind::SharesIssued));
            }
        }
        let appended = self.ledger.append(conn, &entries).await?;
        record_transactions(conn, &records, &appended.tx_hashes).await?;
        if project.kind == ProjectKind::Equity {
            issue_shares(conn, project, pledges, &records, &appended.tx_hashes).await?;
        }
        Ok(())
    }

    /// Refunded pledges go back to each backer's wallet at once, each as its own journal entry.
    async fn refund(
        &self,
        conn: &mut PgConnection,
        project: &Settling,
        pledges: &[Settled],
        at: &str,
    ) -> Result<()> {
        let escrow = money::account_for(
            conn,
            AccountOwner::ProjectEscrow(project.id),
            &project.currency,
        )
        .await?;
        let mut backers: Vec<crate::ids::UserId> = pledges.iter().map(|p| p.backer).collect();
        backers.sort_unstable();
        backers.dedup();
        let wallets = batch::backer_wallets(conn, &backers, &project.currency).await?;
        let mut transfers = Vec::with_capacity(pledges.len());
        for pledge in pledges {
            let wallet = wallets.get(&pledge.backer).copied().ok_or_else(|| {
                Error::Internal(anyhow::anyhow!("no wallet for backer {}", pledge.backer))
            })?;
            transfers.push(BatchTransfer {
                from: escrow,
                to: wallet,
                amount: pledge.amount,
                reference: format!("pledge:{}", pledge.id),
                once_key: format!("settlement:refund:{}", pledge.id),
            });
        }
        let posted =
            batch::post_transfers(conn, money::EntryKind::PledgeRefunded, &transfers).await?;
        if posted != transfers.len() as u64 {
            return Err(Error::Internal(anyhow::anyhow!(
                "{} of {} refunds were already posted",
                transfers.len() as u64 - posted,
                transfers.len()
            )));
        }
        let reason = match project.outcome {
            Outcome::Refund => "project_cancelled",
            _ => "goal_missed",
        };
        let mut entries = Vec::with_capacity(pledges.len());
        let mut records = Vec::with_capacity(pledges.len());
        for pledge in pledges {
            let mut parties = Vec::new();
            let backer = NewEntry::commit_party(&mut parties, pledge.backer);
            let mut entry = NewEntry::new(
                EntryKind::PledgeRefunded,
                object(json!({
                    "project": project.id.to_string(),
                    "pledge": pledge.id.to_string(),
                    "amount": money::amount::fixed(pledge.amount),
                    "currency": project.currency,
                    "backer": backer,
                    "reason": reason,
                    "at": at,
                })),
            );
            entry.parties = parties;
            entries.push(entry);
            records.push(Record::pledge(
                project.id,
                pledge,
                EntryKind::PledgeRefunded,
            ));
        }
        let appended = self.ledger.append(conn, &entries).await?;
        record_transactions(conn, &records, &appended.tx_hashes).await
    }

    /// The last transaction: for a funded project, escrow -> founder (net) and platform fee,
    /// anchored as `payout` and `fee`, and a payout to the founder's bank queued; then the
    /// project's final state and everyone's notification.
    async fn finish(&self, conn: &mut PgConnection, project: &Settling) -> Result<ProjectSettled> {
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
                    object(json!({
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
                object(json!({
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
            .bind(project.id.0)
            .bind(project.founder.0)
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
        notify::store_many(conn, &backers, project.id, kind, &params).await?;
        notify::store_many(conn, &[project.founder], project.id, kind, &params).await?;
        Ok(ProjectSettled {
            project: project.id,
            outcome: project.outcome,
            pledges: 0,
            collected,
            fee,
        })
    }

    /// E-mails the outcome to everyone notified (after commit, outside the transaction).
    async fn announce(&self, summary: &ProjectSettled) {
        let kind = outcome_kind(summary.outcome);
        let subject = format!("Zhonglian: project {} {}", summary.project, kind);
        let body =
            format!("The project has settled: {kind}. Your receipts are on your pledges page.");
        if let Err(e) = notify::mail_all(
            &self.db,
            self.mailer.as_ref(),
            summary.project,
            kind,
            &subject,
            &body,
        )
        .await
        {
            tracing::warn!(error = %e, "could not send settlement e-mails");
        }
    }

    /// Pays queued founder payouts to their bank through the gateway: each moves the founder's
    /// wallet to the gateway once (the journal's once-key is the payout reference), however
    /// often it is retried.
    pub async fn send_pending_payouts(&self) -> Result<u64> {
        let pending: Vec<(uuid::Uuid, uuid::Uuid, Decimal, String, String)> = sqlx::query_as(
            "SELECT project_id, founder_id, amount, currency, reference FROM payouts
              WHERE state = 'pending' ORDER BY created_at LIMIT 100",
        )
        .fetch_all(&self.db)
        .await?;
        let mut sent = 0;
        for (project, founder, amount, currency, reference) in pending {
            let mut tx = self.db.begin().await?;
            if !amount.is_zero() {
                let wallet = money::account_for(
                    &mut tx,
                    AccountOwner::FounderWallet(crate::accounts::domain::UserId(founder)),
                    &currency,
                )
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
            .bind(project)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            sent += 1;
        }
        Ok(sent)
    }

    /// Runs forever: settles what is due every `interval`. Started by `serve`.
    pub async fn run(self, interval: Duration) {
        let mut tick = tokio::time::interval(interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if let Err(e) = self.settle_due(&|_| {}).await {
                tracing::error!(error = %e, "settlement pass failed; retrying");
            }
        }
    }
}

enum Step {
    /// A batch settled: how many pledges, and the last pledge id (the cursor for the next).
    Settled(u64, PledgeId),
    Finished(ProjectSettled),
    Busy,
}

fn outcome_kind(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Funded => "project_funded",
        Outcome::Failed => "project_failed",
        Outcome::Refund => "project_cancelled",
    }
}

fn now_text() -> String {
    OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .unwrap_or_else(|_| OffsetDateTime::now_utc())
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

fn object(value: serde_json::Value) -> serde_json::Map<String, serde_json::Value> {
    match value {
        serde_json::Value::Object(map) => map,
        _ => serde_json::Map::new(),
    }
}

/// What a ledger transaction of settlement is about.
struct Record {
    project: ProjectId,
    pledge: Option<PledgeId>,
    kind: EntryKind,
    amount: Option<Decimal>,
}

impl Record {
    fn pledge(project: ProjectId, pledge: &Settled, kind: EntryKind) -> Self {
        Self {
            project,
            pledge: Some(pledge.id),
            kind,
            amount: Some(pledge.amount),
        }
    }

    fn project(project: ProjectId, kind: EntryKind, amount: Decimal) -> Self {
        Self {
            project,
            pledge: None,
            kind,
            amount: Some(amount),
        }
    }
}

async fn record_transactions(
    conn: &mut PgConnection,
    records: &[Record],
    tx_hashes: &[Hash],
) -> Result<()> {
    let hashes: Vec<Vec<u8>> = tx_hashes.iter().map(|h| h.to_vec()).collect();
    let projects: Vec<uuid::Uuid> = records.iter().map(|r| r.project.0).collect();
    let pledges: Vec<Option<uuid::Uuid>> = records.iter().map(|r| r.pledge.map(|p| p.0)).collect();
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

async fn issue_shares(
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
        pledge_ids.push(pledge.id.0);
        holders.push(pledge.backer.0);
        shares.push(pledge.shares.unwrap_or_default());
        hashes.push(hash.to_vec());
    }
    sqlx::query(
        "INSERT INTO share_register (pledge_id, project_id, holder_id, shares, price_per_share, tx_hash)
         SELECT p, $2, h, s, $3, t FROM unnest($1::uuid[], $4::uuid[], $5::bigint[], $6::bytea[]) AS x(p, h, s, t)",
    )
    .bind(&pledge_ids)
    .bind(project.id.0)
    .bind(price)
    .bind(&holders)
    .bind(&shares)
    .bind(&hashes)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The ledger transactions of a project's settlement, in order.
pub async fn transactions_for_project(
    db: &PgPool,
    project: ProjectId,
) -> Result<Vec<(String, String, Option<Decimal>)>> {
    let rows: Vec<(String, Vec<u8>, Option<Decimal>)> = sqlx::query_as(
        "SELECT kind, tx_hash, amount FROM settlement_transactions
          WHERE project_id = $1 ORDER BY created_at, kind LIMIT 500",
    )
    .bind(project.0)
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(kind, hash, amount)| (kind, hex::encode(hash), amount))
        .collect())
}

/// The ledger transaction that settled a pledge (collected or refunded), if it has settled.
pub async fn pledge_transaction(db: &PgPool, pledge: PledgeId) -> Result<Option<Hash>> {
    let hash: Option<Vec<u8>> = sqlx::query_scalar(
        "SELECT tx_hash FROM settlement_transactions
          WHERE pledge_id = $1 AND kind IN ('pledge_collected', 'pledge_refunded')",
    )
    .bind(pledge.0)
    .fetch_optional(db)
    .await?;
    Ok(hash.and_then(|h| h.try_into().ok()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    #[test]
    fn the_fee_rounds_half_away_from_zero_to_the_cent() {
        let d = |s| Decimal::from_str(s).unwrap();
        assert_eq!(platform_fee(d("100.10"), 500), d("5.01"));
        assert_eq!(platform_fee(d("100.00"), 500), d("5.00"));
        assert_eq!(platform_fee(d("0.10"), 500), d("0.01"));
        assert_eq!(platform_fee(d("0.09"), 500), d("0.00"));
        assert_eq!(platform_fee(d("12345.67"), 0), d("0.00"));
        assert_eq!(platform_fee(d("12345.67"), 10_000), d("12345.67"));
    }
}
