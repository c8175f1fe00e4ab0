//! `/me/settings` and its forms: profile (name, zone, language, bio, privacy, founder role),
//! avatar, e-mail change, password change, sessions and logging out everywhere, and deleting the
//! account. Each refusal is shown beside its field; destructive actions ask first.

use askama::Template;
use axum::extract::multipart::{Multipart, MultipartRejection};
use axum::extract::State;
use axum::http::header::SET_COOKIE;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::{mail, me_api};
use crate::accounts::domain::{DisplayName, Email, Password, Role};
use crate::accounts::profile::{self, Bio, Changes};
use crate::accounts::sessions::{self, SessionInfo};
use crate::accounts::throttle::Refused;
use crate::accounts::{avatar, AuthUser};
use crate::app::AppState;
use crate::error::Error as Refusal;
use crate::http::confirm::{is_confirmed, Carried, Confirm, ConfirmOnly};
use crate::http::csrf::CsrfForm;
use crate::http::error::{Error, Result};
use crate::http::extract::{CurrentUser, SESSION_COOKIE};
use crate::http::form::FieldErrors;
use crate::http::pages::{render, with_notice, Chrome};
use crate::i18n::format::{default_zone_name, Zone, COMMON_ZONES};
use crate::i18n::Lang;

/// What the profile form shows: as stored, or as typed when refused.
pub struct ProfileFields {
    pub display_name: String,
    pub time_zone: String,
    pub language: String,
    pub bio: String,
    pub backed_public: bool,
}

#[derive(Template)]
#[template(path = "accounts/settings.html")]
struct SettingsPage {
    chrome: Chrome,
    zones: &'static [&'static str],
    fields: ProfileFields,
    /// Whether the chosen zone is one the list does not offer (kept so the form shows it).
    unlisted: bool,
    default_label: String,
    /// The present moment in the reader's zone, so the choice shows what it does.
    now: String,
    is_founder: bool,
    email: String,
    user_id: String,
    sessions: Vec<SessionInfo>,
    errors: FieldErrors,
}

impl SettingsPage {
    fn err(&self, field: &str) -> Option<String> {
        self.errors.text(field, self.chrome.t)
    }

    fn summary(&self) -> Vec<(&'static str, String)> {
        self.errors.all(self.chrome.t)
    }
}

async fn stored_fields(state: &AppState, user: &AuthUser) -> Result<ProfileFields> {
    let shown = profile::public(&state.db, user.user.id)
        .await?
        .ok_or(Error::NotFound)?;
    let language = profile::language(&state.db, user.user.id).await?;
    Ok(ProfileFields {
        display_name: user.user.display_name.clone(),
        time_zone: user
            .user
            .time_zone
            .as_deref()
            .and_then(Zone::named)
            .map(|z| z.name().to_owned())
            .unwrap_or_default(),
        language: language.code().to_owned(),
        bio: shown.bio,
        backed_public: shown.backed_public,
    })
}

