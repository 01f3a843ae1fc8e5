//! Plain-text rendering for the terminal. Layout only: every value comes from the core.

use quietlegs_app::diary::History;
use quietlegs_app::foods::{trim_number, FoodAmount, FoodImport, FoodSearch, IntakeDay, Releases};
use quietlegs_app::info::{About, ScaleScore};
use quietlegs_core::diary::Record;
use quietlegs_core::forms::SupplementForm;
use quietlegs_core::insights::Insights;
use quietlegs_core::plan::Plan;
use quietlegs_core::profile::{Profile, Sex};
use quietlegs_core::reference::{Evidence, ReferenceData, Severity, Source};
use quietlegs_core::text::escape_controls;
use std::collections::BTreeMap;
use std::fmt::Write;

const WIDTH: usize = 96;

/// Wraps at spaces only: URLs and source ids stay whole.
fn wrap_options<'a>() -> textwrap::Options<'a> {
    textwrap::Options::new(WIDTH)
        .break_words(false)
        .word_splitter(textwrap::WordSplitter::NoHyphenation)
}

/// Appends `text` wrapped to the page width, every line indented by `indent`.
fn para(out: &mut String, indent: &str, text: &str) {
    let opts = wrap_options()
        .initial_indent(indent)
        .subsequent_indent(indent);
    for line in textwrap::wrap(text, opts) {
        out.push_str(&line);
        out.push('\n');
    }
}

/// A bullet whose continuation lines align under its text.
fn bullet(out: &mut String, marker: &str, text: &str) {
    let first = format!("  {marker} ");
    let rest = " ".repeat(first.chars().count());
    let opts = wrap_options()
        .initial_indent(&first)
        .subsequent_indent(&rest);
    for line in textwrap::wrap(text, opts) {
        out.push_str(&line);
        out.push('\n');
    }
}

fn heading(out: &mut String, title: &str) {
    let _ = writeln!(out, "\n{title}\n{}", "-".repeat(title.chars().count()));
}

fn cite(ids: &[String]) -> String {
    if ids.is_empty() {
        String::new()
    } else {
        format!(" [{}]", ids.join(", "))
    }
}

fn evidence_word(e: Evidence) -> &'static str {
    match e {
        Evidence::Verified => "verified",
        Evidence::Secondary => "secondary source",
        Evidence::Computed => "computed",
        Evidence::Unverified => "unverified",
        Evidence::Project => "project decision",
    }
}

