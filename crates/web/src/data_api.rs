//! The API of foods, intake, insights, export and import (nested under `/api/v1` with the rest
//! of the API; described by [`DataApi`], nested into the OpenAPI document).

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Json;
use jiff::civil::Date;
use quietlegs_app::diary::{self, ExportFormat, ImportPreview, Imported, KindCount};
use quietlegs_app::foods::{self, FoodSearch, IntakeDay};
use quietlegs_app::{AppError, Now};
use quietlegs_core::food::intake::{Contributor, FoodEaten, GapCloser};
use quietlegs_core::insights::{FactorInsight, Insights};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};

use crate::access::{Access, Routes};
use crate::api::{parse_json, require_json};
use crate::error::{ApiError, ErrorBody};
use crate::food_pages::{intake_on, log_food, FoodLogOutcome};
use crate::WebState;

/// The most foods one search returns.
pub const MAX_SEARCH_LIMIT: usize = 50;
/// Foods a search returns unless asked.
const DEFAULT_SEARCH_LIMIT: usize = 10;

pub fn routes(state: &WebState) -> Routes {
    Routes::nested(state, "/api/v1")
        .route(Access::Participant, "/foods/search", get(search_foods))
        .route(Access::Participant, "/foods", post(log_food_eaten))
        .route(Access::Participant, "/intake", get(intake))
        .route(Access::Participant, "/insights", get(insights))
        .route(Access::Participant, "/export", get(export))
        .route(
            Access::Participant,
            "/import",
            post(import).layer(DefaultBodyLimit::max(import_body_limit())),
        )
}

/// The largest import body: a diary export as large as the CLI takes, as JSON text.
pub(crate) fn import_body_limit() -> usize {
    // Escaping in a JSON string (or a form) can double the text.
    usize::try_from(diary::MAX_IMPORT_BYTES)
        .unwrap_or(usize::MAX)
        .saturating_mul(2)
}

/// The paths and types of this module (nested under `/api/v1` by [`crate::ApiDoc`]).
#[derive(OpenApi)]
#[openapi(
    paths(search_foods, log_food_eaten, intake, insights, export, import),
    components(schemas(
        FoodSearch,
        foods::FoodHit,
        foods::PortionMagnesium,
        FoodInput,
        FoodLogged,
        IntakeDay,
        FoodEaten,
        Contributor,
        GapCloser,
        Insights,
        FactorInsight,
        ImportInput,
        ImportPreview,
        KindCount,
        Imported,
        ErrorBody
    ))
)]
pub struct DataApi;

fn query_error(e: axum::extract::rejection::QueryRejection) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, e.body_text(), Some("query"))
}

// ---------------------------------------------------------------------------------------------
// Foods

/// The query of `GET /foods/search`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct SearchQuery {
    /// Words of a food's name ("almonds", "spinach cooked").
    pub q: Option<String>,
    /// How many foods, 1 to 50 (default 10).
    pub limit: Option<String>,
}

/// The foods best matching the words, best first, with magnesium per 100 g and in the first
/// household portion.
#[utoipa::path(
    get,
    path = "/foods/search",
    params(SearchQuery),
    responses(
        (status = 200, description = "The foods found (none is not an error)", body = FoodSearch),
        (status = 422, description = "No words, or a limit out of range", body = ErrorBody),
    )
)]
async fn search_foods(
    State(state): State<WebState>,
    q: Result<Query<SearchQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<FoodSearch>, ApiError> {
    let Query(q) = q.map_err(query_error)?;
    let limit = match q.limit.as_deref().map(str::trim).filter(|l| !l.is_empty()) {
        None => DEFAULT_SEARCH_LIMIT,
        Some(l) => l
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=MAX_SEARCH_LIMIT).contains(n))
            .ok_or_else(|| {
                ApiError::field(
                    "limit",
                    format!("'{l}' is not allowed: 1 to {MAX_SEARCH_LIMIT}"),
                )
            })?,
    };
    let words = q.q.unwrap_or_default();
    let found = state
        .run(move |store, _person, ctx| {
            foods::search(ctx, Some(store), &words, limit).map_err(|e| e.in_field("q"))
        })
        .await?;
    Ok(Json(found))
}

