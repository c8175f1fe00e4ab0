//! The demo catalogue in a test app: every role, projects in every state, settled pledges with
//! receipts, loaded the way `zhonglian serve --demo` loads it; and the pages a reader of each
//! role opens on it.

use zhonglian::accounts::domain::UserId;
use zhonglian::projects::ProjectId;
use zhonglian::settlement::Settler;

use super::TestApp;

/// A test app with the demo data, settled, and the addresses of its pages worth looking at.
pub struct DemoSite {
    pub app: TestApp,
    /// A live reward project's slug, and its id (for the pledge form).
    pub reward_slug: String,
    pub reward_id: uuid::Uuid,
    /// A live equity project's slug.
    pub equity_slug: String,
    /// A collected pledge of the demo backer (it has a receipt).
    pub collected_pledge: uuid::Uuid,
    /// The demo founder's funded project (it has backers).
    pub funded_project: uuid::Uuid,
    /// The demo founder's id (for the profile page).
    pub founder_id: uuid::Uuid,
    /// The scheduled project's slug (for the launching-soon page).
    pub soon_slug: String,
    /// The slug of a project with a discussion.
    pub discussed_slug: String,
    /// The slug of the funded equity offering, whose market has an open auction.
    pub company_slug: String,
}

/// Who opens a page: nobody signed in, or one of the demo accounts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reader {
    Visitor,
    Backer,
    Founder,
    Regulator,
}

impl Reader {
    /// The demo account's e-mail address (the password is `zhonglian::demo::DEMO_PASSWORD`).
    pub fn email(self) -> Option<&'static str> {
        match self {
            Reader::Visitor => None,
            Reader::Backer => Some("backer@demo.zhonglian"),
            Reader::Founder => Some("founder@demo.zhonglian"),
            Reader::Regulator => Some("regulator@demo.zhonglian"),
        }
    }
}

/// One page of the audit: a short name (for screenshots and messages), its path, its reader.
#[derive(Clone, Debug)]
pub struct AuditPage {
    pub name: &'static str,
    pub path: String,
    pub reader: Reader,
}

impl DemoSite {
    /// Starts a test app, loads the demo data and settles the campaigns that ended at load.
    pub async fn spawn() -> DemoSite {
        let app = TestApp::spawn().await;
        zhonglian::demo::load(&app.state).await.expect("demo data");
        let settled = Settler::new(&app.state)
            .settle_due(&|_| {})
            .await
            .expect("settlement of the ended demo campaigns");
        assert!(!settled.is_empty(), "the demo has campaigns to settle");
        let (reward_slug, reward_id): (String, uuid::Uuid) = sqlx::query_as(
            "SELECT slug, id FROM projects WHERE kind = 'reward' AND state = 'live'
             AND EXISTS (SELECT 1 FROM reward_tiers t WHERE t.project_id = projects.id)
             ORDER BY created_at, id LIMIT 1",
        )
        .fetch_one(&app.db)
        .await
        .expect("a live reward project in the demo");
        let (equity_slug,): (String,) = sqlx::query_as(
            "SELECT slug FROM projects WHERE kind = 'equity' AND state = 'live' LIMIT 1",
        )
        .fetch_one(&app.db)
        .await
        .expect("a live equity project in the demo");
        let (collected_pledge,): (uuid::Uuid,) = sqlx::query_as(
            "SELECT p.id FROM pledges p JOIN users u ON u.id = p.backer_id
             WHERE u.email = 'backer@demo.zhonglian' AND p.state = 'collected' LIMIT 1",
        )
        .fetch_one(&app.db)
        .await
        .expect("a collected pledge of the demo backer");
        let (funded_project,): (uuid::Uuid,) = sqlx::query_as(
            "SELECT p.id FROM projects p JOIN users u ON u.id = p.founder_id
             WHERE u.email = 'founder@demo.zhonglian' AND p.state = 'funded' LIMIT 1",
        )
        .fetch_one(&app.db)
        .await
        .expect("a funded project of the demo founder");
        let founder_id: uuid::Uuid =
            sqlx::query_scalar("SELECT id FROM users WHERE email = 'founder@demo.zhonglian'")
                .fetch_one(&app.db)
                .await
                .expect("the demo founder");
        let soon_slug: String = sqlx::query_scalar(
            "SELECT slug FROM projects WHERE state = 'live' AND launched_at > now() LIMIT 1",
        )
        .fetch_one(&app.db)
        .await
        .expect("a scheduled project in the demo");
        let discussed_slug: String = sqlx::query_scalar(
            "SELECT p.slug FROM projects p
              WHERE EXISTS (SELECT 1 FROM comments c WHERE c.project_id = p.id) LIMIT 1",
        )
        .fetch_one(&app.db)
        .await
        .expect("a discussed project in the demo");
        let (company, company_slug, issuer): (ProjectId, String, UserId) = sqlx::query_as(
            "SELECT id, slug, founder_id FROM projects
              WHERE kind = 'equity' AND state = 'funded' LIMIT 1",
        )
        .fetch_one(&app.db)
        .await
        .expect("a funded equity offering in the demo");
        let now = time::OffsetDateTime::now_utc();
        let window =
            zhonglian::market::auctions::Window::new(now, now + time::Duration::days(7), now)
                .expect("a window");
        zhonglian::market::auctions::schedule(&app.db, issuer, company, window)
            .await
            .expect("an open auction of the demo company");
        DemoSite {
            app,
            company_slug,
            founder_id,
            soon_slug,
            discussed_slug,
            reward_slug,
            reward_id,
            equity_slug,
            collected_pledge,
            funded_project,
        }
    }

