//! The discussion on a project: comments and replies, the marks of their authors, paging,
//! cleaning, the rate limit, notifications, and the regulator hiding a comment.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::support::*;

use zhonglian::projects::ProjectId;

/// A live project of `kind` (`reward` or `equity`) and its founder, who can sign in by token.
async fn project_and_founder(app: &TestApp, kind: &str) -> (ProjectId, Backer) {
    let project = match kind {
        "equity" => {
            app.live_equity_project("10.00", (100, 1000), 1, 200, time::Duration::days(7))
                .await
        }
        _ => app.live_reward_project(&[("20.00", None)]).await.0,
    };
    let founder = app.fixture_user(&["founder"]).await;
    sqlx::query("UPDATE projects SET founder_id = $1 WHERE id = $2")
        .bind(founder.id)
        .bind(project)
        .execute(&app.db)
        .await
        .expect("founder");
    (project, founder)
}

async fn comment(
    app: &TestApp,
    who: &(impl Caller + ?Sized),
    project: ProjectId,
    body: Value,
) -> (StatusCode, Value) {
    app.post_json(&format!("/projects/{project}/comments"), who, body)
        .await
}

/// Posts a comment and returns its id.
async fn commented(app: &TestApp, who: &Backer, project: ProjectId, body: Value) -> String {
    let answer = comment(app, who, project, body).await;
    assert_status(&answer, 201);
    answer.1["id"].as_str().expect("an id").to_owned()
}

async fn listed(app: &TestApp, project: ProjectId, query: &str) -> Value {
    let (status, page) = app
        .get_json(&format!("/projects/{project}/comments{query}"), &Anonymous)
        .await;
    assert_eq!(status, 200, "{page}");
    page
}

async fn notices(app: &TestApp, who: &Backer) -> Vec<Value> {
    let (status, body) = app.get_json("/me/notifications", who).await;
    assert_eq!(status, 200);
    body.as_array().expect("a list").clone()
}

#[tokio::test]
async fn a_signed_in_user_comments_and_everyone_reads_it() {
    let app = TestApp::spawn().await;
    let (project, _) = project_and_founder(&app, "reward").await;
    let reader = app.fixture_backer().await;

    let posted = comment(
        &app,
        &reader,
        project,
        json!({"body": "When does it *ship*?"}),
    )
    .await;

    assert_status(&posted, 201);
    let page = listed(&app, project, "").await;
    let first = &page["comments"][0];
    assert_eq!(first["body"], "When does it *ship*?");
    assert!(first["body_html"]
        .as_str()
        .unwrap()
        .contains("<em>ship</em>"));
    assert_eq!(first["author_id"], reader.id.to_string());
    assert!(page["next_cursor"].is_null());
}

#[tokio::test]
async fn a_comment_needs_a_signed_in_author() {
    let app = TestApp::spawn().await;
    let (project, _) = project_and_founder(&app, "reward").await;

    let answer = comment(&app, &Anonymous, project, json!({"body": "Hello"})).await;

    assert_status(&answer, 401);
}

