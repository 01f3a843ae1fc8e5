//! The trial on the web: plan one (the helper's sheet is the answer to the form, downloaded as a
//! file to hand over unread, exactly as `trial new --helper-sheet` writes it), record the
//! end-of-period guesses, and unblind (after the last night, or early with a reason).

use askama::Template;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use jiff::civil::Date;
use quietlegs_app::trial::{self, DesignChoice};
use quietlegs_app::AppError;
use serde::Deserialize;

use crate::error::ApiError;
use crate::pages::{error_page, page, refuse_without_token, Csrf};
use crate::WebState;

pub fn routes() -> Router<WebState> {
    Router::new()
        .route("/trial/new", get(new_page).post(new_submit))
        .route("/trial/guess", post(guess_submit))
        .route("/trial/unblind", post(unblind_submit))
}

#[derive(Template)]
#[template(path = "trial_new.html")]
struct NewTemplate {
    nav: &'static str,
    csrf: String,
    start: String,
    min_start: String,
    period_days: u32,
    run_in_days: u32,
    cycles: u32,
    error: Option<String>,
    error_field: Option<String>,
}

async fn new_page(State(state): State<WebState>, headers: HeaderMap) -> Response {
    let csrf = Csrf::of(&headers);
    let now = quietlegs_app::Now::read();
    render_new(&state, &csrf, &now, None)
}

fn render_new(
    state: &WebState,
    csrf: &Csrf,
    now: &quietlegs_app::Now,
    error: Option<ApiError>,
) -> Response {
    let rule = &state.reference().rules.trial;
    let tomorrow = now.date.tomorrow().unwrap_or(now.date);
    let status = error.as_ref().map_or(StatusCode::OK, |e| e.status);
    let t = NewTemplate {
        nav: "trial",
        csrf: csrf.token.clone(),
        start: tomorrow.to_string(),
        min_start: now.date.to_string(),
        period_days: rule.period_days,
        run_in_days: rule.run_in_days,
        cycles: rule.cycles,
        error_field: error.as_ref().and_then(|e| e.body.field.clone()),
        error: error.map(|e| e.body.error),
    };
    page(status, t.render(), csrf)
}

#[derive(Debug, Deserialize)]
struct NewForm {
    csrf: Option<String>,
    name: Option<String>,
    compare: Option<String>,
    start: Option<String>,
    period_days: Option<String>,
    run_in_days: Option<String>,
    cycles: Option<String>,
    open: Option<String>,
}

fn number(field: &'static str, v: Option<&str>) -> Result<Option<u32>, AppError> {
    match v.map(str::trim).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(v) => v
            .parse()
            .map(Some)
            .map_err(|_| AppError::field(field, format!("'{v}' is not a whole number"))),
    }
}

fn choice_of(f: &NewForm) -> Result<(DesignChoice, Option<Date>), AppError> {
    let start = match f.start.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
        None => None,
        Some(v) => Some(
            v.parse()
                .map_err(|_| AppError::field("start", format!("'{v}' is not a date")))?,
        ),
    };
    Ok((
        DesignChoice {
            compare: f.compare.clone(),
            period_days: number("period_days", f.period_days.as_deref())?,
            run_in_days: number("run_in_days", f.run_in_days.as_deref())?,
            cycles: number("cycles", f.cycles.as_deref())?,
            open: f.open.is_some(),
            ..DesignChoice::default()
        },
        start,
    ))
}

/// A file name made of the trial's name (letters, digits, '-' and '_' only).
fn sheet_file_name(trial: &str) -> String {
    let safe: String = trial
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect();
    format!("quietlegs-helper-sheet-{safe}.txt")
}

async fn new_submit(
    State(state): State<WebState>,
    headers: HeaderMap,
    Form(form): Form<NewForm>,
) -> Response {
    if let Some(refused) = refuse_without_token(&headers, form.csrf.as_deref()) {
        return refused;
    }
    let csrf = Csrf::of(&headers);
    let now = quietlegs_app::Now::read();
    let shown_now = now.clone();
    let name = form
        .name
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(str::to_string);
    let choice = choice_of(&form);
    let registered = state
        .run_at(now, move |store, person, ctx| {
            let (choice, start) = choice?;
            let seed: u64 = rand::random();
            let prepared = trial::prepare(ctx, name.as_deref(), &choice, seed, start)?;
            let sheet = prepared.helper_sheet.clone();
            let r = trial::register(store, person, ctx, prepared)?;
            Ok((r.name, sheet))
        })
        .await;
    match registered {
        // A blinded trial: the answer is the helper's sheet, as a file to hand over unread.
        Ok((name, Some(sheet))) => {
            let mut res =
                ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], sheet).into_response();
            if let Ok(v) = HeaderValue::from_str(&format!(
                "attachment; filename=\"{}\"",
                sheet_file_name(&name)
            )) {
                res.headers_mut().insert(header::CONTENT_DISPOSITION, v);
            }
            res.headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            res
        }
        Ok((_, None)) => Redirect::to("/trial").into_response(),
        Err(e) => render_new(&state, &csrf, &shown_now, Some(e)),
    }
}

#[derive(Debug, Deserialize)]
struct GuessForm {
    csrf: Option<String>,
    period: Option<String>,
    arm: Option<String>,
}

async fn guess_submit(
    State(state): State<WebState>,
    headers: HeaderMap,
    Form(form): Form<GuessForm>,
) -> Response {
    if let Some(refused) = refuse_without_token(&headers, form.csrf.as_deref()) {
        return refused;
    }
    let csrf = Csrf::of(&headers);
    let done = state
        .run(move |store, person, ctx| {
            let period = number("period", form.period.as_deref())?
                .ok_or_else(|| AppError::field("period", "choose a period"))?;
            let arm = form
                .arm
                .as_deref()
                .ok_or_else(|| AppError::field("arm", "choose what you think it was"))?;
            trial::guess(store, person, ctx, None, period as usize, arm)
        })
        .await;
    match done {
        Ok(()) => Redirect::to("/trial").into_response(),
        Err(e) => error_page(e, &csrf),
    }
}

#[derive(Debug, Deserialize)]
struct UnblindForm {
    csrf: Option<String>,
    early: Option<String>,
    reason: Option<String>,
}

async fn unblind_submit(
    State(state): State<WebState>,
    headers: HeaderMap,
    Form(form): Form<UnblindForm>,
) -> Response {
    if let Some(refused) = refuse_without_token(&headers, form.csrf.as_deref()) {
        return refused;
    }
    let csrf = Csrf::of(&headers);
    let done = state
        .run(move |store, person, ctx| {
            let reason = form
                .reason
                .as_deref()
                .map(str::trim)
                .filter(|r| !r.is_empty());
            trial::unblind(store, person, ctx, None, form.early.is_some(), reason)
        })
        .await;
    match done {
        Ok(_) => Redirect::to("/trial").into_response(),
        Err(e) => error_page(e, &csrf),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn helper_sheet_file_names_are_plain() {
        assert_eq!(
            sheet_file_name("my trial\"; x=1"),
            "quietlegs-helper-sheet-my-trial---x-1.txt"
        );
    }
}
