//! The FHIR R4 export: every resource validated against the official R4 JSON schema
//! (data/fhir/fhir.schema.json, one resource at a time against its own definition), plus the
//! rules a schema cannot express (one value[x], obs-6, references that resolve inside the
//! bundle, unique and stable ids), over the demo history and the edge cases.

// Integration tests: a panic is a failed test (clippy.toml allows unwrap only inside #[test]).
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::collections::{BTreeSet, HashMap};

use jiff::civil::{date, Date};
use quietlegs_app::diary::{self, ExportFormat};
use quietlegs_app::trial::{self, DesignChoice};
use quietlegs_app::{Context, FoodCatalog, Now};
use quietlegs_core::clock::ClockTime;
use quietlegs_core::diary::{Dose, FoodLog, IrlsEntry, Night, Record};
use quietlegs_core::{IrlsScore, ReferenceData};
use quietlegs_store::{Identity, OnDuplicate, PersonId, SqliteStore, Store};
use serde_json::{json, Value};

static FOODS: FoodCatalog = FoodCatalog::new();

fn at(d: Date) -> Now {
    Now::fixed(d, ClockTime::parse("21:00").unwrap())
}

fn ctx<'a>(now: &'a Now, data: &'a ReferenceData) -> Context<'a> {
    Context {
        now,
        reference: data,
        foods: &FOODS,
    }
}

fn export(store: &SqliteStore, person: PersonId, data: &ReferenceData, on: Date) -> Value {
    let now = at(on);
    let text = diary::export(&ctx(&now, data), Some((store, person)), ExportFormat::Fhir).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// Compiles and caches one validator per resource type.
struct Schema {
    definitions: Value,
    validators: HashMap<String, jsonschema::Validator>,
}

impl Schema {
    fn load() -> Self {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../data/fhir/fhir.schema.json"
        );
        let mut whole: Value =
            serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        Schema {
            definitions: whole["definitions"].take(),
            validators: HashMap::new(),
        }
    }

    fn errors(&mut self, resource: &Value) -> Vec<String> {
        let kind = resource["resourceType"].as_str().unwrap().to_string();
        let defs = &self.definitions;
        let v = self.validators.entry(kind.clone()).or_insert_with(|| {
            let schema = json!({
                "definitions": defs,
                "allOf": [{"$ref": format!("#/definitions/{kind}")}]
            });
            jsonschema::draft6::new(&schema).unwrap()
        });
        v.iter_errors(resource)
            .map(|e| format!("{kind} at {}: {e}", e.instance_path()))
            .collect()
    }
}

/// Every reference string anywhere in `v`.
fn references(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                match (k.as_str(), x) {
                    ("reference", Value::String(s)) => out.push(s.clone()),
                    _ => references(x, out),
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|x| references(x, out)),
        _ => {}
    }
}

fn value_keys(m: &serde_json::Map<String, Value>) -> Vec<&String> {
    m.keys().filter(|k| k.starts_with("value")).collect()
}

