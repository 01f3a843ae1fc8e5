//! Store throughput on both backends in one run (docs/performance.md, "Store backends"):
//! nights inserted per second by 1 writer and by 32 concurrent writers (each its own person,
//! one `add_record` = one transaction = one durable commit each), and the history query (one
//! person's records for a year of nights, `Store::records` with both dates) with the other
//! writers' nights in the same tables.
//!
//! ```sh
//! QUIETLEGS_BENCH_PG_URL=postgres://postgres@127.0.0.1:5432/DB \
//!     cargo run --release -p quietlegs-bench --bin store_throughput
//! ```
//!
//! SQLite: a file in a temporary folder (WAL, synchronous = FULL, as the CLI opens it).
//! PostgreSQL: a fresh schema in the database the URL names (dropped at the end), the server's
//! own durability settings (fsync and synchronous_commit as configured; printed). Without the
//! variable only SQLite is measured.

// A benchmark script: a failure ends it with a message.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use jiff::civil::{date, Date};
use quietlegs_core::diary::{Night, Record, Stamp};
use quietlegs_store::{
    AnyStore, Identity, OnDuplicate, PersonId, PgOptions, PgStore, SqliteStore, Store,
};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Nights each writer inserts in the throughput runs.
const NIGHTS_ONE_WRITER: i32 = 2_000;
const WRITERS: usize = 32;
const NIGHTS_PER_WRITER: i32 = 100;
/// History queries timed per backend.
const QUERIES: usize = 300;

fn night(day: Date, severity: u8) -> Record {
    Record::Night(Night {
        date: day,
        severity,
        symptoms_began: None,
        sleep_quality: Some(severity / 2),
        hours_slept: Some(6.5),
        minutes_to_sleep: Some(20),
        awakenings: Some(2),
        note: None,
    })
}

fn day(k: i32) -> Date {
    date(2020, 1, 1)
        .checked_add(jiff::Span::new().days(k))
        .unwrap()
}

fn stamp() -> Stamp {
    Stamp {
        created_at: "2026-11-30T00:00:00Z".into(),
        updated_at: "2026-11-30T00:00:00Z".into(),
        tz: "Europe/Berlin".into(),
    }
}

fn write_nights(store: &AnyStore, me: PersonId, nights: i32) {
    for k in 0..nights {
        store
            .add_record(
                me,
                &night(day(k), (k % 11) as u8),
                &stamp(),
                OnDuplicate::Refuse,
            )
            .unwrap();
    }
}

struct Figures {
    one_writer: f64,
    many_writers: f64,
    median: Duration,
    p99: Duration,
    rows: usize,
}

fn measure(store: AnyStore) -> Figures {
    let store = Arc::new(store);
    // 1 writer.
    let solo = store.person(&Identity::local("solo"), "x").unwrap();
    let started = Instant::now();
    write_nights(&store, solo, NIGHTS_ONE_WRITER);
    let one_writer = f64::from(NIGHTS_ONE_WRITER) / started.elapsed().as_secs_f64();
    // 32 writers at once, each its own person.
    let people: Vec<PersonId> = (0..WRITERS)
        .map(|w| {
            store
                .person(&Identity::local(format!("writer-{w}")), "x")
                .unwrap()
        })
        .collect();
    let started = Instant::now();
    let handles: Vec<_> = people
        .iter()
        .map(|&me| {
            let store = Arc::clone(&store);
            std::thread::spawn(move || write_nights(&store, me, NIGHTS_PER_WRITER))
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    let total = (WRITERS as i32 * NIGHTS_PER_WRITER) as f64;
    let many_writers = total / started.elapsed().as_secs_f64();
    // The history query: the solo writer's nights of 2021 (365 nights) among everyone's.
    let (from, to) = (date(2021, 1, 1), date(2021, 12, 31));
    let mut times = Vec::with_capacity(QUERIES);
    let mut rows = 0;
    for _ in 0..QUERIES {
        let started = Instant::now();
        rows = store.records(solo, Some(from), Some(to)).unwrap().len();
        times.push(started.elapsed());
    }
    times.sort();
    Figures {
        one_writer,
        many_writers,
        median: times[times.len() / 2],
        p99: times[times.len() * 99 / 100],
        rows,
    }
}

fn print(name: &str, f: &Figures) {
    println!(
        "| {name} | {:.0} | {:.0} | {:.2} ms | {:.2} ms | {} |",
        f.one_writer,
        f.many_writers,
        f.median.as_secs_f64() * 1e3,
        f.p99.as_secs_f64() * 1e3,
        f.rows
    );
}

fn main() {
    println!(
        "nights inserted per second (one add_record = one transaction each): 1 writer × {NIGHTS_ONE_WRITER}, \
         {WRITERS} writers × {NIGHTS_PER_WRITER}; history = records(person, 2021-01-01, 2021-12-31), \
         {QUERIES} queries"
    );
    println!("| backend | nights/s, 1 writer | nights/s, {WRITERS} writers | history median | history p99 | rows |");
    println!("|---|---|---|---|---|---|");
    let dir = tempfile::tempdir().unwrap();
    let sqlite = SqliteStore::open(&dir.path().join("bench.sqlite3")).unwrap();
    print(
        "SQLite (file, WAL, synchronous=FULL)",
        &measure(sqlite.into()),
    );
    let Ok(url) = std::env::var("QUIETLEGS_BENCH_PG_URL") else {
        println!("(QUIETLEGS_BENCH_PG_URL not set: PostgreSQL not measured)");
        return;
    };
    let schema = format!("ql_bench_{}", std::process::id());
    let mut admin = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    admin
        .batch_execute(&format!("CREATE SCHEMA {schema}"))
        .unwrap();
    let settings: Vec<String> = ["server_version", "fsync", "synchronous_commit"]
        .iter()
        .map(|s| {
            let v: String = admin.query_one(&format!("SHOW {s}"), &[]).unwrap().get(0);
            format!("{s}={v}")
        })
        .collect();
    let sep = if url.contains('?') { '&' } else { '?' };
    let store = PgStore::connect_with(
        &format!("{url}{sep}options=-csearch_path%3D{schema}"),
        &PgOptions {
            pool_size: WRITERS as u32,
            ..PgOptions::default()
        },
    )
    .unwrap();
    let figures = measure(store.into());
    print(
        &format!("PostgreSQL ({}, pool {WRITERS})", settings.join(", ")),
        &figures,
    );
    admin
        .batch_execute(&format!("DROP SCHEMA {schema} CASCADE"))
        .unwrap();
}
