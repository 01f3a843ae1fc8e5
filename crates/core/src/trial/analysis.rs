//! The pre-registered analysis of an n-of-1 trial and its plain-language verdict.

use super::data::TrialData;
use super::design::{Outcome, VerdictThresholds};
use super::model::{contrast_posterior, ContrastPosterior, Errors, ModelError, Obs};
use rand::seq::SliceRandom;
use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;
use statrs::distribution::{ContinuousCDF, FisherSnedecor};

/// What the analysis is asked.
#[derive(Debug, Clone, PartialEq)]
pub struct AnalysisSpec {
    pub treatment: String,
    pub control: String,
    pub mcid: f64,
    pub higher_is_better: bool,
    pub thresholds: VerdictThresholds,
    /// All planned periods have been run (and, if blinded, the trial is unblinded).
    pub complete: bool,
    pub blinded: bool,
    /// Placebo-controlled (a comparison against nothing cannot separate expectation).
    pub placebo_controlled: bool,
    pub randomization_exact_max: u64,
    pub randomization_monte_carlo: u64,
    pub randomization_seed: u64,
    /// The outcome, when known (a stored trial); a CSV's scale is not known.
    pub outcome: Option<Outcome>,
}

/// The two-sided level at which a sensitivity analysis is read as finding a difference: the
/// same 5 % as the primary model's 95 % interval, so that "agrees" means the same thing for all.
pub const SENSITIVITY_ALPHA: f64 = 0.05;

/// Outcomes whose pooled within-arm spread is below this share of their size are treated as
/// having no night-to-night variation (a constant, up to floating-point round-off).
const NO_VARIATION_RELATIVE: f64 = 1e-9;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Contrast {
    pub treatment: String,
    pub control: String,
}

