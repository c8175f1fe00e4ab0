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
mod fee;
mod finish;
pub mod pages;
mod payouts;
mod records;

use std::sync::Arc;
use std::time::Duration;

use rust_decimal::Decimal;
use serde_json::json;
use sqlx::{PgConnection, PgPool};

use crate::config::Settings;
use crate::error::{Error, Result};
use crate::ledger::entry::{fields, now_text, EntryKind, NewEntry};
use crate::ledger::Ledger;
use crate::money::batch::{self, BatchTransfer};
use crate::money::{self, AccountOwner};
use crate::pledges::settle::{self as pledge_settle, Settled};
use crate::pledges::{PledgeId, PledgeState};
use crate::projects::settling::{self, Outcome, Settling};
use crate::projects::{ProjectId, ProjectKind};
pub use fee::platform_fee;
use records::{issue_shares, record_transactions, Record};
pub use records::{pledge_transaction, transactions_for_project, SettledTransaction};

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

/// What a [`Settler`] runs on: the database, the ledger it appends to, the platform fee and how
/// many pledges go in one transaction. Taken explicitly, so settlement knows nothing of the
/// server's state.
#[derive(Clone)]
pub struct Deps {
    pub db: PgPool,
    pub ledger: Arc<Ledger>,
    /// The platform fee, in basis points of what a funded project collected.
    pub fee_bps: u32,
    /// Pledges settled per transaction (at least 1).
    pub batch_size: i64,
}

impl Deps {
    /// The parts, with the fee and batch size of `settings`.
    pub fn new(db: PgPool, ledger: Arc<Ledger>, settings: &Settings) -> Self {
        Self {
            db,
            ledger,
            fee_bps: settings.platform_fee_bps,
            batch_size: settings.settlement_batch_size,
        }
    }
}

/// Settles projects; cheap to clone.
#[derive(Clone)]
pub struct Settler {
    db: PgPool,
    ledger: Arc<Ledger>,
    fee_bps: u32,
    batch_size: i64,
}

impl Settler {
    /// A settler over explicit parts (the server builds them from its state, see `app.rs`).
    pub fn new(deps: impl Into<Deps>) -> Self {
        let Deps {
            db,
            ledger,
            fee_bps,
            batch_size,
        } = deps.into();
        Self {
            db,
            ledger,
            fee_bps,
            batch_size: batch_size.max(1),
        }
    }

    /// A settler over a database, a ledger and the fee and batch size of `settings` (the
    /// `settle` command, which has no server state).
    pub fn from_parts(db: PgPool, ledger: Arc<Ledger>, settings: &Settings) -> Self {
        Self::new(Deps::new(db, ledger, settings))
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

    /// One batch of `id`'s pledges after the cursor, or the last transaction when none is left.
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
        let Some(last) = pledges.last().map(|p| p.id) else {
            let summary = self.finish(&mut tx, &project).await?;
            tx.commit().await?;
            return Ok(Step::Finished(summary));
        };
        let at = now_text();
        match project.outcome {
            Outcome::Funded => self.collect(&mut tx, &project, &pledges, &at).await?,
            Outcome::Failed | Outcome::Refund => {
                self.refund(&mut tx, &project, &pledges, &at).await?;
            }
        }
        tx.commit().await?;
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
                fields(json!({
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
                    fields(json!({
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
                fields(json!({
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
