-- The project page and every listing card ask whether a project has a cover; a flag on the row,
-- set in the same transaction as the cover, spares a probe of project_covers per project shown.
ALTER TABLE projects ADD COLUMN has_cover boolean NOT NULL DEFAULT false;
UPDATE projects p SET has_cover = true WHERE EXISTS (SELECT 1 FROM project_covers c WHERE c.project_id = p.id);

-- Search reads this index on every query, and projects are written rarely: without the pending
-- list, a search never scans unmerged entries one by one (after a bulk load it cost ~3 ms each).
ALTER INDEX projects_search_idx SET (fastupdate = off);
