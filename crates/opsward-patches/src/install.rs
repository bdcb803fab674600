//! Installing updates the way an operator would: `apt-get install --only-upgrade` with the
//! noninteractive frontend, keeping changed configuration files, or, for other package
//! managers, a configured command template (`dnf upgrade -y {packages}`); and recording what
//! it did: the command, exit code, output, which packages moved from which version to which,
//! and whether the host now needs a reboot. Never reboots: that is the agent's decision under
//! the reboot policy ([`crate::reboot`]), recorded in [`InstallRun::reboot`].

use crate::{
    inventory::{apk, dpkg, host, rpm},
    reboot::RebootOutcome,
    InventoryError,
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::{
    collections::BTreeMap,
    io::Read,
    path::{Path, PathBuf},
    process::{Command, Stdio},
    time::{Duration, Instant},
};
use utoipa::ToSchema;

/// Most output kept from one run (the tail, where apt reports failures).
pub const MAX_OUTPUT: usize = 64 * 1024;

/// Where a command template puts the package names, one argument each.
pub const PACKAGES_PLACEHOLDER: &str = "{packages}";

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
    /// What the agent decided about rebooting and under which policy (`null` from agents
    /// that predate reboot policies: they never reboot).
    #[serde(default)]
    pub reboot: Option<RebootOutcome>,
}

impl InstallRun {
    pub fn succeeded(&self) -> bool {
        self.exit_code == Some(0)
    }
}

/// Whether `name` can be handed to a package manager as one package: it starts with a letter
/// or digit (so it is never taken for an option) and holds only what package names, an
/// architecture (`:amd64`, `.x86_64`) or a version (`=1.2-3`, `~`) use.
pub fn validate_package_name(name: &str) -> Result<(), String> {
    let first_ok = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric());
    if !first_ok
        || name.len() > 200
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+._:=~-".contains(c))
    {
        return Err(format!(
            "{name:?} is not a package name (a letter or digit, then letters, digits and + . _ : = ~ -, at most 200)"
        ));
    }
    Ok(())
}

/// A configured install command for package managers other than apt: argv words, one of
/// them exactly `{packages}`, which becomes the package names as separate arguments. No
/// shell runs it, so a name can never become shell syntax.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandTemplate {
    words: Vec<String>,
}

impl CommandTemplate {
    /// From argv words (`["dnf", "upgrade", "-y", "{packages}"]`).
    pub fn from_words(words: Vec<String>) -> Result<Self, String> {
        if words
            .first()
            .is_none_or(|w| w.is_empty() || w == PACKAGES_PLACEHOLDER)
        {
            return Err("the install command must start with a program".into());
        }
        let slots = words.iter().filter(|w| *w == PACKAGES_PLACEHOLDER).count();
        if slots != 1 {
            return Err(format!(
                "the install command must hold {PACKAGES_PLACEHOLDER} once, as a word of its own"
            ));
        }
        if let Some(w) = words
            .iter()
            .find(|w| *w != PACKAGES_PLACEHOLDER && w.contains(PACKAGES_PLACEHOLDER))
        {
            return Err(format!(
                "{w:?}: {PACKAGES_PLACEHOLDER} must be a word of its own"
            ));
        }
        Ok(CommandTemplate { words })
    }

    /// From one line split at whitespace (`dnf upgrade -y {packages}`); no quoting.
    pub fn parse(line: &str) -> Result<Self, String> {
        Self::from_words(line.split_whitespace().map(str::to_string).collect())
    }

    /// The argv for `packages`, each checked by [`validate_package_name`].
    pub fn expand(&self, packages: &[String]) -> Result<Vec<String>, String> {
        if packages.is_empty() {
            return Err("no packages to install".into());
        }
        for p in packages {
            validate_package_name(p)?;
        }
        let mut argv = Vec::with_capacity(self.words.len() + packages.len());
        for w in &self.words {
            if w == PACKAGES_PLACEHOLDER {
                argv.extend(packages.iter().cloned());
            } else {
                argv.push(w.clone());
            }
        }
        Ok(argv)
    }
}

