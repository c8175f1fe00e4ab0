//! Extractors: who is asking, from where, and JSON bodies with clear errors.

use std::net::{IpAddr, SocketAddr};

use axum::extract::rejection::JsonRejection;
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, OriginalUri, Request};
use axum::http::request::Parts;
use axum::http::{header, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::csrf::cookie_value;
use super::error::{Error, Message};
use crate::accounts::{self, domain::Role, AuthUser};
use crate::app::AppState;

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

async fn resolve(parts: &mut Parts, state: &AppState) -> Result<Option<AuthUser>, Error> {
    if let Some(Resolved(user)) = parts.extensions.get::<Resolved>() {
        return Ok(user.clone());
    }
    let (user, carrier) = match token(parts) {
        Some((token, carrier)) => (accounts::authenticate(state, token).await?, Some(carrier)),
        None => (None, None),
    };
    // Another site can make a signed-in browser send its cookie, but cannot read the CSRF token
    // of our pages: a cookie alone never changes anything through the API.
    if let Some(user) = &user {
        if carrier == Some(Carrier::Cookie)
            && needs_csrf_header(parts)
            && !super::csrf::header_verifies(state, &parts.headers, user.session_id)
        {
            return Err(Error::Csrf);
        }
    }
    parts.extensions.insert(Resolved(user.clone()));
    Ok(user)
}

/// The signed-in user; 401 otherwise.
pub struct CurrentUser(pub AuthUser);

impl FromRequestParts<AppState> for CurrentUser {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Error> {
        resolve(parts, state)
            .await?
            .map(CurrentUser)
            .ok_or(Error::Unauthorized)
    }
}

/// The signed-in user, if any.
pub struct MaybeUser(pub Option<AuthUser>);

impl FromRequestParts<AppState> for MaybeUser {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Error> {
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

impl<R: RoleMarker> FromRequestParts<AppState> for RequireRole<R> {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Error> {
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

impl FromRequestParts<AppState> for ClientAddress {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
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
        Ok(ClientAddress(peer.map(|peer| {
            state.settings.trusted_proxies.client(peer, &forwarded)
        })))
    }
}

/// Reverse proxies whose `X-Forwarded-For` is believed (the `TRUSTED_PROXIES` setting).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<(IpAddr, u8)>);

impl TrustedProxies {
    /// Most ranges the setting may name.
    pub const MAX_RANGES: usize = 64;
    /// Most `X-Forwarded-For` hops looked at, from the right.
    pub const MAX_HOPS: usize = 32;

    /// Parses comma-separated addresses and CIDR ranges; empty means none.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let mut ranges = Vec::new();
        for item in raw.split(',').map(str::trim).filter(|i| !i.is_empty()) {
            let (addr, prefix) = match item.split_once('/') {
                Some((addr, prefix)) => (addr, Some(prefix)),
                None => (item, None),
            };
            let addr: IpAddr = addr
                .parse()
                .map_err(|_| format!("`{item}` is not an IP address or CIDR range"))?;
            let addr = addr.to_canonical();
            let bits = if addr.is_ipv4() { 32 } else { 128 };
            let prefix = match prefix {
                None => bits,
                Some(p) => p
                    .parse::<u8>()
                    .ok()
                    .filter(|p| *p <= bits)
                    .ok_or_else(|| format!("`{item}` has a prefix longer than {bits} bits"))?,
            };
            ranges.push((addr, prefix));
        }
        if ranges.len() > Self::MAX_RANGES {
            return Err(format!("at most {} proxies or ranges", Self::MAX_RANGES));
        }
        Ok(Self(ranges))
    }

    /// Whether `ip` is one of the trusted proxies.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.0.iter().any(|&(net, prefix)| match (net, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        })
    }

    /// The client behind `peer`, given the request's `X-Forwarded-For` header values. Only a
    /// trusted peer's header counts, read from the right (each proxy appends the address it saw);
    /// the first address not in the trusted set is the client. An unreadable entry stops the walk
    /// at the last address a trusted proxy vouched for.
    pub fn client(&self, peer: IpAddr, forwarded: &[&str]) -> IpAddr {
        let mut client = peer.to_canonical();
        if !self.contains(client) {
            return client;
        }
        let hops = forwarded
            .iter()
            .rev()
            .flat_map(|value| value.rsplit(','))
            .map(str::trim)
            .take(Self::MAX_HOPS);
        for hop in hops {
            let Ok(ip) = hop.parse::<IpAddr>() else {
                break;
            };
            client = ip.to_canonical();
            if !self.contains(client) {
                break;
            }
        }
        client
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
                .map(|s| s.to_string())
                .unwrap_or_else(|| e.body_text())
        ))),
        JsonRejection::JsonDataError(e) => Error::Unprocessable(Message::Text(format!(
            "The JSON body has the wrong shape: {}",
            std::error::Error::source(&e)
                .map(|s| s.to_string())
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

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn trusted_proxies_parse_addresses_and_ranges() {
        let proxies = TrustedProxies::parse(" 127.0.0.1, 10.0.0.0/8 ,::1,fd00::/8").unwrap();
        for yes in ["127.0.0.1", "10.1.2.3", "::1", "fd12::1", "::ffff:10.9.9.9"] {
            assert!(proxies.contains(ip(yes)), "{yes}");
        }
        for no in ["127.0.0.2", "11.0.0.1", "::2", "fe80::1"] {
            assert!(!proxies.contains(ip(no)), "{no}");
        }
        assert_eq!(TrustedProxies::parse(""), Ok(TrustedProxies::default()));
        for bad in ["localhost", "10.0.0.0/33", "::/129", "1.2.3.4/x"] {
            assert!(TrustedProxies::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_client_is_the_right_most_untrusted_forwarded_address() {
        let proxies = TrustedProxies::parse("127.0.0.1,10.0.0.0/8").unwrap();
        let cases: [(&str, &[&str], &str); 6] = [
            ("203.0.113.9", &["198.51.100.1"], "203.0.113.9"),
            ("127.0.0.1", &[], "127.0.0.1"),
            ("127.0.0.1", &["198.51.100.1"], "198.51.100.1"),
            (
                "127.0.0.1",
                &["6.6.6.6, 198.51.100.1, 10.0.0.5"],
                "198.51.100.1",
            ),
            ("127.0.0.1", &["6.6.6.6", "198.51.100.1"], "198.51.100.1"),
            ("127.0.0.1", &["6.6.6.6, nonsense, 10.0.0.5"], "10.0.0.5"),
        ];
        for (peer, forwarded, client) in cases {
            assert_eq!(
                proxies.client(ip(peer), forwarded),
                ip(client),
                "{peer} {forwarded:?}"
            );
        }
    }

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
