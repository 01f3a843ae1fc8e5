//! The diary through the real binary: one-command logging, history, export/import round trips,
//! backup while another process writes, and SIGKILL during writes.

// Integration tests: a panic is a failed test (clippy.toml allows unwrap only inside #[test]).
#![allow(clippy::expect_used, clippy::unwrap_used)]

mod common;

use common::{closed_pipe, fill, ok, ql, quietlegs};
use quietlegs_store::{Identity, SqliteStore, Store};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

#[test]
fn a_new_user_logs_a_night_in_one_command_and_sees_it_in_history() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("q.sqlite3");
    let out = ok(ql(
        &db,
        &["log", "night", "--severity", "4", "--date", "2026-11-26"],
    ));
    assert!(
        out.starts_with("Logged night 1 for 2026-11-26: severity=4"),
        "{out}"
    );
    let history = ok(ql(&db, &["history"]));
    assert!(
        history
            .lines()
            .any(|l| l.starts_with("2026-11-26") && l.contains(" 4 ")),
        "{history}"
    );
    let v: serde_json::Value = serde_json::from_str(&ok(ql(&db, &["history", "--json"]))).unwrap();
    assert_eq!(v["days"][0]["severity"], 4);
}

#[test]
fn bad_entries_name_the_field_and_write_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("q.sqlite3");
    fill(&db);
    let before = ok(ql(&db, &["export", "--format", "json"]));
    let cases: &[(&[&str], &str)] = &[
        (&["log", "night", "--severity", "11"], "11 is not in 0..=10"),
        (
            &["log", "night", "--severity", "3", "--date", "2099-01-01"],
            "date: 2099-01-01 is in the future",
        ),
        (
            &["log", "night", "--severity", "3", "--date", "2026-02-30"],
            "--date: '2026-02-30' is not a date",
        ),
        (
            &["log", "night", "--severity", "3", "--began", "25:00"],
            "--began: '25:00' is not a time of day",
        ),
        (
            &["log", "night", "--severity", "3", "--date", "2026-11-20"],
            "already a night entry for 2026-11-20",
        ),
        (&["log", "night"], "--severity is required (0-10)"),
        (
            &["log", "irls", "1", "2", "3"],
            "IRLS needs exactly 10 item values, got 3",
        ),
        (
            &["log", "dose", "glycinate=120 mg"],
            "say whether 120 mg is elemental",
        ),
        (
            &["log", "factor", "coffee"],
            "factor: 'coffee' is not known",
        ),
        (
            &["log", "factor", "alcohol", "--amount", "2"],
            "unit: give a unit with the amount: drinks",
        ),
        (
            &[
                "log",
                "side-effects",
                "--diarrhea",
                "4",
                "--nausea",
                "0",
                "--cramps",
                "0",
            ],
            "4 is not in 0..=3",
        ),
        (
            &["log", "food", "almonds", "1 handful"],
            "'handful' is not a unit known for Nuts, almonds",
        ),
        (
            &["log", "food", "motor oil", "1 tbsp"],
            "no food name covers enough of \"motor oil\"",
        ),
        (&["log", "food", "x", "1 cup"], "closest foods"),
        (
            &["edit", "night", "1", "--set", "severity=12", "--yes"],
            "severity: 12 is out of range",
        ),
        (
            &["edit", "night", "99", "--set", "severity=2", "--yes"],
            "no night entry with id 99",
        ),
        (&["delete", "night", "1"], "Pass --yes to confirm"),
        (&["import", "/nonexistent.csv"], "reading /nonexistent.csv"),
    ];
    for (args, expected) in cases {
        let out = ql(&db, args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(
            stderr.contains(expected),
            "{args:?}: expected {expected:?} in {stderr}"
        );
    }
    assert_eq!(
        ok(ql(&db, &["export", "--format", "json"])),
        before,
        "a failed command changed the diary"
    );
}

