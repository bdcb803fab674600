//! Random secrets (session cookies, API tokens, CSRF tokens) and how they are stored.
//!
//! Secrets have 256 bits of entropy, so a fast SHA-256 is a safe way to store them: unlike
//! passwords they cannot be guessed, only stolen, and the database holds only the hash.

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use rand::RngCore;
use sha2::{Digest, Sha256};

/// Prefix of API tokens: recognisable in configs and by secret scanners.
pub const TOKEN_PREFIX: &str = "ow_";

pub fn random_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

pub fn new_api_token() -> String {
    format!("{TOKEN_PREFIX}{}", random_secret())
}

pub fn hash_secret(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// Compare without leaking through timing how much of the value matched.
pub fn constant_time_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_unique_and_hashed() {
        let a = new_api_token();
        assert!(a.starts_with("ow_") && a.len() == 46);
        assert_ne!(a, new_api_token());
        assert_eq!(hash_secret(&a).len(), 64);
        assert!(
            constant_time_eq("abc", "abc")
                && !constant_time_eq("abc", "abd")
                && !constant_time_eq("a", "ab")
        );
    }
}
