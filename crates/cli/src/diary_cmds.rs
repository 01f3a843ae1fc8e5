//! `quietlegs log …`, `history`, `edit`, `delete`, `export`, `import`, `backup`: parse the
//! arguments, call the diary use cases of `quietlegs-app`, render.

use crate::args::date_arg;
use crate::failure::{app_failure, bad_input, in_file, print_json, write_output, Failure};
use crate::prompt::{ask, confirm, note_default, pick_food};
use crate::Output;
use anyhow::{anyhow, Context as _};
use quietlegs_store::Database;

use quietlegs_app::diary::{self, Entry, ExportFormat, NightForm};
use quietlegs_app::personal::{open_reader, open_writer};
use quietlegs_app::Context;
use quietlegs_store::OnDuplicate;
use std::path::Path;

// The arguments of `log night` (documented on the subcommand).
#[derive(clap::Args)]
pub struct NightArgs {
    /// The evening's date (YYYY-MM-DD, today, yesterday); default: this evening, or last
    /// night before noon.
    #[arg(long)]
    date: Option<String>,
    /// RLS severity that evening and night: 0 none to 10 worst.
    #[arg(long, value_parser = clap::value_parser!(u8).range(0..=10))]
    severity: Option<u8>,
    /// When symptoms began, HH:MM.
    #[arg(long)]
    began: Option<String>,
    /// Sleep quality: 0 worst to 10 best.
    #[arg(long, value_parser = clap::value_parser!(u8).range(0..=10))]
    sleep_quality: Option<u8>,
    #[arg(long)]
    hours_slept: Option<f64>,
    #[arg(long)]
    minutes_to_sleep: Option<u32>,
    #[arg(long)]
    awakenings: Option<u32>,
    #[arg(long)]
    note: Option<String>,
    /// Overwrite an existing entry for that night.
    #[arg(long)]
    replace: bool,
    #[command(flatten)]
    output: Output,
}

// The arguments of `log irls`.
#[derive(clap::Args)]
pub struct IrlsArgs {
    #[arg(num_args = 1.., allow_negative_numbers = true, value_name = "ITEM")]
    items: Vec<i64>,
    /// RLS-6 items, six values 0-10 separated by commas.
    #[arg(long)]
    rls6: Option<String>,
    #[arg(long)]
    date: Option<String>,
    #[arg(long)]
    replace: bool,
    #[command(flatten)]
    output: Output,
}

// The arguments of `log dose`.
#[derive(clap::Args)]
pub struct DoseArgs {
    spec: String,
    /// The product's name, for your records.
    #[arg(long)]
    product: Option<String>,
    /// When it was taken, HH:MM (default: now).
    #[arg(long)]
    time: Option<String>,
    #[arg(long)]
    date: Option<String>,
    #[command(flatten)]
    output: Output,
}

// The arguments of `log food`.
#[derive(clap::Args)]
pub struct FoodArgs {
    food: String,
    amount: String,
    #[arg(long)]
    date: Option<String>,
    #[command(flatten)]
    output: Output,
}

// The arguments of `log side-effects`.
#[derive(clap::Args)]
pub struct SideEffectsArgs {
    #[arg(long, value_parser = clap::value_parser!(u8).range(0..=3))]
    diarrhea: Option<u8>,
    #[arg(long, value_parser = clap::value_parser!(u8).range(0..=3))]
    nausea: Option<u8>,
    #[arg(long, value_parser = clap::value_parser!(u8).range(0..=3))]
    cramps: Option<u8>,
    #[arg(long)]
    date: Option<String>,
    #[arg(long)]
    replace: bool,
    #[command(flatten)]
    output: Output,
}

// The arguments of `log factor`.
#[derive(clap::Args)]
pub struct FactorArgs {
    kind: String,
    /// How much (with --unit): caffeine mg or cups, alcohol drinks, exercise minutes, ...
    #[arg(long)]
    amount: Option<f64>,
    #[arg(long)]
    unit: Option<String>,
    /// When (the last time), HH:MM.
    #[arg(long)]
    time: Option<String>,
    #[arg(long)]
    date: Option<String>,
    #[command(flatten)]
    output: Output,
}

