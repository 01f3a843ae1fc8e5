//! The diary and food use cases over an in-memory store, with values derived by hand from the
//! shipped USDA SR28 rows and the IOM (2006) magnesium table:
//!   almonds (NDB 12061): 270 mg Mg / 100 g; "1 oz" = 28.349523125 g (avoirdupois ounce)
//!     -> 270 x 0.28349523125 = 76.5437124375 mg
//!   spinach, boiled (NDB 11458): 87 mg / 100 g; "1 cup" = 180 g, so "1/2 cup" = 90 g
//!     -> 87 x 0.9 = 78.3 mg
//!   a woman aged 52: RDA 320 mg/day (IOM row 31-50 and 51+ women); supplemental UL 350 mg/day.

// Integration tests: a panic is a failed test (clippy.toml allows unwrap only inside #[test]).
#![allow(clippy::expect_used, clippy::unwrap_used)]

use jiff::civil::{date, Date};
use quietlegs_app::diary::{self, ExportFormat, NightForm};
use quietlegs_app::foods::{self, FoodChoice, IntakeRequest};
use quietlegs_app::{Context, ErrorKind, FoodCatalog, Now};
use quietlegs_core::clock::ClockTime;
use quietlegs_core::{Profile, ReferenceData};
use quietlegs_store::{Identity, OnDuplicate, PersonId, SqliteStore, Store};

const ALMONDS_1_OZ_MG: f64 = 76.543_712_437_5;
const SPINACH_HALF_CUP_MG: f64 = 78.3;

fn now() -> Now {
    Now::fixed(date(2026, 11, 25), ClockTime::parse("21:00").unwrap())
}

/// What a command reads besides the store.
struct World {
    reference: ReferenceData,
    foods: FoodCatalog,
    now: Now,
}

/// A world and an empty diary.
fn setup() -> (World, SqliteStore, PersonId) {
    let now = now();
    let store = SqliteStore::in_memory().unwrap();
    let person = store.person(&Identity::local("me"), &now.instant).unwrap();
    let w = World {
        reference: ReferenceData::shipped().unwrap(),
        foods: FoodCatalog::new(),
        now,
    };
    (w, store, person)
}

impl World {
    fn ctx(&self) -> Context<'_> {
        Context {
            now: &self.now,
            reference: &self.reference,
            foods: &self.foods,
        }
    }

    fn night(&self, store: &SqliteStore, person: PersonId, day: Date, severity: u8) -> i64 {
        let ctx = self.ctx();
        let entry = diary::night(
            &ctx,
            NightForm {
                date: Some(day),
                severity,
                ..NightForm::default()
            },
        )
        .unwrap();
        diary::log(store, person, &ctx, entry, OnDuplicate::Refuse)
            .unwrap()
            .id
    }

    /// Logs `amount` of the food `query` names (accepted without a choice).
    fn food(&self, store: &SqliteStore, person: PersonId, day: Date, query: &str, amount: &str) {
        let ctx = self.ctx();
        let catalogue = ctx.foods.searchable(Some(store)).unwrap();
        let FoodChoice::Found(i) = foods::find_food(catalogue, query).unwrap() else {
            panic!("{query} should be accepted");
        };
        let (entry, _) = diary::food(&ctx, catalogue, i, amount, Some(day)).unwrap();
        diary::log(store, person, &ctx, entry, OnDuplicate::Refuse).unwrap();
    }

    fn dose(&self, store: &SqliteStore, person: PersonId, day: Date, spec: &str) {
        let ctx = self.ctx();
        let entry = diary::dose(&ctx, spec, None, Some("21:30"), Some(day)).unwrap();
        diary::log(store, person, &ctx, entry, OnDuplicate::Refuse).unwrap();
    }
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}

