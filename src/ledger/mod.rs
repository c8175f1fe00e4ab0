//! The public Merkle ledger (RFC 9162): every settled transaction's hash, in order, with signed
//! checkpoints, proofs and receipts that anyone can check.

pub mod api;
pub mod checkpoint;
pub mod cosignatures;
pub mod entry;
pub mod merkle;
pub mod note;
pub mod pages;
pub mod policy;
pub mod receipt;
pub mod store;
pub mod tiles;
pub mod tlog_proof;
pub mod web;
pub mod witness_peers;

use secrecy::ExposeSecret;
use sqlx::PgConnection;

use crate::config::Settings;
use checkpoint::Signer;
use entry::NewEntry;
use store::{Appended, StoreError};

/// The log: its signing key and the operations that need it.
pub struct Ledger {
    signer: Signer,
}

impl Ledger {
    /// Loads the signing key from the settings, or from `ledger.key` in the data folder
    /// (created on first start).
    pub fn load(settings: &Settings) -> anyhow::Result<Self> {
        let seed = crate::config::load_or_create_secret(
            settings.ledger_key.as_ref(),
            &settings.data_dir.join("ledger.key"),
            || crate::config::random_hex(32),
        )?;
        let seed: [u8; 32] = hex::decode(seed.expose_secret().trim())
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| anyhow::anyhow!("the ledger key must be 64 hex characters"))?;
        Ok(Self::new(&settings.ledger_origin, seed))
    }

    /// A log with the given origin and key seed.
    pub fn new(origin: &str, seed: [u8; 32]) -> Self {
        Self {
            signer: Signer::new(origin, seed),
        }
    }

    /// Appends a batch inside the caller's transaction and signs the new checkpoint in it, so
    /// every committed size has its checkpoint.
    pub async fn append(
        &self,
        conn: &mut PgConnection,
        entries: &[NewEntry],
    ) -> Result<Appended, StoreError> {
        store::append(conn, entries, |size, root| self.signer.sign(size, root)).await
    }

    /// Makes sure the current head has a signed checkpoint (called at start-up).
    pub async fn ensure_checkpoint(&self, db: &sqlx::PgPool) -> Result<(), StoreError> {
        store::ensure_checkpoint(db, |size, root| self.signer.sign(size, root)).await
    }

    /// The published verifier key.
    pub fn verifier_key(&self) -> String {
        self.signer.verifier_key()
    }

    /// The origin line of the checkpoints.
    pub fn origin(&self) -> &str {
        self.signer.name()
    }
}
