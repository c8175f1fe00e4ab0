//! The equity offering of a project, as its founder writes it and its page shows it.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use sqlx::PgConnection;

use crate::error::Result;
use crate::projects::domain::{NewOffering, SecurityType};
use crate::projects::ProjectId;

/// An equity offering with what is left of it.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema, sqlx::FromRow)]
pub struct Offering {
    #[schema(value_type = String, example = "10.00")]
    pub price_per_share: Decimal,
    pub min_shares: i64,
    pub max_shares: i64,
    pub min_shares_per_investor: i64,
    #[schema(value_type = String, example = "20000000.00")]
    pub pre_money_valuation: Decimal,
    pub security_type: SecurityType,
    pub risk_warning: String,
    pub max_investors: i32,
    pub shares_sold: i64,
    /// `max_shares - shares_sold`.
    pub shares_left: i64,
    pub investor_count: i32,
}

pub(super) async fn put_offering(
    conn: &mut PgConnection,
    id: ProjectId,
    o: &NewOffering,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO equity_offerings (project_id, price_per_share, min_shares, max_shares,
             min_shares_per_investor, pre_money_valuation, security_type, risk_warning)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         ON CONFLICT (project_id) DO UPDATE SET price_per_share = EXCLUDED.price_per_share,
             min_shares = EXCLUDED.min_shares, max_shares = EXCLUDED.max_shares,
             min_shares_per_investor = EXCLUDED.min_shares_per_investor,
             pre_money_valuation = EXCLUDED.pre_money_valuation,
             security_type = EXCLUDED.security_type, risk_warning = EXCLUDED.risk_warning",
    )
    .bind(id)
    .bind(o.price_per_share)
    .bind(o.min_shares)
    .bind(o.max_shares)
    .bind(o.min_shares_per_investor)
    .bind(o.pre_money_valuation)
    .bind(o.security_type)
    .bind(&o.risk_warning)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The offering of an equity project.
pub async fn offering(db: &mut PgConnection, id: ProjectId) -> Result<Option<Offering>> {
    Ok(sqlx::query_as(
        "SELECT price_per_share, min_shares, max_shares, min_shares_per_investor,
                pre_money_valuation, security_type, risk_warning, max_investors, shares_sold,
                greatest(max_shares - shares_sold, 0) AS shares_left, investor_count
         FROM equity_offerings WHERE project_id = $1",
    )
    .bind(id)
    .fetch_optional(&mut *db)
    .await?)
}

/// Whether an equity project has its offering.
pub async fn has_offering(conn: &mut PgConnection, id: ProjectId) -> Result<bool> {
    Ok(
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM equity_offerings WHERE project_id = $1)")
            .bind(id)
            .fetch_one(&mut *conn)
            .await?,
    )
}
