//! The personal magnesium plan: limits, food first, whether and what to supplement, when to take
//! it, lifestyle, iron, and the flags that need a clinician. Every recommendation carries its
//! reason and the ids of its sources, resolved in `Plan::sources`.

use crate::clock::ClockTime;
use crate::food::intake::{gap_closers, GapCloser};
use crate::food::FoodTable;
use crate::medicines::{Identification, MedicineIndex};
use crate::profile::{GiTolerance, Profile, Sex};
use crate::reference::{
    FoodGroup, LifeStage, LifestyleMeasure, ReferenceData, RuleKind, Severity, SexRow, Source,
};
use crate::timing::{choose_dose_time, DoseTime, SpacingConstraint};
use serde::Serialize;
use std::collections::BTreeMap;

/// The JSON layout version of [`Plan`].
pub const PLAN_SCHEMA: &str = "quietlegs.plan/1";

/// A point the person (or their clinician) must see.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Flag {
    pub code: String,
    pub severity: Severity,
    pub message: String,
    pub sources: Vec<String>,
}

/// How far food and current supplements get towards the RDA.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FoodFirst {
    pub dietary_mg: Option<f64>,
    pub current_supplement_mg: f64,
    /// Food plus current supplements, when food intake is known.
    pub total_mg: Option<f64>,
    /// RDA minus the total (negative when above the RDA), when both are known.
    pub gap_to_rda_mg: Option<f64>,
    pub message: String,
    /// Foods in realistic portions that would close the gap (when the gap is known).
    pub suggestions: Vec<GapCloser>,
    pub food_groups: Vec<FoodGroup>,
    pub sources: Vec<String>,
}

/// The suggested supplement.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SupplementAdvice {
    /// Form family, as on a label ("citrate").
    pub form: String,
    /// Elemental magnesium to add per day.
    pub elemental_mg: u32,
    pub take_at: ClockTime,
    /// Current supplements plus this dose, against the upper limit.
    pub total_supplemental_mg: f64,
    pub reason: String,
    pub timing_reason: String,
    pub sources: Vec<String>,
}

/// What the plan says about iron.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IronAdvice {
    /// unknown | low | borderline | adequate
    pub status: &'static str,
    pub ferritin_ng_ml: Option<f64>,
    pub tsat_percent: Option<f64>,
    pub message: String,
    pub sources: Vec<String>,
}

/// How one entry of the medication list was read.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MedicineReading {
    pub name: String,
    pub times: Vec<ClockTime>,
    #[serde(flatten)]
    pub identification: Identification,
    /// The class and rule of each recognised medicine.
    pub classes: Vec<MedicineClassReading>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MedicineClassReading {
    pub generic: String,
    pub class: String,
    pub rule: RuleKind,
}

/// The whole plan.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Plan {
    /// Identifies the JSON layout (docs/plan-json.md); bumped only on breaking changes.
    pub schema: &'static str,
    pub disclaimer: &'static str,
    pub rda_mg: Option<u32>,
    pub rda_basis: String,
    pub supplemental_ul_mg: u32,
    pub ul_note: String,
    pub limit_sources: Vec<String>,
    pub food_first: FoodFirst,
    pub may_start_without_clinician: bool,
    pub start_advice: String,
    pub supplement: Option<SupplementAdvice>,
    /// Why there is no supplement, when there is none.
    pub supplement_note: Option<String>,
    pub dose_time: Option<DoseTime>,
    pub flags: Vec<Flag>,
    pub medicines: Vec<MedicineReading>,
    pub lifestyle: Vec<LifestyleMeasure>,
    pub iron: IronAdvice,
    /// Every source cited anywhere in this plan.
    pub sources: BTreeMap<String, Source>,
}

/// The items in first-seen order without repeats.
fn unique(items: Vec<String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(items.len());
    for i in items {
        if !out.contains(&i) {
            out.push(i);
        }
    }
    out
}

fn flag(code: &str, severity: Severity, message: String, sources: &[String]) -> Flag {
    Flag {
        code: code.to_string(),
        severity,
        message,
        sources: unique(sources.to_vec()),
    }
}