/// A food eaten, as sent by a client.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FoodInput {
    /// The day it was eaten: YYYY-MM-DD, today or yesterday (default today), not in the future.
    pub date: Option<String>,
    /// A food id ("12061") or words of its name; words that match no name well enough are
    /// refused with the closest foods listed, and nothing is stored.
    pub food: String,
    /// How much: "1 oz", "½ cup", "100 g", "1 medium" (a USDA household measure of the food).
    pub amount: String,
}

/// A food logged in the diary.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FoodLogged {
    pub id: i64,
    #[schema(value_type = String, format = Date)]
    pub date: Date,
    pub food_id: String,
    pub food_name: String,
    pub amount: String,
    pub grams: f64,
    /// `null` when USDA gives no magnesium for the food.
    pub magnesium_mg: Option<f64>,
    /// Where the weight comes from ("1 oz = 28.35 g", a USDA household measure).
    pub via: String,
}

/// Logs a food eaten (as `quietlegs log food`).
#[utoipa::path(
    post,
    path = "/foods",
    request_body = FoodInput,
    responses(
        (status = 201, description = "Stored", body = FoodLogged),
        (status = 415, description = "The body is not JSON", body = ErrorBody),
        (status = 422, description = "A field is not valid, or the food is not certain (the closest foods are listed)", body = ErrorBody),
    )
)]
async fn log_food_eaten(
    State(state): State<WebState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    require_json(&headers)?;
    let input: FoodInput = parse_json(&body)?;
    let outcome = log_food(&state, input.food, input.amount, input.date).await?;
    match outcome {
        FoodLogOutcome::Logged { logged, via } => {
            let quietlegs_core::diary::Record::Food(f) = logged.record.clone() else {
                return Err(AppError::internal("a food entry was stored as another kind").into());
            };
            let body = FoodLogged {
                id: logged.id,
                date: f.date,
                food_id: f.food_id,
                food_name: f.food_name,
                amount: f.amount,
                grams: f.grams,
                magnesium_mg: f.magnesium_mg,
                via,
            };
            Ok((StatusCode::CREATED, Json(body)).into_response())
        }
        FoodLogOutcome::Choose { query, closest } => {
            let e = foods::FoodChoice::refusal(&query, &closest);
            Err(ApiError::field("food", e.message))
        }
    }
}

/// The query of `GET /intake`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct IntakeQuery {
    /// The day: YYYY-MM-DD, today or yesterday (default today).
    pub date: Option<String>,
}

/// A day's magnesium from the diary: food, supplements, and (when a profile is stored) the RDA,
/// the supplemental upper limit and foods that would close the gap; `null` limits when unknown.
#[utoipa::path(
    get,
    path = "/intake",
    params(IntakeQuery),
    responses(
        (status = 200, description = "The day's magnesium", body = IntakeDay),
        (status = 422, description = "The date is not valid", body = ErrorBody),
    )
)]
async fn intake(
    State(state): State<WebState>,
    q: Result<Query<IntakeQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<IntakeDay>, ApiError> {
    let Query(q) = q.map_err(query_error)?;
    let day = state
        .run(move |store, person, ctx| {
            let day = match q.date.as_deref().filter(|d| !d.trim().is_empty()) {
                Some(d) => diary::parse_day(ctx.now, d)?,
                None => ctx.now.date,
            };
            intake_on(store, person, ctx, day)
        })
        .await?;
    Ok(Json(day))
}

// ---------------------------------------------------------------------------------------------
// Insights

/// Which evening factors go with better or worse nights, with 95 % intervals widened for
/// neighbouring nights and Holm's correction across factors (associations, not causes).
#[utoipa::path(
    get,
    path = "/insights",
    responses((status = 200, description = "The insights of the whole diary", body = Insights))
)]
async fn insights(State(state): State<WebState>) -> Result<Json<Insights>, ApiError> {
    let found = state
        .run(|store, person, ctx| quietlegs_app::insights::insights(ctx, Some((store, person))))
        .await?;
    Ok(Json(found))
}

// ---------------------------------------------------------------------------------------------
// Export and import

/// The query of `GET /export`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ExportQuery {
    /// csv, json or fhir (default json).
    pub format: Option<String>,
}

