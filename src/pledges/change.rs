//! Changing or cancelling an active pledge inside its window: reward pledges until the deadline,
//! equity commitments until 48 hours before it.

use rust_decimal::Decimal;
use sqlx::{PgConnection, PgPool};
use time::OffsetDateTime;

use super::create::check_equity_terms;
use super::extras;
use super::investors::check_investor_limit;
use super::limits::{InvestorLimitRule, Shares};
use super::request::EquityRequest;
use super::tx::{commit, retrying_deadlocks};
use super::{Pledge, PledgeId, PledgeState, PLEDGE_COLUMNS};
use crate::error::{Error, Result};
use crate::ids::{TierId, UserId};
use crate::money::{self, EntryKind, Money, Transfer};
use crate::projects::capacity::{self, PledgeTarget};
use crate::projects::shipping::Region;
use crate::projects::{ProjectKind, ProjectState};

/// How long before the deadline equity commitments can still be changed or cancelled.
pub const EQUITY_CHANGE_CUTOFF: time::Duration = time::Duration::hours(48);

/// Until when a pledge on this project may be changed or cancelled: the deadline for rewards,
/// 48 hours before it for equity.
pub fn change_window_end(target: &PledgeTarget) -> Option<OffsetDateTime> {
    target
        .deadline
        .map(|deadline| window_end(target.kind, deadline))
}

/// The end of the change window of a project of `kind` with this deadline.
pub(super) fn window_end(kind: ProjectKind, deadline: OffsetDateTime) -> OffsetDateTime {
    match kind {
        ProjectKind::Reward => deadline,
        ProjectKind::Equity => deadline - EQUITY_CHANGE_CUTOFF,
    }
}

fn check_window(target: &PledgeTarget) -> Result<()> {
    let now = OffsetDateTime::now_utc();
    if target.is_scheduled(now) {
        return Err(capacity::refusal(target.state, target.launched_at, now));
    }
    let open_state = matches!(target.state, ProjectState::Live | ProjectState::Frozen);
    let in_time = change_window_end(target).is_some_and(|end| now < end);
    if !open_state || !in_time {
        return Err(Error::conflict(match target.kind {
            ProjectKind::Reward => "pledges.error.window_reward",
            ProjectKind::Equity => "pledges.error.window_equity",
        }));
    }
    Ok(())
}

/// Locks a backer's own active pledge for a change; others' pledges are "not found".
async fn lock_own_active(
    conn: &mut PgConnection,
    backer: UserId,
    id: PledgeId,
) -> Result<(Pledge, PledgeTarget)> {
    let pledge: Pledge = sqlx::query_as(&format!(
        "SELECT {PLEDGE_COLUMNS} FROM pledges WHERE id = $1 AND backer_id = $2 FOR UPDATE"
    ))
    .bind(id)
    .bind(backer)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(Error::NotFound)?;
    if pledge.state != PledgeState::Active {
        return Err(Error::conflict("pledges.error.not_active"));
    }
    let target = capacity::pledge_target(&mut *conn, pledge.project_id)
        .await?
        .ok_or(Error::NotFound)?;
    Ok((pledge, target))
}

/// A change to an active pledge.
#[derive(Debug, Clone)]
pub enum PledgeChange {
    /// A reward pledge's new tier (or none) and new reward part (add-ons and shipping come on
    /// top).
    Reward { tier: Option<TierId>, amount: Money },
    /// An equity commitment's new number of shares.
    Equity { shares: Shares },
}

/// Changes an active pledge inside its window: the tier unit or shares are exchanged and the
/// difference moves between wallet and escrow at once, in one transaction. A reward change's
/// amount is the new reward part: the pledge keeps its add-ons, and its shipping is re-priced
/// for the new tier (see [`super::extras`]).
pub async fn change(
    db: &PgPool,
    rule: &InvestorLimitRule,
    backer: UserId,
    id: PledgeId,
    change: &PledgeChange,
) -> Result<Pledge> {
    retrying_deadlocks(|| change_once(db, rule, backer, id, change)).await
}

/// What a pledge becomes: its tier, amount and shares, and its shipping.
struct Terms {
    tier: Option<TierId>,
    amount: Decimal,
    shares: Option<i64>,
    shipping_region: Option<Region>,
    shipping_price: Decimal,
}

