//! Log-in: when the person has set a password (`quietlegs serve --set-password`), every page
//! and API call needs a session, and a server listening beyond this machine refuses to start
//! without one. The password is checked by the application layer (argon2id); sessions live in
//! memory (a restart logs everyone out) as the SHA-256 of a random 256-bit token, in an
//! `HttpOnly`, `SameSite=Strict` cookie.
//!
//! Repeated wrong passwords slow further attempts from the same client address down (NIST SP
//! 800-63B-4 §3.2.2 asks for rate limiting): after `FREE_ATTEMPTS` consecutive failures, each
//! attempt must wait twice as long as the one before, up to `MAX_WAIT`. Passwords are checked
//! one at a time (each check hashes with 19 MiB), so a burst of attempts can neither slip past
//! the throttle nor exhaust memory; at most `MAX_WAITING` attempts queue for their turn.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use askama::Template;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, Query, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Form;
use quietlegs_app::clinic::LoginRefusal;
use quietlegs_app::login::{check_password, LoginCheck};
use quietlegs_app::AppError;
use quietlegs_store::clinic::{Account, Role};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use crate::access::{Access, Routes};
use crate::error::ApiError;
use crate::pages::{page, refuse_without_token, Csrf};
use crate::security::new_csrf_token;
use crate::WebState;

/// The cookie holding the session token.
pub const SESSION_COOKIE: &str = "ql_session";
/// How long a session lasts from log-in (a phone at the bedside should not ask every night).
pub const SESSION_LIFETIME: Duration = Duration::from_secs(14 * 24 * 3600);
/// Consecutive wrong passwords allowed before attempts are slowed down.
pub const FREE_ATTEMPTS: u32 = 5;
/// The longest wait between attempts.
pub const MAX_WAIT: Duration = Duration::from_secs(60);
/// The most attempts that may wait for their turn to be checked; more are refused at once.
pub const MAX_WAITING: usize = 16;
/// Client addresses remembered by the throttle before quiet ones are forgotten.
const MAX_REMEMBERED: usize = 10_000;

/// Whether log-in is required, the live sessions and the throttle.
pub(crate) struct Gate {
    required: AtomicBool,
    sessions: Mutex<HashMap<[u8; 32], Instant>>,
    /// Per client address (`None` when the connection's address is unknown, as in tests).
    throttle: Mutex<HashMap<Option<IpAddr>, Throttle>>,
    /// One password check at a time.
    checking: tokio::sync::Semaphore,
    waiting: std::sync::atomic::AtomicUsize,
}

impl Default for Gate {
    fn default() -> Self {
        Self {
            required: AtomicBool::new(false),
            sessions: Mutex::default(),
            throttle: Mutex::default(),
            checking: tokio::sync::Semaphore::new(1),
            waiting: std::sync::atomic::AtomicUsize::new(0),
        }
    }
}

#[derive(Default)]
struct Throttle {
    failures: u32,
    next_allowed: Option<Instant>,
}

fn digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

impl Gate {
    pub(crate) fn require(&self) {
        self.required.store(true, Ordering::SeqCst);
    }

    pub(crate) fn required(&self) -> bool {
        self.required.load(Ordering::SeqCst)
    }

    /// A new session from `now`: its token.
    pub(crate) fn open_session(&self, now: Instant) -> Result<String, ApiError> {
        let token = new_csrf_token();
        let mut sessions = self.sessions.lock().map_err(|_| poisoned())?;
        sessions.retain(|_, expires| *expires > now);
        sessions.insert(digest(&token), now + SESSION_LIFETIME);
        Ok(token)
    }

    /// Whether `token` is a live session at `now`.
    pub(crate) fn is_live(&self, token: &str, now: Instant) -> bool {
        self.sessions
            .lock()
            .is_ok_and(|s| s.get(&digest(token)).is_some_and(|expires| *expires > now))
    }

    pub(crate) fn close_session(&self, token: &str) {
        if let Ok(mut sessions) = self.sessions.lock() {
            sessions.remove(&digest(token));
        }
    }

