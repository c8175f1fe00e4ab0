//! Pledges: a backer puts money behind a reward tier or commits to equity shares, changes or
//! cancels it inside the window, and settlement later collects or refunds it.
//!
//! Each pledge, change and cancellation is made in one database transaction that claims capacity
//! (tier unit, shares), moves the money between the backer's wallet and the project's escrow,
//! records the pledge and updates the project's totals; an answer is given only after it commits.
//! New pledges go through the [`Desk`], which makes those waiting for one project together.

pub mod api;
pub mod desk;
pub mod founder;
pub mod limits;
pub mod pages;
pub mod settle;

use rust_decimal::Decimal;
use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::{PgConnection, PgExecutor, PgPool};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::accounts::domain::UserId;
use crate::error::{Error, Message, Result};
use crate::money::{self, AccountOwner, EntryKind, Money, Transfer};
use crate::projects::capacity::{self, PledgeTarget};
use crate::projects::{ProjectId, ProjectKind, TierId};
pub use desk::Desk;
use limits::{InvestorLimitRule, Shares};

pub use crate::ids::PledgeId;

/// Where a pledge is: `active -> cancelled | collected | refunded`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PledgeState {
    Active,
    Cancelled,
    Collected,
    Refunded,
}

impl PledgeState {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            PledgeState::Active => "active",
            PledgeState::Cancelled => "cancelled",
            PledgeState::Collected => "collected",
            PledgeState::Refunded => "refunded",
        }
    }

    /// Parses a stored name.
    pub fn parse(raw: &str) -> Option<Self> {
        Some(match raw {
            "active" => PledgeState::Active,
            "cancelled" => PledgeState::Cancelled,
            "collected" => PledgeState::Collected,
            "refunded" => PledgeState::Refunded,
            _ => return None,
        })
    }
}

/// A pledge as stored.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Pledge {
    #[schema(value_type = String, format = Uuid)]
    pub id: PledgeId,
    #[schema(value_type = String, format = Uuid)]
    pub project_id: ProjectId,
    #[schema(value_type = String, format = Uuid)]
    pub backer_id: UserId,
    #[schema(value_type = Option<String>, format = Uuid)]
    pub tier_id: Option<TierId>,
    #[schema(value_type = String, example = "128.00")]
    #[serde(with = "rust_decimal::serde::str")]
    pub amount: Decimal,
    pub shares: Option<i64>,
    pub currency: String,
    pub state: PledgeState,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: OffsetDateTime,
}

const PLEDGE_COLUMNS: &str =
    "id, project_id, backer_id, tier_id, amount, shares, currency, state, created_at, updated_at";

type PledgeRow = (
    Uuid,
    Uuid,
    Uuid,
    Option<Uuid>,
    Decimal,
    Option<i64>,
    String,
    String,
    OffsetDateTime,
    OffsetDateTime,
);

fn from_row(row: PledgeRow) -> Result<Pledge> {
    let (id, project, backer, tier, amount, shares, currency, state, created_at, updated_at) = row;
    Ok(Pledge {
        id: PledgeId(id),
        project_id: ProjectId(project),
        backer_id: UserId(backer),
        tier_id: tier.map(TierId),
        amount,
        shares,
        currency,
        state: PledgeState::parse(&state)
            .ok_or_else(|| Error::Internal(anyhow::anyhow!("unknown pledge state {state}")))?,
        created_at,
        updated_at,
    })
}

/// What a backer asks for.
#[derive(Debug, Clone)]
pub enum PledgeRequest {
    /// A reward pledge: a tier (or none) and the total amount, at least the tier's price.
    Reward { tier: Option<TierId>, amount: Money },
    /// An equity commitment.
    Equity(EquityRequest),
}

/// An equity commitment's terms and the investor's declarations.
#[derive(Debug, Clone)]
pub struct EquityRequest {
    pub shares: Shares,
    /// The investor has read and accepted the offering's risk warning.
    pub risk_acknowledged: bool,
    /// Self-declared (annual income, net worth), stored; needed once.
    pub declaration: Option<(Decimal, Decimal)>,
}

