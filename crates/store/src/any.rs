//! Where the data lives ([`Database`]: a SQLite file or a PostgreSQL URL) and the store opened
//! there ([`AnyStore`]), so that the application and its shells name no backend.

use crate::clinic::{
    Account, AccountId, AuditEntry, CareLink, ClinicStore, HelperLink, Invitation, LiveSession,
    LoginFailures, NewAccount, NewInvitation, NewSession, TokenHash,
};
use crate::{
    FoodRelease, FoodStream, Identity, NewRecord, OnDuplicate, PersonId, PgStore, SqliteStore,
    Store, StoreError, StoredProfile, StoredTrial, TrialEvent, TrialGuess, TrialStore,
};
use jiff::civil::Date;
use quietlegs_core::diary::{Record, Stamp, StoredRecord};
use quietlegs_core::food::Food;
use std::fmt;
use std::path::{Path, PathBuf};

/// Where quietlegs keeps its data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Database {
    /// A SQLite file: one person's diary on their own computer (the default).
    File(PathBuf),
    /// A PostgreSQL database by URL (`postgres://…`): many people on a server.
    Server(String),
}

impl Database {
    /// The database a command uses: `--database-url`, else `--db`, else the environment
    /// (`QUIETLEGS_DATABASE_URL`, else `QUIETLEGS_DB`), else the SQLite file in the platform
    /// data directory. A flag beats the environment; a URL that is not `postgres://` or
    /// `postgresql://` is refused, naming where it came from.
    pub fn choose(file: Option<PathBuf>, url: Option<String>) -> Result<Self, StoreError> {
        if let Some(url) = url {
            return Self::server(url, "--database-url");
        }
        if file.is_some() {
            return Ok(Self::File(crate::database_path(file)?));
        }
        if let Some(url) = std::env::var_os("QUIETLEGS_DATABASE_URL") {
            let url = url.into_string().map_err(|_| StoreError::Open {
                path: "QUIETLEGS_DATABASE_URL".into(),
                message: "is not valid UTF-8".into(),
            })?;
            return Self::server(url, "QUIETLEGS_DATABASE_URL");
        }
        Ok(Self::File(crate::database_path(None)?))
    }

    fn server(url: String, source: &str) -> Result<Self, StoreError> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Self::Server(url))
        } else {
            Err(StoreError::Open {
                path: source.into(),
                message: format!(
                    "'{}' is not a PostgreSQL URL: allowed postgres://USER@HOST:PORT/DATABASE \
                     (or postgresql://…)",
                    crate::redact_url(&url)
                ),
            })
        }
    }

    /// Whether there is anything to read yet: a SQLite file that exists, or any server (whose
    /// schema is created on first use).
    pub fn exists(&self) -> bool {
        match self {
            Self::File(path) => path.exists(),
            Self::Server(_) => true,
        }
    }

    /// The SQLite file, when it is one.
    pub fn file(&self) -> Option<&Path> {
        match self {
            Self::File(path) => Some(path),
            Self::Server(_) => None,
        }
    }

    /// How the database is shown to the person: the path, or the URL without its password.
    pub fn display(&self) -> DatabaseDisplay<'_> {
        DatabaseDisplay(self)
    }
}

impl From<&Path> for Database {
    fn from(path: &Path) -> Self {
        Self::File(path.to_path_buf())
    }
}

impl From<&PathBuf> for Database {
    fn from(path: &PathBuf) -> Self {
        Self::File(path.clone())
    }
}

impl From<PathBuf> for Database {
    fn from(path: PathBuf) -> Self {
        Self::File(path)
    }
}

impl From<&Database> for Database {
    fn from(db: &Database) -> Self {
        db.clone()
    }
}

/// [`Database::display`].
pub struct DatabaseDisplay<'a>(&'a Database);

impl fmt::Display for DatabaseDisplay<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Database::File(path) => write!(f, "{}", path.display()),
            Database::Server(url) => f.write_str(&crate::redact_url(url)),
        }
    }
}

/// A store of either backend; every method goes to the backend's own.
pub enum AnyStore {
    Sqlite(SqliteStore),
    Postgres(PgStore),
}

impl From<SqliteStore> for AnyStore {
    fn from(s: SqliteStore) -> Self {
        Self::Sqlite(s)
    }
}

impl From<PgStore> for AnyStore {
    fn from(s: PgStore) -> Self {
        Self::Postgres(s)
    }
}

