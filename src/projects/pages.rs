//! Listings in the browser: browse and search, the project page, covers, and the founder's
//! tools. Every form carries the CSRF token; nothing needs JavaScript.

use askama::Template;
use axum::extract::{DefaultBodyLimit, Multipart, Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use rust_decimal::Decimal;
use serde::Deserialize;
use time::OffsetDateTime;
use uuid::Uuid;

use super::api::ListQuery;
use super::domain::{self, NewOffering, NewTier, Slug, CATEGORIES};
use super::repo::{self, Changes, NewProject, Project};
use super::{cover, ProjectId, ProjectKind, ProjectState, TierId};
use crate::accounts::domain::Role;
use crate::accounts::AuthUser;
use crate::app::AppState;
use crate::config::Settings;
use crate::http::csrf::{CsrfForm, CsrfToken};
use crate::http::error::{Error, Message, Result};
use crate::http::extract::{Founder, MaybeUser, RequireRole};
use crate::http::pages::{render, Chrome};
use crate::i18n::Catalogue;

/// Routes of this room.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/projects", get(browse))
        .route("/projects/{key}", get(show))
        .route("/projects/{key}/cover", get(cover_image))
        .route("/founder", get(dashboard))
        .route("/founder/projects", post(create))
        .route("/founder/projects/new", get(new_form))
        .route("/founder/projects/{id}", get(edit_form).post(save))
        .route("/founder/projects/{id}/tiers", post(add_tier))
        .route(
            "/founder/projects/{id}/tiers/{tier}/delete",
            post(delete_tier),
        )
        .route(
            "/founder/projects/{id}/cover",
            post(upload_cover).layer(DefaultBodyLimit::max(cover::UPLOAD_BODY_LIMIT)),
        )
        .route("/founder/projects/{id}/submit", post(submit))
        .route("/founder/projects/{id}/cancel", post(cancel))
        .route("/founder/projects/{id}/updates", post(post_update))
}

/// A label from the catalogue: `prefix.name`.
pub fn label(t: &Catalogue, prefix: &str, name: &str) -> String {
    t.get(&format!("{prefix}.{name}")).to_owned()
}

/// An amount with thousands separators and its currency: `CNY 12,800.00`.
pub fn money_text(amount: Decimal, currency: &str) -> String {
    let fixed = format!("{:.2}", amount.round_dp(2));
    let (whole, cents) = fixed.split_once('.').unwrap_or((&fixed, "00"));
    let (sign, digits) = whole.strip_prefix('-').map_or(("", whole), |d| ("-", d));
    let mut grouped = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(c);
    }
    format!("{currency} {sign}{grouped}.{cents}")
}

/// "12 days left", "5 hours left", "ended".
pub fn time_left(t: &Catalogue, deadline: Option<OffsetDateTime>, now: OffsetDateTime) -> String {
    let Some(deadline) = deadline else {
        return String::new();
    };
    let left = deadline - now;
    if left <= time::Duration::ZERO {
        t.get("projects.ended").to_owned()
    } else if left.whole_days() >= 2 {
        t.fill(
            "projects.days_left",
            &[("n", &left.whole_days().to_string())],
        )
    } else if left.whole_hours() >= 1 {
        t.fill(
            "projects.hours_left",
            &[("n", &left.whole_hours().to_string())],
        )
    } else {
        t.fill(
            "projects.minutes_left",
            &[("n", &left.whole_minutes().max(1).to_string())],
        )
    }
}

/// A time as the pages show it (UTC).
pub fn when(at: OffsetDateTime) -> String {
    let at = at.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02} UTC",
        at.year(),
        at.month() as u8,
        at.day(),
        at.hour(),
        at.minute()
    )
}

/// A project as a card in a list.
pub struct Card {
    pub href: String,
    pub title: String,
    pub summary: String,
    pub cover: Option<String>,
    pub kind: String,
    pub category: String,
    pub state: String,
    pub state_name: &'static str,
    pub pledged: String,
    pub goal: String,
    pub percent: i64,
    /// The value of the `<progress>` bar (capped at 100).
    pub bar: i64,
    pub backers: i32,
    pub time_left: String,
}