impl PledgeRequest {
    /// A digest of what was asked, to tell a repeat from a different request under one key.
    fn digest(&self, project: ProjectId) -> Vec<u8> {
        let text = match self {
            PledgeRequest::Reward { tier, amount } => format!(
                "reward|{project}|{}|{}",
                tier.map(|t| t.to_string()).unwrap_or_default(),
                amount.to_fixed()
            ),
            PledgeRequest::Equity(e) => format!(
                "equity|{project}|{}|{}|{}",
                e.shares.get(),
                e.risk_acknowledged,
                e.declaration
                    .map(|(i, n)| format!("{i:.2}/{n:.2}"))
                    .unwrap_or_default()
            ),
        };
        Sha256::digest(text.as_bytes()).to_vec()
    }
}

/// An `Idempotency-Key` header or a form's one-time key.
#[derive(Debug, Clone)]
pub struct RequestKey(String);

impl RequestKey {
    /// 1 to 255 visible ASCII characters.
    pub fn parse(raw: &str) -> Result<Self> {
        let key = raw.trim();
        if key.is_empty() || key.len() > 255 || !key.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(Error::Malformed(Message::Key(
                "pledges.error.idempotency_key",
            )));
        }
        Ok(Self(key.to_owned()))
    }

    /// The key.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The outcome of [`create`].
#[derive(Debug, Clone)]
pub struct Created {
    pub pledge: Pledge,
    /// The key had already made this pledge; nothing new happened.
    pub replayed: bool,
}

fn commit_error(e: sqlx::Error) -> Error {
    match &e {
        sqlx::Error::Database(d) if d.constraint() == Some("journal_entry_balanced") => {
            Error::Internal(anyhow::anyhow!("unbalanced journal entry at commit: {e}"))
        }
        _ => Error::Database(e),
    }
}

/// The pledge a key already made, when asked again with the same request.
async fn replay(db: &PgPool, backer: UserId, key: &RequestKey, digest: &[u8]) -> Result<Created> {
    let (hash, pledge_id): (Vec<u8>, Uuid) = sqlx::query_as(
        "SELECT request_hash, pledge_id FROM pledge_request_keys WHERE user_id = $1 AND key = $2",
    )
    .bind(backer.0)
    .bind(key.as_str())
    .fetch_one(db)
    .await?;
    if hash != digest {
        return Err(Error::Invalid(Message::Key("pledges.error.key_reused")));
    }
    let pledge = find(db, PledgeId(pledge_id))
        .await?
        .ok_or_else(|| Error::Internal(anyhow::anyhow!("key names a missing pledge")))?;
    Ok(Created {
        pledge,
        replayed: true,
    })
}

async fn open_target(conn: &mut PgConnection, project: ProjectId) -> Result<PledgeTarget> {
    let target = capacity::pledge_target(&mut *conn, project)
        .await?
        .ok_or(Error::NotFound)?;
    target.check_open(OffsetDateTime::now_utc())?;
    Ok(target)
}

async fn create_in(
    conn: &mut PgConnection,
    rule: &InvestorLimitRule,
    id: PledgeId,
    backer: UserId,
    project: ProjectId,
    request: &PledgeRequest,
) -> Result<Pledge> {
    let target = open_target(conn, project).await?;
    if target.founder == backer {
        return Err(Error::Conflict(Message::Key("pledges.error.own_project")));
    }
    let wallet =
        money::account_for(conn, AccountOwner::BackerWallet(backer), &target.currency).await?;
    let escrow =
        money::account_for(conn, AccountOwner::ProjectEscrow(project), &target.currency).await?;
    let (tier, amount, shares) = match (request, target.kind) {
        (PledgeRequest::Reward { tier, amount }, ProjectKind::Reward) => (*tier, *amount, None),
        (PledgeRequest::Equity(equity), ProjectKind::Equity) => {
            let terms = capacity::offering(&mut *conn, project)
                .await?
                .ok_or(Error::Invalid(Message::Key("pledges.error.not_equity")))?;
            check_equity_terms(equity, terms.min_shares_per_investor)?;
            let amount =
                Money::try_from(terms.price_per_share * Decimal::from(equity.shares.get()))?;
            check_investor_limit(conn, rule, backer, equity.declaration, amount.value(), None)
                .await?;
            (None, amount, Some(equity.shares.get()))
        }
        (PledgeRequest::Reward { .. }, ProjectKind::Equity) => {
            return Err(Error::Invalid(Message::Key("pledges.error.not_reward")))
        }
        (PledgeRequest::Equity(_), ProjectKind::Reward) => {
            return Err(Error::Invalid(Message::Key("pledges.error.not_equity")))
        }
    };
    let pledge: PledgeRow = sqlx::query_as(&format!(
        "INSERT INTO pledges (id, project_id, backer_id, tier_id, amount, shares, currency)
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING {PLEDGE_COLUMNS}"
    ))
    .bind(id.0)
    .bind(project.0)
    .bind(backer.0)
    .bind(tier.map(|t| t.0))
    .bind(amount.value())
    .bind(shares)
    .bind(&target.currency)
    .fetch_one(&mut *conn)
    .await
    .map_err(pledge_error)?;
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
        if price.is_some_and(|p| amount.value() < p) {
            return Err(Error::Invalid(Message::Key("pledges.error.below_price")));
        }
    }
    from_row(pledge)
}