fn fmt_mg(mg: f64) -> String {
    format!("{}", mg.round() as i64)
}

fn rda_for(profile: &Profile, data: &ReferenceData) -> (Option<u32>, String, Vec<String>) {
    let stage = if profile.pregnant {
        LifeStage::Pregnancy
    } else if profile.lactating {
        LifeStage::Lactation
    } else {
        LifeStage::General
    };
    let sex = match profile.sex {
        Sex::Female => SexRow::Female,
        Sex::Male => SexRow::Male,
    };
    let stage_word = match stage {
        LifeStage::General => "",
        LifeStage::Pregnancy => ", pregnant",
        LifeStage::Lactation => ", lactating",
    };
    let sex_word = match profile.sex {
        Sex::Female => "female",
        Sex::Male => "male",
    };
    let row = data.rda.iter().find(|r| {
        r.age_min <= profile.age
            && profile.age <= r.age_max
            && (r.sex == SexRow::Any || r.sex == sex)
            && r.life_stage == stage
    });
    match row {
        Some(r) => {
            let ages = if r.age_max >= 120 {
                format!("{}+", r.age_min)
            } else {
                format!("{}-{}", r.age_min, r.age_max)
            };
            (
                Some(r.rda_mg),
                format!("{sex_word}, age {ages}{stage_word}"),
                vec![r.source.clone()],
            )
        }
        None => (
            None,
            format!(
                "{sex_word}, age {}{stage_word}: no RDA is tabulated for this life stage; ask your \
                 clinician",
                profile.age
            ),
            vec!["iom-dri-2006".to_string()],
        ),
    }
}