impl Card {
    /// The card of `project` in the language of `t`.
    pub fn new(project: &Project, t: &Catalogue, now: OffsetDateTime) -> Self {
        let percent = project.percent();
        Card {
            href: format!("/projects/{}", project.slug),
            title: project.title.clone(),
            summary: project.summary.clone(),
            cover: project.has_cover.then(|| cover_url(project)),
            kind: label(t, "projects.kind", project.kind.as_str()),
            category: label(t, "projects.category", &project.category),
            state: label(t, "projects.state", project.state.as_str()),
            state_name: project.state.as_str(),
            pledged: money_text(project.pledged_total, &project.currency),
            goal: money_text(project.goal, &project.currency),
            percent,
            bar: percent.clamp(0, 100),
            backers: project.backer_count,
            time_left: time_left(t, project.deadline, now),
        }
    }
}

fn cover_url(project: &Project) -> String {
    format!(
        "/projects/{}/cover?v={}",
        project.id,
        project.updated_at.unix_timestamp()
    )
}

/// The newest live projects, for the home page.
pub async fn featured(state: &AppState, t: &Catalogue) -> Result<Vec<Card>> {
    let filter = repo::Filter {
        per_page: 6,
        page: 1,
        ..Default::default()
    };
    let (projects, _) = repo::browse(&state.db, &filter).await?;
    let now = OffsetDateTime::now_utc();
    Ok(projects.iter().map(|p| Card::new(p, t, now)).collect())
}

