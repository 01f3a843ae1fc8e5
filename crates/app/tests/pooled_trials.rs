//! A clinic's pooled analysis of its participants' completed trials (`series::pool_trials`),
//! over a store whose trials were planned, logged and unblinded through the app's own use
//! cases. The expected figures come from other paths: the trial reports' nights written to a
//! CSV and fitted by `series::analyze_csv`, night counts worked out from the designs by hand,
//! and a planted effect.

// Integration tests: a panic is a failed test (clippy.toml allows unwrap only inside #[test]).
#![allow(clippy::expect_used, clippy::unwrap_used)]

use jiff::civil::{date, Date};
use quietlegs_app::series::{
    analyze_csv, gather_trials, pool_trials, Exclusion, PoolOptions, SeriesOptions,
};
use quietlegs_app::trial::{self, DesignChoice, PowerAssumptions};
use quietlegs_app::{Context, ErrorKind, FoodCatalog, Now};
use quietlegs_core::clock::ClockTime;
use quietlegs_core::diary::{Night, Record};
use quietlegs_core::trial::design::TrialDesign;
use quietlegs_core::ReferenceData;
use quietlegs_store::{Identity, OnDuplicate, PersonId, SqliteStore, Store};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::Normal;
use std::fmt::Write as _;

/// No food is logged: the catalogue is never built.
static FOODS: FoodCatalog = FoodCatalog::new();

/// The day the clinic pools: after every trial below but one (which is still running).
const TODAY: Date = date(2026, 6, 1);
const START: Date = date(2026, 3, 1);

fn at(d: Date) -> Now {
    Now::fixed(d, ClockTime::parse("21:00").unwrap())
}

fn plus(d: Date, days: i64) -> Date {
    d.checked_add(jiff::Span::new().days(days)).unwrap()
}

fn ctx<'a>(now: &'a Now, data: &'a ReferenceData) -> Context<'a> {
    Context {
        now,
        reference: data,
        foods: &FOODS,
    }
}

/// 2 arms x 2 cycles of 14 nights, the first 4 of each a run-in (days 0-55): 2 periods x 10
/// analysed nights = 20 analysed nights per arm when every night is logged.
fn short(compare: &str) -> DesignChoice {
    DesignChoice {
        compare: Some(compare.into()),
        period_days: Some(14),
        run_in_days: Some(4),
        cycles: Some(2),
        ..DesignChoice::default()
    }
}

fn options() -> PoolOptions {
    PoolOptions {
        control: "placebo".into(),
        treatment: "magnesium".into(),
        ..PoolOptions::default()
    }
}

/// Registers a trial the evening before `start` (as every surface does) and returns its design
/// as the helper who fills the containers knows it.
fn plan(
    store: &SqliteStore,
    person: PersonId,
    data: &ReferenceData,
    name: &str,
    choice: &DesignChoice,
    seed: u64,
    start: Date,
) -> TrialDesign {
    let now = at(plus(start, -1));
    let c = ctx(&now, data);
    let prepared = trial::prepare(&c, Some(name), choice, seed, Some(start)).unwrap();
    let design = prepared.design.clone();
    trial::register(store, person, &c, prepared).unwrap();
    design
}

fn last_night(d: &TrialDesign) -> Date {
    d.date_of(d.last_day())
}

/// Logs the trial's nights with `trial simulate` (the app's own simulation of a trial with an
/// effect), as of its last evening.
fn simulate(
    store: &SqliteStore,
    person: PersonId,
    data: &ReferenceData,
    design: &TrialDesign,
    name: &str,
    missing: f64,
    seed: u64,
) {
    let now = at(last_night(design));
    let a = PowerAssumptions {
        missing,
        ..PowerAssumptions::planning()
    };
    let (_, written) =
        trial::simulate(store, person, &ctx(&now, data), Some(name), &a, seed).unwrap();
    assert!(written > 0);
}

/// Unblinds after the last night (the evening after it).
fn unblind(store: &SqliteStore, person: PersonId, data: &ReferenceData, design: &TrialDesign) {
    let now = at(plus(last_night(design), 1));
    trial::unblind(store, person, &ctx(&now, data), None, false, None).unwrap();
}

struct Clinic {
    store: SqliteStore,
    people: Vec<(String, PersonId)>,
}

impl Clinic {
    fn person(&mut self, label: &str) -> PersonId {
        let p = self
            .store
            .person(&Identity::local(label), &at(date(2025, 1, 1)).instant)
            .unwrap();
        self.people.push((label.to_string(), p));
        p
    }
}

