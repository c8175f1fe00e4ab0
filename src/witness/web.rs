//! The witness's HTTP interface: `POST /add-checkpoint` (C2SP tlog-witness), `GET /key` (its
//! vkey), `GET /<origin hash>/checkpoint` (the latest cosigned checkpoint, for monitors) and
//! `GET /evidence` (the requests that proved a log inconsistent).

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};

use super::{Outcome, Witness};

/// The largest request body: a checkpoint with many signatures and 63 proof lines fit easily.
pub const MAX_BODY_BYTES: usize = 256 * 1024;

/// How long one request may take before it is answered 503.
const REQUEST_SECONDS: u64 = 10;

fn text(status: StatusCode, content_type: &'static str, body: String) -> Response {
    (status, [(header::CONTENT_TYPE, content_type)], body).into_response()
}

fn plain(status: StatusCode, body: String) -> Response {
    text(status, "text/plain; charset=utf-8", body)
}

/// The routes, relative to the witness's prefix.
pub fn router(witness: Arc<Witness>) -> Router {
    Router::new()
        .route("/add-checkpoint", post(add_checkpoint))
        .route("/key", get(key))
        .route("/evidence", get(evidence))
        .route("/{origin_hash}/checkpoint", get(latest))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .fallback(|| async { plain(StatusCode::NOT_FOUND, "not found\n".into()) })
        .with_state(witness)
}

async fn add_checkpoint(State(witness): State<Arc<Witness>>, body: Bytes) -> Response {
    let Ok(body) = std::str::from_utf8(&body) else {
        return plain(StatusCode::BAD_REQUEST, "the body is not UTF-8\n".into());
    };
    let answer = tokio::time::timeout(
        Duration::from_secs(REQUEST_SECONDS),
        witness.add_checkpoint(body),
    )
    .await;
    match answer {
        Ok(Ok(Outcome::Cosigned(lines))) => {
            let body: String = lines.iter().map(|l| format!("{l}\n")).collect();
            plain(StatusCode::OK, body)
        }
        Ok(Ok(Outcome::Conflict(size))) => text(
            StatusCode::CONFLICT,
            "text/x.tlog.size",
            format!("{size}\n"),
        ),
        Ok(Ok(Outcome::BadRequest(why))) => plain(StatusCode::BAD_REQUEST, format!("{why}\n")),
        Ok(Ok(Outcome::Forbidden(why))) => plain(StatusCode::FORBIDDEN, format!("{why}\n")),
        Ok(Ok(Outcome::UnknownOrigin(origin))) => plain(
            StatusCode::NOT_FOUND,
            format!("this witness does not follow the log {origin:?}\n"),
        ),
        Ok(Ok(Outcome::Unprocessable(why))) => {
            plain(StatusCode::UNPROCESSABLE_ENTITY, format!("{why}\n"))
        }
        Ok(Err(error)) => {
            tracing::error!(%error, "the witness could not store its state");
            plain(
                StatusCode::SERVICE_UNAVAILABLE,
                "the witness cannot store its state now; try again\n".into(),
            )
        }
        Err(_) => plain(
            StatusCode::SERVICE_UNAVAILABLE,
            "the witness is busy; try again\n".into(),
        ),
    }
}

async fn key(State(witness): State<Arc<Witness>>) -> Response {
    plain(StatusCode::OK, format!("{}\n", witness.verifier_key()))
}

async fn latest(State(witness): State<Arc<Witness>>, Path(origin_hash): Path<String>) -> Response {
    match witness.latest(&origin_hash).await {
        Some(note) => plain(StatusCode::OK, note),
        None => plain(
            StatusCode::NOT_FOUND,
            "this witness has cosigned no checkpoint of that log\n".into(),
        ),
    }
}

async fn evidence(State(witness): State<Arc<Witness>>) -> Response {
    let dir = witness.dir().to_owned();
    match tokio::task::spawn_blocking(move || super::state::evidence(&dir)).await {
        Ok(Ok(kept)) => Json(kept).into_response(),
        Ok(Err(error)) => {
            tracing::error!(%error, "the witness could not read its evidence");
            plain(
                StatusCode::SERVICE_UNAVAILABLE,
                "the evidence cannot be read now\n".into(),
            )
        }
        Err(_) => plain(StatusCode::SERVICE_UNAVAILABLE, "try again\n".into()),
    }
}