/// A download: the body with its type and a dated file name.
pub(crate) fn attachment(
    body: impl Into<axum::body::Body>,
    content_type: &str,
    name: &str,
) -> Response {
    let mut res = (StatusCode::OK, body.into()).into_response();
    let h = res.headers_mut();
    if let Ok(v) = HeaderValue::from_str(content_type) {
        h.insert(header::CONTENT_TYPE, v);
    }
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

/// The whole diary as a file: `format` csv or json, named `quietlegs-diary-DATE.EXT`, or fhir
/// (`quietlegs-fhir-DATE.json`, `application/fhir+json`). or fhir
/// (`quietlegs-fhir-DATE.json`, `application/fhir+json`).
pub(crate) async fn export_file(
    state: &WebState,
    format: Option<&str>,
) -> Result<Response, ApiError> {
    let format = ExportFormat::parse(format.unwrap_or("json").trim())?;
    let (text, today) = state
        .run(move |store, person, ctx| {
            Ok((
                diary::export(ctx, Some((store, person)), format)?,
                ctx.now.date,
            ))
        })
        .await?;
    let (content_type, name) = match format {
        ExportFormat::Csv => (
            "text/csv; charset=utf-8",
            format!("quietlegs-diary-{today}.csv"),
        ),
        ExportFormat::Json => ("application/json", format!("quietlegs-diary-{today}.json")),
        ExportFormat::Fhir => (
            "application/fhir+json",
            format!("quietlegs-fhir-{today}.json"),
        ),
    };
    Ok(attachment(text, content_type, &name))
}

/// The whole diary in an open format (`docs/diary.md`), as a download.
#[utoipa::path(
    get,
    path = "/export",
    params(ExportQuery),
    responses(
        (status = 200, description = "The diary (attachment quietlegs-diary-DATE.json or .csv), or with format=fhir a FHIR R4 Bundle (attachment quietlegs-fhir-DATE.json, application/fhir+json)", content_type = "application/json"),
        (status = 422, description = "The format is not csv, json or fhir", body = ErrorBody),
    )
)]
async fn export(
    State(state): State<WebState>,
    q: Result<Query<ExportQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(q) = q.map_err(query_error)?;
    export_file(&state, q.format.as_deref()).await
}

/// An export to restore.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ImportInput {
    /// The text of a `quietlegs export` file, CSV or JSON.
    pub text: String,
    /// Only check the file and say what would be imported (nothing is stored).
    #[serde(default)]
    pub dry_run: bool,
}

/// What an import checked or restored.
pub(crate) enum ImportOutcome {
    Checked(ImportPreview),
    Imported(Imported),
}

/// Checks `text` and, unless `dry_run`, restores it into the empty diary in one transaction;
/// a refusal stores nothing (field `text` for the file's content).
pub(crate) async fn import_text(
    state: &WebState,
    text: String,
    dry_run: bool,
) -> Result<ImportOutcome, ApiError> {
    state
        .run_at(Now::read(), move |store, person, ctx| {
            let checked = diary::prepare_import(ctx, &text).map_err(|e| {
                if e.field.is_none() && e.kind == quietlegs_app::ErrorKind::BadInput {
                    e.in_field("text")
                } else {
                    e
                }
            })?;
            if dry_run {
                return Ok(ImportOutcome::Checked(diary::preview_import(
                    Some((store, person)),
                    &checked,
                )?));
            }
            Ok(ImportOutcome::Imported(diary::import(
                store, person, &checked,
            )?))
        })
        .await
}

/// Restores an export into an empty diary (ids and times kept; refused, storing nothing, when the
/// diary has entries or any entry is not valid).
#[utoipa::path(
    post,
    path = "/import",
    request_body = ImportInput,
    responses(
        (status = 200, description = "Checked only (dry_run): what would be imported", body = ImportPreview),
        (status = 201, description = "Imported", body = Imported),
        (status = 409, description = "The diary is not empty; nothing was imported", body = ErrorBody),
        (status = 422, description = "The file is not a valid export; nothing was imported", body = ErrorBody),
    )
)]
async fn import(
    State(state): State<WebState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    require_json(&headers)?;
    let input: ImportInput = parse_json(&body)?;
    Ok(
        match import_text(&state, input.text, input.dry_run).await? {
            ImportOutcome::Checked(p) => (StatusCode::OK, Json(p)).into_response(),
            ImportOutcome::Imported(i) => (StatusCode::CREATED, Json(i)).into_response(),
        },
    )
}
