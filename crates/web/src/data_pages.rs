//! The insights page (`/insights`) and the data page (`/data`): export, import (checked first,
//! stored all or nothing) and a backup copy of the whole database.

use askama::Template;
use axum::extract::{DefaultBodyLimit, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Form;
use serde::Deserialize;

use crate::access::{Access, Routes};
use crate::data_api::{attachment, export_file, import_body_limit, import_text, ImportOutcome};
use crate::error::ApiError;
use crate::pages::{error_page, page, refuse_without_token, Csrf};
use crate::WebState;

pub fn routes(state: &WebState) -> Routes {
    Routes::new(state)
        .route(Access::Participant, "/insights", get(insights_page))
        .route(
            Access::Participant,
            "/insights/reminders.ics",
            get(reminders_download),
        )
        .route(Access::Participant, "/data", get(data_page))
        .route(Access::Participant, "/data/export", get(export_download))
        .route(Access::Participant, "/data/backup", get(backup_download))
        .route(
            Access::Participant,
            "/data/import",
            get(data_page)
                .post(import_submit)
                .layer(DefaultBodyLimit::max(import_body_limit())),
        )
}

// ---------------------------------------------------------------------------------------------
// Insights

#[derive(Template)]
#[template(path = "insights.html")]
struct InsightsTemplate {
    nav: &'static str,
    summary: String,
    factors: Vec<(bool, String)>,
    caveat: String,
}

async fn insights_page(State(state): State<WebState>, headers: HeaderMap) -> Response {
    let csrf = Csrf::of(&headers);
    let found = state
        .run(|store, person, ctx| quietlegs_app::insights::insights(ctx, Some((store, person))))
        .await;
    let result = match found {
        Ok(r) => r,
        Err(e) => return error_page(e, &csrf),
    };
    let t = InsightsTemplate {
        nav: "insights",
        summary: format!(
            "From {} night{} (neighbouring nights correlate: r = {:.2}, intervals widened for it).",
            result.nights,
            if result.nights == 1 { "" } else { "s" },
            result.autocorrelation
        ),
        factors: result
            .factors
            .iter()
            .map(|f| (f.noteworthy, f.text.clone()))
            .collect(),
        caveat: result.caveat,
    };
    page(StatusCode::OK, t.render(), &csrf)
}

/// The reminders as an iCalendar file for the stored profile (a diary reminder at bedtime and the
/// plan's dose when it may be taken without a clinician and no trial is in progress); without
/// a profile, the person is sent to make one.
async fn reminders_download(State(state): State<WebState>, headers: HeaderMap) -> Response {
    let made = state
        .run(|store, person, ctx| {
            let Some(p) = quietlegs_app::profile::stored(store, person, ctx)? else {
                return Ok(None);
            };
            let r = quietlegs_app::insights::reminders(
                ctx,
                Some(store),
                Some((store, person)),
                &p.profile,
                None,
            )?;
            let key = quietlegs_app::calendar::owner_key(&format!("web:{}", crate::LOCAL_PERSON));
            quietlegs_app::calendar::reminders_ics(ctx.now, &r, &key).map(Some)
        })
        .await;
    match made {
        Ok(Some(ics)) => attachment(
            axum::body::Body::from(ics),
            "text/calendar; charset=utf-8",
            "quietlegs-reminders.ics",
        ),
        Ok(None) => axum::response::Redirect::to("/plan").into_response(),
        Err(e) => error_page(e, &Csrf::of(&headers)),
    }
}

// ---------------------------------------------------------------------------------------------
// Data: export, import, backup

#[derive(Template)]
#[template(path = "data.html")]
struct DataTemplate {
    nav: &'static str,
    csrf: String,
    text: String,
    error: Option<String>,
    /// The result of "Check": what would be imported.
    preview: Option<PreviewView>,
    imported: Option<usize>,
}

struct PreviewView {
    entries: usize,
    kinds: Vec<(String, usize)>,
    span: String,
    diary_entries: usize,
}

async fn data_page(headers: HeaderMap) -> Response {
    let csrf = Csrf::of(&headers);
    let t = DataTemplate {
        nav: "data",
        csrf: csrf.token.clone(),
        text: String::new(),
        error: None,
        preview: None,
        imported: None,
    };
    page(StatusCode::OK, t.render(), &csrf)
}

#[derive(Deserialize)]
struct ExportParams {
    format: Option<String>,
}

async fn export_download(
    State(state): State<WebState>,
    headers: HeaderMap,
    Query(q): Query<ExportParams>,
) -> Response {
    match export_file(&state, q.format.as_deref()).await {
        Ok(r) => r,
        Err(e) => error_page(e, &Csrf::of(&headers)),
    }
}

/// A consistent copy of the whole database (SQLite's online backup into a private temporary
/// folder, integrity-checked), sent as `quietlegs-backup-DATE.sqlite3` and then removed.
async fn backup_download(
    State(state): State<WebState>,
    viewer: Option<axum::Extension<crate::access::Viewer>>,
    headers: HeaderMap,
) -> Response {
    // A clinic account's own data; on a personal server, the local person's.
    let account = viewer.map(|v| v.0.account);
    let identity = match &account {
        Some(a) => quietlegs_store::Identity::account(&a.username),
        None => quietlegs_store::Identity::local(crate::LOCAL_PERSON),
    };
    let copied = state
        .run(move |store, _person, ctx| {
            if let Some(a) = &account {
                quietlegs_app::clinic::check_backup_allowed(store, a)?;
            }
            let dir = tempfile::Builder::new()
                .prefix("quietlegs-backup")
                .tempdir()
                .map_err(|e| {
                    quietlegs_app::AppError::internal(format!("a temporary folder: {e}"))
                })?;
            let path = dir.path().join("backup.sqlite3");
            quietlegs_app::personal::backup_store(store, &identity, &path)?;
            let file = std::fs::File::open(&path)
                .map_err(|e| quietlegs_app::AppError::internal(format!("reading the copy: {e}")))?;
            Ok((dir, file, ctx.now.date))
        })
        .await;
    let (dir, file, today) = match copied {
        Ok(v) => v,
        Err(e) => return error_page(e, &Csrf::of(&headers)),
    };
    attachment(
        axum::body::Body::from_stream(file_chunks(file, dir)),
        "application/vnd.sqlite3",
        &format!("quietlegs-backup-{today}.sqlite3"),
    )
}

/// The file's bytes in chunks, read on the blocking pool; the temporary folder is removed when
/// the last chunk has been sent (or the download is abandoned).
fn file_chunks(
    file: std::fs::File,
    dir: tempfile::TempDir,
) -> impl futures_util::Stream<Item = std::io::Result<Vec<u8>>> + Send {
    const CHUNK: usize = 64 * 1024;
    futures_util::stream::unfold(Some((file, dir)), |state| async move {
        let (mut file, dir) = state?;
        let read = tokio::task::spawn_blocking(move || {
            use std::io::Read;
            let mut buf = vec![0u8; CHUNK];
            let n = file.read(&mut buf)?;
            buf.truncate(n);
            Ok::<_, std::io::Error>((buf, file))
        })
        .await;
        match read {
            Ok(Ok((buf, _))) if buf.is_empty() => {
                drop(dir);
                None
            }
            Ok(Ok((buf, file))) => Some((Ok(buf), Some((file, dir)))),
            Ok(Err(e)) => Some((Err(e), None)),
            Err(e) => Some((Err(std::io::Error::other(e)), None)),
        }
    })
}

/// The import form as typed.
#[derive(Debug, Default, Deserialize)]
struct ImportForm {
    csrf: Option<String>,
    text: Option<String>,
    /// "check" (say what would be imported) or "import".
    step: Option<String>,
}

async fn import_submit(
    State(state): State<WebState>,
    headers: HeaderMap,
    Form(form): Form<ImportForm>,
) -> Response {
    if let Some(refused) = refuse_without_token(&headers, form.csrf.as_deref()) {
        return refused;
    }
    let csrf = Csrf::of(&headers);
    let text = form.text.unwrap_or_default();
    let dry_run = form.step.as_deref() != Some("import");
    let outcome = if text.trim().is_empty() {
        Err(ApiError::field(
            "text",
            "choose an export file or paste its text (CSV or JSON from quietlegs export)",
        ))
    } else {
        import_text(&state, text.clone(), dry_run).await
    };
    let mut t = DataTemplate {
        nav: "data",
        csrf: csrf.token.clone(),
        text,
        error: None,
        preview: None,
        imported: None,
    };
    let status = match outcome {
        Ok(ImportOutcome::Checked(p)) => {
            t.preview = Some(PreviewView {
                entries: p.entries,
                kinds: p.kinds.into_iter().map(|k| (k.kind, k.entries)).collect(),
                span: match (p.first_date, p.last_date) {
                    (Some(a), Some(b)) if a == b => format!("on {a}"),
                    (Some(a), Some(b)) => format!("from {a} to {b}"),
                    _ => String::new(),
                },
                diary_entries: p.diary_entries,
            });
            StatusCode::OK
        }
        Ok(ImportOutcome::Imported(i)) => {
            t.imported = Some(i.entries);
            t.text.clear();
            StatusCode::OK
        }
        Err(e) => {
            t.error = Some(e.body.error);
            e.status
        }
    };
    page(status, t.render(), &csrf).into_response()
}
