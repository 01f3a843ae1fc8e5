//! The document as an A4 PDF: text in the embedded DejaVu Sans (subset by krilla, so the file
//! needs no system font and its text can be extracted), charts as vector paths, a bookmark per
//! section, and the disclaimer and page number on every page.
//!
//! The layout is written here rather than taken from a typesetting crate: typst as a library
//! costs about 5 minutes of build and 60 MB of binary, and the report needs only wrapped lines,
//! two-column facts, simple tables and charts (see ARCHITECTURE.md).

use crate::document::{Block, Chart, Document, Mark, Section, PALETTE};
use krilla::color::rgb;
use krilla::destination::XyzDestination;
use krilla::geom::{PathBuilder, Point, Rect};
use krilla::metadata::Metadata;
use krilla::num::NormalizedF32;
use krilla::outline::{Outline, OutlineNode};
use krilla::page::PageSettings;
use krilla::paint::{Fill, Stroke, StrokeDash};
use krilla::text::{Font, GlyphId, KrillaGlyph};
use krilla::Document as PdfDocument;

/// The embedded fonts (DejaVu Sans 2.37, Bitstream Vera licence: data/fonts/LICENSE).
const REGULAR: &[u8] = include_bytes!("../../../data/fonts/DejaVuSans.ttf");
const BOLD: &[u8] = include_bytes!("../../../data/fonts/DejaVuSans-Bold.ttf");

// A4 in points, and the margins.
const PAGE_W: f32 = 595.28;
const PAGE_H: f32 = 841.89;
const LEFT: f32 = 50.0;
const RIGHT: f32 = PAGE_W - 50.0;
const TOP: f32 = 50.0;
/// Where the body ends: the footer lies below.
const BODY_END: f32 = PAGE_H - 64.0;
const WIDTH: f32 = RIGHT - LEFT;

const BODY: f32 = 9.5;
const SMALL: f32 = 8.0;
const TABLE: f32 = 8.3;
const HEADING: f32 = 12.5;
const LEADING: f32 = 1.32;

const INK: (u8, u8, u8) = (20, 20, 20);
const GREY: (u8, u8, u8) = (95, 95, 95);
const RULE: (u8, u8, u8) = (185, 185, 185);

/// Why a PDF could not be made.
#[derive(Debug, thiserror::Error)]
pub enum PdfError {
    #[error("the embedded font could not be read")]
    Font,
    #[error("the PDF could not be written: {0}")]
    Write(String),
}

/// One face: krilla's font (for drawing) and rustybuzz's (for shaping and measuring).
struct Face {
    font: Font,
    shaper: rustybuzz::Face<'static>,
    upem: f32,
}

impl Face {
    fn load(bytes: &'static [u8]) -> Result<Self, PdfError> {
        let font = Font::new(bytes.into(), 0).ok_or(PdfError::Font)?;
        let shaper = rustybuzz::Face::from_slice(bytes, 0).ok_or(PdfError::Font)?;
        let upem = f32::from(shaper.units_per_em() as u16);
        Ok(Face { font, shaper, upem })
    }

    /// The glyphs of one line (left to right), advances in ems.
    fn shape(&self, text: &str) -> Vec<KrillaGlyph> {
        let mut buffer = rustybuzz::UnicodeBuffer::new();
        buffer.push_str(text);
        buffer.set_direction(rustybuzz::Direction::LeftToRight);
        let out = rustybuzz::shape(&self.shaper, &[], buffer);
        let infos = out.glyph_infos();
        let positions = out.glyph_positions();
        (0..out.len())
            .map(|i| {
                let start = infos[i].cluster as usize;
                let end = infos
                    .get(i + 1)
                    .map_or(text.len(), |n| n.cluster as usize)
                    .max(start);
                let p = positions[i];
                KrillaGlyph::new(
                    GlyphId::new(infos[i].glyph_id),
                    p.x_advance as f32 / self.upem,
                    p.x_offset as f32 / self.upem,
                    p.y_offset as f32 / self.upem,
                    p.y_advance as f32 / self.upem,
                    start..end,
                    None,
                )
            })
            .collect()
    }

    fn width(&self, text: &str, size: f32) -> f32 {
        self.shape(text).iter().map(|g| g.x_advance).sum::<f32>() * size
    }
}

struct Fonts {
    regular: Face,
    bold: Face,
}

