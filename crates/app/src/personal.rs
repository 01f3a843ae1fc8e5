//! The personal database: one person's diary, trials and imported foods, in a SQLite file (the
//! default) or on a PostgreSQL server (`--database-url`), where many people may keep theirs.
//! Every command opens it through here, writers and readers alike, so the person is found in
//! one place; the backend is chosen by the [`Database`] alone.

use std::path::Path;

use quietlegs_store::{AnyStore, Database, Identity, PersonId, Store, StoreError};
use serde::Serialize;

use crate::{AppError, ErrorKind, Now};

/// The single person of a personal database.
pub const DEFAULT_PERSON: &str = "me";

fn opening(db: &Database) -> impl FnOnce(StoreError) -> AppError + '_ {
    move |e| AppError::from(e).context(&format!("opening the database {}", db.display()))
}

/// Opens (creating if needed) the database for a command that writes, with its person.
pub fn open_writer(db: impl Into<Database>, now: &Now) -> Result<(AnyStore, PersonId), AppError> {
    let db = db.into();
    let store = AnyStore::open(&db).map_err(opening(&db))?;
    let person = store
        .person(&Identity::local(DEFAULT_PERSON), &now.instant)
        .map_err(AppError::store("finding the diary's person"))?;
    Ok((store, person))
}

/// A database opened for reading only, if there is one, and its person if there is one yet.
pub struct Reader {
    /// `None` when there is no database: nothing has been stored.
    pub store: Option<AnyStore>,
    /// `None` while nothing has been logged (no database, or no person in it).
    pub person: Option<PersonId>,
}

impl Reader {
    /// The person's diary, when there is one.
    pub fn diary(&self) -> Option<(&AnyStore, PersonId)> {
        self.store.as_ref().zip(self.person)
    }

    /// Takes the store and the person out, when both exist.
    pub fn into_diary(self) -> Option<(AnyStore, PersonId)> {
        self.store.zip(self.person)
    }
}

/// Opens the database for a command that only reads: read-only (no write lock, never waits for
/// a writer), and never created: without a database a read-only command gives the answer of an
/// empty diary. (A PostgreSQL database is always there; its schema is created on first use.)
pub fn open_reader(db: impl Into<Database>) -> Result<Reader, AppError> {
    let db = db.into();
    if !db.exists() {
        return Ok(Reader {
            store: None,
            person: None,
        });
    }
    let store = AnyStore::open_read_only(&db).map_err(opening(&db))?;
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

/// Copies the database to `dest`, a new SQLite file that `--db dest` opens, refusing to
/// overwrite a file: a SQLite database whole (a consistent snapshot even while another process
/// writes); from PostgreSQL, the person's own data only (one snapshot; never another person's).
/// A destination that cannot be written is bad input.
pub fn backup(db: impl Into<Database>, dest: &Path) -> Result<Backup, AppError> {
    let db = db.into();
    if dest.exists() {
        return Err(AppError::field(
            "path",
            format!("{} exists; choose a new file name", dest.display()),
        ));
    }
    if !db.exists() {
        return Err(AppError::refused(format!(
            "there is no database at {} to back up",
            db.display()
        )));
    }
    let store = AnyStore::open_read_only(&db).map_err(opening(&db))?;
    backup_store(&store, &Identity::local(DEFAULT_PERSON), dest)?;
    Ok(Backup {
        database: db.display().to_string(),
        path: dest.display().to_string(),
    })
}

/// Copies an open database to `dest` (a new file): as [`backup`], integrity-checked before it
/// is put in place (also the web app's download of the diary). `identity`: whose data a
/// shared (PostgreSQL) database copies; a SQLite file is copied whole, and refused when it
/// holds several people.
pub fn backup_store(store: &AnyStore, identity: &Identity, dest: &Path) -> Result<(), AppError> {
    store.backup_to(identity, dest).map_err(|e| {
        let doing = format!("backing up to {}", dest.display());
        match e {
            // The destination could not be created or written: the person chose the path.
            StoreError::Open { .. } => {
                AppError::new(ErrorKind::BadInput, None, format!("{doing}: {e}"))
            }
            other => AppError::from(other).context(&doing),
        }
    })
}
