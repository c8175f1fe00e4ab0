//! The query of the public listing, `GET /api/v1/projects` and `GET /projects` alike.

use serde::{Deserialize, Serialize};

use crate::http::error::{Error, Message, Result};
use crate::projects::domain;
use crate::projects::repo::{Filter, Project, Sort};
use crate::projects::{search, ProjectKind, ProjectState};

/// Query of `GET /api/v1/projects`.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
pub struct ListQuery {
    /// `reward` or `equity`.
    pub kind: Option<String>,
    pub category: Option<String>,
    /// Full-text search over title and summary (Chinese included).
    pub q: Option<String>,
    /// `newest` (default), `ending` or `funded`.
    pub sort: Option<String>,
    /// From 1.
    pub page: Option<String>,
    /// `live` (default), `frozen`, `funded` or `failed`.
    pub state: Option<String>,
}

/// Projects per page.
pub const PER_PAGE: u32 = 12;

impl ListQuery {
    /// Checks the query; empty values count as absent, as browsers send them.
    pub fn filter(&self) -> Result<Filter> {
        let present = |v: &Option<String>| {
            v.as_deref()
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_owned)
        };
        let bad = |key: &'static str| Error::BadRequest(Message::Key(key));
        Ok(Filter {
            kind: present(&self.kind)
                .map(|k| ProjectKind::parse(&k).ok_or_else(|| bad("projects.error.filter_kind")))
                .transpose()?,
            category: present(&self.category)
                .map(|c| domain::category(&c).map_err(|_| bad("projects.error.category")))
                .transpose()?,
            query: present(&self.q).and_then(|q| search::query(&q)),
            state: present(&self.state)
                .map(|s| match ProjectState::parse(&s) {
                    Some(
                        s @ (ProjectState::Live
                        | ProjectState::Frozen
                        | ProjectState::Funded
                        | ProjectState::Failed),
                    ) => Ok(s),
                    _ => Err(bad("projects.error.filter_state")),
                })
                .transpose()?,
            sort: present(&self.sort)
                .map(|s| Sort::parse(&s).ok_or_else(|| bad("projects.error.filter_sort")))
                .transpose()?
                .unwrap_or_default(),
            page: present(&self.page)
                .map(|p| {
                    p.parse::<u32>()
                        .ok()
                        .filter(|p| (1..=10_000).contains(p))
                        .ok_or_else(|| bad("projects.error.filter_page"))
                })
                .transpose()?
                .unwrap_or(1),
            per_page: PER_PAGE,
        })
    }
}

/// One page of a listing.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ProjectPage {
    pub projects: Vec<Project>,
    pub page: u32,
    pub has_more: bool,
}
