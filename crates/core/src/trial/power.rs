//! Simulated trials: for calibration tests and for `quietlegs trial power`, which reports how
//! often a design reaches a confident verdict, and how often it would wrongly say "helps".

use super::analysis::{analyze, AnalysisSpec};
use super::data::from_design;
use super::design::TrialDesign;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};
use serde::Serialize;
use std::collections::BTreeMap;

/// What a simulation assumes about the person.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Assumptions {
    /// True treatment − control difference in the outcome.
    pub effect: f64,
    /// Night-to-night standard deviation (marginal).
    pub sd: f64,
    /// Lag-1 autocorrelation of nights.
    pub rho: f64,
    /// Linear drift per day (e.g. seasonal change).
    pub drift_per_day: f64,
    /// Baseline level.
    pub baseline: f64,
    /// Share of nights not logged.
    pub missing: f64,
}

/// Simulated outcomes by day for one trial (effect applies from the first day of a treatment
/// period; the run-in is what absorbs onset in the real world).
pub fn simulate_outcomes(
    design: &TrialDesign,
    a: &Assumptions,
    rng: &mut ChaCha8Rng,
) -> BTreeMap<i64, f64> {
    let treatment = design
        .arms
        .iter()
        .position(|x| *x == design.treatment)
        .unwrap_or(0);
    let innovation = Normal::new(0.0, a.sd * (1.0 - a.rho * a.rho).max(0.0).sqrt()).ok();
    let start = Normal::new(0.0, a.sd).ok();
    let mut e = start.map(|d| d.sample(rng)).unwrap_or(0.0);
    let mut out = BTreeMap::new();
    let schedule = design.schedule();
    let last = design.last_day();
    let mut period = 0;
    for day in 0..=last {
        if day > 0 {
            e = a.rho * e + innovation.map(|d| d.sample(rng)).unwrap_or(0.0);
        }
        while period + 1 < schedule.len() && day > schedule[period].last_day {
            period += 1;
        }
        let p = &schedule[period];
        if day < p.first_day || day > p.last_day || rng.random_bool(a.missing.clamp(0.0, 1.0)) {
            continue;
        }
        let effect = if p.arm == treatment { a.effect } else { 0.0 };
        out.insert(day, a.baseline + a.drift_per_day * day as f64 + effect + e);
    }
    out
}

/// The result of a power simulation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PowerResult {
    pub cycles: u32,
    pub simulations: usize,
    /// Share of trials ending "likely helps" under the assumed effect.
    pub p_likely_helps: f64,
    /// Share ending with any confident verdict (likely helps, small benefit, no meaningful
    /// benefit, likely worse) under the assumed effect.
    pub p_confident: f64,
    /// Share wrongly ending "likely helps" when the true effect is zero.
    pub p_false_helps: f64,
}

