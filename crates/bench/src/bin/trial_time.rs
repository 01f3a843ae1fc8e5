//! Times one 126-night analysis end to end. `cargo run --release -p quietlegs-bench --bin trial_time`

// Benchmarks are measurement tools run by developers on shipped data: a panic is a failed run.
#![allow(clippy::expect_used, clippy::unwrap_used)]
use quietlegs_bench::trial_126_nights;
use quietlegs_core::trial::analysis::analyze;
use quietlegs_core::trial::data::from_csv;
use std::time::Instant;

fn main() {
    let (csv, spec) = trial_126_nights();
    let mut times = Vec::new();
    for _ in 0..20 {
        let t = Instant::now();
        let data = from_csv(&csv, "placebo", 7).expect("csv");
        let r = analyze(&data, &spec).expect("analysis");
        times.push(t.elapsed());
        std::hint::black_box(r);
    }
    times.sort();
    println!(
        "126-night analysis: median {:?}, max {:?}",
        times[10], times[19]
    );
}
