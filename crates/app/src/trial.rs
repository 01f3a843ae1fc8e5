//! Trial use cases: register, status, calendar, guess, unblind, analyse, power, report, list,
//! simulate.
//!
//! **The blinding gate lives here.** While a blinded trial is not unblinded, the allocation (which
//! period gets which arm) is read only by [`LoadedTrial::allocation_hidden`] for work whose
//! result does not depend on it being shown (simulation), and every result type of this module
//! carries periods by number ("container 3"), never by arm. `tests/blinding.rs` proves it: every
//! use case returns the same output for two trials that differ only in their allocation.

use std::collections::{BTreeMap, BTreeSet};

use jiff::civil::Date;
use quietlegs_core::diary::{Night, Record};
use quietlegs_core::reference::TrialRule;
use quietlegs_core::trial::analysis::{analyze, AnalysisError, AnalysisSpec, TrialAnalysis};
use quietlegs_core::trial::blinding::{assess_guesses, BlindingAssessment};
use quietlegs_core::trial::data::{from_csv, from_design, TrialData};
use quietlegs_core::trial::design::{
    AnalysisPlan, Comparison, Outcome, TrialDesign, TrialPhase, VerdictThresholds,
};
use quietlegs_core::trial::power::{power, Assumptions, PowerResult};
use quietlegs_store::{
    OnDuplicate, PersonId, Store, StoreError, StoredTrial, TrialEvent, TrialGuess, TrialStore,
};
use serde::{Deserialize, Serialize};

use crate::{AppError, Context, ErrorKind};

/// Longest reason for an early unblinding: a sentence or two.
pub const UNBLINDING_REASON_CHARS_MAX: usize = 500;

/// Longest trial name: a name, not a description.
pub const TRIAL_NAME_CHARS_MAX: usize = 80;

/// A design as the person chooses it (every surface fills this; empty means the default).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DesignChoice {
    /// placebo (blinded by default), nothing (open), or forms (form A vs form B).
    pub compare: Option<String>,
    /// Arm labels, treatment first.
    pub arms: Vec<String>,
    /// The comparator arm (default: the second arm).
    pub control: Option<String>,
    pub period_days: Option<u32>,
    pub cycles: Option<u32>,
    pub run_in_days: Option<u32>,
    pub washout_days: Option<u32>,
    /// nightly-severity (default) or weekly-irls.
    pub outcome: Option<String>,
    pub mcid: Option<f64>,
    /// An open (unblinded) trial even against placebo.
    pub open: bool,
}

fn comparison(text: Option<&str>) -> Result<Comparison, AppError> {
    match text.unwrap_or("placebo") {
        "placebo" => Ok(Comparison::Placebo),
        "nothing" => Ok(Comparison::Nothing),
        "forms" => Ok(Comparison::Forms),
        other => Err(AppError::field(
            "compare",
            format!("'{other}' is not known: allowed placebo, nothing, forms"),
        )),
    }
}

pub(crate) fn outcome(text: Option<&str>) -> Result<Outcome, AppError> {
    match text.unwrap_or("nightly-severity") {
        "nightly-severity" => Ok(Outcome::NightlySeverity),
        "weekly-irls" => Ok(Outcome::WeeklyIrls),
        other => Err(AppError::field(
            "outcome",
            format!("'{other}' is not known: allowed nightly-severity, weekly-irls"),
        )),
    }
}

/// The validated design of `choice`, starting on `start`, randomized by `seed`.
pub fn design_from(
    choice: &DesignChoice,
    rule: &TrialRule,
    seed: u64,
    start: Date,
) -> Result<TrialDesign, AppError> {
    let cmp = comparison(choice.compare.as_deref())?;
    let arms = if choice.arms.is_empty() {
        match cmp {
            Comparison::Placebo => vec!["magnesium".to_string(), "placebo".to_string()],
            Comparison::Nothing => vec!["magnesium".to_string(), "nothing".to_string()],
            Comparison::Forms => vec!["form-a".to_string(), "form-b".to_string()],
        }
    } else {
        choice.arms.iter().map(|a| a.trim().to_string()).collect()
    };
    let mut d = TrialDesign::with_defaults(
        rule,
        cmp,
        arms,
        outcome(choice.outcome.as_deref())?,
        seed,
        start,
    );
    if let Some(c) = &choice.control {
        d.control = c.clone();
    }
    d.period_days = choice.period_days.unwrap_or(d.period_days);
    d.cycles = choice.cycles.unwrap_or(d.cycles);
    d.run_in_days = choice.run_in_days.unwrap_or(d.run_in_days);
    d.washout_days = choice.washout_days.unwrap_or(d.washout_days);
    d.mcid = choice.mcid.unwrap_or(d.mcid);
    if choice.open {
        d.blinded = false;
    }
    d.validate().map_err(|e| AppError {
        kind: ErrorKind::BadInput,
        field: design_field(&e.field),
        message: e.message.clone(),
        source: None,
    })?;
    Ok(d)
}

/// The domain name of a design field (static, for error reports).
fn design_field(field: &str) -> Option<&'static str> {
    [
        "arms",
        "control",
        "period_days",
        "cycles",
        "run_in_days",
        "washout_days",
        "mcid",
        "outcome",
        "compare",
    ]
    .into_iter()
    .find(|f| *f == field)
}

