//! Pooled analysis of many n-of-1 series (`quietlegs series analyze`): a CSV streamed into
//! per-participant statistics (memory grows with participants, not rows), both mixed models
//! fitted by REML (`quietlegs_core::trial::pooled`), and the forest plot.
//!
//! A clinic pools its participants' completed trials from the store with [`pool_trials`]: each
//! person's latest completed trial of the comparison, its nights as the trial's own report
//! analyses them, gathered into [`PersonStats`] and fitted by [`analyze_people`].

use crate::trial::{self as trial_uc, LoadedTrial, TrialNights};
use crate::{AppError, Context};
use jiff::civil::Date;
use quietlegs_core::trial::design::Outcome;
use quietlegs_core::trial::pooled::{
    self, ArmStats, PersonStats, PooledAnalysis, PooledSpec, SeriesAccumulator, MAX_LABEL_CHARS,
    MIN_PARTICIPANTS,
};
use quietlegs_core::ReferenceData;
use quietlegs_store::{PersonId, Store, TrialStore};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashSet};
use std::fmt::Write as _;
use std::io::Read;

/// Options of `series analyze`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SeriesOptions {
    /// The comparator's label in the condition column (required).
    pub control: Option<String>,
    /// The treatment's label (default: the one other condition).
    pub treatment: Option<String>,
    pub higher_is_better: bool,
    /// Minimal important difference (default: the nightly-severity default of the rules).
    pub mcid: Option<f64>,
}

fn spec(reference: &ReferenceData, o: &SeriesOptions) -> Result<PooledSpec, AppError> {
    let mcid = o
        .mcid
        .unwrap_or(reference.rules.trial.mcid_nightly_severity);
    if !(mcid.is_finite() && mcid > 0.0) {
        return Err(AppError::field("mcid", "must be more than 0"));
    }
    Ok(PooledSpec {
        higher_is_better: o.higher_is_better,
        mcid,
    })
}

fn control(o: &SeriesOptions) -> Result<&str, AppError> {
    o.control.as_deref().ok_or_else(|| {
        AppError::field(
            "control",
            "a LABEL is required: the comparator's label in the condition column",
        )
    })
}

/// Reads `participant,day,condition,outcome` (header required, any column order, extra columns
/// ignored) row by row from `reader` and fits both models. Errors name the line and the field.
pub fn analyze_csv<R: Read>(
    reference: &ReferenceData,
    reader: R,
    o: &SeriesOptions,
) -> Result<PooledAnalysis, AppError> {
    let control = control(o)?;
    let spec = spec(reference, o)?;
    // Fields are trimmed here rather than by the reader: csv's `Trim::All` rebuilds every record
    // (an allocation per row, a third of the time on a million rows).
    let mut rdr = csv::ReaderBuilder::new()
        .flexible(false)
        .from_reader(reader);
    let line_of = |e: &csv::Error| e.position().map(|p| p.line()).unwrap_or(1);
    let headers: Vec<String> = rdr
        .headers()
        .map_err(|e| AppError::refused(format!("line {}: {e}", line_of(&e))))?
        .iter()
        .map(|h| h.trim_start_matches('\u{feff}').trim().to_lowercase())
        .collect();
    let col = |name: &str| headers.iter().position(|h| h == name);
    let (Some(cp), Some(cd), Some(cc), Some(co)) = (
        col("participant"),
        col("day"),
        col("condition"),
        col("outcome"),
    ) else {
        return Err(AppError::refused(
            "line 1: the header must name the columns participant,day,condition,outcome",
        ));
    };
    let mut acc = SeriesAccumulator::new();
    let mut rec = csv::StringRecord::new();
    loop {
        match rdr.read_record(&mut rec) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                return Err(AppError::refused(format!("line {}: {e}", line_of(&e))));
            }
        }
        let line = rec.position().map(|p| p.line()).unwrap_or(0);
        let get = |i: usize| rec.get(i).unwrap_or("").trim();
        acc.push(line, get(cp), get(cd), get(cc), get(co))
            .map_err(|e| AppError::refused(e.to_string()))?;
    }
    let data = acc
        .finish(control, o.treatment.as_deref())
        .map_err(|e| AppError::refused(e.to_string()))?;
    pooled::fit(&data, &spec).map_err(|e| AppError::refused(e.to_string()))
}

