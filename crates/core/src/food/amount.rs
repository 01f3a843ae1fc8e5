//! Amounts of a food in the units people think in: mass ("100 g", "1.5 oz", "1 lb"), volume
//! ("1/2 cup", "½ cup", "2 tbsp") and household measures ("1 medium", "2 large biscuits",
//! "1 slice"), with whole numbers, decimals, fractions and mixed numbers.
//!
//! Mass and volume-to-volume conversions use exact definitions; a household or volume unit is
//! only turned into grams through the food's own USDA portion weights. A weight is never guessed:
//! an unknown unit is an error listing the units this food knows.
//!
//! Defaults, always reported in the result:
//! - a unit with several USDA weights that disagree ("1 cup" avocado: cubes 150 g, puréed
//!   230 g, sliced 146 g) uses the measure USDA lists first for the food (SR28's own household
//!   weights, in USDA's sequence, before the SR24 measures) and lists the others as
//!   alternatives; naming one ("1 cup, puréed") picks it.
//! - a unit naming the food itself ("1 banana", "2 eggs") is one medium item where USDA gives
//!   sizes (USDA's reference size), else the food's one size.
//! - an alternative measure inside a USDA description counts as a unit of its own ("1 tsp, or
//!   1 packet" gives the packet).

use super::search::words;
use super::{Food, Portion};
use serde::Serialize;

/// Grams per avoirdupois ounce and pound (exact, by definition).
const GRAMS_PER_OZ: f64 = 28.349_523_125;
const GRAMS_PER_LB: f64 = 453.592_37;
/// Millilitres per US customary cup (exact: 8 US fl oz of 29.5735295625 mL).
const ML_PER_CUP: f64 = 236.588_236_5;
/// Portions that differ by less than this share in weight per unit count as the same.
const SAME_WEIGHT_TOLERANCE: f64 = 0.02;

/// An amount that cannot be used.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AmountError {
    #[error("amount '{0}' has no quantity: start with a number such as 1, 1.5, 1/2, ½ or 1 1/2")]
    NoQuantity(String),
    #[error("amount '{0}': the quantity must be more than 0")]
    NotPositive(String),
    #[error(
        "amount '{0}' has no unit: add g, oz, cup, tbsp, or a household measure such as medium"
    )]
    NoUnit(String),
    #[error("'{unit}' is not a unit known for {food}; known units: {known}")]
    UnknownUnit {
        unit: String,
        food: String,
        known: String,
    },
}

/// A parsed amount: a quantity and the unit words as written.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Amount {
    pub quantity: f64,
    pub unit: String,
}

/// The amount resolved against a food.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ResolvedAmount {
    pub grams: f64,
    /// Magnesium in this amount; `None` when USDA gives no magnesium value for the food.
    pub magnesium_mg: Option<f64>,
    /// How the weight was found ("0.5 x 1 cup = 180 g (SR28)").
    pub via: String,
    /// Other USDA weights of the same unit when they disagree and the default was used
    /// ("1 cup, pureed = 230 g (SR28)"): empty when the unit has one weight.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub alternatives: Vec<String>,
}

fn vulgar(c: char) -> Option<f64> {
    Some(match c {
        '½' => 0.5,
        '⅓' => 1.0 / 3.0,
        '⅔' => 2.0 / 3.0,
        '¼' => 0.25,
        '¾' => 0.75,
        '⅕' => 0.2,
        '⅛' => 0.125,
        '⅜' => 0.375,
        '⅝' => 0.625,
        '⅞' => 0.875,
        '⅙' => 1.0 / 6.0,
        _ => return None,
    })
}

