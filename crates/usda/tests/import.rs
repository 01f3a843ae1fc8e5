//! The importers against committed fixtures in the exact official formats.

// Integration tests: a panic is a failed test (clippy.toml allows unwrap only inside #[test]).
#![allow(clippy::expect_used, clippy::unwrap_used)]

use quietlegs_core::food::Food;
use quietlegs_usda::{import, DownloadKind, ImportError, ImportReport, NoProgress};
use std::path::{Path, PathBuf};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn run(name: &str) -> (DownloadKind, ImportReport, Vec<Food>) {
    let mut foods = Vec::new();
    let (kind, report) = import(&fixture(name), &mut NoProgress, &mut |f| {
        foods.push(f);
        Ok(())
    })
    .unwrap_or_else(|e| panic!("{name}: {e}"));
    (kind, report, foods)
}

fn find<'a>(foods: &'a [Food], id: &str) -> &'a Food {
    foods
        .iter()
        .find(|f| f.id == id)
        .unwrap_or_else(|| panic!("{id} missing"))
}

fn skipped_reasons(r: &ImportReport) -> Vec<String> {
    r.skipped
        .iter()
        .map(|s| format!("{}:{} {}", s.file, s.line, s.reason))
        .collect()
}

#[test]
fn sr_ascii_latin1_crlf_nulls_and_bad_rows() {
    let (kind, r, foods) = run("sr28_ascii");
    assert_eq!(kind, DownloadKind::SrAscii);
    assert_eq!((r.foods, r.nutrient_rows, r.portions), (3, 8, 4));
    let banana = find(&foods, "09040");
    assert_eq!(banana.ndb.as_deref(), Some("09040"));
    assert_eq!(banana.group.as_deref(), Some("0900"));
    assert_eq!(banana.per_100g.magnesium_mg, Some(27.0));
    assert_eq!(banana.per_100g.kcal, Some(89.0));
    assert_eq!(banana.portions[1].unit, "medium (7\" to 7-7/8\" long)");
    assert_eq!(banana.portions[1].grams, 118.0);
    // Latin-1 bytes decode to the right characters.
    let creme = find(&foods, "99001");
    assert_eq!(creme.name, "Crème fraîche drink, test");
    // A blank Nutr_Val stays unknown, never 0.
    assert_eq!(creme.per_100g.magnesium_mg, None);
    assert_eq!(creme.group, Some("1400".into()));
    // Skipped with file and line: a bad NDB row, a non-numeric value, a 0 g weight.
    let reasons = skipped_reasons(&r);
    assert_eq!(r.skipped_rows, 3, "{reasons:?}");
    assert!(
        reasons.iter().any(|s| s.starts_with("FOOD_DES.txt:4 ")),
        "{reasons:?}"
    );
    assert!(
        reasons
            .iter()
            .any(|s| s.starts_with("NUT_DATA.txt:8 Nutr_Val 'abc'")),
        "{reasons:?}"
    );
    assert!(
        reasons.iter().any(|s| s.starts_with("WEIGHT.txt:5 ")),
        "{reasons:?}"
    );
}

#[test]
fn fdc_sr_legacy_folder_and_zip_give_the_same_foods() {
    let (kind, r, foods) = run("FoodData_Central_sr_legacy_food_csv_2018-04");
    assert_eq!(kind, DownloadKind::FdcCsv);
    assert_eq!(r.foods, 2);
    let apple = find(&foods, "fdc:171688");
    // A quoted comma and an apostrophe survive; NDB is zero-padded; the category maps to its code.
    assert!(apple
        .name
        .starts_with("Apples, raw, with skin (Includes foods for USDA's"));
    assert_eq!(apple.ndb.as_deref(), Some("09003"));
    assert_eq!(apple.group.as_deref(), Some("0900"));
    // Unit 9999: the unit text is in `modifier`; "" escapes a quote.
    assert_eq!(apple.portions[1].unit, "medium (3\" dia)");
    assert_eq!(apple.portions[1].grams, 182.0);
    let banana = find(&foods, "fdc:173944");
    assert_eq!(banana.per_100g.magnesium_mg, Some(27.0));
    assert_eq!(banana.per_100g.calcium_mg, None); // "not-a-number" was skipped, not 0
    assert_eq!(banana.portions.len(), 1); // the 0 g portion is dropped
    let reasons = skipped_reasons(&r);
    assert!(
        reasons
            .iter()
            .any(|s| s.contains("food_nutrient.csv:7 amount 'not-a-number'")),
        "{reasons:?}"
    );
    assert!(
        reasons
            .iter()
            .any(|s| s.contains("food_nutrient.csv:8 malformed CSV row")),
        "{reasons:?}"
    );
    assert!(
        reasons
            .iter()
            .any(|s| s.contains("food_portion.csv:5 gram_weight '0'")),
        "{reasons:?}"
    );
    assert!(
        reasons
            .iter()
            .any(|s| s.contains("food.csv:4 empty description")),
        "{reasons:?}"
    );

    let (_, rz, zipped) = run("FoodData_Central_sr_legacy_food_csv_2018-04.zip");
    assert_eq!(zipped, foods);
    assert_eq!(rz, r);
}