fn check_equity_terms(equity: &EquityRequest, min_per_investor: i64) -> Result<()> {
    if !equity.risk_acknowledged {
        return Err(Error::Invalid(Message::Key("pledges.error.risk")));
    }
    if equity.shares.get() < min_per_investor {
        return Err(Error::Invalid(Message::Text(format!(
            "Commit to at least {min_per_investor} shares."
        ))));
    }
    Ok(())
}

/// Checks the investor's 12-month limit with `amount` more, holding the investor's profile row
/// locked until the transaction ends, so two concurrent commitments by one investor are counted
/// one after the other. `excluding` leaves out a pledge being changed.
async fn check_investor_limit(
    conn: &mut PgConnection,
    rule: &InvestorLimitRule,
    investor: UserId,
    declaration: Option<(Decimal, Decimal)>,
    amount: Decimal,
    excluding: Option<PledgeId>,
) -> Result<()> {
    let profile: Option<(Decimal, Decimal)> = match declaration {
        Some((income, net_worth)) => {
            if income < Decimal::ZERO || net_worth < Decimal::ZERO {
                return Err(Error::Invalid(Message::Key("pledges.error.declaration")));
            }
            Some(
                sqlx::query_as(
                    "INSERT INTO investor_profiles (user_id, annual_income, net_worth)
                     VALUES ($1, $2, $3)
                     ON CONFLICT (user_id) DO UPDATE
                     SET annual_income = EXCLUDED.annual_income, net_worth = EXCLUDED.net_worth,
                         updated_at = now()
                     RETURNING annual_income, net_worth",
                )
                .bind(investor.0)
                .bind(income.round_dp(2))
                .bind(net_worth.round_dp(2))
                .fetch_one(&mut *conn)
                .await?,
            )
        }
        None => {
            sqlx::query_as(
                "SELECT annual_income, net_worth FROM investor_profiles WHERE user_id = $1
                 FOR UPDATE",
            )
            .bind(investor.0)
            .fetch_optional(&mut *conn)
            .await?
        }
    };
    let (income, net_worth) =
        profile.ok_or(Error::Invalid(Message::Key("pledges.error.declaration")))?;
    let limit = rule.limit(income, net_worth);
    let committed: Decimal = sqlx::query_scalar(
        "SELECT coalesce(sum(amount), 0) FROM pledges
         WHERE backer_id = $1 AND shares IS NOT NULL AND state IN ('active', 'collected')
           AND created_at > now() - interval '12 months' AND id IS DISTINCT FROM $2",
    )
    .bind(investor.0)
    .bind(excluding.map(|p| p.0))
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

fn pledge_error(e: sqlx::Error) -> Error {
    match &e {
        sqlx::Error::Database(d) if d.constraint() == Some("pledges_one_active_per_backer") => {
            Error::Conflict(Message::Key("pledges.error.already_backing"))
        }
        _ => Error::Database(e),
    }
}

/// A pledge by id.
pub async fn find<'e>(db: impl PgExecutor<'e>, id: PledgeId) -> Result<Option<Pledge>> {
    let row: Option<PledgeRow> = sqlx::query_as(&format!(
        "SELECT {PLEDGE_COLUMNS} FROM pledges WHERE id = $1"
    ))
    .bind(id.0)
    .fetch_optional(db)
    .await?;
    row.map(from_row).transpose()
}

