//! The clinic server's own pages: the clinician's dashboard and a participant's report,
//! invitations (made by a clinician, accepted by a participant), the account page (care links,
//! the access log, the password, deletion), the admin's accounts and reset links, and the
//! one-time links themselves. Every look at a participant's data goes through a use case that
//! records it in their audit log (`quietlegs_app::clinic`).

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Extension, Form, Json};
use quietlegs_app::clinic::{self, DashboardRow};
use quietlegs_store::clinic::{Account, AuditEntry, CareLink, Invitation, InvitationState, Role};
use serde::Deserialize;

use crate::access::{Access, Routes, Viewer};
use crate::error::ApiError;
use crate::pages::{error_page, page, refuse_without_token, Csrf};
use crate::report_pages::{pdf_download, pdf_link_at, report_view, ReportRange};
use crate::security::new_csrf_token;
use crate::WebState;
use quietlegs_app::clinician;
use quietlegs_report::document::Document;

pub fn routes(state: &WebState) -> Routes {
    Routes::new(state)
        .clinic(Access::Clinician, "/clinic", get(dashboard_page))
        .clinic(Access::Clinician, "/clinic/pooled", get(pooled_page))
        .clinic(
            Access::Clinician,
            "/clinic/invitations",
            post(invite_submit),
        )
        .clinic(
            Access::Clinician,
            "/clinic/invitations/withdraw",
            post(withdraw_submit),
        )
        .clinic(
            Access::Clinician,
            "/clinic/participants/{number}",
            get(participant_page),
        )
        .clinic(
            Access::Clinician,
            "/clinic/participants/{number}/report.pdf",
            get(participant_pdf),
        )
        .clinic(
            Access::Clinician,
            "/clinic/participants/{number}/trial",
            get(trial_setup_page).post(trial_setup_submit),
        )
        .clinic(
            Access::Open,
            "/helper/{token}",
            get(helper_page).post(helper_sheet),
        )
        .clinic(Access::Open, "/invite/{token}", get(invite_page))
        .clinic(
            Access::Participant,
            "/invite/{token}/accept",
            post(accept_submit),
        )
        .clinic(Access::Open, "/invite/{token}/join", post(join_submit))
        .route(Access::Account, "/account", get(account_page))
        .clinic(Access::Account, "/account/links/end", post(end_link_submit))
        .clinic(Access::Account, "/account/password", post(password_submit))
        .clinic(
            Access::Participant,
            "/account/delete",
            get(delete_page).post(delete_submit),
        )
        .clinic(Access::Admin, "/admin", get(admin_page))
        .clinic(Access::Admin, "/admin/accounts", post(admin_create_submit))
        .clinic(Access::Admin, "/admin/resets", post(admin_reset_submit))
        .clinic(
            Access::Open,
            "/reset/{token}",
            get(reset_page).post(reset_submit),
        )
}

/// Routes under `/api/v1`.
pub fn api_routes(state: &WebState) -> Routes {
    Routes::nested(state, "/api/v1")
        .clinic(Access::Clinician, "/clinic/dashboard", get(dashboard_json))
        .clinic(
            Access::Clinician,
            "/clinic/participants/{number}/report",
            get(participant_json),
        )
        .clinic(Access::Participant, "/account/audit", get(audit_json))
}

/// This server's address as the browser reached it (the host was checked by the host guard),
/// for the one-time links a person passes on.
fn origin(state: &WebState, headers: &HeaderMap) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("127.0.0.1");
    let scheme = if state.clinic_settings().is_some_and(|c| c.behind_https) {
        "https"
    } else {
        "http"
    };
    format!("{scheme}://{host}")
}

