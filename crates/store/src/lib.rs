//! quietlegs storage: the backend-neutral [`Store`] trait and its SQLite implementation.
//!
//! Every write is one transaction; the SQLite file runs in WAL mode with foreign keys on, and
//! its schema is versioned by numbered migrations (`migrations/sqlite/NNNN_*.sql`, tracked in
//! `PRAGMA user_version`).

mod sqlite;

pub use sqlite::{SqliteStore, APPLICATION_ID};

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
    Sqlite(rusqlite::Error),
    /// Another process holds the write lock for longer than the busy timeout.
    #[error("the database is busy (another quietlegs is writing to it); try again")]
    Busy,
    /// The database file or its folder cannot be written.
    #[error("the database is read-only here: {0}")]
    ReadOnly(String),
    /// The disk is full: nothing was written.
    #[error("the disk is full: nothing was written ({0})")]
    DiskFull(String),
    /// The write would break a uniqueness rule (a duplicate record): nothing was written.
    #[error("a duplicate entry: {0}; nothing was written")]
    Conflict(String),
    /// An existing file that is not a quietlegs database: refused, and left unchanged.
    #[error("{path} is not a quietlegs database (it belongs to another program or is not SQLite); it was left unchanged: choose another file with --db")]
    NotQuietlegs { path: String },
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

impl From<rusqlite::Error> for StoreError {
    /// Environment failures (busy, read-only, disk full) get their own kinds, so that the
    /// person is told what to do rather than "internal error".
    fn from(e: rusqlite::Error) -> Self {
        use rusqlite::ErrorCode;
        match e.sqlite_error_code() {
            Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => Self::Busy,
            Some(ErrorCode::ReadOnly) => Self::ReadOnly(e.to_string()),
            Some(ErrorCode::DiskFull) => Self::DiskFull(e.to_string()),
            Some(ErrorCode::ConstraintViolation) if e.to_string().contains("UNIQUE") => {
                Self::Conflict(e.to_string())
            }
            Some(ErrorCode::NotADatabase) => Self::NotQuietlegs {
                path: "the file".to_string(),
            },
            _ => Self::Sqlite(e),
        }
    }
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

    /// Removes an imported release and its foods and portions, in one transaction; returns the
    /// number of foods removed (`NotFound` when there is no such release). Diary entries keep the
    /// grams and magnesium they were logged with.
    fn remove_food_release(&mut self, release: &str) -> Result<u64, StoreError>;

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

/// A stored trial: its pre-registered plan (JSON and hash), events and guesses. The seed is not
/// here: it is read only through [`TrialStore::unseal_trial`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StoredTrial {
    pub id: i64,
    pub name: String,
    pub plan_json: String,
    pub plan_hash: String,
    pub created_at: String,
    pub events: Vec<TrialEvent>,
    pub guesses: Vec<TrialGuess>,
}

/// An unblinding, logged with when and why.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TrialEvent {
    pub at: String,
    /// unblinded | early-unblinding
    pub kind: String,
    pub detail: String,
}

/// The participant's guess of the arm of a period (blinding integrity).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TrialGuess {
    pub period: usize,
    pub guess: String,
    pub at: String,
}

/// Trials, scoped to a person like the diary.
pub trait TrialStore {
    /// Stores a new trial's plan and sealed seed; a name already used is refused.
    fn create_trial(
        &mut self,
        person: PersonId,
        name: &str,
        plan_json: &str,
        plan_hash: &str,
        seed: u64,
        stamp: &Stamp,
    ) -> Result<i64, StoreError>;
    fn trials(&self, person: PersonId) -> Result<Vec<StoredTrial>, StoreError>;
    fn trial(&self, person: PersonId, id: i64) -> Result<StoredTrial, StoreError>;
    /// The sealed seed (the allocation): callers must only use it for open trials, after
    /// unblinding, or for an early unblinding that they log.
    fn unseal_trial(&self, person: PersonId, id: i64) -> Result<u64, StoreError>;
    fn add_trial_event(
        &mut self,
        person: PersonId,
        id: i64,
        event: &TrialEvent,
    ) -> Result<(), StoreError>;
    fn record_guess(
        &mut self,
        person: PersonId,
        id: i64,
        guess: &TrialGuess,
    ) -> Result<(), StoreError>;
    fn delete_trial(&mut self, person: PersonId, id: i64) -> Result<(), StoreError>;
}

/// Where the database lives: `--db`, else `QUIETLEGS_DB`, else the platform data directory.
pub fn database_path(explicit: Option<PathBuf>) -> Result<PathBuf, StoreError> {
    if let Some(p) = explicit {
        return Ok(p);
    }
    if let Some(p) = std::env::var_os("QUIETLEGS_DB") {
        if p.is_empty() {
            return Err(StoreError::Open {
                path: "QUIETLEGS_DB".into(),
                message: "is set but empty: give a file path, or unset it to use the default \
                          database"
                    .into(),
            });
        }
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
