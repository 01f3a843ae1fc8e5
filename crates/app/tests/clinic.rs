//! The clinic's use cases on a SQLite store: log-in under the throttle and the lock, what a
//! clinician may see (linked participants only, every look in the participant's audit log),
//! the dashboard (never an arm while blinded), resets and account deletion.

// Integration tests: a panic is a failed test (clippy.toml allows unwrap only inside #[test]).
#![allow(clippy::expect_used, clippy::unwrap_used)]

use jiff::civil::date;
use quietlegs_app::clinic::{self, LoginRefusal};
use quietlegs_app::{Context, ErrorKind, FoodCatalog, Now};
use quietlegs_core::clock::ClockTime;
use quietlegs_core::ReferenceData;
use quietlegs_store::clinic::{Account, Role};
use quietlegs_store::{ClinicStore, SqliteStore, Store};

static FOODS: FoodCatalog = FoodCatalog::new();
const PASSWORD: &str = "correct horse battery staple";

fn now() -> Now {
    Now::fixed(date(2026, 11, 20), ClockTime::parse("21:00").unwrap())
}

fn with_ctx<T>(f: impl FnOnce(&Context<'_>) -> T) -> T {
    let reference = ReferenceData::shipped().unwrap();
    let n = now();
    f(&Context {
        now: &n,
        reference: &reference,
        foods: &FOODS,
    })
}

fn make(store: &SqliteStore, name: &str, role: Role) -> Account {
    with_ctx(|ctx| clinic::create_account(store, ctx, name, role, PASSWORD, [1; 16]).unwrap())
}

#[test]
fn log_in_accepts_the_right_password_and_counts_failures_per_account_and_address() {
    let store = SqliteStore::in_memory().unwrap();
    let zoe = make(&store, "Zoe", Role::Participant);
    assert_eq!(zoe.username, "zoe");
    let me = Some("10.0.0.7".parse().unwrap());
    let t = 1_000_000;
    // Right (case of the username does not matter).
    assert_eq!(
        clinic::log_in(&store, t, "ZOE", PASSWORD, me).unwrap(),
        Ok(zoe.clone())
    );
    // Five wrong are free; the sixth failure makes the next attempt wait 1 s, then 2 s.
    for k in 0..5 {
        assert_eq!(
            clinic::log_in(&store, t + k, "zoe", "wrong wrong wrong wrong", me).unwrap(),
            Err(LoginRefusal::Wrong)
        );
    }
    assert_eq!(
        clinic::log_in(&store, t + 5, "zoe", "wrong wrong wrong wrong", me).unwrap(),
        Err(LoginRefusal::Wrong)
    );
    // Six failures, the last in second t+5: a 1 s wait from the end of that second, so the
    // next may come at t+7 (t+5 + 1 + 1).
    assert_eq!(
        clinic::log_in(&store, t + 5, "zoe", PASSWORD, me).unwrap(),
        Err(LoginRefusal::SlowedDown(2))
    );
    // Even the right password waits; from another address too (the account is slowed).
    let other = Some("10.0.0.8".parse().unwrap());
    assert_eq!(
        clinic::log_in(&store, t + 6, "zoe", PASSWORD, other).unwrap(),
        Err(LoginRefusal::SlowedDown(1))
    );
    assert_eq!(
        clinic::log_in(&store, t + 7, "zoe", PASSWORD, me).unwrap(),
        Ok(zoe)
    );
    // An unknown username is refused the same way, and counted.
    assert_eq!(
        clinic::log_in(&store, t + 7, "nobody", PASSWORD, other).unwrap(),
        Err(LoginRefusal::Wrong)
    );
    assert_eq!(
        store
            .login_failures("account:nobody")
            .unwrap()
            .unwrap()
            .count,
        1
    );
}

#[test]
fn an_address_spraying_many_accounts_is_slowed_down() {
    let store = SqliteStore::in_memory().unwrap();
    let zoe = make(&store, "zoe", Role::Participant);
    let sprayer = Some("192.0.2.9".parse().unwrap());
    let t = 2_000_000;
    // 20 failures over 20 different accounts: each account is within its free attempts, but
    // the address has used its 20.
    for k in 0..20 {
        assert_eq!(
            clinic::log_in(
                &store,
                t,
                &format!("user{k}"),
                "guess guess guess guess",
                sprayer
            )
            .unwrap(),
            Err(LoginRefusal::Wrong)
        );
    }
    // The 21st failure from the address: its next attempt waits 1 s from the end of second t.
    assert_eq!(
        clinic::log_in(&store, t, "user20", "guess guess guess guess", sprayer).unwrap(),
        Err(LoginRefusal::Wrong)
    );
    assert_eq!(
        clinic::log_in(&store, t, "zoe", PASSWORD, sprayer).unwrap(),
        Err(LoginRefusal::SlowedDown(2))
    );
    // Zoe from her own address is not affected; a day later the sprayer's count is forgotten.
    let home = Some("198.51.100.3".parse().unwrap());
    assert_eq!(
        clinic::log_in(&store, t, "zoe", PASSWORD, home).unwrap(),
        Ok(zoe.clone())
    );
    assert_eq!(
        clinic::log_in(&store, t + 24 * 3_600, "zoe", PASSWORD, sprayer).unwrap(),
        Ok(zoe)
    );
}

#[test]
fn an_account_locks_after_100_failures_until_an_admin_reset() {
    let store = SqliteStore::in_memory().unwrap();
    let admin = make(&store, "admin", Role::Admin);
    let zoe = make(&store, "zoe", Role::Participant);
    // 100 failures recorded directly (the waits between them are not what is tested here).
    for k in 0..100 {
        store
            .record_login_failure("account:zoe", 10 + k, i64::MIN)
            .unwrap();
    }
    assert_eq!(
        clinic::log_in(&store, 100_000, "zoe", PASSWORD, None).unwrap(),
        Err(LoginRefusal::Locked)
    );
    with_ctx(|ctx| {
        clinic::issue_password_reset(&store, ctx, &admin, "zoe", "reset-token-1").unwrap();
        assert_eq!(
            clinic::reset_link_account(&store, ctx, "reset-token-1").unwrap(),
            zoe
        );
        // A participant cannot issue one.
        assert_eq!(
            clinic::issue_password_reset(&store, ctx, &zoe, "admin", "x")
                .unwrap_err()
                .kind,
            ErrorKind::Forbidden
        );
        clinic::use_password_reset(
            &store,
            ctx,
            "reset-token-1",
            "a brand new passphrase here",
            [2; 16],
        )
        .unwrap();
        // Used once.
        assert_eq!(
            clinic::use_password_reset(
                &store,
                ctx,
                "reset-token-1",
                "another new passphrase",
                [3; 16]
            )
            .unwrap_err()
            .kind,
            ErrorKind::NotFound
        );
    });
    assert_eq!(
        clinic::log_in(&store, 100_001, "zoe", "a brand new passphrase here", None).unwrap(),
        Ok(zoe.clone())
    );
    // The reset is in Zoe's audit log, issued and used: who and what, no secret.
    let log: Vec<(String, String)> = store
        .audit_of(zoe.person)
        .unwrap()
        .into_iter()
        .map(|e| (e.actor, e.action))
        .collect();
    assert_eq!(
        log,
        [
            ("admin".into(), "issued a password reset link".into()),
            ("zoe".into(), "set a new password with a reset link".into())
        ]
    );
}

#[test]
fn a_clinician_sees_only_linked_participants_and_every_look_is_recorded() {
    let store = SqliteStore::in_memory().unwrap();
    let amy = make(&store, "amy", Role::Clinician);
    let ben = make(&store, "ben", Role::Clinician);
    let zoe = make(&store, "zoe", Role::Participant);
    let yan = make(&store, "yan", Role::Participant);
    with_ctx(|ctx| {
        // Zoe keeps a diary: nights on 2026-11-18 and -19.
        for (d, s) in [(18, 6), (19, 4)] {
            let night = quietlegs_core::diary::Record::Night(quietlegs_core::diary::Night {
                date: date(2026, 11, d),
                severity: s,
                symptoms_began: None,
                sleep_quality: None,
                hours_slept: None,
                minutes_to_sleep: None,
                awakenings: None,
                note: None,
            });
            let entry = quietlegs_app::diary::Entry::new(ctx, night).unwrap();
            quietlegs_app::diary::log(
                &store,
                zoe.person,
                ctx,
                entry,
                quietlegs_store::OnDuplicate::Refuse,
            )
            .unwrap();
        }
        // Not linked yet: nothing to see, the same answer as for a number nobody has.
        assert_eq!(
            clinic::participant_report(&store, ctx, &amy, zoe.id.number(), None, None, "page")
                .unwrap_err()
                .kind,
            ErrorKind::NotFound
        );
        assert_eq!(
            clinic::participant_report(&store, ctx, &amy, 999_999, None, None, "page")
                .unwrap_err()
                .kind,
            ErrorKind::NotFound
        );
        assert_eq!(clinic::dashboard(&store, ctx, &amy).unwrap(), []);
        // Amy invites; Zoe accepts.
        clinic::invite(&store, ctx, &amy, "Zoe K.", "invite-token-1").unwrap();
        assert_eq!(
            clinic::open_invitation(&store, ctx, "invite-token-1")
                .unwrap()
                .clinician_username,
            "amy"
        );
        // A clinician cannot accept it, nor invite as a participant.
        assert_eq!(
            clinic::accept_invitation(&store, ctx, &ben, "invite-token-1")
                .unwrap_err()
                .kind,
            ErrorKind::Forbidden
        );
        assert_eq!(
            clinic::invite(&store, ctx, &zoe, "", "t").unwrap_err().kind,
            ErrorKind::Forbidden
        );
        clinic::accept_invitation(&store, ctx, &zoe, "invite-token-1").unwrap();
        // Used: it cannot link Yan too.
        assert_eq!(
            clinic::accept_invitation(&store, ctx, &yan, "invite-token-1")
                .unwrap_err()
                .kind,
            ErrorKind::NotFound
        );
        // The dashboard: Zoe's row (last entry the 19th, 2 nights in the week 14-20 Nov).
        let rows = clinic::dashboard(&store, ctx, &amy).unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].username, "zoe");
        assert_eq!(rows[0].last_entry, Some(date(2026, 11, 19)));
        assert_eq!(rows[0].nights_last_week, 2);
        assert_eq!((rows[0].trial.clone(), rows[0].has_profile), (None, false));
        // Ben sees nobody, and cannot reach Zoe by her number.
        assert_eq!(clinic::dashboard(&store, ctx, &ben).unwrap(), []);
        assert_eq!(
            clinic::participant_report(&store, ctx, &ben, zoe.id.number(), None, None, "page")
                .unwrap_err()
                .kind,
            ErrorKind::NotFound
        );
        // Amy reads the report: the range runs from Zoe's first entry to today.
        let (who, report) =
            clinic::participant_report(&store, ctx, &amy, zoe.id.number(), None, None, "PDF")
                .unwrap();
        assert_eq!(who, zoe);
        assert_eq!(report.nights.nights_logged, 2);
        // Zoe's audit log: accepted, seen on the dashboard, read as PDF. Nothing about Yan.
        let log: Vec<(String, String, String)> = clinic::my_audit_log(&store, &zoe)
            .unwrap()
            .into_iter()
            .map(|e| (e.actor, e.action, e.detail))
            .collect();
        assert_eq!(
            log,
            [
                (
                    "zoe".into(),
                    "accepted an invitation".into(),
                    "linked to amy".into()
                ),
                (
                    "amy".into(),
                    "saw the dashboard summary".into(),
                    "latest IRLS, flags, trial status, last entry".into()
                ),
                (
                    "amy".into(),
                    "read the report".into(),
                    "2026-11-18 to 2026-11-20 (PDF)".into()
                ),
            ]
        );
        assert_eq!(clinic::my_audit_log(&store, &yan).unwrap(), []);
        // Zoe ends the link: Amy's access ends with it.
        clinic::end_care_link(&store, ctx, &zoe, "amy").unwrap();
        assert_eq!(clinic::dashboard(&store, ctx, &amy).unwrap(), []);
        assert_eq!(
            clinic::participant_report(&store, ctx, &amy, zoe.id.number(), None, None, "page")
                .unwrap_err()
                .kind,
            ErrorKind::NotFound
        );
    });
}

