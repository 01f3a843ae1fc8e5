//! Recognising a person's medicines by generic, brand, salt or product name, tolerating case,
//! doses and dosage-form words in the name.
//!
//! Safety rules of this module:
//! - **A name never becomes another drug.** Only exact names (after case, punctuation, doses and
//!   dosage-form words are set aside) are recognised. A close spelling ("tobramycin" is one edit
//!   from nothing, but "vibramicin" is close to "Vibramycin") is only a *suggestion*: the entry
//!   stays unknown and no rule of the suggested drug is applied.
//! - **Every ingredient is kept.** A combination product ("Tylenol PM") stands for all its
//!   ingredients; a word of the entry that matches nothing is reported, never dropped, so a partly
//!   recognised name is partly unknown.

use crate::medicine_words::ML_PER_US_FL_OZ;
pub use crate::medicine_words::{normalize_name, significant_words, AmountUnit};
use crate::reference::{LabelMagnesium, MedicineClass, MedicineRow, ProductRow, ReferenceData};
use serde::Serialize;

/// Salt and hydrate words that may follow a recognised medicine ("doxycycline hyclate",
/// "levothyroxine sodium") without changing which medicine it is. They are ignored only when
/// a medicine was recognised in the same entry.
const SALT_WORDS: &[&str] = &[
    "hcl",
    "hydrochloride",
    "sodium",
    "potassium",
    "calcium",
    "hyclate",
    "monohydrate",
    "dihydrate",
    "anhydrous",
    "succinate",
    "tartrate",
    "besylate",
    "besilate",
    "maleate",
    "mesylate",
    "mesilate",
    "fumarate",
    "hemifumarate",
    "citrate",
    "sulfate",
    "sulphate",
    "acetate",
    "bromide",
    "phosphate",
    "hydrobromide",
    "disodium",
    "dipotassium",
];

/// Below this Jaro-Winkler similarity a known name is not worth suggesting ("fish oil" should
/// not suggest "sifrol"); chosen by reading the suggestions for the test names below.
const SUGGESTION_SIMILARITY: f64 = 0.88;

/// What a known name stands for.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Named {
    Medicine(usize),
    Product(usize),
}

/// One known name, as significant words.
#[derive(Debug, Clone)]
struct KnownName {
    words: Vec<String>,
    label: String,
    /// The name as written in the table ("Excedrin PM").
    original: String,
    named: Named,
}

/// Millilitres in a dosing teaspoon and tablespoon, as the antacid and laxative labels state
/// them ("each 5 mL = 1 teaspoonful", "each 15 mL tablespoonful").
const ML_PER_TEASPOON: f64 = 5.0;
const ML_PER_TABLESPOON: f64 = 15.0;
/// Millilitres in a dessertspoon, the British measure (10 mL).
const ML_PER_DESSERTSPOON: f64 = 10.0;

/// An amount written in a medicine entry ("Milk of Magnesia 30 mL", "magnesium oxide 400 mg").
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct StatedAmount {
    pub value: f64,
    pub unit: AmountUnit,
}

/// An amount written in an entry that cannot be used (zero, or a unit quietlegs cannot read).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum AmountNote {
    /// Zero or negative.
    Zero,
    /// More than any single dose could be (a typo).
    Implausible,
}

/// Largest single doses accepted as typed (input plausibility, not clinical limits): a litre of
/// liquid, 100 tablets, 100 g of a salt. Anything larger is a typo and is not counted.
const MAX_DOSE_ML: f64 = 1000.0;
const MAX_DOSE_TABLETS: f64 = 100.0;
const MAX_DOSE_MG: f64 = 100_000.0;

/// A number in an entry: decimals ("2.5"), fractions ("1/2", "½") and mixed numbers ("1 1/2",
/// "1½"), with the index of the token after it.
fn number_at(tokens: &[&str], i: usize) -> Option<(f64, usize)> {
    let vulgar = |c: char| match c {
        '½' => Some(0.5),
        '¼' => Some(0.25),
        '¾' => Some(0.75),
        '⅓' => Some(1.0 / 3.0),
        '⅔' => Some(2.0 / 3.0),
        _ => None,
    };
    let simple = |t: &str| -> Option<f64> {
        if let Some((n, d)) = t.split_once('/') {
            let (n, d) = (n.parse::<f64>().ok()?, d.parse::<f64>().ok()?);
            return (d > 0.0).then(|| n / d);
        }
        let mut chars = t.chars();
        if let Some(last) = t.chars().last().and_then(vulgar) {
            chars.next_back();
            let whole = chars.as_str();
            let w = if whole.is_empty() {
                0.0
            } else {
                whole.parse::<f64>().ok()?
            };
            return Some(w + last);
        }
        t.parse::<f64>().ok()
    };
    let first = simple(tokens.get(i)?)?;
    // A whole number followed by a fraction: "1 1/2", "2 ½".
    if let Some(next) = tokens.get(i + 1) {
        let is_fraction = next.contains('/') || next.chars().all(|c| vulgar(c).is_some());
        if is_fraction && !tokens[i].contains('/') && first.fract() == 0.0 {
            if let Some(f) = simple(next) {
                return Some((first + f, i + 2));
            }
        }
    }
    Some((first, i + 1))
}

