//! FoodData Central CSV downloads: every field double-quoted, UTF-8, one header row, an empty
//! string for null; columns are found by header name because they changed between releases
//! (`food_nutrient.csv` has 11 columns in SR Legacy 2018 and 13 in the 2024+ full download).

use crate::source::Source;
use crate::{pad_ndb, split_leading_amount, ImportError, ImportReport, Progress};
use quietlegs_core::food::{Food, Nutrients, Portion};
use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::io::Read;
use std::rc::Rc;

/// Line numbers by byte offset, counted as the bytes stream past (the csv crate's own line
/// numbers are one short for CRLF files, which USDA ships). Only newlines not yet below the
/// last asked offset are kept, so memory stays bounded by the read-ahead buffer.
#[derive(Default)]
struct Lines {
    offset: u64,
    pending: VecDeque<u64>,
    before: u64,
}

impl Lines {
    fn line_at(&mut self, byte: u64) -> u64 {
        // A CRLF record "starts" at the '\n' of the previous line end: that newline counts.
        while self.pending.front().is_some_and(|&nl| nl <= byte) {
            self.pending.pop_front();
            self.before += 1;
        }
        self.before + 1
    }
}

struct Tracking<'a> {
    inner: &'a mut dyn Read,
    lines: Rc<RefCell<Lines>>,
}

impl Read for Tracking<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        let mut l = self.lines.borrow_mut();
        for (i, &b) in buf[..n].iter().enumerate() {
            if b == b'\n' {
                let at = l.offset + i as u64;
                l.pending.push_back(at);
            }
        }
        l.offset += n as u64;
        Ok(n)
    }
}

/// FDC `nutrient.id`s quietlegs keeps (FOOD-DATA.md 2a).
const ENERGY_KCAL: u32 = 1008;
const ENERGY_ATWATER_SPECIFIC: u32 = 2048;
const ENERGY_ATWATER_GENERAL: u32 = 2047;
const MAGNESIUM: u32 = 1090;
const CALCIUM: u32 = 1087;
const IRON: u32 = 1089;
const POTASSIUM: u32 = 1092;
const ZINC: u32 = 1095;
const SODIUM: u32 = 1093;
const FIBER: u32 = 1079;

/// The slot of a kept nutrient, `None` for one quietlegs does not keep.
fn slot_of(n: &mut Nutrients, id: u32) -> Option<&mut Option<f64>> {
    Some(match id {
        ENERGY_KCAL => &mut n.kcal,
        MAGNESIUM => &mut n.magnesium_mg,
        CALCIUM => &mut n.calcium_mg,
        IRON => &mut n.iron_mg,
        POTASSIUM => &mut n.potassium_mg,
        ZINC => &mut n.zinc_mg,
        SODIUM => &mut n.sodium_mg,
        FIBER => &mut n.fiber_g,
        _ => return None,
    })
}

/// `measure_unit.id`: 9999 means "undetermined" (the unit is then in the text columns).
const UNDETERMINED_UNIT: &str = "9999";
/// FNDDS portion code meaning "Quantity not specified" (sometimes 0 g): dropped.
const FNDDS_QUANTITY_NOT_SPECIFIED: &str = "90000";
/// `measure_unit` names used when a download lacks `measure_unit.csv` (FOOD-DATA.md 2a).
const KNOWN_UNITS: &[(&str, &str)] = &[
    ("1000", "cup"),
    ("1001", "tablespoon"),
    ("1002", "teaspoon"),
    ("1038", "oz"),
];
/// Data types imported; others (samples, acquisitions) are counted as skipped.
const FOOD_TYPES: &[&str] = &[
    "sr_legacy_food",
    "foundation_food",
    "survey_fndds_food",
    "branded_food",
];

#[derive(Default)]
struct Energy {
    kcal_fallback_specific: Option<f64>,
    kcal_fallback_general: Option<f64>,
}

/// Column positions by header name; an error names the missing ones.
struct Columns(HashMap<String, usize>);

