//! Listings in the browser: browse and search ([`browse`]), the project page ([`show`]), and the
//! founder's tools ([`founder`]). Every form carries the CSRF token; nothing needs JavaScript.
//! The helpers below (labels, amounts, times, cards) are shared with other rooms' pages.

pub mod browse;
pub mod form;
pub mod founder;
pub mod parts;
pub mod share;
pub mod show;
pub mod upload;

use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use axum::Router;

use crate::app::AppState;
use crate::i18n::Catalogue;

pub use super::cards::{cover_url, label, picture_url, time_left, Card};
pub use browse::{featured, home};

/// Routes of this room.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/projects", get(browse::browse))
        .route("/projects/{key}", get(show::show))
        .route("/projects/{key}/cover", get(show::cover_image))
        .route("/projects/{key}/qr.svg", get(share::qr_code))
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
