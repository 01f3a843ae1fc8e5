//! The clinic part of the conformance suite ([`ClinicStore`]): accounts, sessions, the log-in
//! throttle, invitations and care links, password resets, the audit log and account deletion.
//! Moments are small Unix-second numbers chosen here; every expected value follows from them.

use super::{kind_of, new_trial, night, stamp};
use crate::clinic::{
    Account, AuditEntry, ClinicStore, InvitationState, NewAccount, NewInvitation, NewSession, Role,
    TokenHash,
};
use crate::{ErrorKind, Identity, OnDuplicate, Store, StoredProfile, TrialStore};
use jiff::civil::date;

const PHC_1: &str = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$first";
const PHC_2: &str = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$second";

fn account<S: ClinicStore>(store: &S, username: &str, role: Role) -> Account {
    store
        .create_account(&NewAccount {
            username,
            role,
            phc: PHC_1,
            at: "2026-11-01T09:00:00Z",
        })
        .expect("a new account")
}

fn token(n: u8) -> TokenHash {
    TokenHash([n; 32])
}

fn entry(actor: &str, action: &str) -> AuditEntry {
    AuditEntry {
        at: "2026-11-02T10:00:00Z".into(),
        actor: actor.into(),
        actor_role: crate::clinic::Actor::Clinician,
        action: action.into(),
        detail: "the report".into(),
    }
}

/// Accounts: unique usernames, one person each (a diary of their own), found by name with
/// their password hash, listed by username.
pub fn accounts_are_unique_and_each_has_a_person<S: Store + TrialStore + ClinicStore>(store: &S) {
    let zoe = account(store, "zoe", Role::Participant);
    let amy = account(store, "amy", Role::Clinician);
    assert_ne!(zoe.person, amy.person);
    assert_eq!(
        kind_of(store.create_account(&NewAccount {
            username: "zoe",
            role: Role::Admin,
            phc: PHC_2,
            at: "2026-11-01T09:00:00Z",
        })),
        ErrorKind::Conflict
    );
    let (found, phc) = store.account_by_username("zoe").unwrap().unwrap();
    assert_eq!((found.clone(), phc.as_str()), (zoe.clone(), PHC_1));
    assert_eq!(store.account(amy.id).unwrap(), Some(amy.clone()));
    assert_eq!(store.account_by_username("nobody").unwrap(), None);
    let names: Vec<String> = store
        .accounts()
        .unwrap()
        .into_iter()
        .map(|a| a.username)
        .collect();
    assert_eq!(names, ["amy", "zoe"]);
    // Each account's person keeps a diary of its own.
    store
        .add_record(
            zoe.person,
            &night(date(2026, 11, 2), 6),
            &stamp("2026-11-03T07:00:00Z"),
            OnDuplicate::Refuse,
        )
        .unwrap();
    assert_eq!(store.records(zoe.person, None, None).unwrap().len(), 1);
    assert_eq!(store.records(amy.person, None, None).unwrap().len(), 0);
    // A local identity of the same name is another person.
    let local = store
        .person(&Identity::local("zoe"), "2026-11-01T00:00:00Z")
        .unwrap();
    assert_ne!(local, zoe.person);
}

