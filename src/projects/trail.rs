//! A project's supervision trail as its page shows it, read from the `supervision_trail` view
//! (the supervision room publishes it; this room does not import that room, which imports it).

use serde::Serialize;
use time::OffsetDateTime;

/// One recorded regulator action.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TrailEntry {
    /// `approve`, `reject`, `freeze`, `unfreeze`, `cancel`, `hide_comment` or `halt_auction`.
    pub action: String,
    /// The state the action moved the project from and to; `None` for hiding a comment.
    pub from_state: Option<String>,
    pub to_state: Option<String>,
    pub reason: String,
    pub regulator_name: String,
    /// For an approval: when the project goes live.
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub launch_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub at: OffsetDateTime,
    /// Hex SHA-256 of the ledger entry; its inclusion proof is at
    /// `/api/v1/ledger/proof/inclusion?tx_hash=...&tree_size=...`.
    pub tx_hash: String,
}
