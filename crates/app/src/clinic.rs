//! The clinic server's use cases: accounts and log-in (with a throttle per account and per
//! address), database sessions, invitations and care links, password resets, the audit log,
//! account deletion, and what a clinician sees of their linked participants (the dashboard,
//! a participant's report), every look on record.
//!
//! Security policy (not clinical, so it lives here rather than in the clinical rule base), each
//! value with its source:
//! - sessions end after [`SESSION_IDLE_SECONDS`] without a request and [`SESSION_MAX_SECONDS`]
//!   after log-in whatever happens: NIST SP 800-63B-4 §2.2.3 (AAL2: reauthentication at least
//!   once per 24 hours, and after at most 1 hour of inactivity),
//!   <https://doi.org/10.6028/NIST.SP.800-63b-4>;
//! - an account is locked after [`ACCOUNT_LOCK_AFTER`] consecutive failed log-ins (NIST SP
//!   800-63B-4 §3.2.2: no more than 100), until an admin issues a reset link; before that, after
//!   [`ACCOUNT_FREE_ATTEMPTS`] failures each attempt waits twice as long as the one before, up
//!   to [`ACCOUNT_MAX_WAIT_SECONDS`];
//! - a client address gets [`ADDRESS_FREE_ATTEMPTS`] failures (across accounts: password
//!   spraying) before its attempts wait, doubling up to [`ADDRESS_MAX_WAIT_SECONDS`]; its count
//!   is forgotten after [`ADDRESS_MEMORY_SECONDS`] without a failure;
//! - invitation links last [`INVITATION_SECONDS`] and reset links [`RESET_SECONDS`]
//!   (OWASP Forgot Password Cheat Sheet: single use, short expiry,
//!   <https://cheatsheetseries.owasp.org/cheatsheets/Forgot_Password_Cheat_Sheet.html>).

use std::net::IpAddr;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use jiff::civil::Date;
use quietlegs_store::clinic::{
    Account, AuditEntry, CareLink, Invitation, InvitationState, LiveSession, NewAccount,
    NewInvitation, NewSession, Role, TokenHash,
};
use quietlegs_store::{ClinicStore, PersonId, Store, TrialStore};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::clinician::{self, ClinicianReport, FlagLine, IrlsPoint, TrialSection};
use crate::login::{check_policy_for, MAX_PASSWORD_BYTES};
use crate::{AppError, Context, ErrorKind};

pub const SESSION_IDLE_SECONDS: i64 = 3_600;
pub const SESSION_MAX_SECONDS: i64 = 24 * 3_600;
/// A session's last-seen moment is written at most once a minute (not on every request).
pub const SESSION_TOUCH_SECONDS: i64 = 60;
pub const ACCOUNT_FREE_ATTEMPTS: u32 = 5;
pub const ACCOUNT_MAX_WAIT_SECONDS: i64 = 60;
pub const ACCOUNT_LOCK_AFTER: u32 = 100;
pub const ADDRESS_FREE_ATTEMPTS: u32 = 20;
pub const ADDRESS_MAX_WAIT_SECONDS: i64 = 300;
pub const ADDRESS_MEMORY_SECONDS: i64 = 24 * 3_600;
pub const INVITATION_SECONDS: i64 = 7 * 24 * 3_600;
pub const RESET_SECONDS: i64 = 3_600;

/// Usernames: 3 to 32 of a-z, 0-9, '.', '_' and '-', starting with a letter or digit (case is
/// folded, so "Zoe" and "zoe" are one account).
pub const USERNAME_MIN: usize = 3;
pub const USERNAME_MAX: usize = 32;

/// The SHA-256 of a token: what the store keeps of sessions, invitations and reset links.
pub fn token_hash(token: &str) -> TokenHash {
    TokenHash(Sha256::digest(token.as_bytes()).into())
}

/// A username as typed, checked and folded to lower case; the message names the field and the
/// rule.
pub fn parse_username(text: &str) -> Result<String, AppError> {
    let name = text.trim().to_lowercase();
    let ok_chars = name
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-'));
    let starts_well = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric());
    if !(USERNAME_MIN..=USERNAME_MAX).contains(&name.len()) || !ok_chars || !starts_well {
        return Err(AppError::field(
            "username",
            format!(
                "use {USERNAME_MIN} to {USERNAME_MAX} letters a-z, digits, '.', '_' or '-', \
                 starting with a letter or digit"
            ),
        ));
    }
    Ok(name)
}

/// Checks `password` against the policy (for the account named `username`) and hashes it.
fn hash_password(password: &str, username: &str, salt: [u8; 16]) -> Result<String, AppError> {
    check_policy_for(password, Some(username))?;
    let salt = SaltString::encode_b64(&salt)
        .map_err(|e| AppError::internal(format!("encoding the password salt: {e}")))?;
    Ok(Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map_err(|e| AppError::internal(format!("hashing the password: {e}")))?
        .to_string())
}

