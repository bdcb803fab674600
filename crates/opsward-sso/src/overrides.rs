//! Sign-in settings saved in the database from `/admin/sign-in`, the API or the CLI. Each
//! field set here wins over `opsward.toml` and the environment; a field left unset keeps the
//! file's value. Secrets are never part of it: the OIDC client secret and the LDAP bind
//! password stay in the environment or their files, so the database (and its backups) never
//! hold one.

use crate::{
    ldap::LdapSettings, mapping::GroupMapping, oidc::OidcSettings, LocalLogin, Provisioning,
    SsoSettings,
};
use opsward_core::Role;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The fields an administrator set; `None` means "as in the file".
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SsoOverrides {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub local_login: Option<LocalLogin>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub break_glass_users: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provisioning: Option<Provisioning>,
    /// The whole group -> role mapping (replaces the file's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub groups: Option<BTreeMap<String, Role>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_role: Option<DefaultRole>,
    #[serde(default, skip_serializing_if = "OidcOverrides::is_empty")]
    pub oidc: OidcOverrides,
    #[serde(default, skip_serializing_if = "LdapOverrides::is_empty")]
    pub ldap: LdapOverrides,
}

/// What a user none of whose groups is mapped gets: a role, or `none` (refused).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DefaultRole {
    None,
    Viewer,
    Operator,
    Admin,
}

