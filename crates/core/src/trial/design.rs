//! Trial design: arms, periods, cycles, run-in and washout, the outcome and its minimal
//! important difference, and the seeded randomization of the order inside every cycle. The
//! analysis plan is fixed at creation: its canonical JSON is hashed (SHA-256), and the hash is
//! checked before every analysis.

use crate::reference::TrialRule;
use jiff::civil::Date;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// What is compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Comparison {
    /// Magnesium against identical-looking placebo (blindable).
    Placebo,
    /// Magnesium against nothing (open label: cannot separate expectation from effect).
    Nothing,
    /// One form against another.
    Forms,
}

/// The primary outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// The diary's nightly RLS severity, 0-10.
    NightlySeverity,
    /// The weekly IRLS total, 0-40.
    WeeklyIrls,
}

/// A trial design as the person chose it (before randomization).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrialDesign {
    pub comparison: Comparison,
    /// Arm labels; the first is the treatment, and `control` names the comparator.
    pub arms: Vec<String>,
    pub treatment: String,
    pub control: String,
    pub period_days: u32,
    pub cycles: u32,
    pub run_in_days: u32,
    pub washout_days: u32,
    pub outcome: Outcome,
    pub mcid: f64,
    pub higher_is_better: bool,
    pub blinded: bool,
    pub seed: u64,
    pub start: Date,
}

/// A design that cannot be run.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct DesignError {
    pub field: String,
    pub message: String,
}

fn derr(field: &str, message: impl Into<String>) -> DesignError {
    DesignError {
        field: field.into(),
        message: message.into(),
    }
}

/// Input limits of a design (what a single person can run), not clinical rules.
const MAX_ARMS: usize = 4;
const PERIOD_DAYS: std::ops::RangeInclusive<u32> = 7..=120;
const CYCLES: std::ops::RangeInclusive<u32> = 1..=12;
const WASHOUT_DAYS_MAX: u32 = 60;

impl TrialDesign {
    /// The defaults of `rules.toml` `[trial]` for a comparison.
    pub fn with_defaults(
        rule: &TrialRule,
        comparison: Comparison,
        arms: Vec<String>,
        outcome: Outcome,
        seed: u64,
        start: Date,
    ) -> Self {
        let treatment = arms.first().cloned().unwrap_or_default();
        let control = arms.get(1).cloned().unwrap_or_default();
        Self {
            comparison,
            blinded: comparison != Comparison::Nothing,
            arms,
            treatment,
            control,
            period_days: rule.period_days,
            cycles: rule.cycles,
            run_in_days: rule.run_in_days,
            washout_days: rule.washout_days,
            outcome,
            mcid: match outcome {
                Outcome::NightlySeverity => rule.mcid_nightly_severity,
                Outcome::WeeklyIrls => rule.mcid_weekly_irls,
            },
            higher_is_better: false,
            seed,
            start,
        }
    }

    pub fn validate(&self) -> Result<(), DesignError> {
        if self.arms.len() < 2 || self.arms.len() > MAX_ARMS {
            return Err(derr(
                "arms",
                format!("{} arms: allowed 2 to {MAX_ARMS}", self.arms.len()),
            ));
        }
        let mut sorted = self.arms.clone();
        sorted.sort();
        sorted.dedup();
        if sorted.len() != self.arms.len() || self.arms.iter().any(|a| a.trim().is_empty()) {
            return Err(derr("arms", "arm labels must be distinct and not empty"));
        }
        for (field, label) in [("treatment", &self.treatment), ("control", &self.control)] {
            if !self.arms.contains(label) {
                return Err(derr(
                    field,
                    format!(
                        "'{label}' is not one of the arms ({})",
                        self.arms.join(", ")
                    ),
                ));
            }
        }
        if self.treatment == self.control {
            return Err(derr("control", "must differ from the treatment"));
        }
        if !PERIOD_DAYS.contains(&self.period_days) {
            return Err(derr(
                "period_days",
                format!(
                    "{} is out of range: allowed {} to {}",
                    self.period_days,
                    PERIOD_DAYS.start(),
                    PERIOD_DAYS.end()
                ),
            ));
        }
        if !CYCLES.contains(&self.cycles) {
            return Err(derr(
                "cycles",
                format!(
                    "{} is out of range: allowed {} to {}",
                    self.cycles,
                    CYCLES.start(),
                    CYCLES.end()
                ),
            ));
        }
        if self.run_in_days >= self.period_days {
            return Err(derr(
                "run_in_days",
                format!(
                    "{} must be shorter than the period ({} days)",
                    self.run_in_days, self.period_days
                ),
            ));
        }
        if self.washout_days > WASHOUT_DAYS_MAX {
            return Err(derr(
                "washout_days",
                format!(
                    "{} is out of range: allowed 0 to {WASHOUT_DAYS_MAX}",
                    self.washout_days
                ),
            ));
        }
        if !(self.mcid.is_finite() && self.mcid > 0.0) {
            return Err(derr("mcid", "must be more than 0"));
        }
        if self.blinded && self.comparison == Comparison::Nothing {
            return Err(derr(
                "blinded",
                "a comparison against nothing cannot be blinded; use a placebo",
            ));
        }
        Ok(())
    }

