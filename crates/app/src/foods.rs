//! Food use cases: search, amounts, a day's intake, and the imported USDA releases.

use std::path::Path;

use quietlegs_core::diary::Record;
use quietlegs_core::food::amount::{parse_amount, resolve};
use quietlegs_core::food::intake::{summarise, Contributor, FoodEaten, GapCloser, SupplementTaken};
use quietlegs_core::food::search::{BestMatch, Hit, MIN_COVERAGE};
use quietlegs_core::food::Food;
use quietlegs_core::forms::FormCatalogue;
use quietlegs_core::plan::build_plan;
use quietlegs_core::supplement::parse_dose;
use quietlegs_core::Profile;
use quietlegs_store::{AnyStore, FoodRelease, PersonId, SqliteStore, Store, StoreError};
use quietlegs_usda::{DownloadKind, ImportReport, Progress};
use serde::Serialize;

pub use crate::catalog::Foods;
use crate::{AppError, Context, ErrorKind};

// ---------------------------------------------------------------------------------------------
// Search

/// Magnesium in a food's first household portion.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PortionMagnesium {
    /// "1 cup", "0.5 oz".
    pub amount: String,
    pub grams: f64,
    pub magnesium_mg: Option<f64>,
}

/// One food found.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FoodHit {
    pub id: String,
    pub name: String,
    pub release: String,
    pub magnesium_mg_per_100g: Option<f64>,
    pub portion: Option<PortionMagnesium>,
}

/// A search (`foods search --json`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FoodSearch {
    pub query: String,
    pub hits: Vec<FoodHit>,
}

/// A number with at most two decimals and no trailing zeros ("0.5", "28.35", "1").
pub fn trim_number(v: f64) -> String {
    let s = format!("{v:.2}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

fn first_portion(food: &Food) -> Option<PortionMagnesium> {
    let p = food.portions.first()?;
    Some(PortionMagnesium {
        amount: format!("{} {}", trim_number(p.amount), p.unit),
        grams: p.grams,
        magnesium_mg: food.per_100g.magnesium_mg.map(|m| m * p.grams / 100.0),
    })
}

/// The foods best matching `query`, at most `limit`.
pub fn search<S: Store>(
    ctx: &Context<'_>,
    store: Option<&S>,
    query: &str,
    limit: usize,
) -> Result<FoodSearch, AppError> {
    if query.trim().is_empty() {
        return Err(AppError::field(
            "query",
            "give at least one word, e.g. \"almonds\"",
        ));
    }
    let foods = ctx.foods.searchable(store)?;
    let hits = foods
        .index
        .search(query, limit)
        .iter()
        .map(|h| {
            let f = &foods.table.foods[h.food];
            FoodHit {
                id: f.id.clone(),
                name: f.name.clone(),
                release: f.release.clone(),
                magnesium_mg_per_100g: f.per_100g.magnesium_mg,
                portion: first_portion(f),
            }
        })
        .collect();
    Ok(FoodSearch {
        query: query.to_string(),
        hits,
    })
}

// ---------------------------------------------------------------------------------------------
// Choosing the food a phrase means

/// A food offered when a phrase matches no name well enough.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    /// Index into the catalogue's table.
    pub food: usize,
    pub id: String,
    pub name: String,
    /// Share of the phrase the name covers, 0-1.
    pub coverage: f32,
}

impl Candidate {
    /// "12061 Nuts, almonds (covers 67 % of the phrase)".
    pub fn describe(&self) -> String {
        format!(
            "{} {} (covers {:.0} % of the phrase)",
            self.id,
            self.name,
            100.0 * self.coverage
        )
    }
}

/// The food a phrase means, or the closest foods to choose from.
#[derive(Debug, Clone, PartialEq)]
pub enum FoodChoice {
    /// A food id as given, or a name covering enough of the phrase (the core's rule).
    Found(usize),
    /// No name covers enough of the phrase: the closest foods, best first.
    Weak {
        query: String,
        closest: Vec<Candidate>,
    },
}

impl FoodChoice {
    /// The refusal of a weak match where nobody can choose (a script, a request).
    pub fn refusal(query: &str, closest: &[Candidate]) -> AppError {
        let list: Vec<String> = closest
            .iter()
            .map(|c| format!("  {}", c.describe()))
            .collect();
        AppError::refused(format!(
            "no food name covers enough of \"{query}\" (at least {:.0} % of the phrase must be found); closest foods:\n{}\nUse a fuller name, or give the food's id (the first column).",
            100.0 * MIN_COVERAGE,
            list.join("\n")
        ))
    }
}

/// The food a diary entry or an intake uses for `query`: a food id as given, or the first hit
/// when it covers enough of the phrase. A weak match is never used silently: the caller offers
/// the closest foods or refuses ([`FoodChoice::refusal`]). Nothing close at all is bad input.
pub fn find_food(foods: Foods<'_>, query: &str) -> Result<FoodChoice, AppError> {
    if let Some(i) = foods.table.foods.iter().position(|f| f.id == query.trim()) {
        return Ok(FoodChoice::Found(i));
    }
    let closest = match foods.index.best_match(query) {
        BestMatch::Accepted(hit) => return Ok(FoodChoice::Found(hit.food)),
        BestMatch::Weak { closest } => closest,
    };
    if closest.is_empty() {
        return Err(AppError::refused(format!(
            "no food matches \"{query}\"; try `quietlegs foods search`"
        )));
    }
    let candidate = |h: &Hit| {
        let f = &foods.table.foods[h.food];
        Candidate {
            food: h.food,
            id: f.id.clone(),
            name: f.name.clone(),
            coverage: h.coverage,
        }
    };
    Ok(FoodChoice::Weak {
        query: query.to_string(),
        closest: closest.iter().map(candidate).collect(),
    })
}

// ---------------------------------------------------------------------------------------------
// Amounts

/// A food by id and name.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FoodRef {
    pub id: String,
    pub name: String,
}

