//! The plan and the reference tools: `plan`, `score irls`, `forms`, `convert`, `about`.

use std::collections::BTreeMap;

use quietlegs_core::forms::{CompoundMass, FormCatalogue, SupplementForm};
use quietlegs_core::irls::IrlsBand;
use quietlegs_core::reference::Source;
use quietlegs_core::{build_plan, ElementalMagnesium, IrlsScore, Plan, Profile};
use quietlegs_store::Store;
use serde::Serialize;

use crate::{AppError, Context};

/// Parses a profile (TOML, `docs/profile.md`); errors are bad input naming the key.
pub fn profile(ctx: &Context<'_>, toml: &str) -> Result<Profile, AppError> {
    Profile::from_toml(toml, ctx.reference).map_err(|e| AppError::invalid(None, &e))
}

/// The plan for a profile (`plan --json`: the [`Plan`], documented in `docs/plan-json.md`); the
/// food-first suggestions draw on the shipped and the imported foods.
pub fn plan<S: Store>(
    ctx: &Context<'_>,
    store: Option<&S>,
    profile: &Profile,
) -> Result<Plan, AppError> {
    Ok(build_plan(profile, ctx.reference, ctx.foods.table(store)?))
}

/// A scored IRLS (`score irls --json`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScaleScore {
    /// Always "irls" for now.
    pub scale: &'static str,
    pub items: Vec<u8>,
    pub total: u32,
    pub band: IrlsBand,
}

/// Scores the ten IRLS item values, in item order.
pub fn score_irls(ctx: &Context<'_>, items: &[i64]) -> Result<ScaleScore, AppError> {
    let s =
        IrlsScore::score(&ctx.reference.irls, items).map_err(|e| AppError::invalid(None, &e))?;
    Ok(ScaleScore {
        scale: "irls",
        items: s.items,
        total: s.total,
        band: s.band,
    })
}

/// The supplement salts with their elemental fractions (`forms --json`).
pub fn forms(ctx: &Context<'_>) -> Vec<SupplementForm> {
    FormCatalogue::new(ctx.reference).all().to_vec()
}

/// What to convert: a salt weight or an elemental amount, in mg.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ConvertFrom {
    CompoundMg(f64),
    ElementalMg(f64),
}

/// Largest salt or elemental amount accepted (10 g): anything above is a typo for a daily
/// supplement (an input-plausibility bound, not a clinical rule).
pub const MAX_CONVERT_MG: f64 = 10_000.0;

/// A salt weight and its elemental magnesium (`convert --json`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Conversion {
    pub form: String,
    pub name: String,
    #[serde(skip)]
    pub formula: String,
    pub elemental_fraction: f64,
    pub compound_mg: f64,
    pub elemental_mg: f64,
    pub sources: Vec<String>,
}

/// Converts between the weight of `form` and its elemental magnesium.
pub fn convert(ctx: &Context<'_>, form: &str, from: ConvertFrom) -> Result<Conversion, AppError> {
    let catalogue = FormCatalogue::new(ctx.reference);
    let salt = catalogue
        .resolve_salt(form)
        .map_err(|e| AppError::invalid(Some("form"), &e))?;
    let check = |field: &'static str, v: f64| {
        if v.is_finite() && v > 0.0 && v <= MAX_CONVERT_MG {
            Ok(v)
        } else {
            Err(AppError::field(
                field,
                format!("{v} is out of range: allowed more than 0 up to {MAX_CONVERT_MG} mg"),
            ))
        }
    };
    let (compound, elemental) = match from {
        ConvertFrom::CompoundMg(c) => {
            let c = CompoundMass::from_mg(check("compound_mg", c)?);
            (c, salt.elemental_from_compound(c))
        }
        ConvertFrom::ElementalMg(e) => {
            let e = ElementalMagnesium::from_mg(check("elemental_mg", e)?);
            (salt.compound_for_elemental(e), e)
        }
    };
    Ok(Conversion {
        form: salt.row.id.clone(),
        name: salt.row.name.clone(),
        formula: salt.row.formula.clone(),
        elemental_fraction: salt.elemental_fraction,
        compound_mg: compound.mg(),
        elemental_mg: elemental.mg(),
        sources: salt.row.sources.clone(),
    })
}

/// The IRLS copyright notice.
pub const IRLS_NOTICE: &str = "The IRLS is copyrighted by the International RLS Study Group; \
quietlegs stores and scores item values and labels items by paraphrased domain only.";

/// Version, licence and every reference source (`about --json`).
#[derive(Debug, Clone, Serialize)]
pub struct About {
    pub name: &'static str,
    pub version: &'static str,
    pub licence: &'static str,
    pub disclaimer: &'static str,
    pub irls_notice: &'static str,
    pub sources: BTreeMap<String, Source>,
}

pub fn about(ctx: &Context<'_>) -> About {
    About {
        name: "quietlegs",
        version: env!("CARGO_PKG_VERSION"),
        licence: env!("CARGO_PKG_LICENSE"),
        disclaimer: quietlegs_core::DISCLAIMER,
        irls_notice: IRLS_NOTICE,
        sources: ctx.reference.sources.clone(),
    }
}
