//! Recognising a person's medicines by generic or brand name, tolerating case, doses in the name,
//! combination products and obvious misspellings, and never dropping a name silently.

use crate::reference::{MedicineClass, MedicineRow, ReferenceData};
use serde::Serialize;

/// Lower case, alphanumeric words separated by single spaces.
pub fn normalize_name(text: &str) -> String {
    text.to_lowercase()
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Words in a medicine entry that say nothing about which medicine it is.
const FILLER_WORDS: &[&str] = &[
    "mg",
    "mcg",
    "g",
    "ml",
    "iu",
    "tablet",
    "tablets",
    "tab",
    "tabs",
    "capsule",
    "capsules",
    "cap",
    "caps",
    "oral",
    "daily",
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
    "and",
    "with",
    "plus",
    "hcl",
    "sodium",
    "potassium",
    "calcium",
];

/// Below this Jaro-Winkler similarity a known name is not worth suggesting ("fish oil" should
/// not suggest "sifrol"); chosen by reading the suggestions for the test names below.
const SUGGESTION_SIMILARITY: f64 = 0.8;

/// One known name of one medicine.
#[derive(Debug, Clone)]
struct KnownName {
    normalized: String,
    medicine: usize,
}

/// What a typed medicine name turned out to be.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "status", rename_all = "kebab-case")]
pub enum Identification {
    /// Every named medicine was recognised exactly (a combination product can name several).
    Recognised { generics: Vec<String> },
    /// Not an exact name, but one known name is within a small edit distance of it.
    Corrected {
        generic: String,
        matched_name: String,
    },
    /// Nothing matched; the closest known names.
    Unknown { suggestions: Vec<String> },
}

/// Index over the medicine table.
#[derive(Debug, Clone)]
pub struct MedicineIndex {
    medicines: Vec<MedicineRow>,
    classes: Vec<MedicineClass>,
    names: Vec<KnownName>,
}

impl MedicineIndex {
    pub fn new(data: &ReferenceData) -> Self {
        let mut names = Vec::new();
        for (i, m) in data.medicines.iter().enumerate() {
            for n in std::iter::once(&m.generic).chain(&m.other_names) {
                names.push(KnownName {
                    normalized: normalize_name(n),
                    medicine: i,
                });
            }
        }
        Self {
            medicines: data.medicines.clone(),
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

    pub fn identify(&self, typed: &str) -> Identification {
        let normalized = normalize_name(typed);
        if let Some(k) = self.names.iter().find(|k| k.normalized == normalized) {
            return Identification::Recognised {
                generics: vec![self.medicines[k.medicine].generic.clone()],
            };
        }
        let words: Vec<&str> = normalized
            .split(' ')
            .filter(|w| !w.is_empty() && !FILLER_WORDS.contains(w))
            .filter(|w| !w.chars().all(|c| c.is_ascii_digit()))
            .collect();
        let found = self.names_within(&words);
        if !found.is_empty() {
            return Identification::Recognised { generics: found };
        }
        let cleaned = words.join(" ");
        if let Some((generic, matched_name)) = self.unique_close_match(&cleaned, &words) {
            return Identification::Corrected {
                generic,
                matched_name,
            };
        }
        Identification::Unknown {
            suggestions: self.closest(&cleaned, 3),
        }
    }

    /// Known names that appear as whole-word runs in `words`; a name inside a longer matched name
    /// ("gabapentin" inside "gabapentin enacarbil") is not counted twice.
    fn names_within(&self, words: &[&str]) -> Vec<String> {
        let mut spans: Vec<(usize, usize, usize)> = Vec::new(); // (start, end, medicine)
        for k in &self.names {
            let name_words: Vec<&str> = k.normalized.split(' ').collect();
            if name_words.len() > words.len() {
                continue;
            }
            for start in 0..=(words.len() - name_words.len()) {
                if words[start..start + name_words.len()] == name_words[..] {
                    spans.push((start, start + name_words.len(), k.medicine));
                }
            }
        }
        spans.sort_by_key(|&(start, end, _)| (start, end));
        let mut generics: Vec<String> = Vec::new();
        for &(s, e, m) in &spans {
            let inside_longer = spans
                .iter()
                .any(|&(s2, e2, _)| s2 <= s && e <= e2 && (e2 - s2) > (e - s));
            let generic = &self.medicines[m].generic;
            if !inside_longer && !generics.contains(generic) {
                generics.push(generic.clone());
            }
        }
        generics
    }

    /// The one known name within a small edit distance of the text (or of one of its words):
    /// 1 edit for names of 5-7 letters, 2 for 8 or more; shorter names must match exactly.
    fn unique_close_match(&self, cleaned: &str, words: &[&str]) -> Option<(String, String)> {
        let allowed = |len: usize| match len {
            0..=4 => 0,
            5..=7 => 1,
            _ => 2,
        };
        let mut best: Option<(usize, usize, &KnownName)> = None; // (distance, medicine, name)
        let mut tie = false;
        let candidates = std::iter::once(cleaned).chain(words.iter().copied());
        for text in candidates {
            for k in &self.names {
                let d = strsim::damerau_levenshtein(text, &k.normalized);
                if d == 0 || d > allowed(k.normalized.chars().count().min(text.chars().count())) {
                    continue;
                }
                match best {
                    Some((bd, bm, _)) if d == bd && bm != k.medicine => tie = true,
                    Some((bd, _, _)) if d >= bd => {}
                    _ => {
                        best = Some((d, k.medicine, k));
                        tie = false;
                    }
                }
            }
        }
        match (best, tie) {
            (Some((_, m, k)), false) => {
                Some((self.medicines[m].generic.clone(), k.normalized.clone()))
            }
            _ => None,
        }
    }

    /// Up to `n` known names similar to the text (Jaro-Winkler similarity at least
    /// [`SUGGESTION_SIMILARITY`]), as "name (generic)" where they differ.
    pub fn closest(&self, text: &str, n: usize) -> Vec<String> {
        let mut scored: Vec<(f64, &KnownName)> = self
            .names
            .iter()
            .map(|k| (strsim::jaro_winkler(text, &k.normalized), k))
            .filter(|(score, _)| *score >= SUGGESTION_SIMILARITY)
            .collect();
        scored.sort_by(|a, b| b.0.total_cmp(&a.0));
        let mut out: Vec<String> = Vec::new();
        for (_, k) in scored {
            let generic = &self.medicines[k.medicine].generic;
            let label = if &k.normalized == generic {
                generic.clone()
            } else {
                format!("{} ({generic})", k.normalized)
            };
            if !out.iter().any(|o| o == &label) {
                out.push(label);
            }
            if out.len() == n {
                break;
            }
        }
        out
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
        }
    }

    #[test]
    fn identifies_generic_brand_dose_and_combination_names() {
        let idx = index();
        let cases = [
            ("omeprazole", recognised(&["omeprazole"])),
            ("OMEPRAZOLE", recognised(&["omeprazole"])),
            ("Prilosec", recognised(&["omeprazole"])),
            ("Nexium 40 mg", recognised(&["esomeprazole"])),
            ("Lasix", recognised(&["furosemide"])),
            ("Cipro XR 500mg", recognised(&["ciprofloxacin"])),
            (
                "gabapentin enacarbil",
                recognised(&["gabapentin enacarbil"]),
            ),
            ("Horizant", recognised(&["gabapentin enacarbil"])),
            ("Neurontin", recognised(&["gabapentin"])),
            ("Benadryl", recognised(&["diphenhydramine"])),
            ("Unisom SleepTabs", recognised(&["doxylamine"])),
            ("ferrous sulfate 325 mg", recognised(&["ferrous sulfate"])),
            ("Triumeq", recognised(&["dolutegravir"])),
            (
                "lisinopril / hydrochlorothiazide",
                recognised(&["lisinopril", "hydrochlorothiazide"]),
            ),
            ("acetaminophen", recognised(&["paracetamol"])),
        ];
        for (typed, expected) in cases {
            assert_eq!(idx.identify(typed), expected, "{typed}");
        }
    }

    #[test]
    fn corrects_obvious_misspellings() {
        let idx = index();
        let cases = [
            ("omeprazol", "omeprazole"),
            ("omeprozole", "omeprazole"),
            ("gabapentine", "gabapentin"),
            ("levothyroxin", "levothyroxine"),
            ("doxycyclin 100mg", "doxycycline"),
            ("furosimide", "furosemide"),
            ("sertralin", "sertraline"),
        ];
        for (typed, generic) in cases {
            match idx.identify(typed) {
                Identification::Corrected { generic: g, .. } => assert_eq!(g, generic, "{typed}"),
                other => panic!("{typed}: {other:?}"),
            }
        }
    }

    #[test]
    fn unknown_names_are_reported_with_suggestions() {
        let idx = index();
        for typed in ["vitamin d3", "xyzzy", "fish oil"] {
            match idx.identify(typed) {
                Identification::Unknown { suggestions } => {
                    assert!(suggestions.is_empty(), "{typed}: {suggestions:?}")
                }
                other => panic!("{typed}: {other:?}"),
            }
        }
        // Too far from any name to be corrected, but the suggestions include the likely one.
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
    fn short_names_are_never_fuzzy_matched() {
        // "Losec" (5 letters) may be corrected by one edit, but 4-letter text never is.
        assert!(matches!(
            index().identify("lasx"),
            Identification::Unknown { .. }
        ));
    }
}
