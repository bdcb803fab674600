//! SBOMs: CycloneDX JSON (`components`, nested) and SPDX JSON (`packages[].externalRefs` of
//! type `purl`). Packages are identified by their package URL.

use serde_json::Value;

use super::{ParseFailure, Parsed, Purl, Skipped};

fn add_purl(parsed: &mut Parsed, name: &str, purl: Option<&str>) {
    match purl {
        None => parsed.skipped.push(Skipped {
            name: name.to_owned(),
            reason: "no package URL".into(),
        }),
        Some(text) => match Purl::parse(text)
            .ok_or_else(|| format!("malformed package URL {text:?}"))
            .and_then(|p| p.to_package())
        {
            Ok(package) => parsed.packages.push(package),
            Err(reason) => parsed.skipped.push(Skipped {
                name: name.to_owned(),
                reason,
            }),
        },
    }
}

fn components(list: &[Value], parsed: &mut Parsed) {
    for component in list {
        let name = component.get("name").and_then(Value::as_str).unwrap_or("?");
        add_purl(parsed, name, component.get("purl").and_then(Value::as_str));
        if let Some(nested) = component.get("components").and_then(Value::as_array) {
            components(nested, parsed);
        }
    }
}

pub(crate) fn parse_cyclonedx(text: &str) -> Result<Parsed, ParseFailure> {
    let bom: Value = serde_json::from_str(text).map_err(ParseFailure::json)?;
    if bom.get("bomFormat").and_then(Value::as_str) != Some("CycloneDX") {
        return Err(ParseFailure::whole("`bomFormat` is not \"CycloneDX\""));
    }
    let mut parsed = Parsed {
        packages: vec![],
        skipped: vec![],
    };
    if let Some(list) = bom.get("components").and_then(Value::as_array) {
        components(list, &mut parsed);
    }
    parsed.packages.sort();
    parsed.packages.dedup();
    Ok(parsed)
}

pub(crate) fn parse_spdx(text: &str) -> Result<Parsed, ParseFailure> {
    let document: Value = serde_json::from_str(text).map_err(ParseFailure::json)?;
    if document
        .get("spdxVersion")
        .and_then(Value::as_str)
        .is_none()
    {
        return Err(ParseFailure::whole(
            "no `spdxVersion`: not an SPDX document",
        ));
    }
    let mut parsed = Parsed {
        packages: vec![],
        skipped: vec![],
    };
    for package in document
        .get("packages")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let name = package.get("name").and_then(Value::as_str).unwrap_or("?");
        let purl = package
            .get("externalRefs")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .find(|r| r.get("referenceType").and_then(Value::as_str) == Some("purl"))
            .and_then(|r| r.get("referenceLocator").and_then(Value::as_str));
        add_purl(&mut parsed, name, purl);
    }
    parsed.packages.sort();
    parsed.packages.dedup();
    Ok(parsed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inventory::Package;

    #[test]
    fn cyclonedx_components_nest() {
        let text = r#"{"bomFormat":"CycloneDX","specVersion":"1.5","components":[
            {"type":"library","name":"smallvec","version":"0.6.9","purl":"pkg:cargo/smallvec@0.6.9",
             "components":[{"name":"jinja2","purl":"pkg:pypi/jinja2@2.10"}]},
            {"type":"application","name":"app"}]}"#;
        let parsed = parse_cyclonedx(text).ok().unwrap();
        assert_eq!(
            parsed.packages,
            [
                Package::new("PyPI", "jinja2", "2.10"),
                Package::new("crates.io", "smallvec", "0.6.9")
            ]
        );
        assert_eq!(parsed.skipped[0].name, "app");
    }

    #[test]
    fn spdx_packages_by_purl() {
        let text = r#"{"spdxVersion":"SPDX-2.3","packages":[
            {"name":"net","externalRefs":[{"referenceCategory":"PACKAGE-MANAGER","referenceType":"purl","referenceLocator":"pkg:golang/golang.org/x/net@v0.7.0"}]},
            {"name":"nothing"}]}"#;
        let parsed = parse_spdx(text).ok().unwrap();
        assert_eq!(
            parsed.packages,
            [Package::new("Go", "golang.org/x/net", "v0.7.0")]
        );
        assert!(parse_spdx("{\"packages\": []}").is_err());
        assert_eq!(
            parse_spdx("{\n\"spdxVersion\": }").err().unwrap().line,
            Some(2)
        );
    }
}
