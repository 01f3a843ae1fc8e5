//! `quietlegs insights` and `quietlegs reminders` (the iCalendar file is written here; what it
//! holds comes from `quietlegs_app::insights::reminders`).

use crate::failure::{print_json, write_output, Failure};
use crate::Output;
use anyhow::anyhow;
use icalendar::{Alarm, Calendar, Component, Event, EventLike, Trigger};
use quietlegs_app::insights::DoseReminder;
use quietlegs_app::personal::open_reader;
use quietlegs_app::{Context, Now};
use quietlegs_core::clock::ClockTime;
use std::path::Path;

pub fn insights(ctx: &Context<'_>, db: &Path, output: &Output) -> Result<(), Failure> {
    let reader = open_reader(db)?;
    let result = quietlegs_app::insights::insights(ctx, reader.diary())?;
    if output.json {
        return print_json(&result);
    }
    out!("{}", crate::render::insights_text(&result));
    Ok(())
}

/// Tomorrow's date at `time`, as a floating local time (the reminder follows the person's
/// clock wherever they are).
fn first_at(now: &Now, time: ClockTime) -> Result<chrono::NaiveDateTime, Failure> {
    let start = now
        .date
        .tomorrow()
        .map_err(|e| anyhow!("date overflow: {e}"))?;
    let date =
        crate::calendar::calendar_date(start).ok_or_else(|| anyhow!("bad start date {start}"))?;
    let t = chrono::NaiveTime::from_hms_opt(
        u32::from(time.minutes() / 60),
        u32::from(time.minutes() % 60),
        0,
    )
    .ok_or_else(|| anyhow!("bad time {time}"))?;
    Ok(date.and_time(t))
}

fn daily(uid: &str, summary: &str, description: &str, at: chrono::NaiveDateTime) -> Event {
    let mut e = Event::new();
    e.uid(uid)
        .summary(summary)
        .description(description)
        .starts(at)
        .ends(at + chrono::Duration::minutes(5))
        .add_property("RRULE", "FREQ=DAILY")
        .alarm(Alarm::display(
            summary,
            Trigger::before_start(chrono::Duration::zero()),
        ));
    e.done()
}

pub fn reminders(
    ctx: &Context<'_>,
    db: &Path,
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
    let mut cal = Calendar::empty();
    cal.append_property(("VERSION", "2.0"));
    cal.append_property(("PRODID", crate::calendar::PRODID));
    cal.append_property(("CALSCALE", "GREGORIAN"));
    cal.name("quietlegs");
    // UIDs must be globally unique (RFC 5545 3.8.4.7) and stable, so that importing a newer
    // file updates the reminders instead of adding copies: the kind of reminder and a hash of
    // the profile's absolute path.
    let owner = std::fs::canonicalize(profile).unwrap_or_else(|_| profile.to_path_buf());
    let key = {
        use sha2::Digest;
        let digest = sha2::Sha256::digest(owner.to_string_lossy().as_bytes());
        digest[..8]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    };
    cal.push(daily(
        &format!("diary-reminder-{key}@quietlegs.invalid"),
        "quietlegs: log tonight",
        "quietlegs log night --severity N (30 seconds). Informational software, not medical advice.",
        first_at(ctx.now, r.diary_at)?,
    ));
    let dose_note = match &r.dose {
        DoseReminder::AwaitingClinician { start_advice } => format!(
            "no dose reminder until your clinician agrees ({})",
            start_advice.trim_end_matches('.')
        ),
        DoseReminder::Daily {
            at,
            form,
            elemental_mg,
            timing_reason,
        } => {
            cal.push(daily(
                &format!("dose-reminder-{key}@quietlegs.invalid"),
                &format!("quietlegs: {elemental_mg} mg magnesium ({form})"),
                &format!(
                    "{timing_reason} Then: quietlegs log dose \"{form}={elemental_mg} mg elemental\""
                ),
                first_at(ctx.now, *at)?,
            ));
            format!("a daily dose reminder at {at}")
        }
        DoseReminder::DuringTrial { trial } => format!(
            "no dose reminder while the trial '{trial}' is in progress: take what the trial \
             says each night (quietlegs trial status)"
        ),
        DoseReminder::NoSupplement { reason } => {
            format!("no dose reminder: {}", reason.trim_end_matches('.'))
        }
    };
    write_output("--ics", ics, cal.done().to_string().as_bytes())?;
    outln!(
        "Wrote {}: a daily diary reminder at {} and {dose_note}.",
        ics.display(),
        r.diary_at
    );
    Ok(())
}
