//! How a pledge transaction ends: committed (where the journal checks that every entry
//! balances), or tried again after PostgreSQL broke a deadlock.

use sqlx::{Postgres, Transaction};

use crate::error::{Error, Result, ResultExt};

/// The deferred trigger that refuses, at commit, a journal entry whose postings do not sum to
/// zero. Our own code never writes one, so its refusal is a fault, not a person's mistake.
const JOURNAL_BALANCED: &str = "journal_entry_balanced";

/// Commits a pledge transaction.
pub(super) async fn commit(tx: Transaction<'_, Postgres>) -> Result<()> {
    tx.commit().await.on_constraint(JOURNAL_BALANCED, |e| {
        Error::Internal(anyhow::anyhow!("unbalanced journal entry at commit: {e}"))
    })
}

/// How many times a pledge, change or cancellation is tried again after PostgreSQL broke a
/// deadlock.
pub(crate) const DEADLOCK_RETRIES: u32 = 3;

/// Whether PostgreSQL broke a deadlock by rolling this transaction back.
pub(crate) fn is_deadlock(e: &Error) -> bool {
    matches!(e, Error::Database(sqlx::Error::Database(d)) if d.code().as_deref() == Some("40P01"))
}

/// A deadlock that outlasted its retries is a busy server (503 with `Retry-After`), not a fault.
pub(crate) fn busy_if_deadlock(e: Error) -> Error {
    if is_deadlock(&e) {
        tracing::warn!("pledge transaction still deadlocked after its retries; answering busy");
        Error::Unavailable
    } else {
        e
    }
}

/// Runs a pledge transaction, again after a deadlock (another pledge, a settlement batch or
/// a regulator's action took the same rows in another order; the whole transaction rolled back,
/// so trying again is safe), at most `DEADLOCK_RETRIES` more times.
pub(super) async fn retrying_deadlocks<T, F, Fut>(mut attempt: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T>>,
{
    let mut retries = 0;
    loop {
        match attempt().await {
            Err(e) if is_deadlock(&e) && retries < DEADLOCK_RETRIES => {
                retries += 1;
                tracing::warn!(attempt = retries, "pledge transaction deadlocked; retrying");
                tokio::time::sleep(std::time::Duration::from_millis(5 << retries)).await;
            }
            outcome => return outcome.map_err(busy_if_deadlock),
        }
    }
}
