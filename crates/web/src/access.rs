//! Who may use which route: every route is registered through [`Routes`] with an [`Access`],
//! which both guards it (a route layer) and lists it in the route table ([`crate::route_table`])
//! that the authorization-matrix test walks. A route cannot be added without an access level,
//! and the test fails for a route it has no request for.
//!
//! On a personal server (SQLite, one person) the access levels of the clinic do not apply: the
//! personal log-in (`login.rs`) guards everything, and the clinic's routes answer 404.
//! On a clinic server, a route's access is checked against the request's session (in the
//! database, so any server instance can check it): no session → the log-in (pages) or 401
//! (API); the wrong role → 403. The account of a live session is available to the handlers as
//! [`Viewer`] (an extension) and to [`WebState::run`], which scopes every use case to the
//! viewer's own person.

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::MethodRouter;
use axum::Router;
use quietlegs_store::clinic::{Account, Role};
use serde::Serialize;

use crate::error::ApiError;
use crate::WebState;

/// Who may use a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Access {
    /// Anyone: the log-in, the assets, the health check, invitation and reset links.
    Open,
    /// Any logged-in account (log-out, one's own password, the account page).
    Account,
    /// A participant, on their own data only.
    Participant,
    /// A clinician, on their linked participants only (checked again by the use case).
    Clinician,
    /// An admin: accounts, never health data.
    Admin,
}

impl Access {
    /// Whether an account of `role` may use a route of this access (sessions aside).
    pub fn admits(self, role: Role) -> bool {
        match self {
            Access::Open | Access::Account => true,
            Access::Participant => role == Role::Participant,
            Access::Clinician => role == Role::Clinician,
            Access::Admin => role == Role::Admin,
        }
    }
}

/// One row of the route table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RouteEntry {
    pub path: String,
    pub access: Access,
    /// Served only by a clinic server (404 on a personal one).
    pub clinic_only: bool,
}

/// The logged-in account of a clinic request (an extension set by the access guard).
#[derive(Debug, Clone)]
pub struct Viewer {
    pub account: Account,
    /// The session token (to end it at log-out); never logged.
    pub token: String,
}

tokio::task_local! {
    /// The viewer of the request being handled (clinic servers): [`WebState::run`] reads it so
    /// that every use case is scoped to the viewer's own person.
    pub(crate) static VIEWER: Viewer;
}

/// Routes registered with their access, collected for the route table.
pub struct Routes {
    router: Router<WebState>,
    entries: Vec<RouteEntry>,
    /// Recorded before each path (a router nested under `/api/v1`).
    prefix: &'static str,
    state: WebState,
}

impl Routes {
    pub fn new(state: &WebState) -> Self {
        Self::nested(state, "")
    }

    /// Routes that will be nested under `prefix`.
    pub fn nested(state: &WebState, prefix: &'static str) -> Self {
        Self {
            router: Router::new(),
            entries: Vec::new(),
            prefix,
            state: state.clone(),
        }
    }

    /// Adds a route with its access, served by personal and clinic servers alike.
    pub fn route(self, access: Access, path: &str, method: MethodRouter<WebState>) -> Self {
        self.add(access, false, path, method)
    }

    /// Adds a route only a clinic server serves (a personal server answers 404).
    pub fn clinic(self, access: Access, path: &str, method: MethodRouter<WebState>) -> Self {
        self.add(access, true, path, method)
    }

    fn add(
        mut self,
        access: Access,
        clinic_only: bool,
        path: &str,
        method: MethodRouter<WebState>,
    ) -> Self {
        let guarded =
            Router::new()
                .route(path, method)
                .route_layer(middleware::from_fn_with_state(
                    (self.state.clone(), access, clinic_only),
                    guard,
                ));
        self.router = self.router.merge(guarded);
        self.entries.push(RouteEntry {
            path: format!("{}{path}", self.prefix),
            access,
            clinic_only,
        });
        self
    }

