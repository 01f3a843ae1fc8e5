//! The search ranking and the acceptance rule serve imported FoodData Central foods (Foundation,
//! FNDDS survey, Branded, SR Legacy) the same way as the shipped SR28 table: the rules read the
//! structure of the USDA name, which all FDC data types share.

// Integration tests: a panic is a failed test (clippy.toml allows unwrap only inside #[test]).
#![allow(clippy::expect_used, clippy::unwrap_used)]

use quietlegs_core::food::search::{BestMatch, FoodIndex};
use quietlegs_core::food::{Food, FoodTable};
use quietlegs_usda::{import, NoProgress};
use std::path::Path;

/// The shipped table plus every FDC fixture imported, as `quietlegs foods import` builds it.
fn table() -> FoodTable {
    let mut table = FoodTable::shipped().unwrap();
    for name in [
        "FoodData_Central_foundation_food_csv_2024-10-31",
        "FoodData_Central_survey_food_csv_2024-10-31",
        "FoodData_Central_branded_food_csv_2024-10-31",
        "FoodData_Central_sr_legacy_food_csv_2018-04.zip",
    ] {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(name);
        let mut foods: Vec<Food> = Vec::new();
        import(&path, &mut NoProgress, &mut |f| {
            foods.push(f);
            Ok(())
        })
        .unwrap_or_else(|e| panic!("{name}: {e}"));
        table.extend(foods);
    }
    table
}

fn ids(table: &FoodTable, index: &FoodIndex, query: &str, n: usize) -> Vec<String> {
    index
        .search(query, n)
        .iter()
        .map(|h| table.foods[h.food].id.clone())
        .collect()
}

#[test]
fn foundation_and_survey_foods_rank_by_their_names() {
    let table = table();
    let index = FoodIndex::build(&table).unwrap();
    // Foundation "Spinach, baby" (fdc 2344719) names both words: head and variety.
    assert_eq!(ids(&table, &index, "baby spinach", 1), ["fdc:2344719"]);
    // Foundation "Beans, black, canned, sodium added, drained and rinsed" (fdc 2346393): found
    // for "black beans canned", first, since only it names "canned".
    assert_eq!(
        ids(&table, &index, "black beans canned", 1),
        ["fdc:2346393"]
    );
    // FNDDS survey "Milk, whole" (fdc 2705385) ranks among SR28's whole milks (01077 with
    // vitamin D, 01211 without), which win the near-tie on their USDA household measures: the
    // three lead, ahead of every other milk.
    let mut top3 = ids(&table, &index, "whole milk", 3);
    top3.sort();
    assert_eq!(top3, ["01077", "01211", "fdc:2705385"]);
}

#[test]
fn sr_legacy_imports_replace_the_shipped_food_and_keep_its_rank() {
    let table = table();
    let index = FoodIndex::build(&table).unwrap();
    // The SR Legacy zip carries "Bananas, raw" (fdc 173944, NDB 09040): it replaces the
    // shipped 09040 and is still the first banana.
    assert_eq!(ids(&table, &index, "banana", 1), ["fdc:173944"]);
}

#[test]
fn branded_foods_come_after_generic_ones_unless_nothing_generic_matches() {
    let table = table();
    let index = FoodIndex::build(&table).unwrap();
    // "ALMOND BUTTER, CRUNCHY" (Branded, fdc 1105904) is found, but the SR28 generic almond
    // butter comes first.
    let hits = ids(&table, &index, "almond butter", 5);
    assert!(hits.contains(&"fdc:1105904".to_string()), "{hits:?}");
    let first = table.by_id(&hits[0]).unwrap();
    assert!(first.release == "SR28", "{} {}", first.id, first.name);
    assert!(first.name.contains("almond butter"), "{}", first.name);
    // "sparkling water lime": only the branded food has every word, so it is first and
    // accepted by the acceptance rule.
    assert_eq!(
        ids(&table, &index, "sparkling water lime", 1),
        ["fdc:1105905"]
    );
    match index.best_match("sparkling water lime") {
        BestMatch::Accepted(h) => assert_eq!(table.foods[h.food].id, "fdc:1105905"),
        other => panic!("{other:?}"),
    }
    // A phrase mostly missing from every name is refused, imported foods or not.
    assert!(matches!(
        index.best_match("motor oil"),
        BestMatch::Weak { .. }
    ));
}

#[test]
fn imported_foods_take_their_place_by_the_same_rules() {
    let table = table();
    let index = FoodIndex::build(&table).unwrap();
    // "spinach": a vegetable is raw by default and the plainest name wins: SR28 "Spinach, raw"
    // (11457), then Foundation "Spinach, baby" (fdc 2344719), whose variety the query does not
    // name, ahead of every cooked or canned spinach.
    assert_eq!(ids(&table, &index, "spinach", 2), ["11457", "fdc:2344719"]);
    // "black beans": legumes are eaten cooked, and canning costs where the food also comes
    // unprocessed: SR28 "Beans, black, mature seeds, cooked, boiled, without salt" (16015)
    // comes before Foundation "Beans, black, canned, ..." (fdc 2346393), which comes first
    // only when "canned" is typed (the test above).
    let black_beans = ids(&table, &index, "black beans", 10);
    assert_eq!(black_beans[0], "16015");
    assert!(!black_beans[..5].contains(&"fdc:2346393".to_string()));
    // "lime": the fruit, raw (SR28 "Limes, raw", 09159); Branded "SPARKLING WATER, LIME" is
    // sparkling water (its head) and branded, so it is not among the first five.
    let lime = ids(&table, &index, "lime", 5);
    assert_eq!(lime[0], "09159");
    assert!(!lime.contains(&"fdc:1105905".to_string()), "{lime:?}");
    // "crunchy almond butter": only the Branded "ALMOND BUTTER, CRUNCHY" (fdc 1105904) has
    // every word, so the branded food comes first when nothing generic matches.
    assert_eq!(
        ids(&table, &index, "crunchy almond butter", 1),
        ["fdc:1105904"]
    );
}
