//! The trial on the web: plan one (the helper's sheet is the answer to the form, downloaded as a
//! file to hand over unread, exactly as `trial new --helper-sheet` writes it), record the
//! end-of-period guesses, and unblind (after the last night, or early with a reason).

use askama::Template;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Form;
use jiff::civil::Date;
use quietlegs_app::trial::{self, DesignChoice};
use quietlegs_app::AppError;
use serde::Deserialize;

use crate::access::{Access, Routes};
use crate::error::ApiError;
use crate::pages::{error_page, page, refuse_without_token, Csrf};
use crate::WebState;

pub fn routes(state: &WebState) -> Routes {
    Routes::new(state)
        .route(
            Access::Participant,
            "/trial/new",
            get(new_page).post(new_submit),
        )
        .route(Access::Participant, "/trial/power", post(power_submit))
        .route(Access::Participant, "/trial/guess", post(guess_submit))
        .route(Access::Participant, "/trial/unblind", post(unblind_submit))
        .route(Access::Participant, "/trial/cancel", post(cancel_submit))
}

#[derive(Template)]
#[template(path = "trial_new.html")]
struct NewTemplate {
    nav: &'static str,
    csrf: String,
    min_start: String,
    /// The values shown in the form: the defaults, or what was typed.
    v: NewValues,
    error: Option<String>,
    error_field: Option<String>,
    /// The estimate asked for with "How likely is a clear answer?".
    power: Option<PowerView>,
}

/// The form's values as text (what was typed is shown back, not lost).
struct NewValues {
    compare: String,
    start: String,
    period_days: String,
    run_in_days: String,
    cycles: String,
    name: String,
    open: bool,
}

/// Simulated trials behind the page's estimate: 100 keeps the answer near a second; a share
/// from 100 trials is within about ±10 percentage points (twice the largest standard error,
/// sqrt(0.25 / 100) = 0.05). `quietlegs trial power` runs more.
const WEB_POWER_SIMULATIONS: usize = 100;

/// The estimate, in words.
struct PowerView {
    design: String,
    assumptions: String,
    likely_helps: String,
    confident: String,
    false_helps: String,
    enough: bool,
    planning_power: String,
}

async fn new_page(State(state): State<WebState>, headers: HeaderMap) -> Response {
    let csrf = Csrf::of(&headers);
    let now = quietlegs_app::Now::read();
    render_new(&state, &csrf, &now, None, None, None)
}

fn render_new(
    state: &WebState,
    csrf: &Csrf,
    now: &quietlegs_app::Now,
    typed: Option<&NewForm>,
    error: Option<ApiError>,
    power: Option<PowerView>,
) -> Response {
    let rule = &state.reference().rules.trial;
    let tomorrow = now.date.tomorrow().unwrap_or(now.date);
    let status = error.as_ref().map_or(StatusCode::OK, |e| e.status);
    let text = |typed: Option<&Option<String>>, default: String| match typed {
        Some(v) => v.clone().unwrap_or_default(),
        None => default,
    };
    let v = NewValues {
        compare: typed
            .and_then(|f| f.compare.clone())
            .unwrap_or_else(|| "placebo".into()),
        start: text(typed.map(|f| &f.start), tomorrow.to_string()),
        period_days: text(typed.map(|f| &f.period_days), rule.period_days.to_string()),
        run_in_days: text(typed.map(|f| &f.run_in_days), rule.run_in_days.to_string()),
        cycles: text(typed.map(|f| &f.cycles), rule.cycles.to_string()),
        name: text(typed.map(|f| &f.name), String::new()),
        open: typed.is_some_and(|f| f.open.is_some()),
    };
    let t = NewTemplate {
        nav: "trial",
        csrf: csrf.token.clone(),
        min_start: now.date.to_string(),
        v,
        error_field: error.as_ref().and_then(|e| e.body.field.clone()),
        error: error.map(|e| e.body.error),
        power,
    };
    page(status, t.render(), csrf)
}

