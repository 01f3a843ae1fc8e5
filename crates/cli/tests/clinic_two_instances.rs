//! Two clinic servers (`serve --clinic`, the built binary) on one PostgreSQL database behave as
//! one: a session opened on one instance works on the other and ends on both when it is closed
//! on either; wrong passwords sent to one instance count towards the throttle the other
//! applies; a night, an invitation and its care link written through one are read through the
//! other. This is the test behind ARCHITECTURE.md's "no state in the server process".
//!
//! Each test in a fresh schema of the database `QUIETLEGS_TEST_PG_URL` names; skipped with a
//! notice without it, failed under `CI=true` (as the other PostgreSQL tests).

// Integration tests: a panic is a failed test (clippy.toml allows unwrap only inside #[test]).
#![allow(clippy::expect_used, clippy::unwrap_used)]

use quietlegs_store::conformance::postgres_fixture::FreshSchema;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const PASSWORD: &str = "a long enough passphrase";

/// One `serve --clinic` process on a free loopback port, its standard error in a file (the
/// request log goes there, so nothing can fill a pipe and stall it); killed when dropped.
struct Instance {
    child: Child,
    addr: SocketAddr,
    log: PathBuf,
}

impl Instance {
    /// Starts the server; call [`Instance::ready`] for its address.
    fn spawn(url: &str, dir: &std::path::Path, name: &str) -> (Child, PathBuf) {
        let log = dir.join(format!("{name}.log"));
        let child = Command::new(env!("CARGO_BIN_EXE_quietlegs"))
            .args(["--database-url", url, "serve", "--clinic"])
            .args(["--addr", "127.0.0.1:0"])
            .env_remove("QUIETLEGS_DB")
            .env_remove("QUIETLEGS_DATABASE_URL")
            .env_remove("QUIETLEGS_TODAY")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        (child, log)
    }

    /// Waits for the line that names the bound address ("… at http://127.0.0.1:PORT/ …").
    fn ready((mut child, log): (Child, PathBuf)) -> Self {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            if let Some(rest) = text.split("at http://").nth(1) {
                let addr = rest.split('/').next().unwrap().parse().unwrap();
                return Self { child, addr, log };
            }
            if let Some(status) = child.try_wait().unwrap() {
                panic!("the server stopped ({status}) before it listened:\n{text}");
            }
            assert!(Instant::now() < deadline, "no address within 60 s:\n{text}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Two instances started at once on the same (fresh, unmigrated) schema: they migrate it side
/// by side (the migration takes an advisory lock).
fn two_instances(url: &str, dir: &std::path::Path) -> (Instance, Instance) {
    let a = Instance::spawn(url, dir, "a");
    let b = Instance::spawn(url, dir, "b");
    let (a, b) = (Instance::ready(a), Instance::ready(b));
    assert_ne!(a.addr, b.addr);
    (a, b)
}

/// `admin create-user` through the CLI, a third process, while the servers run.
fn create_user(url: &str, username: &str, role: &str) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_quietlegs"))
        .args(["--database-url", url, "admin", "create-user"])
        .args(["--username", username, "--role", role])
        .env_remove("QUIETLEGS_DATABASE_URL")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("{PASSWORD}\n").as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// An HTTP response, read whole (the request says `Connection: close`).
#[derive(Debug)]
struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The value of cookie `name` in the response's `Set-Cookie` headers.
    fn cookie(&self, name: &str) -> Option<String> {
        self.headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case("set-cookie"))
            .filter_map(|(_, v)| v.split(';').next()?.trim().split_once('='))
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.to_string())
    }

    fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }
}

/// One HTTP/1.1 request, as a script (not a browser) sends it: no `Origin` header.
fn http(at: &Instance, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> Reply {
    let mut stream = TcpStream::connect(at.addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nContent-Length: {}\r\n",
        at.addr,
        body.len()
    );
    for (k, v) in headers {
        request.push_str(&format!("{k}: {v}\r\n"));
    }
    request.push_str("\r\n");
    request.push_str(body);
    stream.write_all(request.as_bytes()).unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).unwrap();
    let raw = String::from_utf8(raw).unwrap();
    let (head, rest) = raw
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("no end of headers in {raw:?}"));
    let mut lines = head.split("\r\n");
    let status = lines.next().unwrap().split(' ').nth(1).unwrap();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    let chunked = headers.iter().any(|(k, v)| {
        k.eq_ignore_ascii_case("transfer-encoding") && v.eq_ignore_ascii_case("chunked")
    });
    Reply {
        status: status.parse().unwrap(),
        headers,
        body: if chunked {
            dechunk(rest)
        } else {
            rest.to_string()
        },
    }
}

