//! Typed failures of the use cases, mapped in one place to exit codes (CLI) and HTTP statuses
//! (web API).

use quietlegs_store::StoreError;

/// What went wrong, by what the person (or the caller) can do about it: one enum for the store
/// and the use cases, with its exit codes and HTTP statuses.
pub use quietlegs_store::ErrorKind;

/// A failed use case: its kind, the input field it concerns (named as in the domain, e.g.
/// `start`, `period`; each surface renders it as its own flag or form field) and a message.
#[derive(Debug, thiserror::Error)]
#[error("{}", self.display())]
pub struct AppError {
    pub kind: ErrorKind,
    pub field: Option<&'static str>,
    pub message: String,
    #[source]
    pub source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl AppError {
    pub fn new(kind: ErrorKind, field: Option<&'static str>, message: impl Into<String>) -> Self {
        Self {
            kind,
            field,
            message: message.into(),
            source: None,
        }
    }

    /// Bad input in `field`.
    pub fn field(field: &'static str, message: impl Into<String>) -> Self {
        Self::new(ErrorKind::BadInput, Some(field), message)
    }

    /// Bad input not tied to one field (an action refused in this state).
    pub fn refused(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::BadInput, None, message)
    }

    pub fn not_found(field: Option<&'static str>, message: impl Into<String>) -> Self {
        Self::new(ErrorKind::NotFound, field, message)
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Internal, None, message)
    }

    /// Bad input in `field` (or not tied to one field) described by a domain error and its
    /// causes.
    pub fn invalid(field: Option<&'static str>, e: &(dyn std::error::Error + 'static)) -> Self {
        Self::new(ErrorKind::BadInput, field, chain(e))
    }

    /// A store failure while `doing` something ("reading the diary").
    pub fn store(doing: &str) -> impl FnOnce(StoreError) -> Self + '_ {
        move |e| Self::from(e).context(doing)
    }

    /// The same failure, about `field` (a date parsed for a start date names `start`).
    pub fn in_field(mut self, field: &'static str) -> Self {
        self.field = Some(field);
        self
    }

    /// Adds what was being done to the message ("reading the diary: ...").
    pub fn context(mut self, doing: &str) -> Self {
        self.message = format!("{doing}: {}", self.message);
        self
    }

    fn display(&self) -> String {
        match self.field {
            Some(f) => format!("{f}: {}", self.message),
            None => self.message.clone(),
        }
    }
}

/// An error and its causes on one line, outermost first: "profile: age: must be 1 to 120".
pub fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        text.push_str(": ");
        text.push_str(&c.to_string());
        cause = c.source();
    }
    text
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        let kind = e.kind();
        Self {
            kind,
            field: None,
            message: e.to_string(),
            source: Some(Box::new(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_map_to_the_documented_exit_codes_and_statuses() {
        let table = [
            (ErrorKind::BadInput, 2, 400),
            (ErrorKind::NotFound, 2, 404),
            (ErrorKind::Conflict, 2, 409),
            (ErrorKind::Unavailable, 75, 503),
            (ErrorKind::Internal, 1, 500),
        ];
        for (kind, exit, status) in table {
            assert_eq!(
                (kind.exit_code(), kind.http_status()),
                (exit, status),
                "{kind:?}"
            );
        }
    }

    #[test]
    fn environment_failures_are_unavailable_not_internal() {
        assert_eq!(
            AppError::from(StoreError::Busy).kind,
            ErrorKind::Unavailable
        );
        assert_eq!(
            AppError::from(StoreError::DiskFull("x".into())).kind,
            ErrorKind::Unavailable
        );
        assert_eq!(
            AppError::from(StoreError::Duplicate {
                kind: "night".into(),
                date: "2026-01-01".into(),
                id: 1
            })
            .kind,
            ErrorKind::Conflict
        );
    }
}
