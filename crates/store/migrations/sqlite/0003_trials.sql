-- n-of-1 trials. The pre-registered plan is stored with its hash and never updated. The seed,
-- which determines the allocation, is kept apart (trial_seal) so that ordinary commands of a
-- blinded trial never read it before unblinding.
CREATE TABLE trial (
    id         INTEGER PRIMARY KEY,
    person_id  INTEGER NOT NULL REFERENCES person(id),
    name       TEXT NOT NULL,
    plan_json  TEXT NOT NULL,
    plan_hash  TEXT NOT NULL,
    created_at TEXT NOT NULL,
    tz         TEXT NOT NULL,
    UNIQUE (person_id, name)
);

CREATE TABLE trial_seal (
    trial_id INTEGER PRIMARY KEY REFERENCES trial(id) ON DELETE CASCADE,
    seed     TEXT NOT NULL
);

CREATE TABLE trial_event (
    id       INTEGER PRIMARY KEY,
    trial_id INTEGER NOT NULL REFERENCES trial(id) ON DELETE CASCADE,
    at       TEXT NOT NULL,
    kind     TEXT NOT NULL CHECK (kind IN ('unblinded', 'early-unblinding')),
    detail   TEXT NOT NULL
);

CREATE TABLE trial_guess (
    trial_id INTEGER NOT NULL REFERENCES trial(id) ON DELETE CASCADE,
    period   INTEGER NOT NULL,
    guess    TEXT NOT NULL,
    at       TEXT NOT NULL,
    PRIMARY KEY (trial_id, period)
);
