//! The clinician's report in words and charts: page 1 is the summary a clinician reads first,
//! then the symptoms, magnesium and side effects with their charts, then the trial in the order
//! of the CENT 2015 checklist (design, randomization and blinding, periods and adherence,
//! missing nights, every pre-registered model, the blinding guesses, harms), then the sources.

use crate::document::{Band, Block, Chart, Document, Mark, Rule, Section, Series, Span};
use jiff::civil::Date;
use quietlegs_app::clinician::{ClinicianReport, ReportRange, TrialSection};
use quietlegs_app::trial::{TrialReport, TrialStatus};
use quietlegs_core::reference::ReferenceData;
use quietlegs_core::trial::analysis::BayesSummary;
use quietlegs_core::trial::design::Outcome;

/// A number with at most one decimal ("5", "5.3").
fn num1(x: f64) -> String {
    let r = (x * 10.0).round() / 10.0;
    if r.fract() == 0.0 {
        format!("{}", r as i64)
    } else {
        format!("{r:.1}")
    }
}

/// A signed number with two decimals, never "-0.00".
fn signed2(x: f64) -> String {
    let r = (x * 100.0).round() / 100.0;
    let r = if r == 0.0 { 0.0 } else { r };
    format!("{r:+.2}")
}

/// A probability that never shows a certainty (0 or 1 is floating-point saturation).
fn prob(p: f64) -> String {
    if p < 0.0005 {
        "<0.001".into()
    } else if p >= 0.9995 {
        ">0.999".into()
    } else {
        format!("{p:.3}")
    }
}

/// "1 day", "3 days".
fn days(n: usize) -> String {
    if n == 1 {
        "1 day".into()
    } else {
        format!("{n} days")
    }
}

fn day_of(range: ReportRange, d: Date) -> f64 {
    (d - range.from).get_days() as f64
}

fn x_axis(range: ReportRange) -> ((f64, f64), (String, String)) {
    (
        (0.0, day_of(range, range.to)),
        (range.from.to_string(), range.to.to_string()),
    )
}

fn outcome_words(o: Outcome) -> &'static str {
    match o {
        Outcome::NightlySeverity => "nightly RLS severity (0-10)",
        Outcome::WeeklyIrls => "weekly IRLS total (0-40)",
    }
}

/// Lays the report out as a document.
pub fn document(r: &ClinicianReport, reference: &ReferenceData) -> Document {
    let mut sections = vec![summary(r)];
    sections.push(symptoms(r, reference));
    sections.push(magnesium(r));
    sections.push(side_effects(r));
    sections.extend(trial_sections(r));
    sections.push(sources(r));
    Document {
        title: "quietlegs: restless legs diary and magnesium trial".into(),
        subtitle: format!(
            "Clinician's report, {} to {}; made on {}",
            r.range.from, r.range.to, r.made_on
        ),
        disclaimer: r.disclaimer.to_string(),
        sections,
    }
}

// ---------------------------------------------------------------------------------------------
// Page 1

