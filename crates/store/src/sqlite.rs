//! The SQLite backend (rusqlite, SQLite compiled in).

use crate::{
    FoodRelease, FoodStream, Identity, NewRecord, OnDuplicate, PersonId, Store, StoreError,
    StoredProfile, StoredTrial, TrialEvent, TrialGuess, TrialStore,
};
use jiff::civil::Date;
use quietlegs_core::diary::{FieldValue, Record, Stamp, StoredRecord};
use quietlegs_core::food::{Food, Nutrients, Portion};
use quietlegs_core::reference::IrlsDefinition;
use rusqlite::types::{Value, ValueRef};
use rusqlite::{
    params, Connection, OpenFlags, OptionalExtension, Transaction, TransactionBehavior,
};
use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::Duration;

impl From<rusqlite::Error> for StoreError {
    /// Classifies SQLite's errors here, so that no SQLite type leaves this module: environment
    /// failures (busy, read-only, disk full) get their own variants, so that the person is told
    /// what to do rather than "internal error"; the rest keep SQLite's message.
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
            _ => Self::Backend(e.to_string()),
        }
    }
}

/// The migrations, in order; migration N brings the schema to `user_version` N.
pub(crate) const MIGRATIONS: &[&str] = &[
    include_str!("../migrations/sqlite/0001_foods.sql"),
    include_str!("../migrations/sqlite/0002_diary.sql"),
    include_str!("../migrations/sqlite/0003_trials.sql"),
    include_str!("../migrations/sqlite/0004_profile.sql"),
    include_str!("../migrations/sqlite/0005_login.sql"),
    include_str!("../migrations/sqlite/0006_clinic.sql"),
    include_str!("../migrations/sqlite/0007_unique_date_indexes.sql"),
];

/// Runs `batch` in one `BEGIN IMMEDIATE` transaction and commits once. Each record is one
/// write statement (see `add_row`), and SQLite undoes a statement that fails on a constraint
/// alone, keeping the transaction (<https://www.sqlite.org/lang_conflict.html>, ABORT): so a
/// record refused on its own keeps its own error and the rest are kept, without a savepoint
/// per record. Any other failure (disk full, I/O, busy), or a transaction SQLite rolled back by
/// itself, fails the whole batch, and nothing of it is kept. If the commit fails, every record
/// gets its error (a record refused on its own keeps its own).
fn add_batch(conn: &mut Connection, batch: &[NewRecord]) -> Vec<Result<i64, StoreError>> {
    let tx = match conn.transaction_with_behavior(TransactionBehavior::Immediate) {
        Ok(tx) => tx,
        Err(e) => {
            let e = StoreError::from(e);
            return batch.iter().map(|_| Err(e.for_each_write())).collect();
        }
    };
    let mut outcomes = Vec::with_capacity(batch.len());
    for n in batch {
        let outcome = add_row(&tx, n.person, &n.record, &n.stamp, n.on_duplicate);
        if let Err(e) = &outcome {
            if !refused_alone(e) || tx.is_autocommit() {
                // Dropping `tx` rolls back whatever is left of the transaction.
                return batch.iter().map(|_| Err(e.for_each_write())).collect();
            }
        }
        outcomes.push(outcome);
    }
    match tx.commit() {
        Ok(()) => outcomes,
        Err(e) => {
            let e = StoreError::from(e);
            outcomes
                .into_iter()
                .map(|o| o.and(Err(e.for_each_write())))
                .collect()
        }
    }
}

/// A refusal of one record that leaves the transaction as it was: a date already taken, a
/// uniqueness or other constraint of the schema, or a kind the store does not know (refused
/// before any statement ran).
fn refused_alone(e: &StoreError) -> bool {
    match e {
        StoreError::Duplicate { .. } | StoreError::Conflict(_) | StoreError::UnknownKind(_) => true,
        StoreError::Backend(message) => message.contains("constraint failed"),
        _ => false,
    }
}

/// Adds one record inside `tx` with one write statement: a second one-per-date record is
/// refused (the insert does nothing and the existing entry is named) or replaces the first,
/// as `on_duplicate` says.
fn add_row(
    tx: &Transaction<'_>,
    person: PersonId,
    record: &Record,
    stamp: &Stamp,
    on_duplicate: OnDuplicate,
) -> Result<i64, StoreError> {
    if !record.one_per_date() {
        return insert_row(tx, person, None, record, stamp);
    }
    let table = table_of(record.kind())?;
    let date = record.date().to_string();
    match on_duplicate {
        OnDuplicate::Refuse => {
            match insert_unless_date_taken(tx, person, record, stamp) {
                Ok(Some(id)) => return Ok(id),
                Ok(None) => {}
                // SQLite checks a column's own constraints before the date's uniqueness: a
                // record refused by them on a date already taken is named as the duplicate,
                // as PostgreSQL (which looks up the date first) and `add_record` name it.
                Err(e) if refused_alone(&e) => {
                    return Err(match existing_on_date(tx, table, person, &date)? {
                        Some(id) => StoreError::Duplicate {
                            kind: record.kind().to_string(),
                            date,
                            id,
                        },
                        None => e,
                    })
                }
                Err(e) => return Err(e),
            }
            let existing = existing_on_date(tx, table, person, &date)?.ok_or_else(|| {
                StoreError::Backend(format!(
                    "{table}: an insert for {date} found its date taken, but no entry holds it"
                ))
            })?;
            Err(StoreError::Duplicate {
                kind: record.kind().to_string(),
                date,
                id: existing,
            })
        }
        OnDuplicate::Replace => match existing_on_date(tx, table, person, &date)? {
            Some(existing) => {
                update_row(tx, person, existing, record, &stamp.updated_at, &stamp.tz)?;
                Ok(existing)
            }
            None => insert_row(tx, person, None, record, stamp),
        },
    }
}

/// How long a writer waits for another process's write lock before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// `PRAGMA application_id` of a quietlegs database ("QLEG" in ASCII), so that quietlegs never
/// writes into another program's SQLite file.
pub const APPLICATION_ID: i32 = 0x514C_4547;

/// The tables quietlegs creates (every migration): a database with only these and no
/// application id is a quietlegs database from before the id was set.
const OWN_TABLES: &[&str] = &[
    "food_release",
    "food",
    "food_portion",
    "person",
    "night",
    "irls",
    "dose",
    "food_log",
    "side_effects",
    "factor",
    "trial",
    "trial_seal",
    "trial_event",
    "trial_guess",
    "profile",
    "login",
    "account",
    "session",
    "login_failure",
    "invitation",
    "care_link",
    "password_reset",
    "audit",
    "erasing",
    "helper_link",
];

