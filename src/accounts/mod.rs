//! Users, password hashing, sessions and the pages and API that manage them.

pub mod api;
pub mod domain;
pub mod pages;
pub mod password;

use jsonwebtoken::{Algorithm, Header, Validation};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::http::error::{Error, Message, Result};
use crate::http::AppState;
use domain::{DisplayName, Email, Password, Role, UserId};

/// A user as others may see it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct User {
    #[schema(value_type = String, format = Uuid)]
    pub id: UserId,
    pub email: String,
    pub display_name: String,
    pub roles: Vec<Role>,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
}

impl User {
    /// Whether the user holds `role`.
    pub fn has_role(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }
}

/// The signed-in user of a request, with the session that proves it.
#[derive(Debug, Clone)]
pub struct AuthUser {
    pub user: User,
    pub session_id: Uuid,
}

#[derive(sqlx::FromRow)]
struct UserRow {
    id: Uuid,
    email: String,
    display_name: String,
    roles: Vec<String>,
    created_at: OffsetDateTime,
}

impl From<UserRow> for User {
    fn from(row: UserRow) -> Self {
        User {
            id: UserId(row.id),
            email: row.email,
            display_name: row.display_name,
            roles: row.roles.iter().filter_map(|r| Role::parse(r)).collect(),
            created_at: row.created_at,
        }
    }
}

/// Creates an account. A second account for the same email, in any case, is a conflict.
pub async fn create_user(
    db: &sqlx::PgPool,
    email: &Email,
    display_name: &DisplayName,
    password: Password,
    roles: &[Role],
) -> Result<User> {
    let hash = password::hash(password).await?;
    let roles: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
    let row: UserRow = sqlx::query_as(
        "INSERT INTO users (id, email, display_name, password_hash, roles)
         VALUES ($1, $2, $3, $4, $5)
         RETURNING id, email, display_name, roles, created_at",
    )
    .bind(Uuid::new_v4())
    .bind(email.as_str())
    .bind(display_name.as_str())
    .bind(hash)
    .bind(&roles)
    .fetch_one(db)
    .await
    .map_err(|e| match &e {
        sqlx::Error::Database(d) if d.constraint() == Some("users_email_key") => {
            Error::Conflict(Message::Key("accounts.error.email_taken"))
        }
        _ => Error::Database(e),
    })?;
    Ok(row.into())
}

/// Looks a user up by id.
pub async fn find_user(db: &sqlx::PgPool, id: UserId) -> Result<Option<User>> {
    let row: Option<UserRow> = sqlx::query_as(
        "SELECT id, email, display_name, roles, created_at FROM users WHERE id = $1",
    )
    .bind(id.0)
    .fetch_optional(db)
    .await?;
    Ok(row.map(User::from))
}

/// Failed attempts allowed per account and per address in `FAILURE_WINDOW_MINUTES`.
pub const MAX_FAILURES: i64 = 10;
/// The window of the login rate limit.
pub const FAILURE_WINDOW_MINUTES: i64 = 15;

/// A fresh session.
pub struct Session {
    pub token: String,
    pub expires_at: OffsetDateTime,
    pub user: User,
}

/// How long a session lasts.
const SESSION_HOURS: i64 = 12;
const ISSUER: &str = "zhonglian";
const AUDIENCE: &str = "zhonglian-web";

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    sub: Uuid,
    jti: Uuid,
    iat: i64,
    exp: i64,
    iss: String,
    aud: String,
}