/// A number token: "2", "1.5", ".5", "1/2", "½", "1½".
fn number(token: &str) -> Option<f64> {
    let mut chars = token.chars();
    if let Some(last) = chars.next_back() {
        if let Some(frac) = vulgar(last) {
            let whole = chars.as_str();
            return if whole.is_empty() {
                Some(frac)
            } else {
                whole.parse::<u32>().ok().map(|w| f64::from(w) + frac)
            };
        }
    }
    if let Some((a, b)) = token.split_once('/') {
        let (a, b) = (a.parse::<f64>().ok()?, b.parse::<f64>().ok()?);
        return (b != 0.0).then_some(a / b);
    }
    if token.chars().all(|c| c.is_ascii_digit() || c == '.')
        && token.chars().any(|c| c.is_ascii_digit())
    {
        return token.parse().ok();
    }
    match token {
        "a" | "an" | "one" => Some(1.0),
        "two" => Some(2.0),
        "three" => Some(3.0),
        "half" => Some(0.5),
        "quarter" => Some(0.25),
        _ => None,
    }
}

/// Splits a leading number from letters glued to it ("100g" -> "100 g").
fn spaced(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 4);
    let mut prev_digit = false;
    for c in text.chars() {
        if prev_digit && c.is_alphabetic() {
            out.push(' ');
        }
        prev_digit = c.is_ascii_digit() || vulgar(c).is_some();
        out.push(c);
    }
    out
}

/// Parses "1 1/2 cups", "½ cup", "2 large biscuits", "100g", "half a cup".
pub fn parse_amount(text: &str) -> Result<Amount, AmountError> {
    let normalized = spaced(&text.trim().to_lowercase().replace('-', " "));
    let tokens: Vec<&str> = normalized.split_whitespace().collect();
    let mut quantity = 0.0;
    let mut used = 0;
    for t in &tokens {
        match number(t) {
            // A second number is only a fraction part ("1 1/2"); "half a cup" = 0.5 x 1.
            Some(v) if used == 0 => quantity = v,
            Some(v) if used == 1 && v < 1.0 => quantity += v,
            Some(v) if used == 1 && quantity < 1.0 && v == 1.0 => {}
            _ => break,
        }
        used += 1;
    }
    if used == 0 {
        return Err(AmountError::NoQuantity(text.to_string()));
    }
    if !(quantity.is_finite() && quantity > 0.0) {
        return Err(AmountError::NotPositive(text.to_string()));
    }
    let unit = tokens[used..].join(" ");
    if unit.is_empty() {
        return Err(AmountError::NoUnit(text.to_string()));
    }
    Ok(Amount { quantity, unit })
}

fn mass_unit(unit: &str) -> Option<f64> {
    Some(match unit {
        "g" | "gram" | "grams" | "gm" => 1.0,
        "kg" | "kilogram" | "kilograms" => 1000.0,
        "oz" | "ounce" | "ounces" => GRAMS_PER_OZ,
        "lb" | "lbs" | "pound" | "pounds" => GRAMS_PER_LB,
        _ => return None,
    })
}

/// A volume unit at the start of the words, in cups, and how many words it used.
fn volume_unit(ws: &[String]) -> Option<(f64, usize)> {
    let first = ws.first()?.as_str();
    let second = ws.get(1).map(String::as_str);
    match (first, second) {
        ("fl", Some("oz")) | ("fluid", Some("ounce")) => return Some((1.0 / 8.0, 2)),
        _ => {}
    }
    let cups = match first {
        "cup" | "c" => 1.0,
        "tbsp" | "tablespoon" | "tbs" | "tbl" => 1.0 / 16.0,
        "tsp" | "teaspoon" => 1.0 / 48.0,
        "ml" | "milliliter" | "millilitre" => 1.0 / ML_PER_CUP,
        "l" | "liter" | "litre" => 1000.0 / ML_PER_CUP,
        "pint" | "pt" => 2.0,
        "quart" | "qt" => 4.0,
        _ => return None,
    };
    Some((cups, 1))
}

/// Words that carry no meaning in a unit ("2 large biscuits of", "1 piece, whole").
const UNIT_FILLER: &[&str] = &["of", "a", "an", "the", "x"];

fn unit_words(text: &str) -> Vec<String> {
    words(text)
        .into_iter()
        .filter(|w| !UNIT_FILLER.contains(&w.as_str()))
        .collect()
}

