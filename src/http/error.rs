//! The one error type of the web layer.
//!
//! Handlers return `Result<T, Error>`. `Error::into_response` only records the error in the
//! response; the `render_errors` middleware turns it into a JSON problem (RFC 9457) for the API or
//! an HTML page for the browser, in the visitor's language, and logs the cause once. No internal
//! text ever reaches a client.

use std::sync::Arc;

use axum::extract::Request;
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};

use super::pages::Chrome;
use crate::i18n::Lang;

pub use crate::error::Message;

/// Everything that can go wrong while answering a request.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("bad request: {0:?}")]
    BadRequest(Message),
    #[error("unprocessable: {0:?}")]
    Unprocessable(Message),
    #[error("conflict: {0:?}")]
    Conflict(Message),
    #[error("too many requests: {0:?}")]
    TooManyRequests(Message),
    #[error("authentication required")]
    Unauthorized,
    #[error("authentication failed: {0:?}")]
    Unauthenticated(Message),
    #[error("forbidden")]
    Forbidden,
    #[error("not found")]
    NotFound,
    #[error("request body too large")]
    PayloadTooLarge,
    #[error("CSRF token missing or wrong")]
    Csrf,
    #[error("service unavailable")]
    Unavailable,
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("internal error: {0:#}")]
    Internal(#[from] anyhow::Error),
}

impl From<crate::error::Error> for Error {
    fn from(refusal: crate::error::Error) -> Self {
        use crate::error::Error as Domain;
        match refusal {
            Domain::Malformed(m) => Error::BadRequest(m),
            Domain::Invalid(m) => Error::Unprocessable(m),
            Domain::Conflict(m) => Error::Conflict(m),
            Domain::Throttled(m) => Error::TooManyRequests(m),
            Domain::Unauthenticated(m) => Error::Unauthenticated(m),
            Domain::Forbidden => Error::Forbidden,
            Domain::NotFound => Error::NotFound,
            Domain::TooLarge => Error::PayloadTooLarge,
            Domain::Unavailable => Error::Unavailable,
            Domain::Database(e) => Error::Database(e),
            Domain::Internal(e) => Error::Internal(e),
        }
    }
}

/// Shorthand for handler results.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// A 400 with a catalogue message.
    pub fn bad_request(key: &'static str) -> Self {
        Error::BadRequest(Message::Key(key))
    }

    /// A 422 with a catalogue message.
    pub fn unprocessable(key: &'static str) -> Self {
        Error::Unprocessable(Message::Key(key))
    }

    /// The HTTP status for this error.
    pub fn status_code(&self) -> StatusCode {
        match self {
            Error::BadRequest(_) => StatusCode::BAD_REQUEST,
            Error::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Error::Conflict(_) => StatusCode::CONFLICT,
            Error::TooManyRequests(_) => StatusCode::TOO_MANY_REQUESTS,
            Error::Unauthorized | Error::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
            Error::Forbidden | Error::Csrf => StatusCode::FORBIDDEN,
            Error::NotFound => StatusCode::NOT_FOUND,
            Error::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Error::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            _ if self.is_database_away() => StatusCode::SERVICE_UNAVAILABLE,
            Error::Database(_) | Error::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// A stable machine-readable code for API clients.
    pub fn code(&self) -> &'static str {
        match self {
            Error::BadRequest(_) => "bad_request",
            Error::Unprocessable(_) => "unprocessable",
            Error::Conflict(_) => "conflict",
            Error::TooManyRequests(_) => "too_many_requests",
            Error::Unauthorized | Error::Unauthenticated(_) => "unauthorized",
            Error::Forbidden => "forbidden",
            Error::Csrf => "csrf",
            Error::NotFound => "not_found",
            Error::PayloadTooLarge => "payload_too_large",
            Error::Unavailable => "unavailable",
            _ if self.is_database_away() => "unavailable",
            Error::Database(_) | Error::Internal(_) => "internal",
        }
    }

    /// What the person is told: never internal text.
    pub fn message(&self) -> Message {
        match self {
            Error::BadRequest(m)
            | Error::Unprocessable(m)
            | Error::Conflict(m)
            | Error::TooManyRequests(m)
            | Error::Unauthenticated(m) => m.clone(),
            Error::Unauthorized => Message::Key("error.unauthorized"),
            Error::Forbidden => Message::Key("error.forbidden"),
            Error::Csrf => Message::Key("error.csrf"),
            Error::NotFound => Message::Key("error.not_found"),
            Error::PayloadTooLarge => Message::Key("error.too_large"),
            Error::Unavailable => Message::Key("error.unavailable"),
            _ if self.is_database_away() => Message::Key("error.unavailable"),
            Error::Database(_) | Error::Internal(_) => Message::Key("error.internal"),
        }
    }

    /// Whether this is a database error that means "cannot reach the database" (down,
    /// restarting, connection lost), directly or as the cause of an internal error: the
    /// visitor is told to come back shortly (503) rather than shown a failure (500).
    pub fn is_database_away(&self) -> bool {
        match self {
            Error::Database(e) => crate::db::is_unreachable(e),
            Error::Internal(e) => crate::db::is_unreachable_cause(e),
            _ => false,
        }
    }

    /// The catalogue key of the status line.
    fn title_key(&self) -> &'static str {
        match self.status_code().as_u16() {
            400 => "error.title.400",
            401 => "error.title.401",
            403 => "error.title.403",
            404 => "error.title.404",
            409 => "error.title.409",
            413 => "error.title.413",
            422 => "error.title.422",
            429 => "error.title.429",
            503 => "error.title.503",
            _ => "error.title.500",
        }
    }
}

