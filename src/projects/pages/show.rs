//! The project page, and its cover image.

use askama::Template;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use time::OffsetDateTime;

use super::parts::{
    reason_actions, OfferingView, RevisionView, SettlementView, TierView, TrailView, UpdateView,
};
use super::share::Share;
use super::{Card, Choice};
use crate::accounts::domain::Role;
use crate::accounts::AuthUser;
use crate::app::AppState;
use crate::community::follows::FollowButton;
use crate::community::web::comments_pages::{block as comments_block, Block as CommentsBlock};
use crate::http::error::{Error, Result};
use crate::http::extract::{MaybeUser, Path};
use crate::http::pages::{render, Chrome};
use crate::ids::UserId;
use crate::pledges::web::chart::{chart_for_total, PledgeChart};
use crate::projects::lifecycle::{next_state, Action};
use crate::projects::views::ProjectDetail;
use crate::projects::{api, repo, ProjectState};

#[derive(Template)]
#[template(path = "projects/show.html")]
struct ShowPage {
    chrome: Chrome,
    id: String,
    card: Card,
    founder_name: String,
    /// The founder's profile page.
    founder_path: String,
    state_name: &'static str,
    story_html: String,
    /// The pledged total, the goal and the backers, written for the reader.
    pledged: String,
    goal: String,
    backers: String,
    /// The progress bar's accessible name: how much of the goal is pledged, in words.
    progress_label: String,
    deadline: String,
    launch: Option<String>,
    scheduled: bool,
    review_note: Option<String>,
    is_owner: bool,
    is_regulator: bool,
    tiers: Vec<TierView>,
    offering: Option<OfferingView>,
    updates: Vec<UpdateView>,
    revisions: Vec<RevisionView>,
    trail: Vec<TrailView>,
    can_approve: bool,
    /// The other actions the regulator may take now, each with a reason form.
    reason_actions: Vec<Choice>,
    /// Chart of pledges over time, server-drawn SVG from the pledging room.
    pledge_chart: Option<PledgeChart>,
    /// Whether the project takes pledges now (the "back this project" button).
    takes_pledges: bool,
    /// The settlement's ledger transactions, once the project has settled.
    settlement: Option<SettlementView>,
    /// The discussion: its first page and forms (the community room's block).
    comments: CommentsBlock,
    /// The follow button, from the community room.
    follow: FollowButton,
    /// The page's address and picture for sharing (Open Graph, Twitter card, QR code).
    share: Share,
}

/// What the page adds to the project's data from other rooms: the pledge chart and the
/// settlement's transactions.
struct Extras {
    pledge_chart: Option<PledgeChart>,
    settlement: Option<SettlementView>,
    follow: FollowButton,
}

async fn extras(
    state: &AppState,
    detail: &ProjectDetail,
    tree_size: u64,
    chrome: &Chrome,
    viewer: Option<UserId>,
) -> Result<Extras> {
    let p = &detail.project;
    let pledge_chart = if matches!(p.state, ProjectState::Draft | ProjectState::InReview) {
        None
    } else {
        // Drawn for the total this page shows, so the line ends at the figure beside it.
        Some(chart_for_total(&state.db, p.id, p.pledged_total, chrome.lang, &chrome.zone).await?)
    };
    let settlement = if p.state.is_final() {
        let rows = crate::settlement::transactions_for_project(&state.db, p.id).await?;
        SettlementView::new(&p.id.to_string(), rows, &p.currency, tree_size, chrome)
    } else {
        None
    };
    let follow = FollowButton::with_followers(&state.db, p, viewer, detail.followers).await?;
    Ok(Extras {
        pledge_chart,
        settlement,
        follow,
    })
}

