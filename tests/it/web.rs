//! The web layer: health, metrics, headers, errors, languages, the OpenAPI document.

use crate::support::{assert_problem, form_field, status_and_json, Anonymous, TestApp};

#[tokio::test]
async fn health_reports_the_database() {
    let app = TestApp::spawn().await;
    let response = app.get("/healthz").await;
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body, serde_json::json!({"status": "ok", "database": "ok"}));
    assert!(
        response_has_request_id(&app).await,
        "every answer carries a request id"
    );
}

async fn response_has_request_id(app: &TestApp) -> bool {
    let r = app.get("/healthz").await;
    r.headers().contains_key("x-request-id")
}

#[tokio::test]
async fn health_is_503_when_the_database_is_gone() {
    let app = TestApp::spawn().await;
    app.db.close().await;
    let response = app.get("/healthz").await;
    assert_eq!(response.status(), 503);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["database"], "unavailable");
}

#[tokio::test]
async fn metrics_count_requests_by_route() {
    let app = TestApp::spawn_with(|settings| {
        settings.metrics_token = Some(secrecy::SecretString::from("metrics".to_owned()));
    })
    .await;
    app.get("/healthz").await;
    let text = app.html_as("/metrics", "metrics").await;
    assert!(text.contains(
        "zhonglian_http_requests_total{method=\"GET\",route=\"/healthz\",status=\"200\"} 1"
    ));
    assert!(text.contains("zhonglian_http_request_duration_seconds_bucket"));
}

#[tokio::test]
async fn pages_carry_strict_security_headers() {
    let app = TestApp::spawn().await;
    let response = app.get("/").await;
    let headers = response.headers();
    let csp = headers["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("default-src 'self'") && csp.contains("frame-ancestors 'none'"));
    assert!(!csp.contains("unsafe-inline"));
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(headers["x-frame-options"], "DENY");
    assert!(headers.contains_key("referrer-policy"));
}

#[tokio::test]
async fn unknown_paths_are_a_problem_for_the_api_and_a_page_for_people() {
    let app = TestApp::spawn().await;
    let api = app.get("/api/v1/nope").await;
    assert_eq!(api.status(), 404);
    assert_eq!(api.headers()["content-type"], "application/problem+json");
    let page = app
        .client
        .get(app.url("/nope"))
        .header("accept-language", "en")
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 404);
    assert!(page
        .text()
        .await
        .unwrap()
        .contains("There is nothing here."));
}

#[tokio::test]
async fn pages_follow_accept_language_and_the_remembered_toggle() {
    let app = TestApp::spawn().await;
    let english = app
        .client
        .get(app.url("/"))
        .header("accept-language", "en-GB,en;q=0.9")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(english.contains("<html lang=\"en\">") && english.contains("Log in"));

    let chinese = app
        .client
        .get(app.url("/"))
        .header("accept-language", "zh-CN,zh;q=0.9")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(chinese.contains("<html lang=\"zh-CN\">") && chinese.contains("登录"));

    let switched = app.get("/lang/zh?next=/ledger").await;
    assert_eq!(switched.status(), 303);
    assert_eq!(switched.headers()["location"], "/ledger");
    let remembered = app
        .client
        .get(app.url("/"))
        .header("accept-language", "en")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        remembered.contains("<html lang=\"zh-CN\">"),
        "the toggle wins over the header"
    );

    let offsite = app.get("/lang/en?next=//evil.example").await;
    assert_eq!(offsite.headers()["location"], "/", "no open redirect");
}

#[tokio::test]
async fn the_openapi_document_describes_every_api_route() {
    let app = TestApp::spawn().await;
    let (_, doc) = app.get_json("/openapi.json", &Anonymous).await;
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    for path in [
        "/api/v1/auth/signup",
        "/api/v1/auth/login",
        "/api/v1/auth/logout",
        "/api/v1/me",
        "/api/v1/ledger/checkpoint",
        "/api/v1/ledger/key",
        "/api/v1/ledger/leaves",
        "/api/v1/ledger/proof/inclusion",
        "/api/v1/ledger/proof/consistency",
        "/api/v1/ledger/entries/{tx_hash}",
        "/api/v1/ledger/receipts/{tx_hash}",
    ] {
        assert!(
            doc["paths"][path].is_object(),
            "{path} missing from the OpenAPI document"
        );
    }
}

/// The served document is the one the router is built from (`router::api_document`, split
/// from the same `routes!` registrations), so a route cannot be served undocumented.
#[tokio::test]
async fn the_served_openapi_document_is_the_routers_own() {
    let app = TestApp::spawn().await;
    let (status, served) = app.get_json("/openapi.json", &Anonymous).await;
    assert_eq!(status, 200);
    let built = serde_json::to_value(zhonglian::router::api_document()).expect("document json");
    assert!(
        served == built,
        "the served document differs from router::api_document(): paths served {:?}, built {:?}",
        served["paths"]
            .as_object()
            .map(|p| p.keys().collect::<Vec<_>>()),
        built["paths"]
            .as_object()
            .map(|p| p.keys().collect::<Vec<_>>())
    );
}

