//! SVG charts drawn on the server (no script): readable in both themes through `currentColor`
//! and CSS classes, with a title and a text summary for screen readers.

use quietlegs_core::diary::Night;
use std::fmt::Write;

/// Chart size in SVG user units (scaled to the page width by CSS).
const WIDTH: f64 = 360.0;
const HEIGHT: f64 = 200.0;
const LEFT: f64 = 36.0;
const BOTTOM: f64 = 28.0;
const TOP: f64 = 12.0;
const RIGHT: f64 = 12.0;

/// Nightly severity (0-10) over the nights given, one point per night (gaps where a night is
/// missing), with grid lines at 0, 5 and 10.
pub fn severity_chart(nights: &[Night]) -> String {
    let mut svg = String::new();
    let (Some(first), Some(last)) = (nights.first(), nights.last()) else {
        return svg;
    };
    let span = ((last.date - first.date).get_days().max(1)) as f64;
    let x = |d: jiff::civil::Date| {
        LEFT + (d - first.date).get_days() as f64 / span * (WIDTH - LEFT - RIGHT)
    };
    let y = |v: f64| TOP + (10.0 - v) / 10.0 * (HEIGHT - TOP - BOTTOM);
    let mean = nights.iter().map(|n| f64::from(n.severity)).sum::<f64>() / nights.len() as f64;
    let _ = write!(
        svg,
        r#"<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-labelledby="sev-title sev-desc" xmlns="http://www.w3.org/2000/svg"><title id="sev-title">Nightly RLS severity</title><desc id="sev-desc">{} nights from {} to {}; mean severity {mean:.1} of 10.</desc>"#,
        nights.len(),
        first.date,
        last.date
    );
    for v in [0.0, 5.0, 10.0] {
        let _ = write!(
            svg,
            r#"<line class="grid" x1="{LEFT}" x2="{}" y1="{y:.1}" y2="{y:.1}"/><text class="axis" x="{}" y="{:.1}" text-anchor="end">{v}</text>"#,
            WIDTH - RIGHT,
            LEFT - 6.0,
            y(v) + 4.0,
            y = y(v)
        );
    }
    let _ = write!(
        svg,
        r#"<text class="axis" x="{LEFT}" y="{}">{}</text><text class="axis" x="{}" y="{}" text-anchor="end">{}</text>"#,
        HEIGHT - 8.0,
        first.date,
        WIDTH - RIGHT,
        HEIGHT - 8.0,
        last.date
    );
    // One polyline per run of consecutive nights: a missing night breaks the line.
    let mut runs: Vec<Vec<&Night>> = Vec::new();
    for n in nights {
        match runs.last_mut() {
            Some(run)
                if run
                    .last()
                    .is_some_and(|p| (n.date - p.date).get_days() == 1) =>
            {
                run.push(n)
            }
            _ => runs.push(vec![n]),
        }
    }
    for run in runs {
        let points: Vec<String> = run
            .iter()
            .map(|n| format!("{:.1},{:.1}", x(n.date), y(f64::from(n.severity))))
            .collect();
        let _ = write!(
            svg,
            r#"<polyline class="line" points="{}"/>"#,
            points.join(" ")
        );
    }
    for n in nights {
        let _ = write!(
            svg,
            r#"<circle class="dot" cx="{:.1}" cy="{:.1}" r="3.5"><title>{}: {}</title></circle>"#,
            x(n.date),
            y(f64::from(n.severity)),
            n.date,
            n.severity
        );
    }
    svg.push_str("</svg>");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    fn night(d: jiff::civil::Date, severity: u8) -> Night {
        Night {
            date: d,
            severity,
            symptoms_began: None,
            sleep_quality: None,
            hours_slept: None,
            minutes_to_sleep: None,
            awakenings: None,
            note: None,
        }
    }

    #[test]
    fn points_sit_where_the_scale_puts_them_and_gaps_break_the_line() {
        let svg = severity_chart(&[
            night(date(2026, 1, 1), 10),
            night(date(2026, 1, 2), 0),
            night(date(2026, 1, 5), 5),
        ]);
        // Plot area: x from 36 to 348 over 4 days (78 per day); y from 12 (10) to 172 (0).
        assert!(
            svg.contains(r#"<polyline class="line" points="36.0,12.0 114.0,172.0"/>"#),
            "{svg}"
        );
        assert!(
            svg.contains(r#"<polyline class="line" points="348.0,92.0"/>"#),
            "{svg}"
        );
        assert!(svg.contains("3 nights from 2026-01-01 to 2026-01-05; mean severity 5.0 of 10."));
        assert_eq!(severity_chart(&[]), "");
    }
}
