//! What the web tests share: the app in process on an in-memory store, requests with the
//! server's own `Host`, and replies read whole.

// Each test file uses some of these.
#![allow(dead_code)]

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum::Router;
use http_body_util::BodyExt;
use quietlegs_core::ReferenceData;
use quietlegs_store::{AnyStore, SqliteStore};
use quietlegs_web::{router, WebState};
use serde_json::Value;
use tower::ServiceExt;

/// The host the requests name (one the server answers to).
pub const HOST: &str = "127.0.0.1:8080";

pub fn app_with(store: impl Into<AnyStore>) -> Router {
    router(WebState::new(store, ReferenceData::shipped().unwrap(), &[]))
}

pub fn app() -> Router {
    app_with(SqliteStore::in_memory().unwrap())
}

pub struct Reply {
    pub status: StatusCode,
    pub headers: axum::http::HeaderMap,
    pub bytes: Vec<u8>,
    pub body: String,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }

    pub fn header(&self, name: header::HeaderName) -> String {
        self.headers[name].to_str().unwrap().to_string()
    }
}

pub async fn send(app: &Router, req: Request<Body>) -> Reply {
    let res = app.clone().oneshot(req).await.unwrap();
    let status = res.status();
    let headers = res.headers().clone();
    let bytes = res.into_body().collect().await.unwrap().to_bytes().to_vec();
    Reply {
        status,
        headers,
        body: String::from_utf8_lossy(&bytes).into_owned(),
        bytes,
    }
}

pub fn get(uri: &str) -> Request<Body> {
    Request::get(uri)
        .header(header::HOST, HOST)
        .body(Body::empty())
        .unwrap()
}

pub fn post_json(uri: &str, body: &Value) -> Request<Body> {
    Request::post(uri)
        .header(header::HOST, HOST)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_string()))
        .unwrap()
}

/// A form post, with the CSRF cookie `cookie` when given.
pub fn post_form(uri: &str, cookie: Option<&str>, form: &str) -> Request<Body> {
    let mut b = Request::post(uri)
        .header(header::HOST, HOST)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    if let Some(c) = cookie {
        b = b.header(header::COOKIE, format!("ql_csrf={c}"));
    }
    b.body(Body::from(form.to_string())).unwrap()
}

/// Every visible `<input>`, `<select>` and `<textarea>` of `page` has an id and a
/// `<label for=…>` naming it (axe counts a placeholder as a name, so the tests check labels
/// themselves).
pub fn assert_every_field_labelled(uri: &str, page: &str) {
    for tag in ["<input", "<select", "<textarea"] {
        for chunk in page.split(tag).skip(1) {
            let el = &chunk[..chunk.find('>').unwrap()];
            if el.contains(r#"type="hidden""#) {
                continue;
            }
            let id = el
                .split("id=\"")
                .nth(1)
                .and_then(|s| s.split('"').next())
                .unwrap_or_else(|| panic!("{uri}: {tag} without id: {el}"));
            assert!(
                page.contains(&format!(r#"<label for="{id}""#)),
                "{uri}: no label for {id}"
            );
        }
    }
}