/// An option of a `<select>`.
pub struct Choice {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

fn choices(t: &Catalogue, prefix: &str, values: &[&str], current: &str) -> Vec<Choice> {
    values
        .iter()
        .map(|v| Choice {
            value: (*v).to_owned(),
            label: label(t, prefix, v),
            selected: *v == current,
        })
        .collect()
}

#[derive(Template)]
#[template(path = "projects/list.html")]
struct ListPage {
    chrome: Chrome,
    cards: Vec<Card>,
    q: String,
    kinds: Vec<Choice>,
    categories: Vec<Choice>,
    sorts: Vec<Choice>,
    states: Vec<Choice>,
    page: u32,
    prev: Option<String>,
    next: Option<String>,
}

fn page_link(query: &ListQuery, page: u32) -> String {
    let pairs = [
        ("q", query.q.as_deref()),
        ("kind", query.kind.as_deref()),
        ("category", query.category.as_deref()),
        ("sort", query.sort.as_deref()),
        ("state", query.state.as_deref()),
    ];
    let mut params: Vec<(&str, String)> = pairs
        .iter()
        .filter_map(|(k, v)| v.filter(|v| !v.is_empty()).map(|v| (*k, v.to_owned())))
        .collect();
    params.push(("page", page.to_string()));
    format!(
        "/projects?{}",
        serde_urlencoded::to_string(&params).unwrap_or_default()
    )
}

async fn browse(
    State(state): State<AppState>,
    chrome: Chrome,
    Query(query): Query<ListQuery>,
) -> Result<Response> {
    let filter = query.filter()?;
    let (projects, more) = repo::browse(&state.db, &filter).await?;
    let t = chrome.t;
    let now = OffsetDateTime::now_utc();
    let page = filter.page;
    render(&ListPage {
        cards: projects.iter().map(|p| Card::new(p, t, now)).collect(),
        q: query.q.clone().unwrap_or_default(),
        kinds: choices(
            t,
            "projects.kind",
            &["reward", "equity"],
            query.kind.as_deref().unwrap_or(""),
        ),
        categories: choices(
            t,
            "projects.category",
            CATEGORIES,
            query.category.as_deref().unwrap_or(""),
        ),
        sorts: choices(
            t,
            "projects.sort",
            &["newest", "ending", "funded"],
            filter.sort.as_str(),
        ),
        states: choices(
            t,
            "projects.state",
            &["live", "frozen", "funded", "failed"],
            filter.state.unwrap_or(ProjectState::Live).as_str(),
        ),
        page,
        prev: (page > 1).then(|| page_link(&query, page - 1)),
        next: more.then(|| page_link(&query, page + 1)),
        chrome,
    })
}

/// A tier as the page shows it.
struct TierView {
    id: String,
    title: String,
    description_html: String,
    price: String,
    remaining: Option<i32>,
    limit: Option<i32>,
    delivery: String,
    ships: bool,
}

struct OfferingView {
    price_per_share: String,
    min_shares: i64,
    max_shares: i64,
    min_per_investor: i64,
    shares_left: i64,
    valuation: String,
    security: String,
    risk_warning: String,
    investors: i32,
    max_investors: i32,
}

struct UpdateView {
    title: String,
    body_html: String,
    at: String,
    backers_only: bool,
}

struct RevisionView {
    text: String,
    at: String,
}

struct TrailView {
    action: String,
    reason: String,
    who: String,
    at: String,
    launch_at: Option<String>,
    proof_href: String,
    tx_hash: String,
}

#[derive(Template)]
#[template(path = "projects/show.html")]
struct ShowPage {
    chrome: Chrome,
    id: String,
    card: Card,
    founder_name: String,
    state_name: &'static str,
    story_html: String,
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
    pledge_chart: Option<String>,
    /// Whether the project takes pledges now (the "back this project" button).
    takes_pledges: bool,
    /// The settlement's ledger transactions, once the project has settled.
    settlement: Option<SettlementView>,
}

/// A settled project's outcome and its ledger transactions.
struct SettlementView {
    transactions: Vec<SettlementRow>,
    all_href: String,
}

struct SettlementRow {
    kind: String,
    tx_hash: String,
    amount: String,
    proof_href: String,
}

async fn show(
    State(state): State<AppState>,
    chrome: Chrome,
    MaybeUser(viewer): MaybeUser,
    Path(key): Path<String>,
) -> Result<Response> {
    use super::lifecycle::{next_state, Action};
    // Proofs are against the current tree, which contains every trail entry already.
    let view = super::api::visible_detail(&state, &key, viewer.as_ref()).await?;
    let (detail, tree_size) = (&view.0, view.1);
    let t = chrome.t;
    let now = OffsetDateTime::now_utc();
    let p = &detail.project;
    let is_owner = viewer.as_ref().is_some_and(|u| u.user.id == p.founder_id);
    let is_regulator = viewer
        .as_ref()
        .is_some_and(|u| u.user.has_role(Role::Regulator));
    let allowed = |a: Action| is_regulator && next_state(p.state, a).is_ok();
    let tiers = detail
        .tiers
        .iter()
        .map(|tier| TierView {
            id: tier.id.to_string(),
            title: tier.title.clone(),
            description_html: tier.description_html.clone(),
            price: money_text(tier.price, &p.currency),
            remaining: tier.remaining,
            limit: tier.quantity_limit,
            delivery: tier.delivery_month.clone().unwrap_or_default(),
            ships: tier.ships,
        })
        .collect();
    let pledge_chart = if matches!(p.state, ProjectState::Draft | ProjectState::InReview) {
        None
    } else {
        Some(crate::pledges::web::chart::pledge_chart_svg(&state.db, p.id).await?)
    };
    let settlement = if p.state.is_final() {
        let rows = crate::settlement::transactions_for_project(&state.db, p.id).await?;
        (!rows.is_empty()).then(|| SettlementView {
            all_href: format!("/api/v1/projects/{}/settlement", p.id),
            transactions: rows
                .into_iter()
                .take(50)
                .map(|(kind, tx_hash, amount)| SettlementRow {
                    proof_href: format!(
                        "/api/v1/ledger/proof/inclusion?tx_hash={tx_hash}&tree_size={tree_size}"
                    ),
                    kind,
                    tx_hash,
                    amount: amount
                        .map(|a| money_text(a, &p.currency))
                        .unwrap_or_default(),
                })
                .collect(),
        })
    } else {
        None
    };
    let offering = detail.offering.as_ref().map(|o| OfferingView {
        price_per_share: money_text(o.price_per_share, &p.currency),
        min_shares: o.min_shares,
        max_shares: o.max_shares,
        min_per_investor: o.min_shares_per_investor,
        shares_left: o.shares_left,
        valuation: money_text(o.pre_money_valuation, &p.currency),
        security: label(t, "projects.security", o.security_type.as_str()),
        risk_warning: o.risk_warning.clone(),
        investors: o.investor_count,
        max_investors: o.max_investors,
    });
    let page = ShowPage {
        id: p.id.to_string(),
        card: Card::new(p, t, now),
        founder_name: p.founder_name.clone(),
        state_name: p.state.as_str(),
        story_html: p.story_html.clone(),
        deadline: p.deadline.map(when).unwrap_or_default(),
        launch: p.launched_at.map(when),
        scheduled: p.state == ProjectState::Live && p.launched_at.is_some_and(|l| l > now),
        review_note: p.review_note.clone(),
        is_owner,
        is_regulator,
        tiers,
        offering,
        updates: detail
            .updates
            .iter()
            .map(|u| UpdateView {
                title: u.title.clone(),
                body_html: u.body_html.clone(),
                at: when(u.created_at),
                backers_only: u.backers_only,
            })
            .collect(),
        revisions: detail
            .revisions
            .iter()
            .map(|r| RevisionView {
                text: if r.change == "tier" {
                    t.fill("projects.revision_tier", &[("title", &r.detail)])
                } else {
                    t.get("projects.revision_story").to_owned()
                },
                at: when(r.created_at),
            })
            .collect(),
        trail: detail
            .supervision
            .iter()
            .map(|s| TrailView {
                action: label(t, "supervision.action", &s.action),
                reason: s.reason.clone(),
                who: s.regulator_name.clone(),
                at: when(s.at),
                launch_at: s.launch_at.map(when),
                proof_href: format!(
                    "/api/v1/ledger/proof/inclusion?tx_hash={}&tree_size={tree_size}",
                    s.tx_hash
                ),
                tx_hash: s.tx_hash.clone(),
            })
            .collect(),
        can_approve: allowed(Action::Approve),
        reason_actions: [
            Action::Reject,
            Action::Freeze,
            Action::Unfreeze,
            Action::RegulatorCancel,
        ]
        .into_iter()
        .filter(|a| allowed(*a))
        .map(|a| Choice {
            value: a.as_str().to_owned(),
            label: label(t, "supervision.action", a.as_str()),
            selected: false,
        })
        .collect(),
        pledge_chart,
        takes_pledges: p.is_open(now),
        settlement,
        chrome,
    };
    render(&page)
}

async fn cover_image(
    State(state): State<AppState>,
    MaybeUser(viewer): MaybeUser,
    Path(key): Path<String>,
) -> Result<Response> {
    let project = super::visible(&state, &key, viewer.as_ref()).await?;
    let (content_type, bytes) = repo::cover(&state.db, project.id)
        .await?
        .ok_or(Error::NotFound)?;
    Ok((
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "public, max-age=300".to_owned()),
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'none'".to_owned(),
            ),
        ],
        bytes,
    )
        .into_response())
}

