//! Extractors: who is asking, from where, and JSON bodies with clear errors.

use std::net::{IpAddr, SocketAddr};

use axum::extract::rejection::JsonRejection;
use axum::extract::{ConnectInfo, FromRef, FromRequest, FromRequestParts, OriginalUri, Request};
use axum::http::request::Parts;
use axum::http::{header, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::csrf::cookie_value;
use super::error::{Error, Message};
use super::Web;
use crate::accounts::{self, domain::Role, AuthUser};

/// Reverse proxies whose `X-Forwarded-For` is believed; defined in `net` (config reads it).
pub use crate::net::TrustedProxies;

/// Name of the browser's session cookie.
pub const SESSION_COOKIE: &str = "zl_session";

/// Where a request's session token came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Carrier {
    Bearer,
    Cookie,
}

/// The session token of a request: `Authorization: Bearer`, else the session cookie.
fn token(parts: &Parts) -> Option<(&str, Carrier)> {
    if parts.headers.contains_key(header::AUTHORIZATION) {
        return bearer(&parts.headers).map(|t| (t, Carrier::Bearer));
    }
    cookie_value(&parts.headers, SESSION_COOKIE).map(|t| (t, Carrier::Cookie))
}

/// The token of an `Authorization: Bearer <token>` header, trimmed.
pub fn bearer(headers: &axum::http::HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(str::trim)
}

/// Whether a request to the API changes state and so, when a browser's cookie is its only
/// credential, must prove with `X-CSRF-Token` that one of our pages sent it.
fn needs_csrf_header(parts: &Parts) -> bool {
    let path = parts
        .extensions
        .get::<OriginalUri>()
        .map_or(parts.uri.path(), |OriginalUri(uri)| uri.path());
    let changes_state = matches!(
        parts.method,
        Method::POST | Method::PUT | Method::PATCH | Method::DELETE
    );
    changes_state && path.starts_with("/api/")
}

/// The result of authenticating a request, computed once and kept in its extensions.
#[derive(Clone)]
struct Resolved(Option<AuthUser>);

async fn resolve<S>(parts: &mut Parts, state: &S) -> Result<Option<AuthUser>, Error>
where
    Web: FromRef<S>,
{
    if let Some(Resolved(user)) = parts.extensions.get::<Resolved>() {
        return Ok(user.clone());
    }
    let web = Web::from_ref(state);
    let (user, carrier) = match token(parts) {
        Some((token, carrier)) => (
            accounts::authenticate(&web.db, &web.keys, token).await?,
            Some(carrier),
        ),
        None => (None, None),
    };
    // Another site can make a signed-in browser send its cookie, but cannot read the CSRF token
    // of our pages: a cookie alone never changes anything through the API.
    if let Some(user) = &user {
        if carrier == Some(Carrier::Cookie)
            && needs_csrf_header(parts)
            && !super::csrf::header_verifies(&web.keys, &parts.headers, user.session_id)
        {
            return Err(Error::Csrf);
        }
    }
    parts.extensions.insert(Resolved(user.clone()));
    Ok(user)
}

/// The signed-in user; 401 otherwise.
pub struct CurrentUser(pub AuthUser);

impl<S: Send + Sync> FromRequestParts<S> for CurrentUser
where
    Web: FromRef<S>,
{
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Error> {
        resolve(parts, state)
            .await?
            .map(CurrentUser)
            .ok_or(Error::Unauthorized)
    }
}

/// The signed-in user, if any.
pub struct MaybeUser(pub Option<AuthUser>);

impl<S: Send + Sync> FromRequestParts<S> for MaybeUser
where
    Web: FromRef<S>,
{
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Error> {
        Ok(MaybeUser(resolve(parts, state).await?))
    }
}

/// A role a route can demand with `RequireRole<R>`.
pub trait RoleMarker {
    const ROLE: Role;
}

/// Marker for the regulator role.
pub struct Regulator;
impl RoleMarker for Regulator {
    const ROLE: Role = Role::Regulator;
}

/// Marker for the founder role.
pub struct Founder;
impl RoleMarker for Founder {
    const ROLE: Role = Role::Founder;
}

/// Marker for the backer role.
pub struct Backer;
impl RoleMarker for Backer {
    const ROLE: Role = Role::Backer;
}

/// The signed-in user, who must hold role `R` (401 when signed out, 403 without the role).
pub struct RequireRole<R>(pub AuthUser, std::marker::PhantomData<R>);

impl<R: RoleMarker, S: Send + Sync> FromRequestParts<S> for RequireRole<R>
where
    Web: FromRef<S>,
{
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Error> {
        let CurrentUser(user) = CurrentUser::from_request_parts(parts, state).await?;
        if !user.user.has_role(R::ROLE) {
            return Err(Error::Forbidden);
        }
        Ok(RequireRole(user, std::marker::PhantomData))
    }
}

