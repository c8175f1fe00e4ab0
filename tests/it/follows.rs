//! Following a project (also from its "launching soon" page), and the reminders its followers
//! are sent once each: when it launches, and 48 hours before its deadline unless they backed it.

use std::collections::HashSet;

use serde_json::{json, Value};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::support::*;
use zhonglian::community::reminders::{Pass, Reminders};
use zhonglian::ids::{ProjectId, UserId};

/// A project approved to launch an hour from now; returns its id and slug.
async fn scheduled_project(app: &TestApp, title: &str) -> (ProjectId, String) {
    let founder = app.login_as_founder().await;
    let regulator = app.login_as_regulator().await;
    let created = app.create_reward_project_json(&founder, title).await;
    let id = project_id(&created);
    app.submit(&founder, id).await;
    let launch_at = (OffsetDateTime::now_utc() + time::Duration::hours(1))
        .format(&Rfc3339)
        .unwrap();
    let approved = app
        .post_json(
            &format!("/regulator/projects/{id}/approve"),
            &regulator,
            json!({"launch_at": launch_at}),
        )
        .await;
    assert_status(&approved, 200);
    (id, created["slug"].as_str().unwrap().to_owned())
}

/// Its launch time comes: the clock is moved for the project, not for the test (to now, after
/// every follow so far).
async fn launch_time_comes(app: &TestApp, project: ProjectId) {
    sqlx::query("UPDATE projects SET launched_at = now() WHERE id = $1")
        .bind(project)
        .execute(&app.db)
        .await
        .expect("launch time");
}

async fn follow(app: &TestApp, who: &Backer, project: ProjectId) -> (u16, Value) {
    let (status, body) = app
        .post_json(&format!("/projects/{project}/follow"), who, json!({}))
        .await;
    (status.as_u16(), body)
}

async fn pass(app: &TestApp) -> Pass {
    Reminders::new(app.db.clone()).pass().await.expect("pass")
}

/// The users told of `kind` about `project`.
async fn told(app: &TestApp, project: ProjectId, kind: &str) -> Vec<UserId> {
    sqlx::query_scalar(
        "SELECT user_id FROM notifications WHERE project_id = $1 AND kind = $2 ORDER BY user_id",
    )
    .bind(project)
    .bind(kind)
    .fetch_all(&app.db)
    .await
    .expect("notifications")
}

async fn letters_to(app: &TestApp, user: UserId) -> i64 {
    sqlx::query_scalar(
        "SELECT count(*) FROM mail_outbox o JOIN users u ON u.email = o.to_address WHERE u.id = $1",
    )
    .bind(user)
    .fetch_one(&app.db)
    .await
    .expect("outbox")
}

#[tokio::test]
async fn following_a_project_twice_keeps_one_follow() {
    let app = TestApp::spawn().await;
    let (project, _) = app.live_reward_project(&[("20.00", None)]).await;
    let backer = app.fixture_backer().await;

    let first = follow(&app, &backer, project).await;
    let second = follow(&app, &backer, project).await;

    assert_eq!(first, (200, json!({"following": true, "followers": 1})));
    assert_eq!(second, (200, json!({"following": true, "followers": 1})));
}

#[tokio::test]
async fn the_project_page_and_its_api_count_the_followers() {
    let app = TestApp::spawn().await;
    let (project, _) = app.live_reward_project(&[("20.00", None)]).await;
    for _ in 0..3 {
        let backer = app.fixture_backer().await;
        assert_eq!(follow(&app, &backer, project).await.0, 200);
    }
    let leaving = app.fixture_backer().await;
    follow(&app, &leaving, project).await;
    let path = format!("/projects/{project}/follow");
    assert_status(&app.delete_json(&path, &leaving).await, 200);
    // A follower who goes away with their account (the follow goes with it) is not counted.
    let gone = app.fixture_backer().await;
    follow(&app, &gone, project).await;
    sqlx::query("DELETE FROM project_follows WHERE user_id = $1")
        .bind(gone.id)
        .execute(&app.db)
        .await
        .unwrap();
    let other = app.fixture_backer().await;
    assert_eq!(follow(&app, &other, project).await.0, 200);

    let (status, detail) = app
        .get_json(&format!("/projects/{project}"), &Anonymous)
        .await;
    let page = app
        .client
        .get(app.url(&format!("/projects/{project}")))
        .header("accept-language", "en")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();

    assert_eq!(status, 200);
    assert_eq!(detail["followers"], 4);
    assert!(
        detail.get("discussed").is_none(),
        "the page's own hint is not in the API"
    );
    assert!(page.contains("4 followers"), "{page}");
}

