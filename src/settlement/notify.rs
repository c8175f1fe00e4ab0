//! Notifications: stored for the user's pages, and sent through a pluggable e-mail sender
//! (the default one only logs). What a notification says, on the page and in the e-mail, is
//! composed here from its kind and parameters, in the reader's language.

use rust_decimal::Decimal;
use serde::Serialize;
use sqlx::{PgConnection, PgPool};
use time::OffsetDateTime;

use crate::accounts::contacts;
use crate::error::Result;
use crate::i18n::{format, Lang};
use crate::ids::{ProjectId, UserId};

/// Sends e-mail. Implementations must not block the runtime for long.
pub trait Mailer: Send + Sync {
    /// Sends one message.
    fn send(&self, to: &str, subject: &str, body: &str);
}

/// The default sender: writes each message to the log.
pub struct LogMailer;

impl Mailer for LogMailer {
    fn send(&self, to: &str, subject: &str, body: &str) {
        // The address and the text are personal data: INFO says only that a message went out.
        tracing::info!(subject, "e-mail (logged, not sent)");
        tracing::debug!(to, body, "e-mail contents");
    }
}

/// What a notification tells: how a project the user took part in settled, or what the
/// regulator did to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, sqlx::Type, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
#[sqlx(type_name = "text", rename_all = "snake_case")]
pub enum NoticeKind {
    ProjectFunded,
    ProjectFailed,
    ProjectCancelled,
    RegulatorApproved,
    RegulatorRejected,
    RegulatorFrozen,
    RegulatorUnfrozen,
    RegulatorCancelled,
}

impl NoticeKind {
    /// The stored and published name (also the last part of its catalogue keys).
    pub fn as_str(self) -> &'static str {
        match self {
            NoticeKind::ProjectFunded => "project_funded",
            NoticeKind::ProjectFailed => "project_failed",
            NoticeKind::ProjectCancelled => "project_cancelled",
            NoticeKind::RegulatorApproved => "regulator_approved",
            NoticeKind::RegulatorRejected => "regulator_rejected",
            NoticeKind::RegulatorFrozen => "regulator_frozen",
            NoticeKind::RegulatorUnfrozen => "regulator_unfrozen",
            NoticeKind::RegulatorCancelled => "regulator_cancelled",
        }
    }

    /// Whether it tells how the project settled (so a backer has a receipt to look at).
    pub fn is_settlement(self) -> bool {
        matches!(
            self,
            NoticeKind::ProjectFunded | NoticeKind::ProjectFailed | NoticeKind::ProjectCancelled
        )
    }

    /// The catalogue key of its text on the notifications page (and of the e-mail body).
    fn text_key(self) -> &'static str {
        match self {
            NoticeKind::ProjectFunded => "settlement.notice.project_funded",
            NoticeKind::ProjectFailed => "settlement.notice.project_failed",
            NoticeKind::ProjectCancelled => "settlement.notice.project_cancelled",
            NoticeKind::RegulatorApproved => "settlement.notice.regulator_approved",
            NoticeKind::RegulatorRejected => "settlement.notice.regulator_rejected",
            NoticeKind::RegulatorFrozen => "settlement.notice.regulator_frozen",
            NoticeKind::RegulatorUnfrozen => "settlement.notice.regulator_unfrozen",
            NoticeKind::RegulatorCancelled => "settlement.notice.regulator_cancelled",
        }
    }

    /// The catalogue key of its e-mail subject.
    fn subject_key(self) -> &'static str {
        match self {
            NoticeKind::ProjectFunded => "settlement.mail_subject.project_funded",
            NoticeKind::ProjectFailed => "settlement.mail_subject.project_failed",
            NoticeKind::ProjectCancelled => "settlement.mail_subject.project_cancelled",
            NoticeKind::RegulatorApproved => "settlement.mail_subject.regulator_approved",
            NoticeKind::RegulatorRejected => "settlement.mail_subject.regulator_rejected",
            NoticeKind::RegulatorFrozen => "settlement.mail_subject.regulator_frozen",
            NoticeKind::RegulatorUnfrozen => "settlement.mail_subject.regulator_unfrozen",
            NoticeKind::RegulatorCancelled => "settlement.mail_subject.regulator_cancelled",
        }
    }
}

