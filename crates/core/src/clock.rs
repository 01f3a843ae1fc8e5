//! Wall-clock times of day ("22:30"), as minutes since midnight.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// Minutes in a day.
pub const MINUTES_PER_DAY: u16 = 24 * 60;

/// A time of day on the 24-hour clock, to the minute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ClockTime(u16);

/// Why a text is not a `HH:MM` time.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{text}' is not a time of day: use HH:MM on the 24-hour clock, 00:00 to 23:59")]
pub struct ClockTimeError {
    pub text: String,
}

impl ClockTime {
    /// Parses `HH:MM` (one or two hour digits, exactly two minute digits), 00:00 to 23:59.
    pub fn parse(text: &str) -> Result<Self, ClockTimeError> {
        let err = || ClockTimeError {
            text: text.to_string(),
        };
        let (h, m) = text.trim().split_once(':').ok_or_else(err)?;
        let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        if !digits(h) || h.len() > 2 || !digits(m) || m.len() != 2 {
            return Err(err());
        }
        let hours: u16 = h.parse().map_err(|_| err())?;
        let minutes: u16 = m.parse().map_err(|_| err())?;
        if hours > 23 || minutes > 59 {
            return Err(err());
        }
        Ok(Self(hours * 60 + minutes))
    }

    /// From minutes since midnight; any integer is wrapped onto the 24-hour clock.
    pub fn from_minutes_wrapping(minutes: i32) -> Self {
        Self(minutes.rem_euclid(i32::from(MINUTES_PER_DAY)) as u16)
    }

    pub fn minutes(self) -> u16 {
        self.0
    }

    /// Minutes from `self` forward to `later` on the clock face, in `0..1440`.
    pub fn minutes_until(self, later: ClockTime) -> u16 {
        (later.0 + MINUTES_PER_DAY - self.0) % MINUTES_PER_DAY
    }
}

impl fmt::Display for ClockTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}:{:02}", self.0 / 60, self.0 % 60)
    }
}

impl Serialize for ClockTime {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for ClockTime {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        ClockTime::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_valid_times_and_rejects_the_rest() {
        let cases = [
            ("00:00", Some(0)),
            ("7:05", Some(425)),
            ("22:30", Some(1350)),
            ("23:59", Some(1439)),
            ("24:00", None),
            ("12:60", None),
            ("12:5", None),
            ("1230", None),
            ("-1:30", None),
            ("ab:cd", None),
            ("", None),
            ("123:00", None),
        ];
        for (text, expected) in cases {
            assert_eq!(
                ClockTime::parse(text).ok().map(ClockTime::minutes),
                expected,
                "{text}"
            );
        }
    }

    #[test]
    fn minutes_until_wraps_past_midnight() {
        let t = |s| ClockTime::parse(s).unwrap();
        assert_eq!(t("22:00").minutes_until(t("07:30")), 570); // 2 h to midnight + 7.5 h
        assert_eq!(t("07:30").minutes_until(t("22:00")), 870);
        assert_eq!(t("10:00").minutes_until(t("10:00")), 0);
    }

    proptest! {
        #[test]
        fn display_round_trips(m in 0u16..1440) {
            let t = ClockTime::from_minutes_wrapping(i32::from(m));
            prop_assert_eq!(ClockTime::parse(&t.to_string()).unwrap(), t);
        }

        #[test]
        fn parser_never_panics(s in "\\PC{0,8}") {
            let _ = ClockTime::parse(&s);
        }
    }
}
