//! [`ClinicStore`] on PostgreSQL: the clinic server's own backend. The same statements as the
//! SQLite backend where SQL allows; each method one transaction (writes read committed, reads
//! one read-only snapshot).

use postgres::Row;

use crate::clinic::{
    Account, AccountId, Actor, AuditEntry, CareLink, ClinicStore, HelperLink, Invitation,
    InvitationState, LiveSession, LoginFailures, NewAccount, NewInvitation, NewSession, Role,
    TokenHash,
};
use crate::postgres::Tx;
use crate::{PersonId, PgStore, StoreError};

/// The tables that hold a person's data, for [`PgStore::delete_account`].
const PERSON_TABLES: [&str; 8] = [
    "night",
    "irls",
    "dose",
    "food_log",
    "side_effects",
    "factor",
    "profile",
    "login",
];

use crate::clinic::DELETED_ACCOUNT;

const ACCOUNT_COLUMNS: &str = "a.id, a.username, a.role, a.person_id, a.created_at";

fn role_at(row: &Row, at: usize) -> Result<Role, StoreError> {
    let role: String = row.try_get(at)?;
    Role::parse(&role).ok_or_else(|| StoreError::Corrupt {
        kind: "account".into(),
        id: 0,
        message: format!("unknown role {role}"),
    })
}

fn actor_at(row: &Row, at: usize) -> Result<Actor, StoreError> {
    let actor: String = row.try_get(at)?;
    Actor::parse(&actor).ok_or_else(|| StoreError::Corrupt {
        kind: "audit".into(),
        id: 0,
        message: format!("unknown actor {actor}"),
    })
}

fn account_of(row: &Row, at: usize) -> Result<Account, StoreError> {
    Ok(Account {
        id: AccountId(row.try_get(at)?),
        username: row.try_get(at + 1)?,
        role: role_at(row, at + 2)?,
        person: PersonId(row.try_get(at + 3)?),
        created_at: row.try_get(at + 4)?,
    })
}

fn not_found(kind: &str, id: i64) -> StoreError {
    StoreError::NotFound {
        kind: kind.into(),
        id,
    }
}

const INVITATION_SELECT: &str = "SELECT i.id, i.clinician_id, a.username, i.label, \
     i.created_at, i.expires_at, i.accepted_by, i.accepted_at, i.withdrawn_at \
     FROM invitation i JOIN account a ON a.id = i.clinician_id";

fn invitation_of(row: &Row) -> Result<Invitation, StoreError> {
    let accepted_by: Option<String> = row.try_get(6)?;
    let accepted_at: Option<i64> = row.try_get(7)?;
    let withdrawn_at: Option<i64> = row.try_get(8)?;
    let state = match (accepted_by, accepted_at, withdrawn_at) {
        (Some(by), Some(at), _) => InvitationState::Accepted { by, at },
        (_, _, Some(at)) => InvitationState::Withdrawn { at },
        _ => InvitationState::Open,
    };
    Ok(Invitation {
        id: row.try_get(0)?,
        clinician: AccountId(row.try_get(1)?),
        clinician_username: row.try_get(2)?,
        label: row.try_get(3)?,
        created_at: row.try_get(4)?,
        expires_at: row.try_get(5)?,
        state,
    })
}

fn one_account(tx: &mut Tx<'_>, id: i64) -> Result<Account, StoreError> {
    let sql = format!("SELECT {ACCOUNT_COLUMNS} FROM account a WHERE a.id = $1::bigint");
    match tx.query_opt(&sql, &[&id])? {
        Some(row) => account_of(&row, 0),
        None => Err(not_found("account", id)),
    }
}

/// The live reset link of a token at `now`, if any.
fn live_reset(tx: &mut Tx<'_>, token: &TokenHash, now: i64) -> Result<Option<Account>, StoreError> {
    let sql = format!(
        "SELECT {ACCOUNT_COLUMNS} FROM password_reset r JOIN account a ON a.id = r.account_id \
         WHERE r.token_hash = $1::bytea AND r.used_at IS NULL AND r.expires_at > $2::bigint"
    );
    tx.query_opt(&sql, &[&&token.0[..], &now])?
        .map(|r| account_of(&r, 0))
        .transpose()
}

