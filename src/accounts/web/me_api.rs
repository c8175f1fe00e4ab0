//! `/api/v1/me/*` and `/api/v1/auth/password-reset*`: a user managing their own account.

use axum::extract::multipart::{Multipart, MultipartError, MultipartRejection};
use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouterExt};
use utoipa_axum::routes;

use super::mail;
use crate::accounts::avatar::{self, Avatar, MAX_AVATAR_BYTES};
use crate::accounts::domain::{DisplayName, Email, Password};
use crate::accounts::profile::{self, Bio, Changes};
use crate::accounts::sessions::{self, SessionInfo};
use crate::accounts::throttle::Refused;
use crate::accounts::{find_user, reset, User};
use crate::app::AppState;
use crate::error::Error as Refusal;
use crate::http::error::{Error, Message, Result};
use crate::http::extract::{ApiJson, ClientAddress, CurrentUser};
use crate::i18n::format::Zone;
use crate::i18n::Lang;

/// Body limit of the avatar upload: the largest avatar and the form around it.
pub const AVATAR_BODY_LIMIT: usize = MAX_AVATAR_BYTES + 64 * 1024;

/// Routes of this part, relative to `/api/v1`.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(update_me, delete_me))
        .routes(routes!(change_password))
        .routes(routes!(list_sessions, log_out_everywhere))
        .routes(routes!(request_reset))
        .routes(routes!(confirm_reset))
        .routes(routes!(request_email_change))
        .routes(routes!(confirm_email_change))
        .routes(routes!(upload_avatar).layer(DefaultBodyLimit::max(AVATAR_BODY_LIMIT)))
}

/// Body of `PATCH /api/v1/me`: every field is optional; those left out stay as they are.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MeUpdate {
    /// 1 to 80 characters besides surrounding spaces, no control characters.
    #[schema(max_length = 80)]
    pub display_name: Option<String>,
    /// An IANA time zone; the empty string: the default of the language.
    #[schema(max_length = 64)]
    pub time_zone: Option<String>,
    /// `zh` or `en`: the language of the user's mail and notifications.
    #[schema(pattern = "^(zh|en)$")]
    pub language: Option<String>,
    /// At most 500 characters.
    #[schema(max_length = 500)]
    pub bio: Option<String>,
    /// Whether anyone may see the list of projects one backed (the count is always shown).
    pub backed_public: Option<bool>,
    /// `true` adds the founder role (it cannot be given up here).
    pub founder: Option<bool>,
}

impl TryFrom<MeUpdate> for Changes {
    type Error = Refusal;

    fn try_from(body: MeUpdate) -> std::result::Result<Self, Refusal> {
        let time_zone = match body.time_zone.as_deref().map(str::trim) {
            None => None,
            Some("") => Some(None),
            Some(name) => Some(Some(
                Zone::named(name).ok_or_else(|| Refusal::invalid("settings.unknown_zone"))?,
            )),
        };
        let language = body
            .language
            .map(|code| {
                Lang::from_code(&code).ok_or_else(|| Refusal::invalid("accounts.error.language"))
            })
            .transpose()?;
        Ok(Changes {
            display_name: body
                .display_name
                .as_deref()
                .map(DisplayName::parse)
                .transpose()?,
            time_zone,
            language,
            bio: body.bio.as_deref().map(Bio::parse).transpose()?,
            backed_public: body.backed_public,
            become_founder: body.founder == Some(true),
        })
    }
}

/// Changes the signed-in user's name, time zone, language, bio, privacy or roles.
#[utoipa::path(patch, path = "/api/v1/me", tag = "accounts", security(("bearer" = [])),
    request_body = MeUpdate,
    responses((status = 200, body = User), (status = 401, description = "not signed in"),
              (status = 403, description = "signed in by cookie without a valid `X-CSRF-Token` header"),
              (status = 422, description = "a field is refused (unknown zone or language, name or bio too long)")))]
pub async fn update_me(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiJson(body): ApiJson<MeUpdate>,
) -> Result<ApiJson<User>> {
    let changes = Changes::try_from(body)?;
    profile::update(&state.db, user.user.id, &changes).await?;
    let updated = find_user(&state.db, user.user.id)
        .await?
        .ok_or(Error::NotFound)?;
    Ok(ApiJson(updated))
}

/// Body of `DELETE /api/v1/me`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct DeleteMe {
    /// The current password, so a stolen session alone cannot delete the account.
    #[schema(max_length = 1024)]
    pub password: String,
}

