//! Magnesium supplement salts: elemental fractions and conversions between salt ("compound")
//! weight and elemental magnesium.

use crate::reference::{FormRow, ReferenceData};
use serde::Serialize;

/// A mass of elemental magnesium in milligrams (what a US Supplement Facts panel states, and what
/// the RDA and the upper limit count).
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Serialize)]
#[serde(transparent)]
pub struct ElementalMagnesium(f64);

impl ElementalMagnesium {
    pub fn from_mg(mg: f64) -> Self {
        Self(mg)
    }
    pub fn mg(self) -> f64 {
        self.0
    }
}

/// A salt weight in milligrams (what some labels and chemists state).
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Serialize)]
#[serde(transparent)]
pub struct CompoundMass(f64);

impl CompoundMass {
    pub fn from_mg(mg: f64) -> Self {
        Self(mg)
    }
    pub fn mg(self) -> f64 {
        self.0
    }
}

/// One salt with its computed elemental fraction.
#[derive(Debug, Clone, Serialize)]
pub struct SupplementForm {
    #[serde(flatten)]
    pub row: FormRow,
    /// Mass fraction of magnesium, `magnesium_atoms x 24.305 / molar mass`.
    pub elemental_fraction: f64,
}

impl SupplementForm {
    pub fn elemental_from_compound(&self, compound: CompoundMass) -> ElementalMagnesium {
        ElementalMagnesium(compound.mg() * self.elemental_fraction)
    }
    pub fn compound_for_elemental(&self, elemental: ElementalMagnesium) -> CompoundMass {
        CompoundMass(elemental.mg() / self.elemental_fraction)
    }
}

/// A form name that does not name exactly one salt.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FormError {
    #[error("form '{query}' is not known; allowed: {allowed}{hint}")]
    Unknown {
        query: String,
        allowed: String,
        hint: String,
    },
    #[error(
        "form '{query}' is ambiguous: the {family} family has several salts with different \
         elemental fractions ({options}); give the salt named on the label"
    )]
    Ambiguous {
        query: String,
        family: String,
        options: String,
    },
}

/// Lower case, words separated by single spaces, the word "magnesium" removed.
pub(crate) fn normalize_form_text(text: &str) -> String {
    text.to_lowercase()
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty() && *w != "magnesium" && *w != "trimagnesium")
        .collect::<Vec<_>>()
        .join(" ")
}

/// The catalogue of salts from the reference data.
#[derive(Debug, Clone)]
pub struct FormCatalogue {
    forms: Vec<SupplementForm>,
}

impl FormCatalogue {
    pub fn new(data: &ReferenceData) -> Self {
        let forms = data
            .forms
            .iter()
            .map(|row| SupplementForm {
                elemental_fraction: f64::from(row.magnesium_atoms) * data.magnesium_atomic_weight
                    / row.molar_mass_g_mol,
                row: row.clone(),
            })
            .collect();
        Self { forms }
    }

    pub fn all(&self) -> &[SupplementForm] {
        &self.forms
    }

    pub fn by_id(&self, id: &str) -> Option<&SupplementForm> {
        self.forms.iter().find(|f| f.row.id == id)
    }

    fn family_members(&self, family: &str) -> Vec<&SupplementForm> {
        self.forms
            .iter()
            .filter(|f| f.row.family == family)
            .collect()
    }

    /// Resolves a form name to exactly one salt (for conversions): a salt id, an alias, or a
    /// family name when the family has a single salt.
    pub fn resolve_salt(&self, query: &str) -> Result<&SupplementForm, FormError> {
        let q = normalize_form_text(query);
        if let Some(f) = self.forms.iter().find(|f| {
            normalize_form_text(&f.row.id) == q
                || f.row.aliases.iter().any(|a| normalize_form_text(a) == q)
        }) {
            return Ok(f);
        }
        let members = self.family_members(&q);
        match members.as_slice() {
            [one] => Ok(one),
            [] => {
                let ids: Vec<&str> = self.forms.iter().map(|f| f.row.id.as_str()).collect();
                let best = ids
                    .iter()
                    .map(|id| (strsim::jaro_winkler(&q, &normalize_form_text(id)), *id))
                    .max_by(|a, b| a.0.total_cmp(&b.0));
                let hint = match best {
                    Some((score, id)) if score > 0.8 => format!(" (did you mean '{id}'?)"),
                    _ => String::new(),
                };
                Err(FormError::Unknown {
                    query: query.to_string(),
                    allowed: ids.join(", "),
                    hint,
                })
            }
            many => Err(FormError::Ambiguous {
                query: query.to_string(),
                family: q.clone(),
                options: many
                    .iter()
                    .map(|f| format!("{} {:.1} %", f.row.id, f.elemental_fraction * 100.0))
                    .collect::<Vec<_>>()
                    .join(", "),
            }),
        }
    }

    /// The family named in a free-text product name ("Magnesium Glycinate 100 mg" -> glycinate),
    /// if exactly one family is named.
    pub fn family_in_text(&self, text: &str) -> Option<String> {
        let words = format!(" {} ", normalize_form_text(text));
        let mut found: Vec<String> = Vec::new();
        for f in &self.forms {
            let names = std::iter::once(&f.row.family)
                .chain(std::iter::once(&f.row.id))
                .chain(&f.row.aliases);
            if names
                .map(|n| format!(" {} ", normalize_form_text(n)))
                .any(|n| words.contains(&n))
                && !found.contains(&f.row.family)
            {
                found.push(f.row.family.clone());
            }
        }
        match found.as_slice() {
            [one] => Some(one.clone()),
            _ => None,
        }
    }

