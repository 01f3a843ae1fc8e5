//! The nights a trial analysis uses: each with its day number, arm, period and cycle, outcome
//! (or none, for a missing night) and whether it falls in a run-in.

use super::design::TrialDesign;
use serde::Serialize;
use std::collections::BTreeMap;

/// One night of the trial grid.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct TrialNight {
    pub day: i64,
    pub arm: usize,
    pub period: usize,
    /// The cycle, when the period belongs to a complete cycle (every arm once).
    pub cycle: Option<usize>,
    pub outcome: Option<f64>,
    pub run_in: bool,
}

/// Everything an analysis needs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TrialData {
    pub arms: Vec<String>,
    /// Every night of the grid, in day order: a night without an outcome (an empty outcome
    /// or no row at all) is a missing night.
    pub nights: Vec<TrialNight>,
    /// Periods planned (a design) or seen (a CSV).
    pub periods_planned: usize,
    /// What the reader should know about how the data were read (e.g. periods that may have
    /// merged); carried into the analysis.
    pub warnings: Vec<String>,
}

impl TrialData {
    /// The nights the pre-registered analysis uses, in day order: past their period's run-in and
    /// with an outcome. Every analysis of a trial (its own report, a pooled analysis of many
    /// people's trials) reads its nights from here.
    pub fn analysed(&self) -> impl Iterator<Item = (&TrialNight, f64)> + '_ {
        self.nights
            .iter()
            .filter(|n| !n.run_in)
            .filter_map(|n| n.outcome.map(|y| (n, y)))
    }

    /// Nights past the run-in without an outcome (not logged): counted, not analysed.
    pub fn missing(&self) -> impl Iterator<Item = &TrialNight> + '_ {
        self.nights
            .iter()
            .filter(|n| !n.run_in && n.outcome.is_none())
    }
}

/// A CSV that cannot be analysed, with its line.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DataError {
    #[error("line {line}: {message}")]
    Line { line: u64, message: String },
    #[error("{0}")]
    Whole(String),
}

fn line_err(line: u64, message: impl Into<String>) -> DataError {
    DataError::Line {
        line,
        message: message.into(),
    }
}

/// The day numbers a CSV may use. Any day count or spreadsheet date serial fits (±1,000,000
/// days is about 2,700 years), every gap between two nights fits the model's integer powers
/// with room to spare, and the grid of nights the file spans stays at most 2,000,001 nights
/// (about 100 MB) however sparse the rows.
pub const CSV_DAYS: std::ops::RangeInclusive<i64> = -1_000_000..=1_000_000;

/// Without a period column, a run of one condition this many times longer than the shortest
/// other period is reported as possibly two back-to-back periods merged into one (ABBA gives
/// runs twice as long; 1.5 sits between that and equal periods, leaving room for uneven
/// logging).
pub const MERGED_RUN_RATIO: f64 = 1.5;

/// One CSV row: line, day, condition, outcome, period label.
type CsvRow = (u64, i64, String, Option<f64>, Option<String>);

/// Assigns cycles: consecutive periods that together hold every arm once form a cycle.
fn assign_cycles(period_arms: &[usize], arms: usize) -> Vec<Option<usize>> {
    let mut out = vec![None; period_arms.len()];
    let mut cycle = 0;
    let mut i = 0;
    while i + arms <= period_arms.len() {
        let mut seen: Vec<usize> = period_arms[i..i + arms].to_vec();
        seen.sort_unstable();
        seen.dedup();
        if seen.len() == arms {
            for slot in &mut out[i..i + arms] {
                *slot = Some(cycle);
            }
            cycle += 1;
            i += arms;
        } else {
            i += 1;
        }
    }
    out
}

pub(crate) fn parse_day(text: &str, line: u64) -> Result<i64, DataError> {
    let range = || {
        format!(
            "allowed {} to {} (whole days)",
            CSV_DAYS.start(),
            CSV_DAYS.end()
        )
    };
    let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(line_err(
            line,
            format!("day '{text}' is not a whole number: {}", range()),
        ));
    }
    match text.parse::<i64>() {
        Ok(day) if CSV_DAYS.contains(&day) => Ok(day),
        _ => Err(line_err(
            line,
            format!("day {text} is out of range: {}", range()),
        )),
    }
}

