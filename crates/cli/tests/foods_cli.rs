//! `quietlegs foods …` and `intake` through the real binary, with a throw-away database.

// Integration tests: a panic is a failed test (clippy.toml allows unwrap only inside #[test]).
#![allow(clippy::expect_used, clippy::unwrap_used)]

mod common;

use common::{json, ql};
use std::path::{Path, PathBuf};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../usda/tests/fixtures")
}

#[test]
fn a_new_user_logs_almonds_and_spinach_and_sees_the_right_magnesium() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("q.sqlite3");
    // 1 oz almonds: 28.3495 g x 270 mg/100 g = 76.54 mg (USDA SR28 12061).
    let v = json(&ql(&db, &["foods", "amount", "almonds", "1 oz", "--json"]));
    assert_eq!(v["food"]["id"], "12061");
    assert!((v["grams"].as_f64().unwrap() - 28.3495).abs() < 1e-3);
    assert!((v["magnesium_mg"].as_f64().unwrap() - 76.54).abs() < 0.01);
    // ½ cup boiled spinach: 1 cup = 180 g, so 90 g x 87 mg/100 g = 78.3 mg (SR28 11458).
    let v = json(&ql(
        &db,
        &["foods", "amount", "boiled spinach", "½ cup", "--json"],
    ));
    assert_eq!(v["food"]["id"], "11458");
    assert!((v["magnesium_mg"].as_f64().unwrap() - 78.3).abs() < 0.01);
    // Both in one day with a 120 mg supplement: 76.54 + 78.3 + 120 = 274.84 mg; the example
    // profile (woman, 52) has an RDA of 320 mg, so 45.16 mg short.
    let profile = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/profile.toml");
    let v = json(&ql(
        &db,
        &[
            "intake",
            "--food",
            "almonds=1 oz",
            "--food",
            "boiled spinach=½ cup",
            "--supplement",
            "glycinate=120 mg elemental",
            "--profile",
            profile.to_str().unwrap(),
            "--json",
        ],
    ));
    assert!(
        (v["total_mg"].as_f64().unwrap() - 274.84).abs() < 0.01,
        "{v}"
    );
    assert!((v["gap_mg"].as_f64().unwrap() - 45.16).abs() < 0.01, "{v}");
    assert_eq!(v["supplemental_ul_mg"], 350);
    assert_eq!(v["gap_closers"][0]["food_id"], "12014");
    // Nothing above created a database: read-only commands never do.
    assert!(!db.exists());
}