/// The analysis settings fixed by a plan.
fn spec_for(plan: &AnalysisPlan, rule: &TrialRule, complete: bool, seed: u64) -> AnalysisSpec {
    AnalysisSpec {
        treatment: plan.treatment.clone(),
        control: plan.control.clone(),
        mcid: plan.mcid,
        higher_is_better: plan.higher_is_better,
        thresholds: plan.verdict_thresholds,
        complete,
        blinded: plan.blinded,
        placebo_controlled: plan.comparison != Comparison::Nothing,
        randomization_exact_max: rule.randomization_exact_max,
        randomization_monte_carlo: rule.randomization_monte_carlo,
        randomization_seed: seed,
        outcome: Some(plan.outcome),
    }
}

/// A stored trial with its verified plan. The allocation is reached only through the methods
/// below, which enforce the blinding gate.
pub struct LoadedTrial {
    pub stored: StoredTrial,
    pub plan: AnalysisPlan,
}

impl LoadedTrial {
    /// A stored trial with its plan read and re-hashed against the pre-registration.
    pub fn verify(stored: StoredTrial) -> Result<Self, AppError> {
        let plan: AnalysisPlan = serde_json::from_str(&stored.plan_json)
            .map_err(|e| AppError::internal(format!("reading the stored plan: {e}")))?;
        if plan.hash() != stored.plan_hash {
            return Err(AppError::internal(format!(
                "trial '{}': the stored plan does not match its pre-registration hash; it was changed outside quietlegs",
                stored.name
            )));
        }
        Ok(LoadedTrial { stored, plan })
    }

    /// Whether the trial was unblinded before its last night (with a reason).
    pub fn unblinded_early(&self) -> bool {
        self.stored
            .events
            .iter()
            .any(|e| e.kind == "early-unblinding")
    }

    /// Whether the trial's last planned night is behind `today` (the trial is over; a blinded
    /// one may now be unblinded).
    pub fn over_on(&self, today: Date) -> bool {
        today > self.plan.date_of(self.plan.last_day())
    }

    /// Whether the trial has been unblinded (at the end, or early).
    pub fn unblinded(&self) -> bool {
        self.stored
            .events
            .iter()
            .any(|e| e.kind == "unblinded" || e.kind == "early-unblinding")
    }

    /// Whether the arms may be shown: an open trial, or an unblinded one.
    pub fn arms_visible(&self) -> bool {
        !self.plan.blinded || self.unblinded()
    }

    fn unseal<S: TrialStore>(&self, store: &S, person: PersonId) -> Result<TrialDesign, AppError> {
        let seed = store
            .unseal_trial(person, self.stored.id)
            .map_err(|e| AppError::from(e).context("reading the allocation"))?;
        if !self.plan.commits_to(seed) {
            return Err(AppError::internal(format!(
                "trial '{}': the sealed allocation does not match the plan's commitment",
                self.stored.name
            )));
        }
        Ok(self.plan.design(seed))
    }

    /// The allocation, for showing: refused while the trial is blinded.
    fn allocation<S: TrialStore>(
        &self,
        store: &S,
        person: PersonId,
    ) -> Result<TrialDesign, AppError> {
        if !self.arms_visible() {
            return Err(AppError::refused(format!(
                "trial '{}' is blinded: its arms are shown only after unblinding (`trial unblind`)",
                self.stored.name
            )));
        }
        self.unseal(store, person)
    }

    /// The allocation for work whose output does not reveal it (simulated nights). Callers
    /// must not return anything derived from the arms.
    fn allocation_hidden<S: TrialStore>(
        &self,
        store: &S,
        person: PersonId,
    ) -> Result<TrialDesign, AppError> {
        self.unseal(store, person)
    }
}

fn no_trial_yet() -> AppError {
    AppError::not_found(
        None,
        "there is no trial yet: start one with `quietlegs trial new`",
    )
}

/// The trial named or numbered `which` (default: the latest), with its plan re-hashed.
pub fn load<S: TrialStore>(
    store: &S,
    person: PersonId,
    which: Option<&str>,
) -> Result<LoadedTrial, AppError> {
    let trials = store
        .trials(person)
        .map_err(|e| AppError::from(e).context("reading trials"))?;
    let stored = match which {
        None => trials.last().cloned().ok_or_else(no_trial_yet)?,
        Some(w) => trials
            .iter()
            .find(|t| t.name == w || t.id.to_string() == w)
            .cloned()
            .ok_or_else(|| {
                AppError::not_found(Some("trial"), format!("no trial named or numbered '{w}'"))
            })?,
    };
    LoadedTrial::verify(stored)
}

// ---------------------------------------------------------------------------------------------
// Registering a trial

/// A trial ready to register: its design, plan and (when blinded) the helper's sheet.
#[derive(Debug, Clone)]
pub struct PreparedTrial {
    pub name: String,
    pub design: TrialDesign,
    pub plan: AnalysisPlan,
    pub plan_hash: String,
    /// For a blinded trial: the text that tells the helper which container gets what. Deliver
    /// it to the helper (a private file, a download) before registering.
    pub helper_sheet: Option<String>,
}

