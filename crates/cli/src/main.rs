//! The `quietlegs` command line: a thin shell that reads files, calls the core and prints.
//!
//! Exit codes: 0 success; 2 bad input (a message names the field and what is allowed);
//! 1 an internal failure (a bug or a broken installation).

/// `println!` for command output: a reader that has gone away (`| head -1`) ends the program
/// quietly, a full disk is reported, never a panic. Use only in functions returning
/// `Result<_, Failure>`.
macro_rules! outln {
    () => {
        $crate::emit("\n")?
    };
    ($($arg:tt)*) => {
        $crate::emit(&format!("{}\n", format_args!($($arg)*)))?
    };
}

/// `print!` for command output; see [`outln!`].
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::emit(&format!($($arg)*))?
    };
}

mod diary_cmds;
mod files;
mod food_cmds;
mod insight_cmds;
mod render;
mod trial_cmds;

use anyhow::{anyhow, Context};
use clap::{Args, Parser, Subcommand};
use quietlegs_core::forms::{CompoundMass, FormCatalogue};
use quietlegs_core::{build_plan, ElementalMagnesium, IrlsScore, Profile, ReferenceData};
use serde_json::json;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "quietlegs",
    version,
    about = "Magnesium and restless legs: a safe personal plan, a diary and an honest n-of-1 test.",
    after_help = "quietlegs is informational software, not medical advice."
)]
struct Cli {
    /// The database file (default: QUIETLEGS_DB, else the platform data directory).
    #[arg(long, global = true, value_name = "PATH")]
    db: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Build the personal magnesium plan from a profile (see docs/profile.md).
    Plan {
        /// The profile TOML file (example: examples/profile.toml).
        #[arg(long)]
        profile: PathBuf,
        #[command(flatten)]
        output: Output,
    },
    /// Score a rating scale.
    Score {
        #[command(subcommand)]
        scale: Scale,
    },
    /// List the magnesium supplement forms with their elemental fractions.
    Forms {
        #[command(flatten)]
        output: Output,
    },
    /// Convert between salt (compound) weight and elemental magnesium.
    Convert {
        /// The salt, e.g. citrate-nonahydrate, glycinate, oxide (see `quietlegs forms`).
        #[arg(long)]
        form: String,
        #[command(flatten)]
        amount: ConvertAmount,
        #[command(flatten)]
        output: Output,
    },
    /// Foods: search the USDA table, weigh household amounts, import USDA downloads.
    Foods {
        #[command(subcommand)]
        command: FoodsCommand,
    },
    /// A day's magnesium from foods and supplements, against the RDA and the upper limit.
    Intake {
        /// Take the foods and doses logged in the diary for this date (YYYY-MM-DD, today,
        /// yesterday); --food and --supplement add to them.
        #[arg(long)]
        date: Option<String>,
        /// A food eaten, as "FOOD QUERY=AMOUNT" (e.g. "almonds=1 oz"); repeat for each.
        #[arg(long = "food", value_name = "QUERY=AMOUNT")]
        foods: Vec<String>,
        /// A supplement taken, as "FORM=[N x ]AMOUNT mg elemental|compound"; repeat for each.
        #[arg(long = "supplement", value_name = "FORM=AMOUNT")]
        supplements: Vec<String>,
        /// Your profile, for the RDA and the upper limit.
        #[arg(long)]
        profile: Option<PathBuf>,
        #[command(flatten)]
        output: Output,
    },
    /// Log a diary entry in one line (asks only for a missing required value, and only on a
    /// terminal). Nights and side effects belong to the evening: before noon, last night.
    Log {
        #[command(subcommand)]
        entry: LogCommand,
    },
    /// The diary by day: severity, sleep, IRLS band, magnesium from food and supplements.
    History {
        /// First date, YYYY-MM-DD.
        #[arg(long)]
        from: Option<String>,
        /// Last date, YYYY-MM-DD.
        #[arg(long)]
        to: Option<String>,
        #[command(flatten)]
        output: Output,
    },
    /// Change fields of an entry (field names as in `quietlegs export`), after confirmation.
    Edit {
        /// night, irls, dose, food, side-effects or factor.
        kind: String,
        id: i64,
        /// FIELD=VALUE; an empty VALUE clears an optional field. Repeat for several.
        #[arg(long = "set", value_name = "FIELD=VALUE")]
        sets: Vec<String>,
        /// Do not ask for confirmation.
        #[arg(long)]
        yes: bool,
    },
    /// Delete an entry, after confirmation.
    Delete {
        kind: String,
        id: i64,
        #[arg(long)]
        yes: bool,
    },
    /// Export the whole diary: a tidy CSV (one row per field, RFC 4180) or JSON.
    Export {
        #[arg(long, default_value = "csv")]
        format: String,
        /// Write to a file instead of standard output.
        #[arg(long)]
        output: Option<PathBuf>,
    },
    /// Import an export (CSV or JSON) into an empty diary, keeping ids and timestamps.
    Import { file: PathBuf },
    /// Copy the database to PATH (a consistent snapshot even while another process writes).
    Backup { path: PathBuf },
    /// Which evening factors go with better or worse nights (associations, with intervals).
    Insights {
        #[command(flatten)]
        output: Output,
    },
    /// Write an iCalendar file (RFC 5545) with daily diary and dose reminders at the plan's times.
    Reminders {
        /// Your profile (the plan gives the dose time).
        #[arg(long)]
        profile: PathBuf,
        /// The calendar file to write.
        #[arg(long)]
        ics: PathBuf,
        /// Time of the diary reminder, HH:MM (default: your bedtime).
        #[arg(long)]
        diary_at: Option<String>,
    },
    /// The randomized n-of-1 trial: design, run, unblind, analyse, report (docs/trial.md).
    Trial {
        #[command(subcommand)]
        command: TrialCommand,
    },
    /// Version, data sources and licences.
    About {
        #[command(flatten)]
        output: Output,
    },
    /// The web app on this machine: open the printed address in a browser.
    Serve {
        /// Address to listen on (this machine only: 127.0.0.1 or ::1; port 0 picks a free one).
        #[arg(long, default_value = "127.0.0.1:8080")]
        addr: std::net::SocketAddr,
        /// Fill a demonstration diary (20 weeks and a finished blinded trial) first: in a
        /// temporary database, removed at exit, unless --db names one (which must be empty).
        #[arg(long)]
        demo: bool,
    },
}

