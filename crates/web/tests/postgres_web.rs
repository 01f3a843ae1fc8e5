//! The web app on a PostgreSQL store: a diary entry goes through the writer thread and is read
//! back through the blocking pool, and the backup download is a SQLite file of the person's
//! diary. The synchronous PostgreSQL client must only ever be called from those threads, never
//! from an async task (it would panic there): these requests would fail if it were.
//! Skipped with a notice without `QUIETLEGS_TEST_PG_URL`, failed under `CI=true`.

// Integration tests: a panic is a failed test (clippy.toml allows unwrap only inside #[test]).
#![allow(clippy::expect_used, clippy::unwrap_used)]

mod common;

use axum::http::StatusCode;
use common::{app_with, get, post_json, send};
use quietlegs_store::conformance::postgres_fixture::FreshSchema;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_web_app_keeps_a_diary_on_postgres() {
    // The fixture's own client is synchronous too: made and dropped off the async threads.
    let made = tokio::task::spawn_blocking(|| FreshSchema::new().map(|s| (s.store(), s)))
        .await
        .unwrap();
    let Some((store, schema)) = made else {
        return;
    };
    let app = app_with(store);
    let yesterday = jiff::Zoned::now().date().yesterday().unwrap().to_string();
    let r = send(
        &app,
        post_json(
            "/api/v1/nights",
            &json!({"date": yesterday, "severity": 5, "note": "on the server"}),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let r = send(&app, get("/api/v1/nights")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body.contains("on the server"), "{}", r.body);
    let r = send(&app, get("/data/backup")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.bytes.starts_with(b"SQLite format 3\0"));
    drop(app);
    tokio::task::spawn_blocking(move || drop(schema))
        .await
        .unwrap();
}
