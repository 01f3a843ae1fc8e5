//! Diary insights: for each evening factor, nights with versus without it, the difference in
//! mean RLS severity with a 95 % interval, corrected for testing many factors at once.
//!
//! Method (cut-offs in `data/reference/rules.toml` `[insights]`):
//! - Lag: a factor logged for an evening counts toward that night (caffeine only from the
//!   configured time of day, or when no time is given).
//! - Estimate: difference of mean severity (with − without), Welch standard error; both variances
//!   are inflated by (1 + r) / (1 − r), with r the lag-1 autocorrelation of severity over
//!   consecutive nights (clamped to 0-0.9), because neighbouring nights are not independent.
//! - Nothing is said about a factor with fewer than the minimum nights either way.
//! - Holm's step-down correction keeps the chance of any false finding across all the factors
//!   tested at the family alpha.
//!
//! Associations only: the person chose when to have coffee or a bath, so these are not causes.

use crate::diary::{Factor, FactorKind};
use crate::reference::InsightRule;
use jiff::civil::Date;
use serde::Serialize;
use statrs::distribution::{ContinuousCDF, StudentsT};
use std::collections::{BTreeMap, BTreeSet};

/// What is known about one factor.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FactorInsight {
    pub factor: String,
    pub nights_with: usize,
    pub nights_without: usize,
    /// Mean severity with minus without (positive: worse nights with the factor).
    pub difference: Option<f64>,
    pub ci95: Option<[f64; 2]>,
    pub p_value: Option<f64>,
    /// Holm-adjusted p-value across the factors tested.
    pub p_adjusted: Option<f64>,
    /// The association survives the correction for testing many factors.
    pub noteworthy: bool,
    pub text: String,
}

/// The insights for a diary.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Insights {
    pub nights: usize,
    /// Lag-1 autocorrelation of nightly severity used to widen the intervals.
    pub autocorrelation: f64,
    pub factors_tested: usize,
    pub factors: Vec<FactorInsight>,
    pub caveat: String,
}

/// The largest autocorrelation the variance inflation uses.
const MAX_AUTOCORRELATION: f64 = 0.9;

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len() as f64
}

fn variance(v: &[f64]) -> f64 {
    let m = mean(v);
    v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (v.len() as f64 - 1.0)
}

/// Lag-1 autocorrelation of severity over pairs of nights one day apart.
pub fn lag1_autocorrelation(nights: &BTreeMap<Date, f64>) -> f64 {
    let values: Vec<f64> = nights.values().copied().collect();
    if values.len() < 3 {
        return 0.0;
    }
    let m = mean(&values);
    let denom: f64 = values.iter().map(|x| (x - m).powi(2)).sum::<f64>() / values.len() as f64;
    if denom == 0.0 {
        return 0.0;
    }
    let mut num = 0.0;
    let mut pairs = 0usize;
    for (d, x) in nights {
        if let Some(y) = d.tomorrow().ok().and_then(|t| nights.get(&t)) {
            num += (x - m) * (y - m);
            pairs += 1;
        }
    }
    if pairs < 2 {
        return 0.0;
    }
    (num / pairs as f64 / denom).clamp(0.0, MAX_AUTOCORRELATION)
}

/// Whether a factor entry counts toward its evening's night.
fn counts(f: &Factor, rule: &InsightRule) -> bool {
    match (&f.kind, f.time) {
        (FactorKind::Caffeine, Some(t)) => t >= rule.caffeine_counts_from,
        _ => true,
    }
}

/// Holm's step-down adjusted p-values, in the input order.
pub fn holm(p: &[f64]) -> Vec<f64> {
    let m = p.len();
    let mut order: Vec<usize> = (0..m).collect();
    order.sort_by(|&a, &b| p[a].total_cmp(&p[b]));
    let mut adjusted = vec![0.0; m];
    let mut running = 0.0f64;
    for (rank, &i) in order.iter().enumerate() {
        let v = ((m - rank) as f64 * p[i]).min(1.0);
        running = running.max(v);
        adjusted[i] = running;
    }
    adjusted
}

