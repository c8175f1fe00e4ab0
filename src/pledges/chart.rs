//! The chart of a project's pledged total over time, from the pledges themselves: every pledge
//! adds its amount when it was made and a cancelled one takes it off when it was cancelled. So
//! the line ends at the project's pledged total (which counts every pledge not cancelled), and
//! stays there after settlement: collecting or refunding a pledge does not change what was
//! pledged, unlike the escrow balance, which payout empties. The movements are aggregated in the
//! database into at most [`CHART_BUCKETS`] steps and laid out here as SVG coordinates; the web
//! layer writes the labels in the reader's language (`templates/pledges/chart.svg`).

use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;
use sqlx::PgPool;
use time::OffsetDateTime;

use crate::error::Result;
use crate::ids::ProjectId;

/// How many time buckets the chart has.
pub const CHART_BUCKETS: i32 = 48;

/// The drawing's width in SVG units. Small, so that its labels stay legible when a phone
/// scales the whole drawing down to its screen.
pub const WIDTH: u32 = 400;
/// The drawing's height in SVG units.
pub const HEIGHT: u32 = 190;
/// Room left and right of the plot.
pub const SIDE: u32 = 8;
/// Room above the plot, for the total and peak labels.
pub const TOP: u32 = 30;
/// Room below the plot, for the dates.
pub const BOTTOM: u32 = 26;

/// One time slice of a project's pledge movements.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct PledgeBucket {
    /// Which slice, 1 to [`CHART_BUCKETS`].
    pub bucket: i32,
    /// Pledged during the slice, less what was cancelled during it.
    pub amount: Decimal,
    /// When the first movement of the whole span happened.
    pub start: OffsetDateTime,
    /// When the last one did (at least a second after `start`).
    pub finish: OffsetDateTime,
    /// The pledges' currency (one per project).
    pub currency: String,
}

/// A laid-out chart: polyline points in SVG units, and the numbers and times the labels say
/// (nothing in it comes from a person).
#[derive(Debug, Clone, PartialEq)]
pub struct Drawing {
    /// The stepped line, as SVG `points`.
    pub line: String,
    /// The line closed along the base, as SVG `points`.
    pub area: String,
    /// Where the line ends (the total now), in SVG units.
    pub end: (f64, f64),
    /// The highest total the line reached (the top of the plot).
    pub peak: Decimal,
    /// The total at the end of the line: every pledge not cancelled.
    pub total: Decimal,
    /// The currency of the amounts; empty when nothing was pledged.
    pub currency: String,
    /// The first and the last movement; `None` when nothing was pledged.
    pub span: Option<(OffsetDateTime, OffsetDateTime)>,
}

impl Drawing {
    /// Nothing was ever pledged: there is no line to draw.
    pub fn is_empty(&self) -> bool {
        self.span.is_none()
    }
}

/// A project's pledge movements over time, in [`CHART_BUCKETS`] equal slices of the span from
/// its first to its last movement, in bucket order. One statement over the pledges of the
/// project (`pledges_project_idx`); empty when nothing was ever pledged.
async fn movements(db: &PgPool, project: ProjectId) -> Result<Vec<PledgeBucket>> {
    Ok(sqlx::query_as(
        "WITH points AS (
             SELECT created_at AS at, amount, currency FROM pledges WHERE project_id = $1
             UNION ALL
             SELECT coalesce(closed_at, updated_at), -amount, currency FROM pledges
              WHERE project_id = $1 AND state = 'cancelled'
         ), span AS (
             SELECT min(at) AS start,
                    greatest(max(at), min(at) + interval '1 second') AS finish
             FROM points
         )
         SELECT width_bucket(extract(epoch FROM points.at)::float8,
                             extract(epoch FROM span.start)::float8,
                             extract(epoch FROM span.finish)::float8 + 0.001, $2) AS bucket,
                sum(points.amount) AS amount, span.start, span.finish,
                min(points.currency) AS currency
         FROM points CROSS JOIN span
         GROUP BY bucket, span.start, span.finish ORDER BY bucket",
    )
    .bind(project)
    .bind(CHART_BUCKETS)
    .fetch_all(db)
    .await?)
}