/// Builds the plan for a validated profile; `foods` supplies the food-first suggestions.
pub fn build_plan(profile: &Profile, data: &ReferenceData, foods: &FoodTable) -> Plan {
    let rules = &data.rules;
    let mut flags: Vec<Flag> = Vec::new();

    // Limits.
    let (rda_mg, rda_basis, rda_sources) = rda_for(profile, data);
    let ul_row = data
        .supplemental_ul
        .iter()
        .find(|r| r.age_min <= profile.age && profile.age <= r.age_max);
    // Profiles are validated to ages the UL table covers; 0 would mean "no supplement at all".
    let supplemental_ul_mg = ul_row.map(|r| r.ul_mg).unwrap_or(0);
    let mut limit_sources = rda_sources;
    limit_sources.extend(ul_row.map(|r| r.source.clone()));
    limit_sources.extend(["rda-scope".to_string(), "efsa-ul-mg".to_string()]);
    let limit_sources = unique(limit_sources);
    let ul_note = format!(
        "The upper limit of {supplemental_ul_mg} mg/day counts magnesium from supplements and \
         medicines only (food and water do not count); its first sign of excess is diarrhea. The \
         EU (EFSA) sets a lower 250 mg/day for supplements."
    );

    // Age, pregnancy, kidney, conditions.
    let adult = &rules.adult;
    if profile.age < adult.min_age_years {
        flags.push(flag(
            "under-18",
            Severity::Stop,
            format!(
                "Age {}: quietlegs does not suggest supplements under {}; ask a paediatric \
                 clinician. The RDA and limit are shown for reference.",
                profile.age, adult.min_age_years
            ),
            &adult.sources,
        ));
    }
    if profile.pregnant || profile.lactating {
        let what = if profile.pregnant {
            "Pregnant"
        } else {
            "Breastfeeding"
        };
        flags.push(flag(
            "pregnancy",
            Severity::Caution,
            format!(
                "{what}: RLS is common in pregnancy and every treatment's safety must be weighed; \
                 check any supplement with your midwife, obstetrician or GP first. The supplement \
                 limit stays {supplemental_ul_mg} mg/day."
            ),
            &["aasm-2024-rls".to_string(), "iom-dri-2006".to_string()],
        ));
    }
    kidney_flag(profile, data, &mut flags);
    for c in &profile.conditions {
        if let Some(rule) = rules.condition.iter().find(|r| &r.id == c) {
            flags.push(flag(
                &rule.flag,
                rule.severity,
                rule.message.clone(),
                &rule.sources,
            ));
        }
    }
    if profile.age >= rules.older_adult.min_age_years {
        flags.push(flag(
            "deficiency-risk",
            Severity::Info,
            format!(
                "Age {}: absorption falls and urinary loss rises with age, so older adults are \
                 more often short of magnesium.",
                profile.age
            ),
            &rules.older_adult.sources,
        ));
    }

    // Medicines.
    let index = MedicineIndex::new(data);
    let mut medicines = Vec::new();
    let mut constraints: Vec<SpacingConstraint> = Vec::new();
    let mut timed_spacing_flags: Vec<usize> = Vec::new();
    for m in &profile.medications {
        let identification = index.identify(&m.name);
        let generics: Vec<String> = match &identification {
            Identification::Recognised { generics } => generics.clone(),
            Identification::Corrected {
                generic,
                matched_name,
            } => {
                flags.push(flag(
                    "unknown-medicine",
                    Severity::Info,
                    format!(
                        "'{}' is not a name quietlegs knows; read as '{matched_name}' \
                         ({generic}). Correct the profile if that is wrong.",
                        m.name
                    ),
                    &[],
                ));
                vec![generic.clone()]
            }
            Identification::Unknown { suggestions } => {
                flags.push(flag(
                    "unknown-medicine",
                    Severity::Caution,
                    format!(
                        "'{}' matched no medicine quietlegs knows ({}), so it was not \
                         screened: check the spelling, or ask your pharmacist whether it \
                         interacts with magnesium.",
                        m.name,
                        if suggestions.is_empty() {
                            "no close name".to_string()
                        } else {
                            format!("closest: {}", suggestions.join(", "))
                        }
                    ),
                    &[],
                ));
                vec![]
            }
        };
        let mut classes = Vec::new();
        for generic in &generics {
            let Some(class) = index.class_of(generic) else {
                continue;
            };
            classes.push(MedicineClassReading {
                generic: generic.clone(),
                class: class.id.clone(),
                rule: class.rule,
            });
            let Some(code) = &class.flag else { continue };
            let who = if &m.name.to_lowercase() == generic {
                generic.clone()
            } else {
                format!("{} ({generic})", m.name)
            };
            match class.rule {
                RuleKind::Spacing => {
                    let (before, after) = (
                        class.drug_before_mg_hours.unwrap_or(0),
                        class.drug_after_mg_hours.unwrap_or(0),
                    );
                    if m.times.is_empty() {
                        flags.push(flag(
                            code,
                            Severity::Caution,
                            format!(
                                "{who}: {} Add its dose times to the profile (times = \
                                 [\"08:00\"]) so quietlegs can time the magnesium around it.",
                                class.note
                            ),
                            &class.sources,
                        ));
                    } else {
                        for &t in &m.times {
                            constraints.push(SpacingConstraint {
                                medicine: who.clone(),
                                drug_time: t,
                                drug_before_mg_minutes: (before * 60) as u16,
                                drug_after_mg_minutes: (after * 60) as u16,
                            });
                        }
                        timed_spacing_flags.push(flags.len());
                        flags.push(flag(
                            code,
                            Severity::Info,
                            format!(
                                "{who} at {}: {} The dose time below keeps this spacing.",
                                m.times
                                    .iter()
                                    .map(ToString::to_string)
                                    .collect::<Vec<_>>()
                                    .join(", "),
                                class.note
                            ),
                            &class.sources,
                        ));
                    }
                }
                _ => {
                    let mut message = format!("{who}: {}", class.note);
                    if class.rule == RuleKind::RlsWorsening {
                        if class.alternatives.is_empty() {
                            message.push_str(
                                " Ask your prescriber whether a lower-risk alternative exists.",
                            );
                        } else {
                            message.push_str(&format!(
                                " Lower-risk options to discuss with your prescriber: {}.",
                                class.alternatives.join(", ")
                            ));
                        }
                    }
                    flags.push(flag(
                        code,
                        class.severity.unwrap_or(Severity::Caution),
                        message,
                        &class.sources,
                    ));
                }
            }
        }
        medicines.push(MedicineReading {
            name: m.name.clone(),
            times: m.times.clone(),
            identification,
            classes,
        });
    }

    // Current supplements against the limit.
    let current = profile.current_supplement_mg();
    let room = f64::from(supplemental_ul_mg) - current;
    let ul_sources = vec!["iom-dri-2006".to_string(), "iom-1997-mg".to_string()];
    if room < 0.0 {
        flags.push(flag(
            "ul-exceeded",
            Severity::Stop,
            format!(
                "Your current supplements give {} mg of magnesium a day, above the upper limit \
                 of {supplemental_ul_mg} mg. Do not add more; ask your clinician whether to \
                 lower it.",
                fmt_mg(current)
            ),
            &ul_sources,
        ));
    } else if room == 0.0 && current > 0.0 {
        flags.push(flag(
            "ul-exceeded",
            Severity::Caution,
            format!(
                "Your current supplements already give the upper limit of {supplemental_ul_mg} \
                 mg a day: there is no room for more."
            ),
            &ul_sources,
        ));
    }

    // Iron.
    let iron = iron_advice(profile, data, &mut flags);

    // Timing and the supplement.
    let timing = &rules.timing;
    let dose_time = choose_dose_time(
        profile.bedtime,
        timing.minutes_before_bed,
        timing.search_step_minutes,
        &constraints,
    );
    if dose_time.take_at.is_none() {
        let windows: Vec<String> = constraints
            .iter()
            .map(|c| {
                let (a, b) = c.excluded_window();
                format!(
                    "{} at {} rules out magnesium between {a} and {b}",
                    c.medicine, c.drug_time
                )
            })
            .collect();
        flags.push(flag(
            "no-safe-dose-time",
            Severity::Stop,
            format!(
                "No time of day keeps every spacing rule: {}. Ask your pharmacist to re-time \
                 these medicines before adding magnesium.",
                windows.join("; ")
            ),
            &timing.sources,
        ));
        for &i in &timed_spacing_flags {
            flags[i].severity = Severity::Caution;
            flags[i].message = flags[i].message.replace(
                "The dose time below keeps this spacing.",
                "No dose time fits.",
            );
        }
    }

    let stops: Vec<&str> = flags
        .iter()
        .filter(|f| f.severity == Severity::Stop)
        .map(|f| f.code.as_str())
        .collect();
    let cautions: Vec<&str> = flags
        .iter()
        .filter(|f| f.severity == Severity::Caution)
        .map(|f| f.code.as_str())
        .collect();
    let (supplement, supplement_note) = if !stops.is_empty() {
        (
            None,
            Some(format!(
                "No supplement is suggested until a clinician has looked at: {}.",
                stops.join(", ")
            )),
        )
    } else {
        suggest_supplement(profile, data, room, current, &dose_time)
    };
    let may_start_without_clinician = stops.is_empty() && cautions.is_empty();
    let start_advice = if !stops.is_empty() {
        format!(
            "No: talk to your clinician before taking any magnesium supplement ({}).",
            stops.join(", ")
        )
    } else if !cautions.is_empty() {
        format!(
            "Ask your clinician or pharmacist first about: {}.",
            unique(cautions.iter().map(|c| c.to_string()).collect()).join(", ")
        )
    } else {
        "Yes: nothing in your profile calls for a clinician first. Still tell your clinician and \
         pharmacist that you take magnesium."
            .to_string()
    };

    let food_first = food_first(profile, data, foods, rda_mg, current);
    flags.sort_by(|a, b| a.severity.cmp(&b.severity).then(a.code.cmp(&b.code)));

    let mut plan = Plan {
        schema: PLAN_SCHEMA,
        disclaimer: crate::DISCLAIMER,
        rda_mg,
        rda_basis,
        supplemental_ul_mg,
        ul_note,
        limit_sources,
        food_first,
        may_start_without_clinician,
        start_advice,
        supplement,
        supplement_note,
        dose_time: Some(dose_time),
        flags,
        medicines,
        lifestyle: data.lifestyle.clone(),
        iron,
        sources: BTreeMap::new(),
    };
    plan.sources = cited_sources(&plan, data);
    plan
}

