-- Listings: search, scheduled launch, review notes, covers, revisions, updates, and the
-- supervision trail (every regulator action, with the ledger leaf that anchors it).

ALTER TABLE projects
    -- Text written by Rust with CJK runs split into unigrams and bigrams (see projects::search),
    -- so the 'simple' configuration indexes Chinese as well as English.
    ADD COLUMN search tsvector NOT NULL DEFAULT ''::tsvector,
    -- The regulator's last word to the founder: why a review was rejected, why it is frozen.
    ADD COLUMN review_note text CHECK (length(review_note) <= 2000),
    ADD COLUMN submitted_at timestamptz,
    -- Markdown is rendered and sanitised once, when written, not on every page view.
    ADD COLUMN story_html text NOT NULL DEFAULT '';

ALTER TABLE reward_tiers ADD COLUMN description_html text NOT NULL DEFAULT '';

CREATE INDEX projects_search_idx ON projects USING gin (search);
CREATE INDEX projects_browse_newest_idx ON projects (state, launched_at DESC);
CREATE INDEX projects_browse_funded_idx ON projects (state, pledged_total DESC);

CREATE TABLE project_covers (
    project_id   uuid PRIMARY KEY REFERENCES projects (id),
    content_type text NOT NULL CHECK (content_type IN ('image/png', 'image/jpeg', 'image/webp', 'image/gif')),
    bytes        bytea NOT NULL CHECK (length(bytes) BETWEEN 1 AND 2097152),
    updated_at   timestamptz NOT NULL DEFAULT now()
);

-- Changes made after launch, shown on the page with their dates.
CREATE TABLE project_revisions (
    id         bigserial PRIMARY KEY,
    project_id uuid NOT NULL REFERENCES projects (id),
    change     text NOT NULL CHECK (change IN ('story', 'tier')),
    -- The story as it was before the change, or the title of the tier added.
    previous   text NOT NULL DEFAULT '',
    detail     text NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX project_revisions_project_idx ON project_revisions (project_id, created_at);

CREATE TABLE project_updates (
    id           uuid PRIMARY KEY,
    project_id   uuid NOT NULL REFERENCES projects (id),
    title        text NOT NULL CHECK (length(title) BETWEEN 1 AND 120),
    body         text NOT NULL CHECK (length(body) BETWEEN 1 AND 20000),
    body_html    text NOT NULL,
    backers_only boolean NOT NULL DEFAULT false,
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX project_updates_project_idx ON project_updates (project_id, created_at DESC);

CREATE TABLE supervision_actions (
    id           bigserial PRIMARY KEY,
    project_id   uuid NOT NULL REFERENCES projects (id),
    regulator_id uuid NOT NULL REFERENCES users (id),
    action       text NOT NULL CHECK (action IN ('approve', 'reject', 'freeze', 'unfreeze', 'cancel')),
    from_state   text NOT NULL,
    to_state     text NOT NULL,
    reason       text NOT NULL CHECK (length(reason) BETWEEN 1 AND 2000),
    launch_at    timestamptz,
    at           timestamptz NOT NULL,
    tx_hash      bytea NOT NULL REFERENCES ledger_leaves (tx_hash)
);
CREATE INDEX supervision_actions_project_idx ON supervision_actions (project_id, at);
