//! Food search: prefix and typo tolerant, any word order finds the same foods, ranked from the
//! structure of USDA food names so that the food a person means comes first.
//!
//! The vocabulary of name words is an `fst` map (the crate behind ripgrep's and tantivy's term
//! dictionaries), queried with prefix automata; for typos a typing-error distance scan of the
//! words sharing the first letter, and for a typo in the first letter a few dozen whole-word
//! probes; postings map each word to the foods that contain it.
//!
//! Ranking follows the way USDA SR28 long descriptions are built (SR28 documentation,
//! sr28_doc.pdf, Food Description file; and as the names themselves show): the food's common
//! name first, then comma-separated qualifiers for variety, part, processing and preparation;
//! brand names written in capitals:
//!
//! - **head food**: the first comma segment names the food, unless it is a class ("Nuts",
//!   "Fish", "Beverages"; then the second one does) or the second segment restates it as a
//!   compound ("Milk, buttermilk"). A query naming the head weighs more, head words the query
//!   leaves unnamed cost more than later qualifiers ("Bread, oatmeal" is bread), and a query
//!   that is exactly the head ("peanut butter"), or the head and its variety of an inverted
//!   name ("sour cream": "Cream, sour"), gains most. In meat names the cut may stand anywhere
//!   ("Pork, cured, bacon"), but a use ("Beef, chuck for stew") names nothing.
//! - **coverage**: every query word should be found (exact, plural-aware, as a cooking-method
//!   synonym, as the noun of an adjective, as the last part of a compound head word, as a prefix
//!   or with a typo); a missing word costs a whole match, in proportion to its length.
//! - **default state**: a phrase that names no state means the food raw, plain, unprepared --
//!   or cooked where that is how the food is eaten (meat, fish, legumes, grains, potatoes; in
//!   every group once in one); everyday words whose USDA name differs are read in their everyday
//!   meaning ("oatmeal" = cooked oats). Processing (frozen, canned, dried) costs where the food
//!   also comes without it, and never for foods sold that way (frozen entrees).
//! - **derived products** (oil, butter, flour, powder, bar, soup, ...) rank below the food unless
//!   the query names them; **branded** items below generic ones unless a brand word is typed.
//! - **word order** only matters for the head noun: the last query word naming the head's last
//!   word ("chocolate milk" is milk) gains a little.
//! - weak priors: USDA's generic markers ("regular", "composite", "all types", "year round
//!   average", "whole" for a whole animal), the number of household measures USDA gives, and
//!   `data/food/common.tsv`.
//!
//! Every weight is a named constant below. [`FoodIndex::best_match`] adds the acceptance rule a
//! caller applies before it uses the first hit for a diary entry: a weak match is refused.

use super::{Food, FoodTable};
use fst::automaton::Str;
use fst::{Automaton, IntoStreamer, Map, MapBuilder, Streamer};
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, HashSet};

/// Slack for skipping a food by its upper bound: far above float rounding, far below any
/// weight, so a food tied with the last kept one is always scored (ties are then ordered by
/// name length and id).
const BOUND_MARGIN: f32 = 1e-3;

/// A score ordered by `total_cmp`, for the top-scores heap.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Score(f32);

impl Eq for Score {}

impl PartialOrd for Score {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Score {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0.total_cmp(&other.0)
    }
}

/// Weight of a query word that equals a name word (after plural stemming).
const EXACT: f32 = 3.0;
/// Weight of a cooking-method synonym ("grilled" finds "broiled") or of a word of an everyday
/// meaning: a little below the word as typed, so a name with the very word wins a tie.
const SYNONYM: f32 = 2.7;
/// Weight of a query word that begins a name word ("pumpk" -> "pumpkin").
const PREFIX: f32 = 2.0;
/// Weight of a query word that is itself a name word and also begins longer ones ("coffee" ->
/// "coffeecake"): the person typed a whole word, so the longer words are other foods.
const PREFIX_OF_WHOLE_WORD: f32 = 1.2;
/// Weight of a query word one edit from a name word ("expresso" -> "espresso").
const TYPO: f32 = 1.0;
/// Weight of a query word within the typo allowance of a name word only with two edits or of its
/// beginning ("expresso" -> "expressed"): the closer spelling is the likelier word.
const FAR_TYPO: f32 = 0.7;
/// Bonus when the query names the head food (once per food, so a long head such as "Chicken
/// breast tenders" gains nothing from matching more of it).
const HEAD_BONUS: f32 = 1.5;
/// Bonus when the query names only the segment after the head, the variety ("Cheese,
/// cheddar"): less than the head, more than a later qualifier.
const VARIETY_BONUS: f32 = 0.8;
/// Bonus when the query is exactly the head food: every head word named and every query word in
/// the head ("egg rolls" -> "Egg rolls, pork", not "Rolls, dinner, egg").
const WHOLE_HEAD_BONUS: f32 = 1.0;
/// Penalty for the head words the query does not name, scaled by their share of the head:
/// "Bread, oatmeal" is bread, not what "oatmeal" means. Equal to the variety bonus, so naming the
/// variety alone ("cheddar") is neutral.
const UNNAMED_HEAD_PENALTY: f32 = 0.8;
/// Penalty per unnamed qualifier word beyond the head: among equal matches the plainer food wins
/// ("Tofu, raw, firm" before a name with six more qualifiers). Counted for at most
/// [`QUALIFIERS_COUNTED`] words: USDA's long names are long for precision ("Beef, composite of
/// trimmed retail cuts, ..."), not because the food is unusual.
const QUALIFIER_PENALTY: f32 = 0.1;
const QUALIFIERS_COUNTED: u32 = 5;
/// Penalty for a derived product (oil, butter, flour, bar, soup, ...) or a by-product (organ
/// meats) in the head or variety the query does not name: close to a whole exact match, so
/// "walnuts" finds the nuts, not "Oil, walnut".
const DERIVED_PENALTY: f32 = 2.5;
/// The same word in a later qualifier describes a part of the food ("Pizza, cheese topping,
/// regular crust"): a smaller cost.
const DERIVED_QUALIFIER_PENALTY: f32 = 0.3;
/// Penalty per unnamed word added to the food ("Cheese, cottage, with vegetables"): the food
/// without additions is the default. Fortification ("with added vitamin D") is free.
const ADDITION_PENALTY: f32 = 0.3;
/// Bonus when the query is exactly a later segment of the name ("half and half" -> "Cream,
/// fluid, half and half"): half the whole-head bonus.
const WHOLE_SEGMENT_BONUS: f32 = 0.5;
/// Bonus when the last query word is the last word of the head: in English compounds the last
/// word is the food ("chocolate milk" is milk, "milk chocolate" chocolate).
const HEAD_NOUN_BONUS: f32 = 0.5;
/// Penalty when the food's state is not the default one and the query names no state: a
/// cooked food for "spinach", a raw grain for "lentils".
const DEFAULT_STATE_PENALTY: f32 = 1.0;
/// Penalty when the food's state contradicts the state the query names (raw for "baked").
const STATE_MISMATCH_PENALTY: f32 = 1.5;
/// Penalty when the query names one cooking method and the name gives another as well or
/// instead ("boiled" for "baked"); "cooked" itself is generic and free.
const OTHER_METHOD_PENALTY: f32 = 0.3;
/// Penalty per unnamed processing word (frozen, canned, dried, smoked, ...) when the same food
/// also comes unprocessed: the unprocessed food is the default.
const PROCESSED_PENALTY: f32 = 1.2;
/// The same when the food comes unprocessed but never raw ("Milk, canned" beside "Milk,
/// whole"; dishes sold canned or frozen): a smaller cost.
const PROCESSED_NOT_FRESH_PENALTY: f32 = 0.4;
/// Penalty for foods made for institutions ("USDA Commodity, ...", "School Lunch, ..."):
/// specific procurement products, not what a person buys.
const INSTITUTIONAL_PENALTY: f32 = 0.8;
/// Class heads of institutional foods.
const INSTITUTIONAL_HEADS: &[&str] = &["usda commodity", "school lunch"];
/// Penalty per unnamed variant word (low, reduced, light, diet, nonfat, ...): the regular food
/// is the default.
const VARIANT_PENALTY: f32 = 0.6;
/// Penalty for added salt ("with salt", "salted", "salt added") the query does not name.
const SALTED_PENALTY: f32 = 0.4;
/// Bonus for USDA's markers of the generic entry ("regular", "composite", "all types",
/// "mixed species", "year round average", "plain", "original", "commercially prepared"), for
/// up to [`GENERIC_COUNTED`] of them.
const GENERIC_BONUS: f32 = 0.4;
const GENERIC_COUNTED: u32 = 2;
/// Bonus per household measure USDA gives for the food, up to [`MEASURES_COUNTED`]: the forms
/// people eat often tend to have more measures (cup, slice, medium, ...) than rare ones. A weak
/// prior, below every rule weight.
const MEASURE_BONUS: f32 = 0.06;
const MEASURES_COUNTED: usize = 6;
/// Penalty for a branded item when its brand is not typed: generic foods first, even when the
/// branded name is the plainer one ("Beverages, ZEVIA, cola").
const BRANDED_PENALTY: f32 = 2.5;
/// Penalty per query word that a fallback (partial) match leaves unmatched (a whole match and its
/// head bonus), scaled by the word's length against the phrase's average word length.
const MISSING_WORD_PENALTY: f32 = 4.0;
/// Near-tie breaker for the foods in `data/food/common.tsv`: smaller than every rule above except
/// the per-qualifier penalty, so it decides only between otherwise equal foods.
const COMMON_TIE_BREAK: f32 = 0.25;
/// USDA groups people rarely mean by a plain word, with their penalty. Fast-food and restaurant
/// entries are the generic form of many dishes ("hamburger"), so their penalty is mild.
const GROUP_PENALTIES: &[(&str, f32)] = &[
    ("0300", 2.5), // baby foods
    ("2100", 0.3), // fast foods
    ("3600", 0.3), // restaurant foods
    ("3500", 1.5), // American Indian / Alaska Native foods (specific preparations)
    ("2200", 0.3), // meals, entrees and side dishes
];
/// SR28 groups whose foods are eaten cooked although USDA lists them raw or dry first: poultry
/// (0500), sausages (0700), breakfast cereals (0800: hot cereals), pork (1000), beef (1300),
/// fish and shellfish (1500), legumes (1600), lamb, veal and game (1700), cereal grains and
/// pasta (2000). "lentils" means cooked lentils, "salmon" cooked salmon; vegetables and fruit
/// stay raw.
const COOKED_BY_DEFAULT_GROUPS: &[&str] = &[
    "0500", "0700", "0800", "1000", "1300", "1500", "1600", "1700", "2000",
];
/// SR28 groups whose foods are sold frozen or canned ("Meals, entrees and side dishes": "Beef
/// stew, canned entree"): processing is how they come, so it costs nothing.
const SOLD_PROCESSED_GROUPS: &[&str] = &["2200"];
/// The SR28 group of nuts and seeds.
const NUTS_AND_SEEDS_GROUP: &str = "1200";
/// Meat groups, whose names put the animal first and the cut later ("Beef, top sirloin,
/// steak"): a query naming the cut names the food wherever the cut stands.
const CUT_GROUPS: &[&str] = &["0500", "1000", "1300", "1700"];
/// Vegetables not eaten raw (the head of their USDA name, stemmed): cooked by default too.
const COOKED_BY_DEFAULT_HEADS: &[&str] = &["potato", "sweet potato", "yam", "cassava", "taro"];
/// First segments that name a class of foods, not the food: the food is the second segment
/// (stemmed words, joined by spaces).
const CLASS_HEADS: &[&str] = &[
    "nut",
    "seed",
    "fish",
    "spice",
    "beverage",
    "cereal",
    "cereal ready to eat",
    "babyfood",
    "snack",
    "crustacean",
    "mollusk",
    "game meat",
    "alcoholic beverage",
    "infant formula",
    "fast food",
    "restaurant",
    "usda commodity",
    "sweetener",
    "leavening agent",
    "candy",
    "school lunch",
    "carbonated beverage",
];
/// Second-level classes after a class head ("Restaurant, Chinese, fried rice").
const CLASS_SUBHEADS: &[&str] = &[
    "chinese",
    "italian",
    "mexican",
    "latino",
    "family style",
    "pizza chain",
];
/// Letters each part of a compound word must have to count as a compound ("cow" + "pea",
/// "butter" + "milk"; not "s" + "oil"): the compound restates a head it ends with ("Milk,
/// buttermilk"), and a compound head word is found by its last part ("pea": "Cowpeas").
const MIN_COMPOUND_PART: usize = 3;
/// Marks the hidden word the index adds for the last part of a compound head word ("cowpea" is
/// also found as "~pea"): a character no name word has.
const COMPOUND_TAIL_MARK: char = '~';