    /// Distinct family names in table order.
    pub fn families(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        for f in &self.forms {
            if !out.contains(&f.row.family.as_str()) {
                out.push(&f.row.family);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn catalogue() -> FormCatalogue {
        FormCatalogue::new(&ReferenceData::shipped().unwrap())
    }

    #[test]
    fn elemental_percent_matches_facts_section_3() {
        // FACTS.md section 3, "% Mg" and "mg salt per 100 mg Mg" columns, to their printed
        // precision (one decimal place; whole milligrams).
        let expected = [
            ("oxide", 60.3, 166.0),
            ("hydroxide", 41.7, 240.0),
            ("carbonate-anhydrous", 28.8, 347.0),
            ("carbonate-basic", 26.0, 385.0),
            ("chloride-anhydrous", 25.5, 392.0),
            ("chloride-hexahydrate", 12.0, 836.0),
            ("sulfate-anhydrous", 20.2, 495.0),
            ("sulfate-heptahydrate", 9.9, 1014.0),
            ("citrate-anhydrous", 16.2, 619.0),
            ("citrate-nonahydrate", 11.9, 841.0),
            ("hydrogen-citrate", 11.3, 882.0),
            ("glycinate", 14.1, 709.0),
            ("malate-anhydrous", 15.5, 643.0),
            ("malate-trihydrate", 11.6, 866.0),
            ("lactate-anhydrous", 12.0, 833.0),
            ("lactate-dihydrate", 10.2, 981.0),
            ("taurate", 8.9, 1121.0),
            ("l-threonate", 8.3, 1212.0),
            ("aspartate-anhydrous", 8.4, 1187.0),
            ("aspartate-dihydrate", 7.5, 1335.0),
            ("orotate-anhydrous", 7.3, 1376.0),
            ("orotate-dihydrate", 6.6, 1524.0),
            ("gluconate-anhydrous", 5.9, 1706.0),
            ("gluconate-dihydrate", 5.4, 1854.0),
        ];
        let c = catalogue();
        assert_eq!(c.all().len(), expected.len());
        for (id, percent, salt_per_100) in expected {
            let f = c.by_id(id).unwrap_or_else(|| panic!("{id} missing"));
            let got_percent = (f.elemental_fraction * 1000.0).round() / 10.0;
            assert_eq!(got_percent, percent, "{id} percent");
            let salt = f
                .compound_for_elemental(ElementalMagnesium::from_mg(100.0))
                .mg();
            assert!(
                (salt - salt_per_100).abs() <= 1.0,
                "{id}: {salt} vs {salt_per_100}"
            );
        }
    }

    #[test]
    fn regulated_product_cross_checks() {
        let c = catalogue();
        // Spanish SmPC lactate tablet: 404.85 mg salt -> 48.62 mg Mg (FACTS 3: 48.61 computed).
        let lactate = c.resolve_salt("lactate").unwrap_err();
        assert!(matches!(lactate, FormError::Ambiguous { .. }));
        let mg = c
            .by_id("lactate-anhydrous")
            .unwrap()
            .elemental_from_compound(CompoundMass::from_mg(404.85))
            .mg();
        assert!((mg - 48.61).abs() < 0.02, "{mg}");
        // 865 mg MgO ~ 522 mg Mg (FACTS 6a, Roguin Maor).
        let mg = c
            .resolve_salt("oxide")
            .unwrap()
            .elemental_from_compound(CompoundMass::from_mg(865.0))
            .mg();
        assert!((mg - 522.0).abs() < 1.0, "{mg}");
    }

    #[test]
    fn resolves_ids_aliases_and_single_salt_families() {
        let c = catalogue();
        let cases = [
            ("glycinate", Ok("glycinate")),
            ("Magnesium Bisglycinate", Ok("glycinate")),
            ("citrate-nonahydrate", Ok("citrate-nonahydrate")),
            ("magnesium citrate nonahydrate", Ok("citrate-nonahydrate")),
            ("Epsom salt", Ok("sulfate-heptahydrate")),
            ("milk of magnesia", Ok("hydroxide")),
            ("L-threonate", Ok("l-threonate")),
            ("citrate", Err("ambiguous")),
            ("chloride", Err("ambiguous")),
            ("unobtainium", Err("unknown")),
        ];
        for (q, expected) in cases {
            let got = match c.resolve_salt(q) {
                Ok(f) => Ok(f.row.id.as_str()),
                Err(FormError::Ambiguous { .. }) => Err("ambiguous"),
                Err(FormError::Unknown { .. }) => Err("unknown"),
            };
            assert_eq!(got, expected, "{q}");
        }
    }

    #[test]
    fn unknown_form_suggests_the_closest_and_lists_the_allowed() {
        let err = catalogue()
            .resolve_salt("glycinat")
            .unwrap_err()
            .to_string();
        assert!(err.contains("did you mean 'glycinate'"), "{err}");
        assert!(err.contains("oxide, hydroxide"), "{err}");
    }

    #[test]
    fn family_in_product_text() {
        let c = catalogue();
        let cases = [
            ("magnesium glycinate", Some("glycinate")),
            ("Nature's Best Magnesium Citrate 200", Some("citrate")),
            ("Epsom salts", Some("sulfate")),
            ("magnesium", None),
            ("vitamin D", None),
            ("magnesium citrate and oxide", None),
        ];
        for (text, expected) in cases {
            assert_eq!(c.family_in_text(text).as_deref(), expected, "{text}");
        }
    }
}