fn when(unix: i64) -> String {
    jiff::Timestamp::from_second(unix)
        .map(|t| t.strftime("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_else(|_| unix.to_string())
}

/// A stored RFC 3339 moment (`2026-11-30T06:44:16.205583052Z`) to the second, in UTC
/// (`2026-11-30 06:44:16`); as stored if it does not read as one.
fn to_the_second(at: &str) -> String {
    at.parse::<jiff::Timestamp>()
        .map(|t| t.strftime("%Y-%m-%d %H:%M:%S").to_string())
        .unwrap_or_else(|_| at.to_string())
}

// ---- The dashboard ----------------------------------------------------------------------

struct InvitationView {
    id: i64,
    label: String,
    made: String,
    state: String,
    open: bool,
}

fn invitation_view(i: &Invitation, now: i64) -> InvitationView {
    let (state, open) = match &i.state {
        InvitationState::Open if now >= i.expires_at => ("expired".to_string(), false),
        InvitationState::Open => (format!("open until {}", when(i.expires_at)), true),
        InvitationState::Accepted { by, at } => {
            (format!("accepted by {by} on {}", when(*at)), false)
        }
        InvitationState::Withdrawn { at } => (format!("withdrawn on {}", when(*at)), false),
    };
    InvitationView {
        id: i.id,
        label: i.label.clone(),
        made: when(i.created_at),
        state,
        open,
    }
}

#[derive(Template)]
#[template(path = "clinic_dashboard.html")]
struct DashboardTemplate {
    nav: &'static str,
    csrf: String,
    me: String,
    rows: Vec<DashboardRow>,
    invitations: Vec<InvitationView>,
    error: Option<String>,
}

async fn dashboard_page(
    State(state): State<WebState>,
    Extension(viewer): Extension<Viewer>,
    headers: HeaderMap,
) -> Response {
    dashboard_with(&state, viewer, &headers, None, StatusCode::OK).await
}

async fn dashboard_with(
    state: &WebState,
    viewer: Viewer,
    headers: &HeaderMap,
    error: Option<String>,
    status: StatusCode,
) -> Response {
    let csrf = Csrf::of(headers);
    let me = viewer.account.clone();
    let found = state
        .run_clinic(move |store, ctx| {
            let rows = clinic::dashboard(store, ctx, &me)?;
            let now = ctx.now.unix_seconds()?;
            let invitations = clinic::invitations(store, &me)?
                .iter()
                .map(|i| invitation_view(i, now))
                .collect::<Vec<_>>();
            Ok((rows, invitations))
        })
        .await;
    let (rows, invitations) = match found {
        Ok(v) => v,
        Err(e) => return error_page(e, &csrf),
    };
    let t = DashboardTemplate {
        nav: "clinic",
        csrf: csrf.token.clone(),
        me: viewer.account.username,
        rows,
        invitations,
        error,
    };
    page(status, t.render(), &csrf)
}

async fn dashboard_json(
    State(state): State<WebState>,
    Extension(viewer): Extension<Viewer>,
) -> Result<Json<Vec<DashboardRow>>, ApiError> {
    let me = viewer.account;
    state
        .run_clinic(move |store, ctx| clinic::dashboard(store, ctx, &me))
        .await
        .map(Json)
}

#[derive(Deserialize)]
struct InviteForm {
    csrf: Option<String>,
    label: Option<String>,
}

#[derive(Template)]
#[template(path = "one_time_link.html")]
struct OneTimeLinkTemplate {
    nav: &'static str,
    heading: String,
    explanation: String,
    link: String,
    back: &'static str,
}

async fn invite_submit(
    State(state): State<WebState>,
    Extension(viewer): Extension<Viewer>,
    headers: HeaderMap,
    Form(form): Form<InviteForm>,
) -> Response {
    if let Some(refused) = refuse_without_token(&headers, form.csrf.as_deref()) {
        return refused;
    }
    let csrf = Csrf::of(&headers);
    let token = new_csrf_token();
    let link = format!("{}/invite/{token}", origin(&state, &headers));
    let me = viewer.account.clone();
    let label = form.label.unwrap_or_default();
    match state
        .run_clinic(move |store, ctx| clinic::invite(store, ctx, &me, &label, &token))
        .await
    {
        Ok(_) => {
            let t = OneTimeLinkTemplate {
                nav: "clinic",
                heading: "Invitation made".into(),
                explanation: format!(
                    "Give this link to the participant (in person or by a channel you trust). \
                     It works once and for {} days; they accept it with their own account, or \
                     make one. It is shown only now: quietlegs keeps only a fingerprint of it.",
                    clinic::INVITATION_SECONDS / 86_400
                ),
                link,
                back: "/clinic",
            };
            page(StatusCode::CREATED, t.render(), &csrf)
        }
        Err(e) => dashboard_with(&state, viewer, &headers, Some(e.body.error), e.status).await,
    }
}

#[derive(Deserialize)]
struct WithdrawForm {
    csrf: Option<String>,
    id: Option<i64>,
}

async fn withdraw_submit(
    State(state): State<WebState>,
    Extension(viewer): Extension<Viewer>,
    headers: HeaderMap,
    Form(form): Form<WithdrawForm>,
) -> Response {
    if let Some(refused) = refuse_without_token(&headers, form.csrf.as_deref()) {
        return refused;
    }
    let me = viewer.account.clone();
    let id = form.id.unwrap_or(0);
    match state
        .run_clinic(move |store, ctx| clinic::withdraw_invitation(store, ctx, &me, id))
        .await
    {
        Ok(()) => Redirect::to("/clinic").into_response(),
        Err(e) => dashboard_with(&state, viewer, &headers, Some(e.body.error), e.status).await,
    }
}

// ---- Pooled analysis -------------------------------------------------------------------------

#[derive(Deserialize)]
struct PooledQuery {
    control: Option<String>,
    treatment: Option<String>,
}

struct LeftOutView {
    label: String,
    text: String,
}

#[derive(Template)]
#[template(path = "clinic_pooled.html")]
struct PooledTemplate {
    nav: &'static str,
    control: String,
    treatment: String,
    result: Option<PooledView>,
    error: Option<String>,
}

struct PooledView {
    people: usize,
    nights: u64,
    slope_effect: String,
    slope_ci: String,
    p_mcid: String,
    share_mcid: String,
    spread_sd: String,
    singular: Option<String>,
    intercept_effect: String,
    intercept_ci: String,
    mcid: String,
    forest: String,
    included: Vec<(String, String)>,
    left_out: Vec<LeftOutView>,
    method: String,
}

fn pooled_view(p: quietlegs_app::series::PooledTrials) -> PooledView {
    let a = &p.analysis;
    let slope = &a.models.random_slope;
    let intercept = &a.models.random_intercept;
    PooledView {
        people: a.n_participants,
        nights: a.n_nights,
        slope_effect: format!("{:+.2}", slope.effect),
        slope_ci: format!("{:+.2} to {:+.2}", slope.ci95[0], slope.ci95[1]),
        p_mcid: format!("{:.0} %", slope.p_mcid * 100.0),
        share_mcid: format!("{:.0} %", slope.share_mcid * 100.0),
        spread_sd: format!("{:.2}", slope.tau2_slope.max(0.0).sqrt()),
        singular: slope.singular_meaning.clone(),
        intercept_effect: format!("{:+.2}", intercept.effect),
        intercept_ci: format!("{:+.2} to {:+.2}", intercept.ci95[0], intercept.ci95[1]),
        mcid: format!("{}", a.mcid),
        forest: quietlegs_app::series::forest_svg(a),
        included: p
            .included
            .iter()
            .map(|t| {
                (
                    t.label.clone(),
                    format!(
                        "{}: {} to {}, {} nights on {}, {} on {}",
                        t.trial,
                        t.first_night,
                        t.last_night,
                        t.nights_treatment,
                        a.treatment,
                        t.nights_control,
                        a.control
                    ),
                )
            })
            .collect(),
        left_out: p
            .left_out
            .into_iter()
            .map(|l| LeftOutView {
                label: l.label,
                text: l.text,
            })
            .collect(),
        method: a.method.clone(),
    }
}

/// The clinician's participants' completed trials of one comparison, pooled (each
/// participant's data read is recorded in their access log).
async fn pooled_page(
    State(state): State<WebState>,
    Extension(viewer): Extension<Viewer>,
    headers: HeaderMap,
    Query(q): Query<PooledQuery>,
) -> Response {
    let csrf = Csrf::of(&headers);
    let control = q.control.unwrap_or_else(|| "placebo".into());
    let treatment = q.treatment.unwrap_or_else(|| "magnesium".into());
    let options = quietlegs_app::series::PoolOptions {
        control: control.clone(),
        treatment: treatment.clone(),
        outcome: None,
        mcid: None,
    };
    let me = viewer.account;
    let (result, error, status) = match state
        .run_clinic(move |store, ctx| clinic::pooled_trials(store, ctx, &me, &options))
        .await
    {
        Ok(p) => (Some(pooled_view(p)), None, StatusCode::OK),
        Err(e) if e.status.is_client_error() => (None, Some(e.body.error), StatusCode::OK),
        Err(e) => return error_page(e, &csrf),
    };
    let t = PooledTemplate {
        nav: "clinic-pooled",
        control,
        treatment,
        result,
        error,
    };
    page(status, t.render(), &csrf)
}

// ---- A participant's report --------------------------------------------------------------

/// A linked participant's report and its document, recorded in their audit log as read in
/// `form` ("page", "PDF").
async fn participant_document(
    state: &WebState,
    viewer: Viewer,
    number: i64,
    q: &ReportRange,
    form: &'static str,
) -> Result<(Account, clinician::ClinicianReport, Document), ApiError> {
    let me = viewer.account;
    let (from, to) = (ReportRange::given(&q.from), ReportRange::given(&q.to));
    state
        .run_clinic(move |store, ctx| {
            let (who, r) = clinic::participant_report(
                store,
                ctx,
                &me,
                number,
                from.as_deref(),
                to.as_deref(),
                form,
            )?;
            let doc = quietlegs_report::document(&r, ctx.reference);
            Ok((who, r, doc))
        })
        .await
}

async fn participant_page(
    State(state): State<WebState>,
    Extension(viewer): Extension<Viewer>,
    Path(number): Path<i64>,
    headers: HeaderMap,
    Query(q): Query<ReportRange>,
) -> Response {
    let csrf = Csrf::of(&headers);
    let (who, r, doc) = match participant_document(&state, viewer, number, &q, "page").await {
        Ok(v) => v,
        Err(e) => return error_page(e, &csrf),
    };
    let base = format!("/clinic/participants/{number}");
    report_view(
        "clinic",
        base.clone(),
        Some(format!(
            "Participant {}: this look is recorded in their access log.",
            who.username
        )),
        pdf_link_at(&format!("{base}/report.pdf"), &q, r.range),
        &r,
        &doc,
        &csrf,
    )
}

async fn participant_pdf(
    State(state): State<WebState>,
    Extension(viewer): Extension<Viewer>,
    Path(number): Path<i64>,
    headers: HeaderMap,
    Query(q): Query<ReportRange>,
) -> Response {
    let csrf = Csrf::of(&headers);
    match participant_document(&state, viewer, number, &q, "PDF").await {
        Ok((_, r, doc)) => pdf_download(&r, doc, &csrf).await,
        Err(e) => error_page(e, &csrf),
    }
}

async fn participant_json(
    State(state): State<WebState>,
    Extension(viewer): Extension<Viewer>,
    Path(number): Path<i64>,
    Query(q): Query<ReportRange>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let me = viewer.account;
    let (from, to) = (ReportRange::given(&q.from), ReportRange::given(&q.to));
    let r = state
        .run_clinic(move |store, ctx| {
            clinic::participant_report(
                store,
                ctx,
                &me,
                number,
                from.as_deref(),
                to.as_deref(),
                "JSON",
            )
        })
        .await?
        .1;
    serde_json::to_value(&r).map(Json).map_err(|e| {
        ApiError::from(quietlegs_app::AppError::internal(format!(
            "writing the report: {e}"
        )))
    })
}

// ---- Trials a clinician sets up ----------------------------------------------------------------

#[derive(Template)]
#[template(path = "clinic_trial.html")]
struct TrialSetupTemplate {
    nav: &'static str,
    csrf: String,
    number: i64,
    participant: String,
    min_start: String,
    start: String,
    helper: String,
    error: Option<String>,
    error_field: Option<String>,
}

#[derive(Deserialize)]
struct TrialSetupForm {
    csrf: Option<String>,
    name: Option<String>,
    compare: Option<String>,
    start: Option<String>,
    period_days: Option<String>,
    run_in_days: Option<String>,
    cycles: Option<String>,
    open: Option<String>,
    helper: Option<String>,
}

async fn trial_setup_with(
    state: &WebState,
    viewer: Viewer,
    number: i64,
    headers: &HeaderMap,
    form: Option<&TrialSetupForm>,
    error: Option<ApiError>,
) -> Response {
    let csrf = Csrf::of(headers);
    let me = viewer.account;
    let found = state
        .run_clinic(move |store, ctx| {
            let p = clinic::linked_participant(store, &me, number)?;
            Ok((p.username, ctx.now.date))
        })
        .await;
    let (participant, today) = match found {
        Ok(v) => v,
        Err(e) => return error_page(e, &csrf),
    };
    let tomorrow = today.tomorrow().unwrap_or(today).to_string();
    let status = error.as_ref().map_or(StatusCode::OK, |e| e.status);
    let t = TrialSetupTemplate {
        nav: "clinic",
        csrf: csrf.token.clone(),
        number,
        participant,
        min_start: today.to_string(),
        start: form.and_then(|f| f.start.clone()).unwrap_or(tomorrow),
        helper: form.and_then(|f| f.helper.clone()).unwrap_or_default(),
        error_field: error.as_ref().and_then(|e| e.body.field.clone()),
        error: error.map(|e| e.body.error),
    };
    page(status, t.render(), &csrf)
}

async fn trial_setup_page(
    State(state): State<WebState>,
    Extension(viewer): Extension<Viewer>,
    Path(number): Path<i64>,
    headers: HeaderMap,
) -> Response {
    trial_setup_with(&state, viewer, number, &headers, None, None).await
}

/// Registers the trial in the participant's diary; a blinded one gives the clinician a link for
/// the helper (shown once), never the sheet itself.
async fn trial_setup_submit(
    State(state): State<WebState>,
    Extension(viewer): Extension<Viewer>,
    Path(number): Path<i64>,
    headers: HeaderMap,
    Form(form): Form<TrialSetupForm>,
) -> Response {
    if let Some(refused) = refuse_without_token(&headers, form.csrf.as_deref()) {
        return refused;
    }
    let new = crate::trial_pages::NewForm {
        csrf: None,
        name: form.name.clone(),
        compare: form.compare.clone(),
        start: form.start.clone(),
        period_days: form.period_days.clone(),
        run_in_days: form.run_in_days.clone(),
        cycles: form.cycles.clone(),
        open: form.open.clone(),
    };
    let me = viewer.account.clone();
    let token = new_csrf_token();
    let link = format!("{}/helper/{token}", origin(&state, &headers));
    let name = form
        .name
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(str::to_string);
    let helper = form.helper.clone();
    let seed: u64 = rand::random();
    let made = state
        .run_clinic(move |store, ctx| {
            let (choice, start) = crate::trial_pages::choice_of(&new)?;
            clinic::set_up_trial(
                store,
                ctx,
                &me,
                number,
                name.as_deref(),
                &choice,
                start,
                helper.as_deref(),
                seed,
                &token,
            )
        })
        .await;
    match made {
        Ok(set) => {
            let csrf = Csrf::of(&headers);
            let t = OneTimeLinkTemplate {
                nav: "clinic",
                heading: format!("Trial '{}' set up for {}", set.trial, set.participant),
                explanation: match &set.helper {
                    Some(h) => format!(
                        "It is blinded. Give this link to {h}, the helper, without opening it \
                         yourself: it gives the sheet of which numbered container gets what, \
                         until the first night ({}). Every opening is recorded in {}'s access \
                         log, and it is refused to you and to {}. It is shown only now.",
                        set.first_night, set.participant, set.participant
                    ),
                    None => format!(
                        "It is open label: {} sees each night's arm on their Tonight page from \
                         the first night ({}).",
                        set.participant, set.first_night
                    ),
                },
                link: if set.helper.is_some() {
                    link
                } else {
                    String::new()
                },
                back: "/clinic",
            };
            page(StatusCode::CREATED, t.render(), &csrf)
        }
        Err(e) => trial_setup_with(&state, viewer, number, &headers, Some(&form), Some(e)).await,
    }
}

#[derive(Template)]
#[template(path = "helper.html")]
struct HelperTemplate {
    nav: &'static str,
    csrf: String,
    token: String,
    helper: String,
    trial: String,
}

/// The helper link's page: who it is for and a button that opens the sheet once (a link
/// preview or a mail scanner fetching the address uses nothing).
async fn helper_page(
    State(state): State<WebState>,
    viewer: Option<Extension<Viewer>>,
    Path(token): Path<String>,
    headers: HeaderMap,
) -> Response {
    let csrf = Csrf::of(&headers);
    let who = viewer.map(|v| v.0.account);
    let t = token.clone();
    match state
        .run_clinic(move |store, ctx| clinic::helper_link_info(store, ctx, who.as_ref(), &t))
        .await
    {
        Ok((helper, trial)) => {
            let tpl = HelperTemplate {
                nav: "none",
                csrf: csrf.token.clone(),
                token,
                helper,
                trial,
            };
            page(StatusCode::OK, tpl.render(), &csrf)
        }
        Err(e) => error_page(e, &csrf),
    }
}

/// The helper's sheet, once, by the link the clinician passed on (a text download).
async fn helper_sheet(
    State(state): State<WebState>,
    viewer: Option<Extension<Viewer>>,
    Path(token): Path<String>,
    headers: HeaderMap,
    Form(form): Form<CsrfOnly>,
) -> Response {
    if let Some(refused) = refuse_without_token(&headers, form.csrf.as_deref()) {
        return refused;
    }
    let who = viewer.map(|v| v.0.account);
    match state
        .run_clinic(move |store, ctx| clinic::open_helper_sheet(store, ctx, who.as_ref(), &token))
        .await
    {
        Ok((trial, sheet)) => {
            let mut res =
                ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], sheet).into_response();
            let safe: String = trial
                .chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() || c == '-' {
                        c
                    } else {
                        '-'
                    }
                })
                .collect();
            if let Ok(v) = header::HeaderValue::from_str(&format!(
                "attachment; filename=\"quietlegs-helper-sheet-{safe}.txt\""
            )) {
                res.headers_mut().insert(header::CONTENT_DISPOSITION, v);
            }
            res
        }
        Err(e) => error_page(e, &Csrf::of(&headers)),
    }
}