#[test]
fn a_days_intake_sums_food_and_supplements_against_the_profiles_limits() {
    let (w, store, person) = setup();
    let ctx = w.ctx();
    let catalogue = ctx.foods.searchable(Some(&store)).unwrap();
    let eaten = |query: &str, amount: &str| {
        let FoodChoice::Found(i) = foods::find_food(catalogue, query).unwrap() else {
            panic!("{query} should be accepted");
        };
        foods::amount_of(catalogue, i, amount).unwrap().eaten()
    };
    let request = || IntakeRequest {
        diary_day: None,
        foods: vec![eaten("almonds", "1 oz"), eaten("spinach boiled", "1/2 cup")],
        supplements: vec!["glycinate=100 mg elemental".into()],
        profile: None,
    };
    // Without a profile the limits are unknown: null, not 0 or false.
    let day = foods::intake(&ctx, Some(&store), Some(person), request()).unwrap();
    assert!(close(day.food_mg, ALMONDS_1_OZ_MG + SPINACH_HALF_CUP_MG));
    assert!(close(day.supplement_mg, 100.0));
    // 76.5437124375 + 78.3 + 100 = 254.8437124375
    assert!(close(day.total_mg, 254.843_712_437_5));
    assert_eq!(day.rda_mg, None);
    assert_eq!(day.gap_mg, None);
    assert_eq!(day.supplemental_ul_mg, None);
    assert_eq!(day.supplements_over_ul, None);
    let json = serde_json::to_value(&day).unwrap();
    assert!(json["supplemental_ul_mg"].is_null() && json["supplements_over_ul"].is_null());
    assert_eq!(json["foods"].as_array().unwrap().len(), 2);

    // A woman of 52: RDA 320, UL 350; gap 320 - 254.8437124375 = 65.1562875625.
    let profile = Profile::from_toml(
        "age = 52\nsex = \"female\"\npregnant = false\nlactating = false\nbedtime = \"22:30\"\ngi_tolerance = \"normal\"\n",
        &w.reference,
    )
    .unwrap();
    let day = foods::intake(
        &ctx,
        Some(&store),
        Some(person),
        IntakeRequest {
            profile: Some(&profile),
            ..request()
        },
    )
    .unwrap();
    assert_eq!(day.rda_mg, Some(320));
    assert_eq!(day.supplemental_ul_mg, Some(350));
    assert_eq!(day.supplements_over_ul, Some(false));
    assert!(close(day.gap_mg.unwrap(), 65.156_287_562_5));
    // The top contributor is the 100 mg supplement; its share is 100 / 254.8437124375.
    assert_eq!(day.top_contributors[0].label, "glycinate supplement");
    assert!(close(
        day.top_contributors[0].share,
        100.0 / 254.843_712_437_5
    ));
}

#[test]
fn a_diary_day_feeds_the_intake_and_the_history() {
    let (w, store, person) = setup();
    let day = date(2026, 11, 20);
    w.night(&store, person, day, 6);
    w.food(&store, person, day, "almonds", "1 oz");
    w.dose(&store, person, day, "glycinate=100 mg elemental");
    w.dose(&store, person, day, "oxide=150 mg elemental");
    // Another day's entries are not part of this day.
    w.food(
        &store,
        person,
        date(2026, 11, 21),
        "spinach boiled",
        "1/2 cup",
    );
    let ctx = w.ctx();
    let entry = diary::factor(
        &ctx,
        "caffeine",
        Some(2.0),
        Some("cups".into()),
        None,
        Some(day),
    )
    .unwrap();
    diary::log(&store, person, &ctx, entry, OnDuplicate::Refuse).unwrap();
    let entry = diary::side_effects(&ctx, 1, 0, 2, Some(day)).unwrap();
    diary::log(&store, person, &ctx, entry, OnDuplicate::Refuse).unwrap();

    let intake = foods::intake(
        &ctx,
        Some(&store),
        Some(person),
        IntakeRequest {
            diary_day: Some(day),
            ..IntakeRequest::default()
        },
    )
    .unwrap();
    assert!(close(intake.food_mg, ALMONDS_1_OZ_MG));
    // 100 + 150 mg elemental, labelled by product and time.
    assert!(close(intake.supplement_mg, 250.0));
    assert_eq!(
        intake.top_contributors[0].label,
        "oxide=150 mg elemental at 21:30"
    );

    let h = diary::history(Some((&store, person)), Some(day), Some(day)).unwrap();
    assert_eq!(h.days.len(), 1);
    let d = &h.days[0];
    assert_eq!(d.date, "2026-11-20");
    assert_eq!(d.severity, Some(6));
    assert!(close(d.magnesium_food_mg, ALMONDS_1_OZ_MG));
    assert!(close(d.magnesium_supplement_mg, 250.0));
    assert_eq!(d.factors, ["caffeine 2 cups"]);
    assert_eq!(d.side_effects.as_deref(), Some("D1 N0 C2"));
    // night, food, 2 doses, factor, side effects on that day.
    assert_eq!(h.records.len(), 6);
    // Without a person (nothing logged yet) the history is empty, not an error.
    let empty = diary::history(None::<(&SqliteStore, PersonId)>, None, None).unwrap();
    assert!(empty.days.is_empty() && empty.records.is_empty());
}

#[test]
fn a_second_night_is_a_conflict_unless_replaced() {
    let (w, store, person) = setup();
    let day = date(2026, 11, 20);
    let id = w.night(&store, person, day, 4);
    let ctx = w.ctx();
    let again = || {
        diary::night(
            &ctx,
            NightForm {
                date: Some(day),
                severity: 7,
                ..NightForm::default()
            },
        )
        .unwrap()
    };
    let err = diary::log(&store, person, &ctx, again(), OnDuplicate::Refuse).unwrap_err();
    assert_eq!(err.kind, ErrorKind::Conflict);
    let replaced = diary::log(&store, person, &ctx, again(), OnDuplicate::Replace).unwrap();
    assert_eq!(replaced.id, id);
    let h = diary::history(Some((&store, person)), None, None).unwrap();
    assert_eq!(h.days[0].severity, Some(7));
}