/// Sessions: live until idle for `idle` seconds or past their absolute expiry; the last-seen
/// moment moves only after `touch_after` seconds; a log-in replaces the old session; a new
/// password ends them all.
pub fn sessions_expire_rotate_and_end_with_a_new_password<S: ClinicStore>(store: &S) {
    let zoe = account(store, "zoe", Role::Participant);
    let open = |t: u8, now: i64, replacing: Option<&TokenHash>| {
        store
            .open_session(
                &NewSession {
                    token: token(t),
                    account: zoe.id,
                    now,
                    absolute_expiry: now + 3_600,
                },
                replacing,
            )
            .unwrap()
    };
    let (idle, touch) = (600, 60);
    open(1, 1_000, None);
    // 30 s later: live, last seen not moved (under touch_after).
    let s = store
        .session(&token(1), 1_030, idle, touch)
        .unwrap()
        .unwrap();
    assert_eq!(
        (s.account.clone(), s.last_seen, s.absolute_expiry),
        (zoe.clone(), 1_000, 4_600)
    );
    // 100 s later: moved to 1 100.
    let s = store
        .session(&token(1), 1_100, idle, touch)
        .unwrap()
        .unwrap();
    assert_eq!(s.last_seen, 1_100);
    // 1 100 + 599: still live (moved again); 600 s after that: idle, gone for good.
    assert!(store
        .session(&token(1), 1_699, idle, touch)
        .unwrap()
        .is_some());
    assert!(store
        .session(&token(1), 2_299, idle, touch)
        .unwrap()
        .is_none());
    assert!(store
        .session(&token(1), 1_700, idle, touch)
        .unwrap()
        .is_none());
    // Absolute expiry: touched every 500 s, still ends at 2 000 + 3 600.
    open(2, 2_000, None);
    let mut now = 2_000;
    while now + 500 < 5_600 {
        now += 500;
        assert!(
            store
                .session(&token(2), now, idle, touch)
                .unwrap()
                .is_some(),
            "{now}"
        );
    }
    assert!(store
        .session(&token(2), 5_600, idle, touch)
        .unwrap()
        .is_none());
    // Rotation: a log-in with session 3 in the browser replaces it with 4.
    open(3, 6_000, None);
    open(4, 6_010, Some(&token(3)));
    assert!(store
        .session(&token(3), 6_020, idle, touch)
        .unwrap()
        .is_none());
    assert!(store
        .session(&token(4), 6_020, idle, touch)
        .unwrap()
        .is_some());
    // Log-out ends one; a new password ends every session.
    open(5, 6_030, None);
    store.close_session(&token(4)).unwrap();
    assert!(store
        .session(&token(4), 6_040, idle, touch)
        .unwrap()
        .is_none());
    assert!(store
        .session(&token(5), 6_040, idle, touch)
        .unwrap()
        .is_some());
    store
        .set_account_password(zoe.id, PHC_2, "2026-11-05T08:00:00Z")
        .unwrap();
    assert!(store
        .session(&token(5), 6_050, idle, touch)
        .unwrap()
        .is_none());
    assert_eq!(store.account_by_username("zoe").unwrap().unwrap().1, PHC_2);
    open(6, 6_060, None);
    open(7, 6_060, None);
    assert_eq!(store.close_sessions_of(zoe.id).unwrap(), 2);
}

/// The throttle counts failures per key, keeps the latest moment and forgets on success.
pub fn login_failures_are_counted_per_key<S: ClinicStore>(store: &S) {
    assert_eq!(store.login_failures("account:zoe").unwrap(), None);
    assert_eq!(
        store
            .record_login_failure("account:zoe", 100, i64::MIN)
            .unwrap(),
        1
    );
    assert_eq!(
        store
            .record_login_failure("account:zoe", 130, i64::MIN)
            .unwrap(),
        2
    );
    // A late report of an earlier failure does not move the moment back.
    assert_eq!(
        store
            .record_login_failure("account:zoe", 120, i64::MIN)
            .unwrap(),
        3
    );
    assert_eq!(
        store
            .record_login_failure("address:10.0.0.9", 140, i64::MIN)
            .unwrap(),
        1
    );
    let f = store.login_failures("account:zoe").unwrap().unwrap();
    assert_eq!((f.count, f.last_at), (3, 130));
    // A count quiet since before `forget_before` starts again.
    assert_eq!(
        store
            .record_login_failure("address:10.0.0.9", 200, 150)
            .unwrap(),
        1
    );
    assert_eq!(
        store
            .record_login_failure("address:10.0.0.9", 210, 150)
            .unwrap(),
        2
    );
    store.clear_login_failures("account:zoe").unwrap();
    assert_eq!(store.login_failures("account:zoe").unwrap(), None);
    assert_eq!(
        store
            .login_failures("address:10.0.0.9")
            .unwrap()
            .unwrap()
            .count,
        2
    );
}