/// Whether the opened file is a quietlegs database (or empty); checked before anything is
/// written, so a foreign file is left byte-identical.
fn check_is_quietlegs(conn: &Connection, path: &Path) -> Result<(), StoreError> {
    let foreign = || StoreError::NotQuietlegs {
        path: path.display().to_string(),
    };
    let id: i32 = conn
        .query_row("PRAGMA application_id", [], |r| r.get(0))
        .map_err(|e| match StoreError::from(e) {
            StoreError::NotQuietlegs { .. } => foreign(),
            other => other,
        })?;
    if id == APPLICATION_ID {
        return Ok(());
    }
    if id != 0 {
        return Err(foreign());
    }
    let mut stmt = conn.prepare(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
    )?;
    let tables: Vec<String> = stmt
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    if tables.iter().all(|t| OWN_TABLES.contains(&t.as_str())) {
        Ok(())
    } else {
        Err(foreign())
    }
}

/// A file SQLite cannot open at all (a folder, a missing file opened read-only, a path it may
/// not read) is a path the person must change; other errors are classified as usual.
fn cannot_open(path: &Path, e: rusqlite::Error) -> StoreError {
    if e.sqlite_error_code() == Some(rusqlite::ErrorCode::CannotOpen) {
        StoreError::Open {
            path: path.display().to_string(),
            message: e.to_string(),
        }
    } else {
        StoreError::from(e)
    }
}

/// Creates the database's folder (0700) and an empty database file (0600) when they do not
/// exist, so health data is private to the user whatever the umask. SQLite gives its -wal and
/// -shm files the database file's permissions.
fn create_private(path: &Path) -> Result<(), StoreError> {
    let err = |e: std::io::Error| StoreError::Open {
        path: path.display().to_string(),
        message: e.to_string(),
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        if !dir.exists() {
            let mut builder = std::fs::DirBuilder::new();
            builder.recursive(true);
            #[cfg(unix)]
            std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
            builder.create(dir).map_err(err)?;
        }
    }
    if !path.exists() {
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        match options.open(path) {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(err(e)),
        }
    }
    Ok(())
}

