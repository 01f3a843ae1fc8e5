//! The `quietlegs` command line: the clap definitions and the dispatch of each subcommand to
//! its handler. Handlers (`*_cmds.rs`) parse, call the use cases of `quietlegs-app` and render
//! (`render.rs`); failures become exit codes in one place (`failure.rs`).

/// `println!` for command output: a reader that has gone away (`| head -1`) ends the program
/// quietly, a full disk is reported, never a panic. Use only in functions returning
/// `Result<_, Failure>`.
macro_rules! outln {
    () => {
        $crate::failure::emit("\n")?
    };
    ($($arg:tt)*) => {
        $crate::failure::emit(&format!("{}\n", format_args!($($arg)*)))?
    };
}

/// `print!` for command output; see [`outln!`].
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::failure::emit(&format!($($arg)*))?
    };
}

/// mimalloc rather than glibc's allocator: the web server allocates per request on several
/// threads, where glibc's malloc and free took about a fifth of the server's time under load
/// (perf; figures in docs/performance.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod args;
mod calendar;
mod diary_cmds;
mod failure;
mod files;
mod food_cmds;
mod info_cmds;
mod insight_cmds;
mod prompt;
mod render;
mod report_cmds;
mod series_cmds;
mod serve_cmds;
mod trial_cmds;

use anyhow::Context as _;
use clap::{Args, Parser, Subcommand};
use failure::{bad_input, Failure};
use quietlegs_app::{Context, FoodCatalog, Now};
use quietlegs_core::ReferenceData;
use quietlegs_store::Database;
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
    #[arg(
        long,
        global = true,
        value_name = "PATH",
        conflicts_with = "database_url"
    )]
    db: Option<PathBuf>,
    /// A PostgreSQL database instead of a file, postgres://USER@HOST:PORT/DATABASE (default:
    /// QUIETLEGS_DATABASE_URL when --db is not given). One database holds many people's data.
    #[arg(long, global = true, value_name = "URL")]
    database_url: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum ProfileAction {
    /// Check a profile TOML file (docs/profile.md) and store it, replacing the stored one.
    Set {
        file: PathBuf,
        #[command(flatten)]
        output: Output,
    },
    /// Print the stored profile (its TOML document).
    Show {
        #[command(flatten)]
        output: Output,
    },
}