    /// `Err(wait)` while attempts from `client` are slowed down.
    pub(crate) fn may_attempt(&self, client: Option<IpAddr>, now: Instant) -> Result<(), Duration> {
        let throttle = self.throttle.lock().map_err(|_| MAX_WAIT)?;
        match throttle.get(&client).and_then(|t| t.next_allowed) {
            Some(at) if at > now => Err(at - now),
            _ => Ok(()),
        }
    }

    /// Records an attempt's outcome for `client`: a success clears its count; the n-th
    /// consecutive failure beyond `FREE_ATTEMPTS` makes its next attempt wait
    /// 2^(n - FREE_ATTEMPTS - 1) s, at most `MAX_WAIT`.
    pub(crate) fn record_attempt(&self, client: Option<IpAddr>, accepted: bool, now: Instant) {
        let Ok(mut throttle) = self.throttle.lock() else {
            return;
        };
        if accepted {
            throttle.remove(&client);
            return;
        }
        if throttle.len() >= MAX_REMEMBERED {
            // Forget the addresses that are not being slowed down right now.
            throttle.retain(|_, t| t.next_allowed.is_some_and(|at| at > now));
        }
        let t = throttle.entry(client).or_default();
        t.failures = t.failures.saturating_add(1);
        if t.failures > FREE_ATTEMPTS {
            let doublings = (t.failures - FREE_ATTEMPTS - 1).min(16);
            let wait = Duration::from_secs(1u64 << doublings).min(MAX_WAIT);
            t.next_allowed = Some(now + wait);
        }
    }
}

fn poisoned() -> ApiError {
    ApiError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal error: the session table is unusable; restart quietlegs".into(),
        None,
    )
}

/// The session token of the request's cookie, if any.
pub(crate) fn session_cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == SESSION_COOKIE)
        .map(|(_, v)| v.to_string())
}

fn session_set_cookie(token: &str) -> String {
    format!(
        "{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}",
        SESSION_LIFETIME.as_secs()
    )
}

fn session_clear_cookie() -> String {
    format!("{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0")
}

/// Paths open without a session: the log-in itself, the assets its page needs, and the health
/// check.
fn is_open(path: &str) -> bool {
    matches!(path, "/login" | "/api/v1/login" | "/api/v1/health") || path.starts_with("/assets/")
}

/// A `next` that stays on this server: a path of visible ASCII without backslashes (browsers
/// drop tabs and line breaks and read `\` as `/`, so `/\t/host` would become `//host`), and
/// never `//host`.
fn local_path(next: Option<&str>) -> &str {
    match next {
        Some(p)
            if p.starts_with('/')
                && !p.starts_with("//")
                && p.bytes().all(|b| b.is_ascii_graphic() && b != b'\\') =>
        {
            p
        }
        _ => "/tonight",
    }
}

/// Lets a request through when log-in is not required, the path is open or the session is
/// live; otherwise a page goes to the log-in form and an API call gets 401.
pub(crate) async fn login_guard(
    State(state): State<WebState>,
    req: Request,
    next: Next,
) -> Response {
    let gate = state.gate();
    // A clinic server's routes are guarded by their access (`access.rs`), by database sessions.
    if state.is_clinic() || !gate.required() || is_open(req.uri().path()) {
        return next.run(req).await;
    }
    if session_cookie(req.headers()).is_some_and(|t| gate.is_live(&t, Instant::now())) {
        return next.run(req).await;
    }
    let path = req.uri().path();
    if path.starts_with("/api/") {
        return ApiError::new(
            StatusCode::UNAUTHORIZED,
            "log in first: POST /api/v1/login with the password".into(),
            None,
        )
        .into_response();
    }
    let target = req
        .uri()
        .path_and_query()
        .map_or("/tonight", |p| p.as_str());
    let query = serde_urlencoded_next(target);
    Redirect::to(&format!("/login?next={query}")).into_response()
}

/// `next` as a query value (percent-encoded).
pub(crate) fn query_value(target: &str) -> String {
    serde_urlencoded_next(target)
}

