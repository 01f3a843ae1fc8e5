//! Log-in for the web app: one password per person, kept only as an argon2id hash (a PHC
//! string), so that a server reachable from other machines can require it.
//!
//! Policy (security, not clinical, so it lives here rather than in the clinical rule base):
//! - length: at least 15 characters, as NIST SP 800-63B-4 §3.1.1.2 requires of a password that
//!   is the only factor (<https://doi.org/10.6028/NIST.SP.800-63b-4>); at most 1024, so that a
//!   request cannot make the server hash megabytes;
//! - not easy to guess: the same section requires a blocklist of commonly used, expected or
//!   compromised values and context-specific words. The `zxcvbn` crate (Dropbox's estimator)
//!   matches a password against lists of common passwords, English words, names and surnames,
//!   keyboard patterns, repeats, sequences and dates, and here also against the service's own
//!   words and the username; a password it scores below 3 (fewer than 10^8 guesses) is refused.
//!   Score 3 is the paper's "safely unguessable: moderate protection from offline slow-hash
//!   scenario" (Wheeler, "zxcvbn: Low-Budget Password Strength Estimation", USENIX Security 2016,
//!   <https://www.usenix.org/conference/usenixsecurity16/technical-sessions/presentation/wheeler>),
//!   and the hash here is a slow one. No composition rules (NIST forbids them);
//! - hashing: argon2id (RFC 9106, <https://doi.org/10.17487/RFC9106>) with the `argon2` crate's
//!   default parameters, m = 19 MiB, t = 2, p = 1, the minimum the OWASP Password Storage Cheat
//!   Sheet recommends (<https://cheatsheetseries.owasp.org/cheatsheets/Password_Storage_Cheat_Sheet.html>),
//!   with a 16-byte random salt supplied by the caller.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use quietlegs_store::{PersonId, Store};

use crate::{AppError, Context};

/// The fewest characters a password may have (NIST SP 800-63B-4 §3.1.1.2, single factor).
pub const MIN_PASSWORD_CHARS: usize = 15;
/// The most bytes a password may have (a bound on the work one request can cause).
pub const MAX_PASSWORD_BYTES: usize = 1024;

/// The outcome of a log-in attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginCheck {
    Accepted,
    Refused,
    /// No password has been set for this person: nobody can log in.
    NoPasswordSet,
}

/// The lowest `zxcvbn` score a new password may have (see the module's policy).
pub const MIN_GUESS_SCORE: zxcvbn::Score = zxcvbn::Score::Three;

/// The service's own words, which a password must not lean on (NIST's "context-specific
/// words").
const SERVICE_WORDS: &[&str] = &["quietlegs", "quiet", "legs", "restless", "magnesium"];

/// Checks `password` against the policy; the message names the field and the allowed range.
pub fn check_policy(password: &str) -> Result<(), AppError> {
    check_policy_for(password, None)
}

/// [`check_policy`] for an account whose `username` is known: a password built on it is
/// refused too.
pub fn check_policy_for(password: &str, username: Option<&str>) -> Result<(), AppError> {
    let chars = password.chars().count();
    if chars < MIN_PASSWORD_CHARS {
        return Err(AppError::field(
            "password",
            format!(
                "the password has {chars} characters: use at least {MIN_PASSWORD_CHARS} \
                 (a passphrase of a few unrelated words is easy to remember)"
            ),
        ));
    }
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(AppError::field(
            "password",
            format!("the password is longer than {MAX_PASSWORD_BYTES} bytes"),
        ));
    }
    let mut context: Vec<&str> = SERVICE_WORDS.to_vec();
    context.extend(username);
    let estimate = zxcvbn::zxcvbn(password, &context);
    if estimate.score() < MIN_GUESS_SCORE {
        let why = estimate
            .feedback()
            .and_then(|f| f.warning())
            .map(|w| format!(" ({})", w.to_string().trim_end_matches('.').to_lowercase()))
            .unwrap_or_default();
        return Err(AppError::field(
            "password",
            format!(
                "the password is too easy to guess{why}: use a passphrase of four or more \
                 unrelated words, not a common password, a repeat, a keyboard run, the name of \
                 this service or your username"
            ),
        ));
    }
    Ok(())
}

/// Sets (or replaces) the person's password, hashed with argon2id and `salt` (16 random bytes
/// from the caller: the use case itself draws no randomness).
pub fn set_password<S: Store>(
    store: &S,
    person: PersonId,
    ctx: &Context<'_>,
    password: &str,
    salt: [u8; 16],
) -> Result<(), AppError> {
    check_policy(password)?;
    let salt = SaltString::encode_b64(&salt)
        .map_err(|e| AppError::internal(format!("encoding the password salt: {e}")))?;
    let phc = Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map_err(|e| AppError::internal(format!("hashing the password: {e}")))?
        .to_string();
    store.set_login_secret(person, &phc, &ctx.now.instant)?;
    Ok(())
}

