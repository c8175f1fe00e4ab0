//! The project form: every field as typed, and its conversion to a new project or to changes.

use rust_decimal::Decimal;
use serde::Deserialize;
use time::OffsetDateTime;

use crate::config::Settings;
use crate::error::{Error as Refusal, Message, Result};
use crate::http::form::FieldErrors;
use crate::projects::domain::{self, NewOffering, NewTier, Slug};
use crate::projects::repo::{self, Changes, NewProject, Project};
use crate::projects::shipping::{Region, ShippingPrices};
use crate::projects::{ProjectKind, ProjectState};

/// A form's checked value, or every refusal of its fields.
pub(super) type Parsed<T> = std::result::Result<T, FieldErrors>;

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
        .map_err(|_| Refusal::invalid(key))
}

/// A whole number as typed (thousands separators allowed); `key` says what is wrong otherwise.
pub(super) fn whole(raw: &str, key: &'static str) -> Result<i64> {
    raw.trim()
        .replace(',', "")
        .parse::<i64>()
        .map_err(|_| Refusal::invalid(key))
}

/// The value of a field's check, or `None` with its refusal recorded against `field`. Parsing a
/// form touches no database, so every refusal here is about what was typed.
fn take<T>(errors: &mut FieldErrors, field: &'static str, checked: Result<T>) -> Option<T> {
    match checked {
        Ok(value) => Some(value),
        Err(refusal) => {
            errors.add(field, refusal.message());
            None
        }
    }
}

/// The field an offering's own refusal is about (its rules look at several fields at once).
fn offering_field(refusal: &Refusal) -> &'static str {
    match refusal.message() {
        Message::Key("projects.error.min_per_investor") => "min_shares_per_investor",
        Message::Key("projects.error.price_per_share") => "price_per_share",
        Message::Key("projects.error.valuation") => "pre_money_valuation",
        Message::Key("projects.error.security_type") => "security_type",
        Message::Key("projects.error.risk_warning") => "risk_warning",
        _ => "min_shares",
    }
}

/// What the form's shared fields (all but the goal and the offering) say, each checked.
struct Common {
    title: Option<String>,
    slug: Option<Option<Slug>>,
    summary: Option<String>,
    story: Option<String>,
    category: Option<&'static str>,
    currency: Option<String>,
    deadline: Option<OffsetDateTime>,
}

impl ProjectForm {
    /// The kind chosen on the form, if it names one.
    pub(super) fn chosen_kind(&self) -> Option<ProjectKind> {
        ProjectKind::parse(self.kind.trim())
    }

    fn common(&self, settings: &Settings, errors: &mut FieldErrors) -> Common {
        let slug = Some(self.slug.trim())
            .filter(|s| !s.is_empty())
            .map(Slug::parse)
            .transpose();
        let deadline = domain::parse_time(&self.deadline).and_then(|d| {
            domain::deadline(d, OffsetDateTime::now_utc(), settings.min_campaign_seconds)
        });
        Common {
            title: take(errors, "title", domain::title(&self.title)),
            slug: take(errors, "slug", slug),
            summary: take(errors, "summary", domain::summary(&self.summary)),
            story: take(errors, "story", domain::story(&self.story)),
            category: take(errors, "category", domain::category(&self.category)),
            currency: take(
                errors,
                "currency",
                domain::currency(Some(&self.currency), &settings.supported_currencies),
            ),
            deadline: take(errors, "deadline", deadline),
        }
    }

    fn goal(&self, errors: &mut FieldErrors) -> Option<Decimal> {
        let goal = decimal(&self.goal, "projects.error.goal")
            .and_then(|g| domain::money(g, "projects.error.goal"));
        take(errors, "goal", goal)
    }

    fn offering(&self, errors: &mut FieldErrors) -> Option<NewOffering> {
        let per_investor = self.min_shares_per_investor.trim();
        let price = take(
            errors,
            "price_per_share",
            decimal(&self.price_per_share, "projects.error.price_per_share"),
        );
        let min = take(
            errors,
            "min_shares",
            whole(&self.min_shares, "projects.error.shares"),
        );
        let max = take(
            errors,
            "max_shares",
            whole(&self.max_shares, "projects.error.shares"),
        );
        let per_investor = if per_investor.is_empty() {
            Some(None)
        } else {
            take(
                errors,
                "min_shares_per_investor",
                whole(per_investor, "projects.error.min_per_investor"),
            )
            .map(Some)
        };
        let valuation = take(
            errors,
            "pre_money_valuation",
            decimal(&self.pre_money_valuation, "projects.error.valuation"),
        );
        let offering = NewOffering::parse(
            price?,
            min?,
            max?,
            per_investor?,
            valuation?,
            &self.security_type,
            &self.risk_warning,
        );
        match offering {
            Ok(offering) => Some(offering),
            Err(refusal) => {
                errors.add(offering_field(&refusal), refusal.message());
                None
            }
        }
    }

