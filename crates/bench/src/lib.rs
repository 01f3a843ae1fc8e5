//! Shared pieces of the quietlegs benchmarks: the query set, a synthetic food table of any size,
//! an SQLite FTS5 index over the same foods, and latency percentiles.

// Benchmarks are measurement tools run by developers on shipped data: a panic is a failed run.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use quietlegs_core::food::{Food, FoodTable};
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use rusqlite::Connection;
use std::time::{Duration, Instant};

/// Queries a person types: plain words, several words in any order, prefixes, typos.
pub const QUERIES: &[&str] = &[
    "banana",
    "milk",
    "almonds",
    "almnd",
    "pumpkin seed roasted",
    "boiled spinach",
    "spinach",
    "black beans",
    "dark chocolate",
    "avocado",
    "brown rice cooked",
    "salmon atlantic",
    "whole wheat bread",
    "chia",
    "cashew",
    "peanut butter smooth",
    "yogurt plain",
    "oat",
    "brocoli",
    "chiken breast roasted",
    "egg",
    "lentils",
    "potato baked",
    "edamame",
    "cheese cheddar",
    "apple raw",
    "orange juice",
    "tofu",
    "quinoa cooked",
    "sunflower seeds",
];

/// Brand-like words for synthetic foods.
const BRANDS: &[&str] = &[
    "acme",
    "northfield",
    "greenvale",
    "sunridge",
    "harvest",
    "bluebird",
    "oakwood",
    "riverside",
    "meadow",
    "golden",
    "prairie",
    "summit",
    "coastal",
    "heritage",
    "orchard",
    "valley",
];
const STYLES: &[&str] = &[
    "organic",
    "family size",
    "lightly salted",
    "unsalted",
    "original",
    "classic",
    "value pack",
    "reduced fat",
    "low sodium",
    "snack pack",
    "frozen",
    "canned",
    "premium",
    "homestyle",
];

/// The shipped SR28 table grown to `n` foods: every synthetic food is an SR28 food with a brand
/// and a style, so word statistics resemble a Branded import. Seeded: the same `n` and `seed`
/// give the same table.
pub fn synthetic_table(n: usize, seed: u64) -> FoodTable {
    let mut table = FoodTable::shipped().expect("shipped table");
    let base: Vec<Food> = table.foods.clone();
    let mut rng = StdRng::seed_from_u64(seed);
    let mut extra = Vec::with_capacity(n.saturating_sub(base.len()));
    for i in base.len()..n {
        let b = base.choose(&mut rng).expect("non-empty");
        let brand = BRANDS.choose(&mut rng).expect("non-empty");
        let style = STYLES.choose(&mut rng).expect("non-empty");
        let mut f = b.clone();
        f.id = format!("syn:{i}");
        f.ndb = None;
        f.release = "synthetic".into();
        f.group = None;
        f.name = if rng.random_bool(0.5) {
            format!("{}, {brand}, {style}", b.name.to_uppercase())
        } else {
            format!("{brand} {style} {}", b.name)
        };
        extra.push(f);
    }
    table.foods.extend(extra);
    table
}

/// An in-memory SQLite FTS5 index over the same food names.
pub fn fts5_index(table: &FoodTable) -> rusqlite::Result<Connection> {
    let conn = Connection::open_in_memory()?;
    conn.execute_batch(
        "CREATE VIRTUAL TABLE food_fts USING fts5(name, tokenize = 'porter unicode61');",
    )?;
    let tx = conn.unchecked_transaction()?;
    {
        let mut stmt = tx.prepare("INSERT INTO food_fts(rowid, name) VALUES (?1, ?2)")?;
        for (i, f) in table.foods.iter().enumerate() {
            stmt.execute(rusqlite::params![i as i64, f.name])?;
        }
    }
    tx.commit()?;
    Ok(conn)
}

/// The FTS5 equivalent of a query: every word as a prefix, all required, ranked by bm25.
pub fn fts5_search(conn: &Connection, query: &str, limit: usize) -> rusqlite::Result<Vec<i64>> {
    let expr: Vec<String> = query
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| format!("\"{w}\"*"))
        .collect();
    if expr.is_empty() {
        return Ok(Vec::new());
    }
    let mut stmt = conn.prepare_cached(
        "SELECT rowid FROM food_fts WHERE food_fts MATCH ?1 ORDER BY bm25(food_fts) LIMIT ?2",
    )?;
    let rows = stmt.query_map(rusqlite::params![expr.join(" AND "), limit as i64], |r| {
        r.get(0)
    })?;
    rows.collect()
}

/// Median and 99th percentile of per-query latencies (nearest-rank).
pub fn percentiles(mut samples: Vec<Duration>) -> (Duration, Duration) {
    samples.sort();
    let rank = |p: f64| {
        let k = ((p * samples.len() as f64).ceil() as usize).clamp(1, samples.len());
        samples[k - 1]
    };
    (rank(0.50), rank(0.99))
}

/// Times `run` once per query, `rounds` times over the query set.
pub fn latencies(rounds: usize, run: impl FnMut(&str)) -> Vec<Duration> {
    latencies_over(QUERIES, rounds, run)
}