/// Creates an account (the first admin from the CLI, others by an admin or by accepting an
/// invitation). `salt`: 16 random bytes from the caller.
pub fn create_account<S: ClinicStore>(
    store: &S,
    ctx: &Context<'_>,
    username: &str,
    role: Role,
    password: &str,
    salt: [u8; 16],
) -> Result<Account, AppError> {
    let username = parse_username(username)?;
    check_policy_for(password, Some(&username))?;
    if store.account_by_username(&username)?.is_some() {
        return Err(AppError::new(
            ErrorKind::Conflict,
            Some("username"),
            format!("the username {username} is taken: choose another"),
        ));
    }
    let phc = hash_password(password, &username, salt)?;
    store
        .create_account(&NewAccount {
            username: &username,
            role,
            phc: &phc,
            at: &ctx.now.instant,
        })
        .map_err(|e| match e.kind() {
            ErrorKind::Conflict => AppError::new(
                ErrorKind::Conflict,
                Some("username"),
                format!("the username {username} is taken: choose another"),
            ),
            _ => AppError::from(e),
        })
}

/// Why a log-in was refused (each a 4xx on the web).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoginRefusal {
    /// Wrong username or password (which one is never said).
    Wrong,
    /// Attempts from this address or for this account must wait this many seconds.
    SlowedDown(i64),
    /// Locked after too many failures: only an admin's reset link opens it.
    Locked,
}

fn account_key(username: &str) -> String {
    format!("account:{username}")
}

/// The throttle's key of a client address (`None`: the address is not known, e.g. behind a
/// proxy that does not say who its client is; then only the per-account throttle applies).
/// IPv6 clients are counted by their /64, the block one subscriber usually holds.
fn address_key(client: Option<IpAddr>) -> Option<String> {
    match client? {
        IpAddr::V4(ip) => Some(format!("address:{ip}")),
        IpAddr::V6(ip) => {
            let s = ip.segments();
            Some(format!(
                "address:{:x}:{:x}:{:x}:{:x}::/64",
                s[0], s[1], s[2], s[3]
            ))
        }
    }
}

/// The wait after `count` consecutive failures when `free` are allowed: 2^(count-free-1) s,
/// at most `max` (0 while within the free attempts).
fn backoff(count: u32, free: u32, max: i64) -> i64 {
    if count <= free {
        return 0;
    }
    let doublings = (count - free - 1).min(20);
    (1i64 << doublings).min(max)
}

/// Seconds to wait before the next attempt under `key` (0: may try now).
fn wait_for<S: ClinicStore>(
    store: &S,
    key: &str,
    now: i64,
    free: u32,
    max: i64,
    forget_after: Option<i64>,
) -> Result<i64, AppError> {
    let Some(f) = store.login_failures(key)? else {
        return Ok(0);
    };
    if forget_after.is_some_and(|quiet| now - f.last_at >= quiet) {
        return Ok(0);
    }
    let wait = backoff(f.count, free, max);
    if wait == 0 {
        return Ok(0);
    }
    // Moments are whole seconds: the wait runs from the end of the second of the last failure,
    // so it is never shorter than the policy's.
    let until = f.last_at + 1 + wait;
    Ok((until - now).max(0))
}

/// A PHC string to verify against when the username is unknown, so that a wrong username costs
/// the same time as a wrong password (usernames are not revealed by timing).
/// Made once per process: an unknown username then costs one argon2 verification, as a known
/// one does.
fn decoy_phc() -> Result<String, AppError> {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    if let Some(phc) = DECOY.get() {
        return Ok(phc.clone());
    }
    let phc = hash_password("a decoy password nobody has", "decoy", [7; 16])?;
    Ok(DECOY.get_or_init(|| phc).clone())
}

/// Whether the log-in may be tried now (checked before the expensive hash).
pub fn may_attempt<S: ClinicStore>(
    store: &S,
    now: i64,
    username: &str,
    client: Option<IpAddr>,
) -> Result<Result<(), LoginRefusal>, AppError> {
    let username = username.trim().to_lowercase();
    let account = account_key(&username);
    if store
        .login_failures(&account)?
        .is_some_and(|f| f.count >= ACCOUNT_LOCK_AFTER)
    {
        return Ok(Err(LoginRefusal::Locked));
    }
    let mut wait = wait_for(
        store,
        &account,
        now,
        ACCOUNT_FREE_ATTEMPTS,
        ACCOUNT_MAX_WAIT_SECONDS,
        None,
    )?;
    if let Some(address) = address_key(client) {
        wait = wait.max(wait_for(
            store,
            &address,
            now,
            ADDRESS_FREE_ATTEMPTS,
            ADDRESS_MAX_WAIT_SECONDS,
            Some(ADDRESS_MEMORY_SECONDS),
        )?);
    }
    Ok(if wait > 0 {
        Err(LoginRefusal::SlowedDown(wait))
    } else {
        Ok(())
    })
}

