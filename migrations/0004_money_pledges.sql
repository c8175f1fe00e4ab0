-- Money (a double-entry journal over accounts, wallet top-ups) and pledges.
--
-- Invariants the database itself keeps:
--   * the postings of every journal entry sum to zero, in one currency (deferred constraint
--     trigger, checked at commit, so an entry's postings may be written in any order);
--   * an account's balance is the sum of its postings: both change in the same statement,
--     and the journal is append-only;
--   * no account but the external gateway goes below zero (CHECK on the balance);
--   * one active pledge per backer and project; a browser or API key makes at most one pledge.

CREATE TABLE money_accounts (
    id         uuid PRIMARY KEY,
    kind       text NOT NULL CHECK (kind IN (
                   'backer_wallet', 'project_escrow', 'founder_wallet', 'platform_fee', 'gateway')),
    -- The user (wallets), the project (escrow), or the nil uuid (platform fee, gateway).
    owner_id   uuid NOT NULL,
    currency   text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    balance    numeric(20, 2) NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT money_accounts_owner_key UNIQUE (kind, owner_id, currency),
    -- The gateway is the outside world: its balance is minus everything ever paid in.
    CONSTRAINT money_accounts_no_overdraft CHECK (kind = 'gateway' OR balance >= 0)
);

CREATE TABLE journal_entries (
    id         bigserial PRIMARY KEY,
    kind       text NOT NULL CHECK (kind ~ '^[a-z_]{1,40}$'),
    -- What the entry is about, e.g. `pledge:<uuid>` or `deposit:<uuid>`.
    reference  text NOT NULL CHECK (length(reference) BETWEEN 1 AND 200),
    -- Set when an entry must happen at most once (a gateway callback, a settlement step).
    once_key   text CHECK (length(once_key) BETWEEN 1 AND 200),
    memo       text NOT NULL DEFAULT '' CHECK (length(memo) <= 500),
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT journal_entries_once_key UNIQUE (once_key)
);
CREATE INDEX journal_entries_reference_idx ON journal_entries (reference);

CREATE TABLE journal_postings (
    id         bigserial PRIMARY KEY,
    entry_id   bigint NOT NULL REFERENCES journal_entries (id),
    account_id uuid NOT NULL REFERENCES money_accounts (id),
    -- Positive: the account receives; negative: the account pays.
    amount     numeric(20, 2) NOT NULL CHECK (amount <> 0)
);
CREATE INDEX journal_postings_entry_idx ON journal_postings (entry_id);
CREATE INDEX journal_postings_account_idx ON journal_postings (account_id, entry_id);

-- Checked at commit: each entry touched has at least two postings, summing to zero, in one
-- currency.
CREATE FUNCTION journal_entry_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    entry bigint;
    total numeric;
    postings bigint;
    currencies bigint;
BEGIN
    IF TG_TABLE_NAME = 'journal_entries' THEN
        entry := NEW.id;
    ELSE
        entry := NEW.entry_id;
    END IF;
    SELECT coalesce(sum(p.amount), 0), count(*), count(DISTINCT a.currency)
      INTO total, postings, currencies
      FROM journal_postings p JOIN money_accounts a ON a.id = p.account_id
     WHERE p.entry_id = entry;
    IF total <> 0 OR postings < 2 OR currencies <> 1 THEN
        RAISE EXCEPTION 'journal entry % does not balance (sum %, % postings, % currencies)',
            entry, total, postings, currencies
            USING ERRCODE = 'check_violation', CONSTRAINT = 'journal_entry_balanced';
    END IF;
    RETURN NULL;
END;
$$;
CREATE CONSTRAINT TRIGGER journal_postings_balanced AFTER INSERT ON journal_postings
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION journal_entry_balanced();
CREATE CONSTRAINT TRIGGER journal_entries_balanced AFTER INSERT ON journal_entries
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION journal_entry_balanced();

CREATE FUNCTION journal_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the journal is append-only: % on % refused', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END;
$$;
CREATE TRIGGER journal_entries_append_only BEFORE UPDATE OR DELETE ON journal_entries
    FOR EACH ROW EXECUTE FUNCTION journal_refuse_change();
CREATE TRIGGER journal_entries_no_truncate BEFORE TRUNCATE ON journal_entries
    FOR EACH STATEMENT EXECUTE FUNCTION journal_refuse_change();
CREATE TRIGGER journal_postings_append_only BEFORE UPDATE OR DELETE ON journal_postings
    FOR EACH ROW EXECUTE FUNCTION journal_refuse_change();
CREATE TRIGGER journal_postings_no_truncate BEFORE TRUNCATE ON journal_postings
    FOR EACH STATEMENT EXECUTE FUNCTION journal_refuse_change();

-- Wallet top-ups through a payment provider. A deposit is credited at most once: the crediting
-- journal entry carries once_key `deposit:<provider>:<reference>`.
CREATE TABLE wallet_deposits (
    id           uuid PRIMARY KEY,
    user_id      uuid NOT NULL REFERENCES users (id),
    provider     text NOT NULL,
    reference    text NOT NULL CHECK (length(reference) BETWEEN 1 AND 200),
    amount       numeric(20, 2) NOT NULL CHECK (amount > 0),
    currency     text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    state        text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'approved', 'declined')),
    entry_id     bigint REFERENCES journal_entries (id),
    created_at   timestamptz NOT NULL DEFAULT now(),
    completed_at timestamptz,
    CONSTRAINT wallet_deposits_reference_key UNIQUE (provider, reference)
);
CREATE INDEX wallet_deposits_user_idx ON wallet_deposits (user_id, created_at DESC);

-- What an investor declared about themselves; the 12-month equity limit is computed from it.
CREATE TABLE investor_profiles (
    user_id       uuid PRIMARY KEY REFERENCES users (id),
    annual_income numeric(20, 2) NOT NULL CHECK (annual_income >= 0),
    net_worth     numeric(20, 2) NOT NULL CHECK (net_worth >= 0),
    updated_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE pledges (
    id           uuid PRIMARY KEY,
    project_id   uuid NOT NULL REFERENCES projects (id),
    backer_id    uuid NOT NULL REFERENCES users (id),
    -- Reward pledges: the tier, or NULL for a pledge without reward.
    tier_id      uuid REFERENCES reward_tiers (id),
    amount       numeric(20, 2) NOT NULL CHECK (amount > 0),
    -- Equity commitments: the number of shares.
    shares       bigint CHECK (shares > 0),
    currency     text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    state        text NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'cancelled', 'collected', 'refunded')),
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    closed_at    timestamptz,
    CONSTRAINT pledges_tier_or_shares CHECK (tier_id IS NULL OR shares IS NULL)
);
CREATE UNIQUE INDEX pledges_one_active_per_backer ON pledges (project_id, backer_id) WHERE state = 'active';
CREATE INDEX pledges_project_idx ON pledges (project_id, state, id);
CREATE INDEX pledges_backer_idx ON pledges (backer_id, created_at DESC);

-- An Idempotency-Key (API) or one-time form key (browser) is claimed in the same transaction as
-- the pledge it makes: a rolled-back pledge releases its key.
CREATE TABLE pledge_request_keys (
    user_id      uuid NOT NULL REFERENCES users (id),
    key          text NOT NULL CHECK (length(key) BETWEEN 1 AND 255),
    request_hash bytea NOT NULL CHECK (length(request_hash) = 32),
    pledge_id    uuid NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, key)
);
