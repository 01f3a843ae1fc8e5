//! The blinding gate: while a blinded trial is not unblinded, no use case reveals which period
//! got which arm. Two trials that differ only in their allocation (seed) must give the same
//! output from every use case, on every day of the trial, once the allocation commitment (the
//! plan hash, which depends on the seed by construction) is set aside.

// Integration tests: a panic is a failed test (clippy.toml allows unwrap only inside #[test]).
#![allow(clippy::expect_used, clippy::unwrap_used)]

use jiff::civil::{date, Date};
use quietlegs_app::trial::{self, DesignChoice};
use quietlegs_app::{AppError, Context, FoodCatalog, Now};
use quietlegs_core::clock::ClockTime;
use quietlegs_core::diary::{Dose, Night, Record, SideEffects};
use quietlegs_core::ReferenceData;
use quietlegs_store::{Identity, OnDuplicate, PersonId, SqliteStore, Store};
use serde_json::{json, Value};

/// The blinding tests log no food: the catalogue is never built.
static FOODS: FoodCatalog = FoodCatalog::new();

const START: Date = date(2026, 3, 1);

fn at(d: Date) -> Now {
    Now::fixed(d, ClockTime::parse("21:00").unwrap())
}

fn day(n: i64) -> Date {
    START.checked_add(jiff::Span::new().days(n)).unwrap()
}

/// 2 arms x 2 cycles of 14 nights, the first 4 a run-in: periods on days 0-13, 14-27, 28-41,
/// 42-55.
fn choice() -> DesignChoice {
    DesignChoice {
        period_days: Some(14),
        run_in_days: Some(4),
        cycles: Some(2),
        ..DesignChoice::default()
    }
}

/// A store holding one blinded trial (seed `seed`) and the same diary in every case: a night
/// and side effects on every evening of the first 70 days, a dose on two evenings of three.
fn trial_with_seed(data: &ReferenceData, seed: u64) -> (SqliteStore, PersonId) {
    let store = SqliteStore::in_memory().unwrap();
    let now = at(date(2026, 2, 20));
    let person = store.person(&Identity::local("me"), &now.instant).unwrap();
    let ctx = Context {
        now: &now,
        reference: data,
        foods: &FOODS,
    };
    let prepared = trial::prepare(&ctx, Some("blind"), &choice(), seed, Some(START)).unwrap();
    assert!(prepared.design.blinded);
    trial::register(&store, person, &ctx, prepared).unwrap();
    for n in 0..70 {
        let d = day(n);
        let stamp = at(d).stamp();
        let mut records = vec![
            Record::Night(Night {
                date: d,
                severity: (n % 7) as u8,
                symptoms_began: None,
                sleep_quality: Some(5),
                hours_slept: Some(7.0),
                minutes_to_sleep: None,
                awakenings: None,
                note: None,
            }),
            Record::SideEffects(SideEffects {
                date: d,
                diarrhea: (n % 2) as u8,
                nausea: 0,
                cramps: 0,
            }),
        ];
        if n % 3 != 0 {
            records.push(Record::Dose(Dose {
                date: d,
                time: ClockTime::parse("21:30").unwrap(),
                product: "trial container".into(),
                form: None,
                elemental_mg: 200.0,
            }));
        }
        for r in records {
            store
                .add_record(person, &r, &stamp, OnDuplicate::Refuse)
                .unwrap();
        }
    }
    (store, person)
}

/// The output with the allocation commitment (plan hash) removed.
fn without_commitment(mut v: Value) -> Value {
    fn strip(v: &mut Value) {
        match v {
            Value::Object(map) => {
                map.remove("plan_hash");
                map.remove("allocation_commitment");
                map.values_mut().for_each(strip);
            }
            Value::Array(items) => items.iter_mut().for_each(strip),
            _ => {}
        }
    }
    strip(&mut v);
    v
}

fn seen<T: serde::Serialize>(r: Result<T, AppError>) -> Value {
    match r {
        Ok(v) => without_commitment(serde_json::to_value(v).unwrap()),
        Err(e) => json!({ "error": e.to_string(), "kind": e.kind }),
    }
}

