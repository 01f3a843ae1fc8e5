//! Server-rendered pages (askama templates, checked at compile time) and the embedded assets.
//! Every form carries the CSRF token; every page sets the token cookie when it is missing.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Form;
use jiff::civil::Date;
use quietlegs_app::diary;
use quietlegs_app::trial::{self, TrialStatus};
use quietlegs_app::{AppError, ErrorKind};
use quietlegs_core::diary::{evening_of, Night, Record};
use serde::Deserialize;

use crate::access::{Access, Routes};
use crate::error::ApiError;
use crate::security::{csrf_cookie, csrf_matches, csrf_set_cookie, new_csrf_token};
use crate::WebState;

const STYLE: &str = include_str!("../assets/style.css");
const SCRIPT: &str = include_str!("../assets/app.js");
const ICON: &str = include_str!("../assets/icon.svg");

pub fn routes(state: &WebState) -> Routes {
    Routes::new(state)
        .route(Access::Open, "/", get(home))
        .route(
            Access::Participant,
            "/tonight",
            get(tonight_page).post(tonight_submit),
        )
        .route(Access::Participant, "/history", get(history_page))
        .route(Access::Participant, "/trial", get(trial_page))
        .route(Access::Open, "/about", get(about_page))
        .route(
            Access::Open,
            "/assets/style.css",
            get(|| asset(STYLE, "text/css; charset=utf-8")),
        )
        .route(
            Access::Open,
            "/assets/app.js",
            get(|| asset(SCRIPT, "text/javascript; charset=utf-8")),
        )
        .route(
            Access::Open,
            "/assets/icon.svg",
            get(|| asset(ICON, "image/svg+xml")),
        )
}

/// The start page: a clinic account's own home, else Tonight.
async fn home(viewer: Option<axum::Extension<crate::access::Viewer>>) -> Redirect {
    Redirect::to(match viewer {
        Some(v) => crate::login::home_of(v.0.account.role),
        None => "/tonight",
    })
}

async fn asset(body: &'static str, content_type: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        body,
    )
        .into_response()
}

/// The request's CSRF token, or a new one to set.
pub(crate) struct Csrf {
    pub(crate) token: String,
    set: bool,
}

impl Csrf {
    pub(crate) fn of(headers: &HeaderMap) -> Self {
        match csrf_cookie(headers) {
            Some(token) => Self { token, set: false },
            None => Self {
                token: new_csrf_token(),
                set: true,
            },
        }
    }
}