/// Every documented operation, with its path parameters filled in, reaches a handler: the
/// metrics record it under its own route template, never as `unmatched` (the fallback). Any
/// answer the handler gives (401, 404, 422) is fine: only the routing is checked.
#[tokio::test]
async fn every_documented_operation_is_routed_to_a_handler() {
    let app = TestApp::spawn_with(|settings| {
        settings.metrics_token = Some(secrecy::SecretString::from("metrics".to_owned()));
    })
    .await;
    let document = serde_json::to_value(zhonglian::router::api_document()).unwrap();
    let paths = document["paths"].as_object().expect("paths");
    let mut operations = Vec::new();
    for (template, item) in paths {
        for method in item.as_object().expect("path item").keys() {
            if ["get", "post", "put", "patch", "delete"].contains(&method.as_str()) {
                operations.push((method.to_uppercase(), template.clone()));
            }
        }
    }
    assert!(
        operations.len() >= 30,
        "only {} operations",
        operations.len()
    );
    for (method, template) in &operations {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        app.client
            .request(method, app.url(&filled_in(template)))
            .send()
            .await
            .unwrap();
    }
    let metrics = app.html_as("/metrics", "metrics").await;
    let unrouted: Vec<String> = operations
        .iter()
        .filter(|(method, template)| {
            !metrics.contains(&format!(
                "zhonglian_http_requests_total{{method=\"{method}\",route=\"{template}\","
            ))
        })
        .map(|(method, template)| format!("{method} {template}"))
        .collect();
    assert!(
        unrouted.is_empty(),
        "documented but not routed (answered by the fallback): {unrouted:#?}"
    );
}

/// A documented path with every `{parameter}` replaced by a value that routes (the handler,
/// not the router, decides what a parameter means).
fn filled_in(template: &str) -> String {
    template
        .split('/')
        .map(|part| {
            if part.starts_with('{') {
                "00000000-0000-0000-0000-000000000000"
            } else {
                part
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// An id in an API path that does not parse is no such thing: a 404 problem, like an unknown
/// one, never a 400 in plain text.
#[tokio::test]
async fn a_bad_id_in_an_api_path_is_a_not_found_problem() {
    let app = TestApp::spawn().await;
    let founder = app.login_as_founder().await;
    let backer = app.login_as_backer().await;
    let cases = [
        (reqwest::Method::GET, "/pledges/not-a-uuid/receipt", &backer),
        (
            reqwest::Method::POST,
            "/projects/not-a-uuid/submit",
            &founder,
        ),
        (reqwest::Method::PATCH, "/pledges/not-a-uuid", &backer),
        (reqwest::Method::DELETE, "/pledges/not-a-uuid", &backer),
    ];
    for (method, path, who) in cases {
        let response = app
            .request_as(method.clone(), path, who)
            .json(&serde_json::json!({}))
            .send()
            .await
            .unwrap();
        assert_eq!(
            response
                .headers()
                .get("content-type")
                .map(|v| v.to_str().unwrap()),
            Some("application/problem+json"),
            "{method} {path}"
        );
        let answer = status_and_json(response).await;
        assert_problem(&answer, 404, "not_found");
    }
}

#[tokio::test]
async fn static_files_are_served() {
    let app = TestApp::spawn().await;
    let css = app.get("/static/app.css").await;
    assert_eq!(css.status(), 200);
    assert!(css.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/css"));
    let js = app.get("/static/verify.js").await;
    assert_eq!(js.status(), 200);
}

/// The router cannot list its routes, but it can be asked path by path: a method it does not
/// serve on a path it knows answers 405 with `Allow`, the methods it does serve. For every path
/// in the served document those must be exactly the documented methods (HEAD comes with GET), so
/// a method added to a route without its `#[utoipa::path]`, or documented but not routed, fails
/// here. A whole path missing from the document is outside what this can see.
#[tokio::test]
async fn every_documented_api_path_serves_exactly_its_documented_methods() {
    let app = TestApp::spawn().await;
    let (_, doc) = app.get_json("/openapi.json", &Anonymous).await;
    let paths = doc["paths"].as_object().expect("paths");
    assert!(paths.len() >= 30, "only {} paths documented", paths.len());
    let mut mismatches = Vec::new();
    for (template, operations) in paths {
        let mut documented: Vec<String> = operations
            .as_object()
            .expect("operations")
            .keys()
            .filter(|k| k.as_str() != "parameters")
            .map(|k| k.to_uppercase())
            .collect();
        documented.sort();
        let path = filled_in(template);
        let response = app
            .client
            .request(reqwest::Method::TRACE, app.url(&path))
            .send()
            .await
            .unwrap();
        let allow = response
            .headers()
            .get("allow")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        let mut routed: Vec<String> = allow
            .split(',')
            .map(|m| m.trim().to_uppercase())
            .filter(|m| !m.is_empty() && m != "HEAD")
            .collect();
        routed.sort();
        if response.status() != 405 || routed != documented {
            mismatches.push(format!(
                "{template}: documented {documented:?}, routed {routed:?} ({})",
                response.status()
            ));
        }
    }
    assert!(mismatches.is_empty(), "{mismatches:#?}");
}

#[tokio::test]
async fn a_cover_upload_that_is_not_multipart_is_answered_with_a_problem() {
    let app = TestApp::spawn().await;
    let founder = app.login_as_founder().await;
    let id = app.create_reward_project(&founder, "Covered").await;

    let response = app
        .request_as(
            reqwest::Method::PUT,
            &format!("/projects/{id}/cover"),
            &founder,
        )
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), 400);
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json",
        "the refusal is a problem document, as the OpenAPI document says"
    );
}

#[tokio::test]
async fn an_error_page_keeps_the_signed_in_header_with_a_log_out_form_that_carries_its_token() {
    let app = TestApp::spawn().await;
    let token = app.login_as_backer().await;
    // A page first, so the browser holds its CSRF cookie as it would.
    app.html("/").await;

    let html = app.html_as("/projects/no-such-project", &token).await;

    assert!(
        html.contains("id=\"error-detail\""),
        "an error page: {html}"
    );
    assert!(html.contains("id=\"current-user\""), "signed in: {html}");
    assert!(
        form_field(&html, "csrf").len() > 16,
        "the log-out form carries a token"
    );
}