/// Parses `day,condition,outcome[,period]` (header required). Without `period`, each maximal
/// run of one condition is a period. Nights are laid on one grid of consecutive days: a day
/// without a row is a missing night exactly like a row with an empty outcome. A period begins
/// the night after the previous period's last row (the first period at its first row), and its
/// first `run_in_days` nights from there are run-in.
pub fn from_csv(text: &str, control: &str, run_in_days: u32) -> Result<TrialData, DataError> {
    let (rows, has_period_column) = read_rows(text)?;
    let arms = arms_of(&rows, control)?;
    let periods = periods_of(&rows, &arms)?;
    let period_arms: Vec<usize> = periods.iter().map(|p| p.0).collect();
    let cycles = assign_cycles(&period_arms, arms.len());
    let (nights, lengths) = lay_grid(&rows, &periods, &cycles, run_in_days);
    for (a, name) in arms.iter().enumerate() {
        let has = nights
            .iter()
            .any(|n| n.arm == a && !n.run_in && n.outcome.is_some());
        if !has {
            return Err(DataError::Whole(format!(
                "condition '{name}' has no analysable nights (after run-in)"
            )));
        }
    }
    let warnings = if has_period_column {
        Vec::new()
    } else {
        merged_period_warning(&lengths).into_iter().collect()
    };
    Ok(TrialData {
        arms,
        periods_planned: periods.len(),
        nights,
        warnings,
    })
}

/// The rows, checked (days whole, in range, sorted and not repeated; a condition on every row;
/// outcomes numbers or empty), and whether the file has a period column.
fn read_rows(text: &str) -> Result<(Vec<CsvRow>, bool), DataError> {
    let text = text.trim_start_matches('\u{feff}');
    let mut lines = crate::export::LineCounter::new(text);
    let mut rdr = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let headers: Vec<String> = rdr
        .headers()
        .map_err(|e| line_err(1, e.to_string()))?
        .iter()
        .map(|h| h.to_lowercase())
        .collect();
    let col = |name: &str| headers.iter().position(|h| h == name);
    let (Some(cd), Some(cc), Some(co)) = (col("day"), col("condition"), col("outcome")) else {
        return Err(line_err(
            1,
            "the header must be day,condition,outcome (and optionally period)",
        ));
    };
    let cp = col("period");
    let mut rows: Vec<CsvRow> = Vec::new();
    for rec in rdr.records() {
        let rec = rec.map_err(|e| {
            line_err(
                e.position().map(|p| lines.line_of(p.byte())).unwrap_or(0),
                e.to_string(),
            )
        })?;
        let line = rec.position().map(|p| lines.line_of(p.byte())).unwrap_or(0);
        let get = |i: usize| rec.get(i).unwrap_or("").to_string();
        let day = parse_day(&get(cd), line)?;
        let condition = get(cc);
        if condition.is_empty() {
            return Err(line_err(line, "condition is empty"));
        }
        let outcome = match get(co).as_str() {
            "" => None,
            s => Some(
                s.parse::<f64>()
                    .ok()
                    .filter(|v| v.is_finite())
                    .ok_or_else(|| line_err(line, format!("outcome '{s}' is not a number (leave it empty for a missing night)")))?,
            ),
        };
        if let Some((prev_line, prev_day, ..)) = rows.last() {
            if day == *prev_day {
                return Err(line_err(
                    line,
                    format!("day {day} is repeated (first on line {prev_line})"),
                ));
            }
            if day < *prev_day {
                return Err(line_err(
                    line,
                    format!("days are not sorted: {day} after {prev_day}"),
                ));
            }
        }
        rows.push((line, day, condition, outcome, cp.map(get)));
    }
    if rows.is_empty() {
        return Err(DataError::Whole("the file has no nights".into()));
    }
    Ok((rows, cp.is_some()))
}

