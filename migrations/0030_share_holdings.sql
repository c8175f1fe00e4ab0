-- The exchange's first reader of the share register: each holder's lots, for holdings and the
-- lock-up before a lot may be sold. Later sources of shares (trades) join this view.

-- settlement: the register's lots without the pledge and transaction that issued them.
CREATE VIEW share_lots AS
    SELECT holder_id, project_id, shares, price_per_share, issued_at FROM share_register;

-- A holder's lots are read by holder, not by project.
CREATE INDEX share_register_holder_idx ON share_register (holder_id);

-- projects: the slug, so that a holding links to its company's page (a view may gain columns
-- at its end).
CREATE OR REPLACE VIEW project_headlines AS
    SELECT id, title, kind, deadline, currency, slug FROM projects;
