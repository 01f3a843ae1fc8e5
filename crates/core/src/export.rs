//! Diary export and import in open formats: JSON, and a long ("tidy") CSV per RFC 4180 with one
//! row per field. Exporting, importing into an empty diary and exporting again gives identical
//! files: ids, timestamps and time zones are kept, and numbers are written in their shortest
//! exact form.
//!
//! Spreadsheet formula injection: any CSV cell that begins with `=`, `+`, `-`, `@`, a tab or a
//! carriage return is written with a leading `'` (and so is a cell that begins with `'`, so that
//! import can strip exactly one and restore the text).

use crate::diary::{Record, Stamp, StoredRecord, RECORD_KINDS};
use crate::reference::IrlsDefinition;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The JSON layout version.
pub const DIARY_SCHEMA: &str = "quietlegs.diary/1";
/// The CSV header.
pub const CSV_HEADER: [&str; 8] = [
    "id",
    "kind",
    "date",
    "field",
    "value",
    "created_at",
    "updated_at",
    "tz",
];

/// An export that cannot be read back.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ExportError {
    #[error("line {line}: {message}")]
    Csv { line: u64, message: String },
    #[error("JSON: {0}")]
    Json(String),
    #[error("not a quietlegs diary export: {0}")]
    WrongKind(String),
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonExport {
    schema: String,
    records: Vec<StoredRecord>,
}

pub fn to_json(records: &[StoredRecord]) -> String {
    let doc = JsonExport {
        schema: DIARY_SCHEMA.to_string(),
        records: records.to_vec(),
    };
    // Serialising plain data cannot fail.
    let mut s = serde_json::to_string_pretty(&doc).unwrap_or_default();
    s.push('\n');
    s
}

pub fn from_json(text: &str) -> Result<Vec<StoredRecord>, ExportError> {
    let doc: JsonExport =
        serde_json::from_str(text).map_err(|e| ExportError::Json(e.to_string()))?;
    if doc.schema != DIARY_SCHEMA {
        return Err(ExportError::WrongKind(format!(
            "schema '{}', expected '{DIARY_SCHEMA}'",
            doc.schema
        )));
    }
    Ok(doc.records)
}

/// The 1-based line of a csv record's byte offset, counted here: the csv crate's own line
/// numbers are one short for CRLF files (a CRLF record "starts" at the '\n' of the previous
/// line end, so that newline counts).
///
/// Records arrive in file order, so the counter only scans the bytes between the previous
/// offset and this one: reading a whole file costs one pass over it, not one pass per record.
/// An offset behind the previous one (never produced by the csv reader) is counted afresh.
#[derive(Debug)]
pub struct LineCounter<'a> {
    text: &'a [u8],
    /// Bytes `..scanned` have been counted.
    scanned: usize,
    /// '\n' in `..scanned`.
    newlines: u64,
}

impl<'a> LineCounter<'a> {
    pub fn new(text: &'a str) -> Self {
        Self {
            text: text.as_bytes(),
            scanned: 0,
            newlines: 0,
        }
    }

    /// The line of `byte`: 1 + the newlines in `text[..=byte]`.
    pub fn line_of(&mut self, byte: u64) -> u64 {
        let end = usize::try_from(byte)
            .unwrap_or(usize::MAX)
            .saturating_add(1)
            .min(self.text.len());
        if end < self.scanned {
            self.scanned = 0;
            self.newlines = 0;
        }
        self.newlines += self.text[self.scanned..end]
            .iter()
            .filter(|&&b| b == b'\n')
            .count() as u64;
        self.scanned = end;
        self.newlines + 1
    }
}

/// The line of one byte offset (a fresh count; use [`LineCounter`] for a whole file).
pub fn line_of_byte(text: &str, byte: u64) -> u64 {
    LineCounter::new(text).line_of(byte)
}

fn defuse(cell: &str) -> String {
    match cell.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r' | '\'') => format!("'{cell}"),
        _ => cell.to_string(),
    }
}

fn restore(cell: &str) -> &str {
    cell.strip_prefix('\'').unwrap_or(cell)
}

/// The kind and field of the CSV export's first row, which counts the rows after it.
const EXPORT_KIND: &str = "export";
const ROWS_FIELD: &str = "rows";