    /// The new project the form describes, or every refusal of its fields.
    pub(super) fn to_new(&self, settings: &Settings) -> Parsed<NewProject> {
        let mut errors = FieldErrors::new();
        let kind = self.chosen_kind();
        if kind.is_none() {
            errors.add("kind", Message::Key("projects.error.kind"));
        }
        let common = self.common(settings, &mut errors);
        let (goal, offering) = match kind {
            Some(ProjectKind::Equity) => {
                let offering = self.offering(&mut errors);
                let goal = offering
                    .as_ref()
                    .and_then(|o| take(&mut errors, "min_shares", o.goal()));
                (goal, offering)
            }
            _ => (self.goal(&mut errors), None),
        };
        match (kind, common, goal) {
            (
                Some(kind),
                Common {
                    title: Some(title),
                    slug: Some(slug),
                    summary: Some(summary),
                    story: Some(story),
                    category: Some(category),
                    currency: Some(currency),
                    deadline: Some(deadline),
                },
                Some(goal),
            ) if errors.is_empty() => Ok(NewProject {
                title,
                slug,
                summary,
                story,
                category,
                kind,
                goal,
                currency,
                deadline,
                tiers: Vec::new(),
                offering,
            }),
            _ => Err(errors),
        }
    }

    /// The changes the form makes to `project` (only the story once it is live), or every
    /// refusal of its fields.
    pub(super) fn to_changes(&self, project: &Project, settings: &Settings) -> Parsed<Changes> {
        let mut errors = FieldErrors::new();
        if matches!(project.state, ProjectState::Live | ProjectState::Frozen) {
            let story = take(&mut errors, "story", domain::story(&self.story));
            return story
                .map(|story| Changes {
                    story: Some(story),
                    ..Default::default()
                })
                .ok_or(errors);
        }
        let equity = project.kind == ProjectKind::Equity;
        let common = self.common(settings, &mut errors);
        let goal = (!equity).then(|| self.goal(&mut errors));
        let offering = equity.then(|| self.offering(&mut errors));
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(Changes {
            title: common.title,
            slug: common.slug.flatten(),
            summary: common.summary,
            story: common.story,
            category: common.category,
            goal: goal.flatten(),
            currency: common.currency,
            deadline: common.deadline,
            offering: offering.flatten(),
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

/// The tier form, as typed.
#[derive(Debug, Default, Clone, Deserialize)]
pub(super) struct TierForm {
    #[serde(default)]
    pub(super) title: String,
    #[serde(default)]
    pub(super) description: String,
    #[serde(default)]
    pub(super) price: String,
    #[serde(default)]
    pub(super) quantity_limit: String,
    #[serde(default)]
    pub(super) delivery_month: String,
    pub(super) ships: Option<String>,
    /// Shipping prices of a tier that ships: at home and to the rest of the world (the API
    /// takes more regions); both empty for a tier that does not ship.
    #[serde(default)]
    pub(super) shipping_domestic: String,
    #[serde(default)]
    pub(super) shipping_world: String,
}

impl TierForm {
    /// The tier the form describes, or every refusal of its fields (named `tier_*`, as the
    /// edit page has other forms with a title).
    pub(super) fn parse(&self) -> Parsed<NewTier> {
        let mut errors = FieldErrors::new();
        let mut check = |field, checked: crate::error::Result<()>| {
            if let Err(refusal) = checked {
                errors.add(field, refusal.message());
            }
        };
        let limit = self.quantity_limit.trim();
        let price = decimal(&self.price, "projects.error.tier_price");
        check(
            "tier_title",
            domain::text(&self.title, 1, 120, "projects.error.tier_title").map(drop),
        );
        check(
            "tier_description",
            domain::text(
                &self.description,
                0,
                5000,
                "projects.error.tier_description",
            )
            .map(drop),
        );
        check(
            "tier_price",
            price
                .as_ref()
                .map_err(|e| Refusal::Invalid(e.message()))
                .and_then(|p| domain::money(*p, "projects.error.tier_price"))
                .map(drop),
        );
        let limit = (!limit.is_empty())
            .then(|| whole(limit, "projects.error.quantity_limit"))
            .transpose();
        check(
            "tier_limit",
            limit
                .as_ref()
                .map(drop)
                .map_err(|e| Refusal::Invalid(e.message())),
        );
        let month = self.delivery_month.trim();
        if !month.is_empty() {
            check("tier_delivery", domain::parse_month(month).map(drop));
        }
        // Checked here too, so a shipped tier's missing prices show with the other refusals.
        let shipping = self.shipping_prices().and_then(|prices| {
            ShippingPrices::parse(self.ships.is_some(), &prices).map(|_| prices)
        });
        if let Err(refusal) = &shipping {
            errors.add("tier_shipping", refusal.message());
        }
        let (Ok(price), Ok(limit), Ok(shipping)) = (price, limit, shipping) else {
            return Err(errors);
        };
        if !errors.is_empty() {
            return Err(errors);
        }
        NewTier::parse(
            &self.title,
            &self.description,
            price,
            limit,
            Some(&self.delivery_month),
            self.ships.is_some(),
        )
        .map_err(|refusal| ("tier_limit", refusal))
        .and_then(|tier| {
            tier.with_shipping(&shipping)
                .map_err(|refusal| ("tier_shipping", refusal))
        })
        .map_err(|(field, refusal)| {
            // What is left for the whole tier to refuse: its limit's range, or shipping prices
            // for a tier that does not ship.
            errors.add(field, refusal.message());
            errors
        })
    }

    /// The shipping prices typed: none when both are empty.
    fn shipping_prices(&self) -> crate::error::Result<Vec<(Region, Decimal)>> {
        let (home, world) = (self.shipping_domestic.trim(), self.shipping_world.trim());
        if home.is_empty() && world.is_empty() {
            return Ok(Vec::new());
        }
        let price = |raw: &str| {
            raw.parse::<Decimal>()
                .map_err(|_| Refusal::invalid("shipping.error.price"))
        };
        Ok(vec![
            (Region::Domestic, price(home)?),
            (Region::RestOfWorld, price(world)?),
        ])
    }
}

/// The update form, as typed.
#[derive(Debug, Default, Clone, Deserialize)]
pub(super) struct UpdateForm {
    #[serde(default)]
    pub(super) title: String,
    #[serde(default)]
    pub(super) body: String,
    pub(super) backers_only: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn equity(price: &str, min: &str, max: &str, valuation: &str, risk: &str) -> ProjectForm {
        ProjectForm {
            kind: "equity".into(),
            price_per_share: price.into(),
            min_shares: min.into(),
            max_shares: max.into(),
            pre_money_valuation: valuation.into(),
            security_type: "ordinary_shares".into(),
            risk_warning: risk.into(),
            ..Default::default()
        }
    }

    fn refused(errors: &FieldErrors) -> Vec<&'static str> {
        errors
            .all(crate::i18n::Lang::En.catalogue())
            .into_iter()
            .map(|(field, _)| field)
            .collect()
    }

    #[test]
    fn every_unreadable_number_of_an_offering_is_refused_at_once() {
        let mut errors = FieldErrors::new();
        let form = equity("ten", "many", "1000", "a lot", "Risky.");
        assert!(form.offering(&mut errors).is_none());
        assert_eq!(
            refused(&errors),
            ["price_per_share", "min_shares", "pre_money_valuation"]
        );
    }

    #[test]
    fn an_offering_rule_is_refused_beside_the_field_it_is_about() {
        let mut errors = FieldErrors::new();
        assert!(equity("10", "100", "1000", "100000", " ")
            .offering(&mut errors)
            .is_none());
        assert_eq!(refused(&errors), ["risk_warning"]);
        let mut errors = FieldErrors::new();
        assert!(equity("10", "100", "50", "100000", "Risky.")
            .offering(&mut errors)
            .is_none());
        assert_eq!(refused(&errors), ["min_shares"]);
        let mut errors = FieldErrors::new();
        assert!(equity("10", "100", "1000", "100000", "Risky.")
            .offering(&mut errors)
            .is_some());
        assert!(errors.is_empty());
    }
}
