//! Survey links that need no login: `<survey id>.<expiry, unix seconds>.<signature>`, the
//! signature an HMAC-SHA256 over both numbers with a key kept in the database. Changing any
//! part breaks the signature; expiry is checked here and single use by the store (an
//! answer only lands on a survey that has none).

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LinkError {
    #[error("this survey link is malformed")]
    Malformed,
    #[error("this survey link is not valid (it was changed or never issued)")]
    BadSignature,
    #[error("this survey link has expired")]
    Expired,
}

fn mac(key: &[u8], survey_id: i64, expires: i64) -> HmacSha256 {
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(format!("opsward-survey:v1:{survey_id}:{expires}").as_bytes());
    mac
}

/// The token for a survey's link.
pub fn sign(key: &[u8], survey_id: i64, expires_at: DateTime<Utc>) -> String {
    let expires = expires_at.timestamp();
    let signature = mac(key, survey_id, expires).finalize().into_bytes();
    format!(
        "{survey_id}.{expires}.{}",
        URL_SAFE_NO_PAD.encode(signature)
    )
}

/// The survey a token is for, if it was issued with `key` and has not expired at `now`.
pub fn verify(key: &[u8], token: &str, now: DateTime<Utc>) -> Result<i64, LinkError> {
    let mut parts = token.splitn(3, '.');
    let (Some(id), Some(expires), Some(signature)) = (parts.next(), parts.next(), parts.next())
    else {
        return Err(LinkError::Malformed);
    };
    let digits = |s: &str| !s.is_empty() && s.len() <= 19 && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(id) || !digits(expires) {
        return Err(LinkError::Malformed);
    }
    let (Ok(id_n), Ok(expires_n)) = (id.parse::<i64>(), expires.parse::<i64>()) else {
        return Err(LinkError::Malformed);
    };
    // Canonical form only: `042` names survey 42 too, and a link must have exactly one
    // spelling (what `sign` writes), or a used link could be answered again under another.
    if id_n.to_string() != id || expires_n.to_string() != expires {
        return Err(LinkError::Malformed);
    }
    let (id, expires) = (id_n, expires_n);
    let signature = URL_SAFE_NO_PAD
        .decode(signature)
        .map_err(|_| LinkError::Malformed)?;
    // Constant-time comparison, so the signature cannot be guessed byte by byte.
    mac(key, id, expires)
        .verify_slice(&signature)
        .map_err(|_| LinkError::BadSignature)?;
    if now.timestamp() >= expires {
        return Err(LinkError::Expired);
    }
    Ok(id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, TimeZone};

    const KEY: &[u8] = b"0123456789abcdef0123456789abcdef";

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap()
    }

    #[test]
    fn a_signed_link_verifies_until_it_expires() {
        let token = sign(KEY, 42, now() + Duration::days(14));
        assert_eq!(verify(KEY, &token, now()), Ok(42));
        assert_eq!(
            verify(KEY, &token, now() + Duration::days(14)),
            Err(LinkError::Expired)
        );
    }

    #[test]
    fn any_change_to_the_link_is_rejected() {
        let token = sign(KEY, 42, now() + Duration::days(14));
        let (id, rest) = token.split_once('.').unwrap();
        let (expires, signature) = rest.split_once('.').unwrap();
        // Another survey, a later expiry, a flipped signature character, another key.
        let other_id = format!("43.{rest}");
        let later = format!(
            "{id}.{}.{signature}",
            expires.parse::<i64>().unwrap() + 86_400
        );
        let mut flipped = token.clone().into_bytes();
        let last = flipped.len() - 1;
        flipped[last] = if flipped[last] == b'A' { b'B' } else { b'A' };
        let flipped = String::from_utf8(flipped).unwrap();
        for tampered in [other_id, later, flipped] {
            assert_eq!(
                verify(KEY, &tampered, now()),
                Err(LinkError::BadSignature),
                "{tampered}"
            );
        }
        assert_eq!(
            verify(b"another key", &token, now()),
            Err(LinkError::BadSignature)
        );
    }

    /// Issue 19, failure 8: a leading zero on the id (or the expiry) made another spelling
    /// of the same link, which verified.
    #[test]
    fn only_the_canonical_spelling_verifies() {
        let token = sign(KEY, 42, now() + Duration::days(14));
        let (id, rest) = token.split_once('.').unwrap();
        let (expires, signature) = rest.split_once('.').unwrap();
        for other in [
            format!("0{token}"),
            format!("{id}.0{expires}.{signature}"),
            format!("+{token}"),
            format!("{token}="),
            format!("{token}."),
            format!("{token} "),
        ] {
            assert!(verify(KEY, &other, now()).is_err(), "{other}");
        }
        assert_eq!(verify(KEY, &token, now()), Ok(42));
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]

        /// Survey tokens from the outside: never a panic, and only what `sign` wrote verifies.
        #[test]
        fn fuzz_survey_tokens(token in "[0-9.A-Za-z_=+-]{0,60}", id in 0i64..1_000_000) {
            let _ = verify(KEY, &token, now());
            let signed = sign(KEY, id, now() + Duration::days(1));
            proptest::prop_assert_eq!(verify(KEY, &signed, now()), Ok(id));
            if token != signed {
                proptest::prop_assert!(verify(KEY, &token, now()).is_err());
            }
        }
    }

    #[test]
    fn garbage_is_malformed_not_a_panic() {
        for token in [
            "",
            "42",
            "42.1",
            "x.1.abc",
            "42.-1.abc",
            "42.1.%%%",
            "99999999999999999999.1.a",
        ] {
            assert_eq!(
                verify(KEY, token, now()),
                Err(LinkError::Malformed),
                "{token:?}"
            );
        }
    }
}