#[test]
fn deleting_ones_account_needs_the_username_and_password_and_removes_the_diary() {
    let store = SqliteStore::in_memory().unwrap();
    let zoe = make(&store, "zoe", Role::Participant);
    with_ctx(|ctx| {
        quietlegs_app::profile::save_toml(
            &store,
            zoe.person,
            ctx,
            include_str!("../../../examples/profile.toml"),
        )
        .unwrap();
    });
    with_ctx(|ctx| {
        assert_eq!(
            clinic::delete_own_account(&store, ctx, &zoe, "zoey", PASSWORD)
                .unwrap_err()
                .field,
            Some("confirm")
        );
        assert_eq!(
            clinic::delete_own_account(&store, ctx, &zoe, "zoe", "not the password at all")
                .unwrap_err()
                .field,
            Some("password")
        );
        // The wrong password counts against the account, as a wrong log-in does.
        assert_eq!(
            store.login_failures("account:zoe").unwrap().unwrap().count,
            1
        );
        assert!(store.profile(zoe.person).unwrap().is_some());
        clinic::delete_own_account(&store, ctx, &zoe, "zoe", PASSWORD).unwrap();
    });
    assert_eq!(store.profile(zoe.person).unwrap(), None);
    // Its failed log-ins went with it.
    assert_eq!(store.login_failures("account:zoe").unwrap(), None);
    assert_eq!(store.account_by_username("zoe").unwrap(), None);
}

