//! `quietlegs trial …`: parse the arguments, call the trial use cases of `quietlegs-app`, render.
//! Everything the trial decides (design, blinding gate, periods, adherence, guesses,
//! unblinding, analysis, planning) is in `quietlegs_app::trial`.

use crate::failure::{bad_input, print_json, write_output, Failure};
use crate::TrialCommand;
use anyhow::{anyhow, Context as _};
use quietlegs_app::personal::{open_reader, open_writer};
use quietlegs_app::trial::{self, CsvAnalysisOptions, DesignChoice, PowerAssumptions};
use quietlegs_app::Context;
use quietlegs_store::Database;
use quietlegs_store::{AnyStore, PersonId};
use std::path::Path;

/// One handler per `trial` subcommand.
pub fn dispatch(ctx: &Context<'_>, db: &Database, command: TrialCommand) -> Result<(), Failure> {
    match command {
        TrialCommand::New { args, output } => new(ctx, db, &args, output.json),
        TrialCommand::List => list(db),
        TrialCommand::Status { trial, output } => status(ctx, db, trial.as_deref(), output.json),
        TrialCommand::Calendar { trial, ics } => calendar(db, trial.as_deref(), ics.as_deref()),
        TrialCommand::Guess { period, arm, trial } => {
            guess(ctx, db, trial.as_deref(), period, &arm)
        }
        TrialCommand::Unblind {
            trial,
            early,
            reason,
        } => unblind(ctx, db, trial.as_deref(), early, reason.as_deref()),
        TrialCommand::Cancel { trial, yes } => cancel(ctx, db, trial.as_deref(), yes),
        TrialCommand::Analyze {
            trial,
            csv,
            csv_options,
            output,
        } => analyze_cmd(
            ctx,
            db,
            trial.as_deref(),
            csv.as_deref(),
            &csv_options,
            output.json,
        ),
        TrialCommand::Power {
            design,
            assumptions,
            sims,
            seed,
            output,
        } => power_cmd(ctx, &design, &assumptions, sims, seed, output.json),
        TrialCommand::Simulate {
            trial,
            assumptions,
            seed,
        } => simulate(ctx, db, trial.as_deref(), &assumptions, seed),
        TrialCommand::Report { trial, svg, output } => {
            report(ctx, db, trial.as_deref(), svg.as_deref(), output.json)
        }
    }
}

/// The options of `trial new` and `trial power`.
#[derive(Debug, Clone, clap::Args)]
pub struct DesignArgs {
    /// placebo (blinded by default), nothing (open), or forms (form A vs form B).
    #[arg(long, default_value = "placebo")]
    pub compare: String,
    /// Arm labels, treatment first (default: magnesium,placebo / magnesium,nothing / form-a,form-b).
    #[arg(long, value_delimiter = ',')]
    pub arms: Vec<String>,
    /// The comparator arm (default: the second arm).
    #[arg(long)]
    pub control: Option<String>,
    #[arg(long)]
    pub period_days: Option<u32>,
    #[arg(long)]
    pub cycles: Option<u32>,
    #[arg(long)]
    pub run_in_days: Option<u32>,
    #[arg(long)]
    pub washout_days: Option<u32>,
    /// nightly-severity (default) or weekly-irls.
    #[arg(long, default_value = "nightly-severity")]
    pub outcome: String,
    /// Minimal important difference (default per outcome, cited in docs/trial.md).
    #[arg(long)]
    pub mcid: Option<f64>,
    /// An open (unblinded) trial even against placebo.
    #[arg(long)]
    pub open: bool,
}

impl DesignArgs {
    fn choice(&self) -> DesignChoice {
        DesignChoice {
            compare: Some(self.compare.clone()),
            arms: self.arms.clone(),
            control: self.control.clone(),
            period_days: self.period_days,
            cycles: self.cycles,
            run_in_days: self.run_in_days,
            washout_days: self.washout_days,
            outcome: Some(self.outcome.clone()),
            mcid: self.mcid,
            open: self.open,
        }
    }
}

