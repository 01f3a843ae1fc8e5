//! `quietlegs log …`, `history`, `edit`, `delete`, `export`, `import`, `backup`.

use crate::{bad_input, print_json, Failure};
use anyhow::{anyhow, Context};
use jiff::civil::Date;
use quietlegs_core::clock::ClockTime;
use quietlegs_core::diary::{
    evening_of, Dose, Factor, FactorKind, FoodLog, IrlsEntry, Night, Record, SideEffects,
    StoredRecord,
};
use quietlegs_core::export::{parse_export, to_csv, to_json};
use quietlegs_core::food::amount::{parse_amount, resolve};
use quietlegs_core::food::search::FoodIndex;
use quietlegs_core::forms::FormCatalogue;
use quietlegs_core::supplement::parse_dose;
use quietlegs_core::{IrlsScore, ReferenceData};
use quietlegs_store::{Identity, OnDuplicate, PersonId, SqliteStore, Store, StoreError};
use std::collections::BTreeMap;
use std::io::{BufRead, IsTerminal, Write};
use std::path::Path;

/// The single person of a personal (SQLite) database.
pub const DEFAULT_PERSON: &str = "me";

pub use quietlegs_app::Now;

/// Checks the environment variables quietlegs reads, before any work is done.
pub fn check_environment() -> Result<(), Failure> {
    Ok(quietlegs_app::clock::check_environment()?)
}

/// `--date`: YYYY-MM-DD, "today" or "yesterday"; absent: `default`.
pub fn parse_date(text: Option<&str>, now: &Now, default: Date) -> Result<Date, Failure> {
    match text.map(str::trim) {
        None => Ok(default),
        Some("today") => Ok(now.date),
        Some("yesterday") => now
            .date
            .yesterday()
            .map_err(|e| bad_input(anyhow!("--date: {e}"))),
        Some(s) => s.parse::<Date>().map_err(|_| {
            bad_input(anyhow!(
                "--date: '{s}' is not a date: use YYYY-MM-DD, today or yesterday"
            ))
        }),
    }
}

fn parse_time(flag: &str, text: Option<&str>) -> Result<Option<ClockTime>, Failure> {
    text.map(|t| ClockTime::parse(t).map_err(|e| bad_input(anyhow!("{flag}: {e}"))))
        .transpose()
}

pub fn open_store(db: &Path) -> Result<SqliteStore, Failure> {
    Ok(SqliteStore::open(db).with_context(|| format!("opening the database {}", db.display()))?)
}

/// Opens an existing database for reading only (no write lock, never waits for a writer).
pub fn open_store_read_only(db: &Path) -> Result<SqliteStore, Failure> {
    Ok(SqliteStore::open_read_only(db)
        .with_context(|| format!("opening the database {}", db.display()))?)
}

/// The diary's records for reading only: none when there is no database or no person yet.
pub fn read_records(
    db: &Path,
    from: Option<Date>,
    to: Option<Date>,
) -> Result<Vec<quietlegs_core::diary::StoredRecord>, Failure> {
    if !db.exists() {
        return Ok(Vec::new());
    }
    let store = open_store_read_only(db)?;
    let Some(person) = store
        .find_person(&Identity::local(DEFAULT_PERSON))
        .context("finding the diary's person")?
    else {
        return Ok(Vec::new());
    };
    Ok(store
        .records(person, from, to)
        .context("reading the diary")?)
}

pub fn me(store: &SqliteStore, now: &Now) -> Result<PersonId, Failure> {
    Ok(store
        .person(&Identity::local(DEFAULT_PERSON), &now.instant)
        .context("finding the diary's person")?)
}

/// A store error, classified by its kind in one place (main.rs).
fn store_failure(e: StoreError) -> Failure {
    Failure::from(anyhow!(e))
}

/// Asks for a required value on an interactive terminal; elsewhere it is an error.
fn ask<T: std::str::FromStr>(flag: &str, question: &str, allowed: &str) -> Result<T, Failure> {
    if !std::io::stdin().is_terminal() {
        return Err(bad_input(anyhow!("{flag} is required ({allowed})")));
    }
    let stdin = std::io::stdin();
    for _ in 0..3 {
        eprint!("{question} ({allowed}): ");
        let _ = std::io::stderr().flush();
        let mut line = String::new();
        if stdin
            .lock()
            .read_line(&mut line)
            .context("reading the answer")?
            == 0
        {
            break;
        }
        match line.trim().parse() {
            Ok(v) => return Ok(v),
            Err(_) => eprintln!("  not valid: {allowed}"),
        }
    }
    Err(bad_input(anyhow!("{flag} is required ({allowed})")))
}

