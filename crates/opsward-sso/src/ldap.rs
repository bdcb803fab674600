//! LDAP sign-in on the ordinary login form: find the user by a filter (as the service
//! account, or anonymously), bind as the user with their password, read their groups, and
//! hand them to the same group-to-role mapping as OpenID Connect. Always over TLS (LDAPS or
//! StartTLS) except to a server on localhost; every step has a timeout.

use crate::{settings::Secret, store::ProviderIdentity, Method};
use ldap3::{LdapConnAsync, LdapConnSettings, Scope, SearchEntry};
use serde::{Deserialize, Serialize};
use std::{path::PathBuf, sync::Arc, time::Duration};

/// `[sso.ldap]`.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LdapSettings {
    /// `ldaps://host:636`, or `ldap://host:389` with `starttls = true`.
    pub url: String,
    #[serde(default)]
    pub starttls: bool,
    /// PEM file of CA certificates that sign the server's certificate; the public roots
    /// when unset.
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// The service account that searches; anonymous search when unset.
    #[serde(default)]
    pub bind_dn: Option<String>,
    /// First line: the service account's password; [`BIND_PASSWORD_ENV`] wins when set.
    #[serde(default)]
    pub bind_password_file: Option<PathBuf>,
    #[serde(skip)]
    pub bind_password: Option<Secret>,
    pub search_base: String,
    /// `{username}` is replaced by the escaped username: `(uid={username})` on OpenLDAP,
    /// `(sAMAccountName={username})` on Active Directory.
    pub user_filter: String,
    /// Attribute listing the user's groups (DNs): `memberOf`.
    #[serde(default = "default_group_attribute")]
    pub group_attribute: String,
    #[serde(default = "default_name_attribute")]
    pub display_name_attribute: String,
    #[serde(default = "default_mail_attribute")]
    pub email_attribute: String,
    /// Seconds each connection and operation may take.
    #[serde(default = "default_timeout_secs")]
    pub timeout_secs: u64,
}

/// Environment variable with the service account's password.
pub const BIND_PASSWORD_ENV: &str = "OPSWARD_SSO_LDAP_BIND_PASSWORD";

fn default_group_attribute() -> String {
    "memberOf".into()
}
fn default_name_attribute() -> String {
    "cn".into()
}
fn default_mail_attribute() -> String {
    "mail".into()
}
fn default_timeout_secs() -> u64 {
    5
}

impl std::fmt::Debug for LdapSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LdapSettings")
            .field("url", &self.url)
            .field("starttls", &self.starttls)
            .field("bind_dn", &self.bind_dn)
            .field("bind_password", &self.bind_password.as_ref().map(|_| "***"))
            .field("search_base", &self.search_base)
            .field("user_filter", &self.user_filter)
            .field("group_attribute", &self.group_attribute)
            .finish_non_exhaustive()
    }
}

impl LdapSettings {
    pub fn validate(&self) -> Result<(), String> {
        let url = url::Url::parse(&self.url).map_err(|e| format!("url {:?}: {e}", self.url))?;
        let local = matches!(url.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"));
        match url.scheme() {
            "ldaps" if self.starttls => {
                return Err("starttls is for ldap:// URLs; ldaps:// is TLS already".into())
            }
            "ldaps" => {}
            "ldap" if self.starttls || local => {}
            "ldap" => return Err(
                "ldap:// without starttls sends passwords in clear text: only allowed to localhost"
                    .into(),
            ),
            other => return Err(format!("url scheme {other:?}: expected ldaps or ldap")),
        }
        if !self.user_filter.contains("{username}") {
            return Err("user_filter must contain {username}".into());
        }
        if self.search_base.trim().is_empty() {
            return Err("search_base must not be empty".into());
        }
        if self.bind_dn.is_some() && self.bind_password.is_none() {
            return Err(format!(
                "bind_dn needs a password: set bind_password_file or {BIND_PASSWORD_ENV}"
            ));
        }
        crate::settings::check_file("ca_file", self.ca_file.as_ref())?;
        if !(1..=60).contains(&self.timeout_secs) {
            return Err("timeout_secs must be 1 to 60".into());
        }
        Ok(())
    }

    fn timeout(&self) -> Duration {
        Duration::from_secs(self.timeout_secs)
    }
}

/// Why an LDAP sign-in did not happen. [`LdapError::Rejected`] is what the user sees for
/// an unknown user, a wrong password or a locked account alike.
#[derive(Debug, thiserror::Error)]
pub enum LdapError {
    #[error("wrong username or password")]
    Rejected,
    #[error("the directory server is unavailable: {0}")]
    Unavailable(String),
    #[error("bad setting: {0}")]
    Setting(String),
}

/// The escaped username in the user filter (RFC 4515), so `*` or `)` in a username never
/// widens the search.
pub fn user_filter(template: &str, username: &str) -> String {
    template.replace("{username}", &ldap3::ldap_escape(username))
}

/// The groups of an entry: each group's DN and the value of its first RDN (`ops` for
/// `cn=ops,ou=groups,dc=example,dc=org`), so the mapping may name either.
pub fn group_names(values: &[String]) -> Vec<String> {
    let mut groups = Vec::new();
    for dn in values {
        groups.push(dn.clone());
        if let Some((_, value)) = dn.split(',').next().and_then(|rdn| rdn.split_once('=')) {
            let value = value.trim();
            if !value.is_empty() && !groups.iter().any(|g| g == value) {
                groups.push(value.to_string());
            }
        }
    }
    groups
}

/// The directory: TLS settings built once (the CA file read at start-up).
pub struct LdapClient {
    settings: LdapSettings,
    tls: Arc<rustls::ClientConfig>,
}

impl LdapClient {
    pub fn new(settings: LdapSettings) -> Result<Self, LdapError> {
        let mut roots = rustls::RootCertStore::empty();
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        if let Some(path) = &settings.ca_file {
            let pem = std::fs::read(path)
                .map_err(|e| LdapError::Setting(format!("ca_file {}: {e}", path.display())))?;
            use rustls::pki_types::{pem::PemObject, CertificateDer};
            for cert in CertificateDer::pem_slice_iter(&pem) {
                let cert = cert.map_err(|e| LdapError::Setting(format!("ca_file: {e}")))?;
                roots
                    .add(cert)
                    .map_err(|e| LdapError::Setting(format!("ca_file: {e}")))?;
            }
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| LdapError::Setting(e.to_string()))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        Ok(LdapClient {
            settings,
            tls: Arc::new(tls),
        })
    }

