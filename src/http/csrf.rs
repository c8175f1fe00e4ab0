//! CSRF protection for browser forms: a signed double-submit cookie.
//!
//! Each browser gets a random `zl_csrf` cookie; forms carry HMAC(key, cookie) in a hidden `csrf`
//! field. Another site can neither read the cookie nor forge the HMAC, so a form posted from
//! elsewhere is refused.

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header::{COOKIE, SET_COOKIE};
use axum::http::request::Parts;
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;
use hmac::{Hmac, Mac};
use serde::de::DeserializeOwned;
use sha2::Sha256;

use super::error::{Error, Message};
use super::AppState;

const COOKIE_NAME: &str = "zl_csrf";

/// The token to put in this request's forms.
#[derive(Debug, Clone)]
pub struct CsrfToken(pub String);

fn sign(key: &[u8], cookie: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(cookie.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

fn verify(key: &[u8], cookie: &str, token: &str) -> bool {
    let Ok(token) = hex::decode(token) else {
        return false;
    };
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(cookie.as_bytes());
    mac.verify_slice(&token).is_ok()
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

/// Middleware for pages: makes sure the browser has a CSRF cookie and exposes the form token.
pub async fn issue_token(
    axum::extract::State(state): axum::extract::State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let existing = cookie_value(request.headers(), COOKIE_NAME)
        .filter(|v| v.len() == 64 && v.bytes().all(|b| b.is_ascii_hexdigit()))
        .map(str::to_owned);
    let (cookie, fresh) = match existing {
        Some(value) => (value, false),
        None => (crate::config::random_hex(32), true),
    };
    request
        .extensions_mut()
        .insert(CsrfToken(sign(&state.keys.csrf, &cookie)));
    let mut response = next.run(request).await;
    if fresh {
        let secure = if state.settings.secure_cookies() {
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

impl<T: DeserializeOwned> FromRequest<AppState> for CsrfForm<T> {
    type Rejection = Error;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let cookie = cookie_value(request.headers(), COOKIE_NAME).map(str::to_owned);
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
            (Some(cookie), Some(token)) if verify(&state.keys.csrf, &cookie, token) => {}
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
        let token = sign(key, "cookie-a");
        assert!(verify(key, "cookie-a", &token));
        assert!(!verify(key, "cookie-b", &token));
        assert!(!verify(b"another key", "cookie-a", &token));
        assert!(!verify(key, "cookie-a", "not hex"));
    }
}