/// Computes the insights from nightly severities and the factor entries.
pub fn insights(nights: &BTreeMap<Date, u8>, factors: &[Factor], rule: &InsightRule) -> Insights {
    let severity: BTreeMap<Date, f64> = nights.iter().map(|(d, s)| (*d, f64::from(*s))).collect();
    let r = lag1_autocorrelation(&severity);
    let inflation = (1.0 + r) / (1.0 - r);
    let mut exposure: BTreeMap<String, BTreeSet<Date>> = BTreeMap::new();
    for f in factors {
        let set = exposure.entry(f.kind.to_string()).or_default();
        if counts(f, rule) {
            set.insert(f.date);
        }
    }
    let mut out: Vec<FactorInsight> = Vec::new();
    let mut tested: Vec<usize> = Vec::new();
    let mut pvals: Vec<f64> = Vec::new();
    for (name, dates) in &exposure {
        let (with, without): (Vec<f64>, Vec<f64>) = {
            let mut w = Vec::new();
            let mut wo = Vec::new();
            for (d, s) in &severity {
                if dates.contains(d) {
                    w.push(*s)
                } else {
                    wo.push(*s)
                }
            }
            (w, wo)
        };
        let mut fi = FactorInsight {
            factor: name.clone(),
            nights_with: with.len(),
            nights_without: without.len(),
            difference: None,
            ci95: None,
            p_value: None,
            p_adjusted: None,
            noteworthy: false,
            text: String::new(),
        };
        let min = rule.min_nights_each_way;
        if with.len() < min || without.len() < min {
            fi.text = format!(
                "{name}: too few nights to say anything ({} with, {} without; {min} each way needed).",
                with.len(),
                without.len()
            );
            out.push(fi);
            continue;
        }
        let diff = mean(&with) - mean(&without);
        let (v1, v2) = (
            variance(&with) * inflation / with.len() as f64,
            variance(&without) * inflation / without.len() as f64,
        );
        let se = (v1 + v2).sqrt();
        let df = if v1 + v2 > 0.0 {
            (v1 + v2).powi(2)
                / (v1.powi(2) / (with.len() as f64 - 1.0)
                    + v2.powi(2) / (without.len() as f64 - 1.0))
        } else {
            (with.len() + without.len() - 2) as f64
        };
        let (ci, p) = match StudentsT::new(0.0, 1.0, df.max(1.0)) {
            Ok(t) if se > 0.0 => {
                let q = t.inverse_cdf(0.975);
                let stat = diff / se;
                (
                    Some([diff - q * se, diff + q * se]),
                    Some(2.0 * (1.0 - t.cdf(stat.abs()))),
                )
            }
            _ => (None, None),
        };
        fi.difference = Some(diff);
        fi.ci95 = ci;
        fi.p_value = p;
        if let Some(p) = p {
            tested.push(out.len());
            pvals.push(p);
        }
        out.push(fi);
    }
    let adjusted = holm(&pvals);
    for (k, &i) in tested.iter().enumerate() {
        let fi = &mut out[i];
        fi.p_adjusted = Some(adjusted[k]);
        fi.noteworthy = adjusted[k] < rule.family_alpha;
        let (d, [lo, hi]) = (fi.difference.unwrap_or(0.0), fi.ci95.unwrap_or([0.0, 0.0]));
        let direction = if d > 0.0 { "worse" } else { "better" };
        fi.text = if fi.noteworthy {
            format!(
                "{}: nights with it averaged {:.1} points {direction} (95 % interval {lo:+.1} to {hi:+.1}; {} nights with, {} without). This holds after correcting for testing {} factors, but it is an association, not proof of a cause.",
                fi.factor, d.abs(), fi.nights_with, fi.nights_without, tested.len()
            )
        } else {
            format!(
                "{}: no clear difference (with minus without {d:+.1} points, 95 % interval {lo:+.1} to {hi:+.1}; {} nights with, {} without).",
                fi.factor, fi.nights_with, fi.nights_without
            )
        };
    }
    Insights {
        nights: severity.len(),
        autocorrelation: r,
        factors_tested: tested.len(),
        factors: out,
        caveat: "These are associations in your own diary, not causes: you chose when to have \
                 coffee or a bath, and a bad evening may lead to both. A randomized n-of-1 trial \
                 is the way to test a cause."
            .to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ClockTime;
    use crate::reference::ReferenceData;
    use jiff::civil::date;
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};
    use rand_distr::{Distribution, Normal};

    fn rule() -> InsightRule {
        ReferenceData::shipped().unwrap().rules.insights
    }

    #[test]
    fn holm_matches_a_hand_calculation() {
        // p = (0.01, 0.04, 0.03, 0.20), m = 4. Sorted: 0.01*4 = 0.04; 0.03*3 = 0.09;
        // 0.04*2 = 0.08 -> max(0.09, 0.08) = 0.09; 0.20*1 = 0.20.
        let adj = holm(&[0.01, 0.04, 0.03, 0.20]);
        let expected = [0.04, 0.09, 0.09, 0.20];
        for (a, e) in adj.iter().zip(expected) {
            assert!((a - e).abs() < 1e-12, "{adj:?}");
        }
    }

    #[test]
    fn welch_interval_matches_a_hand_calculation_without_autocorrelation() {
        // Alternate with/without on non-consecutive days so r = 0 (no pairs one day apart).
        // with = 6,7,8,6,7,8,6 (mean 6.857, var 0.8095); without = 3,4,5,3,4,5,3 (mean 3.857,
        // var 0.8095). diff = 3.0; se = sqrt(0.8095/7 * 2) = 0.4809; df = 12;
        // t(0.975, 12) = 2.1788 -> CI 3.0 ± 1.0478 = [1.952, 4.048].
        let mut nights = BTreeMap::new();
        let mut factors = Vec::new();
        let with = [6u8, 7, 8, 6, 7, 8, 6];
        let without = [3u8, 4, 5, 3, 4, 5, 3];
        for i in 0..7 {
            let d1 = date(2026, 1, 1)
                .checked_add(jiff::Span::new().days(4 * i))
                .unwrap();
            let d2 = d1.checked_add(jiff::Span::new().days(2)).unwrap();
            nights.insert(d1, with[i as usize]);
            nights.insert(d2, without[i as usize]);
            factors.push(Factor {
                date: d1,
                kind: FactorKind::Alcohol,
                amount: None,
                unit: None,
                time: None,
            });
        }
        let ins = insights(&nights, &factors, &rule());
        assert_eq!(ins.autocorrelation, 0.0);
        let f = &ins.factors[0];
        assert!((f.difference.unwrap() - 3.0).abs() < 1e-9);
        let [lo, hi] = f.ci95.unwrap();
        assert!(
            (lo - 1.952).abs() < 2e-3 && (hi - 4.048).abs() < 2e-3,
            "{lo} {hi}"
        );
        assert!(f.noteworthy);
    }

    #[test]
    fn too_few_nights_says_so_and_evening_caffeine_only_counts() {
        let mut nights = BTreeMap::new();
        let mut factors = Vec::new();
        for i in 0..10 {
            let d = date(2026, 3, 1)
                .checked_add(jiff::Span::new().days(i))
                .unwrap();
            nights.insert(d, 3);
            // Morning coffee every day: does not count toward the night.
            factors.push(Factor {
                date: d,
                kind: FactorKind::Caffeine,
                amount: Some(1.0),
                unit: Some("cups".into()),
                time: Some(ClockTime::parse("08:00").unwrap()),
            });
        }
        let ins = insights(&nights, &factors, &rule());
        assert_eq!(ins.factors[0].nights_with, 0);
        assert!(
            ins.factors[0].text.contains("too few nights"),
            "{}",
            ins.factors[0].text
        );
        assert_eq!(ins.factors_tested, 0);
    }

    /// A simulated diary: `n` nights, AR(1) noise (rho, sd), five factors at random, caffeine
    /// adding `effect` points. Returns whether caffeine, and whether any other factor, was
    /// declared noteworthy.
    fn simulate(rng: &mut StdRng, n: i64, rho: f64, effect: f64) -> (bool, bool) {
        let kinds = [
            (FactorKind::Caffeine, 0.4),
            (FactorKind::Alcohol, 0.3),
            (FactorKind::Massage, 0.5),
            (FactorKind::WarmBath, 0.3),
            (FactorKind::Exercise, 0.5),
        ];
        let noise = Normal::new(0.0, 1.5 * (1.0 - rho * rho).sqrt()).unwrap();
        let mut e = Normal::new(0.0, 1.5).unwrap().sample(rng);
        let mut nights = BTreeMap::new();
        let mut factors = Vec::new();
        for i in 0..n {
            let d = date(2026, 1, 1)
                .checked_add(jiff::Span::new().days(i))
                .unwrap();
            e = rho * e + noise.sample(rng);
            let mut s = 5.0 + e;
            for (k, p) in &kinds {
                if rng.random_bool(*p) {
                    if *k == FactorKind::Caffeine {
                        s += effect;
                    }
                    factors.push(Factor {
                        date: d,
                        kind: k.clone(),
                        amount: None,
                        unit: None,
                        time: None,
                    });
                }
            }
            nights.insert(d, s.round().clamp(0.0, 10.0) as u8);
        }
        let ins = insights(&nights, &factors, &rule());
        let caffeine = ins
            .factors
            .iter()
            .any(|f| f.factor == "caffeine" && f.noteworthy);
        let others = ins
            .factors
            .iter()
            .any(|f| f.factor != "caffeine" && f.noteworthy);
        (caffeine, others)
    }

    #[test]
    fn a_planted_effect_is_found() {
        // Caffeine adds 2 points on 40 % of 60 nights (noise SD 1.5, rho 0.3): found in most
        // simulated diaries.
        let mut rng = StdRng::seed_from_u64(11);
        let runs = 200;
        let found = (0..runs)
            .filter(|_| simulate(&mut rng, 60, 0.3, 2.0).0)
            .count();
        eprintln!("planted effect found in {found} of {runs} diaries");
        assert!(
            found as f64 / runs as f64 > 0.9,
            "found in {found} of {runs}"
        );
    }

    #[test]
    fn with_no_effect_false_findings_stay_at_the_stated_rate() {
        // No factor has any effect; Holm controls the chance of any false finding at 5 %.
        // 600 diaries: the observed rate must not exceed 5 % by more than ~2 standard errors
        // (sqrt(0.05 * 0.95 / 600) = 0.9 %).
        let mut rng = StdRng::seed_from_u64(12);
        let runs = 600;
        let false_any = (0..runs)
            .filter(|_| {
                let (c, o) = simulate(&mut rng, 60, 0.3, 0.0);
                c || o
            })
            .count();
        let rate = false_any as f64 / runs as f64;
        eprintln!("false findings in {false_any} of {runs} null diaries");
        assert!(
            rate <= 0.068,
            "false findings in {:.1} % of diaries",
            rate * 100.0
        );
    }
}
