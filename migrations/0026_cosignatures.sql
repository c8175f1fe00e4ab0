-- Cosignatures the log's witnesses returned for its checkpoints (C2SP tlog-cosignature), kept
-- insert-only like the checkpoints they sign; the published checkpoint carries all of them.
CREATE TABLE ledger_cosignatures (
    size        bigint      NOT NULL REFERENCES ledger_checkpoints (size),
    witness     text        NOT NULL CHECK (witness <> ''),
    key_id      bytea       NOT NULL CHECK (length(key_id) = 4),
    -- The signature line, `— <name> <base64>`, without its newline.
    line        text        NOT NULL,
    -- The cosignature's own timestamp.
    cosigned_at timestamptz NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (size, witness, key_id)
);

CREATE TRIGGER ledger_cosignatures_append_only BEFORE UPDATE OR DELETE ON ledger_cosignatures
    FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();
CREATE TRIGGER ledger_cosignatures_no_truncate BEFORE TRUNCATE ON ledger_cosignatures
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change();
