//! quietlegs storage: the backend-neutral [`Store`] trait and its two implementations,
//! SQLite (one person's file, the default) and PostgreSQL (many people on a server), with
//! [`AnyStore`] choosing between them by [`Database`].
//!
//! Every write is one transaction. The SQLite file runs in WAL mode with foreign keys on, its
//! schema versioned by numbered migrations (`migrations/sqlite/NNNN_*.sql`, tracked in
//! `PRAGMA user_version`); PostgreSQL has its own (`migrations/postgres/NNNN_*.sql`, tracked in
//! the table `quietlegs_schema`).

mod any;
pub mod clinic;
#[cfg(feature = "conformance")]
pub mod conformance;
mod postgres;
mod postgres_clinic;
mod sqlite;
mod sqlite_clinic;

pub use any::{AnyStore, Database};
pub use clinic::ClinicStore;
pub use postgres::{redact_url, PgOptions, PgStore};
pub use sqlite::{SqliteStore, APPLICATION_ID};

/// The PostgreSQL migrations in order.
pub fn postgres_migrations() -> &'static [&'static str] {
    postgres::MIGRATIONS
}

/// The SQLite migrations in order (for migration tests of older schema versions).
pub fn sqlite_migrations() -> &'static [&'static str] {
    sqlite::MIGRATIONS
}

use jiff::civil::Date;
use quietlegs_core::diary::{Record, Stamp, StoredRecord};
use quietlegs_core::food::Food;
use serde::Serialize;
use std::path::PathBuf;

/// What kind of failure a [`StoreError`] is, for the surfaces that report it: the CLI maps each
/// kind to an exit code, a web server to an HTTP status. The mapping lives in the surface; the
/// kinds are the contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ErrorKind {
    /// The request cannot be carried out as given and retrying will not help: a file that is not
    /// a quietlegs database or is newer than this build, an unusable path, an unknown kind of
    /// entry. The person must change what they asked for. Exit code 2; HTTP 400 (malformed) or
    /// 422 (well-formed but refused).
    BadInput,
    /// The entry, trial or release named does not exist (for this person). Exit code 2; HTTP 404.
    NotFound,
    /// The person asking may not do this (a clinic role that does not allow it). Nothing was
    /// read or written. Exit code 2; HTTP 403.
    Forbidden,
    /// The request collides with what is stored: a second entry for a date, a name already
    /// used, a record id already taken, an import into a diary that is not empty. Nothing was
    /// written. Exit code 2; HTTP 409.
    Conflict,
    /// The environment is temporarily unable to serve the request: the database is locked by
    /// another writer, read-only here, or the disk is full. Nothing was written; trying again
    /// later (or after freeing space or fixing permissions) can succeed. Exit code 75
    /// (sysexits.h EX_TEMPFAIL); HTTP 503.
    Unavailable,
    /// A fault of quietlegs or of the stored data: an unexpected backend error, a stored row
    /// that no longer parses, a poisoned lock. Exit code 1; HTTP 500.
    Internal,
}

impl ErrorKind {
    /// The CLI's exit code (documented on each kind).
    pub fn exit_code(self) -> u8 {
        match self {
            Self::BadInput | Self::NotFound | Self::Forbidden | Self::Conflict => 2,
            Self::Unavailable => 75,
            Self::Internal => 1,
        }
    }

    /// The HTTP status of the JSON API (a refused well-formed value may use 422 instead).
    pub fn http_status(self) -> u16 {
        match self {
            Self::BadInput => 400,
            Self::NotFound => 404,
            Self::Forbidden => 403,
            Self::Conflict => 409,
            Self::Unavailable => 503,
            Self::Internal => 500,
        }
    }
}

/// A storage failure. No variant carries a backend type: a backend's own errors are
/// classified where they arise (SQLite: `From<rusqlite::Error>` in `sqlite.rs`) and kept
/// here as text.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A backend error that fits no other variant (its message).
    #[error("database: {0}")]
    Backend(String),
    /// The database server cannot be reached (not running, refusing connections, shutting
    /// down, or out of connections): nothing was written; try again.
    #[error("the database server cannot be reached: {0}; check that it is running and try again")]
    Unreachable(String),
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
    /// A database (or backup) path that cannot be used: its folder cannot be created, the
    /// file cannot be opened, or no path was given and none can be found.
    #[error("database {path}: {message}")]
    Open { path: String, message: String },
    /// A backup that failed its integrity check: the copy was removed.
    #[error("database {path}: {message}")]
    BackupUnsound { path: String, message: String },
    #[error("the database has schema version {found}, newer than this quietlegs ({supported}); upgrade quietlegs")]
    TooNew { found: i64, supported: i64 },
    /// A failure reported by the caller's own input stream (a food import) or by the shipped
    /// reference data.
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
    /// A thread panicked while it held the store: the store refuses further use rather than
    /// risk a half-done change.
    #[error("the database connection was left unusable by a failed operation; restart quietlegs")]
    Poisoned,
}

