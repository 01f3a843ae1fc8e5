//! [`ClinicStore`] on SQLite (a clinic on one machine; the tests' quick backend). The same
//! statements as the PostgreSQL backend where SQL allows; each method one transaction.

use rusqlite::{params, OptionalExtension, Row, Transaction};

use crate::clinic::{
    Account, AccountId, Actor, AuditEntry, CareLink, ClinicStore, HelperLink, Invitation,
    InvitationState, LiveSession, LoginFailures, NewAccount, NewInvitation, NewSession, Role,
    TokenHash,
};
use crate::{PersonId, SqliteStore, StoreError};

/// The tables that hold a person's data, children before parents, for [`delete_account`].
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

/// The role in column `at` (a role this build does not know is an error, never a guess).
fn role_at(row: &Row<'_>, at: usize) -> rusqlite::Result<Role> {
    let role: String = row.get(at)?;
    Role::parse(&role).ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(
            at,
            rusqlite::types::Type::Text,
            format!("unknown role {role}").into(),
        )
    })
}

/// The actor in column `at` of an audit line.
fn actor_at(row: &Row<'_>, at: usize) -> rusqlite::Result<Actor> {
    let actor: String = row.get(at)?;
    Actor::parse(&actor).ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(
            at,
            rusqlite::types::Type::Text,
            format!("unknown actor {actor}").into(),
        )
    })
}

fn account_of(row: &Row<'_>, at: usize) -> rusqlite::Result<Account> {
    Ok(Account {
        id: AccountId(row.get(at)?),
        username: row.get(at + 1)?,
        role: role_at(row, at + 2)?,
        person: PersonId(row.get(at + 3)?),
        created_at: row.get(at + 4)?,
    })
}

fn not_found(kind: &str, id: i64) -> StoreError {
    StoreError::NotFound {
        kind: kind.into(),
        id,
    }
}

fn invitation_of(row: &Row<'_>) -> rusqlite::Result<Invitation> {
    let accepted_by: Option<String> = row.get(6)?;
    let accepted_at: Option<i64> = row.get(7)?;
    let withdrawn_at: Option<i64> = row.get(8)?;
    let state = match (accepted_by, accepted_at, withdrawn_at) {
        (Some(by), Some(at), _) => InvitationState::Accepted { by, at },
        (_, _, Some(at)) => InvitationState::Withdrawn { at },
        _ => InvitationState::Open,
    };
    Ok(Invitation {
        id: row.get(0)?,
        clinician: AccountId(row.get(1)?),
        clinician_username: row.get(2)?,
        label: row.get(3)?,
        created_at: row.get(4)?,
        expires_at: row.get(5)?,
        state,
    })
}

const INVITATION_SELECT: &str = "SELECT i.id, i.clinician_id, a.username, i.label, i.created_at, \
     i.expires_at, i.accepted_by, i.accepted_at, i.withdrawn_at \
     FROM invitation i JOIN account a ON a.id = i.clinician_id";

fn link_of(
    tx: &Transaction<'_>,
    clinician: i64,
    participant: i64,
    since: i64,
) -> Result<CareLink, StoreError> {
    let one = |id: i64| -> Result<Account, StoreError> {
        tx.query_row(
            &format!("SELECT {ACCOUNT_COLUMNS} FROM account a WHERE a.id = ?1"),
            [id],
            |r| account_of(r, 0),
        )
        .optional()?
        .ok_or_else(|| not_found("account", id))
    };
    Ok(CareLink {
        clinician: one(clinician)?,
        participant: one(participant)?,
        since,
    })
}

impl ClinicStore for SqliteStore {
    fn create_account(&self, new: &NewAccount<'_>) -> Result<Account, StoreError> {
        self.write(|tx| {
            let taken: Option<i64> = tx
                .query_row(
                    "SELECT id FROM account WHERE username = ?1",
                    [new.username],
                    |r| r.get(0),
                )
                .optional()?;
            if taken.is_some() {
                return Err(StoreError::Conflict(format!(
                    "the username {} is taken",
                    new.username
                )));
            }
            tx.execute(
                "INSERT INTO person (name, created_at) VALUES (?1, ?2)",
                params![
                    crate::Identity::account(new.username).name().to_string(),
                    new.at
                ],
            )?;
            let person = tx.last_insert_rowid();
            tx.execute(
                "INSERT INTO account (person_id, username, role, phc, created_at, password_set_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
                params![person, new.username, new.role.as_str(), new.phc, new.at],
            )?;
            Ok(Account {
                id: AccountId(tx.last_insert_rowid()),
                username: new.username.to_string(),
                role: new.role,
                person: PersonId(person),
                created_at: new.at.to_string(),
            })
        })
    }

