//! Streaming importers for USDA food files a user downloads:
//!
//! - FoodData Central CSV (SR Legacy, Foundation, FNDDS/Survey, Branded, or the full download),
//!   as a `.zip` or an unpacked folder; columns are mapped by header name.
//! - The SR-format ASCII files (`^`-separated, `~`-quoted, Latin-1) of SR28 and SR Legacy.
//!
//! Foods are produced one at a time into a sink, so a multi-gigabyte Branded download never sits
//! in memory (only the few nutrient values and portions kept per food do). Malformed rows are
//! counted and reported with file, line and reason; they never abort the import.

mod fdc;
mod source;
mod sr;

pub use source::Source;

use quietlegs_core::food::Food;
use serde::Serialize;
use std::path::Path;

/// The kinds of download quietlegs reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DownloadKind {
    /// SR28 or SR Legacy ASCII (FOOD_DES, NUT_DATA, WEIGHT).
    SrAscii,
    /// FoodData Central CSV.
    FdcCsv,
}

/// A row that was not imported, and why.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Skipped {
    pub file: String,
    pub line: u64,
    pub reason: String,
}

/// What an import read.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ImportReport {
    pub foods: u64,
    /// Nutrient rows read (all nutrients, not only the ones quietlegs keeps).
    pub nutrient_rows: u64,
    pub portions: u64,
    pub skipped_rows: u64,
    /// FoodData Central data types imported, with their food counts.
    pub data_types: std::collections::BTreeMap<String, u64>,
    /// The first [`MAX_SKIPPED_LISTED`] skipped rows.
    pub skipped: Vec<Skipped>,
}

/// How many skipped rows are listed one by one (all are counted).
pub const MAX_SKIPPED_LISTED: usize = 200;

impl ImportReport {
    pub(crate) fn skip(&mut self, file: &str, line: u64, reason: impl Into<String>) {
        self.skipped_rows += 1;
        if self.skipped.len() < MAX_SKIPPED_LISTED {
            self.skipped.push(Skipped {
                file: file.to_string(),
                line,
                reason: reason.into(),
            });
        }
    }
}

/// A download that cannot be imported at all.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: not a readable zip archive: {message}")]
    Zip { path: String, message: String },
    #[error(
        "{path} is not a USDA download quietlegs reads: expected food.csv and food_nutrient.csv \
         (FoodData Central CSV) or FOOD_DES.txt and NUT_DATA.txt (SR28 / SR Legacy ASCII); found: {found}"
    )]
    WrongKind { path: String, found: String },
    #[error("{file}: missing column(s) {missing} in the header; is this the right file?")]
    MissingColumns { file: String, missing: String },
    #[error("{file}, line {line}: {message}")]
    Csv {
        file: String,
        line: u64,
        message: String,
    },
    #[error("import stopped: {0}")]
    Sink(String),
}

/// Progress: bytes of the current file read so far, its size, and its name.
pub trait Progress {
    fn file(&mut self, name: &str, size: u64);
    fn advance(&mut self, bytes: u64);
}

/// A progress sink that ignores everything.
pub struct NoProgress;
impl Progress for NoProgress {
    fn file(&mut self, _: &str, _: u64) {}
    fn advance(&mut self, _: u64) {}
}

/// The release name of a download: the zip's file stem or the folder's name.
pub fn release_name(path: &Path) -> String {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string());
    name.strip_suffix(".zip")
        .or_else(|| name.strip_suffix(".ZIP"))
        .unwrap_or(&name)
        .to_string()
}

