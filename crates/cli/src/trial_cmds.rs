//! `quietlegs trial …`: design, blinding, running, analysis, power and the report.

use crate::diary_cmds::{me, open_store, parse_date, Now};
use crate::{bad_input, print_json, Failure};
use anyhow::{anyhow, Context};
use quietlegs_core::diary::Record;
use quietlegs_core::trial::analysis::{analyze, AnalysisSpec, TrialAnalysis};
use quietlegs_core::trial::data::{from_csv, from_design, TrialData};
use quietlegs_core::trial::design::{
    AnalysisPlan, Comparison, Outcome, TrialDesign, VerdictThresholds,
};
use quietlegs_core::trial::power::{power, Assumptions};
use quietlegs_core::ReferenceData;
use quietlegs_store::{
    PersonId, SqliteStore, Store, StoredTrial, TrialEvent, TrialGuess, TrialStore,
};
use serde_json::json;
use std::collections::BTreeMap;
use std::path::Path;

/// The options of `trial new` and `trial power`.
#[derive(Debug, Clone, clap::Args)]
pub struct DesignArgs {
    /// placebo (blinded by default), nothing (open), or forms (form A vs form B).
    #[arg(long, default_value = "placebo")]
    pub compare: String,
    /// Arm labels, treatment first (default: magnesium,placebo / magnesium,nothing / form-a,form-b).
    #[arg(long, value_delimiter = ',')]
    pub arms: Vec<String>,
    /// The comparator arm (default: the second arm).
    #[arg(long)]
    pub control: Option<String>,
    #[arg(long)]
    pub period_days: Option<u32>,
    #[arg(long)]
    pub cycles: Option<u32>,
    #[arg(long)]
    pub run_in_days: Option<u32>,
    #[arg(long)]
    pub washout_days: Option<u32>,
    /// nightly-severity (default) or weekly-irls.
    #[arg(long, default_value = "nightly-severity")]
    pub outcome: String,
    /// Minimal important difference (default per outcome, cited in docs/trial.md).
    #[arg(long)]
    pub mcid: Option<f64>,
    /// An open (unblinded) trial even against placebo.
    #[arg(long)]
    pub open: bool,
}

fn comparison(text: &str) -> Result<Comparison, Failure> {
    match text {
        "placebo" => Ok(Comparison::Placebo),
        "nothing" => Ok(Comparison::Nothing),
        "forms" => Ok(Comparison::Forms),
        other => Err(bad_input(anyhow!(
            "--compare: '{other}' is not known: allowed placebo, nothing, forms"
        ))),
    }
}

fn outcome(text: &str) -> Result<Outcome, Failure> {
    match text {
        "nightly-severity" => Ok(Outcome::NightlySeverity),
        "weekly-irls" => Ok(Outcome::WeeklyIrls),
        other => Err(bad_input(anyhow!(
            "--outcome: '{other}' is not known: allowed nightly-severity, weekly-irls"
        ))),
    }
}

pub fn design_from(
    args: &DesignArgs,
    data: &ReferenceData,
    seed: u64,
    start: jiff::civil::Date,
) -> Result<TrialDesign, Failure> {
    let cmp = comparison(&args.compare)?;
    let arms = if args.arms.is_empty() {
        match cmp {
            Comparison::Placebo => vec!["magnesium".to_string(), "placebo".to_string()],
            Comparison::Nothing => vec!["magnesium".to_string(), "nothing".to_string()],
            Comparison::Forms => vec!["form-a".to_string(), "form-b".to_string()],
        }
    } else {
        args.arms.iter().map(|a| a.trim().to_string()).collect()
    };
    let mut d = TrialDesign::with_defaults(
        &data.rules.trial,
        cmp,
        arms,
        outcome(&args.outcome)?,
        seed,
        start,
    );
    if let Some(c) = &args.control {
        d.control = c.clone();
    }
    if let Some(v) = args.period_days {
        d.period_days = v;
    }
    if let Some(v) = args.cycles {
        d.cycles = v;
    }
    if let Some(v) = args.run_in_days {
        d.run_in_days = v;
    }
    if let Some(v) = args.washout_days {
        d.washout_days = v;
    }
    if let Some(v) = args.mcid {
        d.mcid = v;
    }
    if args.open {
        d.blinded = false;
    }
    d.validate().map_err(bad_input)?;
    Ok(d)
}

fn spec_for(
    plan: &AnalysisPlan,
    data: &ReferenceData,
    complete: bool,
    blinded: bool,
    seed: u64,
) -> AnalysisSpec {
    AnalysisSpec {
        treatment: plan.treatment.clone(),
        control: plan.control.clone(),
        mcid: plan.mcid,
        higher_is_better: plan.higher_is_better,
        thresholds: plan.verdict_thresholds,
        complete,
        blinded,
        placebo_controlled: plan.comparison != Comparison::Nothing,
        randomization_exact_max: data.rules.trial.randomization_exact_max,
        randomization_monte_carlo: data.rules.trial.randomization_monte_carlo,
        randomization_seed: seed,
        outcome: Some(plan.outcome),
    }
}