    /// The arm order inside each cycle, drawn from the seed: every cycle is shuffled.
    pub fn allocation(&self) -> Vec<Vec<usize>> {
        let mut rng = ChaCha8Rng::seed_from_u64(self.seed);
        (0..self.cycles)
            .map(|_| {
                let mut order: Vec<usize> = (0..self.arms.len()).collect();
                order.shuffle(&mut rng);
                order
            })
            .collect()
    }

    /// The periods in time order.
    pub fn schedule(&self) -> Vec<Period> {
        let mut out = Vec::new();
        let mut day = 0i64;
        let per_cycle = self.arms.len();
        for (c, order) in self.allocation().into_iter().enumerate() {
            for (k, arm) in order.into_iter().enumerate() {
                let index = c * per_cycle + k;
                out.push(Period {
                    index,
                    cycle: c,
                    arm,
                    first_day: day,
                    analysed_from_day: day + i64::from(self.run_in_days),
                    last_day: day + i64::from(self.period_days) - 1,
                });
                day += i64::from(self.period_days) + i64::from(self.washout_days);
            }
        }
        out
    }

    /// The last day of the trial (days counted from `start` = 0).
    pub fn last_day(&self) -> i64 {
        self.schedule().last().map(|p| p.last_day).unwrap_or(0)
    }

    /// Day number of a date (start = 0).
    pub fn day_of(&self, date: Date) -> i64 {
        (date - self.start).get_days() as i64
    }

    pub fn date_of(&self, day: i64) -> Date {
        self.start
            .checked_add(jiff::Span::new().days(day))
            .unwrap_or(self.start)
    }
}

/// One period of the schedule; days are counted from the trial's start (day 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Period {
    pub index: usize,
    pub cycle: usize,
    pub arm: usize,
    pub first_day: i64,
    /// Nights before this are run-in, not analysed.
    pub analysed_from_day: i64,
    pub last_day: i64,
}

/// The pre-registered analysis plan: everything that decides the result, fixed before the
/// first period. The allocation itself is not in it (so that showing the plan does not unblind);
/// a commitment (hash of the seed) is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AnalysisPlan {
    pub schema: String,
    pub comparison: Comparison,
    pub arms: Vec<String>,
    pub treatment: String,
    pub control: String,
    pub period_days: u32,
    pub cycles: u32,
    pub run_in_days: u32,
    pub washout_days: u32,
    pub outcome: Outcome,
    pub mcid: f64,
    pub higher_is_better: bool,
    pub blinded: bool,
    pub start: Date,
    pub allocation_commitment: String,
    pub primary_model: String,
    pub sensitivity_models: Vec<String>,
    pub verdict_thresholds: VerdictThresholds,
}

/// The verdict thresholds (from `rules.toml` `[trial]`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct VerdictThresholds {
    pub likely_helps_p_benefit: f64,
    pub likely_helps_p_mcid: f64,
    pub no_meaningful_benefit_p_mcid: f64,
    pub likely_worse_p_benefit: f64,
}

impl VerdictThresholds {
    pub fn from_rule(rule: &TrialRule) -> Self {
        Self {
            likely_helps_p_benefit: rule.likely_helps_p_benefit,
            likely_helps_p_mcid: rule.likely_helps_p_mcid,
            no_meaningful_benefit_p_mcid: rule.no_meaningful_benefit_p_mcid,
            likely_worse_p_benefit: rule.likely_worse_p_benefit,
        }
    }
}