fn mode(replace: bool) -> OnDuplicate {
    if replace {
        OnDuplicate::Replace
    } else {
        OnDuplicate::Refuse
    }
}

/// Stores a validated entry and prints what was stored.
fn save(
    ctx: &Context<'_>,
    db: &Database,
    entry: Entry,
    on_duplicate: OnDuplicate,
    output: &Output,
) -> Result<(), Failure> {
    let (store, person) = open_writer(db, ctx.now)?;
    let logged = diary::log(&store, person, ctx, entry, on_duplicate)?;
    if output.json {
        return print_json(&logged);
    }
    outln!(
        "Logged {} {} for {}: {}",
        logged.record.kind(),
        logged.id,
        logged.record.date(),
        crate::render::record_summary(&logged.record)
    );
    Ok(())
}

pub fn log_night(ctx: &Context<'_>, db: &Database, a: NightArgs) -> Result<(), Failure> {
    let date = date_arg(ctx, a.date.as_deref())?;
    let severity = match a.severity {
        Some(s) => s,
        None => ask(
            "--severity",
            &format!(
                "RLS severity on the evening of {}",
                date.unwrap_or_else(|| diary::default_evening(ctx.now))
            ),
            "0-10",
        )?,
    };
    let entry = diary::night(
        ctx,
        NightForm {
            date,
            severity,
            began: a.began,
            sleep_quality: a.sleep_quality,
            hours_slept: a.hours_slept,
            minutes_to_sleep: a.minutes_to_sleep,
            awakenings: a.awakenings,
            note: a.note,
        },
    )?;
    save(ctx, db, entry, mode(a.replace), &a.output)
}

pub fn log_irls(ctx: &Context<'_>, db: &Database, a: IrlsArgs) -> Result<(), Failure> {
    let date = date_arg(ctx, a.date.as_deref())?;
    let entry = diary::irls(ctx, &a.items, a.rls6.as_deref(), date)?;
    save(ctx, db, entry, mode(a.replace), &a.output)
}

pub fn log_dose(ctx: &Context<'_>, db: &Database, a: DoseArgs) -> Result<(), Failure> {
    let date = date_arg(ctx, a.date.as_deref())?;
    let entry = diary::dose(ctx, &a.spec, a.product, a.time.as_deref(), date)?;
    save(ctx, db, entry, OnDuplicate::Refuse, &a.output)
}

pub fn log_food(ctx: &Context<'_>, db: &Database, a: FoodArgs) -> Result<(), Failure> {
    // The food is chosen from the catalogue before the diary is opened for writing: a food that
    // is not found creates no database.
    let reader = open_reader(db)?;
    let foods = ctx.foods.searchable(reader.store.as_ref())?;
    let food = pick_food(foods, &a.food)?;
    let date = date_arg(ctx, a.date.as_deref())?;
    let (entry, resolved) = diary::food(ctx, foods, food, &a.amount, date)?;
    note_default(&resolved);
    drop(reader);
    save(ctx, db, entry, OnDuplicate::Refuse, &a.output)
}

pub fn log_side_effects(
    ctx: &Context<'_>,
    db: &Database,
    a: SideEffectsArgs,
) -> Result<(), Failure> {
    let date = date_arg(ctx, a.date.as_deref())?;
    let get = |v: Option<u8>, flag: &str, what: &str| match v {
        Some(v) => Ok(v),
        None => ask(flag, what, "0 none, 1 mild, 2 moderate, 3 severe"),
    };
    let entry = diary::side_effects(
        ctx,
        get(a.diarrhea, "--diarrhea", "Diarrhea")?,
        get(a.nausea, "--nausea", "Nausea")?,
        get(a.cramps, "--cramps", "Abdominal cramps")?,
        date,
    )?;
    save(ctx, db, entry, mode(a.replace), &a.output)
}

pub fn log_factor(ctx: &Context<'_>, db: &Database, a: FactorArgs) -> Result<(), Failure> {
    let date = date_arg(ctx, a.date.as_deref())?;
    let entry = diary::factor(ctx, &a.kind, a.amount, a.unit, a.time.as_deref(), date)?;
    save(ctx, db, entry, OnDuplicate::Refuse, &a.output)
}