#[tokio::test]
async fn a_reply_appears_under_its_comment_and_a_reply_to_a_reply_joins_the_top_comment() {
    let app = TestApp::spawn().await;
    let (project, _) = project_and_founder(&app, "reward").await;
    let (asker, answerer) = (app.fixture_backer().await, app.fixture_backer().await);
    let top = commented(&app, &asker, project, json!({"body": "Question"})).await;
    let reply = commented(
        &app,
        &answerer,
        project,
        json!({"body": "Answer", "parent_id": top}),
    )
    .await;

    let nested = comment(
        &app,
        &asker,
        project,
        json!({"body": "Thanks", "parent_id": reply}),
    )
    .await;

    assert_status(&nested, 201);
    assert_eq!(nested.1["parent_id"], top.as_str());
    let page = listed(&app, project, "").await;
    assert_eq!(
        count_of(&page, "comments"),
        1,
        "replies are not top comments"
    );
    let replies: Vec<&str> = page["comments"][0]["replies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["body"].as_str().unwrap())
        .collect();
    assert_eq!(replies, ["Answer", "Thanks"]);
}

#[tokio::test]
async fn a_reply_to_a_comment_of_another_project_is_refused() {
    let app = TestApp::spawn().await;
    let (one, _) = project_and_founder(&app, "reward").await;
    let (other, _) = project_and_founder(&app, "reward").await;
    let reader = app.fixture_backer().await;
    let elsewhere = commented(&app, &reader, other, json!({"body": "On the other"})).await;

    let answer = comment(
        &app,
        &reader,
        one,
        json!({"body": "Hi", "parent_id": elsewhere}),
    )
    .await;

    assert_status(&answer, 422);
}

#[tokio::test]
async fn the_founders_comment_is_marked_founder_and_a_backers_is_marked_backer() {
    let app = TestApp::spawn().await;
    let (project, founder) = project_and_founder(&app, "reward").await;
    let backer = app.fixture_backer().await;
    app.fund(&backer, "100.00").await;
    assert_status(
        &app.pledge(&backer, project, json!({"amount": "20.00"}), None)
            .await,
        201,
    );
    let stranger = app.fixture_backer().await;
    let asked = commented(&app, &backer, project, json!({"body": "Backer here"})).await;
    commented(
        &app,
        &founder,
        project,
        json!({"body": "Founder here", "parent_id": asked}),
    )
    .await;
    commented(&app, &stranger, project, json!({"body": "Just looking"})).await;

    let page = listed(&app, project, "").await;

    let (looking, backers) = (&page["comments"][0], &page["comments"][1]);
    assert_eq!(
        (looking["founder"].as_bool(), looking["backer"].as_bool()),
        (Some(false), Some(false))
    );
    assert_eq!(
        (backers["founder"].as_bool(), backers["backer"].as_bool()),
        (Some(false), Some(true))
    );
    let answer = &backers["replies"][0];
    assert_eq!(
        (answer["founder"].as_bool(), answer["backer"].as_bool()),
        (Some(true), Some(false))
    );
    let html = app.html(&format!("/projects/{project}")).await;
    assert!(
        html.contains("mark-founder") && html.contains("mark-backer"),
        "{html}"
    );
}

#[tokio::test]
async fn on_an_equity_offering_the_promoter_question_must_be_answered_and_a_promoter_is_labelled() {
    let app = TestApp::spawn().await;
    let (project, _) = project_and_founder(&app, "equity").await;
    let promoter = app.fixture_backer().await;

    let unanswered = comment(&app, &promoter, project, json!({"body": "Great deal!"})).await;
    let answered = comment(
        &app,
        &promoter,
        project,
        json!({"body": "Great deal!", "compensated_promoter": true}),
    )
    .await;

    assert_status(&unanswered, 422);
    assert_status(&answered, 201);
    assert_eq!(answered.1["compensated_promoter"], true);
    let html = app
        .html_as(&format!("/projects/{project}"), &promoter)
        .await;
    assert!(
        html.contains("mark-promoter"),
        "the page labels the promoter"
    );
    assert!(
        html.contains("id=\"comment-promoter\""),
        "the form asks the question"
    );
}

#[tokio::test]
async fn on_a_reward_project_the_promoter_tick_is_allowed_and_not_required() {
    let app = TestApp::spawn().await;
    let (project, _) = project_and_founder(&app, "reward").await;
    let reader = app.fixture_backer().await;

    let plain = comment(&app, &reader, project, json!({"body": "Nice"})).await;
    let ticked = comment(
        &app,
        &reader,
        project,
        json!({"body": "Buy it", "compensated_promoter": true}),
    )
    .await;

    assert_status(&plain, 201);
    assert_eq!(
        (
            plain.1["compensated_promoter"].as_bool(),
            ticked.1["compensated_promoter"].as_bool()
        ),
        (Some(false), Some(true))
    );
}

#[tokio::test]
async fn a_regulator_hides_a_comment_with_its_reason_on_the_trail_and_the_ledger() {
    let app = TestApp::spawn().await;
    let (project, _) = project_and_founder(&app, "reward").await;
    let author = app.fixture_backer().await;
    let id = commented(
        &app,
        &author,
        project,
        json!({"body": "Buy my pills at spam.example"}),
    )
    .await;
    let regulator = app.login_as_regulator().await;

    let hidden = app
        .post_json(
            &format!("/regulator/comments/{id}/hide"),
            &regulator,
            json!({"reason": "Advertising"}),
        )
        .await;

    assert_status(&hidden, 200);
    let page = listed(&app, project, "").await;
    let shown = &page["comments"][0];
    assert!(shown["body"].is_null() && shown["body_html"].is_null());
    assert_eq!(shown["hidden"]["reason"], "Advertising");
    for (lang, text) in [
        ("en", "Hidden by the regulator: Advertising"),
        ("zh-CN", "已被监管方隐藏：Advertising"),
    ] {
        let html = app
            .client
            .get(app.url(&format!("/projects/{project}")))
            .header("accept-language", lang)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(html.contains(text), "{lang}");
        assert!(
            !html.contains("spam.example"),
            "the hidden text is never served"
        );
    }
    let hash = hidden.1["tx_hash"].as_str().unwrap();
    let (status, detail) = app
        .get_json(&format!("/projects/{project}"), &regulator)
        .await;
    assert_eq!(status, 200, "{detail}");
    let hiding = detail["supervision"]
        .as_array()
        .expect("the project's trail")
        .iter()
        .find(|t| t["action"] == "hide_comment")
        .cloned()
        .expect("the hiding on the project's public trail");
    assert_eq!(hiding["reason"], "Advertising");
    assert_eq!(hiding["tx_hash"], hash);
    assert!(hiding["from_state"].is_null(), "hiding moves no state");
    let auditor = app
        .login_as_staff(zhonglian::accounts::domain::Role::Auditor)
        .await;
    let (status, entry) = app
        .get_json(&format!("/ledger/entries/{hash}"), &auditor)
        .await;
    assert_eq!(status, 200);
    let text = entry.to_string();
    assert!(
        text.contains("supervision") && text.contains("hide_comment") && text.contains(&id),
        "{text}"
    );
}

#[tokio::test]
async fn a_comment_is_hidden_once_and_only_by_a_regulator() {
    let app = TestApp::spawn().await;
    let (project, _) = project_and_founder(&app, "reward").await;
    let author = app.fixture_backer().await;
    let id = commented(&app, &author, project, json!({"body": "Hello"})).await;
    let regulator = app.login_as_regulator().await;
    let path = format!("/regulator/comments/{id}/hide");

    let by_author = app
        .post_json(&path, &author, json!({"reason": "Mine"}))
        .await;
    let first = app
        .post_json(&path, &regulator, json!({"reason": "Off topic"}))
        .await;
    let second = app
        .post_json(&path, &regulator, json!({"reason": "Again"}))
        .await;

    assert_status(&by_author, 403);
    assert_status(&first, 200);
    assert_status(&second, 409);
}

#[tokio::test]
async fn the_founder_is_notified_of_a_comment_and_the_commenter_of_a_reply() {
    let app = TestApp::spawn().await;
    let (project, founder) = project_and_founder(&app, "reward").await;
    let asker = app.fixture_backer().await;
    let asked = commented(
        &app,
        &asker,
        project,
        json!({"body": "Does it come in red?"}),
    )
    .await;
    let founder_heard = notices(&app, &founder).await;

    commented(
        &app,
        &founder,
        project,
        json!({"body": "Yes, and blue.", "parent_id": asked}),
    )
    .await;

    assert_eq!(founder_heard.len(), 1);
    assert_eq!(founder_heard[0]["kind"], "comment_posted");
    assert!(founder_heard[0]["params"]["link"]
        .as_str()
        .unwrap()
        .ends_with(&format!("#comment-{asked}")));
    let asker_heard = notices(&app, &asker).await;
    assert_eq!(asker_heard.len(), 1);
    assert_eq!(asker_heard[0]["kind"], "comment_replied");
    assert_eq!(
        notices(&app, &founder).await.len(),
        1,
        "nobody is told of their own reply"
    );
}

#[tokio::test]
async fn a_comment_past_the_rate_limit_is_refused_with_retry_after() {
    let app = TestApp::spawn().await;
    let (project, _) = project_and_founder(&app, "reward").await;
    let chatty = app.fixture_backer().await;
    for n in 0..zhonglian::community::comments::RATE_COUNT {
        commented(
            &app,
            &chatty,
            project,
            json!({"body": format!("Comment {n}")}),
        )
        .await;
    }

    let response = app
        .request_as(
            reqwest::Method::POST,
            &format!("/projects/{project}/comments"),
            &chatty,
        )
        .json(&json!({"body": "One more"}))
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), 429);
    let wait: i64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&wait), "{wait}");
    assert_eq!(count_of(&listed(&app, project, "").await, "comments"), 5);
}

