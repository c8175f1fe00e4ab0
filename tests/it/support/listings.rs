//! Listings through the API as founders and the regulator drive them: create, submit,
//! approve, act on a project.

use reqwest::StatusCode;
use serde_json::{json, Value};
use zhonglian::ids::ProjectId;

use super::{assert_status, TestApp};

/// An RFC 3339 time `days` from now (negative: in the past).
pub fn in_days(days: i64) -> String {
    (time::OffsetDateTime::now_utc() + time::Duration::days(days))
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap()
}

/// The id of a project's JSON (`{"id": ...}`).
#[track_caller]
pub fn project_id(project: &Value) -> ProjectId {
    project["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no id in {project}"))
        .parse()
        .expect("a project id")
}

impl TestApp {
    /// Creates a reward project with one tier (a 50.00 thank-you card, 100 of them), deadline
    /// in 30 days, through the API; returns its JSON (the `project` of the answer).
    pub async fn create_reward_project_json(&self, token: &str, title: &str) -> Value {
        let answer = self
            .post_json(
                "/projects",
                token,
                json!({
                    "title": title,
                    "summary": format!("Summary of {title}"),
                    "story": "Our story.",
                    "category": "design",
                    "kind": "reward",
                    "goal": "10000.00",
                    "deadline": in_days(30),
                    "tiers": [{"title": "Thank-you card", "price": "50.00", "quantity_limit": 100}],
                }),
            )
            .await;
        assert_eq!(answer.0, 201, "creating {title} failed: {}", answer.1);
        answer.1["project"].clone()
    }

    /// Creates a reward project as [`Self::create_reward_project_json`] does; returns its id.
    pub async fn create_reward_project(&self, token: &str, title: &str) -> ProjectId {
        project_id(&self.create_reward_project_json(token, title).await)
    }

    /// Creates an equity offering in a bakery (12.50 a share, 4,000 to 20,000 shares, at least
    /// 10 each), deadline in 60 days; returns its JSON.
    pub async fn create_equity_project_json(&self, token: &str, title: &str) -> Value {
        let answer = self
            .post_json(
                "/projects",
                token,
                json!({
                    "title": title, "summary": "Shares in our bakery", "category": "food", "kind": "equity",
                    "deadline": in_days(60),
                    "offering": {"price_per_share": "12.50", "min_shares": 4000, "max_shares": 20000,
                                 "min_shares_per_investor": 10, "pre_money_valuation": "5000000",
                                 "security_type": "ordinary_shares", "risk_warning": "You may lose all of it."}
                }),
            )
            .await;
        assert_status(&answer, 201);
        answer.1["project"].clone()
    }

    /// A founder's action on their project (`submit`, `cancel`), with no body.
    pub async fn founder_action(
        &self,
        founder: &str,
        project: ProjectId,
        action: &str,
    ) -> (StatusCode, Value) {
        self.post_empty(&format!("/projects/{project}/{action}"), founder)
            .await
    }

    /// A regulator's decision on a project (`approve`, `reject`, `freeze`, `unfreeze`,
    /// `cancel`) with its reason.
    pub async fn regulate(
        &self,
        regulator: &str,
        project: ProjectId,
        action: &str,
        reason: &str,
    ) -> (StatusCode, Value) {
        self.post_json(
            &format!("/regulator/projects/{project}/{action}"),
            regulator,
            json!({ "reason": reason }),
        )
        .await
    }

    /// Submits a project for review, which must succeed.
    pub async fn submit(&self, founder: &str, project: ProjectId) {
        let answer = self.founder_action(founder, project, "submit").await;
        assert_eq!(answer.0, 200, "submit of {project}: {}", answer.1);
    }

    /// Has a regulator approve a submitted project, which must succeed.
    pub async fn approve(&self, regulator: &str, project: ProjectId) {
        let answer = self
            .regulate(regulator, project, "approve", "Complete listing.")
            .await;
        assert_eq!(answer.0, 200, "approval of {project}: {}", answer.1);
    }

    /// Submits a project and has a regulator approve it; returns its id.
    pub async fn launch(&self, founder: &str, regulator: &str, project: ProjectId) -> ProjectId {
        self.submit(founder, project).await;
        self.approve(regulator, project).await;
        project
    }

    /// A project's state as `who` sees it (`?` when they cannot see it).
    pub async fn project_state(&self, who: &str, project: ProjectId) -> String {
        let (_, body) = self.get_json(&format!("/projects/{project}"), who).await;
        body["project"]["state"].as_str().unwrap_or("?").to_owned()
    }
}
