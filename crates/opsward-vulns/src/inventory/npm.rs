//! `package-lock.json` / `npm-shrinkwrap.json`: lockfile v2 and v3 list every installed
//! package under `packages` by its `node_modules/...` path; v1 nests `dependencies`.

use serde_json::Value;

use super::{Package, ParseFailure, Parsed, Skipped};

pub(crate) fn parse_package_lock(text: &str) -> Result<Parsed, ParseFailure> {
    let lock: Value = serde_json::from_str(text).map_err(ParseFailure::json)?;
    let mut parsed = Parsed {
        packages: vec![],
        skipped: vec![],
    };
    if let Some(packages) = lock.get("packages").and_then(Value::as_object) {
        for (path, entry) in packages {
            if path.is_empty() {
                continue; // the project itself
            }
            let Some(at) = path.rfind("node_modules/") else {
                parsed.skipped.push(Skipped {
                    name: path.clone(),
                    reason: "workspace package, not installed from npm".into(),
                });
                continue;
            };
            let name = entry
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or(&path[at + "node_modules/".len()..]);
            if entry.get("link").and_then(Value::as_bool) == Some(true) {
                parsed.skipped.push(Skipped {
                    name: name.to_owned(),
                    reason: "link to a local package".into(),
                });
                continue;
            }
            match entry.get("version").and_then(Value::as_str) {
                Some(version) => parsed.packages.push(Package::new("npm", name, version)),
                None => parsed.skipped.push(Skipped {
                    name: name.to_owned(),
                    reason: "no version".into(),
                }),
            }
        }
    } else if let Some(dependencies) = lock.get("dependencies").and_then(Value::as_object) {
        collect_v1(dependencies, &mut parsed);
    } else {
        return Err(ParseFailure::whole(
            "neither `packages` (lockfile v2/v3) nor `dependencies` (v1)",
        ));
    }
    parsed.packages.sort();
    parsed.packages.dedup();
    Ok(parsed)
}

fn collect_v1(dependencies: &serde_json::Map<String, Value>, parsed: &mut Parsed) {
    for (name, entry) in dependencies {
        match entry.get("version").and_then(Value::as_str) {
            Some(version) if version.starts_with("file:") || version.contains("://") => {
                parsed.skipped.push(Skipped {
                    name: name.clone(),
                    reason: format!("not from the registry: {version}"),
                })
            }
            // An alias (`"npm:real-name@1.0.0"`) installs another package.
            Some(version) if version.starts_with("npm:") => match version[4..].rsplit_once('@') {
                Some((real, version)) => parsed.packages.push(Package::new("npm", real, version)),
                None => parsed.skipped.push(Skipped {
                    name: name.clone(),
                    reason: format!("alias {version}"),
                }),
            },
            Some(version) => parsed.packages.push(Package::new("npm", name, version)),
            None => parsed.skipped.push(Skipped {
                name: name.clone(),
                reason: "no version".into(),
            }),
        }
        if let Some(nested) = entry.get("dependencies").and_then(Value::as_object) {
            collect_v1(nested, parsed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lockfile_v3_packages() {
        let text = r#"{"name":"app","lockfileVersion":3,"packages":{
            "":{"name":"app","version":"1.0.0"},
            "node_modules/lodash":{"version":"4.17.20"},
            "node_modules/@babel/core":{"version":"7.0.0"},
            "node_modules/a/node_modules/lodash":{"version":"3.10.1"},
            "node_modules/mine":{"resolved":"../mine","link":true},
            "packages/mine":{"version":"0.0.1"}}}"#;
        let parsed = parse_package_lock(text).ok().unwrap();
        assert_eq!(
            parsed.packages,
            [
                Package::new("npm", "@babel/core", "7.0.0"),
                Package::new("npm", "lodash", "3.10.1"),
                Package::new("npm", "lodash", "4.17.20"),
            ]
        );
        assert_eq!(parsed.skipped.len(), 2);
    }

    #[test]
    fn lockfile_v1_nested_dependencies() {
        let text = r#"{"lockfileVersion":1,"dependencies":{
            "express":{"version":"4.16.0","dependencies":{"qs":{"version":"6.5.1"}}},
            "old":{"version":"npm:left-pad@1.1.0"},
            "local":{"version":"file:../local"}}}"#;
        let parsed = parse_package_lock(text).ok().unwrap();
        assert_eq!(
            parsed.packages,
            [
                Package::new("npm", "express", "4.16.0"),
                Package::new("npm", "left-pad", "1.1.0"),
                Package::new("npm", "qs", "6.5.1"),
            ]
        );
    }

    #[test]
    fn malformed_json_names_the_line() {
        let failure =
            parse_package_lock("{\n\"packages\": {\n\"node_modules/a\": {\"version\": 1.0.0}\n}}")
                .err()
                .unwrap();
        assert_eq!(failure.line, Some(3));
    }
}
