//! What a founder sees of the pledges to their project: the backers (with tier or shares), CSV
//! exports for shipping and for the share register, and the chart of pledges over time.

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use askama::Template;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;
use serde::Serialize;
use sqlx::PgPool;
use time::OffsetDateTime;
use uuid::Uuid;

use super::api::parse_id;
use super::PledgeState;
use crate::app::AppState;
use crate::http::error::{Error, Result};
use crate::http::extract::{ApiJson, CurrentUser, MaybeUser};
use crate::http::pages::{render, Chrome};
use crate::money::amount::fixed;
use crate::money::pages::{login_first, short_time};
use crate::projects::capacity::{self, PledgeTarget};
use crate::projects::{ProjectId, ProjectKind};

/// Page and API routes of the founder's tools.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/founder/projects/{id}/backers", get(backers_page))
        .route("/founder/projects/{id}/backers.csv", get(backers_csv))
        .route(
            "/founder/projects/{id}/share-register.csv",
            get(share_register_csv),
        )
        .route("/founder/projects/{id}/pledges.svg", get(chart))
}

/// API routes, relative to `/api/v1`.
pub fn api_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(backers_api))
}

/// One backer of a project, as the founder sees them.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct BackerLine {
    #[schema(value_type = String, format = Uuid)]
    pub pledge_id: Uuid,
    pub display_name: String,
    pub email: String,
    pub tier: Option<String>,
    pub ships: bool,
    pub shares: Option<i64>,
    #[schema(value_type = String, example = "128.00")]
    #[serde(with = "rust_decimal::serde::str")]
    pub amount: Decimal,
    pub currency: String,
    pub state: PledgeState,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub pledged_at: OffsetDateTime,
}

/// The backers of a project whose pledges are active or collected, oldest first.
pub async fn backers(db: &PgPool, project: ProjectId) -> Result<Vec<BackerLine>> {
    #[expect(clippy::type_complexity, reason = "one row of a join")]
    let rows: Vec<(
        Uuid,
        String,
        String,
        Option<String>,
        Option<bool>,
        Option<i64>,
        Decimal,
        String,
        String,
        OffsetDateTime,
    )> = sqlx::query_as(
        "SELECT p.id, u.display_name, u.email, t.title, t.ships, p.shares, p.amount, p.currency,
                p.state, p.created_at
         FROM pledges p JOIN users u ON u.id = p.backer_id
         LEFT JOIN reward_tiers t ON t.id = p.tier_id
         WHERE p.project_id = $1 AND p.state IN ('active', 'collected')
         ORDER BY p.created_at, p.id",
    )
    .bind(project.0)
    .fetch_all(db)
    .await?;
    rows.into_iter()
        .map(
            |(pledge_id, display_name, email, tier, ships, shares, amount, currency, state, at)| {
                Ok(BackerLine {
                    pledge_id,
                    display_name,
                    email,
                    tier,
                    ships: ships.unwrap_or(false),
                    shares,
                    amount,
                    currency,
                    state: PledgeState::parse(&state).ok_or_else(|| {
                        Error::Internal(anyhow::anyhow!("unknown pledge state {state}"))
                    })?,
                    pledged_at: at,
                })
            },
        )
        .collect()
}

/// The project, if `user` founded it; someone else's project is "not found".
async fn own_project(
    state: &AppState,
    user: crate::accounts::domain::UserId,
    id: &str,
) -> Result<PledgeTarget> {
    let project = ProjectId(parse_id(id)?);
    capacity::pledge_target(&state.db, project)
        .await?
        .filter(|t| t.founder == user)
        .ok_or(Error::NotFound)
}

struct Line {
    name: String,
    email: String,
    what: String,
    amount: String,
    state_key: &'static str,
    at: String,
}

#[derive(Template)]
#[template(path = "pledges/backers.html")]
struct BackersPage {
    chrome: Chrome,
    project_id: String,
    title: String,
    is_equity: bool,
    currency: String,
    lines: Vec<Line>,
    total: String,
    chart: String,
}

impl BackersPage {
    /// The chart is markup this server drew from numbers and catalogue-free labels; nothing in
    /// it comes from a person.
    fn chart_markup(&self) -> &str {
        &self.chart
    }
}

