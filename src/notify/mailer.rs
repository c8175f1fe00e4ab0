//! Where letters go: a mail server over SMTP ([`SmtpMailer`], through lettre), or the log
//! ([`LogMailer`], for the demo). The sender tells a failure that may pass (the server is down,
//! busy, or answered 4xx) from one that will not (5xx, a malformed address).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use lettre::message::header::ContentType;
use lettre::message::Mailbox;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use secrecy::{ExposeSecret, SecretString};

use super::outbox::Outgoing;
use crate::config::Settings;

/// Why a letter was not sent.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    /// Try again later.
    #[error("mail server unavailable: {0}")]
    Transient(String),
    /// Trying again would give the same answer.
    #[error("letter refused: {0}")]
    Permanent(String),
}

/// Sends one letter. Implementations must not block the runtime.
pub trait Mailer: Send + Sync {
    /// Hands `letter` to the mail server (or wherever this mailer puts letters).
    fn send<'a>(
        &'a self,
        letter: &'a Outgoing,
    ) -> Pin<Box<dyn Future<Output = Result<(), MailError>> + Send + 'a>>;
}

/// Writes each letter to the log (its address and text only at DEBUG: they are personal data).
pub struct LogMailer;

impl Mailer for LogMailer {
    fn send<'a>(
        &'a self,
        letter: &'a Outgoing,
    ) -> Pin<Box<dyn Future<Output = Result<(), MailError>> + Send + 'a>> {
        Box::pin(async move {
            tracing::info!(subject = %letter.subject, "e-mail (logged, not sent)");
            tracing::debug!(to = %letter.to_address, body = %letter.body, "e-mail contents");
            Ok(())
        })
    }
}

/// How long one SMTP conversation may take before it counts as failed (shorter than the
/// sender's lease on the letter, so a slow server never gets one letter sent twice at once).
pub const SMTP_TIMEOUT: Duration = Duration::from_secs(20);

/// Sends through a mail server.
pub struct SmtpMailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    /// The domain of `Message-ID`s: the sender's.
    domain: String,
}

impl SmtpMailer {
    /// A mailer for `url` (see `SMTP_URL` in the settings) sending as `from`.
    pub fn new(url: &SecretString, from: &str) -> anyhow::Result<Self> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url.expose_secret())
            .map_err(|e| anyhow::anyhow!("SMTP_URL is not a mail server address: {e}"))?
            .timeout(Some(SMTP_TIMEOUT))
            .build();
        let from: Mailbox = from
            .parse()
            .map_err(|e| anyhow::anyhow!("MAIL_FROM is not an address: {e}"))?;
        let domain = from.email.domain().to_owned();
        Ok(Self {
            transport,
            from,
            domain,
        })
    }

    /// The message of `letter`: plain UTF-8 text, with a `Message-ID` of the outbox row, so a
    /// letter sent again after a crash between sending and forgetting it can be recognised.
    fn message(&self, letter: &Outgoing) -> Result<Message, MailError> {
        let to: Mailbox = letter
            .to_address
            .parse()
            .map_err(|e| MailError::Permanent(format!("bad address: {e}")))?;
        Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(letter.subject.clone())
            .message_id(Some(format!(
                "<outbox.{}.{}@{}>",
                letter.id,
                letter.created_at.unix_timestamp_nanos(),
                self.domain
            )))
            .header(ContentType::TEXT_PLAIN)
            .body(letter.body.clone())
            .map_err(|e| MailError::Permanent(format!("bad letter: {e}")))
    }
}

impl Mailer for SmtpMailer {
    fn send<'a>(
        &'a self,
        letter: &'a Outgoing,
    ) -> Pin<Box<dyn Future<Output = Result<(), MailError>> + Send + 'a>> {
        Box::pin(async move {
            let message = self.message(letter)?;
            match self.transport.send(message).await {
                Ok(_) => Ok(()),
                Err(e) if e.is_permanent() => Err(MailError::Permanent(e.to_string())),
                Err(e) => Err(MailError::Transient(e.to_string())),
            }
        })
    }
}

/// The mailer the settings ask for: SMTP when `SMTP_URL` is set, the log when `MAIL_LOG` is,
/// else none (letters wait in the outbox until a mail server is configured).
pub fn from_settings(settings: &Settings) -> anyhow::Result<Option<Arc<dyn Mailer>>> {
    Ok(match &settings.smtp_url {
        Some(url) => Some(Arc::new(SmtpMailer::new(url, &settings.mail_from)?)),
        None if settings.mail_log => Some(Arc::new(LogMailer)),
        None => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn letter(to: &str) -> Outgoing {
        Outgoing {
            id: 7,
            to_address: to.into(),
            subject: "众链：密码重置".into(),
            body: "链接：http://127.0.0.1/reset?token=abc".into(),
            attempts: 1,
            created_at: time::OffsetDateTime::UNIX_EPOCH,
        }
    }

    // The transport's connection pool needs a runtime to drop in: these tests run in one.
    fn mailer() -> SmtpMailer {
        SmtpMailer::new(
            &"smtp://127.0.0.1:2525".into(),
            "众链 <no-reply@zhonglian.test>",
        )
        .expect("mailer")
    }

    #[tokio::test]
    async fn a_letter_carries_its_outbox_id_in_the_message_id() {
        let message = mailer().message(&letter("a@example.com")).expect("message");
        let text = String::from_utf8(message.formatted()).expect("utf-8");
        assert!(
            text.contains("Message-ID: <outbox.7.0@zhonglian.test>"),
            "{text}"
        );
        assert!(text.contains("To: a@example.com"), "{text}");
    }

    #[tokio::test]
    async fn a_malformed_address_is_a_permanent_failure() {
        assert!(matches!(
            mailer().message(&letter("not an address")),
            Err(MailError::Permanent(_))
        ));
    }

    #[tokio::test]
    async fn settings_without_a_mail_server_send_nothing() {
        let settings = Settings::for_data_dir("data".into());
        assert!(from_settings(&settings).expect("settings").is_none());
        let mut logged = settings.clone();
        logged.mail_log = true;
        assert!(from_settings(&logged).expect("settings").is_some());
    }

    #[tokio::test]
    async fn a_bad_mail_server_address_is_refused_at_start() {
        let mut settings = Settings::for_data_dir("data".into());
        settings.smtp_url = Some("ftp://nowhere".into());
        assert!(from_settings(&settings).is_err());
    }
}
