use super::{cli_actor, person_with_email, team_named};
use crate::{
    cli::{AssetCommand, AssetFields},
    config::Config,
    output::{print, print_one, OutputFormat},
};
use anyhow::{anyhow, Context, Result};
use opsward_core::{
    asset::{Asset, AssetFilter, AssetInput, AssetKind, Criticality},
    asset_csv::{parse_assets_csv, write_assets_csv, OwnerRef},
    page::{PageRequest, MAX_LIMIT},
};
use opsward_store::Store;
use std::{io::Read, process::ExitCode, sync::Arc};

const COLUMNS: &[&str] = &["id", "name", "kind", "environment", "criticality", "tags"];

/// An asset by id (all digits) or by name.
pub(crate) async fn find(store: &Arc<dyn Store>, key: &str) -> Result<Asset> {
    if let Ok(id) = key.parse::<i64>() {
        if let Ok(asset) = store.get_asset(id).await {
            return Ok(asset);
        }
    }
    store
        .get_asset_by_name(key)
        .await
        .map_err(|_| anyhow!("no asset named or numbered {key:?}"))
}

async fn resolve_owner(store: &Arc<dyn Store>, text: &str) -> Result<(Option<i64>, Option<i64>)> {
    if text == "none" {
        return Ok((None, None));
    }
    match OwnerRef::parse(text).map_err(|e| anyhow!(e))? {
        None => Ok((None, None)),
        Some(OwnerRef::Team(name)) => Ok((Some(team_named(store, &name).await?.id), None)),
        Some(OwnerRef::Person(email)) => {
            Ok((None, Some(person_with_email(store, &email).await?.id)))
        }
    }
}

/// Apply the flags given to an asset's current values.
async fn apply(
    store: &Arc<dyn Store>,
    mut input: AssetInput,
    fields: AssetFields,
) -> Result<AssetInput> {
    if let Some(kind) = fields.kind {
        input.kind = kind
            .parse::<AssetKind>()
            .map_err(|e| anyhow!("--kind: {e}"))?;
    }
    if let Some(env) = fields.environment {
        input.environment = env;
    }
    if let Some(c) = fields.criticality {
        input.criticality = c
            .parse::<Criticality>()
            .map_err(|e| anyhow!("--criticality: {e}"))?;
    }
    if let Some(owner) = fields.owner {
        (input.owner_team_id, input.owner_person_id) = resolve_owner(store, &owner).await?;
    }
    if !fields.tags.is_empty() {
        input.tags = fields.tags;
    }
    if let Some(d) = fields.description {
        input.description = d;
    }
    Ok(input)
}

