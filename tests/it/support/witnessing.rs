//! A server whose checkpoints carry witnesses' cosignatures, without running the witnesses: the
//! two test witnesses are named in `LEDGER_WITNESSES` (at an address nobody answers), and their
//! cosignatures are stored as the log stores what a witness sends back.

use zhonglian::config::Witnesses;
use zhonglian::ledger::cosignatures;
use zhonglian::ledger::note::{KeyType, Note, NoteSigner};
use zhonglian::ledger::store;

use super::TestApp;

/// The witnesses of [`TestApp::spawn_with_witnesses`].
pub fn test_witnesses() -> [NoteSigner; 2] {
    [
        NoteSigner::new("a.witness.example", KeyType::Cosignature, [21u8; 32]),
        NoteSigner::new("b.witness.example", KeyType::Cosignature, [22u8; 32]),
    ]
}

impl TestApp {
    /// A server whose `LEDGER_WITNESSES` are the two test witnesses, with 7 entries on its
    /// ledger; nothing is cosigned until [`TestApp::cosign_latest`].
    pub async fn spawn_with_witnesses() -> TestApp {
        let peers = test_witnesses()
            .iter()
            .map(|w| format!("http://127.0.0.1:9 {}", w.verifier_key()))
            .collect::<Vec<_>>()
            .join(",");
        let app =
            TestApp::spawn_with(|s| s.ledger_witnesses = Witnesses::parse(&peers).unwrap()).await;
        let batch = crate::ledger::entries(7, "witnessed");
        let mut tx = app.db.begin().await.unwrap();
        app.state.ledger.append(&mut tx, &batch).await.unwrap();
        tx.commit().await.unwrap();
        app
    }

    /// Stores `signer`'s cosignature, timestamped now, of the latest checkpoint.
    pub async fn cosign_latest(&self, signer: &NoteSigner) {
        let (size, note) = store::latest_checkpoint(&self.db).await.unwrap().unwrap();
        let note = Note::parse(&note).unwrap();
        let now = time::OffsetDateTime::now_utc().unix_timestamp() as u64;
        let line = signer.sign(&note.text, now);
        let mut conn = self.db.acquire().await.unwrap();
        cosignatures::record(&mut conn, size, &signer.verifier_key(), &line)
            .await
            .unwrap();
    }

    /// The hex transaction hash of the leaf at `index`.
    pub async fn leaf_tx_hash(&self, index: i64) -> String {
        let tx: Vec<u8> = sqlx::query_scalar("SELECT tx_hash FROM ledger_leaves WHERE idx = $1")
            .bind(index)
            .fetch_one(&self.db)
            .await
            .unwrap();
        hex::encode(tx)
    }
}
