//! The personal magnesium plan: limits, food first, whether and what to supplement, when to take
//! it, lifestyle, iron, and the flags that need a clinician. Every recommendation carries its
//! reason and the ids of its sources, resolved in `Plan::sources`.

use crate::clock::ClockTime;
use crate::food::intake::{gap_closers, GapCloser};
use crate::food::FoodTable;
use crate::forms::FormCatalogue;
use crate::medicines::{Identification, MedicineIndex, MedicineMagnesium};
use crate::profile::{GiTolerance, Profile, Sex};
use crate::reference::{
    EvidenceNote, FoodGroup, LifeStage, LifestyleMeasure, ReferenceData, RuleKind, Severity,
    SexRow, Source,
};
use crate::timing::{choose_dose_time, DoseTime, SpacingConstraint};
use serde::Serialize;
use std::collections::BTreeMap;

/// The JSON layout version of [`Plan`].
pub const PLAN_SCHEMA: &str = "quietlegs.plan/2";

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
    /// True when the plan asks for a clinician first: the dose is "only if your clinician
    /// agrees", never a plain instruction.
    pub conditional: bool,
    /// Current supplements plus this dose, against the upper limit.
    pub total_supplemental_mg: f64,
    pub reason: String,
    pub timing_reason: String,
    pub sources: Vec<String>,
}

/// What the plan says about iron.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IronAdvice {
    /// unknown | low | borderline | adequate | possible-overload | raised-ferritin |
    /// results-conflict
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
    /// For a medicine that contains magnesium: how much is counted toward the upper limit.
    pub magnesium: Option<MedicineMagnesiumReading>,
}

impl MedicineReading {
    /// One line for a person: the name, its times, how it was read (classes, words not
    /// recognised, suggestions) and the magnesium counted from it, e.g.
    /// "Maalox at 08:00: aluminium hydroxide (…) + …; magnesium counted: 170 mg/day".
    pub fn describe(&self) -> String {
        let times = if self.times.is_empty() {
            " (no times given)".to_string()
        } else {
            let list: Vec<String> = self.times.iter().map(ToString::to_string).collect();
            format!(" at {}", list.join(", "))
        };
        let mut reading = if self.classes.is_empty() {
            "not recognised, not screened".to_string()
        } else {
            self.classes
                .iter()
                .map(|c| format!("{} ({})", c.generic, c.class))
                .collect::<Vec<_>>()
                .join(" + ")
        };
        match &self.identification {
            Identification::PartlyRecognised {
                unmatched_words, ..
            } => reading.push_str(&format!("; '{}' not recognised", unmatched_words.join(" "))),
            Identification::Unknown { suggestions } if !suggestions.is_empty() => {
                reading.push_str(&format!(" (did you mean {}?)", suggestions.join(" or ")))
            }
            _ => {}
        }
        if let Some(mg) = &self.magnesium {
            match mg.elemental_mg_per_day {
                Some(v) => reading.push_str(&format!("; magnesium counted: {v:.0} mg/day")),
                None => reading.push_str("; contains magnesium, amount not counted"),
            }
        }
        format!("{}{times}: {reading}", self.name)
    }
}

/// The magnesium a medicine gives, as counted toward the upper limit.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MedicineMagnesiumReading {
    pub per_dose: MedicineMagnesium,
    /// Its dose times, or 1 when none are given.
    pub doses_per_day: u32,
    /// None when the amount cannot be counted.
    pub elemental_mg_per_day: Option<f64>,
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
    /// Magnesium counted from magnesium-containing medicines, mg a day (included in the
    /// supplemental total against the upper limit).
    pub magnesium_from_medicines_mg: f64,
    pub lifestyle: Vec<LifestyleMeasure>,
    /// Side effects and what to do, signs of too much magnesium, telling the clinician.
    pub safety: Vec<LifestyleMeasure>,
    /// What the evidence says, and why to test it.
    pub evidence: EvidenceNote,
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
        LifeStage::Lactation => ", breastfeeding",
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

    let limits = limits(profile, data);
    person_flags(profile, data, &mut flags);
    let kidney = kidney_flag(profile, data, &mut flags);
    let screen = screen_medicines(profile, data, &mut flags);
    let magnesium_medicines: Vec<&MedicineReading> = screen
        .readings
        .iter()
        .filter(|r| r.magnesium.is_some())
        .collect();
    if kidney.is_some() && !magnesium_medicines.is_empty() {
        let names: Vec<&str> = magnesium_medicines
            .iter()
            .map(|r| r.name.as_str())
            .collect();
        flags.push(flag(
            "kidney-magnesium-medicine",
            Severity::Stop,
            format!(
                "{} {} magnesium, and with reduced kidney function magnesium can build up to \
                 harmful levels: the labels say to ask a doctor before use with kidney disease. \
                 Take {} only as your kidney team advises, and no magnesium supplement.",
                names.join(", "),
                if names.len() == 1 {
                    "contains"
                } else {
                    "contain"
                },
                if names.len() == 1 { "it" } else { "them" }
            ),
            &unique(
                [
                    "otc-label-kidney".to_string(),
                    "uk-smpc-renal".to_string(),
                    "iom-1997-mg".to_string(),
                ]
                .to_vec(),
            ),
        ));
    }

    // Magnesium already taken (supplements and medicines) against the limit.
    let supplement_mg = profile.current_supplement_mg();
    let current = supplement_mg + screen.medicine_magnesium_mg;
    let room = f64::from(limits.supplemental_ul_mg) - current;
    limit_flags(&limits, supplement_mg, &screen, current, &mut flags);

    // Iron.
    let iron = iron_advice(profile, data, &mut flags);

    // Timing: the waking day, the spacing rules, and the magnesium already timed.
    let timing = &rules.timing;
    let wake = profile.wake.unwrap_or_else(|| {
        ClockTime::from_minutes_wrapping(
            i32::from(profile.bedtime.minutes()) + i32::from(timing.default_sleep_hours) * 60,
        )
    });
    current_magnesium_timing_flags(profile, &screen, &mut flags);
    let mut dose_time = choose_dose_time(
        profile.bedtime,
        wake,
        timing.minutes_before_bed,
        timing.search_step_minutes,
        &screen.constraints,
    );
    if dose_time.take_at.is_none() {
        let windows: Vec<String> = screen
            .constraints
            .iter()
            .map(|c| {
                let (a, b) = c.excluded_window();
                format!(
                    "{} at {} rules out magnesium between {a} and {b}",
                    c.medicine, c.drug_time
                )
            })
            .collect();
        let mut sources = timing.sources.clone();
        sources.extend(timing.sleep_sources.iter().cloned());
        flags.push(flag(
            "no-safe-dose-time",
            Severity::Stop,
            format!(
                "No time in your waking day ({wake} to bedtime {}) keeps every spacing rule: {}. \
                 Ask your pharmacist to re-time these medicines before adding magnesium.",
                profile.bedtime,
                if windows.is_empty() {
                    "you are awake less than the dose's lead time before bed".to_string()
                } else {
                    windows.join("; ")
                }
            ),
            &sources,
        ));
        for &i in &screen.timed_spacing_flags {
            flags[i].severity = Severity::Caution;
            flags[i].message = flags[i].message.replace(
                "The dose time below keeps this spacing.",
                "No dose time fits.",
            );
        }
    }

    // The same point twice (a condition listed twice, a name matched twice) is said once.
    let mut seen = std::collections::BTreeSet::new();
    flags.retain(|f| seen.insert((f.code.clone(), f.message.clone())));
    let stops = codes_of(&flags, Severity::Stop);
    let cautions = codes_of(&flags, Severity::Caution);
    let (mut supplement, supplement_note) = if !stops.is_empty() {
        (
            None,
            Some(format!(
                "No supplement is suggested until a clinician has looked at: {}.",
                stops.join(", ")
            )),
        )
    } else if !screen.uncounted_magnesium.is_empty() {
        (
            None,
            Some(format!(
                "No supplement is suggested: {} contain{} magnesium in an amount quietlegs cannot \
                 count, so the upper limit cannot be checked. Add the amount to the entry (for \
                 example 'Milk of Magnesia 15 mL') or ask your pharmacist.",
                screen.uncounted_magnesium.join(", "),
                if screen.uncounted_magnesium.len() == 1 {
                    "s"
                } else {
                    ""
                }
            )),
        )
    } else {
        suggest_supplement(profile, data, room, current, &dose_time)
    };
    let may_start_without_clinician = stops.is_empty() && cautions.is_empty();
    if let Some(s) = supplement.as_mut() {
        s.conditional = !may_start_without_clinician;
    }
    if supplement.is_none() {
        dose_time.take_at = None;
    }
    let start_advice = if !stops.is_empty() {
        format!(
            "No: talk to your clinician before taking any magnesium supplement ({}).",
            stops.join(", ")
        )
    } else if !cautions.is_empty() {
        format!(
            "Not yet: ask your clinician or pharmacist first about: {}.{}",
            cautions.join(", "),
            if supplement.is_some() {
                " Take the supplement below only if they agree."
            } else {
                ""
            }
        )
    } else if supplement.is_none() {
        format!(
            "No new supplement: {}",
            supplement_note
                .as_deref()
                .unwrap_or("the plan suggests no supplement.")
        )
    } else {
        "Yes: nothing in your profile calls for a clinician first. Still tell your clinician and \
         pharmacist that you take magnesium."
            .to_string()
    };

    let potassium_care = kidney == Some(Severity::Caution)
        || screen
            .readings
            .iter()
            .any(|r| r.classes.iter().any(|c| c.rule == RuleKind::Retention));
    let mut food_first = food_first(
        profile,
        data,
        foods,
        limits.rda_mg,
        (supplement_mg, screen.medicine_magnesium_mg),
        kidney == Some(Severity::Stop),
        !stops.is_empty(),
    );
    if potassium_care && kidney != Some(Severity::Stop) {
        food_first.message.push_str(
            " With reduced kidney function or a potassium-sparing diuretic, potassium can build \
             up: many of these foods (beans, nuts, bananas, avocado) are rich in it, so ask your \
             clinician before eating much more of them.",
        );
        food_first.sources.push("kdigo-2024-ckd".to_string());
    }
    flags.sort_by(|a, b| a.severity.cmp(&b.severity).then(a.code.cmp(&b.code)));

    let mut plan = Plan {
        schema: PLAN_SCHEMA,
        disclaimer: crate::DISCLAIMER,
        rda_mg: limits.rda_mg,
        rda_basis: limits.rda_basis,
        supplemental_ul_mg: limits.supplemental_ul_mg,
        ul_note: limits.ul_note,
        limit_sources: limits.sources,
        food_first,
        may_start_without_clinician,
        start_advice,
        supplement,
        supplement_note,
        dose_time: Some(dose_time),
        flags,
        medicines: screen.readings,
        magnesium_from_medicines_mg: no_negative_zero(screen.medicine_magnesium_mg),
        lifestyle: data
            .lifestyle
            .iter()
            .filter(|l| !l.adults_only || profile.age >= rules.adult.min_age_years)
            .cloned()
            .collect(),
        safety: data.safety.clone(),
        evidence: data.evidence.clone(),
        iron,
        sources: BTreeMap::new(),
    };
    plan.sources = cited_sources(&plan, data);
    plan
}

