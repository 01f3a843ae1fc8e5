//! The trial's API (nested under `/api/v1`; described by [`TrialApi`]): plan a trial, record
//! the end-of-period guesses, unblind, and read the calendar and the report. The blinding gate is
//! the application layer's: while a blinded trial is not unblinded, the calendar gives periods
//! by number and the report is refused.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::Json;
use jiff::civil::Date;
use quietlegs_app::trial::{self, DesignChoice};
use quietlegs_app::{AppError, Now};
use serde::{Deserialize, Serialize};
use utoipa::{OpenApi, ToSchema};

use crate::access::{Access, Routes};
use crate::api::{parse_json, require_json};
use crate::error::{ApiError, ErrorBody};
use crate::WebState;

pub fn routes(state: &WebState) -> Routes {
    Routes::nested(state, "/api/v1")
        .route(Access::Participant, "/trials", post(plan_trial))
        .route(Access::Participant, "/trial/guesses", post(record_guess))
        .route(Access::Participant, "/trial/unblind", post(unblind))
        .route(Access::Participant, "/trial/cancel", post(cancel))
        .route(Access::Participant, "/trial/calendar", get(calendar))
        .route(Access::Participant, "/trial/report", get(report))
}

/// The paths and types of this module (nested under `/api/v1` by [`crate::ApiDoc`]).
#[derive(OpenApi)]
#[openapi(
    paths(plan_trial, record_guess, unblind, cancel, calendar, report),
    components(schemas(
        TrialInput,
        PlannedTrial,
        GuessInput,
        UnblindInput,
        TrialBody,
        Cancelled
    ))
)]
pub struct TrialApi;

/// A trial to plan; every field may be left out for the defaults of `rules.toml`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TrialInput {
    /// A name (default `trial-START`).
    pub name: Option<String>,
    /// `placebo` (blinded unless `open`), `nothing` (open) or `forms`.
    pub compare: Option<String>,
    /// The first night (default tomorrow).
    #[schema(value_type = Option<String>, format = Date)]
    pub start: Option<Date>,
    pub period_days: Option<u32>,
    pub run_in_days: Option<u32>,
    pub cycles: Option<u32>,
    /// An open-label trial even against placebo.
    #[serde(default)]
    pub open: bool,
}

/// A planned trial. For a blinded trial, `helper_sheet` is the page for the helper who fills the
/// containers (it names the allocation: hand it over unread); it is given only here, once.
#[derive(Debug, Serialize, ToSchema)]
pub struct PlannedTrial {
    pub trial: String,
    pub plan_hash: String,
    pub blinded: bool,
    pub helper_sheet: Option<String>,
}

/// Plans and registers a trial (its analysis fixed before any data).
#[utoipa::path(
    post,
    path = "/trials",
    request_body = TrialInput,
    responses(
        (status = 201, description = "Registered", body = PlannedTrial),
        (status = 409, description = "A trial of that name exists", body = ErrorBody),
        (status = 422, description = "A field is refused; nothing was registered", body = ErrorBody),
    )
)]
async fn plan_trial(
    State(state): State<WebState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<impl IntoResponse, ApiError> {
    require_json(&headers)?;
    let input: TrialInput = parse_json(&body)?;
    let planned = state
        .run(move |store, person, ctx| {
            let choice = DesignChoice {
                compare: input.compare,
                period_days: input.period_days,
                run_in_days: input.run_in_days,
                cycles: input.cycles,
                open: input.open,
                ..DesignChoice::default()
            };
            let seed: u64 = rand::random();
            let prepared = trial::prepare(ctx, input.name.as_deref(), &choice, seed, input.start)?;
            let helper_sheet = prepared.helper_sheet.clone();
            let registered = trial::register(store, person, ctx, prepared)?;
            let status = trial::status(store, person, ctx, Some(&registered.name))?;
            Ok(PlannedTrial {
                trial: registered.name,
                plan_hash: status.plan_hash,
                blinded: status.blinded,
                helper_sheet,
            })
        })
        .await?;
    Ok((StatusCode::CREATED, Json(planned)))
}

/// An end-of-period guess of what the period held.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GuessInput {
    /// 1-based.
    pub period: usize,
    /// One of the trial's arms.
    pub arm: String,
}

