//! When to take the magnesium dose: about 30 minutes before bed, moved as little as possible so
//! that every spacing rule holds against every dose time of every interacting medicine.

use crate::clock::{ClockTime, MINUTES_PER_DAY};
use serde::Serialize;

/// One medicine dose time that a magnesium dose must keep away from.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SpacingConstraint {
    /// The medicine as the person named it.
    pub medicine: String,
    pub drug_time: ClockTime,
    /// The drug must be taken at least this long before any magnesium dose.
    pub drug_before_mg_minutes: u16,
    /// The drug must be taken at least this long after any magnesium dose.
    pub drug_after_mg_minutes: u16,
}

impl SpacingConstraint {
    /// Whether a daily magnesium dose at `mg` keeps this rule, counting the drug both after
    /// today's magnesium and before tomorrow's.
    pub fn allows(&self, mg: ClockTime) -> bool {
        let drug_after_mg = mg.minutes_until(self.drug_time);
        let drug_before_mg = (MINUTES_PER_DAY - drug_after_mg) % MINUTES_PER_DAY;
        // A drug at the very same time is neither before nor after: it fails unless no spacing
        // is needed at all.
        if drug_after_mg == 0 {
            return self.drug_after_mg_minutes == 0 && self.drug_before_mg_minutes == 0;
        }
        drug_after_mg >= self.drug_after_mg_minutes && drug_before_mg >= self.drug_before_mg_minutes
    }

    /// The magnesium times this rule rules out: strictly after the first and strictly before
    /// the second time (both ends themselves are allowed).
    pub fn excluded_window(&self) -> (ClockTime, ClockTime) {
        let t = i32::from(self.drug_time.minutes());
        (
            ClockTime::from_minutes_wrapping(t - i32::from(self.drug_after_mg_minutes)),
            ClockTime::from_minutes_wrapping(t + i32::from(self.drug_before_mg_minutes)),
        )
    }
}

/// The outcome of the dose-time search.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DoseTime {
    /// Bedtime minus the usual lead time.
    pub target: ClockTime,
    /// The start of the waking day: no dose is placed between bedtime and this time.
    pub earliest: ClockTime,
    /// The chosen time, or `None` when no time of day keeps every rule.
    pub take_at: Option<ClockTime>,
    /// The constraints the target time would break (why it moved, or why nothing fits).
    pub conflicts_at_target: Vec<SpacingConstraint>,
}