/// Deletes the signed-in user's account: e-mail, name, bio, avatar, password and sessions are
/// removed; pledges and ledger commitments stay (under a nameless tombstone).
#[utoipa::path(delete, path = "/api/v1/me", tag = "accounts", security(("bearer" = [])),
    request_body = DeleteMe,
    responses((status = 204), (status = 401, description = "not signed in"),
              (status = 403, description = "signed in by cookie without a valid `X-CSRF-Token` header"),
              (status = 409, description = "the wallet holds money, a pledge is active, a withdrawal is pending or a founded project has not ended"),
              (status = 422, description = "wrong password"),
              (status = 429, description = "too many wrong passwords for this account lately (counted with its failed log-ins)",
               headers(("Retry-After" = u64, description = "seconds until a check is accepted again"))),
              (status = 503, description = "too many passwords being checked; try again",
               headers(("Retry-After" = u64, description = "seconds to wait")))))]
pub async fn delete_me(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiJson(body): ApiJson<DeleteMe>,
) -> Result<StatusCode, Refused> {
    super::mail::delete_account(&state, &user.user, body.password).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Body of `POST /api/v1/me/password`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct PasswordChange {
    #[schema(max_length = 1024)]
    pub current_password: String,
    /// 10 to 1,024 characters.
    #[schema(min_length = 10, max_length = 1024)]
    pub new_password: String,
}

/// Changes the password (the current one is required); every other session ends.
#[utoipa::path(post, path = "/api/v1/me/password", tag = "accounts", security(("bearer" = [])),
    request_body = PasswordChange,
    responses((status = 204), (status = 401, description = "not signed in"),
              (status = 403, description = "signed in by cookie without a valid `X-CSRF-Token` header"),
              (status = 422, description = "wrong current password, or a new one too short or too long"),
              (status = 429, description = "too many wrong passwords for this account lately (counted with its failed log-ins)",
               headers(("Retry-After" = u64, description = "seconds until a check is accepted again"))),
              (status = 503, description = "too many passwords being hashed; try again",
               headers(("Retry-After" = u64, description = "seconds to wait")))))]
pub async fn change_password(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiJson(body): ApiJson<PasswordChange>,
) -> Result<StatusCode, Refused> {
    let new_password = Password::parse(body.new_password)?;
    sessions::change_password(
        &state.db,
        user.user.id,
        user.session_id,
        body.current_password,
        new_password,
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The signed-in user's open sessions, newest first (at most 100).
#[utoipa::path(get, path = "/api/v1/me/sessions", tag = "accounts", security(("bearer" = [])),
    responses((status = 200, body = [SessionInfo]), (status = 401, description = "not signed in")))]
pub async fn list_sessions(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
) -> Result<ApiJson<Vec<SessionInfo>>> {
    Ok(ApiJson(
        sessions::list(&state.db, user.user.id, user.session_id).await?,
    ))
}

/// Logs out everywhere: every session of the account ends, this one too.
#[utoipa::path(delete, path = "/api/v1/me/sessions", tag = "accounts", security(("bearer" = [])),
    responses((status = 204), (status = 401, description = "not signed in"),
              (status = 403, description = "signed in by cookie without a valid `X-CSRF-Token` header")))]
pub async fn log_out_everywhere(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
) -> Result<StatusCode> {
    sessions::log_out_everywhere(&state.db, user.user.id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Body of `POST /api/v1/auth/password-reset`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct ResetRequest {
    #[schema(max_length = 254)]
    pub email: String,
}

/// Asks for a password reset link. The answer is the same whether or not an account has this
/// address: the link is mailed only when it has.
#[utoipa::path(post, path = "/api/v1/auth/password-reset", tag = "accounts",
    request_body = ResetRequest,
    responses((status = 202, description = "if the address has an account, a link is on its way"),
              (status = 422, description = "an address longer than 254 bytes"),
              (status = 429, description = "too many reset requests for this address or from this network",
               headers(("Retry-After" = u64, description = "seconds until a request is accepted again"))),
              (status = 503, description = "too many passwords being hashed; try again",
               headers(("Retry-After" = u64, description = "seconds to wait")))))]
pub async fn request_reset(
    State(state): State<AppState>,
    ClientAddress(address): ClientAddress,
    ApiJson(body): ApiJson<ResetRequest>,
) -> Result<StatusCode, Refused> {
    if body.email.len() > Email::MAX_BYTES {
        return Err(Refusal::invalid("accounts.error.email_long").into());
    }
    reset::admit(&state.db, &body.email, address).await?;
    mail::send_reset(&state, &body.email).await?;
    Ok(StatusCode::ACCEPTED)
}

/// Body of `POST /api/v1/auth/password-reset/confirm`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct ResetConfirm {
    /// The token of the mailed link.
    #[schema(max_length = 64)]
    pub token: String,
    /// 10 to 1,024 characters.
    #[schema(min_length = 10, max_length = 1024)]
    pub password: String,
}

/// Sets a new password with a reset link's token (once, within 30 minutes); every session of
/// the account ends.
#[utoipa::path(post, path = "/api/v1/auth/password-reset/confirm", tag = "accounts",
    request_body = ResetConfirm,
    responses((status = 204), (status = 422, description = "token unknown, used or expired, or the password too short or too long"),
              (status = 503, description = "too many passwords being hashed; try again",
               headers(("Retry-After" = u64, description = "seconds to wait")))))]