pub fn plan_text(plan: &Plan, profile: &Profile) -> String {
    let mut out = String::new();
    let sex = match profile.sex {
        Sex::Female => "female",
        Sex::Male => "male",
    };
    let title = format!(
        "quietlegs plan: {sex}, age {}, bedtime {}",
        profile.age, profile.bedtime
    );
    let _ = writeln!(out, "{title}\n{}", "=".repeat(title.chars().count()));
    para(&mut out, "", plan.disclaimer);

    heading(
        &mut out,
        "Can you start a magnesium supplement without a clinician?",
    );
    para(&mut out, "  ", &plan.start_advice);

    heading(&mut out, "Supplement");
    match &plan.supplement {
        Some(s) => {
            let instruction = format!(
                "{} {} mg elemental magnesium as {} {}.",
                if s.conditional {
                    "Only if your clinician agrees: take"
                } else {
                    "Take"
                },
                s.elemental_mg,
                s.form,
                when_words(s.take_at, plan.dose_time.as_ref().map(|d| d.earliest))
            );
            para(&mut out, "  ", &instruction);
            para(&mut out, "  ", &format!("Why: {}", s.reason));
            para(&mut out, "  ", &format!("When: {}", s.timing_reason));
            if plan.food_first.current_supplement_mg > 0.0 || plan.magnesium_from_medicines_mg > 0.0
            {
                para(
                    &mut out,
                    "  ",
                    &format!(
                        "With what you already take: {:.0} of {} mg/day from supplements and \
                         medicines.",
                        s.total_supplemental_mg, plan.supplemental_ul_mg
                    ),
                );
            }
            para(&mut out, "  ", &format!("Sources:{}", cite(&s.sources)));
        }
        None => para(
            &mut out,
            "  ",
            plan.supplement_note
                .as_deref()
                .unwrap_or("No supplement is suggested."),
        ),
    }

    if !plan.flags.is_empty() {
        heading(&mut out, "Flags");
        for f in &plan.flags {
            let marker = match f.severity {
                Severity::Stop => "STOP   ",
                Severity::Caution => "CAUTION",
                Severity::Info => "INFO   ",
            };
            bullet(
                &mut out,
                marker,
                &format!("{}: {}{}", f.code, f.message, cite(&f.sources)),
            );
        }
    }

    heading(&mut out, "Limits");
    match plan.rda_mg {
        Some(rda) => bullet(
            &mut out,
            "-",
            &format!(
                "RDA (food, water and supplements together): {rda} mg/day ({}).",
                plan.rda_basis
            ),
        ),
        None => bullet(&mut out, "-", &format!("RDA: {}.", plan.rda_basis)),
    }
    bullet(
        &mut out,
        "-",
        &format!(
            "Upper limit for supplements: {} mg/day. {}{}",
            plan.supplemental_ul_mg,
            plan.ul_note,
            cite(&plan.limit_sources)
        ),
    );

    heading(&mut out, "Food first");
    para(&mut out, "  ", &plan.food_first.message);
    for s in &plan.food_first.suggestions {
        bullet(
            &mut out,
            "+",
            &format!("{} of {}: {:.0} mg", s.amount, s.name, s.magnesium_mg),
        );
    }
    if !plan.food_first.food_groups.is_empty() {
        para(&mut out, "  ", "The richest food groups:");
        for g in &plan.food_first.food_groups {
            bullet(&mut out, "-", &g.name);
        }
    }

    if !plan.medicines.is_empty() {
        heading(&mut out, "Medicines screened");
        for m in &plan.medicines {
            bullet(&mut out, "-", &m.describe());
        }
    }

    heading(&mut out, "Iron");
    let iron_flagged = plan.flags.iter().any(|f| f.code.starts_with("iron-"));
    if iron_flagged {
        let _ = writeln!(
            out,
            "  Status: {} (see the iron flag above).",
            plan.iron.status
        );
    } else {
        para(
            &mut out,
            "  ",
            &format!("{}{}", plan.iron.message, cite(&plan.iron.sources)),
        );
    }

    heading(&mut out, "Once you take magnesium");
    for l in &plan.safety {
        bullet(&mut out, "-", &format!("{}{}", l.text, cite(&l.sources)));
    }

    heading(&mut out, "Does it work?");
    para(
        &mut out,
        "  ",
        &format!("{}{}", plan.evidence.text, cite(&plan.evidence.sources)),
    );

    heading(&mut out, "Lifestyle");
    for l in &plan.lifestyle {
        bullet(&mut out, "-", &format!("{}{}", l.text, cite(&l.sources)));
    }

    heading(&mut out, "Sources");
    sources(&mut out, &plan.sources);
    out
}

/// "each evening at 21:30", "each morning at 07:00", "each night at 00:15", "each day at 15:00":
/// the words fit the time and the person's waking day.
fn when_words(at: quietlegs_core::ClockTime, wake: Option<quietlegs_core::ClockTime>) -> String {
    // Plain clock words, not a clinical rule: evening from 17:00, morning within 5 h of waking,
    // night before 05:00.
    const EVENING_FROM_MINUTES: u16 = 17 * 60;
    const MORNING_WITHIN_MINUTES: u16 = 5 * 60;
    const NIGHT_UNTIL_MINUTES: u16 = 5 * 60;
    let m = at.minutes();
    let since_wake = wake.map(|w| w.minutes_until(at));
    if m >= EVENING_FROM_MINUTES {
        format!("each evening at {at}")
    } else if since_wake.is_some_and(|s| s < MORNING_WITHIN_MINUTES) {
        format!("each morning at {at}")
    } else if m < NIGHT_UNTIL_MINUTES {
        format!("each night at {at}")
    } else {
        format!("each day at {at}")
    }
}

