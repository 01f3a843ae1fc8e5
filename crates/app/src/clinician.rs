//! The clinician's report (`quietlegs report`, the web app's `/report`): one summary of a
//! person's profile, plan, diary and trial over a range of dates, in the figures a clinician
//! reads first. Pure gathering and arithmetic over the store: how it is laid out (PDF, HTML,
//! text) is `quietlegs-report`'s business.

use crate::diary::{self, Diary};
use crate::error::{AppError, ErrorKind};
use crate::trial::{self, TrialReport, TrialStatus};
use crate::Context;
use jiff::civil::Date;
use quietlegs_core::diary::Record;
use quietlegs_core::diary::StoredRecord;
use quietlegs_core::plan::Plan;
use quietlegs_core::profile::{Profile, Sex};
use quietlegs_core::reference::{Severity, Source};
use quietlegs_store::{PersonId, Store, TrialStore};
use serde::Serialize;
use std::collections::BTreeMap;

/// The dates a report covers (both ends included).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ReportRange {
    pub from: Date,
    pub to: Date,
}

/// Who the report is about, from the stored profile.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PersonSummary {
    pub age: u32,
    pub sex: &'static str,
    pub pregnant: bool,
    pub lactating: bool,
    /// "eGFR 52 mL/min/1.73 m², CKD stage 3, not on dialysis" or "not given".
    pub kidney: String,
    pub ferritin_ng_ml: Option<f64>,
    pub tsat_percent: Option<f64>,
    pub conditions: Vec<String>,
}

/// One flag of the plan, as the clinician reads it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FlagLine {
    /// stop | caution | info
    pub severity: String,
    pub code: String,
    pub message: String,
}

/// The plan of the stored profile, in the parts a clinician checks.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlanSummary {
    pub may_start_without_clinician: bool,
    pub start_advice: String,
    /// "glycinate, 150 mg elemental a day at 21:30 (only if your clinician agrees)".
    pub supplement: Option<String>,
    pub supplement_note: Option<String>,
    pub rda_mg: Option<u32>,
    pub supplemental_ul_mg: u32,
    pub flags: Vec<FlagLine>,
    /// Each medicine of the profile as the screen read it.
    pub medicines: Vec<String>,
    pub iron_status: String,
    pub iron_message: String,
}

/// An IRLS total on a date.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IrlsPoint {
    pub date: Date,
    pub total: u32,
    pub band: String,
}

/// The IRLS totals of the range: the trend is the last minus the first.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IrlsTrend {
    pub scores: Vec<IrlsPoint>,
    /// Latest minus first total (negative: fewer symptoms), with two or more scores.
    pub change: Option<i64>,
}

/// A night's severity (0-10) on a date.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct SeverityPoint {
    pub date: Date,
    pub severity: u8,
}

/// The nights of the range.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NightSummary {
    pub nights_logged: usize,
    /// Days in the range (the nights that could have been logged).
    pub days_in_range: i64,
    pub mean_severity: Option<f64>,
    /// The mean over the last 7 days of the range (the latest week).
    pub last_week_mean_severity: Option<f64>,
    pub mean_hours_slept: Option<f64>,
    pub mean_sleep_quality: Option<f64>,
    pub points: Vec<SeverityPoint>,
}

/// Magnesium on one day of the range.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct IntakePoint {
    pub date: Date,
    pub food_mg: f64,
    pub supplement_mg: f64,
}

/// Magnesium from the diary's foods and doses against the RDA and the supplemental upper limit.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IntakeSummary {
    /// From the stored profile's plan (absent without a profile).
    pub rda_mg: Option<u32>,
    pub supplemental_ul_mg: Option<u32>,
    pub days_with_food: usize,
    /// Mean magnesium from food on the days with food logged.
    pub mean_food_mg: Option<f64>,
    pub days_with_dose: usize,
    /// Mean supplemental magnesium on the days with a dose.
    pub mean_supplement_mg: Option<f64>,
    pub max_supplement_mg: Option<f64>,
    /// Days whose supplements alone went over the supplemental upper limit.
    pub days_over_ul: usize,
    pub days: Vec<IntakePoint>,
}

/// A day's side effects, each 0 (none) to 3 (severe).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct SideEffectPoint {
    pub date: Date,
    pub diarrhea: u8,
    pub nausea: u8,
    pub cramps: u8,
}

