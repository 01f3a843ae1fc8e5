//! Plain-text rendering for the terminal. Layout only: every value comes from the core.

use quietlegs_core::food::intake::{FoodEaten, IntakeSummary};
use quietlegs_core::forms::FormCatalogue;
use quietlegs_core::plan::Plan;
use quietlegs_core::profile::{Profile, Sex};
use quietlegs_core::reference::{Evidence, ReferenceData, Severity};
use quietlegs_core::IrlsScore;
use serde_json::json;
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
            let _ = writeln!(
                out,
                "  Take {} mg elemental magnesium as {} at {} each evening.",
                s.elemental_mg, s.form, s.take_at
            );
            para(&mut out, "  ", &format!("Why: {}", s.reason));
            para(&mut out, "  ", &format!("When: {}", s.timing_reason));
            if plan.food_first.current_supplement_mg > 0.0 {
                para(
                    &mut out,
                    "  ",
                    &format!(
                        "With what you already take: {:.0} of {} mg/day from supplements.",
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
    para(&mut out, "  ", "The richest food groups:");
    for g in &plan.food_first.food_groups {
        bullet(&mut out, "-", &g.name);
    }

    if !plan.medicines.is_empty() {
        heading(&mut out, "Medicines screened");
        for m in &plan.medicines {
            let times = if m.times.is_empty() {
                " (no times given)".to_string()
            } else {
                let list: Vec<String> = m.times.iter().map(ToString::to_string).collect();
                format!(" at {}", list.join(", "))
            };
            let reading = if m.classes.is_empty() {
                "not recognised".to_string()
            } else {
                m.classes
                    .iter()
                    .map(|c| format!("{} ({})", c.generic, c.class))
                    .collect::<Vec<_>>()
                    .join(" + ")
            };
            bullet(&mut out, "-", &format!("{}{times}: {reading}", m.name));
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

    heading(&mut out, "Lifestyle");
    for l in &plan.lifestyle {
        bullet(&mut out, "-", &format!("{}{}", l.text, cite(&l.sources)));
    }

    heading(&mut out, "Sources");
    for (id, s) in &plan.sources {
        let url = s
            .url
            .as_deref()
            .map(|u| format!(" {u}"))
            .unwrap_or_default();
        bullet(
            &mut out,
            &format!("[{id}]"),
            &format!("{} ({}).{url}", s.citation, evidence_word(s.evidence)),
        );
    }
    out
}

pub fn irls_text(score: &IrlsScore, data: &ReferenceData) -> String {
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

pub fn forms_text(catalogue: &FormCatalogue) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<22} {:<11} {:>6} {:>10}  {:<9} {:<9} typical use",
        "form", "family", "% Mg", "mg/100 Mg", "absorbed", "laxative"
    );
    for f in catalogue.all() {
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

pub fn about_json(data: &ReferenceData) -> serde_json::Value {
    json!({
        "name": "quietlegs",
        "version": env!("CARGO_PKG_VERSION"),
        "licence": env!("CARGO_PKG_LICENSE"),
        "disclaimer": quietlegs_core::DISCLAIMER,
        "irls_notice": "The IRLS is copyrighted by the International RLS Study Group; quietlegs \
                        stores and scores item values and labels items by paraphrased domain only.",
        "sources": data.sources,
    })
}

pub fn about_text(data: &ReferenceData) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "quietlegs {} ({})",
        env!("CARGO_PKG_VERSION"),
        env!("CARGO_PKG_LICENSE")
    );
    para(&mut out, "", quietlegs_core::DISCLAIMER);
    para(
        &mut out,
        "",
        "The IRLS is copyrighted by the International RLS Study Group: quietlegs stores and \
         scores item values and labels items by paraphrased domain only.",
    );
    heading(&mut out, "Reference sources");
    for (id, s) in &data.sources {
        let url = s
            .url
            .as_deref()
            .map(|u| format!(" {u}"))
            .unwrap_or_default();
        bullet(
            &mut out,
            &format!("[{id}]"),
            &format!("{} ({}).{url}", s.citation, evidence_word(s.evidence)),
        );
    }
    out
}

pub fn intake_text(s: &IntakeSummary, foods: &[FoodEaten], ul_known: bool) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "Magnesium today");
    let _ = writeln!(out, "---------------");
    for f in foods {
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
    if ul_known {
        let _ = writeln!(
            out,
            "  Supplements: {:.0} mg of the {} mg upper limit{}",
            s.supplement_mg,
            s.supplemental_ul_mg,
            if s.supplements_over_ul {
                " - ABOVE THE LIMIT: ask your clinician"
            } else {
                ""
            }
        );
    } else {
        let _ = writeln!(
            out,
            "  Supplements: {:.0} mg (give --profile to check the upper limit)",
            s.supplement_mg
        );
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