#[tokio::test]
async fn pages_run_newest_first_and_the_next_page_continues_without_repeats() {
    let app = TestApp::spawn().await;
    let (project, _) = project_and_founder(&app, "reward").await;
    let mut written = Vec::new();
    for n in 0..7 {
        // Two authors keep under the rate limit.
        let author = app.fixture_backer().await;
        written.push(
            commented(
                &app,
                &author,
                project,
                json!({"body": format!("Comment {n}")}),
            )
            .await,
        );
    }
    written.reverse();

    let first = listed(&app, project, "?limit=3").await;
    let cursor = first["next_cursor"]
        .as_str()
        .expect("a next page")
        .to_owned();
    let second = listed(&app, project, &format!("?limit=3&cursor={cursor}")).await;
    let cursor = second["next_cursor"]
        .as_str()
        .expect("a last page")
        .to_owned();
    let third = listed(&app, project, &format!("?limit=3&cursor={cursor}")).await;

    let ids = |page: &Value| strings_of(page, "comments", "id");
    let seen: Vec<String> = [ids(&first), ids(&second), ids(&third)].concat();
    assert_eq!(seen, written);
    assert!(third["next_cursor"].is_null());
}

#[tokio::test]
async fn a_page_size_or_cursor_that_is_not_one_is_refused() {
    let app = TestApp::spawn().await;
    let (project, _) = project_and_founder(&app, "reward").await;

    for query in ["?limit=0", "?limit=51", "?cursor=nonsense"] {
        let answer = app
            .get_json(&format!("/projects/{project}/comments{query}"), &Anonymous)
            .await;
        assert_status(&answer, 400);
    }
}