/// Side effects over the range.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SideEffectSummary {
    pub days_logged: usize,
    /// Days with any side effect above none.
    pub days_with_any: usize,
    pub worst_diarrhea: u8,
    pub worst_nausea: u8,
    pub worst_cramps: u8,
    pub days: Vec<SideEffectPoint>,
}

/// Where the latest trial stands, never showing an arm before the blinding allows it.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "state", rename_all = "kebab-case")]
pub enum TrialSection {
    /// No trial was planned.
    None,
    /// Planned or under way, or over but not analysable yet: the status only (periods by
    /// number while blinded).
    Status {
        status: TrialStatus,
        /// Why there is no result yet.
        reason: String,
    },
    /// The arms may be shown and the analysis ran.
    Result {
        status: TrialStatus,
        report: Box<TrialReport>,
    },
}

/// The clinician's report (`report --json`).
#[derive(Debug, Clone, Serialize)]
pub struct ClinicianReport {
    pub disclaimer: &'static str,
    /// The day the report was made.
    pub made_on: Date,
    pub range: ReportRange,
    /// Absent before a profile is stored.
    pub person: Option<PersonSummary>,
    pub plan: Option<PlanSummary>,
    pub irls: IrlsTrend,
    pub nights: NightSummary,
    pub intake: IntakeSummary,
    pub side_effects: SideEffectSummary,
    /// Evening factors: how many evenings each was logged.
    pub factors: BTreeMap<String, usize>,
    pub trial: TrialSection,
    /// Every source the plan and the trial analysis cite, by id.
    pub sources: BTreeMap<String, Source>,
}

/// The range asked for: `to` defaults to today, `from` to the first entry of the diary (or
/// `to` when the diary is empty). Dates after today and a start after the end are refused,
/// naming the flag.
pub fn range<S: Store>(
    store: &S,
    person: PersonId,
    ctx: &Context<'_>,
    from: Option<&str>,
    to: Option<&str>,
) -> Result<ReportRange, AppError> {
    let today = ctx.now.date;
    let to = diary::parse_bound("to", to)?.unwrap_or(today);
    if to > today {
        return Err(AppError::field(
            "to",
            format!("{to} is after today ({today}): a report ends today at the latest"),
        ));
    }
    let from = match diary::parse_bound("from", from)? {
        Some(d) => d,
        None => store
            .records(person, None, Some(to))
            .map_err(AppError::store("reading the diary"))?
            .iter()
            .map(|r| r.record.date())
            .min()
            .unwrap_or(to),
    };
    if from > to {
        return Err(AppError::field(
            "from",
            format!("{from} is after the end of the report ({to})"),
        ));
    }
    Ok(ReportRange { from, to })
}

fn sex_word(s: Sex) -> &'static str {
    match s {
        Sex::Female => "female",
        Sex::Male => "male",
    }
}

fn kidney_words(p: &Profile) -> String {
    let k = &p.kidney;
    let mut parts = Vec::new();
    if let Some(e) = k.egfr {
        parts.push(format!("eGFR {e} mL/min/1.73 m²"));
    }
    if let Some(s) = k.ckd_stage {
        parts.push(format!("CKD stage {s}"));
    }
    if k.dialysis {
        parts.push("on dialysis".to_string());
    }
    if parts.is_empty() {
        "not given".to_string()
    } else {
        parts.join(", ")
    }
}

fn person_summary(p: &Profile) -> PersonSummary {
    PersonSummary {
        age: p.age,
        sex: sex_word(p.sex),
        pregnant: p.pregnant,
        lactating: p.lactating,
        kidney: kidney_words(p),
        ferritin_ng_ml: p.ferritin_ng_ml,
        tsat_percent: p.tsat_percent,
        conditions: p.conditions.clone(),
    }
}

fn plan_summary(plan: &Plan) -> PlanSummary {
    PlanSummary {
        may_start_without_clinician: plan.may_start_without_clinician,
        start_advice: plan.start_advice.clone(),
        supplement: plan.supplement.as_ref().map(|s| {
            format!(
                "{}, {} mg elemental magnesium a day at {}{}",
                s.form,
                s.elemental_mg,
                s.take_at,
                if s.conditional {
                    " (only if the clinician agrees)"
                } else {
                    ""
                }
            )
        }),
        supplement_note: plan.supplement_note.clone(),
        rda_mg: plan.rda_mg,
        supplemental_ul_mg: plan.supplemental_ul_mg,
        flags: plan
            .flags
            .iter()
            .map(|f| FlagLine {
                severity: match f.severity {
                    Severity::Stop => "stop",
                    Severity::Caution => "caution",
                    Severity::Info => "info",
                }
                .to_string(),
                code: f.code.clone(),
                message: f.message.clone(),
            })
            .collect(),
        medicines: plan.medicines.iter().map(|m| m.describe()).collect(),
        iron_status: plan.iron.status.to_string(),
        iron_message: plan.iron.message.clone(),
    }
}

