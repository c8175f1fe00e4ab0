//! Users, password hashing, sessions and the pages and API that manage them.
//!
//! The domain (this file, `domain`, `password`, `throttle`, `contacts`) knows nothing of HTTP:
//! it takes the pool and the keys it needs. `api`, `pages` and `web` are its handlers.

pub mod api;
pub mod avatar;
pub mod contacts;
pub mod domain;
pub mod email_change;
pub mod pages;
pub mod password;
pub mod profile;
pub mod reset;
pub mod sessions;
pub mod throttle;
pub mod tokens;
pub mod web;

use std::net::IpAddr;

use jsonwebtoken::{Algorithm, Header, Validation};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::error::{Error, Message, Result, ResultExt};
use crate::ids::SessionId;
use crate::keys::Keys;
use domain::{DisplayName, Email, Password, Role, UserId};
use throttle::Refused;

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
    /// The IANA time zone the user reads times in; absent: the default of their language.
    pub time_zone: Option<String>,
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
    pub session_id: SessionId,
}

#[derive(sqlx::FromRow)]
struct UserRow {
    id: UserId,
    email: String,
    display_name: String,
    roles: Vec<String>,
    created_at: OffsetDateTime,
    time_zone: Option<String>,
}

impl From<UserRow> for User {
    fn from(row: UserRow) -> Self {
        User {
            id: row.id,
            email: row.email,
            display_name: row.display_name,
            roles: row.roles.iter().filter_map(|r| Role::parse(r)).collect(),
            created_at: row.created_at,
            time_zone: row.time_zone,
        }
    }
}

/// Creates an account that reads its mail and notifications in `language`. A second account for
/// the same email, in any case, is a conflict.
pub async fn create_user(
    db: &PgPool,
    email: &Email,
    display_name: &DisplayName,
    password: Password,
    roles: &[Role],
    language: crate::i18n::Lang,
) -> Result<User> {
    // A taken address is answered without spending a hash on it; the unique index below still
    // decides a race between two sign-ups for one address.
    let taken: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM users WHERE lower(email) = $1)")
            .bind(email.as_str())
            .fetch_one(db)
            .await?;
    if taken {
        return Err(Error::Conflict(Message::Key("accounts.error.email_taken")));
    }
    let hash = password::hash(password).await?;
    let roles: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
    let row: UserRow = sqlx::query_as(
        "INSERT INTO users (id, email, display_name, password_hash, roles, language)
         VALUES ($1, $2, $3, $4, $5, $6)
         RETURNING id, email, display_name, roles, created_at, time_zone",
    )
    .bind(UserId(Uuid::new_v4()))
    .bind(email.as_str())
    .bind(display_name.as_str())
    .bind(hash)
    .bind(&roles)
    .bind(language.code())
    .fetch_one(db)
    .await
    .on_constraint("users_email_key", |_| {
        Error::conflict("accounts.error.email_taken")
    })?;
    Ok(row.into())
}

/// Looks a user up by id.
pub async fn find_user(db: &PgPool, id: UserId) -> Result<Option<User>> {
    let row: Option<UserRow> = sqlx::query_as(
        "SELECT id, email, display_name, roles, created_at, time_zone FROM users WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(db)
    .await?;
    Ok(row.map(User::from))
}

/// Looks a user up by e-mail address (case is folded, as at sign-up).
pub async fn find_user_by_email(db: &PgPool, email: &Email) -> Result<Option<User>> {
    let row: Option<UserRow> = sqlx::query_as(
        "SELECT id, email, display_name, roles, created_at, time_zone FROM users WHERE lower(email) = $1",
    )
    .bind(email.as_str())
    .fetch_optional(db)
    .await?;
    Ok(row.map(User::from))
}

/// Whether any account exists yet (the demo loads only into an empty database).
pub async fn has_users(db: &PgPool) -> Result<bool> {
    Ok(sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM users)")
        .fetch_one(db)
        .await?)
}

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
    sub: UserId,
    jti: SessionId,
    iat: i64,
    exp: i64,
    iss: String,
    aud: String,
}

/// A log-in attempt as it arrived.
pub struct LoginAttempt<'a> {
    pub email: &'a str,
    pub password: String,
    /// The client's address (see `ClientAddress`).
    pub address: Option<IpAddr>,
    /// The device token the client presented, if any.
    pub device_token: Option<&'a str>,
    pub user_agent: Option<&'a str>,
}

/// A successful log-in: the session, and a fresh device token for the client to keep.
pub struct LoggedIn {
    pub session: Session,
    pub device_token: String,
}