/// The options of `trial new`.
#[derive(Debug, Clone, clap::Args)]
pub struct NewTrialArgs {
    /// A name for the trial (default: trial-START).
    #[arg(long)]
    pub name: Option<String>,
    #[command(flatten)]
    pub design: DesignArgs,
    /// The randomization seed (default: drawn at random and recorded).
    #[arg(long)]
    pub seed: Option<u64>,
    /// First night, YYYY-MM-DD (default: tomorrow).
    #[arg(long)]
    pub start: Option<String>,
    /// Where to write the helper's sheet (required when blinded).
    #[arg(long)]
    pub helper_sheet: Option<std::path::PathBuf>,
}

/// Opens the diary for reading and finds its person; `None` when there is no database or no
/// person yet (so nothing has been stored).
fn read_only_person(db: &Database) -> Result<Option<(AnyStore, PersonId)>, Failure> {
    Ok(open_reader(db)?.into_diary())
}

fn no_trial_yet() -> Failure {
    bad_input(anyhow!(
        "there is no trial yet: start one with `quietlegs trial new`"
    ))
}

pub fn new(
    ctx: &Context<'_>,
    db: &Database,
    a: &NewTrialArgs,
    json_out: bool,
) -> Result<(), Failure> {
    let start = a
        .start
        .as_deref()
        .map(|s| quietlegs_app::diary::parse_day(ctx.now, s).map_err(|e| e.in_field("start")))
        .transpose()?;
    let seed = a.seed.unwrap_or_else(rand::random);
    let prepared = trial::prepare(ctx, a.name.as_deref(), &a.design.choice(), seed, start)?;
    let helper_sheet = a.helper_sheet.as_deref();
    if prepared.helper_sheet.is_some() && helper_sheet.is_none() {
        return Err(bad_input(anyhow!(
            "--helper-sheet FILE is required for a blinded trial: the sheet tells your helper which container gets what; give it to them unread (or use --open)"
        )));
    }
    if let Some(p) = helper_sheet.filter(|p| p.exists()) {
        return Err(bad_input(anyhow!(
            "--helper-sheet: {} exists; choose a new file",
            p.display()
        )));
    }
    // The helper sheet is written (privately, atomically) before the trial is stored: a sheet
    // that cannot be written leaves no sealed trial behind.
    let sheet_path = match (&prepared.helper_sheet, helper_sheet) {
        (Some(text), Some(path)) => {
            write_output("--helper-sheet", path, text.as_bytes())?;
            Some(path)
        }
        _ => None,
    };
    let remove_sheet = || {
        if let Some(path) = sheet_path {
            let _ = std::fs::remove_file(path);
        }
    };
    let design = prepared.design.clone();
    let registered = (|| -> Result<_, Failure> {
        let (store, person) = open_writer(db, ctx.now)?;
        Ok(trial::register(&store, person, ctx, prepared)?)
    })()
    .inspect_err(|_| remove_sheet())?;
    if json_out {
        return print_json(&registered);
    }
    outln!(
        "Trial '{}' (id {}) is registered. Plan hash (pre-registration): {}",
        registered.name,
        registered.id,
        registered.plan_hash
    );
    outln!(
        "{} periods of {} days ({} run-in, {} washout), {} cycles; outcome {}; MCID {}; {}.",
        registered.periods,
        design.period_days,
        design.run_in_days,
        design.washout_days,
        design.cycles,
        crate::render::outcome_name(design.outcome),
        design.mcid,
        if design.blinded {
            "blinded"
        } else {
            "open label"
        }
    );
    outln!(
        "Starts {}, last night {}.",
        design.start,
        registered.last_night
    );
    if let Some(path) = sheet_path {
        outln!(
            "The helper sheet is in {}: give it to your helper unread.",
            path.display()
        );
    }
    Ok(())
}

pub fn status(
    ctx: &Context<'_>,
    db: &Database,
    which: Option<&str>,
    json_out: bool,
) -> Result<(), Failure> {
    let (store, person) = read_only_person(db)?.ok_or_else(no_trial_yet)?;
    let s = trial::status(&store, person, ctx, which)?;
    if json_out {
        return print_json(&s);
    }
    outln!("Trial '{}': {}", s.trial, s.tonight);
    for a in &s.adherence {
        outln!(
            "  period {:>2}: doses logged on {} of {} nights so far",
            a.period,
            a.days_with_dose,
            a.days_planned
        );
    }
    Ok(())
}

