//! Zhonglian (众链): a crowdfunding exchange whose every settled money movement is publicly
//! verifiable. See `DESIGN.md` for the map of rooms.

pub mod accounts;
pub mod app;
pub mod cache;
pub mod cli;
pub mod community;
pub mod config;
pub mod db;
pub mod demo;
pub mod error;
pub mod http;
pub mod i18n;
pub mod ids;
pub mod images;
pub mod keys;
pub mod ledger;
pub mod market;
pub mod money;
pub mod net;
pub mod notify;
pub mod pledges;
pub mod projects;
pub mod router;
pub mod settlement;
pub mod supervision;
pub mod tables;
pub mod witness;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::FromRef;
use sqlx::PgPool;
use tokio::net::TcpListener;

use app::AppState;
use config::Settings;

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
        let state = AppState::build(settings, db, Arc::new(notify::pages::Notifications))?;
        let listener = TcpListener::bind(state.settings.bind).await?;
        let metrics_listener = match state.settings.metrics_bind {
            Some(address) => Some(TcpListener::bind(address).await?),
            None => None,
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
                    let router = http::metrics::router(http::Web::from_ref(&self.state));
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
