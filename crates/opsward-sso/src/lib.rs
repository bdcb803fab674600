//! Signing in through the organisation's identity provider (issue 22): OpenID Connect, the
//! group-to-role mapping shared by every method, the `[sso]` settings, and the storage of
//! provider identities with the audit of every sign-in (method and mapped role).
//!
//! The server routes and renders; what a sign-in means (which account, which role, whether
//! it is refused and what that ends) is decided here.

pub mod ldap;
pub mod mapping;
pub mod oidc;
pub mod overrides;
pub mod recheck;
pub mod settings;
mod settings_store;
pub mod store;

pub use mapping::{GroupMapping, Unmapped};
pub use overrides::{InvalidSetting, SsoOverrides};
pub use settings::{LocalLogin, Provisioning, Secret, SsoSettings};
pub use store::{ProviderIdentity, Refusal, SignInOutcome, SsoStore, StoredOverrides};

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

/// The settings in force: `base` (file and environment) with what an administrator saved
/// laid over it, and the saved row. Saved settings that no longer fit the file (say it
/// dropped a provider they relied on) are ignored with an error in the log rather than
/// locking everyone out.
pub async fn effective_settings(
    store: &SsoStore,
    base: &SsoSettings,
    public_url: Option<&str>,
) -> Result<(SsoSettings, Option<StoredOverrides>), opsward_store::StoreError> {
    let saved = store.load_overrides().await?;
    let settings = match &saved {
        None => base.clone(),
        Some(saved) => saved.overrides.apply(base, public_url).unwrap_or_else(|e| {
            tracing::error!(error = %e, "the sign-in settings saved in the database are not usable; using the file's");
            base.clone()
        }),
    };
    Ok((settings, saved))
}