/// Everything a surface can obtain about the trial on `date`, as JSON (results and refusals
/// alike), including the attempts to guess and to unblind early without a reason.
fn everything_visible(
    store: &mut SqliteStore,
    person: PersonId,
    data: &ReferenceData,
    date: Date,
) -> Vec<Value> {
    let now = at(date);
    let ctx = Context {
        now: &now,
        reference: data,
        foods: &FOODS,
    };
    let mut out = vec![
        seen(trial::status(store, person, &ctx, None)),
        seen(trial::status(store, person, &ctx, None).map(|s| s.phase)),
        seen(trial::calendar(store, person, None)),
        seen(trial::list(store, person)),
        seen(trial::report(store, person, &ctx, None)),
        seen(trial::load(store, person, None).map(|t| t.plan)),
    ];
    for period in 1..=4 {
        out.push(seen(trial::guess(
            store,
            person,
            &ctx,
            None,
            period,
            "magnesium",
        )));
    }
    // Before the last night has passed, an early unblinding without a reason is refused.
    // (After it, unblinding is the legitimate next step: it is tested below.)
    if date <= day(55) {
        out.push(seen(trial::unblind(store, person, &ctx, None, true, None)));
    }
    out
}

#[test]
fn no_use_case_reveals_the_allocation_of_a_blinded_trial() {
    let data = ReferenceData::shipped().unwrap();
    let allocation = |seed| {
        trial::design_from(&choice(), &data.rules.trial, seed, START)
            .unwrap()
            .allocation()
    };
    assert_ne!(
        allocation(1),
        allocation(2),
        "the seeds must differ in allocation"
    );
    let (mut a, pa) = trial_with_seed(&data, 1);
    let (mut b, pb) = trial_with_seed(&data, 2);
    // Before, in run-ins, inside every period, on the last night and after the end.
    for n in [-5i64, 0, 3, 4, 13, 14, 20, 27, 41, 55, 56, 80] {
        let seen_a = everything_visible(&mut a, pa, &data, day(n));
        let seen_b = everything_visible(&mut b, pb, &data, day(n));
        assert_eq!(
            seen_a, seen_b,
            "outputs differ on day {n}: the allocation leaks"
        );
        assert!(seen_a[0]["arm"].is_null(), "day {n}: {}", seen_a[0]);
    }
    // The report stayed refused throughout (blinded).
    let now = at(day(80));
    let ctx = Context {
        now: &now,
        reference: &data,
        foods: &FOODS,
    };
    let refused = trial::report(&a, pa, &ctx, None).unwrap_err();
    assert!(refused.to_string().contains("is blinded"), "{refused}");
}

#[test]
fn after_unblinding_the_arms_are_shown_and_the_report_runs() {
    let data = ReferenceData::shipped().unwrap();
    let (store, person) = trial_with_seed(&data, 1);
    let after = at(day(60));
    let ctx = Context {
        now: &after,
        reference: &data,
        foods: &FOODS,
    };
    let u = trial::unblind(&store, person, &ctx, None, false, None).unwrap();
    assert!(!u.early);
    assert_eq!(u.periods.len(), 4);
    for cycle in u.periods.chunks(2) {
        let mut arms: Vec<&str> = cycle.iter().map(|p| p.arm.as_str()).collect();
        arms.sort();
        assert_eq!(
            arms,
            ["magnesium", "placebo"],
            "each cycle holds each arm once"
        );
    }
    let cal = trial::calendar(&store, person, None).unwrap();
    let labels: Vec<&str> = cal.periods.iter().map(|p| p.label.as_str()).collect();
    let arms: Vec<&str> = u.periods.iter().map(|p| p.arm.as_str()).collect();
    assert_eq!(labels, arms);
    let report = trial::report(&store, person, &ctx, None).unwrap();
    assert_eq!(report.periods_completed, 4);
    // Every period starts on a multiple of 7 and severities repeat every 7 nights, so the
    // analysed nights (5-14) of every period hold the same values: the arm means are equal
    // and the estimated effect is 0 (to rounding).
    assert!(report.analysis.models.mean_only.mean.abs() < 1e-9);
    // Doses on two nights of three: nights 1, 2, 4, 5, 7, ... of the 14-night periods.
    // Days 0..=13 without n % 3 == 0: 14 - 5 (0, 3, 6, 9, 12) = 9 dosing nights in period 1.
    let status = trial::status(&store, person, &ctx, None).unwrap();
    assert_eq!(status.adherence[0].days_planned, 14);
    assert_eq!(status.adherence[0].days_with_dose, 9);
}