/// A project in the founder's dashboard.
struct Row {
    id: String,
    title: String,
    slug: String,
    note: Option<String>,
    pledged: String,
    percent: i64,
    time_left: String,
}

struct Group {
    state: String,
    rows: Vec<Row>,
}

#[derive(Template)]
#[template(path = "founder/dashboard.html")]
struct DashboardPage {
    chrome: Chrome,
    groups: Vec<Group>,
}

async fn dashboard(
    State(state): State<AppState>,
    chrome: Chrome,
    RequireRole { 0: founder, .. }: RequireRole<Founder>,
) -> Result<Response> {
    let projects = repo::by_founder(&state.db, founder.user.id).await?;
    let t = chrome.t;
    let now = OffsetDateTime::now_utc();
    let order = [
        ProjectState::Draft,
        ProjectState::InReview,
        ProjectState::Live,
        ProjectState::Frozen,
        ProjectState::Settling,
        ProjectState::Funded,
        ProjectState::Failed,
        ProjectState::Cancelled,
    ];
    let groups = order
        .iter()
        .filter_map(|s| {
            let rows: Vec<Row> = projects
                .iter()
                .filter(|p| p.state == *s)
                .map(|p| Row {
                    id: p.id.to_string(),
                    title: p.title.clone(),
                    slug: p.slug.clone(),
                    note: p.review_note.clone(),
                    pledged: money_text(p.pledged_total, &p.currency),
                    percent: p.percent(),
                    time_left: time_left(t, p.deadline, now),
                })
                .collect();
            (!rows.is_empty()).then(|| Group {
                state: label(t, "projects.state", s.as_str()),
                rows,
            })
        })
        .collect();
    render(&DashboardPage { chrome, groups })
}

