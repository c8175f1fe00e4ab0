//! Finding projects: search in Chinese and English, browsing by kind, category and order,
//! pages, and the demo catalogue that fills a fresh exchange.

use serde_json::Value;

use crate::support::{count_of, project_id, strings_of, Anonymous, TestApp};

#[tokio::test]
async fn search_finds_chinese_and_english_titles() {
    let app = TestApp::spawn().await;
    let founder = app.login_as_founder().await;
    let regulator = app.login_as_regulator().await;
    for title in [
        "云南古树茶园",
        "Solar Lantern for Rural Schools",
        "Bamboo Bicycle 竹制自行车",
        "古籍修复工作室",
    ] {
        let project = app.create_reward_project(&founder, title).await;
        app.launch(&founder, &regulator, project).await;
    }
    app.create_reward_project(&founder, "Solar draft never submitted")
        .await;

    let titles = |q: &str| {
        let app = &app;
        let q = q.to_owned();
        async move {
            let (status, body) = app
                .send_json(
                    app.request_as(reqwest::Method::GET, "/projects", &Anonymous)
                        .query(&[("q", q.as_str())]),
                )
                .await;
            assert_eq!(status, 200);
            let mut titles = strings_of(&body, "projects", "title");
            titles.sort();
            titles
        }
    };
    assert_eq!(titles("古树").await, ["云南古树茶园"]);
    assert_eq!(titles("茶园").await, ["云南古树茶园"]);
    assert_eq!(titles("古").await, ["云南古树茶园", "古籍修复工作室"]);
    assert_eq!(titles("自行车").await, ["Bamboo Bicycle 竹制自行车"]);
    assert_eq!(
        titles("solar").await,
        ["Solar Lantern for Rural Schools"],
        "drafts are never found"
    );
    assert_eq!(
        titles("LANT").await,
        ["Solar Lantern for Rural Schools"],
        "words match by prefix"
    );
    assert_eq!(titles("bamboo 自行车").await, ["Bamboo Bicycle 竹制自行车"]);
    assert!(
        titles("树古").await.is_empty(),
        "bigrams keep the order of the characters"
    );
    assert_eq!(
        titles("schools").await,
        ["Solar Lantern for Rural Schools"],
        "the summary is searched too"
    );

    let html = app.html("/projects?q=%E5%8F%A4%E6%A0%91").await;
    assert!(html.contains("云南古树茶园") && !html.contains("Solar Lantern"));
}

#[tokio::test]
async fn browsing_filters_sorts_and_pages_live_projects() {
    let app = TestApp::spawn().await;
    let founder = app.login_as_founder().await;
    let regulator = app.login_as_regulator().await;
    for i in 0..14 {
        let project = app
            .create_reward_project(&founder, &format!("Project number {i}"))
            .await;
        app.launch(&founder, &regulator, project).await;
    }
    let equity = app
        .create_equity_project_json(&founder, "Equity in a bakery")
        .await;
    app.launch(&founder, &regulator, project_id(&equity)).await;
    sqlx::query(
        "UPDATE project_totals t SET pledged_total = CASE p.title
             WHEN 'Project number 3' THEN 9000
             ELSE 10 * coalesce(substring(p.title FROM 'Project number (\\d+)')::int, 0) END
         FROM projects p WHERE p.id = t.project_id",
    )
    .execute(&app.db)
    .await
    .unwrap();

    let get = |query: &'static str| {
        let app = &app;
        async move {
            app.get_json(&format!("/projects?{query}"), &Anonymous)
                .await
        }
    };
    let titles = |page: &Value| strings_of(page, "projects", "title");
    let numbered = |numbers: &[u32]| -> Vec<String> {
        numbers
            .iter()
            .map(|n| format!("Project number {n}"))
            .collect()
    };
    let (_, first) = get("").await;
    assert_eq!(first["has_more"], true);
    assert_eq!(
        titles(&first),
        [
            vec!["Equity in a bakery".to_owned()],
            numbered(&[13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3])
        ]
        .concat(),
        "newest first"
    );
    let (_, second) = get("page=2").await;
    assert_eq!(count_of(&second, "projects"), 3);
    assert_eq!(second["has_more"], false);
    let (_, equities) = get("kind=equity").await;
    assert_eq!(count_of(&equities, "projects"), 1);
    let (_, finance) = get("category=food").await;
    assert_eq!(count_of(&finance, "projects"), 1);
    let (_, funded) = get("sort=funded").await;
    assert_eq!(
        titles(&funded),
        numbered(&[3, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 2])
    );
    let (_, ending) = get("sort=ending&kind=reward").await;
    assert_eq!(
        titles(&ending),
        numbered(&[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11])
    );
    let (_, searched) = get("q=project&sort=funded&page=2").await;
    assert_eq!(
        titles(&searched),
        numbered(&[1, 0]),
        "a search pages in the order asked for"
    );

    for bad in [
        "sort=random",
        "kind=loan",
        "page=0",
        "page=x",
        "category=weapons",
        "state=draft",
    ] {
        let (status, body) = get(bad).await;
        assert_eq!(status, 400, "{bad}");
        assert!(body["detail"].as_str().is_some(), "{bad}: {body}");
    }
    let html = app.html("/projects?page=2").await;
    assert!(html.contains("rel=\"prev\"") && !html.contains("rel=\"next\""));
    let home = app.html("/").await;
    assert!(home.contains("Equity in a bakery") && home.contains("id=\"ledger-size\""));
}

#[tokio::test]
async fn the_demo_catalogue_has_projects_in_both_languages_in_every_state() {
    let app = TestApp::spawn().await;
    zhonglian::demo::load(&app.state).await.unwrap();
    // The demo's ended campaigns are settled by the worker, as `serve` does at start-up.
    let settled = zhonglian::settlement::Settler::new(&app.state)
        .settle_due(&|_| {})
        .await
        .unwrap();
    assert_eq!(
        settled.len(),
        4,
        "two funded (one of them an equity offering), one failed, and the one the regulator \
         cancelled after launch"
    );
    let receipts: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM settlement_transactions WHERE pledge_id IS NOT NULL",
    )
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert!(receipts >= 2, "the demo backers have real receipts");
    let states: Vec<(String, i64)> =
        sqlx::query_as("SELECT state, count(*) FROM projects GROUP BY state ORDER BY state")
            .fetch_all(&app.db)
            .await
            .unwrap();
    let states: std::collections::HashMap<String, i64> = states.into_iter().collect();
    for state in [
        "draft",
        "in_review",
        "live",
        "frozen",
        "cancelled",
        "funded",
        "failed",
    ] {
        assert!(
            states.get(state).copied().unwrap_or(0) >= 1,
            "{state}: {states:?}"
        );
    }
    assert!(states.values().sum::<i64>() >= 12);
    let kinds: i64 = sqlx::query_scalar("SELECT count(DISTINCT kind) FROM projects")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(kinds, 2);
    let trail: i64 = sqlx::query_scalar("SELECT count(*) FROM supervision_actions")
        .fetch_one(&app.db)
        .await
        .unwrap();
    let anchored: i64 =
        sqlx::query_scalar("SELECT count(*) FROM ledger_leaves WHERE kind = 'supervision'")
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert!(
        trail >= 10 && anchored == trail,
        "trail {trail}, ledger {anchored}"
    );

    // Each in the reader's language (Chinese by default): the lantern has a Chinese text.
    let home = app.html("/").await;
    assert!(home.contains("云南古树普洱茶园") && home.contains("乡村学校太阳能灯"));
    let funded = app.html("/projects?state=funded").await;
    assert!(funded.contains("景德镇柴窑工作室"));
}
