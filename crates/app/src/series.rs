//! Pooled analysis of many n-of-1 series (`quietlegs series analyze`): a CSV streamed into
//! per-participant statistics (memory grows with participants, not rows), both mixed models
//! fitted by REML (`quietlegs_core::trial::pooled`), and the forest plot.
//!
//! A clinic's pooled analysis over the store will gather the same [`PersonStats`] (one row per
//! participant from a `GROUP BY`) and call [`analyze_people`].

use crate::AppError;
use quietlegs_core::trial::pooled::{
    self, PersonStats, PooledAnalysis, PooledSpec, SeriesAccumulator,
};
use quietlegs_core::ReferenceData;
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;
use std::io::Read;

/// Options of `series analyze`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SeriesOptions {
    /// The comparator's label in the condition column (required).
    pub control: Option<String>,
    /// The treatment's label (default: the one other condition).
    pub treatment: Option<String>,
    pub higher_is_better: bool,
    /// Minimal important difference (default: the nightly-severity default of the rules).
    pub mcid: Option<f64>,
}

fn spec(reference: &ReferenceData, o: &SeriesOptions) -> Result<PooledSpec, AppError> {
    let mcid = o
        .mcid
        .unwrap_or(reference.rules.trial.mcid_nightly_severity);
    if !(mcid.is_finite() && mcid > 0.0) {
        return Err(AppError::field("mcid", "must be more than 0"));
    }
    Ok(PooledSpec {
        higher_is_better: o.higher_is_better,
        mcid,
    })
}

fn control(o: &SeriesOptions) -> Result<&str, AppError> {
    o.control.as_deref().ok_or_else(|| {
        AppError::field(
            "control",
            "a LABEL is required: the comparator's label in the condition column",
        )
    })
}

/// Reads `participant,day,condition,outcome` (header required, any column order, extra columns
/// ignored) row by row from `reader` and fits both models. Errors name the line and the field.
pub fn analyze_csv<R: Read>(
    reference: &ReferenceData,
    reader: R,
    o: &SeriesOptions,
) -> Result<PooledAnalysis, AppError> {
    let control = control(o)?;
    let spec = spec(reference, o)?;
    // Fields are trimmed here rather than by the reader: csv's `Trim::All` rebuilds every record
    // (an allocation per row, a third of the time on a million rows).
    let mut rdr = csv::ReaderBuilder::new()
        .flexible(false)
        .from_reader(reader);
    let line_of = |e: &csv::Error| e.position().map(|p| p.line()).unwrap_or(1);
    let headers: Vec<String> = rdr
        .headers()
        .map_err(|e| AppError::refused(format!("line {}: {e}", line_of(&e))))?
        .iter()
        .map(|h| h.trim_start_matches('\u{feff}').trim().to_lowercase())
        .collect();
    let col = |name: &str| headers.iter().position(|h| h == name);
    let (Some(cp), Some(cd), Some(cc), Some(co)) = (
        col("participant"),
        col("day"),
        col("condition"),
        col("outcome"),
    ) else {
        return Err(AppError::refused(
            "line 1: the header must name the columns participant,day,condition,outcome",
        ));
    };
    let mut acc = SeriesAccumulator::new();
    let mut rec = csv::StringRecord::new();
    loop {
        match rdr.read_record(&mut rec) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                return Err(AppError::refused(format!("line {}: {e}", line_of(&e))));
            }
        }
        let line = rec.position().map(|p| p.line()).unwrap_or(0);
        let get = |i: usize| rec.get(i).unwrap_or("").trim();
        acc.push(line, get(cp), get(cd), get(cc), get(co))
            .map_err(|e| AppError::refused(e.to_string()))?;
    }
    let data = acc
        .finish(control, o.treatment.as_deref())
        .map_err(|e| AppError::refused(e.to_string()))?;
    pooled::fit(&data, &spec).map_err(|e| AppError::refused(e.to_string()))
}

