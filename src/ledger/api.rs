//! The public ledger API under `/api/v1/ledger`.

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use super::merkle::Hash;
use super::receipt::{self, Receipt};
use super::store::{self, StoreError};
use crate::accounts::domain::Role;
use crate::app::AppState;
use crate::http::error::{Error, Message, Result};
use crate::http::extract::{ApiJson, CurrentUser};

/// Most leaves returned by one call.
pub const MAX_LEAVES: u64 = 1000;

/// Routes of this room, relative to `/api/v1`.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(checkpoint))
        .routes(routes!(key))
        .routes(routes!(leaves))
        .routes(routes!(inclusion))
        .routes(routes!(consistency))
        .routes(routes!(entry))
        .routes(routes!(receipt))
        .routes(routes!(tlog_proof))
}

impl From<StoreError> for Error {
    fn from(e: StoreError) -> Self {
        crate::error::Error::from(e).into()
    }
}

fn number(params: &HashMap<String, String>, name: &str) -> Result<Option<u64>> {
    params
        .get(name)
        .map(|raw| {
            raw.parse::<u64>().map_err(|_| {
                Error::BadRequest(Message::Text(format!(
                    "`{name}` must be a whole number of 0 or more, not {raw:?}"
                )))
            })
        })
        .transpose()
}

fn required(params: &HashMap<String, String>, name: &str) -> Result<u64> {
    number(params, name)?
        .ok_or_else(|| Error::BadRequest(Message::Text(format!("`{name}` is required"))))
}

fn parse_hash(raw: &str) -> Result<Hash> {
    hex::decode(raw)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| Error::BadRequest(Message::Text("a hash is 64 hex characters".into())))
}

fn text(body: String) -> Response {
    ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], body).into_response()
}

/// The latest signed checkpoint (a C2SP signed note), with the cosignatures of its witnesses.
#[utoipa::path(get, path = "/api/v1/ledger/checkpoint", tag = "ledger",
    responses((status = 200, content_type = "text/plain", body = String)))]
pub async fn checkpoint(State(state): State<AppState>) -> Result<Response> {
    let (_, note) = super::cosignatures::published(&state.db, None)
        .await?
        .ok_or(Error::NotFound)?;
    Ok(text(note))
}

/// The verifier key, in note format.
#[utoipa::path(get, path = "/api/v1/ledger/key", tag = "ledger",
    responses((status = 200, content_type = "text/plain", body = String)))]
pub async fn key(State(state): State<AppState>) -> Response {
    text(format!("{}\n", state.ledger.verifier_key()))
}

/// One published leaf.
#[derive(Serialize, utoipa::ToSchema)]
pub struct LeafView {
    pub index: u64,
    pub tx_hash: String,
    pub leaf_hash: String,
    pub kind: String,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub appended_at: time::OffsetDateTime,
}

/// Leaves `[start, end)`, at most 1,000 per call.
#[utoipa::path(get, path = "/api/v1/ledger/leaves", tag = "ledger",
    params(("start" = u64, Query), ("end" = u64, Query, description = "at least `start`, at most `start + 1000` and the tree's size")),
    responses((status = 200, body = [LeafView]), (status = 400, description = "bad range")))]
pub async fn leaves(
    State(state): State<AppState>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<ApiJson<Vec<LeafView>>> {
    let start = required(&params, "start")?;
    let end = required(&params, "end")?;
    if end < start {
        return Err(Error::BadRequest(Message::Text(
            "`end` must not be smaller than `start`".into(),
        )));
    }
    if end - start > MAX_LEAVES {
        return Err(Error::BadRequest(Message::Text(format!(
            "at most {MAX_LEAVES} leaves per call"
        ))));
    }
    let size = store::size(&state.db).await?;
    if end > size {
        return Err(StoreError::BeyondSize {
            requested: end,
            size,
        }
        .into());
    }
    let leaves = store::leaves(&state.db, start, end).await?;
    Ok(ApiJson(
        leaves
            .into_iter()
            .map(|l| LeafView {
                index: l.index,
                tx_hash: hex::encode(l.tx_hash),
                leaf_hash: hex::encode(l.leaf_hash),
                kind: l.kind,
                appended_at: l.appended_at,
            })
            .collect(),
    ))
}

/// An inclusion proof.
#[derive(Serialize, utoipa::ToSchema)]
pub struct InclusionView {
    pub leaf_index: u64,
    pub tree_size: u64,
    pub leaf_hash: String,
    pub path: Vec<String>,
    pub root_hash: String,
}

/// Inclusion proof of a leaf (by `index` or `tx_hash`) in the tree of `tree_size` leaves.
#[utoipa::path(get, path = "/api/v1/ledger/proof/inclusion", tag = "ledger",
    params(("index" = Option<u64>, Query), ("tx_hash" = Option<String>, Query, pattern = "^[0-9a-fA-F]{64}$"), ("tree_size" = u64, Query)),
    responses((status = 200, body = InclusionView), (status = 400), (status = 404)))]
pub async fn inclusion(
    State(state): State<AppState>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<ApiJson<InclusionView>> {
    let tree_size = required(&params, "tree_size")?;
    let index = match (number(&params, "index")?, params.get("tx_hash")) {
        (Some(index), None) => index,
        (None, Some(hash)) => store::index_of(&state.db, &parse_hash(hash)?)
            .await?
            .ok_or(Error::NotFound)?,
        _ => {
            return Err(Error::BadRequest(Message::Text(
                "give either `index` or `tx_hash`".into(),
            )))
        }
    };
    let proof = store::inclusion(&state.db, index, tree_size).await?;
    Ok(ApiJson(InclusionView {
        leaf_index: proof.leaf_index,
        tree_size: proof.tree_size,
        leaf_hash: hex::encode(proof.leaf_hash),
        path: proof.path.iter().map(hex::encode).collect(),
        root_hash: hex::encode(proof.root),
    }))
}

/// A consistency proof.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ConsistencyView {
    pub first: u64,
    pub second: u64,
    pub first_root: String,
    pub second_root: String,
    pub path: Vec<String>,
}