/// Checks a new trial and prepares its plan: the first night is `start` (default: tomorrow)
/// and may not be in the past.
pub fn prepare(
    ctx: &Context<'_>,
    name: Option<&str>,
    choice: &DesignChoice,
    seed: u64,
    start: Option<Date>,
) -> Result<PreparedTrial, AppError> {
    let now = ctx.now;
    let start = start.unwrap_or_else(|| now.date.tomorrow().unwrap_or(now.date));
    if start < now.date {
        return Err(AppError::field(
            "start",
            format!("{start} is in the past; a trial is planned before it starts"),
        ));
    }
    let rule = &ctx.reference.rules.trial;
    let design = design_from(choice, rule, seed, start)?;
    let plan = AnalysisPlan::new(&design, rule);
    let plan_hash = plan.hash();
    let name = match name {
        Some(n) => n.to_string(),
        None => format!("trial-{start}"),
    };
    if name.trim().is_empty() {
        return Err(AppError::field("name", "must not be empty"));
    }
    quietlegs_core::text::check_text(&name, TRIAL_NAME_CHARS_MAX, false)
        .map_err(|e| AppError::field("name", e.to_string()))?;
    let helper_sheet = design
        .blinded
        .then(|| helper_sheet(&name, &plan_hash, &design));
    Ok(PreparedTrial {
        name,
        design,
        plan,
        plan_hash,
        helper_sheet,
    })
}

fn period_dates(d: &TrialDesign, first: i64, last: i64) -> String {
    format!("{} to {}", d.date_of(first), d.date_of(last))
}

fn helper_sheet(name: &str, hash: &str, design: &TrialDesign) -> String {
    let mut sheet = format!(
        "quietlegs helper sheet - trial '{name}' (plan {hash})\nKEEP THIS AWAY FROM THE PARTICIPANT UNTIL THE TRIAL IS UNBLINDED.\n\nFill identical containers, labelled by number, with:\n"
    );
    for p in design.schedule() {
        sheet.push_str(&format!(
            "  Container {:>2} ({}): {}\n",
            p.index + 1,
            period_dates(design, p.first_day, p.last_day),
            design.arms[p.arm]
        ));
    }
    sheet
}

/// The helper's sheet of a stored blinded trial (which container gets what), for the helper a
/// clinician named (`clinic::open_helper_sheet`, which checks who asks and records it): the
/// trial's name, its first night and the sheet. Unseals the allocation: never call it for the
/// participant or their clinician.
pub(crate) fn stored_helper_sheet<S: TrialStore>(
    store: &S,
    person: PersonId,
    trial_id: i64,
) -> Result<(String, Date, String), AppError> {
    let stored = store
        .trial(person, trial_id)
        .map_err(|e| AppError::from(e).context("reading the trial"))?;
    let t = LoadedTrial::verify(stored)?;
    let design = t.unseal(store, person)?;
    Ok((
        t.stored.name.clone(),
        t.plan.start,
        helper_sheet(&t.stored.name, &t.stored.plan_hash, &design),
    ))
}

/// A registered trial (`trial new --json`).
#[derive(Debug, Clone, Serialize)]
pub struct RegisteredTrial {
    pub id: i64,
    pub name: String,
    pub plan_hash: String,
    pub plan: AnalysisPlan,
    /// Periods (arms x cycles) and the last night.
    #[serde(skip)]
    pub periods: usize,
    #[serde(skip)]
    pub last_night: Date,
}

/// Stores a prepared trial (its plan, hash and sealed seed); a name in use is a conflict.
pub fn register<S: TrialStore>(
    store: &S,
    person: PersonId,
    ctx: &Context<'_>,
    prepared: PreparedTrial,
) -> Result<RegisteredTrial, AppError> {
    let PreparedTrial {
        name,
        design,
        plan,
        plan_hash,
        ..
    } = prepared;
    let id = store
        .create_trial(
            person,
            &name,
            &plan.canonical_json(),
            &plan_hash,
            design.seed,
            &ctx.now.stamp(),
        )
        .map_err(|e| match e {
            StoreError::Duplicate { .. } => AppError::new(
                ErrorKind::Conflict,
                Some("name"),
                format!("a trial named '{name}' exists"),
            ),
            other => other.into(),
        })?;
    Ok(RegisteredTrial {
        id,
        name,
        plan_hash,
        periods: plan.periods(),
        last_night: design.date_of(design.last_day()),
        plan,
    })
}

// ---------------------------------------------------------------------------------------------
// Running a trial

/// Doses logged against planned dosing nights in one period so far.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Adherence {
    pub period: usize,
    pub days_planned: usize,
    pub days_with_dose: usize,
}

/// Where the trial stands tonight (`trial status --json`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TrialStatus {
    pub trial: String,
    pub plan_hash: String,
    /// Tonight's period (1-based), also during the washout after it.
    pub period: Option<usize>,
    /// Tonight's container number while the arms are hidden.
    pub container: Option<usize>,
    /// Tonight's arm, once the arms may be shown.
    pub arm: Option<String>,
    pub day_in_period: i64,
    pub tonight: String,
    pub adherence: Vec<Adherence>,
    pub blinded: bool,
    pub unblinded: bool,
    /// Periods whose last night has come and whose arm has not been guessed yet (a blinded
    /// trial before unblinding): the guesses are due.
    pub guesses_due: Vec<usize>,
    #[serde(skip)]
    pub phase: TrialPhase,
}

impl TrialStatus {
    /// The trial has not ended (registered and not started yet, or under way) and has not been
    /// unblinded early: until then the trial's schedule, not the plan, says what to take.
    pub fn in_progress(&self) -> bool {
        self.phase != TrialPhase::Over && !self.unblinded
    }
}