/// Sessions end after an hour without a request and 24 hours after log-in whatever happens
/// (NIST SP 800-63B-4 AAL2): the policy's numbers, checked at the edges.
#[test]
fn sessions_end_after_an_idle_hour_and_a_day_at_most() {
    let store = SqliteStore::in_memory().unwrap();
    let zoe = make(&store, "zoe", Role::Participant);
    let t = 5_000_000;
    clinic::open_session(&store, t, &zoe, "token-one", None).unwrap();
    // 3 599 s idle: live (and seen again now); 3 600 s idle after that: gone.
    assert!(clinic::session(&store, t + 3_599, "token-one")
        .unwrap()
        .is_some());
    assert!(clinic::session(&store, t + 3_599 + 3_600, "token-one")
        .unwrap()
        .is_none());
    // Used every 50 minutes, it still ends 24 h after log-in.
    clinic::open_session(&store, t, &zoe, "token-two", None).unwrap();
    let mut now = t;
    while now + 3_000 < t + 86_400 {
        now += 3_000;
        assert!(
            clinic::session(&store, now, "token-two").unwrap().is_some(),
            "{now}"
        );
    }
    assert!(clinic::session(&store, t + 86_400, "token-two")
        .unwrap()
        .is_none());
    // Log-out ends it at once.
    clinic::open_session(&store, t, &zoe, "token-three", None).unwrap();
    clinic::close_session(&store, "token-three").unwrap();
    assert!(clinic::session(&store, t + 1, "token-three")
        .unwrap()
        .is_none());
}