impl StoreError {
    /// The same failure again, for each of several writes that one failed transaction held
    /// (a batch committed together): the variant, and so the kind and the advice, are kept.
    pub(crate) fn for_each_write(&self) -> Self {
        match self {
            Self::Busy => Self::Busy,
            Self::Unreachable(m) => Self::Unreachable(m.clone()),
            Self::Poisoned => Self::Poisoned,
            Self::ReadOnly(m) => Self::ReadOnly(m.clone()),
            Self::DiskFull(m) => Self::DiskFull(m.clone()),
            Self::Conflict(m) => Self::Conflict(m.clone()),
            other => Self::Backend(other.to_string()),
        }
    }

    /// The kind of this failure (see [`ErrorKind`] for what each kind means to a surface).
    pub fn kind(&self) -> ErrorKind {
        match self {
            // The environment: nothing was written and a retry can succeed.
            Self::Busy | Self::Unreachable(_) | Self::ReadOnly(_) | Self::DiskFull(_) => {
                ErrorKind::Unavailable
            }
            // A file or path the person chose that quietlegs cannot use (another program's
            // file, a newer schema, a folder that cannot be created, no path at all): they must
            // choose another file or upgrade; retrying the same request will not help.
            Self::NotQuietlegs { .. } | Self::TooNew { .. } | Self::Open { .. } => {
                ErrorKind::BadInput
            }
            Self::UnknownKind(_) => ErrorKind::BadInput,
            // The request is sound but collides with stored state.
            Self::Duplicate { .. } | Self::Conflict(_) | Self::NotEmpty(_) => ErrorKind::Conflict,
            Self::NotFound { .. } => ErrorKind::NotFound,
            // Not something the person can fix: a bug, damaged data or a failed copy.
            Self::Backend(_)
            | Self::BackupUnsound { .. }
            | Self::Source(_)
            | Self::Corrupt { .. }
            | Self::Poisoned => ErrorKind::Internal,
        }
    }
}

/// An authenticated person, by name: the only way to a [`PersonId`].
///
/// The store does not authenticate anyone; it trusts the identity it is given. So an identity
/// must only ever be built from something that proves who is asking:
/// - the CLI serves the one local user of the computer (whoever can read the database file
///   already has the diary): [`Identity::local`];
/// - the web and clinic servers will build it from a verified session (a constructor added
///   with the server, never from a name or number in a request).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Identity(String);

impl Identity {
    /// The local user of this computer, under the name the CLI keeps the diary under.
    pub fn local(name: impl Into<String>) -> Self {
        Self(name.into())
    }

    /// The person of a clinic account (verified by the server's session). Named `@username`,
    /// which no local name takes ("me").
    pub fn account(username: &str) -> Self {
        Self(format!("@{username}"))
    }

    pub fn name(&self) -> &str {
        &self.0
    }
}

/// A person whose diary this is; every diary and trial read and write is scoped to one.
///
/// Obtained only from a store ([`Store::person`], [`Store::find_person`]) for an
/// [`Identity`]: there is no way to make one from a number, so a caller cannot reach another
/// person's records by guessing an id. Backends live in this crate and read the number.
///
/// ```compile_fail
/// // Outside the store crate, a person id cannot be forged from a number:
/// let forged = quietlegs_store::PersonId(1);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PersonId(pub(crate) i64);

/// One record of a batch for [`Store::add_records`].
#[derive(Debug, Clone, PartialEq)]
pub struct NewRecord {
    pub person: PersonId,
    /// Already validated.
    pub record: Record,
    pub stamp: Stamp,
    pub on_duplicate: OnDuplicate,
}

/// What to do when a one-per-date record (night, IRLS, side effects) already exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnDuplicate {
    Refuse,
    /// Overwrite its content, keeping its id and creation time.
    Replace,
}

/// A person's profile as stored: the TOML document of `docs/profile.md`, kept as written and
/// parsed by the one profile parser (`quietlegs_core::Profile::from_toml`) whenever it is used.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StoredProfile {
    pub document: String,
    /// When it was stored (RFC 3339).
    pub updated_at: String,
}