/// Invitations make a care link once, only for a participant, before they expire and unless
/// withdrawn; the link is the only way from an account number to a participant.
pub fn invitations_link_once_and_links_end<S: ClinicStore>(store: &S) {
    let amy = account(store, "amy", Role::Clinician);
    let ben = account(store, "ben", Role::Clinician);
    let zoe = account(store, "zoe", Role::Participant);
    let yan = account(store, "yan", Role::Participant);
    let invite = |t: u8, by: &Account, expires_at: i64| {
        store
            .create_invitation(&NewInvitation {
                token: token(t),
                clinician: by.id,
                label: "Zoe, sleep clinic",
                now: 1_000,
                expires_at,
            })
            .unwrap()
    };
    let first = invite(1, &amy, 2_000);
    assert_eq!(
        store.linked_participant(amy.id, zoe.id.number()).unwrap(),
        None
    );
    // A clinician cannot accept one.
    assert_eq!(
        kind_of(store.accept_invitation(&token(1), ben.id, 1_500)),
        ErrorKind::Conflict
    );
    let link = store.accept_invitation(&token(1), zoe.id, 1_500).unwrap();
    assert_eq!(
        (link.clinician.clone(), link.participant.clone(), link.since),
        (amy.clone(), zoe.clone(), 1_500)
    );
    // Used once.
    assert_eq!(
        kind_of(store.accept_invitation(&token(1), yan.id, 1_600)),
        ErrorKind::Conflict
    );
    let shown = store.invitation_by_token(&token(1)).unwrap().unwrap();
    assert_eq!(
        (shown.id, shown.clinician_username.as_str(), shown.state),
        (
            first,
            "amy",
            InvitationState::Accepted {
                by: "zoe".into(),
                at: 1_500
            }
        )
    );
    // Expired at 2 000 exactly.
    invite(2, &amy, 2_000);
    assert_eq!(
        kind_of(store.accept_invitation(&token(2), yan.id, 2_000)),
        ErrorKind::Conflict
    );
    // Withdrawn (only by its own clinician, only while open).
    let third = invite(3, &amy, 9_000);
    assert_eq!(
        kind_of(store.withdraw_invitation(ben.id, third, 1_700)),
        ErrorKind::NotFound
    );
    assert_eq!(
        kind_of(store.withdraw_invitation(amy.id, first, 1_700)),
        ErrorKind::NotFound
    );
    store.withdraw_invitation(amy.id, third, 1_700).unwrap();
    assert_eq!(
        kind_of(store.accept_invitation(&token(3), yan.id, 1_800)),
        ErrorKind::Conflict
    );
    assert_eq!(
        kind_of(store.accept_invitation(&token(9), yan.id, 1_800)),
        ErrorKind::NotFound
    );
    let states: Vec<InvitationState> = store
        .invitations_of(amy.id)
        .unwrap()
        .into_iter()
        .map(|i| i.state)
        .collect();
    assert_eq!(
        states,
        [
            InvitationState::Withdrawn { at: 1_700 },
            InvitationState::Open,
            InvitationState::Accepted {
                by: "zoe".into(),
                at: 1_500
            },
        ]
    );
    assert_eq!(store.invitations_of(ben.id).unwrap(), []);
    // The link: Amy reaches Zoe, not Yan; Ben reaches nobody.
    assert_eq!(
        store.linked_participant(amy.id, zoe.id.number()).unwrap(),
        Some(zoe.clone())
    );
    assert_eq!(
        store.linked_participant(amy.id, yan.id.number()).unwrap(),
        None
    );
    assert_eq!(
        store.linked_participant(ben.id, zoe.id.number()).unwrap(),
        None
    );
    assert_eq!(store.care_links_of(zoe.id).unwrap().len(), 1);
    assert_eq!(store.care_links_of(amy.id).unwrap()[0].participant, zoe);
    assert_eq!(store.care_links_of(yan.id).unwrap(), []);
    // Ended by either side: gone.
    store.end_care_link(amy.id, zoe.id).unwrap();
    assert_eq!(
        store.linked_participant(amy.id, zoe.id.number()).unwrap(),
        None
    );
    assert_eq!(
        kind_of(store.end_care_link(amy.id, zoe.id)),
        ErrorKind::NotFound
    );
}