/// "How likely is a clear answer?": simulates the design in the form under the planning
/// assumptions and shows the form again with the estimate (nothing is registered).
async fn power_submit(
    State(state): State<WebState>,
    headers: HeaderMap,
    Form(form): Form<NewForm>,
) -> Response {
    if let Some(refused) = refuse_without_token(&headers, form.csrf.as_deref()) {
        return refused;
    }
    let csrf = Csrf::of(&headers);
    let now = quietlegs_app::Now::read();
    let choice = choice_of(&form);
    let estimate = state
        .run_at(now.clone(), move |_, _, ctx| {
            let (choice, _) = choice?;
            let assumptions = trial::PowerAssumptions::planning();
            let report = trial::power_report(
                ctx,
                &choice,
                &assumptions,
                WEB_POWER_SIMULATIONS,
                rand::random(),
                &mut |_| {},
            )?;
            Ok((report, assumptions))
        })
        .await;
    match estimate {
        Ok((report, a)) => {
            let view = report.results.first().map(|r| PowerView {
                design: format!(
                    "{} cycles of {} periods of {} nights ({} nights in all)",
                    r.cycles,
                    report.design.arms.len(),
                    report.design.period_days,
                    report.trial_days(r.cycles)
                ),
                assumptions: format!(
                    "if magnesium changes your nightly score by {:+} points, nights vary by \
                     about {} points (neighbouring nights correlated {}), and {:.0} % of nights \
                     go unlogged",
                    a.effect,
                    a.sd,
                    a.rho,
                    a.missing * 100.0
                ),
                likely_helps: format!("{:.0} %", r.p_likely_helps * 100.0),
                confident: format!("{:.0} %", r.p_confident * 100.0),
                false_helps: format!("{:.0} %", r.p_false_helps * 100.0),
                enough: r.p_confident >= report.planning_power,
                planning_power: format!("{:.0} %", report.planning_power * 100.0),
            });
            render_new(&state, &csrf, &now, Some(&form), None, view)
        }
        Err(e) => render_new(&state, &csrf, &now, Some(&form), Some(e), None),
    }
}

#[derive(Debug, Deserialize)]
pub(crate) struct NewForm {
    pub(crate) csrf: Option<String>,
    pub(crate) name: Option<String>,
    pub(crate) compare: Option<String>,
    pub(crate) start: Option<String>,
    pub(crate) period_days: Option<String>,
    pub(crate) run_in_days: Option<String>,
    pub(crate) cycles: Option<String>,
    pub(crate) open: Option<String>,
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

pub(crate) fn choice_of(f: &NewForm) -> Result<(DesignChoice, Option<Date>), AppError> {
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
        Err(e) => render_new(&state, &csrf, &shown_now, Some(&form), Some(e), None),
    }
}

/// A trial action from a form (guess, unblind, cancel): refused without the page's token; on
/// success back to the trial page, else an error page.
async fn trial_action<T: Send + 'static>(
    state: &WebState,
    headers: &HeaderMap,
    token: Option<&str>,
    work: impl FnOnce(
            &quietlegs_store::AnyStore,
            quietlegs_store::PersonId,
            &quietlegs_app::Context<'_>,
        ) -> Result<T, AppError>
        + Send
        + 'static,
) -> Response {
    if let Some(refused) = refuse_without_token(headers, token) {
        return refused;
    }
    match state.run(work).await {
        Ok(_) => Redirect::to("/trial").into_response(),
        Err(e) => error_page(e, &Csrf::of(headers)),
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
    let token = form.csrf.clone();
    trial_action(
        &state,
        &headers,
        token.as_deref(),
        move |store, person, ctx| {
            let period = number("period", form.period.as_deref())?
                .ok_or_else(|| AppError::field("period", "choose a period"))?;
            let arm = form
                .arm
                .as_deref()
                .ok_or_else(|| AppError::field("arm", "choose what you think it was"))?;
            trial::guess(store, person, ctx, None, period as usize, arm)
        },
    )
    .await
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
    let token = form.csrf.clone();
    trial_action(
        &state,
        &headers,
        token.as_deref(),
        move |store, person, ctx| {
            let reason = form
                .reason
                .as_deref()
                .map(str::trim)
                .filter(|r| !r.is_empty());
            trial::unblind(store, person, ctx, None, form.early.is_some(), reason)
        },
    )
    .await
}

#[derive(Debug, Deserialize)]
struct CancelForm {
    csrf: Option<String>,
}

async fn cancel_submit(
    State(state): State<WebState>,
    headers: HeaderMap,
    Form(form): Form<CancelForm>,
) -> Response {
    trial_action(
        &state,
        &headers,
        form.csrf.as_deref(),
        |store, person, ctx| trial::cancel_before_start(store, person, ctx, None),
    )
    .await
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
