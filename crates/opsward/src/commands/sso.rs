//! `opsward sso show|set|reset|recheck`: the sign-in settings saved in the database (the same
//! as `/admin/sign-in` and `PUT /api/v1/admin/sign-in`), and the LDAP re-check run now.

use super::cli_actor;
use crate::{
    cli::SsoCommand,
    config::Config,
    output::{print_one, OutputFormat},
};
use anyhow::{bail, Context, Result};
use opsward_sso::{recheck::LdapRecheck, SsoOverrides, SsoStore};
use opsward_store::Store;
use serde::Serialize;
use std::{io::Read, process::ExitCode, sync::Arc};

#[derive(Serialize)]
struct Shown {
    saved: SsoOverrides,
    saved_at: Option<chrono::DateTime<chrono::Utc>>,
    saved_by: Option<String>,
    effective: opsward_sso::SsoSettings,
    oidc_client_secret_set: bool,
    ldap_bind_password_set: bool,
}

pub async fn sso(
    store: &Arc<dyn Store>,
    config: &Config,
    cmd: SsoCommand,
    out: OutputFormat,
) -> Result<ExitCode> {
    let sso = SsoStore::new(store.as_ref());
    let public_url = config.public_url.as_deref();
    match cmd {
        SsoCommand::Show => {
            let (effective, saved) =
                opsward_sso::effective_settings(&sso, &config.sso, public_url).await?;
            let shown = Shown {
                saved: saved
                    .as_ref()
                    .map(|s| s.overrides.clone())
                    .unwrap_or_default(),
                saved_at: saved.as_ref().map(|s| s.updated_at),
                saved_by: saved.map(|s| s.updated_by),
                oidc_client_secret_set: effective
                    .oidc
                    .as_ref()
                    .is_some_and(|o| o.client_secret.is_some()),
                ldap_bind_password_set: effective
                    .ldap
                    .as_ref()
                    .is_some_and(|l| l.bind_password.is_some()),
                effective,
            };
            print_one(out, &shown)?;
        }
        SsoCommand::Set { file } => {
            let mut text = String::new();
            if file == "-" {
                std::io::stdin().read_to_string(&mut text)?;
            } else {
                text = std::fs::read_to_string(&file)
                    .with_context(|| format!("cannot read {file}"))?;
            }
            let overrides: SsoOverrides = serde_json::from_str(&text)
                .context("not the JSON of the saved sign-in settings")?;
            save(&sso, config, overrides).await?;
            eprintln!("sign-in settings saved; they apply from the next sign-in");
        }
        SsoCommand::Reset => {
            save(&sso, config, SsoOverrides::default()).await?;
            eprintln!("saved sign-in settings cleared: the file's apply again");
        }
        SsoCommand::Recheck => {
            let job = LdapRecheck {
                store: sso,
                base: config.sso.clone(),
                public_url: config.public_url.clone(),
            };
            let report = job
                .run_once()
                .await
                .map_err(|e| anyhow::anyhow!("LDAP re-check failed: {e}"))?;
            println!(
                "checked {}, access revoked {}, role changed {}",
                report.checked, report.revoked, report.role_changed
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn save(sso: &SsoStore, config: &Config, overrides: SsoOverrides) -> Result<()> {
    if let Err(e) = overrides.apply(&config.sso, config.public_url.as_deref()) {
        bail!("refused: {e}");
    }
    sso.save_overrides(&cli_actor(), &overrides).await?;
    Ok(())
}