/// Shows `prompt` on the terminal (stderr) and reads one line of answer.
pub fn read_answer(prompt: &str) -> Result<String, Failure> {
    eprint!("{prompt}");
    let _ = std::io::stderr().flush();
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("reading the answer")?;
    Ok(line)
}

pub fn confirm(question: &str, yes: bool) -> Result<(), Failure> {
    if yes {
        return Ok(());
    }
    if !std::io::stdin().is_terminal() {
        return Err(bad_input(anyhow!("{question} Pass --yes to confirm.")));
    }
    let line = read_answer(&format!("{question} [y/N] "))?;
    if matches!(line.trim(), "y" | "Y" | "yes") {
        Ok(())
    } else {
        Err(bad_input(anyhow!("cancelled; nothing was changed")))
    }
}

/// Validates and stores one record, printing what was stored.
pub fn save(
    db: &Path,
    data: &ReferenceData,
    now: &Now,
    record: Record,
    replace: bool,
    json_out: bool,
) -> Result<(), Failure> {
    record.validate(now.date, &data.irls).map_err(bad_input)?;
    let store = open_store(db)?;
    let person = me(&store, now)?;
    let mode = if replace {
        OnDuplicate::Replace
    } else {
        OnDuplicate::Refuse
    };
    let id = store
        .add_record(person, &record, &now.stamp(), mode)
        .map_err(store_failure)?;
    if json_out {
        return print_json(&serde_json::json!({ "id": id, "record": record }));
    }
    outln!(
        "Logged {} {id} for {}: {}",
        record.kind(),
        record.date(),
        summary(&record)
    );
    Ok(())
}

/// A one-line description of a record.
/// Stored text is escaped: nothing in a note or a name can drive the terminal.
pub fn summary(r: &Record) -> String {
    let line = r
        .fields()
        .into_iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(", ");
    quietlegs_core::text::escape_controls(&line)
}

pub struct NightArgs {
    pub date: Option<String>,
    pub severity: Option<u8>,
    pub began: Option<String>,
    pub sleep_quality: Option<u8>,
    pub hours_slept: Option<f64>,
    pub minutes_to_sleep: Option<u32>,
    pub awakenings: Option<u32>,
    pub note: Option<String>,
}

pub fn night(a: NightArgs, now: &Now) -> Result<Record, Failure> {
    let date = parse_date(a.date.as_deref(), now, evening_of(now.date, now.time))?;
    let severity = match a.severity {
        Some(s) => s,
        None => ask(
            "--severity",
            &format!("RLS severity on the evening of {date}"),
            "0-10",
        )?,
    };
    Ok(Record::Night(Night {
        date,
        severity,
        symptoms_began: parse_time("--began", a.began.as_deref())?,
        sleep_quality: a.sleep_quality,
        hours_slept: a.hours_slept,
        minutes_to_sleep: a.minutes_to_sleep,
        awakenings: a.awakenings,
        note: a.note,
    }))
}

pub fn irls(
    data: &ReferenceData,
    items: &[i64],
    rls6: Option<&str>,
    date: Option<&str>,
    now: &Now,
) -> Result<Record, Failure> {
    let score = IrlsScore::score(&data.irls, items).map_err(bad_input)?;
    let rls6 = rls6
        .map(|s| {
            s.split(',')
                .map(|x| x.trim().parse::<u8>())
                .collect::<Result<Vec<u8>, _>>()
                .map_err(|_| {
                    bad_input(anyhow!(
                        "--rls6: '{s}' must be six numbers 0-10 separated by commas"
                    ))
                })
        })
        .transpose()?;
    Ok(Record::Irls(IrlsEntry {
        date: parse_date(date, now, now.date)?,
        items: score.items,
        total: score.total,
        band: score.band,
        rls6,
    }))
}