impl AnyStore {
    /// Opens the database for writing (a SQLite file is created if needed; a PostgreSQL
    /// schema is migrated).
    pub fn open(db: &Database) -> Result<Self, StoreError> {
        Ok(match db {
            Database::File(path) => Self::Sqlite(SqliteStore::open(path)?),
            Database::Server(url) => Self::Postgres(PgStore::connect(url)?),
        })
    }

    /// Opens an existing database for reading (a SQLite file read-only; a PostgreSQL database
    /// as for writing: readers there never block writers).
    pub fn open_read_only(db: &Database) -> Result<Self, StoreError> {
        Ok(match db {
            Database::File(path) => Self::Sqlite(SqliteStore::open_read_only(path)?),
            Database::Server(url) => Self::Postgres(PgStore::connect(url)?),
        })
    }

    /// Records what kind of download a food release was.
    pub fn set_food_release_kind(&self, release: &str, kind: &str) -> Result<(), StoreError> {
        match self {
            Self::Sqlite(s) => s.set_food_release_kind(release, kind),
            Self::Postgres(s) => s.set_food_release_kind(release, kind),
        }
    }

    /// A backup in a new SQLite file at `path` that `--db path` opens. SQLite: the whole file
    /// (SQLite's online backup). PostgreSQL: `identity`'s data only, read in one snapshot
    /// ([`crate::PersonData`]), never another person's. Written to a private temporary file,
    /// checked, synced and renamed: a failed backup leaves nothing behind.
    pub fn backup_to(&self, identity: &Identity, path: &Path) -> Result<(), StoreError> {
        match self {
            Self::Sqlite(s) => s.backup_to(path),
            Self::Postgres(s) => {
                let data = s
                    .person_snapshot(identity)?
                    .ok_or_else(|| StoreError::Open {
                        path: path.display().to_string(),
                        message: "nothing to back up: this person has no data in the database"
                            .into(),
                    })?;
                SqliteStore::write_person_copy(path, identity, &data)
            }
        }
    }
}

/// Every method to the backend's own.
macro_rules! each {
    ($self:ident, $s:ident => $call:expr) => {
        match $self {
            AnyStore::Sqlite($s) => $call,
            AnyStore::Postgres($s) => $call,
        }
    };
}

impl Store for AnyStore {
    fn replace_food_release(
        &self,
        release: &FoodRelease,
        foods: &mut FoodStream<'_>,
    ) -> Result<u64, StoreError> {
        each!(self, s => s.replace_food_release(release, foods))
    }
    fn imported_foods(&self) -> Result<Vec<Food>, StoreError> {
        each!(self, s => s.imported_foods())
    }
    fn food_releases(&self) -> Result<Vec<FoodRelease>, StoreError> {
        each!(self, s => s.food_releases())
    }
    fn remove_food_release(&self, release: &str) -> Result<u64, StoreError> {
        each!(self, s => s.remove_food_release(release))
    }
    fn person(&self, identity: &Identity, created_at: &str) -> Result<PersonId, StoreError> {
        each!(self, s => s.person(identity, created_at))
    }
    fn find_person(&self, identity: &Identity) -> Result<Option<PersonId>, StoreError> {
        each!(self, s => s.find_person(identity))
    }
    fn person_created_at(&self, person: PersonId) -> Result<String, StoreError> {
        each!(self, s => s.person_created_at(person))
    }
    fn profile(&self, person: PersonId) -> Result<Option<StoredProfile>, StoreError> {
        each!(self, s => s.profile(person))
    }
    fn set_profile(&self, person: PersonId, profile: &StoredProfile) -> Result<(), StoreError> {
        each!(self, s => s.set_profile(person, profile))
    }
    fn login_secret(&self, person: PersonId) -> Result<Option<String>, StoreError> {
        each!(self, s => s.login_secret(person))
    }
    fn set_login_secret(&self, person: PersonId, phc: &str, at: &str) -> Result<(), StoreError> {
        each!(self, s => s.set_login_secret(person, phc, at))
    }
    fn add_record(
        &self,
        person: PersonId,
        record: &Record,
        stamp: &Stamp,
        on_duplicate: OnDuplicate,
    ) -> Result<i64, StoreError> {
        each!(self, s => s.add_record(person, record, stamp, on_duplicate))
    }
    fn add_records(&self, batch: &[NewRecord]) -> Vec<Result<i64, StoreError>> {
        each!(self, s => s.add_records(batch))
    }
    fn update_record(
        &self,
        person: PersonId,
        id: i64,
        record: &Record,
        updated_at: &str,
        tz: &str,
    ) -> Result<(), StoreError> {
        each!(self, s => s.update_record(person, id, record, updated_at, tz))
    }
    fn delete_record(&self, person: PersonId, kind: &str, id: i64) -> Result<(), StoreError> {
        each!(self, s => s.delete_record(person, kind, id))
    }
    fn record(
        &self,
        person: PersonId,
        kind: &str,
        id: i64,
    ) -> Result<Option<StoredRecord>, StoreError> {
        each!(self, s => s.record(person, kind, id))
    }
    fn records(
        &self,
        person: PersonId,
        from: Option<Date>,
        to: Option<Date>,
    ) -> Result<Vec<StoredRecord>, StoreError> {
        each!(self, s => s.records(person, from, to))
    }
    fn import_records(
        &self,
        person: PersonId,
        records: &[StoredRecord],
    ) -> Result<usize, StoreError> {
        each!(self, s => s.import_records(person, records))
    }
}

