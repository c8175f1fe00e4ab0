//! The HTTP edge: redirects that stay on the site, slow and idle clients, private and bounded
//! metrics, HSTS, and NUL characters refused before they reach the database.

use std::time::{Duration, Instant};

use rand::Rng;
use secrecy::SecretString;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::{client, fresh_database, test_settings, TestApp};

const METRICS_TOKEN: &str = "metrics token for the edge tests";

/// Reads until the server closes the connection; `None` if it is still open after `limit`.
async fn read_until_closed(stream: &mut TcpStream, limit: Duration) -> Option<Vec<u8>> {
    let mut received = Vec::new();
    let closed = tokio::time::timeout(limit, async {
        let mut buffer = [0u8; 4096];
        loop {
            match stream.read(&mut buffer).await {
                Ok(0) | Err(_) => break,
                Ok(n) => received.extend_from_slice(&buffer[..n]),
            }
        }
    })
    .await;
    closed.ok().map(|()| received)
}

fn location(response: &reqwest::Response) -> String {
    response
        .headers()
        .get("location")
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

const HOSTILE_NEXTS: [&str; 10] = [
    "/\t/evil.example",
    "/\n/evil.example",
    "/\r\n/evil.example",
    "/\u{1b}/evil.example",
    "//evil.example",
    "/\\evil.example",
    "/\u{2215}evil.example",
    "/\u{FF0F}evil.example",
    "/%2F/evil.example",
    "https://evil.example",
];

#[tokio::test]
async fn a_hostile_next_after_log_in_lands_on_a_site_path() {
    let app = TestApp::spawn().await;
    let email = format!("next-{}@example.com", uuid::Uuid::new_v4().simple());
    app.signup(&email, "backer").await;

    for next in HOSTILE_NEXTS {
        let response = log_in_with_next(&app, &email, next).await;

        assert!(
            response.status().is_redirection(),
            "log-in with next {next:?} answered {}",
            response.status()
        );
        // Home, saying the log-in worked.
        assert_eq!(location(&response), "/?notice=logged_in", "next {next:?}");
    }
    // A NUL is refused before the log-in runs at all.
    let nul = log_in_with_next(&app, &email, "/\0/evil.example").await;
    assert_eq!(nul.status(), 400);
    assert_eq!(location(&nul), "");
}

/// Logs in through the form, in a browser of its own, asking to go to `next` afterwards.
async fn log_in_with_next(app: &TestApp, email: &str, next: &str) -> reqwest::Response {
    let browser = client();
    let page = browser.get(app.url("/login")).send().await.unwrap();
    let html = page.text().await.unwrap();
    let marker = "name=\"csrf\" value=\"";
    let start = html.find(marker).expect("a CSRF field") + marker.len();
    let csrf = &html[start..start + 64];
    browser
        .post(app.url("/login"))
        .form(&[
            ("csrf", csrf),
            ("email", email),
            ("password", "correct horse battery"),
            ("next", next),
        ])
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_next_with_a_line_break_is_not_a_server_error() {
    let app = TestApp::spawn().await;

    let login_page = app.get("/login?next=%0a").await;
    let switch = app.get("/lang/zh?next=/%0d%0aSet-Cookie:%20x=1").await;
    let tab = app.get("/lang/en?next=/%09/evil.example").await;

    assert_eq!(login_page.status(), 200);
    assert!(switch.status().is_redirection());
    assert_eq!(location(&switch), "/");
    assert!(!switch
        .headers()
        .get_all("set-cookie")
        .iter()
        .any(|c| c.to_str().unwrap_or_default().starts_with("x=")));
    assert_eq!(location(&tab), "/");
}

#[tokio::test]
async fn a_client_that_stops_halfway_through_its_headers_is_disconnected() {
    let app = TestApp::spawn_with(|settings| settings.header_read_timeout_seconds = 1).await;
    let address = app.address.trim_start_matches("http://").to_owned();
    let mut slow = TcpStream::connect(&address).await.unwrap();
    slow.write_all(b"GET / HTTP/1.1\r\nHost: zhonglian\r\nAccept: te")
        .await
        .unwrap();
    let started = Instant::now();

    let healthy = app.get("/healthz").await;
    let closed = read_until_closed(&mut slow, Duration::from_secs(10)).await;

    assert_eq!(healthy.status(), 200, "others are served meanwhile");
    assert!(
        closed.is_some(),
        "the half request was still open after 10 s"
    );
    assert!(started.elapsed() >= Duration::from_millis(900));
}

#[tokio::test]
async fn keep_alive_serves_several_requests_on_one_connection() {
    let app = TestApp::spawn().await;
    let address = app.address.trim_start_matches("http://").to_owned();
    let mut stream = TcpStream::connect(&address).await.unwrap();

    stream
        .write_all(
            b"GET /healthz HTTP/1.1\r\nHost: zhonglian\r\n\r\n\
              GET /healthz HTTP/1.1\r\nHost: zhonglian\r\nConnection: close\r\n\r\n",
        )
        .await
        .unwrap();
    let received = read_until_closed(&mut stream, Duration::from_secs(10))
        .await
        .expect("closed after the second answer");

    let text = String::from_utf8_lossy(&received);
    assert_eq!(text.matches("HTTP/1.1 200 OK").count(), 2, "{text}");
}

#[tokio::test]
async fn a_connection_past_the_limit_waits_until_one_is_free() {
    let app = TestApp::spawn_with(|settings| {
        settings.max_connections = 1;
        settings.header_read_timeout_seconds = 2;
    })
    .await;
    let address = app.address.trim_start_matches("http://").to_owned();
    let mut first = TcpStream::connect(&address).await.unwrap();
    first
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: zhonglian\r\n\r\n")
        .await
        .unwrap();
    let mut answer = [0u8; 12];
    first.read_exact(&mut answer).await.unwrap();
    assert_eq!(&answer, b"HTTP/1.1 200");
    let started = Instant::now();

    // The first connection now idles in keep-alive, holding the only slot until it times out.
    let second = client().get(app.url("/healthz")).send().await.unwrap();

    assert_eq!(second.status(), 200);
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "the second connection was served beside the first, past the limit of one"
    );
    assert!(read_until_closed(&mut first, Duration::from_secs(5))
        .await
        .is_some());
}

fn random_method() -> reqwest::Method {
    let mut rng = rand::thread_rng();
    let length = rng.gen_range(3..=12);
    let name: String = (0..length)
        .map(|_| rng.gen_range(b'A'..=b'Z') as char)
        .collect();
    reqwest::Method::from_bytes(name.as_bytes()).expect("a token")
}

#[tokio::test]
async fn a_thousand_random_methods_leave_metrics_under_64_kb() {
    let app = TestApp::spawn_with(|settings| {
        settings.metrics_token = Some(SecretString::from(METRICS_TOKEN.to_owned()));
    })
    .await;
    let paths = ["/", "/projects", "/api/v1/projects", "/healthz", "/nowhere"];

    for i in 0..1_000 {
        let path = paths[i % paths.len()];
        let response = app
            .client
            .request(random_method(), app.url(path))
            .send()
            .await
            .unwrap();
        assert!(!response.status().is_server_error());
    }
    let metrics = app
        .client
        .get(app.url("/metrics"))
        .bearer_auth(METRICS_TOKEN)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();

    assert!(
        metrics.len() < 64 * 1024,
        "/metrics is {} bytes",
        metrics.len()
    );
    assert!(metrics.contains("method=\"other\""));
    assert!(metrics.contains("route=\"unmatched\""));
}

#[tokio::test]
async fn metrics_are_not_served_to_the_public() {
    let closed = TestApp::spawn().await;
    let (_, db) = fresh_database().await;
    let data_dir = std::env::temp_dir().join(format!("zl-edge-{}", uuid::Uuid::new_v4().simple()));
    let mut settings = test_settings(data_dir);
    settings.metrics_token = Some(SecretString::from(METRICS_TOKEN.to_owned()));
    settings.metrics_bind = Some(std::net::SocketAddr::from(([127, 0, 0, 1], 0)));
    let app = zhonglian::Application::build(settings, db).await.unwrap();
    let main = format!("http://{}", app.local_addr().unwrap());
    let private = format!(
        "http://{}",
        app.metrics_addr().expect("a metrics listener").unwrap()
    );
    tokio::spawn(app.run(std::future::pending()));
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();

    let unconfigured = http.get(closed.url("/metrics")).send().await.unwrap();
    let anonymous = http.get(format!("{main}/metrics")).send().await.unwrap();
    let wrong = http
        .get(format!("{main}/metrics"))
        .bearer_auth("not the token")
        .send()
        .await
        .unwrap();
    let right = http
        .get(format!("{main}/metrics"))
        .bearer_auth(METRICS_TOKEN)
        .send()
        .await
        .unwrap();
    let listener = http.get(format!("{private}/metrics")).send().await.unwrap();
    let listener_elsewhere = http.get(format!("{private}/")).send().await.unwrap();

    assert_eq!(unconfigured.status(), 404);
    assert_eq!(anonymous.status(), 404);
    assert_eq!(wrong.status(), 404);
    assert_eq!(right.status(), 200);
    assert!(right
        .text()
        .await
        .unwrap()
        .contains("zhonglian_http_requests_total"));
    assert_eq!(listener.status(), 200);
    assert!(listener
        .text()
        .await
        .unwrap()
        .contains("zhonglian_http_requests_total"));
    assert_eq!(listener_elsewhere.status(), 404);
}

const HSTS: &str = "max-age=31536000; includeSubDomains";

#[tokio::test]
async fn an_https_site_sends_strict_transport_security_on_every_response() {
    let app = TestApp::spawn_with(|settings| {
        settings.public_url = "https://zhonglian.example".into();
    })
    .await;

    for path in ["/", "/api/v1/projects", "/nowhere", "/api/v1/nowhere"] {
        let response = app.get(path).await;
        assert_eq!(
            response
                .headers()
                .get("strict-transport-security")
                .map(|v| v.to_str().unwrap().to_owned()),
            Some(HSTS.to_owned()),
            "{path}"
        );
    }
}

#[tokio::test]
async fn a_plain_http_site_never_sends_strict_transport_security() {
    let app = TestApp::spawn().await;

    for path in ["/", "/api/v1/projects", "/nowhere"] {
        let response = app.get(path).await;
        assert!(
            !response.headers().contains_key("strict-transport-security"),
            "{path}"
        );
    }
}

#[tokio::test]
async fn a_nul_in_any_path_or_query_is_refused_before_the_database() {
    let app = TestApp::spawn().await;
    let token = app.login_as_backer().await;
    let cases: &[(&str, u16)] = &[
        ("/projects/%00", 404),
        ("/projects/a%00b/cover", 404),
        ("/projects/%00/pledge", 404),
        ("/founder/projects/%00", 404),
        ("/me/pledges/%00/receipt", 404),
        ("/lang/%00", 404),
        ("/static/%00", 404),
        ("/api/v1/projects/%00", 404),
        ("/api/v1/projects/%00/settlement", 404),
        ("/api/v1/projects/%00/pledges", 404),
        ("/api/v1/pledges/%00", 404),
        ("/api/v1/pledges/%00/receipt", 404),
        ("/api/v1/founder/projects/%00/backers", 404),
        ("/api/v1/founder/projects/%00/pledges.svg", 404),
        ("/api/v1/ledger/entries/%00", 404),
        ("/api/v1/ledger/receipts/%00", 404),
        ("/projects?q=%00", 400),
        ("/projects?q=solar&category=%00", 400),
        ("/login?next=%00", 400),
        ("/api/v1/projects?q=a%00b", 400),
        ("/api/v1/projects?status=%00", 400),
        ("/api/v1/ledger/leaves?start=%00", 400),
        ("/api/v1/ledger/proof/inclusion?hash=%00&tree_size=1", 400),
        ("/api/v1/me/pledges?cursor=%00", 400),
    ];

    for &(path, expected) in cases {
        for bearer in [None, Some(token.as_str())] {
            let mut request = client().get(app.url(path));
            if let Some(token) = bearer {
                request = request.bearer_auth(token);
            }
            let status = request.send().await.unwrap().status().as_u16();
            assert_eq!(
                status,
                expected,
                "GET {path} (signed in: {})",
                bearer.is_some()
            );
        }
    }
}

#[tokio::test]
async fn a_nul_in_a_json_or_form_body_is_refused_before_the_database() {
    let app = TestApp::spawn().await;
    let token = app.login_as_founder().await;
    let csrf = app.csrf_from("/login").await;

    let signup = app
        .client
        .post(app.url("/api/v1/auth/signup"))
        .json(&serde_json::json!({
            "email": "nul\u{0}@example.com", "password": "correct horse battery",
            "display_name": "Nul", "role": "backer"
        }))
        .send()
        .await
        .unwrap();
    let project = app
        .api(reqwest::Method::POST, "/api/v1/projects", &token)
        .json(&serde_json::json!({"title": "Solar\u{0}lamp", "story": "x\u{0}y"}))
        .send()
        .await
        .unwrap();
    let escaped_backslash = app
        .client
        .post(app.url("/api/v1/auth/login"))
        .header("content-type", "application/json")
        .body(r#"{"email":"a\\u0000@example.com","password":"x"}"#)
        .send()
        .await
        .unwrap();
    let form = app
        .client
        .post(app.url("/login"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("email", "nul\0@example.com"),
            ("password", "correct horse battery"),
        ])
        .send()
        .await
        .unwrap();

    assert_eq!(signup.status(), 422);
    let problem: serde_json::Value = signup.json().await.unwrap();
    assert!(problem["detail"].as_str().unwrap().contains("NUL"));
    assert_eq!(project.status(), 422);
    assert!(!escaped_backslash.status().is_server_error());
    let answer = escaped_backslash.text().await.unwrap();
    assert!(
        !answer.contains("NUL"),
        "an escaped backslash is ordinary text: {answer}"
    );
    assert_eq!(form.status(), 400);
}
