//! The diary in the SQLite store: round trips, duplicates, isolation between people,
//! migrations from every earlier schema version, and backups.

// Integration tests: a panic is a failed test (clippy.toml allows unwrap only inside #[test]).
#![allow(clippy::expect_used, clippy::unwrap_used)]

use jiff::civil::date;
use quietlegs_core::clock::ClockTime;
use quietlegs_core::diary::{
    Dose, Factor, FactorKind, FoodLog, IrlsEntry, Night, Record, SideEffects, Stamp,
};
use quietlegs_core::IrlsBand;
use quietlegs_store::{OnDuplicate, SqliteStore, Store, StoreError};

fn stamp(t: &str) -> Stamp {
    Stamp {
        created_at: t.into(),
        updated_at: t.into(),
        tz: "Europe/Berlin".into(),
    }
}

fn t(s: &str) -> ClockTime {
    ClockTime::parse(s).unwrap()
}

/// One record of every kind, with awkward text (quotes, commas, formula starts, accents).
pub fn sample_records() -> Vec<Record> {
    let d = date(2026, 11, 20);
    vec![
        Record::Night(Night {
            date: d,
            severity: 6,
            symptoms_began: Some(t("20:45")),
            sleep_quality: Some(4),
            hours_slept: Some(5.75),
            minutes_to_sleep: Some(55),
            awakenings: Some(3),
            note: Some("=HYPERLINK(\"x\"), restless; café, \"bad\"\nnight".into()),
        }),
        Record::Irls(IrlsEntry {
            date: d,
            items: vec![3, 3, 2, 3, 2, 3, 2, 2, 1, 2],
            total: 23,
            band: IrlsBand::Severe,
            rls6: Some(vec![5, 6, 7, 2, 1, 4]),
        }),
        Record::Dose(Dose {
            date: d,
            time: t("22:00"),
            product: "+Mag citrate 200".into(),
            form: Some("citrate".into()),
            elemental_mg: 200.0,
        }),
        Record::Food(FoodLog {
            date: d,
            food_id: "12061".into(),
            food_name: "Nuts, almonds".into(),
            amount: "1 oz".into(),
            grams: 28.349523125,
            magnesium_mg: Some(76.5437124375),
        }),
        Record::SideEffects(SideEffects {
            date: d,
            diarrhea: 1,
            nausea: 0,
            cramps: 2,
        }),
        Record::Factor(Factor {
            date: d,
            kind: FactorKind::Caffeine,
            amount: Some(2.0),
            unit: Some("cups".into()),
            time: Some(t("16:30")),
        }),
        Record::Factor(Factor {
            date: d,
            kind: FactorKind::Custom("stretching".into()),
            amount: None,
            unit: None,
            time: None,
        }),
    ]
}

#[test]
fn every_kind_round_trips_through_the_store() {
    let mut s = SqliteStore::in_memory().unwrap();
    let me = s.person("me", "2026-11-27T00:00:00Z").unwrap();
    let records = sample_records();
    for r in &records {
        s.add_record(me, r, &stamp("2026-11-27T08:00:00Z"), OnDuplicate::Refuse)
            .unwrap();
    }
    let back: Vec<Record> = s
        .records(me, None, None)
        .unwrap()
        .into_iter()
        .map(|r| r.record)
        .collect();
    assert_eq!(back, records);
}

#[test]
fn a_second_night_needs_replace_and_replace_keeps_id_and_creation_time() {
    let mut s = SqliteStore::in_memory().unwrap();
    let me = s.person("me", "x").unwrap();
    let night = sample_records().remove(0);
    let id = s
        .add_record(
            me,
            &night,
            &stamp("2026-11-21T07:00:00Z"),
            OnDuplicate::Refuse,
        )
        .unwrap();
    let err = s
        .add_record(
            me,
            &night,
            &stamp("2026-11-21T07:05:00Z"),
            OnDuplicate::Refuse,
        )
        .unwrap_err();
    assert!(matches!(err, StoreError::Duplicate { .. }), "{err}");
    assert!(err.to_string().contains("--replace"));
    let mut changed = night.clone();
    if let Record::Night(n) = &mut changed {
        n.severity = 2;
        n.note = None;
    }
    let id2 = s
        .add_record(
            me,
            &changed,
            &stamp("2026-11-21T07:10:00Z"),
            OnDuplicate::Replace,
        )
        .unwrap();
    assert_eq!(id, id2);
    let stored = s.record(me, "night", id).unwrap().unwrap();
    assert_eq!(stored.record, changed);
    assert_eq!(stored.stamp.created_at, "2026-11-21T07:00:00Z");
    assert_eq!(stored.stamp.updated_at, "2026-11-21T07:10:00Z");
}

