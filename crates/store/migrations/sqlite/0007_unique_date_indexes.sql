-- night, irls and side_effects are one per date: their UNIQUE (person_id, date) constraint is
-- already an index on exactly those columns, so the separate indexes of 0002 only doubled the
-- work of every insert (PostgreSQL's 0002 never had them).
DROP INDEX IF EXISTS night_by_date;
DROP INDEX IF EXISTS irls_by_date;
DROP INDEX IF EXISTS side_effects_by_date;
