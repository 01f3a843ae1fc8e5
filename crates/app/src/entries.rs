//! Diary entries from separate typed values (the web pages and the JSON API), each refusal
//! naming the one field it is about. The checks are the diary's own (`Record::validate`,
//! `parse_dose`, `FactorKind::parse`, `IrlsScore::score`); this module only says which field a
//! refusal concerns and builds the same records as `quietlegs log ...`.

use jiff::civil::Date;
use quietlegs_core::clock::ClockTime;
use quietlegs_core::diary::{Dose, Factor, FactorKind, IrlsEntry, Record, SideEffects};
use quietlegs_core::forms::FormCatalogue;
use quietlegs_core::supplement::{parse_dose, SupplementError};
use quietlegs_core::IrlsScore;
use serde::{Deserialize, Serialize};

use crate::diary::{default_evening, Entry};
use crate::{AppError, Context};

/// Every field a diary refusal can name, as the pages and the API name them.
const RECORD_FIELDS: &[&str] = &[
    "date",
    "severity",
    "sleep_quality",
    "hours_slept",
    "minutes_to_sleep",
    "awakenings",
    "note",
    "product",
    "form",
    "elemental_mg",
    "diarrhea",
    "nausea",
    "cramps",
    "kind",
    "amount",
    "unit",
    "time",
    "items",
    "rls6",
];

/// Validates `record` as [`Entry::new`] does, naming the refused field.
pub fn entry(ctx: &Context<'_>, record: Record) -> Result<Entry, AppError> {
    if let Err(e) = record.validate(ctx.now.date, &ctx.reference.irls) {
        // The IRLS check names its scale ("irls"); the value sent is the item list.
        let name = if e.field == "irls" { "items" } else { &e.field };
        let field = RECORD_FIELDS.iter().copied().find(|f| *f == name);
        return Err(AppError::new(
            crate::ErrorKind::BadInput,
            field,
            e.message.clone(),
        ));
    }
    Entry::new(ctx, record)
}

fn clock(field: &'static str, text: Option<&str>) -> Result<Option<ClockTime>, AppError> {
    text.map(str::trim)
        .filter(|t| !t.is_empty())
        .map(|t| ClockTime::parse(t).map_err(|e| AppError::field(field, e.to_string())))
        .transpose()
}

/// How a label states a dose's amount.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum AmountBasis {
    /// Elemental magnesium (a Supplement Facts panel).
    Elemental,
    /// The compound (salt) weight: converted with the salt's elemental fraction.
    Compound,
}

/// A supplement dose as typed (`log dose FORM=[N x ]AMOUNT mg elemental|compound`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct DoseInput {
    /// A salt id ("glycinate", "citrate-nonahydrate") or, for an elemental amount, a family.
    pub form: String,
    /// mg per serving, more than 0 up to 10000.
    pub amount_mg: f64,
    pub basis: AmountBasis,
    /// Servings taken (default 1).
    pub servings: Option<f64>,
    /// The product's name, for your records (default: the dose as written).
    pub product: Option<String>,
    /// HH:MM (default: now).
    pub time: Option<String>,
    /// YYYY-MM-DD (default: today).
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = Date))]
    pub date: Option<Date>,
}