/// Whether the person has a password.
pub fn password_is_set<S: Store>(store: &S, person: PersonId) -> Result<bool, AppError> {
    Ok(store.login_secret(person)?.is_some())
}

/// Checks a log-in attempt (in time independent of where a wrong password differs: the
/// comparison is argon2's own, of hashes). An over-long attempt is refused unhashed.
pub fn check_password<S: Store>(
    store: &S,
    person: PersonId,
    password: &str,
) -> Result<LoginCheck, AppError> {
    let Some(phc) = store.login_secret(person)? else {
        return Ok(LoginCheck::NoPasswordSet);
    };
    if password.len() > MAX_PASSWORD_BYTES {
        return Ok(LoginCheck::Refused);
    }
    let hash = PasswordHash::new(&phc)
        .map_err(|e| AppError::internal(format!("the stored password hash is unreadable: {e}")))?;
    Ok(
        match Argon2::default().verify_password(password.as_bytes(), &hash) {
            Ok(()) => LoginCheck::Accepted,
            Err(_) => LoginCheck::Refused,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{FoodCatalog, Now};
    use quietlegs_core::ReferenceData;
    use quietlegs_store::{Identity, SqliteStore};

    #[test]
    fn a_password_is_stored_hashed_and_checked() {
        let store = SqliteStore::in_memory().unwrap();
        let me = store
            .person(&Identity::local("me"), "2026-11-29T10:00:00Z")
            .unwrap();
        let (reference, foods) = (ReferenceData::shipped().unwrap(), FoodCatalog::new());
        let now = Now::fixed(
            jiff::civil::date(2026, 11, 29),
            quietlegs_core::clock::ClockTime::from_minutes_wrapping(600),
        );
        let ctx = Context {
            now: &now,
            reference: &reference,
            foods: &foods,
        };
        assert_eq!(
            check_password(&store, me, "anything at all here").unwrap(),
            LoginCheck::NoPasswordSet
        );
        // 14 characters: one short of the minimum; nothing stored.
        let short = set_password(&store, me, &ctx, "fourteen chars", [7; 16]).unwrap_err();
        assert_eq!(short.field, Some("password"));
        assert!(short.message.contains("14 characters"), "{}", short.message);
        assert!(!password_is_set(&store, me).unwrap());
        // 15 characters, counted as characters not bytes ("ü" is 2 bytes).
        let password = "grüne wiese 123";
        assert_eq!(password.chars().count(), 15);
        set_password(&store, me, &ctx, password, [7; 16]).unwrap();
        let phc = store.login_secret(me).unwrap().unwrap();
        // argon2id, version 19, the OWASP minimum parameters, the salt given (base64 of 7s).
        assert!(
            phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$BwcHBwcHBwcHBwcHBwcHBw$"),
            "{phc}"
        );
        assert!(!phc.contains(password));
        assert_eq!(
            check_password(&store, me, password).unwrap(),
            LoginCheck::Accepted
        );
        assert_eq!(
            check_password(&store, me, "grüne wiese 124").unwrap(),
            LoginCheck::Refused
        );
        assert_eq!(
            check_password(&store, me, &"x".repeat(MAX_PASSWORD_BYTES + 1)).unwrap(),
            LoginCheck::Refused
        );
    }

    /// Long enough but easy to guess: refused with the reason, naming the field. Each refused
    /// one is a pattern the blocklist rule names (NIST SP 800-63B-4 §3.1.1.2), and zxcvbn puts
    /// it under 10^8 guesses: a repeat, a digit run, a keyboard row, the service's name twice,
    /// a username used as the password. The accepted ones are four-word passphrases.
    #[test]
    fn easy_to_guess_passwords_are_refused_whatever_their_length() {
        for (password, username) in [
            ("passwordpassword", None),
            ("123456789012345", None),
            ("qwertyuiopasdfgh", None),
            ("quietlegsquietlegs", None),
            ("trustno1trustno1", None),
            ("margaret.hughes77", Some("margaret.hughes77")),
        ] {
            assert!(password.chars().count() >= MIN_PASSWORD_CHARS, "{password}");
            let err = check_policy_for(password, username).unwrap_err();
            assert_eq!(err.field, Some("password"), "{password}");
            assert!(
                err.message.starts_with("the password is too easy to guess"),
                "{password}: {}",
                err.message
            );
        }
        // The repeat is named.
        let repeat = check_policy("passwordpassword").unwrap_err();
        assert!(repeat.message.contains("repeats"), "{}", repeat.message);
        // The same string is fine for an account with another name: the username is the
        // context, not a ban on names.
        check_policy_for("margaret.hughes77", Some("zoe")).unwrap();
        for password in [
            "correct horse battery staple",
            "my quiet legs tonight",
            "grüne wiese 123",
        ] {
            check_policy(password).unwrap();
        }
    }
}
