//! quietlegs web app: server-rendered pages and the JSON API under `/api/v1`, both over the
//! application layer (`quietlegs-app`), so the pages, the API and the CLI give the same answers.
//!
//! `router(state)` builds the whole app (tests call it with `oneshot`); `serve` runs it.

mod api;
mod chart;
mod diary_api;
mod diary_charts;
mod error;
mod log_pages;
mod pages;
mod plan_pages;
pub mod security;
mod trial_pages;

use std::sync::Arc;

use axum::middleware;
use axum::Router;
use quietlegs_app::{AppError, Context, FoodCatalog, Now};
use quietlegs_core::ReferenceData;
use quietlegs_store::{Identity, PersonId, SqliteStore, Store};

pub use api::ApiDoc;
pub use error::{ApiError, ErrorBody};

/// The single person of a personal (SQLite) database, as the CLI names them.
pub const LOCAL_PERSON: &str = "me";

/// What every request shares: the store, the reference data (loaded once) and the host names
/// the server answers to.
#[derive(Clone)]
pub struct WebState(Arc<Shared>);

struct Shared {
    /// Shared by every request (the store is `Sync`; it serialises its own writes).
    store: SqliteStore,
    reference: ReferenceData,
    /// The food table and its index, built on first use (a server that imports foods makes a
    /// new state after the import).
    foods: FoodCatalog,
    allowed_hosts: Vec<String>,
}

impl WebState {
    /// `allowed_hosts`: the host names (no port) the server answers to; loopback names are
    /// always allowed.
    pub fn new(store: SqliteStore, reference: ReferenceData, extra_hosts: &[String]) -> Self {
        let mut allowed_hosts: Vec<String> = ["127.0.0.1", "localhost", "::1"]
            .into_iter()
            .map(String::from)
            .collect();
        allowed_hosts.extend(extra_hosts.iter().map(|h| h.to_ascii_lowercase()));
        Self(Arc::new(Shared {
            store,
            reference,
            foods: FoodCatalog::new(),
            allowed_hosts,
        }))
    }

    pub fn allowed_hosts(&self) -> &[String] {
        &self.0.allowed_hosts
    }

    pub fn reference(&self) -> &ReferenceData {
        &self.0.reference
    }

    /// Runs a use case on a blocking thread with the store, the local person and a context whose
    /// clock is read once for this request.
    pub async fn run<T, F>(&self, work: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&SqliteStore, PersonId, &Context<'_>) -> Result<T, AppError> + Send + 'static,
    {
        self.run_at(Now::read(), work).await
    }

    /// [`WebState::run`] at a moment the handler has already read.
    pub async fn run_at<T, F>(&self, now: Now, work: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&SqliteStore, PersonId, &Context<'_>) -> Result<T, AppError> + Send + 'static,
    {
        let state = self.clone();
        tokio::task::spawn_blocking(move || {
            let ctx = Context {
                now: &now,
                reference: &state.0.reference,
                foods: &state.0.foods,
            };
            let store = &state.0.store;
            let person = store
                .person(&Identity::local(LOCAL_PERSON), &now.instant)
                .map_err(AppError::from)?;
            work(store, person, &ctx)
        })
        .await
        .map_err(|e| ApiError::from(AppError::internal(format!("a request failed: {e}"))))?
        .map_err(ApiError::from)
    }
}

/// Validates and stores one night through the diary use case (a second night for the same date
/// is a conflict, and the stored one is kept); a refused value names its field.
pub(crate) fn store_night(
    store: &SqliteStore,
    person: PersonId,
    ctx: &Context<'_>,
    night: quietlegs_core::diary::Night,
) -> Result<i64, AppError> {
    use quietlegs_app::diary;
    use quietlegs_core::diary::Record;
    const FIELDS: [&str; 5] = ["date", "severity", "sleep_quality", "hours_slept", "note"];
    let date = night.date;
    let record = Record::Night(night);
    // The API names the field of a refused value (the use case's message names it in words).
    record
        .validate(ctx.now.date, &ctx.reference.irls)
        .map_err(|e| match FIELDS.into_iter().find(|f| *f == e.field) {
            Some(f) => AppError::field(f, e.message.clone()),
            None => AppError::refused(e.to_string()),
        })?;
    let entry = diary::Entry::new(ctx, record)?;
    diary::log(
        store,
        person,
        ctx,
        entry,
        quietlegs_store::OnDuplicate::Refuse,
    )
    .map(|logged| logged.id)
    .map_err(|e| match e.kind {
        quietlegs_app::ErrorKind::Conflict => AppError::new(
            quietlegs_app::ErrorKind::Conflict,
            Some("date"),
            format!("there is already a night for {date}; it was kept unchanged"),
        ),
        _ => e,
    })
}

/// The whole app: pages, assets, the API and the security layers.
pub fn router(state: WebState) -> Router {
    Router::new()
        .merge(pages::routes())
        .merge(trial_pages::routes())
        .merge(plan_pages::routes())
        .merge(log_pages::routes())
        .merge(diary_api::routes())
        .nest("/api/v1", api::routes())
        .layer(middleware::from_fn(security::origin_guard))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            security::host_guard,
        ))
        .layer(middleware::from_fn(security::security_headers))
        .with_state(state)
}

/// Serves the app on `listener` until Ctrl-C.
pub async fn serve(listener: tokio::net::TcpListener, state: WebState) -> std::io::Result<()> {
    axum::serve(listener, router(state))
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
}

/// Binds `addr` and serves until Ctrl-C, on a runtime of its own (for the CLI); `ready` is told
/// the bound address (port 0 picks a free one).
pub fn serve_blocking(
    addr: std::net::SocketAddr,
    state: WebState,
    ready: impl FnOnce(std::net::SocketAddr),
) -> std::io::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        ready(listener.local_addr()?);
        serve(listener, state).await
    })
}