/// A trial loaded with its verified plan.
struct Loaded {
    stored: StoredTrial,
    plan: AnalysisPlan,
}

impl Loaded {
    fn unblinded(&self) -> bool {
        self.stored
            .events
            .iter()
            .any(|e| e.kind == "unblinded" || e.kind == "early-unblinding")
    }
    /// Whether ordinary commands may show the arms.
    fn arms_visible(&self) -> bool {
        !self.plan.blinded || self.unblinded()
    }
}

fn load(store: &SqliteStore, person: PersonId, which: Option<&str>) -> Result<Loaded, Failure> {
    let trials = store.trials(person).context("reading trials")?;
    let stored = match which {
        None => trials.last().cloned().ok_or_else(|| {
            bad_input(anyhow!(
                "there is no trial yet: start one with `quietlegs trial new`"
            ))
        })?,
        Some(w) => trials
            .iter()
            .find(|t| t.name == w || t.id.to_string() == w)
            .cloned()
            .ok_or_else(|| bad_input(anyhow!("TRIAL: no trial named or numbered '{w}'")))?,
    };
    let plan: AnalysisPlan =
        serde_json::from_str(&stored.plan_json).context("reading the stored plan")?;
    if plan.hash() != stored.plan_hash {
        return Err(Failure::Internal(anyhow!(
            "trial '{}': the stored plan does not match its pre-registration hash; it was changed outside quietlegs",
            stored.name
        )));
    }
    Ok(Loaded { stored, plan })
}

/// The design, with the seed unsealed. Only for open trials, unblinded ones, or analysis.
fn design_of(store: &SqliteStore, person: PersonId, t: &Loaded) -> Result<TrialDesign, Failure> {
    let seed = store
        .unseal_trial(person, t.stored.id)
        .context("reading the allocation")?;
    if !t.plan.commits_to(seed) {
        return Err(Failure::Internal(anyhow!(
            "trial '{}': the sealed allocation does not match the plan's commitment",
            t.stored.name
        )));
    }
    Ok(t.plan.design(seed))
}

fn period_dates(d: &TrialDesign, first: i64, last: i64) -> String {
    format!("{} to {}", d.date_of(first), d.date_of(last))
}

/// The options of `trial new`.
#[derive(Debug, Clone, clap::Args)]
pub struct NewTrialArgs {
    /// A name for the trial (default: trial-START).
    #[arg(long)]
    pub name: Option<String>,
    #[command(flatten)]
    pub design: DesignArgs,
    /// The randomization seed (default: drawn at random and recorded).
    #[arg(long)]
    pub seed: Option<u64>,
    /// First night, YYYY-MM-DD (default: tomorrow).
    #[arg(long)]
    pub start: Option<String>,
    /// Where to write the helper's sheet (required when blinded).
    #[arg(long)]
    pub helper_sheet: Option<std::path::PathBuf>,
}

