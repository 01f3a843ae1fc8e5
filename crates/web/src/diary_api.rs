//! The JSON API of the profile, the plan and the diary beyond the night: `/api/v1/profile`,
//! `/api/v1/plan`, `/api/v1/doses`, `/api/v1/side-effects`, `/api/v1/factors`, `/api/v1/irls`.
//! Described in the same OpenAPI document as the rest of the API ([`DiaryApiDoc`] is merged into
//! `ApiDoc`).

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::Json;
use quietlegs_app::entries::{
    self, AmountBasis, DoseInput, FactorInput, IrlsInput, SideEffectsInput,
};
use quietlegs_app::profile::{
    self, KidneyDocument, MedicationDocument, PersonProfile, ProfileDocument, SupplementDocument,
};
use quietlegs_app::AppError;
use serde::Serialize;
use utoipa::{Modify, OpenApi, ToSchema};

use crate::access::{Access, Routes};
use crate::api::{parse_json, require_json};
use crate::error::{ApiError, ErrorBody};
use crate::WebState;

pub fn routes(state: &WebState) -> Routes {
    Routes::new(state)
        .route(
            Access::Participant,
            "/api/v1/profile",
            get(get_profile).put(put_profile),
        )
        .route(Access::Participant, "/api/v1/plan", get(get_plan))
        .route(Access::Participant, "/api/v1/doses", post(log_dose))
        .route(
            Access::Participant,
            "/api/v1/side-effects",
            post(log_side_effects),
        )
        .route(Access::Participant, "/api/v1/factors", post(log_factor))
        .route(Access::Participant, "/api/v1/irls", post(log_irls))
}

/// The OpenAPI description of these routes (merged into `ApiDoc` by [`AddDiaryApi`]).
#[derive(OpenApi)]
#[openapi(
    paths(
        get_profile,
        put_profile,
        get_plan,
        log_dose,
        log_side_effects,
        log_factor,
        log_irls
    ),
    components(schemas(
        ProfileDocument,
        KidneyDocument,
        MedicationDocument,
        SupplementDocument,
        StoredProfileBody,
        PlanBody,
        DoseInput,
        AmountBasis,
        SideEffectsInput,
        FactorInput,
        IrlsInput,
        LoggedEntry
    ))
)]
pub struct DiaryApiDoc;

/// Adds [`DiaryApiDoc`] to the API document.
pub struct AddDiaryApi;

impl Modify for AddDiaryApi {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        openapi.merge(DiaryApiDoc::openapi());
    }
}

/// The stored profile.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct StoredProfileBody {
    /// The profile's values (the keys of docs/profile.md).
    pub document: ProfileDocument,
    /// The TOML document as stored (what `quietlegs plan --profile FILE` reads).
    pub toml: String,
    /// When it was stored (RFC 3339).
    pub updated_at: String,
}

impl StoredProfileBody {
    fn of(p: &PersonProfile) -> Self {
        Self {
            document: ProfileDocument::of(&p.profile),
            toml: p.document.clone(),
            updated_at: p.updated_at.clone(),
        }
    }
}

/// The plan (schema `quietlegs.plan/2`, documented field by field in docs/plan-json.md): the
/// same JSON as `quietlegs plan --json`.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(value_type = Object)]
pub struct PlanBody(serde_json::Value);

/// A stored diary entry.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LoggedEntry {
    pub id: i64,
    /// The entry as stored (docs/diary.md): its `kind` and fields.
    #[schema(value_type = Object)]
    pub record: serde_json::Value,
}

fn no_profile() -> AppError {
    AppError::not_found(
        None,
        "there is no profile yet: PUT /api/v1/profile (or fill the form at /profile)",
    )
}

/// The stored profile.
#[utoipa::path(
    get,
    path = "/api/v1/profile",
    responses(
        (status = 200, description = "The stored profile", body = StoredProfileBody),
        (status = 404, description = "No profile yet", body = ErrorBody),
    )
)]
async fn get_profile(State(state): State<WebState>) -> Result<Json<StoredProfileBody>, ApiError> {
    let p = state
        .run(|store, person, ctx| profile::stored(store, person, ctx)?.ok_or_else(no_profile))
        .await?;
    Ok(Json(StoredProfileBody::of(&p)))
}