/// Fits statistics gathered elsewhere (one row per participant, e.g. from the store).
pub fn analyze_people(
    reference: &ReferenceData,
    people: impl IntoIterator<Item = PersonStats>,
    treatment: &str,
    o: &SeriesOptions,
) -> Result<PooledAnalysis, AppError> {
    let control = control(o)?;
    let spec = spec(reference, o)?;
    pooled::fit_people(people, control, treatment, &spec)
        .map_err(|e| AppError::refused(e.to_string()))
}

// ---------------------------------------------------------------------------------------------
// Pooling the completed trials of a clinic's participants

/// What a clinic pools: the comparison (the arms as the trials' plans name them) and the
/// outcome.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PoolOptions {
    /// The comparator arm, as the plans name it (e.g. "placebo"); required.
    pub control: String,
    /// The treatment arm (e.g. "magnesium"); required.
    pub treatment: String,
    /// The plans' primary outcome: nightly-severity (default) or weekly-irls.
    pub outcome: Option<String>,
    /// Minimal important difference (default: the outcome's MCID in the rules).
    pub mcid: Option<f64>,
}

/// One person's trial in the pooled analysis.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PooledTrial {
    /// The label the clinic gave (the participant id of the analysis and the forest plot).
    pub label: String,
    pub trial: String,
    pub plan_hash: String,
    pub first_night: Date,
    pub last_night: Date,
    /// Analysed nights (past the run-in, logged) per arm.
    pub nights_control: u64,
    pub nights_treatment: u64,
    /// Nights past the run-in that were not logged (as the trial's report counts them).
    pub missing_nights: u64,
    /// Analysed nights of the trial's other arms (a trial of more than two arms): not pooled.
    pub other_arm_nights: u64,
    /// Older completed trials of the same comparison, not pooled: only the latest counts.
    pub older_trials: Vec<String>,
}

/// Why a person's trial is not in the pooled analysis.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "reason", rename_all = "kebab-case")]
pub enum Exclusion {
    /// The person has no trial at all.
    NoTrial,
    /// No trial of the requested arms and outcome; the comparisons the person's trials make.
    DifferentComparison { comparisons: Vec<String> },
    /// The latest trial of the comparison has not reached its last night.
    InProgress { trial: String, last_night: Date },
    /// The latest trial of the comparison is over but still blinded: nothing of it was read
    /// beyond its plan.
    Blinded { trial: String },
    /// The latest trial of the comparison was unblinded before its last night.
    UnblindedEarly { trial: String },
    /// The trial has no analysed night in one of the two arms: no contrast of its own.
    TooFewNights {
        trial: String,
        nights_control: u64,
        nights_treatment: u64,
    },
}

impl Exclusion {
    fn text(&self, o: &PoolOptions, outcome: Outcome) -> String {
        match self {
            Self::NoTrial => "no trial".into(),
            Self::DifferentComparison { comparisons } => format!(
                "no trial of {} vs {} ({}): the person's trials compare {}",
                o.treatment,
                o.control,
                outcome_name(outcome),
                comparisons.join("; ")
            ),
            Self::InProgress { trial, last_night } => {
                format!("trial '{trial}' is not over: its last night is {last_night}")
            }
            Self::Blinded { trial } => format!(
                "trial '{trial}' is over but still blinded: it is pooled once it is unblinded"
            ),
            Self::UnblindedEarly { trial } => format!(
                "trial '{trial}' was unblinded early: only trials completed as planned are pooled"
            ),
            Self::TooFewNights {
                trial,
                nights_control,
                nights_treatment,
            } => format!(
                "trial '{trial}' has {nights_treatment} analysed nights of {} and {nights_control} of {}: both arms need nights",
                o.treatment, o.control
            ),
        }
    }

