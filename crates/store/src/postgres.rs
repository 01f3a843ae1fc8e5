//! The PostgreSQL backend: the synchronous `postgres` client behind an r2d2 pool, prepared
//! statements cached per connection, native column types (migrations/postgres/NNNN_*.sql).
//!
//! One database holds many people; every diary, profile, log-in and trial query names its
//! person (`person_id`). Foods are reference data shared by all.
//!
//! The `postgres` client drives its own small tokio runtime and blocks the calling thread:
//! call this store from ordinary threads (the CLI, the web app's blocking pool and diary
//! writer thread), never from an async task (tokio panics on a runtime inside a runtime).

use crate::{
    FoodRelease, FoodStream, Identity, NewRecord, OnDuplicate, PersonData, PersonId, SealedTrial,
    Store, StoreError, StoredProfile, StoredTrial, TrialEvent, TrialGuess, TrialStore,
};
use jiff::civil::{date, Date};
use postgres::error::SqlState;
use postgres::types::ToSql;
use postgres::{Client, Config, IsolationLevel, NoTls, Row, Statement, Transaction};
use quietlegs_core::diary::{FieldValue, Record, Stamp, StoredRecord, RECORD_KINDS};
use quietlegs_core::food::{Food, Nutrients, Portion};
use quietlegs_core::reference::IrlsDefinition;
use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

/// The migrations, in order; migration N brings the schema to version N (rows of
/// `quietlegs_schema`).
pub(crate) const MIGRATIONS: &[&str] = &[
    include_str!("../migrations/postgres/0001_foods.sql"),
    include_str!("../migrations/postgres/0002_diary.sql"),
    include_str!("../migrations/postgres/0003_trials.sql"),
    include_str!("../migrations/postgres/0004_profile.sql"),
    include_str!("../migrations/postgres/0005_login.sql"),
    include_str!("../migrations/postgres/0006_clinic.sql"),
];

/// How long a caller waits for a pooled connection (or a new one) before `Unreachable`.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// A PostgreSQL advisory lock key ("QLEG"), held while migrations run so that two servers
/// starting at once apply each migration once.
const MIGRATION_LOCK: i32 = 0x514C_4547;

type Params<'a> = [&'a (dyn ToSql + Sync)];

impl From<postgres::Error> for StoreError {
    /// Classifies PostgreSQL's errors here, so that no client type leaves this module: the
    /// environment (a server that cannot be reached, serialization failures and lock timeouts,
    /// a read-only replica, a full disk) gets its own variants; a uniqueness violation is a
    /// conflict; the rest keep the server's message.
    fn from(e: postgres::Error) -> Self {
        if let Some(db) = e.as_db_error() {
            let code = db.code();
            let message = db.to_string();
            return if code == &SqlState::UNIQUE_VIOLATION {
                Self::Conflict(message)
            } else if [
                SqlState::T_R_SERIALIZATION_FAILURE,
                SqlState::T_R_DEADLOCK_DETECTED,
                SqlState::LOCK_NOT_AVAILABLE,
            ]
            .contains(code)
            {
                Self::Busy
            } else if code == &SqlState::READ_ONLY_SQL_TRANSACTION {
                Self::ReadOnly(message)
            } else if code == &SqlState::DISK_FULL {
                Self::DiskFull(message)
            } else if code.code().starts_with("08")
                || code.code().starts_with("53")
                || code.code().starts_with("57P")
            {
                // Connection exceptions, insufficient resources (too many connections),
                // a server shutting down or starting up.
                Self::Unreachable(message)
            } else {
                Self::Backend(message)
            };
        }
        // The client's own message is terse ("error connecting to server"): add its cause.
        let message = match std::error::Error::source(&e) {
            Some(cause) => format!("{e}: {cause}"),
            None => e.to_string(),
        };
        if e.is_closed() || std::error::Error::source(&e).is_some_and(|s| s.is::<std::io::Error>())
        {
            return Self::Unreachable(message);
        }
        Self::Backend(message)
    }
}

/// The URL as it may be shown: the password, if any, replaced by `***`.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _password)) => format!("{scheme}://{user}:***@{host}{tail}"),
            None => url.to_string(),
        },
        None => url.to_string(),
    }
}

/// A failure to connect: a server that cannot be reached is unavailable (try again); a
/// database that does not exist or refuses these credentials is the URL to change.
fn connect_error(url: &str, e: postgres::Error) -> StoreError {
    if let Some(db) = e.as_db_error() {
        let code = db.code().code();
        if code == SqlState::INVALID_CATALOG_NAME.code()
            || code.starts_with("28")
            || code == SqlState::INVALID_SCHEMA_NAME.code()
        {
            return StoreError::Open {
                path: redact_url(url),
                message: db.to_string(),
            };
        }
    }
    match StoreError::from(e) {
        StoreError::Unreachable(m) => StoreError::Unreachable(format!("{} ({m})", redact_url(url))),
        other => other,
    }
}

/// A pooled connection and its prepared statements (by SQL text).
struct Conn {
    client: Client,
    statements: HashMap<String, Statement>,
}

struct Manager {
    config: Config,
}

impl r2d2::ManageConnection for Manager {
    type Connection = Conn;
    type Error = postgres::Error;

    fn connect(&self) -> Result<Conn, postgres::Error> {
        Ok(Conn {
            client: self.config.connect(NoTls)?,
            statements: HashMap::new(),
        })
    }

    fn is_valid(&self, conn: &mut Conn) -> Result<(), postgres::Error> {
        conn.client.simple_query("").map(|_| ())
    }

    fn has_broken(&self, conn: &mut Conn) -> bool {
        conn.client.is_closed()
    }
}

