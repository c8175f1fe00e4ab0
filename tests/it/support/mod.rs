//! The test harness: a private cluster per test run, a fresh database per test, the app on a
//! random port.

use std::path::PathBuf;
use std::sync::OnceLock;

use secrecy::SecretString;
use sqlx::{Connection, PgPool};
use zhonglian::app::AppState;
use zhonglian::config::Settings;
use zhonglian::db::embedded::{Cluster, ClusterOptions};
use zhonglian::Application;

mod assertions;
mod demo;
mod listings;
mod pledging;
mod requests;
mod seed;
mod smtp;
mod witnessing;

pub use assertions::*;
pub use demo::*;
pub use listings::*;
pub use pledging::*;
pub use requests::*;
pub use seed::*;
pub use smtp::*;
pub use witnessing::*;

const TEMPLATE: &str = "zl_template";

struct Shared {
    cluster: Cluster,
    root: PathBuf,
}

/// Starts the cluster once per test process, migrates a template database, and arranges for the
/// cluster to be stopped and deleted when the process exits.
fn shared() -> &'static Shared {
    static SHARED: OnceLock<Shared> = OnceLock::new();
    SHARED.get_or_init(|| {
        std::thread::spawn(|| {
            if std::env::var_os("TEST_LOG").is_some() {
                let _ = tracing_subscriber::fmt()
                    .with_env_filter("info,sqlx=warn")
                    .try_init();
            }
            let root = std::env::temp_dir().join(format!("zhonglian-test-{}", std::process::id()));
            std::fs::create_dir_all(&root).expect("test folder");
            let cluster = Cluster::start(&root.join("pg"), &ClusterOptions::for_tests())
                .unwrap_or_else(|e| panic!("cannot start the test cluster: {e}"));
            cluster
                .stop_and_remove_after(std::process::id())
                .expect("cluster watcher");
            // The per-test data folders go too, once the cluster inside has stopped.
            std::process::Command::new("setsid")
                .args([
                    "-f",
                    "sh",
                    "-c",
                    &format!(
                        "while kill -0 {} 2>/dev/null; do sleep 0.5; done; sleep 2; rm -rf '{}'",
                        std::process::id(),
                        root.display()
                    ),
                ])
                .status()
                .expect("folder watcher");
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(async {
                zhonglian::db::create_database(&cluster, TEMPLATE)
                    .await
                    .expect("template database");
                let pool = zhonglian::db::pool(cluster.connect_options(TEMPLATE), 2)
                    .await
                    .expect("template pool");
                zhonglian::db::migrate(&pool).await.expect("migrations");
                pool.close().await;
            });
            Shared { cluster, root }
        })
        .join()
        .expect("test cluster setup")
    })
}

/// The folder (socket directory) of the shared test cluster.
pub fn cluster_dir() -> PathBuf {
    shared().cluster.dir().to_owned()
}

/// A fresh, migrated database of its own.
pub async fn fresh_database() -> (String, PgPool) {
    let shared = shared();
    let name = format!("t_{}", uuid::Uuid::new_v4().simple());
    let mut admin = sqlx::PgConnection::connect_with(&shared.cluster.connect_options("postgres"))
        .await
        .expect("admin connection");
    sqlx::query(&format!("CREATE DATABASE \"{name}\" TEMPLATE {TEMPLATE}"))
        .execute(&mut admin)
        .await
        .expect("create test database");
    admin.close().await.ok();
    let pool = zhonglian::db::pool(shared.cluster.connect_options(&name), 16)
        .await
        .expect("test pool");
    (name, pool)
}

/// A running application on its own database.
pub struct TestApp {
    pub address: String,
    pub db: PgPool,
    pub state: AppState,
    pub data_dir: PathBuf,
    /// A client that keeps cookies and does not follow redirects (like a careful browser).
    pub client: reqwest::Client,
}

/// The server secret of every test app and test server process.
pub const TEST_SECRET_KEY: &str = "test secret key material, 32+ bytes long";
/// The ledger's signing seed in tests.
pub const TEST_LEDGER_KEY: &str =
    "0101010101010101010101010101010101010101010101010101010101010101";
/// The ledger's origin in tests.
pub const TEST_LEDGER_ORIGIN: &str = "zhonglian.test/ledger";

/// Settings every test app uses: fixed keys, a data folder of its own, port 0.
pub fn test_settings(data_dir: PathBuf) -> Settings {
    let mut settings = Settings::for_data_dir(data_dir);
    settings.secret_key = Some(SecretString::from(TEST_SECRET_KEY.to_owned()));
    settings.ledger_key = Some(SecretString::from(TEST_LEDGER_KEY.to_owned()));
    settings.ledger_origin = TEST_LEDGER_ORIGIN.into();
    settings
}

/// `zhonglian serve` on the test app's database, with the test keys and `data_dir` as its data
/// folder; the caller adds its address, settings and output and spawns it.
pub fn serve_command(app: &TestApp, data_dir: &std::path::Path) -> std::process::Command {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_zhonglian"));
    command
        .arg("serve")
        .env("DATABASE_URL", app.database_url())
        .env("ZHONGLIAN_DATA_DIR", data_dir)
        .env("ZHONGLIAN_SECRET_KEY", TEST_SECRET_KEY)
        .env("ZHONGLIAN_LEDGER_KEY", TEST_LEDGER_KEY)
        .env("LEDGER_ORIGIN", TEST_LEDGER_ORIGIN)
        .stdin(std::process::Stdio::null());
    command
}

