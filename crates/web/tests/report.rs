//! The clinician's report on the web: the page (every section, labelled date fields, a PDF
//! link for the same dates), the PDF download, and `GET /api/v1/report` with its refusals.

// Integration tests: a panic is a failed test (clippy.toml allows unwrap only inside #[test]).
#![allow(clippy::expect_used, clippy::unwrap_used)]

mod common;

use axum::http::{header, StatusCode};
use common::{app_with, assert_every_field_labelled, get, send};
use quietlegs_app::{Context, FoodCatalog, Now};
use quietlegs_core::ReferenceData;
use quietlegs_store::{SqliteStore, Store};

/// A store holding the demonstration diary (ending last night, with its finished trial).
fn demo_store() -> SqliteStore {
    let data = ReferenceData::shipped().unwrap();
    let store = SqliteStore::in_memory().unwrap();
    let now = Now::read();
    let person = store
        .person(
            &quietlegs_store::Identity::local(quietlegs_web::LOCAL_PERSON),
            &now.instant,
        )
        .unwrap();
    let foods = FoodCatalog::new();
    let ctx = Context {
        now: &now,
        reference: &data,
        foods: &foods,
    };
    quietlegs_app::demo::fill(&store, person, &ctx, 3).unwrap();
    store
}

#[tokio::test]
async fn the_report_page_pdf_and_json_say_the_same_report() {
    let app = app_with(demo_store());
    let page = send(&app, get("/report")).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    for heading in [
        "Summary",
        "Symptoms",
        "Magnesium intake",
        "Side effects",
        "Design (CENT 4-5)",
        "Randomization and blinding (CENT 8-11)",
        "Periods, adherence and missing nights (CENT 13-14)",
        "Every pre-registered model (CENT 12, 17)",
        "Side effects by arm (CENT 19)",
        "Sources",
    ] {
        assert!(
            page.body.contains(&format!("<h2>{heading}</h2>")),
            "no section {heading}"
        );
    }
    // The finished demo trial's verdict is on the summary, and its charts are inline SVG with
    // a text alternative.
    assert!(page.body.contains("Trial verdict: "), "{}", page.body);
    assert!(
        page.body
            .matches("<svg class=\"chart report-chart\"")
            .count()
            >= 5
    );
    assert!(page.body.contains(r#"href="/report.pdf" download"#));
    assert_every_field_labelled("/report", &page.body);

    let json = send(&app, get("/api/v1/report")).await;
    assert_eq!(json.status, StatusCode::OK, "{}", json.body);
    let r = json.json();
    assert_eq!(r["trial"]["state"], "result", "{r}");
    // The page shows the JSON's figures: the latest IRLS total and the nights logged.
    let scores = r["irls"]["scores"].as_array().unwrap();
    let latest = scores.last().unwrap();
    assert!(page.body.contains(&format!(
        "{} ({}) on {}",
        latest["total"],
        latest["band"].as_str().unwrap(),
        latest["date"].as_str().unwrap()
    )));
    assert!(page.body.contains(&format!(
        "over {} nights logged of {}",
        r["nights"]["nights_logged"], r["nights"]["days_in_range"]
    )));

    let pdf = send(&app, get("/report.pdf")).await;
    assert_eq!(pdf.status, StatusCode::OK);
    assert_eq!(pdf.header(header::CONTENT_TYPE), "application/pdf");
    assert!(pdf.bytes.starts_with(b"%PDF-"), "not a PDF");
    let disposition = pdf.header(header::CONTENT_DISPOSITION);
    assert!(
        disposition.starts_with("attachment; filename=\"quietlegs-report-")
            && disposition.ends_with(".pdf\""),
        "{disposition}"
    );
}

#[tokio::test]
async fn dates_narrow_the_report_and_bad_dates_are_refused_naming_the_field() {
    let app = app_with(demo_store());
    let today = Now::read().date;
    let from = today.checked_sub(jiff::Span::new().days(6)).unwrap();
    let narrow = send(&app, get(&format!("/api/v1/report?from={from}"))).await;
    assert_eq!(narrow.status, StatusCode::OK, "{}", narrow.body);
    let r = narrow.json();
    assert_eq!(r["range"]["from"], from.to_string());
    assert_eq!(r["range"]["to"], today.to_string());
    // Seven days from `from` to today: at most 7 nights (the demo ends last night).
    assert_eq!(r["nights"]["days_in_range"], 7);
    assert!(r["nights"]["nights_logged"].as_u64().unwrap() <= 6);
    let page = send(&app, get(&format!("/report?from={from}"))).await;
    assert!(page
        .body
        .contains(&format!(r#"href="/report.pdf?from={from}" download"#)));

    let tomorrow = today.checked_add(jiff::Span::new().days(1)).unwrap();
    for (query, field) in [
        ("from=2026-13-01".to_string(), "from"),
        (format!("to={tomorrow}"), "to"),
        (format!("from={today}&to={from}"), "from"),
    ] {
        let reply = send(&app, get(&format!("/api/v1/report?{query}"))).await;
        assert_eq!(
            reply.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{query}: {}",
            reply.body
        );
        assert_eq!(reply.json()["field"], field, "{query}");
        let page = send(&app, get(&format!("/report.pdf?{query}"))).await;
        assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY, "{query}");
        assert!(page.header(header::CONTENT_TYPE).starts_with("text/html"));
    }
    let doc = send(&app, get("/api/v1/openapi.json")).await.json();
    assert!(doc["paths"]["/api/v1/report"]["get"].is_object());
}