#[test]
fn search_is_typo_tolerant_and_json_shows_portion_magnesium() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("q.sqlite3");
    let v = json(&ql(
        &db,
        &["foods", "search", "almnd", "--limit", "3", "--json"],
    ));
    assert_eq!(v["hits"][0]["id"], "12061");
    assert_eq!(v["hits"][0]["magnesium_mg_per_100g"], 270.0);
    // 1 cup, whole = 143 g: 143 x 2.70 = 386.1 mg.
    assert!((v["hits"][0]["portion"]["magnesium_mg"].as_f64().unwrap() - 386.1).abs() < 0.01);
    let out = ql(&db, &["foods", "search", "  "]);
    assert_eq!(out.status.code(), Some(2));
    let out = ql(&db, &["foods", "search", "x", "--limit", "0"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn importing_is_idempotent_and_a_bad_import_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("q.sqlite3");
    let legacy = fixtures().join("FoodData_Central_sr_legacy_food_csv_2018-04.zip");
    let first = json(&ql(
        &db,
        &["foods", "import", legacy.to_str().unwrap(), "--json"],
    ));
    assert_eq!(first["foods_written"], 2);
    assert_eq!(first["report"]["skipped_rows"], 4);
    let again = json(&ql(
        &db,
        &["foods", "import", legacy.to_str().unwrap(), "--json"],
    ));
    assert_eq!(again["foods_written"], 2);
    // The imported banana (fdc:173944, NDB 09040) replaces the shipped one in search.
    let v = json(&ql(
        &db,
        &["foods", "search", "banana", "--limit", "5", "--json"],
    ));
    let ids: Vec<&str> = v["hits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids[0], "fdc:173944");
    assert!(!ids.contains(&"09040"), "{ids:?}");
    // Its SR Legacy portion "medium" now works.
    let v = json(&ql(
        &db,
        &["foods", "amount", "banana", "1 medium", "--json"],
    ));
    assert_eq!(v["grams"], 118.0);
    // A wrong file: exit 2, a clear message, and the earlier import is still there.
    let out = ql(
        &db,
        &[
            "foods",
            "import",
            fixtures().join("not_usda").to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("is not a USDA download"));
    let v = json(&ql(
        &db,
        &[
            "foods",
            "search",
            "apples raw with skin",
            "--limit",
            "1",
            "--json",
        ],
    ));
    assert_eq!(v["hits"][0]["id"], "fdc:171688");
}

#[test]
fn intake_for_a_diary_date_uses_the_values_logged_then() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("q.sqlite3");
    for args in [
        &["log", "food", "almonds", "1 oz", "--date", "2026-11-20"][..],
        &[
            "log",
            "food",
            "boiled spinach",
            "½ cup",
            "--date",
            "2026-11-20",
        ],
        &[
            "log",
            "dose",
            "glycinate=150 mg elemental",
            "--date",
            "2026-11-20",
            "--time",
            "22:00",
        ],
        &["log", "food", "banana", "1 medium", "--date", "2026-11-21"],
    ] {
        let out = ql(&db, args);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // 76.54 (almonds) + 78.3 (spinach) + 150 (glycinate) = 304.84 mg; the banana is another day.
    let v = json(&ql(&db, &["intake", "--date", "2026-11-20", "--json"]));
    assert!(
        (v["total_mg"].as_f64().unwrap() - 304.84).abs() < 0.01,
        "{v}"
    );
    assert_eq!(v["foods"].as_array().unwrap().len(), 2);
    // Flags add to the diary day: + 1 oz pumpkin seeds 28.3495 x 5.92 = 167.83 mg.
    let v = json(&ql(
        &db,
        &[
            "intake",
            "--date",
            "2026-11-20",
            "--food",
            "pumpkin seeds dried=1 oz",
            "--json",
        ],
    ));
    assert!(
        (v["total_mg"].as_f64().unwrap() - 472.67).abs() < 0.01,
        "{v}"
    );
}

#[test]
fn a_phrase_that_matches_too_little_is_refused_with_the_closest_foods() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("q.sqlite3");
    // "motor oil": only "oil" is in any name (3 of 8 letters, 38 %, below the 75 % rule).
    for args in [
        &["foods", "amount", "motor oil", "1 tbsp"][..],
        &["intake", "--food", "motor oil=1 tbsp"][..],
        &["foods", "amount", "x", "1 cup"][..],
    ] {
        let out = ql(&db, args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains("closest foods"), "{args:?}: {stderr}");
        assert!(out.stdout.is_empty(), "{args:?}");
    }
    let out = ql(&db, &["foods", "amount", "motor oil", "1 tbsp"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("04047 Oil, coconut (covers 38 %"));
    // The id from that list is taken as given: coconut oil, 1 tbsp = 13.6 g (SR28 04047).
    let v = json(&ql(&db, &["foods", "amount", "04047", "1 tbsp", "--json"]));
    assert_eq!(v["food"]["name"], "Oil, coconut");
    assert!((v["grams"].as_f64().unwrap() - 13.6).abs() < 1e-9);
}

#[test]
fn an_ambiguous_measure_uses_usdas_first_and_says_which() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("q.sqlite3");
    // ½ cup avocado: USDA lists 1 cup, cubes = 150 g first -> 75 g, 29 mg/100 g -> 21.75 mg.
    let v = json(&ql(&db, &["foods", "amount", "avocado", "½ cup", "--json"]));
    assert_eq!(v["food"]["id"], "09037");
    assert!((v["grams"].as_f64().unwrap() - 75.0).abs() < 1e-9);
    assert!((v["magnesium_mg"].as_f64().unwrap() - 21.75).abs() < 1e-9);
    assert_eq!(
        v["alternatives"],
        serde_json::json!([
            "1 cup, pureed = 230 g (SR28)",
            "1 cup, sliced = 146 g (SR24)"
        ])
    );
    let out = ql(&db, &["foods", "amount", "avocado", "½ cup"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("used the first USDA lists"), "{text}");
}

/// A copy of the Branded fixture with `food.csv` rewritten by `edit`.
fn branded_copy(dir: &Path, name: &str, edit: impl Fn(&str) -> String) -> PathBuf {
    let src = fixtures().join("FoodData_Central_branded_food_csv_2024-10-31");
    let dest = dir.join(name);
    std::fs::create_dir_all(&dest).unwrap();
    for f in ["branded_food.csv", "food.csv", "food_nutrient.csv"] {
        let text = std::fs::read_to_string(src.join(f)).unwrap();
        let text = if f == "food.csv" { edit(&text) } else { text };
        std::fs::write(dest.join(f), text).unwrap();
    }
    dest
}

#[test]
fn imports_are_bounded_and_a_release_can_be_listed_and_removed() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("q.sqlite3");
    // A food name of 500 characters: that food is skipped and reported, the rest imported.
    let long = branded_copy(dir.path(), "FoodData_Central_branded_food_csv_long", |t| {
        t.replace("SPARKLING WATER, LIME", &"W".repeat(500))
    });
    let v = json(&ql(
        &db,
        &["foods", "import", long.to_str().unwrap(), "--json"],
    ));
    assert_eq!(v["foods_written"], 1);
    let reasons = v["report"]["skipped"].to_string();
    assert!(
        reasons.contains("name is 500 characters long: allowed at most 400"),
        "{reasons}"
    );
    // A line of 2 MiB: the whole file is refused (exit 2) before it is held in memory, and the
    // earlier import is still there.
    let huge = branded_copy(dir.path(), "FoodData_Central_branded_food_csv_huge", |t| {
        t.replace("SPARKLING WATER, LIME", &"W".repeat(2 << 20))
    });
    let out = ql(&db, &["foods", "import", huge.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("longer than 1048576 bytes"), "{stderr}");
    // Listed...
    let v = json(&ql(&db, &["foods", "releases", "--json"]));
    let releases = v["releases"].as_array().unwrap();
    assert_eq!(releases.len(), 1, "{v}");
    let name = releases[0]["release"].as_str().unwrap().to_string();
    assert_eq!(releases[0]["foods"], 1);
    // ...and removed (with --yes; without it and without a terminal, exit 2).
    let out = ql(&db, &["foods", "remove", &name]);
    assert_eq!(out.status.code(), Some(2));
    let out = ql(&db, &["foods", "remove", &name, "--yes"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v = json(&ql(&db, &["foods", "releases", "--json"]));
    assert_eq!(v["releases"].as_array().unwrap().len(), 0);
    let out = ql(&db, &["foods", "remove", "nope", "--yes"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("'nope' is not imported"));
}
