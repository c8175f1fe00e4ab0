//! What the log knows of its witnesses: the size each last cosigned and how its last attempts
//! went. The witness room's client writes it; `/ledger` shows it as lag.

use sqlx::PgPool;
use time::OffsetDateTime;

use super::note::VerifierKey;
use super::store::StoreError;

/// One witness as the log sees it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Peer {
    pub witness: String,
    pub url: String,
    /// The size it last cosigned, when known.
    pub cosigned_size: Option<i64>,
    pub cosigned_at: Option<OffsetDateTime>,
    pub last_attempt_at: Option<OffsetDateTime>,
    pub last_error: Option<String>,
    /// Attempts failed since the last cosignature.
    pub failures: i32,
}

/// Records the witnesses of the settings, and forgets those no longer named.
pub async fn register(db: &PgPool, peers: &[(String, VerifierKey)]) -> Result<(), StoreError> {
    let names: Vec<&str> = peers.iter().map(|(_, k)| k.name()).collect();
    let ids: Vec<Vec<u8>> = peers.iter().map(|(_, k)| k.id().to_vec()).collect();
    sqlx::query(
        "DELETE FROM ledger_witness_peers
         WHERE (witness, key_id) NOT IN (SELECT * FROM unnest($1::text[], $2::bytea[]))",
    )
    .bind(&names)
    .bind(&ids)
    .execute(db)
    .await?;
    for (url, key) in peers {
        sqlx::query(
            "INSERT INTO ledger_witness_peers (witness, key_id, url) VALUES ($1, $2, $3)
             ON CONFLICT (witness, key_id) DO UPDATE SET url = EXCLUDED.url",
        )
        .bind(key.name())
        .bind(key.id().to_vec())
        .bind(url)
        .execute(db)
        .await?;
    }
    Ok(())
}

/// The size `key` last cosigned, when known.
pub async fn cosigned_size(db: &PgPool, key: &VerifierKey) -> Result<Option<u64>, StoreError> {
    let size: Option<Option<i64>> = sqlx::query_scalar(
        "SELECT cosigned_size FROM ledger_witness_peers WHERE witness = $1 AND key_id = $2",
    )
    .bind(key.name())
    .bind(key.id().to_vec())
    .fetch_optional(db)
    .await?;
    Ok(size.flatten().map(|s| s as u64))
}

/// `key` cosigned the checkpoint of `size` (or said it had, answering 409): never moves back.
pub async fn cosigned(
    db: &PgPool,
    key: &VerifierKey,
    size: u64,
    fresh: bool,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE ledger_witness_peers
         SET cosigned_size = greatest(coalesce(cosigned_size, 0), $3),
             cosigned_at = CASE WHEN $4 THEN now() ELSE cosigned_at END,
             last_attempt_at = now(), last_error = NULL,
             failures = CASE WHEN $4 THEN 0 ELSE failures END
         WHERE witness = $1 AND key_id = $2",
    )
    .bind(key.name())
    .bind(key.id().to_vec())
    .bind(size as i64)
    .bind(fresh)
    .execute(db)
    .await?;
    Ok(())
}

/// An attempt at `key` failed with `error`.
pub async fn failed(db: &PgPool, key: &VerifierKey, error: &str) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE ledger_witness_peers
         SET last_attempt_at = now(), last_error = left($3, 500), failures = failures + 1
         WHERE witness = $1 AND key_id = $2",
    )
    .bind(key.name())
    .bind(key.id().to_vec())
    .bind(error)
    .execute(db)
    .await?;
    Ok(())
}

/// Every witness the log knows, by name.
pub async fn all(db: &PgPool) -> Result<Vec<Peer>, StoreError> {
    Ok(sqlx::query_as(
        "SELECT witness, url, cosigned_size, cosigned_at, last_attempt_at, last_error, failures
         FROM ledger_witness_peers ORDER BY witness, key_id",
    )
    .fetch_all(db)
    .await?)
}