pub fn new(
    db: &Path,
    data: &ReferenceData,
    a: &NewTrialArgs,
    json_out: bool,
) -> Result<(), Failure> {
    let (name, args, seed, start, helper_sheet) = (
        a.name.clone(),
        &a.design,
        a.seed,
        a.start.as_deref(),
        a.helper_sheet.as_deref(),
    );
    let now = Now::read();
    let start = parse_date(start, &now, now.date.tomorrow().unwrap_or(now.date))?;
    if start < now.date {
        return Err(bad_input(anyhow!(
            "--start: {start} is in the past; a trial is planned before it starts"
        )));
    }
    let seed = seed.unwrap_or_else(rand::random);
    let design = design_from(args, data, seed, start)?;
    if design.blinded && helper_sheet.is_none() {
        return Err(bad_input(anyhow!(
            "--helper-sheet FILE is required for a blinded trial: the sheet tells your helper which container gets what; give it to them unread (or use --open)"
        )));
    }
    if let Some(p) = helper_sheet.filter(|p| p.exists()) {
        return Err(bad_input(anyhow!(
            "--helper-sheet: {} exists; choose a new file",
            p.display()
        )));
    }
    let plan = AnalysisPlan::new(&design, &data.rules.trial);
    let hash = plan.hash();
    let name = name.unwrap_or_else(|| format!("trial-{start}"));
    if name.trim().is_empty() {
        return Err(bad_input(anyhow!("--name: must not be empty")));
    }
    quietlegs_core::text::check_text(&name, TRIAL_NAME_CHARS_MAX, false)
        .map_err(|e| bad_input(anyhow!("--name: {e}")))?;
    let schedule = design.schedule();
    // The helper sheet is written (privately, atomically) before the trial is stored: a sheet
    // that cannot be written leaves no sealed trial behind.
    if let Some(path) = helper_sheet {
        let mut sheet = format!(
            "quietlegs helper sheet - trial '{name}' (plan {hash})\nKEEP THIS AWAY FROM THE PARTICIPANT UNTIL THE TRIAL IS UNBLINDED.\n\nFill identical containers, labelled by number, with:\n"
        );
        for p in &schedule {
            sheet.push_str(&format!(
                "  Container {:>2} ({}): {}\n",
                p.index + 1,
                period_dates(&design, p.first_day, p.last_day),
                design.arms[p.arm]
            ));
        }
        crate::files::write_private(path, sheet.as_bytes())
            .map_err(|e| bad_input(e.context("--helper-sheet")))?;
    }
    let remove_sheet = || {
        if let Some(path) = helper_sheet {
            let _ = std::fs::remove_file(path);
        }
    };
    let store = open_store(db).inspect_err(|_| remove_sheet())?;
    let person = me(&store, &now).inspect_err(|_| remove_sheet())?;
    let id = store
        .create_trial(
            person,
            &name,
            &plan.canonical_json(),
            &hash,
            seed,
            &quietlegs_core::diary::Stamp {
                created_at: now.instant.clone(),
                updated_at: now.instant.clone(),
                tz: now.tz.clone(),
            },
        )
        .map_err(|e| {
            remove_sheet();
            match e {
                quietlegs_store::StoreError::Duplicate { .. } => {
                    bad_input(anyhow!("--name: a trial named '{name}' exists"))
                }
                other => Failure::from(anyhow!(other)),
            }
        })?;
    if json_out {
        return print_json(&json!({ "id": id, "name": name, "plan_hash": hash, "plan": plan }));
    }
    outln!("Trial '{name}' (id {id}) is registered. Plan hash (pre-registration): {hash}");
    outln!(
        "{} periods of {} days ({} run-in, {} washout), {} cycles; outcome {}; MCID {}; {}.",
        schedule.len(),
        design.period_days,
        design.run_in_days,
        design.washout_days,
        design.cycles,
        crate::render::outcome_name(design.outcome),
        design.mcid,
        if design.blinded {
            "blinded"
        } else {
            "open label"
        }
    );
    outln!(
        "Starts {start}, last night {}.",
        design.date_of(design.last_day())
    );
    if design.blinded {
        outln!(
            "The helper sheet is in {}: give it to your helper unread.",
            helper_sheet
                .map(|p| p.display().to_string())
                .unwrap_or_default()
        );
    }
    Ok(())
}

/// Longest trial name: a name, not a description.
const TRIAL_NAME_CHARS_MAX: usize = 80;