// ---- Invitations, as the invited person sees them ----------------------------------------

#[derive(Template)]
#[template(path = "invite.html")]
struct InviteTemplate {
    nav: &'static str,
    csrf: String,
    token: String,
    clinician: String,
    /// Who is logged in (None: nobody).
    viewer: Option<(String, bool)>,
    username: String,
    error: Option<String>,
    error_field: Option<String>,
}

async fn invite_with(
    state: &WebState,
    viewer: Option<Viewer>,
    headers: &HeaderMap,
    token: String,
    username: String,
    error: Option<ApiError>,
) -> Response {
    let csrf = Csrf::of(headers);
    let t = token.clone();
    let invitation = match state
        .run_clinic(move |store, ctx| clinic::open_invitation(store, ctx, &t))
        .await
    {
        Ok(i) => i,
        Err(e) => return error_page(e, &csrf),
    };
    let status = error.as_ref().map_or(StatusCode::OK, |e| e.status);
    let tpl = InviteTemplate {
        nav: "none",
        csrf: csrf.token.clone(),
        token,
        clinician: invitation.clinician_username,
        viewer: viewer.map(|v| (v.account.username, v.account.role == Role::Participant)),
        username,
        error_field: error.as_ref().and_then(|e| e.body.field.clone()),
        error: error.map(|e| e.body.error),
    };
    page(status, tpl.render(), &csrf)
}

