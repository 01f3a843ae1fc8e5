//! What the iCalendar files (RFC 5545) of reminders and trial periods share: in the application
//! layer (`quietlegs_app::calendar`), so that the web app serves the same files.

pub use quietlegs_app::calendar::{calendar_date, ical_text, PRODID};
