//! The full host report the bench examples send: `packages` installed packages (versions
//! varying with `host`), the first 20 of them pending, 5 of those from the security suite.
//! Shared by `patches_bench` and `picture_seed` (`#[path]`-included; not an example itself).

use opsward_patches::{
    report::{HostReport, Posture, ReportKind},
    InstalledPackage, Kernel, OsRelease, PackageManager, PendingUpdate, RebootRequired,
};

pub fn full_report(
    host: usize,
    hostname: String,
    packages: usize,
    reboot: RebootRequired,
) -> HostReport {
    let packages: Vec<InstalledPackage> = (0..packages)
        .map(|i| InstalledPackage {
            name: format!("package-{i:05}"),
            version: format!("1.{}.{}-1+deb12u1", i % 17, host % 5),
            arch: if i % 7 == 0 { "all" } else { "amd64" }.into(),
            source: format!("source-{:05}", i / 3),
            source_version: format!("1.{}.{}-1+deb12u1", i % 17, host % 5),
        })
        .collect();
    let pending = packages
        .iter()
        .take(20)
        .enumerate()
        .map(|(i, p)| PendingUpdate {
            name: p.name.clone(),
            arch: p.arch.clone(),
            installed_version: p.version.clone(),
            candidate_version: format!("{}+b1", p.version),
            source: p.source.clone(),
            suites: vec![if i < 5 { "stable-security" } else { "stable" }.into()],
            security: i < 5,
        })
        .collect();
    HostReport {
        kind: ReportKind::Full,
        sequence: 1,
        base_sequence: None,
        collected_at: chrono::Utc::now(),
        hostname,
        os: OsRelease {
            id: "debian".into(),
            id_like: vec![],
            version_id: Some("12".into()),
            version_codename: Some("bookworm".into()),
            pretty_name: "Debian GNU/Linux 12 (bookworm)".into(),
        },
        kernel: Kernel {
            name: "Linux".into(),
            release: "6.1.0-18-amd64".into(),
            version: "#1 SMP PREEMPT_DYNAMIC Debian 6.1.76-1".into(),
            machine: "x86_64".into(),
        },
        package_manager: Some(PackageManager::Dpkg),
        reboot,
        uptime_seconds: Some(86_400),
        posture: Posture {
            firewall_active: Some(true),
            av_edr_running: Some(false),
            unattended_upgrades: Some(true),
        },
        packages,
        removed: vec![],
        pending,
        language_packages: vec![],
        notes: vec![],
    }
}
