//! The web layer: state, router, layers, extractors and the error type.

pub mod csrf;
pub mod error;
pub mod extract;
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
    pub db: PgPool,
    pub settings: Arc<Settings>,
    pub keys: Arc<Keys>,
    pub metrics: Arc<metrics::Metrics>,
}

/// Largest request body accepted anywhere (uploads included).
pub const BODY_LIMIT: usize = 1024 * 1024;
