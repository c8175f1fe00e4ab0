-- ledger: what the log knows of each witness it submits checkpoints to (LEDGER_WITNESSES): the
-- size it last cosigned, and how the last attempts went, for the lag on /ledger and /metrics.
CREATE TABLE ledger_witness_peers (
    witness         text        NOT NULL CHECK (witness <> ''),
    key_id          bytea       NOT NULL CHECK (length(key_id) = 4),
    url             text        NOT NULL,
    cosigned_size   bigint      CHECK (cosigned_size >= 0),
    cosigned_at     timestamptz,
    last_attempt_at timestamptz,
    last_error      text,
    failures        integer     NOT NULL DEFAULT 0 CHECK (failures >= 0),
    PRIMARY KEY (witness, key_id)
);
