//! The conformance suite (`quietlegs_store::conformance`) against PostgreSQL: every test in a
//! fresh schema of the database `QUIETLEGS_TEST_PG_URL` names (`.ci/run` makes one per run),
//! dropped afterwards. Without the variable the tests are skipped with a notice, except under
//! `CI=true`, where they fail.

// Integration tests: a panic is a failed test (clippy.toml allows unwrap only inside #[test]).
#![allow(clippy::expect_used, clippy::unwrap_used)]

use quietlegs_store::conformance::postgres_fixture::fresh_store;

quietlegs_store::conformance_tests!(service: fresh_store);
