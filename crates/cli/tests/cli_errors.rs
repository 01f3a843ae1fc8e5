//! Bad input at the command line: a message naming the field and what is allowed, exit code 2.

// Integration tests: a panic is a failed test (clippy.toml allows unwrap only inside #[test]).
#![allow(clippy::expect_used, clippy::unwrap_used)]

mod common;

use std::io::Write;
use std::process::Output;

/// Runs `args` on a fresh temporary database.
fn quietlegs(args: &[&str]) -> Output {
    let db = common::temp_db();
    common::ql(&db.path, args)
}

fn profile_file(text: &str) -> tempfile_path::TempProfile {
    tempfile_path::TempProfile::new(text)
}

mod tempfile_path {
    use super::*;
    /// A profile written to a unique file under the target directory, removed on drop.
    pub struct TempProfile(pub std::path::PathBuf);
    impl TempProfile {
        pub fn new(text: &str) -> Self {
            static COUNTER: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
            let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let path = std::env::temp_dir()
                .join(format!("quietlegs-test-{}-{n}.toml", std::process::id()));
            std::fs::File::create(&path)
                .unwrap()
                .write_all(text.as_bytes())
                .unwrap();
            Self(path)
        }
        pub fn path(&self) -> &str {
            self.0.to_str().unwrap()
        }
    }
    impl Drop for TempProfile {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }
}

fn check(args: &[&str], code: i32, stderr_contains: &str) {
    let out = quietlegs(args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(code), "{args:?}: {stderr}");
    assert!(
        stderr.contains(stderr_contains),
        "{args:?}: expected {stderr_contains:?} in {stderr}"
    );
    assert!(
        out.stdout.is_empty(),
        "{args:?} printed to stdout on failure"
    );
}

#[test]
fn bad_profiles_exit_2_naming_the_field() {
    let cases = [
        ("age = 52\nsex = \"female\"\nbedtime = \"22:30\"\ngi_tolerance = \"normal\"\npregnant = false\nlactating = false\nshoe_size = 9\n", "unknown field `shoe_size`"),
        ("age = 200\nsex = \"male\"\nbedtime = \"22:30\"\ngi_tolerance = \"normal\"\n", "age: 200 is out of range: allowed 1 to 120"),
        ("age = 60\nsex = \"male\"\nbedtime = \"10pm\"\ngi_tolerance = \"normal\"\n", "bedtime: '10pm' is not a time of day"),
        ("age = 60\nsex = \"male\"\nbedtime = \"22:00\"\ngi_tolerance = \"normal\"\n[kidney]\negfr = -5\n", "kidney.egfr: -5 is out of range"),
        ("age = 60\nsex = \"male\"\nbedtime = \"22:00\"\ngi_tolerance = \"normal\"\nferritin_ng_ml = 20000\n", "ferritin_ng_ml: 20000 is out of range"),
        ("age = 60\nsex = \"male\"\nbedtime = \"22:00\"\n", "missing field `gi_tolerance`"),
        ("age = 60\nsex = \"male\"\nbedtime = \"22:00\"\ngi_tolerance = \"normal\"\n[[kidney]]\negfr = 50\n", "kidney: write one [kidney] table (single brackets), not a list [[kidney]]"),
        ("age = 60\nsex = \"male\"\nbedtime = \"22:00\"\ngi_tolerance = \"normal\"\n[kidney]\ndialysis = \"no\"\n", "kidney.dialysis: line 6"),
        ("age = 75\nsex = \"female\"\nlactating = true\nbedtime = \"22:00\"\ngi_tolerance = \"normal\"\n", "lactating: true is not plausible at age 75"),
        ("age = 60\nsex = \"male\"\nbedtime = \"22:00\"\ngi_tolerance = \"normal\"\n[[supplements]]\nname = \"calcium carbonate\"\nelemental_mg = 500\n", "supplements[0].name: 'calcium carbonate' is a calcium product, not magnesium"),
    ];
    for (text, expected) in cases {
        let f = profile_file(text);
        check(&["plan", "--profile", f.path()], 2, expected);
    }
    check(
        &["plan", "--profile", "/nonexistent/profile.toml"],
        2,
        "reading the profile /nonexistent/profile.toml",
    );
}

