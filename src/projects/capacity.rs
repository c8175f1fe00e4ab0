//! What the pledging room may read and change of a project: whether it takes pledges, tier units,
//! equity shares, and the running totals. Every claim is a conditional `UPDATE … RETURNING` in the
//! caller's transaction, so a tier or an offering can never be oversold, whatever the concurrency.

use rust_decimal::Decimal;
use sqlx::{PgConnection, PgExecutor};
use time::OffsetDateTime;

use super::{ProjectId, ProjectKind, ProjectState, TierId};
use crate::error::{Error, Message, Result};
use crate::ids::UserId;

/// What a pledge needs to know about its project.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PledgeTarget {
    pub id: ProjectId,
    pub founder: UserId,
    pub title: String,
    pub kind: ProjectKind,
    pub state: ProjectState,
    pub currency: String,
    pub deadline: Option<OffsetDateTime>,
    /// When it went (or goes) live; in the future for a scheduled launch.
    pub launched_at: Option<OffsetDateTime>,
}

/// The one rule for taking money: a project takes new pledges, pledge changes and increases only
/// while it is live, its (possibly scheduled) launch time has come, and its deadline has not.
/// [`OPEN_SQL`] says the same inside the statements that claim capacity.
pub fn accepts_pledges(
    state: ProjectState,
    launched_at: Option<OffsetDateTime>,
    deadline: Option<OffsetDateTime>,
    now: OffsetDateTime,
) -> bool {
    state == ProjectState::Live
        && launched_at.is_some_and(|l| l <= now)
        && deadline.is_some_and(|d| now < d)
}

/// [`accepts_pledges`] as a condition on a row of `projects`, for the statements that claim a
/// tier or add to the totals, so the check and the claim are one statement.
pub const OPEN_SQL: &str = "state = 'live' AND launched_at <= now() AND deadline > now()";

/// Why a project refuses pledges at `now`: a scheduled project says when it opens (RFC 3339, in
/// the reader's language), anything else that it is closed.
pub fn refusal(
    state: ProjectState,
    launched_at: Option<OffsetDateTime>,
    now: OffsetDateTime,
) -> Error {
    match launched_at {
        Some(opens) if state == ProjectState::Live && opens > now => {
            let at = opens
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_else(|_| opens.to_string());
            Error::Conflict(Message::Fill(
                "pledges.error.not_yet_open",
                vec![("at", at)],
            ))
        }
        _ => Error::Conflict(Message::Key("pledges.error.closed")),
    }
}

impl PledgeTarget {
    /// Whether new pledges (and increases) are taken at `now` ([`accepts_pledges`]). Checked
    /// again under the project's row lock by [`claim_for_reward_pledge`] and [`add_to_totals`].
    pub fn takes_pledges(&self, now: OffsetDateTime) -> bool {
        accepts_pledges(self.state, self.launched_at, self.deadline, now)
    }

    /// Whether it is live but its scheduled launch has not come yet.
    pub fn is_scheduled(&self, now: OffsetDateTime) -> bool {
        self.state == ProjectState::Live && self.launched_at.is_some_and(|l| l > now)
    }

    /// Ok when it takes pledges at `now`, else the refusal that says why (or when it opens).
    pub fn check_open(&self, now: OffsetDateTime) -> Result<()> {
        if self.takes_pledges(now) {
            Ok(())
        } else {
            Err(refusal(self.state, self.launched_at, now))
        }
    }
}

/// The project, unlocked (a plain read; the decisive checks happen in the conditional updates).
pub async fn pledge_target<'e>(
    db: impl PgExecutor<'e>,
    project: ProjectId,
) -> Result<Option<PledgeTarget>> {
    Ok(sqlx::query_as(
        "SELECT id, founder_id AS founder, title, kind, state, currency, deadline, launched_at
         FROM projects WHERE id = $1",
    )
    .bind(project)
    .fetch_optional(db)
    .await?)
}

/// A reward tier as a backer chooses it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TierOffer {
    pub id: TierId,
    pub title: String,
    pub description: String,
    pub price: Decimal,
    pub quantity_limit: Option<i32>,
    pub claimed: i32,
}