/// The conditions in order of first appearance: at least two, one of them `control`.
fn arms_of(rows: &[CsvRow], control: &str) -> Result<Vec<String>, DataError> {
    let mut arms: Vec<String> = Vec::new();
    for (_, _, c, ..) in rows {
        if !arms.contains(c) {
            arms.push(c.clone());
        }
    }
    if arms.len() < 2 {
        return Err(DataError::Whole(format!(
            "only one condition ('{}'): a trial needs at least two arms",
            arms[0]
        )));
    }
    if !arms.iter().any(|a| a == control) {
        return Err(DataError::Whole(format!(
            "--control '{control}' is not a condition in the file: found {}",
            arms.join(", ")
        )));
    }
    Ok(arms)
}

/// A period: (arm, its first row's day, its last row's day).
type CsvPeriod = (usize, i64, i64);

/// The periods: by label where the file has a period column (a label may not resume after
/// another period, nor mix conditions), else each maximal run of one condition.
fn periods_of(rows: &[CsvRow], arms: &[String]) -> Result<Vec<CsvPeriod>, DataError> {
    let mut periods: Vec<CsvPeriod> = Vec::new();
    let mut labels: BTreeMap<String, usize> = BTreeMap::new();
    for (line, day, c, _, p) in rows {
        let arm = arms.iter().position(|a| a == c).unwrap_or(0);
        let new_period = match p {
            Some(label) => {
                if label.is_empty() {
                    return Err(line_err(*line, "period is empty"));
                }
                match labels.get(label) {
                    Some(&idx) => {
                        if idx + 1 != periods.len() {
                            return Err(line_err(
                                *line,
                                format!("period '{label}' resumes after another period"),
                            ));
                        }
                        if periods[idx].0 != arm {
                            return Err(line_err(
                                *line,
                                format!("period '{label}' mixes conditions"),
                            ));
                        }
                        false
                    }
                    None => {
                        labels.insert(label.clone(), periods.len());
                        true
                    }
                }
            }
            None => periods.last().map(|p| p.0) != Some(arm),
        };
        if new_period {
            periods.push((arm, *day, *day));
        }
        if let Some(last) = periods.last_mut() {
            last.2 = *day;
        }
    }
    Ok(periods)
}

/// The grid of nights: period i spans from the night after period i-1's last row to its own
/// last row; its first `run_in_days` nights are run-in. Also returns each period's length.
fn lay_grid(
    rows: &[CsvRow],
    periods: &[CsvPeriod],
    cycles: &[Option<usize>],
    run_in_days: u32,
) -> (Vec<TrialNight>, Vec<i64>) {
    let span = rows[rows.len() - 1].1 - rows[0].1 + 1;
    let mut nights: Vec<TrialNight> = Vec::with_capacity(usize::try_from(span).unwrap_or(0));
    let mut next_row = 0;
    let mut lengths = Vec::with_capacity(periods.len());
    for (i, &(arm, first_row_day, last_day)) in periods.iter().enumerate() {
        let start = if i == 0 {
            first_row_day
        } else {
            periods[i - 1].2 + 1
        };
        lengths.push(last_day - start + 1);
        for day in start..=last_day {
            let outcome = match rows.get(next_row) {
                Some(r) if r.1 == day => {
                    next_row += 1;
                    r.3
                }
                _ => None,
            };
            nights.push(TrialNight {
                day,
                arm,
                period: i,
                cycle: cycles[i],
                outcome,
                run_in: day - start < i64::from(run_in_days),
            });
        }
    }
    (nights, lengths)
}

/// Without a period column, runs of very different lengths suggest two periods of one condition
/// back to back (ABBA) that were merged.
fn merged_period_warning(lengths: &[i64]) -> Option<String> {
    if lengths.len() < 2 {
        return None;
    }
    // The last run may be cut short, so it does not set the shortest period.
    let shortest = lengths[..lengths.len() - 1]
        .iter()
        .copied()
        .min()
        .unwrap_or(1);
    let longest = lengths.iter().copied().max().unwrap_or(1);
    (longest as f64 >= MERGED_RUN_RATIO * shortest as f64).then(|| format!(
        "The file has no period column, so each run of one condition was taken as one period; some runs are much longer than others ({longest} nights against {shortest}). If two periods of one condition were back to back (as in ABBA), they have been merged into one: the run-in, the cycles and the randomization test then differ from the trial's. Add a period column to keep them apart."
    ))
}

