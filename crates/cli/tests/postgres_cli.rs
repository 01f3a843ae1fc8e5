//! The binary on PostgreSQL (`--database-url`): a diary moves from SQLite to PostgreSQL and
//! back without a byte of its export changing, and `backup` from PostgreSQL writes a SQLite
//! file that `--db` opens with the same diary. Each test in a fresh schema of the database
//! `QUIETLEGS_TEST_PG_URL` names; skipped with a notice without it, failed under `CI=true`.

// Integration tests: a panic is a failed test (clippy.toml allows unwrap only inside #[test]).
#![allow(clippy::expect_used, clippy::unwrap_used)]

mod common;

use common::{fill, ok};
use quietlegs_store::conformance::postgres_fixture::FreshSchema;
use std::process::{Command, Output, Stdio};

/// Runs `args` on the PostgreSQL database at `url`, with quietlegs' variables cleared.
fn ql_pg(url: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_quietlegs"))
        .arg("--database-url")
        .arg(url)
        .args(args)
        .env_remove("QUIETLEGS_DB")
        .env_remove("QUIETLEGS_DATABASE_URL")
        .env_remove("QUIETLEGS_TODAY")
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

#[test]
fn a_diary_moves_from_sqlite_to_postgres_and_back_byte_identical() {
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("source.sqlite3");
    fill(&source);
    // An edit, so that a record's updated_at differs from its created_at.
    ok(common::ql(
        &source,
        &["edit", "night", "2", "--set", "sleep_quality=7", "--yes"],
    ));
    for format in ["json", "csv"] {
        let Some(schema) = FreshSchema::new() else {
            return;
        };
        let first = dir.path().join(format!("first.{format}"));
        let first_s = first.to_str().unwrap();
        ok(common::ql(
            &source,
            &["export", "--format", format, "--output", first_s],
        ));
        let exported = std::fs::read(&first).unwrap();
        // SQLite -> PostgreSQL.
        ok(ql_pg(&schema.url, &["import", first_s]));
        let from_pg = ok(ql_pg(&schema.url, &["export", "--format", format]));
        assert_eq!(
            from_pg.as_bytes(),
            &exported[..],
            "{format}: via PostgreSQL"
        );
        // PostgreSQL -> a fresh SQLite file.
        let second = dir.path().join(format!("second.{format}"));
        std::fs::write(&second, &from_pg).unwrap();
        let back = dir.path().join(format!("back-{format}.sqlite3"));
        ok(common::ql(&back, &["import", second.to_str().unwrap()]));
        let again = ok(common::ql(&back, &["export", "--format", format]));
        assert_eq!(again.as_bytes(), &exported[..], "{format}: back in SQLite");
        // The PostgreSQL diary is not empty now: a second import is refused (exit 2).
        let out = ql_pg(&schema.url, &["import", first_s]);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        // New entries get ids after the imported ones, as in SQLite.
        let logged = ok(ql_pg(
            &schema.url,
            &["log", "night", "--date", "2026-11-22", "--severity", "1"],
        ));
        let logged_sqlite = ok(common::ql(
            &back,
            &["log", "night", "--date", "2026-11-22", "--severity", "1"],
        ));
        assert_eq!(logged, logged_sqlite);
    }
}

#[test]
fn backup_from_postgres_is_a_sqlite_file_with_the_same_diary() {
    let Some(schema) = FreshSchema::new() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let seed = dir.path().join("seed.sqlite3");
    fill(&seed);
    let export = dir.path().join("diary.json");
    ok(common::ql(
        &seed,
        &[
            "export",
            "--format",
            "json",
            "--output",
            export.to_str().unwrap(),
        ],
    ));
    ok(ql_pg(&schema.url, &["import", export.to_str().unwrap()]));
    let backup = dir.path().join("backup.sqlite3");
    let said = ok(ql_pg(&schema.url, &["backup", backup.to_str().unwrap()]));
    assert!(said.contains("integrity check ok"), "{said}");
    assert_eq!(
        ok(common::ql(&backup, &["export", "--format", "json"])),
        ok(ql_pg(&schema.url, &["export", "--format", "json"]))
    );
    // An existing file is never overwritten.
    let out = ql_pg(&schema.url, &["backup", backup.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn a_server_that_cannot_be_reached_is_exit_75_without_the_password() {
    // Port 1 on loopback: nothing listens there.
    let out = ql_pg("postgres://ann:s3cret@127.0.0.1:1/ql", &["history"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(75), "{stderr}");
    assert!(stderr.contains("cannot be reached"), "{stderr}");
    assert!(!stderr.contains("s3cret"), "{stderr}");
    let out = Command::new(env!("CARGO_BIN_EXE_quietlegs"))
        .args(["--database-url", "mysql://x/y", "history"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}
