//! `opsward patch rings [list|add|update|delete]` and `opsward patch hosts assign`.

use super::{
    cli_actor,
    patches::{RingRow, RING_COLUMNS},
};
use crate::{
    cli::{PatchHostsCommand, RingCommand},
    output::{print, print_one, OutputFormat},
};
use anyhow::{anyhow, bail, Result};
use chrono::{NaiveDateTime, Utc};
use opsward_patches::{
    store::{
        rollout::{Ring, RingInput},
        PatchStore,
    },
    window::MaintenanceWindow,
};
use serde::Serialize;
use std::process::ExitCode;

/// A local date and time: `2026-12-01T02:00`, with seconds or with a space for the `T`.
pub fn parse_local(text: &str) -> Result<NaiveDateTime> {
    let t = text.trim();
    [
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%d %H:%M",
    ]
    .iter()
    .find_map(|f| NaiveDateTime::parse_from_str(t, f).ok())
    .ok_or_else(|| anyhow!("start {text:?}: expected a local time like 2026-12-01T02:00"))
}

fn find<'a>(rings: &'a [Ring], name: &str) -> Result<&'a Ring> {
    rings.iter().find(|r| r.name == name).ok_or_else(|| {
        let names: Vec<&str> = rings.iter().map(|r| r.name.as_str()).collect();
        anyhow!("no ring named {name:?} (rings: {})", names.join(", "))
    })
}

async fn print_ring(patches: &PatchStore, ring: Ring, out: OutputFormat) -> Result<()> {
    let hosts = patches
        .ring_members()
        .await?
        .into_iter()
        .filter(|m| m.ring_id == ring.id)
        .map(|m| m.hostname)
        .collect();
    print_one(out, &RingRow::new(ring, hosts, Utc::now()))
}

pub async fn rings(
    patches: &PatchStore,
    action: Option<RingCommand>,
    out: OutputFormat,
) -> Result<ExitCode> {
    let actor = cli_actor();
    match action.unwrap_or(RingCommand::List) {
        RingCommand::List => {
            let now = Utc::now();
            let members = patches.ring_members().await?;
            let rows: Vec<RingRow> = patches
                .list_rings()
                .await?
                .into_iter()
                .map(|r| {
                    let hosts = members
                        .iter()
                        .filter(|m| m.ring_id == r.id)
                        .map(|m| m.hostname.clone())
                        .collect();
                    RingRow::new(r, hosts, now)
                })
                .collect();
            print(out, &rows, RING_COLUMNS)?;
        }
        RingCommand::Add {
            name,
            order,
            rrule,
            start,
            timezone,
            minutes,
            soak_hours,
            reboot,
        } => {
            let input = RingInput {
                reboot_policy: reboot,
                name,
                position: order,
                soak_hours,
                window: MaintenanceWindow {
                    rrule,
                    starts_local: parse_local(&start)?,
                    timezone,
                    minutes,
                },
            };
            let ring = patches
                .create_ring(&actor, &input)
                .await
                .map_err(|e| anyhow!("{e}"))?;
            print_ring(patches, ring, out).await?;
        }
        RingCommand::Update {
            name,
            rename,
            order,
            rrule,
            start,
            timezone,
            minutes,
            soak_hours,
            reboot,
        } => {
            let rings = patches.list_rings().await?;
            let ring = find(&rings, &name)?;
            let input = RingInput {
                reboot_policy: reboot.unwrap_or(ring.reboot_policy),
                name: rename.unwrap_or_else(|| ring.name.clone()),
                position: order.unwrap_or(ring.position),
                soak_hours: soak_hours.unwrap_or(ring.soak_hours),
                window: MaintenanceWindow {
                    rrule: rrule.unwrap_or_else(|| ring.window.rrule.clone()),
                    starts_local: match start {
                        Some(s) => parse_local(&s)?,
                        None => ring.window.starts_local,
                    },
                    timezone: timezone.unwrap_or_else(|| ring.window.timezone.clone()),
                    minutes: minutes.unwrap_or(ring.window.minutes),
                },
            };
            let ring = patches
                .update_ring(&actor, ring.id, &input)
                .await
                .map_err(|e| anyhow!("{e}"))?;
            print_ring(patches, ring, out).await?;
        }
        RingCommand::Delete { name } => {
            let rings = patches.list_rings().await?;
            let ring = find(&rings, &name)?;
            let hosts = patches
                .ring_members()
                .await?
                .into_iter()
                .filter(|m| m.ring_id == ring.id)
                .map(|m| m.hostname)
                .collect();
            let deleted = patches
                .delete_ring(&actor, ring.id)
                .await
                .map_err(|e| anyhow!("{e}"))?;
            print_one(out, &RingRow::new(deleted, hosts, Utc::now()))?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// One host's ring after `patch hosts assign`.
#[derive(Serialize)]
struct Assigned {
    host_id: i64,
    hostname: String,
    ring: Option<String>,
}

pub async fn hosts(
    patches: &PatchStore,
    cmd: PatchHostsCommand,
    out: OutputFormat,
) -> Result<ExitCode> {
    let PatchHostsCommand::Assign {
        ring,
        none: _,
        hosts,
    } = cmd;
    let ring = match ring {
        Some(name) => Some(find(&patches.list_rings().await?, &name)?.clone()),
        None => None,
    };
    let known = patches.list_hosts(Utc::now()).await?;
    // Every name is checked before the first change: a typo changes nothing.
    let mut ids = Vec::new();
    for name in &hosts {
        match known.iter().find(|h| &h.host.hostname == name) {
            Some(h) => ids.push((h.host.id, name.clone())),
            None => bail!("no enrolled host named {name:?}"),
        }
    }
    let actor = cli_actor();
    let mut rows = Vec::new();
    for (id, hostname) in ids {
        patches
            .assign_ring(&actor, id, ring.as_ref().map(|r| r.id))
            .await
            .map_err(|e| anyhow!("{e}"))?;
        rows.push(Assigned {
            host_id: id,
            hostname,
            ring: ring.as_ref().map(|r| r.name.clone()),
        });
    }
    print(out, &rows, &["host_id", "hostname", "ring"])?;
    Ok(ExitCode::SUCCESS)
}