#[derive(Subcommand)]
enum LogCommand {
    /// The night: RLS severity 0-10 and, optionally, sleep.
    Night {
        /// The evening's date (YYYY-MM-DD, today, yesterday); default: this evening, or last
        /// night before noon.
        #[arg(long)]
        date: Option<String>,
        /// RLS severity that evening and night: 0 none to 10 worst.
        #[arg(long, value_parser = clap::value_parser!(u8).range(0..=10))]
        severity: Option<u8>,
        /// When symptoms began, HH:MM.
        #[arg(long)]
        began: Option<String>,
        /// Sleep quality: 0 worst to 10 best.
        #[arg(long, value_parser = clap::value_parser!(u8).range(0..=10))]
        sleep_quality: Option<u8>,
        #[arg(long)]
        hours_slept: Option<f64>,
        #[arg(long)]
        minutes_to_sleep: Option<u32>,
        #[arg(long)]
        awakenings: Option<u32>,
        #[arg(long)]
        note: Option<String>,
        /// Overwrite an existing entry for that night.
        #[arg(long)]
        replace: bool,
        #[command(flatten)]
        output: Output,
    },
    /// The weekly IRLS: ten item values 0-4.
    Irls {
        #[arg(num_args = 1.., allow_negative_numbers = true, value_name = "ITEM")]
        items: Vec<i64>,
        /// RLS-6 items, six values 0-10 separated by commas.
        #[arg(long)]
        rls6: Option<String>,
        #[arg(long)]
        date: Option<String>,
        #[arg(long)]
        replace: bool,
        #[command(flatten)]
        output: Output,
    },
    /// A supplement dose: "FORM=[N x ]AMOUNT mg elemental|compound".
    Dose {
        spec: String,
        /// The product's name, for your records.
        #[arg(long)]
        product: Option<String>,
        /// When it was taken, HH:MM (default: now).
        #[arg(long)]
        time: Option<String>,
        #[arg(long)]
        date: Option<String>,
        #[command(flatten)]
        output: Output,
    },
    /// A food eaten: "FOOD QUERY" "AMOUNT" (grams and magnesium are kept as logged).
    Food {
        food: String,
        amount: String,
        #[arg(long)]
        date: Option<String>,
        #[command(flatten)]
        output: Output,
    },
    /// Side effects: diarrhea, nausea, abdominal cramps, each 0 none to 3 severe.
    SideEffects {
        #[arg(long, value_parser = clap::value_parser!(u8).range(0..=3))]
        diarrhea: Option<u8>,
        #[arg(long, value_parser = clap::value_parser!(u8).range(0..=3))]
        nausea: Option<u8>,
        #[arg(long, value_parser = clap::value_parser!(u8).range(0..=3))]
        cramps: Option<u8>,
        #[arg(long)]
        date: Option<String>,
        #[arg(long)]
        replace: bool,
        #[command(flatten)]
        output: Output,
    },
    /// A factor that evening: caffeine, alcohol, tobacco, exercise, massage, warm-bath,
    /// heat-cold-pack, screens, or custom:NAME.
    Factor {
        kind: String,
        /// How much (with --unit): caffeine mg or cups, alcohol drinks, exercise minutes, ...
        #[arg(long)]
        amount: Option<f64>,
        #[arg(long)]
        unit: Option<String>,
        /// When (the last time), HH:MM.
        #[arg(long)]
        time: Option<String>,
        #[arg(long)]
        date: Option<String>,
        #[command(flatten)]
        output: Output,
    },
}