#[tokio::test]
async fn the_project_page_shows_the_first_page_and_links_to_more() {
    let app = TestApp::spawn().await;
    let (project, _) = project_and_founder(&app, "reward").await;
    let page_size = zhonglian::community::comments::PAGE_DEFAULT;
    for n in 0..=page_size {
        let author = app.fixture_backer().await;
        commented(
            &app,
            &author,
            project,
            json!({"body": format!("Comment number {n}.")}),
        )
        .await;
    }

    let html = app.html(&format!("/projects/{project}")).await;

    assert!(
        html.contains(&format!("Comment number {page_size}.")),
        "the newest is shown"
    );
    assert!(
        !html.contains("Comment number 0."),
        "the oldest waits on the next page"
    );
    let more = form_link(&html, "more-comments");
    let older = app.html(&more).await;
    assert!(older.contains("Comment number 0."));
}

#[tokio::test]
async fn an_anonymous_visitor_reads_a_kept_discussion_and_a_hidden_comment_is_gone_at_once() {
    let app = TestApp::spawn_with(|s| s.public_view_seconds = 600).await;
    let (project, _) = project_and_founder(&app, "reward").await;
    let author = app.fixture_backer().await;
    let first = commented(
        &app,
        &author,
        project,
        json!({"body": "Visit spam.example today"}),
    )
    .await;
    let page = format!("/projects/{project}");
    assert!(app.html(&page).await.contains("spam.example"));

    commented(&app, &author, project, json!({"body": "A second thought."})).await;
    let kept = app.html(&page).await;
    let fresh = listed(&app, project, "").await;
    let regulator = app.login_as_regulator().await;
    let hidden = app
        .post_json(
            &format!("/regulator/comments/{first}/hide"),
            &regulator,
            json!({"reason": "Advertising"}),
        )
        .await;
    let after = app.html(&page).await;

    assert!(
        !kept.contains("A second thought."),
        "the anonymous page is the kept one"
    );
    assert_eq!(fresh["comments"][0]["body"], "A second thought.");
    assert_status(&hidden, 200);
    assert!(
        !after.contains("spam.example"),
        "a hidden comment is forgotten from the kept view at once"
    );
    assert!(after.contains("Advertising"), "the reason is shown instead");
    assert!(after.contains("A second thought."));
}

