//! `/signup`, `/login`, `/logout` in the browser.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::header::SET_COOKIE;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;

use super::domain::{self_service_roles, DisplayName, Email, Password};
use super::throttle::{Refused, DEVICE_COOKIE};
use super::web::{device_cookie, refused_page, secure_attribute};
use super::LoginAttempt;
use crate::app::AppState;
use crate::error::Error as Refusal;
use crate::http::csrf::{cookie_value, CsrfForm};
use crate::http::error::Result;
use crate::http::extract::CurrentUser;
use crate::http::extract::{ClientAddress, MaybeUser, UserAgent, SESSION_COOKIE};
use crate::http::form::FieldErrors;
use crate::http::pages::{render, safe_next, with_notice, Chrome};
use crate::i18n::format::{default_zone_name, Zone, COMMON_ZONES};

/// Routes of this room.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/signup", get(signup_form).post(signup))
        .route("/login", get(login_form).post(login))
        .route("/logout", post(logout))
        .route("/me/settings", get(settings_form).post(save_settings))
}

#[derive(Template)]
#[template(path = "accounts/signup.html")]
struct SignupPage {
    chrome: Chrome,
    /// A refusal about no one field (too many sign-ups from this address).
    error: Option<String>,
    errors: FieldErrors,
    email: String,
    display_name: String,
    founder: bool,
    backer: bool,
}

#[derive(Template)]
#[template(path = "accounts/login.html")]
struct LoginPage {
    chrome: Chrome,
    error: Option<String>,
    email: String,
    next: String,
}

impl SignupPage {
    /// The refusal of `field` in the reader's language, for the template.
    fn err(&self, field: &str) -> Option<String> {
        self.errors.text(field, self.chrome.t)
    }

    /// Every refusal, as (field, text), for the summary above the form.
    fn summary(&self) -> Vec<(&'static str, String)> {
        self.errors.all(self.chrome.t)
    }
}

async fn signup_form(chrome: Chrome) -> Result<Response> {
    render(&SignupPage {
        chrome,
        error: None,
        errors: FieldErrors::new(),
        email: String::new(),
        display_name: String::new(),
        founder: false,
        backer: true,
    })
}

#[derive(Deserialize)]
struct SignupFields {
    email: String,
    display_name: String,
    password: String,
    founder: Option<String>,
    backer: Option<String>,
}

async fn signup(
    State(state): State<AppState>,
    chrome: Chrome,
    ClientAddress(address): ClientAddress,
    UserAgent(agent): UserAgent,
    CsrfForm(form): CsrfForm<SignupFields>,
) -> Result<Response, Refused> {
    let mut roles = Vec::new();
    if form.founder.is_some() {
        roles.push("founder".to_owned());
    }
    if form.backer.is_some() {
        roles.push("backer".to_owned());
    }
    let mut errors = FieldErrors::new();
    let email = errors.check("email", Email::parse(&form.email))?;
    let name = errors.check("display_name", DisplayName::parse(&form.display_name))?;
    let password = errors.check("password", Password::parse(form.password.clone()))?;
    let roles = errors.check("roles", self_service_roles(&roles))?;
    let (Some(email), Some(name), Some(password), Some(roles)) = (email, name, password, roles)
    else {
        let page = signup_page(chrome, &form, None, errors);
        return Ok(with_status(render(&page), StatusCode::UNPROCESSABLE_ENTITY));
    };
    let attempt = async {
        super::throttle::admit_signup(&state.db, address, state.settings.signup_limit_per_hour)
            .await?;
        let user = super::create_user(&state.db, &email, &name, password, &roles).await?;
        Ok::<_, Refused>(super::open_session(&state.db, &state.keys, user, agent.as_deref()).await?)
    }
    .await;
    match attempt {
        Ok(session) => Ok(signed_in(
            &state,
            &session,
            None,
            &with_notice("/", "signed_up"),
        )),
        Err(
            refused @ Refused {
                error: Refusal::Conflict(_),
                ..
            },
        ) => {
            // The one conflict of a sign-up: the address already has an account.
            let mut errors = FieldErrors::new();
            errors.add("email", refused.error.message());
            let page = signup_page(chrome, &form, None, errors);
            Ok(refused_page(refused, render(&page)))
        }
        Err(
            refused @ Refused {
                error: Refusal::Invalid(_) | Refusal::Throttled(_),
                ..
            },
        ) => {
            let message = refused.error.message().in_lang(chrome.t);
            let page = signup_page(chrome, &form, Some(message), FieldErrors::new());
            Ok(refused_page(refused, render(&page)))
        }
        Err(refused) => Err(refused),
    }
}

/// The sign-up form again, with what was typed (but the password) and what was refused.
fn signup_page(
    chrome: Chrome,
    form: &SignupFields,
    error: Option<String>,
    errors: FieldErrors,
) -> SignupPage {
    SignupPage {
        chrome,
        error,
        errors,
        email: form.email.clone(),
        display_name: form.display_name.clone(),
        founder: form.founder.is_some(),
        backer: form.backer.is_some(),
    }
}

fn with_status(page: Result<Response>, status: StatusCode) -> Response {
    let mut response = page.unwrap_or_else(IntoResponse::into_response);
    *response.status_mut() = status;
    response
}

#[derive(Deserialize)]
struct NextQuery {
    next: Option<String>,
}

