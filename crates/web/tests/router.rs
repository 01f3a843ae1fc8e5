//! The web app in process (`oneshot`): pages, the nights API, refusals (nothing stored), the
//! security guards and the blinding gate.

// Integration tests: a panic is a failed test (clippy.toml allows unwrap only inside #[test]).
#![allow(clippy::expect_used, clippy::unwrap_used)]

mod common;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum::Router;
use common::{app, get, post_form, post_json, send, Reply, HOST};
use quietlegs_core::ReferenceData;
use quietlegs_store::SqliteStore;
use quietlegs_web::{router, WebState};
use serde_json::{json, Value};

fn yesterday() -> String {
    jiff::Zoned::now().date().yesterday().unwrap().to_string()
}

async fn nights(app: &Router) -> Value {
    let r = send(app, get("/api/v1/nights")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r.json()
}

#[tokio::test]
async fn a_night_posted_to_the_api_is_stored_once_and_listed() {
    let app = app();
    let date = yesterday();
    let body = json!({"date": date, "severity": 6, "sleep_quality": 4, "hours_slept": 6.5, "note": "late coffee"});
    let r = send(&app, post_json("/api/v1/nights", &body)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let stored = r.json();
    assert_eq!(stored["severity"], 6);
    assert_eq!(stored["hours_slept"], 6.5);
    // A second night for the same date is a conflict, and changes nothing.
    let again = json!({"date": date, "severity": 2});
    let r = send(&app, post_json("/api/v1/nights", &again)).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
    assert!(r.json()["error"].as_str().unwrap().contains("already"));
    let list = nights(&app).await;
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["severity"], 6);
    assert_eq!(list[0]["note"], "late coffee");
    // The range filter: nothing before the date.
    let r = send(&app, get(&format!("/api/v1/nights?to={}", "2020-01-01"))).await;
    assert_eq!(r.json(), json!([]));
}

#[tokio::test]
async fn bad_nights_are_refused_naming_the_field_and_nothing_is_stored() {
    let app = app();
    let today = jiff::Zoned::now().date();
    let tomorrow = today.tomorrow().unwrap().to_string();
    let cases = [
        (json!({"date": yesterday(), "severity": 11}), "severity"),
        (json!({"date": yesterday(), "severity": -1}), "severity"),
        (
            json!({"date": yesterday(), "severity": 3, "hours_slept": 25}),
            "hours_slept",
        ),
        (
            json!({"date": yesterday(), "severity": 3, "sleep_quality": 12}),
            "sleep_quality",
        ),
        (json!({"date": tomorrow, "severity": 3}), "date"),
        (json!({"date": "2026-02-30", "severity": 3}), "date"),
        (
            json!({"date": yesterday(), "severity": 3, "mood": 2}),
            "mood",
        ),
        (
            json!({"date": yesterday(), "severity": 3, "note": "a\u{7}b"}),
            "note",
        ),
    ];
    for (body, field) in cases {
        let r = send(&app, post_json("/api/v1/nights", &body)).await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}: {}",
            r.body
        );
        let e = r.json();
        assert_eq!(e["field"], field, "{body}: {e}");
        assert!(!e["error"].as_str().unwrap().is_empty());
    }
    let r = send(&app, post_json("/api/v1/nights", &json!("not an object"))).await;
    assert!(r.status.is_client_error(), "{}", r.body);
    let r = send(&app, get("/api/v1/nights?from=yesterday")).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.json()["field"], "from");
    assert_eq!(nights(&app).await, json!([]), "nothing stored on a refusal");
}

#[tokio::test]
async fn requests_for_another_host_name_are_refused() {
    let app = app();
    // DNS rebinding: a page on evil.example resolved to 127.0.0.1.
    let req = Request::get("/tonight")
        .header(header::HOST, "evil.example:8080")
        .body(Body::empty())
        .unwrap();
    let r = send(&app, req).await;
    assert_eq!(r.status, StatusCode::MISDIRECTED_REQUEST);
    assert_eq!(r.json()["field"], "host");
    let mut req = post_json(
        "/api/v1/nights",
        &json!({"date": yesterday(), "severity": 5}),
    );
    req.headers_mut()
        .insert(header::HOST, "evil.example".parse().unwrap());
    assert_eq!(
        send(&app, req).await.status,
        StatusCode::MISDIRECTED_REQUEST
    );
    assert_eq!(nights(&app).await, json!([]));
}