pub async fn asset(
    store: &Arc<dyn Store>,
    config: &Config,
    cmd: AssetCommand,
    out: OutputFormat,
) -> Result<ExitCode> {
    match cmd {
        AssetCommand::Add { name, fields } => {
            let kind = fields.kind.clone().ok_or_else(|| {
                anyhow!("--kind is required (host, service, endpoint or application)")
            })?;
            let base = AssetInput {
                name,
                kind: kind
                    .parse::<AssetKind>()
                    .map_err(|e| anyhow!("--kind: {e}"))?,
                environment: "production".into(),
                criticality: Criticality::Medium,
                owner_team_id: None,
                owner_person_id: None,
                tags: vec![],
                description: String::new(),
            };
            let input = apply(store, base, fields).await?;
            print_one(out, &store.create_asset(&cli_actor(), &input).await?)?;
        }
        AssetCommand::Update {
            asset,
            name,
            fields,
        } => {
            let current = find(store, &asset).await?;
            let mut input = apply(store, AssetInput::from(&current), fields).await?;
            if let Some(name) = name {
                input.name = name;
            }
            print_one(
                out,
                &store.update_asset(&cli_actor(), current.id, &input).await?,
            )?;
        }
        AssetCommand::List {
            query,
            kind,
            environment,
            criticality,
            tag,
            limit,
        } => {
            let filter = AssetFilter {
                q: query,
                kind: kind
                    .map(|k| k.parse::<AssetKind>())
                    .transpose()
                    .map_err(|e| anyhow!("--kind: {e}"))?,
                environment,
                criticality: criticality
                    .map(|c| c.parse::<Criticality>())
                    .transpose()
                    .map_err(|e| anyhow!("--criticality: {e}"))?,
                tag,
                ..Default::default()
            };
            let mut assets = Vec::new();
            let mut page = PageRequest::first(MAX_LIMIT);
            loop {
                let got = store.list_assets(&filter, page).await?;
                assets.extend(got.items);
                match got.next_cursor {
                    Some(c) if limit == 0 || assets.len() < limit => {
                        page = PageRequest::from_params(Some(MAX_LIMIT), Some(&c))
                            .map_err(|e| anyhow!(e))?
                    }
                    _ => break,
                }
            }
            if limit > 0 {
                assets.truncate(limit);
            }
            print(out, &assets, COLUMNS)?;
        }
        AssetCommand::Show { asset } => show(store, config, &asset, out).await?,
        AssetCommand::Rm { asset } => {
            let found = find(store, &asset).await?;
            store.delete_asset(&cli_actor(), found.id).await?;
            eprintln!("removed asset {} (id {})", found.name, found.id);
        }
        AssetCommand::Import { file, strict } => return import(store, &file, strict, out).await,
        AssetCommand::Export { file } => {
            let assets = store.export_assets().await?;
            match file {
                Some(path) => {
                    // Write beside the target and rename, so a failed export never leaves half a file.
                    let tmp = path.with_extension("csv.partial");
                    let f = std::fs::File::create(&tmp)
                        .with_context(|| format!("cannot write {}", tmp.display()))?;
                    write_assets_csv(f, &assets)?;
                    std::fs::rename(&tmp, &path)?;
                    eprintln!("exported {} assets to {}", assets.len(), path.display());
                }
                None => write_assets_csv(std::io::stdout().lock(), &assets)?,
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn import(
    store: &Arc<dyn Store>,
    file: &std::path::Path,
    strict: bool,
    out: OutputFormat,
) -> Result<ExitCode> {
    let mut bytes = Vec::new();
    if file.as_os_str() == "-" {
        std::io::stdin().read_to_end(&mut bytes)?;
    } else {
        bytes = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    }
    let rows = parse_assets_csv(bytes.as_slice())
        .with_context(|| format!("{} is not an asset CSV", file.display()))?;
    let (mut good, mut bad) = (Vec::new(), Vec::new());
    for row in rows {
        match row {
            Ok(r) => good.push(r),
            Err(e) => bad.push(e),
        }
    }
    let report = store
        .import_assets(&cli_actor(), &good, &bad, strict)
        .await?;
    match out {
        OutputFormat::Json => print_one(out, &report)?,
        _ => {
            if report.committed {
                eprintln!(
                    "imported: {} created, {} updated, {} unchanged",
                    report.created, report.updated, report.unchanged
                );
            } else {
                eprintln!(
                    "nothing imported (--strict and {} bad row(s))",
                    report.errors.len()
                );
            }
            for e in &report.errors {
                eprintln!("{}:{}: {}", file.display(), e.line, e.message);
            }
        }
    }
    Ok(if report.errors.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// The whole view of one asset, assessed as the server does: `-o json` prints it as one
/// object; a table prints the fields, then the conditions, then each practice's section.
async fn show(store: &Arc<dyn Store>, config: &Config, key: &str, out: OutputFormat) -> Result<()> {
    let asset = find(store, key).await?;
    let registry = opsward_server::practices::registry(store.clone(), &config.server_config()?);
    let now = chrono::Utc::now();
    let picture = registry.assess(now).await;
    let overview = opsward_server::overview::assemble(
        store.as_ref(),
        &registry,
        asset,
        picture.conditions,
        now,
        picture.failures.iter().map(|e| e.to_string()).collect(),
        now,
    )
    .await?;
    if out != OutputFormat::Table {
        return print_one(out, &overview);
    }
    print_one(out, &overview.asset)?;
    println!("owner        {}", overview.owner);
    for failure in &overview.failures {
        println!("warning: not included: {failure}");
    }
    println!("\nAt risk now");
    let conditions: Vec<serde_json::Value> = overview
        .conditions
        .iter()
        .map(|c| {
            serde_json::json!({
                "severity": c.severity,
                "practice": c.practice,
                "title": c.title,
                "due": c.due.map(|d| d.format("%Y-%m-%d").to_string()),
                "link": c.entity.link,
            })
        })
        .collect();
    if conditions.is_empty() {
        println!("nothing");
    } else {
        crate::output::print(
            out,
            &conditions,
            &["severity", "practice", "title", "due", "link"],
        )?;
    }
    for facet in &overview.facets {
        println!("\n{}", facet.title);
        if let Some(summary) = &facet.summary {
            println!("{summary}");
        }
        if facet.rows.is_empty() {
            println!("{}", facet.empty);
            continue;
        }
        let columns: Vec<&str> = facet.columns.iter().map(String::as_str).collect();
        let rows: Vec<serde_json::Map<String, serde_json::Value>> = facet
            .rows
            .iter()
            .map(|row| {
                columns
                    .iter()
                    .zip(&row.cells)
                    .map(|(c, v)| (c.to_string(), serde_json::Value::String(v.clone())))
                    .collect()
            })
            .collect();
        crate::output::print(out, &rows, &columns)?;
    }
    Ok(())
}
