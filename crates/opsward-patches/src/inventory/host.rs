//! The host itself: OS (os-release), running kernel, pending reboot, uptime.

use crate::{reboot, InventoryError, Kernel, OsRelease, RebootRequired};
use std::path::Path;

/// `/etc/os-release`, falling back to `/usr/lib/os-release` as the os-release spec says.
pub fn os_release(root: &Path) -> Result<OsRelease, InventoryError> {
    let etc = root.join("etc/os-release");
    let path = if etc.exists() {
        etc
    } else {
        root.join("usr/lib/os-release")
    };
    let text = std::fs::read_to_string(&path).map_err(|e| InventoryError::read(&path, e))?;
    Ok(parse_os_release(&text))
}

/// Parse os-release text: `KEY=value` lines, values optionally in single or double quotes with
/// backslash escapes, `#` comments.
pub fn parse_os_release(text: &str) -> OsRelease {
    let mut os = OsRelease {
        id: "linux".into(),
        pretty_name: "Linux".into(),
        ..OsRelease::default()
    };
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((key, raw)) = line.split_once('=') else {
            continue;
        };
        let value = unquote(raw.trim());
        match key.trim() {
            "ID" => os.id = value,
            "ID_LIKE" => os.id_like = value.split_whitespace().map(str::to_string).collect(),
            "VERSION_ID" => os.version_id = Some(value),
            "VERSION_CODENAME" => os.version_codename = Some(value),
            "PRETTY_NAME" => os.pretty_name = value,
            _ => {}
        }
    }
    os
}

fn unquote(raw: &str) -> String {
    let quote = match raw.chars().next() {
        Some(q @ ('"' | '\'')) if raw.len() >= 2 && raw.ends_with(q) => q,
        _ => return raw.to_string(),
    };
    let inner = &raw[1..raw.len() - 1];
    if quote == '\'' {
        return inner.to_string();
    }
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(next) = chars.next() {
                out.push(next);
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// The running kernel, from `/proc/sys/kernel` (what `uname` reads through the syscall).
pub fn kernel() -> Result<Kernel, InventoryError> {
    let read = |name: &str| {
        let path = Path::new("/proc/sys/kernel").join(name);
        std::fs::read_to_string(&path)
            .map(|s| s.trim().to_string())
            .map_err(|e| InventoryError::read(&path, e))
    };
    Ok(Kernel {
        name: read("ostype")?,
        release: read("osrelease")?,
        version: read("version")?,
        machine: std::env::consts::ARCH.to_string(),
    })
}

/// Whether the host waits for a reboot: Debian and Ubuntu's flag first, then, on the real
/// host (`root` is `/`) where it is installed, `needs-restarting -r` (dnf-utils, yum-utils).
pub fn reboot_required(root: &Path) -> RebootRequired {
    reboot_state(root).0
}

/// [`reboot_required`] and, when `needs-restarting` could not tell, a note saying so (the
/// host then counts as not requiring a reboot, so nothing reboots on a guess).
pub fn reboot_state(root: &Path) -> (RebootRequired, Option<String>) {
    let flag = debian_reboot_flag(root);
    if flag.required || root != Path::new("/") {
        return (flag, None);
    }
    match find_program("needs-restarting") {
        Some(program) => needs_restarting(&program),
        None => (flag, None),
    }
}

/// Debian and Ubuntu's flag: `/var/run/reboot-required` exists when an upgraded package
/// (kernel, libc, ...) needs a reboot, and `reboot-required.pkgs` lists which.
pub fn debian_reboot_flag(root: &Path) -> RebootRequired {
    let flag = root.join("var/run/reboot-required");
    if !flag.exists() {
        return RebootRequired::default();
    }
    let mut packages: Vec<String> =
        std::fs::read_to_string(root.join("var/run/reboot-required.pkgs"))
            .unwrap_or_default()
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_string)
            .collect();
    packages.sort();
    packages.dedup();
    RebootRequired {
        required: true,
        packages,
    }
}

/// How long `needs-restarting -r` may take (it reads the rpm database).
const NEEDS_RESTARTING_LIMIT: std::time::Duration = std::time::Duration::from_secs(60);

/// Run `program -r` and read its answer from the exit code.
pub fn needs_restarting(program: &Path) -> (RebootRequired, Option<String>) {
    let argv = [program.display().to_string(), "-r".to_string()];
    match crate::install::run_limited(&argv, NEEDS_RESTARTING_LIMIT) {
        Ok((code, output)) => match reboot::needs_restarting_verdict(code) {
            Some(required) => (
                RebootRequired {
                    required,
                    packages: if required {
                        reboot::needs_restarting_packages(&output)
                    } else {
                        vec![]
                    },
                },
                None,
            ),
            None => (
                RebootRequired::default(),
                Some(format!(
                    "{} -r {}: whether a reboot is required is unknown",
                    program.display(),
                    code.map_or_else(
                        || "was killed at its time limit".into(),
                        |c| format!("exited {c}")
                    )
                )),
            ),
        },
        Err(e) => (
            RebootRequired::default(),
            Some(format!("cannot run {} -r: {e}", program.display())),
        ),
    }
}

/// `name` in a directory of `PATH` (or the usual system directories), if it is there.
pub fn find_program(name: &str) -> Option<std::path::PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/bin", "/usr/sbin", "/bin", "/sbin"].map(Into::into))
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

/// Seconds since boot, from `/proc/uptime`.
pub fn uptime_seconds(proc_uptime: &Path) -> Result<u64, InventoryError> {
    let text =
        std::fs::read_to_string(proc_uptime).map_err(|e| InventoryError::read(proc_uptime, e))?;
    text.split_whitespace()
        .next()
        .and_then(|s| s.parse::<f64>().ok())
        .map(|s| s as u64)
        .ok_or_else(|| InventoryError::format(proc_uptime.display(), "not \"<seconds> <idle>\""))
}
