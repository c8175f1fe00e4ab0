//! Database pool, migrations and the embedded cluster.

pub mod embedded;
pub mod watch;

use std::time::Duration;

use std::path::Path;

use secrecy::{ExposeSecret, SecretString};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, PgPool};

use embedded::{Cluster, ClusterOptions};

/// Where the database is: a server given by URL, or the embedded cluster (which we stop on
/// shutdown only if this process started it and no other Zhonglian process still uses it).
pub struct Database {
    pub pool: PgPool,
    pub cluster: Option<Cluster>,
}

/// Name of the application database inside the embedded cluster.
pub const EMBEDDED_DATABASE: &str = "zhonglian";

impl Database {
    /// Connects to `url` (`DATABASE_URL`), or, without one, starts the embedded cluster in
    /// `data_dir/pg` and creates the database. Runs the migrations either way.
    pub async fn open(
        url: Option<&SecretString>,
        data_dir: &Path,
        max_connections: u32,
    ) -> anyhow::Result<Self> {
        let (options, cluster) = match url {
            Some(url) => (url.expose_secret().parse::<PgConnectOptions>()?, None),
            None => {
                let dir = data_dir.join("pg");
                let cluster = tokio::task::spawn_blocking(move || {
                    Cluster::start(&dir, &ClusterOptions::for_server())
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

    /// Closes the pool and stops the embedded cluster if it is ours to stop; a cluster another
    /// process started (a server beside this command) keeps running, whatever happened here.
    pub async fn close(self) {
        self.pool.close().await;
        if let Some(cluster) = self.cluster {
            match tokio::task::spawn_blocking(move || cluster.stop_if_ours()).await {
                Ok(Ok(true)) => tracing::info!("embedded PostgreSQL stopped"),
                Ok(Ok(false)) => tracing::debug!("embedded PostgreSQL left running for its owner"),
                Ok(Err(e)) => tracing::warn!(error = %e, "could not stop embedded PostgreSQL"),
                Err(e) => tracing::warn!(error = %e, "could not stop embedded PostgreSQL"),
            }
        }
    }
}

/// How long a request waits for a connection before it is answered 503: long enough to ride
/// out a burst, short enough that a request made while the database is away fails fast instead
/// of hanging (sqlx keeps retrying a refused connection until this deadline).
pub const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(3);

/// A pool with quiet statement logging (slow statements are still logged).
pub async fn pool(options: PgConnectOptions, max_connections: u32) -> sqlx::Result<PgPool> {
    let options = options
        .log_statements(log::LevelFilter::Trace)
        .log_slow_statements(log::LevelFilter::Warn, Duration::from_secs(1));
    PgPoolOptions::new()
        .max_connections(max_connections)
        .acquire_timeout(ACQUIRE_TIMEOUT)
        .connect_with(options)
        .await
}

/// Whether a database error is among the causes of `error` and means the database cannot be
/// reached (see `is_unreachable`).
pub fn is_unreachable_cause(error: &anyhow::Error) -> bool {
    error
        .chain()
        .filter_map(|cause| cause.downcast_ref::<sqlx::Error>())
        .any(is_unreachable)
}

/// Whether `error` means the database cannot be reached right now (it is down, restarting,
/// shutting down, or the connection dropped), as opposed to a query that is wrong or refused.
/// The web layer answers the first kind with 503 and `Retry-After`.
pub fn is_unreachable(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Protocol(message) => {
            let message = message.to_ascii_lowercase();
            ["eof", "closed", "connection", "reset", "broken pipe"]
                .iter()
                .any(|word| message.contains(word))
        }
        sqlx::Error::Database(db) => db.code().is_some_and(|code| {
            // Class 08: connection exception; 57P01-57P03: admin shutdown, crash shutdown,
            // cannot connect now (starting up or shutting down).
            code.starts_with("08") || matches!(code.as_ref(), "57P01" | "57P02" | "57P03")
        }),
        _ => false,
    }
}

/// Applies the embedded migrations.
pub async fn migrate(pool: &PgPool) -> Result<(), sqlx::migrate::MigrateError> {
    sqlx::migrate!("./migrations").run(pool).await
}

/// Creates `name` in the cluster unless it exists. Two processes may ask at once (a server and
/// a command starting together), so the database says which one created it: the other's
/// "already exists" (or the catalogue's unique violation, when both were in flight) is fine.
pub async fn create_database(cluster: &Cluster, name: &str) -> sqlx::Result<()> {
    let mut conn = cluster.connect_options("postgres").connect().await?;
    let exists: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
            .bind(name)
            .fetch_one(&mut conn)
            .await?;
    if exists {
        return Ok(());
    }
    match sqlx::query(&format!("CREATE DATABASE \"{name}\""))
        .execute(&mut conn)
        .await
    {
        Err(sqlx::Error::Database(e))
            if e.code()
                .is_some_and(|code| code == "42P04" || code == "23505") =>
        {
            Ok(())
        }
        Err(e) => Err(e),
        Ok(_) => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lost_connection_means_the_database_is_unreachable() {
        let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        assert!(is_unreachable(&sqlx::Error::Io(refused)));
        assert!(is_unreachable(&sqlx::Error::PoolTimedOut));
        assert!(is_unreachable(&sqlx::Error::PoolClosed));
        assert!(is_unreachable(&sqlx::Error::Protocol(
            "unexpected EOF while reading".into()
        )));
    }

    #[test]
    fn a_wrong_query_is_not_an_unreachable_database() {
        assert!(!is_unreachable(&sqlx::Error::RowNotFound));
        assert!(!is_unreachable(&sqlx::Error::ColumnNotFound("x".into())));
        assert!(!is_unreachable(&sqlx::Error::Protocol(
            "unknown message type".into()
        )));
    }
}