#[test]
fn one_person_never_sees_or_changes_another_persons_entries() {
    let mut s = SqliteStore::in_memory().unwrap();
    let ann = s.person("ann", "x").unwrap();
    let bob = s.person("bob", "x").unwrap();
    let night = sample_records().remove(0);
    let id = s
        .add_record(ann, &night, &stamp("x"), OnDuplicate::Refuse)
        .unwrap();
    assert!(s.records(bob, None, None).unwrap().is_empty());
    assert!(s.record(bob, "night", id).unwrap().is_none());
    assert!(matches!(
        s.delete_record(bob, "night", id),
        Err(StoreError::NotFound { .. })
    ));
    assert!(matches!(
        s.update_record(bob, id, &night, "y", "UTC"),
        Err(StoreError::NotFound { .. })
    ));
    // Bob may log the same date: the uniqueness is per person.
    s.add_record(bob, &night, &stamp("x"), OnDuplicate::Refuse)
        .unwrap();
    assert_eq!(s.records(ann, None, None).unwrap().len(), 1);
}

#[test]
fn edit_delete_and_date_ranges() {
    let mut s = SqliteStore::in_memory().unwrap();
    let me = s.person("me", "x").unwrap();
    for day in 1..=5 {
        let f = Record::Factor(Factor {
            date: date(2026, 11, day),
            kind: FactorKind::Massage,
            amount: None,
            unit: None,
            time: None,
        });
        s.add_record(me, &f, &stamp("x"), OnDuplicate::Refuse)
            .unwrap();
    }
    let mid = s
        .records(me, Some(date(2026, 11, 2)), Some(date(2026, 11, 4)))
        .unwrap();
    assert_eq!(
        mid.iter()
            .map(|r| r.record.date().day())
            .collect::<Vec<_>>(),
        [2, 3, 4]
    );
    let id = mid[0].id;
    let edited = Record::Factor(Factor {
        date: date(2026, 11, 2),
        kind: FactorKind::WarmBath,
        amount: Some(20.0),
        unit: Some("minutes".into()),
        time: Some(t("21:00")),
    });
    s.update_record(me, id, &edited, "2026-11-27T09:00:00Z", "UTC")
        .unwrap();
    assert_eq!(s.record(me, "factor", id).unwrap().unwrap().record, edited);
    s.delete_record(me, "factor", id).unwrap();
    assert!(s.record(me, "factor", id).unwrap().is_none());
    assert_eq!(s.records(me, None, None).unwrap().len(), 4);
}

#[test]
fn the_database_refuses_what_validation_would_refuse() {
    // CHECK constraints are a second line of defence behind validation.
    let mut s = SqliteStore::in_memory().unwrap();
    let me = s.person("me", "x").unwrap();
    let bad = Record::SideEffects(SideEffects {
        date: date(2026, 11, 1),
        diarrhea: 9,
        nausea: 0,
        cramps: 0,
    });
    assert!(s
        .add_record(me, &bad, &stamp("x"), OnDuplicate::Refuse)
        .is_err());
    assert!(s.records(me, None, None).unwrap().is_empty());
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
        }
        let mut s = SqliteStore::open(&path).unwrap();
        assert_eq!(s.schema_version().unwrap(), latest, "from {start}");
        if start >= 1 {
            let foods = s.imported_foods().unwrap();
            assert_eq!(foods[0].per_100g.magnesium_mg, Some(27.0), "from {start}");
        }
        let me = s.person("me", "x").unwrap();
        s.add_record(me, &sample_records()[0], &stamp("x"), OnDuplicate::Refuse)
            .unwrap();
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
    let mut s = SqliteStore::open(&dir.path().join("q.sqlite3")).unwrap();
    let me = s.person("me", "x").unwrap();
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