pub fn dose(
    data: &ReferenceData,
    spec: &str,
    product: Option<String>,
    time: Option<&str>,
    date: Option<&str>,
    now: &Now,
) -> Result<Record, Failure> {
    let d = parse_dose(spec, &FormCatalogue::new(data)).map_err(bad_input)?;
    Ok(Record::Dose(Dose {
        date: parse_date(date, now, now.date)?,
        time: parse_time("--time", time)?.unwrap_or(now.time),
        product: product.unwrap_or_else(|| spec.to_string()),
        form: Some(d.product.form),
        elemental_mg: d.elemental_mg,
    }))
}

pub fn food(
    db: &Path,
    query: &str,
    amount: &str,
    date: Option<&str>,
    now: &Now,
) -> Result<Record, Failure> {
    let table = crate::food_cmds::load_food_table(db)?;
    let index = FoodIndex::build(&table).context("building the search index")?;
    let f = &table.foods[crate::food_cmds::pick_food(&table, &index, query)?];
    let r = resolve(f, &parse_amount(amount).map_err(bad_input)?).map_err(bad_input)?;
    crate::food_cmds::note_default(&f.name, amount, &r.via, &r.alternatives);
    Ok(Record::Food(FoodLog {
        date: parse_date(date, now, now.date)?,
        food_id: f.id.clone(),
        food_name: f.name.clone(),
        amount: amount.to_string(),
        grams: r.grams,
        magnesium_mg: r.magnesium_mg,
    }))
}

pub fn side_effects(
    diarrhea: Option<u8>,
    nausea: Option<u8>,
    cramps: Option<u8>,
    date: Option<&str>,
    now: &Now,
) -> Result<Record, Failure> {
    let get = |v: Option<u8>, flag: &str, what: &str| match v {
        Some(v) => Ok(v),
        None => ask(flag, what, "0 none, 1 mild, 2 moderate, 3 severe"),
    };
    Ok(Record::SideEffects(SideEffects {
        date: parse_date(date, now, evening_of(now.date, now.time))?,
        diarrhea: get(diarrhea, "--diarrhea", "Diarrhea")?,
        nausea: get(nausea, "--nausea", "Nausea")?,
        cramps: get(cramps, "--cramps", "Abdominal cramps")?,
    }))
}

pub fn factor(
    kind: &str,
    amount: Option<f64>,
    unit: Option<String>,
    time: Option<&str>,
    date: Option<&str>,
    now: &Now,
) -> Result<Record, Failure> {
    Ok(Record::Factor(Factor {
        date: parse_date(date, now, now.date)?,
        kind: FactorKind::parse(kind).map_err(bad_input)?,
        amount,
        unit,
        time: parse_time("--time", time)?,
    }))
}

/// One day of the history table.
#[derive(Debug, Default, serde::Serialize)]
pub struct Day {
    pub date: String,
    pub severity: Option<u8>,
    pub sleep_quality: Option<u8>,
    pub hours_slept: Option<f64>,
    pub irls_total: Option<u32>,
    pub irls_band: Option<String>,
    pub magnesium_food_mg: f64,
    pub magnesium_supplement_mg: f64,
    pub factors: Vec<String>,
    pub side_effects: Option<String>,
    pub note: Option<String>,
}

pub fn days(records: &[StoredRecord]) -> Vec<Day> {
    let mut by_date: BTreeMap<Date, Day> = BTreeMap::new();
    for r in records {
        let d = r.record.date();
        let day = by_date.entry(d).or_insert_with(|| Day {
            date: d.to_string(),
            ..Day::default()
        });
        match &r.record {
            Record::Night(n) => {
                day.severity = Some(n.severity);
                day.sleep_quality = n.sleep_quality;
                day.hours_slept = n.hours_slept;
                day.note = n.note.clone();
            }
            Record::Irls(i) => {
                day.irls_total = Some(i.total);
                day.irls_band = Some(i.band.as_str().to_string());
            }
            Record::Dose(x) => day.magnesium_supplement_mg += x.elemental_mg,
            Record::Food(f) => day.magnesium_food_mg += f.magnesium_mg.unwrap_or(0.0),
            Record::SideEffects(s) => {
                day.side_effects = Some(format!("D{} N{} C{}", s.diarrhea, s.nausea, s.cramps))
            }
            Record::Factor(f) => day.factors.push(match (f.amount, &f.unit) {
                (Some(a), Some(u)) => format!("{} {a} {u}", f.kind),
                _ => f.kind.to_string(),
            }),
        }
    }
    by_date.into_values().collect()
}