impl Columns {
    fn new(
        file: &str,
        headers: &csv::StringRecord,
        required: &[&str],
    ) -> Result<Self, ImportError> {
        let map: HashMap<String, usize> = headers
            .iter()
            .enumerate()
            .map(|(i, h)| (h.trim().trim_start_matches('\u{feff}').to_string(), i))
            .collect();
        let missing: Vec<&str> = required
            .iter()
            .copied()
            .filter(|c| !map.contains_key(*c))
            .collect();
        if !missing.is_empty() {
            return Err(ImportError::MissingColumns {
                file: file.to_string(),
                missing: missing.join(", "),
            });
        }
        Ok(Self(map))
    }
    fn get<'r>(&self, rec: &'r csv::StringRecord, name: &str) -> &'r str {
        self.0
            .get(name)
            .and_then(|&i| rec.get(i))
            .map(str::trim)
            .unwrap_or("")
    }
}

/// Streams a CSV, calling `each(line, columns, record)`; rows the CSV parser rejects (wrong
/// field count, bad UTF-8) are skipped and reported.
fn each_row(
    file: &str,
    read: &mut dyn Read,
    required: &[&str],
    report: &mut ImportReport,
    mut each: impl FnMut(u64, &Columns, &csv::StringRecord, &mut ImportReport),
) -> Result<(), ImportError> {
    let lines = Rc::new(RefCell::new(Lines::default()));
    let tracking = Tracking {
        inner: read,
        lines: Rc::clone(&lines),
    };
    let mut rdr = csv::ReaderBuilder::new()
        .flexible(false)
        .from_reader(tracking);
    let headers = rdr.headers().map_err(|e| ImportError::Csv {
        file: file.into(),
        line: 1,
        message: e.to_string(),
    })?;
    let cols = Columns::new(file, headers, required)?;
    let mut rec = csv::StringRecord::new();
    loop {
        match rdr.read_record(&mut rec) {
            Ok(false) => return Ok(()),
            Ok(true) => {
                let line = rec
                    .position()
                    .map(|p| lines.borrow_mut().line_at(p.byte()))
                    .unwrap_or(0);
                each(line, &cols, &rec, report);
            }
            Err(e) => {
                let line = e
                    .position()
                    .map(|p| lines.borrow_mut().line_at(p.byte()))
                    .unwrap_or(0);
                if let csv::ErrorKind::Io(io) = e.kind() {
                    return Err(ImportError::Csv {
                        file: file.into(),
                        line,
                        message: io.to_string(),
                    });
                }
                report.skip(file, line, format!("malformed CSV row: {e}"));
            }
        }
    }
}

fn parse_id(text: &str) -> Option<u64> {
    text.parse().ok()
}

fn parse_value(text: &str) -> Result<Option<f64>, String> {
    if text.is_empty() {
        return Ok(None);
    }
    match text.parse::<f64>() {
        Ok(v) if v.is_finite() && v >= 0.0 => Ok(Some(v)),
        _ => Err(format!("'{text}' is not a non-negative number")),
    }
}

/// Per-100 g values by `fdc_id`, with the energy fallbacks.
type NutrientsById = HashMap<u64, (Nutrients, Energy)>;
/// Portions by `fdc_id`, with their order (`seq_num`).
type PortionsById = HashMap<u64, Vec<(i64, Portion)>>;

/// Imports a FoodData Central CSV download: first the files that describe foods (nutrients,
/// units, portions, servings, NDB numbers, categories), then `food.csv`, handing each food to
/// `sink` as soon as it is complete.
pub fn import(
    source: &mut Source,
    release: &str,
    progress: &mut dyn Progress,
    sink: &mut dyn FnMut(Food) -> Result<(), String>,
) -> Result<ImportReport, ImportError> {
    let mut report = ImportReport::default();
    let nutrients = read_nutrients(source, progress, &mut report)?;
    let units = read_units(source, progress, &mut report)?;
    let mut portions = PortionsById::new();
    read_portions(
        source,
        progress,
        &mut report,
        &units,
        release,
        &mut portions,
    )?;
    read_branded_servings(source, progress, &mut report, release, &mut portions)?;
    let parts = FoodParts {
        nutrients,
        portions,
        ndb: read_ndb_numbers(source, progress, &mut report)?,
        categories: read_categories(source, progress, &mut report)?,
    };
    report.data_types = stream_foods(source, progress, &mut report, release, parts, sink)?;
    Ok(report)
}