impl TrialStore for AnyStore {
    fn create_trial(
        &self,
        person: PersonId,
        name: &str,
        plan_json: &str,
        plan_hash: &str,
        seed: u64,
        stamp: &Stamp,
    ) -> Result<i64, StoreError> {
        each!(self, s => s.create_trial(person, name, plan_json, plan_hash, seed, stamp))
    }
    fn trials(&self, person: PersonId) -> Result<Vec<StoredTrial>, StoreError> {
        each!(self, s => s.trials(person))
    }
    fn trial(&self, person: PersonId, id: i64) -> Result<StoredTrial, StoreError> {
        each!(self, s => s.trial(person, id))
    }
    fn unseal_trial(&self, person: PersonId, id: i64) -> Result<u64, StoreError> {
        each!(self, s => s.unseal_trial(person, id))
    }
    fn add_trial_event(
        &self,
        person: PersonId,
        id: i64,
        event: &TrialEvent,
    ) -> Result<(), StoreError> {
        each!(self, s => s.add_trial_event(person, id, event))
    }
    fn record_guess(
        &self,
        person: PersonId,
        id: i64,
        guess: &TrialGuess,
    ) -> Result<(), StoreError> {
        each!(self, s => s.record_guess(person, id, guess))
    }
    fn delete_trial(&self, person: PersonId, id: i64) -> Result<(), StoreError> {
        each!(self, s => s.delete_trial(person, id))
    }
}

