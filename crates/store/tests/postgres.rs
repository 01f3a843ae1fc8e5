//! What only PostgreSQL has to show beyond the conformance suite: migrations from every
//! version, many writers at once, a writer killed in the middle of a transaction, and the
//! personal backup (one person's data into a SQLite file). Each test in a fresh schema of the
//! database `QUIETLEGS_TEST_PG_URL` names; skipped with a notice without it, failed under
//! `CI=true`.

// Integration tests: a panic is a failed test (clippy.toml allows unwrap only inside #[test]).
#![allow(clippy::expect_used, clippy::unwrap_used)]

use jiff::civil::{date, Date};
use quietlegs_core::diary::{Night, Record, Stamp, StoredRecord};
use quietlegs_store::conformance::postgres_fixture::FreshSchema;
use quietlegs_store::conformance::sample_records;
use quietlegs_store::{
    AnyStore, Identity, NewRecord, OnDuplicate, PgOptions, PgStore, SqliteStore, Store, StoreError,
    TrialEvent, TrialGuess, TrialStore,
};
use std::sync::Arc;

fn stamp(at: &str) -> Stamp {
    Stamp {
        created_at: at.into(),
        updated_at: at.into(),
        tz: "Europe/Berlin".into(),
    }
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

fn day(k: i32) -> Date {
    date(2000, 1, 1)
        .checked_add(jiff::Span::new().days(k))
        .unwrap()
}

/// A schema made at each earlier version, with a night written at the first version that has
/// the diary (2), is brought to the latest version by opening it, keeping the night; a schema
/// newer than this build is refused and left unchanged.
#[test]
fn migrates_from_every_earlier_version_and_refuses_a_newer_one() {
    let latest = PgStore::latest_schema_version();
    assert_eq!(
        latest as usize,
        quietlegs_store::postgres_migrations().len()
    );
    for start in 1..latest {
        let Some(schema) = FreshSchema::new() else {
            return;
        };
        let old = schema.store_with(&PgOptions {
            schema_version: Some(start),
            ..PgOptions::default()
        });
        assert_eq!(old.schema_version().unwrap(), start);
        let written = (start >= 2).then(|| {
            let me = old
                .person(&Identity::local("me"), "2026-01-01T00:00:00Z")
                .unwrap();
            old.add_record(me, &night(day(3), 4), &stamp("s"), OnDuplicate::Refuse)
                .unwrap()
        });
        drop(old);
        let new = schema.store();
        assert_eq!(new.schema_version().unwrap(), latest, "from {start}");
        if let Some(id) = written {
            let me = new.find_person(&Identity::local("me")).unwrap().unwrap();
            let back = new.records(me, None, None).unwrap();
            assert_eq!(back.len(), 1);
            assert_eq!((back[0].id, &back[0].record), (id, &night(day(3), 4)));
        }
        // Every table of the latest schema works (a trial needs 0003, a profile 0004).
        let me = new.person(&Identity::local("me"), "x").unwrap();
        new.create_trial(me, "t", "{}", "h", 1, &stamp("s"))
            .unwrap();
    }
    let Some(schema) = FreshSchema::new() else {
        return;
    };
    drop(schema.store());
    let mut admin = postgres::Client::connect(&schema.url, postgres::NoTls).unwrap();
    admin
        .execute(
            "INSERT INTO quietlegs_schema (version) VALUES ($1)",
            &[&(latest as i32 + 1)],
        )
        .unwrap();
    match PgStore::connect(&schema.url) {
        Err(StoreError::TooNew { found, supported }) => {
            assert_eq!((found, supported), (latest + 1, latest));
        }
        Err(other) => panic!("expected TooNew, got {other}"),
        Ok(_) => panic!("a newer schema was opened"),
    }
}

/// 32 writers at once through one store (a pool of 8 connections, so most wait for one):
/// each its own person, writing 40 nights one by one and 40 more in batches of 8
/// (`add_records`). Nothing is lost: every person has exactly 80 nights, on the dates written,
/// and the database holds 32 × 80 = 2,560.
#[test]
fn thirty_two_concurrent_writers_lose_nothing() {
    const WRITERS: usize = 32;
    const SINGLE: i32 = 40;
    const BATCHED: i32 = 40;
    let Some(schema) = FreshSchema::new() else {
        return;
    };
    let store = Arc::new(schema.store_with(&PgOptions {
        pool_size: 8,
        ..PgOptions::default()
    }));
    let handles: Vec<_> = (0..WRITERS)
        .map(|w| {
            let store = Arc::clone(&store);
            std::thread::spawn(move || {
                let me = store
                    .person(&Identity::local(format!("writer-{w}")), "x")
                    .unwrap();
                for k in 0..SINGLE {
                    store
                        .add_record(
                            me,
                            &night(day(k), (k % 11) as u8),
                            &stamp("s"),
                            OnDuplicate::Refuse,
                        )
                        .unwrap();
                }
                for chunk in (SINGLE..SINGLE + BATCHED).collect::<Vec<_>>().chunks(8) {
                    let batch: Vec<NewRecord> = chunk
                        .iter()
                        .map(|&k| NewRecord {
                            person: me,
                            record: night(day(k), (k % 11) as u8),
                            stamp: stamp("s"),
                            on_duplicate: OnDuplicate::Refuse,
                        })
                        .collect();
                    for outcome in store.add_records(&batch) {
                        outcome.unwrap();
                    }
                }
                me
            })
        })
        .collect();
    let people: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let expected: Vec<Record> = (0..SINGLE + BATCHED)
        .map(|k| night(day(k), (k % 11) as u8))
        .collect();
    for me in &people {
        let back: Vec<Record> = store
            .records(*me, None, None)
            .unwrap()
            .into_iter()
            .map(|r| r.record)
            .collect();
        assert_eq!(back, expected);
    }
    let mut admin = postgres::Client::connect(&schema.url, postgres::NoTls).unwrap();
    let total: i64 = admin
        .query_one("SELECT count(*) FROM night", &[])
        .unwrap()
        .get(0);
    assert_eq!(total, (WRITERS as i64) * i64::from(SINGLE + BATCHED));
}

/// The variable that turns this test binary into the writer that gets killed.
const CHILD: &str = "QUIETLEGS_TEST_KILLED_WRITER_URL";
/// How many records the killed writer imports in its one transaction: enough that the
/// transaction is still open when the parent sees it has written rows.
const CHILD_RECORDS: i32 = 200_000;

/// A writer process killed (SIGKILL) in the middle of its transaction leaves nothing of it:
/// the child imports 200,000 nights in one transaction; once PostgreSQL shows that
/// transaction holding written rows, the parent kills the child, waits until the server has
/// dropped its connection, and finds the diary empty; the next import then succeeds whole.
#[test]
fn a_writer_killed_mid_transaction_leaves_no_partial_entry() {
    if let Ok(url) = std::env::var(CHILD) {
        // The child: one long import, never expected to finish.
        let store = PgStore::connect(&url).unwrap();
        let me = store.find_person(&Identity::local("me")).unwrap().unwrap();
        let records: Vec<StoredRecord> = (0..CHILD_RECORDS)
            .map(|k| StoredRecord {
                id: i64::from(k) + 1,
                stamp: stamp("s"),
                record: night(day(k), 5),
            })
            .collect();
        store.import_records(me, &records).unwrap();
        return;
    }
    let Some(schema) = FreshSchema::new() else {
        return;
    };
    let store = schema.store();
    let me = store.person(&Identity::local("me"), "x").unwrap();
    let app = format!("ql_killed_{}", schema.name);
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "a_writer_killed_mid_transaction_leaves_no_partial_entry",
            "--test-threads=1",
        ])
        .env(CHILD, format!("{}&application_name={app}", schema.url))
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut admin = postgres::Client::connect(&schema.url, postgres::NoTls).unwrap();
    let writing = |admin: &mut postgres::Client| -> i64 {
        admin
            .query_one(
                "SELECT count(*) FROM pg_stat_activity \
                 WHERE application_name = $1 AND backend_xid IS NOT NULL",
                &[&app],
            )
            .unwrap()
            .get(0)
    };
    let started = std::time::Instant::now();
    while writing(&mut admin) == 0 {
        assert!(
            child.try_wait().unwrap().is_none(),
            "the writer ended before it was killed"
        );
        assert!(
            started.elapsed() < std::time::Duration::from_secs(120),
            "the writer never started writing"
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    child.kill().unwrap();
    let status = child.wait().unwrap();
    assert!(!status.success(), "killed, not finished: {status:?}");
    // The server notices the closed connection and rolls the transaction back.
    let gone = std::time::Instant::now();
    loop {
        let open: i64 = admin
            .query_one(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1",
                &[&app],
            )
            .unwrap()
            .get(0);
        if open == 0 {
            break;
        }
        assert!(gone.elapsed() < std::time::Duration::from_secs(60));
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    assert_eq!(store.records(me, None, None).unwrap(), []);
    let rows: i64 = admin
        .query_one("SELECT count(*) FROM night", &[])
        .unwrap()
        .get(0);
    assert_eq!(rows, 0);
    let whole: Vec<StoredRecord> = (0..3)
        .map(|k| StoredRecord {
            id: i64::from(k) + 1,
            stamp: stamp("s"),
            record: night(day(k), 2),
        })
        .collect();
    assert_eq!(store.import_records(me, &whole).unwrap(), 3);
    assert_eq!(store.records(me, None, None).unwrap(), whole);
}

/// `backup` from PostgreSQL: Ann's data in a new SQLite file that opens as her personal
/// database, equal field for field (person, profile, log-in, diary with ids and stamps, trials
/// with ids, seeds, events and guesses, imported foods), and nothing of Bob's.
#[test]
fn a_backup_holds_one_persons_data_and_no_one_elses() {
    let Some(schema) = FreshSchema::new() else {
        return;
    };
    let pg = schema.store();
    let ann_id = Identity::local("ann");
    let ann = pg
        .person(&ann_id, "2026-10-01T08:00:00.123456789Z")
        .unwrap();
    let bob = pg
        .person(&Identity::local("bob"), "2026-10-02T08:00:00Z")
        .unwrap();
    // Bob first, so that Ann's ids are not 1, 2, 3 (kept ids are tested, not a fresh count).
    let bobs_secret = "Bob's private note 7f3a";
    let mut bobs_night = night(day(1), 9);
    if let Record::Night(n) = &mut bobs_night {
        n.note = Some(bobs_secret.into());
    }
    pg.add_record(bob, &bobs_night, &stamp("b"), OnDuplicate::Refuse)
        .unwrap();
    pg.create_trial(bob, "bobs-trial", "{\"bob\":1}", "hb", 99, &stamp("b"))
        .unwrap();
    for (i, r) in sample_records().iter().enumerate() {
        pg.add_record(
            ann,
            r,
            &stamp(&format!("2026-11-21T07:0{i}:00Z")),
            OnDuplicate::Refuse,
        )
        .unwrap();
    }
    let profile = quietlegs_store::StoredProfile {
        document: "age = 52\n".into(),
        updated_at: "2026-11-01T00:00:00Z".into(),
    };
    pg.set_profile(ann, &profile).unwrap();
    let phc = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2g";
    pg.set_login_secret(ann, phc, "2026-11-02T00:00:00Z")
        .unwrap();
    let trial = pg
        .create_trial(
            ann,
            "magnesium",
            "{\"trial\":1}",
            "ha",
            u64::MAX,
            &stamp("t"),
        )
        .unwrap();
    pg.add_trial_event(
        ann,
        trial,
        &TrialEvent {
            at: "2026-12-01T00:00:00Z".into(),
            kind: "early-unblinding".into(),
            detail: "stopped".into(),
        },
    )
    .unwrap();
    pg.record_guess(
        ann,
        trial,
        &TrialGuess {
            period: 2,
            guess: "active".into(),
            at: "2026-11-20T00:00:00Z".into(),
        },
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ann.sqlite3");
    let any = AnyStore::from(pg);
    any.backup_to(&ann_id, &path).unwrap();
    let AnyStore::Postgres(pg) = any else {
        unreachable!()
    };
    let copy = SqliteStore::open_read_only(&path).unwrap();
    let me = copy.find_person(&ann_id).unwrap().unwrap();
    assert_eq!(
        copy.person_created_at(me).unwrap(),
        "2026-10-01T08:00:00.123456789Z"
    );
    assert_eq!(copy.find_person(&Identity::local("bob")).unwrap(), None);
    assert_eq!(copy.profile(me).unwrap(), Some(profile));
    assert_eq!(copy.login_secret(me).unwrap().as_deref(), Some(phc));
    assert_eq!(
        copy.records(me, None, None).unwrap(),
        pg.records(ann, None, None).unwrap()
    );
    assert_eq!(copy.trials(me).unwrap(), pg.trials(ann).unwrap());
    assert_eq!(copy.unseal_trial(me, trial).unwrap(), u64::MAX);
    assert_eq!(copy.integrity_check().unwrap(), "ok");
    drop(copy);
    let bytes = std::fs::read(&path).unwrap();
    let text = String::from_utf8_lossy(&bytes);
    assert!(!text.contains(bobs_secret));
    assert!(!text.contains("bobs-trial"));
    // Someone with no data here gets no file.
    let nobody = dir.path().join("nobody.sqlite3");
    let any = AnyStore::from(pg);
    assert!(any.backup_to(&Identity::local("carol"), &nobody).is_err());
    assert!(!nobody.exists());
}

/// The store answers from a tokio runtime's blocking threads (the web app's `spawn_blocking`
/// and its writer thread): the synchronous client's own runtime does not clash with the
/// server's.
#[test]
fn works_from_a_tokio_runtimes_blocking_threads() {
    let Some(schema) = FreshSchema::new() else {
        return;
    };
    let store = Arc::new(schema.store());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    let stored = runtime.block_on(async {
        let tasks: Vec<_> = (0..4)
            .map(|t| {
                let store = Arc::clone(&store);
                tokio::task::spawn_blocking(move || {
                    let me = store.person(&Identity::local("me"), "x").unwrap();
                    store
                        .add_record(me, &night(day(t), 1), &stamp("s"), OnDuplicate::Refuse)
                        .unwrap();
                    me
                })
            })
            .collect();
        let mut people = Vec::new();
        for t in tasks {
            people.push(t.await.unwrap());
        }
        let store = Arc::clone(&store);
        tokio::task::spawn_blocking(move || store.records(people[0], None, None).unwrap().len())
            .await
            .unwrap()
    });
    assert_eq!(stored, 4);
}

/// The audit log is append-only in the database itself: an UPDATE, a DELETE or a TRUNCATE by
/// anyone with a connection (not only through quietlegs) is refused, and the line is kept.
#[test]
fn the_audit_log_refuses_update_delete_and_truncate() {
    use quietlegs_store::clinic::{AuditEntry, NewAccount, Role};
    use quietlegs_store::ClinicStore;
    let Some(schema) = FreshSchema::new() else {
        return;
    };
    let store = schema.store();
    let zoe = store
        .create_account(&NewAccount {
            username: "zoe",
            role: Role::Participant,
            phc: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$x",
            at: "2026-11-01T09:00:00Z",
        })
        .unwrap();
    let line = AuditEntry {
        at: "2026-11-02T10:00:00Z".into(),
        actor: "amy".into(),
        actor_role: quietlegs_store::clinic::Actor::Clinician,
        action: "read the report".into(),
        detail: "2026-10-01 to 2026-11-01".into(),
    };
    store.append_audit(zoe.person, &line).unwrap();
    let mut raw = postgres::Client::connect(&schema.url, postgres::NoTls).unwrap();
    for sql in [
        "UPDATE audit SET actor = 'nobody'",
        "DELETE FROM audit",
        "TRUNCATE audit",
    ] {
        let e = raw.batch_execute(sql).unwrap_err();
        assert!(
            e.to_string().contains("append-only") || format!("{e:?}").contains("append-only"),
            "{sql}: {e:?}"
        );
    }
    assert_eq!(store.audit_of(zoe.person).unwrap(), [line]);
    // Deleting the account is the one way its lines go.
    store.delete_account(zoe.id).unwrap();
    let left: i64 = raw
        .query_one("SELECT count(*) FROM audit", &[])
        .unwrap()
        .get(0);
    assert_eq!(left, 0);
}
