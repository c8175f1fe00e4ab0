-- A project's running totals move out of the `projects` row into a narrow row of their own.
--
-- Every pledge changes the totals. On `projects` each change was a non-HOT update (the "most
-- funded" index covers `pledged_total`), so every pledge wrote a new entry into every index of
-- the table, the search GIN index included, while holding the project's row: under one popular
-- project, pledges queued behind that work. Here a change writes two small b-tree entries, and the
-- `projects` row is written only when the project itself changes.
CREATE TABLE project_totals (
    project_id    uuid PRIMARY KEY REFERENCES projects (id),
    pledged_total numeric(20, 2) NOT NULL DEFAULT 0 CHECK (pledged_total >= 0),
    backer_count  integer NOT NULL DEFAULT 0 CHECK (backer_count >= 0)
);

INSERT INTO project_totals (project_id, pledged_total, backer_count)
SELECT id, pledged_total, backer_count FROM projects;

-- "Most funded" walks this index and keeps the live projects it meets.
CREATE INDEX project_totals_funded_idx ON project_totals (pledged_total DESC, project_id);

DROP INDEX projects_browse_funded_idx;
ALTER TABLE projects DROP COLUMN pledged_total, DROP COLUMN backer_count;

-- Every project has its totals row from the moment it exists, whoever inserts it.
CREATE FUNCTION project_totals_create() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO project_totals (project_id) VALUES (NEW.id);
    RETURN NULL;
END;
$$;
CREATE TRIGGER projects_totals_row AFTER INSERT ON projects
    FOR EACH ROW EXECUTE FUNCTION project_totals_create();