#[test]
fn export_import_export_gives_identical_files_in_both_formats() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("q.sqlite3");
    fill(&db);
    ok(ql(
        &db,
        &["edit", "night", "2", "--set", "sleep_quality=7", "--yes"],
    ));
    for format in ["csv", "json"] {
        let first = dir.path().join(format!("first.{format}"));
        ok(ql(
            &db,
            &[
                "export",
                "--format",
                format,
                "--output",
                first.to_str().unwrap(),
            ],
        ));
        let fresh = dir.path().join(format!("fresh-{format}.sqlite3"));
        ok(ql(&fresh, &["import", first.to_str().unwrap()]));
        let second = ok(ql(&fresh, &["export", "--format", format]));
        assert_eq!(std::fs::read_to_string(&first).unwrap(), second, "{format}");
        // Importing again into the now non-empty diary is refused and changes nothing.
        let out = ql(&fresh, &["import", first.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(2));
        assert_eq!(ok(ql(&fresh, &["export", "--format", format])), second);
    }
    let csv = std::fs::read_to_string(dir.path().join("first.csv")).unwrap();
    assert!(
        csv.contains(",\"'=SUM(A1), \"\"bad\"\"; café\nsecond line\","),
        "formula not defused"
    );
    assert!(csv.contains(",'+Calm citrate,"), "formula not defused");
}

#[test]
fn backup_while_another_process_writes_is_consistent() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("q.sqlite3");
    fill(&db);
    let writer_db = db.clone();
    let writer = std::thread::spawn(move || {
        for day in 1..=40 {
            let date = format!("2026-10-{:02}", (day % 28) + 1);
            ok(ql(
                &writer_db,
                &["log", "factor", "massage", "--date", &date],
            ));
        }
    });
    let mut backups = Vec::new();
    for i in 0..5 {
        let path = dir.path().join(format!("backup-{i}.sqlite3"));
        ok(ql(&db, &["backup", path.to_str().unwrap()]));
        backups.push(path);
        std::thread::sleep(Duration::from_millis(30));
    }
    writer.join().unwrap();
    for b in &backups {
        let s = SqliteStore::open(b).unwrap();
        assert_eq!(s.integrity_check().unwrap(), "ok");
        // Every backup holds at least the entries written before the writer started.
        let me = s.find_person(&Identity::local("me")).unwrap().unwrap();
        assert!(s.records(me, None, None).unwrap().len() >= 8);
    }
    let out = ql(&db, &["backup", backups[0].to_str().unwrap()]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "overwriting a file must be refused"
    );
}

#[test]
fn sigkill_during_writes_never_loses_an_acknowledged_entry() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("q.sqlite3");
    ok(ql(
        &db,
        &["log", "night", "--severity", "1", "--date", "2026-11-01"],
    ));
    // How long one uninterrupted write takes on this machine now (a debug build takes about
    // 25 ms when idle, several times that when other builds share the cores): kill times are
    // spread over 0-2.4 times that, so some writers die before, during and after the write.
    let mut timings: Vec<Duration> = (1..=3)
        .map(|day| {
            let start = std::time::Instant::now();
            let date = format!("2026-10-0{day}");
            ok(ql(
                &db,
                &["log", "night", "--severity", "2", "--date", &date],
            ));
            start.elapsed()
        })
        .collect();
    timings.sort();
    let write_time = timings[1];
    let mut acknowledged: Vec<i64> = Vec::new();
    let mut killed = 0;
    for i in 0..160u64 {
        let date = format!("2026-11-{:02}", (i % 26) + 1);
        let mut child = quietlegs(&db)
            .args(["log", "factor", "massage", "--json", "--date", &date])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // Kill before, during or after the write transaction.
        std::thread::sleep(write_time.mul_f64(2.4 * ((i * 7_919) % 1_000) as f64 / 1_000.0));
        let _ = child.kill(); // SIGKILL on Unix
        let out = child.wait_with_output().unwrap();
        if out.status.success() {
            let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
            acknowledged.push(v["id"].as_i64().unwrap());
        } else {
            killed += 1;
        }
    }
    assert!(killed > 20, "the test must kill writers ({killed} killed)");
    assert!(!acknowledged.is_empty(), "some writes must complete");
    let s = SqliteStore::open(&db).unwrap();
    assert_eq!(s.integrity_check().unwrap(), "ok");
    let me = s.find_person(&Identity::local("me")).unwrap().unwrap();
    let ids: Vec<i64> = s
        .records(me, None, None)
        .unwrap()
        .into_iter()
        .filter(|r| r.record.kind() == "factor")
        .map(|r| r.id)
        .collect();
    for id in &acknowledged {
        assert!(ids.contains(id), "acknowledged factor {id} is missing");
    }
    // The diary still works after all that.
    ok(ql(
        &db,
        &["log", "night", "--severity", "2", "--date", "2026-11-02"],
    ));
}

