//! Packages installed by language package managers outside the OS package database, where the
//! agent is asked to look: `python3 -m pip list --format=json` per configured interpreter and
//! `npm ls -g --json --depth=0`. Each package carries its OSV ecosystem (`PyPI`, `npm`) so the
//! vulnerability matcher can match it like a lockfile entry.
//!
//! A tool that is missing, times out or prints something that is not its JSON is a note in the
//! report, never a failed report: the OS inventory still goes out.

use serde::Deserialize;
use std::{
    io::Read,
    path::{Path, PathBuf},
    process::{Command, Stdio},
    time::{Duration, Instant},
};

pub use opsward_core::host_inventory::{LanguageEcosystem, LanguagePackage};

/// What to collect; everything off by default.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LanguageSources {
    /// Python interpreters to run `-m pip list --format=json` with.
    pub pip_interpreters: Vec<PathBuf>,
    /// The npm to run `ls -g --json --depth=0` with; `None`: npm globals are not collected.
    pub npm: Option<PathBuf>,
    /// Each tool's limit.
    pub timeout: Duration,
}

impl Default for LanguageSources {
    fn default() -> Self {
        LanguageSources {
            pip_interpreters: vec![],
            npm: None,
            timeout: Duration::from_secs(60),
        }
    }
}

/// A tool's output, or why there is none.
struct Ran {
    stdout: String,
    stderr: String,
    code: Option<i32>,
}

/// Run `program args` with no input, killing it after `limit`.
fn run(program: &Path, args: &[&str], limit: Duration) -> Result<Ran, String> {
    let mut child = Command::new(program)
        .args(args)
        .env("PIP_DISABLE_PIP_VERSION_CHECK", "1")
        .env("PIP_NO_INPUT", "1")
        .env("NO_UPDATE_NOTIFIER", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => "not installed".to_string(),
            _ => format!("cannot run: {e}"),
        })?;
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
    let code = loop {
        match child.try_wait().map_err(|e| format!("cannot wait: {e}"))? {
            Some(status) => break status.code(),
            None if Instant::now() > deadline => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("no answer within {} s", limit.as_secs()));
            }
            None => std::thread::sleep(Duration::from_millis(20)),
        }
    };
    Ok(Ran {
        stdout: out.join().unwrap_or_default(),
        stderr: err.join().unwrap_or_default(),
        code,
    })
}

fn last_line(text: &str) -> &str {
    text.lines()
        .map(str::trim)
        .rfind(|l| !l.is_empty())
        .unwrap_or("")
}

/// The packages of `pip list --format=json` output: `[{"name": .., "version": ..}, ...]`
/// (editable installs add `editable_project_location`, which changes nothing here).
pub fn parse_pip_list(text: &str, location: &str) -> Result<Vec<LanguagePackage>, String> {
    #[derive(Deserialize)]
    struct Entry {
        name: String,
        version: String,
    }
    let entries: Vec<Entry> =
        serde_json::from_str(text.trim()).map_err(|e| format!("not pip's JSON: {e}"))?;
    Ok(entries
        .into_iter()
        .map(|e| LanguagePackage {
            ecosystem: LanguageEcosystem::PyPI,
            name: e.name,
            version: e.version,
            location: location.to_string(),
        })
        .collect())
}

/// The packages of `npm ls -g --json --depth=0` output and the problems npm lists with it
/// (a missing or invalid package has no usable version and is a note, not a package).
/// `location` is npm's global directory (`npm root -g`).
pub fn parse_npm_ls(
    text: &str,
    location: &str,
) -> Result<(Vec<LanguagePackage>, Vec<String>), String> {
    #[derive(Deserialize)]
    struct Dependency {
        version: Option<String>,
        #[serde(default)]
        missing: bool,
        #[serde(default)]
        invalid: Option<serde_json::Value>,
    }
    #[derive(Deserialize)]
    struct Tree {
        #[serde(default)]
        dependencies: std::collections::BTreeMap<String, Dependency>,
        #[serde(default)]
        problems: Vec<String>,
    }
    let tree: Tree =
        serde_json::from_str(text.trim()).map_err(|e| format!("not npm's JSON: {e}"))?;
    let mut notes: Vec<String> = tree
        .problems
        .into_iter()
        .map(|p| format!("npm: {p}"))
        .collect();
    let mut packages = Vec::new();
    for (name, d) in tree.dependencies {
        match d.version {
            Some(version) if !d.missing && !d.invalid.as_ref().is_some_and(|v| v != false) => {
                packages.push(LanguagePackage {
                    ecosystem: LanguageEcosystem::Npm,
                    name,
                    version,
                    location: location.to_string(),
                })
            }
            _ => notes.push(format!("npm: {name} is missing or invalid, not reported")),
        }
    }
    notes.dedup();
    Ok((packages, notes))
}

/// Collect what `sources` asks for. Returns the packages and a note for each tool that gave
/// nothing usable.
pub fn collect(sources: &LanguageSources) -> (Vec<LanguagePackage>, Vec<String>) {
    let mut packages = Vec::new();
    let mut notes = Vec::new();
    for python in &sources.pip_interpreters {
        let label = python.display().to_string();
        let ran = run(
            python,
            &["-m", "pip", "list", "--format=json"],
            sources.timeout,
        );
        match ran {
            Err(why) => notes.push(format!("pip ({label}): {why}")),
            Ok(r) if r.code != Some(0) => notes.push(format!(
                "pip ({label}): exit {}: {}",
                r.code.map_or_else(|| "by signal".into(), |c| c.to_string()),
                last_line(&r.stderr)
            )),
            Ok(r) => match parse_pip_list(&r.stdout, &label) {
                Ok(found) => packages.extend(found),
                Err(why) => notes.push(format!("pip ({label}): {why}")),
            },
        }
    }
    if let Some(npm) = &sources.npm {
        let label = npm.display().to_string();
        // Where the packages are: `npm root -g` (the tree itself does not say).
        let root = run(npm, &["root", "-g"], sources.timeout)
            .ok()
            .filter(|r| r.code == Some(0))
            .map(|r| r.stdout.trim().to_string())
            .filter(|r| !r.is_empty())
            .unwrap_or_else(|| "npm -g".into());
        match run(npm, &["ls", "-g", "--json", "--depth=0"], sources.timeout) {
            Err(why) => notes.push(format!("npm ({label}): {why}")),
            // npm exits 1 when the tree has problems but still prints the tree: use it.
            Ok(r) => match parse_npm_ls(&r.stdout, &root) {
                Ok((found, problems)) => {
                    packages.extend(found);
                    notes.extend(problems);
                }
                Err(why) => notes.push(format!(
                    "npm ({label}): exit {}: {why} {}",
                    r.code.map_or_else(|| "by signal".into(), |c| c.to_string()),
                    last_line(&r.stderr)
                )),
            },
        }
    }
    packages.sort();
    packages.dedup();
    (packages, notes)
}
