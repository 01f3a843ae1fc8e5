//! `quietlegs report` and `export --format fhir` through the real binary: exit codes, refusals
//! naming the flag, the PDF file, the JSON.

// Integration tests: a panic is a failed test (clippy.toml allows unwrap only inside #[test]).
#![allow(clippy::expect_used, clippy::unwrap_used)]

mod common;
use common::*;

const TODAY: &str = "2026-03-10";

#[test]
fn a_report_needs_a_diary_and_refuses_bad_dates_naming_the_flag() {
    let db = temp_db();
    fails(
        run_on(&db.path, Some(TODAY), &["report"]),
        "there is no diary yet",
    );
    ok(run_on(
        &db.path,
        Some(TODAY),
        &["log", "night", "--severity", "6", "--date", "2026-03-08"],
    ));
    fails(
        run_on(&db.path, Some(TODAY), &["report", "--to", "2026-03-11"]),
        "is after today (2026-03-10)",
    );
    fails(
        run_on(&db.path, Some(TODAY), &["report", "--from", "2026-3-1x"]),
        "is not a date: use YYYY-MM-DD",
    );
    fails(
        run_on(
            &db.path,
            Some(TODAY),
            &["report", "--from", "2026-03-09", "--to", "2026-03-08"],
        ),
        "is after the end of the report (2026-03-08)",
    );
}

#[test]
fn report_writes_a_pdf_and_its_json_holds_the_figures() {
    let db = temp_db();
    let profile = example_profile();
    ok(run_on(
        &db.path,
        Some(TODAY),
        &["profile", "set", profile.to_str().unwrap()],
    ));
    for (d, s) in [("2026-03-08", "6"), ("2026-03-09", "4")] {
        ok(run_on(
            &db.path,
            Some(TODAY),
            &["log", "night", "--severity", s, "--date", d],
        ));
    }
    let pdf = db.dir.path().join("report.pdf");
    let said = ok(run_on(
        &db.path,
        Some(TODAY),
        &["report", "--pdf", pdf.to_str().unwrap()],
    ));
    assert!(said.contains("2026-03-08 to 2026-03-10"), "{said}");
    let bytes = std::fs::read(&pdf).unwrap();
    assert!(bytes.starts_with(b"%PDF-"));
    let r = json(&run_on(&db.path, Some(TODAY), &["report", "--json"]));
    // Nights 6 and 4: mean 5 over the 3 days from the first entry to today.
    assert_eq!(r["nights"]["mean_severity"], 5.0);
    assert_eq!(r["nights"]["days_in_range"], 3);
    assert_eq!(r["person"]["age"], 52);
    assert_eq!(r["trial"]["state"], "none");
    let text = ok(run_on(&db.path, Some(TODAY), &["report"]));
    assert!(
        text.contains("Nightly severity: mean 5 of 10 over 2 nights logged of 3"),
        "{text}"
    );
}

#[test]
fn export_fhir_is_a_collection_bundle_with_the_patient() {
    let db = temp_db();
    ok(run_on(
        &db.path,
        Some(TODAY),
        &["log", "night", "--severity", "6", "--date", "2026-03-08"],
    ));
    let out = ok(run_on(
        &db.path,
        Some(TODAY),
        &["export", "--format", "fhir"],
    ));
    let bundle: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(bundle["resourceType"], "Bundle");
    assert_eq!(bundle["type"], "collection");
    let kinds: Vec<&str> = bundle["entry"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["resource"]["resourceType"].as_str().unwrap())
        .collect();
    assert!(kinds.contains(&"Patient"), "{kinds:?}");
    assert!(kinds.contains(&"Observation"), "{kinds:?}");
}
