//! `/forgot-password`, `/reset-password` and `/me/email/confirm` in the browser: asking for a
//! reset link, setting the new password with it, and confirming a new e-mail address.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::mail;
use super::refused_page;
use crate::accounts::domain::{Email, Password};
use crate::accounts::reset;
use crate::accounts::throttle::Refused;
use crate::app::AppState;
use crate::error::Error as Refusal;
use crate::http::csrf::CsrfForm;
use crate::http::error::Result;
use crate::http::extract::ClientAddress;
use crate::http::form::FieldErrors;
use crate::http::pages::{render, with_notice, Chrome};

#[derive(Template)]
#[template(path = "accounts/forgot.html")]
struct ForgotPage {
    chrome: Chrome,
    email: String,
    /// The request was taken: the page says to look in the mailbox.
    sent: bool,
    errors: FieldErrors,
}

impl ForgotPage {
    fn err(&self, field: &str) -> Option<String> {
        self.errors.text(field, self.chrome.t)
    }
}

/// `GET /forgot-password`.
pub async fn forgot_form(chrome: Chrome) -> Result<Response> {
    render(&ForgotPage {
        chrome,
        email: String::new(),
        sent: false,
        errors: FieldErrors::new(),
    })
}

/// The request form as posted.
#[derive(Deserialize)]
pub struct ForgotFields {
    email: String,
}

/// `POST /forgot-password`: the same page whether or not the address has an account.
pub async fn forgot(
    State(state): State<AppState>,
    chrome: Chrome,
    ClientAddress(address): ClientAddress,
    CsrfForm(form): CsrfForm<ForgotFields>,
) -> Result<Response, Refused> {
    let mut errors = FieldErrors::new();
    if form.email.len() > Email::MAX_BYTES {
        errors.add(
            "email",
            crate::error::Message::Key("accounts.error.email_long"),
        );
        let page = ForgotPage {
            chrome,
            email: form.email,
            sent: false,
            errors,
        };
        return Ok(with_status(render(&page), StatusCode::UNPROCESSABLE_ENTITY));
    }
    match reset::admit(&state.db, &form.email, address).await {
        Ok(()) => {}
        Err(refused) => {
            errors.add("email", refused.error.message());
            let page = ForgotPage {
                chrome,
                email: form.email,
                sent: false,
                errors,
            };
            return Ok(refused_page(refused, render(&page)));
        }
    }
    mail::send_reset(&state, &form.email).await?;
    let page = ForgotPage {
        chrome,
        email: form.email,
        sent: true,
        errors,
    };
    Ok(render(&page).unwrap_or_else(IntoResponse::into_response))
}

fn with_status(page: Result<Response>, status: StatusCode) -> Response {
    let mut response = page.unwrap_or_else(IntoResponse::into_response);
    *response.status_mut() = status;
    response
}

#[derive(Template)]
#[template(path = "accounts/reset.html")]
struct ResetPage {
    chrome: Chrome,
    token: String,
    errors: FieldErrors,
}

impl ResetPage {
    fn err(&self, field: &str) -> Option<String> {
        self.errors.text(field, self.chrome.t)
    }
}

/// The token of a mailed link.
#[derive(Deserialize)]
pub struct TokenQuery {
    #[serde(default)]
    token: String,
}

/// `GET /reset-password?token=...`: the form for the new password.
pub async fn reset_form(chrome: Chrome, Query(query): Query<TokenQuery>) -> Result<Response> {
    render(&ResetPage {
        chrome,
        token: query.token.chars().take(64).collect(),
        errors: FieldErrors::new(),
    })
}

/// The new-password form as posted.
#[derive(Deserialize)]
pub struct ResetFields {
    #[serde(default)]
    token: String,
    password: String,
}

/// `POST /reset-password`: sets the password and sends the reader to log in with it.
pub async fn reset(
    State(state): State<AppState>,
    chrome: Chrome,
    CsrfForm(form): CsrfForm<ResetFields>,
) -> Result<Response> {
    let mut errors = FieldErrors::new();
    if let Some(password) = errors.check("password", Password::parse(form.password))? {
        match reset::confirm(&state.db, &form.token, password).await {
            Ok(_) => {
                let to = with_notice("/login", "account.password_reset");
                return Ok(Redirect::to(&to).into_response());
            }
            Err(Refusal::Invalid(message)) => errors.add("password", message),
            Err(e) => return Err(e.into()),
        }
    }
    let page = ResetPage {
        chrome,
        token: form.token.chars().take(64).collect(),
        errors,
    };
    Ok(with_status(render(&page), StatusCode::UNPROCESSABLE_ENTITY))
}

#[derive(Template)]
#[template(path = "accounts/email_confirm.html")]
struct EmailConfirmPage {
    chrome: Chrome,
    token: String,
    error: Option<String>,
}

/// `GET /me/email/confirm?token=...`: a button, so a mail scanner following the link changes
/// nothing.
pub async fn email_confirm_form(
    chrome: Chrome,
    Query(query): Query<TokenQuery>,
) -> Result<Response> {
    render(&EmailConfirmPage {
        chrome,
        token: query.token.chars().take(64).collect(),
        error: None,
    })
}

/// The confirmation form as posted.
#[derive(Deserialize)]
pub struct EmailConfirmFields {
    #[serde(default)]
    token: String,
}

/// `POST /me/email/confirm`: the account takes the new address.
pub async fn email_confirm(
    State(state): State<AppState>,
    chrome: Chrome,
    CsrfForm(form): CsrfForm<EmailConfirmFields>,
) -> Result<Response> {
    match mail::confirm_email_change(&state, &form.token).await {
        Ok(_) => Ok(Redirect::to(&with_notice("/", "account.email_changed")).into_response()),
        Err(refusal @ (Refusal::Invalid(_) | Refusal::Conflict(_))) => {
            let status = if matches!(refusal, Refusal::Conflict(_)) {
                StatusCode::CONFLICT
            } else {
                StatusCode::UNPROCESSABLE_ENTITY
            };
            let page = EmailConfirmPage {
                error: Some(refusal.message().in_lang(chrome.t)),
                token: form.token.chars().take(64).collect(),
                chrome,
            };
            Ok(with_status(render(&page), status))
        }
        Err(e) => Err(e.into()),
    }
}
