//! Diary use cases: log an entry, the history by day, edit, delete, export and import.
//!
//! Writes come in two steps, like a trial's registration: an entry (or an edit, an import) is
//! first built and validated without the store, so that bad input never creates a database;
//! then it is stored.

use std::collections::{BTreeMap, BTreeSet};

use jiff::civil::Date;
use quietlegs_core::clock::ClockTime;
use quietlegs_core::diary::{
    evening_of, Dose, Factor, FactorKind, FoodLog, IrlsEntry, Night, Record, SideEffects,
    StoredRecord, RECORD_KINDS,
};
use quietlegs_core::export::{parse_export, to_csv, to_json};
use quietlegs_core::forms::FormCatalogue;
use quietlegs_core::supplement::parse_dose;
use quietlegs_core::IrlsScore;
use quietlegs_store::{NewRecord, OnDuplicate, PersonId, Store, TrialStore};
use serde::Serialize;

use crate::foods::{amount_of, Foods};
use crate::{AppError, Context, Now};

/// A day as typed: YYYY-MM-DD, "today" or "yesterday".
pub fn parse_day(now: &Now, text: &str) -> Result<Date, AppError> {
    match text.trim() {
        "today" => Ok(now.date),
        "yesterday" => now
            .date
            .yesterday()
            .map_err(|e| AppError::field("date", e.to_string())),
        s => s.parse::<Date>().map_err(|_| {
            AppError::field(
                "date",
                format!("'{s}' is not a date: use YYYY-MM-DD, today or yesterday"),
            )
        }),
    }
}

/// The evening a night or side-effects entry belongs to when no date is given: before noon,
/// last night.
pub fn default_evening(now: &Now) -> Date {
    evening_of(now.date, now.time)
}

fn time(field: &'static str, text: Option<&str>) -> Result<Option<ClockTime>, AppError> {
    text.map(|t| ClockTime::parse(t).map_err(|e| AppError::field(field, e.to_string())))
        .transpose()
}

/// A diary entry built and validated against today, ready to store.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry(Record);

impl Entry {
    /// Validates `record` (ranges, text, not in the future).
    pub fn new(ctx: &Context<'_>, record: Record) -> Result<Self, AppError> {
        record
            .validate(ctx.now.date, &ctx.reference.irls)
            .map_err(|e| AppError::invalid(None, &e))?;
        Ok(Self(record))
    }

    pub fn record(&self) -> &Record {
        &self.0
    }
}

/// A night as entered; `date` defaults to this evening (before noon, last night).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NightForm {
    pub date: Option<Date>,
    pub severity: u8,
    /// HH:MM.
    pub began: Option<String>,
    pub sleep_quality: Option<u8>,
    pub hours_slept: Option<f64>,
    pub minutes_to_sleep: Option<u32>,
    pub awakenings: Option<u32>,
    pub note: Option<String>,
}

pub fn night(ctx: &Context<'_>, f: NightForm) -> Result<Entry, AppError> {
    let record = Record::Night(Night {
        date: f.date.unwrap_or_else(|| default_evening(ctx.now)),
        severity: f.severity,
        symptoms_began: time("began", f.began.as_deref())?,
        sleep_quality: f.sleep_quality,
        hours_slept: f.hours_slept,
        minutes_to_sleep: f.minutes_to_sleep,
        awakenings: f.awakenings,
        note: f.note,
    });
    Entry::new(ctx, record)
}

/// A weekly IRLS: ten item values and, optionally, the six RLS-6 values ("a,b,c,d,e,f");
/// `date` defaults to today.
pub fn irls(
    ctx: &Context<'_>,
    items: &[i64],
    rls6: Option<&str>,
    date: Option<Date>,
) -> Result<Entry, AppError> {
    let score =
        IrlsScore::score(&ctx.reference.irls, items).map_err(|e| AppError::invalid(None, &e))?;
    let rls6 = rls6
        .map(|s| {
            s.split(',')
                .map(|x| x.trim().parse::<u8>())
                .collect::<Result<Vec<u8>, _>>()
                .map_err(|_| {
                    AppError::field(
                        "rls6",
                        format!("'{s}' must be six numbers 0-10 separated by commas"),
                    )
                })
        })
        .transpose()?;
    let record = Record::Irls(IrlsEntry {
        date: date.unwrap_or(ctx.now.date),
        items: score.items,
        total: score.total,
        band: score.band,
        rls6,
    });
    Entry::new(ctx, record)
}