#[test]
fn reminders_are_a_valid_calendar_at_the_plans_times() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("q.sqlite3");
    let ics = dir.path().join("r.ics");
    // A profile with no caution (a dose with conditions gets no alarm): bedtime 22:30, Maalox
    // counted, so 175 mg at 22:00.
    let profile = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/personas/maalox-counted.toml");
    ok(ql(
        &db,
        &[
            "reminders",
            "--profile",
            profile.to_str().unwrap(),
            "--ics",
            ics.to_str().unwrap(),
        ],
    ));
    let bytes = std::fs::read(&ics).unwrap();
    // RFC 5545 3.1: lines end in CRLF and are folded at 75 octets.
    let text = String::from_utf8(bytes).unwrap();
    assert!(text.lines().all(|l| l.len() <= 75), "unfolded line");
    assert!(text.contains("\r\n") && !text.replace("\r\n", "").contains('\n'));
    // Parsed by an independent parser (the `ical` crate).
    let reader = ical::IcalParser::new(std::io::BufReader::new(text.as_bytes()));
    let cals: Vec<_> = reader.collect::<Result<_, _>>().unwrap();
    assert_eq!(cals.len(), 1);
    let prop = |e: &ical::parser::ical::component::IcalEvent, name: &str| {
        e.properties
            .iter()
            .find(|p| p.name == name)
            .and_then(|p| p.value.clone())
            .unwrap()
    };
    let events = &cals[0].events;
    assert_eq!(events.len(), 2);
    // Bedtime 22:30 (diary), dose 30 minutes before bed at 22:00.
    let diary = events
        .iter()
        .find(|e| prop(e, "UID").starts_with("diary-reminder-"))
        .unwrap();
    let dose = events
        .iter()
        .find(|e| prop(e, "UID").starts_with("dose-reminder-"))
        .unwrap();
    // Globally unique (a domain part and a per-profile key) and stable across runs.
    assert!(prop(dose, "UID").ends_with("@quietlegs.invalid"));
    assert_eq!(
        prop(dose, "UID").len(),
        "dose-reminder-".len() + 16 + "@quietlegs.invalid".len()
    );
    let cal_prop = |name: &str| {
        cals[0]
            .properties
            .iter()
            .find(|p| p.name == name)
            .and_then(|p| p.value.clone())
            .unwrap()
    };
    assert!(cal_prop("PRODID").starts_with("-//quietlegs//quietlegs "));
    // Health data: the file is private to the user.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&ics).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
    assert!(prop(diary, "DTSTART").ends_with("T223000"));
    assert!(prop(dose, "DTSTART").ends_with("T220000"));
    assert_eq!(prop(dose, "RRULE"), "FREQ=DAILY");
    assert!(prop(dose, "SUMMARY").contains("175 mg magnesium"));
    assert_eq!(dose.alarms.len(), 1);
}

