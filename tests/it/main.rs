//! Integration tests: real PostgreSQL (a throw-away cluster, one fresh database per test), real
//! HTTP, and headless Chromium for the browser flows. One test binary, so the cluster and the
//! browser driver start once.

mod account_healing;
mod accounts;
#[path = "../../bench/auction_fixtures.rs"]
mod auction_fixtures;
mod browser;
mod catalogue;
mod cluster;
mod comments;
mod edge;
mod exchange;
#[path = "../../bench/fixtures.rs"]
mod fixtures;
mod follows;
mod forms;
mod launch;
mod ledger;
mod listings_browser;
mod mail;
mod market;
mod money;
mod pages_audit;
mod pledges;
mod pledges_changes;
mod pledges_equity;
mod policy;
mod profiles;
mod project_page;
mod projects_browse;
mod projects_covers;
mod projects_drafts;
mod projects_review;
mod receipts;
mod rope_net;
mod safety;
mod sessions;
mod settlement;
mod sharing;
mod shipping;
mod supervision;
mod support;
mod tlog_tiles;
mod two_servers;
mod visibility;
mod web;
mod withdrawals;
mod witness_protocol;
