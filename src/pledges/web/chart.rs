//! The pledge chart as SVG markup (no script), for the backers page and the project page to
//! include, and for `/founder/projects/{id}/pledges.svg`.

use std::sync::LazyLock;
use std::time::Duration;

use askama::Template;
use sqlx::PgPool;

use crate::cache::TtlCache;
use crate::http::error::{Error, Result};
use crate::ids::ProjectId;
use crate::pledges::chart::{self, Drawing};

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

impl From<Drawing> for Chart {
    fn from(d: Drawing) -> Self {
        Chart {
            width: d.width,
            height: d.height,
            left: d.left,
            bottom: d.bottom,
            line: d.line,
            area: d.area,
            max_label: d.max_label,
            start_label: d.start_label,
            end_label: d.end_label,
            empty: d.empty,
        }
    }
}

/// How long a drawn chart is reused. A page with 200,000 pledges is read far more often than its
/// chart visibly changes, and drawing it aggregates every escrow movement of the project.
const CHART_TTL: Duration = Duration::from_secs(30);

/// Charts of up to this many projects are kept.
const CHART_CAPACITY: usize = 10_000;

static CHARTS: LazyLock<TtlCache<ProjectId, String>> =
    LazyLock::new(|| TtlCache::new(CHART_TTL, CHART_CAPACITY));

/// The pledged total of a project over time, as SVG markup. Drawn at most once per
/// [`CHART_TTL`] per project, since the aggregate reads every escrow movement.
pub async fn pledge_chart_svg(db: &PgPool, project: ProjectId) -> Result<String> {
    if let Some(svg) = CHARTS.get(&project) {
        return Ok(svg);
    }
    let drawing = chart::draw(db, project).await?;
    let svg = Chart::from(drawing)
        .render()
        .map_err(|e| Error::Internal(e.into()))?;
    CHARTS.insert(project, svg.clone());
    Ok(svg)
}
