//! `quietlegs serve` refusals and `--set-password` (the server itself is tested in process in
//! crates/web/tests and in a browser by tools/e2e).

// Integration tests: a panic is a failed test (clippy.toml allows unwrap only inside #[test]).
#![allow(clippy::expect_used, clippy::unwrap_used)]

mod common;

use common::{fails, quietlegs, temp_db};
use std::io::Write;
use std::process::{Output, Stdio};

/// `serve --set-password` with `input` on standard input (not a terminal).
fn set_password(db: &std::path::Path, input: &str) -> Output {
    let mut child = quietlegs(db)
        .args(["serve", "--set-password"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

fn stored_secret(db: &std::path::Path) -> Option<String> {
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.query_row("SELECT phc FROM login", [], |r| r.get(0))
        .ok()
}

#[test]
fn serving_beyond_this_machine_needs_a_password_first() {
    let db = temp_db();
    fails(
        quietlegs(&db.path)
            .args(["serve", "--addr", "0.0.0.0:0"])
            .output()
            .unwrap(),
        "--addr: 0.0.0.0:0 is reachable from other machines, so the diary needs a password first",
    );
}

#[test]
fn a_short_password_is_refused_and_nothing_is_stored() {
    let db = temp_db();
    // 14 characters: one short of NIST SP 800-63B-4's 15.
    fails(
        set_password(&db.path, "fourteen chars\n"),
        "--set-password: the password has 14 characters: use at least 15",
    );
    assert!(!db.path.exists() || stored_secret(&db.path).is_none());
}

#[test]
fn an_easy_to_guess_password_is_refused_and_nothing_is_stored() {
    let db = temp_db();
    // 16 characters, but "password" twice: a repeat of the most common password.
    fails(
        set_password(&db.path, "passwordpassword\n"),
        "--set-password: the password is too easy to guess (repeats like",
    );
    assert!(!db.path.exists() || stored_secret(&db.path).is_none());
}

#[test]
fn a_password_from_standard_input_is_stored_as_argon2id_only() {
    let db = temp_db();
    let out = set_password(&db.path, "a long enough passphrase\r\n");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let phc = stored_secret(&db.path).unwrap();
    assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
    assert!(!phc.contains("passphrase"));
    // The line ending is not part of the password: the stored hash verifies without it.
    use argon2::password_hash::{PasswordHash, PasswordVerifier};
    let hash = PasswordHash::new(&phc).unwrap();
    assert!(argon2::Argon2::default()
        .verify_password(b"a long enough passphrase", &hash)
        .is_ok());
}