    /// Every page a person of some role opens, grouped by reader so one sign-in serves many.
    pub fn pages(&self) -> Vec<AuditPage> {
        let page = |name, path: String, reader| AuditPage { name, path, reader };
        vec![
            page("home", "/".into(), Reader::Visitor),
            page("browse", "/projects".into(), Reader::Visitor),
            page("search", "/projects?q=lantern".into(), Reader::Visitor),
            page(
                "reward-project",
                format!("/projects/{}", self.reward_slug),
                Reader::Visitor,
            ),
            page(
                "equity-project",
                format!("/projects/{}", self.equity_slug),
                Reader::Visitor,
            ),
            page(
                "discussion",
                format!("/projects/{}/comments", self.discussed_slug),
                Reader::Visitor,
            ),
            page(
                "launching-soon",
                format!("/projects/{}/soon", self.soon_slug),
                Reader::Visitor,
            ),
            page(
                "profile",
                format!("/u/{}", self.founder_id),
                Reader::Visitor,
            ),
            page(
                "forgot-password",
                "/forgot-password".into(),
                Reader::Visitor,
            ),
            page("ledger", "/ledger".into(), Reader::Visitor),
            page("verify", "/verify".into(), Reader::Visitor),
            page("login", "/login".into(), Reader::Visitor),
            page("signup", "/signup".into(), Reader::Visitor),
            page(
                "not-found",
                "/projects/no-such-project".into(),
                Reader::Visitor,
            ),
            page(
                "pledge-form",
                format!("/projects/{}/pledge", self.reward_id),
                Reader::Backer,
            ),
            page("wallet", "/wallet".into(), Reader::Backer),
            page("my-pledges", "/me/pledges".into(), Reader::Backer),
            page(
                "receipt",
                format!("/me/pledges/{}/receipt", self.collected_pledge),
                Reader::Backer,
            ),
            page("notifications", "/me/notifications".into(), Reader::Backer),
            page("following", "/me/following".into(), Reader::Backer),
            page("holdings", "/me/holdings".into(), Reader::Backer),
            page(
                "market",
                format!("/projects/{}/market", self.company_slug),
                Reader::Backer,
            ),
            page("settings", "/me/settings".into(), Reader::Backer),
            page(
                "discussion-signed-in",
                format!("/projects/{}", self.discussed_slug),
                Reader::Backer,
            ),
            page("founder", "/founder".into(), Reader::Founder),
            page(
                "new-project",
                "/founder/projects/new".into(),
                Reader::Founder,
            ),
            page(
                "backers",
                format!("/founder/projects/{}/backers", self.funded_project),
                Reader::Founder,
            ),
            page("regulator", "/regulator".into(), Reader::Regulator),
        ]
    }
}