#[tokio::test]
async fn a_follow_waits_for_one_in_progress_and_never_passes_the_limit_of_five_hundred() {
    let app = std::sync::Arc::new(TestApp::spawn().await);
    let founder = app.fixture_user(&["founder"]).await;
    let backer = app.fixture_backer().await;
    // 501 live projects; the backer already follows 499 of them.
    let projects: Vec<ProjectId> = sqlx::query_scalar(
        "INSERT INTO projects (id, founder_id, slug, title, summary, category, kind, state, goal,
                               deadline, launched_at)
         SELECT gen_random_uuid(), $1, 'many-' || n, 'Project ' || n, 'One of many', 'design',
                'reward', 'live', 10000, now() + interval '7 days', now() - interval '1 hour'
           FROM generate_series(1, 501) AS n
         RETURNING id",
    )
    .bind(founder.id)
    .fetch_all(&app.db)
    .await
    .expect("projects");
    sqlx::query("INSERT INTO project_follows (user_id, project_id) SELECT $1, unnest($2::uuid[])")
        .bind(backer.id)
        .bind(projects[..499].iter().map(|p| p.0).collect::<Vec<_>>())
        .execute(&app.db)
        .await
        .expect("follows");
    // Another follow of the backer's is under way: it holds their follow lock and has added
    // the 500th, not yet committed.
    let mut other = app.db.begin().await.unwrap();
    zhonglian::community::follows::lock_follows(&mut other, backer.id)
        .await
        .unwrap();
    sqlx::query("INSERT INTO project_follows (user_id, project_id) VALUES ($1, $2)")
        .bind(backer.id)
        .bind(projects[499])
        .execute(&mut *other)
        .await
        .unwrap();

    let last = projects[500];
    let racing = {
        let (app, backer) = (app.clone(), backer.clone());
        tokio::spawn(async move { follow(&app, &backer, last).await.0 })
    };
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    other.commit().await.unwrap();
    let status = racing.await.unwrap();

    let follows: i64 =
        sqlx::query_scalar("SELECT count(*) FROM project_follows WHERE user_id = $1")
            .bind(backer.id)
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(status, 409);
    assert_eq!(follows, 500);
}

#[tokio::test]
async fn unfollowing_twice_leaves_the_project_unfollowed() {
    let app = TestApp::spawn().await;
    let (project, _) = app.live_reward_project(&[("20.00", None)]).await;
    let backer = app.fixture_backer().await;
    follow(&app, &backer, project).await;
    let path = format!("/projects/{project}/follow");

    let first = app.delete_json(&path, &backer).await;
    let second = app.delete_json(&path, &backer).await;

    for answer in [first, second] {
        assert_status(&answer, 200);
        assert_eq!(answer.1, json!({"following": false, "followers": 0}));
    }
}

#[tokio::test]
async fn following_needs_a_signed_in_user() {
    let app = TestApp::spawn().await;
    let (project, _) = app.live_reward_project(&[("20.00", None)]).await;

    let answer = app
        .post_json(
            &format!("/projects/{project}/follow"),
            &Anonymous,
            json!({}),
        )
        .await;

    assert_status(&answer, 401);
}

#[tokio::test]
async fn a_draft_cannot_be_followed_by_anyone_but_its_founder() {
    let app = TestApp::spawn().await;
    let founder = app.login_as_founder().await;
    let draft = app.create_reward_project(&founder, "Secret Draft").await;
    let backer = app.fixture_backer().await;

    let (status, _) = follow(&app, &backer, draft).await;

    assert_eq!(status, 404);
}

#[tokio::test]
async fn my_following_lists_the_followed_projects_newest_first() {
    let app = TestApp::spawn().await;
    let (older, _) = app.live_reward_project(&[("20.00", None)]).await;
    let (newer, _) = app.live_reward_project(&[("20.00", None)]).await;
    let (_not_followed, _) = app.live_reward_project(&[("20.00", None)]).await;
    let backer = app.fixture_backer().await;
    follow(&app, &backer, older).await;
    follow(&app, &backer, newer).await;

    let (status, body) = app.get_json("/me/following", &backer).await;

    assert_eq!(status, 200);
    let ids = strings_of(&json!({ "items": body }), "items", "project_id");
    assert_eq!(ids, vec![newer.to_string(), older.to_string()]);
}

