//! Receipts: everything needed to check one transaction offline against a signed checkpoint.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sqlx::PgPool;

use super::checkpoint::{Checkpoint, Verifier};
use super::merkle::{self, Hash};
use super::store::{self, StoreError};
use crate::ids::UserId;

/// A receipt, version 1.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Receipt {
    pub version: u32,
    /// The exact canonical entry text.
    pub entry: String,
    pub tx_hash: String,
    pub leaf_index: u64,
    pub tree_size: u64,
    pub inclusion_path: Vec<String>,
    pub root_hash: String,
    /// The signed checkpoint note for `tree_size`.
    pub checkpoint: String,
    /// Only in the receipt of a party to the entry: the salt of their commitment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub party_salt: Option<String>,
    /// Only with `party_salt`: the party's user id, which the commitment binds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub party_id: Option<String>,
}

/// Builds the receipt of `tx_hash` against the latest checkpoint (with its cosignatures); `reader` gets their salt when
/// they are a party to the entry.
pub async fn build(
    db: &PgPool,
    tx_hash: &Hash,
    reader: Option<UserId>,
) -> Result<Option<Receipt>, StoreError> {
    let Some(entry) = store::entry(db, tx_hash).await? else {
        return Ok(None);
    };
    // The checkpoint as published, with its witnesses' cosignatures, so a policy can check it.
    let Some((size, note)) = super::cosignatures::published(db, None).await? else {
        return Ok(None);
    };
    let proof = store::inclusion(db, entry.index, size).await?;
    let salt = match reader {
        Some(user) => store::party_salt(db, tx_hash, user)
            .await?
            .map(|s| (hex::encode(s), user.to_string())),
        None => None,
    };
    Ok(Some(Receipt {
        version: 1,
        entry: entry.text,
        tx_hash: hex::encode(tx_hash),
        leaf_index: entry.index,
        tree_size: size,
        inclusion_path: proof.path.iter().map(hex::encode).collect(),
        root_hash: hex::encode(proof.root),
        checkpoint: note,
        party_id: salt.as_ref().map(|(_, id)| id.clone()),
        party_salt: salt.map(|(s, _)| s),
    }))
}

/// One step of a receipt check.
#[derive(Debug, Clone)]
pub struct Step {
    pub name: &'static str,
    pub ok: bool,
    pub detail: String,
}

fn hash_hex(text: &str) -> Option<Hash> {
    hex::decode(text).ok()?.try_into().ok()
}

/// Checks a receipt offline, step by step. Valid only if every step holds.
pub fn verify(receipt: &Receipt, verifier: &Verifier) -> Vec<Step> {
    let mut steps = Vec::new();
    let mut push = |name, ok, detail: String| steps.push(Step { name, ok, detail });

    push(
        "version",
        receipt.version == 1,
        format!("receipt version {}", receipt.version),
    );
    let computed: Hash = Sha256::digest(receipt.entry.as_bytes()).into();
    let claimed = hash_hex(&receipt.tx_hash);
    push(
        "tx_hash",
        claimed == Some(computed),
        format!("SHA-256(entry) = {}", hex::encode(computed)),
    );
    let leaf = merkle::leaf_hash(&computed);
    let path: Option<Vec<Hash>> = receipt.inclusion_path.iter().map(|p| hash_hex(p)).collect();
    let root = hash_hex(&receipt.root_hash);
    let inclusion = match (&path, &root) {
        (Some(path), Some(root)) => {
            merkle::verify_inclusion(&leaf, receipt.leaf_index, receipt.tree_size, path, root)
                .map_err(|e| e.to_string())
        }
        _ => Err("the path or root is not 64 hex characters".into()),
    };
    push(
        "inclusion",
        inclusion.is_ok(),
        match inclusion {
            Ok(()) => format!(
                "leaf {} of {} reaches root {}",
                receipt.leaf_index, receipt.tree_size, receipt.root_hash
            ),
            Err(e) => e,
        },
    );
    match verifier.verify(&receipt.checkpoint) {
        Ok(Checkpoint {
            size,
            root: signed_root,
            origin,
        }) => {
            push(
                "signature",
                true,
                format!("checkpoint signed by {}", verifier.name()),
            );
            let matches = size == receipt.tree_size && Some(signed_root) == root;
            push(
                "checkpoint",
                matches,
                format!(
                    "{origin} signed size {size} with root {}",
                    hex::encode(signed_root)
                ),
            );
        }
        Err(e) => push("signature", false, e.to_string()),
    }
    if let (Some(salt), Some(id)) = (&receipt.party_salt, &receipt.party_id) {
        let commitment = hash_hex(salt)
            .zip(id.parse::<UserId>().ok())
            .map(|(salt, id)| super::entry::party_commitment(&salt, id));
        let found = commitment
            .as_ref()
            .is_some_and(|c| receipt.entry.contains(&format!("\"{c}\"")));
        push(
            "party",
            found,
            if found {
                format!("the entry names party {id}")
            } else {
                "the party commitment is not in the entry".into()
            },
        );
    }
    steps
}