async fn settings_page(
    state: &AppState,
    chrome: Chrome,
    user: &AuthUser,
    fields: Option<ProfileFields>,
    errors: FieldErrors,
) -> Result<Response> {
    let fields = match fields {
        Some(fields) => fields,
        None => stored_fields(state, user).await?,
    };
    let sessions = sessions::list(&state.db, user.user.id, user.session_id).await?;
    let default = default_zone_name(chrome.lang);
    let page = SettingsPage {
        zones: COMMON_ZONES,
        unlisted: !fields.time_zone.is_empty()
            && !COMMON_ZONES.contains(&fields.time_zone.as_str()),
        default_label: chrome.t.fill("settings.zone_default", &[("zone", default)]),
        now: chrome.moment(&time::OffsetDateTime::now_utc()),
        is_founder: user.user.has_role(Role::Founder),
        email: user.user.email.clone(),
        user_id: user.user.id.0.to_string(),
        sessions,
        fields,
        errors,
        chrome,
    };
    let refused = !page.errors.is_empty();
    let mut response = render(&page)?;
    if refused {
        *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    Ok(response)
}

/// `GET /me/settings`.
pub async fn settings_form(
    State(state): State<AppState>,
    chrome: Chrome,
    CurrentUser(user): CurrentUser,
) -> Result<Response> {
    settings_page(&state, chrome, &user, None, FieldErrors::new()).await
}

/// The profile form as posted.
#[derive(Deserialize)]
pub struct SettingsFields {
    #[serde(default)]
    display_name: Option<String>,
    #[serde(default)]
    time_zone: String,
    #[serde(default)]
    language: Option<String>,
    #[serde(default)]
    bio: Option<String>,
    #[serde(default)]
    backed_public: Option<String>,
    #[serde(default)]
    founder: Option<String>,
}

/// `POST /me/settings`: stores the profile; pages show times in the zone from the next one on.
pub async fn save_settings(
    State(state): State<AppState>,
    chrome: Chrome,
    CurrentUser(user): CurrentUser,
    CsrfForm(form): CsrfForm<SettingsFields>,
) -> Result<Response> {
    let mut errors = FieldErrors::new();
    let name = match form.display_name.as_deref() {
        Some(raw) => errors.check("display_name", DisplayName::parse(raw))?,
        None => None,
    };
    let chosen = form.time_zone.trim();
    let zone = if chosen.is_empty() {
        Some(None)
    } else {
        errors
            .check(
                "time_zone",
                Zone::named(chosen).ok_or_else(|| Refusal::invalid("settings.unknown_zone")),
            )?
            .map(Some)
    };
    let language = match form.language.as_deref() {
        Some(code) => errors.check(
            "language",
            Lang::from_code(code).ok_or_else(|| Refusal::invalid("accounts.error.language")),
        )?,
        None => None,
    };
    let bio = match form.bio.as_deref() {
        Some(raw) => errors.check("bio", Bio::parse(raw))?,
        None => None,
    };
    if !errors.is_empty() {
        let mut fields = stored_fields(&state, &user).await?;
        if let Some(name) = form.display_name {
            fields.display_name = name;
        }
        fields.time_zone = chosen.to_owned();
        if let Some(bio) = form.bio {
            fields.bio = bio;
        }
        fields.backed_public = form.backed_public.is_some();
        return settings_page(&state, chrome, &user, Some(fields), errors).await;
    }
    let changes = Changes {
        display_name: name,
        time_zone: zone,
        language,
        bio,
        // The form sends the box only when it is ticked; a form without the bio field (an old
        // page) leaves the choice alone.
        backed_public: form.bio.as_ref().map(|_| form.backed_public.is_some()),
        become_founder: form.founder.is_some(),
    };
    profile::update(&state.db, user.user.id, &changes).await?;
    Ok(Redirect::to(&with_notice("/me/settings", "settings_saved")).into_response())
}

/// `POST /me/avatar` (multipart: `avatar`, `csrf`).
pub async fn upload_avatar(
    State(state): State<AppState>,
    chrome: Chrome,
    CurrentUser(user): CurrentUser,
    form: std::result::Result<Multipart, MultipartRejection>,
) -> Result<Response> {
    let form = form.map_err(|_| Error::bad_request("accounts.error.avatar_form"))?;
    match me_api::read_avatar(form).await {
        Ok(upload) => {
            if upload.csrf.as_deref() != Some(chrome.csrf.as_str()) {
                return Err(Error::Csrf);
            }
            avatar::save(&state.db, user.user.id, &upload.avatar).await?;
            Ok(Redirect::to(&with_notice("/me/settings", "account.avatar_saved")).into_response())
        }
        Err(refusal @ (Refusal::Invalid(_) | Refusal::TooLarge | Refusal::Malformed(_))) => {
            let too_large = matches!(refusal, Refusal::TooLarge);
            let mut errors = FieldErrors::new();
            errors.add(
                "avatar",
                if too_large {
                    crate::error::Message::Key("accounts.error.avatar_large")
                } else {
                    refusal.message()
                },
            );
            let mut response = settings_page(&state, chrome, &user, None, errors).await?;
            if too_large {
                *response.status_mut() = StatusCode::PAYLOAD_TOO_LARGE;
            }
            Ok(response)
        }
        Err(e) => Err(e.into()),
    }
}

/// The settings page again with `refused`'s message beside `field`, with its status and, when
/// it says when to come back, `Retry-After`; a refusal without a message is the error page.
async fn refused_on(
    state: &AppState,
    chrome: Chrome,
    user: &AuthUser,
    field: &'static str,
    refused: Refused,
) -> Result<Response> {
    let message = match &refused.error {
        Refusal::Invalid(m) | Refusal::Conflict(m) | Refusal::Throttled(m) => m.clone(),
        _ => return Err(refused.error.into()),
    };
    let mut errors = FieldErrors::new();
    errors.add(field, message);
    let page = settings_page(state, chrome, user, None, errors).await;
    Ok(super::refused_page(refused, page))
}

/// The e-mail form as posted.
#[derive(Deserialize)]
pub struct EmailFields {
    email: String,
    #[serde(default)]
    email_password: String,
}

/// `POST /me/email`: mails a confirmation link to the new address.
pub async fn change_email(
    State(state): State<AppState>,
    chrome: Chrome,
    CurrentUser(user): CurrentUser,
    CsrfForm(form): CsrfForm<EmailFields>,
) -> Result<Response> {
    let mut errors = FieldErrors::new();
    if let Some(email) = errors.check("email", Email::parse(&form.email))? {
        match mail::send_email_change(&state, &user.user, &email, form.email_password).await {
            Ok(()) => {
                let to = with_notice("/me/settings", "account.email_link_sent");
                return Ok(Redirect::to(&to).into_response());
            }
            Err(refused) => {
                let field = match refused.error {
                    Refusal::Conflict(_) => "email",
                    _ => "email_password",
                };
                return refused_on(&state, chrome, &user, field, refused).await;
            }
        }
    }
    settings_page(&state, chrome, &user, None, errors).await
}

/// The password form as posted.
#[derive(Deserialize)]
pub struct PasswordFields {
    current_password: String,
    new_password: String,
}

/// `POST /me/password`: the current password is required; every other session ends.
pub async fn change_password(
    State(state): State<AppState>,
    chrome: Chrome,
    CurrentUser(user): CurrentUser,
    CsrfForm(form): CsrfForm<PasswordFields>,
) -> Result<Response> {
    let mut errors = FieldErrors::new();
    if let Some(new_password) = errors.check("new_password", Password::parse(form.new_password))? {
        let changed = sessions::change_password(
            &state.db,
            user.user.id,
            user.session_id,
            form.current_password,
            new_password,
        )
        .await;
        match changed {
            Ok(()) => {
                let to = with_notice("/me/settings", "account.password_changed");
                return Ok(Redirect::to(&to).into_response());
            }
            Err(refused) => {
                return refused_on(&state, chrome, &user, "current_password", refused).await
            }
        }
    }
    settings_page(&state, chrome, &user, None, errors).await
}

/// `POST /me/sessions/end`: logs out everywhere, after asking.
pub async fn end_sessions(
    State(state): State<AppState>,
    chrome: Chrome,
    CurrentUser(user): CurrentUser,
    CsrfForm(form): CsrfForm<ConfirmOnly>,
) -> Result<Response> {
    if !form.confirmed() {
        return Confirm {
            heading: chrome.t.get("account.end_sessions.heading").to_owned(),
            subject: user.user.display_name.clone(),
            consequence: chrome.t.get("account.end_sessions.consequence").to_owned(),
            action: "/me/sessions/end".into(),
            fields: Vec::new(),
            back: "/me/settings".into(),
            danger: true,
            chrome,
        }
        .respond();
    }
    sessions::log_out_everywhere(&state.db, user.user.id).await?;
    Ok(signed_out(&with_notice(
        "/login",
        "account.logged_out_everywhere",
    )))
}

/// The deletion form as posted.
#[derive(Deserialize)]
pub struct DeleteFields {
    #[serde(default)]
    delete_password: String,
    #[serde(default)]
    confirm: Option<String>,
}

/// `POST /me/delete`: checks the password, asks, then deletes the account.
pub async fn delete_account(
    State(state): State<AppState>,
    chrome: Chrome,
    CurrentUser(user): CurrentUser,
    CsrfForm(form): CsrfForm<DeleteFields>,
) -> Result<Response> {
    if let Err(refused) =
        sessions::confirm_password(&state.db, user.user.id, form.delete_password.clone()).await
    {
        return refused_on(&state, chrome, &user, "delete_password", refused).await;
    }
    if !is_confirmed(form.confirm.as_deref()) {
        return Confirm {
            heading: chrome.t.get("account.delete.heading").to_owned(),
            subject: user.user.display_name.clone(),
            consequence: chrome.t.get("account.delete.consequence").to_owned(),
            action: "/me/delete".into(),
            fields: vec![Carried::hidden("delete_password", &form.delete_password)],
            back: "/me/settings".into(),
            danger: true,
            chrome,
        }
        .respond();
    }
    match mail::delete_account(&state, &user.user, form.delete_password).await {
        Ok(()) => Ok(signed_out(&with_notice("/", "account.deleted"))),
        Err(refused) => refused_on(&state, chrome, &user, "delete_password", refused).await,
    }
}

/// A redirect to `to` that also forgets the session cookie.
fn signed_out(to: &str) -> Response {
    let mut response = Redirect::to(to).into_response();
    let cookie = format!("{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0");
    if let Ok(value) = cookie.parse() {
        response.headers_mut().append(SET_COOKIE, value);
    }
    response
}