/// Consistency proof from the tree of `first` leaves to the tree of `second` leaves.
#[utoipa::path(get, path = "/api/v1/ledger/proof/consistency", tag = "ledger",
    params(("first" = u64, Query, minimum = 1, description = "a tree of at least one leaf"), ("second" = u64, Query, description = "at least `first`, at most the tree's size")),
    responses((status = 200, body = ConsistencyView), (status = 400)))]
pub async fn consistency(
    State(state): State<AppState>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<ApiJson<ConsistencyView>> {
    let first = required(&params, "first")?;
    let second = required(&params, "second")?;
    let proof = store::consistency(&state.db, first, second).await?;
    Ok(ApiJson(ConsistencyView {
        first: proof.first,
        second: proof.second,
        first_root: hex::encode(proof.first_root),
        second_root: hex::encode(proof.second_root),
        path: proof.path.iter().map(hex::encode).collect(),
    }))
}

/// A full entry.
#[derive(Serialize, utoipa::ToSchema)]
pub struct EntryView {
    pub index: u64,
    pub tx_hash: String,
    pub kind: String,
    /// The exact canonical text that was hashed.
    pub entry: String,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub appended_at: time::OffsetDateTime,
}

/// Whether `user` may read the entry: auditors, regulators, and the entry's own parties.
async fn may_read(state: &AppState, user: &crate::accounts::AuthUser, tx: &Hash) -> Result<bool> {
    if user.user.has_role(Role::Auditor) || user.user.has_role(Role::Regulator) {
        return Ok(true);
    }
    Ok(store::party_salt(&state.db, tx, user.user.id)
        .await?
        .is_some())
}

/// The full entry, for auditors, regulators and the entry's parties.
#[utoipa::path(get, path = "/api/v1/ledger/entries/{tx_hash}", tag = "ledger",
    security(("bearer" = [])),
    params(("tx_hash" = String, Path, pattern = "^[0-9a-fA-F]{64}$", description = "64 hex characters")),
    responses((status = 200, body = EntryView), (status = 400, description = "not 64 hex characters"), (status = 401), (status = 403), (status = 404)))]
pub async fn entry(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(tx_hash): Path<String>,
) -> Result<ApiJson<EntryView>> {
    let tx = parse_hash(&tx_hash)?;
    let entry = store::entry(&state.db, &tx).await?.ok_or(Error::NotFound)?;
    if !may_read(&state, &user, &tx).await? {
        return Err(Error::Forbidden);
    }
    Ok(ApiJson(EntryView {
        index: entry.index,
        tx_hash: hex::encode(entry.tx_hash),
        kind: entry.kind,
        entry: entry.text,
        appended_at: entry.appended_at,
    }))
}

/// The receipt of a transaction against the latest checkpoint (with the party's salt for a
/// party).
#[utoipa::path(get, path = "/api/v1/ledger/receipts/{tx_hash}", tag = "ledger",
    security(("bearer" = [])),
    params(("tx_hash" = String, Path, pattern = "^[0-9a-fA-F]{64}$", description = "64 hex characters")),
    responses((status = 200, body = Receipt), (status = 400, description = "not 64 hex characters"), (status = 401), (status = 403), (status = 404)))]
pub async fn receipt(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(tx_hash): Path<String>,
) -> Result<ApiJson<Receipt>> {
    let tx = parse_hash(&tx_hash)?;
    if store::index_of(&state.db, &tx).await?.is_none() {
        return Err(Error::NotFound);
    }
    if !may_read(&state, &user, &tx).await? {
        return Err(Error::Forbidden);
    }
    let receipt = receipt::build(&state.db, &tx, Some(user.user.id))
        .await?
        .ok_or(Error::NotFound)?;
    Ok(ApiJson(receipt))
}

/// The receipt as an offline proof (`c2sp.org/tlog-proof@v1`) at the latest checkpoint with its
/// cosignatures; the entry's canonical bytes are on the `extra` line. Readable by the same people
/// as the receipt.
#[utoipa::path(get, path = "/api/v1/ledger/receipts/{tx_hash}/tlog-proof", tag = "ledger",
    security(("bearer" = [])),
    params(("tx_hash" = String, Path, pattern = "^[0-9a-fA-F]{64}$", description = "64 hex characters")),
    responses((status = 200, content_type = "text/plain", body = String, description = "a .tlog-proof file"),
        (status = 400, description = "not 64 hex characters"), (status = 401), (status = 403), (status = 404)))]
pub async fn tlog_proof(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(tx_hash): Path<String>,
) -> Result<Response> {
    let tx = parse_hash(&tx_hash)?;
    if store::index_of(&state.db, &tx).await?.is_none() {
        return Err(Error::NotFound);
    }
    if !may_read(&state, &user, &tx).await? {
        return Err(Error::Forbidden);
    }
    let proof = super::tlog_proof::build(&state.db, &tx)
        .await?
        .ok_or(Error::NotFound)?;
    let disposition = format!(
        "attachment; filename=\"zhonglian-{}.tlog-proof\"",
        hex::encode(tx)
    );
    Ok((
        [
            (header::CONTENT_TYPE, "text/plain; charset=utf-8".to_owned()),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        proof.to_string(),
    )
        .into_response())
}
