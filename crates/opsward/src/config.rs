//! Configuration: defaults < TOML file (`--config`) < `OPSWARD_*` environment < flags.

use anyhow::{Context, Result};
use figment::{
    providers::{Env, Format, Serialized, Toml},
    Figment,
};
use serde::{Deserialize, Serialize};
use std::{fmt, net::SocketAddr, path::PathBuf};

/// Every setting, with its default. Keys are the same in TOML and, upper-cased with an
/// `OPSWARD_` prefix, in the environment (`database_url` = `OPSWARD_DATABASE_URL`).
#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Address the server listens on.
    pub listen: SocketAddr,
    /// Where the embedded database and attachments live.
    pub data_dir: PathBuf,
    /// `postgres://...` to use PostgreSQL; unset for SQLite in `data_dir`.
    pub database_url: Option<String>,
    /// Mark session cookies `Secure` (set when users reach opsward over HTTPS).
    pub secure_cookies: bool,
    pub session_ttl_hours: u64,
    /// `text` or `json`.
    pub log_format: String,
    /// A tracing filter such as `info` or `opsward=debug,sqlx=warn`; `RUST_LOG` overrides.
    pub log_level: String,
    /// Run background jobs in this process.
    pub scheduler: bool,
    /// Lease owner name for this instance; defaults to host, pid and a random suffix.
    pub instance_id: Option<String>,
    /// Largest accepted request body, in MiB (bounds CSV imports).
    pub max_body_mib: usize,
    pub db_max_connections: u32,
    /// Largest evidence attachment, in MiB.
    pub max_attachment_mib: u64,
    /// A PEM file of private CA certificates trusted for certificate chains besides the
    /// public roots (uploaded scans, scan requests, rescans).
    pub cert_ca_file: Option<PathBuf>,
    /// Automatic backlog items (`[backlog_auto]` in the file): interval, sources, thresholds.
    #[serde(default)]
    pub backlog_auto: opsward_backlog::auto::AutoSettings,
    /// Inbound email (`[backlog_inbound]` in the file): the IMAP mailbox whose messages
    /// become items and comments. The password comes from `OPSWARD_BACKLOG_INBOUND_PASSWORD`
    /// or the section's `password_file`, never from the file itself.
    #[serde(default)]
    pub backlog_inbound: opsward_backlog::inbound::InboundSettings,
    /// Reverse proxies (CIDR blocks such as `10.0.0.0/8` or `192.0.2.7/32`) whose
    /// `X-Forwarded-For` and `X-Forwarded-Proto` are believed; none by default.
    #[serde(default)]
    pub trusted_proxies: Vec<String>,
    /// Keep a user's API tokens when their password changes or the account is disabled;
    /// by default they are revoked with the sessions.
    #[serde(default)]
    pub keep_api_tokens: bool,
    /// Limits on OSV archives while they inflate (`vuln import osv` and the feed job): the
    /// largest entry and whole archive in MiB, and the most entries.
    pub osv_max_entry_mib: u64,
    pub osv_max_archive_mib: u64,
    pub osv_max_entries: usize,
    /// The address people reach opsward at (`https://ops.example.com`, or with a path prefix
    /// behind a proxy). Links in emails, webhooks and Slack/Teams messages are made absolute
    /// under it; without it they are bare paths such as `/certificates/1`.
    pub public_url: Option<String>,
    /// The scheduled backup (`[backup]` in the file, `OPSWARD_BACKUP_DIR`, `_KEEP`,
    /// `_EVERY_HOURS` in the environment): off unless `dir` is set.
    #[serde(default)]
    pub backup: opsward_ops::backup::BackupSchedule,
    /// Where evidence, attachments and contract documents are kept (`[file_store]` in the
    /// file): `data_dir/attachments` by default, or an S3-compatible bucket.
    #[serde(default)]
    pub file_store: opsward_ops::attachments::FileStoreSettings,
    /// Sign-in through the identity provider (`[sso]`, `[sso.mapping]`, `[sso.oidc]`): the
    /// client secret comes from `OPSWARD_SSO_OIDC_CLIENT_SECRET` or `client_secret_file`, the
    /// group mapping may come from `OPSWARD_SSO_GROUPS` (`admins=admin, ops=operator`).
    #[serde(default)]
    pub sso: opsward_sso::SsoSettings,
}