/// The body of a chunked response.
fn dechunk(mut rest: &str) -> String {
    let mut body = String::new();
    loop {
        let (size, after) = rest.split_once("\r\n").unwrap();
        let size = usize::from_str_radix(size.split(';').next().unwrap().trim(), 16).unwrap();
        if size == 0 {
            return body;
        }
        body.push_str(&after[..size]);
        rest = &after[size + 2..];
    }
}

fn json_post(at: &Instance, path: &str, cookie: Option<&str>, body: &str) -> Reply {
    let mut headers = vec![("Content-Type", "application/json")];
    if let Some(c) = cookie {
        headers.push(("Cookie", c));
    }
    http(at, "POST", path, &headers, body)
}

fn get(at: &Instance, path: &str, cookie: &str) -> Reply {
    http(at, "GET", path, &[("Cookie", cookie)], "")
}

/// A form post with the CSRF token in the cookie and in the field (double submit).
fn form_post(at: &Instance, path: &str, cookie: &str, csrf: &str, fields: &str) -> Reply {
    let cookie = format!("{cookie}; ql_csrf={csrf}");
    let body = if fields.is_empty() {
        format!("csrf={csrf}")
    } else {
        format!("csrf={csrf}&{fields}")
    };
    http(
        at,
        "POST",
        path,
        &[
            ("Cookie", &cookie),
            ("Content-Type", "application/x-www-form-urlencoded"),
        ],
        &body,
    )
}

fn login(at: &Instance, username: &str, password: &str) -> Reply {
    json_post(
        at,
        "/api/v1/login",
        None,
        &serde_json::json!({"username": username, "password": password}).to_string(),
    )
}

/// Logs in and returns the `Cookie` header value of the new session.
fn session(at: &Instance, username: &str) -> String {
    let reply = login(at, username, PASSWORD);
    assert_eq!(reply.status, 204, "{reply:?}\n{}", at.log());
    format!("ql_session={}", reply.cookie("ql_session").unwrap())
}

#[test]
fn a_session_night_and_invitation_made_on_one_instance_are_seen_on_the_other() {
    let Some(schema) = FreshSchema::new() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = two_instances(&schema.url, dir.path());
    // The accounts are made by another process after both servers started: neither caches
    // the accounts.
    create_user(&schema.url, "ann", "participant");
    create_user(&schema.url, "doc", "clinician");

    // Logged in on A, the session works on B.
    let ann = session(&a, "ann");
    let none = get(&b, "/api/v1/nights", &ann);
    assert_eq!(none.status, 200, "{none:?}");
    assert_eq!(none.json(), serde_json::json!([]));

    // A night logged through A is read through B, field for field.
    let night = serde_json::json!({"date": "2025-03-14", "severity": 6, "sleep_quality": 4,
                                   "hours_slept": 5.5, "note": "logged on A"});
    let stored = json_post(&a, "/api/v1/nights", Some(&ann), &night.to_string());
    assert_eq!(stored.status, 201, "{stored:?}");
    let id = stored.json()["id"].clone();
    let mut expected = night.clone();
    expected["id"] = id;
    assert_eq!(
        get(&b, "/api/v1/nights", &ann).json(),
        serde_json::json!([expected])
    );
    // One night per date and person holds across instances: the database refuses the second.
    let again = json_post(&b, "/api/v1/nights", Some(&ann), &night.to_string());
    assert_eq!(again.status, 409, "{again:?}");

    // The CSRF token handed out by one instance is good on the other (it is the browser's, not
    // the server's): a clinician invites on B, the participant accepts on A.
    let csrf = http(&a, "GET", "/login", &[], "")
        .cookie("ql_csrf")
        .unwrap();
    let doc = session(&b, "doc");
    let invited = form_post(&b, "/clinic/invitations", &doc, &csrf, "label=ann");
    assert_eq!(invited.status, 201, "{}", invited.body);
    let token: String = invited
        .body
        .split("/invite/")
        .nth(1)
        .unwrap()
        .chars()
        .take_while(char::is_ascii_hexdigit)
        .collect();
    assert_eq!(token.len(), 64, "{}", invited.body);
    let accepted = form_post(&a, &format!("/invite/{token}/accept"), &ann, &csrf, "");
    assert_eq!(accepted.status, 303, "{}", accepted.body);
    assert_eq!(accepted.header("location"), Some("/account"));
    // The dashboard on A (where the clinician never logged in) lists ann with her night.
    let dashboard = get(&a, "/api/v1/clinic/dashboard", &doc);
    assert_eq!(dashboard.status, 200, "{dashboard:?}");
    let rows = dashboard.json();
    assert_eq!(rows.as_array().unwrap().len(), 1, "{rows}");
    assert_eq!(rows[0]["username"], "ann");
    assert_eq!(rows[0]["last_entry"], "2025-03-14");

    // Logged out on B, the session is refused on A too (and on B): her page sends her to the
    // log-in, and the API gives no diary.
    assert_eq!(get(&a, "/tonight", &ann).status, 200);
    let out = form_post(&b, "/logout", &ann, &csrf, "");
    assert_eq!(out.status, 303, "{}", out.body);
    assert_eq!(out.header("location"), Some("/login"));
    for instance in [&a, &b] {
        let page = get(instance, "/tonight", &ann);
        assert_eq!(page.status, 303, "{page:?}");
        assert_eq!(page.header("location"), Some("/login?next=/tonight"));
        let api = get(instance, "/api/v1/nights", &ann);
        assert!(matches!(api.status, 303 | 401), "{api:?}");
        assert!(!api.body.contains("logged on A"), "{api:?}");
    }
    // The clinician's session, opened on B, is untouched by ann's log-out.
    assert_eq!(get(&a, "/api/v1/clinic/dashboard", &doc).status, 200);
}

