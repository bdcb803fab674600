//! Installing updates the way an operator would: `apt-get install --only-upgrade` with the
//! noninteractive frontend, keeping changed configuration files, and recording what it did:
//! the command, exit code, output, which packages moved from which version to which, and
//! whether the host now needs a reboot. Never reboots.

use crate::{inventory::dpkg, inventory::host, InventoryError};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::{
    collections::BTreeMap,
    io::Read,
    path::Path,
    process::{Command, Stdio},
    time::{Duration, Instant},
};
use utoipa::ToSchema;

/// Most output kept from one run (the tail, where apt reports failures).
pub const MAX_OUTPUT: usize = 64 * 1024;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Upgraded {
    pub name: String,
    pub arch: String,
    pub from_version: String,
    pub to_version: String,
}

/// The evidence of one installation run on one host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct InstallRun {
    pub command: Vec<String>,
    pub started_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
    /// `None` when it was killed at the time limit.
    pub exit_code: Option<i32>,
    pub output: String,
    pub upgraded: Vec<Upgraded>,
    pub reboot_required: bool,
}

impl InstallRun {
    pub fn succeeded(&self) -> bool {
        self.exit_code == Some(0)
    }
}

fn versions(status: &Path) -> Result<BTreeMap<(String, String), String>, InventoryError> {
    Ok(dpkg::read_status(status)?
        .into_iter()
        .map(|p| ((p.name, p.arch), p.version))
        .collect())
}

/// `apt-get install --only-upgrade` of `packages` (never installs one that is not there),
/// with `apt_options` (`-o` settings) before the command. `root` is where the reboot flag is
/// looked for, `status` the dpkg status file compared before and after.
pub fn apt_upgrade(
    packages: &[String],
    apt_options: &[String],
    status: &Path,
    root: &Path,
    limit: Duration,
) -> Result<InstallRun, InventoryError> {
    let before = versions(status)?;
    let mut command: Vec<String> = vec!["apt-get".into()];
    for o in apt_options {
        command.push("-o".into());
        command.push(o.clone());
    }
    command.extend(
        [
            "-y",
            "-q",
            "-o",
            "Dpkg::Options::=--force-confdef",
            "-o",
            "Dpkg::Options::=--force-confold",
            "install",
            "--only-upgrade",
        ]
        .map(String::from),
    );
    command.extend(packages.iter().cloned());
    let started_at = Utc::now();
    let mut child = Command::new(&command[0])
        .args(&command[1..])
        .env("DEBIAN_FRONTEND", "noninteractive")
        .env("LC_ALL", "C")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| InventoryError::read("apt-get".as_ref(), e))?;
    // Drain both pipes on threads so a chatty apt never blocks on a full pipe.
    let mut stdout = child.stdout.take().expect("piped");
    let mut stderr = child.stderr.take().expect("piped");
    let out = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stdout.read_to_string(&mut s);
        s
    });
    let err = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let deadline = Instant::now() + limit;
    let exit_code = loop {
        match child
            .try_wait()
            .map_err(|e| InventoryError::read("apt-get".as_ref(), e))?
        {
            Some(status) => break status.code(),
            None if Instant::now() > deadline => {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            None => std::thread::sleep(Duration::from_millis(100)),
        }
    };
    let mut output = out.join().unwrap_or_default();
    output.push_str(&err.join().unwrap_or_default());
    if output.len() > MAX_OUTPUT {
        let mut cut = output.len() - MAX_OUTPUT;
        while !output.is_char_boundary(cut) {
            cut += 1;
        }
        output = output[cut..].to_string();
    }
    let after = versions(status)?;
    let upgraded = after
        .iter()
        .filter_map(|((name, arch), to)| {
            let from = before.get(&(name.clone(), arch.clone()))?;
            (from != to).then(|| Upgraded {
                name: name.clone(),
                arch: arch.clone(),
                from_version: from.clone(),
                to_version: to.clone(),
            })
        })
        .collect();
    Ok(InstallRun {
        command,
        started_at,
        finished_at: Utc::now(),
        exit_code,
        output,
        upgraded,
        reboot_required: host::reboot_required(root).required,
    })
}

/// Install `packages` only if `window` is open at `now`; `None` (nothing ran) otherwise.
pub fn upgrade_in_window(
    window: &crate::window::MaintenanceWindow,
    now: DateTime<Utc>,
    packages: &[String],
    apt_options: &[String],
    status: &Path,
    root: &Path,
) -> Result<Option<InstallRun>, InventoryError> {
    let open = window
        .open_until(now)
        .map_err(|m| InventoryError::format("maintenance window", m))?;
    let Some(end) = open else {
        return Ok(None);
    };
    let limit = (end - now).to_std().unwrap_or(Duration::ZERO);
    apt_upgrade(packages, apt_options, status, root, limit).map(Some)
}
