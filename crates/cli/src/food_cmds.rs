//! `quietlegs foods …` and `quietlegs intake`.

use crate::{bad_input, print_json, Failure};
use anyhow::{anyhow, Context};
use quietlegs_core::food::amount::{parse_amount, resolve};
use quietlegs_core::food::intake::{summarise, FoodEaten, SupplementTaken};
use quietlegs_core::food::search::{BestMatch, FoodIndex, Hit, MIN_COVERAGE};
use quietlegs_core::food::{Food, FoodTable};
use quietlegs_core::forms::FormCatalogue;
use quietlegs_core::plan::build_plan;
use quietlegs_core::supplement::parse_dose;
use quietlegs_core::{Profile, ReferenceData};
use quietlegs_store::{FoodRelease, SqliteStore, Store};
use quietlegs_usda::{DownloadKind, Progress};
use serde_json::json;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

/// The shipped table plus foods imported into the database, if the database exists (a search
/// never creates a database).
pub fn load_food_table(db: &Path) -> Result<FoodTable, Failure> {
    let mut table = FoodTable::shipped().context("loading the shipped food table")?;
    if db.exists() {
        let store = SqliteStore::open(db)
            .with_context(|| format!("opening the database {}", db.display()))?;
        table.extend(store.imported_foods().context("reading imported foods")?);
    }
    Ok(table)
}

/// Magnesium in the food's first household portion, for a search hit.
fn first_portion(food: &Food) -> Option<(String, f64, Option<f64>)> {
    let p = food.portions.first()?;
    let mg = food.per_100g.magnesium_mg.map(|m| m * p.grams / 100.0);
    Some((format!("{} {}", trim(p.amount), p.unit), p.grams, mg))
}

