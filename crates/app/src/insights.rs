//! Insights (which evening factors go with better or worse nights) and the data of reminders.

use std::collections::BTreeMap;

use quietlegs_core::clock::ClockTime;
use quietlegs_core::diary::Record;
use quietlegs_core::insights::{insights as factor_insights, Insights};
use quietlegs_core::Profile;
use quietlegs_store::{PersonId, Store, TrialStore};
use serde::Serialize;

use crate::{AppError, Context};

/// Factor associations over the whole diary (`insights --json`).
pub fn insights<S: Store>(
    ctx: &Context<'_>,
    diary: crate::diary::Diary<'_, S>,
) -> Result<Insights, AppError> {
    let mut nights = BTreeMap::new();
    let mut factors = Vec::new();
    for r in crate::diary::records(diary, None, None)? {
        match r.record {
            Record::Night(n) => {
                nights.insert(n.date, n.severity);
            }
            Record::Factor(f) => factors.push(f),
            _ => {}
        }
    }
    Ok(factor_insights(
        &nights,
        &factors,
        &ctx.reference.rules.insights,
    ))
}

/// The daily dose reminder a plan allows.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum DoseReminder {
    /// A dose to take daily at `at`.
    Daily {
        at: ClockTime,
        form: String,
        elemental_mg: u32,
        timing_reason: String,
    },
    /// The plan's dose is only "if your clinician agrees": no alarm (an alarm is an
    /// instruction).
    AwaitingClinician { start_advice: String },
    /// The plan suggests no supplement.
    NoSupplement { reason: String },
    /// A trial is in progress: its schedule, not the plan, says what to take each night, so the
    /// plan's dose gets no alarm (a second magnesium would spoil the comparison and could go
    /// over the limit).
    DuringTrial { trial: String },
}

/// The reminders of a profile: the diary each evening, and the dose the plan allows.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Reminders {
    pub diary_at: ClockTime,
    pub dose: DoseReminder,
}

/// The reminders for `profile`; the diary reminder is at `diary_at` (HH:MM, default bedtime).
/// `diary` is the person's store, if any: a trial in progress there replaces the dose reminder.
pub fn reminders<S: Store + TrialStore>(
    ctx: &Context<'_>,
    store: Option<&S>,
    diary: Option<(&S, PersonId)>,
    profile: &Profile,
    diary_at: Option<&str>,
) -> Result<Reminders, AppError> {
    let diary_at = match diary_at {
        Some(t) => ClockTime::parse(t).map_err(|e| AppError::field("diary_at", e.to_string()))?,
        None => profile.bedtime,
    };
    let plan = crate::info::plan(ctx, store, profile)?;
    let in_trial = match diary {
        Some((store, person)) => crate::trial::in_progress(store, person, ctx)?,
        None => None,
    };
    let dose = match &plan.supplement {
        _ if in_trial.is_some() => DoseReminder::DuringTrial {
            trial: in_trial.map(|t| t.trial).unwrap_or_default(),
        },
        Some(_) if !plan.may_start_without_clinician => DoseReminder::AwaitingClinician {
            start_advice: plan.start_advice.clone(),
        },
        Some(s) => DoseReminder::Daily {
            at: s.take_at,
            form: s.form.clone(),
            elemental_mg: s.elemental_mg,
            timing_reason: s.timing_reason.clone(),
        },
        None => DoseReminder::NoSupplement {
            reason: plan
                .supplement_note
                .clone()
                .unwrap_or_else(|| "the plan suggests no supplement".to_string()),
        },
    };
    Ok(Reminders { diary_at, dose })
}
