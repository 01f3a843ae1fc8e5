//! Helpers shared by the CLI tests. Every run of the binary is hermetic: it uses the database
//! the test names (a temporary one), never the caller's `QUIETLEGS_DB`, and the real date unless
//! the test sets `QUIETLEGS_TODAY` on purpose; standard input is empty (no terminal prompts).

// Each test file uses some of these.
#![allow(dead_code)]

use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// A temporary folder and a database path inside it (the file is not created).
pub struct TempDb {
    pub dir: tempfile::TempDir,
    pub path: PathBuf,
}

pub fn temp_db() -> TempDb {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("quietlegs.sqlite3");
    TempDb { dir, path }
}

/// The binary on `db`, with the environment cleared of quietlegs' variables.
pub fn quietlegs(db: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_quietlegs"));
    c.arg("--db")
        .arg(db)
        .env_remove("QUIETLEGS_DB")
        .env_remove("QUIETLEGS_DATABASE_URL")
        .env_remove("QUIETLEGS_TODAY")
        .stdin(Stdio::null());
    c
}

/// Runs `args` on `db`, on `today` (YYYY-MM-DD) if given.
pub fn run_on(db: &Path, today: Option<&str>, args: &[&str]) -> Output {
    let mut c = quietlegs(db);
    c.args(args);
    if let Some(t) = today {
        c.env("QUIETLEGS_TODAY", t);
    }
    c.output().unwrap()
}

/// Runs `args` on `db` today.
pub fn ql(db: &Path, args: &[&str]) -> Output {
    run_on(db, None, args)
}

/// The standard output of a successful run.
pub fn ok(out: Output) -> String {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The standard output of a successful run, as JSON.
pub fn json(out: &Output) -> serde_json::Value {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// A run that failed with exit code 2 and `expected` in its message.
pub fn fails(out: Output, expected: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(expected),
        "expected {expected:?} in {stderr}"
    );
}

/// The writing end of a pipe whose reading end is already closed: every write fails with EPIPE,
/// as in `quietlegs plan | head -1` once head has exited.
pub fn closed_pipe() -> OwnedFd {
    let (read_end, write_end) = rustix::pipe::pipe().unwrap();
    drop(read_end);
    write_end
}

/// The shipped example profile.
pub fn example_profile() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/profile.toml")
}

/// A diary with every kind of entry and awkward text.
pub fn fill(db: &Path) {
    for args in FILL {
        ok(ql(db, args));
    }
}

/// The commands that fill a diary with every kind of entry and awkward text.
pub const FILL: &[&[&str]] = &[
    &[
        "log",
        "night",
        "--date",
        "2026-11-20",
        "--severity",
        "6",
        "--began",
        "20:45",
        "--sleep-quality",
        "4",
        "--hours-slept",
        "5.75",
        "--minutes-to-sleep",
        "50",
        "--awakenings",
        "3",
        "--note",
        "=SUM(A1), \"bad\"; café\nsecond line",
    ],
    &["log", "night", "--date", "2026-11-21", "--severity", "2"],
    &[
        "log",
        "irls",
        "3",
        "3",
        "2",
        "3",
        "2",
        "3",
        "2",
        "2",
        "1",
        "2",
        "--date",
        "2026-11-21",
        "--rls6",
        "5,6,7,2,1,4",
    ],
    &[
        "log",
        "dose",
        "citrate-nonahydrate=2 x 500 mg compound",
        "--time",
        "22:00",
        "--date",
        "2026-11-21",
        "--product",
        "+Calm citrate",
    ],
    &["log", "food", "almonds", "1 oz", "--date", "2026-11-21"],
    &[
        "log",
        "side-effects",
        "--diarrhea",
        "1",
        "--nausea",
        "0",
        "--cramps",
        "2",
        "--date",
        "2026-11-21",
    ],
    &[
        "log",
        "factor",
        "caffeine",
        "--amount",
        "150",
        "--unit",
        "mg",
        "--time",
        "17:30",
        "--date",
        "2026-11-21",
    ],
    &["log", "factor", "custom:stretching", "--date", "2026-11-20"],
];