/// The `href` of the link with `id`.
fn form_link(html: &str, id: &str) -> String {
    let at = html.find(&format!("id=\"{id}\"")).expect("the link");
    let start = html[..at].rfind("href=\"").expect("an href") + 6;
    let end = start + html[start..].find('"').unwrap();
    html[start..end].replace("&amp;", "&")
}

#[tokio::test]
async fn a_script_in_a_comment_never_comes_back() {
    let app = TestApp::spawn().await;
    let (project, _) = project_and_founder(&app, "reward").await;
    let author = app.fixture_backer().await;
    commented(
        &app,
        &author,
        project,
        json!({"body": "<script>alert(1)</script> <img src=x onerror=alert(3)>\n\n[x](javascript:alert(2))"}),
    )
    .await;

    let page = listed(&app, project, "").await;
    let html = app.html(&format!("/projects/{project}")).await;

    let cleaned = page["comments"][0]["body_html"].as_str().unwrap();
    for text in [cleaned, html.as_str()] {
        assert!(!text.contains("<script>alert"), "{text}");
        assert!(!text.contains("href=\"javascript"), "{text}");
        assert!(!text.contains("<img src=x"), "{text}");
    }
}

#[tokio::test]
async fn the_discussion_of_a_cancelled_project_is_read_only() {
    let app = TestApp::spawn().await;
    let (project, _) = project_and_founder(&app, "reward").await;
    let reader = app.fixture_backer().await;
    commented(&app, &reader, project, json!({"body": "Before"})).await;
    sqlx::query("UPDATE projects SET state = 'cancelled' WHERE id = $1")
        .bind(project)
        .execute(&app.db)
        .await
        .unwrap();

    let after = comment(&app, &reader, project, json!({"body": "After"})).await;

    assert_status(&after, 409);
    assert_eq!(count_of(&listed(&app, project, "").await, "comments"), 1);
}

/// Signs in on the `/login` page.
async fn log_in(
    c: &fantoccini::Client,
    app: &TestApp,
    email: &str,
) -> Result<(), fantoccini::error::CmdError> {
    use fantoccini::Locator;
    c.goto(&app.url("/login")).await?;
    crate::browser::fill(c, "input[name=email]", email).await?;
    crate::browser::fill(c, "input[name=password]", "correct horse battery").await?;
    c.find(Locator::Id("login-submit")).await?.click().await?;
    c.wait().for_element(Locator::Id("current-user")).await?;
    Ok(())
}