/// Every field of the project form, as typed.
#[derive(Debug, Default, Clone, Deserialize)]
pub struct ProjectForm {
    #[serde(default)]
    title: String,
    #[serde(default)]
    slug: String,
    #[serde(default)]
    summary: String,
    #[serde(default)]
    story: String,
    #[serde(default)]
    category: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    goal: String,
    #[serde(default)]
    currency: String,
    #[serde(default)]
    deadline: String,
    #[serde(default)]
    price_per_share: String,
    #[serde(default)]
    min_shares: String,
    #[serde(default)]
    max_shares: String,
    #[serde(default)]
    min_shares_per_investor: String,
    #[serde(default)]
    pre_money_valuation: String,
    #[serde(default)]
    security_type: String,
    #[serde(default)]
    risk_warning: String,
}

fn decimal(raw: &str, key: &'static str) -> Result<Decimal> {
    raw.trim()
        .replace(',', "")
        .parse::<Decimal>()
        .map_err(|_| Error::Unprocessable(Message::Key(key)))
}

fn whole(raw: &str, key: &'static str) -> Result<i64> {
    raw.trim()
        .replace(',', "")
        .parse::<i64>()
        .map_err(|_| Error::Unprocessable(Message::Key(key)))
}

impl ProjectForm {
    fn kind(&self) -> Result<ProjectKind> {
        ProjectKind::parse(self.kind.trim())
            .ok_or_else(|| Error::Unprocessable(Message::Key("projects.error.kind")))
    }

    fn offering(&self) -> Result<NewOffering> {
        let per_investor = self.min_shares_per_investor.trim();
        Ok(NewOffering::parse(
            decimal(&self.price_per_share, "projects.error.price_per_share")?,
            whole(&self.min_shares, "projects.error.shares")?,
            whole(&self.max_shares, "projects.error.shares")?,
            if per_investor.is_empty() {
                None
            } else {
                Some(whole(per_investor, "projects.error.min_per_investor")?)
            },
            decimal(&self.pre_money_valuation, "projects.error.valuation")?,
            &self.security_type,
            &self.risk_warning,
        )?)
    }

    fn to_new(&self, settings: &Settings) -> Result<NewProject> {
        let kind = self.kind()?;
        let offering = match kind {
            ProjectKind::Equity => Some(self.offering()?),
            ProjectKind::Reward => None,
        };
        let goal = match &offering {
            Some(o) => o.goal()?,
            None => domain::money(
                decimal(&self.goal, "projects.error.goal")?,
                "projects.error.goal",
            )?,
        };
        Ok(NewProject {
            title: domain::title(&self.title)?,
            slug: Some(self.slug.trim())
                .filter(|s| !s.is_empty())
                .map(Slug::parse)
                .transpose()?,
            summary: domain::summary(&self.summary)?,
            story: domain::story(&self.story)?,
            category: domain::category(&self.category)?,
            kind,
            goal,
            currency: domain::currency(Some(&self.currency), &settings.supported_currencies)?,
            deadline: domain::deadline(
                domain::parse_time(&self.deadline)?,
                OffsetDateTime::now_utc(),
                settings.min_campaign_seconds,
            )?,
            tiers: Vec::new(),
            offering,
        })
    }

    fn to_changes(&self, project: &Project, settings: &Settings) -> Result<Changes> {
        if matches!(project.state, ProjectState::Live | ProjectState::Frozen) {
            return Ok(Changes {
                story: Some(domain::story(&self.story)?),
                ..Default::default()
            });
        }
        let equity = project.kind == ProjectKind::Equity;
        Ok(Changes {
            title: Some(domain::title(&self.title)?),
            slug: Some(self.slug.trim())
                .filter(|s| !s.is_empty())
                .map(Slug::parse)
                .transpose()?,
            summary: Some(domain::summary(&self.summary)?),
            story: Some(domain::story(&self.story)?),
            category: Some(domain::category(&self.category)?),
            goal: if equity {
                None
            } else {
                Some(domain::money(
                    decimal(&self.goal, "projects.error.goal")?,
                    "projects.error.goal",
                )?)
            },
            currency: Some(domain::currency(
                Some(&self.currency),
                &settings.supported_currencies,
            )?),
            deadline: Some(domain::deadline(
                domain::parse_time(&self.deadline)?,
                OffsetDateTime::now_utc(),
                settings.min_campaign_seconds,
            )?),
            offering: if equity { Some(self.offering()?) } else { None },
        })
    }

