//! Listings in the browser: browse and search ([`browse`]), the project page ([`show`]), and the
//! founder's tools ([`founder`]). Every form carries the CSRF token; nothing needs JavaScript.
//! The helpers below (labels, amounts, times, cards) are shared with other rooms' pages.

pub mod browse;
pub mod form;
pub mod founder;
pub mod parts;
pub mod show;
pub mod upload;

use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use axum::Router;
use time::OffsetDateTime;

use super::repo::Project;
use super::{ProjectKind, ProjectState};
use crate::app::AppState;
use crate::i18n::format::{self, Zone};
use crate::i18n::Catalogue;

pub use browse::{featured, home};

/// Routes of this room.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/projects", get(browse::browse))
        .route("/projects/{key}", get(show::show))
        .route("/projects/{key}/cover", get(show::cover_image))
        .route("/covers/{category}/{seed}", get(browse::art))
        .route("/founder", get(founder::dashboard))
        .route("/founder/projects", post(founder::create))
        .route("/founder/projects/new", get(founder::new_form))
        .route(
            "/founder/projects/{id}",
            get(founder::edit_form).post(founder::save),
        )
        .route("/founder/projects/{id}/tiers", post(founder::add_tier))
        .route("/founder/projects/{id}/addons", post(founder::add_addon))
        .route(
            "/founder/projects/{id}/tiers/{tier}/delete",
            post(founder::delete_tier),
        )
        .route(
            "/founder/projects/{id}/cover",
            post(founder::upload_cover).layer(DefaultBodyLimit::max(upload::UPLOAD_BODY_LIMIT)),
        )
        .route("/founder/projects/{id}/submit", post(founder::submit))
        .route("/founder/projects/{id}/cancel", post(founder::cancel))
        .route("/founder/projects/{id}/updates", post(founder::post_update))
}

/// A label from the catalogue: `prefix.name`.
pub fn label(t: &Catalogue, prefix: &str, name: &str) -> String {
    t.get(&format!("{prefix}.{name}")).to_owned()
}

/// "12 days left", "5 hours left", "ended".
pub fn time_left(t: &Catalogue, deadline: Option<OffsetDateTime>, now: OffsetDateTime) -> String {
    let Some(deadline) = deadline else {
        return String::new();
    };
    let left = deadline - now;
    if left <= time::Duration::ZERO {
        t.get("projects.ended").to_owned()
    } else if left.whole_days() >= 2 {
        t.fill(
            "projects.days_left",
            &[("n", &left.whole_days().to_string())],
        )
    } else if left.whole_hours() >= 1 {
        t.fill(
            "projects.hours_left",
            &[("n", &left.whole_hours().to_string())],
        )
    } else {
        t.fill(
            "projects.minutes_left",
            &[("n", &left.whole_minutes().max(1).to_string())],
        )
    }
}

/// A project as a card in a list.
pub struct Card {
    pub href: String,
    pub title: String,
    pub summary: String,
    /// The stored cover, when the founder uploaded one (the project page shows only that).
    pub cover: Option<String>,
    /// What a list shows: the stored cover, else the art drawn from category and title.
    pub picture: String,
    pub kind: String,
    pub category: String,
    pub state: String,
    pub state_name: &'static str,
    pub pledged: String,
    pub goal: String,
    pub percent: i64,
    /// The value of the `<progress>` bar (capped at 100).
    pub bar: i64,
    /// What the bar says to a screen reader: "42% of the goal pledged".
    pub bar_label: String,
    /// "1 backer", "12 backers" (investors for equity).
    pub backers: String,
    /// Time left while it takes pledges, else its outcome (funded, not funded, cancelled,
    /// frozen, ended, or when it launches).
    pub time_left: String,
    /// Whether [`Card::time_left`] is an outcome rather than time left.
    pub over: bool,
    /// Whether anyone may open its page (not yet, for one approved to launch later).
    pub public: bool,
}