/// A dose, "FORM=[N x ]AMOUNT mg elemental|compound"; `time` (HH:MM) defaults to now, `date`
/// to today, `product` to the dose as written.
pub fn dose(
    ctx: &Context<'_>,
    spec: &str,
    product: Option<String>,
    time_text: Option<&str>,
    date: Option<Date>,
) -> Result<Entry, AppError> {
    let d = parse_dose(spec, &FormCatalogue::new(ctx.reference))
        .map_err(|e| AppError::invalid(None, &e))?;
    let record = Record::Dose(Dose {
        date: date.unwrap_or(ctx.now.date),
        time: time("time", time_text)?.unwrap_or(ctx.now.time),
        product: product.unwrap_or_else(|| spec.to_string()),
        form: Some(d.product.form),
        elemental_mg: d.elemental_mg,
    });
    Entry::new(ctx, record)
}

/// A food eaten: `food` (an index into the catalogue's table, see
/// [`crate::foods::find_food`]) in `amount`; grams and magnesium are kept as logged. Returns
/// the entry and the amount as resolved (its `via` says which USDA weight was used).
pub fn food(
    ctx: &Context<'_>,
    foods: Foods<'_>,
    food: usize,
    amount: &str,
    date: Option<Date>,
) -> Result<(Entry, crate::foods::FoodAmount), AppError> {
    let resolved = amount_of(foods, food, amount)?;
    let record = Record::Food(FoodLog {
        date: date.unwrap_or(ctx.now.date),
        food_id: resolved.food.id.clone(),
        food_name: resolved.food.name.clone(),
        amount: amount.to_string(),
        grams: resolved.grams,
        magnesium_mg: resolved.magnesium_mg,
    });
    Ok((Entry::new(ctx, record)?, resolved))
}

/// Side effects, each 0 none to 3 severe; `date` defaults to this evening.
pub fn side_effects(
    ctx: &Context<'_>,
    diarrhea: u8,
    nausea: u8,
    cramps: u8,
    date: Option<Date>,
) -> Result<Entry, AppError> {
    let record = Record::SideEffects(SideEffects {
        date: date.unwrap_or_else(|| default_evening(ctx.now)),
        diarrhea,
        nausea,
        cramps,
    });
    Entry::new(ctx, record)
}

/// An evening factor (caffeine, ..., custom:NAME); `date` defaults to today.
pub fn factor(
    ctx: &Context<'_>,
    kind: &str,
    amount: Option<f64>,
    unit: Option<String>,
    time_text: Option<&str>,
    date: Option<Date>,
) -> Result<Entry, AppError> {
    let record = Record::Factor(Factor {
        date: date.unwrap_or(ctx.now.date),
        kind: FactorKind::parse(kind).map_err(|e| AppError::invalid(None, &e))?,
        amount,
        unit,
        time: time("time", time_text)?,
    });
    Entry::new(ctx, record)
}

/// A stored entry (`log ... --json`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Logged {
    pub id: i64,
    pub record: Record,
}

/// Stores an entry; a second night, IRLS or side-effects entry for a date is a conflict unless
/// `on_duplicate` is `Replace`.
pub fn log<S: Store>(
    store: &S,
    person: PersonId,
    ctx: &Context<'_>,
    entry: Entry,
    on_duplicate: OnDuplicate,
) -> Result<Logged, AppError> {
    let id = store.add_record(person, &entry.0, &ctx.now.stamp(), on_duplicate)?;
    Ok(Logged {
        id,
        record: entry.0,
    })
}

/// An entry as one record of a batch write (`Store::add_records`), stamped now: what `log`
/// stores, for a server that commits concurrent entries together.
pub fn batch_record(
    person: PersonId,
    ctx: &Context<'_>,
    entry: Entry,
    on_duplicate: OnDuplicate,
) -> NewRecord {
    NewRecord {
        person,
        record: entry.0,
        stamp: ctx.now.stamp(),
        on_duplicate,
    }
}

// ---------------------------------------------------------------------------------------------
// Reading

/// One day of the history.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Day {
    pub date: String,
    pub severity: Option<u8>,
    pub sleep_quality: Option<u8>,
    pub hours_slept: Option<f64>,
    pub irls_total: Option<u32>,
    pub irls_band: Option<String>,
    /// Magnesium from the foods logged (a food USDA gives no value for counts 0).
    pub magnesium_food_mg: f64,
    pub magnesium_supplement_mg: f64,
    /// "caffeine 2 cups", "alcohol".
    pub factors: Vec<String>,
    /// "D1 N0 C2" (diarrhea, nausea, cramps).
    pub side_effects: Option<String>,
    pub note: Option<String>,
}

/// The diary by day, and its records (`history --json`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct History {
    pub days: Vec<Day>,
    pub records: Vec<StoredRecord>,
}