    fn from_project(p: &Project, offering: Option<&repo::Offering>) -> Self {
        let deadline = p.deadline.map(|d| {
            let d = d.to_offset(time::UtcOffset::UTC);
            format!(
                "{:04}-{:02}-{:02}T{:02}:{:02}",
                d.year(),
                d.month() as u8,
                d.day(),
                d.hour(),
                d.minute()
            )
        });
        let mut form = ProjectForm {
            title: p.title.clone(),
            slug: p.slug.clone(),
            summary: p.summary.clone(),
            story: p.story.clone(),
            category: p.category.clone(),
            kind: p.kind.as_str().into(),
            goal: format!("{:.2}", p.goal),
            currency: p.currency.clone(),
            deadline: deadline.unwrap_or_default(),
            ..Default::default()
        };
        if let Some(o) = offering {
            form.price_per_share = format!("{:.2}", o.price_per_share);
            form.min_shares = o.min_shares.to_string();
            form.max_shares = o.max_shares.to_string();
            form.min_shares_per_investor = o.min_shares_per_investor.to_string();
            form.pre_money_valuation = format!("{:.2}", o.pre_money_valuation);
            form.security_type = o.security_type.as_str().into();
            form.risk_warning = o.risk_warning.clone();
        }
        form
    }
}

#[derive(Template)]
#[template(path = "founder/edit.html")]
struct EditPage {
    chrome: Chrome,
    /// `None` while creating.
    id: Option<String>,
    slug: String,
    state: String,
    state_name: String,
    is_draft: bool,
    is_live: bool,
    is_reward: bool,
    is_equity: bool,
    can_cancel: bool,
    cover: Option<String>,
    review_note: Option<String>,
    error: Option<String>,
    form: ProjectForm,
    categories: Vec<Choice>,
    securities: Vec<Choice>,
    tiers: Vec<repo::Tier>,
    currency: String,
}

fn form_page(
    chrome: Chrome,
    project: Option<&Project>,
    tiers: Vec<repo::Tier>,
    form: ProjectForm,
    error: Option<String>,
) -> EditPage {
    let t = chrome.t;
    let state = project.map_or(ProjectState::Draft, |p| p.state);
    // A new project shows both the reward and the equity fields: the kind is chosen on the form.
    let kind = project.map(|p| p.kind);
    EditPage {
        id: project.map(|p| p.id.to_string()),
        slug: project.map(|p| p.slug.clone()).unwrap_or_default(),
        state: label(t, "projects.state", state.as_str()),
        state_name: state.as_str().to_owned(),
        is_draft: state == ProjectState::Draft,
        is_live: matches!(state, ProjectState::Live | ProjectState::Frozen),
        is_reward: kind == Some(ProjectKind::Reward),
        is_equity: kind == Some(ProjectKind::Equity),
        can_cancel: matches!(state, ProjectState::Draft | ProjectState::InReview),
        cover: project.filter(|p| p.has_cover).map(cover_url),
        review_note: project.and_then(|p| p.review_note.clone()),
        error,
        categories: choices(t, "projects.category", CATEGORIES, &form.category),
        securities: choices(
            t,
            "projects.security",
            &["ordinary_shares", "convertible_note"],
            &form.security_type,
        ),
        currency: project.map_or_else(|| "CNY".to_owned(), |p| p.currency.clone()),
        form,
        tiers,
        chrome,
    }
}

fn with_status(mut response: Response, error: &Error) -> Response {
    *response.status_mut() = error.status_code();
    response
}

async fn new_form(chrome: Chrome, RequireRole { .. }: RequireRole<Founder>) -> Result<Response> {
    let form = ProjectForm {
        kind: "reward".into(),
        currency: "CNY".into(),
        ..Default::default()
    };
    render(&form_page(chrome, None, Vec::new(), form, None))
}

