//! The person's profile (`profile.toml`): parsed strictly, validated with messages that name the
//! field and what is allowed. Nothing is guessed: a missing required field is an error.
//!
//! The plausibility ranges below are input validation (what a real measurement can be), not
//! clinical rules; the clinical cut-offs live in `data/reference/rules.toml`.

use crate::clock::ClockTime;
use crate::reference::ReferenceData;
use serde::{Deserialize, Serialize};
use std::ops::RangeInclusive;

const AGE_YEARS: RangeInclusive<i64> = 1..=120;
const EGFR: RangeInclusive<f64> = 0.0..=200.0;
const CKD_STAGE: RangeInclusive<i64> = 0..=5;
const FERRITIN_NG_ML: RangeInclusive<f64> = 0.0..=10_000.0;
const TSAT_PERCENT: RangeInclusive<f64> = 0.0..=100.0;
const DIETARY_MG: RangeInclusive<f64> = 0.0..=3_000.0;
const SUPPLEMENT_MG: RangeInclusive<f64> = 0.0..=5_000.0;
/// Ages at which a person can be pregnant or lactating per the RDA table; a female profile in
/// this range must say `pregnant` and `lactating` explicitly.
const CHILDBEARING_AGE: RangeInclusive<i64> = 14..=50;
/// Ages at which `pregnant` or `lactating` may be true at all (input plausibility: outside this
/// range a true value is a typo, and the plan would give the wrong limits).
const PREGNANCY_PLAUSIBLE_AGE: RangeInclusive<i64> = 10..=60;
/// Longest medicine or product name accepted: the longest real product names are well under
/// 100 characters; anything longer is pasted text, not a name.
pub const MAX_NAME_CHARS: usize = 120;
/// Plausible time asleep between bedtime and wake (input plausibility: 2 to 16 hours).
const SLEEP_MINUTES: RangeInclusive<u16> = 120..=960;

/// A profile that cannot be used, naming the field.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ProfileError {
    #[error("{0}")]
    Syntax(String),
    #[error("{field}: {message}")]
    Field { field: String, message: String },
}

/// Minerals that are not magnesium, named in the refusal of a non-magnesium supplement.
const OTHER_MINERALS: &[&str] = &[
    "calcium",
    "zinc",
    "iron",
    "ferrous",
    "ferric",
    "potassium",
    "selenium",
    "copper",
];

