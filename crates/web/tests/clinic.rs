//! The clinic server's security: an authorization matrix generated from the route table (every
//! route, every kind of account; a route without a request here fails the test), the blinding
//! gate for clinicians, session fixation, CSRF, the log-in throttle, expiry and log-out.
//!
//! Each test runs on SQLite and, with `QUIETLEGS_TEST_PG_URL` (`.ci/run` sets it; under
//! `CI=true` it must be set), on PostgreSQL in a fresh schema.

// Integration tests: a panic is a failed test (clippy.toml allows unwrap only inside #[test]).
#![allow(clippy::expect_used, clippy::unwrap_used)]

mod common;

use std::collections::{BTreeMap, BTreeSet};

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use axum::Router;
use common::{send, Reply, HOST};
use jiff::civil::Date;
use quietlegs_app::clinic;
use quietlegs_app::trial::{self, DesignChoice};
use quietlegs_app::{Context, FoodCatalog, Now};
use quietlegs_core::clock::ClockTime;
use quietlegs_core::diary::{Night, Record};
use quietlegs_core::ReferenceData;
use quietlegs_store::clinic::{Account, Role};
use quietlegs_store::conformance::postgres_fixture::FreshSchema;
use quietlegs_store::{AnyStore, OnDuplicate, SqliteStore};
use quietlegs_web::access::Access;
use quietlegs_web::{route_table, router, ClinicSettings, WebState};

static FOODS: FoodCatalog = FoodCatalog::new();
const PASSWORD: &str = "correct horse battery staple";
/// A CSRF token (64 hex digits) the tests put in both the cookie and the form.
const CSRF: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
/// Only in Zoe's diary: no one but Zoe and her linked clinician may ever be shown it.
const ZOE_MARK: &str = "ZOE-ONLY-7731";
const YAN_MARK: &str = "YAN-ONLY-4420";

fn today() -> Date {
    Now::read().date
}

fn day(offset: i64) -> Date {
    today().checked_add(jiff::Span::new().days(offset)).unwrap()
}