pub const PLAN_SCHEMA: &str = "quietlegs.trial-plan/1";

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl AnalysisPlan {
    pub fn new(d: &TrialDesign, rule: &TrialRule) -> Self {
        Self {
            schema: PLAN_SCHEMA.into(),
            comparison: d.comparison,
            arms: d.arms.clone(),
            treatment: d.treatment.clone(),
            control: d.control.clone(),
            period_days: d.period_days,
            cycles: d.cycles,
            run_in_days: d.run_in_days,
            washout_days: d.washout_days,
            outcome: d.outcome,
            mcid: d.mcid,
            higher_is_better: d.higher_is_better,
            blinded: d.blinded,
            start: d.start,
            allocation_commitment: hex(&Sha256::digest(format!("quietlegs-allocation:{}", d.seed))),
            primary_model: "normal, one mean per arm, stationary AR(1) errors on the day grid; flat means, p(sigma^2) ~ 1/sigma^2, rho ~ U(-1,1); posterior by quadrature over rho (400 nodes, rho = tanh(u))".into(),
            sensitivity_models: vec![
                "mean-only (rho = 0)".into(),
                "AR(1) with a linear trend".into(),
                "cycle-blocked ANOVA on period means (treatment x cycle as error)".into(),
                "randomization test over the design's allocations (difference of arm means, two-sided)".into(),
            ],
            verdict_thresholds: VerdictThresholds::from_rule(rule),
        }
    }

    /// The canonical JSON (field order fixed by the struct) that is hashed.
    pub fn canonical_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// SHA-256 of the canonical JSON, hex.
    pub fn hash(&self) -> String {
        hex(&Sha256::digest(self.canonical_json().as_bytes()))
    }

    /// The design this plan describes, with its (unsealed) seed.
    pub fn design(&self, seed: u64) -> TrialDesign {
        TrialDesign {
            comparison: self.comparison,
            arms: self.arms.clone(),
            treatment: self.treatment.clone(),
            control: self.control.clone(),
            period_days: self.period_days,
            cycles: self.cycles,
            run_in_days: self.run_in_days,
            washout_days: self.washout_days,
            outcome: self.outcome,
            mcid: self.mcid,
            higher_is_better: self.higher_is_better,
            blinded: self.blinded,
            seed,
            start: self.start,
        }
    }

    /// Whether `seed` is the one the plan committed to.
    pub fn commits_to(&self, seed: u64) -> bool {
        self.allocation_commitment == hex(&Sha256::digest(format!("quietlegs-allocation:{seed}")))
    }

    /// The number of periods (arms x cycles).
    pub fn periods(&self) -> usize {
        self.arms.len() * self.cycles as usize
    }

    /// Days from the start of one period to the start of the next (period plus washout).
    fn stride_days(&self) -> i64 {
        i64::from(self.period_days) + i64::from(self.washout_days)
    }

    /// The calendar of period `index` (0-based), in days from the start: the same for every
    /// allocation, so it can be shown while the trial is blinded.
    pub fn period_calendar(&self, index: usize) -> PeriodCalendar {
        let first_day = index as i64 * self.stride_days();
        PeriodCalendar {
            period: index + 1,
            first_day,
            analysed_from_day: first_day + i64::from(self.run_in_days),
            last_day: first_day + i64::from(self.period_days) - 1,
        }
    }

    /// The last night of the trial (days from the start).
    pub fn last_day(&self) -> i64 {
        self.period_calendar(self.periods().saturating_sub(1))
            .last_day
    }

    /// Day number of a date (start = 0).
    pub fn day_of(&self, date: Date) -> i64 {
        (date - self.start).get_days() as i64
    }

    pub fn date_of(&self, day: i64) -> Date {
        self.start
            .checked_add(jiff::Span::new().days(day))
            .unwrap_or(self.start)
    }

    /// Where `date` falls in the trial (periods by number only: never the arm).
    pub fn phase_on(&self, date: Date) -> TrialPhase {
        let day = self.day_of(date);
        if day < 0 {
            return TrialPhase::NotStarted {
                days_to_start: -day,
            };
        }
        if day > self.last_day() {
            return TrialPhase::Over;
        }
        let index = (day / self.stride_days()) as usize;
        let day_in_period = day % self.stride_days() + 1;
        if day_in_period > i64::from(self.period_days) {
            TrialPhase::Washout {
                after_period: index + 1,
            }
        } else {
            TrialPhase::InPeriod {
                period: index + 1,
                day_in_period,
                run_in: day_in_period <= i64::from(self.run_in_days),
            }
        }
    }
}

/// A period's days (from the trial's start, day 0) without its arm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct PeriodCalendar {
    /// 1-based, as the containers are numbered.
    pub period: usize,
    pub first_day: i64,
    /// Nights before this are run-in, not analysed.
    pub analysed_from_day: i64,
    pub last_day: i64,
}

/// Where a date falls in a trial.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "phase", rename_all = "kebab-case")]
pub enum TrialPhase {
    NotStarted {
        days_to_start: i64,
    },
    InPeriod {
        /// 1-based.
        period: usize,
        /// 1-based day inside the period.
        day_in_period: i64,
        /// The night is in the period's run-in (not analysed).
        run_in: bool,
    },
    /// Between two periods.
    Washout {
        after_period: usize,
    },
    Over,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reference::ReferenceData;
    use jiff::civil::date;