#[tokio::test]
async fn in_the_browser_a_backer_asks_the_founder_answers_and_the_backer_sees_the_answer_and_its_notification(
) {
    use crate::browser::{browser, fill, sign_up, text_of};
    use fantoccini::Locator;
    let app = TestApp::spawn().await;
    let (project, _) = project_and_founder(&app, "reward").await;
    let maker = app.signup("maker@example.com", "founder").await;
    sqlx::query("UPDATE projects SET founder_id = $1::uuid WHERE id = $2")
        .bind(maker["id"].as_str().expect("the founder's id"))
        .bind(project)
        .execute(&app.db)
        .await
        .expect("the founder");
    let (asker, founder) = (browser().await, browser().await);
    let result = async {
        sign_up(&asker, &app, "asker@example.com", "Curious Backer").await?;
        asker
            .wait()
            .for_element(Locator::Id("current-user"))
            .await?;
        let id = sqlx::query_scalar("SELECT id FROM users WHERE email = 'asker@example.com'")
            .fetch_one(&app.db)
            .await
            .expect("the backer");
        let backer = Backer {
            id,
            token: app.login("asker@example.com").await,
        };
        app.fund(&backer, "50.00").await;
        assert_status(
            &app.pledge(&backer, project, json!({"amount": "20.00"}), None)
                .await,
            201,
        );
        let page = app.url(&format!("/projects/{project}"));

        asker.goto(&page).await?;
        fill(&asker, "#comment-body", "Will it ship before spring?").await?;
        asker
            .find(Locator::Id("post-comment"))
            .await?
            .click()
            .await?;
        assert!(text_of(&asker, ".comment-text")
            .await
            .contains("Will it ship before spring?"));
        assert!(!text_of(&asker, ".comment .mark-backer").await.is_empty());
        let comment: uuid::Uuid = sqlx::query_scalar("SELECT id FROM comments")
            .fetch_one(&app.db)
            .await
            .expect("the comment");

        log_in(&founder, &app, "maker@example.com").await?;
        founder.goto(&page).await?;
        founder
            .find(Locator::Id(&format!("reply-open-{comment}")))
            .await?
            .click()
            .await?;
        fill(
            &founder,
            &format!("#reply-body-{comment}"),
            "Yes: it ships in February.",
        )
        .await?;
        founder
            .find(Locator::Id(&format!("reply-{comment}")))
            .await?
            .click()
            .await?;
        assert!(text_of(&founder, ".replies .comment-text")
            .await
            .contains("February"));

        asker.goto(&page).await?;
        let answer = text_of(
            &asker,
            &format!("#comment-{comment} .replies .comment-text"),
        )
        .await;
        assert!(answer.contains("Yes: it ships in February."), "{answer}");
        assert!(!text_of(&asker, ".replies .mark-founder").await.is_empty());
        asker.goto(&app.url("/me/notifications")).await?;
        let notice = text_of(&asker, ".notification-text").await;
        assert!(notice.contains("Test User"), "{notice}");
        let link = asker
            .find(Locator::Css(".notification-meta a"))
            .await?
            .attr("href")
            .await?
            .unwrap_or_default();
        let reply: uuid::Uuid = sqlx::query_scalar("SELECT id FROM comments WHERE parent_id = $1")
            .bind(comment)
            .fetch_one(&app.db)
            .await
            .expect("the reply");
        assert!(
            link.ends_with(&format!("#comment-{reply}")),
            "it leads to the answer: {link}"
        );
        Ok::<_, fantoccini::error::CmdError>(())
    }
    .await;
    let _ = asker.close().await;
    let _ = founder.close().await;
    result.expect("the browser flow");
}

/// Someone signed in through the log-in form with their own cookies, reading English.
struct Session {
    client: reqwest::Client,
    app_url: String,
}

impl Session {
    async fn sign_in(app: &TestApp, email: &str) -> Session {
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert(
            reqwest::header::ACCEPT_LANGUAGE,
            reqwest::header::HeaderValue::from_static("en"),
        );
        let client = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .default_headers(headers)
            .build()
            .unwrap();
        let session = Session {
            client,
            app_url: app.url(""),
        };
        let csrf = session.csrf("/login").await;
        let fields = [
            ("csrf", csrf.as_str()),
            ("email", email),
            ("password", "correct horse battery"),
        ];
        let (status, _, _) = session.post("/login", &fields).await;
        assert_eq!(status, 303, "log-in of {email}");
        session
    }

    async fn csrf(&self, path: &str) -> String {
        let url = format!("{}{path}", self.app_url);
        let html = self
            .client
            .get(url)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        form_field(&html, "csrf")
    }

    /// Posts a form: the status, the `Location` or `Retry-After` header, and the page.
    async fn post(&self, path: &str, fields: &[(&str, &str)]) -> (u16, String, String) {
        let url = format!("{}{path}", self.app_url);
        let response = self.client.post(url).form(fields).send().await.unwrap();
        let status = response.status().as_u16();
        let header = ["location", "retry-after"]
            .into_iter()
            .find_map(|h| response.headers().get(h))
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        (status, header, response.text().await.unwrap())
    }
}

#[tokio::test]
async fn a_refused_comment_form_comes_back_with_the_message_beside_the_field() {
    let app = TestApp::spawn().await;
    let (project, _) = project_and_founder(&app, "equity").await;
    app.signup("reader@example.com", "backer").await;
    let reader = Session::sign_in(&app, "reader@example.com").await;
    let path = format!("/projects/{project}/comments");
    let csrf = reader.csrf(&format!("/projects/{project}")).await;

    let (status, _, html) = reader.post(&path, &[("csrf", &csrf), ("body", "  ")]).await;

    assert_eq!(status, 422);
    assert!(
        html.contains("id=\"comment-body-error\"")
            && html.contains("Write something before posting.")
    );
    assert!(
        html.contains("id=\"comment-promoter-error\""),
        "the promoter question is unanswered"
    );
}