#[derive(Subcommand)]
enum TrialCommand {
    /// Design and pre-register a trial (the order inside every cycle is randomized).
    New {
        #[command(flatten)]
        args: trial_cmds::NewTrialArgs,
        #[command(flatten)]
        output: Output,
    },
    /// The trials in the database.
    List,
    /// Tonight's assignment ("container 3" while blinded) and adherence.
    Status {
        trial: Option<String>,
        #[command(flatten)]
        output: Output,
    },
    /// The calendar of periods, or an .ics file of them.
    Calendar {
        trial: Option<String>,
        #[arg(long)]
        ics: Option<PathBuf>,
    },
    /// At the end of a period: which arm you think it was (measures blinding).
    Guess {
        period: usize,
        arm: String,
        #[arg(long)]
        trial: Option<String>,
    },
    /// Reveal the allocation after the last period (or --early, logged and reported).
    Unblind {
        trial: Option<String>,
        #[arg(long)]
        early: bool,
        #[arg(long)]
        reason: Option<String>,
    },
    /// The pre-registered analysis of a trial, or of a CSV (day,condition,outcome[,period]).
    Analyze {
        trial: Option<String>,
        #[arg(long)]
        csv: Option<PathBuf>,
        #[command(flatten)]
        csv_options: trial_cmds::CsvOptions,
        #[command(flatten)]
        output: Output,
    },
    /// Simulate a design: how often it reaches a confident verdict, how often it wrongly says
    /// "helps"; recommends the number of cycles.
    Power {
        #[command(flatten)]
        design: trial_cmds::DesignArgs,
        /// Assumed change of the nightly score with magnesium (negative: better).
        #[arg(long, default_value_t = -1.5, allow_negative_numbers = true)]
        effect: f64,
        /// Night-to-night standard deviation.
        #[arg(long, default_value_t = 1.5)]
        sd: f64,
        /// Autocorrelation of neighbouring nights.
        #[arg(long, default_value_t = 0.4, allow_negative_numbers = true)]
        rho: f64,
        /// Drift per day.
        #[arg(long, default_value_t = 0.0, allow_negative_numbers = true)]
        drift: f64,
        /// Share of nights not logged.
        #[arg(long, default_value_t = 0.1)]
        missing: f64,
        #[arg(long, default_value_t = 300)]
        sims: usize,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        #[command(flatten)]
        output: Output,
    },
    /// Fill the diary with simulated nights for a trial (for demonstrations; notes say so).
    Simulate {
        trial: Option<String>,
        #[arg(long, default_value_t = -1.5, allow_negative_numbers = true)]
        effect: f64,
        #[arg(long, default_value_t = 1.5)]
        sd: f64,
        #[arg(long, default_value_t = 0.4, allow_negative_numbers = true)]
        rho: f64,
        #[arg(long, default_value_t = 0.1)]
        missing: f64,
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
    /// The trial report (CENT 2015 structure) and an SVG timeline.
    Report {
        trial: Option<String>,
        /// Write the timeline chart here.
        #[arg(long)]
        svg: Option<PathBuf>,
        #[command(flatten)]
        output: Output,
    },
}

#[derive(Subcommand)]
enum FoodsCommand {
    /// Find foods by name: any word order, prefixes and typos ("almnd", "pumpkin seed roasted").
    Search {
        query: String,
        /// How many foods to list (1-100).
        #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u16).range(1..=100))]
        limit: u16,
        #[command(flatten)]
        output: Output,
    },
    /// Grams and magnesium in an amount of the best-matching food ("1 oz", "½ cup", "1 medium").
    Amount {
        /// The food, as you would search for it.
        food: String,
        /// The amount: mass (g, kg, oz, lb), volume (cup, tbsp, tsp, fl oz, ml) or a household
        /// measure of that food (medium, slice, ...).
        amount: String,
        #[command(flatten)]
        output: Output,
    },
    /// Import a USDA download (FoodData Central CSV zip or folder; SR28 / SR Legacy ASCII) into
    /// the database. Re-importing a release replaces it.
    Import {
        path: PathBuf,
        #[command(flatten)]
        output: Output,
    },
    /// The imported USDA releases: name, kind, when, how many foods.
    Releases {
        #[command(flatten)]
        output: Output,
    },
    /// Remove an imported release and its foods (diary entries keep the values they were logged
    /// with), after confirmation.
    Remove {
        release: String,
        /// Do not ask.
        #[arg(long)]
        yes: bool,
    },
}

#[derive(Subcommand)]
enum Scale {
    /// IRLS: ten item values, each 0-4 (past week), in item order.
    Irls {
        /// Item values I1 ... I10.
        #[arg(num_args = 1.., allow_negative_numbers = true, value_name = "ITEM")]
        items: Vec<i64>,
        #[command(flatten)]
        output: Output,
    },
}

#[derive(Args)]
#[group(required = true, multiple = false)]
struct ConvertAmount {
    /// Salt weight in mg (as a chemist or some labels state it).
    #[arg(long, allow_negative_numbers = true)]
    compound_mg: Option<f64>,
    /// Elemental magnesium in mg (as a US Supplement Facts panel states it).
    #[arg(long, allow_negative_numbers = true)]
    elemental_mg: Option<f64>,
}

#[derive(Args)]
struct Output {
    /// Print JSON for scripts instead of text.
    #[arg(long)]
    json: bool,
}

/// A failure at the edge: bad input (exit 2), the environment (busy, read-only, disk full:
/// exit 75, "try again"), or an internal error (exit 1).
pub(crate) enum Failure {
    BadInput(anyhow::Error),
    Unavailable(anyhow::Error),
    Internal(anyhow::Error),
}

impl From<anyhow::Error> for Failure {
    /// Errors are classified in this one place by what caused them: a store error is mapped by
    /// its kind (`quietlegs_store::ErrorKind`), whatever the call site wrapped it in.
    fn from(e: anyhow::Error) -> Self {
        use quietlegs_store::{ErrorKind, StoreError};
        let kind = e
            .chain()
            .find_map(|cause| cause.downcast_ref::<StoreError>())
            .map(StoreError::kind);
        match kind {
            Some(ErrorKind::BadInput | ErrorKind::NotFound | ErrorKind::Conflict) => {
                Failure::BadInput(e)
            }
            Some(ErrorKind::Unavailable) => Failure::Unavailable(e),
            Some(ErrorKind::Internal) | None => Failure::Internal(e),
        }
    }
}

impl From<quietlegs_app::AppError> for Failure {
    fn from(e: quietlegs_app::AppError) -> Self {
        app_failure(e, None)
    }
}

/// A use case's failure at the command line: its field named as the flag or argument the person
/// typed, the exit code from its kind (in `quietlegs_app::ErrorKind`), and `prefix` (a file name)
/// before the message.
pub(crate) fn app_failure(e: quietlegs_app::AppError, prefix: Option<&str>) -> Failure {
    use quietlegs_app::ErrorKind;
    let mut text = match e.field {
        Some(f) => format!("{}: {}", cli_field(f), e.message),
        None => e.message.clone(),
    };
    if let (Some(p), None) = (prefix, e.field) {
        text = format!("{p}: {text}");
    }
    let error = anyhow!(text.clone());
    match e.kind {
        ErrorKind::BadInput | ErrorKind::NotFound | ErrorKind::Conflict => Failure::BadInput(error),
        ErrorKind::Unavailable => Failure::Unavailable(error),
        ErrorKind::Internal => Failure::Internal(match e.source {
            Some(source) => anyhow!(source).context(text),
            None => error,
        }),
    }
}

/// How the command line names a use case's field: positional arguments in capitals, options as
/// `--flag`, environment variables as they are.
fn cli_field(field: &str) -> String {
    const POSITIONAL: [&str; 3] = ["period", "arm", "trial"];
    if POSITIONAL.contains(&field) {
        field.to_uppercase()
    } else if field.starts_with("QUIETLEGS_") {
        field.to_string()
    } else {
        format!("--{}", field.replace('_', "-"))
    }
}

/// `quietlegs serve`: the web app on loopback.
fn serve(
    ctx: &quietlegs_app::Context<'_>,
    db: &std::path::Path,
    addr: std::net::SocketAddr,
    demo: bool,
) -> Result<(), Failure> {
    if !addr.ip().is_loopback() {
        return Err(bad_input(anyhow!(
            "--addr: {addr} is reachable from other machines; quietlegs serves only this machine \
             (127.0.0.1 or ::1) until password log-in is available"
        )));
    }
    let store = diary_cmds::open_store(db)?;
    if demo {
        let person = diary_cmds::me(&store, ctx.now)?;
        let filled = quietlegs_app::demo::fill(&store, person, ctx, rand::random())?;
        eprintln!(
            "Demonstration diary: {} entries from {} to {} and the finished trial '{}'.",
            filled.records, filled.from, filled.to, filled.trial
        );
    }
    // The address itself is a name the server answers to (127.0.0.2 is loopback too).
    let state =
        quietlegs_web::WebState::new(store, ctx.reference.clone(), &[addr.ip().to_string()]);
    quietlegs_web::serve_blocking(addr, state, |bound| {
        eprintln!(
            "quietlegs is serving {} on http://{bound}/ (Ctrl-C stops it)",
            db.display()
        );
    })
    .map_err(|e| {
        let e = anyhow!(e).context(format!("serving on {addr}"));
        if e.chain().any(|c| {
            c.downcast_ref::<std::io::Error>()
                .is_some_and(|io| io.kind() == std::io::ErrorKind::AddrInUse)
        }) {
            Failure::Unavailable(e)
        } else {
            Failure::Internal(e)
        }
    })
}

/// Exit code for a temporary failure of the environment (sysexits.h EX_TEMPFAIL).
const EXIT_UNAVAILABLE: u8 = 75;

pub(crate) fn bad_input(e: impl Into<anyhow::Error>) -> Failure {
    Failure::BadInput(e.into())
}

/// Largest salt or elemental amount accepted on the command line (10 g): anything above is a
/// typo for a daily supplement.
const MAX_CONVERT_MG: f64 = 10_000.0;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::BadInput(e)) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
        Err(Failure::Unavailable(e)) => {
            eprintln!("error: {e:#}");
            ExitCode::from(EXIT_UNAVAILABLE)
        }
        Err(Failure::Internal(e)) => {
            eprintln!("internal error: {e:?}");
            ExitCode::from(1)
        }
    }
}

