//! Criterion benchmark: analysing a 126-night trial end to end (every pre-registered model, the
//! verdict). `cargo bench -p quietlegs-bench --bench trial_analysis`

// Benchmarks are measurement tools run by developers on shipped data: a panic is a failed run.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use criterion::{criterion_group, criterion_main, Criterion};
use quietlegs_bench::trial_126_nights;
use quietlegs_core::trial::analysis::analyze;
use quietlegs_core::trial::data::from_csv;
use std::hint::black_box;

fn bench(c: &mut Criterion) {
    let (csv, spec) = trial_126_nights();
    c.bench_function("trial_analysis/126_nights_from_csv", |b| {
        b.iter(|| {
            let data = from_csv(black_box(&csv), "placebo", 7).expect("csv");
            analyze(&data, &spec).expect("analysis")
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
