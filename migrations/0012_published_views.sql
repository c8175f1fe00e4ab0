-- Views a room publishes so that another room's one statement can join its data without
-- reading its tables. `src/tables.rs` names the owner of each, and which rooms may read it.

-- accounts: what anyone may know of a user (never the e-mail address or the password hash).
CREATE VIEW public_profiles AS
    SELECT id, display_name FROM users;

-- supervision: a project's trail of regulator actions, with the regulator's public name.
CREATE VIEW supervision_trail AS
    SELECT s.id, s.project_id, s.action, s.from_state, s.to_state, s.reason, s.launch_at, s.at,
           s.tx_hash, p.display_name AS regulator_name
      FROM supervision_actions s JOIN public_profiles p ON p.id = s.regulator_id;

-- ledger: how many leaves the tree has.
CREATE VIEW ledger_size AS
    SELECT size FROM ledger_head;

-- projects: what a pledge list shows of its project and tier.
CREATE VIEW project_headlines AS
    SELECT id, title, kind, deadline, currency FROM projects;
CREATE VIEW tier_headlines AS
    SELECT id, project_id, title, ships FROM reward_tiers;
