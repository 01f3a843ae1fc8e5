//! `quietlegs plan`, `score`, `forms`, `convert`, `about`: parse, call `quietlegs_app::info`,
//! render.

use crate::failure::{print_json, Failure};
use crate::{ConvertAmount, Output};
use quietlegs_app::info::{self, ConvertFrom};
use quietlegs_app::personal::open_reader;
use quietlegs_app::Context;
use std::path::Path;

pub fn plan(ctx: &Context<'_>, db: &Path, profile: &Path, output: &Output) -> Result<(), Failure> {
    let parsed = crate::args::read_profile(ctx, profile)?;
    let reader = open_reader(db)?;
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