/// Checks a username and password under the throttle: the account when they are right. A
/// failure is counted under the account's name (known or not) and the client's address; a
/// success clears the account's count (not the address's: an attacker's own account must not
/// reset the count of their guesses at others).
pub fn log_in<S: ClinicStore>(
    store: &S,
    now: i64,
    username: &str,
    password: &str,
    client: Option<IpAddr>,
) -> Result<Result<Account, LoginRefusal>, AppError> {
    if let Err(refusal) = may_attempt(store, now, username, client)? {
        return Ok(Err(refusal));
    }
    // A name no account can have is not looked up, nor counted under its own key (keys stay
    // bounded); it costs the same time and counts against the address.
    let valid = parse_username(username).ok();
    let username = valid.clone().unwrap_or_default();
    let found = match &valid {
        Some(name) => store.account_by_username(name)?,
        None => None,
    };
    let phc = match &found {
        Some((_, phc)) => phc.clone(),
        None => decoy_phc()?,
    };
    let hash = PasswordHash::new(&phc)
        .map_err(|e| AppError::internal(format!("a stored password hash is unreadable: {e}")))?;
    let right = password.len() <= MAX_PASSWORD_BYTES
        && Argon2::default()
            .verify_password(password.as_bytes(), &hash)
            .is_ok();
    match found {
        Some((account, _)) if right => {
            store.clear_login_failures(&account_key(&username))?;
            Ok(Ok(account))
        }
        _ => {
            if valid.is_some() {
                store.record_login_failure(&account_key(&username), now, i64::MIN)?;
            }
            if let Some(address) = address_key(client) {
                store.record_login_failure(&address, now, now - ADDRESS_MEMORY_SECONDS)?;
            }
            Ok(Err(LoginRefusal::Wrong))
        }
    }
}

/// Opens a session for `account` (token from the caller's random source), ending the one the
/// browser held, if any.
pub fn open_session<S: ClinicStore>(
    store: &S,
    now: i64,
    account: &Account,
    token: &str,
    replacing: Option<&str>,
) -> Result<(), AppError> {
    let replacing = replacing.map(token_hash);
    store.open_session(
        &NewSession {
            token: token_hash(token),
            account: account.id,
            now,
            absolute_expiry: now + SESSION_MAX_SECONDS,
        },
        replacing.as_ref(),
    )?;
    Ok(())
}

/// The live session of a token (expired ones are removed).
pub fn session<S: ClinicStore>(
    store: &S,
    now: i64,
    token: &str,
) -> Result<Option<LiveSession>, AppError> {
    Ok(store.session(
        &token_hash(token),
        now,
        SESSION_IDLE_SECONDS,
        SESSION_TOUCH_SECONDS,
    )?)
}

pub fn close_session<S: ClinicStore>(store: &S, token: &str) -> Result<(), AppError> {
    Ok(store.close_session(&token_hash(token))?)
}

/// Checks one's own password again (to change it or delete the account) under the account's
/// throttle: a stolen session cannot guess it faster than a log-in could.
fn check_own_password<S: ClinicStore>(
    store: &S,
    now: i64,
    account: &Account,
    password: &str,
    field: &'static str,
) -> Result<(), AppError> {
    if let Err(refusal) = may_attempt(store, now, &account.username, None)? {
        return Err(AppError::new(
            ErrorKind::Conflict,
            Some(field),
            match refusal {
                LoginRefusal::SlowedDown(s) => {
                    format!("too many wrong passwords: wait {s} seconds and try again")
                }
                _ => "this account is locked: ask the clinic's admin for a reset link".into(),
            },
        ));
    }
    let (_, phc) = store
        .account_by_username(&account.username)?
        .ok_or_else(|| AppError::not_found(None, "this account no longer exists"))?;
    let hash = PasswordHash::new(&phc)
        .map_err(|e| AppError::internal(format!("a stored password hash is unreadable: {e}")))?;
    if password.len() > MAX_PASSWORD_BYTES
        || Argon2::default()
            .verify_password(password.as_bytes(), &hash)
            .is_err()
    {
        store.record_login_failure(&account_key(&account.username), now, i64::MIN)?;
        return Err(AppError::field(field, "the password is wrong"));
    }
    Ok(())
}

/// Changes one's own password (the current one is checked); every session ends, this one too.
pub fn change_password<S: ClinicStore>(
    store: &S,
    ctx: &Context<'_>,
    account: &Account,
    current: &str,
    new: &str,
    salt: [u8; 16],
) -> Result<(), AppError> {
    check_policy_for(new, Some(&account.username))?;
    check_own_password(store, ctx.now.unix_seconds()?, account, current, "current")?;
    let phc = hash_password(new, &account.username, salt)?;
    store.set_account_password(account.id, &phc, &ctx.now.instant)?;
    Ok(())
}

fn require(account: &Account, role: Role, doing: &str) -> Result<(), AppError> {
    if account.role == role {
        Ok(())
    } else {
        Err(AppError::new(
            ErrorKind::Forbidden,
            None,
            format!("only a {role} account can {doing}"),
        ))
    }
}

