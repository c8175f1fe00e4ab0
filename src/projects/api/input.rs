//! The bodies the API reads, and their conversion into the domain's checked values.

use rust_decimal::Decimal;
use serde::Deserialize;
use time::OffsetDateTime;

use crate::config::Settings;
use crate::http::error::{Error, Message, Result};
use crate::projects::domain::{self, NewOffering, NewTier, Slug};
use crate::projects::repo::{Changes, NewProject};
use crate::projects::shipping::Region;
use crate::projects::ProjectKind;

/// A reward tier as submitted.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct TierInput {
    /// 1 to 120 characters besides surrounding spaces; no control characters but line breaks
    /// and tabs.
    #[schema(
        max_length = 120,
        pattern = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]*$"
    )]
    pub title: String,
    /// At most 5,000 characters.
    #[serde(default)]
    #[schema(
        max_length = 5000,
        pattern = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]*$"
    )]
    pub description: String,
    #[schema(value_type = String, example = "128.00", pattern = r"^([1-9][0-9]{0,7}(\.[0-9]{1,2})?|0\.(0[1-9]|[1-9][0-9]?))$")]
    pub price: Decimal,
    /// Leave out for unlimited.
    #[schema(minimum = 1, maximum = 1_000_000)]
    pub quantity_limit: Option<i64>,
    /// `YYYY-MM`.
    pub delivery_month: Option<String>,
    #[serde(default)]
    pub ships: bool,
    /// Shipping prices per region: none for a tier that does not ship, else at least
    /// `domestic` and `rest_of_world`, each region once (at most 7). A region without a price
    /// of its own ships at the `rest_of_world` price.
    #[serde(default)]
    #[schema(max_items = 7)]
    pub shipping: Vec<ShippingInput>,
}

/// One region's shipping price for a tier.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct ShippingInput {
    pub region: Region,
    /// Zero or more, two decimals at most, below 100,000,000.
    #[schema(value_type = String, example = "12.00", pattern = r"^(0|[1-9][0-9]{0,7})(\.[0-9]{1,2})?$")]
    pub price: Decimal,
}

impl TierInput {
    /// Checks the tier's fields.
    pub(super) fn parse(&self) -> Result<NewTier> {
        Ok(NewTier::parse(
            &self.title,
            &self.description,
            self.price,
            self.quantity_limit,
            self.delivery_month.as_deref(),
            self.ships,
        )?
        .with_shipping(
            &self
                .shipping
                .iter()
                .map(|s| (s.region, s.price))
                .collect::<Vec<_>>(),
        )?)
    }
}

/// An equity offering as submitted.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct OfferingInput {
    #[schema(value_type = String, example = "10.00")]
    pub price_per_share: Decimal,
    pub min_shares: i64,
    pub max_shares: i64,
    pub min_shares_per_investor: Option<i64>,
    #[schema(value_type = String, example = "20000000.00")]
    pub pre_money_valuation: Decimal,
    /// `ordinary_shares` or `convertible_note`.
    pub security_type: String,
    pub risk_warning: String,
}

impl OfferingInput {
    fn parse(&self) -> Result<NewOffering> {
        Ok(NewOffering::parse(
            self.price_per_share,
            self.min_shares,
            self.max_shares,
            self.min_shares_per_investor,
            self.pre_money_valuation,
            &self.security_type,
            &self.risk_warning,
        )?)
    }
}

/// Body of `PUT /api/v1/projects/{id}/cover` (documentation only: the handler reads the
/// multipart stream itself).
#[derive(utoipa::ToSchema)]
pub struct CoverUpload {
    /// A PNG, JPEG, WebP or GIF image, at most 2 MiB.
    #[schema(value_type = String, format = Binary)]
    pub cover: Vec<u8>,
}

/// Body of `POST /api/v1/projects`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct CreateProject {
    pub title: String,
    /// Derived from the title when left out.
    pub slug: Option<String>,
    #[serde(default)]
    pub summary: String,
    /// Markdown.
    #[serde(default)]
    pub story: String,
    pub category: String,
    pub kind: ProjectKind,
    /// Reward projects only; an equity project's goal is `min_shares * price_per_share`.
    #[schema(value_type = Option<String>, example = "50000.00")]
    pub goal: Option<Decimal>,
    /// CNY when left out.
    pub currency: Option<String>,
    /// RFC 3339; between `MIN_CAMPAIGN_SECONDS` and 90 days after launch.
    pub deadline: String,
    #[serde(default)]
    pub tiers: Vec<TierInput>,
    pub offering: Option<OfferingInput>,
}

/// Body of `PATCH /api/v1/projects/{id}`: only the fields to change. Once live, only `story`.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct EditProject {
    pub title: Option<String>,
    pub slug: Option<String>,
    pub summary: Option<String>,
    pub story: Option<String>,
    pub category: Option<String>,
    #[schema(value_type = Option<String>)]
    pub goal: Option<Decimal>,
    pub currency: Option<String>,
    pub deadline: Option<String>,
    pub offering: Option<OfferingInput>,
}

/// Checks an edit's fields.
pub fn parse_changes(body: &EditProject, settings: &Settings) -> Result<Changes> {
    Ok(Changes {
        title: body.title.as_deref().map(domain::title).transpose()?,
        slug: body.slug.as_deref().map(Slug::parse).transpose()?,
        summary: body.summary.as_deref().map(domain::summary).transpose()?,
        story: body.story.as_deref().map(domain::story).transpose()?,
        category: body.category.as_deref().map(domain::category).transpose()?,
        goal: body
            .goal
            .map(|g| domain::money(g, "projects.error.goal"))
            .transpose()?,
        currency: body
            .currency
            .as_deref()
            .map(|c| domain::currency(Some(c), &settings.supported_currencies))
            .transpose()?,
        deadline: body
            .deadline
            .as_deref()
            .map(|d| {
                domain::deadline(
                    domain::parse_time(d)?,
                    OffsetDateTime::now_utc(),
                    settings.min_campaign_seconds,
                )
            })
            .transpose()?,
        offering: body
            .offering
            .as_ref()
            .map(OfferingInput::parse)
            .transpose()?,
    })
}

/// Checks a new project's fields.
pub fn parse_new(body: &CreateProject, settings: &Settings) -> Result<NewProject> {
    let offering = body
        .offering
        .as_ref()
        .map(OfferingInput::parse)
        .transpose()?;
    let goal = match (&offering, body.goal) {
        (Some(o), _) => o.goal()?,
        (None, Some(goal)) => domain::money(goal, "projects.error.goal")?,
        (None, None) => return Err(Error::Unprocessable(Message::Key("projects.error.goal"))),
    };
    let slug = body
        .slug
        .as_deref()
        .filter(|s| !s.trim().is_empty())
        .map(Slug::parse)
        .transpose()?;
    Ok(NewProject {
        title: domain::title(&body.title)?,
        slug,
        summary: domain::summary(&body.summary)?,
        story: domain::story(&body.story)?,
        category: domain::category(&body.category)?,
        kind: body.kind,
        goal,
        currency: domain::currency(body.currency.as_deref(), &settings.supported_currencies)?,
        deadline: domain::deadline(
            domain::parse_time(&body.deadline)?,
            OffsetDateTime::now_utc(),
            settings.min_campaign_seconds,
        )?,
        tiers: body
            .tiers
            .iter()
            .map(TierInput::parse)
            .collect::<Result<_>>()?,
        offering,
    })
}

/// Body of `POST /api/v1/projects/{id}/updates`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct UpdateInput {
    pub title: String,
    /// Markdown.
    pub body: String,
    #[serde(default)]
    pub backers_only: bool,
}
