//! Shipping prices of the tiers that ship, per region, as their founder sets them.
//!
//! The regions are a short fixed list ([`Region`]): `domestic` (within the project's own
//! country), `asia`, `europe`, `americas`, `oceania`, `africa` and `rest_of_world`. A tier that
//! ships has at least `domestic` and `rest_of_world` prices (zero for free shipping); a region
//! without a price of its own ships at the `rest_of_world` price.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use sqlx::{PgConnection, PgExecutor};

use super::{ProjectId, TierId};
use crate::error::{Error, Result};

/// Where a reward is shipped to.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
    sqlx::Type,
)]
#[serde(rename_all = "snake_case")]
#[sqlx(type_name = "text", rename_all = "snake_case")]
pub enum Region {
    /// Within the project's own country.
    Domestic,
    Asia,
    Europe,
    Americas,
    Oceania,
    Africa,
    /// Anywhere a price of its own does not cover.
    RestOfWorld,
}

impl Region {
    /// Every region, in the order the forms list them.
    pub const ALL: [Region; 7] = [
        Region::Domestic,
        Region::Asia,
        Region::Europe,
        Region::Americas,
        Region::Oceania,
        Region::Africa,
        Region::RestOfWorld,
    ];

    /// The stored and sent name.
    pub fn as_str(self) -> &'static str {
        match self {
            Region::Domestic => "domestic",
            Region::Asia => "asia",
            Region::Europe => "europe",
            Region::Americas => "americas",
            Region::Oceania => "oceania",
            Region::Africa => "africa",
            Region::RestOfWorld => "rest_of_world",
        }
    }

    /// A region by its name; anything else is refused.
    pub fn parse(raw: &str) -> Result<Self> {
        Region::ALL
            .into_iter()
            .find(|r| r.as_str() == raw.trim())
            .ok_or(Error::invalid("shipping.error.region"))
    }
}

/// A tier's shipping prices: empty for a tier that does not ship, else at least `domestic` and
/// `rest_of_world`, each region once, each price zero or more with two decimals at most.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ShippingPrices(Vec<(Region, Decimal)>);

impl ShippingPrices {
    /// Checks a founder's prices for a tier that `ships` (a tier that does not takes none).
    pub fn parse(ships: bool, prices: &[(Region, Decimal)]) -> Result<Self> {
        match (ships, prices.is_empty()) {
            (false, true) => return Ok(Self::default()),
            (false, false) => return Err(Error::invalid("shipping.error.not_shipped")),
            (true, true) => return Err(Error::invalid("shipping.error.needs_domestic_and_world")),
            (true, false) => {}
        }
        let mut seen: Vec<(Region, Decimal)> = Vec::with_capacity(prices.len());
        for &(region, price) in prices {
            let max = Decimal::from(100_000_000);
            if price < Decimal::ZERO || price >= max || price.normalize().scale() > 2 {
                return Err(Error::invalid("shipping.error.price"));
            }
            if seen.iter().any(|(r, _)| *r == region) {
                return Err(Error::invalid("shipping.error.region_twice"));
            }
            seen.push((region, price.round_dp(2)));
        }
        let has = |region| seen.iter().any(|(r, _)| *r == region);
        if !has(Region::Domestic) || !has(Region::RestOfWorld) {
            return Err(Error::invalid("shipping.error.needs_domestic_and_world"));
        }
        seen.sort();
        Ok(Self(seen))
    }

    /// The prices, by region.
    pub fn prices(&self) -> &[(Region, Decimal)] {
        &self.0
    }
}

