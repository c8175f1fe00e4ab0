-- A project's trail shows every regulator action on it: the moves between states, and the
-- comments of its discussion the regulator hid (those move no state: their states are null).
CREATE OR REPLACE VIEW supervision_trail AS
    SELECT s.id, s.project_id, s.action, s.from_state, s.to_state, s.reason, s.launch_at, s.at,
           s.tx_hash, p.display_name AS regulator_name
      FROM supervision_actions s JOIN public_profiles p ON p.id = s.regulator_id
     WHERE s.project_id IS NOT NULL;
