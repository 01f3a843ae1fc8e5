//! A clinic server's output holds no secret and no health data: the real binary serves a clinic
//! (`serve --clinic`) with its standard output and error captured, a whole walkthrough is done
//! over HTTP (log-ins right and wrong, an invitation made and used to sign up, a night logged on
//! the page and through the API, the dashboard, the report and its PDF, the access log, an
//! account and a reset link made by the admin and used, a password change, a log-out, the
//! account deleted), each with distinctive values; then none of those values may appear in what
//! the server printed, every line it printed after its start-up line must be a request line
//! (method, route template, status, milliseconds), and the expected request lines must be there.
//!
//! The participant's username is treated as personal data and must not appear either: on a
//! clinic for restless legs, a username names a patient, and the request log is for running the
//! server (it needs the route and the status, never who). `admin create-user` echoes the username
//! it was given to the person who typed it, which is not a log; its output must not hold the
//! password.
//!
//! On SQLite, and on PostgreSQL in a fresh schema of `QUIETLEGS_TEST_PG_URL` (skipped with a
//! notice without it, failed under `CI=true`).

// Integration tests: a panic is a failed test (clippy.toml allows unwrap only inside #[test]).
#![allow(clippy::expect_used, clippy::unwrap_used)]

use quietlegs_store::conformance::postgres_fixture::FreshSchema;
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

/// The binary on a database (`--db FILE` or `--database-url URL`), with quietlegs' variables
/// cleared.
fn quietlegs(database: &[String]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_quietlegs"));
    c.args(database)
        .env_remove("QUIETLEGS_DB")
        .env_remove("QUIETLEGS_DATABASE_URL")
        .env_remove("QUIETLEGS_TODAY");
    c
}