pub fn irls_text(score: &ScaleScore, data: &ReferenceData) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "IRLS total {} of 40: {}",
        score.total,
        score.band.as_str()
    );
    for (i, (v, domain)) in score.items.iter().zip(&data.irls.domains).enumerate() {
        let _ = writeln!(out, "  {:>2}. {domain:<34} {v}", i + 1);
    }
    out
}

pub fn forms_text(forms: &[SupplementForm]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<22} {:<11} {:>6} {:>10}  {:<9} {:<9} typical use",
        "form", "family", "% Mg", "mg/100 Mg", "absorbed", "laxative"
    );
    for f in forms {
        let per_100 = 100.0 / f.elemental_fraction;
        let _ = writeln!(
            out,
            "{:<22} {:<11} {:>6.1} {:>10.0}  {:<9} {:<9} {}",
            f.row.id,
            f.row.family,
            f.elemental_fraction * 100.0,
            per_100,
            format!("{:?}", f.row.absorption).to_lowercase(),
            format!("{:?}", f.row.laxative).to_lowercase(),
            f.row.typical_use
        );
    }
    out.push_str(
        "\n% Mg = magnesium atoms x 24.305 / molar mass; mg/100 Mg = salt weight that gives 100 mg \
         of elemental magnesium.\nUS Supplement Facts panels state elemental magnesium: use the \
         label's figure when it has one.\n",
    );
    out
}

pub fn about_text(about: &About) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "quietlegs {} ({})", about.version, about.licence);
    para(&mut out, "", about.disclaimer);
    para(&mut out, "", about.irls_notice);
    heading(&mut out, "Reference sources");
    sources(&mut out, &about.sources);
    out
}

/// The sources cited, one bullet each.
fn sources(out: &mut String, sources: &BTreeMap<String, Source>) {
    for (id, s) in sources {
        let url = s
            .url
            .as_deref()
            .map(|u| format!(" {u}"))
            .unwrap_or_default();
        bullet(
            out,
            &format!("[{id}]"),
            &format!("{} ({}).{url}", s.citation, evidence_word(s.evidence)),
        );
    }
}

pub fn intake_text(s: &IntakeDay) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "Magnesium today");
    let _ = writeln!(out, "---------------");
    for f in &s.foods {
        let mg = f
            .magnesium_mg
            .map(|m| format!("{m:.0} mg"))
            .unwrap_or_else(|| "unknown".into());
        bullet(
            &mut out,
            "-",
            &format!("{} {} ({:.0} g): {mg}", f.amount, f.name, f.grams),
        );
    }
    let _ = writeln!(out, "  Food: {:.0} mg", s.food_mg);
    if !s.foods_without_magnesium.is_empty() {
        para(
            &mut out,
            "  ",
            &format!(
                "USDA gives no magnesium for: {}; the food total is a lower bound.",
                s.foods_without_magnesium.join(", ")
            ),
        );
    }
    match s.supplemental_ul_mg {
        Some(ul) => {
            let _ = writeln!(
                out,
                "  Supplements: {:.0} mg of the {ul} mg upper limit{}",
                s.supplement_mg,
                if s.supplements_over_ul == Some(true) {
                    " - ABOVE THE LIMIT: ask your clinician"
                } else {
                    ""
                }
            );
        }
        None => {
            let _ = writeln!(
                out,
                "  Supplements: {:.0} mg (give --profile to check the upper limit)",
                s.supplement_mg
            );
        }
    }
    match (s.rda_mg, s.gap_mg) {
        (Some(rda), Some(gap)) if gap > 0.0 => {
            let _ = writeln!(
                out,
                "  Total: {:.0} mg of your RDA of {rda} mg: {gap:.0} mg short.",
                s.total_mg
            );
        }
        (Some(rda), _) => {
            let _ = writeln!(
                out,
                "  Total: {:.0} mg: your RDA of {rda} mg is met.",
                s.total_mg
            );
        }
        _ => {
            let _ = writeln!(
                out,
                "  Total: {:.0} mg (give --profile to compare with your RDA)",
                s.total_mg
            );
        }
    }
    if !s.top_contributors.is_empty() {
        heading(&mut out, "Top contributors");
        for c in &s.top_contributors {
            bullet(
                &mut out,
                "-",
                &format!(
                    "{}: {:.0} mg ({:.0} %)",
                    c.label,
                    c.magnesium_mg,
                    c.share * 100.0
                ),
            );
        }
    }
    if !s.gap_closers.is_empty() {
        heading(&mut out, "Foods that would close the gap");
        for g in &s.gap_closers {
            bullet(
                &mut out,
                "+",
                &format!("{} of {}: {:.0} mg", g.amount, g.name, g.magnesium_mg),
            );
        }
    }
    out
}

