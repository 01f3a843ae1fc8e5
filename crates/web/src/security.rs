//! Safe even on one machine: any web page the person visits can send requests to a server on
//! loopback. Four guards:
//!
//! 1. **Host allow-list** (DNS rebinding): a request whose `Host` is not one of the server's own
//!    names is refused before any handler runs.
//! 2. **Origin check** on every state-changing request: a browser sends `Origin` (and
//!    `Sec-Fetch-Site`) with every cross-site POST; one that names another site is refused.
//!    Clients that are not browsers (scripts, curl) send neither and are not a CSRF vector.
//! 3. **CSRF token** on every form: a random token in a `SameSite=Strict`, `HttpOnly` cookie and
//!    the same token in a hidden field (double submit), compared in constant time.
//! 4. **Security headers** on every response: a CSP without inline script, `nosniff`,
//!    `frame-ancestors 'none'`, referrers only within the app.

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;
use crate::WebState;

/// The cookie holding the CSRF token.
pub const CSRF_COOKIE: &str = "ql_csrf";
/// The hidden form field holding the CSRF token.
pub const CSRF_FIELD: &str = "csrf";

/// The content security policy: only this origin's own files; no inline script or style.
pub const CSP: &str =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
     connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/// The host part of a `Host` header value (`127.0.0.1:8080` → `127.0.0.1`, `[::1]:80` → `::1`).
pub fn host_name(host: &str) -> &str {
    if let Some(rest) = host.strip_prefix('[') {
        return rest.split(']').next().unwrap_or("");
    }
    host.rsplit_once(':').map_or(host, |(name, _)| name)
}

fn forbidden(message: &str) -> Response {
    ApiError::new(StatusCode::FORBIDDEN, message.to_string(), None).into_response()
}

/// Refuses requests for a host name the server does not answer to.
pub async fn host_guard(State(state): State<WebState>, req: Request, next: Next) -> Response {
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(|h| host_name(h).to_ascii_lowercase());
    match host {
        Some(h) if state.allowed_hosts().contains(&h) => next.run(req).await,
        _ => ApiError::new(
            StatusCode::MISDIRECTED_REQUEST,
            "this server does not answer to that host name".into(),
            Some("host"),
        )
        .into_response(),
    }
}

/// Whether the browser says a state-changing request comes from this very origin (or it is not
/// a browser at all).
pub fn same_origin(headers: &HeaderMap) -> bool {
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    if let Some(origin) = headers.get(header::ORIGIN) {
        let Ok(origin) = origin.to_str() else {
            return false;
        };
        // `null` (sandboxed frames, some redirects) is never trusted.
        let authority = origin
            .strip_prefix("http://")
            .or_else(|| origin.strip_prefix("https://"));
        return matches!((authority, host), (Some(a), Some(h)) if a.eq_ignore_ascii_case(h));
    }
    match headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        Some(site) => site == "same-origin" || site == "none",
        None => true,
    }
}

/// Refuses state-changing requests sent by another site.
pub async fn origin_guard(req: Request, next: Next) -> Response {
    let safe = matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if safe || same_origin(req.headers()) {
        next.run(req).await
    } else {
        let origin = req
            .headers()
            .get(header::ORIGIN)
            .and_then(|o| o.to_str().ok())
            .unwrap_or("(none)");
        forbidden(&format!(
            "refused: this request came from another site (Origin {origin}, not this server)"
        ))
    }
}

/// Adds the security headers to every response. On a clinic server behind HTTPS, browsers are
/// also told to keep to HTTPS (HSTS), and pages (health data) are never cached.
pub async fn security_headers(State(state): State<WebState>, req: Request, next: Next) -> Response {
    let asset = req.uri().path().starts_with("/assets/");
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    if let Some(clinic) = state.clinic_settings() {
        if clinic.behind_https {
            h.insert(
                header::STRICT_TRANSPORT_SECURITY,
                HeaderValue::from_static("max-age=31536000"),
            );
        }
        if !asset {
            h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        }
    }
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    // `same-origin`, not `no-referrer`: under `no-referrer` browsers send `Origin: null` with
    // the app's own form posts, which the Origin check must refuse.
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    h.insert(
        "cross-origin-opener-policy",
        HeaderValue::from_static("same-origin"),
    );
    res
}

/// The CSRF token of the request's cookie, if any.
pub fn csrf_cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == CSRF_COOKIE)
        .map(|(_, v)| v.to_string())
        .filter(|v| v.len() == 64 && v.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// A new random token (32 bytes, hex).
pub fn new_csrf_token() -> String {
    let bytes: [u8; 32] = rand::random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The `Set-Cookie` value for a token.
pub fn csrf_set_cookie(token: &str) -> String {
    format!("{CSRF_COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict")
}

/// Constant-time comparison of the form's token with the cookie's.
pub fn csrf_matches(cookie: Option<&str>, field: Option<&str>) -> bool {
    match (cookie, field) {
        (Some(a), Some(b)) if a.len() == b.len() => {
            a.bytes()
                .zip(b.bytes())
                .fold(0u8, |acc, (x, y)| acc | (x ^ y))
                == 0
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_names_are_read_without_their_port() {
        assert_eq!(host_name("127.0.0.1:8080"), "127.0.0.1");
        assert_eq!(host_name("localhost"), "localhost");
        assert_eq!(host_name("[::1]:8080"), "::1");
        assert_eq!(host_name("evil.example:80"), "evil.example");
    }

    #[test]
    fn origins_from_other_sites_are_not_same_origin() {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, HeaderValue::from_static("127.0.0.1:8080"));
        assert!(
            same_origin(&h),
            "no Origin, no Sec-Fetch-Site: not a browser"
        );
        h.insert(
            header::ORIGIN,
            HeaderValue::from_static("http://127.0.0.1:8080"),
        );
        assert!(same_origin(&h));
        h.insert(
            header::ORIGIN,
            HeaderValue::from_static("http://evil.example"),
        );
        assert!(!same_origin(&h));
        h.insert(header::ORIGIN, HeaderValue::from_static("null"));
        assert!(!same_origin(&h));
        h.remove(header::ORIGIN);
        h.insert("sec-fetch-site", HeaderValue::from_static("cross-site"));
        assert!(!same_origin(&h));
    }

    #[test]
    fn csrf_tokens_compare_whole() {
        let t = new_csrf_token();
        assert_eq!(t.len(), 64);
        assert!(csrf_matches(Some(&t), Some(&t)));
        assert!(!csrf_matches(Some(&t), Some(&t[..63])));
        assert!(!csrf_matches(Some(&t), None));
        assert!(!csrf_matches(None, Some(&t)));
        assert_ne!(t, new_csrf_token());
    }
}
