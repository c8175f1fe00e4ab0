//! What anonymous visitors see of a project's community, kept for `PUBLIC_VIEW_SECONDS` as the
//! project itself is (`projects::views`): the first page of its discussion and its follower
//! count. A kept project page then costs no query at all; without this it cost two (a project
//! without comments) to four, on the busiest page, for data that is the same for every visitor
//! without a session.
//!
//! Signed-in readers always read fresh data, so a poster sees their comment at once. A comment
//! the regulator hides is forgotten here at once ([`forget`]); a new follower or comment reaches
//! anonymous visitors within `PUBLIC_VIEW_SECONDS`, like a new pledge's total.

use std::sync::Arc;

use crate::app::AppState;
use crate::cache::TtlCache;
use crate::community::comments::PAGE_DEFAULT;
use crate::community::comments_list::{self, CommentPage};
use crate::community::follows::{self, FollowButton};
use crate::error::Result;
use crate::ids::{ProjectId, UserId};
use crate::projects::repo::Project;

/// A project's community as an anonymous visitor sees it.
pub struct Seen {
    /// The newest top comments with their replies ([`PAGE_DEFAULT`] of them).
    pub first_page: CommentPage,
    pub followers: i64,
}

/// Kept views, by project.
pub type Kept = TtlCache<ProjectId, Arc<Seen>>;

/// Most projects whose community view is kept at once (as many as project views).
pub const CAPACITY: usize = crate::projects::views::PUBLIC_VIEW_CAPACITY;

/// The community of `project` as anonymous visitors see it: kept, or read and kept.
pub async fn seen(state: &AppState, project: &Project) -> Result<Arc<Seen>> {
    if let Some(seen) = state.public_communities.get(&project.id) {
        return Ok(seen);
    }
    let first_page = comments_list::page(&state.db, project, None, PAGE_DEFAULT).await?;
    let followers = follows::follower_count(&state.db, project.id).await?;
    let seen = Arc::new(Seen {
        first_page,
        followers,
    });
    state.public_communities.insert(project.id, seen.clone());
    Ok(seen)
}

/// The follow button of `project` for `reader`; from the kept view for a visitor without a
/// session.
pub async fn follow_button(
    state: &AppState,
    project: &Project,
    reader: Option<UserId>,
) -> Result<FollowButton> {
    match reader {
        Some(_) => FollowButton::load(&state.db, project, reader).await,
        None => Ok(FollowButton {
            slug: project.slug.clone(),
            following: None,
            followers: seen(state, project).await?.followers,
        }),
    }
}

/// Forgets the kept view of `project`: after a change anonymous visitors must see at once.
pub fn forget(state: &AppState, project: ProjectId) {
    state.public_communities.remove(&project);
}
