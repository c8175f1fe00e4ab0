//! The sender: a worker in every server process that delivers the outbox. Several servers may
//! run one each (claims are leased with `SKIP LOCKED`). When the mail server is down it pauses
//! after the failed batch, doubling the pause up to [`MAX_PAUSE`], so an outage costs only the
//! few letters of one batch an attempt per pause, not every waiting letter.

use std::sync::Arc;
use std::time::Duration;

use sqlx::PgPool;
use tokio::task::JoinSet;

use super::mailer::{MailError, Mailer};
use super::outbox::{self, Outgoing};
use crate::error::Result;

/// Letters claimed at once, and handed to the mail server at the same time. A claim covers only
/// the letters being sent, so its lease never runs out while a slow mail server keeps the
/// letters behind them waiting (another sender would then take and send those too).
pub const BATCH: i64 = 4;

/// How long a claim holds a letter: three times the longest one SMTP conversation may take
/// ([`super::mailer::SMTP_TIMEOUT`]), and the letters of one claim are sent at the same time.
const LEASE: Duration = Duration::from_secs(60);

/// The longest pause after finding the mail server down.
pub const MAX_PAUSE: Duration = Duration::from_secs(30);

/// What one pass did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Pass {
    /// Letters the mail server took.
    pub sent: usize,
    /// Letters that failed (each waits for its next attempt, or was given up).
    pub failed: usize,
    /// Whether the mail server was found unavailable.
    pub unavailable: bool,
    /// Whether a whole batch was due (more may be waiting).
    pub full: bool,
}

/// Delivers the outbox through a mailer.
pub struct Sender {
    db: PgPool,
    mailer: Arc<dyn Mailer>,
}

impl Sender {
    pub fn new(db: PgPool, mailer: Arc<dyn Mailer>) -> Self {
        Self { db, mailer }
    }

    /// Claims one batch of due letters, oldest first, and sends them at the same time.
    pub async fn pass(&self) -> Result<Pass> {
        let letters = outbox::claim(&self.db, BATCH, LEASE).await?;
        let mut pass = Pass {
            full: letters.len() as i64 == BATCH,
            ..Pass::default()
        };
        for (letter, outcome) in self.send_all(&letters).await {
            match outcome {
                Ok(()) => {
                    outbox::delivered(&self.db, letter.id).await?;
                    pass.sent += 1;
                }
                Err(e) => {
                    let permanent = matches!(e, MailError::Permanent(_));
                    tracing::warn!(letter = letter.id, attempts = letter.attempts, error = %e, "e-mail not sent");
                    outbox::failed(&self.db, &letter, &e.to_string(), permanent).await?;
                    pass.failed += 1;
                    pass.unavailable |= !permanent;
                }
            }
        }
        Ok(pass)
    }

    /// Sends `letters` at the same time and answers each one's outcome.
    async fn send_all(&self, letters: &[Outgoing]) -> Vec<(Outgoing, Result<(), MailError>)> {
        let mut sending = JoinSet::new();
        for letter in letters {
            let (mailer, letter) = (self.mailer.clone(), letter.clone());
            sending.spawn(async move {
                let outcome = mailer.send(&letter).await;
                (letter, outcome)
            });
        }
        let mut outcomes = Vec::with_capacity(letters.len());
        while let Some(done) = sending.join_next().await {
            match done {
                Ok(outcome) => outcomes.push(outcome),
                // A panicking mailer leaves its letter claimed; the lease gives it back.
                Err(e) => tracing::error!(error = %e, "e-mail task failed"),
            }
        }
        outcomes
    }

    /// Delivers for ever: at once while batches are full, every `idle` otherwise, and with a
    /// growing pause while the mail server is unavailable.
    pub async fn run(self, idle: Duration) {
        let mut pause = idle;
        loop {
            match self.pass().await {
                Ok(pass) if pass.unavailable => {
                    pause = (pause * 2).min(MAX_PAUSE);
                    tokio::time::sleep(pause).await;
                }
                Ok(pass) => {
                    pause = idle;
                    if !pass.full {
                        tokio::time::sleep(idle).await;
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "e-mail outbox unavailable");
                    tokio::time::sleep(idle).await;
                }
            }
        }
    }
}
