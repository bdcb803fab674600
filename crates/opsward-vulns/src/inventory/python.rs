//! Python: pinned `requirements.txt` (`name==version`, as `pip freeze` and pip-compile write)
//! and `poetry.lock`. Names are kept as written; matching normalises them (PEP 503).

use serde::Deserialize;

use super::{Package, ParseFailure, Parsed, Skipped};
use crate::version::pep440::Pep440Version;

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
}

pub(crate) fn parse_requirements(text: &str) -> Result<Parsed, ParseFailure> {
    let mut parsed = Parsed {
        packages: vec![],
        skipped: vec![],
    };
    let mut continued = false;
    for (index, raw) in text.lines().enumerate() {
        let number = index + 1;
        let was_continued = continued;
        continued = raw.trim_end().ends_with('\\');
        // Continuation lines carry options such as `--hash=...` for the line before.
        if was_continued {
            continue;
        }
        let line = raw.trim_end().trim_end_matches('\\');
        let line = match line
            .find(" #")
            .or_else(|| line.starts_with('#').then_some(0))
        {
            Some(at) => &line[..at],
            None => line,
        };
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        if line.starts_with('-') {
            // Options (`-r other.txt`, `-e path`, `--index-url`) name no pinned package.
            parsed.skipped.push(Skipped {
                name: line.to_owned(),
                reason: "pip option, not a pinned requirement".into(),
            });
            continue;
        }
        if line.contains("://") || line.starts_with('.') || line.starts_with('/') {
            parsed.skipped.push(Skipped {
                name: line.to_owned(),
                reason: "URL or path requirement".into(),
            });
            continue;
        }
        // Environment markers do not change what is pinned.
        let requirement = line.split(';').next().unwrap_or(line).trim();
        let Some(at) = requirement.find(['=', '<', '>', '!', '~', '[', ' ', '@']) else {
            if !valid_name(requirement) {
                return Err(ParseFailure::at(
                    number,
                    format!("not a requirement: {line:?}"),
                ));
            }
            parsed.skipped.push(Skipped {
                name: requirement.to_owned(),
                reason: "no version pinned".into(),
            });
            continue;
        };
        let name = requirement[..at].trim();
        if !valid_name(name) {
            return Err(ParseFailure::at(
                number,
                format!("not a valid package name in {line:?}"),
            ));
        }
        let mut rest = requirement[at..].trim();
        if rest.starts_with('[') {
            let Some(end) = rest.find(']') else {
                return Err(ParseFailure::at(
                    number,
                    format!("unclosed extras in {line:?}"),
                ));
            };
            rest = rest[end + 1..].trim();
        }
        let pinned = rest.strip_prefix("===").or_else(|| rest.strip_prefix("=="));
        match pinned {
            Some(version) if !version.contains([',', '*']) => {
                let version = version.trim();
                if Pep440Version::parse(version).is_none() {
                    return Err(ParseFailure::at(
                        number,
                        format!("{version:?} is not a PEP 440 version"),
                    ));
                }
                parsed.packages.push(Package::new("PyPI", name, version));
            }
            _ => parsed.skipped.push(Skipped {
                name: name.to_owned(),
                reason: format!("not pinned to one version: {rest:?}"),
            }),
        }
    }
    Ok(parsed)
}

#[derive(Deserialize)]
struct PoetryLock {
    #[serde(default)]
    package: Vec<PoetryPackage>,
}

#[derive(Deserialize)]
struct PoetryPackage {
    name: String,
    version: String,
    #[serde(default)]
    source: Option<PoetrySource>,
}

#[derive(Deserialize)]
struct PoetrySource {
    #[serde(rename = "type", default)]
    kind: Option<String>,
}

pub(crate) fn parse_poetry_lock(text: &str) -> Result<Parsed, ParseFailure> {
    let lock: PoetryLock = toml::from_str(text).map_err(|e| ParseFailure::toml(text, e))?;
    let mut parsed = Parsed {
        packages: vec![],
        skipped: vec![],
    };
    for package in lock.package {
        match package.source.and_then(|s| s.kind) {
            Some(kind) if matches!(kind.as_str(), "git" | "directory" | "file" | "url") => {
                parsed.skipped.push(Skipped {
                    name: package.name,
                    reason: format!("{kind} source, not PyPI"),
                })
            }
            _ => parsed
                .packages
                .push(Package::new("PyPI", &package.name, &package.version)),
        }
    }
    Ok(parsed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requirements_keep_pinned_lines() {
        let text = "# comment\n-r base.txt\nDjango==3.2.1  # pinned\nrequests[socks]==2.25.0 ; python_version >= \"3.6\"\nflask>=2.0\nurllib3===1.26.4 \\\n    --hash=sha256:abc\nnumpy\n";
        let parsed = parse_requirements(text).ok().unwrap();
        assert_eq!(
            parsed.packages,
            [
                Package::new("PyPI", "Django", "3.2.1"),
                Package::new("PyPI", "requests", "2.25.0"),
                Package::new("PyPI", "urllib3", "1.26.4"),
            ]
        );
        let skipped: Vec<&str> = parsed.skipped.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(skipped, ["-r base.txt", "flask", "numpy"]);
    }

    #[test]
    fn requirement_errors_name_the_line() {
        assert_eq!(
            parse_requirements("django==3.2\n==1.0\n")
                .err()
                .unwrap()
                .line,
            Some(2)
        );
        assert_eq!(
            parse_requirements("a==1.0\nb==\n").err().unwrap().line,
            Some(2)
        );
        assert_eq!(
            parse_requirements("a==one.two\n").err().unwrap().line,
            Some(1)
        );
    }

    #[test]
    fn poetry_lock_packages() {
        let text = "[[package]]\nname = \"jinja2\"\nversion = \"2.10\"\n\n[[package]]\nname = \"mine\"\nversion = \"0.1.0\"\n[package.source]\ntype = \"git\"\nurl = \"https://example.invalid/mine.git\"\n\n[metadata]\nlock-version = \"2.0\"\n";
        let parsed = parse_poetry_lock(text).ok().unwrap();
        assert_eq!(parsed.packages, [Package::new("PyPI", "jinja2", "2.10")]);
        assert_eq!(parsed.skipped[0].name, "mine");
        assert_eq!(
            parse_poetry_lock("[[package]]\nname = 3\n")
                .err()
                .unwrap()
                .line,
            Some(2)
        );
    }
}
