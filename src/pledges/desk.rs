//! The pledge desk: new pledges for one project are made in batches, one transaction per batch.
//!
//! Every pledge for a project writes the same rows: its escrow account, its totals and, often, one
//! tier. Made in separate transactions, each pledge holds those rows from its first write until
//! its commit is on disk, round trips between its statements included, and every other pledge
//! for the project queues behind it: one project in demand made about 200 pledges/s.
//!
//! The desk takes the requests waiting for a project and makes them one after another in one
//! transaction, each inside a savepoint, so a refused pledge (sold out, not enough money) undoes
//! only itself; then it commits once. No pledge waits on another's row lock, one WAL flush covers
//! the batch, and every answer is still given only after the commit that makes its pledge durable.
//! Different projects are served concurrently; a lone request is made exactly as before, without
//! savepoints.
//!
//! The desk is bounded ([`Bounds`]): past `queue` requests waiting for one project, a new one is
//! refused at once (503, `Retry-After`), and no requester waits longer than `wait`. A requester
//! that gave up while its request was still waiting is dropped from the queue and its pledge is
//! never made; one whose request was already inside a transaction is answered 503 while that
//! transaction commits whole or not at all. Either way a 2xx still means committed, and a retry
//! with the same `Idempotency-Key` finds the pledge if it was made (and a backer has at most one
//! active pledge per project, key or not), so giving up never makes a second pledge.

use std::collections::hash_map::Entry;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use sqlx::{PgConnection, PgPool};
use tokio::sync::oneshot;
use uuid::Uuid;

use super::create::create_in;
use super::limits::InvestorLimitRule;
use super::request::{replay, Created, PledgeRequest, RequestKey};
use super::tx::{busy_if_deadlock, commit, is_deadlock, DEADLOCK_RETRIES};
use super::{Pledge, PledgeId};
use crate::error::{Error, Result};
use crate::ids::{ProjectId, UserId};

/// Most pledges in one transaction. Each savepoint that writes takes a subtransaction id, and
/// PostgreSQL keeps up to 64 per backend in shared memory before others' snapshots get slower.
const MAX_BATCH: usize = 32;

/// How much the desk takes on.
#[derive(Debug, Clone, Copy)]
pub struct Bounds {
    /// Most requests waiting for one project (not counting the batch being made).
    pub queue: usize,
    /// Longest a requester waits for its answer.
    pub wait: Duration,
}

/// Makes pledges; shared by every request of the process.
pub struct Desk {
    db: PgPool,
    rule: InvestorLimitRule,
    bounds: Bounds,
    /// Requests waiting, per project. A project has an entry exactly while a task serves it.
    queues: Mutex<HashMap<ProjectId, Vec<Job>>>,
}

struct Job {
    backer: UserId,
    request: PledgeRequest,
    key: Option<RequestKey>,
    reply: oneshot::Sender<Result<Created>>,
}

/// What one request came to inside the transaction.
enum Made {
    Pledge(Pledge),
    /// The key was already claimed: after the commit, answer with the pledge it made.
    Replay,
}

impl Desk {
    /// A desk making pledges in `db`, holding equity investors to `rule`, within `bounds`.
    pub fn new(db: PgPool, rule: InvestorLimitRule, bounds: Bounds) -> Arc<Self> {
        assert!(
            bounds.queue > 0,
            "a pledge queue must hold at least one request"
        );
        Arc::new(Self {
            db,
            rule,
            bounds,
            queues: Mutex::default(),
        })
    }

