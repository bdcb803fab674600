//! The patch side of `opsward agent`: enroll once with an enrollment token, then on every
//! interval collect this host's inventory, spool it, and send what is spooled.
//!
//! The spool holds full reports, one file each, written atomically (temporary file, fsync,
//! rename, fsync of the directory), so `kill -9` at any moment leaves every report either
//! whole or absent. On the wire the agent sends a delta against the last report the server
//! acknowledged (kept in `base.json`), or a full report when there is none or the server
//! refuses the delta. A report leaves the spool only after the server acknowledged it and
//! the new base is on disk; a retry of an acknowledged report is recognised by the server by
//! its sequence number. The spool is bounded: past `spool_max_bytes` the oldest reports are
//! dropped and counted in `spool/dropped`.

use anyhow::{anyhow, bail, Context, Result};
use opsward_patches::{
    install::{CommandTemplate, VersionSource},
    inventory::collect,
    reboot::{self, RebootDecision, RebootOutcome},
    report::HostReport,
};
use serde::Deserialize;
use std::{
    io::Write,
    path::{Path, PathBuf},
    time::Duration,
};

/// Every request's limit: a stalled server must not stall the agent.
const TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PatchConfig {
    /// A file holding an enrollment token, needed until the host has its credential.
    #[serde(default)]
    pub enrollment_token_file: Option<PathBuf>,
    /// The credential, the acknowledged base report and the spool.
    pub state_dir: PathBuf,
    /// How often to report: `1h`, `6h`.
    #[serde(default = "default_every")]
    pub every: String,
    #[serde(default = "default_spool_max")]
    pub spool_max_bytes: u64,
    /// Where to read from (defaults: the real locations).
    #[serde(default)]
    pub dpkg_status: Option<PathBuf>,
    #[serde(default)]
    pub apt_lists: Option<PathBuf>,
    /// The name to enroll under [default: the kernel's hostname].
    #[serde(default)]
    pub hostname: Option<String>,
    /// Install what operators approve for this host's ring, inside the ring's window.
    #[serde(default)]
    pub install: Option<InstallConfig>,
    /// Python interpreters whose pip packages to report (`python3 -m pip list`), e.g.
    /// `["/usr/bin/python3"]`; none by default.
    #[serde(default)]
    pub pip_interpreters: Vec<PathBuf>,
    /// Report npm's global packages (`npm ls -g`); off by default.
    #[serde(default)]
    pub npm_global: bool,
    /// The npm to run for `npm_global` [default: `npm` on the PATH].
    #[serde(default)]
    pub npm: Option<PathBuf>,
    /// How long pip or npm may take, each run [default: 60s].
    #[serde(default = "default_tool_timeout")]
    pub package_tool_timeout: String,
}

fn default_tool_timeout() -> String {
    "60s".into()
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InstallConfig {
    /// Extra apt settings (`Dir::Etc::SourceList=...`), passed as `-o` options.
    #[serde(default)]
    pub apt_options: Vec<String>,
    /// For package managers other than apt: the install command, one word `{packages}`
    /// standing for the approved names, each its own argument (`"dnf upgrade -y {packages}"`
    /// or `["apk", "upgrade", "{packages}"]`). No shell runs it. [default: apt-get]
    #[serde(default)]
    pub command: Option<CommandLine>,
    /// The longest one installation may run (`30m`, `2h`); it is also killed at the end of
    /// the window. [default: until the window ends]
    #[serde(default)]
    pub timeout: Option<String>,
    /// What runs when the reboot policy allows a reboot and one is required after a
    /// successful install. `--reboot-command` / `OPSWARD_AGENT_REBOOT_COMMAND` win.
    /// [default: `systemctl reboot`]
    #[serde(default)]
    pub reboot_command: Option<CommandLine>,
}

/// A command as one line split at whitespace (no quoting, no shell) or as a list of words.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum CommandLine {
    Line(String),
    Words(Vec<String>),
}

impl CommandLine {
    pub fn words(&self) -> Vec<String> {
        match self {
            CommandLine::Line(l) => l.split_whitespace().map(str::to_string).collect(),
            CommandLine::Words(w) => w.clone(),
        }
    }
}

/// The reboot command when none is configured.
pub const DEFAULT_REBOOT_COMMAND: &[&str] = &["systemctl", "reboot"];