/// The nutrients (the big file): only the values quietlegs uses are kept.
fn read_nutrients(
    source: &mut Source,
    progress: &mut dyn Progress,
    report: &mut ImportReport,
) -> Result<NutrientsById, ImportError> {
    const FILE: &str = "food_nutrient.csv";
    let mut nutrients = NutrientsById::new();
    source.with_file(FILE, progress, |r| {
        each_row(
            FILE,
            r,
            &["fdc_id", "nutrient_id", "amount"],
            report,
            |line, c, rec, report| {
                report.nutrient_rows += 1;
                let (Some(fdc), Some(nid)) = (
                    parse_id(c.get(rec, "fdc_id")),
                    c.get(rec, "nutrient_id").parse::<u32>().ok(),
                ) else {
                    return report.skip(FILE, line, "fdc_id or nutrient_id is not a number");
                };
                let value = match parse_value(c.get(rec, "amount")) {
                    Ok(Some(v)) => v,
                    Ok(None) => return,
                    Err(e) => return report.skip(FILE, line, format!("amount {e}")),
                };
                let kept = matches!(nid, ENERGY_ATWATER_SPECIFIC | ENERGY_ATWATER_GENERAL)
                    || slot_of(&mut Nutrients::default(), nid).is_some();
                if !kept {
                    return;
                }
                let entry = nutrients.entry(fdc).or_default();
                match nid {
                    ENERGY_ATWATER_SPECIFIC => entry.1.kcal_fallback_specific = Some(value),
                    ENERGY_ATWATER_GENERAL => entry.1.kcal_fallback_general = Some(value),
                    _ => {
                        if let Some(slot) = slot_of(&mut entry.0, nid) {
                            *slot = Some(value);
                        }
                    }
                }
            },
        )
    })?;
    Ok(nutrients)
}

/// `measure_unit.id` to its name (the known units when the download has no such file).
fn read_units(
    source: &mut Source,
    progress: &mut dyn Progress,
    report: &mut ImportReport,
) -> Result<HashMap<String, String>, ImportError> {
    let mut units: HashMap<String, String> = KNOWN_UNITS
        .iter()
        .map(|(i, n)| (i.to_string(), n.to_string()))
        .collect();
    source.with_file("measure_unit.csv", progress, |r| {
        each_row(
            "measure_unit.csv",
            r,
            &["id", "name"],
            report,
            |_, c, rec, _| {
                units.insert(c.get(rec, "id").to_string(), c.get(rec, "name").to_string());
            },
        )
    })?;
    Ok(units)
}

/// Household portions (SR Legacy, Foundation, FNDDS).
fn read_portions(
    source: &mut Source,
    progress: &mut dyn Progress,
    report: &mut ImportReport,
    units: &HashMap<String, String>,
    release: &str,
    portions: &mut PortionsById,
) -> Result<(), ImportError> {
    const FILE: &str = "food_portion.csv";
    source.with_file(FILE, progress, |r| {
        each_row(
            FILE,
            r,
            &["fdc_id", "gram_weight"],
            report,
            |line, c, rec, report| match portion_row(c, rec, units) {
                Ok((fdc, seq, amount, unit, grams)) => {
                    report.portions += 1;
                    portions.entry(fdc).or_default().push((
                        seq,
                        Portion {
                            amount,
                            unit: unit.split_whitespace().collect::<Vec<_>>().join(" "),
                            grams,
                            release: release.to_string(),
                        },
                    ));
                }
                Err(reason) => report.skip(FILE, line, reason),
            },
        )
    })?;
    Ok(())
}