/// Fits statistics gathered elsewhere (one row per participant, e.g. from the store).
pub fn analyze_people(
    reference: &ReferenceData,
    people: impl IntoIterator<Item = PersonStats>,
    treatment: &str,
    o: &SeriesOptions,
) -> Result<PooledAnalysis, AppError> {
    let control = control(o)?;
    let spec = spec(reference, o)?;
    pooled::fit_people(people, control, treatment, &spec)
        .map_err(|e| AppError::refused(e.to_string()))
}

/// The most participant rows the forest plot draws; beyond that it draws this many, evenly
/// spaced in the order of the shrunken effect (including the lowest and the highest), and says
/// so. A layout setting: 40 rows keep the labels readable at 14 px per row.
pub const FOREST_MAX_ROWS: usize = 40;

fn escape(t: &str) -> String {
    quietlegs_core::text::escape_controls(t)
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A forest plot (SVG): per participant, their own trial's estimate (open grey) and their
/// shrunken estimate (filled blue) with 95 % intervals, sorted by the shrunken effect; the
/// population effect of the random-slope model as a diamond; no effect and ±MCID as lines.
/// Written by hand like the trial timeline: lines, circles and text need no plotting crate.
pub fn forest_svg(a: &PooledAnalysis) -> String {
    const W: f64 = 860.0;
    const LEFT: f64 = 130.0;
    const RIGHT: f64 = 30.0;
    const TOP: f64 = 84.0;
    const ROW: f64 = 16.0;
    let mut order: Vec<usize> = (0..a.participants.len()).collect();
    order.sort_by(|&i, &j| {
        a.participants[i]
            .effect
            .total_cmp(&a.participants[j].effect)
    });
    let shown: Vec<usize> = if order.len() <= FOREST_MAX_ROWS {
        order.clone()
    } else {
        let k = FOREST_MAX_ROWS - 1;
        (0..=k).map(|r| order[r * (order.len() - 1) / k]).collect()
    };
    let rs = &a.models.random_slope;
    // The axis covers the shrunken intervals, the population interval, no effect and the
    // own estimates (their intervals, often much wider, are cut at the edge with an arrow).
    let mut lo = rs.ci95[0].min(0.0).min(-a.mcid.min(1e9));
    let mut hi = rs.ci95[1].max(0.0).max(a.mcid.min(1e9));
    for &i in &shown {
        let p = &a.participants[i];
        lo = lo.min(p.ci95[0]);
        hi = hi.max(p.ci95[1]);
        if let Some(o) = &p.own {
            lo = lo.min(o.effect);
            hi = hi.max(o.effect);
        }
    }
    let pad = 0.05 * (hi - lo).max(1e-9);
    let (lo, hi) = (lo - pad, hi + pad);
    let rows = shown.len() as f64;
    let plot_bottom = TOP + ROW * (rows + 1.5);
    let h = plot_bottom + 90.0;
    let x = |v: f64| LEFT + (W - LEFT - RIGHT) * (v - lo) / (hi - lo);
    let clip = |v: f64| v.clamp(lo, hi);
    let mut s = String::new();
    let _ = writeln!(
        s,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{W}\" height=\"{h:.0}\" viewBox=\"0 0 {W} {h:.0}\" font-family=\"sans-serif\" font-size=\"12\">\n<title>Forest plot: {} minus {}</title>\n<rect width=\"{W}\" height=\"{h:.0}\" fill=\"white\"/>",
        escape(&a.treatment),
        escape(&a.control)
    );
    let _ = writeln!(
        s,
        "<text x=\"{LEFT}\" y=\"20\" font-size=\"14\" font-weight=\"bold\">Effect of {} vs {} per person ({} is better)</text>",
        escape(&a.treatment),
        escape(&a.control),
        if a.higher_is_better { "higher" } else { "lower" }
    );
    let shown_note = if shown.len() < a.participants.len() {
        format!(
            "{} of {} participants, evenly spaced by shrunken effect",
            shown.len(),
            a.participants.len()
        )
    } else {
        format!(
            "all {} participants, sorted by shrunken effect",
            a.participants.len()
        )
    };
    let _ = writeln!(
        s,
        "<text x=\"{LEFT}\" y=\"38\" fill=\"#444\">{shown_note}; 95 % intervals</text>"
    );
    // Legend.
    let _ = writeln!(s, "<line x1=\"{LEFT}\" x2=\"{:.1}\" y1=\"54\" y2=\"54\" stroke=\"#999\"/><circle cx=\"{:.1}\" cy=\"54\" r=\"3.5\" fill=\"white\" stroke=\"#777\"/><text x=\"{:.1}\" y=\"58\">own trial alone</text>", LEFT + 24.0, LEFT + 12.0, LEFT + 30.0);
    let _ = writeln!(s, "<line x1=\"{:.1}\" x2=\"{:.1}\" y1=\"54\" y2=\"54\" stroke=\"#1f4e9c\" stroke-width=\"2\"/><circle cx=\"{:.1}\" cy=\"54\" r=\"3.5\" fill=\"#1f4e9c\"/><text x=\"{:.1}\" y=\"58\">shrunken (mixed model)</text>", LEFT + 140.0, LEFT + 164.0, LEFT + 152.0, LEFT + 170.0);
    let _ = writeln!(s, "<path d=\"M{:.1},54 l7,-5 l7,5 l-7,5 z\" fill=\"#c0392b\"/><text x=\"{:.1}\" y=\"58\">population effect</text>", LEFT + 320.0, LEFT + 340.0);
    // Reference lines: no effect, and the MCID on the side of benefit.
    let mcid_at = if a.higher_is_better { a.mcid } else { -a.mcid };
    let _ = writeln!(
        s,
        "<line x1=\"{0:.1}\" x2=\"{0:.1}\" y1=\"{TOP}\" y2=\"{plot_bottom:.1}\" stroke=\"black\"/>",
        x(0.0)
    );
    if mcid_at > lo && mcid_at < hi {
        let _ = writeln!(s, "<line x1=\"{0:.1}\" x2=\"{0:.1}\" y1=\"{TOP}\" y2=\"{plot_bottom:.1}\" stroke=\"#2a8a3a\" stroke-dasharray=\"4 3\"><title>MCID {mcid_at}</title></line><text x=\"{0:.1}\" y=\"{1:.1}\" text-anchor=\"middle\" fill=\"#2a8a3a\">MCID</text>", x(mcid_at), TOP - 4.0);
    }
    let _ = writeln!(s, "<line x1=\"{0:.1}\" x2=\"{0:.1}\" y1=\"{TOP}\" y2=\"{plot_bottom:.1}\" stroke=\"#c0392b\" stroke-dasharray=\"2 3\"/>", x(rs.effect));
    for (r, &i) in shown.iter().enumerate() {
        let p = &a.participants[i];
        let yc = TOP + ROW * (r as f64 + 0.75);
        let label: String = p.id.chars().take(16).collect();
        let _ = writeln!(
            s,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
            LEFT - 8.0,
            yc + 4.0,
            escape(&label)
        );
        if let Some(o) = &p.own {
            let yo = yc - 3.0;
            let (a0, a1) = (clip(o.ci95[0]), clip(o.ci95[1]));
            let _ = writeln!(s, "<line x1=\"{:.1}\" x2=\"{:.1}\" y1=\"{yo:.1}\" y2=\"{yo:.1}\" stroke=\"#999\"><title>own {:.2} [{:.2}, {:.2}], {} nights</title></line>", x(a0), x(a1), o.effect, o.ci95[0], o.ci95[1], p.nights);
            if o.ci95[0] < lo {
                let _ = writeln!(
                    s,
                    "<path d=\"M{:.1},{yo:.1} l6,-3 l0,6 z\" fill=\"#999\"/>",
                    x(lo)
                );
            }
            if o.ci95[1] > hi {
                let _ = writeln!(
                    s,
                    "<path d=\"M{:.1},{yo:.1} l-6,-3 l0,6 z\" fill=\"#999\"/>",
                    x(hi)
                );
            }
            let _ = writeln!(
                s,
                "<circle cx=\"{:.1}\" cy=\"{yo:.1}\" r=\"3\" fill=\"white\" stroke=\"#777\"/>",
                x(o.effect)
            );
        }
        let ys = yc + 3.0;
        let _ = writeln!(s, "<line x1=\"{:.1}\" x2=\"{:.1}\" y1=\"{ys:.1}\" y2=\"{ys:.1}\" stroke=\"#1f4e9c\" stroke-width=\"2\"><title>shrunken {:.2} [{:.2}, {:.2}]</title></line><circle cx=\"{:.1}\" cy=\"{ys:.1}\" r=\"3.5\" fill=\"#1f4e9c\"/>", x(p.ci95[0]), x(p.ci95[1]), p.effect, p.ci95[0], p.ci95[1], x(p.effect));
    }
    // The population diamond.
    let yd = TOP + ROW * (rows + 0.75);
    let _ = writeln!(
        s,
        "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\" font-weight=\"bold\">population</text>",
        LEFT - 8.0,
        yd + 4.0
    );
    let _ = writeln!(s, "<path d=\"M{:.1},{yd:.1} L{:.1},{:.1} L{:.1},{yd:.1} L{:.1},{:.1} z\" fill=\"#c0392b\"><title>population {:.3} [{:.3}, {:.3}]</title></path>", x(rs.ci95[0]), x(rs.effect), yd - 6.0, x(rs.ci95[1]), x(rs.effect), yd + 6.0, rs.effect, rs.ci95[0], rs.ci95[1]);
    // Axis with about six round ticks.
    let _ = writeln!(s, "<line x1=\"{LEFT}\" x2=\"{:.1}\" y1=\"{plot_bottom:.1}\" y2=\"{plot_bottom:.1}\" stroke=\"black\"/>", W - RIGHT);
    let raw = (hi - lo) / 6.0;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|st| *st >= raw)
        .unwrap_or(10.0 * mag);
    let mut t = (lo / step).ceil() * step;
    while t <= hi + 1e-12 {
        let shown_t = if t.abs() < step * 1e-9 { 0.0 } else { t };
        let _ = writeln!(s, "<line x1=\"{0:.1}\" x2=\"{0:.1}\" y1=\"{1:.1}\" y2=\"{2:.1}\" stroke=\"black\"/><text x=\"{0:.1}\" y=\"{3:.1}\" text-anchor=\"middle\">{shown_t}</text>", x(t), plot_bottom, plot_bottom + 5.0, plot_bottom + 18.0);
        t += step;
    }
    let _ = writeln!(
        s,
        "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{} minus {} (outcome units)</text>",
        LEFT + (W - LEFT - RIGHT) / 2.0,
        plot_bottom + 36.0,
        escape(&a.treatment),
        escape(&a.control)
    );
    let _ = writeln!(
        s,
        "<text x=\"{LEFT}\" y=\"{:.1}\" fill=\"#444\">Population {:.2} (95 % CI {:.2} to {:.2}); spread of effects between people SD {:.2}{}</text>",
        plot_bottom + 58.0,
        rs.effect,
        rs.ci95[0],
        rs.ci95[1],
        rs.tau2_slope.sqrt(),
        if rs.singular { " (singular fit)" } else { "" }
    );
    let _ = writeln!(s, "<text x=\"{LEFT}\" y=\"{:.1}\" fill=\"#444\">Own-trial intervals that run off the axis end in an arrow.</text>", plot_bottom + 76.0);
    s.push_str("</svg>\n");
    s
}