const KEYS: &[&str] = &[
    "listen",
    "data_dir",
    "database_url",
    "secure_cookies",
    "session_ttl_hours",
    "log_format",
    "log_level",
    "scheduler",
    "instance_id",
    "max_body_mib",
    "db_max_connections",
    "max_attachment_mib",
    "cert_ca_file",
    "trusted_proxies",
    "keep_api_tokens",
    "osv_max_entry_mib",
    "osv_max_archive_mib",
    "osv_max_entries",
    "public_url",
];

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: "127.0.0.1:8080".parse().expect("valid address"),
            data_dir: default_data_dir(),
            database_url: None,
            secure_cookies: false,
            session_ttl_hours: 12,
            log_format: "text".into(),
            log_level: "info".into(),
            scheduler: true,
            instance_id: None,
            max_body_mib: 32,
            db_max_connections: 10,
            max_attachment_mib: 25,
            cert_ca_file: None,
            backlog_auto: Default::default(),
            backlog_inbound: Default::default(),
            trusted_proxies: Vec::new(),
            keep_api_tokens: false,
            osv_max_entry_mib: opsward_vulns::osv::ArchiveLimits::default().max_entry_bytes >> 20,
            osv_max_archive_mib: opsward_vulns::osv::ArchiveLimits::default().max_archive_bytes
                >> 20,
            osv_max_entries: opsward_vulns::osv::ArchiveLimits::default().max_entries,
            public_url: None,
            backup: Default::default(),
            file_store: Default::default(),
            sso: Default::default(),
        }
    }
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("listen", &self.listen)
            .field("data_dir", &self.data_dir)
            .field(
                "database_url",
                &self
                    .database_url
                    .as_deref()
                    .map(opsward_store::StoreSettings::new)
                    .map(|s| s.redacted_url()),
            )
            .field("secure_cookies", &self.secure_cookies)
            .field("scheduler", &self.scheduler)
            .field("backlog_inbound", &self.backlog_inbound)
            .field("trusted_proxies", &self.trusted_proxies)
            .field("keep_api_tokens", &self.keep_api_tokens)
            .field("public_url", &self.public_url)
            .field("backup", &self.backup)
            .field("file_store", &self.file_store)
            .field("sso", &self.sso)
            .finish_non_exhaustive()
    }
}

/// `$XDG_DATA_HOME/opsward`, else `~/.local/share/opsward`, else `./opsward-data`.
fn default_data_dir() -> PathBuf {
    if let Some(xdg) = std::env::var_os("XDG_DATA_HOME").filter(|v| !v.is_empty()) {
        return PathBuf::from(xdg).join("opsward");
    }
    if let Some(home) = std::env::var_os("HOME").filter(|v| !v.is_empty()) {
        return PathBuf::from(home).join(".local/share/opsward");
    }
    PathBuf::from("opsward-data")
}

/// Values given as command-line flags; only those present override.
#[derive(Debug, Default, Serialize)]
pub struct FlagOverrides {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listen: Option<SocketAddr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_dir: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scheduler: Option<bool>,
}

impl Config {
    pub fn load(file: Option<&std::path::Path>, flags: &FlagOverrides) -> Result<Config> {
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        if let Some(path) = file {
            anyhow::ensure!(
                path.is_file(),
                "config file {} does not exist",
                path.display()
            );
            figment = figment.merge(Toml::file(path));
        }
        figment = figment
            .merge(Env::prefixed("OPSWARD_").only(KEYS))
            .merge(
                Env::prefixed("OPSWARD_BACKUP_")
                    .only(&["dir", "keep", "every_hours"])
                    .map(|key| format!("backup.{}", key.as_str()).into()),
            )
            .merge(Serialized::defaults(flags));
        let mut config: Config = figment.extract().context("invalid configuration")?;
        config
            .backlog_auto
            .validate()
            .map_err(|e| anyhow::anyhow!("invalid configuration: backlog_auto: {e}"))?;
        // The mailbox password is a secret: only from the environment (or the section's
        // password_file), so it never sits in a configuration file that gets shared.
        config.backlog_inbound.password = std::env::var(opsward_backlog::inbound::PASSWORD_ENV)
            .ok()
            .filter(|p| !p.is_empty())
            .map(opsward_backlog::inbound::Secret::new);
        config
            .backlog_inbound
            .validate()
            .map_err(|e| anyhow::anyhow!("invalid configuration: backlog_inbound: {e}"))?;
        config.public_url = config
            .public_url
            .as_deref()
            .filter(|u| !u.trim().is_empty())
            .map(public_url)
            .transpose()?;
        config
            .sso
            .resolve()
            .map_err(|e| anyhow::anyhow!("invalid configuration: sso: {e}"))?;
        Ok(config)
    }