pub fn to_csv(records: &[StoredRecord]) -> String {
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::new());
    // Writing to memory cannot fail.
    let _ = w.write_record(CSV_HEADER);
    // The first row says how many rows follow, so that a file cut short (a failed copy, a full
    // disk) is refused on import instead of restoring part of the diary.
    let rows: usize = records.iter().map(|r| r.record.fields().len()).sum();
    let _ = w.write_record([
        "0",
        EXPORT_KIND,
        "",
        ROWS_FIELD,
        &rows.to_string(),
        "",
        "",
        "",
    ]);
    for r in records {
        let date = r.record.date().to_string();
        let id = r.id.to_string();
        for (field, value) in r.record.fields() {
            let value = value.to_string();
            let row = [
                id.as_str(),
                r.record.kind(),
                date.as_str(),
                field,
                &value,
                &r.stamp.created_at,
                &r.stamp.updated_at,
                &r.stamp.tz,
            ];
            let _ = w.write_record(row.iter().map(|c| defuse(c)));
        }
    }
    let bytes = w.into_inner().unwrap_or_default();
    String::from_utf8(bytes).unwrap_or_default()
}

pub fn from_csv(text: &str, irls: &IrlsDefinition) -> Result<Vec<StoredRecord>, ExportError> {
    let mut rdr = csv::ReaderBuilder::new().from_reader(text.as_bytes());
    let headers = rdr
        .headers()
        .map_err(|e| ExportError::Csv {
            line: 1,
            message: e.to_string(),
        })?
        .clone();
    if headers.iter().collect::<Vec<_>>() != CSV_HEADER {
        return Err(ExportError::WrongKind(format!(
            "CSV header must be {}",
            CSV_HEADER.join(",")
        )));
    }
    // Group rows by (kind, id), keeping first-seen order.
    type Key = (String, i64);
    let mut order: Vec<Key> = Vec::new();
    let mut groups: BTreeMap<Key, (u64, Date, Stamp, BTreeMap<String, String>)> = BTreeMap::new();
    let mut lines = LineCounter::new(text);
    // (declared rows, line of the declaration) when the file is a quietlegs export.
    let mut declared: Option<(u64, u64)> = None;
    let mut data_rows: u64 = 0;
    let mut last_line: u64 = 1;
    for (n, row) in rdr.records().enumerate() {
        let row = row.map_err(|e| ExportError::Csv {
            line: e.position().map(|p| lines.line_of(p.byte())).unwrap_or(0),
            message: e.to_string(),
        })?;
        let line = row.position().map(|p| lines.line_of(p.byte())).unwrap_or(0);
        last_line = line;
        let bad = |message: String| ExportError::Csv { line, message };
        let cell = |i: usize| restore(row.get(i).unwrap_or(""));
        if n == 0 && cell(1) == EXPORT_KIND {
            if cell(3) != ROWS_FIELD {
                return Err(bad(format!(
                    "the export row must count '{ROWS_FIELD}', not '{}'",
                    cell(3)
                )));
            }
            let rows: u64 = cell(4)
                .parse()
                .map_err(|_| bad(format!("row count '{}' is not a number", cell(4))))?;
            declared = Some((rows, line));
            continue;
        }
        data_rows += 1;
        let id: i64 = cell(0)
            .parse()
            .map_err(|_| bad(format!("id '{}' is not a number", cell(0))))?;
        let kind = cell(1).to_string();
        if !RECORD_KINDS.contains(&kind.as_str()) {
            return Err(bad(format!(
                "kind '{kind}' is not known: allowed {}",
                RECORD_KINDS.join(", ")
            )));
        }
        let date: Date = cell(2)
            .parse()
            .map_err(|_| bad(format!("date '{}' is not YYYY-MM-DD", cell(2))))?;
        let stamp = Stamp {
            created_at: cell(5).to_string(),
            updated_at: cell(6).to_string(),
            tz: cell(7).to_string(),
        };
        let key = (kind, id);
        let entry = groups.entry(key.clone()).or_insert_with(|| {
            order.push(key.clone());
            (line, date, stamp.clone(), BTreeMap::new())
        });
        if entry.1 != date || entry.2 != stamp {
            return Err(bad(format!(
                "{} {} has rows with different dates or stamps",
                key.0, key.1
            )));
        }
        if entry
            .3
            .insert(cell(3).to_string(), cell(4).to_string())
            .is_some()
        {
            return Err(bad(format!(
                "{} {} repeats field '{}'",
                key.0,
                key.1,
                cell(3)
            )));
        }
    }
    if let Some((rows, line)) = declared {
        if data_rows != rows {
            return Err(ExportError::Csv {
                line: last_line.max(line),
                message: format!(
                    "the file is cut short or changed: its first row says {rows} rows follow, \
                     but {data_rows} do; nothing was imported"
                ),
            });
        }
    }
    let mut out = Vec::with_capacity(order.len());
    for key in order {
        let Some((line, date, stamp, fields)) = groups.remove(&key) else {
            continue;
        };
        let record =
            Record::from_fields(&key.0, date, &fields, irls).map_err(|e| ExportError::Csv {
                line,
                message: e.to_string(),
            })?;
        out.push(StoredRecord {
            id: key.1,
            stamp,
            record,
        });
    }
    Ok(out)
}

