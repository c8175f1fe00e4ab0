//! Database pool, migrations and the embedded cluster.

pub mod embedded;

use std::time::Duration;

use secrecy::ExposeSecret;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, PgPool};

use crate::config::Settings;
use embedded::{Cluster, ClusterOptions};

/// Where the database is: a server given by URL, or our own cluster (which we stop on shutdown).
pub struct Database {
    pub pool: PgPool,
    pub cluster: Option<Cluster>,
}

/// Name of the application database inside the embedded cluster.
pub const EMBEDDED_DATABASE: &str = "zhonglian";

impl Database {
    /// Connects to `DATABASE_URL`, or starts the embedded cluster and creates the database.
    /// Runs the migrations either way.
    pub async fn open(settings: &Settings, max_connections: u32) -> anyhow::Result<Self> {
        let (options, cluster) = match &settings.database_url {
            Some(url) => (url.expose_secret().parse::<PgConnectOptions>()?, None),
            None => {
                let dir = settings.data_dir.join("pg");
                let cluster = tokio::task::spawn_blocking(move || {
                    Cluster::start(&dir, &ClusterOptions::default())
                })
                .await??;
                create_database(&cluster, EMBEDDED_DATABASE).await?;
                (cluster.connect_options(EMBEDDED_DATABASE), Some(cluster))
            }
        };
        let pool = pool(options, max_connections).await?;
        migrate(&pool).await?;
        Ok(Self { pool, cluster })
    }

    /// Closes the pool and stops the embedded cluster, if we run one.
    pub async fn close(self) {
        self.pool.close().await;
        if let Some(cluster) = self.cluster {
            match tokio::task::spawn_blocking(move || cluster.stop()).await {
                Ok(Ok(())) => tracing::info!("embedded PostgreSQL stopped"),
                Ok(Err(e)) => tracing::warn!(error = %e, "could not stop embedded PostgreSQL"),
                Err(e) => tracing::warn!(error = %e, "could not stop embedded PostgreSQL"),
            }
        }
    }
}

/// A pool with quiet statement logging (slow statements are still logged).
pub async fn pool(options: PgConnectOptions, max_connections: u32) -> sqlx::Result<PgPool> {
    let options = options
        .log_statements(log::LevelFilter::Trace)
        .log_slow_statements(log::LevelFilter::Warn, Duration::from_secs(1));
    PgPoolOptions::new()
        .max_connections(max_connections)
        .acquire_timeout(Duration::from_secs(10))
        .connect_with(options)
        .await
}

/// Applies the embedded migrations.
pub async fn migrate(pool: &PgPool) -> Result<(), sqlx::migrate::MigrateError> {
    sqlx::migrate!("./migrations").run(pool).await
}

/// Creates `name` in the cluster unless it exists.
pub async fn create_database(cluster: &Cluster, name: &str) -> sqlx::Result<()> {
    let mut conn = cluster.connect_options("postgres").connect().await?;
    let exists: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
            .bind(name)
            .fetch_one(&mut conn)
            .await?;
    if !exists {
        sqlx::query(&format!("CREATE DATABASE \"{name}\""))
            .execute(&mut conn)
            .await?;
    }
    Ok(())
}