    pub fn database_url(&self) -> String {
        match &self.database_url {
            Some(url) if !url.is_empty() => url.clone(),
            _ => format!("sqlite:{}", self.data_dir.join("opsward.db").display()),
        }
    }

    pub fn uses_embedded_database(&self) -> bool {
        self.database_url().starts_with("sqlite:")
    }

    /// The file store `[file_store]` describes; a bad setting or an unreadable credentials
    /// file is an error here, at start.
    pub fn file_store(&self) -> Result<opsward_ops::attachments::AttachmentStore> {
        opsward_ops::attachments::AttachmentStore::from_settings(
            &self.file_store,
            self.data_dir.join("attachments"),
            self.max_attachment_mib.max(1) * 1024 * 1024,
        )
        .map_err(|e| anyhow::anyhow!("{e}"))
    }
}

impl Config {
    /// What the server (and the CLI commands that assess the practices as the server does)
    /// is configured with: limits, the scheduler, the certificate trust anchors (loading
    /// `cert_ca_file`), automatic backlog items and inbound email.
    pub fn server_config(&self) -> anyhow::Result<opsward_server::ServerConfig> {
        use std::time::Duration;
        let mut cert_trust = opsward_certs::TrustStore::public_roots();
        if let Some(path) = &self.cert_ca_file {
            let added = cert_trust
                .add_pem_file(path)
                .context("cannot use cert_ca_file")?;
            tracing::info!(path = %path.display(), anchors = added, "certificate CA bundle loaded");
        }
        Ok(opsward_server::ServerConfig {
            secure_cookies: self.secure_cookies,
            session_ttl: Duration::from_secs(self.session_ttl_hours.max(1) * 3600),
            max_body_bytes: self.max_body_mib.max(1) * 1024 * 1024,
            scheduler: opsward_server::scheduler::SchedulerConfig {
                enabled: self.scheduler,
                instance_id: self
                    .instance_id
                    .clone()
                    .unwrap_or_else(opsward_server::scheduler::default_instance_id),
                ..Default::default()
            },
            attachments_dir: self.data_dir.join("attachments"),
            max_attachment_bytes: self.max_attachment_mib.max(1) * 1024 * 1024,
            file_store: Some(self.file_store()?),
            cert_trust,
            backlog_auto: self.backlog_auto.clone(),
            backlog_inbound: self.backlog_inbound.clone(),
            trusted_proxies: trusted_proxies(&self.trusted_proxies)?,
            keep_api_tokens: self.keep_api_tokens,
            public_url: self.public_url.clone(),
            backup: self.backup.clone(),
            sso: self.sso.clone(),
            ..Default::default()
        })
    }
}