fn mean(values: impl Iterator<Item = f64>) -> Option<f64> {
    let (sum, n) = values.fold((0.0, 0usize), |(s, n), v| (s + v, n + 1));
    (n > 0).then(|| sum / n as f64)
}

/// The diary's figures over `range` (pure: the records are given).
fn diary_figures(
    records: &[StoredRecord],
    range: ReportRange,
    limits: (Option<u32>, Option<u32>),
) -> (
    IrlsTrend,
    NightSummary,
    IntakeSummary,
    SideEffectSummary,
    BTreeMap<String, usize>,
) {
    let mut irls = Vec::new();
    let mut nights = Vec::new();
    let mut intake: BTreeMap<Date, IntakePoint> = BTreeMap::new();
    let mut food_days = BTreeMap::new();
    let mut side = Vec::new();
    let mut factors: BTreeMap<String, std::collections::BTreeSet<Date>> = BTreeMap::new();
    for r in records {
        match &r.record {
            Record::Night(n) => nights.push(n.clone()),
            Record::Irls(i) => irls.push(IrlsPoint {
                date: i.date,
                total: i.total,
                band: i.band.as_str().to_string(),
            }),
            Record::Dose(d) => {
                intake
                    .entry(d.date)
                    .or_insert(IntakePoint {
                        date: d.date,
                        food_mg: 0.0,
                        supplement_mg: 0.0,
                    })
                    .supplement_mg += d.elemental_mg;
            }
            Record::Food(f) => {
                food_days.insert(f.date, ());
                intake
                    .entry(f.date)
                    .or_insert(IntakePoint {
                        date: f.date,
                        food_mg: 0.0,
                        supplement_mg: 0.0,
                    })
                    .food_mg += f.magnesium_mg.unwrap_or(0.0);
            }
            Record::SideEffects(s) => side.push(SideEffectPoint {
                date: s.date,
                diarrhea: s.diarrhea,
                nausea: s.nausea,
                cramps: s.cramps,
            }),
            Record::Factor(f) => {
                factors
                    .entry(f.kind.to_string())
                    .or_default()
                    .insert(f.date);
            }
        }
    }
    irls.sort_by_key(|p| p.date);
    nights.sort_by_key(|n| n.date);
    side.sort_by_key(|s| s.date);
    let change = match (irls.first(), irls.last()) {
        (Some(a), Some(b)) if irls.len() >= 2 => Some(i64::from(b.total) - i64::from(a.total)),
        _ => None,
    };
    let week_start = range.to - jiff::Span::new().days(6);
    let night_summary = NightSummary {
        nights_logged: nights.len(),
        days_in_range: (range.to - range.from).get_days() as i64 + 1,
        mean_severity: mean(nights.iter().map(|n| f64::from(n.severity))),
        last_week_mean_severity: mean(
            nights
                .iter()
                .filter(|n| n.date >= week_start)
                .map(|n| f64::from(n.severity)),
        ),
        mean_hours_slept: mean(nights.iter().filter_map(|n| n.hours_slept)),
        mean_sleep_quality: mean(nights.iter().filter_map(|n| n.sleep_quality.map(f64::from))),
        points: nights
            .iter()
            .map(|n| SeverityPoint {
                date: n.date,
                severity: n.severity,
            })
            .collect(),
    };
    let days: Vec<IntakePoint> = intake.into_values().collect();
    let dose_days: Vec<&IntakePoint> = days.iter().filter(|d| d.supplement_mg > 0.0).collect();
    let (rda_mg, supplemental_ul_mg) = limits;
    let intake_summary = IntakeSummary {
        rda_mg,
        supplemental_ul_mg,
        days_with_food: food_days.len(),
        mean_food_mg: mean(
            days.iter()
                .filter(|d| food_days.contains_key(&d.date))
                .map(|d| d.food_mg),
        ),
        days_with_dose: dose_days.len(),
        mean_supplement_mg: mean(dose_days.iter().map(|d| d.supplement_mg)),
        max_supplement_mg: dose_days.iter().map(|d| d.supplement_mg).reduce(f64::max),
        days_over_ul: supplemental_ul_mg.map_or(0, |ul| {
            dose_days
                .iter()
                .filter(|d| d.supplement_mg > f64::from(ul))
                .count()
        }),
        days,
    };
    let side_summary = SideEffectSummary {
        days_logged: side.len(),
        days_with_any: side
            .iter()
            .filter(|s| s.diarrhea + s.nausea + s.cramps > 0)
            .count(),
        worst_diarrhea: side.iter().map(|s| s.diarrhea).max().unwrap_or(0),
        worst_nausea: side.iter().map(|s| s.nausea).max().unwrap_or(0),
        worst_cramps: side.iter().map(|s| s.cramps).max().unwrap_or(0),
        days: side,
    };
    let factor_counts = factors.into_iter().map(|(k, v)| (k, v.len())).collect();
    (
        IrlsTrend {
            scores: irls,
            change,
        },
        night_summary,
        intake_summary,
        side_summary,
        factor_counts,
    )
}