pub fn history(
    db: &Path,
    from: Option<&str>,
    to: Option<&str>,
    json_out: bool,
) -> Result<(), Failure> {
    let parse = |flag: &str, t: Option<&str>| -> Result<Option<Date>, Failure> {
        t.map(|s| {
            s.parse::<Date>()
                .map_err(|_| bad_input(anyhow!("{flag}: '{s}' is not a date: use YYYY-MM-DD")))
        })
        .transpose()
    };
    let (from, to) = (parse("--from", from)?, parse("--to", to)?);
    if !db.exists() {
        if json_out {
            return print_json(&serde_json::json!({ "days": [] }));
        }
        outln!("The diary is empty. Log a night with: quietlegs log night --severity 4");
        return Ok(());
    }
    let records = read_records(db, from, to)?;
    let days = days(&records);
    if json_out {
        return print_json(&serde_json::json!({ "days": days, "records": records }));
    }
    if days.is_empty() {
        outln!("No diary entries in that range.");
        return Ok(());
    }
    outln!(
        "{:<10} {:>4} {:>5} {:>6} {:<12} {:>7} {:>7}  factors / side effects / note",
        "date",
        "sev",
        "sleep",
        "hours",
        "IRLS",
        "Mg food",
        "Mg supp"
    );
    for d in &days {
        let opt = |v: Option<String>| v.unwrap_or_else(|| "-".into());
        let irls = match (d.irls_total, &d.irls_band) {
            (Some(t), Some(b)) => format!("{t} {b}"),
            _ => "-".into(),
        };
        let mut extra = d.factors.join(", ");
        if let Some(s) = &d.side_effects {
            extra = [extra, format!("side effects {s}")]
                .into_iter()
                .filter(|x| !x.is_empty())
                .collect::<Vec<_>>()
                .join("; ");
        }
        if let Some(n) = &d.note {
            extra = [extra, format!("\"{n}\"")]
                .into_iter()
                .filter(|x| !x.is_empty())
                .collect::<Vec<_>>()
                .join("; ");
        }
        outln!(
            "{:<10} {:>4} {:>5} {:>6} {:<12} {:>7.0} {:>7.0}  {}",
            d.date,
            opt(d.severity.map(|v| v.to_string())),
            opt(d.sleep_quality.map(|v| v.to_string())),
            opt(d.hours_slept.map(|v| v.to_string())),
            irls,
            d.magnesium_food_mg,
            d.magnesium_supplement_mg,
            quietlegs_core::text::escape_controls(&extra)
        );
    }
    Ok(())
}

fn check_kind(kind: &str) -> Result<(), Failure> {
    if quietlegs_core::diary::RECORD_KINDS.contains(&kind) {
        Ok(())
    } else {
        Err(bad_input(anyhow!(
            "KIND: '{kind}' is not known: allowed {}",
            quietlegs_core::diary::RECORD_KINDS.join(", ")
        )))
    }
}

pub fn edit(
    db: &Path,
    data: &ReferenceData,
    now: &Now,
    kind: &str,
    id: i64,
    sets: &[String],
    yes: bool,
) -> Result<(), Failure> {
    check_kind(kind)?;
    if sets.is_empty() {
        return Err(bad_input(anyhow!(
            "--set FIELD=VALUE: give at least one change (fields as in `quietlegs export`)"
        )));
    }
    let store = open_store(db)?;
    let person = me(&store, now)?;
    let old = store
        .record(person, kind, id)
        .context("reading the entry")?
        .ok_or_else(|| bad_input(anyhow!("no {kind} entry with id {id}")))?;
    let mut fields: BTreeMap<String, String> = old
        .record
        .fields()
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let mut date = old.record.date();
    for s in sets {
        let (k, v) = s.split_once('=').ok_or_else(|| {
            bad_input(anyhow!(
                "--set '{s}': write FIELD=VALUE (an empty VALUE clears it)"
            ))
        })?;
        let (k, v) = (k.trim(), v.trim());
        if k == "date" {
            date = parse_date(Some(v), now, date)?;
        } else if v.is_empty() {
            fields.remove(k);
        } else {
            fields.insert(k.to_string(), v.to_string());
        }
    }
    let new = Record::from_fields(kind, date, &fields, &data.irls).map_err(bad_input)?;
    new.validate(now.date, &data.irls).map_err(bad_input)?;
    confirm(
        &format!(
            "Change {kind} {id} ({}) from [{}] to [{}]?",
            old.record.date(),
            summary(&old.record),
            summary(&new)
        ),
        yes,
    )?;
    store
        .update_record(person, id, &new, &now.instant, &now.tz)
        .map_err(store_failure)?;
    outln!("Changed {kind} {id}: {}", summary(&new));
    Ok(())
}

