//! The profile and plan pages, the /log forms (dose, side effects, evening factors, IRLS), their
//! JSON API and the history charts, in process (`oneshot`): good input stored, bad input refused
//! naming the field with nothing stored, CSRF and Origin refusals.

// Integration tests: a panic is a failed test (clippy.toml allows unwrap only inside #[test]).
#![allow(clippy::expect_used, clippy::unwrap_used)]

mod common;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum::Router;
use http_body_util::BodyExt;
use quietlegs_core::diary::Record;
use quietlegs_core::ReferenceData;
use quietlegs_store::{Identity, SqliteStore, Store};
use quietlegs_web::{router, WebState, LOCAL_PERSON};
use serde_json::{json, Value};
use tower::ServiceExt;

const HOST: &str = "127.0.0.1:8080";

/// The app over a database file, and a second handle on the same file to look at what was
/// stored.
struct Fixture {
    app: Router,
    store: SqliteStore,
    _dir: tempfile::TempDir,
}

impl Fixture {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("q.sqlite3");
        let served = SqliteStore::open(&path).unwrap();
        let app = router(WebState::new(
            served,
            ReferenceData::shipped().unwrap(),
            &[],
        ));
        Self {
            app,
            store: SqliteStore::open(&path).unwrap(),
            _dir: dir,
        }
    }

    fn records(&self) -> Vec<Record> {
        let me = self
            .store
            .person(&Identity::local(LOCAL_PERSON), "x")
            .unwrap();
        self.store
            .records(me, None, None)
            .unwrap()
            .into_iter()
            .map(|r| r.record)
            .collect()
    }

    fn profile_stored(&self) -> Option<String> {
        let me = self
            .store
            .person(&Identity::local(LOCAL_PERSON), "x")
            .unwrap();
        self.store.profile(me).unwrap().map(|p| p.document)
    }

    async fn send(&self, req: Request<Body>) -> Reply {
        let res = self.app.clone().oneshot(req).await.unwrap();
        let status = res.status();
        let headers = res.headers().clone();
        let bytes = res.into_body().collect().await.unwrap().to_bytes();
        Reply {
            status,
            headers,
            body: String::from_utf8_lossy(&bytes).into_owned(),
        }
    }

    /// A page's CSRF token (from the cookie it sets).
    async fn token(&self, uri: &str) -> String {
        let r = self.send(get(uri)).await;
        assert_eq!(r.status, StatusCode::OK, "{uri}: {}", r.body);
        let cookie = r.headers[header::SET_COOKIE].to_str().unwrap();
        cookie
            .split(';')
            .next()
            .unwrap()
            .strip_prefix("ql_csrf=")
            .unwrap()
            .to_string()
    }
}

struct Reply {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    body: String,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }
}

fn get(uri: &str) -> Request<Body> {
    Request::get(uri)
        .header(header::HOST, HOST)
        .body(Body::empty())
        .unwrap()
}

fn json_request(method: &str, uri: &str, body: &Value) -> Request<Body> {
    Request::builder()
        .method(method)
        .uri(uri)
        .header(header::HOST, HOST)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_string()))
        .unwrap()
}

fn post_form(uri: &str, cookie: &str, form: &str) -> Request<Body> {
    Request::post(uri)
        .header(header::HOST, HOST)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::COOKIE, format!("ql_csrf={cookie}"))
        .body(Body::from(form.to_string()))
        .unwrap()
}

fn today() -> jiff::civil::Date {
    jiff::Zoned::now().date()
}

/// A man of 70 with high blood pressure and no kidney result, on levothyroxine in the morning.
const PROFILE_FORM: &str = "age=70&sex=male&bedtime=22%3A30&wake=06%3A30&gi_tolerance=normal\
    &conditions=hypertension&medications=levothyroxine+at+07%3A00&supplements=&egfr=&ckd_stage=";