/// A one-line description of a record. Stored text is escaped: nothing in a note or a name can
/// drive the terminal.
pub fn record_summary(r: &Record) -> String {
    let line = r
        .fields()
        .into_iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(", ");
    escape_controls(&line)
}

/// The history table; `ranged` says whether dates were given (for the empty message).
pub fn history_text(h: &History, ranged: bool) -> String {
    let mut out = String::new();
    if h.days.is_empty() {
        out.push_str(if ranged {
            "No diary entries in that range.\n"
        } else {
            "The diary is empty. Log a night with: quietlegs log night --severity 4\n"
        });
        return out;
    }
    let _ = writeln!(
        out,
        "{:<10} {:>4} {:>5} {:>6} {:<12} {:>7} {:>7}  factors / side effects / note",
        "date", "sev", "sleep", "hours", "IRLS", "Mg food", "Mg supp"
    );
    for d in &h.days {
        let opt = |v: Option<String>| v.unwrap_or_else(|| "-".into());
        let irls = match (d.irls_total, &d.irls_band) {
            (Some(t), Some(b)) => format!("{t} {b}"),
            _ => "-".into(),
        };
        let extra: Vec<String> = [
            (!d.factors.is_empty()).then(|| d.factors.join(", ")),
            d.side_effects.as_ref().map(|s| format!("side effects {s}")),
            d.note.as_ref().map(|n| format!("\"{n}\"")),
        ]
        .into_iter()
        .flatten()
        .collect();
        let _ = writeln!(
            out,
            "{:<10} {:>4} {:>5} {:>6} {:<12} {:>7.0} {:>7.0}  {}",
            d.date,
            opt(d.severity.map(|v| v.to_string())),
            opt(d.sleep_quality.map(|v| v.to_string())),
            opt(d.hours_slept.map(|v| v.to_string())),
            irls,
            d.magnesium_food_mg,
            d.magnesium_supplement_mg,
            escape_controls(&extra.join("; "))
        );
    }
    out
}

pub fn search_text(found: &FoodSearch) -> String {
    let mut out = String::new();
    if found.hits.is_empty() {
        let _ = writeln!(out, "No food matches \"{}\".", found.query);
        return out;
    }
    for f in &found.hits {
        let per100 = f
            .magnesium_mg_per_100g
            .map(|m| format!("{m:.0} mg/100 g"))
            .unwrap_or_else(|| "magnesium unknown".into());
        let _ = writeln!(out, "{:<12} {}  [{per100}]", f.id, f.name);
        if let Some(p) = &f.portion {
            let grams = trim_number(p.grams);
            match p.magnesium_mg {
                Some(mg) => {
                    let _ = writeln!(out, "{:<12} {} ({grams} g): {mg:.0} mg", "", p.amount);
                }
                None => {
                    let _ = writeln!(out, "{:<12} {} ({grams} g)", "", p.amount);
                }
            }
        }
    }
    out
}

pub fn amount_text(a: &FoodAmount) -> String {
    let mg = a
        .magnesium_mg
        .map(|m| format!("{m:.1} mg magnesium"))
        .unwrap_or_else(|| "magnesium unknown (USDA gives no value)".into());
    format!(
        "{} of {} ({}) = {:.1} g: {mg}\n  weight from: {}\n",
        a.amount, a.food.name, a.food.id, a.grams, a.via
    )
}

