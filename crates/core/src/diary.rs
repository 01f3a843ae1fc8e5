//! The nightly diary: records, their validation, and their field-by-field form (for the tidy CSV
//! export). A night is keyed by the local date of its evening.
//!
//! The ranges below define quietlegs' own diary scales (severity and sleep quality 0-10, side
//! effects 0-3) and plausibility limits on measurements; they are input validation, not
//! clinical rules.

use crate::clock::ClockTime;
use crate::irls::{IrlsBand, IrlsScore};
use crate::reference::IrlsDefinition;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

const SCALE_0_10: (u8, u8) = (0, 10);
const SIDE_EFFECT_0_3: (u8, u8) = (0, 3);
const HOURS_SLEPT_MAX: f64 = 24.0;
const MINUTES_TO_SLEEP_MAX: u32 = 24 * 60;
const AWAKENINGS_MAX: u32 = 100;
const DOSE_MG_MAX: f64 = 10_000.0;
const FOOD_GRAMS_MAX: f64 = 10_000.0;
const NOTE_CHARS_MAX: usize = 2_000;
/// Product, food and amount texts: real names are well under these lengths.
const NAME_CHARS_MAX: usize = 120;
const FOOD_NAME_CHARS_MAX: usize = 300;
const SHORT_TEXT_CHARS_MAX: usize = 60;
/// Time zone names (IANA names are at most about 30 characters).
const TZ_CHARS_MAX: usize = 64;
/// Record ids: positive and within the integers a JSON reader keeps exactly (2^53 - 1).
const ID_MAX: i64 = (1 << 53) - 1;
/// The earliest date a diary entry may have: anything earlier is a typo (0001-01-01).
pub const DATE_FLOOR: Date = jiff::civil::date(1900, 1, 1);
/// Items of the RLS-6 (each 0-10, reported individually; FACTS.md 4b).
pub const RLS6_ITEMS: usize = 6;

/// A diary entry that cannot be stored, naming the field and what is allowed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct DiaryError {
    pub field: String,
    pub message: String,
}

fn err(field: &str, message: impl Into<String>) -> DiaryError {
    DiaryError {
        field: field.to_string(),
        message: message.into(),
    }
}

/// What can be tracked each evening.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FactorKind {
    Caffeine,
    Alcohol,
    Tobacco,
    Exercise,
    Massage,
    WarmBath,
    HeatColdPack,
    Screens,
    /// A factor the person names ("custom:stretching").
    Custom(String),
}

impl FactorKind {
    pub const BUILT_IN: [(&'static str, FactorKind); 8] = [
        ("caffeine", FactorKind::Caffeine),
        ("alcohol", FactorKind::Alcohol),
        ("tobacco", FactorKind::Tobacco),
        ("exercise", FactorKind::Exercise),
        ("massage", FactorKind::Massage),
        ("warm-bath", FactorKind::WarmBath),
        ("heat-cold-pack", FactorKind::HeatColdPack),
        ("screens", FactorKind::Screens),
    ];

    /// Parses a built-in name or `custom:NAME` (NAME: letters, digits, '-', 1-40 chars).
    pub fn parse(text: &str) -> Result<Self, DiaryError> {
        let t = text.trim().to_lowercase();
        let text = &crate::text::escape_controls(text);
        if let Some((_, k)) = Self::BUILT_IN.iter().find(|(n, _)| *n == t) {
            return Ok(k.clone());
        }
        if let Some(name) = t.strip_prefix("custom:") {
            let ok = !name.is_empty()
                && name.len() <= 40
                && name.chars().all(|c| c.is_alphanumeric() || c == '-');
            if ok {
                return Ok(Self::Custom(name.to_string()));
            }
        }
        Err(err(
            "factor",
            format!(
                "'{text}' is not known: allowed {}, or custom:NAME (letters, digits, '-')",
                Self::BUILT_IN.map(|(n, _)| n).join(", ")
            ),
        ))
    }

    /// The unit an amount of this factor is counted in, if it takes an amount.
    pub fn units(&self) -> &'static [&'static str] {
        match self {
            Self::Caffeine => &["mg", "cups"],
            Self::Alcohol => &["drinks"],
            Self::Tobacco => &["cigarettes", "uses"],
            Self::Exercise => &["minutes"],
            Self::Massage | Self::WarmBath | Self::HeatColdPack => &["minutes"],
            Self::Screens => &["minutes"],
            Self::Custom(_) => &["count", "minutes", "mg"],
        }
    }
}

