//! Log-in in process (`oneshot`): with a password set, every page and API call needs a
//! session; the log-in form and API, log-out, the CSRF and Origin guards on them, and the
//! open paths (log-in page, assets, health).

// Integration tests: a panic is a failed test (clippy.toml allows unwrap only inside #[test]).
#![allow(clippy::expect_used, clippy::unwrap_used)]

use axum::body::Body;
use axum::http::{header, HeaderMap, Request, StatusCode};
use axum::Router;
use http_body_util::BodyExt;
use quietlegs_app::{Context, FoodCatalog, Now};
use quietlegs_core::ReferenceData;
use quietlegs_store::{Identity, SqliteStore, Store};
use quietlegs_web::{router, WebState, LOCAL_PERSON};
use serde_json::{json, Value};
use tower::ServiceExt;

const HOST: &str = "127.0.0.1:8080";
const PASSWORD: &str = "quiet legs at night 42";

/// A server whose person has set `PASSWORD`, requiring log-in.
fn app_with_password() -> Router {
    let store = SqliteStore::in_memory().unwrap();
    let reference = ReferenceData::shipped().unwrap();
    let foods = FoodCatalog::new();
    let now = Now::read();
    let ctx = Context {
        now: &now,
        reference: &reference,
        foods: &foods,
    };
    let me = store
        .person(&Identity::local(LOCAL_PERSON), &now.instant)
        .unwrap();
    quietlegs_app::login::set_password(&store, me, &ctx, PASSWORD, [3; 16]).unwrap();
    let state = WebState::new(store, reference, &[]);
    state.require_login();
    router(state)
}

struct Reply {
    status: StatusCode,
    headers: HeaderMap,
    body: String,
}

async fn send(app: &Router, req: Request<Body>) -> Reply {
    let res = app.clone().oneshot(req).await.unwrap();
    let status = res.status();
    let headers = res.headers().clone();
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    Reply {
        status,
        headers,
        body: String::from_utf8_lossy(&bytes).into_owned(),
    }
}

fn get(uri: &str, cookies: &str) -> Request<Body> {
    Request::get(uri)
        .header(header::HOST, HOST)
        .header(header::COOKIE, cookies)
        .body(Body::empty())
        .unwrap()
}

fn post(uri: &str, content_type: &str, cookies: &str, body: String) -> Request<Body> {
    Request::post(uri)
        .header(header::HOST, HOST)
        .header(header::CONTENT_TYPE, content_type)
        .header(header::COOKIE, cookies)
        .body(Body::from(body))
        .unwrap()
}

fn login_json(password: &str) -> Request<Body> {
    post(
        "/api/v1/login",
        "application/json",
        "",
        json!({ "password": password }).to_string(),
    )
}

/// The value of cookie `name` among a reply's `Set-Cookie` headers.
fn set_cookie(r: &Reply, name: &str) -> Option<String> {
    r.headers
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| v.split(';').next()?.strip_prefix(&format!("{name}=")))
        .map(str::to_string)
}

fn json_of(r: &Reply) -> Value {
    serde_json::from_str(&r.body).unwrap_or_else(|e| panic!("{e}: {}", r.body))
}

#[tokio::test]
async fn without_a_session_pages_go_to_log_in_and_the_api_answers_401() {
    let app = app_with_password();
    let page = send(&app, get("/history?from=2026-01-01", "")).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(
        page.headers[header::LOCATION],
        "/login?next=/history%3Ffrom%3D2026-01-01"
    );
    let api = send(&app, get("/api/v1/nights", "")).await;
    assert_eq!(api.status, StatusCode::UNAUTHORIZED);
    assert!(json_of(&api)["error"]
        .as_str()
        .unwrap()
        .contains("log in first"));
    // A made-up session is no session.
    let forged = send(
        &app,
        get("/api/v1/nights", &format!("ql_session={}", "a".repeat(64))),
    )
    .await;
    assert_eq!(forged.status, StatusCode::UNAUTHORIZED);
    // Open: the log-in page, its assets, the health check.
    for open in ["/login", "/assets/style.css", "/api/v1/health"] {
        let status = send(&app, get(open, "")).await.status;
        assert!(status.is_success(), "{open}: {status}");
    }
}

