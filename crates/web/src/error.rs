//! One error type for every handler: JSON `{"error": "...", "field": "..."}` with the status of
//! the use case's error kind.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use quietlegs_app::{AppError, ErrorKind};
use serde::Serialize;
use utoipa::ToSchema;

/// The body of every error response.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ErrorBody {
    /// What went wrong, in words a person can act on.
    pub error: String,
    /// The input field it concerns, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

/// A failed request.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub body: ErrorBody,
}

impl ApiError {
    pub fn new(status: StatusCode, error: String, field: Option<&str>) -> Self {
        Self {
            status,
            body: ErrorBody {
                error,
                field: field.map(str::to_string),
            },
        }
    }

    /// Bad input in `field` (422).
    pub fn field(field: &str, error: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, error.into(), Some(field))
    }
}

impl From<AppError> for ApiError {
    fn from(e: AppError) -> Self {
        let status = match e.kind {
            // A value the use case refused: 422 when it names a field, else 400.
            ErrorKind::BadInput if e.field.is_some() => StatusCode::UNPROCESSABLE_ENTITY,
            kind => StatusCode::from_u16(kind.http_status())
                .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        };
        let error = if e.kind == ErrorKind::Internal {
            // Details of an internal fault are for the log, not the page.
            "internal error: quietlegs could not complete this request".to_string()
        } else {
            e.message
        };
        Self::new(status, error, e.field)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(self.body)).into_response()
    }
}
