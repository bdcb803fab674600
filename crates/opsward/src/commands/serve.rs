use super::open_store;
use crate::{cli::ServeArgs, config::Config};
use anyhow::{Context, Result};
use opsward_core::{user::NewUser, Actor, Role};
use opsward_server::{
    auth::{password::hash_password_blocking, secret::random_secret},
    scheduler::{default_instance_id, SchedulerConfig},
    AppState, ServerConfig,
};
use opsward_store::{Store, StoreError};
use std::{process::ExitCode, time::Duration};

pub async fn serve(config: Config, _args: ServeArgs) -> Result<ExitCode> {
    tracing::info!(?config, "starting");
    let mut cert_trust = opsward_certs::TrustStore::public_roots();
    if let Some(path) = &config.cert_ca_file {
        let added = cert_trust
            .add_pem_file(path)
            .context("cannot use cert_ca_file")?;
        tracing::info!(path = %path.display(), anchors = added, "certificate CA bundle loaded");
    }
    let store = open_store(&config).await?;
    bootstrap_admin(store.as_ref(), config.listen).await?;
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    println!("opsward is listening on http://{}/", listener.local_addr()?);
    let server_config = ServerConfig {
        secure_cookies: config.secure_cookies,
        session_ttl: Duration::from_secs(config.session_ttl_hours.max(1) * 3600),
        max_body_bytes: config.max_body_mib.max(1) * 1024 * 1024,
        scheduler: SchedulerConfig {
            enabled: config.scheduler,
            instance_id: config
                .instance_id
                .clone()
                .unwrap_or_else(default_instance_id),
            ..SchedulerConfig::default()
        },
        attachments_dir: config.data_dir.join("attachments"),
        max_attachment_bytes: config.max_attachment_mib.max(1) * 1024 * 1024,
        cert_trust,
        backlog_auto: config.backlog_auto.clone(),
        backlog_inbound: config.backlog_inbound.clone(),
        trusted_proxies: trusted_proxies(&config.trusted_proxies)?,
        keep_api_tokens: config.keep_api_tokens,
        ..ServerConfig::default()
    };
    let mut jobs = opsward_server::scheduler::JobRegistry::with_builtin();
    opsward_server::backlog_auto::register(&mut jobs, &config.backlog_auto);
    opsward_server::backlog_inbound::register(&mut jobs, &config.backlog_inbound);
    if config.backlog_inbound.enabled() {
        tracing::info!(settings = ?config.backlog_inbound, "inbound email enabled");
    }
    opsward_server::run(
        listener,
        AppState::with_jobs(store, server_config, jobs),
        shutdown_signal(),
    )
    .await?;
    tracing::info!("stopped");
    Ok(ExitCode::SUCCESS)
}

/// On first run there is nobody to sign in as: create `admin` with a random password and
/// print it once, to the terminal only (never to the log).
async fn bootstrap_admin(store: &dyn Store, listen: std::net::SocketAddr) -> Result<()> {
    if store.count_users().await? > 0 {
        return Ok(());
    }
    let password = random_secret();
    let user = NewUser {
        username: "admin".into(),
        display_name: "Administrator".into(),
        email: None,
        role: Role::Admin,
        password_hash: hash_password_blocking(password.clone()).await,
    };
    match store.create_user(&Actor::system("bootstrap"), &user).await {
        Ok(_) => {
            println!("opsward: first run: created the administrator account");
            println!("  username: admin");
            println!("  password: {password}");
            println!(
                "Sign in at http://{listen}/ and keep this password safe; it is not shown again."
            );
            println!("(Or create your own with `opsward user add --admin --username <name>`.)");
            Ok(())
        }
        // Another server starting on the same database created it first.
        Err(StoreError::Conflict(_)) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

pub(crate) async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
}

/// `trusted_proxies` as networks; a bare address is a /32 (or /128). A typo is an error at
/// start, not a proxy silently left untrusted (or an address trusted by mistake).
fn trusted_proxies(entries: &[String]) -> Result<Vec<ipnet::IpNet>> {
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