async fn backers_page(
    State(state): State<AppState>,
    chrome: Chrome,
    MaybeUser(user): MaybeUser,
    Path(id): Path<String>,
) -> Result<Response> {
    let Some(user) = user else {
        return Ok(login_first(&format!("/founder/projects/{id}/backers")));
    };
    let target = own_project(&state, user.user.id, &id).await?;
    let list = backers(&state.db, target.id).await?;
    let total: Decimal = list.iter().map(|b| b.amount).sum();
    let t = chrome.t;
    let lines = list
        .into_iter()
        .map(|b| Line {
            what: match (b.shares, b.tier) {
                (Some(n), _) => t.fill("pledges.n_shares", &[("n", &n.to_string())]),
                (None, Some(tier)) => tier,
                (None, None) => t.get("pledges.no_reward").to_owned(),
            },
            name: b.display_name,
            email: b.email,
            amount: fixed(b.amount),
            state_key: match b.state {
                PledgeState::Collected => "pledges.state.collected",
                _ => "pledges.state.active",
            },
            at: short_time(b.pledged_at),
        })
        .collect();
    let chart = pledge_chart_svg(&state.db, target.id).await?;
    render(&BackersPage {
        project_id: target.id.to_string(),
        title: target.title,
        is_equity: target.kind == ProjectKind::Equity,
        currency: target.currency,
        lines,
        total: fixed(total),
        chart,
        chrome,
    })
}

/// Founder's backers as JSON.
#[utoipa::path(get, path = "/api/v1/founder/projects/{id}/backers", tag = "pledges",
    security(("bearer" = [])),
    params(("id" = String, Path, format = Uuid, description = "project id")),
    responses((status = 200, body = Vec<BackerLine>), (status = 404, description = "not your project")))]
pub async fn backers_api(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
) -> Result<ApiJson<Vec<BackerLine>>> {
    let target = own_project(&state, user.user.id, &id).await?;
    Ok(ApiJson(backers(&state.db, target.id).await?))
}

/// A CSV field: quoted when needed, and never read as a formula by a spreadsheet.
fn csv_field(value: &str) -> String {
    let guarded = if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{value}")
    } else {
        value.to_owned()
    };
    if guarded.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", guarded.replace('"', "\"\""))
    } else {
        guarded
    }
}

fn csv(header: &[&str], rows: impl Iterator<Item = Vec<String>>) -> String {
    let mut out = header.join(",");
    out.push_str("\r\n");
    for row in rows {
        let fields: Vec<String> = row.iter().map(|f| csv_field(f)).collect();
        out.push_str(&fields.join(","));
        out.push_str("\r\n");
    }
    out
}

fn csv_response(name: &str, body: String) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        body,
    )
        .into_response()
}

/// The backers for shipping: name, email, reward, whether it ships, amount, state, date.
pub async fn backers_csv_text(db: &PgPool, project: ProjectId) -> Result<String> {
    let list = backers(db, project).await?;
    Ok(csv(
        &[
            "pledge_id",
            "name",
            "email",
            "reward",
            "ships",
            "amount",
            "currency",
            "state",
            "pledged_at",
        ],
        list.into_iter().filter(|b| b.shares.is_none()).map(|b| {
            vec![
                b.pledge_id.to_string(),
                b.display_name,
                b.email,
                b.tier.unwrap_or_default(),
                b.ships.to_string(),
                fixed(b.amount),
                b.currency,
                b.state.as_str().to_owned(),
                b.pledged_at
                    .format(&time::format_description::well_known::Rfc3339)
                    .unwrap_or_default(),
            ]
        }),
    ))
}

/// The share register of an equity offering: investor, shares, amount, state, date.
pub async fn share_register_csv_text(db: &PgPool, project: ProjectId) -> Result<String> {
    let list = backers(db, project).await?;
    Ok(csv(
        &[
            "pledge_id",
            "investor",
            "email",
            "shares",
            "amount",
            "currency",
            "state",
            "committed_at",
        ],
        list.into_iter().filter_map(|b| {
            let shares = b.shares?;
            Some(vec![
                b.pledge_id.to_string(),
                b.display_name,
                b.email,
                shares.to_string(),
                fixed(b.amount),
                b.currency,
                b.state.as_str().to_owned(),
                b.pledged_at
                    .format(&time::format_description::well_known::Rfc3339)
                    .unwrap_or_default(),
            ])
        }),
    ))
}

async fn backers_csv(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
) -> Result<Response> {
    let target = own_project(&state, user.user.id, &id).await?;
    let body = backers_csv_text(&state.db, target.id).await?;
    Ok(csv_response(&format!("backers-{}.csv", target.id), body))
}

async fn share_register_csv(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
) -> Result<Response> {
    let target = own_project(&state, user.user.id, &id).await?;
    if target.kind != ProjectKind::Equity {
        return Err(Error::NotFound);
    }
    let body = share_register_csv_text(&state.db, target.id).await?;
    Ok(csv_response(
        &format!("share-register-{}.csv", target.id),
        body,
    ))
}

