//! Request counts and latencies in the Prometheus text format.
//!
//! Every label is bounded: the method is a standard one or `other`, the route is the matched
//! template or `unmatched`, and past [`MAX_SERIES`] new combinations are counted together, so no
//! client can grow the exposition. It is not public: it is served on its own listener
//! (`METRICS_BIND`) and, on the main listener, only with `Authorization: Bearer <METRICS_TOKEN>`.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderMap, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::error::Error;
use super::Web;

/// Most series kept; observations past it are counted under `other`/`unmatched`.
pub const MAX_SERIES: usize = 2_048;

/// Method label of the series that gather every non-standard method.
const OTHER_METHOD: &str = "other";

/// Route label of requests that matched no route (and of the overflow past [`MAX_SERIES`]).
const UNMATCHED: &str = "unmatched";

/// Upper bounds of the latency histogram, in seconds.
const BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

#[derive(Default)]
struct Series {
    count: u64,
    sum: f64,
    buckets: [u64; BUCKETS.len()],
}

/// A part of the exposition that another part of the server keeps (the witnesses' lag, say).
pub type Source = Box<dyn Fn() -> String + Send + Sync>;

/// Counters kept by the server, keyed by method, route and status, and the sources whose
/// exposition follows them.
#[derive(Default)]
pub struct Metrics {
    series: Mutex<BTreeMap<(&'static str, String, u16), Series>>,
    sources: Mutex<Vec<Source>>,
}

/// The method's label: one of the methods of RFC 9110 and PATCH, else `other`.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::OPTIONS => "OPTIONS",
        Method::CONNECT => "CONNECT",
        Method::TRACE => "TRACE",
        _ => OTHER_METHOD,
    }
}

impl Metrics {
    /// Adds a source whose text (Prometheus exposition) is appended to every scrape.
    pub fn add_source(&self, source: Source) {
        self.sources
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(source);
    }

    fn observe(&self, method: &'static str, route: &str, status: u16, seconds: f64) {
        let mut series = self
            .series
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut key = (method, route.to_owned(), status);
        if !series.contains_key(&key) && series.len() >= MAX_SERIES {
            key = (OTHER_METHOD, UNMATCHED.to_owned(), status);
        }
        let entry = series.entry(key).or_default();
        entry.count += 1;
        entry.sum += seconds;
        for (bound, bucket) in BUCKETS.iter().zip(entry.buckets.iter_mut()) {
            if seconds <= *bound {
                *bucket += 1;
            }
        }
    }

    /// The exposition text.
    pub fn render(&self) -> String {
        let series = self
            .series
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut out = String::new();
        out.push_str("# HELP zhonglian_http_requests_total HTTP requests answered.\n");
        out.push_str("# TYPE zhonglian_http_requests_total counter\n");
        for ((method, route, status), s) in series.iter() {
            let _ = writeln!(
                out,
                "zhonglian_http_requests_total{{method=\"{method}\",route=\"{route}\",status=\"{status}\"}} {}",
                s.count
            );
        }
        out.push_str("# HELP zhonglian_http_request_duration_seconds Time to answer.\n");
        out.push_str("# TYPE zhonglian_http_request_duration_seconds histogram\n");
        for ((method, route, status), s) in series.iter() {
            let labels = format!("method=\"{method}\",route=\"{route}\",status=\"{status}\"");
            for (bound, count) in BUCKETS.iter().zip(s.buckets.iter()) {
                let _ = writeln!(
                    out,
                    "zhonglian_http_request_duration_seconds_bucket{{{labels},le=\"{bound}\"}} {count}"
                );
            }
            let _ = writeln!(
                out,
                "zhonglian_http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}",
                s.count
            );
            let _ = writeln!(
                out,
                "zhonglian_http_request_duration_seconds_sum{{{labels}}} {}",
                s.sum
            );
            let _ = writeln!(
                out,
                "zhonglian_http_request_duration_seconds_count{{{labels}}} {}",
                s.count
            );
        }
        drop(series);
        for source in self
            .sources
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .iter()
        {
            out.push_str(&source());
        }
        out
    }
}

/// Middleware: observes every request under its route template (never the raw path, which
/// would let clients create unbounded series).
pub async fn track(State(web): State<Web>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = method_label(request.method());
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| UNMATCHED.into());
    let response = next.run(request).await;
    web.metrics.observe(
        method,
        &route,
        response.status().as_u16(),
        started.elapsed().as_secs_f64(),
    );
    response
}

/// `GET /metrics` on the main listener: 404 unless `METRICS_TOKEN` is set and the request
/// carries it as a bearer token, so the public cannot tell the exposition exists.
pub async fn metrics(State(web): State<Web>, headers: HeaderMap) -> Result<Response, Error> {
    let expected = web.settings.metrics_token.as_ref().ok_or(Error::NotFound)?;
    let given = super::extract::bearer(&headers).ok_or(Error::NotFound)?;
    // Comparing digests keeps the comparison constant-time in the token's length as well.
    let matches = Sha256::digest(given.as_bytes())
        .ct_eq(&Sha256::digest(crate::config::secret_bytes(expected)));
    if !bool::from(matches) {
        return Err(Error::NotFound);
    }
    Ok(exposition(&web.metrics))
}

/// The router of the metrics listener (`METRICS_BIND`): `/metrics`, and 404 for anything else.
pub fn router(web: Web) -> Router {
    Router::new()
        .route(
            "/metrics",
            get(|State(web): State<Web>| async move { exposition(&web.metrics) }),
        )
        .fallback(|| async { axum::http::StatusCode::NOT_FOUND })
        .with_state(web)
}

fn exposition(metrics: &Metrics) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        metrics.render(),
    )
        .into_response()
}
