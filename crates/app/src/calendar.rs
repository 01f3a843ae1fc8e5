//! iCalendar files (RFC 5545): what the reminder and trial-period calendars share, and the
//! reminders file itself (the CLI writes it to a path, the web app serves it).

use icalendar::{Alarm, Calendar, Component, Event, EventLike, Trigger};
use quietlegs_core::clock::ClockTime;
use sha2::Digest;

use crate::insights::{DoseReminder, Reminders};
use crate::{AppError, Now};

/// The iCalendar product identifier (RFC 5545 3.7.3): who wrote the file, and which version.
pub const PRODID: &str = concat!(
    "-//quietlegs//quietlegs ",
    env!("CARGO_PKG_VERSION"),
    "//EN"
);

/// A date as the calendar library's date.
pub fn calendar_date(d: jiff::civil::Date) -> Option<chrono::NaiveDate> {
    chrono::NaiveDate::from_ymd_opt(i32::from(d.year()), d.month() as u32, d.day() as u32)
}

/// An iCalendar TEXT value (RFC 5545 3.3.11): backslash, semicolon and comma escaped, new lines as
/// `\n` (names cannot contain control characters, but the escape keeps the file valid anyway).
pub fn ical_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\n' => out.push_str("\\n"),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// A stable key for the UIDs of one owner's reminders: the first 8 bytes of the SHA-256 of
/// `owner` (a profile's path, a diary's person), in hex.
pub fn owner_key(owner: &str) -> String {
    sha2::Sha256::digest(owner.as_bytes())[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Tomorrow's date at `time`, as a floating local time (the reminder follows the person's
/// clock wherever they are).
fn first_at(now: &Now, time: ClockTime) -> Result<chrono::NaiveDateTime, AppError> {
    let start = now
        .date
        .tomorrow()
        .map_err(|e| AppError::internal(format!("date overflow: {e}")))?;
    let date = calendar_date(start)
        .ok_or_else(|| AppError::internal(format!("bad start date {start}")))?;
    let t = chrono::NaiveTime::from_hms_opt(
        u32::from(time.minutes() / 60),
        u32::from(time.minutes() % 60),
        0,
    )
    .ok_or_else(|| AppError::internal(format!("bad time {time}")))?;
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

/// The reminders as an iCalendar file: a daily diary reminder and, when there is one, the daily
/// dose reminder, starting tomorrow. UIDs are globally unique (RFC 5545 3.8.4.7) and stable
/// (the kind of reminder and `key`, see [`owner_key`]), so that importing a newer file updates
/// the reminders instead of adding copies.
pub fn reminders_ics(now: &Now, r: &Reminders, key: &str) -> Result<String, AppError> {
    let mut cal = Calendar::empty();
    cal.append_property(("VERSION", "2.0"));
    cal.append_property(("PRODID", PRODID));
    cal.append_property(("CALSCALE", "GREGORIAN"));
    cal.name("quietlegs");
    cal.push(daily(
        &format!("diary-reminder-{key}@quietlegs.invalid"),
        "quietlegs: log tonight",
        "Log tonight in quietlegs (30 seconds: the Tonight page, or quietlegs log night \
         --severity N). Informational software, not medical advice.",
        first_at(now, r.diary_at)?,
    ));
    if let DoseReminder::Daily {
        at,
        form,
        elemental_mg,
        timing_reason,
    } = &r.dose
    {
        cal.push(daily(
            &format!("dose-reminder-{key}@quietlegs.invalid"),
            &format!("quietlegs: {elemental_mg} mg magnesium ({form})"),
            &format!("{timing_reason} Then log the dose in quietlegs."),
            first_at(now, *at)?,
        ));
    }
    Ok(cal.done().to_string())
}