#[tokio::test]
async fn a_visitor_follows_a_scheduled_project_from_its_launching_soon_page() {
    let app = TestApp::spawn().await;
    let (project, slug) = scheduled_project(&app, "Lantern Festival Kites").await;
    let backer = app.fixture_backer().await;
    let soon = format!("/projects/{slug}/soon");
    let page = app.html_as(&soon, &backer).await;
    assert!(page.contains("Lantern Festival Kites") && page.contains("id=\"launch-time\""));
    let csrf = form_field(&page, "csrf");

    let response = app
        .client
        .post(app.url(&format!("/projects/{slug}/follow")))
        .bearer_auth(&backer.token)
        .form(&[("csrf", csrf.as_str()), ("back", soon.as_str())])
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), 303);
    let location = response.headers()["location"].to_str().unwrap();
    assert!(location.starts_with(&soon), "back to the page: {location}");
    let (_, following) = app.get_json("/me/following", &backer).await;
    assert_eq!(following[0]["project_id"], project.to_string());
    let after = app.html_as(&soon, &backer).await;
    assert!(after.contains("id=\"unfollow-project\""));
}

#[tokio::test]
async fn the_launching_soon_page_of_a_launched_project_leads_to_its_page() {
    let app = TestApp::spawn().await;
    let (project, slug) = scheduled_project(&app, "Paper Cranes").await;
    launch_time_comes(&app, project).await;

    let response = app.get(&format!("/projects/{slug}/soon")).await;

    assert_eq!(response.status(), 303);
    assert_eq!(response.headers()["location"], format!("/projects/{slug}"));
}

#[tokio::test]
async fn followers_of_a_scheduled_project_are_told_once_when_it_launches() {
    let app = TestApp::spawn().await;
    let (project, _) = scheduled_project(&app, "Moon Cake Moulds").await;
    let followers = [app.fixture_backer().await, app.fixture_backer().await];
    for f in &followers {
        follow(&app, f, project).await;
    }
    let before = pass(&app).await;
    assert_eq!(before.launched, 0, "nothing before the launch time");
    launch_time_comes(&app, project).await;

    let first = pass(&app).await;
    let second = pass(&app).await;

    assert_eq!((first.launched, second.launched), (2, 0));
    let mut expected: Vec<UserId> = followers.iter().map(|f| f.id).collect();
    expected.sort();
    assert_eq!(told(&app, project, "project_launched").await, expected);
    for f in &followers {
        assert_eq!(letters_to(&app, f.id).await, 1, "one letter each");
    }
}

#[tokio::test]
async fn the_launch_is_mailed_to_a_follower_through_the_mail_server() {
    let smtp = SmtpServer::start();
    let app = TestApp::spawn_with_mail(&smtp).await;
    let (project, slug) = scheduled_project(&app, "Silk Fans").await;
    let follower = app.fixture_backer().await;
    sqlx::query("UPDATE users SET language = 'en' WHERE id = $1")
        .bind(follower.id)
        .execute(&app.db)
        .await
        .expect("language");
    follow(&app, &follower, project).await;
    launch_time_comes(&app, project).await;

    pass(&app).await;

    let address = format!("fixture-{}@example.com", follower.id.0.simple());
    let mails = smtp.wait_for(&address, 1).await;
    assert_eq!(mails.len(), 1);
    assert!(
        mails[0].subject.contains("Silk Fans"),
        "{}",
        mails[0].subject
    );
    assert!(mails[0].subject.contains("live"), "{}", mails[0].subject);
    let (_, notices) = app.get_json("/me/notifications", &follower).await;
    assert_eq!(notices[0]["kind"], "project_launched");
    assert_eq!(notices[0]["params"]["link"], format!("/projects/{slug}"));
}

#[tokio::test]
async fn a_project_approved_to_launch_at_once_tells_its_followers_with_the_approval() {
    let app = TestApp::spawn().await;
    let founder = app.login_as_founder().await;
    let regulator = app.login_as_regulator().await;
    let project = app.create_reward_project(&founder, "Clay Teapots").await;
    app.submit(&founder, project).await;
    // Who may already see it in review: a regulator who also backs projects.
    let insider = app.fixture_user(&["backer", "regulator"]).await;
    assert_eq!(follow(&app, &insider, project).await.0, 200);

    app.approve(&regulator, project).await;

    assert_eq!(
        told(&app, project, "project_launched").await,
        vec![insider.id]
    );
    assert_eq!(
        pass(&app).await.launched,
        0,
        "the worker does not tell again"
    );
}

#[tokio::test]
async fn who_follows_a_live_project_is_not_told_it_launched() {
    let app = TestApp::spawn().await;
    let (project, _) = app.live_reward_project(&[("20.00", None)]).await;
    let backer = app.fixture_backer().await;
    follow(&app, &backer, project).await;

    let told_now = pass(&app).await;

    assert_eq!(told_now.launched, 0);
}