impl ClinicStore for PgStore {
    fn create_account(&self, new: &NewAccount<'_>) -> Result<Account, StoreError> {
        self.write(|tx| {
            if tx
                .query_opt(
                    "SELECT id FROM account WHERE username = $1::text",
                    &[&new.username],
                )?
                .is_some()
            {
                return Err(StoreError::Conflict(format!(
                    "the username {} is taken",
                    new.username
                )));
            }
            let name = crate::Identity::account(new.username).name().to_string();
            let person: i64 = tx
                .query_one(
                    "INSERT INTO person (name, created_at) VALUES ($1::text, $2::text) \
                     RETURNING id",
                    &[&name, &new.at],
                )?
                .try_get(0)?;
            let id: i64 = tx
                .query_one(
                    "INSERT INTO account (person_id, username, role, phc, created_at, \
                     password_set_at) VALUES ($1::bigint, $2::text, $3::text, $4::text, \
                     $5::text, $5::text) RETURNING id",
                    &[
                        &person,
                        &new.username,
                        &new.role.as_str(),
                        &new.phc,
                        &new.at,
                    ],
                )?
                .try_get(0)?;
            Ok(Account {
                id: AccountId(id),
                username: new.username.to_string(),
                role: new.role,
                person: PersonId(person),
                created_at: new.at.to_string(),
            })
        })
    }

    fn account_by_username(&self, username: &str) -> Result<Option<(Account, String)>, StoreError> {
        self.read(|tx| {
            let sql = format!(
                "SELECT {ACCOUNT_COLUMNS}, a.phc FROM account a WHERE a.username = $1::text"
            );
            match tx.query_opt(&sql, &[&username])? {
                Some(row) => Ok(Some((account_of(&row, 0)?, row.try_get(5)?))),
                None => Ok(None),
            }
        })
    }

    fn account(&self, id: AccountId) -> Result<Option<Account>, StoreError> {
        self.read(|tx| {
            let sql = format!("SELECT {ACCOUNT_COLUMNS} FROM account a WHERE a.id = $1::bigint");
            tx.query_opt(&sql, &[&id.0])?
                .map(|r| account_of(&r, 0))
                .transpose()
        })
    }

    fn accounts(&self) -> Result<Vec<Account>, StoreError> {
        self.read(|tx| {
            let sql = format!("SELECT {ACCOUNT_COLUMNS} FROM account a ORDER BY a.username");
            tx.query(&sql, &[])?
                .iter()
                .map(|r| account_of(r, 0))
                .collect()
        })
    }

    fn set_account_password(&self, id: AccountId, phc: &str, at: &str) -> Result<(), StoreError> {
        self.write(|tx| {
            let n = tx.execute(
                "UPDATE account SET phc = $2::text, password_set_at = $3::text \
                 WHERE id = $1::bigint",
                &[&id.0, &phc, &at],
            )?;
            if n == 0 {
                return Err(not_found("account", id.0));
            }
            tx.execute(
                "DELETE FROM session WHERE account_id = $1::bigint",
                &[&id.0],
            )?;
            Ok(())
        })
    }