async fn invite_page(
    State(state): State<WebState>,
    viewer: Option<Extension<Viewer>>,
    Path(token): Path<String>,
    headers: HeaderMap,
) -> Response {
    invite_with(
        &state,
        viewer.map(|v| v.0),
        &headers,
        token,
        String::new(),
        None,
    )
    .await
}

#[derive(Deserialize)]
struct CsrfOnly {
    csrf: Option<String>,
}

async fn accept_submit(
    State(state): State<WebState>,
    Extension(viewer): Extension<Viewer>,
    Path(token): Path<String>,
    headers: HeaderMap,
    Form(form): Form<CsrfOnly>,
) -> Response {
    if let Some(refused) = refuse_without_token(&headers, form.csrf.as_deref()) {
        return refused;
    }
    let me = viewer.account.clone();
    let t = token.clone();
    match state
        .run_clinic(move |store, ctx| clinic::accept_invitation(store, ctx, &me, &t))
        .await
    {
        Ok(_) => Redirect::to("/account").into_response(),
        Err(e) => {
            invite_with(
                &state,
                Some(viewer),
                &headers,
                token,
                String::new(),
                Some(e),
            )
            .await
        }
    }
}

#[derive(Deserialize)]
struct JoinForm {
    csrf: Option<String>,
    username: Option<String>,
    password: Option<String>,
}

