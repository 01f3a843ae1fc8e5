//! The clinician's PDF, read back the way a person's tools read it: `pdftotext -layout` must
//! find every section and the figures of a known diary (worked by hand below), `pdffonts` must
//! show every font embedded, and a blinded trial's report must not depend on the allocation.
//! Needs poppler-utils (installed by .ci/run); outside CI a machine without it skips with a
//! notice, in CI (`CI=true`) its absence fails.

// Integration tests: a panic is a failed test (clippy.toml allows unwrap only inside #[test]).
#![allow(clippy::expect_used, clippy::unwrap_used)]

use jiff::civil::{date, Date};
use quietlegs_app::clinician::{self, ClinicianReport};
use quietlegs_app::trial::{self, DesignChoice};
use quietlegs_app::{Context, FoodCatalog, Now};
use quietlegs_core::clock::ClockTime;
use quietlegs_core::diary::{Dose, FoodLog, IrlsEntry, Night, Record, SideEffects};
use quietlegs_core::irls::IrlsBand;
use quietlegs_core::ReferenceData;
use quietlegs_store::{Identity, OnDuplicate, PersonId, SqliteStore, Store};
use std::io::Write;
use std::process::Command;

static FOODS: FoodCatalog = FoodCatalog::new();

fn at(d: Date) -> Now {
    Now::fixed(d, ClockTime::parse("21:00").unwrap())
}

fn ctx<'a>(now: &'a Now, data: &'a ReferenceData) -> Context<'a> {
    Context {
        now,
        reference: data,
        foods: &FOODS,
    }
}

/// Whether poppler's tools are here; in CI they must be.
fn poppler() -> bool {
    let here = Command::new("pdftotext").arg("-v").output().is_ok();
    if !here {
        assert!(
            std::env::var("CI").is_err(),
            "pdftotext (poppler-utils) is missing in CI: .ci/run installs it"
        );
        eprintln!("note: pdftotext not found (apt-get install poppler-utils): PDF checks skipped");
    }
    here
}

fn pdf_file(bytes: &[u8]) -> tempfile::NamedTempFile {
    let mut f = tempfile::Builder::new().suffix(".pdf").tempfile().unwrap();
    f.write_all(bytes).unwrap();
    f
}

