//! The discussion in the browser: the block under a project's story (its first page, the
//! comment form, replies under their comment, the regulator's hide forms), the paged
//! `/projects/{key}/comments`, posting, and hiding through a confirmation.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;
use time::OffsetDateTime;

use super::comments_api::PageQuery;
use crate::accounts::domain::Role;
use crate::accounts::web::refused_page;
use crate::accounts::AuthUser;
use crate::app::AppState;
use crate::community::comments::{self, Body, Cursor, NewComment, PAGE_DEFAULT};
use crate::community::comments_list::{self, Comment, CommentPage};
use crate::error::Message;
use crate::http::confirm::{is_confirmed, Carried, Confirm};
use crate::http::csrf::CsrfForm;
use crate::http::error::{Error, Result};
use crate::http::extract::{CurrentUser, MaybeUser, Path, Regulator, RequireRole};
use crate::http::form::FieldErrors;
use crate::http::pages::{render, Chrome};
use crate::ids::CommentId;
use crate::projects::repo::{self, Project};
use crate::supervision::comments as supervised;

/// Routes of the discussion pages.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/projects/{key}/comments",
            get(comments_page).post(post_comment),
        )
        .route("/regulator/comments/{id}/hide", post(hide_comment))
}

/// One comment as the page shows it.
pub struct CommentView {
    pub id: String,
    pub author: String,
    pub at: String,
    pub body_html: String,
    /// "Hidden by the regulator: <reason>", in place of the text.
    pub hidden: Option<String>,
    pub founder: bool,
    pub backer: bool,
    pub promoter: bool,
    pub replies: Vec<CommentView>,
}

impl CommentView {
    /// The id prefix of the reply form's fields under this comment.
    pub fn reply_prefix(&self) -> String {
        format!("reply-{}", self.id)
    }

    /// A reply form is never shown refused (a refused reply comes back in the main form).
    pub fn no_error(&self) -> Option<&String> {
        None
    }

    fn new(comment: &Comment, chrome: &Chrome) -> Self {
        let t = chrome.t;
        Self {
            id: comment.id.to_string(),
            author: comment.author_name.clone(),
            at: chrome.moment(&comment.created_at),
            body_html: comment.body_html.clone().unwrap_or_default(),
            hidden: comment
                .hidden
                .as_ref()
                .map(|h| t.fill("community.hidden", &[("reason", &h.reason)])),
            founder: comment.founder,
            backer: comment.backer,
            promoter: comment.compensated_promoter,
            replies: comment
                .replies
                .iter()
                .map(|r| CommentView::new(r, chrome))
                .collect(),
        }
    }
}

/// What the comment form holds: what was typed, and each refusal beside its field.
#[derive(Default)]
pub struct FormView {
    pub body: String,
    /// The comment answered, when the refused form was a reply.
    pub parent_id: String,
    /// "yes", "no" or "" (not said).
    pub promoter: String,
    pub body_error: Option<String>,
    pub promoter_error: Option<String>,
}

/// The discussion block of a project's page (and of its comments page).
pub struct Block {
    /// The project's slug, for the forms' and links' addresses.
    pub key: String,
    pub items: Vec<CommentView>,
    /// The next page, when there is one.
    pub more_href: Option<String>,
    pub signed_in: bool,
    /// Whether the discussion takes comments now.
    pub open: bool,
    /// Whether the poster must say whether they are paid to promote it (equity offerings).
    pub asks_promoter: bool,
    pub is_regulator: bool,
    pub form: FormView,
}

