//! The SQLite file as the operating system sees it: another program's database is never
//! modified, new files are private to the user, readers need no write access and never wait for
//! a writer, and writers wait their turn.

// Integration tests: a panic is a failed test (clippy.toml allows unwrap only inside #[test]).
#![allow(clippy::expect_used, clippy::unwrap_used)]

use quietlegs_store::{Identity, SqliteStore, Store, StoreError, APPLICATION_ID};
use rusqlite::Connection;

fn read(path: &std::path::Path) -> Vec<u8> {
    std::fs::read(path).unwrap()
}

#[test]
fn another_programs_database_is_refused_and_left_byte_identical() {
    let dir = tempfile::tempdir().unwrap();
    // A browser-history-like database with its own tables (no application id).
    let foreign = dir.path().join("places.sqlite");
    {
        let c = Connection::open(&foreign).unwrap();
        c.execute_batch("CREATE TABLE moz_places (id INTEGER PRIMARY KEY, url TEXT); INSERT INTO moz_places (url) VALUES ('https://example.org');")
            .unwrap();
    }
    // Another program's database that set its own application id, with no tables at all.
    let other_id = dir.path().join("other.db");
    {
        let c = Connection::open(&other_id).unwrap();
        c.pragma_update(None, "application_id", 0x1234_5678)
            .unwrap();
    }
    // Not SQLite at all.
    let text = dir.path().join("notes.txt");
    std::fs::write(&text, "shopping list: spinach, almonds\n".repeat(200)).unwrap();
    for path in [&foreign, &other_id, &text] {
        let before = read(path);
        for result in [
            SqliteStore::open(path).map(|_| ()),
            SqliteStore::open_read_only(path).map(|_| ()),
        ] {
            match result {
                Err(StoreError::NotQuietlegs { .. }) => {}
                Err(other) => panic!("{}: {other}", path.display()),
                Ok(()) => panic!("{} was opened", path.display()),
            }
        }
        assert_eq!(read(path), before, "{} was changed", path.display());
        for suffix in ["-wal", "-shm"] {
            let side = format!("{}{suffix}", path.display());
            assert!(
                !std::path::Path::new(&side).exists()
                    || std::fs::metadata(&side).unwrap().len() == 0,
                "{side} written"
            );
        }
    }
}

#[test]
fn a_new_database_is_marked_and_an_older_unmarked_one_is_adopted() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("q.sqlite3");
    drop(SqliteStore::open(&path).unwrap());
    let id: i32 = Connection::open(&path)
        .unwrap()
        .query_row("PRAGMA application_id", [], |r| r.get(0))
        .unwrap();
    assert_eq!(id, APPLICATION_ID);
    // A quietlegs database written before the id existed: only quietlegs tables, id 0.
    let old = dir.path().join("old.sqlite3");
    drop(SqliteStore::open(&old).unwrap());
    Connection::open(&old)
        .unwrap()
        .pragma_update(None, "application_id", 0)
        .unwrap();
    let s = SqliteStore::open(&old).unwrap();
    assert!(s
        .person(&Identity::local("me"), "2026-11-29T20:00:00Z")
        .is_ok());
    let id: i32 = Connection::open(&old)
        .unwrap()
        .query_row("PRAGMA application_id", [], |r| r.get(0))
        .unwrap();
    assert_eq!(id, APPLICATION_ID);
}

#[cfg(unix)]
#[test]
fn new_database_files_and_folders_are_private_whatever_the_umask() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    // A permissive umask, as on many desktops.
    let old = rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o022));
    let path = dir.path().join("new/sub/q.sqlite3");
    let s = SqliteStore::open(&path).unwrap();
    s.person(&Identity::local("me"), "2026-11-29T20:00:00Z")
        .unwrap();
    rustix::process::umask(old);
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&path), 0o600);
    assert_eq!(mode(&dir.path().join("new/sub")), 0o700);
    assert_eq!(mode(&dir.path().join("new")), 0o700);
    let wal = dir.path().join("new/sub/q.sqlite3-wal");
    assert!(wal.exists());
    assert_eq!(mode(&wal), 0o600);
}