/// `-0.0` printed as "-0" confuses people and scripts; every other value is unchanged.
fn no_negative_zero(x: f64) -> f64 {
    if x == 0.0 {
        0.0
    } else {
        x
    }
}

fn codes_of(flags: &[Flag], severity: Severity) -> Vec<String> {
    unique(
        flags
            .iter()
            .filter(|f| f.severity == severity)
            .map(|f| f.code.clone())
            .collect(),
    )
}

/// The RDA, the supplemental upper limit and the notes on them.
struct Limits {
    rda_mg: Option<u32>,
    rda_basis: String,
    supplemental_ul_mg: u32,
    ul_note: String,
    sources: Vec<String>,
}

fn limits(profile: &Profile, data: &ReferenceData) -> Limits {
    let (rda_mg, rda_basis, rda_sources) = rda_for(profile, data);
    let ul_row = data
        .supplemental_ul
        .iter()
        .find(|r| r.age_min <= profile.age && profile.age <= r.age_max);
    // Profiles are validated to ages the UL table covers; 0 would mean "no supplement at all".
    let supplemental_ul_mg = ul_row.map(|r| r.ul_mg).unwrap_or(0);
    let efsa = &data.rules.efsa;
    let mut sources = rda_sources;
    sources.extend(ul_row.map(|r| r.source.clone()));
    sources.push("rda-scope".to_string());
    sources.extend(efsa.sources.iter().cloned());
    let eu = if profile.age >= efsa.min_age_years && efsa.ul_mg < supplemental_ul_mg {
        format!(
            "The EU (EFSA) sets a lower {} mg/day for supplements from age {}{}.",
            efsa.ul_mg,
            efsa.min_age_years,
            if profile.pregnant || profile.lactating {
                ", in pregnancy and breastfeeding too"
            } else {
                ""
            }
        )
    } else if profile.age >= efsa.min_age_years {
        format!(
            "The EU (EFSA) limit of {} mg/day is higher than this one; the lower limit above \
             applies.",
            efsa.ul_mg
        )
    } else {
        format!(
            "The EU (EFSA) set no upper limit for supplements below age {}.",
            efsa.min_age_years
        )
    };
    Limits {
        rda_mg,
        rda_basis,
        supplemental_ul_mg,
        ul_note: format!(
            "The upper limit of {supplemental_ul_mg} mg/day counts magnesium from supplements \
             and medicines (antacids, laxatives) together; food and water do not count. Its \
             first sign of excess is diarrhea. {eu}"
        ),
        sources: unique(sources),
    }
}

/// Age, pregnancy and the listed conditions.
fn person_flags(profile: &Profile, data: &ReferenceData, flags: &mut Vec<Flag>) {
    let rules = &data.rules;
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
        let what = match (profile.pregnant, profile.lactating) {
            (true, true) => "Pregnant and breastfeeding: RLS is common in pregnancy, and",
            (true, false) => "Pregnant: RLS is common in pregnancy, and",
            _ => "Breastfeeding:",
        };
        flags.push(flag(
            "pregnancy",
            Severity::Caution,
            format!(
                "{what} every treatment's safety for you and your baby must be weighed; check \
                 any supplement with your midwife, obstetrician or GP first."
            ),
            &["aasm-2024-rls".to_string(), "iom-dri-2006".to_string()],
        ));
    }
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
    let k = &profile.kidney;
    // Stage 0 ("no CKD") without an eGFR is a statement, not a measurement.
    if k.egfr.is_none() && matches!(k.ckd_stage, None | Some(0)) && !k.dialysis {
        let unknown = &rules.kidney_unknown;
        let mut why: Vec<String> = Vec::new();
        if profile.age >= rules.older_adult.min_age_years {
            why.push(format!("age {}", profile.age));
        }
        why.extend(
            profile
                .conditions
                .iter()
                .filter(|c| unknown.risk_conditions.contains(c))
                .cloned(),
        );
        if !why.is_empty() {
            let mut sources = unknown.sources.clone();
            sources.extend(rules.older_adult.sources.iter().cloned());
            flags.push(flag(
                "kidney-function-unknown",
                Severity::Caution,
                format!(
                    "Kidney function is not known, and you have a risk factor for kidney disease \
                     ({}). The kidneys clear magnesium: ask for a kidney blood test (eGFR) before \
                     starting magnesium, and add the result to your profile ([kidney] egfr = …).",
                    why.join(", ")
                ),
                &sources,
            ));
        }
    }
}

