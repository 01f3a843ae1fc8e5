//! Criterion benchmark of food search over the shipped SR28 table (one query set per iteration)
//! and SQLite FTS5 over the same foods. `cargo bench -p quietlegs-bench`

// Benchmarks are measurement tools run by developers on shipped data: a panic is a failed run.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use criterion::{criterion_group, criterion_main, Criterion};
use quietlegs_bench::{fts5_index, fts5_search, QUERIES};
use quietlegs_core::food::search::FoodIndex;
use quietlegs_core::food::FoodTable;
use std::hint::black_box;

fn bench(c: &mut Criterion) {
    let table = FoodTable::shipped().expect("shipped table");
    let index = FoodIndex::build(&table).expect("index");
    let fts = fts5_index(&table).expect("fts5");
    let mut g = c.benchmark_group("food_search_sr28");
    for q in ["banana", "pumpkin seed roasted", "almnd"] {
        g.bench_function(format!("quietlegs/{q}"), |b| {
            b.iter(|| index.search(black_box(q), 10))
        });
        g.bench_function(format!("fts5/{q}"), |b| {
            b.iter(|| fts5_search(&fts, black_box(q), 10).expect("fts"))
        });
    }
    g.bench_function("quietlegs/all-30-queries", |b| {
        b.iter(|| {
            for q in QUERIES {
                black_box(index.search(q, 10));
            }
        })
    });
    g.finish();
}

/// Building the search index over SR28 (what each `log food` pays once), and reading the shipped
/// table it is built from.
fn build(c: &mut Criterion) {
    let table = FoodTable::shipped().expect("shipped table");
    let mut g = c.benchmark_group("food_index_build_sr28");
    g.sample_size(20);
    g.bench_function("FoodTable::shipped", |b| {
        b.iter(|| FoodTable::shipped().expect("shipped table"))
    });
    g.bench_function("FoodIndex::build", |b| {
        b.iter(|| FoodIndex::build(black_box(&table)).expect("index"))
    });
    g.finish();
}

criterion_group!(benches, bench, build);
criterion_main!(benches);
