//! The shipping and add-on parts of the pledge form: what it shows, and the extras it sends.

use std::collections::HashMap;

use sqlx::PgPool;

use crate::error::{Error as Refusal, Message};
use crate::http::form::FieldErrors;
use crate::http::pages::Chrome;
use crate::ids::{AddonId, ProjectId, TierId};
use crate::pledges::extras::{Extras, ShippingAddress, ShippingChoice};
use crate::projects::addons::Addon;
use crate::projects::capacity::TierOffer;
use crate::projects::shipping::{self, Region, RegionPrice};

/// The name prefix of an add-on's quantity field: `addon-<id>`.
const ADDON_FIELD: &str = "addon-";

/// A shipping region as the form offers it.
pub(super) struct RegionChoice {
    pub(super) code: &'static str,
    pub(super) label: String,
    pub(super) selected: bool,
}

/// An add-on as the form offers it.
pub(super) struct AddonChoice {
    pub(super) field: String,
    pub(super) title: String,
    pub(super) price: String,
    pub(super) left: Option<String>,
    pub(super) only_with: Option<String>,
    pub(super) quantity: String,
    pub(super) max: i32,
}

/// What the form shows of shipping and add-ons.
#[derive(Default)]
pub(super) struct ExtrasView {
    /// Some tier ships: the form asks for a region and an address.
    pub(super) ships: bool,
    pub(super) regions: Vec<RegionChoice>,
    /// One line per tier that ships: its title and prices.
    pub(super) rates: Vec<String>,
    pub(super) address: String,
    pub(super) addons: Vec<AddonChoice>,
}

fn rate_line(title: &str, prices: &[RegionPrice], currency: &str, c: &Chrome) -> String {
    if prices.is_empty() {
        return format!("{title}: {}", c.t.get("shipping.free"));
    }
    let parts: Vec<String> = prices
        .iter()
        .map(|p| {
            format!(
                "{} {}",
                c.t.get(&format!("shipping.regions.{}", p.region.as_str())),
                c.money(&p.price, currency)
            )
        })
        .collect();
    format!("{title}: {}", parts.join(" · "))
}

/// What was typed in the shipping and add-on fields.
pub(super) struct Typed<'a> {
    pub(super) region: &'a str,
    pub(super) address: &'a str,
    /// Every other field sent, among them the add-on quantities (`addon-<id>`).
    pub(super) rest: &'a HashMap<String, String>,
}

/// The view, with what was typed kept.
pub(super) async fn view(
    db: &PgPool,
    project: ProjectId,
    tiers: &[TierOffer],
    addons: &[Addon],
    currency: &str,
    typed: &Typed<'_>,
    c: &Chrome,
) -> crate::error::Result<ExtrasView> {
    let (region, address) = (typed.region, typed.address);
    let shipped = shipping::shipped_tiers(db, project).await?;
    let rates = tiers
        .iter()
        .filter_map(|t| {
            let (_, prices) = shipped.iter().find(|(id, _)| *id == t.id)?;
            Some(rate_line(&t.title, prices, currency, c))
        })
        .collect();
    let title_of = |id: &uuid::Uuid| {
        tiers
            .iter()
            .find(|t| t.id.0 == *id)
            .map(|t| t.title.clone())
    };
    Ok(ExtrasView {
        ships: !shipped.is_empty(),
        regions: Region::ALL
            .into_iter()
            .map(|r| RegionChoice {
                code: r.as_str(),
                label: c
                    .t
                    .get(&format!("shipping.regions.{}", r.as_str()))
                    .to_owned(),
                selected: r.as_str() == region,
            })
            .collect(),
        rates,
        address: address.to_owned(),
        addons: addons
            .iter()
            .map(|a| {
                let field = format!("{ADDON_FIELD}{}", a.id);
                let names: Vec<String> = a.tiers.iter().filter_map(title_of).collect();
                AddonChoice {
                    quantity: typed.rest.get(&field).cloned().unwrap_or_default(),
                    field,
                    title: a.title.clone(),
                    price: c.money(&a.price, currency),
                    left: a
                        .remaining()
                        .map(|n| c.t.fill("addons.left", &[("n", &n.to_string())])),
                    only_with: (!names.is_empty()).then(|| {
                        c.t.fill("addons.only_with", &[("tiers", &names.join(", "))])
                    }),
                    max: a
                        .remaining()
                        .unwrap_or(crate::projects::addons::MAX_QUANTITY)
                        .min(crate::projects::addons::MAX_QUANTITY),
                }
            })
            .collect(),
    })
}

/// The extras the form sends for a pledge of `tier`, every refusal recorded in `errors` (then
/// `None`). The region and address are read only for a tier that ships (a digital reward does
/// not ask for them); add-on fields left empty or at 0 take none.
pub(super) async fn parse(
    db: &PgPool,
    project: ProjectId,
    tier: Option<TierId>,
    typed: &Typed<'_>,
    errors: &mut FieldErrors,
) -> std::result::Result<Option<Extras>, Refusal> {
    let (region, address) = (typed.region, typed.address);
    let ships = match tier {
        Some(tier) => shipping::ships(&mut *db.acquire().await?, project, tier).await?,
        None => false,
    };
    let shipping = if ships {
        let region = if region.trim().is_empty() {
            errors.add("region", Message::Key("shipping.error.region_missing"));
            None
        } else {
            errors.check("region", Region::parse(region))?
        };
        let address = errors.check("address", ShippingAddress::parse(address))?;
        match (region, address) {
            (Some(region), Some(address)) => Some(ShippingChoice { region, address }),
            _ => return Ok(None),
        }
    } else {
        None
    };
    let mut picks: Vec<(AddonId, i64)> = Vec::new();
    let mut fields: Vec<(&String, &String)> = typed
        .rest
        .iter()
        .filter(|(name, _)| name.starts_with(ADDON_FIELD))
        .collect();
    fields.sort();
    for (name, value) in fields {
        let value = value.trim();
        if value.is_empty() || value == "0" {
            continue;
        }
        let addon = name[ADDON_FIELD.len()..].parse::<AddonId>();
        match (addon, value.parse::<i64>()) {
            (Ok(addon), Ok(quantity)) => picks.push((addon, quantity)),
            (Err(_), _) => errors.add("addons", Message::Key("addons.error.unknown")),
            (_, Err(_)) => errors.add("addons", Message::Key("addons.error.quantity")),
        }
    }
    if errors.is_empty() {
        errors.check("addons", Extras::new(shipping, &picks))
    } else {
        Ok(None)
    }
}
