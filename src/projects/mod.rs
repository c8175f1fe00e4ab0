//! Listings: projects, their states, reward tiers and equity offerings; browsing and search;
//! the founder's tools. Who may do what is decided here, for the API and the pages alike.
//!
//! The domain part (this file, [`visibility`], [`founder`], [`repo`], [`capacity`],
//! [`settling`], ...) knows nothing of HTTP; [`api`] and [`pages`] sit on top of it.

pub mod addons;
pub mod api;
pub mod capacity;
pub mod cards;
pub mod cover;
pub mod domain;
pub mod founder;
pub mod lifecycle;
pub mod markdown;
pub mod pages;
pub mod repo;
pub mod search;
pub mod settling;
pub mod shipping;
pub mod trail;
pub mod views;
pub mod visibility;

use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::ids::UserId;

pub use crate::ids::{ProjectId, TierId};
pub use founder::{
    add_tier, create, delete_tier, edit, founder_cancel, owned, post_update, set_cover, submit,
};
pub use visibility::{can_view, can_view_target, is_public, visible, visible_target};

/// What backers get: rewards, or shares.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema, sqlx::Type,
)]
#[serde(rename_all = "snake_case")]
#[sqlx(type_name = "text", rename_all = "snake_case")]
pub enum ProjectKind {
    Reward,
    Equity,
}

impl ProjectKind {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            ProjectKind::Reward => "reward",
            ProjectKind::Equity => "equity",
        }
    }

    /// Parses a submitted name.
    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "reward" => Some(ProjectKind::Reward),
            "equity" => Some(ProjectKind::Equity),
            _ => None,
        }
    }
}

/// Where a project is in its life (see DESIGN.md, "States").
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema, sqlx::Type,
)]
#[serde(rename_all = "snake_case")]
#[sqlx(type_name = "text", rename_all = "snake_case")]
pub enum ProjectState {
    Draft,
    InReview,
    Live,
    Frozen,
    Settling,
    Funded,
    Failed,
    Cancelled,
}

impl ProjectState {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            ProjectState::Draft => "draft",
            ProjectState::InReview => "in_review",
            ProjectState::Live => "live",
            ProjectState::Frozen => "frozen",
            ProjectState::Settling => "settling",
            ProjectState::Funded => "funded",
            ProjectState::Failed => "failed",
            ProjectState::Cancelled => "cancelled",
        }
    }

    /// Parses a submitted name (a listing filter).
    pub fn parse(raw: &str) -> Option<Self> {
        Some(match raw {
            "draft" => ProjectState::Draft,
            "in_review" => ProjectState::InReview,
            "live" => ProjectState::Live,
            "frozen" => ProjectState::Frozen,
            "settling" => ProjectState::Settling,
            "funded" => ProjectState::Funded,
            "failed" => ProjectState::Failed,
            "cancelled" => ProjectState::Cancelled,
            _ => return None,
        })
    }

    /// Whether the project has reached an end state.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            ProjectState::Funded | ProjectState::Failed | ProjectState::Cancelled
        )
    }
}

/// How many projects `founder` founds that have not reached an end state (funded, failed or
/// cancelled): their money and their backers still need the founder.
pub async fn unsettled_founded(conn: &mut sqlx::PgConnection, founder: UserId) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "SELECT count(*) FROM projects
         WHERE founder_id = $1 AND state NOT IN ('funded', 'failed', 'cancelled')",
    )
    .bind(founder)
    .fetch_one(&mut *conn)
    .await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_state_is_named_alike_in_json_in_the_database_and_in_filters() {
        // `as_str` names labels and the literals in SQL (`state = 'live'`); serde and the
        // `sqlx::Type` derive both use `snake_case`, so agreeing with serde is agreeing with both.
        for state in [
            ProjectState::Draft,
            ProjectState::InReview,
            ProjectState::Live,
            ProjectState::Frozen,
            ProjectState::Settling,
            ProjectState::Funded,
            ProjectState::Failed,
            ProjectState::Cancelled,
        ] {
            let json = serde_json::to_value(state).expect("serialises");
            assert_eq!(json, state.as_str());
            assert_eq!(ProjectState::parse(state.as_str()), Some(state));
        }
        for kind in [ProjectKind::Reward, ProjectKind::Equity] {
            assert_eq!(ProjectKind::parse(kind.as_str()), Some(kind));
        }
    }
}