#[tokio::test]
async fn the_api_logs_in_with_the_right_password_only() {
    let app = app_with_password();
    let wrong = send(&app, login_json("quiet legs at night 43")).await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert_eq!(json_of(&wrong)["field"], "password");
    assert_eq!(set_cookie(&wrong, "ql_session"), None);

    let right = send(&app, login_json(PASSWORD)).await;
    assert_eq!(right.status, StatusCode::NO_CONTENT, "{}", right.body);
    let cookie = right
        .headers
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .find(|v| v.starts_with("ql_session="))
        .unwrap();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    let token = set_cookie(&right, "ql_session").unwrap();
    assert_eq!(token.len(), 64);
    let session = format!("ql_session={token}");
    let nights = send(&app, get("/api/v1/nights", &session)).await;
    assert_eq!(nights.status, StatusCode::OK, "{}", nights.body);
    assert_eq!(json_of(&nights), json!([]));

    // Another site cannot log a browser in (login CSRF): the Origin guard refuses it.
    let cross = Request::post("/api/v1/login")
        .header(header::HOST, HOST)
        .header(header::ORIGIN, "http://evil.example")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(json!({ "password": PASSWORD }).to_string()))
        .unwrap();
    assert_eq!(send(&app, cross).await.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn the_form_logs_in_to_where_the_person_was_going_and_log_out_ends_the_session() {
    let app = app_with_password();
    let page = send(&app, get("/login?next=/history", "")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains(r#"<label for="password">"#));
    assert!(page.body.contains(r#"name="next" value="/history""#));
    let csrf = set_cookie(&page, "ql_csrf").unwrap();
    let form = |password: &str, token: &str| {
        format!(
            "csrf={token}&next=%2Fhistory&password={}",
            password.replace(' ', "+")
        )
    };
    let cookies = format!("ql_csrf={csrf}");

    // Without the form's token: refused before the password is looked at.
    let no_token = send(
        &app,
        post(
            "/login",
            "application/x-www-form-urlencoded",
            &cookies,
            form(PASSWORD, &"0".repeat(64)),
        ),
    )
    .await;
    assert_eq!(no_token.status, StatusCode::FORBIDDEN);
    assert_eq!(set_cookie(&no_token, "ql_session"), None);

    let wrong = send(
        &app,
        post(
            "/login",
            "application/x-www-form-urlencoded",
            &cookies,
            form("not it at all, sorry", &csrf),
        ),
    )
    .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert!(wrong.body.contains("wrong password"));
    assert!(wrong.body.contains(r#"aria-invalid="true""#));

    let right = send(
        &app,
        post(
            "/login",
            "application/x-www-form-urlencoded",
            &cookies,
            form(PASSWORD, &csrf),
        ),
    )
    .await;
    assert_eq!(right.status, StatusCode::SEE_OTHER);
    assert_eq!(right.headers[header::LOCATION], "/history");
    let token = set_cookie(&right, "ql_session").unwrap();
    let both = format!("ql_csrf={csrf}; ql_session={token}");
    assert_eq!(
        send(&app, get("/history", &both)).await.status,
        StatusCode::OK
    );
    let about = send(&app, get("/about", &both)).await;
    assert!(about.body.contains(r#"action="/logout""#));

    let out = send(
        &app,
        post(
            "/logout",
            "application/x-www-form-urlencoded",
            &both,
            format!("csrf={csrf}"),
        ),
    )
    .await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    assert_eq!(set_cookie(&out, "ql_session").as_deref(), Some(""));
    // The old token no longer opens anything.
    assert_eq!(
        send(&app, get("/api/v1/nights", &both)).await.status,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn an_open_redirect_through_next_is_refused() {
    let app = app_with_password();
    let page = send(&app, get("/login?next=//evil.example/x", "")).await;
    assert!(
        page.body.contains(r#"name="next" value="/tonight""#),
        "{}",
        page.body
    );
}

/// A burst of wrong passwords cannot slip past the throttle: checks run one at a time, so after
/// the 6th failure (FREE_ATTEMPTS = 5, then a wait of 1 s, 2 s, ...) the queued attempts are
/// refused with 429 without being hashed. 20 at once: 6 answered 401, the other 14 answered 429
/// (a 7th 401 only if six hashes took longer than the 1 s wait, on a very slow machine).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_wrong_passwords_is_throttled_not_hashed_in_parallel() {
    let app = app_with_password();
    let attempts: Vec<_> = (0..20)
        .map(|i| {
            let app = app.clone();
            tokio::spawn(async move {
                send(&app, login_json(&format!("wrong guess number {i}")))
                    .await
                    .status
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for a in attempts {
        statuses.push(a.await.unwrap());
    }
    let wrong = statuses
        .iter()
        .filter(|s| **s == StatusCode::UNAUTHORIZED)
        .count();
    let slowed = statuses
        .iter()
        .filter(|s| **s == StatusCode::TOO_MANY_REQUESTS)
        .count();
    assert_eq!(wrong + slowed, 20, "{statuses:?}");
    assert!((6..=7).contains(&wrong), "{statuses:?}");
}