/// How long the reboot command may take to hand the reboot to the init system.
const REBOOT_COMMAND_LIMIT: Duration = Duration::from_secs(120);

impl InstallConfig {
    fn template(&self) -> Result<Option<CommandTemplate>> {
        self.command
            .as_ref()
            .map(|c| {
                CommandTemplate::from_words(c.words())
                    .map_err(|e| anyhow!("[patches.install] command: {e}"))
            })
            .transpose()
    }

    fn limit(&self) -> Result<Option<Duration>> {
        let Some(text) = &self.timeout else {
            return Ok(None);
        };
        let limit = super::resilience::duration(text)
            .with_context(|| format!("[patches.install] timeout = {text:?}"))?;
        if limit.is_zero() {
            bail!("[patches.install] timeout: more than 0s");
        }
        Ok(Some(limit))
    }

    pub fn reboot_words(&self) -> Vec<String> {
        self.reboot_command
            .as_ref()
            .map(CommandLine::words)
            .unwrap_or_else(|| {
                DEFAULT_REBOOT_COMMAND
                    .iter()
                    .map(|w| w.to_string())
                    .collect()
            })
    }

    fn validate(&self) -> Result<()> {
        self.template()?;
        self.limit()?;
        if self.reboot_words().first().is_none_or(|w| w.is_empty()) {
            bail!("[patches.install] reboot_command: empty");
        }
        Ok(())
    }
}

fn default_every() -> String {
    "1h".into()
}

fn default_spool_max() -> u64 {
    64 * 1024 * 1024
}

impl PatchConfig {
    /// The configuration's mistakes, found at start rather than at the first report.
    pub fn validate(&self) -> Result<()> {
        let limit = super::resilience::duration(&self.package_tool_timeout)
            .with_context(|| format!("package_tool_timeout = {:?}", self.package_tool_timeout))?;
        if limit.is_zero() || limit > Duration::from_secs(3600) {
            bail!("package_tool_timeout: between 1s and 1h");
        }
        if let Some(install) = &self.install {
            install.validate()?;
        }
        Ok(())
    }

    pub fn sources(&self) -> collect::Sources {
        let mut s = collect::Sources {
            language: opsward_patches::inventory::language::LanguageSources {
                pip_interpreters: self.pip_interpreters.clone(),
                npm: self
                    .npm_global
                    .then(|| self.npm.clone().unwrap_or_else(|| "npm".into())),
                timeout: super::resilience::duration(&self.package_tool_timeout)
                    .unwrap_or(Duration::from_secs(60)),
            },
            ..Default::default()
        };
        if let Some(p) = &self.dpkg_status {
            s.dpkg_status = p.clone();
        }
        if let Some(p) = &self.apt_lists {
            s.apt_lists = p.clone();
        }
        s
    }
}

/// Write `bytes` to `path` so that a crash leaves the old file or the new one, never a part.
/// The file is private to the agent's user (mode 0600): the credential is written this way.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path
        .parent()
        .ok_or_else(|| anyhow!("{} has no directory", path.display()))?;
    let tmp = dir.join(format!(
        ".{}.tmp",
        path.file_name().and_then(|n| n.to_str()).unwrap_or("file")
    ));
    {
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut f = options
            .open(&tmp)
            .with_context(|| format!("cannot write {}", tmp.display()))?;
        // A temporary file left by an older version keeps its mode on open: set it anyway.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            f.set_permissions(std::fs::Permissions::from_mode(0o600))?;
        }
        f.write_all(bytes)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path).with_context(|| format!("cannot write {}", path.display()))?;
    std::fs::File::open(dir)?.sync_all()?;
    Ok(())
}

fn private_dir(path: &Path) -> Result<()> {
    std::fs::create_dir_all(path).with_context(|| format!("cannot create {}", path.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o700))?;
    }
    Ok(())
}

/// The agent's files under `state_dir`.
pub struct Spool {
    dir: PathBuf,
    max_bytes: u64,
}

impl Spool {
    pub fn open(state_dir: &Path, max_bytes: u64) -> Result<Spool> {
        private_dir(state_dir)?;
        private_dir(&state_dir.join("spool"))?;
        Ok(Spool {
            dir: state_dir.to_path_buf(),
            max_bytes,
        })
    }

    fn spool_dir(&self) -> PathBuf {
        self.dir.join("spool")
    }