fn ctx_at<T>(date: Date, f: impl FnOnce(&Context<'_>) -> T) -> T {
    let reference = ReferenceData::shipped().unwrap();
    let now = Now::fixed(date, ClockTime::parse("21:00").unwrap());
    f(&Context {
        now: &now,
        reference: &reference,
        foods: &FOODS,
    })
}

/// The clinic: admin ada; clinicians amy (linked to zoe) and ben (linked to nobody);
/// participants zoe (a profile, nights with her mark, a blinded trial under way that started 20
/// days ago with `seed`) and yan (a night with his mark).
struct Clinic {
    app: Router,
    zoe: Account,
    yan: Account,
    /// Keeps a PostgreSQL schema alive.
    _schema: Option<FreshSchema>,
}

fn night(date: Date, severity: u8, note: &str) -> Record {
    Record::Night(Night {
        date,
        severity,
        symptoms_began: None,
        sleep_quality: Some(6),
        hours_slept: Some(7.0),
        minutes_to_sleep: None,
        awakenings: None,
        note: Some(note.into()),
    })
}

fn fill(store: &AnyStore, seed: u64) -> (Account, Account) {
    let make = |name: &str, role| {
        ctx_at(today(), |ctx| {
            clinic::create_account(store, ctx, name, role, PASSWORD, [9; 16]).unwrap()
        })
    };
    make("ada", Role::Admin);
    let amy = make("amy", Role::Clinician);
    make("ben", Role::Clinician);
    let zoe = make("zoe", Role::Participant);
    let yan = make("yan", Role::Participant);
    ctx_at(today(), |ctx| {
        clinic::invite(store, ctx, &amy, "Zoe", "invitation-for-zoe").unwrap();
        clinic::accept_invitation(store, ctx, &zoe, "invitation-for-zoe").unwrap();
        quietlegs_app::profile::save_toml(
            store,
            zoe.person,
            ctx,
            include_str!("../../../examples/profile.toml"),
        )
        .unwrap();
    });
    // Zoe's blinded trial: registered 21 days ago, started 20 days ago, nights since.
    ctx_at(day(-21), |ctx| {
        let choice = DesignChoice {
            period_days: Some(14),
            run_in_days: Some(4),
            cycles: Some(2),
            ..DesignChoice::default()
        };
        let prepared =
            trial::prepare(ctx, Some("magnesium"), &choice, seed, Some(day(-20))).unwrap();
        trial::register(store, zoe.person, ctx, prepared).unwrap();
    });
    for k in 1..=20 {
        ctx_at(day(-k + 1), |ctx| {
            let entry =
                quietlegs_app::diary::Entry::new(ctx, night(day(-k), (k % 7) as u8 + 2, ZOE_MARK))
                    .unwrap();
            quietlegs_app::diary::log(store, zoe.person, ctx, entry, OnDuplicate::Refuse).unwrap();
        });
    }
    ctx_at(today(), |ctx| {
        let entry = quietlegs_app::diary::Entry::new(ctx, night(day(-1), 3, YAN_MARK)).unwrap();
        quietlegs_app::diary::log(store, yan.person, ctx, entry, OnDuplicate::Refuse).unwrap();
    });
    (zoe, yan)
}

/// The clinic on SQLite, or on PostgreSQL when `postgres` (None when no server is configured).
async fn clinic(postgres: bool, seed: u64) -> Option<Clinic> {
    tokio::task::spawn_blocking(move || {
        let (store, schema): (AnyStore, Option<FreshSchema>) = if postgres {
            let schema = FreshSchema::new()?;
            (schema.store().into(), Some(schema))
        } else {
            (SqliteStore::in_memory().unwrap().into(), None)
        };
        let (zoe, yan) = fill(&store, seed);
        let state = WebState::clinic(
            store,
            ReferenceData::shipped().unwrap(),
            &[],
            ClinicSettings::default(),
        );
        Some(Clinic {
            app: router(state),
            zoe,
            yan,
            _schema: schema,
        })
    })
    .await
    .unwrap()
}

/// The store and the schema are dropped outside the async machinery: the PostgreSQL client
/// and fixture are synchronous, and would panic if dropped on a runtime thread.
impl Drop for Clinic {
    fn drop(&mut self) {
        let app = std::mem::replace(&mut self.app, Router::new());
        let schema = self._schema.take();
        tokio::task::block_in_place(move || {
            drop(app);
            drop(schema);
        });
    }
}

fn cookie_header(session: Option<&str>) -> String {
    match session {
        Some(s) => format!("ql_session={s}; ql_csrf={CSRF}"),
        None => format!("ql_csrf={CSRF}"),
    }
}

fn request(method: &Method, uri: &str, session: Option<&str>, body: Option<&str>) -> Request<Body> {
    let mut b = Request::builder()
        .method(method.clone())
        .uri(uri)
        .header(header::HOST, HOST)
        .header(header::COOKIE, cookie_header(session));
    let body = match body {
        Some(text) if uri.starts_with("/api/") => {
            b = b.header(header::CONTENT_TYPE, "application/json");
            Body::from(text.to_string())
        }
        Some(text) => {
            b = b.header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
            Body::from(format!("csrf={CSRF}&{text}"))
        }
        None => Body::empty(),
    };
    b.body(body).unwrap()
}

/// The session token a reply sets, if any.
fn session_set(r: &Reply) -> Option<String> {
    r.headers
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|c| c.strip_prefix("ql_session="))
        .map(|c| c.split(';').next().unwrap().to_string())
        .filter(|t| !t.is_empty())
}