impl Fonts {
    fn face(&self, bold: bool) -> &Face {
        if bold {
            &self.bold
        } else {
            &self.regular
        }
    }
}

/// Something drawn on a page; y grows downwards, text `y` is the baseline.
#[derive(Debug, Clone)]
enum Op {
    Text {
        x: f32,
        y: f32,
        size: f32,
        bold: bool,
        colour: (u8, u8, u8),
        text: String,
    },
    Line {
        points: Vec<(f32, f32)>,
        width: f32,
        colour: (u8, u8, u8),
        dashed: bool,
    },
    Rect {
        x: f32,
        y: f32,
        w: f32,
        h: f32,
        colour: (u8, u8, u8),
        opacity: f32,
    },
    Dot {
        x: f32,
        y: f32,
        r: f32,
        colour: (u8, u8, u8),
    },
}

/// Lines of `text` no wider than `width` at `size` (a word longer than the line is cut).
fn wrap(face: &Face, text: &str, size: f32, width: f32) -> Vec<String> {
    let space = face.width(" ", size);
    let mut lines = Vec::new();
    let mut line = String::new();
    let mut line_w = 0.0;
    for word in text.split_whitespace() {
        let mut word = word.to_string();
        let mut w = face.width(&word, size);
        // A word wider than a line (a hash, an address): cut it into pieces that fit.
        while w > width {
            if !line.is_empty() {
                lines.push(std::mem::take(&mut line));
                line_w = 0.0;
            }
            let mut cut = word.len();
            while cut > 1 && face.width(&word[..cut], size) > width {
                cut = word[..cut]
                    .char_indices()
                    .last()
                    .map_or(1, |(i, _)| i.max(1));
            }
            lines.push(word[..cut].to_string());
            word = word[cut..].to_string();
            w = face.width(&word, size);
        }
        if word.is_empty() {
            continue;
        }
        if line.is_empty() {
            line = word;
            line_w = w;
        } else if line_w + space + w <= width {
            line.push(' ');
            line.push_str(&word);
            line_w += space + w;
        } else {
            lines.push(std::mem::replace(&mut line, word));
            line_w = w;
        }
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

struct Layout<'f> {
    fonts: &'f Fonts,
    pages: Vec<Vec<Op>>,
    y: f32,
    /// (heading, page index, y) for the bookmarks.
    marks: Vec<(String, usize, f32)>,
}

impl<'f> Layout<'f> {
    fn new(fonts: &'f Fonts) -> Self {
        Layout {
            fonts,
            pages: vec![Vec::new()],
            y: TOP,
            marks: Vec::new(),
        }
    }

    fn page(&mut self) -> &mut Vec<Op> {
        // There is always a page: `new` starts with one and pages are only ever added.
        let last = self.pages.len() - 1;
        &mut self.pages[last]
    }

    fn new_page(&mut self) {
        self.pages.push(Vec::new());
        self.y = TOP;
    }

    /// Starts a new page unless `height` still fits.
    fn ensure(&mut self, height: f32) {
        if self.y + height > BODY_END && self.y > TOP {
            self.new_page();
        }
    }

    fn text(&mut self, x: f32, y: f32, size: f32, bold: bool, colour: (u8, u8, u8), text: &str) {
        self.page().push(Op::Text {
            x,
            y,
            size,
            bold,
            colour,
            text: text.to_string(),
        });
    }

    fn hline(&mut self, y: f32, x0: f32, x1: f32, colour: (u8, u8, u8), width: f32) {
        self.page().push(Op::Line {
            points: vec![(x0, y), (x1, y)],
            width,
            colour,
            dashed: false,
        });
    }

    /// Wrapped text from the cursor, breaking pages between lines.
    fn paragraph(
        &mut self,
        x: f32,
        width: f32,
        size: f32,
        bold: bool,
        colour: (u8, u8, u8),
        text: &str,
    ) {
        let lh = size * LEADING;
        for line in wrap(self.fonts.face(bold), text, size, width) {
            self.ensure(lh);
            self.y += lh;
            self.text(x, self.y - lh * 0.25, size, bold, colour, &line);
        }
    }

    fn title(&mut self, doc: &Document) {
        self.paragraph(LEFT, WIDTH, 16.0, true, INK, &doc.title);
        self.y += 2.0;
        self.paragraph(LEFT, WIDTH, BODY, false, GREY, &doc.subtitle);
        self.y += 6.0;
    }

    fn section(&mut self, s: &Section) {
        if s.new_page && self.y > TOP {
            self.new_page();
        }
        // Keep the heading with the first lines of what follows.
        self.ensure(HEADING * 2.0 + 60.0);
        self.y += 8.0;
        let index = self.pages.len() - 1;
        self.marks.push((s.heading.clone(), index, self.y));
        self.paragraph(LEFT, WIDTH, HEADING, true, INK, &s.heading);
        self.y += 2.0;
        self.hline(self.y, LEFT, RIGHT, RULE, 0.6);
        self.y += 5.0;
        for b in &s.blocks {
            self.block(b);
            self.y += 6.0;
        }
    }

    fn block(&mut self, b: &Block) {
        match b {
            Block::Paragraph(t) => self.paragraph(LEFT, WIDTH, BODY, false, INK, t),
            Block::Callout(t) => self.callout(t),
            Block::Facts(facts) => self.facts(facts),
            Block::Bullets(items) => {
                for item in items {
                    let lh = BODY * LEADING;
                    self.ensure(lh);
                    self.text(LEFT + 2.0, self.y + lh * 0.75, BODY, false, INK, "•");
                    self.paragraph(LEFT + 12.0, WIDTH - 12.0, BODY, false, INK, item);
                    self.y += 2.0;
                }
            }
            Block::Table { header, rows } => self.table(header, rows),
            Block::Chart(c) => self.chart(c),
        }
    }

    fn callout(&mut self, text: &str) {
        let lines = wrap(&self.fonts.bold, text, BODY, WIDTH - 20.0);
        let lh = BODY * LEADING;
        let h = lines.len() as f32 * lh + 10.0;
        self.ensure(h.min(BODY_END - TOP));
        let top = self.y;
        self.page().push(Op::Rect {
            x: LEFT,
            y: top,
            w: WIDTH,
            h,
            colour: PALETTE[0],
            opacity: 0.09,
        });
        self.page().push(Op::Rect {
            x: LEFT,
            y: top,
            w: 3.0,
            h,
            colour: PALETTE[0],
            opacity: 1.0,
        });
        self.y += 5.0;
        for line in lines {
            self.y += lh;
            self.text(LEFT + 12.0, self.y - lh * 0.25, BODY, true, INK, &line);
        }
        self.y = top + h;
    }

    fn facts(&mut self, facts: &[(String, String)]) {
        const LABEL_W: f32 = 118.0;
        let lh = BODY * LEADING;
        for (label, value) in facts {
            let labels = wrap(&self.fonts.bold, label, BODY, LABEL_W - 8.0);
            let values = wrap(&self.fonts.regular, value, BODY, WIDTH - LABEL_W);
            let rows = labels.len().max(values.len()).max(1);
            self.ensure(rows as f32 * lh);
            let top = self.y;
            for (i, l) in labels.iter().enumerate() {
                self.text(LEFT, top + (i as f32 + 0.75) * lh, BODY, true, INK, l);
            }
            for (i, v) in values.iter().enumerate() {
                self.text(
                    LEFT + LABEL_W,
                    top + (i as f32 + 0.75) * lh,
                    BODY,
                    false,
                    INK,
                    v,
                );
            }
            self.y = top + rows as f32 * lh + 2.5;
        }
    }

    fn table(&mut self, header: &[String], rows: &[Vec<String>]) {
        let n = header.len().max(1);
        let pad = 6.0;
        // Natural widths (the longest cell), then shrink the widest columns to fit.
        let mut widths: Vec<f32> = (0..n)
            .map(|c| {
                std::iter::once(self.fonts.bold.width(&header[c], TABLE))
                    .chain(
                        rows.iter()
                            .filter_map(|r| r.get(c))
                            .map(|t| self.fonts.regular.width(t, TABLE)),
                    )
                    .fold(24.0_f32, f32::max)
                    + pad
            })
            .collect();
        let total: f32 = widths.iter().sum();
        if total > WIDTH {
            let fair = WIDTH / n as f32;
            let narrow: f32 = widths.iter().filter(|w| **w <= fair).sum();
            let wide: f32 = widths.iter().filter(|w| **w > fair).sum();
            let room = WIDTH - narrow;
            for w in widths.iter_mut().filter(|w| **w > fair) {
                *w = *w / wide * room;
            }
        }
        let lh = TABLE * LEADING;
        let row = |l: &mut Layout<'_>, cells: &[String], bold: bool| {
            let wrapped: Vec<Vec<String>> = cells
                .iter()
                .zip(&widths)
                .map(|(t, w)| wrap(l.fonts.face(bold), t, TABLE, w - pad))
                .collect();
            let lines = wrapped.iter().map(Vec::len).max().unwrap_or(1).max(1);
            let h = lines as f32 * lh + 3.0;
            l.ensure(h + if bold { lh * 2.0 } else { 0.0 });
            let mut x = LEFT;
            for (cell, w) in wrapped.iter().zip(&widths) {
                for (i, line) in cell.iter().enumerate() {
                    l.text(x, l.y + (i as f32 + 0.8) * lh, TABLE, bold, INK, line);
                }
                x += w;
            }
            l.y += h;
            l.hline(
                l.y - 1.0,
                LEFT,
                LEFT + widths.iter().sum::<f32>(),
                RULE,
                if bold { 0.8 } else { 0.3 },
            );
        };
        row(self, header, true);
        for r in rows {
            row(self, r, false);
        }
    }

    fn chart(&mut self, c: &Chart) {
        const PLOT_H: f32 = 120.0;
        let title_lines = wrap(&self.fonts.bold, &c.title, BODY, WIDTH);
        let summary_lines = wrap(&self.fonts.regular, &c.summary, SMALL, WIDTH);
        let total = title_lines.len() as f32 * BODY * LEADING
            + PLOT_H
            + 34.0
            + summary_lines.len() as f32 * SMALL * LEADING;
        self.ensure(total);
        self.paragraph(LEFT, WIDTH, BODY, true, INK, &c.title);
        self.y += 4.0;
        let x0 = LEFT + 34.0;
        let x1 = RIGHT - 4.0;
        let y0 = self.y + PLOT_H;
        let y1 = self.y;
        let px = |u: f64| x0 + (x1 - x0) * u as f32;
        let py = |u: f64| y0 - (y0 - y1) * u as f32;
        let page_ops: &mut Vec<Op> = self.page();
        for b in &c.bands {
            let (_, lo) = c.unit(0.0, b.from);
            let (_, hi) = c.unit(0.0, b.to);
            page_ops.push(Op::Rect {
                x: x0,
                y: py(hi),
                w: x1 - x0,
                h: py(lo) - py(hi),
                colour: GREY,
                opacity: 0.05 + 0.05 * f32::from(b.shade),
            });
            page_ops.push(Op::Text {
                x: x1 - 60.0,
                y: py(hi) + 8.0,
                size: 6.5,
                bold: false,
                colour: GREY,
                text: b.label.clone(),
            });
        }
        let dw = c.day_width();
        for s in &c.spans {
            let (a, _) = c.unit(s.from, 0.0);
            let (b, _) = c.unit(s.to, 0.0);
            page_ops.push(Op::Rect {
                x: px(a),
                y: y1,
                w: px((b + dw).min(1.0)) - px(a),
                h: y0 - y1,
                colour: PALETTE[s.colour % PALETTE.len()],
                opacity: 0.14,
            });
        }
        for t in &c.y_ticks {
            let (_, u) = c.unit(0.0, *t);
            page_ops.push(Op::Line {
                points: vec![(x0, py(u)), (x1, py(u))],
                width: 0.3,
                colour: RULE,
                dashed: false,
            });
            page_ops.push(Op::Text {
                x: LEFT,
                y: py(u) + 2.5,
                size: 7.0,
                bold: false,
                colour: GREY,
                text: crate::document::tick_label(*t),
            });
        }
        // Bars stack on what the earlier bar series put at the same day.
        let mut stacked: std::collections::BTreeMap<i64, f64> = Default::default();
        for s in &c.series {
            let colour = PALETTE[s.colour % PALETTE.len()];
            match s.mark {
                Mark::Line => {
                    for run in Chart::runs(&s.points) {
                        let points: Vec<(f32, f32)> = run
                            .iter()
                            .map(|(x, y)| {
                                let (ux, uy) = c.unit(*x, *y);
                                (px(ux + dw / 2.0), py(uy))
                            })
                            .collect();
                        if points.len() == 1 {
                            page_ops.push(Op::Dot {
                                x: points[0].0,
                                y: points[0].1,
                                r: 1.2,
                                colour,
                            });
                        } else {
                            page_ops.push(Op::Line {
                                points,
                                width: 0.9,
                                colour,
                                dashed: false,
                            });
                        }
                    }
                }
                Mark::Dots => {
                    for (x, y) in &s.points {
                        let (ux, uy) = c.unit(*x, *y);
                        page_ops.push(Op::Dot {
                            x: px(ux + dw / 2.0),
                            y: py(uy),
                            r: 1.7,
                            colour,
                        });
                    }
                }
                Mark::Bars => {
                    for (x, y) in &s.points {
                        if *y <= 0.0 {
                            continue;
                        }
                        let base = stacked.entry(*x as i64).or_insert(0.0);
                        let (ux, ub) = c.unit(*x, *base);
                        let (_, ut) = c.unit(*x, *base + *y);
                        *base += *y;
                        let w = ((x1 - x0) * dw as f32 * 0.85).max(0.4);
                        page_ops.push(Op::Rect {
                            x: px(ux),
                            y: py(ut),
                            w,
                            h: py(ub) - py(ut),
                            colour,
                            opacity: 0.85,
                        });
                    }
                }
            }
        }
        for (i, r) in c.rules.iter().enumerate() {
            let (_, u) = c.unit(0.0, r.y);
            // Alternate the labels left and right so that close rules stay readable.
            let label_x = if i % 2 == 0 {
                x0 + 3.0
            } else {
                x1 - 3.0 - self.fonts.regular.width(&r.label, 7.0)
            };
            let page_ops: &mut Vec<Op> = self.page();
            page_ops.push(Op::Line {
                points: vec![(x0, py(u)), (x1, py(u))],
                width: 0.9,
                colour: INK,
                dashed: r.dashed,
            });
            page_ops.push(Op::Text {
                x: label_x,
                y: py(u) - 2.5,
                size: 7.0,
                bold: false,
                colour: INK,
                text: r.label.clone(),
            });
        }
        self.page().push(Op::Line {
            points: vec![(x0, y1), (x0, y0), (x1, y0)],
            width: 0.7,
            colour: INK,
            dashed: false,
        });
        self.y = y0;
        let end_w = self.fonts.regular.width(&c.x_labels.1, 7.0);
        self.text(x0, self.y + 10.0, 7.0, false, GREY, &c.x_labels.0.clone());
        self.text(
            x1 - end_w,
            self.y + 10.0,
            7.0,
            false,
            GREY,
            &c.x_labels.1.clone(),
        );
        let label_w = self.fonts.regular.width(&c.y_label, 7.0);
        self.text(
            (x0 + x1 - label_w) / 2.0,
            self.y + 10.0,
            7.0,
            false,
            GREY,
            &c.y_label.clone(),
        );
        self.y += 14.0;
        // The legend: one swatch per series (and per span colour, for the trial's arms).
        let mut x = x0;
        for s in &c.series {
            let colour = PALETTE[s.colour % PALETTE.len()];
            let y = self.y + 2.0;
            self.page().push(Op::Rect {
                x,
                y,
                w: 7.0,
                h: 7.0,
                colour,
                opacity: 1.0,
            });
            self.text(x + 10.0, self.y + 8.5, 7.5, false, INK, &s.label.clone());
            x += 10.0 + self.fonts.regular.width(&s.label, 7.5) + 14.0;
        }
        self.y += 12.0;
        for line in summary_lines {
            self.y += SMALL * LEADING;
            self.text(LEFT, self.y - 2.0, SMALL, false, GREY, &line);
        }
    }
}

