//! The conformance suite: what every backend of [`Store`] and [`TrialStore`] must do, as
//! functions generic over the traits. A backend joins with one line in a test file:
//!
//! ```text
//! quietlegs_store::conformance_tests!(|| (MyStore::new_for_test(), ()));
//! ```
//!
//! The closure makes a fresh, empty store for each check, with anything that must outlive it
//! (a temporary folder) as the second item. The macro writes one `#[test]` per check.
//!
//! Each check states its expected values from its input (the records, names and seeds it
//! writes), never from what the store returned earlier. Enabled by the cargo feature
//! `conformance` (the store's own tests enable it through a dev-dependency).

// A test suite (compiled only with the `conformance` feature): a panic is a failed check.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use crate::{
    ErrorKind, FoodRelease, Identity, NewRecord, OnDuplicate, PersonId, Store, StoreError,
    StoredProfile, StoredTrial, TrialEvent, TrialGuess, TrialStore,
};
use jiff::civil::{date, Date};
use quietlegs_core::clock::ClockTime;
use quietlegs_core::diary::{
    Dose, Factor, FactorKind, FoodLog, IrlsEntry, Night, Record, SideEffects, Stamp, StoredRecord,
    RECORD_KINDS,
};
use quietlegs_core::food::{Food, Nutrients, Portion};
use quietlegs_core::reference::IrlsDefinition;
use quietlegs_core::{IrlsBand, IrlsScore, ReferenceData};
use std::sync::Arc;

#[path = "conformance_clinic.rs"]
mod clinic;
pub use clinic::*;

/// Writes one `#[test]` per conformance check for the backend that `$make` builds.
///
/// `$make` is a closure (or function) returning `(store, keep)`: a fresh, empty store, and
/// whatever must live as long as it (a temporary folder; `()` when nothing must).
#[macro_export]
macro_rules! conformance_tests {
    ($make:expr) => {
        $crate::conformance_tests!(@all (|| ::std::option::Option::Some(($make)())));
    };
    // A backend that needs a service (a PostgreSQL server): `$make` returns `None` when the
    // service is not configured, and the test returns early (`postgres_fixture` decides
    // whether that is allowed: never under CI=true).
    (service: $make:expr) => {
        $crate::conformance_tests!(@all $make);
    };
    (@all $make:expr) => {
        $crate::conformance_tests!(@checks $make;
            persons_come_from_identities,
            every_kind_round_trips,
            random_records_round_trip,
            refusals_write_nothing,
            duplicates_are_refused_and_replace_keeps_id_and_creation_time,
            a_batch_keeps_each_record_on_its_own_terms,
            login_secrets_are_per_person_and_replaced,
            update_delete_and_not_found,
            date_ranges_and_export_order,
            persons_never_see_each_others_diary,
            profiles_round_trip_and_are_replaced,
            persons_never_see_each_others_profile,
            import_restores_ids_and_stamps_into_an_empty_diary_only,
            food_releases_replace_roll_back_and_remove,
            trials_are_created_listed_read_and_deleted,
            a_trials_seed_is_read_only_through_unseal,
            trial_events_and_guesses_read_back_in_order,
            persons_never_see_each_others_trials,
            accounts_are_unique_and_each_has_a_person,
            sessions_expire_rotate_and_end_with_a_new_password,
            login_failures_are_counted_per_key,
            invitations_link_once_and_links_end,
            password_resets_are_one_time,
            audit_lines_are_per_person_in_order,
            deleting_an_account_removes_everything_of_that_person,
            helper_links_count_openings_and_go_with_the_trial
        );
        #[test]
        fn concurrent_writers_through_an_arc() {
            let ::std::option::Option::Some((store, keep)) = ($make)() else { return };
            $crate::conformance::concurrent_writers_through_an_arc(::std::sync::Arc::new(store));
            drop(keep);
        }
        #[test]
        fn concurrent_duplicates_fail_alone() {
            let ::std::option::Option::Some((store, keep)) = ($make)() else { return };
            $crate::conformance::concurrent_duplicates_fail_alone(::std::sync::Arc::new(store));
            drop(keep);
        }
    };
    (@checks $make:expr; $($check:ident),+) => {
        $(
            #[test]
            fn $check() {
                let ::std::option::Option::Some((store, keep)) = ($make)() else { return };
                $crate::conformance::$check(&store);
                // The store closes before what it needs (its folder) goes.
                drop(store);
                drop(keep);
            }
        )+
    };
}

/// A PostgreSQL server for tests: `QUIETLEGS_TEST_PG_URL` names a database (`.ci/run` makes a
/// throw-away one per run), and each test gets a fresh schema in it, dropped afterwards.
pub mod postgres_fixture {
    use crate::{PgOptions, PgStore};
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// The variable that names the test server's database.
    pub const URL_VAR: &str = "QUIETLEGS_TEST_PG_URL";

    /// The test database's URL; `None` (with a notice) when it is not set outside CI. Under
    /// `CI=true` a missing URL fails the test: the PostgreSQL suite must never pass unrun there.
    pub fn url() -> Option<String> {
        match std::env::var(URL_VAR) {
            Ok(url) if !url.is_empty() => Some(url),
            _ => {
                assert!(
                    std::env::var("CI").as_deref() != Ok("true"),
                    "{URL_VAR} is not set but CI=true: the PostgreSQL tests must run in CI \
                     (.ci/run starts PostgreSQL and sets it)"
                );
                eprintln!("notice: {URL_VAR} is not set: PostgreSQL test skipped");
                None
            }
        }
    }

    /// A schema of its own in the test database, dropped (with everything in it) on drop.
    pub struct FreshSchema {
        admin_url: String,
        pub name: String,
        /// The test database's URL with this schema first on the search path.
        pub url: String,
    }

    impl FreshSchema {
        /// A new, empty schema (`None` when no test server is configured; see [`url`]).
        pub fn new() -> Option<Self> {
            static COUNTER: AtomicUsize = AtomicUsize::new(0);
            let admin_url = url()?;
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.subsec_nanos())
                .unwrap_or(0);
            let name = format!(
                "ql_t_{}_{}_{nanos}",
                std::process::id(),
                COUNTER.fetch_add(1, Ordering::SeqCst)
            );
            let mut admin = postgres::Client::connect(&admin_url, postgres::NoTls)
                .unwrap_or_else(|e| panic!("connecting to {URL_VAR}: {e}"));
            admin
                .batch_execute(&format!("CREATE SCHEMA {name}"))
                .expect("a fresh schema");
            let sep = if admin_url.contains('?') { '&' } else { '?' };
            let url = format!("{admin_url}{sep}options=-csearch_path%3D{name}");
            Some(Self {
                admin_url,
                name,
                url,
            })
        }

        /// A store in this schema (migrated to the latest version).
        pub fn store(&self) -> PgStore {
            PgStore::connect(&self.url).expect("a store in the fresh schema")
        }