/// One transaction on a pooled connection, preparing each statement once per connection.
pub(crate) struct Tx<'a> {
    tx: Transaction<'a>,
    statements: &'a mut HashMap<String, Statement>,
}

impl Tx<'_> {
    fn prepare(&mut self, sql: &str) -> Result<Statement, StoreError> {
        if let Some(s) = self.statements.get(sql) {
            return Ok(s.clone());
        }
        let s = self.tx.prepare(sql)?;
        self.statements.insert(sql.to_string(), s.clone());
        Ok(s)
    }

    pub(crate) fn query(&mut self, sql: &str, params: &Params<'_>) -> Result<Vec<Row>, StoreError> {
        let s = self.prepare(sql)?;
        Ok(self.tx.query(&s, params)?)
    }

    pub(crate) fn query_opt(
        &mut self,
        sql: &str,
        params: &Params<'_>,
    ) -> Result<Option<Row>, StoreError> {
        let s = self.prepare(sql)?;
        Ok(self.tx.query_opt(&s, params)?)
    }

    pub(crate) fn query_one(&mut self, sql: &str, params: &Params<'_>) -> Result<Row, StoreError> {
        let s = self.prepare(sql)?;
        Ok(self.tx.query_one(&s, params)?)
    }

    pub(crate) fn execute(&mut self, sql: &str, params: &Params<'_>) -> Result<u64, StoreError> {
        let s = self.prepare(sql)?;
        Ok(self.tx.execute(&s, params)?)
    }

    /// A savepoint inside this transaction: rolled back alone when dropped uncommitted.
    fn savepoint(&mut self) -> Result<Tx<'_>, StoreError> {
        Ok(Tx {
            tx: self.tx.savepoint("batch_record")?,
            statements: &mut *self.statements,
        })
    }

    fn commit(self) -> Result<(), StoreError> {
        Ok(self.tx.commit()?)
    }
}

/// How to connect (the defaults suit a server; tests and benchmarks change them).
#[derive(Debug, Clone)]
pub struct PgOptions {
    /// The most connections the pool opens (each concurrent caller holds one for one call).
    pub pool_size: u32,
    /// Migrate to this schema version instead of the latest (migration tests only).
    pub schema_version: Option<i64>,
}

impl Default for PgOptions {
    fn default() -> Self {
        Self {
            pool_size: 16,
            schema_version: None,
        }
    }
}

/// quietlegs in a PostgreSQL database (or in the schema a URL's `options=-csearch_path=…`
/// names).
///
/// `Send + Sync`: a pool of connections, each caller taking one for the length of one call,
/// so a server's threads write at once; every write is one transaction.
pub struct PgStore {
    pool: r2d2::Pool<Manager>,
    irls: IrlsDefinition,
}

impl PgStore {
    /// Connects to `url` (`postgres://user@host:port/database`, with any libpq-style
    /// parameters the `postgres` client takes) and brings the schema up to date.
    pub fn connect(url: &str) -> Result<Self, StoreError> {
        Self::connect_with(url, &PgOptions::default())
    }

    /// [`PgStore::connect`] with options.
    pub fn connect_with(url: &str, options: &PgOptions) -> Result<Self, StoreError> {
        let mut config: Config = url.parse().map_err(|e: postgres::Error| StoreError::Open {
            path: redact_url(url),
            message: format!("not a PostgreSQL URL: {e}"),
        })?;
        if config.get_application_name().is_none() {
            config.application_name("quietlegs");
        }
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        // The first connection is made here, so that a wrong URL or a stopped server gives its
        // own error (the pool only says it timed out); it runs the migrations.
        let mut client = config.connect(NoTls).map_err(|e| connect_error(url, e))?;
        let target = options
            .schema_version
            .unwrap_or_else(Self::latest_schema_version);
        migrate(&mut client, target)?;
        drop(client);
        let pool = r2d2::Pool::builder()
            .max_size(options.pool_size.max(1))
            .min_idle(Some(0))
            .connection_timeout(CONNECT_TIMEOUT)
            .error_handler(Box::new(r2d2::NopErrorHandler))
            .build_unchecked(Manager { config });
        let irls = quietlegs_core::ReferenceData::shipped()
            .map_err(|e| StoreError::Source(Box::new(e)))?
            .irls;
        Ok(Self { pool, irls })
    }

    /// The latest schema version this build knows.
    pub fn latest_schema_version() -> i64 {
        MIGRATIONS.len() as i64
    }

    /// The schema version of the database.
    pub fn schema_version(&self) -> Result<i64, StoreError> {
        self.read(|tx| Ok(tx.query_one(VERSION_SQL, &[])?.get(0)))
    }

    /// Applies migrations up to `target` (never down).
    pub fn migrate_to(&self, target: i64) -> Result<(), StoreError> {
        let mut conn = self.conn()?;
        // A migrated schema invalidates prepared plans: start this connection afresh.
        conn.statements.clear();
        migrate(&mut conn.client, target)
    }

    fn conn(&self) -> Result<r2d2::PooledConnection<Manager>, StoreError> {
        self.pool
            .get()
            .map_err(|e| StoreError::Unreachable(e.to_string()))
    }

