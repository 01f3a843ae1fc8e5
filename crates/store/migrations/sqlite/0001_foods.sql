-- Imported USDA food releases. Foods are shared by every user of a database.
CREATE TABLE food_release (
    release     TEXT PRIMARY KEY,
    kind        TEXT NOT NULL,
    imported_at TEXT NOT NULL,
    foods       INTEGER NOT NULL
);

CREATE TABLE food (
    id           TEXT PRIMARY KEY,
    release      TEXT NOT NULL REFERENCES food_release(release) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    food_group   TEXT,
    ndb          TEXT,
    kcal         REAL,
    magnesium_mg REAL,
    calcium_mg   REAL,
    iron_mg      REAL,
    potassium_mg REAL,
    zinc_mg      REAL,
    sodium_mg    REAL,
    fiber_g      REAL
);
CREATE INDEX food_by_release ON food(release);

CREATE TABLE food_portion (
    food_id TEXT NOT NULL REFERENCES food(id) ON DELETE CASCADE,
    seq     INTEGER NOT NULL,
    amount  REAL NOT NULL CHECK (amount > 0),
    unit    TEXT NOT NULL,
    grams   REAL NOT NULL CHECK (grams > 0),
    release TEXT NOT NULL,
    PRIMARY KEY (food_id, seq)
);
