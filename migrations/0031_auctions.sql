-- market: the call auctions an issuer schedules for its company's shares. A window takes orders
-- from opens_at to closes_at; the regulator may halt it before it clears; cleared_at is written
-- once, by the worker that clears it. Windows of one company never overlap (checked under a
-- per-company lock when one is scheduled).
CREATE TABLE auctions (
    id          uuid PRIMARY KEY,
    project_id  uuid NOT NULL REFERENCES projects (id),
    opens_at    timestamptz NOT NULL,
    closes_at   timestamptz NOT NULL,
    created_by  uuid NOT NULL REFERENCES users (id),
    created_at  timestamptz NOT NULL DEFAULT now(),
    halted_at   timestamptz,
    halt_reason text CHECK (length(halt_reason) BETWEEN 1 AND 2000),
    cleared_at  timestamptz,
    CHECK (closes_at > opens_at),
    CHECK ((halted_at IS NULL) = (halt_reason IS NULL)),
    CHECK (halted_at IS NULL OR cleared_at IS NULL)
);
CREATE INDEX auctions_project_idx ON auctions (project_id, opens_at);

-- supervision: halting an auction names the auction (and its company).
ALTER TABLE supervision_actions ADD COLUMN auction_id uuid REFERENCES auctions (id);
ALTER TABLE supervision_actions DROP CONSTRAINT supervision_actions_action_check;
ALTER TABLE supervision_actions
    ADD CONSTRAINT supervision_actions_action_check
    CHECK (action IN ('approve', 'reject', 'freeze', 'unfreeze', 'cancel',
                      'hide_comment', 'verify_identity', 'halt_auction'));
ALTER TABLE supervision_actions DROP CONSTRAINT supervision_actions_subject_check;
ALTER TABLE supervision_actions
    ADD CONSTRAINT supervision_actions_subject_check
    CHECK (CASE action
               WHEN 'hide_comment' THEN comment_id IS NOT NULL AND project_id IS NOT NULL
               WHEN 'verify_identity' THEN subject_user_id IS NOT NULL
               WHEN 'halt_auction' THEN auction_id IS NOT NULL AND project_id IS NOT NULL
               ELSE project_id IS NOT NULL AND from_state IS NOT NULL AND to_state IS NOT NULL
           END);
CREATE INDEX supervision_actions_auction_idx ON supervision_actions (auction_id)
    WHERE auction_id IS NOT NULL;