impl fmt::Display for FactorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Custom(n) => write!(f, "custom:{n}"),
            other => {
                let name = Self::BUILT_IN
                    .iter()
                    .find(|(_, k)| k == other)
                    .map(|(n, _)| *n)
                    .unwrap_or("unknown");
                f.write_str(name)
            }
        }
    }
}

impl Serialize for FactorKind {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for FactorKind {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// One night, keyed by the evening's local date.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Night {
    pub date: Date,
    /// RLS severity that evening and night, 0 (none) to 10 (worst).
    pub severity: u8,
    pub symptoms_began: Option<ClockTime>,
    /// 0 (worst) to 10 (best).
    pub sleep_quality: Option<u8>,
    pub hours_slept: Option<f64>,
    pub minutes_to_sleep: Option<u32>,
    pub awakenings: Option<u32>,
    pub note: Option<String>,
}

/// A weekly IRLS, with optional RLS-6 items.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IrlsEntry {
    pub date: Date,
    pub items: Vec<u8>,
    pub total: u32,
    pub band: IrlsBand,
    pub rls6: Option<Vec<u8>>,
}

/// A supplement dose taken.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Dose {
    pub date: Date,
    pub time: ClockTime,
    pub product: String,
    pub form: Option<String>,
    pub elemental_mg: f64,
}

/// A food eaten; grams and magnesium are the values at the time of logging.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FoodLog {
    pub date: Date,
    pub food_id: String,
    pub food_name: String,
    pub amount: String,
    pub grams: f64,
    pub magnesium_mg: Option<f64>,
}

/// Side effects on a day, each 0 (none) to 3 (severe).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SideEffects {
    pub date: Date,
    pub diarrhea: u8,
    pub nausea: u8,
    pub cramps: u8,
}

/// A factor on an evening (counts toward that night).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Factor {
    pub date: Date,
    #[serde(rename = "factor")]
    pub kind: FactorKind,
    pub amount: Option<f64>,
    pub unit: Option<String>,
    /// When (the last time) it happened, if given.
    pub time: Option<ClockTime>,
}

/// Any diary record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Record {
    Night(Night),
    Irls(IrlsEntry),
    Dose(Dose),
    Food(FoodLog),
    SideEffects(SideEffects),
    Factor(Factor),
}

/// Every field of a kind of record, in export order (`None` for an unknown kind). The store
/// keeps one column per field (named alike, but `factor`, stored as `kind`).
pub fn field_names(kind: &str) -> Option<&'static [&'static str]> {
    Some(match kind {
        "night" => &[
            "severity",
            "symptoms_began",
            "sleep_quality",
            "hours_slept",
            "minutes_to_sleep",
            "awakenings",
            "note",
        ],
        "irls" => &["items", "total", "band", "rls6"],
        "dose" => &["time", "product", "form", "elemental_mg"],
        "food" => &["food_id", "food_name", "amount", "grams", "magnesium_mg"],
        "side-effects" => &["diarrhea", "nausea", "cramps"],
        "factor" => &["factor", "amount", "unit", "time"],
        _ => return None,
    })
}

/// The kinds of record, in export order.
pub const RECORD_KINDS: [&str; 6] = ["night", "irls", "dose", "food", "side-effects", "factor"];

