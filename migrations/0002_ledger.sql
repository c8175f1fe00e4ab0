-- The public Merkle ledger (RFC 9162): leaves, complete-subtree hashes, signed checkpoints.
-- Everything but the head row is insert-only; triggers refuse UPDATE, DELETE and TRUNCATE.

CREATE TABLE ledger_head (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    size      bigint  NOT NULL CHECK (size >= 0),
    root      bytea   NOT NULL CHECK (length(root) = 32),
    -- Hashes of the complete subtrees covering [0, size), left to right: all an append needs.
    frontier  bytea[] NOT NULL
);
INSERT INTO ledger_head (size, root, frontier) VALUES (0, sha256(''::bytea), '{}');

CREATE TABLE ledger_leaves (
    idx         bigint PRIMARY KEY CHECK (idx >= 0),
    tx_hash     bytea  NOT NULL CHECK (length(tx_hash) = 32),
    leaf_hash   bytea  NOT NULL CHECK (length(leaf_hash) = 32),
    kind        text   NOT NULL CHECK (kind IN ('pledge_collected', 'pledge_refunded', 'payout', 'fee', 'shares_issued', 'supervision')),
    entry       text   NOT NULL,
    appended_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT ledger_leaves_tx_hash_key UNIQUE (tx_hash)
);

-- Complete subtrees of level >= 1 (level 0 is ledger_leaves.leaf_hash):
-- node (level, idx) covers leaves [idx * 2^level, (idx + 1) * 2^level).
CREATE TABLE ledger_nodes (
    level smallint NOT NULL CHECK (level BETWEEN 1 AND 63),
    idx   bigint   NOT NULL CHECK (idx >= 0),
    hash  bytea    NOT NULL CHECK (length(hash) = 32),
    PRIMARY KEY (level, idx)
);

CREATE TABLE ledger_checkpoints (
    size      bigint PRIMARY KEY CHECK (size >= 0),
    root      bytea  NOT NULL CHECK (length(root) = 32),
    note      text   NOT NULL,
    signed_at timestamptz NOT NULL DEFAULT now()
);

-- Who a ledger entry concerns, and the salt of their commitment (never published).
CREATE TABLE ledger_parties (
    tx_hash bytea NOT NULL REFERENCES ledger_leaves (tx_hash),
    user_id uuid  NOT NULL,
    salt    bytea NOT NULL CHECK (length(salt) = 32),
    PRIMARY KEY (tx_hash, user_id)
);
CREATE INDEX ledger_parties_user_idx ON ledger_parties (user_id);

CREATE FUNCTION ledger_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the ledger is append-only: % on % refused', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END;
$$;

CREATE TRIGGER ledger_leaves_append_only BEFORE UPDATE OR DELETE ON ledger_leaves
    FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();
CREATE TRIGGER ledger_leaves_no_truncate BEFORE TRUNCATE ON ledger_leaves
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change();
CREATE TRIGGER ledger_nodes_append_only BEFORE UPDATE OR DELETE ON ledger_nodes
    FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();
CREATE TRIGGER ledger_nodes_no_truncate BEFORE TRUNCATE ON ledger_nodes
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change();
CREATE TRIGGER ledger_checkpoints_append_only BEFORE UPDATE OR DELETE ON ledger_checkpoints
    FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();
CREATE TRIGGER ledger_checkpoints_no_truncate BEFORE TRUNCATE ON ledger_checkpoints
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change();
CREATE TRIGGER ledger_parties_append_only BEFORE UPDATE OR DELETE ON ledger_parties
    FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();
CREATE TRIGGER ledger_parties_no_truncate BEFORE TRUNCATE ON ledger_parties
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change();
-- The head may only grow.
CREATE FUNCTION ledger_head_only_grows() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'UPDATE' OR NEW.size < OLD.size THEN
        RAISE EXCEPTION 'the ledger head only grows: % refused', TG_OP
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER ledger_head_grows BEFORE UPDATE OR DELETE ON ledger_head
    FOR EACH ROW EXECUTE FUNCTION ledger_head_only_grows();
CREATE TRIGGER ledger_head_no_truncate BEFORE TRUNCATE ON ledger_head
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change();