#[derive(Subcommand)]
enum Command {
    /// Build the personal magnesium plan from a profile (see docs/profile.md).
    Plan {
        /// The profile TOML file (example: examples/profile.toml); without it, the profile
        /// stored with `quietlegs profile set`.
        #[arg(long)]
        profile: Option<PathBuf>,
        #[command(flatten)]
        output: Output,
    },
    /// Store your profile in the database (the plan and the web app use it), or show it.
    Profile {
        #[command(subcommand)]
        action: ProfileAction,
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
    Intake(food_cmds::IntakeArgs),
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
    /// The clinician's report: profile, plan and flags, symptoms, magnesium, side effects and
    /// the trial (CENT 2015 order), as text or a PDF (`--pdf FILE`) with charts and sources.
    Report {
        /// First day of the report, YYYY-MM-DD (default: the diary's first entry).
        #[arg(long)]
        from: Option<String>,
        /// Last day, YYYY-MM-DD (default: today).
        #[arg(long)]
        to: Option<String>,
        /// Write the report as a PDF file (A4, fonts embedded).
        #[arg(long)]
        pdf: Option<PathBuf>,
        #[command(flatten)]
        output: Output,
    },
    /// Export the whole diary: a tidy CSV (one row per field, RFC 4180), JSON, or a FHIR R4
    /// Bundle (`fhir`: the diary, profile and trial results for a clinic's record system).
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
    /// Pooled analysis of many people's n-of-1 series (linear mixed models by REML).
    Series {
        #[command(subcommand)]
        command: series_cmds::SeriesCommand,
    },
    /// Version, data sources and licences.
    About {
        #[command(flatten)]
        output: Output,
    },
    /// The web app: open the printed address in a browser. It serves this machine only
    /// unless a password is set (--set-password); with one, every page needs a log-in.
    Serve {
        /// Address to listen on (port 0 picks a free one). Beyond this machine (0.0.0.0, a LAN
        /// address) only once a password is set, and then name the host with --allow-host.
        #[arg(long, default_value = "127.0.0.1:8080")]
        addr: std::net::SocketAddr,
        /// A host name (or address) the server answers to besides its own address and
        /// localhost, e.g. the name phones on the LAN use (repeatable).
        #[arg(long = "allow-host", value_name = "NAME")]
        allow_hosts: Vec<String>,
        /// Set (or change) the log-in password of this diary and exit: asked twice on a
        /// terminal, else read from the first line of standard input. At least 15 characters, not
        /// easy to guess.
        #[arg(long, conflicts_with = "demo")]
        set_password: bool,
        /// Fill a demonstration diary (20 weeks and a finished blinded trial) first: in a
        /// temporary database, removed at exit, unless --db names one (which must be empty).
        #[arg(long)]
        demo: bool,
        /// A clinic server: accounts (participant, clinician, admin) with their sessions in the
        /// database, so several instances can serve one database. Make the first admin with
        /// `quietlegs admin create-user`. Beyond this machine only with --behind-https.
        #[arg(long, conflicts_with_all = ["demo", "set_password"])]
        clinic: bool,
        /// The clinic server is reached through an HTTPS reverse proxy that ends TLS: cookies
        /// are marked Secure and browsers are told to keep to HTTPS (HSTS).
        #[arg(long, requires = "clinic")]
        behind_https: bool,
    },
    /// A clinic server's accounts (with --database-url, or --db for a clinic in a file).
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Make an account (the first admin, to start with). The password is asked twice on a
    /// terminal, else read from the first line of standard input; at least 15 characters, not
    /// easy to guess.
    CreateUser {
        /// 3 to 32 letters a-z, digits, '.', '_' or '-'.
        #[arg(long)]
        username: String,
        /// participant, clinician or admin.
        #[arg(long, value_parser = ["participant", "clinician", "admin"])]
        role: String,
    },
}

#[derive(Subcommand)]
enum LogCommand {
    /// The night: RLS severity 0-10 and, optionally, sleep.
    Night(diary_cmds::NightArgs),
    /// The weekly IRLS: ten item values 0-4.
    Irls(diary_cmds::IrlsArgs),
    /// A supplement dose: "FORM=[N x ]AMOUNT mg elemental|compound".
    Dose(diary_cmds::DoseArgs),
    /// A food eaten: "FOOD QUERY" "AMOUNT" (grams and magnesium are kept as logged).
    Food(diary_cmds::FoodArgs),
    /// Side effects: diarrhea, nausea, abdominal cramps, each 0 none to 3 severe.
    SideEffects(diary_cmds::SideEffectsArgs),
    /// A factor that evening: caffeine, alcohol, tobacco, exercise, massage, warm-bath,
    /// heat-cold-pack, screens, or custom:NAME.
    Factor(diary_cmds::FactorArgs),
}

#[derive(Subcommand)]
pub(crate) enum TrialCommand {
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
    /// Cancel a trial before its first night (removed whole; its helper's sheet is void).
    Cancel {
        trial: Option<String>,
        /// Do not ask for confirmation.
        #[arg(long)]
        yes: bool,
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
        #[command(flatten)]
        assumptions: trial_cmds::AssumptionArgs,
        #[arg(long, default_value_t = quietlegs_app::trial::PowerAssumptions::PLANNING_SIMULATIONS)]
        sims: usize,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        #[command(flatten)]
        output: Output,
    },
    /// Fill the diary with simulated nights for a trial (for demonstrations; notes say so).
    Simulate {
        trial: Option<String>,
        #[command(flatten)]
        assumptions: trial_cmds::AssumptionArgs,
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
pub(crate) struct ConvertAmount {
    /// Salt weight in mg (as a chemist or some labels state it).
    #[arg(long, allow_negative_numbers = true)]
    pub(crate) compound_mg: Option<f64>,
    /// Elemental magnesium in mg (as a US Supplement Facts panel states it).
    #[arg(long, allow_negative_numbers = true)]
    pub(crate) elemental_mg: Option<f64>,
}

#[derive(Args)]
pub(crate) struct Output {
    /// Print JSON for scripts instead of text.
    #[arg(long)]
    pub(crate) json: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => ExitCode::from(failure.report()),
    }
}

/// Once per process: the environment is checked, the clock read and the reference data loaded;
/// the food table and its index are built only if the command needs them.
fn run(cli: Cli) -> Result<(), Failure> {
    quietlegs_app::clock::check_environment()?;
    let reference = ReferenceData::shipped().context("loading the shipped reference tables")?;
    let now = Now::read();
    let foods = FoodCatalog::new();
    let ctx = Context {
        now: &now,
        reference: &reference,
        foods: &foods,
    };
    let db_given = cli.db.is_some() || cli.database_url.is_some();
    let db = Database::choose(cli.db.clone(), cli.database_url.clone()).map_err(bad_input)?;
    dispatch(&ctx, &db, db_given, cli.command)
}

/// `db_given`: the database was named (`--db` or `--database-url`), not the default or the
/// environment.
fn dispatch(
    ctx: &Context<'_>,
    db: &Database,
    db_given: bool,
    command: Command,
) -> Result<(), Failure> {
    match command {
        Command::Plan { profile, output } => info_cmds::plan(ctx, db, profile.as_deref(), &output),
        Command::Profile {
            action: ProfileAction::Set { file, output },
        } => info_cmds::profile_set(ctx, db, &file, &output),
        Command::Profile {
            action: ProfileAction::Show { output },
        } => info_cmds::profile_show(ctx, db, &output),
        Command::Score {
            scale: Scale::Irls { items, output },
        } => info_cmds::score_irls(ctx, &items, &output),
        Command::Forms { output } => info_cmds::forms(ctx, &output),
        Command::Convert {
            form,
            amount,
            output,
        } => info_cmds::convert(ctx, &form, &amount, &output),
        Command::Foods { command } => match command {
            FoodsCommand::Search {
                query,
                limit,
                output,
            } => food_cmds::search(ctx, db, &query, usize::from(limit), &output),
            FoodsCommand::Amount {
                food,
                amount,
                output,
            } => food_cmds::amount(ctx, db, &food, &amount, &output),
            FoodsCommand::Import { path, output } => food_cmds::import(ctx, db, &path, &output),
            FoodsCommand::Releases { output } => food_cmds::releases(db, &output),
            FoodsCommand::Remove { release, yes } => food_cmds::remove(ctx, db, &release, yes),
        },
        Command::Intake(args) => food_cmds::intake(ctx, db, args),
        Command::Log { entry } => match entry {
            LogCommand::Night(a) => diary_cmds::log_night(ctx, db, a),
            LogCommand::Irls(a) => diary_cmds::log_irls(ctx, db, a),
            LogCommand::Dose(a) => diary_cmds::log_dose(ctx, db, a),
            LogCommand::Food(a) => diary_cmds::log_food(ctx, db, a),
            LogCommand::SideEffects(a) => diary_cmds::log_side_effects(ctx, db, a),
            LogCommand::Factor(a) => diary_cmds::log_factor(ctx, db, a),
        },
        Command::History { from, to, output } => {
            diary_cmds::history(db, from.as_deref(), to.as_deref(), &output)
        }
        Command::Edit {
            kind,
            id,
            sets,
            yes,
        } => diary_cmds::edit(ctx, db, &kind, id, &sets, yes),
        Command::Delete { kind, id, yes } => diary_cmds::delete(ctx, db, &kind, id, yes),
        Command::Report {
            from,
            to,
            pdf,
            output,
        } => report_cmds::report(
            ctx,
            db,
            from.as_deref(),
            to.as_deref(),
            pdf.as_deref(),
            output.json,
        ),
        Command::Export { format, output } => {
            diary_cmds::export(ctx, db, &format, output.as_deref())
        }
        Command::Import { file } => diary_cmds::import(ctx, db, &file),
        Command::Backup { path } => diary_cmds::backup(db, &path),
        Command::Insights { output } => insight_cmds::insights(ctx, db, &output),
        Command::Reminders {
            profile,
            ics,
            diary_at,
        } => insight_cmds::reminders(ctx, db, &profile, &ics, diary_at.as_deref()),
        Command::Trial { command } => trial_cmds::dispatch(ctx, db, command),
        Command::Series { command } => series_cmds::dispatch(ctx, command),
        Command::About { output } => info_cmds::about(ctx, &output),
        Command::Serve {
            set_password: true, ..
        } => serve_cmds::set_password(ctx, db),
        Command::Serve {
            addr,
            allow_hosts,
            clinic: true,
            behind_https,
            ..
        } => serve_cmds::serve_clinic(ctx, db, addr, &allow_hosts, behind_https),
        Command::Admin {
            command: AdminCommand::CreateUser { username, role },
        } => serve_cmds::create_user(ctx, db, &username, &role),
        Command::Serve {
            addr,
            allow_hosts,
            demo,
            ..
        } => serve_cmds::serve(
            ctx,
            serve_cmds::Serving {
                db,
                db_given,
                addr,
                allow_hosts: &allow_hosts,
                demo,
            },
        ),
    }
}
