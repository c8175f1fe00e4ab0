-- community: the discussion on a project. A comment is either a top-level comment or a reply to
-- one (one level: `parent_id` names a top-level comment, which the community room ensures).
-- The body is kept as written and as the cleaned HTML made from it when it was written. A
-- regulator may hide a comment: its reason is shown in place of the text, which stays for the
-- record but is never served again.
CREATE TABLE comments (
    id                   uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    project_id           uuid NOT NULL REFERENCES projects (id),
    author_id            uuid NOT NULL REFERENCES users (id),
    parent_id            uuid REFERENCES comments (id),
    body                 text NOT NULL CHECK (length(body) BETWEEN 1 AND 5000),
    body_html            text NOT NULL CHECK (length(body_html) <= 100000),
    compensated_promoter boolean NOT NULL DEFAULT false,
    -- clock_timestamp, not now(): two comments of one transaction still have an order.
    created_at           timestamptz NOT NULL DEFAULT clock_timestamp(),
    hidden_reason        text CHECK (length(hidden_reason) BETWEEN 1 AND 2000),
    hidden_at            timestamptz,
    CONSTRAINT comments_hidden_check CHECK ((hidden_reason IS NULL) = (hidden_at IS NULL)),
    CONSTRAINT comments_not_own_parent_check CHECK (parent_id IS DISTINCT FROM id)
);

-- A project's comments newest first, page after page (keyset: created_at, id).
CREATE INDEX comments_project_page_idx ON comments (project_id, created_at DESC, id DESC)
    WHERE parent_id IS NULL;
-- A comment's replies, oldest first.
CREATE INDEX comments_replies_idx ON comments (parent_id, created_at, id)
    WHERE parent_id IS NOT NULL;
-- A user's latest comments (the rate limit).
CREATE INDEX comments_author_recent_idx ON comments (author_id, created_at DESC);

-- supervision: a hidden comment's action names a comment that exists.
ALTER TABLE supervision_actions
    ADD CONSTRAINT supervision_actions_comment_fk FOREIGN KEY (comment_id) REFERENCES comments (id);
