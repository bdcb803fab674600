//! Alpine's apk database (`/lib/apk/db/installed`).
//!
//! One paragraph per package, each line a one-letter key, a colon and the value: `P:` name,
//! `V:` version, `A:` architecture, `o:` origin (the source package, the aport it was built
//! from). File lists (`F:`, `R:`, `Z:`...) follow in the same paragraph and are ignored.

use crate::{InstalledPackage, InventoryError};
use std::path::Path;

pub const INSTALLED_DB: &str = "/lib/apk/db/installed";

pub fn read_installed(path: &Path) -> Result<Vec<InstalledPackage>, InventoryError> {
    let text = std::fs::read_to_string(path).map_err(|e| InventoryError::read(path, e))?;
    parse_installed(&text).map_err(|m| InventoryError::format(path.display(), m))
}

pub fn parse_installed(text: &str) -> Result<Vec<InstalledPackage>, String> {
    let mut out = Vec::new();
    let (mut name, mut version, mut arch, mut origin) = (None, None, None, None);
    let mut finish = |name: &mut Option<String>,
                      version: &mut Option<String>,
                      arch: &mut Option<String>,
                      origin: &mut Option<String>,
                      line: usize|
     -> Result<(), String> {
        let Some(n) = name.take() else {
            if version.is_some() {
                return Err(format!("line {line}: a package without P:"));
            }
            return Ok(());
        };
        let v = version
            .take()
            .ok_or_else(|| format!("line {line}: package {n} has no V:"))?;
        let source = origin.take().unwrap_or_else(|| n.clone());
        out.push(InstalledPackage {
            arch: arch.take().unwrap_or_else(|| "noarch".into()),
            source_version: v.clone(),
            source,
            name: n,
            version: v,
        });
        Ok(())
    };
    let mut last = 0;
    for (n, line) in text.lines().enumerate() {
        last = n + 1;
        if line.trim().is_empty() {
            finish(&mut name, &mut version, &mut arch, &mut origin, n + 1)?;
            continue;
        }
        let Some((key, value)) = line.split_once(':') else {
            return Err(format!("line {}: expected \"K:value\"", n + 1));
        };
        let value = Some(value.to_string());
        match key {
            "P" => name = value,
            "V" => version = value,
            "A" => arch = value,
            "o" => origin = value,
            _ => {}
        }
    }
    finish(&mut name, &mut version, &mut arch, &mut origin, last)?;
    Ok(out)
}
