//! `quietlegs insights` and `quietlegs reminders` (the iCalendar file is written here; what it
//! holds comes from `quietlegs_app::insights::reminders`).

use crate::failure::{print_json, write_output, Failure};
use crate::Output;
use quietlegs_app::insights::DoseReminder;
use quietlegs_app::personal::open_reader;
use quietlegs_app::Context;
use quietlegs_store::Database;
use std::path::Path;

pub fn insights(ctx: &Context<'_>, db: &Database, output: &Output) -> Result<(), Failure> {
    let reader = open_reader(db)?;
    let result = quietlegs_app::insights::insights(ctx, reader.diary())?;
    if output.json {
        return print_json(&result);
    }
    out!("{}", crate::render::insights_text(&result));
    Ok(())
}

pub fn reminders(
    ctx: &Context<'_>,
    db: &Database,
    profile: &Path,
    ics: &Path,
    diary_at: Option<&str>,
) -> Result<(), Failure> {
    let p = crate::args::read_profile(ctx, profile)?;
    let reader = open_reader(db)?;
    let r = quietlegs_app::insights::reminders(
        ctx,
        reader.store.as_ref(),
        reader.diary(),
        &p,
        diary_at,
    )?;
    // Stable per profile file: the hash of its absolute path.
    let owner = std::fs::canonicalize(profile).unwrap_or_else(|_| profile.to_path_buf());
    let key = quietlegs_app::calendar::owner_key(&owner.to_string_lossy());
    let ics_text = quietlegs_app::calendar::reminders_ics(ctx.now, &r, &key)?;
    let dose_note = match &r.dose {
        DoseReminder::AwaitingClinician { start_advice } => format!(
            "no dose reminder until your clinician agrees ({})",
            start_advice.trim_end_matches('.')
        ),
        DoseReminder::Daily { at, .. } => format!("a daily dose reminder at {at}"),
        DoseReminder::DuringTrial { trial } => format!(
            "no dose reminder while the trial '{trial}' is in progress: take what the trial \
             says each night (quietlegs trial status)"
        ),
        DoseReminder::NoSupplement { reason } => {
            format!("no dose reminder: {}", reason.trim_end_matches('.'))
        }
    };
    write_output("--ics", ics, ics_text.as_bytes())?;
    outln!(
        "Wrote {}: a daily diary reminder at {} and {dose_note}.",
        ics.display(),
        r.diary_at
    );
    Ok(())
}