pub fn history(
    db: &Database,
    from: Option<&str>,
    to: Option<&str>,
    output: &Output,
) -> Result<(), Failure> {
    let from = diary::parse_bound("from", from)?;
    let to = diary::parse_bound("to", to)?;
    let reader = open_reader(db)?;
    let h = diary::history(reader.diary(), from, to)?;
    if output.json {
        return print_json(&h);
    }
    out!(
        "{}",
        crate::render::history_text(&h, from.is_some() || to.is_some())
    );
    Ok(())
}

/// `--set FIELD=VALUE`, as (field, value).
fn changes(sets: &[String]) -> Result<Vec<(String, String)>, Failure> {
    if sets.is_empty() {
        return Err(bad_input(anyhow!(
            "--set FIELD=VALUE: give at least one change (fields as in `quietlegs export`)"
        )));
    }
    sets.iter()
        .map(|s| {
            s.split_once('=')
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .ok_or_else(|| {
                    bad_input(anyhow!(
                        "--set '{s}': write FIELD=VALUE (an empty VALUE clears it)"
                    ))
                })
        })
        .collect()
}

pub fn edit(
    ctx: &Context<'_>,
    db: &Database,
    kind: &str,
    id: i64,
    sets: &[String],
    yes: bool,
) -> Result<(), Failure> {
    let changes = changes(sets)?;
    let (store, person) = open_writer(db, ctx.now)?;
    let e = diary::prepare_edit(&store, person, ctx, kind, id, &changes)?;
    confirm(
        &format!(
            "Change {kind} {id} ({}) from [{}] to [{}]?",
            e.old.date(),
            crate::render::record_summary(&e.old),
            crate::render::record_summary(&e.new)
        ),
        yes,
    )?;
    diary::apply_edit(&store, person, ctx, &e)?;
    outln!(
        "Changed {kind} {id}: {}",
        crate::render::record_summary(&e.new)
    );
    Ok(())
}

pub fn delete(
    ctx: &Context<'_>,
    db: &Database,
    kind: &str,
    id: i64,
    yes: bool,
) -> Result<(), Failure> {
    let (store, person) = open_writer(db, ctx.now)?;
    let old = diary::prepare_delete(&store, person, kind, id)?;
    confirm(
        &format!(
            "Delete {kind} {id} ({}: {})?",
            old.record.date(),
            crate::render::record_summary(&old.record)
        ),
        yes,
    )?;
    diary::delete(&store, person, kind, id)?;
    outln!("Deleted {kind} {id}.");
    Ok(())
}

pub fn export(
    ctx: &Context<'_>,
    db: &Database,
    format: &str,
    output: Option<&Path>,
) -> Result<(), Failure> {
    let format = ExportFormat::parse(format)?;
    let reader = open_reader(db)?;
    let text = diary::export(ctx, reader.diary(), format)?;
    match output {
        Some(p) => write_output("--output", p, text.as_bytes()),
        None => crate::failure::emit(&text),
    }
}

pub fn import(ctx: &Context<'_>, db: &Database, file: &Path) -> Result<(), Failure> {
    let shown = file.display().to_string();
    let size = std::fs::metadata(file)
        .with_context(|| format!("reading {shown}"))
        .map_err(bad_input)?
        .len();
    if size > diary::MAX_IMPORT_BYTES {
        return Err(bad_input(anyhow!(
            "FILE: {shown} is {size} bytes: allowed at most {} (a diary export)",
            diary::MAX_IMPORT_BYTES
        )));
    }
    let text = std::fs::read_to_string(file)
        .with_context(|| format!("reading {shown}"))
        .map_err(bad_input)?;
    let checked = diary::prepare_import(ctx, &text).map_err(in_file(&shown))?;
    let (store, person) = open_writer(db, ctx.now)?;
    let imported = diary::import(&store, person, &checked)?;
    outln!(
        "Imported {} entries into {}.",
        imported.entries,
        db.display()
    );
    Ok(())
}

pub fn backup(db: &Database, dest: &Path) -> Result<(), Failure> {
    let b = quietlegs_app::personal::backup(db, dest).map_err(|e| app_failure(e, None))?;
    outln!(
        "Backed up {} to {} (integrity check ok).",
        b.database,
        b.path
    );
    Ok(())
}