fn serde_urlencoded_next(target: &str) -> String {
    target
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

pub fn routes(state: &WebState) -> Routes {
    Routes::new(state)
        .route(Access::Open, "/login", get(login_page).post(login_submit))
        .route(Access::Open, "/logout", post(logout))
        .route(Access::Open, "/api/v1/login", post(api_login))
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginTemplate {
    nav: &'static str,
    csrf: String,
    next: String,
    error: Option<String>,
    required: bool,
    /// A clinic server: log in with a username.
    clinic: bool,
    username: String,
}

/// The menu above the log-in form: a clinic's visitor is not yet anyone (a clinician or an admin
/// has no diary pages), so only *About*; a personal diary's pages are its owner's.
fn login_nav(state: &WebState) -> &'static str {
    if state.is_clinic() {
        "none"
    } else {
        ""
    }
}

#[derive(Deserialize)]
struct LoginQuery {
    next: Option<String>,
}

async fn login_page(
    State(state): State<WebState>,
    headers: HeaderMap,
    Query(q): Query<LoginQuery>,
) -> Response {
    let csrf = Csrf::of(&headers);
    let t = LoginTemplate {
        nav: login_nav(&state),
        csrf: csrf.token.clone(),
        next: q
            .next
            .as_deref()
            .map(|n| local_path(Some(n)).to_string())
            .unwrap_or_default(),
        error: None,
        required: state.gate().required() || state.is_clinic(),
        clinic: state.is_clinic(),
        username: String::new(),
    };
    page(StatusCode::OK, t.render(), &csrf)
}

#[derive(Deserialize)]
struct LoginForm {
    csrf: Option<String>,
    username: Option<String>,
    password: Option<String>,
    next: Option<String>,
}

fn slowed_down(wait: Duration) -> ApiError {
    ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        match wait.as_secs().max(1) {
            1 => "too many wrong passwords: wait 1 second and try again".to_string(),
            n => format!("too many wrong passwords: wait {n} seconds and try again"),
        },
        Some("password"),
    )
}

/// Counts an attempt waiting for its turn for as long as it lives.
struct Waiting<'a>(&'a std::sync::atomic::AtomicUsize);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// The turn of one password check (argon2 one at a time, with at most `MAX_WAITING` waiting
/// for it): held until dropped. `what` names the work in the refusal ("log-in attempts").
async fn password_turn<'a>(
    gate: &'a Gate,
    what: &str,
) -> Result<tokio::sync::SemaphorePermit<'a>, ApiError> {
    let waiting = Waiting(&gate.waiting);
    if gate.waiting.fetch_add(1, Ordering::SeqCst) >= MAX_WAITING {
        return Err(ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            format!("too many {what} at once: try again in a moment"),
            Some("password"),
        ));
    }
    let turn = gate.checking.acquire().await.map_err(|_| poisoned())?;
    drop(waiting);
    Ok(turn)
}

/// Checks a password from `client` under the throttle, one check at a time (on a blocking
/// thread: argon2 takes tens of milliseconds and 19 MiB); a live session's token when it is
/// right.
async fn attempt(
    state: &WebState,
    client: Option<IpAddr>,
    password: String,
) -> Result<String, ApiError> {
    let gate = state.gate();
    gate.may_attempt(client, Instant::now())
        .map_err(slowed_down)?;
    let _turn = password_turn(gate, "log-in attempts").await?;
    // Earlier attempts from this client may have failed while this one waited.
    gate.may_attempt(client, Instant::now())
        .map_err(slowed_down)?;
    let check = state
        .run(move |store, person, _| check_password(store, person, &password))
        .await?;
    gate.record_attempt(client, check == LoginCheck::Accepted, Instant::now());
    match check {
        LoginCheck::Accepted => gate.open_session(Instant::now()),
        LoginCheck::Refused => Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "wrong password".into(),
            Some("password"),
        )),
        LoginCheck::NoPasswordSet => Err(ApiError::new(
            StatusCode::CONFLICT,
            "no password is set for this diary: set one with `quietlegs serve --set-password`"
                .into(),
            Some("password"),
        )),
    }
}

/// The response with the session cookie of `token` set.
pub(crate) fn with_session_cookie(res: Response, token: &str, state: &WebState) -> Response {
    with_session(res, token, state)
}

