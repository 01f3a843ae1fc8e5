//! The food, insights and data pages and their API in process (`oneshot`): good input, refusals
//! naming the field with nothing stored, CSRF and Origin refusals, the export → import round
//! trip and the backup download.

// Integration tests: a panic is a failed test (clippy.toml allows unwrap only inside #[test]).
#![allow(clippy::expect_used, clippy::unwrap_used)]

mod common;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum::Router;
use common::{app, app_with, get, post_form, post_json, send, HOST};
use quietlegs_core::ReferenceData;
use quietlegs_store::SqliteStore;
use serde_json::{json, Value};

fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn today() -> jiff::civil::Date {
    jiff::Zoned::now().date()
}

/// The token cookie a page set.
async fn token(app: &Router, uri: &str) -> String {
    let r = send(app, get(uri)).await;
    assert_eq!(r.status, StatusCode::OK, "{uri}: {}", r.body);
    let cookie = r.header(header::SET_COOKIE);
    cookie
        .split(';')
        .next()
        .unwrap()
        .strip_prefix("ql_csrf=")
        .unwrap()
        .to_string()
}

/// The whole diary as the JSON export.
async fn export_json(app: &Router) -> String {
    let r = send(app, get("/api/v1/export?format=json")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r.body
}

async fn record_count(app: &Router) -> usize {
    let v: Value = serde_json::from_str(&export_json(app).await).unwrap();
    v["records"].as_array().unwrap().len()
}

// ---------------------------------------------------------------------------------------------
// Foods

#[tokio::test]
async fn the_search_api_gives_magnesium_per_100_g_and_per_portion() {
    let app = app();
    let r = send(&app, get("/api/v1/foods/search?q=almonds&limit=3")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let v = r.json();
    let hits = v["hits"].as_array().unwrap();
    assert!(hits.len() <= 3 && !hits.is_empty(), "{v}");
    // SR28 12061 Nuts, almonds: 270 mg/100 g; first portion 1 cup, whole = 143 g,
    // 270 × 143 / 100 = 386.1 mg.
    assert_eq!(hits[0]["id"], "12061");
    assert_eq!(hits[0]["name"], "Nuts, almonds");
    assert_eq!(hits[0]["magnesium_mg_per_100g"], 270.0);
    assert_eq!(hits[0]["portion"]["amount"], "1 cup, whole");
    assert_eq!(hits[0]["portion"]["grams"], 143.0);
    assert!((hits[0]["portion"]["magnesium_mg"].as_f64().unwrap() - 386.1).abs() < 1e-9);
    for (uri, field) in [
        ("/api/v1/foods/search?q=", "q"),
        ("/api/v1/foods/search", "q"),
        ("/api/v1/foods/search?q=almonds&limit=0", "limit"),
        ("/api/v1/foods/search?q=almonds&limit=51", "limit"),
        ("/api/v1/foods/search?q=almonds&limit=many", "limit"),
    ] {
        let r = send(&app, get(uri)).await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{uri}: {}",
            r.body
        );
        assert_eq!(r.json()["field"], field, "{uri}");
    }
    let r = send(&app, get("/api/v1/foods/search?q=almonds&colour=red")).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
}

#[tokio::test]
async fn a_food_logged_through_the_api_counts_in_the_days_intake() {
    let app = app();
    let r = send(
        &app,
        post_json(
            "/api/v1/foods",
            &json!({"food": "almonds", "amount": "1 oz"}),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let v = r.json();
    // 1 oz = 28.349523125 g (the avoirdupois ounce); 270 mg/100 g × 28.349523125 g
    // = 76.5437124375 mg.
    assert_eq!(v["food_id"], "12061");
    assert_eq!(v["date"], today().to_string());
    assert!(
        (v["grams"].as_f64().unwrap() - 28.349523125).abs() < 1e-9,
        "{v}"
    );
    assert!(
        (v["magnesium_mg"].as_f64().unwrap() - 76.5437124375).abs() < 1e-9,
        "{v}"
    );
    // By id, yesterday: coconut oil 1 tbsp = 13.6 g (SR28 04047), no magnesium in USDA's table
    // (0 mg/100 g) -> 0 mg; not today's intake.
    let r = send(
        &app,
        post_json(
            "/api/v1/foods",
            &json!({"food": "04047", "amount": "1 tbsp", "date": "yesterday"}),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert!((r.json()["grams"].as_f64().unwrap() - 13.6).abs() < 1e-9);
    let r = send(&app, get("/api/v1/intake")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let day = r.json();
    assert!(
        (day["food_mg"].as_f64().unwrap() - 76.5437124375).abs() < 1e-9,
        "{day}"
    );
    assert!((day["total_mg"].as_f64().unwrap() - 76.5437124375).abs() < 1e-9);
    assert_eq!(day["foods"].as_array().unwrap().len(), 1);
    // No profile is stored: the limits are unknown, not guessed, and no gap is computed.
    assert_eq!(day["rda_mg"], Value::Null);
    assert_eq!(day["supplemental_ul_mg"], Value::Null);
    assert_eq!(day["gap_mg"], Value::Null);
    assert_eq!(day["gap_closers"], json!([]));
    let r = send(
        &app,
        get(&format!(
            "/api/v1/intake?date={}",
            today().yesterday().unwrap()
        )),
    )
    .await;
    assert_eq!(r.json()["foods"][0]["food_id"], "04047");
    let r = send(&app, get("/api/v1/intake?date=someday")).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.json()["field"], "date");
}

#[tokio::test]
async fn bad_foods_are_refused_naming_the_field_and_nothing_is_stored() {
    let app = app();
    let tomorrow = today().tomorrow().unwrap().to_string();
    let cases = [
        (json!({"food": "almonds", "amount": "3 parsecs"}), "amount"),
        (json!({"food": "almonds", "amount": ""}), "amount"),
        (json!({"food": "", "amount": "1 oz"}), "food"),
        // "motor oil": only "oil" is in any name (38 % of the phrase, below 75 %): never
        // logged silently.
        (json!({"food": "motor oil", "amount": "1 tbsp"}), "food"),
        (
            json!({"food": "almonds", "amount": "1 oz", "date": tomorrow}),
            "date",
        ),
        (
            json!({"food": "almonds", "amount": "1 oz", "date": "2026-02-30"}),
            "date",
        ),
        (
            json!({"food": "almonds", "amount": "1 oz", "colour": "red"}),
            "colour",
        ),
        (json!({"amount": "1 oz"}), "body"),
    ];
    for (body, field) in cases {
        let r = send(&app, post_json("/api/v1/foods", &body)).await;
        assert!(r.status.is_client_error(), "{body}: {}", r.body);
        assert_eq!(r.json()["field"], field, "{body}: {}", r.body);
    }
    let r = send(
        &app,
        post_json(
            "/api/v1/foods",
            &json!({"food": "motor oil", "amount": "1 tbsp"}),
        ),
    )
    .await;
    assert!(r.json()["error"]
        .as_str()
        .unwrap()
        .contains("04047 Oil, coconut"));
    // Not JSON: refused before anything is read.
    let req = Request::post("/api/v1/foods")
        .header(header::HOST, HOST)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from("food=almonds&amount=1+oz"))
        .unwrap();
    assert_eq!(
        send(&app, req).await.status,
        StatusCode::UNSUPPORTED_MEDIA_TYPE
    );
    // From another site: refused.
    let mut req = post_json(
        "/api/v1/foods",
        &json!({"food": "almonds", "amount": "1 oz"}),
    );
    req.headers_mut()
        .insert(header::ORIGIN, "http://evil.example".parse().unwrap());
    assert_eq!(send(&app, req).await.status, StatusCode::FORBIDDEN);
    assert_eq!(record_count(&app).await, 0, "nothing stored on a refusal");
}

#[tokio::test]
async fn the_food_page_searches_logs_with_its_token_and_shows_todays_intake() {
    let app = app();
    let r = send(&app, get("/foods?q=almonds")).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.contains("Nuts, almonds"), "{}", r.body);
    assert!(r
        .body
        .contains("270 mg per 100 g · 1 cup, whole (143 g): 386 mg"));
    assert!(r.body.contains("/foods?q=almonds&amp;food=12061#log"));
    // Without a profile the RDA is unknown: said, with the way to the profile.
    assert!(r.body.contains("does not know it yet"));
    assert!(r.body.contains(r#"href="/plan""#));
    // Nothing eaten yet: 0 mg (an empty sum is -0.0 in floating point; never shown as "-0").
    assert!(
        r.body.contains(r#"<dd id="intake-food">0 mg</dd>"#),
        "{}",
        r.body
    );
    let t = token(&app, "/foods?q=almonds&food=12061").await;
    let chosen = send(&app, get("/foods?q=almonds&food=12061")).await;
    assert!(chosen.body.contains("Log Nuts, almonds"));
    assert!(chosen.body.contains("270 mg magnesium per 100 g"));
    let form = "food=12061&amount=1+oz&q=almonds";
    // Without the token, or with another: refused, nothing stored.
    for (cookie, body) in [
        (None, format!("csrf={t}&{form}")),
        (Some(t.as_str()), form.to_string()),
        (Some(t.as_str()), format!("csrf={}&{form}", "0".repeat(64))),
    ] {
        let r = send(&app, post_form("/foods/log", cookie, &body)).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    }
    assert_eq!(record_count(&app).await, 0);
    // A bad amount: shown back with the message and what was typed; nothing stored.
    let r = send(
        &app,
        post_form(
            "/foods/log",
            Some(&t),
            &format!("csrf={t}&food=12061&amount=3+parsecs&q=almonds"),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(r.body.contains(r#"value="3 parsecs""#));
    assert!(r.body.contains(r#"aria-invalid="true""#));
    assert!(r.body.contains("role=\"alert\""));
    // A phrase the program is not sure of: the closest foods to choose from, nothing stored.
    let r = send(
        &app,
        post_form(
            "/foods/log",
            Some(&t),
            &format!("csrf={t}&food=motor+oil&amount=1+tbsp"),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(r.body.contains("Which food did you mean?"));
    assert!(
        r.body.contains("food=04047&amp;amount=1%20tbsp#log"),
        "{}",
        r.body
    );
    assert_eq!(record_count(&app).await, 0);
    // Logged with the token: back to the page, which shows it in today's intake.
    let r = send(
        &app,
        post_form(
            "/foods/log",
            Some(&t),
            &format!("csrf={t}&{form}&date={}", today()),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let to = r.header(header::LOCATION);
    assert!(to.starts_with("/foods?logged="), "{to}");
    let r = send(&app, get(&to)).await;
    // 76.54 mg shown whole: 77 mg.
    assert!(
        r.body.contains(&format!(
            "Logged 1 oz of Nuts, almonds on {}: 77 mg",
            today()
        )),
        "{}",
        r.body
    );
    assert!(
        r.body.contains(r#"<dd id="intake-food">77 mg</dd>"#),
        "{}",
        r.body
    );
    assert_eq!(record_count(&app).await, 1);
}

// ---------------------------------------------------------------------------------------------
// Insights

/// 14 nights before today; caffeine on every other evening (no time: it counts).
fn diary_with_caffeine() -> SqliteStore {
    use quietlegs_app::diary;
    use quietlegs_app::{Context, FoodCatalog, Now};
    use quietlegs_store::{Identity, OnDuplicate, Store};
    let reference = ReferenceData::shipped().unwrap();
    let foods = FoodCatalog::new();
    let store = SqliteStore::in_memory().unwrap();
    let now = Now::read();
    let ctx = Context {
        now: &now,
        reference: &reference,
        foods: &foods,
    };
    let person = store
        .person(&Identity::local(quietlegs_web::LOCAL_PERSON), &now.instant)
        .unwrap();
    for k in 0..14i8 {
        let date = now
            .date
            .checked_sub(jiff::Span::new().days(14 - i64::from(k)))
            .unwrap();
        let caffeine = k % 2 == 0;
        // With: 6, 7, 6, 7, 6, 7, 6; without: 2, 3, 2, 3, 2, 3, 2.
        let severity = if caffeine { 6 } else { 2 } + u8::from(k % 4 >= 2);
        let night = diary::night(
            &ctx,
            diary::NightForm {
                date: Some(date),
                severity,
                ..diary::NightForm::default()
            },
        )
        .unwrap();
        diary::log(&store, person, &ctx, night, OnDuplicate::Refuse).unwrap();
        if caffeine {
            let f = diary::factor(
                &ctx,
                "caffeine",
                Some(2.0),
                Some("cups".into()),
                None,
                Some(date),
            )
            .unwrap();
            diary::log(&store, person, &ctx, f, OnDuplicate::Refuse).unwrap();
        }
    }
    store
}

#[tokio::test]
async fn insights_say_which_factors_go_with_worse_nights_with_their_uncertainty() {
    let diary = app_with(diary_with_caffeine());
    let r = send(&diary, get("/api/v1/insights")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let v = r.json();
    // With: (6+7+6+7+6+7+6)/7 = 45/7; without: (2+3+2+3+2+3+2)/7 = 17/7; difference 28/7 = 4.
    // Alternating nights correlate negatively: r is clamped to 0, no widening; the interval
    // is about ±0.6 around 4, far from 0, so it holds after Holm's correction (one factor).
    assert_eq!(v["nights"], 14);
    let f = &v["factors"][0];
    assert_eq!(f["factor"], "caffeine");
    assert_eq!(f["nights_with"], 7);
    assert_eq!(f["nights_without"], 7);
    assert!(
        (f["difference"].as_f64().unwrap() - 4.0).abs() < 1e-9,
        "{f}"
    );
    assert_eq!(f["noteworthy"], true);
    let page = send(&diary, get("/insights")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("From 14 nights"), "{}", page.body);
    assert!(page
        .body
        .contains("caffeine: nights with it averaged 4.0 points worse (95 % interval"));
    assert!(page.body.contains("not proof of a cause"));
    assert!(page.body.contains("not causes"), "the caveat");
    // An empty diary: nothing to say, said plainly.
    let empty = app();
    let r = send(&empty, get("/insights")).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.contains("No factors logged yet"));
    assert_eq!(
        send(&empty, get("/api/v1/insights")).await.json()["factors"],
        json!([])
    );
}

// ---------------------------------------------------------------------------------------------
// Export, import, backup

/// A diary with a night and a food, through the API.
async fn small_diary() -> Router {
    let app = app();
    let yesterday = today().yesterday().unwrap().to_string();
    let r = send(
        &app,
        post_json(
            "/api/v1/nights",
            &json!({"date": yesterday, "severity": 5, "note": "=SUM(A1) \"quoted\", comma"}),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let r = send(
        &app,
        post_json(
            "/api/v1/foods",
            &json!({"food": "almonds", "amount": "½ cup"}),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    app
}

#[tokio::test]
async fn export_then_import_into_a_fresh_store_gives_the_same_files() {
    let a = small_diary().await;
    for format in ["json", "csv"] {
        let r = send(&a, get(&format!("/api/v1/export?format={format}"))).await;
        assert_eq!(r.status, StatusCode::OK);
        assert_eq!(
            r.header(header::CONTENT_DISPOSITION),
            format!(
                "attachment; filename=\"quietlegs-diary-{}.{format}\"",
                today()
            )
        );
        let first = r.body;
        let b = app();
        // Checked first: what would be imported, nothing stored.
        let r = send(
            &b,
            post_json("/api/v1/import", &json!({"text": first, "dry_run": true})),
        )
        .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        let p = r.json();
        assert_eq!(p["entries"], 2);
        assert_eq!(
            p["kinds"],
            json!([{"kind": "night", "entries": 1}, {"kind": "food", "entries": 1}])
        );
        assert_eq!(p["diary_entries"], 0);
        assert_eq!(record_count(&b).await, 0);
        let r = send(&b, post_json("/api/v1/import", &json!({"text": first}))).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        assert_eq!(r.json()["entries"], 2);
        let again = send(&b, get(&format!("/api/v1/export?format={format}"))).await;
        assert_eq!(
            again.body, first,
            "{format}: export → import → export differs"
        );
        // A second import into the now non-empty diary: refused, nothing changed.
        let r = send(&b, post_json("/api/v1/import", &json!({"text": first}))).await;
        assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
        let after = send(&b, get(&format!("/api/v1/export?format={format}"))).await;
        assert_eq!(after.body, first);
    }
    let r = send(&a, get("/api/v1/export?format=xml")).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.json()["field"], "format");
}

#[tokio::test]
async fn the_fhir_bundle_downloads_from_the_data_page_and_the_api() {
    let a = small_diary().await;
    let page = send(&a, get("/data")).await;
    assert!(page.body.contains(r#"href="/data/export?format=fhir""#));
    for uri in ["/data/export?format=fhir", "/api/v1/export?format=fhir"] {
        let r = send(&a, get(uri)).await;
        assert_eq!(r.status, StatusCode::OK, "{uri}: {}", r.body);
        assert_eq!(r.header(header::CONTENT_TYPE), "application/fhir+json");
        assert_eq!(
            r.header(header::CONTENT_DISPOSITION),
            format!("attachment; filename=\"quietlegs-fhir-{}.json\"", today())
        );
        let v = r.json();
        assert_eq!(v["resourceType"], "Bundle");
        assert_eq!(v["type"], "collection");
        // The small diary: one night and one food (no profile, no trial): Patient, Condition,
        // the night's severity and the day's magnesium.
        let kinds: Vec<&str> = v["entry"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["resource"]["resourceType"].as_str().unwrap())
            .collect();
        assert_eq!(
            kinds,
            ["Patient", "Condition", "Observation", "Observation"]
        );
    }
    let r = send(&a, get("/api/v1/export?format=hl7")).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.json()["field"], "format");
    assert!(r.json()["error"]
        .as_str()
        .unwrap()
        .contains("csv, json, fhir"));
}

#[tokio::test]
async fn an_import_that_fails_stores_nothing() {
    let a = small_diary().await;
    let good: Value = serde_json::from_str(&export_json(&a).await).unwrap();
    // The night made invalid (severity 11 of 0-10): the valid food entry is not stored either.
    let mut bad = good.clone();
    assert_eq!(bad["records"][0]["record"]["kind"], "night");
    bad["records"][0]["record"]["severity"] = json!(11);
    let b = app();
    for (text, field) in [
        (bad.to_string(), Some("text")),
        ("not an export".to_string(), Some("text")),
        (String::new(), Some("text")),
    ] {
        let r = send(&b, post_json("/api/v1/import", &json!({"text": text}))).await;
        assert!(r.status.is_client_error(), "{}", r.body);
        assert_eq!(r.json()["field"].as_str(), field, "{}", r.body);
    }
    let r = send(&b, post_json("/api/v1/import", &json!({"txt": "x"}))).await;
    assert_eq!(r.json()["field"], "txt");
    let mut req = post_json("/api/v1/import", &json!({"text": good.to_string()}));
    req.headers_mut()
        .insert(header::ORIGIN, "http://evil.example".parse().unwrap());
    assert_eq!(send(&b, req).await.status, StatusCode::FORBIDDEN);
    assert_eq!(record_count(&b).await, 0);
}

#[tokio::test]
async fn the_data_page_checks_then_imports_with_its_token() {
    let a = small_diary().await;
    let text = export_json(&a).await;
    let b = app();
    let page = send(&b, get("/data")).await;
    assert!(page.body.contains(r#"href="/data/export?format=csv""#));
    assert!(page.body.contains(r#"href="/data/backup""#));
    let t = token(&b, "/data").await;
    let check = format!("csrf={t}&step=check&text={}", enc(&text));
    let import = format!("csrf={t}&step=import&text={}", enc(&text));
    for (cookie, body) in [
        (None, import.clone()),
        (Some(t.as_str()), format!("step=import&text={}", enc(&text))),
    ] {
        let r = send(&b, post_form("/data/import", cookie, &body)).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    }
    assert_eq!(record_count(&b).await, 0);
    let r = send(&b, post_form("/data/import", Some(&t), &check)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body.contains("The file holds 2 entries"), "{}", r.body);
    assert!(r.body.contains("Import 2 entries"));
    assert_eq!(record_count(&b).await, 0, "checking stores nothing");
    // A broken file: the message, what was pasted kept, nothing stored.
    let broken = format!(
        "csrf={t}&step=import&text={}",
        enc(&text.replace("\"severity\": 5", "\"severity\": 11"))
    );
    assert_ne!(broken, import, "the file was changed");
    let r = send(&b, post_form("/data/import", Some(&t), &broken)).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(r.body.contains("role=\"alert\""));
    assert_eq!(record_count(&b).await, 0);
    let r = send(&b, post_form("/data/import", Some(&t), &import)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body.contains("Imported 2 entries"));
    assert_eq!(export_json(&b).await, text);
    let r = send(&b, get("/data/export?format=csv")).await;
    assert_eq!(
        r.header(header::CONTENT_DISPOSITION),
        format!("attachment; filename=\"quietlegs-diary-{}.csv\"", today())
    );
    assert!(r.body.starts_with("id,kind,date,field,value"), "{}", r.body);
}

#[tokio::test]
async fn the_backup_is_a_whole_database_with_the_same_diary() {
    let a = small_diary().await;
    let r = send(&a, get("/data/backup")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        r.header(header::CONTENT_DISPOSITION),
        format!(
            "attachment; filename=\"quietlegs-backup-{}.sqlite3\"",
            today()
        )
    );
    assert!(r.bytes.starts_with(b"SQLite format 3\0"));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("copy.sqlite3");
    std::fs::write(&path, &r.bytes).unwrap();
    let reader = quietlegs_app::personal::open_reader(&path).unwrap();
    let (reference, foods, now) = (
        ReferenceData::shipped().unwrap(),
        quietlegs_app::FoodCatalog::new(),
        quietlegs_app::Now::read(),
    );
    let ctx = quietlegs_app::Context {
        now: &now,
        reference: &reference,
        foods: &foods,
    };
    let copied = quietlegs_app::diary::export(
        &ctx,
        reader.diary(),
        quietlegs_app::diary::ExportFormat::Json,
    )
    .unwrap();
    assert_eq!(copied, export_json(&a).await);
}

// ---------------------------------------------------------------------------------------------
// Every new page and the API document

#[tokio::test]
async fn the_new_pages_have_labels_for_every_input_and_the_security_headers() {
    let app = app();
    for uri in [
        "/foods",
        "/foods?q=almonds",
        "/foods?q=almonds&food=12061",
        "/insights",
        "/data",
    ] {
        let r = send(&app, get(uri)).await;
        assert_eq!(r.status, StatusCode::OK, "{uri}");
        let csp = r.header(header::CONTENT_SECURITY_POLICY);
        assert!(!csp.contains("unsafe-inline"), "{csp}");
        assert!(
            !r.body.contains("<script>") && !r.body.contains("style="),
            "{uri}"
        );
        common::assert_every_field_labelled(uri, &r.body);
        // Every form that changes something carries the token.
        for form in r.body.split("<form method=\"post\"").skip(1) {
            assert!(form.contains(r#"name="csrf""#), "{uri}");
        }
    }
}

#[tokio::test]
async fn the_openapi_document_describes_the_food_and_data_routes() {
    let app = app();
    let doc = send(&app, get("/api/v1/openapi.json")).await.json();
    for (path, method) in [
        ("/api/v1/foods/search", "get"),
        ("/api/v1/foods", "post"),
        ("/api/v1/intake", "get"),
        ("/api/v1/insights", "get"),
        ("/api/v1/export", "get"),
        ("/api/v1/import", "post"),
        ("/api/v1/nights", "post"),
    ] {
        assert!(doc["paths"][path][method].is_object(), "{path} {method}");
    }
    for schema in [
        "FoodSearch",
        "FoodInput",
        "IntakeDay",
        "Insights",
        "ImportPreview",
    ] {
        assert!(doc["components"]["schemas"][schema].is_object(), "{schema}");
    }
    let required: Vec<&str> = doc["components"]["schemas"]["FoodInput"]["required"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(required, ["food", "amount"]);
}

#[tokio::test]
async fn with_a_stored_profile_the_intake_is_held_against_the_rda_and_gap_foods_are_offered() {
    let app = app();
    let profile = Request::put("/api/v1/profile")
        .header(header::HOST, HOST)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(
            json!({"age": 40, "sex": "male", "bedtime": "22:00", "gi_tolerance": "normal"})
                .to_string(),
        ))
        .unwrap();
    let r = send(&app, profile).await;
    assert!(r.status.is_success(), "{}", r.body);
    let r = send(
        &app,
        post_json(
            "/api/v1/foods",
            &json!({"food": "almonds", "amount": "1 oz"}),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let day = send(&app, get("/api/v1/intake")).await.json();
    // A man of 40: RDA 420 mg, supplemental upper limit 350 mg (FACTS.md, NIH ODS).
    // Gap: 420 − 76.5437124375 = 343.4562875625 mg.
    assert_eq!(day["rda_mg"], 420, "{day}");
    assert_eq!(day["supplemental_ul_mg"], 350);
    assert_eq!(day["supplements_over_ul"], false);
    assert!((day["gap_mg"].as_f64().unwrap() - 343.456_287_562_5).abs() < 1e-9);
    let closers = day["gap_closers"].as_array().unwrap();
    assert!(!closers.is_empty(), "{day}");
    assert!(
        closers.iter().all(|c| c["food_id"] != "12061"),
        "not what was eaten"
    );
    let page = send(&app, get("/foods")).await;
    assert!(
        page.body
            .contains("77 mg of your RDA of 420 mg: 343 mg short"),
        "{}",
        page.body
    );
    assert!(page
        .body
        .contains("of the 350 mg upper limit for supplements"));
    assert!(page.body.contains("Foods that would close the gap"));
    assert!(!page.body.contains("does not know it yet"));
}
