-- The exchange's orders, their clearing and their settlement (delivery versus payment).
--
-- A buy order holds shares x limit price of its buyer's wallet in the buyer's market escrow; a
-- sell order locks shares of its seller's holding. At the close the auction is cleared once: its
-- orders get their fills, its trades are written, and its result (clearing price, volume and the
-- Merkle root of the de-identified book) goes on the ledger. Trades then settle in batches, each
-- moving cash and shares together; last, every order lets go of what it still holds.

-- money: an investor's market escrow (owner_id is the investor), holding their buys' money.
ALTER TABLE money_accounts DROP CONSTRAINT money_accounts_kind_check;
ALTER TABLE money_accounts
    ADD CONSTRAINT money_accounts_kind_check
    CHECK (kind IN ('backer_wallet', 'project_escrow', 'founder_wallet', 'platform_fee',
                    'gateway', 'market_escrow'));

-- ledger: a trade, and an auction's result.
ALTER TABLE ledger_leaves DROP CONSTRAINT ledger_leaves_kind_check;
ALTER TABLE ledger_leaves
    ADD CONSTRAINT ledger_leaves_kind_check
    CHECK (kind IN ('pledge_collected', 'pledge_refunded', 'payout', 'fee', 'shares_issued',
                    'supervision', 'share_transfer', 'auction_cleared'));

-- market: the result of a window, written once when it is cleared; finished_at when every trade
-- has settled and every order has let go of its hold (also for a halted window).
ALTER TABLE auctions
    ADD COLUMN reference_price numeric(20, 2) CHECK (reference_price > 0),
    ADD COLUMN clearing_price  numeric(20, 2) CHECK (clearing_price > 0),
    ADD COLUMN volume          bigint CHECK (volume >= 0),
    ADD COLUMN book_size       bigint CHECK (book_size >= 0),
    ADD COLUMN book_root       bytea CHECK (length(book_root) = 32),
    ADD COLUMN cleared_tx      bytea CHECK (length(cleared_tx) = 32),
    ADD COLUMN finished_at     timestamptz,
    ADD CONSTRAINT auctions_result_check
        CHECK ((cleared_at IS NULL) = (book_root IS NULL)
               AND (cleared_at IS NULL) = (volume IS NULL)
               AND (clearing_price IS NULL OR cleared_at IS NOT NULL));
-- The clearing worker's queue: windows past their close (or halted) not yet finished.
CREATE INDEX auctions_unfinished_idx ON auctions (closes_at) WHERE finished_at IS NULL;