/// Splits an entry into lower-case tokens, a number apart from a glued unit ("30ml" -> "30 ml"),
/// keeping decimal points, fraction slashes and vulgar fractions.
fn amount_tokens(text: &str) -> Vec<String> {
    let lower: Vec<char> = text.to_lowercase().chars().collect();
    let mut spaced = String::with_capacity(lower.len() + 8);
    let is_num = |c: char| c.is_ascii_digit() || matches!(c, '½' | '¼' | '¾' | '⅓' | '⅔');
    for (i, &c) in lower.iter().enumerate() {
        let prev = i.checked_sub(1).map(|j| lower[j]);
        let next = lower.get(i + 1).copied();
        let after_next = lower.get(i + 2).copied();
        let after_that = lower.get(i + 3).copied();
        match c {
            // "q.i.d.", "b.i.d.": abbreviation dots go.
            '.' if prev.is_some_and(char::is_alphabetic) => {}
            '.' if prev.is_some_and(is_num) && next.is_some_and(is_num) => spaced.push('.'),
            // A decimal comma ("1,5 tbsp") but not a thousands separator ("1,500 mg").
            ',' if prev.is_some_and(is_num)
                && next.is_some_and(is_num)
                && !(after_next.is_some_and(is_num) && after_that.is_some_and(is_num)) =>
            {
                spaced.push('.')
            }
            // A thousands separator ("1,000 mg") joins the digits.
            ',' if prev.is_some_and(is_num) && next.is_some_and(is_num) => {}
            // "4x/day", "2/d": a rate, not a fraction.
            '/' if next.is_some_and(char::is_alphabetic) => spaced.push_str(" per "),
            '/' => spaced.push('/'),
            // "-15 mL": a minus sign before a number (a range "4-6" keeps its numbers apart).
            '-' if next.is_some_and(is_num) && !prev.is_some_and(is_num) => spaced.push_str(" -"),
            c if c.is_alphanumeric() || is_num(c) => {
                // Numbers and words apart: "30ml" -> "30 ml", "x4" -> "x 4", "q6h" -> "q 6 h".
                if let Some(p) = prev {
                    if (is_num(p) && c.is_alphabetic()) || (p.is_alphabetic() && is_num(c)) {
                        spaced.push(' ');
                    }
                }
                spaced.push(c);
            }
            _ => spaced.push(' '),
        }
    }
    spaced
        .split_whitespace()
        .map(|t| t.trim_end_matches('.').to_string())
        .collect()
}

/// The amounts written in an entry. Teaspoons and tablespoons become millilitres and grams
/// become milligrams; micrograms and units say nothing about magnesium and are skipped. An
/// amount of zero is reported, never ignored.
pub fn stated_amounts(text: &str) -> Vec<Result<StatedAmount, AmountNote>> {
    let owned = amount_tokens(text);
    let tokens: Vec<&str> = owned.iter().map(String::as_str).collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        let Some((value, next_i)) = number_at(&tokens, i) else {
            i += 1;
            continue;
        };
        let next = tokens.get(next_i).copied();
        let after = tokens.get(next_i + 1).copied();
        let amount = match next {
            Some(
                "ml" | "mls" | "cc" | "millilitre" | "millilitres" | "milliliter" | "milliliters",
            ) => Some((value, AmountUnit::Ml)),
            Some(
                "tsp" | "tsps" | "teaspoon" | "teaspoons" | "teaspoonful" | "teaspoonfuls"
                | "teaspoonsful",
            ) => Some((value * ML_PER_TEASPOON, AmountUnit::Ml)),
            Some(
                "tbsp" | "tbsps" | "tbs" | "tablespoon" | "tablespoons" | "tablespoonful"
                | "tablespoonfuls" | "tablespoonsful",
            ) => Some((value * ML_PER_TABLESPOON, AmountUnit::Ml)),
            Some("dessertspoon" | "dessertspoons" | "dessertspoonful" | "dessertspoonfuls") => {
                Some((value * ML_PER_DESSERTSPOON, AmountUnit::Ml))
            }
            Some("floz") => Some((value, AmountUnit::FlOz)),
            Some("fl") if after == Some("oz") => Some((value, AmountUnit::FlOz)),
            Some("tablet" | "tablets" | "tab" | "tabs" | "caplet" | "caplets") => {
                Some((value, AmountUnit::Tablet))
            }
            Some("mg") => Some((value, AmountUnit::Mg)),
            Some("g") => Some((value * 1000.0, AmountUnit::Mg)),
            _ => None,
        };
        if let Some((value, unit)) = amount {
            let plausible = match unit {
                AmountUnit::Ml => MAX_DOSE_ML,
                AmountUnit::FlOz => MAX_DOSE_ML / ML_PER_US_FL_OZ,
                AmountUnit::Tablet => MAX_DOSE_TABLETS,
                AmountUnit::Mg => MAX_DOSE_MG,
            };
            if !value.is_finite() || value <= 0.0 {
                out.push(Err(AmountNote::Zero));
            } else if value > plausible {
                out.push(Err(AmountNote::Implausible));
            } else {
                out.push(Ok(StatedAmount { value, unit }));
            }
        }
        i = next_i;
    }
    out
}

