//! The profile form and the plan page. The profile is the document `plan --profile FILE` reads
//! (docs/profile.md), stored per person; the form builds it and the app validates it with the one
//! profile parser. Without a stored profile, the plan page invites the person to fill the form.

use askama::Template;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use quietlegs_app::profile::{self, PersonProfile, ProfileForm};
use quietlegs_core::plan::Flag;
use quietlegs_core::reference::Severity;
use quietlegs_core::Plan;

use crate::access::{Access, Routes};
use crate::error::ApiError;
use crate::pages::{error_page, page, refuse_without_token, Csrf};
use crate::WebState;

pub fn routes(state: &WebState) -> Routes {
    Routes::new(state)
        .route(Access::Participant, "/plan", get(plan_page))
        .route(
            Access::Participant,
            "/profile",
            get(profile_page).post(profile_submit),
        )
}

/// `aria-invalid` and the link to the message for the field a refusal names.
pub(crate) fn invalid_attrs(error_field: Option<&str>, field: &str) -> &'static str {
    if error_field == Some(field) {
        r#" aria-invalid="true" aria-describedby="form-error""#
    } else {
        ""
    }
}

// ---------------------------------------------------------------------------------------------
// The profile form

#[derive(Template)]
#[template(path = "profile.html")]
struct ProfileTemplate {
    nav: &'static str,
    csrf: String,
    /// No profile is stored yet: the page explains why it asks.
    first_run: bool,
    form: ProfileForm,
    /// Condition (id, words) choices from the reference data.
    conditions: Vec<(String, String)>,
    error: Option<String>,
    error_field: Option<String>,
}

impl ProfileTemplate {
    fn attrs(&self, field: &str) -> &'static str {
        invalid_attrs(self.error_field.as_deref(), field)
    }

    fn value<'a>(&self, v: &'a Option<String>) -> &'a str {
        v.as_deref().unwrap_or("")
    }

    fn is(&self, v: &Option<String>, want: &str) -> bool {
        v.as_deref() == Some(want)
    }

    fn has_condition(&self, id: &str) -> bool {
        self.form.conditions.iter().any(|c| c == id)
    }
}

fn condition_choices(state: &WebState) -> Vec<(String, String)> {
    state
        .reference()
        .rules
        .condition
        .iter()
        .map(|c| {
            let words = c.id.replace('-', " ");
            let mut chars = words.chars();
            let words = chars
                .next()
                .map(|f| f.to_uppercase().chain(chars).collect())
                .unwrap_or_default();
            (c.id.clone(), words)
        })
        .collect()
}

fn profile_form_page(
    state: &WebState,
    csrf: &Csrf,
    first_run: bool,
    form: ProfileForm,
    error: Option<ApiError>,
) -> Response {
    let status = error.as_ref().map_or(StatusCode::OK, |e| e.status);
    let t = ProfileTemplate {
        nav: "plan",
        csrf: csrf.token.clone(),
        first_run,
        form,
        conditions: condition_choices(state),
        error_field: error.as_ref().and_then(|e| e.body.field.clone()),
        error: error.map(|e| e.body.error),
    };
    page(status, t.render(), csrf)
}

async fn profile_page(State(state): State<WebState>, headers: HeaderMap) -> Response {
    let csrf = Csrf::of(&headers);
    let found = state.run(profile::stored).await;
    match found {
        Ok(Some(p)) => profile_form_page(&state, &csrf, false, ProfileForm::of(&p.profile), None),
        Ok(None) => profile_form_page(&state, &csrf, true, ProfileForm::default(), None),
        // A stored profile a newer rule refuses: the form, with why, to correct it.
        Err(e) if e.status == StatusCode::UNPROCESSABLE_ENTITY => {
            profile_form_page(&state, &csrf, false, ProfileForm::default(), Some(e))
        }
        Err(e) => error_page(e, &csrf),
    }
}

