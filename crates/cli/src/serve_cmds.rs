//! `quietlegs serve`: the web app. On this machine (loopback) without a password; beyond it
//! only once a password is set (`--set-password`), and then every page needs a log-in.

use crate::failure::{bad_input, Failure};
use anyhow::{anyhow, Context as _};
use quietlegs_app::personal::open_writer;
use quietlegs_app::Context;
use quietlegs_store::Database;
use std::io::{BufRead, IsTerminal};
use std::net::SocketAddr;

/// What `serve` was asked to do.
pub struct Serving<'a> {
    pub db: &'a Database,
    pub db_given: bool,
    pub addr: SocketAddr,
    pub allow_hosts: &'a [String],
    pub demo: bool,
}

/// Serves the diary (or, for `--demo` without `--db`, a temporary demonstration database
/// removed at exit) on `addr`.
pub fn serve(ctx: &Context<'_>, s: Serving<'_>) -> Result<(), Failure> {
    // The demonstration never goes into the default or QUIETLEGS_DB diary unasked.
    let temporary = if s.demo && !s.db_given {
        Some(tempfile::tempdir().context("creating a temporary folder for the demo")?)
    } else {
        None
    };
    let db = match &temporary {
        Some(dir) => Database::File(dir.path().join("demo.sqlite3")),
        None => s.db.clone(),
    };
    let (store, person) = open_writer(&db, ctx.now)?;
    let password_set = quietlegs_app::login::password_is_set(&store, person)?;
    if !s.addr.ip().is_loopback() && !password_set {
        return Err(bad_input(anyhow!(
            "--addr: {} is reachable from other machines, so the diary needs a password first: \
             run `quietlegs serve --set-password` (with the same --db), then serve again",
            s.addr
        )));
    }
    if s.demo {
        let filled = quietlegs_app::demo::fill(&store, person, ctx, rand::random())?;
        eprintln!(
            "Demonstration diary: {} entries from {} to {} and the finished trial '{}'.",
            filled.records, filled.from, filled.to, filled.trial
        );
    }
    // The address itself is a name the server answers to (127.0.0.2 is loopback too).
    let mut hosts = vec![s.addr.ip().to_string()];
    hosts.extend(s.allow_hosts.iter().cloned());
    let state = quietlegs_web::WebState::new(store, ctx.reference.clone(), &hosts);
    if password_set {
        state.require_login();
    }
    let addr = s.addr;
    quietlegs_web::serve_blocking(addr, state, |bound| {
        eprintln!(
            "quietlegs is serving {} on http://{bound}/ (Ctrl-C stops it)",
            db.display()
        );
        if password_set {
            eprintln!("Every page asks for the diary's password.");
        }
        if !addr.ip().is_loopback() {
            eprintln!(
                "Warning: plain HTTP: the password and the diary cross the network unencrypted. \
                 Serve only on a network you trust, or behind an HTTPS reverse proxy."
            );
        }
    })
    .map_err(|e| {
        let e = anyhow!(e).context(format!("serving on {addr}"));
        if e.chain().any(|c| {
            c.downcast_ref::<std::io::Error>()
                .is_some_and(|io| io.kind() == std::io::ErrorKind::AddrInUse)
        }) {
            Failure::Unavailable(e)
        } else {
            Failure::Internal(e)
        }
    })
}

/// `serve --clinic`: accounts and sessions in the database. Beyond loopback only when an HTTPS
/// proxy ends TLS in front of it (`--behind-https`): passwords and health data never cross a
/// network in the clear.
pub fn serve_clinic(
    ctx: &Context<'_>,
    db: &Database,
    addr: SocketAddr,
    allow_hosts: &[String],
    behind_https: bool,
) -> Result<(), Failure> {
    if !addr.ip().is_loopback() && !behind_https {
        return Err(bad_input(anyhow!(
            "--addr: {addr} is reachable from other machines: a clinic server must be reached \
             over HTTPS. Put an HTTPS reverse proxy in front of it and add --behind-https, or \
             listen on 127.0.0.1"
        )));
    }
    let store = quietlegs_store::AnyStore::open(db).map_err(anyhow::Error::from)?;
    let accounts = quietlegs_store::ClinicStore::accounts(&store).map_err(anyhow::Error::from)?;
    if !accounts
        .iter()
        .any(|a| a.role == quietlegs_store::clinic::Role::Admin)
    {
        eprintln!(
            "No admin account yet: make one with `quietlegs admin create-user --username NAME \
             --role admin` (with the same database)."
        );
    }
    let mut hosts = vec![addr.ip().to_string()];
    hosts.extend(allow_hosts.iter().cloned());
    let state = quietlegs_web::WebState::clinic(
        store,
        ctx.reference.clone(),
        &hosts,
        quietlegs_web::ClinicSettings { behind_https },
    );
    quietlegs_web::serve_blocking(addr, state, |bound| {
        eprintln!(
            "quietlegs clinic server on {} at http://{bound}/ (Ctrl-C stops it)",
            db.display()
        );
    })
    .map_err(|e| {
        let e = anyhow!(e).context(format!("serving on {addr}"));
        if e.chain().any(|c| {
            c.downcast_ref::<std::io::Error>()
                .is_some_and(|io| io.kind() == std::io::ErrorKind::AddrInUse)
        }) {
            Failure::Unavailable(e)
        } else {
            Failure::Internal(e)
        }
    })
}

/// `admin create-user`: an account on a clinic server's database.
pub fn create_user(
    ctx: &Context<'_>,
    db: &Database,
    username: &str,
    role: &str,
) -> Result<(), Failure> {
    let role = quietlegs_store::clinic::Role::parse(role)
        .ok_or_else(|| bad_input(anyhow!("--role: use participant, clinician or admin")))?;
    let password = read_password()?;
    let store = quietlegs_store::AnyStore::open(db).map_err(anyhow::Error::from)?;
    let account = quietlegs_app::clinic::create_account(
        &store,
        ctx,
        username,
        role,
        &password,
        rand::random(),
    )?;
    eprintln!(
        "Account {} ({}) made in {}.",
        account.username,
        account.role,
        db.display()
    );
    Ok(())
}

/// `serve --set-password`: asks for the password (twice, without echo, on a terminal; else the
/// first line of standard input), checks the policy and stores its argon2id hash.
pub fn set_password(ctx: &Context<'_>, db: &Database) -> Result<(), Failure> {
    let password = read_password()?;
    quietlegs_app::login::check_policy(&password)
        .map_err(|e| bad_input(anyhow!("--set-password: {}", e.message)))?;
    let (store, person) = open_writer(db, ctx.now)?;
    quietlegs_app::login::set_password(&store, person, ctx, &password, rand::random())?;
    eprintln!(
        "Password set for {}: `quietlegs serve` now asks for it on every page.",
        db.display()
    );
    Ok(())
}

fn read_password() -> Result<String, Failure> {
    if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password(
            "New password (at least 15 characters, not easy to guess): ",
        )
        .context("reading the password")?;
        quietlegs_app::login::check_policy(&first)
            .map_err(|e| bad_input(anyhow!("--set-password: {}", e.message)))?;
        let again = rpassword::prompt_password("The same password again: ")
            .context("reading the password")?;
        if first != again {
            return Err(bad_input(anyhow!(
                "the two passwords differ: nothing was changed"
            )));
        }
        return Ok(first);
    }
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("reading the password from standard input")?;
    Ok(line
        .strip_suffix('\n')
        .map(|l| l.strip_suffix('\r').unwrap_or(l))
        .unwrap_or(&line)
        .to_string())
}