/// What the medicine screen found.
struct MedicineScreen {
    readings: Vec<MedicineReading>,
    constraints: Vec<SpacingConstraint>,
    /// Indices of the spacing flags raised for timed medicines (made cautions when no time fits).
    timed_spacing_flags: Vec<usize>,
    /// Magnesium counted from medicines, mg a day.
    medicine_magnesium_mg: f64,
    /// Medicines that contain magnesium in an amount that cannot be counted.
    uncounted_magnesium: Vec<String>,
}

fn screen_medicines(
    profile: &Profile,
    data: &ReferenceData,
    flags: &mut Vec<Flag>,
) -> MedicineScreen {
    let index = MedicineIndex::new(data);
    let forms = FormCatalogue::new(data);
    let mut screen = MedicineScreen {
        readings: Vec::new(),
        constraints: Vec::new(),
        timed_spacing_flags: Vec::new(),
        medicine_magnesium_mg: 0.0,
        uncounted_magnesium: Vec::new(),
    };
    for m in &profile.medications {
        let identification = index.identify(&m.name);
        match &identification {
            Identification::Recognised { .. } => {}
            Identification::PartlyRecognised {
                generics,
                unmatched_words,
                ..
            } => flags.push(flag(
                "unknown-medicine",
                Severity::Caution,
                format!(
                    "'{}': {} recognised, but '{}' matched nothing quietlegs knows, so this \
                     entry may name another medicine that was not screened (one brand often \
                     sells different medicines under one name). Check the active ingredients on \
                     the pack, or ask your pharmacist whether it interacts with magnesium.",
                    m.name,
                    generics.join(", "),
                    unmatched_words.join(" ")
                ),
                &[],
            )),
            Identification::Unknown { suggestions } => flags.push(flag(
                "unknown-medicine",
                Severity::Caution,
                format!(
                    "'{}' is not a medicine quietlegs knows, so it was not screened for \
                     interactions with magnesium{}. Ask your pharmacist whether it interacts \
                     with magnesium.",
                    m.name,
                    if suggestions.is_empty() {
                        String::new()
                    } else {
                        format!(
                            " (did you mean {}? If so, correct the name in your profile: \
                             quietlegs never applies the rules of a guess)",
                            suggestions.join(" or ")
                        )
                    }
                ),
                &[],
            )),
        }
        let mut classes = Vec::new();
        let mut contains_magnesium = false;
        for generic in identification.generics() {
            let Some(class) = index.class_of(generic) else {
                continue;
            };
            classes.push(MedicineClassReading {
                generic: generic.clone(),
                class: class.id.clone(),
                rule: class.rule,
            });
            if class.rule == RuleKind::MagnesiumSource {
                contains_magnesium = true;
                continue;
            }
            let Some(code) = &class.flag else { continue };
            let who = if m.name.to_lowercase() == *generic {
                generic.clone()
            } else {
                format!("{} ({generic})", m.name)
            };
            if class.rule == RuleKind::Spacing {
                spacing_rule(
                    m,
                    &who,
                    code,
                    class,
                    index.medicine(generic),
                    &mut screen,
                    flags,
                );
                continue;
            }
            let mut message = format!("{who}: {}", class.note);
            if class.rule == RuleKind::RlsWorsening {
                if class.alternatives.is_empty() {
                    message
                        .push_str(" Ask your prescriber whether a lower-risk alternative exists.");
                } else {
                    message.push_str(&format!(
                        " Lower-risk options to discuss with your prescriber or pharmacist{}: {}.",
                        class
                            .alternatives_for
                            .as_deref()
                            .map(|f| format!(" ({f})"))
                            .unwrap_or_default(),
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
        let magnesium = contains_magnesium.then(|| {
            let fraction = |id: &str| forms.by_id(id).map(|f| f.elemental_fraction);
            let per_dose = index.magnesium_per_dose(&m.name, &identification, fraction);
            medicine_magnesium_flag(m, &identification, per_dose, data, &mut screen, flags)
        });
        screen.readings.push(MedicineReading {
            name: m.name.clone(),
            times: m.times.clone(),
            identification,
            classes,
            magnesium,
        });
    }
    screen
}

fn spacing_rule(
    m: &crate::profile::Medication,
    who: &str,
    code: &str,
    class: &crate::reference::MedicineClass,
    row: Option<&crate::reference::MedicineRow>,
    screen: &mut MedicineScreen,
    flags: &mut Vec<Flag>,
) {
    // The medicine's own label may ask for longer than its class: the longer applies.
    let own = |v: Option<u32>| v.unwrap_or(0);
    let (before, after) = (
        own(class.drug_before_mg_hours).max(own(row.and_then(|r| r.drug_before_mg_hours))),
        own(class.drug_after_mg_hours).max(own(row.and_then(|r| r.drug_after_mg_hours))),
    );
    let longer = row.is_some_and(|r| {
        own(r.drug_before_mg_hours) > own(class.drug_before_mg_hours)
            || own(r.drug_after_mg_hours) > own(class.drug_after_mg_hours)
    });
    let mut sources = class.sources.clone();
    let note = if longer {
        sources.extend(row.map(|r| r.spacing_sources.clone()).unwrap_or_default());
        format!(
            "{} Its own label asks for longer: take it at least {before} h before or {after} h \
             after magnesium.",
            class.note
        )
    } else {
        class.note.clone()
    };
    if m.times.is_empty() {
        flags.push(flag(
            code,
            Severity::Caution,
            format!(
                "{who}: {note} Add its dose times to the profile (times = [\"08:00\"]) so \
                 quietlegs can time the magnesium around it."
            ),
            &sources,
        ));
        return;
    }
    for &t in &m.times {
        screen.constraints.push(SpacingConstraint {
            medicine: who.to_string(),
            drug_time: t,
            drug_before_mg_minutes: (before * 60) as u16,
            drug_after_mg_minutes: (after * 60) as u16,
        });
    }
    screen.timed_spacing_flags.push(flags.len());
    flags.push(flag(
        code,
        Severity::Info,
        format!(
            "{who} at {}: {note} The dose time below keeps this spacing.",
            m.times
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", "),
        ),
        &sources,
    ));
}

/// Counts a magnesium-containing medicine toward the limit (or says why it cannot) and raises
/// its flag.
fn medicine_magnesium_flag(
    m: &crate::profile::Medication,
    identification: &Identification,
    per_dose: MedicineMagnesium,
    data: &ReferenceData,
    screen: &mut MedicineScreen,
    flags: &mut Vec<Flag>,
) -> MedicineMagnesiumReading {
    let mut sources = vec!["rda-scope".to_string(), "otc-label-kidney".to_string()];
    if let Some(p) = identification.product() {
        if let Some(row) = data
            .products
            .iter()
            .find(|r| r.names.first().map(String::as_str) == Some(p))
        {
            sources.extend(row.sources.iter().cloned());
        }
    }
    let stated = crate::medicines::stated_doses_per_day(&m.name);
    let doses_known = !m.times.is_empty() || stated.is_some();
    let doses = (m.times.len() as u32).max(stated.unwrap_or(0)).max(1) as usize;
    let how_often = if doses_known {
        String::new()
    } else {
        " quietlegs counted one dose a day: add its dose times (times = [\"08:00\"]) or how \
         often you take it ('twice daily') for a true count, and so its timing can be checked."
            .to_string()
    };
    match &per_dose {
        MedicineMagnesium::Counted {
            elemental_mg_per_dose,
            basis,
            assumed_dose,
        } => {
            let per_day = elemental_mg_per_dose * doses as f64;
            screen.medicine_magnesium_mg += per_day;
            flags.push(flag(
                "magnesium-medicine",
                // Counted from an assumption (the label's smallest dose, or once a day): the
                // true amount may be higher, so the plan asks first.
                if doses_known && !*assumed_dose {
                    Severity::Info
                } else {
                    Severity::Caution
                },
                format!(
                    "{} contains magnesium: about {} mg a day is counted toward the upper limit \
                     ({basis}{}).{}{how_often}",
                    m.name,
                    fmt_mg(per_day),
                    if doses > 1 {
                        format!(", {doses} doses a day")
                    } else {
                        String::new()
                    },
                    if *assumed_dose {
                        " The label allows more than this smallest dose: add the amount you take \
                         to the entry (for example '10 mL') for a true count."
                    } else {
                        ""
                    }
                ),
                &sources,
            ));
            MedicineMagnesiumReading {
                per_dose,
                doses_per_day: doses as u32,
                elemental_mg_per_day: Some(per_day),
            }
        }
        MedicineMagnesium::NotCounted { reason } => {
            screen.uncounted_magnesium.push(m.name.clone());
            flags.push(flag(
                "magnesium-medicine",
                Severity::Caution,
                format!(
                    "{} contains magnesium, but how much cannot be counted ({reason}), so the \
                     upper limit, which counts supplements and medicines together, cannot be \
                     checked.",
                    m.name
                ),
                &sources,
            ));
            MedicineMagnesiumReading {
                per_dose,
                doses_per_day: doses as u32,
                elemental_mg_per_day: None,
            }
        }
    }
}

/// Magnesium already taken at set times (supplements, magnesium-containing medicines) checked
/// against the same spacing rules as the new dose.
fn current_magnesium_timing_flags(
    profile: &Profile,
    screen: &MedicineScreen,
    flags: &mut Vec<Flag>,
) {
    let timed = profile
        .supplements
        .iter()
        .map(|s| (s.name.as_str(), &s.times))
        .chain(
            screen
                .readings
                .iter()
                .filter(|r| r.magnesium.is_some())
                .map(|r| (r.name.as_str(), &r.times)),
        );
    if !screen.constraints.is_empty() {
        for r in screen
            .readings
            .iter()
            .filter(|r| r.magnesium.is_some() && r.times.is_empty())
        {
            flags.push(flag(
                "spacing-current-magnesium",
                Severity::Caution,
                format!(
                    "{} contains magnesium but has no dose times, so quietlegs cannot check it \
                     against the spacing rules of your other medicines: add its times.",
                    r.name
                ),
                &[],
            ));
        }
    }
    for (name, times) in timed {
        for &t in times {
            for c in screen.constraints.iter().filter(|c| !c.allows(t)) {
                let (a, b) = c.excluded_window();
                flags.push(flag(
                    "spacing-current-magnesium",
                    Severity::Caution,
                    format!(
                        "{name} at {t} is too close to {} at {}: magnesium must stay out of \
                         {a} to {b}. Ask your pharmacist how to re-time them.",
                        c.medicine, c.drug_time
                    ),
                    &[],
                ));
            }
        }
    }
}

/// Half the 0.1 mg that magnesium amounts are counted to.
const LIMIT_TOLERANCE_MG: f64 = 0.05;

fn limit_flags(
    limits: &Limits,
    supplement_mg: f64,
    screen: &MedicineScreen,
    current: f64,
    flags: &mut Vec<Flag>,
) {
    let ul = f64::from(limits.supplemental_ul_mg);
    let ul_sources = vec!["iom-dri-2006".to_string(), "iom-1997-mg".to_string()];
    // Whole milligrams, unless rounding would hide that the total is over the limit.
    let total = if (current.round() - ul).abs() < f64::EPSILON && current != ul {
        format!("{current:.1}")
    } else {
        fmt_mg(current)
    };
    let what = if screen.medicine_magnesium_mg > 0.0 {
        format!(
            "Your supplements ({} mg) and magnesium-containing medicines ({} mg) give {total} mg",
            fmt_mg(supplement_mg),
            fmt_mg(screen.medicine_magnesium_mg),
        )
    } else {
        format!("Your current supplements give {total} mg")
    };
    // Amounts are counted to 0.1 mg: within 0.05 mg of the limit is at the limit.
    let over = current - ul;
    if over >= LIMIT_TOLERANCE_MG {
        flags.push(flag(
            "ul-exceeded",
            Severity::Stop,
            format!(
                "{what} of magnesium a day, above the upper limit of {} mg. Do not add more; \
                 ask your clinician whether to lower it.",
                limits.supplemental_ul_mg
            ),
            &ul_sources,
        ));
    } else if over > -LIMIT_TOLERANCE_MG && current > 0.0 {
        flags.push(flag(
            "ul-reached",
            Severity::Info,
            format!(
                "{what} of magnesium a day, exactly the upper limit of {} mg: there is no room \
                 for more.",
                limits.supplemental_ul_mg
            ),
            &ul_sources,
        ));
    }
}

/// Raises the kidney flag; returns its severity (None when kidney function is not reduced or
/// not known).
fn kidney_flag(profile: &Profile, data: &ReferenceData, flags: &mut Vec<Flag>) -> Option<Severity> {
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
        Some(Severity::Stop)
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
        Some(Severity::Caution)
    } else {
        None
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
    if let Some(advice) = iron_overload(profile, rule, &sources, flags) {
        return advice;
    }
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
    if ferritin.is_some() && tsat.is_none() && status != "unknown" {
        flags.push(flag(
            "iron-test",
            Severity::Info,
            format!(
                "Iron: transferrin saturation (TSAT) is not known. The guideline's choice between \
                 oral and IV iron depends on it as well as on ferritin: ask for it with your next \
                 ferritin. {test_how}"
            ),
            &sources,
        ));
    }
    IronAdvice {
        status,
        ferritin_ng_ml: ferritin,
        tsat_percent: tsat,
        message,
        sources,
    }
}

/// A TSAT above the sex's overload threshold (whatever the ferritin), or a raised ferritin: never
/// "adequate", never "discuss iron".
fn iron_overload(
    profile: &Profile,
    rule: &crate::reference::IronRule,
    sources: &[String],
    flags: &mut Vec<Flag>,
) -> Option<IronAdvice> {
    let (ferritin, tsat) = (profile.ferritin_ng_ml, profile.tsat_percent);
    let (tsat_above, ferritin_above) = if profile.sex == Sex::Female {
        (
            rule.overload_tsat_above_percent_female,
            rule.overload_ferritin_above_ng_ml_female,
        )
    } else {
        (
            rule.overload_tsat_above_percent_male,
            rule.overload_ferritin_above_ng_ml_male,
        )
    };
    let high_tsat = tsat.is_some_and(|t| t > tsat_above);
    let high_ferritin = ferritin.is_some_and(|f| f > ferritin_above);
    let ferritin_words = match ferritin {
        Some(f) if high_ferritin => format!("with a raised ferritin of {f} ng/mL"),
        Some(f) => format!("even with a ferritin of {f} ng/mL"),
        None => "and ferritin is not known".to_string(),
    };
    let deficient = ferritin.is_some_and(|f| f < rule.deficiency_ferritin_below_ng_ml);
    let (status, code, message) = if high_tsat && deficient {
        (
            "results-conflict",
            "iron-results-conflict",
            format!(
                "Iron: ferritin {} ng/mL means iron deficiency but transferrin saturation {}% is \
                 high. These \
                 disagree (a high TSAT can follow recent iron or a non-fasting sample): repeat both \
                 in the morning, fasting and with no iron for 24 h, before any iron is started.",
                ferritin.unwrap_or_default(),
                tsat.unwrap_or_default()
            ),
        )
    } else if high_tsat {
        (
            "possible-overload",
            "iron-overload-possible",
            format!(
                "Iron: transferrin saturation {}% is above {tsat_above}% {ferritin_words}: this \
                 can mean iron overload (for example haemochromatosis). Do not take iron \
                 supplements, and ask your clinician to look into it before anything else.",
                tsat.unwrap_or_default()
            ),
        )
    } else if high_ferritin {
        (
            "raised-ferritin",
            "iron-ferritin-high",
            format!(
                "Iron: ferritin {} ng/mL is above {ferritin_above} ng/mL (raised). Inflammation, \
                 liver disease and iron overload can all raise it: do not take iron \
                 supplements, and ask your clinician to look into it{}.",
                ferritin.unwrap_or_default(),
                if tsat.is_none() {
                    " (with a transferrin saturation test)"
                } else {
                    ""
                }
            ),
        )
    } else {
        return None;
    };
    let mut sources = sources.to_vec();
    sources.extend(rule.overload_sources.iter().cloned());
    if deficient {
        sources.extend(rule.deficiency_sources.iter().cloned());
    }
    flags.push(flag(code, Severity::Caution, message.clone(), &sources));
    Some(IronAdvice {
        status,
        ferritin_ng_ml: ferritin,
        tsat_percent: tsat,
        message,
        sources,
    })
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
                "No supplement is suggested: the magnesium you already take ({} mg) leaves {} mg \
                 under the upper limit, less than the {} mg that is worth adding.",
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
            "capped so that with the {} mg you already take you stay within the {} mg limit",
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
            "Moved from {} ({} minutes before bed) to {take_at} to keep the spacing from {}.",
            dose_time.target,
            rules.timing.minutes_before_bed,
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
            conditional: false,
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
    (supplement_mg, medicine_mg): (f64, f64),
    kidney_stop: bool,
    any_stop: bool,
) -> FoodFirst {
    let current = supplement_mg + medicine_mg;
    let dietary = profile.dietary_magnesium_mg;
    let total = dietary.map(|d| no_negative_zero(d + current));
    let gap = match (rda_mg, total) {
        (Some(r), Some(t)) => Some(no_negative_zero(f64::from(r) - t)),
        _ => None,
    };
    let mut sources = vec![
        "rda-scope".to_string(),
        "usda-food-groups".to_string(),
        "usda-sr28".to_string(),
    ];
    let taken = if medicine_mg > 0.0 {
        format!(
            "supplements and medicines {} mg",
            fmt_mg(supplement_mg + medicine_mg)
        )
    } else {
        format!("supplements {} mg", fmt_mg(supplement_mg))
    };
    if kidney_stop {
        // Severe kidney disease limits potassium and phosphorus, which many magnesium-rich
        // foods are high in: no food advice without the kidney team.
        sources.push("kdigo-2024-ckd".to_string());
        return FoodFirst {
            dietary_mg: dietary,
            current_supplement_mg: current,
            total_mg: total,
            gap_to_rda_mg: gap,
            message: "With severe kidney disease, ask your kidney team or renal dietitian before \
                      eating more of any food for magnesium: many magnesium-rich foods (nuts, \
                      seeds, beans, bananas, avocado, chocolate) are high in potassium and \
                      phosphorus, which kidney disease limits."
                .to_string(),
            suggestions: Vec::new(),
            food_groups: Vec::new(),
            sources,
        };
    }
    let message = match (rda_mg, dietary, gap) {
        (Some(r), Some(d), Some(g)) if g > 0.0 => format!(
            "Food gives about {} mg and {taken}: {} mg short of your RDA of {r} mg. Close the \
             gap with food first: the foods below in everyday portions would do it.",
            fmt_mg(d),
            fmt_mg(g)
        ),
        (Some(r), Some(d), _) if any_stop => format!(
            "Food gives about {} mg and {taken}: your RDA of {r} mg is met.",
            fmt_mg(d)
        ),
        (Some(r), Some(d), _) => format!(
            "Food gives about {} mg and {taken}: your RDA of {r} mg is met. A supplement for \
             RLS is then a test, not a need: run an n-of-1 trial to see whether it helps you.",
            fmt_mg(d)
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
        sources,
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
    for l in plan.lifestyle.iter().chain(&plan.safety) {
        ids.extend(&l.sources);
    }
    ids.extend(&plan.evidence.sources);
    ids.extend(&plan.iron.sources);
    ids.into_iter()
        .filter_map(|id| data.source(id).map(|s| (id.clone(), s.clone())))
        .collect()
}

#[cfg(test)]
mod tests {
    //! The plan's decisions, table-driven: a profile in, the exact set of flags (code and
    //! severity), the dose, its time and whether it is conditional out. Expected values are
    //! worked by hand from the rules in data/reference (shown per case).
    use super::*;
    use std::sync::OnceLock;

    fn shipped() -> &'static (ReferenceData, FoodTable) {
        static DATA: OnceLock<(ReferenceData, FoodTable)> = OnceLock::new();
        DATA.get_or_init(|| {
            (
                ReferenceData::shipped().unwrap(),
                FoodTable::shipped().unwrap(),
            )
        })
    }

    /// A 40-year-old man with normal kidneys and iron, so that only the case's own lines raise
    /// flags.
    const BASE: &str = "age = 40\nsex = \"male\"\nbedtime = \"22:30\"\ngi_tolerance = \"normal\"\n\
                        ferritin_ng_ml = 150\ntsat_percent = 30\n";
    const KIDNEY_OK: &str = "[kidney]\negfr = 90\n";

    fn plan_of(toml: &str) -> Plan {
        let (data, foods) = shipped();
        let profile = Profile::from_toml(toml, data).unwrap_or_else(|e| panic!("{e}\n{toml}"));
        build_plan(&profile, data, foods)
    }

    /// Expected: flags as (code, severity), the supplement as (mg, time, conditional).
    struct Expect<'a> {
        flags: &'a [(&'a str, Severity)],
        supplement: Option<(u32, &'a str, bool)>,
    }

    fn check(name: &str, toml: &str, expect: Expect) {
        let plan = plan_of(toml);
        let mut got: Vec<(String, Severity)> = plan
            .flags
            .iter()
            .map(|f| (f.code.clone(), f.severity))
            .collect();
        got.sort();
        got.dedup();
        let mut want: Vec<(String, Severity)> = expect
            .flags
            .iter()
            .map(|(c, s)| (c.to_string(), *s))
            .collect();
        want.sort();
        assert_eq!(got, want, "{name}: flags {:#?}", plan.flags);
        let supplement = plan
            .supplement
            .as_ref()
            .map(|s| (s.elemental_mg, s.take_at.to_string(), s.conditional));
        assert_eq!(
            supplement,
            expect.supplement.map(|(mg, at, c)| (mg, at.to_string(), c)),
            "{name}: {:?} / {:?}",
            plan.supplement,
            plan.supplement_note
        );
        // Invariants of every plan.
        let stop = plan.flags.iter().any(|f| f.severity == Severity::Stop);
        let caution = plan.flags.iter().any(|f| f.severity == Severity::Caution);
        assert_eq!(
            plan.may_start_without_clinician,
            !stop && !caution,
            "{name}"
        );
        if stop {
            assert!(plan.supplement.is_none(), "{name}");
        }
        if plan.supplement.is_none() {
            assert_eq!(
                plan.dose_time.as_ref().and_then(|d| d.take_at),
                None,
                "{name}"
            );
        }
        if let Some(s) = &plan.supplement {
            assert_eq!(s.conditional, caution, "{name}");
            assert!(s.total_supplemental_mg <= f64::from(plan.supplemental_ul_mg));
        }
    }

    fn med(name: &str, times: &[&str]) -> String {
        let times: Vec<String> = times.iter().map(|t| format!("\"{t}\"")).collect();
        format!(
            "[[medications]]\nname = \"{name}\"\ntimes = [{}]\n",
            times.join(", ")
        )
    }

    use Severity::{Caution, Info, Stop};

    #[test]
    fn plan_decisions_table() {
        let cases: Vec<(&str, String, Expect)> = vec![
            (
                // Nothing to flag: 200 mg citrate at bedtime 22:30 - 30 min.
                "healthy adult",
                format!("{BASE}{KIDNEY_OK}"),
                Expect { flags: &[], supplement: Some((200, "22:00", false)) },
            ),
            (
                // Tobramycin is itself (an aminoglycoside), never Vibramycin: no spacing rule.
                "tobramycin",
                format!("{BASE}{KIDNEY_OK}{}", med("tobramycin", &["08:00"])),
                Expect {
                    flags: &[("interaction-aminoglycoside", Caution)],
                    supplement: Some((200, "22:00", true)),
                },
            ),
            (
                // A misspelling is a suggestion only: unknown (caution), no tetracycline rule.
                "misspelt doxycycline brand",
                format!("{BASE}{KIDNEY_OK}{}", med("vibramicin", &["21:00"])),
                Expect {
                    flags: &[("unknown-medicine", Caution)],
                    supplement: Some((200, "22:00", true)),
                },
            ),
            (
                // Tylenol PM = paracetamol + diphenhydramine: the antihistamine is not lost.
                "Tylenol PM",
                format!("{BASE}{KIDNEY_OK}{}", med("Tylenol PM", &[])),
                Expect {
                    flags: &[("rls-worsening-medicine", Caution)],
                    supplement: Some((200, "22:00", true)),
                },
            ),
            (
                // A word that matches nothing makes the entry partly unknown.
                "partly recognised",
                format!("{BASE}{KIDNEY_OK}{}", med("Tylenol 8 HR Arthritis", &[])),
                Expect {
                    flags: &[("unknown-medicine", Caution)],
                    supplement: Some((200, "22:00", true)),
                },
            ),
            (
                // Milk of Magnesia 30 mL = 30/15 x 500 = 1000 mg > 350: over the limit, stop.
                "milk of magnesia",
                format!("{BASE}{KIDNEY_OK}{}", med("Milk of Magnesia 30 mL", &["21:00"])),
                Expect {
                    flags: &[("magnesium-medicine", Info), ("ul-exceeded", Stop)],
                    supplement: None,
                },
            ),
            (
                // Maalox 2 tsp = 10 mL x 85/5 = 170 mg; room 350 - 170 = 180 -> 175 (25 mg
                // steps).
                "maalox counted",
                format!("{BASE}{KIDNEY_OK}{}", med("Maalox 2 tsp", &["12:00"])),
                Expect {
                    flags: &[("magnesium-medicine", Info)],
                    supplement: Some((175, "22:00", false)),
                },
            ),
            (
                // Maalox twice a day: 2 x 170 = 340 mg; room 10 < 50 worth adding.
                "maalox twice a day",
                format!("{BASE}{KIDNEY_OK}{}", med("Maalox 10 mL", &["08:00", "13:00"])),
                Expect { flags: &[("magnesium-medicine", Info)], supplement: None },
            ),
            (
                // Magnesium in an amount that cannot be counted: no supplement, caution.
                "mylanta",
                format!("{BASE}{KIDNEY_OK}{}", med("Mylanta", &[])),
                Expect { flags: &[("magnesium-medicine", Caution)], supplement: None },
            ),
            (
                // Magnesium oxide 400 mg counts as up to 400 mg elemental: over the limit.
                "magnesium oxide as a medicine",
                format!("{BASE}{KIDNEY_OK}{}", med("magnesium oxide 400 mg", &[])),
                Expect {
                    // No times or frequency: a caution as well as the stop.
                    flags: &[("magnesium-medicine", Caution), ("ul-exceeded", Stop)],
                    supplement: None,
                },
            ),
            (
                // eGFR 45 (caution) with a magnesium antacid: the kidney stop.
                "kidney disease and an antacid",
                format!("{BASE}[kidney]\negfr = 45\n{}", med("Maalox 5 mL", &["13:00"])),
                Expect {
                    flags: &[
                        ("kidney-disease", Caution),
                        ("magnesium-medicine", Info),
                        ("kidney-magnesium-medicine", Stop),
                    ],
                    supplement: None,
                },
            ),
            (
                // 82 with diabetes and no kidney data: a kidney test first.
                "older adult with diabetes, kidneys unknown",
                BASE.replace("age = 40", "age = 82") + "conditions = [\"type-2-diabetes\"]\n",
                Expect {
                    flags: &[("kidney-function-unknown", Caution), ("deficiency-risk", Info)],
                    supplement: Some((200, "22:00", true)),
                },
            ),
            (
                // 50 with hypertension and no kidney data.
                "hypertension, kidneys unknown",
                BASE.replace("age = 40", "age = 50") + "conditions = [\"hypertension\"]\n",
                Expect {
                    flags: &[("kidney-function-unknown", Caution), ("kidney-risk", Info)],
                    supplement: Some((200, "22:00", true)),
                },
            ),
            (
                // 40 with no risk factor and no kidney data: nothing to ask.
                "no risk factor, kidneys unknown",
                BASE.to_string(),
                Expect { flags: &[], supplement: Some((200, "22:00", false)) },
            ),
            (
                // Ferritin 90 (75-100) without TSAT: borderline, and TSAT asked for.
                "borderline ferritin without TSAT",
                format!("{}{KIDNEY_OK}", BASE.replace("ferritin_ng_ml = 150\ntsat_percent = 30\n", "ferritin_ng_ml = 90\n")),
                Expect {
                    flags: &[("iron-borderline", Info), ("iron-test", Info)],
                    supplement: Some((200, "22:00", false)),
                },
            ),
            (
                // Man: ferritin 400 > 300 and TSAT 60 > 50 -> possible overload.
                "possible iron overload",
                format!("{}{KIDNEY_OK}", BASE.replace("ferritin_ng_ml = 150\ntsat_percent = 30", "ferritin_ng_ml = 400\ntsat_percent = 60")),
                Expect {
                    flags: &[("iron-overload-possible", Caution)],
                    supplement: Some((200, "22:00", true)),
                },
            ),
            (
                // Man: TSAT 48 is not above 50 and ferritin 250 not above 300: no flag (the
                // women's 45 and 200 do not apply).
                "high TSAT below the men's threshold",
                format!("{}{KIDNEY_OK}", BASE.replace("ferritin_ng_ml = 150\ntsat_percent = 30", "ferritin_ng_ml = 250\ntsat_percent = 48")),
                Expect { flags: &[], supplement: Some((200, "22:00", false)) },
            ),
            (
                // Iron at 08, 12, 16, 20 h (4 h either way) leaves only 00:00-04:00: asleep.
                "no dose during sleep",
                format!(
                    "{BASE}{KIDNEY_OK}{}",
                    med("ferrous sulfate 325 mg", &["08:00", "12:00", "16:00", "20:00"])
                ),
                Expect {
                    flags: &[("spacing-iron", Caution), ("no-safe-dose-time", Stop)],
                    supplement: None,
                },
            ),
            (
                // The same with wake at 03:30: 04:00 is in the waking day (and not an evening).
                "early riser",
                format!(
                    "{}wake = \"03:30\"\n{KIDNEY_OK}{}",
                    BASE,
                    med("ferrous sulfate 325 mg", &["08:00", "12:00", "16:00", "20:00"])
                ),
                Expect { flags: &[("spacing-iron", Info)], supplement: Some((200, "04:00", false)) },
            ),
            (
                // Magnesium glycinate at 07:30 half an hour after levothyroxine at 07:00 (4 h
                // rule): the current supplement breaks the spacing. New dose: room 350 - 100 =
                // 250 -> 200 at 22:00 (levothyroxine excludes 03:00-11:00 only).
                "current supplement too close",
                format!(
                    "{BASE}{KIDNEY_OK}{}[[supplements]]\nname = \"magnesium glycinate\"\nelemental_mg = 100\ntimes = [\"07:30\"]\n",
                    med("levothyroxine", &["07:00"])
                ),
                Expect {
                    flags: &[("spacing-levothyroxine", Info), ("spacing-current-magnesium", Caution)],
                    supplement: Some((200, "22:00", true)),
                },
            ),
            (
                // Exactly at the limit: ul-reached (info), never ul-exceeded; no room for more.
                "at the limit",
                format!("{BASE}{KIDNEY_OK}[[supplements]]\nname = \"magnesium citrate\"\nelemental_mg = 350\n"),
                Expect { flags: &[("ul-reached", Info)], supplement: None },
            ),
            (
                // Calcium-channel blocker: info only (named for injected magnesium).
                "amlodipine",
                format!("{BASE}{KIDNEY_OK}{}", med("amlodipine 5 mg", &["08:00"])),
                Expect {
                    flags: &[("interaction-calcium-channel-blocker", Info)],
                    supplement: Some((200, "22:00", false)),
                },
            ),
            (
                "digoxin",
                format!("{BASE}{KIDNEY_OK}{}", med("Lanoxin", &["08:00"])),
                Expect {
                    flags: &[("interaction-digoxin", Caution)],
                    supplement: Some((200, "22:00", true)),
                },
            ),
            (
                // Triamterene + hydrochlorothiazide: both rules, not only the first ingredient.
                "Maxzide",
                format!("{BASE}{KIDNEY_OK}{}", med("Maxzide", &["08:00"])),
                Expect {
                    flags: &[("retention-potassium-sparing", Caution), ("depletion-diuretic", Info)],
                    supplement: Some((200, "22:00", true)),
                },
            ),
            (
                // Frequency words count: 100 mg twice daily = 200 mg; room 150 -> 150.
                "frequency in the name",
                format!("{BASE}{KIDNEY_OK}{}", med("magnesium 100 mg twice daily", &[])),
                Expect {
                    flags: &[("magnesium-medicine", Info)],
                    supplement: Some((150, "22:00", false)),
                },
            ),
            (
                // Maalox 10 mL four times a day = 4 x 170 = 680 mg > 350.
                "four times a day",
                format!("{BASE}{KIDNEY_OK}{}", med("Maalox 10 mL four times a day", &[])),
                Expect {
                    flags: &[("magnesium-medicine", Info), ("ul-exceeded", Stop)],
                    supplement: None,
                },
            ),
            (
                // 2 1/2 tsp = 12.5 mL x 500/15 = 416.7 mg > 350 (not 10 mL).
                "mixed-number amount",
                format!("{BASE}{KIDNEY_OK}{}", med("Milk of Magnesia 2 1/2 tsp", &["21:00"])),
                Expect {
                    flags: &[("magnesium-medicine", Info), ("ul-exceeded", Stop)],
                    supplement: None,
                },
            ),
            (
                // No times and no frequency: counted once a day, but as a caution.
                "antacid with unknown frequency",
                format!("{BASE}{KIDNEY_OK}{}", med("Maalox", &[])),
                Expect {
                    flags: &[("magnesium-medicine", Caution)],
                    supplement: Some((175, "22:00", true)),
                },
            ),
            (
                // The magnesium salt of a PPI is not a magnesium product.
                "esomeprazole magnesium",
                format!("{BASE}{KIDNEY_OK}{}", med("esomeprazole magnesium 40 mg", &["07:00"])),
                Expect {
                    flags: &[("depletion-ppi", Info)],
                    supplement: Some((200, "22:00", false)),
                },
            ),
            (
                // Woman: TSAT 60 > 45 with a normal ferritin of 50: overload, not "low iron".
                "high TSAT with low ferritin",
                "age = 40\nsex = \"female\"\npregnant = false\nlactating = false\nbedtime = \"22:30\"\ngi_tolerance = \"normal\"\nferritin_ng_ml = 50\ntsat_percent = 60\n[kidney]\negfr = 90\n".to_string(),
                Expect {
                    flags: &[("iron-overload-possible", Caution)],
                    supplement: Some((200, "22:00", true)),
                },
            ),
            (
                // Man: ferritin 1500 > 300 with TSAT 30: raised ferritin, never "adequate".
                "raised ferritin",
                format!("{}{KIDNEY_OK}", BASE.replace("ferritin_ng_ml = 150", "ferritin_ng_ml = 1500")),
                Expect {
                    flags: &[("iron-ferritin-high", Caution)],
                    supplement: Some((200, "22:00", true)),
                },
            ),
            (
                // "CKD stage 0" with no eGFR at 70 is not a kidney result.
                "stage 0 is not a kidney result",
                BASE.replace("age = 40", "age = 70") + "[kidney]\nckd_stage = 0\n",
                Expect {
                    flags: &[("kidney-function-unknown", Caution), ("deficiency-risk", Info)],
                    supplement: Some((200, "22:00", true)),
                },
            ),
            (
                // The label's smallest dose counted (no amount stated), even with times: a
                // caution, since the label allows up to 4 x 20 mL.
                "antacid without an amount",
                format!("{BASE}{KIDNEY_OK}{}", med("Maalox", &["08:00"])),
                Expect {
                    flags: &[("magnesium-medicine", Caution)],
                    supplement: Some((175, "22:00", true)),
                },
            ),
            (
                // Moxifloxacin's own label: 4 h before / 8 h after. Drug at 20:00 rules out
                // 12:00-00:00 (8 h after Mg means Mg by 12:00; 4 h before means Mg from 00:00):
                // the waking day 06:30-22:30 leaves 06:30-12:00, nearest to 22:00 is 12:00.
                "moxifloxacin spacing",
                format!("{BASE}wake = \"06:30\"\n{KIDNEY_OK}{}", med("moxifloxacin", &["20:00"])),
                Expect {
                    flags: &[("spacing-quinolone", Info)],
                    supplement: Some((200, "12:00", false)),
                },
            ),
            (
                // Raltegravir: antacids not recommended even spaced: a caution, not a time.
                "raltegravir",
                format!("{BASE}{KIDNEY_OK}{}", med("Isentress 400 mg", &["09:00", "21:00"])),
                Expect {
                    flags: &[("interaction-raltegravir", Caution)],
                    supplement: Some((200, "22:00", true)),
                },
            ),
            (
                // Ferritin 10 (low) with TSAT 60 (high): conflicting results, repeat first.
                "conflicting iron results",
                format!("{}{KIDNEY_OK}", BASE.replace("ferritin_ng_ml = 150\ntsat_percent = 30", "ferritin_ng_ml = 10\ntsat_percent = 60")),
                Expect {
                    flags: &[("iron-results-conflict", Caution)],
                    supplement: Some((200, "22:00", true)),
                },
            ),
            (
                // 350.04 mg is at the limit to the 0.1 mg counted, not over it.
                "at the limit to a tenth of a milligram",
                format!("{BASE}{KIDNEY_OK}[[supplements]]\nname = \"magnesium citrate\"\nelemental_mg = 350.04\n"),
                Expect { flags: &[("ul-reached", Info)], supplement: None },
            ),
            (
                // A 2-year-old: stop, no dose, no time.
                "toddler",
                BASE.replace("age = 40", "age = 2"),
                Expect { flags: &[("under-18", Stop)], supplement: None },
            ),
        ];
        for (name, toml, expect) in cases {
            check(name, &toml, expect);
        }
    }

    #[test]
    fn words_fit_the_person() {
        // The EU note: none below 4, 250 mg from 4.
        let toddler = plan_of(&BASE.replace("age = 40", "age = 2"));
        assert!(toddler
            .ul_note
            .contains("set no upper limit for supplements below age 4"));
        assert!(!toddler.ul_note.contains("250"));
        let adult = plan_of(BASE);
        assert!(adult
            .ul_note
            .contains("250 mg/day for supplements from age 4"));
        // Breastfeeding is called breastfeeding.
        let mother = plan_of(
            "age = 30\nsex = \"female\"\npregnant = false\nlactating = true\nbedtime = \"23:00\"\n\
             gi_tolerance = \"normal\"\nferritin_ng_ml = 150\ntsat_percent = 30\n[kidney]\negfr = 100\n",
        );
        assert!(
            mother.rda_basis.contains("breastfeeding"),
            "{}",
            mother.rda_basis
        );
        assert_eq!(mother.rda_mg, Some(310));
        let pregnancy = mother.flags.iter().find(|f| f.code == "pregnancy").unwrap();
        assert!(
            pregnancy.message.starts_with("Breastfeeding:"),
            "{}",
            pregnancy.message
        );
        assert!(!pregnancy.message.contains("RLS is common in pregnancy"));
    }

    #[test]
    fn every_plan_gives_the_seed_advice_completely() {
        // The patient article's advice: side effects and what to do, signs of too much, test
        // it (mixed evidence, placebo), the sleep environment, and the lifestyle measures.
        let plan = plan_of(BASE);
        let safety: String = plan.safety.iter().map(|s| s.text.as_str()).collect();
        for needle in [
            "diarrhea",
            "nausea",
            "cramps",
            "lower the dose",
            "gentler form",
            "Signs of too much magnesium",
            "irregular heartbeat",
        ] {
            assert!(safety.contains(needle), "{needle}");
        }
        assert!(plan.evidence.text.contains("mixed"));
        assert!(plan.evidence.text.contains("placebo"));
        assert!(plan.evidence.text.contains("test it"));
        let lifestyle: String = plan.lifestyle.iter().map(|l| l.text.as_str()).collect();
        for needle in [
            "exercise",
            "cool, dark",
            "screens",
            "Massage",
            "warm bath",
            "Heat or cold packs",
            "caffeine",
            "alcohol",
            "tobacco",
        ] {
            assert!(lifestyle.contains(needle), "{needle}");
        }
    }

    #[test]
    fn every_medicine_class_the_sources_name_is_known_by_common_names() {
        // (typed name, class id): generic and brand names for every interacting or
        // RLS-worsening class named in issue #8.
        let (data, _) = shipped();
        let index = MedicineIndex::new(data);
        let cases = [
            ("doxycycline", "tetracycline"),
            ("Minocin", "tetracycline"),
            ("ciprofloxacin", "quinolone"),
            ("Levaquin", "quinolone"),
            ("alendronic acid", "bisphosphonate"),
            ("Actonel", "bisphosphonate"),
            ("levothyroxine", "levothyroxine"),
            ("L-thyroxine", "levothyroxine"),
            ("thyroxine", "levothyroxine"),
            ("Synthroid", "levothyroxine"),
            ("ferrous sulphate", "iron"),
            ("ferrous fumarate", "iron"),
            ("Feraccru", "iron"),
            ("dolutegravir", "integrase-inhibitor"),
            ("Isentress", "integrase-raltegravir"),
            ("penicillamine", "chelating-other"),
            ("Revolade", "chelating-other"),
            ("furosemide", "diuretic-loop-thiazide"),
            ("bendroflumethiazide", "diuretic-loop-thiazide"),
            ("spironolactone", "potassium-sparing-diuretic"),
            ("omeprazole", "ppi"),
            ("Nexium", "ppi"),
            ("gentamicin", "aminoglycoside"),
            ("tobramycin", "aminoglycoside"),
            ("amlodipine", "calcium-channel-blocker"),
            ("nifedipine", "calcium-channel-blocker"),
            ("verapamil", "calcium-channel-blocker"),
            ("digoxin", "digoxin"),
            ("Lanoxin", "digoxin"),
            ("diphenhydramine", "antihistamine-sedating"),
            ("Unisom", "antihistamine-sedating"),
            ("ZzzQuil", "antihistamine-sedating"),
            ("chlorphenamine", "antihistamine-sedating"),
            ("hydroxyzine", "antihistamine-sedating"),
            ("sertraline", "antidepressant"),
            ("amitriptyline", "antidepressant"),
            ("dosulepin", "antidepressant"),
            ("mirtazapine", "antidepressant"),
            ("Remeron", "antidepressant"),
            ("quetiapine", "antipsychotic"),
            ("risperidone", "antipsychotic"),
            ("haloperidol", "antipsychotic"),
            ("metoclopramide", "antiemetic-dopamine"),
            ("prochlorperazine", "antiemetic-dopamine"),
            ("Milk of Magnesia", "magnesium-containing"),
            ("magnesium hydroxide", "magnesium-containing"),
            ("Epsom salts", "magnesium-containing"),
            ("magnesium trisilicate", "magnesium-containing"),
        ];
        for (typed, class) in cases {
            let id = index.identify(typed);
            let classes: Vec<String> = id
                .generics()
                .iter()
                .filter_map(|g| index.class_of(g).map(|c| c.id.clone()))
                .collect();
            assert!(
                matches!(id, Identification::Recognised { .. })
                    && classes.contains(&class.to_string()),
                "{typed}: {id:?} {classes:?}"
            );
            // Every class cites at least one source that resolves.
            let c = data
                .medicine_classes
                .iter()
                .find(|c| c.id == class)
                .unwrap();
            assert!(
                c.sources.iter().all(|s| data.sources.contains_key(s)),
                "{class}"
            );
        }
    }
}
