//! `quietlegs series …`: pooled analysis of many n-of-1 series from a CSV. The file is streamed
//! (never held whole) through `quietlegs_app::series`, with a progress bar over its bytes on
//! stderr (hidden when stderr is not a terminal).

use crate::failure::{bad_input, print_json, write_output, Failure};
use anyhow::{anyhow, Context as _};
use quietlegs_app::series::{self, SeriesOptions};
use quietlegs_app::Context;
use quietlegs_core::text::escape_controls;
use quietlegs_core::trial::pooled::PooledAnalysis;
use std::path::{Path, PathBuf};

/// `series` subcommands.
#[derive(clap::Subcommand)]
pub enum SeriesCommand {
    /// Pooled analysis of many people's n-of-1 series (CSV participant,day,condition,outcome):
    /// linear mixed models by REML, population effect, spread between people, shrunken
    /// per-person effects (docs/series.md).
    Analyze {
        /// The CSV file (header participant,day,condition,outcome).
        #[arg(long)]
        csv: PathBuf,
        /// The comparator's label in the condition column (required).
        #[arg(long)]
        control: Option<String>,
        /// The treatment's label (default: the one other condition).
        #[arg(long)]
        treatment: Option<String>,
        #[arg(long)]
        higher_is_better: bool,
        /// Minimal important difference (default: the nightly-severity default).
        #[arg(long, allow_negative_numbers = true)]
        mcid: Option<f64>,
        /// Write a forest plot (SVG) here.
        #[arg(long, value_name = "FILE.svg")]
        forest: Option<PathBuf>,
        #[command(flatten)]
        output: crate::Output,
    },
}

pub fn dispatch(ctx: &Context<'_>, command: SeriesCommand) -> Result<(), Failure> {
    match command {
        SeriesCommand::Analyze {
            csv,
            control,
            treatment,
            higher_is_better,
            mcid,
            forest,
            output,
        } => {
            let o = SeriesOptions {
                control,
                treatment,
                higher_is_better,
                mcid,
            };
            analyze(ctx, &csv, &o, forest.as_deref(), output.json)
        }
    }
}

fn analyze(
    ctx: &Context<'_>,
    csv: &Path,
    o: &SeriesOptions,
    forest: Option<&Path>,
    json_out: bool,
) -> Result<(), Failure> {
    if o.control.is_none() {
        return Err(bad_input(anyhow!(
            "--control LABEL is required: the comparator's label in the condition column"
        )));
    }
    let file = std::fs::File::open(csv)
        .with_context(|| format!("reading {}", csv.display()))
        .map_err(bad_input)?;
    let size = file.metadata().map(|m| m.len()).unwrap_or(0);
    let bar = indicatif::ProgressBar::new(size);
    bar.set_style(
        indicatif::ProgressStyle::with_template("reading [{bar:40}] {bytes}/{total_bytes} ({eta})")
            .map_err(|e| anyhow!("progress bar template: {e}"))?
            .progress_chars("=> "),
    );
    let reader = std::io::BufReader::with_capacity(1 << 16, bar.wrap_read(file));
    let result = series::analyze_csv(ctx.reference, reader, o);
    bar.finish_and_clear();
    let a = result.map_err(|e| crate::failure::app_failure(e, Some(&csv.display().to_string())))?;
    if let Some(path) = forest {
        write_output("--forest", path, series::forest_svg(&a).as_bytes())?;
    }
    if json_out {
        return print_json(&a);
    }
    out!("{}", series_text(&a));
    if let Some(path) = forest {
        outln!("\nForest plot: {}", path.display());
    }
    Ok(())
}

fn ci(c: [f64; 2]) -> String {
    format!("{:.3} to {:.3}", c[0], c[1])
}