/// Writes one line of a participant's audit log (before the look or change it records is
/// answered: a look that cannot be recorded is refused).
pub fn audit<S: ClinicStore>(
    store: &S,
    ctx: &Context<'_>,
    actor: &Account,
    subject: PersonId,
    action: &str,
    detail: &str,
) -> Result<(), AppError> {
    store.append_audit(
        subject,
        &AuditEntry {
            at: ctx.now.instant.clone(),
            actor: actor.username.clone(),
            actor_role: actor.role.into(),
            action: action.to_string(),
            detail: detail.to_string(),
        },
    )?;
    Ok(())
}

/// The audit log of the account's own data (a participant sees who looked at what).
pub fn my_audit_log<S: ClinicStore>(
    store: &S,
    account: &Account,
) -> Result<Vec<AuditEntry>, AppError> {
    Ok(store.audit_of(account.person)?)
}

// ---- Admin -------------------------------------------------------------------------------

/// Accounts as an admin sees them: names, roles and dates, no health data.
pub fn list_accounts<S: ClinicStore>(store: &S, admin: &Account) -> Result<Vec<Account>, AppError> {
    require(admin, Role::Admin, "list accounts")?;
    Ok(store.accounts()?)
}

/// An admin creates an account without knowing its password: the account gets an unusable
/// password (`unusable`: random text from the caller) and a one-time link (`token`) to set its
/// first password, valid for [`INVITATION_SECONDS`], which the admin passes on. Recorded in the
/// account's audit log.
#[allow(clippy::too_many_arguments)]
pub fn admin_create_account<S: ClinicStore>(
    store: &S,
    ctx: &Context<'_>,
    admin: &Account,
    username: &str,
    role: Role,
    unusable: &str,
    salt: [u8; 16],
    token: &str,
) -> Result<Account, AppError> {
    require(admin, Role::Admin, "create accounts")?;
    let account = create_account(store, ctx, username, role, unusable, salt)?;
    let now = ctx.now.unix_seconds()?;
    store.create_password_reset(
        account.id,
        &token_hash(token),
        now,
        now + INVITATION_SECONDS,
    )?;
    audit(
        store,
        ctx,
        admin,
        account.person,
        "made the account",
        "with a one-time link to set its first password",
    )?;
    Ok(account)
}

/// An admin issues a one-time reset link for an account (`token` from the caller's random
/// source; only its hash is kept). Recorded in the account's audit log.
pub fn issue_password_reset<S: ClinicStore>(
    store: &S,
    ctx: &Context<'_>,
    admin: &Account,
    username: &str,
    token: &str,
) -> Result<Account, AppError> {
    require(admin, Role::Admin, "issue password reset links")?;
    let now = ctx.now.unix_seconds()?;
    let (account, _) = store
        .account_by_username(&username.trim().to_lowercase())?
        .ok_or_else(|| AppError::not_found(Some("username"), "there is no such account"))?;
    store.create_password_reset(account.id, &token_hash(token), now, now + RESET_SECONDS)?;
    audit(
        store,
        ctx,
        admin,
        account.person,
        "issued a password reset link",
        "",
    )?;
    Ok(account)
}

/// The account a reset link is for, while it can be used.
pub fn reset_link_account<S: ClinicStore>(
    store: &S,
    ctx: &Context<'_>,
    token: &str,
) -> Result<Account, AppError> {
    store
        .password_reset(&token_hash(token), ctx.now.unix_seconds()?)?
        .ok_or_else(reset_link_gone)
}

fn reset_link_gone() -> AppError {
    AppError::not_found(
        None,
        "this reset link is unknown, used or expired: ask the clinic's admin for a new one",
    )
}

/// Uses a reset link: the new password is set, the link is spent, every session ends, and the
/// account's failed log-ins (a lock) are forgotten.
pub fn use_password_reset<S: ClinicStore>(
    store: &S,
    ctx: &Context<'_>,
    token: &str,
    password: &str,
    salt: [u8; 16],
) -> Result<Account, AppError> {
    // An unknown or spent link is refused before the expensive hash.
    let shown = reset_link_account(store, ctx, token)?;
    let phc = hash_password(password, &shown.username, salt)?;
    let account = store
        .use_password_reset(
            &token_hash(token),
            ctx.now.unix_seconds()?,
            &phc,
            &ctx.now.instant,
        )
        .map_err(|e| match e.kind() {
            ErrorKind::NotFound => reset_link_gone(),
            _ => AppError::from(e),
        })?;
    store.clear_login_failures(&account_key(&account.username))?;
    audit(
        store,
        ctx,
        &shown,
        account.person,
        "set a new password with a reset link",
        "every session of the account ended",
    )?;
    Ok(account)
}

// ---- Invitations and care links ----------------------------------------------------------

