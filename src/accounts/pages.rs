//! `/signup`, `/login`, `/logout` in the browser.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::header::SET_COOKIE;
use axum::http::HeaderMap;
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
use crate::http::extract::{ClientAddress, MaybeUser, UserAgent, SESSION_COOKIE};
use crate::http::pages::{render, safe_next, Chrome};

/// Routes of this room.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/signup", get(signup_form).post(signup))
        .route("/login", get(login_form).post(login))
        .route("/logout", post(logout))
}

#[derive(Template)]
#[template(path = "accounts/signup.html")]
struct SignupPage {
    chrome: Chrome,
    error: Option<String>,
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

async fn signup_form(chrome: Chrome) -> Result<Response> {
    render(&SignupPage {
        chrome,
        error: None,
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
    let attempt = async {
        let email = Email::parse(&form.email)?;
        let name = DisplayName::parse(&form.display_name)?;
        let password = Password::parse(form.password.clone())?;
        let roles = self_service_roles(&roles)?;
        super::throttle::admit_signup(&state.db, address, state.settings.signup_limit_per_hour)
            .await?;
        let user = super::create_user(&state.db, &email, &name, password, &roles).await?;
        Ok::<_, Refused>(super::open_session(&state.db, &state.keys, user, agent.as_deref()).await?)
    }
    .await;
    match attempt {
        Ok(session) => Ok(signed_in(&state, &session, None, "/")),
        Err(
            refused @ Refused {
                error: Refusal::Invalid(_) | Refusal::Conflict(_) | Refusal::Throttled(_),
                ..
            },
        ) => {
            let page = SignupPage {
                error: Some(refused.error.message().in_lang(chrome.t)),
                chrome,
                email: form.email,
                display_name: form.display_name,
                founder: form.founder.is_some(),
                backer: form.backer.is_some(),
            };
            Ok(refused_page(refused, render(&page)))
        }
        Err(refused) => Err(refused),
    }
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
            &next,
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
