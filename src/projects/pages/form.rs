//! The project form: every field as typed, and its conversion to a new project or to changes.

use rust_decimal::Decimal;
use serde::Deserialize;
use time::OffsetDateTime;

use crate::config::Settings;
use crate::http::error::{Error, Message, Result};
use crate::projects::domain::{self, NewOffering, Slug};
use crate::projects::repo::{self, Changes, NewProject, Project};
use crate::projects::{ProjectKind, ProjectState};

/// Every field of the project form, as typed.
#[derive(Debug, Default, Clone, Deserialize)]
pub struct ProjectForm {
    #[serde(default)]
    pub(super) title: String,
    #[serde(default)]
    pub(super) slug: String,
    #[serde(default)]
    pub(super) summary: String,
    #[serde(default)]
    pub(super) story: String,
    #[serde(default)]
    pub(super) category: String,
    #[serde(default)]
    pub(super) kind: String,
    #[serde(default)]
    pub(super) goal: String,
    #[serde(default)]
    pub(super) currency: String,
    #[serde(default)]
    pub(super) deadline: String,
    #[serde(default)]
    pub(super) price_per_share: String,
    #[serde(default)]
    pub(super) min_shares: String,
    #[serde(default)]
    pub(super) max_shares: String,
    #[serde(default)]
    pub(super) min_shares_per_investor: String,
    #[serde(default)]
    pub(super) pre_money_valuation: String,
    #[serde(default)]
    pub(super) security_type: String,
    #[serde(default)]
    pub(super) risk_warning: String,
}

/// A decimal as typed (thousands separators allowed); `key` says what is wrong otherwise.
pub(super) fn decimal(raw: &str, key: &'static str) -> Result<Decimal> {
    raw.trim()
        .replace(',', "")
        .parse::<Decimal>()
        .map_err(|_| Error::Unprocessable(Message::Key(key)))
}

/// A whole number as typed (thousands separators allowed); `key` says what is wrong otherwise.
pub(super) fn whole(raw: &str, key: &'static str) -> Result<i64> {
    raw.trim()
        .replace(',', "")
        .parse::<i64>()
        .map_err(|_| Error::Unprocessable(Message::Key(key)))
}

impl ProjectForm {
    fn kind(&self) -> Result<ProjectKind> {
        ProjectKind::parse(self.kind.trim())
            .ok_or_else(|| Error::Unprocessable(Message::Key("projects.error.kind")))
    }

    fn offering(&self) -> Result<NewOffering> {
        let per_investor = self.min_shares_per_investor.trim();
        Ok(NewOffering::parse(
            decimal(&self.price_per_share, "projects.error.price_per_share")?,
            whole(&self.min_shares, "projects.error.shares")?,
            whole(&self.max_shares, "projects.error.shares")?,
            if per_investor.is_empty() {
                None
            } else {
                Some(whole(per_investor, "projects.error.min_per_investor")?)
            },
            decimal(&self.pre_money_valuation, "projects.error.valuation")?,
            &self.security_type,
            &self.risk_warning,
        )?)
    }

    /// The new project the form describes.
    pub(super) fn to_new(&self, settings: &Settings) -> Result<NewProject> {
        let kind = self.kind()?;
        let offering = match kind {
            ProjectKind::Equity => Some(self.offering()?),
            ProjectKind::Reward => None,
        };
        let goal = match &offering {
            Some(o) => o.goal()?,
            None => domain::money(
                decimal(&self.goal, "projects.error.goal")?,
                "projects.error.goal",
            )?,
        };
        Ok(NewProject {
            title: domain::title(&self.title)?,
            slug: Some(self.slug.trim())
                .filter(|s| !s.is_empty())
                .map(Slug::parse)
                .transpose()?,
            summary: domain::summary(&self.summary)?,
            story: domain::story(&self.story)?,
            category: domain::category(&self.category)?,
            kind,
            goal,
            currency: domain::currency(Some(&self.currency), &settings.supported_currencies)?,
            deadline: domain::deadline(
                domain::parse_time(&self.deadline)?,
                OffsetDateTime::now_utc(),
                settings.min_campaign_seconds,
            )?,
            tiers: Vec::new(),
            offering,
        })
    }

    /// The changes the form makes to `project`: only the story once it is live.
    pub(super) fn to_changes(&self, project: &Project, settings: &Settings) -> Result<Changes> {
        if matches!(project.state, ProjectState::Live | ProjectState::Frozen) {
            return Ok(Changes {
                story: Some(domain::story(&self.story)?),
                ..Default::default()
            });
        }
        let equity = project.kind == ProjectKind::Equity;
        Ok(Changes {
            title: Some(domain::title(&self.title)?),
            slug: Some(self.slug.trim())
                .filter(|s| !s.is_empty())
                .map(Slug::parse)
                .transpose()?,
            summary: Some(domain::summary(&self.summary)?),
            story: Some(domain::story(&self.story)?),
            category: Some(domain::category(&self.category)?),
            goal: if equity {
                None
            } else {
                Some(domain::money(
                    decimal(&self.goal, "projects.error.goal")?,
                    "projects.error.goal",
                )?)
            },
            currency: Some(domain::currency(
                Some(&self.currency),
                &settings.supported_currencies,
            )?),
            deadline: Some(domain::deadline(
                domain::parse_time(&self.deadline)?,
                OffsetDateTime::now_utc(),
                settings.min_campaign_seconds,
            )?),
            offering: if equity { Some(self.offering()?) } else { None },
        })
    }

    /// The form filled in from `p` (and its offering).
    pub(super) fn from_project(p: &Project, offering: Option<&repo::Offering>) -> Self {
        let deadline = p.deadline.map(|d| {
            let d = d.to_offset(time::UtcOffset::UTC);
            format!(
                "{:04}-{:02}-{:02}T{:02}:{:02}",
                d.year(),
                d.month() as u8,
                d.day(),
                d.hour(),
                d.minute()
            )
        });
        let mut form = ProjectForm {
            title: p.title.clone(),
            slug: p.slug.clone(),
            summary: p.summary.clone(),
            story: p.story.clone(),
            category: p.category.clone(),
            kind: p.kind.as_str().into(),
            goal: format!("{:.2}", p.goal),
            currency: p.currency.clone(),
            deadline: deadline.unwrap_or_default(),
            ..Default::default()
        };
        if let Some(o) = offering {
            form.price_per_share = format!("{:.2}", o.price_per_share);
            form.min_shares = o.min_shares.to_string();
            form.max_shares = o.max_shares.to_string();
            form.min_shares_per_investor = o.min_shares_per_investor.to_string();
            form.pre_money_valuation = format!("{:.2}", o.pre_money_valuation);
            form.security_type = o.security_type.as_str().into();
            form.risk_warning = o.risk_warning.clone();
        }
        form
    }
}