/// A clinician invites a participant: the link's token comes from the caller's random source.
pub fn invite<S: ClinicStore>(
    store: &S,
    ctx: &Context<'_>,
    clinician: &Account,
    label: &str,
    token: &str,
) -> Result<i64, AppError> {
    require(clinician, Role::Clinician, "invite participants")?;
    let label = label.trim();
    if label.chars().count() > 80 || label.chars().any(char::is_control) {
        return Err(AppError::field(
            "label",
            "at most 80 characters, without control characters",
        ));
    }
    let now = ctx.now.unix_seconds()?;
    Ok(store.create_invitation(&NewInvitation {
        token: token_hash(token),
        clinician: clinician.id,
        label,
        now,
        expires_at: now + INVITATION_SECONDS,
    })?)
}

pub fn invitations<S: ClinicStore>(
    store: &S,
    clinician: &Account,
) -> Result<Vec<Invitation>, AppError> {
    require(clinician, Role::Clinician, "see invitations")?;
    Ok(store.invitations_of(clinician.id)?)
}

pub fn withdraw_invitation<S: ClinicStore>(
    store: &S,
    ctx: &Context<'_>,
    clinician: &Account,
    id: i64,
) -> Result<(), AppError> {
    require(clinician, Role::Clinician, "withdraw invitations")?;
    Ok(store.withdraw_invitation(clinician.id, id, ctx.now.unix_seconds()?)?)
}

fn invitation_gone() -> AppError {
    AppError::not_found(
        None,
        "this invitation is unknown, used, withdrawn or expired: ask your clinician for a new one",
    )
}

/// What the person opening an invitation link is told: who invites them (only while it can be
/// accepted).
pub fn open_invitation<S: ClinicStore>(
    store: &S,
    ctx: &Context<'_>,
    token: &str,
) -> Result<Invitation, AppError> {
    let invitation = store
        .invitation_by_token(&token_hash(token))?
        .ok_or_else(invitation_gone)?;
    if invitation.state != InvitationState::Open || ctx.now.unix_seconds()? >= invitation.expires_at
    {
        return Err(invitation_gone());
    }
    Ok(invitation)
}

/// A participant accepts an invitation: the clinician may now see their data (every look
/// recorded in their audit log), until either ends the link.
pub fn accept_invitation<S: ClinicStore>(
    store: &S,
    ctx: &Context<'_>,
    participant: &Account,
    token: &str,
) -> Result<CareLink, AppError> {
    require(participant, Role::Participant, "accept an invitation")?;
    let link = store
        .accept_invitation(&token_hash(token), participant.id, ctx.now.unix_seconds()?)
        .map_err(|e| match e.kind() {
            ErrorKind::NotFound | ErrorKind::Conflict => invitation_gone(),
            _ => AppError::from(e),
        })?;
    audit(
        store,
        ctx,
        participant,
        participant.person,
        "accepted an invitation",
        &format!("linked to {}", link.clinician.username),
    )?;
    Ok(link)
}

/// Makes a participant account from an invitation link and accepts it. If the link was used by
/// someone else in the meantime, the new account is removed again and the refusal returned:
/// nobody is left with an account no clinician invited.
pub fn join_by_invitation<S: ClinicStore>(
    store: &S,
    ctx: &Context<'_>,
    username: &str,
    password: &str,
    salt: [u8; 16],
    token: &str,
) -> Result<Account, AppError> {
    // The invitation must still be open before an account is made for it.
    open_invitation(store, ctx, token)?;
    let account = create_account(store, ctx, username, Role::Participant, password, salt)?;
    if let Err(e) = accept_invitation(store, ctx, &account, token) {
        store.delete_account(account.id)?;
        return Err(e);
    }
    Ok(account)
}

/// The account's care links (a participant's clinicians, a clinician's participants).
pub fn care_links<S: ClinicStore>(store: &S, account: &Account) -> Result<Vec<CareLink>, AppError> {
    Ok(store.care_links_of(account.id)?)
}

/// Ends a care link, by either side: `other` is the username of the clinician (for a
/// participant) or of the participant (for a clinician). Recorded in the participant's log.
pub fn end_care_link<S: ClinicStore>(
    store: &S,
    ctx: &Context<'_>,
    me: &Account,
    other: &str,
) -> Result<(), AppError> {
    let link = store
        .care_links_of(me.id)?
        .into_iter()
        .find(|l| match me.role {
            Role::Participant => l.clinician.username == other,
            Role::Clinician => l.participant.username == other,
            Role::Admin => false,
        })
        .ok_or_else(|| {
            AppError::not_found(Some("username"), format!("you have no link with {other}"))
        })?;
    store.end_care_link(link.clinician.id, link.participant.id)?;
    audit(
        store,
        ctx,
        me,
        link.participant.person,
        "ended the link",
        &format!(
            "between {} and {}",
            link.clinician.username, link.participant.username
        ),
    )
}

/// The participant with account number `number`, if linked to this clinician; otherwise the
/// same "not found" whether the number exists or not (numbers reveal nothing).
pub fn linked_participant<S: ClinicStore>(
    store: &S,
    clinician: &Account,
    number: i64,
) -> Result<Account, AppError> {
    require(clinician, Role::Clinician, "see participants")?;
    store
        .linked_participant(clinician.id, number)?
        .ok_or_else(|| {
            AppError::not_found(None, format!("no participant {number} is linked to you"))
        })
}

