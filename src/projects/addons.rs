//! Add-ons: extras a founder offers beside the tiers (a second mug, a poster), each with a price,
//! an optional limit, and the tiers that may take it. Backers claim units of them with their
//! pledge, as they claim tier units: a conditional `UPDATE … RETURNING` in the pledge's
//! transaction, so an add-on is never oversold, and released when the pledge is cancelled.

use rust_decimal::Decimal;
use serde::Serialize;
use sqlx::{PgConnection, PgExecutor, PgPool};

use super::founder::{check_owner, locked};
use super::{domain, repo, ProjectId, ProjectKind, ProjectState, TierId};
use crate::accounts::AuthUser;
use crate::error::{Error, Result};
use crate::ids::AddonId;

/// Most add-ons one project offers.
pub const MAX_ADDONS: i64 = 20;

/// Most units of one add-on in one pledge.
pub const MAX_QUANTITY: i32 = 100;

/// A new add-on, checked.
#[derive(Debug, Clone)]
pub struct NewAddon {
    pub title: String,
    pub price: Decimal,
    pub quantity_limit: Option<i32>,
    /// The tiers that may take it; empty for every tier.
    pub tiers: Vec<TierId>,
}

impl NewAddon {
    /// A title of 1 to 120 characters, a positive price, a limit of 1 to 1,000,000 units (or
    /// none), at most 50 tiers.
    pub fn parse(
        title: &str,
        price: Decimal,
        quantity_limit: Option<i64>,
        tiers: &[TierId],
    ) -> Result<Self> {
        let quantity_limit = match quantity_limit {
            None => None,
            Some(n) if (1..=1_000_000).contains(&n) => Some(n as i32),
            Some(_) => return Err(Error::invalid("addons.error.quantity_limit")),
        };
        if tiers.len() > 50 {
            return Err(Error::invalid("addons.error.tiers"));
        }
        let mut tiers = tiers.to_vec();
        tiers.sort_unstable();
        tiers.dedup();
        Ok(Self {
            title: domain::text(title, 1, 120, "addons.error.title")?,
            price: domain::money(price, "addons.error.price")?,
            quantity_limit,
            tiers,
        })
    }
}

/// An add-on with what is left of it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema, sqlx::FromRow)]
pub struct Addon {
    #[schema(value_type = String, format = Uuid)]
    pub id: AddonId,
    pub title: String,
    #[schema(value_type = String, example = "25.00")]
    #[serde(with = "rust_decimal::serde::str")]
    pub price: Decimal,
    pub quantity_limit: Option<i32>,
    pub claimed: i32,
    /// The tiers that may take it; empty for every tier.
    #[schema(value_type = Vec<String>)]
    pub tiers: Vec<uuid::Uuid>,
}

impl Addon {
    /// Units left, `None` when unlimited.
    pub fn remaining(&self) -> Option<i32> {
        self.quantity_limit.map(|l| (l - self.claimed).max(0))
    }

    /// Whether a pledge for `tier` may take it (a pledge without reward takes none).
    pub fn goes_with(&self, tier: Option<TierId>) -> bool {
        tier.is_some_and(|t| self.tiers.is_empty() || self.tiers.contains(&t.0))
    }
}

