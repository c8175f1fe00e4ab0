//! How every regulator action is recorded: one ledger entry of kind `supervision` and one row of
//! the trail, written in the caller's transaction, so the action, its entry and its row exist
//! together or not at all.

use serde_json::{json, Map, Value};
use sqlx::PgConnection;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::error::{Error, Result};
use crate::ids::{AuctionId, CommentId, ProjectId, UserId};
use crate::ledger::entry::{EntryKind, NewEntry};
use crate::ledger::Ledger;

/// What an action is about.
#[derive(Debug, Clone, Copy)]
pub enum Subject<'a> {
    /// A listing, moved from one state to another (`launch_at`: an approval's launch time).
    Listing {
        project: ProjectId,
        from: &'a str,
        to: &'a str,
        launch_at: Option<OffsetDateTime>,
    },
    /// A comment on a project (hiding it).
    Comment {
        project: ProjectId,
        comment: CommentId,
    },
    /// A person (verifying their identity).
    Person(UserId),
    /// A call auction of a company's shares (halting it).
    Auction {
        project: ProjectId,
        auction: AuctionId,
    },
    /// A company's trading (freezing and unfreezing it).
    Company(ProjectId),
}

/// One action to record.
pub struct Record<'a> {
    /// The trail's and the entry's name of the action (`approve`, `hide_comment`, ...).
    pub action: &'a str,
    pub regulator: UserId,
    pub reason: &'a str,
    pub subject: Subject<'a>,
    /// More fields of the ledger entry (the project's slug, ...); the standard ones win.
    pub fields: Map<String, Value>,
    /// People the entry names besides the regulator, each as a commitment under the field
    /// named with them (the founder, the person verified): only their receipts can open it.
    pub parties: Vec<(&'a str, UserId)>,
}

/// The recorded action: the hash of its ledger entry and when it was taken.
#[derive(Debug, Clone, Copy)]
pub struct Recorded {
    pub tx_hash: [u8; 32],
    pub at: OffsetDateTime,
}

/// Checks a regulator's reason for an action: 1 to 2000 characters, trimmed.
pub fn reason(raw: &str) -> Result<String> {
    crate::projects::domain::text(raw, 1, 2000, "supervision.error.reason")
}

fn rfc3339(at: OffsetDateTime) -> Result<String> {
    at.format(&Rfc3339).map_err(|e| Error::Internal(e.into()))
}

/// Appends the action's ledger entry and its trail row in the caller's transaction.
pub async fn record(
    conn: &mut PgConnection,
    ledger: &Ledger,
    record: Record<'_>,
) -> Result<Recorded> {
    let at = OffsetDateTime::now_utc();
    let mut parties = Vec::new();
    let mut fields = record.fields;
    for (name, user) in &record.parties {
        fields.insert(
            (*name).into(),
            NewEntry::commit_party(&mut parties, *user).into(),
        );
    }
    let regulator = NewEntry::commit_party(&mut parties, record.regulator);
    let standard = json!({
        "action": record.action,
        "at": rfc3339(at)?,
        "reason": record.reason,
        "regulator": regulator,
    });
    fields.extend(standard.as_object().cloned().unwrap_or_default());
    let (mut project, mut comment, mut person, mut auction) = (None, None, None, None);
    let (mut from, mut to, mut launch_at) = (None, None, None);
    match record.subject {
        Subject::Listing {
            project: id,
            from: f,
            to: t,
            launch_at: l,
        } => {
            project = Some(id);
            (from, to, launch_at) = (Some(f), Some(t), l);
            fields.insert("project".into(), id.to_string().into());
            fields.insert("from".into(), f.into());
            fields.insert("to".into(), t.into());
            if let Some(l) = l {
                fields.insert("launch_at".into(), rfc3339(l)?.into());
            }
        }
        Subject::Comment {
            project: p,
            comment: c,
        } => {
            (project, comment) = (Some(p), Some(c));
            fields.insert("project".into(), p.to_string().into());
            fields.insert("comment".into(), c.to_string().into());
        }
        Subject::Person(user) => person = Some(user),
        Subject::Auction {
            project: p,
            auction: a,
        } => {
            (project, auction) = (Some(p), Some(a));
            fields.insert("project".into(), p.to_string().into());
            fields.insert("auction".into(), a.to_string().into());
        }
        Subject::Company(p) => {
            project = Some(p);
            fields.insert("project".into(), p.to_string().into());
        }
    }
    let mut entry = NewEntry::new(EntryKind::Supervision, fields);
    entry.parties = parties;
    let appended = ledger.append(&mut *conn, &[entry]).await?;
    let tx_hash = appended.tx_hashes[0];
    sqlx::query(
        "INSERT INTO supervision_actions (project_id, comment_id, subject_user_id, auction_id,
                                          regulator_id, action, from_state, to_state, reason,
                                          launch_at, at, tx_hash)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
    )
    .bind(project)
    .bind(comment)
    .bind(person)
    .bind(auction)
    .bind(record.regulator)
    .bind(record.action)
    .bind(from)
    .bind(to)
    .bind(record.reason)
    .bind(launch_at)
    .bind(at)
    .bind(tx_hash.to_vec())
    .execute(&mut *conn)
    .await?;
    Ok(Recorded { tx_hash, at })
}
