//! Package URLs (<https://github.com/package-url/purl-spec>), the package identity SBOMs carry:
//! `pkg:type/namespace/name@version?qualifiers#subpath`.

use super::Package;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Purl {
    pub kind: String,
    pub namespace: Option<String>,
    pub name: String,
    pub version: Option<String>,
    pub qualifiers: Vec<(String, String)>,
}

fn decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

impl Purl {
    pub fn parse(text: &str) -> Option<Purl> {
        let rest = text.trim().strip_prefix("pkg:")?.trim_start_matches('/');
        let rest = rest.split('#').next()?;
        let (rest, qualifiers) = match rest.split_once('?') {
            Some((rest, q)) => (rest, q),
            None => (rest, ""),
        };
        let qualifiers = qualifiers
            .split('&')
            .filter(|q| !q.is_empty())
            .filter_map(|q| q.split_once('='))
            .filter_map(|(k, v)| Some((k.to_ascii_lowercase(), decode(v)?)))
            .collect();
        let (path, version) = match rest.rsplit_once('@') {
            // An `@` inside the path is an encoded npm scope only when written `%40`.
            Some((path, version)) if !version.contains('/') => (path, Some(decode(version)?)),
            _ => (rest, None),
        };
        let (kind, path) = path.split_once('/')?;
        let (namespace, name) = match path.rsplit_once('/') {
            Some((namespace, name)) => (Some(decode(namespace)?), decode(name)?),
            None => (None, decode(path)?),
        };
        if kind.is_empty() || name.is_empty() {
            return None;
        }
        Some(Purl {
            kind: kind.to_ascii_lowercase(),
            namespace,
            name,
            version,
            qualifiers,
        })
    }

    fn qualifier(&self, key: &str) -> Option<&str> {
        self.qualifiers
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The package in OSV terms, or why it cannot be matched.
    pub fn to_package(&self) -> Result<Package, String> {
        let version = self
            .version
            .clone()
            .ok_or("the package URL has no version")?;
        let joined = |sep: &str| match &self.namespace {
            Some(ns) => format!("{ns}{sep}{}", self.name),
            None => self.name.clone(),
        };
        let (ecosystem, name) = match self.kind.as_str() {
            "cargo" => ("crates.io".to_owned(), self.name.clone()),
            "golang" => ("Go".to_owned(), joined("/")),
            "pypi" => ("PyPI".to_owned(), self.name.clone()),
            "npm" => ("npm".to_owned(), joined("/")),
            "maven" => ("Maven".to_owned(), joined(":")),
            "gem" => ("RubyGems".to_owned(), self.name.clone()),
            "nuget" => ("NuGet".to_owned(), self.name.clone()),
            "composer" => ("Packagist".to_owned(), joined("/")),
            "deb" => {
                let distro = match self.namespace.as_deref() {
                    Some("ubuntu") => "Ubuntu",
                    _ => "Debian",
                };
                // Binary packages match through their source package.
                let name = self
                    .qualifier("upstream")
                    .map(|u| u.split('@').next().unwrap_or(u).to_owned());
                (distro.to_owned(), name.unwrap_or_else(|| self.name.clone()))
            }
            "apk" => ("Alpine".to_owned(), self.name.clone()),
            other => {
                return Err(format!(
                    "package URL type {other:?} has no OSV ecosystem here"
                ))
            }
        };
        Ok(Package {
            ecosystem,
            name,
            version,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn package_urls_map_to_osv_packages() {
        let p = |s: &str| Purl::parse(s).unwrap().to_package().unwrap();
        assert_eq!(
            p("pkg:cargo/smallvec@0.6.9"),
            Package::new("crates.io", "smallvec", "0.6.9")
        );
        assert_eq!(
            p("pkg:golang/golang.org/x/net@v0.17.0"),
            Package::new("Go", "golang.org/x/net", "v0.17.0")
        );
        assert_eq!(
            p("pkg:npm/%40babel/core@7.0.0"),
            Package::new("npm", "@babel/core", "7.0.0")
        );
        assert_eq!(
            p("pkg:pypi/django@3.2.1"),
            Package::new("PyPI", "django", "3.2.1")
        );
        assert_eq!(
            p("pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1?type=jar"),
            Package::new("Maven", "org.apache.logging.log4j:log4j-core", "2.14.1")
        );
        assert_eq!(
            p("pkg:deb/debian/libssl3@3.0.11-1~deb12u2?arch=amd64&upstream=openssl"),
            Package::new("Debian", "openssl", "3.0.11-1~deb12u2")
        );
        assert!(Purl::parse("pkg:cargo/serde")
            .unwrap()
            .to_package()
            .is_err());
        assert!(Purl::parse("not a purl").is_none());
    }
}
