//! SR-format ASCII (SR28, SR Legacy): `^`-separated fields, `~`-quoted text, ISO-8859-1, CRLF.

use crate::source::Source;
use crate::{pad_ndb, ImportError, ImportReport, Progress};
use quietlegs_core::food::{Food, Nutrients, Portion};
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read};

/// Sets the nutrient with SR number `nbr` (NUTR_DEF Nutr_No), if quietlegs keeps it.
pub(crate) fn set_by_sr_number(n: &mut Nutrients, nbr: &str, value: f64) -> bool {
    let slot = match nbr {
        "208" => &mut n.kcal,
        "304" => &mut n.magnesium_mg,
        "301" => &mut n.calcium_mg,
        "303" => &mut n.iron_mg,
        "306" => &mut n.potassium_mg,
        "309" => &mut n.zinc_mg,
        "307" => &mut n.sodium_mg,
        "291" => &mut n.fiber_g,
        _ => return false,
    };
    *slot = Some(value);
    true
}

/// Calls `each(line_number, fields)` for every line, decoded from ISO-8859-1 (each byte is one
/// code point), without the CRLF, with `~` quotes removed.
fn for_each_record(
    read: &mut dyn Read,
    mut each: impl FnMut(u64, Vec<String>),
) -> std::io::Result<()> {
    let mut r = BufReader::new(read);
    let mut buf = Vec::with_capacity(512);
    let mut line = 0u64;
    loop {
        buf.clear();
        if r.read_until(b'\n', &mut buf)? == 0 {
            return Ok(());
        }
        line += 1;
        while matches!(buf.last(), Some(b'\n' | b'\r')) {
            buf.pop();
        }
        if buf.is_empty() {
            continue;
        }
        let text: String = buf.iter().map(|&b| char::from(b)).collect();
        let fields = text
            .split('^')
            .map(|f| {
                f.strip_prefix('~')
                    .and_then(|f| f.strip_suffix('~'))
                    .unwrap_or(f)
                    .to_string()
            })
            .collect();
        each(line, fields);
    }
}

fn number(text: &str) -> Result<Option<f64>, String> {
    let t = text.trim();
    if t.is_empty() {
        return Ok(None);
    }
    match t.parse::<f64>() {
        Ok(v) if v.is_finite() && v >= 0.0 => Ok(Some(v)),
        _ => Err(format!("'{t}' is not a non-negative number")),
    }
}

pub fn import(
    source: &mut Source,
    release: &str,
    progress: &mut dyn Progress,
    sink: &mut dyn FnMut(Food) -> Result<(), String>,
) -> Result<ImportReport, ImportError> {
    let mut report = ImportReport::default();
    let io = |file: &str| {
        let file = file.to_string();
        move |source| ImportError::Io {
            path: file.clone(),
            source,
        }
    };

    let mut nutrients: HashMap<String, Nutrients> = HashMap::new();
    source.with_file("NUT_DATA.txt", progress, |r| {
        for_each_record(r, |line, f| {
            report.nutrient_rows += 1;
            if f.len() < 3 {
                return report.skip(
                    "NUT_DATA.txt",
                    line,
                    format!("{} fields, expected 18", f.len()),
                );
            }
            let Some(ndb) = pad_ndb(&f[0]) else {
                return report.skip("NUT_DATA.txt", line, format!("bad NDB_No '{}'", f[0]));
            };
            match number(&f[2]) {
                Ok(Some(v)) => {
                    let mut n = nutrients.remove(&ndb).unwrap_or_default();
                    set_by_sr_number(&mut n, f[1].trim(), v);
                    nutrients.insert(ndb, n);
                }
                Ok(None) => {}
                Err(e) => report.skip("NUT_DATA.txt", line, format!("Nutr_Val {e}")),
            }
        })
        .map_err(io("NUT_DATA.txt"))
    })?;

    let mut portions: HashMap<String, Vec<Portion>> = HashMap::new();
    source.with_file("WEIGHT.txt", progress, |r| {
        for_each_record(r, |line, f| {
            if f.len() < 5 {
                return report.skip(
                    "WEIGHT.txt",
                    line,
                    format!("{} fields, expected 7", f.len()),
                );
            }
            let Some(ndb) = pad_ndb(&f[0]) else {
                return report.skip("WEIGHT.txt", line, format!("bad NDB_No '{}'", f[0]));
            };
            match (number(&f[2]), number(&f[4])) {
                (Ok(Some(amount)), Ok(Some(grams))) if amount > 0.0 && grams > 0.0 => {
                    report.portions += 1;
                    portions.entry(ndb).or_default().push(Portion {
                        amount,
                        unit: f[3].split_whitespace().collect::<Vec<_>>().join(" "),
                        grams,
                        release: release.to_string(),
                    });
                }
                _ => report.skip(
                    "WEIGHT.txt",
                    line,
                    format!(
                        "Amount '{}' or Gm_Wgt '{}' is not a positive number",
                        f[2], f[4]
                    ),
                ),
            }
        })
        .map_err(io("WEIGHT.txt"))
    })?;

    let mut stopped: Option<String> = None;
    source.with_file("FOOD_DES.txt", progress, |r| {
        for_each_record(r, |line, f| {
            if stopped.is_some() {
                return;
            }
            if f.len() < 3 || f[2].trim().is_empty() {
                return report.skip(
                    "FOOD_DES.txt",
                    line,
                    format!("{} fields or no Long_Desc, expected 14", f.len()),
                );
            }
            let Some(ndb) = pad_ndb(&f[0]) else {
                return report.skip("FOOD_DES.txt", line, format!("bad NDB_No '{}'", f[0]));
            };
            let food = Food {
                id: ndb.clone(),
                name: f[2].trim().to_string(),
                group: Some(f[1].trim().to_string()).filter(|g| !g.is_empty()),
                release: release.to_string(),
                per_100g: nutrients.remove(&ndb).unwrap_or_default(),
                portions: portions.remove(&ndb).unwrap_or_default(),
                ndb: Some(ndb),
            };
            report.foods += 1;
            if let Err(e) = sink(food) {
                stopped = Some(e);
            }
        })
        .map_err(io("FOOD_DES.txt"))
    })?;
    if let Some(e) = stopped {
        return Err(ImportError::Sink(e));
    }
    Ok(report)
}