/// An amount of a food in grams and magnesium (`foods amount --json`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FoodAmount {
    pub food: FoodRef,
    pub amount: String,
    pub grams: f64,
    /// `None` when USDA gives no magnesium for the food.
    pub magnesium_mg: Option<f64>,
    /// Where the weight comes from ("1 oz = 28.35 g", a USDA household measure).
    pub via: String,
    /// Other USDA weights of the same measure, when the first listed one was used.
    pub alternatives: Vec<String>,
}

impl FoodAmount {
    /// The food as eaten in a day's intake.
    pub fn eaten(&self) -> FoodEaten {
        FoodEaten {
            food_id: self.food.id.clone(),
            name: self.food.name.clone(),
            amount: self.amount.clone(),
            grams: self.grams,
            magnesium_mg: self.magnesium_mg,
        }
    }
}

/// Grams and magnesium in `amount` of food `food` (an index from [`find_food`]).
pub fn amount_of(foods: Foods<'_>, food: usize, amount: &str) -> Result<FoodAmount, AppError> {
    let f = foods
        .table
        .foods
        .get(food)
        .ok_or_else(|| AppError::internal(format!("no food at index {food}")))?;
    let parsed = parse_amount(amount).map_err(|e| AppError::invalid(None, &e))?;
    let r = resolve(f, &parsed).map_err(|e| AppError::invalid(None, &e))?;
    Ok(FoodAmount {
        food: FoodRef {
            id: f.id.clone(),
            name: f.name.clone(),
        },
        amount: amount.to_string(),
        grams: r.grams,
        magnesium_mg: r.magnesium_mg,
        via: r.via,
        alternatives: r.alternatives,
    })
}

// ---------------------------------------------------------------------------------------------
// A day's intake

/// A day's magnesium (`intake --json`): food, supplements against the upper limit, total against
/// the RDA, the top contributors and foods that would close the gap. The limits are known only
/// with a profile; without one they are `null`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IntakeDay {
    pub foods: Vec<FoodEaten>,
    pub food_mg: f64,
    /// Foods whose magnesium USDA does not give: the food total is a lower bound if any.
    pub foods_without_magnesium: Vec<String>,
    pub supplement_mg: f64,
    pub supplemental_ul_mg: Option<u32>,
    pub supplements_over_ul: Option<bool>,
    pub total_mg: f64,
    pub rda_mg: Option<u32>,
    /// RDA minus total (negative when above), when the RDA is known.
    pub gap_mg: Option<f64>,
    pub top_contributors: Vec<Contributor>,
    pub gap_closers: Vec<GapCloser>,
}