/// Makes a participant account from an invitation, accepts it and logs the new account in.
async fn join_submit(
    State(state): State<WebState>,
    Path(token): Path<String>,
    headers: HeaderMap,
    Form(form): Form<JoinForm>,
) -> Response {
    if let Some(refused) = refuse_without_token(&headers, form.csrf.as_deref()) {
        return refused;
    }
    let username = form.username.unwrap_or_default();
    let password = form.password.unwrap_or_default();
    let session = new_csrf_token();
    let salt: [u8; 16] = rand::random();
    let (t, u, s) = (token.clone(), username.clone(), session.clone());
    let replacing = crate::login::session_cookie(&headers);
    let made = crate::login::run_password_work(&state, move |store, ctx| {
        let account = clinic::join_by_invitation(store, ctx, &u, &password, salt, &t)?;
        clinic::open_session(
            store,
            ctx.now.unix_seconds()?,
            &account,
            &s,
            replacing.as_deref(),
        )?;
        Ok(account)
    })
    .await;
    match made {
        Ok(_) => crate::login::with_session_cookie(
            Redirect::to("/account").into_response(),
            &session,
            &state,
        ),
        Err(e) => invite_with(&state, None, &headers, token, username, Some(e)).await,
    }
}

// ---- The account page ---------------------------------------------------------------------