/// A dose entry, converted to elemental magnesium like `log dose`.
pub fn dose(ctx: &Context<'_>, d: &DoseInput) -> Result<Entry, AppError> {
    let form = d.form.trim();
    if form.is_empty() || form.contains(['=', '\n']) {
        return Err(AppError::field("form", "choose a form of magnesium"));
    }
    if !(d.amount_mg.is_finite() && d.amount_mg > 0.0) {
        return Err(AppError::field(
            "amount_mg",
            format!("{} is out of range: allowed more than 0 mg", d.amount_mg),
        ));
    }
    let servings = d.servings.unwrap_or(1.0);
    if !(servings.is_finite() && servings > 0.0) {
        return Err(AppError::field(
            "servings",
            format!("{servings} is out of range: allowed more than 0"),
        ));
    }
    let basis = match d.basis {
        AmountBasis::Elemental => "elemental",
        AmountBasis::Compound => "compound",
    };
    let spec = if servings == 1.0 {
        format!("{form}={} mg {basis}", d.amount_mg)
    } else {
        format!("{form}={servings} x {} mg {basis}", d.amount_mg)
    };
    let parsed = parse_dose(&spec, &FormCatalogue::new(ctx.reference)).map_err(|e| {
        let field = match &e {
            SupplementError::Form { .. } => "form",
            SupplementError::NoBasis { .. } => "basis",
            SupplementError::OutOfRange { .. } | SupplementError::Syntax(_) => "amount_mg",
        };
        AppError::invalid(Some(field), &e)
    })?;
    let product = d
        .product
        .as_deref()
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map_or_else(|| spec.clone(), str::to_string);
    entry(
        ctx,
        Record::Dose(Dose {
            date: d.date.unwrap_or(ctx.now.date),
            time: clock("time", d.time.as_deref())?.unwrap_or(ctx.now.time),
            product,
            form: Some(parsed.product.form),
            elemental_mg: parsed.elemental_mg,
        }),
    )
}

/// Side effects of an evening, each 0 (none) to 3 (severe).
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SideEffectsInput {
    /// YYYY-MM-DD (default: this evening; before noon, last evening).
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = Date))]
    pub date: Option<Date>,
    #[cfg_attr(feature = "openapi", schema(minimum = 0, maximum = 3))]
    pub diarrhea: u8,
    #[cfg_attr(feature = "openapi", schema(minimum = 0, maximum = 3))]
    pub nausea: u8,
    #[cfg_attr(feature = "openapi", schema(minimum = 0, maximum = 3))]
    pub cramps: u8,
}

pub fn side_effects(ctx: &Context<'_>, s: &SideEffectsInput) -> Result<Entry, AppError> {
    entry(
        ctx,
        Record::SideEffects(SideEffects {
            date: s.date.unwrap_or_else(|| default_evening(ctx.now)),
            diarrhea: s.diarrhea,
            nausea: s.nausea,
            cramps: s.cramps,
        }),
    )
}

/// An evening factor (`log factor`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct FactorInput {
    /// caffeine, alcohol, tobacco, exercise, massage, warm-bath, heat-cold-pack, screens or
    /// custom:NAME.
    pub kind: String,
    /// How much, with `unit`.
    pub amount: Option<f64>,
    /// The kind's unit (caffeine: mg or cups; alcohol: drinks; ...).
    pub unit: Option<String>,
    /// HH:MM.
    pub time: Option<String>,
    /// YYYY-MM-DD (default: today).
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = Date))]
    pub date: Option<Date>,
}

pub fn factor(ctx: &Context<'_>, f: &FactorInput) -> Result<Entry, AppError> {
    let kind = FactorKind::parse(&f.kind).map_err(|e| AppError::field("kind", e.message))?;
    entry(
        ctx,
        Record::Factor(Factor {
            date: f.date.unwrap_or(ctx.now.date),
            kind,
            amount: f.amount,
            unit: f
                .unit
                .as_deref()
                .map(str::trim)
                .filter(|u| !u.is_empty())
                .map(str::to_string),
            time: clock("time", f.time.as_deref())?,
        }),
    )
}

/// The built-in factor kinds with the units each allows (the page's choices).
pub fn factor_kinds() -> Vec<(&'static str, &'static [&'static str])> {
    FactorKind::BUILT_IN
        .iter()
        .map(|(name, kind)| (*name, kind.units()))
        .collect()
}

/// A weekly IRLS: the ten item values (0-4) in item order.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct IrlsInput {
    /// YYYY-MM-DD (default: today).
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = Date))]
    pub date: Option<Date>,
    /// Ten values 0-4, in the order of the items' domains.
    pub items: Vec<i64>,
}