/// How many doses a day an entry says ("twice daily", "4 times a day", "4x/day", "x2", "q6h",
/// "every 4-6 hours", "b.i.d."). Less often than daily ("every other day", "weekly") counts as
/// once a day: the count is for the upper limit, where more is the safe side.
pub fn stated_doses_per_day(text: &str) -> Option<u32> {
    let owned = amount_tokens(text);
    let t: Vec<&str> = owned.iter().map(String::as_str).collect();
    let number = |w: &str| -> Option<u32> {
        match w {
            "one" | "once" => Some(1),
            "two" | "twice" => Some(2),
            "three" | "thrice" => Some(3),
            "four" => Some(4),
            "five" => Some(5),
            "six" => Some(6),
            _ => w.parse::<u32>().ok().filter(|n| (1..=24).contains(n)),
        }
    };
    let hours = |w: Option<&str>| matches!(w, Some("h" | "hr" | "hrs" | "hour" | "hours"));
    let is_unit = |w: Option<&str>| {
        matches!(
            w,
            Some(
                "mg" | "g"
                    | "ml"
                    | "mls"
                    | "cc"
                    | "tsp"
                    | "tbsp"
                    | "tbs"
                    | "fl"
                    | "oz"
                    | "tablet"
                    | "tablets"
                    | "tab"
                    | "tabs"
                    | "caplet"
                    | "caplets"
                    | "mcg"
            )
        )
    };
    for (i, w) in t.iter().enumerate() {
        let at = |k: usize| t.get(i + k).copied();
        // Latin abbreviations used on prescriptions ("b.i.d." arrives as "bid").
        match *w {
            "qd" | "od" | "qhs" | "nocte" => return Some(1),
            "bid" | "bd" => return Some(2),
            "tid" | "tds" => return Some(3),
            "qid" | "qds" => return Some(4),
            _ => {}
        }
        // "q 6 h": every 6 hours.
        if *w == "q" && hours(at(2)) {
            if let Some(h) = at(1)
                .and_then(|n| n.parse::<u32>().ok())
                .filter(|h| (1..=24).contains(h))
            {
                return Some(24 / h);
            }
        }
        // "every 6 hours", "every 4 6 hours" (a range 4-6: the shorter interval, more doses).
        if *w == "every" {
            let first = at(1)
                .and_then(|n| n.parse::<u32>().ok())
                .filter(|h| (1..=24).contains(h));
            if let Some(h) = first {
                if hours(at(2)) || (at(2).is_some_and(|n| n.parse::<u32>().is_ok()) && hours(at(3)))
                {
                    return Some(24 / h);
                }
            }
            if matches!(at(1), Some("other" | "second" | "week")) {
                return Some(1);
            }
        }
        if matches!(*w, "weekly" | "fortnightly") {
            return Some(1);
        }
        // "twice daily", "4 times a day", "four times", "4 x per day", "2 per day".
        if let Some(n) = number(w) {
            match at(1) {
                Some("times") => return Some(n),
                // "4 x" is a frequency, "2 x 5 ml" an amount.
                Some("x")
                    if !(at(2).is_some_and(|v| v.parse::<f64>().is_ok()) && is_unit(at(3))) =>
                {
                    return Some(n)
                }
                Some("per" | "a" | "each") if matches!(at(2), Some("day" | "d")) => return Some(n),
                Some("daily") if matches!(*w, "once" | "twice" | "thrice") => return Some(n),
                _ => {}
            }
        }
        // "x 4" (times four), when not an amount ("2 x 5 ml").
        if *w == "x" && !is_unit(at(2)) {
            if let Some(n) = at(1).and_then(number) {
                if i == 0 || t[i - 1].parse::<f64>().is_err() {
                    return Some(n);
                }
            }
        }
        if matches!(*w, "daily" | "nightly") && (i == 0 || number(t[i - 1]).is_none()) {
            return Some(1);
        }
    }
    None
}

/// What a typed medicine entry turned out to be.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "status", rename_all = "kebab-case")]
pub enum Identification {
    /// Every word of the entry was understood; the medicines it names (all ingredients of a
    /// combination product).
    Recognised {
        generics: Vec<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        product: Option<String>,
    },
    /// Some medicines were recognised exactly, but some words matched nothing: the entry is
    /// partly unknown.
    PartlyRecognised {
        generics: Vec<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        product: Option<String>,
        unmatched_words: Vec<String>,
    },
    /// Nothing matched exactly. `suggestions` are close known names (never applied).
    Unknown { suggestions: Vec<String> },
}

impl Identification {
    /// The medicines recognised exactly (empty when unknown).
    pub fn generics(&self) -> &[String] {
        match self {
            Self::Recognised { generics, .. } | Self::PartlyRecognised { generics, .. } => generics,
            Self::Unknown { .. } => &[],
        }
    }

    pub fn product(&self) -> Option<&str> {
        match self {
            Self::Recognised { product, .. } | Self::PartlyRecognised { product, .. } => {
                product.as_deref()
            }
            Self::Unknown { .. } => None,
        }
    }
}

/// How much magnesium one dose of a medicine gives, or why it cannot be counted.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "status", rename_all = "kebab-case")]
pub enum MedicineMagnesium {
    Counted {
        elemental_mg_per_dose: f64,
        /// How the amount was found ("stated 30 mL on the label's 500 mg per 15 mL").
        basis: String,
        /// True when no amount was stated and the label's smallest adult dose was counted.
        assumed_dose: bool,
    },
    NotCounted {
        reason: String,
    },
}

/// Index over the medicine table.
#[derive(Debug, Clone)]
pub struct MedicineIndex {
    medicines: Vec<MedicineRow>,
    products: Vec<ProductRow>,
    classes: Vec<MedicineClass>,
    names: Vec<KnownName>,
}

impl MedicineIndex {
    pub fn new(data: &ReferenceData) -> Self {
        let mut names = Vec::new();
        for (i, m) in data.medicines.iter().enumerate() {
            for n in std::iter::once(&m.generic).chain(&m.other_names) {
                names.push(KnownName {
                    words: significant_words(n),
                    label: normalize_name(n),
                    original: n.clone(),
                    named: Named::Medicine(i),
                });
            }
        }
        for (i, p) in data.products.iter().enumerate() {
            for n in &p.names {
                names.push(KnownName {
                    words: significant_words(n),
                    label: normalize_name(n),
                    original: n.clone(),
                    named: Named::Product(i),
                });
            }
        }
        names.retain(|k| !k.words.is_empty());
        Self {
            medicines: data.medicines.clone(),
            products: data.products.clone(),
            classes: data.medicine_classes.clone(),
            names,
        }
    }

