//! The one route list: every room's pages and API, and the OpenAPI document made from the same
//! registrations (`utoipa_axum::routes!`), so an API route cannot exist undocumented. It sits
//! above every room.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{DefaultBodyLimit, FromRef, State};
use axum::handler::Handler;
use axum::http::{header, HeaderName, HeaderValue, Request, StatusCode};
use axum::middleware::{from_fn, from_fn_with_state};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use tower::ServiceBuilder;
use tower_http::compression::CompressionLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::services::ServeDir;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;
use utoipa::openapi::OpenApi;
use utoipa_axum::router::OpenApiRouter;

use crate::app::AppState;
use crate::http::{csrf, error, metrics, openapi, pages, text_guard, Web, BODY_LIMIT};
use crate::{
    accounts, community, ledger, market, money, notify, pledges, projects, settlement, supervision,
};

/// Every API route with its OpenAPI operation, and the document they make together.
pub fn api() -> (Router<AppState>, OpenApi) {
    let (router, mut document) = OpenApiRouter::with_openapi(openapi::base())
        .merge(accounts::api::routes())
        .merge(ledger::api::routes())
        .merge(projects::api::routes())
        .merge(supervision::api::routes())
        .merge(money::api::routes())
        .merge(pledges::web::api::routes())
        .merge(settlement::api::routes())
        .merge(notify::api::routes())
        .merge(community::web::comments_api::routes())
        .merge(community::api::routes())
        .merge(market::api::routes())
        .split_for_parts();
    openapi::finish(&mut document);
    (router, document)
}

/// The API's OpenAPI 3 document, as `GET /api/v1/openapi.json` serves it.
pub fn api_document() -> OpenApi {
    api().1
}

/// The whole application's routes and layers.
pub fn router(state: AppState) -> Router {
    // The web layer's own middleware takes only its part of the state.
    let web = Web::from_ref(&state);
    let pages = Router::new()
        .route("/", get(projects::pages::home))
        .route("/lang/{code}", get(pages::switch_language))
        .merge(accounts::pages::routes())
        .merge(ledger::pages::routes())
        .merge(ledger::web::routes())
        .merge(projects::pages::routes())
        .merge(supervision::pages::routes())
        .merge(money::pages::routes())
        .merge(pledges::web::routes())
        .merge(settlement::pages::routes())
        .merge(notify::pages::routes())
        .merge(community::web::comments_pages::routes())
        .merge(community::pages::routes())
        .merge(market::pages::routes())
        .layer(from_fn_with_state(web.clone(), csrf::issue_token));

    let (api, document) = api();
    let document = Arc::new(document);
    let api = api.route(
        "/api/v1/openapi.json",
        get(move || {
            let document = document.clone();
            async move { axum::Json(document) }
        }),
    );
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
    let mut base = Router::new();
    if let Some(witness) = &state.witness {
        base = base.nest_service("/witness", crate::witness::web::router(witness.clone()));
    }
    base.merge(pages)
        .merge(api)
        .route("/healthz", get(health))
        .route("/metrics", get(metrics::metrics))
        .nest_service("/static", ServeDir::new(static_dir()))
        // The fallback is outside `route_layer`, so it is observed (as `unmatched`) on its own.
        .fallback(
            (|| async { error::Error::NotFound })
                .layer(from_fn_with_state(web.clone(), metrics::track)),
        )
        .route_layer(from_fn_with_state(web.clone(), metrics::track))
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
                .layer(from_fn_with_state(web.clone(), error::render_errors))
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
async fn health(State(web): State<Web>) -> impl IntoResponse {
    let probe = tokio::time::timeout(
        Duration::from_secs(2),
        sqlx::query_scalar::<_, i32>("SELECT 1").fetch_one(&web.db),
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
