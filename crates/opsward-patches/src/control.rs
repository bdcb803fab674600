//! Debian control-file paragraphs (deb822): the format of `/var/lib/dpkg/status`, apt's
//! `Packages` and `Release` files, and, near enough, apk's `installed` database.
//!
//! A paragraph is a run of `Field: value` lines; a line starting with a space or tab continues
//! the previous field; blank lines separate paragraphs. Field names compare without case.

/// One paragraph's fields in file order; values keep continuation lines joined by `\n`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Paragraph {
    fields: Vec<(String, String)>,
}

impl Paragraph {
    /// The value of `name` (case-insensitive), without surrounding whitespace.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }
}

/// Every paragraph of `text`. Comment lines (`#`) are skipped; a line that is neither a field
/// nor a continuation is an error naming its line number.
pub fn paragraphs(text: &str) -> Result<Vec<Paragraph>, String> {
    let mut out = Vec::new();
    let mut current = Paragraph::default();
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            if !current.is_empty() {
                out.push(std::mem::take(&mut current));
            }
            continue;
        }
        if line.starts_with('#') {
            continue;
        }
        if line.starts_with([' ', '\t']) {
            let Some((_, value)) = current.fields.last_mut() else {
                return Err(format!("line {}: continuation before any field", n + 1));
            };
            value.push('\n');
            value.push_str(line.trim());
            continue;
        }
        let Some((name, value)) = line.split_once(':') else {
            return Err(format!("line {}: expected \"Field: value\"", n + 1));
        };
        current
            .fields
            .push((name.trim().to_string(), value.trim().to_string()));
    }
    if !current.is_empty() {
        out.push(current);
    }
    Ok(out)
}

/// The signed text inside an OpenPGP clear-signed message (`InRelease`), or `text` itself
/// when it is not signed. Dash-escaped lines (`- `) are unescaped as RFC 4880 says.
pub fn clearsigned_body(text: &str) -> &str {
    const BEGIN: &str = "-----BEGIN PGP SIGNED MESSAGE-----";
    if !text.trim_start().starts_with(BEGIN) {
        return text;
    }
    // Armor headers ("Hash: SHA512") end at the first empty line.
    let Some(start) = text.find("\n\n").or_else(|| text.find("\r\n\r\n")) else {
        return text;
    };
    let body = &text[start..];
    match body.find("\n-----BEGIN PGP SIGNATURE-----") {
        Some(end) => &body[..end],
        None => body,
    }
}
