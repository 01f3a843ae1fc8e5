//! The conformance suite (`quietlegs_store::conformance`) against SQLite: a database in a file
//! in a temporary folder, and one in memory.

// Integration tests: a panic is a failed test (clippy.toml allows unwrap only inside #[test]).
#![allow(clippy::expect_used, clippy::unwrap_used)]

use quietlegs_store::SqliteStore;

mod file {
    use super::*;

    fn temp_file_store() -> (SqliteStore, tempfile::TempDir) {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let store = SqliteStore::open(&dir.path().join("q.sqlite3")).expect("a new database");
        (store, dir)
    }

    quietlegs_store::conformance_tests!(temp_file_store);
}

mod in_memory {
    use super::*;

    quietlegs_store::conformance_tests!(|| (
        SqliteStore::in_memory().expect("an in-memory database"),
        ()
    ));
}