/// Claims what the new terms need (a tier unit, more shares) and releases what they no longer
/// do.
async fn exchange(
    conn: &mut PgConnection,
    rule: &InvestorLimitRule,
    pledge: &Pledge,
    target: &PledgeTarget,
    change: &PledgeChange,
) -> Result<Terms> {
    match (change, target.kind) {
        (PledgeChange::Reward { tier, amount }, ProjectKind::Reward) => {
            if *tier != pledge.tier_id {
                if let Some(old) = pledge.tier_id {
                    capacity::release_tier_unit(conn, old).await?;
                }
            }
            if let Some(new) = tier {
                let price = if Some(*new) == pledge.tier_id {
                    capacity::tiers(&mut *conn, target.id)
                        .await?
                        .into_iter()
                        .find(|t| t.id == *new)
                        .map(|t| t.price)
                        .ok_or(Error::invalid("pledges.error.unknown_tier"))?
                } else {
                    capacity::claim_tier_unit(conn, target.id, *new).await?
                };
                if amount.value() < price {
                    return Err(Error::invalid("pledges.error.below_price"));
                }
            }
            // The add-ons are kept at their prices; shipping is re-priced for the new tier.
            let (shipping_region, shipping_price) = extras::reprice_for_change(
                conn,
                pledge.id,
                target.id,
                pledge.shipping_region,
                *tier,
            )
            .await?;
            Ok(Terms {
                tier: *tier,
                amount: amount.value() + pledge.addons_price + shipping_price,
                shares: None,
                shipping_region,
                shipping_price,
            })
        }
        (PledgeChange::Equity { shares }, ProjectKind::Equity) => {
            let terms = capacity::offering(&mut *conn, target.id)
                .await?
                .ok_or(Error::invalid("pledges.error.not_equity"))?;
            check_equity_terms(
                &EquityRequest {
                    shares: *shares,
                    risk_acknowledged: true,
                    declaration: None,
                },
                terms.min_shares_per_investor,
            )?;
            let amount = terms.price_per_share * Decimal::from(shares.get());
            check_investor_limit(conn, rule, pledge.backer_id, None, amount, Some(pledge.id))
                .await?;
            let delta = shares.get() - pledge.shares.unwrap_or(0);
            if delta != 0 {
                capacity::claim_shares(conn, target.id, delta, false).await?;
            }
            Ok(Terms {
                tier: None,
                amount: Money::try_from(amount)?.value(),
                shares: Some(shares.get()),
                shipping_region: None,
                shipping_price: Decimal::ZERO,
            })
        }
        _ => Err(Error::invalid("pledges.error.wrong_kind")),
    }
}

async fn change_once(
    db: &PgPool,
    rule: &InvestorLimitRule,
    backer: UserId,
    id: PledgeId,
    change: &PledgeChange,
) -> Result<Pledge> {
    let mut tx = db.begin().await?;
    let (pledge, target) = lock_own_active(&mut tx, backer, id).await?;
    check_window(&target)?;
    let new = exchange(&mut tx, rule, &pledge, &target, change).await?;
    let delta = new.amount - pledge.amount;
    if !delta.is_zero() {
        let (wallet, escrow) =
            money::wallet_and_escrow(&mut tx, backer, target.id, &target.currency).await?;
        let (from, to) = if delta > Decimal::ZERO {
            (wallet, escrow)
        } else {
            (escrow, wallet)
        };
        let reference = format!("pledge:{id}");
        money::transfer(
            &mut tx,
            Transfer {
                from,
                to,
                amount: Money::try_from(delta.abs())?,
                kind: EntryKind::PledgeChange,
                reference: &reference,
                once_key: None,
            },
        )
        .await?;
        // An increase is new money in: only while the project takes pledges.
        capacity::add_to_totals(&mut tx, target.id, delta, 0, delta > Decimal::ZERO).await?;
    }
    let changed: Pledge = sqlx::query_as(&format!(
        "UPDATE pledges SET tier_id = $2, amount = $3, shares = $4, shipping_region = $5,
                            shipping_price = $6, updated_at = now()
         WHERE id = $1 RETURNING {PLEDGE_COLUMNS}"
    ))
    .bind(id)
    .bind(new.tier)
    .bind(new.amount)
    .bind(new.shares)
    .bind(new.shipping_region)
    .bind(new.shipping_price)
    .fetch_one(&mut *tx)
    .await?;
    commit(tx).await?;
    Ok(changed)
}

/// Cancels an active pledge inside its window: the money goes back to the wallet at once, the
/// tier unit or shares are released.
pub async fn cancel(db: &PgPool, backer: UserId, id: PledgeId) -> Result<Pledge> {
    retrying_deadlocks(|| cancel_once(db, backer, id)).await
}

async fn cancel_once(db: &PgPool, backer: UserId, id: PledgeId) -> Result<Pledge> {
    let mut tx = db.begin().await?;
    let (pledge, target) = lock_own_active(&mut tx, backer, id).await?;
    check_window(&target)?;
    if let Some(tier) = pledge.tier_id {
        capacity::release_tier_unit(&mut tx, tier).await?;
    }
    if let Some(shares) = pledge.shares {
        capacity::release_shares(&mut tx, target.id, shares, true).await?;
    }
    extras::release(&mut tx, id).await?;
    let (wallet, escrow) =
        money::wallet_and_escrow(&mut tx, backer, target.id, &pledge.currency).await?;
    let reference = format!("pledge:{id}");
    money::transfer(
        &mut tx,
        Transfer {
            from: escrow,
            to: wallet,
            amount: Money::try_from(pledge.amount)?,
            kind: EntryKind::PledgeRelease,
            reference: &reference,
            once_key: None,
        },
    )
    .await?;
    capacity::add_to_totals(&mut tx, target.id, -pledge.amount, -1, false).await?;
    let cancelled: Pledge = sqlx::query_as(&format!(
        "UPDATE pledges SET state = 'cancelled', updated_at = now(), closed_at = now()
         WHERE id = $1 RETURNING {PLEDGE_COLUMNS}"
    ))
    .bind(id)
    .fetch_one(&mut *tx)
    .await?;
    commit(tx).await?;
    Ok(cancelled)
}