    pub fn merge(mut self, other: Routes) -> Self {
        self.router = self.router.merge(other.router);
        self.entries.extend(other.entries);
        self
    }

    /// Nests `other` (made with [`Routes::nested`] and the same prefix) under its prefix.
    pub fn nest(mut self, other: Routes) -> Self {
        self.router = self.router.nest(other.prefix, other.router);
        self.entries.extend(other.entries);
        self
    }

    pub fn into_parts(self) -> (Router<WebState>, Vec<RouteEntry>) {
        (self.router, self.entries)
    }
}

/// The request's path as the client sent it (a nested router sees it without its prefix).
fn full_path(req: &Request) -> &str {
    req.extensions()
        .get::<axum::extract::OriginalUri>()
        .map_or(req.uri().path(), |o| o.0.path())
}

fn is_api(req: &Request) -> bool {
    full_path(req).starts_with("/api/")
}

/// The access guard of one route.
async fn guard(
    State((state, access, clinic_only)): State<(WebState, Access, bool)>,
    req: Request,
    next: Next,
) -> Response {
    let template = req
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map(|m| RouteTemplate(m.as_str().to_string()));
    let mut res = guarded(state, access, clinic_only, req, next).await;
    if let Some(t) = template {
        res.extensions_mut().insert(t);
    }
    res
}

async fn guarded(
    state: WebState,
    access: Access,
    clinic_only: bool,
    req: Request,
    next: Next,
) -> Response {
    if !state.is_clinic() {
        if clinic_only || matches!(access, Access::Clinician | Access::Admin) {
            return ApiError::new(
                StatusCode::NOT_FOUND,
                "this page exists only on a clinic server (quietlegs serve --clinic)".into(),
                None,
            )
            .into_response();
        }
        return next.run(req).await;
    }
    if access == Access::Open {
        // An open page still knows who is looking (an invitation offers to accept it).
        return match state.viewer_of(req.headers()).await {
            Ok(Some(viewer)) => with_viewer(viewer, req, next).await,
            _ => next.run(req).await,
        };
    }
    let viewer = match state.viewer_of(req.headers()).await {
        Ok(Some(viewer)) => viewer,
        Ok(None) => return log_in_first(&req),
        Err(e) => return e.into_response(),
    };
    if !access.admits(viewer.account.role) {
        return ApiError::new(
            StatusCode::FORBIDDEN,
            format!(
                "this is not for a {} account: {}",
                viewer.account.role,
                match access {
                    Access::Participant => "it is a participant's own page",
                    Access::Clinician => "it is for clinicians",
                    Access::Admin => "it is for the clinic's admin",
                    Access::Open | Access::Account => "",
                }
            ),
            None,
        )
        .into_response();
    }
    with_viewer(viewer, req, next).await
}

async fn with_viewer(viewer: Viewer, mut req: Request, next: Next) -> Response {
    req.extensions_mut().insert(viewer.clone());
    VIEWER.scope(viewer, next.run(req)).await
}

/// The route template of the request (`/invite/{token}`, never the token itself), passed on to
/// the request log in the response.
#[derive(Debug, Clone)]
pub(crate) struct RouteTemplate(pub(crate) String);

/// No live session: a page goes to the log-in form (coming back afterwards), an API call gets
/// 401.
fn log_in_first(req: &Request) -> Response {
    if is_api(req) {
        return ApiError::new(
            StatusCode::UNAUTHORIZED,
            "log in first: POST /api/v1/login with your username and password".into(),
            None,
        )
        .into_response();
    }
    let target = req
        .extensions()
        .get::<axum::extract::OriginalUri>()
        .map(|o| &o.0)
        .unwrap_or(req.uri())
        .path_and_query()
        .map_or("/", |p| p.as_str());
    Redirect::to(&format!(
        "/login?next={}",
        crate::login::query_value(target)
    ))
    .into_response()
}
