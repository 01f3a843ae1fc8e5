//! The food page (`/foods`): search the food table (suggestions as you type with the script, a
//! plain GET form without it), log a food eaten, and today's magnesium against the person's RDA.
//!
//! Logging follows `quietlegs log food`: the food a phrase means is chosen by the application's
//! rule (`foods::find_food`), and a food the program is not sure of is never logged: the closest
//! foods are offered to choose from instead.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Form;
use jiff::civil::Date;
use quietlegs_app::diary::{self, Logged};
use quietlegs_app::foods::{self, FoodChoice, FoodSearch, IntakeDay, IntakeRequest};
use quietlegs_app::{AppError, Context, ErrorKind, Now};
use quietlegs_core::diary::{FoodLog, Record};
use quietlegs_core::Profile;
use quietlegs_store::{AnyStore, OnDuplicate, PersonId};
use serde::Deserialize;

use crate::access::{Access, Routes};
use crate::error::ApiError;
use crate::pages::{error_page, page, refuse_without_token, Csrf};
use crate::WebState;

/// Foods listed for a search on the page.
const PAGE_HITS: usize = 10;

pub fn routes(state: &WebState) -> Routes {
    Routes::new(state)
        .route(Access::Participant, "/foods", get(foods_page))
        .route(Access::Participant, "/foods/log", post(log_submit))
}

// ---------------------------------------------------------------------------------------------
// Shared with the API

/// The person's stored profile (the profile page's), for the RDA and the supplemental upper
/// limit; without one the limits are unknown and every page and API answer says so rather
/// than guessing.
fn stored_profile(
    store: &AnyStore,
    person: PersonId,
    ctx: &Context<'_>,
) -> Result<Option<Profile>, AppError> {
    Ok(quietlegs_app::profile::stored(store, person, ctx)?.map(|p| p.profile))
}

/// Today's (or `day`'s) magnesium from the diary.
pub(crate) fn intake_on(
    store: &AnyStore,
    person: PersonId,
    ctx: &Context<'_>,
    day: Date,
) -> Result<IntakeDay, AppError> {
    let profile = stored_profile(store, person, ctx)?;
    foods::intake(
        ctx,
        Some(store),
        Some(person),
        IntakeRequest {
            diary_day: Some(day),
            profile: profile.as_ref(),
            ..IntakeRequest::default()
        },
    )
}

/// A food logged, or the closest foods when the phrase matched none well enough (nothing
/// stored then).
pub(crate) enum FoodLogOutcome {
    Logged {
        logged: Box<Logged>,
        /// Where the weight comes from ("1 oz = 28.35 g").
        via: String,
    },
    Choose {
        query: String,
        closest: Vec<foods::Candidate>,
    },
}

/// A food entry built and validated, or the closest foods to choose from.
enum PreparedFood {
    Entry {
        entry: diary::Entry,
        via: String,
    },
    Choose {
        query: String,
        closest: Vec<foods::Candidate>,
    },
}

/// Logs `amount` of the food `food` (an id, or a phrase the application's rule must accept) on
/// `date` (YYYY-MM-DD, today, yesterday; default today), as `quietlegs log food` does: the
/// entry is built and checked with the food table, then stored through the diary's writer. A
/// refused value names its field (`food`, `amount`, `date`); nothing is stored then.
pub(crate) async fn log_food(
    state: &WebState,
    food: String,
    amount: String,
    date: Option<String>,
) -> Result<FoodLogOutcome, ApiError> {
    let now = Now::read();
    let prepared = state
        .run_at(now.clone(), move |store, _person, ctx| {
            prepare_food(store, ctx, &food, &amount, date.as_deref())
        })
        .await?;
    match prepared {
        PreparedFood::Choose { query, closest } => Ok(FoodLogOutcome::Choose { query, closest }),
        PreparedFood::Entry { entry, via } => {
            let logged = state
                .log_entry(now, OnDuplicate::Refuse, move |_ctx| Ok(entry))
                .await?;
            Ok(FoodLogOutcome::Logged {
                logged: Box::new(logged),
                via,
            })
        }
    }
}

