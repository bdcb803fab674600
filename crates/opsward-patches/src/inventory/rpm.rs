//! RPM databases, read through `rpm -qa` (the database format differs by release: Berkeley
//! DB, NDB, SQLite; rpm itself reads all of them).

use crate::{InstalledPackage, InventoryError};

/// The `--queryformat` the agent runs `rpm -qa` with: one tab-separated line per package.
/// `%{EPOCH}` prints `(none)` when there is no epoch; `%{SOURCERPM}` is the file name of the
/// source package (`openssl-3.0.7-27.el9.src.rpm`).
pub const QUERY_FORMAT: &str =
    "%{NAME}\\t%{EPOCH}\\t%{VERSION}\\t%{RELEASE}\\t%{ARCH}\\t%{SOURCERPM}\\n";

/// The packages of `rpm -qa --queryformat QUERY_FORMAT` output. `gpg-pubkey` entries are
/// signing keys rpm keeps in its database, not software, and are left out.
pub fn parse_query_output(text: &str) -> Result<Vec<InstalledPackage>, InventoryError> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let f: Vec<&str> = line.split('\t').collect();
        let [name, epoch, version, release, arch, source_rpm] = f[..] else {
            return Err(InventoryError::format(
                "rpm -qa",
                format!(
                    "line {}: expected 6 tab-separated fields, got {}",
                    n + 1,
                    f.len()
                ),
            ));
        };
        if name == "gpg-pubkey" {
            continue;
        }
        let evr = match epoch {
            "(none)" | "" => format!("{version}-{release}"),
            e => format!("{e}:{version}-{release}"),
        };
        let (source, source_version) = source_of(source_rpm)
            .unwrap_or_else(|| (name.to_string(), format!("{version}-{release}")));
        out.push(InstalledPackage {
            name: name.to_string(),
            version: evr,
            arch: arch.to_string(),
            source,
            source_version,
        });
    }
    Ok(out)
}

/// `(name, version-release)` of a source RPM file name: `openssl-3.0.7-27.el9.src.rpm` gives
/// `("openssl", "3.0.7-27.el9")`. Names may contain dashes; version and release may not.
pub fn source_of(source_rpm: &str) -> Option<(String, String)> {
    let stem = source_rpm
        .strip_suffix(".src.rpm")
        .or_else(|| source_rpm.strip_suffix(".nosrc.rpm"))?;
    let (rest, release) = stem.rsplit_once('-')?;
    let (name, version) = rest.rsplit_once('-')?;
    Some((name.to_string(), format!("{version}-{release}")))
}

/// Run `rpm -qa` on this host. `None` when rpm is not installed.
pub fn query_installed() -> Option<Result<Vec<InstalledPackage>, InventoryError>> {
    let output = match std::process::Command::new("rpm")
        .args(["-qa", "--queryformat", QUERY_FORMAT])
        .output()
    {
        Ok(o) => o,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
        Err(e) => return Some(Err(InventoryError::read("rpm".as_ref(), e))),
    };
    if !output.status.success() {
        return Some(Err(InventoryError::format(
            "rpm -qa",
            String::from_utf8_lossy(&output.stderr).trim().to_string(),
        )));
    }
    Some(parse_query_output(&String::from_utf8_lossy(&output.stdout)))
}
