-- Projects, reward tiers and equity offerings: the core the other rooms build on.

CREATE TABLE projects (
    id            uuid PRIMARY KEY,
    founder_id    uuid NOT NULL REFERENCES users (id),
    slug          text NOT NULL CHECK (slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$' AND length(slug) <= 80),
    title         text NOT NULL CHECK (length(title) BETWEEN 1 AND 120),
    summary       text NOT NULL DEFAULT '' CHECK (length(summary) <= 300),
    story         text NOT NULL DEFAULT '' CHECK (length(story) <= 50000),
    category      text NOT NULL,
    kind          text NOT NULL CHECK (kind IN ('reward', 'equity')),
    state         text NOT NULL DEFAULT 'draft' CHECK (state IN (
                      'draft', 'in_review', 'live', 'frozen', 'settling', 'funded', 'failed', 'cancelled')),
    goal          numeric(20, 2) NOT NULL CHECK (goal > 0),
    currency      text NOT NULL DEFAULT 'CNY' CHECK (currency ~ '^[A-Z]{3}$'),
    -- Chosen by the founder; must lie MIN_CAMPAIGN_SECONDS to 90 days after launch.
    deadline      timestamptz,
    launched_at   timestamptz,
    -- Kept exact by the pledging room in the same transaction as each pledge change.
    pledged_total numeric(20, 2) NOT NULL DEFAULT 0 CHECK (pledged_total >= 0),
    backer_count  integer NOT NULL DEFAULT 0 CHECK (backer_count >= 0),
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    settled_at    timestamptz,
    CONSTRAINT projects_slug_key UNIQUE (slug)
);
CREATE INDEX projects_founder_idx ON projects (founder_id);
CREATE INDEX projects_state_deadline_idx ON projects (state, deadline);

CREATE TABLE reward_tiers (
    id             uuid PRIMARY KEY,
    project_id     uuid NOT NULL REFERENCES projects (id),
    position       integer NOT NULL DEFAULT 0,
    title          text NOT NULL CHECK (length(title) BETWEEN 1 AND 120),
    description    text NOT NULL DEFAULT '' CHECK (length(description) <= 5000),
    price          numeric(20, 2) NOT NULL CHECK (price > 0),
    -- NULL: unlimited.
    quantity_limit integer CHECK (quantity_limit > 0),
    claimed        integer NOT NULL DEFAULT 0 CHECK (claimed >= 0),
    -- First day of the estimated delivery month.
    delivery_month date,
    ships          boolean NOT NULL DEFAULT false,
    created_at     timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT reward_tiers_not_oversold CHECK (quantity_limit IS NULL OR claimed <= quantity_limit)
);
CREATE INDEX reward_tiers_project_idx ON reward_tiers (project_id, position);

CREATE TABLE equity_offerings (
    project_id              uuid PRIMARY KEY REFERENCES projects (id),
    price_per_share         numeric(20, 2) NOT NULL CHECK (price_per_share > 0),
    -- The offering is funded when at least min_shares are committed at the deadline.
    min_shares              bigint NOT NULL CHECK (min_shares > 0),
    max_shares              bigint NOT NULL,
    min_shares_per_investor bigint NOT NULL DEFAULT 1 CHECK (min_shares_per_investor > 0),
    pre_money_valuation     numeric(20, 2) NOT NULL CHECK (pre_money_valuation > 0),
    security_type           text NOT NULL CHECK (security_type IN ('ordinary_shares', 'convertible_note')),
    risk_warning            text NOT NULL CHECK (length(risk_warning) BETWEEN 1 AND 10000),
    max_investors           integer NOT NULL DEFAULT 200 CHECK (max_investors > 0),
    shares_sold             bigint NOT NULL DEFAULT 0 CHECK (shares_sold >= 0),
    investor_count          integer NOT NULL DEFAULT 0 CHECK (investor_count >= 0),
    CONSTRAINT equity_max_at_least_min CHECK (max_shares >= min_shares),
    CONSTRAINT equity_not_oversold CHECK (shares_sold <= max_shares),
    CONSTRAINT equity_investor_cap CHECK (investor_count <= max_investors)
);