/// One `food_portion.csv` row: (fdc_id, seq_num, amount, unit text, grams), or why it is
/// skipped.
fn portion_row(
    c: &Columns,
    rec: &csv::StringRecord,
    units: &HashMap<String, String>,
) -> Result<(u64, i64, f64, String, f64), String> {
    let fdc = parse_id(c.get(rec, "fdc_id")).ok_or("fdc_id is not a number")?;
    let modifier = c.get(rec, "modifier");
    let description = c.get(rec, "portion_description");
    if modifier == FNDDS_QUANTITY_NOT_SPECIFIED
        || description.eq_ignore_ascii_case("Quantity not specified")
    {
        return Err("FNDDS portion 90000 'Quantity not specified'".into());
    }
    let grams = match parse_value(c.get(rec, "gram_weight")) {
        Ok(Some(g)) if g > 0.0 => g,
        _ => {
            return Err(format!(
                "gram_weight '{}' is not a positive number",
                c.get(rec, "gram_weight")
            ))
        }
    };
    let unit_id = c.get(rec, "measure_unit_id");
    let modifier_is_code = !modifier.is_empty() && modifier.bytes().all(|b| b.is_ascii_digit());
    let (mut amount, unit) = if unit_id.is_empty() || unit_id == UNDETERMINED_UNIT {
        if !modifier.is_empty() && !modifier_is_code {
            (1.0, modifier.to_string()) // SR Legacy: the unit text is in `modifier`
        } else if !description.is_empty() {
            split_leading_amount(description) // FNDDS: "1 cup", "1 nugget"
        } else {
            return Err("no unit text".into());
        }
    } else {
        let name = units
            .get(unit_id)
            .ok_or_else(|| format!("unknown measure_unit_id {unit_id} (no measure_unit.csv)"))?;
        let detail = [description, if modifier_is_code { "" } else { modifier }]
            .into_iter()
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join(", ");
        (
            1.0,
            if detail.is_empty() {
                name.clone()
            } else {
                format!("{name}, {detail}")
            },
        )
    };
    match parse_value(c.get(rec, "amount")) {
        Ok(Some(a)) if a > 0.0 => amount = a,
        Ok(None) => {}
        _ => {
            return Err(format!(
                "amount '{}' is not a positive number",
                c.get(rec, "amount")
            ))
        }
    }
    let seq = c.get(rec, "seq_num").parse::<i64>().unwrap_or(i64::MAX);
    Ok((fdc, seq, amount, unit, grams))
}

/// Branded servings: serving_size in g gives a portion; in ml there is no weight to use.
fn read_branded_servings(
    source: &mut Source,
    progress: &mut dyn Progress,
    report: &mut ImportReport,
    release: &str,
    portions: &mut PortionsById,
) -> Result<(), ImportError> {
    const FILE: &str = "branded_food.csv";
    source.with_file(FILE, progress, |r| {
        each_row(
            FILE,
            r,
            &["fdc_id", "serving_size", "serving_size_unit"],
            report,
            |line, c, rec, report| {
                let Some(fdc) = parse_id(c.get(rec, "fdc_id")) else {
                    return report.skip(FILE, line, "fdc_id is not a number");
                };
                let unit = c.get(rec, "serving_size_unit").to_lowercase();
                let size = parse_value(c.get(rec, "serving_size"));
                match (unit.as_str(), size) {
                    ("g" | "grm", Ok(Some(g))) if g > 0.0 => {
                        let text = c.get(rec, "household_serving_fulltext");
                        let (amount, unit) = if text.is_empty() {
                            (1.0, "serving".to_string())
                        } else {
                            split_leading_amount(text)
                        };
                        report.portions += 1;
                        portions.entry(fdc).or_default().push((
                            0,
                            Portion {
                                amount,
                                unit,
                                grams: g,
                                release: release.to_string(),
                            },
                        ));
                    }
                    (_, Ok(None)) => {}
                    ("ml" | "mlt", _) => report.skip(
                        FILE,
                        line,
                        "serving given in ml: no weight, not used as a portion",
                    ),
                    _ => report.skip(
                        FILE,
                        line,
                        format!(
                            "serving '{} {}' is not usable",
                            c.get(rec, "serving_size"),
                            unit
                        ),
                    ),
                }
            },
        )
    })?;
    Ok(())
}