/// On a clinic server a participant's backup (a database copy that holds each trial's sealed
/// order) is refused while one of their trials is blinded: with the copy they could unblind
/// offline, with no trace. Exports do not hold the order.
pub fn check_backup_allowed<S: TrialStore>(store: &S, account: &Account) -> Result<(), AppError> {
    for stored in store.trials(account.person)? {
        let t = crate::trial::LoadedTrial::verify(stored)?;
        if !t.arms_visible() {
            return Err(AppError::new(
                ErrorKind::Conflict,
                None,
                format!(
                    "trial '{}' is blinded: a backup holds its sealed order, so it is offered \
                     once the trial is unblinded. Export your diary (JSON or CSV) meanwhile",
                    t.stored.name
                ),
            ));
        }
    }
    Ok(())
}

// ---- Account deletion --------------------------------------------------------------------

/// Deletes one's own account and everything of its person, after checking the password and
/// the username typed again. The person is offered an export first (by the surface).
pub fn delete_own_account<S: ClinicStore>(
    store: &S,
    ctx: &Context<'_>,
    account: &Account,
    typed_username: &str,
    password: &str,
) -> Result<(), AppError> {
    if typed_username.trim().to_lowercase() != account.username {
        return Err(AppError::field(
            "confirm",
            format!("type your username ({}) to confirm", account.username),
        ));
    }
    check_own_password(
        store,
        ctx.now.unix_seconds()?,
        account,
        password,
        "password",
    )?;
    Ok(store.delete_account(account.id)?)
}

// ---- The clinician's dashboard -----------------------------------------------------------

/// A trial as the dashboard shows it: never an arm while the trial is blinded.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DashboardTrial {
    pub name: String,
    /// "not started", "period 2 of 4, day 5", "finished", "unblinded"…: the status in words.
    pub state: String,
    pub blinded: bool,
    /// Doses logged of dosing nights planned so far, all periods.
    pub doses_logged: usize,
    pub doses_planned: usize,
    /// The verdict, once the arms may be shown.
    pub verdict: Option<String>,
    /// Why there is no verdict yet.
    pub why_no_verdict: Option<String>,
}

/// One participant on the clinician's dashboard.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DashboardRow {
    /// The participant's account number (their page's address).
    pub participant: i64,
    pub username: String,
    /// Linked since (Unix seconds).
    pub since: i64,
    pub latest_irls: Option<IrlsPoint>,
    /// The plan's open flags, most serious first (none without a profile).
    pub flags: Vec<FlagLine>,
    pub has_profile: bool,
    pub trial: Option<DashboardTrial>,
    pub last_entry: Option<Date>,
    /// Nights logged in the last 7 days (today included).
    pub nights_last_week: usize,
}

/// The dashboard: one row per linked participant, each read recorded in their audit log.
pub fn dashboard<S: Store + TrialStore + ClinicStore>(
    store: &S,
    ctx: &Context<'_>,
    clinician: &Account,
) -> Result<Vec<DashboardRow>, AppError> {
    require(clinician, Role::Clinician, "see the dashboard")?;
    let links = store.care_links_of(clinician.id)?;
    let mut rows = Vec::with_capacity(links.len());
    for link in links.into_iter().filter(|l| l.clinician.id == clinician.id) {
        let p = &link.participant;
        audit(
            store,
            ctx,
            clinician,
            p.person,
            "saw the dashboard summary",
            "latest IRLS, flags, trial status, last entry",
        )?;
        let range = clinician::range(store, p.person, ctx, None, None)?;
        let report = clinician::report(store, p.person, ctx, range)?;
        rows.push(row_of(&link, &report, ctx.now.date));
    }
    Ok(rows)
}

fn row_of(link: &CareLink, report: &ClinicianReport, today: Date) -> DashboardRow {
    let week_start = today
        .checked_sub(jiff::Span::new().days(6))
        .unwrap_or(today);
    let last_entry = report.nights.points.iter().map(|p| p.date).max();
    let nights_last_week = report
        .nights
        .points
        .iter()
        .filter(|p| p.date >= week_start && p.date <= today)
        .count();
    let trial = match &report.trial {
        TrialSection::None => None,
        TrialSection::Status { status, reason } => Some(DashboardTrial {
            name: status.trial.clone(),
            state: status.tonight.clone(),
            blinded: status.blinded && !status.unblinded,
            doses_logged: status.adherence.iter().map(|a| a.days_with_dose).sum(),
            doses_planned: status.adherence.iter().map(|a| a.days_planned).sum(),
            verdict: None,
            why_no_verdict: Some(reason.clone()),
        }),
        TrialSection::Result { status, report } => Some(DashboardTrial {
            name: status.trial.clone(),
            state: status.tonight.clone(),
            blinded: false,
            doses_logged: status.adherence.iter().map(|a| a.days_with_dose).sum(),
            doses_planned: status.adherence.iter().map(|a| a.days_planned).sum(),
            verdict: Some(format!(
                "{}: {}",
                report.analysis.verdict.label, report.analysis.verdict.text
            )),
            why_no_verdict: None,
        }),
    };
    DashboardRow {
        participant: link.participant.id.number(),
        username: link.participant.username.clone(),
        since: link.since,
        latest_irls: report.irls.scores.last().cloned(),
        flags: report
            .plan
            .as_ref()
            .map(|p| p.flags.clone())
            .unwrap_or_default(),
        has_profile: report.plan.is_some(),
        trial,
        last_entry,
        nights_last_week,
    }
}

