//! The clinic server's records: accounts with a role, sessions, the log-in throttle,
//! invitations and the care links they make, one-time password-reset links and the append-only
//! audit log. One trait, [`ClinicStore`], implemented by both backends and checked by the same
//! conformance suite.
//!
//! Everything a server instance needs to answer a request lives here, not in the process, so
//! that several instances can serve one database side by side.
//!
//! Secrets are never stored: passwords only as argon2id PHC strings, session, invitation and
//! reset tokens only as their SHA-256 ([`TokenHash`]). Moments that are compared (expiry,
//! throttling) are Unix seconds; moments that are shown (the audit log) are RFC 3339 text.

use serde::Serialize;

use crate::{PersonId, StoreError};

/// What an accepted invitation shows as its participant once their account is deleted.
pub const DELETED_ACCOUNT: &str = "(a deleted account)";

/// What an account may do. A participant keeps a diary; a clinician sees the participants
/// linked to them; an admin manages accounts and sees no health data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    Participant,
    Clinician,
    Admin,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Participant, Role::Clinician, Role::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Participant => "participant",
            Role::Clinician => "clinician",
            Role::Admin => "admin",
        }
    }

    pub fn parse(text: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == text)
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Who did something recorded in the audit log: an account of a role, or the helper of a
/// blinded trial (a named third person without an account, by their one-time link).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Actor {
    Participant,
    Clinician,
    Admin,
    Helper,
}

impl Actor {
    pub fn as_str(self) -> &'static str {
        match self {
            Actor::Participant => "participant",
            Actor::Clinician => "clinician",
            Actor::Admin => "admin",
            Actor::Helper => "helper",
        }
    }

    pub fn parse(text: &str) -> Option<Actor> {
        [
            Actor::Participant,
            Actor::Clinician,
            Actor::Admin,
            Actor::Helper,
        ]
        .into_iter()
        .find(|a| a.as_str() == text)
    }
}

impl From<Role> for Actor {
    fn from(r: Role) -> Self {
        match r {
            Role::Participant => Actor::Participant,
            Role::Clinician => Actor::Clinician,
            Role::Admin => Actor::Admin,
        }
    }
}

impl std::fmt::Display for Actor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An account, by the number the store gave it. Made only by a store, like [`PersonId`]; its
/// number may be shown (in a page address), but reaching a participant from a number goes
/// through [`ClinicStore::linked_participant`], which checks the care link.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AccountId(pub(crate) i64);

impl AccountId {
    /// The number, for page addresses and logs.
    pub fn number(self) -> i64 {
        self.0
    }
}

/// An account as stored (without its password hash).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub id: AccountId,
    pub username: String,
    pub role: Role,
    /// The person whose diary this account keeps (for a clinician or admin: an empty one).
    pub person: PersonId,
    pub created_at: String,
}

/// A new account for [`ClinicStore::create_account`].
#[derive(Debug, Clone)]
pub struct NewAccount<'a> {
    /// Checked by the caller (the application layer's username rule).
    pub username: &'a str,
    pub role: Role,
    /// An argon2id PHC string.
    pub phc: &'a str,
    /// RFC 3339.
    pub at: &'a str,
}

/// The SHA-256 of a token (a session, an invitation, a reset link): the store never sees the
/// token itself, so a copy of the database opens no session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TokenHash(pub [u8; 32]);

/// A session to open: the hash of its token, its account and its expiry (Unix seconds).
#[derive(Debug, Clone, Copy)]
pub struct NewSession {
    pub token: TokenHash,
    pub account: AccountId,
    pub now: i64,
    /// The session ends at this moment whatever happens (absolute expiry).
    pub absolute_expiry: i64,
}

/// A live session's account and moments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveSession {
    pub account: Account,
    pub created_at: i64,
    pub last_seen: i64,
    pub absolute_expiry: i64,
}

/// Consecutive failed log-ins for one key (an account or a client address).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoginFailures {
    pub count: u32,
    /// Unix seconds of the latest failure.
    pub last_at: i64,
}

