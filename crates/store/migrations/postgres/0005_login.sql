-- The web app's log-in: one password per person, kept only as an argon2id PHC string (the
-- password itself is never stored). Not part of diary exports.
CREATE TABLE login (
    person_id  bigint PRIMARY KEY REFERENCES person(id) ON DELETE CASCADE,
    phc        text NOT NULL CHECK (phc LIKE '$argon2id$%'),
    updated_at text NOT NULL
);
