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

    /// Creates a reward project with one tier through the API and returns its JSON.
    pub async fn create_reward_project(&self, token: &str, title: &str) -> serde_json::Value {
        let deadline = (time::OffsetDateTime::now_utc() + time::Duration::days(30))
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap();
        let response = self
            .api(reqwest::Method::POST, "/projects", token)
            .json(&serde_json::json!({
                "title": title,
                "summary": format!("Summary of {title}"),
                "story": "Our story.",
                "category": "design",
                "kind": "reward",
                "goal": "10000.00",
                "deadline": deadline,
                "tiers": [{"title": "Thank-you card", "price": "50.00", "quantity_limit": 100}],
            }))
            .send()
            .await
            .expect("create request");
        assert_eq!(response.status(), 201, "creating {title} failed");
        let body: serde_json::Value = response.json().await.expect("project json");
        body["project"].clone()
    }

    /// Submits a project and has a regulator approve it; returns the project id.
    pub async fn launch(
        &self,
        founder: &str,
        regulator: &str,
        project: &serde_json::Value,
    ) -> String {
        let id = project["id"].as_str().expect("project id").to_owned();
        let submitted = self
            .api(
                reqwest::Method::POST,
                &format!("/projects/{id}/submit"),
                founder,
            )
            .send()
            .await
            .expect("submit");
        assert_eq!(submitted.status(), 200, "submit of {id}");
        let approved = self
            .api(
                reqwest::Method::POST,
                &format!("/regulator/projects/{id}/approve"),
                regulator,
            )
            .json(&serde_json::json!({"reason": "Complete listing."}))
            .send()
            .await
            .expect("approve");
        assert_eq!(approved.status(), 200, "approval of {id}");
        id
    }
}

/// A backer made directly in the database (no password hashing, so a thousand are quick), with
/// a session token for the API.
#[derive(Debug, Clone)]
pub struct Backer {
    pub id: zhonglian::accounts::domain::UserId,
    pub token: String,
}

/// Fixtures: rows the listings room will later create through its own functions. Plain SQL,
/// used only by tests, so the pledging room can be tested before the catalogue exists.
impl TestApp {
    /// A user with the given roles who can only sign in through the returned token.
    pub async fn fixture_user(&self, roles: &[&str]) -> Backer {
        let id = uuid::Uuid::new_v4();
        sqlx::query(
            "INSERT INTO users (id, email, display_name, password_hash, roles)
             VALUES ($1, $2, 'Fixture User', 'fixture: no password', $3)",
        )
        .bind(id)
        .bind(format!("fixture-{}@example.com", id.simple()))
        .bind(roles)
        .execute(&self.db)
        .await
        .expect("fixture user");
        let id = zhonglian::accounts::domain::UserId(id);
        let user = zhonglian::accounts::find_user(&self.db, id)
            .await
            .expect("user")
            .expect("user row");
        let session =
            zhonglian::accounts::open_session(&self.state.db, &self.state.keys, user, None)
                .await
                .expect("session");
        Backer {
            id,
            token: session.token,
        }
    }

    /// A fixture backer.
    pub async fn fixture_backer(&self) -> Backer {
        self.fixture_user(&["backer"]).await
    }

    /// Credits a backer's wallet as a completed top-up would (CNY).
    pub async fn fund(&self, backer: &Backer, amount: &str) {
        use zhonglian::money::{self, AccountOwner, EntryKind, Money, Transfer};
        let mut conn = self.db.acquire().await.expect("connection");
        let gateway = money::account_for(&mut conn, AccountOwner::Gateway, "CNY")
            .await
            .expect("gateway");
        let wallet = money::account_for(&mut conn, AccountOwner::BackerWallet(backer.id), "CNY")
            .await
            .expect("wallet");
        money::transfer(
            &mut conn,
            Transfer {
                from: gateway,
                to: wallet,
                amount: Money::parse(amount).expect("amount"),
                kind: EntryKind::Deposit,
                reference: "fixture",
                once_key: None,
            },
        )
        .await
        .expect("funding");
    }

    /// A wallet balance in CNY.
    pub async fn wallet_balance(&self, backer: &Backer) -> rust_decimal::Decimal {
        zhonglian::money::balance_of(
            &self.db,
            zhonglian::money::AccountOwner::BackerWallet(backer.id),
            "CNY",
        )
        .await
        .expect("balance")
    }

    /// A project's escrow balance in CNY.
    pub async fn escrow_balance(
        &self,
        project: zhonglian::projects::ProjectId,
    ) -> rust_decimal::Decimal {
        zhonglian::money::balance_of(
            &self.db,
            zhonglian::money::AccountOwner::ProjectEscrow(project),
            "CNY",
        )
        .await
        .expect("balance")
    }

