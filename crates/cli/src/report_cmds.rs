//! `quietlegs report`: the clinician's report as text, JSON or a PDF file.

use crate::failure::{bad_input, print_json, write_output, Failure};
use anyhow::anyhow;
use quietlegs_app::clinician;
use quietlegs_app::personal::open_reader;
use quietlegs_app::Context;
use quietlegs_store::Database;
use std::path::Path;

pub fn report(
    ctx: &Context<'_>,
    db: &Database,
    from: Option<&str>,
    to: Option<&str>,
    pdf: Option<&Path>,
    json_out: bool,
) -> Result<(), Failure> {
    let (store, person) = open_reader(db)?.into_diary().ok_or_else(|| {
        bad_input(anyhow!(
            "there is no diary yet: log a night or store a profile first (`quietlegs log night`, `quietlegs profile set`)"
        ))
    })?;
    let range = clinician::range(&store, person, ctx, from, to)?;
    let r = clinician::report(&store, person, ctx, range)?;
    let doc = quietlegs_report::document(&r, ctx.reference);
    if let Some(path) = pdf {
        let bytes = quietlegs_report::pdf(&doc)
            .map_err(|e| Failure::Internal(anyhow!("making the PDF: {e}")))?;
        write_output("--pdf", path, &bytes)?;
    }
    if json_out {
        return print_json(&r);
    }
    match pdf {
        Some(path) => outln!(
            "The clinician's report ({} to {}) is in {}.",
            range.from,
            range.to,
            path.display()
        ),
        None => out!("{}", quietlegs_report::text::render(&doc)),
    }
    Ok(())
}