impl Record {
    pub fn kind(&self) -> &'static str {
        match self {
            Record::Night(_) => "night",
            Record::Irls(_) => "irls",
            Record::Dose(_) => "dose",
            Record::Food(_) => "food",
            Record::SideEffects(_) => "side-effects",
            Record::Factor(_) => "factor",
        }
    }

    pub fn date(&self) -> Date {
        match self {
            Record::Night(r) => r.date,
            Record::Irls(r) => r.date,
            Record::Dose(r) => r.date,
            Record::Food(r) => r.date,
            Record::SideEffects(r) => r.date,
            Record::Factor(r) => r.date,
        }
    }

    /// Kinds with at most one record per date (a second needs `--replace` or an edit).
    pub fn one_per_date(&self) -> bool {
        matches!(
            self,
            Record::Night(_) | Record::Irls(_) | Record::SideEffects(_)
        )
    }

    /// Checks every field; `today` is the person's local date (no future entries).
    pub fn validate(&self, today: Date, irls: &IrlsDefinition) -> Result<(), DiaryError> {
        if self.date() > today {
            return Err(err(
                "date",
                format!("{} is in the future (today is {today})", self.date()),
            ));
        }
        if self.date() < DATE_FLOOR {
            return Err(err(
                "date",
                format!(
                    "{} is before {DATE_FLOOR}: allowed {DATE_FLOOR} to today",
                    self.date()
                ),
            ));
        }
        let text = |field: &str, value: &str, max: usize, multi_line: bool| {
            crate::text::check_text(value, max, multi_line).map_err(|e| err(field, e.to_string()))
        };
        let scale = |field: &str, v: u8, (lo, hi): (u8, u8)| {
            if v < lo || v > hi {
                Err(err(
                    field,
                    format!("{v} is out of range: allowed {lo} to {hi}"),
                ))
            } else {
                Ok(())
            }
        };
        let positive = |field: &str, v: f64, max: f64, unit: &str| {
            if v.is_finite() && v > 0.0 && v <= max {
                Ok(())
            } else {
                Err(err(
                    field,
                    format!("{v} is out of range: allowed more than 0 up to {max} {unit}"),
                ))
            }
        };
        match self {
            Record::Night(n) => {
                scale("severity", n.severity, SCALE_0_10)?;
                if let Some(q) = n.sleep_quality {
                    scale("sleep_quality", q, SCALE_0_10)?;
                }
                if let Some(h) = n.hours_slept {
                    if !(h.is_finite() && (0.0..=HOURS_SLEPT_MAX).contains(&h)) {
                        return Err(err(
                            "hours_slept",
                            format!("{h} is out of range: allowed 0 to {HOURS_SLEPT_MAX}"),
                        ));
                    }
                }
                if let Some(m) = n.minutes_to_sleep.filter(|m| *m > MINUTES_TO_SLEEP_MAX) {
                    return Err(err(
                        "minutes_to_sleep",
                        format!("{m} is out of range: allowed 0 to {MINUTES_TO_SLEEP_MAX}"),
                    ));
                }
                if let Some(a) = n.awakenings.filter(|a| *a > AWAKENINGS_MAX) {
                    return Err(err(
                        "awakenings",
                        format!("{a} is out of range: allowed 0 to {AWAKENINGS_MAX}"),
                    ));
                }
                if let Some(note) = &n.note {
                    text("note", note, NOTE_CHARS_MAX, true)?;
                }
            }
            Record::Irls(i) => {
                let values: Vec<i64> = i.items.iter().map(|&v| i64::from(v)).collect();
                let score =
                    IrlsScore::score(irls, &values).map_err(|e| err("irls", e.to_string()))?;
                if score.total != i.total || score.band != i.band {
                    return Err(err("irls", "total or band does not match the items"));
                }
                if let Some(r) = &i.rls6 {
                    if r.len() != RLS6_ITEMS {
                        return Err(err(
                            "rls6",
                            format!("needs exactly {RLS6_ITEMS} item values, got {}", r.len()),
                        ));
                    }
                    for (k, &v) in r.iter().enumerate() {
                        scale(&format!("rls6 item {}", k + 1), v, SCALE_0_10)?;
                    }
                }
            }
            Record::Dose(d) => {
                if d.product.trim().is_empty() {
                    return Err(err("product", "must not be empty"));
                }
                text("product", &d.product, NAME_CHARS_MAX, false)?;
                if let Some(form) = &d.form {
                    text("form", form, SHORT_TEXT_CHARS_MAX, false)?;
                }
                positive("elemental_mg", d.elemental_mg, DOSE_MG_MAX, "mg")?;
            }
            Record::Food(f) => {
                text("food_id", &f.food_id, SHORT_TEXT_CHARS_MAX, false)?;
                text("food_name", &f.food_name, FOOD_NAME_CHARS_MAX, false)?;
                text("amount", &f.amount, SHORT_TEXT_CHARS_MAX, false)?;
                positive("grams", f.grams, FOOD_GRAMS_MAX, "g")?;
                if let Some(m) = f.magnesium_mg {
                    if !(m.is_finite() && m >= 0.0) {
                        return Err(err("magnesium_mg", "must be 0 or more"));
                    }
                }
            }
            Record::SideEffects(s) => {
                scale("diarrhea", s.diarrhea, SIDE_EFFECT_0_3)?;
                scale("nausea", s.nausea, SIDE_EFFECT_0_3)?;
                scale("cramps", s.cramps, SIDE_EFFECT_0_3)?;
            }
            Record::Factor(f) => match (f.amount, &f.unit) {
                (Some(a), Some(u)) => {
                    positive("amount", a, 100_000.0, u)?;
                    if !f.kind.units().contains(&u.as_str()) {
                        return Err(err(
                            "unit",
                            format!(
                                "'{u}' is not a unit of {}: allowed {}",
                                f.kind,
                                f.kind.units().join(", ")
                            ),
                        ));
                    }
                }
                (Some(_), None) => {
                    return Err(err(
                        "unit",
                        format!("give a unit with the amount: {}", f.kind.units().join(", ")),
                    ))
                }
                (None, Some(_)) => return Err(err("amount", "a unit needs an amount")),
                (None, None) => {}
            },
        }
        Ok(())
    }

    /// The record as (field, value) pairs, in a fixed order, without `kind` and `date`; absent
    /// optional values are left out. Counts are integers, measurements reals, the rest text
    /// (times, names, item lists); `Display` gives the export's text of each.
    pub fn fields(&self) -> Vec<(&'static str, FieldValue)> {
        use FieldValue::{Integer, Real, Text};
        let mut out: Vec<(&'static str, FieldValue)> = Vec::new();
        let mut opt = |name: &'static str, v: Option<FieldValue>| {
            if let Some(v) = v {
                out.push((name, v));
            }
        };
        let int = |v: u32| Integer(i64::from(v));
        let small = |v: u8| Integer(i64::from(v));
        match self {
            Record::Night(n) => {
                opt("severity", Some(small(n.severity)));
                opt(
                    "symptoms_began",
                    n.symptoms_began.map(|t| Text(t.to_string())),
                );
                opt("sleep_quality", n.sleep_quality.map(small));
                opt("hours_slept", n.hours_slept.map(Real));
                opt("minutes_to_sleep", n.minutes_to_sleep.map(int));
                opt("awakenings", n.awakenings.map(int));
                opt("note", n.note.clone().map(Text));
            }
            Record::Irls(i) => {
                opt("items", Some(Text(join(&i.items))));
                opt("total", Some(int(i.total)));
                opt("band", Some(Text(i.band.as_str().to_string())));
                opt("rls6", i.rls6.as_ref().map(|r| Text(join(r))));
            }
            Record::Dose(d) => {
                opt("time", Some(Text(d.time.to_string())));
                opt("product", Some(Text(d.product.clone())));
                opt("form", d.form.clone().map(Text));
                opt("elemental_mg", Some(Real(d.elemental_mg)));
            }
            Record::Food(f) => {
                opt("food_id", Some(Text(f.food_id.clone())));
                opt("food_name", Some(Text(f.food_name.clone())));
                opt("amount", Some(Text(f.amount.clone())));
                opt("grams", Some(Real(f.grams)));
                opt("magnesium_mg", f.magnesium_mg.map(Real));
            }
            Record::SideEffects(s) => {
                opt("diarrhea", Some(small(s.diarrhea)));
                opt("nausea", Some(small(s.nausea)));
                opt("cramps", Some(small(s.cramps)));
            }
            Record::Factor(f) => {
                opt("factor", Some(Text(f.kind.to_string())));
                opt("amount", f.amount.map(Real));
                opt("unit", f.unit.clone().map(Text));
                opt("time", f.time.map(|t| Text(t.to_string())));
            }
        }
        out
    }

    /// Rebuilds a record from `kind`, `date` and its fields as text (an export, an edit): the
    /// inverse of [`Record::fields`] rendered with `Display`.
    pub fn from_fields(
        kind: &str,
        date: Date,
        fields: &BTreeMap<String, String>,
        irls: &IrlsDefinition,
    ) -> Result<Self, DiaryError> {
        let values: BTreeMap<String, FieldValue> = fields
            .iter()
            .map(|(k, v)| (k.clone(), FieldValue::Text(v.clone())))
            .collect();
        Self::from_values(kind, date, &values, irls)
    }

    /// Rebuilds a record from `kind`, `date` and its typed fields (the inverse of
    /// [`Record::fields`]). A number may also come as text (as older stores and exports keep
    /// it) and a whole number where a real is expected; the IRLS total and band are recomputed
    /// from the items.
    pub fn from_values(
        kind: &str,
        date: Date,
        fields: &BTreeMap<String, FieldValue>,
        irls: &IrlsDefinition,
    ) -> Result<Self, DiaryError> {
        let get = |k: &str| fields.get(k);
        let need = |k: &str| get(k).ok_or_else(|| err(k, "missing"));
        let invalid = |k: &str, v: &FieldValue| err(k, format!("'{v}' is not a valid number"));
        let count = |k: &str, v: Option<&FieldValue>| -> Result<Option<u32>, DiaryError> {
            v.map(|v| match v {
                FieldValue::Integer(i) => u32::try_from(*i).map_err(|_| invalid(k, v)),
                FieldValue::Text(s) => s.parse().map_err(|_| invalid(k, v)),
                FieldValue::Real(_) => Err(invalid(k, v)),
            })
            .transpose()
        };
        let small = |k: &str, v: Option<&FieldValue>| -> Result<Option<u8>, DiaryError> {
            count(k, v)?
                .map(|c| {
                    u8::try_from(c).map_err(|_| err(k, format!("'{c}' is not a valid number")))
                })
                .transpose()
        };
        let real = |k: &str, v: Option<&FieldValue>| -> Result<Option<f64>, DiaryError> {
            v.map(|v| match v {
                FieldValue::Real(f) => Ok(*f),
                // Every count quietlegs stores is far below 2^53, so the conversion is exact.
                FieldValue::Integer(i) => Ok(*i as f64),
                FieldValue::Text(s) => s.parse().map_err(|_| invalid(k, v)),
            })
            .transpose()
        };
        let text = |v: Option<&FieldValue>| v.map(FieldValue::to_string);
        let time = |k: &str, v: Option<&FieldValue>| -> Result<Option<ClockTime>, DiaryError> {
            text(v)
                .map(|s| ClockTime::parse(&s).map_err(|e| err(k, e.to_string())))
                .transpose()
        };
        let list = |k: &str, s: &str| -> Result<Vec<u8>, DiaryError> {
            s.split(',')
                .map(|x| {
                    x.trim()
                        .parse::<u8>()
                        .map_err(|_| err(k, format!("'{s}' is not a list of numbers")))
                })
                .collect()
        };
        let Some(known) = field_names(kind) else {
            return Err(err(
                "kind",
                format!("'{kind}' is not known: allowed {}", RECORD_KINDS.join(", ")),
            ));
        };
        if let Some(unknown) = fields.keys().find(|k| !known.contains(&k.as_str())) {
            return Err(err(unknown, format!("is not a field of a {kind} record")));
        }
        Ok(match kind {
            "night" => Record::Night(Night {
                date,
                severity: small("severity", Some(need("severity")?))?.unwrap_or_default(),
                symptoms_began: time("symptoms_began", get("symptoms_began"))?,
                sleep_quality: small("sleep_quality", get("sleep_quality"))?,
                hours_slept: real("hours_slept", get("hours_slept"))?,
                minutes_to_sleep: count("minutes_to_sleep", get("minutes_to_sleep"))?,
                awakenings: count("awakenings", get("awakenings"))?,
                note: text(get("note")),
            }),
            "irls" => {
                let items = list("items", &need("items")?.to_string())?;
                let values: Vec<i64> = items.iter().map(|&v| i64::from(v)).collect();
                let score =
                    IrlsScore::score(irls, &values).map_err(|e| err("items", e.to_string()))?;
                Record::Irls(IrlsEntry {
                    date,
                    items,
                    total: score.total,
                    band: score.band,
                    rls6: text(get("rls6")).map(|s| list("rls6", &s)).transpose()?,
                })
            }
            "dose" => Record::Dose(Dose {
                date,
                time: time("time", Some(need("time")?))?
                    .unwrap_or(ClockTime::from_minutes_wrapping(0)),
                product: need("product")?.to_string(),
                form: text(get("form")),
                elemental_mg: real("elemental_mg", Some(need("elemental_mg")?))?
                    .unwrap_or_default(),
            }),
            "food" => Record::Food(FoodLog {
                date,
                food_id: need("food_id")?.to_string(),
                food_name: need("food_name")?.to_string(),
                amount: need("amount")?.to_string(),
                grams: real("grams", Some(need("grams")?))?.unwrap_or_default(),
                magnesium_mg: real("magnesium_mg", get("magnesium_mg"))?,
            }),
            "side-effects" => Record::SideEffects(SideEffects {
                date,
                diarrhea: small("diarrhea", Some(need("diarrhea")?))?.unwrap_or_default(),
                nausea: small("nausea", Some(need("nausea")?))?.unwrap_or_default(),
                cramps: small("cramps", Some(need("cramps")?))?.unwrap_or_default(),
            }),
            _ => Record::Factor(Factor {
                date,
                kind: FactorKind::parse(&need("factor")?.to_string())?,
                amount: real("amount", get("amount"))?,
                unit: text(get("unit")),
                time: time("time", get("time"))?,
            }),
        })
    }
}