    fn credential_path(&self) -> PathBuf {
        self.dir.join("credential")
    }

    fn base_path(&self) -> PathBuf {
        self.dir.join("base.json")
    }

    pub fn credential(&self) -> Option<String> {
        std::fs::read_to_string(self.credential_path())
            .ok()
            .map(|c| c.trim().to_string())
            .filter(|c| !c.is_empty())
    }

    /// A new credential means a new report sequence on the server: forget the base.
    fn set_credential(&self, credential: &str) -> Result<()> {
        let _ = std::fs::remove_file(self.base_path());
        write_atomically(&self.credential_path(), credential.as_bytes())
    }

    fn forget_credential(&self) {
        let _ = std::fs::remove_file(self.credential_path());
    }

    pub fn base(&self) -> Option<HostReport> {
        let text = std::fs::read_to_string(self.base_path()).ok()?;
        serde_json::from_str(&text).ok()
    }

    /// Spooled reports `(sequence, path)`, oldest first. Temporary files are not reports.
    pub fn entries(&self) -> Result<Vec<(i64, PathBuf)>> {
        let mut out = Vec::new();
        for e in std::fs::read_dir(self.spool_dir())? {
            let path = e?.path();
            let Some(seq) = path
                .file_name()
                .and_then(|n| n.to_str())
                .and_then(|n| n.strip_suffix(".json"))
                .and_then(|n| n.parse::<i64>().ok())
            else {
                continue;
            };
            out.push((seq, path));
        }
        out.sort();
        Ok(out)
    }

    /// Reports dropped because the spool was full, ever.
    pub fn dropped(&self) -> u64 {
        std::fs::read_to_string(self.spool_dir().join("dropped"))
            .ok()
            .and_then(|t| t.trim().parse().ok())
            .unwrap_or(0)
    }

    /// Number `report` after everything spooled or acknowledged, and spool it.
    pub fn push(&self, mut report: HostReport) -> Result<i64> {
        let last_spooled = self.entries()?.last().map(|(s, _)| *s).unwrap_or(0);
        let last_acked = self.base().map(|b| b.sequence).unwrap_or(0);
        report.sequence = last_spooled.max(last_acked) + 1;
        let path = self
            .spool_dir()
            .join(format!("{:020}.json", report.sequence));
        write_atomically(&path, &serde_json::to_vec(&report)?)?;
        self.enforce_bound()?;
        Ok(report.sequence)
    }

    fn enforce_bound(&self) -> Result<()> {
        let mut entries: Vec<(i64, PathBuf, u64)> = self
            .entries()?
            .into_iter()
            .map(|(s, p)| {
                let size = std::fs::metadata(&p).map(|m| m.len()).unwrap_or(0);
                (s, p, size)
            })
            .collect();
        let mut total: u64 = entries.iter().map(|e| e.2).sum();
        let mut dropped = 0;
        // The newest report always stays: it is the one that matters most.
        while total > self.max_bytes && entries.len() > 1 {
            let (seq, path, size) = entries.remove(0);
            std::fs::remove_file(&path)?;
            total -= size;
            dropped += 1;
            tracing::warn!(sequence = seq, "spool full: dropped the oldest report");
        }
        if dropped > 0 {
            let count = self.dropped() + dropped;
            write_atomically(
                &self.spool_dir().join("dropped"),
                count.to_string().as_bytes(),
            )?;
        }
        Ok(())
    }
}

/// An HTTPS (or HTTP) client trusting the system roots plus `ca_file` when given.
pub fn client(ca_file: Option<&Path>) -> Result<reqwest::Client> {
    let mut builder = reqwest::Client::builder()
        .timeout(TIMEOUT)
        .connect_timeout(Duration::from_secs(10));
    if let Some(path) = ca_file {
        let pem = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
        for cert in reqwest::Certificate::from_pem_bundle(&pem)
            .with_context(|| format!("{} holds no PEM certificate", path.display()))?
        {
            builder = builder.add_root_certificate(cert);
        }
    }
    Ok(builder.build()?)
}

/// What one cycle achieved.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Flushed {
    pub sent: usize,
    /// Reports still spooled (the server could not be reached or refused them).
    pub left: usize,
}

pub struct PatchAgent {
    pub config: PatchConfig,
    pub server: String,
    pub http: reqwest::Client,
    pub spool: Spool,
}