pub async fn confirm_reset(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<ResetConfirm>,
) -> Result<StatusCode> {
    let password = Password::parse(body.password)?;
    reset::confirm(&state.db, &body.token, password).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Body of `POST /api/v1/me/email`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct EmailChange {
    /// The new address; a link to confirm it is mailed there.
    #[schema(max_length = 254)]
    pub email: String,
    /// The current password, so a stolen session alone cannot move the account away.
    #[schema(max_length = 1024)]
    pub password: String,
}

/// Asks to change the e-mail address: a link goes to the new address, and the account's
/// address changes only when it is opened.
#[utoipa::path(post, path = "/api/v1/me/email", tag = "accounts", security(("bearer" = [])),
    request_body = EmailChange,
    responses((status = 202, description = "the link is on its way to the new address"),
              (status = 401, description = "not signed in"),
              (status = 403, description = "signed in by cookie without a valid `X-CSRF-Token` header"),
              (status = 409, description = "another account has this address"),
              (status = 422, description = "not an e-mail address, or a wrong current password"),
              (status = 429, description = "too many changes asked for in the last hour, or too many wrong passwords for this account lately",
               headers(("Retry-After" = u64, description = "seconds until a request is accepted again"))),
              (status = 503, description = "too many passwords being checked; try again",
               headers(("Retry-After" = u64, description = "seconds to wait")))))]
pub async fn request_email_change(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiJson(body): ApiJson<EmailChange>,
) -> Result<StatusCode, Refused> {
    let email = Email::parse(&body.email)?;
    mail::send_email_change(&state, &user.user, &email, body.password).await?;
    Ok(StatusCode::ACCEPTED)
}

/// Body of `POST /api/v1/me/email/confirm`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct EmailConfirm {
    #[schema(max_length = 64)]
    pub token: String,
}

/// Opens an e-mail change link: the account takes the new address.
#[utoipa::path(post, path = "/api/v1/me/email/confirm", tag = "accounts",
    request_body = EmailConfirm,
    responses((status = 204), (status = 409, description = "another account took the address meanwhile"),
              (status = 422, description = "token unknown, used or expired")))]
pub async fn confirm_email_change(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<EmailConfirm>,
) -> Result<StatusCode> {
    mail::confirm_email_change(&state, &body.token).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The form of an avatar upload (for the OpenAPI document).
#[derive(utoipa::ToSchema)]
#[expect(
    dead_code,
    reason = "describes the multipart body in the OpenAPI document only"
)]
pub struct AvatarUpload {
    #[schema(value_type = String, format = Binary)]
    avatar: Vec<u8>,
}

/// Uploads the avatar (multipart field `avatar`: PNG, JPEG or WebP, at most 1 MiB).
#[utoipa::path(put, path = "/api/v1/me/avatar", tag = "accounts", security(("bearer" = [])),
    request_body(content_type = "multipart/form-data", content = AvatarUpload, description = "field `avatar`: the image"),
    responses((status = 204), (status = 400, description = "not a multipart/form-data body with an `avatar` field"),
              (status = 401, description = "not signed in"),
              (status = 403, description = "signed in by cookie without a valid `X-CSRF-Token` header"),
              (status = 413, description = "over 1 MiB"),
              (status = 422, description = "not a PNG, JPEG or WebP image")))]
pub async fn upload_avatar(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    form: std::result::Result<Multipart, MultipartRejection>,
) -> Result<StatusCode> {
    let form = form.map_err(|e| Error::BadRequest(Message::Text(e.body_text())))?;
    let upload = read_avatar(form).await?;
    avatar::save(&state.db, user.user.id, &upload.avatar).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// An avatar read from a multipart form, with the form's CSRF field if it had one.
pub struct AvatarForm {
    pub avatar: Avatar,
    pub csrf: Option<String>,
}

fn multipart_error(e: MultipartError) -> Refusal {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        Refusal::TooLarge
    } else {
        Refusal::malformed("accounts.error.avatar_form")
    }
}

/// Reads the `avatar` file (and `csrf`) from a multipart form.
pub async fn read_avatar(mut form: Multipart) -> std::result::Result<AvatarForm, Refusal> {
    let mut bytes = None;
    let mut csrf = None;
    while let Some(field) = form.next_field().await.map_err(multipart_error)? {
        match field.name() {
            Some("avatar") => bytes = Some(field.bytes().await.map_err(multipart_error)?),
            Some("csrf") => csrf = Some(field.text().await.map_err(multipart_error)?),
            _ => {}
        }
    }
    let bytes = bytes.ok_or_else(|| Refusal::invalid("accounts.error.avatar_missing"))?;
    Ok(AvatarForm {
        avatar: Avatar::parse(bytes.to_vec())?,
        csrf,
    })
}
