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
    pub nights: Vec<TrialNight>,
    /// Periods planned (a design) or seen (a CSV).
    pub periods_planned: usize,
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

/// Parses `day,condition,outcome[,period]` (header required). Without `period`, each maximal
/// run of one condition is a period. The first `run_in_days` days of each period are run-in.
pub fn from_csv(text: &str, control: &str, run_in_days: u32) -> Result<TrialData, DataError> {
    let text = text.trim_start_matches('\u{feff}');
    let line_at = |byte: u64| crate::export::line_of_byte(text, byte);
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
                e.position().map(|p| line_at(p.byte())).unwrap_or(0),
                e.to_string(),
            )
        })?;
        let line = rec.position().map(|p| line_at(p.byte())).unwrap_or(0);
        let get = |i: usize| rec.get(i).unwrap_or("").to_string();
        let day: i64 = get(cd)
            .parse()
            .map_err(|_| line_err(line, format!("day '{}' is not a whole number", get(cd))))?;
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
    let mut arms: Vec<String> = Vec::new();
    for (_, _, c, ..) in &rows {
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
    if !arms.contains(&control.to_string()) {
        return Err(DataError::Whole(format!(
            "--control '{control}' is not a condition in the file: found {}",
            arms.join(", ")
        )));
    }
    // Periods.
    let mut period_of_row = Vec::with_capacity(rows.len());
    let mut period_arms: Vec<usize> = Vec::new();
    let mut period_start: Vec<i64> = Vec::new();
    let mut labels: BTreeMap<String, usize> = BTreeMap::new();
    for (line, day, c, _, p) in &rows {
        let arm = arms.iter().position(|a| a == c).unwrap_or(0);
        let new_period = match p {
            Some(label) => {
                if label.is_empty() {
                    return Err(line_err(*line, "period is empty"));
                }
                match labels.get(label) {
                    Some(&idx) => {
                        if idx + 1 != period_arms.len() {
                            return Err(line_err(
                                *line,
                                format!("period '{label}' resumes after another period"),
                            ));
                        }
                        if period_arms[idx] != arm {
                            return Err(line_err(
                                *line,
                                format!("period '{label}' mixes conditions"),
                            ));
                        }
                        false
                    }
                    None => {
                        labels.insert(label.clone(), period_arms.len());
                        true
                    }
                }
            }
            None => period_arms.last() != Some(&arm),
        };
        if new_period {
            period_arms.push(arm);
            period_start.push(*day);
        }
        period_of_row.push(period_arms.len() - 1);
    }
    let cycles = assign_cycles(&period_arms, arms.len());
    let nights: Vec<TrialNight> = rows
        .iter()
        .zip(&period_of_row)
        .map(|((_, day, _, outcome, _), &period)| TrialNight {
            day: *day,
            arm: period_arms[period],
            period,
            cycle: cycles[period],
            outcome: *outcome,
            run_in: *day < period_start[period] + i64::from(run_in_days),
        })
        .collect();
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
    Ok(TrialData {
        arms,
        periods_planned: period_arms.len(),
        nights,
    })
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

    proptest! {
        #[test]
        fn the_csv_parser_never_panics(s in "\\PC{0,200}") {
            let _ = from_csv(&format!("day,condition,outcome\n{s}"), "B", 2);
        }
    }
}