/// A rendered page with the token cookie when it is new.
pub(crate) fn page(
    status: StatusCode,
    html: Result<String, askama::Error>,
    csrf: &Csrf,
) -> Response {
    let html = match html {
        Ok(h) => h,
        Err(e) => {
            eprintln!("internal error: rendering a page: {e}");
            return (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response();
        }
    };
    let mut res = (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        html,
    )
        .into_response();
    if csrf.set {
        if let Ok(v) = HeaderValue::from_str(&csrf_set_cookie(&csrf.token)) {
            res.headers_mut().insert(header::SET_COOKIE, v);
        }
    }
    res
}

/// A form post without the page's token: refused (a 403 page) before anything is read.
pub(crate) fn refuse_without_token(headers: &HeaderMap, token: Option<&str>) -> Option<Response> {
    if csrf_matches(csrf_cookie(headers).as_deref(), token) {
        return None;
    }
    Some(error_page(
        ApiError::new(
            StatusCode::FORBIDDEN,
            "this form has expired or did not come from quietlegs: reload the page and try again"
                .into(),
            Some("csrf"),
        ),
        &Csrf::of(headers),
    ))
}

/// An error page for a failed use case.
pub(crate) fn error_page(e: ApiError, csrf: &Csrf) -> Response {
    // A clinician's or admin's error page keeps their own menu.
    let nav = crate::access::VIEWER
        .try_with(|v| match v.account.role {
            quietlegs_store::clinic::Role::Clinician => "clinic-error",
            quietlegs_store::clinic::Role::Admin => "admin-error",
            quietlegs_store::clinic::Role::Participant => "",
        })
        .unwrap_or("");
    let t = ErrorTemplate {
        nav,
        message: e.body.error,
    };
    page(e.status, t.render(), csrf)
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorTemplate {
    nav: &'static str,
    message: String,
}

// ---------------------------------------------------------------------------------------------
// Tonight

#[derive(Template)]
#[template(path = "tonight.html")]
struct TonightTemplate {
    nav: &'static str,
    csrf: String,
    date: String,
    max_date: String,
    severity: Option<u8>,
    sleep_quality: Option<u8>,
    hours_slept: String,
    note: String,
    error: Option<String>,
    error_field: Option<String>,
    scores: Vec<u8>,
    trial: Option<TrialStatus>,
}

/// The form's values as typed (strings: a wrong value is shown back, not lost).
#[derive(Debug, Default, Deserialize)]
struct TonightForm {
    csrf: Option<String>,
    date: Option<String>,
    severity: Option<String>,
    sleep_quality: Option<String>,
    hours_slept: Option<String>,
    note: Option<String>,
}

async fn tonight_page(State(state): State<WebState>, headers: HeaderMap) -> Response {
    let csrf = Csrf::of(&headers);
    // Defaults from the last night logged; the date is this evening.
    let found = state
        .run(|store, person, ctx| {
            let last = diary::records(Some((store, person)), None, Some(ctx.now.date))?
                .into_iter()
                .filter_map(|r| match r.record {
                    Record::Night(n) => Some(n),
                    _ => None,
                })
                .next_back();
            let status = match trial::status(store, person, ctx, None) {
                Ok(s) => Some(s),
                Err(e) if e.kind == ErrorKind::NotFound => None,
                Err(e) => return Err(e),
            };
            Ok((
                evening_of(ctx.now.date, ctx.now.time),
                ctx.now.date,
                last,
                status,
            ))
        })
        .await;
    let (evening, today, last, status) = match found {
        Ok(v) => v,
        Err(e) => return error_page(e, &csrf),
    };
    let t = TonightTemplate {
        nav: "tonight",
        csrf: csrf.token.clone(),
        date: evening.to_string(),
        max_date: today.to_string(),
        severity: last.as_ref().map(|n| n.severity),
        sleep_quality: last.as_ref().and_then(|n| n.sleep_quality),
        hours_slept: last
            .as_ref()
            .and_then(|n| n.hours_slept)
            .map(|h| h.to_string())
            .unwrap_or_default(),
        note: String::new(),
        error: None,
        error_field: None,
        scores: (0..=10).collect(),
        trial: status,
    };
    page(StatusCode::OK, t.render(), &csrf)
}

fn parse_score(field: &'static str, v: Option<&str>) -> Result<Option<u8>, AppError> {
    match v.map(str::trim).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(v) => v
            .parse::<u8>()
            .map(Some)
            .map_err(|_| AppError::field(field, format!("'{v}' is not a score: allowed 0 to 10"))),
    }
}

fn night_from_form(f: &TonightForm) -> Result<Night, AppError> {
    let date_text = f.date.as_deref().unwrap_or("").trim();
    let date: Date = date_text.parse().map_err(|_| {
        AppError::field(
            "date",
            format!("'{date_text}' is not a date: use YYYY-MM-DD"),
        )
    })?;
    let severity = parse_score("severity", f.severity.as_deref())?
        .ok_or_else(|| AppError::field("severity", "choose a score from 0 to 10"))?;
    let hours_slept = match f
        .hours_slept
        .as_deref()
        .map(str::trim)
        .filter(|v| !v.is_empty())
    {
        None => None,
        Some(v) => Some(v.parse::<f64>().map_err(|_| {
            AppError::field(
                "hours_slept",
                format!("'{v}' is not a number of hours: allowed 0 to 24"),
            )
        })?),
    };
    Ok(Night {
        date,
        severity,
        symptoms_began: None,
        sleep_quality: parse_score("sleep_quality", f.sleep_quality.as_deref())?,
        hours_slept,
        minutes_to_sleep: None,
        awakenings: None,
        note: f
            .note
            .as_deref()
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .map(str::to_string),
    })
}

async fn tonight_submit(
    State(state): State<WebState>,
    headers: HeaderMap,
    Form(form): Form<TonightForm>,
) -> Response {
    if let Some(refused) = refuse_without_token(&headers, form.csrf.as_deref()) {
        return refused;
    }
    let csrf = Csrf::of(&headers);
    let now = quietlegs_app::Now::read();
    let today = now.date;
    let night = night_from_form(&form);
    let stored = match night {
        Ok(night) => {
            let date = night.date;
            state.log_night(now, night).await.map(|_| date)
        }
        Err(e) => Err(ApiError::from(e)),
    };
    match stored {
        Ok(date) => Redirect::to(&format!("/history?logged={date}")).into_response(),
        Err(e) => {
            // Shown back with what was typed, nothing stored.
            let t = TonightTemplate {
                nav: "tonight",
                csrf: csrf.token.clone(),
                date: form.date.clone().unwrap_or_default(),
                max_date: today.to_string(),
                severity: form.severity.as_deref().and_then(|v| v.parse().ok()),
                sleep_quality: form.sleep_quality.as_deref().and_then(|v| v.parse().ok()),
                hours_slept: form.hours_slept.clone().unwrap_or_default(),
                note: form.note.clone().unwrap_or_default(),
                error: Some(e.body.error.clone()),
                error_field: e.body.field.clone(),
                scores: (0..=10).collect(),
                trial: None,
            };
            page(e.status, t.render(), &csrf)
        }
    }
}

// ---------------------------------------------------------------------------------------------
// History

#[derive(Template)]
#[template(path = "history.html")]
struct HistoryTemplate {
    nav: &'static str,
    logged: Option<String>,
    nights: Vec<HistoryNight>,
    chart: String,
    /// IRLS, magnesium and side-effect charts (`diary_charts`).
    diary_charts: String,
}

struct HistoryNight {
    date: String,
    severity: u8,
    sleep_quality: String,
    hours_slept: String,
    note: String,
}

#[derive(Deserialize)]
struct HistoryQuery {
    logged: Option<String>,
}

async fn history_page(
    State(state): State<WebState>,
    headers: HeaderMap,
    Query(q): Query<HistoryQuery>,
) -> Response {
    let csrf = Csrf::of(&headers);
    let nights = state
        .run(|store, person, ctx| {
            let from = ctx.now.date.checked_sub(jiff::Span::new().days(55)).ok();
            Ok(
                diary::records(Some((store, person)), from, Some(ctx.now.date))?
                    .into_iter()
                    .filter_map(|r| match r.record {
                        Record::Night(n) => Some(n),
                        _ => None,
                    })
                    .collect::<Vec<Night>>(),
            )
        })
        .await;
    let nights = match nights {
        Ok(n) => n,
        Err(e) => return error_page(e, &csrf),
    };
    let chart = crate::chart::severity_chart(&nights);
    let diary_charts = match state.run(crate::diary_charts::history_charts).await {
        Ok(c) => c.html,
        Err(e) => return error_page(e, &csrf),
    };
    let t = HistoryTemplate {
        diary_charts,
        nav: "history",
        logged: q.logged.filter(|d| d.parse::<Date>().is_ok()),
        chart,
        nights: nights
            .iter()
            .rev()
            .map(|n| HistoryNight {
                date: n.date.to_string(),
                severity: n.severity,
                sleep_quality: n.sleep_quality.map(|v| v.to_string()).unwrap_or_default(),
                hours_slept: n.hours_slept.map(|v| format!("{v:.1}")).unwrap_or_default(),
                note: n.note.clone().unwrap_or_default(),
            })
            .collect(),
    };
    page(StatusCode::OK, t.render(), &csrf)
}

// ---------------------------------------------------------------------------------------------
// Trial

#[derive(Template)]
#[template(path = "trial.html")]
struct TrialTemplate {
    nav: &'static str,
    csrf: String,
    status: Option<TrialStatus>,
    /// The arms by name (in the plan, so shown even while blinded; never which period had which).
    arms: Vec<String>,
    /// The last night has passed.
    over: bool,
    /// The first night has not come: the trial may still be cancelled.
    not_started: bool,
    /// Each period with its arm, once the arms may be shown (empty before).
    revealed: Vec<trial::CalendarPeriod>,
    result: Option<TrialResult>,
}

/// The result of an open or unblinded trial, as the page shows it.
struct TrialResult {
    treatment: String,
    control: String,
    direction: String,
    verdict_label: String,
    verdict_text: String,
    effect: String,
    interval: String,
    p_benefit: String,
    p_mcid: String,
    mcid: String,
    periods_done: String,
    blinding: Option<String>,
    periods: Vec<(usize, String, usize, String)>,
}

fn trial_result(r: &quietlegs_app::trial::TrialReport) -> TrialResult {
    let a = &r.analysis;
    let m = &a.models.ar1;
    TrialResult {
        treatment: a.contrast.treatment.clone(),
        control: a.contrast.control.clone(),
        direction: if a.higher_is_better {
            "Positive numbers mean a better outcome on the first arm.".into()
        } else {
            format!("Negative numbers mean milder symptoms on {}.", a.contrast.treatment)
        },
        verdict_label: {
            // "no-meaningful-benefit" -> "No meaningful benefit"
            let words = a.verdict.label.replace('-', " ");
            let mut c = words.chars();
            c.next()
                .map(|f| f.to_uppercase().chain(c).collect())
                .unwrap_or_default()
        },
        verdict_text: a.verdict.text.clone(),
        effect: format!("{:+.1}", m.mean),
        interval: format!("{:+.1} to {:+.1}", m.ci95[0], m.ci95[1]),
        p_benefit: format!("{:.0} %", m.p_benefit * 100.0),
        p_mcid: format!("{:.0} %", m.p_mcid * 100.0),
        mcid: format!("{}", a.mcid),
        periods_done: format!("{} of {}", r.periods_completed, r.periods_planned),
        blinding: r.blinding.as_ref().map(|b| {
            format!(
                "{} of {} end-of-period guesses right (chance {:.0} %; P by chance {:.2}){}",
                b.right,
                b.guesses,
                b.chance * 100.0,
                b.p_by_chance,
                if b.probably_unblinded {
                    ": the arms could probably be told apart, so expectation may explain part of the difference."
                } else {
                    ": no sign that blinding failed."
                }
            )
        }),
        periods: a
            .period_means
            .iter()
            .map(|p| {
                (
                    p.period,
                    p.arm.clone(),
                    p.nights,
                    p.mean.map(|v| format!("{v:.1}")).unwrap_or_else(|| "-".into()),
                )
            })
            .collect(),
    }
}

async fn trial_page(State(state): State<WebState>, headers: HeaderMap) -> Response {
    let csrf = Csrf::of(&headers);
    let found = state
        .run(|store, person, ctx| {
            let status = match trial::status(store, person, ctx, None) {
                Ok(s) => s,
                Err(e) if e.kind == ErrorKind::NotFound => {
                    return Ok((None, Vec::new(), Vec::new(), None))
                }
                Err(e) => return Err(e),
            };
            let arms = trial::load(store, person, None)?.plan.arms;
            let revealed = if !status.blinded || status.unblinded {
                trial::calendar(store, person, None)?.periods
            } else {
                Vec::new()
            };
            // The result only once the arms may be shown (the app refuses it before).
            let result = if !status.blinded || status.unblinded {
                match trial::report(store, person, ctx, None) {
                    Ok(r) => Some(trial_result(&r)),
                    // Too early to analyse: the status says where the trial stands.
                    Err(e) if e.kind == ErrorKind::BadInput => None,
                    Err(e) => return Err(e),
                }
            } else {
                None
            };
            Ok((Some(status), arms, revealed, result))
        })
        .await;
    match found {
        Ok((status, arms, revealed, result)) => page(
            StatusCode::OK,
            TrialTemplate {
                nav: "trial",
                csrf: csrf.token.clone(),
                over: status
                    .as_ref()
                    .is_some_and(|s| s.phase == quietlegs_core::trial::design::TrialPhase::Over),
                not_started: status.as_ref().is_some_and(|s| {
                    matches!(
                        s.phase,
                        quietlegs_core::trial::design::TrialPhase::NotStarted { .. }
                    )
                }),
                status,
                arms,
                revealed,
                result,
            }
            .render(),
            &csrf,
        ),
        Err(e) => error_page(e, &csrf),
    }
}

// ---------------------------------------------------------------------------------------------
// About

#[derive(Template)]
#[template(path = "about.html")]
struct AboutTemplate {
    nav: &'static str,
    csrf: String,
    /// Log-in is required, so a log-out button is shown.
    logout: bool,
    disclaimer: &'static str,
    sources: Vec<(String, String, Option<String>)>,
}

async fn about_page(State(state): State<WebState>, headers: HeaderMap) -> Response {
    let csrf = Csrf::of(&headers);
    let t = AboutTemplate {
        nav: "about",
        csrf: csrf.token.clone(),
        logout: state.gate().required(),
        disclaimer: quietlegs_core::DISCLAIMER,
        sources: state
            .reference()
            .sources
            .values()
            .map(|s| (s.id.clone(), s.citation.clone(), s.url.clone()))
            .collect(),
    };
    page(StatusCode::OK, t.render(), &csrf)
}
