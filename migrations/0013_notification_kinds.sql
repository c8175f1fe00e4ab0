-- A notification says how a project the user took part in settled; the database refuses any
-- other kind, so every stored row reads back as one of them.
ALTER TABLE notifications
    ADD CONSTRAINT notifications_kind_check
    CHECK (kind IN ('project_funded', 'project_failed', 'project_cancelled'));
