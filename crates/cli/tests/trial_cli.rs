//! The n-of-1 trial through the real binary: design, blinding, a simulated diary, unblinding,
//! analysis (stored and CSV), report and power. `QUIETLEGS_TODAY` walks time forward.

// Integration tests: a panic is a failed test (clippy.toml allows unwrap only inside #[test]).
#![allow(clippy::expect_used, clippy::unwrap_used)]

mod common;

use common::{fails, ok, run_on as ql_on};
use std::path::Path;
use std::process::Output;

#[test]
fn a_blinded_trial_from_design_to_report() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("q.sqlite3");
    let sheet = dir.path().join("helper.txt");
    let before = Some("2026-11-27");
    // A blinded trial needs a helper sheet.
    fails(
        ql_on(&db, before, &["trial", "new", "--start", "2026-11-28"]),
        "--helper-sheet FILE is required",
    );
    let out = ok(ql_on(
        &db,
        before,
        &[
            "trial",
            "new",
            "--name",
            "t1",
            "--start",
            "2026-11-28",
            "--period-days",
            "21",
            "--run-in-days",
            "7",
            "--seed",
            "5",
            "--helper-sheet",
            sheet.to_str().unwrap(),
            "--json",
        ],
    ));
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let hash = v["plan_hash"].as_str().unwrap().to_string();
    assert_eq!(hash.len(), 64);
    // The participant's output never names an arm while blinded.
    assert!(!out.contains("\"seed\""));
    let status = ok(ql_on(&db, Some("2026-12-20"), &["trial", "status"]));
    assert!(status.contains("Tonight: container 2"), "{status}");
    assert!(
        !status.contains("magnesium") && !status.contains("placebo"),
        "{status}"
    );
    let cal = ok(ql_on(&db, Some("2026-12-20"), &["trial", "calendar"]));
    assert!(
        cal.contains("container 6") && !cal.contains("placebo"),
        "{cal}"
    );
    // The helper sheet names every container's content.
    let sheet_text = std::fs::read_to_string(&sheet).unwrap();
    assert_eq!(sheet_text.matches("  Container").count(), 6);
    // Guesses only at the end of a period; analysis refused while blinded.
    fails(
        ql_on(
            &db,
            Some("2026-12-10"),
            &["trial", "guess", "1", "magnesium"],
        ),
        "period 1 ends on 2026-12-18",
    );
    ok(ql_on(
        &db,
        Some("2026-12-18"),
        &["trial", "guess", "1", "magnesium"],
    ));
    fails(
        ql_on(
            &db,
            Some("2027-05-01"),
            &["trial", "guess", "9", "magnesium"],
        ),
        "PERIOD: 9 is out of range",
    );
    ok(ql_on(
        &db,
        Some("2027-05-01"),
        &["trial", "simulate", "--effect", "-3", "--seed", "4"],
    ));
    fails(
        ql_on(&db, Some("2027-05-01"), &["trial", "analyze"]),
        "is blinded: unblind it",
    );
    // Unblinding before the end needs --early and a reason.
    fails(
        ql_on(&db, Some("2027-01-01"), &["trial", "unblind"]),
        "use --early --reason",
    );
    let unblind = ok(ql_on(&db, Some("2027-05-01"), &["trial", "unblind"]));
    assert!(unblind.contains("period  1"), "{unblind}");
    let v: serde_json::Value = serde_json::from_str(&ok(ql_on(
        &db,
        Some("2027-05-01"),
        &["trial", "analyze", "--json"],
    )))
    .unwrap();
    // The documented JSON contract.
    assert_eq!(v["contrast"]["treatment"], "magnesium");
    assert_eq!(v["contrast"]["control"], "placebo");
    for key in ["mean", "median", "p_benefit", "p_mcid", "rho_mean"] {
        assert!(v["models"]["ar1"][key].is_number(), "ar1.{key}");
    }
    assert!(v["models"]["ar1"]["ci95"].as_array().unwrap().len() == 2);
    assert!(v["models"]["mean_only"]["rho_mean"].is_null());
    assert!(v["models"]["cycle_anova"]["df"].as_array().is_some());
    assert_eq!(v["models"]["randomization"]["allocations"], 8);
    assert!(v["nights"]["used"].as_u64().unwrap() > 60);
    assert_eq!(v["nights"]["run_in_excluded"], 42);
    // A 3-point true benefit over 3 cycles is found.
    assert_eq!(
        v["verdict"]["label"], "likely-helps",
        "{}",
        v["verdict"]["text"]
    );
    let svg = dir.path().join("t.svg");
    let report = ok(ql_on(
        &db,
        Some("2027-05-01"),
        &["trial", "report", "--svg", svg.to_str().unwrap()],
    ));
    for section in [
        "Verdict",
        "Design (CENT",
        "Periods planned and completed",
        "Blinding (CENT",
        "Statistical methods",
        "Results (CENT",
        "Side effects (CENT",
        &hash,
    ] {
        assert!(report.contains(section), "report lacks {section}");
    }
    assert!(report.contains("Guesses: 1 of 1"), "{report}");
    let svg_text = std::fs::read_to_string(&svg).unwrap();
    assert!(
        svg_text.starts_with("<svg")
            && svg_text.contains("<circle")
            && svg_text.trim_end().ends_with("</svg>")
    );
}

