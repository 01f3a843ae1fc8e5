//! A demonstration diary: 20 weeks of a made-up person's nights, doses, foods, side effects,
//! evening factors and weekly IRLS, a profile, and a completed, blinded, unblinded trial, so that a
//! newcomer sees every page populated (`quietlegs serve --demo`). Refused on a diary that holds
//! anything: it never mixes made-up entries with real ones.
//!
//! The numbers come from a seeded simulation (ChaCha8) with a known truth: nightly severity
//! around 6 of 10 with day-to-day autocorrelation, 1.5 points worse after late caffeine, 0.8
//! better after exercise, and 1.2 better on magnesium from the second week of a magnesium period.

use jiff::civil::Date;
use quietlegs_core::clock::ClockTime;
use quietlegs_core::diary::{
    Dose, Factor, FactorKind, FoodLog, IrlsEntry, Night, Record, SideEffects,
};
use quietlegs_core::food::FoodTable;
use quietlegs_core::IrlsScore;
use quietlegs_store::{NewRecord, OnDuplicate, PersonId, Store, TrialStore};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

use crate::trial::{self, DesignChoice};
use crate::{AppError, Context, Now};

/// Days of made-up history, ending last night.
pub const DEMO_DAYS: i64 = 140;
/// The trial starts after four weeks of plain diary.
const TRIAL_OFFSET: i64 = 28;
/// The simulated truth (see the module documentation).
const BASELINE: f64 = 6.0;
const CAFFEINE_EFFECT: f64 = 1.5;
const EXERCISE_EFFECT: f64 = -0.8;
const MAGNESIUM_EFFECT: f64 = -1.2;
const ONSET_DAYS: i64 = 7;
const RHO: f64 = 0.4;
const NOISE_SD: f64 = 1.1;

/// What the demonstration wrote.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DemoSummary {
    pub from: Date,
    pub to: Date,
    pub records: usize,
    pub trial: String,
}

/// The demonstration person's profile (docs/profile.md): a woman of 58 with treated high blood
/// pressure, a thyroid tablet in the morning (spaced from magnesium), a borderline ferritin and a
/// recent kidney result.
pub const DEMO_PROFILE: &str = r#"age = 58
sex = "female"
bedtime = "22:45"
wake = "06:45"
gi_tolerance = "normal"
ferritin_ng_ml = 48
tsat_percent = 21
conditions = ["hypertension"]
dietary_magnesium_mg = 240

[kidney]
egfr = 74

[[medications]]
name = "levothyroxine"
times = ["06:45"]

[[medications]]
name = "amlodipine 5 mg"
times = ["08:00"]
"#;

/// Foods of an ordinary day: (SR28 id, household amount, grams).
const DAY_FOODS: [(&str, &str, f64); 5] = [
    ("08121", "1 cup", 234.0),
    ("09040", "1 medium", 118.0),
    ("12061", "1 oz", 28.4),
    ("11457", "1 cup", 30.0),
    ("16043", "1/2 cup", 85.5),
];

fn day(start: Date, n: i64) -> Result<Date, AppError> {
    start
        .checked_add(jiff::Span::new().days(n))
        .map_err(|e| AppError::internal(format!("demo dates: {e}")))
}

fn at(date: Date, time: &str) -> Now {
    Now::fixed(
        date,
        ClockTime::parse(time).unwrap_or(ClockTime::from_minutes_wrapping(21 * 60)),
    )
}