/// Ten people, one per situation; `p5_seed` is the allocation seed of p5's blinded trial.
///
/// * p1: blinded magnesium vs placebo, unblinded after the end; 10 % of nights not logged.
/// * p2: open-label magnesium vs placebo, every night logged.
/// * p3: three arms (magnesium, glycinate, placebo), magnesium vs placebo, unblinded.
/// * p4: two completed trials of the comparison (autumn 2025 and spring 2026): the latest pools.
/// * p5: blinded, over, not unblinded.
/// * p6: magnesium vs nothing only.
/// * p7: no trial.
/// * p8: a trial still running on `TODAY`.
/// * p9: unblinded early (with a reason).
/// * p10: over and unblinded, but no night logged.
fn clinic(data: &ReferenceData, p5_seed: u64) -> Clinic {
    let mut c = Clinic {
        store: SqliteStore::in_memory().unwrap(),
        people: Vec::new(),
    };
    let p1 = c.person("p1");
    let d = plan(&c.store, p1, data, "mg-1", &short("placebo"), 101, START);
    simulate(&c.store, p1, data, &d, "mg-1", 0.1, 1);
    unblind(&c.store, p1, data, &d);

    let p2 = c.person("p2");
    let open = DesignChoice {
        open: true,
        ..short("placebo")
    };
    let d = plan(&c.store, p2, data, "mg-open", &open, 102, START);
    assert!(!d.blinded);
    simulate(&c.store, p2, data, &d, "mg-open", 0.0, 2);

    let p3 = c.person("p3");
    let three = DesignChoice {
        arms: vec!["magnesium".into(), "glycinate".into(), "placebo".into()],
        control: Some("placebo".into()),
        ..short("placebo")
    };
    let d = plan(&c.store, p3, data, "three-arms", &three, 103, START);
    simulate(&c.store, p3, data, &d, "three-arms", 0.1, 3);
    unblind(&c.store, p3, data, &d);

    let p4 = c.person("p4");
    let d = plan(
        &c.store,
        p4,
        data,
        "autumn",
        &short("placebo"),
        104,
        date(2025, 10, 1),
    );
    simulate(&c.store, p4, data, &d, "autumn", 0.1, 40);
    unblind(&c.store, p4, data, &d);
    let d = plan(&c.store, p4, data, "spring", &short("placebo"), 105, START);
    simulate(&c.store, p4, data, &d, "spring", 0.1, 41);
    unblind(&c.store, p4, data, &d);

    let p5 = c.person("p5");
    let d = plan(
        &c.store,
        p5,
        data,
        "still-blind",
        &short("placebo"),
        p5_seed,
        START,
    );
    // The simulated nights follow the allocation: p5's diary differs between the seeds.
    simulate(&c.store, p5, data, &d, "still-blind", 0.1, 5);

    let p6 = c.person("p6");
    let d = plan(
        &c.store,
        p6,
        data,
        "vs-nothing",
        &short("nothing"),
        106,
        START,
    );
    simulate(&c.store, p6, data, &d, "vs-nothing", 0.1, 6);

    c.person("p7");

    let p8 = c.person("p8");
    let d = plan(
        &c.store,
        p8,
        data,
        "running",
        &short("placebo"),
        108,
        date(2026, 5, 1),
    );
    assert!(last_night(&d) >= TODAY);
    let now = at(TODAY);
    let a = PowerAssumptions::planning();
    trial::simulate(&c.store, p8, &ctx(&now, data), None, &a, 8).unwrap();

    let p9 = c.person("p9");
    let d = plan(&c.store, p9, data, "stopped", &short("placebo"), 109, START);
    let now = at(plus(START, 20));
    let c9 = ctx(&now, data);
    trial::simulate(&c.store, p9, &c9, None, &a, 9).unwrap();
    trial::unblind(&c.store, p9, &c9, None, true, Some("loose stools")).unwrap();
    assert!(last_night(&d) < TODAY);

    let p10 = c.person("p10");
    let d = plan(
        &c.store,
        p10,
        data,
        "unlogged",
        &short("placebo"),
        110,
        START,
    );
    unblind(&c.store, p10, data, &d);
    c
}

