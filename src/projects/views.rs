//! A project with everything its page shows, and the cache of anonymous visitors' views of it.

use serde::Serialize;
use sqlx::PgPool;
use std::sync::Arc;

use super::repo::{self, Offering, Parts, Project, Revision, Tier, Update};
use super::trail::TrailEntry;
use super::ProjectId;
use crate::error::Result;
use crate::i18n::Lang;

/// A project with everything its page shows.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ProjectDetail {
    pub project: Project,
    pub tiers: Vec<Tier>,
    pub offering: Option<Offering>,
    pub updates: Vec<Update>,
    /// Changes made after launch, with their dates.
    pub revisions: Vec<Revision>,
    /// Every regulator action, anchored on the ledger.
    pub supervision: Vec<TrailEntry>,
    /// How many people follow the project.
    pub followers: i64,
    /// Whether anyone has commented yet (the page then reads the discussion's first page).
    #[serde(skip)]
    pub discussed: bool,
}

impl ProjectDetail {
    /// Everything the page of `project` shows, backers-only updates when
    /// `include_backers_only`.
    pub async fn load(db: &PgPool, project: Project, include_backers_only: bool) -> Result<Self> {
        let parts = repo::parts(db, project.id, include_backers_only, None).await?;
        Ok(Self::assemble(project, parts).0)
    }

    /// The detail of `project` from its parts, and the ledger's size the parts were read at.
    pub fn assemble(project: Project, parts: Parts) -> (Self, u64) {
        (
            ProjectDetail {
                project,
                tiers: parts.tiers,
                offering: parts.offering,
                updates: parts.updates,
                revisions: parts.revisions,
                supervision: parts.trail,
                followers: parts.community.followers,
                discussed: parts.community.discussed,
            },
            parts.tree_size,
        )
    }
}

/// Anonymous visitors' views of projects, by the id or slug they asked for and the language they
/// read (see [`key`]), with the ledger's size at the time. The project page is the busiest page and its data the same for every
/// visitor without a session, so it is reused for `PUBLIC_VIEW_SECONDS`: totals and tiers left
/// may be that old for them (never for a signed-in user), and a proof against the older ledger
/// size still verifies.
pub type PublicViews = crate::cache::TtlCache<String, Arc<(ProjectDetail, u64)>>;

/// Most projects whose anonymous view is kept at once.
pub const PUBLIC_VIEW_CAPACITY: usize = 10_000;

/// The key a project's view is kept under: the language it is shown in (`-` for the original
/// texts), then an id in its hyphenated form, however it was written (a UUID parses from
/// several), or the slug in lower case.
pub fn key(raw: &str, lang: Option<Lang>) -> String {
    let lang = lang.map_or("-", Lang::tag);
    match raw.trim().parse::<ProjectId>() {
        Ok(id) => format!("{lang} {id}"),
        Err(_) => format!("{lang} {}", raw.trim().to_ascii_lowercase()),
    }
}

/// Every language a view may be kept in: the originals, and each language the site speaks.
const KEPT_LANGUAGES: [Option<Lang>; 3] = [None, Some(Lang::Zh), Some(Lang::En)];

/// Forgets the kept anonymous views of `project`, by id and by slug, in every language: for
/// changes visitors must see at once, such as a regulator's freeze or cancellation.
pub fn forget(views: &PublicViews, project: &Project) {
    for lang in KEPT_LANGUAGES {
        views.remove(&key(&project.id.to_string(), lang));
        views.remove(&key(&project.slug, lang));
    }
}

#[cfg(test)]
mod tests {
    use super::key;
    use crate::i18n::Lang;

    #[test]
    fn a_view_is_kept_under_one_key_however_the_id_or_slug_was_written() {
        let id = "5b0f3c4e-8f5a-4d0e-9a57-0c7b2f6f6f10";
        assert_eq!(key(&id.to_ascii_uppercase(), None), format!("- {id}"));
        assert_eq!(
            key("5b0f3c4e8f5a4d0e9a570c7b2f6f6f10", None),
            format!("- {id}")
        );
        assert_eq!(key(" Solar-Lantern ", None), "- solar-lantern");
    }

    #[test]
    fn each_language_keeps_its_own_view() {
        let en = key("solar-lantern", Some(Lang::En));
        let zh = key("solar-lantern", Some(Lang::Zh));
        assert_ne!(en, zh);
        assert_ne!(en, key("solar-lantern", None));
    }
}
