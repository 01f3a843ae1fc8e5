//! The JSON API under `/api/v1`, described by the OpenAPI document at `/api/v1/openapi.json`
//! (generated from these types by `utoipa`).

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Json;
use jiff::civil::Date;
use quietlegs_app::diary;
use quietlegs_app::trial::{self, Adherence, TrialStatus};
use quietlegs_core::diary::{Night, Record};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};

use crate::access::{Access, Routes};
use crate::diary_api::AddDiaryApi;
use crate::error::{ApiError, ErrorBody};
use crate::WebState;

pub fn routes(state: &WebState) -> Routes {
    Routes::nested(state, "/api/v1")
        .route(
            Access::Participant,
            "/nights",
            get(list_nights).post(log_night),
        )
        .route(Access::Participant, "/trial/status", get(trial_status))
        .route(Access::Open, "/openapi.json", get(openapi))
        .route(Access::Open, "/health", get(health))
}

/// The OpenAPI 3 description of the API.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "quietlegs API",
        description = "The nightly diary and the n-of-1 trial of quietlegs. Informational software: not medical advice."
    ),
    paths(log_night, list_nights, trial_status, health, crate::login::api_login),
    components(schemas(
        NightInput,
        NightEntry,
        ErrorBody,
        TrialStatus,
        Adherence,
        crate::login::LoginInput
    )),
    nest(
        (path = "/api/v1", api = crate::data_api::DataApi),
        (path = "/api/v1", api = crate::trial_api::TrialApi),
        (path = "/api/v1", api = crate::report_pages::ReportApi)
    ),
    modifiers(&AddDiaryApi)
)]
pub struct ApiDoc;

/// The server is up (no store access: the baseline of the load benchmark, and for monitors).
#[utoipa::path(get, path = "/api/v1/health", responses((status = 204, description = "Up")))]
async fn health() -> StatusCode {
    StatusCode::NO_CONTENT
}

async fn openapi() -> impl IntoResponse {
    Json(ApiDoc::openapi())
}

/// State-changing API calls take JSON only: a browser cannot send it cross-site without a
/// preflight, which this server never grants.
pub(crate) fn require_json(headers: &axum::http::HeaderMap) -> Result<(), ApiError> {
    let json = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/json"));
    if json {
        Ok(())
    } else {
        Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "send the body as JSON (Content-Type: application/json)".into(),
            Some("content-type"),
        ))
    }
}

/// Reads a JSON body into `T`, naming the field of the first error. A body that parses is
/// read once, without tracking paths; only a refused one is read again to name its field.
pub fn parse_json<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    if let Ok(value) = serde_json::from_slice(body) {
        return Ok(value);
    }
    let mut de = serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let field = (path != ".").then_some(path);
        let mut err = ApiError::field(
            field.as_deref().unwrap_or("body"),
            format!("not valid: {}", e.inner()),
        );
        if field.is_none() {
            err.status = StatusCode::BAD_REQUEST;
        }
        err
    })
}

/// One night's entry as sent by a client.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NightInput {
    /// The evening the night belongs to (YYYY-MM-DD), not in the future.
    #[schema(value_type = String, format = Date)]
    pub date: Date,
    /// RLS severity that evening and night, 0 (none) to 10 (worst).
    #[schema(minimum = 0, maximum = 10)]
    pub severity: u8,
    /// Sleep quality, 0 (worst) to 10 (best).
    #[schema(minimum = 0, maximum = 10)]
    pub sleep_quality: Option<u8>,
    /// Hours slept, 0 to 24.
    #[schema(minimum = 0, maximum = 24)]
    pub hours_slept: Option<f64>,
    /// A short note (no control characters).
    pub note: Option<String>,
}

/// A stored night.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct NightEntry {
    pub id: i64,
    #[schema(value_type = String, format = Date)]
    pub date: Date,
    pub severity: u8,
    pub sleep_quality: Option<u8>,
    pub hours_slept: Option<f64>,
    pub note: Option<String>,
}

impl NightEntry {
    fn from_night(id: i64, n: &Night) -> Self {
        Self {
            id,
            date: n.date,
            severity: n.severity,
            sleep_quality: n.sleep_quality,
            hours_slept: n.hours_slept,
            note: n.note.clone(),
        }
    }
}

/// Logs a night (one per date: a second one for the same date is a conflict).
#[utoipa::path(
    post,
    path = "/api/v1/nights",
    request_body = NightInput,
    responses(
        (status = 201, description = "Stored", body = NightEntry),
        (status = 409, description = "There is already a night for that date", body = ErrorBody),
        (status = 422, description = "A field is out of range", body = ErrorBody),
    )
)]
async fn log_night(
    State(state): State<WebState>,
    headers: axum::http::HeaderMap,
    body: Bytes,
) -> Result<impl IntoResponse, ApiError> {
    require_json(&headers)?;
    let input: NightInput = parse_json(&body)?;
    let night = Night {
        date: input.date,
        severity: input.severity,
        symptoms_began: None,
        sleep_quality: input.sleep_quality,
        hours_slept: input.hours_slept,
        minutes_to_sleep: None,
        awakenings: None,
        note: input.note,
    };
    let id = state
        .log_night(quietlegs_app::Now::read(), night.clone())
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(NightEntry::from_night(id, &night)),
    ))
}

/// The range of `GET /nights`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct NightRange {
    /// First date (YYYY-MM-DD), inclusive.
    pub from: Option<String>,
    /// Last date (YYYY-MM-DD), inclusive.
    pub to: Option<String>,
}

fn parse_date_param(field: &str, value: Option<&str>) -> Result<Option<Date>, ApiError> {
    value
        .filter(|v| !v.is_empty())
        .map(|v| {
            v.parse::<Date>()
                .map_err(|_| ApiError::field(field, format!("'{v}' is not a date: use YYYY-MM-DD")))
        })
        .transpose()
}

/// The nights logged in a date range, oldest first.
#[utoipa::path(
    get,
    path = "/api/v1/nights",
    params(NightRange),
    responses(
        (status = 200, description = "The nights", body = [NightEntry]),
        (status = 422, description = "A date is not valid", body = ErrorBody),
    )
)]
async fn list_nights(
    State(state): State<WebState>,
    range: Result<Query<NightRange>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Vec<NightEntry>>, ApiError> {
    let Query(range) =
        range.map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, e.body_text(), Some("query")))?;
    let from = parse_date_param("from", range.from.as_deref())?;
    let to = parse_date_param("to", range.to.as_deref())?;
    if let (Some(f), Some(t)) = (from, to) {
        if f > t {
            return Err(ApiError::field("to", format!("{t} is before from ({f})")));
        }
    }
    let nights = state
        .run(move |store, person, _ctx| {
            Ok(diary::records(Some((store, person)), from, to)?
                .into_iter()
                .filter_map(|r| match &r.record {
                    Record::Night(n) => Some(NightEntry::from_night(r.id, n)),
                    _ => None,
                })
                .collect())
        })
        .await?;
    Ok(Json(nights))
}

/// Tonight in the latest trial.
#[utoipa::path(
    get,
    path = "/api/v1/trial/status",
    responses(
        (status = 200, description = "Tonight in the trial", body = TrialStatus),
        (status = 404, description = "There is no trial yet", body = ErrorBody),
    )
)]
async fn trial_status(State(state): State<WebState>) -> Result<Json<TrialStatus>, ApiError> {
    let s = state
        .run(|store, person, ctx| trial::status(store, person, ctx, None))
        .await?;
    Ok(Json(s))
}
