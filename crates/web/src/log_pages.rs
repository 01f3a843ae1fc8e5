//! The diary beyond the night: a dose, side effects, evening factors and the weekly IRLS, each
//! a short form on `/log` over the app's entry use cases (`quietlegs_app::entries`), like
//! `quietlegs log dose|side-effects|factor|irls`.

use std::collections::BTreeMap;

use askama::Template;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Form;
use jiff::civil::Date;
use quietlegs_app::diary;
use quietlegs_app::entries::{self, AmountBasis, DoseInput, FactorInput, IrlsInput};
use quietlegs_app::{AppError, Context};
use quietlegs_core::diary::Record;
use quietlegs_core::forms::FormCatalogue;
use serde::Deserialize;

use crate::access::{Access, Routes};
use crate::error::ApiError;
use crate::pages::{error_page, page, refuse_without_token, Csrf};
use crate::plan_pages::invalid_attrs;
use crate::WebState;

pub fn routes(state: &WebState) -> Routes {
    Routes::new(state)
        .route(Access::Participant, "/log", get(log_page))
        .route(Access::Participant, "/log/dose", post(dose_submit))
        .route(
            Access::Participant,
            "/log/side-effects",
            post(side_effects_submit),
        )
        .route(Access::Participant, "/log/factors", post(factors_submit))
        .route(Access::Participant, "/log/irls", post(irls_submit))
}

/// The IRLS item inputs' names, item 1 first.
const IRLS_ITEMS: [&str; 10] = [
    "item1", "item2", "item3", "item4", "item5", "item6", "item7", "item8", "item9", "item10",
];
/// Side-effect grades, 0 to 3, as the page words them.
const GRADES: [(u8, &str); 4] = [(0, "None"), (1, "Mild"), (2, "Moderate"), (3, "Severe")];

/// The posted fields (a name may repeat: one per checked box).
type Fields = BTreeMap<String, Vec<String>>;

fn fields(pairs: Vec<(String, String)>) -> Fields {
    let mut out = Fields::new();
    for (k, v) in pairs {
        out.entry(k).or_default().push(v);
    }
    out
}

fn one<'a>(f: &'a Fields, name: &str) -> &'a str {
    f.get(name)
        .and_then(|v| v.first())
        .map(|s| s.trim())
        .unwrap_or("")
}

fn date_field(text: &str) -> Result<Option<Date>, AppError> {
    if text.is_empty() {
        return Ok(None);
    }
    text.parse::<Date>()
        .map(Some)
        .map_err(|_| AppError::field("date", format!("'{text}' is not a date: use YYYY-MM-DD")))
}

fn number(field: &'static str, text: &str, allowed: &str) -> Result<Option<f64>, AppError> {
    if text.is_empty() {
        return Ok(None);
    }
    text.replace(',', ".")
        .parse::<f64>()
        .map(Some)
        .map_err(|_| AppError::field(field, format!("'{text}' is not a number: {allowed}")))
}

fn grade(field: &'static str, text: &str) -> Result<u8, AppError> {
    text.parse::<u8>()
        .map_err(|_| AppError::field(field, "choose none, mild, moderate or severe (0 to 3)"))
}

// ---------------------------------------------------------------------------------------------
// The page

