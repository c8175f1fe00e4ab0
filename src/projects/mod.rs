//! Listings: projects, their states, reward tiers and equity offerings.

pub mod capacity;
pub mod settling;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A project's id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, sqlx::Type)]
#[sqlx(transparent)]
#[serde(transparent)]
pub struct ProjectId(pub Uuid);

/// A reward tier's id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, sqlx::Type)]
#[sqlx(transparent)]
#[serde(transparent)]
pub struct TierId(pub Uuid);

impl std::fmt::Display for ProjectId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::fmt::Display for TierId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// What backers get: rewards, or shares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
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

    /// Parses a stored or submitted name.
    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "reward" => Some(ProjectKind::Reward),
            "equity" => Some(ProjectKind::Equity),
            _ => None,
        }
    }
}

/// Where a project is in its life (see DESIGN.md, "States").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
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

    /// Parses a stored name.
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
