//! The report as a document: sections of blocks (paragraphs, facts, lists, tables, charts),
//! independent of the output. The PDF, the HTML page and the terminal text are three renderings
//! of one `Document`, so they cannot say different things.

/// A whole report.
#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    pub title: String,
    /// One line under the title: whose report, which dates, made when.
    pub subtitle: String,
    /// Printed on every page (PDF) and at the top (HTML, text).
    pub disclaimer: String,
    pub sections: Vec<Section>,
}

/// A titled part of the report.
#[derive(Debug, Clone, PartialEq)]
pub struct Section {
    /// A stable anchor ("summary", "trial-design").
    pub id: &'static str,
    pub heading: String,
    /// Start this section on a new page (PDF and print).
    pub new_page: bool,
    pub blocks: Vec<Block>,
}

/// A piece of a section.
#[derive(Debug, Clone, PartialEq)]
pub enum Block {
    Paragraph(String),
    /// A paragraph that must be seen: the verdict, a stop flag. Boxed in PDF and HTML.
    Callout(String),
    /// Label and value pairs ("Age", "67").
    Facts(Vec<(String, String)>),
    Bullets(Vec<String>),
    Table {
        header: Vec<String>,
        rows: Vec<Vec<String>>,
    },
    Chart(Box<Chart>),
}

/// A chart over days: a vertical scale, optional horizontal bands (IRLS severity bands),
/// vertical spans (trial periods), horizontal rules (RDA, upper limit) and series.
#[derive(Debug, Clone, PartialEq)]
pub struct Chart {
    pub title: String,
    /// What the chart shows in one sentence (its text alternative).
    pub summary: String,
    /// The x axis: day numbers from `x_range.0` to `x_range.1` (inclusive), labelled at the ends.
    pub x_range: (f64, f64),
    pub x_labels: (String, String),
    pub y_range: (f64, f64),
    pub y_ticks: Vec<f64>,
    pub y_label: String,
    pub bands: Vec<Band>,
    pub spans: Vec<Span>,
    pub rules: Vec<Rule>,
    pub series: Vec<Series>,
}

/// A horizontal band of the scale (an IRLS band).
#[derive(Debug, Clone, PartialEq)]
pub struct Band {
    pub from: f64,
    pub to: f64,
    pub label: String,
    /// 0 (lightest) to 3 (darkest).
    pub shade: u8,
}

/// A vertical span of days (a trial period), shaded by its palette colour.
#[derive(Debug, Clone, PartialEq)]
pub struct Span {
    pub from: f64,
    pub to: f64,
    pub colour: usize,
    pub label: String,
}

/// A horizontal reference line (the RDA, the upper limit).
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    pub y: f64,
    pub label: String,
    pub dashed: bool,
}

/// How a series is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mark {
    /// Points joined by lines; a gap of more than one day breaks the line.
    Line,
    Dots,
    /// Bars from 0, stacked on the series drawn before them at the same x.
    Bars,
}

/// One series of (day, value) points.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub label: String,
    pub mark: Mark,
    pub colour: usize,
    pub points: Vec<(f64, f64)>,
}

/// The palette, readable on white and told apart in grey print (light to dark).
pub const PALETTE: [(u8, u8, u8); 4] =
    [(31, 94, 168), (214, 110, 0), (46, 125, 50), (123, 73, 160)];

impl Chart {
    /// Where a value lies on the unit square: (0,0) bottom left, (1,1) top right, clamped.
    pub fn unit(&self, x: f64, y: f64) -> (f64, f64) {
        let (x0, x1) = self.x_range;
        let (y0, y1) = self.y_range;
        let ux = if x1 > x0 { (x - x0) / (x1 - x0) } else { 0.5 };
        let uy = if y1 > y0 { (y - y0) / (y1 - y0) } else { 0.5 };
        (ux.clamp(0.0, 1.0), uy.clamp(0.0, 1.0))
    }

    /// The width of one day on the unit scale (for bars and spans).
    pub fn day_width(&self) -> f64 {
        let (x0, x1) = self.x_range;
        1.0 / (x1 - x0 + 1.0).max(1.0)
    }

    /// A series' points as runs of consecutive days (a missing day breaks a line).
    pub fn runs(points: &[(f64, f64)]) -> Vec<&[(f64, f64)]> {
        let mut runs = Vec::new();
        let mut start = 0;
        for i in 1..=points.len() {
            if i == points.len() || points[i].0 - points[i - 1].0 > 1.0 {
                if i > start {
                    runs.push(&points[start..i]);
                }
                start = i;
            }
        }
        runs
    }
}

/// A tick value as printed: whole numbers without decimals.
pub fn tick_label(v: f64) -> String {
    if v.fract() == 0.0 {
        format!("{}", v as i64)
    } else {
        format!("{v:.1}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_day_breaks_a_line() {
        let p = [(0.0, 1.0), (1.0, 2.0), (3.0, 1.0), (4.0, 0.0), (7.0, 5.0)];
        let runs = Chart::runs(&p);
        assert_eq!(runs.len(), 3);
        assert_eq!(runs[0], &p[0..2]);
        assert_eq!(runs[1], &p[2..4]);
        assert_eq!(runs[2], &p[4..5]);
        assert!(Chart::runs(&[]).is_empty());
    }
}