impl TierOffer {
    /// Units left, `None` when unlimited.
    pub fn remaining(&self) -> Option<i32> {
        self.quantity_limit.map(|l| (l - self.claimed).max(0))
    }
}

/// The project's tiers in display order, their texts in `lang` where the founder gave them in
/// it (else the original), for the pages a backer chooses on.
pub async fn tiers_in<'e>(
    db: impl PgExecutor<'e>,
    project: ProjectId,
    lang: crate::i18n::Lang,
) -> Result<Vec<TierOffer>> {
    Ok(sqlx::query_as(
        "SELECT t.id, COALESCE(tr.title, t.title) AS title,
                COALESCE(tr.description, t.description) AS description,
                t.price, t.quantity_limit, t.claimed
         FROM reward_tiers t
         LEFT JOIN tier_translations tr ON tr.tier_id = t.id AND tr.lang = $2
         WHERE t.project_id = $1 ORDER BY t.position, t.price, t.id",
    )
    .bind(project)
    .bind(lang.tag())
    .fetch_all(db)
    .await?)
}

/// The project as a pledge page shows it: [`pledge_target`] with its title in `lang` where the
/// founder gave it in it.
pub async fn pledge_target_in<'e>(
    db: impl PgExecutor<'e>,
    project: ProjectId,
    lang: crate::i18n::Lang,
) -> Result<Option<PledgeTarget>> {
    Ok(sqlx::query_as(
        "SELECT p.id, p.founder_id AS founder, COALESCE(tr.title, p.title) AS title, p.kind,
                p.state, p.currency, p.deadline, p.launched_at
         FROM projects p
         LEFT JOIN project_translations tr ON tr.project_id = p.id AND tr.lang = $2
         WHERE p.id = $1",
    )
    .bind(project)
    .bind(lang.tag())
    .fetch_optional(db)
    .await?)
}

/// The project's tiers in display order.
pub async fn tiers<'e>(db: impl PgExecutor<'e>, project: ProjectId) -> Result<Vec<TierOffer>> {
    Ok(sqlx::query_as(
        "SELECT id, title, description, price, quantity_limit, claimed FROM reward_tiers
         WHERE project_id = $1 ORDER BY position, price, id",
    )
    .bind(project)
    .fetch_all(db)
    .await?)
}

/// Claims one unit of a tier of `project` and returns its price. A sold-out tier is a 409
/// ("sold out"); a tier of another project is a 422.
pub async fn claim_tier_unit(
    conn: &mut PgConnection,
    project: ProjectId,
    tier: TierId,
) -> Result<Decimal> {
    let price: Option<Decimal> = sqlx::query_scalar(
        "UPDATE reward_tiers SET claimed = claimed + 1
         WHERE id = $1 AND project_id = $2 AND (quantity_limit IS NULL OR claimed < quantity_limit)
         RETURNING price",
    )
    .bind(tier)
    .bind(project)
    .fetch_optional(&mut *conn)
    .await?;
    if let Some(price) = price {
        return Ok(price);
    }
    let exists: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM reward_tiers WHERE id = $1 AND project_id = $2)",
    )
    .bind(tier)
    .bind(project)
    .fetch_one(&mut *conn)
    .await?;
    Err(if exists {
        Error::Conflict(Message::Key("pledges.error.sold_out"))
    } else {
        Error::Invalid(Message::Key("pledges.error.unknown_tier"))
    })
}

