//! Zhonglian (众链): a crowdfunding exchange whose every settled money movement is publicly
//! verifiable. See `DESIGN.md` for the map of rooms.

pub mod accounts;
pub mod app;
pub mod cache;
pub mod cli;
pub mod config;
pub mod db;
pub mod demo;
pub mod error;
pub mod http;
pub mod i18n;
pub mod ids;
pub mod keys;
pub mod ledger;
pub mod money;
pub mod pledges;
pub mod projects;
pub mod router;
pub mod settlement;
pub mod supervision;
pub mod tables;

use std::net::SocketAddr;
use std::sync::Arc;

use sqlx::PgPool;
use tokio::net::TcpListener;

use app::AppState;
use config::Settings;
use keys::Keys;
use ledger::Ledger;

/// A bound, ready-to-serve application.
pub struct Application {
    listener: TcpListener,
    router: axum::Router,
    /// The listener that serves only `/metrics` (`METRICS_BIND`), when configured.
    metrics_listener: Option<TcpListener>,
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
                Arc::new(match settings.payment_gateway_secret.as_ref() {
                    Some(shared) => {
                        money::provider::SandboxProvider::with_key(config::secret_bytes(shared))
                    }
                    None => money::provider::SandboxProvider::new(config::secret_bytes(&secret)),
                })
            }
        });
        let listener = TcpListener::bind(settings.bind).await?;
        let metrics_listener = match settings.metrics_bind {
            Some(address) => Some(TcpListener::bind(address).await?),
            None => None,
        };
        let state = AppState {
            pledge_desk: crate::pledges::Desk::new(
                db.clone(),
                settings.investor_limit_rule.clone(),
                crate::pledges::desk::Bounds {
                    queue: settings.pledge_queue_limit as usize,
                    wait: std::time::Duration::from_secs(settings.pledge_wait_seconds),
                },
            ),
            public_views: Arc::new(crate::projects::views::PublicViews::new(
                std::time::Duration::from_secs(settings.public_view_seconds),
                crate::projects::views::PUBLIC_VIEW_CAPACITY,
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
            router: router::router(state.clone()),
            metrics_listener,
            state,
        })
    }

    /// The address actually bound.
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// The address the metrics listener actually bound, when `METRICS_BIND` is set.
    pub fn metrics_addr(&self) -> Option<std::io::Result<SocketAddr>> {
        self.metrics_listener.as_ref().map(TcpListener::local_addr)
    }

    /// The shared state (for tests and background workers).
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until `shutdown` completes, then finishes in-flight requests. Both listeners
    /// read request heads under `HEADER_READ_TIMEOUT_SECONDS` and serve at most
    /// `MAX_CONNECTIONS` connections each.
    pub async fn run(
        self,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let limits = http::serve::Limits {
            header_read_timeout: std::time::Duration::from_secs(
                self.state.settings.header_read_timeout_seconds,
            ),
            max_connections: self.state.settings.max_connections as usize,
        };
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let until_stopped = |mut stopped: tokio::sync::watch::Receiver<bool>| async move {
            // A dropped sender also means stop.
            let _ = stopped.wait_for(|stop| *stop).await;
        };
        let metrics = async {
            match self.metrics_listener {
                Some(listener) => {
                    let router = http::metrics::router(self.state.clone());
                    http::serve::serve(listener, router, limits, until_stopped(stopped.clone()))
                        .await
                }
                None => Ok(()),
            }
        };
        let main = http::serve::serve(
            self.listener,
            self.router,
            limits,
            until_stopped(stopped.clone()),
        );
        let signal = async move {
            shutdown.await;
            let _ = stop.send(true);
        };
        let (main, metrics, ()) = tokio::join!(main, metrics, signal);
        main.and(metrics)
    }
}
