//! The personal database: one SQLite file holding one person's diary, trials and imported foods
//! (the CLI's, and a desktop app's). Every command opens it through here, writers and readers
//! alike, so the person is found in one place.

use std::path::Path;

use quietlegs_store::{Identity, PersonId, SqliteStore, Store, StoreError};
use serde::Serialize;

use crate::{AppError, ErrorKind, Now};

/// The single person of a personal database.
pub const DEFAULT_PERSON: &str = "me";

fn opening(path: &Path) -> impl FnOnce(StoreError) -> AppError + '_ {
    move |e| AppError::from(e).context(&format!("opening the database {}", path.display()))
}

/// Opens (creating if needed) the database for a command that writes, with its person.
pub fn open_writer(path: &Path, now: &Now) -> Result<(SqliteStore, PersonId), AppError> {
    let store = SqliteStore::open(path).map_err(opening(path))?;
    let person = store
        .person(&Identity::local(DEFAULT_PERSON), &now.instant)
        .map_err(AppError::store("finding the diary's person"))?;
    Ok((store, person))
}

/// A database opened for reading only, if there is one, and its person if there is one yet.
pub struct Reader {
    /// `None` when there is no database: nothing has been stored.
    pub store: Option<SqliteStore>,
    /// `None` while nothing has been logged (no database, or no person in it).
    pub person: Option<PersonId>,
}

impl Reader {
    /// The person's diary, when there is one.
    pub fn diary(&self) -> Option<(&SqliteStore, PersonId)> {
        self.store.as_ref().zip(self.person)
    }

    /// Takes the store and the person out, when both exist.
    pub fn into_diary(self) -> Option<(SqliteStore, PersonId)> {
        self.store.zip(self.person)
    }
}

/// Opens the database for a command that only reads: read-only (no write lock, never waits for
/// a writer), and never created: without a database a read-only command gives the answer of an
/// empty diary.
pub fn open_reader(path: &Path) -> Result<Reader, AppError> {
    if !path.exists() {
        return Ok(Reader {
            store: None,
            person: None,
        });
    }
    let store = SqliteStore::open_read_only(path).map_err(opening(path))?;
    let person = store
        .find_person(&Identity::local(DEFAULT_PERSON))
        .map_err(AppError::store("finding the diary's person"))?;
    Ok(Reader {
        store: Some(store),
        person,
    })
}

/// A finished backup (`quietlegs backup`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Backup {
    pub database: String,
    pub path: String,
}

/// Copies the database to `dest` (a consistent snapshot even while another process writes),
/// refusing to overwrite a file. A destination that cannot be written is bad input.
pub fn backup(path: &Path, dest: &Path) -> Result<Backup, AppError> {
    if dest.exists() {
        return Err(AppError::field(
            "path",
            format!("{} exists; choose a new file name", dest.display()),
        ));
    }
    if !path.exists() {
        return Err(AppError::refused(format!(
            "there is no database at {} to back up",
            path.display()
        )));
    }
    let store = SqliteStore::open_read_only(path).map_err(opening(path))?;
    store.backup_to(dest).map_err(|e| {
        let doing = format!("backing up to {}", dest.display());
        match e {
            // The destination could not be created or written: the person chose the path.
            StoreError::Open { .. } => {
                AppError::new(ErrorKind::BadInput, None, format!("{doing}: {e}"))
            }
            other => AppError::from(other).context(&doing),
        }
    })?;
    Ok(Backup {
        database: path.display().to_string(),
        path: dest.display().to_string(),
    })
}

/// Copies an open database to `dest` (a new file): SQLite's online backup, a consistent
/// snapshot even while others write, integrity-checked before it is put in place (the web app's
/// download of the diary).
pub fn backup_store(store: &SqliteStore, dest: &Path) -> Result<(), AppError> {
    store
        .backup_to(dest)
        .map_err(|e| AppError::from(e).context("making a copy of the database"))
}