/// `public_url` checked and without a trailing slash: an http(s) URL with a host and no
/// query, fragment or credentials, since every link is this plus a path.
fn public_url(value: &str) -> anyhow::Result<String> {
    let invalid = |why: &str| anyhow::anyhow!("invalid configuration: public_url {value:?} {why}");
    let url = url::Url::parse(value.trim()).map_err(|e| invalid(&format!("is not a URL: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(invalid("must start with https:// (or http://)"));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(invalid("names no host"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(invalid("must not have a query or a fragment"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(invalid("must not hold credentials"));
    }
    Ok(url.as_str().trim_end_matches('/').to_string())
}

/// `trusted_proxies` as networks; a bare address is a /32 (or /128). A typo is an error at
/// start, not a proxy silently left untrusted (or an address trusted by mistake).
fn trusted_proxies(entries: &[String]) -> anyhow::Result<Vec<ipnet::IpNet>> {
    entries
        .iter()
        .map(|entry| {
            let entry = entry.trim();
            entry
                .parse::<ipnet::IpNet>()
                .or_else(|_| entry.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                .with_context(|| {
                    format!("trusted_proxies: {entry:?} is not an address or a CIDR block")
                })
        })
        .collect()
}

#[cfg(test)]
#[allow(clippy::result_large_err)] // figment::Jail's closures return figment::Error.
mod tests {
    use super::*;

    #[test]
    fn precedence_file_then_env_then_flags() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "opsward.toml",
                "listen = \"127.0.0.1:9000\"\nsession_ttl_hours = 4\nlog_level = \"warn\"\n",
            )?;
            jail.set_env("OPSWARD_SESSION_TTL_HOURS", "6");
            jail.set_env("OPSWARD_LOG_LEVEL", "debug");
            jail.set_env("OPSWARD_UNRELATED_THING", "ignored");
            let flags = FlagOverrides {
                listen: None,
                data_dir: None,
                database_url: None,
                scheduler: None,
            };
            let config = Config::load(Some(std::path::Path::new("opsward.toml")), &flags).unwrap();
            assert_eq!(config.listen.port(), 9000);
            assert_eq!(config.session_ttl_hours, 6);
            let flags = FlagOverrides {
                listen: Some("127.0.0.1:9100".parse().unwrap()),
                ..Default::default()
            };
            let config = Config::load(Some(std::path::Path::new("opsward.toml")), &flags).unwrap();
            assert_eq!(config.listen.port(), 9100);
            assert_eq!(config.log_level, "debug");
            Ok(())
        });
    }

    /// The commented default configuration the Debian package installs: it loads as it is,
    /// and with every commented setting uncommented it still loads (no misspelt key, no
    /// wrong type) with the built-in defaults the comments claim, bar the examples.
    #[test]
    fn packaged_config_loads_and_its_comments_show_the_defaults() {
        let shipped = include_str!("../../../dist/opsward.toml");
        let uncommented: String = shipped
            .lines()
            .map(|line| match line.strip_prefix('#') {
                Some(rest) if rest.starts_with(|c: char| c.is_ascii_lowercase() || c == '[') => {
                    rest
                }
                _ => line,
            })
            .collect::<Vec<_>>()
            .join("\n");
        assert!(uncommented.lines().count() > 20 && uncommented.contains("\nlisten = "));
        figment::Jail::expect_with(|jail| {
            jail.clear_env();
            jail.create_file("shipped.toml", shipped)?;
            jail.create_file("uncommented.toml", &uncommented)?;
            let flags = FlagOverrides::default();
            let config = Config::load(Some(std::path::Path::new("shipped.toml")), &flags).unwrap();
            assert_eq!(config.data_dir, PathBuf::from("/var/lib/opsward"));
            let all = Config::load(Some(std::path::Path::new("uncommented.toml")), &flags).unwrap();
            let mut defaults = serde_json::to_value(Config::default()).unwrap();
            let mut all = serde_json::to_value(all).unwrap();
            // The examples: a database, an instance name and a CA file are not defaults.
            for key in ["data_dir", "database_url", "instance_id", "cert_ca_file"] {
                defaults[key] = serde_json::Value::Null;
                all[key] = serde_json::Value::Null;
            }
            assert_eq!(all, defaults);
            Ok(())
        });
    }

    #[test]
    fn public_url_is_checked_and_loses_its_trailing_slash() {
        figment::Jail::expect_with(|jail| {
            let load = || Config::load(None, &FlagOverrides::default());
            assert_eq!(load().unwrap().public_url, None);
            jail.set_env("OPSWARD_PUBLIC_URL", "https://ops.example.com/");
            assert_eq!(
                load().unwrap().public_url.as_deref(),
                Some("https://ops.example.com")
            );
            jail.set_env("OPSWARD_PUBLIC_URL", "https://example.com/opsward/");
            assert_eq!(
                load().unwrap().public_url.as_deref(),
                Some("https://example.com/opsward")
            );
            for (bad, says) in [
                ("ops.example.com", "is not a URL"),
                ("ftp://ops.example.com", "must start with https://"),
                ("https://ops.example.com/?a=1", "query"),
                ("https://admin:pw@ops.example.com", "credentials"),
            ] {
                jail.set_env("OPSWARD_PUBLIC_URL", bad);
                let err = format!("{:#}", load().unwrap_err());
                assert!(
                    err.contains("public_url") && err.contains(says),
                    "{bad}: {err}"
                );
            }
            Ok(())
        });
    }

    #[test]
    fn unknown_file_keys_are_errors() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("bad.toml", "lisen = \"127.0.0.1:9000\"\n")?;
            let err = Config::load(
                Some(std::path::Path::new("bad.toml")),
                &FlagOverrides::default(),
            )
            .unwrap_err();
            assert!(format!("{err:#}").contains("lisen"), "{err:#}");
            Ok(())
        });
    }

    #[test]
    fn backlog_auto_section_sets_sources_and_interval() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "auto.toml",
                "[backlog_auto]\ninterval_minutes = 60\nkev_findings = false\nsupplier_score_below = 2.5\n",
            )?;
            let config = Config::load(
                Some(std::path::Path::new("auto.toml")),
                &FlagOverrides::default(),
            )
            .unwrap();
            assert_eq!(config.backlog_auto.interval_minutes, 60);
            assert!(!config.backlog_auto.kev_findings);
            assert!(
                config.backlog_auto.certificates,
                "unset keys keep their default"
            );
            assert_eq!(config.backlog_auto.supplier_score_below, 2.5);
            jail.create_file("bad.toml", "[backlog_auto]\ninterval_minutes = 0\n")?;
            let err = Config::load(
                Some(std::path::Path::new("bad.toml")),
                &FlagOverrides::default(),
            )
            .unwrap_err();
            assert!(format!("{err:#}").contains("interval_minutes"), "{err:#}");
            jail.create_file("typo.toml", "[backlog_auto]\nkev = false\n")?;
            assert!(Config::load(
                Some(std::path::Path::new("typo.toml")),
                &FlagOverrides::default()
            )
            .is_err());
            Ok(())
        });
    }

    #[test]
    fn backlog_inbound_takes_its_password_from_the_environment_only() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "mail.toml",
                "[backlog_inbound]\nhost = \"imap.example.com\"\ntls = \"starttls\"\nusername = \"backlog\"\nmailbox = \"Backlog\"\nteam_id = 3\n",
            )?;
            let file = Some(std::path::Path::new("mail.toml"));
            let err = Config::load(file, &FlagOverrides::default()).unwrap_err();
            assert!(
                format!("{err:#}").contains("OPSWARD_BACKLOG_INBOUND_PASSWORD"),
                "{err:#}"
            );
            jail.set_env("OPSWARD_BACKLOG_INBOUND_PASSWORD", "s3cret-imap");
            let config = Config::load(file, &FlagOverrides::default()).unwrap();
            let inbound = &config.backlog_inbound;
            assert!(inbound.enabled());
            assert_eq!(inbound.port(), 143, "STARTTLS defaults to port 143");
            assert_eq!(inbound.mailbox, "Backlog");
            assert_eq!(inbound.team_id, Some(3));
            assert_eq!(inbound.resolve_password().unwrap().expose(), "s3cret-imap");
            assert!(!format!("{config:?}").contains("s3cret-imap"));
            assert!(!format!("{inbound:?}").contains("s3cret-imap"));

            // A password in the file itself is refused, and plain text only goes to localhost.
            jail.create_file(
                "inline.toml",
                "[backlog_inbound]\nhost = \"imap.example.com\"\npassword = \"x\"\n",
            )?;
            assert!(Config::load(
                Some(std::path::Path::new("inline.toml")),
                &FlagOverrides::default()
            )
            .is_err());
            jail.create_file("plain.toml", "[backlog_inbound]\nhost = \"imap.example.com\"\ntls = \"none\"\nusername = \"b\"\n")?;
            let err = Config::load(
                Some(std::path::Path::new("plain.toml")),
                &FlagOverrides::default(),
            )
            .unwrap_err();
            assert!(format!("{err:#}").contains("localhost"), "{err:#}");
            Ok(())
        });
    }

    #[test]
    fn sso_reads_the_file_and_takes_secret_and_mapping_from_the_environment() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "sso.toml",
                "[sso]\nlocal_login = \"break_glass\"\nbreak_glass_users = [\"root\"]\nprovisioning = \"pre_created\"\n\
                 [sso.mapping]\ndefault_role = \"viewer\"\n[sso.mapping.groups]\n\"CN=Admins,OU=Groups,DC=example,DC=org\" = \"admin\"\n\
                 [sso.oidc]\nname = \"Keycloak\"\nissuer = \"https://id.example.org/realms/it\"\nclient_id = \"opsward\"\n\
                 redirect_url = \"https://opsward.example.org/auth/oidc/callback\"\ngroups_claim = \"realm_access.roles\"\n",
            )?;
            let file = Some(std::path::Path::new("sso.toml"));
            jail.set_env("OPSWARD_SSO_OIDC_CLIENT_SECRET", "s3cret-oidc");
            let config = Config::load(file, &FlagOverrides::default()).unwrap();
            let sso = &config.sso;
            assert_eq!(sso.local_login, opsward_sso::LocalLogin::BreakGlass);
            assert_eq!(sso.provisioning, opsward_sso::Provisioning::PreCreated);
            assert_eq!(
                sso.mapping
                    .role_for(&["cn=admins,ou=groups,dc=example,dc=org"]),
                Ok(opsward_core::Role::Admin)
            );
            let oidc = sso.oidc.as_ref().unwrap();
            assert_eq!(oidc.client_secret.as_ref().unwrap().expose(), "s3cret-oidc");
            assert_eq!(oidc.groups_claim, "realm_access.roles");
            assert!(!format!("{config:?}").contains("s3cret-oidc"));

            jail.set_env("OPSWARD_SSO_GROUPS", "ops=operator, admins=admin");
            let config = Config::load(file, &FlagOverrides::default()).unwrap();
            assert_eq!(config.sso.mapping.groups.len(), 2);
            jail.set_env("OPSWARD_SSO_GROUPS", "ops=root");
            let err = Config::load(file, &FlagOverrides::default()).unwrap_err();
            assert!(format!("{err:#}").contains("OPSWARD_SSO_GROUPS"), "{err:#}");
            jail.set_env("OPSWARD_SSO_GROUPS", "");

            // A secret in the file itself is refused; so is a plain-http provider.
            jail.create_file(
                "inline.toml",
                "[sso.oidc]\nname = \"X\"\nissuer = \"https://id.example.org\"\nclient_id = \"o\"\n\
                 redirect_url = \"https://o.example.org/auth/oidc/callback\"\nclient_secret = \"x\"\n",
            )?;
            assert!(Config::load(
                Some(std::path::Path::new("inline.toml")),
                &FlagOverrides::default()
            )
            .is_err());
            jail.create_file(
                "plain.toml",
                "[sso.oidc]\nname = \"X\"\nissuer = \"http://id.example.org\"\nclient_id = \"o\"\n\
                 redirect_url = \"https://o.example.org/auth/oidc/callback\"\n",
            )?;
            let err = Config::load(
                Some(std::path::Path::new("plain.toml")),
                &FlagOverrides::default(),
            )
            .unwrap_err();
            assert!(format!("{err:#}").contains("https"), "{err:#}");
            Ok(())
        });
    }

    #[test]
    fn backlog_inbound_is_off_without_a_host() {
        let config = Config::load(None, &FlagOverrides::default()).unwrap();
        assert!(!config.backlog_inbound.enabled());
    }

    #[test]
    fn debug_output_hides_database_password() {
        let config = Config {
            database_url: Some("postgres://ops:hunter2@db/opsward".into()),
            ..Config::default()
        };
        assert!(!format!("{config:?}").contains("hunter2"));
    }
}
