//! Food search: word-order independent, prefix and typo tolerant, ranked so the common generic
//! food comes first.
//!
//! The vocabulary of name words is an `fst` map (the crate behind ripgrep's and tantivy's term
//! dictionaries), queried with prefix and Levenshtein automata; postings map each word to the
//! foods that contain it. Ranking is a sum of per-word match weights plus a per-food prior
//! (common foods up; baby, fast and restaurant foods down; long names slightly down), all named
//! constants below.

use super::{Food, FoodTable};
use fst::automaton::{Levenshtein, Str};
use fst::{Automaton, IntoStreamer, Map, MapBuilder, Streamer};
use std::collections::{BTreeMap, HashMap, HashSet};

/// Weight of a query word that equals a name word.
const EXACT: f32 = 3.0;
/// Weight of a query word that begins a name word ("pumpk" -> "pumpkin").
const PREFIX: f32 = 2.0;
/// Weight of a query word within the typo allowance of a name word (or its beginning).
const TYPO: f32 = 1.0;
/// Bonus when the matched word is in the first two comma segments of the USDA name, which name
/// the food itself ("Nuts, almonds, ..."); the rest are qualifiers.
const HEAD_BONUS: f32 = 1.0;
/// Extra bonus for the very first segment ("Bananas, raw").
const FIRST_SEGMENT_BONUS: f32 = 0.5;
/// Prior for the foods in `data/food/common.tsv`.
const COMMON_BONUS: f32 = 2.0;
/// Penalty per word of the name: among equal matches the plainer food wins.
const LENGTH_PENALTY: f32 = 0.08;
/// Penalty per query word that a fallback (partial) match leaves unmatched.
const MISSING_WORD_PENALTY: f32 = 3.0;
/// USDA groups people rarely mean by a plain word, with their penalty.
const GROUP_PENALTIES: &[(&str, f32)] = &[
    ("0300", 2.5), // baby foods
    ("2100", 1.5), // fast foods
    ("3600", 1.5), // restaurant foods
    ("3500", 1.0), // American Indian / Alaska Native foods (specific preparations)
    ("2200", 0.8), // meals, entrees and side dishes
];

/// Lower-case alphanumeric words with a light plural stemmer (both the index and queries use it,
/// so "seeds" and "seed", "berries" and "berry" meet).
pub fn words(text: &str) -> Vec<String> {
    text.to_lowercase()
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(stem)
        .collect()
}

fn stem(w: &str) -> String {
    let n = w.chars().count();
    if n > 4 && w.ends_with("ies") {
        format!("{}y", &w[..w.len() - 3])
    } else if n > 4
        && ["ches", "shes", "sses", "xes", "oes"]
            .iter()
            .any(|s| w.ends_with(s))
    {
        w[..w.len() - 2].to_string()
    } else if n > 3 && w.ends_with('s') && !w.ends_with("ss") && !w.ends_with("us") {
        w[..w.len() - 1].to_string()
    } else {
        w.to_string()
    }
}

/// Typo allowance by word length: none below 4 letters, 1 up to 7, 2 from 8.
fn typo_distance(word: &str) -> u32 {
    match word.chars().count() {
        0..=3 => 0,
        4..=7 => 1,
        _ => 2,
    }
}

/// A search index over a food table.
pub struct FoodIndex {
    terms: Map<Vec<u8>>,
    postings: Vec<Vec<u32>>,
    /// Every food's (term id, comma segment) pairs in name order, flattened; food `i` owns
    /// `food_terms[offsets[i]..offsets[i + 1]]` (one allocation, cache-friendly scoring).
    food_terms: Vec<(u32, u8)>,
    offsets: Vec<u32>,
    prior: Vec<f32>,
}

/// Weights of the name words matching one query word, dense by term id (0 = no match).
struct WordMatch {
    weights: Vec<f32>,
    terms: Vec<u32>,
}

impl WordMatch {
    fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }
}

/// One ranked result: the index of the food in the table, and its score.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Hit {
    pub food: usize,
    pub score: f32,
}

