//! The terminal: prompts for a missing required value, a confirmation or the choice of a food
//! (only on an interactive terminal; elsewhere a missing answer is bad input), and notes on
//! standard error.

use crate::failure::{bad_input, Failure};
use anyhow::{anyhow, Context as _};
use quietlegs_app::foods::{Candidate, FoodAmount, FoodChoice, Foods};
use std::io::{BufRead, IsTerminal, Write};

/// Asks for a required value on an interactive terminal; elsewhere it is an error.
pub fn ask<T: std::str::FromStr>(flag: &str, question: &str, allowed: &str) -> Result<T, Failure> {
    if !std::io::stdin().is_terminal() {
        return Err(bad_input(anyhow!("{flag} is required ({allowed})")));
    }
    let stdin = std::io::stdin();
    for _ in 0..3 {
        eprint!("{question} ({allowed}): ");
        let _ = std::io::stderr().flush();
        let mut line = String::new();
        if stdin
            .lock()
            .read_line(&mut line)
            .context("reading the answer")?
            == 0
        {
            break;
        }
        match line.trim().parse() {
            Ok(v) => return Ok(v),
            Err(_) => eprintln!("  not valid: {allowed}"),
        }
    }
    Err(bad_input(anyhow!("{flag} is required ({allowed})")))
}

/// Shows `prompt` on the terminal (stderr) and reads one line of answer.
fn read_answer(prompt: &str) -> Result<String, Failure> {
    eprint!("{prompt}");
    let _ = std::io::stderr().flush();
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("reading the answer")?;
    Ok(line)
}

/// Asks "question [y/N]" unless `yes`; anything but yes cancels (exit 2, nothing changed).
pub fn confirm(question: &str, yes: bool) -> Result<(), Failure> {
    if yes {
        return Ok(());
    }
    if !std::io::stdin().is_terminal() {
        return Err(bad_input(anyhow!("{question} Pass --yes to confirm.")));
    }
    let line = read_answer(&format!("{question} [y/N] "))?;
    if matches!(line.trim(), "y" | "Y" | "yes") {
        Ok(())
    } else {
        Err(bad_input(anyhow!("cancelled; nothing was changed")))
    }
}

/// The food `query` means: found by the application's rule, or chosen on a terminal among the
/// closest foods; without a terminal a weak match is refused with the closest foods listed.
pub fn pick_food(foods: Foods<'_>, query: &str) -> Result<usize, Failure> {
    match quietlegs_app::foods::find_food(foods, query)? {
        FoodChoice::Found(i) => Ok(i),
        FoodChoice::Weak { query, closest } => {
            if std::io::stdin().is_terminal() && std::io::stderr().is_terminal() {
                choose(&query, &closest)
            } else {
                Err(FoodChoice::refusal(&query, &closest).into())
            }
        }
    }
}

/// Offers the closest foods on a terminal; Enter or anything else cancels (exit 2).
fn choose(query: &str, closest: &[Candidate]) -> Result<usize, Failure> {
    eprintln!("\"{query}\" matches no food name well. Closest foods:");
    for (n, c) in closest.iter().enumerate() {
        eprintln!("  {}. {}", n + 1, c.describe());
    }
    let line = read_answer(&format!("Choose 1-{} (Enter to cancel): ", closest.len()))?;
    match line.trim().parse::<usize>() {
        Ok(n) if (1..=closest.len()).contains(&n) => Ok(closest[n - 1].food),
        _ => Err(bad_input(anyhow!(
            "no food chosen for \"{query}\"; nothing was recorded (closest was {})",
            closest[0].name
        ))),
    }
}

/// A note on stderr when an amount used a default measure (stdout stays the result).
pub fn note_default(a: &FoodAmount) {
    if !a.alternatives.is_empty() {
        eprintln!("note: {} of {}: {}", a.amount, a.food.name, a.via);
    }
}