/// `admin create-user` with the password on standard input; its standard output and error.
fn create_user(database: &[String], username: &str, role: &str, password: &str) -> String {
    let mut child = quietlegs(database)
        .args([
            "admin",
            "create-user",
            "--username",
            username,
            "--role",
            role,
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("{password}\n").as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{said}");
    said
}

/// A clinic server with everything it prints collected.
struct Server {
    child: Child,
    port: u16,
    stderr: Arc<Mutex<String>>,
    stdout: Arc<Mutex<String>>,
}

impl Server {
    fn start(database: &[String]) -> Self {
        let mut child = quietlegs(database)
            .args(["serve", "--clinic", "--addr", "127.0.0.1:0"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr: Arc<Mutex<String>> = Arc::default();
        let stdout: Arc<Mutex<String>> = Arc::default();
        let (ready, address) = mpsc::channel();
        let (err_pipe, err_text) = (child.stderr.take().unwrap(), Arc::clone(&stderr));
        std::thread::spawn(move || {
            for line in BufReader::new(err_pipe).lines() {
                let line = line.unwrap();
                if let Some(rest) = line.split(" at http://127.0.0.1:").nth(1) {
                    let _ = ready.send(
                        rest.trim_end_matches(|c: char| !c.is_ascii_digit())
                            .to_string(),
                    );
                }
                let mut all = err_text.lock().unwrap();
                all.push_str(&line);
                all.push('\n');
            }
        });
        let (out_pipe, out_text) = (child.stdout.take().unwrap(), Arc::clone(&stdout));
        std::thread::spawn(move || {
            let mut text = String::new();
            let _ = BufReader::new(out_pipe).read_to_string(&mut text);
            out_text.lock().unwrap().push_str(&text);
        });
        let port = address
            .recv_timeout(Duration::from_secs(30))
            .unwrap_or_else(|_| panic!("the server did not start: {}", stderr.lock().unwrap()));
        Server {
            child,
            port: port.parse().unwrap(),
            stderr,
            stdout,
        }
    }

    /// Stops the server and returns what it printed on standard error and standard output.
    fn stop(mut self) -> (String, String) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
        // The reader threads finish once the pipes close; give them a moment.
        std::thread::sleep(Duration::from_millis(200));
        let err = self.stderr.lock().unwrap().clone();
        let out = self.stdout.lock().unwrap().clone();
        (err, out)
    }
}

/// An answer: status, headers (names in lower case) and body.
struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The page's CSRF token (the value of its hidden `csrf` field).
    fn csrf(&self) -> String {
        between(&self.text(), "name=\"csrf\" value=\"", "\"")
    }
}

/// The text between the first `start` and the next `end`.
fn between(text: &str, start: &str, end: &str) -> String {
    let from = text
        .find(start)
        .unwrap_or_else(|| panic!("{start:?} not in {text}"))
        + start.len();
    let len = text[from..].find(end).unwrap();
    text[from..from + len].to_string()
}

/// The run of hexadecimal digits after the first `prefix` (a one-time link's token).
fn token_after(text: &str, prefix: &str) -> String {
    let from = text
        .find(prefix)
        .unwrap_or_else(|| panic!("{prefix:?} not in {text}"))
        + prefix.len();
    text[from..]
        .chars()
        .take_while(char::is_ascii_hexdigit)
        .collect()
}

/// One browser: its cookies, and every cookie value it was ever given (secrets to look for).
struct Browser {
    port: u16,
    cookies: BTreeMap<String, String>,
    seen: Vec<String>,
}

fn form_encode(fields: &[(&str, &str)]) -> String {
    let enc = |s: &str| {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                    (b as char).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect::<String>()
    };
    fields
        .iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// A chunked body's content.
fn dechunk(mut raw: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    loop {
        let line_end = raw.windows(2).position(|w| w == b"\r\n").unwrap();
        let size_text = std::str::from_utf8(&raw[..line_end]).unwrap();
        let size = usize::from_str_radix(size_text.split(';').next().unwrap().trim(), 16).unwrap();
        raw = &raw[line_end + 2..];
        if size == 0 {
            return body;
        }
        body.extend_from_slice(&raw[..size]);
        raw = &raw[size + 2..];
    }
}

impl Browser {
    fn new(server: &Server) -> Self {
        Browser {
            port: server.port,
            cookies: BTreeMap::new(),
            seen: Vec::new(),
        }
    }

    fn get(&mut self, path: &str) -> Reply {
        self.send("GET", path, None, b"")
    }

    fn post_form(&mut self, path: &str, fields: &[(&str, &str)]) -> Reply {
        let body = form_encode(fields);
        self.send(
            "POST",
            path,
            Some("application/x-www-form-urlencoded"),
            body.as_bytes(),
        )
    }

    fn post_json(&mut self, path: &str, json: &serde_json::Value) -> Reply {
        let body = json.to_string();
        self.send("POST", path, Some("application/json"), body.as_bytes())
    }

    /// One HTTP/1.1 request on its own connection, as a browser of this server's page sends it
    /// (same Origin); the cookies it sets are kept.
    fn send(&mut self, method: &str, path: &str, content_type: Option<&str>, body: &[u8]) -> Reply {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(60)))
            .unwrap();
        let host = format!("127.0.0.1:{}", self.port);
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nContent-Length: {}\r\n",
            body.len()
        );
        if method == "POST" {
            head.push_str(&format!("Origin: http://{host}\r\n"));
        }
        if let Some(t) = content_type {
            head.push_str(&format!("Content-Type: {t}\r\n"));
        }
        if !self.cookies.is_empty() {
            let jar: Vec<String> = self
                .cookies
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            head.push_str(&format!("Cookie: {}\r\n", jar.join("; ")));
        }
        head.push_str("\r\n");
        stream.write_all(head.as_bytes()).unwrap();
        stream.write_all(body).unwrap();
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).unwrap();
        let split = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
        let head = String::from_utf8_lossy(&raw[..split]).into_owned();
        let mut lines = head.split("\r\n");
        let status: u16 = lines
            .next()
            .unwrap()
            .split(' ')
            .nth(1)
            .unwrap()
            .parse()
            .unwrap();
        let headers: Vec<(String, String)> = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
            .collect();
        let rest = &raw[split + 4..];
        let chunked = headers
            .iter()
            .any(|(k, v)| k == "transfer-encoding" && v.contains("chunked"));
        let body = if chunked {
            dechunk(rest)
        } else {
            rest.to_vec()
        };
        for (_, cookie) in headers.iter().filter(|(k, _)| k == "set-cookie") {
            let (name, value) = cookie.split(';').next().unwrap().split_once('=').unwrap();
            if value.is_empty() {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_string(), value.to_string());
                self.seen.push(value.to_string());
            }
        }
        Reply {
            status,
            headers,
            body,
        }
    }

    /// Logs in through the form; the page it is sent to.
    fn log_in(&mut self, username: &str, password: &str) -> Reply {
        let csrf = self.get("/login").csrf();
        self.post_form(
            "/login",
            &[
                ("csrf", &csrf),
                ("next", ""),
                ("username", username),
                ("password", password),
            ],
        )
    }
}

