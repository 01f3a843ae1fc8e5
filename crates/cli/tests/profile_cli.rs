//! `quietlegs profile set|show` and `plan` with the stored profile.

// Integration tests: a panic is a failed test (clippy.toml allows unwrap only inside #[test]).
#![allow(clippy::expect_used, clippy::unwrap_used)]

mod common;

use common::{fails, json, ok, ql, temp_db};

#[test]
fn a_stored_profile_is_used_by_plan_and_a_bad_one_is_never_stored() {
    let db = temp_db();
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/profile.toml");
    // Nothing stored yet: plan needs --profile, and names it.
    fails(ql(&db.path, &["plan"]), "no profile is stored");
    fails(ql(&db.path, &["profile", "show"]), "no profile is stored");
    // A bad file is refused naming the key, and creates no database.
    let bad = db.dir.path().join("bad.toml");
    std::fs::write(
        &bad,
        "age = 0\nsex = \"male\"\nbedtime = \"22:00\"\ngi_tolerance = \"normal\"\n",
    )
    .unwrap();
    fails(
        ql(&db.path, &["profile", "set", bad.to_str().unwrap()]),
        "age",
    );
    assert!(!db.path.exists(), "a refused profile creates no database");
    let out = ok(ql(&db.path, &["profile", "set", example]));
    assert!(out.contains("Profile stored"), "{out}");
    // `show` prints the document as written (comments kept).
    let shown = ok(ql(&db.path, &["profile", "show"]));
    assert_eq!(shown, std::fs::read_to_string(example).unwrap());
    // The plan from the stored profile is the plan from the file.
    let stored = json(&ql(&db.path, &["plan", "--json"]));
    let from_file = json(&ql(&db.path, &["plan", "--json", "--profile", example]));
    assert_eq!(stored, from_file);
    // examples/profile.toml: a woman of 52, so the RDA is 320 mg (NIH ODS, women 51+).
    assert_eq!(stored["rda_mg"], 320);
}