/// Reads either format, telling them apart by the first character.
pub fn parse_export(text: &str, irls: &IrlsDefinition) -> Result<Vec<StoredRecord>, ExportError> {
    let body = text.trim_start_matches('\u{feff}');
    if body.trim_start().starts_with('{') {
        from_json(body)
    } else {
        from_csv(body, irls)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ClockTime;
    use crate::diary::{Factor, FactorKind, Night};
    use crate::reference::ReferenceData;
    use jiff::civil::date;
    use proptest::prelude::*;

    fn irls() -> IrlsDefinition {
        ReferenceData::shipped().unwrap().irls
    }

    fn stored(id: i64, record: Record) -> StoredRecord {
        StoredRecord {
            id,
            stamp: Stamp {
                created_at: "2026-11-21T07:00:00Z".into(),
                updated_at: "2026-11-21T07:00:00Z".into(),
                tz: "America/New_York".into(),
            },
            record,
        }
    }

    fn night(note: Option<String>) -> Record {
        Record::Night(Night {
            date: date(2026, 11, 20),
            severity: 4,
            symptoms_began: Some(ClockTime::parse("21:00").unwrap()),
            sleep_quality: None,
            hours_slept: Some(7.25),
            minutes_to_sleep: None,
            awakenings: Some(1),
            note,
        })
    }

    #[test]
    fn a_csv_export_cut_short_is_refused() {
        let records = vec![
            stored(1, night(Some("first".into()))),
            stored(2, night(None)),
        ];
        let text = to_csv(&records);
        assert!(from_csv(&text, &irls()).is_ok());
        // Cut after the header, the count row and three data rows (at a line end).
        let cut: String = text.split_inclusive("\r\n").take(5).collect();
        let err = from_csv(&cut, &irls()).unwrap_err().to_string();
        assert!(err.contains("the file is cut short"), "{err}");
        // A CSV from elsewhere without the count row is read as before.
        let elsewhere: String = text
            .split_inclusive("\r\n")
            .enumerate()
            .filter(|(i, _)| *i != 1)
            .map(|(_, l)| l)
            .collect();
        assert_eq!(from_csv(&elsewhere, &irls()).unwrap().len(), 2);
    }

    #[test]
    fn csv_cells_that_start_a_formula_are_defused_and_restored() {
        let r = stored(1, night(Some("=cmd|' /C calc'!A0".into())));
        let csv = to_csv(std::slice::from_ref(&r));
        assert!(csv.contains(",'=cmd|' /C calc'!A0,"), "{csv}");
        assert!(csv.starts_with("id,kind,date,field,value,created_at,updated_at,tz\r\n"));
        assert_eq!(from_csv(&csv, &irls()).unwrap(), vec![r]);
    }

    #[test]
    fn bad_csv_names_the_line_with_lf_and_crlf() {
        let crlf = "id,kind,date,field,value,created_at,updated_at,tz\r\n1,night,2026-11-20,severity,4,a,b,c\r\n2,night,2026-13-01,severity,4,a,b,c\r\n";
        let err = from_csv(crlf, &irls()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "line 3: date '2026-13-01' is not YYYY-MM-DD"
        );
        let text = "id,kind,date,field,value,created_at,updated_at,tz\n1,night,2026-11-20,severity,4,a,b,c\n2,night,2026-13-01,severity,4,a,b,c\n";
        let err = from_csv(text, &irls()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "line 3: date '2026-13-01' is not YYYY-MM-DD"
        );
        let err = parse_export("a,b\n1,2\n", &irls()).unwrap_err();
        assert!(matches!(err, ExportError::WrongKind(_)));
    }

    #[test]
    fn the_line_counter_agrees_with_a_fresh_count_in_any_order() {
        // "a\nb\r\nc\n" is bytes a \n b \r \n c \n. The line of byte i is 1 + the '\n' in
        // bytes 0..=i, so a '\n' already counts at its own offset (where the csv crate starts
        // the next CRLF record): 1, 2, 2, 2, 3, 3, 4.
        let text = "a\nb\r\nc\n";
        let expected = [1, 2, 2, 2, 3, 3, 4];
        let mut c = LineCounter::new(text);
        for (byte, line) in expected.iter().enumerate() {
            assert_eq!(c.line_of(byte as u64), *line, "byte {byte}");
        }
        // Backwards and beyond the end.
        assert_eq!(c.line_of(0), 1);
        assert_eq!(c.line_of(99), 4);
        assert_eq!(line_of_byte(text, 3), 2);
    }

    #[test]
    fn the_csv_export_is_byte_for_byte_the_documented_layout() {
        // Written by hand from the records: one row per present field, in field order; whole
        // reals without a fraction (200), other reals in their shortest exact form (2/3 cups);
        // a cell with a comma or quote quoted, quotes doubled; CRLF line ends.
        let records = vec![
            stored(1, night(Some("a, \"b\"".into()))),
            stored(
                2,
                Record::Dose(crate::diary::Dose {
                    date: date(2026, 11, 20),
                    time: ClockTime::parse("22:00").unwrap(),
                    product: "Mag".into(),
                    form: None,
                    elemental_mg: 200.0,
                }),
            ),
            stored(
                3,
                Record::Factor(Factor {
                    date: date(2026, 11, 20),
                    kind: FactorKind::Caffeine,
                    amount: Some(2.0 / 3.0),
                    unit: Some("cups".into()),
                    time: None,
                }),
            ),
        ];
        let s = ",2026-11-21T07:00:00Z,2026-11-21T07:00:00Z,America/New_York\r\n";
        let expected = format!(
            "id,kind,date,field,value,created_at,updated_at,tz\r\n\
             0,export,,rows,11,,,\r\n\
             1,night,2026-11-20,severity,4{s}\
             1,night,2026-11-20,symptoms_began,21:00{s}\
             1,night,2026-11-20,hours_slept,7.25{s}\
             1,night,2026-11-20,awakenings,1{s}\
             1,night,2026-11-20,note,\"a, \"\"b\"\"\"{s}\
             2,dose,2026-11-20,time,22:00{s}\
             2,dose,2026-11-20,product,Mag{s}\
             2,dose,2026-11-20,elemental_mg,200{s}\
             3,factor,2026-11-20,factor,caffeine{s}\
             3,factor,2026-11-20,amount,0.6666666666666666{s}\
             3,factor,2026-11-20,unit,cups{s}"
        );
        assert_eq!(to_csv(&records), expected);
    }

    proptest! {
        #[test]
        fn the_import_parsers_never_panic_on_any_text(text in "\\PC{0,400}|[\\x00-\\x7f]{0,400}") {
            let _ = parse_export(&text, &irls());
            let _ = from_csv(&text, &irls());
            let _ = from_json(&text);
        }

        #[test]
        fn damaged_exports_are_read_or_refused_never_a_panic(
            cut in 0usize..2000,
            flip in 0usize..2000,
            byte in any::<u8>(),
        ) {
            // A real export of two records, cut short and with one byte changed.
            let records = vec![
                stored(3, night(Some("note, with \"quotes\"".into()))),
                stored(7, night(None)),
            ];
            for full in [to_csv(&records), to_json(&records)] {
                let mut bytes = full.into_bytes();
                bytes.truncate(cut.min(bytes.len()));
                if !bytes.is_empty() {
                    let i = flip % bytes.len();
                    bytes[i] = byte;
                }
                let text = String::from_utf8_lossy(&bytes);
                if let Ok(read) = parse_export(&text, &irls()) {
                    // Whatever is accepted is a well-formed list of records.
                    prop_assert!(read.len() <= 2);
                }
            }
        }

        #[test]
        fn both_formats_round_trip_any_note(note in proptest::option::of("\\PC{0,40}"), cups in 1u32..9) {
            let records = vec![
                stored(3, night(note)),
                stored(7, Record::Factor(Factor { date: date(2026, 11, 20), kind: FactorKind::Caffeine,
                    amount: Some(f64::from(cups) / 3.0), unit: Some("cups".into()), time: None })),
            ];
            let csv = to_csv(&records);
            prop_assert_eq!(&from_csv(&csv, &irls()).unwrap(), &records);
            prop_assert_eq!(to_csv(&from_csv(&csv, &irls()).unwrap()), csv);
            let json = to_json(&records);
            prop_assert_eq!(&from_json(&json).unwrap(), &records);
        }
    }
}
