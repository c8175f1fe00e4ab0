//! `/signup`, `/login`, `/logout` in the browser.

use askama::Template;
use axum::extract::{DefaultBodyLimit, Query, State};
use axum::http::header::SET_COOKIE;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;

use super::domain::{self_service_roles, DisplayName, Email, Password};
use super::throttle::{Refused, DEVICE_COOKIE};
use super::web::me_api::AVATAR_BODY_LIMIT;
use super::web::{
    account_pages, device_cookie, profile, refused_page, reset_pages, secure_attribute,
};
use super::LoginAttempt;
use crate::app::AppState;
use crate::error::Error as Refusal;
use crate::http::csrf::{cookie_value, CsrfForm};
use crate::http::error::Result;
use crate::http::extract::{ClientAddress, MaybeUser, UserAgent, SESSION_COOKIE};
use crate::http::form::FieldErrors;
use crate::http::pages::{render, safe_next, with_notice, Chrome};

/// Routes of this room.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/signup", get(signup_form).post(signup))
        .route("/login", get(login_form).post(login))
        .route("/logout", post(logout))
        .route(
            "/me/settings",
            get(account_pages::settings_form).post(account_pages::save_settings),
        )
        .route(
            "/me/avatar",
            post(account_pages::upload_avatar).layer(DefaultBodyLimit::max(AVATAR_BODY_LIMIT)),
        )
        .route("/me/email", post(account_pages::change_email))
        .route("/me/password", post(account_pages::change_password))
        .route("/me/sessions/end", post(account_pages::end_sessions))
        .route("/me/delete", post(account_pages::delete_account))
        .route(
            "/me/email/confirm",
            get(reset_pages::email_confirm_form).post(reset_pages::email_confirm),
        )
        .route(
            "/forgot-password",
            get(reset_pages::forgot_form).post(reset_pages::forgot),
        )
        .route(
            "/reset-password",
            get(reset_pages::reset_form).post(reset_pages::reset),
        )
        .route("/u/{id}", get(profile::profile_page))
        .route("/u/{id}/avatar", get(profile::avatar_image))
        .route("/u/{id}/verify-identity", post(profile::verify_page))
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
        // The account reads its mail in the language it signed up in.
        let user =
            super::create_user(&state.db, &email, &name, password, &roles, chrome.lang).await?;
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