async fn log_in(app: &Router, username: &str) -> String {
    let r = send(
        app,
        request(
            &Method::POST,
            "/api/v1/login",
            None,
            Some(&format!(
                r#"{{"username":"{username}","password":"{PASSWORD}"}}"#
            )),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{username}: {}", r.body);
    session_set(&r).unwrap()
}

/// One request of the matrix: a method, a concrete address (`{zoe}`, `{yan}` stand for the
/// participants' account numbers) and a body (form fields, or JSON for the API).
struct Case {
    method: Method,
    uri: &'static str,
    body: Option<&'static str>,
}

fn case(method: Method, uri: &'static str, body: Option<&'static str>) -> Case {
    Case { method, uri, body }
}

/// A request for every route of the table (by its template). Bodies are harmless: they are
/// refused for their content, or change only the caller's own data.
fn cases() -> BTreeMap<&'static str, Vec<Case>> {
    use Method as M;
    let g = |uri| vec![case(M::GET, uri, None)];
    let p = |uri, body| vec![case(M::POST, uri, Some(body))];
    let mut c: BTreeMap<&'static str, Vec<Case>> = BTreeMap::new();
    // Open.
    c.insert("/", g("/"));
    c.insert("/about", g("/about"));
    c.insert("/assets/style.css", g("/assets/style.css"));
    c.insert("/assets/app.js", g("/assets/app.js"));
    c.insert("/assets/icon.svg", g("/assets/icon.svg"));
    c.insert("/login", g("/login"));
    c.insert(
        "/api/v1/login",
        p("/api/v1/login", r#"{"username":"nobody","password":"x"}"#),
    );
    c.insert("/api/v1/health", g("/api/v1/health"));
    c.insert("/api/v1/openapi.json", g("/api/v1/openapi.json"));
    c.insert("/invite/{token}", g("/invite/0000"));
    c.insert(
        "/invite/{token}/join",
        p("/invite/0000/join", "username=mallory&password=x"),
    );
    c.insert(
        "/reset/{token}",
        vec![
            case(M::GET, "/reset/0000", None),
            case(M::POST, "/reset/0000", Some("password=x")),
        ],
    );
    // A participant's own pages and API.
    c.insert(
        "/tonight",
        vec![
            case(M::GET, "/tonight", None),
            case(M::POST, "/tonight", Some("severity=99")),
        ],
    );
    c.insert("/history", g("/history"));
    c.insert("/trial", g("/trial"));
    c.insert(
        "/trial/new",
        vec![
            case(M::GET, "/trial/new", None),
            case(M::POST, "/trial/new", Some("cycles=0")),
        ],
    );
    c.insert("/trial/power", p("/trial/power", "cycles=0"));
    c.insert("/trial/guess", p("/trial/guess", "period=99&guess=x"));
    c.insert("/trial/unblind", p("/trial/unblind", "reason="));
    c.insert("/trial/cancel", p("/trial/cancel", ""));
    c.insert("/plan", g("/plan"));
    c.insert(
        "/profile",
        vec![
            case(M::GET, "/profile", None),
            case(M::POST, "/profile", Some("age=999")),
        ],
    );
    c.insert("/log", g("/log"));
    c.insert("/log/dose", p("/log/dose", "form=x"));
    c.insert("/log/side-effects", p("/log/side-effects", "diarrhea=99"));
    c.insert("/log/factors", p("/log/factors", "kind=x"));
    c.insert("/log/irls", p("/log/irls", "item1=99"));
    c.insert("/foods", g("/foods?q=spinach"));
    c.insert("/foods/log", p("/foods/log", "grams=-1"));
    c.insert("/insights", g("/insights"));
    c.insert("/insights/reminders.ics", g("/insights/reminders.ics"));
    c.insert("/data", g("/data"));
    c.insert("/data/export", g("/data/export?format=json"));
    c.insert("/data/backup", g("/data/backup"));
    c.insert("/data/import", p("/data/import", "file="));
    c.insert("/report", g("/report"));
    c.insert("/report.pdf", g("/report.pdf"));
    c.insert(
        "/account/delete",
        vec![
            case(M::GET, "/account/delete", None),
            case(
                M::POST,
                "/account/delete",
                Some("confirm=nobody&password=x"),
            ),
        ],
    );
    c.insert("/invite/{token}/accept", p("/invite/0000/accept", ""));
    c.insert(
        "/api/v1/nights",
        vec![
            case(M::GET, "/api/v1/nights", None),
            case(
                M::POST,
                "/api/v1/nights",
                Some(r#"{"date":"1999-01-01","severity":99}"#),
            ),
        ],
    );
    c.insert("/api/v1/trial/status", g("/api/v1/trial/status"));
    c.insert("/api/v1/trials", p("/api/v1/trials", r#"{"cycles":0}"#));
    c.insert(
        "/api/v1/trial/guesses",
        p("/api/v1/trial/guesses", r#"{"period":99,"guess":"x"}"#),
    );
    c.insert(
        "/api/v1/trial/unblind",
        p("/api/v1/trial/unblind", r#"{"reason":""}"#),
    );
    c.insert("/api/v1/trial/cancel", p("/api/v1/trial/cancel", "{}"));
    c.insert("/api/v1/trial/calendar", g("/api/v1/trial/calendar"));
    c.insert("/api/v1/trial/report", g("/api/v1/trial/report"));
    c.insert(
        "/api/v1/profile",
        vec![
            case(M::GET, "/api/v1/profile", None),
            case(M::PUT, "/api/v1/profile", Some(r#"{"age":999}"#)),
        ],
    );
    c.insert("/api/v1/plan", g("/api/v1/plan"));
    c.insert("/api/v1/doses", p("/api/v1/doses", "{}"));
    c.insert("/api/v1/side-effects", p("/api/v1/side-effects", "{}"));
    c.insert("/api/v1/factors", p("/api/v1/factors", "{}"));
    c.insert("/api/v1/irls", p("/api/v1/irls", "{}"));
    c.insert("/api/v1/foods/search", g("/api/v1/foods/search?q=spinach"));
    c.insert("/api/v1/foods", p("/api/v1/foods", "{}"));
    c.insert("/api/v1/intake", g("/api/v1/intake"));
    c.insert("/api/v1/insights", g("/api/v1/insights"));
    c.insert("/api/v1/export", g("/api/v1/export"));
    c.insert("/api/v1/import", p("/api/v1/import", "{}"));
    c.insert("/api/v1/report", g("/api/v1/report"));
    c.insert("/api/v1/account/audit", g("/api/v1/account/audit"));
    // Any account.
    c.insert("/account", g("/account"));
    c.insert(
        "/account/links/end",
        p("/account/links/end", "other=nobody"),
    );
    c.insert(
        "/account/password",
        p("/account/password", "current=wrong&new=x"),
    );
    c.insert("/logout", p("/logout", ""));
    // Clinicians.
    c.insert("/clinic", g("/clinic"));
    c.insert("/clinic/pooled", g("/clinic/pooled"));
    c.insert(
        "/clinic/invitations",
        p("/clinic/invitations", "label=matrix"),
    );
    c.insert(
        "/clinic/invitations/withdraw",
        p("/clinic/invitations/withdraw", "id=0"),
    );
    c.insert(
        "/clinic/participants/{number}",
        vec![
            case(M::GET, "/clinic/participants/{zoe}", None),
            case(M::GET, "/clinic/participants/{yan}", None),
        ],
    );
    c.insert(
        "/clinic/participants/{number}/report.pdf",
        vec![
            case(M::GET, "/clinic/participants/{zoe}/report.pdf", None),
            case(M::GET, "/clinic/participants/{yan}/report.pdf", None),
        ],
    );
    c.insert(
        "/clinic/participants/{number}/trial",
        vec![
            case(M::GET, "/clinic/participants/{zoe}/trial", None),
            case(M::GET, "/clinic/participants/{yan}/trial", None),
            case(
                M::POST,
                "/clinic/participants/{zoe}/trial",
                Some("cycles=0&helper=Sam"),
            ),
        ],
    );
    c.insert(
        "/helper/{token}",
        vec![
            case(M::GET, "/helper/0000", None),
            case(M::POST, "/helper/0000", Some("")),
        ],
    );
    c.insert("/api/v1/clinic/dashboard", g("/api/v1/clinic/dashboard"));
    c.insert(
        "/api/v1/clinic/participants/{number}/report",
        vec![
            case(M::GET, "/api/v1/clinic/participants/{zoe}/report", None),
            case(M::GET, "/api/v1/clinic/participants/{yan}/report", None),
        ],
    );
    // Admins.
    c.insert("/admin", g("/admin"));
    c.insert(
        "/admin/accounts",
        p(
            "/admin/accounts",
            "username=x&role=participant&password=short",
        ),
    );
    c.insert("/admin/resets", p("/admin/resets", "username=nobody"));
    c
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Who {
    Nobody,
    Zoe,
    Yan,
    Amy,
    Ben,
    Ada,
}

impl Who {
    const ALL: [Who; 6] = [
        Who::Nobody,
        Who::Zoe,
        Who::Yan,
        Who::Amy,
        Who::Ben,
        Who::Ada,
    ];

    fn username(self) -> Option<&'static str> {
        match self {
            Who::Nobody => None,
            Who::Zoe => Some("zoe"),
            Who::Yan => Some("yan"),
            Who::Amy => Some("amy"),
            Who::Ben => Some("ben"),
            Who::Ada => Some("ada"),
        }
    }

    fn role(self) -> Option<Role> {
        match self {
            Who::Nobody => None,
            Who::Zoe | Who::Yan => Some(Role::Participant),
            Who::Amy | Who::Ben => Some(Role::Clinician),
            Who::Ada => Some(Role::Admin),
        }
    }
}

/// What a request may get: let through (its own answer), sent to log in, or forbidden.
#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    Through,
    LogInFirst,
    Forbidden,
}

fn outcome(r: &Reply, uri: &str) -> Outcome {
    let to_login = r.status == StatusCode::SEE_OTHER
        && r.headers
            .get(header::LOCATION)
            .is_some_and(|l| l.to_str().unwrap().starts_with("/login?next="));
    if (r.status == StatusCode::UNAUTHORIZED && r.body.contains("log in first")) || to_login {
        Outcome::LogInFirst
    } else if r.status == StatusCode::FORBIDDEN && r.body.contains("this is not for a") {
        Outcome::Forbidden
    } else {
        assert!(
            r.status != StatusCode::FORBIDDEN && !r.status.is_server_error(),
            "{uri}: {} {}",
            r.status,
            r.body
        );
        Outcome::Through
    }
}

fn expected(access: Access, who: Who) -> Outcome {
    match (access, who.role()) {
        (Access::Open, _) => Outcome::Through,
        (_, None) => Outcome::LogInFirst,
        (access, Some(role)) if access.admits(role) => Outcome::Through,
        _ => Outcome::Forbidden,
    }
}

async fn authorization_matrix(postgres: bool) {
    let Some(c) = clinic(postgres, 11).await else {
        return;
    };
    let table = route_table(&WebState::new(
        SqliteStore::in_memory().unwrap(),
        ReferenceData::shipped().unwrap(),
        &[],
    ));
    let cases = cases();
    let templates: BTreeSet<&str> = table.iter().map(|e| e.path.as_str()).collect();
    let missing: Vec<&&str> = templates
        .iter()
        .filter(|p| !cases.contains_key(**p))
        .collect();
    assert!(
        missing.is_empty(),
        "routes without a request in the authorization matrix (add them to cases()): {missing:?}"
    );
    let stale: Vec<&&str> = cases.keys().filter(|p| !templates.contains(**p)).collect();
    assert!(
        stale.is_empty(),
        "requests for routes that no longer exist: {stale:?}"
    );
    let (zoe, yan) = (c.zoe.id.number().to_string(), c.yan.id.number().to_string());
    let mut checked = 0;
    for who in Who::ALL {
        let mut session = match who.username() {
            Some(u) => Some(log_in(&c.app, u).await),
            None => None,
        };
        // Log-out last (it ends the session).
        let mut entries: Vec<_> = table.iter().collect();
        entries.sort_by_key(|e| e.path == "/logout");
        for entry in entries {
            for k in &cases[entry.path.as_str()] {
                let uri = k.uri.replace("{zoe}", &zoe).replace("{yan}", &yan);
                let r = send(&c.app, request(&k.method, &uri, session.as_deref(), k.body)).await;
                let got = outcome(&r, &uri);
                assert_eq!(
                    got,
                    expected(entry.access, who),
                    "{who:?} {} {uri} ({:?}): {} {}",
                    k.method,
                    entry.access,
                    r.status,
                    r.body.chars().take(300).collect::<String>()
                );
                // Nobody but Zoe and Amy ever sees Zoe's diary; nobody but Yan sees his.
                if got == Outcome::Through {
                    if !matches!(who, Who::Zoe | Who::Amy) {
                        assert!(
                            !r.body.contains(ZOE_MARK),
                            "{who:?} saw Zoe's data at {uri}"
                        );
                    }
                    if who != Who::Yan {
                        assert!(
                            !r.body.contains(YAN_MARK),
                            "{who:?} saw Yan's data at {uri}"
                        );
                    }
                }
                // A clinician reaches a participant only through a live link.
                if uri.contains("/participants/") && got == Outcome::Through {
                    let linked = who == Who::Amy
                        && (uri.contains(&format!("/participants/{zoe}/"))
                            || uri.ends_with(&format!("/participants/{zoe}")));
                    if linked {
                        assert_ne!(r.status, StatusCode::NOT_FOUND, "{who:?} {uri}");
                    } else {
                        assert_eq!(r.status, StatusCode::NOT_FOUND, "{who:?} {uri}");
                    }
                }
                checked += 1;
            }
            if entry.path == "/account/password" || entry.path == "/account/delete" {
                // Refused for their content: the session is still live.
                if let Some(s) = &session {
                    let r = send(&c.app, request(&Method::GET, "/account", Some(s), None)).await;
                    assert_eq!(r.status, StatusCode::OK, "{who:?} lost the session");
                }
            }
        }
        session.take();
    }
    // 6 kinds of requester x every request.
    assert_eq!(checked, 6 * cases.values().map(Vec::len).sum::<usize>());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authorization_matrix_on_sqlite() {
    authorization_matrix(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authorization_matrix_on_postgres() {
    authorization_matrix(true).await;
}

/// Every page and API answer a clinician (and the participant) gets while Zoe's trial is
/// blinded is the same whatever the allocation, once tokens, hashes and moments are set aside.
async fn blinded_arms_stay_hidden(postgres: bool) {
    let hex = regex::Regex::new(r"[0-9a-f]{64}").unwrap();
    let moment =
        regex::Regex::new(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?( UTC|Z)?").unwrap();
    let unix = regex::Regex::new(r#""since":\d+"#).unwrap();
    let normal = |s: &str| {
        unix.replace_all(&moment.replace_all(&hex.replace_all(s, "#"), "@"), "since")
            .to_string()
    };
    let mut seen: Vec<BTreeMap<String, String>> = Vec::new();
    // Seeds 11 and 12 allocate the first period differently (checked below through the seal).
    for seed in [11, 12] {
        let Some(c) = clinic(postgres, seed).await else {
            return;
        };
        let zoe = c.zoe.id.number();
        let mut pages = BTreeMap::new();
        for (who, uris) in [
            (
                "amy",
                vec![
                    "/clinic".to_string(),
                    "/api/v1/clinic/dashboard".into(),
                    format!("/clinic/participants/{zoe}"),
                    format!("/api/v1/clinic/participants/{zoe}/report"),
                    "/clinic/pooled".into(),
                ],
            ),
            (
                "zoe",
                vec![
                    "/tonight".into(),
                    "/trial".into(),
                    "/history".into(),
                    "/report".into(),
                    "/api/v1/report".into(),
                    "/api/v1/trial/status".into(),
                ],
            ),
        ] {
            let s = log_in(&c.app, who).await;
            for uri in uris {
                let r = send(&c.app, request(&Method::GET, &uri, Some(&s), None)).await;
                assert_eq!(r.status, StatusCode::OK, "{who} {uri}: {}", r.body);
                pages.insert(format!("{who} {uri}"), normal(&r.body));
            }
        }
        seen.push(pages);
    }
    // The two allocations differ (so the pages could differ if an arm leaked).
    let arms: Vec<String> = [11u64, 12]
        .iter()
        .map(|seed| {
            ctx_at(day(-21), |ctx| {
                let choice = DesignChoice {
                    period_days: Some(14),
                    run_in_days: Some(4),
                    cycles: Some(2),
                    ..DesignChoice::default()
                };
                let p =
                    trial::prepare(ctx, Some("magnesium"), &choice, *seed, Some(day(-20))).unwrap();
                format!("{:?}", p.design.allocation())
            })
        })
        .collect();
    assert_ne!(arms[0], arms[1], "choose seeds with different first arms");
    for (key, page) in &seen[0] {
        assert_eq!(page, &seen[1][key], "{key} depends on the allocation");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blinded_arms_stay_hidden_on_sqlite() {
    blinded_arms_stay_hidden(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blinded_arms_stay_hidden_on_postgres() {
    blinded_arms_stay_hidden(true).await;
}

/// Log-in always makes a new session (a session token planted before log-in is never made
/// live: no fixation); log-out ends it on the server; a form without the page's token is
/// refused; a changed password ends every session.
async fn sessions_csrf_and_logout(postgres: bool) {
    let Some(c) = clinic(postgres, 11).await else {
        return;
    };
    // Fixation: the attacker plants a token of their own choosing; after Zoe logs in with it
    // in her browser, the planted token is not a session, and she holds a new one.
    let planted = "a".repeat(64);
    let r = send(
        &c.app,
        request(
            &Method::POST,
            "/login",
            Some(&planted),
            Some(&format!(
                "username=zoe&password={}",
                PASSWORD.replace(' ', "+")
            )),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let fresh = session_set(&r).unwrap();
    assert_ne!(fresh, planted);
    let with = |s: &str| request(&Method::GET, "/api/v1/nights", Some(s), None);
    let r = send(&c.app, with(&planted)).await;
    assert_eq!(
        r.status,
        StatusCode::UNAUTHORIZED,
        "{:?} {}",
        r.headers,
        r.body
    );
    assert_eq!(send(&c.app, with(&fresh)).await.status, StatusCode::OK);
    // Logging in again replaces the session the browser held: the old token dies.
    let r = send(
        &c.app,
        request(
            &Method::POST,
            "/login",
            Some(&fresh),
            Some(&format!(
                "username=zoe&password={}",
                PASSWORD.replace(' ', "+")
            )),
        ),
    )
    .await;
    let second = session_set(&r).unwrap();
    assert_eq!(
        send(&c.app, with(&fresh)).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(send(&c.app, with(&second)).await.status, StatusCode::OK);
    // The cookie: HttpOnly, SameSite=Strict, not Secure on plain loopback HTTP.
    let set = r.headers[header::SET_COOKIE].to_str().unwrap().to_string();
    assert!(
        set.contains("HttpOnly") && set.contains("SameSite=Strict") && !set.contains("Secure"),
        "{set}"
    );
    // CSRF: a form post with the session but a wrong token is refused and changes nothing.
    let forged = Request::post("/tonight")
        .header(header::HOST, HOST)
        .header(
            header::COOKIE,
            format!("ql_session={second}; ql_csrf={CSRF}"),
        )
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(format!(
            "csrf={}&date={}&severity=9",
            "f".repeat(64),
            day(0)
        )))
        .unwrap();
    let r = send(&c.app, forged).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    // Another site's form (Origin of another host) is refused before anything else.
    let cross = Request::post("/api/v1/nights")
        .header(header::HOST, HOST)
        .header(header::ORIGIN, "https://evil.example")
        .header(header::COOKIE, format!("ql_session={second}"))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(format!(
            r#"{{"date":"{}","severity":9}}"#,
            day(0)
        )))
        .unwrap();
    assert_eq!(send(&c.app, cross).await.status, StatusCode::FORBIDDEN);
    let r = send(&c.app, with(&second)).await;
    assert!(
        !r.body.contains(&format!(r#""date":"{}""#, day(0))),
        "{}",
        r.body
    );
    // Log-out ends the session on the server (a copied cookie is of no use afterwards).
    let r = send(
        &c.app,
        request(&Method::POST, "/logout", Some(&second), Some("")),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(
        send(&c.app, with(&second)).await.status,
        StatusCode::UNAUTHORIZED
    );
    // A new password ends every session of the account.
    let a = log_in(&c.app, "zoe").await;
    let b = log_in(&c.app, "zoe").await;
    let r = send(
        &c.app,
        request(
            &Method::POST,
            "/account/password",
            Some(&a),
            Some("current=correct+horse+battery+staple&new=an+entirely+new+passphrase"),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(
        send(&c.app, with(&a)).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        send(&c.app, with(&b)).await.status,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_csrf_and_logout_on_sqlite() {
    sessions_csrf_and_logout(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_csrf_and_logout_on_postgres() {
    sessions_csrf_and_logout(true).await;
}

/// Wrong passwords: five are free, the sixth makes the next attempt wait (429, even with the
/// right password), per account.
async fn log_in_is_throttled(postgres: bool) {
    let Some(c) = clinic(postgres, 11).await else {
        return;
    };
    let attempt = |password: &str| {
        request(
            &Method::POST,
            "/api/v1/login",
            None,
            Some(&format!(r#"{{"username":"yan","password":"{password}"}}"#)),
        )
    };
    for k in 1..=6 {
        let r = send(&c.app, attempt("not the password at all")).await;
        assert_eq!(
            r.status,
            StatusCode::UNAUTHORIZED,
            "attempt {k}: {}",
            r.body
        );
        assert_eq!(r.json()["error"], "wrong username or password");
    }
    let r = send(&c.app, attempt(PASSWORD)).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", r.body);
    // A 1 s wait counted from the end of the second of the last failure: 1 or 2 s from now.
    let error = r.json()["error"].as_str().unwrap().to_string();
    assert!(
        error.contains("wait 1 second") || error.contains("wait 2 seconds"),
        "{error}"
    );
    // Another account is not slowed down by Yan's (the test client has no address).
    log_in(&c.app, "zoe").await;
    // An unknown username gets the same answer as a wrong password.
    let r = send(
        &c.app,
        request(
            &Method::POST,
            "/api/v1/login",
            None,
            Some(r#"{"username":"nobody","password":"whatever it is"}"#),
        ),
    )
    .await;
    assert_eq!(
        (r.status, r.json()["error"].clone()),
        (
            StatusCode::UNAUTHORIZED,
            "wrong username or password".into()
        )
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn log_in_is_throttled_on_sqlite() {
    log_in_is_throttled(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn log_in_is_throttled_on_postgres() {
    log_in_is_throttled(true).await;
}

/// A clinician sets up a blinded trial for a linked participant: the clinician gets a link for
/// the helper, never the sheet; the link is refused to the clinician and the participant,
/// opens for the helper (anyone else), and both the set-up and each opening are in the
/// participant's access log.
async fn a_clinician_sets_up_a_blinded_trial_with_a_helper(postgres: bool) {
    let Some(c) = clinic(postgres, 11).await else {
        return;
    };
    let amy = log_in(&c.app, "amy").await;
    // Zoe has a trial under way: a second one is refused.
    let r = send(
        &c.app,
        request(
            &Method::POST,
            &format!("/clinic/participants/{}/trial", c.zoe.id.number()),
            Some(&amy),
            Some("compare=nothing&cycles=2"),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
    assert!(r.body.contains("trial under way"), "{}", r.body);
    // Yan accepts Amy's invitation; his trial is the one set up here.
    let r = send(
        &c.app,
        request(
            &Method::POST,
            "/clinic/invitations",
            Some(&amy),
            Some("label=Yan"),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let invite = r.body[r.body.find("/invite/").unwrap()..]
        .split('<')
        .next()
        .unwrap()
        .to_string();
    let yan = log_in(&c.app, "yan").await;
    let r = send(
        &c.app,
        request(
            &Method::POST,
            &format!("{invite}/accept"),
            Some(&yan),
            Some(""),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let zoe_n = c.yan.id.number();
    let start = day(1);
    let form = format!("compare=placebo&helper=Sam+the+pharmacist&start={start}&name=mg-2&cycles=2&period_days=14&run_in_days=4");
    // Without a helper a blinded trial is refused, naming the field.
    let r = send(
        &c.app,
        request(
            &Method::POST,
            &format!("/clinic/participants/{zoe_n}/trial"),
            Some(&amy),
            Some("compare=placebo&cycles=2"),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(r.body.contains("name the helper"), "{}", r.body);
    let r = send(
        &c.app,
        request(
            &Method::POST,
            &format!("/clinic/participants/{zoe_n}/trial"),
            Some(&amy),
            Some(&form),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert!(!r.body.contains("Container"), "the clinician saw the sheet");
    // The link is in the page's text box (shown once).
    let link = r.body[r.body.find("/helper/").unwrap()..]
        .split('<')
        .next()
        .unwrap()
        .to_string();
    let path = link.as_str();
    // Refused to the clinician and to the participant (and recorded).
    let r = send(&c.app, request(&Method::GET, path, Some(&amy), None)).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    let r = send(&c.app, request(&Method::POST, path, Some(&yan), Some(""))).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    // The helper (not logged in) sees who the link is for; looking uses nothing.
    let r = send(&c.app, request(&Method::GET, path, None, None)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(
        r.body.contains("Sam the pharmacist") && !r.body.contains("Container"),
        "{}",
        r.body
    );
    // The button downloads the sheet once: 2 arms x 2 cycles = 4 containers.
    let r = send(&c.app, request(&Method::POST, path, None, Some(""))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body.matches("Container").count(), 4, "{}", r.body);
    let r = send(&c.app, request(&Method::POST, path, None, Some(""))).await;
    assert_eq!(
        r.status,
        StatusCode::NOT_FOUND,
        "a second opening: {}",
        r.body
    );
    // Yan's log: the set-up, two refusals and one opening.
    let r = send(
        &c.app,
        request(&Method::GET, "/api/v1/account/audit", Some(&yan), None),
    )
    .await;
    let actions: Vec<String> = r
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap().to_string())
        .collect();
    assert!(
        actions.contains(&"set up a trial".to_string()),
        "{actions:?}"
    );
    assert_eq!(
        actions
            .iter()
            .filter(|a| a.starts_with("opened the helper's sheet"))
            .count(),
        1,
        "{actions:?}"
    );
    assert_eq!(
        actions
            .iter()
            .filter(|a| *a == "was refused the helper's sheet")
            .count(),
        2,
        "{actions:?}"
    );
    // Ben (not linked) cannot set one up.
    let ben = log_in(&c.app, "ben").await;
    let r = send(
        &c.app,
        request(
            &Method::POST,
            &format!("/clinic/participants/{zoe_n}/trial"),
            Some(&ben),
            Some(&form),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clinician_sets_up_a_blinded_trial_with_a_helper_on_sqlite() {
    a_clinician_sets_up_a_blinded_trial_with_a_helper(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clinician_sets_up_a_blinded_trial_with_a_helper_on_postgres() {
    a_clinician_sets_up_a_blinded_trial_with_a_helper(true).await;
}
