//! `quietlegs series analyze`: bad files exit 2 naming the line and field; a good file gives the
//! JSON of docs/json.md (keys the issue fixes) and a forest plot.

// Integration tests: a panic is a failed test (clippy.toml allows unwrap only inside #[test]).
#![allow(clippy::expect_used, clippy::unwrap_used)]

mod common;

use std::path::PathBuf;

fn csv(name: &str, text: &str) -> PathBuf {
    let path = std::env::temp_dir().join(format!(
        "quietlegs-series-{}-{name}.csv",
        std::process::id()
    ));
    std::fs::write(&path, text).unwrap();
    path
}

fn fixture(name: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../data/test/pooled")
        .join(name)
        .to_str()
        .unwrap()
        .to_string()
}

#[test]
fn bad_series_files_exit_2_naming_line_and_field() {
    let db = common::temp_db();
    let header = "participant,day,condition,outcome\n";
    let cases = [
        (
            "outcome",
            format!("{header}p1,1,placebo,3\np1,2,mg,x\n"),
            "line 3: outcome 'x' is not a number",
        ),
        (
            "repeat",
            format!("{header}p1,1,placebo,3\np1,1,mg,2\n"),
            "line 3: participant 'p1': day 1 is not after day 1 (line 2)",
        ),
        (
            "day",
            format!("{header}p1,1.5,placebo,3\n"),
            "line 2: day '1.5' is not a whole number",
        ),
        (
            "header",
            "id,day,condition,outcome\n".to_string(),
            "line 1: the header must name the columns participant,day,condition,outcome",
        ),
        (
            "empty",
            format!("{header}p1,1,,3\n"),
            "line 2: condition is empty",
        ),
        (
            "control",
            format!("{header}p1,1,a,3\np1,2,b,3\n"),
            "--control 'placebo' is not a condition in the file: found a, b",
        ),
    ];
    for (name, text, want) in cases {
        let path = csv(name, &text);
        let out = common::ql(
            &db.path,
            &[
                "series",
                "analyze",
                "--csv",
                path.to_str().unwrap(),
                "--control",
                "placebo",
            ],
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{name}: {stderr}");
        assert!(
            stderr.contains(want),
            "{name}: expected {want:?} in {stderr}"
        );
        let _ = std::fs::remove_file(path);
    }
    let out = common::ql(
        &db.path,
        &[
            "series",
            "analyze",
            "--csv",
            &fixture("balanced.csv"),
            "--control",
            "placebo",
            "--mcid",
            "-1",
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--mcid: must be more than 0"));
    let out = common::ql(
        &db.path,
        &["series", "analyze", "--csv", &fixture("balanced.csv")],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--control LABEL is required"));
}

#[test]
fn json_has_the_issue_keys_and_the_forest_plot_is_written() {
    let db = common::temp_db();
    let svg = std::env::temp_dir().join(format!("quietlegs-series-{}.svg", std::process::id()));
    let out = common::ql(
        &db.path,
        &[
            "series",
            "analyze",
            "--csv",
            &fixture("unbalanced.csv"),
            "--control",
            "placebo",
            "--json",
            "--forest",
            svg.to_str().unwrap(),
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    for key in ["effect", "se", "ci95", "tau2_intercept", "sigma2", "loglik"] {
        assert!(
            v["models"]["random_intercept"].get(key).is_some(),
            "random_intercept.{key}"
        );
    }
    for key in [
        "effect",
        "se",
        "ci95",
        "tau2_intercept",
        "tau2_slope",
        "cov_intercept_slope",
        "sigma2",
        "loglik",
        "singular",
    ] {
        assert!(
            v["models"]["random_slope"].get(key).is_some(),
            "random_slope.{key}"
        );
    }
    let people = v["participants"].as_array().unwrap();
    assert_eq!(people.len(), 60);
    for key in ["id", "nights", "effect", "ci95"] {
        assert!(people[0].get(key).is_some(), "participants[].{key}");
    }
    assert_eq!(
        v["models"]["random_slope"]["convergence"]["gradient_tolerance"],
        1e-6
    );
    let text = std::fs::read_to_string(&svg).unwrap();
    assert!(text.starts_with("<svg") && text.contains("population"));
    // Capped at 40 rows of 60 participants, and says so.
    assert!(text.contains("40 of 60 participants"), "{text}");
    let _ = std::fs::remove_file(svg);
}
