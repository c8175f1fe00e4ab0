-- Project and tier texts in a second language. A page shows the reader's language when the
-- project has it, else the original text in `projects` / `reward_tiers`. The search text of a
-- translation (CJK runs split by Rust, see projects::search) is folded into `projects.search`
-- whenever either side is written, so one index finds a project in any of its languages.

CREATE TABLE project_translations (
    project_id  uuid NOT NULL REFERENCES projects (id),
    lang        text NOT NULL CHECK (lang IN ('en', 'zh-CN')),
    title       text NOT NULL CHECK (length(title) BETWEEN 1 AND 120),
    summary     text NOT NULL CHECK (length(summary) <= 300),
    -- NULL once the founder changes the original story after launch: the reader then sees the
    -- original, current story rather than a translation of one that is no longer true.
    story       text CHECK (length(story) <= 50000),
    story_html  text,
    search_text text NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (project_id, lang)
);

CREATE TABLE tier_translations (
    tier_id          uuid NOT NULL REFERENCES reward_tiers (id) ON DELETE CASCADE,
    lang             text NOT NULL CHECK (lang IN ('en', 'zh-CN')),
    title            text NOT NULL CHECK (length(title) BETWEEN 1 AND 120),
    description      text NOT NULL CHECK (length(description) <= 5000),
    description_html text NOT NULL,
    PRIMARY KEY (tier_id, lang)
);
