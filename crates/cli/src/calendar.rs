//! What the iCalendar files (RFC 5545) of reminders and trial periods share.

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
