//! Visibility: a project that is not public (a draft, one in review, rejected, scheduled, or
//! cancelled before launch) is not found on any route that shows it or its data, except by its
//! founder.

use reqwest::Method;

use crate::support::{Backer, TestApp};
use zhonglian::projects::ProjectId;

/// What someone who may not see the project gets: 404, or (for routes that need a session) the
/// same answer as for any project when signed out, which tells nothing.
#[derive(Debug, Clone, Copy)]
enum Outsider {
    NotFound,
    SignInFirst,
}

/// Every route with a project in its path: method, path, what an anonymous visitor gets.
const ROUTES: &[(&str, &str, Outsider)] = &[
    ("GET", "/api/v1/projects/{id}", Outsider::NotFound),
    (
        "GET",
        "/api/v1/projects/{id}/settlement",
        Outsider::NotFound,
    ),
    (
        "POST",
        "/api/v1/projects/{id}/pledges",
        Outsider::SignInFirst,
    ),
    (
        "GET",
        "/api/v1/founder/projects/{id}/backers",
        Outsider::SignInFirst,
    ),
    ("GET", "/projects/{id}", Outsider::NotFound),
    ("GET", "/projects/{id}/pledge", Outsider::NotFound),
    ("POST", "/projects/{id}/pledge", Outsider::NotFound),
    ("GET", "/founder/projects/{id}", Outsider::SignInFirst),
    (
        "GET",
        "/founder/projects/{id}/backers",
        Outsider::SignInFirst,
    ),
    (
        "GET",
        "/founder/projects/{id}/backers.csv",
        Outsider::SignInFirst,
    ),
    (
        "GET",
        "/founder/projects/{id}/pledges.svg",
        Outsider::NotFound,
    ),
];

/// A hidden project of `founder` in the given state, with the given launch time (SQL).
async fn hidden_project(
    app: &TestApp,
    founder: &Backer,
    state: &str,
    launched_at: &str,
) -> ProjectId {
    let project = app
        .fixture_project("reward", "live", time::Duration::days(7))
        .await;
    sqlx::query(&format!(
        "UPDATE projects SET founder_id = $2, state = $3, launched_at = {launched_at},
                review_note = CASE WHEN $3 = 'draft' THEN 'Rejected: incomplete.' END
         WHERE id = $1"
    ))
    .bind(project.0)
    .bind(founder.id.0)
    .bind(state)
    .execute(&app.db)
    .await
    .unwrap();
    project
}

async fn status(app: &TestApp, method: &str, path: &str, token: Option<&str>) -> u16 {
    let method: Method = method.parse().unwrap();
    let mut request = app.client.request(method.clone(), app.url(path));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if method == Method::POST {
        request = if path.starts_with("/api/") {
            request.json(&serde_json::json!({"amount": "10.00"}))
        } else {
            let csrf = csrf_for(app, token).await;
            let key = uuid::Uuid::new_v4().to_string();
            request.form(&[("csrf", csrf.as_str()), ("key", &key), ("amount", "10.00")])
        };
    }
    request.send().await.unwrap().status().as_u16()
}

/// A valid CSRF token for the holder of `token` (or a visitor), from a page with a form.
async fn csrf_for(app: &TestApp, token: Option<&str>) -> String {
    let mut request = app
        .client
        .get(app.url(if token.is_some() { "/wallet" } else { "/login" }));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let html = request.send().await.unwrap().text().await.unwrap();
    let marker = "name=\"csrf\" value=\"";
    let start = html.find(marker).expect("a CSRF field") + marker.len();
    html[start..].split('"').next().unwrap().to_owned()
}

#[tokio::test]
async fn hidden_projects_are_not_found_on_any_route() {
    let app = TestApp::spawn().await;
    let founder = app.fixture_user(&["founder"]).await;
    // Another user with every role a founder's or a backer's route asks for, so that only the
    // visibility rule can refuse them.
    let other_backer = app.fixture_user(&["backer", "founder"]).await;
    let hidden = [
        ("draft", "NULL"),
        ("in_review", "NULL"),
        // (Rejected projects go back to draft with the regulator's note: the first case.)
        ("live", "now() + interval '1 day'"),
        // Approved for later, then frozen by the regulator before it opened.
        ("frozen", "now() + interval '1 day'"),
        ("cancelled", "NULL"),
    ];

    for (state, launched_at) in hidden {
        let project = hidden_project(&app, &founder, state, launched_at).await;
        for (method, template, anonymous) in ROUTES {
            let path = template.replace("{id}", &project.to_string());
            let seen = |who: &str, got: u16| format!("{method} {path} ({state}) as {who}: {got}");

            let got = status(&app, method, &path, None).await;
            match anonymous {
                Outsider::NotFound => assert_eq!(got, 404, "{}", seen("anonymous", got)),
                Outsider::SignInFirst => {
                    assert!(matches!(got, 401 | 303), "{}", seen("anonymous", got));
                }
            }
            let got = status(&app, method, &path, Some(&other_backer.token)).await;
            assert_eq!(got, 404, "{}", seen("another backer", got));
            let got = status(&app, method, &path, Some(&founder.token)).await;
            assert_ne!(got, 404, "{}", seen("the founder", got));
            assert!(got < 500, "{}", seen("the founder", got));
        }
    }
}

#[tokio::test]
async fn a_public_project_is_found_on_its_public_routes_by_anyone() {
    let app = TestApp::spawn().await;
    let (project, _) = app.live_reward_project(&[("10.00", None)]).await;
    for path in [
        format!("/api/v1/projects/{project}"),
        format!("/api/v1/projects/{project}/settlement"),
        format!("/projects/{project}"),
        format!("/founder/projects/{project}/pledges.svg"),
    ] {
        assert_eq!(status(&app, "GET", &path, None).await, 200, "{path}");
    }
}
