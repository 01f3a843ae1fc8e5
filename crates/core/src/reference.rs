//! The shipped reference tables (`data/reference/*.toml`), compiled into the binary and checked
//! on load: every row names sources, and every source id resolves to a citation.

use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

const SOURCES_TOML: &str = include_str!("../../../data/reference/sources.toml");
const INTAKE_TOML: &str = include_str!("../../../data/reference/intake.toml");
const FORMS_TOML: &str = include_str!("../../../data/reference/forms.toml");
const MEDICINES_TOML: &str = include_str!("../../../data/reference/medicines.toml");
const RULES_TOML: &str = include_str!("../../../data/reference/rules.toml");
const ADVICE_TOML: &str = include_str!("../../../data/reference/advice.toml");
const SCALES_TOML: &str = include_str!("../../../data/reference/scales.toml");

/// A reference table that does not parse or does not hold together.
#[derive(Debug, thiserror::Error)]
pub enum ReferenceError {
    #[error("reference table {file}: {source}")]
    Parse {
        file: &'static str,
        #[source]
        source: toml::de::Error,
    },
    #[error("reference table {file}: {what}")]
    Inconsistent { file: &'static str, what: String },
}

/// How strong the evidence behind a source is (the labels of FACTS.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Evidence {
    Verified,
    Secondary,
    Computed,
    Unverified,
    Project,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Source {
    pub id: String,
    pub citation: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    pub evidence: Evidence,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SexRow {
    Female,
    Male,
    Any,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LifeStage {
    General,
    Pregnancy,
    Lactation,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RdaRow {
    pub age_min: u32,
    pub age_max: u32,
    pub sex: SexRow,
    pub life_stage: LifeStage,
    pub rda_mg: u32,
    pub source: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UlRow {
    pub age_min: u32,
    pub age_max: u32,
    pub ul_mg: u32,
    pub source: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Absorption {
    Good,
    Moderate,
    Poor,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LaxativeTendency {
    Low,
    Moderate,
    High,
}

/// One magnesium salt as a row of `forms.toml`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FormRow {
    pub id: String,
    pub family: String,
    pub name: String,
    pub formula: String,
    pub molar_mass_g_mol: f64,
    pub magnesium_atoms: u32,
    #[serde(default)]
    pub aliases: Vec<String>,
    pub absorption: Absorption,
    pub laxative: LaxativeTendency,
    pub typical_use: String,
    pub rls_notes: String,
    pub side_effects: String,
    pub sources: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct FormsFile {
    magnesium_atomic_weight: f64,
    form: Vec<FormRow>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RuleKind {
    Spacing,
    Depletion,
    Retention,
    RlsWorsening,
    Augmentation,
    /// An interaction the sources name without a spacing rule: a flag of the class's severity.
    Interaction,
    /// The medicine itself contains magnesium, which counts toward the supplemental upper limit.
    MagnesiumSource,
    None,
}

/// A class of medicines and the magnesium rule that applies to it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MedicineClass {
    pub id: String,
    pub name: String,
    pub rule: RuleKind,
    #[serde(default)]
    pub flag: Option<String>,
    /// Severity of the flag for every rule but spacing (derived from the timing) and none.
    #[serde(default)]
    pub severity: Option<Severity>,
    #[serde(default)]
    pub drug_before_mg_hours: Option<u32>,
    #[serde(default)]
    pub drug_after_mg_hours: Option<u32>,
    pub note: String,
    #[serde(default)]
    pub alternatives: Vec<String>,
    /// What the alternatives are for ("for allergy"), when they replace only one use.
    #[serde(default)]
    pub alternatives_for: Option<String>,
    pub sources: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MedicineRow {
    pub generic: String,
    pub class: String,
    /// For a magnesium salt: its id in forms.toml, so a stated salt weight converts to elemental
    /// magnesium.
    #[serde(default)]
    pub form: Option<String>,
    #[serde(default)]
    pub other_names: Vec<String>,
    /// A longer spacing than the class's, from this medicine's own label (the longer of the two
    /// applies), with its sources.
    #[serde(default)]
    pub drug_before_mg_hours: Option<u32>,
    #[serde(default)]
    pub drug_after_mg_hours: Option<u32>,
    #[serde(default)]
    pub spacing_sources: Vec<String>,
}

/// Magnesium on a product's label: `elemental_mg` per `per_amount` `unit`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LabelMagnesium {
    pub elemental_mg: f64,
    pub per_amount: f64,
    /// "ml", "fl oz", "tablet"
    pub unit: String,
    /// The smallest adult dose on the label, in `unit`; counted when no amount is stated.
    #[serde(default)]
    pub smallest_adult_dose: Option<f64>,
}

/// A named product that stands for several ingredients (and, for antacids and laxatives, its
/// label's magnesium content).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProductRow {
    pub names: Vec<String>,
    pub ingredients: Vec<String>,
    pub sources: Vec<String>,
    #[serde(default)]
    pub magnesium: Option<LabelMagnesium>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct MedicinesFile {
    class: Vec<MedicineClass>,
    medicine: Vec<MedicineRow>,
    #[serde(default)]
    product: Vec<ProductRow>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgeRule {
    pub min_age_years: u32,
    pub sources: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KidneyRule {
    pub stop_egfr_below: f64,
    pub caution_egfr_below: f64,
    pub stop_ckd_stage_min: u8,
    pub caution_ckd_stage_min: u8,
    pub sources: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IronRule {
    pub low_ferritin_max_ng_ml: f64,
    pub borderline_ferritin_max_ng_ml: f64,
    pub low_tsat_below_percent: f64,
    pub paediatric_low_ferritin_below_ng_ml: f64,
    pub sources: Vec<String>,
    pub overload_tsat_above_percent_female: f64,
    pub overload_ferritin_above_ng_ml_female: f64,
    pub overload_tsat_above_percent_male: f64,
    pub overload_ferritin_above_ng_ml_male: f64,
    pub overload_sources: Vec<String>,
    pub deficiency_ferritin_below_ng_ml: f64,
    pub deficiency_sources: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KidneyUnknownRule {
    pub risk_conditions: Vec<String>,
    pub sources: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EfsaRule {
    pub ul_mg: u32,
    pub min_age_years: u32,
    pub sources: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DoseRule {
    pub start_elemental_mg: u32,
    pub start_sources: Vec<String>,
    pub sensitive_start_elemental_mg: u32,
    pub sensitive_sources: Vec<String>,
    pub step_mg: u32,
    pub min_useful_elemental_mg: u32,
    pub min_useful_sources: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimingRule {
    pub minutes_before_bed: u16,
    pub search_step_minutes: u16,
    pub sources: Vec<String>,
    pub default_sleep_hours: u16,
    pub sleep_sources: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FormChoice {
    pub gi_tolerance: String,
    pub family: String,
    pub reason: String,
    pub sources: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PoorlyAbsorbed {
    pub families: Vec<String>,
    pub note: String,
    pub sources: Vec<String>,
}

/// Severity of a plan flag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Severity {
    /// No supplement without a clinician.
    Stop,
    /// Talk to a clinician or pharmacist before relying on the plan.
    Caution,
    /// Worth knowing.
    Info,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConditionRule {
    pub id: String,
    pub flag: String,
    pub severity: Severity,
    pub message: String,
    pub sources: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanRules {
    pub adult: AgeRule,
    pub older_adult: AgeRule,
    pub kidney: KidneyRule,
    pub kidney_unknown: KidneyUnknownRule,
    pub efsa: EfsaRule,
    pub iron: IronRule,
    pub dose: DoseRule,
    pub timing: TimingRule,
    pub form_choice: Vec<FormChoice>,
    pub poorly_absorbed: PoorlyAbsorbed,
    pub condition: Vec<ConditionRule>,
    pub insights: InsightRule,
    pub trial: TrialRule,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrialRule {
    pub period_days: u32,
    pub run_in_days: u32,
    pub washout_days: u32,
    pub cycles: u32,
    pub timing_sources: Vec<String>,
    pub mcid_nightly_severity: f64,
    pub mcid_nightly_severity_sources: Vec<String>,
    pub mcid_weekly_irls: f64,
    pub mcid_weekly_irls_sources: Vec<String>,
    pub likely_helps_p_benefit: f64,
    pub likely_helps_p_mcid: f64,
    pub no_meaningful_benefit_p_mcid: f64,
    pub likely_worse_p_benefit: f64,
    pub verdict_sources: Vec<String>,
    pub randomization_exact_max: u64,
    pub randomization_monte_carlo: u64,
    /// `trial power` recommends the fewest candidate cycles reaching a confident verdict in at
    /// least this share of simulated trials.
    pub planning_power: f64,
    pub power_cycle_candidates: Vec<u32>,
    /// Where simulated nightly severities start (0-10 scale).
    pub simulation_baseline_severity: f64,
    pub planning_sources: Vec<String>,
    /// Level of the one-sided binomial test of end-of-period guesses against chance.
    pub blinding_guess_alpha: f64,
    pub blinding_sources: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InsightRule {
    pub min_nights_each_way: usize,
    pub family_alpha: f64,
    pub caffeine_counts_from: crate::clock::ClockTime,
    pub sources: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FoodGroup {
    pub id: String,
    pub name: String,
    pub sources: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LifestyleMeasure {
    pub id: String,
    pub text: String,
    pub sources: Vec<String>,
    /// Advice for adults only (alcohol, tobacco): not shown below the adult age.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub adults_only: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct AdviceFile {
    food_group: Vec<FoodGroup>,
    lifestyle: Vec<LifestyleMeasure>,
    safety: Vec<LifestyleMeasure>,
    evidence: EvidenceNote,
}

/// What the evidence for magnesium in RLS says, in plain words.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvidenceNote {
    pub text: String,
    pub sources: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScoreBand {
    pub id: String,
    pub min: u32,
    pub max: u32,
    pub sources: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IrlsDefinition {
    pub items: usize,
    pub item_min: u8,
    pub item_max: u8,
    pub domains: Vec<String>,
    pub band: Vec<ScoreBand>,
    pub sources: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct ScalesFile {
    irls: IrlsDefinition,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct SourcesFile {
    source: Vec<Source>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct IntakeFile {
    rda: Vec<RdaRow>,
    supplemental_ul: Vec<UlRow>,
}

/// Every reference table quietlegs applies, parsed and cross-checked.
#[derive(Debug, Clone)]
pub struct ReferenceData {
    pub sources: BTreeMap<String, Source>,
    pub rda: Vec<RdaRow>,
    pub supplemental_ul: Vec<UlRow>,
    pub magnesium_atomic_weight: f64,
    pub forms: Vec<FormRow>,
    pub medicine_classes: Vec<MedicineClass>,
    pub medicines: Vec<MedicineRow>,
    pub products: Vec<ProductRow>,
    pub rules: PlanRules,
    pub food_groups: Vec<FoodGroup>,
    pub lifestyle: Vec<LifestyleMeasure>,
    /// Side effects, signs of too much magnesium, and telling the clinician.
    pub safety: Vec<LifestyleMeasure>,
    pub evidence: EvidenceNote,
    pub irls: IrlsDefinition,
}

fn parse<T: serde::de::DeserializeOwned>(
    file: &'static str,
    text: &str,
) -> Result<T, ReferenceError> {
    toml::from_str(text).map_err(|source| ReferenceError::Parse { file, source })
}

impl ReferenceData {
    /// The tables shipped in `data/reference/`.
    pub fn shipped() -> Result<Self, ReferenceError> {
        let sources: SourcesFile = parse("sources.toml", SOURCES_TOML)?;
        let intake: IntakeFile = parse("intake.toml", INTAKE_TOML)?;
        let forms: FormsFile = parse("forms.toml", FORMS_TOML)?;
        let medicines: MedicinesFile = parse("medicines.toml", MEDICINES_TOML)?;
        let rules: PlanRules = parse("rules.toml", RULES_TOML)?;
        let advice: AdviceFile = parse("advice.toml", ADVICE_TOML)?;
        let scales: ScalesFile = parse("scales.toml", SCALES_TOML)?;
        let mut by_id = BTreeMap::new();
        for s in sources.source {
            let id = s.id.clone();
            if by_id.insert(id.clone(), s).is_some() {
                return Err(ReferenceError::Inconsistent {
                    file: "sources.toml",
                    what: format!("source id '{id}' appears twice"),
                });
            }
        }
        let data = Self {
            sources: by_id,
            rda: intake.rda,
            supplemental_ul: intake.supplemental_ul,
            magnesium_atomic_weight: forms.magnesium_atomic_weight,
            forms: forms.form,
            medicine_classes: medicines.class,
            medicines: medicines.medicine,
            products: medicines.product,
            rules,
            food_groups: advice.food_group,
            lifestyle: advice.lifestyle,
            safety: advice.safety,
            evidence: advice.evidence,
            irls: scales.irls,
        };
        data.check()?;
        Ok(data)
    }

    /// Every source id cited anywhere in the tables, with the file that cites it.
    pub fn cited_source_ids(&self) -> Vec<(&'static str, &str)> {
        let mut out: Vec<(&'static str, &str)> = Vec::new();
        out.extend(self.rda.iter().map(|r| ("intake.toml", r.source.as_str())));
        out.extend(
            self.supplemental_ul
                .iter()
                .map(|r| ("intake.toml", r.source.as_str())),
        );
        for f in &self.forms {
            out.extend(f.sources.iter().map(|s| ("forms.toml", s.as_str())));
        }
        for c in &self.medicine_classes {
            out.extend(c.sources.iter().map(|s| ("medicines.toml", s.as_str())));
        }
        let r = &self.rules;
        for list in [
            &r.adult.sources,
            &r.older_adult.sources,
            &r.kidney.sources,
            &r.iron.sources,
            &r.iron.overload_sources,
            &r.iron.deficiency_sources,
            &r.kidney_unknown.sources,
            &r.efsa.sources,
            &r.timing.sleep_sources,
            &r.dose.start_sources,
            &r.dose.sensitive_sources,
            &r.dose.min_useful_sources,
            &r.timing.sources,
            &r.poorly_absorbed.sources,
            &r.insights.sources,
            &r.trial.timing_sources,
            &r.trial.mcid_nightly_severity_sources,
            &r.trial.mcid_weekly_irls_sources,
            &r.trial.verdict_sources,
            &r.trial.planning_sources,
            &r.trial.blinding_sources,
        ] {
            out.extend(list.iter().map(|s| ("rules.toml", s.as_str())));
        }
        for c in &r.form_choice {
            out.extend(c.sources.iter().map(|s| ("rules.toml", s.as_str())));
        }
        for c in &r.condition {
            out.extend(c.sources.iter().map(|s| ("rules.toml", s.as_str())));
        }
        for g in &self.food_groups {
            out.extend(g.sources.iter().map(|s| ("advice.toml", s.as_str())));
        }
        for l in self.lifestyle.iter().chain(&self.safety) {
            out.extend(l.sources.iter().map(|s| ("advice.toml", s.as_str())));
        }
        out.extend(
            self.evidence
                .sources
                .iter()
                .map(|s| ("advice.toml", s.as_str())),
        );
        for p in &self.products {
            out.extend(p.sources.iter().map(|s| ("medicines.toml", s.as_str())));
        }
        for m in &self.medicines {
            out.extend(
                m.spacing_sources
                    .iter()
                    .map(|s| ("medicines.toml", s.as_str())),
            );
        }
        out.extend(
            self.irls
                .sources
                .iter()
                .map(|s| ("scales.toml", s.as_str())),
        );
        for b in &self.irls.band {
            out.extend(b.sources.iter().map(|s| ("scales.toml", s.as_str())));
        }
        out
    }

    fn check(&self) -> Result<(), ReferenceError> {
        let inconsistent = |file, what: String| Err(ReferenceError::Inconsistent { file, what });
        for (file, id) in self.cited_source_ids() {
            if !self.sources.contains_key(id) {
                return inconsistent(file, format!("cites unknown source '{id}'"));
            }
        }
        for f in &self.forms {
            if f.sources.is_empty() {
                return inconsistent("forms.toml", format!("form '{}' has no source", f.id));
            }
        }
        let classes: BTreeSet<&str> = self
            .medicine_classes
            .iter()
            .map(|c| c.id.as_str())
            .collect();
        for c in &self.medicine_classes {
            if c.sources.is_empty() {
                return inconsistent("medicines.toml", format!("class '{}' has no source", c.id));
            }
            let spacing = c.drug_before_mg_hours.is_some() && c.drug_after_mg_hours.is_some();
            if (c.rule == RuleKind::Spacing) != spacing {
                return inconsistent(
                    "medicines.toml",
                    format!(
                        "class '{}': spacing hours go with rule = \"spacing\" only",
                        c.id
                    ),
                );
            }
            let needs_severity = !matches!(c.rule, RuleKind::Spacing | RuleKind::None);
            if needs_severity != c.severity.is_some() {
                return inconsistent(
                    "medicines.toml",
                    format!(
                        "class '{}': severity goes with every rule but spacing and none",
                        c.id
                    ),
                );
            }
            if (c.rule == RuleKind::None) == c.flag.is_some() {
                return inconsistent(
                    "medicines.toml",
                    format!("class '{}': every rule but \"none\" needs a flag", c.id),
                );
            }
        }
        let mut names = BTreeSet::new();
        for m in &self.medicines {
            if !classes.contains(m.class.as_str()) {
                return inconsistent(
                    "medicines.toml",
                    format!("medicine '{}' has unknown class '{}'", m.generic, m.class),
                );
            }
            for n in std::iter::once(&m.generic).chain(&m.other_names) {
                if !names.insert(crate::medicine_words::significant_words(n).join(" ")) {
                    return inconsistent("medicines.toml", format!("name '{n}' appears twice"));
                }
            }
            if let Some(form) = &m.form {
                if !self.forms.iter().any(|f| &f.id == form) {
                    return inconsistent(
                        "medicines.toml",
                        format!("medicine '{}' names unknown form '{form}'", m.generic),
                    );
                }
            }
        }
        let trial = &self.rules.trial;
        if !(trial.planning_power > 0.0 && trial.planning_power < 1.0)
            || trial.power_cycle_candidates.is_empty()
            || trial
                .power_cycle_candidates
                .windows(2)
                .any(|w| w[0] >= w[1])
            || !(trial.blinding_guess_alpha > 0.0 && trial.blinding_guess_alpha < 0.5)
            || !(0.0..=10.0).contains(&trial.simulation_baseline_severity)
        {
            return inconsistent(
                "rules.toml",
                "[trial]: planning_power and blinding_guess_alpha must be probabilities, the \
                 cycle candidates increasing, the baseline on the 0-10 scale"
                    .to_string(),
            );
        }
        for c in &self.rules.kidney_unknown.risk_conditions {
            if !self.rules.condition.iter().any(|r| &r.id == c) {
                return inconsistent(
                    "rules.toml",
                    format!("kidney_unknown names unknown condition '{c}'"),
                );
            }
        }
        for p in &self.products {
            if p.names.is_empty() || p.ingredients.is_empty() || p.sources.is_empty() {
                return inconsistent(
                    "medicines.toml",
                    format!("product {:?} needs names, ingredients and sources", p.names),
                );
            }
            for n in &p.names {
                if !names.insert(crate::medicine_words::significant_words(n).join(" ")) {
                    return inconsistent("medicines.toml", format!("name '{n}' appears twice"));
                }
            }
            for i in &p.ingredients {
                if !self.medicines.iter().any(|m| &m.generic == i) {
                    return inconsistent(
                        "medicines.toml",
                        format!("product {:?}: ingredient '{i}' is not a medicine", p.names),
                    );
                }
            }
            if let Some(l) = &p.magnesium {
                let ok = l.elemental_mg > 0.0
                    && l.per_amount > 0.0
                    && crate::medicine_words::AmountUnit::parse(&l.unit).is_some()
                    && !matches!(l.smallest_adult_dose, Some(d) if d.is_nan() || d <= 0.0);
                if !ok {
                    return inconsistent(
                        "medicines.toml",
                        format!("product {:?}: magnesium label values are invalid", p.names),
                    );
                }
            }
        }
        let families: BTreeSet<&str> = self.forms.iter().map(|f| f.family.as_str()).collect();
        for c in &self.rules.form_choice {
            if !families.contains(c.family.as_str()) {
                return inconsistent("rules.toml", format!("unknown form family '{}'", c.family));
            }
        }
        let bands = &self.irls.band;
        let max_total = self.irls.items as u32 * u32::from(self.irls.item_max);
        let contiguous = bands.first().map(|b| b.min) == Some(0)
            && bands.last().map(|b| b.max) == Some(max_total)
            && bands.windows(2).all(|w| w[1].min == w[0].max + 1);
        if !contiguous || self.irls.domains.len() != self.irls.items {
            return inconsistent(
                "scales.toml",
                "IRLS bands must cover 0..=max without gaps, one domain per item".to_string(),
            );
        }
        Ok(())
    }

    pub fn source(&self, id: &str) -> Option<&Source> {
        self.sources.get(id)
    }
}

#[cfg(test)]
mod source_urls;

#[cfg(test)]
mod tests {
    use super::*;

    fn data() -> ReferenceData {
        ReferenceData::shipped().expect("shipped tables load")
    }

    #[test]
    fn shipped_tables_load_and_every_citation_resolves() {
        let d = data();
        assert!(d.sources.len() >= 30);
        for (file, id) in d.cited_source_ids() {
            assert!(d.source(id).is_some(), "{file} cites {id}");
        }
    }

    #[test]
    fn rda_rows_match_facts_table_1a() {
        // FACTS.md section 1a, every cell for ages 1 and over.
        let expected: &[(u32, u32, SexRow, LifeStage, u32)] = &[
            (1, 3, SexRow::Any, LifeStage::General, 80),
            (4, 8, SexRow::Any, LifeStage::General, 130),
            (9, 13, SexRow::Any, LifeStage::General, 240),
            (14, 18, SexRow::Male, LifeStage::General, 410),
            (14, 18, SexRow::Female, LifeStage::General, 360),
            (14, 18, SexRow::Female, LifeStage::Pregnancy, 400),
            (14, 18, SexRow::Female, LifeStage::Lactation, 360),
            (19, 30, SexRow::Male, LifeStage::General, 400),
            (19, 30, SexRow::Female, LifeStage::General, 310),
            (19, 30, SexRow::Female, LifeStage::Pregnancy, 350),
            (19, 30, SexRow::Female, LifeStage::Lactation, 310),
            (31, 50, SexRow::Male, LifeStage::General, 420),
            (31, 50, SexRow::Female, LifeStage::General, 320),
            (31, 50, SexRow::Female, LifeStage::Pregnancy, 360),
            (31, 50, SexRow::Female, LifeStage::Lactation, 320),
            (51, 120, SexRow::Male, LifeStage::General, 420),
            (51, 120, SexRow::Female, LifeStage::General, 320),
        ];
        let got: Vec<_> = data()
            .rda
            .iter()
            .map(|r| (r.age_min, r.age_max, r.sex, r.life_stage, r.rda_mg))
            .collect();
        assert_eq!(got, expected);
    }

    #[test]
    fn supplemental_ul_matches_facts_table_1b() {
        let got: Vec<_> = data()
            .supplemental_ul
            .iter()
            .map(|r| (r.age_min, r.age_max, r.ul_mg))
            .collect();
        assert_eq!(got, [(1, 3, 65), (4, 8, 110), (9, 18, 350), (19, 120, 350)]);
    }

    #[test]
    fn medicine_spacing_hours_match_facts_section_1e() {
        // (class, drug at least N h before magnesium, drug at least N h after magnesium)
        // FACTS 1e: tetracyclines/quinolones ">=2 h before or 4-6 h after" (longer end used);
        // bisphosphonates "at least 2 h"; gabapentin ">=2 h after" (SmPC: 2-3 h either way);
        // levothyroxine ~4 h; integrase inhibitors "2 h before or 6 h after"; SmPC iron 3-4 h.
        let expected = [
            ("tetracycline", 2, 6),
            ("quinolone", 2, 6),
            ("bisphosphonate", 2, 2),
            ("gabapentin", 2, 2),
            ("levothyroxine", 4, 4),
            ("integrase-inhibitor", 2, 6),
            ("iron", 4, 4),
            ("chelating-other", 4, 4),
        ];
        let d = data();
        for (id, before, after) in expected {
            let c = d.medicine_classes.iter().find(|c| c.id == id).unwrap();
            assert_eq!(
                (c.drug_before_mg_hours, c.drug_after_mg_hours),
                (Some(before), Some(after)),
                "{id}"
            );
        }
    }

    #[test]
    fn examples_from_facts_are_in_the_right_classes() {
        // FACTS 1e and 5b name these examples.
        let expected = [
            ("demeclocycline", "tetracycline"),
            ("doxycycline", "tetracycline"),
            ("ciprofloxacin", "quinolone"),
            ("levofloxacin", "quinolone"),
            ("alendronate", "bisphosphonate"),
            ("furosemide", "diuretic-loop-thiazide"),
            ("bumetanide", "diuretic-loop-thiazide"),
            ("hydrochlorothiazide", "diuretic-loop-thiazide"),
            ("ethacrynic acid", "diuretic-loop-thiazide"),
            ("amiloride", "potassium-sparing-diuretic"),
            ("spironolactone", "potassium-sparing-diuretic"),
            ("esomeprazole", "ppi"),
            ("lansoprazole", "ppi"),
            ("gabapentin", "gabapentin"),
            ("diphenhydramine", "antihistamine-sedating"),
            ("doxylamine", "antihistamine-sedating"),
            ("chlorpheniramine", "antihistamine-sedating"),
            ("hydroxyzine", "antihistamine-sedating"),
            ("mirtazapine", "antidepressant"),
            ("venlafaxine", "antidepressant"),
            ("olanzapine", "antipsychotic"),
            ("metoclopramide", "antiemetic-dopamine"),
            ("lithium", "lithium"),
            ("pramipexole", "dopaminergic"),
        ];
        let d = data();
        for (generic, class) in expected {
            let m = d.medicines.iter().find(|m| m.generic == generic).unwrap();
            assert_eq!(m.class, class, "{generic}");
        }
        let antihistamines = d
            .medicine_classes
            .iter()
            .find(|c| c.id == "antihistamine-sedating")
            .unwrap();
        assert_eq!(
            antihistamines.alternatives,
            ["loratadine", "cetirizine", "fexofenadine"]
        );
    }

    #[test]
    fn irls_bands_match_facts_section_4a() {
        let got: Vec<_> = data()
            .irls
            .band
            .iter()
            .map(|b| (b.id.clone(), b.min, b.max))
            .collect();
        let expected = [
            ("none", 0, 0),
            ("mild", 1, 10),
            ("moderate", 11, 20),
            ("severe", 21, 30),
            ("very-severe", 31, 40),
        ];
        let expected: Vec<_> = expected
            .iter()
            .map(|(id, lo, hi)| (id.to_string(), *lo, *hi))
            .collect();
        assert_eq!(got, expected);
    }

    #[test]
    fn plan_rules_match_facts() {
        let r = data().rules;
        // FACTS 7 (CKD gate), 5a (iron thresholds), 6a (Gorantla 200 mg elemental).
        assert_eq!(r.kidney.stop_egfr_below, 30.0);
        assert_eq!(r.kidney.caution_egfr_below, 60.0);
        assert_eq!(r.iron.low_ferritin_max_ng_ml, 75.0);
        assert_eq!(r.iron.borderline_ferritin_max_ng_ml, 100.0);
        assert_eq!(r.iron.low_tsat_below_percent, 20.0);
        assert_eq!(r.dose.start_elemental_mg, 200);
        assert_eq!(r.timing.minutes_before_bed, 30);
    }
}