#[test]
fn fdc_foundation_energy_fallback_13_columns_and_real_units() {
    let (_, r, foods) = run("FoodData_Central_foundation_food_csv_2024-10-31");
    assert_eq!(r.foods, 2);
    let beans = find(&foods, "fdc:2346393");
    // No 1008: Atwater specific (2048) wins over general (2047).
    assert_eq!(beans.per_100g.kcal, Some(88.2));
    assert_eq!(beans.per_100g.magnesium_mg, Some(38.5));
    assert_eq!(beans.ndb.as_deref(), Some("16300"));
    assert_eq!(
        (
            beans.portions[0].amount,
            beans.portions[0].unit.as_str(),
            beans.portions[0].grams
        ),
        (0.5, "cup", 91.0)
    );
    let spinach = find(&foods, "fdc:2344719");
    assert_eq!(spinach.per_100g.kcal, Some(27.4)); // only 2047
    assert_eq!(spinach.ndb, None);
    assert_eq!(spinach.portions[0].unit, "cup, loosely packed");
    assert_eq!(r.data_types.get("foundation_food"), Some(&2));
    assert!(skipped_reasons(&r)
        .iter()
        .any(|s| s.contains("data_type 'sub_sample_food' is not imported")));
}

#[test]
fn fdc_survey_portions_and_the_90000_code() {
    let (_, r, foods) = run("FoodData_Central_survey_food_csv_2024-10-31");
    let milk = find(&foods, "fdc:2705385");
    let units: Vec<(f64, &str, f64)> = milk
        .portions
        .iter()
        .map(|p| (p.amount, p.unit.as_str(), p.grams))
        .collect();
    assert_eq!(units, [(1.0, "cup", 244.0), (1.0, "fl oz", 30.5)]);
    // This fixture has CRLF line ends: the 90000 row is on line 4.
    assert!(
        skipped_reasons(&r)
            .iter()
            .any(|s| s.starts_with("food_portion.csv:4 FNDDS portion 90000")),
        "{:?}",
        skipped_reasons(&r)
    );
}

#[test]
fn fdc_branded_servings() {
    let (_, r, foods) = run("FoodData_Central_branded_food_csv_2024-10-31");
    let butter = find(&foods, "fdc:1105904");
    assert_eq!(
        (
            butter.portions[0].amount,
            butter.portions[0].unit.as_str(),
            butter.portions[0].grams
        ),
        (2.0, "Tbsp", 32.0)
    );
    assert_eq!(butter.per_100g.magnesium_mg, Some(281.0));
    let water = find(&foods, "fdc:1105905");
    assert!(water.portions.is_empty());
    assert_eq!(water.per_100g.magnesium_mg, None);
    assert!(skipped_reasons(&r)
        .iter()
        .any(|s| s.contains("serving given in ml")));
}

#[test]
fn wrong_kinds_of_file_are_clear_errors() {
    let err = import(&fixture("not_usda"), &mut NoProgress, &mut |_| Ok(())).unwrap_err();
    assert!(matches!(err, ImportError::WrongKind { .. }), "{err}");
    assert!(
        err.to_string().contains("found: data.csv, readme.txt"),
        "{err}"
    );
    let err = import(&fixture("not_a_zip.zip"), &mut NoProgress, &mut |_| Ok(())).unwrap_err();
    assert!(
        err.to_string().contains("not a readable zip archive"),
        "{err}"
    );
    let err = import(&fixture("missing"), &mut NoProgress, &mut |_| Ok(())).unwrap_err();
    assert!(matches!(err, ImportError::Io { .. }), "{err}");
}

#[test]
fn a_sink_error_stops_the_import() {
    let err = import(&fixture("sr28_ascii"), &mut NoProgress, &mut |_| {
        Err("disk full".into())
    })
    .unwrap_err();
    assert_eq!(err.to_string(), "import stopped: disk full");
}
