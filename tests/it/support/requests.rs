//! Typed requests to the API: one call sends a request as someone and gives back what a client
//! sees, the status and the JSON body, so a test reads as the conversation it checks.

use reqwest::{Method, RequestBuilder, StatusCode};
use serde_json::Value;

use super::{Backer, TestApp};

/// Who sends a request: a bearer token (`&String`, `&str`), a fixture [`Backer`], or
/// [`Anonymous`].
pub trait Caller {
    /// Adds the caller's credentials to a request.
    fn authorize(&self, request: RequestBuilder) -> RequestBuilder;
}

impl Caller for str {
    fn authorize(&self, request: RequestBuilder) -> RequestBuilder {
        request.bearer_auth(self)
    }
}

impl Caller for String {
    fn authorize(&self, request: RequestBuilder) -> RequestBuilder {
        request.bearer_auth(self)
    }
}

impl Caller for Backer {
    fn authorize(&self, request: RequestBuilder) -> RequestBuilder {
        request.bearer_auth(&self.token)
    }
}

/// Nobody signed in (the client's cookies aside).
pub struct Anonymous;

impl Caller for Anonymous {
    fn authorize(&self, request: RequestBuilder) -> RequestBuilder {
        request
    }
}

/// The status and JSON body of an answer; `Value::Null` when the body is not JSON.
pub async fn status_and_json(response: reqwest::Response) -> (StatusCode, Value) {
    let status = response.status();
    let body = response.json().await.unwrap_or(Value::Null);
    (status, body)
}

impl TestApp {
    /// A request to `/api/v1{path}` as `who`, to be finished by the caller (headers, body).
    pub fn request_as(
        &self,
        method: Method,
        path: &str,
        who: &(impl Caller + ?Sized),
    ) -> RequestBuilder {
        who.authorize(
            self.client
                .request(method, self.url(&format!("/api/v1{path}"))),
        )
    }

    /// Sends `request` and reads its answer.
    pub async fn send_json(&self, request: RequestBuilder) -> (StatusCode, Value) {
        status_and_json(request.send().await.expect("request sent")).await
    }

    /// `GET /api/v1{path}` as `who`.
    pub async fn get_json(&self, path: &str, who: &(impl Caller + ?Sized)) -> (StatusCode, Value) {
        self.send_json(self.request_as(Method::GET, path, who))
            .await
    }

    /// `POST /api/v1{path}` as `who` with a JSON body.
    pub async fn post_json(
        &self,
        path: &str,
        who: &(impl Caller + ?Sized),
        body: Value,
    ) -> (StatusCode, Value) {
        self.send_json(self.request_as(Method::POST, path, who).json(&body))
            .await
    }

    /// `POST /api/v1{path}` as `who` with no body (an action: submit, cancel, ...).
    pub async fn post_empty(
        &self,
        path: &str,
        who: &(impl Caller + ?Sized),
    ) -> (StatusCode, Value) {
        self.send_json(self.request_as(Method::POST, path, who))
            .await
    }

    /// `PATCH /api/v1{path}` as `who` with a JSON body.
    pub async fn patch_json(
        &self,
        path: &str,
        who: &(impl Caller + ?Sized),
        body: Value,
    ) -> (StatusCode, Value) {
        self.send_json(self.request_as(Method::PATCH, path, who).json(&body))
            .await
    }

    /// `DELETE /api/v1{path}` as `who`.
    pub async fn delete_json(
        &self,
        path: &str,
        who: &(impl Caller + ?Sized),
    ) -> (StatusCode, Value) {
        self.send_json(self.request_as(Method::DELETE, path, who))
            .await
    }

    /// `GET` of any path (a page, a static file, `/healthz`) as the client's cookies have it.
    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .send()
            .await
            .expect("GET request")
    }

    /// `GET` of a page (any path, not only the API) as the client's cookies have it, and its
    /// HTML.
    pub async fn page(&self, path: &str) -> (StatusCode, String) {
        let response = self.get(path).await;
        let status = response.status();
        (status, response.text().await.expect("page body"))
    }

    /// The HTML of a page (any status).
    pub async fn html(&self, path: &str) -> String {
        self.page(path).await.1
    }

    /// The HTML of a page as `who` sees it (their bearer token, the client's cookies).
    pub async fn html_as(&self, path: &str, who: &(impl Caller + ?Sized)) -> String {
        who.authorize(self.client.get(self.url(path)))
            .send()
            .await
            .expect("page request")
            .text()
            .await
            .expect("page body")
    }
}

/// The value of the form field `name` in a page (`name="csrf" value="..."`).
#[track_caller]
pub fn form_field(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no field {name:?} on the page"))
        + marker.len();
    html[start..].split('"').next().unwrap().to_owned()
}
