//! The public listing (browse and search), the home page's sections, and the art drawn for
//! projects without a cover.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use sqlx::PgPool;
use time::OffsetDateTime;

use super::{choices, Card, Choice};
use crate::app::AppState;
use crate::http::error::{Error, Result};
use crate::http::extract::Path;
use crate::http::pages::{render, Chrome};
use crate::projects::api::ListQuery;
use crate::projects::cover::art;
use crate::projects::domain::CATEGORIES;
use crate::projects::repo::{self, Sort};
use crate::projects::ProjectState;

/// Cards in each section of the home page.
const SECTION_CARDS: u32 = 3;

/// The highest page number a listing goes to; past it a visitor is shown the way back.
const LAST_PAGE: u32 = 10_000;

/// Cards of the first `count` public projects in `sort` order, in the reader's language.
async fn cards(db: &PgPool, chrome: &Chrome, sort: Sort, count: u32) -> Result<Vec<Card>> {
    let filter = repo::Filter {
        per_page: count,
        page: 1,
        sort,
        ..Default::default()
    };
    let (projects, _) = repo::browse(db, &filter, Some(chrome.lang)).await?;
    let now = OffsetDateTime::now_utc();
    Ok(projects
        .iter()
        .map(|p| Card::in_zone(p, chrome.t, &chrome.zone, now))
        .collect())
}

/// The newest live projects, in the reader's language.
pub async fn featured(db: &PgPool, chrome: &Chrome) -> Result<Vec<Card>> {
    cards(db, chrome, Sort::Newest, 6).await
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
    /// Why the query could not be answered, in the reader's language.
    refusal: Option<String>,
    /// The first page of the same listing, when the asked page is past the last one.
    back: Option<String>,
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

/// The page asked for: absent or empty is the first; a number past [`LAST_PAGE`] is that page
/// (it is empty, and shows the way back); anything else is refused.
fn page_number(raw: Option<&str>) -> Option<u32> {
    match raw.map(str::trim).filter(|p| !p.is_empty()) {
        None => Some(1),
        Some(p) if p.bytes().all(|b| b.is_ascii_digit()) => {
            let digits = p.trim_start_matches('0');
            if digits.is_empty() {
                None
            } else {
                Some(digits.parse::<u32>().unwrap_or(u32::MAX).min(LAST_PAGE))
            }
        }
        Some(_) => None,
    }
}

/// `GET /projects`: one page of public projects, filtered and sorted as asked. A query that
/// cannot be read is answered with the listing's own page and the reason (400), a page past the
/// last with an empty listing and a link back to the first (200).
pub(super) async fn browse(
    State(state): State<AppState>,
    chrome: Chrome,
    Query(query): Query<ListQuery>,
) -> Result<Response> {
    let t = chrome.t;
    let page = page_number(query.page.as_deref());
    let checked = ListQuery {
        kind: query.kind.clone(),
        category: query.category.clone(),
        q: query.q.clone(),
        sort: query.sort.clone(),
        page: None,
        state: query.state.clone(),
    }
    .filter();
    let (filter, refusal) = match (checked, page) {
        (Ok(filter), Some(page)) => (repo::Filter { page, ..filter }, None),
        (Err(Error::BadRequest(message)), _) => (repo::Filter::default(), Some(message.in_lang(t))),
        (Err(other), _) => return Err(other),
        (Ok(_), None) => (
            repo::Filter::default(),
            Some(t.get("projects.error.filter_page").to_owned()),
        ),
    };
    let (projects, more) = if refusal.is_some() {
        (Vec::new(), false)
    } else {
        repo::browse(&state.db, &filter, Some(chrome.lang)).await?
    };
    let now = OffsetDateTime::now_utc();
    let page = filter.page.max(1);
    let past_the_end = refusal.is_none() && projects.is_empty() && page > 1;
    let status = if refusal.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    let sort_names: Vec<&str> = [
        Sort::Newest,
        Sort::EndingSoon,
        Sort::MostFunded,
        Sort::Launching,
    ]
    .into_iter()
    .map(Sort::as_str)
    .collect();
    let body = render(&ListPage {
        cards: projects
            .iter()
            .map(|p| Card::in_zone(p, t, &chrome.zone, now))
            .collect(),
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
        sorts: choices(t, "projects.sort", &sort_names, filter.sort.as_str()),
        states: choices(
            t,
            "projects.state",
            &["live", "frozen", "funded", "failed"],
            filter.state.unwrap_or(ProjectState::Live).as_str(),
        ),
        page,
        prev: (page > 1 && !past_the_end).then(|| page_link(&query, page - 1)),
        next: more.then(|| page_link(&query, page + 1)),
        back: past_the_end.then(|| page_link(&query, 1)),
        refusal,
        chrome,
    })?;
    Ok((status, body).into_response())
}

/// A section of the home page: its cards and where "see all" leads.
struct Section {
    /// The element id, and the catalogue key of its heading (`home.section.<id>`).
    id: &'static str,
    heading: String,
    cards: Vec<Card>,
    see_all: String,
}

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    chrome: Chrome,
    ledger_size: i64,
    sections: Vec<Section>,
}

