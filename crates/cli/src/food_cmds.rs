//! `quietlegs foods …` and `quietlegs intake`: parse the arguments, call the food use cases of
//! `quietlegs-app`, render.

use crate::args::read_profile;
use crate::failure::{bad_input, print_json, Failure};
use crate::prompt::{confirm, note_default, pick_food};
use crate::Output;
use anyhow::anyhow;
use quietlegs_app::foods::{self, IntakeRequest};
use quietlegs_app::personal::{open_reader, open_writer};
use quietlegs_app::Context;
use quietlegs_store::Database;
use quietlegs_usda::Progress;
use std::path::{Path, PathBuf};

// The arguments of `intake` (documented on the subcommand).
#[derive(clap::Args)]
pub struct IntakeArgs {
    /// Take the foods and doses logged in the diary for this date (YYYY-MM-DD, today,
    /// yesterday); --food and --supplement add to them.
    #[arg(long)]
    date: Option<String>,
    /// A food eaten, as "FOOD QUERY=AMOUNT" (e.g. "almonds=1 oz"); repeat for each.
    #[arg(long = "food", value_name = "QUERY=AMOUNT")]
    foods: Vec<String>,
    /// A supplement taken, as "FORM=[N x ]AMOUNT mg elemental|compound"; repeat for each.
    #[arg(long = "supplement", value_name = "FORM=AMOUNT")]
    supplements: Vec<String>,
    /// Your profile, for the RDA and the upper limit.
    #[arg(long)]
    profile: Option<PathBuf>,
    #[command(flatten)]
    output: Output,
}

pub fn search(
    ctx: &Context<'_>,
    db: &Database,
    query: &str,
    limit: usize,
    output: &Output,
) -> Result<(), Failure> {
    let reader = open_reader(db)?;
    let found = foods::search(ctx, reader.store.as_ref(), query, limit)?;
    if output.json {
        return print_json(&found);
    }
    out!("{}", crate::render::search_text(&found));
    Ok(())
}

pub fn amount(
    ctx: &Context<'_>,
    db: &Database,
    query: &str,
    amount: &str,
    output: &Output,
) -> Result<(), Failure> {
    let reader = open_reader(db)?;
    let catalogue = ctx.foods.searchable(reader.store.as_ref())?;
    let food = pick_food(catalogue, query)?;
    let a = foods::amount_of(catalogue, food, amount)?;
    if output.json {
        return print_json(&a);
    }
    out!("{}", crate::render::amount_text(&a));
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

pub fn intake(ctx: &Context<'_>, db: &Database, a: IntakeArgs) -> Result<(), Failure> {
    let diary_day = crate::args::date_arg(ctx, a.date.as_deref())?;
    let reader = open_reader(db)?;
    let catalogue = ctx.foods.searchable(reader.store.as_ref())?;
    let mut eaten = Vec::new();
    for f in &a.foods {
        let (q, amount) = split_food_flag(f)?;
        let resolved = foods::amount_of(catalogue, pick_food(catalogue, q)?, amount)?;
        note_default(&resolved);
        eaten.push(resolved.eaten());
    }
    let profile = a
        .profile
        .as_deref()
        .map(|p| read_profile(ctx, p))
        .transpose()?;
    let day = foods::intake(
        ctx,
        reader.store.as_ref(),
        reader.person,
        IntakeRequest {
            diary_day,
            foods: eaten,
            supplements: a.supplements,
            profile: profile.as_ref(),
        },
    )?;
    if a.output.json {
        return print_json(&day);
    }
    out!("{}", crate::render::intake_text(&day));
    Ok(())
}

/// The imported releases (read-only; none when there is no database).
pub fn releases(db: &Database, output: &Output) -> Result<(), Failure> {
    let reader = open_reader(db)?;
    let list = foods::releases(reader.store.as_ref())?;
    if output.json {
        return print_json(&list);
    }
    out!("{}", crate::render::releases_text(&list));
    Ok(())
}

/// Removes an imported release and its foods, after confirmation.
pub fn remove(ctx: &Context<'_>, db: &Database, release: &str, yes: bool) -> Result<(), Failure> {
    let shown = quietlegs_core::text::escape_controls(release);
    let found = foods::find_release(open_reader(db)?.store.as_ref(), release)?;
    confirm(
        &format!(
            "Remove release '{shown}' and its {} foods? Diary entries keep their logged values.",
            found.foods
        ),
        yes,
    )?;
    let (store, _) = open_writer(db, ctx.now)?;
    let n = foods::remove_release(&store, release)?;
    outln!("Removed release '{shown}' ({n} foods).");
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

pub fn import(
    ctx: &Context<'_>,
    db: &Database,
    path: &Path,
    output: &Output,
) -> Result<(), Failure> {
    foods::check_download(path)?;
    let (store, _) = open_writer(db, ctx.now)?;
    let bar = indicatif::ProgressBar::new(0);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{msg:>20} [{bar:40}] {bytes}/{total_bytes} ({eta})",
        )
        .map_err(|e| anyhow!("progress bar template: {e}"))?
        .progress_chars("=> "),
    );
    let imported = foods::import_usda(
        ctx,
        &store,
        &db.display().to_string(),
        path,
        Bar { bar: bar.clone() },
    );
    bar.finish_and_clear();
    let imported = imported?;
    if output.json {
        return print_json(&imported);
    }
    out!("{}", crate::render::food_import_text(&imported));
    Ok(())
}