/// The response with the session cookie removed.
pub(crate) fn clear_session_cookie(res: &mut Response) {
    if let Ok(v) = HeaderValue::from_str(&session_clear_cookie()) {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
}

fn with_session(mut res: Response, token: &str, state: &WebState) -> Response {
    let cookie = match state.clinic_settings() {
        Some(clinic) => clinic_session_cookie(token, clinic.behind_https),
        None => session_set_cookie(token),
    };
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
    res
}

/// A clinic session's cookie: `HttpOnly`, `SameSite=Strict`, for the session's absolute
/// lifetime, and `Secure` when the server is reached over HTTPS.
fn clinic_session_cookie(token: &str, secure: bool) -> String {
    format!(
        "{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{}",
        quietlegs_app::clinic::SESSION_MAX_SECONDS,
        if secure { "; Secure" } else { "" }
    )
}

/// Where an account goes after logging in.
pub(crate) fn home_of(role: Role) -> &'static str {
    match role {
        Role::Participant => "/tonight",
        Role::Clinician => "/clinic",
        Role::Admin => "/admin",
    }
}

fn refusal(r: LoginRefusal) -> ApiError {
    match r {
        LoginRefusal::Wrong => ApiError::new(
            StatusCode::UNAUTHORIZED,
            "wrong username or password".into(),
            Some("password"),
        ),
        LoginRefusal::SlowedDown(wait) => slowed_down(Duration::from_secs(wait.max(1) as u64)),
        LoginRefusal::Locked => ApiError::new(
            StatusCode::FORBIDDEN,
            "this account is locked after too many wrong passwords: ask the clinic's admin for a \
             password reset link"
                .into(),
            Some("password"),
        ),
    }
}

/// A clinic log-in: one password check at a time (as on a personal server), under the
/// throttle kept in the database; on success a new session replaces the browser's old one (no
/// fixation). Returns the new session's token and the account.
async fn clinic_attempt(
    state: &WebState,
    client: Option<IpAddr>,
    username: String,
    password: String,
    replacing: Option<String>,
) -> Result<(String, Account), ApiError> {
    let gate = state.gate();
    let _turn = password_turn(gate, "log-in attempts").await?;
    let token = new_csrf_token();
    let outcome = state
        .run_clinic(move |store, ctx| {
            let now = ctx.now.unix_seconds()?;
            Ok(
                match quietlegs_app::clinic::log_in(store, now, &username, &password, client)? {
                    Ok(account) => {
                        quietlegs_app::clinic::open_session(
                            store,
                            now,
                            &account,
                            &token,
                            replacing.as_deref(),
                        )?;
                        Ok((token, account))
                    }
                    Err(r) => Err(r),
                },
            )
        })
        .await?;
    outcome.map_err(refusal)
}

/// The client's address, when the server knows it (not in in-process tests). Behind the HTTPS
/// proxy a clinic requires (`--behind-https`), every connection comes from the proxy: the
/// client is the last address the proxy appended to `X-Forwarded-For`, and without that header
/// the address is unknown (only the per-account throttle applies), so that one client cannot
/// slow every log-in down by failing under the proxy's address.
fn client_of(
    state: &WebState,
    headers: &HeaderMap,
    connected: Option<&ConnectInfo<SocketAddr>>,
) -> Option<IpAddr> {
    if state.clinic_settings().is_some_and(|c| c.behind_https) {
        return headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .next_back()
            .and_then(|last| last.parse().ok());
    }
    connected.map(|c| c.0.ip())
}

