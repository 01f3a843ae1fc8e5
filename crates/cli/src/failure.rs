//! The one place failures become exit codes and messages: 0 success; 2 bad input (a message
//! names the field and what is allowed); 75 the environment (busy, read-only, disk full: "try
//! again"); 1 an internal failure (a bug or a broken installation). Use-case failures arrive as
//! `quietlegs_app::AppError` and are mapped by their `ErrorKind`.

use anyhow::{anyhow, Context as _};

/// A failure at the edge: bad input (exit 2), the environment (busy, read-only, disk full:
/// exit 75, "try again"), or an internal error (exit 1).
pub(crate) enum Failure {
    BadInput(anyhow::Error),
    Unavailable(anyhow::Error),
    Internal(anyhow::Error),
}

impl Failure {
    /// Prints the failure on stderr and gives the exit code.
    pub(crate) fn report(self) -> u8 {
        match self {
            Failure::BadInput(e) => {
                eprintln!("error: {e:#}");
                2
            }
            Failure::Unavailable(e) => {
                eprintln!("error: {e:#}");
                EXIT_UNAVAILABLE
            }
            Failure::Internal(e) => {
                eprintln!("internal error: {e:?}");
                1
            }
        }
    }
}

/// Exit code for a temporary failure of the environment (sysexits.h EX_TEMPFAIL).
const EXIT_UNAVAILABLE: u8 = 75;

impl From<anyhow::Error> for Failure {
    /// Errors of the shell itself (reading a file, the terminal, writing output) are classified
    /// by what caused them: a store error is mapped by its kind (`quietlegs_store::ErrorKind`),
    /// whatever the call site wrapped it in.
    fn from(e: anyhow::Error) -> Self {
        use quietlegs_store::{ErrorKind, StoreError};
        let kind = e
            .chain()
            .find_map(|cause| cause.downcast_ref::<StoreError>())
            .map(StoreError::kind);
        match kind {
            Some(
                ErrorKind::BadInput
                | ErrorKind::NotFound
                | ErrorKind::Forbidden
                | ErrorKind::Conflict,
            ) => Failure::BadInput(e),
            Some(ErrorKind::Unavailable) => Failure::Unavailable(e),
            Some(ErrorKind::Internal) | None => Failure::Internal(e),
        }
    }
}

impl From<quietlegs_app::AppError> for Failure {
    fn from(e: quietlegs_app::AppError) -> Self {
        app_failure(e, None)
    }
}

/// A use case's failure at the command line: its field named as the flag or argument the person
/// typed, the exit code from its kind (in `quietlegs_app::ErrorKind`), and `prefix` (a file name)
/// before the message.
pub(crate) fn app_failure(e: quietlegs_app::AppError, prefix: Option<&str>) -> Failure {
    use quietlegs_app::ErrorKind;
    let mut text = match e.field {
        Some(f) => format!("{}: {}", cli_field(f), e.message),
        None => e.message.clone(),
    };
    if let (Some(p), None) = (prefix, e.field) {
        text = format!("{p}: {text}");
    }
    let error = anyhow!(text.clone());
    match e.kind {
        ErrorKind::BadInput | ErrorKind::NotFound | ErrorKind::Forbidden | ErrorKind::Conflict => {
            Failure::BadInput(error)
        }
        ErrorKind::Unavailable => Failure::Unavailable(error),
        ErrorKind::Internal => Failure::Internal(match e.source {
            Some(source) => anyhow!(source).context(text),
            None => error,
        }),
    }
}

/// `app_failure` with a prefix, for `map_err`.
pub(crate) fn in_file(prefix: &str) -> impl FnOnce(quietlegs_app::AppError) -> Failure + '_ {
    move |e| app_failure(e, Some(prefix))
}

/// How the command line names a use case's field: positional arguments in capitals, options as
/// `--flag`, environment variables as they are.
fn cli_field(field: &str) -> String {
    const POSITIONAL: [&str; 7] = ["period", "arm", "trial", "kind", "query", "release", "path"];
    if POSITIONAL.contains(&field) {
        field.to_uppercase()
    } else if field.starts_with("QUIETLEGS_") {
        field.to_string()
    } else {
        format!("--{}", field.replace('_', "-"))
    }
}

pub(crate) fn bad_input(e: impl Into<anyhow::Error>) -> Failure {
    Failure::BadInput(e.into())
}

/// Prints `value` as pretty JSON (the `--json` output of every command).
pub(crate) fn print_json(value: &impl serde::Serialize) -> Result<(), Failure> {
    let mut text = serde_json::to_string_pretty(value).context("serialising the output as JSON")?;
    text.push('\n');
    emit(&text)
}

/// Writes the output. A reader that has gone away (`quietlegs plan | head -1`) ends the program
/// quietly; any other write failure is reported, never a panic.
pub(crate) fn emit(text: &str) -> Result<(), Failure> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        // The reader has what it wanted: stop quietly (the work is already done and stored).
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => std::process::exit(0),
        Err(e) => Err(Failure::Unavailable(
            anyhow::Error::new(e).context("writing the output to standard output"),
        )),
    }
}

/// Writes a file the person asked for (an export, a calendar, a chart, a helper sheet): a path
/// that cannot be written is bad input naming `what` (the flag or argument); a full disk is the
/// environment ("try again"), never an internal error.
pub(crate) fn write_output(
    what: &str,
    path: &std::path::Path,
    bytes: &[u8],
) -> Result<(), Failure> {
    crate::files::write_private(path, bytes).map_err(|e| {
        let disk_full = e
            .chain()
            .filter_map(|c| c.downcast_ref::<std::io::Error>())
            .any(|io| io.raw_os_error() == Some(ENOSPC));
        let e = e.context(what.to_string());
        if disk_full {
            Failure::Unavailable(e)
        } else {
            bad_input(e)
        }
    })
}

/// "No space left on device" (errno 28 on Linux, macOS and the BSDs); `ErrorKind::StorageFull`
/// is newer than the minimum Rust version.
const ENOSPC: i32 = 28;