fn trim(v: f64) -> String {
    let s = format!("{v:.2}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

pub fn search(db: &Path, query: &str, limit: usize, json_out: bool) -> Result<(), Failure> {
    if query.trim().is_empty() {
        return Err(bad_input(anyhow!(
            "QUERY: give at least one word, e.g. \"almonds\""
        )));
    }
    let table = load_food_table(db)?;
    let index = FoodIndex::build(&table).context("building the search index")?;
    let hits = index.search(query, limit);
    let rows: Vec<serde_json::Value> = hits
        .iter()
        .map(|h| {
            let f = &table.foods[h.food];
            let portion = first_portion(f);
            json!({
                "id": f.id,
                "name": f.name,
                "release": f.release,
                "magnesium_mg_per_100g": f.per_100g.magnesium_mg,
                "portion": portion.as_ref().map(|(text, grams, mg)| json!({
                    "amount": text, "grams": grams, "magnesium_mg": mg,
                })),
            })
        })
        .collect();
    if json_out {
        return print_json(&json!({ "query": query, "hits": rows }));
    }
    if hits.is_empty() {
        outln!("No food matches \"{query}\".");
        return Ok(());
    }
    for h in &hits {
        let f = &table.foods[h.food];
        let per100 = f
            .per_100g
            .magnesium_mg
            .map(|m| format!("{m:.0} mg/100 g"))
            .unwrap_or_else(|| "magnesium unknown".into());
        outln!("{:<12} {}  [{per100}]", f.id, f.name);
        match first_portion(f) {
            Some((text, grams, Some(mg))) => {
                outln!("{:<12} {text} ({} g): {mg:.0} mg", "", trim(grams))
            }
            Some((text, grams, None)) => outln!("{:<12} {text} ({} g)", "", trim(grams)),
            None => {}
        }
    }
    Ok(())
}

/// The food a diary entry or an intake uses for a phrase: a food id as given, or the first hit
/// when it covers enough of the phrase (the core's acceptance rule). A weak match is never
/// used silently: on a terminal the closest foods are offered to choose from, otherwise the
/// command fails (exit 2) listing them.
pub fn pick_food(table: &FoodTable, index: &FoodIndex, query: &str) -> Result<usize, Failure> {
    if let Some(i) = table.foods.iter().position(|f| f.id == query.trim()) {
        return Ok(i);
    }
    let closest = match index.best_match(query) {
        BestMatch::Accepted(hit) => return Ok(hit.food),
        BestMatch::Weak { closest } => closest,
    };
    if closest.is_empty() {
        return Err(bad_input(anyhow!(
            "no food matches \"{query}\"; try `quietlegs foods search`"
        )));
    }
    let listed = |h: &Hit| {
        let f = &table.foods[h.food];
        format!(
            "{} {} (covers {:.0} % of the phrase)",
            f.id,
            f.name,
            100.0 * h.coverage
        )
    };
    if std::io::stdin().is_terminal() && std::io::stderr().is_terminal() {
        return choose(table, query, &closest, &listed);
    }
    let list: Vec<String> = closest.iter().map(|h| format!("  {}", listed(h))).collect();
    Err(bad_input(anyhow!(
        "no food name covers enough of \"{query}\" (at least {:.0} % of the phrase must be found); closest foods:\n{}\nUse a fuller name, or give the food's id (the first column).",
        100.0 * MIN_COVERAGE,
        list.join("\n")
    )))
}

/// Offers the closest foods on a terminal; Enter or anything else cancels (exit 2).
fn choose(
    table: &FoodTable,
    query: &str,
    closest: &[Hit],
    listed: &dyn Fn(&Hit) -> String,
) -> Result<usize, Failure> {
    eprintln!("\"{query}\" matches no food name well. Closest foods:");
    for (n, h) in closest.iter().enumerate() {
        eprintln!("  {}. {}", n + 1, listed(h));
    }
    let line =
        crate::diary_cmds::read_answer(&format!("Choose 1-{} (Enter to cancel): ", closest.len()))?;
    match line.trim().parse::<usize>() {
        Ok(n) if (1..=closest.len()).contains(&n) => Ok(closest[n - 1].food),
        _ => Err(bad_input(anyhow!(
            "no food chosen for \"{query}\"; nothing was recorded (closest was {})",
            table.foods[closest[0].food].name
        ))),
    }
}

/// Resolves "FOOD QUERY" and "AMOUNT" to a food entry, how its weight was found, and the other
/// USDA weights of the unit when a default was used.
fn eaten_with_source(
    table: &FoodTable,
    index: &FoodIndex,
    query: &str,
    amount: &str,
) -> Result<(FoodEaten, String, Vec<String>), Failure> {
    let food = &table.foods[pick_food(table, index, query)?];
    let parsed = parse_amount(amount).map_err(bad_input)?;
    let r = resolve(food, &parsed).map_err(bad_input)?;
    Ok((
        FoodEaten {
            food_id: food.id.clone(),
            name: food.name.clone(),
            amount: amount.to_string(),
            grams: r.grams,
            magnesium_mg: r.magnesium_mg,
        },
        r.via,
        r.alternatives,
    ))
}

/// A note on stderr when an amount used a default measure (stdout stays the result).
pub fn note_default(food: &str, amount: &str, via: &str, alternatives: &[String]) {
    if !alternatives.is_empty() {
        eprintln!("note: {amount} of {food}: {via}");
    }
}

/// Resolves "FOOD QUERY" and "AMOUNT" to a food entry.
fn eaten(
    table: &FoodTable,
    index: &FoodIndex,
    query: &str,
    amount: &str,
) -> Result<FoodEaten, Failure> {
    let (e, via, alternatives) = eaten_with_source(table, index, query, amount)?;
    note_default(&e.name, amount, &via, &alternatives);
    Ok(e)
}

pub fn amount(db: &Path, query: &str, amount: &str, json_out: bool) -> Result<(), Failure> {
    let table = load_food_table(db)?;
    let index = FoodIndex::build(&table).context("building the search index")?;
    let (e, via, alternatives) = eaten_with_source(&table, &index, query, amount)?;
    if json_out {
        return print_json(&json!({
            "food": { "id": e.food_id, "name": e.name },
            "amount": e.amount,
            "grams": e.grams,
            "magnesium_mg": e.magnesium_mg,
            "via": via,
            "alternatives": alternatives,
        }));
    }
    let mg = e
        .magnesium_mg
        .map(|m| format!("{m:.1} mg magnesium"))
        .unwrap_or_else(|| "magnesium unknown (USDA gives no value)".into());
    outln!(
        "{} of {} ({}) = {:.1} g: {mg}",
        e.amount,
        e.name,
        e.food_id,
        e.grams
    );
    outln!("  weight from: {via}");
    Ok(())
}

/// `--food "QUERY=AMOUNT"`.
fn split_food_flag(flag: &str) -> Result<(&str, &str), Failure> {
    flag.rsplit_once('=')
        .map(|(q, a)| (q.trim(), a.trim()))
        .filter(|(q, a)| !q.is_empty() && !a.is_empty())
        .ok_or_else(|| {
            bad_input(anyhow!(
                "--food '{flag}': write \"FOOD QUERY=AMOUNT\", e.g. \"almonds=1 oz\""
            ))
        })
}

/// Foods and doses logged in the diary for `date`.
fn diary_day(db: &Path, date: &str) -> Result<(Vec<FoodEaten>, Vec<SupplementTaken>), Failure> {
    use quietlegs_core::diary::Record;
    use quietlegs_store::Store;
    let now = crate::diary_cmds::Now::read();
    let day = crate::diary_cmds::parse_date(Some(date), &now, now.date)?;
    if !db.exists() {
        return Ok((Vec::new(), Vec::new()));
    }
    let store = crate::diary_cmds::open_store(db)?;
    let person = crate::diary_cmds::me(&store, &now)?;
    let mut foods = Vec::new();
    let mut doses = Vec::new();
    for r in store
        .records(person, Some(day), Some(day))
        .context("reading the diary")?
    {
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

pub fn intake(
    db: &Path,
    data: &ReferenceData,
    date: Option<&str>,
    profile: Option<&PathBuf>,
    foods: &[String],
    supplements: &[String],
    json_out: bool,
) -> Result<(), Failure> {
    let table = load_food_table(db)?;
    let index = FoodIndex::build(&table).context("building the search index")?;
    let (mut eaten_list, mut taken) = match date {
        Some(d) => diary_day(db, d)?,
        None => (Vec::new(), Vec::new()),
    };
    for f in foods {
        let (q, a) = split_food_flag(f)?;
        eaten_list.push(eaten(&table, &index, q, a)?);
    }
    let catalogue = FormCatalogue::new(data);
    for s in supplements {
        let dose = parse_dose(s, &catalogue).map_err(bad_input)?;
        taken.push(SupplementTaken {
            label: format!("{} supplement", dose.product.form),
            elemental_mg: dose.elemental_mg,
        });
    }
    let (rda, ul) = match profile {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading the profile {}", path.display()))
                .map_err(bad_input)?;
            let p = Profile::from_toml(&text, data)
                .with_context(|| format!("profile {}", path.display()))
                .map_err(bad_input)?;
            let plan = build_plan(&p, data, &table);
            (plan.rda_mg, Some(plan.supplemental_ul_mg))
        }
        None => (None, None),
    };
    let summary = summarise(&table, &eaten_list, &taken, rda, ul.unwrap_or(0));
    if json_out {
        let mut v = serde_json::to_value(&summary).context("serialising the intake")?;
        if ul.is_none() {
            v["supplemental_ul_mg"] = serde_json::Value::Null;
            v["supplements_over_ul"] = serde_json::Value::Null;
        }
        v["foods"] = serde_json::to_value(&eaten_list).context("serialising the foods")?;
        return print_json(&v);
    }
    out!(
        "{}",
        crate::render::intake_text(&summary, &eaten_list, ul.is_some())
    );
    Ok(())
}

/// An indicatif bar over the bytes of each file read.
struct Bar {
    bar: indicatif::ProgressBar,
}

impl Progress for Bar {
    fn file(&mut self, name: &str, size: u64) {
        self.bar.set_length(size);
        self.bar.set_position(0);
        self.bar.set_message(name.to_string());
    }
    fn advance(&mut self, bytes: u64) {
        self.bar.inc(bytes);
    }
}

/// The imported releases (read-only; none when there is no database).
pub fn releases(db: &Path, json_out: bool) -> Result<(), Failure> {
    let list = if db.exists() {
        crate::diary_cmds::open_store_read_only(db)?
            .food_releases()
            .context("reading the imported releases")?
    } else {
        Vec::new()
    };
    if json_out {
        return crate::print_json(&serde_json::json!({ "releases": list }));
    }
    if list.is_empty() {
        outln!("No USDA releases are imported (the shipped SR28 table is always there).");
        return Ok(());
    }
    for r in &list {
        outln!(
            "{}  {}  {} foods, imported {}",
            quietlegs_core::text::escape_controls(&r.release),
            r.kind,
            r.foods,
            r.imported_at
        );
    }
    Ok(())
}

/// Removes an imported release and its foods, after confirmation.
pub fn remove(db: &Path, release: &str, yes: bool) -> Result<(), Failure> {
    let shown = quietlegs_core::text::escape_controls(release);
    if !db.exists() {
        return Err(bad_input(anyhow!(
            "RELEASE: '{shown}' is not imported (no database)"
        )));
    }
    let store = crate::diary_cmds::open_store(db)?;
    let known = store
        .food_releases()
        .context("reading the imported releases")?;
    let Some(r) = known.iter().find(|r| r.release == release) else {
        let names: Vec<String> = known.iter().map(|r| r.release.clone()).collect();
        return Err(bad_input(anyhow!(
            "RELEASE: '{shown}' is not imported; imported: {}",
            if names.is_empty() {
                "none".to_string()
            } else {
                names.join(", ")
            }
        )));
    };
    crate::diary_cmds::confirm(
        &format!(
            "Remove release '{shown}' and its {} foods? Diary entries keep their logged values.",
            r.foods
        ),
        yes,
    )?;
    let n = store
        .remove_food_release(release)
        .context("removing the release")?;
    outln!("Removed release '{shown}' ({n} foods).");
    Ok(())
}

pub fn import(db: &Path, path: &Path, json_out: bool) -> Result<(), Failure> {
    if !path.exists() {
        return Err(bad_input(anyhow!(
            "PATH: {} does not exist",
            path.display()
        )));
    }
    let store =
        SqliteStore::open(db).with_context(|| format!("opening the database {}", db.display()))?;
    let release_name = quietlegs_usda::release_name(path);
    let bar = indicatif::ProgressBar::new(0);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{msg:>20} [{bar:40}] {bytes}/{total_bytes} ({eta})",
        )
        .map_err(|e| anyhow!("progress bar template: {e}"))?
        .progress_chars("=> "),
    );
    let (tx, rx) = std::sync::mpsc::sync_channel::<
        Result<Food, Box<dyn std::error::Error + Send + Sync>>,
    >(4096);
    let path_owned = path.to_path_buf();
    let progress_bar = bar.clone();
    let worker = std::thread::spawn(move || {
        let mut progress = Bar { bar: progress_bar };
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
        imported_at: jiff::Timestamp::now().to_string(),
        foods: 0,
    };
    let stored = store.replace_food_release(&release, &mut rx.into_iter());
    let outcome = worker
        .join()
        .map_err(|_| anyhow!("the import thread panicked"))?;
    bar.finish_and_clear();
    let (kind, report) = match outcome {
        Ok(ok) => ok,
        // A download that is not USDA data, or unreadable: bad input; nothing was changed.
        Err(e) => {
            return Err(bad_input(
                anyhow!(e).context(format!("importing {}", path.display())),
            ))
        }
    };
    let written = stored.context("writing the imported foods")?;
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
        .set_food_release_kind(&release_name, &kind_label)
        .context("recording the release kind")?;
    if json_out {
        return print_json(&json!({
            "release": release_name,
            "kind": kind_label,
            "database": db.display().to_string(),
            "foods_written": written,
            "report": report,
        }));
    }
    outln!(
        "Imported {release_name} ({kind_label}) into {}: {} foods, {} nutrient rows read, {} portions, {} rows skipped.",
        db.display(),
        report.foods,
        report.nutrient_rows,
        report.portions,
        report.skipped_rows
    );
    for s in &report.skipped {
        outln!("  skipped {}:{}: {}", s.file, s.line, s.reason);
    }
    if report.skipped_rows as usize > report.skipped.len() {
        outln!(
            "  … and {} more skipped rows (use --json for the first {}).",
            report.skipped_rows as usize - report.skipped.len(),
            quietlegs_usda::MAX_SKIPPED_LISTED
        );
    }
    Ok(())
}
