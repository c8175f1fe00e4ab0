//! The letters of this room (a reset link, an e-mail change to confirm), written in the
//! reader's language and queued through the notify room's outbox in the same transaction as
//! their token, so a link exists exactly when its letter does.

use crate::accounts::domain::Email;
use crate::accounts::{email_change, profile, reset, sessions, User};
use crate::app::AppState;
use crate::error::{Error, Result};
use crate::i18n::Lang;
use crate::notify::{outbox, Letter};

/// The absolute address of `path` on this site.
fn link(state: &AppState, path: &str) -> String {
    format!("{}{path}", state.settings.public_url.trim_end_matches('/'))
}

fn letter(lang: Lang, key: &str, link: &str) -> Letter {
    let t = lang.catalogue();
    Letter {
        subject: t.get(&format!("accounts.mail.{key}_subject")).to_owned(),
        body: t.fill(&format!("accounts.mail.{key}_body"), &[("link", link)]),
    }
}

/// Issues a reset token for `email` and queues its letter, when the address has an account.
pub async fn send_reset(state: &AppState, email: &str) -> Result<()> {
    let mut tx = state.db.begin().await?;
    if let Some(issued) = reset::issue(&mut tx, email).await? {
        let url = link(state, &format!("/reset-password?token={}", issued.token));
        outbox::enqueue(
            &mut tx,
            &issued.email,
            &letter(issued.language, "reset", &url),
        )
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Records a pending change of `user`'s address and mails its link to the new address.
pub async fn send_email_change(state: &AppState, user: &User, email: &Email) -> Result<()> {
    let lang = profile::language(&state.db, user.id).await?;
    let mut tx = state.db.begin().await?;
    let token = email_change::request(&mut tx, user.id, email).await?;
    let url = link(state, &format!("/me/email/confirm?token={token}"));
    outbox::enqueue(&mut tx, email.as_str(), &letter(lang, "email_change", &url)).await?;
    tx.commit().await?;
    Ok(())
}

/// Deletes `user`'s account when `password` is theirs: the personal data goes, and so do the
/// letters still waiting for their address.
pub async fn delete_account(state: &AppState, user: &User, password: String) -> Result<()> {
    if !sessions::check_password(&state.db, user.id, password).await? {
        return Err(Error::invalid("accounts.error.current_password_wrong"));
    }
    let mut tx = state.db.begin().await?;
    outbox::forget_address(&mut tx, &user.email).await?;
    profile::delete(&mut tx, user.id).await?;
    tx.commit().await?;
    Ok(())
}
