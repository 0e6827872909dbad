//! The consumption chart as inline SVG, drawn on the server: one bar per interval (a partly
//! measured one lighter), the spot price as a line on its own scale, a few labelled ticks.
//! Only numbers and escaped labels go into the markup.

use std::fmt::Write;

use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;

const WIDTH: f64 = 800.0;
const HEIGHT: f64 = 260.0;
const LEFT: f64 = 48.0;
const BOTTOM: f64 = 24.0;
const TOP: f64 = 8.0;

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The chart of `energy_wh` (per interval), `partial` (not wholly measured), `spot` (price per
/// MWh per interval), with `ticks` (interval index, label) and an accessible `title`.
pub fn svg(
    energy_wh: &[Option<i64>],
    partial: &[bool],
    spot: &[Option<Decimal>],
    ticks: &[(usize, String)],
    title: &str,
) -> String {
    let count = energy_wh.len().max(1);
    let max_wh = energy_wh
        .iter()
        .flatten()
        .copied()
        .max()
        .unwrap_or(0)
        .max(1);
    let plot_w = WIDTH - LEFT - 8.0;
    let plot_h = HEIGHT - BOTTOM - TOP;
    let step = plot_w / count as f64;
    let mut out = String::new();
    let _ = write!(
        out,
        r#"<svg viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-labelledby="chart-title" xmlns="http://www.w3.org/2000/svg"><title id="chart-title">{}</title>"#,
        escape(title)
    );
    let _ = write!(
        out,
        r#"<line class="axis" x1="{LEFT}" y1="{y}" x2="{x2}" y2="{y}"/>"#,
        y = HEIGHT - BOTTOM,
        x2 = WIDTH - 8.0
    );
    let _ = write!(
        out,
        r#"<text class="tick" x="{x}" y="{y}" text-anchor="end">{kwh} kWh</text><text class="tick" x="{x}" y="{y0}" text-anchor="end">0</text>"#,
        x = LEFT - 4.0,
        y = TOP + 10.0,
        y0 = HEIGHT - BOTTOM,
        kwh = escape(&format!("{:.1}", max_wh as f64 / 1000.0))
    );
    for (i, energy) in energy_wh.iter().enumerate() {
        let Some(energy) = energy else { continue };
        let h = (*energy.max(&0) as f64 / max_wh as f64) * plot_h;
        let class = if partial.get(i).copied().unwrap_or(false) {
            "bar partial"
        } else {
            "bar"
        };
        let _ = write!(
            out,
            r#"<rect class="{class}" x="{:.2}" y="{:.2}" width="{:.2}" height="{:.2}"/>"#,
            LEFT + i as f64 * step,
            HEIGHT - BOTTOM - h,
            (step * 0.85).max(0.5),
            h
        );
    }
    let prices: Vec<f64> = spot.iter().flatten().filter_map(|p| p.to_f64()).collect();
    if let (Some(low), Some(high)) = (
        prices.iter().copied().reduce(f64::min),
        prices.iter().copied().reduce(f64::max),
    ) {
        let span = (high - low).max(1.0);
        let mut points = String::new();
        for (i, price) in spot.iter().enumerate() {
            if let Some(price) = price.and_then(|p| p.to_f64()) {
                let _ = write!(
                    points,
                    "{:.2},{:.2} ",
                    LEFT + (i as f64 + 0.5) * step,
                    TOP + plot_h - (price - low) / span * plot_h
                );
            }
        }
        let _ = write!(
            out,
            r#"<polyline class="spot" points="{}"/>"#,
            points.trim_end()
        );
    }
    for (index, label) in ticks {
        let _ = write!(
            out,
            r#"<text class="tick" x="{:.2}" y="{}" text-anchor="middle">{}</text>"#,
            LEFT + (*index as f64 + 0.5) * step,
            HEIGHT - 6.0,
            escape(label)
        );
    }
    out.push_str("</svg>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_scale_to_the_highest_and_labels_are_escaped() {
        let svg = svg(
            &[Some(500), None, Some(1000)],
            &[false, false, true],
            &[Some(Decimal::from(40)), None, Some(Decimal::from(80))],
            &[(0, "<1>".to_owned())],
            "a & b",
        );
        assert_eq!(svg.matches("<rect").count(), 2);
        assert!(svg.contains("bar partial"));
        assert!(svg.contains("&lt;1&gt;") && svg.contains("a &amp; b"));
        assert!(svg.contains("<polyline"));
    }
}
