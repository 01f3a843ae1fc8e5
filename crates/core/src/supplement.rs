//! Supplements as products: a name, a form, the amount per serving and whether the label states
//! elemental magnesium or the salt (compound) weight, turned into elemental magnesium.

use crate::forms::{CompoundMass, FormCatalogue, FormError};
use serde::{Deserialize, Serialize};

/// What the label's number means.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LabelBasis {
    /// Elemental magnesium, as on a US Supplement Facts panel.
    Elemental,
    /// The weight of the salt ("magnesium citrate 500 mg").
    Compound,
}

/// A supplement product.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SupplementProduct {
    pub name: String,
    /// A salt id or form family from `quietlegs forms`.
    pub form: String,
    pub amount_per_serving_mg: f64,
    pub basis: LabelBasis,
}

/// A product or dose that cannot be converted.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SupplementError {
    #[error("supplement '{0}': write FORM=AMOUNT, e.g. \"glycinate=120 mg elemental\" or \"citrate-nonahydrate=2 x 500 mg compound\"")]
    Syntax(String),
    #[error("supplement '{spec}': say whether {amount} mg is elemental magnesium (as on a Supplement Facts panel) or the compound (salt) weight: add \"elemental\" or \"compound\"")]
    NoBasis { spec: String, amount: String },
    #[error("supplement '{spec}': amount must be more than 0 and at most {max} mg per serving, and servings more than 0")]
    OutOfRange { spec: String, max: f64 },
    #[error("supplement '{spec}': {source}")]
    Form {
        spec: String,
        #[source]
        source: FormError,
    },
}

/// Largest amount per serving accepted (10 g of salt): above it is a typo.
const MAX_SERVING_MG: f64 = 10_000.0;

impl SupplementProduct {
    /// Elemental magnesium in `servings` servings. A compound weight needs the exact salt (the
    /// hydrate changes the fraction); an elemental amount needs only a known form or family.
    pub fn elemental_mg(&self, catalogue: &FormCatalogue, servings: f64) -> Result<f64, FormError> {
        match self.basis {
            LabelBasis::Elemental => {
                let known = catalogue.resolve_salt(&self.form).is_ok()
                    || catalogue.families().contains(&self.form.as_str())
                    || self.form == "unspecified";
                if !known {
                    catalogue.resolve_salt(&self.form)?;
                }
                Ok(self.amount_per_serving_mg * servings)
            }
            LabelBasis::Compound => {
                let salt = catalogue.resolve_salt(&self.form)?;
                Ok(salt
                    .elemental_from_compound(CompoundMass::from_mg(self.amount_per_serving_mg))
                    .mg()
                    * servings)
            }
        }
    }
}

/// A dose written on the command line: `FORM=[N x ]AMOUNT mg elemental|compound`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SupplementDose {
    pub product: SupplementProduct,
    pub servings: f64,
    pub elemental_mg: f64,
}

/// Parses and converts `glycinate=120 mg elemental`, `citrate-nonahydrate=2 x 500 mg compound`.
pub fn parse_dose(
    spec: &str,
    catalogue: &FormCatalogue,
) -> Result<SupplementDose, SupplementError> {
    let syntax = || SupplementError::Syntax(spec.to_string());
    let (form, rest) = spec.split_once('=').ok_or_else(syntax)?;
    let form = form.trim().to_lowercase();
    let rest = rest.trim().to_lowercase();
    let (servings, rest) = match rest.split_once(" x ") {
        Some((n, r)) => (
            n.trim().parse::<f64>().map_err(|_| syntax())?,
            r.trim().to_string(),
        ),
        None => (1.0, rest),
    };
    let tokens: Vec<&str> = rest.split_whitespace().collect();
    let (amount_text, unit_and_basis) = tokens.split_first().ok_or_else(syntax)?;
    let amount_text = amount_text.trim_end_matches("mg");
    let amount: f64 = amount_text.parse().map_err(|_| syntax())?;
    let words: Vec<&str> = unit_and_basis
        .iter()
        .copied()
        .filter(|w| *w != "mg")
        .collect();
    let basis = match words.as_slice() {
        ["elemental"] => LabelBasis::Elemental,
        ["compound"] | ["salt"] => LabelBasis::Compound,
        [] => {
            return Err(SupplementError::NoBasis {
                spec: spec.to_string(),
                amount: amount_text.to_string(),
            })
        }
        _ => return Err(syntax()),
    };
    let in_range = amount.is_finite()
        && amount > 0.0
        && amount <= MAX_SERVING_MG
        && servings.is_finite()
        && servings > 0.0;
    if !in_range {
        return Err(SupplementError::OutOfRange {
            spec: spec.to_string(),
            max: MAX_SERVING_MG,
        });
    }
    let product = SupplementProduct {
        name: form.clone(),
        form,
        amount_per_serving_mg: amount,
        basis,
    };
    let elemental_mg = product
        .elemental_mg(catalogue, servings)
        .map_err(|source| SupplementError::Form {
            spec: spec.to_string(),
            source,
        })?;
    Ok(SupplementDose {
        product,
        servings,
        elemental_mg,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reference::ReferenceData;

    fn cat() -> FormCatalogue {
        FormCatalogue::new(&ReferenceData::shipped().unwrap())
    }

    #[test]
    fn converts_label_amounts_to_elemental() {
        let c = cat();
        let cases = [
            // elemental on the label: taken as is
            ("glycinate=120 mg elemental", 120.0),
            ("citrate=2 x 100 mg elemental", 200.0),
            // 500 mg citrate nonahydrate x 3 x 24.305 / 613.25 = 59.45 mg
            ("citrate-nonahydrate=500 mg compound", 59.45),
            // 2 x 400 mg MgO x 24.305 / 40.30 = 482.48 mg
            ("oxide=2 x 400 mg compound", 482.48),
            ("oxide=400mg compound", 241.24),
        ];
        for (spec, mg) in cases {
            let d = parse_dose(spec, &c).unwrap();
            assert!(
                (d.elemental_mg - mg).abs() < 0.01,
                "{spec}: {}",
                d.elemental_mg
            );
        }
    }

    #[test]
    fn refuses_to_guess() {
        let c = cat();
        let cases = [
            ("glycinate=120 mg", "say whether 120 mg is elemental"),
            ("citrate=500 mg compound", "ambiguous"),
            ("kryptonite=5 mg elemental", "not known"),
            ("glycinate=-5 mg elemental", "more than 0"),
            ("glycinate", "write FORM=AMOUNT"),
        ];
        for (spec, msg) in cases {
            let err = parse_dose(spec, &c).unwrap_err().to_string();
            assert!(err.contains(msg), "{spec}: {err}");
        }
    }

    proptest::proptest! {
        /// `log dose` and `intake --supplement` values: any text is read or refused, never a
        /// panic, and whatever is read is a positive, finite elemental amount.
        #[test]
        fn dose_specs_never_panic(spec in "\\PC{0,60}|[a-z]{1,12}=[0-9. ]{0,8}(mg)? ?(elemental|compound)?") {
            if let Ok(d) = parse_dose(&spec, &cat()) {
                proptest::prop_assert!(d.elemental_mg.is_finite() && d.elemental_mg > 0.0);
            }
        }
    }
}