/// The distinctive values of the walkthrough.
const ADMIN_PASSWORD: &str = "ADMIN-passphrase-Quokka-4417";
const CLINICIAN_PASSWORD: &str = "CLIN-passphrase-Narwhal-9021";
const PARTICIPANT: &str = "pat-tapir-6620";
const PARTICIPANT_PASSWORD: &str = "PART-passphrase-Wombat-5530";
const PARTICIPANT_NEW_PASSWORD: &str = "PART-new-passphrase-Lemur-2288";
const WRONG_PASSWORD: &str = "WRONG-passphrase-Gecko-0001";
const NURSE: &str = "nurse-ibis";
const NURSE_FIRST_PASSWORD: &str = "NURSE-first-passphrase-Ibis-7761";
const NURSE_RESET_PASSWORD: &str = "NURSE-reset-passphrase-Heron-3390";
const NIGHT_NOTE: &str = "ZEBRA-NOTE-8713";
const API_NOTE: &str = "ZEBRA-API-NOTE-5521";
const INVITATION_NOTE: &str = "LABEL-Okapi-4040";

/// The walkthrough on `database`, then the checks on what the server printed.
fn walkthrough(database: &[String]) {
    let mut secrets: Vec<(String, String)> = [
        ("the admin's password", ADMIN_PASSWORD),
        ("the clinician's password", CLINICIAN_PASSWORD),
        ("the participant's username", PARTICIPANT),
        ("the participant's password", PARTICIPANT_PASSWORD),
        ("the participant's new password", PARTICIPANT_NEW_PASSWORD),
        ("a wrong password", WRONG_PASSWORD),
        ("the nurse's first password", NURSE_FIRST_PASSWORD),
        ("the nurse's reset password", NURSE_RESET_PASSWORD),
        ("the night's note", NIGHT_NOTE),
        ("the API night's note", API_NOTE),
        ("the invitation's note", INVITATION_NOTE),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();

    let mut cli_said = create_user(database, "boss", "admin", ADMIN_PASSWORD);
    cli_said += &create_user(database, "dr-okapi", "clinician", CLINICIAN_PASSWORD);
    let server = Server::start(database);

    // The clinician: a wrong password, then the right one; an invitation.
    let mut clinician = Browser::new(&server);
    assert_eq!(clinician.log_in("dr-okapi", WRONG_PASSWORD).status, 401);
    let r = clinician.log_in("dr-okapi", CLINICIAN_PASSWORD);
    assert_eq!((r.status, r.header("location")), (303, Some("/clinic")));
    let csrf = clinician.get("/clinic").csrf();
    let r = clinician.post_form(
        "/clinic/invitations",
        &[("csrf", &csrf), ("label", INVITATION_NOTE)],
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let invitation = token_after(&r.text(), "/invite/");
    assert_eq!(invitation.len(), 64, "{invitation}");
    secrets.push(("the invitation token".into(), invitation.clone()));

    // The participant: the invitation, a new account, a night on the page and one by the API.
    let mut participant = Browser::new(&server);
    let page = participant.get(&format!("/invite/{invitation}"));
    assert_eq!(page.status, 200, "{}", page.text());
    let r = participant.post_form(
        &format!("/invite/{invitation}/join"),
        &[
            ("csrf", &page.csrf()),
            ("username", PARTICIPANT),
            ("password", PARTICIPANT_PASSWORD),
        ],
    );
    assert_eq!((r.status, r.header("location")), (303, Some("/account")));
    let tonight = participant.get("/tonight");
    let evening = between(
        &tonight.text(),
        "id=\"date\" name=\"date\" type=\"date\" value=\"",
        "\"",
    );
    let r = participant.post_form(
        "/tonight",
        &[
            ("csrf", &tonight.csrf()),
            ("date", &evening),
            ("severity", "7"),
            ("sleep_quality", "3"),
            ("hours_slept", "5.25"),
            ("note", NIGHT_NOTE),
        ],
    );
    assert_eq!(r.status, 303, "{}", r.text());
    assert!(participant.get("/history").text().contains(NIGHT_NOTE));
    let day_before = evening
        .parse::<jiff::civil::Date>()
        .unwrap()
        .yesterday()
        .unwrap();
    let mut api = Browser::new(&server);
    let r = api.post_json(
        "/api/v1/login",
        &serde_json::json!({ "username": PARTICIPANT, "password": PARTICIPANT_PASSWORD }),
    );
    assert_eq!(r.status, 204, "{}", r.text());
    let r = api.post_json(
        "/api/v1/nights",
        &serde_json::json!({ "date": day_before.to_string(), "severity": 4, "note": API_NOTE }),
    );
    assert_eq!(r.status, 201, "{}", r.text());

    // The clinician: the dashboard, the report, its PDF and JSON.
    let dashboard = clinician.get("/clinic").text();
    assert!(dashboard.contains(PARTICIPANT), "{dashboard}");
    let number = between(&dashboard, "href=\"/clinic/participants/", "\"");
    let report = clinician.get(&format!("/clinic/participants/{number}"));
    assert_eq!(report.status, 200);
    let pdf = clinician.get(&format!("/clinic/participants/{number}/report.pdf"));
    assert_eq!(
        (pdf.status, pdf.header("content-type")),
        (200, Some("application/pdf"))
    );
    assert!(pdf.body.starts_with(b"%PDF-"));
    let json = clinician.get(&format!("/api/v1/clinic/participants/{number}/report"));
    assert_eq!(json.status, 200, "{}", json.text());
    assert_eq!(clinician.get("/clinic/pooled").status, 200);

    // The participant: the access log names the clinician's looks; a wrong current password,
    // then a password change (every session ends), a log-in with the new one.
    let account = participant.get("/account");
    assert!(account.text().contains("dr-okapi (clinician)"));
    let r = participant.post_form(
        "/account/password",
        &[
            ("csrf", &account.csrf()),
            ("current", WRONG_PASSWORD),
            ("new", PARTICIPANT_NEW_PASSWORD),
        ],
    );
    assert!(r.status >= 400, "{}", r.status);
    let r = participant.post_form(
        "/account/password",
        &[
            ("csrf", &account.csrf()),
            ("current", PARTICIPANT_PASSWORD),
            ("new", PARTICIPANT_NEW_PASSWORD),
        ],
    );
    assert_eq!((r.status, r.header("location")), (303, Some("/login")));
    let r = participant.log_in(PARTICIPANT, PARTICIPANT_NEW_PASSWORD);
    assert_eq!((r.status, r.header("location")), (303, Some("/tonight")));

    // The admin: an account, a reset link for it, used; the nurse logs in with the new password.
    let mut admin = Browser::new(&server);
    let r = admin.log_in("boss", ADMIN_PASSWORD);
    assert_eq!((r.status, r.header("location")), (303, Some("/admin")));
    let csrf = admin.get("/admin").csrf();
    let r = admin.post_form(
        "/admin/accounts",
        &[("csrf", &csrf), ("username", NURSE), ("role", "clinician")],
    );
    // Nobody knows the new account's password: the nurse sets it with the one-time link.
    assert_eq!(r.status, 201, "{}", r.text());
    let first = token_after(&r.text(), "/reset/");
    assert_eq!(first.len(), 64, "{first}");
    secrets.push(("the first-password token".into(), first.clone()));
    let mut nurse = Browser::new(&server);
    let page = nurse.get(&format!("/reset/{first}"));
    assert_eq!(page.status, 200, "{}", page.text());
    let r = nurse.post_form(
        &format!("/reset/{first}"),
        &[("csrf", &page.csrf()), ("password", NURSE_FIRST_PASSWORD)],
    );
    assert_eq!((r.status, r.header("location")), (303, Some("/login")));
    let r = admin.post_form("/admin/resets", &[("csrf", &csrf), ("username", NURSE)]);
    assert_eq!(r.status, 201, "{}", r.text());
    let reset = token_after(&r.text(), "/reset/");
    assert_eq!(reset.len(), 64, "{reset}");
    secrets.push(("the reset token".into(), reset.clone()));
    let page = nurse.get(&format!("/reset/{reset}"));
    assert_eq!(page.status, 200, "{}", page.text());
    let r = nurse.post_form(
        &format!("/reset/{reset}"),
        &[("csrf", &page.csrf()), ("password", NURSE_RESET_PASSWORD)],
    );
    assert_eq!((r.status, r.header("location")), (303, Some("/login")));
    let r = nurse.log_in(NURSE, NURSE_RESET_PASSWORD);
    assert_eq!((r.status, r.header("location")), (303, Some("/clinic")));

    // The clinician logs out; the participant deletes the account.
    let csrf = clinician.get("/account").csrf();
    let r = clinician.post_form("/logout", &[("csrf", &csrf)]);
    assert_eq!(r.status, 303);
    let csrf = participant.get("/account/delete").csrf();
    let r = participant.post_form(
        "/account/delete",
        &[
            ("csrf", &csrf),
            ("confirm", PARTICIPANT),
            ("password", PARTICIPANT_NEW_PASSWORD),
        ],
    );
    assert_eq!(r.status, 200, "{}", r.text());

    for b in [&clinician, &participant, &api, &admin, &nurse] {
        for (i, value) in b.seen.iter().enumerate() {
            secrets.push((format!("cookie value {i}"), value.clone()));
        }
    }
    let (stderr, stdout) = server.stop();

    // Nothing secret and no health data in anything the server or the CLI printed.
    for (what, value) in &secrets {
        assert!(
            !stderr.contains(value.as_str()) && !stdout.contains(value.as_str()),
            "the server printed {what} ({value}):\n{stderr}{stdout}"
        );
        if what != "the participant's username" {
            assert!(
                !cli_said.contains(value.as_str()),
                "create-user printed {what}: {cli_said}"
            );
        }
    }
    assert_eq!(stdout, "", "the server wrote on standard output");
    // Only request lines after the start-up line: method, route template, status, time.
    let mut lines = stderr.lines();
    assert!(
        lines
            .next()
            .unwrap()
            .starts_with("quietlegs clinic server on "),
        "{stderr}"
    );
    let requests: Vec<&str> = lines.collect();
    for line in &requests {
        let parts: Vec<&str> = line.split(' ').collect();
        let well_formed = parts.len() == 5
            && ["GET", "POST"].contains(&parts[0])
            && parts[1].starts_with('/')
            && parts[1]
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"/{}._-".contains(&b))
            && parts[2].len() == 3
            && parts[2].bytes().all(|b| b.is_ascii_digit())
            && parts[3].parse::<f64>().is_ok()
            && parts[4] == "ms";
        assert!(well_formed, "not a request line: {line:?}\n{stderr}");
    }
    // The requests above, by their templates (status as the assertions above saw them).
    for expected in [
        "POST /login 401",
        "POST /login 303",
        "POST /clinic/invitations 201",
        "GET /invite/{token} 200",
        "POST /invite/{token}/join 303",
        "POST /tonight 303",
        "POST /api/v1/login 204",
        "POST /api/v1/nights 201",
        "GET /clinic/participants/{number} 200",
        "GET /clinic/participants/{number}/report.pdf 200",
        "GET /api/v1/clinic/participants/{number}/report 200",
        "POST /account/password 303",
        "POST /admin/accounts 201",
        "POST /admin/resets 201",
        "GET /reset/{token} 200",
        "POST /reset/{token} 303",
        "POST /logout 303",
        "POST /account/delete 200",
    ] {
        assert!(
            requests
                .iter()
                .any(|l| l.starts_with(&format!("{expected} "))),
            "no {expected:?} line in:\n{stderr}"
        );
    }
}

#[test]
fn a_clinic_server_on_sqlite_logs_requests_without_secrets_or_health_data() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("clinic.sqlite3");
    walkthrough(&["--db".into(), db.to_str().unwrap().into()]);
}

#[test]
fn a_clinic_server_on_postgres_logs_requests_without_secrets_or_health_data() {
    let Some(schema) = FreshSchema::new() else {
        return;
    };
    walkthrough(&["--database-url".into(), schema.url.clone()]);
}
