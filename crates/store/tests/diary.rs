//! The diary in the SQLite file: migrations from every earlier schema version, values stored
//! with their types, and backups. (What every backend must do is in the conformance suite,
//! `tests/conformance_sqlite.rs`.)

// Integration tests: a panic is a failed test (clippy.toml allows unwrap only inside #[test]).
#![allow(clippy::expect_used, clippy::unwrap_used)]

use jiff::civil::date;
use quietlegs_core::diary::{FoodLog, Night, Record, Stamp};
use quietlegs_store::conformance::sample_records;
use quietlegs_store::{Identity, OnDuplicate, SqliteStore, Store, StoreError};

fn stamp(t: &str) -> Stamp {
    Stamp {
        created_at: t.into(),
        updated_at: t.into(),
        tz: "Europe/Berlin".into(),
    }
}

#[test]
fn migrates_from_every_earlier_schema_version_keeping_data() {
    let latest = SqliteStore::latest_schema_version();
    for start in 0..latest {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("q.sqlite3");
        {
            let conn = rusqlite::Connection::open(&path).unwrap();
            // Apply the first `start` migrations exactly as an older quietlegs did.
            for (i, sql) in quietlegs_store::sqlite_migrations()
                .iter()
                .take(start as usize)
                .enumerate()
            {
                conn.execute_batch(sql).unwrap();
                conn.pragma_update(None, "user_version", i as i64 + 1)
                    .unwrap();
            }
            if start >= 1 {
                conn.execute_batch(
                    "INSERT INTO food_release VALUES ('r', 'sr-ascii', '2026-01-01T00:00:00Z', 1);
                     INSERT INTO food (id, release, name, magnesium_mg) VALUES ('09040', 'r', 'Bananas, raw', 27);",
                )
                .unwrap();
            }
            if start >= 2 {
                // Diary rows as quietlegs wrote them before values were bound by type: every
                // value bound as text.
                conn.execute_batch(
                    "INSERT INTO person (id, name, created_at) VALUES (1, 'me', 'x');",
                )
                .unwrap();
                conn.execute(
                    "INSERT INTO night (person_id, date, severity, hours_slept, awakenings, note,
                     created_at, updated_at, tz) VALUES (1, ?1, ?2, ?3, ?4, ?5, 'x', 'x', 'UTC')",
                    ["2026-11-01", "6", "5.75", "3", "=2+2, \"ok\""],
                )
                .unwrap();
                conn.execute(
                    "INSERT INTO food_log (person_id, date, food_id, food_name, amount, grams,
                     magnesium_mg, created_at, updated_at, tz)
                     VALUES (1, ?1, ?2, ?3, ?4, ?5, ?6, 'x', 'x', 'UTC')",
                    [
                        "2026-11-01",
                        "12061",
                        "Nuts, almonds",
                        "100",
                        "28.349523125",
                        "76",
                    ],
                )
                .unwrap();
            }
        }
        let s = SqliteStore::open(&path).unwrap();
        assert_eq!(s.schema_version().unwrap(), latest, "from {start}");
        if start >= 1 {
            let foods = s.imported_foods().unwrap();
            assert_eq!(foods[0].per_100g.magnesium_mg, Some(27.0), "from {start}");
        }
        let me = s.person(&Identity::local("me"), "x").unwrap();
        if start >= 2 {
            let old: Vec<Record> = s
                .records(me, None, None)
                .unwrap()
                .into_iter()
                .map(|r| r.record)
                .collect();
            // The values inserted above, read back with their types.
            let expected = [
                Record::Night(Night {
                    date: date(2026, 11, 1),
                    severity: 6,
                    symptoms_began: None,
                    sleep_quality: None,
                    hours_slept: Some(5.75),
                    minutes_to_sleep: None,
                    awakenings: Some(3),
                    note: Some("=2+2, \"ok\"".into()),
                }),
                Record::Food(FoodLog {
                    date: date(2026, 11, 1),
                    food_id: "12061".into(),
                    food_name: "Nuts, almonds".into(),
                    amount: "100".into(),
                    grams: 28.349523125,
                    magnesium_mg: Some(76.0),
                }),
            ];
            assert_eq!(old, expected, "from {start}");
        }
        s.add_record(me, &sample_records()[0], &stamp("x"), OnDuplicate::Refuse)
            .unwrap();
        // The profile table (migration 4) is there whatever version the file started at.
        let profile = quietlegs_store::StoredProfile {
            document: "age = 52\n".into(),
            updated_at: "x".into(),
        };
        s.set_profile(me, &profile).unwrap();
        assert_eq!(s.profile(me).unwrap(), Some(profile), "from {start}");
        assert_eq!(s.integrity_check().unwrap(), "ok");
    }
}

#[test]
fn a_newer_database_is_refused_not_damaged() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("q.sqlite3");
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.pragma_update(None, "user_version", 99).unwrap();
    }
    assert!(matches!(
        SqliteStore::open(&path),
        Err(StoreError::TooNew { found: 99, .. })
    ));
}

#[test]
fn backup_is_a_complete_consistent_copy() {
    let dir = tempfile::tempdir().unwrap();
    let s = SqliteStore::open(&dir.path().join("q.sqlite3")).unwrap();
    let me = s.person(&Identity::local("me"), "x").unwrap();
    for r in sample_records() {
        s.add_record(me, &r, &stamp("x"), OnDuplicate::Refuse)
            .unwrap();
    }
    let copy = dir.path().join("backup.sqlite3");
    s.backup_to(&copy).unwrap();
    let b = SqliteStore::open(&copy).unwrap();
    assert_eq!(
        b.records(me, None, None).unwrap(),
        s.records(me, None, None).unwrap()
    );
}

#[test]
fn values_are_stored_with_their_types() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("q.sqlite3");
    let s = SqliteStore::open(&path).unwrap();
    let me = s.person(&Identity::local("me"), "x").unwrap();
    for r in sample_records() {
        s.add_record(me, &r, &stamp("x"), OnDuplicate::Refuse)
            .unwrap();
    }
    let conn = rusqlite::Connection::open(&path).unwrap();
    let types = |sql: &str| -> Vec<String> {
        conn.query_row(sql, [], |r| {
            (0..r.as_ref().column_count())
                .map(|i| r.get::<_, String>(i))
                .collect()
        })
        .unwrap()
    };
    // The first night of `sample_records`: scores and counts INTEGER, hours REAL, text TEXT.
    assert_eq!(
        types(
            "SELECT typeof(severity), typeof(sleep_quality), typeof(hours_slept),
             typeof(minutes_to_sleep), typeof(awakenings), typeof(symptoms_began), typeof(note)
             FROM night"
        ),
        ["integer", "integer", "real", "integer", "integer", "text", "text"]
    );
    assert_eq!(
        types("SELECT typeof(items), typeof(total), typeof(band), typeof(rls6) FROM irls"),
        ["text", "integer", "text", "text"]
    );
    assert_eq!(
        types("SELECT typeof(time), typeof(product), typeof(elemental_mg) FROM dose"),
        ["text", "text", "real"]
    );
    assert_eq!(
        types("SELECT typeof(amount), typeof(grams), typeof(magnesium_mg) FROM food_log"),
        ["text", "real", "real"]
    );
    assert_eq!(
        types("SELECT typeof(diarrhea), typeof(nausea), typeof(cramps) FROM side_effects"),
        ["integer", "integer", "integer"]
    );
    assert_eq!(
        types("SELECT typeof(kind), typeof(amount), typeof(unit) FROM factor ORDER BY id LIMIT 1"),
        ["text", "real", "text"]
    );
}