/// The schema and every rule it cannot express; returns the resources.
fn check(bundle: &Value, schema: &mut Schema) -> Vec<Value> {
    assert_eq!(bundle["resourceType"], "Bundle");
    assert_eq!(bundle["type"], "collection");
    let mut shell = bundle.clone();
    shell.as_object_mut().unwrap().remove("entry");
    assert_eq!(schema.errors(&shell), Vec::<String>::new());
    let entries = bundle["entry"].as_array().cloned().unwrap_or_default();
    let mut errors = Vec::new();
    let mut ids = BTreeSet::new();
    let mut urls = BTreeSet::new();
    let mut resources = Vec::new();
    for e in &entries {
        let r = &e["resource"];
        errors.extend(schema.errors(r));
        let id = r["id"].as_str().unwrap();
        assert!(ids.insert(id.to_string()), "id {id} twice");
        assert_eq!(e["fullUrl"], format!("urn:uuid:{id}"));
        assert!(urls.insert(e["fullUrl"].as_str().unwrap().to_string()));
        assert_eq!(
            r["identifier"][0],
            json!({"system": quietlegs_app::fhir::IDENTIFIER_SYSTEM, "value": id})
        );
        if r["resourceType"] == "Observation" {
            let m = r.as_object().unwrap();
            let values = value_keys(m);
            // obs-6: dataAbsentReason only when there is no value; and a value here always.
            assert_eq!(values.len(), 1, "one value[x]: {r}");
            assert!(m.get("dataAbsentReason").is_none(), "obs-6: {r}");
            for c in r["component"].as_array().cloned().unwrap_or_default() {
                let c = c.as_object().unwrap();
                assert_eq!(value_keys(c).len(), 1, "one value[x] per component: {r}");
                assert!(c.get("dataAbsentReason").is_none());
                // obs-7: a component's code differs from the observation's.
                assert_ne!(c["code"], r["code"]);
            }
        }
        if r["resourceType"] == "QuestionnaireResponse" {
            for item in r["item"].as_array().unwrap() {
                // Linked by linkId only: no item wording (the IRLS is copyrighted).
                let keys: BTreeSet<&str> = item
                    .as_object()
                    .unwrap()
                    .keys()
                    .map(String::as_str)
                    .collect();
                assert_eq!(keys, BTreeSet::from(["linkId", "answer"]));
            }
        }
        resources.push(r.clone());
    }
    assert_eq!(errors, Vec::<String>::new());
    let mut refs = Vec::new();
    references(bundle, &mut refs);
    for r in refs {
        assert!(
            urls.contains(&r),
            "reference {r} does not resolve in the bundle"
        );
    }
    resources
}

fn of_type<'a>(resources: &'a [Value], kind: &str) -> Vec<&'a Value> {
    resources
        .iter()
        .filter(|r| r["resourceType"] == kind)
        .collect()
}

fn coded<'a>(resources: &'a [Value], code: &str) -> Vec<&'a Value> {
    resources
        .iter()
        .filter(|r| r["code"]["coding"][0]["code"] == code)
        .collect()
}