/// Fills an empty diary with the demonstration, ending the evening before `ctx.now`.
pub fn fill<S: Store + TrialStore>(
    store: &S,
    person: PersonId,
    ctx: &Context<'_>,
    seed: u64,
) -> Result<DemoSummary, AppError> {
    if !store.records(person, None, None)?.is_empty() || !store.trials(person)?.is_empty() {
        return Err(AppError::refused(
            "the demonstration fills only an empty diary: this one holds entries (use a new database)",
        ));
    }
    // The made-up person's profile, so that the plan page is filled in too.
    crate::profile::save_toml(store, person, ctx, DEMO_PROFILE)?;
    // The history ends the evening before tonight (after midnight, tonight is still the evening
    // before), so that the person can log tonight themselves.
    let today = quietlegs_core::diary::evening_of(ctx.now.date, ctx.now.time);
    let first = day(today, -DEMO_DAYS)?;
    let trial_start = day(first, TRIAL_OFFSET)?;
    // The trial was registered the evening before it started, two cycles of four weeks.
    let registered_at = at(day(trial_start, -1)?, "20:00");
    let reg_ctx = Context {
        now: &registered_at,
        ..*ctx
    };
    let choice = DesignChoice {
        cycles: Some(2),
        ..DesignChoice::default()
    };
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let prepared = trial::prepare(
        &reg_ctx,
        Some("magnesium-vs-placebo"),
        &choice,
        rng.random(),
        Some(trial_start),
    )?;
    let design = prepared.design.clone();
    let registered = trial::register(store, person, &reg_ctx, prepared)?;
    let schedule = design.schedule();
    let foods = FoodTable::shipped().map_err(|e| AppError::internal(e.to_string()))?;
    let normal = rand_distr::Normal::new(0.0, NOISE_SD * (1.0 - RHO * RHO).sqrt())
        .map_err(|e| AppError::internal(e.to_string()))?;
    let mut noise = 0.0;
    // The history is stored in one transaction at the end (`Store::add_records`), so that a
    // failure (a full disk) leaves none of it rather than part of it.
    let mut history: Vec<NewRecord> = Vec::new();
    let mut add = |r: Record, date: Date| -> Result<(), AppError> {
        r.validate(today, &ctx.reference.irls)
            .map_err(|e| AppError::internal(format!("demo entry: {e}")))?;
        history.push(NewRecord {
            person,
            record: r,
            stamp: at(date, "21:30").stamp(),
            on_duplicate: OnDuplicate::Refuse,
        });
        Ok(())
    };
    for n in 0..DEMO_DAYS {
        let date = day(first, n)?;
        let trial_day = n - TRIAL_OFFSET;
        let period = schedule
            .iter()
            .find(|p| p.first_day <= trial_day && trial_day <= p.last_day);
        let on_magnesium = period.is_some_and(|p| design.arms[p.arm] == design.treatment);
        let late_caffeine = rng.random_bool(0.25);
        let exercise = rng.random_bool(0.4);
        noise = RHO * noise + rng.sample(normal);
        let mut severity = BASELINE + noise;
        if late_caffeine {
            severity += CAFFEINE_EFFECT;
        }
        if exercise {
            severity += EXERCISE_EFFECT;
        }
        if on_magnesium && period.is_some_and(|p| trial_day - p.first_day >= ONSET_DAYS) {
            severity += MAGNESIUM_EFFECT;
        }
        let severity = severity.round().clamp(0.0, 10.0) as u8;
        // One night in twelve is not logged.
        if rng.random_bool(1.0 / 12.0) {
            continue;
        }
        add(
            Record::Night(Night {
                date,
                severity,
                symptoms_began: ClockTime::parse(if severity > 6 { "20:30" } else { "22:00" }).ok(),
                sleep_quality: Some(10u8.saturating_sub(severity).min(9)),
                hours_slept: Some(((8.0 - f64::from(severity) * 0.3) * 4.0).round() / 4.0),
                minutes_to_sleep: Some(10 + u32::from(severity) * 5),
                awakenings: Some(u32::from(severity / 3)),
                note: None,
            }),
            date,
        )?;
        if late_caffeine {
            add(
                Record::Factor(Factor {
                    date,
                    kind: FactorKind::Caffeine,
                    amount: Some(1.0),
                    unit: Some("cups".into()),
                    time: ClockTime::parse("17:30").ok(),
                }),
                date,
            )?;
        }
        if exercise {
            add(
                Record::Factor(Factor {
                    date,
                    kind: FactorKind::Exercise,
                    amount: Some(30.0),
                    unit: Some("minutes".into()),
                    time: ClockTime::parse("18:00").ok(),
                }),
                date,
            )?;
        }
        for (id, amount, grams) in DAY_FOODS {
            if rng.random_bool(0.3) {
                continue;
            }
            let food = foods
                .by_id(id)
                .ok_or_else(|| AppError::internal(format!("demo food {id} is not in SR28")))?;
            add(
                Record::Food(FoodLog {
                    date,
                    food_id: food.id.clone(),
                    food_name: food.name.clone(),
                    amount: amount.into(),
                    grams,
                    magnesium_mg: food.per_100g.magnesium_mg.map(|m| m * grams / 100.0),
                }),
                date,
            )?;
        }
        if let Some(p) = period {
            add(
                Record::Dose(Dose {
                    date,
                    time: ClockTime::from_minutes_wrapping(21 * 60 + 45),
                    product: format!("trial container {}", p.index + 1),
                    form: None,
                    elemental_mg: 200.0,
                }),
                date,
            )?;
            // Side effects are logged every trial night (a quiet night as zeros, so the
            // history's side-effect chart always has the trial's nights): loose stools now and
            // then on magnesium.
            let loose = on_magnesium && rng.random_bool(0.15);
            add(
                Record::SideEffects(SideEffects {
                    date,
                    diarrhea: u8::from(loose),
                    nausea: 0,
                    cramps: 0,
                }),
                date,
            )?;
        }
        // A weekly IRLS on Sundays, its items following the week's severity.
        if date.weekday() == jiff::civil::Weekday::Sunday {
            let item = i64::from(severity.div_ceil(3).min(4));
            let items: Vec<i64> = (0..ctx.reference.irls.items as i64)
                .map(|i| (item + (i % 3) - 1).clamp(0, 4))
                .collect();
            let score = IrlsScore::score(&ctx.reference.irls, &items)
                .map_err(|e| AppError::internal(e.to_string()))?;
            add(
                Record::Irls(IrlsEntry {
                    date,
                    items: score.items,
                    total: score.total,
                    band: score.band,
                    rls6: None,
                }),
                date,
            )?;
        }
    }
    let records = history.len();
    for outcome in store.add_records(&history) {
        outcome?;
    }
    // A guess at the end of every period (mostly right: magnesium nights felt better), then the
    // unblinding the evening after the last night.
    for p in &schedule {
        let last = day(trial_start, p.last_day)?;
        let guess_ctx_now = at(last, "22:00");
        let guess_ctx = Context {
            now: &guess_ctx_now,
            ..*ctx
        };
        let truth = &design.arms[p.arm];
        let arm = if p.index == 1 {
            design.arms.iter().find(|a| *a != truth).unwrap_or(truth)
        } else {
            truth
        };
        trial::guess(
            store,
            person,
            &guess_ctx,
            Some(&registered.name),
            p.index + 1,
            arm,
        )?;
    }
    trial::unblind(store, person, ctx, Some(&registered.name), false, None)?;
    Ok(DemoSummary {
        from: first,
        to: day(today, -1)?,
        records,
        trial: registered.name,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use quietlegs_core::ReferenceData;
    use quietlegs_store::SqliteStore;

    #[test]
    fn the_demo_finds_its_planted_magnesium_effect_and_refuses_a_used_diary() {
        let data = ReferenceData::shipped().unwrap();
        let store = SqliteStore::in_memory().unwrap();
        let now = at(jiff::civil::date(2026, 6, 1), "20:00");
        let person = store
            .person(&quietlegs_store::Identity::local("me"), &now.instant)
            .unwrap();
        let ctx = Context {
            now: &now,
            reference: &data,
            foods: &crate::FoodCatalog::new(),
        };
        let summary = fill(&store, person, &ctx, 11).unwrap();
        assert_eq!(summary.to, jiff::civil::date(2026, 5, 31));
        // 140 days: about 128 nights, 5 foods at 70 %, doses on 112 trial nights...
        assert!(summary.records > 500, "{summary:?}");
        let report = trial::report(&store, person, &ctx, None).unwrap();
        assert_eq!(report.periods_completed, 4);
        // The planted effect is -1.2 from day 8 of each 28-day period, and the analysis sees
        // nights 15-28 only (a 14-night run-in): the true contrast is -1.2 with the analysed
        // nights' noise around it. The interval must contain it.
        let ar1 = &report.analysis.models.ar1;
        assert!(
            ar1.ci95[0] < MAGNESIUM_EFFECT && MAGNESIUM_EFFECT < ar1.ci95[1],
            "{:?}",
            ar1
        );
        // Three of four guesses right (period 2 guessed wrong).
        let b = report.blinding.unwrap();
        assert_eq!((b.right, b.guesses), (3, 4));
        // The profile is stored, and its plan flags what the profile says: hypertension with a
        // kidney result (no kidney-function-unknown flag), levothyroxine spaced from the dose.
        let (stored, plan) = crate::profile::stored_plan(&store, person, &ctx)
            .unwrap()
            .unwrap();
        assert_eq!(stored.profile.age, 58);
        // Female 51+: RDA 320 mg/day (NIH ODS).
        assert_eq!(plan.rda_mg, Some(320));
        assert!(!plan
            .flags
            .iter()
            .any(|f| f.code == "kidney-function-unknown"));
        assert_eq!(plan.medicines.len(), 2);
        assert!(
            fill(&store, person, &ctx, 11).is_err(),
            "a used diary is refused"
        );
    }
}
