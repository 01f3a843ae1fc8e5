//! The one place quietlegs reads the clock: once per command or request.

use jiff::civil::Date;
use quietlegs_core::clock::ClockTime;
use quietlegs_core::diary::Stamp;

use crate::AppError;

/// The local date, time and time zone of a command (read once, then passed to every use case).
#[derive(Debug, Clone, PartialEq)]
pub struct Now {
    pub date: Date,
    pub time: ClockTime,
    pub tz: String,
    /// RFC 3339 instant (UTC) for stamps.
    pub instant: String,
}

/// The variable that moves "today" for demonstrations and tests (documented in docs/trial.md).
pub const TODAY_VARIABLE: &str = "QUIETLEGS_TODAY";

/// Checks the environment variables quietlegs reads before any work is done: a value that is
/// set but invalid is an error naming the variable, never silently ignored.
pub fn check_environment() -> Result<(), AppError> {
    if let Some(v) = std::env::var_os(TODAY_VARIABLE) {
        let text = v.to_string_lossy();
        let date = text.parse::<Date>().map_err(|_| {
            AppError::field(
                TODAY_VARIABLE,
                format!(
                    "'{}' is not a date: use YYYY-MM-DD, or unset it to use the real date",
                    quietlegs_core::text::escape_controls(&text)
                ),
            )
        })?;
        let floor = quietlegs_core::diary::DATE_FLOOR;
        if date < floor {
            return Err(AppError::field(
                TODAY_VARIABLE,
                format!("{date} is before {floor}: allowed {floor} or later"),
            ));
        }
    }
    Ok(())
}

/// The date `QUIETLEGS_TODAY` sets, read once per process (the environment does not change
/// under a running quietlegs, and a server asks for the time on every request; an invalid
/// value was refused by `check_environment` before any work).
fn moved_today() -> Option<Date> {
    static TODAY: std::sync::OnceLock<Option<Date>> = std::sync::OnceLock::new();
    *TODAY.get_or_init(|| {
        std::env::var(TODAY_VARIABLE)
            .ok()
            .and_then(|s| s.parse::<Date>().ok())
    })
}

impl Now {
    /// The real clock, unless `QUIETLEGS_TODAY=YYYY-MM-DD` sets the date.
    pub fn read() -> Self {
        let mut z = jiff::Zoned::now();
        if let Some(d) = moved_today() {
            if let Ok(moved) = z.with().date(d).build() {
                z = moved;
            }
        }
        let tz = z
            .time_zone()
            .iana_name()
            .map(String::from)
            .unwrap_or_else(|| z.offset().to_string());
        Self {
            date: z.date(),
            time: ClockTime::from_minutes_wrapping(
                i32::from(z.hour()) * 60 + i32::from(z.minute()),
            ),
            tz,
            instant: z.timestamp().to_string(),
        }
    }

    /// This moment in Unix seconds (for expiry and throttling, which compare moments).
    pub fn unix_seconds(&self) -> Result<i64, crate::AppError> {
        self.instant
            .parse::<jiff::Timestamp>()
            .map(|t| t.as_second())
            .map_err(|e| {
                crate::AppError::internal(format!("the clock's instant {}: {e}", self.instant))
            })
    }

    /// A fixed moment (tests, simulations): `date` at `time` in UTC.
    pub fn fixed(date: Date, time: ClockTime) -> Self {
        let minutes = time.minutes();
        let instant = format!("{date}T{:02}:{:02}:00Z", minutes / 60, minutes % 60);
        Self {
            date,
            time,
            tz: "UTC".into(),
            instant,
        }
    }

    /// A creation stamp for a new entry.
    pub fn stamp(&self) -> Stamp {
        Stamp {
            created_at: self.instant.clone(),
            updated_at: self.instant.clone(),
            tz: self.tz.clone(),
        }
    }
}