/// The records, day by day (oldest first).
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

/// A person's diary in a store: `None` while there is none (no database, no person yet), which
/// reads as an empty diary.
pub type Diary<'a, S> = Option<(&'a S, PersonId)>;

/// The person's records with dates in `from..=to` (either end open); none while there is no
/// diary yet.
pub fn records<S: Store>(
    diary: Diary<'_, S>,
    from: Option<Date>,
    to: Option<Date>,
) -> Result<Vec<StoredRecord>, AppError> {
    match diary {
        None => Ok(Vec::new()),
        Some((store, person)) => store
            .records(person, from, to)
            .map_err(AppError::store("reading the diary")),
    }
}

/// A date bound of a range: YYYY-MM-DD.
pub fn parse_bound(field: &'static str, text: Option<&str>) -> Result<Option<Date>, AppError> {
    text.map(|s| {
        s.parse::<Date>()
            .map_err(|_| AppError::field(field, format!("'{s}' is not a date: use YYYY-MM-DD")))
    })
    .transpose()
}

/// The diary by day from `from` to `to` (either open).
pub fn history<S: Store>(
    diary: Diary<'_, S>,
    from: Option<Date>,
    to: Option<Date>,
) -> Result<History, AppError> {
    let records = records(diary, from, to)?;
    Ok(History {
        days: days(&records),
        records,
    })
}

// ---------------------------------------------------------------------------------------------
// Changing and removing entries

fn check_kind(kind: &str) -> Result<(), AppError> {
    if RECORD_KINDS.contains(&kind) {
        Ok(())
    } else {
        Err(AppError::field(
            "kind",
            format!("'{kind}' is not known: allowed {}", RECORD_KINDS.join(", ")),
        ))
    }
}

fn stored<S: Store>(
    store: &S,
    person: PersonId,
    kind: &str,
    id: i64,
) -> Result<StoredRecord, AppError> {
    check_kind(kind)?;
    store
        .record(person, kind, id)
        .map_err(AppError::store("reading the entry"))?
        .ok_or_else(|| AppError::not_found(None, format!("no {kind} entry with id {id}")))
}

/// A change of an entry, checked and ready to confirm and store.
#[derive(Debug, Clone, PartialEq)]
pub struct Edit {
    pub kind: String,
    pub id: i64,
    pub old: Record,
    pub new: Record,
}

/// Prepares a change of entry `id` of `kind`: each (FIELD, VALUE) sets a field (names as in the
/// export; `date` as in [`parse_day`]); an empty VALUE clears an optional field. The changed
/// entry is validated like a new one.
pub fn prepare_edit<S: Store>(
    store: &S,
    person: PersonId,
    ctx: &Context<'_>,
    kind: &str,
    id: i64,
    changes: &[(String, String)],
) -> Result<Edit, AppError> {
    check_kind(kind)?;
    let old = stored(store, person, kind, id)?;
    let mut fields: BTreeMap<String, String> = old
        .record
        .fields()
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let mut date = old.record.date();
    for (k, v) in changes {
        let (k, v) = (k.trim(), v.trim());
        if k == "date" {
            date = parse_day(ctx.now, v)?;
        } else if v.is_empty() {
            fields.remove(k);
        } else {
            fields.insert(k.to_string(), v.to_string());
        }
    }
    let new = Record::from_fields(kind, date, &fields, &ctx.reference.irls)
        .map_err(|e| AppError::invalid(None, &e))?;
    let new = Entry::new(ctx, new)?.0;
    Ok(Edit {
        kind: kind.to_string(),
        id,
        old: old.record,
        new,
    })
}

/// Stores a prepared change (keeping the entry's creation time).
pub fn apply_edit<S: Store>(
    store: &S,
    person: PersonId,
    ctx: &Context<'_>,
    edit: &Edit,
) -> Result<(), AppError> {
    Ok(store.update_record(person, edit.id, &edit.new, &ctx.now.instant, &ctx.now.tz)?)
}

/// The entry a deletion would remove (to confirm), or why there is none.
pub fn prepare_delete<S: Store>(
    store: &S,
    person: PersonId,
    kind: &str,
    id: i64,
) -> Result<StoredRecord, AppError> {
    stored(store, person, kind, id)
}

pub fn delete<S: Store>(store: &S, person: PersonId, kind: &str, id: i64) -> Result<(), AppError> {
    Ok(store.delete_record(person, kind, id)?)
}

// ---------------------------------------------------------------------------------------------
// Export and import

