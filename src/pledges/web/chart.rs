//! The pledge chart as SVG markup (no script), labelled in the reader's language and zone, for
//! the project page and the backers page to include, and for `/founder/projects/{id}/pledges.svg`.

use std::sync::LazyLock;
use std::time::Duration;

use askama::Template;
use rust_decimal::Decimal;
use sqlx::PgPool;

use crate::cache::TtlCache;
use crate::http::error::{Error, Result};
use crate::i18n::format::{self, Zone};
use crate::i18n::Lang;
use crate::ids::ProjectId;
use crate::pledges::chart::{self, Drawing, BOTTOM, HEIGHT, SIDE, TOP, WIDTH};

#[derive(Template)]
#[template(path = "pledges/chart.svg")]
struct Chart<'a> {
    drawing: &'a Drawing,
    width: u32,
    height: u32,
    side: u32,
    top: u32,
    bottom: u32,
    end_x: String,
    end_y: String,
    /// What the chart shows, in words (its accessible name).
    described: String,
    empty_text: &'static str,
    total_label: String,
    /// The peak, when the line came down from it (else it is the total already said).
    peak_label: Option<String>,
    start_label: String,
    /// The last movement's date, when it is not the first one's.
    end_label: Option<String>,
}

/// A drawn chart: its markup, and what it says, for the page around it.
pub struct PledgeChart {
    /// The SVG markup; only numbers, dates and catalogue texts (nothing from a person).
    pub svg: String,
    /// Nothing was pledged yet: the page says so instead of showing an empty plot.
    pub empty: bool,
}

/// How long a drawing is reused while the project's total stays the same. A page with 200,000
/// pledges is read far more often than it gains one, and drawing it aggregates every pledge.
const CHART_TTL: Duration = Duration::from_secs(30);

/// Drawings of up to this many projects are kept.
const CHART_CAPACITY: usize = 10_000;

/// Drawings by project and the total they end at.
static DRAWINGS: LazyLock<TtlCache<(ProjectId, Decimal), Drawing>> =
    LazyLock::new(|| TtlCache::new(CHART_TTL, CHART_CAPACITY));

/// The chart of a project whose page shows `shown_total` as pledged. Drawings are kept by the
/// total they end at, and one is reused only for a page showing that same total, so the chart
/// agrees with the figure beside it: a new pledge or cancellation changes the total and so
/// draws the chart afresh, and a visitor's page kept from a moment ago (with the total of
/// then) finds the drawing made for it then.
pub async fn chart_for_total(
    db: &PgPool,
    project: ProjectId,
    shown_total: Decimal,
    lang: Lang,
    zone: &Zone,
) -> Result<PledgeChart> {
    let drawing = match DRAWINGS.get(&(project, shown_total)) {
        Some(kept) => kept,
        None => {
            let fresh = chart::draw(db, project).await?;
            DRAWINGS.insert((project, fresh.total), fresh.clone());
            fresh
        }
    };
    labelled(&drawing, lang, zone)
}

/// The pledged total of a project over time, drawn now, as SVG markup in `lang` and `zone`.
pub async fn pledge_chart_svg(
    db: &PgPool,
    project: ProjectId,
    lang: Lang,
    zone: &Zone,
) -> Result<String> {
    let drawing = chart::draw(db, project).await?;
    Ok(labelled(&drawing, lang, zone)?.svg)
}

/// The drawing with its labels written for the reader.
fn labelled(drawing: &Drawing, lang: Lang, zone: &Zone) -> Result<PledgeChart> {
    let t = lang.catalogue();
    let money = |amount: Decimal| format::money(lang, amount, &drawing.currency);
    let total_label = money(drawing.total);
    let (start_label, end_label) = match drawing.span {
        Some((start, finish)) => {
            let (first, last) = (
                format::date(lang, zone, start),
                format::date(lang, zone, finish),
            );
            let last = (last != first).then_some(last);
            (first, last)
        }
        None => (String::new(), None),
    };
    let described = if drawing.is_empty() {
        t.get("pledges.chart.empty").to_owned()
    } else {
        t.fill(
            "pledges.chart.described",
            &[
                ("total", &total_label),
                ("from", &start_label),
                ("to", end_label.as_deref().unwrap_or(&start_label)),
            ],
        )
    };
    let chart = Chart {
        drawing,
        width: WIDTH,
        height: HEIGHT,
        side: SIDE,
        top: TOP,
        bottom: BOTTOM,
        end_x: format!("{:.1}", drawing.end.0),
        end_y: format!("{:.1}", drawing.end.1),
        described,
        empty_text: t.get("pledges.chart.empty"),
        peak_label: (drawing.peak > drawing.total)
            .then(|| t.fill("pledges.chart.peak", &[("amount", &money(drawing.peak))])),
        total_label,
        start_label,
        end_label,
    };
    let svg = chart.render().map_err(|e| Error::Internal(e.into()))?;
    Ok(PledgeChart {
        svg,
        empty: drawing.is_empty(),
    })
}
