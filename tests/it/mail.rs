//! E-mail through the outbox to a real SMTP server process: letters are queued with their
//! cause, written in each reader's language, and survive a mail server that is down.

use std::collections::HashSet;
use std::time::Duration;

use crate::support::*;
use zhonglian::ids::UserId;
use zhonglian::notify::{outbox, Letter};

/// The address of a user made directly in the database.
async fn email_of(app: &TestApp, user: UserId) -> String {
    sqlx::query_scalar("SELECT email FROM users WHERE id = $1")
        .bind(user)
        .fetch_one(&app.db)
        .await
        .expect("email")
}

async fn waiting_letters(app: &TestApp) -> i64 {
    outbox::counts(&app.db).await.expect("outbox").0
}

/// The letters still waiting once the sender has had up to 10 s to forget the delivered ones
/// (the mail server has a letter a moment before the sender deletes its row).
async fn letters_left(app: &TestApp) -> i64 {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let left = waiting_letters(app).await;
        if left == 0 || std::time::Instant::now() > deadline {
            return left;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_freeze_mails_the_founder_and_the_backers_each_in_their_own_language() {
    let smtp = SmtpServer::start();
    let app = TestApp::spawn_with_mail(&smtp).await;
    let (project, _) = app.live_reward_project(&[("20.00", None)]).await;
    let founder: UserId = sqlx::query_scalar("SELECT founder_id FROM projects WHERE id = $1")
        .bind(project)
        .fetch_one(&app.db)
        .await
        .expect("founder");
    let backer = app.fixture_backer().await;
    app.fund(&backer, "100.00").await;
    let pledged = app
        .pledge(
            &backer.token,
            project,
            serde_json::json!({"amount": "10.00"}),
            None,
        )
        .await;
    assert_status(&pledged, 201);
    sqlx::query("UPDATE users SET language = 'en' WHERE id = $1")
        .bind(backer.id)
        .execute(&app.db)
        .await
        .expect("language");
    let regulator = app.login_as_regulator().await;

    let frozen = app
        .regulate(
            &regulator,
            project,
            "freeze",
            "Misleading claims in the story.",
        )
        .await;

    assert_status(&frozen, 200);
    let to_founder = smtp.wait_for(&email_of(&app, founder).await, 1).await;
    assert!(to_founder[0].subject.starts_with("众链"), "{to_founder:?}");
    assert!(
        to_founder[0].body.contains("Misleading claims"),
        "{to_founder:?}"
    );
    let to_backer = smtp.wait_for(&email_of(&app, backer.id).await, 1).await;
    assert!(to_backer[0].subject.contains("was frozen"), "{to_backer:?}");
    assert!(
        to_backer[0].body.contains("Misleading claims"),
        "{to_backer:?}"
    );
    assert_eq!(
        letters_left(&app).await,
        0,
        "delivered letters leave the outbox"
    );
}

#[tokio::test]
async fn letters_queued_while_the_mail_server_is_down_arrive_once_when_it_returns() {
    let mut smtp = SmtpServer::start();
    let app = TestApp::spawn_with_mail(&smtp).await;
    smtp.stop();
    let mut conn = app.db.acquire().await.expect("connection");
    for n in 0..30 {
        let letter = Letter {
            subject: format!("Letter {n}"),
            body: format!("Body {n}: 众链"),
        };
        outbox::enqueue(&mut conn, "waiting@example.com", &letter)
            .await
            .expect("queued");
    }
    drop(conn);

    tokio::time::sleep(Duration::from_secs(2)).await;
    let waiting_while_down = waiting_letters(&app).await;
    smtp.start_again();
    let mails = smtp.wait_for("waiting@example.com", 30).await;

    assert_eq!(
        waiting_while_down, 30,
        "nothing is lost while the server is down"
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mails_later = smtp.wait_for("waiting@example.com", 30).await;
    assert_eq!(mails_later.len(), 30, "no letter arrives twice");
    let ids: HashSet<_> = mails.iter().map(|m| m.message_id.clone()).collect();
    assert_eq!(ids.len(), 30, "each letter has its own Message-ID");
    let subjects: HashSet<_> = mails.iter().map(|m| m.subject.clone()).collect();
    assert!(subjects.contains("Letter 0") && subjects.contains("Letter 29"));
    assert!(
        mails.iter().all(|m| m.body.contains("众链")),
        "UTF-8 bodies survive"
    );
    assert_eq!(letters_left(&app).await, 0);
}

#[tokio::test]
async fn without_a_mail_server_letters_wait_in_the_outbox() {
    let app = TestApp::spawn().await;
    let (project, _) = app.live_reward_project(&[("20.00", None)]).await;
    let regulator = app.login_as_regulator().await;

    let frozen = app
        .regulate(
            &regulator,
            project,
            "freeze",
            "Misleading claims in the story.",
        )
        .await;

    assert_status(&frozen, 200);
    assert_eq!(waiting_letters(&app).await, 1, "the founder's letter waits");
}