fn colour(c: (u8, u8, u8)) -> krilla::color::Color {
    rgb::Color::new(c.0, c.1, c.2).into()
}

fn opacity(o: f32) -> NormalizedF32 {
    NormalizedF32::new(o.clamp(0.0, 1.0)).unwrap_or(NormalizedF32::ONE)
}

fn draw(surface: &mut krilla::surface::Surface<'_>, fonts: &Fonts, op: &Op) {
    match op {
        Op::Text {
            x,
            y,
            size,
            bold,
            colour: c,
            text,
        } => {
            let face = fonts.face(*bold);
            surface.set_fill(Some(Fill {
                paint: colour(*c).into(),
                ..Fill::default()
            }));
            surface.set_stroke(None);
            let glyphs = face.shape(text);
            surface.draw_glyphs(
                Point::from_xy(*x, *y),
                &glyphs,
                face.font.clone(),
                text,
                *size,
                false,
            );
        }
        Op::Line {
            points,
            width,
            colour: c,
            dashed,
        } => {
            let mut pb = PathBuilder::new();
            for (i, (x, y)) in points.iter().enumerate() {
                if i == 0 {
                    pb.move_to(*x, *y);
                } else {
                    pb.line_to(*x, *y);
                }
            }
            if let Some(path) = pb.finish() {
                surface.set_fill(None);
                surface.set_stroke(Some(Stroke {
                    paint: colour(*c).into(),
                    width: *width,
                    dash: dashed.then(|| StrokeDash {
                        array: vec![3.0, 2.0],
                        offset: 0.0,
                    }),
                    ..Stroke::default()
                }));
                surface.draw_path(&path);
            }
        }
        Op::Rect {
            x,
            y,
            w,
            h,
            colour: c,
            opacity: o,
        } => {
            let mut pb = PathBuilder::new();
            if let Some(rect) = Rect::from_xywh(*x, *y, w.max(0.01), h.max(0.01)) {
                pb.push_rect(rect);
            }
            if let Some(path) = pb.finish() {
                surface.set_stroke(None);
                surface.set_fill(Some(Fill {
                    paint: colour(*c).into(),
                    opacity: opacity(*o),
                    ..Fill::default()
                }));
                surface.draw_path(&path);
            }
        }
        Op::Dot { x, y, r, colour: c } => {
            // A circle from four cubic arcs (k = 0.5523 makes a quarter circle).
            let k = 0.5523 * r;
            let mut pb = PathBuilder::new();
            pb.move_to(x + r, *y);
            pb.cubic_to(x + r, y + k, x + k, y + r, *x, y + r);
            pb.cubic_to(x - k, y + r, x - r, y + k, x - r, *y);
            pb.cubic_to(x - r, y - k, x - k, y - r, *x, y - r);
            pb.cubic_to(x + k, y - r, x + r, y - k, x + r, *y);
            pb.close();
            if let Some(path) = pb.finish() {
                surface.set_stroke(None);
                surface.set_fill(Some(Fill {
                    paint: colour(*c).into(),
                    ..Fill::default()
                }));
                surface.draw_path(&path);
            }
        }
    }
}