/// Acceptance: the share of the query a match must cover to be used without asking (every word
/// found, or three of four). A prefix or typo counts for less than a whole word, below.
pub const MIN_COVERAGE: f32 = 0.75;
/// Coverage credit of a word found only as the beginning of a name word, when it has at least
/// [`MIN_PREFIX_LETTERS`] letters ("almon" -> "almonds").
const PREFIX_CREDIT: f32 = 0.9;
/// A shorter prefix ("x", "ba") says too little to log a food from.
const MIN_PREFIX_LETTERS: usize = 4;
/// A word of fewer letters ("x", "ab") says too little to log a food from, even when some name
/// has it; numbers ("2" in "2% milk") are exempt.
const MIN_WORD_LETTERS: usize = 3;
/// Coverage credit of a short prefix or short word: below [`MIN_COVERAGE`], so it is never
/// accepted alone.
const SHORT_CREDIT: f32 = 0.3;
/// Coverage credit of a word found only within the typo allowance ("almnd"): accepted.
const TYPO_CREDIT: f32 = 0.8;
/// How many foods a refusal lists (and a terminal offers to choose from).
pub const CLOSEST_LISTED: usize = 5;

/// Cooking-method synonyms: a query word finds the others of its group. USDA names a method by
/// how it heats ("dry heat", "moist heat"); people say grilled, baked, boiled. Words are in
/// stemmed form; "dryheat"/"moistheat" are the joined tokens of [`words`].
const METHOD_SYNONYMS: &[&[&str]] = &[
    &["grilled", "broiled", "grill", "broil"],
    &["baked", "roasted", "dryheat", "bake", "roast"],
    &[
        "boiled",
        "moistheat",
        "boil",
        "cooked",
        "simmered",
        "stewed",
        "steamed",
    ],
    &["steamed", "moistheat", "boiled", "cooked"],
    &["poached", "moistheat", "cooked"],
];
/// Adjective endings that make an adjective of a noun ("herbal" from "herb"): a query word so
/// made also finds the noun (when the noun keeps at least [`MIN_PREFIX_LETTERS`] letters).
const ADJECTIVE_SUFFIXES: &[&str] = &["al"];
/// Everyday words whose USDA name differs: the query is also read with the word replaced by
/// these words (stemmed as the index is). Meanings from the USDA names of the foods the words
/// denote.
const EVERYDAY_MEANINGS: &[(&str, &[&str])] = &[
    ("oatmeal", &["oat", "cooked"]), // "Cereals, oats, ..., cooked with water"
    ("porridge", &["oat", "cooked"]), // the same food in British usage
    ("fry", &["potato", "french", "fried"]), // "fries": "Potatoes, french fried, ..."
    ("yoghurt", &["yogurt"]),
    ("ketchup", &["catsup"]),              // USDA spells it "Catsup"
    ("soda", &["carbonated", "beverage"]), // "Beverages, carbonated, ..."
    ("bell", &["sweet"]),                  // bell peppers: "Peppers, sweet, ..."
    ("spaghetti", &["pasta"]),             // plain spaghetti is "Pasta, cooked, ..."
    ("toast", &["bread", "toasted"]),      // "Bread, white, ..., toasted"
    ("diet", &["low", "calorie"]),         // "Beverages, carbonated, low calorie, cola ..."
    ("iced", &["ready", "drink"]),         // bought cold: "Beverages, tea, black, ready to drink"
];

/// Derived products and components: below the food itself unless the query names them.
const DERIVED: &[&str] = &[
    "oil",
    "butter",
    "flour",
    "powder",
    "bar",
    "creamer",
    "soup",
    "substitute",
    "snack",
    "crumb",
    "fried",
    "juice",
    "sauce",
    "spread",
    "syrup",
    "paste",
    "mix",
    "chip",
    "cake",
    "cooky",
    "cracker",
    "pie",
    "drink",
    "nectar",
    "jam",
    "jelly",
    "gravy",
    "pudding",
    "muffin",
    "puff",
    "meal",
    "puree",
    "meatless",
    "imitation",
    "shell",
    "wrapper",
    "crust",
    "filling",
    "topping",
    "dough",
    "relish",
    "analog",
    "sandwich",
    "salad",
    "burrito",
    "casserole",
    "nugget",
    "stick",
    "breading",
    "tender",
    // by-products: USDA's "variety meats and by-products"
    "giblet",
    "gizzard",
    "heart",
    "liver",
    "kidney",
    "tongue",
    "brain",
    "lung",
    "spleen",
    "pancrea",
    "tripe",
    "feet",
    "thymus",
    "chitterling",
    "mechanically",
];
/// Derived words that say what became of the food rather than name a product: derived even
/// before another word ("Fried chicken", "Imitation crab").
const DERIVED_STATES: &[&str] = &["fried", "meatless", "imitation", "mechanically"];
/// Cooking methods (a cooked state).
const COOKING: &[&str] = &[
    "cooked",
    "boiled",
    "baked",
    "roasted",
    "broiled",
    "grilled",
    "steamed",
    "stewed",
    "braised",
    "simmered",
    "microwaved",
    "poached",
    "scrambled",
    "dryheat",
    "moistheat",
    "prepared",
    "brewed",
    "heated",
    "sauteed",
    "precooked",
];
/// The raw state ("crude": unprocessed, "Wheat germ, crude").
const RAW: &[&str] = &["raw", "uncooked", "crude"];
/// Forms meant to be prepared first ("as purchased" for frozen foods cooked at home,
/// "concentrate" to be diluted).
const UNPREPARED: &[&str] = &[
    "unprepared",
    "dry",
    "unheated",
    "purchased",
    "concentrate",
    "condensed",
];
/// Processing a fresh food has not had ("toasted": a ready food browned, not cooked to be
/// edible: bread, nuts, wheat germ).
const PROCESSED: &[&str] = &[
    "toasted",
    "frozen",
    "canned",
    "dried",
    "dehydrated",
    "smoked",
    "pickled",
    "cured",
    "sweetened",
    "glazed",
    "candied",
    "fermented",
    "defatted",
    "distilled",
    "breaded",
    "battered",
    "seasoned",
    "prepackaged",
    "refrigerated",
    "ground",
];
/// Variants of the regular food.
const VARIANT: &[&str] = &[
    "low",
    "reduced",
    "light",
    "lite",
    "diet",
    "free",
    "nonfat",
    "lowfat",
    "decaffeinated",
    "instant",
    "flavor",
    "flavored",
    "seasoning",
];
/// USDA's markers of the generic entry ("mixed" only in "mixed species"; "unspecified fat
/// content", "type unspecified": not further specified).
const GENERIC: &[&str] = &[
    "regular",
    "composite",
    "all",
    "average",
    "plain",
    "original",
    "standard",
    "commercially",
    "commercial",
    "unspecified",
];
/// Words that only connect or restate the default ("fresh", "whole"): no cost when unnamed.
const NEUTRAL: &[&str] = &[
    "with",
    "without",
    "and",
    "or",
    "in",
    "of",
    "to",
    "for",
    "from",
    "the",
    "a",
    "added",
    "only",
    "fresh",
    "type",
    "ready",
    "eat",
    "includes",
    "include",
    "ns",
    "nfs",
    "not",
    "no",
    "drained",
    "solid",
    "whole",
    "made",
    "enriched",
    "unenriched",
    "fortified",
    "unfortified",
    "as",
    // The shape the same food is cut to ("Cheese, parmesan, grated").
    "sliced",
    "chopped",
    "diced",
    "grated",
    "shredded",
    "cubed",
];
/// Words after which a derived word is an ingredient, not what the food is ("made with butter";
/// also before "added": "butter added").
const INGREDIENT_MARKERS: &[&str] = &["with", "in", "from", "made", "includes", "include"];
/// Query words that only connect others ("macaroni and cheese"): not required to match.
const CONNECTORS: &[&str] = &["and", "or", "with", "of", "the", "a", "an", "in", "&"];
/// Upper-case words that are abbreviations, not brands.
const NOT_BRANDS: &[&str] = &["usda", "us", "dha", "ara", "ns", "nfs", "uht", "ii", "iii"];

/// Lower-case alphanumeric words with a light plural stemmer (both the index and queries use it,
/// so "seeds" and "seed", "berries" and "berry" meet). USDA's two-word methods "dry heat" and
/// "moist heat" become one word each ("dryheat", "moistheat") so a method synonym finds them.
pub fn words(text: &str) -> Vec<String> {
    tokens(text).into_iter().map(|t| t.word).collect()
}

/// A word of a text, stemmed; whether it was written in capitals (a brand in USDA names) and
/// whether it stands in parentheses (an explanation in USDA names).
struct Token {
    word: String,
    capitals: bool,
    parens: bool,
}

