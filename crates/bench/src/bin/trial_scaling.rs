//! Scaling of `trial analyze --csv` with the number of rows: parsing (with line numbers for
//! errors) and every pre-registered model, timed separately, for 10,000 to 1,000,000 nights.
//! `cargo run --release -p quietlegs-bench --bin trial_scaling [ROWS...]`

// Benchmarks are measurement tools run by developers on shipped data: a panic is a failed run.
#![allow(clippy::expect_used, clippy::unwrap_used)]
use quietlegs_bench::{long_trial_csv, trial_126_nights};
use quietlegs_core::trial::analysis::analyze;
use quietlegs_core::trial::data::from_csv;
use std::time::Instant;

fn main() {
    let sizes: Vec<usize> = {
        let args: Vec<usize> = std::env::args()
            .skip(1)
            .filter_map(|a| a.parse().ok())
            .collect();
        if args.is_empty() {
            vec![10_000, 100_000, 200_000, 1_000_000]
        } else {
            args
        }
    };
    let (_, mut spec) = trial_126_nights();
    // The CLI's `--csv` analysis: the shipped thresholds and randomization settings.
    spec.placebo_controlled = true;
    println!("rows       parse (s)  analyse (s)  total (s)  µs per row");
    for n in sizes {
        let csv = long_trial_csv(n, 7);
        // TRIAL_SCALING_WRITE=DIR keeps each input (for timing the binary end to end).
        if let Some(dir) = std::env::var_os("TRIAL_SCALING_WRITE") {
            let path = std::path::Path::new(&dir).join(format!("trial_{n}.csv"));
            std::fs::write(&path, &csv).expect("writing the CSV");
        }
        let t0 = Instant::now();
        let data = from_csv(&csv, "placebo", 7).expect("csv");
        let parsed = t0.elapsed();
        let r = analyze(&data, &spec).expect("analysis");
        let total = t0.elapsed();
        std::hint::black_box(&r);
        println!(
            "{n:>9}  {:>9.3}  {:>11.3}  {:>9.3}  {:>10.2}",
            parsed.as_secs_f64(),
            (total - parsed).as_secs_f64(),
            total.as_secs_f64(),
            total.as_secs_f64() * 1e6 / n as f64
        );
    }
}