    /// A short name of the reason (for counts).
    fn name(&self) -> &'static str {
        match self {
            Self::NoTrial => "no trial",
            Self::DifferentComparison { .. } => "different comparison",
            Self::InProgress { .. } => "not over",
            Self::Blinded { .. } => "still blinded",
            Self::UnblindedEarly { .. } => "unblinded early",
            Self::TooFewNights { .. } => "too few nights",
        }
    }
}

/// A person left out of the pooled analysis, and why.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LeftOut {
    pub label: String,
    #[serde(flatten)]
    pub why: Exclusion,
    /// The reason in words.
    pub text: String,
}

/// The people's trials gathered for pooling, before the fit.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GatheredTrials {
    pub control: String,
    pub treatment: String,
    pub outcome: Outcome,
    /// Lower or higher outcome is better, as the included trials' plans say.
    pub higher_is_better: bool,
    /// Per included person (same order as `included`), the analysed nights' statistics.
    pub people: Vec<PersonStats>,
    pub included: Vec<PooledTrial>,
    pub left_out: Vec<LeftOut>,
}

/// The pooled analysis of the participants' completed trials, and who is in it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PooledTrials {
    pub analysis: PooledAnalysis,
    pub included: Vec<PooledTrial>,
    pub left_out: Vec<LeftOut>,
}

fn outcome_name(o: Outcome) -> &'static str {
    match o {
        Outcome::NightlySeverity => "nightly-severity",
        Outcome::WeeklyIrls => "weekly-irls",
    }
}

fn check_pool_options(o: &PoolOptions) -> Result<Outcome, AppError> {
    for (field, label) in [("control", &o.control), ("treatment", &o.treatment)] {
        if label.trim().is_empty() {
            return Err(AppError::field(field, "an arm label is required"));
        }
    }
    if o.control == o.treatment {
        return Err(AppError::field(
            "treatment",
            format!(
                "'{}' is also the control: compare two different arms",
                o.treatment
            ),
        ));
    }
    trial_uc::outcome(o.outcome.as_deref())
}

fn check_people(people: &[(String, PersonId)]) -> Result<(), AppError> {
    let mut labels = HashSet::new();
    let mut ids = HashSet::new();
    for (label, id) in people {
        if label.trim().is_empty() {
            return Err(AppError::field("people", "a person's label is empty"));
        }
        if label.trim() != label {
            return Err(AppError::field(
                "people",
                format!("the label '{label}' begins or ends with a space"),
            ));
        }
        quietlegs_core::text::check_text(label, MAX_LABEL_CHARS, false)
            .map_err(|e| AppError::field("people", format!("label: {e}")))?;
        if !labels.insert(label.as_str()) {
            return Err(AppError::field(
                "people",
                format!("the label '{label}' is given to two people: labels must be distinct"),
            ));
        }
        if !ids.insert(*id) {
            return Err(AppError::field(
                "people",
                format!("the person labelled '{label}' is listed twice"),
            ));
        }
    }
    Ok(())
}

