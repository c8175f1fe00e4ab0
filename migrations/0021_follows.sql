-- Following a project (also before it launches), and the reminders its followers were sent.

-- community: who follows which project.
CREATE TABLE project_follows (
    user_id     uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    project_id  uuid NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, project_id)
);
CREATE INDEX project_follows_project_idx ON project_follows (project_id, created_at);

-- community: a reminder sent to a follower. The primary key is what makes "at most once per
-- follower" the database's rule: a reminder is recorded with INSERT ... ON CONFLICT DO NOTHING
-- in the transaction that notifies, and only the rows inserted are told.
CREATE TABLE follow_reminders (
    project_id  uuid NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    user_id     uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind        text NOT NULL CHECK (kind IN ('launched', 'deadline_near')),
    sent_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (project_id, user_id, kind)
);

-- projects: when a listing opens and closes, for the reminders of the community room.
CREATE VIEW project_schedule AS
    SELECT id, slug, title, state, launched_at, deadline FROM projects;

-- pledges: who backs a project now, so that a deadline reminder skips them in one statement.
CREATE VIEW project_backers AS
    SELECT DISTINCT project_id, backer_id FROM pledges WHERE state = 'active';
