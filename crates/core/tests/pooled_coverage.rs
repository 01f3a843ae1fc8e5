//! Coverage of the population effect's 95 % interval by simulation with known truth: data from
//! the random intercept and slope model itself, fitted by `trial::pooled::fit`. The interval
//! (Wald, normal quantile) must contain the true effect in 93–97 % of replicates.

// Integration tests: a panic is a failed test (clippy.toml allows unwrap only inside #[test]).
#![allow(clippy::expect_used, clippy::unwrap_used)]

use quietlegs_core::trial::pooled::{fit, ArmStats, PersonStats, PooledSpec, SeriesData};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};

const REPLICATES: usize = 1000;
const PEOPLE: usize = 40;
const NIGHTS: usize = 28;
const PERIOD: usize = 7;
const EFFECT: f64 = -1.0;
const TAU0: f64 = 1.0;
const TAU1: f64 = 0.6;
const RHO: f64 = 0.3;
const SIGMA: f64 = 1.5;

fn replicate(rng: &mut ChaCha8Rng) -> SeriesData {
    let z = Normal::new(0.0, 1.0).unwrap();
    let people = (0..PEOPLE)
        .map(|i| {
            let (z0, z1) = (z.sample(rng), z.sample(rng));
            let b0 = TAU0 * z0;
            let b1 = TAU1 * (RHO * z0 + (1.0 - RHO * RHO).sqrt() * z1);
            let mut p = PersonStats {
                id: format!("p{i}"),
                control: ArmStats::default(),
                treatment: ArmStats::default(),
            };
            let first = i % 2;
            for night in 0..NIGHTS {
                let treated = (first + night / PERIOD) % 2 == 1;
                let y = 5.0 + b0 + if treated { EFFECT + b1 } else { 0.0 } + SIGMA * z.sample(rng);
                if treated {
                    p.treatment.push(y);
                } else {
                    p.control.push(y);
                }
            }
            p
        })
        .collect();
    SeriesData {
        control: "placebo".into(),
        treatment: "mg".into(),
        people,
        missing_nights: 0,
        other_condition_nights: 0,
    }
}

#[test]
fn population_interval_covers_the_truth_about_95_percent() {
    let mut rng = ChaCha8Rng::seed_from_u64(20261130);
    let spec = PooledSpec {
        higher_is_better: false,
        mcid: 1.0,
    };
    let mut covered = 0;
    let mut tau1_sum = 0.0;
    for _ in 0..REPLICATES {
        let a = fit(&replicate(&mut rng), &spec).unwrap();
        let rs = &a.models.random_slope;
        assert!(rs.convergence.converged, "{:?}", rs.convergence);
        if rs.ci95[0] <= EFFECT && EFFECT <= rs.ci95[1] {
            covered += 1;
        }
        tau1_sum += rs.tau2_slope;
    }
    let coverage = covered as f64 / REPLICATES as f64;
    // 1,000 replicates: the binomial SE of a 95 % coverage is 0.7 points.
    assert!((0.93..=0.97).contains(&coverage), "coverage {coverage}");
    // REML's variance estimate is close to unbiased here (the truth 0.36).
    let mean_tau1 = tau1_sum / REPLICATES as f64;
    assert!(
        (mean_tau1 - TAU1 * TAU1).abs() < 0.05,
        "mean tau2_slope {mean_tau1}"
    );
    eprintln!("coverage {coverage}, mean tau2_slope {mean_tau1}");
}
