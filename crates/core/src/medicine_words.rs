//! How medicine entries and label amounts are written: the words of a name that can name a
//! medicine, and the units of a stated amount. A leaf module: both the reference tables (which
//! check their names and units when loaded) and the medicine matcher read it.

use serde::Serialize;

/// Lower case, alphanumeric words separated by single spaces.
pub fn normalize_name(text: &str) -> String {
    text.to_lowercase()
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Words that say how much or in what dosage form, never which medicine.
const DOSE_AND_FORM_WORDS: &[&str] = &[
    "mg",
    "mcg",
    "ug",
    "g",
    "microgram",
    "micrograms",
    "milligram",
    "milligrams",
    "ml",
    "iu",
    "tsp",
    "tbsp",
    "teaspoon",
    "teaspoons",
    "teaspoonful",
    "teaspoonfuls",
    "tablespoon",
    "tablespoons",
    "tablespoonful",
    "tablespoonfuls",
    "fl",
    "oz",
    "tablet",
    "tablets",
    "tab",
    "tabs",
    "caplet",
    "caplets",
    "capsule",
    "capsules",
    "cap",
    "caps",
    "softgel",
    "softgels",
    "oral",
    "daily",
    "nightly",
    "once",
    "twice",
    "thrice",
    "times",
    "x",
    "a",
    "per",
    "each",
    "every",
    "day",
    "hours",
    "hour",
    "hrs",
    "qd",
    "od",
    "bid",
    "bd",
    "tid",
    "tds",
    "qid",
    "qds",
    "er",
    "xr",
    "sr",
    "cr",
    "xl",
    "la",
    "dr",
    "ec",
    "extended",
    "release",
    "delayed",
    "modified",
    "and",
    "with",
    "plus",
    "of",
];

/// Whether a word is only a number, or a number with a unit ("500mg", "30ml", "2.5").
fn is_amount_word(w: &str) -> bool {
    let digits_end = w
        .char_indices()
        .find(|(_, c)| !c.is_ascii_digit())
        .map_or(w.len(), |(i, _)| i);
    if digits_end == 0 {
        return false;
    }
    let rest = &w[digits_end..];
    rest.is_empty() || DOSE_AND_FORM_WORDS.contains(&rest)
}

/// The words of an entry that can name a medicine, in order (also how known names are compared,
/// so two names with the same significant words are the same name).
pub fn significant_words(text: &str) -> Vec<String> {
    let all: Vec<String> = normalize_name(text)
        .split(' ')
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect();
    // A number word is part of a frequency ("four times a day"), not a name, only when "times"
    // follows it.
    let number_words = ["one", "two", "three", "four", "five", "six"];
    all.iter()
        .enumerate()
        .filter(|(i, w)| {
            let frequency =
                number_words.contains(&w.as_str()) && all.get(i + 1).is_some_and(|n| n == "times");
            !frequency && !DOSE_AND_FORM_WORDS.contains(&w.as_str()) && !is_amount_word(w)
        })
        .map(|(_, w)| w.clone())
        .collect()
}

/// A unit of a stated amount, as the medicine's label would use it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum AmountUnit {
    /// Millilitres (teaspoons and tablespoons are converted to millilitres).
    Ml,
    FlOz,
    Tablet,
    /// Milligrams of the salt (not of elemental magnesium).
    Mg,
}

/// Millilitres in a US fluid ounce (exact by definition: 1/128 US gallon of 231 cubic inches).
pub(crate) const ML_PER_US_FL_OZ: f64 = 29.573_529_562_5;
impl AmountUnit {
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "ml" => Some(Self::Ml),
            "fl oz" => Some(Self::FlOz),
            "tablet" => Some(Self::Tablet),
            "mg" => Some(Self::Mg),
            _ => None,
        }
    }

    /// The factor that converts an amount in `self` to `to`, where one exists.
    pub(crate) fn factor_to(self, to: Self) -> Option<f64> {
        match (self, to) {
            (a, b) if a == b => Some(1.0),
            (Self::Ml, Self::FlOz) => Some(1.0 / ML_PER_US_FL_OZ),
            (Self::FlOz, Self::Ml) => Some(ML_PER_US_FL_OZ),
            _ => None,
        }
    }
}