/// The parameters a notification's text is filled with: the project's title, and what the kind
/// tells (the amount collected, the regulator's reason). Missing ones read as empty.
fn fill(lang: Lang, key: &str, params: &serde_json::Value) -> String {
    let text = |name: &str| params[name].as_str().unwrap_or_default().to_owned();
    let amount = text("collected")
        .parse::<Decimal>()
        .map(|a| format::money(lang, a, &text("currency")))
        .unwrap_or_default();
    lang.catalogue().fill(
        key,
        &[
            ("title", &text("title")),
            ("amount", &amount),
            ("reason", &text("reason")),
        ],
    )
}

/// What a notification says on the notifications page, in `lang`.
pub fn text(lang: Lang, kind: NoticeKind, params: &serde_json::Value) -> String {
    fill(lang, kind.text_key(), params)
}

/// One e-mail, composed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Letter {
    pub subject: String,
    pub body: String,
}

/// The e-mail of a notification in `lang`: a subject naming the project by its title, and the
/// notification's text with where to read more.
pub fn compose(lang: Lang, kind: NoticeKind, params: &serde_json::Value) -> Letter {
    let t = lang.catalogue();
    let mut body = text(lang, kind, params);
    body.push_str("\n\n");
    body.push_str(t.get("settlement.mail_footer"));
    Letter {
        subject: fill(lang, kind.subject_key(), params),
        body,
    }
}

impl std::fmt::Display for NoticeKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A stored notification.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Notification {
    pub id: i64,
    pub kind: NoticeKind,
    #[schema(value_type = Option<String>, format = Uuid)]
    pub project_id: Option<ProjectId>,
    #[schema(value_type = Object)]
    pub params: serde_json::Value,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
    /// When the user opened the notifications page after it came; `None`: unread.
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub read_at: Option<OffsetDateTime>,
}

/// The ids one [`store_many`] gave its notifications, first to last, so the e-mails of one
/// action go out once even when the project had earlier notifications of the same kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stored {
    first: i64,
    last: i64,
}

/// Stores the same notification for many users in one statement.
pub async fn store_many(
    conn: &mut PgConnection,
    users: &[UserId],
    project: ProjectId,
    kind: NoticeKind,
    params: &serde_json::Value,
) -> Result<Stored> {
    let (first, last): (i64, i64) = sqlx::query_as(
        "WITH stored AS (
            INSERT INTO notifications (user_id, project_id, kind, params)
            SELECT u, $2, $3, $4 FROM unnest($1::uuid[]) AS t(u)
            RETURNING id)
         SELECT coalesce(min(id), 0), coalesce(max(id), -1) FROM stored",
    )
    .bind(users)
    .bind(project)
    .bind(kind)
    .bind(params)
    .fetch_one(&mut *conn)
    .await?;
    Ok(Stored { first, last })
}

/// Marks the notifications `shown` to `user` read (those past the page, or arrived since it
/// was read, stay unread).
pub async fn mark_read(db: &PgPool, user: UserId, shown: &[i64]) -> Result<()> {
    sqlx::query(
        "UPDATE notifications SET read_at = now()
         WHERE user_id = $1 AND id = ANY($2) AND read_at IS NULL",
    )
    .bind(user)
    .bind(shown)
    .execute(db)
    .await?;
    Ok(())
}

/// How many of `user`'s notifications are unread.
pub async fn unread_count(db: &PgPool, user: UserId) -> Result<i64> {
    let count: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM notifications WHERE user_id = $1 AND read_at IS NULL",
    )
    .bind(user)
    .fetch_one(db)
    .await?;
    Ok(count)
}

/// A user's latest notifications.
pub async fn recent(db: &PgPool, user: UserId, limit: i64) -> Result<Vec<Notification>> {
    let rows = sqlx::query_as(
        "SELECT id, kind, project_id, params, created_at, read_at FROM notifications
          WHERE user_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2",
    )
    .bind(user)
    .bind(limit)
    .fetch_all(db)
    .await?;
    Ok(rows)
}

/// Addressees of one page of notifications.
const MAIL_PAGE: i64 = 1000;

/// One notification to e-mail: whom it is for, and what it says.
#[derive(sqlx::FromRow)]
struct Addressee {
    id: i64,
    user_id: UserId,
    params: serde_json::Value,
}

/// The language e-mails are written in. Users have no stored language yet (the site's is a
/// cookie of the browser), so every letter is in the site's default language, Chinese.
const MAIL_LANG: Lang = Lang::Zh;