/// An invitation as its clinician sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invitation {
    pub id: i64,
    pub clinician: AccountId,
    /// The clinician's username, shown to the person invited.
    pub clinician_username: String,
    /// What the clinician noted to recognise it (never shown to anyone else).
    pub label: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub state: InvitationState,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InvitationState {
    Open,
    Accepted { by: String, at: i64 },
    Withdrawn { at: i64 },
}

/// A new invitation for [`ClinicStore::create_invitation`].
#[derive(Debug, Clone, Copy)]
pub struct NewInvitation<'a> {
    pub token: TokenHash,
    pub clinician: AccountId,
    pub label: &'a str,
    pub now: i64,
    pub expires_at: i64,
}

/// A live link between a clinician and a participant (made when the participant accepted an
/// invitation; ended, by either, by deleting it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CareLink {
    pub clinician: Account,
    pub participant: Account,
    /// Unix seconds.
    pub since: i64,
}

/// One line of the audit log: who did what to whose data, when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditEntry {
    /// RFC 3339.
    pub at: String,
    /// The actor's username at that moment (kept if their account is later deleted).
    pub actor: String,
    pub actor_role: Actor,
    /// What was done, a short verb phrase ("read the report", "set up a trial").
    pub action: String,
    /// Which part, in words (never health data).
    pub detail: String,
}

/// A link to a blinded trial's helper sheet (for the helper a clinician named).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HelperLink {
    pub person: PersonId,
    pub trial_id: i64,
    /// The helper's name as the clinician gave it.
    pub helper: String,
    pub created_at: i64,
    /// How many times the sheet was opened (before this opening).
    pub opened: u32,
}

