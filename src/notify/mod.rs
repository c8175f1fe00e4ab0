//! Notifications and e-mail. A notification is stored for the user's pages and, in the same
//! transaction as its cause, its letter is queued in the outbox in the reader's language
//! ([`tell`]); the sender worker delivers the outbox ([`sender`]) through a [`mailer::Mailer`].
//! What a notification says is composed here from its kind and parameters.

pub mod api;
pub mod mailer;
pub mod outbox;
pub mod pages;
pub mod sender;
mod store;

use rust_decimal::Decimal;
use serde::Serialize;

use crate::i18n::{format, Lang};

pub use store::{mark_read, recent, store_many, tell, unread_count, Notification};

/// What a notification tells: how a project the user took part in settled, what the regulator
/// did, what happened in a discussion, a project the user follows, or the user's wallet.
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
    /// To a founder: someone commented on the project (`name`: who).
    CommentPosted,
    /// To a commenter: someone replied (`name`: who).
    CommentReplied,
    /// To a commenter: the regulator hid the comment (`reason`).
    CommentHidden,
    /// To a follower: the project is live.
    ProjectLaunched,
    /// To a follower who has not backed it: the project closes within 48 hours.
    DeadlineNear,
    /// The money of a withdrawal reached the bank (`amount`, `currency`).
    WithdrawalCompleted,
    /// A withdrawal failed and its money is back in the wallet (`amount`, `currency`, `reason`).
    WithdrawalFailed,
    /// The regulator verified the user's identity.
    IdentityVerified,
    /// An exchange order traded (`shares` of its `ordered`, at `amount` a share).
    OrderFilled,
}

impl NoticeKind {
    /// Every kind, in the order of the catalogue.
    pub const ALL: [NoticeKind; 17] = [
        NoticeKind::ProjectFunded,
        NoticeKind::ProjectFailed,
        NoticeKind::ProjectCancelled,
        NoticeKind::RegulatorApproved,
        NoticeKind::RegulatorRejected,
        NoticeKind::RegulatorFrozen,
        NoticeKind::RegulatorUnfrozen,
        NoticeKind::RegulatorCancelled,
        NoticeKind::CommentPosted,
        NoticeKind::CommentReplied,
        NoticeKind::CommentHidden,
        NoticeKind::ProjectLaunched,
        NoticeKind::DeadlineNear,
        NoticeKind::WithdrawalCompleted,
        NoticeKind::WithdrawalFailed,
        NoticeKind::IdentityVerified,
        NoticeKind::OrderFilled,
    ];

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
            NoticeKind::CommentPosted => "comment_posted",
            NoticeKind::CommentReplied => "comment_replied",
            NoticeKind::CommentHidden => "comment_hidden",
            NoticeKind::ProjectLaunched => "project_launched",
            NoticeKind::DeadlineNear => "deadline_near",
            NoticeKind::WithdrawalCompleted => "withdrawal_completed",
            NoticeKind::WithdrawalFailed => "withdrawal_failed",
            NoticeKind::IdentityVerified => "identity_verified",
            NoticeKind::OrderFilled => "order_filled",
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
    fn text_key(self) -> String {
        format!("notify.notice.{}", self.as_str())
    }

    /// The catalogue key of its e-mail subject.
    fn subject_key(self) -> String {
        format!("notify.mail_subject.{}", self.as_str())
    }
}

impl std::fmt::Display for NoticeKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The parameters a notification's text is filled with: the project's title, who acted
/// (`name`), and what the kind tells (an amount with its currency, the regulator's reason).
/// Missing ones read as empty. The amount is `collected` for a settlement, else `amount`.
fn fill(lang: Lang, key: &str, params: &serde_json::Value) -> String {
    let text = |name: &str| params[name].as_str().unwrap_or_default().to_owned();
    let amount = [text("collected"), text("amount")]
        .iter()
        .find_map(|a| a.parse::<Decimal>().ok())
        .map(|a| format::money(lang, a, &text("currency")))
        .unwrap_or_default();
    lang.catalogue().fill(
        key,
        &[
            ("title", &text("title")),
            ("name", &text("name")),
            ("amount", &amount),
            ("reason", &text("reason")),
            ("shares", &text("shares")),
            ("ordered", &text("ordered")),
        ],
    )
}

/// What a notification says on the notifications page, in `lang`.
pub fn text(lang: Lang, kind: NoticeKind, params: &serde_json::Value) -> String {
    fill(lang, &kind.text_key(), params)
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
    body.push_str(t.get("notify.mail_footer"));
    Letter {
        subject: fill(lang, &kind.subject_key(), params),
        body,
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
        for lang in [Lang::Zh, Lang::En] {
            for kind in NoticeKind::ALL {
                assert!(
                    lang.catalogue().has(&kind.text_key()),
                    "{}",
                    kind.text_key()
                );
                assert!(
                    lang.catalogue().has(&kind.subject_key()),
                    "{}",
                    kind.subject_key()
                );
            }
        }
    }
}