#[tokio::test]
async fn without_a_profile_the_plan_page_asks_for_one_and_the_api_says_not_found() {
    let f = Fixture::new();
    let r = f.send(get("/plan")).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.contains("Your plan depends on you"), "{}", r.body);
    assert!(r.body.contains(r#"<form method="post" action="/profile""#));
    for uri in ["/api/v1/profile", "/api/v1/plan"] {
        let r = f.send(get(uri)).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{uri}");
        assert!(r.json()["error"]
            .as_str()
            .unwrap()
            .contains("no profile yet"));
    }
}

#[tokio::test]
async fn the_profile_form_stores_the_profile_and_the_plan_shows_its_flags() {
    let f = Fixture::new();
    let token = f.token("/profile").await;
    // Without the token: refused, nothing stored.
    let r = f.send(post_form("/profile", &token, PROFILE_FORM)).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    assert_eq!(f.profile_stored(), None);
    // A refused value: the form back with what was typed, the field marked, nothing stored.
    for (change, typed, field) in [
        (
            "age=70",
            "age=0",
            r#"id="age" name="age" type="number" inputmode="numeric" min="1" max="120" required value="0" aria-invalid="true""#,
        ),
        ("egfr=", "egfr=900", r#"value="900" aria-invalid="true""#),
        (
            "bedtime=22%3A30",
            "bedtime=25%3A00",
            r#"value="25:00" aria-invalid="true""#,
        ),
        (
            "age=70",
            "age=seventy",
            r#"value="seventy" aria-invalid="true""#,
        ),
    ] {
        let form = format!("csrf={token}&{}", PROFILE_FORM.replace(change, typed));
        let r = f.send(post_form("/profile", &token, &form)).await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{typed}: {}",
            r.body
        );
        assert!(r.body.contains(r#"role="alert""#));
        assert!(r.body.contains(field), "{typed}: {}", r.body);
        // What else was typed is kept.
        assert!(r.body.contains("levothyroxine at 07:00"), "{typed}");
        assert_eq!(f.profile_stored(), None, "{typed}");
    }
    // Saved: the plan.
    let r = f
        .send(post_form(
            "/profile",
            &token,
            &format!("csrf={token}&{PROFILE_FORM}"),
        ))
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(r.headers[header::LOCATION], "/plan?saved=1");
    let stored = f.profile_stored().unwrap();
    assert!(stored.contains("age = 70"), "{stored}");
    let plan = f.send(get("/plan?saved=1")).await;
    assert_eq!(plan.status, StatusCode::OK);
    // NIH ODS: men 51+ 420 mg/day; supplemental UL 350 mg for adults.
    assert!(plan.body.contains("420 mg a day"), "{}", plan.body);
    assert!(plan
        .body
        .contains("Upper limit for supplements: 350 mg a day"));
    // Hypertension with no kidney result: a kidney test first (docs/profile.md), so a caution,
    // so the dose is only with the clinician's agreement.
    assert!(plan.body.contains("kidney-function-unknown"));
    assert!(plan.body.contains("flag flag-caution"));
    assert!(plan.body.contains("Not yet"));
    assert!(plan.body.contains("Only if your clinician agrees"));
    assert!(plan.body.contains("levothyroxine at 07:00"));
    assert!(
        plan.body.contains(r#"href="/about#src-"#),
        "sources are linked"
    );
    // The form opens with what is stored.
    let again = f.send(get("/profile")).await;
    assert!(again.body.contains(r#"value="70""#));
    assert!(again
        .body
        .contains(r#"id="condition-hypertension" name="conditions" value="hypertension" checked"#));
    // The API gives the same profile and plan.
    let p = f.send(get("/api/v1/profile")).await.json();
    assert_eq!(p["document"]["age"], 70);
    assert_eq!(p["document"]["medications"][0]["times"][0], "07:00");
    assert!(p["toml"].as_str().unwrap().contains("[[medications]]"));
    let plan = f.send(get("/api/v1/plan")).await.json();
    assert_eq!(plan["schema"], "quietlegs.plan/2");
    assert_eq!(plan["rda_mg"], 420);
    assert_eq!(plan["supplemental_ul_mg"], 350);
    assert!(plan["flags"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["code"] == "kidney-function-unknown"));
}

#[tokio::test]
async fn the_profile_api_validates_with_the_profile_parser_and_stores_nothing_on_refusal() {
    let f = Fixture::new();
    let good = json!({
        "age": 52, "sex": "female", "pregnant": false, "lactating": false,
        "bedtime": "22:30", "gi_tolerance": "sensitive",
        "kidney": {"egfr": 85}, "medications": [{"name": "omeprazole", "times": ["07:30"]}]
    });
    let cases = [
        (
            json!({"age": 0, "sex": "male", "bedtime": "22:00", "gi_tolerance": "normal"}),
            "age",
        ),
        (
            json!({"age": 40, "sex": "male", "bedtime": "22:00", "gi_tolerance": "normal", "kidney": {"egfr": 500}}),
            "kidney.egfr",
        ),
        // A woman of 30 must say whether she is pregnant (docs/profile.md).
        (
            json!({"age": 30, "sex": "female", "bedtime": "22:00", "gi_tolerance": "normal"}),
            "pregnant",
        ),
        (
            json!({"age": 40, "sex": "male", "bedtime": "22:00", "gi_tolerance": "normal", "conditions": ["gout"]}),
            "conditions",
        ),
        (
            json!({"age": 40, "sex": "male", "gi_tolerance": "normal"}),
            "bedtime",
        ),
        (
            json!({"age": 40, "sex": "male", "bedtime": "22:00", "gi_tolerance": "normal", "favourite_colour": "red"}),
            "favourite_colour",
        ),
        (
            json!({"age": "forty", "sex": "male", "bedtime": "22:00", "gi_tolerance": "normal"}),
            "age",
        ),
    ];
    for (body, field) in cases {
        let r = f.send(json_request("PUT", "/api/v1/profile", &body)).await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}: {}",
            r.body
        );
        assert_eq!(r.json()["field"], field, "{body}");
    }
    assert_eq!(f.profile_stored(), None);
    // From another site: refused before anything is read.
    let mut req = json_request("PUT", "/api/v1/profile", &good);
    req.headers_mut()
        .insert(header::ORIGIN, "http://evil.example".parse().unwrap());
    assert_eq!(f.send(req).await.status, StatusCode::FORBIDDEN);
    assert_eq!(f.profile_stored(), None);
    let r = f.send(json_request("PUT", "/api/v1/profile", &good)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.json()["document"]["gi_tolerance"], "sensitive");
    // Female 51+: 320 mg/day (NIH ODS).
    assert_eq!(f.send(get("/api/v1/plan")).await.json()["rda_mg"], 320);
    // A refused replacement leaves the stored one.
    let r = f
        .send(json_request(
            "PUT",
            "/api/v1/profile",
            &json!({"age": 300, "sex": "male", "bedtime": "22:00", "gi_tolerance": "normal"}),
        ))
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(f.profile_stored().unwrap().contains("age = 52"));
}

#[tokio::test]
async fn the_log_forms_store_entries_with_their_token_and_show_refusals_back() {
    let f = Fixture::new();
    let token = f.token("/log").await;
    let date = today();
    let forms = [
        (
            "/log/dose",
            format!("form=glycinate&amount_mg=120&basis=elemental&servings=2&time=21%3A00&date={date}&product="),
        ),
        (
            "/log/side-effects",
            format!("diarrhea=1&nausea=0&cramps=2&date={date}"),
        ),
        (
            "/log/factors",
            format!("kind=caffeine&kind=exercise&custom=late+dinner&date={date}"),
        ),
        (
            "/log/irls",
            format!("item1=2&item2=2&item3=2&item4=2&item5=2&item6=2&item7=2&item8=2&item9=2&item10=1&date={date}"),
        ),
    ];
    // Without the token, or with another one: refused, nothing stored.
    for (uri, form) in &forms {
        let r = f.send(post_form(uri, &token, form)).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{uri}");
        let r = f
            .send(post_form(
                uri,
                &token,
                &format!("csrf={}&{form}", "0".repeat(64)),
            ))
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{uri}");
    }
    assert_eq!(f.records(), []);
    // Refused values: the section's form back with the message and what was typed.
    let bad = [
        (
            "/log/dose",
            "form=glycinate&amount_mg=lots&basis=elemental".to_string(),
            r#"value="lots" aria-invalid="true""#,
        ),
        (
            "/log/dose",
            "form=unobtainium&amount_mg=100&basis=elemental".to_string(),
            r#"id="dose-form" name="form" aria-invalid="true""#,
        ),
        (
            "/log/dose",
            format!("form=glycinate&amount_mg=100&basis=elemental&time=25%3A00&date={date}"),
            r#"value="25:00" aria-invalid="true""#,
        ),
        (
            "/log/side-effects",
            "diarrhea=7&nausea=0&cramps=0".to_string(),
            r#"class="scores" aria-invalid="true""#,
        ),
        (
            "/log/factors",
            format!("date={date}"),
            "tick at least one factor",
        ),
        (
            "/log/factors",
            "kind=caffeine&custom=%21%21".to_string(),
            r#"value="!!" aria-invalid="true""#,
        ),
        (
            "/log/irls",
            "item1=2&item2=2&item4=2&item5=2&item6=2&item7=2&item8=2&item9=2&item10=1".to_string(),
            "item 3 (Relief from moving)",
        ),
    ];
    for (uri, form, shown) in bad {
        let r = f
            .send(post_form(uri, &token, &format!("csrf={token}&{form}")))
            .await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{uri} {form}: {}",
            r.body
        );
        assert!(r.body.contains(r#"role="alert""#), "{uri}");
        assert!(r.body.contains(shown), "{uri} {form}: {}", r.body);
    }
    assert_eq!(f.records(), [], "nothing stored on a refusal");
    // With the token: stored, back to the page with a confirmation.
    for (uri, form) in &forms {
        let r = f
            .send(post_form(uri, &token, &format!("csrf={token}&{form}")))
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{uri}: {}", r.body);
    }
    let records = f.records();
    // 1 dose, 1 side effects, 3 factors, 1 IRLS.
    assert_eq!(records.len(), 6, "{records:?}");
    let dose = records
        .iter()
        .find_map(|r| match r {
            Record::Dose(d) => Some(d.clone()),
            _ => None,
        })
        .unwrap();
    // 2 servings x 120 mg elemental.
    assert_eq!(dose.elemental_mg, 240.0);
    assert_eq!(dose.time.to_string(), "21:00");
    let factors: Vec<String> = records
        .iter()
        .filter_map(|r| match r {
            Record::Factor(x) => Some(x.kind.to_string()),
            _ => None,
        })
        .collect();
    assert_eq!(factors, ["caffeine", "exercise", "custom:late-dinner"]);
    // The IRLS confirmation shows its total and band: 9 x 2 + 1 = 19, moderate (11-20).
    let r = f.send(get(&format!("/log?saved=irls&date={date}"))).await;
    assert!(
        r.body
            .contains(&format!("IRLS of {date} saved: total 19 of 40, moderate.")),
        "{}",
        r.body
    );
    // A second IRLS for the same date is a conflict, shown on the form.
    let (uri, form) = &forms[3];
    let r = f
        .send(post_form(uri, &token, &format!("csrf={token}&{form}")))
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
    assert_eq!(f.records().len(), 6);
}

#[tokio::test]
async fn the_entry_api_stores_good_entries_and_names_the_refused_field() {
    let f = Fixture::new();
    let date = today().to_string();
    let good = [
        (
            "/api/v1/doses",
            json!({"form": "citrate-nonahydrate", "amount_mg": 500, "basis": "compound", "date": date, "time": "20:30"}),
        ),
        (
            "/api/v1/side-effects",
            json!({"date": date, "diarrhea": 0, "nausea": 1, "cramps": 0}),
        ),
        (
            "/api/v1/factors",
            json!({"kind": "caffeine", "amount": 2, "unit": "cups", "date": date}),
        ),
        (
            "/api/v1/irls",
            json!({"date": date, "items": [4, 4, 4, 4, 4, 4, 4, 4, 4, 4]}),
        ),
    ];
    let bad = [
        (
            "/api/v1/doses",
            json!({"form": "unobtainium", "amount_mg": 100, "basis": "elemental"}),
            "form",
        ),
        (
            "/api/v1/doses",
            json!({"form": "glycinate", "amount_mg": -5, "basis": "elemental"}),
            "amount_mg",
        ),
        (
            "/api/v1/doses",
            json!({"form": "glycinate", "amount_mg": 100, "basis": "salty"}),
            "basis",
        ),
        (
            "/api/v1/side-effects",
            json!({"diarrhea": 0, "nausea": 5, "cramps": 0}),
            "nausea",
        ),
        (
            "/api/v1/side-effects",
            json!({"diarrhea": 0, "nausea": -1, "cramps": 0}),
            "nausea",
        ),
        (
            "/api/v1/factors",
            json!({"kind": "caffeine", "amount": 2, "unit": "drinks"}),
            "unit",
        ),
        ("/api/v1/factors", json!({"kind": "coffee"}), "kind"),
        (
            "/api/v1/factors",
            json!({"kind": "alcohol", "date": "2999-01-01"}),
            "date",
        ),
        (
            "/api/v1/irls",
            json!({"items": [1, 1, 1, 1, 1, 1, 1, 1, 1]}),
            "items",
        ),
        (
            "/api/v1/irls",
            json!({"items": [1, 1, 1, 1, 1, 1, 1, 1, 1, 9]}),
            "items",
        ),
    ];
    for (uri, body, field) in bad {
        let r = f.send(json_request("POST", uri, &body)).await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{uri} {body}: {}",
            r.body
        );
        assert_eq!(r.json()["field"], field, "{uri} {body}");
    }
    // From another site: refused.
    for (uri, body) in &good {
        let mut req = json_request("POST", uri, body);
        req.headers_mut()
            .insert(header::ORIGIN, "http://evil.example".parse().unwrap());
        assert_eq!(f.send(req).await.status, StatusCode::FORBIDDEN, "{uri}");
    }
    assert_eq!(f.records(), [], "nothing stored on a refusal");
    let mut created = Vec::new();
    for (uri, body) in &good {
        let r = f.send(json_request("POST", uri, body)).await;
        assert_eq!(r.status, StatusCode::CREATED, "{uri}: {}", r.body);
        created.push(r.json());
    }
    // 500 mg trimagnesium dicitrate nonahydrate, Mg3(C6H5O7)2·9H2O: 3 x 24.305 / 613.25 g/mol
    // = 11.89 % elemental, so 500 x 0.1189 = 59.45 mg.
    let mg = created[0]["record"]["elemental_mg"].as_f64().unwrap();
    assert!((mg - 59.45).abs() < 0.05, "{mg}");
    assert_eq!(created[0]["record"]["kind"], "dose");
    // Ten items at 4: 40, very severe (31-40).
    assert_eq!(created[3]["record"]["total"], 40);
    assert_eq!(created[3]["record"]["band"], "very-severe");
    assert_eq!(f.records().len(), 4);
}

#[tokio::test]
async fn history_draws_irls_magnesium_and_side_effect_charts_against_the_plan() {
    let f = Fixture::new();
    let date = today().to_string();
    // Before any entry: no chart of these.
    let r = f.send(get("/history")).await;
    assert!(!r.body.contains("Weekly IRLS"));
    for (uri, body) in [
        (
            "/api/v1/doses",
            json!({"form": "glycinate", "amount_mg": 200, "basis": "elemental", "date": date}),
        ),
        (
            "/api/v1/side-effects",
            json!({"date": date, "diarrhea": 2, "nausea": 0, "cramps": 0}),
        ),
        (
            "/api/v1/irls",
            json!({"date": date, "items": [2, 2, 2, 2, 2, 2, 2, 2, 2, 2]}),
        ),
    ] {
        assert_eq!(
            f.send(json_request("POST", uri, &body)).await.status,
            StatusCode::CREATED
        );
    }
    let r = f.send(get("/history")).await;
    assert_eq!(r.status, StatusCode::OK);
    for title in [
        "Weekly IRLS total",
        "Magnesium per day",
        "Side effects per evening",
    ] {
        assert!(
            r.body.contains(&format!(r#"-title">{title}</title>"#)),
            "{title}: {}",
            r.body
        );
    }
    // 10 x 2 = 20: moderate.
    assert!(r.body.contains("latest 20 of 40 (moderate)"));
    assert!(r
        .body
        .contains("0 mg from food and 200 mg from supplements"));
    assert!(
        r.body.contains("Fill in your profile"),
        "no limits without a profile"
    );
    // With a profile (female 52: RDA 320, supplement UL 350) the lines are drawn.
    let profile = json!({"age": 52, "sex": "female", "bedtime": "22:30", "gi_tolerance": "normal"});
    assert_eq!(
        f.send(json_request("PUT", "/api/v1/profile", &profile))
            .await
            .status,
        StatusCode::OK
    );
    let r = f.send(get("/history")).await;
    assert!(r.body.contains(">RDA 320 mg</text>"), "{}", r.body);
    assert!(r.body.contains(">supplement limit 350 mg</text>"));
    assert!(r.body.contains("RDA 320 mg: reached on 0 of those days."));
}

#[tokio::test]
async fn new_pages_label_every_input_and_the_openapi_document_has_the_new_routes() {
    let f = Fixture::new();
    for uri in ["/log", "/profile", "/plan"] {
        let r = f.send(get(uri)).await;
        assert_eq!(r.status, StatusCode::OK, "{uri}");
        common::assert_every_field_labelled(uri, &r.body);
        // Every form carries the token.
        assert_eq!(
            r.body.matches("<form").count(),
            r.body.matches(r#"name="csrf""#).count(),
            "{uri}"
        );
    }
    let doc = f.send(get("/api/v1/openapi.json")).await.json();
    let paths = &doc["paths"];
    assert!(
        paths["/api/v1/profile"]["get"].is_object() && paths["/api/v1/profile"]["put"].is_object()
    );
    assert!(paths["/api/v1/plan"]["get"].is_object());
    for p in [
        "/api/v1/doses",
        "/api/v1/side-effects",
        "/api/v1/factors",
        "/api/v1/irls",
    ] {
        assert!(paths[p]["post"].is_object(), "{p}: {doc}");
    }
    let schemas = &doc["components"]["schemas"];
    let required = |name: &str| -> Vec<String> {
        schemas[name]["required"]
            .as_array()
            .unwrap_or_else(|| panic!("{name}: {}", schemas[name]))
            .iter()
            .map(|v| v.as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(required("DoseInput"), ["form", "amount_mg", "basis"]);
    assert_eq!(required("IrlsInput"), ["items"]);
    assert_eq!(
        required("SideEffectsInput"),
        ["diarrhea", "nausea", "cramps"]
    );
    assert!(schemas["ProfileDocument"]["properties"]["kidney"].is_object());
    // The night routes are still there.
    assert!(paths["/api/v1/nights"]["post"].is_object());
}