/// One field of a record, typed as it is stored: counts and scores are integers, measurements
/// reals, everything else text. `Display` is the export's text: integers in decimal, reals in
/// Rust's shortest form that reads back to the same number (`5.75`, `2`), text as is.
#[derive(Debug, Clone, PartialEq)]
pub enum FieldValue {
    Integer(i64),
    Real(f64),
    Text(String),
}

impl fmt::Display for FieldValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Integer(i) => write!(f, "{i}"),
            Self::Real(r) => write!(f, "{r}"),
            Self::Text(t) => f.write_str(t),
        }
    }
}

fn join(v: &[u8]) -> String {
    v.iter().map(u8::to_string).collect::<Vec<_>>().join(",")
}

/// When and where a record was written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stamp {
    /// RFC 3339 instants (UTC).
    pub created_at: String,
    pub updated_at: String,
    /// The IANA time zone of the person when the record was written.
    pub tz: String,
}

impl Stamp {
    /// The stamp of an imported record: RFC 3339 instants and a short, printable time zone.
    pub fn validate(&self) -> Result<(), DiaryError> {
        for (field, value) in [
            ("created_at", &self.created_at),
            ("updated_at", &self.updated_at),
        ] {
            crate::text::check_text(value, SHORT_TEXT_CHARS_MAX, false)
                .map_err(|e| err(field, e.to_string()))?;
            value.parse::<jiff::Timestamp>().map_err(|_| {
                err(
                    field,
                    format!(
                        "'{}' is not an RFC 3339 time (for example 2026-11-29T21:30:00Z)",
                        crate::text::escape_controls(value)
                    ),
                )
            })?;
        }
        crate::text::check_text(&self.tz, TZ_CHARS_MAX, false)
            .map_err(|e| err("tz", e.to_string()))?;
        Ok(())
    }
}