#[test]
fn an_open_trial_in_progress_is_reported_as_incomplete() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("q.sqlite3");
    ok(ql_on(
        &db,
        Some("2026-11-27"),
        &[
            "trial",
            "new",
            "--compare",
            "nothing",
            "--start",
            "2026-11-28",
            "--period-days",
            "14",
            "--run-in-days",
            "3",
            "--seed",
            "2",
        ],
    ));
    ok(ql_on(
        &db,
        Some("2027-01-20"),
        &["trial", "simulate", "--effect", "-3", "--seed", "1"],
    ));
    let v: serde_json::Value = serde_json::from_str(&ok(ql_on(
        &db,
        Some("2027-01-20"),
        &["trial", "analyze", "--json"],
    )))
    .unwrap();
    assert_eq!(v["verdict"]["label"], "incomplete");
    assert!(v["verdict"]["text"]
        .as_str()
        .unwrap()
        .contains("no claim of benefit"));
    assert_eq!(v["complete"], false);
    // Open label: the arms are shown, and the caveat says expectation cannot be separated.
    let status = ok(ql_on(&db, Some("2026-12-01"), &["trial", "status"]));
    assert!(
        status.contains("magnesium") || status.contains("nothing"),
        "{status}"
    );
    fails(
        ql_on(
            &db,
            Some("2026-12-01"),
            &[
                "trial",
                "new",
                "--compare",
                "nothing",
                "--start",
                "2026-11-01",
            ],
        ),
        "is in the past",
    );
}

