//! The application's state: one value, cloned cheaply into every handler. It sits above the
//! rooms (it holds their long-lived parts) and below their handlers.

use std::sync::Arc;

use axum::extract::FromRef;
use sqlx::PgPool;

use crate::config::Settings;
use crate::http::metrics::Metrics;
use crate::http::Web;
use crate::keys::Keys;
use crate::ledger::Ledger;

/// Everything a handler needs, cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub db: PgPool,
    pub settings: Arc<Settings>,
    pub keys: Arc<Keys>,
    pub metrics: Arc<Metrics>,
    pub ledger: Arc<Ledger>,
    /// Projects as anonymous visitors see them, by id or slug (see `projects::views`).
    pub public_views: Arc<crate::projects::views::PublicViews>,
    /// Makes new pledges, batching those for one project.
    pub pledge_desk: Arc<crate::pledges::Desk>,
    /// The payment gateway that funds wallets; `None` unless `PAYMENT_PROVIDER` names one.
    pub gateway: Option<Arc<crate::money::provider::SandboxProvider>>,
}

impl FromRef<AppState> for Web {
    fn from_ref(state: &AppState) -> Self {
        Web {
            db: state.db.clone(),
            settings: state.settings.clone(),
            keys: state.keys.clone(),
            metrics: state.metrics.clone(),
        }
    }
}
