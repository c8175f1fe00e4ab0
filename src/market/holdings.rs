//! What an investor holds: the shares of each company (a funded equity offering) from the
//! settlement room's register (`share_lots`), what they cost, and how many are past the lock-up
//! (`SECONDARY_LOCKUP_DAYS` from issue) and so may be offered in an auction. Settled trades add
//! to the buyer's holding and take from the seller's.

use rust_decimal::Decimal;
use serde::Serialize;
use sqlx::{PgConnection, PgPool};
use time::OffsetDateTime;

use crate::error::Result;
use crate::i18n::Lang;
use crate::ids::{ProjectId, UserId};

/// Most companies one holdings list shows.
pub const MAX_HOLDINGS: i64 = 500;

/// One company's shares held by one investor.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Holding {
    #[schema(value_type = String, format = Uuid)]
    pub project_id: ProjectId,
    /// The company's page is `/projects/{slug}`.
    pub slug: String,
    pub company: String,
    pub currency: String,
    pub shares: i64,
    /// What the shares cost when they were issued, two decimals.
    #[schema(value_type = String, example = "300.00")]
    pub cost: Decimal,
    /// Shares past the lock-up: those an auction may sell.
    pub sellable_shares: i64,
    /// When the last locked shares may be sold; absent when none are locked.
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub locked_until: Option<OffsetDateTime>,
    /// The last auction's clearing price; absent until an auction of the company has cleared.
    #[schema(value_type = Option<String>, example = "12.50")]
    pub last_price: Option<Decimal>,
}

/// A holder's lots: shares issued by settlement (free `lockup_days` after issue), bought in
/// auctions (free at once: they were past their lock-up when sold) and sold (taken from the free
/// ones). `$1` is the holder, `$2` the lock-up in days.
const LOTS: &str = "SELECT project_id, shares, shares * price_per_share AS cost,
                issued_at + make_interval(days => $2) AS free_at
           FROM share_lots WHERE holder_id = $1
         UNION ALL
         SELECT project_id, shares, shares * price, '-infinity'::timestamptz
           FROM market_trades WHERE buyer_id = $1 AND tx_hash IS NOT NULL
         UNION ALL
         SELECT project_id, -shares, NULL, '-infinity'::timestamptz
           FROM market_trades WHERE seller_id = $1 AND tx_hash IS NOT NULL";

fn days(lockup_days: u32) -> i32 {
    i32::try_from(lockup_days).unwrap_or(i32::MAX)
}

/// The holdings of `holder`, companies by name, shares locked for `lockup_days` from issue. The
/// cost is what the shares held cost on average (what was paid for all shares ever held, in
/// proportion); sellable shares are those past the lock-up less what open sell orders lock.
pub async fn holdings(db: &PgPool, holder: UserId, lockup_days: u32) -> Result<Vec<Holding>> {
    Ok(sqlx::query_as(&format!(
        "WITH lots AS ({LOTS}), locked AS (
             SELECT project_id, sum(shares) AS shares FROM market_orders
              WHERE user_id = $1 AND side = 'sell' AND released_at IS NULL
              GROUP BY project_id
         ), held AS (
             SELECT project_id, sum(shares) AS shares,
                    sum(cost) * sum(shares) / nullif(sum(shares) FILTER (WHERE shares > 0), 0)
                        AS cost,
                    coalesce(sum(shares) FILTER (WHERE free_at <= now()), 0) AS free,
                    max(free_at) FILTER (WHERE free_at > now()) AS locked_until
               FROM lots GROUP BY project_id HAVING sum(shares) > 0
         )
         SELECT l.project_id, h.slug, h.title AS company, h.currency,
                l.shares::int8 AS shares, round(l.cost, 2)::numeric(20, 2) AS cost,
                greatest(l.free - coalesce(k.shares, 0), 0)::int8 AS sellable_shares,
                l.locked_until,
                (SELECT a.clearing_price FROM auctions a
                  WHERE a.project_id = l.project_id AND a.clearing_price IS NOT NULL
                  ORDER BY a.cleared_at DESC LIMIT 1) AS last_price
           FROM held l JOIN project_headlines h ON h.id = l.project_id
           LEFT JOIN locked k ON k.project_id = l.project_id
          ORDER BY h.title, l.project_id
          LIMIT $3"
    ))
    .bind(holder)
    .bind(days(lockup_days))
    .bind(MAX_HOLDINGS)
    .fetch_all(db)
    .await?)
}

