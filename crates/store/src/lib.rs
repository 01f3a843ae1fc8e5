//! quietlegs storage: the backend-neutral [`Store`] trait and its SQLite implementation.
//!
//! Every write is one transaction; the SQLite file runs in WAL mode with foreign keys on, and
//! its schema is versioned by numbered migrations (`migrations/sqlite/NNNN_*.sql`, tracked in
//! `PRAGMA user_version`).

mod sqlite;

pub use sqlite::SqliteStore;

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