        /// A store in this schema with options.
        pub fn store_with(&self, options: &PgOptions) -> PgStore {
            PgStore::connect_with(&self.url, options).expect("a store in the fresh schema")
        }
    }

    impl Drop for FreshSchema {
        fn drop(&mut self) {
            if let Ok(mut admin) = postgres::Client::connect(&self.admin_url, postgres::NoTls) {
                let _ =
                    admin.batch_execute(&format!("DROP SCHEMA IF EXISTS {} CASCADE", self.name));
            }
        }
    }

    /// A fresh store and the schema it lives in (for `conformance_tests!(service: …)`).
    pub fn fresh_store() -> Option<(PgStore, FreshSchema)> {
        let schema = FreshSchema::new()?;
        Some((schema.store(), schema))
    }
}

fn stamp(at: &str) -> Stamp {
    Stamp {
        created_at: at.into(),
        updated_at: at.into(),
        tz: "Europe/Berlin".into(),
    }
}

fn clock(text: &str) -> ClockTime {
    ClockTime::parse(text).expect("a valid clock time in the suite")
}

fn irls_definition() -> IrlsDefinition {
    ReferenceData::shipped()
        .expect("the shipped reference data")
        .irls
}

fn who<S: Store>(store: &S, name: &str) -> PersonId {
    store
        .person(&Identity::local(name), "2026-11-01T00:00:00Z")
        .expect("a person")
}

fn kind_of(result: Result<impl std::fmt::Debug, StoreError>) -> ErrorKind {
    match result {
        Ok(v) => panic!("expected a refusal, got {v:?}"),
        Err(e) => e.kind(),
    }
}

fn contents(records: Vec<StoredRecord>) -> Vec<Record> {
    records.into_iter().map(|r| r.record).collect()
}

fn night(day: Date, severity: u8) -> Record {
    Record::Night(Night {
        date: day,
        severity,
        symptoms_began: None,
        sleep_quality: None,
        hours_slept: None,
        minutes_to_sleep: None,
        awakenings: None,
        note: None,
    })
}

fn massage(day: Date) -> Record {
    Record::Factor(Factor {
        date: day,
        kind: FactorKind::Massage,
        amount: None,
        unit: None,
        time: None,
    })
}