/// The wait a 429 names ("… wait N seconds …").
fn wait_of(reply: &Reply) -> Duration {
    let n: String = reply
        .body
        .split("wait ")
        .nth(1)
        .unwrap_or_else(|| panic!("no wait in {reply:?}"))
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    Duration::from_secs(n.parse().unwrap())
}

/// A wrong password sent until it is checked (401), sleeping through any 429's wait.
fn fail_once(at: &Instance, username: &str) {
    for _ in 0..10 {
        let reply = login(at, username, "not the password at all");
        match reply.status {
            401 => return,
            429 => std::thread::sleep(wait_of(&reply)),
            other => panic!("{other}: {reply:?}"),
        }
    }
    panic!("no wrong password was checked in 10 tries");
}

#[test]
fn wrong_passwords_on_one_instance_slow_log_ins_down_on_the_other() {
    let Some(schema) = FreshSchema::new() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = two_instances(&schema.url, dir.path());
    create_user(&schema.url, "ann", "participant");
    // quietlegs_app::clinic::ACCOUNT_FREE_ATTEMPTS = 5 free failures, then each next attempt
    // waits 2^(count - 5 - 1) s after the latest failure: 1 s after the 6th, 2 s after the 7th.
    for n in 1..=5 {
        let reply = login(&a, "ann", "not the password at all");
        assert_eq!(reply.status, 401, "failure {n} on A: {reply:?}");
    }
    // B has seen no failure itself, yet the 6th is its first and the throttle it applies is
    // the shared count's. The 7th failure (on A, after the 1 s wait if it is still running)
    // makes the next attempt wait 2 s, so one sent at once is refused whatever the clock.
    fail_once(&b, "ann");
    fail_once(&a, "ann");
    let refused = login(&b, "ann", PASSWORD);
    assert_eq!(refused.status, 429, "{refused:?}\n{}", b.log());
    assert!(
        refused.body.contains("too many wrong passwords"),
        "{refused:?}"
    );
    assert!(refused.cookie("ql_session").is_none());
    // A refuses as well, for the same count.
    let refused_on_a = login(&a, "ann", PASSWORD);
    assert_eq!(refused_on_a.status, 429, "{refused_on_a:?}");

    // After the wait the right password is accepted on B, which clears the count for A: a
    // wrong password there is checked (401), not slowed down, and counts from 1 again.
    std::thread::sleep(wait_of(&refused_on_a) + Duration::from_secs(1));
    let ann = session(&b, "ann");
    assert_eq!(get(&a, "/api/v1/nights", &ann).status, 200);
    for n in 1..=5 {
        let reply = login(&a, "ann", "not the password at all");
        assert_eq!(reply.status, 401, "failure {n} after the reset: {reply:?}");
    }
}

/// A session ended on one instance is refused by both, with the API's answer (401, not a
/// redirect to the log-in page: the guard reads the original path under `/api/v1`).
#[test]
fn an_api_call_with_a_closed_session_is_401_on_every_instance() {
    let Some(schema) = FreshSchema::new() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = two_instances(&schema.url, dir.path());
    create_user(&schema.url, "ann", "participant");
    let ann = session(&a, "ann");
    let csrf = http(&a, "GET", "/login", &[], "")
        .cookie("ql_csrf")
        .unwrap();
    assert_eq!(form_post(&b, "/logout", &ann, &csrf, "").status, 303);
    for instance in [&a, &b] {
        let refused = get(instance, "/api/v1/nights", &ann);
        assert_eq!(refused.status, 401, "{refused:?}");
        assert!(refused.body.contains("log in first"), "{refused:?}");
    }
}
