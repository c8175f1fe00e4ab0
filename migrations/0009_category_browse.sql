-- Browsing one category walks its own projects in the listing's order. With only the
-- (state, deadline) and (state, launched_at) indexes, "ending soon in food" read the projects of
-- every category until it had a page of food.
CREATE INDEX projects_browse_category_newest_idx ON projects (state, category, launched_at DESC);
CREATE INDEX projects_browse_category_ending_idx ON projects (state, category, deadline);