/// Simulates `sims` trials of `design` (a fresh randomization each) under `a` and under no
/// effect. `progress` is called after each simulated trial.
pub fn power(
    design: &TrialDesign,
    spec: &AnalysisSpec,
    a: &Assumptions,
    sims: usize,
    seed: u64,
    progress: &mut dyn FnMut(usize),
) -> PowerResult {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut helps = 0usize;
    let mut confident = 0usize;
    let mut false_helps = 0usize;
    let mut spec = spec.clone();
    spec.complete = true;
    // The randomization test is not needed for the verdict; keep it small.
    spec.randomization_exact_max = 64;
    spec.randomization_monte_carlo = 1;
    let null = Assumptions { effect: 0.0, ..*a };
    for i in 0..sims {
        let mut d = design.clone();
        d.seed = rng.random();
        for (assumed, is_null) in [(a, false), (&null, true)] {
            let outcomes = simulate_outcomes(&d, assumed, &mut rng);
            let data = from_design(&d, &outcomes, d.last_day());
            let Ok(res) = analyze(&data, &spec) else {
                continue;
            };
            let label = res.verdict.label.as_str();
            if is_null {
                false_helps += usize::from(label == "likely-helps");
            } else {
                helps += usize::from(label == "likely-helps");
                confident += usize::from(label != "inconclusive");
            }
        }
        progress(i + 1);
    }
    let n = sims.max(1) as f64;
    PowerResult {
        cycles: design.cycles,
        simulations: sims,
        p_likely_helps: helps as f64 / n,
        p_confident: confident as f64 / n,
        p_false_helps: false_helps as f64 / n,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reference::ReferenceData;
    use crate::trial::design::{Comparison, Outcome, VerdictThresholds};
    use jiff::civil::date;

    pub(crate) fn spec_for(d: &TrialDesign) -> AnalysisSpec {
        let rule = ReferenceData::shipped().unwrap().rules.trial;
        AnalysisSpec {
            treatment: d.treatment.clone(),
            control: d.control.clone(),
            mcid: d.mcid,
            higher_is_better: false,
            thresholds: VerdictThresholds::from_rule(&rule),
            complete: true,
            blinded: true,
            placebo_controlled: true,
            randomization_exact_max: rule.randomization_exact_max,
            randomization_monte_carlo: 200,
            randomization_seed: 1,
            outcome: Some(d.outcome),
        }
    }

    fn design(cycles: u32) -> TrialDesign {
        let rule = ReferenceData::shipped().unwrap().rules.trial;
        let mut d = TrialDesign::with_defaults(
            &rule,
            Comparison::Placebo,
            vec!["magnesium".into(), "placebo".into()],
            Outcome::NightlySeverity,
            1,
            date(2026, 12, 1),
        );
        d.cycles = cycles;
        d
    }

    #[test]
    fn calibration_coverage_labels_and_power_over_1000_simulated_trials() {
        // 1,000 trials (3 cycles x 2 arms x 21-day periods, 7-day run-in: 126 nights), SD 1.5,
        // rho 0.5, 10 % missing nights, each simulated three times: true effect -1.0 (coverage
        // of the 95 % interval), no effect (the share of every label), and -2.0 = the MCID
        // (power). Lower is better. Figures are recorded in docs/trial.md.
        let mut d = design(3);
        d.period_days = 21;
        d.run_in_days = 7;
        let spec = AnalysisSpec {
            randomization_exact_max: 8,
            randomization_monte_carlo: 1,
            ..spec_for(&d)
        };
        let a = Assumptions {
            effect: -1.0,
            sd: 1.5,
            rho: 0.5,
            drift_per_day: 0.0,
            baseline: 5.0,
            missing: 0.1,
        };
        let null = Assumptions { effect: 0.0, ..a };
        let at_mcid = Assumptions { effect: -2.0, ..a };
        let mut rng = ChaCha8Rng::seed_from_u64(2026);
        let runs = 1000;
        let mut covered = 0;
        let mut null_labels: BTreeMap<String, usize> = BTreeMap::new();
        let mut mcid_labels: BTreeMap<String, usize> = BTreeMap::new();
        let mut small_labels: BTreeMap<String, usize> = BTreeMap::new();
        for _ in 0..runs {
            d.seed = rng.random();
            for (assumed, labels) in [
                (&a, &mut small_labels),
                (&null, &mut null_labels),
                (&at_mcid, &mut mcid_labels),
            ] {
                let data = from_design(&d, &simulate_outcomes(&d, assumed, &mut rng), d.last_day());
                let r = analyze(&data, &spec).unwrap();
                let [lo, hi] = r.models.ar1.ci95;
                // The headline never outruns the interval shown.
                match r.verdict.label.as_str() {
                    "likely-helps" | "small-benefit" => assert!(hi < 0.0, "{}", r.verdict.text),
                    "likely-worse" => assert!(lo > 0.0, "{}", r.verdict.text),
                    _ => {}
                }
                if assumed.effect == a.effect {
                    covered += usize::from(lo <= -1.0 && -1.0 <= hi);
                }
                *labels.entry(r.verdict.label).or_default() += 1;
            }
        }
        let coverage = covered as f64 / runs as f64;
        let share = |l: &BTreeMap<String, usize>, label: &str| {
            *l.get(label).unwrap_or(&0) as f64 / runs as f64
        };
        eprintln!(
            "coverage {coverage:.3}; no effect: {null_labels:?}; effect -1.0: {small_labels:?}; effect -2.0: {mcid_labels:?}"
        );
        assert!((0.93..=0.97).contains(&coverage), "coverage {coverage}");
        // With no effect a benefit headline needs the interval below 0: about 2.5 % of trials
        // (binomial SD 0.5 % over 1,000), and harm likewise.
        let false_benefit =
            share(&null_labels, "likely-helps") + share(&null_labels, "small-benefit");
        assert!(false_benefit <= 0.04, "{null_labels:?}");
        assert!(
            share(&null_labels, "likely-worse") <= 0.04,
            "{null_labels:?}"
        );
        // At an effect of the MCID, most trials see a benefit (recorded: docs/trial.md).
        let power = share(&mcid_labels, "likely-helps") + share(&mcid_labels, "small-benefit");
        assert!(power >= 0.8, "{mcid_labels:?}");
    }

    #[test]
    fn overstated_certainty_is_only_said_of_the_more_certain_model() {
        // 300 trials with negatively correlated nights (rho -0.4) and a small effect: the
        // mean-only model is then often the *less* certain one; the text may call it
        // overstated only when its interval is the narrower one.
        let mut d = design(3);
        d.period_days = 14;
        d.run_in_days = 3;
        let spec = AnalysisSpec {
            randomization_exact_max: 8,
            ..spec_for(&d)
        };
        let a = Assumptions {
            effect: -0.6,
            sd: 1.5,
            rho: -0.4,
            drift_per_day: 0.0,
            baseline: 5.0,
            missing: 0.1,
        };
        let mut rng = ChaCha8Rng::seed_from_u64(152);
        let (mut overstated, mut less_certain) = (0, 0);
        for _ in 0..300 {
            d.seed = rng.random();
            let data = from_design(&d, &simulate_outcomes(&d, &a, &mut rng), d.last_day());
            let r = analyze(&data, &spec).unwrap();
            let width = |ci: [f64; 2]| ci[1] - ci[0];
            let narrower = width(r.models.mean_only.ci95) < width(r.models.ar1.ci95);
            if r.verdict.text.contains("overstates certainty") {
                assert!(narrower, "{}", r.verdict.text);
                overstated += 1;
            }
            if r.verdict.text.contains("less certain of the two") {
                assert!(!narrower, "{}", r.verdict.text);
                less_certain += 1;
            }
        }
        eprintln!("overstated {overstated}, less certain {less_certain} of 300");
        // The wider-mean-only case does occur here, so the check above is exercised.
        assert!(less_certain > 0);
    }

    #[test]
    fn power_grows_with_cycles_and_false_helps_stay_rare() {
        let a = Assumptions {
            effect: -2.0,
            sd: 1.5,
            rho: 0.4,
            drift_per_day: 0.0,
            baseline: 5.0,
            missing: 0.0,
        };
        let d2 = design(2);
        let d4 = design(4);
        let p2 = power(&d2, &spec_for(&d2), &a, 60, 5, &mut |_| {});
        let p4 = power(&d4, &spec_for(&d4), &a, 60, 5, &mut |_| {});
        assert!(p4.p_likely_helps >= p2.p_likely_helps, "{p2:?} {p4:?}");
        assert!(p4.p_false_helps <= 0.1, "{p4:?}");
    }
}