/// The clinic's accounts, sessions, invitations, links, resets and audit log (`Send + Sync`
/// like [`crate::Store`]; every write one transaction).
pub trait ClinicStore: Send + Sync {
    /// Creates an account and its (empty) person; a username already taken is a `Conflict`.
    fn create_account(&self, new: &NewAccount<'_>) -> Result<Account, StoreError>;

    /// The account of a username, with its password hash.
    fn account_by_username(&self, username: &str) -> Result<Option<(Account, String)>, StoreError>;

    /// One account.
    fn account(&self, id: AccountId) -> Result<Option<Account>, StoreError>;

    /// Every account, by username (for the admin).
    fn accounts(&self) -> Result<Vec<Account>, StoreError>;

    /// Replaces the password hash and ends every session of the account, in one transaction.
    fn set_account_password(&self, id: AccountId, phc: &str, at: &str) -> Result<(), StoreError>;

    /// Removes the account and everything of its person: the diary, profile, trials, sessions,
    /// invitations, care links, reset links and the audit entries about them (one transaction).
    /// `NotFound` when there is no such account.
    fn delete_account(&self, id: AccountId) -> Result<(), StoreError>;

    /// Opens a session. `replacing`: the session the browser held before (if any), ended in
    /// the same transaction (a log-in always starts a new session: no fixation).
    fn open_session(
        &self,
        session: &NewSession,
        replacing: Option<&TokenHash>,
    ) -> Result<(), StoreError>;

    /// The session of a token if it is live at `now`: not past its absolute expiry and seen
    /// within `idle_seconds`. A live session's last-seen moment is moved to `now` when it is
    /// at least `touch_after` seconds old (so that not every request writes). An expired
    /// session is removed.
    fn session(
        &self,
        token: &TokenHash,
        now: i64,
        idle_seconds: i64,
        touch_after: i64,
    ) -> Result<Option<LiveSession>, StoreError>;

    /// Ends one session (log-out); nothing happens for an unknown token.
    fn close_session(&self, token: &TokenHash) -> Result<(), StoreError>;

    /// Ends every session of an account; returns how many.
    fn close_sessions_of(&self, id: AccountId) -> Result<u64, StoreError>;

    /// The failed log-ins recorded under `key`.
    fn login_failures(&self, key: &str) -> Result<Option<LoginFailures>, StoreError>;

    /// Counts one more failed log-in under `key` at `now`; returns the new count. A count whose
    /// latest failure is before `forget_before` starts again at 1 (a quiet spell is forgotten;
    /// `i64::MIN` never forgets).
    fn record_login_failure(
        &self,
        key: &str,
        now: i64,
        forget_before: i64,
    ) -> Result<u32, StoreError>;

    /// Forgets the failures under `key` (after a successful log-in).
    fn clear_login_failures(&self, key: &str) -> Result<(), StoreError>;

    /// Stores an invitation; returns its id.
    fn create_invitation(&self, new: &NewInvitation<'_>) -> Result<i64, StoreError>;

    /// The clinician's invitations, newest first.
    fn invitations_of(&self, clinician: AccountId) -> Result<Vec<Invitation>, StoreError>;

    /// The invitation of a token (whatever its state).
    fn invitation_by_token(&self, token: &TokenHash) -> Result<Option<Invitation>, StoreError>;

    /// Accepts an open, unexpired invitation for `participant` (who must be a participant) and
    /// makes the care link, in one transaction. Refused (`Conflict`) when the invitation was
    /// used, withdrawn or has expired, `NotFound` when there is none.
    fn accept_invitation(
        &self,
        token: &TokenHash,
        participant: AccountId,
        now: i64,
    ) -> Result<CareLink, StoreError>;

    /// Withdraws one of the clinician's open invitations (`NotFound` for another's).
    fn withdraw_invitation(
        &self,
        clinician: AccountId,
        id: i64,
        now: i64,
    ) -> Result<(), StoreError>;

    /// The live care links of an account (as clinician or as participant), by username.
    fn care_links_of(&self, id: AccountId) -> Result<Vec<CareLink>, StoreError>;

    /// Ends the link between a clinician and a participant (`NotFound` when there is none).
    fn end_care_link(&self, clinician: AccountId, participant: AccountId)
        -> Result<(), StoreError>;

    /// The participant with account number `participant` if, and only if, they are linked to
    /// `clinician` now: the only way from a number in a request to a participant's data.
    fn linked_participant(
        &self,
        clinician: AccountId,
        participant: i64,
    ) -> Result<Option<Account>, StoreError>;

    /// Stores a one-time password-reset link for an account.
    fn create_password_reset(
        &self,
        account: AccountId,
        token: &TokenHash,
        now: i64,
        expires_at: i64,
    ) -> Result<(), StoreError>;

    /// The account a reset link is for, when it is unused and unexpired at `now`.
    fn password_reset(&self, token: &TokenHash, now: i64) -> Result<Option<Account>, StoreError>;

    /// Uses a reset link: sets the password, marks the link used and ends every session of the
    /// account, in one transaction. `NotFound` when the link is unknown, used or expired.
    fn use_password_reset(
        &self,
        token: &TokenHash,
        now: i64,
        phc: &str,
        at: &str,
    ) -> Result<Account, StoreError>;

    /// Stores a helper link to one of a person's trials.
    fn create_helper_link(
        &self,
        token: &TokenHash,
        person: PersonId,
        trial_id: i64,
        helper: &str,
        now: i64,
    ) -> Result<(), StoreError>;

    /// The helper link of a token (without using it); `None` for an unknown token (or a trial
    /// since deleted).
    fn helper_link(&self, token: &TokenHash) -> Result<Option<HelperLink>, StoreError>;

    /// Uses a helper link once: `true` the first time, `false` if it was already used (two
    /// uses at once: one gets `true`).
    fn use_helper_link(&self, token: &TokenHash) -> Result<bool, StoreError>;

    /// Appends one line to the audit log of `subject` (the log cannot be changed afterwards).
    fn append_audit(&self, subject: PersonId, entry: &AuditEntry) -> Result<(), StoreError>;

    /// The audit log about a person, oldest first.
    fn audit_of(&self, subject: PersonId) -> Result<Vec<AuditEntry>, StoreError>;
}