fn kidney_flag(profile: &Profile, data: &ReferenceData, flags: &mut Vec<Flag>) {
    let k = &profile.kidney;
    let rule = &data.rules.kidney;
    let mut stop_reasons = Vec::new();
    let mut caution_reasons = Vec::new();
    if k.dialysis {
        stop_reasons.push("on dialysis".to_string());
    }
    if let Some(e) = k.egfr {
        if e < rule.stop_egfr_below {
            stop_reasons.push(format!("eGFR {e} (below {})", rule.stop_egfr_below));
        } else if e < rule.caution_egfr_below {
            caution_reasons.push(format!(
                "eGFR {e} ({}-{})",
                rule.stop_egfr_below,
                rule.caution_egfr_below - 1.0
            ));
        }
    }
    if let Some(s) = k.ckd_stage {
        if s >= rule.stop_ckd_stage_min {
            stop_reasons.push(format!("CKD stage {s}"));
        } else if s >= rule.caution_ckd_stage_min {
            caution_reasons.push(format!("CKD stage {s}"));
        }
    }
    if !stop_reasons.is_empty() {
        flags.push(flag(
            "kidney-disease",
            Severity::Stop,
            format!(
                "Kidney function ({}): the kidneys clear magnesium, and with severe kidney \
                 disease supplements can build up to toxic levels. Take no magnesium supplement \
                 (including antacids and laxatives) unless your kidney team prescribes it.",
                stop_reasons.join(", ")
            ),
            &rule.sources,
        ));
    } else if !caution_reasons.is_empty() {
        flags.push(flag(
            "kidney-disease",
            Severity::Caution,
            format!(
                "Kidney function ({}): moderately reduced clearance of magnesium. Ask your \
                 clinician before starting a supplement and whether to check serum magnesium.",
                caution_reasons.join(", ")
            ),
            &rule.sources,
        ));
    }
}

