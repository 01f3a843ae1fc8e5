//! Search relevance on the judged phrase set `data/food/relevance/relevance.tsv` (judged
//! independently of the ranking; see that folder's README): top-1 accuracy and MRR@5 must not
//! fall below the floors recorded here and in `docs/performance.md`.
//!
//! `cargo test -p quietlegs-core --test relevance -- --nocapture` prints the figures, by
//! category, and every phrase whose first hit is not acceptable.

// Integration tests: a panic is a failed test (clippy.toml allows unwrap only inside #[test]).
#![allow(clippy::expect_used, clippy::unwrap_used)]

use quietlegs_core::food::search::FoodIndex;
use quietlegs_core::food::FoodTable;
use std::collections::{BTreeMap, HashSet};

const RELEVANCE: &str = include_str!("../../../data/food/relevance/relevance.tsv");
/// 80 phrases judged by a second judge and never used while tuning the ranking: how far the
/// ranking generalises.
const HELD_OUT: &str = include_str!("../../../data/food/relevance/heldout.tsv");

/// Floors: the figures measured when the ranking was last changed (docs/performance.md), rounded
/// down, so a change that makes search worse fails here. Raise them when the ranking improves.
const TOP1_FLOOR: f64 = 0.97;
const MRR5_FLOOR: f64 = 0.98;
/// Results considered for the reciprocal rank.
const MRR_DEPTH: usize = 5;

struct Judged {
    phrase: String,
    acceptable: HashSet<String>,
    category: String,
}

fn judged(text: &str) -> Vec<Judged> {
    let mut lines = text.lines();
    assert_eq!(
        lines.next(),
        Some("phrase\tacceptable_ndb_ids\tcategory\tnote")
    );
    lines
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            assert_eq!(f.len(), 4, "line {l:?}");
            Judged {
                phrase: f[0].to_string(),
                acceptable: f[1].split(',').map(|s| s.trim().to_string()).collect(),
                category: f[2].to_string(),
            }
        })
        .collect()
}

/// (top-1 hits, sum of reciprocal ranks, phrases) per category and overall.
#[derive(Default, Clone, Copy)]
struct Tally {
    top1: usize,
    rr: f64,
    n: usize,
}

/// Top-1 accuracy and MRR@5 of `set`, printed with the misses.
fn evaluate(name: &str, set: &[Judged]) -> (f64, f64) {
    let table = FoodTable::shipped().unwrap();
    let index = FoodIndex::build(&table).unwrap();
    let ids: HashSet<&str> = table.foods.iter().map(|f| f.id.as_str()).collect();
    let mut by_category: BTreeMap<String, Tally> = BTreeMap::new();
    let mut all = Tally::default();
    let mut misses = Vec::new();
    for j in set {
        for id in &j.acceptable {
            assert!(ids.contains(id.as_str()), "{}: unknown id {id}", j.phrase);
        }
        let hits = index.search(&j.phrase, MRR_DEPTH);
        let rank = hits
            .iter()
            .position(|h| j.acceptable.contains(&table.foods[h.food].id));
        let t = by_category.entry(j.category.clone()).or_default();
        for t in [t, &mut all] {
            t.n += 1;
            if rank == Some(0) {
                t.top1 += 1;
            }
            if let Some(r) = rank {
                t.rr += 1.0 / (r + 1) as f64;
            }
        }
        if rank != Some(0) {
            let first = hits
                .first()
                .map(|h| {
                    let f = &table.foods[h.food];
                    format!("{} {}", f.id, f.name)
                })
                .unwrap_or_else(|| "nothing".into());
            misses.push(format!(
                "  {:?} ({}): rank {} — first: {first}",
                j.phrase,
                j.category,
                rank.map_or("-".to_string(), |r| (r + 1).to_string())
            ));
        }
    }
    let top1 = all.top1 as f64 / all.n as f64;
    let mrr = all.rr / all.n as f64;
    println!(
        "{name}: {} phrases, top-1 {:.1} % ({}), MRR@5 {:.3}",
        all.n,
        100.0 * top1,
        all.top1,
        mrr
    );
    for (c, t) in &by_category {
        println!(
            "  {c:<15} {:>3} phrases  top-1 {:5.1} %  MRR@5 {:.3}",
            t.n,
            100.0 * t.top1 as f64 / t.n as f64,
            t.rr / t.n as f64
        );
    }
    println!("first hit not acceptable ({}):", misses.len());
    for m in &misses {
        println!("{m}");
    }
    (top1, mrr)
}

#[test]
fn judged_phrases_meet_the_recorded_floors() {
    let set = judged(RELEVANCE);
    assert!(set.len() >= 200, "{} phrases", set.len());
    let (top1, mrr) = evaluate("relevance", &set);
    assert!(top1 >= TOP1_FLOOR, "top-1 {top1:.4} < floor {TOP1_FLOOR}");
    assert!(mrr >= MRR5_FLOOR, "MRR@5 {mrr:.4} < floor {MRR5_FLOOR}");
}

/// Floors of the held-out set, from its first measurement (docs/performance.md).
const HELD_OUT_TOP1_FLOOR: f64 = 0.90;
const HELD_OUT_MRR5_FLOOR: f64 = 0.91;

#[test]
fn held_out_phrases_meet_their_floors() {
    let set = judged(HELD_OUT);
    assert_eq!(set.len(), 80);
    let (top1, mrr) = evaluate("held-out", &set);
    assert!(
        top1 >= HELD_OUT_TOP1_FLOOR,
        "top-1 {top1:.4} < floor {HELD_OUT_TOP1_FLOOR}"
    );
    assert!(
        mrr >= HELD_OUT_MRR5_FLOOR,
        "MRR@5 {mrr:.4} < floor {HELD_OUT_MRR5_FLOOR}"
    );
}