async fn login_form(chrome: Chrome, Query(query): Query<NextQuery>) -> Result<Response> {
    render(&LoginPage {
        chrome,
        error: None,
        email: String::new(),
        next: safe_next(query.next.as_deref()).to_owned(),
    })
}

#[derive(Deserialize)]
struct LoginFields {
    email: String,
    password: String,
    next: Option<String>,
}

async fn login(
    State(state): State<AppState>,
    chrome: Chrome,
    ClientAddress(address): ClientAddress,
    UserAgent(agent): UserAgent,
    headers: HeaderMap,
    CsrfForm(form): CsrfForm<LoginFields>,
) -> Result<Response, Refused> {
    let next = safe_next(form.next.as_deref()).to_owned();
    let attempt = LoginAttempt {
        email: &form.email,
        password: form.password,
        address,
        device_token: cookie_value(&headers, DEVICE_COOKIE),
        user_agent: agent.as_deref(),
    };
    match super::login(&state.db, &state.keys, attempt).await {
        Ok(done) => Ok(signed_in(
            &state,
            &done.session,
            Some(&done.device_token),
            &with_notice(&next, "logged_in"),
        )),
        Err(
            refused @ Refused {
                error: Refusal::Unauthenticated(_) | Refusal::Throttled(_) | Refusal::Invalid(_),
                ..
            },
        ) => {
            let page = LoginPage {
                error: Some(refused.error.message().in_lang(chrome.t)),
                chrome,
                email: form.email,
                next,
            };
            Ok(refused_page(refused, render(&page)))
        }
        Err(refused) => Err(refused),
    }
}

async fn logout(
    State(state): State<AppState>,
    MaybeUser(user): MaybeUser,
    CsrfForm(_): CsrfForm<Empty>,
) -> Result<Response> {
    if let Some(user) = user {
        super::logout(&state.db, user.session_id).await?;
    }
    let mut response = Redirect::to("/").into_response();
    let cookie = format!("{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0");
    if let Ok(value) = cookie.parse() {
        response.headers_mut().append(SET_COOKIE, value);
    }
    Ok(response)
}

#[derive(Deserialize)]
struct Empty {}

fn signed_in(
    state: &AppState,
    session: &super::Session,
    device_token: Option<&str>,
    next: &str,
) -> Response {
    let secure = secure_attribute(&state.settings);
    let max_age = (session.expires_at - time::OffsetDateTime::now_utc()).whole_seconds();
    let cookie = format!(
        "{SESSION_COOKIE}={}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}",
        session.token
    );
    let mut response = Redirect::to(next).into_response();
    if let Ok(value) = cookie.parse() {
        response.headers_mut().append(SET_COOKIE, value);
    }
    if let Some(value) = device_token.and_then(|token| device_cookie(&state.settings, token)) {
        response.headers_mut().append(SET_COOKIE, value);
    }
    response
}

#[derive(Template)]
#[template(path = "accounts/settings.html")]
struct SettingsPage {
    chrome: Chrome,
    zones: &'static [&'static str],
    /// The zone chosen (as typed when refused); empty: the default of the language.
    chosen: String,
    /// Whether `chosen` is a zone the list does not offer (kept so the form shows it).
    unlisted: bool,
    default_label: String,
    /// The present moment in the reader's zone, so the choice shows what it does.
    now: String,
    zone_error: Option<String>,
}

fn settings_page(chrome: Chrome, chosen: String, zone_error: Option<String>) -> SettingsPage {
    let default = default_zone_name(chrome.lang);
    let unlisted = !chosen.is_empty() && !COMMON_ZONES.contains(&chosen.as_str());
    SettingsPage {
        zones: COMMON_ZONES,
        unlisted,
        default_label: chrome.t.fill("settings.zone_default", &[("zone", default)]),
        now: chrome.moment(&time::OffsetDateTime::now_utc()),
        chosen,
        zone_error,
        chrome,
    }
}

/// `GET /me/settings`: the signed-in user's settings.
async fn settings_form(chrome: Chrome, CurrentUser(user): CurrentUser) -> Result<Response> {
    let chosen = user
        .user
        .time_zone
        .as_deref()
        .and_then(Zone::named)
        .map(|z| z.name().to_owned())
        .unwrap_or_default();
    render(&settings_page(chrome, chosen, None))
}

#[derive(Deserialize)]
struct SettingsFields {
    #[serde(default)]
    time_zone: String,
}

/// `POST /me/settings`: stores the time zone; pages show times in it from the next one on.
async fn save_settings(
    State(state): State<AppState>,
    chrome: Chrome,
    CurrentUser(user): CurrentUser,
    CsrfForm(form): CsrfForm<SettingsFields>,
) -> Result<Response> {
    let chosen = form.time_zone.trim();
    let zone = Some(chosen).filter(|z| !z.is_empty());
    match super::settings::set_time_zone(&state.db, user.user.id, zone).await {
        Ok(()) => Ok(Redirect::to(&with_notice("/me/settings", "settings_saved")).into_response()),
        Err(Refusal::Invalid(message)) => {
            let text = message.in_lang(chrome.t);
            let page = settings_page(chrome, chosen.to_owned(), Some(text));
            Ok(with_status(render(&page), StatusCode::UNPROCESSABLE_ENTITY))
        }
        Err(e) => Err(e.into()),
    }
}
