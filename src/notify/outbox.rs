//! The e-mail outbox: letters are written into `mail_outbox` in the transaction of whatever
//! caused them, so a letter exists exactly when its cause committed, and a mail server that is
//! down or slow never fails or slows a request. The sender ([`super::sender`]) claims due rows
//! for a lease, deletes each one the mail server has taken, and moves the others back with a
//! growing delay.

use std::time::Duration;

use sqlx::{PgConnection, PgPool};
use time::OffsetDateTime;

use super::{compose, Letter, NoticeKind};
use crate::error::Result;
use crate::i18n::Lang;
use crate::ids::UserId;

/// Attempts at one letter before it is given up (about nine hours of retries).
pub const MAX_ATTEMPTS: i32 = 20;

/// The longest wait between two attempts at one letter.
const MAX_DELAY: Duration = Duration::from_secs(3600);

/// Most characters of a mail server's answer kept with a failed letter.
const ERROR_CHARS: usize = 500;

/// Queues one letter to `to` (an address, not yet a user's: a password reset link, an e-mail
/// change to confirm).
pub async fn enqueue(conn: &mut PgConnection, to: &str, letter: &Letter) -> Result<()> {
    sqlx::query("INSERT INTO mail_outbox (to_address, subject, body) VALUES ($1, $2, $3)")
        .bind(to)
        .bind(&letter.subject)
        .bind(&letter.body)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Drops the letters still waiting for `to` (the account behind it was deleted), in the
/// caller's transaction.
pub async fn forget_address(conn: &mut PgConnection, to: &str) -> Result<u64> {
    let done = sqlx::query("DELETE FROM mail_outbox WHERE lower(to_address) = lower($1)")
        .bind(to)
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected())
}

/// Queues a notification's letter to each of `users` in their own language: one statement per
/// language, so a project with 200,000 backers is two statements. Users without an address
/// (a deleted account) get none.
pub(super) async fn enqueue_notice(
    conn: &mut PgConnection,
    users: &[UserId],
    kind: NoticeKind,
    params: &serde_json::Value,
) -> Result<()> {
    for lang in [Lang::Zh, Lang::En] {
        let letter = compose(lang, kind, params);
        sqlx::query(
            "INSERT INTO mail_outbox (to_address, subject, body)
             SELECT c.email, $2, $3 FROM mail_contacts c
              WHERE c.id = ANY($1) AND c.language = $4 AND length(c.email) >= 3
              ORDER BY c.id",
        )
        .bind(users)
        .bind(&letter.subject)
        .bind(&letter.body)
        .bind(lang.code())
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// A letter the sender has claimed.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Outgoing {
    pub id: i64,
    pub to_address: String,
    pub subject: String,
    pub body: String,
    /// Attempts so far, this one included.
    pub attempts: i32,
    pub created_at: OffsetDateTime,
}

/// Claims up to `limit` due letters, oldest first, for `lease`: no other sender takes them
/// until it runs out (so a sender that dies mid-send only delays its letters).
pub async fn claim(db: &PgPool, limit: i64, lease: Duration) -> Result<Vec<Outgoing>> {
    let rows = sqlx::query_as(
        "UPDATE mail_outbox o
            SET claimed_until = now() + make_interval(secs => $2), attempts = o.attempts + 1
           FROM (SELECT id FROM mail_outbox
                  WHERE given_up_at IS NULL AND next_attempt_at <= now()
                    AND (claimed_until IS NULL OR claimed_until < now())
                  ORDER BY next_attempt_at, id LIMIT $1
                  FOR UPDATE SKIP LOCKED) due
          WHERE o.id = due.id
      RETURNING o.id, o.to_address, o.subject, o.body, o.attempts, o.created_at",
    )
    .bind(limit)
    .bind(lease.as_secs_f64())
    .fetch_all(db)
    .await?;
    Ok(rows)
}

/// The mail server took the letter: it leaves the outbox (with the address in it).
pub async fn delivered(db: &PgPool, id: i64) -> Result<()> {
    sqlx::query("DELETE FROM mail_outbox WHERE id = $1")
        .bind(id)
        .execute(db)
        .await?;
    Ok(())
}

/// How long to wait before the attempt after `attempts` failed ones: 1 s, doubling, at most an
/// hour.
pub fn delay_after(attempts: i32) -> Duration {
    let exponent = attempts.clamp(1, 16) as u32 - 1;
    Duration::from_secs(1u64 << exponent).min(MAX_DELAY)
}

/// An attempt failed. A `permanent` failure (the mail server refused the address or the
/// letter), or the last attempt, gives the letter up; otherwise it waits [`delay_after`].
pub async fn failed(db: &PgPool, letter: &Outgoing, error: &str, permanent: bool) -> Result<()> {
    let give_up = permanent || letter.attempts >= MAX_ATTEMPTS;
    let error: String = error.chars().take(ERROR_CHARS).collect();
    sqlx::query(
        "UPDATE mail_outbox
            SET claimed_until = NULL, last_error = $2,
                next_attempt_at = now() + make_interval(secs => $3),
                given_up_at = CASE WHEN $4 THEN now() END
          WHERE id = $1",
    )
    .bind(letter.id)
    .bind(error)
    .bind(delay_after(letter.attempts).as_secs_f64())
    .bind(give_up)
    .execute(db)
    .await?;
    Ok(())
}

/// Letters waiting (not given up), and given up.
pub async fn counts(db: &PgPool) -> Result<(i64, i64)> {
    let counts = sqlx::query_as(
        "SELECT count(*) FILTER (WHERE given_up_at IS NULL), count(*) FILTER (WHERE given_up_at IS NOT NULL)
           FROM mail_outbox",
    )
    .fetch_one(db)
    .await?;
    Ok(counts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_delay_doubles_from_a_second_up_to_an_hour() {
        assert_eq!(delay_after(1), Duration::from_secs(1));
        assert_eq!(delay_after(2), Duration::from_secs(2));
        assert_eq!(delay_after(5), Duration::from_secs(16));
        assert_eq!(delay_after(12), Duration::from_secs(2048));
        assert_eq!(delay_after(13), MAX_DELAY);
        assert_eq!(delay_after(MAX_ATTEMPTS), MAX_DELAY);
    }

    #[test]
    fn the_retries_last_hours_not_days() {
        let total: Duration = (1..MAX_ATTEMPTS).map(delay_after).sum();
        assert!(total > Duration::from_secs(4 * 3600), "{total:?}");
        assert!(total < Duration::from_secs(24 * 3600), "{total:?}");
    }
}