    fn delete_account(&self, id: AccountId) -> Result<(), StoreError> {
        self.write(|tx| {
            let row = tx
                .query_opt(
                    "SELECT person_id, username FROM account WHERE id = $1::bigint",
                    &[&id.0],
                )?
                .ok_or_else(|| not_found("account", id.0))?;
            let person: i64 = row.try_get(0)?;
            let username: String = row.try_get(1)?;
            // Their failed log-ins: a new account of the same name starts afresh.
            tx.execute(
                "DELETE FROM login_failure WHERE key = $1::text",
                &[&format!("account:{username}")],
            )?;
            // Their name leaves the invitations they accepted.
            tx.execute(
                "UPDATE invitation SET accepted_by = $2::text WHERE accepted_by = $1::text",
                &[&username, &DELETED_ACCOUNT],
            )?;
            for sql in [
                "DELETE FROM session WHERE account_id = $1::bigint",
                "DELETE FROM password_reset WHERE account_id = $1::bigint",
                "DELETE FROM care_link WHERE clinician_id = $1::bigint OR participant_id = $1::bigint",
                "DELETE FROM invitation WHERE clinician_id = $1::bigint",
                "DELETE FROM account WHERE id = $1::bigint",
            ] {
                tx.execute(sql, &[&id.0])?;
            }
            for table in PERSON_TABLES {
                tx.execute(
                    &format!("DELETE FROM {table} WHERE person_id = $1::bigint"),
                    &[&person],
                )?;
            }
            for sql in [
                "DELETE FROM trial_seal WHERE trial_id IN \
                 (SELECT id FROM trial WHERE person_id = $1::bigint)",
                "DELETE FROM trial_event WHERE trial_id IN \
                 (SELECT id FROM trial WHERE person_id = $1::bigint)",
                "DELETE FROM trial_guess WHERE trial_id IN \
                 (SELECT id FROM trial WHERE person_id = $1::bigint)",
                "DELETE FROM trial WHERE person_id = $1::bigint",
                "INSERT INTO erasing (person_id) VALUES ($1::bigint)",
                "DELETE FROM audit WHERE subject_person = $1::bigint",
                "DELETE FROM erasing WHERE person_id = $1::bigint",
                "DELETE FROM person WHERE id = $1::bigint",
            ] {
                tx.execute(sql, &[&person])?;
            }
            Ok(())
        })
    }

    fn open_session(
        &self,
        session: &NewSession,
        replacing: Option<&TokenHash>,
    ) -> Result<(), StoreError> {
        self.write(|tx| {
            if let Some(old) = replacing {
                tx.execute(
                    "DELETE FROM session WHERE token_hash = $1::bytea",
                    &[&&old.0[..]],
                )?;
            }
            tx.execute(
                "INSERT INTO session (token_hash, account_id, created_at, last_seen, \
                 absolute_expiry) VALUES ($1::bytea, $2::bigint, $3::bigint, $3::bigint, \
                 $4::bigint)",
                &[
                    &&session.token.0[..],
                    &session.account.0,
                    &session.now,
                    &session.absolute_expiry,
                ],
            )?;
            Ok(())
        })
    }

    fn session(
        &self,
        token: &TokenHash,
        now: i64,
        idle_seconds: i64,
        touch_after: i64,
    ) -> Result<Option<LiveSession>, StoreError> {
        let found = self.read(|tx| {
            let sql = format!(
                "SELECT {ACCOUNT_COLUMNS}, s.created_at, s.last_seen, s.absolute_expiry \
                 FROM session s JOIN account a ON a.id = s.account_id \
                 WHERE s.token_hash = $1::bytea"
            );
            match tx.query_opt(&sql, &[&&token.0[..]])? {
                Some(r) => Ok(Some(LiveSession {
                    account: account_of(&r, 0)?,
                    created_at: r.try_get(5)?,
                    last_seen: r.try_get(6)?,
                    absolute_expiry: r.try_get(7)?,
                })),
                None => Ok(None),
            }
        })?;
        let Some(mut live) = found else {
            return Ok(None);
        };
        if now >= live.absolute_expiry || now - live.last_seen >= idle_seconds {
            self.close_session(token)?;
            return Ok(None);
        }
        if now - live.last_seen >= touch_after {
            self.write(|tx| {
                tx.execute(
                    "UPDATE session SET last_seen = $2::bigint \
                     WHERE token_hash = $1::bytea AND last_seen < $2::bigint",
                    &[&&token.0[..], &now],
                )?;
                Ok(())
            })?;
            live.last_seen = now;
        }
        Ok(Some(live))
    }

    fn close_session(&self, token: &TokenHash) -> Result<(), StoreError> {
        self.write(|tx| {
            tx.execute(
                "DELETE FROM session WHERE token_hash = $1::bytea",
                &[&&token.0[..]],
            )?;
            Ok(())
        })
    }

    fn close_sessions_of(&self, id: AccountId) -> Result<u64, StoreError> {
        self.write(|tx| {
            tx.execute(
                "DELETE FROM session WHERE account_id = $1::bigint",
                &[&id.0],
            )
        })
    }