/// The latest trial: its result when the arms may be shown and it can be analysed, else where
/// it stands.
fn trial_section<S: Store + TrialStore>(
    store: &S,
    person: PersonId,
    ctx: &Context<'_>,
) -> Result<TrialSection, AppError> {
    let status = match trial::status(store, person, ctx, None) {
        Ok(s) => s,
        Err(e) if e.kind == ErrorKind::NotFound => return Ok(TrialSection::None),
        Err(e) => return Err(e),
    };
    if status.blinded && !status.unblinded {
        return Ok(TrialSection::Status {
            reason: "blinded: the arms and the result are shown only after unblinding".into(),
            status,
        });
    }
    match trial::report(store, person, ctx, None) {
        Ok(report) => Ok(TrialSection::Result {
            status,
            report: Box::new(report),
        }),
        // Too early to analyse (no analysable nights yet): the status says where it stands.
        Err(e) if e.kind == ErrorKind::BadInput => Ok(TrialSection::Status {
            reason: e.message,
            status,
        }),
        Err(e) => Err(e),
    }
}

/// The clinician's report over `range`.
pub fn report<S: Store + TrialStore>(
    store: &S,
    person: PersonId,
    ctx: &Context<'_>,
    range: ReportRange,
) -> Result<ClinicianReport, AppError> {
    let stored = crate::profile::stored_plan(store, person, ctx)?;
    let records = diary::records(
        Some((store, person)) as Diary<'_, S>,
        Some(range.from),
        Some(range.to),
    )?;
    let limits = stored.as_ref().map_or((None, None), |(_, plan)| {
        (plan.rda_mg, Some(plan.supplemental_ul_mg))
    });
    let (irls, nights, intake, side_effects, factors) = diary_figures(&records, range, limits);
    let trial = trial_section(store, person, ctx)?;
    let mut sources: BTreeMap<String, Source> = stored
        .as_ref()
        .map(|(_, plan)| plan.sources.clone())
        .unwrap_or_default();
    let reference = ctx.reference;
    let rule = &reference.rules.trial;
    let mut cited: Vec<&String> = reference.irls.sources.iter().collect();
    if matches!(
        trial,
        TrialSection::Result { .. } | TrialSection::Status { .. }
    ) {
        cited.extend(rule.verdict_sources.iter());
        cited.extend(rule.blinding_sources.iter());
        cited.extend(rule.mcid_nightly_severity_sources.iter());
        cited.extend(rule.mcid_weekly_irls_sources.iter());
    }
    for id in cited {
        if let Some(s) = reference.sources.get(id) {
            sources.insert(id.clone(), s.clone());
        }
    }
    Ok(ClinicianReport {
        disclaimer: quietlegs_core::DISCLAIMER,
        made_on: ctx.now.date,
        range,
        person: stored.as_ref().map(|(p, _)| person_summary(&p.profile)),
        plan: stored.as_ref().map(|(_, plan)| plan_summary(plan)),
        irls,
        nights,
        intake,
        side_effects,
        factors,
        trial,
        sources,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use quietlegs_core::diary::{Dose, FoodLog, IrlsEntry, Night, SideEffects, Stamp};
    use quietlegs_core::irls::IrlsBand;

    fn d(s: &str) -> Date {
        s.parse().unwrap()
    }

    fn stored(record: Record) -> StoredRecord {
        StoredRecord {
            id: 0,
            stamp: Stamp {
                created_at: String::new(),
                updated_at: String::new(),
                tz: "UTC".into(),
            },
            record,
        }
    }

    fn night(date: &str, severity: u8, hours: Option<f64>) -> StoredRecord {
        stored(Record::Night(Night {
            date: d(date),
            severity,
            symptoms_began: None,
            sleep_quality: None,
            hours_slept: hours,
            minutes_to_sleep: None,
            awakenings: None,
            note: None,
        }))
    }

    /// Figures worked by hand from eight entries over 2026-03-01..2026-03-10.
    #[test]
    fn the_figures_are_the_diary_s_worked_by_hand() {
        let records = vec![
            night("2026-03-01", 8, Some(5.0)),
            night("2026-03-02", 6, None),
            night("2026-03-08", 4, Some(7.0)),
            night("2026-03-10", 2, Some(6.0)),
            stored(Record::Irls(IrlsEntry {
                date: d("2026-03-01"),
                items: vec![3; 10],
                total: 30,
                band: IrlsBand::Severe,
                rls6: None,
            })),
            stored(Record::Irls(IrlsEntry {
                date: d("2026-03-08"),
                items: vec![2; 10],
                total: 20,
                band: IrlsBand::Moderate,
                rls6: None,
            })),
            stored(Record::Dose(Dose {
                date: d("2026-03-02"),
                time: quietlegs_core::ClockTime::parse("21:30").unwrap(),
                product: "glycinate".into(),
                form: Some("glycinate".into()),
                elemental_mg: 200.0,
            })),
            stored(Record::Dose(Dose {
                date: d("2026-03-03"),
                time: quietlegs_core::ClockTime::parse("21:30").unwrap(),
                product: "glycinate".into(),
                form: Some("glycinate".into()),
                elemental_mg: 400.0,
            })),
            stored(Record::Food(FoodLog {
                date: d("2026-03-02"),
                food_id: "12061".into(),
                food_name: "almonds".into(),
                amount: "1 oz".into(),
                grams: 28.35,
                magnesium_mg: Some(76.0),
            })),
            stored(Record::Food(FoodLog {
                date: d("2026-03-04"),
                food_id: "x".into(),
                food_name: "unknown".into(),
                amount: "1 cup".into(),
                grams: 100.0,
                magnesium_mg: None,
            })),
            stored(Record::SideEffects(SideEffects {
                date: d("2026-03-03"),
                diarrhea: 2,
                nausea: 0,
                cramps: 1,
            })),
            stored(Record::SideEffects(SideEffects {
                date: d("2026-03-04"),
                diarrhea: 0,
                nausea: 0,
                cramps: 0,
            })),
        ];
        let range = ReportRange {
            from: d("2026-03-01"),
            to: d("2026-03-10"),
        };
        let (irls, nights, intake, side, _) =
            diary_figures(&records, range, (Some(320), Some(350)));
        // IRLS 30 then 20: change -10.
        assert_eq!(irls.change, Some(-10));
        assert_eq!(irls.scores.last().unwrap().band, "moderate");
        // Nights 8, 6, 4, 2: mean 5; the last week is 2026-03-04..10: 4 and 2, mean 3.
        assert_eq!(nights.nights_logged, 4);
        assert_eq!(nights.days_in_range, 10);
        assert_eq!(nights.mean_severity, Some(5.0));
        assert_eq!(nights.last_week_mean_severity, Some(3.0));
        // Hours 5, 7, 6 (one night without): mean 6.
        assert_eq!(nights.mean_hours_slept, Some(6.0));
        assert_eq!(nights.mean_sleep_quality, None);
        // Food on 2 days: 76 and 0 (magnesium unknown counts 0): mean 38.
        assert_eq!(intake.days_with_food, 2);
        assert_eq!(intake.mean_food_mg, Some(38.0));
        // Doses 200 and 400: mean 300, max 400; only 400 is over the limit of 350.
        assert_eq!(intake.days_with_dose, 2);
        assert_eq!(intake.mean_supplement_mg, Some(300.0));
        assert_eq!(intake.max_supplement_mg, Some(400.0));
        assert_eq!(intake.days_over_ul, 1);
        assert_eq!(intake.days.len(), 3);
        // Side effects on 2 days, one with any: diarrhea 2, cramps 1.
        assert_eq!(side.days_logged, 2);
        assert_eq!(side.days_with_any, 1);
        assert_eq!(
            (side.worst_diarrhea, side.worst_nausea, side.worst_cramps),
            (2, 0, 1)
        );
    }
}
