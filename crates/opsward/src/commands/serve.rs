use super::open_store;
use crate::{cli::ServeArgs, config::Config};
use anyhow::{Context, Result};
use opsward_core::{user::NewUser, Actor, Role};
use opsward_server::{
    auth::{password::hash_password_blocking, secret::random_secret},
    AppState,
};
use opsward_store::{Store, StoreError};
use std::process::ExitCode;

pub async fn serve(config: Config, _args: ServeArgs) -> Result<ExitCode> {
    tracing::info!(?config, "starting");
    let server_config = config.server_config()?;
    let store = open_store(&config).await?;
    bootstrap_admin(store.as_ref(), config.listen).await?;
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    println!("opsward is listening on http://{}/", listener.local_addr()?);
    if config.public_url.is_none() {
        tracing::warn!(
            "public_url is not set: links in emails, webhooks and chat messages are bare paths \
             (set public_url, or OPSWARD_PUBLIC_URL, to the address people reach opsward at)"
        );
    }
    if config.backlog_inbound.enabled() {
        tracing::info!(settings = ?config.backlog_inbound, "inbound email enabled");
    }
    opsward_server::run(
        listener,
        AppState::new(store, server_config),
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