    fn login_failures(&self, key: &str) -> Result<Option<LoginFailures>, StoreError> {
        self.read(|tx| {
            match tx.query_opt(
                "SELECT failures, last_at FROM login_failure WHERE key = $1::text",
                &[&key],
            )? {
                Some(r) => {
                    let count: i32 = r.try_get(0)?;
                    Ok(Some(LoginFailures {
                        count: u32::try_from(count).unwrap_or(0),
                        last_at: r.try_get(1)?,
                    }))
                }
                None => Ok(None),
            }
        })
    }

    fn record_login_failure(
        &self,
        key: &str,
        now: i64,
        forget_before: i64,
    ) -> Result<u32, StoreError> {
        self.write(|tx| {
            let count: i32 = tx
                .query_one(
                    "INSERT INTO login_failure (key, failures, last_at) \
                     VALUES ($1::text, 1, $2::bigint) ON CONFLICT (key) DO UPDATE \
                     SET failures = CASE WHEN login_failure.last_at < $3::bigint THEN 1 \
                     ELSE login_failure.failures + 1 END, \
                     last_at = greatest(login_failure.last_at, excluded.last_at) \
                     RETURNING failures",
                    &[&key, &now, &forget_before],
                )?
                .try_get(0)?;
            Ok(u32::try_from(count).unwrap_or(u32::MAX))
        })
    }

    fn clear_login_failures(&self, key: &str) -> Result<(), StoreError> {
        self.write(|tx| {
            tx.execute("DELETE FROM login_failure WHERE key = $1::text", &[&key])?;
            Ok(())
        })
    }

    fn create_invitation(&self, new: &NewInvitation<'_>) -> Result<i64, StoreError> {
        self.write(|tx| {
            Ok(tx
                .query_one(
                    "INSERT INTO invitation (token_hash, clinician_id, label, created_at, \
                     expires_at) VALUES ($1::bytea, $2::bigint, $3::text, $4::bigint, \
                     $5::bigint) RETURNING id",
                    &[
                        &&new.token.0[..],
                        &new.clinician.0,
                        &new.label,
                        &new.now,
                        &new.expires_at,
                    ],
                )?
                .try_get(0)?)
        })
    }

    fn invitations_of(&self, clinician: AccountId) -> Result<Vec<Invitation>, StoreError> {
        self.read(|tx| {
            let sql =
                format!("{INVITATION_SELECT} WHERE i.clinician_id = $1::bigint ORDER BY i.id DESC");
            tx.query(&sql, &[&clinician.0])?
                .iter()
                .map(invitation_of)
                .collect()
        })
    }

    fn invitation_by_token(&self, token: &TokenHash) -> Result<Option<Invitation>, StoreError> {
        self.read(|tx| {
            let sql = format!("{INVITATION_SELECT} WHERE i.token_hash = $1::bytea");
            tx.query_opt(&sql, &[&&token.0[..]])?
                .map(|r| invitation_of(&r))
                .transpose()
        })
    }

    fn accept_invitation(
        &self,
        token: &TokenHash,
        participant: AccountId,
        now: i64,
    ) -> Result<CareLink, StoreError> {
        self.write(|tx| {
            // FOR UPDATE: two acceptances of one invitation at once are taken one at a time.
            let sql = format!("{INVITATION_SELECT} WHERE i.token_hash = $1::bytea FOR UPDATE OF i");
            let invitation = match tx.query_opt(&sql, &[&&token.0[..]])? {
                Some(r) => invitation_of(&r)?,
                None => return Err(not_found("invitation", 0)),
            };
            if invitation.state != InvitationState::Open {
                return Err(StoreError::Conflict(
                    "this invitation has been used or withdrawn".into(),
                ));
            }
            if now >= invitation.expires_at {
                return Err(StoreError::Conflict("this invitation has expired".into()));
            }
            let invited = one_account(tx, participant.0)?;
            if invited.role != Role::Participant {
                return Err(StoreError::Conflict(
                    "only a participant account can accept an invitation".into(),
                ));
            }
            tx.execute(
                "UPDATE invitation SET accepted_by = $2::text, accepted_at = $3::bigint \
                 WHERE id = $1::bigint",
                &[&invitation.id, &invited.username, &now],
            )?;
            tx.execute(
                "INSERT INTO care_link (clinician_id, participant_id, since) \
                 VALUES ($1::bigint, $2::bigint, $3::bigint) \
                 ON CONFLICT (clinician_id, participant_id) DO NOTHING",
                &[&invitation.clinician.0, &participant.0, &now],
            )?;
            let since: i64 = tx
                .query_one(
                    "SELECT since FROM care_link \
                     WHERE clinician_id = $1::bigint AND participant_id = $2::bigint",
                    &[&invitation.clinician.0, &participant.0],
                )?
                .try_get(0)?;
            Ok(CareLink {
                clinician: one_account(tx, invitation.clinician.0)?,
                participant: invited,
                since,
            })
        })
    }

