//! `opsward faultproxy`: the Toxiproxy-compatible fault proxy as a process of its own.

use crate::cli::FaultproxyArgs;
use anyhow::{Context, Result};
use opsward_resilience::faultproxy::{router, FaultProxy, ProxyInput};
use std::process::ExitCode;

pub async fn run(args: FaultproxyArgs) -> Result<ExitCode> {
    let proxies = FaultProxy::new();
    if let Some(path) = &args.proxies {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let inputs: Vec<ProxyInput> = serde_json::from_str(&text)
            .with_context(|| format!("{} is not a JSON list of proxies", path.display()))?;
        let created = proxies.populate(inputs).await?;
        for p in created {
            tracing::info!(proxy = %p.name, listen = %p.listen, upstream = %p.upstream, "proxy created from config");
        }
    }
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    tracing::info!(addr = %listener.local_addr()?, "fault proxy API listening");
    eprintln!("fault proxy API on http://{}", listener.local_addr()?);
    axum::serve(listener, router(proxies.clone()))
        .with_graceful_shutdown(super::serve::shutdown_signal())
        .await?;
    proxies.shutdown().await;
    Ok(ExitCode::SUCCESS)
}
