//! CSRF protection for browser forms: a signed double-submit cookie.
//!
//! Each browser gets a random `zl_csrf` cookie; forms carry HMAC(key, cookie || session id) in a
//! hidden `csrf` field (the session part only when signed in), and API calls made with the session
//! cookie carry the same token in `X-CSRF-Token`. Another site can neither read the cookie nor
//! forge the HMAC, so a form posted from elsewhere is refused; and since the token names the
//! session, one leaked from another session does not verify in this one.

use axum::extract::{FromRef, FromRequest, FromRequestParts, Request, State};
use axum::http::header::{COOKIE, SET_COOKIE};
use axum::http::request::Parts;
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;
use hmac::{Hmac, Mac};
use serde::de::DeserializeOwned;
use sha2::Sha256;

use super::error::{Error, Message};
use super::extract::SESSION_COOKIE;
use super::Web;
use crate::ids::SessionId;
use crate::keys::Keys;

const COOKIE_NAME: &str = "zl_csrf";

/// The header API calls made with the session cookie carry the form token in.
pub const HEADER_NAME: &str = "x-csrf-token";

/// The token to put in this request's forms.
#[derive(Debug, Clone)]
pub struct CsrfToken(pub String);

fn mac(key: &[u8], cookie: &str, session: Option<SessionId>) -> Hmac<Sha256> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(cookie.as_bytes());
    // The cookie has a fixed length (64 hex digits), so cookie || session cannot be ambiguous.
    if let Some(SessionId(session)) = session {
        mac.update(session.as_bytes());
    }
    mac
}

fn sign(key: &[u8], cookie: &str, session: Option<SessionId>) -> String {
    hex::encode(mac(key, cookie, session).finalize().into_bytes())
}

fn verify(key: &[u8], cookie: &str, session: Option<SessionId>, token: &str) -> bool {
    let Ok(token) = hex::decode(token) else {
        return false;
    };
    mac(key, cookie, session).verify_slice(&token).is_ok()
}

/// The session the browser's session cookie names, when its token is genuine and current.
fn cookie_session(keys: &Keys, headers: &axum::http::HeaderMap) -> Option<SessionId> {
    cookie_value(headers, SESSION_COOKIE)
        .and_then(|token| crate::accounts::session_id_of_token(keys, token))
}

/// Whether the request's `X-CSRF-Token` header is the token of its CSRF cookie and `session`.
pub fn header_verifies(keys: &Keys, headers: &axum::http::HeaderMap, session: SessionId) -> bool {
    let cookie = cookie_value(headers, COOKIE_NAME);
    let token = headers.get(HEADER_NAME).and_then(|v| v.to_str().ok());
    match (cookie, token) {
        (Some(cookie), Some(token)) => verify(&keys.csrf, cookie, Some(session), token),
        _ => false,
    }
}

/// Reads a cookie from request headers.
pub fn cookie_value<'a>(headers: &'a axum::http::HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, v)| v)
        .filter(|v| !v.is_empty())
}

/// The browser's CSRF cookie, when it is one we could have issued.
fn valid_cookie(headers: &axum::http::HeaderMap) -> Option<String> {
    cookie_value(headers, COOKIE_NAME)
        .filter(|v| v.len() == 64 && v.bytes().all(|b| b.is_ascii_hexdigit()))
        .map(str::to_owned)
}

/// The form token of a request whose browser already has a CSRF cookie (for pages rendered
/// outside the pages router, such as an error page replacing one).
pub fn token_of(keys: &Keys, headers: &axum::http::HeaderMap) -> Option<CsrfToken> {
    let cookie = valid_cookie(headers)?;
    Some(CsrfToken(sign(
        &keys.csrf,
        &cookie,
        cookie_session(keys, headers),
    )))
}

/// Middleware for pages: makes sure the browser has a CSRF cookie and exposes the form token.
pub async fn issue_token(State(web): State<Web>, mut request: Request, next: Next) -> Response {
    let existing = valid_cookie(request.headers());
    let (cookie, fresh) = match existing {
        Some(value) => (value, false),
        None => (crate::config::random_hex(32), true),
    };
    let session = cookie_session(&web.keys, request.headers());
    request
        .extensions_mut()
        .insert(CsrfToken(sign(&web.keys.csrf, &cookie, session)));
    let mut response = next.run(request).await;
    if fresh {
        let secure = if web.settings.secure_cookies() {
            "; Secure"
        } else {
            ""
        };
        let header = format!("{COOKIE_NAME}={cookie}; Path=/; HttpOnly; SameSite=Lax{secure}");
        if let Ok(value) = HeaderValue::from_str(&header) {
            response.headers_mut().append(SET_COOKIE, value);
        }
    }
    response
}

impl<S: Send + Sync> FromRequestParts<S> for CsrfToken {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<CsrfToken>()
            .cloned()
            .ok_or_else(|| Error::Internal(anyhow::anyhow!("CSRF middleware missing on route")))
    }
}

/// A URL-encoded form whose `csrf` field was checked against the browser's cookie.
pub struct CsrfForm<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for CsrfForm<T>
where
    Web: FromRef<S>,
{
    type Rejection = Error;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        // Only a body that says it is a form is read as one: the NUL guard in front of every
        // handler reads forms and JSON, and nothing else may slip past it as form fields.
        if super::text_guard::body_kind(request.headers())
            != Some(super::text_guard::BodyKind::Form)
        {
            return Err(Error::bad_request("error.bad_form"));
        }
        let cookie = cookie_value(request.headers(), COOKIE_NAME).map(str::to_owned);
        let keys = Web::from_ref(state).keys;
        let session = cookie_session(&keys, request.headers());
        let bytes = axum::body::Bytes::from_request(request, state)
            .await
            .map_err(|e| {
                if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                    Error::PayloadTooLarge
                } else {
                    Error::bad_request("error.bad_form")
                }
            })?;
        let fields: Vec<(String, String)> = serde_urlencoded::from_bytes(&bytes)
            .map_err(|_| Error::bad_request("error.bad_form"))?;
        let token = fields
            .iter()
            .find(|(name, _)| name == "csrf")
            .map(|(_, v)| v.as_str());
        match (cookie, token) {
            (Some(cookie), Some(token)) if verify(&keys.csrf, &cookie, session, token) => {}
            _ => return Err(Error::Csrf),
        }
        serde_urlencoded::from_bytes(&bytes)
            .map(CsrfForm)
            .map_err(|e| Error::BadRequest(Message::Text(e.to_string())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_verifies_only_for_its_own_cookie() {
        let key = b"key material for tests";
        let token = sign(key, "cookie-a", None);
        assert!(verify(key, "cookie-a", None, &token));
        assert!(!verify(key, "cookie-b", None, &token));
        assert!(!verify(b"another key", "cookie-a", None, &token));
        assert!(!verify(key, "cookie-a", None, "not hex"));
    }

    #[test]
    fn a_token_verifies_only_for_its_own_session() {
        let key = b"key material for tests";
        let (one, two) = (
            SessionId(uuid::Uuid::new_v4()),
            SessionId(uuid::Uuid::new_v4()),
        );
        let token = sign(key, "cookie-a", Some(one));
        assert!(verify(key, "cookie-a", Some(one), &token));
        assert!(!verify(key, "cookie-a", Some(two), &token));
        assert!(!verify(key, "cookie-a", None, &token));
        assert!(!verify(
            key,
            "cookie-a",
            Some(one),
            &sign(key, "cookie-a", None)
        ));
    }
}
