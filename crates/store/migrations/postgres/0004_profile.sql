-- The person's profile: the TOML document of docs/profile.md, stored as written and parsed by
-- the one profile parser whenever it is used. One per person; a new one replaces the old.
CREATE TABLE profile (
    person_id  bigint PRIMARY KEY REFERENCES person(id),
    document   text NOT NULL,
    updated_at text NOT NULL
);
