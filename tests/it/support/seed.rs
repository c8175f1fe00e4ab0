//! Rows made directly in the database: users, projects, tiers and money that the rooms would
//! otherwise create through many requests, so tests of one room need not drive all the others.

use super::TestApp;

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
        .bind(founder.id)
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
                 VALUES ($1, $2, $3, $4, 'A fixture reward', $5::numeric, $6, false)",
            )
            .bind(id)
            .bind(project)
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
        .bind(project)
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
            .bind(project)
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

/// `n` funded fixture backers (CNY `amount` each), made a few at a time.
pub async fn funded_backers(app: &std::sync::Arc<TestApp>, n: usize, amount: &str) -> Vec<Backer> {
    let mut out = Vec::with_capacity(n);
    for chunk in (0..n).collect::<Vec<_>>().chunks(16) {
        let mut tasks = Vec::new();
        for _ in chunk {
            let app = app.clone();
            let amount = amount.to_owned();
            tasks.push(tokio::spawn(async move {
                let backer = app.fixture_backer().await;
                app.fund(&backer, &amount).await;
                backer
            }));
        }
        for task in tasks {
            out.push(task.await.unwrap());
        }
    }
    out
}