/// Adds an add-on to the founder's reward project, while it is a draft or live (up to
/// [`MAX_ADDONS`]); every tier it names must be the project's.
pub async fn add(
    db: &PgPool,
    founder: &AuthUser,
    project: ProjectId,
    addon: &NewAddon,
) -> Result<AddonId> {
    let mut tx = db.begin().await?;
    // The project's row lock makes the count and the insert one step for this project.
    let found = repo::lock(&mut tx, project).await?.ok_or(Error::NotFound)?;
    check_owner(&found, founder)?;
    if found.kind != ProjectKind::Reward {
        return Err(Error::invalid("addons.error.equity"));
    }
    if !matches!(
        found.state,
        ProjectState::Draft | ProjectState::Live | ProjectState::Frozen
    ) {
        return Err(locked(found.state));
    }
    let id = AddonId(uuid::Uuid::new_v4());
    let inserted = sqlx::query(
        "INSERT INTO project_addons (id, project_id, title, price, quantity_limit)
         SELECT $1, $2, $3, $4, $5
         WHERE (SELECT count(*) FROM project_addons WHERE project_id = $2) < $6",
    )
    .bind(id)
    .bind(project)
    .bind(&addon.title)
    .bind(addon.price)
    .bind(addon.quantity_limit)
    .bind(MAX_ADDONS)
    .execute(&mut *tx)
    .await?;
    if inserted.rows_affected() == 0 {
        return Err(Error::conflict("addons.error.too_many"));
    }
    for tier in &addon.tiers {
        let linked = sqlx::query(
            "INSERT INTO addon_tiers (addon_id, tier_id)
             SELECT $1, id FROM reward_tiers WHERE id = $2 AND project_id = $3",
        )
        .bind(id)
        .bind(tier)
        .bind(project)
        .execute(&mut *tx)
        .await?;
        if linked.rows_affected() == 0 {
            return Err(Error::invalid("addons.error.unknown_tier"));
        }
    }
    tx.commit().await?;
    Ok(id)
}

/// The add-ons of `project`, oldest first.
pub async fn of<'e>(db: impl PgExecutor<'e>, project: ProjectId) -> Result<Vec<Addon>> {
    Ok(sqlx::query_as(
        "SELECT a.id, a.title, a.price, a.quantity_limit, a.claimed,
                COALESCE(array_agg(t.tier_id ORDER BY t.tier_id)
                         FILTER (WHERE t.tier_id IS NOT NULL), '{}') AS tiers
         FROM project_addons a LEFT JOIN addon_tiers t ON t.addon_id = a.id
         WHERE a.project_id = $1
         GROUP BY a.id ORDER BY a.created_at, a.id",
    )
    .bind(project)
    .fetch_all(db)
    .await?)
}

/// Claims `quantity` units of an add-on of `project` for a pledge of `tier`, and returns its
/// unit price. Refused: an add-on of another project (422), one the tier may not take (422),
/// one with fewer units left (409).
pub async fn claim(
    conn: &mut PgConnection,
    project: ProjectId,
    tier: Option<TierId>,
    addon: AddonId,
    quantity: i32,
) -> Result<Decimal> {
    let price: Option<Decimal> = sqlx::query_scalar(
        "UPDATE project_addons a SET claimed = claimed + $4
         WHERE a.id = $1 AND a.project_id = $2 AND $3::uuid IS NOT NULL
           AND (a.quantity_limit IS NULL OR a.claimed + $4 <= a.quantity_limit)
           AND (NOT EXISTS (SELECT 1 FROM addon_tiers WHERE addon_id = a.id)
                OR EXISTS (SELECT 1 FROM addon_tiers WHERE addon_id = a.id AND tier_id = $3))
         RETURNING a.price",
    )
    .bind(addon)
    .bind(project)
    .bind(tier)
    .bind(quantity)
    .fetch_optional(&mut *conn)
    .await?;
    if let Some(price) = price {
        return Ok(price);
    }
    // Tell why (this path changed nothing).
    let found = of(&mut *conn, project)
        .await?
        .into_iter()
        .find(|a| a.id == addon);
    Err(match found {
        None => Error::invalid("addons.error.unknown"),
        Some(a) if !a.goes_with(tier) => Error::invalid("addons.error.not_for_tier"),
        Some(_) => Error::conflict("addons.error.sold_out"),
    })
}

/// Whether a pledge of `tier` may take `addon` (for a pledge changing its tier).
pub async fn goes_with(
    conn: &mut PgConnection,
    project: ProjectId,
    addon: AddonId,
    tier: Option<TierId>,
) -> Result<bool> {
    Ok(of(&mut *conn, project)
        .await?
        .into_iter()
        .any(|a| a.id == addon && a.goes_with(tier)))
}

/// Gives `quantity` claimed units back (a cancelled pledge).
pub async fn release(conn: &mut PgConnection, addon: AddonId, quantity: i32) -> Result<()> {
    sqlx::query("UPDATE project_addons SET claimed = greatest(claimed - $2, 0) WHERE id = $1")
        .bind(addon)
        .bind(quantity)
        .execute(&mut *conn)
        .await?;
    Ok(())
}
