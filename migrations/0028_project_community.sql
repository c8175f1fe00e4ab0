-- The community room publishes, for the project page's one query, how many people follow each
-- project and whether its discussion has begun: an anonymous page of a project nobody has
-- commented on then needs no query of the community's own.
CREATE VIEW project_community AS
SELECT p.id AS project_id,
       (SELECT count(*) FROM project_follows f WHERE f.project_id = p.id) AS followers,
       EXISTS (SELECT 1 FROM comments c WHERE c.project_id = p.id) AS discussed
  FROM projects p;
