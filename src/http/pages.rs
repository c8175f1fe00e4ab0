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
use crate::i18n::format::{self, Zone};
use crate::i18n::{Catalogue, Lang, LANG_COOKIE};
use crate::ids::UserId;
use rust_decimal::Decimal;
use time::OffsetDateTime;

/// The signed-in user as the navigation shows them.
#[derive(Debug, Clone)]
pub struct Badge {
    pub display_name: String,
    pub is_founder: bool,
    pub is_backer: bool,
    pub is_regulator: bool,
    pub is_auditor: bool,
}

/// Language, catalogue, user and CSRF token of the page being rendered, and how it writes
/// money, times and counts for its reader.
pub struct Chrome {
    pub lang: Lang,
    pub t: &'static Catalogue,
    pub user: Option<Badge>,
    pub csrf: String,
    pub path: String,
    /// The zone the reader reads times in.
    pub zone: Zone,
    /// What the page says about the action that led here (`?notice=<key>`, catalogue text only).
    pub notice: Option<&'static str>,
    /// The signed-in user's unread notifications.
    pub unread: i64,
}

/// Counts what the signed-in user has not read yet, for the header. The application gives the
/// web layer one (the room that keeps notifications implements it), so `http` knows no room.
pub trait Inbox: Send + Sync {
    /// How many of `user`'s notifications are unread.
    fn unread<'a>(
        &'a self,
        db: &'a sqlx::PgPool,
        user: UserId,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = i64> + Send + 'a>>;
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
            zone: Zone::for_reader(None, lang),
            notice: None,
            unread: 0,
        }
    }

    /// `amount` in `currency`, as this language writes money.
    pub fn money(&self, amount: &Decimal, currency: &str) -> String {
        format::money(self.lang, *amount, currency)
    }

    /// A moment in the reader's zone, to the minute.
    pub fn moment(&self, at: &OffsetDateTime) -> String {
        format::moment(self.lang, &self.zone, *at)
    }

    /// A date in the reader's zone.
    pub fn date(&self, at: &OffsetDateTime) -> String {
        format::date(self.lang, &self.zone, *at)
    }

    /// A time on the ledger: UTC, to the second, saying so.
    pub fn ledger_time(&self, at: &OffsetDateTime) -> String {
        format::ledger_time(*at)
    }

    /// A count in words (`count.<key>` in the catalogue), singular or plural as needed.
    pub fn count(&self, key: &str, n: &i64) -> String {
        self.t.count(&format!("count.{key}"), *n)
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
        let web = Web::from_ref(state);
        let zone = Zone::for_reader(
            user.as_ref().and_then(|u| u.user.time_zone.as_deref()),
            lang,
        );
        let unread = match &user {
            Some(u) => web.inbox.unread(&web.db, u.user.id).await,
            None => 0,
        };
        let notice = notice_of(parts.uri.query(), lang.catalogue());
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
            zone,
            notice,
            unread,
        })
    }
}

/// The notice a page's query names, when the catalogue has it (so a link cannot make the page
/// say anything of its choosing).
fn notice_of(query: Option<&str>, catalogue: &'static Catalogue) -> Option<&'static str> {
    let key = serde_urlencoded::from_str::<Vec<(String, String)>>(query?)
        .ok()?
        .into_iter()
        .find(|(name, _)| name == "notice")?
        .1;
    let full = format!("notice.{key}");
    catalogue.has(&full).then(|| catalogue.get_owned(&full))
}

/// `path` with `?notice=<key>` (or `&notice=<key>`) added: where an action sends the browser,
/// so the page it lands on says what happened.
pub fn with_notice(path: &str, key: &str) -> String {
    let separator = if path.contains('?') { '&' } else { '?' };
    format!("{path}{separator}notice={key}")
}

/// Renders a template into a response, mapping a render failure to a 500.
pub fn render(template: &impl Template) -> Result<Response> {
    let mut html = String::with_capacity(PAGE_CAPACITY);
    template
        .render_into(&mut html)
        .map_err(|e| Error::Internal(e.into()))?;
    Ok(Html(html).into_response())
}

/// Room reserved for a page before it is written: about the size of a project page with its
/// discussion, so a page is seldom copied while it grows (askama's own estimate is the size of
/// the templates' text alone).
const PAGE_CAPACITY: usize = 32 * 1024;

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
    axum::extract::State(web): axum::extract::State<super::Web>,
    super::extract::MaybeUser(user): super::extract::MaybeUser,
    axum::extract::Path(code): axum::extract::Path<String>,
    axum::extract::Query(query): axum::extract::Query<NextQuery>,
) -> Result<Response> {
    let lang = Lang::from_code(&code).ok_or(Error::NotFound)?;
    // A signed-in reader's mail and notifications follow the language they chose.
    if let Some(user) = user {
        crate::accounts::profile::set_language(&web.db, user.user.id, lang).await?;
    }
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

/// A CSV document sent as a download named `name`.
pub fn csv_attachment(name: &str, body: String) -> Response {
    (
        [
            (
                axum::http::header::CONTENT_TYPE,
                "text/csv; charset=utf-8".to_owned(),
            ),
            (
                axum::http::header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        body,
    )
        .into_response()
}
