//! Signing in through the organisation's identity provider (issue 22): OpenID Connect, the
//! group-to-role mapping shared by every method, the `[sso]` settings, and the storage of
//! provider identities with the audit of every sign-in (method and mapped role).
//!
//! The server routes and renders; what a sign-in means (which account, which role, whether
//! it is refused and what that ends) is decided here.

pub mod ldap;
pub mod mapping;
pub mod oidc;
pub mod settings;
pub mod store;

pub use mapping::{GroupMapping, Unmapped};
pub use settings::{LocalLogin, Provisioning, Secret, SsoSettings};
pub use store::{ProviderIdentity, Refusal, SignInOutcome, SsoStore};

use sha2::{Digest, Sha256};

/// How a user signed in, as the audit log records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Method {
    Oidc,
    Ldap,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Oidc => "oidc",
            Method::Ldap => "ldap",
        }
    }
}

/// The stored form of an OIDC `state`: the database never holds one a browser could use.
pub fn hash_state(state: &str) -> String {
    hex::encode(Sha256::digest(state.as_bytes()))
}