fn tokens(text: &str) -> Vec<Token> {
    let mut out: Vec<Token> = Vec::new();
    let mut depth = 0u32;
    // The word so far, lower-cased, and whether it had letters and lower-case ones.
    let mut current = String::new();
    let (mut letters, mut lower) = (0usize, false);
    let mut push = |word: &mut String, letters: usize, lower: bool, depth: u32| {
        if word.is_empty() {
            return;
        }
        let capitals = letters >= 2 && !lower;
        let mut word = std::mem::take(word);
        stem_in_place(&mut word);
        if word == "heat" {
            if let Some(prev) = out.last_mut() {
                if prev.word == "dry" || prev.word == "moist" {
                    prev.word.push_str("heat");
                    return;
                }
            }
        }
        out.push(Token {
            word,
            capitals,
            parens: depth > 0,
        });
    };
    for c in text.chars() {
        if c.is_alphanumeric() {
            if c.is_alphabetic() {
                letters += 1;
            }
            if c.is_lowercase() {
                lower = true;
                current.push(c);
            } else {
                current.extend(c.to_lowercase());
            }
            continue;
        }
        push(&mut current, letters, lower, depth);
        (letters, lower) = (0, false);
        match c {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    push(&mut current, letters, lower, depth);
    out
}

/// Plural stemming, with "-ie" and "-ies" both to "-y" so that "cookie" and "cookies" (like
/// "berry" and "berries") meet.
fn stem(w: &str) -> String {
    let mut w = w.to_string();
    stem_in_place(&mut w);
    w
}

/// [`stem`] in place.
fn stem_in_place(w: &mut String) {
    let n = w.chars().count();
    if n > 4 && w.ends_with("ies") {
        w.truncate(w.len() - 3);
        w.push('y');
    } else if n > 4 && w.ends_with("ie") {
        w.truncate(w.len() - 2);
        w.push('y');
    } else if n > 4
        && ["ches", "shes", "sses", "xes", "oes"]
            .iter()
            .any(|s| w.ends_with(s))
    {
        w.truncate(w.len() - 2);
    } else if n > 3 && w.ends_with('s') && !w.ends_with("ss") && !w.ends_with("us") {
        w.truncate(w.len() - 1);
    }
}

/// Vowels, whose confusion is the commonest misspelling ("tofoo" for "tofu").
const VOWELS: &[char] = &['a', 'e', 'i', 'o', 'u', 'y'];

/// The typing-error distance from `query` to `term`, in half edits: a letter for another, one
/// missing or one too many costs 2, but a vowel for a vowel, a doubled letter typed once
/// ("brocoli") or a letter typed twice ("bannana") costs 1 -- the commonest misspellings.
/// `Some(whole)` when some beginning of `term` is within `max` (`whole`: the cost of the whole
/// term, above `max` when only a beginning is close), `None` otherwise. Rows of the distance
/// table over the term's letters, stopped once every cell exceeds `max`.
fn typo_cost(query: &[char], term: &str, max: u32, scratch: &mut TypoScratch) -> Option<u32> {
    let TypoScratch { row, next, letters } = scratch;
    letters.clear();
    letters.extend(term.chars());
    // Cost of dropping query letter j (typed once too often when it repeats the letter before).
    let drop = |j: usize| {
        if j > 0 && query[j - 1] == query[j] {
            1
        } else {
            2
        }
    };
    row.clear();
    row.push(0);
    for j in 0..query.len() {
        let v = row[j] + drop(j);
        row.push(v);
    }
    let mut best = row[query.len()];
    for (i, &t) in letters.iter().enumerate() {
        // Cost of adding term letter i (a doubled letter typed once).
        let add = if i > 0 && letters[i - 1] == t { 1 } else { 2 };
        next.clear();
        next.push(row[0] + add);
        for (j, &c) in query.iter().enumerate() {
            let substitute = row[j]
                + if c == t {
                    0
                } else if VOWELS.contains(&c) && VOWELS.contains(&t) {
                    1
                } else {
                    2
                };
            let v = substitute.min(row[j + 1] + add).min(next[j] + drop(j));
            next.push(v);
        }
        best = best.min(next[query.len()]);
        if next.iter().all(|&v| v > max) {
            return (best <= max).then_some(u32::MAX);
        }
        std::mem::swap(row, next);
    }
    (best <= max).then_some(row[query.len()])
}

/// Reused buffers of [`typo_cost`].
#[derive(Default)]
struct TypoScratch {
    row: Vec<u32>,
    next: Vec<u32>,
    letters: Vec<char>,
}

/// A typo in the first letter is corrected only in words of at least this many letters, to a
/// whole word of at least as many, one edit away: shorter words have too many neighbours.
const MIN_FIRST_LETTER_TYPO: usize = 5;

/// The words one edit in the first letter away from `q` ("lmonds" -> "almonds", "valmond",
/// "slmond", "lamond"), of at least [`MIN_FIRST_LETTER_TYPO`] letters: looked up as whole
/// words, a few dozen dictionary probes instead of a scan of the vocabulary.
fn first_letter_typos(q: &str) -> Vec<String> {
    let mut chars = q.chars();
    let Some(first) = chars.next() else {
        return Vec::new();
    };
    let rest = chars.as_str();
    let mut out = vec![rest.to_string()];
    let mut second = rest.chars();
    if let Some(c) = second.next() {
        out.push(format!("{c}{first}{}", second.as_str()));
    }
    for c in 'a'..='z' {
        if c != first {
            out.push(format!("{c}{rest}"));
        }
        out.push(format!("{c}{q}"));
    }
    out.retain(|t| t.chars().count() >= MIN_FIRST_LETTER_TYPO);
    out
}

/// Typo allowance by word length: none below 4 letters, 1 up to 7, 2 from 8.
fn typo_distance(word: &str) -> u32 {
    match word.chars().count() {
        0..=3 => 0,
        4..=7 => 1,
        _ => 2,
    }
}

/// What a name word says about the food, for the cost of leaving it unnamed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Plain,
    Neutral,
    Generic,
    Derived,
    Cooking,
    /// "cooked", "prepared": a cooked state without a method.
    CookedGeneric,
    Raw,
    Unprepared,
    Processed,
    Variant,
    Salted,
    /// Added to the food ("with vegetables").
    Addition,
    /// The use the food is meant for ("Beef, chuck for stew"): it does not name the food.
    Purpose,
    Brand,
}

/// The kind of name word `i` of one comma segment, from the word and its neighbours.
fn classify(ws: &[Token], i: usize, all_capitals: bool) -> Kind {
    let w = ws[i].word.as_str();
    let prev = i.checked_sub(1).map(|p| ws[p].word.as_str());
    let next = ws.get(i + 1).map(|t| t.word.as_str());
    if ws[i].capitals && !all_capitals && !NOT_BRANDS.contains(&w) {
        return Kind::Brand;
    }
    let base = word_kinds().get(w).copied();
    let before = &ws[..i];
    let absent = before
        .iter()
        .any(|t| matches!(t.word.as_str(), "without" | "no" | "unsalted"));
    let alternative = (prev == Some("or") || next == Some("or")) && base != Some(Kind::Derived);
    if before.iter().any(|t| t.word == "for") {
        return Kind::Purpose;
    }
    if ws[i].parens || alternative || absent || w.chars().all(|c| c.is_ascii_digit()) {
        // An explanation, another name for the same food ("hazelnuts or filberts"), something
        // the food is without, or a number.
        return Kind::Neutral;
    }
    if w == "salt" || w == "salted" {
        return match prev {
            Some("low" | "reduced" | "not") => Kind::Neutral,
            _ if next == Some("not") => Kind::Neutral,
            _ if w == "salted" || prev == Some("with") || next == Some("added") => Kind::Salted,
            _ => Kind::Plain,
        };
    }
    if w == "dry" && next == Some("roasted") {
        return Kind::Neutral;
    }
    if w == "fat" && matches!(prev, Some("separable" | "rendered")) {
        return Kind::Derived; // "composite of separable fat": the trimmings, not the meat
    }
    if w == "mixed" && next == Some("specy") {
        return Kind::Generic;
    }
    if w == "water" || w == "milk" {
        // "cooked with water" is how, "Nuts, coconut water" is what.
        return if matches!(prev, Some("with" | "in" | "of" | "tap" | "distilled")) {
            Kind::Neutral
        } else {
            Kind::Plain
        };
    }
    if w == "prepared" && matches!(next, Some("with" | "from")) {
        // "prepared with water" is reconstituted; "prepared with calcium sulfate" is made with.
        let reconstituted = ws[i + 1..]
            .iter()
            .any(|t| matches!(t.word.as_str(), "water" | "milk"));
        return if reconstituted {
            Kind::CookedGeneric
        } else {
            Kind::Neutral
        };
    }
    let with_at = before.iter().rposition(|t| t.word == "with");
    if base.is_none() && with_at.is_none() {
        return Kind::Plain; // the common case, without the context scans below
    }
    // "prepared with tap water", "cooked with water": how the food was prepared, not which.
    let preparation = with_at.is_some_and(|at| {
        matches!(
            at.checked_sub(1).map(|p| ws[p].word.as_str()),
            Some("cooked" | "prepared")
        )
    });
    if base.is_none() && preparation {
        return Kind::Neutral;
    }
    let addition = with_at.is_some_and(|at| {
        !matches!(
            ws.get(at + 1).map(|t| t.word.as_str()),
            Some("added" | "salt")
        ) && !matches!(
            at.checked_sub(1).map(|p| ws[p].word.as_str()),
            Some("cooked" | "prepared" | "made")
        )
    });
    let ingredient = before
        .iter()
        .any(|t| INGREDIENT_MARKERS.contains(&t.word.as_str()))
        || ws[i + 1..].iter().any(|t| t.word == "added");
    match base {
        Some(Kind::Derived) if ingredient || next == Some("type") => Kind::Plain,
        Some(Kind::Generic) if w == "year" && next != Some("round") => Kind::Plain,
        Some(kind) => kind,
        None if addition => Kind::Addition,
        None => Kind::Plain,
    }
}

/// The kind of each listed word, built once (the first list naming a word decides).
fn word_kinds() -> &'static FastMap<&'static str, Kind> {
    static KINDS: std::sync::OnceLock<FastMap<&'static str, Kind>> = std::sync::OnceLock::new();
    KINDS.get_or_init(|| {
        let lists: [(&[&str], Kind); 9] = [
            (&["cooked", "prepared"], Kind::CookedGeneric),
            (DERIVED, Kind::Derived),
            (COOKING, Kind::Cooking),
            (RAW, Kind::Raw),
            (UNPREPARED, Kind::Unprepared),
            (PROCESSED, Kind::Processed),
            (VARIANT, Kind::Variant),
            (GENERIC, Kind::Generic),
            (NEUTRAL, Kind::Neutral),
        ];
        let mut map = FastMap::default();
        for (words, kind) in lists {
            for w in words {
                map.entry(*w).or_insert(kind);
            }
        }
        map.entry("year").or_insert(Kind::Generic); // "year round average"
        map.entry("round").or_insert(Kind::Neutral);
        map
    })
}

/// The state a query names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Unnamed,
    Raw,
    Cooked,
}

/// One name word of a food as indexed.
#[derive(Debug, Clone, Copy)]
struct NameWord {
    term: u32,
    /// The word names the head food (see [`HEAD_BONUS`]).
    head: bool,
    /// The word is in the segment after the head (see [`VARIETY_BONUS`]).
    variety: bool,
    /// Comma segment, capped at 31 (for a bit mask).
    segment: u8,
    kind: Kind,
}

/// Per-food facts for scoring, from the name and the table: 24 bytes, so that scoring many
/// candidates touches little memory.
#[derive(Debug, Clone, Copy, Default)]
struct FoodFacts {
    prior: f32,
    /// The plain head words' terms as bits ([`term_bit`]): with the query's terms, how many of
    /// them a query can name at most (exact when [`HEAD_SIGNATURE_EXACT`]).
    head_signature: u64,
    /// The last word of the head, plain or derived ("butter" in "Peanut butter"; see
    /// [`HEAD_NOUN_BONUS`]); [`NO_TERM`] if none.
    head_noun: u32,
    flags: u16,
    /// Plain words naming the head food, and the comma segment that names it.
    head_len: u8,
    head_segment: u8,
    /// USDA generic markers in the name, up to [`GENERIC_COUNTED`].
    generic: u8,
    /// Brand words in the name (up to 255), and the most times one term occurs among them: a
    /// query matching few terms cannot type half of a long brand.
    brand_words: u8,
    brand_repeat: u8,
}

const NO_TERM: u32 = u32::MAX;
/// [`FoodFacts::flags`] bits.
const BRANDED: u16 = 1;
/// Meat: a cut named anywhere names the food ([`CUT_GROUPS`]).
const CUT_ANYWHERE: u16 = 1 << 1;
/// Eaten cooked: no cost for cooking words, a cost for raw ones.
const COOKED_BY_DEFAULT: u16 = 1 << 2;
/// The same head food comes raw in the table: processing and cooking are choices.
const FRESH_FORM: u16 = 1 << 3;
/// The same head food comes cooked in the table.
const COOKED_FORM: u16 = 1 << 4;
/// The same head food comes without processing (frozen, canned, ...) in the table.
const UNPROCESSED_FORM: u16 = 1 << 5;
/// The name has a cooking or uncooked state word.
const HAS_STATE: u16 = 1 << 6;
/// The name has a cooking word: an unprepared form in it was prepared ("Lemonade, frozen
/// concentrate, prepared with water").
const PREPARED: u16 = 1 << 7;
/// Branded with no brand word in the name (an all-capitals FDC Branded description): the brand
/// cannot be typed, so the branded penalty always applies.
const BRAND_UNTYPABLE: u16 = 1 << 8;
/// The head food is itself a derived product ("Cookies", "Peanut butter").
const DERIVED_HEAD: u16 = 1 << 9;
/// Every plain head word has a term of its own and a bit of its own in
/// [`FoodFacts::head_signature`].
const HEAD_SIGNATURE_EXACT: u16 = 1 << 10;

/// A term's bit in a 64-bit signature.
fn term_bit(term: u32) -> u64 {
    1 << (term.wrapping_mul(0x9E37_79B1) >> 26)
}

impl FoodFacts {
    fn has(&self, flag: u16) -> bool {
        self.flags & flag != 0
    }

    fn set(&mut self, flag: u16, on: bool) {
        if on {
            self.flags |= flag;
        }
    }
}

/// A search index over a food table.
pub struct FoodIndex {
    terms: Map<Vec<u8>>,
    postings: Vec<Vec<u32>>,
    /// Every food's name words in name order, flattened; food `i` owns
    /// `name_words[offsets[i]..offsets[i + 1]]` (one allocation, cache-friendly scoring).
    name_words: Vec<NameWord>,
    offsets: Vec<u32>,
    facts: Vec<FoodFacts>,
}

