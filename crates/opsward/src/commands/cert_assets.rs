//! `opsward cert asset list|set` and `opsward cert tag-thresholds`: where assets' TLS
//! endpoints are and their expiry thresholds, on the local database or a server.

use super::cli_actor;
use crate::{
    cli::{CertAssetCommand, CertServer, CertTagArgs},
    config::Config,
    output::{self, OutputFormat},
};
use anyhow::{bail, Context, Result};
use chrono::Utc;
use opsward_certs::{
    assets::{CertAssetInput, CertAssetSettings},
    CertStore,
};
use serde::Serialize;
use std::{process::ExitCode, time::Duration};

const HTTP_TIMEOUT: Duration = Duration::from_secs(120);

const COLUMNS: [&str; 6] = [
    "asset",
    "tags",
    "hostname",
    "address",
    "ports",
    "thresholds",
];

#[derive(Serialize)]
struct AssetRow {
    asset_id: i64,
    asset: String,
    tags: Vec<String>,
    hostname: Option<String>,
    address: Option<String>,
    ports: Vec<u16>,
    thresholds: Option<Vec<i64>>,
}

impl From<CertAssetSettings> for AssetRow {
    fn from(a: CertAssetSettings) -> Self {
        AssetRow {
            asset_id: a.asset_id,
            asset: a.asset_name,
            tags: a.tags,
            hostname: a.hostname,
            address: a.address,
            ports: a.ports,
            thresholds: a.thresholds,
        }
    }
}

fn http() -> Result<reqwest::Client> {
    Ok(reqwest::Client::builder().timeout(HTTP_TIMEOUT).build()?)
}

async fn answer(response: reqwest::Response, what: &str) -> Result<serde_json::Value> {
    let status = response.status();
    let body: serde_json::Value = response.json().await.unwrap_or_default();
    if !status.is_success() {
        let message = body["error"]["message"].as_str().unwrap_or("no details");
        bail!("{what}: the server answered {status}: {message}");
    }
    Ok(body)
}

/// Every asset's certificate settings, from `--server` or the local database.
pub async fn load_assets(config: &Config, remote: &CertServer) -> Result<Vec<CertAssetSettings>> {
    match (&remote.server, &remote.token) {
        (Some(server), Some(token)) => {
            let base = server.trim_end_matches('/');
            let body = answer(
                http()?
                    .get(format!("{base}/api/v1/certificates/assets"))
                    .bearer_auth(token)
                    .send()
                    .await
                    .with_context(|| format!("cannot reach {base}"))?,
                "reading assets",
            )
            .await?;
            serde_json::from_value(body).context("the server's asset list")
        }
        _ => {
            let store = super::open_store(config).await?;
            Ok(CertStore::new(store.as_ref()).asset_settings().await?)
        }
    }
}

/// Each asset's thresholds override (its own, else its tags'), from `--server` or the local
/// database.
pub async fn load_asset_thresholds(
    config: &Config,
    remote: &CertServer,
    assets: &[CertAssetSettings],
) -> Result<std::collections::HashMap<i64, Vec<i64>>> {
    let tags: Vec<opsward_certs::assets::CertTagThresholds> = match (&remote.server, &remote.token)
    {
        (Some(server), Some(token)) => {
            let base = server.trim_end_matches('/');
            let body = answer(
                http()?
                    .get(format!("{base}/api/v1/certificates/tag-thresholds"))
                    .bearer_auth(token)
                    .send()
                    .await
                    .with_context(|| format!("cannot reach {base}"))?,
                "reading tag thresholds",
            )
            .await?;
            serde_json::from_value(body).context("the server's tag thresholds")?
        }
        _ => {
            let store = super::open_store(config).await?;
            CertStore::new(store.as_ref()).tag_thresholds().await?
        }
    };
    Ok(opsward_certs::assets::asset_thresholds(assets, &tags))
}

pub async fn asset(cmd: CertAssetCommand, config: &Config, out: OutputFormat) -> Result<ExitCode> {
    match cmd {
        CertAssetCommand::List { remote } => {
            let rows: Vec<AssetRow> = load_assets(config, &remote)
                .await?
                .into_iter()
                .map(AssetRow::from)
                .collect();
            output::print(out, &rows, &COLUMNS)?;
        }
        CertAssetCommand::Set {
            name,
            hostname,
            address,
            ports,
            thresholds,
            remote,
        } => {
            let input = CertAssetInput {
                hostname,
                address,
                ports: match ports {
                    Some(p) => crate::cli::parse_port_list(&p).map_err(anyhow::Error::msg)?,
                    None => Vec::new(),
                },
                thresholds: thresholds
                    .map(|t| crate::cli::parse_day_list(&t).map_err(anyhow::Error::msg))
                    .transpose()?,
            };
            let found = load_assets(config, &remote)
                .await?
                .into_iter()
                .find(|a| a.asset_name.eq_ignore_ascii_case(&name))
                .with_context(|| format!("no asset named {name:?}"))?;
            let saved: CertAssetSettings = match (&remote.server, &remote.token) {
                (Some(server), Some(token)) => {
                    let base = server.trim_end_matches('/');
                    let body = answer(
                        http()?
                            .put(format!(
                                "{base}/api/v1/certificates/assets/{}",
                                found.asset_id
                            ))
                            .bearer_auth(token)
                            .json(&input)
                            .send()
                            .await
                            .with_context(|| format!("cannot reach {base}"))?,
                        "saving the asset",
                    )
                    .await?;
                    serde_json::from_value(body).context("the server's answer")?
                }
                _ => {
                    let store = super::open_store(config).await?;
                    CertStore::new(store.as_ref())
                        .set_asset_settings(&cli_actor(), found.asset_id, &input, Utc::now())
                        .await?
                }
            };
            output::print(out, &[AssetRow::from(saved)], &COLUMNS)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn tag_thresholds(
    args: CertTagArgs,
    config: &Config,
    out: OutputFormat,
) -> Result<ExitCode> {
    let thresholds = args
        .thresholds
        .map(|t| crate::cli::parse_day_list(&t).map_err(anyhow::Error::msg))
        .transpose()?;
    let all: Vec<opsward_certs::assets::CertTagThresholds> =
        match (&args.remote.server, &args.remote.token) {
            (Some(server), Some(token)) => {
                let base = server.trim_end_matches('/');
                let body = answer(
                    http()?
                        .put(format!("{base}/api/v1/certificates/tag-thresholds"))
                        .bearer_auth(token)
                        .json(&serde_json::json!({ "tag": args.tag, "thresholds": thresholds }))
                        .send()
                        .await
                        .with_context(|| format!("cannot reach {base}"))?,
                    "saving the tag's thresholds",
                )
                .await?;
                serde_json::from_value(body).context("the server's answer")?
            }
            _ => {
                let store = super::open_store(config).await?;
                let certs = CertStore::new(store.as_ref());
                certs
                    .set_tag_thresholds(&cli_actor(), &args.tag, thresholds.as_deref(), Utc::now())
                    .await?;
                certs.tag_thresholds().await?
            }
        };
    output::print(out, &all, &["tag", "thresholds"])?;
    Ok(ExitCode::SUCCESS)
}
