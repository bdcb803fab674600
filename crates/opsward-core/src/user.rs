//! Accounts that sign in to opsward, and the API tokens they hold.

use crate::{
    role::Role,
    validation::{ValidationError, Validator},
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Shortest password accepted. Length beats composition rules (NIST SP 800-63B).
pub const MIN_PASSWORD_CHARS: usize = 12;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct User {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    pub email: Option<String>,
    pub role: Role,
    pub disabled: bool,
    pub created_at: DateTime<Utc>,
    pub last_login_at: Option<DateTime<Utc>>,
}

/// A new account. The password arrives already hashed: the store never sees plain text.
#[derive(Debug, Clone)]
pub struct NewUser {
    pub username: String,
    pub display_name: String,
    pub email: Option<String>,
    pub role: Role,
    pub password_hash: String,
}

impl NewUser {
    pub fn validate_username(username: &str) -> Result<(), ValidationError> {
        let ok = (1..=64).contains(&username.len())
            && username
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b'@'));
        if ok {
            Ok(())
        } else {
            Err(ValidationError::single(
                "username",
                "must be 1-64 characters of letters, digits, '.', '_', '-' or '@'",
            ))
        }
    }
}

pub fn validate_password(password: &str) -> Result<(), ValidationError> {
    let mut v = Validator::new();
    if password.chars().count() < MIN_PASSWORD_CHARS {
        v.error(
            "password",
            format!("must be at least {MIN_PASSWORD_CHARS} characters"),
        );
    } else if password.len() > 1024 {
        v.error("password", "must be at most 1024 bytes");
    }
    v.finish()
}

/// A change to an account; `None` leaves the field as it is.
#[derive(Debug, Clone, Default)]
pub struct UserPatch {
    pub display_name: Option<String>,
    pub email: Option<Option<String>>,
    pub role: Option<Role>,
    pub disabled: Option<bool>,
    pub password_hash: Option<String>,
    /// Keep the account's API tokens when this change sets a password or disables it
    /// (`keep_api_tokens` in the server configuration); by default they are revoked.
    pub keep_api_tokens: bool,
}

/// An API token as listed: never the secret, which is shown once at creation and then
/// exists only as a hash.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ApiToken {
    pub id: i64,
    pub user_id: i64,
    pub name: String,
    /// First characters of the secret so a person can tell their tokens apart.
    pub prefix: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
}

impl ApiToken {
    pub fn is_active(&self, now: DateTime<Utc>) -> bool {
        self.revoked_at.is_none() && self.expires_at.is_none_or(|e| e > now)
    }
}

#[derive(Debug, Clone)]
pub struct NewApiToken {
    pub user_id: i64,
    pub name: String,
    pub prefix: String,
    pub token_hash: String,
    pub expires_at: Option<DateTime<Utc>>,
}

/// A signed-in browser session; the cookie value itself is only ever stored hashed.
#[derive(Debug, Clone)]
pub struct NewSession {
    pub token_hash: String,
    pub user_id: i64,
    pub csrf_token: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}
