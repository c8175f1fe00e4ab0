//! The chart of a project's pledged total over time: its escrow balance from the journal,
//! aggregated in the database into at most [`CHART_BUCKETS`] steps and laid out here as SVG
//! coordinates. The web layer puts the coordinates into markup (`templates/pledges/chart.svg`).

use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;
use sqlx::PgPool;

use crate::error::Result;
use crate::ids::ProjectId;
use crate::money::amount::fixed;
use crate::money::EscrowBucket;

/// How many time buckets the chart has.
pub const CHART_BUCKETS: i32 = 48;

/// A laid-out chart: sizes in pixels, polyline points, and labels made of numbers and times
/// only (nothing in it comes from a person).
#[derive(Debug, Clone, PartialEq)]
pub struct Drawing {
    pub width: u32,
    pub height: u32,
    pub left: u32,
    pub bottom: u32,
    /// The stepped line, as SVG `points`.
    pub line: String,
    /// The line closed along the base, as SVG `points`.
    pub area: String,
    pub max_label: String,
    pub start_label: String,
    pub end_label: String,
    /// The escrow never moved: nothing to draw.
    pub empty: bool,
}

const WIDTH: u32 = 640;
const HEIGHT: u32 = 220;
const LEFT: u32 = 56;
const BOTTOM: u32 = 24;
const TOP: u32 = 12;

/// Reads the project's escrow movements and lays out their chart. The aggregate reads every
/// escrow movement of the project: callers reuse the result for a while.
pub async fn draw(db: &PgPool, project: ProjectId) -> Result<Drawing> {
    let buckets = crate::money::escrow_movements(db, project, CHART_BUCKETS).await?;
    Ok(lay_out(&buckets))
}

/// Lays out buckets in order (as [`crate::money::escrow_movements`] returns them).
fn lay_out(buckets: &[EscrowBucket]) -> Drawing {
    let plot_w = f64::from(WIDTH - LEFT - 8);
    let plot_h = f64::from(HEIGHT - BOTTOM - TOP);
    let blank = Drawing {
        width: WIDTH,
        height: HEIGHT,
        left: LEFT,
        bottom: BOTTOM,
        line: String::new(),
        area: String::new(),
        max_label: "0.00".into(),
        start_label: String::new(),
        end_label: String::new(),
        empty: true,
    };
    let Some(first) = buckets.first() else {
        return blank;
    };
    let mut running = Decimal::ZERO;
    let mut points = vec![(0.0, 0.0)];
    let mut peak = Decimal::ZERO;
    let mut cumulative = Vec::with_capacity(buckets.len());
    for b in buckets {
        running += b.amount;
        peak = peak.max(running);
        cumulative.push((b.bucket, running));
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
            f64::from(LEFT) + x,
            f64::from(TOP) + plot_h - y
        )
    };
    let line: Vec<String> = points.iter().map(to_svg).collect();
    let base_left = to_svg(&(0.0, 0.0));
    let base_right = to_svg(&(plot_w, 0.0));
    let area = format!("{} {} {}", line.join(" "), base_right, base_left);
    let day = time::macros::format_description!("[month]-[day] [hour]:[minute]");
    Drawing {
        line: line.join(" "),
        area,
        max_label: fixed(peak),
        start_label: first.start.format(&day).unwrap_or_default(),
        end_label: first.finish.format(&day).unwrap_or_default(),
        empty: false,
        ..blank
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_movement_draws_an_empty_chart() {
        let drawing = lay_out(&[]);
        assert!(drawing.empty);
        assert_eq!(drawing.max_label, "0.00");
        assert!(drawing.line.is_empty());
    }

    #[test]
    fn the_line_steps_up_to_the_peak_and_ends_at_the_right_edge() {
        let start = time::macros::datetime!(2026-11-01 08:00 UTC);
        let finish = time::macros::datetime!(2026-11-02 09:30 UTC);
        let bucket = |bucket, amount| EscrowBucket {
            bucket,
            amount: Decimal::from(amount),
            start,
            finish,
        };
        let drawing = lay_out(&[bucket(1, 100), bucket(48, 50)]);
        assert!(!drawing.empty);
        assert_eq!(drawing.max_label, "150.00");
        assert_eq!(drawing.start_label, "11-01 08:00");
        assert_eq!(drawing.end_label, "11-02 09:30");
        let points: Vec<&str> = drawing.line.split(' ').collect();
        assert_eq!(points.first(), Some(&"56.0,196.0"), "starts at the base");
        assert_eq!(
            points.last(),
            Some(&"632.0,12.0"),
            "ends at the peak, right edge"
        );
    }
}