impl DefaultRole {
    pub fn from_role(role: Option<Role>) -> Self {
        match role {
            None => DefaultRole::None,
            Some(Role::Viewer) => DefaultRole::Viewer,
            Some(Role::Operator) => DefaultRole::Operator,
            Some(Role::Admin) => DefaultRole::Admin,
        }
    }
    pub fn role(self) -> Option<Role> {
        match self {
            DefaultRole::None => None,
            DefaultRole::Viewer => Some(Role::Viewer),
            DefaultRole::Operator => Some(Role::Operator),
            DefaultRole::Admin => Some(Role::Admin),
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OidcOverrides {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scopes: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username_claim: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub groups_claim: Option<String>,
}

impl OidcOverrides {
    pub fn is_empty(&self) -> bool {
        self == &OidcOverrides::default()
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LdapOverrides {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub starttls: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bind_dn: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub search_base: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_filter: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_attribute: Option<String>,
}

impl LdapOverrides {
    pub fn is_empty(&self) -> bool {
        self == &LdapOverrides::default()
    }
}

/// Why saved settings cannot be used, named by the field an administrator would fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct InvalidSetting {
    pub field: &'static str,
    pub message: String,
}

fn invalid(field: &'static str, message: impl Into<String>) -> InvalidSetting {
    InvalidSetting {
        field,
        message: message.into(),
    }
}

/// `Some(value)` when `value` differs from the file's `base`, so a form that sends every
/// field back stores only what the administrator changed.
pub fn differing<T: PartialEq>(value: T, base: &T) -> Option<T> {
    (value != *base).then_some(value)
}

impl SsoOverrides {
    pub fn is_empty(&self) -> bool {
        self == &SsoOverrides::default()
    }

    /// These settings with every field that equals the file's value left unset, so a form
    /// that sends all its fields back saves only what differs, and typing the file's value
    /// again hands the field back to the file.
    pub fn without_file_values(mut self, base: &SsoSettings) -> Self {
        fn keep<T: PartialEq>(field: &mut Option<T>, base: Option<&T>) {
            if field.as_ref().is_some_and(|v| Some(v) == base) {
                *field = None;
            }
        }
        keep(&mut self.local_login, Some(&base.local_login));
        keep(&mut self.break_glass_users, Some(&base.break_glass_users));
        keep(&mut self.provisioning, Some(&base.provisioning));
        keep(&mut self.groups, Some(&base.mapping.groups));
        keep(
            &mut self.default_role,
            Some(&DefaultRole::from_role(base.mapping.default_role)),
        );
        if let Some(b) = &base.oidc {
            let o = &mut self.oidc;
            keep(&mut o.name, Some(&b.name));
            keep(&mut o.issuer, Some(&b.issuer));
            keep(&mut o.client_id, Some(&b.client_id));
            keep(&mut o.scopes, Some(&b.scopes));
            keep(&mut o.username_claim, Some(&b.username_claim));
            keep(&mut o.groups_claim, Some(&b.groups_claim));
        }
        if let Some(b) = &base.ldap {
            let l = &mut self.ldap;
            keep(&mut l.url, Some(&b.url));
            keep(&mut l.starttls, Some(&b.starttls));
            keep(&mut l.bind_dn, Some(&b.bind_dn.clone().unwrap_or_default()));
            keep(&mut l.search_base, Some(&b.search_base));
            keep(&mut l.user_filter, Some(&b.user_filter));
            keep(&mut l.group_attribute, Some(&b.group_attribute));
        }
        self
    }

    /// The settings in force: `base` (file and environment, secrets resolved) with these
    /// fields laid over it, checked as a whole. A provider the file does not configure is
    /// configured here once its required fields are set; its callback is
    /// `<public_url>/auth/oidc/callback`.
    pub fn apply(
        &self,
        base: &SsoSettings,
        public_url: Option<&str>,
    ) -> Result<SsoSettings, InvalidSetting> {
        let mut out = base.clone();
        if let Some(v) = self.local_login {
            out.local_login = v;
        }
        if let Some(v) = &self.break_glass_users {
            out.break_glass_users = v.clone();
        }
        if let Some(v) = self.provisioning {
            out.provisioning = v;
        }
        if let Some(groups) = &self.groups {
            if let Some(empty) = groups.keys().find(|g| g.trim().is_empty()) {
                return Err(invalid("groups", format!("group name {empty:?} is empty")));
            }
            out.mapping = GroupMapping {
                groups: groups.clone(),
                default_role: out.mapping.default_role,
            };
        }
        if let Some(v) = self.default_role {
            out.mapping.default_role = v.role();
        }
        out.oidc = self.apply_oidc(base.oidc.as_ref(), public_url)?;
        out.ldap = self.apply_ldap(base.ldap.as_ref())?;
        if out.local_login == LocalLogin::BreakGlass {
            if out.oidc.is_none() && out.ldap.is_none() {
                return Err(invalid(
                    "local_login",
                    "break_glass needs OpenID Connect or LDAP configured: otherwise only the break-glass accounts could sign in",
                ));
            }
            if out.break_glass_users.iter().all(|u| u.trim().is_empty()) {
                return Err(invalid(
                    "break_glass_users",
                    "name at least one break-glass account, for when the provider is down",
                ));
            }
        }
        Ok(out)
    }

    fn apply_oidc(
        &self,
        base: Option<&OidcSettings>,
        public_url: Option<&str>,
    ) -> Result<Option<OidcSettings>, InvalidSetting> {
        let o = &self.oidc;
        if o.is_empty() {
            return Ok(base.cloned());
        }
        let mut s = match base {
            Some(s) => s.clone(),
            None => {
                let (Some(_), Some(_)) = (&o.issuer, &o.client_id) else {
                    return Err(invalid(
                        "oidc.issuer",
                        "OpenID Connect is not configured in the file: set the issuer and the client id",
                    ));
                };
                let Some(public) = public_url else {
                    return Err(invalid(
                        "oidc.issuer",
                        "OpenID Connect set up here needs public_url in opsward.toml (for the callback address)",
                    ));
                };
                OidcSettings {
                    name: "your identity provider".into(),
                    client_secret: None,
                    client_secret_file: None,
                    redirect_url: format!("{}/auth/oidc/callback", public.trim_end_matches('/')),
                    ..OidcSettings::example()
                }
            }
        };
        let text = |v: &Option<String>, into: &mut String| {
            if let Some(v) = v {
                *into = v.trim().to_string();
            }
        };
        text(&o.name, &mut s.name);
        text(&o.issuer, &mut s.issuer);
        text(&o.client_id, &mut s.client_id);
        text(&o.username_claim, &mut s.username_claim);
        text(&o.groups_claim, &mut s.groups_claim);
        if let Some(scopes) = &o.scopes {
            s.scopes = scopes.clone();
        }
        s.validate().map_err(|e| invalid("oidc", e))?;
        Ok(Some(s))
    }

    fn apply_ldap(
        &self,
        base: Option<&LdapSettings>,
    ) -> Result<Option<LdapSettings>, InvalidSetting> {
        let o = &self.ldap;
        if o.is_empty() {
            return Ok(base.cloned());
        }
        let mut s = match base {
            Some(s) => s.clone(),
            None => {
                let (Some(url), Some(base_dn), Some(filter)) =
                    (&o.url, &o.search_base, &o.user_filter)
                else {
                    return Err(invalid(
                        "ldap.url",
                        "LDAP is not configured in the file: set the URL, the search base and the user filter",
                    ));
                };
                LdapSettings {
                    url: url.clone(),
                    starttls: false,
                    ca_file: None,
                    bind_dn: None,
                    bind_password_file: None,
                    bind_password: None,
                    search_base: base_dn.clone(),
                    user_filter: filter.clone(),
                    group_attribute: "memberOf".into(),
                    display_name_attribute: "cn".into(),
                    email_attribute: "mail".into(),
                    timeout_secs: 5,
                }
            }
        };
        if let Some(v) = &o.url {
            s.url = v.trim().to_string();
        }
        if let Some(v) = o.starttls {
            s.starttls = v;
        }
        if let Some(v) = &o.bind_dn {
            s.bind_dn = Some(v.trim().to_string()).filter(|d| !d.is_empty());
        }
        if let Some(v) = &o.search_base {
            s.search_base = v.trim().to_string();
        }
        if let Some(v) = &o.user_filter {
            s.user_filter = v.trim().to_string();
        }
        if let Some(v) = &o.group_attribute {
            if v.trim().is_empty() {
                return Err(invalid("ldap.group_attribute", "must not be empty"));
            }
            s.group_attribute = v.trim().to_string();
        }
        s.validate().map_err(|e| invalid("ldap", e))?;
        Ok(Some(s))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn base() -> SsoSettings {
        SsoSettings {
            oidc: Some(OidcSettings::example()),
            ..SsoSettings::default()
        }
    }

    #[test]
    fn set_fields_win_and_unset_ones_keep_the_file() {
        let overrides = SsoOverrides {
            default_role: Some(DefaultRole::Viewer),
            oidc: OidcOverrides {
                client_id: Some("from-ui".into()),
                ..Default::default()
            },
            ..Default::default()
        };
        let out = overrides.apply(&base(), None).unwrap();
        let oidc = out.oidc.unwrap();
        assert_eq!(oidc.client_id, "from-ui");
        assert_eq!(oidc.issuer, OidcSettings::example().issuer);
        assert_eq!(out.mapping.default_role, Some(Role::Viewer));
        assert_eq!(
            SsoOverrides::default().apply(&base(), None).unwrap(),
            base()
        );
    }

    #[test]
    fn plain_http_issuers_and_clear_text_ldap_are_refused_except_to_localhost() {
        let http = SsoOverrides {
            oidc: OidcOverrides {
                issuer: Some("http://id.example.com".into()),
                ..Default::default()
            },
            ..Default::default()
        };
        let err = http.apply(&base(), None).unwrap_err();
        assert!(err.to_string().contains("https"), "{err}");
        let local = SsoOverrides {
            oidc: OidcOverrides {
                issuer: Some("http://127.0.0.1:9000".into()),
                ..Default::default()
            },
            ..Default::default()
        };
        assert!(local.apply(&base(), None).is_ok());
        let ldap = |url: &str, starttls| SsoOverrides {
            ldap: LdapOverrides {
                url: Some(url.into()),
                starttls: Some(starttls),
                search_base: Some("dc=example,dc=org".into()),
                user_filter: Some("(uid={username})".into()),
                ..Default::default()
            },
            ..Default::default()
        };
        assert!(ldap("ldap://dc1.example.org", false)
            .apply(&base(), None)
            .unwrap_err()
            .to_string()
            .contains("clear text"));
        assert!(ldap("ldap://dc1.example.org", true)
            .apply(&base(), None)
            .is_ok());
        assert!(ldap("ldaps://dc1.example.org", false)
            .apply(&base(), None)
            .is_ok());
        assert!(ldap("ldap://localhost:3389", false)
            .apply(&base(), None)
            .is_ok());
    }

    #[test]
    fn a_provider_set_up_only_here_needs_its_required_fields() {
        let only_id = SsoOverrides {
            oidc: OidcOverrides {
                client_id: Some("x".into()),
                ..Default::default()
            },
            ..Default::default()
        };
        assert_eq!(
            only_id
                .apply(&SsoSettings::default(), Some("https://ops.example.org"))
                .unwrap_err()
                .field,
            "oidc.issuer"
        );
        let full = SsoOverrides {
            oidc: OidcOverrides {
                issuer: Some("https://id.example.org".into()),
                client_id: Some("x".into()),
                ..Default::default()
            },
            ..Default::default()
        };
        let out = full
            .apply(&SsoSettings::default(), Some("https://ops.example.org/"))
            .unwrap();
        assert_eq!(
            out.oidc.unwrap().redirect_url,
            "https://ops.example.org/auth/oidc/callback"
        );
        let glass = SsoOverrides {
            local_login: Some(LocalLogin::BreakGlass),
            ..Default::default()
        };
        assert_eq!(
            glass
                .apply(&SsoSettings::default(), None)
                .unwrap_err()
                .field,
            "local_login"
        );
        assert_eq!(
            glass.apply(&base(), None).unwrap_err().field,
            "break_glass_users"
        );
    }

    #[test]
    fn values_equal_to_the_file_are_not_saved() {
        let file = base();
        let oidc = file.oidc.clone().unwrap();
        let sent = SsoOverrides {
            local_login: Some(LocalLogin::All),
            default_role: Some(DefaultRole::None),
            oidc: OidcOverrides {
                issuer: Some(oidc.issuer.clone()),
                client_id: Some("changed".into()),
                ..Default::default()
            },
            ..Default::default()
        };
        let kept = sent.without_file_values(&file);
        assert_eq!(
            kept,
            SsoOverrides {
                oidc: OidcOverrides {
                    client_id: Some("changed".into()),
                    ..Default::default()
                },
                ..Default::default()
            }
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// Saved overrides come back from the database as JSON: any JSON text is either read
        /// and applied (or refused with a field) or refused as JSON; nothing panics.
        #[test]
        fn stored_json_never_panics(text in "[{}\":,a-z_ 0-9/.\\[\\]]{0,80}") {
            if let Ok(overrides) = serde_json::from_str::<SsoOverrides>(&text) {
                let _ = overrides.apply(&base(), Some("https://ops.example.org"));
            }
        }
    }
}