fn prepare_food(
    store: &AnyStore,
    ctx: &Context<'_>,
    food: &str,
    amount: &str,
    date: Option<&str>,
) -> Result<PreparedFood, AppError> {
    let date = match date.map(str::trim).filter(|d| !d.is_empty()) {
        Some(d) => Some(diary::parse_day(ctx.now, d)?),
        None => None,
    };
    if food.trim().is_empty() {
        return Err(AppError::field(
            "food",
            "choose a food (a name, e.g. \"almonds\", or a food id)",
        ));
    }
    if amount.trim().is_empty() {
        return Err(AppError::field(
            "amount",
            "give an amount, e.g. \"1 oz\", \"½ cup\", \"100 g\" or \"1 medium\"",
        ));
    }
    let catalogue = ctx.foods.searchable(Some(store))?;
    let index = match foods::find_food(catalogue, food).map_err(|e| named(e, "food"))? {
        FoodChoice::Found(i) => i,
        FoodChoice::Weak { query, closest } => return Ok(PreparedFood::Choose { query, closest }),
    };
    let resolved = foods::amount_of(catalogue, index, amount).map_err(|e| named(e, "amount"))?;
    // The entry's own checks (not in the future, text bounds), naming the field they refuse.
    let record = Record::Food(FoodLog {
        date: date.unwrap_or(ctx.now.date),
        food_id: resolved.food.id.clone(),
        food_name: resolved.food.name.clone(),
        amount: amount.to_string(),
        grams: resolved.grams,
        magnesium_mg: resolved.magnesium_mg,
    });
    if let Err(e) = record.validate(ctx.now.date, &ctx.reference.irls) {
        let field = ["date", "amount"]
            .into_iter()
            .find(|f| *f == e.field)
            .unwrap_or("food");
        return Err(AppError::field(field, e.message.clone()));
    }
    let (entry, resolved) = diary::food(ctx, catalogue, index, amount, date)?;
    Ok(PreparedFood::Entry {
        entry,
        via: resolved.via,
    })
}

/// A bad-input error about `field` when it names none.
fn named(e: AppError, field: &'static str) -> AppError {
    if e.kind == ErrorKind::BadInput && e.field.is_none() {
        e.in_field(field)
    } else {
        e
    }
}

// ---------------------------------------------------------------------------------------------
// The page

/// A food found, as a row of the page.
struct HitRow {
    id: String,
    name: String,
    per_100g: String,
    portion: String,
}

/// The food chosen to log.
struct Chosen {
    id: String,
    name: String,
    per_100g: String,
    measures: String,
}

/// One of the closest foods offered when a phrase matched none well enough.
struct CandidateRow {
    id: String,
    name: String,
    coverage: String,
}

/// Today's magnesium, as the page shows it.
struct IntakeView {
    foods: Vec<(String, String, String)>,
    food_mg: String,
    without_magnesium: String,
    supplement_mg: String,
    /// "of the 350 mg upper limit" when the limit is known.
    supplement_limit: Option<String>,
    over_limit: bool,
    total_mg: String,
    /// "… of your RDA of 310 mg: 120 mg short", when the RDA is known.
    rda_line: Option<String>,
    gap_closers: Vec<String>,
}

#[derive(Template)]
#[template(path = "foods.html")]
struct FoodsTemplate {
    nav: &'static str,
    csrf: String,
    query: String,
    hits: Vec<HitRow>,
    searched: bool,
    chosen: Option<Chosen>,
    amount: String,
    date: String,
    max_date: String,
    candidates: Vec<CandidateRow>,
    weak_query: String,
    logged: Option<String>,
    error: Option<String>,
    error_field: Option<String>,
    intake: IntakeView,
}

/// Milligrams shown whole ("77 mg"); an empty sum (-0.0) shows as 0.
fn whole_mg(v: f64) -> String {
    format!("{:.0} mg", v + 0.0)
}

fn mg(v: Option<f64>) -> String {
    v.map(|m| format!("{m:.0} mg"))
        .unwrap_or_else(|| "magnesium unknown".into())
}