impl PatchAgent {
    pub fn new(config: PatchConfig, server: String, http: reqwest::Client) -> Result<PatchAgent> {
        config.validate()?;
        let spool = Spool::open(&config.state_dir, config.spool_max_bytes)?;
        Ok(PatchAgent {
            config,
            server: server.trim_end_matches('/').to_string(),
            http,
            spool,
        })
    }

    /// The host credential, enrolling first when there is none.
    async fn credential(&self, hostname: &str) -> Result<String> {
        if let Some(c) = self.spool.credential() {
            return Ok(c);
        }
        let path =
            self.config.enrollment_token_file.as_ref().ok_or_else(|| {
                anyhow!("not enrolled yet and no enrollment_token_file in [patches]")
            })?;
        let token = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let response = self
            .http
            .post(format!("{}/api/v1/patches/enroll", self.server))
            .json(&serde_json::json!({"token": token.trim(), "hostname": hostname}))
            .send()
            .await
            .context("cannot reach the server to enroll")?;
        if !response.status().is_success() {
            bail!(
                "enrollment refused ({}): {}",
                response.status(),
                response.text().await.unwrap_or_default()
            );
        }
        let enrolled: serde_json::Value = response.json().await?;
        let credential = enrolled["credential"]
            .as_str()
            .ok_or_else(|| anyhow!("the server's enrollment answer has no credential"))?
            .to_string();
        self.spool.set_credential(&credential)?;
        tracing::info!(host = enrolled["host_id"].as_i64(), "enrolled");
        Ok(credential)
    }

    /// Collect and spool one report.
    pub fn collect(&self) -> Result<i64> {
        let mut report = collect::collect(&self.config.sources())?;
        if let Some(h) = &self.config.hostname {
            report.hostname = h.clone();
        }
        self.spool.push(report)
    }

    /// Send every spooled report, oldest first, until one cannot be delivered.
    pub async fn flush(&self) -> Result<Flushed> {
        let entries = self.spool.entries()?;
        let mut flushed = Flushed {
            sent: 0,
            left: entries.len(),
        };
        let Some((_, first)) = entries.first() else {
            return Ok(flushed);
        };
        let hostname = match &self.config.hostname {
            Some(h) => h.clone(),
            None => serde_json::from_slice::<HostReport>(&std::fs::read(first)?)?.hostname,
        };
        let credential = self.credential(&hostname).await?;
        for (seq, path) in entries {
            let report: HostReport = serde_json::from_slice(&std::fs::read(&path)?)
                .with_context(|| format!("spooled report {} is unreadable", path.display()))?;
            let wire = match self.spool.base() {
                Some(base) if base.sequence < report.sequence => report.delta_from(&base),
                _ => report.clone(),
            };
            let mut status = self.send(&credential, &wire).await?;
            if status == reqwest::StatusCode::CONFLICT {
                // The server has another base (restored, or a report was dropped): full.
                status = self.send(&credential, &report).await?;
            }
            if status == reqwest::StatusCode::UNAUTHORIZED {
                // Revoked or the host was re-enrolled elsewhere: enroll again next time.
                self.spool.forget_credential();
                bail!("the server no longer accepts this host's credential");
            }
            if !status.is_success() {
                tracing::warn!(sequence = seq, %status, "report not accepted; kept in the spool");
                return Ok(flushed);
            }
            write_atomically(&self.spool.base_path(), &serde_json::to_vec(&report)?)?;
            std::fs::remove_file(&path)?;
            flushed.sent += 1;
            flushed.left -= 1;
        }
        Ok(flushed)
    }

    /// POST one report; a network failure is "not now" (`503` here), not an error.
    async fn send(&self, credential: &str, report: &HostReport) -> Result<reqwest::StatusCode> {
        match self
            .http
            .post(format!("{}/api/v1/patches/reports", self.server))
            .header("X-Opsward-Host", credential)
            .json(report)
            .send()
            .await
        {
            Ok(r) => Ok(r.status()),
            Err(e) => {
                tracing::warn!(error = %e, "server unreachable; reports stay spooled");
                Ok(reqwest::StatusCode::SERVICE_UNAVAILABLE)
            }
        }
    }