/// What a day's intake is made of.
#[derive(Debug, Clone, Default)]
pub struct IntakeRequest<'a> {
    /// Take the foods and doses logged in the diary on this day.
    pub diary_day: Option<jiff::civil::Date>,
    /// Foods eaten besides (see [`FoodAmount::eaten`]).
    pub foods: Vec<FoodEaten>,
    /// Supplements taken besides: "FORM=[N x ]AMOUNT mg elemental|compound".
    pub supplements: Vec<String>,
    /// For the RDA and the upper limit.
    pub profile: Option<&'a Profile>,
}

/// Foods and doses logged on `day`.
fn diary_day<S: Store>(
    diary: crate::diary::Diary<'_, S>,
    day: jiff::civil::Date,
) -> Result<(Vec<FoodEaten>, Vec<SupplementTaken>), AppError> {
    let mut foods = Vec::new();
    let mut doses = Vec::new();
    for r in crate::diary::records(diary, Some(day), Some(day))? {
        match r.record {
            Record::Food(f) => foods.push(FoodEaten {
                food_id: f.food_id,
                name: f.food_name,
                amount: f.amount,
                grams: f.grams,
                magnesium_mg: f.magnesium_mg,
            }),
            Record::Dose(d) => doses.push(SupplementTaken {
                label: format!("{} at {}", d.product, d.time),
                elemental_mg: d.elemental_mg,
            }),
            _ => {}
        }
    }
    Ok((foods, doses))
}

/// Sums a day's magnesium: the diary's day (if asked) and the foods and supplements given.
/// `store` holds the imported foods and, with `person`, the diary (either may not exist yet).
pub fn intake<S: Store>(
    ctx: &Context<'_>,
    store: Option<&S>,
    person: Option<PersonId>,
    request: IntakeRequest<'_>,
) -> Result<IntakeDay, AppError> {
    let table = ctx.foods.table(store)?;
    let (mut foods, mut taken) = match request.diary_day {
        Some(day) => diary_day(store.zip(person), day)?,
        None => (Vec::new(), Vec::new()),
    };
    foods.extend(request.foods);
    let catalogue = FormCatalogue::new(ctx.reference);
    for s in &request.supplements {
        let dose = parse_dose(s, &catalogue).map_err(|e| AppError::invalid(None, &e))?;
        taken.push(SupplementTaken {
            label: format!("{} supplement", dose.product.form),
            elemental_mg: dose.elemental_mg,
        });
    }
    let limits = request.profile.map(|p| {
        let plan = build_plan(p, ctx.reference, table);
        (plan.rda_mg, plan.supplemental_ul_mg)
    });
    let rda = limits.and_then(|(rda, _)| rda);
    let ul = limits.map(|(_, ul)| ul);
    // Without a profile the upper limit is unknown: summarised against 0, then not reported.
    let s = summarise(table, &foods, &taken, rda, ul.unwrap_or(0));
    Ok(IntakeDay {
        foods,
        food_mg: s.food_mg,
        foods_without_magnesium: s.foods_without_magnesium,
        supplement_mg: s.supplement_mg,
        supplemental_ul_mg: ul.map(|_| s.supplemental_ul_mg),
        supplements_over_ul: ul.map(|_| s.supplements_over_ul),
        total_mg: s.total_mg,
        rda_mg: s.rda_mg,
        gap_mg: s.gap_mg,
        top_contributors: s.top_contributors,
        gap_closers: s.gap_closers,
    })
}

// ---------------------------------------------------------------------------------------------
// Imported releases

/// The imported USDA releases (`foods releases --json`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Releases {
    pub releases: Vec<FoodRelease>,
}

/// The releases imported into `store` (none without a database).
pub fn releases<S: Store>(store: Option<&S>) -> Result<Releases, AppError> {
    Ok(Releases {
        releases: match store {
            Some(s) => s
                .food_releases()
                .map_err(AppError::store("reading the imported releases"))?,
            None => Vec::new(),
        },
    })
}

