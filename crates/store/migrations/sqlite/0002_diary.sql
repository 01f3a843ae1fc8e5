-- The diary. Every row belongs to one person; every row carries when it was written (UTC, RFC
-- 3339) and the person's time zone then. Dates are the local date of the evening (YYYY-MM-DD).
CREATE TABLE person (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL
);

CREATE TABLE night (
    id               INTEGER PRIMARY KEY,
    person_id        INTEGER NOT NULL REFERENCES person(id),
    date             TEXT NOT NULL,
    severity         INTEGER NOT NULL CHECK (severity BETWEEN 0 AND 10),
    symptoms_began   TEXT,
    sleep_quality    INTEGER CHECK (sleep_quality BETWEEN 0 AND 10),
    hours_slept      REAL CHECK (hours_slept BETWEEN 0 AND 24),
    minutes_to_sleep INTEGER CHECK (minutes_to_sleep >= 0),
    awakenings       INTEGER CHECK (awakenings >= 0),
    note             TEXT,
    created_at TEXT NOT NULL, updated_at TEXT NOT NULL, tz TEXT NOT NULL,
    UNIQUE (person_id, date)
);

CREATE TABLE irls (
    id        INTEGER PRIMARY KEY,
    person_id INTEGER NOT NULL REFERENCES person(id),
    date      TEXT NOT NULL,
    items     TEXT NOT NULL,
    total     INTEGER NOT NULL CHECK (total BETWEEN 0 AND 40),
    band      TEXT NOT NULL,
    rls6      TEXT,
    created_at TEXT NOT NULL, updated_at TEXT NOT NULL, tz TEXT NOT NULL,
    UNIQUE (person_id, date)
);

CREATE TABLE dose (
    id           INTEGER PRIMARY KEY,
    person_id    INTEGER NOT NULL REFERENCES person(id),
    date         TEXT NOT NULL,
    time         TEXT NOT NULL,
    product      TEXT NOT NULL,
    form         TEXT,
    elemental_mg REAL NOT NULL CHECK (elemental_mg > 0),
    created_at TEXT NOT NULL, updated_at TEXT NOT NULL, tz TEXT NOT NULL
);

CREATE TABLE food_log (
    id           INTEGER PRIMARY KEY,
    person_id    INTEGER NOT NULL REFERENCES person(id),
    date         TEXT NOT NULL,
    food_id      TEXT NOT NULL,
    food_name    TEXT NOT NULL,
    amount       TEXT NOT NULL,
    grams        REAL NOT NULL CHECK (grams > 0),
    magnesium_mg REAL,
    created_at TEXT NOT NULL, updated_at TEXT NOT NULL, tz TEXT NOT NULL
);

CREATE TABLE side_effects (
    id        INTEGER PRIMARY KEY,
    person_id INTEGER NOT NULL REFERENCES person(id),
    date      TEXT NOT NULL,
    diarrhea  INTEGER NOT NULL CHECK (diarrhea BETWEEN 0 AND 3),
    nausea    INTEGER NOT NULL CHECK (nausea BETWEEN 0 AND 3),
    cramps    INTEGER NOT NULL CHECK (cramps BETWEEN 0 AND 3),
    created_at TEXT NOT NULL, updated_at TEXT NOT NULL, tz TEXT NOT NULL,
    UNIQUE (person_id, date)
);

CREATE TABLE factor (
    id        INTEGER PRIMARY KEY,
    person_id INTEGER NOT NULL REFERENCES person(id),
    date      TEXT NOT NULL,
    kind      TEXT NOT NULL,
    amount    REAL,
    unit      TEXT,
    time      TEXT,
    created_at TEXT NOT NULL, updated_at TEXT NOT NULL, tz TEXT NOT NULL
);

CREATE INDEX night_by_date ON night(person_id, date);
CREATE INDEX irls_by_date ON irls(person_id, date);
CREATE INDEX dose_by_date ON dose(person_id, date);
CREATE INDEX food_log_by_date ON food_log(person_id, date);
CREATE INDEX side_effects_by_date ON side_effects(person_id, date);
CREATE INDEX factor_by_date ON factor(person_id, date);
