//! A day's magnesium: food against the RDA, supplements against the upper limit, the top
//! contributors, and foods in realistic portions that would close the gap.

use super::amount::{parse_amount, resolve};
use super::FoodTable;
use serde::Serialize;

/// One food eaten, already resolved to grams and magnesium.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FoodEaten {
    pub food_id: String,
    pub name: String,
    pub amount: String,
    pub grams: f64,
    /// `None` when USDA gives no magnesium for the food (it then counts as unknown, not 0).
    pub magnesium_mg: Option<f64>,
}

/// One supplement dose, as elemental magnesium.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SupplementTaken {
    pub label: String,
    pub elemental_mg: f64,
}

/// A contributor to the day's magnesium.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Contributor {
    pub label: String,
    pub magnesium_mg: f64,
    /// Share of the known total, 0-1.
    pub share: f64,
}

/// A food that would help close the gap.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GapCloser {
    pub food_id: String,
    pub name: String,
    pub amount: String,
    pub grams: f64,
    pub magnesium_mg: f64,
}

/// The day's summary.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IntakeSummary {
    pub food_mg: f64,
    /// Foods whose magnesium USDA does not give: the food total is a lower bound if any.
    pub foods_without_magnesium: Vec<String>,
    pub supplement_mg: f64,
    pub supplemental_ul_mg: u32,
    pub supplements_over_ul: bool,
    pub total_mg: f64,
    pub rda_mg: Option<u32>,
    /// RDA minus total (negative when above), when the RDA is known.
    pub gap_mg: Option<f64>,
    pub top_contributors: Vec<Contributor>,
    pub gap_closers: Vec<GapCloser>,
}

/// How many contributors and gap-closing foods to list.
const TOP_CONTRIBUTORS: usize = 5;
const MAX_GAP_CLOSERS: usize = 5;

/// Foods from `table.gap_closers` in their realistic portion, richest first, enough to cover
/// `gap_mg` (at most [`MAX_GAP_CLOSERS`]); foods already eaten today are skipped.
pub fn gap_closers(table: &FoodTable, gap_mg: f64, eaten: &[String]) -> Vec<GapCloser> {
    if gap_mg <= 0.0 {
        return Vec::new();
    }
    let mut options: Vec<GapCloser> = table
        .gap_closers
        .iter()
        .filter(|(id, _)| !eaten.contains(id))
        .filter_map(|(id, portion)| {
            let food = table.by_id(id)?;
            let r = resolve(food, &parse_amount(portion).ok()?).ok()?;
            Some(GapCloser {
                food_id: id.clone(),
                name: food.name.clone(),
                amount: portion.clone(),
                grams: r.grams,
                magnesium_mg: r.magnesium_mg?,
            })
        })
        .collect();
    options.sort_by(|a, b| b.magnesium_mg.total_cmp(&a.magnesium_mg));
    let mut out = Vec::new();
    let mut covered = 0.0;
    for o in options {
        if covered >= gap_mg || out.len() == MAX_GAP_CLOSERS {
            break;
        }
        covered += o.magnesium_mg;
        out.push(o);
    }
    out
}