/// `Retry-After` of a 429 or 503 whose handler did not name a time of its own.
pub const DEFAULT_RETRY_AFTER_SECONDS: &str = "5";

/// The error carried from the handler to `render_errors`.
#[derive(Clone)]
struct ErrorReport(Arc<Error>);

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let mut response = self.status_code().into_response();
        response
            .extensions_mut()
            .insert(ErrorReport(Arc::new(self)));
        response
    }
}

/// Middleware: renders recorded errors for the kind of client that asked, and logs them.
/// An error page keeps the header of the page it replaces: the same user, language and menu.
pub async fn render_errors(
    axum::extract::State(web): axum::extract::State<super::Web>,
    request: Request,
    next: Next,
) -> Response {
    let is_api = request.uri().path().starts_with("/api/");
    let lang = Lang::from_headers(request.headers());
    let asked = (!is_api).then(|| (request.uri().clone(), request.headers().clone()));
    let mut response = next.run(request).await;
    let Some(ErrorReport(error)) = response.extensions_mut().remove::<ErrorReport>() else {
        return response;
    };
    let status = error.status_code();
    if status.is_server_error() {
        tracing::error!(error = %error, "request failed");
    } else {
        tracing::debug!(error = %error, "request refused");
    }
    let mut rendered = match asked {
        None => problem_json(&error),
        Some((uri, headers)) => {
            let chrome = chrome_for_error(&web, status, uri, headers, lang).await;
            error_page(&error, chrome)
        }
    };
    *rendered.status_mut() = status;
    for name in [header::WWW_AUTHENTICATE, header::RETRY_AFTER] {
        if let Some(value) = response.headers().get(&name) {
            rendered.headers_mut().insert(name, value.clone());
        }
    }
    // A refusal that asks the client to come back always says when.
    if matches!(status.as_u16(), 429 | 503) && !rendered.headers().contains_key(header::RETRY_AFTER)
    {
        rendered.headers_mut().insert(
            header::RETRY_AFTER,
            header::HeaderValue::from_static(DEFAULT_RETRY_AFTER_SECONDS),
        );
    }
    rendered
}

/// An RFC 9457 problem document, in English (API clients get stable `code`s to localise).
fn problem_json(error: &Error) -> Response {
    let en = Lang::En.catalogue();
    let body = serde_json::json!({
        "type": "about:blank",
        "title": en.get(error.title_key()),
        "status": error.status_code().as_u16(),
        "detail": error.message().in_lang(en),
        "code": error.code(),
    });
    (
        [(header::CONTENT_TYPE, "application/problem+json")],
        body.to_string(),
    )
        .into_response()
}