fn hit_rows(found: &FoodSearch) -> Vec<HitRow> {
    found
        .hits
        .iter()
        .map(|h| HitRow {
            id: h.id.clone(),
            name: h.name.clone(),
            per_100g: match h.magnesium_mg_per_100g {
                Some(m) => format!("{m:.0} mg per 100 g"),
                None => "magnesium unknown".into(),
            },
            portion: h
                .portion
                .as_ref()
                .map(|p| {
                    let grams = foods::trim_number(p.grams);
                    match p.magnesium_mg {
                        Some(m) => format!("{} ({grams} g): {m:.0} mg", p.amount),
                        None => format!("{} ({grams} g)", p.amount),
                    }
                })
                .unwrap_or_default(),
        })
        .collect()
}

fn intake_view(d: &IntakeDay) -> IntakeView {
    IntakeView {
        foods: d
            .foods
            .iter()
            .map(|f| {
                (
                    f.name.clone(),
                    format!("{} ({} g)", f.amount, foods::trim_number(f.grams)),
                    mg(f.magnesium_mg),
                )
            })
            .collect(),
        food_mg: whole_mg(d.food_mg),
        without_magnesium: d.foods_without_magnesium.join(", "),
        supplement_mg: whole_mg(d.supplement_mg),
        supplement_limit: d
            .supplemental_ul_mg
            .map(|ul| format!("of the {ul} mg upper limit for supplements")),
        over_limit: d.supplements_over_ul == Some(true),
        total_mg: whole_mg(d.total_mg),
        rda_line: match (d.rda_mg, d.gap_mg) {
            (Some(rda), Some(gap)) if gap > 0.0 => {
                Some(format!("of your RDA of {rda} mg: {gap:.0} mg short"))
            }
            (Some(rda), _) => Some(format!("your RDA of {rda} mg is met")),
            _ => None,
        },
        gap_closers: d
            .gap_closers
            .iter()
            .map(|g| format!("{} of {}: {:.0} mg", g.amount, g.name, g.magnesium_mg))
            .collect(),
    }
}

#[derive(Debug, Default, Deserialize)]
struct FoodsQuery {
    q: Option<String>,
    /// The food chosen to log (an id from a hit).
    food: Option<String>,
    amount: Option<String>,
    /// The id of the entry just logged.
    logged: Option<i64>,
}

/// What the page shows besides the form's own values.
struct Found {
    search: Option<FoodSearch>,
    chosen: Option<Chosen>,
    logged: Option<String>,
    intake: IntakeDay,
    today: Date,
}

/// The chosen food by id (never by phrase: a hit's link carries its id).
fn chosen(ctx: &Context<'_>, store: &AnyStore, id: &str) -> Result<Option<Chosen>, AppError> {
    let catalogue = ctx.foods.searchable(Some(store))?;
    let Some(food) = catalogue.table.foods.iter().find(|f| f.id == id) else {
        return Ok(None);
    };
    Ok(Some(Chosen {
        id: food.id.clone(),
        name: food.name.clone(),
        per_100g: match food.per_100g.magnesium_mg {
            Some(m) => format!("{m:.0} mg magnesium per 100 g"),
            None => "USDA gives no magnesium for this food".into(),
        },
        measures: food
            .portions
            .iter()
            .map(|p| {
                format!(
                    "{} {} ({} g)",
                    foods::trim_number(p.amount),
                    p.unit,
                    foods::trim_number(p.grams)
                )
            })
            .collect::<Vec<_>>()
            .join(", "),
    }))
}