    pub fn settings(&self) -> &LdapSettings {
        &self.settings
    }

    /// A connection bound as the service account, or anonymous when none is configured.
    async fn connect_as_service(&self) -> Result<ldap3::Ldap, LdapError> {
        let mut ldap = self.connect().await?;
        if let (Some(dn), Some(pw)) = (&self.settings.bind_dn, &self.settings.bind_password) {
            ldap.with_timeout(self.settings.timeout())
                .simple_bind(dn, pw.expose())
                .await
                .map_err(|e| LdapError::Unavailable(e.to_string()))?
                .success()
                .map_err(|e| {
                    LdapError::Unavailable(format!("the service account cannot bind: {e}"))
                })?;
        }
        Ok(ldap)
    }

    async fn connect(&self) -> Result<ldap3::Ldap, LdapError> {
        let conn_settings = LdapConnSettings::new()
            .set_conn_timeout(self.settings.timeout())
            .set_starttls(self.settings.starttls)
            .set_config(self.tls.clone());
        let url = url::Url::parse(&self.settings.url)
            .map_err(|e| LdapError::Setting(format!("url: {e}")))?;
        // The connection timeout covers TCP only; the whole handshake (TLS, StartTLS) is
        // bounded here too, so a server that accepts and then says nothing cannot hang us.
        let connected = tokio::time::timeout(
            self.settings.timeout(),
            LdapConnAsync::from_url_with_settings(conn_settings, &url),
        )
        .await
        .map_err(|_| LdapError::Unavailable("no answer within the timeout".into()))?
        .map_err(|e| LdapError::Unavailable(e.to_string()))?;
        let (conn, ldap) = connected;
        ldap3::drive!(conn);
        Ok(ldap)
    }

    /// Sign `username` in with `password`: search for exactly one entry, bind as it, and
    /// read its name, mail and groups.
    pub async fn authenticate(
        &self,
        username: &str,
        password: &str,
    ) -> Result<ProviderIdentity, LdapError> {
        // An empty password would be an unauthenticated bind, which servers accept.
        if username.trim().is_empty() || password.is_empty() {
            return Err(LdapError::Rejected);
        }
        let timeout = self.settings.timeout();
        let unavailable = |e: ldap3::LdapError| LdapError::Unavailable(e.to_string());
        let mut ldap = self.connect_as_service().await?;
        let attributes = [
            self.settings.group_attribute.as_str(),
            self.settings.display_name_attribute.as_str(),
            self.settings.email_attribute.as_str(),
        ];
        let (entries, _) = ldap
            .with_timeout(timeout)
            .search(
                &self.settings.search_base,
                Scope::Subtree,
                &user_filter(&self.settings.user_filter, username),
                attributes.to_vec(),
            )
            .await
            .map_err(unavailable)?
            .success()
            .map_err(|e| LdapError::Unavailable(format!("search failed: {e}")))?;
        let [entry] = entries.as_slice() else {
            let _ = ldap.unbind().await;
            return Err(LdapError::Rejected);
        };
        let entry = SearchEntry::construct(entry.clone());
        let bound = ldap
            .with_timeout(timeout)
            .simple_bind(&entry.dn, password)
            .await
            .map_err(unavailable)?;
        let _ = ldap.unbind().await;
        if bound.rc != 0 {
            return Err(LdapError::Rejected);
        }
        let first = |attr: &str| {
            entry
                .attrs
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(attr))
                .and_then(|(_, v)| v.first().cloned())
        };
        let groups = entry
            .attrs
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(&self.settings.group_attribute))
            .map(|(_, v)| group_names(v))
            .unwrap_or_default();
        Ok(ProviderIdentity {
            method: Method::Ldap,
            issuer: self.settings.url.clone(),
            subject: entry.dn.clone(),
            username: username.trim().to_string(),
            display_name: first(&self.settings.display_name_attribute)
                .unwrap_or_else(|| username.trim().to_string()),
            email: first(&self.settings.email_attribute),
            groups,
        })
    }
}