/// The chrome of the page that failed, as its visitor sees it. When the server itself failed
/// (a 5xx: perhaps the database is away) the page is shown without asking anyone again.
async fn chrome_for_error(
    web: &super::Web,
    status: StatusCode,
    uri: axum::http::Uri,
    headers: axum::http::HeaderMap,
    lang: Lang,
) -> Chrome {
    use axum::extract::FromRequestParts;
    if status.is_server_error() {
        return Chrome::anonymous(lang, "/");
    }
    let (mut parts, ()) = Request::builder()
        .uri(uri)
        .body(())
        .unwrap_or_default()
        .into_parts();
    // The pages router issued the form token of the page that failed; this page is drawn
    // outside it, so it signs the token again from the same cookie (none: the header's forms
    // carry an empty token, which no POST accepts).
    let token = super::csrf::token_of(&web.keys, &headers)
        .unwrap_or_else(|| super::csrf::CsrfToken(String::new()));
    parts.extensions.insert(token);
    parts.headers = headers;
    Chrome::from_request_parts(&mut parts, web)
        .await
        .unwrap_or_else(|_| Chrome::anonymous(lang, "/"))
}

fn error_page(error: &Error, chrome: Chrome) -> Response {
    use askama::Template;
    let t = chrome.t;
    let page = crate::http::pages::ErrorPage {
        chrome,
        status: error.status_code().as_u16(),
        title: t.get(error.title_key()).to_owned(),
        detail: error.message().in_lang(t),
    };
    match page.render() {
        Ok(html) => Html(html).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "error page failed to render");
            (
                [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
                t.get(error.title_key()).to_owned(),
            )
                .into_response()
        }
    }
}

impl Error {
    /// Replaces the message of a 401 with a more precise one (for example on a failed login).
    pub fn with_message(self, key: &'static str) -> Self {
        match self {
            Error::Unauthorized => Error::Unauthenticated(Message::Key(key)),
            other => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused() -> sqlx::Error {
        sqlx::Error::Io(std::io::Error::from(std::io::ErrorKind::ConnectionRefused))
    }

    #[test]
    fn an_unreachable_database_is_a_503_not_a_500() {
        for error in [
            Error::Database(refused()),
            Error::Database(sqlx::Error::PoolTimedOut),
            Error::Database(sqlx::Error::PoolClosed),
            Error::Internal(anyhow::Error::from(refused()).context("loading the page")),
        ] {
            assert_eq!(
                error.status_code(),
                StatusCode::SERVICE_UNAVAILABLE,
                "{error}"
            );
            assert_eq!(error.code(), "unavailable");
        }
    }

    #[test]
    fn each_domain_refusal_has_its_status_and_code() {
        use crate::error::Error as Domain;
        let key = || Message::Key("error.internal");
        for (refusal, status, code) in [
            (Domain::Malformed(key()), 400, "bad_request"),
            (Domain::Invalid(key()), 422, "unprocessable"),
            (Domain::Conflict(key()), 409, "conflict"),
            (Domain::Throttled(key()), 429, "too_many_requests"),
            (Domain::Unauthenticated(key()), 401, "unauthorized"),
            (Domain::Forbidden, 403, "forbidden"),
            (Domain::NotFound, 404, "not_found"),
            (Domain::TooLarge, 413, "payload_too_large"),
            (Domain::Unavailable, 503, "unavailable"),
            (Domain::Database(refused()), 503, "unavailable"),
            (Domain::Database(sqlx::Error::RowNotFound), 500, "internal"),
        ] {
            let shown = refusal.message().in_lang(Lang::En.catalogue());
            let error = Error::from(refusal);
            assert_eq!(error.status_code(), status, "{error}");
            assert_eq!(error.code(), code, "{error}");
            assert_eq!(
                error.message().in_lang(Lang::En.catalogue()),
                shown,
                "{error}"
            );
        }
    }

    #[test]
    fn other_database_errors_stay_500() {
        let error = Error::Database(sqlx::Error::RowNotFound);
        assert_eq!(error.status_code(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(error.code(), "internal");
    }
}