/// Where installed versions are read before and after a run, to tell what moved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VersionSource {
    Dpkg(PathBuf),
    Apk(PathBuf),
    /// `rpm -qa`.
    Rpm,
}

impl VersionSource {
    /// This host's package database: dpkg's status file, apk's database, else rpm.
    pub fn detect(dpkg_status: &Path, apk_installed: &Path) -> VersionSource {
        if dpkg_status.exists() {
            VersionSource::Dpkg(dpkg_status.to_path_buf())
        } else if apk_installed.exists() {
            VersionSource::Apk(apk_installed.to_path_buf())
        } else {
            VersionSource::Rpm
        }
    }

    fn versions(&self) -> Result<BTreeMap<(String, String), String>, InventoryError> {
        let packages = match self {
            VersionSource::Dpkg(p) => dpkg::read_status(p)?,
            VersionSource::Apk(p) => apk::read_installed(p)?,
            VersionSource::Rpm => rpm::query_installed().unwrap_or_else(|| Ok(vec![]))?,
        };
        Ok(packages
            .into_iter()
            .map(|p| ((p.name, p.arch), p.version))
            .collect())
    }
}

/// Run `argv` without a shell, noninteractive, for at most `limit` (then it is killed and
/// the exit code is `None`); stdout then stderr, the last [`MAX_OUTPUT`] bytes.
pub fn run_limited(argv: &[String], limit: Duration) -> std::io::Result<(Option<i32>, String)> {
    let (program, args) = argv
        .split_first()
        .ok_or_else(|| std::io::Error::other("empty command"))?;
    let mut child = Command::new(program)
        .args(args)
        .env("DEBIAN_FRONTEND", "noninteractive")
        .env("LC_ALL", "C")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    // Drain both pipes on threads so a chatty command never blocks on a full pipe.
    let mut stdout = child.stdout.take().expect("piped");
    let mut stderr = child.stderr.take().expect("piped");
    let out = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = stdout.read_to_end(&mut s);
        s
    });
    let err = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = stderr.read_to_end(&mut s);
        s
    });
    let deadline = Instant::now() + limit;
    let exit_code = loop {
        match child.try_wait()? {
            Some(status) => break status.code(),
            None if Instant::now() > deadline => {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            None => std::thread::sleep(Duration::from_millis(100)),
        }
    };
    let mut bytes = out.join().unwrap_or_default();
    bytes.extend(err.join().unwrap_or_default());
    let mut output = String::from_utf8_lossy(&bytes).into_owned();
    if output.len() > MAX_OUTPUT {
        let mut cut = output.len() - MAX_OUTPUT;
        while !output.is_char_boundary(cut) {
            cut += 1;
        }
        output = output[cut..].to_string();
    }
    Ok((exit_code, output))
}

/// Run an installation `command` and record it: versions from `versions` before and after,
/// the reboot flag below `root`.
pub fn install(
    command: Vec<String>,
    versions: &VersionSource,
    root: &Path,
    limit: Duration,
) -> Result<InstallRun, InventoryError> {
    let before = versions.versions()?;
    let started_at = Utc::now();
    let program = command.first().cloned().unwrap_or_default();
    let (exit_code, output) =
        run_limited(&command, limit).map_err(|e| InventoryError::read(program.as_ref(), e))?;
    let after = versions.versions()?;
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
        reboot: None,
    })
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
    for p in packages {
        validate_package_name(p).map_err(|m| InventoryError::format("packages", m))?;
    }
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
    install(
        command,
        &VersionSource::Dpkg(status.to_path_buf()),
        root,
        limit,
    )
}

/// The configured command for other package managers, with `packages` in its
/// `{packages}` slot.
pub fn command_upgrade(
    template: &CommandTemplate,
    packages: &[String],
    versions: &VersionSource,
    root: &Path,
    limit: Duration,
) -> Result<InstallRun, InventoryError> {
    let command = template
        .expand(packages)
        .map_err(|m| InventoryError::format("packages", m))?;
    install(command, versions, root, limit)
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
