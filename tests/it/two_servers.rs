//! Two server processes on one database under a minute of mixed load: pledges and changes on a
//! hot tier and on spread tiers, a regulator freezing and unfreezing, campaigns ending so that
//! both processes' settlement workers race, checkpoints taken meanwhile. Afterwards the books,
//! the claims and the ledger must be exactly right.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::json;
use uuid::Uuid;
use zhonglian::accounts::domain::Role;
use zhonglian::ledger::{merkle, store};

use crate::support::TestApp;

/// How long the mixed load runs.
const LOAD: Duration = Duration::from_secs(62);
/// Most requests one client makes during the load (a bound in count besides the one in time).
const MAX_REQUESTS_PER_CLIENT: usize = 4_000;
/// Concurrent backers.
const CLIENTS: usize = 16;
/// Places on the hot tier, far fewer than the backers who want one.
const HOT_PLACES: i64 = 6;
/// Projects with tiers of their own, which most pledges spread over.
const SPREAD: usize = 6;

mod load;

use load::*;

#[tokio::test]
async fn two_servers_on_one_database_keep_the_books_under_a_minute_of_mixed_load() {
    // Arrange: one database, two server processes on it.
    let app = TestApp::spawn().await;
    let setup = crate::support::client();
    let mut servers = vec![Server::start(&app, "a"), Server::start(&app, "b")];
    for server in &mut servers {
        server.wait_until_healthy(&setup).await;
    }
    let bases: Arc<Vec<String>> = Arc::new(servers.iter().map(|s| s.base.clone()).collect());
    let founder = app.fixture_user(&["founder"]).await.token;
    let regulator = app.login_as_staff(Role::Regulator).await;

    // The hot tier first; then spread projects, half of them set to fail (an unreachable goal);
    // deadlines spread over the run, so campaigns end while the load goes on.
    let mut listings = vec![
        launch_reward(
            &setup,
            &bases[0],
            (&founder, &regulator),
            "The hot one",
            "200.00",
            50,
            &[("50.00", Some(HOT_PLACES))],
        )
        .await,
    ];
    for i in 0..SPREAD {
        let goal = if i % 2 == 0 { "100.00" } else { "1000000.00" };
        let listing = launch_reward(
            &setup,
            &bases[i % 2],
            (&founder, &regulator),
            &format!("Spread project {i}"),
            goal,
            20 + 6 * i as i64,
            &[("20.00", Some(12)), ("35.00", None)],
        )
        .await;
        listings.push(listing);
    }
    let equity = app
        .live_equity_project("10.00", (20, 60), 5, 8, time::Duration::seconds(40))
        .await;
    listings.push(Listing {
        id: equity.0,
        tiers: Vec::new(),
        equity: true,
    });
    let listings = Arc::new(listings);

    let mut backers = Vec::new();
    for i in 0..CLIENTS {
        let backer = app.fixture_backer().await;
        let (status, body) = call(
            &setup,
            &bases[i % 2],
            Method::POST,
            "/wallet/deposits",
            &backer.token,
            Some(json!({"amount": "5000.00", "sandbox_answer": "approve"})),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "funding a wallet: {body}");
        backers.push(backer);
    }

    // Act: a minute of mixed load.
    let until = Instant::now() + LOAD;
    let tally = Arc::new(Mutex::new(Tally::default()));
    let mut clients = Vec::new();
    for (i, backer) in backers.into_iter().enumerate() {
        clients.push(tokio::spawn(backer_load(
            bases.clone(),
            listings.clone(),
            backer,
            1000 + i as u64,
            until,
            tally.clone(),
        )));
    }
    let regulator_task = tokio::spawn(regulator_load(
        bases.clone(),
        listings.iter().map(|l| l.id).collect(),
        regulator.clone(),
        until,
        tally.clone(),
    ));
    let checkpoints_task = tokio::spawn(checkpoint_load(bases.clone(), until));
    for client in clients {
        client.await.expect("a backer's load");
    }
    let frozen = regulator_task.await.expect("the regulator's load");
    let mut checkpoints = checkpoints_task.await.expect("the checkpoints");

    // Every campaign has ended by now; both workers settle what is left (at most a minute).
    let ids: Vec<Uuid> = listings.iter().map(|l| l.id).collect();
    let settled_by = Instant::now() + Duration::from_secs(60);
    loop {
        let open: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM projects WHERE id = ANY($1) AND state NOT IN ('funded', 'failed')",
        )
        .bind(&ids)
        .fetch_one(&app.db)
        .await
        .unwrap();
        if open == 0 {
            break;
        }
        assert!(
            Instant::now() < settled_by,
            "{open} projects still unsettled a minute after the load"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let final_checkpoint = setup
        .get(format!("{}/api/v1/ledger/checkpoint", bases[1]))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    checkpoints.push(parse_checkpoint(&final_checkpoint));

    // Assert: the load really ran, against both servers, and nothing answered 5xx.
    let tally = Arc::try_unwrap(tally)
        .ok()
        .expect("every task is done")
        .into_inner()
        .unwrap();
    assert!(
        tally.server_errors.is_empty(),
        "{} server errors, the first: {:?}; the servers logged:\n{}",
        tally.server_errors.len(),
        tally.server_errors.first(),
        server_errors_logged(&app.data_dir)
    );
    assert!(
        tally.successes_on(0) > 50 && tally.successes_on(1) > 50,
        "both servers took load: {:?}",
        tally.answers
    );
    assert!(frozen > 0, "the regulator froze projects during the run");
    let pledges_made = scalar(&app.db, "SELECT count(*) FROM pledges").await;
    assert!(pledges_made > 50, "only {pledges_made} pledges were made");

    // The journal sums to zero and balances equal postings; every escrow is empty once settled.
    let journal = zhonglian::money::check_journal(&app.db).await.unwrap();
    assert!(journal.is_sound(), "the books do not balance: {journal:?}");
    let escrow_left = scalar(
        &app.db,
        "SELECT count(*) FROM money_accounts WHERE kind = 'project_escrow' AND balance <> 0",
    )
    .await;
    assert_eq!(escrow_left, 0, "every settled escrow is empty");

    // No tier or offering oversold.
    let oversold_tiers = scalar(
        &app.db,
        "SELECT count(*) FROM reward_tiers t WHERE t.quantity_limit IS NOT NULL AND (
             t.claimed > t.quantity_limit
             OR (SELECT count(*) FROM pledges p WHERE p.tier_id = t.id
                   AND p.state IN ('active', 'collected')) > t.quantity_limit)",
    )
    .await;
    assert_eq!(oversold_tiers, 0, "a tier was oversold");
    let hot_settled = scalar(
        &app.db,
        &format!(
            "SELECT count(*) FROM pledges WHERE project_id = '{}'
              AND state IN ('collected', 'refunded')",
            listings[0].id
        ),
    )
    .await;
    assert!(
        hot_settled <= HOT_PLACES,
        "{hot_settled} pledges held the hot tier's {HOT_PLACES} places at the end"
    );
    // Backers cancel as well as pledge, so the tier may end empty; but it must have been won.
    let hot_ever = scalar(
        &app.db,
        &format!(
            "SELECT count(*) FROM pledges WHERE project_id = '{}'",
            listings[0].id
        ),
    )
    .await;
    assert!(hot_ever >= 1, "nobody ever won a place on the hot tier");
    let oversold_offerings = scalar(
        &app.db,
        "SELECT count(*) FROM equity_offerings o WHERE
             (SELECT coalesce(sum(p.shares), 0) FROM pledges p WHERE p.project_id = o.project_id
                AND p.state IN ('active', 'collected')) > o.max_shares
          OR (SELECT count(DISTINCT p.backer_id) FROM pledges p WHERE p.project_id = o.project_id
                AND p.state IN ('active', 'collected')) > o.max_investors",
    )
    .await;
    assert_eq!(oversold_offerings, 0, "an offering was oversold");

    // Every pledge of an ended campaign settled exactly once, the way its project ended.
    let unsettled = scalar(
        &app.db,
        "SELECT count(*) FROM pledges WHERE state = 'active'",
    )
    .await;
    assert_eq!(unsettled, 0, "every pledge is settled");
    let wrong_way = scalar(
        &app.db,
        "SELECT count(*) FROM pledges p JOIN projects j ON j.id = p.project_id
          WHERE (j.state = 'funded' AND p.state = 'refunded')
             OR (j.state = 'failed' AND p.state = 'collected')",
    )
    .await;
    assert_eq!(wrong_way, 0, "pledges settled the way their project ended");
    let not_once = scalar(
        &app.db,
        "SELECT count(*) FROM pledges p WHERE
             (SELECT count(*) FROM settlement_transactions s WHERE s.pledge_id = p.id
                AND s.kind IN ('pledge_collected', 'pledge_refunded'))
           <> CASE WHEN p.state IN ('collected', 'refunded') THEN 1 ELSE 0 END",
    )
    .await;
    assert_eq!(
        not_once, 0,
        "each pledge collected or refunded exactly once"
    );
    for kind in ["collected", "refunded"] {
        let pledges = scalar(
            &app.db,
            &format!("SELECT count(*) FROM pledges WHERE state = '{kind}'"),
        )
        .await;
        let leaves = scalar(
            &app.db,
            &format!("SELECT count(*) FROM ledger_leaves WHERE kind = 'pledge_{kind}'"),
        )
        .await;
        assert_eq!(leaves, pledges, "one ledger entry per {kind} pledge");
    }
    let funded = scalar(
        &app.db,
        "SELECT count(*) FROM projects WHERE state = 'funded'",
    )
    .await;
    let failed = scalar(
        &app.db,
        "SELECT count(*) FROM projects WHERE state = 'failed'",
    )
    .await;
    assert!(funded > 0 && failed > 0, "{funded} funded, {failed} failed");
    let payouts = scalar(
        &app.db,
        "SELECT count(*) FROM ledger_leaves WHERE kind = 'payout'",
    )
    .await;
    assert_eq!(payouts, funded, "one payout per funded project");

    // The ledger: contiguous from 0, its head the root of a rebuild from every leaf.
    let hashes: Vec<Vec<u8>> = sqlx::query_scalar("SELECT tx_hash FROM ledger_leaves ORDER BY idx")
        .fetch_all(&app.db)
        .await
        .unwrap();
    let last = scalar(
        &app.db,
        "SELECT coalesce(max(idx) + 1, 0) FROM ledger_leaves",
    )
    .await;
    assert_eq!(last, hashes.len() as i64, "the ledger has no gap");
    let leaves: Vec<merkle::Hash> = hashes.iter().map(|h| merkle::leaf_hash(h)).collect();
    let (size, root) = store::head(&app.db).await.unwrap();
    assert_eq!(size, leaves.len() as u64);
    assert_eq!(
        root,
        merkle::root_of(&leaves),
        "the head is a rebuild's root"
    );

    // Every checkpoint taken during the run is extended by the final tree, proved by the API.
    assert!(checkpoints.len() >= 20, "checkpoints were taken throughout");
    for (first, first_root) in &checkpoints {
        assert_eq!(
            *first_root,
            merkle::root_of(&leaves[..*first as usize]),
            "checkpoint {first} signs the rebuild's root"
        );
        if *first == 0 {
            // Every tree extends the empty one; the API has no proof to give for it.
            continue;
        }
        let (status, proof) = call(
            &setup,
            &bases[(*first % 2) as usize],
            Method::GET,
            &format!("/ledger/proof/consistency?first={first}&second={size}"),
            &founder,
            None,
        )
        .await;
        assert_eq!(
            status,
            StatusCode::OK,
            "consistency {first} -> {size}: {proof}"
        );
        let path: Vec<merkle::Hash> = proof["path"]
            .as_array()
            .expect("path")
            .iter()
            .map(|h| {
                hex::decode(h.as_str().unwrap())
                    .unwrap()
                    .try_into()
                    .unwrap()
            })
            .collect();
        merkle::verify_consistency(*first, size, first_root, &root, &path)
            .unwrap_or_else(|e| panic!("checkpoint {first} is not consistent with {size}: {e:?}"));
    }
}