/// E-mails everyone notified about `project` with `kind` (a settlement notifies once per
/// project), a page of addresses at a time, so a project with 200,000 backers does not hold
/// them all in memory.
pub async fn mail_all(
    db: &PgPool,
    mailer: &dyn Mailer,
    project: ProjectId,
    kind: NoticeKind,
) -> Result<()> {
    mail_between(db, mailer, project, kind, 0, i64::MAX).await
}

/// E-mails the notifications of one [`store_many`], and no earlier ones of the same kind.
pub async fn mail_stored(
    db: &PgPool,
    mailer: &dyn Mailer,
    project: ProjectId,
    kind: NoticeKind,
    stored: Stored,
) -> Result<()> {
    mail_between(db, mailer, project, kind, stored.first - 1, stored.last).await
}

/// E-mails the notifications of `project` with `kind` whose ids lie in `(after, upto]`. The
/// addresses are the accounts room's ([`contacts::of`]); a user who has no address any more is
/// skipped.
async fn mail_between(
    db: &PgPool,
    mailer: &dyn Mailer,
    project: ProjectId,
    kind: NoticeKind,
    mut after: i64,
    upto: i64,
) -> Result<()> {
    loop {
        let page: Vec<Addressee> = sqlx::query_as(
            "SELECT id, user_id, params FROM notifications
              WHERE project_id = $1 AND kind = $2 AND id > $3 AND id <= $4
              ORDER BY id LIMIT $5",
        )
        .bind(project)
        .bind(kind)
        .bind(after)
        .bind(upto)
        .bind(MAIL_PAGE)
        .fetch_all(db)
        .await?;
        let Some(last) = page.last() else {
            return Ok(());
        };
        after = last.id;
        let users: Vec<UserId> = page.iter().map(|n| n.user_id).collect();
        let contacts = contacts::of(db, &users).await?;
        // In notification order, as before: one message per notification.
        for n in &page {
            if let Some(contact) = contacts.get(&n.user_id) {
                let letter = compose(MAIL_LANG, kind, &n.params);
                mailer.send(&contact.email, &letter.subject, &letter.body);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn funded() -> serde_json::Value {
        serde_json::json!({"title": "山间茶园", "slug": "tea", "collected": "1234.50", "currency": "CNY"})
    }

    #[test]
    fn the_subject_carries_the_project_title_in_both_languages() {
        for lang in [Lang::Zh, Lang::En] {
            let letter = compose(lang, NoticeKind::ProjectFunded, &funded());
            assert!(
                letter.subject.contains("山间茶园"),
                "{lang:?}: {}",
                letter.subject
            );
            assert!(
                !letter.subject.contains("project_funded"),
                "{}",
                letter.subject
            );
        }
    }

    #[test]
    fn the_body_is_written_in_the_readers_language_with_the_amount() {
        let zh = compose(Lang::Zh, NoticeKind::ProjectFunded, &funded());
        let en = compose(Lang::En, NoticeKind::ProjectFunded, &funded());
        assert!(zh.body.contains("¥1,234.50"), "{}", zh.body);
        assert!(en.body.contains("CN¥1,234.50"), "{}", en.body);
        assert_ne!(zh.subject, en.subject);
        assert!(en.body.contains("funded"), "{}", en.body);
    }

    #[test]
    fn a_regulator_notice_gives_the_reason() {
        let params = serde_json::json!({"title": "Tea", "reason": "misleading claims"});
        for lang in [Lang::Zh, Lang::En] {
            let letter = compose(lang, NoticeKind::RegulatorFrozen, &params);
            assert!(letter.body.contains("misleading claims"), "{}", letter.body);
            assert!(letter.subject.contains("Tea"), "{}", letter.subject);
        }
    }

    #[test]
    fn every_kind_has_its_texts_in_both_catalogues() {
        let kinds = [
            NoticeKind::ProjectFunded,
            NoticeKind::ProjectFailed,
            NoticeKind::ProjectCancelled,
            NoticeKind::RegulatorApproved,
            NoticeKind::RegulatorRejected,
            NoticeKind::RegulatorFrozen,
            NoticeKind::RegulatorUnfrozen,
            NoticeKind::RegulatorCancelled,
        ];
        for lang in [Lang::Zh, Lang::En] {
            for kind in kinds {
                assert!(lang.catalogue().has(kind.text_key()), "{}", kind.text_key());
                assert!(
                    lang.catalogue().has(kind.subject_key()),
                    "{}",
                    kind.subject_key()
                );
            }
        }
    }
}