/// Stores the prices of a new tier.
pub(super) async fn insert(
    conn: &mut PgConnection,
    tier: TierId,
    prices: &ShippingPrices,
) -> Result<()> {
    for (region, price) in prices.prices() {
        sqlx::query("INSERT INTO tier_shipping (tier_id, region, price) VALUES ($1, $2, $3)")
            .bind(tier)
            .bind(region.as_str())
            .bind(price)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// A region's shipping price, as a tier's table lists it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema, sqlx::FromRow)]
pub struct RegionPrice {
    pub region: Region,
    #[schema(value_type = String, example = "12.00")]
    #[serde(with = "rust_decimal::serde::str")]
    pub price: Decimal,
}

/// The tiers of `project` that ship, each with its prices in region order.
pub async fn shipped_tiers<'e>(
    db: impl PgExecutor<'e>,
    project: ProjectId,
) -> Result<Vec<(TierId, Vec<RegionPrice>)>> {
    let rows: Vec<(TierId, Option<Region>, Option<Decimal>)> = sqlx::query_as(
        "SELECT t.id, s.region, s.price FROM reward_tiers t
         LEFT JOIN tier_shipping s ON s.tier_id = t.id
         WHERE t.project_id = $1 AND t.ships",
    )
    .bind(project)
    .fetch_all(db)
    .await?;
    let mut tiers: Vec<(TierId, Vec<RegionPrice>)> = Vec::new();
    for (tier, region, price) in rows {
        let at = match tiers.iter().position(|(t, _)| *t == tier) {
            Some(at) => at,
            None => {
                tiers.push((tier, Vec::new()));
                tiers.len() - 1
            }
        };
        if let (Some(region), Some(price)) = (region, price) {
            tiers[at].1.push(RegionPrice { region, price });
        }
    }
    for (_, prices) in &mut tiers {
        prices.sort_by_key(|p| p.region);
    }
    Ok(tiers)
}

/// What shipping a tier of `project` costs to `region`: `None` when the tier does not ship (or
/// is not the project's), else its price there (the `rest_of_world` price for a region without
/// its own; zero for a tier that ships without prices).
pub async fn quote(
    conn: &mut PgConnection,
    project: ProjectId,
    tier: TierId,
    region: Region,
) -> Result<Option<Decimal>> {
    let row: Option<(bool, Option<Decimal>)> = sqlx::query_as(
        "SELECT t.ships,
                COALESCE((SELECT price FROM tier_shipping WHERE tier_id = t.id AND region = $3),
                         (SELECT price FROM tier_shipping
                          WHERE tier_id = t.id AND region = 'rest_of_world'))
         FROM reward_tiers t WHERE t.id = $1 AND t.project_id = $2",
    )
    .bind(tier)
    .bind(project)
    .bind(region.as_str())
    .fetch_optional(&mut *conn)
    .await?;
    Ok(match row {
        Some((true, price)) => Some(price.unwrap_or_default()),
        _ => None,
    })
}

/// Whether a tier of `project` ships.
pub async fn ships(conn: &mut PgConnection, project: ProjectId, tier: TierId) -> Result<bool> {
    Ok(quote(conn, project, tier, Region::RestOfWorld)
        .await?
        .is_some())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dec(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    #[test]
    fn shipping_prices_need_domestic_and_rest_of_world() {
        let only_domestic = [(Region::Domestic, dec("5"))];
        assert!(ShippingPrices::parse(true, &only_domestic).is_err());
        assert!(ShippingPrices::parse(true, &[]).is_err());
        let both = [
            (Region::RestOfWorld, dec("30")),
            (Region::Domestic, dec("5")),
        ];
        let prices = ShippingPrices::parse(true, &both).unwrap();
        assert_eq!(prices.prices()[0].0, Region::Domestic);
    }

    #[test]
    fn a_tier_that_does_not_ship_takes_no_shipping_prices() {
        let both = [
            (Region::Domestic, dec("5")),
            (Region::RestOfWorld, dec("9")),
        ];
        assert!(ShippingPrices::parse(false, &both).is_err());
        assert!(ShippingPrices::parse(false, &[]).is_ok());
    }

    #[test]
    fn a_region_is_priced_once_and_never_below_zero() {
        let twice = [
            (Region::Domestic, dec("5")),
            (Region::Domestic, dec("6")),
            (Region::RestOfWorld, dec("9")),
        ];
        assert!(ShippingPrices::parse(true, &twice).is_err());
        let negative = [
            (Region::Domestic, dec("-1")),
            (Region::RestOfWorld, dec("9")),
        ];
        assert!(ShippingPrices::parse(true, &negative).is_err());
    }

    #[test]
    fn regions_parse_by_their_names_only() {
        assert_eq!(Region::parse("rest_of_world").unwrap(), Region::RestOfWorld);
        assert!(Region::parse("mars").is_err());
    }
}