async fn create(
    State(state): State<AppState>,
    chrome: Chrome,
    RequireRole { 0: founder, .. }: RequireRole<Founder>,
    CsrfForm(form): CsrfForm<ProjectForm>,
) -> Result<Response> {
    let attempt = async {
        let new = form.to_new(&state.settings)?;
        super::create(&state, &founder, new)
            .await
            .map_err(Error::from)
    }
    .await;
    match attempt {
        Ok(project) => {
            Ok(Redirect::to(&format!("/founder/projects/{}", project.id)).into_response())
        }
        Err(e @ (Error::Unprocessable(_) | Error::Conflict(_))) => {
            let message = e.message().in_lang(chrome.t);
            Ok(with_status(
                render(&form_page(chrome, None, Vec::new(), form, Some(message)))?,
                &e,
            ))
        }
        Err(e) => Err(e),
    }
}

fn parse_id(raw: &str) -> Result<ProjectId> {
    raw.parse::<Uuid>()
        .map(ProjectId)
        .map_err(|_| Error::NotFound)
}

async fn edit_page(
    state: &AppState,
    chrome: Chrome,
    founder: &AuthUser,
    id: ProjectId,
    form: Option<ProjectForm>,
    error: Option<String>,
) -> Result<EditPage> {
    let project = super::owned(state, id, founder).await?;
    let mut conn = state.db.acquire().await?;
    let tiers = repo::tiers(&mut conn, id).await?;
    let offering = repo::offering(&mut conn, id).await?;
    drop(conn);
    let form = form.unwrap_or_else(|| ProjectForm::from_project(&project, offering.as_ref()));
    Ok(form_page(chrome, Some(&project), tiers, form, error))
}

async fn edit_form(
    State(state): State<AppState>,
    chrome: Chrome,
    RequireRole { 0: founder, .. }: RequireRole<Founder>,
    Path(id): Path<String>,
) -> Result<Response> {
    render(&edit_page(&state, chrome, &founder, parse_id(&id)?, None, None).await?)
}

/// Runs a founder's form action; a user error re-renders the edit page with the message.
async fn or_show_error(
    state: &AppState,
    chrome: Chrome,
    founder: &AuthUser,
    id: ProjectId,
    form: Option<ProjectForm>,
    result: Result<(), impl Into<Error>>,
) -> Result<Response> {
    match result.map_err(Into::into) {
        Ok(()) => Ok(Redirect::to(&format!("/founder/projects/{id}")).into_response()),
        Err(e @ (Error::Unprocessable(_) | Error::Conflict(_) | Error::PayloadTooLarge)) => {
            let message = e.message().in_lang(chrome.t);
            let page = edit_page(state, chrome, founder, id, form, Some(message)).await?;
            Ok(with_status(render(&page)?, &e))
        }
        Err(e) => Err(e),
    }
}

async fn save(
    State(state): State<AppState>,
    chrome: Chrome,
    RequireRole { 0: founder, .. }: RequireRole<Founder>,
    Path(id): Path<String>,
    CsrfForm(form): CsrfForm<ProjectForm>,
) -> Result<Response> {
    let id = parse_id(&id)?;
    let result = async {
        let project = super::owned(&state, id, &founder).await?;
        let changes = form.to_changes(&project, &state.settings)?;
        super::edit(&state, &founder, id, changes)
            .await
            .map(|_| ())
            .map_err(Error::from)
    }
    .await;
    or_show_error(&state, chrome, &founder, id, Some(form), result).await
}

#[derive(Deserialize)]
struct TierForm {
    title: String,
    #[serde(default)]
    description: String,
    price: String,
    #[serde(default)]
    quantity_limit: String,
    #[serde(default)]
    delivery_month: String,
    ships: Option<String>,
}

async fn add_tier(
    State(state): State<AppState>,
    chrome: Chrome,
    RequireRole { 0: founder, .. }: RequireRole<Founder>,
    Path(id): Path<String>,
    CsrfForm(form): CsrfForm<TierForm>,
) -> Result<Response> {
    let id = parse_id(&id)?;
    let result = async {
        let limit = form.quantity_limit.trim();
        let tier = NewTier::parse(
            &form.title,
            &form.description,
            decimal(&form.price, "projects.error.tier_price")?,
            if limit.is_empty() {
                None
            } else {
                Some(whole(limit, "projects.error.quantity_limit")?)
            },
            Some(&form.delivery_month),
            form.ships.is_some(),
        )?;
        super::add_tier(&state, &founder, id, tier)
            .await
            .map(|_| ())
            .map_err(Error::from)
    }
    .await;
    or_show_error(&state, chrome, &founder, id, None, result).await
}