/// Weights of the name words matching one query word, dense by term id (0 = no match).
struct WordMatch {
    weights: Vec<f32>,
    terms: Vec<u32>,
    /// Coverage credit of a prefix match of this word.
    prefix_credit: f32,
    /// The word's weight in the coverage: its length in characters.
    letters: f32,
    /// A word too short to say what food is meant (see [`MIN_WORD_LETTERS`]).
    short: bool,
}

impl WordMatch {
    fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }

    /// The best weight any of the word's terms gives.
    fn best(&self) -> f32 {
        self.terms
            .iter()
            .map(|&t| self.weights[t as usize])
            .fold(0.0, f32::max)
    }

    /// Coverage credit of a match of weight `w` (see [`MIN_COVERAGE`]).
    fn credit(&self, w: f32) -> f32 {
        if w <= 0.0 {
            0.0
        } else if self.short {
            SHORT_CREDIT
        } else if w >= SYNONYM {
            1.0
        } else if w == PREFIX || w == PREFIX_OF_WHOLE_WORD {
            self.prefix_credit
        } else {
            TYPO_CREDIT
        }
    }
}

/// One ranked result: the index of the food in the table, its score, and the share of the
/// query its name covers (0-1; see [`MIN_COVERAGE`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Hit {
    pub food: usize,
    pub score: f32,
    pub coverage: f32,
}

/// The food to use for a phrase, or a refusal with the closest foods.
#[derive(Debug, Clone, PartialEq)]
pub enum BestMatch {
    /// The first hit covers enough of the phrase to be used.
    Accepted(Hit),
    /// The best match covers too little of the phrase (or nothing matches): the closest foods,
    /// best first, at most [`CLOSEST_LISTED`], for the person to choose from.
    Weak { closest: Vec<Hit> },
}