/// How many shares of `project` `holder` may offer now: those past the lock-up less what the
/// holder's sell orders still lock.
pub async fn unlocked_shares(
    conn: &mut PgConnection,
    holder: UserId,
    project: ProjectId,
    lockup_days: u32,
) -> Result<i64> {
    Ok(sqlx::query_scalar(&format!(
        "WITH lots AS ({LOTS})
         SELECT greatest(
                    coalesce((SELECT sum(shares) FROM lots
                               WHERE project_id = $3 AND free_at <= now()), 0)
                  - coalesce((SELECT sum(shares) FROM market_orders
                               WHERE user_id = $1 AND project_id = $3 AND side = 'sell'
                                 AND released_at IS NULL), 0),
                    0)::int8"
    ))
    .bind(holder)
    .bind(days(lockup_days))
    .bind(project)
    .fetch_one(&mut *conn)
    .await?)
}

/// One holder of a company's shares in its register now.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Holder {
    pub holder: UserId,
    pub shares: i64,
    /// Shares of them bought on the market, and shares sold there.
    pub bought: i64,
    pub sold: i64,
}

/// The register of `project` after every settled trade: each holder with shares, most shares
/// first (ties by holder, so the order is stable).
pub async fn register(db: impl sqlx::PgExecutor<'_>, project: ProjectId) -> Result<Vec<Holder>> {
    Ok(sqlx::query_as(
        "SELECT holder, sum(shares)::int8 AS shares, sum(bought)::int8 AS bought,
                sum(sold)::int8 AS sold
           FROM (SELECT holder_id AS holder, shares, 0 AS bought, 0 AS sold
                   FROM share_lots WHERE project_id = $1
                 UNION ALL
                 SELECT buyer_id, shares, shares, 0 FROM market_trades
                  WHERE project_id = $1 AND tx_hash IS NOT NULL
                 UNION ALL
                 SELECT seller_id, -shares, 0, shares FROM market_trades
                  WHERE project_id = $1 AND tx_hash IS NOT NULL) lots
          GROUP BY holder HAVING sum(shares) > 0
          ORDER BY shares DESC, holder",
    )
    .bind(project)
    .fetch_all(db)
    .await?)
}

/// Who holds shares of `project` now (its [`register`]).
pub async fn holders(conn: &mut PgConnection, project: ProjectId) -> Result<Vec<UserId>> {
    Ok(register(&mut *conn, project)
        .await?
        .into_iter()
        .map(|h| h.holder)
        .collect())
}

/// The [`register`] of `project` as CSV headed in `lang`, for its founder: investor, e-mail,
/// shares, bought and sold on the market.
pub async fn register_csv_text(db: &PgPool, project: ProjectId, lang: Lang) -> Result<String> {
    let register = register(db, project).await?;
    let ids: Vec<UserId> = register.iter().map(|h| h.holder).collect();
    let contacts = crate::accounts::contacts::of(db, &ids).await?;
    let rows = register.iter().map(|h| {
        let contact = contacts.get(&h.holder);
        vec![
            contact.map(|c| c.display_name.clone()).unwrap_or_default(),
            contact.map(|c| c.email.clone()).unwrap_or_default(),
            h.shares.to_string(),
            h.bought.to_string(),
            h.sold.to_string(),
        ]
    });
    Ok(crate::pledges::backers::csv(
        lang,
        &["investor", "email", "shares", "bought", "sold"],
        rows,
    ))
}