fn iron_advice(profile: &Profile, data: &ReferenceData, flags: &mut Vec<Flag>) -> IronAdvice {
    let rule = &data.rules.iron;
    let sources = rule.sources.clone();
    let (ferritin, tsat) = (profile.ferritin_ng_ml, profile.tsat_percent);
    let child = profile.age < data.rules.adult.min_age_years;
    let test_how = "Draw it in the morning, with no iron supplements or iron-rich food for 24 h \
                    before.";
    let low_ferritin = match (ferritin, child) {
        (Some(f), false) => f <= rule.low_ferritin_max_ng_ml,
        (Some(f), true) => f < rule.paediatric_low_ferritin_below_ng_ml,
        (None, _) => false,
    };
    let low_tsat = tsat.is_some_and(|t| t < rule.low_tsat_below_percent);
    let missing: Vec<&str> = [
        ferritin.is_none().then_some("ferritin"),
        tsat.is_none().then_some("transferrin saturation (TSAT)"),
    ]
    .into_iter()
    .flatten()
    .collect();
    let (status, message) = if low_ferritin || low_tsat {
        let mut why = Vec::new();
        if low_ferritin {
            let f = ferritin.unwrap_or_default();
            if child {
                why.push(format!(
                    "ferritin {f} ng/mL (paediatric threshold below {})",
                    rule.paediatric_low_ferritin_below_ng_ml
                ));
            } else {
                why.push(format!(
                    "ferritin {f} ng/mL (at or below {})",
                    rule.low_ferritin_max_ng_ml
                ));
            }
        }
        if low_tsat {
            why.push(format!(
                "TSAT {}% (below {}%)",
                tsat.unwrap_or_default(),
                rule.low_tsat_below_percent
            ));
        }
        let message = format!(
            "Iron: {}. Iron is the best-supported nutritional factor in RLS: discuss oral or IV \
             iron with your clinician. Do not start iron without a clinician; too much iron is \
             harmful.",
            why.join(" and ")
        );
        flags.push(flag(
            "iron-low",
            Severity::Caution,
            message.clone(),
            &sources,
        ));
        ("low", message)
    } else if !child
        && ferritin.is_some_and(|f| {
            f > rule.low_ferritin_max_ng_ml && f <= rule.borderline_ferritin_max_ng_ml
        })
    {
        let message = format!(
            "Iron: ferritin {} ng/mL is between {} and {}: the 2024 AASM guideline suggests IV \
             iron may be considered in this range; worth a word with your clinician.",
            ferritin.unwrap_or_default(),
            rule.low_ferritin_max_ng_ml,
            rule.borderline_ferritin_max_ng_ml
        );
        flags.push(flag(
            "iron-borderline",
            Severity::Info,
            message.clone(),
            &sources,
        ));
        ("borderline", message)
    } else if !missing.is_empty() {
        let message = format!(
            "Iron: {} not known. Guidelines advise testing ferritin and TSAT in everyone with \
             RLS. {test_how}",
            missing.join(" and ")
        );
        flags.push(flag("iron-test", Severity::Info, message.clone(), &sources));
        ("unknown", message)
    } else {
        (
            "adequate",
            format!(
                "Iron: ferritin {} ng/mL and TSAT {}% are above the RLS treatment thresholds. \
                 Retest if symptoms worsen.",
                ferritin.unwrap_or_default(),
                tsat.unwrap_or_default()
            ),
        )
    };
    IronAdvice {
        status,
        ferritin_ng_ml: ferritin,
        tsat_percent: tsat,
        message,
        sources,
    }
}