/// The client's address, when the server knows it: the peer, or, when the peer is a trusted
/// proxy, the right-most `X-Forwarded-For` address that is not one. It is the full address
/// (IPv4-mapped IPv6 addresses as IPv4); limits count a client by `throttle::address_key`.
pub struct ClientAddress(pub Option<IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddress
where
    Web: FromRef<S>,
{
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(addr)| addr.ip());
        let forwarded = parts
            .headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect::<Vec<_>>();
        let web = Web::from_ref(state);
        Ok(ClientAddress(peer.map(|peer| {
            web.settings.trusted_proxies.client(peer, &forwarded)
        })))
    }
}

/// The `User-Agent`, shortened.
pub struct UserAgent(pub Option<String>);

impl<S: Send + Sync> FromRequestParts<S> for UserAgent {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(UserAgent(
            parts
                .headers
                .get(header::USER_AGENT)
                .and_then(|v| v.to_str().ok())
                .map(|v| v.chars().take(200).collect()),
        ))
    }
}

/// Path parameters, typed: `Path<ProjectId>`, `Path<(ProjectId, TierId)>`. A segment that does
/// not parse names nothing, so it is a 404 problem (or page), like an id that parses and is
/// unknown.
pub struct Path<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for Path<T> {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Error> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(value)) => Ok(Path(value)),
            Err(rejection) => {
                tracing::debug!(%rejection, "path parameter names nothing");
                Err(Error::NotFound)
            }
        }
    }
}

/// A JSON body (or answer) whose problems become clear 4xx answers.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = Error;

    async fn from_request(request: Request, state: &S) -> Result<Self, Error> {
        if super::text_guard::body_kind(request.headers())
            != Some(super::text_guard::BodyKind::Json)
        {
            return Err(Error::BadRequest(Message::Key("error.json_content_type")));
        }
        let bytes = axum::body::Bytes::from_request(request, state)
            .await
            .map_err(|e| {
                if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    Error::PayloadTooLarge
                } else {
                    Error::bad_request("error.bad_body")
                }
            })?;
        // Exponent notation (`1e2`) is refused in JSON numbers as it is in amounts sent as
        // text: once parsed, `1e2` cannot be told from `100`, so it is caught here.
        if has_exponent_number(&bytes) {
            return Err(Error::unprocessable("error.json_exponent"));
        }
        match axum::Json::<T>::from_bytes(&bytes) {
            Ok(axum::Json(value)) => Ok(ApiJson(value)),
            Err(rejection) => Err(json_rejection(rejection)),
        }
    }
}

/// Whether a JSON text holds a number written with an exponent (`1e2`, `5E-1`), outside
/// strings. Malformed JSON is left to the parser.
fn has_exponent_number(json: &[u8]) -> bool {
    let mut in_string = false;
    let mut escaped = false;
    let mut in_number = false;
    for &b in json {
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => {
                in_string = true;
                in_number = false;
            }
            b'0'..=b'9' | b'-' => in_number = true,
            b'e' | b'E' if in_number => return true,
            b'.' | b'+' if in_number => {}
            _ => in_number = false,
        }
    }
    false
}

fn json_rejection(rejection: JsonRejection) -> Error {
    match rejection {
        JsonRejection::MissingJsonContentType(_) => {
            Error::BadRequest(Message::Key("error.json_content_type"))
        }
        JsonRejection::BytesRejection(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            Error::PayloadTooLarge
        }
        JsonRejection::JsonSyntaxError(e) => Error::BadRequest(Message::Text(format!(
            "The body is not valid JSON: {}",
            std::error::Error::source(&e)
                .map(std::string::ToString::to_string)
                .unwrap_or_else(|| e.body_text())
        ))),
        JsonRejection::JsonDataError(e) => Error::Unprocessable(Message::Text(format!(
            "The JSON body has the wrong shape: {}",
            std::error::Error::source(&e)
                .map(std::string::ToString::to_string)
                .unwrap_or_else(|| e.body_text())
        ))),
        other => Error::BadRequest(Message::Text(other.body_text())),
    }
}

impl<T: Serialize> IntoResponse for ApiJson<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_with_an_exponent_are_found_outside_strings_only() {
        for found in [
            r#"{"amount":1e2}"#,
            r#"[5E-1]"#,
            r#"{"a":{"b":[1,2.5e+3]}}"#,
            "1e9",
        ] {
            assert!(has_exponent_number(found.as_bytes()), "{found}");
        }
        for plain in [
            r#"{"amount":"1e2"}"#,
            r#"{"amount":100,"x":12.50,"y":-3}"#,
            r#"{"e":true,"name":"Eve \" 1e2"}"#,
            r#"{"note":"say \\","n":1}"#,
            r#"{"key":null}"#,
        ] {
            assert!(!has_exponent_number(plain.as_bytes()), "{plain}");
        }
    }
}