    fn withdraw_invitation(
        &self,
        clinician: AccountId,
        id: i64,
        now: i64,
    ) -> Result<(), StoreError> {
        self.write(|tx| {
            let n = tx.execute(
                "UPDATE invitation SET withdrawn_at = $3::bigint \
                 WHERE id = $1::bigint AND clinician_id = $2::bigint \
                 AND accepted_at IS NULL AND withdrawn_at IS NULL",
                &[&id, &clinician.0, &now],
            )?;
            if n == 0 {
                return Err(not_found("open invitation", id));
            }
            Ok(())
        })
    }

    fn care_links_of(&self, id: AccountId) -> Result<Vec<CareLink>, StoreError> {
        self.read(|tx| {
            let sql = format!(
                "SELECT {ACCOUNT_COLUMNS}, p.id, p.username, p.role, p.person_id, p.created_at, \
                 l.since FROM care_link l JOIN account a ON a.id = l.clinician_id \
                 JOIN account p ON p.id = l.participant_id \
                 WHERE l.clinician_id = $1::bigint OR l.participant_id = $1::bigint \
                 ORDER BY a.username, p.username"
            );
            tx.query(&sql, &[&id.0])?
                .iter()
                .map(|r| {
                    Ok(CareLink {
                        clinician: account_of(r, 0)?,
                        participant: account_of(r, 5)?,
                        since: r.try_get(10)?,
                    })
                })
                .collect()
        })
    }

    fn end_care_link(
        &self,
        clinician: AccountId,
        participant: AccountId,
    ) -> Result<(), StoreError> {
        self.write(|tx| {
            let n = tx.execute(
                "DELETE FROM care_link \
                 WHERE clinician_id = $1::bigint AND participant_id = $2::bigint",
                &[&clinician.0, &participant.0],
            )?;
            if n == 0 {
                return Err(not_found("care link", participant.0));
            }
            Ok(())
        })
    }

    fn linked_participant(
        &self,
        clinician: AccountId,
        participant: i64,
    ) -> Result<Option<Account>, StoreError> {
        self.read(|tx| {
            let sql = format!(
                "SELECT {ACCOUNT_COLUMNS} FROM care_link l \
                 JOIN account a ON a.id = l.participant_id \
                 WHERE l.clinician_id = $1::bigint AND l.participant_id = $2::bigint"
            );
            tx.query_opt(&sql, &[&clinician.0, &participant])?
                .map(|r| account_of(&r, 0))
                .transpose()
        })
    }

    fn create_password_reset(
        &self,
        account: AccountId,
        token: &TokenHash,
        now: i64,
        expires_at: i64,
    ) -> Result<(), StoreError> {
        self.write(|tx| {
            tx.execute(
                "INSERT INTO password_reset (token_hash, account_id, created_at, expires_at) \
                 VALUES ($1::bytea, $2::bigint, $3::bigint, $4::bigint)",
                &[&&token.0[..], &account.0, &now, &expires_at],
            )?;
            Ok(())
        })
    }

    fn password_reset(&self, token: &TokenHash, now: i64) -> Result<Option<Account>, StoreError> {
        self.read(|tx| live_reset(tx, token, now))
    }