/// Reads the download at `path`, sending each food to `sink` (which may stop the import by
/// returning an error).
pub fn import(
    path: &Path,
    progress: &mut dyn Progress,
    sink: &mut dyn FnMut(Food) -> Result<(), String>,
) -> Result<(DownloadKind, ImportReport), ImportError> {
    let mut source = Source::open(path)?;
    let release = release_name(path);
    // Every food passes the bounds before it reaches the store; a food that fails them is
    // counted and listed as skipped, never stored.
    let mut refused: Vec<Skipped> = Vec::new();
    let mut foods_seen: u64 = 0;
    let mut bounded = |f: Food| -> Result<(), String> {
        foods_seen += 1;
        if foods_seen > MAX_FOODS {
            return Err(format!(
                "more than {MAX_FOODS} foods: not a USDA download quietlegs can use"
            ));
        }
        match check_food(&f) {
            Ok(()) => sink(f),
            Err(reason) => {
                refused.push(Skipped {
                    file: "food".into(),
                    line: 0,
                    reason: format!(
                        "food {}: {reason}",
                        f.id.chars().take(40).collect::<String>()
                    ),
                });
                Ok(())
            }
        }
    };
    let (kind, mut report) = if source.has("food.csv") && source.has("food_nutrient.csv") {
        let report = fdc::import(&mut source, &release, progress, &mut bounded)?;
        (DownloadKind::FdcCsv, report)
    } else if source.has("FOOD_DES.txt") && source.has("NUT_DATA.txt") {
        let report = sr::import(&mut source, &release, progress, &mut bounded)?;
        (DownloadKind::SrAscii, report)
    } else {
        return Err(ImportError::WrongKind {
            path: path.display().to_string(),
            found: source.listing(),
        });
    };
    for r in refused {
        report.foods = report.foods.saturating_sub(1);
        report.skip(&r.file, r.line, r.reason);
    }
    Ok((kind, report))
}

/// The most foods one import may hold (the full FoodData Central download has under a million).
pub const MAX_FOODS: u64 = 2_000_000;
/// Longest food name kept (USDA descriptions are well under 300 characters).
pub const MAX_FOOD_NAME_CHARS: usize = 400;
/// Longest portion description, and most portions per food.
pub const MAX_PORTION_UNIT_CHARS: usize = 200;
pub const MAX_PORTIONS: usize = 200;

/// A food's texts within bounds and free of control characters.
fn check_food(f: &Food) -> Result<(), String> {
    use quietlegs_core::text::check_text;
    check_text(&f.id, 64, false).map_err(|e| format!("id {e}"))?;
    check_text(&f.name, MAX_FOOD_NAME_CHARS, false).map_err(|e| format!("name {e}"))?;
    if f.portions.len() > MAX_PORTIONS {
        return Err(format!(
            "{} portions: allowed at most {MAX_PORTIONS}",
            f.portions.len()
        ));
    }
    for p in &f.portions {
        check_text(&p.unit, MAX_PORTION_UNIT_CHARS, false).map_err(|e| {
            format!(
                "portion '{}' {e}",
                p.unit.chars().take(40).collect::<String>()
            )
        })?;
    }
    Ok(())
}

/// "1 cup" -> (1, "cup"); "2.5 oz" -> (2.5, "oz"); "slice" -> (1, "slice").
pub(crate) fn split_leading_amount(text: &str) -> (f64, String) {
    let text = text.trim();
    let mut parts = text.splitn(2, char::is_whitespace);
    let first = parts.next().unwrap_or("");
    let rest = parts.next().unwrap_or("").trim();
    let number = if let Some((a, b)) = first.split_once('/') {
        match (a.parse::<f64>(), b.parse::<f64>()) {
            (Ok(a), Ok(b)) if b != 0.0 => Some(a / b),
            _ => None,
        }
    } else {
        first.parse::<f64>().ok()
    };
    match number {
        Some(n) if n > 0.0 && n.is_finite() && !rest.is_empty() => (n, rest.to_string()),
        _ => (1.0, text.to_string()),
    }
}

/// Pads an NDB number to the 5 characters SR28 uses ("1001" -> "01001").
pub(crate) fn pad_ndb(ndb: &str) -> Option<String> {
    let t = ndb.trim();
    (!t.is_empty() && t.len() <= 5 && t.bytes().all(|b| b.is_ascii_digit()))
        .then(|| format!("{t:0>5}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leading_amounts_and_ndb_padding() {
        assert_eq!(split_leading_amount("1 cup"), (1.0, "cup".into()));
        assert_eq!(split_leading_amount("2.5 oz"), (2.5, "oz".into()));
        assert_eq!(split_leading_amount("1/2 cup"), (0.5, "cup".into()));
        assert_eq!(split_leading_amount("slice"), (1.0, "slice".into()));
        assert_eq!(pad_ndb("1001").as_deref(), Some("01001"));
        assert_eq!(pad_ndb("93600").as_deref(), Some("93600"));
        assert_eq!(pad_ndb("x12"), None);
        assert_eq!(
            release_name(Path::new(
                "/d/FoodData_Central_sr_legacy_food_csv_2018-04.zip"
            )),
            "FoodData_Central_sr_legacy_food_csv_2018-04"
        );
    }
}