/// Runs work that hashes or checks a password (argon2id: 19 MiB and tens of milliseconds) one
/// at a time, with at most `MAX_WAITING` waiting, like the log-in: a burst of such requests can
/// neither exhaust memory nor the blocking threads.
pub(crate) async fn run_password_work<T, F>(state: &WebState, work: F) -> Result<T, ApiError>
where
    T: Send + 'static,
    F: FnOnce(&quietlegs_store::AnyStore, &quietlegs_app::Context<'_>) -> Result<T, AppError>
        + Send
        + 'static,
{
    let gate = state.gate();
    let _turn = password_turn(gate, "password checks").await?;
    state.run_clinic(work).await
}

async fn login_submit(
    State(state): State<WebState>,
    connected: Option<axum::Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Response {
    let client = client_of(&state, &headers, connected.as_ref().map(|c| &c.0));
    if let Some(refused) = refuse_without_token(&headers, form.csrf.as_deref()) {
        return refused;
    }
    let csrf = Csrf::of(&headers);
    let asked_next = form.next.as_deref().filter(|n| !n.is_empty());
    let username = form.username.clone().unwrap_or_default();
    let outcome = if state.is_clinic() {
        clinic_attempt(
            &state,
            client,
            username.clone(),
            form.password.unwrap_or_default(),
            session_cookie(&headers),
        )
        .await
        .map(|(token, account)| (token, Some(account)))
    } else {
        attempt(&state, client, form.password.unwrap_or_default())
            .await
            .map(|token| (token, None))
    };
    match outcome {
        Ok((token, account)) => {
            let next = match (asked_next, account) {
                (Some(n), _) => local_path(Some(n)).to_string(),
                (None, Some(a)) => home_of(a.role).to_string(),
                (None, None) => local_path(None).to_string(),
            };
            with_session(Redirect::to(&next).into_response(), &token, &state)
        }
        Err(e) => {
            let t = LoginTemplate {
                nav: login_nav(&state),
                csrf: csrf.token.clone(),
                next: asked_next
                    .map(|n| local_path(Some(n)).to_string())
                    .unwrap_or_default(),
                error: Some(e.body.error),
                required: state.gate().required() || state.is_clinic(),
                clinic: state.is_clinic(),
                username,
            };
            page(e.status, t.render(), &csrf)
        }
    }
}

#[derive(Deserialize)]
struct LogoutForm {
    csrf: Option<String>,
}

async fn logout(
    State(state): State<WebState>,
    headers: HeaderMap,
    Form(form): Form<LogoutForm>,
) -> Response {
    if let Some(refused) = refuse_without_token(&headers, form.csrf.as_deref()) {
        return refused;
    }
    if let Some(token) = session_cookie(&headers) {
        if state.is_clinic() {
            if let Err(e) = state
                .run_clinic(move |store, _| quietlegs_app::clinic::close_session(store, &token))
                .await
            {
                return e.into_response();
            }
        } else {
            state.gate().close_session(&token);
        }
    }
    let mut res = Redirect::to("/login").into_response();
    if let Ok(v) = HeaderValue::from_str(&session_clear_cookie()) {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
    res
}

/// The body of `POST /api/v1/login`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginInput {
    /// The account's username (a clinic server; a personal server has no usernames).
    #[serde(default)]
    pub username: Option<String>,
    pub password: String,
}

/// Logs in: 204 with the session cookie; 401 for a wrong password; 429 while attempts are
/// slowed down after repeated wrong passwords.
#[utoipa::path(
    post,
    path = "/api/v1/login",
    request_body = LoginInput,
    responses(
        (status = 204, description = "Logged in: the session cookie is set"),
        (status = 401, description = "Wrong password", body = crate::ErrorBody),
        (status = 409, description = "No password is set", body = crate::ErrorBody),
        (status = 429, description = "Too many wrong passwords: wait", body = crate::ErrorBody),
    )
)]
pub(crate) async fn api_login(
    State(state): State<WebState>,
    connected: Option<axum::Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    crate::api::require_json(&headers)?;
    let input: LoginInput = crate::api::parse_json(&body)?;
    let client = client_of(&state, &headers, connected.as_ref().map(|c| &c.0));
    let token = if state.is_clinic() {
        let username = input
            .username
            .ok_or_else(|| ApiError::field("username", "your username is required"))?;
        clinic_attempt(
            &state,
            client,
            username,
            input.password,
            session_cookie(&headers),
        )
        .await?
        .0
    } else {
        attempt(&state, client, input.password).await?
    };
    Ok(with_session(
        StatusCode::NO_CONTENT.into_response(),
        &token,
        &state,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_live_until_they_expire_or_close() {
        let gate = Gate::default();
        let t0 = Instant::now();
        let token = gate.open_session(t0).unwrap();
        assert!(gate.is_live(&token, t0 + Duration::from_secs(3600)));
        assert!(!gate.is_live(&token, t0 + SESSION_LIFETIME));
        assert!(!gate.is_live("not a token", t0));
        gate.close_session(&token);
        assert!(!gate.is_live(&token, t0));
    }

    #[test]
    fn wrong_passwords_slow_down_after_five_per_client() {
        let gate = Gate::default();
        let t0 = Instant::now();
        let me: Option<IpAddr> = Some([192, 168, 1, 20].into());
        let other: Option<IpAddr> = Some([192, 168, 1, 66].into());
        // Failures 1-5 are free.
        for _ in 0..FREE_ATTEMPTS {
            gate.record_attempt(other, false, t0);
            assert!(gate.may_attempt(other, t0).is_ok());
        }
        // Failure 6 -> wait 2^0 = 1 s; failure 7 -> 2 s; failure 8 -> 4 s.
        gate.record_attempt(other, false, t0);
        assert_eq!(gate.may_attempt(other, t0), Err(Duration::from_secs(1)));
        assert!(gate.may_attempt(other, t0 + Duration::from_secs(1)).is_ok());
        gate.record_attempt(other, false, t0);
        assert_eq!(gate.may_attempt(other, t0), Err(Duration::from_secs(2)));
        gate.record_attempt(other, false, t0);
        assert_eq!(gate.may_attempt(other, t0), Err(Duration::from_secs(4)));
        // Another address is not slowed down by them.
        assert!(gate.may_attempt(me, t0).is_ok());
        // Failure 13 would be 2^7 = 128 s: capped at 60.
        for _ in 0..5 {
            gate.record_attempt(other, false, t0);
        }
        assert_eq!(gate.may_attempt(other, t0), Err(MAX_WAIT));
        // A success clears it.
        gate.record_attempt(other, true, t0);
        assert!(gate.may_attempt(other, t0).is_ok());
    }

    /// Behind the HTTPS proxy a clinic requires, the client is the address the proxy appended
    /// last (earlier entries are the client's own claims); without the header, unknown (the
    /// per-account throttle still applies). Directly connected, the connection's address.
    #[test]
    fn the_client_address_behind_a_proxy_is_the_one_it_appended() {
        let state = |behind_https| {
            WebState::clinic(
                quietlegs_store::SqliteStore::in_memory().unwrap(),
                quietlegs_core::ReferenceData::shipped().unwrap(),
                &[],
                crate::ClinicSettings { behind_https },
            )
        };
        let proxy = ConnectInfo(SocketAddr::from(([127, 0, 0, 1], 4000)));
        let mut headers = HeaderMap::new();
        headers.insert(
            "x-forwarded-for",
            HeaderValue::from_static("6.6.6.6, 203.0.113.9"),
        );
        assert_eq!(
            client_of(&state(true), &headers, Some(&proxy)),
            Some([203, 0, 113, 9].into())
        );
        assert_eq!(
            client_of(&state(true), &HeaderMap::new(), Some(&proxy)),
            None
        );
        // Not behind a proxy, the header is anybody's claim and is ignored.
        assert_eq!(
            client_of(&state(false), &headers, Some(&proxy)),
            Some([127, 0, 0, 1].into())
        );
    }

    #[test]
    fn next_stays_on_this_server() {
        assert_eq!(local_path(Some("/history?x=1")), "/history?x=1");
        assert_eq!(local_path(Some("//evil.example/")), "/tonight");
        assert_eq!(local_path(Some("/\\evil.example")), "/tonight");
        assert_eq!(local_path(Some("https://evil.example")), "/tonight");
        assert_eq!(local_path(None), "/tonight");
        // Browsers drop the tab and read the backslash as a slash: both would leave the server.
        assert_eq!(local_path(Some("/\t/evil.example/x")), "/tonight");
        assert_eq!(local_path(Some("/\\/evil.example/x")), "/tonight");
        assert_eq!(local_path(Some("/ /evil.example")), "/tonight");
        assert_eq!(
            serde_urlencoded_next("/history?from=2026-01-01&x=a b"),
            "/history%3Ffrom%3D2026-01-01%26x%3Da%20b"
        );
    }
}
