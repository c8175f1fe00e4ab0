//! What a reward pledge carries besides its reward: shipping (a region and an address, for a
//! tier that ships) and add-ons with quantities.
//!
//! A pledge's `amount` is everything held for it: the reward part (at least the tier's price),
//! plus its add-ons, plus its shipping; `addons_price` and `shipping_price` record the last two,
//! so a cancellation or a refund gives back the whole amount.
//!
//! Changing a pledge ([`super::change`]) keeps its add-ons and its shipping address: the change's
//! amount is the new reward part, the add-ons are added again at the prices they were taken at,
//! and shipping is re-priced for the new tier to the same region (dropped for a tier that does
//! not ship). A change to a tier that may not take one of the pledge's add-ons is refused, and
//! so is a change from a tier without shipping to one that ships (it has no address: cancel and
//! pledge again).

use rust_decimal::Decimal;
use sqlx::PgConnection;

use super::PledgeId;
use crate::error::{Error, Result};
use crate::ids::{AddonId, ProjectId, TierId};
use crate::projects::addons::{self, MAX_QUANTITY};
use crate::projects::shipping::{self, Region};

/// Most different add-ons in one pledge.
pub const MAX_ADDONS_PER_PLEDGE: usize = 20;

/// A shipping address: 1 to 500 characters besides surrounding spaces; line breaks allowed, no
/// other control characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShippingAddress(String);

impl ShippingAddress {
    /// Checks an address as typed or sent.
    pub fn parse(raw: &str) -> Result<Self> {
        let text = raw.trim();
        let chars = text.chars().count();
        if chars == 0 {
            return Err(Error::invalid("shipping.error.address_missing"));
        }
        if chars > 500
            || text
                .chars()
                .any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t')
        {
            return Err(Error::invalid("shipping.error.address"));
        }
        Ok(Self(text.to_owned()))
    }

    /// The address.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Where a shipped reward goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShippingChoice {
    pub region: Region,
    pub address: ShippingAddress,
}

/// Units of one add-on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AddonPick {
    pub addon: AddonId,
    pub quantity: i32,
}

/// A reward pledge's shipping and add-ons.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Extras {
    pub shipping: Option<ShippingChoice>,
    addons: Vec<AddonPick>,
}

impl Extras {
    /// Shipping (if any) and add-ons: each add-on once, 1 to 100 units of it, at most 20 of them.
    pub fn new(shipping: Option<ShippingChoice>, picks: &[(AddonId, i64)]) -> Result<Self> {
        if picks.len() > MAX_ADDONS_PER_PLEDGE {
            return Err(Error::invalid("addons.error.too_many_in_pledge"));
        }
        let mut addons: Vec<AddonPick> = Vec::with_capacity(picks.len());
        for &(addon, quantity) in picks {
            if !(1..=i64::from(MAX_QUANTITY)).contains(&quantity) {
                return Err(Error::invalid("addons.error.quantity"));
            }
            if addons.iter().any(|p| p.addon == addon) {
                return Err(Error::invalid("addons.error.twice"));
            }
            addons.push(AddonPick {
                addon,
                quantity: quantity as i32,
            });
        }
        // One order, so the same request digests the same and claims lock in one order.
        addons.sort_by_key(|p| p.addon);
        Ok(Self { shipping, addons })
    }

    /// The add-ons picked, in id order.
    pub fn addons(&self) -> &[AddonPick] {
        &self.addons
    }

    /// A stable text of what was asked, for the request's digest; empty without extras.
    pub(super) fn digest_text(&self) -> String {
        let mut text = String::new();
        if let Some(s) = &self.shipping {
            text.push_str(&format!(
                "|ship:{}:{}",
                s.region.as_str(),
                s.address.as_str()
            ));
        }
        for p in &self.addons {
            text.push_str(&format!("|addon:{}x{}", p.addon, p.quantity));
        }
        text
    }
}

/// What the extras of a new pledge cost, priced before any contended row is touched.
pub(super) struct Priced {
    pub shipping_region: Option<Region>,
    pub shipping_price: Decimal,
    pub addons_price: Decimal,
}

