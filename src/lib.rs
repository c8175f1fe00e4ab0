//! Zhonglian (众链): a crowdfunding exchange whose every settled money movement is publicly
//! verifiable. See `DESIGN.md` for the map of rooms.

pub mod accounts;
pub mod cache;
pub mod cli;
pub mod config;
pub mod db;
pub mod demo;
pub mod http;
pub mod i18n;
pub mod ledger;
pub mod money;
pub mod pledges;
pub mod projects;
pub mod settlement;
pub mod supervision;

use std::net::SocketAddr;
use std::sync::Arc;

use sqlx::PgPool;
use tokio::net::TcpListener;

use config::Settings;
use http::{AppState, Keys};
use ledger::Ledger;

/// A bound, ready-to-serve application.
pub struct Application {
    listener: TcpListener,
    router: axum::Router,
    state: AppState,
}

impl Application {
    /// Builds the state from settings and an open pool, and binds the listener (port 0 picks a
    /// free port, as the tests do).
    pub async fn build(settings: Settings, db: PgPool) -> anyhow::Result<Self> {
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
        let gateway = settings.payment_provider.map(|kind| match kind {
            config::PaymentProviderKind::Sandbox => {
                let shared = settings.payment_gateway_secret.as_ref().unwrap_or(&secret);
                Arc::new(money::provider::SandboxProvider::new(config::secret_bytes(
                    shared,
                )))
            }
        });
        let listener = TcpListener::bind(settings.bind).await?;
        let state = AppState {
            pledge_desk: crate::pledges::Desk::new(
                db.clone(),
                settings.investor_limit_rule.clone(),
                crate::pledges::desk::Bounds {
                    queue: settings.pledge_queue_limit as usize,
                    wait: std::time::Duration::from_secs(settings.pledge_wait_seconds),
                },
            ),
            public_views: Arc::new(crate::projects::api::PublicViews::new(
                std::time::Duration::from_secs(settings.public_view_seconds),
                crate::projects::api::PUBLIC_VIEW_CAPACITY,
            )),
            db,
            keys: Arc::new(Keys::derive(&secret)),
            settings: Arc::new(settings),
            metrics: Arc::default(),
            ledger: Arc::new(ledger),
            gateway,
        };
        accounts::password::warm_up();
        Ok(Self {
            listener,
            router: http::router(state.clone()),
            state,
        })
    }

    /// The address actually bound.
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// The shared state (for tests and background workers).
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until `shutdown` completes, then finishes in-flight requests.
    pub async fn run(
        self,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        axum::serve(
            self.listener,
            self.router
                .into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(shutdown)
        .await
    }
}
