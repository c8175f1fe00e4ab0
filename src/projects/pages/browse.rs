//! The public listing (browse and search) and the home page's featured projects.

use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use sqlx::PgPool;
use time::OffsetDateTime;

use super::{choices, Card, Choice};
use crate::app::AppState;
use crate::http::error::Result;
use crate::http::pages::{render, Chrome};
use crate::i18n::Catalogue;
use crate::projects::api::ListQuery;
use crate::projects::domain::CATEGORIES;
use crate::projects::repo;
use crate::projects::ProjectState;

/// The newest live projects, for the home page.
pub async fn featured(db: &PgPool, t: &Catalogue) -> Result<Vec<Card>> {
    let filter = repo::Filter {
        per_page: 6,
        page: 1,
        ..Default::default()
    };
    let (projects, _) = repo::browse(db, &filter).await?;
    let now = OffsetDateTime::now_utc();
    Ok(projects.iter().map(|p| Card::new(p, t, now)).collect())
}

#[derive(Template)]
#[template(path = "projects/list.html")]
struct ListPage {
    chrome: Chrome,
    cards: Vec<Card>,
    q: String,
    kinds: Vec<Choice>,
    categories: Vec<Choice>,
    sorts: Vec<Choice>,
    states: Vec<Choice>,
    page: u32,
    prev: Option<String>,
    next: Option<String>,
}

fn page_link(query: &ListQuery, page: u32) -> String {
    let pairs = [
        ("q", query.q.as_deref()),
        ("kind", query.kind.as_deref()),
        ("category", query.category.as_deref()),
        ("sort", query.sort.as_deref()),
        ("state", query.state.as_deref()),
    ];
    let mut params: Vec<(&str, String)> = pairs
        .iter()
        .filter_map(|(k, v)| v.filter(|v| !v.is_empty()).map(|v| (*k, v.to_owned())))
        .collect();
    params.push(("page", page.to_string()));
    format!(
        "/projects?{}",
        serde_urlencoded::to_string(&params).unwrap_or_default()
    )
}

/// `GET /projects`: one page of public projects, filtered and sorted as asked.
pub(super) async fn browse(
    State(state): State<AppState>,
    chrome: Chrome,
    Query(query): Query<ListQuery>,
) -> Result<Response> {
    let filter = query.filter()?;
    let (projects, more) = repo::browse(&state.db, &filter).await?;
    let t = chrome.t;
    let now = OffsetDateTime::now_utc();
    let page = filter.page;
    render(&ListPage {
        cards: projects.iter().map(|p| Card::new(p, t, now)).collect(),
        q: query.q.clone().unwrap_or_default(),
        kinds: choices(
            t,
            "projects.kind",
            &["reward", "equity"],
            query.kind.as_deref().unwrap_or(""),
        ),
        categories: choices(
            t,
            "projects.category",
            CATEGORIES,
            query.category.as_deref().unwrap_or(""),
        ),
        sorts: choices(
            t,
            "projects.sort",
            &["newest", "ending", "funded"],
            filter.sort.as_str(),
        ),
        states: choices(
            t,
            "projects.state",
            &["live", "frozen", "funded", "failed"],
            filter.state.unwrap_or(ProjectState::Live).as_str(),
        ),
        page,
        prev: (page > 1).then(|| page_link(&query, page - 1)),
        next: more.then(|| page_link(&query, page + 1)),
        chrome,
    })
}

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    chrome: Chrome,
    ledger_size: i64,
    cards: Vec<Card>,
}

/// `GET /`
pub async fn home(State(state): State<AppState>, chrome: Chrome) -> Result<Response> {
    let ledger_size = crate::ledger::store::size(&state.db).await?;
    let cards = featured(&state.db, chrome.t).await?;
    render(&HomePage {
        chrome,
        ledger_size: ledger_size as i64,
        cards,
    })
}
