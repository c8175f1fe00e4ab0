-- Bench data: :comments comments on the project `bench-1` (run after seed.sql): four in five
-- top-level, newest first a minute apart, and the rest as replies to the newest top-level ones,
-- two each, written by the bench founders.
\set ON_ERROR_STOP on
BEGIN;
INSERT INTO comments (project_id, author_id, body, body_html, created_at)
SELECT md5('bench-project-1')::uuid,
       md5('bench-founder-' || (n % (SELECT count(*) FROM users WHERE email LIKE 'bench-founder-%')))::uuid,
       'Question ' || n || ': when does the reward ship?',
       '<p>Question ' || n || ': when does the reward ship?</p>',
       now() - n * interval '1 minute'
FROM generate_series(1, :comments * 4 / 5) AS n;
INSERT INTO comments (project_id, author_id, parent_id, body, body_html, created_at)
SELECT c.project_id, c.author_id, c.id, 'Answer ' || r, '<p>Answer ' || r || '</p>',
       c.created_at + r * interval '1 second'
FROM (SELECT id, project_id, author_id, created_at,
             row_number() OVER (ORDER BY created_at DESC) AS k
      FROM comments WHERE project_id = md5('bench-project-1')::uuid AND parent_id IS NULL) AS c,
     generate_series(1, 2) AS r
WHERE c.k <= (:comments - :comments * 4 / 5) / 2;
COMMIT;
ANALYZE comments;
