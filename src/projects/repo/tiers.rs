//! Reward tiers as their founder manages them (claims are `capacity`'s).

use rust_decimal::Decimal;
use serde::Serialize;
use sqlx::PgConnection;

use crate::error::{Error, Result, ResultExt};
use crate::projects::domain::NewTier;
use crate::projects::{markdown, ProjectId, TierId};

/// A reward tier with what is left of it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema, sqlx::FromRow)]
pub struct Tier {
    #[schema(value_type = String, format = Uuid)]
    pub id: TierId,
    pub title: String,
    pub description: String,
    /// The description rendered and sanitised when written.
    #[serde(skip)]
    pub description_html: String,
    #[schema(value_type = String, example = "128.00")]
    pub price: Decimal,
    pub quantity_limit: Option<i32>,
    pub claimed: i32,
    /// `quantity_limit - claimed`; `None` when unlimited.
    pub remaining: Option<i32>,
    /// `YYYY-MM`.
    pub delivery_month: Option<String>,
    pub ships: bool,
}

/// The columns of [`Tier`] over `reward_tiers`: what is left (none when unlimited), and the
/// month as `YYYY-MM`.
const TIER_COLUMNS: &str = "id, title, description, description_html, price, quantity_limit, \
     claimed, CASE WHEN quantity_limit IS NOT NULL THEN greatest(quantity_limit - claimed, 0) END \
     AS remaining, \
     to_char(delivery_month, 'YYYY-MM') AS delivery_month, ships";

pub(super) async fn insert_tier(
    conn: &mut PgConnection,
    id: ProjectId,
    tier: &NewTier,
) -> Result<TierId> {
    let tier_id = TierId(uuid::Uuid::new_v4());
    sqlx::query(
        "INSERT INTO reward_tiers (id, project_id, position, title, description, price,
                                   quantity_limit, delivery_month, ships, description_html)
         VALUES ($1, $2, (SELECT COALESCE(max(position) + 1, 0) FROM reward_tiers WHERE project_id = $2),
                 $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(tier_id)
    .bind(id)
    .bind(&tier.title)
    .bind(&tier.description)
    .bind(tier.price)
    .bind(tier.quantity_limit)
    .bind(tier.delivery_month)
    .bind(tier.ships)
    .bind(markdown::render(&tier.description))
    .execute(&mut *conn)
    .await?;
    crate::projects::shipping::insert(conn, tier_id, &tier.shipping).await?;
    Ok(tier_id)
}

/// Adds a tier to a locked project.
pub async fn add_tier(conn: &mut PgConnection, id: ProjectId, tier: &NewTier) -> Result<TierId> {
    insert_tier(conn, id, tier).await
}

/// Removes a tier nobody has claimed (drafts only; the caller checks the state). Refused (409)
/// while an add-on names it: the database restricts the delete, so the add-on never loses the
/// tier that limits it.
pub async fn delete_tier(conn: &mut PgConnection, id: ProjectId, tier: TierId) -> Result<bool> {
    let done =
        sqlx::query("DELETE FROM reward_tiers WHERE id = $1 AND project_id = $2 AND claimed = 0")
            .bind(tier)
            .bind(id)
            .execute(&mut *conn)
            .await
            .on_constraint("addon_tiers_tier_id_fkey", |_| {
                Error::conflict("addons.error.tier_named")
            })?;
    Ok(done.rows_affected() == 1)
}

/// The tiers of a project, in order.
pub async fn tiers(db: &mut PgConnection, id: ProjectId) -> Result<Vec<Tier>> {
    Ok(sqlx::query_as(&format!(
        "SELECT {TIER_COLUMNS} FROM reward_tiers WHERE project_id = $1
         ORDER BY position, created_at"
    ))
    .bind(id)
    .fetch_all(&mut *db)
    .await?)
}

/// How many tiers a project has (a reward project needs one before review).
pub async fn tier_count(conn: &mut PgConnection, id: ProjectId) -> Result<i64> {
    Ok(
        sqlx::query_scalar("SELECT count(*) FROM reward_tiers WHERE project_id = $1")
            .bind(id)
            .fetch_one(&mut *conn)
            .await?,
    )
}