#[tokio::test]
async fn state_changes_from_another_site_are_refused() {
    let app = app();
    let mut req = post_json(
        "/api/v1/nights",
        &json!({"date": yesterday(), "severity": 5}),
    );
    req.headers_mut()
        .insert(header::ORIGIN, "http://evil.example".parse().unwrap());
    let r = send(&app, req).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    // The same request from the app's own origin goes through.
    let mut req = post_json(
        "/api/v1/nights",
        &json!({"date": yesterday(), "severity": 5}),
    );
    req.headers_mut()
        .insert(header::ORIGIN, format!("http://{HOST}").parse().unwrap());
    assert_eq!(send(&app, req).await.status, StatusCode::CREATED);
    assert_eq!(nights(&app).await.as_array().unwrap().len(), 1);
}

/// The `csrf` cookie a page set.
fn csrf_from(r: &Reply) -> String {
    let cookie = r.headers[header::SET_COOKIE].to_str().unwrap();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    cookie
        .split(';')
        .next()
        .unwrap()
        .strip_prefix("ql_csrf=")
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn tonight_form_logs_a_night_with_its_csrf_token_and_only_then() {
    let app = app();
    let page = send(&app, get("/tonight")).await;
    assert_eq!(page.status, StatusCode::OK);
    let token = csrf_from(&page);
    assert!(page
        .body
        .contains(&format!(r#"name="csrf" value="{token}""#)));
    let form = format!(
        "date={}&severity=7&sleep_quality=3&hours_slept=5.5&note=",
        yesterday()
    );
    // Without the token, or with another one: refused, nothing stored.
    for (cookie, field) in [
        (None, format!("csrf={token}&{form}")),
        (Some(token.as_str()), form.clone()),
        (
            Some(token.as_str()),
            format!("csrf={}&{form}", "0".repeat(64)),
        ),
    ] {
        let r = send(&app, post_form("/tonight", cookie, &field)).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    }
    assert_eq!(nights(&app).await, json!([]));
    // With it: stored, then shown in history.
    let r = send(
        &app,
        post_form("/tonight", Some(&token), &format!("csrf={token}&{form}")),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let to = r.headers[header::LOCATION].to_str().unwrap().to_string();
    assert_eq!(to, format!("/history?logged={}", yesterday()));
    let list = nights(&app).await;
    assert_eq!(list[0]["severity"], 7);
    assert_eq!(list[0]["hours_slept"], 5.5);
    let history = send(&app, get(&to)).await;
    assert!(history
        .body
        .contains(&format!("Saved the night of {}", yesterday())));
    assert!(history.body.contains("<svg class=\"chart\""));
    // The next Tonight page starts from last night's scores.
    let again = send(&app, get("/tonight")).await;
    assert!(
        again
            .body
            .contains(r#"id="severity-7" name="severity" value="7" checked"#),
        "{}",
        again.body
    );
    // A bad value is shown back with the message, and nothing more is stored.
    let bad = format!(
        "csrf={token}&date={}&severity=4&hours_slept=30",
        jiff::Zoned::now().date()
    );
    let r = send(&app, post_form("/tonight", Some(&token), &bad)).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(r.body.contains("role=\"alert\""));
    assert!(
        r.body.contains(r#"value="30" aria-invalid="true""#),
        "the field is marked"
    );
    assert!(r.body.contains("value=\"30\""), "what was typed is kept");
    assert_eq!(nights(&app).await.as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn every_page_has_security_headers_and_labels_for_every_input() {
    let app = app();
    for uri in ["/tonight", "/history", "/trial", "/about"] {
        let r = send(&app, get(uri)).await;
        assert_eq!(r.status, StatusCode::OK, "{uri}");
        let csp = r.headers[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
        assert!(
            csp.contains("frame-ancestors 'none'") && !csp.contains("unsafe-inline"),
            "{csp}"
        );
        assert_eq!(r.headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
        assert!(!r.body.contains("<script>"), "{uri}: inline script");
        // Every visible field has a <label for=its id>.
        common::assert_every_field_labelled(uri, &r.body);
    }
}

#[tokio::test]
async fn the_openapi_document_describes_the_nights_routes() {
    let app = app();
    let r = send(&app, get("/api/v1/openapi.json")).await;
    assert_eq!(r.status, StatusCode::OK);
    let doc = r.json();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let nights = &doc["paths"]["/api/v1/nights"];
    assert!(
        nights["get"].is_object() && nights["post"].is_object(),
        "{doc}"
    );
    let input = &doc["components"]["schemas"]["NightInput"];
    let required: Vec<&str> = input["required"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(required, ["date", "severity"]);
}

#[tokio::test]
async fn without_a_trial_the_status_is_not_found() {
    let app = app();
    let r = send(&app, get("/api/v1/trial/status")).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert!(r.json()["error"].as_str().unwrap().contains("no trial yet"));
}

#[tokio::test]
async fn a_blinded_trial_shows_containers_never_arms() {
    use quietlegs_app::trial::{self, DesignChoice};
    use quietlegs_app::{Context, Now};
    use quietlegs_store::Store;
    let data = ReferenceData::shipped().unwrap();
    let store = SqliteStore::in_memory().unwrap();
    let now = Now::read();
    let person = store
        .person(
            &quietlegs_store::Identity::local(quietlegs_web::LOCAL_PERSON),
            &now.instant,
        )
        .unwrap();
    // Registered ten days ago, started nine days ago: tonight is in period 1.
    let then = Now::fixed(
        now.date.checked_sub(jiff::Span::new().days(10)).unwrap(),
        quietlegs_core::clock::ClockTime::parse("20:00").unwrap(),
    );
    let ctx = Context {
        now: &then,
        reference: &data,
        foods: &quietlegs_app::FoodCatalog::new(),
    };
    let prepared = trial::prepare(&ctx, Some("blind"), &DesignChoice::default(), 7, None).unwrap();
    trial::register(&store, person, &ctx, prepared).unwrap();
    let app = router(WebState::new(store, data, &[]));
    let api = send(&app, get("/api/v1/trial/status")).await;
    assert_eq!(api.status, StatusCode::OK, "{}", api.body);
    let s = api.json();
    assert_eq!(s["container"], 1, "{s}");
    assert!(s["arm"].is_null());
    let page = send(&app, get("/trial")).await;
    let tonight = send(&app, get("/tonight")).await;
    for body in [&api.body, &page.body, &tonight.body] {
        assert!(
            !body.contains("placebo") && !body.contains("magnesium"),
            "{body}"
        );
    }
    assert!(page.body.contains("Tonight: container 1"));
}

#[tokio::test]
async fn a_trial_planned_on_the_web_answers_with_the_helper_sheet_and_hides_the_arms() {
    let app = app();
    let page = send(&app, get("/trial")).await;
    assert!(page.body.contains(r#"href="/trial/new""#));
    let form_page = send(&app, get("/trial/new")).await;
    assert_eq!(form_page.status, StatusCode::OK);
    let token = csrf_from(&form_page);
    let tomorrow = jiff::Zoned::now().date().tomorrow().unwrap();
    let form = format!(
        "compare=placebo&start={tomorrow}&period_days=28&run_in_days=14&cycles=2&name=web-trial"
    );
    // Without the token: refused, nothing registered.
    let r = send(&app, post_form("/trial/new", Some(&token), &form)).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(
        send(&app, get("/api/v1/trial/status")).await.status,
        StatusCode::NOT_FOUND
    );
    // A bad number is shown back on the form, nothing registered.
    let bad = format!("csrf={token}&compare=placebo&start={tomorrow}&period_days=four");
    let r = send(&app, post_form("/trial/new", Some(&token), &bad)).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(
        r.body.contains("four&#39; is not a whole number"),
        "{}",
        r.body
    );
    assert_eq!(
        send(&app, get("/api/v1/trial/status")).await.status,
        StatusCode::NOT_FOUND
    );
    // With it: the answer is the helper's sheet, as a download; 2 arms x 2 cycles = 4 containers.
    let r = send(
        &app,
        post_form("/trial/new", Some(&token), &format!("csrf={token}&{form}")),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let disposition = r.headers[header::CONTENT_DISPOSITION].to_str().unwrap();
    assert_eq!(
        disposition,
        r#"attachment; filename="quietlegs-helper-sheet-web-trial.txt""#
    );
    assert_eq!(r.body.matches("  Container ").count(), 4, "{}", r.body);
    assert!(r.body.contains("KEEP THIS AWAY FROM THE PARTICIPANT"));
    // Registered: the trial page and the API show it, by container only.
    let status = send(&app, get("/api/v1/trial/status")).await.json();
    assert_eq!(status["trial"], "web-trial");
    assert!(status["arm"].is_null());
    let trial_page = send(&app, get("/trial")).await;
    assert!(trial_page
        .body
        .contains(&format!("The trial starts on {tomorrow}")));
    // A second trial with the same name is a conflict, shown on the form.
    let r = send(
        &app,
        post_form("/trial/new", Some(&token), &format!("csrf={token}&{form}")),
    )
    .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
    assert!(
        r.body.contains("a trial named &#39;web-trial&#39; exists"),
        "{}",
        r.body
    );
}

#[tokio::test]
async fn an_open_trial_registers_without_a_sheet() {
    let app = app();
    let token = csrf_from(&send(&app, get("/trial/new")).await);
    let r = send(
        &app,
        post_form(
            "/trial/new",
            Some(&token),
            &format!("csrf={token}&compare=nothing"),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let status = send(&app, get("/api/v1/trial/status")).await.json();
    assert_eq!(status["blinded"], false);
}

#[tokio::test]
async fn the_api_takes_json_only() {
    let app = app();
    let req = Request::post("/api/v1/nights")
        .header(header::HOST, HOST)
        .header(header::CONTENT_TYPE, "text/plain")
        .body(Body::from(
            json!({"date": yesterday(), "severity": 5}).to_string(),
        ))
        .unwrap();
    let r = send(&app, req).await;
    assert_eq!(r.status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{}", r.body);
    assert_eq!(r.json()["field"], "content-type");
    assert_eq!(nights(&app).await, json!([]));
}

/// Concurrent posts share group commits (one writer thread): 40 posts at once, 2 for each of
/// 20 dates (severity 1 and 2). Each date is stored once: 20 answers 201, 20 answer 409 naming
/// the date, and the list holds the 20 dates, each with one of its two severities.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_posts_are_each_stored_or_refused_on_their_own() {
    let app = app();
    let first = jiff::Zoned::now()
        .date()
        .checked_sub(jiff::Span::new().days(60))
        .unwrap();
    let posts = (0..40).map(|i| {
        let app = app.clone();
        let date = first.checked_add(jiff::Span::new().days(i / 2)).unwrap();
        async move {
            let body = json!({"date": date.to_string(), "severity": 1 + i % 2});
            send(&app, post_json("/api/v1/nights", &body)).await
        }
    });
    let replies: Vec<Reply> = futures_join_all(posts).await;
    let created = replies
        .iter()
        .filter(|r| r.status == StatusCode::CREATED)
        .count();
    let refused: Vec<&Reply> = replies
        .iter()
        .filter(|r| r.status == StatusCode::CONFLICT)
        .collect();
    assert_eq!((created, refused.len()), (20, 20));
    assert!(refused.iter().all(|r| r.json()["field"] == "date"));
    let listed = nights(&app).await;
    let listed = listed.as_array().unwrap();
    assert_eq!(listed.len(), 20);
    for (k, night) in listed.iter().enumerate() {
        let date = first.checked_add(jiff::Span::new().days(k as i32)).unwrap();
        assert_eq!(night["date"], date.to_string());
        assert!(night["severity"] == 1 || night["severity"] == 2, "{night}");
    }
}

/// Runs the futures concurrently on the runtime and collects their outputs in order.
async fn futures_join_all<F>(futures: impl Iterator<Item = F>) -> Vec<F::Output>
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    let handles: Vec<_> = futures.map(tokio::spawn).collect();
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await.unwrap());
    }
    out
}

/// While a trial is in progress (registered for tomorrow here), the plan page says to follow the
/// trial rather than start the plan's supplement; the answer line is the plan's own advice
/// without a contradicting "Yes"/"Not yet" prefix.
#[tokio::test]
async fn the_plan_page_defers_to_a_trial_in_progress() {
    let app = app();
    let profile = json!({"age": 40, "sex": "male", "bedtime": "22:00", "gi_tolerance": "normal",
        "kidney": {"egfr": 95}});
    let mut put = post_json("/api/v1/profile", &profile);
    *put.method_mut() = axum::http::Method::PUT;
    assert_eq!(send(&app, put).await.status, StatusCode::OK);
    let before = send(&app, get("/plan")).await;
    assert_eq!(before.status, StatusCode::OK);
    assert!(!before.body.contains("You are in the trial"));
    // A healthy 40-year-old man with normal kidneys: the core's own answer starts "Yes:".
    assert!(
        before
            .body
            .contains(r#"answer-yes">Yes: nothing in your profile"#),
        "{}",
        before.body
    );
    let form_page = send(&app, get("/trial/new")).await;
    let token = csrf_from(&form_page);
    let tomorrow = jiff::Zoned::now().date().tomorrow().unwrap();
    let form = format!(
        "csrf={token}&compare=placebo&start={tomorrow}&period_days=28&run_in_days=14&cycles=2&name=plan-trial"
    );
    let r = send(&app, post_form("/trial/new", Some(&token), &form)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let during = send(&app, get("/plan")).await;
    assert!(
        during.body.contains("You are in the trial “plan-trial”"),
        "{}",
        during.body
    );
}

/// The trial API: plan (the helper's sheet comes once, in the answer), the blinding gate on the
/// calendar and the report, refusals that store nothing, early unblinding with a reason, and
/// the Origin guard.
#[tokio::test]
async fn the_trial_api_plans_guards_the_blinding_and_unblinds() {
    let app = app();
    let tomorrow = jiff::Zoned::now().date().tomorrow().unwrap().to_string();
    let plan = json!({"name": "api-trial", "compare": "placebo", "start": tomorrow,
        "period_days": 28, "run_in_days": 14, "cycles": 2});
    // From another site: refused before anything is read, nothing registered.
    let mut cross = post_json("/api/v1/trials", &plan);
    cross
        .headers_mut()
        .insert(header::ORIGIN, "http://evil.example".parse().unwrap());
    assert_eq!(send(&app, cross).await.status, StatusCode::FORBIDDEN);
    let unknown = send(&app, post_json("/api/v1/trials", &json!({"colour": "red"}))).await;
    assert_eq!(
        unknown.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        unknown.body
    );
    assert_eq!(
        send(&app, get("/api/v1/trial/status")).await.status,
        StatusCode::NOT_FOUND
    );
    let r = send(&app, post_json("/api/v1/trials", &plan)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let planned = r.json();
    assert_eq!(planned["trial"], "api-trial");
    assert_eq!(planned["blinded"], true);
    // 2 arms x 2 cycles = 4 containers on the helper's sheet.
    let sheet = planned["helper_sheet"].as_str().unwrap();
    assert_eq!(sheet.matches("  Container ").count(), 4, "{sheet}");
    // The same name again is a conflict.
    assert_eq!(
        send(&app, post_json("/api/v1/trials", &plan)).await.status,
        StatusCode::CONFLICT
    );
    // Blinded: the calendar numbers the periods, the report is refused; no arm anywhere.
    let cal = send(&app, get("/api/v1/trial/calendar")).await;
    assert_eq!(cal.status, StatusCode::OK, "{}", cal.body);
    let report = send(&app, get("/api/v1/trial/report")).await;
    assert!(report.status.is_client_error(), "{}", report.body);
    for body in [&cal.body, &report.body] {
        assert!(
            !body.contains("placebo") && !body.contains("magnesium"),
            "{body}"
        );
    }
    // A guess before the period's last night, and an unblinding before the end without
    // `early`: refused, nothing stored (the status still lists no unblinding).
    let g = send(
        &app,
        post_json(
            "/api/v1/trial/guesses",
            &json!({"period": 1, "arm": "placebo"}),
        ),
    )
    .await;
    assert!(g.status.is_client_error(), "{}", g.body);
    let u = send(&app, post_json("/api/v1/trial/unblind", &json!({}))).await;
    assert!(u.status.is_client_error(), "{}", u.body);
    assert_eq!(
        send(&app, get("/api/v1/trial/status")).await.json()["unblinded"],
        false
    );
    // Early, with a reason: the periods with their arms, two of each.
    let u = send(
        &app,
        post_json(
            "/api/v1/trial/unblind",
            &json!({"early": true, "reason": "moving abroad"}),
        ),
    )
    .await;
    assert_eq!(u.status, StatusCode::OK, "{}", u.body);
    let periods = u.json()["periods"].as_array().unwrap().clone();
    assert_eq!(periods.len(), 4);
    let placebo = periods.iter().filter(|p| p["arm"] == "placebo").count();
    assert_eq!(placebo, 2, "{periods:?}");
    let cal = send(&app, get("/api/v1/trial/calendar")).await;
    assert!(
        cal.body.contains("placebo") && cal.body.contains("magnesium"),
        "{}",
        cal.body
    );
}

/// "How likely is a clear answer?" on the trial form: simulates the typed design (nothing is
/// registered) and shows the form again with what was typed and the estimate as percentages.
#[tokio::test]
async fn the_trial_form_estimates_the_chance_of_a_clear_answer_without_registering() {
    let app = app();
    let token = csrf_from(&send(&app, get("/trial/new")).await);
    let tomorrow = jiff::Zoned::now().date().tomorrow().unwrap();
    let form = format!(
        "csrf={token}&compare=placebo&start={tomorrow}&period_days=28&run_in_days=14&cycles=3&name=my-plan"
    );
    let r = send(&app, post_form("/trial/power", Some(&token), &form)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    // 3 cycles x 2 arms x 28 nights = 168 nights.
    assert!(
        r.body
            .contains("3 cycles of 2 periods of 28 nights (168 nights in all)"),
        "{}",
        r.body
    );
    assert!(r.body.contains(r#"id="power-h""#));
    let shares: Vec<u32> = r
        .body
        .split("<strong>")
        .skip(1)
        .filter_map(|s| s.split(" %</strong>").next()?.parse().ok())
        .collect();
    assert_eq!(shares.len(), 3, "{}", r.body);
    assert!(shares.iter().all(|s| *s <= 100));
    // "Likely helps" is one of the clear verdicts, so it cannot come more often than any.
    assert!(shares[0] <= shares[1], "{shares:?}");
    assert!(r.body.contains(r#"value="my-plan""#));
    assert_eq!(
        send(&app, get("/api/v1/trial/status")).await.status,
        StatusCode::NOT_FOUND
    );
    // Without the token: refused.
    let no = send(
        &app,
        post_form(
            "/trial/power",
            Some(&token),
            &form.replacen(&token, &"0".repeat(64), 1),
        ),
    )
    .await;
    assert_eq!(no.status, StatusCode::FORBIDDEN);
}

/// A trial can be cancelled before its first night (the helper's sheet did not arrive): it is
/// removed whole. From its first night on, it cannot: only an early unblinding, with a reason.
#[tokio::test]
async fn a_trial_is_cancelled_only_before_its_first_night() {
    let app = app();
    let today = jiff::Zoned::now().date();
    let plan = |name: &str, start: jiff::civil::Date| json!({"name": name, "compare": "placebo", "start": start.to_string(), "cycles": 2});
    let r = send(
        &app,
        post_json("/api/v1/trials", &plan("later", today.tomorrow().unwrap())),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let c = send(&app, post_json("/api/v1/trial/cancel", &json!({}))).await;
    assert_eq!(c.status, StatusCode::OK, "{}", c.body);
    assert_eq!(c.json()["cancelled"], "later");
    assert_eq!(
        send(&app, get("/api/v1/trial/status")).await.status,
        StatusCode::NOT_FOUND
    );
    // Starting tonight: it has started.
    let r = send(&app, post_json("/api/v1/trials", &plan("tonight", today))).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let c = send(&app, post_json("/api/v1/trial/cancel", &json!({}))).await;
    assert_eq!(c.status, StatusCode::CONFLICT, "{}", c.body);
    assert_eq!(
        send(&app, get("/api/v1/trial/status")).await.json()["trial"],
        "tonight"
    );
}

/// The reminders file of the stored profile: none without a profile (to the plan page), the
/// diary and the dose with one, the diary only while a trial is in progress.
#[tokio::test]
async fn reminders_come_from_the_stored_profile_and_leave_the_dose_out_during_a_trial() {
    let app = app();
    let r = send(&app, get("/insights/reminders.ics")).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.headers[header::LOCATION], "/plan");
    let profile = json!({"age": 40, "sex": "male", "bedtime": "22:00", "gi_tolerance": "normal",
        "kidney": {"egfr": 95}});
    let mut put = post_json("/api/v1/profile", &profile);
    *put.method_mut() = axum::http::Method::PUT;
    assert_eq!(send(&app, put).await.status, StatusCode::OK);
    let r = send(&app, get("/insights/reminders.ics")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.headers[header::CONTENT_TYPE]
        .to_str()
        .unwrap()
        .starts_with("text/calendar"));
    assert_eq!(r.body.matches("BEGIN:VEVENT").count(), 2, "{}", r.body);
    assert!(r.body.contains("dose-reminder-"));
    let tomorrow = jiff::Zoned::now().date().tomorrow().unwrap().to_string();
    let planned = send(
        &app,
        post_json(
            "/api/v1/trials",
            &json!({"start": tomorrow, "compare": "placebo"}),
        ),
    )
    .await;
    assert_eq!(planned.status, StatusCode::CREATED, "{}", planned.body);
    let r = send(&app, get("/insights/reminders.ics")).await;
    assert_eq!(r.body.matches("BEGIN:VEVENT").count(), 1, "{}", r.body);
    assert!(!r.body.contains("dose-reminder-"));
}