/// Every message is escaped: a value echoed back can never drive the terminal.
fn field_error(field: impl Into<String>, message: impl Into<String>) -> ProfileError {
    ProfileError::Field {
        field: escape_controls(&field.into()),
        message: escape_controls(&message.into()),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Sex {
    Female,
    Male,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum GiTolerance {
    Normal,
    Sensitive,
    ConstipationProne,
}

impl GiTolerance {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Normal => "normal",
            Self::Sensitive => "sensitive",
            Self::ConstipationProne => "constipation-prone",
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ProfileFile {
    age: i64,
    sex: Sex,
    pregnant: Option<bool>,
    lactating: Option<bool>,
    bedtime: String,
    wake: Option<String>,
    gi_tolerance: GiTolerance,
    ferritin_ng_ml: Option<f64>,
    tsat_percent: Option<f64>,
    #[serde(default)]
    conditions: Vec<String>,
    dietary_magnesium_mg: Option<f64>,
    kidney: Option<KidneyFile>,
    #[serde(default)]
    medications: Vec<MedicationFile>,
    #[serde(default)]
    supplements: Vec<SupplementFile>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct KidneyFile {
    egfr: Option<f64>,
    ckd_stage: Option<i64>,
    dialysis: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MedicationFile {
    name: String,
    #[serde(default)]
    times: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SupplementFile {
    name: String,
    elemental_mg: f64,
    #[serde(default)]
    times: Vec<String>,
}

/// Kidney function as the person reported it.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Kidney {
    pub egfr: Option<f64>,
    pub ckd_stage: Option<u8>,
    pub dialysis: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Medication {
    pub name: String,
    pub times: Vec<ClockTime>,
}

/// A magnesium-containing product the person already takes.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CurrentSupplement {
    pub name: String,
    /// The form family named in the product name, if one is.
    pub family: Option<String>,
    pub elemental_mg: f64,
    /// When it is taken, if the person said (checked against the spacing rules).
    pub times: Vec<ClockTime>,
}

/// A validated profile.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Profile {
    pub age: u32,
    pub sex: Sex,
    pub pregnant: bool,
    pub lactating: bool,
    pub bedtime: ClockTime,
    /// Usual wake time, if given; the plan assumes a default night otherwise.
    pub wake: Option<ClockTime>,
    pub gi_tolerance: GiTolerance,
    pub ferritin_ng_ml: Option<f64>,
    pub tsat_percent: Option<f64>,
    pub conditions: Vec<String>,
    pub dietary_magnesium_mg: Option<f64>,
    pub kidney: Kidney,
    pub medications: Vec<Medication>,
    pub supplements: Vec<CurrentSupplement>,
}

fn check_f64(
    field: &str,
    value: Option<f64>,
    range: RangeInclusive<f64>,
    unit: &str,
) -> Result<Option<f64>, ProfileError> {
    // -0.0 is read as 0 (it would print as "-0").
    let value = value.map(|v| v + 0.0);
    match value {
        Some(v) if !v.is_finite() || !range.contains(&v) => Err(field_error(
            field,
            format!(
                "{v} is out of range: allowed {} to {} {unit}",
                range.start(),
                range.end()
            ),
        )),
        other => Ok(other),
    }
}

/// A TOML error without the internal type names ("expected struct KidneyFile" becomes "expected a
/// table") and with any control character escaped.
fn readable_toml_error(message: &str) -> String {
    // "TOML parse error at line 6, column 8\n | ... \ninvalid type: ..." becomes
    // "line 6, column 8: invalid type: ...".
    let mut out = match message.strip_prefix("TOML parse error at ") {
        Some(rest) => {
            let position = rest.lines().next().unwrap_or_default();
            let last = rest
                .lines()
                .rev()
                .find(|l| !l.trim().is_empty())
                .unwrap_or_default();
            format!("{position}: {}", last.trim())
        }
        None => message.to_string(),
    };
    for (internal, plain) in [
        ("expected f64", "expected a number"),
        ("expected i64", "expected a whole number"),
        ("expected a sequence", "expected a list [ ... ]"),
    ] {
        out = out.replace(internal, plain);
    }
    for internal in [
        "struct ProfileFile",
        "struct KidneyFile",
        "struct MedicationFile",
        "struct SupplementFile",
    ] {
        out = out.replace(internal, "a table");
    }
    escape_controls(out.trim())
}

pub use crate::text::escape_controls;

/// A medicine or product name: not empty, not over [`MAX_NAME_CHARS`], no control characters.
fn check_name(field: String, name: &str) -> Result<String, ProfileError> {
    let trimmed = name.trim();
    if trimmed.is_empty() {
        return Err(field_error(field, "must not be empty"));
    }
    crate::text::check_text(trimmed, MAX_NAME_CHARS, false)
        .map_err(|e| field_error(field, e.to_string()))?;
    Ok(trimmed.to_string())
}

fn parse_time(field: String, text: &str) -> Result<ClockTime, ProfileError> {
    ClockTime::parse(text).map_err(|e| field_error(field, e.to_string()))
}

impl Profile {
    /// Parses and validates a profile's TOML text.
    pub fn from_toml(text: &str, data: &ReferenceData) -> Result<Self, ProfileError> {
        let deserializer = toml::Deserializer::new(text);
        let raw: ProfileFile = serde_path_to_error::deserialize(deserializer).map_err(|e| {
            let path = e.path().to_string();
            let message = readable_toml_error(&e.inner().to_string());
            if path.is_empty() || path == "." {
                ProfileError::Syntax(message)
            } else if path.starts_with("kidney[") {
                field_error(
                    "kidney",
                    "write one [kidney] table (single brackets), not a list [[kidney]]",
                )
            } else {
                field_error(path, message)
            }
        })?;
        Self::validate(raw, data)
    }

    fn validate(raw: ProfileFile, data: &ReferenceData) -> Result<Self, ProfileError> {
        if !AGE_YEARS.contains(&raw.age) {
            return Err(field_error(
                "age",
                format!(
                    "{} is out of range: allowed {} to {} years (infants under 1 are outside \
                     quietlegs' scope: ask a paediatric clinician)",
                    raw.age,
                    AGE_YEARS.start(),
                    AGE_YEARS.end()
                ),
            ));
        }
        let (pregnant, lactating) = match raw.sex {
            Sex::Male => {
                for (field, value) in [("pregnant", raw.pregnant), ("lactating", raw.lactating)] {
                    if value == Some(true) {
                        return Err(field_error(
                            field,
                            "true is only allowed with sex = \"female\"",
                        ));
                    }
                }
                (false, false)
            }
            Sex::Female if CHILDBEARING_AGE.contains(&raw.age) => {
                let required = |field: &str, v: Option<bool>| {
                    v.ok_or_else(|| {
                        field_error(
                            field,
                            format!(
                                "required for sex = \"female\" aged {}-{}: true or false",
                                CHILDBEARING_AGE.start(),
                                CHILDBEARING_AGE.end()
                            ),
                        )
                    })
                };
                (
                    required("pregnant", raw.pregnant)?,
                    required("lactating", raw.lactating)?,
                )
            }
            Sex::Female => (
                raw.pregnant.unwrap_or(false),
                raw.lactating.unwrap_or(false),
            ),
        };
        if !PREGNANCY_PLAUSIBLE_AGE.contains(&raw.age) {
            for (field, value) in [("pregnant", pregnant), ("lactating", lactating)] {
                if value {
                    return Err(field_error(
                        field,
                        format!(
                            "true is not plausible at age {}: allowed only at ages {}-{}",
                            raw.age,
                            PREGNANCY_PLAUSIBLE_AGE.start(),
                            PREGNANCY_PLAUSIBLE_AGE.end()
                        ),
                    ));
                }
            }
        }
        let bedtime = parse_time("bedtime".into(), &raw.bedtime)?;
        let wake = match &raw.wake {
            Some(w) => {
                let wake = parse_time("wake".into(), w)?;
                if wake == bedtime {
                    return Err(field_error(
                        "wake",
                        "must differ from bedtime: the hours between wake and bedtime are the \
                         waking day",
                    ));
                }
                let sleep = bedtime.minutes_until(wake);
                if !SLEEP_MINUTES.contains(&sleep) {
                    return Err(field_error(
                        "wake",
                        format!(
                            "{wake} is {}h{:02} after bedtime {bedtime}: allowed {} to {} hours \
                             of sleep",
                            sleep / 60,
                            sleep % 60,
                            SLEEP_MINUTES.start() / 60,
                            SLEEP_MINUTES.end() / 60
                        ),
                    ));
                }
                Some(wake)
            }
            None => None,
        };
        let ferritin = check_f64(
            "ferritin_ng_ml",
            raw.ferritin_ng_ml,
            FERRITIN_NG_ML,
            "ng/mL",
        )?;
        let tsat = check_f64("tsat_percent", raw.tsat_percent, TSAT_PERCENT, "%")?;
        let dietary = check_f64(
            "dietary_magnesium_mg",
            raw.dietary_magnesium_mg,
            DIETARY_MG,
            "mg/day",
        )?;
        let known: Vec<&str> = data.rules.condition.iter().map(|c| c.id.as_str()).collect();
        for (i, c) in raw.conditions.iter().enumerate() {
            if raw.conditions[..i].contains(c) {
                return Err(field_error(
                    format!("conditions[{i}]"),
                    format!("'{c}' is listed twice: list each condition once"),
                ));
            }
            if !known.contains(&c.as_str()) {
                return Err(field_error(
                    format!("conditions[{i}]"),
                    format!("'{c}' is not known: allowed {}", known.join(", ")),
                ));
            }
        }
        let kidney = match raw.kidney {
            None => Kidney::default(),
            Some(k) => {
                let egfr = check_f64("kidney.egfr", k.egfr, EGFR, "mL/min/1.73 m²")?;
                let ckd_stage = match k.ckd_stage {
                    Some(s) if !CKD_STAGE.contains(&s) => {
                        return Err(field_error(
                            "kidney.ckd_stage",
                            format!("{s} is out of range: allowed 0 to 5"),
                        ))
                    }
                    Some(s) => Some(s as u8),
                    None => None,
                };
                Kidney {
                    egfr,
                    ckd_stage,
                    dialysis: k.dialysis.unwrap_or(false),
                }
            }
        };
        let mut medications = Vec::with_capacity(raw.medications.len());
        for (i, m) in raw.medications.into_iter().enumerate() {
            let name = check_name(format!("medications[{i}].name"), &m.name)?;
            let times = m
                .times
                .iter()
                .enumerate()
                .map(|(j, t)| parse_time(format!("medications[{i}].times[{j}]"), t))
                .collect::<Result<Vec<_>, _>>()?;
            medications.push(Medication { name, times });
        }
        let catalogue = crate::forms::FormCatalogue::new(data);
        let mut supplements = Vec::with_capacity(raw.supplements.len());
        for (i, s) in raw.supplements.into_iter().enumerate() {
            let field = format!("supplements[{i}].elemental_mg");
            let mg = check_f64(&field, Some(s.elemental_mg), SUPPLEMENT_MG, "mg")?.unwrap_or(0.0);
            if mg <= 0.0 {
                return Err(field_error(field, "must be more than 0 mg"));
            }
            let name = check_name(format!("supplements[{i}].name"), &s.name)?;
            let lower = name.to_lowercase();
            let says_magnesium = lower.contains("magnesium") || lower.contains("magnesia");
            if !says_magnesium {
                let other = OTHER_MINERALS.iter().find(|m| lower.contains(*m));
                return Err(field_error(
                    format!("supplements[{i}].name"),
                    match other {
                        Some(m) => format!(
                            "'{name}' is a {m} product, not magnesium: list only \
                             magnesium-containing products, with \"magnesium\" in the name \
                             (other supplements belong under [[medications]])"
                        ),
                        None => format!(
                            "'{name}' does not say magnesium: list only magnesium-containing \
                             products, with \"magnesium\" in the name (for example \
                             \"magnesium {}\")",
                            catalogue.families().first().copied().unwrap_or("citrate")
                        ),
                    },
                ));
            }
            let family = catalogue.family_in_text(&name);
            let times = s
                .times
                .iter()
                .enumerate()
                .map(|(j, t)| parse_time(format!("supplements[{i}].times[{j}]"), t))
                .collect::<Result<Vec<_>, _>>()?;
            supplements.push(CurrentSupplement {
                name,
                family,
                elemental_mg: mg,
                times,
            });
        }
        Ok(Self {
            age: raw.age as u32,
            sex: raw.sex,
            pregnant,
            lactating,
            bedtime,
            wake,
            gi_tolerance: raw.gi_tolerance,
            ferritin_ng_ml: ferritin,
            tsat_percent: tsat,
            conditions: raw.conditions,
            dietary_magnesium_mg: dietary,
            kidney,
            medications,
            supplements,
        })
    }

    /// Elemental magnesium from the supplements the person already takes, per day.
    pub fn current_supplement_mg(&self) -> f64 {
        self.supplements.iter().map(|s| s.elemental_mg).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const EXAMPLE: &str = include_str!("../../../examples/profile.toml");

    fn parse(text: &str) -> Result<Profile, ProfileError> {
        Profile::from_toml(text, &ReferenceData::shipped().unwrap())
    }

    fn minimal(extra: &str) -> String {
        format!("age = 60\nsex = \"male\"\nbedtime = \"22:30\"\ngi_tolerance = \"normal\"\n{extra}")
    }

    #[test]
    fn example_profile_parses() {
        let p = parse(EXAMPLE).unwrap();
        assert_eq!(p.age, 52);
        assert_eq!(p.bedtime.to_string(), "22:30");
        assert_eq!(p.medications[0].times[0].to_string(), "07:30");
        assert_eq!(p.wake.map(|w| w.to_string()).as_deref(), Some("06:30"));
        assert_eq!(p.supplements[0].family.as_deref(), Some("glycinate"));
        assert_eq!(p.current_supplement_mg(), 100.0);
    }

    #[test]
    fn bad_input_names_the_field_and_the_allowed_values() {
        let cases = [
            (minimal("colour = 1"), "unknown field `colour`"),
            (
                "sex = \"male\"\nbedtime = \"22:30\"\ngi_tolerance = \"normal\"".to_string(),
                "missing field `age`",
            ),
            (
                minimal("").replace("age = 60", "age = 0"),
                "age: 0 is out of range: allowed 1 to 120",
            ),
            (
                minimal("").replace("age = 60", "age = 130"),
                "age: 130 is out of range",
            ),
            (
                minimal("").replace("22:30", "25:00"),
                "bedtime: '25:00' is not a time of day",
            ),
            (
                minimal("").replace("\"male\"", "\"other\""),
                "unknown variant `other`",
            ),
            (
                minimal("").replace("\"normal\"", "\"delicate\""),
                "expected one of `normal`, `sensitive`, `constipation-prone`",
            ),
            (
                minimal("ferritin_ng_ml = -3"),
                "ferritin_ng_ml: -3 is out of range: allowed 0 to 10000 ng/mL",
            ),
            (
                minimal("tsat_percent = 140"),
                "tsat_percent: 140 is out of range: allowed 0 to 100 %",
            ),
            (
                minimal("[kidney]\negfr = 400"),
                "kidney.egfr: 400 is out of range",
            ),
            (
                minimal("[kidney]\nckd_stage = 6"),
                "kidney.ckd_stage: 6 is out of range: allowed 0 to 5",
            ),
            (
                minimal("conditions = [\"gout\"]"),
                "conditions[0]: 'gout' is not known: allowed heart-block",
            ),
            (
                minimal("[[medications]]\nname = \"lasix\"\ntimes = [\"8am\"]"),
                "medications[0].times[0]: '8am' is not a time of day",
            ),
            (
                minimal("[[medications]]\nname = \"  \""),
                "medications[0].name: must not be empty",
            ),
            (
                minimal("[[supplements]]\nname = \"magnesium\"\nelemental_mg = 0"),
                "supplements[0].elemental_mg: must be more than 0 mg",
            ),
            (
                minimal("[[supplements]]\nname = \"vitamin C\"\nelemental_mg = 100"),
                "supplements[0].name: 'vitamin C' does not say magnesium",
            ),
            (
                minimal("[[supplements]]\nname = \"calcium carbonate\"\nelemental_mg = 500"),
                "supplements[0].name: 'calcium carbonate' is a calcium product, not magnesium",
            ),
            (
                minimal("[[supplements]]\nname = \"zinc citrate\"\nelemental_mg = 25"),
                "supplements[0].name: 'zinc citrate' is a zinc product",
            ),
            (
                minimal("[[supplements]]\nname = \"ferrous bisglycinate\"\nelemental_mg = 25"),
                "supplements[0].name: 'ferrous bisglycinate' is a ferrous product",
            ),
            (
                minimal("[[supplements]]\nname = \"glycinate\"\nelemental_mg = 100"),
                "supplements[0].name: 'glycinate' does not say magnesium",
            ),
            (
                minimal("[[supplements]]\nname = \"magnesium\"\nelemental_mg = 100\ntimes = [\"9pm\"]"),
                "supplements[0].times[0]: '9pm' is not a time of day",
            ),
            (minimal("[[kidney]]\negfr = 50"), "kidney: write one [kidney] table"),
            (minimal("wake = \"22:15\""), "wake: 22:15 is 23h45 after bedtime 22:30: allowed 2 to 16 hours"),
            (minimal("conditions = [\"hypertension\", \"hypertension\"]"), "conditions[1]: 'hypertension' is listed twice"),
            (minimal("\"e\\u001b[31m\" = 1"), "unknown field `e\\u{1b}[31m`"),
            (minimal("").replace("22:30", "2\\u001b[31m2:30"), "bedtime: '2\\u{1b}[31m2:30' is not a time of day"),
            (
                minimal("[kidney]\negfr = \"fifty\""),
                "kidney.egfr: line 6, column 8: invalid type: string \"fifty\", expected a number",
            ),
            (minimal("[kidney]\ndialysis = 1"), "kidney.dialysis: line 6, column 12: invalid type: integer"),
            (minimal("medications = \"lasix\""), "medications: line 5, column 15: invalid type: string"),
            (minimal("wake = \"22:30\""), "wake: must differ from bedtime"),
            (minimal("wake = \"7\""), "wake: '7' is not a time of day"),
            (
                minimal(&format!("[[medications]]\nname = \"{}\"", "x".repeat(121))),
                "medications[0].name: is 121 characters long: allowed at most 120",
            ),
            (
                minimal("[[medications]]\nname = \"lasix\\u001b[31m\""),
                "medications[0].name: contains control characters ('lasix\\u{1b}[31m')",
            ),
            (
                "age = 8\nsex = \"female\"\npregnant = true\nbedtime = \"22:30\"\ngi_tolerance = \"normal\"".to_string(),
                "pregnant: true is not plausible at age 8: allowed only at ages 10-60",
            ),
            (
                "age = 75\nsex = \"female\"\nlactating = true\nbedtime = \"22:30\"\ngi_tolerance = \"normal\"".to_string(),
                "lactating: true is not plausible at age 75",
            ),
            (
                minimal("pregnant = true"),
                "pregnant: true is only allowed with sex = \"female\"",
            ),
            (
                "age = 30\nsex = \"female\"\nbedtime = \"22:30\"\ngi_tolerance = \"normal\""
                    .to_string(),
                "pregnant: required for sex = \"female\" aged 14-50",
            ),
        ];
        for (text, expected) in cases {
            let err = parse(&text).unwrap_err().to_string();
            assert!(err.contains(expected), "expected {expected:?} in {err:?}");
            assert!(!err.contains('\u{1b}'), "raw escape in {err:?}");
        }
    }

    #[test]
    fn optional_fields_default_to_unknown_not_to_a_value() {
        let p = parse(&minimal("")).unwrap();
        assert_eq!(p.ferritin_ng_ml, None);
        assert_eq!(p.dietary_magnesium_mg, None);
        assert_eq!(p.kidney, Kidney::default());
        assert!(p.medications.is_empty());
    }

    proptest! {
        #[test]
        fn profile_parser_never_panics(text in "\\PC{0,200}") {
            let _ = parse(&text);
        }

        #[test]
        fn any_valid_age_and_bedtime_parse(age in 1i64..=120, h in 0u32..24, m in 0u32..60) {
            let text = format!("age = {age}\nsex = \"male\"\nbedtime = \"{h:02}:{m:02}\"\ngi_tolerance = \"normal\"");
            let p = parse(&text).unwrap();
            prop_assert_eq!(p.age as i64, age);
        }
    }
}