fn suggest_supplement(
    profile: &Profile,
    data: &ReferenceData,
    room: f64,
    current: f64,
    dose_time: &DoseTime,
) -> (Option<SupplementAdvice>, Option<String>) {
    let rules = &data.rules;
    let dose = &rules.dose;
    let (start, mut sources) = match profile.gi_tolerance {
        GiTolerance::Sensitive => (
            dose.sensitive_start_elemental_mg,
            dose.sensitive_sources.clone(),
        ),
        _ => (dose.start_elemental_mg, dose.start_sources.clone()),
    };
    let room_mg = room.max(0.0).floor() as u32;
    let step = dose.step_mg.max(1);
    let elemental = start.min(room_mg) / step * step;
    if elemental < dose.min_useful_elemental_mg {
        return (
            None,
            Some(format!(
                "No supplement is suggested: your current supplements ({} mg) leave {} mg under \
                 the upper limit, less than the {} mg that is worth adding.",
                fmt_mg(current),
                room_mg,
                dose.min_useful_elemental_mg
            )),
        );
    }
    let Some(take_at) = dose_time.take_at else {
        return (
            None,
            Some("No supplement is suggested: no dose time keeps the spacing rules.".into()),
        );
    };
    let choice = rules
        .form_choice
        .iter()
        .find(|c| c.gi_tolerance == profile.gi_tolerance.as_str());
    let Some(choice) = choice else {
        return (
            None,
            Some(format!(
                "No form is tabulated for gi_tolerance = {}; ask your pharmacist.",
                profile.gi_tolerance.as_str()
            )),
        );
    };
    sources.extend(choice.sources.iter().cloned());
    sources.extend(rules.poorly_absorbed.sources.iter().cloned());
    let dose_why = if elemental < start {
        format!(
            "capped so that with your current {} mg you stay within the {} mg limit",
            fmt_mg(current),
            fmt_mg(room + current)
        )
    } else if profile.gi_tolerance == GiTolerance::Sensitive {
        "a low start because of your sensitive gut; diarrhea is the first sign of too much"
            .to_string()
    } else {
        "the daily dose of the only RLS pilot that measured the IRLS (Gorantla 2024)".to_string()
    };
    let mut reason = format!(
        "{} Dose: {elemental} mg elemental magnesium a day, {dose_why}",
        choice.reason
    );
    reason.push_str(&format!(". {}", rules.poorly_absorbed.note));
    reason.push_str(
        " Count elemental magnesium from the label's Supplement Facts, not the salt weight.",
    );
    let timing_reason = if dose_time.conflicts_at_target.is_empty() {
        format!(
            "About {} minutes before your bedtime ({}).",
            rules.timing.minutes_before_bed, profile.bedtime
        )
    } else {
        let names: Vec<String> = dose_time
            .conflicts_at_target
            .iter()
            .map(|c| format!("{} at {}", c.medicine, c.drug_time))
            .collect();
        format!(
            "Moved from {} (30 minutes before bed) to {take_at} to keep the spacing from {}.",
            dose_time.target,
            names.join(", ")
        )
    };
    sources.extend(rules.timing.sources.iter().cloned());
    let sources = unique(sources);
    (
        Some(SupplementAdvice {
            form: choice.family.clone(),
            elemental_mg: elemental,
            take_at,
            total_supplemental_mg: current + f64::from(elemental),
            reason,
            timing_reason,
            sources,
        }),
        None,
    )
}