pub fn calendar(db: &Database, which: Option<&str>, ics: Option<&Path>) -> Result<(), Failure> {
    let (store, person) = read_only_person(db)?.ok_or_else(no_trial_yet)?;
    let cal = trial::calendar(&store, person, which)?;
    match ics {
        Some(path) => {
            use icalendar::{Calendar, Component, Event, EventLike};
            let mut ical = Calendar::empty();
            ical.append_property(("VERSION", "2.0"));
            ical.append_property(("PRODID", crate::calendar::PRODID));
            ical.append_property(("CALSCALE", "GREGORIAN"));
            let title = format!("quietlegs trial {}", cal.trial);
            // NAME (RFC 7986) is TEXT, but the calendar library escapes only the properties it
            // knows: escape it here; X-WR-CALNAME is escaped by the library.
            ical.append_property(("NAME", crate::calendar::ical_text(&title).as_str()));
            ical.append_property(("X-WR-CALNAME", title.as_str()));
            let to_naive = crate::calendar::calendar_date;
            for p in &cal.periods {
                let end = p.last_night.tomorrow().unwrap_or(p.last_night);
                let (Some(a), Some(b)) = (to_naive(p.first_night), to_naive(end)) else {
                    continue;
                };
                let mut e = Event::new();
                // Globally unique and stable: the plan hash identifies the trial anywhere.
                e.uid(&format!(
                    "trial-{}-period-{}@quietlegs.invalid",
                    &cal.plan_hash[..16],
                    p.period
                ))
                .summary(&format!("Trial period {}: {}", p.period, p.label))
                .description(&format!(
                    "Run-in until {} (not analysed). At the end, record your guess: quietlegs trial guess {} ARM",
                    p.analysed_from, p.period
                ))
                .all_day(a);
                e.ends(icalendar::DatePerhapsTime::Date(b));
                ical.push(e.done());
            }
            write_output("--ics", path, ical.done().to_string().as_bytes())?;
            outln!("Wrote {} periods to {}.", cal.periods.len(), path.display());
        }
        None => {
            outln!("Trial '{}' (plan {}):", cal.trial, &cal.plan_hash[..12]);
            for p in cal.periods {
                outln!(
                    "  period {:>2}: {} to {} (analysed from {}): {}",
                    p.period,
                    p.first_night,
                    p.last_night,
                    p.analysed_from,
                    p.label
                );
            }
        }
    }
    Ok(())
}

pub fn guess(
    ctx: &Context<'_>,
    db: &Database,
    which: Option<&str>,
    period: usize,
    arm: &str,
) -> Result<(), Failure> {
    let (store, person) = open_writer(db, ctx.now)?;
    trial::guess(&store, person, ctx, which, period, arm)?;
    outln!("Recorded: you think period {period} was {arm}.");
    Ok(())
}

/// `trial cancel`: removes a trial that has not started, after confirmation.
pub fn cancel(
    ctx: &Context<'_>,
    db: &Database,
    which: Option<&str>,
    yes: bool,
) -> Result<(), Failure> {
    let (store, person) = open_writer(db, ctx.now)?;
    let name = trial::load(&store, person, which)?.stored.name;
    crate::prompt::confirm(
        &format!("Cancel trial '{name}' before its first night (its helper's sheet becomes void)?"),
        yes,
    )?;
    let name = trial::cancel_before_start(&store, person, ctx, which)?;
    outln!("Trial '{name}' cancelled: plan a new one with `quietlegs trial new`.");
    Ok(())
}