/// Locks a backer's own active pledge for a change; others' pledges are "not found".
async fn lock_own_active(
    conn: &mut PgConnection,
    backer: UserId,
    id: PledgeId,
) -> Result<(Pledge, PledgeTarget)> {
    let row: Option<PledgeRow> = sqlx::query_as(&format!(
        "SELECT {PLEDGE_COLUMNS} FROM pledges WHERE id = $1 AND backer_id = $2 FOR UPDATE"
    ))
    .bind(id.0)
    .bind(backer.0)
    .fetch_optional(&mut *conn)
    .await?;
    let pledge = from_row(row.ok_or(Error::NotFound)?)?;
    if pledge.state != PledgeState::Active {
        return Err(Error::Conflict(Message::Key("pledges.error.not_active")));
    }
    let target = capacity::pledge_target(&mut *conn, pledge.project_id)
        .await?
        .ok_or(Error::NotFound)?;
    Ok((pledge, target))
}

/// How long before the deadline equity commitments can still be changed or cancelled.
pub const EQUITY_CHANGE_CUTOFF: time::Duration = time::Duration::hours(48);

/// Until when a pledge on this project may be changed or cancelled: the deadline for rewards,
/// 48 hours before it for equity.
pub fn change_window_end(target: &PledgeTarget) -> Option<OffsetDateTime> {
    target.deadline.map(|d| match target.kind {
        ProjectKind::Reward => d,
        ProjectKind::Equity => d - EQUITY_CHANGE_CUTOFF,
    })
}

fn check_window(target: &PledgeTarget) -> Result<()> {
    use crate::projects::ProjectState;
    let now = OffsetDateTime::now_utc();
    if target.is_scheduled(now) {
        return Err(capacity::refusal(target.state, target.launched_at, now));
    }
    let open_state = matches!(target.state, ProjectState::Live | ProjectState::Frozen);
    let in_time = change_window_end(target).is_some_and(|end| now < end);
    if !open_state || !in_time {
        return Err(Error::Conflict(Message::Key(match target.kind {
            ProjectKind::Reward => "pledges.error.window_reward",
            ProjectKind::Equity => "pledges.error.window_equity",
        })));
    }
    Ok(())
}

/// A change to an active pledge.
#[derive(Debug, Clone)]
pub enum PledgeChange {
    /// A reward pledge's new tier (or none) and new total amount.
    Reward { tier: Option<TierId>, amount: Money },
    /// An equity commitment's new number of shares.
    Equity { shares: Shares },
}

/// How many times a pledge, change or cancellation is tried again after PostgreSQL broke a
/// deadlock.
pub(crate) const DEADLOCK_RETRIES: u32 = 3;

/// Whether PostgreSQL broke a deadlock by rolling this transaction back.
pub(crate) fn is_deadlock(e: &Error) -> bool {
    matches!(e, Error::Database(sqlx::Error::Database(d)) if d.code().as_deref() == Some("40P01"))
}

/// A deadlock that outlasted its retries is a busy server (503 with `Retry-After`), not a fault.
pub(crate) fn busy_if_deadlock(e: Error) -> Error {
    if is_deadlock(&e) {
        tracing::warn!("pledge transaction still deadlocked after its retries; answering busy");
        Error::Unavailable
    } else {
        e
    }
}

