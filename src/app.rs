//! The application's state: one value, cloned cheaply into every handler. It sits above the
//! rooms (it holds their long-lived parts) and below their handlers.

use std::sync::Arc;

use axum::extract::FromRef;
use sqlx::PgPool;

use crate::config::{self, Settings};
use crate::http::metrics::Metrics;
use crate::http::pages::Inbox;
use crate::http::Web;
use crate::keys::Keys;
use crate::ledger::Ledger;
use crate::money::provider::SandboxProvider;
use crate::pledges::desk::{Bounds, Desk};
use crate::projects::views::{PublicViews, PUBLIC_VIEW_CAPACITY};

/// Everything a handler needs, cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub db: PgPool,
    pub settings: Arc<Settings>,
    pub keys: Arc<Keys>,
    pub metrics: Arc<Metrics>,
    pub ledger: Arc<Ledger>,
    /// Projects as anonymous visitors see them, by id or slug (see `projects::views`).
    pub public_views: Arc<PublicViews>,
    /// Projects' discussions and follower counts as anonymous visitors see them (see
    /// `community::kept`).
    pub public_communities: Arc<crate::community::kept::Kept>,
    /// Makes new pledges, batching those for one project.
    pub pledge_desk: Arc<Desk>,
    /// The payment gateway that funds wallets; `None` unless `PAYMENT_PROVIDER` names one.
    pub gateway: Option<Arc<SandboxProvider>>,
    /// Counts unread notifications for the page header.
    pub inbox: Arc<dyn Inbox>,
    /// The witness this server runs for other logs (`WITNESS_LOGS`), served under `/witness`.
    pub witness: Option<Arc<crate::witness::Witness>>,
    /// The witnesses the ledger submits its checkpoints to (`LEDGER_WITNESSES`).
    pub ledger_witnesses: Vec<crate::witness::client::Peer>,
    /// Their lag, as the witnessing client last saw it (also in `/metrics`).
    pub witnessing: Arc<crate::witness::client::Status>,
}

impl AppState {
    /// The state of a server: the secret (read from the settings or the data folder, created
    /// there on first start) and the keys derived from it, the ledger, the payment gateway,
    /// the pledge desk and the public views; `inbox` counts unread notifications for the header.
    pub fn build(settings: Settings, db: PgPool, inbox: Arc<dyn Inbox>) -> anyhow::Result<Self> {
        let secret = config::load_or_create_secret(
            settings.secret_key.as_ref(),
            &settings.data_dir.join("secret.key"),
            || config::random_hex(32),
        )?;
        anyhow::ensure!(
            config::secret_bytes(&secret).len() >= 32,
            "ZHONGLIAN_SECRET_KEY must be at least 32 bytes"
        );
        let ledger = Ledger::load(&settings)?;
        let ledger_witnesses = crate::witness::client::peers(&settings.ledger_witnesses)?;
        let witnessing = Arc::new(crate::witness::client::Status::default());
        let metrics = Arc::new(crate::http::metrics::Metrics::default());
        if !ledger_witnesses.is_empty() {
            let status = witnessing.clone();
            metrics.add_source(Box::new(move || status.render()));
        }
        let witness = if settings.witness_logs.0.is_empty() {
            None
        } else {
            let name = settings
                .witness_name
                .clone()
                .unwrap_or_else(|| format!("{}/witness", settings.ledger_origin));
            let logs = settings
                .witness_logs
                .0
                .iter()
                .map(|k| crate::witness::parse_log_key(k))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| anyhow::anyhow!("WITNESS_LOGS: {e}"))?;
            Some(Arc::new(crate::witness::Witness::open(
                &settings.data_dir.join("witness"),
                &name,
                &logs,
            )?))
        };
        let gateway = settings.payment_provider.map(|kind| match kind {
            config::PaymentProviderKind::Sandbox => {
                Arc::new(match settings.payment_gateway_secret.as_ref() {
                    Some(shared) => SandboxProvider::with_key(config::secret_bytes(shared)),
                    None => SandboxProvider::new(config::secret_bytes(&secret)),
                })
            }
        });
        Ok(AppState {
            pledge_desk: Desk::new(
                db.clone(),
                settings.investor_limit_rule.clone(),
                Bounds {
                    queue: settings.pledge_queue_limit as usize,
                    wait: std::time::Duration::from_secs(settings.pledge_wait_seconds),
                },
            ),
            public_views: Arc::new(PublicViews::new(
                std::time::Duration::from_secs(settings.public_view_seconds),
                PUBLIC_VIEW_CAPACITY,
            )),
            public_communities: Arc::new(crate::community::kept::Kept::new(
                std::time::Duration::from_secs(settings.public_view_seconds),
                crate::community::kept::CAPACITY,
            )),
            db,
            keys: Arc::new(Keys::derive(&secret)),
            settings: Arc::new(settings),
            metrics,
            ledger: Arc::new(ledger),
            gateway,
            inbox,
            witness,
            ledger_witnesses,
            witnessing,
        })
    }
}

impl FromRef<AppState> for Web {
    fn from_ref(state: &AppState) -> Self {
        Web {
            db: state.db.clone(),
            settings: state.settings.clone(),
            keys: state.keys.clone(),
            metrics: state.metrics.clone(),
            inbox: state.inbox.clone(),
        }
    }
}

impl From<&AppState> for crate::settlement::Deps {
    fn from(state: &AppState) -> Self {
        crate::settlement::Deps::new(state.db.clone(), state.ledger.clone(), &state.settings)
    }
}