struct LinkView {
    other: String,
    since: String,
}

struct AuditView {
    at: String,
    actor: String,
    role: String,
    action: String,
    detail: String,
}

fn audit_view(e: AuditEntry) -> AuditView {
    AuditView {
        at: to_the_second(&e.at),
        actor: e.actor,
        role: e.actor_role.to_string(),
        action: e.action,
        detail: e.detail,
    }
}

#[derive(Template)]
#[template(path = "account.html")]
struct AccountTemplate {
    nav: &'static str,
    csrf: String,
    clinic: bool,
    logout: bool,
    username: String,
    role: String,
    participant: bool,
    links: Vec<LinkView>,
    audit: Vec<AuditView>,
    message: Option<String>,
    error: Option<String>,
    error_field: Option<String>,
}

fn nav_of(role: Role) -> &'static str {
    match role {
        Role::Participant => "account",
        Role::Clinician => "clinic-account",
        Role::Admin => "admin-account",
    }
}

async fn account_with(
    state: &WebState,
    viewer: Option<Viewer>,
    headers: &HeaderMap,
    message: Option<String>,
    error: Option<ApiError>,
) -> Response {
    let csrf = Csrf::of(headers);
    let Some(viewer) = viewer else {
        // A personal server: one person, no accounts.
        let t = AccountTemplate {
            nav: "account",
            csrf: csrf.token.clone(),
            clinic: false,
            logout: state.gate().required(),
            username: String::new(),
            role: String::new(),
            participant: true,
            links: Vec::new(),
            audit: Vec::new(),
            message: None,
            error: None,
            error_field: None,
        };
        return page(StatusCode::OK, t.render(), &csrf);
    };
    let me = viewer.account.clone();
    let found = state
        .run_clinic(move |store, _| {
            let links: Vec<CareLink> = clinic::care_links(store, &me)?;
            let audit = clinic::my_audit_log(store, &me)?;
            Ok((links, audit))
        })
        .await;
    let (links, audit) = match found {
        Ok(v) => v,
        Err(e) => return error_page(e, &csrf),
    };
    let account = &viewer.account;
    let links = links
        .into_iter()
        .map(|l| LinkView {
            other: if account.role == Role::Participant {
                l.clinician.username
            } else {
                l.participant.username
            },
            since: when(l.since),
        })
        .collect();
    let status = error.as_ref().map_or(StatusCode::OK, |e| e.status);
    let t = AccountTemplate {
        nav: nav_of(account.role),
        csrf: csrf.token.clone(),
        clinic: true,
        logout: true,
        username: account.username.clone(),
        role: account.role.to_string(),
        participant: account.role == Role::Participant,
        links,
        audit: audit.into_iter().rev().map(audit_view).collect(),
        message,
        error_field: error.as_ref().and_then(|e| e.body.field.clone()),
        error: error.map(|e| e.body.error),
    };
    page(status, t.render(), &csrf)
}

/// `/account`: one's account on a clinic server (a participant's also lists their clinicians
/// and who looked at their data); on a personal server, the log-out.
async fn account_page(
    State(state): State<WebState>,
    viewer: Option<Extension<Viewer>>,
    headers: HeaderMap,
) -> Response {
    account_with(&state, viewer.map(|v| v.0), &headers, None, None).await
}

#[derive(Deserialize)]
struct EndLinkForm {
    csrf: Option<String>,
    other: Option<String>,
}

async fn end_link_submit(
    State(state): State<WebState>,
    Extension(viewer): Extension<Viewer>,
    headers: HeaderMap,
    Form(form): Form<EndLinkForm>,
) -> Response {
    if let Some(refused) = refuse_without_token(&headers, form.csrf.as_deref()) {
        return refused;
    }
    let me = viewer.account.clone();
    let other = form.other.unwrap_or_default();
    let shown = other.clone();
    match state
        .run_clinic(move |store, ctx| clinic::end_care_link(store, ctx, &me, &other))
        .await
    {
        Ok(()) => {
            account_with(
                &state,
                Some(viewer),
                &headers,
                Some(format!("The link with {shown} has ended.")),
                None,
            )
            .await
        }
        Err(e) => account_with(&state, Some(viewer), &headers, None, Some(e)).await,
    }
}

#[derive(Deserialize)]
struct PasswordForm {
    csrf: Option<String>,
    current: Option<String>,
    new: Option<String>,
}

async fn password_submit(
    State(state): State<WebState>,
    Extension(viewer): Extension<Viewer>,
    headers: HeaderMap,
    Form(form): Form<PasswordForm>,
) -> Response {
    if let Some(refused) = refuse_without_token(&headers, form.csrf.as_deref()) {
        return refused;
    }
    let me = viewer.account.clone();
    let salt: [u8; 16] = rand::random();
    let (current, new) = (
        form.current.unwrap_or_default(),
        form.new.unwrap_or_default(),
    );
    match crate::login::run_password_work(&state, move |store, ctx| {
        clinic::change_password(store, ctx, &me, &current, &new, salt)
    })
    .await
    {
        // Every session ended, this one too: log in again with the new password.
        Ok(()) => Redirect::to("/login").into_response(),
        Err(e) => account_with(&state, Some(viewer), &headers, None, Some(e)).await,
    }
}