/// `GET /`: the pitch, then projects ending soon, most funded, new and launching soon.
pub async fn home(State(state): State<AppState>, chrome: Chrome) -> Result<Response> {
    let ledger_size = crate::ledger::store::size(&state.db).await?;
    let mut sections = Vec::new();
    for (id, sort) in [
        ("ending-soon", Sort::EndingSoon),
        ("most-funded", Sort::MostFunded),
        ("new", Sort::Newest),
        ("launching-soon", Sort::Launching),
    ] {
        sections.push(Section {
            id,
            heading: chrome.t.get(&format!("home.section.{id}")).to_owned(),
            cards: cards(&state.db, &chrome, sort, SECTION_CARDS).await?,
            see_all: format!("/projects?sort={}", sort.as_str()),
        });
    }
    render(&HomePage {
        chrome,
        ledger_size: ledger_size as i64,
        sections,
    })
}

/// `GET /covers/{category}/{seed}`: the art drawn for a project without a cover, from its
/// category and its slug. It reads no project, so it shows nothing that the card linking to it
/// does not; the answer never changes, so browsers keep it.
pub(super) async fn art(Path((category, seed)): Path<(String, String)>) -> Result<Response> {
    let category = CATEGORIES
        .iter()
        .find(|c| **c == category)
        .ok_or(Error::NotFound)?;
    let seed_is_a_slug = !seed.is_empty()
        && seed.len() <= 120
        && seed
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if !seed_is_a_slug {
        return Err(Error::NotFound);
    }
    // Drawing and deflating is CPU work: off the runtime's threads, and at most a few at once,
    // so that asking for endless made-up slugs costs the asker a 503, not the server its cores
    // (browsers keep each answer for a week).
    static DRAWING: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(2);
    let _turn = DRAWING.try_acquire().map_err(|_| Error::Unavailable)?;
    let png = tokio::task::spawn_blocking(move || art::draw(category, &seed))
        .await
        .map_err(|e| Error::Internal(e.into()))?;
    Ok((
        [
            (header::CONTENT_TYPE, "image/png"),
            (header::CACHE_CONTROL, "public, max-age=604800, immutable"),
            (header::CONTENT_SECURITY_POLICY, "default-src 'none'"),
        ],
        png,
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::{page_number, LAST_PAGE};

    #[test]
    fn a_page_past_the_last_is_the_last_and_words_are_refused() {
        assert_eq!(page_number(None), Some(1));
        assert_eq!(page_number(Some(" ")), Some(1));
        assert_eq!(page_number(Some("3")), Some(3));
        assert_eq!(page_number(Some("99999")), Some(LAST_PAGE));
        assert_eq!(page_number(Some("99999999999999999999")), Some(LAST_PAGE));
        assert_eq!(page_number(Some("0")), None);
        assert_eq!(page_number(Some("-1")), None);
        assert_eq!(page_number(Some("two")), None);
    }
}
