-- The person's profile: the same TOML document `quietlegs plan --profile FILE` reads
-- (docs/profile.md), stored as written and parsed by the one profile parser whenever it is
-- used. One per person; a new one replaces the old.
CREATE TABLE profile (
    person_id  INTEGER PRIMARY KEY REFERENCES person(id),
    document   TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