/// A reset link works once, before it expires, sets the password and ends the sessions.
pub fn password_resets_are_one_time<S: ClinicStore>(store: &S) {
    let zoe = account(store, "zoe", Role::Participant);
    store
        .open_session(
            &NewSession {
                token: token(1),
                account: zoe.id,
                now: 1_000,
                absolute_expiry: 9_000,
            },
            None,
        )
        .unwrap();
    store
        .create_password_reset(zoe.id, &token(2), 1_000, 2_000)
        .unwrap();
    assert_eq!(
        store.password_reset(&token(2), 1_999).unwrap(),
        Some(zoe.clone())
    );
    assert_eq!(store.password_reset(&token(2), 2_000).unwrap(), None);
    assert_eq!(store.password_reset(&token(3), 1_500).unwrap(), None);
    let used = store
        .use_password_reset(&token(2), 1_500, PHC_2, "2026-11-02T08:00:00Z")
        .unwrap();
    assert_eq!(used, zoe);
    assert_eq!(store.account_by_username("zoe").unwrap().unwrap().1, PHC_2);
    assert!(store.session(&token(1), 1_501, 600, 60).unwrap().is_none());
    assert_eq!(
        kind_of(store.use_password_reset(&token(2), 1_600, PHC_1, "x")),
        ErrorKind::NotFound
    );
    store
        .create_password_reset(zoe.id, &token(4), 1_000, 2_000)
        .unwrap();
    assert_eq!(
        kind_of(store.use_password_reset(&token(4), 2_000, PHC_1, "x")),
        ErrorKind::NotFound
    );
    assert_eq!(store.account_by_username("zoe").unwrap().unwrap().1, PHC_2);
}

/// The audit log: per person, in order of writing.
pub fn audit_lines_are_per_person_in_order<S: ClinicStore>(store: &S) {
    let zoe = account(store, "zoe", Role::Participant);
    let yan = account(store, "yan", Role::Participant);
    store
        .append_audit(zoe.person, &entry("amy", "read the report"))
        .unwrap();
    store
        .append_audit(yan.person, &entry("amy", "read the dashboard"))
        .unwrap();
    store
        .append_audit(zoe.person, &entry("ben", "set up a trial"))
        .unwrap();
    let zoes: Vec<(String, String)> = store
        .audit_of(zoe.person)
        .unwrap()
        .into_iter()
        .map(|e| (e.actor, e.action))
        .collect();
    assert_eq!(
        zoes,
        [
            ("amy".to_string(), "read the report".to_string()),
            ("ben".to_string(), "set up a trial".to_string())
        ]
    );
    assert_eq!(
        store.audit_of(yan.person).unwrap(),
        [entry("amy", "read the dashboard")]
    );
}

/// Deleting an account removes everything of its person (diary, profile, trials, sessions,
/// links, invitations, resets, audit lines) and nothing of anyone else's.
pub fn deleting_an_account_removes_everything_of_that_person<
    S: Store + TrialStore + ClinicStore,
