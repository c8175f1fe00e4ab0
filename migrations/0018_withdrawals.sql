-- Withdrawals: money out of a backer's wallet to their bank account through the payment gateway.
--
-- A withdrawal debits the wallet when it is made (journal entry `withdrawal`, wallet -> gateway),
-- so the no-overdraft CHECK on money_accounts refuses one the balance does not cover, however
-- many arrive at once. It stays `pending` until the gateway confirms the payout: `completed`, or
-- `failed` with the money credited back (entry `withdrawal_returned`, gateway -> wallet, made at
-- most once through its once_key). A client's Idempotency-Key makes at most one withdrawal per
-- user: the key is claimed by the INSERT itself (UNIQUE (user_id, request_key)).
CREATE TABLE wallet_withdrawals (
    id              uuid PRIMARY KEY,
    user_id         uuid NOT NULL REFERENCES users (id),
    provider        text NOT NULL CHECK (length(provider) BETWEEN 1 AND 40),
    reference       text NOT NULL CHECK (length(reference) BETWEEN 1 AND 200),
    amount          numeric(20, 2) NOT NULL CHECK (amount > 0),
    currency        text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    -- The bank account, normalised: capital letters and digits only.
    account         text NOT NULL CHECK (account ~ '^[0-9A-Z]{8,34}$'),
    state           text NOT NULL DEFAULT 'pending'
                    CHECK (state IN ('pending', 'completed', 'failed')),
    request_key     text CHECK (length(request_key) BETWEEN 1 AND 255),
    -- SHA-256 of the request the key made, so a reuse with another body is told apart.
    request_hash    bytea NOT NULL CHECK (length(request_hash) = 32),
    entry_id        bigint REFERENCES journal_entries (id),
    return_entry_id bigint REFERENCES journal_entries (id),
    created_at      timestamptz NOT NULL DEFAULT now(),
    completed_at    timestamptz,
    CONSTRAINT wallet_withdrawals_reference_key UNIQUE (provider, reference),
    CONSTRAINT wallet_withdrawals_request_key UNIQUE (user_id, request_key),
    CONSTRAINT wallet_withdrawals_settled CHECK ((state = 'pending') = (completed_at IS NULL)),
    CONSTRAINT wallet_withdrawals_returned CHECK (return_entry_id IS NULL OR state = 'failed')
);
CREATE INDEX wallet_withdrawals_user_idx ON wallet_withdrawals (user_id, created_at DESC);