/// A failure to build the index (only possible with malformed term data).
#[derive(Debug, thiserror::Error)]
#[error("building the food search index: {0}")]
pub struct IndexError(#[from] fst::Error);

/// A query prepared for scoring.
struct Query {
    matched: Vec<WordMatch>,
    /// The most any food can score from the query's words and the bonuses: with a food's
    /// static part, an upper bound that lets scoring skip foods that cannot reach the top.
    bound: f32,
    state: State,
    /// The query names a specific cooking method (not only "cooked").
    method: bool,
    /// The bits of every term the query's words match ([`term_bit`]), and of those the last
    /// word matches.
    signature: u64,
    last_signature: u64,
    /// How many terms the query's words match, together.
    terms_matched: u32,
    /// The best weight each query word can score.
    best: Vec<f32>,
    /// The query's words in order, connectors and repeats kept, as term ids, when the query
    /// words lose some and each is a name word: a later segment of exactly these words names the
    /// food ("half and half": "Cream, fluid, half and half").
    phrase: Vec<u32>,
}

impl Query {
    /// The missing-word cost ([`MISSING_WORD_PENALTY`]) of a food that has only the query words
    /// in `has` (bit i for word i), with the weights of the others it cannot score.
    fn lacking_cost(&self, has: u32) -> f32 {
        let letters: f32 = self.matched.iter().map(|m| m.letters).sum();
        let (mut weights, mut missing_letters) = (0.0, 0.0);
        for (i, m) in self.matched.iter().enumerate().take(32) {
            if has & (1 << i) == 0 {
                weights += self.best[i];
                missing_letters += m.letters;
            }
        }
        if letters > 0.0 {
            weights + MISSING_WORD_PENALTY * self.matched.len() as f32 * missing_letters / letters
        } else {
            weights
        }
    }
}

/// A hash map and set with a fast hasher (foldhash), for building the index.
type FastMap<K, V> = HashMap<K, V, foldhash::fast::RandomState>;
type FastSet<K> = HashSet<K, foldhash::fast::RandomState>;

/// What forms one head food comes in, across the table.
#[derive(Debug, Clone, Copy, Default)]
struct HeadForms {
    /// Raw or fresh.
    fresh: bool,
    cooked: bool,
    /// Without processing (frozen, canned, ...).
    unprocessed: bool,
    /// In a group eaten cooked, or a vegetable never eaten raw ([`COOKED_BY_DEFAULT_GROUPS`],
    /// [`COOKED_BY_DEFAULT_HEADS`]).
    eaten_cooked: bool,
}

/// [`Vocabulary::finish`]: the term dictionary, the postings by term, each old id's new id.
type FinishedVocabulary = (Map<Vec<u8>>, Vec<Vec<u32>>, Vec<u32>);

/// The name words while the index is built: each word once, with the foods that have it.
#[derive(Default)]
struct Vocabulary {
    ids: FastMap<String, u32>,
    words: Vec<String>,
    postings: Vec<Vec<u32>>,
}

impl Vocabulary {
    /// The word's id (in order of first use), recording that `food` has it.
    fn add(&mut self, word: &str, food: u32) -> u32 {
        let id = match self.ids.get(word) {
            Some(&id) => id,
            None => {
                let id = self.words.len() as u32;
                self.ids.insert(word.to_string(), id);
                self.words.push(word.to_string());
                self.postings.push(Vec::new());
                id
            }
        };
        self.post(id, food);
        id
    }

    fn post(&mut self, id: u32, food: u32) {
        let list = &mut self.postings[id as usize];
        if list.last() != Some(&food) {
            list.push(food);
        }
    }

    fn word(&self, id: u32) -> &str {
        &self.words[id as usize]
    }

    /// The hidden word for the longest last part of word `id` that is a word itself, both parts
    /// of at least [`MIN_COMPOUND_PART`] letters ("cowpea" -> "~pea"; see
    /// [`COMPOUND_TAIL_MARK`]).
    fn compound_tail(&mut self, id: u32) -> Option<u32> {
        let word = self.words[id as usize].clone();
        let tail = word
            .char_indices()
            .map(|(at, _)| at)
            .filter(|&at| {
                word[..at].chars().count() >= MIN_COMPOUND_PART
                    && word[at..].chars().count() >= MIN_COMPOUND_PART
            })
            .find(|&at| self.ids.contains_key(&word[at..]))?;
        let hidden = format!("{COMPOUND_TAIL_MARK}{}", &word[tail..]);
        Some(match self.ids.get(&hidden) {
            Some(&h) => h,
            None => {
                let h = self.words.len() as u32;
                self.ids.insert(hidden.clone(), h);
                self.words.push(hidden);
                self.postings.push(Vec::new());
                h
            }
        })
    }

    /// The term dictionary (ids in sorted word order, as an fst needs), the postings by those
    /// ids, and the new id of each old one.
    fn finish(self) -> Result<FinishedVocabulary, IndexError> {
        let mut order: Vec<u32> = (0..self.words.len() as u32).collect();
        order.sort_unstable_by(|&a, &b| self.words[a as usize].cmp(&self.words[b as usize]));
        let mut renumber = vec![0u32; order.len()];
        let mut builder = MapBuilder::memory();
        let mut postings: Vec<Vec<u32>> = Vec::with_capacity(order.len());
        let mut lists = self.postings;
        for (new, &old) in order.iter().enumerate() {
            renumber[old as usize] = new as u32;
            builder.insert(&self.words[old as usize], new as u64)?;
            postings.push(std::mem::take(&mut lists[old as usize]));
        }
        Ok((Map::new(builder.into_inner()?)?, postings, renumber))
    }
}

/// A food name split into comma segments of classified tokens.
type Segments = Vec<(Vec<Token>, Vec<Kind>)>;

fn segments_of(food: &Food) -> (Segments, bool) {
    let all_capitals =
        food.name.chars().any(char::is_alphabetic) && !food.name.chars().any(char::is_lowercase);
    let nuts_and_seeds = food.group.as_deref() == Some(NUTS_AND_SEEDS_GROUP);
    let sold_processed = food
        .group
        .as_deref()
        .is_some_and(|g| SOLD_PROCESSED_GROUPS.contains(&g));
    let meat = food
        .group
        .as_deref()
        .is_some_and(|g| CUT_GROUPS.contains(&g));
    let segments = food
        .name
        .split([',', ';'])
        .enumerate()
        .map(|(segment, part)| {
            let ts = tokens(part);
            let kinds = (0..ts.len())
                .map(|k| match classify(&ts, k, all_capitals) {
                    // USDA's nuts and seeds are "dried" in their raw state ("Seeds, chia seeds,
                    // dried"), roasted or toasted otherwise.
                    Kind::Processed if nuts_and_seeds && ts[k].word == "dried" => Kind::Raw,
                    Kind::Processed if sold_processed => Kind::Neutral,
                    // In meat names "whole" right after the animal is the whole carcass
                    // ("Turkey, whole, meat only"), the generic entry beside its parts.
                    Kind::Neutral
                        if meat && segment == 1 && ts.len() == 1 && ts[k].word == "whole" =>
                    {
                        Kind::Generic
                    }
                    kind => kind,
                })
                .collect();
            (ts, kinds)
        })
        .collect();
    (segments, all_capitals)
}

impl FoodIndex {
    pub fn build(table: &FoodTable) -> Result<Self, IndexError> {
        let mut vocabulary = Vocabulary::default();
        let mut name_words: Vec<NameWord> = Vec::with_capacity(table.foods.len() * 16);
        let mut offsets = Vec::with_capacity(table.foods.len() + 1);
        offsets.push(0u32);
        let mut facts = Vec::with_capacity(table.foods.len());
        // Each food's head, as an index into `forms`.
        let mut heads: Vec<usize> = Vec::with_capacity(table.foods.len());
        let mut head_ids: FastMap<String, usize> = FastMap::default();
        let mut forms: Vec<HeadForms> = Vec::new();
        let common: FastSet<&str> = table.common.iter().map(String::as_str).collect();
        // Each head word's compound tail (see below), by its term.
        let mut tails: FastMap<u32, Option<u32>> = FastMap::default();
        for (i, food) in table.foods.iter().enumerate() {
            let (segments, all_capitals) = segments_of(food);
            // The head food: the first segment, or the second when the first is a class or
            // only a brand ("KELLOGG'S, Corn Flakes Crumbs").
            let text = |k: usize| -> String {
                let words: Vec<&str> = segments[k].0.iter().map(|t| t.word.as_str()).collect();
                words.join(" ")
            };
            let first = text(0);
            let brand_only = |k: usize| segments[k].1.iter().all(|k| *k == Kind::Brand);
            // A second segment whose word is a compound of the first's last word restates it:
            // the first is then the class ("Milk, buttermilk"; "Bread, cornbread").
            let restated = segments.len() > 1
                && segments[0].0.last().is_some_and(|last| {
                    segments[1].0.iter().any(|t| {
                        !t.parens
                            && t.word.len() >= last.word.len() + MIN_COMPOUND_PART
                            && t.word.ends_with(last.word.as_str())
                    })
                });
            let mut head_segment = usize::from(
                (CLASS_HEADS.contains(&first.as_str()) || brand_only(0) || restated)
                    && segments.len() > 1,
            );
            while head_segment > 0
                && head_segment + 1 < segments.len()
                && (CLASS_SUBHEADS.contains(&text(head_segment).as_str())
                    || brand_only(head_segment))
            {
                head_segment += 1;
            }
            let start = name_words.len();
            for (segment, (ts, kinds)) in segments.iter().enumerate() {
                // The head ends where its ingredients begin ("Soy sauce made from soy and
                // wheat" is soy sauce).
                let mut in_head = segment == head_segment;
                for (t, kind) in ts.iter().zip(kinds) {
                    let kind = if segment < head_segment && *kind != Kind::Brand {
                        Kind::Neutral
                    } else {
                        *kind
                    };
                    in_head &= !INGREDIENT_MARKERS.contains(&t.word.as_str());
                    name_words.push(NameWord {
                        term: vocabulary.add(&t.word, i as u32),
                        head: in_head,
                        // (An explanation in parentheses is not the variety.)
                        variety: segment == head_segment + 1 && !t.parens,
                        segment: segment.min(31) as u8,
                        kind,
                    });
                }
            }
            let ws = &mut name_words[start..];
            // In a compound head the last noun is the food: a derived noun before it only says
            // which ("Salad dressing" is a dressing, not a salad).
            let noun = ws
                .iter()
                .rposition(|w| w.head && matches!(w.kind, Kind::Plain | Kind::Derived));
            if let Some(noun) = noun {
                for w in &mut ws[..noun] {
                    if w.head
                        && w.kind == Kind::Derived
                        && !DERIVED_STATES.contains(&vocabulary.word(w.term))
                    {
                        w.kind = Kind::Plain;
                    }
                }
            }
            let head_key: Vec<&str> = segments[head_segment]
                .0
                .iter()
                .filter(|t| !t.parens)
                .map(|t| t.word.as_str())
                .collect();
            let head_key = head_key.join(" ");
            let has = |kinds: &[Kind]| ws.iter().any(|w| kinds.contains(&w.kind));
            let cooked = has(&[Kind::Cooking, Kind::CookedGeneric]);
            let state = has(&[
                Kind::Cooking,
                Kind::CookedGeneric,
                Kind::Raw,
                Kind::Unprepared,
            ]);
            let group = food.group.as_deref().unwrap_or("");
            let eaten_cooked = COOKED_BY_DEFAULT_GROUPS.contains(&group)
                || COOKED_BY_DEFAULT_HEADS.contains(&head_key.as_str());
            let next_head = forms.len();
            let head = *head_ids.entry(head_key).or_insert(next_head);
            if head == forms.len() {
                forms.push(HeadForms::default());
            }
            let form = &mut forms[head];
            form.fresh |= has(&[Kind::Raw]);
            form.cooked |= cooked;
            form.unprocessed |= !has(&[Kind::Processed]);
            // A food eaten cooked in one group is eaten cooked in every group ("Lima beans,
            // immature seeds" among the vegetables, mature ones among the legumes).
            form.eaten_cooked |= eaten_cooked;
            heads.push(head);
            let brand_words = has(&[Kind::Brand]);
            let branded = all_capitals || food.release.contains("branded") || brand_words;
            let mut f = FoodFacts {
                prior: food_prior(food, &common)
                    - if INSTITUTIONAL_HEADS.contains(&first.as_str()) {
                        INSTITUTIONAL_PENALTY
                    } else {
                        0.0
                    },
                head_noun: noun.map_or(NO_TERM, |k| ws[k].term),
                head_signature: 0,
                brand_words: 0,
                brand_repeat: 0,
                flags: 0,
                head_len: ws
                    .iter()
                    .filter(|w| w.head && w.kind == Kind::Plain)
                    .count()
                    .min(255) as u8,
                head_segment: head_segment.min(31) as u8,
                generic: ws
                    .iter()
                    .filter(|w| w.kind == Kind::Generic)
                    .count()
                    .min(GENERIC_COUNTED as usize) as u8,
            };
            f.set(BRANDED, branded);
            f.set(BRAND_UNTYPABLE, branded && !brand_words);
            f.set(CUT_ANYWHERE, CUT_GROUPS.contains(&group));
            f.set(HAS_STATE, state);
            f.set(PREPARED, cooked);
            f.set(
                DERIVED_HEAD,
                noun.is_some_and(|k| ws[k].kind == Kind::Derived),
            );
            facts.push(f);
            offsets.push(name_words.len() as u32);
        }
        // Compound head words ("cowpea", "chickpea", "walnut") are also found by their last
        // part, a word of its own ("pea"): through a hidden word, so the compound's foods come
        // when the part is typed, below the foods named by the word itself. (After every food,
        // so that every word is known; the hidden words go at the end of the name words.)
        let mut hidden: Vec<(usize, NameWord)> = Vec::new();
        for food in 0..facts.len() {
            for w in &name_words[offsets[food] as usize..offsets[food + 1] as usize] {
                if !(w.head && w.kind == Kind::Plain) {
                    continue;
                }
                let tail = *tails
                    .entry(w.term)
                    .or_insert_with(|| vocabulary.compound_tail(w.term));
                if let Some(tail) = tail {
                    hidden.push((
                        food,
                        NameWord {
                            term: tail,
                            head: false,
                            variety: false,
                            segment: w.segment,
                            kind: Kind::Neutral,
                        },
                    ));
                }
            }
        }
        if !hidden.is_empty() {
            let mut merged = Vec::with_capacity(name_words.len() + hidden.len());
            let mut merged_offsets = Vec::with_capacity(offsets.len());
            merged_offsets.push(0u32);
            let mut next = hidden.into_iter().peekable();
            for food in 0..facts.len() {
                merged.extend_from_slice(
                    &name_words[offsets[food] as usize..offsets[food + 1] as usize],
                );
                while let Some((_, w)) = next.next_if(|(f, _)| *f == food) {
                    vocabulary.post(w.term, food as u32);
                    merged.push(w);
                }
                merged_offsets.push(merged.len() as u32);
            }
            name_words = merged;
            offsets = merged_offsets;
        }
        let (terms, postings, renumber) = vocabulary.finish()?;
        for w in &mut name_words {
            w.term = renumber[w.term as usize];
        }
        for (food, (f, head)) in facts.iter_mut().zip(&heads).enumerate() {
            let form = forms[*head];
            f.set(COOKED_BY_DEFAULT, form.eaten_cooked);
            f.set(FRESH_FORM, form.fresh);
            f.set(COOKED_FORM, form.cooked);
            f.set(UNPROCESSED_FORM, form.unprocessed);
            if f.head_noun != NO_TERM {
                f.head_noun = renumber[f.head_noun as usize];
            }
            let ws = &name_words[offsets[food] as usize..offsets[food + 1] as usize];
            let head_terms = ws.iter().filter(|w| w.head && w.kind == Kind::Plain);
            f.head_signature = head_terms.clone().fold(0, |sig, w| sig | term_bit(w.term));
            f.set(
                HEAD_SIGNATURE_EXACT,
                f.head_signature.count_ones() as usize == head_terms.count(),
            );
            let mut brand_terms: Vec<u32> = ws
                .iter()
                .filter(|w| w.kind == Kind::Brand)
                .map(|w| w.term)
                .collect();
            f.brand_words = brand_terms.len().min(255) as u8;
            brand_terms.sort_unstable();
            f.brand_repeat = brand_terms
                .chunk_by(|a, b| a == b)
                .map(<[u32]>::len)
                .max()
                .unwrap_or(0)
                .min(255) as u8;
        }
        Ok(Self {
            terms,
            postings,
            name_words,
            offsets,
            facts,
        })
    }

    fn words_of(&self, food: usize) -> &[NameWord] {
        &self.name_words[self.offsets[food] as usize..self.offsets[food + 1] as usize]
    }

    /// Name words matching one query word, with their weights. Typo matching runs only when
    /// the word matches no name word exactly or as a prefix: a word that exists is taken as
    /// typed (and the typo scan, the costly part, runs only when needed).
    fn matches(&self, q: &str) -> WordMatch {
        let letters = q.chars().count();
        let mut m = WordMatch {
            weights: vec![0.0; self.postings.len()],
            terms: Vec::new(),
            prefix_credit: if letters >= MIN_PREFIX_LETTERS {
                PREFIX_CREDIT
            } else {
                SHORT_CREDIT
            },
            letters: letters as f32,
            short: letters < MIN_WORD_LETTERS && !q.chars().all(|c| c.is_ascii_digit()),
        };
        let put = |m: &mut WordMatch, id: u64, w: f32| {
            let slot = &mut m.weights[id as usize];
            if *slot == 0.0 {
                m.terms.push(id as u32);
            }
            if w > *slot {
                *slot = w;
            }
        };
        let whole_word = self.terms.get(q).is_some();
        let mut stream = self.terms.search(Str::new(q).starts_with()).into_stream();
        while let Some((term, id)) = stream.next() {
            let w = if term == q.as_bytes() {
                EXACT
            } else if whole_word {
                PREFIX_OF_WHOLE_WORD
            } else {
                PREFIX
            };
            put(&mut m, id, w);
        }
        // A food named by a compound ending with the word ("pea": "Cowpeas"), through the
        // hidden tail word the index adds to it (see [`COMPOUND_TAIL_MARK`]).
        if let Some(id) = self.terms.get(format!("{COMPOUND_TAIL_MARK}{q}")) {
            put(&mut m, id, SYNONYM);
        }
        // An adjective made from a noun ("herbal" tea is "herb" tea).
        for suffix in ADJECTIVE_SUFFIXES {
            if let Some(noun) = q.strip_suffix(suffix) {
                if noun.chars().count() >= MIN_PREFIX_LETTERS {
                    if let Some(id) = self.terms.get(noun) {
                        put(&mut m, id, SYNONYM);
                    }
                }
            }
        }
        for group in METHOD_SYNONYMS.iter().filter(|g| g.contains(&q)) {
            for syn in group.iter().filter(|s| **s != q) {
                if let Some(id) = self.terms.get(syn) {
                    put(&mut m, id, SYNONYM);
                }
            }
        }
        let d = typo_distance(q);
        if d > 0 && m.is_empty() {
            // Typos after the first letter: only the words sharing it are compared (a
            // twentieth of the vocabulary; a Levenshtein automaton for two edits costs more to
            // build than this whole scan).
            let query: Vec<char> = q.chars().collect();
            let first: String = query[..1].iter().collect();
            let mut stream = self
                .terms
                .search(Str::new(&first).starts_with())
                .into_stream();
            let mut scratch = TypoScratch::default();
            while let Some((term, id)) = stream.next() {
                if let Ok(term) = std::str::from_utf8(term) {
                    if let Some(whole) = typo_cost(&query, term, 2 * d, &mut scratch) {
                        put(&mut m, id, if whole <= 2 { TYPO } else { FAR_TYPO });
                    }
                }
            }
        }
        if m.is_empty() && q.chars().count() >= MIN_FIRST_LETTER_TYPO {
            for term in first_letter_typos(q) {
                if let Some(id) = self.terms.get(&term) {
                    put(&mut m, id, TYPO);
                }
            }
        }
        m
    }

    fn prepare(&self, qwords: &[String]) -> Query {
        let is_cooking = |w: &str| {
            COOKING.contains(&w) || w == "fried" || METHOD_SYNONYMS.iter().any(|g| g.contains(&w))
        };
        let cooking = qwords.iter().any(|w| is_cooking(w));
        let raw = qwords
            .iter()
            .any(|w| RAW.contains(&w.as_str()) || UNPREPARED.contains(&w.as_str()));
        let state = match (cooking, raw) {
            (true, _) => State::Cooked,
            (false, true) => State::Raw,
            _ => State::Unnamed,
        };
        let matched: Vec<WordMatch> = qwords.iter().map(|q| self.matches(q)).collect();
        let best: Vec<f32> = matched.iter().map(WordMatch::best).collect();
        let best_weights: f32 = best.iter().sum();
        Query {
            bound: best_weights + HEAD_BONUS + WHOLE_HEAD_BONUS + HEAD_NOUN_BONUS,
            state,
            method: qwords
                .iter()
                .any(|w| is_cooking(w) && w != "cooked" && w != "prepared"),
            phrase: Vec::new(),
            signature: matched
                .iter()
                .flat_map(|m| m.terms.iter())
                .fold(0, |sig, &t| sig | term_bit(t)),
            last_signature: matched
                .last()
                .map_or(0, |m| m.terms.iter().fold(0, |sig, &t| sig | term_bit(t))),
            terms_matched: matched.iter().map(|m| m.terms.len() as u32).sum(),
            best,
            matched,
        }
    }

    /// The term ids of all the words of `query` in order (see [`Query::phrase`]), when the
    /// query words lose some of them (a connector or a repeated word): otherwise the words
    /// themselves already say it.
    fn phrase(&self, query: &str, qwords: &[String]) -> Vec<u32> {
        let all = words(query);
        if all.len() < 2 || all.len() == qwords.len() {
            return Vec::new();
        }
        all.iter()
            .map(|w| self.terms.get(w).map(|id| id as u32))
            .collect::<Option<Vec<u32>>>()
            .unwrap_or_default()
    }

    /// Whether a segment of the name other than the head's is exactly `phrase`.
    fn segment_is_phrase(name: &[NameWord], phrase: &[u32], head_segment: u8) -> bool {
        name.chunk_by(|a, b| a.segment == b.segment).any(|segment| {
            segment[0].segment != head_segment
                && segment.len() == phrase.len()
                && segment.iter().zip(phrase).all(|(w, t)| w.term == *t)
        })
    }

    /// Other readings of the query: everyday meanings (also of a word typed with a typo) and
    /// two words written as one USDA word ("soy milk" -> "soymilk", "hot dog" -> "hotdog").
    fn readings(
        &self,
        qwords: &[String],
        hyphenated: &[(String, String)],
    ) -> Vec<(Vec<String>, f32)> {
        let mut out = Vec::new();
        // (position, meaning) of every word read in its everyday meaning.
        let mut meanings: Vec<(usize, &[&str])> = Vec::new();
        // A reading gains nothing from having more words than the query.
        let adjust = |meaning: &[&str]| -EXACT * (meaning.len() as f32 - 1.0);
        for (at, w) in qwords.iter().enumerate() {
            let known = self.terms.get(w).is_some();
            for (word, meaning) in EVERYDAY_MEANINGS {
                let close = w == word
                    || (!known
                        && strsim::levenshtein(w, word) as u32 <= typo_distance(word).min(1));
                if close {
                    let mut alt = qwords.to_vec();
                    alt.splice(at..=at, meaning.iter().map(|m| stem(m)));
                    out.push((alt, adjust(meaning)));
                    if meanings.last().is_none_or(|(last, _)| *last != at) {
                        meanings.push((at, meaning));
                    }
                }
            }
            if let Some(next) = qwords.get(at + 1) {
                let joined = format!("{w}{next}");
                // Typed with a hyphen, the two words are one even when the joined word is
                // found only with a typo ("black-eyed": "blackeyes").
                let hyphen = hyphenated.iter().any(|(a, b)| a == w && b == next);
                if hyphen || self.terms.get(&joined).is_some() {
                    let mut alt = qwords.to_vec();
                    alt.splice(at..=at + 1, [joined]);
                    // The joined word stands for two query words.
                    out.push((alt, EXACT));
                }
            }
        }
        if meanings.len() > 1 {
            // Every word in its everyday meaning at once ("diet soda"), from the last word back
            // so the positions stay right.
            let mut alt = qwords.to_vec();
            let mut total = 0.0;
            for (at, meaning) in meanings.iter().rev() {
                alt.splice(*at..=*at, meaning.iter().map(|m| stem(m)));
                total += adjust(meaning);
            }
            out.push((alt, total));
        }
        out
    }

    /// The best `limit` foods for the query, best first.
    pub fn search(&self, query: &str, limit: usize) -> Vec<Hit> {
        let qwords = query_words(query);
        if qwords.is_empty() || limit == 0 {
            return Vec::new();
        }
        let mut primary = self.prepare(&qwords);
        primary.phrase = self.phrase(query, &qwords);
        let mut hits = self.candidates(&primary, true, limit);
        for (alt, adjust) in self.readings(&qwords, &hyphenated_pairs(query)) {
            let mut more = self.candidates(&self.prepare(&alt), false, limit);
            for h in &mut more {
                h.score += adjust;
            }
            if more.is_empty() {
                continue;
            }
            let mut by_food: HashMap<usize, usize> =
                hits.iter().enumerate().map(|(i, h)| (h.food, i)).collect();
            for h in more {
                match by_food.get(&h.food) {
                    Some(&i) if hits[i].score >= h.score => {}
                    Some(&i) => hits[i] = h,
                    None => {
                        by_food.insert(h.food, hits.len());
                        hits.push(h);
                    }
                }
            }
        }
        let keep = limit.min(hits.len());
        if keep < hits.len() {
            hits.select_nth_unstable_by(keep, |a, b| self.order(a, b));
            hits.truncate(keep);
        }
        hits.sort_by(|a, b| self.order(a, b));
        hits
    }

    /// The food to use for a phrase: the first hit when it covers at least [`MIN_COVERAGE`] of
    /// the phrase, else a refusal listing the closest foods. The rule a diary entry applies
    /// before it records a food, so a weak match is never used silently.
    pub fn best_match(&self, query: &str) -> BestMatch {
        let hits = self.search(query, CLOSEST_LISTED);
        match hits.first() {
            Some(h) if h.coverage >= MIN_COVERAGE => BestMatch::Accepted(*h),
            _ => BestMatch::Weak { closest: hits },
        }
    }

    /// Scored foods matching every query word (AND), from the rarest word's foods; when none
    /// does and `fallback`, the foods matching most of the words.
    fn candidates(&self, q: &Query, fallback: bool, limit: usize) -> Vec<Hit> {
        let matched = &q.matched;
        let posting_total = |m: &WordMatch| -> usize {
            m.terms
                .iter()
                .map(|&t| self.postings[t as usize].len())
                .sum()
        };
        let foods_of = |m: &WordMatch| -> std::borrow::Cow<'_, [u32]> {
            if let [one] = m.terms.as_slice() {
                return std::borrow::Cow::Borrowed(self.postings[*one as usize].as_slice());
            }
            let mut c: Vec<u32> = m
                .terms
                .iter()
                .flat_map(|&t| self.postings[t as usize].iter().copied())
                .collect();
            c.sort_unstable();
            c.dedup();
            std::borrow::Cow::Owned(c)
        };
        let mut hits = Vec::new();
        let Some(rarest) = matched
            .iter()
            .filter(|m| !m.is_empty())
            .min_by_key(|m| posting_total(m))
        else {
            return hits;
        };
        if matched.iter().all(|m| !m.is_empty()) {
            if let [_] = rarest.terms.as_slice() {
                self.scan(&foods_of(rarest), q, false, limit, &mut hits, &[]);
            } else {
                // Each food with the best weight its terms give the rarest word: a food found
                // only by a weaker term (a prefix, a longer word) cannot score the best one.
                let mut found: Vec<(u32, f32)> = rarest
                    .terms
                    .iter()
                    .flat_map(|&t| {
                        let w = rarest.weights[t as usize];
                        self.postings[t as usize].iter().map(move |&f| (f, w))
                    })
                    .collect();
                found.sort_unstable_by(|a, b| a.0.cmp(&b.0).then(b.1.total_cmp(&a.1)));
                found.dedup_by_key(|(f, _)| *f);
                let best = rarest.best();
                let foods: Vec<u32> = found.iter().map(|(f, _)| *f).collect();
                let lacking: Vec<f32> = found.iter().map(|(_, w)| best - w).collect();
                self.scan(&foods, q, false, limit, &mut hits, &lacking);
            }
        }
        if fallback && hits.is_empty() && matched.len() > 1 {
            // Each food with the words it has (bit i for query word i, the first 32): a food
            // that lacks some cannot score their weights and pays for their absence.
            let mut has: HashMap<u32, u32> = HashMap::new();
            for (i, m) in matched.iter().enumerate().take(32) {
                for &f in foods_of(m).iter() {
                    *has.entry(f).or_default() |= 1 << i;
                }
            }
            let mut all: Vec<(u32, u32)> = has.into_iter().collect();
            all.sort_unstable();
            let foods: Vec<u32> = all.iter().map(|(f, _)| *f).collect();
            let lacking: Vec<f32> = all.iter().map(|(_, mask)| q.lacking_cost(*mask)).collect();
            self.scan(&foods, q, true, limit, &mut hits, &lacking);
        }
        hits
    }

    /// Scores `foods` into `hits`, keeping track of the `limit` best scores so far (a
    /// min-heap): a food whose upper bound is below the lowest of them cannot reach the result,
    /// and is not scored; nor is a food kept that scores below it.
    /// `lacking[i]`, when given, is the least the i-th food loses against the query's upper
    /// bound: the weights of the query words it lacks, or of a weaker match.
    fn scan(
        &self,
        foods: &[u32],
        q: &Query,
        partial: bool,
        limit: usize,
        hits: &mut Vec<Hit>,
        lacking: &[f32],
    ) {
        let mut top: BinaryHeap<Reverse<Score>> = BinaryHeap::new();
        for (i, &f) in foods.iter().enumerate() {
            let f = f as usize;
            let floor = if top.len() >= limit {
                top.peek().map_or(f32::NEG_INFINITY, |r| r.0 .0)
            } else {
                f32::NEG_INFINITY
            };
            let lost = lacking.get(i).copied().unwrap_or(0.0);
            if self.upper_bound(f, q) - lost < floor - BOUND_MARGIN {
                continue;
            }
            if let Some(hit) = self.score(f, q, partial, floor) {
                if hit.score < floor - BOUND_MARGIN {
                    continue;
                }
                top.push(Reverse(Score(hit.score)));
                if top.len() > limit {
                    top.pop();
                }
                hits.push(hit);
            }
        }
    }

    /// The branded penalty a food pays whatever the query's words name: its brand cannot be
    /// typed, or the query matches too few terms to type half of it (each names at most its
    /// repeats).
    fn certain_brand_penalty(&self, facts: &FoodFacts, q: &Query) -> f32 {
        let untyped = facts.has(BRAND_UNTYPABLE)
            || (facts.has(BRANDED)
                && q.terms_matched * u32::from(facts.brand_repeat) * 2
                    <= u32::from(facts.brand_words));
        if untyped {
            BRANDED_PENALTY
        } else {
            0.0
        }
    }

    /// The most food `f` can score for the query (see [`Query::bound`]).
    fn upper_bound(&self, f: usize, q: &Query) -> f32 {
        let facts = &self.facts[f];
        let mut bound = facts.prior + GENERIC_BONUS * f32::from(facts.generic) + q.bound
            - self.certain_brand_penalty(facts, q);
        // The head noun the last query word cannot name (a meat's cut may name it anywhere).
        let noun_nameable = facts.head_noun != NO_TERM
            && (facts.has(CUT_ANYWHERE) || term_bit(facts.head_noun) & q.last_signature != 0);
        if !noun_nameable {
            bound -= HEAD_NOUN_BONUS;
        }
        // Head words no query term can name cost their share and rule out the whole-head bonus
        // (unless a phrase names the food; see `score`). The head bonus is then earned only in
        // part when the query names head words, or not at all when it names none (a variety
        // may still be named; in meat names a cut still names the head, see `score`).
        let head_len = u32::from(facts.head_len);
        if facts.has(HEAD_SIGNATURE_EXACT) && q.phrase.is_empty() && head_len > 0 {
            let nameable = (facts.head_signature & q.signature)
                .count_ones()
                .min(head_len);
            if nameable < head_len {
                let share = (head_len - nameable) as f32 / head_len as f32;
                let head = if facts.has(CUT_ANYWHERE) {
                    HEAD_BONUS - UNNAMED_HEAD_PENALTY * share
                } else {
                    (HEAD_BONUS - (UNNAMED_HEAD_PENALTY + HEAD_BONUS) * share)
                        .max(VARIETY_BONUS - UNNAMED_HEAD_PENALTY * share)
                };
                bound -= HEAD_BONUS - head + (WHOLE_HEAD_BONUS - WHOLE_SEGMENT_BONUS);
            }
        }
        bound
    }

    fn order(&self, a: &Hit, b: &Hit) -> std::cmp::Ordering {
        b.score
            .total_cmp(&a.score)
            .then(
                self.words_of(a.food)
                    .len()
                    .cmp(&self.words_of(b.food).len()),
            )
            .then(a.food.cmp(&b.food))
    }

    /// The food's score for the query, or `None` when it misses a query word (unless
    /// `partial`) or cannot reach `floor` (checked before the costlier second pass).
    fn score(&self, food: usize, q: &Query, partial: bool, floor: f32) -> Option<Hit> {
        let name = self.words_of(food);
        let facts = &self.facts[food];
        let mut total = facts.prior;
        let mut missing = 0;
        let mut missing_letters = 0.0f32;
        let mut credit = 0.0f32;
        let mut letters = 0.0f32;
        let mut head_named = false;
        let mut variety_named = false;
        let mut all_in_head = true;
        // Every query word in the head or the variety (an inverted USDA name: "Cream, sour").
        let mut all_in_head_or_variety = true;
        // A query word names a food word of the variety (not a state: "Egg, scrambled").
        let mut variety_food_named = false;
        // Where the last query word was found (see [`HEAD_NOUN_BONUS`]).
        let mut last_in_cut = false;
        // A query word names a word of the head itself (not a cut found elsewhere).
        let mut head_word_named = false;
        let mut last_in_variety = false;
        // Segments holding every query word.
        let mut common_segments = u32::MAX;
        // Segments where a query word names a food word, not a state.
        let mut food_segments = 0u32;
        // Name words the query names (bit j for word j; words past 64 are looked up again).
        let mut named_mask = 0u64;
        // The plain head words (bit j for word j, as `named_mask`; gathered with the first
        // query word).
        let mut head_mask = 0u64;
        for (i, m) in q.matched.iter().enumerate() {
            let mut best = 0.0f32;
            let mut best_credit = 0.0f32;
            let mut in_head = false;
            let mut in_variety = false;
            // Found in a word that may name a cut (not a use: "chuck for stew").
            let mut in_cut = false;
            let mut segments = 0u32;
            for (j, nw) in name.iter().enumerate() {
                if i == 0 && j < 64 && nw.head && nw.kind == Kind::Plain {
                    head_mask |= 1 << j;
                }
                let w = m.weights[nw.term as usize];
                if w > 0.0 {
                    if j < 64 {
                        named_mask |= 1 << j;
                    }
                    best = best.max(w);
                    best_credit = best_credit.max(m.credit(w));
                    in_head |= nw.head;
                    in_variety |= nw.variety;
                    in_cut |= nw.kind != Kind::Purpose;
                    variety_food_named |=
                        nw.variety && matches!(nw.kind, Kind::Plain | Kind::Derived);
                    segments |= 1 << nw.segment;
                    if !matches!(
                        nw.kind,
                        Kind::Cooking
                            | Kind::CookedGeneric
                            | Kind::Raw
                            | Kind::Unprepared
                            | Kind::Processed
                            | Kind::Variant
                            | Kind::Salted
                    ) {
                        food_segments |= 1 << nw.segment;
                    }
                }
            }
            // Meat: species and cut together name the food ("chicken breast").
            head_word_named |= in_head;
            let in_head = in_head || (in_cut && facts.has(CUT_ANYWHERE));
            last_in_cut = in_cut;
            last_in_variety = in_variety;
            letters += m.letters;
            all_in_head &= in_head;
            all_in_head_or_variety &= in_head || in_variety;
            variety_named |= in_variety;
            common_segments &= segments;
            head_named |= in_head;
            if best > 0.0 {
                total += best;
                credit += best_credit * m.letters;
            } else if partial {
                missing += 1;
                missing_letters += m.letters;
            } else {
                return None;
            }
        }
        if partial && missing == q.matched.len() {
            return None;
        }
        // The missing words' share of the phrase, in words of average length: a food that
        // misses a short word ("greens") is closer than one that misses a long one ("collard").
        let missing_cost = if missing > 0 && letters > 0.0 {
            MISSING_WORD_PENALTY * q.matched.len() as f32 * missing_letters / letters
        } else {
            0.0
        };
        // A later segment that is the query word for word names the food as the head would.
        let phrase_named = missing == 0
            && !q.phrase.is_empty()
            && Self::segment_is_phrase(name, &q.phrase, facts.head_segment);
        if head_named || phrase_named {
            total += HEAD_BONUS;
        } else if variety_named {
            total += VARIETY_BONUS;
        }
        let noun_named = match q.matched.last() {
            Some(last) if facts.head_noun != NO_TERM => {
                last.weights[facts.head_noun as usize] > 0.0
                    || (facts.has(CUT_ANYWHERE) && missing == 0 && last_in_cut)
            }
            _ => false,
        };
        if noun_named {
            total += HEAD_NOUN_BONUS;
        }
        // The most the rest can add, before the costlier pass over the name: head words left
        // unnamed cost their share and rule out the whole-head bonus (the words past the 64th
        // are counted only later), as does a head noun left unnamed (but for an inverted name).
        let head_unnamed_known = (head_mask & !named_mask).count_ones();
        let head_cost = if phrase_named {
            0.0
        } else {
            unnamed_head_cost(facts, head_unnamed_known, head_word_named)
        };
        let whole_possible =
            phrase_named || (head_unnamed_known == 0 && (noun_named || last_in_variety));
        let whole = if whole_possible {
            WHOLE_HEAD_BONUS
        } else {
            WHOLE_SEGMENT_BONUS
        };
        let bound = total + whole + GENERIC_BONUS * f32::from(facts.generic)
            - self.certain_brand_penalty(facts, q)
            - missing_cost
            - head_cost;
        if bound < floor - BOUND_MARGIN {
            return None;
        }

        // What the name adds beyond the query.
        let (cooked_default, fresh_form) = (facts.has(COOKED_BY_DEFAULT), facts.has(FRESH_FORM));
        let mut head_unnamed = 0u32;
        let mut state = 0.0f32;
        let mut brand = (0u32, 0u32);
        let mut generic = 0u32;
        let mut extra = 0.0f32;
        // Segments with a plain word the query does not name.
        let mut unnamed_segments = 0u32;
        let mut qualifiers = 0u32;
        // Meat named by its cut ("bacon": "Pork, cured, bacon"): the processing words on the way
        // to it say what the cut is (cured), not what was done to it.
        let cut_end = if facts.has(CUT_ANYWHERE) && food_segments >> (facts.head_segment + 1) != 0 {
            31 - food_segments.leading_zeros()
        } else {
            0
        };
        for (j, nw) in name.iter().enumerate() {
            let named = if j < 64 {
                named_mask >> j & 1 == 1
            } else {
                q.matched.iter().any(|m| m.weights[nw.term as usize] > 0.0)
            };
            if nw.kind == Kind::Brand {
                brand.0 += 1;
                brand.1 += u32::from(named);
            }
            if named {
                continue;
            }
            // (In the head's segment only head words count: not its ingredients.)
            let ingredient_of_head = nw.segment == facts.head_segment && !nw.head;
            if matches!(nw.kind, Kind::Plain | Kind::Addition | Kind::Derived)
                && !ingredient_of_head
            {
                unnamed_segments |= 1 << nw.segment;
            }
            match nw.kind {
                Kind::Plain if nw.head => head_unnamed += 1,
                Kind::Processed if u32::from(nw.segment) < cut_end => {}
                Kind::Plain => qualifiers += 1,
                Kind::Addition => extra += ADDITION_PENALTY,
                // (The variety of a derived product says what is in it: "Cookies, chocolate
                // chip".)
                Kind::Derived if nw.head || (nw.variety && !facts.has(DERIVED_HEAD)) => {
                    extra += DERIVED_PENALTY
                }
                Kind::Derived => extra += DERIVED_QUALIFIER_PENALTY,
                Kind::Processed if fresh_form => extra += PROCESSED_PENALTY,
                Kind::Processed if facts.has(UNPROCESSED_FORM) => {
                    extra += PROCESSED_NOT_FRESH_PENALTY
                }
                Kind::Variant => extra += VARIANT_PENALTY,
                Kind::Salted => extra += SALTED_PENALTY,
                Kind::Generic => generic += 1,
                Kind::Cooking | Kind::CookedGeneric => {
                    let p = match q.state {
                        State::Unnamed if cooked_default || !fresh_form => 0.0,
                        State::Unnamed => DEFAULT_STATE_PENALTY,
                        State::Raw => STATE_MISMATCH_PENALTY,
                        State::Cooked if q.method && nw.kind == Kind::Cooking => {
                            OTHER_METHOD_PENALTY
                        }
                        State::Cooked => 0.0,
                    };
                    state = state.max(p);
                }
                Kind::Raw => {
                    let p = match q.state {
                        State::Unnamed if cooked_default && facts.has(COOKED_FORM) => {
                            DEFAULT_STATE_PENALTY
                        }
                        State::Cooked => STATE_MISMATCH_PENALTY,
                        _ => 0.0,
                    };
                    state = state.max(p);
                }
                Kind::Unprepared if facts.has(PREPARED) => {}
                Kind::Unprepared => {
                    let p = match q.state {
                        State::Unnamed => DEFAULT_STATE_PENALTY,
                        State::Cooked => STATE_MISMATCH_PENALTY,
                        _ => 0.0,
                    };
                    state = state.max(p);
                }
                Kind::Processed | Kind::Neutral | Kind::Purpose | Kind::Brand => {}
            }
        }
        // A name with no state at all, where the food is eaten cooked and comes cooked: the
        // uncooked form ("Barley, hulled").
        if !facts.has(HAS_STATE)
            && q.state == State::Unnamed
            && cooked_default
            && facts.has(COOKED_FORM)
        {
            state = state.max(DEFAULT_STATE_PENALTY);
        }
        let whole_segments = common_segments & !unnamed_segments;
        let head_bit = 1u32 << facts.head_segment;
        if missing == 0 {
            let whole_head = head_named
                && all_in_head
                && head_unnamed == 0
                && noun_named
                && (whole_segments & head_bit != 0 || facts.has(CUT_ANYWHERE));
            // USDA inverts names ("Cream, sour"; "Oil, olive"; "Pie, apple"): a query naming
            // the head and the whole variety segment, and nothing else, names the food as well.
            let variety_bit = head_bit << 1;
            let inverted = head_named
                && all_in_head_or_variety
                && head_unnamed == 0
                && (noun_named || last_in_variety)
                && variety_food_named
                && unnamed_segments & variety_bit == 0;
            if whole_head || inverted || phrase_named {
                total += WHOLE_HEAD_BONUS;
            } else if whole_segments & !head_bit != 0 {
                total += WHOLE_SEGMENT_BONUS;
            }
        }
        if !phrase_named {
            total -= unnamed_head_cost(facts, head_unnamed, head_word_named);
        }
        total += GENERIC_BONUS * generic.min(GENERIC_COUNTED) as f32;
        total -= extra + state + QUALIFIER_PENALTY * qualifiers.min(QUALIFIERS_COUNTED) as f32;
        // The brand counts as typed when more than half of its words are.
        if facts.has(BRANDED) && brand.1 * 2 <= brand.0 {
            total -= BRANDED_PENALTY;
        }
        total -= missing_cost;
        Some(Hit {
            food,
            score: total,
            coverage: if letters > 0.0 { credit / letters } else { 0.0 },
        })
    }
}