async fn find(state: &WebState, q: &FoodsQuery) -> Result<Found, ApiError> {
    let query = q.q.clone().unwrap_or_default();
    let food = q.food.clone();
    let logged_id = q.logged;
    state
        .run(move |store, person, ctx| {
            let search = if query.trim().is_empty() {
                None
            } else {
                Some(foods::search(ctx, Some(store), &query, PAGE_HITS)?)
            };
            let chosen = match food.as_deref() {
                Some(id) => chosen(ctx, store, id)?,
                None => None,
            };
            let logged = match logged_id {
                Some(id) => diary::records(Some((store, person)), None, None)?
                    .into_iter()
                    .find_map(|r| match r.record {
                        Record::Food(f) if r.id == id => Some(format!(
                            "{} of {} on {}: {}",
                            f.amount,
                            f.food_name,
                            f.date,
                            mg(f.magnesium_mg)
                        )),
                        _ => None,
                    }),
                None => None,
            };
            let intake = intake_on(store, person, ctx, ctx.now.date)?;
            Ok(Found {
                search,
                chosen,
                logged,
                intake,
                today: ctx.now.date,
            })
        })
        .await
}

async fn foods_page(
    State(state): State<WebState>,
    headers: HeaderMap,
    Query(q): Query<FoodsQuery>,
) -> Response {
    let csrf = Csrf::of(&headers);
    let found = match find(&state, &q).await {
        Ok(f) => f,
        Err(e) => return error_page(e, &csrf),
    };
    let t = FoodsTemplate {
        nav: "foods",
        csrf: csrf.token.clone(),
        query: q.q.clone().unwrap_or_default(),
        searched: found.search.is_some(),
        hits: found.search.as_ref().map(hit_rows).unwrap_or_default(),
        chosen: found.chosen,
        amount: q.amount.clone().unwrap_or_default(),
        date: found.today.to_string(),
        max_date: found.today.to_string(),
        candidates: Vec::new(),
        weak_query: String::new(),
        logged: found.logged,
        error: None,
        error_field: None,
        intake: intake_view(&found.intake),
    };
    page(StatusCode::OK, t.render(), &csrf)
}

/// The log form's values as typed.
#[derive(Debug, Default, Deserialize)]
struct LogForm {
    csrf: Option<String>,
    food: Option<String>,
    amount: Option<String>,
    date: Option<String>,
    /// The search it came from, to show again.
    q: Option<String>,
}

async fn log_submit(
    State(state): State<WebState>,
    headers: HeaderMap,
    Form(form): Form<LogForm>,
) -> Response {
    if let Some(refused) = refuse_without_token(&headers, form.csrf.as_deref()) {
        return refused;
    }
    let csrf = Csrf::of(&headers);
    let food = form.food.clone().unwrap_or_default();
    let amount = form.amount.clone().unwrap_or_default();
    let date = form.date.clone();
    let outcome = log_food(&state, food, amount, date).await;
    let (error, candidates, weak_query, status) = match outcome {
        Ok(FoodLogOutcome::Logged { logged, .. }) => {
            return Redirect::to(&format!("/foods?logged={}", logged.id)).into_response()
        }
        Ok(FoodLogOutcome::Choose { query, closest }) => (
            None,
            closest
                .into_iter()
                .map(|c| CandidateRow {
                    id: c.id,
                    name: c.name,
                    coverage: format!("{:.0} %", 100.0 * c.coverage),
                })
                .collect(),
            query,
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        Err(e) => (Some(e.body), Vec::new(), String::new(), e.status),
    };
    // Shown back with what was typed; nothing stored.
    let q = FoodsQuery {
        q: form.q.clone(),
        food: form.food.clone(),
        ..FoodsQuery::default()
    };
    let found = match find(&state, &q).await {
        Ok(f) => f,
        Err(e) => return error_page(e, &csrf),
    };
    let t = FoodsTemplate {
        nav: "foods",
        csrf: csrf.token.clone(),
        query: form.q.clone().unwrap_or_default(),
        searched: found.search.is_some(),
        hits: found.search.as_ref().map(hit_rows).unwrap_or_default(),
        chosen: found.chosen,
        amount: form.amount.clone().unwrap_or_default(),
        date: form.date.clone().unwrap_or_default(),
        max_date: found.today.to_string(),
        candidates,
        weak_query,
        logged: None,
        error_field: error.as_ref().and_then(|e| e.field.clone()),
        error: error.map(|e| e.error),
        intake: intake_view(&found.intake),
    };
    page(status, t.render(), &csrf)
}