impl StoredRecord {
    /// Every field of an imported record: its id, its stamp and its content.
    pub fn validate(&self, today: Date, irls: &IrlsDefinition) -> Result<(), DiaryError> {
        if !(1..=ID_MAX).contains(&self.id) {
            return Err(err(
                "id",
                format!("{} is out of range: allowed 1 to {ID_MAX}", self.id),
            ));
        }
        self.stamp.validate()?;
        self.record.validate(today, irls)
    }
}

/// A stored record: its id (unique within its kind), stamp and content.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredRecord {
    pub id: i64,
    #[serde(flatten)]
    pub stamp: Stamp,
    pub record: Record,
}

/// The evening a diary entry belongs to: before noon, last night (yesterday's evening).
pub fn evening_of(now_date: Date, now_time: ClockTime) -> Date {
    /// Entries made before this hour belong to the previous evening.
    const MORNING_ENDS: u16 = 12 * 60;
    if now_time.minutes() < MORNING_ENDS {
        now_date.yesterday().unwrap_or(now_date)
    } else {
        now_date
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reference::ReferenceData;
    use jiff::civil::date;
    use proptest::prelude::*;

    fn irls() -> IrlsDefinition {
        ReferenceData::shipped().unwrap().irls
    }

    fn night(sev: u8) -> Record {
        Record::Night(Night {
            date: date(2026, 11, 20),
            severity: sev,
            symptoms_began: Some(ClockTime::parse("21:15").unwrap()),
            sleep_quality: Some(6),
            hours_slept: Some(6.5),
            minutes_to_sleep: Some(40),
            awakenings: Some(2),
            note: Some("=1+1, \"quoted\", café".into()),
        })
    }

    #[test]
    fn out_of_range_and_future_entries_name_the_field() {
        let today = date(2026, 11, 27);
        let d = irls();
        assert_eq!(night(11).validate(today, &d).unwrap_err().field, "severity");
        let mut future = night(3);
        if let Record::Night(n) = &mut future {
            n.date = date(2026, 11, 28);
        }
        assert_eq!(future.validate(today, &d).unwrap_err().field, "date");
        let bad_factor = Record::Factor(Factor {
            date: today,
            kind: FactorKind::Caffeine,
            amount: Some(2.0),
            unit: Some("drinks".into()),
            time: None,
        });
        let e = bad_factor.validate(today, &d).unwrap_err();
        assert_eq!(
            e.to_string(),
            "unit: 'drinks' is not a unit of caffeine: allowed mg, cups"
        );
        let se = Record::SideEffects(SideEffects {
            date: today,
            diarrhea: 4,
            nausea: 0,
            cramps: 0,
        });
        assert_eq!(se.validate(today, &d).unwrap_err().field, "diarrhea");
        assert!(night(10).validate(today, &d).is_ok());
        // A 1 MB product name, a food name with an escape sequence: refused, naming the field.
        let dose = |product: String| {
            Record::Dose(Dose {
                date: today,
                time: crate::clock::ClockTime::parse("21:30").unwrap(),
                product,
                form: None,
                elemental_mg: 200.0,
            })
        };
        let e = dose("x".repeat(1 << 20)).validate(today, &d).unwrap_err();
        assert_eq!(
            e.to_string(),
            "product: is 1048576 characters long: allowed at most 120"
        );
        assert!(dose("Magnesium citrate 200".into())
            .validate(today, &d)
            .is_ok());
        let food = Record::Food(FoodLog {
            date: today,
            food_id: "12061".into(),
            food_name: "Almonds\u{1b}[2J".into(),
            amount: "1 oz".into(),
            grams: 28.35,
            magnesium_mg: Some(76.5),
        });
        assert_eq!(food.validate(today, &d).unwrap_err().field, "food_name");
        // Dates before the floor.
        let mut old = night(3);
        if let Record::Night(n) = &mut old {
            n.date = date(1, 1, 1);
        }
        assert_eq!(old.validate(today, &d).unwrap_err().field, "date");
    }

    #[test]
    fn evening_of_rolls_mornings_back() {
        let t = |s| ClockTime::parse(s).unwrap();
        assert_eq!(
            evening_of(date(2026, 11, 27), t("07:30")),
            date(2026, 11, 26)
        );
        assert_eq!(
            evening_of(date(2026, 11, 27), t("11:59")),
            date(2026, 11, 26)
        );
        assert_eq!(
            evening_of(date(2026, 11, 27), t("12:00")),
            date(2026, 11, 27)
        );
        assert_eq!(
            evening_of(date(2026, 11, 27), t("23:10")),
            date(2026, 11, 27)
        );
    }

    #[test]
    fn factor_kinds_parse_and_print() {
        for (name, kind) in FactorKind::BUILT_IN {
            assert_eq!(FactorKind::parse(name).unwrap(), kind);
            assert_eq!(kind.to_string(), name);
        }
        assert_eq!(
            FactorKind::parse("custom:stretching").unwrap().to_string(),
            "custom:stretching"
        );
        assert!(FactorKind::parse("coffee").is_err());
        assert!(FactorKind::parse("custom:").is_err());
    }

    #[test]
    fn fields_are_typed_and_display_as_the_export_text() {
        use FieldValue::{Integer, Real, Text};
        // night(7): the values written in `night` above, each with its type.
        assert_eq!(
            night(7).fields(),
            [
                ("severity", Integer(7)),
                ("symptoms_began", Text("21:15".into())),
                ("sleep_quality", Integer(6)),
                ("hours_slept", Real(6.5)),
                ("minutes_to_sleep", Integer(40)),
                ("awakenings", Integer(2)),
                ("note", Text("=1+1, \"quoted\", café".into())),
            ]
        );
        // The export's text: a whole real prints without a fraction, a real keeps every digit
        // that distinguishes it.
        assert_eq!(Real(2.0).to_string(), "2");
        assert_eq!(Real(5.75).to_string(), "5.75");
        assert_eq!(Real(28.349523125).to_string(), "28.349523125");
        assert_eq!(Integer(-3).to_string(), "-3");
        assert_eq!(Text("1 oz".into()).to_string(), "1 oz");
    }

    #[test]
    fn values_are_read_typed_or_as_text_and_wrong_types_are_refused() {
        use FieldValue::{Integer, Real, Text};
        let d = irls();
        let day = date(2026, 11, 20);
        let map = |pairs: &[(&str, FieldValue)]| -> BTreeMap<String, FieldValue> {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect()
        };
        let expected = Record::Dose(Dose {
            date: day,
            time: ClockTime::parse("22:00").unwrap(),
            product: "Mag citrate".into(),
            form: None,
            elemental_mg: 200.0,
        });
        // Typed (as stored now), a whole number for a real, and all text (an older store).
        for elemental in [Real(200.0), Integer(200), Text("200".into())] {
            let fields = map(&[
                ("time", Text("22:00".into())),
                ("product", Text("Mag citrate".into())),
                ("elemental_mg", elemental.clone()),
            ]);
            assert_eq!(
                Record::from_values("dose", day, &fields, &d).unwrap(),
                expected,
                "{elemental:?}"
            );
        }
        let side = |diarrhea: FieldValue| {
            let fields = map(&[
                ("diarrhea", diarrhea),
                ("nausea", Integer(0)),
                ("cramps", Text("2".into())),
            ]);
            Record::from_values("side-effects", day, &fields, &d)
        };
        assert_eq!(
            side(Integer(1)).unwrap(),
            Record::SideEffects(SideEffects {
                date: day,
                diarrhea: 1,
                nausea: 0,
                cramps: 2,
            })
        );
        // A count is never a fraction, a negative number or above its type's range.
        for bad in [Real(1.5), Integer(-1), Integer(256), Text("one".into())] {
            let e = side(bad.clone()).unwrap_err();
            assert_eq!(e.field, "diarrhea", "{bad:?}");
            assert_eq!(e.message, format!("'{bad}' is not a valid number"));
        }
    }

    proptest! {
        #[test]
        fn fields_round_trip(sev in 0u8..=10, q in proptest::option::of(0u8..=10),
                             hours in proptest::option::of(0.0f64..24.0),
                             note in proptest::option::of("\\PC{0,30}")) {
            let r = Record::Night(Night {
                date: date(2026, 1, 2), severity: sev, symptoms_began: None, sleep_quality: q,
                hours_slept: hours, minutes_to_sleep: None, awakenings: None, note,
            });
            let map: BTreeMap<String, String> = r.fields().into_iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
            let back = Record::from_fields("night", date(2026, 1, 2), &map, &irls()).unwrap();
            prop_assert_eq!(back, r);
        }
    }
}