impl TestApp {
    /// Starts an app on a fresh database.
    pub async fn spawn() -> TestApp {
        Self::spawn_with(|_| {}).await
    }

    /// Starts an app on a fresh database, with the test settings changed by `adjust`.
    pub async fn spawn_with(adjust: impl FnOnce(&mut Settings)) -> TestApp {
        let (database, db) = fresh_database().await;
        let data_dir = shared().root.join(&database);
        let mut settings = test_settings(data_dir.clone());
        adjust(&mut settings);
        let app = Application::build(settings, db.clone())
            .await
            .expect("application");
        let address = format!("http://{}", app.local_addr().expect("address"));
        let state = app.state().clone();
        state
            .ledger
            .ensure_checkpoint(&db)
            .await
            .expect("first checkpoint");
        tokio::spawn(app.run(std::future::pending()));
        TestApp {
            address,
            db,
            state,
            data_dir,
            client: client(),
        }
    }

    /// A `DATABASE_URL` for this test's database (for the command-line tools).
    pub fn database_url(&self) -> String {
        let options = self.db.connect_options();
        format!(
            "postgres://{}@localhost/{}?host={}",
            options.get_username(),
            options.get_database().unwrap_or_default(),
            shared().cluster.dir().display()
        )
    }

    /// The absolute URL of `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    /// Signs up through the API and returns the user JSON.
    pub async fn signup(&self, email: &str, role: &str) -> serde_json::Value {
        let response = self
            .client
            .post(self.url("/api/v1/auth/signup"))
            .json(&serde_json::json!({
                "email": email, "password": "correct horse battery", "display_name": "Test User", "role": role
            }))
            .send()
            .await
            .expect("signup request");
        assert_eq!(response.status(), 201, "signup of {email} failed");
        response.json().await.expect("user json")
    }

    /// Logs in through the API and returns the bearer token.
    pub async fn login(&self, email: &str) -> String {
        let response = self
            .client
            .post(self.url("/api/v1/auth/login"))
            .json(&serde_json::json!({"email": email, "password": "correct horse battery"}))
            .send()
            .await
            .expect("login request");
        assert_eq!(response.status(), 200, "login of {email} failed");
        let body: serde_json::Value = response.json().await.expect("login json");
        body["token"].as_str().expect("token").to_owned()
    }

    /// A signed-up, logged-in backer's token.
    pub async fn login_as_backer(&self) -> String {
        let email = format!("backer-{}@example.com", uuid::Uuid::new_v4().simple());
        self.signup(&email, "backer").await;
        self.login(&email).await
    }

    /// Creates a staff account (as the `admin` command does) and returns its token.
    pub async fn login_as_staff(&self, role: zhonglian::accounts::domain::Role) -> String {
        let email = format!(
            "{}-{}@example.com",
            role.as_str(),
            uuid::Uuid::new_v4().simple()
        );
        zhonglian::accounts::create_staff_user(
            &self.db,
            &email,
            "Staff",
            "correct horse battery".into(),
            role,
        )
        .await
        .expect("staff user");
        self.login(&email).await
    }

    /// Fetches a page and returns the CSRF token of its first form.
    pub async fn csrf_from(&self, path: &str) -> String {
        let html = self
            .client
            .get(self.url(path))
            .send()
            .await
            .expect("page")
            .text()
            .await
            .expect("html");
        let marker = "name=\"csrf\" value=\"";
        let start = html.find(marker).expect("a CSRF field on the page") + marker.len();
        html[start..start + 64].to_owned()
    }
}

/// A cookie-keeping HTTP client that does not follow redirects.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        // Below the server's idle keep-alive limit, as a well-behaved client keeps it.
        .pool_idle_timeout(std::time::Duration::from_secs(2))
        .build()
        .expect("client")
}

impl TestApp {
    /// A signed-up, logged-in founder's token.
    pub async fn login_as_founder(&self) -> String {
        let email = format!("founder-{}@example.com", uuid::Uuid::new_v4().simple());
        self.signup(&email, "founder").await;
        self.login(&email).await
    }

    /// A regulator's token.
    pub async fn login_as_regulator(&self) -> String {
        self.login_as_staff(zhonglian::accounts::domain::Role::Regulator)
            .await
    }

    /// A request to the API with a bearer token.
    pub fn api(&self, method: reqwest::Method, path: &str, token: &str) -> reqwest::RequestBuilder {
        self.client
            .request(method, self.url(&format!("/api/v1{path}")))
            .bearer_auth(token)
    }
}

impl TestApp {
    /// Logs `email` in through the log-in form, so this app's client carries the session cookie
    /// like a browser.
    pub async fn sign_in_browser(&self, email: &str) {
        let csrf = self.csrf_from("/login").await;
        let response = self
            .client
            .post(self.url("/login"))
            .form(&[
                ("csrf", csrf.as_str()),
                ("email", email),
                ("password", "correct horse battery"),
            ])
            .send()
            .await
            .expect("log-in form");
        assert_eq!(response.status(), 303, "log-in of {email} failed");
    }

    /// Posts a form to a page as this app's client, and returns the status and the redirect
    /// target (or the page's HTML when there is none).
    pub async fn post_form(&self, path: &str, fields: &[(&str, &str)]) -> (u16, String) {
        let response = self
            .client
            .post(self.url(path))
            .form(fields)
            .send()
            .await
            .expect("form post");
        let status = response.status().as_u16();
        match response.headers().get("location") {
            Some(to) => (status, to.to_str().unwrap_or_default().to_owned()),
            None => (status, response.text().await.expect("page")),
        }
    }
}