    /// One cycle: collect, spool, send; then install what is approved if the window is open,
    /// and report again so the server sees the new versions at once.
    pub async fn cycle(&self) -> Result<Flushed> {
        let seq = self.collect()?;
        tracing::info!(sequence = seq, "report spooled");
        let flushed = self.flush().await?;
        if flushed.left == 0 && self.install_approved().await? > 0 {
            self.collect()?;
            return self.flush().await;
        }
        Ok(flushed)
    }

    /// Run every approval the server lists for this host, if its ring's window is open now.
    /// Returns how many ran.
    async fn install_approved(&self) -> Result<usize> {
        let (Some(install), Some(credential)) = (&self.config.install, self.spool.credential())
        else {
            return Ok(0);
        };
        let response = self
            .http
            .get(format!("{}/api/v1/patches/agent/instructions", self.server))
            .header("X-Opsward-Host", &credential)
            .send()
            .await?;
        if !response.status().is_success() {
            bail!("instructions refused: {}", response.status());
        }
        let todo: opsward_patches::store::rollout::Instructions = response.json().await?;
        let Some(ring) = todo.ring else {
            return Ok(0);
        };
        let now = chrono::Utc::now();
        let Some(end) = ring.window.open_until(now).map_err(|e| anyhow!(e))? else {
            if !todo.approvals.is_empty() {
                tracing::info!(ring = %ring.name, next = ?ring.window.next_start(now).ok().flatten(), "approved updates wait for the window");
            }
            return Ok(0);
        };
        let sources = self.config.sources();
        let template = install.template()?;
        let cap = install.limit()?;
        let mut ran = 0;
        for approval in todo.approvals {
            let mut limit = (end - chrono::Utc::now()).to_std().unwrap_or_default();
            if let Some(cap) = cap {
                limit = limit.min(cap);
            }
            let root = sources.root.clone();
            let packages = approval.packages.clone();
            let mut run = match &template {
                None => {
                    let status = sources.dpkg_status.clone();
                    let options = install.apt_options.clone();
                    tokio::task::spawn_blocking(move || {
                        opsward_patches::install::apt_upgrade(
                            &packages, &options, &status, &root, limit,
                        )
                    })
                    .await??
                }
                Some(template) => {
                    let template = template.clone();
                    let versions =
                        VersionSource::detect(&sources.dpkg_status, &sources.apk_installed);
                    tokio::task::spawn_blocking(move || {
                        opsward_patches::install::command_upgrade(
                            &template, &packages, &versions, &root, limit,
                        )
                    })
                    .await??
                }
            };
            // Whether to reboot is decided now, recorded with the run, and acted on only
            // after the server has the record: a reboot never goes unreported.
            let policy = approval.reboot_policy_in(&ring);
            let window_open = matches!(ring.window.open_until(chrono::Utc::now()), Ok(Some(_)));
            let decision =
                reboot::decide(policy, run.succeeded(), run.reboot_required, window_open);
            let reboot_command = install.reboot_words();
            run.reboot = Some(RebootOutcome {
                policy,
                decision,
                command: if decision == RebootDecision::Reboot {
                    reboot_command.clone()
                } else {
                    vec![]
                },
            });
            tracing::info!(approval = approval.id, exit_code = ?run.exit_code, upgraded = run.upgraded.len(),
                reboot_required = run.reboot_required, reboot = %decision, "installed");
            let response = self
                .http
                .post(format!("{}/api/v1/patches/agent/runs", self.server))
                .header("X-Opsward-Host", &credential)
                .json(&serde_json::json!({"approval_id": approval.id, "run": run}))
                .send()
                .await?;
            if !response.status().is_success() {
                bail!(
                    "run of approval {} not recorded: {}",
                    approval.id,
                    response.status()
                );
            }
            ran += 1;
            if decision == RebootDecision::Reboot {
                // The host goes down: what is left waits for the next cycle after the reboot.
                reboot_now(reboot_command).await?;
                break;
            }
        }
        Ok(ran)
    }
}

