//! quietlegs web app: server-rendered pages and the JSON API under `/api/v1`, both over the
//! application layer (`quietlegs-app`), so the pages, the API and the CLI give the same answers.
//!
//! `router(state)` builds the whole app (tests call it with `oneshot`); `serve` runs it.

pub mod access;
mod api;
mod chart;
mod clinic_pages;
mod data_api;
mod data_pages;
mod diary_api;
mod diary_charts;
mod diary_writer;
mod error;
mod food_pages;
mod log_pages;
mod login;
mod pages;
mod plan_pages;
mod report_pages;
mod request_log;
pub mod security;
mod trial_api;
mod trial_pages;

use std::sync::Arc;

use access::Routes;
use axum::middleware;
use axum::Router;
use quietlegs_app::{AppError, Context, FoodCatalog, Now};
use quietlegs_core::ReferenceData;
use quietlegs_store::{AnyStore, Identity, PersonId, Store};

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
    store: Arc<AnyStore>,
    /// Diary entries are stored through it, committed in batches (group commit).
    writer: diary_writer::DiaryWriter,
    reference: ReferenceData,
    /// The food table and its index, built on first use (a server that imports foods makes a
    /// new state after the import).
    foods: FoodCatalog,
    allowed_hosts: Vec<String>,
    /// Log-in: whether it is required, the sessions and the throttle.
    gate: login::Gate,
    /// The local person, resolved (and created if new) by the first request, so that later
    /// requests, reads above all, take no write lock for it.
    local_person: std::sync::OnceLock<PersonId>,
    /// A clinic server (accounts and sessions in the database), or a personal one.
    clinic: Option<ClinicSettings>,
}

/// How a clinic server runs.
#[derive(Debug, Clone, Copy, Default)]
pub struct ClinicSettings {
    /// The server is reached over HTTPS (TLS ended by a proxy in front of it): cookies are
    /// `Secure` and browsers are told to keep to HTTPS (HSTS).
    pub behind_https: bool,
}

impl WebState {
    /// `allowed_hosts`: the host names (no port) the server answers to; loopback names are
    /// always allowed.
    pub fn new(
        store: impl Into<AnyStore>,
        reference: ReferenceData,
        extra_hosts: &[String],
    ) -> Self {
        Self::build(store.into(), reference, extra_hosts, None)
    }

    fn build(
        store: AnyStore,
        reference: ReferenceData,
        extra_hosts: &[String],
        clinic: Option<ClinicSettings>,
    ) -> Self {
        let mut allowed_hosts: Vec<String> = ["127.0.0.1", "localhost", "::1"]
            .into_iter()
            .map(String::from)
            .collect();
        allowed_hosts.extend(extra_hosts.iter().map(|h| h.to_ascii_lowercase()));
        let store = Arc::new(store);
        Self(Arc::new(Shared {
            writer: diary_writer::DiaryWriter::new(Arc::clone(&store)),
            store,
            reference,
            foods: FoodCatalog::new(),
            allowed_hosts,
            local_person: std::sync::OnceLock::new(),
            gate: login::Gate::default(),
            clinic,
        }))
    }

    /// A clinic server's state: every request is someone's, by their session in the database
    /// (no state in the process, so several instances can serve one database).
    pub fn clinic(
        store: impl Into<AnyStore>,
        reference: ReferenceData,
        extra_hosts: &[String],
        settings: ClinicSettings,
    ) -> Self {
        Self::build(store.into(), reference, extra_hosts, Some(settings))
    }

    /// Whether this is a clinic server.
    pub fn is_clinic(&self) -> bool {
        self.0.clinic.is_some()
    }

    /// The clinic's settings (`None` on a personal server).
    pub fn clinic_settings(&self) -> Option<ClinicSettings> {
        self.0.clinic
    }

    /// The account of the request's session cookie, if it is live (clinic servers).
    pub(crate) async fn viewer_of(
        &self,
        headers: &axum::http::HeaderMap,
    ) -> Result<Option<access::Viewer>, ApiError> {
        let Some(token) = login::session_cookie(headers) else {
            return Ok(None);
        };
        let state = self.clone();
        let now = Now::read();
        tokio::task::spawn_blocking(move || {
            let unix = now.unix_seconds()?;
            Ok(
                quietlegs_app::clinic::session(&*state.0.store, unix, &token)?.map(|live| {
                    access::Viewer {
                        account: live.account,
                        token,
                    }
                }),
            )
        })
        .await
        .map_err(|e| ApiError::from(AppError::internal(format!("a request failed: {e}"))))?
        .map_err(|e: AppError| ApiError::from(e))
    }