>(
    store: &S,
) {
    let amy = account(store, "amy", Role::Clinician);
    let zoe = account(store, "zoe", Role::Participant);
    let yan = account(store, "yan", Role::Participant);
    for who in [&zoe, &yan] {
        store
            .add_record(
                who.person,
                &night(date(2026, 11, 2), 5),
                &stamp("2026-11-03T07:00:00Z"),
                OnDuplicate::Refuse,
            )
            .unwrap();
        store
            .set_profile(
                who.person,
                &StoredProfile {
                    document: "age = 50".into(),
                    updated_at: "2026-11-01T09:00:00Z".into(),
                },
            )
            .unwrap();
        new_trial(store, who.person, "magnesium", 7);
        store
            .append_audit(who.person, &entry("amy", "read the report"))
            .unwrap();
    }
    for (t, who) in [(1u8, &zoe), (2, &yan)] {
        store
            .create_invitation(&NewInvitation {
                token: token(t),
                clinician: amy.id,
                label: "",
                now: 1_000,
                expires_at: 9_000,
            })
            .unwrap();
        store.accept_invitation(&token(t), who.id, 1_100).unwrap();
        store
            .open_session(
                &NewSession {
                    token: token(10 + t),
                    account: who.id,
                    now: 1_000,
                    absolute_expiry: 9_000,
                },
                None,
            )
            .unwrap();
        store
            .create_password_reset(who.id, &token(20 + t), 1_000, 9_000)
            .unwrap();
    }
    store.delete_account(zoe.id).unwrap();
    assert_eq!(store.account(zoe.id).unwrap(), None);
    assert_eq!(store.account_by_username("zoe").unwrap(), None);
    assert!(store.session(&token(11), 1_200, 600, 60).unwrap().is_none());
    assert_eq!(store.password_reset(&token(21), 1_200).unwrap(), None);
    assert_eq!(
        store.linked_participant(amy.id, zoe.id.number()).unwrap(),
        None
    );
    assert_eq!(store.records(zoe.person, None, None).unwrap(), []);
    assert_eq!(store.profile(zoe.person).unwrap(), None);
    assert_eq!(store.trials(zoe.person).unwrap(), []);
    assert_eq!(store.audit_of(zoe.person).unwrap(), []);
    assert_eq!(kind_of(store.delete_account(zoe.id)), ErrorKind::NotFound);
    // Yan's are untouched.
    assert_eq!(store.records(yan.person, None, None).unwrap().len(), 1);
    assert!(store.profile(yan.person).unwrap().is_some());
    assert_eq!(store.trials(yan.person).unwrap().len(), 1);
    assert_eq!(store.audit_of(yan.person).unwrap().len(), 1);
    assert!(store.session(&token(12), 1_200, 600, 60).unwrap().is_some());
    assert_eq!(
        store.linked_participant(amy.id, yan.id.number()).unwrap(),
        Some(yan.clone())
    );
    // The username may be used again, for a new, empty person.
    let again = account(store, "zoe", Role::Participant);
    assert_eq!(store.records(again.person, None, None).unwrap(), []);
    // A clinician's deletion ends their links and invitations, not the participants' data.
    store.delete_account(amy.id).unwrap();
    assert_eq!(store.care_links_of(yan.id).unwrap(), []);
    assert_eq!(store.audit_of(yan.person).unwrap().len(), 1);
}

/// Helper links: only to the person's own trial; used once; gone with the trial.
pub fn helper_links_count_openings_and_go_with_the_trial<S: Store + TrialStore + ClinicStore>(
    store: &S,
) {
    let zoe = account(store, "zoe", Role::Participant);
    let yan = account(store, "yan", Role::Participant);
    let trial = new_trial(store, zoe.person, "magnesium", 5);
    // Not to another person's trial.
    assert_eq!(
        kind_of(store.create_helper_link(&token(1), yan.person, trial, "Sam", 1_000)),
        ErrorKind::NotFound
    );
    store
        .create_helper_link(&token(1), zoe.person, trial, "Sam", 1_000)
        .unwrap();
    let seen = store.helper_link(&token(1)).unwrap().unwrap();
    assert_eq!(
        (
            seen.person,
            seen.trial_id,
            seen.helper.as_str(),
            seen.created_at,
            seen.opened
        ),
        (zoe.person, trial, "Sam", 1_000, 0)
    );
    // Used once only; looking does not use it.
    assert!(store.use_helper_link(&token(1)).unwrap());
    assert!(!store.use_helper_link(&token(1)).unwrap());
    assert_eq!(store.helper_link(&token(1)).unwrap().unwrap().opened, 1);
    assert_eq!(store.helper_link(&token(2)).unwrap(), None);
    assert!(!store.use_helper_link(&token(2)).unwrap());
    store.delete_trial(zoe.person, trial).unwrap();
    assert_eq!(store.helper_link(&token(1)).unwrap(), None);
    // With the account.
    let again = new_trial(store, zoe.person, "magnesium", 6);
    store
        .create_helper_link(&token(3), zoe.person, again, "Sam", 1_000)
        .unwrap();
    store.delete_account(zoe.id).unwrap();
    assert_eq!(store.helper_link(&token(3)).unwrap(), None);
}
