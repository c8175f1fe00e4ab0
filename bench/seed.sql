-- Bench data: :projects live projects (about 80% reward with two tiers, 20% equity), spread over
-- founders, categories and deadlines, with English and Chinese titles. Run with
--   psql -v projects=10000 -f bench/seed.sql
-- To extend (pledges, say), add a section below that reads the generated projects by their
-- `bench-<n>` slugs; the ids are deterministic: md5('bench-project-' || n)::uuid.

\set ON_ERROR_STOP on
BEGIN;

-- The search text Rust writes: CJK runs as unigrams and bigrams (see projects::search).
CREATE FUNCTION pg_temp.cjk_grams(t text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT coalesce(string_agg(substr(t, i, 1), ' '), '') || ' ' ||
           coalesce(string_agg(substr(t, i, 2), ' ') FILTER (WHERE i < length(t)), '')
    FROM generate_series(1, length(t)) AS i
$$;

INSERT INTO users (id, email, display_name, password_hash, roles)
SELECT md5('bench-founder-' || f)::uuid, 'bench-founder-' || f || '@bench.zhonglian',
       'Bench founder ' || f, 'not-a-login', ARRAY['founder']
FROM generate_series(0, greatest(:projects / 100, 1) - 1) AS f;

CREATE TEMP TABLE bench_words AS SELECT
    ARRAY['Solar','Bamboo','Paper','Silk','Jade','River','Mountain','Copper','Lotus','Cedar',
          'Harbor','Willow','Ember','Granite','Maple','Orchid','Pebble','Saffron','Tidal','Velvet'] AS en1,
    ARRAY['Lantern','Bicycle','Kite','Workshop','Garden','Studio','Album','Camera','Kitchen','Library',
          'Festival','Theatre','Bakery','Clinic','School','Atlas','Loom','Compass','Canteen','Observatory'] AS en2,
    ARRAY['古树','竹制','丝绸','纸灯','青瓷','山海','江南','草原','星空','书院',
          '茶马','雪山','渔村','石桥','云端','花园','古镇','戏曲','陶艺','织锦'] AS zh1,
    ARRAY['茶园','单车','风筝','工坊','菜园','影像','唱片','相机','厨房','图书馆',
          '音乐节','剧场','面包房','诊所','学堂','地图','织机','罗盘','食堂','天文台'] AS zh2,
    ARRAY['technology','design','games','food','film','music','publishing','art','health',
          'education','environment','community'] AS categories;

CREATE TEMP TABLE bench_projects AS
SELECT n,
       md5('bench-project-' || n)::uuid AS id,
       md5('bench-founder-' || (n % greatest(:projects / 100, 1)))::uuid AS founder_id,
       w.en1[1 + n % 20] || ' ' || w.en2[1 + (n / 20) % 20] AS en,
       w.zh1[1 + (n / 7) % 20] || w.zh2[1 + (n / 3) % 20] AS zh,
       w.categories[1 + n % 12] AS category,
       CASE WHEN n % 5 = 0 THEN 'equity' ELSE 'reward' END AS kind
FROM generate_series(1, :projects) AS n, bench_words AS w;

INSERT INTO projects (id, founder_id, slug, title, summary, story, story_html, category, kind,
                      state, goal, deadline, launched_at, search)
SELECT id, founder_id, 'bench-' || n, en || ' ' || zh || ' #' || n,
       'A ' || lower(en) || ' for our town, made by hand. 为家乡打造的' || zh || '。',
       repeat('## Why ' || en || E'\n\nWe have worked on this for three years. **Every pledge** is settled '
              || E'all-or-nothing and written to the public ledger.\n\n- one\n- two\n- three\n\n', 6),
       -- What projects::markdown renders for the story above.
       repeat('<h2>Why ' || en || E'</h2>\n<p>We have worked on this for three years. <strong>Every pledge</strong> '
              || E'is settled all-or-nothing and written to the public ledger.</p>\n<ul>\n<li>one</li>\n'
              || E'<li>two</li>\n<li>three</li>\n</ul>\n', 6),
       category, kind, 'live',
       CASE WHEN kind = 'equity' THEN 50000 ELSE 10000 + (n % 50) * 1000 END,
       now() + make_interval(days => 1 + n % 60, mins => n % 1440),
       now() - make_interval(mins => n),
       to_tsvector('simple', lower(en) || ' ' || pg_temp.cjk_grams(zh) || ' a ' || lower(en)
                             || ' for our town made by hand ' || pg_temp.cjk_grams('为家乡打造的' || zh))
FROM bench_projects;

INSERT INTO reward_tiers (id, project_id, position, title, description, description_html, price,
                          quantity_limit, delivery_month, ships)
SELECT md5('bench-tier-' || n || '-' || t)::uuid, id, t, 'Tier ' || t || ' ' || zh,
       'What you get at level ' || t || '.', '<p>What you get at level ' || t || E'.</p>\n', 50 * t * t, CASE WHEN t = 2 THEN 100 END,
       date_trunc('month', now() + interval '6 months')::date, t = 2
FROM bench_projects, generate_series(1, 2) AS t
WHERE kind = 'reward';

INSERT INTO equity_offerings (project_id, price_per_share, min_shares, max_shares,
                              min_shares_per_investor, pre_money_valuation, security_type, risk_warning)
SELECT id, 10, 5000, 20000, 10, 8000000, 'ordinary_shares', 'You may lose all of your investment.'
FROM bench_projects WHERE kind = 'equity';

-- Pledges: 100 per project (1,000,000 for 10,000 projects) by 10,000 backers, spread over the
-- last 30 days, with the projects' totals and backer counts to match. No journal rows: this is a
-- read benchmark, and a half-written journal would break the ledger's invariants.
INSERT INTO users (id, email, display_name, password_hash, roles)
SELECT md5('bench-backer-' || b)::uuid, 'bench-backer-' || b || '@bench.zhonglian',
       'Bench backer ' || b, 'not-a-login', ARRAY['backer']
FROM generate_series(0, 9999) AS b;

INSERT INTO pledges (id, project_id, backer_id, tier_id, amount, shares, currency, created_at, updated_at)
SELECT md5('bench-pledge-' || n || '-' || k)::uuid, p.id,
       md5('bench-backer-' || ((n + k) % 10000))::uuid,
       CASE WHEN p.kind = 'reward' THEN md5('bench-tier-' || n || '-1')::uuid END,
       CASE WHEN p.kind = 'reward' THEN 50 ELSE 100 END,
       CASE WHEN p.kind = 'equity' THEN 10 END,
       'CNY', now() - make_interval(mins => (n * 37 + k * 431) % 43200),
       now() - make_interval(mins => (n * 37 + k * 431) % 43200)
FROM bench_projects AS p, generate_series(0, 99) AS k;

UPDATE project_totals t SET pledged_total = CASE WHEN p.kind = 'reward' THEN 5000 ELSE 10000 END,
                             backer_count = 100
FROM bench_projects p WHERE t.project_id = p.id;
UPDATE equity_offerings SET shares_sold = 1000, investor_count = 100;
UPDATE reward_tiers SET claimed = 100 WHERE position = 1 AND project_id IN (SELECT id FROM bench_projects);

COMMIT;
-- VACUUM also merges any pending GIN entries, which every search would otherwise scan.
VACUUM ANALYZE;
