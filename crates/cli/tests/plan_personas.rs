//! Persona snapshots of `quietlegs plan`: the rendered text and the JSON of each profile in
//! `tests/personas/` (plus the shipped example), run through the real binary.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

fn personas() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/personas");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    files.push(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/profile.toml"));
    files
}

fn run_plan(profile: &Path, json: bool) -> String {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_quietlegs"));
    cmd.arg("plan").arg("--profile").arg(profile);
    if json {
        cmd.arg("--json");
    }
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{}: {}",
        profile.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn name_of(p: &Path) -> String {
    if p.ends_with("examples/profile.toml") {
        "example".to_string()
    } else {
        p.file_stem().unwrap().to_string_lossy().into_owned()
    }
}

#[test]
fn persona_plans_render_as_snapshotted() {
    for p in personas() {
        let name = name_of(&p);
        insta::assert_snapshot!(format!("{name}.txt"), run_plan(&p, false));
        insta::assert_snapshot!(format!("{name}.json"), run_plan(&p, true));
    }
}

#[test]
fn personas_together_raise_every_flag_code() {
    // The flag codes issue #2 requires, plus the ones quietlegs adds.
    let required = [
        "kidney-disease",
        "heart-block",
        "myasthenia-gravis",
        "under-18",
        "pregnancy",
        "ul-exceeded",
        "spacing-tetracycline",
        "spacing-quinolone",
        "spacing-bisphosphonate",
        "spacing-gabapentin",
        "spacing-levothyroxine",
        "spacing-integrase-inhibitor",
        "depletion-diuretic",
        "depletion-ppi",
        "retention-potassium-sparing",
        "rls-worsening-medicine",
        "deficiency-risk",
        "iron-test",
        "iron-low",
        "unknown-medicine",
        "spacing-iron",
        "spacing-other",
        "depletion-other",
        "augmentation-risk",
        "iron-borderline",
        "no-safe-dose-time",
    ];
    let mut seen = BTreeSet::new();
    for p in personas() {
        let plan: serde_json::Value = serde_json::from_str(&run_plan(&p, true)).unwrap();
        for f in plan["flags"].as_array().unwrap() {
            seen.insert(f["code"].as_str().unwrap().to_string());
        }
    }
    let missing: Vec<_> = required.iter().filter(|c| !seen.contains(**c)).collect();
    assert!(missing.is_empty(), "no persona raises {missing:?}");
}

#[test]
fn a_stop_flag_always_means_no_supplement_and_every_cited_source_resolves() {
    for p in personas() {
        let plan: serde_json::Value = serde_json::from_str(&run_plan(&p, true)).unwrap();
        let flags = plan["flags"].as_array().unwrap();
        let stopped = flags.iter().any(|f| f["severity"] == "stop");
        assert_eq!(
            plan["supplement"].is_null(),
            stopped || !plan["supplement_note"].is_null(),
            "{}",
            p.display()
        );
        if stopped {
            assert!(plan["supplement"].is_null(), "{}", p.display());
            assert_eq!(plan["may_start_without_clinician"], false);
        }
        for f in flags {
            for s in f["sources"].as_array().unwrap() {
                assert!(
                    plan["sources"].get(s.as_str().unwrap()).is_some(),
                    "{s} in {}",
                    p.display()
                );
            }
        }
        if let Some(s) = plan["supplement"].as_object() {
            let total = s["total_supplemental_mg"].as_f64().unwrap();
            assert!(
                total <= plan["supplemental_ul_mg"].as_f64().unwrap(),
                "{}",
                p.display()
            );
        }
    }
}
