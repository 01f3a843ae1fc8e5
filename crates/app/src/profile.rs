//! The person's stored profile: the TOML document of `docs/profile.md` that `plan --profile FILE`
//! reads, kept in the store per person. Whatever surface writes it (a file, a web form, the JSON
//! API), it is checked by the one parser and validator (`info::profile`, `Profile::from_toml`)
//! before it is stored, and parsed again by it whenever it is used.

use quietlegs_core::profile::ProfileError;
use quietlegs_core::{Plan, Profile};
use quietlegs_store::{PersonId, Store, StoredProfile};
use serde::{Deserialize, Serialize};

use crate::{AppError, Context};

/// The fields of the profile document, as errors name them (a list entry's error names its list:
/// `medications[1].times[0]` is `medications`).
const PROFILE_FIELDS: &[&str] = &[
    "age",
    "sex",
    "pregnant",
    "lactating",
    "bedtime",
    "wake",
    "gi_tolerance",
    "ferritin_ng_ml",
    "tsat_percent",
    "conditions",
    "dietary_magnesium_mg",
    "kidney.egfr",
    "kidney.ckd_stage",
    "kidney.dialysis",
    "kidney",
    "medications",
    "supplements",
];

/// The document field a profile error path is about.
pub fn document_field(path: &str) -> Option<&'static str> {
    PROFILE_FIELDS
        .iter()
        .copied()
        .find(|f| *f == path)
        .or_else(|| {
            PROFILE_FIELDS
                .iter()
                .copied()
                .find(|f| path.starts_with(&format!("{f}[")) || path.starts_with(&format!("{f}.")))
        })
}

/// Parses and validates a profile document with the one profile parser; a refused value is bad
/// input naming its field.
pub fn parse(ctx: &Context<'_>, toml: &str) -> Result<Profile, AppError> {
    Profile::from_toml(toml, ctx.reference).map_err(|e| {
        let field = match &e {
            ProfileError::Field { field, .. } => document_field(field),
            ProfileError::Syntax(_) => None,
        };
        AppError::invalid(field, &e)
    })
}

/// The profile document as structured data (the JSON API's body; the web form builds one). Its
/// keys are the TOML keys of `docs/profile.md`; values are checked by [`parse`], not here.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ProfileDocument {
    /// Whole years, 1-120.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub age: Option<i64>,
    /// "female" or "male".
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sex: Option<String>,
    /// Required for women aged 14-50.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pregnant: Option<bool>,
    /// Required for women aged 14-50.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lactating: Option<bool>,
    /// "HH:MM", 24-hour clock.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bedtime: Option<String>,
    /// "HH:MM", optional usual wake time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wake: Option<String>,
    /// "normal", "sensitive" or "constipation-prone".
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gi_tolerance: Option<String>,
    /// ng/mL, 0-10000.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ferritin_ng_ml: Option<f64>,
    /// Transferrin saturation, 0-100 %.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tsat_percent: Option<f64>,
    /// Condition ids (docs/profile.md).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<String>,
    /// A typical day's magnesium from food, mg (0-3000).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dietary_magnesium_mg: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kidney: Option<KidneyDocument>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub medications: Vec<MedicationDocument>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub supplements: Vec<SupplementDocument>,
}

/// Kidney function (`[kidney]`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct KidneyDocument {
    /// mL/min/1.73 m², 0-200.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub egfr: Option<f64>,
    /// 0-5.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ckd_stage: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dialysis: Option<bool>,
}

/// A medicine (`[[medications]]`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct MedicationDocument {
    /// Generic, brand, salt or product name, with the amount for antacids and laxatives.
    pub name: String,
    /// Dose times, "HH:MM".
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub times: Vec<String>,
}

/// A magnesium product already taken (`[[supplements]]`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SupplementDocument {
    /// Must say "magnesium".
    pub name: String,
    /// Elemental mg a day.
    pub elemental_mg: f64,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub times: Vec<String>,
}

