//! The history's charts beyond nightly severity, drawn on the server as SVG (no script): the
//! weekly IRLS against its bands, magnesium per day (supplement and food) against the RDA and the
//! supplement upper limit, and side effects per evening. Each has a title and a text summary for
//! screen readers; colours come from CSS classes, so both themes apply.

use std::collections::BTreeMap;
use std::fmt::Write;

use jiff::civil::Date;
use quietlegs_app::profile;
use quietlegs_app::{diary, AppError, Context};
use quietlegs_core::diary::{IrlsEntry, Record, StoredRecord};
use quietlegs_core::reference::ScoreBand;
use quietlegs_store::{AnyStore, PersonId};

/// Chart size in SVG user units (scaled to the page width by CSS; 360 fits a 390 px phone).
const WIDTH: f64 = 360.0;
const HEIGHT: f64 = 220.0;
const LEFT: f64 = 40.0;
const RIGHT: f64 = 12.0;
const TOP: f64 = 26.0;
const BOTTOM: f64 = 28.0;
/// Days shown, like the severity chart (eight weeks).
pub const WINDOW_DAYS: i64 = 55;

/// A chart's horizontal scale: one slot per day from `from` to `to`.
struct Days {
    from: Date,
    count: f64,
}

impl Days {
    fn new(from: Date, to: Date) -> Self {
        Self {
            from,
            count: ((to - from).get_days().max(0) + 1) as f64,
        }
    }
    fn slot(&self) -> f64 {
        (WIDTH - LEFT - RIGHT) / self.count
    }
    /// The left edge of a day's slot.
    fn x(&self, d: Date) -> f64 {
        LEFT + (d - self.from).get_days() as f64 * self.slot()
    }
    /// The middle of a day's slot.
    fn mid(&self, d: Date) -> f64 {
        self.x(d) + self.slot() / 2.0
    }
}

fn y_of(max: f64) -> impl Fn(f64) -> f64 {
    y_below(max, TOP)
}

/// The vertical scale of a chart whose plot starts at `top` (room for a taller legend).
fn y_below(max: f64, top: f64) -> impl Fn(f64) -> f64 {
    move |v| top + (max - v) / max * (HEIGHT - top - BOTTOM)
}

/// The magnesium chart's plot starts lower: its legend has a second row for the lines.
const MAGNESIUM_TOP: f64 = 44.0;

fn open(svg: &mut String, id: &str, title: &str, desc: &str) {
    let _ = write!(
        svg,
        r#"<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-labelledby="{id}-title {id}-desc" xmlns="http://www.w3.org/2000/svg"><title id="{id}-title">{title}</title><desc id="{id}-desc">{desc}</desc>"#
    );
}

fn date_axis(svg: &mut String, from: Date, to: Date) {
    let _ = write!(
        svg,
        r#"<text class="axis" x="{LEFT}" y="{}">{from}</text><text class="axis" x="{}" y="{}" text-anchor="end">{to}</text>"#,
        HEIGHT - 8.0,
        WIDTH - RIGHT,
        HEIGHT - 8.0,
    );
}

fn grid(svg: &mut String, y: &impl Fn(f64) -> f64, values: &[f64]) {
    for &v in values {
        let _ = write!(
            svg,
            r#"<line class="grid" x1="{LEFT}" x2="{}" y1="{yv:.1}" y2="{yv:.1}"/><text class="axis" x="{}" y="{:.1}" text-anchor="end">{v}</text>"#,
            WIDTH - RIGHT,
            LEFT - 6.0,
            y(v) + 4.0,
            yv = y(v)
        );
    }
}

/// A legend row across the top: (CSS class, words); a class ending in "-line" is drawn as a
/// line, others as a square.
fn legend(svg: &mut String, items: &[(&str, String)]) {
    legend_row(svg, items, 0.0);
}

fn legend_row(svg: &mut String, items: &[(&str, String)], dy: f64) {
    let mut x = LEFT;
    for (class, words) in items {
        if class.ends_with("-line") {
            let _ = write!(
                svg,
                r#"<line class="{class}" x1="{x:.1}" x2="{:.1}" y1="{:.1}" y2="{:.1}"/>"#,
                x + 16.0,
                11.0 + dy,
                11.0 + dy
            );
            x += 6.0;
        } else {
            let _ = write!(
                svg,
                r#"<rect class="{class}" x="{x:.1}" y="{:.1}" width="10" height="10"/>"#,
                6.0 + dy
            );
        }
        let _ = write!(
            svg,
            r#"<text class="axis" x="{:.1}" y="{:.1}">{words}</text>"#,
            x + 14.0,
            15.0 + dy
        );
        // About 6 units a character at 11px.
        x += 14.0 + words.chars().count() as f64 * 6.0 + 12.0;
    }
}