pub fn unblind(
    ctx: &Context<'_>,
    db: &Database,
    which: Option<&str>,
    early: bool,
    reason: Option<&str>,
) -> Result<(), Failure> {
    let (store, person) = open_writer(db, ctx.now)?;
    let u = trial::unblind(&store, person, ctx, which, early, reason).map_err(|mut e| {
        // How to unblind early, in this surface's words.
        if e.message.contains("unblind early giving a reason") {
            e.message.push_str(": use --early --reason TEXT");
        }
        e
    })?;
    outln!(
        "Trial '{}' unblinded{}:",
        u.trial,
        if u.early {
            " EARLY (logged; the report will say so)"
        } else {
            ""
        }
    );
    for p in u.periods {
        outln!(
            "  period {:>2} ({} to {}): {}",
            p.period,
            p.first_night,
            p.last_night,
            p.arm
        );
    }
    Ok(())
}

/// Options of `trial analyze --csv`.
#[derive(Debug, Clone, clap::Args)]
pub struct CsvOptions {
    /// The comparator's label in the CSV.
    #[arg(long)]
    pub control: Option<String>,
    /// The treatment's label (default: the other condition).
    #[arg(long)]
    pub treatment: Option<String>,
    /// Nights at the start of every period to discard.
    #[arg(long, default_value_t = 0)]
    pub run_in_days: u32,
    #[arg(long)]
    pub higher_is_better: bool,
    /// Minimal important difference (default: the nightly-severity default).
    #[arg(long)]
    pub mcid: Option<f64>,
    /// The data come from a blinded, placebo-controlled trial.
    #[arg(long)]
    pub blinded: bool,
    /// Placebo-controlled but not blinded.
    #[arg(long)]
    pub placebo: bool,
    /// Seed for a Monte Carlo randomization test (large designs only).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
}

impl CsvOptions {
    fn options(&self) -> CsvAnalysisOptions {
        CsvAnalysisOptions {
            control: self.control.clone(),
            treatment: self.treatment.clone(),
            run_in_days: self.run_in_days,
            higher_is_better: self.higher_is_better,
            mcid: self.mcid,
            blinded: self.blinded,
            placebo: self.placebo,
            seed: self.seed,
        }
    }
}

pub fn analyze_cmd(
    ctx: &Context<'_>,
    db: &Database,
    which: Option<&str>,
    csv: Option<&Path>,
    csv_opts: &CsvOptions,
    json_out: bool,
) -> Result<(), Failure> {
    let analysis = match csv {
        Some(file) => {
            if csv_opts.control.is_none() {
                return Err(bad_input(anyhow!("--control LABEL is required with --csv")));
            }
            let text = std::fs::read_to_string(file)
                .with_context(|| format!("reading {}", file.display()))
                .map_err(bad_input)?;
            trial::analyze_csv(ctx, &text, &csv_opts.options())
                .map_err(|e| crate::failure::app_failure(e, Some(&file.display().to_string())))?
        }
        None => {
            let (store, person) = read_only_person(db)?.ok_or_else(no_trial_yet)?;
            trial::report(&store, person, ctx, which)?.analysis
        }
    };
    if json_out {
        return print_json(&analysis);
    }
    out!("{}", crate::render::trial_text(&analysis));
    Ok(())
}

/// What `trial power` and `trial simulate` assume about the nights (checked in
/// `quietlegs_app::trial::PowerAssumptions`).
#[derive(Debug, Clone, clap::Args)]
pub struct AssumptionArgs {
    /// Assumed change of the nightly score with magnesium (negative: better).
    #[arg(long, default_value_t = PowerAssumptions::PLANNING_EFFECT, allow_negative_numbers = true)]
    pub effect: f64,
    /// Night-to-night standard deviation.
    #[arg(long, default_value_t = PowerAssumptions::PLANNING_SD)]
    pub sd: f64,
    /// Autocorrelation of neighbouring nights.
    #[arg(long, default_value_t = PowerAssumptions::PLANNING_RHO, allow_negative_numbers = true)]
    pub rho: f64,
    /// Drift per day.
    #[arg(long, default_value_t = PowerAssumptions::PLANNING_DRIFT, allow_negative_numbers = true)]
    pub drift: f64,
    /// Share of nights not logged.
    #[arg(long, default_value_t = PowerAssumptions::PLANNING_MISSING)]
    pub missing: f64,
}

impl AssumptionArgs {
    fn assumptions(&self) -> PowerAssumptions {
        PowerAssumptions {
            effect: self.effect,
            sd: self.sd,
            rho: self.rho,
            drift: self.drift,
            missing: self.missing,
        }
    }
}