    pub fn medicine(&self, generic: &str) -> Option<&MedicineRow> {
        self.medicines.iter().find(|m| m.generic == generic)
    }

    pub fn class_of(&self, generic: &str) -> Option<&MedicineClass> {
        let m = self.medicine(generic)?;
        self.classes.iter().find(|c| c.id == m.class)
    }

    fn product_named(&self, name: &str) -> Option<&ProductRow> {
        let words = significant_words(name);
        self.names.iter().find_map(|k| match k.named {
            Named::Product(i) if k.words == words => Some(&self.products[i]),
            _ => None,
        })
    }

    fn generics_of(&self, named: Named) -> Vec<String> {
        match named {
            Named::Medicine(i) => vec![self.medicines[i].generic.clone()],
            Named::Product(i) => self.products[i].ingredients.clone(),
        }
    }

    pub fn identify(&self, typed: &str) -> Identification {
        let words = significant_words(typed);
        let word_refs: Vec<&str> = words.iter().map(String::as_str).collect();
        // Every occurrence of every known name, as (start, end, name index).
        let mut spans: Vec<(usize, usize, usize)> = Vec::new();
        for (ki, k) in self.names.iter().enumerate() {
            let n = k.words.len();
            if n > word_refs.len() {
                continue;
            }
            for start in 0..=(word_refs.len() - n) {
                if word_refs[start..start + n]
                    .iter()
                    .zip(&k.words)
                    .all(|(a, b)| *a == b)
                {
                    spans.push((start, start + n, ki));
                }
            }
        }
        // Longest names first, then leftmost; a shorter name inside a chosen one is not counted
        // ("gabapentin" inside "gabapentin enacarbil", "Tylenol" inside "Tylenol PM").
        spans.sort_by_key(|&(s, e, _)| (std::cmp::Reverse(e - s), s));
        let mut covered = vec![false; word_refs.len()];
        let mut chosen: Vec<(usize, usize)> = Vec::new(); // (start, name index)
        for &(s, e, ki) in &spans {
            if covered[s..e].iter().any(|&c| c) {
                continue;
            }
            covered[s..e].iter_mut().for_each(|c| *c = true);
            chosen.push((s, ki));
        }
        chosen.sort_by_key(|&(s, _)| s);
        // "esomeprazole magnesium": "magnesium" right after another medicine is its salt, not a
        // magnesium product.
        let is_plain_magnesium = |ki: usize| matches!(self.names[ki].named, Named::Medicine(i) if self.medicines[i].generic == "magnesium");
        let mut kept: Vec<(usize, usize)> = Vec::new();
        for &(start, ki) in &chosen {
            let after_other = kept.last().is_some_and(|&(ps, pk)| {
                ps + self.names[pk].words.len() == start && !is_plain_magnesium(pk)
            });
            if is_plain_magnesium(ki) && after_other {
                continue;
            }
            kept.push((start, ki));
        }
        let chosen = kept;
        let mut generics: Vec<String> = Vec::new();
        let mut product: Option<String> = None;
        for &(_, ki) in &chosen {
            let k = &self.names[ki];
            if let Named::Product(_) = k.named {
                product.get_or_insert_with(|| k.original.clone());
            }
            for g in self.generics_of(k.named) {
                if !generics.contains(&g) {
                    generics.push(g);
                }
            }
        }
        if generics.is_empty() {
            return Identification::Unknown {
                suggestions: self.suggestions(&word_refs),
            };
        }
        let unmatched_words: Vec<String> = word_refs
            .iter()
            .zip(&covered)
            .filter(|(w, c)| !**c && !SALT_WORDS.contains(w))
            .map(|(w, _)| w.to_string())
            .collect();
        if unmatched_words.is_empty() {
            Identification::Recognised { generics, product }
        } else {
            Identification::PartlyRecognised {
                generics,
                product,
                unmatched_words,
            }
        }
    }

    /// Known names close to the entry: first those within a small edit distance of the whole
    /// entry or one of its words (1 edit for 5-7 letters, 2 for 8 or more; never for 4 or
    /// fewer), then by Jaro-Winkler similarity. Suggestions only; never applied.
    fn suggestions(&self, words: &[&str]) -> Vec<String> {
        let allowed = |len: usize| match len {
            0..=4 => 0,
            5..=7 => 1,
            _ => 2,
        };
        let cleaned = words.join(" ");
        let mut close: Vec<(usize, String)> = Vec::new();
        for text in std::iter::once(cleaned.as_str()).chain(words.iter().copied()) {
            for k in &self.names {
                let known = k.words.join(" ");
                let d = strsim::damerau_levenshtein(text, &known);
                let len = known.chars().count().min(text.chars().count());
                if d > 0 && d <= allowed(len) {
                    close.push((d, self.label(k)));
                }
            }
        }
        close.sort();
        let mut out: Vec<String> = Vec::new();
        for (_, label) in close {
            if !out.contains(&label) {
                out.push(label);
            }
        }
        for label in self.closest(&cleaned, 3) {
            if !out.contains(&label) && out.len() < 3 {
                out.push(label);
            }
        }
        out.truncate(3);
        out
    }

    fn label(&self, k: &KnownName) -> String {
        let target = match k.named {
            Named::Medicine(i) => self.medicines[i].generic.clone(),
            Named::Product(i) => self.products[i].ingredients.join(" + "),
        };
        if k.label == target {
            target
        } else {
            format!("{} ({target})", k.label)
        }
    }