fn band_words(id: &str) -> String {
    id.replace('-', " ")
}

/// Weekly IRLS totals (0-40) with the bands shaded and named.
pub fn irls_chart(entries: &[IrlsEntry], bands: &[ScoreBand], from: Date, to: Date) -> String {
    let mut svg = String::new();
    let Some(last) = entries.last() else {
        return svg;
    };
    const MAX: f64 = 40.0;
    let days = Days::new(from, to);
    let y = y_of(MAX);
    let desc = format!(
        "{} IRLS scores from {} to {}; latest {} of 40 ({}). Bands: {}.",
        entries.len(),
        entries[0].date,
        last.date,
        last.total,
        band_words(last.band.as_str()),
        bands
            .iter()
            .map(|b| format!("{} {}-{}", band_words(&b.id), b.min, b.max))
            .collect::<Vec<_>>()
            .join(", ")
    );
    open(&mut svg, "irls", "Weekly IRLS total", &desc);
    // Bands as shaded strips from min to max + 1 (whole scores), each named at its right edge.
    for (i, b) in bands.iter().enumerate() {
        let top = y((f64::from(b.max) + if b.max as f64 >= MAX { 0.0 } else { 0.5 }).min(MAX));
        let bottom = y((f64::from(b.min) - 0.5).max(0.0));
        let _ = write!(
            svg,
            r#"<rect class="band band-{i}" x="{LEFT}" y="{top:.1}" width="{:.1}" height="{:.1}"/>"#,
            WIDTH - LEFT - RIGHT,
            bottom - top
        );
        if bottom - top >= 12.0 {
            let _ = write!(
                svg,
                r#"<text class="band-label" x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"#,
                WIDTH - RIGHT - 4.0,
                (top + bottom) / 2.0 + 4.0,
                band_words(&b.id)
            );
        }
    }
    grid(&mut svg, &y, &[0.0, 10.0, 20.0, 30.0, 40.0]);
    date_axis(&mut svg, from, to);
    let points: Vec<String> = entries
        .iter()
        .map(|e| format!("{:.1},{:.1}", days.mid(e.date), y(f64::from(e.total))))
        .collect();
    let _ = write!(
        svg,
        r#"<polyline class="line" points="{}"/>"#,
        points.join(" ")
    );
    for e in entries {
        let _ = write!(
            svg,
            r#"<circle class="dot" cx="{:.1}" cy="{:.1}" r="4"><title>{}: {} ({})</title></circle>"#,
            days.mid(e.date),
            y(f64::from(e.total)),
            e.date,
            e.total,
            band_words(e.band.as_str())
        );
    }
    svg.push_str("</svg>");
    svg
}

/// Magnesium of one day: (supplement mg, food mg).
pub type MagnesiumDay = (f64, f64);

/// The y-axis top for magnesium: the largest value shown, rounded up to 100 mg.
fn magnesium_max(days: &BTreeMap<Date, MagnesiumDay>, lines: &[f64]) -> f64 {
    let top = days
        .values()
        .map(|(s, f)| s + f)
        .chain(lines.iter().copied())
        .fold(100.0_f64, f64::max);
    (top / 100.0).ceil() * 100.0
}

