//! One full report of this host, from whichever package database it has.

use super::{apk, dpkg, host, language, posture, rpm};
use crate::{
    apt::AptLists,
    report::{HostReport, ReportKind},
    InventoryError, PackageManager,
};
use std::path::PathBuf;

/// Where to look; the defaults are the real locations, tests point elsewhere.
#[derive(Debug, Clone)]
pub struct Sources {
    /// `/`: os-release, reboot flag, `/proc`, apt.conf.d are read below it.
    pub root: PathBuf,
    pub dpkg_status: PathBuf,
    pub apt_lists: PathBuf,
    pub apk_installed: PathBuf,
    /// pip and npm globals: off unless configured.
    pub language: language::LanguageSources,
}

impl Default for Sources {
    fn default() -> Self {
        Sources {
            root: "/".into(),
            dpkg_status: dpkg::STATUS_FILE.into(),
            apt_lists: crate::apt::LISTS_DIR.into(),
            apk_installed: apk::INSTALLED_DB.into(),
            language: Default::default(),
        }
    }
}

/// dpkg's architecture (`amd64`), which apt files `Architecture: all` packages under.
fn dpkg_architecture() -> Result<String, InventoryError> {
    let out = std::process::Command::new("dpkg")
        .arg("--print-architecture")
        .output()
        .map_err(|e| InventoryError::read("dpkg".as_ref(), e))?;
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn hostname(root: &std::path::Path) -> String {
    std::fs::read_to_string(root.join("proc/sys/kernel/hostname"))
        .or_else(|_| std::fs::read_to_string(root.join("etc/hostname")))
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "localhost".into())
}

/// A full report (sequence 0: the agent numbers it when it spools it).
pub fn collect(sources: &Sources) -> Result<HostReport, InventoryError> {
    let (package_manager, packages, pending) = if sources.dpkg_status.exists() {
        let packages = dpkg::read_status(&sources.dpkg_status)?;
        let pending = if sources.apt_lists.is_dir() {
            let lists = AptLists::read(&sources.apt_lists, &dpkg_architecture()?)?;
            lists
                .pending_updates(&packages)
                .map_err(|m| InventoryError::format(sources.dpkg_status.display(), m))?
        } else {
            vec![]
        };
        (Some(PackageManager::Dpkg), packages, pending)
    } else if sources.apk_installed.exists() {
        (
            Some(PackageManager::Apk),
            apk::read_installed(&sources.apk_installed)?,
            vec![],
        )
    } else if let Some(found) = rpm::query_installed() {
        (Some(PackageManager::Rpm), found?, vec![])
    } else {
        (None, vec![], vec![])
    };
    let (language_packages, mut notes) = language::collect(&sources.language);
    let (reboot, reboot_note) = host::reboot_state(&sources.root);
    notes.extend(reboot_note);
    Ok(HostReport {
        kind: ReportKind::Full,
        sequence: 0,
        base_sequence: None,
        collected_at: chrono::Utc::now(),
        hostname: hostname(&sources.root),
        os: host::os_release(&sources.root)?,
        kernel: host::kernel()?,
        package_manager,
        reboot,
        uptime_seconds: host::uptime_seconds(&sources.root.join("proc/uptime")).ok(),
        posture: posture::posture(&sources.root),
        packages,
        removed: vec![],
        pending,
        language_packages,
        notes,
    })
}
