//! What the accounts pages and API share: a throttle refusal as an HTTP answer (with
//! `Retry-After`), and the cookies a log-in sets.

pub mod account_pages;
pub mod mail;
pub mod me_api;
pub mod profile;
pub mod reset_pages;

use axum::http::header::RETRY_AFTER;
use axum::http::HeaderValue;
use axum::response::{IntoResponse, Response};

use super::throttle::{Refused, DEVICE_COOKIE, DEVICE_COOKIE_SECONDS};
use crate::config::Settings;

/// A form page shown again for `refused`: the refusal's status, and `Retry-After` when it
/// says when to come back.
pub fn refused_page(refused: Refused, page: crate::http::error::Result<Response>) -> Response {
    let mut response = page.unwrap_or_else(IntoResponse::into_response);
    *response.status_mut() = crate::http::error::Error::from(refused.error).status_code();
    retry_after(refused.retry_after, &mut response);
    response
}

fn retry_after(seconds: Option<i64>, response: &mut Response) {
    if let Some(seconds) = seconds {
        response
            .headers_mut()
            .insert(RETRY_AFTER, HeaderValue::from(seconds));
    }
}

impl IntoResponse for Refused {
    fn into_response(self) -> Response {
        let Refused {
            error,
            retry_after: wait,
        } = self;
        let mut response = crate::http::error::Error::from(error).into_response();
        retry_after(wait, &mut response);
        response
    }
}

/// `; Secure` when the site is served over https, else nothing.
pub fn secure_attribute(settings: &Settings) -> &'static str {
    if settings.secure_cookies() {
        "; Secure"
    } else {
        ""
    }
}

/// The `zl_device` cookie carrying `token`: long-lived, sent only to this site, never to scripts.
pub fn device_cookie(settings: &Settings, token: &str) -> Option<HeaderValue> {
    let secure = secure_attribute(settings);
    let cookie = format!(
        "{DEVICE_COOKIE}={token}; Path=/; HttpOnly; SameSite=Lax; Max-Age={DEVICE_COOKIE_SECONDS}{secure}"
    );
    HeaderValue::from_str(&cookie).ok()
}
