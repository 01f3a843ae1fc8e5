//! The `quietlegs` command line: a thin shell that reads files, calls the core and prints.
//!
//! Exit codes: 0 success; 2 bad input (a message names the field and what is allowed);
//! 1 an internal failure (a bug or a broken installation).

mod food_cmds;
mod render;

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
    /// Version, data sources and licences.
    About {
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

/// A failure at the edge: bad input (exit 2) or an internal error (exit 1).
pub(crate) enum Failure {
    BadInput(anyhow::Error),
    Internal(anyhow::Error),
}

impl From<anyhow::Error> for Failure {
    fn from(e: anyhow::Error) -> Self {
        Failure::Internal(e)
    }
}

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
        Err(Failure::Internal(e)) => {
            eprintln!("internal error: {e:?}");
            ExitCode::from(1)
        }
    }
}

pub(crate) fn print_json(value: &impl serde::Serialize) -> Result<(), Failure> {
    let text = serde_json::to_string_pretty(value).context("serialising the output as JSON")?;
    println!("{text}");
    Ok(())
}

fn run(cli: Cli) -> Result<(), Failure> {
    let data = ReferenceData::shipped().context("loading the shipped reference tables")?;
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
                print!("{}", render::plan_text(&plan, &parsed));
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
                print!("{}", render::irls_text(&score, &data));
            }
        }
        Command::Forms { output } => {
            let catalogue = FormCatalogue::new(&data);
            if output.json {
                print_json(&catalogue.all())?;
            } else {
                print!("{}", render::forms_text(&catalogue));
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
                println!(
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
        },
        Command::Intake {
            foods,
            supplements,
            profile,
            output,
        } => food_cmds::intake(
            &db,
            &data,
            profile.as_ref(),
            &foods,
            &supplements,
            output.json,
        )?,
        Command::About { output } => {
            if output.json {
                print_json(&render::about_json(&data))?;
            } else {
                print!("{}", render::about_text(&data));
            }
        }
    }
    Ok(())
}