pub fn releases_text(list: &Releases) -> String {
    let mut out = String::new();
    if list.releases.is_empty() {
        out.push_str("No USDA releases are imported (the shipped SR28 table is always there).\n");
    }
    for r in &list.releases {
        let _ = writeln!(
            out,
            "{}  {}  {} foods, imported {}",
            escape_controls(&r.release),
            r.kind,
            r.foods,
            r.imported_at
        );
    }
    out
}

pub fn food_import_text(i: &FoodImport) -> String {
    let r = &i.report;
    let mut out = format!(
        "Imported {} ({}) into {}: {} foods, {} nutrient rows read, {} portions, {} rows skipped.\n",
        i.release, i.kind, i.database, r.foods, r.nutrient_rows, r.portions, r.skipped_rows
    );
    for s in &r.skipped {
        let _ = writeln!(out, "  skipped {}:{}: {}", s.file, s.line, s.reason);
    }
    if r.skipped_rows as usize > r.skipped.len() {
        let _ = writeln!(
            out,
            "  … and {} more skipped rows (use --json for the first {}).",
            r.skipped_rows as usize - r.skipped.len(),
            quietlegs_usda::MAX_SKIPPED_LISTED
        );
    }
    out
}

pub fn insights_text(result: &Insights) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Insights from {} night(s) (neighbouring nights correlate: r = {:.2}, intervals widened for it).",
        result.nights, result.autocorrelation
    );
    if result.factors.is_empty() {
        let _ = writeln!(
            out,
            "No factors logged yet: log them with `quietlegs log factor caffeine --time 17:00`."
        );
    }
    for f in &result.factors {
        let _ = writeln!(out, "- {}", f.text);
    }
    let _ = writeln!(out, "\n{}", result.caveat);
    out
}

use quietlegs_core::trial::analysis::{BayesSummary, TrialAnalysis};
use quietlegs_core::trial::data::TrialData;
use quietlegs_core::trial::design::TrialDesign;

/// The outcome in words.
pub fn outcome_name(o: quietlegs_core::trial::design::Outcome) -> &'static str {
    match o {
        quietlegs_core::trial::design::Outcome::NightlySeverity => "nightly RLS severity (0-10)",
        quietlegs_core::trial::design::Outcome::WeeklyIrls => "weekly IRLS total (0-40)",
    }
}

/// A signed number with two decimals, never "-0.00".
fn signed2(x: f64) -> String {
    let r = (x * 100.0).round() / 100.0;
    let r = if r == 0.0 { 0.0 } else { r };
    format!("{r:+.2}")
}

/// A probability with three decimals that never shows a certainty (a posterior probability of
/// exactly 0 or 1 is floating-point saturation, not knowledge).
fn prob3(p: f64) -> String {
    if p < 0.0005 {
        "<0.001".into()
    } else if p >= 0.9995 {
        ">0.999".into()
    } else {
        format!("{p:.3}")
    }
}

fn bayes_line(name: &str, b: &BayesSummary) -> String {
    format!(
        "  {name:<22} {:>6} [{}, {}]   P(benefit) {}   P(>= MCID) {}{}",
        signed2(b.mean),
        signed2(b.ci95[0]),
        signed2(b.ci95[1]),
        prob3(b.p_benefit),
        prob3(b.p_mcid),
        b.rho_mean
            .map(|r| format!("   rho {}", signed2(r).trim_start_matches('+')))
            .unwrap_or_default()
    )
}

