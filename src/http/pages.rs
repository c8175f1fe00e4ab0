//! What every page shares: the chrome around it, the home page and the error page.

use askama::Template;
use axum::extract::{FromRef, FromRequestParts};
use axum::http::request::Parts;
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::csrf::CsrfToken;
use super::error::{Error, Result};
use super::extract::MaybeUser;
use super::Web;
use crate::i18n::{Catalogue, Lang, LANG_COOKIE};

/// The signed-in user as the navigation shows them.
#[derive(Debug, Clone)]
pub struct Badge {
    pub display_name: String,
    pub is_founder: bool,
    pub is_backer: bool,
    pub is_regulator: bool,
    pub is_auditor: bool,
}

/// Language, catalogue, user and CSRF token of the page being rendered.
pub struct Chrome {
    pub lang: Lang,
    pub t: &'static Catalogue,
    pub user: Option<Badge>,
    pub csrf: String,
    pub path: String,
}

impl Chrome {
    /// Chrome for pages rendered without a request context (error pages).
    pub fn anonymous(lang: Lang, path: &str) -> Self {
        Self {
            lang,
            t: lang.catalogue(),
            user: None,
            csrf: String::new(),
            path: path.to_owned(),
        }
    }

    /// The link of the language toggle, coming back to this page.
    pub fn toggle_href(&self) -> String {
        format!(
            "/lang/{}?next={}",
            self.lang.other().code(),
            urlencode(&self.path)
        )
    }
}

fn urlencode(text: &str) -> String {
    serde_urlencoded::to_string([("", text)])
        .map(|s| s.trim_start_matches('=').to_owned())
        .unwrap_or_default()
}

impl<S: Send + Sync> FromRequestParts<S> for Chrome
where
    Web: FromRef<S>,
{
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self> {
        let MaybeUser(user) = MaybeUser::from_request_parts(parts, state).await?;
        let lang = Lang::from_headers(&parts.headers);
        let csrf = CsrfToken::from_request_parts(parts, state).await?.0;
        let path = parts
            .uri
            .path_and_query()
            .map(|p| p.as_str().to_owned())
            .unwrap_or_else(|| "/".into());
        let user = user.map(|u| {
            use crate::accounts::domain::Role;
            Badge {
                display_name: u.user.display_name.clone(),
                is_founder: u.user.has_role(Role::Founder),
                is_backer: u.user.has_role(Role::Backer),
                is_regulator: u.user.has_role(Role::Regulator),
                is_auditor: u.user.has_role(Role::Auditor),
            }
        });
        Ok(Chrome {
            lang,
            t: lang.catalogue(),
            user,
            csrf,
            path,
        })
    }
}

/// Renders a template into a response, mapping a render failure to a 500.
pub fn render(template: &impl Template) -> Result<Response> {
    let html = template.render().map_err(|e| Error::Internal(e.into()))?;
    Ok(Html(html).into_response())
}

/// The error page.
#[derive(Template)]
#[template(path = "error.html")]
pub struct ErrorPage {
    pub chrome: Chrome,
    pub status: u16,
    pub title: String,
    pub detail: String,
}

#[derive(Deserialize)]
pub struct NextQuery {
    next: Option<String>,
}

/// Only printable paths on this site are followed after a language switch or a login.
pub use super::redirect::safe_next;

/// `GET /lang/{code}`: remembers the language and goes back.
pub async fn switch_language(
    axum::extract::Path(code): axum::extract::Path<String>,
    axum::extract::Query(query): axum::extract::Query<NextQuery>,
) -> Result<Response> {
    let lang = Lang::from_code(&code).ok_or(Error::NotFound)?;
    let cookie = format!(
        "{LANG_COOKIE}={}; Path=/; Max-Age=31536000; SameSite=Lax",
        lang.code()
    );
    let mut response = Redirect::to(safe_next(query.next.as_deref())).into_response();
    response.headers_mut().append(
        axum::http::header::SET_COOKIE,
        cookie
            .parse()
            .map_err(|e: axum::http::header::InvalidHeaderValue| Error::Internal(e.into()))?,
    );
    Ok(response)
}
