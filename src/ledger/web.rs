//! The ledger's static resources as C2SP tlog-tiles under `/ledger/tlog/`: the checkpoint with
//! its cosignatures, Merkle tiles and entry bundles (see [`super::tiles`]).

use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use super::note::VerifierKey;
use super::policy::{Policy, Witness};
use super::tiles::{self, TilePath};
use crate::app::AppState;

/// Caching of full tiles and bundles, which never change.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// Caching of the checkpoint and of partial tiles, which a larger tree replaces.
const SHORT_LIVED: &str = "public, max-age=2";

/// The routes, relative to the site.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/ledger/tlog/checkpoint", get(checkpoint))
        .route("/ledger/tlog/tile/{*path}", get(tile))
        .route("/ledger/tlog/policy", get(policy))
}

fn not_found(why: &str) -> Response {
    (
        StatusCode::NOT_FOUND,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        format!("{why}\n"),
    )
        .into_response()
}

fn unavailable() -> Response {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        [
            (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
            (header::RETRY_AFTER, "1"),
        ],
        "the ledger cannot be read now; try again\n",
    )
        .into_response()
}

/// The latest checkpoint with its witnesses' cosignatures.
async fn checkpoint(State(state): State<AppState>) -> Response {
    match super::cosignatures::published(&state.db, None).await {
        Ok(Some((_, note))) => (
            [
                (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
                (header::CACHE_CONTROL, SHORT_LIVED),
            ],
            note,
        )
            .into_response(),
        Ok(None) => not_found("the ledger has no checkpoint yet"),
        Err(error) => {
            tracing::warn!(%error, "checkpoint unavailable");
            unavailable()
        }
    }
}

/// A Merkle tile or an entry bundle.
async fn tile(State(state): State<AppState>, Path(path): Path<String>) -> Response {
    let Some(tile) = TilePath::parse(&path) else {
        return not_found("not a tile path: tile/<L>/<N>[.p/<W>] or tile/entries/<N>[.p/<W>]");
    };
    match tiles::read(&state.db, &tile).await {
        Ok(Some(body)) => {
            let caching = if tile.width.is_some() {
                SHORT_LIVED
            } else {
                IMMUTABLE
            };
            let mut response = body.into_response();
            let headers = response.headers_mut();
            headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/octet-stream"),
            );
            headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(caching));
            response
        }
        Ok(None) => not_found("the ledger's signed tree does not hold this tile"),
        Err(error) => {
            tracing::warn!(%error, ?tile, "tile unavailable");
            unavailable()
        }
    }
}

/// The recommended trust policy (C2SP tlog-policy): this log's key and every witness of
/// `LEDGER_WITNESSES`, whose cosignatures are ALL required. All, because the operator listed
/// exactly the witnesses that stand between a split view and the reader; a verifier who wants
/// a weaker or stronger quorum edits the file. A witness is named by its key's name (suffixed
/// when two keys share one), and its URL is its submission prefix, as the spec recommends.
pub fn recommended_policy(state: &AppState) -> Result<Policy, String> {
    let log = VerifierKey::parse(&state.ledger.verifier_key()).map_err(|e| e.to_string())?;
    let mut witnesses: Vec<Witness> = Vec::new();
    for peer in &state.settings.ledger_witnesses.0 {
        let key = VerifierKey::parse(&peer.key).map_err(|e| format!("{}: {e}", peer.key))?;
        let mut name = key.name().to_owned();
        let mut n = 1;
        while name == "none" || witnesses.iter().any(|w| w.name == name) {
            n += 1;
            name = format!("{}-{n}", key.name());
        }
        witnesses.push(Witness {
            name,
            key,
            url: Some(peer.url.clone()),
        });
    }
    Ok(Policy::of(log, witnesses, true))
}

/// `GET /ledger/tlog/policy`: the recommended policy, as text.
async fn policy(State(state): State<AppState>) -> Response {
    match recommended_policy(&state) {
        Ok(policy) => (
            [
                (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
                (header::CACHE_CONTROL, SHORT_LIVED),
            ],
            policy.to_string(),
        )
            .into_response(),
        Err(error) => {
            tracing::warn!(%error, "policy unavailable");
            unavailable()
        }
    }
}