/// The document as PDF bytes.
pub fn render(doc: &Document) -> Result<Vec<u8>, PdfError> {
    let fonts = Fonts {
        regular: Face::load(REGULAR)?,
        bold: Face::load(BOLD)?,
    };
    let mut layout = Layout::new(&fonts);
    layout.title(doc);
    for s in &doc.sections {
        layout.section(s);
    }
    let pages = layout.pages.len();
    let mut pdf = PdfDocument::new();
    for (i, ops) in layout.pages.iter().enumerate() {
        let settings =
            PageSettings::from_wh(PAGE_W, PAGE_H).ok_or(PdfError::Write("page size".into()))?;
        let mut page = pdf.start_page_with(settings);
        let mut surface = page.surface();
        for op in ops {
            draw(&mut surface, &fonts, op);
        }
        // The footer: the disclaimer and the page number.
        let mut y = BODY_END + 16.0;
        for line in wrap(&fonts.regular, &doc.disclaimer, 7.0, WIDTH - 70.0) {
            draw(
                &mut surface,
                &fonts,
                &Op::Text {
                    x: LEFT,
                    y,
                    size: 7.0,
                    bold: false,
                    colour: GREY,
                    text: line,
                },
            );
            y += 9.0;
        }
        let number = format!("page {} of {pages}", i + 1);
        let w = fonts.regular.width(&number, 7.0);
        draw(
            &mut surface,
            &fonts,
            &Op::Text {
                x: RIGHT - w,
                y: BODY_END + 16.0,
                size: 7.0,
                bold: false,
                colour: GREY,
                text: number,
            },
        );
        surface.finish();
        page.finish();
    }
    let mut outline = Outline::new();
    for (heading, page, y) in &layout.marks {
        outline.push_child(OutlineNode::new(
            heading.clone(),
            XyzDestination::new(*page, Point::from_xy(LEFT, *y)),
        ));
    }
    pdf.set_outline(outline);
    pdf.set_metadata(
        Metadata::new()
            .title(doc.title.clone())
            .description(doc.subtitle.clone())
            .language("en".into())
            .creator(format!("quietlegs {}", env!("CARGO_PKG_VERSION"))),
    );
    pdf.finish().map_err(|e| PdfError::Write(format!("{e:?}")))
}