impl Card {
    /// The card of `project` in the language of `t`, dates in `zone`.
    pub fn in_zone(project: &Project, t: &Catalogue, zone: &Zone, now: OffsetDateTime) -> Self {
        let lang = t.lang();
        let percent = project.percent();
        let (time_left, over) = status(project, t, zone, now);
        let people = match project.kind {
            ProjectKind::Reward => "count.backers",
            ProjectKind::Equity => "count.investors",
        };
        Card {
            href: format!("/projects/{}", project.slug),
            title: project.title.clone(),
            summary: project.summary.clone(),
            cover: project.has_cover.then(|| cover_url(project)),
            picture: picture_url(project, now),
            kind: label(t, "projects.kind", project.kind.as_str()),
            category: label(t, "projects.category", &project.category),
            state: label(t, "projects.state", project.state.as_str()),
            state_name: project.state.as_str(),
            pledged: format::money(lang, project.pledged_total, &project.currency),
            goal: format::money(lang, project.goal, &project.currency),
            percent,
            bar: percent.clamp(0, 100),
            bar_label: t.fill("cards.progress", &[("percent", &percent.to_string())]),
            backers: t.count(people, i64::from(project.backer_count)),
            time_left,
            over,
            public: project.is_public(now),
        }
    }
}

/// Time left while `project` runs, else what became of it, and whether it is over.
fn status(project: &Project, t: &Catalogue, zone: &Zone, now: OffsetDateTime) -> (String, bool) {
    match project.state {
        ProjectState::Funded
        | ProjectState::Failed
        | ProjectState::Cancelled
        | ProjectState::Frozen
        | ProjectState::Settling => (label(t, "projects.state", project.state.as_str()), true),
        ProjectState::Live => match (project.launched_at, project.deadline) {
            (Some(launch), _) if launch > now => (
                t.fill(
                    "cards.launches",
                    &[("date", &format::date(t.lang(), zone, launch))],
                ),
                false,
            ),
            (_, Some(deadline)) if deadline <= now => (t.get("projects.ended").to_owned(), true),
            (_, deadline) => (counted_time_left(t, deadline, now), false),
        },
        ProjectState::Draft | ProjectState::InReview => {
            (counted_time_left(t, project.deadline, now), false)
        }
    }
}

/// "1 day left", "12 days left", "5 hours left", in the catalogue's plural forms.
fn counted_time_left(
    t: &Catalogue,
    deadline: Option<OffsetDateTime>,
    now: OffsetDateTime,
) -> String {
    let Some(deadline) = deadline else {
        return String::new();
    };
    let left = deadline - now;
    if left <= time::Duration::ZERO {
        t.get("projects.ended").to_owned()
    } else if left.whole_days() >= 1 {
        t.count("count.days_left", left.whole_days())
    } else if left.whole_hours() >= 1 {
        t.count("count.hours_left", left.whole_hours())
    } else {
        t.fill(
            "projects.minutes_left",
            &[("n", &left.whole_minutes().max(1).to_string())],
        )
    }
}

/// Where a project's cover is served; the version changes with every edit, so browsers refetch.
pub fn cover_url(project: &Project) -> String {
    format!(
        "/projects/{}/cover?v={}",
        project.id,
        project.updated_at.unix_timestamp()
    )
}

/// The picture a list shows for `project`: its stored cover, else the art drawn from its
/// category and its slug (which the title gave it, and which is the same in every language).
/// A project not yet open to everyone (a "launching soon" teaser) shows the art: its stored
/// cover is answered only to those who may see the project.
pub fn picture_url(project: &Project, now: OffsetDateTime) -> String {
    if project.has_cover && crate::projects::visibility::can_view(project, None, now) {
        cover_url(project)
    } else {
        format!("/covers/{}/{}", project.category, project.slug)
    }
}

/// An option of a `<select>`.
pub struct Choice {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

/// The options of a `<select>` over `values`, labelled from `prefix`, `current` selected.
pub fn choices(t: &Catalogue, prefix: &str, values: &[&str], current: &str) -> Vec<Choice> {
    values
        .iter()
        .map(|v| Choice {
            value: (*v).to_owned(),
            label: label(t, prefix, v),
            selected: *v == current,
        })
        .collect()
}