    fn account_by_username(&self, username: &str) -> Result<Option<(Account, String)>, StoreError> {
        self.read(|tx| {
            Ok(tx
                .query_row(
                    &format!(
                        "SELECT {ACCOUNT_COLUMNS}, a.phc FROM account a WHERE a.username = ?1"
                    ),
                    [username],
                    |r| Ok((account_of(r, 0)?, r.get(5)?)),
                )
                .optional()?)
        })
    }

    fn account(&self, id: AccountId) -> Result<Option<Account>, StoreError> {
        self.read(|tx| {
            Ok(tx
                .query_row(
                    &format!("SELECT {ACCOUNT_COLUMNS} FROM account a WHERE a.id = ?1"),
                    [id.0],
                    |r| account_of(r, 0),
                )
                .optional()?)
        })
    }

    fn accounts(&self) -> Result<Vec<Account>, StoreError> {
        self.read(|tx| {
            let mut stmt = tx.prepare(&format!(
                "SELECT {ACCOUNT_COLUMNS} FROM account a ORDER BY a.username"
            ))?;
            let rows = stmt.query_map([], |r| account_of(r, 0))?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
    }

    fn set_account_password(&self, id: AccountId, phc: &str, at: &str) -> Result<(), StoreError> {
        self.write(|tx| {
            let n = tx.execute(
                "UPDATE account SET phc = ?2, password_set_at = ?3 WHERE id = ?1",
                params![id.0, phc, at],
            )?;
            if n == 0 {
                return Err(not_found("account", id.0));
            }
            tx.execute("DELETE FROM session WHERE account_id = ?1", [id.0])?;
            Ok(())
        })
    }

    fn delete_account(&self, id: AccountId) -> Result<(), StoreError> {
        self.write(|tx| {
            let (person, username): (i64, String) = tx
                .query_row(
                    "SELECT person_id, username FROM account WHERE id = ?1",
                    [id.0],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()?
                .ok_or_else(|| not_found("account", id.0))?;
            // Their name leaves the invitations they accepted.
            tx.execute(
                "UPDATE invitation SET accepted_by = ?2 WHERE accepted_by = ?1",
                params![username, DELETED_ACCOUNT],
            )?;
            // Their failed log-ins: a new account of the same name starts afresh.
            tx.execute(
                "DELETE FROM login_failure WHERE key = ?1",
                [format!("account:{username}")],
            )?;
            for sql in [
                "DELETE FROM session WHERE account_id = ?1",
                "DELETE FROM password_reset WHERE account_id = ?1",
                "DELETE FROM care_link WHERE clinician_id = ?1 OR participant_id = ?1",
                "DELETE FROM invitation WHERE clinician_id = ?1",
            ] {
                tx.execute(sql, [id.0])?;
            }
            tx.execute("DELETE FROM account WHERE id = ?1", [id.0])?;
            for table in PERSON_TABLES {
                tx.execute(&format!("DELETE FROM {table} WHERE person_id = ?1"), [person])?;
            }
            for sql in [
                "DELETE FROM trial_seal WHERE trial_id IN (SELECT id FROM trial WHERE person_id = ?1)",
                "DELETE FROM trial_event WHERE trial_id IN (SELECT id FROM trial WHERE person_id = ?1)",
                "DELETE FROM trial_guess WHERE trial_id IN (SELECT id FROM trial WHERE person_id = ?1)",
                "DELETE FROM trial WHERE person_id = ?1",
                "INSERT INTO erasing (person_id) VALUES (?1)",
                "DELETE FROM audit WHERE subject_person = ?1",
                "DELETE FROM erasing WHERE person_id = ?1",
                "DELETE FROM person WHERE id = ?1",
            ] {
                tx.execute(sql, [person])?;
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
                tx.execute("DELETE FROM session WHERE token_hash = ?1", [&old.0[..]])?;
            }
            tx.execute(
                "INSERT INTO session (token_hash, account_id, created_at, last_seen, \
                 absolute_expiry) VALUES (?1, ?2, ?3, ?3, ?4)",
                params![
                    &session.token.0[..],
                    session.account.0,
                    session.now,
                    session.absolute_expiry
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
            Ok(tx
                .query_row(
                    &format!(
                        "SELECT {ACCOUNT_COLUMNS}, s.created_at, s.last_seen, s.absolute_expiry \
                         FROM session s JOIN account a ON a.id = s.account_id \
                         WHERE s.token_hash = ?1"
                    ),
                    [&token.0[..]],
                    |r| {
                        Ok(LiveSession {
                            account: account_of(r, 0)?,
                            created_at: r.get(5)?,
                            last_seen: r.get(6)?,
                            absolute_expiry: r.get(7)?,
                        })
                    },
                )
                .optional()?)
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
                    "UPDATE session SET last_seen = ?2 WHERE token_hash = ?1 AND last_seen < ?2",
                    params![&token.0[..], now],
                )?;
                Ok(())
            })?;
            live.last_seen = now;
        }
        Ok(Some(live))
    }

    fn close_session(&self, token: &TokenHash) -> Result<(), StoreError> {
        self.write(|tx| {
            tx.execute("DELETE FROM session WHERE token_hash = ?1", [&token.0[..]])?;
            Ok(())
        })
    }

    fn close_sessions_of(&self, id: AccountId) -> Result<u64, StoreError> {
        self.write(|tx| Ok(tx.execute("DELETE FROM session WHERE account_id = ?1", [id.0])? as u64))
    }

    fn login_failures(&self, key: &str) -> Result<Option<LoginFailures>, StoreError> {
        self.read(|tx| {
            Ok(tx
                .query_row(
                    "SELECT failures, last_at FROM login_failure WHERE key = ?1",
                    [key],
                    |r| {
                        Ok(LoginFailures {
                            count: r.get(0)?,
                            last_at: r.get(1)?,
                        })
                    },
                )
                .optional()?)
        })
    }

    fn record_login_failure(
        &self,
        key: &str,
        now: i64,
        forget_before: i64,
    ) -> Result<u32, StoreError> {
        self.write(|tx| {
            Ok(tx.query_row(
                "INSERT INTO login_failure (key, failures, last_at) VALUES (?1, 1, ?2) \
                 ON CONFLICT (key) DO UPDATE SET \
                 failures = CASE WHEN last_at < ?3 THEN 1 ELSE failures + 1 END, \
                 last_at = max(last_at, excluded.last_at) RETURNING failures",
                params![key, now, forget_before],
                |r| r.get(0),
            )?)
        })
    }

    fn clear_login_failures(&self, key: &str) -> Result<(), StoreError> {
        self.write(|tx| {
            tx.execute("DELETE FROM login_failure WHERE key = ?1", [key])?;
            Ok(())
        })
    }

    fn create_invitation(&self, new: &NewInvitation<'_>) -> Result<i64, StoreError> {
        self.write(|tx| {
            tx.execute(
                "INSERT INTO invitation (token_hash, clinician_id, label, created_at, expires_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    &new.token.0[..],
                    new.clinician.0,
                    new.label,
                    new.now,
                    new.expires_at
                ],
            )?;
            Ok(tx.last_insert_rowid())
        })
    }

    fn invitations_of(&self, clinician: AccountId) -> Result<Vec<Invitation>, StoreError> {
        self.read(|tx| {
            let mut stmt = tx.prepare(&format!(
                "{INVITATION_SELECT} WHERE i.clinician_id = ?1 ORDER BY i.id DESC"
            ))?;
            let rows = stmt.query_map([clinician.0], invitation_of)?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
    }

    fn invitation_by_token(&self, token: &TokenHash) -> Result<Option<Invitation>, StoreError> {
        self.read(|tx| {
            Ok(tx
                .query_row(
                    &format!("{INVITATION_SELECT} WHERE i.token_hash = ?1"),
                    [&token.0[..]],
                    invitation_of,
                )
                .optional()?)
        })
    }

    fn accept_invitation(
        &self,
        token: &TokenHash,
        participant: AccountId,
        now: i64,
    ) -> Result<CareLink, StoreError> {
        self.write(|tx| {
            let invitation = tx
                .query_row(
                    &format!("{INVITATION_SELECT} WHERE i.token_hash = ?1"),
                    [&token.0[..]],
                    invitation_of,
                )
                .optional()?
                .ok_or_else(|| not_found("invitation", 0))?;
            if invitation.state != InvitationState::Open {
                return Err(StoreError::Conflict(
                    "this invitation has been used or withdrawn".into(),
                ));
            }
            if now >= invitation.expires_at {
                return Err(StoreError::Conflict("this invitation has expired".into()));
            }
            let (username, role): (String, String) = tx
                .query_row(
                    "SELECT username, role FROM account WHERE id = ?1",
                    [participant.0],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()?
                .ok_or_else(|| not_found("account", participant.0))?;
            if role != Role::Participant.as_str() {
                return Err(StoreError::Conflict(
                    "only a participant account can accept an invitation".into(),
                ));
            }
            tx.execute(
                "UPDATE invitation SET accepted_by = ?2, accepted_at = ?3 WHERE id = ?1",
                params![invitation.id, username, now],
            )?;
            tx.execute(
                "INSERT INTO care_link (clinician_id, participant_id, since) VALUES (?1, ?2, ?3) \
                 ON CONFLICT (clinician_id, participant_id) DO NOTHING",
                params![invitation.clinician.0, participant.0, now],
            )?;
            let since: i64 = tx.query_row(
                "SELECT since FROM care_link WHERE clinician_id = ?1 AND participant_id = ?2",
                [invitation.clinician.0, participant.0],
                |r| r.get(0),
            )?;
            link_of(tx, invitation.clinician.0, participant.0, since)
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
                "UPDATE invitation SET withdrawn_at = ?3 WHERE id = ?1 AND clinician_id = ?2 \
                 AND accepted_at IS NULL AND withdrawn_at IS NULL",
                params![id, clinician.0, now],
            )?;
            if n == 0 {
                return Err(not_found("open invitation", id));
            }
            Ok(())
        })
    }

    fn care_links_of(&self, id: AccountId) -> Result<Vec<CareLink>, StoreError> {
        self.read(|tx| {
            let mut stmt = tx.prepare(&format!(
                "SELECT {ACCOUNT_COLUMNS}, p.id, p.username, p.role, p.person_id, p.created_at, \
                 l.since FROM care_link l JOIN account a ON a.id = l.clinician_id \
                 JOIN account p ON p.id = l.participant_id \
                 WHERE l.clinician_id = ?1 OR l.participant_id = ?1 \
                 ORDER BY a.username, p.username"
            ))?;
            let rows = stmt.query_map([id.0], |r| {
                Ok(CareLink {
                    clinician: account_of(r, 0)?,
                    participant: account_of(r, 5)?,
                    since: r.get(10)?,
                })
            })?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
    }

    fn end_care_link(
        &self,
        clinician: AccountId,
        participant: AccountId,
    ) -> Result<(), StoreError> {
        self.write(|tx| {
            let n = tx.execute(
                "DELETE FROM care_link WHERE clinician_id = ?1 AND participant_id = ?2",
                [clinician.0, participant.0],
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
            Ok(tx
                .query_row(
                    &format!(
                        "SELECT {ACCOUNT_COLUMNS} FROM care_link l \
                         JOIN account a ON a.id = l.participant_id \
                         WHERE l.clinician_id = ?1 AND l.participant_id = ?2"
                    ),
                    [clinician.0, participant],
                    |r| account_of(r, 0),
                )
                .optional()?)
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
                 VALUES (?1, ?2, ?3, ?4)",
                params![&token.0[..], account.0, now, expires_at],
            )?;
            Ok(())
        })
    }

    fn password_reset(&self, token: &TokenHash, now: i64) -> Result<Option<Account>, StoreError> {
        self.read(|tx| {
            Ok(tx
                .query_row(
                    &format!(
                        "SELECT {ACCOUNT_COLUMNS} FROM password_reset r \
                         JOIN account a ON a.id = r.account_id \
                         WHERE r.token_hash = ?1 AND r.used_at IS NULL AND r.expires_at > ?2"
                    ),
                    params![&token.0[..], now],
                    |r| account_of(r, 0),
                )
                .optional()?)
        })
    }

    fn use_password_reset(
        &self,
        token: &TokenHash,
        now: i64,
        phc: &str,
        at: &str,
    ) -> Result<Account, StoreError> {
        self.write(|tx| {
            let account = tx
                .query_row(
                    &format!(
                        "SELECT {ACCOUNT_COLUMNS} FROM password_reset r \
                         JOIN account a ON a.id = r.account_id \
                         WHERE r.token_hash = ?1 AND r.used_at IS NULL AND r.expires_at > ?2"
                    ),
                    params![&token.0[..], now],
                    |r| account_of(r, 0),
                )
                .optional()?
                .ok_or_else(|| not_found("password reset link", 0))?;
            tx.execute(
                "UPDATE password_reset SET used_at = ?2 WHERE token_hash = ?1",
                params![&token.0[..], now],
            )?;
            tx.execute(
                "UPDATE account SET phc = ?2, password_set_at = ?3 WHERE id = ?1",
                params![account.id.0, phc, at],
            )?;
            tx.execute("DELETE FROM session WHERE account_id = ?1", [account.id.0])?;
            Ok(account)
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
            tx.execute(
                "INSERT INTO helper_link (token_hash, person_id, trial_id, helper, created_at) \
                 SELECT ?1, ?2, id, ?4, ?5 FROM trial WHERE id = ?3 AND person_id = ?2",
                params![&token.0[..], person.0, trial_id, helper, now],
            )
            .and_then(|n| {
                if n == 1 {
                    Ok(())
                } else {
                    Err(rusqlite::Error::QueryReturnedNoRows)
                }
            })
            .map_err(|e| match e {
                rusqlite::Error::QueryReturnedNoRows => not_found("trial", trial_id),
                other => StoreError::from(other),
            })
        })
    }

    fn helper_link(&self, token: &TokenHash) -> Result<Option<HelperLink>, StoreError> {
        self.read(|tx| {
            Ok(tx
                .query_row(
                    "SELECT person_id, trial_id, helper, created_at, opened FROM helper_link \
                     WHERE token_hash = ?1",
                    [&token.0[..]],
                    |r| {
                        Ok(HelperLink {
                            person: PersonId(r.get(0)?),
                            trial_id: r.get(1)?,
                            helper: r.get(2)?,
                            created_at: r.get(3)?,
                            opened: r.get(4)?,
                        })
                    },
                )
                .optional()?)
        })
    }

    fn use_helper_link(&self, token: &TokenHash) -> Result<bool, StoreError> {
        self.write(|tx| {
            Ok(tx.execute(
                "UPDATE helper_link SET opened = opened + 1 WHERE token_hash = ?1 AND opened = 0",
                [&token.0[..]],
            )? == 1)
        })
    }

    fn append_audit(&self, subject: PersonId, entry: &AuditEntry) -> Result<(), StoreError> {
        self.write(|tx| {
            tx.execute(
                "INSERT INTO audit (subject_person, at, actor, actor_role, action, detail) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    subject.0,
                    entry.at,
                    entry.actor,
                    entry.actor_role.as_str(),
                    entry.action,
                    entry.detail
                ],
            )?;
            Ok(())
        })
    }

    fn audit_of(&self, subject: PersonId) -> Result<Vec<AuditEntry>, StoreError> {
        self.read(|tx| {
            let mut stmt = tx.prepare(
                "SELECT at, actor, actor_role, action, detail FROM audit \
                 WHERE subject_person = ?1 ORDER BY id",
            )?;
            let rows = stmt.query_map([subject.0], |r| {
                Ok(AuditEntry {
                    at: r.get(0)?,
                    actor: r.get(1)?,
                    actor_role: actor_at(r, 2)?,
                    action: r.get(3)?,
                    detail: r.get(4)?,
                })
            })?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clinic::NewAccount;

    /// The audit log is append-only in the file itself: an UPDATE or a DELETE through any
    /// connection is refused and the line is kept; deleting the account removes it.
    #[test]
    fn the_audit_log_refuses_update_and_delete() -> Result<(), StoreError> {
        let store = SqliteStore::in_memory()?;
        let zoe = store.create_account(&NewAccount {
            username: "zoe",
            role: Role::Participant,
            phc: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$x",
            at: "2026-11-01T09:00:00Z",
        })?;
        let line = AuditEntry {
            at: "2026-11-02T10:00:00Z".into(),
            actor: "amy".into(),
            actor_role: Actor::Clinician,
            action: "read the report".into(),
            detail: "2026-10-01 to 2026-11-01".into(),
        };
        store.append_audit(zoe.person, &line)?;
        for sql in ["UPDATE audit SET actor = 'nobody'", "DELETE FROM audit"] {
            let refused = store.lock()?.execute(sql, []);
            assert!(
                refused
                    .as_ref()
                    .is_err_and(|e| e.to_string().contains("append-only")),
                "{sql}: {refused:?}"
            );
        }
        assert_eq!(store.audit_of(zoe.person)?, [line]);
        store.delete_account(zoe.id)?;
        let left: i64 = store
            .lock()?
            .query_row("SELECT count(*) FROM audit", [], |r| r.get(0))?;
        assert_eq!(left, 0);
        Ok(())
    }
}