/// A quietlegs database in one SQLite file.
///
/// One connection behind a mutex: the store is `Send + Sync`, so a server can share one in an
/// `Arc`; calls from several threads take turns, and each write is one `BEGIN IMMEDIATE`
/// transaction (other processes wait up to the busy timeout).
pub struct SqliteStore {
    conn: Mutex<Connection>,
    /// The IRLS definition, to rebuild stored IRLS records.
    irls: IrlsDefinition,
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path` and brings its schema up to date.
    /// An existing file that is not a quietlegs database is refused and left unchanged.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        create_private(path)?;
        let conn = Connection::open(path).map_err(|e| cannot_open(path, e))?;
        conn.busy_timeout(BUSY_TIMEOUT)?;
        check_is_quietlegs(&conn, path)?;
        Self::init(conn)
    }

    /// Opens an existing database for reading only: nothing is written, no write lock is taken,
    /// and readers never wait for a writer (WAL). A database whose schema is older than this
    /// build is upgraded first (one write), as `open` would.
    pub fn open_read_only(path: &Path) -> Result<Self, StoreError> {
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| cannot_open(path, e))?;
        conn.busy_timeout(BUSY_TIMEOUT)?;
        check_is_quietlegs(&conn, path)?;
        let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        if version < Self::latest_schema_version() {
            drop(conn);
            return Self::open(path);
        }
        if version > Self::latest_schema_version() {
            return Err(StoreError::TooNew {
                found: version,
                supported: Self::latest_schema_version(),
            });
        }
        Self::with_connection(conn)
    }

    /// An in-memory database (tests and benchmarks).
    pub fn in_memory() -> Result<Self, StoreError> {
        Self::init(Connection::open_in_memory()?)
    }

    fn with_connection(conn: Connection) -> Result<Self, StoreError> {
        let irls = quietlegs_core::ReferenceData::shipped()
            .map_err(|e| StoreError::Source(Box::new(e)))?
            .irls;
        Ok(Self {
            conn: Mutex::new(conn),
            irls,
        })
    }

    fn init(conn: Connection) -> Result<Self, StoreError> {
        conn.busy_timeout(BUSY_TIMEOUT)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        let id: i32 = conn.query_row("PRAGMA application_id", [], |r| r.get(0))?;
        if id != APPLICATION_ID {
            conn.pragma_update(None, "application_id", APPLICATION_ID)?;
        }
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        // Room for every kind's insert and lookup statements (see `insert_row`).
        conn.set_prepared_statement_cache_capacity(64);
        let store = Self::with_connection(conn)?;
        store.migrate_to(Self::latest_schema_version())?;
        Ok(store)
    }

    /// The connection, for one call. A lock poisoned by a panic in another thread is refused
    /// (an error, not a panic): whatever that thread was writing was rolled back, but this
    /// store is not used further.
    pub(crate) fn lock(&self) -> Result<MutexGuard<'_, Connection>, StoreError> {
        self.conn.lock().map_err(|_| StoreError::Poisoned)
    }

    /// Runs `write` in one `BEGIN IMMEDIATE` transaction, committed only if it succeeds.
    pub(crate) fn write<T>(
        &self,
        write: impl FnOnce(&Transaction<'_>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut conn = self.lock()?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let out = write(&tx)?;
        tx.commit()?;
        Ok(out)
    }

    /// Runs `read` in one read transaction, so that what it reads from several tables comes
    /// from one snapshot even while another process writes.
    pub(crate) fn read<T>(
        &self,
        read: impl FnOnce(&Transaction<'_>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut conn = self.lock()?;
        let tx = conn.transaction()?;
        let out = read(&tx)?;
        tx.commit()?;
        Ok(out)
    }

    /// The schema version (`PRAGMA user_version`).
    pub fn schema_version(&self) -> Result<i64, StoreError> {
        Ok(self
            .lock()?
            .query_row("PRAGMA user_version", [], |r| r.get(0))?)
    }

    /// The latest schema version this build knows.
    pub fn latest_schema_version() -> i64 {
        MIGRATIONS.len() as i64
    }

    /// Applies migrations up to `target`, each in its own transaction (the version is read
    /// inside it, so two processes opening an old database at once apply each migration once).
    pub fn migrate_to(&self, target: i64) -> Result<(), StoreError> {
        // Checked first without the write lock: opening an up-to-date database writes nothing.
        let current = self.schema_version()?;
        if current > Self::latest_schema_version() {
            return Err(StoreError::TooNew {
                found: current,
                supported: Self::latest_schema_version(),
            });
        }
        if current >= target {
            return Ok(());
        }
        loop {
            let done = self.write(|tx| {
                let current: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
                if current > Self::latest_schema_version() {
                    return Err(StoreError::TooNew {
                        found: current,
                        supported: Self::latest_schema_version(),
                    });
                }
                if current >= target {
                    return Ok(true);
                }
                tx.execute_batch(MIGRATIONS[current as usize])?;
                tx.pragma_update(None, "user_version", current + 1)?;
                Ok(false)
            })?;
            if done {
                return Ok(());
            }
        }
    }

    /// `PRAGMA integrity_check` ("ok" when sound).
    pub fn integrity_check(&self) -> Result<String, StoreError> {
        Ok(self
            .lock()?
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))?)
    }

    /// Records what kind of download a release was (known only once it has been read).
    pub fn set_food_release_kind(&self, release: &str, kind: &str) -> Result<(), StoreError> {
        self.write(|tx| {
            tx.execute(
                "UPDATE food_release SET kind = ?2 WHERE release = ?1",
                params![release, kind],
            )?;
            Ok(())
        })
    }

    /// One food by id, if imported.
    pub fn imported_food(&self, id: &str) -> Result<Option<Food>, StoreError> {
        Ok(self
            .lock()?
            .query_row("SELECT * FROM food WHERE id = ?1", [id], food_from_row)
            .optional()?)
    }

    /// Copies the whole database to `path` with SQLite's online backup, which gives a
    /// consistent snapshot even while another process writes.
    ///
    /// Refused for a file that holds several people (a clinic on SQLite): a copy of the whole
    /// file would hold the others' data too.
    pub fn backup_to(&self, path: &Path) -> Result<(), StoreError> {
        let people: i64 = self
            .lock()?
            .query_row("SELECT count(*) FROM person", [], |r| r.get(0))?;
        if people > 1 {
            return Err(StoreError::Conflict(format!(
                "this database holds {people} people's diaries, and a backup copies the whole \
                 file: it is refused here. Export your own diary instead (JSON, which quietlegs \
                 imports)"
            )));
        }
        write_new_file(path, |temp| {
            let mut dest = Connection::open(temp)?;
            {
                let conn = self.lock()?;
                let backup = rusqlite::backup::Backup::new(&conn, &mut dest)?;
                backup.run_to_completion(256, Duration::from_millis(5), None)?;
            }
            dest.close().map_err(|(_, e)| StoreError::from(e))
        })
    }

    /// Writes one person's data (read from another store, a PostgreSQL server's) into a new
    /// database file at `path`: a personal copy that `--db path` opens, with the same person
    /// (identity and creation moment), profile, log-in, diary (ids and stamps kept), trials
    /// (ids, seeds, events and guesses kept) and imported foods.
    pub fn write_person_copy(
        path: &Path,
        identity: &Identity,
        data: &crate::PersonData,
    ) -> Result<(), StoreError> {
        write_new_file(path, |temp| {
            let store = Self::open(temp)?;
            store.restore_person(identity, data)?;
            // Closing the last connection checkpoints the WAL into the file and removes it.
            let conn = store.conn.into_inner().map_err(|_| StoreError::Poisoned)?;
            conn.close().map_err(|(_, e)| StoreError::from(e))
        })
    }

    /// Restores a person's data into this (empty) database.
    fn restore_person(
        &self,
        identity: &Identity,
        data: &crate::PersonData,
    ) -> Result<(), StoreError> {
        let person = self.person(identity, &data.created_at)?;
        if let Some(profile) = &data.profile {
            self.set_profile(person, profile)?;
        }
        if let Some((phc, at)) = &data.login {
            self.set_login_secret(person, phc, at)?;
        }
        self.import_records(person, &data.records)?;
        self.write(|tx| {
            for sealed in &data.trials {
                let t = &sealed.trial;
                tx.execute(
                    "INSERT INTO trial (id, person_id, name, plan_json, plan_hash, created_at, tz) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                    params![t.id, person.0, t.name, t.plan_json, t.plan_hash, t.created_at, sealed.tz],
                )?;
                tx.execute(
                    "INSERT INTO trial_seal (trial_id, seed) VALUES (?1, ?2)",
                    params![t.id, sealed.seed.to_string()],
                )?;
                for e in &t.events {
                    tx.execute(
                        "INSERT INTO trial_event (trial_id, at, kind, detail) VALUES (?1, ?2, ?3, ?4)",
                        params![t.id, e.at, e.kind, e.detail],
                    )?;
                }
                for g in &t.guesses {
                    tx.execute(
                        "INSERT INTO trial_guess (trial_id, period, guess, at) VALUES (?1, ?2, ?3, ?4)",
                        params![t.id, g.period as i64, g.guess, g.at],
                    )?;
                }
            }
            Ok(())
        })?;
        for release in &data.releases {
            let mut foods = data
                .foods
                .iter()
                .filter(|f| f.release == release.release)
                .cloned()
                .map(Ok);
            self.replace_food_release(release, &mut foods)?;
        }
        Ok(())
    }
}

/// Writes a new database file at `path`: `build` fills a private temporary file beside it,
/// which is then integrity-checked, synced and only then renamed into place, so that a failed
/// copy leaves nothing behind.
fn write_new_file(
    path: &Path,
    build: impl FnOnce(&Path) -> Result<(), StoreError>,
) -> Result<(), StoreError> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "backup".into());
    let temp = path.with_file_name(format!(".{name}.partial-{}", std::process::id()));
    let result = (|| {
        create_private(&temp)?;
        build(&temp)?;
        let dest = Connection::open(&temp)?;
        let check: String = dest.query_row("PRAGMA integrity_check", [], |r| r.get(0))?;
        if check != "ok" {
            return Err(StoreError::BackupUnsound {
                path: path.display().to_string(),
                message: format!("the backup failed its integrity check: {check}"),
            });
        }
        dest.close().map_err(|(_, e)| StoreError::from(e))?;
        let io = |e: std::io::Error| StoreError::Open {
            path: path.display().to_string(),
            message: e.to_string(),
        };
        std::fs::File::open(&temp)
            .and_then(|f| f.sync_all())
            .map_err(io)?;
        std::fs::rename(&temp, path).map_err(io)?;
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    result
}

fn food_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Food> {
    Ok(Food {
        id: r.get("id")?,
        name: r.get("name")?,
        group: r.get("food_group")?,
        release: r.get("release")?,
        ndb: r.get("ndb")?,
        per_100g: Nutrients {
            kcal: r.get("kcal")?,
            magnesium_mg: r.get("magnesium_mg")?,
            calcium_mg: r.get("calcium_mg")?,
            iron_mg: r.get("iron_mg")?,
            potassium_mg: r.get("potassium_mg")?,
            zinc_mg: r.get("zinc_mg")?,
            sodium_mg: r.get("sodium_mg")?,
            fiber_g: r.get("fiber_g")?,
        },
        portions: Vec::new(),
    })
}

impl Store for SqliteStore {
    fn replace_food_release(
        &self,
        release: &FoodRelease,
        foods: &mut FoodStream<'_>,
    ) -> Result<u64, StoreError> {
        self.write(|tx| {
            tx.execute(
                "DELETE FROM food_release WHERE release = ?1",
                [&release.release],
            )?;
            tx.execute(
                "INSERT INTO food_release (release, kind, imported_at, foods) VALUES (?1, ?2, ?3, 0)",
                params![release.release, release.kind, release.imported_at],
            )?;
            let mut count = 0u64;
            let mut insert_food = tx.prepare(
                "INSERT OR REPLACE INTO food (id, release, name, food_group, ndb, kcal, magnesium_mg,
                 calcium_mg, iron_mg, potassium_mg, zinc_mg, sodium_mg, fiber_g)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
            )?;
            let mut delete_portions = tx.prepare("DELETE FROM food_portion WHERE food_id = ?1")?;
            let mut insert_portion = tx.prepare(
                "INSERT INTO food_portion (food_id, seq, amount, unit, grams, release)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?;
            for item in foods {
                let f = item.map_err(StoreError::Source)?;
                let n = &f.per_100g;
                insert_food.execute(params![
                    f.id,
                    release.release,
                    f.name,
                    f.group,
                    f.ndb,
                    n.kcal,
                    n.magnesium_mg,
                    n.calcium_mg,
                    n.iron_mg,
                    n.potassium_mg,
                    n.zinc_mg,
                    n.sodium_mg,
                    n.fiber_g
                ])?;
                delete_portions.execute([&f.id])?;
                for (seq, p) in f.portions.iter().enumerate() {
                    insert_portion.execute(params![
                        f.id,
                        seq as i64 + 1,
                        p.amount,
                        p.unit,
                        p.grams,
                        p.release
                    ])?;
                }
                count += 1;
            }
            tx.execute(
                "UPDATE food_release SET foods = ?2 WHERE release = ?1",
                params![release.release, count as i64],
            )?;
            Ok(count)
        })
    }

    fn imported_foods(&self) -> Result<Vec<Food>, StoreError> {
        let conn = self.lock()?;
        let mut stmt = conn.prepare("SELECT * FROM food ORDER BY rowid")?;
        let mut foods: Vec<Food> = stmt
            .query_map([], food_from_row)?
            .collect::<Result<_, _>>()?;
        let index: HashMap<String, usize> = foods
            .iter()
            .enumerate()
            .map(|(i, f)| (f.id.clone(), i))
            .collect();
        let mut stmt = conn.prepare(
            "SELECT food_id, amount, unit, grams, release FROM food_portion ORDER BY food_id, seq",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                Portion {
                    amount: r.get(1)?,
                    unit: r.get(2)?,
                    grams: r.get(3)?,
                    release: r.get(4)?,
                },
            ))
        })?;
        for row in rows {
            let (id, portion) = row?;
            if let Some(&i) = index.get(&id) {
                foods[i].portions.push(portion);
            }
        }
        Ok(foods)
    }

    fn food_releases(&self) -> Result<Vec<FoodRelease>, StoreError> {
        let conn = self.lock()?;
        let mut stmt = conn.prepare(
            "SELECT release, kind, imported_at, foods FROM food_release ORDER BY imported_at, release",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok(FoodRelease {
                release: r.get(0)?,
                kind: r.get(1)?,
                imported_at: r.get(2)?,
                foods: r.get::<_, i64>(3)? as u64,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn remove_food_release(&self, release: &str) -> Result<u64, StoreError> {
        self.write(|tx| {
            let exists: Option<i64> = tx
                .query_row(
                    "SELECT 1 FROM food_release WHERE release = ?1",
                    [release],
                    |r| r.get(0),
                )
                .optional()?;
            if exists.is_none() {
                return Err(StoreError::NotFound {
                    kind: "food release".into(),
                    id: 0,
                });
            }
            tx.execute("DELETE FROM food_portion WHERE release = ?1", [release])?;
            let foods = tx.execute("DELETE FROM food WHERE release = ?1", [release])?;
            tx.execute("DELETE FROM food_release WHERE release = ?1", [release])?;
            Ok(foods as u64)
        })
    }

    fn person(&self, identity: &Identity, created_at: &str) -> Result<PersonId, StoreError> {
        let name = identity.name();
        self.write(|tx| {
            tx.execute(
                "INSERT OR IGNORE INTO person (name, created_at) VALUES (?1, ?2)",
                params![name, created_at],
            )?;
            let id: i64 = tx.query_row("SELECT id FROM person WHERE name = ?1", [name], |r| {
                r.get(0)
            })?;
            Ok(PersonId(id))
        })
    }

    fn find_person(&self, identity: &Identity) -> Result<Option<PersonId>, StoreError> {
        Ok(self
            .lock()?
            .query_row(
                "SELECT id FROM person WHERE name = ?1",
                [identity.name()],
                |r| r.get(0),
            )
            .optional()?
            .map(PersonId))
    }

    fn person_created_at(&self, person: PersonId) -> Result<String, StoreError> {
        Ok(self.lock()?.query_row(
            "SELECT created_at FROM person WHERE id = ?1",
            [person.0],
            |r| r.get(0),
        )?)
    }

    fn profile(&self, person: PersonId) -> Result<Option<StoredProfile>, StoreError> {
        Ok(self
            .lock()?
            .query_row(
                "SELECT document, updated_at FROM profile WHERE person_id = ?1",
                [person.0],
                |r| {
                    Ok(StoredProfile {
                        document: r.get(0)?,
                        updated_at: r.get(1)?,
                    })
                },
            )
            .optional()?)
    }

    fn login_secret(&self, person: PersonId) -> Result<Option<String>, StoreError> {
        Ok(self
            .lock()?
            .query_row(
                "SELECT phc FROM login WHERE person_id = ?1",
                [person.0],
                |r| r.get(0),
            )
            .optional()?)
    }

    fn set_profile(&self, person: PersonId, profile: &StoredProfile) -> Result<(), StoreError> {
        self.write(|tx| {
            tx.execute(
                "INSERT INTO profile (person_id, document, updated_at) VALUES (?1, ?2, ?3)
                 ON CONFLICT (person_id) DO UPDATE
                 SET document = excluded.document, updated_at = excluded.updated_at",
                params![person.0, profile.document, profile.updated_at],
            )?;
            Ok(())
        })
    }

    fn set_login_secret(&self, person: PersonId, phc: &str, at: &str) -> Result<(), StoreError> {
        self.write(|tx| {
            tx.execute(
                "INSERT INTO login (person_id, phc, updated_at) VALUES (?1, ?2, ?3) \
                 ON CONFLICT (person_id) DO UPDATE SET phc = excluded.phc, \
                 updated_at = excluded.updated_at",
                params![person.0, phc, at],
            )?;
            Ok(())
        })
    }

    fn add_record(
        &self,
        person: PersonId,
        record: &Record,
        stamp: &Stamp,
        on_duplicate: OnDuplicate,
    ) -> Result<i64, StoreError> {
        self.write(|tx| add_row(tx, person, record, stamp, on_duplicate))
    }

    fn add_records(&self, batch: &[NewRecord]) -> Vec<Result<i64, StoreError>> {
        match self.lock() {
            Ok(mut conn) => add_batch(&mut conn, batch),
            Err(e) => batch.iter().map(|_| Err(e.for_each_write())).collect(),
        }
    }

    fn update_record(
        &self,
        person: PersonId,
        id: i64,
        record: &Record,
        updated_at: &str,
        tz: &str,
    ) -> Result<(), StoreError> {
        let table = table_of(record.kind())?;
        self.write(|tx| {
            if record.one_per_date() {
                let date = record.date().to_string();
                if let Some(other) =
                    existing_on_date(tx, table, person, &date)?.filter(|o| *o != id)
                {
                    return Err(StoreError::Duplicate {
                        kind: record.kind().to_string(),
                        date,
                        id: other,
                    });
                }
            }
            if update_row(tx, person, id, record, updated_at, tz)? == 0 {
                return Err(StoreError::NotFound {
                    kind: record.kind().to_string(),
                    id,
                });
            }
            Ok(())
        })
    }

    fn delete_record(&self, person: PersonId, kind: &str, id: i64) -> Result<(), StoreError> {
        let table = table_of(kind)?;
        self.write(|tx| {
            let n = tx.execute(
                &format!("DELETE FROM {table} WHERE id = ?1 AND person_id = ?2"),
                params![id, person.0],
            )?;
            if n == 0 {
                return Err(StoreError::NotFound {
                    kind: kind.to_string(),
                    id,
                });
            }
            Ok(())
        })
    }

    fn record(
        &self,
        person: PersonId,
        kind: &str,
        id: i64,
    ) -> Result<Option<StoredRecord>, StoreError> {
        let conn = self.lock()?;
        Ok(read_kind(&conn, &self.irls, person, kind, "AND id = ?2", &[&id])?.pop())
    }

    fn records(
        &self,
        person: PersonId,
        from: Option<Date>,
        to: Option<Date>,
    ) -> Result<Vec<StoredRecord>, StoreError> {
        self.read(|tx| read_records(tx, &self.irls, person, from, to))
    }

    fn import_records(
        &self,
        person: PersonId,
        records: &[StoredRecord],
    ) -> Result<usize, StoreError> {
        self.write(|tx| {
            // Checked inside the write transaction: nothing can be added in between.
            let existing = read_records(tx, &self.irls, person, None, None)?.len();
            if existing > 0 {
                return Err(StoreError::NotEmpty(existing));
            }
            for r in records {
                insert_row(tx, person, Some(r.id), &r.record, &r.stamp)?;
            }
            Ok(records.len())
        })
    }
}

// ---------------------------------------------------------------------------------------------
// The diary.

/// The table of each record kind.
fn table_of(kind: &str) -> Result<&'static str, StoreError> {
    Ok(match kind {
        "night" => "night",
        "irls" => "irls",
        "dose" => "dose",
        "food" => "food_log",
        "side-effects" => "side_effects",
        "factor" => "factor",
        _ => return Err(StoreError::UnknownKind(kind.to_string())),
    })
}

/// The column a record field is stored in (fields and columns share names but for one).
fn column_of(field: &str) -> &str {
    match field {
        "factor" => "kind",
        other => other,
    }
}

/// Every field of a kind, for reading (each column is named after its field, but `factor`).
fn fields_of(kind: &str) -> Result<&'static [&'static str], StoreError> {
    quietlegs_core::diary::field_names(kind)
        .ok_or_else(|| StoreError::UnknownKind(kind.to_string()))
}

/// A diary value as SQLite binds it: integers as INTEGER, reals as REAL, text as TEXT (each
/// column is declared with its type in `0002_diary.sql`).
fn bind(v: FieldValue) -> Value {
    match v {
        FieldValue::Integer(i) => Value::Integer(i),
        FieldValue::Real(r) => Value::Real(r),
        FieldValue::Text(t) => Value::Text(t),
    }
}

/// A stored value as the diary reads it (`None` for NULL). Rows written before values were
/// bound by type hold the same storage classes (SQLite's column affinity converted the bound
/// text), and a value still held as text is parsed by `Record::from_values`.
fn read_value(v: ValueRef<'_>) -> Option<FieldValue> {
    match v {
        ValueRef::Null => None,
        ValueRef::Integer(i) => Some(FieldValue::Integer(i)),
        ValueRef::Real(r) => Some(FieldValue::Real(r)),
        ValueRef::Text(t) | ValueRef::Blob(t) => {
            Some(FieldValue::Text(String::from_utf8_lossy(t).into_owned()))
        }
    }
}

/// The person's records with dates in `from..=to`, in export order.
fn read_records(
    conn: &Connection,
    irls: &IrlsDefinition,
    person: PersonId,
    from: Option<Date>,
    to: Option<Date>,
) -> Result<Vec<StoredRecord>, StoreError> {
    let from = from
        .map(|d| d.to_string())
        .unwrap_or_else(|| "0000-01-01".into());
    let to = to
        .map(|d| d.to_string())
        .unwrap_or_else(|| "9999-12-31".into());
    let mut out = Vec::new();
    for kind in quietlegs_core::diary::RECORD_KINDS {
        out.extend(read_kind(
            conn,
            irls,
            person,
            kind,
            "AND date >= ?2 AND date <= ?3",
            &[&from, &to],
        )?);
    }
    Ok(out)
}

fn read_kind(
    conn: &Connection,
    irls: &IrlsDefinition,
    person: PersonId,
    kind: &str,
    filter: &str,
    args: &[&dyn rusqlite::ToSql],
) -> Result<Vec<StoredRecord>, StoreError> {
    let table = table_of(kind)?;
    let fields = fields_of(kind)?;
    let cols: Vec<&str> = fields.iter().map(|f| column_of(f)).collect();
    let sql = format!(
        "SELECT id, date, created_at, updated_at, tz, {} FROM {table} WHERE person_id = ?1 {filter} ORDER BY date, id",
        cols.join(", ")
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut params: Vec<&dyn rusqlite::ToSql> = vec![&person.0];
    params.extend_from_slice(args);
    let rows = stmt.query_map(params.as_slice(), |r| {
        let id: i64 = r.get(0)?;
        let date: String = r.get(1)?;
        let stamp = Stamp {
            created_at: r.get(2)?,
            updated_at: r.get(3)?,
            tz: r.get(4)?,
        };
        let mut values = BTreeMap::new();
        for (i, field) in fields.iter().enumerate() {
            if let Some(v) = read_value(r.get_ref(5 + i)?) {
                values.insert(field.to_string(), v);
            }
        }
        Ok((id, date, stamp, values))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (id, date, stamp, fields) = row?;
        let corrupt = |message: String| StoreError::Corrupt {
            kind: kind.to_string(),
            id,
            message,
        };
        let date: Date = date
            .parse()
            .map_err(|e: jiff::Error| corrupt(e.to_string()))?;
        let record =
            Record::from_values(kind, date, &fields, irls).map_err(|e| corrupt(e.to_string()))?;
        out.push(StoredRecord { id, stamp, record });
    }
    Ok(out)
}

fn existing_on_date(
    tx: &Transaction<'_>,
    table: &str,
    person: PersonId,
    date: &str,
) -> Result<Option<i64>, StoreError> {
    Ok(tx
        .prepare_cached(&format!(
            "SELECT id FROM {table} WHERE person_id = ?1 AND date = ?2"
        ))?
        .query_row(params![person.0, date], |r| r.get(0))
        .optional()?)
}

fn insert_row(
    tx: &Transaction<'_>,
    person: PersonId,
    id: Option<i64>,
    record: &Record,
    stamp: &Stamp,
) -> Result<i64, StoreError> {
    let sql = insert_sql(record.kind(), InsertMode::Plain)?;
    tx.prepare_cached(sql)?
        .execute(rusqlite::params_from_iter(insert_values(
            person, id, record, stamp,
        )?))?;
    Ok(tx.last_insert_rowid())
}

/// Inserts a one-per-date record unless its date is taken (then nothing is written): the new
/// id, or `None`.
fn insert_unless_date_taken(
    tx: &Transaction<'_>,
    person: PersonId,
    record: &Record,
    stamp: &Stamp,
) -> Result<Option<i64>, StoreError> {
    let sql = insert_sql(record.kind(), InsertMode::UnlessDateTaken)?;
    let inserted = tx
        .prepare_cached(sql)?
        .execute(rusqlite::params_from_iter(insert_values(
            person, None, record, stamp,
        )?))?;
    Ok((inserted == 1).then(|| tx.last_insert_rowid()))
}

/// Whether an insert of a one-per-date kind gives way to the entry already on its date.
#[derive(Clone, Copy, PartialEq, Eq)]
enum InsertMode {
    Plain,
    UnlessDateTaken,
}

/// The tables with UNIQUE (person_id, date) (`0002_diary.sql`): the kinds of which
/// `Record::one_per_date` holds.
const ONE_PER_DATE_TABLES: [&str; 3] = ["night", "irls", "side_effects"];

/// The INSERT statement of a kind, built once per process: every column of the kind is bound,
/// an absent optional field as NULL (no diary column has a default), so one statement text
/// serves every record of the kind and SQLite's statement cache finds it without a new string.
fn insert_sql(kind: &str, mode: InsertMode) -> Result<&'static str, StoreError> {
    static STATEMENTS: OnceLock<Vec<(&'static str, InsertMode, String)>> = OnceLock::new();
    let statements = STATEMENTS.get_or_init(|| {
        let mut statements = Vec::new();
        for kind in quietlegs_core::diary::RECORD_KINDS {
            // Every kind has a table and fields (a kind without is refused as unknown below).
            let (Ok(table), Ok(fields)) = (table_of(kind), fields_of(kind)) else {
                continue;
            };
            let mut cols = vec!["id", "person_id", "date", "created_at", "updated_at", "tz"];
            cols.extend(fields.iter().map(|f| column_of(f)));
            let placeholders: Vec<String> = (1..=cols.len()).map(|i| format!("?{i}")).collect();
            let insert = format!(
                "INSERT INTO {table} ({}) VALUES ({})",
                cols.join(", "),
                placeholders.join(", ")
            );
            if ONE_PER_DATE_TABLES.contains(&table) {
                statements.push((
                    kind,
                    InsertMode::UnlessDateTaken,
                    format!("{insert} ON CONFLICT (person_id, date) DO NOTHING"),
                ));
            }
            statements.push((kind, InsertMode::Plain, insert));
        }
        statements
    });
    statements
        .iter()
        .find(|(k, m, _)| *k == kind && *m == mode)
        .map(|(_, _, sql)| sql.as_str())
        .ok_or_else(|| StoreError::UnknownKind(kind.to_string()))
}

/// The values of a record's INSERT, in the order of `insert_sql`.
fn insert_values(
    person: PersonId,
    id: Option<i64>,
    record: &Record,
    stamp: &Stamp,
) -> Result<Vec<Value>, StoreError> {
    let names = fields_of(record.kind())?;
    let mut fields = record.fields();
    let mut values: Vec<Value> = Vec::with_capacity(6 + names.len());
    values.extend([
        id.map_or(Value::Null, Value::Integer),
        Value::Integer(person.0),
        Value::Text(record.date().to_string()),
        Value::Text(stamp.created_at.clone()),
        Value::Text(stamp.updated_at.clone()),
        Value::Text(stamp.tz.clone()),
    ]);
    for name in names {
        let value = fields
            .iter()
            .position(|(f, _)| f == name)
            .map(|i| fields.swap_remove(i).1);
        values.push(value.map_or(Value::Null, bind));
    }
    if let Some((field, _)) = fields.first() {
        return Err(StoreError::Backend(format!(
            "{} field '{field}' has no column",
            record.kind()
        )));
    }
    Ok(values)
}

fn update_row(
    tx: &Transaction<'_>,
    person: PersonId,
    id: i64,
    record: &Record,
    updated_at: &str,
    tz: &str,
) -> Result<usize, StoreError> {
    let kind = record.kind();
    let table = table_of(kind)?;
    let mut fields: BTreeMap<&str, FieldValue> = record.fields().into_iter().collect();
    // Every column is set, absent optional fields to NULL.
    let mut sets = vec![
        "date = ?3".to_string(),
        "updated_at = ?4".to_string(),
        "tz = ?5".to_string(),
    ];
    let mut values: Vec<Value> = vec![
        Value::Integer(id),
        Value::Integer(person.0),
        Value::Text(record.date().to_string()),
        Value::Text(updated_at.to_string()),
        Value::Text(tz.to_string()),
    ];
    for field in fields_of(kind)? {
        values.push(fields.remove(field).map_or(Value::Null, bind));
        sets.push(format!("{} = ?{}", column_of(field), values.len()));
    }
    let sql = format!(
        "UPDATE {table} SET {} WHERE id = ?1 AND person_id = ?2",
        sets.join(", ")
    );
    Ok(tx.execute(&sql, rusqlite::params_from_iter(values))?)
}

// ---------------------------------------------------------------------------------------------
// Trials.

/// A trial of the person's with its events and guesses (`NotFound` for another person's).
fn trial_row(conn: &Connection, person: PersonId, id: i64) -> Result<StoredTrial, StoreError> {
    let (name, plan_json, plan_hash, created_at): (String, String, String, String) = conn
        .query_row(
            "SELECT name, plan_json, plan_hash, created_at FROM trial WHERE id = ?1 AND person_id = ?2",
            params![id, person.0],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .optional()?
        .ok_or_else(|| trial_not_found(id))?;
    let mut stmt = conn.prepare_cached(
        "SELECT at, kind, detail FROM trial_event WHERE trial_id = ?1 ORDER BY id",
    )?;
    let events = stmt
        .query_map([id], |r| {
            Ok(TrialEvent {
                at: r.get(0)?,
                kind: r.get(1)?,
                detail: r.get(2)?,
            })
        })?
        .collect::<Result<_, _>>()?;
    let mut stmt = conn.prepare_cached(
        "SELECT period, guess, at FROM trial_guess WHERE trial_id = ?1 ORDER BY period",
    )?;
    let guesses = stmt
        .query_map([id], |r| {
            Ok(TrialGuess {
                period: r.get::<_, i64>(0)? as usize,
                guess: r.get(1)?,
                at: r.get(2)?,
            })
        })?
        .collect::<Result<_, _>>()?;
    Ok(StoredTrial {
        id,
        name,
        plan_json,
        plan_hash,
        created_at,
        events,
        guesses,
    })
}

fn trial_not_found(id: i64) -> StoreError {
    StoreError::NotFound {
        kind: "trial".into(),
        id,
    }
}

/// Whether the trial is the person's (`NotFound` otherwise).
fn check_trial(tx: &Transaction<'_>, person: PersonId, id: i64) -> Result<(), StoreError> {
    tx.query_row(
        "SELECT 1 FROM trial WHERE id = ?1 AND person_id = ?2",
        params![id, person.0],
        |r| r.get::<_, i64>(0),
    )
    .optional()?
    .map(|_| ())
    .ok_or_else(|| trial_not_found(id))
}

impl TrialStore for SqliteStore {
    fn create_trial(
        &self,
        person: PersonId,
        name: &str,
        plan_json: &str,
        plan_hash: &str,
        seed: u64,
        stamp: &Stamp,
    ) -> Result<i64, StoreError> {
        self.write(|tx| {
            let exists: Option<i64> = tx
                .query_row(
                    "SELECT id FROM trial WHERE person_id = ?1 AND name = ?2",
                    params![person.0, name],
                    |r| r.get(0),
                )
                .optional()?;
            if let Some(id) = exists {
                return Err(StoreError::Duplicate {
                    kind: "trial".into(),
                    date: name.into(),
                    id,
                });
            }
            tx.execute(
                "INSERT INTO trial (person_id, name, plan_json, plan_hash, created_at, tz) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![person.0, name, plan_json, plan_hash, stamp.created_at, stamp.tz],
            )?;
            let id = tx.last_insert_rowid();
            tx.execute(
                "INSERT INTO trial_seal (trial_id, seed) VALUES (?1, ?2)",
                params![id, seed.to_string()],
            )?;
            Ok(id)
        })
    }

    fn trials(&self, person: PersonId) -> Result<Vec<StoredTrial>, StoreError> {
        self.read(|tx| {
            let ids: Vec<i64> = tx
                .prepare("SELECT id FROM trial WHERE person_id = ?1 ORDER BY id")?
                .query_map([person.0], |r| r.get(0))?
                .collect::<Result<_, _>>()?;
            ids.into_iter()
                .map(|id| trial_row(tx, person, id))
                .collect()
        })
    }

    fn trial(&self, person: PersonId, id: i64) -> Result<StoredTrial, StoreError> {
        self.read(|tx| trial_row(tx, person, id))
    }

    fn unseal_trial(&self, person: PersonId, id: i64) -> Result<u64, StoreError> {
        let seed: String = self
            .lock()?
            .query_row(
                "SELECT s.seed FROM trial_seal s JOIN trial t ON t.id = s.trial_id WHERE t.id = ?1 AND t.person_id = ?2",
                params![id, person.0],
                |r| r.get(0),
            )
            .optional()?
            .ok_or_else(|| trial_not_found(id))?;
        seed.parse().map_err(|_| StoreError::Corrupt {
            kind: "trial".into(),
            id,
            message: "sealed seed unreadable".into(),
        })
    }

    fn add_trial_event(
        &self,
        person: PersonId,
        id: i64,
        event: &TrialEvent,
    ) -> Result<(), StoreError> {
        self.write(|tx| {
            check_trial(tx, person, id)?;
            tx.execute(
                "INSERT INTO trial_event (trial_id, at, kind, detail) VALUES (?1, ?2, ?3, ?4)",
                params![id, event.at, event.kind, event.detail],
            )?;
            Ok(())
        })
    }

    fn record_guess(
        &self,
        person: PersonId,
        id: i64,
        guess: &TrialGuess,
    ) -> Result<(), StoreError> {
        self.write(|tx| {
            check_trial(tx, person, id)?;
            tx.execute(
                "INSERT INTO trial_guess (trial_id, period, guess, at) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (trial_id, period) DO UPDATE SET guess = excluded.guess, at = excluded.at",
                params![id, guess.period as i64, guess.guess, guess.at],
            )?;
            Ok(())
        })
    }

    fn delete_trial(&self, person: PersonId, id: i64) -> Result<(), StoreError> {
        self.write(|tx| {
            let n = tx.execute(
                "DELETE FROM trial WHERE id = ?1 AND person_id = ?2",
                params![id, person.0],
            )?;
            if n == 0 {
                return Err(trial_not_found(id));
            }
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn food(id: &str, mg: Option<f64>) -> Food {
        Food {
            id: id.into(),
            name: format!("food {id}"),
            group: None,
            release: "r".into(),
            ndb: None,
            per_100g: Nutrients {
                magnesium_mg: mg,
                ..Nutrients::default()
            },
            portions: vec![Portion {
                amount: 1.0,
                unit: "cup".into(),
                grams: 150.0,
                release: "r".into(),
            }],
        }
    }

    fn release(name: &str) -> FoodRelease {
        FoodRelease {
            release: name.into(),
            kind: "sr-ascii".into(),
            imported_at: "2026-11-27T23:00:00Z".into(),
            foods: 0,
        }
    }

    #[test]
    fn reimporting_a_release_replaces_it_and_keeps_unknown_as_null() {
        let s = SqliteStore::in_memory().unwrap();
        let mut first = vec![Ok(food("a", Some(10.0))), Ok(food("b", None))].into_iter();
        assert_eq!(
            s.replace_food_release(&release("r1"), &mut first).unwrap(),
            2
        );
        let mut second = vec![Ok(food("a", Some(12.0)))].into_iter();
        assert_eq!(
            s.replace_food_release(&release("r1"), &mut second).unwrap(),
            1
        );
        let foods = s.imported_foods().unwrap();
        assert_eq!(foods.len(), 1);
        assert_eq!(foods[0].per_100g.magnesium_mg, Some(12.0));
        assert_eq!(foods[0].portions.len(), 1);
        assert_eq!(s.food_releases().unwrap()[0].foods, 1);
        let mut third = vec![Ok(food("c", None))].into_iter();
        s.replace_food_release(&release("r2"), &mut third).unwrap();
        let c = s.imported_food("c").unwrap().unwrap();
        assert_eq!(c.per_100g.magnesium_mg, None);
    }

    #[test]
    fn opens_a_file_in_wal_mode_with_the_latest_schema() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/q.sqlite3");
        let s = SqliteStore::open(&path).unwrap();
        assert_eq!(
            s.schema_version().unwrap(),
            SqliteStore::latest_schema_version()
        );
        let mode: String = s
            .lock()
            .unwrap()
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
        assert_eq!(s.integrity_check().unwrap(), "ok");
    }

    /// SQLite's own errors, raised for real, land in the variant (and kind) their cause calls
    /// for.
    #[test]
    fn sqlite_errors_are_classified_by_cause() {
        use crate::ErrorKind;
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(
            "CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT UNIQUE, n INTEGER CHECK (n < 3));
             INSERT INTO t (name, n) VALUES ('a', 1);",
        )
        .unwrap();
        let unique = conn
            .execute("INSERT INTO t (name, n) VALUES ('a', 2)", [])
            .unwrap_err();
        let unique = StoreError::from(unique);
        assert!(matches!(unique, StoreError::Conflict(_)), "{unique:?}");
        assert_eq!(unique.kind(), ErrorKind::Conflict);
        // A CHECK failure means validation was bypassed: a fault, not the person's input.
        let check = conn
            .execute("INSERT INTO t (name, n) VALUES ('b', 7)", [])
            .unwrap_err();
        let check = StoreError::from(check);
        assert!(matches!(check, StoreError::Backend(_)), "{check:?}");
        assert_eq!(check.kind(), ErrorKind::Internal);
        conn.pragma_update(None, "query_only", true).unwrap();
        let read_only = conn
            .execute("INSERT INTO t (name, n) VALUES ('c', 1)", [])
            .unwrap_err();
        let read_only = StoreError::from(read_only);
        assert!(
            matches!(read_only, StoreError::ReadOnly(_)),
            "{read_only:?}"
        );
        assert_eq!(read_only.kind(), ErrorKind::Unavailable);
        // A missing file opened for reading: the path must change.
        let dir = tempfile::tempdir().unwrap();
        let missing = SqliteStore::open_read_only(&dir.path().join("none.sqlite3"))
            .err()
            .unwrap();
        assert!(matches!(missing, StoreError::Open { .. }), "{missing:?}");
        assert_eq!(missing.kind(), ErrorKind::BadInput);
    }

    #[test]
    fn a_lock_poisoned_by_a_panicking_thread_is_an_internal_error_not_a_panic() {
        let s = SqliteStore::in_memory().unwrap();
        let me = s.person(&Identity::local("me"), "x").unwrap();
        let crashed = std::thread::scope(|scope| {
            scope
                .spawn(|| {
                    let _held = s.lock().unwrap();
                    panic!("a bug while holding the store");
                })
                .join()
        });
        assert!(crashed.is_err());
        let err = s.records(me, None, None).unwrap_err();
        assert!(matches!(err, StoreError::Poisoned), "{err:?}");
        assert_eq!(err.kind(), crate::ErrorKind::Internal);
    }

    fn noted_night(day: u8, note_len: usize) -> Record {
        Record::Night(quietlegs_core::diary::Night {
            date: Date::new(2026, 11, day as i8).unwrap(),
            severity: 4,
            symptoms_began: None,
            sleep_quality: Some(6),
            hours_slept: Some(7.5),
            minutes_to_sleep: None,
            awakenings: None,
            note: Some("n".repeat(note_len)),
        })
    }

    /// A batch that runs out of room part-way (the database may not grow past the pages it
    /// has: SQLITE_FULL, as on a full disk) keeps none of its records, each gets the disk-full
    /// error, and what was stored before is intact. Without a savepoint per record this rests
    /// on the whole-batch rule of `add_batch`, which this pins.
    #[test]
    fn a_batch_that_fills_the_disk_keeps_none_of_it() {
        let s = SqliteStore::in_memory().unwrap();
        let me = s
            .person(&Identity::local("me"), "2026-11-30T07:00:00Z")
            .unwrap();
        let at = Stamp {
            created_at: "2026-11-30T07:00:00Z".into(),
            updated_at: "2026-11-30T07:00:00Z".into(),
            tz: "UTC".into(),
        };
        s.add_record(me, &noted_night(1, 10), &at, OnDuplicate::Refuse)
            .unwrap();
        {
            let conn = s.lock().unwrap();
            let pages: i64 = conn
                .query_row("PRAGMA page_count", [], |r| r.get(0))
                .unwrap();
            conn.pragma_update(None, "max_page_count", pages).unwrap();
        }
        // 20 nights with 2,000-character notes need about 10 new 4 kB pages: the first few may
        // fit in free space, the batch as a whole cannot.
        // First a replacement of the stored night (it fits in its page), then the inserts.
        let later = Stamp {
            created_at: "2026-11-30T08:00:00Z".into(),
            updated_at: "2026-11-30T08:00:00Z".into(),
            tz: "Europe/Berlin".into(),
        };
        let mut batch = vec![NewRecord {
            person: me,
            record: noted_night(1, 12),
            stamp: later,
            on_duplicate: OnDuplicate::Replace,
        }];
        batch.extend((2..22).map(|day| NewRecord {
            person: me,
            record: noted_night(day, 2000),
            stamp: at.clone(),
            on_duplicate: OnDuplicate::Refuse,
        }));
        let outcomes = s.add_records(&batch);
        assert_eq!(outcomes.len(), 21);
        for outcome in &outcomes {
            assert!(
                matches!(outcome, Err(StoreError::DiskFull(_))),
                "{outcome:?}"
            );
        }
        // The replacement was undone with the rest: the night and its stamps are as before.
        let kept = s.records(me, None, None).unwrap();
        assert_eq!(kept.len(), 1);
        assert_eq!(kept[0].record, noted_night(1, 10));
        assert_eq!(kept[0].stamp, at);
    }

    /// Migration 7 leaves one index on (person_id, date) for each one-per-date table, the one
    /// its UNIQUE constraint makes, and a range query of the history uses it.
    #[test]
    fn one_per_date_tables_have_one_date_index_and_history_uses_it() {
        let s = SqliteStore::in_memory().unwrap();
        let conn = s.lock().unwrap();
        for table in ["night", "irls", "side_effects"] {
            let indexes: Vec<String> = conn
                .prepare(&format!("PRAGMA index_list({table})"))
                .unwrap()
                .query_map([], |r| r.get::<_, String>(1))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap();
            assert_eq!(indexes, [format!("sqlite_autoindex_{table}_1")], "{table}");
            let plan: String = conn
                .query_row(
                    &format!(
                        "EXPLAIN QUERY PLAN SELECT id FROM {table} \
                         WHERE person_id = 1 AND date BETWEEN '2026-01-01' AND '2026-02-01'"
                    ),
                    [],
                    |r| r.get(3),
                )
                .unwrap();
            assert!(
                plan.contains(&format!("USING COVERING INDEX sqlite_autoindex_{table}_1"))
                    || plan.contains(&format!("USING INDEX sqlite_autoindex_{table}_1")),
                "{table}: {plan}"
            );
        }
        for table in ["dose", "food_log", "factor"] {
            let by_date: i64 = conn
                .query_row(
                    "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name = ?1",
                    [format!("{table}_by_date")],
                    |r| r.get(0),
                )
                .unwrap();
            assert_eq!(by_date, 1, "{table}");
        }
    }
}