#[test]
fn csv_analysis_and_its_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("q.sqlite3");
    let f = dir.path().join("t.csv");
    // 4 periods of 8 nights, A B B A with a period column; A 2 points better.
    let mut csv = String::from("day,condition,outcome,period\n");
    for day in 0..32 {
        let period = day / 8;
        let a = matches!(period, 0 | 3);
        let y = if a { 3 + day % 3 } else { 5 + day % 3 };
        csv.push_str(&format!(
            "{day},{},{y},{period}\n",
            if a { "mg" } else { "pl" }
        ));
    }
    std::fs::write(&f, &csv).unwrap();
    let v: serde_json::Value = serde_json::from_str(&ok(ql_on(
        &db,
        None,
        &[
            "trial",
            "analyze",
            "--csv",
            f.to_str().unwrap(),
            "--control",
            "pl",
            "--run-in-days",
            "2",
            "--json",
        ],
    )))
    .unwrap();
    assert_eq!(v["contrast"]["treatment"], "mg");
    assert!(v["models"]["mean_only"]["mean"].as_f64().unwrap() < -1.5);
    assert_eq!(v["nights"]["run_in_excluded"], 8);
    let cases: &[(&str, &str)] = &[
        (
            "day,condition,outcome\n1,A,3\n1,B,4\n",
            "line 3: day 1 is repeated",
        ),
        (
            "day,condition,outcome\n1,A,3\n2,B,x\n",
            "line 3: outcome 'x' is not a number",
        ),
        (
            "day,condition,outcome\n1,A,3\n2,A,4\n",
            "only one condition",
        ),
    ];
    for (text, msg) in cases {
        std::fs::write(&f, text).unwrap();
        fails(
            ql_on(
                &db,
                None,
                &[
                    "trial",
                    "analyze",
                    "--csv",
                    f.to_str().unwrap(),
                    "--control",
                    "A",
                ],
            ),
            msg,
        );
    }
    std::fs::write(&f, &csv).unwrap();
    fails(
        ql_on(
            &db,
            None,
            &[
                "trial",
                "analyze",
                "--csv",
                f.to_str().unwrap(),
                "--control",
                "zz",
            ],
        ),
        "--control 'zz' is not a condition",
    );
    fails(
        ql_on(
            &db,
            None,
            &["trial", "analyze", "--csv", f.to_str().unwrap()],
        ),
        "--control LABEL is required",
    );
}

#[test]
fn power_reports_and_recommends() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("q.sqlite3");
    let v: serde_json::Value = serde_json::from_str(&ok(ql_on(
        &db,
        None,
        &[
            "trial",
            "power",
            "--effect",
            "-3",
            "--cycles",
            "3",
            "--sims",
            "20",
            "--period-days",
            "21",
            "--run-in-days",
            "7",
            "--json",
        ],
    )))
    .unwrap();
    let r = &v["results"][0];
    assert_eq!(r["cycles"], 3);
    assert!(r["p_likely_helps"].as_f64().unwrap() > 0.5, "{v}");
    assert!(r["p_false_helps"].as_f64().unwrap() <= 0.15, "{v}");
    fails(
        ql_on(&db, None, &["trial", "power", "--rho", "1.5"]),
        "--rho: allowed -0.95 to 0.95",
    );
}

fn analyze_csv(db: &Path, file: &Path, text: &str, extra: &[&str]) -> Output {
    std::fs::write(file, text).unwrap();
    let mut args = vec!["trial", "analyze", "--csv", file.to_str().unwrap()];
    args.extend_from_slice(extra);
    ql_on(db, None, &args)
}

/// 6 periods of 6 nights in the order A B B A A B, A about 2 points lower (better), with
/// night-to-night variation; `period` adds the period column.
fn abbaab(period: bool) -> String {
    let mut csv = String::from(if period {
        "day,condition,outcome,period\n"
    } else {
        "day,condition,outcome\n"
    });
    for (i, arm) in "ABBAAB".chars().enumerate() {
        for k in 0..6 {
            let day = i * 6 + k + 1;
            let y = if arm == 'A' { 3 } else { 5 } + (day * day) % 7;
            csv.push_str(&format!("{day},{arm},{y}"));
            csv.push_str(&if period {
                format!(",p{i}\n")
            } else {
                "\n".into()
            });
        }
    }
    csv
}

