//! The FHIR R4 export (`quietlegs export --format fhir`, docs/fhir.md): a `Bundle` of type
//! `collection` with the person's data as standard resources.
//!
//! [`bundle`] is pure and deterministic: the same [`FhirInput`] gives the same JSON, and every
//! resource's `id`, `fullUrl` and `identifier` come from the person's key and the record's
//! stable key (kind and id in the diary), so a second export updates a receiving system's
//! resources instead of adding copies. [`export`] gathers the input from the store and applies
//! the blinding gate: a blinded trial's result is handed over only after unblinding.
//!
//! Never exported: the IRLS item wording (copyrighted; items are linked by `linkId` only), a
//! name (none is stored), a birth date (the profile holds an age, and a year from it would be a
//! guess), codes guessed for medicines (they go as typed text), a blinded trial's arms.

use jiff::civil::Date;
use quietlegs_core::diary::{Record, StoredRecord};
use quietlegs_core::profile::{Profile, Sex};
use quietlegs_core::trial::design::Outcome;
use quietlegs_store::{Store, TrialStore};
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

use crate::diary::Diary;
use crate::{AppError, Context};

/// The local code system of quietlegs' own codes (docs/fhir.md lists every code).
pub const CODE_SYSTEM: &str = "https://quietlegs.invalid/fhir/CodeSystem/quietlegs";
/// The system of every resource's `identifier` (its value is the resource's UUID).
pub const IDENTIFIER_SYSTEM: &str = "https://quietlegs.invalid/fhir/identifier";
/// The canonical URL the IRLS responses name as their questionnaire (no wording is shipped).
pub const IRLS_QUESTIONNAIRE: &str = "https://quietlegs.invalid/fhir/Questionnaire/irls";
pub const SNOMED: &str = "http://snomed.info/sct";
/// SNOMED CT 32914008 |Restless legs syndrome (disorder)|.
pub const RLS_SNOMED_CODE: &str = "32914008";
pub const UCUM: &str = "http://unitsofmeasure.org";
const OBSERVATION_CATEGORY: &str = "http://terminology.hl7.org/CodeSystem/observation-category";
const CONDITION_CLINICAL: &str = "http://terminology.hl7.org/CodeSystem/condition-clinical";

/// The result of an analysed trial whose arms may be shown (open, or unblinded).
#[derive(Debug, Clone, PartialEq)]
pub struct TrialResult {
    /// The trial's id in the store (its stable key).
    pub id: i64,
    pub name: String,
    pub outcome: Outcome,
    pub treatment: String,
    pub control: String,
    /// Posterior mean of treatment minus control (primary model).
    pub effect: f64,
    /// Its 95 % credible interval.
    pub ci95: [f64; 2],
    pub first_night: Date,
    pub last_night: Date,
    pub complete: bool,
    pub verdict: String,
}

/// Everything the bundle is built from.
#[derive(Debug, Clone, Copy)]
pub struct FhirInput<'a> {
    /// Stable and unique per person (identity and creation moment in the database).
    pub person_key: &'a str,
    /// The moment of the export (the bundle's `timestamp`), RFC 3339.
    pub timestamp: &'a str,
    pub profile: Option<&'a Profile>,
    pub records: &'a [StoredRecord],
    /// Only trials whose arms may be shown.
    pub trials: &'a [TrialResult],
}

/// A name-based UUID (RFC 9562 version 8: SHA-256 of the person's key and the resource's key,
/// truncated to 128 bits, with the version and variant bits set).
pub fn resource_uuid(person_key: &str, resource_key: &str) -> String {
    let mut h = Sha256::new();
    h.update(b"quietlegs-fhir\0");
    h.update(person_key.as_bytes());
    h.update(b"\0");
    h.update(resource_key.as_bytes());
    let d = h.finalize();
    let mut b = [0u8; 16];
    b.copy_from_slice(&d[..16]);
    b[6] = (b[6] & 0x0f) | 0x80;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// One decimal place: intake sums of foods (37.44 + 12.3 …) without binary round-off digits.
fn tenth(v: f64) -> f64 {
    (v * 10.0).round() / 10.0 + 0.0
}

fn local_code(code: &str, display: &str) -> Value {
    json!({"coding": [{"system": CODE_SYSTEM, "code": code, "display": display}], "text": display})
}

fn quantity(value: f64, ucum: &str) -> Value {
    json!({"value": value, "unit": ucum, "system": UCUM, "code": ucum})
}

fn score(value: f64) -> Value {
    quantity(value, "{score}")
}

fn survey() -> Value {
    json!([{"coding": [{"system": OBSERVATION_CATEGORY, "code": "survey", "display": "Survey"}]}])
}

struct Builder<'a> {
    person_key: &'a str,
    patient_ref: String,
    entries: Vec<Value>,
}

