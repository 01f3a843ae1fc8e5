//! Charts of the document as SVG for the web page (`/report`), drawn with the same scales as
//! the PDF. The page itself is an askama template of the web app over the same `Document`.

use crate::document::{tick_label, Chart, Mark, PALETTE};
use std::fmt::Write;

const W: f64 = 420.0;
const H: f64 = 220.0;
const X0: f64 = 40.0;
const X1: f64 = W - 8.0;
const Y0: f64 = H - 34.0;
const Y1: f64 = 8.0;

fn escape(t: &str) -> String {
    t.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn rgb(i: usize) -> String {
    let (r, g, b) = PALETTE[i % PALETTE.len()];
    format!("rgb({r},{g},{b})")
}

/// The chart as an inline SVG element with a title and a description (its text alternative).
pub fn chart_svg(c: &Chart, id: &str) -> String {
    let px = |u: f64| X0 + (X1 - X0) * u;
    let py = |u: f64| Y0 - (Y0 - Y1) * u;
    let dw = c.day_width();
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg class="chart report-chart" viewBox="0 0 {W} {H}" role="img" aria-labelledby="{id}-t {id}-d" xmlns="http://www.w3.org/2000/svg"><title id="{id}-t">{}</title><desc id="{id}-d">{}</desc>"#,
        escape(&c.title),
        escape(&c.summary)
    );
    for b in &c.bands {
        let (_, lo) = c.unit(0.0, b.from);
        let (_, hi) = c.unit(0.0, b.to);
        let _ = write!(
            s,
            r#"<rect class="band" x="{X0}" y="{:.1}" width="{:.1}" height="{:.1}" fill-opacity="{:.2}"/><text class="axis" x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"#,
            py(hi),
            X1 - X0,
            py(lo) - py(hi),
            0.05 + 0.05 * f64::from(b.shade),
            X1 - 4.0,
            py(hi) + 10.0,
            escape(&b.label)
        );
    }
    for sp in &c.spans {
        let (a, _) = c.unit(sp.from, 0.0);
        let (b, _) = c.unit(sp.to, 0.0);
        let _ = write!(
            s,
            r#"<rect class="s{}" x="{:.1}" y="{Y1}" width="{:.1}" height="{:.1}" fill="{}" fill-opacity="0.18"><title>{}</title></rect>"#,
            sp.colour % PALETTE.len(),
            px(a),
            px((b + dw).min(1.0)) - px(a),
            Y0 - Y1,
            rgb(sp.colour),
            escape(&sp.label)
        );
    }
    for t in &c.y_ticks {
        let (_, u) = c.unit(0.0, *t);
        let _ = write!(
            s,
            r#"<line class="grid" x1="{X0}" x2="{X1}" y1="{y:.1}" y2="{y:.1}"/><text class="axis" x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"#,
            X0 - 5.0,
            py(u) + 4.0,
            tick_label(*t),
            y = py(u)
        );
    }
    let mut stacked: std::collections::BTreeMap<i64, f64> = Default::default();
    for se in &c.series {
        let colour = rgb(se.colour);
        let class = se.colour % PALETTE.len();
        match se.mark {
            Mark::Line => {
                for run in Chart::runs(&se.points) {
                    let pts: Vec<String> = run
                        .iter()
                        .map(|(x, y)| {
                            let (ux, uy) = c.unit(*x, *y);
                            format!("{:.1},{:.1}", px(ux + dw / 2.0), py(uy))
                        })
                        .collect();
                    if let [one] = run {
                        // A night on its own (no neighbour to join): a dot, as in the PDF.
                        let (ux, uy) = c.unit(one.0, one.1);
                        let _ = write!(
                            s,
                            r#"<circle class="s{class}" cx="{:.1}" cy="{:.1}" r="2" fill="{colour}"/>"#,
                            px(ux + dw / 2.0),
                            py(uy)
                        );
                        continue;
                    }
                    let _ = write!(
                        s,
                        r#"<polyline class="s{class}" points="{}" fill="none" stroke="{colour}" stroke-width="1.5"/>"#,
                        pts.join(" ")
                    );
                }
            }
            Mark::Dots => {
                for (x, y) in &se.points {
                    let (ux, uy) = c.unit(*x, *y);
                    let _ = write!(
                        s,
                        r#"<circle class="s{class}" cx="{:.1}" cy="{:.1}" r="2.6" fill="{colour}"/>"#,
                        px(ux + dw / 2.0),
                        py(uy)
                    );
                }
            }
            Mark::Bars => {
                for (x, y) in &se.points {
                    if *y <= 0.0 {
                        continue;
                    }
                    let base = stacked.entry(*x as i64).or_insert(0.0);
                    let (ux, ub) = c.unit(*x, *base);
                    let (_, ut) = c.unit(*x, *base + *y);
                    *base += *y;
                    let _ = write!(
                        s,
                        r#"<rect class="s{class}" x="{:.1}" y="{:.1}" width="{:.2}" height="{:.1}" fill="{colour}"/>"#,
                        px(ux),
                        py(ut),
                        ((X1 - X0) * dw * 0.85).max(0.6),
                        py(ub) - py(ut)
                    );
                }
            }
        }
    }
    for (i, r) in c.rules.iter().enumerate() {
        let (_, u) = c.unit(0.0, r.y);
        // Alternate the labels left and right so that close rules stay readable.
        let (x, anchor) = if i % 2 == 0 {
            (X0 + 4.0, "start")
        } else {
            (X1 - 4.0, "end")
        };
        let _ = write!(
            s,
            r#"<line class="rule" x1="{X0}" x2="{X1}" y1="{y:.1}" y2="{y:.1}"{}/><text class="axis" x="{x:.1}" y="{:.1}" text-anchor="{anchor}">{}</text>"#,
            if r.dashed {
                r#" stroke-dasharray="5 3""#
            } else {
                ""
            },
            py(u) - 4.0,
            escape(&r.label),
            y = py(u)
        );
    }
    let _ = write!(
        s,
        r#"<polyline class="frame" points="{X0},{Y1} {X0},{Y0} {X1},{Y0}" fill="none"/><text class="axis" x="{X0}" y="{:.1}">{}</text><text class="axis" x="{X1}" y="{:.1}" text-anchor="end">{}</text><text class="axis" x="{:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
        Y0 + 14.0,
        escape(&c.x_labels.0),
        Y0 + 14.0,
        escape(&c.x_labels.1),
        (X0 + X1) / 2.0,
        Y0 + 14.0,
        escape(&c.y_label)
    );
    let mut x = X0;
    for se in &c.series {
        let _ = write!(
            s,
            r#"<rect class="s{}" x="{x:.1}" y="{:.1}" width="9" height="9" fill="{}"/><text class="axis" x="{:.1}" y="{:.1}">{}</text>"#,
            se.colour % PALETTE.len(),
            H - 12.0,
            rgb(se.colour),
            x + 13.0,
            H - 4.0,
            escape(&se.label)
        );
        x += 13.0 + 7.0 * se.label.chars().count() as f64 + 16.0;
    }
    s.push_str("</svg>");
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::document::Series;

    fn chart(points: Vec<(f64, f64)>) -> Chart {
        Chart {
            title: "Nightly RLS severity".into(),
            summary: String::new(),
            x_range: (0.0, 10.0),
            x_labels: ("a".into(), "b".into()),
            y_range: (0.0, 10.0),
            y_ticks: vec![0.0, 10.0],
            y_label: "severity".into(),
            bands: vec![],
            spans: vec![],
            rules: vec![],
            series: vec![Series {
                label: "severity".into(),
                mark: Mark::Line,
                colour: 0,
                points,
            }],
        }
    }

    /// A night with no neighbour is drawn as a dot (a line through one point draws nothing);
    /// nights on consecutive days are joined; a gap of more than a day breaks the line.
    #[test]
    fn lone_nights_are_dots_and_runs_are_lines() {
        let one = chart_svg(&chart(vec![(3.0, 6.0)]), "c1");
        assert_eq!(
            (
                one.matches("<circle").count(),
                one.matches("<polyline class=\"s").count()
            ),
            (1, 0)
        );
        // Days 1, 2 (a run) and 5 (alone): one line and one dot.
        let mixed = chart_svg(&chart(vec![(1.0, 4.0), (2.0, 5.0), (5.0, 7.0)]), "c2");
        assert_eq!(
            (
                mixed.matches("<circle").count(),
                mixed.matches("<polyline class=\"s").count()
            ),
            (1, 1)
        );
    }
}