/// The posterior summary of one Bayesian model.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BayesSummary {
    pub mean: f64,
    pub median: f64,
    pub ci95: [f64; 2],
    pub p_benefit: f64,
    pub p_mcid: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rho_mean: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CycleAnova {
    pub f: f64,
    pub df: [usize; 2],
    pub p: f64,
    pub note: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RandomizationTest {
    pub p: f64,
    pub allocations: u64,
    /// "exact" or "monte-carlo (seed N)".
    pub method: String,
    pub statistic: f64,
    /// The smallest p-value this design's allocation set can give: with two arms the
    /// mirror-image allocation is always as extreme as the observed one, so 2 / allocations
    /// (exact); 1 / (draws + 1) by Monte Carlo.
    pub min_p: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Models {
    pub ar1: BayesSummary,
    pub mean_only: BayesSummary,
    /// AR(1) with a linear trend (period effects / drift).
    pub ar1_trend: Option<BayesSummary>,
    pub cycle_anova: Option<CycleAnova>,
    pub randomization: Option<RandomizationTest>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NightCounts {
    pub used: usize,
    pub missing: usize,
    pub run_in_excluded: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PeriodMean {
    pub period: usize,
    pub cycle: Option<usize>,
    pub arm: String,
    pub nights: usize,
    pub mean: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Verdict {
    pub label: String,
    pub text: String,
}

/// The analysis (its JSON is documented in docs/trial.md).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TrialAnalysis {
    pub contrast: Contrast,
    pub models: Models,
    pub nights: NightCounts,
    pub period_means: Vec<PeriodMean>,
    pub complete: bool,
    pub blinded: bool,
    pub mcid: f64,
    pub higher_is_better: bool,
    pub verdict: Verdict,
    /// Plain-language warnings about the data or the design (also in the verdict text when
    /// they bear on it): merged periods, a single cycle.
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AnalysisError {
    #[error("arm '{0}' is not in the trial")]
    UnknownArm(String),
    #[error("the treatment and the control are the same arm ('{0}'): compare two different arms")]
    SameArm(String),
    #[error("cannot be analysed: {0}")]
    NoVariation(String),
    #[error("{0}")]
    Model(#[from] ModelError),
}

fn summarise(post: &ContrastPosterior, spec: &AnalysisSpec, with_rho: bool) -> BayesSummary {
    let (p_benefit, p_mcid) = if spec.higher_is_better {
        (1.0 - post.cdf(0.0), 1.0 - post.cdf(spec.mcid))
    } else {
        (post.cdf(0.0), post.cdf(-spec.mcid))
    };
    BayesSummary {
        mean: post.mean(),
        median: post.quantile(0.5),
        ci95: [post.quantile(0.025), post.quantile(0.975)],
        p_benefit,
        p_mcid,
        rho_mean: with_rho.then_some(post.rho_mean),
    }
}

fn cycle_anova(data: &TrialData, means: &[PeriodMean]) -> Option<CycleAnova> {
    let k = data.arms.len();
    // [cycle][arm] period means; a cycle counts when all its periods have a mean.
    let mut rows: std::collections::BTreeMap<usize, Vec<f64>> = Default::default();
    for m in means {
        if let (Some(c), Some(v)) = (m.cycle, m.mean) {
            let arm = data.arms.iter().position(|a| *a == m.arm).unwrap_or(0);
            rows.entry(c).or_insert_with(|| vec![f64::NAN; k])[arm] = v;
        }
    }
    let table: Vec<Vec<f64>> = rows
        .into_values()
        .filter(|row| row.iter().all(|v| v.is_finite()))
        .collect();
    let c = table.len();
    if c < 2 {
        return None;
    }
    let grand = table.iter().flatten().sum::<f64>() / (c * k) as f64;
    let arm_mean = |a: usize| table.iter().map(|r| r[a]).sum::<f64>() / c as f64;
    let cyc_mean = |i: usize| table[i].iter().sum::<f64>() / k as f64;
    let ss_t: f64 = (0..k)
        .map(|a| c as f64 * (arm_mean(a) - grand).powi(2))
        .sum();
    let ss_c: f64 = (0..c)
        .map(|i| k as f64 * (cyc_mean(i) - grand).powi(2))
        .sum();
    let ss_total: f64 = table.iter().flatten().map(|v| (v - grand).powi(2)).sum();
    let ss_int = (ss_total - ss_t - ss_c).max(0.0);
    let (df1, df2) = (k - 1, (k - 1) * (c - 1));
    if ss_int <= 1e-12 {
        return None;
    }
    let f = (ss_t / df1 as f64) / (ss_int / df2 as f64);
    let p = FisherSnedecor::new(df1 as f64, df2 as f64)
        .map(|d| 1.0 - d.cdf(f))
        .unwrap_or(f64::NAN);
    let note = if c == 2 {
        "Only 2 complete cycles: one error degree of freedom, so this test is weak however large F is.".to_string()
    } else {
        format!("{c} complete cycles of period means; treatment x cycle interaction as the error.")
    };
    Some(CycleAnova {
        f,
        df: [df1, df2],
        p,
        note,
    })
}

/// Difference of arm means (treatment − control) over the analysed nights, from each period's
/// (sum, count) of analysed outcomes, with the arm of each period taken from `period_arm`.
fn arm_difference(sums: &[(f64, usize)], period_arm: &[usize], t: usize, c: usize) -> f64 {
    let (mut st, mut nt, mut sc, mut nc) = (0.0, 0usize, 0.0, 0usize);
    for (&(sum, count), &arm) in sums.iter().zip(period_arm) {
        if arm == t {
            st += sum;
            nt += count;
        } else if arm == c {
            sc += sum;
            nc += count;
        }
    }
    if nt == 0 || nc == 0 {
        return f64::NAN;
    }
    st / nt as f64 - sc / nc as f64
}

fn permutations(items: &[usize]) -> Vec<Vec<usize>> {
    if items.len() <= 1 {
        return vec![items.to_vec()];
    }
    let mut out = Vec::new();
    for i in 0..items.len() {
        let mut rest = items.to_vec();
        let x = rest.remove(i);
        for mut p in permutations(&rest) {
            p.insert(0, x);
            out.push(p);
        }
    }
    out
}

fn randomization_test(
    data: &TrialData,
    spec: &AnalysisSpec,
    t: usize,
    c: usize,
) -> Option<RandomizationTest> {
    let n_periods = data.nights.iter().map(|n| n.period + 1).max().unwrap_or(0);
    let mut period_arm = vec![0usize; n_periods];
    let mut period_cycle = vec![None; n_periods];
    for n in &data.nights {
        period_arm[n.period] = n.arm;
        period_cycle[n.period] = n.cycle;
    }
    let mut sums = vec![(0.0, 0usize); n_periods];
    for n in data.nights.iter().filter(|n| !n.run_in) {
        if let Some(y) = n.outcome {
            sums[n.period].0 += y;
            sums[n.period].1 += 1;
        }
    }
    let observed = arm_difference(&sums, &period_arm, t, c);
    if !observed.is_finite() {
        return None;
    }
    // Periods of each complete cycle; the arms are permuted inside each.
    let mut cycles: Vec<Vec<usize>> = Vec::new();
    for (p, cyc) in period_cycle.iter().enumerate() {
        if let Some(cy) = cyc {
            if cycles.len() <= *cy {
                cycles.resize(cy + 1, Vec::new());
            }
            cycles[*cy].push(p);
        }
    }
    cycles.retain(|c| !c.is_empty());
    if cycles.is_empty() {
        return None;
    }
    let k = data.arms.len();
    let per_cycle = permutations(&(0..k).collect::<Vec<_>>());
    let total = (per_cycle.len() as u64)
        .checked_pow(cycles.len() as u32)
        .unwrap_or(u64::MAX);
    let extreme =
        |arms: &[usize]| arm_difference(&sums, arms, t, c).abs() >= observed.abs() - 1e-12;
    let mut assignment = period_arm.clone();
    if total <= spec.randomization_exact_max {
        let mut hits = 0u64;
        let mut idx = vec![0usize; cycles.len()];
        loop {
            for (ci, periods) in cycles.iter().enumerate() {
                for (slot, &p) in periods.iter().enumerate() {
                    assignment[p] = per_cycle[idx[ci]][slot % k];
                }
            }
            hits += u64::from(extreme(&assignment));
            // Odometer over the cycles.
            let mut pos = 0;
            loop {
                if pos == idx.len() {
                    return Some(RandomizationTest {
                        p: hits as f64 / total as f64,
                        allocations: total,
                        method: "exact".into(),
                        statistic: observed,
                        min_p: (if k == 2 { 2.0 } else { 1.0 }) / total as f64,
                    });
                }
                idx[pos] += 1;
                if idx[pos] < per_cycle.len() {
                    break;
                }
                idx[pos] = 0;
                pos += 1;
            }
        }
    }
    let mut rng = ChaCha8Rng::seed_from_u64(spec.randomization_seed);
    let draws = spec.randomization_monte_carlo.max(1);
    // Each draw only re-deals the arms inside every cycle, so it needs only each cycle's
    // period sums, and the fixed part from periods outside complete cycles: O(periods) a draw.
    let add = |acc: &mut (f64, usize, f64, usize), arm: usize, (sum, count): (f64, usize)| {
        if arm == t {
            acc.0 += sum;
            acc.1 += count;
        } else if arm == c {
            acc.2 += sum;
            acc.3 += count;
        }
    };
    let mut fixed = (0.0, 0usize, 0.0, 0usize);
    for (p, cyc) in period_cycle.iter().enumerate() {
        if cyc.is_none() {
            add(&mut fixed, period_arm[p], sums[p]);
        }
    }
    let slots: Vec<Vec<(f64, usize)>> = cycles
        .iter()
        .map(|periods| periods.iter().map(|&p| sums[p]).collect())
        .collect();
    let mut hits = 1u64; // the observed allocation counts (Phipson & Smyth)
    let mut arms: Vec<usize> = (0..k).collect();
    let (mut bits, mut bits_left) = (0u64, 0u32);
    for _ in 0..draws {
        let mut acc = fixed;
        for slot in &slots {
            if k == 2 {
                // Two arms: one random bit per cycle, 64 cycles per draw of the generator.
                if bits_left == 0 {
                    bits = rng.next_u64();
                    bits_left = 64;
                }
                arms[0] = (bits & 1) as usize;
                arms[1] = 1 - arms[0];
                bits >>= 1;
                bits_left -= 1;
            } else {
                for (i, a) in arms.iter_mut().enumerate() {
                    *a = i;
                }
                arms.shuffle(&mut rng);
            }
            for (i, &ps) in slot.iter().enumerate() {
                add(&mut acc, arms[i % k], ps);
            }
        }
        let (st, nt, sc, nc) = acc;
        let diff = if nt == 0 || nc == 0 {
            f64::NAN
        } else {
            st / nt as f64 - sc / nc as f64
        };
        hits += u64::from(diff.abs() >= observed.abs() - 1e-12);
    }
    Some(RandomizationTest {
        p: hits as f64 / (draws + 1) as f64,
        allocations: total,
        method: format!(
            "monte-carlo ({draws} draws, seed {})",
            spec.randomization_seed
        ),
        statistic: observed,
        min_p: 1.0 / (draws + 1) as f64,
    })
}

/// A signed effect with one decimal, or more while one would show a non-zero value as zero;
/// never "-0.0".
pub fn signed(x: f64) -> String {
    for decimals in 1..=3 {
        let f = 10f64.powi(decimals);
        let r = (x * f).round() / f;
        if r != 0.0 {
            return format!("{r:+.*}", decimals as usize);
        }
    }
    "0.0".into()
}

/// A probability in percent; below 1 % and above 99 % it says so rather than rounding to
/// "0 %" or "100 %", which would claim certainty.
pub fn percent(p: f64) -> String {
    if p < 0.01 {
        "< 1 %".into()
    } else if p > 0.99 {
        "> 99 %".into()
    } else {
        format!("{:.0} %", p * 100.0)
    }
}

/// "1 point", "2 points", "1.5 points": `amount` as printed.
fn points(amount: &str) -> String {
    let unit = if matches!(amount, "1" | "+1" | "-1") {
        "point"
    } else {
        "points"
    };
    format!("{amount} {unit}")
}

/// Which way a result points for the person: benefit, harm or no clear difference.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Direction {
    Benefit,
    Harm,
    Unclear,
}

impl Direction {
    /// From a 95 % interval of treatment − control: clear only when it excludes 0.
    fn of_interval(ci: [f64; 2], higher_is_better: bool) -> Self {
        let up = if ci[0] > 0.0 {
            Some(true)
        } else if ci[1] < 0.0 {
            Some(false)
        } else {
            None
        };
        Self::of_sign(up, higher_is_better)
    }

    /// From a test: clear when p < SENSITIVITY_ALPHA, in the direction of `effect`.
    fn of_test(p: f64, effect: f64, higher_is_better: bool) -> Self {
        let clear = p < SENSITIVITY_ALPHA && effect != 0.0;
        Self::of_sign(clear.then_some(effect > 0.0), higher_is_better)
    }

    fn of_sign(up: Option<bool>, higher_is_better: bool) -> Self {
        match up {
            None => Self::Unclear,
            Some(up) if up == higher_is_better => Self::Benefit,
            Some(_) => Self::Harm,
        }
    }

    fn words(self) -> &'static str {
        match self {
            Self::Benefit => "points to a benefit",
            Self::Harm => "points to harm",
            Self::Unclear => "finds no clear difference",
        }
    }
}

/// Complete cycles that hold analysed nights of every arm.
fn complete_cycles(means: &[PeriodMean]) -> usize {
    let mut by_cycle: std::collections::BTreeMap<usize, (usize, usize)> = Default::default();
    for m in means {
        if let Some(c) = m.cycle {
            let e = by_cycle.entry(c).or_default();
            e.0 += 1;
            e.1 += usize::from(m.mean.is_some());
        }
    }
    by_cycle.values().filter(|(n, with)| n == with).count()
}

/// The sentence saying how the sensitivity analyses (mean-only, cycle ANOVA, randomization
/// test) disagree with the primary model, or "" when none does.
fn sensitivity_sentence(
    primary: &BayesSummary,
    models: &Models,
    arms: usize,
    anova_effect: Option<f64>,
    higher_is_better: bool,
) -> String {
    let main = Direction::of_interval(primary.ci95, higher_is_better);
    let mut parts: Vec<String> = Vec::new();
    let mut notes: Vec<String> = Vec::new();
    let mean_only = Direction::of_interval(models.mean_only.ci95, higher_is_better);
    if mean_only != main {
        parts.push(format!("the mean-only model {}", mean_only.words()));
        let width = |b: &BayesSummary| b.ci95[1] - b.ci95[0];
        if width(&models.mean_only) < width(primary) {
            notes.push("The mean-only model ignores the correlation between nights and here it is the more certain of the two (a narrower interval): it overstates certainty.".into());
        } else {
            notes.push("The mean-only model ignores the correlation between nights, yet here it is the less certain of the two (a wider interval, as when nights alternate up and down): its doubt deserves weight.".into());
        }
    }
    // The ANOVA's F has no direction; with two arms its sign is that of the arm difference.
    if let (Some(a), Some(effect), 2) = (&models.cycle_anova, anova_effect, arms) {
        let d = Direction::of_test(a.p, effect, higher_is_better);
        if d != main {
            parts.push(format!("the cycle ANOVA (p = {:.3}) {}", a.p, d.words()));
        }
    }
    // A test that cannot reach the 5 % level (too few allocations) says nothing either way
    // at that level: it is not counted as disagreeing (the table states its smallest p).
    if let Some(r) = models
        .randomization
        .as_ref()
        .filter(|r| r.min_p < SENSITIVITY_ALPHA)
    {
        let d = Direction::of_test(r.p, r.statistic, higher_is_better);
        if d != main {
            parts.push(format!(
                "the randomization test (p = {:.3}) {}",
                r.p,
                d.words()
            ));
        }
    }
    if parts.is_empty() {
        return String::new();
    }
    let primary_words = match main {
        Direction::Benefit => "finds a benefit",
        Direction::Harm => "finds harm",
        Direction::Unclear => "finds no clear difference",
    };
    let mut out = format!(
        " Sensitivity analyses disagree with the primary model, which {primary_words}: {}.",
        parts.join("; ")
    );
    for n in notes {
        out.push(' ');
        out.push_str(&n);
    }
    if main != Direction::Unclear {
        out.push_str(
            " The result depends on the primary model's assumptions; hold it less firmly.",
        );
    }
    out
}

fn caveat(spec: &AnalysisSpec) -> String {
    let (t, c) = (&spec.treatment, &spec.control);
    match (spec.placebo_controlled, spec.blinded) {
        (true, true) => format!("The trial was blinded and placebo-controlled, so expectation is balanced between {t} and {c}."),
        (true, false) => format!("The trial was placebo-controlled but not blinded: expectation may have favoured {t} or {c}."),
        (false, _) => {
            let size = match spec.outcome {
                Some(Outcome::WeeklyIrls) => "in RLS trials placebo alone lowers the IRLS total (0-40) by 5-9 points",
                Some(Outcome::NightlySeverity) => "in RLS trials placebo alone brings a large improvement (5-9 points on the 0-40 IRLS; no figure is established for the 0-10 nightly severity used here)",
                None => "in RLS trials placebo alone brings a large improvement (5-9 points on the 0-40 IRLS; how much on this file's outcome is not known)",
            };
            format!("Open label, with no placebo: {size}, so this cannot separate the effect of {t} from expectation.")
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn verdict(
    s: &BayesSummary,
    spec: &AnalysisSpec,
    models: &Models,
    arms: usize,
    anova_effect: Option<f64>,
    warnings: &[String],
    periods_done: usize,
    planned: usize,
) -> Verdict {
    let th = &spec.thresholds;
    let better = if spec.higher_is_better {
        "higher"
    } else {
        "lower"
    };
    let mcid = format!("{}", spec.mcid);
    let effect = format!(
        "{} minus {}: {} (95 % interval {} to {}; {better} is better). Probability that {} is better: {}; that it is better by at least {} (the minimal important difference): {}.",
        spec.treatment, spec.control, points(&signed(s.mean)), signed(s.ci95[0]), signed(s.ci95[1]),
        spec.treatment, percent(s.p_benefit), points(&mcid), percent(s.p_mcid)
    );
    let caveat = caveat(spec);
    let sensitivity = sensitivity_sentence(s, models, arms, anova_effect, spec.higher_is_better);
    let warned: String = warnings.iter().map(|w| format!(" {w}")).collect();
    if !spec.complete {
        return Verdict {
            label: "incomplete".into(),
            text: format!(
                "The trial is incomplete ({periods_done} of {planned} periods): no verdict, and no claim of benefit, until it is finished. Interim only: {effect}{warned} {caveat}"
            ),
        };
    }
    // One rule: a headline of benefit or harm only when the 95 % interval shown excludes no
    // effect (with the plan's thresholds on top; from 0.975 / 0.025 they are the same rule).
    let direction = Direction::of_interval(s.ci95, spec.higher_is_better);
    let benefit = direction == Direction::Benefit && s.p_benefit >= th.likely_helps_p_benefit;
    let harm = direction == Direction::Harm && s.p_benefit <= th.likely_worse_p_benefit;
    let (label, head) = if benefit && s.p_mcid >= th.likely_helps_p_mcid {
        (
            "likely-helps",
            format!(
                "{} likely helps you, by a margin that matters.",
                spec.treatment
            ),
        )
    } else if benefit {
        ("small-benefit", format!("{} probably helps a little, but likely less than the minimal important difference.", spec.treatment))
    } else if harm {
        (
            "likely-worse",
            format!(
                "{} is likely worse for you than {}.",
                spec.treatment, spec.control
            ),
        )
    } else if s.p_mcid < th.no_meaningful_benefit_p_mcid {
        (
            "no-meaningful-benefit",
            format!("{} is unlikely to help you meaningfully.", spec.treatment),
        )
    } else {
        (
            "inconclusive",
            "The trial cannot tell: the data fit both a benefit and none.".to_string(),
        )
    };
    Verdict {
        label: label.into(),
        text: format!("{head} {effect}{sensitivity}{warned} {caveat}"),
    }
}

/// Refuses data whose arms are each constant: with no night-to-night variation the models'
/// uncertainty is zero and any label would be decided by round-off.
fn check_variation(obs: &[Obs], arms: &[String]) -> Result<(), AnalysisError> {
    let k = arms.len();
    let mut sum = vec![0.0; k];
    let mut count = vec![0usize; k];
    for o in obs {
        sum[o.arm] += o.y;
        count[o.arm] += 1;
    }
    let mean: Vec<f64> = (0..k).map(|a| sum[a] / count[a].max(1) as f64).collect();
    let ss: f64 = obs.iter().map(|o| (o.y - mean[o.arm]).powi(2)).sum();
    let size = obs.iter().map(|o| o.y.abs()).fold(0.0, f64::max).max(1.0);
    if ss <= (NO_VARIATION_RELATIVE * size).powi(2) * obs.len() as f64 {
        let each: Vec<String> = (0..k)
            .filter(|&a| count[a] > 0)
            .map(|a| format!("{} always {}", arms[a], mean[a]))
            .collect();
        return Err(AnalysisError::NoVariation(format!(
            "every arm has the same outcome on every analysed night ({}); with no night-to-night variation there is no uncertainty to measure, so no interval or probability can be given",
            each.join(", ")
        )));
    }
    Ok(())
}

/// Runs every pre-registered model on the data.
pub fn analyze(data: &TrialData, spec: &AnalysisSpec) -> Result<TrialAnalysis, AnalysisError> {
    let t = data
        .arms
        .iter()
        .position(|a| *a == spec.treatment)
        .ok_or_else(|| AnalysisError::UnknownArm(spec.treatment.clone()))?;
    let c = data
        .arms
        .iter()
        .position(|a| *a == spec.control)
        .ok_or_else(|| AnalysisError::UnknownArm(spec.control.clone()))?;
    if t == c {
        return Err(AnalysisError::SameArm(spec.treatment.clone()));
    }
    let obs: Vec<Obs> = data
        .analysed()
        .map(|(n, y)| Obs {
            day: n.day,
            arm: n.arm,
            y,
        })
        .collect();
    check_variation(&obs, &data.arms)?;
    let k = data.arms.len();
    let ar1 = contrast_posterior(&obs, k, (t, c), Errors::Ar1, false)?;
    let mean_only = contrast_posterior(&obs, k, (t, c), Errors::Independent, false)?;
    let trend = contrast_posterior(&obs, k, (t, c), Errors::Ar1, true).ok();
    // Period means in one pass: (cycle, arm, analysed sum, analysed count) per period.
    let n_periods = data.nights.iter().map(|n| n.period + 1).max().unwrap_or(0);
    type PeriodAcc = (Option<usize>, usize, f64, usize);
    let mut acc: Vec<Option<PeriodAcc>> = vec![None; n_periods];
    for n in &data.nights {
        let e = acc[n.period].get_or_insert((n.cycle, n.arm, 0.0, 0));
        if let (false, Some(y)) = (n.run_in, n.outcome) {
            e.2 += y;
            e.3 += 1;
        }
    }
    let period_means: Vec<PeriodMean> = acc
        .into_iter()
        .enumerate()
        .filter_map(|(p, e)| {
            e.map(|(cycle, arm, sum, count)| PeriodMean {
                period: p,
                cycle,
                arm: data.arms[arm].clone(),
                nights: count,
                mean: (count > 0).then(|| sum / count as f64),
            })
        })
        .collect();
    let models = Models {
        ar1: summarise(&ar1, spec, true),
        mean_only: summarise(&mean_only, spec, false),
        ar1_trend: trend.as_ref().map(|p| summarise(p, spec, true)),
        cycle_anova: cycle_anova(data, &period_means),
        randomization: randomization_test(data, spec, t, c),
    };
    // Treatment − control over the cycle ANOVA's table (the direction of its F with two arms).
    let anova_effect = {
        let mean_of = |arm: &str| {
            let v: Vec<f64> = period_means
                .iter()
                .filter(|m| m.cycle.is_some() && m.arm == arm)
                .filter_map(|m| m.mean)
                .collect();
            (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
        };
        mean_of(&spec.treatment)
            .zip(mean_of(&spec.control))
            .map(|(a, b)| a - b)
    };
    let nights = NightCounts {
        used: obs.len(),
        missing: data.missing().count(),
        run_in_excluded: data.nights.iter().filter(|n| n.run_in).count(),
    };
    let mut warnings = data.warnings.clone();
    match complete_cycles(&period_means) {
        0 => warnings.push("No complete cycle (every arm once in consecutive periods): a difference between the arms cannot be told apart from drift over time or from a period effect; complete cycles are needed before relying on it.".into()),
        1 => warnings.push("Only one cycle: with each arm run once, a difference between the arms cannot be told apart from drift over time or from a period effect; more cycles are needed before relying on it.".into()),
        _ => {}
    }
    let verdict = verdict(
        &models.ar1,
        spec,
        &models,
        k,
        anova_effect,
        &warnings,
        n_periods,
        data.periods_planned,
    );
    Ok(TrialAnalysis {
        contrast: Contrast {
            treatment: spec.treatment.clone(),
            control: spec.control.clone(),
        },
        models,
        nights,
        period_means,
        complete: spec.complete,
        blinded: spec.blinded,
        mcid: spec.mcid,
        higher_is_better: spec.higher_is_better,
        verdict,
        warnings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reference::ReferenceData;
    use crate::trial::data::from_csv;
    use proptest::prelude::*;

    fn spec(treatment: &str, control: &str) -> AnalysisSpec {
        let rule = ReferenceData::shipped().unwrap().rules.trial;
        AnalysisSpec {
            treatment: treatment.into(),
            control: control.into(),
            mcid: 2.0,
            higher_is_better: false,
            thresholds: VerdictThresholds::from_rule(&rule),
            complete: true,
            blinded: true,
            placebo_controlled: true,
            randomization_exact_max: rule.randomization_exact_max,
            randomization_monte_carlo: 1000,
            randomization_seed: 7,
            outcome: None,
        }
    }

    /// Two cycles of A/B periods, 3 nights each: A = 5,6,7 | B = 3,3,3 | B = 2,3,4 | A = 6,6,6.
    /// (The period column keeps the two B periods apart: without it, one run of B is one period.)
    const TINY: &str = "day,condition,outcome,period\n1,A,5,1\n2,A,6,1\n3,A,7,1\n4,B,3,2\n5,B,3,2\n6,B,3,2\n7,B,2,3\n8,B,3,3\n9,B,4,3\n10,A,6,4\n11,A,6,4\n12,A,6,4\n";

    #[test]
    fn hand_checked_anova_and_randomization_test() {
        let data = from_csv(TINY, "B", 0).unwrap();
        let r = analyze(&data, &spec("A", "B")).unwrap();
        // Period means: cycle 0: A 6, B 3; cycle 1: B 3, A 6. Treatment effect exactly 3 in both
        // cycles, so the interaction SS is 0 and the ANOVA is undefined (reported as absent).
        assert!(r.models.cycle_anova.is_none());
        // Randomization: 2 cycles of 2 arms -> 4 allocations; statistic = mean(A) - mean(B) =
        // 6 - 3 = 3. Swapping one cycle gives 0, both gives -3: |stat| >= 3 in 2 of 4 -> p = 0.5.
        let rt = r.models.randomization.unwrap();
        assert_eq!(
            (rt.allocations, rt.p, rt.method.as_str()),
            (4, 0.5, "exact")
        );
        // The mirror image of the observed allocation is as extreme: p >= 2/4.
        assert_eq!(rt.min_p, 0.5);
        assert!((rt.statistic - 3.0).abs() < 1e-12);
        // Mean-only model: the pooled two-sample t. A: 5,6,7,6,6,6 (mean 6, SS 2); B: 3,3,3,2,3,4
        // (mean 3, SS 2); s² = 4/10; se = sqrt(0.4 (1/6 + 1/6)) = 0.36515; t(0.975, 10) = 2.22814;
        // interval 3 ± 0.81361.
        let m = &r.models.mean_only;
        assert!((m.mean - 3.0).abs() < 1e-9);
        assert!(
            (m.ci95[0] - 2.18639).abs() < 1e-4 && (m.ci95[1] - 3.81361).abs() < 1e-4,
            "{:?}",
            m.ci95
        );
        assert_eq!(r.nights.used, 12);
    }

    #[test]
    fn hand_checked_anova_with_an_interaction() {
        // Period means: cycle 0 A 6, B 3; cycle 1 B 4, A 5; cycle 2 A 7, B 3.
        // Grand 4.6667; arm means A 6, B 3.3333; SS_t = 3 (1.3333² + 1.3333²) = 10.6667;
        // cycle means 4.5, 4.5, 5 -> SS_c = 2 (0.0278 + 0.0278 + 0.1111) = 0.3333;
        // SS_total = 1.7778 + 2.7778 + 0.4444 + 0.1111 + 5.4444 + 2.7778 = 13.3333;
        // SS_int = 2.3333 on 2 df; F = 10.6667 / 1.1667 = 9.1429 on (1, 2); p = 0.0942.
        let csv =
            "day,condition,outcome,period\n1,A,6,1\n2,B,3,2\n3,B,4,3\n4,A,5,4\n5,A,7,5\n6,B,3,6\n";
        let r = analyze(&from_csv(csv, "B", 0).unwrap(), &spec("A", "B")).unwrap();
        let a = r.models.cycle_anova.unwrap();
        assert_eq!(a.df, [1, 2]);
        assert!((a.f - 9.142857).abs() < 1e-5, "{}", a.f);
        assert!((a.p - 0.0942).abs() < 1e-3, "{}", a.p);
        // 3 cycles of 2 arms: 2^3 = 8 allocations.
        assert_eq!(r.models.randomization.unwrap().allocations, 8);
    }

    #[test]
    fn an_incomplete_trial_never_claims_benefit() {
        let data = from_csv(TINY, "B", 0).unwrap();
        let s = AnalysisSpec {
            complete: false,
            ..spec("A", "B")
        };
        let r = analyze(&data, &s).unwrap();
        assert_eq!(r.verdict.label, "incomplete");
        assert!(r.verdict.text.contains("no verdict"));
    }

    #[test]
    fn verdict_labels_follow_the_thresholds() {
        // B (control) clearly lower than A: with lower better, A is "likely worse".
        let data = from_csv(TINY, "B", 0).unwrap();
        assert_eq!(
            analyze(&data, &spec("A", "B")).unwrap().verdict.label,
            "likely-worse"
        );
        // Swapped: B clearly better by 3 points > MCID 2.
        let r = analyze(&data, &spec("B", "A")).unwrap();
        assert_eq!(r.verdict.label, "likely-helps", "{}", r.verdict.text);
        assert!(r.verdict.text.contains("blinded and placebo-controlled"));
        let open = AnalysisSpec {
            placebo_controlled: false,
            blinded: false,
            ..spec("B", "A")
        };
        assert!(analyze(&data, &open)
            .unwrap()
            .verdict
            .text
            .contains("cannot separate"));
    }

    fn summary(mean: f64, ci95: [f64; 2], p_benefit: f64, p_mcid: f64) -> BayesSummary {
        BayesSummary {
            mean,
            median: mean,
            ci95,
            p_benefit,
            p_mcid,
            rho_mean: None,
        }
    }

    fn models(ar1: &BayesSummary, mean_only: &BayesSummary) -> Models {
        Models {
            ar1: ar1.clone(),
            mean_only: mean_only.clone(),
            ar1_trend: None,
            cycle_anova: None,
            randomization: None,
        }
    }

    #[test]
    fn monte_carlo_randomization_agrees_with_exact_enumeration() {
        // 17 cycles of 2 arms (2^17 = 131,072 allocations), 4 nights a period, a weak effect.
        let mut csv = String::from("day,condition,outcome,period\n");
        let mut x: u64 = 12345;
        let mut first_a = true;
        for p in 0..34u64 {
            // Order inside each cycle from a fixed pseudo-random sequence (an LCG).
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            if p % 2 == 0 {
                first_a = (x >> 33).is_multiple_of(2);
            }
            let a = (p % 2 == 0) == first_a;
            for n in 0..4 {
                x = x
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                let noise = ((x >> 33) % 5) as f64;
                let y = noise + if a { 0.0 } else { 0.4 };
                csv.push_str(&format!(
                    "{},{},{y},{p}\n",
                    p * 4 + n,
                    if a { "A" } else { "B" }
                ));
            }
        }
        let data = from_csv(&csv, "B", 0).unwrap();
        let exact = randomization_test(
            &data,
            &AnalysisSpec {
                randomization_exact_max: 1 << 20,
                ..spec("A", "B")
            },
            0,
            1,
        )
        .unwrap();
        assert_eq!(
            (exact.method.as_str(), exact.allocations),
            ("exact", 131_072)
        );
        let mc = randomization_test(
            &data,
            &AnalysisSpec {
                randomization_exact_max: 1000,
                randomization_monte_carlo: 20_000,
                ..spec("A", "B")
            },
            0,
            1,
        )
        .unwrap();
        assert!(
            mc.method.starts_with("monte-carlo (20000 draws"),
            "{}",
            mc.method
        );
        // Monte Carlo SE <= sqrt(0.25 / 20,000) = 0.0035: 4 SE.
        assert!(
            (mc.p - exact.p).abs() < 0.015,
            "exact {} mc {}",
            exact.p,
            mc.p
        );
        assert!(exact.p > 0.01 && exact.p < 0.99, "{}", exact.p);
    }

    #[test]
    fn the_treatment_and_the_control_must_differ() {
        let data = from_csv(TINY, "B", 0).unwrap();
        assert_eq!(
            analyze(&data, &spec("B", "B")).unwrap_err(),
            AnalysisError::SameArm("B".into())
        );
    }

    #[test]
    fn data_without_variation_cannot_be_analysed() {
        let all_equal = "day,condition,outcome\n1,A,4\n2,A,4\n3,A,4\n4,B,4\n5,B,4\n6,B,4\n";
        let each_constant = "day,condition,outcome\n1,A,5\n2,A,5\n3,A,5\n4,B,3\n5,B,3\n6,B,3\n";
        for csv in [all_equal, each_constant] {
            let err = analyze(&from_csv(csv, "B", 0).unwrap(), &spec("A", "B")).unwrap_err();
            assert!(matches!(err, AnalysisError::NoVariation(_)), "{err}");
            assert!(err.to_string().starts_with("cannot be analysed: "), "{err}");
        }
        // One arm varying is enough: the pooled spread is not zero.
        let one_varies = "day,condition,outcome\n1,A,5\n2,A,6\n3,A,5\n4,B,3\n5,B,3\n6,B,3\n";
        assert!(analyze(&from_csv(one_varies, "B", 0).unwrap(), &spec("A", "B")).is_ok());
    }

    #[test]
    fn a_headline_of_benefit_or_harm_needs_the_shown_interval_to_exclude_zero() {
        // A plan made under the old one-sided thresholds (0.95 / 0.05). Lower is better.
        let mut sp = spec("A", "B");
        sp.thresholds.likely_helps_p_benefit = 0.95;
        sp.thresholds.likely_worse_p_benefit = 0.05;
        let label = |s: &BayesSummary| verdict(s, &sp, &models(s, s), 2, None, &[], 6, 6).label;
        // P(benefit) 0.96 but the 95 % interval [-2.0, +0.1] includes 0: no benefit headline.
        assert_eq!(
            label(&summary(-1.0, [-2.0, 0.1], 0.96, 0.3)),
            "inconclusive"
        );
        // The interval excludes 0: benefit, small (P(>= MCID) 0.3 < 0.5).
        assert_eq!(
            label(&summary(-1.0, [-2.0, -0.1], 0.98, 0.3)),
            "small-benefit"
        );
        assert_eq!(
            label(&summary(-3.0, [-4.0, -2.0], 0.999, 0.9)),
            "likely-helps"
        );
        // Harm: P(benefit) 0.04 with [-0.1, +2.0] -> not "likely worse" (P(MCID) 0 -> no
        // meaningful benefit); with [+0.1, +2.0] -> likely worse.
        assert_eq!(
            label(&summary(1.0, [-0.1, 2.0], 0.04, 0.0)),
            "no-meaningful-benefit"
        );
        assert_eq!(label(&summary(1.0, [0.1, 2.0], 0.02, 0.0)), "likely-worse");
        // The shipped thresholds are the interval rule itself: 0.975 / 0.025.
        let th = spec("A", "B").thresholds;
        assert_eq!(
            (th.likely_helps_p_benefit, th.likely_worse_p_benefit),
            (0.975, 0.025)
        );
    }

    #[test]
    fn disagreement_of_the_sensitivity_analyses_is_said_in_the_right_direction() {
        let sp = spec("A", "B");
        let unclear = summary(-1.0, [-2.5, 0.5], 0.9, 0.2);
        let clear = summary(-1.0, [-1.8, -0.2], 0.99, 0.2);
        // Primary unclear, mean-only narrower and clear: it overstates certainty.
        let v = verdict(&unclear, &sp, &models(&unclear, &clear), 2, None, &[], 6, 6);
        assert!(
            v.text.contains(
                "which finds no clear difference: the mean-only model points to a benefit."
            ),
            "{}",
            v.text
        );
        assert!(v.text.contains("it overstates certainty"), "{}", v.text);
        // Primary clear, mean-only wider (negatively correlated nights): it is the less
        // certain one, and nothing says it overstates.
        let v = verdict(&clear, &sp, &models(&clear, &unclear), 2, None, &[], 6, 6);
        assert!(
            v.text
                .contains("which finds a benefit: the mean-only model finds no clear difference."),
            "{}",
            v.text
        );
        assert!(
            v.text.contains("less certain of the two") && !v.text.contains("overstates"),
            "{}",
            v.text
        );
        // A cycle ANOVA that agrees (p 0.03, A lower) is not mentioned; a randomization test
        // over 8 allocations cannot reach 0.05 (smallest p 0.25), so it is not counted; one
        // over 64 allocations with p 0.25 disagrees.
        let mut m = models(&clear, &clear);
        m.cycle_anova = Some(CycleAnova {
            f: 30.0,
            df: [1, 2],
            p: 0.03,
            note: String::new(),
        });
        m.randomization = Some(RandomizationTest {
            p: 0.25,
            allocations: 8,
            method: "exact".into(),
            statistic: -1.0,
            min_p: 0.25,
        });
        let v = verdict(&clear, &sp, &m, 2, Some(-1.0), &[], 6, 6);
        assert!(!v.text.contains("Sensitivity"), "{}", v.text);
        m.randomization = Some(RandomizationTest {
            p: 0.25,
            allocations: 64,
            method: "exact".into(),
            statistic: -1.0,
            min_p: 2.0 / 64.0,
        });
        let v = verdict(&clear, &sp, &m, 2, Some(-1.0), &[], 6, 6);
        assert!(!v.text.contains("cycle ANOVA"), "{}", v.text);
        assert!(v.text.contains("which finds a benefit: the randomization test (p = 0.250) finds no clear difference."), "{}", v.text);
        assert!(v.text.contains("hold it less firmly"), "{}", v.text);
        // An ANOVA pointing the other way is named with its direction.
        let v = verdict(&clear, &sp, &m, 2, Some(1.0), &[], 6, 6);
        assert!(
            v.text
                .contains("the cycle ANOVA (p = 0.030) points to harm"),
            "{}",
            v.text
        );
        // Everything agreeing: no sentence.
        m.randomization = None;
        let v = verdict(&clear, &sp, &m, 2, Some(-1.0), &[], 6, 6);
        assert!(!v.text.contains("Sensitivity"), "{}", v.text);
    }

    #[test]
    fn caveats_use_the_trials_own_arms_and_outcome() {
        let data = from_csv(TINY, "A", 0).unwrap();
        let open = AnalysisSpec {
            placebo_controlled: false,
            blinded: false,
            ..spec("B", "A")
        };
        let text = analyze(&data, &open).unwrap().verdict.text;
        assert!(
            text.contains("separate the effect of B from expectation"),
            "{text}"
        );
        assert!(
            text.contains("how much on this file's outcome is not known"),
            "{text}"
        );
        assert!(!text.contains("magnesium"), "{text}");
        let irls = AnalysisSpec {
            outcome: Some(Outcome::WeeklyIrls),
            ..open.clone()
        };
        let text = analyze(&data, &irls).unwrap().verdict.text;
        assert!(
            text.contains("lowers the IRLS total (0-40) by 5-9 points"),
            "{text}"
        );
        let text = analyze(&data, &spec("B", "A")).unwrap().verdict.text;
        assert!(text.contains("balanced between B and A"), "{text}");
    }

    #[test]
    fn numbers_in_words() {
        assert_eq!(percent(0.003), "< 1 %");
        assert_eq!(percent(0.9999), "> 99 %");
        assert_eq!(percent(0.01), "1 %");
        assert_eq!(percent(0.99), "99 %");
        assert_eq!(percent(0.414), "41 %");
        assert_eq!(signed(-0.04), "-0.04");
        assert_eq!(signed(-0.0001), "0.0");
        assert_eq!(signed(-0.0), "0.0");
        assert_eq!(signed(2.34), "+2.3");
        assert_eq!(signed(-4.66), "-4.7");
        assert_eq!(points("1"), "1 point");
        assert_eq!(points("2"), "2 points");
        assert_eq!(points("+1.0"), "+1.0 points");
        // In a verdict: an MCID of 1 is "1 point".
        let data = from_csv(TINY, "A", 0).unwrap();
        let text = analyze(
            &data,
            &AnalysisSpec {
                mcid: 1.0,
                ..spec("B", "A")
            },
        )
        .unwrap()
        .verdict
        .text;
        assert!(text.contains("by at least 1 point (the minimal"), "{text}");
        assert!(text.contains("better: > 99 %"), "{text}");
    }

    #[test]
    fn a_single_cycle_is_warned_about() {
        // One cycle: A then B, 4 nights each.
        let csv = "day,condition,outcome\n1,A,5\n2,A,6\n3,A,5\n4,A,7\n5,B,3\n6,B,4\n7,B,2\n8,B,3\n";
        let r = analyze(&from_csv(csv, "B", 0).unwrap(), &spec("A", "B")).unwrap();
        assert_eq!(r.warnings.len(), 1, "{:?}", r.warnings);
        assert!(r.warnings[0].starts_with("Only one cycle"));
        assert!(
            r.verdict.text.contains("Only one cycle"),
            "{}",
            r.verdict.text
        );
        // Two cycles (TINY): no warning.
        let r = analyze(&from_csv(TINY, "B", 0).unwrap(), &spec("A", "B")).unwrap();
        assert!(r.warnings.is_empty(), "{:?}", r.warnings);
    }

    #[test]
    fn absent_rows_and_empty_outcomes_give_the_same_analysis() {
        // 4 periods of 4 nights, A B B A with a period column, run-in 2. Empty outcomes on
        // day 3 (analysed), day 5 (the first night of period 2) and day 11 (analysed).
        let full = "day,condition,outcome,period\n1,A,5,1\n2,A,6,1\n3,A,,1\n4,A,7,1\n5,B,,2\n6,B,3,2\n7,B,4,2\n8,B,2,2\n9,B,3,3\n10,B,4,3\n11,B,,3\n12,B,3,3\n13,A,6,4\n14,A,5,4\n15,A,5,4\n16,A,6,4\n";
        let absent: String = full
            .lines()
            .filter(|l| !l.contains(",,"))
            .map(|l| format!("{l}\n"))
            .collect();
        let (f, a) = (
            from_csv(full, "B", 2).unwrap(),
            from_csv(&absent, "B", 2).unwrap(),
        );
        assert_eq!(f, a);
        let (rf, ra) = (
            analyze(&f, &spec("A", "B")).unwrap(),
            analyze(&a, &spec("A", "B")).unwrap(),
        );
        assert_eq!(rf, ra);
        // 16 nights: run-in 1-2, 5-6, 9-10, 13-14 (8, counted from each period's start even
        // where its first row is absent); missing 3 and 11; used 16 - 8 - 2 = 6.
        assert_eq!(
            (ra.nights.used, ra.nights.missing, ra.nights.run_in_excluded),
            (6, 2, 8)
        );
    }

    fn series(values: &[(i64, bool, i32)]) -> String {
        let mut s = String::from("day,condition,outcome\n");
        for (day, a, y) in values {
            s.push_str(&format!("{day},{},{y}\n", if *a { "A" } else { "B" }));
        }
        s
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]
        #[test]
        fn swapping_labels_flips_the_sign_and_adding_a_constant_changes_nothing(
            ys in proptest::collection::vec(0i32..=10, 24), shift in -5i32..=5
        ) {
            // 4 periods of 6 nights: A B B A.
            let rows: Vec<(i64, bool, i32)> = ys.iter().enumerate()
                .map(|(i, &y)| (i as i64 + 1, matches!(i / 6, 0 | 3), y)).collect();
            let data = from_csv(&series(&rows), "B", 1).unwrap();
            let ab = analyze(&data, &spec("A", "B"));
            let ba = analyze(&data, &spec("B", "A"));
            if let (Ok(ab), Ok(ba)) = (ab, ba) {
                prop_assert!((ab.models.ar1.mean + ba.models.ar1.mean).abs() < 1e-6);
                prop_assert!((ab.models.ar1.ci95[0] + ba.models.ar1.ci95[1]).abs() < 1e-5);
                prop_assert!((ab.models.mean_only.mean + ba.models.mean_only.mean).abs() < 1e-9);
                // Lower is better: a benefit headline only with the interval below 0, harm
                // only with it above 0.
                for r in [&ab, &ba] {
                    let [lo, hi] = r.models.ar1.ci95;
                    match r.verdict.label.as_str() {
                        "likely-helps" | "small-benefit" => prop_assert!(hi < 0.0),
                        "likely-worse" => prop_assert!(lo > 0.0),
                        _ => {}
                    }
                }
                let shifted: Vec<(i64, bool, i32)> = rows.iter().map(|&(d, a, y)| (d, a, y + shift)).collect();
                let s = analyze(&from_csv(&series(&shifted), "B", 1).unwrap(), &spec("A", "B")).unwrap();
                prop_assert!((s.models.ar1.mean - ab.models.ar1.mean).abs() < 1e-6);
                prop_assert!((s.models.ar1.p_benefit - ab.models.ar1.p_benefit).abs() < 1e-6);
                prop_assert_eq!(s.models.randomization.map(|r| r.p), ab.models.randomization.map(|r| r.p));
            }
        }
    }
}