/// Magnesium per day, supplement below and food above, against the RDA (total) and the
/// supplement upper limit (the supplement part) when a profile gives them.
pub fn magnesium_chart(
    days_mg: &BTreeMap<Date, MagnesiumDay>,
    rda: Option<u32>,
    supplement_ul: Option<u32>,
    from: Date,
    to: Date,
) -> String {
    let mut svg = String::new();
    if days_mg.is_empty() {
        return svg;
    }
    let lines: Vec<f64> = rda
        .into_iter()
        .chain(supplement_ul)
        .map(f64::from)
        .collect();
    let max = magnesium_max(days_mg, &lines);
    let y = y_below(max, MAGNESIUM_TOP);
    let days = Days::new(from, to);
    let n = days_mg.len() as f64;
    let mean_supplement = days_mg.values().map(|d| d.0).sum::<f64>() / n;
    let mean_food = days_mg.values().map(|d| d.1).sum::<f64>() / n;
    let mut desc = format!(
        "Magnesium on {} days with entries from {} to {}: on average {mean_food:.0} mg from food and {mean_supplement:.0} mg from supplements a day.",
        days_mg.len(),
        days_mg.keys().next().map(ToString::to_string).unwrap_or_default(),
        days_mg.keys().next_back().map(ToString::to_string).unwrap_or_default(),
    );
    if let Some(r) = rda {
        let reached = days_mg
            .values()
            .filter(|(s, f)| s + f >= f64::from(r))
            .count();
        let _ = write!(desc, " RDA {r} mg: reached on {reached} of those days.");
    }
    if let Some(u) = supplement_ul {
        let over = days_mg.values().filter(|(s, _)| *s > f64::from(u)).count();
        let _ = write!(
            desc,
            " Supplement upper limit {u} mg: exceeded on {over} days."
        );
    }
    open(&mut svg, "mg", "Magnesium per day", &desc);
    let step = max / 4.0;
    grid(&mut svg, &y, &[0.0, step, 2.0 * step, 3.0 * step, max]);
    date_axis(&mut svg, from, to);
    legend(
        &mut svg,
        &[
            ("mg-supplement", "supplement".to_string()),
            ("mg-food", "food".to_string()),
        ],
    );
    let width = (days.slot() * 0.8).max(1.0);
    for (d, (s, f)) in days_mg {
        let x = days.x(*d) + days.slot() * 0.1;
        let _ = write!(
            svg,
            r#"<g><title>{d}: {f:.0} mg food, {s:.0} mg supplement</title>"#
        );
        if *s > 0.0 {
            let _ = write!(
                svg,
                r#"<rect class="mg-supplement" x="{x:.1}" y="{:.1}" width="{width:.1}" height="{:.1}"/>"#,
                y(*s),
                y(0.0) - y(*s)
            );
        }
        if *f > 0.0 {
            let _ = write!(
                svg,
                r#"<rect class="mg-food" x="{x:.1}" y="{:.1}" width="{width:.1}" height="{:.1}"/>"#,
                y(s + f),
                y(*s) - y(s + f)
            );
        }
        svg.push_str("</g>");
    }
    // The lines over the bars, each on a halo of the page colour, named in a second legend row.
    let mut line_legend = Vec::new();
    for (class, value, words) in [
        ("ref-line", rda, "RDA"),
        ("ul-line", supplement_ul, "supplement limit"),
    ] {
        let Some(v) = value else { continue };
        let yv = y(f64::from(v));
        let _ = write!(
            svg,
            r#"<line class="halo" x1="{LEFT}" x2="{x2}" y1="{yv:.1}" y2="{yv:.1}"/><line class="{class}" x1="{LEFT}" x2="{x2}" y1="{yv:.1}" y2="{yv:.1}"/>"#,
            x2 = WIDTH - RIGHT,
        );
        line_legend.push((class, format!("{words} {v} mg")));
    }
    legend_row(&mut svg, &line_legend, 16.0);
    svg.push_str("</svg>");
    svg
}

/// Side effects of one evening: (diarrhoea, nausea, cramps), each 0-3.
pub type SideEffectDay = (u8, u8, u8);