#[derive(Template)]
#[template(path = "account_delete.html")]
struct DeleteTemplate {
    nav: &'static str,
    csrf: String,
    username: String,
    error: Option<String>,
    error_field: Option<String>,
}

fn delete_view(viewer: &Viewer, headers: &HeaderMap, error: Option<ApiError>) -> Response {
    let csrf = Csrf::of(headers);
    let status = error.as_ref().map_or(StatusCode::OK, |e| e.status);
    let t = DeleteTemplate {
        nav: "account",
        csrf: csrf.token.clone(),
        username: viewer.account.username.clone(),
        error_field: error.as_ref().and_then(|e| e.body.field.clone()),
        error: error.map(|e| e.body.error),
    };
    page(status, t.render(), &csrf)
}

async fn delete_page(
    State(state): State<WebState>,
    viewer: Option<Extension<Viewer>>,
    headers: HeaderMap,
) -> Response {
    match viewer {
        Some(Extension(v)) => delete_view(&v, &headers, None),
        None => error_page(
            ApiError::new(
                StatusCode::NOT_FOUND,
                if state.is_clinic() {
                    "log in first".into()
                } else {
                    "a personal diary is deleted by deleting its file; export it first (Data)"
                        .into()
                },
                None,
            ),
            &Csrf::of(&headers),
        ),
    }
}

#[derive(Deserialize)]
struct DeleteForm {
    csrf: Option<String>,
    confirm: Option<String>,
    password: Option<String>,
}

async fn delete_submit(
    State(state): State<WebState>,
    viewer: Option<Extension<Viewer>>,
    headers: HeaderMap,
    Form(form): Form<DeleteForm>,
) -> Response {
    if let Some(refused) = refuse_without_token(&headers, form.csrf.as_deref()) {
        return refused;
    }
    let Some(Extension(viewer)) = viewer else {
        return delete_page(State(state), None, headers).await;
    };

    let me = viewer.account.clone();
    let (confirm, password) = (
        form.confirm.unwrap_or_default(),
        form.password.unwrap_or_default(),
    );
    match crate::login::run_password_work(&state, move |store, ctx| {
        clinic::delete_own_account(store, ctx, &me, &confirm, &password)
    })
    .await
    {
        Ok(()) => {
            let csrf = Csrf::of(&headers);
            let t = OneTimeLinkTemplate {
                nav: "none",
                heading: "Your account is deleted".into(),
                explanation: "Your diary, profile, trials, links and access log have been removed \
                              from this server."
                    .into(),
                link: String::new(),
                back: "/login",
            };
            let mut res = page(StatusCode::OK, t.render(), &csrf);
            crate::login::clear_session_cookie(&mut res);
            res
        }
        Err(e) => delete_view(&viewer, &headers, Some(e)),
    }
}

async fn audit_json(
    State(state): State<WebState>,
    Extension(viewer): Extension<Viewer>,
) -> Result<Json<Vec<AuditEntry>>, ApiError> {
    let me = viewer.account;
    state
        .run_clinic(move |store, _| clinic::my_audit_log(store, &me))
        .await
        .map(Json)
}

// ---- The admin ----------------------------------------------------------------------------

struct AccountView {
    username: String,
    role: String,
    created: String,
}

#[derive(Template)]
#[template(path = "admin.html")]
struct AdminTemplate {
    nav: &'static str,
    csrf: String,
    accounts: Vec<AccountView>,
    message: Option<String>,
    error: Option<String>,
    error_field: Option<String>,
}

async fn admin_with(
    state: &WebState,
    viewer: Viewer,
    headers: &HeaderMap,
    message: Option<String>,
    error: Option<ApiError>,
) -> Response {
    let csrf = Csrf::of(headers);
    let me = viewer.account;
    let accounts: Vec<Account> = match state
        .run_clinic(move |store, _| clinic::list_accounts(store, &me))
        .await
    {
        Ok(a) => a,
        Err(e) => return error_page(e, &csrf),
    };
    let status = error.as_ref().map_or(StatusCode::OK, |e| e.status);
    let t = AdminTemplate {
        nav: "admin",
        csrf: csrf.token.clone(),
        accounts: accounts
            .into_iter()
            .map(|a| AccountView {
                username: a.username,
                role: a.role.to_string(),
                created: to_the_second(&a.created_at),
            })
            .collect(),
        message,
        error_field: error.as_ref().and_then(|e| e.body.field.clone()),
        error: error.map(|e| e.body.error),
    };
    page(status, t.render(), &csrf)
}

async fn admin_page(
    State(state): State<WebState>,
    Extension(viewer): Extension<Viewer>,
    headers: HeaderMap,
) -> Response {
    admin_with(&state, viewer, &headers, None, None).await
}

#[derive(Deserialize)]
struct CreateForm {
    csrf: Option<String>,
    username: Option<String>,
    role: Option<String>,
}