/// An iCalendar TEXT value (RFC 5545 3.3.11): backslash, semicolon and comma escaped, new lines as
/// `\n` (names cannot contain control characters, but the escape keeps the file valid anyway).
fn ical_text(text: &str) -> String {
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

fn days_between(design_start: jiff::civil::Date, date: jiff::civil::Date) -> i64 {
    (date - design_start).get_days() as i64
}

pub fn status(db: &Path, which: Option<&str>, json_out: bool) -> Result<(), Failure> {
    let now = Now::read();
    if !db.exists() {
        return Err(bad_input(anyhow!(
            "there is no trial yet: start one with `quietlegs trial new`"
        )));
    }
    let store = open_store(db)?;
    let person = me(&store, &now)?;
    let t = load(&store, person, which)?;
    let p = &t.plan;
    let today = days_between(p.start, now.date);
    let period_len = i64::from(p.period_days + p.washout_days);
    let n_periods = p.arms.len() * p.cycles as usize;
    let last_day = period_len * n_periods as i64 - i64::from(p.washout_days) - 1;
    let (period, day_in, in_washout) = if today < 0 || today > last_day {
        (None, 0, false)
    } else {
        let idx = (today / period_len) as usize;
        let d = today % period_len;
        (Some(idx), d + 1, d >= i64::from(p.period_days))
    };
    let arm_tonight = match (period, t.arms_visible()) {
        (Some(i), true) => {
            let design = design_of(&store, person, &t)?;
            Some(design.arms[design.schedule()[i].arm].clone())
        }
        _ => None,
    };
    let adherence = adherence(&store, person, &t, now.date)?;
    let tonight = match period {
        None if today < 0 => format!("The trial starts on {} (in {} day(s)).", p.start, -today),
        None => "The trial's periods are over: unblind and analyse it (`quietlegs trial unblind`, then `quietlegs trial analyze`).".to_string(),
        Some(_) if in_washout => "Tonight: washout (take nothing from the trial).".to_string(),
        Some(i) => match &arm_tonight {
            Some(arm) => format!("Tonight: {arm} (period {} of {n_periods}, day {day_in} of {}{}).", i + 1, p.period_days, if day_in <= i64::from(p.run_in_days) { ", run-in: not analysed" } else { "" }),
            None => format!("Tonight: container {} (period {} of {n_periods}, day {day_in} of {}{}).", i + 1, i + 1, p.period_days, if day_in <= i64::from(p.run_in_days) { ", run-in: not analysed" } else { "" }),
        },
    };
    if json_out {
        return print_json(&json!({
            "trial": t.stored.name, "plan_hash": t.stored.plan_hash, "period": period.map(|i| i + 1),
            "container": if arm_tonight.is_none() { period.map(|i| i + 1) } else { None },
            "arm": arm_tonight, "day_in_period": day_in, "tonight": tonight, "adherence": adherence,
            "blinded": p.blinded, "unblinded": t.unblinded(),
        }));
    }
    outln!("Trial '{}': {tonight}", t.stored.name);
    for a in &adherence {
        outln!(
            "  period {:>2}: doses logged on {} of {} nights so far",
            a.period,
            a.days_with_dose,
            a.days_planned
        );
    }
    Ok(())
}

#[derive(Debug, serde::Serialize)]
struct Adherence {
    period: usize,
    days_planned: usize,
    days_with_dose: usize,
}

/// Doses logged against planned dosing nights, per period so far. With a placebo or a second
/// form every night of a period is a dosing night (a container); against nothing only the
/// treatment periods are — which needs the allocation, so for those open trials only.
fn adherence(
    store: &SqliteStore,
    person: PersonId,
    t: &Loaded,
    today: jiff::civil::Date,
) -> Result<Vec<Adherence>, Failure> {
    let p = &t.plan;
    let records = store
        .records(person, Some(p.start), Some(today))
        .context("reading the diary")?;
    let dose_days: std::collections::BTreeSet<jiff::civil::Date> = records
        .iter()
        .filter_map(|r| match &r.record {
            Record::Dose(d) => Some(d.date),
            _ => None,
        })
        .collect();
    let design = if p.comparison == Comparison::Nothing {
        Some(design_of(store, person, t)?)
    } else {
        None
    };
    let period_len = i64::from(p.period_days + p.washout_days);
    let mut out = Vec::new();
    let today_day = days_between(p.start, today);
    for i in 0..p.arms.len() * p.cycles as usize {
        let first = i as i64 * period_len;
        if first > today_day {
            break;
        }
        let last = (first + i64::from(p.period_days) - 1).min(today_day);
        let doses_expected = match &design {
            Some(d) => d.arms[d.schedule()[i].arm] == p.treatment,
            None => true,
        };
        if !doses_expected {
            continue;
        }
        let planned = (first..=last).count();
        let with = (first..=last)
            .filter(|day| {
                dose_days.contains(
                    &p.start
                        .checked_add(jiff::Span::new().days(*day))
                        .unwrap_or(p.start),
                )
            })
            .count();
        out.push(Adherence {
            period: i + 1,
            days_planned: planned,
            days_with_dose: with,
        });
    }
    Ok(out)
}

pub fn calendar(db: &Path, which: Option<&str>, ics: Option<&Path>) -> Result<(), Failure> {
    let now = Now::read();
    let store = open_store(db)?;
    let person = me(&store, &now)?;
    let t = load(&store, person, which)?;
    let p = &t.plan;
    let period_len = i64::from(p.period_days + p.washout_days);
    let visible = if t.arms_visible() {
        Some(design_of(&store, person, &t)?)
    } else {
        None
    };
    let mut rows = Vec::new();
    for i in 0..p.arms.len() * p.cycles as usize {
        let first = i as i64 * period_len;
        let last = first + i64::from(p.period_days) - 1;
        let d = |day: i64| {
            p.start
                .checked_add(jiff::Span::new().days(day))
                .unwrap_or(p.start)
        };
        let what = match &visible {
            Some(design) => design.arms[design.schedule()[i].arm].clone(),
            None => format!("container {}", i + 1),
        };
        rows.push((
            i + 1,
            d(first),
            d(first + i64::from(p.run_in_days)),
            d(last),
            what,
        ));
    }
    match ics {
        Some(path) => {
            use icalendar::{Calendar, Component, Event, EventLike};
            let mut cal = Calendar::empty();
            cal.append_property(("VERSION", "2.0"));
            cal.append_property(("PRODID", crate::insight_cmds::PRODID));
            cal.append_property(("CALSCALE", "GREGORIAN"));
            let title = format!("quietlegs trial {}", t.stored.name);
            // NAME (RFC 7986) is TEXT, but the calendar library escapes only the properties it
            // knows: escape it here; X-WR-CALNAME is escaped by the library.
            cal.append_property(("NAME", ical_text(&title).as_str()));
            cal.append_property(("X-WR-CALNAME", title.as_str()));
            for (n, first, analysed, last, what) in &rows {
                let to_naive = |d: jiff::civil::Date| {
                    chrono::NaiveDate::from_ymd_opt(
                        i32::from(d.year()),
                        d.month() as u32,
                        d.day() as u32,
                    )
                };
                let (Some(a), Some(b)) =
                    (to_naive(*first), to_naive(last.tomorrow().unwrap_or(*last)))
                else {
                    continue;
                };
                let mut e = Event::new();
                // Globally unique and stable: the plan hash identifies the trial anywhere.
                e.uid(&format!(
                    "trial-{}-period-{n}@quietlegs.invalid",
                    &t.stored.plan_hash[..16]
                ))
                    .summary(&format!("Trial period {n}: {what}"))
                    .description(&format!("Run-in until {analysed} (not analysed). At the end, record your guess: quietlegs trial guess {n} ARM"))
                    .all_day(a);
                e.ends(icalendar::DatePerhapsTime::Date(b));
                cal.push(e.done());
            }
            crate::files::write_private(path, cal.done().to_string().as_bytes())
                .map_err(bad_input)?;
            outln!("Wrote {} periods to {}.", rows.len(), path.display());
        }
        None => {
            outln!(
                "Trial '{}' (plan {}):",
                t.stored.name,
                &t.stored.plan_hash[..12]
            );
            for (n, first, analysed, last, what) in rows {
                outln!("  period {n:>2}: {first} to {last} (analysed from {analysed}): {what}");
            }
        }
    }
    Ok(())
}

pub fn guess(db: &Path, which: Option<&str>, period: usize, arm: &str) -> Result<(), Failure> {
    let now = Now::read();
    let store = open_store(db)?;
    let person = me(&store, &now)?;
    let t = load(&store, person, which)?;
    let n_periods = t.plan.arms.len() * t.plan.cycles as usize;
    if period == 0 || period > n_periods {
        return Err(bad_input(anyhow!(
            "PERIOD: {period} is out of range: allowed 1 to {n_periods}"
        )));
    }
    if !t.plan.arms.iter().any(|a| a == arm) {
        return Err(bad_input(anyhow!(
            "ARM: '{arm}' is not an arm: allowed {}",
            t.plan.arms.join(", ")
        )));
    }
    if t.unblinded() {
        return Err(bad_input(anyhow!(
            "the trial is already unblinded: a guess now would not measure blinding"
        )));
    }
    let period_len = i64::from(t.plan.period_days + t.plan.washout_days);
    let last = (period as i64 - 1) * period_len + i64::from(t.plan.period_days) - 1;
    let last_date = t
        .plan
        .start
        .checked_add(jiff::Span::new().days(last))
        .unwrap_or(t.plan.start);
    if now.date < last_date {
        return Err(bad_input(anyhow!(
            "period {period} ends on {last_date}: record your guess on its last day or after"
        )));
    }
    store
        .record_guess(
            person,
            t.stored.id,
            &TrialGuess {
                period,
                guess: arm.to_string(),
                at: now.instant.clone(),
            },
        )
        .context("storing the guess")?;
    outln!("Recorded: you think period {period} was {arm}.");
    Ok(())
}

pub fn unblind(
    db: &Path,
    which: Option<&str>,
    early: bool,
    reason: Option<&str>,
) -> Result<(), Failure> {
    let now = Now::read();
    let store = open_store(db)?;
    let person = me(&store, &now)?;
    let t = load(&store, person, which)?;
    if !t.plan.blinded {
        return Err(bad_input(anyhow!(
            "trial '{}' is open label: nothing to unblind",
            t.stored.name
        )));
    }
    if t.unblinded() {
        return Err(bad_input(anyhow!(
            "trial '{}' is already unblinded",
            t.stored.name
        )));
    }
    let design = design_of(&store, person, &t)?;
    let last = design.date_of(design.last_day());
    let over = now.date > last;
    let kind = match (over, early) {
        (true, _) => "unblinded",
        (false, true) => "early-unblinding",
        (false, false) => {
            return Err(bad_input(anyhow!(
                "the last period ends on {last}: unblind after it, or use --early --reason TEXT (logged and reported)"
            )))
        }
    };
    let detail = match (kind, reason) {
        ("early-unblinding", None) => {
            return Err(bad_input(anyhow!(
                "--reason is required for an early unblinding"
            )))
        }
        (_, Some(r)) => r.to_string(),
        (_, None) => "after the last period".to_string(),
    };
    store
        .add_trial_event(
            person,
            t.stored.id,
            &TrialEvent {
                at: now.instant.clone(),
                kind: kind.into(),
                detail,
            },
        )
        .context("logging the unblinding")?;
    outln!(
        "Trial '{}' unblinded{}:",
        t.stored.name,
        if kind == "early-unblinding" {
            " EARLY (logged; the report will say so)"
        } else {
            ""
        }
    );
    for p in design.schedule() {
        outln!(
            "  period {:>2} ({}): {}",
            p.index + 1,
            period_dates(&design, p.first_day, p.last_day),
            design.arms[p.arm]
        );
    }
    Ok(())
}

/// The outcome by day from the diary.
fn outcomes(
    store: &SqliteStore,
    person: PersonId,
    design: &TrialDesign,
) -> Result<BTreeMap<i64, f64>, Failure> {
    let end = design.date_of(design.last_day());
    let records = store
        .records(person, Some(design.start), Some(end))
        .context("reading the diary")?;
    let mut out = BTreeMap::new();
    for r in records {
        match (&r.record, design.outcome) {
            (Record::Night(n), Outcome::NightlySeverity) => {
                out.insert(design.day_of(n.date), f64::from(n.severity));
            }
            (Record::Irls(i), Outcome::WeeklyIrls) => {
                out.insert(design.day_of(i.date), f64::from(i.total));
            }
            _ => {}
        }
    }
    Ok(out)
}

/// Everything `analyze` and `report` need from a stored trial.
struct Analysed {
    t: Loaded,
    design: TrialDesign,
    data: TrialData,
    analysis: TrialAnalysis,
    periods_done: usize,
    side_effects: Vec<(String, usize, f64)>,
}

fn analyse_stored(
    store: &SqliteStore,
    person: PersonId,
    data: &ReferenceData,
    which: Option<&str>,
    today: jiff::civil::Date,
) -> Result<Analysed, Failure> {
    let t = load(store, person, which)?;
    if t.plan.blinded && !t.unblinded() {
        return Err(bad_input(anyhow!(
            "trial '{}' is blinded: unblind it after the last period (`quietlegs trial unblind`) before analysing",
            t.stored.name
        )));
    }
    let design = design_of(store, person, &t)?;
    let through = design.day_of(today).min(design.last_day());
    let trial_data = from_design(&design, &outcomes(store, person, &design)?, through);
    let periods_done = design
        .schedule()
        .iter()
        .filter(|p| p.last_day <= through)
        .count();
    let complete = through >= design.last_day();
    let spec = spec_for(&t.plan, data, complete, t.plan.blinded, design.seed);
    let analysis = analyze(&trial_data, &spec).map_err(|e| match e {
        quietlegs_core::trial::analysis::AnalysisError::Model(_) => {
            bad_input(anyhow!("cannot analyse yet: {e}"))
        }
        _ => bad_input(anyhow!("trial '{}': {e}", t.stored.name)),
    })?;
    // Side effects by arm (mean of the three 0-3 scores, per logged day).
    let records = store
        .records(
            person,
            Some(design.start),
            Some(design.date_of(design.last_day())),
        )
        .context("reading the diary")?;
    let schedule = design.schedule();
    let mut se: Vec<(String, usize, f64)> =
        design.arms.iter().map(|a| (a.clone(), 0, 0.0)).collect();
    for r in records {
        if let Record::SideEffects(s) = r.record {
            let day = design.day_of(s.date);
            if let Some(p) = schedule
                .iter()
                .find(|p| p.first_day <= day && day <= p.last_day)
            {
                se[p.arm].1 += 1;
                se[p.arm].2 += f64::from(s.diarrhea + s.nausea + s.cramps);
            }
        }
    }
    Ok(Analysed {
        t,
        design,
        data: trial_data,
        analysis,
        periods_done,
        side_effects: se,
    })
}

pub fn analyze_cmd(
    db: &Path,
    data: &ReferenceData,
    which: Option<&str>,
    csv: Option<&Path>,
    csv_opts: &CsvOptions,
    json_out: bool,
) -> Result<(), Failure> {
    let analysis = match csv {
        Some(file) => {
            let control = csv_opts
                .control
                .as_deref()
                .ok_or_else(|| bad_input(anyhow!("--control LABEL is required with --csv")))?;
            let text = std::fs::read_to_string(file)
                .with_context(|| format!("reading {}", file.display()))
                .map_err(bad_input)?;
            let d = from_csv(&text, control, csv_opts.run_in_days)
                .with_context(|| file.display().to_string())
                .map_err(bad_input)?;
            let treatment = match &csv_opts.treatment {
                Some(t) => t.clone(),
                None => d
                    .arms
                    .iter()
                    .find(|a| *a != control)
                    .cloned()
                    .unwrap_or_default(),
            };
            if treatment == control {
                return Err(bad_input(anyhow!(
                    "--treatment '{treatment}' and --control '{control}' are the same condition: compare two different conditions"
                )));
            }
            if !d.arms.contains(&treatment) {
                return Err(bad_input(anyhow!(
                    "--treatment '{treatment}' is not a condition in the file: found {}",
                    d.arms.join(", ")
                )));
            }
            let mcid = csv_opts
                .mcid
                .unwrap_or(data.rules.trial.mcid_nightly_severity);
            if !(mcid.is_finite() && mcid > 0.0) {
                return Err(bad_input(anyhow!("--mcid: must be more than 0")));
            }
            let spec = AnalysisSpec {
                treatment,
                control: control.to_string(),
                mcid,
                higher_is_better: csv_opts.higher_is_better,
                thresholds: VerdictThresholds::from_rule(&data.rules.trial),
                complete: true,
                blinded: csv_opts.blinded,
                placebo_controlled: csv_opts.blinded || csv_opts.placebo,
                randomization_exact_max: data.rules.trial.randomization_exact_max,
                randomization_monte_carlo: data.rules.trial.randomization_monte_carlo,
                randomization_seed: csv_opts.seed,
                outcome: None,
            };
            analyze(&d, &spec).map_err(|e| bad_input(anyhow!("{}: {e}", file.display())))?
        }
        None => {
            let now = Now::read();
            if !db.exists() {
                return Err(bad_input(anyhow!(
                    "there is no trial yet: start one with `quietlegs trial new`"
                )));
            }
            let store = open_store(db)?;
            let person = me(&store, &now)?;
            analyse_stored(&store, person, data, which, now.date)?.analysis
        }
    };
    if json_out {
        return print_json(&analysis);
    }
    out!("{}", crate::render::trial_text(&analysis));
    Ok(())
}

/// Options of `trial analyze --csv`.
#[derive(Debug, Clone, clap::Args)]
pub struct CsvOptions {
    /// The comparator's label in the CSV.
    #[arg(long)]
    pub control: Option<String>,
    /// The treatment's label (default: the other condition).
    #[arg(long)]
    pub treatment: Option<String>,
    /// Nights at the start of every period to discard.
    #[arg(long, default_value_t = 0)]
    pub run_in_days: u32,
    #[arg(long)]
    pub higher_is_better: bool,
    /// Minimal important difference (default: the nightly-severity default).
    #[arg(long)]
    pub mcid: Option<f64>,
    /// The data come from a blinded, placebo-controlled trial.
    #[arg(long)]
    pub blinded: bool,
    /// Placebo-controlled but not blinded.
    #[arg(long)]
    pub placebo: bool,
    /// Seed for a Monte Carlo randomization test (large designs only).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
}

/// `trial power` recommends the fewest cycles reaching a confident verdict in this share of
/// simulated trials: 80 %, the conventional planning power.
const RECOMMEND_CONFIDENT_SHARE: f64 = 0.8;

#[allow(clippy::too_many_arguments)]
pub fn power_cmd(
    data: &ReferenceData,
    args: &DesignArgs,
    effect: f64,
    sd: f64,
    rho: f64,
    drift: f64,
    missing: f64,
    sims: usize,
    seed: u64,
    json_out: bool,
) -> Result<(), Failure> {
    let checks = [
        ("--sd", sd.is_finite() && sd > 0.0, "more than 0"),
        (
            "--rho",
            rho.is_finite() && (-0.95..=0.95).contains(&rho),
            "-0.95 to 0.95",
        ),
        ("--missing", (0.0..=0.9).contains(&missing), "0 to 0.9"),
        ("--effect", effect.is_finite(), "a number"),
        ("--drift", drift.is_finite(), "a number"),
        ("--sims", (10..=10_000).contains(&sims), "10 to 10000"),
    ];
    for (flag, ok, allowed) in checks {
        if !ok {
            return Err(bad_input(anyhow!("{flag}: allowed {allowed}")));
        }
    }
    let now = Now::read();
    let base = design_from(args, data, seed, now.date)?;
    let plan = AnalysisPlan::new(&base, &data.rules.trial);
    let spec = spec_for(&plan, data, true, base.blinded, seed);
    let a = Assumptions {
        effect,
        sd,
        rho,
        drift_per_day: drift,
        baseline: 5.0,
        missing,
    };
    let candidates: Vec<u32> = if args.cycles.is_some() {
        vec![base.cycles]
    } else {
        (2..=6).collect()
    };
    let bar = indicatif::ProgressBar::new((candidates.len() * sims) as u64);
    bar.set_style(
        indicatif::ProgressStyle::with_template("simulating [{bar:40}] {pos}/{len} trials ({eta})")
            .map_err(|e| anyhow!("{e}"))?
            .progress_chars("=> "),
    );
    let mut results = Vec::new();
    for c in &candidates {
        let mut d = base.clone();
        d.cycles = *c;
        let done_before = bar.position();
        let r = power(
            &d,
            &spec,
            &a,
            sims,
            seed.wrapping_add(u64::from(*c)),
            &mut |i| bar.set_position(done_before + i as u64),
        );
        results.push(r);
    }
    bar.finish_and_clear();
    let recommended = results
        .iter()
        .find(|r| r.p_confident >= RECOMMEND_CONFIDENT_SHARE)
        .map(|r| r.cycles);
    if json_out {
        return print_json(
            &json!({ "assumptions": a, "design": base, "results": results, "recommended_cycles": recommended }),
        );
    }
    outln!(
        "Assuming magnesium changes the nightly score by {effect:+} (SD {sd}, autocorrelation {rho}, drift {drift}/day, {:.0} % nights missing); {} simulated trials per design:",
        missing * 100.0, sims
    );
    for r in &results {
        outln!(
            "  {} cycles ({} days): 'likely helps' {:.0} %, any confident verdict {:.0} %, wrongly 'likely helps' with no effect {:.1} %",
            r.cycles,
            (base.period_days + base.washout_days) * base.arms.len() as u32 * r.cycles - base.washout_days,
            r.p_likely_helps * 100.0, r.p_confident * 100.0, r.p_false_helps * 100.0
        );
    }
    match recommended {
        Some(c) => outln!("Recommended: {c} cycles (the fewest reaching a confident verdict in 80 % of simulated trials under these assumptions)."),
        None => outln!("None of these designs reaches 80 %: a larger effect, longer periods or more cycles would be needed."),
    }
    Ok(())
}

pub fn report(
    db: &Path,
    data: &ReferenceData,
    which: Option<&str>,
    svg: Option<&Path>,
    json_out: bool,
) -> Result<(), Failure> {
    let now = Now::read();
    if !db.exists() {
        return Err(bad_input(anyhow!(
            "there is no trial yet: start one with `quietlegs trial new`"
        )));
    }
    let store = open_store(db)?;
    let person = me(&store, &now)?;
    let a = analyse_stored(&store, person, data, which, now.date)?;
    let schedule = a.design.schedule();
    let guesses: Vec<(usize, String, String)> =
        a.t.stored
            .guesses
            .iter()
            .filter_map(|g| {
                schedule
                    .get(g.period - 1)
                    .map(|p| (g.period, g.guess.clone(), a.design.arms[p.arm].clone()))
            })
            .collect();
    let ctx = crate::render::ReportContext {
        name: &a.t.stored.name,
        plan: &a.t.plan,
        plan_hash: &a.t.stored.plan_hash,
        design: &a.design,
        periods_done: a.periods_done,
        events: &a.t.stored.events,
        guesses: &guesses,
        side_effects: &a.side_effects,
        analysis: &a.analysis,
    };
    if let Some(path) = svg {
        std::fs::write(
            path,
            crate::render::timeline_svg(&a.design, &a.data, &a.analysis),
        )
        .with_context(|| format!("writing {}", path.display()))?;
    }
    if json_out {
        return print_json(&json!({
            "trial": a.t.stored.name, "plan_hash": a.t.stored.plan_hash, "plan": a.t.plan,
            "periods_planned": schedule.len(), "periods_completed": a.periods_done,
            "events": a.t.stored.events, "guesses": guesses.iter().map(|(p, g, t)| json!({"period": p, "guess": g, "actual": t})).collect::<Vec<_>>(),
            "side_effects_by_arm": a.side_effects.iter().map(|(arm, n, total)| json!({"arm": arm, "days_logged": n, "mean_score": if *n > 0 { Some(total / *n as f64) } else { None }})).collect::<Vec<_>>(),
            "analysis": a.analysis,
        }));
    }
    out!("{}", crate::render::trial_report(&ctx));
    if let Some(path) = svg {
        outln!("\nTimeline chart: {}", path.display());
    }
    Ok(())
}

pub fn list(db: &Path) -> Result<(), Failure> {
    let now = Now::read();
    if !db.exists() {
        outln!("No trials yet.");
        return Ok(());
    }
    let store = open_store(db)?;
    let person = me(&store, &now)?;
    for t in store.trials(person).context("reading trials")? {
        let plan: AnalysisPlan = serde_json::from_str(&t.plan_json).context("reading a plan")?;
        outln!(
            "{:>3}  {:<24} starts {}  {} arms x {} cycles  {}  plan {}",
            t.id,
            quietlegs_core::text::escape_controls(&t.name),
            plan.start,
            plan.arms.len(),
            plan.cycles,
            if plan.blinded { "blinded" } else { "open" },
            &t.plan_hash[..12]
        );
    }
    Ok(())
}

/// Fills the diary with simulated nights for a trial (demonstrations): the allocation is used
/// to generate the numbers but not shown.
pub fn simulate(db: &Path, which: Option<&str>, a: &Assumptions, seed: u64) -> Result<(), Failure> {
    use quietlegs_core::diary::{Night, Stamp};
    use quietlegs_store::OnDuplicate;
    use rand::SeedableRng;
    let now = Now::read();
    let store = open_store(db)?;
    let person = me(&store, &now)?;
    let t = load(&store, person, which)?;
    let design = design_of(&store, person, &t)?;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let nights = quietlegs_core::trial::power::simulate_outcomes(&design, a, &mut rng);
    let stamp = Stamp {
        created_at: now.instant.clone(),
        updated_at: now.instant.clone(),
        tz: now.tz.clone(),
    };
    let mut written = 0;
    for (day, v) in nights {
        let date = design.date_of(day);
        if date > now.date {
            break;
        }
        let rec = Record::Night(Night {
            date,
            severity: v.round().clamp(0.0, 10.0) as u8,
            symptoms_began: None,
            sleep_quality: None,
            hours_slept: None,
            minutes_to_sleep: None,
            awakenings: None,
            note: Some("simulated by quietlegs trial simulate".into()),
        });
        match store.add_record(person, &rec, &stamp, OnDuplicate::Refuse) {
            Ok(_) => written += 1,
            Err(quietlegs_store::StoreError::Duplicate { .. }) => {}
            Err(e) => return Err(Failure::from(anyhow!(e))),
        }
    }
    outln!(
        "Wrote {written} simulated nights for trial '{}' (existing nights were kept).",
        t.stored.name
    );
    Ok(())
}
