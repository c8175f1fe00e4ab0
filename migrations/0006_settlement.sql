-- Settlement: outcomes, the ledger transactions of each settled pledge and project, the equity
-- share register, payouts to founders, and notifications.

-- Decided once, when a project leaves `live` for `settling`, so a resumed settlement keeps it.
ALTER TABLE projects ADD COLUMN settlement_outcome text
    CHECK (settlement_outcome IN ('funded', 'failed', 'refund'));

-- Each ledger transaction settlement made, tied to what it is about.
CREATE TABLE settlement_transactions (
    tx_hash    bytea PRIMARY KEY CHECK (length(tx_hash) = 32),
    project_id uuid NOT NULL REFERENCES projects (id),
    pledge_id  uuid REFERENCES pledges (id),
    kind       text NOT NULL CHECK (kind IN ('pledge_collected', 'pledge_refunded', 'payout', 'fee', 'shares_issued')),
    amount     numeric(20, 2),
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX settlement_transactions_project_idx ON settlement_transactions (project_id, kind, created_at);
-- A pledge is collected or refunded once, and gets shares once.
CREATE UNIQUE INDEX settlement_transactions_pledge_once ON settlement_transactions (pledge_id, kind)
    WHERE pledge_id IS NOT NULL;
-- A project has one fee and one payout.
CREATE UNIQUE INDEX settlement_transactions_project_once ON settlement_transactions (project_id, kind)
    WHERE pledge_id IS NULL;

-- Shares issued by funded equity offerings.
CREATE TABLE share_register (
    pledge_id       uuid PRIMARY KEY REFERENCES pledges (id),
    project_id      uuid NOT NULL REFERENCES projects (id),
    holder_id       uuid NOT NULL REFERENCES users (id),
    shares          bigint NOT NULL CHECK (shares > 0),
    price_per_share numeric(20, 2) NOT NULL CHECK (price_per_share > 0),
    tx_hash         bytea NOT NULL REFERENCES settlement_transactions (tx_hash),
    issued_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX share_register_project_idx ON share_register (project_id, holder_id);

-- Money leaving for a founder's bank account, idempotent by reference.
CREATE TABLE payouts (
    project_id   uuid PRIMARY KEY REFERENCES projects (id),
    founder_id   uuid NOT NULL REFERENCES users (id),
    amount       numeric(20, 2) NOT NULL CHECK (amount >= 0),
    currency     text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    provider     text NOT NULL,
    reference    text NOT NULL UNIQUE,
    state        text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'sent')),
    created_at   timestamptz NOT NULL DEFAULT now(),
    sent_at      timestamptz
);
CREATE INDEX payouts_pending_idx ON payouts (created_at) WHERE state = 'pending';

-- Messages to users: shown on their pages, also e-mailed through the configured sender.
CREATE TABLE notifications (
    id         bigserial PRIMARY KEY,
    user_id    uuid NOT NULL REFERENCES users (id),
    project_id uuid REFERENCES projects (id),
    kind       text NOT NULL,
    -- Values for the message template, e.g. the project's title and amounts.
    params     jsonb NOT NULL DEFAULT '{}',
    created_at timestamptz NOT NULL DEFAULT now(),
    read_at    timestamptz
);
CREATE INDEX notifications_user_idx ON notifications (user_id, created_at DESC);
-- The e-mail fan-out after a settlement pages through one project's notifications.
CREATE INDEX notifications_project_idx ON notifications (project_id, kind, id);

-- The balance check runs once per posting at commit. Planned against a fresh table's statistics
-- it would scan all postings each time, making a batch of n postings cost O(n^2); keep it on the
-- entry index however stale the statistics are.
ALTER FUNCTION journal_entry_balanced() SET enable_seqscan = off;