fn summary(r: &ClinicianReport) -> Section {
    let mut blocks = Vec::new();
    let mut facts = Vec::new();
    match &r.person {
        Some(p) => {
            let mut who = format!("{}, {}", p.age, p.sex);
            if p.pregnant {
                who.push_str(", pregnant");
            }
            if p.lactating {
                who.push_str(", breastfeeding");
            }
            facts.push(("Person".into(), who));
            facts.push(("Kidney".into(), p.kidney.clone()));
            facts.push((
                "Iron".into(),
                format!(
                    "ferritin {}, transferrin saturation {}",
                    p.ferritin_ng_ml
                        .map(|f| format!("{} ng/mL", num1(f)))
                        .unwrap_or_else(|| "not given".into()),
                    p.tsat_percent
                        .map(|t| format!("{} %", num1(t)))
                        .unwrap_or_else(|| "not given".into())
                ),
            ));
            if !p.conditions.is_empty() {
                facts.push(("Conditions".into(), p.conditions.join(", ")));
            }
        }
        None => facts.push((
            "Person".into(),
            "no profile stored: age, kidney function, iron and medicines unknown".into(),
        )),
    }
    if let Some(plan) = &r.plan {
        facts.push((
            "Plan".into(),
            plan.supplement
                .clone()
                .or_else(|| plan.supplement_note.clone())
                .unwrap_or_else(|| "no supplement suggested".into()),
        ));
        facts.push(("Start".into(), plan.start_advice.clone()));
        facts.push((
            "Medicines screened".into(),
            if plan.medicines.is_empty() {
                "none listed".into()
            } else {
                plan.medicines.join("; ")
            },
        ));
        facts.push((
            "Iron advice".into(),
            format!("{}: {}", plan.iron_status, plan.iron_message),
        ));
    }
    let latest = r.irls.scores.last();
    facts.push((
        "IRLS".into(),
        match latest {
            Some(l) => format!(
                "{} ({}) on {}{}",
                l.total,
                l.band,
                l.date,
                r.irls
                    .change
                    .map(|c| format!(
                        "; {c:+} since the first of {} scores in the range",
                        r.irls.scores.len()
                    ))
                    .unwrap_or_default()
            ),
            None => "no IRLS scored in the range".into(),
        },
    ));
    let n = &r.nights;
    facts.push((
        "Nightly severity".into(),
        match n.mean_severity {
            Some(m) => format!(
                "mean {} of 10 over {} nights logged of {}{}",
                num1(m),
                n.nights_logged,
                n.days_in_range,
                n.last_week_mean_severity
                    .map(|w| format!("; last 7 days {}", num1(w)))
                    .unwrap_or_default()
            ),
            None => "no nights logged in the range".into(),
        },
    ));
    facts.push(("Magnesium".into(), intake_sentence(r)));
    facts.push(("Side effects".into(), side_effect_sentence(r)));
    facts.push(("Trial".into(), trial_sentence(&r.trial)));
    blocks.push(Block::Facts(facts));
    if let Some(plan) = &r.plan {
        if plan.flags.is_empty() {
            blocks.push(Block::Paragraph("Open flags: none.".into()));
        } else {
            blocks.push(Block::Paragraph(format!(
                "Open flags ({}), most serious first:",
                plan.flags.len()
            )));
            blocks.push(Block::Bullets(
                plan.flags
                    .iter()
                    .map(|f| format!("{}: {} [{}]", f.severity.to_uppercase(), f.message, f.code))
                    .collect(),
            ));
        }
    }
    if let TrialSection::Result { report, .. } = &r.trial {
        blocks.push(Block::Callout(format!(
            "Trial verdict: {}. {}",
            report.analysis.verdict.label, report.analysis.verdict.text
        )));
    }
    Section {
        id: "summary",
        heading: "Summary".into(),
        new_page: false,
        blocks,
    }
}

fn intake_sentence(r: &ClinicianReport) -> String {
    let i = &r.intake;
    let food = match i.mean_food_mg {
        Some(m) => format!(
            "food {} mg a day on average ({} with food logged)",
            num1(m),
            days(i.days_with_food)
        ),
        None => "no food logged".into(),
    };
    let rda = i
        .rda_mg
        .map(|r| format!(" against an RDA of {r} mg"))
        .unwrap_or_default();
    let supp = match i.mean_supplement_mg {
        Some(m) => format!(
            "; supplements {} mg on {} (most {} mg){}",
            num1(m),
            days(i.days_with_dose),
            num1(i.max_supplement_mg.unwrap_or(m)),
            match i.supplemental_ul_mg {
                Some(ul) if i.days_over_ul > 0 => format!(
                    ", ABOVE the supplemental upper limit of {ul} mg on {}",
                    days(i.days_over_ul)
                ),
                Some(ul) => format!(", never above the supplemental upper limit of {ul} mg"),
                None => String::new(),
            }
        ),
        None => "; no supplement doses logged".into(),
    };
    format!("{food}{rda}{supp}")
}

fn side_effect_sentence(r: &ClinicianReport) -> String {
    let s = &r.side_effects;
    if s.days_logged == 0 {
        return "none logged".into();
    }
    format!(
        "{} of {} logged had any; worst diarrhea {}, nausea {}, cramps {} (0 none to 3 severe)",
        s.days_with_any,
        days(s.days_logged),
        s.worst_diarrhea,
        s.worst_nausea,
        s.worst_cramps
    )
}

