-- Imported USDA food releases. Foods are reference data shared by every person of a database
-- (public USDA tables, no one's health data). Instants are kept as the text the Store trait
-- hands over (see 0002_diary.sql).
CREATE TABLE food_release (
    release     text PRIMARY KEY,
    kind        text NOT NULL,
    imported_at text NOT NULL,
    foods       bigint NOT NULL CHECK (foods >= 0)
);

CREATE TABLE food (
    -- Import order: a food read back comes in the order it was (re)imported, as in SQLite.
    ord          bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
    id           text PRIMARY KEY,
    release      text NOT NULL REFERENCES food_release(release) ON DELETE CASCADE,
    name         text NOT NULL,
    food_group   text,
    ndb          text,
    kcal         double precision,
    magnesium_mg double precision,
    calcium_mg   double precision,
    iron_mg      double precision,
    potassium_mg double precision,
    zinc_mg      double precision,
    sodium_mg    double precision,
    fiber_g      double precision
);
CREATE INDEX food_by_release ON food(release);

CREATE TABLE food_portion (
    food_id text NOT NULL REFERENCES food(id) ON DELETE CASCADE,
    seq     integer NOT NULL,
    amount  double precision NOT NULL CHECK (amount > 0),
    unit    text NOT NULL,
    grams   double precision NOT NULL CHECK (grams > 0),
    release text NOT NULL,
    PRIMARY KEY (food_id, seq)
);
CREATE INDEX food_portion_by_release ON food_portion(release);