pub fn delete(db: &Path, now: &Now, kind: &str, id: i64, yes: bool) -> Result<(), Failure> {
    check_kind(kind)?;
    let store = open_store(db)?;
    let person = me(&store, now)?;
    let old = store
        .record(person, kind, id)
        .context("reading the entry")?
        .ok_or_else(|| bad_input(anyhow!("no {kind} entry with id {id}")))?;
    confirm(
        &format!(
            "Delete {kind} {id} ({}: {})?",
            old.record.date(),
            summary(&old.record)
        ),
        yes,
    )?;
    store
        .delete_record(person, kind, id)
        .map_err(store_failure)?;
    outln!("Deleted {kind} {id}.");
    Ok(())
}

pub fn export(db: &Path, format: &str, output: Option<&Path>) -> Result<(), Failure> {
    let records = read_records(db, None, None)?;
    let text = match format {
        "csv" => to_csv(&records),
        "json" => to_json(&records),
        other => {
            return Err(bad_input(anyhow!(
                "--format: '{other}' is not known: allowed csv, json"
            )))
        }
    };
    match output {
        Some(p) => crate::files::write_private(p, text.as_bytes()).map_err(bad_input)?,
        None => crate::emit(&text)?,
    }
    Ok(())
}

/// The largest diary export accepted (a diary of decades is a few megabytes).
const MAX_IMPORT_BYTES: u64 = 256 << 20;

pub fn import(db: &Path, data: &ReferenceData, now: &Now, file: &Path) -> Result<(), Failure> {
    let size = std::fs::metadata(file)
        .with_context(|| format!("reading {}", file.display()))
        .map_err(bad_input)?
        .len();
    if size > MAX_IMPORT_BYTES {
        return Err(bad_input(anyhow!(
            "FILE: {} is {size} bytes: allowed at most {MAX_IMPORT_BYTES} (a diary export)",
            file.display()
        )));
    }
    let text = std::fs::read_to_string(file)
        .with_context(|| format!("reading {}", file.display()))
        .map_err(bad_input)?;
    let records = parse_export(&text, &data.irls)
        .with_context(|| format!("{}", file.display()))
        .map_err(bad_input)?;
    let mut seen_ids = std::collections::BTreeSet::new();
    let mut seen_dates = std::collections::BTreeSet::new();
    for r in &records {
        let kind = r.record.kind();
        if !seen_ids.insert((kind, r.id)) {
            return Err(bad_input(anyhow!(
                "{}: {kind} {} appears twice; nothing was imported",
                file.display(),
                r.id
            )));
        }
        if r.record.one_per_date() && !seen_dates.insert((kind, r.record.date())) {
            return Err(bad_input(anyhow!(
                "{}: two {kind} entries for {} (one per date is allowed); nothing was imported",
                file.display(),
                r.record.date()
            )));
        }
        r.validate(now.date, &data.irls)
            .with_context(|| format!("{} {} in {}", r.record.kind(), r.id, file.display()))
            .map_err(bad_input)?;
    }
    let store = open_store(db)?;
    let person = me(&store, now)?;
    let n = store
        .import_records(person, &records)
        .map_err(store_failure)?;
    outln!("Imported {n} entries into {}.", db.display());
    Ok(())
}

pub fn backup(db: &Path, dest: &Path) -> Result<(), Failure> {
    if dest.exists() {
        return Err(bad_input(anyhow!(
            "PATH: {} exists; choose a new file name",
            dest.display()
        )));
    }
    if !db.exists() {
        return Err(bad_input(anyhow!(
            "there is no database at {} to back up",
            db.display()
        )));
    }
    let store = open_store(db)?;
    store
        .backup_to(dest)
        .with_context(|| format!("backing up to {}", dest.display()))?;
    outln!(
        "Backed up {} to {} (integrity check ok).",
        db.display(),
        dest.display()
    );
    Ok(())
}
