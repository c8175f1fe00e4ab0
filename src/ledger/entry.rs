//! Ledger entries in canonical form, and the party commitments inside them.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::merkle::Hash;
use crate::ids::UserId;

/// What a ledger entry records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EntryKind {
    PledgeCollected,
    PledgeRefunded,
    Payout,
    Fee,
    SharesIssued,
    Supervision,
    /// Shares sold in an auction, from seller to buyer at the clearing price.
    ShareTransfer,
    /// An auction's result: clearing price, volume and the root of its order book.
    AuctionCleared,
}

impl EntryKind {
    /// The stored and published name.
    pub fn as_str(self) -> &'static str {
        match self {
            EntryKind::PledgeCollected => "pledge_collected",
            EntryKind::PledgeRefunded => "pledge_refunded",
            EntryKind::Payout => "payout",
            EntryKind::Fee => "fee",
            EntryKind::SharesIssued => "shares_issued",
            EntryKind::Supervision => "supervision",
            EntryKind::ShareTransfer => "share_transfer",
            EntryKind::AuctionCleared => "auction_cleared",
        }
    }
}

/// The canonical text of an entry: keys sorted, no whitespace, UTF-8 (RFC 8785 style for the
/// strings and integers entries use; amounts are strings, so no float formatting arises).
pub fn canonical(value: &serde_json::Value) -> String {
    // serde_json's map is ordered by key (the `preserve_order` feature is off), and
    // `to_string` writes no whitespace.
    serde_json::to_string(value).expect("a JSON value always serialises")
}

/// SHA-256 of the entry text: the transaction's hash and the Merkle leaf input.
pub fn tx_hash(entry: &str) -> Hash {
    Sha256::digest(entry.as_bytes()).into()
}

/// Now, to the second, as entries write their times (RFC 3339 UTC).
pub fn now_text() -> String {
    time::OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .unwrap_or_else(|_| time::OffsetDateTime::now_utc())
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// The fields of a `json!({...})` object literal, for [`NewEntry::new`].
pub fn fields(value: serde_json::Value) -> serde_json::Map<String, serde_json::Value> {
    match value {
        serde_json::Value::Object(map) => map,
        _ => serde_json::Map::new(),
    }
}

/// A fresh random salt for one party of one entry.
pub fn new_salt() -> [u8; 32] {
    use rand::RngCore;
    let mut salt = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut salt);
    salt
}

/// SHA-256("zhonglian/party/v1" || salt || user id as hyphenated lower-case text), in hex: how a
/// party appears in a public entry.
pub fn party_commitment(salt: &[u8; 32], user: UserId) -> String {
    let mut h = Sha256::new();
    h.update(b"zhonglian/party/v1");
    h.update(salt);
    // An id prints as its uuid, hyphenated and lower-case: the bytes the commitment is over.
    h.update(user.to_string().as_bytes());
    hex::encode(h.finalize())
}

/// An entry ready to append, with the parties who may read it and their salts.
#[derive(Debug, Clone)]
pub struct NewEntry {
    pub kind: EntryKind,
    pub text: String,
    pub parties: Vec<(UserId, [u8; 32])>,
}

impl NewEntry {
    /// Builds the canonical entry; `"kind"` is added to `fields` so the text says what it is.
    pub fn new(kind: EntryKind, mut fields: serde_json::Map<String, serde_json::Value>) -> Self {
        fields.insert("kind".into(), kind.as_str().into());
        Self {
            kind,
            text: canonical(&serde_json::Value::Object(fields)),
            parties: Vec::new(),
        }
    }

    /// Adds a party: returns the commitment to put in the entry's fields before `new`.
    pub fn commit_party(parties: &mut Vec<(UserId, [u8; 32])>, user: UserId) -> String {
        let salt = new_salt();
        parties.push((user, salt));
        party_commitment(&salt, user)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_text_sorts_keys_and_has_no_whitespace() {
        let v = serde_json::json!({"b": "2.00", "a": {"z": 1, "y": "众链"}});
        assert_eq!(canonical(&v), r#"{"a":{"y":"众链","z":1},"b":"2.00"}"#);
    }

    #[test]
    fn a_commitment_depends_on_salt_and_user() {
        let u = UserId(uuid::Uuid::nil());
        let a = party_commitment(&[1; 32], u);
        assert_ne!(a, party_commitment(&[2; 32], u));
        assert_ne!(
            a,
            party_commitment(&[1; 32], UserId(uuid::Uuid::from_u128(1)))
        );
        assert_eq!(a.len(), 64);
    }

    #[test]
    fn a_commitment_is_over_the_hyphenated_lower_case_id() {
        let id = uuid::Uuid::from_u128(0x0123_4567_89ab_cdef_fedc_ba98_7654_3210);
        let mut h = Sha256::new();
        h.update(b"zhonglian/party/v1");
        h.update([3; 32]);
        h.update(b"01234567-89ab-cdef-fedc-ba9876543210");
        assert_eq!(
            party_commitment(&[3; 32], UserId(id)),
            hex::encode(h.finalize())
        );
    }
}