fn food_first(
    profile: &Profile,
    data: &ReferenceData,
    foods: &FoodTable,
    rda_mg: Option<u32>,
    current: f64,
) -> FoodFirst {
    let dietary = profile.dietary_magnesium_mg;
    let total = dietary.map(|d| d + current);
    let gap = match (rda_mg, total) {
        (Some(r), Some(t)) => Some(f64::from(r) - t),
        _ => None,
    };
    let message = match (rda_mg, dietary, gap) {
        (Some(r), Some(d), Some(g)) if g > 0.0 => format!(
            "Food gives about {} mg and supplements {} mg: {} mg short of your RDA of {r} mg. \
             Close the gap with food first: the foods below in everyday portions would do it.",
            fmt_mg(d),
            fmt_mg(current),
            fmt_mg(g)
        ),
        (Some(r), Some(d), _) => format!(
            "Food gives about {} mg and supplements {} mg: your RDA of {r} mg is met. A \
             supplement for RLS is then a test, not a need: run an n-of-1 trial to see whether \
             it helps you.",
            fmt_mg(d),
            fmt_mg(current)
        ),
        (Some(r), None, _) => format!(
            "Your food intake is not known, so the gap to your RDA of {r} mg is not known. Add \
             dietary_magnesium_mg to the profile (a typical day's estimate) and eat from the \
             groups below first."
        ),
        (None, _, _) => "No RDA is tabulated for your life stage; ask your clinician, and eat \
                         from the groups below."
            .to_string(),
    };
    FoodFirst {
        dietary_mg: dietary,
        current_supplement_mg: current,
        total_mg: total,
        gap_to_rda_mg: gap,
        message,
        suggestions: gap.map(|g| gap_closers(foods, g, &[])).unwrap_or_default(),
        food_groups: data.food_groups.clone(),
        sources: vec![
            "rda-scope".to_string(),
            "usda-food-groups".to_string(),
            "usda-sr28".to_string(),
        ],
    }
}

fn cited_sources(plan: &Plan, data: &ReferenceData) -> BTreeMap<String, Source> {
    let mut ids: Vec<&String> = Vec::new();
    ids.extend(&plan.limit_sources);
    ids.extend(&plan.food_first.sources);
    for g in &plan.food_first.food_groups {
        ids.extend(&g.sources);
    }
    if let Some(s) = &plan.supplement {
        ids.extend(&s.sources);
    }
    for f in &plan.flags {
        ids.extend(&f.sources);
    }
    for l in &plan.lifestyle {
        ids.extend(&l.sources);
    }
    ids.extend(&plan.iron.sources);
    ids.into_iter()
        .filter_map(|id| data.source(id).map(|s| (id.clone(), s.clone())))
        .collect()
}