#[cfg(unix)]
#[test]
fn a_read_only_database_can_be_read() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("q.sqlite3");
    {
        let s = SqliteStore::open(&path).unwrap();
        s.person(&Identity::local("me"), "2026-11-29T20:00:00Z")
            .unwrap();
    }
    let before = read(&path);
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o400)).unwrap();
    let s = SqliteStore::open_read_only(&path).unwrap();
    let me = s
        .find_person(&Identity::local("me"))
        .unwrap()
        .expect("the person");
    assert!(s.records(me, None, None).unwrap().is_empty());
    assert_eq!(
        s.find_person(&Identity::local("someone else")).unwrap(),
        None
    );
    drop(s);
    assert_eq!(read(&path), before);
}

#[test]
fn a_reader_does_not_wait_for_a_writer_holding_the_lock() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("q.sqlite3");
    {
        let s = SqliteStore::open(&path).unwrap();
        s.person(&Identity::local("me"), "2026-11-29T20:00:00Z")
            .unwrap();
    }
    let writer = Connection::open(&path).unwrap();
    writer.execute_batch("BEGIN IMMEDIATE").unwrap();
    // While another process holds the write lock, a read-only open and read succeed at once.
    let s = SqliteStore::open_read_only(&path).unwrap();
    let me = s.find_person(&Identity::local("me")).unwrap().unwrap();
    assert!(s.records(me, None, None).unwrap().is_empty());
    writer.execute_batch("ROLLBACK").unwrap();
}

#[test]
fn concurrent_writers_wait_their_turn() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("q.sqlite3");
    drop(SqliteStore::open(&path).unwrap());
    // Four threads, each with its own connection, each adding 25 people: with BEGIN IMMEDIATE
    // and the busy timeout no write fails with "database is locked".
    let handles: Vec<_> = (0..4)
        .map(|t| {
            let path = path.clone();
            std::thread::spawn(move || {
                let s = SqliteStore::open(&path).unwrap();
                for i in 0..25 {
                    s.person(
                        &Identity::local(format!("p{t}-{i}")),
                        "2026-11-29T20:00:00Z",
                    )
                    .unwrap_or_else(|e| panic!("thread {t}, write {i}: {e}"));
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    let n: i64 = Connection::open(&path)
        .unwrap()
        .query_row("SELECT count(*) FROM person", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 100);
}

#[test]
fn a_lock_held_past_the_timeout_is_reported_as_busy() {
    // The busy kind itself: a write lock held by another connection, and a write attempted
    // with a zero timeout, gives StoreError::Busy (not a generic database error).
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("q.sqlite3");
    drop(SqliteStore::open(&path).unwrap());
    let holder = Connection::open(&path).unwrap();
    holder.execute_batch("BEGIN IMMEDIATE").unwrap();
    let other = Connection::open(&path).unwrap();
    other.busy_timeout(std::time::Duration::ZERO).unwrap();
    let err = other.execute_batch("BEGIN IMMEDIATE").unwrap_err();
    assert!(matches!(StoreError::from(err), StoreError::Busy));
}

#[test]
fn a_backup_is_private_and_a_failed_one_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("q.sqlite3");
    let s = SqliteStore::open(&path).unwrap();
    s.person(&Identity::local("me"), "2026-11-29T20:00:00Z")
        .unwrap();
    // Fails: the destination's folder is a file.
    let blocker = dir.path().join("not-a-folder");
    std::fs::write(&blocker, "x").unwrap();
    assert!(s.backup_to(&blocker.join("b.sqlite3")).is_err());
    let names = |d: &std::path::Path| -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(d)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| !n.starts_with("q.sqlite3"))
            .collect();
        v.sort();
        v
    };
    assert_eq!(names(dir.path()), ["not-a-folder"]);
    // Succeeds: one complete, private file and no temporary left.
    let dest = dir.path().join("b.sqlite3");
    s.backup_to(&dest).unwrap();
    assert_eq!(names(dir.path()), ["b.sqlite3", "not-a-folder"]);
    let copy = SqliteStore::open_read_only(&dest).unwrap();
    assert!(copy.find_person(&Identity::local("me")).unwrap().is_some());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&dest).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
}
