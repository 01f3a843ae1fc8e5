//! The International RLS Study Group rating scale (IRLS): ten items scored 0-4, total 0-40, and
//! its severity band. Item wording is copyrighted; only paraphrased domains are shipped.

use crate::reference::IrlsDefinition;
use serde::{Deserialize, Serialize};

/// Severity band of an IRLS total.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum IrlsBand {
    None,
    Mild,
    Moderate,
    Severe,
    VerySevere,
}

impl IrlsBand {
    fn from_id(id: &str) -> Option<Self> {
        Some(match id {
            "none" => Self::None,
            "mild" => Self::Mild,
            "moderate" => Self::Moderate,
            "severe" => Self::Severe,
            "very-severe" => Self::VerySevere,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Mild => "mild",
            Self::Moderate => "moderate",
            Self::Severe => "severe",
            Self::VerySevere => "very-severe",
        }
    }
}

/// A bad set of IRLS item values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IrlsError {
    #[error("IRLS needs exactly {expected} item values, got {got}")]
    WrongCount { expected: usize, got: usize },
    #[error("IRLS item {item} ({domain}) is {value}: allowed {min} to {max}")]
    OutOfRange {
        item: usize,
        domain: String,
        value: i64,
        min: u8,
        max: u8,
    },
    #[error("the IRLS band table has no band for total {0}")]
    NoBand(u32),
}

/// A scored IRLS questionnaire.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IrlsScore {
    pub items: Vec<u8>,
    pub total: u32,
    pub band: IrlsBand,
}

impl IrlsScore {
    /// Scores ten item values (each 0-4). Values arrive as `i64` so that out-of-range input is
    /// reported with its value rather than failing to parse.
    pub fn score(def: &IrlsDefinition, values: &[i64]) -> Result<Self, IrlsError> {
        if values.len() != def.items {
            return Err(IrlsError::WrongCount {
                expected: def.items,
                got: values.len(),
            });
        }
        let mut items = Vec::with_capacity(values.len());
        for (i, &v) in values.iter().enumerate() {
            if v < i64::from(def.item_min) || v > i64::from(def.item_max) {
                return Err(IrlsError::OutOfRange {
                    item: i + 1,
                    domain: def.domains[i].clone(),
                    value: v,
                    min: def.item_min,
                    max: def.item_max,
                });
            }
            items.push(v as u8);
        }
        let total: u32 = items.iter().map(|&v| u32::from(v)).sum();
        let band = def
            .band
            .iter()
            .find(|b| b.min <= total && total <= b.max)
            .and_then(|b| IrlsBand::from_id(&b.id))
            .ok_or(IrlsError::NoBand(total))?;
        Ok(Self { items, total, band })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reference::ReferenceData;
    use proptest::prelude::*;

    fn def() -> IrlsDefinition {
        ReferenceData::shipped().unwrap().irls
    }

    /// Ten items summing to `total` (fill items with 4s, then the remainder).
    fn items_for(total: i64) -> Vec<i64> {
        (0..10).map(|i| (total - 4 * i).clamp(0, 4)).collect()
    }

    #[test]
    fn band_boundaries_match_facts_section_4a() {
        // FACTS 4a: 0 none; 1-10 mild; 11-20 moderate; 21-30 severe; 31-40 very severe.
        let cases = [
            (0, IrlsBand::None),
            (1, IrlsBand::Mild),
            (10, IrlsBand::Mild),
            (11, IrlsBand::Moderate),
            (20, IrlsBand::Moderate),
            (21, IrlsBand::Severe),
            (30, IrlsBand::Severe),
            (31, IrlsBand::VerySevere),
            (40, IrlsBand::VerySevere),
        ];
        let d = def();
        for (total, band) in cases {
            let s = IrlsScore::score(&d, &items_for(total)).unwrap();
            assert_eq!((s.total, s.band), (total as u32, band), "total {total}");
        }
    }

    #[test]
    fn rejects_wrong_count_and_out_of_range_items() {
        let d = def();
        assert_eq!(
            IrlsScore::score(&d, &[1; 9]).unwrap_err(),
            IrlsError::WrongCount {
                expected: 10,
                got: 9
            }
        );
        let err = IrlsScore::score(&d, &[0, 0, 5, 0, 0, 0, 0, 0, 0, 0]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "IRLS item 3 (Relief from moving) is 5: allowed 0 to 4"
        );
        assert!(IrlsScore::score(&d, &[0, 0, 0, 0, 0, 0, 0, 0, 0, -1]).is_err());
    }

    proptest! {
        #[test]
        fn total_is_the_item_sum_and_band_contains_it(items in proptest::collection::vec(0i64..=4, 10)) {
            let s = IrlsScore::score(&def(), &items).unwrap();
            prop_assert_eq!(i64::from(s.total), items.iter().sum::<i64>());
            let band = def().band.into_iter().find(|b| b.id == s.band.as_str()).unwrap();
            prop_assert!(band.min <= s.total && s.total <= band.max);
        }
    }
}
