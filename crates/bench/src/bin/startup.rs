//! Start-up time of the `quietlegs` binary: `plan --profile examples/profile.toml` (a read-only
//! command that needs the reference data and the food table) and `log night` (a write: the
//! reference data, the database, one fsync'd transaction), each run as a fresh process, and the
//! in-process cost of what a command may build once (reference data, food table, search index).
//!
//! `cargo build --release -p quietlegs && cargo run --release -p quietlegs-bench --bin startup
//! [-- PATH-TO-QUIETLEGS [RUNS]]` (default: target/release/quietlegs, 30 runs).

// Benchmarks are measurement tools run by developers on shipped data: a panic is a failed run.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use quietlegs_core::food::search::FoodIndex;
use quietlegs_core::food::FoodTable;
use quietlegs_core::ReferenceData;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn summary(mut samples: Vec<Duration>) -> String {
    samples.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let mean = samples.iter().map(|d| ms(*d)).sum::<f64>() / samples.len() as f64;
    format!(
        "min {:.1} ms, median {:.1} ms, mean {:.1} ms, max {:.1} ms ({} runs)",
        ms(samples[0]),
        ms(samples[samples.len() / 2]),
        mean,
        ms(samples[samples.len() - 1]),
        samples.len()
    )
}

fn time_process(bin: &Path, db: &Path, args: &[&str], runs: usize) -> Vec<Duration> {
    let run = || {
        let t = Instant::now();
        let out = Command::new(bin)
            .arg("--db")
            .arg(db)
            .args(args)
            .env_remove("QUIETLEGS_DB")
            .env("QUIETLEGS_TODAY", "2026-11-25")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .output()
            .expect("run quietlegs");
        let elapsed = t.elapsed();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        elapsed
    };
    for _ in 0..3 {
        run();
    }
    (0..runs).map(|_| run()).collect()
}

fn time_in_process<T>(runs: usize, f: impl Fn() -> T) -> Vec<Duration> {
    (0..runs)
        .map(|_| {
            let t = Instant::now();
            std::hint::black_box(f());
            t.elapsed()
        })
        .collect()
}

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut args = std::env::args().skip(1);
    let bin = args
        .next()
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target/release/quietlegs"));
    let runs: usize = args.next().map(|r| r.parse().expect("RUNS")).unwrap_or(30);
    let profile = root.join("examples/profile.toml");
    let profile = profile.to_str().expect("UTF-8 path");
    let dir = std::env::temp_dir().join(format!("quietlegs-startup-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temporary folder");
    let db = dir.join("startup.sqlite3");
    let no_db = dir.join("none.sqlite3");

    println!("binary: {}", bin.display());
    println!(
        "plan --profile examples/profile.toml (no database):  {}",
        summary(time_process(
            &bin,
            &no_db,
            &["plan", "--profile", profile],
            runs
        ))
    );
    // The database exists from here on (with a person): `log night` replaces one night.
    let log = [
        "log",
        "night",
        "--severity",
        "4",
        "--date",
        "2026-11-20",
        "--replace",
    ];
    println!(
        "log night --severity 4 --date 2026-11-20 --replace:   {}",
        summary(time_process(&bin, &db, &log, runs))
    );
    println!(
        "plan --profile examples/profile.toml (database):     {}",
        summary(time_process(
            &bin,
            &db,
            &["plan", "--profile", profile],
            runs
        ))
    );
    println!(
        "history (database, one night):                        {}",
        summary(time_process(&bin, &db, &["history"], runs))
    );
    println!("in process, once per command that needs it:");
    println!(
        "  ReferenceData::shipped(): {}",
        summary(time_in_process(runs, || ReferenceData::shipped().expect("reference")))
    );
    println!(
        "  FoodTable::shipped():     {}",
        summary(time_in_process(runs, || FoodTable::shipped().expect("foods")))
    );
    let table = FoodTable::shipped().expect("foods");
    println!(
        "  FoodIndex::build(SR28):   {}",
        summary(time_in_process(runs, || FoodIndex::build(&table).expect("index")))
    );
    let _ = std::fs::remove_dir_all(&dir);
}