    /// Runs a clinic use case on a blocking thread with the store and a context (no person:
    /// the use case is given the viewer's account and checks what it may reach).
    pub(crate) async fn run_clinic<T, F>(&self, work: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&AnyStore, &Context<'_>) -> Result<T, AppError> + Send + 'static,
    {
        let state = self.clone();
        let now = Now::read();
        tokio::task::spawn_blocking(move || {
            let ctx = Context {
                now: &now,
                reference: &state.0.reference,
                foods: &state.0.foods,
            };
            work(&state.0.store, &ctx)
        })
        .await
        .map_err(|e| ApiError::from(AppError::internal(format!("a request failed: {e}"))))?
        .map_err(ApiError::from)
    }

    pub fn allowed_hosts(&self) -> &[String] {
        &self.0.allowed_hosts
    }

    /// From now on every page and API call needs a log-in (the person has set a password).
    pub fn require_login(&self) {
        self.0.gate.require();
    }

    pub(crate) fn gate(&self) -> &login::Gate {
        &self.0.gate
    }

    pub fn reference(&self) -> &ReferenceData {
        &self.0.reference
    }

    /// Runs a use case on a blocking thread with the store, the local person and a context whose
    /// clock is read once for this request.
    pub async fn run<T, F>(&self, work: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&AnyStore, PersonId, &Context<'_>) -> Result<T, AppError> + Send + 'static,
    {
        self.run_at(Now::read(), work).await
    }

    /// [`WebState::run`] at a moment the handler has already read.
    pub async fn run_at<T, F>(&self, now: Now, work: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&AnyStore, PersonId, &Context<'_>) -> Result<T, AppError> + Send + 'static,
    {
        let state = self.clone();
        let viewer_person = self.viewer_person()?;
        tokio::task::spawn_blocking(move || {
            let ctx = Context {
                now: &now,
                reference: &state.0.reference,
                foods: &state.0.foods,
            };
            let store = &state.0.store;
            let person = match (viewer_person, state.0.local_person.get()) {
                (Some(person), _) => person,
                (None, Some(person)) => *person,
                (None, None) => {
                    let person = store
                        .person(&Identity::local(LOCAL_PERSON), &now.instant)
                        .map_err(AppError::from)?;
                    *state.0.local_person.get_or_init(|| person)
                }
            };
            work(store, person, &ctx)
        })
        .await
        .map_err(|e| ApiError::from(AppError::internal(format!("a request failed: {e}"))))?
        .map_err(ApiError::from)
    }
}

impl WebState {
    /// On a clinic server, the person of the request's viewer (a request without one is
    /// refused: the access guard should have stopped it); on a personal server `None` (the
    /// local person).
    fn viewer_person(&self) -> Result<Option<PersonId>, ApiError> {
        if !self.is_clinic() {
            return Ok(None);
        }
        access::VIEWER
            .try_with(|v| v.account.person)
            .map(Some)
            .map_err(|_| {
                ApiError::new(
                    axum::http::StatusCode::UNAUTHORIZED,
                    "log in first".into(),
                    None,
                )
            })
    }

    /// The person of this request: the viewer's on a clinic server, else the local person
    /// (resolved, and created if new, by the first request that needs it).
    async fn local_person(&self, now: &Now) -> Result<PersonId, ApiError> {
        if let Some(person) = self.viewer_person()? {
            return Ok(person);
        }
        match self.0.local_person.get() {
            Some(person) => Ok(*person),
            None => self.run_at(now.clone(), |_, person, _| Ok(person)).await,
        }
    }

    /// Stores one diary entry, validated by `build` on this request's context, through the
    /// group-commit writer (see `diary_writer`): answered once the entry is on disk.
    pub(crate) async fn log_entry(
        &self,
        now: Now,
        on_duplicate: quietlegs_store::OnDuplicate,
        build: impl FnOnce(&Context<'_>) -> Result<quietlegs_app::diary::Entry, AppError>,
    ) -> Result<quietlegs_app::diary::Logged, ApiError> {
        let person = self.local_person(&now).await?;
        let ctx = Context {
            now: &now,
            reference: &self.0.reference,
            foods: &self.0.foods,
        };
        let entry = build(&ctx)?;
        let new = quietlegs_app::diary::batch_record(person, &ctx, entry, on_duplicate);
        let record = new.record.clone();
        let id = self.0.writer.add(new).await.map_err(AppError::from)?;
        Ok(quietlegs_app::diary::Logged { id, record })
    }

    /// Stores the entries `build` validates on this request's context in one transaction
    /// (one job of the writer): if the transaction fails, none is stored; an entry refused on
    /// its own (a duplicate date) is refused alone, and the first refusal is returned.
    pub(crate) async fn log_entries(
        &self,
        now: Now,
        build: impl FnOnce(&Context<'_>) -> Result<Vec<quietlegs_app::diary::Entry>, AppError>,
    ) -> Result<Vec<quietlegs_app::diary::Logged>, ApiError> {
        let person = self.local_person(&now).await?;
        let ctx = Context {
            now: &now,
            reference: &self.0.reference,
            foods: &self.0.foods,
        };
        let records: Vec<_> = build(&ctx)?
            .into_iter()
            .map(|entry| {
                quietlegs_app::diary::batch_record(
                    person,
                    &ctx,
                    entry,
                    quietlegs_store::OnDuplicate::Refuse,
                )
            })
            .collect();
        let kept: Vec<_> = records.iter().map(|r| r.record.clone()).collect();
        let outcomes = self
            .0
            .writer
            .add_all(records)
            .await
            .map_err(AppError::from)?;
        outcomes
            .into_iter()
            .zip(kept)
            .map(|(outcome, record)| {
                outcome
                    .map(|id| quietlegs_app::diary::Logged { id, record })
                    .map_err(|e| ApiError::from(AppError::from(e)))
            })
            .collect()
    }

    /// Validates and stores one night (a second night for the same date is a conflict, and
    /// the stored one is kept); a refused value names its field.
    pub(crate) async fn log_night(
        &self,
        now: Now,
        night: quietlegs_core::diary::Night,
    ) -> Result<i64, ApiError> {
        let date = night.date;
        self.log_entry(now, quietlegs_store::OnDuplicate::Refuse, |ctx| {
            night_entry(ctx, night)
        })
        .await
        .map(|logged| logged.id)
        .map_err(|e| {
            if e.status == axum::http::StatusCode::CONFLICT {
                ApiError::from(AppError::new(
                    quietlegs_app::ErrorKind::Conflict,
                    Some("date"),
                    format!("there is already a night for {date}; it was kept unchanged"),
                ))
            } else {
                e
            }
        })
    }
}

/// A night validated as a diary entry; a refused value names its field (the use case's
/// message names it in words).
fn night_entry(
    ctx: &Context<'_>,
    night: quietlegs_core::diary::Night,
) -> Result<quietlegs_app::diary::Entry, AppError> {
    use quietlegs_core::diary::Record;
    const FIELDS: [&str; 5] = ["date", "severity", "sleep_quality", "hours_slept", "note"];
    let record = Record::Night(night);
    record
        .validate(ctx.now.date, &ctx.reference.irls)
        .map_err(|e| match FIELDS.into_iter().find(|f| *f == e.field) {
            Some(f) => AppError::field(f, e.message.clone()),
            None => AppError::refused(e.to_string()),
        })?;
    quietlegs_app::diary::Entry::new(ctx, record)
}

/// Every route with its access (built with the app, so it cannot miss one).
fn routes(state: &WebState) -> Routes {
    Routes::new(state)
        .merge(pages::routes(state))
        .merge(trial_pages::routes(state))
        .merge(login::routes(state))
        .merge(plan_pages::routes(state))
        .merge(log_pages::routes(state))
        .merge(diary_api::routes(state))
        .merge(food_pages::routes(state))
        .merge(data_pages::routes(state))
        .merge(report_pages::routes(state))
        .merge(clinic_pages::routes(state))
        .nest(
            api::routes(state)
                .merge(data_api::routes(state))
                .merge(trial_api::routes(state))
                .merge(report_pages::api_routes(state))
                .merge(clinic_pages::api_routes(state)),
        )
}

/// The route table: every path the app serves with who may use it (the authorization-matrix
/// test walks it).
pub fn route_table(state: &WebState) -> Vec<access::RouteEntry> {
    routes(state).into_parts().1
}

/// The whole app: pages, assets, the API and the security layers.
pub fn router(state: WebState) -> Router {
    let (app, _) = routes(&state).into_parts();
    app.layer(middleware::from_fn_with_state(
        state.clone(),
        login::login_guard,
    ))
    .layer(middleware::from_fn(security::origin_guard))
    .layer(middleware::from_fn_with_state(
        state.clone(),
        security::host_guard,
    ))
    .layer(middleware::from_fn_with_state(
        state.clone(),
        security::security_headers,
    ))
    .layer(middleware::from_fn_with_state(
        state.clone(),
        request_log::log_request,
    ))
    .with_state(state)
}

/// Serves the app on `listener` until Ctrl-C.
pub async fn serve(listener: tokio::net::TcpListener, state: WebState) -> std::io::Result<()> {
    // The client's address (for the log-in throttle) comes with each connection.
    axum::serve(
        listener,
        router(state).into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
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