/// Cancels a trial before its first night: nothing has been logged under it, nobody has seen
/// its allocation in quietlegs, so it is removed whole (the helper's sheet that went with it is
/// void; plan a new trial for a new sheet). A trial that has started is refused: it can only
/// be unblinded early, with a reason, so that the report tells.
pub fn cancel_before_start<S: Store + TrialStore>(
    store: &S,
    person: PersonId,
    ctx: &Context<'_>,
    which: Option<&str>,
) -> Result<String, AppError> {
    let t = load(store, person, which)?;
    let s = status(store, person, ctx, which)?;
    if !matches!(s.phase, TrialPhase::NotStarted { .. })
        || !t.stored.events.is_empty()
        || !t.stored.guesses.is_empty()
    {
        return Err(AppError::new(
            ErrorKind::Conflict,
            None,
            format!(
                "trial '{}' has started: it cannot be cancelled, only unblinded early with a \
                 reason (kept in its report)",
                t.stored.name
            ),
        ));
    }
    store.delete_trial(person, t.stored.id)?;
    Ok(t.stored.name)
}

/// The person's latest trial while it is in progress (see [`TrialStatus::in_progress`]).
pub fn in_progress<S: Store + TrialStore>(
    store: &S,
    person: PersonId,
    ctx: &Context<'_>,
) -> Result<Option<TrialStatus>, AppError> {
    match status(store, person, ctx, None) {
        Ok(s) if s.in_progress() => Ok(Some(s)),
        Ok(_) => Ok(None),
        Err(e) if e.kind == ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// Tonight in the trial, and adherence so far.
pub fn status<S: Store + TrialStore>(
    store: &S,
    person: PersonId,
    ctx: &Context<'_>,
    which: Option<&str>,
) -> Result<TrialStatus, AppError> {
    let t = load(store, person, which)?;
    let p = &t.plan;
    let phase = p.phase_on(ctx.now.date);
    let (period, day_in) = match phase {
        TrialPhase::InPeriod {
            period,
            day_in_period,
            ..
        } => (Some(period), day_in_period),
        TrialPhase::Washout { after_period } => (
            Some(after_period),
            p.day_of(ctx.now.date) - p.period_calendar(after_period - 1).first_day + 1,
        ),
        _ => (None, 0),
    };
    let arm = match (period, t.arms_visible()) {
        (Some(i), true) => {
            let design = t.allocation(store, person)?;
            Some(design.arms[design.schedule()[i - 1].arm].clone())
        }
        _ => None,
    };
    let adherence = adherence(store, person, &t, ctx.now.date)?;
    let n_periods = p.periods();
    let guesses_due = if p.blinded && !t.unblinded() {
        (0..n_periods)
            .map(|i| p.period_calendar(i))
            .filter(|c| p.date_of(c.last_day) <= ctx.now.date)
            .map(|c| c.period)
            .filter(|n| !t.stored.guesses.iter().any(|g| g.period == *n))
            .collect()
    } else {
        Vec::new()
    };
    let run_in_note = |run_in: bool| if run_in { ", run-in: not analysed" } else { "" };
    let tonight = match phase {
        TrialPhase::NotStarted { days_to_start } => {
            format!(
                "The trial starts on {} (in {days_to_start} {}).",
                p.start,
                if days_to_start == 1 { "day" } else { "days" }
            )
        }
        TrialPhase::Over if t.arms_visible() => {
            "The trial's periods are over: its result is ready in the trial report.".to_string()
        }
        TrialPhase::Over => "The trial's periods are over: unblind it to see which container held what, then read the trial report.".to_string(),
        TrialPhase::Washout { .. } => "Tonight: washout (take nothing from the trial).".to_string(),
        TrialPhase::InPeriod { period, day_in_period, run_in } => match &arm {
            Some(arm) => format!(
                "Tonight: {arm} (period {period} of {n_periods}, day {day_in_period} of {}{}).",
                p.period_days,
                run_in_note(run_in)
            ),
            None => format!(
                "Tonight: container {period} (period {period} of {n_periods}, day {day_in_period} of {}{}).",
                p.period_days,
                run_in_note(run_in)
            ),
        },
    };
    Ok(TrialStatus {
        trial: t.stored.name.clone(),
        plan_hash: t.stored.plan_hash.clone(),
        period,
        container: if arm.is_none() { period } else { None },
        arm,
        day_in_period: day_in,
        tonight,
        adherence,
        blinded: p.blinded,
        unblinded: t.unblinded(),
        guesses_due,
        phase,
    })
}

/// Doses logged against planned dosing nights, per period so far. With a placebo or a second
/// form every night of a period is a dosing night (a container); against nothing only the
/// treatment periods are, which needs the allocation: such trials are never blinded.
fn adherence<S: Store + TrialStore>(
    store: &S,
    person: PersonId,
    t: &LoadedTrial,
    today: Date,
) -> Result<Vec<Adherence>, AppError> {
    let p = &t.plan;
    let records = store
        .records(person, Some(p.start), Some(today))
        .map_err(|e| AppError::from(e).context("reading the diary"))?;
    let dose_days: BTreeSet<Date> = records
        .iter()
        .filter_map(|r| match &r.record {
            Record::Dose(d) => Some(d.date),
            _ => None,
        })
        .collect();
    let design = if p.comparison == Comparison::Nothing {
        Some(t.allocation(store, person)?)
    } else {
        None
    };
    let today_day = p.day_of(today);
    let mut out = Vec::new();
    for i in 0..p.periods() {
        let c = p.period_calendar(i);
        if c.first_day > today_day {
            break;
        }
        let doses_expected = match &design {
            Some(d) => d.arms[d.schedule()[i].arm] == p.treatment,
            None => true,
        };
        if !doses_expected {
            continue;
        }
        let last = c.last_day.min(today_day);
        out.push(Adherence {
            period: c.period,
            days_planned: (c.first_day..=last).count(),
            days_with_dose: (c.first_day..=last)
                .filter(|day| dose_days.contains(&p.date_of(*day)))
                .count(),
        });
    }
    Ok(out)
}

/// One period of the calendar.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CalendarPeriod {
    pub period: usize,
    pub first_night: Date,
    pub analysed_from: Date,
    pub last_night: Date,
    /// The arm once the arms may be shown, else "container N".
    pub label: String,
}

/// The trial's calendar (`trial calendar`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TrialCalendar {
    pub trial: String,
    pub plan_hash: String,
    pub periods: Vec<CalendarPeriod>,
}