async fn admin_create_submit(
    State(state): State<WebState>,
    Extension(viewer): Extension<Viewer>,
    headers: HeaderMap,
    Form(form): Form<CreateForm>,
) -> Response {
    if let Some(refused) = refuse_without_token(&headers, form.csrf.as_deref()) {
        return refused;
    }
    let Some(role) = form.role.as_deref().and_then(Role::parse) else {
        return admin_with(
            &state,
            viewer,
            &headers,
            None,
            Some(ApiError::field(
                "role",
                "choose participant, clinician or admin",
            )),
        )
        .await;
    };
    let me = viewer.account.clone();
    let salt: [u8; 16] = rand::random();
    let username = form.username.unwrap_or_default();
    // Nobody knows the account's first password: it is random, and the person sets their own
    // through a one-time link.
    let unusable = new_csrf_token();
    let token = new_csrf_token();
    let link = format!("{}/reset/{token}", origin(&state, &headers));
    match crate::login::run_password_work(&state, move |store, ctx| {
        clinic::admin_create_account(store, ctx, &me, &username, role, &unusable, salt, &token)
    })
    .await
    {
        Ok(a) => {
            let csrf = Csrf::of(&headers);
            let t = OneTimeLinkTemplate {
                nav: "admin",
                heading: format!("Account {} ({}) made", a.username, a.role),
                explanation: format!(
                    "Give this link to {} only: with it they set their own first password \
                     (nobody else knows it). It works once, for {} days. It is shown only now.",
                    a.username,
                    clinic::INVITATION_SECONDS / 86_400
                ),
                link,
                back: "/admin",
            };
            page(StatusCode::CREATED, t.render(), &csrf)
        }
        Err(e) => admin_with(&state, viewer, &headers, None, Some(e)).await,
    }
}

#[derive(Deserialize)]
struct ResetForm {
    csrf: Option<String>,
    username: Option<String>,
}

async fn admin_reset_submit(
    State(state): State<WebState>,
    Extension(viewer): Extension<Viewer>,
    headers: HeaderMap,
    Form(form): Form<ResetForm>,
) -> Response {
    if let Some(refused) = refuse_without_token(&headers, form.csrf.as_deref()) {
        return refused;
    }
    let me = viewer.account.clone();
    let token = new_csrf_token();
    let link = format!("{}/reset/{token}", origin(&state, &headers));
    let username = form.username.unwrap_or_default();
    match state
        .run_clinic(move |store, ctx| {
            clinic::issue_password_reset(store, ctx, &me, &username, &token)
        })
        .await
    {
        Ok(a) => {
            let csrf = Csrf::of(&headers);
            let t = OneTimeLinkTemplate {
                nav: "admin",
                heading: format!("Password reset link for {}", a.username),
                explanation: format!(
                    "Give this link to {} only. It works once, for {} minutes; using it ends \
                     every session of the account. It is shown only now.",
                    a.username,
                    clinic::RESET_SECONDS / 60
                ),
                link,
                back: "/admin",
            };
            page(StatusCode::CREATED, t.render(), &csrf)
        }
        Err(e) => admin_with(&state, viewer, &headers, None, Some(e)).await,
    }
}

// ---- Reset links ----------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "reset.html")]
struct ResetTemplate {
    nav: &'static str,
    csrf: String,
    token: String,
    username: String,
    error: Option<String>,
}

async fn reset_with(
    state: &WebState,
    headers: &HeaderMap,
    token: String,
    error: Option<ApiError>,
) -> Response {
    let csrf = Csrf::of(headers);
    let t = token.clone();
    let account = match state
        .run_clinic(move |store, ctx| clinic::reset_link_account(store, ctx, &t))
        .await
    {
        Ok(a) => a,
        Err(e) => return error_page(e, &csrf),
    };
    let status = error.as_ref().map_or(StatusCode::OK, |e| e.status);
    let tpl = ResetTemplate {
        nav: "none",
        csrf: csrf.token.clone(),
        token,
        username: account.username,
        error: error.map(|e| e.body.error),
    };
    page(status, tpl.render(), &csrf)
}

async fn reset_page(
    State(state): State<WebState>,
    Path(token): Path<String>,
    headers: HeaderMap,
) -> Response {
    reset_with(&state, &headers, token, None).await
}

#[derive(Deserialize)]
struct NewPasswordForm {
    csrf: Option<String>,
    password: Option<String>,
}

async fn reset_submit(
    State(state): State<WebState>,
    Path(token): Path<String>,
    headers: HeaderMap,
    Form(form): Form<NewPasswordForm>,
) -> Response {
    if let Some(refused) = refuse_without_token(&headers, form.csrf.as_deref()) {
        return refused;
    }
    let salt: [u8; 16] = rand::random();
    let t = token.clone();
    let password = form.password.unwrap_or_default();
    match crate::login::run_password_work(&state, move |store, ctx| {
        clinic::use_password_reset(store, ctx, &t, &password, salt)
    })
    .await
    {
        Ok(_) => Redirect::to("/login").into_response(),
        Err(e) => reset_with(&state, &headers, token, Some(e)).await,
    }
}

#[cfg(test)]
mod tests {
    use super::to_the_second;

    #[test]
    fn stored_moments_are_shown_to_the_second_in_utc() {
        // The store writes RFC 3339 in UTC with nanoseconds; a person reads the second.
        assert_eq!(
            to_the_second("2026-11-30T06:44:16.205583052Z"),
            "2026-11-30 06:44:16"
        );
        // An offset is converted to UTC: 08:44:16 at +02:00 is 06:44:16 UTC.
        assert_eq!(
            to_the_second("2026-11-30T08:44:16+02:00"),
            "2026-11-30 06:44:16"
        );
        assert_eq!(to_the_second("not a moment"), "not a moment");
    }
}
