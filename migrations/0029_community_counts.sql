-- The counts of 0028's project_community view came from subqueries over project_follows and
-- comments. The project page's query is prepared, and PostgreSQL soon plans a prepared query
-- once for every project (a generic plan) from the tables' statistics: when one project holds
-- most of the comments or follows, that plan scans the whole table on every other project's
-- page. Counts kept per project, read by their key, cost the same however the rows are spread.

-- community: how many follow each project and how many comments its discussion has; a project
-- with neither has no row. Kept by the triggers below, in the transaction of each change.
CREATE TABLE community_counts (
    project_id uuid PRIMARY KEY REFERENCES projects (id) ON DELETE CASCADE,
    followers  bigint NOT NULL DEFAULT 0 CHECK (followers >= 0),
    comments   bigint NOT NULL DEFAULT 0 CHECK (comments >= 0)
);

INSERT INTO community_counts (project_id, followers, comments)
SELECT project_id, sum(followers), sum(comments)
  FROM (SELECT project_id, 1 AS followers, 0 AS comments FROM project_follows
        UNION ALL
        SELECT project_id, 0, 1 FROM comments) AS counted
 GROUP BY project_id;

-- A removal only updates an existing row: when a project is deleted, its follows and comments
-- go with it, and a new row for it would refer to a project no longer there.
CREATE FUNCTION community_count() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' AND TG_TABLE_NAME = 'project_follows' THEN
        INSERT INTO community_counts (project_id, followers) VALUES (NEW.project_id, 1)
        ON CONFLICT (project_id) DO UPDATE SET followers = community_counts.followers + 1;
    ELSIF TG_OP = 'INSERT' THEN
        INSERT INTO community_counts (project_id, comments) VALUES (NEW.project_id, 1)
        ON CONFLICT (project_id) DO UPDATE SET comments = community_counts.comments + 1;
    ELSIF TG_TABLE_NAME = 'project_follows' THEN
        UPDATE community_counts SET followers = followers - 1 WHERE project_id = OLD.project_id;
    ELSE
        UPDATE community_counts SET comments = comments - 1 WHERE project_id = OLD.project_id;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER project_follows_counted AFTER INSERT OR DELETE ON project_follows
    FOR EACH ROW EXECUTE FUNCTION community_count();
CREATE TRIGGER comments_counted AFTER INSERT OR DELETE ON comments
    FOR EACH ROW EXECUTE FUNCTION community_count();

CREATE OR REPLACE VIEW project_community AS
SELECT p.id AS project_id,
       coalesce(n.followers, 0) AS followers,
       coalesce(n.comments, 0) > 0 AS discussed
  FROM projects p LEFT JOIN community_counts n ON n.project_id = p.id;