/// Checks the password and opens a session. A client with a valid device token for the account
/// is held only to that device's own failures; any other client is held to the account's and
/// the address's (see `throttle`). The attempt is counted before its password is checked, so
/// parallel guesses are held to the same limits as sequential ones. Refusals for too many
/// failures say when to retry.
pub async fn login(
    db: &PgPool,
    keys: &Keys,
    attempt: LoginAttempt<'_>,
) -> Result<LoggedIn, Refused> {
    // Refused before any lookup or hash, the same for every account, so it tells nothing.
    if attempt.password.len() > Password::MAX_BYTES {
        return Err(Error::invalid("accounts.error.password_long").into());
    }
    let email = attempt.email.trim().to_lowercase();
    // No account has a longer address, so this is a malformed request, not a failed log-in; it
    // is neither looked up nor recorded (PostgreSQL refuses index entries of a few kilobytes).
    if email.len() > Email::MAX_BYTES {
        return Err(Error::invalid("accounts.error.email_long").into());
    }
    let found: Option<Credentials> = sqlx::query_as(
        "SELECT id, password_hash FROM users WHERE lower(email) = $1 AND deleted_at IS NULL",
    )
    .bind(&email)
    .fetch_optional(db)
    .await
    .map_err(Error::from)?;
    let device = attempt
        .device_token
        .and_then(|token| throttle::read_device(&keys.device, token))
        .filter(|device| found.as_ref().is_some_and(|c| device.user == c.id));
    let admitted = throttle::admit_login(db, &email, attempt.address, device.as_ref()).await?;

    let (id, stored) = match found {
        Some(Credentials { id, password_hash }) => (Some(id), Some(password_hash)),
        None => (None, None),
    };
    let ok = match password::verify(attempt.password, stored).await {
        Ok(ok) => ok,
        Err(e) => {
            // The password was never checked (no hashing place came free), so no guess was made.
            throttle::forget(db, admitted).await?;
            return Err(e.into());
        }
    };
    let Some(id) = id.filter(|_| ok) else {
        // The attempt stays recorded: it was a failure.
        return Err(Error::Unauthenticated(Message::Key("accounts.error.bad_credentials")).into());
    };
    throttle::forget(db, admitted).await?;
    let user = find_user(db, id)
        .await?
        .ok_or(Error::Unauthenticated(Message::Key("error.unauthorized")))?;
    let session = open_session(db, keys, user, attempt.user_agent).await?;
    Ok(LoggedIn {
        device_token: throttle::issue_device(&keys.device, id),
        session,
    })
}

/// What a log-in checks a password against.
#[derive(sqlx::FromRow)]
struct Credentials {
    id: UserId,
    password_hash: String,
}

/// Records a session and signs its token.
pub async fn open_session(
    db: &PgPool,
    keys: &Keys,
    user: User,
    user_agent: Option<&str>,
) -> Result<Session> {
    let session_id = SessionId(Uuid::new_v4());
    let now = OffsetDateTime::now_utc();
    let expires_at = now + time::Duration::hours(SESSION_HOURS);
    sqlx::query(
        "INSERT INTO sessions (id, user_id, expires_at, user_agent) VALUES ($1, $2, $3, $4)",
    )
    .bind(session_id)
    .bind(user.id)
    .bind(expires_at)
    .bind(user_agent.map(|ua| ua.chars().take(200).collect::<String>()))
    .execute(db)
    .await?;
    let claims = Claims {
        sub: user.id,
        jti: session_id,
        iat: now.unix_timestamp(),
        exp: expires_at.unix_timestamp(),
        iss: ISSUER.into(),
        aud: AUDIENCE.into(),
    };
    let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &keys.jwt_encoding)
        .map_err(|e| Error::Internal(e.into()))?;
    Ok(Session {
        token,
        expires_at,
        user,
    })
}

/// The claims of a genuine, unexpired token (its session may still have been revoked).
fn claims(keys: &Keys, token: &str) -> Option<Claims> {
    // Only HS256 is accepted: `alg: none` and algorithm confusion are refused by construction.
    let mut validation = Validation::new(Algorithm::HS256);
    validation.set_issuer(&[ISSUER]);
    validation.set_audience(&[AUDIENCE]);
    validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    validation.leeway = 0;
    jsonwebtoken::decode::<Claims>(token, &keys.jwt_decoding, &validation)
        .ok()
        .map(|data| data.claims)
}

/// The session id a genuine, unexpired token names, without asking the database (the CSRF token
/// is bound to it).
pub fn session_id_of_token(keys: &Keys, token: &str) -> Option<SessionId> {
    claims(keys, token).map(|claims| claims.jti)
}

/// The user behind a token, if the token is genuine, current, and its session not revoked.
pub async fn authenticate(db: &PgPool, keys: &Keys, token: &str) -> Result<Option<AuthUser>> {
    let Some(claims) = claims(keys, token) else {
        return Ok(None);
    };
    let row: Option<UserRow> = sqlx::query_as(
        "SELECT u.id, u.email, u.display_name, u.roles, u.created_at, u.time_zone
         FROM sessions s JOIN users u ON u.id = s.user_id
         WHERE s.id = $1 AND s.user_id = $2 AND s.revoked_at IS NULL AND s.expires_at > now()
           AND u.deleted_at IS NULL",
    )
    .bind(claims.jti)
    .bind(claims.sub)
    .fetch_optional(db)
    .await?;
    Ok(row.map(|row| AuthUser {
        user: row.into(),
        session_id: claims.jti,
    }))
}

/// Revokes a session at once.
pub async fn logout(db: &PgPool, session_id: SessionId) -> Result<()> {
    sqlx::query("UPDATE sessions SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL")
        .bind(session_id)
        .execute(db)
        .await?;
    Ok(())
}

/// Creates a regulator or auditor account (only the `admin` command does this).
pub async fn create_staff_user(
    db: &PgPool,
    email: &str,
    display_name: &str,
    password: String,
    role: Role,
) -> Result<User> {
    let email = Email::parse(email)?;
    let name = DisplayName::parse(display_name)?;
    let password = Password::parse(password)?;
    create_user(db, &email, &name, password, &[role], crate::i18n::Lang::Zh).await
}
