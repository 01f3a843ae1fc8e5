//! `quietlegs plan`, `score`, `forms`, `convert`, `about`: parse, call `quietlegs_app::info`,
//! render.

use crate::failure::{print_json, Failure};
use crate::{ConvertAmount, Output};
use quietlegs_app::info::{self, ConvertFrom};
use quietlegs_app::personal::open_reader;
use quietlegs_app::profile;
use quietlegs_app::Context;
use quietlegs_store::Database;
use std::path::Path;

pub fn plan(
    ctx: &Context<'_>,
    db: &Database,
    profile: Option<&Path>,
    output: &Output,
) -> Result<(), Failure> {
    let reader = open_reader(db)?;
    let parsed = match profile {
        Some(file) => crate::args::read_profile(ctx, file)?,
        None => {
            stored_profile(ctx, &reader)?
                .ok_or_else(|| {
                    quietlegs_app::AppError::field(
                        "profile",
                        "no profile is stored: pass --profile FILE, or store one with \
                     `quietlegs profile set FILE` (docs/profile.md)",
                    )
                })?
                .profile
        }
    };
    let plan = info::plan(ctx, reader.store.as_ref(), &parsed)?;
    if output.json {
        return print_json(&plan);
    }
    crate::failure::emit(&crate::render::plan_text(&plan, &parsed))
}

pub fn score_irls(ctx: &Context<'_>, items: &[i64], output: &Output) -> Result<(), Failure> {
    let score = info::score_irls(ctx, items)?;
    if output.json {
        return print_json(&score);
    }
    out!("{}", crate::render::irls_text(&score, ctx.reference));
    Ok(())
}

pub fn forms(ctx: &Context<'_>, output: &Output) -> Result<(), Failure> {
    let forms = info::forms(ctx);
    if output.json {
        return print_json(&forms);
    }
    out!("{}", crate::render::forms_text(&forms));
    Ok(())
}

pub fn convert(
    ctx: &Context<'_>,
    form: &str,
    amount: &ConvertAmount,
    output: &Output,
) -> Result<(), Failure> {
    // clap's group makes exactly one of the two present.
    let from = match (amount.compound_mg, amount.elemental_mg) {
        (Some(c), _) => ConvertFrom::CompoundMg(c),
        (None, Some(e)) => ConvertFrom::ElementalMg(e),
        (None, None) => {
            return Err(crate::failure::bad_input(anyhow::anyhow!(
                "give --compound-mg or --elemental-mg"
            )))
        }
    };
    let c = info::convert(ctx, form, from)?;
    if output.json {
        return print_json(&c);
    }
    outln!(
        "{:.0} mg {} ({}) = {:.1} mg elemental magnesium ({:.1} % Mg by mass)",
        c.compound_mg,
        c.name,
        c.formula,
        c.elemental_mg,
        c.elemental_fraction * 100.0
    );
    Ok(())
}

pub fn about(ctx: &Context<'_>, output: &Output) -> Result<(), Failure> {
    let about = info::about(ctx);
    if output.json {
        return print_json(&about);
    }
    out!("{}", crate::render::about_text(&about));
    Ok(())
}

fn stored_profile(
    ctx: &Context<'_>,
    reader: &quietlegs_app::personal::Reader,
) -> Result<Option<profile::PersonProfile>, Failure> {
    Ok(match reader.diary() {
        Some((store, person)) => profile::stored(store, person, ctx)?,
        None => None,
    })
}

/// `profile set FILE`: checked by the same parser as `plan --profile FILE`, then stored.
pub fn profile_set(
    ctx: &Context<'_>,
    db: &Database,
    file: &Path,
    output: &Output,
) -> Result<(), Failure> {
    // Checked before the database is opened for writing: a bad file creates nothing.
    crate::args::read_profile(ctx, file)?;
    let text = std::fs::read_to_string(file).map_err(|e| {
        quietlegs_app::AppError::field("profile", format!("reading {}: {e}", file.display()))
    })?;
    let (store, person) = quietlegs_app::personal::open_writer(db, ctx.now)?;
    let saved = profile::save_toml(&store, person, ctx, &text)?;
    if output.json {
        return print_json(&saved);
    }
    out!(
        "Profile stored ({} bytes); `quietlegs plan` now uses it.\n",
        saved.document.len()
    );
    Ok(())
}

/// `profile show`: the stored document.
pub fn profile_show(ctx: &Context<'_>, db: &Database, output: &Output) -> Result<(), Failure> {
    let reader = open_reader(db)?;
    let Some(p) = stored_profile(ctx, &reader)? else {
        return Err(quietlegs_app::AppError::not_found(
            None,
            "no profile is stored: store one with `quietlegs profile set FILE`",
        )
        .into());
    };
    if output.json {
        return print_json(&p);
    }
    crate::failure::emit(&quietlegs_core::text::escape_controls_keeping(
        &p.document,
        true,
    ))
}
