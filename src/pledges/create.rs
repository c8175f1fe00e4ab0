//! Making one pledge inside the caller's transaction: the desk calls it once per request.

use rust_decimal::Decimal;
use sqlx::PgConnection;
use time::OffsetDateTime;

use super::extras::{self, Extras};
use super::investors::check_investor_limit;
use super::limits::InvestorLimitRule;
use super::request::{EquityRequest, PledgeRequest};
use super::{Pledge, PledgeId, PLEDGE_COLUMNS};
use crate::error::{Error, Message, Result, ResultExt};
use crate::ids::{ProjectId, UserId};
use crate::money::{self, EntryKind, Money, Transfer};
use crate::projects::capacity::{self, PledgeTarget};
use crate::projects::ProjectKind;

/// The unique index that lets a backer hold one active pledge per project.
const ONE_ACTIVE_PER_BACKER: &str = "pledges_one_active_per_backer";

async fn open_target(conn: &mut PgConnection, project: ProjectId) -> Result<PledgeTarget> {
    let target = capacity::pledge_target(&mut *conn, project)
        .await?
        .ok_or(Error::NotFound)?;
    target.check_open(OffsetDateTime::now_utc())?;
    Ok(target)
}

/// Makes pledge `id` of `backer` to `project`: records it, moves its money from the wallet to
/// the escrow, and claims its tier unit or shares. On an error the caller rolls back (the whole
/// transaction, or the pledge's savepoint).
pub(super) async fn create_in(
    conn: &mut PgConnection,
    rule: &InvestorLimitRule,
    id: PledgeId,
    backer: UserId,
    project: ProjectId,
    request: &PledgeRequest,
) -> Result<Pledge> {
    let target = open_target(conn, project).await?;
    if target.founder == backer {
        return Err(Error::conflict("pledges.error.own_project"));
    }
    let (wallet, escrow) =
        money::wallet_and_escrow(conn, backer, project, &target.currency).await?;
    let none = Extras::default();
    let (tier, amount, shares, extras) = match (request, target.kind) {
        (PledgeRequest::Reward { tier, amount }, ProjectKind::Reward) => {
            (*tier, *amount, None, &none)
        }
        (
            PledgeRequest::RewardWithExtras {
                tier,
                amount,
                extras,
            },
            ProjectKind::Reward,
        ) => (*tier, *amount, None, extras),
        (PledgeRequest::Equity(equity), ProjectKind::Equity) => {
            let terms = capacity::offering(&mut *conn, project)
                .await?
                .ok_or(Error::invalid("pledges.error.not_equity"))?;
            check_equity_terms(equity, terms.min_shares_per_investor)?;
            let amount =
                Money::try_from(terms.price_per_share * Decimal::from(equity.shares.get()))?;
            check_investor_limit(conn, rule, backer, equity.declaration, amount.value(), None)
                .await?;
            (None, amount, Some(equity.shares.get()), &none)
        }
        (
            PledgeRequest::Reward { .. } | PledgeRequest::RewardWithExtras { .. },
            ProjectKind::Equity,
        ) => return Err(Error::invalid("pledges.error.not_reward")),
        (PledgeRequest::Equity(_), ProjectKind::Reward) => {
            return Err(Error::invalid("pledges.error.not_equity"))
        }
    };
    // The reward part is what the tier's price is checked against; the add-ons and shipping are
    // held with it.
    let reward_part = amount.value();
    let priced = extras::price(conn, project, tier, extras).await?;
    let amount = Money::try_from(reward_part + priced.addons_price + priced.shipping_price)?;
    let pledge: Pledge = sqlx::query_as(&format!(
        "INSERT INTO pledges (id, project_id, backer_id, tier_id, amount, shares, currency,
                              shipping_region, shipping_price, addons_price)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING {PLEDGE_COLUMNS}"
    ))
    .bind(id)
    .bind(project)
    .bind(backer)
    .bind(tier)
    .bind(amount.value())
    .bind(shares)
    .bind(&target.currency)
    .bind(priced.shipping_region)
    .bind(priced.shipping_price)
    .bind(priced.addons_price)
    .fetch_one(&mut *conn)
    .await
    .on_constraint(ONE_ACTIVE_PER_BACKER, |_| {
        Error::conflict("pledges.error.already_backing")
    })?;
    let reference = format!("pledge:{id}");
    // The wallet debit comes before the contended rows (tier, escrow, project), so a backer
    // without the money is refused before queueing behind everyone else.
    money::transfer(
        conn,
        Transfer {
            from: wallet,
            to: escrow,
            amount,
            kind: EntryKind::PledgeHold,
            reference: &reference,
            once_key: None,
        },
    )
    .await?;
    if let Some(shares) = shares {
        capacity::claim_shares(conn, project, shares, true).await?;
        capacity::add_to_totals(conn, project, amount.value(), 1, true).await?;
    } else {
        let price = capacity::claim_for_reward_pledge(conn, project, tier, amount.value()).await?;
        if price.is_some_and(|p| reward_part < p) {
            return Err(Error::invalid("pledges.error.below_price"));
        }
        extras::claim_and_record(conn, id, project, tier, extras).await?;
    }
    Ok(pledge)
}

/// Refuses a commitment without the risk acknowledged, or below the offering's minimum.
pub(super) fn check_equity_terms(equity: &EquityRequest, min_per_investor: i64) -> Result<()> {
    if !equity.risk_acknowledged {
        return Err(Error::invalid("pledges.error.risk"));
    }
    if equity.shares.get() < min_per_investor {
        return Err(Error::Invalid(Message::Text(format!(
            "Commit to at least {min_per_investor} shares."
        ))));
    }
    Ok(())
}
