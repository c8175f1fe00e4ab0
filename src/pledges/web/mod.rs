//! The pledges room on the web: the pledge form, the backer's list with its change and cancel
//! forms, the founder's backers tools, and the API. Everything here sits on the domain in
//! `pledges`, and only turns requests into its calls and its answers into pages or JSON.

pub mod api;
pub mod chart;
mod extras_form;
mod form;
mod founder;
mod mine;

use axum::Router;

use crate::app::AppState;

/// Page routes of this room.
pub fn routes() -> Router<AppState> {
    Router::new()
        .merge(form::routes())
        .merge(mine::routes())
        .merge(founder::routes())
}
