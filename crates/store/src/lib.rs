//! quietlegs storage: the backend-neutral [`Store`] trait and its SQLite implementation.
//!
//! Every write is one transaction; the SQLite file runs in WAL mode with foreign keys on, and
//! its schema is versioned by numbered migrations (`migrations/sqlite/NNNN_*.sql`, tracked in
//! `PRAGMA user_version`).

mod sqlite;

pub use sqlite::SqliteStore;

/// The SQLite migrations in order (for migration tests of older schema versions).
pub fn sqlite_migrations() -> &'static [&'static str] {
    sqlite::MIGRATIONS
}

use jiff::civil::Date;
use quietlegs_core::diary::{Record, Stamp, StoredRecord};
use quietlegs_core::food::Food;
use serde::Serialize;
use std::path::PathBuf;

/// A storage failure.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("database {path}: {message}")]
    Open { path: String, message: String },
    #[error("the database has schema version {found}, newer than this quietlegs ({supported}); upgrade quietlegs")]
    TooNew { found: i64, supported: i64 },
    #[error("{0}")]
    Source(Box<dyn std::error::Error + Send + Sync>),
    #[error("there is already a {kind} entry for {date} (id {id}); use --replace to overwrite it, or edit it")]
    Duplicate { kind: String, date: String, id: i64 },
    #[error("'{0}' is not a kind of diary entry")]
    UnknownKind(String),
    #[error("no {kind} entry with id {id}")]
    NotFound { kind: String, id: i64 },
    #[error("the diary is not empty ({0} entries); import only into an empty diary")]
    NotEmpty(usize),
    #[error("stored {kind} {id} is unreadable: {message}")]
    Corrupt {
        kind: String,
        id: i64,
        message: String,
    },
}

/// A person whose diary this is; every diary read and write is scoped to one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PersonId(pub i64);

/// What to do when a one-per-date record (night, IRLS, side effects) already exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnDuplicate {
    Refuse,
    /// Overwrite its content, keeping its id and creation time.
    Replace,
}

/// An imported food release.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FoodRelease {
    pub release: String,
    /// sr-ascii | fdc-sr-legacy | fdc-foundation | fdc-survey | fdc-branded | fdc-mixed
    pub kind: String,
    pub imported_at: String,
    pub foods: u64,
}

/// A stream of foods to import; an `Err` aborts the import (and rolls it back).
pub type FoodStream<'a> =
    dyn Iterator<Item = Result<Food, Box<dyn std::error::Error + Send + Sync>>> + 'a;

/// Everything quietlegs keeps. One implementation per backend.
pub trait Store {
    /// Replaces every food of `release` with `foods`, in one transaction: a failure leaves the
    /// previous import of that release in place. Returns the number of foods written.
    fn replace_food_release(
        &mut self,
        release: &FoodRelease,
        foods: &mut FoodStream<'_>,
    ) -> Result<u64, StoreError>;

    /// Every imported food with its portions.
    fn imported_foods(&self) -> Result<Vec<Food>, StoreError>;

    /// The imported releases.
    fn food_releases(&self) -> Result<Vec<FoodRelease>, StoreError>;

    /// The person with this name, created (at `created_at`) if new.
    fn person(&mut self, name: &str, created_at: &str) -> Result<PersonId, StoreError>;

    /// Adds a diary record (already validated); returns its id. A second night, IRLS or side
    /// effects entry for the same date is refused unless `on_duplicate` is `Replace`.
    fn add_record(
        &mut self,
        person: PersonId,
        record: &Record,
        stamp: &Stamp,
        on_duplicate: OnDuplicate,
    ) -> Result<i64, StoreError>;

    /// Replaces the content of record `id` of the record's kind (keeping its creation time).
    fn update_record(
        &mut self,
        person: PersonId,
        id: i64,
        record: &Record,
        updated_at: &str,
        tz: &str,
    ) -> Result<(), StoreError>;

    /// Deletes record `id` of `kind`.
    fn delete_record(&mut self, person: PersonId, kind: &str, id: i64) -> Result<(), StoreError>;

    /// One record.
    fn record(
        &self,
        person: PersonId,
        kind: &str,
        id: i64,
    ) -> Result<Option<StoredRecord>, StoreError>;

    /// The person's records with dates in `from..=to` (either end open), in export order:
    /// by kind (night, irls, dose, food, side-effects, factor), then date, then id.
    fn records(
        &self,
        person: PersonId,
        from: Option<Date>,
        to: Option<Date>,
    ) -> Result<Vec<StoredRecord>, StoreError>;

    /// Restores exported records (ids and stamps kept) into the person's empty diary, in one
    /// transaction.
    fn import_records(
        &mut self,
        person: PersonId,
        records: &[StoredRecord],
    ) -> Result<usize, StoreError>;
}

/// Where the database lives: `--db`, else `QUIETLEGS_DB`, else the platform data directory.
pub fn database_path(explicit: Option<PathBuf>) -> Result<PathBuf, StoreError> {
    if let Some(p) = explicit {
        return Ok(p);
    }
    if let Some(p) = std::env::var_os("QUIETLEGS_DB").filter(|p| !p.is_empty()) {
        return Ok(PathBuf::from(p));
    }
    let dirs =
        directories::ProjectDirs::from("org", "quietlegs", "quietlegs").ok_or_else(|| {
            StoreError::Open {
                path: "(platform data directory)".into(),
                message: "no home directory found; pass --db PATH or set QUIETLEGS_DB".into(),
            }
        })?;
    Ok(dirs.data_dir().join("quietlegs.sqlite3"))
}