/// For a new reward pledge of `amount`: claims a unit of `tier` (if any) and adds the pledge to
/// the project's totals, in one statement, so the contended tier and totals rows are locked for
/// as short a time as possible. The project's row is only share-locked: pledges do not wait for
/// each other on it, but a freeze or the settlement (which update it) waits for them, and they
/// for it. Returns the tier's price. Refused as [`claim_tier_unit`] and [`add_to_totals`] refuse.
pub async fn claim_for_reward_pledge(
    conn: &mut PgConnection,
    project: ProjectId,
    tier: Option<TierId>,
    amount: Decimal,
) -> Result<Option<Decimal>> {
    let claim: Claim = sqlx::query_as(&format!(
        "WITH open AS (
             SELECT id FROM projects WHERE id = $1 AND {OPEN_SQL}
             FOR SHARE
         ), tier AS (
             UPDATE reward_tiers SET claimed = claimed + 1
             WHERE $2::uuid IS NOT NULL AND id = $2 AND project_id = $1
               AND (quantity_limit IS NULL OR claimed < quantity_limit)
               AND EXISTS (SELECT 1 FROM open)
             RETURNING price
         ), counted AS (
             UPDATE project_totals
                SET pledged_total = pledged_total + $3, backer_count = backer_count + 1
             WHERE project_id = $1 AND EXISTS (SELECT 1 FROM open)
               AND ($2::uuid IS NULL OR EXISTS (SELECT 1 FROM tier))
             RETURNING 1
         )
         SELECT (SELECT count(*) FROM open) AS open, (SELECT price FROM tier) AS price,
                (SELECT count(*) FROM counted) AS counted"
    ))
    .bind(project)
    .bind(tier)
    .bind(amount)
    .fetch_one(&mut *conn)
    .await?;
    match (tier, claim.price) {
        _ if claim.open == 0 => Err(closed_refusal(conn, project).await),
        (Some(tier), None) => {
            // Tell "sold out" from "not this project's tier" (this path changed nothing).
            claim_tier_unit(conn, project, tier).await?;
            Err(Error::Conflict(Message::Key("pledges.error.sold_out")))
        }
        _ if claim.counted == 0 => Err(Error::Internal(anyhow::anyhow!(
            "project {project:?} has no totals row"
        ))),
        (_, price) => Ok(price),
    }
}

/// What [`claim_for_reward_pledge`]'s statement did: whether the project was open, the claimed
/// tier's price, and whether the totals were counted.
#[derive(sqlx::FromRow)]
struct Claim {
    open: i64,
    price: Option<Decimal>,
    counted: i64,
}

/// Gives a claimed unit back (a cancelled or changed pledge).
pub async fn release_tier_unit(conn: &mut PgConnection, tier: TierId) -> Result<()> {
    sqlx::query("UPDATE reward_tiers SET claimed = claimed - 1 WHERE id = $1 AND claimed > 0")
        .bind(tier)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// An equity offering as an investor sees it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OfferingTerms {
    pub price_per_share: Decimal,
    pub min_shares_per_investor: i64,
    pub max_shares: i64,
    pub shares_sold: i64,
    pub max_investors: i32,
    pub investor_count: i32,
    pub risk_warning: String,
    pub security_type: String,
}

impl OfferingTerms {
    /// Shares still for sale.
    pub fn remaining(&self) -> i64 {
        (self.max_shares - self.shares_sold).max(0)
    }
}

/// The project's equity offering, if it has one.
pub async fn offering<'e>(
    db: impl PgExecutor<'e>,
    project: ProjectId,
) -> Result<Option<OfferingTerms>> {
    Ok(sqlx::query_as(
        "SELECT price_per_share, min_shares_per_investor, max_shares, shares_sold, max_investors,
                investor_count, risk_warning, security_type
         FROM equity_offerings WHERE project_id = $1",
    )
    .bind(project)
    .fetch_optional(db)
    .await?)
}

/// Claims `shares` more shares (negative gives shares back) and, for a new investor, a place
/// among the offering's investors; returns the price per share. Refused with a clear message
/// when fewer shares remain or the investor cap is reached.
pub async fn claim_shares(
    conn: &mut PgConnection,
    project: ProjectId,
    shares: i64,
    new_investor: bool,
) -> Result<Decimal> {
    let investors = i32::from(new_investor);
    let price: Option<Decimal> = sqlx::query_scalar(
        "UPDATE equity_offerings
         SET shares_sold = shares_sold + $2, investor_count = investor_count + $3
         WHERE project_id = $1 AND shares_sold + $2 <= max_shares
           AND investor_count + $3 <= max_investors
         RETURNING price_per_share",
    )
    .bind(project)
    .bind(shares)
    .bind(investors)
    .fetch_optional(&mut *conn)
    .await?;
    if let Some(price) = price {
        return Ok(price);
    }
    let terms = offering(&mut *conn, project)
        .await?
        .ok_or(Error::Invalid(Message::Key("pledges.error.not_equity")))?;
    Err(
        if new_investor && terms.investor_count >= terms.max_investors {
            Error::Conflict(Message::Key("pledges.error.investor_cap"))
        } else {
            Error::Conflict(Message::Key("pledges.error.shares_left"))
        },
    )
}

