//! Which room owns which table. A room's SQL reads and writes only its own tables; it reaches
//! another room's data by calling that room's functions (inside the caller's transaction when
//! it must), or by joining a view the owner publishes for exactly that purpose. The
//! `architecture` test scans every room's SQL against this map.

/// A table (or a view) and the room that owns it.
pub struct Owned {
    pub name: &'static str,
    pub room: &'static str,
    /// For a published view: the rooms that may read it. Empty for a table.
    pub readers: &'static [&'static str],
}

const fn table(name: &'static str, room: &'static str) -> Owned {
    Owned {
        name,
        room,
        readers: &[],
    }
}

const fn view(name: &'static str, room: &'static str, readers: &'static [&'static str]) -> Owned {
    Owned {
        name,
        room,
        readers,
    }
}

/// Every table and view of `migrations/`, by owner.
pub const TABLES: &[Owned] = &[
    table("users", "accounts"),
    table("sessions", "accounts"),
    table("login_failures", "accounts"),
    table("signup_attempts", "accounts"),
    table("user_avatars", "accounts"),
    table("password_resets", "accounts"),
    table("password_reset_requests", "accounts"),
    table("email_changes", "accounts"),
    view(
        "public_profiles",
        "accounts",
        &["projects", "pledges", "supervision", "community"],
    ),
    view("mail_contacts", "accounts", &["notify"]),
    table("ledger_head", "ledger"),
    table("ledger_leaves", "ledger"),
    table("ledger_nodes", "ledger"),
    table("ledger_checkpoints", "ledger"),
    table("ledger_cosignatures", "ledger"),
    table("ledger_witness_peers", "ledger"),
    table("ledger_parties", "ledger"),
    view("ledger_size", "ledger", &["projects"]),
    table("projects", "projects"),
    table("project_covers", "projects"),
    table("project_revisions", "projects"),
    table("project_totals", "projects"),
    table("project_translations", "projects"),
    table("project_updates", "projects"),
    table("reward_tiers", "projects"),
    table("equity_offerings", "projects"),
    table("tier_translations", "projects"),
    table("tier_shipping", "projects"),
    table("project_addons", "projects"),
    table("addon_tiers", "projects"),
    view("project_headlines", "projects", &["pledges", "market"]),
    view("tier_headlines", "projects", &["pledges"]),
    view("addon_headlines", "projects", &["pledges"]),
    table("money_accounts", "money"),
    table("journal_entries", "money"),
    table("journal_postings", "money"),
    table("wallet_deposits", "money"),
    table("wallet_withdrawals", "money"),
    table("pledges", "pledges"),
    table("pledge_request_keys", "pledges"),
    table("investor_profiles", "pledges"),
    table("pledge_addons", "pledges"),
    table("pledge_addresses", "pledges"),
    table("settlement_transactions", "settlement"),
    table("payouts", "settlement"),
    table("share_register", "settlement"),
    table("notifications", "notify"),
    table("mail_outbox", "notify"),
    table("supervision_actions", "supervision"),
    table("comments", "community"),
    view("supervision_trail", "supervision", &["projects"]),
    table("project_follows", "community"),
    table("follow_reminders", "community"),
    view("project_schedule", "projects", &["community"]),
    view("project_backers", "pledges", &["community"]),
    table("community_counts", "community"),
    view("project_community", "community", &["projects"]),
    view("share_lots", "settlement", &["market"]),
    table("auctions", "market"),
    table("market_orders", "market"),
    table("market_trades", "market"),
    table("trading_freezes", "market"),
    view("secondary_purchases", "market", &["pledges"]),
];

/// The owner of a table or view, if the map knows it.
pub fn owner(name: &str) -> Option<&'static Owned> {
    TABLES.iter().find(|t| t.name == name)
}

/// Whether `room` may name `name` in its SQL.
pub fn may_read(room: &str, name: &str) -> bool {
    owner(name).is_some_and(|t| t.room == room || t.readers.contains(&room))
}
