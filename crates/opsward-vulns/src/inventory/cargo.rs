//! `Cargo.lock` (all lockfile versions): the crates.io packages in it. Path and git
//! dependencies and other registries are listed as skipped, as cargo-audit ignores them too:
//! crates.io advisories do not describe them.

use serde::Deserialize;

use super::{Package, ParseFailure, Parsed, Skipped};

const CRATES_IO_GIT: &str = "registry+https://github.com/rust-lang/crates.io-index";
const CRATES_IO_SPARSE: &str = "sparse+https://index.crates.io/";

#[derive(Deserialize)]
struct Lockfile {
    #[serde(default)]
    package: Vec<LockedPackage>,
}

#[derive(Deserialize)]
struct LockedPackage {
    name: String,
    version: String,
    #[serde(default)]
    source: Option<String>,
}

pub(crate) fn parse_cargo_lock(text: &str) -> Result<Parsed, ParseFailure> {
    let lockfile: Lockfile = toml::from_str(text).map_err(|e| ParseFailure::toml(text, e))?;
    let mut parsed = Parsed {
        packages: vec![],
        skipped: vec![],
    };
    for package in lockfile.package {
        match package.source.as_deref() {
            Some(CRATES_IO_GIT | CRATES_IO_SPARSE) => {
                parsed
                    .packages
                    .push(Package::new("crates.io", &package.name, &package.version))
            }
            None => parsed.skipped.push(Skipped {
                name: package.name,
                reason: "local (path) package, not from crates.io".into(),
            }),
            Some(other) => parsed.skipped.push(Skipped {
                name: package.name,
                reason: format!(
                    "not from crates.io: {}",
                    other.split('#').next().unwrap_or(other)
                ),
            }),
        }
    }
    Ok(parsed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crates_io_packages_are_kept_and_others_skipped() {
        let lock = r#"
version = 4

[[package]]
name = "app"
version = "0.1.0"
dependencies = ["smallvec"]

[[package]]
name = "smallvec"
version = "0.6.9"
source = "registry+https://github.com/rust-lang/crates.io-index"
checksum = "c4488ae950c49d403731982257768f48fada354a5203fe81f9bb6f43ca9002be"

[[package]]
name = "time"
version = "0.1.45"
source = "sparse+https://index.crates.io/"

[[package]]
name = "forked"
version = "1.0.0"
source = "git+https://example.invalid/forked.git#abcdef"
"#;
        let parsed = parse_cargo_lock(lock).ok().unwrap();
        assert_eq!(
            parsed.packages,
            [
                Package::new("crates.io", "smallvec", "0.6.9"),
                Package::new("crates.io", "time", "0.1.45")
            ]
        );
        assert_eq!(parsed.skipped.len(), 2);
        assert!(parsed.skipped[1]
            .reason
            .contains("git+https://example.invalid/forked.git"));
    }

    #[test]
    fn malformed_lockfiles_name_the_line() {
        let failure = parse_cargo_lock("[[package]]\nname = \"a\"\nversion = \n")
            .err()
            .unwrap();
        assert_eq!(failure.line, Some(3), "{}", failure.reason);
        let failure = parse_cargo_lock("[[package]]\nname = \"a\"\n")
            .err()
            .unwrap();
        assert!(failure.reason.contains("version"), "{}", failure.reason);
    }
}