pub fn power_cmd(
    ctx: &Context<'_>,
    args: &DesignArgs,
    flags: &AssumptionArgs,
    sims: usize,
    seed: u64,
    json_out: bool,
) -> Result<(), Failure> {
    let choice = args.choice();
    let total = trial::power_simulations(&choice, &ctx.reference.rules.trial, sims);
    let bar = indicatif::ProgressBar::new(total as u64);
    bar.set_style(
        indicatif::ProgressStyle::with_template("simulating [{bar:40}] {pos}/{len} trials ({eta})")
            .map_err(|e| anyhow!("{e}"))?
            .progress_chars("=> "),
    );
    let report = trial::power_report(
        ctx,
        &choice,
        &flags.assumptions(),
        sims,
        seed,
        &mut |done| bar.set_position(done as u64),
    );
    bar.finish_and_clear();
    let report = report?;
    if json_out {
        return print_json(&report);
    }
    let a = &report.assumptions;
    outln!(
        "Assuming magnesium changes the nightly score by {:+} (SD {}, autocorrelation {}, drift {}/day, {:.0} % nights missing); {} simulated trials per design:",
        a.effect, a.sd, a.rho, a.drift_per_day, a.missing * 100.0, sims
    );
    for r in &report.results {
        outln!(
            "  {} cycles ({} days): 'likely helps' {:.0} %, any confident verdict {:.0} %, wrongly 'likely helps' with no effect {:.1} %",
            r.cycles,
            report.trial_days(r.cycles),
            r.p_likely_helps * 100.0, r.p_confident * 100.0, r.p_false_helps * 100.0
        );
    }
    let share = report.planning_power * 100.0;
    match report.recommended_cycles {
        Some(c) => outln!("Recommended: {c} cycles (the fewest reaching a confident verdict in {share:.0} % of simulated trials under these assumptions)."),
        None => outln!("None of these designs reaches {share:.0} %: a larger effect, longer periods or more cycles would be needed."),
    }
    Ok(())
}

pub fn report(
    ctx: &Context<'_>,
    db: &Database,
    which: Option<&str>,
    svg: Option<&Path>,
    json_out: bool,
) -> Result<(), Failure> {
    let (store, person) = read_only_person(db)?.ok_or_else(no_trial_yet)?;
    let r = trial::report(&store, person, ctx, which)?;
    if let Some(path) = svg {
        write_output(
            "--svg",
            path,
            crate::render::timeline_svg(&r.design, &r.data, &r.analysis).as_bytes(),
        )?;
    }
    if json_out {
        return print_json(&r);
    }
    out!("{}", crate::render::trial_report(&r));
    if let Some(path) = svg {
        outln!("\nTimeline chart: {}", path.display());
    }
    Ok(())
}

pub fn list(db: &Database) -> Result<(), Failure> {
    let trials = match read_only_person(db)? {
        Some((store, person)) => trial::list(&store, person)?,
        None => Vec::new(),
    };
    if trials.is_empty() {
        outln!("No trials yet.");
    }
    for t in trials {
        outln!(
            "{:>3}  {:<24} starts {}  {} arms x {} cycles  {}  plan {}",
            t.id,
            quietlegs_core::text::escape_controls(&t.name),
            t.start,
            t.arms,
            t.cycles,
            if t.blinded { "blinded" } else { "open" },
            &t.plan_hash[..12]
        );
    }
    Ok(())
}

/// Fills the diary with simulated nights for a trial (demonstrations): the allocation is used
/// to generate the numbers but not shown.
pub fn simulate(
    ctx: &Context<'_>,
    db: &Database,
    which: Option<&str>,
    flags: &AssumptionArgs,
    seed: u64,
) -> Result<(), Failure> {
    let (store, person) = open_writer(db, ctx.now)?;
    let (name, written) = trial::simulate(&store, person, ctx, which, &flags.assumptions(), seed)?;
    outln!("Wrote {written} simulated nights for trial '{name}' (existing nights were kept).");
    Ok(())
}
