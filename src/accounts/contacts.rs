//! How other rooms reach a user: the name and address the platform writes to. Only the rooms
//! that must contact people (a founder shipping rewards, the settlement mail) ask for these.

use std::collections::HashMap;

use sqlx::PgPool;

use crate::error::Result;
use crate::ids::UserId;

/// A user's display name and e-mail address.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Contact {
    pub id: UserId,
    pub display_name: String,
    pub email: String,
}

/// Most users asked for in one statement; longer lists are read in pages of this size.
pub const MAX_CONTACTS: usize = 10_000;

/// The contacts of `users` (unknown ids are left out).
pub async fn of(db: &PgPool, users: &[UserId]) -> Result<HashMap<UserId, Contact>> {
    let mut contacts = HashMap::with_capacity(users.len());
    for page in users.chunks(MAX_CONTACTS) {
        let rows: Vec<Contact> =
            sqlx::query_as("SELECT id, display_name, email FROM users WHERE id = ANY($1)")
                .bind(page)
                .fetch_all(db)
                .await?;
        contacts.extend(rows.into_iter().map(|c| (c.id, c)));
    }
    Ok(contacts)
}