/// Finds the time closest to `bedtime - minutes_before_bed` that keeps every constraint.
/// Candidates run back from bedtime in `step` minutes to the wake time (inclusive): the dose is
/// never placed after bedtime or in the hours of sleep. Ties go to the earlier time.
pub fn choose_dose_time(
    bedtime: ClockTime,
    wake: ClockTime,
    minutes_before_bed: u16,
    step: u16,
    constraints: &[SpacingConstraint],
) -> DoseTime {
    let bed = i32::from(bedtime.minutes());
    let target_offset = i32::from(minutes_before_bed); // minutes before bedtime
    let target = ClockTime::from_minutes_wrapping(bed - target_offset);
    let conflicts_at_target: Vec<SpacingConstraint> = constraints
        .iter()
        .filter(|c| !c.allows(target))
        .cloned()
        .collect();
    let step = i32::from(step.max(1));
    // Minutes from wake to bedtime: the largest offset before bedtime a dose may have.
    let awake = i32::from(wake.minutes_until(bedtime));
    let mut offsets: Vec<i32> = (0..=awake / step).map(|k| k * step).collect();
    if !offsets.contains(&awake) {
        offsets.push(awake);
    }
    if target_offset <= awake && !offsets.contains(&target_offset) {
        offsets.push(target_offset);
    }
    // Closest to the target first; on a tie the earlier time (larger offset before bed).
    offsets.sort_by_key(|&off| ((off - target_offset).abs(), -off));
    let take_at = offsets
        .into_iter()
        .map(|off| ClockTime::from_minutes_wrapping(bed - off))
        .find(|&t| constraints.iter().all(|c| c.allows(t)));
    DoseTime {
        target,
        earliest: wake,
        take_at,
        conflicts_at_target,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn t(s: &str) -> ClockTime {
        ClockTime::parse(s).unwrap()
    }

    fn rule(name: &str, at: &str, before_h: u16, after_h: u16) -> SpacingConstraint {
        SpacingConstraint {
            medicine: name.into(),
            drug_time: t(at),
            drug_before_mg_minutes: before_h * 60,
            drug_after_mg_minutes: after_h * 60,
        }
    }

    #[test]
    fn table_of_dose_time_cases() {
        // (bedtime, constraints, expected time; None = nothing fits). Hand-worked:
        let cases: Vec<(&str, Vec<SpacingConstraint>, Option<&str>)> = vec![
            // No medicines: 30 min before bed.
            ("22:30", vec![], Some("22:00")),
            ("00:15", vec![], Some("23:45")),
            // Morning levothyroxine (4 h either way) is 9.5 h after 22:00: no move.
            (
                "22:30",
                vec![rule("levothyroxine", "07:30", 4, 4)],
                Some("22:00"),
            ),
            // Gabapentin at 22:00 must be >= 2 h after magnesium: latest is 20:00.
            (
                "22:30",
                vec![rule("gabapentin", "22:00", 2, 2)],
                Some("20:00"),
            ),
            // Doxycycline at 21:00: magnesium must not fall in (15:00, 23:00); bedtime 23:00
            // allows the dose at 23:00 itself (2 h after the drug) -> 23:00 (bedtime, 30 min late
            // vs target 22:30) beats 15:00.
            (
                "23:00",
                vec![rule("doxycycline", "21:00", 2, 6)],
                Some("23:00"),
            ),
            // Same drug, bedtime 22:30: window (15:00, 23:00) covers 22:00..22:30 -> 15:00.
            (
                "22:30",
                vec![rule("doxycycline", "21:00", 2, 6)],
                Some("15:00"),
            ),
            // Iron four times a day (4 h either way) leaves no gap of 8 h: nothing fits.
            (
                "22:30",
                vec![
                    rule("iron", "06:00", 4, 4),
                    rule("iron", "12:00", 4, 4),
                    rule("iron", "18:00", 4, 4),
                    rule("iron", "23:59", 4, 4),
                ],
                None,
            ),
        ];
        for (bed, constraints, expected) in cases {
            // Wake 8 h after bedtime.
            let wake = ClockTime::from_minutes_wrapping(i32::from(t(bed).minutes()) + 480);
            let got = choose_dose_time(t(bed), wake, 30, 5, &constraints);
            assert_eq!(
                got.take_at.map(|x| x.to_string()),
                expected.map(String::from),
                "bedtime {bed}, {constraints:?}"
            );
        }
    }

    #[test]
    fn excluded_window_is_the_complement_of_allows() {
        let c = rule("doxycycline", "21:00", 2, 6);
        let (first, last) = c.excluded_window();
        assert_eq!(
            (first.to_string(), last.to_string()),
            ("15:00".into(), "23:00".into())
        );
        // The ends are allowed, one minute inside is not.
        assert!(c.allows(first) && c.allows(last));
        assert!(!c.allows(t("15:01")) && !c.allows(t("22:59")));
    }

    #[test]
    fn a_dose_is_never_placed_during_sleep() {
        // Iron at 08:00, 12:00, 16:00 and 20:00 (4 h either way) rules out 04:00-24:00 except
        // the ends: only 00:00-04:00 is allowed. Searching the whole day from bedtime 22:30 found
        // 04:00 (asleep); in a waking day of 06:30-22:30 nothing fits; someone up at 03:30 can
        // take it at 04:00.
        let constraints = vec![
            rule("iron", "08:00", 4, 4),
            rule("iron", "12:00", 4, 4),
            rule("iron", "16:00", 4, 4),
            rule("iron", "20:00", 4, 4),
        ];
        let whole_day = choose_dose_time(t("22:30"), t("22:35"), 30, 5, &constraints);
        assert_eq!(whole_day.take_at, Some(t("04:00")), "the old behaviour");
        let got = choose_dose_time(t("22:30"), t("06:30"), 30, 5, &constraints);
        assert_eq!(got.take_at, None);
        assert_eq!(got.earliest, t("06:30"));
        let got = choose_dose_time(t("22:30"), t("03:30"), 30, 5, &constraints);
        assert_eq!(got.take_at, Some(t("04:00")));
    }

    proptest! {
        #[test]
        fn chosen_time_keeps_every_rule_and_is_in_the_waking_day(
            bed in 0u16..1440,
            wake_after_bed in 1u16..1439,
            drugs in proptest::collection::vec((0u16..1440, 0u16..7, 0u16..7), 0..4),
        ) {
            let constraints: Vec<_> = drugs.iter().map(|&(at, b, a)| SpacingConstraint {
                medicine: "x".into(),
                drug_time: ClockTime::from_minutes_wrapping(i32::from(at)),
                drug_before_mg_minutes: b * 60,
                drug_after_mg_minutes: a * 60,
            }).collect();
            let bedtime = ClockTime::from_minutes_wrapping(i32::from(bed));
            let wake = ClockTime::from_minutes_wrapping(i32::from(bed) + i32::from(wake_after_bed));
            let awake = i32::from(wake.minutes_until(bedtime));
            let got = choose_dose_time(bedtime, wake, 30, 5, &constraints);
            if let Some(at) = got.take_at {
                prop_assert!(constraints.iter().all(|c| c.allows(at)));
                // In the waking day: no later than bedtime, no earlier than wake.
                prop_assert!(i32::from(at.minutes_until(bedtime)) <= awake);
            } else {
                // Nothing fits: every candidate (bedtime minus a multiple of 5 min, back to
                // wake) breaks a rule.
                for k in 0..=(awake / 5) {
                    let t = ClockTime::from_minutes_wrapping(i32::from(bed) - 5 * k);
                    prop_assert!(!constraints.iter().all(|c| c.allows(t)));
                }
            }
        }
    }
}
