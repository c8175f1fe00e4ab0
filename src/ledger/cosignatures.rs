//! Cosignatures of the log's checkpoints, stored as the witnesses returned them, and the
//! published checkpoint: the log's signed note with every cosignature of its size appended.

use sqlx::{PgConnection, PgPool};
use time::OffsetDateTime;

use super::note::{Note, SignatureLine, VerifierKey};
use super::store::StoreError;

/// Why a cosignature was not stored.
#[derive(Debug, thiserror::Error)]
pub enum CosignatureError {
    /// The line is not the witness's, or does not verify over the checkpoint.
    #[error("the cosignature does not verify: {0}")]
    Invalid(#[from] super::note::NoteError),
    /// The log never signed a checkpoint of this size.
    #[error("no checkpoint of size {0}")]
    NoCheckpoint(u64),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for CosignatureError {
    fn from(e: sqlx::Error) -> Self {
        CosignatureError::Store(StoreError::Database(e))
    }
}

/// The stored checkpoint note of `size`.
async fn note_of(conn: &mut PgConnection, size: u64) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT note FROM ledger_checkpoints WHERE size = $1")
        .bind(size as i64)
        .fetch_optional(conn)
        .await
}

/// Checks `line` as `witness`'s cosignature of the checkpoint of `size` and stores it (once;
/// a second line from the same key for the same size is ignored). Returns its timestamp.
pub async fn record(
    conn: &mut PgConnection,
    size: u64,
    witness: &VerifierKey,
    line: &SignatureLine,
) -> Result<u64, CosignatureError> {
    let note = note_of(conn, size)
        .await?
        .ok_or(CosignatureError::NoCheckpoint(size))?;
    let note = Note::parse(&note).map_err(StoreError::from_note)?;
    if !witness.owns(line) {
        return Err(super::note::NoteError::NoSignatureForKey(witness.name().to_owned()).into());
    }
    let timestamp = witness.check(&note.text, line)?.unwrap_or(0);
    let cosigned_at = OffsetDateTime::from_unix_timestamp(timestamp as i64)
        .map_err(|_| super::note::NoteError::BadSignature(witness.name().to_owned()))?;
    sqlx::query(
        "INSERT INTO ledger_cosignatures (size, witness, key_id, line, cosigned_at)
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
    )
    .bind(size as i64)
    .bind(witness.name())
    .bind(witness.id().to_vec())
    .bind(line.to_string())
    .bind(cosigned_at)
    .execute(conn)
    .await?;
    Ok(timestamp)
}

/// The checkpoint of `size` (the latest when `None`) with every stored cosignature of it
/// appended after the log's own signature, and its size.
pub async fn published(
    db: &PgPool,
    size: Option<u64>,
) -> Result<Option<(u64, String)>, StoreError> {
    let row: Option<(i64, String, Vec<String>)> = sqlx::query_as(
        "SELECT c.size, c.note,
                ARRAY(SELECT s.line FROM ledger_cosignatures s
                      WHERE s.size = c.size ORDER BY s.witness, s.key_id)
         FROM ledger_checkpoints c
         WHERE $1::bigint IS NULL OR c.size = $1
         ORDER BY c.size DESC LIMIT 1",
    )
    .bind(size.map(|s| s as i64))
    .fetch_optional(db)
    .await?;
    let Some((size, note, lines)) = row else {
        return Ok(None);
    };
    if lines.is_empty() {
        return Ok(Some((size as u64, note)));
    }
    let mut note = Note::parse(&note).map_err(StoreError::from_note)?;
    for line in &lines {
        note.add(SignatureLine::parse(line).map_err(StoreError::from_note)?);
    }
    Ok(Some((size as u64, note.to_string())))
}
