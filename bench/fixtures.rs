//! Load fixtures shared by the settlement benchmark and the settlement tests: a live project
//! backed by many pledges, with every pledge's money really in escrow (a deposit and a hold per
//! backer in the journal), written set-wise so 200,000 pledges take seconds, not minutes.

use rust_decimal::Decimal;
use sqlx::PgPool;
use uuid::Uuid;
use zhonglian::money::{self, AccountOwner};
use zhonglian::projects::ProjectId;

/// A project made by [`backed_project`].
#[derive(Debug, Clone, Copy)]
pub struct Backed {
    pub project: Uuid,
    pub founder: Uuid,
}

/// What kind of project to back.
#[derive(Debug, Clone, Copy)]
pub enum Shape {
    /// A reward project with one unlimited tier at `amount`.
    Reward,
    /// An equity offering at `amount` per share, each backer taking 1 share; funded at
    /// `min_shares`.
    Equity { min_shares: i64 },
}

/// A live project (deadline in an hour) with `pledges` backers pledging `amount` each.
pub async fn backed_project(
    db: &PgPool,
    pledges: i64,
    amount: Decimal,
    goal: Decimal,
    shape: Shape,
) -> anyhow::Result<Backed> {
    let tag = Uuid::new_v4().simple().to_string();
    let founder = Uuid::new_v4();
    let project = Uuid::new_v4();
    let mut tx = db.begin().await?;
    sqlx::query(
        "INSERT INTO users (id, email, display_name, password_hash, roles)
         VALUES ($1, $2, 'Load founder', '!', ARRAY['founder'])",
    )
    .bind(founder)
    .bind(format!("founder-{tag}@load.zhonglian"))
    .execute(&mut *tx)
    .await?;
    let kind = match shape {
        Shape::Reward => "reward",
        Shape::Equity { .. } => "equity",
    };
    sqlx::query(
        "INSERT INTO projects (id, founder_id, slug, title, category, kind, state, goal, deadline, launched_at)
         VALUES ($1, $2, $3, $4, 'technology', $5, 'live', $6, now() + interval '1 hour', now())",
    )
    .bind(project)
    .bind(founder)
    .bind(format!("load-{tag}"))
    .bind(format!("Load test {tag}"))
    .bind(kind)
    .bind(goal)
    .execute(&mut *tx)
    .await?;
    let tier = Uuid::new_v4();
    match shape {
        Shape::Reward => {
            sqlx::query(
                "INSERT INTO reward_tiers (id, project_id, title, price, claimed) VALUES ($1, $2, 'Backer', $3, $4)",
            )
            .bind(tier)
            .bind(project)
            .bind(amount)
            .bind(pledges as i32)
            .execute(&mut *tx)
            .await?;
        }
        Shape::Equity { min_shares } => {
            sqlx::query(
                "INSERT INTO equity_offerings (project_id, price_per_share, min_shares, max_shares,
                     pre_money_valuation, security_type, risk_warning, max_investors, shares_sold, investor_count)
                 VALUES ($1, $2, $3, $4, 1000000, 'ordinary_shares', 'Investing is risky.', $5, $6, $6)",
            )
            .bind(project)
            .bind(amount)
            .bind(min_shares)
            .bind(pledges.max(min_shares) * 2)
            .bind(pledges.max(1) as i32)
            .bind(pledges)
            .execute(&mut *tx)
            .await?;
        }
    }
    sqlx::query(
        "CREATE TEMP TABLE load_backers ON COMMIT DROP AS
         SELECT gen_random_uuid() AS id, gen_random_uuid() AS wallet, gen_random_uuid() AS pledge,
                nextval('journal_entries_id_seq') AS deposit_entry,
                nextval('journal_entries_id_seq') AS hold_entry, g
           FROM generate_series(1, $1::bigint) g",
    )
    .bind(pledges)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "INSERT INTO users (id, email, display_name, password_hash, roles)
         SELECT id, 'backer-' || g || '-' || $1 || '@load.zhonglian', 'Backer ' || g, '!', ARRAY['backer']
           FROM load_backers",
    )
    .bind(&tag)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "INSERT INTO money_accounts (id, kind, owner_id, currency)
         SELECT wallet, 'backer_wallet', id, 'CNY' FROM load_backers",
    )
    .execute(&mut *tx)
    .await?;
    let gateway = money::account_for(&mut tx, AccountOwner::Gateway, "CNY").await?;
    let escrow = money::account_for(
        &mut tx,
        AccountOwner::ProjectEscrow(ProjectId(project)),
        "CNY",
    )
    .await?;
    // Each backer: a deposit (gateway -> wallet) and a hold (wallet -> escrow). Entry ids are
    // drawn up front so the postings need no join back to their entries.
    sqlx::query(
        "INSERT INTO journal_entries (id, kind, reference)
         SELECT deposit_entry, 'deposit', 'load:' || id FROM load_backers
         UNION ALL
         SELECT hold_entry, 'pledge_hold', 'pledge:' || pledge FROM load_backers",
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "INSERT INTO journal_postings (entry_id, account_id, amount)
         SELECT deposit_entry, $1, -$3 FROM load_backers
         UNION ALL SELECT deposit_entry, wallet, $3 FROM load_backers
         UNION ALL SELECT hold_entry, wallet, -$3 FROM load_backers
         UNION ALL SELECT hold_entry, $2, $3 FROM load_backers",
    )
    .bind(gateway)
    .bind(escrow)
    .bind(amount)
    .execute(&mut *tx)
    .await?;
    let total = amount * Decimal::from(pledges);
    sqlx::query("UPDATE money_accounts SET balance = balance - $2 WHERE id = $1")
        .bind(gateway)
        .bind(total)
        .execute(&mut *tx)
        .await?;
    sqlx::query("UPDATE money_accounts SET balance = balance + $2 WHERE id = $1")
        .bind(escrow)
        .bind(total)
        .execute(&mut *tx)
        .await?;
    let (tier_id, shares) = match shape {
        Shape::Reward => (Some(tier), None),
        Shape::Equity { .. } => (None, Some(1i64)),
    };
    sqlx::query(
        "INSERT INTO pledges (id, project_id, backer_id, tier_id, amount, shares, currency)
         SELECT pledge, $1, id, $2, $3, $4, 'CNY' FROM load_backers",
    )
    .bind(project)
    .bind(tier_id)
    .bind(amount)
    .bind(shares)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "UPDATE project_totals SET pledged_total = $2, backer_count = $3 WHERE project_id = $1",
    )
    .bind(project)
    .bind(total)
    .bind(pledges as i32)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Backed { project, founder })
}

/// Moves the project's deadline into the past, as time passing would.
pub async fn make_due(db: &PgPool, project: Uuid) -> anyhow::Result<()> {
    sqlx::query("UPDATE projects SET deadline = now() - interval '1 second' WHERE id = $1")
        .bind(project)
        .execute(db)
        .await?;
    Ok(())
}