    /// Up to `n` known names similar to the text (Jaro-Winkler similarity at least
    /// [`SUGGESTION_SIMILARITY`]), as "name (generic)" where they differ.
    pub fn closest(&self, text: &str, n: usize) -> Vec<String> {
        let mut scored: Vec<(f64, &KnownName)> = self
            .names
            .iter()
            .map(|k| (strsim::jaro_winkler(text, &k.words.join(" ")), k))
            .filter(|(score, _)| *score >= SUGGESTION_SIMILARITY)
            .collect();
        scored.sort_by(|a, b| b.0.total_cmp(&a.0));
        let mut out: Vec<String> = Vec::new();
        for (_, k) in scored {
            let label = self.label(k);
            if !out.contains(&label) {
                out.push(label);
            }
            if out.len() == n {
                break;
            }
        }
        out
    }

    /// The magnesium in one dose of a recognised medicine entry that contains magnesium: from
    /// the product label and a stated (or the label's smallest adult) amount, or from a stated
    /// weight of a magnesium salt. `fraction_of` gives a form's elemental fraction.
    pub fn magnesium_per_dose(
        &self,
        typed: &str,
        identification: &Identification,
        fraction_of: impl Fn(&str) -> Option<f64>,
    ) -> MedicineMagnesium {
        let amounts = stated_amounts(typed);
        let not_counted = |reason: String| MedicineMagnesium::NotCounted { reason };
        if amounts.len() > 1 {
            return not_counted("the entry states more than one amount".into());
        }
        let stated = match amounts.first().copied() {
            Some(Err(AmountNote::Zero)) => {
                return not_counted("the amount stated is zero or negative".into());
            }
            Some(Err(AmountNote::Implausible)) => {
                return not_counted("the amount stated is more than any single dose".into());
            }
            Some(Ok(a)) => Some(a),
            None => None,
        };
        let words = normalize_name(typed);
        let solid_words = [
            "tablet",
            "tablets",
            "caplet",
            "caplets",
            "chewable",
            "chewables",
        ];
        let names_solid = words.split(' ').any(|w| solid_words.contains(&w));
        let product = identification.product().and_then(|p| self.product_named(p));
        if let Some(product) = product {
            return match &product.magnesium {
                Some(label) if names_solid && label.unit != "tablet" => not_counted(format!(
                    "the entry names tablets, but quietlegs has label values only for the liquid \
                     of {}",
                    product.names[0]
                )),
                Some(label) => label_magnesium(label, stated),
                None => not_counted(format!(
                    "quietlegs has no label values for {}: ask your pharmacist how much \
                     magnesium one dose gives",
                    identification.product().unwrap_or(&product.names[0])
                )),
            };
        }
        let salts: Vec<&MedicineRow> = identification
            .generics()
            .iter()
            .filter_map(|g| self.medicine(g))
            .filter(|m| {
                self.classes.iter().any(|c| {
                    c.id == m.class && c.rule == crate::reference::RuleKind::MagnesiumSource
                })
            })
            .collect();
        let [salt] = salts.as_slice() else {
            return not_counted("the magnesium of each ingredient is not stated".into());
        };
        let fraction = salt.form.as_deref().and_then(&fraction_of);
        match stated {
            // A stated weight may be the salt's weight (medicine labels) or elemental magnesium
            // (US Supplement Facts): count the larger, elemental reading, and say what the salt
            // reading would give.
            Some(StatedAmount {
                value,
                unit: AmountUnit::Mg,
            }) => MedicineMagnesium::Counted {
                elemental_mg_per_dose: value,
                basis: match fraction {
                    Some(f) => format!(
                        "{v} mg stated, counted as elemental magnesium (the upper reading; if \
                         {v} mg is the weight of {g}, it gives {m} mg)",
                        v = fmt_amount(value),
                        g = salt.generic,
                        m = fmt_amount((value * f).round())
                    ),
                    None => format!(
                        "{} mg stated, counted as elemental magnesium (the upper reading)",
                        fmt_amount(value)
                    ),
                },
                assumed_dose: false,
            },
            Some(_) => not_counted(format!(
                "an amount of {} is stated by volume or count, which says nothing about its \
                 magnesium: write the product (for example 'magnesium citrate solution 10 fl \
                 oz') or the weight in mg",
                salt.generic
            )),
            None => not_counted(format!(
                "no amount of {} is stated (write it as, for example, '{} 200 mg')",
                salt.generic, salt.generic
            )),
        }
    }
}

/// Rounded to 0.1 mg: label values carry no more precision than that.
fn round_tenth(v: f64) -> f64 {
    (v * 10.0).round() / 10.0
}

fn fmt_amount(v: f64) -> String {
    if (v - v.round()).abs() < 1e-9 {
        format!("{}", v.round() as i64)
    } else {
        format!("{v:.1}")
    }
}

fn unit_word(u: AmountUnit) -> &'static str {
    match u {
        AmountUnit::Ml => "mL",
        AmountUnit::FlOz => "fl oz",
        AmountUnit::Tablet => "tablet(s)",
        AmountUnit::Mg => "mg",
    }
}