pub fn trial_text(a: &TrialAnalysis) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "Verdict: {}", a.verdict.label);
    para(&mut out, "  ", &a.verdict.text);
    let _ = writeln!(
        out,
        "\nEffect = {} minus {} (mean [95 % interval]); {} is better; MCID {}",
        a.contrast.treatment,
        a.contrast.control,
        if a.higher_is_better {
            "higher"
        } else {
            "lower"
        },
        a.mcid
    );
    let _ = writeln!(out, "{}", bayes_line("AR(1) (primary)", &a.models.ar1));
    let _ = writeln!(out, "{}", bayes_line("mean-only", &a.models.mean_only));
    if let Some(t) = &a.models.ar1_trend {
        let _ = writeln!(out, "{}", bayes_line("AR(1) + linear trend", t));
    }
    match &a.models.cycle_anova {
        Some(x) => {
            let _ = writeln!(
                out,
                "  cycle-blocked ANOVA    F({}, {}) = {:.2}, p = {:.3}. {}",
                x.df[0], x.df[1], x.f, x.p, x.note
            );
        }
        None => {
            let _ = writeln!(out, "  cycle-blocked ANOVA    not available (fewer than 2 complete cycles with data, or no interaction variance)");
        }
    }
    if let Some(r) = &a.models.randomization {
        let _ = writeln!(
            out,
            "  randomization test     p = {:.3} (two-sided, {} allocations, {}){}",
            r.p,
            r.allocations,
            r.method,
            if r.min_p >= quietlegs_core::trial::analysis::SENSITIVITY_ALPHA {
                format!(
                    "; it cannot give p below {:.3}, so it cannot show a difference at the 5 % level",
                    r.min_p
                )
            } else {
                String::new()
            }
        );
    }
    let _ = writeln!(
        out,
        "Nights: {} analysed, {} missing, {} run-in excluded.",
        a.nights.used, a.nights.missing, a.nights.run_in_excluded
    );
    out
}

/// The trial report, in the order of the CENT 2015 checklist (design, participant flow,
/// interventions, outcomes, methods, results, harms), written for a clinician's two minutes.
pub fn trial_report(c: &quietlegs_app::trial::TrialReport) -> String {
    let mut out = String::new();
    let title = format!("n-of-1 trial report: {}", c.trial);
    let _ = writeln!(out, "{title}\n{}", "=".repeat(title.chars().count()));
    para(&mut out, "", quietlegs_core::DISCLAIMER);
    heading(&mut out, "Verdict");
    para(
        &mut out,
        "  ",
        &format!("[{}] {}", c.analysis.verdict.label, c.analysis.verdict.text),
    );
    report_design(&mut out, c);
    report_periods(&mut out, c);
    report_blinding(&mut out, c);
    heading(&mut out, "Statistical methods (CENT 12)");
    para(&mut out, "  ", "Primary: normal model with one mean per arm and AR(1) errors over the day grid (missing nights handled by the exact likelihood), vague priors as in nof1ins, posterior by deterministic quadrature over the autocorrelation. Sensitivity: the same without autocorrelation; with a linear trend (period effects, drift); the cycle-blocked ANOVA of period means (Senn); the randomization test over this design's own allocations. Carry-over: handled by discarding each period's run-in nights.");
    heading(&mut out, "Results (CENT 17)");
    out.push_str(&trial_text(&c.analysis));
    heading(&mut out, "Side effects (CENT 19)");
    for a in &c.side_effects_by_arm {
        let _ = writeln!(
            out,
            "  {:<12} {} days logged, mean total score {} (diarrhea + nausea + cramps, 0-9)",
            a.arm,
            a.days_logged,
            a.mean_score
                .map(|m| format!("{m:.2}"))
                .unwrap_or_else(|| "-".into())
        );
    }
    out
}

/// CENT 4-5: the design as pre-registered.
fn report_design(out: &mut String, c: &quietlegs_app::trial::TrialReport) {
    let d = &c.design;
    heading(out, "Design (CENT 4-5)");
    para(out, "  ", &format!(
        "Randomized {} n-of-1 trial, {} vs {}: {} cycles, each holding every arm once in a random order drawn from a recorded seed; {} periods of {} days with the first {} nights of each a run-in (not analysed){}. Outcome: {}; minimal important difference {}. Pre-registered before the first period: plan hash {}.",
        if c.plan.blinded { "blinded, placebo-controlled" } else { "open-label" },
        c.plan.treatment, c.plan.control, d.cycles, c.periods_planned, d.period_days, d.run_in_days,
        if d.washout_days > 0 { format!(", and {} washout days between periods", d.washout_days) } else { String::new() },
        outcome_name(d.outcome), d.mcid, c.plan_hash
    ));
}