/// The analysed nights of the trial reports of `people` as `participant,day,condition,outcome`:
/// every night of the report past its run-in (an empty outcome for a night not logged), the
/// day numbered from the trial's start.
fn csv_of_reports(
    store: &SqliteStore,
    data: &ReferenceData,
    people: &[(&str, PersonId, &str)],
) -> String {
    let now = at(TODAY);
    let c = ctx(&now, data);
    let mut csv = String::from("participant,day,condition,outcome\n");
    for (label, person, name) in people {
        let report = trial::report(store, *person, &c, Some(name)).unwrap();
        let mut used = 0;
        let mut missing = 0;
        for n in report.data.nights.iter().filter(|n| !n.run_in) {
            let outcome = match n.outcome {
                Some(y) => {
                    used += 1;
                    y.to_string()
                }
                None => {
                    missing += 1;
                    String::new()
                }
            };
            writeln!(
                csv,
                "{label},{},{},{outcome}",
                n.day, report.data.arms[n.arm]
            )
            .unwrap();
        }
        // The report's own counts of the nights its analysis used.
        assert_eq!(used, report.analysis.nights.used, "{label}");
        assert_eq!(missing, report.analysis.nights.missing, "{label}");
    }
    csv
}

fn id(c: &Clinic, label: &str) -> PersonId {
    c.people.iter().find(|(l, _)| l == label).unwrap().1
}

#[test]
fn the_pool_equals_a_csv_of_the_reports_nights_and_says_who_is_left_out_and_why() {
    let data = ReferenceData::shipped().unwrap();
    let c = clinic(&data, 5);
    let now = at(TODAY);
    let pooled = pool_trials(&c.store, &ctx(&now, &data), &c.people, &options()).unwrap();

    let included: Vec<(&str, &str)> = pooled
        .included
        .iter()
        .map(|t| (t.label.as_str(), t.trial.as_str()))
        .collect();
    assert_eq!(
        included,
        [
            ("p1", "mg-1"),
            ("p2", "mg-open"),
            ("p3", "three-arms"),
            ("p4", "spring")
        ]
    );
    assert_eq!(pooled.included[3].older_trials, ["autumn"]);
    // p2 logged every night: 2 periods per arm x (14 - 4 run-in) = 20 analysed nights per arm.
    let p2 = &pooled.included[1];
    assert_eq!(
        (p2.nights_control, p2.nights_treatment, p2.missing_nights),
        (20, 20, 0)
    );
    // p3's glycinate nights (at most 20, some not logged) are counted, not pooled.
    let p3 = &pooled.included[2];
    assert!(
        p3.other_arm_nights > 10 && p3.other_arm_nights <= 20,
        "{p3:?}"
    );

    let left: Vec<(&str, &Exclusion)> = pooled
        .left_out
        .iter()
        .map(|l| (l.label.as_str(), &l.why))
        .collect();
    assert_eq!(
        left,
        [
            (
                "p5",
                &Exclusion::Blinded {
                    trial: "still-blind".into()
                }
            ),
            (
                "p6",
                &Exclusion::DifferentComparison {
                    comparisons: vec!["magnesium vs nothing (nightly-severity)".into()]
                }
            ),
            ("p7", &Exclusion::NoTrial),
            (
                "p8",
                &Exclusion::InProgress {
                    trial: "running".into(),
                    // 56 nights from 1 May: days 0-55, the last on 25 June.
                    last_night: date(2026, 6, 25)
                }
            ),
            (
                "p9",
                &Exclusion::UnblindedEarly {
                    trial: "stopped".into()
                }
            ),
            (
                "p10",
                &Exclusion::TooFewNights {
                    trial: "unlogged".into(),
                    nights_control: 0,
                    nights_treatment: 0
                }
            ),
        ]
    );
    assert!(pooled.left_out[1].text.contains("magnesium vs nothing"));

    // The independent path: the trial reports' nights, written to a file, fitted from the file.
    let csv = csv_of_reports(
        &c.store,
        &data,
        &[
            ("p1", id(&c, "p1"), "mg-1"),
            ("p2", id(&c, "p2"), "mg-open"),
            ("p3", id(&c, "p3"), "three-arms"),
            ("p4", id(&c, "p4"), "spring"),
        ],
    );
    let from_csv = analyze_csv(
        &data,
        csv.as_bytes(),
        &SeriesOptions {
            control: Some("placebo".into()),
            treatment: Some("magnesium".into()),
            higher_is_better: false,
            mcid: Some(data.rules.trial.mcid_nightly_severity),
        },
    )
    .unwrap();
    assert_eq!(pooled.analysis, from_csv);
    assert_eq!(pooled.analysis.n_participants, 4);
    assert_eq!(pooled.analysis.other_condition_nights, p3.other_arm_nights);
    assert!(pooled.analysis.missing_nights > 0);
    let pooled_nights: u64 = pooled
        .included
        .iter()
        .map(|t| t.nights_control + t.nights_treatment)
        .sum();
    assert_eq!(pooled.analysis.n_nights, pooled_nights);
}