/// Runs a pledge transaction, again after a deadlock (another pledge, a settlement batch or
/// a regulator's action took the same rows in another order; the whole transaction rolled back,
/// so trying again is safe), at most `DEADLOCK_RETRIES` more times.
async fn retrying_deadlocks<T, F, Fut>(mut attempt: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T>>,
{
    let mut retries = 0;
    loop {
        match attempt().await {
            Err(e) if is_deadlock(&e) && retries < DEADLOCK_RETRIES => {
                retries += 1;
                tracing::warn!(attempt = retries, "pledge transaction deadlocked; retrying");
                tokio::time::sleep(std::time::Duration::from_millis(5 << retries)).await;
            }
            outcome => return outcome.map_err(busy_if_deadlock),
        }
    }
}

/// Changes an active pledge inside its window: the tier unit or shares are exchanged and the
/// difference moves between wallet and escrow at once, in one transaction.
pub async fn change(
    db: &PgPool,
    rule: &InvestorLimitRule,
    backer: UserId,
    id: PledgeId,
    change: &PledgeChange,
) -> Result<Pledge> {
    retrying_deadlocks(|| change_once(db, rule, backer, id, change)).await
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
    let (new_tier, new_amount, new_shares) = match (change, target.kind) {
        (PledgeChange::Reward { tier, amount }, ProjectKind::Reward) => {
            if *tier != pledge.tier_id {
                if let Some(old) = pledge.tier_id {
                    capacity::release_tier_unit(&mut tx, old).await?;
                }
            }
            if let Some(new) = tier {
                let price = if Some(*new) == pledge.tier_id {
                    capacity::tiers(&mut *tx, target.id)
                        .await?
                        .into_iter()
                        .find(|t| t.id == *new)
                        .map(|t| t.price)
                        .ok_or(Error::Invalid(Message::Key("pledges.error.unknown_tier")))?
                } else {
                    capacity::claim_tier_unit(&mut tx, target.id, *new).await?
                };
                if amount.value() < price {
                    return Err(Error::Invalid(Message::Key("pledges.error.below_price")));
                }
            }
            (*tier, amount.value(), None)
        }
        (PledgeChange::Equity { shares }, ProjectKind::Equity) => {
            let terms = capacity::offering(&mut *tx, target.id)
                .await?
                .ok_or(Error::Invalid(Message::Key("pledges.error.not_equity")))?;
            check_equity_terms(
                &EquityRequest {
                    shares: *shares,
                    risk_acknowledged: true,
                    declaration: None,
                },
                terms.min_shares_per_investor,
            )?;
            let amount = terms.price_per_share * Decimal::from(shares.get());
            check_investor_limit(&mut tx, rule, backer, None, amount, Some(id)).await?;
            let delta = shares.get() - pledge.shares.unwrap_or(0);
            if delta != 0 {
                capacity::claim_shares(&mut tx, target.id, delta, false).await?;
            }
            (None, Money::try_from(amount)?.value(), Some(shares.get()))
        }
        _ => return Err(Error::Invalid(Message::Key("pledges.error.wrong_kind"))),
    };
    let delta = new_amount - pledge.amount;
    if !delta.is_zero() {
        let wallet = money::account_for(
            &mut tx,
            AccountOwner::BackerWallet(backer),
            &target.currency,
        )
        .await?;
        let escrow = money::account_for(
            &mut tx,
            AccountOwner::ProjectEscrow(target.id),
            &target.currency,
        )
        .await?;
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
    let row: PledgeRow = sqlx::query_as(&format!(
        "UPDATE pledges SET tier_id = $2, amount = $3, shares = $4, updated_at = now()
         WHERE id = $1 RETURNING {PLEDGE_COLUMNS}"
    ))
    .bind(id.0)
    .bind(new_tier.map(|t| t.0))
    .bind(new_amount)
    .bind(new_shares)
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await.map_err(commit_error)?;
    from_row(row)
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
    let wallet = money::account_for(
        &mut tx,
        AccountOwner::BackerWallet(backer),
        &pledge.currency,
    )
    .await?;
    let escrow = money::account_for(
        &mut tx,
        AccountOwner::ProjectEscrow(target.id),
        &pledge.currency,
    )
    .await?;
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
    let row: PledgeRow = sqlx::query_as(&format!(
        "UPDATE pledges SET state = 'cancelled', updated_at = now(), closed_at = now()
         WHERE id = $1 RETURNING {PLEDGE_COLUMNS}"
    ))
    .bind(id.0)
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await.map_err(commit_error)?;
    from_row(row)
}

/// A pledge with what the backer's list shows of its project.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PledgeView {
    #[serde(flatten)]
    pub pledge: Pledge,
    pub project_title: String,
    pub tier_title: Option<String>,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub changeable_until: Option<OffsetDateTime>,
}

/// A backer's pledges, newest first.
pub async fn for_backer(db: &PgPool, backer: UserId) -> Result<Vec<PledgeView>> {
    type ViewRow = (
        Uuid,
        Uuid,
        Uuid,
        Option<Uuid>,
        Decimal,
        Option<i64>,
        String,
        String,
        OffsetDateTime,
        OffsetDateTime,
        String,
        Option<String>,
        String,
        Option<OffsetDateTime>,
    );
    let rows: Vec<ViewRow> = sqlx::query_as(
        "SELECT p.id, p.project_id, p.backer_id, p.tier_id, p.amount, p.shares, p.currency,
                p.state, p.created_at, p.updated_at, pr.title, t.title, pr.kind, pr.deadline
         FROM pledges p JOIN projects pr ON pr.id = p.project_id
         LEFT JOIN reward_tiers t ON t.id = p.tier_id
         WHERE p.backer_id = $1 ORDER BY p.created_at DESC, p.id LIMIT 500",
    )
    .bind(backer.0)
    .fetch_all(db)
    .await?;
    rows.into_iter()
        .map(|r| {
            let pledge = from_row((r.0, r.1, r.2, r.3, r.4, r.5, r.6, r.7, r.8, r.9))?;
            let changeable_until = r.13.map(|d| match ProjectKind::parse(&r.12) {
                Some(ProjectKind::Equity) => d - EQUITY_CHANGE_CUTOFF,
                _ => d,
            });
            Ok(PledgeView {
                pledge,
                project_title: r.10,
                tier_title: r.11,
                changeable_until,
            })
        })
        .collect()
}

/// Active pledges of a project in id order, `limit` at a time after `after`: settlement walks a
/// project of 200,000 pledges in batches without holding them all in memory.
pub async fn active_for_project(
    conn: &mut PgConnection,
    project: ProjectId,
    after: Option<PledgeId>,
    limit: i64,
) -> Result<Vec<Pledge>> {
    let rows: Vec<PledgeRow> = sqlx::query_as(&format!(
        "SELECT {PLEDGE_COLUMNS} FROM pledges
         WHERE project_id = $1 AND state = 'active' AND id > $2
         ORDER BY id LIMIT $3"
    ))
    .bind(project.0)
    .bind(after.map(|p| p.0).unwrap_or_else(Uuid::nil))
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?;
    rows.into_iter().map(from_row).collect()
}

/// Moves one pledge from `from` to `to` (e.g. active -> collected). Returns false, changing
/// nothing, when the pledge was not in `from`: a second settlement pass finds nothing to do.
pub async fn set_state(
    conn: &mut PgConnection,
    id: PledgeId,
    from: PledgeState,
    to: PledgeState,
) -> Result<bool> {
    let updated = sqlx::query(
        "UPDATE pledges SET state = $3, updated_at = now(), closed_at = now()
         WHERE id = $1 AND state = $2",
    )
    .bind(id.0)
    .bind(from.as_str())
    .bind(to.as_str())
    .execute(&mut *conn)
    .await?;
    Ok(updated.rows_affected() == 1)
}

/// Moves every active pledge of a project to `to` (collected or refunded) and returns how many
/// moved; for settlement, in its one transaction, after it has moved their money.
pub async fn close_all_active(
    conn: &mut PgConnection,
    project: ProjectId,
    to: PledgeState,
) -> Result<u64> {
    let updated = sqlx::query(
        "UPDATE pledges SET state = $2, updated_at = now(), closed_at = now()
         WHERE project_id = $1 AND state = 'active'",
    )
    .bind(project.0)
    .bind(to.as_str())
    .execute(&mut *conn)
    .await?;
    Ok(updated.rows_affected())
}

/// Whether `backer` has pledged to `project` (and not cancelled): who may read backers-only
/// updates.
pub async fn has_backed(db: &PgPool, backer: UserId, project: ProjectId) -> Result<bool> {
    Ok(sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM pledges
                         WHERE backer_id = $1 AND project_id = $2 AND state <> 'cancelled')",
    )
    .bind(backer.0)
    .bind(project.0)
    .fetch_one(db)
    .await?)
}