/// Pairs of words written with a hyphen between them ("black-eyed"), stemmed as query words.
fn hyphenated_pairs(query: &str) -> Vec<(String, String)> {
    query
        .split_whitespace()
        .filter(|chunk| chunk.contains('-'))
        .flat_map(|chunk| {
            let ws = words(chunk);
            ws.windows(2)
                .map(|p| (p[0].clone(), p[1].clone()))
                .collect::<Vec<_>>()
        })
        .collect()
}

/// The cost of `unnamed` plain head words left unnamed: their share of the head, of the penalty
/// and, when the query names the head's own words, of the head bonus, earned only in proportion
/// to the head named ("parmesan" names half of "chicken parmesan").
fn unnamed_head_cost(facts: &FoodFacts, unnamed: u32, head_word_named: bool) -> f32 {
    if facts.head_len == 0 {
        return 0.0;
    }
    let share = unnamed.min(u32::from(facts.head_len)) as f32 / f32::from(facts.head_len);
    let unearned = if head_word_named { HEAD_BONUS } else { 0.0 };
    (UNNAMED_HEAD_PENALTY + unearned) * share
}

/// The words of a query: connectors dropped (unless there is nothing else), repeats once.
fn query_words(query: &str) -> Vec<String> {
    let all = words(query);
    let mut out: Vec<String> = Vec::with_capacity(all.len());
    for w in &all {
        if !CONNECTORS.contains(&w.as_str()) && !out.contains(w) {
            out.push(w.clone());
        }
    }
    if out.is_empty() {
        all
    } else {
        out
    }
}

