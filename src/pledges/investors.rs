//! What equity investors declared about themselves, and their 12-month limit checked against
//! what they have already committed.

use rust_decimal::Decimal;
use sqlx::{PgConnection, PgPool};

use super::limits::InvestorLimitRule;
use super::PledgeId;
use crate::error::{Error, Message, Result};
use crate::ids::UserId;

/// An investor's self-declared figures, as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::FromRow)]
pub struct InvestorProfile {
    pub annual_income: Decimal,
    pub net_worth: Decimal,
}

/// What `investor` declared, if they ever did.
pub async fn declared_profile(db: &PgPool, investor: UserId) -> Result<Option<InvestorProfile>> {
    Ok(
        sqlx::query_as("SELECT annual_income, net_worth FROM investor_profiles WHERE user_id = $1")
            .bind(investor)
            .fetch_optional(db)
            .await?,
    )
}

/// Stores a new declaration (or reads the stored one), holding the profile row locked until the
/// transaction ends.
async fn lock_profile(
    conn: &mut PgConnection,
    investor: UserId,
    declaration: Option<(Decimal, Decimal)>,
) -> Result<Option<InvestorProfile>> {
    let Some((income, net_worth)) = declaration else {
        return Ok(sqlx::query_as(
            "SELECT annual_income, net_worth FROM investor_profiles WHERE user_id = $1
             FOR UPDATE",
        )
        .bind(investor)
        .fetch_optional(&mut *conn)
        .await?);
    };
    if income < Decimal::ZERO || net_worth < Decimal::ZERO {
        return Err(Error::invalid("pledges.error.declaration"));
    }
    Ok(Some(
        sqlx::query_as(
            "INSERT INTO investor_profiles (user_id, annual_income, net_worth)
             VALUES ($1, $2, $3)
             ON CONFLICT (user_id) DO UPDATE
             SET annual_income = EXCLUDED.annual_income, net_worth = EXCLUDED.net_worth,
                 updated_at = now()
             RETURNING annual_income, net_worth",
        )
        .bind(investor)
        .bind(income.round_dp(2))
        .bind(net_worth.round_dp(2))
        .fetch_one(&mut *conn)
        .await?,
    ))
}

/// Checks the investor's 12-month limit with `amount` more, holding the investor's profile row
/// locked until the transaction ends, so two concurrent commitments by one investor (pledges or
/// the exchange's buy orders) are counted one after the other. What counts: equity pledges active
/// or collected, and the exchange's purchases (`secondary_purchases`), of the last 12 months.
/// `excluding` leaves out a pledge being changed.
pub async fn check_investor_limit(
    conn: &mut PgConnection,
    rule: &InvestorLimitRule,
    investor: UserId,
    declaration: Option<(Decimal, Decimal)>,
    amount: Decimal,
    excluding: Option<PledgeId>,
) -> Result<()> {
    let profile = lock_profile(conn, investor, declaration)
        .await?
        .ok_or(Error::invalid("pledges.error.declaration"))?;
    let limit = rule.limit(profile.annual_income, profile.net_worth);
    let committed: Decimal = sqlx::query_scalar(
        "SELECT (SELECT coalesce(sum(amount), 0) FROM pledges
                  WHERE backer_id = $1 AND shares IS NOT NULL AND state IN ('active', 'collected')
                    AND created_at > now() - interval '12 months' AND id IS DISTINCT FROM $2)
              + (SELECT coalesce(sum(amount), 0) FROM secondary_purchases
                  WHERE buyer_id = $1 AND at > now() - interval '12 months')",
    )
    .bind(investor)
    .bind(excluding)
    .fetch_one(&mut *conn)
    .await?;
    if committed + amount > limit {
        let left = (limit - committed).max(Decimal::ZERO);
        return Err(Error::Invalid(Message::Text(format!(
            "This exceeds your 12-month investment limit of {limit:.2}; you can still commit {left:.2}."
        ))));
    }
    Ok(())
}