pub fn calendar<S: TrialStore>(
    store: &S,
    person: PersonId,
    which: Option<&str>,
) -> Result<TrialCalendar, AppError> {
    let t = load(store, person, which)?;
    let p = &t.plan;
    let visible = if t.arms_visible() {
        Some(t.allocation(store, person)?)
    } else {
        None
    };
    let periods = (0..p.periods())
        .map(|i| {
            let c = p.period_calendar(i);
            CalendarPeriod {
                period: c.period,
                first_night: p.date_of(c.first_day),
                analysed_from: p.date_of(c.analysed_from_day),
                last_night: p.date_of(c.last_day),
                label: match &visible {
                    Some(d) => d.arms[d.schedule()[i].arm].clone(),
                    None => format!("container {}", c.period),
                },
            }
        })
        .collect();
    Ok(TrialCalendar {
        trial: t.stored.name.clone(),
        plan_hash: t.stored.plan_hash.clone(),
        periods,
    })
}

/// Records the participant's guess of a period's arm, on the period's last night or after,
/// and only before unblinding.
pub fn guess<S: TrialStore>(
    store: &S,
    person: PersonId,
    ctx: &Context<'_>,
    which: Option<&str>,
    period: usize,
    arm: &str,
) -> Result<(), AppError> {
    let t = load(store, person, which)?;
    let n = t.plan.periods();
    if period == 0 || period > n {
        return Err(AppError::field(
            "period",
            format!("{period} is out of range: allowed 1 to {n}"),
        ));
    }
    if !t.plan.arms.iter().any(|a| a == arm) {
        return Err(AppError::field(
            "arm",
            format!("'{arm}' is not an arm: allowed {}", t.plan.arms.join(", ")),
        ));
    }
    if t.unblinded() {
        return Err(AppError::refused(
            "the trial is already unblinded: a guess now would not measure blinding",
        ));
    }
    let last_night = t.plan.date_of(t.plan.period_calendar(period - 1).last_day);
    if ctx.now.date < last_night {
        return Err(AppError::refused(format!(
            "period {period} ends on {last_night}: record your guess on its last day or after"
        )));
    }
    store
        .record_guess(
            person,
            t.stored.id,
            &TrialGuess {
                period,
                guess: arm.to_string(),
                at: ctx.now.instant.clone(),
            },
        )
        .map_err(|e| AppError::from(e).context("storing the guess"))
}

/// One period with its arm, as shown at unblinding.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RevealedPeriod {
    pub period: usize,
    pub first_night: Date,
    pub last_night: Date,
    pub arm: String,
}

/// An unblinding (`trial unblind`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Unblinding {
    pub trial: String,
    pub early: bool,
    pub periods: Vec<RevealedPeriod>,
}

/// Unblinds a blinded trial after its last night, or early with a reason (logged, reported).
/// The event is stored before the arms are returned.
pub fn unblind<S: TrialStore>(
    store: &S,
    person: PersonId,
    ctx: &Context<'_>,
    which: Option<&str>,
    early: bool,
    reason: Option<&str>,
) -> Result<Unblinding, AppError> {
    let t = load(store, person, which)?;
    if !t.plan.blinded {
        return Err(AppError::refused(format!(
            "trial '{}' is open label: nothing to unblind",
            t.stored.name
        )));
    }
    if t.unblinded() {
        return Err(AppError::refused(format!(
            "trial '{}' is already unblinded",
            t.stored.name
        )));
    }
    let last = t.plan.date_of(t.plan.last_day());
    let over = ctx.now.date > last;
    let kind = match (over, early) {
        (true, _) => "unblinded",
        (false, true) => "early-unblinding",
        (false, false) => {
            return Err(AppError::refused(format!(
                "the last period ends on {last}: unblind after it, or unblind early giving a reason (logged and reported)"
            )))
        }
    };
    let detail = match (kind, reason) {
        ("early-unblinding", None) => {
            return Err(AppError::field(
                "reason",
                "is required for an early unblinding",
            ))
        }
        (_, Some(r)) => {
            // Kept in the report a clinician reads: bounded and free of control characters.
            quietlegs_core::text::check_text(r, UNBLINDING_REASON_CHARS_MAX, false)
                .map_err(|e| AppError::field("reason", e.to_string()))?;
            r.to_string()
        }
        (_, None) => "after the last period".to_string(),
    };
    store
        .add_trial_event(
            person,
            t.stored.id,
            &TrialEvent {
                at: ctx.now.instant.clone(),
                kind: kind.into(),
                detail,
            },
        )
        .map_err(|e| AppError::from(e).context("logging the unblinding"))?;
    // Re-read: the gate now opens because the event is stored.
    let t = load(store, person, Some(&t.stored.id.to_string()))?;
    let design = t.allocation(store, person)?;
    Ok(Unblinding {
        trial: t.stored.name.clone(),
        early: kind == "early-unblinding",
        periods: design
            .schedule()
            .into_iter()
            .map(|p| RevealedPeriod {
                period: p.index + 1,
                first_night: design.date_of(p.first_day),
                last_night: design.date_of(p.last_day),
                arm: design.arms[p.arm].clone(),
            })
            .collect(),
    })
}

