//! The `[sso]` section of `opsward.toml`: who may sign in how, and the group mapping.
//!
//! Secrets (the OIDC client secret, the LDAP bind password) are never part of the file:
//! they come from a file named in it or from the environment, and `Debug` never shows them.

use crate::mapping::GroupMapping;
use serde::{Deserialize, Serialize};
use std::{fmt, path::PathBuf};

/// Environment variable with the OIDC client secret (wins over `client_secret_file`).
pub const OIDC_SECRET_ENV: &str = "OPSWARD_SSO_OIDC_CLIENT_SECRET";
/// Environment variable with the group mapping as `group=role, group=role`.
pub const GROUPS_ENV: &str = "OPSWARD_SSO_GROUPS";

/// A secret that never reaches logs, `Debug` output or a page.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The environment variable `env` when set and not empty, else the first line of `file`.
    pub fn resolve(env: &str, file: Option<&std::path::Path>) -> Result<Option<Secret>, String> {
        if let Some(value) = std::env::var(env).ok().filter(|v| !v.is_empty()) {
            return Ok(Some(Secret(value)));
        }
        let Some(path) = file else {
            return Ok(None);
        };
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let line = text.lines().next().unwrap_or("").trim_end_matches('\r');
        if line.is_empty() {
            return Err(format!("{} is empty", path.display()));
        }
        Ok(Some(Secret(line.to_string())))
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// Which local (password) accounts may still sign in once an identity provider is set up.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LocalLogin {
    /// Every local account (the default, and the only way without an identity provider).
    #[default]
    All,
    /// Only the accounts named in `break_glass_users`, for when the provider is down.
    BreakGlass,
}

/// What happens when someone the provider vouches for has no account here yet.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Provisioning {
    /// Create the account at the first sign-in (just in time).
    #[default]
    JustInTime,
    /// Refuse unless an administrator created an account of that username first.
    PreCreated,
}

/// `[sso]`: everything about signing in besides local passwords.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SsoSettings {
    #[serde(default)]
    pub local_login: LocalLogin,
    /// Local accounts that may sign in with a password when `local_login = "break_glass"`.
    #[serde(default)]
    pub break_glass_users: Vec<String>,
    #[serde(default)]
    pub provisioning: Provisioning,
    /// `[sso.mapping]`: `groups` (group -> role) and `default_role`.
    #[serde(default)]
    pub mapping: GroupMapping,
    #[serde(default)]
    pub oidc: Option<crate::oidc::OidcSettings>,
    /// `[sso.ldap]`: passwords on the login form checked by the directory.
    #[serde(default)]
    pub ldap: Option<crate::ldap::LdapSettings>,
    /// Minutes between two re-reads of LDAP users' groups (default 15; 1 to 1440).
    #[serde(default)]
    pub recheck_minutes: Option<u32>,
}

/// How often LDAP users' groups are read again when `recheck_minutes` is unset.
pub const DEFAULT_RECHECK_MINUTES: u32 = 15;

impl SsoSettings {
    /// Whether `username` may sign in with a local password.
    pub fn allows_local(&self, username: &str) -> bool {
        match self.local_login {
            LocalLogin::All => true,
            LocalLogin::BreakGlass => self
                .break_glass_users
                .iter()
                .any(|u| u.eq_ignore_ascii_case(username.trim())),
        }
    }

    /// Minutes between two re-checks of LDAP users' groups.
    pub fn recheck_minutes(&self) -> u32 {
        self.recheck_minutes.unwrap_or(DEFAULT_RECHECK_MINUTES)
    }

    /// Read the secrets from the environment or their files and the mapping from
    /// [`GROUPS_ENV`], then check that the whole is usable. Called once at start-up.
    pub fn resolve(&mut self) -> Result<(), String> {
        if let Some(text) = std::env::var(GROUPS_ENV).ok().filter(|v| !v.is_empty()) {
            self.mapping.groups =
                GroupMapping::parse_pairs(&text).map_err(|e| format!("{GROUPS_ENV}: {e}"))?;
        }
        if let Some(oidc) = &mut self.oidc {
            oidc.client_secret =
                Secret::resolve(OIDC_SECRET_ENV, oidc.client_secret_file.as_deref())
                    .map_err(|e| format!("sso.oidc.client_secret_file: {e}"))?;
            oidc.validate().map_err(|e| format!("sso.oidc: {e}"))?;
        }
        if let Some(ldap) = &mut self.ldap {
            ldap.bind_password = Secret::resolve(
                crate::ldap::BIND_PASSWORD_ENV,
                ldap.bind_password_file.as_deref(),
            )
            .map_err(|e| format!("sso.ldap.bind_password_file: {e}"))?;
            ldap.validate().map_err(|e| format!("sso.ldap: {e}"))?;
        }
        if !(1..=1440).contains(&self.recheck_minutes()) {
            return Err("recheck_minutes must be 1 to 1440".into());
        }
        if self.local_login == LocalLogin::BreakGlass && self.oidc.is_none() && self.ldap.is_none()
        {
            return Err(
                "local_login = \"break_glass\" needs [sso.oidc] or [sso.ldap]: otherwise only the break-glass accounts could sign in"
                    .into(),
            );
        }
        Ok(())
    }
}

/// A path in the configuration that must exist when given.
pub(crate) fn check_file(name: &str, path: Option<&PathBuf>) -> Result<(), String> {
    match path {
        Some(p) if !p.is_file() => Err(format!("{name} {} does not exist", p.display())),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_show_in_debug_output() {
        let secret = Secret::new("hunter2-very-secret");
        assert_eq!(format!("{secret:?}"), "***");
        let oidc = crate::oidc::OidcSettings {
            client_secret: Some(secret),
            ..crate::oidc::OidcSettings::example()
        };
        assert!(!format!("{oidc:?}").contains("hunter2"));
    }

    #[test]
    fn a_secret_comes_from_the_first_line_of_its_file() {
        let dir = tempfile_dir();
        let path = dir.join("secret");
        std::fs::write(&path, "s3cret\nignored\n").unwrap();
        let found = Secret::resolve("OPSWARD_TEST_UNSET_SECRET_VARIABLE", Some(&path)).unwrap();
        assert_eq!(found.unwrap().expose(), "s3cret");
        std::fs::write(&path, "\n").unwrap();
        assert!(Secret::resolve("OPSWARD_TEST_UNSET_SECRET_VARIABLE", Some(&path)).is_err());
        assert!(Secret::resolve(
            "OPSWARD_TEST_UNSET_SECRET_VARIABLE",
            Some(&dir.join("none"))
        )
        .is_err());
    }

    fn tempfile_dir() -> PathBuf {
        let dir = std::env::temp_dir().join(format!("opsward-sso-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn break_glass_limits_local_passwords_to_named_accounts() {
        let mut sso = SsoSettings::default();
        assert!(sso.allows_local("anyone"));
        sso.local_login = LocalLogin::BreakGlass;
        sso.break_glass_users = vec!["root-admin".into()];
        assert!(sso.allows_local("Root-Admin"));
        assert!(!sso.allows_local("alice"));
        assert!(
            sso.resolve().is_err(),
            "break glass without a provider locks everyone out"
        );
    }
}