#[test]
fn hostile_medicine_names_are_refused_and_never_echoed_raw() {
    let long = "x".repeat(500);
    let f = profile_file(&format!(
        "age = 60\nsex = \"male\"\nbedtime = \"22:00\"\ngi_tolerance = \"normal\"\n[[medications]]\nname = \"{long}\"\n"
    ));
    check(
        &["plan", "--profile", f.path()],
        2,
        "medications[0].name: is 500 characters long: allowed at most 120",
    );
    // An escape sequence (ESC [ 2 J clears a terminal) and a carriage return in a name.
    let f = profile_file(
        "age = 60\nsex = \"male\"\nbedtime = \"22:00\"\ngi_tolerance = \"normal\"\n[[medications]]\nname = \"lasix\\u001b[2J\\r\"\n",
    );
    let out = quietlegs(&["plan", "--profile", f.path()]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("medications[0].name"), "{stderr}");
    assert!(stderr.contains("contains control characters"), "{stderr}");
    assert!(
        !out.stderr.iter().any(|&b| b == 0x1b || b == b'\r'),
        "control characters echoed raw: {stderr:?}"
    );
}

#[test]
fn bad_scores_and_conversions_exit_2() {
    check(
        &["score", "irls", "1", "2", "3"],
        2,
        "IRLS needs exactly 10 item values, got 3",
    );
    check(
        &[
            "score", "irls", "1", "2", "3", "4", "5", "0", "0", "0", "0", "0",
        ],
        2,
        "IRLS item 5 (Daytime tiredness or sleepiness) is 5: allowed 0 to 4",
    );
    check(
        &[
            "score", "irls", "1", "2", "3", "4", "-1", "0", "0", "0", "0", "0",
        ],
        2,
        "is -1: allowed 0 to 4",
    );
    check(&["score", "irls", "a"], 2, "invalid value 'a'");
    check(
        &["convert", "--form", "citrate", "--compound-mg", "500"],
        2,
        "form 'citrate' is ambiguous",
    );
    check(
        &["convert", "--form", "kryptonite", "--compound-mg", "500"],
        2,
        "form 'kryptonite' is not known; allowed: oxide",
    );
    check(
        &["convert", "--form", "oxide", "--compound-mg", "-5"],
        2,
        "--compound-mg: -5 is out of range",
    );
    check(
        &[
            "convert",
            "--form",
            "oxide",
            "--compound-mg",
            "5",
            "--elemental-mg",
            "3",
        ],
        2,
        "cannot be used with",
    );
}

#[test]
fn irls_and_convert_give_the_expected_numbers() {
    // 3+3+2+3+2+3+2+2+1+2 = 23 -> severe (21-30).
    let out = quietlegs(&[
        "score", "irls", "3", "3", "2", "3", "2", "3", "2", "2", "1", "2", "--json",
    ]);
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["total"], 23);
    assert_eq!(v["band"], "severe");

    // 500 mg MgO x 24.305/40.30 = 301.5 mg elemental.
    let out = quietlegs(&[
        "convert",
        "--form",
        "oxide",
        "--compound-mg",
        "500",
        "--json",
    ]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        (v["elemental_mg"].as_f64().unwrap() - 301.55).abs() < 0.05,
        "{v}"
    );

    // 200 mg elemental as citrate nonahydrate: 200 x 613.25 / (3 x 24.305) = 1682.0 mg salt.
    let out = quietlegs(&[
        "convert",
        "--form",
        "citrate-nonahydrate",
        "--elemental-mg",
        "200",
        "--json",
    ]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        (v["compound_mg"].as_f64().unwrap() - 1682.0).abs() < 0.5,
        "{v}"
    );
}

#[test]
fn forms_lists_every_issue_form_with_json() {
    let out = quietlegs(&["forms", "--json"]);
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let families: Vec<&str> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["family"].as_str().unwrap())
        .collect();
    for family in [
        "oxide",
        "citrate",
        "glycinate",
        "malate",
        "chloride",
        "lactate",
        "sulfate",
        "taurate",
        "l-threonate",
        "aspartate",
        "carbonate",
        "hydroxide",
        "orotate",
        "gluconate",
    ] {
        assert!(families.contains(&family), "{family}");
    }
    let text = quietlegs(&["forms"]);
    insta::assert_snapshot!("forms.txt", String::from_utf8(text.stdout).unwrap());
}

/// Store failures exit by their kind: a database this build cannot use (newer schema, a folder
/// in its place) is bad input (2), with a message saying what to do, not "internal error".
#[test]
fn unusable_databases_exit_2_saying_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let newer = dir.path().join("newer.sqlite3");
    rusqlite::Connection::open(&newer)
        .unwrap()
        .pragma_update(None, "user_version", 99)
        .unwrap();
    let folder = dir.path().join("a-folder");
    std::fs::create_dir(&folder).unwrap();
    for (db, expected) in [
        (&newer, "has schema version 99, newer than this quietlegs"),
        (&folder, "unable to open database file"),
    ] {
        let out = common::ql(
            db,
            &["log", "night", "--severity", "3", "--date", "2026-11-01"],
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{}: {stderr}", db.display());
        assert!(stderr.contains(expected), "{}: {stderr}", db.display());
        assert!(!stderr.contains("internal error"), "{stderr}");
    }
}
