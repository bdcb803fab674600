//! OpenAPI component schemas are keyed by name alone: when two crates each derive `ToSchema`
//! for a type of the same name, utoipa keeps one and the other endpoints are documented with
//! the wrong shape (a survey's trend validated against a patch trend). Nothing in the generated
//! document shows the loss, so this test reads the sources and requires every schema name
//! (the type's name, or its `#[schema(as = ...)]`) to be unique across the workspace.

use std::{collections::BTreeMap, fs, path::Path};

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Schema names declared in one source file: `derive(.. ToSchema ..)` items and `text_enum!`
/// enums (the macro derives `ToSchema`).
fn schema_names(source: &str) -> Vec<String> {
    let mut names = Vec::new();
    let lines: Vec<&str> = source.lines().map(str::trim).collect();
    for (i, line) in lines.iter().enumerate() {
        if line.starts_with("#[derive(") && line.contains("ToSchema") {
            let mut alias = None;
            for next in &lines[i + 1..] {
                if let Some(rest) = next.strip_prefix("#[schema(as = ") {
                    alias = rest.split([')', ',']).next().map(str::to_owned);
                } else if let Some(item) = next
                    .strip_prefix("pub struct ")
                    .or_else(|| next.strip_prefix("pub enum "))
                {
                    let name = item
                        .split(|c: char| !c.is_alphanumeric() && c != '_')
                        .next();
                    names.push(alias.take().unwrap_or_else(|| name.unwrap().to_owned()));
                    break;
                } else if !(next.starts_with("#[") || next.starts_with("//") || next.is_empty()) {
                    break;
                }
            }
        }
        if line.starts_with("text_enum! {") {
            let name = lines[i + 1..]
                .iter()
                .find(|l| !l.starts_with("//") && !l.starts_with("#["))
                .and_then(|l| l.split(|c: char| !c.is_alphanumeric() && c != '_').next());
            names.push(name.unwrap().to_owned());
        }
    }
    names
}

#[test]
fn every_openapi_schema_name_is_declared_once() {
    let crates = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut files = Vec::new();
    for krate in fs::read_dir(&crates).unwrap() {
        let src = krate.unwrap().path().join("src");
        if src.is_dir() {
            rust_files(&src, &mut files);
        }
    }
    let mut declared: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for file in &files {
        let source = fs::read_to_string(file).unwrap();
        for name in schema_names(&source) {
            let place = file.strip_prefix(&crates).unwrap().display().to_string();
            declared.entry(name).or_default().push(place);
        }
    }
    assert!(
        declared.len() > 50,
        "the scan found too few schemas: {declared:?}"
    );
    let clashes: Vec<_> = declared
        .iter()
        .filter(|(_, places)| places.len() > 1)
        .collect();
    assert!(
        clashes.is_empty(),
        "schema names declared more than once (give one a #[schema(as = ...)]): {clashes:#?}"
    );
}

#[test]
fn the_scan_sees_derives_aliases_and_text_enums() {
    let source = "#[derive(Debug, ToSchema)]\n/// doc\n#[serde(rename_all = \"snake_case\")]\n\
                  pub struct Plain {\n}\n#[derive(Serialize, ToSchema)]\n#[schema(as = Renamed)]\n\
                  pub enum Original {}\ntext_enum! {\n    /// doc\n    Kind { A => \"a\" }\n}\n\
                  #[derive(Debug)]\npub struct NotASchema;\n";
    assert_eq!(schema_names(source), ["Plain", "Renamed", "Kind"]);
}