/// SR NDB numbers of SR Legacy and Foundation foods.
fn read_ndb_numbers(
    source: &mut Source,
    progress: &mut dyn Progress,
    report: &mut ImportReport,
) -> Result<HashMap<u64, String>, ImportError> {
    let mut ndb: HashMap<u64, String> = HashMap::new();
    for file in ["sr_legacy_food.csv", "foundation_food.csv"] {
        source.with_file(file, progress, |r| {
            each_row(
                file,
                r,
                &["fdc_id", "NDB_number"],
                report,
                |_, c, rec, _| {
                    if let (Some(fdc), Some(n)) = (
                        parse_id(c.get(rec, "fdc_id")),
                        pad_ndb(c.get(rec, "NDB_number")),
                    ) {
                        ndb.insert(fdc, n);
                    }
                },
            )
        })?;
    }
    Ok(ndb)
}

/// `food_category.id` to its code.
fn read_categories(
    source: &mut Source,
    progress: &mut dyn Progress,
    report: &mut ImportReport,
) -> Result<HashMap<String, String>, ImportError> {
    let mut categories: HashMap<String, String> = HashMap::new();
    source.with_file("food_category.csv", progress, |r| {
        each_row(
            "food_category.csv",
            r,
            &["id", "code"],
            report,
            |_, c, rec, _| {
                categories.insert(c.get(rec, "id").to_string(), c.get(rec, "code").to_string());
            },
        )
    })?;
    Ok(categories)
}

/// What is known about foods before `food.csv` is read; each food takes its parts out.
struct FoodParts {
    nutrients: NutrientsById,
    portions: PortionsById,
    ndb: HashMap<u64, String>,
    categories: HashMap<String, String>,
}

/// Reads `food.csv` and hands each food to `sink`; returns the foods per data type.
fn stream_foods(
    source: &mut Source,
    progress: &mut dyn Progress,
    report: &mut ImportReport,
    release: &str,
    mut parts: FoodParts,
    sink: &mut dyn FnMut(Food) -> Result<(), String>,
) -> Result<BTreeMap<String, u64>, ImportError> {
    const FILE: &str = "food.csv";
    let mut stopped: Option<String> = None;
    let mut types: BTreeMap<String, u64> = BTreeMap::new();
    source.with_file(FILE, progress, |r| {
        each_row(
            FILE,
            r,
            &["fdc_id", "data_type", "description"],
            report,
            |line, c, rec, report| {
                if stopped.is_some() {
                    return;
                }
                let Some(fdc) = parse_id(c.get(rec, "fdc_id")) else {
                    return report.skip(FILE, line, "fdc_id is not a number");
                };
                let data_type = c.get(rec, "data_type");
                if !FOOD_TYPES.contains(&data_type) {
                    return report.skip(
                        FILE,
                        line,
                        format!("data_type '{data_type}' is not imported"),
                    );
                }
                let name = c.get(rec, "description");
                if name.is_empty() {
                    return report.skip(FILE, line, "empty description");
                }
                let (mut per_100g, energy) = parts.nutrients.remove(&fdc).unwrap_or_default();
                // Foundation foods often lack 1008: fall back to Atwater specific, then general.
                if per_100g.kcal.is_none() {
                    per_100g.kcal = energy
                        .kcal_fallback_specific
                        .or(energy.kcal_fallback_general);
                }
                let mut ps = parts.portions.remove(&fdc).unwrap_or_default();
                ps.sort_by_key(|(seq, _)| *seq);
                let category = c.get(rec, "food_category_id");
                *types.entry(data_type.to_string()).or_default() += 1;
                report.foods += 1;
                let food = Food {
                    id: format!("fdc:{fdc}"),
                    name: name.to_string(),
                    group: parts
                        .categories
                        .get(category)
                        .cloned()
                        .or_else(|| Some(category.to_string()).filter(|c| !c.is_empty())),
                    release: release.to_string(),
                    ndb: parts.ndb.remove(&fdc),
                    per_100g,
                    portions: ps.into_iter().map(|(_, p)| p).collect(),
                };
                if let Err(e) = sink(food) {
                    stopped = Some(e);
                }
            },
        )
    })?;
    match stopped {
        Some(e) => Err(ImportError::Sink(e)),
        None => Ok(types),
    }
}