#[derive(Deserialize)]
struct Empty {}

async fn delete_tier(
    State(state): State<AppState>,
    chrome: Chrome,
    RequireRole { 0: founder, .. }: RequireRole<Founder>,
    Path((id, tier)): Path<(String, String)>,
    CsrfForm(_): CsrfForm<Empty>,
) -> Result<Response> {
    let id = parse_id(&id)?;
    let tier = tier
        .parse::<Uuid>()
        .map(TierId)
        .map_err(|_| Error::NotFound)?;
    let result = super::delete_tier(&state, &founder, id, tier)
        .await
        .map_err(Error::from);
    or_show_error(&state, chrome, &founder, id, None, result).await
}

async fn upload_cover(
    State(state): State<AppState>,
    chrome: Chrome,
    CsrfToken(expected): CsrfToken,
    RequireRole { 0: founder, .. }: RequireRole<Founder>,
    Path(id): Path<String>,
    form: Multipart,
) -> Result<Response> {
    let id = parse_id(&id)?;
    super::owned(&state, id, &founder).await?;
    let upload = cover::read(form).await;
    // The middleware derived the token this browser's cookie must produce; the multipart form
    // has to carry exactly that, as a URL-encoded form would.
    if let Ok(upload) = &upload {
        if upload.csrf.as_deref() != Some(expected.as_str()) {
            return Err(Error::Csrf);
        }
    }
    let result = match upload {
        Ok(upload) => super::set_cover(&state, &founder, id, &upload).await,
        Err(e) => Err(e),
    };
    or_show_error(&state, chrome, &founder, id, None, result).await
}

async fn submit(
    State(state): State<AppState>,
    chrome: Chrome,
    RequireRole { 0: founder, .. }: RequireRole<Founder>,
    Path(id): Path<String>,
    CsrfForm(_): CsrfForm<Empty>,
) -> Result<Response> {
    let id = parse_id(&id)?;
    let result = super::submit(&state, &founder, id).await.map(|_| ());
    or_show_error(&state, chrome, &founder, id, None, result).await
}

async fn cancel(
    State(state): State<AppState>,
    chrome: Chrome,
    RequireRole { 0: founder, .. }: RequireRole<Founder>,
    Path(id): Path<String>,
    CsrfForm(_): CsrfForm<Empty>,
) -> Result<Response> {
    let id = parse_id(&id)?;
    let result = super::founder_cancel(&state, &founder, id)
        .await
        .map(|_| ());
    or_show_error(&state, chrome, &founder, id, None, result).await
}

#[derive(Deserialize)]
struct UpdateForm {
    title: String,
    body: String,
    backers_only: Option<String>,
}

async fn post_update(
    State(state): State<AppState>,
    chrome: Chrome,
    RequireRole { 0: founder, .. }: RequireRole<Founder>,
    Path(id): Path<String>,
    CsrfForm(form): CsrfForm<UpdateForm>,
) -> Result<Response> {
    let id = parse_id(&id)?;
    let result = super::post_update(
        &state,
        &founder,
        id,
        &form.title,
        &form.body,
        form.backers_only.is_some(),
    )
    .await
    .map(|_| ());
    or_show_error(&state, chrome, &founder, id, None, result).await
}

#[cfg(test)]
mod tests {
    use super::money_text;

    #[test]
    fn amounts_are_grouped_by_thousands() {
        assert_eq!(
            money_text("1234567.5".parse().unwrap(), "CNY"),
            "CNY 1,234,567.50"
        );
        assert_eq!(money_text("999".parse().unwrap(), "USD"), "USD 999.00");
        assert_eq!(money_text("0".parse().unwrap(), "CNY"), "CNY 0.00");
    }
}

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    chrome: Chrome,
    ledger_size: i64,
    cards: Vec<Card>,
}

/// `GET /`
pub async fn home(state: axum::extract::State<AppState>, chrome: Chrome) -> Result<Response> {
    let ledger_size = crate::ledger::store::size(&state.db).await?;
    let cards = featured(&state, chrome.t).await?;
    render(&HomePage {
        chrome,
        ledger_size: ledger_size as i64,
        cards,
    })
}
