//! The document as terminal text (`quietlegs report` without `--pdf`): headings underlined,
//! paragraphs wrapped at 80 columns, charts as their one-sentence summary.

use crate::document::{Block, Document};
use std::fmt::Write;

const COLUMNS: usize = 80;

fn wrap(out: &mut String, indent: &str, first: &str, text: &str) {
    let mut line = first.to_string();
    let mut empty = true;
    for word in text.split_whitespace() {
        if !empty && line.chars().count() + 1 + word.chars().count() > COLUMNS {
            let _ = writeln!(out, "{line}");
            line = indent.to_string();
            empty = true;
        }
        if !empty || line.ends_with(':') || line.ends_with('>') || line.ends_with('-') {
            line.push(' ');
        }
        line.push_str(word);
        empty = false;
    }
    let _ = writeln!(out, "{line}");
}

/// The document as text.
pub fn render(doc: &Document) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{}\n{}",
        doc.title,
        "=".repeat(doc.title.chars().count())
    );
    wrap(&mut out, "", "", &doc.subtitle);
    wrap(&mut out, "", "", &doc.disclaimer);
    for s in &doc.sections {
        let _ = writeln!(
            out,
            "\n{}\n{}",
            s.heading,
            "-".repeat(s.heading.chars().count())
        );
        for b in &s.blocks {
            match b {
                Block::Paragraph(t) => wrap(&mut out, "", "", t),
                Block::Callout(t) => wrap(&mut out, "  ", "> ", t),
                Block::Facts(facts) => {
                    for (k, v) in facts {
                        wrap(&mut out, "    ", &format!("{k}:"), v);
                    }
                }
                Block::Bullets(items) => {
                    for i in items {
                        wrap(&mut out, "    ", "  -", i);
                    }
                }
                Block::Table { header, rows } => {
                    let widths: Vec<usize> = (0..header.len())
                        .map(|c| {
                            std::iter::once(&header[c])
                                .chain(rows.iter().filter_map(|r| r.get(c)))
                                .map(|t| t.chars().count())
                                .max()
                                .unwrap_or(0)
                        })
                        .collect();
                    for r in std::iter::once(header).chain(rows) {
                        let cells: Vec<String> = r
                            .iter()
                            .zip(&widths)
                            .map(|(t, w)| format!("{t:<w$}"))
                            .collect();
                        let _ = writeln!(out, "  {}", cells.join("  ").trim_end());
                    }
                }
                Block::Chart(c) => {
                    wrap(&mut out, "  ", &format!("[chart] {}:", c.title), &c.summary)
                }
            }
        }
    }
    out
}