/// The words of a portion description before any parenthesis ("medium (7\" ...)" -> medium).
fn head_words(unit: &str) -> Vec<String> {
    unit_words(unit.split('(').next().unwrap_or(unit))
}

fn describe(p: &Portion) -> String {
    format!(
        "{} {} = {} g ({})",
        trim(p.amount),
        p.unit,
        trim(p.grams),
        p.release
    )
}

fn trim(v: f64) -> String {
    let s = format!("{v:.3}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// The portion to use among candidates with their grams per one unit, and the others when
/// their weights disagree: the first candidate in USDA's order is the default (module docs).
fn pick(candidates: Vec<(&Portion, f64)>) -> Option<((&Portion, f64), Vec<String>)> {
    let &first = candidates.first()?;
    let others: Vec<String> = candidates[1..]
        .iter()
        .filter(|(_, g)| ((g - first.1) / first.1).abs() > SAME_WEIGHT_TOLERANCE)
        .map(|(p, _)| describe(p))
        .collect();
    Some((first, others))
}

/// The note a default adds to `via`.
fn default_note(unit: &str, alternatives: &[String]) -> String {
    if alternatives.is_empty() {
        String::new()
    } else {
        format!(
            "; '{unit}' has several USDA weights for this food: used the first USDA lists (others: {}; name one to use it)",
            alternatives.join("; ")
        )
    }
}

/// Measures given as an alternative inside a USDA description: "1 tsp, or 1 packet" = 5 g
/// also means 1 packet = 5 g.
fn alternate_portions(food: &Food) -> Vec<Portion> {
    food.portions
        .iter()
        .filter_map(|p| {
            let (_, alt) = p.unit.split_once(", or ")?;
            let parsed = parse_amount(alt).ok()?;
            Some(Portion {
                amount: parsed.quantity,
                unit: parsed.unit,
                grams: p.grams / p.amount * parsed.quantity,
                release: p.release.clone(),
            })
        })
        .collect()
}

/// Size words of USDA household measures, the medium (USDA's reference size) first.
const ITEM_SIZES: &[&str] = &["medium", "large", "small"];

/// A unit naming the food itself ("banana" for "Bananas, raw"): one medium item where USDA
/// gives sizes, else the food's only household measure that is not a volume or a mass.
fn whole_item<'a>(food: &'a Food, unit: &[String]) -> Option<&'a Portion> {
    let name = words(&food.name);
    if unit.is_empty() || !unit.iter().all(|w| name.contains(w)) {
        return None;
    }
    let household: Vec<&Portion> = food
        .portions
        .iter()
        .filter(|p| volume_unit(&head_words(&p.unit)).is_none())
        .filter(|p| mass_unit(p.unit.as_str()).is_none() && !p.unit.starts_with("oz"))
        .collect();
    for size in ITEM_SIZES {
        if let Some(p) = household
            .iter()
            .find(|p| head_words(&p.unit).first().map(String::as_str) == Some(size))
        {
            return Some(p);
        }
    }
    match household.as_slice() {
        [only] if !unit_words(&only.unit).iter().any(|w| w == "serving") => Some(only),
        _ => None,
    }
}

/// The units this food knows, for error messages.
pub fn known_units(food: &Food) -> String {
    let mut known = vec!["g, kg, oz, lb".to_string()];
    let has_volume = food
        .portions
        .iter()
        .any(|p| volume_unit(&head_words(&p.unit)).is_some());
    if has_volume {
        known.push("cup, tbsp, tsp, fl oz, ml (from this food's cup weight)".to_string());
    }
    for p in &food.portions {
        if volume_unit(&head_words(&p.unit)).is_none() {
            known.push(format!("{} ({} g)", p.unit, trim(p.grams / p.amount)));
        }
    }
    known.join("; ")
}

