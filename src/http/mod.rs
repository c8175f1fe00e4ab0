//! The web layer: state, router, layers, extractors and the error type.

pub mod csrf;
pub mod error;
pub mod extract;
pub mod metrics;
pub mod openapi;
pub mod pages;
pub mod redirect;
pub mod serve;
pub mod text_guard;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{DefaultBodyLimit, State};
use axum::handler::Handler;
use axum::http::{header, HeaderName, HeaderValue, Request, StatusCode};
use axum::middleware::{from_fn, from_fn_with_state};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use jsonwebtoken::{DecodingKey, EncodingKey};
use sqlx::PgPool;
use tower::ServiceBuilder;
use tower_http::compression::CompressionLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::services::ServeDir;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::config::{secret_bytes, Settings};
use crate::ledger::Ledger;

/// Keys derived from the server secret, one per purpose.
pub struct Keys {
    pub jwt_encoding: EncodingKey,
    pub jwt_decoding: DecodingKey,
    pub csrf: Vec<u8>,
    /// Signs the device cookies that exempt a known browser from its account's log-in throttle.
    pub device: Vec<u8>,
}

impl Keys {
    /// Derives the session and CSRF keys from the secret (HMAC with a purpose label), so one
    /// leaked derived key does not give away the others.
    pub fn derive(secret: &secrecy::SecretString) -> Self {
        use hmac::{Hmac, Mac};
        let derive = |purpose: &str| {
            let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret_bytes(secret))
                .expect("HMAC takes any key length");
            mac.update(purpose.as_bytes());
            mac.finalize().into_bytes().to_vec()
        };
        let jwt = derive("zhonglian/jwt/v1");
        Self {
            jwt_encoding: EncodingKey::from_secret(&jwt),
            jwt_decoding: DecodingKey::from_secret(&jwt),
            csrf: derive("zhonglian/csrf/v1"),
            device: derive("zhonglian/device/v1"),
        }
    }
}

/// Everything a handler needs, cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub db: PgPool,
    pub settings: Arc<Settings>,
    pub keys: Arc<Keys>,
    pub metrics: Arc<metrics::Metrics>,
    pub ledger: Arc<Ledger>,
    /// Projects as anonymous visitors see them, by id or slug (see `projects::api::visible_detail`).
    pub public_views: Arc<crate::projects::api::PublicViews>,
    /// Makes new pledges, batching those for one project.
    pub pledge_desk: Arc<crate::pledges::Desk>,
    /// The payment gateway that funds wallets; `None` unless `PAYMENT_PROVIDER` names one.
    pub gateway: Option<Arc<crate::money::provider::SandboxProvider>>,
}

/// Largest request body accepted anywhere (uploads included).
pub const BODY_LIMIT: usize = 1024 * 1024;

/// The whole application's routes and layers.
pub fn router(state: AppState) -> Router {
    let pages = Router::new()
        .route("/", get(pages::home))
        .route("/lang/{code}", get(pages::switch_language))
        .merge(crate::accounts::pages::routes())
        .merge(crate::ledger::pages::routes())
        .merge(crate::projects::pages::routes())
        .merge(crate::supervision::pages::routes())
        .merge(crate::money::pages::routes())
        .merge(crate::pledges::pages::routes())
        .merge(crate::settlement::pages::routes())
        .layer(from_fn_with_state(state.clone(), csrf::issue_token));

    let api = Router::new()
        .merge(crate::accounts::api::routes())
        .merge(crate::ledger::api::routes())
        .merge(crate::projects::api::routes())
        .merge(crate::supervision::api::routes())
        .merge(crate::money::api::routes())
        .merge(crate::pledges::api::routes())
        .merge(crate::pledges::founder::api_routes())
        .merge(crate::settlement::api::routes())
        .route("/openapi.json", get(openapi::document));

    let security_headers = ServiceBuilder::new()
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(
                "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                 object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
            ),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::REFERRER_POLICY,
            HeaderValue::from_static("strict-origin-when-cross-origin"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
        // `None` adds nothing: HSTS only when the site is served over https.
        .layer(SetResponseHeaderLayer::overriding(
            header::STRICT_TRANSPORT_SECURITY,
            state
                .settings
                .secure_cookies()
                .then(|| HeaderValue::from_static("max-age=31536000; includeSubDomains")),
        ));

    let request_id = HeaderName::from_static("x-request-id");
    Router::new()
        .merge(pages)
        .nest("/api/v1", api)
        .route("/healthz", get(health))
        .route("/metrics", get(metrics::metrics))
        .nest_service("/static", ServeDir::new(static_dir()))
        // The fallback is outside `route_layer`, so it is observed (as `unmatched`) on its own.
        .fallback(
            (|| async { error::Error::NotFound })
                .layer(from_fn_with_state(state.clone(), metrics::track)),
        )
        .route_layer(from_fn_with_state(state.clone(), metrics::track))
        .layer(
            ServiceBuilder::new()
                .layer(SetRequestIdLayer::new(request_id.clone(), MakeRequestUuid))
                .layer(
                    TraceLayer::new_for_http().make_span_with(|request: &Request<_>| {
                        let id = request
                            .headers()
                            .get("x-request-id")
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or("-");
                        // The path only: query strings may carry search terms or e-mail addresses.
                        tracing::info_span!("request", method = %request.method(), uri = %request.uri().path(), request_id = %id)
                    }),
                )
                .layer(PropagateRequestIdLayer::new(request_id))
                .layer(security_headers)
                .layer(CompressionLayer::new())
                .layer(TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, Duration::from_secs(30)))
                .layer(from_fn(error::render_errors))
                .layer(from_fn(text_guard::refuse_nul))
                .layer(DefaultBodyLimit::max(BODY_LIMIT)),
        )
        .with_state(state)
}

/// `static/` next to the working directory, else the one in the source tree.
fn static_dir() -> PathBuf {
    let here = PathBuf::from("static");
    if here.join("app.css").exists() {
        here
    } else {
        PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/static"))
    }
}

/// `GET /healthz`: 200 when the database answers, 503 otherwise.
async fn health(State(state): State<AppState>) -> impl IntoResponse {
    let probe = tokio::time::timeout(
        Duration::from_secs(2),
        sqlx::query_scalar::<_, i32>("SELECT 1").fetch_one(&state.db),
    )
    .await;
    let (status, database) = match probe {
        Ok(Ok(_)) => (StatusCode::OK, "ok"),
        _ => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
    };
    let overall = if status == StatusCode::OK {
        "ok"
    } else {
        "degraded"
    };
    (
        status,
        axum::Json(serde_json::json!({ "status": overall, "database": database })),
    )
}