-- market: orders. `commitment` (SHA-256 of "zhonglian/party/v1", the order's salt and its owner)
-- stands for the owner in the published book; the salt goes only into the owner's receipt.
CREATE TABLE market_orders (
    id              uuid PRIMARY KEY,
    auction_id      uuid NOT NULL REFERENCES auctions (id),
    project_id      uuid NOT NULL REFERENCES projects (id),
    user_id         uuid NOT NULL REFERENCES users (id),
    side            text NOT NULL CHECK (side IN ('buy', 'sell')),
    shares          bigint NOT NULL CHECK (shares BETWEEN 1 AND 1000000000),
    limit_price     numeric(20, 2) NOT NULL CHECK (limit_price > 0 AND limit_price < 1000000000),
    currency        text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    -- A buy's money in the market escrow (shares x limit price); zero for a sell.
    held            numeric(20, 2) NOT NULL CHECK (held >= 0),
    salt            bytea NOT NULL CHECK (length(salt) = 32),
    commitment      text NOT NULL CHECK (commitment ~ '^[0-9a-f]{64}$'),
    placed_at       timestamptz NOT NULL DEFAULT clock_timestamp(),
    idempotency_key text CHECK (length(idempotency_key) BETWEEN 1 AND 255),
    -- open: in the book until the close; cancelled: by its owner before the close; excluded: a
    -- buy left out at clearing (the company's holder cap, or a halted window); cleared: in the
    -- published book, with its fill.
    state           text NOT NULL DEFAULT 'open'
                    CHECK (state IN ('open', 'cancelled', 'excluded', 'cleared')),
    filled          bigint CHECK (filled BETWEEN 0 AND shares),
    -- When the order let go of what it held (its money's rest, or its shares).
    released_at     timestamptz,
    CONSTRAINT market_orders_idempotency_key UNIQUE (user_id, idempotency_key),
    CHECK ((state = 'cleared') = (filled IS NOT NULL)),
    CHECK (side = 'buy' OR held = 0)
);
CREATE INDEX market_orders_auction_idx ON market_orders (auction_id, state);
CREATE INDEX market_orders_user_idx ON market_orders (user_id, placed_at DESC);
-- What a holder's sell orders lock, and a buyer's orders still holding money.
CREATE INDEX market_orders_holding_idx ON market_orders (user_id, project_id)
    WHERE released_at IS NULL;

-- market: trades, written when an auction clears; tx_hash (its share_transfer entry) and
-- settled_at when its cash and shares have moved.
CREATE TABLE market_trades (
    id         bigserial PRIMARY KEY,
    auction_id uuid NOT NULL REFERENCES auctions (id),
    project_id uuid NOT NULL REFERENCES projects (id),
    buy_order  uuid NOT NULL REFERENCES market_orders (id),
    sell_order uuid NOT NULL REFERENCES market_orders (id),
    buyer_id   uuid NOT NULL REFERENCES users (id),
    seller_id  uuid NOT NULL REFERENCES users (id),
    shares     bigint NOT NULL CHECK (shares > 0),
    price      numeric(20, 2) NOT NULL CHECK (price > 0),
    fee        numeric(20, 2) NOT NULL CHECK (fee >= 0),
    tx_hash    bytea UNIQUE CHECK (length(tx_hash) = 32),
    settled_at timestamptz,
    CHECK ((tx_hash IS NULL) = (settled_at IS NULL))
);
CREATE INDEX market_trades_unsettled_idx ON market_trades (auction_id, id) WHERE tx_hash IS NULL;
CREATE INDEX market_trades_buyer_idx ON market_trades (buyer_id, project_id) WHERE tx_hash IS NOT NULL;
CREATE INDEX market_trades_seller_idx ON market_trades (seller_id, project_id) WHERE tx_hash IS NOT NULL;

-- market: a company whose trading the regulator froze (its windows halted, none scheduled, no
-- orders taken) until it is unfrozen.
CREATE TABLE trading_freezes (
    project_id uuid PRIMARY KEY REFERENCES projects (id),
    frozen_at  timestamptz NOT NULL DEFAULT now(),
    reason     text NOT NULL CHECK (length(reason) BETWEEN 1 AND 2000)
);

-- market, read by pledges: what each investor bought on the market, for the 12-month limit. An
-- order still holding counts in full; a settled one at what it paid.
CREATE VIEW secondary_purchases AS
    SELECT o.user_id AS buyer_id, o.placed_at AS at,
           CASE WHEN o.released_at IS NULL THEN o.held
                ELSE coalesce(o.filled * a.clearing_price, 0)::numeric(20, 2) END AS amount
      FROM market_orders o JOIN auctions a ON a.id = o.auction_id
     WHERE o.side = 'buy';

-- supervision: freezing and unfreezing a company's trading names the company.
ALTER TABLE supervision_actions DROP CONSTRAINT supervision_actions_action_check;
ALTER TABLE supervision_actions
    ADD CONSTRAINT supervision_actions_action_check
    CHECK (action IN ('approve', 'reject', 'freeze', 'unfreeze', 'cancel',
                      'hide_comment', 'verify_identity', 'halt_auction',
                      'freeze_trading', 'unfreeze_trading'));
ALTER TABLE supervision_actions DROP CONSTRAINT supervision_actions_subject_check;
ALTER TABLE supervision_actions
    ADD CONSTRAINT supervision_actions_subject_check
    CHECK (CASE action
               WHEN 'hide_comment' THEN comment_id IS NOT NULL AND project_id IS NOT NULL
               WHEN 'verify_identity' THEN subject_user_id IS NOT NULL
               WHEN 'halt_auction' THEN auction_id IS NOT NULL AND project_id IS NOT NULL
               WHEN 'freeze_trading' THEN project_id IS NOT NULL
               WHEN 'unfreeze_trading' THEN project_id IS NOT NULL
               ELSE project_id IS NOT NULL AND from_state IS NOT NULL AND to_state IS NOT NULL
           END);

-- notify: a holder's or buyer's order traded.
ALTER TABLE notifications DROP CONSTRAINT notifications_kind_check;
ALTER TABLE notifications
    ADD CONSTRAINT notifications_kind_check
    CHECK (kind IN ('project_funded', 'project_failed', 'project_cancelled',
                    'regulator_approved', 'regulator_rejected', 'regulator_frozen',
                    'regulator_unfrozen', 'regulator_cancelled',
                    'comment_posted', 'comment_replied', 'comment_hidden',
                    'project_launched', 'deadline_near',
                    'withdrawal_completed', 'withdrawal_failed',
                    'identity_verified', 'order_filled')) NOT VALID;
ALTER TABLE notifications VALIDATE CONSTRAINT notifications_kind_check;