#[test]
fn insights_need_enough_nights_and_find_a_strong_association() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("q.sqlite3");
    // 20 nights in October: evening alcohol on alternate nights with severity 7-8, otherwise 2-3.
    // Any valid RFC 3339 stamp (imports check it).
    const T: &str = "2026-11-29T20:00:00Z";
    let mut lines = vec!["id,kind,date,field,value,created_at,updated_at,tz".to_string()];
    for day in 1..=20 {
        let date = format!("2026-10-{day:02}");
        let drink = day % 2 == 0;
        let sev = if drink {
            7 + day % 3 % 2
        } else {
            2 + day % 3 % 2
        };
        lines.push(format!("{day},night,{date},severity,{sev},{T},{T},UTC"));
        if drink {
            lines.push(format!("{day},factor,{date},factor,alcohol,{T},{T},UTC"));
        }
    }
    let file = dir.path().join("diary.csv");
    std::fs::write(&file, lines.join("\r\n") + "\r\n").unwrap();
    ok(ql(&db, &["import", file.to_str().unwrap()]));
    let v: serde_json::Value = serde_json::from_str(&ok(ql(&db, &["insights", "--json"]))).unwrap();
    let alcohol = &v["factors"][0];
    assert_eq!(alcohol["factor"], "alcohol");
    assert_eq!(
        (
            alcohol["nights_with"].as_u64(),
            alcohol["nights_without"].as_u64()
        ),
        (Some(10), Some(10))
    );
    assert_eq!(alcohol["noteworthy"], true);
    assert!(alcohol["difference"].as_f64().unwrap() > 4.0);
}

#[test]
fn another_programs_database_is_refused_unchanged_with_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("photos.db");
    rusqlite::Connection::open(&db)
        .unwrap()
        .execute_batch("CREATE TABLE photo (id INTEGER PRIMARY KEY, path TEXT); INSERT INTO photo (path) VALUES ('a.jpg');")
        .unwrap();
    let before = std::fs::read(&db).unwrap();
    for args in [
        &["log", "night", "--severity", "3", "--date", "2026-11-01"][..],
        &["history"][..],
        &["export", "--format", "json"][..],
    ] {
        let out = ql(&db, args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains("is not a quietlegs database"), "{stderr}");
        assert!(stderr.contains("left unchanged"), "{stderr}");
    }
    assert_eq!(std::fs::read(&db).unwrap(), before);
}

/// One night record in the export JSON format, with fields to spoil.
fn export_json(id: &str, created_at: &str, tz: &str, date: &str, note: &str) -> String {
    format!(
        r#"{{"schema":"quietlegs.diary/1","records":[{{"id":{id},"created_at":{created_at},"updated_at":"2026-11-29T19:35:11Z","tz":{tz},"record":{{"kind":"night","date":"{date}","severity":3,"symptoms_began":null,"sleep_quality":null,"hours_slept":null,"minutes_to_sleep":null,"awakenings":null,"note":{note}}}}}]}}"#
    )
}