impl ClinicStore for AnyStore {
    fn create_account(&self, new: &NewAccount<'_>) -> Result<Account, StoreError> {
        each!(self, s => s.create_account(new))
    }
    fn account_by_username(&self, username: &str) -> Result<Option<(Account, String)>, StoreError> {
        each!(self, s => s.account_by_username(username))
    }
    fn account(&self, id: AccountId) -> Result<Option<Account>, StoreError> {
        each!(self, s => s.account(id))
    }
    fn accounts(&self) -> Result<Vec<Account>, StoreError> {
        each!(self, s => s.accounts())
    }
    fn set_account_password(&self, id: AccountId, phc: &str, at: &str) -> Result<(), StoreError> {
        each!(self, s => s.set_account_password(id, phc, at))
    }
    fn delete_account(&self, id: AccountId) -> Result<(), StoreError> {
        each!(self, s => s.delete_account(id))
    }
    fn open_session(
        &self,
        session: &NewSession,
        replacing: Option<&TokenHash>,
    ) -> Result<(), StoreError> {
        each!(self, s => s.open_session(session, replacing))
    }
    fn session(
        &self,
        token: &TokenHash,
        now: i64,
        idle_seconds: i64,
        touch_after: i64,
    ) -> Result<Option<LiveSession>, StoreError> {
        each!(self, s => s.session(token, now, idle_seconds, touch_after))
    }
    fn close_session(&self, token: &TokenHash) -> Result<(), StoreError> {
        each!(self, s => s.close_session(token))
    }
    fn close_sessions_of(&self, id: AccountId) -> Result<u64, StoreError> {
        each!(self, s => s.close_sessions_of(id))
    }
    fn login_failures(&self, key: &str) -> Result<Option<LoginFailures>, StoreError> {
        each!(self, s => s.login_failures(key))
    }
    fn record_login_failure(
        &self,
        key: &str,
        now: i64,
        forget_before: i64,
    ) -> Result<u32, StoreError> {
        each!(self, s => s.record_login_failure(key, now, forget_before))
    }
    fn clear_login_failures(&self, key: &str) -> Result<(), StoreError> {
        each!(self, s => s.clear_login_failures(key))
    }
    fn create_invitation(&self, new: &NewInvitation<'_>) -> Result<i64, StoreError> {
        each!(self, s => s.create_invitation(new))
    }
    fn invitations_of(&self, clinician: AccountId) -> Result<Vec<Invitation>, StoreError> {
        each!(self, s => s.invitations_of(clinician))
    }
    fn invitation_by_token(&self, token: &TokenHash) -> Result<Option<Invitation>, StoreError> {
        each!(self, s => s.invitation_by_token(token))
    }
    fn accept_invitation(
        &self,
        token: &TokenHash,
        participant: AccountId,
        now: i64,
    ) -> Result<CareLink, StoreError> {
        each!(self, s => s.accept_invitation(token, participant, now))
    }
    fn withdraw_invitation(
        &self,
        clinician: AccountId,
        id: i64,
        now: i64,
    ) -> Result<(), StoreError> {
        each!(self, s => s.withdraw_invitation(clinician, id, now))
    }
    fn care_links_of(&self, id: AccountId) -> Result<Vec<CareLink>, StoreError> {
        each!(self, s => s.care_links_of(id))
    }
    fn end_care_link(
        &self,
        clinician: AccountId,
        participant: AccountId,
    ) -> Result<(), StoreError> {
        each!(self, s => s.end_care_link(clinician, participant))
    }
    fn linked_participant(
        &self,
        clinician: AccountId,
        participant: i64,
    ) -> Result<Option<Account>, StoreError> {
        each!(self, s => s.linked_participant(clinician, participant))
    }
    fn create_password_reset(
        &self,
        account: AccountId,
        token: &TokenHash,
        now: i64,
        expires_at: i64,
    ) -> Result<(), StoreError> {
        each!(self, s => s.create_password_reset(account, token, now, expires_at))
    }
    fn password_reset(&self, token: &TokenHash, now: i64) -> Result<Option<Account>, StoreError> {
        each!(self, s => s.password_reset(token, now))
    }
    fn use_password_reset(
        &self,
        token: &TokenHash,
        now: i64,
        phc: &str,
        at: &str,
    ) -> Result<Account, StoreError> {
        each!(self, s => s.use_password_reset(token, now, phc, at))
    }
    fn create_helper_link(
        &self,
        token: &TokenHash,
        person: PersonId,
        trial_id: i64,
        helper: &str,
        now: i64,
    ) -> Result<(), StoreError> {
        each!(self, s => s.create_helper_link(token, person, trial_id, helper, now))
    }
    fn helper_link(&self, token: &TokenHash) -> Result<Option<HelperLink>, StoreError> {
        each!(self, s => s.helper_link(token))
    }
    fn use_helper_link(&self, token: &TokenHash) -> Result<bool, StoreError> {
        each!(self, s => s.use_helper_link(token))
    }
    fn append_audit(&self, subject: PersonId, entry: &AuditEntry) -> Result<(), StoreError> {
        each!(self, s => s.append_audit(subject, entry))
    }
    fn audit_of(&self, subject: PersonId) -> Result<Vec<AuditEntry>, StoreError> {
        each!(self, s => s.audit_of(subject))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_url_must_be_postgres_and_a_flag_beats_the_environment() {
        let db = Database::choose(None, Some("postgres://u@h/d".into())).unwrap();
        assert_eq!(db, Database::Server("postgres://u@h/d".into()));
        let db = Database::choose(Some("x.sqlite3".into()), None).unwrap();
        assert_eq!(db, Database::File("x.sqlite3".into()));
        let err = Database::choose(None, Some("mysql://u:pw@h/d".into())).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("--database-url"), "{text}");
        assert!(!text.contains("pw"), "the password is not shown: {text}");
        assert_eq!(err.kind(), crate::ErrorKind::BadInput);
    }

    #[test]
    fn a_server_is_shown_without_its_password() {
        let db = Database::Server("postgres://ann:s3cret@h:5432/d".into());
        assert_eq!(db.display().to_string(), "postgres://ann:***@h:5432/d");
    }
}
