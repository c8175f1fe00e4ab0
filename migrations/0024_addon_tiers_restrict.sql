-- A tier an add-on names cannot be deleted: cascading the add-on's row away would leave an
-- add-on restricted to that tier with no rows, which means every tier may take it.

ALTER TABLE addon_tiers
    DROP CONSTRAINT addon_tiers_tier_id_fkey,
    ADD CONSTRAINT addon_tiers_tier_id_fkey
        FOREIGN KEY (tier_id) REFERENCES reward_tiers (id) ON DELETE RESTRICT;