/// Resolves an amount to grams and magnesium for one food.
pub fn resolve(food: &Food, amount: &Amount) -> Result<ResolvedAmount, AmountError> {
    let mg = |grams: f64| food.per_100g.magnesium_mg.map(|m| m * grams / 100.0);
    if let Some(g) = mass_unit(amount.unit.as_str()) {
        let grams = amount.quantity * g;
        return Ok(ResolvedAmount {
            grams,
            magnesium_mg: mg(grams),
            via: format!(
                "{} {} = {} g",
                trim(amount.quantity),
                amount.unit,
                trim(grams)
            ),
            alternatives: Vec::new(),
        });
    }
    let ws = unit_words(&amount.unit);
    if ws.is_empty() {
        return Err(AmountError::NoUnit(amount.unit.clone()));
    }
    let unknown = || AmountError::UnknownUnit {
        unit: amount.unit.clone(),
        food: food.name.clone(),
        known: known_units(food),
    };
    // Volume: through a volume portion of this food; qualifiers ("sliced") must appear in it.
    if let Some((cups, used)) = volume_unit(&ws) {
        let qualifiers = &ws[used..];
        let with_volume: Vec<(&Portion, f64, f64, bool)> = food
            .portions
            .iter()
            .filter_map(|p| {
                let hw = head_words(&p.unit);
                let (pcups, pused) = volume_unit(&hw)?;
                let all_words = unit_words(&p.unit);
                if !qualifiers.iter().all(|q| all_words.contains(q)) {
                    return None;
                }
                let same_unit = hw[..pused] == ws[..used];
                let exact = hw.len() == pused + qualifiers.len();
                let grams_per_cup = p.grams / (p.amount * pcups);
                Some((p, grams_per_cup, if same_unit { 1.0 } else { 0.0 }, exact))
            })
            .collect();
        // Prefer portions with exactly the user's words, then the same unit (tbsp for tbsp).
        let best_exact = with_volume.iter().any(|c| c.3);
        let pool: Vec<_> = with_volume.iter().filter(|c| c.3 == best_exact).collect();
        let same: Vec<_> = pool.iter().filter(|c| c.2 > 0.0).collect();
        let chosen: Vec<(&Portion, f64)> = if same.is_empty() {
            pool.iter().map(|c| (c.0, c.1)).collect()
        } else {
            same.iter().map(|c| (c.0, c.1)).collect()
        };
        return match pick(chosen) {
            Some(((p, grams_per_cup), alternatives)) => {
                let grams = amount.quantity * cups * grams_per_cup;
                Ok(ResolvedAmount {
                    grams,
                    magnesium_mg: mg(grams),
                    via: format!(
                        "{} {} from {} = {} g{}",
                        trim(amount.quantity),
                        amount.unit,
                        describe(p),
                        trim(grams),
                        default_note(&amount.unit, &alternatives)
                    ),
                    alternatives,
                })
            }
            None => Err(unknown()),
        };
    }
    // Household measures: every word the user gave must be in the portion's description;
    // portions whose head is exactly those words win ("slice" over "slice, large").
    let alternates = alternate_portions(food);
    let matching: Vec<(&Portion, bool)> = food
        .portions
        .iter()
        .filter(|p| volume_unit(&head_words(&p.unit)).is_none())
        .chain(alternates.iter())
        .filter_map(|p| {
            let all = unit_words(&p.unit);
            ws.iter().all(|w| all.contains(w)).then(|| {
                let mut head = head_words(&p.unit);
                let mut want = ws.clone();
                head.sort();
                want.sort();
                (p, head == want)
            })
        })
        .collect();
    let exact: Vec<(&Portion, f64)> = matching
        .iter()
        .filter(|(_, e)| *e)
        .map(|(p, _)| (*p, p.grams / p.amount))
        .collect();
    let chosen = if exact.is_empty() {
        matching
            .iter()
            .map(|(p, _)| (*p, p.grams / p.amount))
            .collect()
    } else {
        exact
    };
    match pick(chosen) {
        Some(((p, per_unit), alternatives)) => {
            let grams = amount.quantity * per_unit;
            Ok(ResolvedAmount {
                grams,
                magnesium_mg: mg(grams),
                via: format!(
                    "{} x {} = {} g{}",
                    trim(amount.quantity),
                    describe(p),
                    trim(grams),
                    default_note(&amount.unit, &alternatives)
                ),
                alternatives,
            })
        }
        None => match whole_item(food, &ws) {
            Some(p) => {
                let grams = amount.quantity * p.grams / p.amount;
                Ok(ResolvedAmount {
                    grams,
                    magnesium_mg: mg(grams),
                    via: format!(
                        "{} x {} = {} g ('{}' read as one {})",
                        trim(amount.quantity),
                        describe(p),
                        trim(grams),
                        amount.unit,
                        p.unit
                    ),
                    alternatives: Vec::new(),
                })
            }
            None => Err(unknown()),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::food::FoodTable;
    use proptest::prelude::*;
    use std::sync::OnceLock;

    fn table() -> &'static FoodTable {
        static T: OnceLock<FoodTable> = OnceLock::new();
        T.get_or_init(|| FoodTable::shipped().unwrap())
    }

    fn check(ndb: &str, text: &str) -> ResolvedAmount {
        let food = table().by_id(ndb).unwrap();
        resolve(food, &parse_amount(text).unwrap()).unwrap_or_else(|e| panic!("{ndb} {text}: {e}"))
    }

    #[test]
    fn parses_numbers_fractions_and_units() {
        let cases = [
            ("1/2 cup", 0.5, "cup"),
            ("½ cup", 0.5, "cup"),
            ("1½ cups", 1.5, "cups"),
            ("1 1/2 cups", 1.5, "cups"),
            ("1 ½ cups", 1.5, "cups"),
            ("2 tbsp", 2.0, "tbsp"),
            ("0.25 kg", 0.25, "kg"),
            (".5 oz", 0.5, "oz"),
            ("100g", 100.0, "g"),
            ("2 large biscuits", 2.0, "large biscuits"),
            ("a slice", 1.0, "slice"),
            ("half a cup", 0.5, "cup"),
        ];
        for (text, q, unit) in cases {
            let a = parse_amount(text).unwrap();
            assert!((a.quantity - q).abs() < 1e-12, "{text}: {}", a.quantity);
            assert_eq!(a.unit, unit, "{text}");
        }
        for bad in ["cup", "", "0 g", "1/0 cup", "12"] {
            assert!(parse_amount(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn twenty_common_foods_in_household_portions_match_usda() {
        // (NDB, amount, expected grams, expected magnesium mg). Magnesium per 100 g and portion
        // weights are the USDA SR28 values (SR24 where marked); each line shows the arithmetic.
        let cases: &[(&str, &str, f64, f64)] = &[
            // almonds 270 mg/100 g; 1 oz = 28.3495 g -> 76.54 mg
            ("12061", "1 oz", 28.3495, 76.54),
            // spinach boiled 87 mg/100 g; 1 cup = 180 g -> 1/2 cup 90 g -> 78.3 mg
            ("11458", "½ cup", 90.0, 78.3),
            ("11458", "1/2 cup", 90.0, 78.3),
            // banana raw 27 mg/100 g; medium = 118 g (SR24) -> 31.86 mg
            ("09040", "1 medium", 118.0, 31.86),
            // banana, "1 cup sliced" = 150 g -> 40.5 mg
            ("09040", "1 cup sliced", 150.0, 40.5),
            // pumpkin seeds dried 592 mg/100 g; 1 oz portion = 28.35 g (SR28) -> 167.83 mg
            ("12014", "1 oz", 28.3495, 167.83),
            // dark chocolate 70-85 % 228 mg/100 g; 1 bar = 101 g -> 230.28 mg
            ("19904", "1 bar", 101.0, 230.28),
            // black beans cooked 70 mg/100 g; 1 cup = 172 g -> 120.4 mg
            ("16015", "1 cup", 172.0, 120.4),
            // avocado 29 mg/100 g; 1 cup cubes = 150 g -> 43.5 mg
            ("09037", "1 cup cubes", 150.0, 43.5),
            // brown rice cooked 39 mg/100 g; 1 cup = 202 g -> 78.78 mg
            ("20037", "1 cup", 202.0, 78.78),
            // whole milk 10 mg/100 g; 1 cup = 244 g -> 24.4 mg
            ("01077", "1 cup", 244.0, 24.4),
            // whole milk 1 fl oz = 30.5 g -> 8 fl oz = 244 g -> 24.4 mg
            ("01077", "8 fl oz", 244.0, 24.4),
            // salmon farmed raw 27 mg/100 g; 3 oz portion = 85 g (SR28) -> 3 oz by mass 85.05 g
            ("15236", "3 oz", 85.0485, 22.96),
            // whole-wheat bread 75 mg/100 g; 1 slice = 32 g -> 24 mg
            ("18075", "1 slice", 32.0, 24.0),
            // egg raw 12 mg/100 g; 1 large = 50 g -> 6 mg
            ("01123", "1 large", 50.0, 6.0),
            // peanut butter smooth 168 mg/100 g; 2 tbsp = 32 g -> 53.76 mg
            ("16098", "2 tbsp", 32.0, 53.76),
            // cashews dry roasted 260 mg/100 g; 1 oz = 28.3495 g -> 73.71 mg
            ("12585", "1 oz", 28.3495, 73.71),
            // edamame prepared 64 mg/100 g; 1 cup = 155 g -> 99.2 mg
            ("11212", "1 cup", 155.0, 99.2),
            // potato baked flesh and skin 28 mg/100 g; 1 medium = 173 g -> 48.44 mg
            ("11674", "1 medium", 173.0, 48.44),
            // yogurt plain low fat 17 mg/100 g; 1 cup (8 fl oz) = 245 g -> 41.65 mg
            ("01117", "1 cup", 245.0, 41.65),
            // apple raw with skin 5 mg/100 g; 1 medium = 182 g -> 9.1 mg
            ("09003", "1 medium", 182.0, 9.1),
            // broccoli boiled 21 mg/100 g; 1/2 cup chopped = 78 g -> 16.38 mg
            ("11091", "1/2 cup chopped", 78.0, 16.38),
            // lentils cooked 36 mg/100 g; 1 cup = 198 g -> 71.28 mg
            ("16070", "1 cup", 198.0, 71.28),
            // raisins 32 mg/100 g; 1 lb = 453.592 g -> 145.15 mg
            ("09298", "1 lb", 453.59237, 145.15),
        ];
        for &(ndb, text, grams, mg) in cases {
            let r = check(ndb, text);
            assert!(
                (r.grams - grams).abs() < 0.01,
                "{ndb} {text}: {} g ({})",
                r.grams,
                r.via
            );
            let got = r.magnesium_mg.unwrap();
            assert!((got - mg).abs() < 0.01, "{ndb} {text}: {got} mg");
        }
    }

    #[test]
    fn unknown_units_list_the_known_ones_and_nothing_is_guessed() {
        let food = table().by_id("12061").unwrap(); // almonds
        let err = resolve(food, &parse_amount("1 handful").unwrap()).unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("'handful' is not a unit known for Nuts, almonds"),
            "{text}"
        );
        assert!(text.contains("g, kg, oz, lb"), "{text}");
        assert!(text.contains("cup"), "{text}");
    }

    #[test]
    fn disagreeing_portions_use_usdas_first_measure_and_list_the_others() {
        // Avocado (09037): USDA lists 1 cup, cubes = 150 g (SR28 seq 1), 1 cup, pureed = 230 g
        // (SR28 seq 2), 1 cup, sliced = 146 g (SR24). "1/2 cup" -> 0.5 x 150 = 75 g, and
        // magnesium 29 mg/100 g x 75 g = 21.75 mg.
        let r = check("09037", "1/2 cup");
        assert!((r.grams - 75.0).abs() < 1e-9, "{}", r.via);
        assert!((r.magnesium_mg.unwrap() - 21.75).abs() < 1e-9);
        assert_eq!(
            r.alternatives,
            [
                "1 cup, pureed = 230 g (SR28)",
                "1 cup, sliced = 146 g (SR24)"
            ]
        );
        assert!(r.via.contains("used the first USDA lists"), "{}", r.via);
        // Naming one picks it: 0.5 x 230 = 115 g.
        let r = check("09037", "1/2 cup pureed");
        assert!((r.grams - 115.0).abs() < 1e-9, "{}", r.via);
        assert!(r.alternatives.is_empty());
        // Banana (09040): 1 cup, mashed = 225 g (SR28 seq 1), 1 cup, sliced = 150 g.
        let r = check("09040", "1 cup");
        assert!((r.grams - 225.0).abs() < 1e-9);
        assert_eq!(r.alternatives, ["1 cup, sliced = 150 g (SR28)"]);
    }

    #[test]
    fn household_units_come_from_the_foods_own_measures() {
        // (NDB, amount, expected grams): USDA portion weights, per unit = grams / amount.
        let cases: &[(&str, &str, f64)] = &[
            ("15237", "1 fillet", 356.0),  // salmon: 0.5 fillet = 178 g
            ("15086", "2 fillets", 620.0), // sockeye: 0.5 fillet = 155 g -> 2 x 310
            ("07064", "2 links", 46.0),    // pork sausage: 1 link = 23 g
            ("18069", "2 slices", 58.0),   // white bread: 1 slice = 29 g
            ("18009", "1 biscuit", 35.0),  // biscuit (2-1/2" dia) = 35 g (SR24)
            ("03216", "3 biscuits", 33.0), // teething biscuit = 11 g
            ("19335", "1 packet", 2.8),    // sugar: serving, packet = 2.8 g
            ("14214", "1 packet", 2.0),    // instant coffee: packet = 2 g
            ("02046", "1 packet", 5.0),    // mustard: "1 tsp, or 1 packet" = 5 g
            ("19904", "1 bar", 101.0),     // dark chocolate bar
            ("09040", "1 banana", 118.0),  // the food named: one medium banana (SR24)
            ("01123", "2 eggs", 88.0),     // one medium egg = 44 g (SR24)
            ("09037", "1 avocado", 201.0), // the only item measure: 1 avocado = 201 g
        ];
        for &(ndb, text, grams) in cases {
            let r = check(ndb, text);
            assert!(
                (r.grams - grams).abs() < 1e-9,
                "{ndb} {text}: {} g ({})",
                r.grams,
                r.via
            );
        }
        // No piece measure for dark chocolate: an error listing what it knows.
        let food = table().by_id("19904").unwrap();
        let err = resolve(food, &parse_amount("1 piece").unwrap()).unwrap_err();
        assert!(err.to_string().contains("bar (101 g)"), "{err}");
    }

    #[test]
    fn volume_converts_through_the_foods_own_cup_weight() {
        // Black beans: 1 cup = 172 g, so 2 tbsp = 2/16 cup = 21.5 g.
        let r = check("16015", "2 tbsp");
        assert!((r.grams - 21.5).abs() < 1e-9, "{}", r.grams);
    }

    proptest! {
        #[test]
        fn amount_parser_never_panics(s in "\\PC{0,24}") {
            let _ = parse_amount(&s);
        }

        #[test]
        fn grams_scale_linearly_with_quantity(q in 1u32..400) {
            let food = table().by_id("09040").unwrap();
            let one = resolve(food, &parse_amount("1 medium").unwrap()).unwrap().grams;
            let many = resolve(food, &parse_amount(&format!("{q} medium")).unwrap()).unwrap().grams;
            prop_assert!((many - one * f64::from(q)).abs() < 1e-9);
        }
    }
}
