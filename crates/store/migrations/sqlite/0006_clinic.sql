-- The clinic server (`quietlegs serve --clinic`): accounts with a role, sessions, the log-in
-- throttle, invitations and care links, one-time password resets and the append-only audit
-- log. Tokens are kept only as their SHA-256; moments that are compared are Unix seconds.
CREATE TABLE account (
    id              INTEGER PRIMARY KEY,
    person_id       INTEGER NOT NULL UNIQUE REFERENCES person(id),
    username        TEXT NOT NULL UNIQUE,
    role            TEXT NOT NULL CHECK (role IN ('participant', 'clinician', 'admin')),
    phc             TEXT NOT NULL CHECK (phc LIKE '$argon2id$%'),
    created_at      TEXT NOT NULL,
    password_set_at TEXT NOT NULL
);

CREATE TABLE session (
    token_hash      BLOB PRIMARY KEY CHECK (length(token_hash) = 32),
    account_id      INTEGER NOT NULL REFERENCES account(id),
    created_at      INTEGER NOT NULL,
    last_seen       INTEGER NOT NULL,
    absolute_expiry INTEGER NOT NULL
);
CREATE INDEX session_by_account ON session (account_id);

CREATE TABLE login_failure (
    key      TEXT PRIMARY KEY,
    failures INTEGER NOT NULL CHECK (failures > 0),
    last_at  INTEGER NOT NULL
);

CREATE TABLE invitation (
    id           INTEGER PRIMARY KEY,
    token_hash   BLOB NOT NULL UNIQUE CHECK (length(token_hash) = 32),
    clinician_id INTEGER NOT NULL REFERENCES account(id),
    label        TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    accepted_by  TEXT,
    accepted_at  INTEGER,
    withdrawn_at INTEGER
);
CREATE INDEX invitation_by_clinician ON invitation (clinician_id);

CREATE TABLE care_link (
    clinician_id   INTEGER NOT NULL REFERENCES account(id),
    participant_id INTEGER NOT NULL REFERENCES account(id),
    since          INTEGER NOT NULL,
    PRIMARY KEY (clinician_id, participant_id)
);
CREATE INDEX care_link_by_participant ON care_link (participant_id);

CREATE TABLE password_reset (
    token_hash BLOB PRIMARY KEY CHECK (length(token_hash) = 32),
    account_id INTEGER NOT NULL REFERENCES account(id),
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at    INTEGER
);

-- A blinded trial a clinician set up: the helper it names opens the sheet (which container
-- gets what) through a one-time link, before the first night. Removed with the trial.
CREATE TABLE helper_link (
    token_hash BLOB PRIMARY KEY CHECK (length(token_hash) = 32),
    person_id  INTEGER NOT NULL REFERENCES person(id),
    trial_id   INTEGER NOT NULL REFERENCES trial(id) ON DELETE CASCADE,
    helper     TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    opened     INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE audit (
    id             INTEGER PRIMARY KEY,
    subject_person INTEGER NOT NULL REFERENCES person(id),
    at             TEXT NOT NULL,
    actor          TEXT NOT NULL,
    actor_role     TEXT NOT NULL CHECK (actor_role IN ('participant', 'clinician', 'admin', 'helper')),
    action         TEXT NOT NULL,
    detail         TEXT NOT NULL
);
CREATE INDEX audit_by_subject ON audit (subject_person, id);

-- Append-only: no line is ever changed, and lines are removed only with their person, when
-- the account is deleted (the deletion names the person in `erasing` within its transaction).
CREATE TABLE erasing (person_id INTEGER PRIMARY KEY);
CREATE TRIGGER audit_is_append_only_update BEFORE UPDATE ON audit
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;
CREATE TRIGGER audit_is_append_only_delete BEFORE DELETE ON audit
WHEN OLD.subject_person NOT IN (SELECT person_id FROM erasing)
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;