/// Checks the password and opens a session, unless the account or address is rate-limited.
pub async fn login(
    state: &AppState,
    raw_email: &str,
    password: String,
    address: Option<&str>,
    user_agent: Option<&str>,
) -> Result<Session> {
    let email = raw_email.trim().to_lowercase();
    let (by_email, by_address): (i64, i64) = sqlx::query_as(
        "SELECT count(*) FILTER (WHERE lower(email) = $1),
                count(*) FILTER (WHERE address = $2)
         FROM login_failures
         WHERE failed_at > now() - make_interval(mins => $3::int)
           AND (lower(email) = $1 OR address = $2)",
    )
    .bind(&email)
    .bind(address)
    .bind(FAILURE_WINDOW_MINUTES as i32)
    .fetch_one(&state.db)
    .await?;
    if by_email >= MAX_FAILURES || by_address >= MAX_FAILURES {
        return Err(Error::TooManyRequests(Message::Key(
            "accounts.error.rate_limited",
        )));
    }

    let found: Option<(Uuid, String)> =
        sqlx::query_as("SELECT id, password_hash FROM users WHERE lower(email) = $1")
            .bind(&email)
            .fetch_optional(&state.db)
            .await?;
    let (id, stored) = match found {
        Some((id, hash)) => (Some(id), Some(hash)),
        None => (None, None),
    };
    let ok = password::verify(password, stored).await?;
    let Some(id) = id.filter(|_| ok) else {
        sqlx::query("INSERT INTO login_failures (email, address) VALUES ($1, $2)")
            .bind(&email)
            .bind(address)
            .execute(&state.db)
            .await?;
        return Err(Error::Unauthorized.with_message("accounts.error.bad_credentials"));
    };
    let user = find_user(&state.db, UserId(id))
        .await?
        .ok_or(Error::Unauthorized)?;
    open_session(state, user, user_agent).await
}

/// Records a session and signs its token.
pub async fn open_session(
    state: &AppState,
    user: User,
    user_agent: Option<&str>,
) -> Result<Session> {
    let session_id = Uuid::new_v4();
    let now = OffsetDateTime::now_utc();
    let expires_at = now + time::Duration::hours(SESSION_HOURS);
    sqlx::query(
        "INSERT INTO sessions (id, user_id, expires_at, user_agent) VALUES ($1, $2, $3, $4)",
    )
    .bind(session_id)
    .bind(user.id.0)
    .bind(expires_at)
    .bind(user_agent.map(|ua| ua.chars().take(200).collect::<String>()))
    .execute(&state.db)
    .await?;
    let claims = Claims {
        sub: user.id.0,
        jti: session_id,
        iat: now.unix_timestamp(),
        exp: expires_at.unix_timestamp(),
        iss: ISSUER.into(),
        aud: AUDIENCE.into(),
    };
    let token = jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &state.keys.jwt_encoding,
    )
    .map_err(|e| Error::Internal(e.into()))?;
    Ok(Session {
        token,
        expires_at,
        user,
    })
}

/// The user behind a token, if the token is genuine, current, and its session not revoked.
pub async fn authenticate(state: &AppState, token: &str) -> Result<Option<AuthUser>> {
    // Only HS256 is accepted: `alg: none` and algorithm confusion are refused by construction.
    let mut validation = Validation::new(Algorithm::HS256);
    validation.set_issuer(&[ISSUER]);
    validation.set_audience(&[AUDIENCE]);
    validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    validation.leeway = 0;
    let Ok(data) = jsonwebtoken::decode::<Claims>(token, &state.keys.jwt_decoding, &validation)
    else {
        return Ok(None);
    };
    let row: Option<UserRow> = sqlx::query_as(
        "SELECT u.id, u.email, u.display_name, u.roles, u.created_at
         FROM sessions s JOIN users u ON u.id = s.user_id
         WHERE s.id = $1 AND s.user_id = $2 AND s.revoked_at IS NULL AND s.expires_at > now()",
    )
    .bind(data.claims.jti)
    .bind(data.claims.sub)
    .fetch_optional(&state.db)
    .await?;
    Ok(row.map(|row| AuthUser {
        user: row.into(),
        session_id: data.claims.jti,
    }))
}

/// Revokes a session at once.
pub async fn logout(db: &sqlx::PgPool, session_id: Uuid) -> Result<()> {
    sqlx::query("UPDATE sessions SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL")
        .bind(session_id)
        .execute(db)
        .await?;
    Ok(())
}

/// Creates a regulator or auditor account (only the `admin` command does this).
pub async fn create_staff_user(
    db: &sqlx::PgPool,
    email: &str,
    display_name: &str,
    password: String,
    role: Role,
) -> Result<User> {
    let email = Email::parse(email)?;
    let name = DisplayName::parse(display_name)?;
    let password = Password::parse(password)?;
    create_user(db, &email, &name, password, &[role]).await
}