#[test]
fn a_blinded_trial_is_left_out_without_its_allocation_shaping_anything() {
    let data = ReferenceData::shipped().unwrap();
    let allocation = |seed| {
        trial::design_from(&short("placebo"), &data.rules.trial, seed, START)
            .unwrap()
            .allocation()
    };
    assert_ne!(allocation(5), allocation(6), "the seeds must differ");
    let a = clinic(&data, 5);
    let b = clinic(&data, 6);
    // The diaries differ (the simulation follows the allocation): the output must not.
    let p5_nights = |c: &Clinic| c.store.records(id(c, "p5"), None, None).unwrap();
    assert_ne!(p5_nights(&a), p5_nights(&b));
    let now = at(TODAY);
    let cx = ctx(&now, &data);
    // p5 alone, and p5 among others: the same output whatever p5's allocation.
    let only_p5 = |c: &Clinic| {
        let people = [("p5".to_string(), id(c, "p5"))];
        let g = gather_trials(&c.store, &cx, &people, &options()).unwrap();
        serde_json::to_value(g).unwrap()
    };
    assert_eq!(only_p5(&a), only_p5(&b));
    let all = |c: &Clinic| {
        serde_json::to_value(pool_trials(&c.store, &cx, &c.people, &options()).unwrap()).unwrap()
    };
    let (ja, jb) = (all(&a), all(&b));
    assert_eq!(ja, jb);
    let p5 = ja["left_out"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["label"] == "p5")
        .unwrap();
    assert_eq!(p5["reason"], "blinded");
    assert_eq!(p5["trial"], "still-blind");
    // Nothing about p5 but the label, the trial's name and the reason.
    let mut keys: Vec<&String> = p5.as_object().unwrap().keys().collect();
    keys.sort();
    assert_eq!(keys, ["label", "reason", "text", "trial"]);
    assert!(ja["analysis"]["participants"]
        .as_array()
        .unwrap()
        .iter()
        .all(|p| p["id"] != "p5"));

    // Once unblinded after its last night, the same trial is pooled.
    let d = trial::design_from(&short("placebo"), &data.rules.trial, 5, START).unwrap();
    unblind(&a.store, id(&a, "p5"), &data, &d);
    let after = pool_trials(&a.store, &cx, &a.people, &options()).unwrap();
    assert!(after.included.iter().any(|t| t.label == "p5"));
    assert!(!after.left_out.iter().any(|l| l.label == "p5"));
}

#[test]
fn too_few_people_is_refused_with_the_reasons_and_bad_lists_are_refused() {
    let data = ReferenceData::shipped().unwrap();
    let c = clinic(&data, 5);
    let now = at(TODAY);
    let cx = ctx(&now, &data);
    let pick = |labels: &[&str]| -> Vec<(String, PersonId)> {
        labels.iter().map(|l| (l.to_string(), id(&c, l))).collect()
    };
    // One poolable person (p1): refused, not a panic, saying why the others are out.
    let e = pool_trials(&c.store, &cx, &pick(&["p1", "p5", "p6", "p7"]), &options()).unwrap_err();
    assert_eq!(e.kind, ErrorKind::BadInput);
    assert_eq!(
        e.to_string(),
        "1 of 4 people have a completed trial of magnesium vs placebo to pool: a pooled \
         analysis needs at least 2 (left out: 1 different comparison, 1 no trial, 1 still blinded)"
    );
    let e = pool_trials(&c.store, &cx, &[], &options()).unwrap_err();
    assert!(e.to_string().starts_with("0 of 0 people"), "{e}");
    // Two people suffice.
    let two = pool_trials(&c.store, &cx, &pick(&["p1", "p2"]), &options()).unwrap();
    assert_eq!(two.analysis.n_participants, 2);

    let p1 = id(&c, "p1");
    let p2 = id(&c, "p2");
    let twice = [("a".to_string(), p1), ("a".to_string(), p2)];
    let e = pool_trials(&c.store, &cx, &twice, &options()).unwrap_err();
    assert_eq!(e.field, Some("people"));
    let same_person = [("a".to_string(), p1), ("b".to_string(), p1)];
    let e = pool_trials(&c.store, &cx, &same_person, &options()).unwrap_err();
    assert_eq!(e.field, Some("people"));
    let same_arm = PoolOptions {
        treatment: "placebo".into(),
        ..options()
    };
    let e = pool_trials(&c.store, &cx, &pick(&["p1", "p2"]), &same_arm).unwrap_err();
    assert_eq!(e.field, Some("treatment"));
    // Another outcome is another comparison: nobody's trial measured the weekly IRLS.
    let irls = PoolOptions {
        outcome: Some("weekly-irls".into()),
        ..options()
    };
    let g = gather_trials(&c.store, &cx, &pick(&["p1"]), &irls).unwrap();
    assert_eq!(
        g.left_out[0].why,
        Exclusion::DifferentComparison {
            comparisons: vec!["magnesium vs placebo (nightly-severity)".into()]
        }
    );
}