/// Times `run` once per query, `rounds` times over `queries`.
pub fn latencies_over(queries: &[&str], rounds: usize, mut run: impl FnMut(&str)) -> Vec<Duration> {
    let mut out = Vec::with_capacity(rounds * queries.len());
    for _ in 0..rounds {
        for q in queries {
            let t = Instant::now();
            run(q);
            out.push(t.elapsed());
        }
    }
    out
}

/// The phrases of the judged relevance set (`data/food/relevance/relevance.tsv`): everyday
/// phrases as people type them, a second, larger query set.
pub fn judged_phrases() -> Vec<&'static str> {
    include_str!("../../../data/food/relevance/relevance.tsv")
        .lines()
        .skip(1)
        .filter_map(|l| l.split('\t').next())
        .filter(|p| !p.is_empty())
        .collect()
}

/// A simulated 126-night trial (3 cycles x 2 arms x 21 nights, 7-night run-in) as the CSV of
/// `quietlegs trial analyze --csv`, and the spec of its analysis.
pub fn trial_126_nights() -> (String, quietlegs_core::trial::analysis::AnalysisSpec) {
    use quietlegs_core::trial::analysis::AnalysisSpec;
    use quietlegs_core::trial::design::{Comparison, Outcome, TrialDesign, VerdictThresholds};
    use quietlegs_core::trial::power::{simulate_outcomes, Assumptions};
    let rule = quietlegs_core::ReferenceData::shipped()
        .expect("reference")
        .rules
        .trial;
    let start = jiff::civil::date(2026, 1, 5);
    let mut d = TrialDesign::with_defaults(
        &rule,
        Comparison::Placebo,
        vec!["magnesium".into(), "placebo".into()],
        Outcome::NightlySeverity,
        9,
        start,
    );
    d.period_days = 21;
    d.run_in_days = 7;
    let a = Assumptions {
        effect: -1.0,
        sd: 1.5,
        rho: 0.5,
        drift_per_day: 0.0,
        baseline: 5.0,
        missing: 0.05,
    };
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
    let outcomes = simulate_outcomes(&d, &a, &mut rng);
    let mut csv = String::from("day,condition,outcome\n");
    for p in d.schedule() {
        for day in p.first_day..=p.last_day {
            let y = outcomes
                .get(&day)
                .map(|v| format!("{:.0}", v.clamp(0.0, 10.0)))
                .unwrap_or_default();
            csv.push_str(&format!("{day},{},{y}\n", d.arms[p.arm]));
        }
    }
    let spec = AnalysisSpec {
        treatment: "magnesium".into(),
        control: "placebo".into(),
        mcid: d.mcid,
        higher_is_better: false,
        thresholds: VerdictThresholds::from_rule(&rule),
        complete: true,
        blinded: true,
        placebo_controlled: true,
        randomization_exact_max: rule.randomization_exact_max,
        randomization_monte_carlo: rule.randomization_monte_carlo,
        randomization_seed: 1,
        outcome: Some(d.outcome),
    };
    (csv, spec)
}

/// A long synthetic trial as the CSV of `quietlegs trial analyze --csv` (with a period column):
/// `nights` nights in 28-night periods, the two arms in a random order inside every cycle,
/// AR(1) noise (SD 1.5, ρ 0.5), magnesium 1 point lower, 5 % of outcomes left empty.
pub fn long_trial_csv(nights: usize, seed: u64) -> String {
    use rand::seq::SliceRandom;
    use rand::{Rng, SeedableRng};
    const PERIOD: usize = 28;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let mut out = String::with_capacity(nights * 24);
    out.push_str("day,condition,outcome,period\n");
    let (sd, rho) = (1.5f64, 0.5f64);
    let innovation = sd * (1.0 - rho * rho).sqrt();
    // Sum of 12 uniforms minus 6: a standard normal to within what a timing input needs.
    let normal = |rng: &mut rand_chacha::ChaCha8Rng| -> f64 {
        (0..12).map(|_| rng.random::<f64>()).sum::<f64>() - 6.0
    };
    let mut e = sd * normal(&mut rng);
    let mut order = [0usize, 1];
    for day in 0..nights {
        let period = day / PERIOD;
        if day % (2 * PERIOD) == 0 {
            order.shuffle(&mut rng);
        }
        let arm = order[period % 2];
        e = rho * e + innovation * normal(&mut rng);
        let label = ["magnesium", "placebo"][arm];
        if rng.random_bool(0.05) {
            out.push_str(&format!("{day},{label},,{period}\n"));
        } else {
            let y = 5.0 - if arm == 0 { 1.0 } else { 0.0 } + e;
            out.push_str(&format!("{day},{label},{y:.1},{period}\n"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_by_nearest_rank() {
        // 1..=100 ms: median is the 50th value, p99 the 99th.
        let s: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        assert_eq!(
            percentiles(s),
            (Duration::from_millis(50), Duration::from_millis(99))
        );
    }

    #[test]
    fn synthetic_table_has_the_requested_size_and_is_reproducible() {
        let a = synthetic_table(10_000, 7);
        let b = synthetic_table(10_000, 7);
        assert_eq!(a.foods.len(), 10_000);
        assert_eq!(a.foods[9_999].name, b.foods[9_999].name);
    }
}