#[test]
fn csv_analysis_refuses_what_cannot_be_analysed() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("q.sqlite3");
    let f = dir.path().join("t.csv");
    // The same label as treatment and control.
    fails(
        analyze_csv(
            &db,
            &f,
            &abbaab(true),
            &["--treatment", "B", "--control", "B"],
        ),
        "--treatment: 'B' and the control 'B' are the same condition",
    );
    // Days outside the documented range, including gaps of 2^31 and more and days near
    // i64::MAX (which used to panic or wrap).
    for (text, line, day) in [
        (
            "day,condition,outcome\n0,A,3\n1,A,4\n2147483648,B,5\n",
            4,
            "2147483648",
        ),
        (
            "day,condition,outcome\n0,A,3\n1,A,4\n4294967297,B,5\n",
            4,
            "4294967297",
        ),
        (
            "day,condition,outcome\n1,A,3\n9223372036854775806,B,5\n9223372036854775807,B,4\n",
            3,
            "9223372036854775806",
        ),
    ] {
        fails(
            analyze_csv(&db, &f, text, &["--control", "A"]),
            &format!(
                "line {line}: day {day} is out of range: allowed -1000000 to 1000000 (whole days)"
            ),
        );
    }
    // No variation: reported as "cannot be analysed", not as a verdict.
    for text in [
        "day,condition,outcome\n1,A,4\n2,A,4\n3,A,4\n4,B,4\n5,B,4\n6,B,4\n",
        "day,condition,outcome\n1,A,5\n2,A,5\n3,A,5\n4,B,3\n5,B,3\n6,B,3\n",
    ] {
        let out = analyze_csv(&db, &f, text, &["--control", "B"]);
        assert!(out.stdout.is_empty());
        fails(out, "cannot be analysed: every arm has the same outcome");
    }
}

#[test]
fn csv_absent_rows_and_empty_outcomes_are_the_same_data() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("q.sqlite3");
    let f = dir.path().join("t.csv");
    // Empty outcomes on the first night of periods 2 and 5 and inside periods 1 and 4.
    let full: String = abbaab(true)
        .lines()
        .map(|l| match l.split(',').next() {
            Some("3" | "7" | "21" | "25") => {
                let cells: Vec<&str> = l.split(',').collect();
                format!("{},{},,{}\n", cells[0], cells[1], cells[3])
            }
            _ => format!("{l}\n"),
        })
        .collect();
    let absent: String = full
        .lines()
        .filter(|l| !l.contains(",,"))
        .map(|l| format!("{l}\n"))
        .collect();
    assert_eq!(absent.lines().count() + 4, full.lines().count());
    let args = ["--control", "B", "--run-in-days", "2", "--json"];
    let a = ok(analyze_csv(&db, &f, &full, &args));
    let b = ok(analyze_csv(&db, &f, &absent, &args));
    assert_eq!(a, b);
    let v: serde_json::Value = serde_json::from_str(&a).unwrap();
    // 36 nights: run-in 2 of each of 6 periods = 12; missing: days 3 and 21 (after run-in;
    // days 7 and 25 are run-in); used 36 - 12 - 2 = 22.
    assert_eq!(v["nights"]["run_in_excluded"], 12);
    assert_eq!(v["nights"]["missing"], 2);
    assert_eq!(v["nights"]["used"], 22);
}

#[test]
fn csv_without_a_period_column_warns_when_periods_may_have_merged() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("q.sqlite3");
    let f = dir.path().join("t.csv");
    let v: serde_json::Value = serde_json::from_str(&ok(analyze_csv(
        &db,
        &f,
        &abbaab(false),
        &["--control", "B", "--json"],
    )))
    .unwrap();
    let warnings = v["warnings"].as_array().unwrap();
    assert_eq!(warnings.len(), 1, "{v}");
    assert!(warnings[0]
        .as_str()
        .unwrap()
        .contains("(12 nights against 6)"));
    let text = ok(analyze_csv(&db, &f, &abbaab(false), &["--control", "B"]));
    assert!(text.contains("Add a period column"), "{text}");
    // With the column: six periods, no warning.
    let v: serde_json::Value = serde_json::from_str(&ok(analyze_csv(
        &db,
        &f,
        &abbaab(true),
        &["--control", "B", "--json"],
    )))
    .unwrap();
    assert_eq!(v["warnings"].as_array().unwrap().len(), 0);
    assert_eq!(v["period_means"].as_array().unwrap().len(), 6);
}

