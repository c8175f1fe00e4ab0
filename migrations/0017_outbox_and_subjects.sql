-- E-mail leaves through an outbox written in the same transaction as its cause, a user's letters
-- are written in the user's language, notifications tell of community and wallet events too, and
-- a regulator's action may concern a comment or a person instead of a listing.

-- accounts: the language a user reads (the site's language when they signed up, or chosen since).
ALTER TABLE users ADD COLUMN language text NOT NULL DEFAULT 'zh' CHECK (language IN ('zh', 'en'));

-- accounts: where, and in which language, the notify room writes to a user.
CREATE VIEW mail_contacts AS
    SELECT id, email, language FROM users;

-- notify: one message waiting to go out. The sender claims due rows for a short lease (so two
-- servers never send one row at the same time), deletes a row once the mail server has taken it,
-- and otherwise moves `next_attempt_at` back with growing delays; a row past its last attempt
-- keeps `given_up_at` for the operator.
CREATE TABLE mail_outbox (
    id              bigserial PRIMARY KEY,
    to_address      text NOT NULL CHECK (length(to_address) BETWEEN 3 AND 320),
    subject         text NOT NULL CHECK (length(subject) BETWEEN 1 AND 998),
    body            text NOT NULL CHECK (length(body) <= 100000),
    created_at      timestamptz NOT NULL DEFAULT now(),
    attempts        integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    claimed_until   timestamptz,
    last_error      text CHECK (length(last_error) <= 2000),
    given_up_at     timestamptz
);
CREATE INDEX mail_outbox_due_idx ON mail_outbox (next_attempt_at, id) WHERE given_up_at IS NULL;

ALTER TABLE notifications DROP CONSTRAINT notifications_kind_check;
ALTER TABLE notifications
    ADD CONSTRAINT notifications_kind_check
    CHECK (kind IN ('project_funded', 'project_failed', 'project_cancelled',
                    'regulator_approved', 'regulator_rejected', 'regulator_frozen',
                    'regulator_unfrozen', 'regulator_cancelled',
                    'comment_posted', 'comment_replied', 'comment_hidden',
                    'project_launched', 'deadline_near',
                    'withdrawal_completed', 'withdrawal_failed',
                    'identity_verified')) NOT VALID;
ALTER TABLE notifications VALIDATE CONSTRAINT notifications_kind_check;

-- supervision: hiding a comment names the comment (and its project); verifying an identity names
-- the person. Only the actions on a listing move it from one state to another. The comment's
-- foreign key comes with the comments table.
ALTER TABLE supervision_actions
    ALTER COLUMN project_id DROP NOT NULL,
    ALTER COLUMN from_state DROP NOT NULL,
    ALTER COLUMN to_state DROP NOT NULL,
    ADD COLUMN comment_id uuid,
    ADD COLUMN subject_user_id uuid REFERENCES users (id);
ALTER TABLE supervision_actions DROP CONSTRAINT supervision_actions_action_check;
ALTER TABLE supervision_actions
    ADD CONSTRAINT supervision_actions_action_check
    CHECK (action IN ('approve', 'reject', 'freeze', 'unfreeze', 'cancel',
                      'hide_comment', 'verify_identity')) NOT VALID;
ALTER TABLE supervision_actions VALIDATE CONSTRAINT supervision_actions_action_check;
ALTER TABLE supervision_actions
    ADD CONSTRAINT supervision_actions_subject_check
    CHECK (CASE action
               WHEN 'hide_comment' THEN comment_id IS NOT NULL AND project_id IS NOT NULL
               WHEN 'verify_identity' THEN subject_user_id IS NOT NULL
               ELSE project_id IS NOT NULL AND from_state IS NOT NULL AND to_state IS NOT NULL
           END) NOT VALID;
ALTER TABLE supervision_actions VALIDATE CONSTRAINT supervision_actions_subject_check;
CREATE INDEX supervision_actions_subject_user_idx ON supervision_actions (subject_user_id)
    WHERE subject_user_id IS NOT NULL;
CREATE INDEX supervision_actions_comment_idx ON supervision_actions (comment_id)
    WHERE comment_id IS NOT NULL;

-- A project's trail shows what moved it between states; the other actions have their own pages.
CREATE OR REPLACE VIEW supervision_trail AS
    SELECT s.id, s.project_id, s.action, s.from_state, s.to_state, s.reason, s.launch_at, s.at,
           s.tx_hash, p.display_name AS regulator_name
      FROM supervision_actions s JOIN public_profiles p ON p.id = s.regulator_id
     WHERE s.from_state IS NOT NULL;