/// The form's fields as sent; `conditions` repeats once per checked box, which the urlencoded
/// extractor does not gather, so the body is read as pairs.
fn profile_form_from(pairs: Vec<(String, String)>) -> (Option<String>, ProfileForm) {
    let mut csrf = None;
    let mut f = ProfileForm::default();
    for (k, v) in pairs {
        let slot = match k.as_str() {
            "csrf" => &mut csrf,
            "age" => &mut f.age,
            "sex" => &mut f.sex,
            "pregnant" => &mut f.pregnant,
            "lactating" => &mut f.lactating,
            "bedtime" => &mut f.bedtime,
            "wake" => &mut f.wake,
            "gi_tolerance" => &mut f.gi_tolerance,
            "ferritin_ng_ml" => &mut f.ferritin_ng_ml,
            "tsat_percent" => &mut f.tsat_percent,
            "dietary_magnesium_mg" => &mut f.dietary_magnesium_mg,
            "egfr" => &mut f.egfr,
            "ckd_stage" => &mut f.ckd_stage,
            "dialysis" => &mut f.dialysis,
            "medications" => &mut f.medications,
            "supplements" => &mut f.supplements,
            "conditions" => {
                f.conditions.push(v);
                continue;
            }
            _ => continue,
        };
        *slot = Some(v);
    }
    (csrf, f)
}

/// The form names its kidney inputs without the table prefix.
fn form_field(field: Option<String>) -> Option<String> {
    field.map(|f| match f.as_str() {
        "kidney.egfr" => "egfr".to_string(),
        "kidney.ckd_stage" => "ckd_stage".to_string(),
        "kidney.dialysis" => "dialysis".to_string(),
        _ => f,
    })
}

async fn profile_submit(
    State(state): State<WebState>,
    headers: HeaderMap,
    axum::Form(pairs): axum::Form<Vec<(String, String)>>,
) -> Response {
    let (token, form) = profile_form_from(pairs);
    if let Some(refused) = refuse_without_token(&headers, token.as_deref()) {
        return refused;
    }
    let csrf = Csrf::of(&headers);
    let typed = form.clone();
    let saved = state
        .run(move |store, person, ctx| {
            let first_run = profile::stored(store, person, ctx).ok().flatten().is_none();
            Ok(form
                .document()
                .and_then(|d| profile::save(store, person, ctx, &d))
                .map(|_| ())
                .map_err(|e| (first_run, e)))
        })
        .await;
    match saved {
        Ok(Ok(_)) => Redirect::to("/plan?saved=1").into_response(),
        Ok(Err((first_run, e))) => {
            let mut e = ApiError::from(e);
            e.body.field = form_field(e.body.field);
            profile_form_page(&state, &csrf, first_run, typed, Some(e))
        }
        Err(e) => error_page(e, &csrf),
    }
}

// ---------------------------------------------------------------------------------------------
// The plan

#[derive(Template)]
#[template(path = "plan.html")]
struct PlanTemplate {
    nav: &'static str,
    saved: bool,
    summary: String,
    plan: PlanView,
    /// The name of a trial in progress: its schedule, not this plan's dose, says what to take.
    trial: Option<String>,
}

/// A cited text: the words and the source ids (linked to the About page).
pub(crate) struct Cited {
    pub(crate) text: String,
    pub(crate) sources: Vec<String>,
}

struct FlagView {
    /// stop | caution | info (the CSS class and the word shown).
    severity: &'static str,
    label: &'static str,
    code: String,
    message: String,
    sources: Vec<String>,
}

struct PlanView {
    flags: Vec<FlagView>,
    may_start: bool,
    start_advice: String,
    supplement: Option<SupplementView>,
    supplement_note: String,
    rda: String,
    ul: Cited,
    food_message: String,
    food_suggestions: Vec<String>,
    food_groups: Vec<String>,
    food_sources: Vec<String>,
    medicines: Vec<String>,
    iron: Cited,
    iron_status: String,
    safety: Vec<Cited>,
    evidence: Cited,
    lifestyle: Vec<Cited>,
    sources: Vec<(String, String, Option<String>)>,
    disclaimer: String,
}

struct SupplementView {
    instruction: String,
    reason: String,
    timing_reason: String,
    total: Option<String>,
    sources: Vec<String>,
}

fn flag_view(f: &Flag) -> FlagView {
    let (severity, label) = match f.severity {
        Severity::Stop => ("stop", "Stop"),
        Severity::Caution => ("caution", "Caution"),
        Severity::Info => ("info", "Note"),
    };
    FlagView {
        severity,
        label,
        code: f.code.clone(),
        message: f.message.clone(),
        sources: f.sources.clone(),
    }
}