impl LdapClient {
    /// The periodic re-check: read the groups of the entry `dn` (as the service account, or
    /// anonymously), provided it still matches the user filter for `username`. `None` when
    /// the entry is gone or no longer matches (on Active Directory the filter can exclude
    /// disabled accounts).
    pub async fn groups_of(
        &self,
        dn: &str,
        username: &str,
    ) -> Result<Option<Vec<String>>, LdapError> {
        let timeout = self.settings.timeout();
        let unavailable = |e: ldap3::LdapError| LdapError::Unavailable(e.to_string());
        let mut ldap = self.connect_as_service().await?;
        let result = ldap
            .with_timeout(timeout)
            .search(
                dn,
                Scope::Base,
                &user_filter(&self.settings.user_filter, username),
                vec![self.settings.group_attribute.as_str()],
            )
            .await
            .map_err(unavailable)?;
        let _ = ldap.unbind().await;
        // 32: noSuchObject, the entry was deleted or moved.
        if result.1.rc == 32 {
            return Ok(None);
        }
        let (entries, _) = result
            .success()
            .map_err(|e| LdapError::Unavailable(format!("search failed: {e}")))?;
        let [entry] = entries.as_slice() else {
            return Ok(None);
        };
        let entry = SearchEntry::construct(entry.clone());
        Ok(Some(
            entry
                .attrs
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(&self.settings.group_attribute))
                .map(|(_, v)| group_names(v))
                .unwrap_or_default(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    pub fn example() -> LdapSettings {
        LdapSettings {
            url: "ldap://dc1.example.org".into(),
            starttls: true,
            ca_file: None,
            bind_dn: None,
            bind_password_file: None,
            bind_password: None,
            search_base: "ou=people,dc=example,dc=org".into(),
            user_filter: "(uid={username})".into(),
            group_attribute: default_group_attribute(),
            display_name_attribute: default_name_attribute(),
            email_attribute: default_mail_attribute(),
            timeout_secs: 5,
        }
    }

    #[test]
    fn plain_ldap_only_to_localhost() {
        let mut s = example();
        assert!(s.validate().is_ok());
        s.starttls = false;
        assert!(s.validate().unwrap_err().contains("clear text"));
        s.url = "ldap://127.0.0.1:3389".into();
        assert!(s.validate().is_ok());
        s.url = "ldaps://dc1.example.org".into();
        assert!(s.validate().is_ok());
        s.bind_dn = Some("cn=svc".into());
        assert!(s.validate().is_err(), "a bind DN without a password");
    }

    #[test]
    fn usernames_cannot_widen_the_filter() {
        assert_eq!(
            user_filter("(uid={username})", "a*)(uid=*"),
            "(uid=a\\2a\\29\\28uid=\\2a)"
        );
        assert_eq!(
            group_names(&["cn=ops,ou=groups,dc=example,dc=org".into()]),
            ["cn=ops,ou=groups,dc=example,dc=org", "ops"]
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// Whatever the username, the filter keeps exactly the template's parentheses and
        /// wildcards.
        #[test]
        fn escaped_filters_keep_their_shape(name in "\\PC{0,30}") {
            let filter = user_filter("(&(objectClass=person)(uid={username}))", &name);
            prop_assert_eq!(filter.matches('(').count(), 3);
            prop_assert_eq!(filter.matches(')').count(), 3);
            prop_assert!(!filter.contains('*'));
        }

        #[test]
        fn group_names_never_panic(dns in proptest::collection::vec("[a-z=, ]{0,20}", 0..4)) {
            let _ = group_names(&dns);
        }
    }
}