/// Reads the project's pledge movements and lays out their chart. The aggregate reads every
/// pledge of the project once.
pub async fn draw(db: &PgPool, project: ProjectId) -> Result<Drawing> {
    Ok(lay_out(&movements(db, project).await?))
}

/// Lays out buckets in order (as [`movements`] returns them).
fn lay_out(buckets: &[PledgeBucket]) -> Drawing {
    let plot_w = f64::from(WIDTH - 2 * SIDE);
    let plot_h = f64::from(HEIGHT - TOP - BOTTOM);
    let to_svg = |x: f64, y: f64| (f64::from(SIDE) + x, f64::from(TOP) + plot_h - y);
    let Some(first) = buckets.first() else {
        return Drawing {
            line: String::new(),
            area: String::new(),
            end: to_svg(plot_w, 0.0),
            peak: Decimal::ZERO,
            total: Decimal::ZERO,
            currency: String::new(),
            span: None,
        };
    };
    let mut running = Decimal::ZERO;
    let mut peak = Decimal::ZERO;
    let mut cumulative = Vec::with_capacity(buckets.len());
    for b in buckets {
        running += b.amount;
        peak = peak.max(running);
        cumulative.push((b.bucket, running));
    }
    let peak_f = peak.to_f64().unwrap_or(0.0).max(0.01);
    let mut points = vec![(0.0, 0.0)];
    let mut last_y = 0.0;
    for (bucket, value) in cumulative {
        let x = f64::from(bucket.clamp(1, CHART_BUCKETS)) / f64::from(CHART_BUCKETS) * plot_w;
        let y = value.to_f64().unwrap_or(0.0).max(0.0) / peak_f * plot_h;
        // Steps: the total holds until the next bucket changes it.
        points.push((x, last_y));
        points.push((x, y));
        last_y = y;
    }
    points.push((plot_w, last_y));
    let text = |(x, y): (f64, f64)| format!("{x:.1},{y:.1}");
    let line: Vec<String> = points.iter().map(|&(x, y)| text(to_svg(x, y))).collect();
    let line = line.join(" ");
    let area = format!(
        "{line} {} {}",
        text(to_svg(plot_w, 0.0)),
        text(to_svg(0.0, 0.0))
    );
    Drawing {
        line,
        area,
        end: to_svg(plot_w, last_y),
        peak,
        total: running,
        currency: first.currency.clone(),
        span: Some((first.start, first.finish)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bucket(bucket: i32, amount: i64) -> PledgeBucket {
        PledgeBucket {
            bucket,
            amount: Decimal::from(amount),
            start: time::macros::datetime!(2026-11-01 08:00 UTC),
            finish: time::macros::datetime!(2026-11-02 09:30 UTC),
            currency: "CNY".into(),
        }
    }

    #[test]
    fn nothing_pledged_draws_no_line() {
        let drawing = lay_out(&[]);
        assert!(drawing.is_empty());
        assert_eq!(drawing.total, Decimal::ZERO);
        assert!(drawing.line.is_empty());
    }

    #[test]
    fn the_line_steps_up_to_the_peak_and_ends_at_the_right_edge() {
        let drawing = lay_out(&[bucket(1, 100), bucket(48, 50)]);
        assert!(!drawing.is_empty());
        assert_eq!(drawing.peak, Decimal::from(150));
        assert_eq!(drawing.total, Decimal::from(150));
        let points: Vec<&str> = drawing.line.split(' ').collect();
        assert_eq!(points.first(), Some(&"8.0,164.0"), "starts at the base");
        assert_eq!(
            points.last(),
            Some(&"392.0,30.0"),
            "ends at the peak, right edge"
        );
        assert_eq!(drawing.end, (392.0, 30.0));
    }

    #[test]
    fn a_cancellation_lowers_the_end_below_the_peak() {
        let drawing = lay_out(&[bucket(1, 100), bucket(20, -40)]);
        assert_eq!(drawing.peak, Decimal::from(100));
        assert_eq!(drawing.total, Decimal::from(60));
        let plot_h = f64::from(HEIGHT - TOP - BOTTOM);
        assert!((drawing.end.1 - (f64::from(TOP) + plot_h * 0.4)).abs() < 0.01);
    }
}