/// Summarises a day.
pub fn summarise(
    table: &FoodTable,
    foods: &[FoodEaten],
    supplements: &[SupplementTaken],
    rda_mg: Option<u32>,
    supplemental_ul_mg: u32,
) -> IntakeSummary {
    let food_mg: f64 = foods.iter().filter_map(|f| f.magnesium_mg).sum();
    let supplement_mg: f64 = supplements.iter().map(|s| s.elemental_mg).sum();
    let total_mg = food_mg + supplement_mg;
    let gap_mg = rda_mg.map(|r| f64::from(r) - total_mg);
    let mut contributors: Vec<Contributor> = foods
        .iter()
        .filter_map(|f| {
            f.magnesium_mg
                .map(|m| (format!("{} ({})", f.name, f.amount), m))
        })
        .chain(
            supplements
                .iter()
                .map(|s| (s.label.clone(), s.elemental_mg)),
        )
        .map(|(label, magnesium_mg)| Contributor {
            label,
            magnesium_mg,
            share: if total_mg > 0.0 {
                magnesium_mg / total_mg
            } else {
                0.0
            },
        })
        .collect();
    contributors.sort_by(|a, b| b.magnesium_mg.total_cmp(&a.magnesium_mg));
    contributors.truncate(TOP_CONTRIBUTORS);
    let eaten: Vec<String> = foods.iter().map(|f| f.food_id.clone()).collect();
    IntakeSummary {
        food_mg,
        foods_without_magnesium: foods
            .iter()
            .filter(|f| f.magnesium_mg.is_none())
            .map(|f| f.name.clone())
            .collect(),
        supplement_mg,
        supplemental_ul_mg,
        supplements_over_ul: supplement_mg > f64::from(supplemental_ul_mg),
        total_mg,
        rda_mg,
        gap_mg,
        top_contributors: contributors,
        gap_closers: gap_mg
            .map(|g| gap_closers(table, g, &eaten))
            .unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eaten(table: &FoodTable, id: &str, amount: &str) -> FoodEaten {
        let food = table.by_id(id).unwrap();
        let r = resolve(food, &parse_amount(amount).unwrap()).unwrap();
        FoodEaten {
            food_id: id.into(),
            name: food.name.clone(),
            amount: amount.into(),
            grams: r.grams,
            magnesium_mg: r.magnesium_mg,
        }
    }

    #[test]
    fn a_day_with_almonds_spinach_and_a_supplement() {
        let t = FoodTable::shipped().unwrap();
        // 1 oz almonds: 28.3495 g x 270/100 = 76.54 mg; 1/2 cup boiled spinach: 90 g x 87/100 =
        // 78.3 mg; food 154.84 mg; supplement 200 mg; total 354.84; RDA 420 -> gap 65.16 mg.
        let foods = [eaten(&t, "12061", "1 oz"), eaten(&t, "11458", "1/2 cup")];
        let supps = [SupplementTaken {
            label: "citrate".into(),
            elemental_mg: 200.0,
        }];
        let s = summarise(&t, &foods, &supps, Some(420), 350);
        assert!((s.food_mg - 154.84).abs() < 0.01, "{}", s.food_mg);
        assert!((s.total_mg - 354.84).abs() < 0.01);
        assert!((s.gap_mg.unwrap() - 65.16).abs() < 0.01);
        assert!(!s.supplements_over_ul);
        assert_eq!(s.top_contributors[0].label, "citrate");
        // Richest realistic portion not yet eaten: pumpkin seeds 1 oz = 28.3495 x 592/100 =
        // 167.83 mg, which alone covers the 65 mg gap.
        assert_eq!(s.gap_closers.len(), 1);
        assert_eq!(s.gap_closers[0].food_id, "12014");
        assert!((s.gap_closers[0].magnesium_mg - 167.83).abs() < 0.01);
    }

    #[test]
    fn gap_closers_cover_a_large_gap_with_several_foods_and_none_when_met() {
        let t = FoodTable::shipped().unwrap();
        let list = gap_closers(&t, 400.0, &[]);
        let covered: f64 = list.iter().map(|g| g.magnesium_mg).sum();
        assert!(
            covered >= 400.0 && list.len() <= MAX_GAP_CLOSERS,
            "{list:?}"
        );
        assert!(list
            .windows(2)
            .all(|w| w[0].magnesium_mg >= w[1].magnesium_mg));
        assert!(gap_closers(&t, 0.0, &[]).is_empty());
        assert!(gap_closers(&t, -10.0, &[]).is_empty());
    }

    #[test]
    fn every_suggested_portion_resolves() {
        let t = FoodTable::shipped().unwrap();
        for (id, portion) in &t.gap_closers {
            let food = t.by_id(id).unwrap();
            let r = resolve(food, &parse_amount(portion).unwrap());
            assert!(r.is_ok(), "{id} {portion}: {r:?}");
        }
    }
}
