//! The first page of a project's discussion as anonymous visitors see it, kept for
//! `PUBLIC_VIEW_SECONDS` as the project itself is (`projects::views`): it is the same for every
//! visitor without a session, and reading it costs three queries on the busiest page. (Whether
//! there is a discussion at all, and how many follow the project, come with the project's own
//! query, from this room's `project_community` view.)
//!
//! Signed-in readers always read fresh data, so a poster sees their comment at once. A comment
//! the regulator hides is forgotten here at once ([`forget`]); a new comment reaches anonymous
//! visitors within `PUBLIC_VIEW_SECONDS`, like a new pledge's total.

use std::sync::Arc;

use sqlx::PgPool;

use crate::cache::TtlCache;
use crate::community::comments::PAGE_DEFAULT;
use crate::community::comments_list::{self, CommentPage};
use crate::error::Result;
use crate::ids::ProjectId;
use crate::projects::repo::Project;

/// Kept first pages ([`PAGE_DEFAULT`] top comments with their replies), by project.
pub type Kept = TtlCache<ProjectId, Arc<CommentPage>>;

/// Most projects whose first page is kept at once (as many as project views).
pub const CAPACITY: usize = crate::projects::views::PUBLIC_VIEW_CAPACITY;

/// The first page of `project`'s discussion as anonymous visitors see it: kept, or read and
/// kept.
pub async fn first_page(kept: &Kept, db: &PgPool, project: &Project) -> Result<Arc<CommentPage>> {
    if let Some(page) = kept.get(&project.id) {
        return Ok(page);
    }
    let page = Arc::new(comments_list::page(db, project, None, PAGE_DEFAULT).await?);
    kept.insert(project.id, page.clone());
    Ok(page)
}

/// Forgets the kept first page of `project`: after a change anonymous visitors must see at once.
pub fn forget(kept: &Kept, project: ProjectId) {
    kept.remove(&project);
}