/// The discussion of `project` for `viewer`: the page after `cursor` (the newest without);
/// no query at all when the project's page has read that nobody has commented (`discussed`).
pub async fn block(
    state: &AppState,
    chrome: &Chrome,
    viewer: Option<&AuthUser>,
    project: &Project,
    cursor: Option<Cursor>,
    discussed: bool,
) -> Result<Block> {
    // Nothing to read before the first comment; a visitor without a session reads the first
    // page from the kept view.
    let (kept, fresh);
    let page = if !discussed {
        fresh = CommentPage::default();
        &fresh
    } else if viewer.is_none() && cursor.is_none() {
        kept = crate::community::kept::first_page(&state.public_communities, &state.db, project)
            .await?;
        &*kept
    } else {
        fresh = comments_list::page(&state.db, project, cursor, PAGE_DEFAULT).await?;
        &fresh
    };
    let more_href = page
        .next_cursor
        .as_ref()
        .map(|c| format!("/projects/{}/comments?cursor={c}#comments", project.slug));
    Ok(Block {
        key: project.slug.clone(),
        items: page
            .comments
            .iter()
            .map(|c| CommentView::new(c, chrome))
            .collect(),
        more_href,
        signed_in: viewer.is_some(),
        open: comments::is_open(project, OffsetDateTime::now_utc()),
        asks_promoter: comments::asks_promoter(project),
        is_regulator: viewer.is_some_and(|u| u.user.has_role(Role::Regulator)),
        form: FormView::default(),
    })
}

#[derive(Template)]
#[template(path = "community/comments.html")]
struct CommentsPage {
    chrome: Chrome,
    title: String,
    comments: Block,
}

/// `GET /projects/{key}/comments`: the discussion, page by page.
async fn comments_page(
    State(state): State<AppState>,
    chrome: Chrome,
    MaybeUser(viewer): MaybeUser,
    Path(key): Path<String>,
    Query(query): Query<PageQuery>,
) -> Result<Response> {
    let project = crate::projects::visible(&state.db, &key, viewer.as_ref()).await?;
    let cursor = query
        .cursor
        .as_deref()
        .filter(|c| !c.trim().is_empty())
        .map(Cursor::parse)
        .transpose()?;
    let comments = block(&state, &chrome, viewer.as_ref(), &project, cursor, true).await?;
    render(&CommentsPage {
        chrome,
        title: project.title,
        comments,
    })
}

#[derive(Deserialize)]
struct CommentForm {
    #[serde(default)]
    body: String,
    #[serde(default)]
    parent_id: String,
    /// `yes` or `no`; a reward project's checkbox sends `yes` or nothing.
    #[serde(default)]
    compensated_promoter: String,
}

/// What the form says of the promoter question: `None` when not answered.
fn promoter_answer(form: &CommentForm, asks: bool) -> Option<bool> {
    match form.compensated_promoter.as_str() {
        "yes" => Some(true),
        "no" => Some(false),
        _ if asks => None,
        _ => Some(false),
    }
}

/// `POST /projects/{key}/comments`: posts, then shows the comment on the project's page; a
/// refusal shows the discussion again with the message beside its field.
async fn post_comment(
    State(state): State<AppState>,
    chrome: Chrome,
    CurrentUser(user): CurrentUser,
    Path(key): Path<String>,
    CsrfForm(form): CsrfForm<CommentForm>,
) -> Result<Response> {
    let project = crate::projects::visible(&state.db, &key, Some(&user)).await?;
    let mut errors = FieldErrors::new();
    let body = errors.check("body", Body::parse(&form.body))?;
    let parent = match form.parent_id.trim() {
        "" => None,
        raw => match raw.parse::<CommentId>() {
            Ok(id) => Some(id),
            Err(_) => {
                errors.add("body", Message::Key("community.error.parent"));
                None
            }
        },
    };
    let asks = comments::asks_promoter(&project);
    let promoter = promoter_answer(&form, asks);
    if promoter.is_none() {
        errors.add(
            "compensated_promoter",
            Message::Key("community.error.promoter_required"),
        );
    }
    let (Some(body), Some(promoter), true) = (body, promoter, errors.is_empty()) else {
        let page = refused(&state, chrome, &user, &project, &form, &errors).await;
        return Ok(with_status(page, StatusCode::UNPROCESSABLE_ENTITY));
    };
    let new = NewComment {
        body,
        parent,
        compensated_promoter: Some(promoter),
    };
    let name = &user.user.display_name;
    match comments::post(&state.db, &project, user.user.id, name, new).await {
        Ok(id) => {
            let to = comments::link(&project, id);
            Ok(Redirect::to(&to).into_response())
        }
        Err(refusal) => {
            let mut errors = FieldErrors::new();
            let field = match refusal.error.message() {
                Message::Key("community.error.promoter_required") => "compensated_promoter",
                _ => "body",
            };
            errors.add(field, refusal.error.message());
            if !matches!(
                refusal.error,
                crate::error::Error::Invalid(_)
                    | crate::error::Error::Conflict(_)
                    | crate::error::Error::Throttled(_)
            ) {
                return Err(refusal.error.into());
            }
            let page = refused(&state, chrome, &user, &project, &form, &errors).await;
            Ok(refused_page(refusal, page))
        }
    }
}