/// Stores the profile, replacing the earlier one; checked by the same parser as a profile file.
#[utoipa::path(
    put,
    path = "/api/v1/profile",
    request_body = ProfileDocument,
    responses(
        (status = 200, description = "Stored", body = StoredProfileBody),
        (status = 422, description = "A value is refused; nothing was stored", body = ErrorBody),
    )
)]
async fn put_profile(
    State(state): State<WebState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<StoredProfileBody>, ApiError> {
    require_json(&headers)?;
    let document: ProfileDocument = parse_json(&body)?;
    let p = state
        .run(move |store, person, ctx| profile::save(store, person, ctx, &document))
        .await?;
    Ok(Json(StoredProfileBody::of(&p)))
}

/// The plan for the stored profile.
#[utoipa::path(
    get,
    path = "/api/v1/plan",
    responses(
        (status = 200, description = "The plan (docs/plan-json.md)", body = PlanBody),
        (status = 404, description = "No profile yet", body = ErrorBody),
    )
)]
async fn get_plan(State(state): State<WebState>) -> Result<Json<PlanBody>, ApiError> {
    let plan = state
        .run(|store, person, ctx| {
            let (_, plan) = profile::stored_plan(store, person, ctx)?.ok_or_else(no_profile)?;
            serde_json::to_value(&plan)
                .map_err(|e| AppError::internal(format!("writing the plan: {e}")))
        })
        .await?;
    Ok(Json(PlanBody(plan)))
}

/// Validates and stores the entry `build` makes (through the group-commit writer).
async fn log_entry<T, F>(
    state: WebState,
    headers: &HeaderMap,
    body: &[u8],
    build: F,
) -> Result<impl IntoResponse, ApiError>
where
    T: serde::de::DeserializeOwned + Send + 'static,
    F: FnOnce(&quietlegs_app::Context<'_>, &T) -> Result<quietlegs_app::diary::Entry, AppError>
        + Send
        + 'static,
{
    require_json(headers)?;
    let input: T = parse_json(body)?;
    let logged = state
        .log_entry(
            quietlegs_app::Now::read(),
            quietlegs_store::OnDuplicate::Refuse,
            |ctx| build(ctx, &input),
        )
        .await?;
    let record = serde_json::to_value(&logged.record)
        .map_err(|e| ApiError::from(AppError::internal(format!("writing the entry: {e}"))))?;
    Ok((
        StatusCode::CREATED,
        Json(LoggedEntry {
            id: logged.id,
            record,
        }),
    ))
}

/// Logs a supplement dose (converted to elemental magnesium like `quietlegs log dose`).
#[utoipa::path(
    post,
    path = "/api/v1/doses",
    request_body = DoseInput,
    responses(
        (status = 201, description = "Stored", body = LoggedEntry),
        (status = 422, description = "A field is refused; nothing was stored", body = ErrorBody),
    )
)]
async fn log_dose(
    State(state): State<WebState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<impl IntoResponse, ApiError> {
    log_entry(state, &headers, &body, |ctx, d: &DoseInput| {
        entries::dose(ctx, d)
    })
    .await
}

/// Logs an evening's side effects (one entry per date).
#[utoipa::path(
    post,
    path = "/api/v1/side-effects",
    request_body = SideEffectsInput,
    responses(
        (status = 201, description = "Stored", body = LoggedEntry),
        (status = 409, description = "There is already an entry for that date", body = ErrorBody),
        (status = 422, description = "A field is refused; nothing was stored", body = ErrorBody),
    )
)]
async fn log_side_effects(
    State(state): State<WebState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<impl IntoResponse, ApiError> {
    log_entry(state, &headers, &body, |ctx, s: &SideEffectsInput| {
        entries::side_effects(ctx, s)
    })
    .await
}

/// Logs an evening factor.
#[utoipa::path(
    post,
    path = "/api/v1/factors",
    request_body = FactorInput,
    responses(
        (status = 201, description = "Stored", body = LoggedEntry),
        (status = 422, description = "A field is refused; nothing was stored", body = ErrorBody),
    )
)]
async fn log_factor(
    State(state): State<WebState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<impl IntoResponse, ApiError> {
    log_entry(state, &headers, &body, |ctx, f: &FactorInput| {
        entries::factor(ctx, f)
    })
    .await
}

/// Logs a weekly IRLS: ten item values 0-4; the entry holds its total and band.
#[utoipa::path(
    post,
    path = "/api/v1/irls",
    request_body = IrlsInput,
    responses(
        (status = 201, description = "Stored", body = LoggedEntry),
        (status = 409, description = "There is already an IRLS for that date", body = ErrorBody),
        (status = 422, description = "A field is refused; nothing was stored", body = ErrorBody),
    )
)]
async fn log_irls(
    State(state): State<WebState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<impl IntoResponse, ApiError> {
    log_entry(state, &headers, &body, |ctx, i: &IrlsInput| {
        entries::irls(ctx, i)
    })
    .await
}