/// A linked participant's report (the same report the participant can print), recorded in
/// their audit log with its range and form ("page", "PDF", "JSON").
pub fn participant_report<S: Store + TrialStore + ClinicStore>(
    store: &S,
    ctx: &Context<'_>,
    clinician: &Account,
    number: i64,
    from: Option<&str>,
    to: Option<&str>,
    form: &str,
) -> Result<(Account, ClinicianReport), AppError> {
    let participant = linked_participant(store, clinician, number)?;
    let range = clinician::range(store, participant.person, ctx, from, to)?;
    audit(
        store,
        ctx,
        clinician,
        participant.person,
        "read the report",
        &format!("{} to {} ({form})", range.from, range.to),
    )?;
    let report = clinician::report(store, participant.person, ctx, range)?;
    Ok((participant, report))
}

/// The clinician's linked participants' completed trials of one comparison, pooled
/// (`series::pool_trials`; labels are the usernames). Every participant whose data is read is
/// recorded in their audit log, included or not.
pub fn pooled_trials<S: Store + TrialStore + ClinicStore>(
    store: &S,
    ctx: &Context<'_>,
    clinician: &Account,
    options: &crate::series::PoolOptions,
) -> Result<crate::series::PooledTrials, AppError> {
    require(clinician, Role::Clinician, "pool trials")?;
    // The labels go into every participant's audit log: checked first.
    for (field, label) in [
        ("control", &options.control),
        ("treatment", &options.treatment),
    ] {
        if label.chars().count() > 40 || label.chars().any(char::is_control) {
            return Err(AppError::field(
                field,
                "an arm label of at most 40 characters, without control characters",
            ));
        }
    }
    let people: Vec<(String, PersonId)> = store
        .care_links_of(clinician.id)?
        .into_iter()
        .filter(|l| l.clinician.id == clinician.id)
        .map(|l| (l.participant.username, l.participant.person))
        .collect();
    for (_, person) in &people {
        audit(
            store,
            ctx,
            clinician,
            *person,
            "read trials for a pooled analysis",
            &format!("{} vs {}", options.treatment, options.control),
        )?;
    }
    crate::series::pool_trials(store, ctx, &people, options)
}

// ---- Trials a clinician sets up ----------------------------------------------------------

/// A trial a clinician set up for a linked participant.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TrialSetUp {
    pub participant: String,
    pub trial: String,
    pub first_night: Date,
    pub blinded: bool,
    /// The helper named for a blinded trial (who gets the sheet by a one-time link).
    pub helper: Option<String>,
}

fn helper_name(text: Option<&str>) -> Result<String, AppError> {
    let name = text.map(str::trim).unwrap_or_default();
    if name.is_empty() || name.chars().count() > 80 || name.chars().any(char::is_control) {
        return Err(AppError::field(
            "helper",
            "name the helper who will fill the containers (1 to 80 characters): not you and \
             not the participant, so that neither of you knows the order",
        ));
    }
    Ok(name.to_string())
}

/// A clinician sets up a trial for a linked participant (the participant's own diary and
/// schedule; recorded in their audit log). A blinded trial needs a helper, a third person who
/// gets the sheet through `helper_token`'s link; neither the clinician nor the participant
/// sees it.
#[allow(clippy::too_many_arguments)]
pub fn set_up_trial<S: Store + TrialStore + ClinicStore>(
    store: &S,
    ctx: &Context<'_>,
    clinician: &Account,
    number: i64,
    name: Option<&str>,
    choice: &crate::trial::DesignChoice,
    start: Option<Date>,
    helper: Option<&str>,
    seed: u64,
    helper_token: &str,
) -> Result<TrialSetUp, AppError> {
    let participant = linked_participant(store, clinician, number)?;
    if crate::trial::in_progress(store, participant.person, ctx)?.is_some() {
        return Err(AppError::new(
            ErrorKind::Conflict,
            None,
            format!(
                "{} has a trial under way: a new one can start once it has ended or been \
                 unblinded",
                participant.username
            ),
        ));
    }
    let prepared = crate::trial::prepare(ctx, name, choice, seed, start)?;
    let blinded = prepared.helper_sheet.is_some();
    let helper = if blinded {
        Some(helper_name(helper)?)
    } else {
        None
    };
    let first_night = prepared.design.start;
    audit(
        store,
        ctx,
        clinician,
        participant.person,
        "set up a trial",
        &match &helper {
            Some(h) => format!("'{}', blinded, helper {h}", prepared.name),
            None => format!("'{}', open", prepared.name),
        },
    )?;
    let registered = crate::trial::register(store, participant.person, ctx, prepared)?;
    if let Some(h) = &helper {
        store.create_helper_link(
            &token_hash(helper_token),
            participant.person,
            registered.id,
            h,
            ctx.now.unix_seconds()?,
        )?;
    }
    Ok(TrialSetUp {
        participant: participant.username,
        trial: registered.name,
        first_night,
        blinded,
        helper,
    })
}