/// Side effects per evening as stacked bars (each effect 0-3, so 0-9 in all).
pub fn side_effects_chart(
    evenings: &BTreeMap<Date, SideEffectDay>,
    from: Date,
    to: Date,
) -> String {
    let mut svg = String::new();
    if evenings.is_empty() {
        return svg;
    }
    const MAX: f64 = 9.0;
    let y = y_of(MAX);
    let days = Days::new(from, to);
    let any = evenings.values().filter(|(d, n, c)| d + n + c > 0).count();
    let desc = format!(
        "Side effects on {} evenings logged from {} to {}: some on {any} evenings, none on {}. Each effect is graded 0 none to 3 severe.",
        evenings.len(),
        evenings.keys().next().map(ToString::to_string).unwrap_or_default(),
        evenings.keys().next_back().map(ToString::to_string).unwrap_or_default(),
        evenings.len() - any
    );
    open(&mut svg, "se", "Side effects per evening", &desc);
    grid(&mut svg, &y, &[0.0, 3.0, 6.0, 9.0]);
    date_axis(&mut svg, from, to);
    legend(
        &mut svg,
        &[
            ("se-diarrhea", "diarrhoea".to_string()),
            ("se-nausea", "nausea".to_string()),
            ("se-cramps", "cramps".to_string()),
        ],
    );
    let width = (days.slot() * 0.8).max(1.0);
    for (d, (di, na, cr)) in evenings {
        let x = days.x(*d) + days.slot() * 0.1;
        let _ = write!(
            svg,
            r#"<g><title>{d}: diarrhoea {di}, nausea {na}, cramps {cr}</title>"#
        );
        let mut base = 0.0;
        for (class, v) in [("se-diarrhea", di), ("se-nausea", na), ("se-cramps", cr)] {
            let v = f64::from(*v);
            if v > 0.0 {
                let _ = write!(
                    svg,
                    r#"<rect class="{class}" x="{x:.1}" y="{:.1}" width="{width:.1}" height="{:.1}"/>"#,
                    y(base + v),
                    y(base) - y(base + v)
                );
            }
            base += v;
        }
        if base == 0.0 {
            // A logged evening without side effects: a mark on the baseline.
            let _ = write!(
                svg,
                r#"<rect class="se-none" x="{x:.1}" y="{:.1}" width="{width:.1}" height="2"/>"#,
                y(0.0) - 2.0
            );
        }
        svg.push_str("</g>");
    }
    svg.push_str("</svg>");
    svg
}

/// The charts of the history page, as HTML (empty sections are left out).
pub struct HistoryCharts {
    pub html: String,
}