/// Which trial of a person is pooled: the latest (by last night, then by registration) of the
/// requested comparison that is over, has its arms visible (open label, or unblinded after its
/// last night) and was not unblinded early; or why none is.
fn choose_trial<S: TrialStore>(
    store: &S,
    person: PersonId,
    today: Date,
    o: &PoolOptions,
    outcome: Outcome,
) -> Result<Result<(LoadedTrial, Vec<String>), Exclusion>, AppError> {
    let trials = store
        .trials(person)
        .map_err(|e| AppError::from(e).context("reading trials"))?
        .into_iter()
        .map(LoadedTrial::verify)
        .collect::<Result<Vec<_>, _>>()?;
    if trials.is_empty() {
        return Ok(Err(Exclusion::NoTrial));
    }
    let (mut same, other): (Vec<LoadedTrial>, Vec<LoadedTrial>) =
        trials.into_iter().partition(|t| {
            t.plan.treatment == o.treatment
                && t.plan.control == o.control
                && t.plan.outcome == outcome
        });
    if same.is_empty() {
        let mut comparisons: Vec<String> = other
            .iter()
            .map(|t| {
                format!(
                    "{} vs {} ({})",
                    t.plan.treatment,
                    t.plan.control,
                    outcome_name(t.plan.outcome)
                )
            })
            .collect();
        let mut seen = HashSet::new();
        comparisons.retain(|c| seen.insert(c.clone()));
        return Ok(Err(Exclusion::DifferentComparison { comparisons }));
    }
    // Latest last: by last night, then by registration (ids grow).
    same.sort_by_key(|t| (t.plan.date_of(t.plan.last_day()), t.stored.id));
    let poolable = |t: &LoadedTrial| t.over_on(today) && t.arms_visible() && !t.unblinded_early();
    let Some(pos) = same.iter().rposition(poolable) else {
        let latest = same.pop().ok_or_else(|| AppError::internal("no trial"))?;
        let trial = latest.stored.name.clone();
        return Ok(Err(if latest.unblinded_early() {
            Exclusion::UnblindedEarly { trial }
        } else if !latest.over_on(today) {
            Exclusion::InProgress {
                trial,
                last_night: latest.plan.date_of(latest.plan.last_day()),
            }
        } else {
            Exclusion::Blinded { trial }
        }));
    };
    let chosen = same.remove(pos);
    let older = same[..pos]
        .iter()
        .filter(|t| poolable(t))
        .map(|t| t.stored.name.clone())
        .collect();
    Ok(Ok((chosen, older)))
}

/// Gathers, for each person, the analysed nights of their latest completed trial comparing
/// `o.treatment` with `o.control` on `o.outcome` (see [`pool_trials`]), and lists who is left
/// out and why. A blinded trial is never unsealed: it is left out from its plan alone.
pub fn gather_trials<S: Store + TrialStore>(
    store: &S,
    ctx: &Context<'_>,
    people: &[(String, PersonId)],
    o: &PoolOptions,
) -> Result<GatheredTrials, AppError> {
    let outcome = check_pool_options(o)?;
    check_people(people)?;
    let mut stats = Vec::new();
    let mut included = Vec::new();
    let mut left_out = Vec::new();
    let mut direction: Option<(bool, String)> = None;
    for (label, person) in people {
        let leave = |why: Exclusion| LeftOut {
            label: label.clone(),
            text: why.text(o, outcome),
            why,
        };
        let (t, older_trials) = match choose_trial(store, *person, ctx.now.date, o, outcome)? {
            Ok(chosen) => chosen,
            Err(why) => {
                left_out.push(leave(why));
                continue;
            }
        };
        // The nights exactly as the trial's own report reads them (the gate is checked again
        // there: only a trial whose arms may be shown is read).
        let TrialNights { design, data, .. } = trial_uc::trial_nights(store, *person, ctx, &t)?;
        let (mut control, mut treatment) = (ArmStats::default(), ArmStats::default());
        let mut other_arm_nights = 0u64;
        for (night, y) in data.analysed() {
            let arm = &data.arms[night.arm];
            if *arm == o.control {
                control.push(y);
            } else if *arm == o.treatment {
                treatment.push(y);
            } else {
                other_arm_nights += 1;
            }
        }
        let missing_nights = data.missing().count() as u64;
        if control.n == 0 || treatment.n == 0 {
            left_out.push(leave(Exclusion::TooFewNights {
                trial: t.stored.name.clone(),
                nights_control: control.n,
                nights_treatment: treatment.n,
            }));
            continue;
        }
        match &direction {
            None => direction = Some((t.plan.higher_is_better, t.stored.name.clone())),
            Some((hib, first)) if *hib != t.plan.higher_is_better => {
                return Err(AppError::refused(format!(
                    "trial '{}' ({label}) counts a {} outcome as better, trial '{first}' a {} one: they cannot be pooled",
                    t.stored.name,
                    if t.plan.higher_is_better { "higher" } else { "lower" },
                    if *hib { "higher" } else { "lower" },
                )))
            }
            Some(_) => {}
        }
        stats.push(PersonStats {
            id: label.clone(),
            control,
            treatment,
        });
        included.push(PooledTrial {
            label: label.clone(),
            trial: t.stored.name.clone(),
            plan_hash: t.stored.plan_hash.clone(),
            first_night: design.start,
            last_night: design.date_of(design.last_day()),
            nights_control: control.n,
            nights_treatment: treatment.n,
            missing_nights,
            other_arm_nights,
            older_trials,
        });
    }
    Ok(GatheredTrials {
        control: o.control.clone(),
        treatment: o.treatment.clone(),
        outcome,
        higher_is_better: direction.is_some_and(|(hib, _)| hib),
        people: stats,
        included,
        left_out,
    })
}