fn ids(bundle: &Value) -> Vec<String> {
    bundle["entry"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["resource"]["id"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn the_demo_history_validates_and_a_second_export_keeps_every_id() {
    let data = ReferenceData::shipped().unwrap();
    let store = SqliteStore::in_memory().unwrap();
    let now = at(date(2026, 6, 1));
    let person = store.person(&Identity::local("me"), &now.instant).unwrap();
    quietlegs_app::demo::fill(&store, person, &ctx(&now, &data), 11).unwrap();
    let mut schema = Schema::load();
    let first = export(&store, person, &data, date(2026, 6, 1));
    let resources = check(&first, &mut schema);
    // The demo profile: a woman; levothyroxine and amlodipine as typed, active.
    let patients = of_type(&resources, "Patient");
    assert_eq!(patients.len(), 1);
    assert_eq!(patients[0]["gender"], "female");
    assert!(patients[0].get("name").is_none() && patients[0].get("birthDate").is_none());
    let conditions = of_type(&resources, "Condition");
    assert_eq!(conditions[0]["code"]["coding"][0]["code"], "32914008");
    assert_eq!(
        conditions[0]["code"]["coding"][0]["system"],
        "http://snomed.info/sct"
    );
    let active: Vec<&Value> = of_type(&resources, "MedicationStatement")
        .into_iter()
        .filter(|m| m["status"] == "active")
        .collect();
    let names: Vec<&str> = active
        .iter()
        .map(|m| m["medicationCodeableConcept"]["text"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["levothyroxine", "amlodipine 5 mg"]);
    assert!(active
        .iter()
        .all(|m| m["medicationCodeableConcept"].get("coding").is_none()));
    // As many of each as the diary holds.
    let records = store.records(person, None, None).unwrap();
    let count = |k: &str| records.iter().filter(|r| r.record.kind() == k).count();
    assert_eq!(
        of_type(&resources, "QuestionnaireResponse").len(),
        count("irls")
    );
    assert_eq!(coded(&resources, "irls-total").len(), count("irls"));
    assert_eq!(coded(&resources, "night-severity").len(), count("night"));
    let doses = of_type(&resources, "MedicationStatement").len() - active.len();
    assert_eq!(doses, count("dose"));
    // The unblinded trial's result: the AR(1) posterior mean with its interval.
    let report = trial::report(&store, person, &ctx(&now, &data), None).unwrap();
    let result = coded(&resources, "trial-effect");
    assert_eq!(result.len(), 1);
    let r = result[0];
    let ar1 = &report.analysis.models.ar1;
    assert_eq!(r["valueQuantity"]["value"].as_f64().unwrap(), ar1.mean);
    assert_eq!(
        r["component"][0]["valueQuantity"]["value"]
            .as_f64()
            .unwrap(),
        ar1.ci95[0]
    );
    assert_eq!(
        r["component"][1]["valueQuantity"]["value"]
            .as_f64()
            .unwrap(),
        ar1.ci95[1]
    );
    assert!(ar1.ci95[0] < ar1.mean && ar1.mean < ar1.ci95[1]);
    assert_eq!(r["status"], "final");
    // A week later nothing changed in the diary: the same ids in the same order.
    let again = export(&store, person, &data, date(2026, 6, 8));
    assert_eq!(ids(&again), ids(&first));
}

/// A hand-made diary: one night, one IRLS, one dose and two foods on 2026-11-20.
#[test]
fn a_known_diary_gives_hand_calculated_values_and_no_trial_no_medicines() {
    let data = ReferenceData::shipped().unwrap();
    let store = SqliteStore::in_memory().unwrap();
    let d = date(2026, 11, 20);
    let now = at(d);
    let person = store.person(&Identity::local("me"), &now.instant).unwrap();
    // A profile without medicines: a man of 40.
    quietlegs_app::profile::save_toml(
        &store,
        person,
        &ctx(&now, &data),
        "age = 40\nsex = \"male\"\nbedtime = \"23:00\"\ngi_tolerance = \"normal\"\n",
    )
    .unwrap();
    let items: Vec<i64> = vec![3, 2, 3, 1, 2, 0, 4, 2, 1, 3];
    let score = IrlsScore::score(&data.irls, &items).unwrap();
    let records = [
        Record::Night(Night {
            date: d,
            severity: 6,
            symptoms_began: None,
            sleep_quality: None,
            hours_slept: None,
            minutes_to_sleep: None,
            awakenings: None,
            note: None,
        }),
        Record::Irls(IrlsEntry {
            date: d,
            items: score.items,
            total: score.total,
            band: score.band,
            rls6: None,
        }),
        Record::Dose(Dose {
            date: d,
            time: ClockTime::parse("21:30").unwrap(),
            product: "magnesium citrate".into(),
            form: None,
            elemental_mg: 150.0,
        }),
        Record::Food(FoodLog {
            date: d,
            food_id: "12061".into(),
            food_name: "Nuts, almonds".into(),
            amount: "1 oz".into(),
            grams: 28.4,
            magnesium_mg: Some(76.4),
        }),
        Record::Food(FoodLog {
            date: d,
            food_id: "09040".into(),
            food_name: "Bananas, raw".into(),
            amount: "1 medium".into(),
            grams: 118.0,
            magnesium_mg: Some(31.9),
        }),
    ];
    for r in &records {
        store
            .add_record(person, r, &now.stamp(), OnDuplicate::Refuse)
            .unwrap();
    }
    let mut schema = Schema::load();
    let bundle = export(&store, person, &data, d);
    let resources = check(&bundle, &mut schema);
    assert_eq!(of_type(&resources, "Patient")[0]["gender"], "male");
    // No medicines in the profile, no trial: only the dose's statement, no trial result.
    let statements = of_type(&resources, "MedicationStatement");
    assert_eq!(statements.len(), 1);
    assert_eq!(statements[0]["status"], "completed");
    assert_eq!(
        statements[0]["dosage"][0]["doseAndRate"][0]["doseQuantity"],
        json!({"value": 150.0, "unit": "mg", "system": "http://unitsofmeasure.org", "code": "mg"})
    );
    assert!(coded(&resources, "trial-effect").is_empty());
    // Night severity 6, UCUM {score}, category survey.
    let night = coded(&resources, "night-severity")[0];
    assert_eq!(night["valueQuantity"]["value"], 6.0);
    assert_eq!(night["valueQuantity"]["code"], "{score}");
    assert_eq!(night["category"][0]["coding"][0]["code"], "survey");
    assert_eq!(night["effectiveDateTime"], "2026-11-20");
    // IRLS: 3+2+3+1+2+0+4+2+1+3 = 21, "severe" (21-30); the ten answers by linkId 1-10.
    let total = coded(&resources, "irls-total")[0];
    assert_eq!(total["valueQuantity"]["value"], 21.0);
    assert_eq!(total["interpretation"][0]["text"], "severe");
    let qr = of_type(&resources, "QuestionnaireResponse")[0];
    let answers: Vec<(String, i64)> = qr["item"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["linkId"].as_str().unwrap().to_string(),
                i["answer"][0]["valueInteger"].as_i64().unwrap(),
            )
        })
        .collect();
    let expected: Vec<(String, i64)> = (1..=10)
        .map(|k| k.to_string())
        .zip(items.iter().copied())
        .collect();
    assert_eq!(answers, expected);
    assert_eq!(
        total["derivedFrom"][0]["reference"],
        format!("urn:uuid:{}", qr["id"].as_str().unwrap())
    );
    // Magnesium of the day: foods 76.4 + 31.9 = 108.3 mg, supplement 150 mg, total 258.3 mg.
    let intake = coded(&resources, "magnesium-intake-daily")[0];
    assert_eq!(intake["valueQuantity"]["value"], 258.3);
    assert_eq!(intake["component"][0]["valueQuantity"]["value"], 108.3);
    assert_eq!(intake["component"][1]["valueQuantity"]["value"], 150.0);
}

#[test]
fn an_empty_diary_gives_the_patient_and_the_condition_and_no_diary_gives_no_entries() {
    let data = ReferenceData::shipped().unwrap();
    let store = SqliteStore::in_memory().unwrap();
    let now = at(date(2026, 11, 20));
    let person = store.person(&Identity::local("me"), &now.instant).unwrap();
    let mut schema = Schema::load();
    let bundle = export(&store, person, &data, date(2026, 11, 20));
    let resources = check(&bundle, &mut schema);
    let kinds: Vec<&str> = resources
        .iter()
        .map(|r| r["resourceType"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["Patient", "Condition"]);
    // No profile: no gender (never invented).
    assert!(resources[0].get("gender").is_none());
    // The validator does refuse what R4 forbids: an unknown gender code, an unknown element.
    let mut bad = resources[0].clone();
    bad["gender"] = json!("woman");
    bad["nickname"] = json!("x");
    assert_eq!(schema.errors(&bad).len(), 2, "{:?}", schema.errors(&bad));
    let text = diary::export::<SqliteStore>(&ctx(&now, &data), None, ExportFormat::Fhir).unwrap();
    let none: Value = serde_json::from_str(&text).unwrap();
    check(&none, &mut schema);
    assert!(none.get("entry").is_none());
}

#[test]
fn another_person_gets_other_ids() {
    let data = ReferenceData::shipped().unwrap();
    let a = SqliteStore::in_memory().unwrap();
    let b = SqliteStore::in_memory().unwrap();
    let pa = a
        .person(&Identity::local("me"), "2026-11-20T21:00:00.123456789Z")
        .unwrap();
    let pb = b
        .person(&Identity::local("me"), "2026-11-20T21:00:00.987654321Z")
        .unwrap();
    let ia = ids(&export(&a, pa, &data, date(2026, 11, 20)));
    let ib = ids(&export(&b, pb, &data, date(2026, 11, 20)));
    assert!(ia.iter().all(|i| !ib.contains(i)));
}

const START: Date = date(2026, 3, 1);

/// A blinded trial with arms named so that they can be searched for in the JSON (2 arms x 2
/// cycles of 14 nights: periods on days 0-55), and a night and a dose on every evening.
fn blinded(data: &ReferenceData, seed: u64) -> (SqliteStore, PersonId) {
    let store = SqliteStore::in_memory().unwrap();
    let now = at(date(2026, 2, 20));
    let person = store.person(&Identity::local("me"), &now.instant).unwrap();
    let c = ctx(&now, data);
    let choice = DesignChoice {
        arms: vec!["zinnoberpill".into(), "quokkapill".into()],
        period_days: Some(14),
        run_in_days: Some(4),
        cycles: Some(2),
        ..DesignChoice::default()
    };
    let prepared = trial::prepare(&c, Some("my trial"), &choice, seed, Some(START)).unwrap();
    assert!(prepared.design.blinded);
    trial::register(&store, person, &c, prepared).unwrap();
    for n in 0..56 {
        let d = START.checked_add(jiff::Span::new().days(n)).unwrap();
        for r in [
            Record::Night(Night {
                date: d,
                severity: (n % 7) as u8,
                symptoms_began: None,
                sleep_quality: None,
                hours_slept: None,
                minutes_to_sleep: None,
                awakenings: None,
                note: None,
            }),
            Record::Dose(Dose {
                date: d,
                time: ClockTime::parse("21:30").unwrap(),
                product: "trial container".into(),
                form: None,
                elemental_mg: 200.0,
            }),
        ] {
            store
                .add_record(person, &r, &at(d).stamp(), OnDuplicate::Refuse)
                .unwrap();
        }
    }
    (store, person)
}

#[test]
fn a_blinded_trial_exports_no_arm_before_unblinding_and_its_result_after() {
    let data = ReferenceData::shipped().unwrap();
    let mut schema = Schema::load();
    let (one, p1) = blinded(&data, 1);
    let (two, p2) = blinded(&data, 2);
    // Day 57, after the last period, before unblinding: no result, no arm name anywhere, and
    // two allocations give the same bundle.
    let day = date(2026, 4, 27);
    let before = export(&one, p1, &data, day);
    check(&before, &mut schema);
    let text = before.to_string();
    assert!(
        !text.contains("zinnoberpill") && !text.contains("quokkapill"),
        "{text}"
    );
    assert!(!text.contains("trial-effect"));
    assert_eq!(before, export(&two, p2, &data, day));
    // Unblinded: the result with its interval.
    let now = at(day);
    trial::unblind(&one, p1, &ctx(&now, &data), None, false, None).unwrap();
    let after = export(&one, p1, &data, day);
    let resources = check(&after, &mut schema);
    let result = coded(&resources, "trial-effect");
    assert_eq!(result.len(), 1);
    let r = result[0];
    let value = r["valueQuantity"]["value"].as_f64().unwrap();
    let lower = r["component"][0]["valueQuantity"]["value"]
        .as_f64()
        .unwrap();
    let upper = r["component"][1]["valueQuantity"]["value"]
        .as_f64()
        .unwrap();
    assert!(lower < value && value < upper, "{r}");
    assert_eq!(
        r["effectivePeriod"],
        json!({"start": "2026-03-01", "end": "2026-04-25"})
    );
    assert!(r["method"]["text"]
        .as_str()
        .unwrap()
        .contains("zinnoberpill minus quokkapill"));
    // Unblinding added a resource and kept every other id.
    let (b, a) = (ids(&before), ids(&after));
    assert_eq!(a.len(), b.len() + 1);
    assert!(b.iter().all(|i| a.contains(i)));
}