fn ci(b: &BayesSummary) -> String {
    format!(
        "{} [95 % interval {} to {}]",
        signed2(b.mean),
        signed2(b.ci95[0]),
        signed2(b.ci95[1])
    )
}

fn trial_sentence(t: &TrialSection) -> String {
    match t {
        TrialSection::None => "no n-of-1 trial planned".into(),
        TrialSection::Status { status, reason } => format!(
            "'{}' {}; {}",
            status.trial,
            if status.in_progress() {
                "in progress"
            } else {
                "over"
            },
            reason
        ),
        TrialSection::Result { report, .. } => {
            let a = &report.analysis;
            format!(
                "'{}': {} minus {} = {} on {} (primary AR(1) model); {}",
                report.trial,
                a.contrast.treatment,
                a.contrast.control,
                ci(&a.models.ar1),
                outcome_words(report.design.outcome),
                if report.plan.blinded {
                    "blinded, placebo-controlled"
                } else {
                    "open label"
                }
            )
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Symptoms, magnesium, side effects

fn symptoms(r: &ClinicianReport, reference: &ReferenceData) -> Section {
    let (x_range, x_labels) = x_axis(r.range);
    let mut blocks = Vec::new();
    let n = &r.nights;
    blocks.push(Block::Chart(Box::new(Chart {
        title: "Nightly RLS severity".into(),
        summary: match n.mean_severity {
            Some(m) => format!(
                "{} {} from {} to {}; mean severity {} of 10 (0 none, 10 worst).",
                n.nights_logged,
                if n.nights_logged == 1 {
                    "night"
                } else {
                    "nights"
                },
                r.range.from,
                r.range.to,
                num1(m)
            ),
            None => "No nights logged in the range.".into(),
        },
        x_range,
        x_labels: x_labels.clone(),
        y_range: (0.0, 10.0),
        y_ticks: vec![0.0, 5.0, 10.0],
        y_label: "severity 0-10".into(),
        bands: vec![],
        spans: vec![],
        rules: vec![],
        series: vec![Series {
            label: "severity".into(),
            mark: Mark::Line,
            colour: 0,
            points: n
                .points
                .iter()
                .map(|p| (day_of(r.range, p.date), f64::from(p.severity)))
                .collect(),
        }],
    })));
    let max = (reference.irls.items as u32) * u32::from(reference.irls.item_max);
    let bands = reference
        .irls
        .band
        .iter()
        .enumerate()
        .filter(|(_, b)| b.max > 0)
        .map(|(i, b)| Band {
            from: f64::from(b.min),
            to: f64::from(b.max),
            label: b.id.clone(),
            shade: (i % 4) as u8,
        })
        .collect();
    blocks.push(Block::Chart(Box::new(Chart {
        title: "IRLS total with its severity bands".into(),
        summary: match (r.irls.scores.first(), r.irls.scores.last()) {
            (Some(a), Some(b)) => format!(
                "{} IRLS scores: {} ({}) on {} to {} ({}) on {}.",
                r.irls.scores.len(),
                a.total,
                a.band,
                a.date,
                b.total,
                b.band,
                b.date
            ),
            _ => "No IRLS scored in the range.".into(),
        },
        x_range,
        x_labels,
        y_range: (0.0, f64::from(max)),
        y_ticks: vec![0.0, f64::from(max) / 2.0, f64::from(max)],
        y_label: format!("IRLS 0-{max}"),
        bands,
        spans: vec![],
        rules: vec![],
        series: vec![Series {
            label: "IRLS total".into(),
            mark: Mark::Dots,
            colour: 0,
            points: r
                .irls
                .scores
                .iter()
                .map(|p| (day_of(r.range, p.date), f64::from(p.total)))
                .collect(),
        }],
    })));
    if !r.irls.scores.is_empty() {
        blocks.push(Block::Table {
            header: vec!["Date".into(), "IRLS total".into(), "Band".into()],
            rows: r
                .irls
                .scores
                .iter()
                .map(|p| vec![p.date.to_string(), p.total.to_string(), p.band.clone()])
                .collect(),
        });
    }
    let mut facts = vec![(
        "Nights logged".to_string(),
        format!("{} of {} days", n.nights_logged, n.days_in_range),
    )];
    if let Some(h) = n.mean_hours_slept {
        facts.push(("Mean sleep".into(), format!("{} hours", num1(h))));
    }
    if let Some(q) = n.mean_sleep_quality {
        facts.push((
            "Mean sleep quality".into(),
            format!("{} of 10 (10 best)", num1(q)),
        ));
    }
    if !r.factors.is_empty() {
        facts.push((
            "Evening factors logged".into(),
            r.factors
                .iter()
                .map(|(k, v)| format!("{k} on {v} evenings"))
                .collect::<Vec<_>>()
                .join(", "),
        ));
    }
    blocks.push(Block::Facts(facts));
    Section {
        id: "symptoms",
        heading: "Symptoms".into(),
        new_page: true,
        blocks,
    }
}

fn magnesium(r: &ClinicianReport) -> Section {
    let (x_range, x_labels) = x_axis(r.range);
    let i = &r.intake;
    let top = i
        .days
        .iter()
        .map(|d| d.food_mg + d.supplement_mg)
        .chain(i.rda_mg.map(f64::from))
        .chain(i.supplemental_ul_mg.map(f64::from))
        .fold(100.0, f64::max);
    // A round top: the next 100 mg.
    let top = (top / 100.0).ceil() * 100.0;
    let mut rules = Vec::new();
    if let Some(rda) = i.rda_mg {
        rules.push(Rule {
            y: f64::from(rda),
            label: format!("RDA {rda} mg (all sources)"),
            dashed: false,
        });
    }
    if let Some(ul) = i.supplemental_ul_mg {
        rules.push(Rule {
            y: f64::from(ul),
            label: format!("supplement upper limit {ul} mg"),
            dashed: true,
        });
    }
    let blocks = vec![
        Block::Chart(Box::new(Chart {
            title: "Magnesium per day: food and supplements".into(),
            summary: format!("{}.", intake_sentence(r)),
            x_range,
            x_labels,
            y_range: (0.0, top),
            y_ticks: vec![0.0, top / 2.0, top],
            y_label: "mg a day".into(),
            bands: vec![],
            spans: vec![],
            rules,
            series: vec![
                Series {
                    label: "food".into(),
                    mark: Mark::Bars,
                    colour: 2,
                    points: i
                        .days
                        .iter()
                        .map(|d| (day_of(r.range, d.date), d.food_mg))
                        .collect(),
                },
                Series {
                    label: "supplements".into(),
                    mark: Mark::Bars,
                    colour: 1,
                    points: i
                        .days
                        .iter()
                        .map(|d| (day_of(r.range, d.date), d.supplement_mg))
                        .collect(),
                },
            ],
        })),
        Block::Paragraph(
            "The RDA counts food and supplements together; the upper limit applies to \
             supplements (and magnesium-containing medicines) only, not to food. Food values \
             are the USDA values of the foods logged: a day with little food logged is a lower \
             bound, not a measured intake."
                .into(),
        ),
    ];
    Section {
        id: "magnesium",
        heading: "Magnesium intake".into(),
        new_page: false,
        blocks,
    }
}

fn side_effects(r: &ClinicianReport) -> Section {
    let (x_range, x_labels) = x_axis(r.range);
    let s = &r.side_effects;
    let series =
        |label: &str, colour: usize, f: fn(&quietlegs_app::clinician::SideEffectPoint) -> u8| {
            Series {
                label: label.into(),
                mark: Mark::Bars,
                colour,
                points: s
                    .days
                    .iter()
                    .map(|d| (day_of(r.range, d.date), f64::from(f(d))))
                    .collect(),
            }
        };
    Section {
        id: "side-effects",
        heading: "Side effects".into(),
        new_page: false,
        blocks: vec![Block::Chart(Box::new(Chart {
            title: "Side effects per day (stacked: diarrhea, nausea, cramps; each 0-3)".into(),
            summary: format!("{}.", side_effect_sentence(r)),
            x_range,
            x_labels,
            y_range: (0.0, 9.0),
            y_ticks: vec![0.0, 3.0, 6.0, 9.0],
            y_label: "sum 0-9".into(),
            bands: vec![],
            spans: vec![],
            rules: vec![],
            series: vec![
                series("diarrhea", 1, |d| d.diarrhea),
                series("nausea", 3, |d| d.nausea),
                series("cramps", 0, |d| d.cramps),
            ],
        }))],
    }
}

// ---------------------------------------------------------------------------------------------
// The trial, in CENT 2015 order

fn trial_sections(r: &ClinicianReport) -> Vec<Section> {
    match &r.trial {
        TrialSection::None => vec![Section {
            id: "trial",
            heading: "n-of-1 trial".into(),
            new_page: true,
            blocks: vec![Block::Paragraph(
                "No n-of-1 trial has been planned. Whether magnesium helps this person is not \
                 known from the diary alone: the placebo response in RLS is large."
                    .into(),
            )],
        }],
        TrialSection::Status { status, reason } => vec![Section {
            id: "trial",
            heading: format!("n-of-1 trial '{}'", status.trial),
            new_page: true,
            blocks: status_blocks(status, reason),
        }],
        TrialSection::Result { status, report } => result_sections(status, report),
    }
}

fn status_blocks(status: &TrialStatus, reason: &str) -> Vec<Block> {
    let mut facts = vec![
        ("State".to_string(), reason.to_string()),
        (
            "Blinding".into(),
            if status.blinded {
                "blinded: periods are shown by container number only".into()
            } else {
                "open label".into()
            },
        ),
        ("Pre-registration hash".into(), status.plan_hash.clone()),
    ];
    if let Some(p) = status.period {
        facts.push(("Current period".into(), p.to_string()));
    }
    let mut blocks = vec![Block::Facts(facts)];
    if !status.adherence.is_empty() {
        blocks.push(adherence_table(status));
    }
    blocks
}

fn adherence_table(status: &TrialStatus) -> Block {
    Block::Table {
        header: vec![
            "Period".into(),
            "Nights so far".into(),
            "Nights with a dose logged".into(),
        ],
        rows: status
            .adherence
            .iter()
            .map(|a| {
                vec![
                    a.period.to_string(),
                    a.days_planned.to_string(),
                    a.days_with_dose.to_string(),
                ]
            })
            .collect(),
    }
}

fn model_row(name: &str, b: &BayesSummary) -> Vec<String> {
    vec![
        name.into(),
        signed2(b.mean),
        format!("{} to {}", signed2(b.ci95[0]), signed2(b.ci95[1])),
        prob(b.p_benefit),
        prob(b.p_mcid),
        b.rho_mean
            .map(|r| format!("{r:.2}"))
            .unwrap_or_else(|| "-".into()),
    ]
}

fn result_sections(status: &TrialStatus, c: &TrialReport) -> Vec<Section> {
    let d = &c.design;
    let a = &c.analysis;
    let mut out = Vec::new();
    out.push(Section {
        id: "trial-verdict",
        heading: format!("n-of-1 trial '{}': verdict", c.trial),
        new_page: true,
        blocks: vec![
            Block::Callout(format!("{}. {}", a.verdict.label, a.verdict.text)),
            Block::Paragraph(format!(
                "Effect = {} minus {} on {}, from the primary AR(1) model: {}. {} is better; the \
                 minimal important difference is {}.",
                a.contrast.treatment,
                a.contrast.control,
                outcome_words(d.outcome),
                ci(&a.models.ar1),
                if a.higher_is_better {
                    "Higher"
                } else {
                    "Lower"
                },
                num1(a.mcid)
            )),
        ],
    });
    out.push(Section {
        id: "trial-design",
        heading: "Design (CENT 4-5)".into(),
        new_page: false,
        blocks: vec![Block::Facts(vec![
            (
                "Comparison".into(),
                format!("{} vs {}", c.plan.treatment, c.plan.control),
            ),
            (
                "Cycles and periods".into(),
                format!(
                    "{} cycles, each holding every arm once; {} periods of {} days",
                    d.cycles, c.periods_planned, d.period_days
                ),
            ),
            (
                "Run-in and washout".into(),
                format!(
                    "the first {} nights of each period are a run-in, not analysed; {} washout days between periods",
                    d.run_in_days, d.washout_days
                ),
            ),
            ("Outcome".into(), outcome_words(d.outcome).into()),
            ("Minimal important difference".into(), num1(d.mcid)),
            ("Start".into(), d.start.to_string()),
            ("Pre-registration hash".into(), c.plan_hash.clone()),
        ])],
    });
    let early: Vec<String> = c
        .events
        .iter()
        .filter(|e| e.kind == "early-unblinding")
        .map(|e| format!("Unblinded EARLY at {}: {}", e.at, e.detail))
        .collect();
    let mut blinding = vec![Block::Paragraph(format!(
        "The order of the arms within each cycle was drawn at random from a seed recorded before \
         the first period (the hash above commits to it). {}",
        if c.plan.blinded {
            "Blinded, placebo-controlled: a helper filled identical numbered containers; the \
             participant logged nights without knowing the arm."
        } else {
            "Open label: the participant knew the arm, so expectation may explain part of any \
             difference."
        }
    ))];
    if !early.is_empty() {
        blinding.push(Block::Bullets(early));
    }
    if c.plan.blinded {
        blinding.push(Block::Paragraph(match &c.blinding {
            None => "No end-of-period guesses were recorded: blinding integrity cannot be assessed.".into(),
            Some(b) => format!(
                "Guesses: {} of {} periods guessed right (chance {:.0} %); P(at least this many by chance) = {:.2}. {}",
                b.right,
                b.guesses,
                b.chance * 100.0,
                b.p_by_chance,
                if b.probably_unblinded {
                    "The participant could probably tell the arms apart: treat the verdict with caution."
                } else {
                    "No sign that blinding failed."
                }
            ),
        }));
        if !c.guesses.is_empty() {
            blinding.push(Block::Table {
                header: vec!["Period".into(), "Guessed".into(), "Actual".into()],
                rows: c
                    .guesses
                    .iter()
                    .map(|g| vec![g.period.to_string(), g.guess.clone(), g.actual.clone()])
                    .collect(),
            });
        }
    }
    out.push(Section {
        id: "trial-blinding",
        heading: "Randomization and blinding (CENT 8-11)".into(),
        new_page: false,
        blocks: blinding,
    });
    let schedule = d.schedule();
    let mut periods = vec![Block::Paragraph(format!(
        "{} of {} periods completed. Nights: {} analysed, {} missing, {} run-in nights excluded.",
        c.periods_completed,
        c.periods_planned,
        a.nights.used,
        a.nights.missing,
        a.nights.run_in_excluded
    ))];
    periods.push(Block::Chart(Box::new(timeline(c))));
    periods.push(Block::Table {
        header: vec![
            "Period".into(),
            "Cycle".into(),
            "Dates".into(),
            "Arm".into(),
            "Nights analysed".into(),
            "Mean".into(),
            "Doses logged".into(),
        ],
        rows: schedule
            .iter()
            .zip(&a.period_means)
            .map(|(p, m)| {
                let adherence = status
                    .adherence
                    .iter()
                    .find(|x| x.period == p.index + 1)
                    .map(|x| format!("{} of {}", x.days_with_dose, x.days_planned))
                    .unwrap_or_else(|| "-".into());
                vec![
                    (p.index + 1).to_string(),
                    (p.cycle + 1).to_string(),
                    format!("{} to {}", d.date_of(p.first_day), d.date_of(p.last_day)),
                    m.arm.clone(),
                    m.nights.to_string(),
                    m.mean
                        .map(|v| format!("{v:.2}"))
                        .unwrap_or_else(|| "-".into()),
                    adherence,
                ]
            })
            .collect(),
    });
    out.push(Section {
        id: "trial-periods",
        heading: "Periods, adherence and missing nights (CENT 13-14)".into(),
        new_page: false,
        blocks: periods,
    });
    let mut models = vec![
        Block::Paragraph(
            "Primary: a normal model with one mean per arm and AR(1) errors over the day grid \
             (missing nights handled by the exact likelihood), posterior by quadrature over the \
             autocorrelation. Sensitivity: the same without autocorrelation; with a linear trend; \
             the cycle-blocked ANOVA of period means; the randomization test over this design's \
             own allocations. Carry-over is handled by discarding each period's run-in nights. \
             All were fixed before the first period."
                .into(),
        ),
        Block::Table {
            header: vec![
                "Model".into(),
                "Effect".into(),
                "95 % interval".into(),
                "P(benefit)".into(),
                "P(≥ MCID)".into(),
                "rho".into(),
            ],
            rows: std::iter::once(model_row("AR(1), primary", &a.models.ar1))
                .chain(std::iter::once(model_row("mean only", &a.models.mean_only)))
                .chain(
                    a.models
                        .ar1_trend
                        .iter()
                        .map(|t| model_row("AR(1) + linear trend", t)),
                )
                .collect(),
        },
    ];
    let mut tests = Vec::new();
    match &a.models.cycle_anova {
        Some(x) => tests.push(format!(
            "Cycle-blocked ANOVA: F({}, {}) = {:.2}, p = {:.3}. {}",
            x.df[0], x.df[1], x.f, x.p, x.note
        )),
        None => tests.push(
            "Cycle-blocked ANOVA: not available (fewer than 2 complete cycles with data).".into(),
        ),
    }
    if let Some(t) = &a.models.randomization {
        tests.push(format!(
            "Randomization test: p = {:.3} (two-sided, {} allocations, {}; the smallest p this design can give is {:.3}).",
            t.p, t.allocations, t.method, t.min_p
        ));
    }
    tests.extend(a.warnings.iter().cloned());
    models.push(Block::Bullets(tests));
    out.push(Section {
        id: "trial-models",
        heading: "Every pre-registered model (CENT 12, 17)".into(),
        new_page: false,
        blocks: models,
    });
    out.push(Section {
        id: "trial-harms",
        heading: "Side effects by arm (CENT 19)".into(),
        new_page: false,
        blocks: vec![Block::Table {
            header: vec![
                "Arm".into(),
                "Days logged".into(),
                "Mean score (diarrhea + nausea + cramps, 0-9)".into(),
            ],
            rows: c
                .side_effects_by_arm
                .iter()
                .map(|s| {
                    vec![
                        s.arm.clone(),
                        s.days_logged.to_string(),
                        s.mean_score
                            .map(|m| format!("{m:.2}"))
                            .unwrap_or_else(|| "-".into()),
                    ]
                })
                .collect(),
        }],
    });
    out
}

/// The trial timeline: periods shaded by arm, nightly outcomes as dots, run-ins in grey.
fn timeline(c: &TrialReport) -> Chart {
    let d = &c.design;
    let last = d.last_day() as f64;
    let ymax = match d.outcome {
        Outcome::NightlySeverity => 10.0,
        Outcome::WeeklyIrls => 40.0,
    };
    let series = d
        .arms
        .iter()
        .enumerate()
        .map(|(i, arm)| Series {
            label: arm.clone(),
            mark: Mark::Dots,
            colour: i,
            points: c
                .data
                .nights
                .iter()
                .filter(|n| n.arm == i && !n.run_in)
                .filter_map(|n| n.outcome.map(|v| (n.day as f64, v)))
                .collect(),
        })
        .collect();
    Chart {
        title: "Trial timeline: periods by arm, nights analysed as dots".into(),
        summary: format!(
            "{} periods from {} to {}; each period shaded by its arm, run-in nights left out.",
            c.periods_planned,
            d.start,
            d.date_of(d.last_day())
        ),
        x_range: (0.0, last),
        x_labels: (d.start.to_string(), d.date_of(d.last_day()).to_string()),
        y_range: (0.0, ymax),
        y_ticks: vec![0.0, ymax / 2.0, ymax],
        y_label: outcome_words(d.outcome).into(),
        bands: vec![],
        spans: d
            .schedule()
            .iter()
            .map(|p| Span {
                from: p.analysed_from_day as f64,
                to: p.last_day as f64,
                colour: p.arm,
                label: format!("period {}: {}", p.index + 1, d.arms[p.arm]),
            })
            .collect(),
        rules: vec![],
        series,
    }
}

// ---------------------------------------------------------------------------------------------

fn sources(r: &ClinicianReport) -> Section {
    Section {
        id: "sources",
        heading: "Sources".into(),
        new_page: true,
        blocks: vec![
            Block::Paragraph(
                "Every limit, interaction, cut-off and threshold above is data with a cited \
                 source:"
                    .into(),
            ),
            Block::Bullets(
                r.sources
                    .values()
                    .map(|s| match &s.url {
                        Some(u) => format!("[{}] {} {}", s.id, s.citation, u),
                        None => format!("[{}] {}", s.id, s.citation),
                    })
                    .collect(),
            ),
        ],
    }
}
