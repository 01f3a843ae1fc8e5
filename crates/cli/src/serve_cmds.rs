//! `quietlegs serve`: the web app on this machine (loopback only).

use crate::failure::{bad_input, Failure};
use anyhow::{anyhow, Context as _};
use quietlegs_app::personal::open_writer;
use quietlegs_app::Context;
use std::net::SocketAddr;
use std::path::Path;

/// Serves `db` (or, for `--demo` without `--db`, a temporary demonstration database removed at
/// exit) on `addr`, which must be a loopback address.
pub fn serve(
    ctx: &Context<'_>,
    db: &Path,
    db_given: bool,
    addr: SocketAddr,
    demo: bool,
) -> Result<(), Failure> {
    if !addr.ip().is_loopback() {
        return Err(bad_input(anyhow!(
            "--addr: {addr} is reachable from other machines; quietlegs serves only this machine \
             (127.0.0.1 or ::1) until password log-in is available"
        )));
    }
    // The demonstration never goes into the default or QUIETLEGS_DB diary unasked.
    let temporary = if demo && !db_given {
        Some(tempfile::tempdir().context("creating a temporary folder for the demo")?)
    } else {
        None
    };
    let db = match &temporary {
        Some(dir) => dir.path().join("demo.sqlite3"),
        None => db.to_path_buf(),
    };
    let (store, person) = open_writer(&db, ctx.now)?;
    if demo {
        let filled = quietlegs_app::demo::fill(&store, person, ctx, rand::random())?;
        eprintln!(
            "Demonstration diary: {} entries from {} to {} and the finished trial '{}'.",
            filled.records, filled.from, filled.to, filled.trial
        );
    }
    // The address itself is a name the server answers to (127.0.0.2 is loopback too).
    let state =
        quietlegs_web::WebState::new(store, ctx.reference.clone(), &[addr.ip().to_string()]);
    quietlegs_web::serve_blocking(addr, state, |bound| {
        eprintln!(
            "quietlegs is serving {} on http://{bound}/ (Ctrl-C stops it)",
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