/// Gives shares back; `investor_leaves` when the investor's commitment ends.
pub async fn release_shares(
    conn: &mut PgConnection,
    project: ProjectId,
    shares: i64,
    investor_leaves: bool,
) -> Result<()> {
    sqlx::query(
        "UPDATE equity_offerings
         SET shares_sold = shares_sold - $2, investor_count = investor_count - $3
         WHERE project_id = $1",
    )
    .bind(project)
    .bind(shares)
    .bind(i32::from(investor_leaves))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Adds to `pledged_total` and `backer_count`. When `must_be_open` (a new or larger pledge), only
/// while the project is live and before its deadline, checked under a share lock on the project's
/// row, so a pledge racing a freeze or the deadline either lands before it or not at all.
pub async fn add_to_totals(
    conn: &mut PgConnection,
    project: ProjectId,
    amount: Decimal,
    backers: i32,
    must_be_open: bool,
) -> Result<()> {
    let updated = sqlx::query(&format!(
        "WITH open AS (
             SELECT id FROM projects WHERE id = $1 AND {OPEN_SQL}
             FOR SHARE
         )
         UPDATE project_totals
            SET pledged_total = pledged_total + $2, backer_count = backer_count + $3
         WHERE project_id = $1 AND (NOT $4 OR EXISTS (SELECT 1 FROM open))"
    ))
    .bind(project)
    .bind(amount)
    .bind(backers)
    .bind(must_be_open)
    .execute(&mut *conn)
    .await?;
    if updated.rows_affected() == 0 {
        return Err(closed_refusal(conn, project).await);
    }
    Ok(())
}

/// The refusal for a project a claim just found closed: when it opens, if it is scheduled.
async fn closed_refusal(conn: &mut PgConnection, project: ProjectId) -> Error {
    match pledge_target(&mut *conn, project).await {
        Ok(Some(target)) => refusal(target.state, target.launched_at, OffsetDateTime::now_utc()),
        Ok(None) => Error::NotFound,
        Err(e) => e,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::Duration;

    #[test]
    fn only_a_launched_live_project_before_its_deadline_accepts_pledges() {
        let now = OffsetDateTime::now_utc();
        let (past, future) = (
            Some(now - Duration::hours(1)),
            Some(now + Duration::hours(1)),
        );
        let cases = [
            (ProjectState::Live, past, future, true),
            (ProjectState::Live, future, future, false),
            (ProjectState::Live, None, future, false),
            (ProjectState::Live, past, past, false),
            (ProjectState::Frozen, past, future, false),
            (ProjectState::InReview, None, future, false),
            (ProjectState::Cancelled, past, future, false),
        ];
        for (state, launched_at, deadline, want) in cases {
            assert_eq!(
                accepts_pledges(state, launched_at, deadline, now),
                want,
                "{state:?} launched {launched_at:?} deadline {deadline:?}"
            );
        }
    }

    #[test]
    fn a_scheduled_project_says_when_it_opens_and_others_say_closed() {
        let now = OffsetDateTime::now_utc();
        let opens = time::macros::datetime!(2030-05-01 08:00 UTC);
        let catalogue = crate::i18n::Lang::En.catalogue();
        let scheduled = refusal(ProjectState::Live, Some(opens), now);
        // Conflict is the 409 refusal (see `http::error`'s mapping test).
        assert!(matches!(scheduled, crate::error::Error::Conflict(_)));
        assert!(scheduled
            .message()
            .in_lang(catalogue)
            .contains("2030-05-01T08:00:00Z"));
        let frozen = refusal(ProjectState::Frozen, Some(opens), now);
        assert_eq!(
            frozen.message().in_lang(catalogue),
            catalogue.get("pledges.error.closed")
        );
    }
}
