//! Blinding integrity: were the participant's end-of-period guesses better than chance?

use serde::Serialize;
use statrs::distribution::{Binomial, DiscreteCDF};

/// The end-of-period guesses against chance (one guess per period, `arms` equally likely).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BlindingAssessment {
    pub guesses: usize,
    pub right: usize,
    /// The chance of guessing one period right: 1 / number of arms.
    pub chance: f64,
    /// One-sided binomial P(at least `right` of `guesses` right by chance).
    pub p_by_chance: f64,
    /// The level of the test (`rules.toml` `[trial] blinding_guess_alpha`).
    pub alpha: f64,
    /// `p_by_chance < alpha`: the participant could probably tell the arms apart.
    pub probably_unblinded: bool,
}

/// Tests `right` correct guesses out of `guesses` against chance `1 / arms`; `None` without
/// guesses (integrity cannot be assessed) or with fewer than two arms.
pub fn assess_guesses(
    right: usize,
    guesses: usize,
    arms: usize,
    alpha: f64,
) -> Option<BlindingAssessment> {
    if guesses == 0 || arms < 2 || right > guesses {
        return None;
    }
    let chance = 1.0 / arms as f64;
    let binomial = Binomial::new(chance, guesses as u64).ok()?;
    // P(X >= right) = 1 - P(X <= right - 1).
    let p_by_chance = if right == 0 {
        1.0
    } else {
        binomial.sf(right as u64 - 1)
    };
    Some(BlindingAssessment {
        guesses,
        right,
        chance,
        p_by_chance,
        alpha,
        probably_unblinded: p_by_chance < alpha,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guesses_against_chance_match_the_binomial_by_hand() {
        // Two arms, 6 periods, all right: (1/2)^6 = 1/64 = 0.015625 < 0.05.
        let a = assess_guesses(6, 6, 2, 0.05).unwrap();
        assert!((a.p_by_chance - 0.015625).abs() < 1e-12);
        assert!(a.probably_unblinded);
        // 4 of 6 right: (C(6,4) + C(6,5) + C(6,6)) / 64 = (15 + 6 + 1) / 64 = 0.34375.
        let a = assess_guesses(4, 6, 2, 0.05).unwrap();
        assert!((a.p_by_chance - 0.34375).abs() < 1e-12);
        assert!(!a.probably_unblinded);
        // Three arms, 3 of 3 right: (1/3)^3 = 1/27 = 0.037 < 0.05.
        let a = assess_guesses(3, 3, 3, 0.05).unwrap();
        assert!((a.p_by_chance - 1.0 / 27.0).abs() < 1e-12);
        // None right: certainly possible by chance.
        assert_eq!(assess_guesses(0, 4, 2, 0.05).unwrap().p_by_chance, 1.0);
    }

    #[test]
    fn no_guesses_cannot_be_assessed() {
        assert!(assess_guesses(0, 0, 2, 0.05).is_none());
        assert!(assess_guesses(3, 2, 2, 0.05).is_none());
    }
}
