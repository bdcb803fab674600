//! `opsward patch status|enrollment-token`.

use super::cli_actor;
use crate::{
    cli::PatchCommand,
    output::{print, OutputFormat},
};
use anyhow::Result;
use chrono::Utc;
use opsward_patches::store::PatchStore;
use opsward_store::Store;
use serde::Serialize;
use std::{process::ExitCode, sync::Arc};

/// One host as `patch status` prints it.
#[derive(Serialize)]
struct StatusRow {
    id: i64,
    hostname: String,
    os: String,
    kernel: String,
    packages: i64,
    pending: i64,
    security: i64,
    overdue: i64,
    current: bool,
    reboot_required: bool,
    last_report_at: Option<chrono::DateTime<Utc>>,
}

const COLUMNS: &[&str] = &[
    "id",
    "hostname",
    "os",
    "packages",
    "pending",
    "security",
    "overdue",
    "current",
    "reboot_required",
    "last_report_at",
];

pub async fn patch(
    store: &Arc<dyn Store>,
    cmd: PatchCommand,
    out: OutputFormat,
) -> Result<ExitCode> {
    let patches = PatchStore::new(store.as_ref());
    match cmd {
        PatchCommand::Status { host, overdue } => {
            let hosts = opsward_server::api::patches::filter_hosts(
                patches.list_hosts(Utc::now()).await?,
                host.as_deref(),
                overdue,
            );
            let rows: Vec<StatusRow> = hosts
                .into_iter()
                .map(|h| StatusRow {
                    id: h.host.id,
                    hostname: h.host.hostname,
                    os: h.host.os_name,
                    kernel: h.host.kernel,
                    packages: h.package_count,
                    pending: h.pending_updates,
                    security: h.security_updates,
                    overdue: h.overdue_updates,
                    current: h.current,
                    reboot_required: h.host.reboot_required,
                    last_report_at: h.host.last_report_at,
                })
                .collect();
            print(out, &rows, COLUMNS)?;
            Ok(ExitCode::from(if rows.iter().any(|r| r.overdue > 0) {
                1
            } else {
                0
            }))
        }
        PatchCommand::EnrollmentToken { name, days } => {
            let created = opsward_server::api::patches::mint_enrollment_token(
                &patches,
                &cli_actor(),
                &name,
                Some(days),
            )
            .await
            .map_err(|e| anyhow::anyhow!("{}", e.message))?;
            println!("{}", created.token);
            Ok(ExitCode::SUCCESS)
        }
    }
}
