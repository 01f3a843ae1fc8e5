//! `quietlegs insights` and `quietlegs reminders`.

use crate::diary_cmds::Now;
use crate::{bad_input, print_json, Failure};
use anyhow::{anyhow, Context};
use icalendar::{Alarm, Calendar, Component, Event, EventLike, Trigger};
use quietlegs_core::clock::ClockTime;
use quietlegs_core::diary::Record;
use quietlegs_core::insights::insights;
use quietlegs_core::plan::build_plan;
use quietlegs_core::{Profile, ReferenceData};
use std::collections::BTreeMap;
use std::path::Path;

pub fn run_insights(db: &Path, data: &ReferenceData, json_out: bool) -> Result<(), Failure> {
    let records = crate::diary_cmds::read_records(db, None, None)?;
    let mut nights = BTreeMap::new();
    let mut factors = Vec::new();
    for r in records {
        match r.record {
            Record::Night(n) => {
                nights.insert(n.date, n.severity);
            }
            Record::Factor(f) => factors.push(f),
            _ => {}
        }
    }
    let result = insights(&nights, &factors, &data.rules.insights);
    if json_out {
        return print_json(&result);
    }
    outln!(
        "Insights from {} night(s) (neighbouring nights correlate: r = {:.2}, intervals widened for it).",
        result.nights, result.autocorrelation
    );
    if result.factors.is_empty() {
        outln!(
            "No factors logged yet: log them with `quietlegs log factor caffeine --time 17:00`."
        );
    }
    for f in &result.factors {
        outln!("- {}", f.text);
    }
    outln!("\n{}", result.caveat);
    Ok(())
}

/// The iCalendar product identifier (RFC 5545 3.7.3): who wrote the file, and which version.
pub(crate) const PRODID: &str = concat!(
    "-//quietlegs//quietlegs ",
    env!("CARGO_PKG_VERSION"),
    "//EN"
);

/// Tomorrow's date at `time`, as a floating local time (the reminder follows the person's
/// clock wherever they are).
fn first_at(now: &Now, time: ClockTime) -> Result<chrono::NaiveDateTime, Failure> {
    let start = now
        .date
        .tomorrow()
        .map_err(|e| anyhow!("date overflow: {e}"))?;
    let date = chrono::NaiveDate::from_ymd_opt(
        i32::from(start.year()),
        u32::from(start.month() as u8),
        u32::from(start.day() as u8),
    )
    .ok_or_else(|| anyhow!("bad start date {start}"))?;
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
    db: &Path,
    data: &ReferenceData,
    profile: &Path,
    ics: &Path,
    diary_at: Option<&str>,
) -> Result<(), Failure> {
    let text = std::fs::read_to_string(profile)
        .with_context(|| format!("reading the profile {}", profile.display()))
        .map_err(bad_input)?;
    let p = Profile::from_toml(&text, data)
        .with_context(|| format!("profile {}", profile.display()))
        .map_err(bad_input)?;
    let diary_time = match diary_at {
        Some(t) => ClockTime::parse(t).map_err(|e| bad_input(anyhow!("--diary-at: {e}")))?,
        None => p.bedtime,
    };
    let foods = crate::food_cmds::load_food_table(db)?;
    let plan = build_plan(&p, data, &foods);
    let now = Now::read();
    let mut cal = Calendar::empty();
    cal.append_property(("VERSION", "2.0"));
    cal.append_property(("PRODID", PRODID));
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
        first_at(&now, diary_time)?,
    ));
    let dose_note = match &plan.supplement {
        // A dose that is "only if your clinician agrees" gets no alarm: an alarm is an
        // instruction.
        Some(_) if !plan.may_start_without_clinician => format!(
            "no dose reminder until your clinician agrees ({})",
            plan.start_advice.trim_end_matches('.')
        ),
        Some(s) => {
            cal.push(daily(
                &format!("dose-reminder-{key}@quietlegs.invalid"),
                &format!("quietlegs: {} mg magnesium ({})", s.elemental_mg, s.form),
                &format!(
                    "{} Then: quietlegs log dose \"{}={} mg elemental\"",
                    s.timing_reason, s.form, s.elemental_mg
                ),
                first_at(&now, s.take_at)?,
            ));
            format!("a daily dose reminder at {}", s.take_at)
        }
        None => format!(
            "no dose reminder: {}",
            plan.supplement_note
                .as_deref()
                .unwrap_or("the plan suggests no supplement")
                .trim_end_matches('.')
        ),
    };
    crate::files::write_private(ics, cal.done().to_string().as_bytes()).map_err(bad_input)?;
    outln!(
        "Wrote {}: a daily diary reminder at {diary_time} and {dose_note}.",
        ics.display()
    );
    Ok(())
}