/// Logs a trial's nights as its helper knows the allocation: severity = the person's level +
/// their effect on magnesium nights + independent noise, rounded to the 0-10 scale.
fn log_planted(
    store: &SqliteStore,
    person: PersonId,
    design: &TrialDesign,
    level: f64,
    effect: f64,
    rng: &mut ChaCha8Rng,
) {
    let noise = Normal::new(0.0, PowerAssumptions::PLANNING_SD).unwrap();
    for p in design.schedule() {
        let on_magnesium = design.arms[p.arm] == "magnesium";
        for day in p.first_day..=p.last_day {
            let d = design.date_of(day);
            let y = level + if on_magnesium { effect } else { 0.0 } + rng.sample(noise);
            let night = Record::Night(Night {
                date: d,
                severity: y.round().clamp(0.0, 10.0) as u8,
                symptoms_began: None,
                sleep_quality: None,
                hours_slept: None,
                minutes_to_sleep: None,
                awakenings: None,
                note: None,
            });
            store
                .add_record(person, &night, &at(d).stamp(), OnDuplicate::Refuse)
                .unwrap();
        }
    }
}

#[test]
fn a_planted_common_effect_is_inside_the_population_interval() {
    // Eight people, each with their own usual severity (6 +- 1) and their own effect of
    // magnesium (-1.5 +- 0.4 between people), nights varying 1.5 around that: the population
    // effect is -1.5. (Run with the seeds 1 to 40 instead of 2026, the interval held -1.5 in 37
    // of 40: the Wald interval is a little narrow with 8 people, as docs/series.md says. This
    // seed gives -1.496 [-1.771, -1.221].)
    const EFFECT: f64 = -1.5;
    let data = ReferenceData::shipped().unwrap();
    let store = SqliteStore::in_memory().unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(2026);
    let levels = Normal::new(6.0, 1.0).unwrap();
    let effects = Normal::new(EFFECT, 0.4).unwrap();
    let choice = DesignChoice {
        cycles: Some(3),
        ..short("placebo")
    };
    let mut people = Vec::new();
    for i in 0..8 {
        let label = format!("person-{}", i + 1);
        let person = store
            .person(&Identity::local(&label), &at(date(2025, 1, 1)).instant)
            .unwrap();
        let design = plan(&store, person, &data, "mg", &choice, 1000 + i, START);
        log_planted(
            &store,
            person,
            &design,
            rng.sample(levels),
            rng.sample(effects),
            &mut rng,
        );
        unblind(&store, person, &data, &design);
        people.push((label, person));
    }
    let now = at(TODAY);
    let pooled = pool_trials(&store, &ctx(&now, &data), &people, &options()).unwrap();
    assert!(pooled.left_out.is_empty(), "{:?}", pooled.left_out);
    // 3 cycles x (14 - 4) analysed nights per arm, every night logged.
    assert!(pooled
        .included
        .iter()
        .all(|t| (t.nights_control, t.nights_treatment) == (30, 30)));
    let a = &pooled.analysis;
    assert_eq!((a.n_participants, a.n_nights), (8, 8 * 60));
    let rs = &a.models.random_slope;
    eprintln!(
        "planted {EFFECT}: population {:.3} [{:.3}, {:.3}], se {:.3}, tau_slope {:.3}, sigma {:.3}, singular {}",
        rs.effect,
        rs.ci95[0],
        rs.ci95[1],
        rs.se,
        rs.tau2_slope.sqrt(),
        rs.sigma2.sqrt(),
        rs.singular
    );
    assert!(rs.ci95[0] < EFFECT && EFFECT < rs.ci95[1], "{rs:?}");
    assert!(
        rs.ci95[1] < 0.0,
        "eight people's trials show the benefit: {rs:?}"
    );
}