#[test]
fn csv_analysis_text() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("q.sqlite3");
    let f = dir.path().join("t.csv");
    let text = ok(analyze_csv(
        &db,
        &f,
        &abbaab(true),
        &["--control", "B", "--run-in-days", "1", "--mcid", "1"],
    ));
    insta::assert_snapshot!("csv_abbaab_open", text);
}

#[test]
fn a_trial_is_stored_only_after_its_helper_sheet_and_names_are_checked() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("q.sqlite3");
    let before = Some("2026-11-27");
    let new = |name: &str, sheet: &Path| {
        ql_on(
            &db,
            before,
            &[
                "trial",
                "new",
                "--name",
                name,
                "--start",
                "2026-11-28",
                "--seed",
                "5",
                "--helper-sheet",
                sheet.to_str().unwrap(),
            ],
        )
    };
    // The sheet cannot be written (its folder is a file): refused, and no trial is stored.
    let blocker = dir.path().join("not-a-folder");
    std::fs::write(&blocker, "x").unwrap();
    let out = new("t1", &blocker.join("sheet.txt"));
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("--helper-sheet"));
    // ...so the same name can be used at once, with a sheet that can be written.
    let sheet = dir.path().join("sheet.txt");
    ok(new("t1", &sheet));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&sheet).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
    // A second trial of the same name is refused and leaves no sheet behind.
    let sheet2 = dir.path().join("sheet2.txt");
    fails(new("t1", &sheet2), "--name: a trial named 't1' exists");
    assert!(!sheet2.exists());
    // Names with control characters are refused before anything is written.
    let sheet3 = dir.path().join("sheet3.txt");
    fails(
        new("evil\r\nBEGIN:VEVENT", &sheet3),
        "--name: contains control characters",
    );
    assert!(!sheet3.exists());
    // Commas and semicolons in a name are escaped in the calendar (RFC 5545 TEXT).
    let sheet4 = dir.path().join("sheet4.txt");
    ok(new("legs; evenings, mine", &sheet4));
    let ics = dir.path().join("t.ics");
    ok(ql_on(
        &db,
        before,
        &[
            "trial",
            "calendar",
            "legs; evenings, mine",
            "--ics",
            ics.to_str().unwrap(),
        ],
    ));
    let text = std::fs::read_to_string(&ics).unwrap();
    assert!(
        text.contains("NAME:quietlegs trial legs\\; evenings\\, mine"),
        "{text}"
    );
    assert!(text.contains("PRODID:-//quietlegs//quietlegs "));
    assert!(text.contains("@quietlegs.invalid"));
}

/// `trial cancel`: before the first night, after confirmation, the trial is gone; on or after
/// its first night it is refused (exit 2) and kept.
#[test]
fn a_trial_is_cancelled_only_before_its_first_night() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("q.sqlite3");
    let sheet = dir.path().join("helper.txt");
    let new = |name: &str| {
        ql_on(
            &db,
            Some("2026-11-27"),
            &[
                "trial",
                "new",
                "--name",
                name,
                "--start",
                "2026-11-28",
                "--helper-sheet",
                sheet.to_str().unwrap(),
            ],
        )
    };
    ok(new("first"));
    // Without --yes and without a terminal: nothing changes.
    fails(
        ql_on(&db, Some("2026-11-27"), &["trial", "cancel"]),
        "Pass --yes to confirm",
    );
    let out = ok(ql_on(
        &db,
        Some("2026-11-27"),
        &["trial", "cancel", "--yes"],
    ));
    assert!(out.contains("Trial 'first' cancelled"), "{out}");
    std::fs::remove_file(&sheet).unwrap();
    ok(new("second"));
    // 2026-11-28 is its first night.
    fails(
        ql_on(&db, Some("2026-11-28"), &["trial", "cancel", "--yes"]),
        "trial 'second' has started",
    );
    let list = ok(ql_on(&db, Some("2026-11-28"), &["trial", "list"]));
    assert!(list.contains("second") && !list.contains("first"), "{list}");
}
