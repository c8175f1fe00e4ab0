//! Password hashing with argon2id, off the async runtime, a bounded number at a time.

use std::sync::{Arc, LazyLock};
use std::time::Duration;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use tokio::sync::Semaphore;

use super::domain::Password;
use crate::error::Error;

fn argon2() -> Argon2<'static> {
    // OWASP's argon2id baseline: 19 MiB, 2 passes, 1 lane.
    let params = Params::new(19_456, 2, 1, None).expect("valid argon2 parameters");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// A hash verified when the account does not exist, so timing does not reveal which emails
/// have accounts.
static DUMMY_HASH: LazyLock<String> =
    LazyLock::new(|| hash_blocking("not a real password, only for timing"));

/// How long a hash may wait for a free core before the request is refused with a 503.
pub const HASH_WAIT: Duration = Duration::from_secs(20);

/// Admits at most `permits` blocking jobs at once; a job that cannot start within `wait` is
/// refused rather than queued without end.
pub struct Gate {
    permits: Arc<Semaphore>,
    wait: Duration,
}

/// The gate was full for the whole wait.
#[derive(Debug, PartialEq, Eq)]
pub struct Busy;

impl Gate {
    /// A gate with `permits` places (at least one) and the given wait.
    pub fn new(permits: usize, wait: Duration) -> Self {
        Self {
            permits: Arc::new(Semaphore::new(permits.max(1))),
            wait,
        }
    }

    /// Runs `job` on the blocking pool once a place is free, holding the place until the job
    /// ends, even when this future is dropped before it does.
    pub async fn run<T: Send + 'static>(
        &self,
        job: impl FnOnce() -> T + Send + 'static,
    ) -> Result<anyhow::Result<T>, Busy> {
        let acquire = self.permits.clone().acquire_owned();
        let Ok(Ok(permit)) = tokio::time::timeout(self.wait, acquire).await else {
            return Err(Busy);
        };
        // A blocking job cannot be stopped: when the request is cancelled (its client hung up),
        // the hash runs on, so the place goes with the job and not with this future.
        let result = tokio::task::spawn_blocking(move || {
            let _place = permit;
            job()
        })
        .await;
        Ok(result.map_err(anyhow::Error::from))
    }
}

/// Each argon2 hash holds 19 MiB and a core for its whole run, so no more run at once than there
/// are cores: forty parallel sign-ups then cost four hashes' memory, not forty.
static GATE: LazyLock<Gate> = LazyLock::new(|| {
    let cores = std::thread::available_parallelism().map_or(2, std::num::NonZero::get);
    Gate::new(cores, HASH_WAIT)
});

async fn gated<T: Send + 'static>(job: impl FnOnce() -> T + Send + 'static) -> Result<T, Error> {
    match GATE.run(job).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(e)) => Err(Error::Internal(e)),
        Err(Busy) => {
            tracing::warn!("password hashing is saturated; refusing a request");
            Err(Error::Unavailable)
        }
    }
}

fn hash_blocking(password: &str) -> String {
    let salt = SaltString::generate(&mut rand::rngs::OsRng);
    argon2()
        .hash_password(password.as_bytes(), &salt)
        .expect("argon2 hashing with valid parameters cannot fail")
        .to_string()
}

/// Hashes a password on the blocking pool; 503 when every hashing place stays busy too long.
pub async fn hash(password: Password) -> Result<String, Error> {
    gated(move || hash_blocking(password.expose())).await
}

/// Checks `password` against `stored` (or against a dummy hash when there is no account), on the
/// blocking pool. Returns true only for a real match; 503 when every hashing place stays busy.
pub async fn verify(password: String, stored: Option<String>) -> Result<bool, Error> {
    gated(move || {
        let real = stored.is_some();
        let phc = stored.unwrap_or_else(|| DUMMY_HASH.clone());
        let Ok(parsed) = PasswordHash::new(&phc) else {
            return false;
        };
        let matches = argon2()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok();
        real && matches
    })
    .await
}

/// Computes the dummy hash now, so the first unknown-account login is not faster than the rest.
pub fn warm_up() {
    LazyLock::force(&DUMMY_HASH);
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn the_hashing_gate_never_admits_more_than_its_permits() {
        let gate = Arc::new(Gate::new(3, Duration::from_secs(30)));
        let running = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let jobs: Vec<_> = (0..24)
            .map(|_| {
                let (gate, running, most) = (gate.clone(), running.clone(), most.clone());
                tokio::spawn(async move {
                    gate.run(move || {
                        let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                        most.fetch_max(now, Ordering::SeqCst);
                        std::thread::sleep(Duration::from_millis(20));
                        running.fetch_sub(1, Ordering::SeqCst);
                    })
                    .await
                })
            })
            .collect();
        for job in jobs {
            assert!(matches!(job.await, Ok(Ok(Ok(())))), "every job ran");
        }
        assert!(most.load(Ordering::SeqCst) <= 3, "more than 3 ran at once");
        assert_eq!(most.load(Ordering::SeqCst), 3, "the permits were used");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_cancelled_job_keeps_its_place_until_it_ends() {
        let gate = Arc::new(Gate::new(1, Duration::from_millis(50)));
        let (started, has_started) = tokio::sync::oneshot::channel::<()>();
        let (release, wait) = std::sync::mpsc::channel::<()>();
        let (ended, has_ended) = tokio::sync::oneshot::channel::<()>();
        let request = {
            let gate = gate.clone();
            tokio::spawn(async move {
                gate.run(move || {
                    started.send(()).ok();
                    let _ = wait.recv_timeout(Duration::from_secs(5));
                    ended.send(()).ok();
                })
                .await
            })
        };
        has_started.await.expect("the job started");
        // The client goes away: the request's future is dropped, the hash runs on.
        request.abort();
        assert!(request.await.is_err_and(|e| e.is_cancelled()));

        assert_eq!(
            gate.permits.available_permits(),
            0,
            "the running job holds its place"
        );
        assert_eq!(
            gate.run(|| ()).await.err(),
            Some(Busy),
            "no second job starts"
        );
        release.send(()).ok();
        has_ended.await.expect("the job ended");
        assert!(
            matches!(gate.run(|| ()).await, Ok(Ok(()))),
            "the place is free once the job has ended"
        );
    }

    #[tokio::test]
    async fn a_job_that_waits_too_long_for_the_gate_is_refused() {
        let gate = Arc::new(Gate::new(1, Duration::from_millis(50)));
        let (release, wait) = std::sync::mpsc::channel::<()>();
        let holder = {
            let gate = gate.clone();
            tokio::spawn(async move {
                gate.run(move || {
                    let _ = wait.recv_timeout(Duration::from_secs(5));
                })
                .await
            })
        };
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert_eq!(gate.run(|| ()).await.err(), Some(Busy));
        release.send(()).ok();
        assert!(matches!(holder.await, Ok(Ok(Ok(())))));
    }
}