/// A clinic's pooled estimate over its participants' completed trials.
///
/// `people` pairs the label shown for each participant (distinct, at most 100 characters) with
/// the person. For each person the **latest completed trial** of the comparison is pooled: the
/// plan's treatment and control are `o.treatment` and `o.control` and its primary outcome is
/// `o.outcome`; the trial is over (its last night is before today), its arms may be shown (open
/// label, or unblinded) and it was not unblinded early. Older completed trials of the same
/// comparison are listed, not pooled (one trial per person: the random-effects model has one
/// effect per person, and the latest trial is the one a person would act on). A blinded trial
/// is left out from its plan alone: its allocation is never read.
///
/// The pooled nights are exactly those the trial's own report analyses ([`trial_uc::report`]:
/// past each period's run-in, logged), per arm; nights of a third arm are left out and counted.
/// Fewer than [`MIN_PARTICIPANTS`] people with a poolable trial is refused, saying how many
/// were left out for which reason ([`gather_trials`] gives the list by person).
pub fn pool_trials<S: Store + TrialStore>(
    store: &S,
    ctx: &Context<'_>,
    people: &[(String, PersonId)],
    o: &PoolOptions,
) -> Result<PooledTrials, AppError> {
    let g = gather_trials(store, ctx, people, o)?;
    if g.people.len() < MIN_PARTICIPANTS {
        let mut reasons: BTreeMap<&str, usize> = BTreeMap::new();
        for l in &g.left_out {
            *reasons.entry(l.why.name()).or_default() += 1;
        }
        let why: Vec<String> = reasons
            .into_iter()
            .map(|(reason, n)| format!("{n} {reason}"))
            .collect();
        return Err(AppError::refused(format!(
            "{} of {} people have a completed trial of {} vs {} to pool: a pooled analysis needs at least {MIN_PARTICIPANTS}{}",
            g.people.len(),
            people.len(),
            g.treatment,
            g.control,
            if why.is_empty() {
                String::new()
            } else {
                format!(" (left out: {})", why.join(", "))
            }
        )));
    }
    let rule = &ctx.reference.rules.trial;
    let mcid = o.mcid.unwrap_or(match g.outcome {
        Outcome::NightlySeverity => rule.mcid_nightly_severity,
        Outcome::WeeklyIrls => rule.mcid_weekly_irls,
    });
    let series = SeriesOptions {
        control: Some(g.control.clone()),
        treatment: Some(g.treatment.clone()),
        higher_is_better: g.higher_is_better,
        mcid: Some(mcid),
    };
    let mut analysis = analyze_people(ctx.reference, g.people, &g.treatment, &series)?;
    // As a file of the same nights would count them: nights not logged, nights of other arms.
    analysis.missing_nights = g.included.iter().map(|t| t.missing_nights).sum();
    analysis.other_condition_nights = g.included.iter().map(|t| t.other_arm_nights).sum();
    Ok(PooledTrials {
        analysis,
        included: g.included,
        left_out: g.left_out,
    })
}