/// The PDF's text with every run of white space made one space (lines wrap anywhere).
fn text_of(pdf: &tempfile::NamedTempFile) -> String {
    let out = Command::new("pdftotext")
        .args(["-layout", "-enc", "UTF-8"])
        .arg(pdf.path())
        .arg("-")
        .output()
        .unwrap();
    assert!(out.status.success(), "pdftotext failed: {out:?}");
    String::from_utf8(out.stdout)
        .unwrap()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

fn make_pdf(r: &ClinicianReport, data: &ReferenceData) -> Vec<u8> {
    quietlegs_report::pdf(&quietlegs_report::document(r, data)).unwrap()
}

fn add(store: &SqliteStore, person: PersonId, r: Record) {
    store
        .add_record(person, &r, &at(r.date()).stamp(), OnDuplicate::Refuse)
        .unwrap();
}

fn night(d: Date, severity: u8, hours: f64) -> Record {
    Record::Night(Night {
        date: d,
        severity,
        symptoms_began: None,
        sleep_quality: Some(5),
        hours_slept: Some(hours),
        minutes_to_sleep: None,
        awakenings: None,
        note: None,
    })
}

fn dose(d: Date, mg: f64) -> Record {
    Record::Dose(Dose {
        date: d,
        time: ClockTime::parse("21:30").unwrap(),
        product: "magnesium glycinate".into(),
        form: Some("glycinate".into()),
        elemental_mg: mg,
    })
}

/// The example profile (52, female, eGFR 85, ferritin 60, omeprazole) and ten days of diary.
fn known_diary(data: &ReferenceData) -> (SqliteStore, PersonId) {
    let store = SqliteStore::in_memory().unwrap();
    let now = at(date(2026, 3, 10));
    let person = store.person(&Identity::local("me"), &now.instant).unwrap();
    let profile = include_str!("../../../examples/profile.toml");
    quietlegs_app::profile::save_toml(&store, person, &ctx(&now, data), profile).unwrap();
    for (d, s, h) in [(1, 8, 5.0), (2, 6, 7.0), (8, 4, 7.0), (10, 2, 5.0)] {
        add(&store, person, night(date(2026, 3, d), s, h));
    }
    for (d, item, band) in [(1, 3, IrlsBand::Severe), (8, 2, IrlsBand::Moderate)] {
        add(
            &store,
            person,
            Record::Irls(IrlsEntry {
                date: date(2026, 3, d),
                items: vec![item; 10],
                total: u32::from(item) * 10,
                band,
                rls6: None,
            }),
        );
    }
    add(&store, person, dose(date(2026, 3, 2), 200.0));
    add(&store, person, dose(date(2026, 3, 3), 400.0));
    add(
        &store,
        person,
        Record::Food(FoodLog {
            date: date(2026, 3, 2),
            food_id: "12061".into(),
            food_name: "Nuts, almonds".into(),
            amount: "1 oz".into(),
            grams: 28.35,
            magnesium_mg: Some(76.0),
        }),
    );
    add(
        &store,
        person,
        Record::SideEffects(SideEffects {
            date: date(2026, 3, 3),
            diarrhea: 2,
            nausea: 0,
            cramps: 1,
        }),
    );
    (store, person)
}

#[test]
fn the_pdf_of_a_known_diary_holds_every_section_and_its_figures() {
    if !poppler() {
        return;
    }
    let data = ReferenceData::shipped().unwrap();
    let (store, person) = known_diary(&data);
    let now = at(date(2026, 3, 10));
    let c = ctx(&now, &data);
    let range = clinician::range(&store, person, &c, None, None).unwrap();
    let r = clinician::report(&store, person, &c, range).unwrap();
    let pdf = pdf_file(&make_pdf(&r, &data));
    let text = text_of(&pdf);
    let expected = [
        // Sections, in order of the document.
        "Summary",
        "Symptoms",
        "Nightly RLS severity",
        "IRLS total with its severity bands",
        "Magnesium intake",
        "Side effects",
        "n-of-1 trial",
        "Sources",
        // The range: the first entry (1 March) to today (10 March).
        "2026-03-01 to 2026-03-10",
        // Who: from examples/profile.toml.
        "52, female",
        "eGFR 85 mL/min/1.73 m², CKD stage 0",
        "ferritin 60 ng/mL, transferrin saturation 18 %",
        // The medicine screen: omeprazole is a proton-pump inhibitor.
        "omeprazole at 07:30",
        // IRLS 30 then 20: -10.
        "20 (moderate) on 2026-03-08; -10 since the first of 2 scores",
        // Nights 8, 6, 4, 2 over 10 days: mean 5; 4-10 March holds 4 and 2: mean 3.
        "mean 5 of 10 over 4 nights logged of 10; last 7 days 3",
        // Hours 5, 7, 7, 5: mean 6.
        "6 hours",
        // Food: almonds 76 mg on the one day with food; RDA 320 mg for a woman of 52 (NIH ODS).
        "food 76 mg a day on average (1 day with food logged) against an RDA of 320 mg",
        // Doses 200 and 400 mg: mean 300, most 400, above the 350 mg supplemental UL once.
        "supplements 300 mg on 2 days (most 400 mg), ABOVE the supplemental upper limit of 350 mg on 1 day",
        // Side effects: one day, diarrhea 2 and cramps 1.
        "1 of 1 day logged had any; worst diarrhea 2, nausea 0, cramps 1",
        "no n-of-1 trial planned",
        // The disclaimer on every page and the page numbers.
        "quietlegs is informational software, not medical advice.",
        "page 1 of",
    ];
    for e in expected {
        assert!(
            text.contains(e),
            "missing from the PDF text: {e:?}\n\n{text}"
        );
    }
    // Every page carries the disclaimer and its number; the sections that start a page
    // (symptoms, the trial, the sources) make at least four pages.
    let numbers = text
        .match_indices("page ")
        .filter(|(i, _)| text[i + 5..].starts_with(|c: char| c.is_ascii_digit()))
        .count();
    assert!(numbers >= 4, "{numbers} page numbers");
    assert_eq!(
        text.matches("quietlegs is informational software").count(),
        numbers
    );
}

#[test]
fn every_font_is_embedded_and_the_file_says_what_it_is() {
    if !poppler() {
        return;
    }
    let data = ReferenceData::shipped().unwrap();
    let (store, person) = known_diary(&data);
    let now = at(date(2026, 3, 10));
    let c = ctx(&now, &data);
    let range = clinician::range(&store, person, &c, None, None).unwrap();
    let r = clinician::report(&store, person, &c, range).unwrap();
    let pdf = pdf_file(&make_pdf(&r, &data));
    let fonts = Command::new("pdffonts").arg(pdf.path()).output().unwrap();
    let fonts = String::from_utf8(fonts.stdout).unwrap();
    let rows: Vec<&str> = fonts.lines().skip(2).collect();
    assert_eq!(rows.len(), 2, "regular and bold:\n{fonts}");
    for row in rows {
        let cols: Vec<&str> = row.split_whitespace().collect();
        // name, type (2 words), encoding, emb, sub, uni, ...
        assert!(row.contains("DejaVuSans"), "{row}");
        assert_eq!(
            &cols[4..7],
            ["yes", "yes", "yes"],
            "embedded, subset, unicode: {row}"
        );
    }
    let info = Command::new("pdfinfo").arg(pdf.path()).output().unwrap();
    let info = String::from_utf8(info.stdout).unwrap();
    assert!(
        info.contains("quietlegs: restless legs diary and magnesium trial"),
        "{info}"
    );
    assert!(info.contains("595.28 x 841.89 pts (A4)"), "{info}");
}

/// 2 arms x 2 cycles of 14 nights (4 run-in); a night on each of the first 20 evenings.
fn blinded_trial(data: &ReferenceData, seed: u64) -> (SqliteStore, PersonId) {
    let store = SqliteStore::in_memory().unwrap();
    let now = at(date(2026, 2, 20));
    let person = store.person(&Identity::local("me"), &now.instant).unwrap();
    let choice = DesignChoice {
        period_days: Some(14),
        run_in_days: Some(4),
        cycles: Some(2),
        ..DesignChoice::default()
    };
    let c = ctx(&now, data);
    let prepared =
        trial::prepare(&c, Some("blind"), &choice, seed, Some(date(2026, 3, 1))).unwrap();
    trial::register(&store, person, &c, prepared).unwrap();
    for n in 0..20i8 {
        let d = date(2026, 3, 1)
            .checked_add(jiff::Span::new().days(i64::from(n)))
            .unwrap();
        add(&store, person, night(d, (n % 7) as u8, 7.0));
        add(&store, person, dose(d, 200.0));
    }
    (store, person)
}

#[test]
fn a_blinded_trial_s_report_does_not_depend_on_the_allocation() {
    if !poppler() {
        return;
    }
    let data = ReferenceData::shipped().unwrap();
    let now = at(date(2026, 3, 21));
    let c = ctx(&now, &data);
    let texts: Vec<String> = [1_u64, 2, 3, 4]
        .iter()
        .map(|seed| {
            let (store, person) = blinded_trial(&data, *seed);
            let range = clinician::range(&store, person, &c, None, None).unwrap();
            let r = clinician::report(&store, person, &c, range).unwrap();
            let text = text_of(&pdf_file(&make_pdf(&r, &data)));
            assert!(
                text.contains("blinded: the arms and the result are shown only after unblinding"),
                "{text}"
            );
            // The plan hash (a commitment to the seed) differs, and may wrap anywhere: every
            // run of hexadecimal digits of 6 or more is set aside.
            text.split(' ')
                .map(|w| {
                    if w.len() >= 6 && w.chars().all(|c| c.is_ascii_hexdigit()) {
                        "HEX"
                    } else {
                        w
                    }
                })
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect();
    for t in &texts[1..] {
        assert_eq!(t, &texts[0], "the report differs between allocations");
    }
}

#[test]
fn the_text_report_of_a_known_diary() {
    let data = ReferenceData::shipped().unwrap();
    let (store, person) = known_diary(&data);
    let now = at(date(2026, 3, 10));
    let c = ctx(&now, &data);
    let range = clinician::range(&store, person, &c, Some("2026-03-02"), None).unwrap();
    let r = clinician::report(&store, person, &c, range).unwrap();
    // From 2 March: the night of 1 March and its IRLS are left out.
    assert_eq!(r.nights.nights_logged, 3);
    assert_eq!(r.irls.scores.len(), 1);
    insta::assert_snapshot!(quietlegs_report::text::render(&quietlegs_report::document(
        &r, &data
    )));
}
