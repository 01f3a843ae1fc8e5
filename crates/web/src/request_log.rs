//! The request log of a clinic server: one line per request on standard error, with the
//! method, the route's template (`/invite/{token}`, never the token, a query or a body), the
//! status and the time taken. Nothing a person typed, no cookie and no health data is logged.

use std::time::Instant;

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;

use crate::access::RouteTemplate;

pub(crate) async fn log_request(
    axum::extract::State(state): axum::extract::State<crate::WebState>,
    req: Request,
    next: Next,
) -> Response {
    if !state.is_clinic() {
        return next.run(req).await;
    }
    let method = req.method().clone();
    let started = Instant::now();
    let res = next.run(req).await;
    let route = res
        .extensions()
        .get::<RouteTemplate>()
        .map_or("(no route)", |t| t.0.as_str());
    eprintln!(
        "{method} {route} {} {:.1} ms",
        res.status().as_u16(),
        started.elapsed().as_secs_f64() * 1e3
    );
    res
}