// ---------------------------------------------------------------------------------------------
// Analysis

/// The outcome by day from the diary.
fn outcomes<S: Store>(
    store: &S,
    person: PersonId,
    design: &TrialDesign,
) -> Result<BTreeMap<i64, f64>, AppError> {
    let end = design.date_of(design.last_day());
    let records = store
        .records(person, Some(design.start), Some(end))
        .map_err(|e| AppError::from(e).context("reading the diary"))?;
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

/// A trial's nights laid out as its pre-registered analysis reads them.
pub(crate) struct TrialNights {
    /// The design with its allocation (shown: the trial's arms are visible).
    pub design: TrialDesign,
    /// Every planned night through `through`, with its arm, run-in flag and outcome (none for a
    /// night not logged); [`TrialData::analysed`] gives the nights the analysis uses.
    pub data: TrialData,
    /// The last trial day laid out: today, or the trial's last night once it is over.
    pub through: i64,
}

/// The nights of a trial through today, as its report analyses them: refused while the trial
/// is blinded (the arms are read only once they may be shown). [`report`] and the pooled
/// analysis of many people's trials (`series::pool_trials`) both read their nights here. Not
/// public: it trusts the events of `t`, which only this crate loads from the store.
pub(crate) fn trial_nights<S: Store + TrialStore>(
    store: &S,
    person: PersonId,
    ctx: &Context<'_>,
    t: &LoadedTrial,
) -> Result<TrialNights, AppError> {
    let design = t.allocation(store, person)?;
    let through = design.day_of(ctx.now.date).min(design.last_day());
    let data = from_design(&design, &outcomes(store, person, &design)?, through);
    Ok(TrialNights {
        design,
        data,
        through,
    })
}

/// Side effects logged during one arm's periods.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ArmSideEffects {
    pub arm: String,
    pub days_logged: usize,
    /// Mean of diarrhea + nausea + cramps (0-9) per logged day.
    pub mean_score: Option<f64>,
}

/// A guess beside the arm it was about.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GuessOutcome {
    pub period: usize,
    pub guess: String,
    pub actual: String,
}

/// A stored trial analysed: everything the report shows (`trial report --json`).
#[derive(Debug, Clone, Serialize)]
pub struct TrialReport {
    pub trial: String,
    pub plan_hash: String,
    pub plan: AnalysisPlan,
    pub periods_planned: usize,
    pub periods_completed: usize,
    pub events: Vec<TrialEvent>,
    pub guesses: Vec<GuessOutcome>,
    /// The guesses tested against chance (absent without guesses or for an open trial).
    pub blinding: Option<BlindingAssessment>,
    pub side_effects_by_arm: Vec<ArmSideEffects>,
    pub analysis: TrialAnalysis,
    /// The design and the analysed nights (for charts).
    #[serde(skip)]
    pub design: TrialDesign,
    #[serde(skip)]
    pub data: TrialData,
}

/// Analyses a stored trial through today: refused while it is blinded.
pub fn report<S: Store + TrialStore>(
    store: &S,
    person: PersonId,
    ctx: &Context<'_>,
    which: Option<&str>,
) -> Result<TrialReport, AppError> {
    let t = load(store, person, which)?;
    if !t.arms_visible() {
        return Err(AppError::refused(format!(
            "trial '{}' is blinded: unblind it after the last period (`quietlegs trial unblind`) before analysing",
            t.stored.name
        )));
    }
    let rule = &ctx.reference.rules.trial;
    let TrialNights {
        design,
        data,
        through,
    } = trial_nights(store, person, ctx, &t)?;
    let schedule = design.schedule();
    let periods_completed = schedule.iter().filter(|p| p.last_day <= through).count();
    let complete = through >= design.last_day();
    let spec = spec_for(&t.plan, rule, complete, design.seed);
    let analysis = analyze(&data, &spec).map_err(|e| match e {
        AnalysisError::Model(_) => AppError::refused(format!("cannot analyse yet: {e}")),
        _ => AppError::refused(format!("trial '{}': {e}", t.stored.name)),
    })?;
    let records = store
        .records(
            person,
            Some(design.start),
            Some(design.date_of(design.last_day())),
        )
        .map_err(|e| AppError::from(e).context("reading the diary"))?;
    let mut per_arm: Vec<(usize, f64)> = vec![(0, 0.0); design.arms.len()];
    for r in records {
        if let Record::SideEffects(s) = r.record {
            let day = design.day_of(s.date);
            if let Some(p) = schedule
                .iter()
                .find(|p| p.first_day <= day && day <= p.last_day)
            {
                per_arm[p.arm].0 += 1;
                per_arm[p.arm].1 += f64::from(s.diarrhea + s.nausea + s.cramps);
            }
        }
    }
    let guesses: Vec<GuessOutcome> = t
        .stored
        .guesses
        .iter()
        .filter_map(|g| {
            schedule
                .get(g.period.wrapping_sub(1))
                .map(|p| GuessOutcome {
                    period: g.period,
                    guess: g.guess.clone(),
                    actual: design.arms[p.arm].clone(),
                })
        })
        .collect();
    let blinding = if t.plan.blinded {
        assess_guesses(
            guesses.iter().filter(|g| g.guess == g.actual).count(),
            guesses.len(),
            design.arms.len(),
            rule.blinding_guess_alpha,
        )
    } else {
        None
    };
    Ok(TrialReport {
        trial: t.stored.name.clone(),
        plan_hash: t.stored.plan_hash.clone(),
        periods_planned: schedule.len(),
        periods_completed,
        events: t.stored.events.clone(),
        guesses,
        blinding,
        side_effects_by_arm: design
            .arms
            .iter()
            .zip(per_arm)
            .map(|(arm, (n, total))| ArmSideEffects {
                arm: arm.clone(),
                days_logged: n,
                mean_score: (n > 0).then(|| total / n as f64),
            })
            .collect(),
        analysis,
        plan: t.plan,
        design,
        data,
    })
}