/// The most participant rows the forest plot draws; beyond that it draws this many, evenly
/// spaced in the order of the shrunken effect (including the lowest and the highest), and says
/// so. A layout setting: 40 rows keep the labels readable at 14 px per row.
pub const FOREST_MAX_ROWS: usize = 40;

fn escape(t: &str) -> String {
    quietlegs_core::text::escape_controls(t)
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A forest plot (SVG): per participant, their own trial's estimate (open grey) and their
/// shrunken estimate (filled blue) with 95 % intervals, sorted by the shrunken effect; the
/// population effect of the random-slope model as a diamond; no effect and ±MCID as lines.
/// Written by hand like the trial timeline: lines, circles and text need no plotting crate.
pub fn forest_svg(a: &PooledAnalysis) -> String {
    const W: f64 = 860.0;
    const LEFT: f64 = 130.0;
    const RIGHT: f64 = 30.0;
    const TOP: f64 = 84.0;
    const ROW: f64 = 16.0;
    let mut order: Vec<usize> = (0..a.participants.len()).collect();
    order.sort_by(|&i, &j| {
        a.participants[i]
            .effect
            .total_cmp(&a.participants[j].effect)
    });
    let shown: Vec<usize> = if order.len() <= FOREST_MAX_ROWS {
        order.clone()
    } else {
        let k = FOREST_MAX_ROWS - 1;
        (0..=k).map(|r| order[r * (order.len() - 1) / k]).collect()
    };
    let rs = &a.models.random_slope;
    // The axis covers the shrunken intervals, the population interval, no effect and the
    // own estimates (their intervals, often much wider, are cut at the edge with an arrow).
    let mut lo = rs.ci95[0].min(0.0).min(-a.mcid.min(1e9));
    let mut hi = rs.ci95[1].max(0.0).max(a.mcid.min(1e9));
    for &i in &shown {
        let p = &a.participants[i];
        lo = lo.min(p.ci95[0]);
        hi = hi.max(p.ci95[1]);
        if let Some(o) = &p.own {
            lo = lo.min(o.effect);
            hi = hi.max(o.effect);
        }
    }
    let pad = 0.05 * (hi - lo).max(1e-9);
    let (lo, hi) = (lo - pad, hi + pad);
    let rows = shown.len() as f64;
    let plot_bottom = TOP + ROW * (rows + 1.5);
    let h = plot_bottom + 90.0;
    let x = |v: f64| LEFT + (W - LEFT - RIGHT) * (v - lo) / (hi - lo);
    let clip = |v: f64| v.clamp(lo, hi);
    let mut s = String::new();
    let _ = writeln!(
        s,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{W}\" height=\"{h:.0}\" viewBox=\"0 0 {W} {h:.0}\" font-family=\"sans-serif\" font-size=\"12\">\n<title>Forest plot: {} minus {}</title>\n<rect width=\"{W}\" height=\"{h:.0}\" fill=\"white\"/>",
        escape(&a.treatment),
        escape(&a.control)
    );
    let _ = writeln!(
        s,
        "<text x=\"{LEFT}\" y=\"20\" font-size=\"14\" font-weight=\"bold\">Effect of {} vs {} per person ({} is better)</text>",
        escape(&a.treatment),
        escape(&a.control),
        if a.higher_is_better { "higher" } else { "lower" }
    );
    let shown_note = if shown.len() < a.participants.len() {
        format!(
            "{} of {} participants, evenly spaced by shrunken effect",
            shown.len(),
            a.participants.len()
        )
    } else {
        format!(
            "all {} participants, sorted by shrunken effect",
            a.participants.len()
        )
    };
    let _ = writeln!(
        s,
        "<text x=\"{LEFT}\" y=\"38\" fill=\"#444\">{shown_note}; 95 % intervals</text>"
    );
    // Legend.
    let _ = writeln!(s, "<line x1=\"{LEFT}\" x2=\"{:.1}\" y1=\"54\" y2=\"54\" stroke=\"#999\"/><circle cx=\"{:.1}\" cy=\"54\" r=\"3.5\" fill=\"white\" stroke=\"#777\"/><text x=\"{:.1}\" y=\"58\">own trial alone</text>", LEFT + 24.0, LEFT + 12.0, LEFT + 30.0);
    let _ = writeln!(s, "<line x1=\"{:.1}\" x2=\"{:.1}\" y1=\"54\" y2=\"54\" stroke=\"#1f4e9c\" stroke-width=\"2\"/><circle cx=\"{:.1}\" cy=\"54\" r=\"3.5\" fill=\"#1f4e9c\"/><text x=\"{:.1}\" y=\"58\">shrunken (mixed model)</text>", LEFT + 140.0, LEFT + 164.0, LEFT + 152.0, LEFT + 170.0);
    let _ = writeln!(s, "<path d=\"M{:.1},54 l7,-5 l7,5 l-7,5 z\" fill=\"#c0392b\"/><text x=\"{:.1}\" y=\"58\">population effect</text>", LEFT + 320.0, LEFT + 340.0);
    // Reference lines: no effect, and the MCID on the side of benefit.
    let mcid_at = if a.higher_is_better { a.mcid } else { -a.mcid };
    let _ = writeln!(
        s,
        "<line x1=\"{0:.1}\" x2=\"{0:.1}\" y1=\"{TOP}\" y2=\"{plot_bottom:.1}\" stroke=\"black\"/>",
        x(0.0)
    );
    if mcid_at > lo && mcid_at < hi {
        let _ = writeln!(s, "<line x1=\"{0:.1}\" x2=\"{0:.1}\" y1=\"{TOP}\" y2=\"{plot_bottom:.1}\" stroke=\"#2a8a3a\" stroke-dasharray=\"4 3\"><title>MCID {mcid_at}</title></line><text x=\"{0:.1}\" y=\"{1:.1}\" text-anchor=\"middle\" fill=\"#2a8a3a\">MCID</text>", x(mcid_at), TOP - 4.0);
    }
    let _ = writeln!(s, "<line x1=\"{0:.1}\" x2=\"{0:.1}\" y1=\"{TOP}\" y2=\"{plot_bottom:.1}\" stroke=\"#c0392b\" stroke-dasharray=\"2 3\"/>", x(rs.effect));
    for (r, &i) in shown.iter().enumerate() {
        let p = &a.participants[i];
        let yc = TOP + ROW * (r as f64 + 0.75);
        let label: String = p.id.chars().take(16).collect();
        let _ = writeln!(
            s,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
            LEFT - 8.0,
            yc + 4.0,
            escape(&label)
        );
        if let Some(o) = &p.own {
            let yo = yc - 3.0;
            let (a0, a1) = (clip(o.ci95[0]), clip(o.ci95[1]));
            let _ = writeln!(s, "<line x1=\"{:.1}\" x2=\"{:.1}\" y1=\"{yo:.1}\" y2=\"{yo:.1}\" stroke=\"#999\"><title>own {:.2} [{:.2}, {:.2}], {} nights</title></line>", x(a0), x(a1), o.effect, o.ci95[0], o.ci95[1], p.nights);
            if o.ci95[0] < lo {
                let _ = writeln!(
                    s,
                    "<path d=\"M{:.1},{yo:.1} l6,-3 l0,6 z\" fill=\"#999\"/>",
                    x(lo)
                );
            }
            if o.ci95[1] > hi {
                let _ = writeln!(
                    s,
                    "<path d=\"M{:.1},{yo:.1} l-6,-3 l0,6 z\" fill=\"#999\"/>",
                    x(hi)
                );
            }
            let _ = writeln!(
                s,
                "<circle cx=\"{:.1}\" cy=\"{yo:.1}\" r=\"3\" fill=\"white\" stroke=\"#777\"/>",
                x(o.effect)
            );
        }
        let ys = yc + 3.0;
        let _ = writeln!(s, "<line x1=\"{:.1}\" x2=\"{:.1}\" y1=\"{ys:.1}\" y2=\"{ys:.1}\" stroke=\"#1f4e9c\" stroke-width=\"2\"><title>shrunken {:.2} [{:.2}, {:.2}]</title></line><circle cx=\"{:.1}\" cy=\"{ys:.1}\" r=\"3.5\" fill=\"#1f4e9c\"/>", x(p.ci95[0]), x(p.ci95[1]), p.effect, p.ci95[0], p.ci95[1], x(p.effect));
    }
    // The population diamond.
    let yd = TOP + ROW * (rows + 0.75);
    let _ = writeln!(
        s,
        "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\" font-weight=\"bold\">population</text>",
        LEFT - 8.0,
        yd + 4.0
    );
    let _ = writeln!(s, "<path d=\"M{:.1},{yd:.1} L{:.1},{:.1} L{:.1},{yd:.1} L{:.1},{:.1} z\" fill=\"#c0392b\"><title>population {:.3} [{:.3}, {:.3}]</title></path>", x(rs.ci95[0]), x(rs.effect), yd - 6.0, x(rs.ci95[1]), x(rs.effect), yd + 6.0, rs.effect, rs.ci95[0], rs.ci95[1]);
    // Axis with about six round ticks.
    let _ = writeln!(s, "<line x1=\"{LEFT}\" x2=\"{:.1}\" y1=\"{plot_bottom:.1}\" y2=\"{plot_bottom:.1}\" stroke=\"black\"/>", W - RIGHT);
    let raw = (hi - lo) / 6.0;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|st| *st >= raw)
        .unwrap_or(10.0 * mag);
    let mut t = (lo / step).ceil() * step;
    while t <= hi + 1e-12 {
        let shown_t = if t.abs() < step * 1e-9 { 0.0 } else { t };
        let _ = writeln!(s, "<line x1=\"{0:.1}\" x2=\"{0:.1}\" y1=\"{1:.1}\" y2=\"{2:.1}\" stroke=\"black\"/><text x=\"{0:.1}\" y=\"{3:.1}\" text-anchor=\"middle\">{shown_t}</text>", x(t), plot_bottom, plot_bottom + 5.0, plot_bottom + 18.0);
        t += step;
    }
    let _ = writeln!(
        s,
        "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{} minus {} (outcome units)</text>",
        LEFT + (W - LEFT - RIGHT) / 2.0,
        plot_bottom + 36.0,
        escape(&a.treatment),
        escape(&a.control)
    );
    let _ = writeln!(
        s,
        "<text x=\"{LEFT}\" y=\"{:.1}\" fill=\"#444\">Population {:.2} (95 % CI {:.2} to {:.2}); spread of effects between people SD {:.2}{}</text>",
        plot_bottom + 58.0,
        rs.effect,
        rs.ci95[0],
        rs.ci95[1],
        rs.tau2_slope.sqrt(),
        if rs.singular { " (singular fit)" } else { "" }
    );
    let _ = writeln!(s, "<text x=\"{LEFT}\" y=\"{:.1}\" fill=\"#444\">Own-trial intervals that run off the axis end in an arrow.</text>", plot_bottom + 76.0);
    s.push_str("</svg>\n");
    s
}
