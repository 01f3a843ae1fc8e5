//! Persona snapshots of `quietlegs plan`: the rendered text and the JSON of each profile in
//! `tests/personas/` (plus the shipped example), run through the real binary.

// Integration tests: a panic is a failed test (clippy.toml allows unwrap only inside #[test]).
#![allow(clippy::expect_used, clippy::unwrap_used)]

mod common;

use common::{closed_pipe, example_profile, temp_db};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn personas() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/personas");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    files.push(example_profile());
    files
}

/// The plan on an empty database (no imported foods).
fn run_plan(profile: &Path, json: bool) -> String {
    let db = temp_db();
    let mut cmd = common::quietlegs(&db.path);
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

/// The `# expect flags:` and `# expect supplement:` lines of a persona file, worked out by hand
/// from the rules for that profile.
fn expectations(profile: &Path) -> (BTreeSet<String>, String) {
    let text = std::fs::read_to_string(profile).unwrap();
    let line = |prefix: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(prefix))
            .unwrap_or_else(|| panic!("{}: no '{prefix}' line", profile.display()))
            .trim()
            .to_string()
    };
    let flags = line("# expect flags:");
    let flags = if flags == "(none)" {
        BTreeSet::new()
    } else {
        flags.split(", ").map(str::to_string).collect()
    };
    (flags, line("# expect supplement:"))
}

#[test]
fn each_persona_raises_exactly_its_expected_flags_and_dose() {
    for p in personas() {
        if p.ends_with("examples/profile.toml") {
            continue;
        }
        let plan: serde_json::Value = serde_json::from_str(&run_plan(&p, true)).unwrap();
        let got: BTreeSet<String> = plan["flags"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| {
                format!(
                    "{}:{}",
                    f["code"].as_str().unwrap(),
                    f["severity"].as_str().unwrap()
                )
            })
            .collect();
        let supplement = match plan["supplement"].as_object() {
            None => "none".to_string(),
            Some(s) => format!(
                "{} mg at {}{}",
                s["elemental_mg"],
                s["take_at"].as_str().unwrap(),
                if s["conditional"] == true {
                    " if the clinician agrees"
                } else {
                    ""
                }
            ),
        };
        let (want_flags, want_supplement) = expectations(&p);
        assert_eq!(got, want_flags, "{}", p.display());
        assert_eq!(supplement, want_supplement, "{}", p.display());
        // take_at is null whenever there is no supplement.
        if plan["supplement"].is_null() {
            assert!(plan["dose_time"]["take_at"].is_null(), "{}", p.display());
        }
    }
}

#[test]
fn plan_output_to_a_closed_pipe_ends_quietly() {
    use std::process::Stdio;
    // A pipe whose reading end is closed before the program starts.
    let write_end = closed_pipe();
    let profile = example_profile();
    let db = temp_db();
    for json in [false, true] {
        let mut cmd = common::quietlegs(&db.path);
        cmd.args(["plan", "--profile"]).arg(&profile);
        if json {
            cmd.arg("--json");
        }
        let out = cmd
            .stdout(Stdio::from(write_end.try_clone().unwrap()))
            .stderr(Stdio::piped())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{:?}: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            out.stderr.is_empty(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
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
        "interaction-aminoglycoside",
        "interaction-calcium-channel-blocker",
        "interaction-digoxin",
        "magnesium-medicine",
        "kidney-magnesium-medicine",
        "kidney-function-unknown",
        "kidney-risk",
        "iron-overload-possible",
        "spacing-current-magnesium",
        "ul-reached",
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