impl ProfileDocument {
    /// The TOML text of this document (what the store keeps). A required key that is missing is
    /// refused here, naming it.
    pub fn to_toml(&self) -> Result<String, AppError> {
        for (field, missing, allowed) in [
            ("age", self.age.is_none(), "whole years, 1 to 120"),
            ("sex", self.sex.is_none(), "female or male"),
            ("bedtime", self.bedtime.is_none(), "HH:MM"),
            (
                "gi_tolerance",
                self.gi_tolerance.is_none(),
                "normal, sensitive or constipation-prone",
            ),
        ] {
            if missing {
                return Err(AppError::field(field, format!("required: {allowed}")));
            }
        }
        toml::to_string(self)
            .map_err(|e| AppError::internal(format!("writing the profile document: {e}")))
    }

    /// The document of a validated profile (every value the plan reads).
    pub fn of(profile: &Profile) -> Self {
        let times = |t: &[quietlegs_core::ClockTime]| t.iter().map(ToString::to_string).collect();
        let k = &profile.kidney;
        Self {
            age: Some(i64::from(profile.age)),
            sex: Some(
                match profile.sex {
                    quietlegs_core::profile::Sex::Female => "female",
                    quietlegs_core::profile::Sex::Male => "male",
                }
                .into(),
            ),
            pregnant: Some(profile.pregnant),
            lactating: Some(profile.lactating),
            bedtime: Some(profile.bedtime.to_string()),
            wake: profile.wake.map(|w| w.to_string()),
            gi_tolerance: Some(profile.gi_tolerance.as_str().into()),
            ferritin_ng_ml: profile.ferritin_ng_ml,
            tsat_percent: profile.tsat_percent,
            conditions: profile.conditions.clone(),
            dietary_magnesium_mg: profile.dietary_magnesium_mg,
            kidney: (k.egfr.is_some() || k.ckd_stage.is_some() || k.dialysis).then(|| {
                KidneyDocument {
                    egfr: k.egfr,
                    ckd_stage: k.ckd_stage.map(i64::from),
                    dialysis: Some(k.dialysis),
                }
            }),
            medications: profile
                .medications
                .iter()
                .map(|m| MedicationDocument {
                    name: m.name.clone(),
                    times: times(&m.times),
                })
                .collect(),
            supplements: profile
                .supplements
                .iter()
                .map(|s| SupplementDocument {
                    name: s.name.clone(),
                    elemental_mg: s.elemental_mg,
                    times: times(&s.times),
                })
                .collect(),
        }
    }
}

/// The stored profile, parsed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PersonProfile {
    /// The TOML document as stored.
    pub document: String,
    pub profile: Profile,
    pub updated_at: String,
}

/// The person's stored profile, parsed by the one parser (`None` before the first one). A
/// stored document that no longer parses (a newer rule refuses it) is bad input naming the
/// field, so the person can correct it.
pub fn stored<S: Store>(
    store: &S,
    person: PersonId,
    ctx: &Context<'_>,
) -> Result<Option<PersonProfile>, AppError> {
    let Some(s) = store
        .profile(person)
        .map_err(AppError::store("reading the profile"))?
    else {
        return Ok(None);
    };
    let profile = parse(ctx, &s.document).map_err(|e| e.context("the stored profile"))?;
    Ok(Some(PersonProfile {
        document: s.document,
        profile,
        updated_at: s.updated_at,
    }))
}

/// Validates a profile document (TOML text, as a file holds it) and stores it, replacing the
/// person's earlier one. Nothing is stored on a refusal.
pub fn save_toml<S: Store>(
    store: &S,
    person: PersonId,
    ctx: &Context<'_>,
    toml: &str,
) -> Result<PersonProfile, AppError> {
    let profile = parse(ctx, toml)?;
    let stored = StoredProfile {
        document: toml.to_string(),
        updated_at: ctx.now.instant.clone(),
    };
    store
        .set_profile(person, &stored)
        .map_err(AppError::store("storing the profile"))?;
    Ok(PersonProfile {
        document: stored.document,
        profile,
        updated_at: stored.updated_at,
    })
}

/// Validates a structured profile document and stores it (see [`save_toml`]).
pub fn save<S: Store>(
    store: &S,
    person: PersonId,
    ctx: &Context<'_>,
    document: &ProfileDocument,
) -> Result<PersonProfile, AppError> {
    save_toml(store, person, ctx, &document.to_toml()?)
}