fn label_magnesium(label: &LabelMagnesium, stated: Option<StatedAmount>) -> MedicineMagnesium {
    let Some(label_unit) = AmountUnit::parse(&label.unit) else {
        return MedicineMagnesium::NotCounted {
            reason: "the label's unit is not understood".into(),
        };
    };
    let per = format!(
        "the label's {} mg magnesium per {} {}",
        fmt_amount(label.elemental_mg),
        fmt_amount(label.per_amount),
        unit_word(label_unit)
    );
    let (amount, assumed_dose, what) = match stated {
        Some(s) => match s.unit.factor_to(label_unit) {
            Some(f) => (
                s.value * f,
                false,
                format!("{} {} stated", fmt_amount(s.value), unit_word(s.unit)),
            ),
            None => {
                return MedicineMagnesium::NotCounted {
                    reason: format!(
                        "the amount is stated in {}, but the label counts magnesium per {}",
                        unit_word(s.unit),
                        unit_word(label_unit)
                    ),
                }
            }
        },
        None => match label.smallest_adult_dose {
            Some(d) => (
                d,
                true,
                format!(
                    "no amount stated: the label's smallest adult dose, {} {}",
                    fmt_amount(d),
                    unit_word(label_unit)
                ),
            ),
            None => {
                return MedicineMagnesium::NotCounted {
                    reason: format!(
                        "no amount is stated (write it in the entry, for example '10 {}')",
                        unit_word(label_unit)
                    ),
                }
            }
        },
    };
    MedicineMagnesium::Counted {
        elemental_mg_per_dose: round_tenth(amount / label.per_amount * label.elemental_mg),
        basis: format!("{what}, at {per}"),
        assumed_dose,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn index() -> MedicineIndex {
        MedicineIndex::new(&ReferenceData::shipped().unwrap())
    }

    fn recognised(g: &[&str]) -> Identification {
        Identification::Recognised {
            generics: g.iter().map(|s| s.to_string()).collect(),
            product: None,
        }
    }

    fn product(name: &str, g: &[&str]) -> Identification {
        Identification::Recognised {
            generics: g.iter().map(|s| s.to_string()).collect(),
            product: Some(name.to_string()),
        }
    }

    #[test]
    fn identifies_generic_brand_salt_dose_and_combination_names() {
        let idx = index();
        let cases = [
            ("omeprazole", recognised(&["omeprazole"])),
            ("OMEPRAZOLE", recognised(&["omeprazole"])),
            ("Prilosec", recognised(&["omeprazole"])),
            ("Nexium 40 mg", recognised(&["esomeprazole"])),
            ("Nexium 40mg", recognised(&["esomeprazole"])),
            ("Lasix", recognised(&["furosemide"])),
            ("frusemide 40 mg", recognised(&["furosemide"])),
            ("Cipro XR 500mg", recognised(&["ciprofloxacin"])),
            ("doxycycline hyclate 100 mg", recognised(&["doxycycline"])),
            (
                "levothyroxine sodium 50 mcg",
                recognised(&["levothyroxine"]),
            ),
            ("L-thyroxine", recognised(&["levothyroxine"])),
            ("thyroxine 100 micrograms", recognised(&["levothyroxine"])),
            ("ferrous sulphate 200 mg", recognised(&["ferrous sulfate"])),
            ("quetiapine fumarate", recognised(&["quetiapine"])),
            (
                "gabapentin enacarbil",
                recognised(&["gabapentin enacarbil"]),
            ),
            ("Horizant", recognised(&["gabapentin enacarbil"])),
            ("Neurontin", recognised(&["gabapentin"])),
            ("Benadryl", recognised(&["diphenhydramine"])),
            ("Unisom SleepTabs", recognised(&["doxylamine"])),
            ("ferrous sulfate 325 mg", recognised(&["ferrous sulfate"])),
            (
                "lisinopril / hydrochlorothiazide",
                recognised(&["lisinopril", "hydrochlorothiazide"]),
            ),
            ("acetaminophen", recognised(&["paracetamol"])),
            ("tobramycin", recognised(&["tobramycin"])),
            (
                "Tylenol PM",
                product("Tylenol PM", &["paracetamol", "diphenhydramine"]),
            ),
            (
                "Triumeq",
                product("Triumeq", &["dolutegravir", "abacavir", "lamivudine"]),
            ),
            (
                "Maxzide 37.5/25",
                product("Maxzide", &["triamterene", "hydrochlorothiazide"]),
            ),
            (
                "NyQuil",
                product("NyQuil", &["paracetamol", "dextromethorphan", "doxylamine"]),
            ),
            (
                "Milk of Magnesia 30 mL",
                product("Milk of Magnesia", &["magnesium hydroxide"]),
            ),
            (
                "Maalox",
                product(
                    "Maalox",
                    &["aluminium hydroxide", "magnesium hydroxide", "simethicone"],
                ),
            ),
            ("magnesium oxide 400 mg", recognised(&["magnesium oxide"])),
            ("amlodipine 5 mg", recognised(&["amlodipine"])),
        ];
        for (typed, expected) in cases {
            assert_eq!(idx.identify(typed), expected, "{typed}");
        }
    }

    #[test]
    fn look_alike_and_sound_alike_names_are_never_read_as_another_drug() {
        // Pairs from the issue and from published look-alike/sound-alike lists: the typed name
        // must be recognised as itself, or stay unknown with at most a suggestion.
        let idx = index();
        let itself = [
            ("tobramycin", "tobramycin"),
            ("Vibramycin", "doxycycline"),
            ("hydroxyzine", "hydroxyzine"),
            ("hydralazine", ""),
            ("Celexa", "citalopram"),
            ("Celebrex", ""),
            ("Zyprexa", "olanzapine"),
            ("Zyrtec", "cetirizine"),
            ("Lamictal", ""),
            ("Lamisil", ""),
            ("clonidine", ""),
            ("Klonopin", "clonazepam"),
            ("Cipralex", "escitalopram"),
            ("Ciprodex ear drops", ""),
            ("Lasix", "furosemide"),
            ("Losec", "omeprazole"),
            ("Lanoxin", "digoxin"),
            ("levoxyl", "levothyroxine"),
            ("Levaquin", "levofloxacin"),
            ("sertraline", "sertraline"),
            ("Seroquel", "quetiapine"),
            ("Serzone", ""),
        ];
        for (typed, generic) in itself {
            let id = idx.identify(typed);
            if generic.is_empty() {
                assert!(
                    matches!(id, Identification::Unknown { .. }),
                    "{typed} must stay unknown: {id:?}"
                );
            } else {
                assert_eq!(id.generics(), [generic.to_string()], "{typed}: {id:?}");
            }
        }
    }

    #[test]
    fn misspellings_are_suggested_never_applied() {
        let idx = index();
        let cases = [
            ("omeprazol", "omeprazole"),
            ("omeprozole", "omeprazole"),
            ("gabapentine", "gabapentin"),
            ("levothyroxin", "levothyroxine"),
            ("doxycyclin 100mg", "doxycycline"),
            ("furosimide", "furosemide"),
            ("sertralin", "sertraline"),
            ("vibramicin", "doxycycline"),
        ];
        for (typed, generic) in cases {
            match idx.identify(typed) {
                Identification::Unknown { suggestions } => assert!(
                    suggestions.first().is_some_and(|s| s.contains(generic)),
                    "{typed}: {suggestions:?}"
                ),
                other => panic!("{typed}: {other:?}"),
            }
        }
    }

    #[test]
    fn words_that_match_nothing_are_reported() {
        let idx = index();
        match idx.identify("Tylenol 8 HR Arthritis") {
            Identification::PartlyRecognised {
                generics,
                unmatched_words,
                ..
            } => {
                assert_eq!(generics, ["paracetamol"]);
                assert_eq!(unmatched_words, ["hr", "arthritis"]);
            }
            other => panic!("{other:?}"),
        }
        // A salt word alone is not a medicine.
        assert!(matches!(
            idx.identify("sodium"),
            Identification::Unknown { .. }
        ));
    }

    #[test]
    fn unknown_names_are_reported_with_suggestions() {
        let idx = index();
        for typed in ["vitamin b12", "xyzzy", "fish oil"] {
            match idx.identify(typed) {
                Identification::Unknown { suggestions } => {
                    assert!(suggestions.is_empty(), "{typed}: {suggestions:?}")
                }
                other => panic!("{typed}: {other:?}"),
            }
        }
        match idx.identify("omepra") {
            Identification::Unknown { suggestions } => {
                assert!(
                    suggestions.iter().any(|s| s.contains("omeprazole")),
                    "{suggestions:?}"
                )
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn stated_amounts_are_read_in_label_units() {
        let amounts = |t: &str| stated_amounts(t);
        let a = |value: f64, unit| Ok(StatedAmount { value, unit });
        assert_eq!(amounts("Milk of Magnesia 30 mL"), [a(30.0, AmountUnit::Ml)]);
        assert_eq!(amounts("Milk of Magnesia 30ml"), [a(30.0, AmountUnit::Ml)]);
        // 2 tablespoons = 2 x 15 mL (label convention).
        assert_eq!(amounts("MoM 2 tbsp"), [a(30.0, AmountUnit::Ml)]);
        assert_eq!(amounts("Maalox 2 tsp"), [a(10.0, AmountUnit::Ml)]);
        // Fractions and mixed numbers: 2 1/2 tsp = 12.5 mL; 1/2 tsp = 2.5 mL; 1½ tbsp = 22.5.
        assert_eq!(
            amounts("Milk of Magnesia 2 1/2 tsp"),
            [a(12.5, AmountUnit::Ml)]
        );
        assert_eq!(amounts("Maalox 1/2 tsp"), [a(2.5, AmountUnit::Ml)]);
        assert_eq!(amounts("Maalox 1 1/2 tsp"), [a(7.5, AmountUnit::Ml)]);
        assert_eq!(amounts("MoM 1½ tbsp"), [a(22.5, AmountUnit::Ml)]);
        assert_eq!(amounts("MoM ½ tbsp"), [a(7.5, AmountUnit::Ml)]);
        assert_eq!(amounts("MoM 2.5 ml"), [a(2.5, AmountUnit::Ml)]);
        assert_eq!(
            amounts("magnesium citrate solution 10 fl oz"),
            [a(10.0, AmountUnit::FlOz)]
        );
        assert_eq!(amounts("Epsom salt 5 g"), [a(5000.0, AmountUnit::Mg)]);
        assert_eq!(
            amounts("magnesium oxide 400 mg"),
            [a(400.0, AmountUnit::Mg)]
        );
        assert_eq!(amounts("Milk of Magnesia 0 mL"), [Err(AmountNote::Zero)]);
        assert_eq!(amounts("Milk of Magnesia -15 mL"), [Err(AmountNote::Zero)]);
        assert_eq!(
            amounts("MoM 99999999999999999999 mL"),
            [Err(AmountNote::Implausible)]
        );
        // A decimal comma, not a thousands separator.
        assert_eq!(amounts("MoM 1,5 tbsp"), [a(22.5, AmountUnit::Ml)]);
        assert_eq!(amounts("MoM 2,5 ml"), [a(2.5, AmountUnit::Ml)]);
        assert_eq!(
            amounts("magnesium oxide 1,000 mg"),
            [a(1000.0, AmountUnit::Mg)]
        );
        // Other spellings of the same units.
        assert_eq!(amounts("Maalox 30 millilitres"), [a(30.0, AmountUnit::Ml)]);
        assert_eq!(amounts("Maalox 30 cc"), [a(30.0, AmountUnit::Ml)]);
        assert_eq!(amounts("Maalox 3 tbs"), [a(45.0, AmountUnit::Ml)]);
        assert_eq!(amounts("Maalox 4 teaspoonsful"), [a(20.0, AmountUnit::Ml)]);
        assert_eq!(amounts("Maalox 2 dessertspoons"), [a(20.0, AmountUnit::Ml)]);
        assert_eq!(amounts("Mag-Ox 400"), []);
        assert_eq!(amounts("levothyroxine 50 mcg"), []);
    }

    #[test]
    fn doses_per_day_are_read_from_the_entry() {
        let cases = [
            ("magnesium 100 mg twice daily", Some(2)),
            ("Maalox 10 mL four times a day", Some(4)),
            ("Milk of Magnesia 5 mL 4 times a day", Some(4)),
            ("Maalox 10 mL 3x per day", Some(3)),
            ("Maalox 10 mL every 6 hours", Some(4)),
            ("Maalox bid", Some(2)),
            ("magnesium 200 mg daily", Some(1)),
            ("magnesium 200 mg once a day", Some(1)),
            ("Maalox 10 mL", None),
            ("Maalox 5 mL 4x/day", Some(4)),
            ("Maalox x2/day", Some(2)),
            ("Maalox 2/day", Some(2)),
            ("Maalox x4", Some(4)),
            ("Maalox four times", Some(4)),
            ("Maalox q6h", Some(4)),
            ("Maalox q.i.d.", Some(4)),
            ("Maalox b.i.d.", Some(2)),
            ("Maalox q.d.s.", Some(4)),
            ("Maalox every 4-6 hours", Some(6)),
            ("Maalox every other day", Some(1)),
            ("Maalox 2 x 5 ml", None),
            ("Maalox 10 mL three times daily", Some(3)),
        ];
        for (text, want) in cases {
            assert_eq!(stated_doses_per_day(text), want, "{text}");
        }
    }

    #[test]
    fn magnesium_in_medicines_is_counted_from_labels_and_salt_weights() {
        let data = ReferenceData::shipped().unwrap();
        let idx = MedicineIndex::new(&data);
        let forms = crate::forms::FormCatalogue::new(&data);
        let fraction = |id: &str| forms.by_id(id).map(|f| f.elemental_fraction);
        let mg = |typed: &str| match idx.magnesium_per_dose(typed, &idx.identify(typed), fraction) {
            MedicineMagnesium::Counted {
                elemental_mg_per_dose,
                assumed_dose,
                ..
            } => Some((elemental_mg_per_dose, assumed_dose)),
            MedicineMagnesium::NotCounted { .. } => None,
        };
        let close = |got: Option<(f64, bool)>, want: f64, assumed: bool| {
            let (g, a) = got.expect("counted");
            assert!((g - want).abs() < 0.05, "{g} vs {want}");
            assert_eq!(a, assumed);
        };
        // Milk of Magnesia label: 500 mg magnesium per 15 mL; 30 mL -> 1000 mg.
        close(mg("Milk of Magnesia 30 mL"), 1000.0, false);
        // No amount: the label's smallest adult dose, 30 mL -> 1000 mg.
        close(mg("Milk of Magnesia"), 1000.0, true);
        // Maalox label: 85 mg per 5 mL; 2 tsp = 10 mL -> 170 mg.
        close(mg("Maalox 2 tsp"), 170.0, false);
        // Magnesium citrate solution: 290 mg per fl oz; 10 fl oz -> 2900 mg.
        close(
            mg("magnesium citrate oral solution 10 fl oz"),
            2900.0,
            false,
        );
        // 300 mL of it is 300 / 29.5735 fl oz x 290 = 2941.8 mg.
        close(mg("magnesium citrate solution 300 ml"), 2941.8, false);
        // A stated weight of a salt counts as elemental magnesium (the upper reading): 400 mg.
        close(mg("magnesium oxide 400 mg"), 400.0, false);
        close(mg("Epsom salt 5 g"), 5000.0, false);
        close(mg("magnesium trisilicate 500 mg"), 500.0, false);
        // Fractions: 2 1/2 tsp of Milk of Magnesia = 12.5 mL x 500/15 = 416.7 mg.
        close(mg("Milk of Magnesia 2 1/2 tsp"), 416.7, false);
        // "esomeprazole magnesium": the salt of a PPI, not a magnesium product.
        assert_eq!(
            idx.identify("esomeprazole magnesium 40 mg").generics(),
            ["esomeprazole"]
        );
        // The salt reading is named: 400 mg MgO x 24.305 / 40.304 = 241 mg.
        let basis = match idx.magnesium_per_dose(
            "magnesium oxide 400 mg",
            &idx.identify("magnesium oxide 400 mg"),
            fraction,
        ) {
            MedicineMagnesium::Counted { basis, .. } => basis,
            other => panic!("{other:?}"),
        };
        assert!(basis.contains("it gives 241 mg"), "{basis}");
        // Not countable: no stated weight of a salt, no label, unknown content.
        assert_eq!(mg("magnesium oxide"), None);
        assert_eq!(mg("Mag-Ox 400"), None);
        assert_eq!(mg("Mylanta"), None);
        assert_eq!(mg("magnesium citrate solution"), None);
        assert_eq!(mg("Maalox 400 mg"), None);
        assert_eq!(mg("Milk of Magnesia 0 mL"), None);
        assert_eq!(mg("milk of magnesia tablets 2"), None);
    }
}
