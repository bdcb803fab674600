//! Security posture facts for the vulnerability practice: reported as found, `None` when this
//! host gives no way to tell.

use crate::report::Posture;
use std::path::Path;

/// Processes of common AV/EDR products, by `/proc/<pid>/comm` (at most 15 characters).
pub const AV_EDR_PROCESSES: &[&str] = &[
    "clamd",
    "falcon-sensor",
    "wdavdaemon",
    "SentinelAgent",
    "ds_agent",
    "elastic-endpoin",
    "cbagentd",
    "sophos-spl",
    "savd",
    "ossec-agentd",
    "wazuh-agentd",
];

/// The names of running processes (`/proc/*/comm`) under `proc`.
pub fn running_processes(proc: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(proc) else {
        return vec![];
    };
    entries
        .filter_map(|e| e.ok())
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .bytes()
                .all(|b| b.is_ascii_digit())
        })
        .filter_map(|e| std::fs::read_to_string(e.path().join("comm")).ok())
        .map(|c| c.trim().to_string())
        .collect()
}

/// Whether apt's periodic unattended upgrade is switched on in `apt.conf.d`: the last
/// `APT::Periodic::Unattended-Upgrade` setting wins, as apt reads the files in name order.
/// `None` when the directory does not exist (not an apt host).
pub fn unattended_upgrades(apt_conf_d: &Path) -> Option<bool> {
    let mut names: Vec<_> = std::fs::read_dir(apt_conf_d)
        .ok()?
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .collect();
    names.sort();
    let mut enabled = false;
    for path in names {
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        for line in text.lines() {
            let line = line.trim();
            if line.starts_with("//") || line.starts_with('#') {
                continue;
            }
            if let Some(rest) = line.strip_prefix("APT::Periodic::Unattended-Upgrade") {
                let value: String = rest.chars().filter(|c| c.is_ascii_digit()).collect();
                enabled = value.parse::<u32>().is_ok_and(|v| v > 0);
            }
        }
    }
    Some(enabled)
}

/// Whether a packet filter has rules: nftables (`nft list ruleset`) or, without nft, the
/// legacy iptables tables the kernel lists. `None` when neither can be asked.
pub fn firewall_active(proc: &Path) -> Option<bool> {
    if let Ok(out) = std::process::Command::new("nft")
        .args(["list", "ruleset"])
        .output()
    {
        if out.status.success() {
            let text = String::from_utf8_lossy(&out.stdout);
            return Some(text.lines().any(|l| l.trim_start().starts_with("chain ")));
        }
    }
    let tables = std::fs::read_to_string(proc.join("net/ip_tables_names")).ok()?;
    Some(!tables.trim().is_empty())
}

/// All three facts for this host.
pub fn posture(root: &Path) -> Posture {
    let proc = root.join("proc");
    let processes = running_processes(&proc);
    Posture {
        firewall_active: firewall_active(&proc),
        av_edr_running: (!processes.is_empty()).then(|| {
            processes
                .iter()
                .any(|p| AV_EDR_PROCESSES.contains(&p.as_str()))
        }),
        unattended_upgrades: unattended_upgrades(&root.join("etc/apt/apt.conf.d")),
    }
}
