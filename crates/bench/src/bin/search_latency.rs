//! Per-query latency of food search: median and p99 over the SR28 table and a 500,000-food table,
//! for quietlegs' index and for SQLite FTS5 over the same foods, in one run.
//!
//! `cargo run --release -p quietlegs-bench --bin search_latency`

// Benchmarks are measurement tools run by developers on shipped data: a panic is a failed run.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use quietlegs_bench::{
    fts5_index, fts5_search, judged_phrases, latencies, latencies_over, percentiles,
    synthetic_table,
};
use quietlegs_core::food::search::FoodIndex;
use quietlegs_core::food::FoodTable;
use std::time::{Duration, Instant};

const ROUNDS: usize = 100;
const LIMIT: usize = 10;
/// Rounds over the judged relevance phrases (339 phrases, so fewer rounds give as many samples).
const PHRASE_ROUNDS: usize = 10;

fn us(d: Duration) -> String {
    format!("{:.1} µs", d.as_secs_f64() * 1e6)
}

fn measure(label: &str, table: &FoodTable) {
    let t = Instant::now();
    let index = FoodIndex::build(table).expect("index");
    let build = t.elapsed();
    let t = Instant::now();
    let fts = fts5_index(table).expect("fts5");
    let fts_build = t.elapsed();
    // Warm both.
    for _ in latencies(2, |q| {
        std::hint::black_box(index.search(q, LIMIT));
        std::hint::black_box(fts5_search(&fts, q, LIMIT).expect("fts query"));
    }) {}
    let ours = percentiles(latencies(ROUNDS, |q| {
        std::hint::black_box(index.search(q, LIMIT));
    }));
    let theirs = percentiles(latencies(ROUNDS, |q| {
        std::hint::black_box(fts5_search(&fts, q, LIMIT).expect("fts query"));
    }));
    println!(
        "| {label} | {} | quietlegs index | {} | {} | build {:.0} ms |",
        table.foods.len(),
        us(ours.0),
        us(ours.1),
        build.as_secs_f64() * 1e3
    );
    println!(
        "| {label} | {} | SQLite FTS5 (prefix AND, bm25) | {} | {} | build {:.0} ms |",
        table.foods.len(),
        us(theirs.0),
        us(theirs.1),
        fts_build.as_secs_f64() * 1e3
    );
    println!(
        "| {label} | | ratio FTS5 / quietlegs | {:.2} | {:.2} | |",
        theirs.0.as_secs_f64() / ours.0.as_secs_f64(),
        theirs.1.as_secs_f64() / ours.1.as_secs_f64()
    );
    let phrases = judged_phrases();
    let judged = percentiles(latencies_over(&phrases, PHRASE_ROUNDS, |q| {
        std::hint::black_box(index.search(q, LIMIT));
    }));
    println!(
        "| {label} | {} | quietlegs index, {} judged phrases | {} | {} | |",
        table.foods.len(),
        phrases.len(),
        us(judged.0),
        us(judged.1)
    );
}

fn main() {
    println!(
        "{} queries x {ROUNDS} rounds each, top {LIMIT}",
        quietlegs_bench::QUERIES.len()
    );
    println!("| table | foods | engine | median | p99 | |");
    println!("|---|---|---|---|---|---|");
    let sr28 = FoodTable::shipped().expect("shipped table");
    measure("SR28", &sr28);
    let big = synthetic_table(500_000, 42);
    measure("synthetic", &big);
}