/// One record of every kind on 2026-11-20, in export order, with awkward text (quotes,
/// commas, formula starts, accents, a line break) and reals that are not short decimals.
pub fn sample_records() -> Vec<Record> {
    let d = date(2026, 11, 20);
    vec![
        Record::Night(Night {
            date: d,
            severity: 6,
            symptoms_began: Some(clock("20:45")),
            sleep_quality: Some(4),
            hours_slept: Some(5.75),
            minutes_to_sleep: Some(55),
            awakenings: Some(3),
            note: Some("=HYPERLINK(\"x\"), restless; café, \"bad\"\nnight".into()),
        }),
        Record::Irls(IrlsEntry {
            date: d,
            items: vec![3, 3, 2, 3, 2, 3, 2, 2, 1, 2],
            // 3+3+2+3+2+3+2+2+1+2 = 23: severe (21-30).
            total: 23,
            band: IrlsBand::Severe,
            rls6: Some(vec![5, 6, 7, 2, 1, 4]),
        }),
        Record::Dose(Dose {
            date: d,
            time: clock("22:00"),
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
            amount: Some(2.0 / 3.0),
            unit: Some("cups".into()),
            time: Some(clock("16:30")),
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

/// The same identity is always the same person, created once; `find_person` never creates.
pub fn persons_come_from_identities<S: Store>(store: &S) {
    let ann = Identity::local("ann");
    assert_eq!(store.find_person(&ann).unwrap(), None);
    let first = store.person(&ann, "2026-11-01T00:00:00Z").unwrap();
    let again = store.person(&ann, "2026-12-01T00:00:00Z").unwrap();
    assert_eq!(first, again);
    // Created once: the first moment stays.
    assert_eq!(
        store.person_created_at(first).unwrap(),
        "2026-11-01T00:00:00Z"
    );
    assert_eq!(store.find_person(&ann).unwrap(), Some(first));
    let bob = store
        .person(&Identity::local("bob"), "2026-11-01T00:00:00Z")
        .unwrap();
    assert_ne!(bob, first);
    assert_eq!(store.find_person(&Identity::local("carol")).unwrap(), None);
}

/// Every kind of record comes back as written, with its id and stamp.
pub fn every_kind_round_trips<S: Store>(store: &S) {
    let me = who(store, "me");
    let records = sample_records();
    let mut ids = Vec::new();
    for (i, r) in records.iter().enumerate() {
        let at = format!("2026-11-21T07:0{i}:00Z");
        ids.push(
            store
                .add_record(me, r, &stamp(&at), OnDuplicate::Refuse)
                .unwrap(),
        );
    }
    // The samples are one date, in export order, the two factors in the order written.
    assert_eq!(contents(store.records(me, None, None).unwrap()), records);
    for (i, (r, id)) in records.iter().zip(&ids).enumerate() {
        let stored = store.record(me, r.kind(), *id).unwrap().expect("stored");
        assert_eq!(&stored.record, r);
        assert_eq!(stored.id, *id);
        assert_eq!(stored.stamp, stamp(&format!("2026-11-21T07:0{i}:00Z")));
    }
}

/// Random valid records of every kind, written and read back equal (typed values, text that
/// looks like a number, reals with many digits), in export order.
pub fn random_records_round_trip<S: Store>(store: &S) {
    use proptest::test_runner::{Config, TestCaseError, TestRunner};
    let irls = irls_definition();
    let mut runner = TestRunner::new(Config {
        cases: 48,
        failure_persistence: None,
        ..Config::default()
    });
    let case = std::sync::atomic::AtomicUsize::new(0);
    let result = runner.run(&strategies::diary(&irls), |records| {
        // A fresh person per case: each case starts from an empty diary.
        let n = case.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let fail = |e: StoreError| TestCaseError::fail(e.to_string());
        let me = store
            .person(
                &Identity::local(format!("case-{n}")),
                "2026-11-01T00:00:00Z",
            )
            .map_err(fail)?;
        let mut written = Vec::new();
        for r in records {
            let id = store
                .add_record(me, &r, &stamp("2026-11-21T07:00:00Z"), OnDuplicate::Refuse)
                .map_err(fail)?;
            written.push((id, r));
        }
        // Export order: kind, then date, then id.
        let rank = |r: &Record| RECORD_KINDS.iter().position(|k| *k == r.kind());
        written.sort_by_key(|(id, r)| (rank(r), r.date(), *id));
        let expected: Vec<Record> = written.into_iter().map(|(_, r)| r).collect();
        let back = contents(store.records(me, None, None).map_err(fail)?);
        proptest::prop_assert_eq!(back, expected);
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}

/// A refused write leaves the store exactly as it was.
pub fn refusals_write_nothing<S: Store + TrialStore>(store: &S) {
    let me = who(store, "me");
    let day = date(2026, 11, 1);
    // Values outside the diary's scales: the backend's own ranges refuse them (a second line
    // of defence behind `Record::validate`).
    let out_of_range = [
        Record::SideEffects(SideEffects {
            date: day,
            diarrhea: 9,
            nausea: 0,
            cramps: 0,
        }),
        night(day, 11),
        Record::Dose(Dose {
            date: day,
            time: clock("22:00"),
            product: "Mag".into(),
            form: None,
            elemental_mg: 0.0,
        }),
    ];
    for r in &out_of_range {
        assert!(
            store
                .add_record(me, r, &stamp("2026-11-02T07:00:00Z"), OnDuplicate::Refuse)
                .is_err(),
            "{r:?}"
        );
    }
    assert_eq!(store.records(me, None, None).unwrap(), []);
    // An import with a bad record in the middle: nothing of it is written.
    let import = |records: &[Record]| -> Vec<StoredRecord> {
        records
            .iter()
            .enumerate()
            .map(|(i, r)| StoredRecord {
                id: 100 + i as i64,
                stamp: stamp("2026-11-02T07:00:00Z"),
                record: r.clone(),
            })
            .collect()
    };
    let bad_middle = import(&[massage(day), out_of_range[0].clone(), night(day, 3)]);
    assert!(store.import_records(me, &bad_middle).is_err());
    assert_eq!(store.records(me, None, None).unwrap(), []);
    // Two nights for one date in one import: a conflict, and nothing written.
    let twice = import(&[night(day, 3), night(day, 4)]);
    assert_eq!(
        kind_of(store.import_records(me, &twice)),
        ErrorKind::Conflict
    );
    assert_eq!(store.records(me, None, None).unwrap(), []);
    // An unknown kind: bad input, nothing changed.
    let id = store
        .add_record(
            me,
            &night(day, 5),
            &stamp("2026-11-02T07:00:00Z"),
            OnDuplicate::Refuse,
        )
        .unwrap();
    assert_eq!(
        kind_of(store.delete_record(me, "mood", id)),
        ErrorKind::BadInput
    );
    assert_eq!(kind_of(store.record(me, "mood", id)), ErrorKind::BadInput);
    assert_eq!(
        contents(store.records(me, None, None).unwrap()),
        [night(day, 5)]
    );
    // A second trial under a name already used: refused, the first unchanged.
    let first = store
        .create_trial(
            me,
            "mg",
            "{\"plan\":1}",
            "h1",
            7,
            &stamp("2026-11-03T07:00:00Z"),
        )
        .unwrap();
    assert_eq!(
        kind_of(store.create_trial(me, "mg", "{\"plan\":2}", "h2", 8, &stamp("x"))),
        ErrorKind::Conflict
    );
    let trials = store.trials(me).unwrap();
    assert_eq!(trials.len(), 1);
    assert_eq!(trials[0].id, first);
    assert_eq!(trials[0].plan_json, "{\"plan\":1}");
    assert_eq!(store.unseal_trial(me, first).unwrap(), 7);
}

/// A second night, IRLS or side-effects entry for a date is refused unless replaced; a
/// replacement keeps the id and creation time. Doses, foods and factors may repeat.
pub fn duplicates_are_refused_and_replace_keeps_id_and_creation_time<S: Store>(store: &S) {
    let me = who(store, "me");
    let day = date(2026, 11, 20);
    let first = night(day, 6);
    let id = store
        .add_record(
            me,
            &first,
            &stamp("2026-11-21T07:00:00Z"),
            OnDuplicate::Refuse,
        )
        .unwrap();
    let refused = store.add_record(
        me,
        &night(day, 2),
        &stamp("2026-11-21T07:05:00Z"),
        OnDuplicate::Refuse,
    );
    assert_eq!(kind_of(refused), ErrorKind::Conflict);
    assert_eq!(contents(store.records(me, None, None).unwrap()), [first]);
    let replaced = store
        .add_record(
            me,
            &night(day, 2),
            &Stamp {
                created_at: "2026-11-21T07:10:00Z".into(),
                updated_at: "2026-11-21T07:10:00Z".into(),
                tz: "Asia/Tokyo".into(),
            },
            OnDuplicate::Replace,
        )
        .unwrap();
    assert_eq!(replaced, id);
    let stored = store.record(me, "night", id).unwrap().expect("stored");
    assert_eq!(stored.record, night(day, 2));
    assert_eq!(
        stored.stamp,
        Stamp {
            created_at: "2026-11-21T07:00:00Z".into(),
            updated_at: "2026-11-21T07:10:00Z".into(),
            tz: "Asia/Tokyo".into(),
        }
    );
    assert_eq!(store.records(me, None, None).unwrap().len(), 1);
    // A dose is not one per date: `Replace` adds a second.
    let dose = sample_records().remove(2);
    for _ in 0..2 {
        store
            .add_record(me, &dose, &stamp("x"), OnDuplicate::Replace)
            .unwrap();
    }
    assert_eq!(
        contents(store.records(me, None, None).unwrap()),
        [night(day, 2), dose.clone(), dose]
    );
}

/// Edits replace every field (an absent optional field is cleared) and keep the creation
/// time; deletes remove; a missing id is `NotFound`.
/// `add_records`: each record of a batch succeeds or fails on its own, in order, and what
/// succeeded is stored exactly as one by one. A night already stored on 20 Nov; the batch:
///   0. night 19 Nov, severity 3          -> stored
///   1. night 20 Nov, refuse              -> duplicate of the stored night (Conflict)
///   2. night 21 Nov, severity 4          -> stored
///   3. night 21 Nov again, refuse        -> duplicate of record 2 of this batch (Conflict)
///   4. night 20 Nov, severity 9, replace -> replaces the stored night, keeping its id
///   5. night 22 Nov, severity 11         -> out of the scale: refused by the backend alone
///   6. massage 19 Nov                    -> stored (any number per date)
///   7. another person's night 20 Nov     -> stored, theirs
///   8. night 20 Nov, severity 11, replace -> out of the scale: refused alone, the night
///      stays as record 4 left it
///   9. night 19 Nov, severity 11, refuse -> named as the duplicate of record 0 (the date is
///      taken, whatever the values)
///
/// Afterwards, in export order (kind, then date): me = \[night 19/3, night 20/9,
/// night 21/4, massage 19\]; the other = \[night 20/5\].
pub fn a_batch_keeps_each_record_on_its_own_terms<S: Store>(store: &S) {
    let me = who(store, "me");
    let other = who(store, "other");
    let day = |d| date(2026, 11, d);
    let at = stamp("2026-11-23T07:00:00Z");
    let stored = store
        .add_record(me, &night(day(20), 6), &at, OnDuplicate::Refuse)
        .unwrap();
    let new = |person, record, on_duplicate| NewRecord {
        person,
        record,
        stamp: at.clone(),
        on_duplicate,
    };
    let batch = [
        new(me, night(day(19), 3), OnDuplicate::Refuse),
        new(me, night(day(20), 1), OnDuplicate::Refuse),
        new(me, night(day(21), 4), OnDuplicate::Refuse),
        new(me, night(day(21), 8), OnDuplicate::Refuse),
        new(me, night(day(20), 9), OnDuplicate::Replace),
        new(me, night(day(22), 11), OnDuplicate::Refuse),
        new(me, massage(day(19)), OnDuplicate::Refuse),
        new(other, night(day(20), 5), OnDuplicate::Refuse),
        new(me, night(day(20), 11), OnDuplicate::Replace),
        new(me, night(day(19), 11), OnDuplicate::Refuse),
    ];
    let outcomes = store.add_records(&batch);
    assert_eq!(outcomes.len(), batch.len());
    let ok: Vec<bool> = outcomes.iter().map(Result::is_ok).collect();
    assert_eq!(
        ok,
        [true, false, true, false, true, false, true, true, false, false]
    );
    // Each duplicate names the entry that holds its date: the stored one, or one stored
    // earlier in this batch.
    let duplicate_of = |i: usize| match &outcomes[i] {
        Err(e @ StoreError::Duplicate { id, .. }) => {
            assert_eq!(e.kind(), ErrorKind::Conflict);
            *id
        }
        other => panic!("record {i}: expected a duplicate, got {other:?}"),
    };
    assert_eq!(duplicate_of(1), stored);
    assert_eq!(duplicate_of(3), *outcomes[2].as_ref().unwrap());
    assert_eq!(duplicate_of(9), *outcomes[0].as_ref().unwrap());
    assert_eq!(*outcomes[4].as_ref().unwrap(), stored);
    let mine = contents(store.records(me, None, None).unwrap());
    assert_eq!(
        mine,
        [
            night(day(19), 3),
            night(day(20), 9),
            night(day(21), 4),
            massage(day(19)),
        ]
    );
    assert_eq!(
        contents(store.records(other, None, None).unwrap()),
        [night(day(20), 5)]
    );
    // Each stored record is readable by the id its outcome gave.
    for (i, outcome) in outcomes.iter().enumerate() {
        if let Ok(id) = outcome {
            let kind = batch[i].record.kind();
            let read = store
                .record(batch[i].person, kind, *id)
                .unwrap()
                .expect("the stored record");
            assert_eq!(read.record.date(), batch[i].record.date(), "record {i}");
        }
    }
    // An empty batch is nothing.
    assert!(store.add_records(&[]).is_empty());
}

/// Log-in secrets: none at first; set, read back and replaced per person; another person's
/// is separate; a value that is not an argon2id PHC string is refused by the backend.
pub fn login_secrets_are_per_person_and_replaced<S: Store>(store: &S) {
    let me = who(store, "me");
    let other = who(store, "other");
    assert_eq!(store.login_secret(me).unwrap(), None);
    let first = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2g";
    let second = "$argon2id$v=19$m=19456,t=2,p=1$b3RoZXJzYWx0$b3RoZXJoYXNo";
    store
        .set_login_secret(me, first, "2026-11-29T10:00:00Z")
        .unwrap();
    assert_eq!(store.login_secret(me).unwrap().as_deref(), Some(first));
    assert_eq!(store.login_secret(other).unwrap(), None);
    store
        .set_login_secret(me, second, "2026-11-29T11:00:00Z")
        .unwrap();
    assert_eq!(store.login_secret(me).unwrap().as_deref(), Some(second));
    assert!(store
        .set_login_secret(
            other,
            "correct horse battery staple",
            "2026-11-29T11:00:00Z"
        )
        .is_err());
    assert_eq!(store.login_secret(other).unwrap(), None);
}

pub fn update_delete_and_not_found<S: Store>(store: &S) {
    let me = who(store, "me");
    let full = sample_records().remove(0);
    let id = store
        .add_record(
            me,
            &full,
            &stamp("2026-11-21T07:00:00Z"),
            OnDuplicate::Refuse,
        )
        .unwrap();
    // The edit moves it a day and clears every optional field.
    let edited = night(date(2026, 11, 19), 1);
    store
        .update_record(me, id, &edited, "2026-11-22T09:00:00Z", "UTC")
        .unwrap();
    let stored = store.record(me, "night", id).unwrap().expect("stored");
    assert_eq!(stored.record, edited);
    assert_eq!(
        stored.stamp,
        Stamp {
            created_at: "2026-11-21T07:00:00Z".into(),
            updated_at: "2026-11-22T09:00:00Z".into(),
            tz: "UTC".into(),
        }
    );
    // Moving a second night onto that date is a conflict.
    let other = store
        .add_record(
            me,
            &night(date(2026, 11, 25), 4),
            &stamp("x"),
            OnDuplicate::Refuse,
        )
        .unwrap();
    assert_eq!(
        kind_of(store.update_record(me, other, &night(date(2026, 11, 19), 4), "y", "UTC")),
        ErrorKind::Conflict
    );
    store.delete_record(me, "night", id).unwrap();
    assert_eq!(store.record(me, "night", id).unwrap(), None);
    assert_eq!(
        kind_of(store.delete_record(me, "night", id)),
        ErrorKind::NotFound
    );
    assert_eq!(
        kind_of(store.update_record(me, id, &edited, "z", "UTC")),
        ErrorKind::NotFound
    );
    assert_eq!(
        contents(store.records(me, None, None).unwrap()),
        [night(date(2026, 11, 25), 4)]
    );
}

/// Date ranges include both ends, either end may be open, and records come by kind (night,
/// irls, dose, food, side-effects, factor), then date, then id, whatever the writing order.
pub fn date_ranges_and_export_order<S: Store>(store: &S) {
    let me = who(store, "me");
    let d = |day| date(2026, 11, day);
    let samples = sample_records();
    let on = |i: usize, day| -> Record {
        let mut r = samples[i].clone();
        match &mut r {
            Record::Night(x) => x.date = d(day),
            Record::Irls(x) => x.date = d(day),
            Record::Dose(x) => x.date = d(day),
            Record::Food(x) => x.date = d(day),
            Record::SideEffects(x) => x.date = d(day),
            Record::Factor(x) => x.date = d(day),
        }
        r
    };
    // Written out of order: (sample index, day). 0 night, 1 irls, 2 dose, 3 food,
    // 4 side effects, 5 caffeine, 6 stretching.
    let writes = [
        (5, 3),
        (0, 2),
        (2, 1),
        (0, 1),
        (6, 1),
        (1, 2),
        (3, 3),
        (4, 1),
        (5, 1),
    ];
    for (i, day) in writes {
        store
            .add_record(me, &on(i, day), &stamp("x"), OnDuplicate::Refuse)
            .unwrap();
    }
    // By kind, then date, then id (the stretching on the 1st was written before the caffeine).
    let all = [
        on(0, 1),
        on(0, 2),
        on(1, 2),
        on(2, 1),
        on(3, 3),
        on(4, 1),
        on(6, 1),
        on(5, 1),
        on(5, 3),
    ];
    assert_eq!(contents(store.records(me, None, None).unwrap()), all);
    assert_eq!(
        contents(store.records(me, Some(d(2)), Some(d(2))).unwrap()),
        [on(0, 2), on(1, 2)]
    );
    assert_eq!(
        contents(store.records(me, Some(d(2)), None).unwrap()),
        [on(0, 2), on(1, 2), on(3, 3), on(5, 3)]
    );
    assert_eq!(
        contents(store.records(me, None, Some(d(1))).unwrap()),
        [on(0, 1), on(2, 1), on(4, 1), on(6, 1), on(5, 1)]
    );
    assert_eq!(
        store.records(me, Some(d(4)), Some(d(30))).unwrap(),
        [],
        "no records after the 3rd"
    );
}

/// Every diary method is scoped to its person.
pub fn persons_never_see_each_others_diary<S: Store>(store: &S) {
    let ann = who(store, "ann");
    let bob = who(store, "bob");
    let day = date(2026, 11, 20);
    let anns = night(day, 7);
    let id = store
        .add_record(ann, &anns, &stamp("x"), OnDuplicate::Refuse)
        .unwrap();
    assert_eq!(store.records(bob, None, None).unwrap(), []);
    assert_eq!(store.records(bob, Some(day), Some(day)).unwrap(), []);
    assert_eq!(store.record(bob, "night", id).unwrap(), None);
    assert_eq!(
        kind_of(store.update_record(bob, id, &night(day, 1), "y", "UTC")),
        ErrorKind::NotFound
    );
    assert_eq!(
        kind_of(store.delete_record(bob, "night", id)),
        ErrorKind::NotFound
    );
    // Bob may log the same date (uniqueness is per person), and import into his own empty
    // diary while Ann's is not empty.
    store
        .add_record(bob, &night(day, 2), &stamp("x"), OnDuplicate::Replace)
        .unwrap();
    let carol = who(store, "carol");
    let restored = StoredRecord {
        id: 9_001,
        stamp: stamp("2026-10-01T07:00:00Z"),
        record: night(day, 5),
    };
    assert_eq!(
        store
            .import_records(carol, std::slice::from_ref(&restored))
            .unwrap(),
        1
    );
    // An import carrying the id of Ann's record: refused as a conflict (ids unique across the
    // database) or kept apart, but Ann's record is never replaced.
    let dave = who(store, "dave");
    let clash = StoredRecord {
        id,
        stamp: stamp("2026-10-02T07:00:00Z"),
        record: night(day, 0),
    };
    match store.import_records(dave, std::slice::from_ref(&clash)) {
        Err(e) => {
            assert_eq!(e.kind(), ErrorKind::Conflict, "{e}");
            assert_eq!(store.records(dave, None, None).unwrap(), []);
        }
        Ok(n) => assert_eq!(store.records(dave, None, None).unwrap().len(), n),
    }
    // Ann's diary is untouched by all of it.
    let stored = store.records(ann, None, None).unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].id, id);
    assert_eq!(stored[0].record, anns);
    assert_eq!(
        contents(store.records(bob, None, None).unwrap()),
        [night(day, 2)]
    );
    assert_eq!(store.records(carol, None, None).unwrap(), [restored]);
}

fn profile_document(age: u32, medicine: &str) -> StoredProfile {
    StoredProfile {
        // Text the store keeps byte for byte: quotes, a comment, a non-ASCII unit, newlines.
        document: format!(
            "age = {age}\nsex = \"male\"\nbedtime = \"22:30\"\ngi_tolerance = \"normal\"\n\
             # eGFR in mL/min/1.73 m²\n[[medications]]\nname = \"{medicine}\"\n"
        ),
        updated_at: format!("2026-11-{:02}T20:00:00Z", age % 28 + 1),
    }
}

/// A profile reads back exactly as stored; a second one replaces the first; none before.
pub fn profiles_round_trip_and_are_replaced<S: Store>(store: &S) {
    let me = who(store, "me");
    assert_eq!(store.profile(me).unwrap(), None);
    let first = profile_document(52, "omeprazole");
    store.set_profile(me, &first).unwrap();
    assert_eq!(store.profile(me).unwrap(), Some(first.clone()));
    let second = profile_document(53, "Tylenol PM");
    store.set_profile(me, &second).unwrap();
    assert_eq!(store.profile(me).unwrap(), Some(second));
    // Storing a profile touches no diary.
    assert_eq!(store.records(me, None, None).unwrap(), []);
}

/// Each person has their own profile: storing or replacing one never shows or changes another's.
pub fn persons_never_see_each_others_profile<S: Store>(store: &S) {
    let ann = who(store, "ann");
    let bob = who(store, "bob");
    let anns = profile_document(40, "levothyroxine");
    store.set_profile(ann, &anns).unwrap();
    assert_eq!(store.profile(bob).unwrap(), None);
    let bobs = profile_document(70, "doxycycline");
    store.set_profile(bob, &bobs).unwrap();
    assert_eq!(store.profile(ann).unwrap(), Some(anns.clone()));
    assert_eq!(store.profile(bob).unwrap(), Some(bobs.clone()));
    let bobs_new = profile_document(71, "alendronate");
    store.set_profile(bob, &bobs_new).unwrap();
    assert_eq!(store.profile(ann).unwrap(), Some(anns));
    assert_eq!(store.profile(bob).unwrap(), Some(bobs_new));
}

/// An import restores ids and stamps, only into an empty diary; later entries get new ids.
pub fn import_restores_ids_and_stamps_into_an_empty_diary_only<S: Store>(store: &S) {
    let me = who(store, "me");
    let samples = sample_records();
    let restored: Vec<StoredRecord> = [(40, 0), (7, 2), (12, 5)]
        .iter()
        .map(|&(id, i)| StoredRecord {
            id,
            stamp: Stamp {
                created_at: format!("2025-01-0{}T08:00:00Z", i + 1),
                updated_at: format!("2025-02-0{}T08:00:00Z", i + 1),
                tz: "America/Chicago".into(),
            },
            record: samples[i].clone(),
        })
        .collect();
    assert_eq!(store.import_records(me, &restored).unwrap(), 3);
    // Night, dose, factor: already in export order.
    assert_eq!(store.records(me, None, None).unwrap(), restored);
    // A second import: the diary is no longer empty (3 entries).
    match store.import_records(me, &restored) {
        Err(e @ StoreError::NotEmpty(3)) => assert_eq!(e.kind(), ErrorKind::Conflict),
        other => panic!("expected NotEmpty(3), got {other:?}"),
    }
    assert_eq!(store.records(me, None, None).unwrap(), restored);
    // New entries of the imported kinds get ids that no imported record has.
    for i in [0usize, 2, 5] {
        let mut r = samples[i].clone();
        if let Record::Night(n) = &mut r {
            n.date = date(2026, 11, 21);
        }
        let id = store
            .add_record(me, &r, &stamp("x"), OnDuplicate::Refuse)
            .unwrap();
        assert!(![40, 7, 12].contains(&id), "id {id} reused");
    }
    assert_eq!(store.records(me, None, None).unwrap().len(), 6);
}

fn food(id: &str, magnesium_mg: Option<f64>, release: &str) -> Food {
    Food {
        id: id.into(),
        name: format!("food {id}"),
        group: Some("Nut and Seed Products".into()),
        release: release.into(),
        ndb: None,
        per_100g: Nutrients {
            kcal: Some(579.0),
            magnesium_mg,
            ..Nutrients::default()
        },
        portions: vec![
            Portion {
                amount: 1.0,
                unit: "oz".into(),
                grams: 28.35,
                release: release.into(),
            },
            Portion {
                amount: 0.25,
                unit: "cup".into(),
                grams: 35.75,
                release: release.into(),
            },
        ],
    }
}

fn release(name: &str, imported_at: &str) -> FoodRelease {
    FoodRelease {
        release: name.into(),
        kind: "sr-ascii".into(),
        imported_at: imported_at.into(),
        foods: 0,
    }
}

/// Importing a release replaces it whole; a failed import leaves the previous one; removing
/// takes its foods and portions.
pub fn food_releases_replace_roll_back_and_remove<S: Store>(store: &S) {
    let r1 = release("sr28", "2026-11-01T00:00:00Z");
    let mut first = vec![
        Ok(food("12061", Some(270.0), "sr28")),
        Ok(food("09040", None, "sr28")),
    ]
    .into_iter();
    assert_eq!(store.replace_food_release(&r1, &mut first).unwrap(), 2);
    assert_eq!(
        store.imported_foods().unwrap(),
        [
            food("12061", Some(270.0), "sr28"),
            food("09040", None, "sr28")
        ]
    );
    let mut second = vec![Ok(food("12061", Some(268.0), "sr28"))].into_iter();
    assert_eq!(store.replace_food_release(&r1, &mut second).unwrap(), 1);
    assert_eq!(
        store.imported_foods().unwrap(),
        [food("12061", Some(268.0), "sr28")]
    );
    // A stream that fails part-way: the previous import of the release stays.
    let mut broken = vec![
        Ok(food("11457", Some(79.0), "sr28")),
        Err("the download is cut short".into()),
    ]
    .into_iter();
    assert!(store.replace_food_release(&r1, &mut broken).is_err());
    assert_eq!(
        store.imported_foods().unwrap(),
        [food("12061", Some(268.0), "sr28")]
    );
    let r2 = release("foundation", "2026-11-02T00:00:00Z");
    let mut other = vec![Ok(food("f1", Some(10.0), "foundation"))].into_iter();
    store.replace_food_release(&r2, &mut other).unwrap();
    assert_eq!(
        store.food_releases().unwrap(),
        [
            FoodRelease { foods: 1, ..r1 },
            FoodRelease {
                foods: 1,
                ..r2.clone()
            }
        ]
    );
    assert_eq!(store.remove_food_release("sr28").unwrap(), 1);
    assert_eq!(
        kind_of(store.remove_food_release("sr28")),
        ErrorKind::NotFound
    );
    assert_eq!(
        store.imported_foods().unwrap(),
        [food("f1", Some(10.0), "foundation")]
    );
    assert_eq!(
        store.food_releases().unwrap(),
        [FoodRelease { foods: 1, ..r2 }]
    );
}

fn new_trial<S: TrialStore>(store: &S, person: PersonId, name: &str, seed: u64) -> i64 {
    store
        .create_trial(
            person,
            name,
            &format!("{{\"trial\":\"{name}\"}}"),
            &format!("hash-{name}"),
            seed,
            &stamp("2026-11-01T20:00:00Z"),
        )
        .unwrap()
}

/// Trials are created (a name once per person), listed in creation order, read and deleted.
pub fn trials_are_created_listed_read_and_deleted<S: Store + TrialStore>(store: &S) {
    let me = who(store, "me");
    assert_eq!(store.trials(me).unwrap(), []);
    let a = new_trial(store, me, "magnesium", 11);
    let b = new_trial(store, me, "glycinate", 22);
    let expected = |id, name: &str| StoredTrial {
        id,
        name: name.into(),
        plan_json: format!("{{\"trial\":\"{name}\"}}"),
        plan_hash: format!("hash-{name}"),
        created_at: "2026-11-01T20:00:00Z".into(),
        events: vec![],
        guesses: vec![],
    };
    assert_eq!(
        store.trials(me).unwrap(),
        [expected(a, "magnesium"), expected(b, "glycinate")]
    );
    assert_eq!(store.trial(me, b).unwrap(), expected(b, "glycinate"));
    assert_eq!(
        kind_of(store.create_trial(me, "magnesium", "{}", "h", 1, &stamp("x"))),
        ErrorKind::Conflict
    );
    store.delete_trial(me, a).unwrap();
    assert_eq!(store.trials(me).unwrap(), [expected(b, "glycinate")]);
    assert_eq!(kind_of(store.trial(me, a)), ErrorKind::NotFound);
    assert_eq!(kind_of(store.unseal_trial(me, a)), ErrorKind::NotFound);
    assert_eq!(kind_of(store.delete_trial(me, a)), ErrorKind::NotFound);
    // The name is free again once its trial is deleted.
    let again = new_trial(store, me, "magnesium", 33);
    assert_eq!(store.unseal_trial(me, again).unwrap(), 33);
}

/// The seed (the allocation) is returned by `unseal_trial` only: never in a `StoredTrial`,
/// its JSON or its debug text.
pub fn a_trials_seed_is_read_only_through_unseal<S: Store + TrialStore>(store: &S) {
    let me = who(store, "me");
    // A seed whose digits appear nowhere else, and the extremes of u64.
    let seeds = [9_876_543_210_123_456_789_u64, u64::MAX, 0];
    let ids: Vec<i64> = seeds
        .iter()
        .enumerate()
        .map(|(i, &seed)| new_trial(store, me, &format!("t{i}"), seed))
        .collect();
    for (id, seed) in ids.iter().zip(seeds) {
        assert_eq!(store.unseal_trial(me, *id).unwrap(), seed);
    }
    let trial = store.trial(me, ids[0]).unwrap();
    let all = store.trials(me).unwrap();
    for text in [
        serde_json::to_string(&trial).unwrap(),
        serde_json::to_string(&all).unwrap(),
        format!("{trial:?}"),
    ] {
        assert!(!text.contains("9876543210123456789"), "{text}");
        assert!(!text.contains("seed"), "{text}");
    }
}

/// Unblinding events come back in the order logged; guesses by period, a second guess for a
/// period replacing the first.
pub fn trial_events_and_guesses_read_back_in_order<S: Store + TrialStore>(store: &S) {
    let me = who(store, "me");
    let id = new_trial(store, me, "magnesium", 5);
    let early = TrialEvent {
        at: "2026-12-01T21:00:00Z".into(),
        kind: "early-unblinding".into(),
        detail: "diarrhoea, stopped".into(),
    };
    let end = TrialEvent {
        at: "2026-12-20T08:00:00Z".into(),
        kind: "unblinded".into(),
        detail: String::new(),
    };
    store.add_trial_event(me, id, &early).unwrap();
    store.add_trial_event(me, id, &end).unwrap();
    let guess = |period, arm: &str, at: &str| TrialGuess {
        period,
        guess: arm.into(),
        at: at.into(),
    };
    store
        .record_guess(me, id, &guess(3, "active", "2026-11-30T08:00:00Z"))
        .unwrap();
    store
        .record_guess(me, id, &guess(1, "placebo", "2026-11-10T08:00:00Z"))
        .unwrap();
    store
        .record_guess(me, id, &guess(2, "active", "2026-11-20T08:00:00Z"))
        .unwrap();
    store
        .record_guess(me, id, &guess(1, "active", "2026-11-11T08:00:00Z"))
        .unwrap();
    let trial = store.trial(me, id).unwrap();
    assert_eq!(trial.events, [early, end]);
    assert_eq!(
        trial.guesses,
        [
            guess(1, "active", "2026-11-11T08:00:00Z"),
            guess(2, "active", "2026-11-20T08:00:00Z"),
            guess(3, "active", "2026-11-30T08:00:00Z"),
        ]
    );
    // Deleting the trial takes its events and guesses; a new trial starts with none.
    store.delete_trial(me, id).unwrap();
    let fresh = new_trial(store, me, "magnesium", 6);
    let trial = store.trial(me, fresh).unwrap();
    assert_eq!((trial.events, trial.guesses), (vec![], vec![]));
}

/// Every trial method is scoped to its person.
pub fn persons_never_see_each_others_trials<S: Store + TrialStore>(store: &S) {
    let ann = who(store, "ann");
    let bob = who(store, "bob");
    let id = new_trial(store, ann, "magnesium", 42);
    assert_eq!(store.trials(bob).unwrap(), []);
    assert_eq!(kind_of(store.trial(bob, id)), ErrorKind::NotFound);
    assert_eq!(kind_of(store.unseal_trial(bob, id)), ErrorKind::NotFound);
    let event = TrialEvent {
        at: "2026-12-01T21:00:00Z".into(),
        kind: "early-unblinding".into(),
        detail: "not bob's".into(),
    };
    assert_eq!(
        kind_of(store.add_trial_event(bob, id, &event)),
        ErrorKind::NotFound
    );
    let guess = TrialGuess {
        period: 1,
        guess: "active".into(),
        at: "2026-11-10T08:00:00Z".into(),
    };
    assert_eq!(
        kind_of(store.record_guess(bob, id, &guess)),
        ErrorKind::NotFound
    );
    assert_eq!(kind_of(store.delete_trial(bob, id)), ErrorKind::NotFound);
    // Bob may use the same name; Ann's trial is untouched.
    let bobs = new_trial(store, bob, "magnesium", 43);
    assert_ne!(bobs, id);
    let anns = store.trial(ann, id).unwrap();
    assert_eq!((anns.events, anns.guesses), (vec![], vec![]));
    assert_eq!(store.unseal_trial(ann, id).unwrap(), 42);
    assert_eq!(store.unseal_trial(bob, bobs).unwrap(), 43);
}

/// Threads sharing one store through an `Arc`: 8 threads each write 50 nights (their own
/// dates) for the same identity; all 8 × 50 = 400 are kept, each once.
pub fn concurrent_writers_through_an_arc<S: Store + 'static>(store: Arc<S>) {
    const THREADS: i32 = 8;
    const NIGHTS: i32 = 50;
    let first = date(2020, 1, 1);
    let handles: Vec<_> = (0..THREADS)
        .map(|t| {
            let store = Arc::clone(&store);
            std::thread::spawn(move || {
                let me = store
                    .person(&Identity::local("shared"), "2026-11-01T00:00:00Z")
                    .expect("the person");
                for i in 0..NIGHTS {
                    let day = first
                        .checked_add(jiff::Span::new().days(t * NIGHTS + i))
                        .expect("a date");
                    store
                        .add_record(
                            me,
                            &night(day, (i % 11) as u8),
                            &stamp("x"),
                            OnDuplicate::Refuse,
                        )
                        .unwrap_or_else(|e| panic!("thread {t}, night {i}: {e}"));
                }
                me
            })
        })
        .collect();
    let people: Vec<PersonId> = handles
        .into_iter()
        .map(|h| h.join().expect("a writer thread"))
        .collect();
    assert!(people.windows(2).all(|w| w[0] == w[1]), "one person");
    let all = store.records(people[0], None, None).unwrap();
    assert_eq!(all.len(), (THREADS * NIGHTS) as usize);
    // Night k (0..400) is on 2020-01-01 + k days, with severity (k mod 50) mod 11.
    let expected: Vec<Record> = (0..THREADS * NIGHTS)
        .map(|k| {
            let day = first
                .checked_add(jiff::Span::new().days(k))
                .expect("a date");
            night(day, ((k % NIGHTS) % 11) as u8)
        })
        .collect();
    assert_eq!(contents(all), expected);
}

/// Writers racing for the same dates: 16 threads in pairs, both of a pair writing a night on
/// each of the same 25 dates (thread 2p and 2p + 1 share dates 25p .. 25p + 24; the even
/// thread's severity is 1, the odd one's 2). Each date is kept once: 8 × 25 = 200 nights
/// stored, 200 writes refused as duplicates of a stored night, and no other outcome; a
/// refused write costs nobody else's (a backend that batches writes must roll back only the
/// duplicate).
pub fn concurrent_duplicates_fail_alone<S: Store + 'static>(store: Arc<S>) {
    const PAIRS: i32 = 8;
    const DATES: i32 = 25;
    let first = date(2021, 3, 1);
    let handles: Vec<_> = (0..2 * PAIRS)
        .map(|t| {
            let store = Arc::clone(&store);
            std::thread::spawn(move || {
                let me = store
                    .person(&Identity::local("racing"), "2026-11-01T00:00:00Z")
                    .expect("the person");
                let (mut kept, mut refused) = (0, 0);
                for i in 0..DATES {
                    let day = first
                        .checked_add(jiff::Span::new().days((t / 2) * DATES + i))
                        .expect("a date");
                    let severity = if t % 2 == 0 { 1 } else { 2 };
                    match store.add_record(
                        me,
                        &night(day, severity),
                        &stamp("x"),
                        OnDuplicate::Refuse,
                    ) {
                        Ok(_) => kept += 1,
                        Err(StoreError::Duplicate { .. }) => refused += 1,
                        Err(e) => panic!("thread {t}, night {i}: {e}"),
                    }
                }
                (me, kept, refused)
            })
        })
        .collect();
    let outcomes: Vec<(PersonId, i32, i32)> = handles
        .into_iter()
        .map(|h| h.join().expect("a writer thread"))
        .collect();
    let kept: i32 = outcomes.iter().map(|o| o.1).sum();
    let refused: i32 = outcomes.iter().map(|o| o.2).sum();
    assert_eq!((kept, refused), (PAIRS * DATES, PAIRS * DATES));
    let all = store.records(outcomes[0].0, None, None).unwrap();
    assert_eq!(all.len(), (PAIRS * DATES) as usize);
    // Every date of the 200 once, with a severity one of its two writers gave.
    for (k, stored) in all.iter().enumerate() {
        let day = first
            .checked_add(jiff::Span::new().days(k as i32))
            .expect("a date");
        match &stored.record {
            Record::Night(n) => {
                assert_eq!(n.date, day);
                assert!(n.severity == 1 || n.severity == 2, "{n:?}");
            }
            other => panic!("not a night: {other:?}"),
        }
    }
}

/// Strategies for valid diary records (within `Record::validate`'s ranges).
pub mod strategies {
    use super::*;
    use proptest::prelude::*;

    fn day() -> impl Strategy<Value = Date> {
        (2000i16..2030, 1i8..=12, 1i8..=28).prop_map(|(y, m, d)| date(y, m, d))
    }

    fn time() -> impl Strategy<Value = ClockTime> {
        (0i32..24 * 60).prop_map(ClockTime::from_minutes_wrapping)
    }

    /// Printable text, text that looks like a number (it must stay text: "007", "2.50"),
    /// and notes with line breaks.
    fn text(max: usize) -> impl Strategy<Value = String> {
        prop_oneof![
            proptest::string::string_regex(&format!("\\PC{{1,{max}}}")).expect("a regex"),
            "0[0-9]{1,4}|[0-9]{1,3}\\.[0-9]{1,2}0|-?[0-9]{1,6}",
        ]
    }

    fn note() -> impl Strategy<Value = String> {
        prop_oneof![
            text(60),
            proptest::string::string_regex("(\\PC|\n){1,60}").expect("a regex"),
        ]
    }

    fn night() -> impl Strategy<Value = Record> {
        (
            day(),
            0u8..=10,
            proptest::option::of(time()),
            proptest::option::of(0u8..=10),
            proptest::option::of(0.0f64..=24.0),
            proptest::option::of(0u32..=24 * 60),
            proptest::option::of(0u32..=100),
            proptest::option::of(note()),
        )
            .prop_map(
                |(date, severity, symptoms_began, sleep_quality, hours, minutes, wakes, note)| {
                    Record::Night(Night {
                        date,
                        severity,
                        symptoms_began,
                        sleep_quality,
                        hours_slept: hours,
                        minutes_to_sleep: minutes,
                        awakenings: wakes,
                        note,
                    })
                },
            )
    }

    fn irls(def: &IrlsDefinition) -> impl Strategy<Value = Record> {
        let def = def.clone();
        (
            day(),
            proptest::collection::vec(def.item_min..=def.item_max, def.items),
            proptest::option::of(proptest::collection::vec(
                0u8..=10,
                quietlegs_core::diary::RLS6_ITEMS,
            )),
        )
            .prop_map(move |(date, items, rls6)| {
                let values: Vec<i64> = items.iter().map(|&v| i64::from(v)).collect();
                let score = IrlsScore::score(&def, &values).expect("items in range");
                Record::Irls(IrlsEntry {
                    date,
                    items,
                    total: score.total,
                    band: score.band,
                    rls6,
                })
            })
    }

    fn dose() -> impl Strategy<Value = Record> {
        (
            day(),
            time(),
            text(40),
            proptest::option::of(text(20)),
            0.001f64..10_000.0,
        )
            .prop_map(|(date, time, product, form, elemental_mg)| {
                Record::Dose(Dose {
                    date,
                    time,
                    product,
                    form,
                    elemental_mg,
                })
            })
    }

    fn food() -> impl Strategy<Value = Record> {
        (
            day(),
            "[0-9]{5}|fdc-[0-9]{1,7}",
            text(60),
            text(20),
            0.001f64..10_000.0,
            proptest::option::of(0.0f64..5_000.0),
        )
            .prop_map(|(date, food_id, food_name, amount, grams, magnesium_mg)| {
                Record::Food(FoodLog {
                    date,
                    food_id,
                    food_name,
                    amount,
                    grams,
                    magnesium_mg,
                })
            })
    }

    fn side_effects() -> impl Strategy<Value = Record> {
        (day(), 0u8..=3, 0u8..=3, 0u8..=3).prop_map(|(date, diarrhea, nausea, cramps)| {
            Record::SideEffects(SideEffects {
                date,
                diarrhea,
                nausea,
                cramps,
            })
        })
    }

    fn factor() -> impl Strategy<Value = Record> {
        let kind = prop_oneof![
            proptest::sample::select(FactorKind::BUILT_IN.map(|(_, k)| k).to_vec()),
            "[a-z0-9-]{1,40}".prop_map(FactorKind::Custom),
        ];
        (
            day(),
            kind,
            any::<prop::sample::Index>(),
            proptest::option::of(0.01f64..1_000.0),
            proptest::option::of(time()),
        )
            .prop_map(|(date, kind, unit, amount, time)| {
                // An amount always has one of its kind's units; no amount, no unit.
                let unit = amount.map(|_| unit.get(kind.units()).to_string());
                Record::Factor(Factor {
                    date,
                    kind,
                    amount,
                    unit,
                    time,
                })
            })
    }

    /// Any valid record.
    pub fn record(def: &IrlsDefinition) -> impl Strategy<Value = Record> {
        prop_oneof![night(), irls(def), dose(), food(), side_effects(), factor()]
    }

    /// A person's diary: up to 24 valid records, at most one night, IRLS and side-effects
    /// entry per date.
    pub fn diary(def: &IrlsDefinition) -> impl Strategy<Value = Vec<Record>> {
        proptest::collection::vec(record(def), 0..24).prop_map(|records| {
            let mut seen = std::collections::HashSet::new();
            records
                .into_iter()
                .filter(|r| !r.one_per_date() || seen.insert((r.kind(), r.date())))
                .collect()
        })
    }
}