/// A campaign through the API that closes a day from now (possible with
/// `MIN_CAMPAIGN_SECONDS=0`), launched at once; returns its id and its tier.
async fn closing_tomorrow(app: &TestApp) -> (ProjectId, String) {
    let founder = app.login_as_founder().await;
    let regulator = app.login_as_regulator().await;
    let created = app
        .post_json(
            "/projects",
            &founder,
            json!({
                "title": "Last Call Lanterns", "summary": "Lanterns", "story": "Our story.",
                "category": "design", "kind": "reward", "goal": "1000.00",
                "deadline": (OffsetDateTime::now_utc() + time::Duration::days(1)).format(&Rfc3339).unwrap(),
                "tiers": [{"title": "A lantern", "price": "20.00"}],
            }),
        )
        .await;
    assert_status(&created, 201);
    let id = project_id(&created.1["project"]);
    let tier = created.1["tiers"][0]["id"].as_str().unwrap().to_owned();
    app.launch(&founder, &regulator, id).await;
    (id, tier)
}

#[tokio::test]
async fn the_48_hour_reminder_is_sent_once_and_not_to_a_follower_who_backed_it() {
    let app = TestApp::spawn_with(|s| s.min_campaign_seconds = 0).await;
    let (project, tier) = closing_tomorrow(&app).await;
    let waiting = app.fixture_backer().await;
    let backed = app.fixture_backer().await;
    for f in [&waiting, &backed] {
        follow(&app, f, project).await;
    }
    app.fund(&backed, "100.00").await;
    let pledged = app
        .pledge(
            &backed.token,
            project,
            json!({"tier_id": tier, "amount": "20.00"}),
            None,
        )
        .await;
    assert_status(&pledged, 201);

    let first = pass(&app).await;
    let second = pass(&app).await;

    assert_eq!((first.deadline_near, second.deadline_near), (1, 0));
    assert_eq!(told(&app, project, "deadline_near").await, vec![waiting.id]);
    let reminded: HashSet<UserId> = told(&app, project, "deadline_near")
        .await
        .into_iter()
        .collect();
    assert!(!reminded.contains(&backed.id));
}

#[tokio::test]
async fn a_campaign_closing_in_more_than_48_hours_sends_no_reminder_yet() {
    let app = TestApp::spawn().await;
    let (project, _) = app.live_reward_project(&[("20.00", None)]).await;
    let follower = app.fixture_backer().await;
    follow(&app, &follower, project).await;

    let told_now = pass(&app).await;

    assert_eq!(told_now.deadline_near, 0);
}

#[tokio::test]
async fn the_project_page_has_a_follow_button_that_follows_the_project() {
    let app = TestApp::spawn().await;
    let founder = app.login_as_founder().await;
    let regulator = app.login_as_regulator().await;
    let created = app
        .create_reward_project_json(&founder, "Rice Paper Lamps")
        .await;
    let project = app.launch(&founder, &regulator, project_id(&created)).await;
    let slug = created["slug"].as_str().unwrap();
    let backer = app.fixture_backer().await;
    let path = format!("/projects/{slug}");
    let page = app.html_as(&path, &backer).await;
    assert!(page.contains("id=\"follow-project\""));
    let csrf = form_field(&page, "csrf");

    let response = app
        .client
        .post(app.url(&format!("{path}/follow")))
        .bearer_auth(&backer.token)
        .form(&[("csrf", csrf.as_str()), ("back", path.as_str())])
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), 303);
    let (_, following) = app.get_json("/me/following", &backer).await;
    assert_eq!(following[0]["project_id"], project.to_string());
    let list = app.html_as("/me/following", &backer).await;
    assert!(list.contains("Rice Paper Lamps") && list.contains(&format!("href=\"{path}\"")));
}

#[tokio::test]
async fn a_visitor_who_is_not_signed_in_is_sent_to_the_login_page_to_follow() {
    let app = TestApp::spawn().await;
    let (_, slug) = scheduled_project(&app, "Shadow Puppets").await;

    let page = app.html(&format!("/projects/{slug}/soon")).await;

    assert!(page.contains(&format!("href=\"/login?next=%2Fprojects%2F{slug}%2Fsoon\"")));
}

#[tokio::test]
async fn on_a_phone_the_launching_soon_page_fits_the_screen() {
    use crate::browser::{page_width, phone, PHONE};
    use fantoccini::{error::CmdError, Locator};
    let app = TestApp::spawn().await;
    let (_, slug) = scheduled_project(&app, "Kite Festival Kits").await;
    let c = phone().await;
    let result = async {
        c.goto(&app.url(&format!("/projects/{slug}/soon"))).await?;
        let follow = c.find(Locator::Id("follow-project")).await?;
        Ok::<_, CmdError>((follow.is_displayed().await?, page_width(&c).await?))
    }
    .await;
    c.close().await.ok();
    let (follow_shown, width) = result.unwrap();

    assert!(follow_shown, "the follow button is on the page");
    assert!(width <= u64::from(PHONE.0), "no horizontal scroll: {width}");
}
