//! Verifying a person's identity: the regulator's one action on a person. The account is marked
//! verified (its profile shows the badge), the action goes on the ledger and into
//! `supervision_actions`, and the person is told, all in one transaction.

use serde_json::{json, Map};
use sqlx::PgPool;

use super::record::{self, Record, Recorded, Subject};
use crate::accounts::profile;
use crate::error::{Error, Message, Result};
use crate::ids::UserId;
use crate::ledger::Ledger;
use crate::notify::{self, NoticeKind};

/// Longest reason a regulator may give, in characters.
pub const REASON_MAX_CHARS: usize = 500;

/// The reason recorded when the regulator gives none.
const STANDARD_REASON: &str = "identity documents checked";

/// Verifies `person`'s identity on behalf of `regulator`. 404 for an unknown or deleted
/// account, 409 when it is verified already, 422 for a reason that is too long.
pub async fn verify(
    db: &PgPool,
    ledger: &Ledger,
    regulator: UserId,
    person: UserId,
    reason: Option<&str>,
) -> Result<Recorded> {
    let reason = reason.map(str::trim).filter(|r| !r.is_empty());
    if reason.is_some_and(|r| r.chars().count() > REASON_MAX_CHARS) {
        return Err(Error::invalid("identity.error.reason_long"));
    }
    let reason = reason.unwrap_or(STANDARD_REASON);
    let mut tx = db.begin().await?;
    if profile::mark_identity_verified(&mut tx, person)
        .await?
        .is_none()
    {
        let exists = profile::public(db, person).await?.is_some();
        return Err(if exists {
            Error::Conflict(Message::Key("identity.error.verified_already"))
        } else {
            Error::NotFound
        });
    }
    let recorded = record::record(
        &mut tx,
        ledger,
        Record {
            action: "verify_identity",
            regulator,
            reason,
            subject: Subject::Person(person),
            fields: Map::new(),
            parties: vec![("person", person)],
        },
    )
    .await?;
    notify::tell(
        &mut tx,
        &[person],
        None,
        NoticeKind::IdentityVerified,
        &json!({ "link": format!("/u/{}", person.0) }),
    )
    .await?;
    tx.commit().await?;
    Ok(recorded)
}
