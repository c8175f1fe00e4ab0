-- Shipping prices per region for tiers that ship, a project's add-ons, and what each pledge took
-- of them.
--
-- Regions: 'domestic' (the project's own country), 'asia', 'europe', 'americas', 'oceania',
-- 'africa' and 'rest_of_world'. A tier that ships and has prices has at least 'domestic' and
-- 'rest_of_world'; a region without a price of its own ships at the 'rest_of_world' price.
--
-- A pledge's amount is everything held for it: the reward part (tier price and any extra), its
-- add-ons and its shipping; `addons_price` and `shipping_price` say how much of it those are, so
-- a refund or a cancellation gives back the whole amount and nothing drifts.

CREATE TABLE tier_shipping (
    tier_id uuid NOT NULL REFERENCES reward_tiers (id) ON DELETE CASCADE,
    region  text NOT NULL CHECK (region IN (
                'domestic', 'asia', 'europe', 'americas', 'oceania', 'africa', 'rest_of_world')),
    price   numeric(20, 2) NOT NULL CHECK (price >= 0),
    PRIMARY KEY (tier_id, region)
);

CREATE TABLE project_addons (
    id             uuid PRIMARY KEY,
    project_id     uuid NOT NULL REFERENCES projects (id),
    title          text NOT NULL CHECK (length(title) BETWEEN 1 AND 120),
    price          numeric(20, 2) NOT NULL CHECK (price > 0),
    -- NULL: unlimited.
    quantity_limit integer CHECK (quantity_limit > 0),
    claimed        integer NOT NULL DEFAULT 0 CHECK (claimed >= 0),
    created_at     timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT project_addons_not_oversold CHECK (quantity_limit IS NULL OR claimed <= quantity_limit)
);
CREATE INDEX project_addons_project_idx ON project_addons (project_id, created_at);

-- The tiers that may take an add-on; an add-on without rows here goes with every tier.
CREATE TABLE addon_tiers (
    addon_id uuid NOT NULL REFERENCES project_addons (id) ON DELETE CASCADE,
    tier_id  uuid NOT NULL REFERENCES reward_tiers (id) ON DELETE CASCADE,
    PRIMARY KEY (addon_id, tier_id)
);
CREATE INDEX addon_tiers_tier_idx ON addon_tiers (tier_id);

ALTER TABLE pledges
    ADD COLUMN shipping_region text CHECK (shipping_region IN (
        'domestic', 'asia', 'europe', 'americas', 'oceania', 'africa', 'rest_of_world')),
    ADD COLUMN shipping_price numeric(20, 2) NOT NULL DEFAULT 0 CHECK (shipping_price >= 0),
    ADD COLUMN addons_price numeric(20, 2) NOT NULL DEFAULT 0 CHECK (addons_price >= 0),
    ADD CONSTRAINT pledges_reward_part_positive CHECK (amount - shipping_price - addons_price > 0);

CREATE TABLE pledge_addons (
    pledge_id uuid NOT NULL REFERENCES pledges (id),
    addon_id  uuid NOT NULL REFERENCES project_addons (id),
    quantity  integer NOT NULL CHECK (quantity BETWEEN 1 AND 100),
    -- The add-on's unit price when pledged.
    price     numeric(20, 2) NOT NULL CHECK (price > 0),
    PRIMARY KEY (pledge_id, addon_id)
);
CREATE INDEX pledge_addons_addon_idx ON pledge_addons (addon_id);

-- Seen only by the backer and the project's founder.
CREATE TABLE pledge_addresses (
    pledge_id uuid PRIMARY KEY REFERENCES pledges (id),
    address   text NOT NULL CHECK (length(address) BETWEEN 1 AND 500)
);

-- What the pledging room may read of an add-on: the backers CSV names the add-ons taken.
CREATE VIEW addon_headlines AS
    SELECT id, project_id, title FROM project_addons;