#[test]
fn imports_validate_every_field_and_leave_the_diary_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("q.sqlite3");
    let ok_time = "\"2026-11-29T19:35:11Z\"";
    let utc = "\"Etc/UTC\"";
    let long_tz = format!("\"{}\"", "A".repeat(100_000));
    let cases = [
        (
            export_json("1", "\"not a time\"", utc, "2026-11-20", "null"),
            "created_at: 'not a time' is not an RFC 3339 time",
        ),
        (
            export_json("1", ok_time, &long_tz, "2026-11-20", "null"),
            "tz: is 100000 characters long: allowed at most 64",
        ),
        (
            export_json("-5", ok_time, utc, "2026-11-20", "null"),
            "id: -5 is out of range: allowed 1 to 9007199254740991",
        ),
        (
            export_json("9223372036854775807", ok_time, utc, "2026-11-20", "null"),
            "id: 9223372036854775807 is out of range",
        ),
        (
            export_json("1", ok_time, utc, "0001-01-01", "null"),
            "date: 0001-01-01 is before 1900-01-01",
        ),
        (
            export_json("1", ok_time, utc, "2026-11-20", "\"\\u0000=1+1\""),
            "note: contains control characters",
        ),
        (
            export_json("1", ok_time, utc, "2026-11-20", "\"\\u001b[2J\""),
            "note: contains control characters",
        ),
    ];
    for (text, expected) in cases {
        let file = dir.path().join("in.json");
        std::fs::write(&file, &text).unwrap();
        let out = ql(&db, &["import", file.to_str().unwrap()]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{expected}: {stderr}");
        assert!(
            stderr.contains(expected),
            "expected {expected:?} in {stderr}"
        );
        assert!(!out.stderr.contains(&0x1b), "raw escape echoed");
    }
    // Nothing was stored.
    let out = ql(&db, &["history", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["days"].as_array().map(Vec::len), Some(0));
}

#[test]
fn notes_with_control_characters_are_refused_and_environment_values_checked() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("q.sqlite3");
    let out = ql(
        &db,
        &[
            "log",
            "night",
            "--severity",
            "3",
            "--date",
            "2026-11-20",
            "--note",
            "ok\u{1b}[31mred",
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("note: contains control characters"),
        "{stderr}"
    );
    assert!(!out.stderr.contains(&0x1b));
    // A date before the floor.
    let out = ql(
        &db,
        &["log", "night", "--severity", "3", "--date", "1899-12-31"],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("is before 1900-01-01"));
    // Environment variables that are set but invalid name the variable.
    let run = |vars: &[(&str, &str)]| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_quietlegs"));
        cmd.args(["history"])
            .env_remove("QUIETLEGS_DB")
            .env_remove("QUIETLEGS_TODAY");
        for (k, v) in vars {
            cmd.env(k, v);
        }
        cmd.output().unwrap()
    };
    let out = run(&[("QUIETLEGS_DB", "")]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("QUIETLEGS_DB"));
    let db_text = db.to_str().unwrap();
    let out = run(&[
        ("QUIETLEGS_DB", db_text),
        ("QUIETLEGS_TODAY", "tomorrow-ish"),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr)
        .contains("QUIETLEGS_TODAY: 'tomorrow-ish' is not a date"));
    let out = run(&[("QUIETLEGS_DB", db_text), ("QUIETLEGS_TODAY", "2026-11-20")]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn duplicate_records_in_an_import_are_a_clear_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("q.sqlite3");
    let t = "\"2026-11-29T19:35:11Z\"";
    let one = |id: &str, date: &str| {
        let full = export_json(id, t, "\"Etc/UTC\"", date, "null");
        // The record object alone, out of the one-record file.
        let start = full.find("[{").unwrap() + 1;
        full[start..full.len() - 2].to_string()
    };
    for (records, expected) in [
        (
            format!("{},{}", one("1", "2026-11-20"), one("1", "2026-11-21")),
            "night 1 appears twice",
        ),
        (
            format!("{},{}", one("1", "2026-11-20"), one("2", "2026-11-20")),
            "two night entries for 2026-11-20",
        ),
    ] {
        let file = dir.path().join("dup.json");
        std::fs::write(
            &file,
            format!("{{\"schema\":\"quietlegs.diary/1\",\"records\":[{records}]}}"),
        )
        .unwrap();
        let out = ql(&db, &["import", file.to_str().unwrap()]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert!(stderr.contains(expected), "{stderr}");
        assert!(stderr.contains("nothing was imported"), "{stderr}");
    }
}

#[test]
fn a_conditional_dose_gets_no_alarm() {
    // Breastfeeding (a caution): the dose is "only if your clinician agrees",
    // so the calendar has the diary reminder only.
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("q.sqlite3");
    let ics = dir.path().join("r.ics");
    let profile = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/personas/breastfeeding.toml");
    let out = ok(ql(
        &db,
        &[
            "reminders",
            "--profile",
            profile.to_str().unwrap(),
            "--ics",
            ics.to_str().unwrap(),
        ],
    ));
    assert!(
        out.contains("no dose reminder until your clinician agrees"),
        "{out}"
    );
    let text = std::fs::read_to_string(&ics).unwrap();
    assert_eq!(text.matches("BEGIN:VEVENT").count(), 1);
    assert!(!text.contains("mg magnesium"));
}

#[cfg(unix)]
#[test]
fn a_closed_or_full_standard_output_never_panics() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("q.sqlite3");
    for d in 1..=5 {
        ok(ql(
            &db,
            &[
                "log",
                "night",
                "--severity",
                "3",
                "--date",
                &format!("2026-11-0{d}"),
            ],
        ));
    }
    // A pipe whose reader has gone (`| head -1` after head exits).
    let write_end = closed_pipe();
    for args in [
        &["export", "--format", "csv"][..],
        &["history"][..],
        &["foods", "search", "spinach"][..],
    ] {
        let out = quietlegs(&db)
            .args(args)
            .stdout(Stdio::from(write_end.try_clone().unwrap()))
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            out.stderr.is_empty(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // A full disk: a clear error and exit 75, not a panic.
    if let Ok(full) = std::fs::OpenOptions::new().write(true).open("/dev/full") {
        let out = quietlegs(&db)
            .arg("history")
            .stdout(Stdio::from(full))
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(75), "{stderr}");
        assert!(stderr.contains("No space left on device"), "{stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
}

mod refused_imports {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        // Each case runs the binary twice: a few dozen cases keep the suite quick.
        #![proptest_config(ProptestConfig::with_cases(24))]

        /// A damaged export (cut short, one byte changed) is either imported whole or refused
        /// with exit 2 and the database left byte-identical; never a panic.
        #[test]
        fn a_refused_import_leaves_the_database_byte_identical(
            cut in 0usize..1500,
            flip in 0usize..1500,
            byte in any::<u8>(),
            json_format in any::<bool>(),
        ) {
            let dir = tempfile::tempdir().unwrap();
            let source_db = dir.path().join("source.sqlite3");
            for (d, sev) in [("2026-11-01", "3"), ("2026-11-02", "5")] {
                ok(ql(&source_db, &["log", "night", "--severity", sev, "--date", d, "--note", "a, \"b\""]));
            }
            let format = if json_format { "json" } else { "csv" };
            let export = ok(ql(&source_db, &["export", "--format", format]));
            let mut bytes = export.into_bytes();
            bytes.truncate(cut.min(bytes.len()));
            if !bytes.is_empty() {
                let i = flip % bytes.len();
                bytes[i] = byte;
            }
            let file = dir.path().join("damaged");
            std::fs::write(&file, &bytes).unwrap();
            // An empty diary to import into.
            let db = dir.path().join("q.sqlite3");
            ok(ql(&db, &["history"]));
            ok(ql(&db, &["log", "factor", "massage", "--date", "2026-10-01"]));
            ok(ql(&db, &["delete", "factor", "1", "--yes"]));
            let before = std::fs::read(&db).unwrap();
            let out = ql(&db, &["import", file.to_str().unwrap()]);
            let stderr = String::from_utf8_lossy(&out.stderr);
            prop_assert!(!stderr.contains("panicked"), "{}", stderr);
            prop_assert!(matches!(out.status.code(), Some(0) | Some(2)), "{:?}: {}", out.status, stderr);
            if out.status.code() == Some(2) {
                prop_assert_eq!(std::fs::read(&db).unwrap(), before);
            }
        }
    }
}

/// While a trial is in progress, the plan's dose gets no alarm (the trial's schedule says what to
/// take): the same profile as above gives a diary reminder only, and says why.
#[test]
fn reminders_leave_out_the_plans_dose_during_a_trial() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("q.sqlite3");
    let ics = dir.path().join("r.ics");
    let sheet = dir.path().join("helper.txt");
    let tomorrow = jiff::Zoned::now().date().tomorrow().unwrap().to_string();
    ok(ql(
        &db,
        &[
            "trial",
            "new",
            "--name",
            "on-trial",
            "--start",
            &tomorrow,
            "--helper-sheet",
            sheet.to_str().unwrap(),
        ],
    ));
    let profile = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/personas/maalox-counted.toml");
    let out = ok(ql(
        &db,
        &[
            "reminders",
            "--profile",
            profile.to_str().unwrap(),
            "--ics",
            ics.to_str().unwrap(),
        ],
    ));
    assert!(
        out.contains("no dose reminder while the trial 'on-trial' is in progress"),
        "{out}"
    );
    let text = std::fs::read_to_string(&ics).unwrap();
    assert_eq!(text.matches("BEGIN:VEVENT").count(), 1, "{text}");
    assert!(!text.contains("dose-reminder-"));
}
