//! Listings in PostgreSQL: every query this room runs on its own tables, by concern. The
//! founder's name and the supervision trail come from views their owners publish
//! (`public_profiles`, `supervision_trail`, `ledger_size`; see `crate::tables`).

mod covers;
mod lists;
mod offering;
mod page;
mod project;
mod tiers;
mod translations;
mod updates;

pub use covers::{cover, put_cover, StoredCover};
pub use lists::{browse, by_founder, review_queue, supervised, Filter, Sort};
pub use offering::{has_offering, offering, Offering};
pub use page::{parts, view, Parts};
pub use project::{
    add_revision, apply, create, find, find_by_key, lock, set_state, Changes, NewProject, Project,
    Revision,
};
pub use tiers::{add_tier, delete_tier, tier_count, tiers, Tier};
pub use translations::{forget_translated_stories, put_translation, Translation};
pub use updates::{add_update, Update};