    /// Runs `write` in one transaction (read committed), committed only if it succeeds.
    pub(crate) fn write<T>(
        &self,
        write: impl FnOnce(&mut Tx<'_>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut conn = self.conn()?;
        let Conn { client, statements } = &mut *conn;
        let tx = client
            .build_transaction()
            .isolation_level(IsolationLevel::ReadCommitted)
            .start()?;
        let mut tx = Tx { tx, statements };
        let out = write(&mut tx)?;
        tx.commit()?;
        Ok(out)
    }

    /// Runs `read` in one read-only repeatable-read transaction: what it reads from several
    /// tables comes from one snapshot even while others write.
    pub(crate) fn read<T>(
        &self,
        read: impl FnOnce(&mut Tx<'_>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut conn = self.conn()?;
        let Conn { client, statements } = &mut *conn;
        let tx = client
            .build_transaction()
            .isolation_level(IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()?;
        let mut tx = Tx { tx, statements };
        let out = read(&mut tx)?;
        tx.commit()?;
        Ok(out)
    }

    /// Records what kind of download a release was (known only once it has been read).
    pub fn set_food_release_kind(&self, release: &str, kind: &str) -> Result<(), StoreError> {
        self.write(|tx| {
            tx.execute(
                "UPDATE food_release SET kind = $2::text WHERE release = $1::text",
                &[&release, &kind],
            )?;
            Ok(())
        })
    }

    /// Everything of one person, read in one snapshot: the person's creation moment, profile,
    /// log-in secret, diary, trials with their seeds, and the imported foods (shared reference
    /// data the diary's food entries name). `None` when the identity has no person here.
    pub fn person_snapshot(&self, identity: &Identity) -> Result<Option<PersonData>, StoreError> {
        self.read(|tx| {
            let Some(row) = tx.query_opt(
                "SELECT id, created_at FROM person WHERE name = $1::text",
                &[&identity.name()],
            )?
            else {
                return Ok(None);
            };
            let person = PersonId(row.get(0));
            let created_at: String = row.get(1);
            let profile = profile_of(tx, person)?;
            let login = tx
                .query_opt(
                    "SELECT phc, updated_at FROM login WHERE person_id = $1::bigint",
                    &[&person.0],
                )?
                .map(|r| (r.get(0), r.get(1)));
            let records = read_records(tx, &self.irls, person, None, None)?;
            let mut trials = Vec::new();
            for id in trial_ids(tx, person)? {
                let trial = trial_row(tx, person, id)?;
                let seed = seed_of(tx, person, id)?;
                let tz = tx
                    .query_one("SELECT tz FROM trial WHERE id = $1::bigint", &[&id])?
                    .get(0);
                trials.push(SealedTrial { trial, seed, tz });
            }
            let releases = releases_of(tx)?;
            let foods = foods_of(tx)?;
            Ok(Some(PersonData {
                created_at,
                profile,
                login,
                records,
                trials,
                releases,
                foods,
            }))
        })
    }
}

const VERSION_SQL: &str = "SELECT COALESCE(max(version), 0)::bigint FROM quietlegs_schema";

/// Applies the migrations up to `target` in one transaction (PostgreSQL's DDL is
/// transactional: a failed migration leaves the schema as it was), under an advisory lock so
/// that servers starting together apply each once. A schema newer than this build is refused.
fn migrate(client: &mut Client, target: i64) -> Result<(), StoreError> {
    let latest = MIGRATIONS.len() as i64;
    let mut tx = client.transaction()?;
    tx.execute(
        "SELECT pg_advisory_xact_lock($1::integer, hashtext(current_schema()))",
        &[&MIGRATION_LOCK],
    )?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS quietlegs_schema (
             version    integer PRIMARY KEY,
             applied_at timestamptz NOT NULL DEFAULT now()
         )",
    )?;
    let current: i64 = tx.query_one(VERSION_SQL, &[])?.get(0);
    if current > latest {
        return Err(StoreError::TooNew {
            found: current,
            supported: latest,
        });
    }
    for version in current + 1..=target.min(latest) {
        tx.batch_execute(MIGRATIONS[(version - 1) as usize])?;
        tx.execute(
            "INSERT INTO quietlegs_schema (version) VALUES ($1::integer)",
            &[&(version as i32)],
        )?;
    }
    tx.commit()?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Foods.

const FOOD_COLUMNS: &str = "id, name, food_group, release, ndb, kcal, magnesium_mg, calcium_mg, \
                            iron_mg, potassium_mg, zinc_mg, sodium_mg, fiber_g";

fn food_from_row(r: &Row) -> Food {
    Food {
        id: r.get(0),
        name: r.get(1),
        group: r.get(2),
        release: r.get(3),
        ndb: r.get(4),
        per_100g: Nutrients {
            kcal: r.get(5),
            magnesium_mg: r.get(6),
            calcium_mg: r.get(7),
            iron_mg: r.get(8),
            potassium_mg: r.get(9),
            zinc_mg: r.get(10),
            sodium_mg: r.get(11),
            fiber_g: r.get(12),
        },
        portions: Vec::new(),
    }
}

fn foods_of(tx: &mut Tx<'_>) -> Result<Vec<Food>, StoreError> {
    let mut foods: Vec<Food> = tx
        .query(
            &format!("SELECT {FOOD_COLUMNS} FROM food ORDER BY ord"),
            &[],
        )?
        .iter()
        .map(food_from_row)
        .collect();
    let index: HashMap<String, usize> = foods
        .iter()
        .enumerate()
        .map(|(i, f)| (f.id.clone(), i))
        .collect();
    for r in tx.query(
        "SELECT food_id, amount, unit, grams, release FROM food_portion ORDER BY food_id, seq",
        &[],
    )? {
        let id: String = r.get(0);
        if let Some(&i) = index.get(&id) {
            foods[i].portions.push(Portion {
                amount: r.get(1),
                unit: r.get(2),
                grams: r.get(3),
                release: r.get(4),
            });
        }
    }
    Ok(foods)
}

fn releases_of(tx: &mut Tx<'_>) -> Result<Vec<FoodRelease>, StoreError> {
    Ok(tx
        .query(
            "SELECT release, kind, imported_at, foods FROM food_release \
             ORDER BY imported_at, release",
            &[],
        )?
        .iter()
        .map(|r| FoodRelease {
            release: r.get(0),
            kind: r.get(1),
            imported_at: r.get(2),
            foods: r.get::<_, i64>(3) as u64,
        })
        .collect())
}

fn profile_of(tx: &mut Tx<'_>, person: PersonId) -> Result<Option<StoredProfile>, StoreError> {
    Ok(tx
        .query_opt(
            "SELECT document, updated_at FROM profile WHERE person_id = $1::bigint",
            &[&person.0],
        )?
        .map(|r| StoredProfile {
            document: r.get(0),
            updated_at: r.get(1),
        }))
}

impl Store for PgStore {
    fn replace_food_release(
        &self,
        release: &FoodRelease,
        foods: &mut FoodStream<'_>,
    ) -> Result<u64, StoreError> {
        self.write(|tx| {
            tx.execute(
                "DELETE FROM food_release WHERE release = $1::text",
                &[&release.release],
            )?;
            tx.execute(
                "INSERT INTO food_release (release, kind, imported_at, foods) \
                 VALUES ($1::text, $2::text, $3::text, 0)",
                &[&release.release, &release.kind, &release.imported_at],
            )?;
            let mut count = 0i64;
            for item in foods {
                let f = item.map_err(StoreError::Source)?;
                let n = &f.per_100g;
                // A food id imported before (by another release) moves to this one, its
                // portions replaced: deleted (with its portions) and inserted again.
                tx.execute("DELETE FROM food WHERE id = $1::text", &[&f.id])?;
                tx.execute(
                    "INSERT INTO food (id, release, name, food_group, ndb, kcal, magnesium_mg, \
                     calcium_mg, iron_mg, potassium_mg, zinc_mg, sodium_mg, fiber_g) VALUES \
                     ($1::text, $2::text, $3::text, $4::text, $5::text, $6::float8, $7::float8, \
                     $8::float8, $9::float8, $10::float8, $11::float8, $12::float8, $13::float8)",
                    &[
                        &f.id,
                        &release.release,
                        &f.name,
                        &f.group,
                        &f.ndb,
                        &n.kcal,
                        &n.magnesium_mg,
                        &n.calcium_mg,
                        &n.iron_mg,
                        &n.potassium_mg,
                        &n.zinc_mg,
                        &n.sodium_mg,
                        &n.fiber_g,
                    ],
                )?;
                for (seq, p) in f.portions.iter().enumerate() {
                    tx.execute(
                        "INSERT INTO food_portion (food_id, seq, amount, unit, grams, release) \
                         VALUES ($1::text, $2::integer, $3::float8, $4::text, $5::float8, $6::text)",
                        &[
                            &f.id,
                            &(seq as i32 + 1),
                            &p.amount,
                            &p.unit,
                            &p.grams,
                            &p.release,
                        ],
                    )?;
                }
                count += 1;
            }
            tx.execute(
                "UPDATE food_release SET foods = $2::bigint WHERE release = $1::text",
                &[&release.release, &count],
            )?;
            Ok(count as u64)
        })
    }

    fn imported_foods(&self) -> Result<Vec<Food>, StoreError> {
        self.read(foods_of)
    }

    fn food_releases(&self) -> Result<Vec<FoodRelease>, StoreError> {
        self.read(releases_of)
    }

    fn remove_food_release(&self, release: &str) -> Result<u64, StoreError> {
        self.write(|tx| {
            if tx
                .query_opt(
                    "SELECT 1 FROM food_release WHERE release = $1::text FOR UPDATE",
                    &[&release],
                )?
                .is_none()
            {
                return Err(StoreError::NotFound {
                    kind: "food release".into(),
                    id: 0,
                });
            }
            tx.execute(
                "DELETE FROM food_portion WHERE release = $1::text",
                &[&release],
            )?;
            let foods = tx.execute("DELETE FROM food WHERE release = $1::text", &[&release])?;
            tx.execute(
                "DELETE FROM food_release WHERE release = $1::text",
                &[&release],
            )?;
            Ok(foods)
        })
    }

    fn person(&self, identity: &Identity, created_at: &str) -> Result<PersonId, StoreError> {
        let name = identity.name();
        self.write(|tx| {
            // Two first uses at once: the second waits for the first's row, then does nothing
            // and reads it (a new snapshot per statement under read committed).
            tx.execute(
                "INSERT INTO person (name, created_at) VALUES ($1::text, $2::text) \
                 ON CONFLICT (name) DO NOTHING",
                &[&name, &created_at],
            )?;
            let row = tx.query_one("SELECT id FROM person WHERE name = $1::text", &[&name])?;
            Ok(PersonId(row.get(0)))
        })
    }

    fn find_person(&self, identity: &Identity) -> Result<Option<PersonId>, StoreError> {
        self.read(|tx| {
            Ok(tx
                .query_opt(
                    "SELECT id FROM person WHERE name = $1::text",
                    &[&identity.name()],
                )?
                .map(|r| PersonId(r.get(0))))
        })
    }

    fn person_created_at(&self, person: PersonId) -> Result<String, StoreError> {
        self.read(|tx| {
            tx.query_opt(
                "SELECT created_at FROM person WHERE id = $1::bigint",
                &[&person.0],
            )?
            .map(|r| r.get(0))
            .ok_or(StoreError::NotFound {
                kind: "person".into(),
                id: person.0,
            })
        })
    }

    fn profile(&self, person: PersonId) -> Result<Option<StoredProfile>, StoreError> {
        self.read(|tx| profile_of(tx, person))
    }

    fn set_profile(&self, person: PersonId, profile: &StoredProfile) -> Result<(), StoreError> {
        self.write(|tx| {
            tx.execute(
                "INSERT INTO profile (person_id, document, updated_at) \
                 VALUES ($1::bigint, $2::text, $3::text) ON CONFLICT (person_id) DO UPDATE \
                 SET document = excluded.document, updated_at = excluded.updated_at",
                &[&person.0, &profile.document, &profile.updated_at],
            )?;
            Ok(())
        })
    }

    fn login_secret(&self, person: PersonId) -> Result<Option<String>, StoreError> {
        self.read(|tx| {
            Ok(tx
                .query_opt(
                    "SELECT phc FROM login WHERE person_id = $1::bigint",
                    &[&person.0],
                )?
                .map(|r| r.get(0)))
        })
    }

    fn set_login_secret(&self, person: PersonId, phc: &str, at: &str) -> Result<(), StoreError> {
        self.write(|tx| {
            tx.execute(
                "INSERT INTO login (person_id, phc, updated_at) \
                 VALUES ($1::bigint, $2::text, $3::text) ON CONFLICT (person_id) DO UPDATE \
                 SET phc = excluded.phc, updated_at = excluded.updated_at",
                &[&person.0, &phc, &at],
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
        if batch.is_empty() {
            return Vec::new();
        }
        let all_fail = |e: StoreError| batch.iter().map(|_| Err(e.for_each_write())).collect();
        let mut conn = match self.conn() {
            Ok(c) => c,
            Err(e) => return all_fail(e),
        };
        let Conn { client, statements } = &mut *conn;
        let tx = match client.transaction() {
            Ok(tx) => tx,
            Err(e) => return all_fail(e.into()),
        };
        let mut tx = Tx { tx, statements };
        let mut outcomes = Vec::with_capacity(batch.len());
        for n in batch {
            // Each record in its own savepoint: a refused one is rolled back alone and keeps
            // its own error. A failure of the savepoint itself spoils the transaction, so none
            // of the batch is kept (dropping `tx` rolls it back).
            let mut sp = match tx.savepoint() {
                Ok(sp) => sp,
                Err(e) => return all_fail(e),
            };
            match add_row(&mut sp, n.person, &n.record, &n.stamp, n.on_duplicate) {
                Ok(id) => match sp.commit() {
                    Ok(()) => outcomes.push(Ok(id)),
                    Err(e) => return all_fail(e),
                },
                Err(e) => {
                    if let Err(rollback) = sp.tx.rollback() {
                        return all_fail(rollback.into());
                    }
                    outcomes.push(Err(e));
                }
            }
        }
        match tx.commit() {
            Ok(()) => outcomes,
            Err(e) => outcomes
                .into_iter()
                .map(|o| o.and(Err(e.for_each_write())))
                .collect(),
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
                if let Some(other) =
                    existing_on_date(tx, table, person, record.date())?.filter(|o| *o != id)
                {
                    return Err(StoreError::Duplicate {
                        kind: record.kind().to_string(),
                        date: record.date().to_string(),
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
                &format!("DELETE FROM {table} WHERE id = $1::bigint AND person_id = $2::bigint"),
                &[&id, &person.0],
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
        table_of(kind)?;
        self.read(|tx| Ok(read_kind(tx, &self.irls, person, kind, Filter::Id(id))?.pop()))
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
            // The person's row is locked first, so that two imports (or an import and a log)
            // for one person take turns and the emptiness checked here still holds at commit.
            tx.execute(
                "SELECT 1 FROM person WHERE id = $1::bigint FOR UPDATE",
                &[&person.0],
            )?;
            let existing = read_records(tx, &self.irls, person, None, None)?.len();
            if existing > 0 {
                return Err(StoreError::NotEmpty(existing));
            }
            let mut kinds = Vec::new();
            for r in records {
                insert_row(tx, person, Some(r.id), &r.record, &r.stamp, false)?;
                if !kinds.contains(&r.record.kind()) {
                    kinds.push(r.record.kind());
                }
            }
            // Entries added later get ids above every imported one (the identity sequence
            // never goes back, so ids handed out meanwhile stay unique too).
            for kind in kinds {
                let table = table_of(kind)?;
                tx.execute(
                    &format!(
                        "SELECT setval(pg_get_serial_sequence('{table}', 'id'), GREATEST(\
                         (SELECT COALESCE(max(id), 0) FROM {table}), \
                         COALESCE(pg_sequence_last_value(pg_get_serial_sequence('{table}', 'id')::regclass), 0), 1))"
                    ),
                    &[],
                )?;
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

fn fields_of(kind: &str) -> Result<&'static [&'static str], StoreError> {
    quietlegs_core::diary::field_names(kind)
        .ok_or_else(|| StoreError::UnknownKind(kind.to_string()))
}

/// How a field is stored (the column types of 0002_diary.sql).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Column {
    /// smallint or bigint, read as bigint.
    Integer,
    /// double precision.
    Real,
    Text,
    /// time, "HH:MM" in the record.
    Time,
    /// smallint[], "3,2,1" in the record.
    List,
}

fn column_type(kind: &str, field: &str) -> Column {
    match (kind, field) {
        (
            _,
            "severity" | "sleep_quality" | "minutes_to_sleep" | "awakenings" | "total" | "diarrhea"
            | "nausea" | "cramps",
        ) => Column::Integer,
        (_, "hours_slept" | "elemental_mg" | "grams" | "magnesium_mg") => Column::Real,
        ("factor", "amount") => Column::Real,
        (_, "symptoms_began" | "time") => Column::Time,
        (_, "items" | "rls6") => Column::List,
        _ => Column::Text,
    }
}

/// The placeholder `$n` cast to the column's type.
fn placeholder(column: Column, n: usize) -> String {
    match column {
        Column::Integer => format!("${n}::bigint"),
        Column::Real => format!("${n}::float8"),
        Column::Text => format!("${n}::text"),
        Column::Time => format!("${n}::text::time"),
        Column::List => format!("string_to_array(${n}::text, ',')::smallint[]"),
    }
}

/// The column read back as the record's value.
fn selected(column: Column, name: &str) -> String {
    match column {
        Column::Integer => format!("{name}::bigint"),
        Column::Real | Column::Text => name.to_string(),
        Column::Time => format!("to_char({name}, 'HH24:MI')"),
        Column::List => format!("array_to_string({name}, ',')"),
    }
}

/// A value bound to a column of the given type (`None` for NULL).
fn bind(
    field: &str,
    column: Column,
    value: Option<FieldValue>,
) -> Result<Box<dyn ToSql + Sync>, StoreError> {
    let bad =
        |v: &FieldValue| StoreError::Backend(format!("{field}: '{v}' does not fit its column"));
    Ok(match column {
        Column::Integer => Box::new(
            value
                .map(|v| match v {
                    FieldValue::Integer(i) => Ok(i),
                    FieldValue::Text(ref t) => t.parse().map_err(|_| bad(&v)),
                    FieldValue::Real(_) => Err(bad(&v)),
                })
                .transpose()?,
        ),
        Column::Real => Box::new(
            value
                .map(|v| match v {
                    FieldValue::Real(r) => Ok(r),
                    // Every count quietlegs stores is far below 2^53: exact.
                    FieldValue::Integer(i) => Ok(i as f64),
                    FieldValue::Text(ref t) => t.parse().map_err(|_| bad(&v)),
                })
                .transpose()?,
        ),
        Column::Text | Column::Time | Column::List => Box::new(value.map(|v| v.to_string())),
    })
}

fn read_value(row: &Row, i: usize, column: Column) -> Option<FieldValue> {
    match column {
        Column::Integer => row.get::<_, Option<i64>>(i).map(FieldValue::Integer),
        Column::Real => row.get::<_, Option<f64>>(i).map(FieldValue::Real),
        Column::Text | Column::Time | Column::List => {
            row.get::<_, Option<String>>(i).map(FieldValue::Text)
        }
    }
}

fn existing_on_date(
    tx: &mut Tx<'_>,
    table: &str,
    person: PersonId,
    day: Date,
) -> Result<Option<i64>, StoreError> {
    Ok(tx
        .query_opt(
            &format!("SELECT id FROM {table} WHERE person_id = $1::bigint AND date = $2::date"),
            &[&person.0, &day],
        )?
        .map(|r| r.get(0)))
}

/// Adds one record: a second one-per-date record is refused or replaces the first, as
/// `on_duplicate` says. Two writers of the same date at once: the insert of the second waits
/// for the first to commit and then inserts nothing (`ON CONFLICT DO NOTHING`), and the second
/// finds the first's row: the same refusal as when it was already there.
fn add_row(
    tx: &mut Tx<'_>,
    person: PersonId,
    record: &Record,
    stamp: &Stamp,
    on_duplicate: OnDuplicate,
) -> Result<i64, StoreError> {
    if !record.one_per_date() {
        return insert_row(tx, person, None, record, stamp, false)?
            .ok_or_else(|| StoreError::Backend("an insert returned no id".into()));
    }
    let table = table_of(record.kind())?;
    // The row found may vanish before it is read (deleted by another writer): try again, a
    // few times.
    for _ in 0..3 {
        if let Some(existing) = existing_on_date(tx, table, person, record.date())? {
            return match on_duplicate {
                OnDuplicate::Refuse => Err(StoreError::Duplicate {
                    kind: record.kind().to_string(),
                    date: record.date().to_string(),
                    id: existing,
                }),
                OnDuplicate::Replace => {
                    update_row(tx, person, existing, record, &stamp.updated_at, &stamp.tz)?;
                    Ok(existing)
                }
            };
        }
        if let Some(id) = insert_row(tx, person, None, record, stamp, true)? {
            return Ok(id);
        }
    }
    Err(StoreError::Busy)
}

/// Inserts a record, with its id (an import) or a new one; `Ok(None)` when `if_free_date` and
/// the person already has a record of this kind on that date.
fn insert_row(
    tx: &mut Tx<'_>,
    person: PersonId,
    id: Option<i64>,
    record: &Record,
    stamp: &Stamp,
    if_free_date: bool,
) -> Result<Option<i64>, StoreError> {
    let kind = record.kind();
    let table = table_of(kind)?;
    let fields = record.fields();
    let mut cols: Vec<&str> = vec!["person_id", "date", "created_at", "updated_at", "tz"];
    let mut marks: Vec<String> = ["$1::bigint", "$2::date", "$3::text", "$4::text", "$5::text"]
        .map(String::from)
        .to_vec();
    let day = record.date();
    let mut values: Vec<Box<dyn ToSql + Sync>> = vec![
        Box::new(person.0),
        Box::new(day),
        Box::new(stamp.created_at.clone()),
        Box::new(stamp.updated_at.clone()),
        Box::new(stamp.tz.clone()),
    ];
    if let Some(id) = id {
        cols.push("id");
        values.push(Box::new(id));
        marks.push(format!("${}::bigint", values.len()));
    }
    for (field, value) in fields {
        let column = column_type(kind, field);
        cols.push(column_of(field));
        values.push(bind(field, column, Some(value))?);
        marks.push(placeholder(column, values.len()));
    }
    let on_conflict = if if_free_date {
        " ON CONFLICT (person_id, date) DO NOTHING"
    } else {
        ""
    };
    let sql = format!(
        "INSERT INTO {table} ({}) VALUES ({}){on_conflict} RETURNING id",
        cols.join(", "),
        marks.join(", ")
    );
    let params: Vec<&(dyn ToSql + Sync)> = values.iter().map(|v| v.as_ref()).collect();
    Ok(tx.query_opt(&sql, &params)?.map(|r| r.get(0)))
}

fn update_row(
    tx: &mut Tx<'_>,
    person: PersonId,
    id: i64,
    record: &Record,
    updated_at: &str,
    tz: &str,
) -> Result<u64, StoreError> {
    let kind = record.kind();
    let table = table_of(kind)?;
    let mut fields: BTreeMap<&str, FieldValue> = record.fields().into_iter().collect();
    // Every column is set, absent optional fields to NULL.
    let mut sets = vec![
        "date = $3::date".to_string(),
        "updated_at = $4::text".to_string(),
        "tz = $5::text".to_string(),
    ];
    let mut values: Vec<Box<dyn ToSql + Sync>> = vec![
        Box::new(id),
        Box::new(person.0),
        Box::new(record.date()),
        Box::new(updated_at.to_string()),
        Box::new(tz.to_string()),
    ];
    for field in fields_of(kind)? {
        let column = column_type(kind, field);
        values.push(bind(field, column, fields.remove(field))?);
        sets.push(format!(
            "{} = {}",
            column_of(field),
            placeholder(column, values.len())
        ));
    }
    let sql = format!(
        "UPDATE {table} SET {} WHERE id = $1::bigint AND person_id = $2::bigint",
        sets.join(", ")
    );
    let params: Vec<&(dyn ToSql + Sync)> = values.iter().map(|v| v.as_ref()).collect();
    tx.execute(&sql, &params)
}

/// The first and last dates PostgreSQL and jiff both hold: the open ends of a date range, so
/// that every range query is one indexable `BETWEEN`.
fn open_ends() -> (Date, Date) {
    (date(1, 1, 1), date(9999, 12, 31))
}

#[derive(Debug, Clone, Copy)]
enum Filter {
    Dates(Date, Date),
    Id(i64),
}

fn read_records(
    tx: &mut Tx<'_>,
    irls: &IrlsDefinition,
    person: PersonId,
    from: Option<Date>,
    to: Option<Date>,
) -> Result<Vec<StoredRecord>, StoreError> {
    let (first, last) = open_ends();
    let range = Filter::Dates(from.unwrap_or(first), to.unwrap_or(last));
    let mut out = Vec::new();
    for kind in RECORD_KINDS {
        out.extend(read_kind(tx, irls, person, kind, range)?);
    }
    Ok(out)
}

fn read_kind(
    tx: &mut Tx<'_>,
    irls: &IrlsDefinition,
    person: PersonId,
    kind: &str,
    filter: Filter,
) -> Result<Vec<StoredRecord>, StoreError> {
    let table = table_of(kind)?;
    let fields = fields_of(kind)?;
    let columns: Vec<Column> = fields.iter().map(|f| column_type(kind, f)).collect();
    let cols: Vec<String> = fields
        .iter()
        .zip(&columns)
        .map(|(f, c)| selected(*c, column_of(f)))
        .collect();
    let (condition, a, b): (&str, Box<dyn ToSql + Sync>, Option<Box<dyn ToSql + Sync>>) =
        match filter {
            Filter::Dates(from, to) => (
                "date BETWEEN $2::date AND $3::date",
                Box::new(from),
                Some(Box::new(to)),
            ),
            Filter::Id(id) => ("id = $2::bigint", Box::new(id), None),
        };
    let sql = format!(
        "SELECT id, date, created_at, updated_at, tz, {} FROM {table} \
         WHERE person_id = $1::bigint AND {condition} ORDER BY date, id",
        cols.join(", ")
    );
    let mut params: Vec<&(dyn ToSql + Sync)> = vec![&person.0, a.as_ref()];
    if let Some(b) = &b {
        params.push(b.as_ref());
    }
    let rows = tx.query(&sql, &params)?;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let id: i64 = row.get(0);
        let day: Date = row.get(1);
        let stamp = Stamp {
            created_at: row.get(2),
            updated_at: row.get(3),
            tz: row.get(4),
        };
        let mut values = BTreeMap::new();
        for (i, (field, column)) in fields.iter().zip(&columns).enumerate() {
            if let Some(v) = read_value(&row, 5 + i, *column) {
                values.insert(field.to_string(), v);
            }
        }
        let record =
            Record::from_values(kind, day, &values, irls).map_err(|e| StoreError::Corrupt {
                kind: kind.to_string(),
                id,
                message: e.to_string(),
            })?;
        out.push(StoredRecord { id, stamp, record });
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// Trials.

fn trial_not_found(id: i64) -> StoreError {
    StoreError::NotFound {
        kind: "trial".into(),
        id,
    }
}

fn trial_ids(tx: &mut Tx<'_>, person: PersonId) -> Result<Vec<i64>, StoreError> {
    Ok(tx
        .query(
            "SELECT id FROM trial WHERE person_id = $1::bigint ORDER BY id",
            &[&person.0],
        )?
        .iter()
        .map(|r| r.get(0))
        .collect())
}

/// A trial of the person's with its events and guesses (`NotFound` for another person's).
fn trial_row(tx: &mut Tx<'_>, person: PersonId, id: i64) -> Result<StoredTrial, StoreError> {
    let row = tx
        .query_opt(
            "SELECT name, plan_json, plan_hash, created_at FROM trial \
             WHERE id = $1::bigint AND person_id = $2::bigint",
            &[&id, &person.0],
        )?
        .ok_or_else(|| trial_not_found(id))?;
    let events = tx
        .query(
            "SELECT at, kind, detail FROM trial_event WHERE trial_id = $1::bigint ORDER BY id",
            &[&id],
        )?
        .iter()
        .map(|r| TrialEvent {
            at: r.get(0),
            kind: r.get(1),
            detail: r.get(2),
        })
        .collect();
    let guesses = tx
        .query(
            "SELECT period, guess, at FROM trial_guess WHERE trial_id = $1::bigint \
             ORDER BY period",
            &[&id],
        )?
        .iter()
        .map(|r| TrialGuess {
            period: r.get::<_, i64>(0) as usize,
            guess: r.get(1),
            at: r.get(2),
        })
        .collect();
    Ok(StoredTrial {
        id,
        name: row.get(0),
        plan_json: row.get(1),
        plan_hash: row.get(2),
        created_at: row.get(3),
        events,
        guesses,
    })
}

fn seed_of(tx: &mut Tx<'_>, person: PersonId, id: i64) -> Result<u64, StoreError> {
    let seed: String = tx
        .query_opt(
            "SELECT s.seed::text FROM trial_seal s JOIN trial t ON t.id = s.trial_id \
             WHERE t.id = $1::bigint AND t.person_id = $2::bigint",
            &[&id, &person.0],
        )?
        .ok_or_else(|| trial_not_found(id))?
        .get(0);
    seed.parse().map_err(|_| StoreError::Corrupt {
        kind: "trial".into(),
        id,
        message: "sealed seed unreadable".into(),
    })
}

/// Whether the trial is the person's (`NotFound` otherwise); locks it against a concurrent
/// delete for the rest of the transaction.
fn check_trial(tx: &mut Tx<'_>, person: PersonId, id: i64) -> Result<(), StoreError> {
    tx.query_opt(
        "SELECT 1 FROM trial WHERE id = $1::bigint AND person_id = $2::bigint FOR SHARE",
        &[&id, &person.0],
    )?
    .map(|_| ())
    .ok_or_else(|| trial_not_found(id))
}

impl TrialStore for PgStore {
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
            let inserted = tx.query_opt(
                "INSERT INTO trial (person_id, name, plan_json, plan_hash, created_at, tz) \
                 VALUES ($1::bigint, $2::text, $3::text, $4::text, $5::text, $6::text) \
                 ON CONFLICT (person_id, name) DO NOTHING RETURNING id",
                &[
                    &person.0,
                    &name,
                    &plan_json,
                    &plan_hash,
                    &stamp.created_at,
                    &stamp.tz,
                ],
            )?;
            let Some(row) = inserted else {
                let id = tx
                    .query_opt(
                        "SELECT id FROM trial WHERE person_id = $1::bigint AND name = $2::text",
                        &[&person.0, &name],
                    )?
                    .map_or(0, |r| r.get(0));
                return Err(StoreError::Duplicate {
                    kind: "trial".into(),
                    date: name.into(),
                    id,
                });
            };
            let id: i64 = row.get(0);
            tx.execute(
                "INSERT INTO trial_seal (trial_id, seed) VALUES ($1::bigint, $2::text::numeric)",
                &[&id, &seed.to_string()],
            )?;
            Ok(id)
        })
    }

    fn trials(&self, person: PersonId) -> Result<Vec<StoredTrial>, StoreError> {
        self.read(|tx| {
            trial_ids(tx, person)?
                .into_iter()
                .map(|id| trial_row(tx, person, id))
                .collect()
        })
    }

    fn trial(&self, person: PersonId, id: i64) -> Result<StoredTrial, StoreError> {
        self.read(|tx| trial_row(tx, person, id))
    }

    fn unseal_trial(&self, person: PersonId, id: i64) -> Result<u64, StoreError> {
        self.read(|tx| seed_of(tx, person, id))
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
                "INSERT INTO trial_event (trial_id, at, kind, detail) \
                 VALUES ($1::bigint, $2::text, $3::text, $4::text)",
                &[&id, &event.at, &event.kind, &event.detail],
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
                "INSERT INTO trial_guess (trial_id, period, guess, at) \
                 VALUES ($1::bigint, $2::bigint, $3::text, $4::text) \
                 ON CONFLICT (trial_id, period) DO UPDATE \
                 SET guess = excluded.guess, at = excluded.at",
                &[&id, &(guess.period as i64), &guess.guess, &guess.at],
            )?;
            Ok(())
        })
    }

    fn delete_trial(&self, person: PersonId, id: i64) -> Result<(), StoreError> {
        self.write(|tx| {
            let n = tx.execute(
                "DELETE FROM trial WHERE id = $1::bigint AND person_id = $2::bigint",
                &[&id, &person.0],
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

    #[test]
    fn urls_are_shown_without_their_password() {
        assert_eq!(
            redact_url("postgres://ann:s3cret@db.example:5432/ql?sslmode=disable"),
            "postgres://ann:***@db.example:5432/ql?sslmode=disable"
        );
        assert_eq!(
            redact_url("postgresql://ann@localhost/ql"),
            "postgresql://ann@localhost/ql"
        );
        assert_eq!(
            redact_url("postgres://localhost/ql?user=a@b"),
            "postgres://localhost/ql?user=a@b"
        );
    }

    #[test]
    fn every_field_of_every_kind_has_a_column_type_matching_its_value() {
        use quietlegs_core::diary::field_names;
        // From 0002_diary.sql: the columns declared numeric.
        let expect = |kind: &str, field: &str| match field {
            "severity" | "sleep_quality" | "minutes_to_sleep" | "awakenings" | "total"
            | "diarrhea" | "nausea" | "cramps" => Column::Integer,
            "hours_slept" | "elemental_mg" | "grams" | "magnesium_mg" => Column::Real,
            "amount" if kind == "factor" => Column::Real,
            "symptoms_began" | "time" => Column::Time,
            "items" | "rls6" => Column::List,
            _ => Column::Text,
        };
        for kind in RECORD_KINDS {
            for field in field_names(kind).unwrap() {
                assert_eq!(
                    column_type(kind, field),
                    expect(kind, field),
                    "{kind}.{field}"
                );
            }
        }
        assert_eq!(column_type("food", "amount"), Column::Text);
    }
}