fn food_prior(food: &Food, common: &FastSet<&str>) -> f32 {
    let mut p = MEASURE_BONUS * food.portions.len().min(MEASURES_COUNTED) as f32;
    let is_common = common.contains(food.id.as_str())
        || food.ndb.as_deref().is_some_and(|n| common.contains(n));
    if is_common {
        p += COMMON_TIE_BREAK;
    }
    if let Some(g) = &food.group {
        if let Some((_, penalty)) = GROUP_PENALTIES.iter().find(|(code, _)| code == g) {
            p -= penalty;
        }
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::sync::OnceLock;

    fn shipped() -> &'static (FoodTable, FoodIndex) {
        static CELL: OnceLock<(FoodTable, FoodIndex)> = OnceLock::new();
        CELL.get_or_init(|| {
            let t = FoodTable::shipped().unwrap();
            let i = FoodIndex::build(&t).unwrap();
            (t, i)
        })
    }

    fn top(query: &str) -> String {
        let (t, i) = shipped();
        i.search(query, 1)
            .first()
            .map(|h| t.foods[h.food].id.clone())
            .unwrap_or_default()
    }

    fn name(id: &str) -> String {
        let (t, _) = shipped();
        t.by_id(id).map(|f| f.name.clone()).unwrap_or_default()
    }

    #[test]
    fn the_food_a_person_means_comes_first() {
        // (query, expected first hit: SR28 NDB) with the rule that puts it there.
        let cases = [
            ("banana", "09040"),            // Bananas, raw: fruit raw by default
            ("bananas", "09040"),           // plural
            ("milk", "01077"),              // Milk, whole (common-food tie-breaker)
            ("almonds", "12061"),           // Nuts, almonds: class head "Nuts"
            ("almnd", "12061"),             // typo
            ("spinach", "11457"),           // Spinach, raw: vegetables raw by default
            ("boiled spinach", "11458"),    // cooking method named
            ("spinach boiled", "11458"),    // word order
            ("avocado", "09037"),           // "all commercial varieties": generic marker
            ("black beans", "16015"),       // legumes cooked by default
            ("brown rice", "20037"),        // grains cooked by default
            ("salmon", "15237"),            // fish cooked by default
            ("dark chocolate", "19904"),    // common-food tie-breaker among the cacao bands
            ("chia", "12006"),              // only entry
            ("egg", "01123"),               // Egg, whole, raw, fresh
            ("whole wheat bread", "18075"), // variety segment before "Bread, pita, ..."
            ("soy sauce", "16123"), // "Soy sauce made from soy and wheat": the head ends at "made"
            // The issue's nine examples.
            ("walnuts", "12155"),           // not "Oil, walnut": derived product
            ("peanuts", "16390"),           // not peanut butter; unsalted before salted
            ("oatmeal", "08121"),           // everyday meaning: cooked oats
            ("granola", "08037"),           // not a granola bar
            ("corn flakes", "08506"),       // not "Corn Flakes Crumbs" (derived)
            ("pork chop grilled", "10058"), // grilled = broiled
            ("mackerel", "15201"),          // cooked, not salted
            ("sweet potato baked", "11508"), // not frozen, not salted
        ];
        for (q, id) in cases {
            let got = top(q);
            assert_eq!(got, id, "query {q:?} gave {got} {}", name(&got));
        }
        // Tofu: any plain tofu, not fried.
        let tofu = top("tofu");
        assert!(
            name(&tofu).starts_with("Tofu, raw"),
            "{tofu} {}",
            name(&tofu)
        );
    }

    #[test]
    fn derived_and_branded_foods_come_only_when_named() {
        // Named, the derived product comes first.
        assert_eq!(name(&top("walnut oil")), "Oil, walnut");
        assert!(name(&top("peanut butter")).starts_with("Peanut butter"));
        assert!(name(&top("granola bar")).contains("granola bars, hard, plain"));
        // The brand typed, the branded food comes first.
        assert!(name(&top("kellogg corn flakes")).contains("KELLOGG'S Corn Flakes"));
        assert!(name(&top("corn flakes crumbs")).contains("Crumbs"));
        // A cooking method named picks the food so cooked.
        assert!(name(&top("baked salmon")).contains("dry heat"));
        assert!(name(&top("raw salmon")).ends_with("raw"));
    }

    #[test]
    fn skipping_by_upper_bound_keeps_the_exact_top_k_for_common_words() {
        let (_, i) = shipped();
        for q in [
            "beef",
            "milk",
            "chicken",
            "cheese",
            "oat",
            "bread",
            "chiken",
            "pork chop",
        ] {
            let all: Vec<usize> = i.search(q, usize::MAX).iter().map(|h| h.food).collect();
            for k in [1, 5, 10] {
                let top: Vec<usize> = i.search(q, k).iter().map(|h| h.food).collect();
                assert_eq!(top, all[..k.min(all.len())], "{q} top {k}");
            }
        }
    }

    #[test]
    fn skipping_keeps_the_exact_top_k_among_branded_variants() {
        // Every seventh SR28 food again as a branded-style variant, as a Branded import brings
        // them: a brand word and a style in front (longer heads, see the head signature), or the
        // name in capitals followed by them (brand words, see the brand counts).
        let mut t = FoodTable::shipped().unwrap();
        let base = t.foods.clone();
        for (n, f) in base.iter().enumerate().step_by(7) {
            let mut v = f.clone();
            v.id = format!("variant:{n}");
            v.group = None;
            v.name = if n % 2 == 0 {
                format!("acme value pack {}", f.name)
            } else {
                format!("{}, acme, organic", f.name.to_uppercase())
            };
            t.foods.push(v);
        }
        let i = FoodIndex::build(&t).unwrap();
        for q in [
            "beef",
            "milk",
            "apple raw",
            "potato baked",
            "whole wheat bread",
            "acme",
            "acme milk",
            "organic beef",
            "chiken",
            "grilled salmon",
            // Inverted names ("Cream, sour") earn the whole-head bonus without the head noun.
            "sour cream",
            "chicken nuggets",
            // A brand typed: the branded penalty is not certain.
            "kellogg",
            "kellogg corn flakes",
        ] {
            let all: Vec<usize> = i.search(q, usize::MAX).iter().map(|h| h.food).collect();
            for k in [1, 5, 10] {
                let top: Vec<usize> = i.search(q, k).iter().map(|h| h.food).collect();
                assert_eq!(top, all[..k.min(all.len())], "{q} top {k}");
            }
        }
    }

    #[test]
    fn weak_matches_are_refused_with_the_closest_foods() {
        let (_, i) = shipped();
        for q in ["motor oil", "x", "qwxzv"] {
            match i.best_match(q) {
                BestMatch::Weak { closest } => assert!(closest.len() <= CLOSEST_LISTED),
                BestMatch::Accepted(h) => panic!("{q:?} accepted with coverage {}", h.coverage),
            }
        }
        // "motor oil": only "oil" (3 of 8 letters) is found.
        match i.best_match("motor oil") {
            BestMatch::Weak { closest } => {
                assert!(!closest.is_empty());
                assert!((closest[0].coverage - 3.0 / 8.0).abs() < 1e-6);
            }
            other => panic!("{other:?}"),
        }
        for q in ["almonds", "almnd", "pumpk seeds", "2% milk", "oatmeal"] {
            assert!(
                matches!(i.best_match(q), BestMatch::Accepted(_)),
                "{q:?} refused"
            );
        }
    }

    #[test]
    fn nonsense_finds_nothing_and_empty_query_is_empty() {
        let (_, i) = shipped();
        assert!(i.search("qwxzv", 5).is_empty());
        assert!(i.search("  ,, ", 5).is_empty());
        assert_eq!(i.search("banana", 7).len(), 7);
    }

    #[test]
    fn typing_error_distance_by_hand() {
        let cost = |q: &str, term: &str, max: u32| {
            let q: Vec<char> = q.chars().collect();
            typo_cost(&q, term, max, &mut TypoScratch::default())
        };
        // "almnd" -> "almond": one letter missing (2 half edits), the whole word.
        assert_eq!(cost("almnd", "almond", 2), Some(2));
        // "brocolli" -> "broccoli": a doubled "c" typed once (1) and "l" typed twice (1).
        assert_eq!(cost("brocolli", "broccoli", 2), Some(2));
        // "tofoo" -> "tofu": "u" for "o", a vowel for a vowel (1), and "o" typed twice (1).
        assert_eq!(cost("tofoo", "tofu", 2), Some(2));
        // "expresso" -> "espresso": "x" for "s", a consonant (2); -> "expressed": "e" for "o"
        // (1) and a "d" missing (2).
        assert_eq!(cost("expresso", "espresso", 4), Some(2));
        assert_eq!(cost("expresso", "expressed", 4), Some(3));
        // A beginning of the word counts: "chiken" is one edit from "chicken" in "chickens";
        // the whole word is over the allowance.
        assert!(cost("chiken", "chickens", 2).is_some_and(|whole| whole > 2));
        assert_eq!(cost("xyz", "almond", 2), None);
        // Two consonant edits are over one edit's allowance.
        assert_eq!(cost("tofzz", "tofu", 2), None);
    }

    #[test]
    fn first_letter_typos_are_one_edit_in_the_first_letter() {
        let t = first_letter_typos("lmond");
        // A letter missing at the start; a letter too many; swapped; another first letter.
        assert!(t.contains(&"almond".to_string()));
        assert!(first_letter_typos("valmond").contains(&"almond".to_string()));
        assert!(first_letter_typos("lamond").contains(&"almond".to_string()));
        assert!(first_letter_typos("slmond").contains(&"almond".to_string()));
        // Never shorter than five letters, never the word itself.
        assert!(t.iter().all(|w| w.chars().count() >= MIN_FIRST_LETTER_TYPO));
        assert!(!t.contains(&"lmond".to_string()));
        let (t, i) = shipped();
        let first = |q: &str| {
            i.search(q, 1)
                .first()
                .map(|h| t.foods[h.food].name.clone())
                .unwrap_or_default()
        };
        assert!(
            first("vlmonds").starts_with("Nuts, almonds"),
            "{}",
            first("vlmonds")
        );
        assert!(first("lmonds").starts_with("Nuts, almonds"));
        // A short word is not corrected in its first letter ("ilk" is not milk).
        assert!(i.search("ilk", 5).is_empty());
    }

    #[test]
    fn stemming_meets_plurals() {
        assert_eq!(
            words("Seeds, berries; peaches AND glass"),
            ["seed", "berry", "peach", "and", "glass"]
        );
    }

    proptest! {
        #[test]
        fn search_never_panics_and_respects_the_limit(q in "\\PC{0,30}", limit in 0usize..20) {
            let (_, i) = shipped();
            let hits = i.search(&q, limit);
            prop_assert!(hits.len() <= limit);
            prop_assert!(hits.windows(2).all(|w| w[0].score >= w[1].score));
        }

        #[test]
        fn word_order_finds_the_same_foods(a in "[a-z]{3,8}", b in "[a-z]{3,8}") {
            // Order only weighs the head noun ("chocolate milk" is milk), so both orders find
            // the same foods.
            let (_, i) = shipped();
            let found = |q: String| {
                let mut v: Vec<usize> = i.search(&q, usize::MAX).iter().map(|h| h.food).collect();
                v.sort_unstable();
                v
            };
            prop_assert_eq!(found(format!("{a} {b}")), found(format!("{b} {a}")));
        }

        #[test]
        fn the_top_k_are_the_first_k_of_the_whole_ranking(q in "[a-z]{2,7}( [a-z]{3,6})?", k in 1usize..12) {
            // Skipping foods by their upper bound never changes the result.
            let (_, i) = shipped();
            let top: Vec<usize> = i.search(&q, k).iter().map(|h| h.food).collect();
            let all: Vec<usize> = i.search(&q, usize::MAX).iter().take(k).map(|h| h.food).collect();
            prop_assert_eq!(top, all);
        }

        #[test]
        fn coverage_is_a_share(q in "[a-z ]{0,20}") {
            let (_, i) = shipped();
            for h in i.search(&q, 5) {
                prop_assert!((0.0..=1.0).contains(&h.coverage));
            }
        }
    }
}
