//! The server's watch over its embedded cluster: when the postmaster dies (killed, crashed, or
//! stopped by hand), it is started again, so the site comes back by itself.

use std::time::Duration;

use super::embedded::{Cluster, EmbeddedError};

/// How often the postmaster is looked at.
pub const CHECK_EVERY: Duration = Duration::from_millis(500);

/// Restart attempts after one loss before the server gives up: with the backoff below they
/// span about ten seconds, enough for the backends of a killed postmaster to exit and for
/// the dead postmaster to be reaped (crash recovery itself happens inside one attempt).
pub const MAX_ATTEMPTS: u32 = 8;

/// Backoff between attempts: doubling from the first figure, never above the second.
const BACKOFF: (Duration, Duration) = (Duration::from_millis(250), Duration::from_secs(2));

/// The cluster could not be started again; the server should exit.
#[derive(Debug, thiserror::Error)]
#[error(
    "embedded PostgreSQL stopped and could not be started again after {attempts} attempts: {last}"
)]
pub struct GaveUp {
    attempts: u32,
    /// The last failure, on one line (`pg_ctl`'s output may span several).
    last: String,
}

/// Watches `cluster` until it cannot be brought back; only returns then. The server runs it as
/// a task and exits non-zero with the returned error.
pub async fn watch(cluster: Cluster) -> GaveUp {
    loop {
        tokio::time::sleep(CHECK_EVERY).await;
        if alive(&cluster).await {
            continue;
        }
        tracing::warn!("embedded PostgreSQL is not running; starting it again");
        if let Err(gave_up) = restart(&cluster).await {
            return gave_up;
        }
    }
}

async fn alive(cluster: &Cluster) -> bool {
    let cluster = cluster.clone();
    tokio::task::spawn_blocking(move || cluster.postmaster_alive())
        .await
        .unwrap_or(false)
}

/// Tries to start the cluster, with bounded attempts and a bounded, doubling backoff.
async fn restart(cluster: &Cluster) -> Result<(), GaveUp> {
    let mut delay = BACKOFF.0;
    let mut attempt = 0;
    loop {
        attempt += 1;
        let handle = cluster.clone();
        let outcome = tokio::task::spawn_blocking(move || handle.ensure_running())
            .await
            .unwrap_or_else(|e| Err(EmbeddedError::Io(std::io::Error::other(e))));
        match outcome {
            Ok(started) => {
                tracing::info!(attempt, started, "embedded PostgreSQL is running again");
                return Ok(());
            }
            Err(last) if attempt >= MAX_ATTEMPTS => {
                return Err(GaveUp {
                    attempts: attempt,
                    last: last.to_string().lines().collect::<Vec<_>>().join(" / "),
                })
            }
            Err(e) => {
                tracing::warn!(attempt, error = %e, "embedded PostgreSQL did not start; trying again");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(BACKOFF.1);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_backoff_is_bounded() {
        let mut delay = BACKOFF.0;
        let mut total = Duration::ZERO;
        for _ in 1..MAX_ATTEMPTS {
            total += delay;
            delay = (delay * 2).min(BACKOFF.1);
        }
        assert!(delay <= BACKOFF.1);
        assert!(total < Duration::from_secs(15), "{total:?}");
    }
}