/// The discussion shown again with the refused form.
async fn refused(
    state: &AppState,
    chrome: Chrome,
    user: &AuthUser,
    project: &Project,
    form: &CommentForm,
    errors: &FieldErrors,
) -> Result<Response> {
    let t = chrome.t;
    let mut comments = block(state, &chrome, Some(user), project, None, true).await?;
    comments.form = FormView {
        body: form.body.clone(),
        parent_id: form.parent_id.trim().to_owned(),
        promoter: form.compensated_promoter.clone(),
        body_error: errors.text("body", t),
        promoter_error: errors.text("compensated_promoter", t),
    };
    render(&CommentsPage {
        chrome,
        title: project.title.clone(),
        comments,
    })
}

fn with_status(page: Result<Response>, status: StatusCode) -> Response {
    let mut response = page.unwrap_or_else(IntoResponse::into_response);
    if response.status().is_success() {
        *response.status_mut() = status;
    }
    response
}

#[derive(Deserialize)]
struct HideForm {
    #[serde(default)]
    reason: String,
    #[serde(default)]
    confirm: Option<String>,
}

/// `POST /regulator/comments/{id}/hide`: asks first (the reason typed, what will happen), and
/// hides only on the confirmed POST; a refused reason is shown on that page.
async fn hide_comment(
    State(state): State<AppState>,
    chrome: Chrome,
    RequireRole { 0: regulator, .. }: RequireRole<Regulator>,
    Path(id): Path<CommentId>,
    CsrfForm(form): CsrfForm<HideForm>,
) -> Result<Response> {
    let project = comments::project_of(&state.db, id)
        .await?
        .ok_or(Error::NotFound)?;
    let project = repo::find(&state.db, project)
        .await?
        .ok_or(Error::NotFound)?;
    let mut errors = FieldErrors::new();
    let reason = errors.check("reason", supervised::reason(&form.reason))?;
    let reason = match reason {
        Some(reason) if is_confirmed(form.confirm.as_deref()) => reason,
        _ => return confirmation(chrome, &project, id, &form, &errors).respond(),
    };
    match supervised::hide(&state.db, &state.ledger, &regulator, id, &reason).await {
        Ok(_) => {
            crate::community::kept::forget(&state.public_communities, project.id);
            Ok(Redirect::to(&comments::link(&project, id)).into_response())
        }
        Err(crate::error::Error::Conflict(message)) => {
            errors.add("reason", message);
            confirmation(chrome, &project, id, &form, &errors).respond()
        }
        Err(e) => Err(e.into()),
    }
}

fn confirmation(
    chrome: Chrome,
    project: &Project,
    id: CommentId,
    form: &HideForm,
    errors: &FieldErrors,
) -> Confirm {
    let t = chrome.t;
    let mut reason =
        Carried::shown("reason", t.get("supervision.reason"), &form.reason).as_input("text");
    reason.error = errors.text("reason", t);
    Confirm {
        heading: t.get("community.confirm_hide.heading").to_owned(),
        subject: project.title.clone(),
        consequence: t.get("community.confirm_hide.consequence").to_owned(),
        action: format!("/regulator/comments/{id}/hide"),
        fields: vec![reason],
        back: comments::link(project, id),
        danger: true,
        chrome,
    }
}