/// The open formats of the whole diary (`docs/diary.md`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    /// Tidy CSV, one row per field, with a row count first.
    Csv,
    /// JSON, schema [`quietlegs_core::export::DIARY_SCHEMA`].
    Json,
    /// A FHIR R4 Bundle of the diary, profile and trial results (`crate::fhir`, docs/fhir.md);
    /// not importable.
    Fhir,
}

impl ExportFormat {
    pub fn parse(text: &str) -> Result<Self, AppError> {
        match text {
            "csv" => Ok(Self::Csv),
            "json" => Ok(Self::Json),
            "fhir" => Ok(Self::Fhir),
            other => Err(AppError::field(
                "format",
                format!("'{other}' is not known: allowed csv, json, fhir"),
            )),
        }
    }
}

/// The whole diary in `format` (empty while there is none yet).
pub fn export<S: Store + TrialStore>(
    ctx: &Context<'_>,
    diary: Diary<'_, S>,
    format: ExportFormat,
) -> Result<String, AppError> {
    Ok(match format {
        ExportFormat::Csv => to_csv(&records(diary, None, None)?),
        ExportFormat::Json => to_json(&records(diary, None, None)?),
        ExportFormat::Fhir => crate::fhir::export(ctx, diary)?,
    })
}

/// The largest diary export accepted (a diary of decades is a few megabytes).
pub const MAX_IMPORT_BYTES: u64 = 256 << 20;

/// An export, parsed and checked, ready to restore.
#[derive(Debug, Clone, PartialEq)]
pub struct DiaryImport {
    records: Vec<StoredRecord>,
}

impl DiaryImport {
    pub fn len(&self) -> usize {
        self.records.len()
    }

    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }
}

/// Parses an export (CSV or JSON) and checks every entry: no id twice within a kind, one
/// night, IRLS or side-effects entry per date, every entry valid as of today. Nothing is
/// stored if any entry is refused.
pub fn prepare_import(ctx: &Context<'_>, text: &str) -> Result<DiaryImport, AppError> {
    let irls = &ctx.reference.irls;
    let records = parse_export(text, irls).map_err(|e| AppError::invalid(None, &e))?;
    let mut seen_ids = BTreeSet::new();
    let mut seen_dates = BTreeSet::new();
    for r in &records {
        let kind = r.record.kind();
        if !seen_ids.insert((kind, r.id)) {
            return Err(AppError::refused(format!(
                "{kind} {} appears twice; nothing was imported",
                r.id
            )));
        }
        if r.record.one_per_date() && !seen_dates.insert((kind, r.record.date())) {
            return Err(AppError::refused(format!(
                "two {kind} entries for {} (one per date is allowed); nothing was imported",
                r.record.date()
            )));
        }
        r.validate(ctx.now.date, irls)
            .map_err(|e| AppError::invalid(None, &e).context(&format!("{kind} {}", r.id)))?;
    }
    Ok(DiaryImport { records })
}

/// How many entries of one kind an import holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct KindCount {
    pub kind: String,
    pub entries: usize,
}

/// What a checked import would restore, before anything is stored: the entries by kind, the
/// dates they span, and whether the diary can take them (an import goes only into an empty
/// diary: the entries already there are never merged with, replaced or duplicated).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ImportPreview {
    pub entries: usize,
    pub kinds: Vec<KindCount>,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = Date))]
    pub first_date: Option<Date>,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = Date))]
    pub last_date: Option<Date>,
    /// Entries already in the diary: the import is refused unless this is 0.
    pub diary_entries: usize,
}

/// What `import` would restore into the diary (nothing is stored).
pub fn preview_import<S: Store>(
    diary: Diary<'_, S>,
    import: &DiaryImport,
) -> Result<ImportPreview, AppError> {
    let diary_entries = records(diary, None, None)?.len();
    let kinds = RECORD_KINDS
        .iter()
        .map(|kind| KindCount {
            kind: (*kind).to_string(),
            entries: import
                .records
                .iter()
                .filter(|r| r.record.kind() == *kind)
                .count(),
        })
        .filter(|k| k.entries > 0)
        .collect();
    let dates = || import.records.iter().map(|r| r.record.date());
    Ok(ImportPreview {
        entries: import.records.len(),
        kinds,
        first_date: dates().min(),
        last_date: dates().max(),
        diary_entries,
    })
}

/// An import (`import`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Imported {
    pub entries: usize,
}

/// Restores a checked export into the person's diary, which must be empty (a conflict
/// otherwise), in one transaction.
pub fn import<S: Store>(
    store: &S,
    person: PersonId,
    import: &DiaryImport,
) -> Result<Imported, AppError> {
    let entries = store.import_records(person, &import.records)?;
    Ok(Imported { entries })
}