/// Run the reboot command (the policy allowed it and the run is recorded).
async fn reboot_now(command: Vec<String>) -> Result<()> {
    tracing::warn!(command = ?command, "rebooting: the reboot policy allows it and a reboot is required");
    let shown = command.join(" ");
    let (code, output) = tokio::task::spawn_blocking(move || {
        opsward_patches::install::run_limited(&command, REBOOT_COMMAND_LIMIT)
    })
    .await?
    .with_context(|| format!("cannot run the reboot command `{shown}`"))?;
    if code != Some(0) {
        bail!(
            "the reboot command `{shown}` {}: {}",
            code.map_or_else(
                || "was killed at its time limit".into(),
                |c| format!("exited {c}")
            ),
            output.trim()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 19: the credential file was written with the umask's mode (often 0644).
    #[cfg(unix)]
    #[test]
    fn the_credential_is_private_to_the_agent() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let spool = Spool::open(dir.path(), 1 << 20).unwrap();
        spool.set_credential("ow_host_secret").unwrap();
        let mode = std::fs::metadata(dir.path().join("credential"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{mode:o}");
        assert_eq!(spool.credential().as_deref(), Some("ow_host_secret"));
    }

    fn report(packages: usize) -> HostReport {
        let mut r = collect::collect(&collect::Sources {
            dpkg_status: "/nonexistent".into(),
            apk_installed: "/nonexistent".into(),
            ..Default::default()
        })
        .unwrap();
        r.packages = (0..packages)
            .map(|i| opsward_patches::InstalledPackage {
                name: format!("p{i}"),
                version: "1".into(),
                arch: "amd64".into(),
                source: format!("p{i}"),
                source_version: "1".into(),
            })
            .collect();
        r
    }

    fn install_config(toml_text: &str) -> Result<InstallConfig> {
        let c: InstallConfig = toml::from_str(toml_text)?;
        c.validate()?;
        Ok(c)
    }

    #[test]
    fn install_commands_and_the_reboot_command_are_read_and_checked() {
        let c = install_config("").unwrap();
        assert_eq!(c.reboot_words(), ["systemctl", "reboot"], "the default");
        assert!(c.template().unwrap().is_none(), "apt-get by default");
        let c = install_config(
            "command = \"dnf upgrade -y {packages}\"\nreboot_command = \"/sbin/shutdown -r +1\"\ntimeout = \"30m\"\n",
        )
        .unwrap();
        assert_eq!(
            c.template()
                .unwrap()
                .unwrap()
                .expand(&["kernel".into(), "glibc".into()])
                .unwrap(),
            ["dnf", "upgrade", "-y", "kernel", "glibc"]
        );
        assert_eq!(c.reboot_words(), ["/sbin/shutdown", "-r", "+1"]);
        assert_eq!(c.limit().unwrap(), Some(Duration::from_secs(1800)));
        let c = install_config(
            "command = [\"apk\", \"upgrade\", \"{packages}\"]\nreboot_command = [\"/usr/local/bin/reboot now\"]\n",
        )
        .unwrap();
        assert_eq!(
            c.reboot_words(),
            ["/usr/local/bin/reboot now"],
            "a list keeps its words whole"
        );
        for bad in [
            "command = \"dnf upgrade -y\"",
            "command = \"dnf upgrade {packages}{packages}\"",
            "reboot_command = \"\"",
            "reboot_command = []",
            "timeout = \"0s\"",
            "timeout = \"soon\"",
            "reboot = \"always\"",
        ] {
            assert!(install_config(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_full_spool_drops_the_oldest_and_counts_them() {
        let dir = tempfile::tempdir().unwrap();
        let one = serde_json::to_vec(&report(100)).unwrap().len() as u64;
        // Room for three reports.
        let spool = Spool::open(dir.path(), one * 3 + one / 2).unwrap();
        for expected in 1..=5 {
            assert_eq!(spool.push(report(100)).unwrap(), expected);
        }
        let seqs: Vec<i64> = spool
            .entries()
            .unwrap()
            .into_iter()
            .map(|(s, _)| s)
            .collect();
        assert_eq!(seqs, [3, 4, 5]);
        assert_eq!(spool.dropped(), 2);
        // Numbering continues after what is spooled, across reopening.
        let again = Spool::open(dir.path(), one * 3 + one / 2).unwrap();
        assert_eq!(again.push(report(100)).unwrap(), 6);
        assert_eq!(again.dropped(), 3);
        // A temporary file left by a killed write is not a report.
        std::fs::write(
            dir.path().join("spool/.00000000000000000007.json.tmp"),
            b"{",
        )
        .unwrap();
        assert_eq!(again.entries().unwrap().len(), 3);
    }
}