pub(crate) fn print_json(value: &impl serde::Serialize) -> Result<(), Failure> {
    let mut text = serde_json::to_string_pretty(value).context("serialising the output as JSON")?;
    text.push('\n');
    emit(&text)
}

/// Writes the output. A reader that has gone away (`quietlegs plan | head -1`) ends the program
/// quietly; any other write failure is reported, never a panic.
pub(crate) fn emit(text: &str) -> Result<(), Failure> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        // The reader has what it wanted: stop quietly (the work is already done and stored).
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => std::process::exit(0),
        Err(e) => Err(Failure::Unavailable(
            anyhow::Error::new(e).context("writing the output to standard output"),
        )),
    }
}

fn run(cli: Cli) -> Result<(), Failure> {
    diary_cmds::check_environment()?;
    let data = ReferenceData::shipped().context("loading the shipped reference tables")?;
    // The clock is read once per command; every use case gets the same moment.
    let now = quietlegs_app::Now::read();
    let ctx = quietlegs_app::Context {
        now: &now,
        reference: &data,
    };
    let db = quietlegs_store::database_path(cli.db.clone()).map_err(bad_input)?;
    match cli.command {
        Command::Plan { profile, output } => {
            let text = std::fs::read_to_string(&profile)
                .with_context(|| format!("reading the profile {}", profile.display()))
                .map_err(bad_input)?;
            let parsed = Profile::from_toml(&text, &data)
                .with_context(|| format!("profile {}", profile.display()))
                .map_err(bad_input)?;
            let foods = food_cmds::load_food_table(&db)?;
            let plan = build_plan(&parsed, &data, &foods);
            if output.json {
                print_json(&plan)?;
            } else {
                emit(&render::plan_text(&plan, &parsed))?;
            }
        }
        Command::Score {
            scale: Scale::Irls { items, output },
        } => {
            let score = IrlsScore::score(&data.irls, &items).map_err(bad_input)?;
            if output.json {
                print_json(&json!({
                    "scale": "irls",
                    "items": score.items,
                    "total": score.total,
                    "band": score.band,
                }))?;
            } else {
                out!("{}", render::irls_text(&score, &data));
            }
        }
        Command::Forms { output } => {
            let catalogue = FormCatalogue::new(&data);
            if output.json {
                print_json(&catalogue.all())?;
            } else {
                out!("{}", render::forms_text(&catalogue));
            }
        }
        Command::Convert {
            form,
            amount,
            output,
        } => {
            let catalogue = FormCatalogue::new(&data);
            let salt = catalogue
                .resolve_salt(&form)
                .context("--form")
                .map_err(bad_input)?;
            let check = |flag: &str, v: f64| -> Result<f64, Failure> {
                if v.is_finite() && v > 0.0 && v <= MAX_CONVERT_MG {
                    Ok(v)
                } else {
                    Err(bad_input(anyhow!(
                        "{flag}: {v} is out of range: allowed more than 0 up to {MAX_CONVERT_MG} mg"
                    )))
                }
            };
            let (compound, elemental) = match (amount.compound_mg, amount.elemental_mg) {
                (Some(c), _) => {
                    let c = CompoundMass::from_mg(check("--compound-mg", c)?);
                    (c, salt.elemental_from_compound(c))
                }
                (None, Some(e)) => {
                    let e = ElementalMagnesium::from_mg(check("--elemental-mg", e)?);
                    (salt.compound_for_elemental(e), e)
                }
                (None, None) => {
                    return Err(bad_input(anyhow!("give --compound-mg or --elemental-mg")))
                }
            };
            if output.json {
                print_json(&json!({
                    "form": salt.row.id,
                    "name": salt.row.name,
                    "elemental_fraction": salt.elemental_fraction,
                    "compound_mg": compound.mg(),
                    "elemental_mg": elemental.mg(),
                    "sources": salt.row.sources,
                }))?;
            } else {
                outln!(
                    "{:.0} mg {} ({}) = {:.1} mg elemental magnesium ({:.1} % Mg by mass)",
                    compound.mg(),
                    salt.row.name,
                    salt.row.formula,
                    elemental.mg(),
                    salt.elemental_fraction * 100.0
                );
            }
        }
        Command::Foods { command } => match command {
            FoodsCommand::Search {
                query,
                limit,
                output,
            } => food_cmds::search(&db, &query, usize::from(limit), output.json)?,
            FoodsCommand::Amount {
                food,
                amount,
                output,
            } => food_cmds::amount(&db, &food, &amount, output.json)?,
            FoodsCommand::Import { path, output } => food_cmds::import(&db, &path, output.json)?,
            FoodsCommand::Releases { output } => food_cmds::releases(&db, output.json)?,
            FoodsCommand::Remove { release, yes } => food_cmds::remove(&db, &release, yes)?,
        },
        Command::Intake {
            date,
            foods,
            supplements,
            profile,
            output,
        } => food_cmds::intake(
            &db,
            &data,
            date.as_deref(),
            profile.as_ref(),
            &foods,
            &supplements,
            output.json,
        )?,
        Command::Log { entry } => {
            let (record, replace, json_out) = match entry {
                LogCommand::Night {
                    date,
                    severity,
                    began,
                    sleep_quality,
                    hours_slept,
                    minutes_to_sleep,
                    awakenings,
                    note,
                    replace,
                    output,
                } => (
                    diary_cmds::night(
                        diary_cmds::NightArgs {
                            date,
                            severity,
                            began,
                            sleep_quality,
                            hours_slept,
                            minutes_to_sleep,
                            awakenings,
                            note,
                        },
                        &now,
                    )?,
                    replace,
                    output.json,
                ),
                LogCommand::Irls {
                    items,
                    rls6,
                    date,
                    replace,
                    output,
                } => (
                    diary_cmds::irls(&data, &items, rls6.as_deref(), date.as_deref(), &now)?,
                    replace,
                    output.json,
                ),
                LogCommand::Dose {
                    spec,
                    product,
                    time,
                    date,
                    output,
                } => (
                    diary_cmds::dose(
                        &data,
                        &spec,
                        product,
                        time.as_deref(),
                        date.as_deref(),
                        &now,
                    )?,
                    false,
                    output.json,
                ),
                LogCommand::Food {
                    food,
                    amount,
                    date,
                    output,
                } => (
                    diary_cmds::food(&db, &food, &amount, date.as_deref(), &now)?,
                    false,
                    output.json,
                ),
                LogCommand::SideEffects {
                    diarrhea,
                    nausea,
                    cramps,
                    date,
                    replace,
                    output,
                } => (
                    diary_cmds::side_effects(diarrhea, nausea, cramps, date.as_deref(), &now)?,
                    replace,
                    output.json,
                ),
                LogCommand::Factor {
                    kind,
                    amount,
                    unit,
                    time,
                    date,
                    output,
                } => (
                    diary_cmds::factor(
                        &kind,
                        amount,
                        unit,
                        time.as_deref(),
                        date.as_deref(),
                        &now,
                    )?,
                    false,
                    output.json,
                ),
            };
            diary_cmds::save(&db, &data, &now, record, replace, json_out)?;
        }
        Command::History { from, to, output } => {
            diary_cmds::history(&db, from.as_deref(), to.as_deref(), output.json)?
        }
        Command::Edit {
            kind,
            id,
            sets,
            yes,
        } => diary_cmds::edit(&db, &data, &now, &kind, id, &sets, yes)?,
        Command::Delete { kind, id, yes } => diary_cmds::delete(&db, &now, &kind, id, yes)?,
        Command::Export { format, output } => diary_cmds::export(&db, &format, output.as_deref())?,
        Command::Import { file } => diary_cmds::import(&db, &data, &now, &file)?,
        Command::Backup { path } => diary_cmds::backup(&db, &path)?,
        Command::Insights { output } => insight_cmds::run_insights(&db, &data, output.json)?,
        Command::Reminders {
            profile,
            ics,
            diary_at,
        } => insight_cmds::reminders(&db, &data, &profile, &ics, diary_at.as_deref())?,
        Command::Trial { command } => match command {
            TrialCommand::New { args, output } => trial_cmds::new(&ctx, &db, &args, output.json)?,
            TrialCommand::List => trial_cmds::list(&db)?,
            TrialCommand::Status { trial, output } => {
                trial_cmds::status(&ctx, &db, trial.as_deref(), output.json)?
            }
            TrialCommand::Calendar { trial, ics } => {
                trial_cmds::calendar(&db, trial.as_deref(), ics.as_deref())?
            }
            TrialCommand::Guess { period, arm, trial } => {
                trial_cmds::guess(&ctx, &db, trial.as_deref(), period, &arm)?
            }
            TrialCommand::Unblind {
                trial,
                early,
                reason,
            } => trial_cmds::unblind(&ctx, &db, trial.as_deref(), early, reason.as_deref())?,
            TrialCommand::Analyze {
                trial,
                csv,
                csv_options,
                output,
            } => trial_cmds::analyze_cmd(
                &ctx,
                &db,
                trial.as_deref(),
                csv.as_deref(),
                &csv_options,
                output.json,
            )?,
            TrialCommand::Power {
                design,
                effect,
                sd,
                rho,
                drift,
                missing,
                sims,
                seed,
                output,
            } => trial_cmds::power_cmd(
                &ctx,
                &design,
                &trial_cmds::PowerFlags {
                    effect,
                    sd,
                    rho,
                    drift,
                    missing,
                },
                sims,
                seed,
                output.json,
            )?,
            TrialCommand::Simulate {
                trial,
                effect,
                sd,
                rho,
                missing,
                seed,
            } => trial_cmds::simulate(
                &ctx,
                &db,
                trial.as_deref(),
                &trial_cmds::PowerFlags {
                    effect,
                    sd,
                    rho,
                    drift: 0.0,
                    missing,
                },
                seed,
            )?,
            TrialCommand::Report { trial, svg, output } => {
                trial_cmds::report(&ctx, &db, trial.as_deref(), svg.as_deref(), output.json)?
            }
        },
        Command::Serve { addr, demo } => {
            // The demonstration never goes into the default or QUIETLEGS_DB diary unasked.
            let temporary = match (demo, &cli.db) {
                (true, None) => {
                    Some(tempfile::tempdir().context("creating a temporary folder for the demo")?)
                }
                _ => None,
            };
            let db = match &temporary {
                Some(dir) => dir.path().join("demo.sqlite3"),
                None => db,
            };
            serve(&ctx, &db, addr, demo)?
        }
        Command::About { output } => {
            if output.json {
                print_json(&render::about_json(&data))?;
            } else {
                out!("{}", render::about_text(&data));
            }
        }
    }
    Ok(())
}