/// The imported release named `release` (to confirm its removal), or why there is none.
pub fn find_release<S: Store>(store: Option<&S>, release: &str) -> Result<FoodRelease, AppError> {
    let known = releases(store)?.releases;
    if let Some(r) = known.iter().find(|r| r.release == release) {
        return Ok(r.clone());
    }
    let names: Vec<String> = known.iter().map(|r| r.release.clone()).collect();
    Err(AppError::new(
        ErrorKind::NotFound,
        Some("release"),
        format!(
            "'{}' is not imported; imported: {}",
            quietlegs_core::text::escape_controls(release),
            if names.is_empty() {
                "none".to_string()
            } else {
                names.join(", ")
            }
        ),
    ))
}

/// Removes an imported release and its foods; diary entries keep their logged values. Returns
/// the number of foods removed.
pub fn remove_release<S: Store>(store: &S, release: &str) -> Result<u64, AppError> {
    store
        .remove_food_release(release)
        .map_err(AppError::store("removing the release"))
}

/// A store that can label a release once its import is complete (the label names the data
/// types found, known only at the end).
pub trait LabelRelease {
    fn label_release(&self, release: &str, kind: &str) -> Result<(), StoreError>;
}

impl LabelRelease for SqliteStore {
    fn label_release(&self, release: &str, kind: &str) -> Result<(), StoreError> {
        self.set_food_release_kind(release, kind)
    }
}

impl LabelRelease for AnyStore {
    fn label_release(&self, release: &str, kind: &str) -> Result<(), StoreError> {
        self.set_food_release_kind(release, kind)
    }
}

/// An import of a USDA download (`foods import --json`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FoodImport {
    pub release: String,
    /// sr-ascii, or fdc: and the data types found ("fdc:sr_legacy_food").
    pub kind: String,
    /// Where the foods were written (as the caller named it).
    pub database: String,
    pub foods_written: u64,
    pub report: ImportReport,
}

/// Refuses a download path that does not exist (before a database is opened for it).
pub fn check_download(path: &Path) -> Result<(), AppError> {
    if path.exists() {
        Ok(())
    } else {
        Err(AppError::field(
            "path",
            format!("{} does not exist", path.display()),
        ))
    }
}

/// Imports a USDA download (FoodData Central CSV zip or folder; SR28 / SR Legacy ASCII) into
/// the store, replacing an earlier import of the same release in one transaction. The files are
/// read on a second thread while the store writes; `progress` hears about the bytes read.
pub fn import_usda<S: Store + LabelRelease>(
    ctx: &Context<'_>,
    store: &S,
    database: &str,
    path: &Path,
    progress: impl Progress + Send + 'static,
) -> Result<FoodImport, AppError> {
    check_download(path)?;
    let release_name = quietlegs_usda::release_name(path);
    let (tx, rx) = std::sync::mpsc::sync_channel::<
        Result<Food, Box<dyn std::error::Error + Send + Sync>>,
    >(4096);
    let path_owned = path.to_path_buf();
    let mut progress = progress;
    let worker = std::thread::spawn(move || {
        let result = quietlegs_usda::import(&path_owned, &mut progress, &mut |food| {
            tx.send(Ok(food))
                .map_err(|_| "the database stopped the import".to_string())
        });
        if let Err(e) = &result {
            let _ = tx.send(Err(e.to_string().into()));
        }
        result
    });
    let release = FoodRelease {
        release: release_name.clone(),
        kind: String::new(),
        imported_at: ctx.now.instant.clone(),
        foods: 0,
    };
    let stored = store.replace_food_release(&release, &mut rx.into_iter());
    let outcome = worker
        .join()
        .map_err(|_| AppError::internal("the import thread panicked"))?;
    let (kind, report) = match outcome {
        Ok(ok) => ok,
        // A download that is not USDA data, or unreadable: bad input; nothing was changed.
        Err(e) => {
            return Err(
                AppError::invalid(None, &e).context(&format!("importing {}", path.display()))
            )
        }
    };
    let foods_written = stored.map_err(AppError::store("writing the imported foods"))?;
    let kind_label = match kind {
        DownloadKind::SrAscii => "sr-ascii".to_string(),
        DownloadKind::FdcCsv => format!(
            "fdc:{}",
            report
                .data_types
                .keys()
                .cloned()
                .collect::<Vec<_>>()
                .join("+")
        ),
    };
    store
        .label_release(&release_name, &kind_label)
        .map_err(AppError::store("recording the release kind"))?;
    Ok(FoodImport {
        release: release_name,
        kind: kind_label,
        database: database.to_string(),
        foods_written,
        report,
    })
}