/// Options of an analysis of a CSV file (`trial analyze --csv`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CsvAnalysisOptions {
    /// The comparator's label in the CSV (required).
    pub control: Option<String>,
    /// The treatment's label (default: the other condition).
    pub treatment: Option<String>,
    /// Nights at the start of every period to discard.
    pub run_in_days: u32,
    pub higher_is_better: bool,
    /// Minimal important difference (default: the nightly-severity default).
    pub mcid: Option<f64>,
    /// The data come from a blinded, placebo-controlled trial.
    pub blinded: bool,
    /// Placebo-controlled but not blinded.
    pub placebo: bool,
    /// Seed of a Monte Carlo randomization test (large designs only).
    pub seed: u64,
}

/// Analyses a trial given as CSV text (`participant,day,condition,outcome` style, see
/// `trial::data::from_csv`).
pub fn analyze_csv(
    ctx: &Context<'_>,
    text: &str,
    o: &CsvAnalysisOptions,
) -> Result<TrialAnalysis, AppError> {
    let rule = &ctx.reference.rules.trial;
    let control = o
        .control
        .as_deref()
        .ok_or_else(|| AppError::field("control", "a LABEL is required with a CSV file"))?;
    let d = from_csv(text, control, o.run_in_days).map_err(|e| AppError::refused(e.to_string()))?;
    let treatment = match &o.treatment {
        Some(t) => t.clone(),
        None => d
            .arms
            .iter()
            .find(|a| *a != control)
            .cloned()
            .unwrap_or_default(),
    };
    if treatment == control {
        return Err(AppError::field(
            "treatment",
            format!("'{treatment}' and the control '{control}' are the same condition: compare two different conditions"),
        ));
    }
    if !d.arms.contains(&treatment) {
        return Err(AppError::field(
            "treatment",
            format!(
                "'{treatment}' is not a condition in the file: found {}",
                d.arms.join(", ")
            ),
        ));
    }
    let mcid = o.mcid.unwrap_or(rule.mcid_nightly_severity);
    if !(mcid.is_finite() && mcid > 0.0) {
        return Err(AppError::field("mcid", "must be more than 0"));
    }
    let spec = AnalysisSpec {
        treatment,
        control: control.to_string(),
        mcid,
        higher_is_better: o.higher_is_better,
        thresholds: VerdictThresholds::from_rule(rule),
        complete: true,
        blinded: o.blinded,
        placebo_controlled: o.blinded || o.placebo,
        randomization_exact_max: rule.randomization_exact_max,
        randomization_monte_carlo: rule.randomization_monte_carlo,
        randomization_seed: o.seed,
        outcome: None,
    };
    analyze(&d, &spec).map_err(|e| AppError::refused(e.to_string()))
}

// ---------------------------------------------------------------------------------------------
// Planning

/// What `trial power` assumes about the person's nights.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PowerAssumptions {
    /// Treatment minus control, in the outcome's units.
    pub effect: f64,
    /// Night-to-night standard deviation.
    pub sd: f64,
    /// Lag-1 autocorrelation.
    pub rho: f64,
    /// Drift per day.
    pub drift: f64,
    /// Share of nights not logged.
    pub missing: f64,
}

impl PowerAssumptions {
    /// The planning assumptions used unless the person gives others (docs/trial.md, "Planning"):
    /// a change of 1.5 points with magnesium against a night-to-night SD of 1.5, neighbouring
    /// nights correlated 0.4, no drift, a tenth of nights not logged.
    pub const PLANNING_EFFECT: f64 = -1.5;
    pub const PLANNING_SD: f64 = 1.5;
    pub const PLANNING_RHO: f64 = 0.4;
    pub const PLANNING_DRIFT: f64 = 0.0;
    pub const PLANNING_MISSING: f64 = 0.1;
    /// Simulated trials per design unless asked (`trial power --sims`).
    pub const PLANNING_SIMULATIONS: usize = 300;

    /// [`Self::PLANNING_EFFECT`] and the rest.
    pub fn planning() -> Self {
        Self {
            effect: Self::PLANNING_EFFECT,
            sd: Self::PLANNING_SD,
            rho: Self::PLANNING_RHO,
            drift: Self::PLANNING_DRIFT,
            missing: Self::PLANNING_MISSING,
        }
    }

    fn check(&self) -> Result<(), AppError> {
        let checks = [
            ("sd", self.sd.is_finite() && self.sd > 0.0, "more than 0"),
            (
                "rho",
                self.rho.is_finite() && (-0.95..=0.95).contains(&self.rho),
                "-0.95 to 0.95",
            ),
            ("missing", (0.0..=0.9).contains(&self.missing), "0 to 0.9"),
            ("effect", self.effect.is_finite(), "a number"),
            ("drift", self.drift.is_finite(), "a number"),
        ];
        for (field, ok, allowed) in checks {
            if !ok {
                return Err(AppError::field(field, format!("allowed {allowed}")));
            }
        }
        Ok(())
    }

