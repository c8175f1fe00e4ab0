//! Demo data for the run command: accounts for every role, a catalogue of projects in both
//! languages and every state, and a few ledger entries, loaded once into an empty database.

mod catalogue;

use serde_json::json;

use crate::accounts::domain::{DisplayName, Email, Password, Role};
use crate::http::AppState;
use crate::ledger::entry::{EntryKind, NewEntry};

/// Password of every demo account (shown in the README; demo data only).
pub const DEMO_PASSWORD: &str = "zhonglian-demo";

/// Loads the demo data unless the database already has users.
pub async fn load(state: &AppState) -> anyhow::Result<()> {
    let users: i64 = sqlx::query_scalar("SELECT count(*) FROM users")
        .fetch_one(&state.db)
        .await?;
    if users > 0 {
        return Ok(());
    }
    let accounts = [
        (
            "founder@demo.zhonglian",
            "李明 (Li Ming)",
            vec![Role::Founder],
        ),
        ("backer@demo.zhonglian", "Ada Chen 陈", vec![Role::Backer]),
        (
            "both@demo.zhonglian",
            "王芳 (Wang Fang)",
            vec![Role::Founder, Role::Backer],
        ),
        (
            "regulator@demo.zhonglian",
            "监管员 Regulator",
            vec![Role::Regulator],
        ),
        (
            "auditor@demo.zhonglian",
            "审计员 Auditor",
            vec![Role::Auditor],
        ),
    ];
    let mut users = Vec::new();
    for (email, name, roles) in accounts {
        let user = crate::accounts::create_user(
            &state.db,
            &Email::parse(email).map_err(|e| anyhow::anyhow!("{e}"))?,
            &DisplayName::parse(name).map_err(|e| anyhow::anyhow!("{e}"))?,
            Password::parse(DEMO_PASSWORD.into()).map_err(|e| anyhow::anyhow!("{e}"))?,
            &roles,
        )
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
        users.push(user);
    }
    let (founder, backer) = (users[0].id, users[1].id);

    let mut entries = Vec::new();
    for (i, amount) in ["128.00", "388.00", "88.00"].iter().enumerate() {
        let mut parties = Vec::new();
        let backer_c = NewEntry::commit_party(&mut parties, backer);
        let founder_c = NewEntry::commit_party(&mut parties, founder);
        let mut entry = NewEntry::new(
            EntryKind::PledgeCollected,
            json!({
                "amount": amount,
                "currency": "CNY",
                "project": "demo-tea-garden",
                "pledge": format!("demo-pledge-{}", i + 1),
                "backer": backer_c,
                "founder": founder_c,
                "at": "2026-11-20T12:00:00Z",
            })
            .as_object()
            .cloned()
            .unwrap_or_default(),
        );
        entry.parties = parties;
        entries.push(entry);
    }
    let mut tx = state.db.begin().await?;
    state.ledger.append(&mut tx, &entries).await?;
    tx.commit().await?;
    catalogue::load(state, &users).await?;
    tracing::info!("demo data loaded (password of every demo account: {DEMO_PASSWORD})");
    Ok(())
}