#[test]
fn entries_are_validated_before_any_store_is_touched() {
    let (w, _, _) = setup();
    let ctx = w.ctx();
    // Today is 2026-11-25: a night on the 26th is in the future.
    let future = diary::night(
        &ctx,
        NightForm {
            date: Some(date(2026, 11, 26)),
            severity: 3,
            ..NightForm::default()
        },
    )
    .unwrap_err();
    assert_eq!(future.kind, ErrorKind::BadInput);
    let bad_time = diary::night(
        &ctx,
        NightForm {
            severity: 3,
            began: Some("25:00".into()),
            ..NightForm::default()
        },
    )
    .unwrap_err();
    assert_eq!(bad_time.field, Some("began"));
    // "yesterday" and a default evening: at 21:00 a night belongs to today's evening.
    assert_eq!(
        diary::parse_day(&w.now, "yesterday").unwrap(),
        date(2026, 11, 24)
    );
    assert_eq!(diary::default_evening(&w.now), date(2026, 11, 25));
}

#[test]
fn an_edit_changes_only_what_it_sets_and_a_refused_import_changes_nothing() {
    let (w, store, person) = setup();
    let id = w.night(&store, person, date(2026, 11, 20), 4);
    w.night(&store, person, date(2026, 11, 21), 5);
    let ctx = w.ctx();
    let before = diary::export(&ctx, Some((&store, person)), ExportFormat::Json).unwrap();

    // An edit that would make the entry invalid is refused before anything is stored.
    let refused = diary::prepare_edit(
        &store,
        person,
        &ctx,
        "night",
        id,
        &[("severity".into(), "11".into())],
    )
    .unwrap_err();
    assert_eq!(refused.kind, ErrorKind::BadInput);
    let missing = diary::prepare_edit(&store, person, &ctx, "night", 99, &[]).unwrap_err();
    assert_eq!(missing.kind, ErrorKind::NotFound);
    assert_eq!(
        diary::export(&ctx, Some((&store, person)), ExportFormat::Json).unwrap(),
        before
    );

    // An import into a diary that is not empty is a conflict, and the diary stays as it was.
    let checked = diary::prepare_import(&ctx, &before).unwrap();
    assert_eq!(checked.len(), 2);
    let err = diary::import(&store, person, &checked).unwrap_err();
    assert_eq!(err.kind, ErrorKind::Conflict);
    assert_eq!(
        diary::export(&ctx, Some((&store, person)), ExportFormat::Json).unwrap(),
        before
    );
    // An export with one entry twice is refused as a whole before the store is reached.
    let doubled = before.replace("\"id\": 2", "\"id\": 1");
    assert!(diary::prepare_import(&ctx, &doubled)
        .unwrap_err()
        .message
        .contains("appears twice; nothing was imported"));

    // A valid edit: severity 4 -> 2 and the date moved to "yesterday" (2026-11-24).
    let edit = diary::prepare_edit(
        &store,
        person,
        &ctx,
        "night",
        id,
        &[
            ("severity".into(), "2".into()),
            ("date".into(), "yesterday".into()),
        ],
    )
    .unwrap();
    diary::apply_edit(&store, person, &ctx, &edit).unwrap();
    let h = diary::history(Some((&store, person)), None, None).unwrap();
    let dates: Vec<(&str, Option<u8>)> = h
        .days
        .iter()
        .map(|d| (d.date.as_str(), d.severity))
        .collect();
    assert_eq!(dates, [("2026-11-21", Some(5)), ("2026-11-24", Some(2))]);
}

#[test]
fn a_weak_food_phrase_offers_the_closest_foods_and_nothing_close_is_bad_input() {
    let (w, store, _) = setup();
    let ctx = w.ctx();
    let catalogue = ctx.foods.searchable(Some(&store)).unwrap();
    // A food id is taken as given.
    assert!(matches!(
        foods::find_food(catalogue, "12061").unwrap(),
        FoodChoice::Found(i) if catalogue.table.foods[i].name == "Nuts, almonds"
    ));
    match foods::find_food(catalogue, "almonds zzqx blorf").unwrap() {
        FoodChoice::Weak { closest, .. } => assert!(!closest.is_empty()),
        FoodChoice::Found(i) => panic!("accepted {}", catalogue.table.foods[i].name),
    }
    let none = foods::find_food(catalogue, "zzqx blorf").unwrap_err();
    assert_eq!(none.kind, ErrorKind::BadInput);
    // A search needs a word.
    assert_eq!(
        foods::search(&ctx, Some(&store), "  ", 5)
            .unwrap_err()
            .field,
        Some("query")
    );
}
