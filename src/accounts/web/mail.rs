//! The letters of this room (a reset link, an e-mail change to confirm), written in the
//! reader's language and queued through the notify room's outbox in the same transaction as
//! their token, so a link exists exactly when its letter does.

use crate::accounts::domain::Email;
use crate::accounts::throttle::Refused;
use crate::accounts::{email_change, profile, reset, sessions, User};
use crate::app::AppState;
use crate::error::{Error, Result};
use crate::i18n::Lang;
use crate::ids::UserId;
use crate::money::{self, withdrawals};
use crate::notify::{outbox, Letter};
use crate::{pledges, projects};
use sqlx::PgConnection;

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

/// Records a pending change of `user`'s address, when `password` is theirs and they have not
/// asked too often, and mails its link to the new address.
pub async fn send_email_change(
    state: &AppState,
    user: &User,
    email: &Email,
    password: String,
) -> std::result::Result<(), Refused> {
    sessions::confirm_password(&state.db, user.id, password).await?;
    let lang = profile::language(&state.db, user.id).await?;
    let mut tx = state.db.begin().await.map_err(Error::from)?;
    email_change::admit(&mut tx, user.id).await?;
    Ok(queue_email_change(state, tx, user, email, lang).await?)
}

/// Records the change and queues its link in `tx`, then commits.
async fn queue_email_change(
    state: &AppState,
    mut tx: sqlx::Transaction<'_, sqlx::Postgres>,
    user: &User,
    email: &Email,
    lang: Lang,
) -> Result<()> {
    let token = email_change::request(&mut tx, user.id, email).await?;
    let url = link(state, &format!("/me/email/confirm?token={token}"));
    outbox::enqueue(&mut tx, email.as_str(), &letter(lang, "email_change", &url)).await?;
    tx.commit().await?;
    Ok(())
}

/// Opens an e-mail change link: the account takes the new address, and the old address is
/// told (in the same transaction), so a change its owner did not make does not go unseen.
pub async fn confirm_email_change(state: &AppState, token: &str) -> Result<UserId> {
    let mut tx = state.db.begin().await?;
    let changed = email_change::confirm(&mut tx, token).await?;
    let lang = Lang::from_code(&changed.language).unwrap_or(Lang::Zh);
    let t = lang.catalogue();
    let notice = Letter {
        subject: t.get("accounts.mail.email_changed_subject").to_owned(),
        body: t.get("accounts.mail.email_changed_body").to_owned(),
    };
    outbox::enqueue(&mut tx, &changed.old_email, &notice).await?;
    tx.commit().await?;
    Ok(changed.user)
}

/// Deletes `user`'s account when `password` is theirs and nothing of theirs is still under
/// way: the personal data goes (here and, through their functions, in the rooms that keep some),
/// and so do the letters still waiting for their address or a pending new one. Refused (409)
/// while the account holds money, backs a pledge, waits for a withdrawal or founds a project
/// that has not ended, since deleting it then would strand money. The checks run in the
/// deletion's transaction, after the user's row is locked.
pub async fn delete_account(
    state: &AppState,
    user: &User,
    password: String,
) -> std::result::Result<(), Refused> {
    sessions::confirm_password(&state.db, user.id, password).await?;
    Ok(delete_now(state, user).await?)
}

/// Deletes `user`'s account once their password is confirmed.
async fn delete_now(state: &AppState, user: &User) -> Result<()> {
    let mut tx = state.db.begin().await?;
    let pending_emails = email_change::pending_addresses(&mut tx, user.id).await?;
    profile::delete(&mut tx, user.id).await?;
    refuse_while_under_way(&mut tx, user.id).await?;
    outbox::forget_address(&mut tx, &user.email).await?;
    for address in &pending_emails {
        outbox::forget_address(&mut tx, address).await?;
    }
    reset::forget_requests(&mut tx, &user.email).await?;
    pledges::forget_addresses_of(&mut tx, user.id).await?;
    withdrawals::forget_accounts_of(&mut tx, user.id).await?;
    tx.commit().await?;
    Ok(())
}

/// Refuses the deletion of `user` while money or a project of theirs is still under way.
async fn refuse_while_under_way(conn: &mut PgConnection, user: UserId) -> Result<()> {
    if money::holds_money(conn, user).await? {
        return Err(Error::conflict("accounts.error.delete_wallet"));
    }
    if pledges::active_count(conn, user).await? > 0 {
        return Err(Error::conflict("accounts.error.delete_pledges"));
    }
    if withdrawals::pending_of(conn, user).await? > 0 {
        return Err(Error::conflict("accounts.error.delete_withdrawals"));
    }
    if projects::unsettled_founded(conn, user).await? > 0 {
        return Err(Error::conflict("accounts.error.delete_projects"));
    }
    Ok(())
}
