//! The web layer under every room's handlers: the web error type, extractors, CSRF, metrics,
//! page chrome and serving. It works on any state that gives it [`Web`] (through `FromRef`),
//! and imports no room but `accounts` (whose sessions the extractors check); the application's
//! state (`app`) and the router (`router`) sit above it.

pub mod confirm;
pub mod csrf;
pub mod error;
pub mod extract;
pub mod form;
pub mod lang;
pub mod metrics;
pub mod openapi;
pub mod pages;
pub mod redirect;
pub mod serve;
pub mod text_guard;

use std::sync::Arc;

use sqlx::PgPool;

use crate::config::Settings;

pub use crate::keys::Keys;

/// What the web layer itself needs from the application's state: its extractors, CSRF and
/// metrics take this (through `FromRef`), so `http` knows no room's state.
#[derive(Clone)]
pub struct Web {
    /// The primary database (sessions are checked against it).
    pub db: PgPool,
    pub settings: Arc<Settings>,
    pub keys: Arc<Keys>,
    pub metrics: Arc<metrics::Metrics>,
    /// Counts the signed-in user's unread notifications for the header.
    pub inbox: Arc<dyn pages::Inbox>,
}

/// Largest request body accepted anywhere (uploads included).
pub const BODY_LIMIT: usize = 1024 * 1024;