impl Builder<'_> {
    fn urn(&self, key: &str) -> String {
        format!("urn:uuid:{}", resource_uuid(self.person_key, key))
    }

    /// Adds `resource` under `key`: its id, identifier and fullUrl come from the key.
    fn add(&mut self, key: &str, mut resource: Map<String, Value>) -> String {
        let uuid = resource_uuid(self.person_key, key);
        let mut out = Map::new();
        if let Some(t) = resource.remove("resourceType") {
            out.insert("resourceType".into(), t);
        }
        out.insert("id".into(), json!(uuid));
        out.insert(
            "identifier".into(),
            json!([{"system": IDENTIFIER_SYSTEM, "value": uuid}]),
        );
        out.extend(resource);
        let full_url = format!("urn:uuid:{uuid}");
        self.entries
            .push(json!({"fullUrl": full_url, "resource": Value::Object(out)}));
        full_url
    }

    fn subject(&self) -> Value {
        json!({"reference": self.patient_ref})
    }
}

fn object(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

/// The FHIR R4 Bundle (type `collection`) of `input` (docs/fhir.md).
pub fn bundle(input: &FhirInput<'_>) -> Value {
    let mut b = Builder {
        person_key: input.person_key,
        patient_ref: String::new(),
        entries: Vec::new(),
    };
    b.patient_ref = b.urn("patient");

    // The person: no name (none is stored); gender only from a stored profile.
    let mut patient = object(json!({"resourceType": "Patient"}));
    if let Some(p) = input.profile {
        let gender = match p.sex {
            Sex::Female => "female",
            Sex::Male => "male",
        };
        patient.insert("gender".into(), json!(gender));
    }
    b.add("patient", patient);

    b.add(
        "condition/rls",
        object(json!({
            "resourceType": "Condition",
            "clinicalStatus": {"coding": [{"system": CONDITION_CLINICAL, "code": "active", "display": "Active"}]},
            "code": {
                "coding": [{"system": SNOMED, "code": RLS_SNOMED_CODE, "display": "Restless legs syndrome"}],
                "text": "Restless legs syndrome"
            },
            "subject": b.subject(),
        })),
    );

    // The profile's medicines and magnesium products, as typed (no code is guessed).
    if let Some(p) = input.profile {
        for (i, m) in p.medications.iter().enumerate() {
            let mut st = object(json!({
                "resourceType": "MedicationStatement",
                "status": "active",
                "medicationCodeableConcept": {"text": m.name},
                "subject": b.subject(),
            }));
            if !m.times.is_empty() {
                st.insert("dosage".into(), json!([times_dosage(&m.times, None)]));
            }
            b.add(
                &format!("profile-medicine/{i}/{}", m.name.to_lowercase()),
                st,
            );
        }
        for (i, s) in p.supplements.iter().enumerate() {
            let st = object(json!({
                "resourceType": "MedicationStatement",
                "status": "active",
                "medicationCodeableConcept": {"text": s.name},
                "subject": b.subject(),
                "dosage": [times_dosage(&s.times, Some(s.elemental_mg))],
            }));
            b.add(
                &format!("profile-supplement/{i}/{}", s.name.to_lowercase()),
                st,
            );
        }
    }

    // Diary records, in the store's export order.
    let mut intake: std::collections::BTreeMap<Date, (f64, f64)> = Default::default();
    for r in input.records {
        match &r.record {
            Record::Night(n) => {
                b.add(
                    &format!("night-severity/{}", r.id),
                    object(json!({
                        "resourceType": "Observation",
                        "status": "final",
                        "category": survey(),
                        "code": local_code("night-severity", "RLS severity of the night (0-10)"),
                        "subject": b.subject(),
                        "effectiveDateTime": n.date.to_string(),
                        "valueQuantity": score(f64::from(n.severity)),
                    })),
                );
            }
            Record::Irls(i) => {
                let items: Vec<Value> = i
                    .items
                    .iter()
                    .enumerate()
                    .map(|(k, v)| {
                        json!({"linkId": (k + 1).to_string(), "answer": [{"valueInteger": v}]})
                    })
                    .collect();
                let response = b.add(
                    &format!("irls/{}", r.id),
                    object(json!({
                        "resourceType": "QuestionnaireResponse",
                        "questionnaire": IRLS_QUESTIONNAIRE,
                        "status": "completed",
                        "subject": b.subject(),
                        "authored": i.date.to_string(),
                        "item": items,
                    })),
                );
                b.add(
                    &format!("irls-total/{}", r.id),
                    object(json!({
                        "resourceType": "Observation",
                        "status": "final",
                        "category": survey(),
                        "code": local_code("irls-total", "IRLS total score (0-40)"),
                        "subject": b.subject(),
                        "effectiveDateTime": i.date.to_string(),
                        "valueQuantity": score(f64::from(i.total)),
                        "interpretation": [{"text": i.band.as_str()}],
                        "derivedFrom": [{"reference": response}],
                    })),
                );
            }
            Record::Dose(d) => {
                intake.entry(d.date).or_default().1 += d.elemental_mg;
                let product = match &d.form {
                    Some(f) => format!("{} ({f})", d.product),
                    None => d.product.clone(),
                };
                b.add(
                    &format!("dose/{}", r.id),
                    object(json!({
                        "resourceType": "MedicationStatement",
                        "status": "completed",
                        "medicationCodeableConcept": {"text": product},
                        "subject": b.subject(),
                        "effectiveDateTime": d.date.to_string(),
                        "dosage": [{
                            "text": format!("{} mg elemental magnesium at {}", d.elemental_mg, d.time),
                            "doseAndRate": [{"doseQuantity": quantity(d.elemental_mg, "mg")}]
                        }],
                    })),
                );
            }
            Record::Food(f) => {
                intake.entry(f.date).or_default().0 += f.magnesium_mg.unwrap_or(0.0);
            }
            Record::SideEffects(_) | Record::Factor(_) => {}
        }
    }

    for (date, (food, supplement)) in &intake {
        b.add(
            &format!("magnesium-intake/{date}"),
            object(json!({
                "resourceType": "Observation",
                "status": "final",
                "code": local_code("magnesium-intake-daily", "Magnesium intake of the day (foods and supplements, elemental)"),
                "subject": b.subject(),
                "effectiveDateTime": date.to_string(),
                "valueQuantity": quantity(tenth(food + supplement), "mg"),
                "component": [
                    {"code": local_code("magnesium-intake-food", "Magnesium from foods logged"),
                     "valueQuantity": quantity(tenth(*food), "mg")},
                    {"code": local_code("magnesium-intake-supplement", "Elemental magnesium from doses logged"),
                     "valueQuantity": quantity(tenth(*supplement), "mg")}
                ],
            })),
        );
    }

    for t in input.trials {
        let outcome = match t.outcome {
            Outcome::NightlySeverity => "nightly RLS severity (0-10)",
            Outcome::WeeklyIrls => "weekly IRLS total (0-40)",
        };
        b.add(
            &format!("trial-result/{}", t.id),
            object(json!({
                "resourceType": "Observation",
                "status": if t.complete { "final" } else { "preliminary" },
                "code": local_code("trial-effect", "n-of-1 trial: difference in the outcome, treatment minus comparator"),
                "subject": b.subject(),
                "effectivePeriod": {"start": t.first_night.to_string(), "end": t.last_night.to_string()},
                "valueQuantity": score(t.effect),
                "method": {"text": format!(
                    "n-of-1 trial '{}': {outcome}, {} minus {}; posterior mean of the pre-registered primary model (AR(1)) with its 95 % credible interval",
                    t.name, t.treatment, t.control
                )},
                "note": [{"text": t.verdict}],
                "component": [
                    {"code": local_code("trial-effect-ci95-lower", "Lower end of the 95 % credible interval"),
                     "valueQuantity": score(t.ci95[0])},
                    {"code": local_code("trial-effect-ci95-upper", "Upper end of the 95 % credible interval"),
                     "valueQuantity": score(t.ci95[1])}
                ],
            })),
        );
    }

    json!({
        "resourceType": "Bundle",
        "id": resource_uuid(input.person_key, "bundle"),
        "identifier": {"system": IDENTIFIER_SYSTEM, "value": resource_uuid(input.person_key, "bundle")},
        "type": "collection",
        "timestamp": input.timestamp,
        "entry": b.entries,
    })
}

/// A dosage at the given clock times (`timing.repeat.timeOfDay`), with an elemental amount.
fn times_dosage(times: &[quietlegs_core::clock::ClockTime], mg: Option<f64>) -> Value {
    let mut d = Map::new();
    if !times.is_empty() {
        let at: Vec<String> = times.iter().map(|t| format!("{t}:00")).collect();
        d.insert("timing".into(), json!({"repeat": {"timeOfDay": at}}));
    }
    if let Some(mg) = mg {
        d.insert("text".into(), json!(format!("{mg} mg elemental magnesium")));
        d.insert(
            "doseAndRate".into(),
            json!([{"doseQuantity": quantity(mg, "mg")}]),
        );
    }
    Value::Object(d)
}

/// The results of the person's trials whose arms may be shown (open, or unblinded) and that
/// can be analysed today; a blinded trial before unblinding gives nothing at all.
fn trial_results<S: Store + TrialStore>(
    store: &S,
    person: quietlegs_store::PersonId,
    ctx: &Context<'_>,
) -> Result<Vec<TrialResult>, AppError> {
    let mut out = Vec::new();
    for stored in store
        .trials(person)
        .map_err(AppError::store("reading trials"))?
    {
        let id = stored.id.to_string();
        let loaded = crate::trial::load(store, person, Some(&id))?;
        if !loaded.arms_visible() {
            continue;
        }
        // A trial too young to analyse has no result yet.
        let Ok(report) = crate::trial::report(store, person, ctx, Some(&id)) else {
            continue;
        };
        let ar1 = &report.analysis.models.ar1;
        let design = &report.design;
        out.push(TrialResult {
            id: stored.id,
            name: report.trial.clone(),
            outcome: report.plan.outcome,
            treatment: report.plan.treatment.clone(),
            control: report.plan.control.clone(),
            effect: ar1.mean,
            ci95: ar1.ci95,
            first_night: design.start,
            last_night: design.date_of(design.last_day()),
            complete: report.analysis.complete,
            verdict: report.analysis.verdict.text.clone(),
        });
    }
    Ok(out)
}

/// The person's FHIR R4 bundle as pretty JSON. An empty diary gives the Patient and the
/// Condition; no diary at all (no database yet) gives a bundle without entries.
pub fn export<S: Store + TrialStore>(
    ctx: &Context<'_>,
    diary: Diary<'_, S>,
) -> Result<String, AppError> {
    let value = match diary {
        None => {
            json!({"resourceType": "Bundle", "type": "collection", "timestamp": ctx.now.instant})
        }
        Some((store, person)) => {
            // The person's creation moment (nanoseconds, never changed) keys every id: stable
            // for this diary, different for another person's.
            let since = store
                .person_created_at(person)
                .map_err(AppError::store("reading the person"))?;
            let person_key = format!("person-created-at:{since}");
            let profile = crate::profile::stored(store, person, ctx)?.map(|p| p.profile);
            let records = crate::diary::records(Some((store, person)), None, None)?;
            let trials = trial_results(store, person, ctx)?;
            bundle(&FhirInput {
                person_key: &person_key,
                timestamp: &ctx.now.instant,
                profile: profile.as_ref(),
                records: &records,
                trials: &trials,
            })
        }
    };
    serde_json::to_string_pretty(&value)
        .map_err(|e| AppError::internal(format!("writing the FHIR bundle: {e}")))
}
