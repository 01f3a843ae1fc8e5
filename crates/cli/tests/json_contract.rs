//! The `--json` contract of the commands whose output became the serialization of an
//! application type (docs/json.md): the exact text, snapshotted, so that a change of a key, its
//! order or its meaning shows in review. Every run is on a fresh database on a fixed date; foods
//! are named by id so that a change of search ranking does not change these outputs.

// Integration tests: a panic is a failed test (clippy.toml allows unwrap only inside #[test]).
#![allow(clippy::expect_used, clippy::unwrap_used)]

mod common;

use common::{example_profile, ok, run_on, temp_db};

const TODAY: &str = "2026-11-25";

#[test]
fn json_outputs_are_the_serialization_of_their_types() {
    let db = temp_db();
    let run = |args: &[&str]| ok(run_on(&db.path, Some(TODAY), args));
    let profile = example_profile();
    let profile = profile.to_str().unwrap();
    let cases: Vec<(&str, Vec<&str>)> = vec![
        (
            "score-irls",
            vec![
                "score", "irls", "3", "3", "2", "3", "2", "3", "2", "2", "1", "2", "--json",
            ],
        ),
        (
            "convert",
            vec![
                "convert",
                "--form",
                "glycinate",
                "--compound-mg",
                "500",
                "--json",
            ],
        ),
        (
            "foods-amount",
            vec!["foods", "amount", "12061", "1 oz", "--json"],
        ),
        (
            "intake-without-profile",
            vec![
                "intake",
                "--food",
                "12061=1 oz",
                "--supplement",
                "glycinate=100 mg elemental",
                "--json",
            ],
        ),
        (
            "intake-with-profile",
            vec![
                "intake",
                "--food",
                "12061=1 oz",
                "--supplement",
                "glycinate=100 mg elemental",
                "--profile",
                profile,
                "--json",
            ],
        ),
        ("foods-releases", vec!["foods", "releases", "--json"]),
        (
            "log-night",
            vec![
                "log",
                "night",
                "--date",
                "2026-11-20",
                "--severity",
                "6",
                "--began",
                "20:45",
                "--json",
            ],
        ),
        (
            "log-food",
            vec![
                "log",
                "food",
                "11458",
                "1/2 cup",
                "--date",
                "2026-11-20",
                "--json",
            ],
        ),
        (
            "log-factor",
            vec![
                "log",
                "factor",
                "caffeine",
                "--amount",
                "2",
                "--unit",
                "cups",
                "--date",
                "2026-11-20",
                "--json",
            ],
        ),
        ("insights", vec!["insights", "--json"]),
    ];
    for (name, args) in cases {
        insta::assert_snapshot!(name, run(&args));
    }
}