fn plan_view(plan: &Plan) -> PlanView {
    use quietlegs_core::plan::MedicineReading;
    let mut flags: Vec<FlagView> = plan.flags.iter().map(flag_view).collect();
    // The most serious first.
    flags.sort_by_key(|f| match f.severity {
        "stop" => 0,
        "caution" => 1,
        _ => 2,
    });
    let supplement = plan.supplement.as_ref().map(|s| SupplementView {
        instruction: format!(
            "{} {} mg of elemental magnesium as {} a day, at {}.",
            if s.conditional {
                "Only if your clinician agrees: take"
            } else {
                "Take"
            },
            s.elemental_mg,
            s.form,
            s.take_at
        ),
        reason: s.reason.clone(),
        timing_reason: s.timing_reason.clone(),
        total: (plan.food_first.current_supplement_mg > 0.0
            || plan.magnesium_from_medicines_mg > 0.0)
            .then(|| {
                format!(
                    "With what you already take: {:.0} of {} mg a day from supplements and medicines.",
                    s.total_supplemental_mg, plan.supplemental_ul_mg
                )
            }),
        sources: s.sources.clone(),
    });
    let medicines = plan
        .medicines
        .iter()
        .map(MedicineReading::describe)
        .collect();
    let cited = |l: &quietlegs_core::reference::LifestyleMeasure| Cited {
        text: l.text.clone(),
        sources: l.sources.clone(),
    };
    PlanView {
        flags,
        may_start: plan.may_start_without_clinician,
        start_advice: plan.start_advice.clone(),
        supplement,
        supplement_note: plan
            .supplement_note
            .clone()
            .unwrap_or_else(|| "No supplement is suggested.".into()),
        rda: match plan.rda_mg {
            Some(rda) => format!(
                "RDA (food, water and supplements together): {rda} mg a day ({}).",
                plan.rda_basis
            ),
            None => format!("RDA: {}.", plan.rda_basis),
        },
        ul: Cited {
            text: format!(
                "Upper limit for supplements: {} mg a day. {}",
                plan.supplemental_ul_mg, plan.ul_note
            ),
            sources: plan.limit_sources.clone(),
        },
        food_message: plan.food_first.message.clone(),
        food_suggestions: plan
            .food_first
            .suggestions
            .iter()
            .map(|s| format!("{} of {}: {:.0} mg", s.amount, s.name, s.magnesium_mg))
            .collect(),
        food_groups: plan
            .food_first
            .food_groups
            .iter()
            .map(|g| g.name.clone())
            .collect(),
        food_sources: plan.food_first.sources.clone(),
        medicines,
        iron_status: plan.iron.status.to_string(),
        iron: Cited {
            text: plan.iron.message.clone(),
            sources: plan.iron.sources.clone(),
        },
        safety: plan.safety.iter().map(cited).collect(),
        evidence: Cited {
            text: plan.evidence.text.clone(),
            sources: plan.evidence.sources.clone(),
        },
        lifestyle: plan.lifestyle.iter().map(cited).collect(),
        sources: plan
            .sources
            .values()
            .map(|s| (s.id.clone(), s.citation.clone(), s.url.clone()))
            .collect(),
        disclaimer: plan.disclaimer.to_string(),
    }
}

fn summary(p: &PersonProfile) -> String {
    let sex = match p.profile.sex {
        quietlegs_core::profile::Sex::Female => "female",
        quietlegs_core::profile::Sex::Male => "male",
    };
    format!(
        "For: {sex}, age {}, bedtime {}.",
        p.profile.age, p.profile.bedtime
    )
}

#[derive(serde::Deserialize)]
struct PlanQuery {
    saved: Option<String>,
}

async fn plan_page(
    State(state): State<WebState>,
    headers: HeaderMap,
    axum::extract::Query(q): axum::extract::Query<PlanQuery>,
) -> Response {
    let csrf = Csrf::of(&headers);
    let found = state
        .run(|store, person, ctx| {
            let plan = profile::stored_plan(store, person, ctx)?;
            let trial = quietlegs_app::trial::in_progress(store, person, ctx)?;
            Ok(plan.map(|plan| (plan, trial.map(|t| t.trial))))
        })
        .await;
    match found {
        Ok(Some(((p, plan), trial))) => {
            let t = PlanTemplate {
                nav: "plan",
                saved: q.saved.is_some(),
                summary: summary(&p),
                plan: plan_view(&plan),
                trial,
            };
            page(StatusCode::OK, t.render(), &csrf)
        }
        // First run: the plan needs a profile.
        Ok(None) => profile_form_page(&state, &csrf, true, ProfileForm::default(), None),
        Err(e) => error_page(e, &csrf),
    }
}
