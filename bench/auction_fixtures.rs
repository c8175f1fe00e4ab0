//! Load fixtures of the exchange, shared by the auction benchmark and the exchange's tests: an
//! open auction whose book holds a sell of every lot of a funded offering and many buys, every
//! buy's money really held in the market escrow, written set-wise.

use sqlx::PgPool;
use uuid::Uuid;
use zhonglian::money::{self, AccountOwner};

/// An auction made by [`open_auction_book`].
#[derive(Debug, Clone, Copy)]
pub struct Book {
    pub auction: Uuid,
    pub sells: i64,
    pub buys: i64,
}

/// An open auction of the funded offering `project` (founded by `founder`) whose book holds a
/// sell of every lot in its register and `buys` buys of one share by new investors, every buy's
/// money really held in their market escrow (a deposit and a hold per buyer in the journal).
/// Limits are spread from 8.00 to 12.00, so about half the shares cross. The holder cap is
/// lifted so that every buyer may join. Written set-wise: 100,000 orders take seconds.
pub async fn open_auction_book(
    db: &PgPool,
    project: Uuid,
    founder: Uuid,
    buys: i64,
) -> anyhow::Result<Book> {
    let tag = Uuid::new_v4().simple().to_string();
    let auction = Uuid::new_v4();
    let mut tx = db.begin().await?;
    sqlx::query("UPDATE equity_offerings SET max_investors = 1000000 WHERE project_id = $1")
        .bind(project)
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "INSERT INTO auctions (id, project_id, opens_at, closes_at, created_by)
         VALUES ($1, $2, now() - interval '1 hour', now() + interval '1 hour', $3)",
    )
    .bind(auction)
    .bind(project)
    .bind(founder)
    .execute(&mut *tx)
    .await?;
    // A commitment as the server writes one: SHA-256 of the tag, a random salt and the owner.
    let order_columns = "INSERT INTO market_orders (id, auction_id, project_id, user_id, side,
                             shares, limit_price, currency, held, salt, commitment, placed_at)";
    let sells = sqlx::query(&format!(
        "{order_columns}
         SELECT gen_random_uuid(), $1, $2, holder_id, 'sell', shares,
                (8 + random() * 4)::numeric(20, 2), 'CNY', 0, salt,
                encode(sha256('zhonglian/party/v1'::bytea || salt
                              || convert_to(holder_id::text, 'UTF8')), 'hex'),
                clock_timestamp()
           FROM (SELECT holder_id, shares,
                        decode(md5(random()::text) || md5(random()::text), 'hex') AS salt
                   FROM share_lots WHERE project_id = $2) lots"
    ))
    .bind(auction)
    .bind(project)
    .execute(&mut *tx)
    .await?
    .rows_affected() as i64;
    sqlx::query(
        "CREATE TEMP TABLE load_buyers ON COMMIT DROP AS
         SELECT gen_random_uuid() AS id, gen_random_uuid() AS wallet, gen_random_uuid() AS escrow,
                gen_random_uuid() AS order_id,
                nextval('journal_entries_id_seq') AS deposit_entry,
                nextval('journal_entries_id_seq') AS hold_entry,
                (8 + random() * 4)::numeric(20, 2) AS limit_price,
                decode(md5(random()::text) || md5(random()::text), 'hex') AS salt, g
           FROM generate_series(1, $1::bigint) g",
    )
    .bind(buys)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "INSERT INTO users (id, email, display_name, password_hash, roles)
         SELECT id, 'buyer-' || g || '-' || $1 || '@load.zhonglian', 'Buyer ' || g, '!', ARRAY['backer']
           FROM load_buyers",
    )
    .bind(&tag)
    .execute(&mut *tx)
    .await?;
    // A buyer's wallet ends at zero (deposit, then hold) and their escrow at the hold.
    sqlx::query(
        "INSERT INTO money_accounts (id, kind, owner_id, currency, balance)
         SELECT wallet, 'backer_wallet', id, 'CNY', 0 FROM load_buyers
         UNION ALL SELECT escrow, 'market_escrow', id, 'CNY', limit_price FROM load_buyers",
    )
    .execute(&mut *tx)
    .await?;
    let gateway = money::account_for(&mut tx, AccountOwner::Gateway, "CNY").await?;
    sqlx::query(
        "INSERT INTO journal_entries (id, kind, reference)
         SELECT deposit_entry, 'deposit', 'load:' || id FROM load_buyers
         UNION ALL
         SELECT hold_entry, 'order_hold', 'order:' || order_id FROM load_buyers",
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "INSERT INTO journal_postings (entry_id, account_id, amount)
         SELECT deposit_entry, $1, -limit_price FROM load_buyers
         UNION ALL SELECT deposit_entry, wallet, limit_price FROM load_buyers
         UNION ALL SELECT hold_entry, wallet, -limit_price FROM load_buyers
         UNION ALL SELECT hold_entry, escrow, limit_price FROM load_buyers",
    )
    .bind(gateway)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "UPDATE money_accounts SET balance = balance - (SELECT sum(limit_price) FROM load_buyers)
          WHERE id = $1",
    )
    .bind(gateway)
    .execute(&mut *tx)
    .await?;
    sqlx::query(&format!(
        "{order_columns}
         SELECT order_id, $1, $2, id, 'buy', 1, limit_price, 'CNY', limit_price, salt,
                encode(sha256('zhonglian/party/v1'::bytea || salt
                              || convert_to(id::text, 'UTF8')), 'hex'),
                clock_timestamp()
           FROM load_buyers ORDER BY g"
    ))
    .bind(auction)
    .bind(project)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Book {
        auction,
        sells,
        buys,
    })
}

/// Moves the auction's close into the past, as time passing would.
pub async fn close_auction(db: &PgPool, auction: Uuid) -> anyhow::Result<()> {
    sqlx::query(
        "UPDATE auctions SET opens_at = now() - interval '2 hours',
                             closes_at = now() - interval '1 second' WHERE id = $1",
    )
    .bind(auction)
    .execute(db)
    .await?;
    Ok(())
}