    /// Makes a pledge (or returns the one `key` already made). On success the pledge, the money
    /// moved from the backer's wallet to the project's escrow, the claimed tier unit or shares
    /// and the project's totals are committed together; on any error nothing is. A 503
    /// ([`Error::Unavailable`]) when too many requests wait for the project, or when no answer
    /// came within the wait bound (see the module's documentation for what that means).
    pub async fn create(
        self: &Arc<Self>,
        backer: UserId,
        project: ProjectId,
        request: &PledgeRequest,
        key: Option<&RequestKey>,
    ) -> Result<Created> {
        let (reply, answer) = oneshot::channel();
        let job = Job {
            backer,
            request: request.clone(),
            key: key.cloned(),
            reply,
        };
        let first = match self.lock().entry(project) {
            Entry::Occupied(mut waiting) => {
                if waiting.get().len() >= self.bounds.queue {
                    tracing::warn!(%project, limit = self.bounds.queue, "pledge queue full");
                    return Err(Error::Unavailable);
                }
                waiting.get_mut().push(job);
                false
            }
            Entry::Vacant(free) => {
                free.insert(vec![job]);
                true
            }
        };
        if first {
            tokio::spawn(self.clone().serve(project));
        }
        match tokio::time::timeout(self.bounds.wait, answer).await {
            Ok(reply) => reply.map_err(|_| {
                Error::Internal(anyhow::anyhow!("the pledge desk dropped a request"))
            })?,
            // Dropping `answer` closes the reply channel: a request still waiting is skipped.
            Err(_) => {
                tracing::warn!(%project, wait = ?self.bounds.wait, "pledge request timed out");
                Err(Error::Unavailable)
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<ProjectId, Vec<Job>>> {
        self.queues.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Serves `project` until nobody waits for it.
    async fn serve(self: Arc<Self>, project: ProjectId) {
        let _leave = Leave {
            desk: &self,
            project,
        };
        loop {
            let jobs: Vec<Job> = {
                let mut queues = self.lock();
                let Some(queue) = queues.get_mut(&project) else {
                    return;
                };
                // Requesters who gave up while waiting are not served: their pledges are never made.
                queue.retain(|job| !job.reply.is_closed());
                if queue.is_empty() {
                    queues.remove(&project);
                    return;
                }
                let n = queue.len().min(MAX_BATCH);
                queue.drain(..n).collect()
            };
            self.run(project, jobs).await;
        }
    }

    /// Makes `jobs` and answers each of them.
    async fn run(&self, project: ProjectId, jobs: Vec<Job>) {
        let mut attempt = 0;
        let outcomes = loop {
            let outcome = if jobs.len() == 1 {
                self.alone(project, &jobs[0]).await.map(|made| vec![made])
            } else {
                self.batch(project, &jobs).await
            };
            match outcome {
                Err(e) if is_deadlock(&e) && attempt < DEADLOCK_RETRIES => {
                    attempt += 1;
                    tracing::warn!(attempt, "pledge transaction deadlocked; retrying");
                }
                Ok(outcomes) => break outcomes,
                Err(e) if jobs.len() == 1 => break vec![Err(busy_if_deadlock(e))],
                Err(e) => {
                    tracing::error!(error = %e, pledges = jobs.len(), "pledge batch failed");
                    // Every request of the batch is told the same: come back (a deadlock or a
                    // database that is away), or a failure that has been logged.
                    let busy = is_deadlock(&e) || e.is_database_away();
                    break jobs
                        .iter()
                        .map(|_| {
                            Err(if busy {
                                Error::Unavailable
                            } else {
                                Error::Internal(anyhow::anyhow!("the pledge batch failed: {e}"))
                            })
                        })
                        .collect();
                }
            }
        };
        for (job, outcome) in jobs.into_iter().zip(outcomes) {
            let answer = match outcome {
                Ok(Made::Pledge(pledge)) => Ok(Created {
                    pledge,
                    replayed: false,
                }),
                Ok(Made::Replay) => match &job.key {
                    Some(key) => {
                        replay(&self.db, job.backer, key, &job.request.digest(project)).await
                    }
                    None => Err(Error::Internal(anyhow::anyhow!("replay without a key"))),
                },
                Err(e) => Err(e),
            };
            // The requester may have gone (a closed connection); the pledge stands either way.
            let _ = job.reply.send(answer);
        }
    }

    /// One request in a transaction of its own. A refusal rolls the transaction back.
    async fn alone(&self, project: ProjectId, job: &Job) -> Result<Result<Made>> {
        let mut tx = self.db.begin().await?;
        match make(&mut tx, &self.rule, project, job).await {
            Ok(made) => {
                commit(tx).await?;
                Ok(Ok(made))
            }
            Err(e) if is_deadlock(&e) => Err(e),
            Err(e) => Ok(Err(e)),
        }
    }

    /// Several requests in one transaction, each in a savepoint. Errors of the transaction as a
    /// whole (a deadlock, a failed commit, a lost connection) fail the batch.
    async fn batch(&self, project: ProjectId, jobs: &[Job]) -> Result<Vec<Result<Made>>> {
        let mut tx = self.db.begin().await?;
        let mut outcomes = Vec::with_capacity(jobs.len());
        for job in jobs {
            sqlx::query("SAVEPOINT pledge").execute(&mut *tx).await?;
            match make(&mut tx, &self.rule, project, job).await {
                Ok(made) => {
                    sqlx::query("RELEASE SAVEPOINT pledge")
                        .execute(&mut *tx)
                        .await?;
                    outcomes.push(Ok(made));
                }
                Err(e) if is_deadlock(&e) => return Err(e),
                Err(e) => {
                    sqlx::query("ROLLBACK TO SAVEPOINT pledge")
                        .execute(&mut *tx)
                        .await?;
                    sqlx::query("RELEASE SAVEPOINT pledge")
                        .execute(&mut *tx)
                        .await?;
                    outcomes.push(Err(e));
                }
            }
        }
        commit(tx).await?;
        Ok(outcomes)
    }
}

/// Claims the request's key (if any) and makes its pledge, in the caller's transaction.
async fn make(
    conn: &mut PgConnection,
    rule: &InvestorLimitRule,
    project: ProjectId,
    job: &Job,
) -> Result<Made> {
    let pledge_id = PledgeId(Uuid::new_v4());
    if let Some(key) = &job.key {
        // A concurrent twin in another transaction waits here until that commits (then this
        // finds its pledge) or rolls back (then this makes its own).
        let claimed = sqlx::query(
            "INSERT INTO pledge_request_keys (user_id, key, request_hash, pledge_id)
             VALUES ($1, $2, $3, $4) ON CONFLICT (user_id, key) DO NOTHING",
        )
        .bind(job.backer)
        .bind(key.as_str())
        .bind(job.request.digest(project))
        .bind(pledge_id)
        .execute(&mut *conn)
        .await?;
        if claimed.rows_affected() == 0 {
            return Ok(Made::Replay);
        }
    }
    create_in(conn, rule, pledge_id, job.backer, project, &job.request)
        .await
        .map(Made::Pledge)
}

/// Removes a project's queue if its task ends by panicking, so its waiting requests get an
/// error (their reply channels close) and the next request starts a new task.
struct Leave<'a> {
    desk: &'a Desk,
    project: ProjectId,
}

impl Drop for Leave<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.desk.lock().remove(&self.project);
        }
    }
}