    /// The core's simulation assumptions, starting from the rule's baseline.
    fn simulation(&self, rule: &TrialRule) -> Assumptions {
        Assumptions {
            effect: self.effect,
            sd: self.sd,
            rho: self.rho,
            drift_per_day: self.drift,
            baseline: rule.simulation_baseline_severity,
            missing: self.missing,
        }
    }
}

/// Allowed numbers of simulated trials per design.
pub const POWER_SIMULATIONS: std::ops::RangeInclusive<usize> = 10..=10_000;

/// The planning report (`trial power --json`).
#[derive(Debug, Clone, Serialize)]
pub struct PowerReport {
    pub assumptions: Assumptions,
    pub design: TrialDesign,
    pub results: Vec<PowerResult>,
    /// The fewest cycles reaching a confident verdict in at least `planning_power` of runs.
    pub recommended_cycles: Option<u32>,
    pub planning_power: f64,
}

impl PowerReport {
    /// Total days of a design with `cycles` cycles (the last washout is not needed).
    pub fn trial_days(&self, cycles: u32) -> u32 {
        let d = &self.design;
        (d.period_days + d.washout_days) * d.arms.len() as u32 * cycles - d.washout_days
    }
}

/// The number of simulated trials `trial power` will run for `choice` (for a progress bar).
pub fn power_simulations(choice: &DesignChoice, rule: &TrialRule, sims: usize) -> usize {
    cycle_candidates(choice, rule).len() * sims
}

fn cycle_candidates(choice: &DesignChoice, rule: &TrialRule) -> Vec<u32> {
    match choice.cycles {
        Some(c) => vec![c],
        None => rule.power_cycle_candidates.clone(),
    }
}

/// Simulates the design (with the chosen cycles, or each candidate of `rules.toml`) under the
/// assumptions; `progress` receives the number of simulated trials done.
pub fn power_report(
    ctx: &Context<'_>,
    choice: &DesignChoice,
    a: &PowerAssumptions,
    sims: usize,
    seed: u64,
    progress: &mut dyn FnMut(usize),
) -> Result<PowerReport, AppError> {
    a.check()?;
    if !POWER_SIMULATIONS.contains(&sims) {
        return Err(AppError::field(
            "sims",
            format!(
                "allowed {} to {}",
                POWER_SIMULATIONS.start(),
                POWER_SIMULATIONS.end()
            ),
        ));
    }
    let rule = &ctx.reference.rules.trial;
    let base = design_from(choice, rule, seed, ctx.now.date)?;
    let plan = AnalysisPlan::new(&base, rule);
    let spec = spec_for(&plan, rule, true, seed);
    let assumptions = a.simulation(rule);
    let mut results = Vec::new();
    let mut done = 0usize;
    for c in cycle_candidates(choice, rule) {
        let mut d = base.clone();
        d.cycles = c;
        let before = done;
        let r = power(
            &d,
            &spec,
            &assumptions,
            sims,
            seed.wrapping_add(u64::from(c)),
            &mut |i| progress(before + i),
        );
        done += sims;
        results.push(r);
    }
    let recommended_cycles = results
        .iter()
        .find(|r| r.p_confident >= rule.planning_power)
        .map(|r| r.cycles);
    Ok(PowerReport {
        assumptions,
        design: base,
        results,
        recommended_cycles,
        planning_power: rule.planning_power,
    })
}

// ---------------------------------------------------------------------------------------------
// Listing and demonstrations

/// One trial in the list (`trial list`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TrialSummary {
    pub id: i64,
    pub name: String,
    pub start: Date,
    pub arms: usize,
    pub cycles: u32,
    pub blinded: bool,
    pub plan_hash: String,
}

pub fn list<S: TrialStore>(store: &S, person: PersonId) -> Result<Vec<TrialSummary>, AppError> {
    store
        .trials(person)
        .map_err(|e| AppError::from(e).context("reading trials"))?
        .into_iter()
        .map(|t| {
            let plan: AnalysisPlan = serde_json::from_str(&t.plan_json)
                .map_err(|e| AppError::internal(format!("reading a plan: {e}")))?;
            Ok(TrialSummary {
                id: t.id,
                name: t.name,
                start: plan.start,
                arms: plan.arms.len(),
                cycles: plan.cycles,
                blinded: plan.blinded,
                plan_hash: t.plan_hash,
            })
        })
        .collect()
}

/// Fills the diary with simulated nights for a trial, up to today (demonstrations); existing
/// nights are kept. The allocation shapes the numbers but is not returned. Returns the number
/// of nights written.
pub fn simulate<S: Store + TrialStore>(
    store: &S,
    person: PersonId,
    ctx: &Context<'_>,
    which: Option<&str>,
    a: &PowerAssumptions,
    seed: u64,
) -> Result<(String, usize), AppError> {
    use rand::SeedableRng;
    a.check()?;
    let t = load(store, person, which)?;
    let design = t.allocation_hidden(store, person)?;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let nights = quietlegs_core::trial::power::simulate_outcomes(
        &design,
        &a.simulation(&ctx.reference.rules.trial),
        &mut rng,
    );
    let stamp = ctx.now.stamp();
    let mut written = 0;
    for (day, v) in nights {
        let date = design.date_of(day);
        if date > ctx.now.date {
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
            Err(StoreError::Duplicate { .. }) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok((t.stored.name, written))
}