    fn use_password_reset(
        &self,
        token: &TokenHash,
        now: i64,
        phc: &str,
        at: &str,
    ) -> Result<Account, StoreError> {
        self.write(|tx| {
            // Marking it used first makes a second use at the same moment find nothing.
            let n = tx.execute(
                "UPDATE password_reset SET used_at = $2::bigint WHERE token_hash = $1::bytea \
                 AND used_at IS NULL AND expires_at > $2::bigint",
                &[&&token.0[..], &now],
            )?;
            if n == 0 {
                return Err(not_found("password reset link", 0));
            }
            let account_id: i64 = tx
                .query_one(
                    "SELECT account_id FROM password_reset WHERE token_hash = $1::bytea",
                    &[&&token.0[..]],
                )?
                .try_get(0)?;
            tx.execute(
                "UPDATE account SET phc = $2::text, password_set_at = $3::text \
                 WHERE id = $1::bigint",
                &[&account_id, &phc, &at],
            )?;
            tx.execute(
                "DELETE FROM session WHERE account_id = $1::bigint",
                &[&account_id],
            )?;
            one_account(tx, account_id)
        })
    }

    fn create_helper_link(
        &self,
        token: &TokenHash,
        person: PersonId,
        trial_id: i64,
        helper: &str,
        now: i64,
    ) -> Result<(), StoreError> {
        self.write(|tx| {
            let n = tx.execute(
                "INSERT INTO helper_link (token_hash, person_id, trial_id, helper, created_at) \
                 SELECT $1::bytea, $2::bigint, id, $4::text, $5::bigint FROM trial \
                 WHERE id = $3::bigint AND person_id = $2::bigint",
                &[&&token.0[..], &person.0, &trial_id, &helper, &now],
            )?;
            if n == 1 {
                Ok(())
            } else {
                Err(not_found("trial", trial_id))
            }
        })
    }

    fn helper_link(&self, token: &TokenHash) -> Result<Option<HelperLink>, StoreError> {
        self.read(|tx| {
            match tx.query_opt(
                "SELECT person_id, trial_id, helper, created_at, opened FROM helper_link \
                 WHERE token_hash = $1::bytea",
                &[&&token.0[..]],
            )? {
                Some(r) => {
                    let opened: i64 = r.try_get(4)?;
                    Ok(Some(HelperLink {
                        person: PersonId(r.try_get(0)?),
                        trial_id: r.try_get(1)?,
                        helper: r.try_get(2)?,
                        created_at: r.try_get(3)?,
                        opened: u32::try_from(opened).unwrap_or(u32::MAX),
                    }))
                }
                None => Ok(None),
            }
        })
    }

    fn use_helper_link(&self, token: &TokenHash) -> Result<bool, StoreError> {
        self.write(|tx| {
            Ok(tx.execute(
                "UPDATE helper_link SET opened = opened + 1 \
                 WHERE token_hash = $1::bytea AND opened = 0",
                &[&&token.0[..]],
            )? == 1)
        })
    }

    fn append_audit(&self, subject: PersonId, entry: &AuditEntry) -> Result<(), StoreError> {
        self.write(|tx| {
            tx.execute(
                "INSERT INTO audit (subject_person, at, actor, actor_role, action, detail) \
                 VALUES ($1::bigint, $2::text, $3::text, $4::text, $5::text, $6::text)",
                &[
                    &subject.0,
                    &entry.at,
                    &entry.actor,
                    &entry.actor_role.as_str(),
                    &entry.action,
                    &entry.detail,
                ],
            )?;
            Ok(())
        })
    }

    fn audit_of(&self, subject: PersonId) -> Result<Vec<AuditEntry>, StoreError> {
        self.read(|tx| {
            tx.query(
                "SELECT at, actor, actor_role, action, detail FROM audit \
                 WHERE subject_person = $1::bigint ORDER BY id",
                &[&subject.0],
            )?
            .iter()
            .map(|r| {
                Ok(AuditEntry {
                    at: r.try_get(0)?,
                    actor: r.try_get(1)?,
                    actor_role: actor_at(r, 2)?,
                    action: r.try_get(3)?,
                    detail: r.try_get(4)?,
                })
            })
            .collect()
        })
    }
}