pub fn irls(ctx: &Context<'_>, i: &IrlsInput) -> Result<Entry, AppError> {
    let score = IrlsScore::score(&ctx.reference.irls, &i.items)
        .map_err(|e| AppError::invalid(Some("items"), &e))?;
    entry(
        ctx,
        Record::Irls(IrlsEntry {
            date: i.date.unwrap_or(ctx.now.date),
            items: score.items,
            total: score.total,
            band: score.band,
            rls6: None,
        }),
    )
}

/// The IRLS items' paraphrased domains, in item order (never the copyrighted wording).
pub fn irls_domains(ctx: &Context<'_>) -> Vec<String> {
    ctx.reference.irls.domains.clone()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{FoodCatalog, Now};
    use quietlegs_core::ReferenceData;

    #[test]
    fn entries_are_built_like_the_cli_and_refusals_name_their_field() {
        let data = ReferenceData::shipped().unwrap();
        let now = Now::fixed(
            jiff::civil::date(2026, 11, 20),
            ClockTime::parse("21:00").unwrap(),
        );
        let ctx = Context {
            now: &now,
            reference: &data,
            foods: &FoodCatalog::new(),
        };
        let d = DoseInput {
            form: "glycinate".into(),
            amount_mg: 120.0,
            basis: AmountBasis::Elemental,
            servings: Some(2.0),
            product: None,
            time: Some("21:15".into()),
            date: None,
        };
        let Record::Dose(logged) = dose(&ctx, &d).unwrap().record().clone() else {
            panic!("a dose")
        };
        // 2 servings of 120 mg elemental = 240 mg.
        assert_eq!(logged.elemental_mg, 240.0);
        assert_eq!(logged.product, "glycinate=2 x 120 mg elemental");
        let bad = |f: fn(&mut DoseInput)| {
            let mut x = d.clone();
            f(&mut x);
            dose(&ctx, &x).unwrap_err().field
        };
        assert_eq!(bad(|x| x.form = "unobtainium".into()), Some("form"));
        assert_eq!(bad(|x| x.amount_mg = 0.0), Some("amount_mg"));
        assert_eq!(bad(|x| x.amount_mg = 20_000.0), Some("amount_mg"));
        assert_eq!(bad(|x| x.time = Some("25:00".into())), Some("time"));
        assert_eq!(
            bad(|x| x.date = Some(jiff::civil::date(2026, 11, 21))),
            Some("date")
        );
        let s = SideEffectsInput {
            date: None,
            diarrhea: 4,
            nausea: 0,
            cramps: 0,
        };
        assert_eq!(side_effects(&ctx, &s).unwrap_err().field, Some("diarrhea"));
        let f = FactorInput {
            kind: "caffeine".into(),
            amount: Some(2.0),
            unit: Some("drinks".into()),
            time: None,
            date: None,
        };
        assert_eq!(factor(&ctx, &f).unwrap_err().field, Some("unit"));
        let f = FactorInput {
            kind: "coffee".into(),
            ..f
        };
        assert_eq!(factor(&ctx, &f).unwrap_err().field, Some("kind"));
        let i = IrlsInput {
            date: None,
            items: vec![2, 2, 2, 2, 2, 2, 2, 2, 2, 5],
        };
        assert_eq!(irls(&ctx, &i).unwrap_err().field, Some("items"));
        let i = IrlsInput {
            date: None,
            items: vec![2, 2, 2, 2, 2, 2, 2, 2, 2, 1],
        };
        // 9 x 2 + 1 = 19: moderate (11-20).
        let Record::Irls(e) = irls(&ctx, &i).unwrap().record().clone() else {
            panic!("an IRLS")
        };
        assert_eq!((e.total, e.band.as_str()), (19, "moderate"));
    }
}