/// Records the guess for a period of the latest trial (once its last night has come).
#[utoipa::path(
    post,
    path = "/trial/guesses",
    request_body = GuessInput,
    responses(
        (status = 204, description = "Recorded"),
        (status = 404, description = "No trial", body = ErrorBody),
        (status = 409, description = "Already guessed", body = ErrorBody),
        (status = 422, description = "Refused (period, arm or too early); nothing stored", body = ErrorBody),
    )
)]
async fn record_guess(
    State(state): State<WebState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<StatusCode, ApiError> {
    require_json(&headers)?;
    let input: GuessInput = parse_json(&body)?;
    state
        .run(move |store, person, ctx| {
            trial::guess(store, person, ctx, None, input.period, &input.arm)
        })
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Unblinding: after the last night, or early with a reason.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UnblindInput {
    #[serde(default)]
    pub early: bool,
    pub reason: Option<String>,
}

/// A trial document of the application layer (its JSON is that of the CLI's `--json`, see
/// docs/json.md).
#[derive(Debug, Serialize, ToSchema)]
#[schema(value_type = Object)]
pub struct TrialBody(serde_json::Value);

fn body_of<T: Serialize>(value: &T) -> Result<TrialBody, AppError> {
    serde_json::to_value(value)
        .map(TrialBody)
        .map_err(|e| AppError::internal(format!("writing the trial: {e}")))
}

/// Unblinds the latest trial: the arm of each period (`trial unblind --json`).
#[utoipa::path(
    post,
    path = "/trial/unblind",
    request_body = UnblindInput,
    responses(
        (status = 200, description = "The periods with their arms (`Unblinding`)", body = TrialBody),
        (status = 422, description = "Refused (too early without `early` and a reason, open trial)", body = ErrorBody),
    )
)]
async fn unblind(
    State(state): State<WebState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<TrialBody>, ApiError> {
    require_json(&headers)?;
    let input: UnblindInput = parse_json(&body)?;
    let done = state
        .run(move |store, person, ctx| {
            let reason = input
                .reason
                .as_deref()
                .map(str::trim)
                .filter(|r| !r.is_empty());
            let u = trial::unblind(store, person, ctx, None, input.early, reason)?;
            body_of(&u)
        })
        .await?;
    Ok(Json(done))
}

/// A cancelled trial.
#[derive(Debug, Serialize, ToSchema)]
pub struct Cancelled {
    pub cancelled: String,
}

/// Cancels the latest trial before its first night (it is removed whole; its helper's sheet is
/// void). A trial that has started answers 409: it can only be unblinded early.
#[utoipa::path(
    post,
    path = "/trial/cancel",
    responses(
        (status = 200, description = "Cancelled", body = Cancelled),
        (status = 404, description = "No trial", body = ErrorBody),
        (status = 409, description = "The trial has started", body = ErrorBody),
    )
)]
async fn cancel(
    State(state): State<WebState>,
    headers: HeaderMap,
) -> Result<Json<Cancelled>, ApiError> {
    // JSON only, like every state-changing call (no body is needed: `{}` will do).
    require_json(&headers)?;
    let name = state
        .run(|store, person, ctx| trial::cancel_before_start(store, person, ctx, None))
        .await?;
    Ok(Json(Cancelled { cancelled: name }))
}

/// The latest trial's periods with their dates (`trial calendar --json`); arms only once they
/// may be shown.
#[utoipa::path(
    get,
    path = "/trial/calendar",
    responses(
        (status = 200, description = "`TrialCalendar`", body = TrialBody),
        (status = 404, description = "No trial", body = ErrorBody),
    )
)]
async fn calendar(State(state): State<WebState>) -> Result<Json<TrialBody>, ApiError> {
    let c = state
        .run(|store, person, _| body_of(&trial::calendar(store, person, None)?))
        .await?;
    Ok(Json(c))
}

/// The latest trial's report (`trial report --json`): refused while a blinded trial is not
/// unblinded, and before enough nights.
#[utoipa::path(
    get,
    path = "/trial/report",
    responses(
        (status = 200, description = "`TrialReport`", body = TrialBody),
        (status = 404, description = "No trial", body = ErrorBody),
        (status = 400, description = "Not yet (blinded, or too few nights)", body = ErrorBody),
    )
)]
async fn report(State(state): State<WebState>) -> Result<Json<TrialBody>, ApiError> {
    let now = Now::read();
    let r = state
        .run_at(now, |store, person, ctx| {
            body_of(&trial::report(store, person, ctx, None)?)
        })
        .await?;
    Ok(Json(r))
}