    #[test]
    fn the_plan_calendar_matches_the_schedule_and_places_every_date() {
        let mut d = design(7);
        d.period_days = 10;
        d.run_in_days = 3;
        d.washout_days = 2;
        d.cycles = 2;
        let plan = AnalysisPlan::new(&d, &ReferenceData::shipped().unwrap().rules.trial);
        // 2 arms x 2 cycles = 4 periods of 10 nights with 2-night washouts: periods start on
        // days 0, 12, 24, 36; the last night is day 36 + 9 = 45.
        assert_eq!(plan.periods(), 4);
        assert_eq!(plan.last_day(), 45);
        assert_eq!(plan.last_day(), d.last_day());
        for p in d.schedule() {
            let c = plan.period_calendar(p.index);
            assert_eq!(
                (c.first_day, c.analysed_from_day, c.last_day),
                (p.first_day, p.analysed_from_day, p.last_day)
            );
        }
        let on = |day: i64| plan.phase_on(plan.date_of(day));
        assert_eq!(
            plan.phase_on(plan.date_of(-3)),
            TrialPhase::NotStarted { days_to_start: 3 }
        );
        assert_eq!(
            on(0),
            TrialPhase::InPeriod {
                period: 1,
                day_in_period: 1,
                run_in: true
            }
        );
        assert_eq!(
            on(3),
            TrialPhase::InPeriod {
                period: 1,
                day_in_period: 4,
                run_in: false
            }
        );
        assert_eq!(on(10), TrialPhase::Washout { after_period: 1 });
        assert_eq!(on(11), TrialPhase::Washout { after_period: 1 });
        assert_eq!(
            on(12),
            TrialPhase::InPeriod {
                period: 2,
                day_in_period: 1,
                run_in: true
            }
        );
        assert_eq!(
            on(45),
            TrialPhase::InPeriod {
                period: 4,
                day_in_period: 10,
                run_in: false
            }
        );
        assert_eq!(on(46), TrialPhase::Over);
    }

    fn design(seed: u64) -> TrialDesign {
        let rule = ReferenceData::shipped().unwrap().rules.trial;
        TrialDesign::with_defaults(
            &rule,
            Comparison::Placebo,
            vec!["magnesium".into(), "placebo".into()],
            Outcome::NightlySeverity,
            seed,
            date(2026, 12, 1),
        )
    }

    #[test]
    fn defaults_schedule_and_every_cycle_holds_every_arm_once() {
        let d = design(42);
        d.validate().unwrap();
        // Defaults: 28-day periods, 14-day run-in, 3 cycles of 2 arms -> 6 periods, 168 days.
        let s = d.schedule();
        assert_eq!(s.len(), 6);
        assert_eq!(d.last_day(), 167);
        assert_eq!(
            (s[1].first_day, s[1].analysed_from_day, s[1].last_day),
            (28, 42, 55)
        );
        for c in 0..3 {
            let mut arms: Vec<usize> = s.iter().filter(|p| p.cycle == c).map(|p| p.arm).collect();
            arms.sort();
            assert_eq!(arms, [0, 1]);
        }
    }

    #[test]
    fn the_order_comes_from_the_seed_and_differs_between_cycles_and_seeds() {
        assert_eq!(design(7).allocation(), design(7).allocation());
        // Over many seeds every first-cycle order occurs, and cycles are not copies of each other.
        let mut first_is_magnesium = 0;
        let mut cycles_differ = 0;
        for seed in 0..400 {
            let a = design(seed).allocation();
            first_is_magnesium += usize::from(a[0][0] == 0);
            cycles_differ += usize::from(a[0] != a[1] || a[1] != a[2]);
        }
        // Fair coin: 200 expected, SD 10.
        assert!(
            (160..=240).contains(&first_is_magnesium),
            "{first_is_magnesium}"
        );
        // P(all three cycles equal) = 1/4, so about 300 of 400 differ.
        assert!((260..=340).contains(&cycles_differ), "{cycles_differ}");
    }

    #[test]
    fn the_plan_hash_changes_with_anything_that_decides_the_result() {
        let rule = ReferenceData::shipped().unwrap().rules.trial;
        let base = AnalysisPlan::new(&design(1), &rule);
        assert_eq!(base.hash(), AnalysisPlan::new(&design(1), &rule).hash());
        let mut d = design(1);
        d.mcid = 1.5;
        assert_ne!(AnalysisPlan::new(&d, &rule).hash(), base.hash());
        assert_ne!(AnalysisPlan::new(&design(2), &rule).hash(), base.hash());
        assert!(base.commits_to(1) && !base.commits_to(2));
        assert_eq!(base.design(1), design(1));
        // The plan does not reveal the allocation.
        assert!(!base.canonical_json().contains("\"seed\""));
    }

    #[test]
    fn bad_designs_name_the_field() {
        let mut d = design(1);
        d.run_in_days = 28;
        assert_eq!(d.validate().unwrap_err().field, "run_in_days");
        let mut d = design(1);
        d.arms = vec!["magnesium".into()];
        assert_eq!(d.validate().unwrap_err().field, "arms");
        let mut d = design(1);
        d.comparison = Comparison::Nothing;
        assert_eq!(d.validate().unwrap_err().field, "blinded");
    }
}