impl ShowPage {
    /// The page of `detail` for `viewer`, proofs against the tree of `tree_size` leaves.
    fn new(
        chrome: Chrome,
        viewer: Option<&AuthUser>,
        detail: &ProjectDetail,
        tree_size: u64,
        extras: Extras,
        comments: CommentsBlock,
        share: Share,
    ) -> Self {
        let t = chrome.t;
        let now = OffsetDateTime::now_utc();
        let p = &detail.project;
        let is_regulator = viewer.is_some_and(|u| u.user.has_role(Role::Regulator));
        let c = &chrome;
        let card = Card::in_zone(p, t, &c.zone, now);
        let pledged = c.money(&p.pledged_total, &p.currency);
        let goal = c.money(&p.goal, &p.currency);
        let progress_label = t.fill(
            "projects.show.progress",
            &[
                ("percent", &card.percent.to_string()),
                ("pledged", &pledged),
                ("goal", &goal),
            ],
        );
        ShowPage {
            id: p.id.to_string(),
            backers: c.count("backers", &i64::from(p.backer_count)),
            pledged,
            goal,
            progress_label,
            card,
            founder_name: p.founder_name.clone(),
            founder_path: format!("/u/{}", p.founder_id.0),
            state_name: p.state.as_str(),
            story_html: p.story_html.clone(),
            deadline: p.deadline.map(|d| c.moment(&d)).unwrap_or_default(),
            launch: p.launched_at.map(|l| c.moment(&l)),
            scheduled: p.state == ProjectState::Live && p.launched_at.is_some_and(|l| l > now),
            review_note: p.review_note.clone(),
            is_owner: viewer.is_some_and(|u| u.user.id == p.founder_id),
            is_regulator,
            tiers: detail
                .tiers
                .iter()
                .map(|tier| TierView::new(tier, &p.currency, c))
                .collect(),
            offering: detail
                .offering
                .as_ref()
                .map(|o| OfferingView::new(o, &p.currency, c)),
            updates: detail
                .updates
                .iter()
                .map(|u| UpdateView::new(u, c))
                .collect(),
            revisions: detail
                .revisions
                .iter()
                .map(|r| RevisionView::new(r, c))
                .collect(),
            trail: detail
                .supervision
                .iter()
                .map(|s| TrailView::new(s, tree_size, c))
                .collect(),
            can_approve: is_regulator && next_state(p.state, Action::Approve).is_ok(),
            reason_actions: if is_regulator {
                reason_actions(p.state, t)
            } else {
                Vec::new()
            },
            pledge_chart: extras.pledge_chart,
            takes_pledges: p.is_open(now),
            settlement: extras.settlement,
            comments,
            follow: extras.follow,
            share,
            chrome,
        }
    }
}

/// `GET /projects/{key}`: the project page, by id or slug.
pub(super) async fn show(
    State(state): State<AppState>,
    chrome: Chrome,
    MaybeUser(viewer): MaybeUser,
    Path(key): Path<String>,
) -> Result<Response> {
    // Proofs are against the current tree, which contains every trail entry already.
    let view = api::visible_detail(&state, &key, viewer.as_ref(), Some(chrome.lang)).await?;
    let (detail, tree_size) = (&view.0, view.1);
    let reader = viewer.as_ref().map(|v| v.user.id);
    let extras = extras(&state, detail, tree_size, &chrome, reader).await?;
    let comments = comments_block(
        &state,
        &chrome,
        viewer.as_ref(),
        &detail.project,
        None,
        detail.discussed,
    )
    .await?;
    let share = Share::new(&state.settings.public_url, &detail.project, &chrome);
    render(&ShowPage::new(
        chrome,
        viewer.as_ref(),
        detail,
        tree_size,
        extras,
        comments,
        share,
    ))
}

/// `GET /projects/{key}/cover`: the cover, to whoever may see the project.
pub(super) async fn cover_image(
    State(state): State<AppState>,
    MaybeUser(viewer): MaybeUser,
    Path(key): Path<String>,
) -> Result<Response> {
    let project = crate::projects::visible(&state.db, &key, viewer.as_ref()).await?;
    let cover = repo::cover(&state.db, project.id)
        .await?
        .ok_or(Error::NotFound)?;
    Ok((
        [
            (header::CONTENT_TYPE, cover.content_type),
            (header::CACHE_CONTROL, "public, max-age=300".to_owned()),
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'none'".to_owned(),
            ),
        ],
        cover.bytes,
    )
        .into_response())
}