/// CENT 13-14: the periods planned and completed, with their means.
fn report_periods(out: &mut String, c: &quietlegs_app::trial::TrialReport) {
    let d = &c.design;
    heading(out, "Periods planned and completed (CENT 13-14)");
    let _ = writeln!(
        out,
        "  {} of {} periods completed; started {}.",
        c.periods_completed, c.periods_planned, d.start
    );
    for (p, m) in d.schedule().iter().zip(&c.analysis.period_means) {
        let _ = writeln!(
            out,
            "  period {:>2} cycle {} {} to {}: {:<10} {} nights analysed, mean {}",
            p.index + 1,
            p.cycle + 1,
            d.date_of(p.first_day),
            d.date_of(p.last_day),
            m.arm,
            m.nights,
            m.mean
                .map(|v| format!("{v:.2}"))
                .unwrap_or_else(|| "-".into())
        );
    }
}

/// CENT 11: how the arms were hidden, an early unblinding, and the guesses against chance.
fn report_blinding(out: &mut String, c: &quietlegs_app::trial::TrialReport) {
    heading(out, "Blinding (CENT 11)");
    if !c.plan.blinded {
        let _ = writeln!(out, "  Open label: the participant knew the arm. Expectation may explain part of any difference.");
        return;
    }
    let early: Vec<&quietlegs_store::TrialEvent> = c
        .events
        .iter()
        .filter(|e| e.kind == "early-unblinding")
        .collect();
    if early.is_empty() {
        let _ = writeln!(out, "  Blinded with identical containers filled by a helper; unblinded after the last period.");
    } else {
        for e in early {
            let _ = writeln!(out, "  UNBLINDED EARLY at {}: {}", e.at, e.detail);
        }
    }
    match &c.blinding {
        None => {
            let _ = writeln!(
                out,
                "  No end-of-period guesses were recorded: blinding integrity cannot be assessed."
            );
        }
        Some(b) => {
            let _ = writeln!(
                out,
                "  Guesses: {} of {} periods guessed right (chance {:.0} %); P(at least this many by chance) = {:.2}. {}",
                b.right,
                b.guesses,
                b.chance * 100.0,
                b.p_by_chance,
                if b.probably_unblinded { "The participant could probably tell the arms apart: treat the verdict with caution." } else { "No sign that blinding failed." }
            );
        }
    }
}