/// The text report.
fn series_text(a: &PooledAnalysis) -> String {
    use std::fmt::Write as _;
    let ri = &a.models.random_intercept;
    let rs = &a.models.random_slope;
    let better = if a.higher_is_better {
        "higher"
    } else {
        "lower"
    };
    let mut s = String::new();
    let _ = writeln!(
        s,
        "Pooled analysis: {} vs {} ({} participants, {} nights; {} missing nights skipped{})",
        escape_controls(&a.treatment),
        escape_controls(&a.control),
        a.n_participants,
        a.n_nights,
        a.missing_nights,
        if a.other_condition_nights > 0 {
            format!(
                "; {} nights of other conditions left out",
                a.other_condition_nights
            )
        } else {
            String::new()
        }
    );
    let _ = writeln!(
        s,
        "Effect = {} minus {}; {better} is better; MCID {}.\n",
        escape_controls(&a.treatment),
        escape_controls(&a.control),
        a.mcid
    );
    let _ = writeln!(
        s,
        "Random intercept and treatment slope (people may differ in their effect):"
    );
    let _ = writeln!(
        s,
        "  population effect {:.3} (SE {:.3}, 95 % CI {})",
        rs.effect,
        rs.se,
        ci(rs.ci95)
    );
    let _ = writeln!(
        s,
        "  P(population effect at least the MCID in the better direction) {:.1} %",
        100.0 * rs.p_mcid
    );
    let _ = writeln!(
        s,
        "  between-person SD: usual level {:.3}, effect {:.3}; correlation {}; night-to-night SD {:.3}",
        rs.tau2_intercept.sqrt(),
        rs.tau2_slope.sqrt(),
        rs.corr_intercept_slope.map_or("-".to_string(), |c| format!("{c:.3}")),
        rs.sigma2.sqrt()
    );
    let _ = writeln!(
        s,
        "  share of people expected to benefit by at least the MCID: {:.1} %",
        100.0 * rs.share_mcid
    );
    let _ = writeln!(s, "  REML log-likelihood {:.4}", rs.loglik);
    if let Some(m) = &rs.singular_meaning {
        let _ = writeln!(s, "  SINGULAR FIT: {m}");
    }
    let _ = writeln!(s, "\nRandom intercept only (everyone has the same effect):");
    let _ = writeln!(
        s,
        "  population effect {:.3} (SE {:.3}, 95 % CI {})",
        ri.effect,
        ri.se,
        ci(ri.ci95)
    );
    let _ = writeln!(s, "  between-person SD of the usual level {:.3}; night-to-night SD {:.3}; REML log-likelihood {:.4}{}", ri.tau2_intercept.sqrt(), ri.sigma2.sqrt(), ri.loglik, if ri.singular { " (singular: no between-person variation detected)" } else { "" });
    for (name, c) in [
        ("random slope", &rs.convergence),
        ("random intercept", &ri.convergence),
    ] {
        if !c.converged {
            let _ = writeln!(s, "\nWARNING: the {name} fit did not reach the gradient tolerance {:e} (reached {:.1e}); treat it with caution.", c.gradient_tolerance, c.gradient_norm);
        }
    }
    let _ = writeln!(s, "\nConverged to a gradient of -2 log-likelihood (with respect to the variance parameters) at most {:e} (random slope {:.1e}, random intercept {:.1e}).", rs.convergence.gradient_tolerance, rs.convergence.gradient_norm, ri.convergence.gradient_norm);
    const SHOW: usize = 20;
    let _ = writeln!(s, "\nPer person (shrunken effect = population + the person's deviation; own = their trial alone){}:", if a.participants.len() > SHOW { format!(", the first {SHOW} of {} (all in --json)", a.participants.len()) } else { String::new() });
    let _ = writeln!(
        s,
        "  {:<16} {:>6} {:>9} {:>20} {:>8} {:>9} {:>20}",
        "participant", "nights", "shrunken", "95 % interval", "P(MCID)", "own", "own 95 % CI"
    );
    for p in a.participants.iter().take(SHOW) {
        let id: String = escape_controls(&p.id).chars().take(16).collect();
        let (own, own_ci) = match &p.own {
            Some(o) => (format!("{:.3}", o.effect), ci(o.ci95)),
            None => ("-".into(), "-".into()),
        };
        let _ = writeln!(
            s,
            "  {id:<16} {:>6} {:>9.3} {:>20} {:>7.1}% {own:>9} {own_ci:>20}",
            p.nights,
            p.effect,
            ci(p.ci95),
            100.0 * p.p_mcid
        );
    }
    let _ = writeln!(s, "\n{}", a.method);
    s
}