#[derive(Template)]
#[template(path = "log.html")]
struct LogTemplate {
    nav: &'static str,
    csrf: String,
    today: String,
    now_time: String,
    /// The section a refusal or a confirmation is about: dose | side-effects | factors | irls.
    section: String,
    saved: Option<String>,
    error: Option<String>,
    error_field: Option<String>,
    /// What was typed in the refused section (by input name).
    typed: Fields,
    forms: Vec<(String, String)>,
    grades: Vec<(u8, &'static str)>,
    factor_kinds: Vec<(&'static str, String)>,
    irls_items: Vec<(&'static str, String)>,
    irls_values: Vec<u8>,
}

impl LogTemplate {
    fn attrs(&self, section: &str, field: &str) -> &'static str {
        if self.section == section {
            invalid_attrs(self.error_field.as_deref(), field)
        } else {
            ""
        }
    }

    /// The value typed into `name` of `section`, or `default`.
    fn typed_or<'a>(&'a self, section: &str, name: &str, default: &'a str) -> &'a str {
        if self.section == section {
            if let Some(v) = self.typed.get(name).and_then(|v| v.first()) {
                return v;
            }
        }
        default
    }

    fn is_typed(&self, section: &str, name: &str, value: &str) -> bool {
        self.section == section
            && self
                .typed
                .get(name)
                .is_some_and(|v| v.iter().any(|x| x == value))
    }

    fn error_in(&self, section: &str) -> Option<&str> {
        (self.section == section)
            .then_some(self.error.as_deref())
            .flatten()
    }
}

fn factor_words(kind: &str) -> String {
    match kind {
        "warm-bath" => "Warm bath".into(),
        "heat-cold-pack" => "Heat or cold pack".into(),
        "screens" => "Screens".into(),
        other => {
            let mut c = other.chars();
            c.next()
                .map(|f| f.to_uppercase().chain(c).collect())
                .unwrap_or_default()
        }
    }
}

struct Shown {
    section: String,
    saved: Option<String>,
    error: Option<ApiError>,
    typed: Fields,
}

fn render(state: &WebState, csrf: &Csrf, now: &quietlegs_app::Now, shown: Shown) -> Response {
    let status = shown.error.as_ref().map_or(StatusCode::OK, |e| e.status);
    let t = LogTemplate {
        nav: "log",
        csrf: csrf.token.clone(),
        today: now.date.to_string(),
        now_time: now.time.to_string(),
        section: shown.section,
        saved: shown.saved,
        error_field: shown.error.as_ref().and_then(|e| e.body.field.clone()),
        error: shown.error.map(|e| e.body.error),
        typed: shown.typed,
        forms: FormCatalogue::new(state.reference())
            .all()
            .iter()
            .map(|f| (f.row.id.clone(), f.row.name.clone()))
            .collect(),
        grades: GRADES.to_vec(),
        factor_kinds: entries::factor_kinds()
            .into_iter()
            .map(|(k, _)| (k, factor_words(k)))
            .collect(),
        irls_items: IRLS_ITEMS
            .iter()
            .copied()
            .zip(state.reference().irls.domains.iter().cloned())
            .collect(),
        irls_values: (0..=4).collect(),
    };
    page(status, t.render(), csrf)
}

#[derive(Deserialize)]
struct LogQuery {
    saved: Option<String>,
    date: Option<String>,
}

async fn log_page(
    State(state): State<WebState>,
    headers: HeaderMap,
    Query(q): Query<LogQuery>,
) -> Response {
    let csrf = Csrf::of(&headers);
    let now = quietlegs_app::Now::read();
    let date = q.date.as_deref().and_then(|d| d.parse::<Date>().ok());
    let saved = match q.saved.as_deref() {
        Some("dose") => Some("Dose saved.".to_string()),
        Some("side-effects") => Some("Side effects saved.".to_string()),
        Some("factors") => Some("Evening factors saved.".to_string()),
        // The IRLS as stored: its total and band.
        Some("irls") => {
            let found = state
                .run_at(now.clone(), move |store, person, _ctx| {
                    Ok(diary::records(Some((store, person)), date, date)?
                        .into_iter()
                        .find_map(|r| match r.record {
                            Record::Irls(i) => Some(i),
                            _ => None,
                        }))
                })
                .await;
            match found {
                Ok(Some(i)) => Some(format!(
                    "IRLS of {} saved: total {} of 40, {}.",
                    i.date,
                    i.total,
                    i.band.as_str().replace('-', " ")
                )),
                Ok(None) => None,
                Err(e) => return error_page(e, &csrf),
            }
        }
        _ => None,
    };
    render(
        &state,
        &csrf,
        &now,
        Shown {
            section: q.saved.unwrap_or_default(),
            saved,
            error: None,
            typed: Fields::new(),
        },
    )
}

/// Stores the entries `build` makes from the form (all checked before any is stored), then
/// goes back to the page with a confirmation; a refusal shows the form back with what was typed.
async fn submit(
    state: WebState,
    headers: HeaderMap,
    section: &'static str,
    pairs: Vec<(String, String)>,
    build: fn(&Context<'_>, &Fields) -> Result<Vec<diary::Entry>, AppError>,
) -> Response {
    let f = fields(pairs);
    if let Some(refused) = refuse_without_token(&headers, Some(one(&f, "csrf"))) {
        return refused;
    }
    let csrf = Csrf::of(&headers);
    let now = quietlegs_app::Now::read();
    let typed = f.clone();
    // All of a form's entries (the evening's factors) in one transaction.
    let stored = state
        .log_entries(now.clone(), |ctx| build(ctx, &f))
        .await
        .map(|logged| logged.last().map(|l| l.record.date()));
    match stored {
        Ok(date) => {
            let date = date.map(|d| format!("&date={d}")).unwrap_or_default();
            Redirect::to(&format!("/log?saved={section}{date}#{section}")).into_response()
        }
        Err(e) => render(
            &state,
            &csrf,
            &now,
            Shown {
                section: section.into(),
                saved: None,
                error: Some(e),
                typed,
            },
        ),
    }
}

fn dose_from(ctx: &Context<'_>, f: &Fields) -> Result<Vec<diary::Entry>, AppError> {
    let amount = number(
        "amount_mg",
        one(f, "amount_mg"),
        "mg per serving, more than 0",
    )?
    .ok_or_else(|| AppError::field("amount_mg", "give the amount in mg"))?;
    let basis = match one(f, "basis") {
        "elemental" => AmountBasis::Elemental,
        "compound" => AmountBasis::Compound,
        _ => {
            return Err(AppError::field(
                "basis",
                "say whether the amount is elemental magnesium or the compound weight",
            ))
        }
    };
    let input = DoseInput {
        form: one(f, "form").to_string(),
        amount_mg: amount,
        basis,
        servings: number("servings", one(f, "servings"), "more than 0")?,
        product: Some(one(f, "product").to_string()).filter(|p| !p.is_empty()),
        time: Some(one(f, "time").to_string()).filter(|t| !t.is_empty()),
        date: date_field(one(f, "date"))?,
    };
    Ok(vec![entries::dose(ctx, &input)?])
}

fn side_effects_from(ctx: &Context<'_>, f: &Fields) -> Result<Vec<diary::Entry>, AppError> {
    let input = entries::SideEffectsInput {
        date: date_field(one(f, "date"))?,
        diarrhea: grade("diarrhea", one(f, "diarrhea"))?,
        nausea: grade("nausea", one(f, "nausea"))?,
        cramps: grade("cramps", one(f, "cramps"))?,
    };
    Ok(vec![entries::side_effects(ctx, &input)?])
}

fn factors_from(ctx: &Context<'_>, f: &Fields) -> Result<Vec<diary::Entry>, AppError> {
    let date = date_field(one(f, "date"))?;
    let mut kinds: Vec<String> = f.get("kind").cloned().unwrap_or_default();
    let custom = one(f, "custom");
    if !custom.is_empty() {
        // "stretching" or "late dinner" becomes custom:stretching, custom:late-dinner.
        let name = custom
            .to_lowercase()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join("-");
        kinds.push(format!("custom:{name}"));
    }
    if kinds.is_empty() {
        return Err(AppError::field("kind", "tick at least one factor"));
    }
    kinds
        .iter()
        .map(|kind| {
            let input = FactorInput {
                kind: kind.clone(),
                amount: None,
                unit: None,
                time: None,
                date,
            };
            entries::factor(ctx, &input).map_err(|e| {
                // A refused custom name is about the custom input.
                if e.field == Some("kind") && kind.starts_with("custom:") {
                    e.in_field("custom")
                } else {
                    e
                }
            })
        })
        .collect()
}

fn irls_from(ctx: &Context<'_>, f: &Fields) -> Result<Vec<diary::Entry>, AppError> {
    let domains = &ctx.reference.irls.domains;
    let mut items = Vec::with_capacity(IRLS_ITEMS.len());
    for (i, name) in IRLS_ITEMS.into_iter().enumerate() {
        let v = one(f, name);
        let domain = domains.get(i).map(String::as_str).unwrap_or("");
        let value = v.parse::<i64>().map_err(|_| {
            AppError::field(
                name,
                format!("item {} ({domain}): choose a value from 0 to 4", i + 1),
            )
        })?;
        items.push(value);
    }
    let input = IrlsInput {
        date: date_field(one(f, "date"))?,
        items,
    };
    Ok(vec![entries::irls(ctx, &input)?])
}

async fn dose_submit(
    State(state): State<WebState>,
    headers: HeaderMap,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Response {
    submit(state, headers, "dose", pairs, dose_from).await
}

async fn side_effects_submit(
    State(state): State<WebState>,
    headers: HeaderMap,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Response {
    submit(state, headers, "side-effects", pairs, side_effects_from).await
}

async fn factors_submit(
    State(state): State<WebState>,
    headers: HeaderMap,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Response {
    submit(state, headers, "factors", pairs, factors_from).await
}

async fn irls_submit(
    State(state): State<WebState>,
    headers: HeaderMap,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Response {
    submit(state, headers, "irls", pairs, irls_from).await
}