/// An SVG timeline: periods shaded by arm, nightly scores as dots, period means as lines.
/// Written by hand: a few rectangles, circles and lines need no plotting crate (and no fonts).
pub fn timeline_svg(d: &TrialDesign, data: &TrialData, a: &TrialAnalysis) -> String {
    const W: f64 = 900.0;
    const H: f64 = 320.0;
    const LEFT: f64 = 50.0;
    const RIGHT: f64 = 20.0;
    const TOP: f64 = 30.0;
    const BOTTOM: f64 = 50.0;
    let colours = ["#4c78a8", "#f58518", "#54a24b", "#b279a2"];
    let days = (d.last_day() + 1).max(1) as f64;
    let ymax = match d.outcome {
        quietlegs_core::trial::design::Outcome::NightlySeverity => 10.0,
        quietlegs_core::trial::design::Outcome::WeeklyIrls => 40.0,
    };
    let x = |day: f64| LEFT + (W - LEFT - RIGHT) * day / days;
    let y = |v: f64| TOP + (H - TOP - BOTTOM) * (1.0 - v / ymax);
    let mut s = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{W}\" height=\"{H}\" viewBox=\"0 0 {W} {H}\" font-family=\"sans-serif\" font-size=\"12\">\n<title>Trial timeline</title>\n<rect width=\"{W}\" height=\"{H}\" fill=\"white\"/>\n"
    );
    for p in d.schedule() {
        let c = colours[p.arm % colours.len()];
        let _ = writeln!(s, "<rect x=\"{:.1}\" y=\"{TOP}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"{c}\" fill-opacity=\"0.15\"/>", x(p.first_day as f64), x((p.last_day + 1) as f64) - x(p.first_day as f64), H - TOP - BOTTOM);
        let _ = writeln!(s, "<rect x=\"{:.1}\" y=\"{TOP}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"#999\" fill-opacity=\"0.15\"><title>run-in</title></rect>", x(p.first_day as f64), x(p.analysed_from_day as f64) - x(p.first_day as f64), H - TOP - BOTTOM);
        if let Some(m) = a.period_means.get(p.index).and_then(|m| m.mean) {
            let _ = writeln!(s, "<line x1=\"{:.1}\" x2=\"{:.1}\" y1=\"{:.1}\" y2=\"{:.1}\" stroke=\"{c}\" stroke-width=\"3\"><title>period {} mean {m:.2}</title></line>", x(p.analysed_from_day as f64), x((p.last_day + 1) as f64), y(m), y(m), p.index + 1);
        }
    }
    for n in &data.nights {
        if let Some(v) = n.outcome {
            let c = if n.run_in {
                "#999"
            } else {
                colours[n.arm % colours.len()]
            };
            let _ = writeln!(
                s,
                "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"2.5\" fill=\"{c}\"/>",
                x(n.day as f64 + 0.5),
                y(v)
            );
        }
    }
    let _ = writeln!(
        s,
        "<line x1=\"{LEFT}\" x2=\"{LEFT}\" y1=\"{TOP}\" y2=\"{:.1}\" stroke=\"black\"/>",
        H - BOTTOM
    );
    let _ = writeln!(
        s,
        "<line x1=\"{LEFT}\" x2=\"{:.1}\" y1=\"{:.1}\" y2=\"{:.1}\" stroke=\"black\"/>",
        W - RIGHT,
        H - BOTTOM,
        H - BOTTOM
    );
    for tick in [0.0, ymax / 2.0, ymax] {
        let _ = writeln!(
            s,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{tick}</text>",
            LEFT - 6.0,
            y(tick) + 4.0
        );
    }
    let _ = writeln!(s, "<text x=\"{LEFT}\" y=\"18\">{} by night (dots), period means (lines); grey: run-in, not analysed</text>", match d.outcome { quietlegs_core::trial::design::Outcome::NightlySeverity => "RLS severity 0-10", quietlegs_core::trial::design::Outcome::WeeklyIrls => "IRLS total" });
    let mut lx = LEFT;
    for (i, arm) in d.arms.iter().enumerate() {
        let _ = writeln!(s, "<rect x=\"{lx:.1}\" y=\"{:.1}\" width=\"12\" height=\"12\" fill=\"{}\"/><text x=\"{:.1}\" y=\"{:.1}\">{}</text>", H - 24.0, colours[i % colours.len()], lx + 16.0, H - 14.0, escape(arm));
        lx += 24.0 + 8.0 * arm.len() as f64 + 20.0;
    }
    let _ = writeln!(
        s,
        "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">day 0 = {}; {} days</text>",
        W - RIGHT,
        H - 14.0,
        d.start,
        days
    );
    s.push_str("</svg>\n");
    s
}

fn escape(t: &str) -> String {
    t.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::when_words;
    use quietlegs_core::ClockTime;

    #[test]
    fn dose_time_words_fit_the_waking_day() {
        let t = |s: &str| ClockTime::parse(s).unwrap();
        let cases = [
            ("22:00", Some("06:30"), "each evening at 22:00"),
            ("17:00", Some("06:30"), "each evening at 17:00"),
            ("15:00", Some("06:30"), "each day at 15:00"),
            ("07:00", Some("06:30"), "each morning at 07:00"),
            ("04:00", Some("03:30"), "each morning at 04:00"),
            ("02:30", Some("11:00"), "each night at 02:30"),
            ("02:30", None, "each night at 02:30"),
        ];
        for (at, wake, want) in cases {
            assert_eq!(when_words(t(at), wake.map(t)), want);
        }
    }
}