fn helper_link_gone() -> AppError {
    AppError::not_found(
        None,
        "this helper link is unknown or used, or its trial has started or was cancelled: ask \
         the clinician for a new trial if the sheet was lost",
    )
}

/// What the helper link's page says before the sheet is opened: the trial and the helper it
/// is for. Refused (and recorded) for the participant and any clinician linked to them.
pub fn helper_link_info<S: Store + TrialStore + ClinicStore>(
    store: &S,
    ctx: &Context<'_>,
    viewer: Option<&Account>,
    token: &str,
) -> Result<(String, String), AppError> {
    let (link, trial, _) = usable_helper_link(store, ctx, viewer, token)?;
    Ok((link.helper, trial))
}

fn usable_helper_link<S: Store + TrialStore + ClinicStore>(
    store: &S,
    ctx: &Context<'_>,
    viewer: Option<&Account>,
    token: &str,
) -> Result<(quietlegs_store::clinic::HelperLink, String, String), AppError> {
    let link = store
        .helper_link(&token_hash(token))?
        .ok_or_else(helper_link_gone)?;
    if let Some(v) = viewer {
        let linked_clinician = v.role == Role::Clinician
            && store
                .care_links_of(v.id)?
                .iter()
                .any(|l| l.participant.person == link.person);
        if v.person == link.person || linked_clinician {
            audit(
                store,
                ctx,
                v,
                link.person,
                "was refused the helper's sheet",
                "the sheet is for the helper only",
            )?;
            return Err(AppError::new(
                ErrorKind::Forbidden,
                None,
                format!(
                    "this sheet is for the helper, {}, only: the participant and their \
                     clinicians must not know which container holds what",
                    link.helper
                ),
            ));
        }
    }
    if link.opened > 0 {
        return Err(helper_link_gone());
    }
    let (trial, first_night, sheet) =
        crate::trial::stored_helper_sheet(store, link.person, link.trial_id)?;
    if ctx.now.date > first_night {
        return Err(helper_link_gone());
    }
    Ok((link, trial, sheet))
}

/// The helper's sheet, by the one-time helper link: refused to the participant and to any
/// clinician linked to them (they must not know the order), after the first night, and after
/// its one use. The link is a secret passed on by the clinician, so quietlegs cannot tell who
/// holds it: because it opens once, a look by anyone else leaves the helper without the sheet,
/// and the opening is in the participant's audit log either way.
pub fn open_helper_sheet<S: Store + TrialStore + ClinicStore>(
    store: &S,
    ctx: &Context<'_>,
    viewer: Option<&Account>,
    token: &str,
) -> Result<(String, String), AppError> {
    let (link, trial, sheet) = usable_helper_link(store, ctx, viewer, token)?;
    if !store.use_helper_link(&token_hash(token))? {
        return Err(helper_link_gone());
    }
    store.append_audit(
        link.person,
        &AuditEntry {
            at: ctx.now.instant.clone(),
            actor: format!("the holder of the helper link given to {}", link.helper),
            actor_role: quietlegs_store::clinic::Actor::Helper,
            action: "opened the helper's sheet (once; the link no longer works)".into(),
            detail: format!("trial '{trial}'"),
        },
    )?;
    Ok((trial, sheet))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_after_the_free_attempts_up_to_the_cap() {
        // 5 free; the 6th failure waits 2^0 = 1 s, the 7th 2 s, the 8th 4 s; 2^7 = 128 > 60.
        assert_eq!(backoff(5, 5, 60), 0);
        assert_eq!(backoff(6, 5, 60), 1);
        assert_eq!(backoff(7, 5, 60), 2);
        assert_eq!(backoff(8, 5, 60), 4);
        assert_eq!(backoff(13, 5, 60), 60);
        assert_eq!(backoff(99, 5, 60), 60);
    }

    #[test]
    fn usernames_are_folded_and_checked() {
        assert_eq!(parse_username(" Zoe.K ").unwrap(), "zoe.k");
        for bad in ["zo", "-zoe", "zoë", "zoe smith", &"a".repeat(33), ""] {
            let e = parse_username(bad).unwrap_err();
            assert_eq!(e.field, Some("username"), "{bad}");
        }
    }
}