fn section(html: &mut String, heading: &str, svg: &str, note: &str) {
    if svg.is_empty() {
        return;
    }
    let _ = write!(html, "<h2>{heading}</h2><figure>{svg}</figure>");
    if !note.is_empty() {
        let _ = write!(html, r#"<p class="hint">{note}</p>"#);
    }
}

/// Reads the window's records and the plan's limits, and draws the charts.
pub fn history_charts(
    store: &AnyStore,
    person: PersonId,
    ctx: &Context<'_>,
) -> Result<HistoryCharts, AppError> {
    let to = ctx.now.date;
    let from = to
        .checked_sub(jiff::Span::new().days(WINDOW_DAYS))
        .map_err(|e| AppError::internal(format!("history window: {e}")))?;
    let records: Vec<StoredRecord> = diary::records(Some((store, person)), Some(from), Some(to))?;
    let mut irls = Vec::new();
    let mut magnesium: BTreeMap<Date, MagnesiumDay> = BTreeMap::new();
    let mut side: BTreeMap<Date, SideEffectDay> = BTreeMap::new();
    for r in records {
        match r.record {
            Record::Irls(i) => irls.push(i),
            Record::Dose(d) => magnesium.entry(d.date).or_default().0 += d.elemental_mg,
            Record::Food(f) => {
                magnesium.entry(f.date).or_default().1 += f.magnesium_mg.unwrap_or(0.0)
            }
            Record::SideEffects(s) => {
                side.insert(s.date, (s.diarrhea, s.nausea, s.cramps));
            }
            _ => {}
        }
    }
    irls.sort_by_key(|i| i.date);
    // The limits from the person's plan; without a (valid) profile, none are drawn.
    let limits = match profile::stored_plan(store, person, ctx) {
        Ok(Some((_, plan))) => Some((plan.rda_mg, plan.supplemental_ul_mg)),
        Ok(None) => None,
        Err(e) if e.kind == quietlegs_app::ErrorKind::BadInput => None,
        Err(e) => return Err(e),
    };
    let mut html = String::new();
    section(
        &mut html,
        "Weekly IRLS",
        &irls_chart(&irls, &ctx.reference.irls.band, from, to),
        "",
    );
    let note = if limits.is_some() {
        "The RDA counts food and supplements together; the upper limit counts supplements and medicines only."
    } else {
        r#"<a href="/profile">Fill in your profile</a> to see your RDA and the supplement limit here."#
    };
    section(
        &mut html,
        "Magnesium per day",
        &magnesium_chart(
            &magnesium,
            limits.and_then(|l| l.0),
            limits.map(|l| l.1),
            from,
            to,
        ),
        note,
    );
    section(
        &mut html,
        "Side effects",
        &side_effects_chart(&side, from, to),
        "",
    );
    Ok(HistoryCharts { html })
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;
    use quietlegs_core::IrlsBand;

    fn band(id: &str, min: u32, max: u32) -> ScoreBand {
        ScoreBand {
            id: id.into(),
            min,
            max,
            sources: vec![],
        }
    }

    #[test]
    fn irls_points_and_bands_sit_where_the_scale_puts_them() {
        let bands = [
            band("none", 0, 0),
            band("mild", 1, 10),
            band("moderate", 11, 20),
            band("severe", 21, 30),
            band("very-severe", 31, 40),
        ];
        let e = |d: Date, total: u32, b: IrlsBand| IrlsEntry {
            date: d,
            items: vec![],
            total,
            band: b,
            rls6: None,
        };
        let from = date(2026, 1, 1);
        let to = date(2026, 1, 4);
        let svg = irls_chart(
            &[
                e(date(2026, 1, 1), 20, IrlsBand::Moderate),
                e(date(2026, 1, 4), 10, IrlsBand::Mild),
            ],
            &bands,
            from,
            to,
        );
        // Plot: x 40..348 over 4 day slots of 77 (middles 78.5 and 309.5); y 26 (40) to 192 (0),
        // 4.15 per point: 20 -> 109.0, 10 -> 150.5.
        assert!(
            svg.contains(r#"<polyline class="line" points="78.5,109.0 309.5,150.5"/>"#),
            "{svg}"
        );
        // The moderate band spans 10.5 to 20.5: y 26 + 19.5 x 4.15 = 106.9 to 26 + 29.5 x 4.15
        // = 148.4.
        assert!(
            svg.contains(r#"class="band band-2" x="40" y="106.9" width="308.0" height="41.5""#),
            "{svg}"
        );
        assert!(svg.contains("latest 10 of 40 (mild)"));
        assert_eq!(irls_chart(&[], &bands, from, to), "");
    }

    #[test]
    fn magnesium_bars_stack_supplement_under_food_against_the_rda() {
        let mut days = BTreeMap::new();
        days.insert(date(2026, 1, 2), (200.0, 140.0));
        days.insert(date(2026, 1, 3), (0.0, 100.0));
        let svg = magnesium_chart(
            &days,
            Some(320),
            Some(350),
            date(2026, 1, 1),
            date(2026, 1, 4),
        );
        // Axis top: max(340, 320, 350) rounded up to 400. y: 44 (400) to 192 (0), 148 / 400 =
        // 0.37 per mg: supplement 200 -> 118.0 (height 74.0); food on top to 340 -> 66.2
        // (height 51.8); RDA 320 -> 73.6. Day 2 starts at 40 + 77 + 7.7 = 124.7, 61.6 wide.
        assert!(
            svg.contains(r#"class="mg-supplement" x="124.7" y="118.0" width="61.6" height="74.0""#),
            "{svg}"
        );
        assert!(
            svg.contains(r#"class="mg-food" x="124.7" y="66.2" width="61.6" height="51.8""#),
            "{svg}"
        );
        assert!(
            svg.contains(r#"<line class="ref-line" x1="40" x2="348" y1="73.6" y2="73.6"/>"#),
            "{svg}"
        );
        assert!(
            svg.contains(">RDA 320 mg</text>") && svg.contains(">supplement limit 350 mg</text>")
        );
        // Day 2 reaches 340 >= 320; day 3 (100) does not.
        assert!(
            svg.contains("RDA 320 mg: reached on 1 of those days."),
            "{svg}"
        );
        assert!(svg.contains("exceeded on 0 days"), "{svg}");
    }

    #[test]
    fn side_effects_stack_and_a_quiet_evening_is_marked() {
        let mut ev = BTreeMap::new();
        ev.insert(date(2026, 1, 1), (2, 1, 0));
        ev.insert(date(2026, 1, 2), (0, 0, 0));
        let svg = side_effects_chart(&ev, date(2026, 1, 1), date(2026, 1, 2));
        // y: 26 (9) to 192 (0), 18.44 per grade: diarrhoea 2 -> 155.1; nausea 1 on top -> 136.7.
        assert!(
            svg.contains(r#"class="se-diarrhea" x="55.4" y="155.1""#),
            "{svg}"
        );
        assert!(
            svg.contains(r#"class="se-nausea" x="55.4" y="136.7""#),
            "{svg}"
        );
        assert!(svg.contains(r#"class="se-none""#));
        assert!(svg.contains("some on 1 evenings, none on 1"));
    }
}