async fn chart(
    State(state): State<AppState>,
    MaybeUser(viewer): MaybeUser,
    Path(id): Path<String>,
) -> Result<Response> {
    let project = ProjectId(parse_id(&id)?);
    crate::projects::visible_target(&state.db, project, viewer.as_ref()).await?;
    let svg = pledge_chart_svg(&state.db, project).await?;
    Ok(([(header::CONTENT_TYPE, "image/svg+xml")], svg).into_response())
}

/// How many time buckets the chart has.
const CHART_BUCKETS: i32 = 48;

#[derive(Template)]
#[template(path = "pledges/chart.svg")]
struct Chart {
    width: u32,
    height: u32,
    left: u32,
    bottom: u32,
    line: String,
    area: String,
    max_label: String,
    start_label: String,
    end_label: String,
    empty: bool,
}

/// How long a drawn chart is reused. A page with 200,000 pledges is read far more often than its
/// chart visibly changes, and drawing it aggregates every escrow movement of the project.
const CHART_TTL: std::time::Duration = std::time::Duration::from_secs(30);

/// Charts of up to this many projects are kept.
const CHART_CAPACITY: usize = 10_000;

static CHARTS: std::sync::LazyLock<crate::cache::TtlCache<ProjectId, String>> =
    std::sync::LazyLock::new(|| crate::cache::TtlCache::new(CHART_TTL, CHART_CAPACITY));

/// The pledged total of a project over time (its escrow balance, from the journal), drawn on
/// the server as SVG markup with no script, for the project page to include. Aggregated in the
/// database into at most 48 steps. Drawn at most once per [`CHART_TTL`] per project, since the
/// aggregate reads every escrow movement.
pub async fn pledge_chart_svg(db: &PgPool, project: ProjectId) -> Result<String> {
    if let Some(svg) = CHARTS.get(&project) {
        return Ok(svg);
    }
    let svg = draw_chart(db, project).await?;
    CHARTS.insert(project, svg.clone());
    Ok(svg)
}

async fn draw_chart(db: &PgPool, project: ProjectId) -> Result<String> {
    let buckets = crate::money::escrow_movements(db, project, CHART_BUCKETS).await?;
    let (width, height, left, bottom, top) = (640u32, 220u32, 56u32, 24u32, 12u32);
    let plot_w = f64::from(width - left - 8);
    let plot_h = f64::from(height - bottom - top);
    let Some(&(_, _, start, end)) = buckets.first() else {
        return render_chart(Chart {
            width,
            height,
            left,
            bottom,
            line: String::new(),
            area: String::new(),
            max_label: "0.00".into(),
            start_label: String::new(),
            end_label: String::new(),
            empty: true,
        });
    };
    let mut running = Decimal::ZERO;
    let mut points = vec![(0.0, 0.0)];
    let mut peak = Decimal::ZERO;
    let mut cumulative = Vec::new();
    for (bucket, sum, _, _) in buckets {
        running += sum;
        peak = peak.max(running);
        cumulative.push((bucket, running));
    }
    let peak_f = peak.to_f64().unwrap_or(0.0).max(0.01);
    let mut last_y = 0.0;
    for (bucket, value) in cumulative {
        let x = f64::from(bucket.clamp(1, CHART_BUCKETS)) / f64::from(CHART_BUCKETS) * plot_w;
        let y = value.to_f64().unwrap_or(0.0) / peak_f * plot_h;
        // Steps: the total holds until the next bucket changes it.
        points.push((x, last_y));
        points.push((x, y));
        last_y = y;
    }
    points.push((plot_w, last_y));
    let to_svg = |(x, y): &(f64, f64)| {
        format!(
            "{:.1},{:.1}",
            f64::from(left) + x,
            f64::from(top) + plot_h - y
        )
    };
    let line: Vec<String> = points.iter().map(to_svg).collect();
    let base_left = to_svg(&(0.0, 0.0));
    let base_right = to_svg(&(plot_w, 0.0));
    let area = format!("{} {} {}", line.join(" "), base_right, base_left);
    let day = time::macros::format_description!("[month]-[day] [hour]:[minute]");
    render_chart(Chart {
        width,
        height,
        left,
        bottom,
        line: line.join(" "),
        area,
        max_label: fixed(peak),
        start_label: start.format(&day).unwrap_or_default(),
        end_label: end.format(&day).unwrap_or_default(),
        empty: false,
    })
}

fn render_chart(chart: Chart) -> Result<String> {
    chart.render().map_err(|e| Error::Internal(e.into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_are_quoted_and_never_formulas() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(csv_field("-5"), "'-5");
    }
}