/// A failure to build the index (only possible with malformed term data).
#[derive(Debug, thiserror::Error)]
#[error("building the food search index: {0}")]
pub struct IndexError(#[from] fst::Error);

impl FoodIndex {
    pub fn build(table: &FoodTable) -> Result<Self, IndexError> {
        let mut vocabulary: BTreeMap<String, Vec<u32>> = BTreeMap::new();
        let mut food_words: Vec<Vec<(String, u8)>> = Vec::with_capacity(table.foods.len());
        for (i, food) in table.foods.iter().enumerate() {
            let mut ws = Vec::new();
            for (segment, part) in food.name.split(',').enumerate() {
                for w in words(part) {
                    ws.push((w, segment.min(255) as u8));
                }
            }
            for (w, _) in &ws {
                let list = vocabulary.entry(w.clone()).or_default();
                if list.last() != Some(&(i as u32)) {
                    list.push(i as u32);
                }
            }
            food_words.push(ws);
        }
        let mut builder = MapBuilder::memory();
        let mut ids: HashMap<&str, u32> = HashMap::with_capacity(vocabulary.len());
        let mut postings = Vec::with_capacity(vocabulary.len());
        for (n, (term, list)) in vocabulary.iter().enumerate() {
            builder.insert(term, n as u64)?;
            ids.insert(term.as_str(), n as u32);
            postings.push(list.clone());
        }
        let terms = Map::new(builder.into_inner()?)?;
        let mut food_terms = Vec::with_capacity(food_words.iter().map(Vec::len).sum());
        let mut offsets = Vec::with_capacity(food_words.len() + 1);
        offsets.push(0u32);
        for ws in &food_words {
            food_terms.extend(ws.iter().map(|(w, s)| (ids[w.as_str()], *s)));
            offsets.push(food_terms.len() as u32);
        }
        let common: HashSet<&str> = table.common.iter().map(String::as_str).collect();
        let prior = table
            .foods
            .iter()
            .zip(&food_words)
            .map(|(f, ws)| food_prior(f, ws.len(), &common))
            .collect();
        Ok(Self {
            terms,
            postings,
            food_terms,
            offsets,
            prior,
        })
    }

    fn terms_of(&self, food: usize) -> &[(u32, u8)] {
        &self.food_terms[self.offsets[food] as usize..self.offsets[food + 1] as usize]
    }

    /// Name words matching one query word, with their weights. Typo matching runs only when
    /// the word matches no name word exactly or as a prefix: a word that exists is taken as
    /// typed (and the Levenshtein automaton, the costly part, is built only when needed).
    fn matches(&self, q: &str) -> WordMatch {
        let mut m = WordMatch {
            weights: vec![0.0; self.postings.len()],
            terms: Vec::new(),
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
        let mut stream = self.terms.search(Str::new(q).starts_with()).into_stream();
        while let Some((term, id)) = stream.next() {
            put(
                &mut m,
                id,
                if term == q.as_bytes() { EXACT } else { PREFIX },
            );
        }
        let d = typo_distance(q);
        if d > 0 && m.is_empty() {
            if let Ok(lev) = Levenshtein::new(q, d) {
                let mut stream = self.terms.search(lev.starts_with()).into_stream();
                while let Some((_, id)) = stream.next() {
                    put(&mut m, id, TYPO);
                }
            }
        }
        m
    }

    /// The best `limit` foods for the query, best first.
    pub fn search(&self, query: &str, limit: usize) -> Vec<Hit> {
        let qwords = words(query);
        if qwords.is_empty() || limit == 0 {
            return Vec::new();
        }
        let matched: Vec<WordMatch> = qwords.iter().map(|q| self.matches(q)).collect();
        let posting_total = |m: &WordMatch| -> usize {
            m.terms
                .iter()
                .map(|&t| self.postings[t as usize].len())
                .sum()
        };
        let candidates = |m: &WordMatch| -> Vec<u32> {
            if let [one] = m.terms.as_slice() {
                return self.postings[*one as usize].clone();
            }
            let mut c: Vec<u32> = m
                .terms
                .iter()
                .flat_map(|&t| self.postings[t as usize].iter().copied())
                .collect();
            c.sort_unstable();
            c.dedup();
            c
        };
        // Every query word must match (AND), starting from the rarest word's foods.
        let mut hits = Vec::new();
        if let Some(rarest) = matched
            .iter()
            .filter(|m| !m.is_empty())
            .min_by_key(|m| posting_total(m))
        {
            if matched.iter().all(|m| !m.is_empty()) {
                for f in candidates(rarest) {
                    if let Some(score) = self.score(f as usize, &matched, false) {
                        hits.push(Hit {
                            food: f as usize,
                            score,
                        });
                    }
                }
            }
            // Fallback for several words: the foods matching most of them.
            if hits.is_empty() && qwords.len() > 1 {
                let mut all: Vec<u32> = matched.iter().flat_map(candidates).collect();
                all.sort_unstable();
                all.dedup();
                for f in all {
                    if let Some(score) = self.score(f as usize, &matched, true) {
                        hits.push(Hit {
                            food: f as usize,
                            score,
                        });
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

    fn order(&self, a: &Hit, b: &Hit) -> std::cmp::Ordering {
        b.score
            .total_cmp(&a.score)
            .then(
                self.terms_of(a.food)
                    .len()
                    .cmp(&self.terms_of(b.food).len()),
            )
            .then(a.food.cmp(&b.food))
    }

    fn score(&self, food: usize, matched: &[WordMatch], partial: bool) -> Option<f32> {
        let terms = self.terms_of(food);
        let mut total = self.prior[food];
        let mut missing = 0;
        for m in matched {
            let mut best = 0.0f32;
            for &(t, seg) in terms {
                let w = m.weights[t as usize];
                if w > 0.0 {
                    let head = if seg <= 1 { HEAD_BONUS } else { 0.0 };
                    let first = if seg == 0 { FIRST_SEGMENT_BONUS } else { 0.0 };
                    best = best.max(w + head + first);
                }
            }
            if best > 0.0 {
                total += best;
            } else if partial {
                missing += 1;
            } else {
                return None;
            }
        }
        if partial && missing == matched.len() {
            return None;
        }
        Some(total - MISSING_WORD_PENALTY * missing as f32)
    }
}

fn food_prior(food: &Food, word_count: usize, common: &HashSet<&str>) -> f32 {
    let mut p = -LENGTH_PENALTY * word_count as f32;
    let is_common = common.contains(food.id.as_str())
        || food.ndb.as_deref().is_some_and(|n| common.contains(n));
    if is_common {
        p += COMMON_BONUS;
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

    #[test]
    fn common_generic_food_comes_first() {
        // (query, expected first hit: SR28 NDB, name)
        let cases = [
            ("banana", "09040"), // Bananas, raw (not baby food)
            ("bananas", "09040"),
            ("milk", "01077"),    // Milk, whole (not milk chocolate)
            ("almonds", "12061"), // Nuts, almonds
            ("almnd", "12061"),   // typo
            ("almond dry roasted", "12563"),
            ("roasted almonds", "12563"),      // word order
            ("pumpkin seed roasted", "12016"), // roasted, without salt
            ("spinach boiled", "11458"),
            ("boiled spinach", "11458"),
            ("spinach", "11457"), // raw
            ("avocado", "09037"),
            ("black beans", "16015"),
            ("dark chocolate", "19904"),
            ("chia", "12006"),
            ("brown rice", "20037"),
            ("salmon", "15236"),
            ("egg", "01123"),
            ("whole wheat bread", "18075"),
        ];
        let (t, _) = shipped();
        for (q, id) in cases {
            let got = top(q);
            let name = t.by_id(&got).map(|f| f.name.as_str()).unwrap_or("nothing");
            assert_eq!(got, id, "query {q:?} gave {got} {name}");
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
        fn word_order_does_not_matter(a in "[a-z]{3,8}", b in "[a-z]{3,8}") {
            let (_, i) = shipped();
            let x: Vec<usize> = i.search(&format!("{a} {b}"), 5).iter().map(|h| h.food).collect();
            let y: Vec<usize> = i.search(&format!("{b} {a}"), 5).iter().map(|h| h.food).collect();
            prop_assert_eq!(x, y);
        }
    }
}