/// Prices `extras` for a pledge of `tier` to `project`: an address is required for a tier that
/// ships and refused for one that does not; every add-on must be the project's and go with the
/// tier. Nothing is claimed yet.
pub(super) async fn price(
    conn: &mut PgConnection,
    project: ProjectId,
    tier: Option<TierId>,
    extras: &Extras,
) -> Result<Priced> {
    let ships = match tier {
        Some(tier) => shipping::ships(&mut *conn, project, tier).await?,
        None => false,
    };
    let (shipping_region, shipping_price) = match (&extras.shipping, tier) {
        (Some(choice), Some(tier)) if ships => (
            Some(choice.region),
            shipping::quote(&mut *conn, project, tier, choice.region)
                .await?
                .unwrap_or_default(),
        ),
        (None, _) if ships => return Err(Error::invalid("shipping.error.address_missing")),
        (Some(_), _) => return Err(Error::invalid("shipping.error.no_shipping")),
        (None, _) => (None, Decimal::ZERO),
    };
    let mut addons_price = Decimal::ZERO;
    if !extras.addons.is_empty() {
        let offered = addons::of(&mut *conn, project).await?;
        for pick in &extras.addons {
            let addon = offered
                .iter()
                .find(|a| a.id == pick.addon)
                .ok_or(Error::invalid("addons.error.unknown"))?;
            if !addon.goes_with(tier) {
                return Err(Error::invalid("addons.error.not_for_tier"));
            }
            addons_price += addon.price * Decimal::from(pick.quantity);
        }
    }
    Ok(Priced {
        shipping_region,
        shipping_price,
        addons_price,
    })
}

/// Claims the add-on units of pledge `id` and records them and its address, after the pledge's
/// row is written.
pub(super) async fn claim_and_record(
    conn: &mut PgConnection,
    id: PledgeId,
    project: ProjectId,
    tier: Option<TierId>,
    extras: &Extras,
) -> Result<()> {
    for pick in &extras.addons {
        let price = addons::claim(conn, project, tier, pick.addon, pick.quantity).await?;
        sqlx::query(
            "INSERT INTO pledge_addons (pledge_id, addon_id, quantity, price)
             VALUES ($1, $2, $3, $4)",
        )
        .bind(id)
        .bind(pick.addon)
        .bind(pick.quantity)
        .bind(price)
        .execute(&mut *conn)
        .await?;
    }
    if let Some(choice) = &extras.shipping {
        sqlx::query("INSERT INTO pledge_addresses (pledge_id, address) VALUES ($1, $2)")
            .bind(id)
            .bind(choice.address.as_str())
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// The add-ons a pledge took: (add-on, quantity).
pub(super) async fn taken(conn: &mut PgConnection, id: PledgeId) -> Result<Vec<(AddonId, i32)>> {
    Ok(sqlx::query_as(
        "SELECT addon_id, quantity FROM pledge_addons WHERE pledge_id = $1 ORDER BY addon_id",
    )
    .bind(id)
    .fetch_all(&mut *conn)
    .await?)
}

/// Gives back the add-on units of a pledge that ends (a cancellation).
pub(super) async fn release(conn: &mut PgConnection, id: PledgeId) -> Result<()> {
    for (addon, quantity) in taken(conn, id).await? {
        addons::release(conn, addon, quantity).await?;
    }
    Ok(())
}

/// A pledge's shipping after a change to `tier`: the region it had, re-priced for the new tier;
/// none for a tier that does not ship. Refused when the new tier ships and the pledge has no
/// address, or when one of its add-ons does not go with the new tier.
pub(super) async fn reprice_for_change(
    conn: &mut PgConnection,
    id: PledgeId,
    project: ProjectId,
    region: Option<Region>,
    tier: Option<TierId>,
) -> Result<(Option<Region>, Decimal)> {
    for (addon, _) in taken(conn, id).await? {
        if !addons::goes_with(conn, project, addon, tier).await? {
            return Err(Error::invalid("addons.error.not_for_tier"));
        }
    }
    let ships = match tier {
        Some(tier) => shipping::ships(&mut *conn, project, tier).await?,
        None => false,
    };
    match (ships, region, tier) {
        (true, Some(region), Some(tier)) => Ok((
            Some(region),
            shipping::quote(conn, project, tier, region)
                .await?
                .unwrap_or_default(),
        )),
        (true, _, _) => Err(Error::invalid("shipping.error.change_needs_address")),
        (false, _, _) => Ok((None, Decimal::ZERO)),
    }
}

/// The shipping address of pledge `id`, for its backer and its project's founder only (the
/// caller has checked who asks).
pub async fn address_of<'e>(db: impl sqlx::PgExecutor<'e>, id: PledgeId) -> Result<Option<String>> {
    Ok(
        sqlx::query_scalar("SELECT address FROM pledge_addresses WHERE pledge_id = $1")
            .bind(id)
            .fetch_optional(db)
            .await?,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_is_required_and_bounded() {
        assert!(ShippingAddress::parse("  ").is_err());
        assert!(ShippingAddress::parse(&"x".repeat(501)).is_err());
        assert!(ShippingAddress::parse("1 Tea Road\nPu'er").is_ok());
    }

    #[test]
    fn an_addon_is_picked_once_with_one_to_a_hundred_units() {
        let a = AddonId(uuid::Uuid::new_v4());
        assert!(Extras::new(None, &[(a, 0)]).is_err());
        assert!(Extras::new(None, &[(a, 101)]).is_err());
        assert!(Extras::new(None, &[(a, 1), (a, 2)]).is_err());
        assert_eq!(
            Extras::new(None, &[(a, 3)]).unwrap().addons()[0].quantity,
            3
        );
    }
}