/// The trial grid from a design and the outcomes recorded by day (start = day 0). Days after
/// `through_day` (today) are not part of the data yet; washout days are left out.
pub fn from_design(
    design: &TrialDesign,
    outcomes: &BTreeMap<i64, f64>,
    through_day: i64,
) -> TrialData {
    let schedule = design.schedule();
    let period_arms: Vec<usize> = schedule.iter().map(|p| p.arm).collect();
    let cycles = assign_cycles(&period_arms, design.arms.len());
    let mut nights = Vec::new();
    for p in &schedule {
        for day in p.first_day..=p.last_day.min(through_day) {
            nights.push(TrialNight {
                day,
                arm: p.arm,
                period: p.index,
                cycle: cycles[p.index],
                outcome: outcomes.get(&day).copied(),
                run_in: day < p.analysed_from_day,
            });
        }
    }
    TrialData {
        arms: design.arms.clone(),
        nights,
        periods_planned: schedule.len(),
        warnings: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn periods_and_cycles_are_inferred_from_runs() {
        // A A B B | B B A A | A A : the last run is an incomplete cycle.
        let csv = "day,condition,outcome\n1,A,5\n2,A,6\n3,B,3\n4,B,\n5,B,2\n6,B,3\n7,A,6\n8,A,5\n9,A,7\n10,A,6\n";
        let d = from_csv(csv, "B", 1).unwrap();
        let periods: Vec<usize> = d.nights.iter().map(|n| n.period).collect();
        // Runs: A(1-2) B(3-6) A(7-10): three periods.
        assert_eq!(periods, [0, 0, 1, 1, 1, 1, 2, 2, 2, 2]);
        let cycles: Vec<Option<usize>> = d.nights.iter().map(|n| n.cycle).collect();
        assert_eq!(cycles[..6], [Some(0); 6]);
        assert_eq!(cycles[6..], [None; 4]);
        let run_in: Vec<bool> = d.nights.iter().map(|n| n.run_in).collect();
        assert_eq!(
            run_in,
            [true, false, true, false, false, false, true, false, false, false]
        );
        assert_eq!(d.nights[3].outcome, None);
    }

    #[test]
    fn bad_files_name_the_line() {
        let cases = [
            (
                "day,condition,outcome\n1,A,5\n1,B,4\n",
                "line 3: day 1 is repeated (first on line 2)",
            ),
            (
                "day,condition,outcome\n2,A,5\n1,B,4\n",
                "line 3: days are not sorted: 1 after 2",
            ),
            (
                "day,condition,outcome\n1,A,five\n2,B,4\n",
                "line 2: outcome 'five' is not a number",
            ),
            (
                "day,condition,outcome\nx,A,5\n",
                "line 2: day 'x' is not a whole number",
            ),
            (
                "day,condition,outcome\n1,A,5\n1000001,B,4\n",
                "line 3: day 1000001 is out of range: allowed -1000000 to 1000000",
            ),
            (
                "day,condition,outcome\n1,A,5\n9223372036854775807,B,4\n",
                "line 3: day 9223372036854775807 is out of range: allowed -1000000 to 1000000",
            ),
            (
                "day,condition,outcome\n1,A,5\n99999999999999999999,B,4\n",
                "line 3: day 99999999999999999999 is out of range",
            ),
            (
                "day,condition,outcome\n1,A,5\n2,A,4\n",
                "only one condition ('A')",
            ),
            (
                "day,condition,outcome\n1,A,5\n2,C,4\n",
                "--control 'B' is not a condition in the file: found A, C",
            ),
            (
                "day,condition,outcome\n1,A,5\n2,B,\n",
                "condition 'B' has no analysable nights",
            ),
            (
                "d,c,o\n1,A,5\n",
                "line 1: the header must be day,condition,outcome",
            ),
        ];
        let crlf_bom = "\u{feff}day,condition,outcome\r\n1,A,5\r\n2,B,4\r\n2,B,3\r\n";
        let err = from_csv(crlf_bom, "B", 0).unwrap_err().to_string();
        assert_eq!(err, "line 4: day 2 is repeated (first on line 3)");
        for (csv, msg) in cases {
            let err = from_csv(csv, "B", 0).unwrap_err().to_string();
            assert!(err.contains(msg), "{csv:?}: {err}");
        }
    }

    #[test]
    fn an_explicit_period_column_is_used() {
        let csv = "day,condition,outcome,period\n1,A,5,p1\n2,A,6,p1\n3,A,4,p2\n4,B,3,p3\n5,B,2,p3\n6,A,5,p4\n";
        let d = from_csv(csv, "B", 0).unwrap();
        let periods: Vec<usize> = d.nights.iter().map(|n| n.period).collect();
        assert_eq!(periods, [0, 0, 1, 2, 2, 3]);
        let err =
            from_csv("day,condition,outcome,period\n1,A,5,p1\n2,B,6,p1\n", "B", 0).unwrap_err();
        assert!(err.to_string().contains("period 'p1' mixes conditions"));
    }

    #[test]
    fn every_missing_night_of_the_grid_counts() {
        // A on days 1-5 and 56-60 (days 6-55 have no row: 50 missing nights inside the
        // period), then B on days 61-70.
        let mut csv = String::from("day,condition,outcome\n");
        for day in (1..=5).chain(56..=60) {
            csv.push_str(&format!("{day},A,{}\n", 4 + day % 3));
        }
        for day in 61..=70 {
            csv.push_str(&format!("{day},B,{}\n", 2 + day % 3));
        }
        let d = from_csv(&csv, "B", 0).unwrap();
        assert_eq!(d.nights.len(), 70);
        assert_eq!(d.nights.iter().filter(|n| n.outcome.is_none()).count(), 50);
    }

    #[test]
    fn back_to_back_periods_without_a_period_column_are_warned_about() {
        // ABBAAB (as `trial new` can draw), 4 nights a period, outcomes varying.
        let rows = |with_period: bool| {
            let mut csv = String::from(if with_period {
                "day,condition,outcome,period\n"
            } else {
                "day,condition,outcome\n"
            });
            for (i, arm) in "ABBAAB".chars().enumerate() {
                for k in 0..4 {
                    let day = i * 4 + k + 1;
                    csv.push_str(&format!("{day},{arm},{}", 3 + day % 4));
                    csv.push_str(&if with_period {
                        format!(",{i}\n")
                    } else {
                        "\n".into()
                    });
                }
            }
            csv
        };
        let merged = from_csv(&rows(false), "B", 1).unwrap();
        // Runs A(4) BB(8) AA(8) B(4): four periods instead of six.
        assert_eq!(merged.periods_planned, 4);
        assert_eq!(merged.warnings.len(), 1);
        assert!(
            merged.warnings[0].contains("(8 nights against 4)"),
            "{:?}",
            merged.warnings
        );
        assert!(merged.warnings[0].contains("Add a period column"));
        let kept = from_csv(&rows(true), "B", 1).unwrap();
        assert_eq!(kept.periods_planned, 6);
        assert!(kept.warnings.is_empty());
        // ABAB with a shorter last period: nothing to warn about.
        let abab = "day,condition,outcome\n1,A,5\n2,A,6\n3,B,3\n4,B,4\n5,A,6\n6,A,5\n7,B,3\n";
        assert!(from_csv(abab, "B", 0).unwrap().warnings.is_empty());
    }

    proptest! {
        #[test]
        fn the_csv_parser_never_panics(s in "\\PC{0,200}") {
            let _ = from_csv(&format!("day,condition,outcome\n{s}"), "B", 2);
        }
    }
}
