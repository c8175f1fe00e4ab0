//! `/api/v1/auth/*` and `/api/v1/me`.

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use axum::extract::State;
use axum::http::header::SET_COOKIE;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::domain::{self_service_roles, DisplayName, Email, Password};
use super::throttle::{Refused, DEVICE_COOKIE};
use super::{LoginAttempt, User};
use crate::app::AppState;
use crate::http::csrf::cookie_value;
use crate::http::error::Result;
use crate::http::extract::{ApiJson, ClientAddress, CurrentUser, UserAgent};

/// Routes of this room, relative to `/api/v1`.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(signup))
        .routes(routes!(login))
        .routes(routes!(logout))
        .routes(routes!(me))
        .merge(super::web::me_api::routes())
        .merge(super::web::profile::api_routes())
}

/// One role name or several.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum Roles {
    One(String),
    Many(Vec<String>),
}

/// The roles one may give oneself at sign-up.
fn self_service_role() -> utoipa::openapi::Object {
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::String)
        .enum_values(Some(["founder", "backer"]))
        .build()
}

/// One role one may give oneself, or several (at least one).
fn self_service_roles_schema() -> utoipa::openapi::schema::Schema {
    let one_or_many = utoipa::openapi::schema::OneOfBuilder::new()
        .item(self_service_role())
        .item(
            utoipa::openapi::schema::ArrayBuilder::new()
                .items(self_service_role())
                .min_items(Some(1)),
        )
        .build();
    utoipa::openapi::schema::Schema::OneOf(one_or_many)
}

/// Body of `POST /api/v1/auth/signup`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct SignupRequest {
    /// `local@domain.tld`, no spaces or control characters.
    #[schema(
        max_length = 254,
        pattern = r"^[^@\s\x00-\x1f\x7f-\x9f]+@[^@\s\x00-\x1f\x7f-\x9f.][^@\s\x00-\x1f\x7f-\x9f]*\.[^@\s\x00-\x1f\x7f-\x9f]*[^@\s\x00-\x1f\x7f-\x9f.]$"
    )]
    pub email: String,
    /// 10 to 1,024 characters.
    #[schema(min_length = 10, max_length = 1024)]
    pub password: String,
    /// 1 to 80 characters besides surrounding spaces, no control characters.
    #[schema(
        max_length = 80,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$"
    )]
    pub display_name: String,
    /// `founder`, `backer`, or both as an array.
    #[schema(schema_with = self_service_roles_schema)]
    pub role: Roles,
}

/// Body of `POST /api/v1/auth/login`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct LoginRequest {
    /// At most 254 bytes.
    #[schema(max_length = 254)]
    pub email: String,
    /// At most 1,024 bytes.
    pub password: String,
    /// The `device_token` of an earlier successful log-in to this account (or send the
    /// `zl_device` cookie): its holder is not slowed down by other clients' failures.
    #[serde(default)]
    pub device_token: Option<String>,
}

/// Answer of a successful login.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct LoginResponse {
    pub token: String,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub expires_at: OffsetDateTime,
    pub user: User,
    /// Keep this and send it with later log-ins to this account (it is also set as the
    /// `zl_device` cookie).
    pub device_token: String,
}

/// Creates a founder and/or backer account.
#[utoipa::path(post, path = "/api/v1/auth/signup", tag = "accounts",
    request_body = SignupRequest,
    responses((status = 201, body = User), (status = 409, description = "email already registered"),
              (status = 422, description = "invalid field (a password is at most 1,024 bytes)"),
              (status = 429, description = "too many sign-ups from this address",
               headers(("Retry-After" = u64, description = "seconds until a sign-up is accepted again"))),
              (status = 503, description = "too many passwords being hashed; try again",
               headers(("Retry-After" = u64, description = "seconds to wait")))))]
pub async fn signup(
    State(state): State<AppState>,
    ClientAddress(address): ClientAddress,
    headers: HeaderMap,
    ApiJson(body): ApiJson<SignupRequest>,
) -> Result<(StatusCode, ApiJson<User>), Refused> {
    let email = Email::parse(&body.email)?;
    let name = DisplayName::parse(&body.display_name)?;
    let password = Password::parse(body.password)?;
    let roles = match body.role {
        Roles::One(role) => self_service_roles(&[role])?,
        Roles::Many(roles) => self_service_roles(&roles)?,
    };
    super::throttle::admit_signup(&state.db, address, state.settings.signup_limit_per_hour).await?;
    // Mail and notifications are written in the language the client asked in.
    let language = crate::i18n::Lang::from_headers(&headers);
    let user = super::create_user(&state.db, &email, &name, password, &roles, language).await?;
    Ok((StatusCode::CREATED, ApiJson(user)))
}

/// Exchanges email and password for a bearer token and a device token.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "accounts",
    request_body = LoginRequest,
    responses((status = 200, body = LoginResponse,
               headers(("Set-Cookie" = String, description = "the `zl_device` device cookie"))),
              (status = 401, description = "wrong email or password"),
              (status = 422, description = "email longer than 254 bytes or password longer than 1,024 bytes"),
              (status = 429, description = "too many failed attempts for this account or address (a valid device token is only held to its own)",
               headers(("Retry-After" = u64, description = "seconds until the next attempt is allowed"))),
              (status = 503, description = "too many passwords being checked; try again",
               headers(("Retry-After" = u64, description = "seconds to wait")))))]
pub async fn login(
    State(state): State<AppState>,
    ClientAddress(address): ClientAddress,
    UserAgent(agent): UserAgent,
    headers: HeaderMap,
    ApiJson(body): ApiJson<LoginRequest>,
) -> Result<Response, Refused> {
    let device_token = body
        .device_token
        .as_deref()
        .or_else(|| cookie_value(&headers, DEVICE_COOKIE));
    let done = super::login(
        &state.db,
        &state.keys,
        LoginAttempt {
            email: &body.email,
            password: body.password,
            address,
            device_token,
            user_agent: agent.as_deref(),
        },
    )
    .await?;
    let cookie = super::web::device_cookie(&state.settings, &done.device_token);
    let mut response = ApiJson(LoginResponse {
        token: done.session.token,
        expires_at: done.session.expires_at,
        user: done.session.user,
        device_token: done.device_token,
    })
    .into_response();
    if let Some(cookie) = cookie {
        response.headers_mut().append(SET_COOKIE, cookie);
    }
    Ok(response)
}

/// Revokes the token used for this request, at once.
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "accounts",
    security(("bearer" = [])),
    responses((status = 204), (status = 401, description = "not signed in"),
              (status = 403, description = "signed in by cookie without a valid `X-CSRF-Token` header")))]
pub async fn logout(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
) -> Result<StatusCode> {
    super::logout(&state.db, user.session_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The signed-in user.
#[utoipa::path(get, path = "/api/v1/me", tag = "accounts",
    security(("bearer" = [])),
    responses((status = 200, body = User), (status = 401, description = "not signed in")))]
pub async fn me(CurrentUser(user): CurrentUser) -> ApiJson<User> {
    ApiJson(user.user)
}