    /// Inserts a project in `state` with the deadline `deadline_in` from now.
    pub async fn fixture_project(
        &self,
        kind: &str,
        state: &str,
        deadline_in: time::Duration,
    ) -> zhonglian::projects::ProjectId {
        let founder = self.fixture_user(&["founder"]).await;
        let id = uuid::Uuid::new_v4();
        sqlx::query(
            "INSERT INTO projects (id, founder_id, slug, title, summary, category, kind, state, goal,
                                   deadline, launched_at)
             VALUES ($1, $2, $3, $4, 'A fixture project', 'design', $5, $6, 10000, now() + $7, now())",
        )
        .bind(id)
        .bind(founder.id.0)
        .bind(format!("fixture-{}", id.simple()))
        .bind(format!("Fixture project {}", &id.simple().to_string()[..6]))
        .bind(kind)
        .bind(state)
        .bind(deadline_in)
        .execute(&self.db)
        .await
        .expect("fixture project");
        zhonglian::projects::ProjectId(id)
    }

    /// A live reward project with tiers of (price, quantity limit), deadline in a week.
    pub async fn live_reward_project(
        &self,
        tiers: &[(&str, Option<i32>)],
    ) -> (
        zhonglian::projects::ProjectId,
        Vec<zhonglian::projects::TierId>,
    ) {
        let project = self
            .fixture_project("reward", "live", time::Duration::days(7))
            .await;
        let tiers = self.fixture_tiers(project, tiers).await;
        (project, tiers)
    }

    /// Adds tiers of (price, quantity limit) to a project.
    pub async fn fixture_tiers(
        &self,
        project: zhonglian::projects::ProjectId,
        tiers: &[(&str, Option<i32>)],
    ) -> Vec<zhonglian::projects::TierId> {
        let mut ids = Vec::new();
        for (position, (price, limit)) in tiers.iter().enumerate() {
            let id = uuid::Uuid::new_v4();
            sqlx::query(
                "INSERT INTO reward_tiers (id, project_id, position, title, description, price,
                                           quantity_limit, ships)
                 VALUES ($1, $2, $3, $4, 'A fixture reward', $5::numeric, $6, true)",
            )
            .bind(id)
            .bind(project.0)
            .bind(position as i32)
            .bind(format!("Tier {}", position + 1))
            .bind(*price)
            .bind(*limit)
            .execute(&self.db)
            .await
            .expect("fixture tier");
            ids.push(zhonglian::projects::TierId(id));
        }
        ids
    }

    /// A live equity project: price per share, (min, max) shares, min per investor, max
    /// investors, deadline `deadline_in` from now.
    pub async fn live_equity_project(
        &self,
        price: &str,
        shares: (i64, i64),
        min_per_investor: i64,
        max_investors: i32,
        deadline_in: time::Duration,
    ) -> zhonglian::projects::ProjectId {
        let project = self.fixture_project("equity", "live", deadline_in).await;
        sqlx::query(
            "INSERT INTO equity_offerings (project_id, price_per_share, min_shares, max_shares,
                 min_shares_per_investor, pre_money_valuation, security_type, risk_warning,
                 max_investors)
             VALUES ($1, $2::numeric, $3, $4, $5, 1000000, 'ordinary_shares',
                     'You may lose all the money you invest.', $6)",
        )
        .bind(project.0)
        .bind(price)
        .bind(shares.0)
        .bind(shares.1)
        .bind(min_per_investor)
        .bind(max_investors)
        .execute(&self.db)
        .await
        .expect("fixture offering");
        project
    }

    /// Sets a project's state and deadline as the listings and supervision rooms would.
    pub async fn set_project(
        &self,
        project: zhonglian::projects::ProjectId,
        state: &str,
        deadline_in: time::Duration,
    ) {
        sqlx::query("UPDATE projects SET state = $2, deadline = now() + $3 WHERE id = $1")
            .bind(project.0)
            .bind(state)
            .bind(deadline_in)
            .execute(&self.db)
            .await
            .expect("project update");
    }

    /// Asserts the books are sound: every entry and currency sums to zero, balances equal their
    /// postings, no wallet or escrow below zero, and each project's pledged total equals its
    /// escrow.
    pub async fn assert_books_balance(&self) {
        let check = zhonglian::money::check_journal(&self.db)
            .await
            .expect("journal check");
        assert!(check.is_sound(), "the books do not balance: {check:?}");
        let drift: Vec<(uuid::Uuid,)> = sqlx::query_as(
            "SELECT p.id FROM projects p JOIN project_totals t ON t.project_id = p.id
             LEFT JOIN money_accounts a ON a.kind = 'project_escrow' AND a.owner_id = p.id
             WHERE t.pledged_total <> coalesce(a.balance, 0)
                OR t.backer_count <> (SELECT count(*) FROM pledges WHERE project_id = p.id AND state = 'active')",
        )
        .fetch_all(&self.db)
        .await
        .expect("totals check");
        assert!(drift.is_empty(), "project totals drifted: {drift:?}");
    }
}