#[tokio::test]
async fn commenting_too_fast_on_the_page_says_when_to_come_back() {
    let app = TestApp::spawn().await;
    let (project, _) = project_and_founder(&app, "reward").await;
    app.signup("chatty@example.com", "backer").await;
    let chatty = Session::sign_in(&app, "chatty@example.com").await;
    let path = format!("/projects/{project}/comments");
    let csrf = chatty.csrf(&format!("/projects/{project}")).await;
    for n in 0..zhonglian::community::comments::RATE_COUNT {
        let body = format!("Comment {n}");
        let (status, to, _) = chatty
            .post(&path, &[("csrf", &csrf), ("body", &body)])
            .await;
        assert_eq!(status, 303);
        assert!(to.contains("#comment-"), "{to}");
    }

    let (status, retry_after, html) = chatty
        .post(&path, &[("csrf", &csrf), ("body", "More")])
        .await;

    assert_eq!(status, 429);
    assert!(
        retry_after
            .parse::<i64>()
            .is_ok_and(|s| (1..=60).contains(&s)),
        "{retry_after}"
    );
    assert!(html.contains("You are commenting too fast"), "{html}");
    assert!(html.contains(">More</textarea>"), "what was typed is kept");
}

#[tokio::test]
async fn a_regulator_hides_a_comment_on_the_page_only_after_confirming() {
    let app = TestApp::spawn().await;
    let (project, _) = project_and_founder(&app, "reward").await;
    let author = app.fixture_backer().await;
    let id = commented(&app, &author, project, json!({"body": "Off-topic rant"})).await;
    zhonglian::accounts::create_staff_user(
        &app.db,
        "watch@example.com",
        "Watch",
        "correct horse battery".into(),
        zhonglian::accounts::domain::Role::Regulator,
    )
    .await
    .expect("a regulator");
    let regulator = Session::sign_in(&app, "watch@example.com").await;
    let csrf = regulator.csrf(&format!("/projects/{project}")).await;
    let path = format!("/regulator/comments/{id}/hide");

    let (asked, _, confirm) = regulator
        .post(&path, &[("csrf", &csrf), ("reason", "Off topic")])
        .await;
    let still_shown = app.html(&format!("/projects/{project}")).await;
    let (done, to, _) = regulator
        .post(
            &path,
            &[("csrf", &csrf), ("reason", "Off topic"), ("confirm", "yes")],
        )
        .await;

    assert_eq!(asked, 200);
    assert!(confirm.contains("Hide this comment?"));
    assert!(
        still_shown.contains("Off-topic rant"),
        "nothing happens before confirming"
    );
    assert_eq!(done, 303);
    assert!(to.ends_with(&format!("#comment-{id}")));
    let html = app.html(&format!("/projects/{project}")).await;
    assert!(!html.contains("Off-topic rant"));
}

#[tokio::test]
async fn on_a_phone_a_discussion_with_a_long_word_and_replies_fits_the_screen() {
    use crate::browser::{page_width, phone, PHONE};
    let app = TestApp::spawn().await;
    let (project, founder) = project_and_founder(&app, "equity").await;
    let reader = app.fixture_backer().await;
    let long = "Supercalifragilistic".repeat(8);
    let top = commented(
        &app,
        &reader,
        project,
        json!({"body": format!("{long} https://example.com/{long}"), "compensated_promoter": true}),
    )
    .await;
    let reply =
        json!({"body": "Thanks for asking.", "parent_id": top, "compensated_promoter": false});
    commented(&app, &founder, project, reply).await;
    let c = phone().await;

    let result = async {
        c.goto(&app.url(&format!("/projects/{project}#comments")))
            .await?;
        page_width(&c).await
    }
    .await;

    let _ = c.close().await;
    let width = result.expect("the page's width");
    assert!(width <= u64::from(PHONE.0), "the page is {width} px wide");
}
