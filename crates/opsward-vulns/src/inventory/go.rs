//! `go.mod` (the selected module versions, `replace` directives applied) and `go.sum` alone
//! (the highest version listed per module, which is what minimal version selection picks when
//! nothing else says).

use std::collections::BTreeMap;

use super::{Package, ParseFailure, Parsed, Skipped};
use crate::version::semver::SemVer;

/// `replace old [version] => new [version]`
type Replace = (String, Option<String>, String, Option<String>, usize);

fn strip_comment(line: &str) -> &str {
    line.split("//").next().unwrap_or(line).trim()
}

fn unquote(s: &str) -> &str {
    s.trim_matches('"').trim_matches('`')
}

pub(crate) fn parse_go_mod(text: &str) -> Result<Parsed, ParseFailure> {
    let mut required: Vec<(String, String, usize)> = vec![];
    let mut replaces: Vec<Replace> = vec![];
    let mut block: Option<String> = None;
    for (index, raw) in text.lines().enumerate() {
        let number = index + 1;
        let line = strip_comment(raw);
        if line.is_empty() {
            continue;
        }
        let (verb, rest) = match &block {
            Some(verb) if line == ")" => {
                let _ = verb;
                block = None;
                continue;
            }
            Some(verb) => (verb.clone(), line),
            None => {
                let (verb, rest) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
                let rest = rest.trim();
                if rest == "(" {
                    block = Some(verb.to_owned());
                    continue;
                }
                (verb.to_owned(), rest)
            }
        };
        match verb.as_str() {
            "require" => {
                let fields: Vec<&str> = rest.split_whitespace().collect();
                let [module, version] = fields[..] else {
                    return Err(ParseFailure::at(
                        number,
                        format!("expected `module version`, found {rest:?}"),
                    ));
                };
                if SemVer::parse(version).is_none() {
                    return Err(ParseFailure::at(
                        number,
                        format!("{version:?} is not a Go module version"),
                    ));
                }
                required.push((unquote(module).to_owned(), version.to_owned(), number));
            }
            "replace" => {
                let Some((old, new)) = rest.split_once("=>") else {
                    return Err(ParseFailure::at(
                        number,
                        format!("a replace needs `=>`: {rest:?}"),
                    ));
                };
                let old: Vec<&str> = old.split_whitespace().collect();
                let new: Vec<&str> = new.split_whitespace().collect();
                if old.is_empty() || new.is_empty() || old.len() > 2 || new.len() > 2 {
                    return Err(ParseFailure::at(
                        number,
                        format!("malformed replace: {rest:?}"),
                    ));
                }
                replaces.push((
                    unquote(old[0]).to_owned(),
                    old.get(1).map(|v| v.to_string()),
                    unquote(new[0]).to_owned(),
                    new.get(1).map(|v| v.to_string()),
                    number,
                ));
            }
            "module" | "go" | "toolchain" | "exclude" | "retract" | "godebug" | "tool"
            | "ignore" => {}
            other => {
                return Err(ParseFailure::at(
                    number,
                    format!("unknown go.mod directive {other:?}"),
                ))
            }
        }
    }
    if block.is_some() {
        return Err(ParseFailure::whole("a `(` block is not closed"));
    }
    let mut parsed = Parsed {
        packages: vec![],
        skipped: vec![],
    };
    for (module, version, _) in required {
        let replacement = replaces.iter().find(|(old, old_version, ..)| {
            *old == module && old_version.as_ref().is_none_or(|v| *v == version)
        });
        match replacement {
            Some((_, _, new, Some(new_version), _)) => {
                parsed.packages.push(Package::new("Go", new, new_version))
            }
            Some((_, _, new, None, _)) => parsed.skipped.push(Skipped {
                name: module.clone(),
                reason: format!("replaced by the local directory {new}"),
            }),
            None => parsed.packages.push(Package::new("Go", &module, &version)),
        }
    }
    Ok(parsed)
}

pub(crate) fn parse_go_sum(text: &str) -> Result<Parsed, ParseFailure> {
    let mut highest: BTreeMap<String, (SemVer, String)> = BTreeMap::new();
    for (index, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let fields: Vec<&str> = line.split_whitespace().collect();
        let [module, version, hash] = fields[..] else {
            return Err(ParseFailure::at(
                index + 1,
                format!("expected `module version hash`, found {line:?}"),
            ));
        };
        if !hash.starts_with("h1:") {
            return Err(ParseFailure::at(
                index + 1,
                format!("{hash:?} is not a go.sum hash"),
            ));
        }
        let version = version.strip_suffix("/go.mod").unwrap_or(version);
        let Some(parsed) = SemVer::parse(version) else {
            return Err(ParseFailure::at(
                index + 1,
                format!("{version:?} is not a Go module version"),
            ));
        };
        let entry = highest
            .entry(module.to_owned())
            .or_insert_with(|| (parsed.clone(), version.to_owned()));
        if parsed > entry.0 {
            *entry = (parsed, version.to_owned());
        }
    }
    let packages = highest
        .into_iter()
        .map(|(module, (_, version))| Package::new("Go", &module, &version))
        .collect();
    Ok(Parsed {
        packages,
        skipped: vec![],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_mod_requires_with_replacements() {
        let text = "module example.com/app\n\ngo 1.22\n\nrequire (\n\tgolang.org/x/net v0.17.0 // indirect\n\tgithub.com/a/b v1.2.3\n\tgithub.com/local/x v0.1.0\n)\n\nrequire golang.org/x/text v0.3.7\n\nreplace github.com/a/b => github.com/fork/b v1.2.4\nreplace github.com/local/x => ../x\n";
        let parsed = parse_go_mod(text).ok().unwrap();
        assert_eq!(
            parsed.packages,
            [
                Package::new("Go", "golang.org/x/net", "v0.17.0"),
                Package::new("Go", "github.com/fork/b", "v1.2.4"),
                Package::new("Go", "golang.org/x/text", "v0.3.7"),
            ]
        );
        assert_eq!(parsed.skipped[0].name, "github.com/local/x");
    }

    #[test]
    fn go_mod_errors_name_the_line() {
        let failure = parse_go_mod("module a\nrequire (\n  golang.org/x/net\n)\n")
            .err()
            .unwrap();
        assert_eq!(failure.line, Some(3));
        let failure = parse_go_mod("module a\nrequire golang.org/x/net latest\n")
            .err()
            .unwrap();
        assert_eq!(failure.line, Some(2));
    }

    #[test]
    fn go_sum_takes_the_highest_version() {
        let text = "golang.org/x/net v0.1.0 h1:aaa=\ngolang.org/x/net v0.1.0/go.mod h1:bbb=\ngolang.org/x/net v0.10.0/go.mod h1:ccc=\n";
        let parsed = parse_go_sum(text).ok().unwrap();
        assert_eq!(
            parsed.packages,
            [Package::new("Go", "golang.org/x/net", "v0.10.0")]
        );
        assert_eq!(parse_go_sum("x v1.0.0\n").err().unwrap().line, Some(1));
    }
}