/// The plan for the person's stored profile (`None` before there is one).
pub fn stored_plan<S: Store>(
    store: &S,
    person: PersonId,
    ctx: &Context<'_>,
) -> Result<Option<(PersonProfile, Plan)>, AppError> {
    match stored(store, person, ctx)? {
        None => Ok(None),
        Some(p) => {
            let plan = crate::info::plan(ctx, Some(store), &p.profile)?;
            Ok(Some((p, plan)))
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The profile as typed into a form

/// A profile form's values as typed (text: a wrong value is shown back, not lost). Empty text is
/// "not given".
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct ProfileForm {
    pub age: Option<String>,
    pub sex: Option<String>,
    pub pregnant: Option<String>,
    pub lactating: Option<String>,
    pub bedtime: Option<String>,
    pub wake: Option<String>,
    pub gi_tolerance: Option<String>,
    pub ferritin_ng_ml: Option<String>,
    pub tsat_percent: Option<String>,
    /// Condition ids, one per checked box.
    #[serde(default)]
    pub conditions: Vec<String>,
    pub dietary_magnesium_mg: Option<String>,
    pub egfr: Option<String>,
    pub ckd_stage: Option<String>,
    pub dialysis: Option<String>,
    /// One medicine a line, with its times after " at ": "omeprazole 20 mg at 07:30".
    pub medications: Option<String>,
    /// One magnesium product a line: "magnesium glycinate 100 mg at 08:00" (elemental mg a day).
    pub supplements: Option<String>,
}

fn given(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

fn number(field: &'static str, v: &Option<String>, allowed: &str) -> Result<Option<f64>, AppError> {
    given(v)
        .map(|t| {
            t.replace(',', ".")
                .parse::<f64>()
                .ok()
                .filter(|n| n.is_finite())
                .ok_or_else(|| AppError::field(field, format!("'{t}' is not a number: {allowed}")))
        })
        .transpose()
}

fn whole(field: &'static str, v: &Option<String>, allowed: &str) -> Result<Option<i64>, AppError> {
    given(v)
        .map(|t| {
            t.parse::<i64>().map_err(|_| {
                AppError::field(field, format!("'{t}' is not a whole number: {allowed}"))
            })
        })
        .transpose()
}

/// A checkbox: present means true.
fn checked(v: &Option<String>) -> bool {
    given(v).is_some()
}

/// "NAME at HH:MM, HH:MM" into the name and its times (a line without " at " has no times).
fn name_and_times(line: &str) -> (String, Vec<String>) {
    match line.rsplit_once(" at ") {
        Some((name, times))
            if times
                .split(',')
                .all(|t| t.trim().len() == 5 && t.trim().contains(':')) =>
        {
            (
                name.trim().to_string(),
                times.split(',').map(|t| t.trim().to_string()).collect(),
            )
        }
        _ => (line.trim().to_string(), Vec::new()),
    }
}

impl ProfileForm {
    /// The document these values describe; a value that is not even a number is refused here,
    /// naming its field (ranges are checked by [`parse`] when the document is saved).
    pub fn document(&self) -> Result<ProfileDocument, AppError> {
        let female = given(&self.sex) == Some("female");
        let kidney = KidneyDocument {
            egfr: number("kidney.egfr", &self.egfr, "allowed 0 to 200 mL/min/1.73 m²")?,
            ckd_stage: whole("kidney.ckd_stage", &self.ckd_stage, "allowed 0 to 5")?,
            dialysis: checked(&self.dialysis).then_some(true),
        };
        let mut supplements = Vec::new();
        for line in given(&self.supplements).unwrap_or("").lines() {
            if line.trim().is_empty() {
                continue;
            }
            let (name, times) = name_and_times(line);
            // "magnesium glycinate 100 mg": the amount is the number before "mg" at the end.
            let words: Vec<&str> = name.split_whitespace().collect();
            let (amount, rest) = match words.as_slice() {
                [rest @ .., n, "mg"] => (n.parse::<f64>().ok(), rest.join(" ")),
                [rest @ .., n] => (
                    n.strip_suffix("mg").and_then(|n| n.parse::<f64>().ok()),
                    rest.join(" "),
                ),
                [] => (None, String::new()),
            };
            // "2 x 200 mg", "2 capsules ... 150 mg": a count the amount must be multiplied
            // by is never guessed; the person writes the day's total.
            let counted_elsewhere = rest.split_whitespace().any(|w| {
                w.chars().any(|c| c.is_ascii_digit()) || w.eq_ignore_ascii_case("x") || w == "×"
            });
            if amount.is_some() && counted_elsewhere {
                return Err(AppError::field(
                    "supplements",
                    format!(
                        "'{}': write the total elemental magnesium a day as the only number,                          e.g. \"magnesium glycinate 400 mg\" for 2 × 200 mg (other numbers,                          counts and 'x' are not read, so the total could be wrong)",
                        line.trim()
                    ),
                ));
            }
            let Some(elemental_mg) = amount else {
                return Err(AppError::field(
                    "supplements",
                    format!(
                        "'{}': end each line with the elemental magnesium a day, e.g. \
                         \"magnesium glycinate 100 mg at 08:00\"",
                        line.trim()
                    ),
                ));
            };
            supplements.push(SupplementDocument {
                name: rest,
                elemental_mg,
                times,
            });
        }
        Ok(ProfileDocument {
            age: whole("age", &self.age, "whole years, 1 to 120")?,
            sex: given(&self.sex).map(str::to_string),
            // Written for women (the parser requires them at 14-50); a box ticked with another
            // sex is passed on, so the parser refuses it rather than it being dropped.
            pregnant: (female || checked(&self.pregnant)).then(|| checked(&self.pregnant)),
            lactating: (female || checked(&self.lactating)).then(|| checked(&self.lactating)),
            bedtime: given(&self.bedtime).map(str::to_string),
            wake: given(&self.wake).map(str::to_string),
            gi_tolerance: given(&self.gi_tolerance).map(str::to_string),
            ferritin_ng_ml: number("ferritin_ng_ml", &self.ferritin_ng_ml, "allowed 0 to 10000")?,
            tsat_percent: number("tsat_percent", &self.tsat_percent, "allowed 0 to 100")?,
            conditions: self.conditions.clone(),
            dietary_magnesium_mg: number(
                "dietary_magnesium_mg",
                &self.dietary_magnesium_mg,
                "allowed 0 to 3000 mg a day",
            )?,
            kidney: (kidney != KidneyDocument::default()).then_some(kidney),
            medications: given(&self.medications)
                .unwrap_or("")
                .lines()
                .filter(|l| !l.trim().is_empty())
                .map(|l| {
                    let (name, times) = name_and_times(l);
                    MedicationDocument { name, times }
                })
                .collect(),
            supplements,
        })
    }

    /// The form filled from a stored profile.
    pub fn of(profile: &Profile) -> Self {
        let d = ProfileDocument::of(profile);
        let text = |v: Option<f64>| v.map(|v| v.to_string());
        let line = |name: &str, times: &[String]| {
            if times.is_empty() {
                name.to_string()
            } else {
                format!("{name} at {}", times.join(", "))
            }
        };
        let k = d.kidney.clone().unwrap_or_default();
        Self {
            age: d.age.map(|a| a.to_string()),
            sex: d.sex.clone(),
            pregnant: profile.pregnant.then(|| "1".into()),
            lactating: profile.lactating.then(|| "1".into()),
            bedtime: d.bedtime.clone(),
            wake: d.wake.clone(),
            gi_tolerance: d.gi_tolerance.clone(),
            ferritin_ng_ml: text(d.ferritin_ng_ml),
            tsat_percent: text(d.tsat_percent),
            conditions: d.conditions.clone(),
            dietary_magnesium_mg: text(d.dietary_magnesium_mg),
            egfr: text(k.egfr),
            ckd_stage: k.ckd_stage.map(|s| s.to_string()),
            dialysis: k.dialysis.filter(|d| *d).map(|_| "1".into()),
            medications: Some(
                d.medications
                    .iter()
                    .map(|m| line(&m.name, &m.times))
                    .collect::<Vec<_>>()
                    .join("\n"),
            ),
            supplements: Some(
                d.supplements
                    .iter()
                    .map(|s| line(&format!("{} {} mg", s.name, s.elemental_mg), &s.times))
                    .collect::<Vec<_>>()
                    .join("\n"),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{FoodCatalog, Now};
    use quietlegs_core::ReferenceData;
    use quietlegs_store::{Identity, SqliteStore};

    fn form() -> ProfileForm {
        ProfileForm {
            age: Some("52".into()),
            sex: Some("female".into()),
            bedtime: Some("22:30".into()),
            gi_tolerance: Some("normal".into()),
            egfr: Some("85".into()),
            medications: Some("omeprazole 20 mg at 07:30\nTylenol PM\n".into()),
            supplements: Some("magnesium glycinate 100 mg at 08:00, 20:00".into()),
            conditions: vec!["hypertension".into()],
            ..ProfileForm::default()
        }
    }

    #[test]
    fn a_form_becomes_the_document_the_cli_reads_and_round_trips() {
        let data = ReferenceData::shipped().unwrap();
        let now = Now::read();
        let ctx = Context {
            now: &now,
            reference: &data,
            foods: &FoodCatalog::new(),
        };
        let doc = form().document().unwrap();
        // A woman of 52 is outside 14-50: pregnant/lactating are written false (unchecked).
        assert_eq!((doc.pregnant, doc.lactating), (Some(false), Some(false)));
        assert_eq!(
            doc.medications,
            [
                MedicationDocument {
                    name: "omeprazole 20 mg".into(),
                    times: vec!["07:30".into()]
                },
                MedicationDocument {
                    name: "Tylenol PM".into(),
                    times: vec![]
                }
            ]
        );
        assert_eq!(doc.supplements[0].name, "magnesium glycinate");
        assert_eq!(doc.supplements[0].elemental_mg, 100.0);
        assert_eq!(doc.supplements[0].times, ["08:00", "20:00"]);
        let toml = doc.to_toml().unwrap();
        let profile = parse(&ctx, &toml).unwrap();
        assert_eq!(profile.age, 52);
        assert_eq!(profile.kidney.egfr, Some(85.0));
        assert_eq!(profile.conditions, ["hypertension"]);
        // The form filled from the profile gives the same document back.
        assert_eq!(ProfileForm::of(&profile).document().unwrap(), doc);
        // Stored, read back, planned.
        let store = SqliteStore::in_memory().unwrap();
        let me = store.person(&Identity::local("me"), "x").unwrap();
        assert_eq!(stored(&store, me, &ctx).unwrap(), None);
        save(&store, me, &ctx, &doc).unwrap();
        let (p, plan) = stored_plan(&store, me, &ctx).unwrap().unwrap();
        assert_eq!(p.profile, profile);
        // Female 51+: RDA 320 mg (NIH ODS table).
        assert_eq!(plan.rda_mg, Some(320));
    }

    #[test]
    fn refusals_name_the_field_and_store_nothing() {
        let data = ReferenceData::shipped().unwrap();
        let now = Now::read();
        let ctx = Context {
            now: &now,
            reference: &data,
            foods: &FoodCatalog::new(),
        };
        let store = SqliteStore::in_memory().unwrap();
        let me = store.person(&Identity::local("me"), "x").unwrap();
        type Change = fn(&mut ProfileForm);
        let cases: [(Change, &str); 10] = [
            // A count beside the amount is not multiplied (2 x 200 mg is 400, not 200).
            (
                |f| f.supplements = Some("magnesium glycinate 2 x 200 mg at 08:00".into()),
                "supplements",
            ),
            (
                |f| f.supplements = Some("2 capsules magnesium citrate 150 mg".into()),
                "supplements",
            ),
            (
                |f| f.supplements = Some("magnesium glycinate 2×200 mg".into()),
                "supplements",
            ),
            (|f| f.age = Some("fifty".into()), "age"),
            (|f| f.age = Some("0".into()), "age"),
            (|f| f.egfr = Some("900".into()), "kidney.egfr"),
            (|f| f.bedtime = Some("25:00".into()), "bedtime"),
            (|f| f.sex = None, "sex"),
            (|f| f.medications = Some("\u{7}".into()), "medications"),
            (
                |f| {
                    f.sex = Some("male".into());
                    f.pregnant = Some("1".into());
                },
                "pregnant",
            ),
        ];
        for (change, field) in cases {
            let mut f = form();
            change(&mut f);
            let e = f
                .document()
                .and_then(|d| save(&store, me, &ctx, &d))
                .unwrap_err();
            assert_eq!(e.field, Some(field), "{e}");
        }
        assert_eq!(store.profile(me).unwrap(), None);
        assert_eq!(
            document_field("medications[1].times[0]"),
            Some("medications")
        );
        assert_eq!(document_field("kidney.egfr"), Some("kidney.egfr"));
    }
}