/// Everything of one person in a store, read in one snapshot (a personal copy of a shared
/// database, `quietlegs backup` on PostgreSQL): the person's creation moment, profile, log-in
/// secret, diary and trials with their seeds, and the imported foods (public reference data
/// that the diary's food entries name). Nothing of any other person.
#[derive(Debug, Clone)]
pub struct PersonData {
    pub created_at: String,
    pub profile: Option<StoredProfile>,
    /// The log-in secret (an argon2id PHC string) and when it was set.
    pub login: Option<(String, String)>,
    pub records: Vec<StoredRecord>,
    pub trials: Vec<SealedTrial>,
    pub releases: Vec<FoodRelease>,
    pub foods: Vec<Food>,
}

/// A trial with what [`StoredTrial`] leaves out: its sealed seed and the time zone it was
/// created in (only for a personal copy).
#[derive(Debug, Clone)]
pub struct SealedTrial {
    pub trial: StoredTrial,
    pub seed: u64,
    pub tz: String,
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
///
/// Every method takes `&self` and implementations are `Send + Sync`, so one store can be
/// shared by the threads of a server (in an `Arc`). Every write is one transaction: a method
/// that fails has written nothing.
pub trait Store: Send + Sync {
    /// Replaces every food of `release` with `foods`, in one transaction: a failure leaves the
    /// previous import of that release in place. Returns the number of foods written.
    fn replace_food_release(
        &self,
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
    fn remove_food_release(&self, release: &str) -> Result<u64, StoreError>;

    /// The person of an authenticated identity, created (at `created_at`) on first use.
    fn person(&self, identity: &Identity, created_at: &str) -> Result<PersonId, StoreError>;

    /// The person of an identity, without creating one (for read-only use): `None` when it has
    /// never written anything.
    fn find_person(&self, identity: &Identity) -> Result<Option<PersonId>, StoreError>;

    /// When the person was first created (the `created_at` given to [`Store::person`] that day),
    /// never changed afterwards: with the identity it makes a key that stays the same for this
    /// person in this database (FHIR export identifiers) and differs between databases.
    fn person_created_at(&self, person: PersonId) -> Result<String, StoreError>;

    /// The person's profile as last stored (`None` before the first one).
    fn profile(&self, person: PersonId) -> Result<Option<StoredProfile>, StoreError>;

    /// Stores the person's profile (validated by the caller), replacing any earlier one.
    fn set_profile(&self, person: PersonId, profile: &StoredProfile) -> Result<(), StoreError>;

    /// The person's log-in secret for the web app: an argon2id PHC string (never the
    /// password), or `None` when no password is set.
    fn login_secret(&self, person: PersonId) -> Result<Option<String>, StoreError>;

    /// Sets (or replaces) the person's log-in secret; `phc` must be an argon2id PHC string.
    fn set_login_secret(&self, person: PersonId, phc: &str, at: &str) -> Result<(), StoreError>;

    /// Adds a diary record (already validated); returns its id. A second night, IRLS or side
    /// effects entry for the same date is refused unless `on_duplicate` is `Replace`. Values
    /// outside the diary's scales are refused by the backend too (a second line of defence).
    fn add_record(
        &self,
        person: PersonId,
        record: &Record,
        stamp: &Stamp,
        on_duplicate: OnDuplicate,
    ) -> Result<i64, StoreError>;

    /// Adds several records, each on its own terms (as [`Store::add_record`]: one refused
    /// leaves the others unaffected), made durable together: a server's concurrent entries
    /// share one commit instead of paying one each. Returns each record's outcome, in order;
    /// an outcome is known only once the write is durable (or has failed). A record may
    /// collide with one earlier in the same batch (a duplicate, then).
    ///
    /// A failure that is not a refusal of one record (a full disk, an I/O error) fails every
    /// record of the batch, and none is stored: on SQLite that includes an error of one
    /// record's own statement, on PostgreSQL (a savepoint per record) only a failure of the
    /// transaction itself.
    ///
    /// The default adds them one by one; a backend overrides it to commit them together.
    fn add_records(&self, batch: &[NewRecord]) -> Vec<Result<i64, StoreError>> {
        batch
            .iter()
            .map(|n| self.add_record(n.person, &n.record, &n.stamp, n.on_duplicate))
            .collect()
    }

    /// Replaces the content of record `id` of the record's kind (keeping its creation time).
    fn update_record(
        &self,
        person: PersonId,
        id: i64,
        record: &Record,
        updated_at: &str,
        tz: &str,
    ) -> Result<(), StoreError>;

    /// Deletes record `id` of `kind`.
    fn delete_record(&self, person: PersonId, kind: &str, id: i64) -> Result<(), StoreError>;

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
    /// transaction (`NotEmpty` otherwise). Entries added later get ids no imported record has.
    /// An import never touches another person's records: SQLite keeps ids unique per kind
    /// across the database, so it refuses (`Conflict`) an id another person's record holds.
    fn import_records(
        &self,
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

/// Trials, scoped to a person like the diary (`Send + Sync` for the same reason as [`Store`]).
pub trait TrialStore: Send + Sync {
    /// Stores a new trial's plan and sealed seed; a name already used is refused.
    fn create_trial(
        &self,
        person: PersonId,
        name: &str,
        plan_json: &str,
        plan_hash: &str,
        seed: u64,
        stamp: &Stamp,
    ) -> Result<i64, StoreError>;
    /// The person's trials, in the order they were created.
    fn trials(&self, person: PersonId) -> Result<Vec<StoredTrial>, StoreError>;
    /// One of the person's trials (`NotFound` for another person's).
    fn trial(&self, person: PersonId, id: i64) -> Result<StoredTrial, StoreError>;
    /// The sealed seed (the allocation): callers must only use it for open trials, after
    /// unblinding, or for an early unblinding that they log.
    fn unseal_trial(&self, person: PersonId, id: i64) -> Result<u64, StoreError>;
    /// Logs an unblinding; events are read back in the order they were logged.
    fn add_trial_event(
        &self,
        person: PersonId,
        id: i64,
        event: &TrialEvent,
    ) -> Result<(), StoreError>;
    /// Records the guess for a period; a second guess for the same period replaces the first.
    /// Guesses are read back by period.
    fn record_guess(&self, person: PersonId, id: i64, guess: &TrialGuess)
        -> Result<(), StoreError>;
    /// Deletes a trial with its seal, events and guesses.
    fn delete_trial(&self, person: PersonId, id: i64) -> Result<(), StoreError>;
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Every variant, with the kind its meaning calls for (the reasons are in `kind`).
    #[test]
    fn every_error_has_the_kind_its_meaning_calls_for() {
        let s = || "x".to_string();
        let cases: Vec<(StoreError, ErrorKind)> = vec![
            (StoreError::Backend(s()), ErrorKind::Internal),
            (StoreError::Busy, ErrorKind::Unavailable),
            (StoreError::Unreachable(s()), ErrorKind::Unavailable),
            (StoreError::ReadOnly(s()), ErrorKind::Unavailable),
            (StoreError::DiskFull(s()), ErrorKind::Unavailable),
            (StoreError::Conflict(s()), ErrorKind::Conflict),
            (StoreError::NotQuietlegs { path: s() }, ErrorKind::BadInput),
            (
                StoreError::Open {
                    path: s(),
                    message: s(),
                },
                ErrorKind::BadInput,
            ),
            (
                StoreError::BackupUnsound {
                    path: s(),
                    message: s(),
                },
                ErrorKind::Internal,
            ),
            (
                StoreError::TooNew {
                    found: 9,
                    supported: 4,
                },
                ErrorKind::BadInput,
            ),
            (StoreError::Source(s().into()), ErrorKind::Internal),
            (
                StoreError::Duplicate {
                    kind: s(),
                    date: s(),
                    id: 1,
                },
                ErrorKind::Conflict,
            ),
            (StoreError::UnknownKind(s()), ErrorKind::BadInput),
            (
                StoreError::NotFound { kind: s(), id: 1 },
                ErrorKind::NotFound,
            ),
            (StoreError::NotEmpty(3), ErrorKind::Conflict),
            (
                StoreError::Corrupt {
                    kind: s(),
                    id: 1,
                    message: s(),
                },
                ErrorKind::Internal,
            ),
            (StoreError::Poisoned, ErrorKind::Internal),
        ];
        for (error, kind) in cases {
            assert_eq!(error.kind(), kind, "{error:?}");
        }
    }

    #[test]
    fn kinds_serialize_in_kebab_case() {
        let names: Vec<String> = [
            ErrorKind::BadInput,
            ErrorKind::NotFound,
            ErrorKind::Forbidden,
            ErrorKind::Conflict,
            ErrorKind::Unavailable,
            ErrorKind::Internal,
        ]
        .iter()
        .map(|k| serde_json::to_string(k).unwrap())
        .collect();
        assert_eq!(
            names,
            [
                "\"bad-input\"",
                "\"not-found\"",
                "\"forbidden\"",
                "\"conflict\"",
                "\"unavailable\"",
                "\"internal\""
            ]
        );
    }
}
