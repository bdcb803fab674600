//! Pure helpers for text that comes from outside and goes somewhere it could do harm: a
//! redirect target that ends up in a `Location` header, a cell that a spreadsheet might run
//! as a formula, a value written into a line-oriented log.

/// Longest redirect target accepted; a sign-in `next` is a page of this site, never a blob.
pub const MAX_REDIRECT_CHARS: usize = 2048;

/// `target` if it is a same-origin path, else `/`.
///
/// Accepted: a relative reference that starts with exactly one `/` (not `//`, which a
/// browser reads as another host), and is made only of printable ASCII other than `\`
/// (browsers treat `\` as `/`, and strip tabs and newlines before resolving, which is how
/// `/\t/evil.example` became `//evil.example`). Everything else, including anything that
/// cannot be a header value, goes to the home page.
pub fn safe_redirect_target(target: &str) -> &str {
    if is_safe_redirect_target(target) {
        target
    } else {
        "/"
    }
}

pub fn is_safe_redirect_target(target: &str) -> bool {
    let bytes = target.as_bytes();
    bytes.first() == Some(&b'/')
        && !matches!(bytes.get(1), Some(b'/' | b'\\'))
        && bytes.len() <= MAX_REDIRECT_CHARS
        && bytes
            .iter()
            .all(|b| (0x21..=0x7e).contains(b) && *b != b'\\')
}

/// A CSV cell that a spreadsheet will show as text: a value starting with `=`, `+`, `-`,
/// `@`, a tab or a carriage return gets a leading `'` (OWASP's advice against CSV
/// injection: `=HYPERLINK(...)` would otherwise run as a formula when the export is opened).
///
/// A plain number (`-10`, `+3.5`, `-1e-3`) is left as it is: a spreadsheet reads it as the
/// number it is, never as a formula, and a negative count or days-left column stays a number.
///
/// A value that itself starts with `'` and then a formula prefix or another `'` gets one
/// too, so that [`restore_csv_cell`] gives back exactly what was written.
pub fn neutralize_csv_cell(cell: &str) -> std::borrow::Cow<'_, str> {
    if is_plain_number(cell) {
        return cell.into();
    }
    match cell.as_bytes() {
        [b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r', ..]
        | [b'\'', b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r' | b'\'', ..] => {
            format!("'{cell}").into()
        }
        _ => cell.into(),
    }
}

/// An optional sign, digits, an optional fraction and an optional exponent, nothing else.
fn is_plain_number(cell: &str) -> bool {
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let unsigned = cell.strip_prefix(['+', '-']).unwrap_or(cell);
    let (mantissa, exponent) = match unsigned.split_once(['e', 'E']) {
        Some((m, e)) => (m, Some(e.strip_prefix(['+', '-']).unwrap_or(e))),
        None => (unsigned, None),
    };
    let mantissa_ok = match mantissa.split_once('.') {
        Some((whole, fraction)) => digits(whole) && digits(fraction),
        None => digits(mantissa),
    };
    mantissa_ok && exponent.is_none_or(digits)
}

/// The text of a cell that [`neutralize_csv_cell`] wrote, for importers of opsward's own
/// formats: an export edited and imported again keeps its values.
pub fn restore_csv_cell(cell: &str) -> &str {
    match cell.as_bytes() {
        [b'\'', b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r' | b'\'', ..] => &cell[1..],
        _ => cell,
    }
}

/// A `csv::Writer` wrapper that neutralises every cell it writes; every CSV opsward hands
/// out goes through it.
pub struct SafeCsvWriter<W: std::io::Write>(csv::Writer<W>);

impl<W: std::io::Write> SafeCsvWriter<W> {
    pub fn from_writer(writer: W) -> Self {
        SafeCsvWriter(csv::Writer::from_writer(writer))
    }

    pub fn write_record<I, T>(&mut self, record: I) -> csv::Result<()>
    where
        I: IntoIterator<Item = T>,
        T: AsRef<str>,
    {
        self.0.write_record(
            record
                .into_iter()
                .map(|cell| neutralize_csv_cell(cell.as_ref()).into_owned()),
        )
    }

    pub fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()
    }

    pub fn into_inner(self) -> std::io::Result<W> {
        self.0.into_inner().map_err(|e| e.into_error())
    }
}

/// `text` with every control character (newline, carriage return, ESC, DEL, C1 controls)
/// shown as an escape (`\n`, `\u{1b}`), so a value cannot start a forged log line or send
/// terminal escape sequences to whoever reads the log.
pub fn escape_control(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.chars().any(char::is_control) {
        return text.into();
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out.into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn redirect_targets_that_leave_the_site_go_home() {
        for bad in [
            "/\t/evil.example",
            "/\n/x",
            "/x\ny",
            "/x\r\nSet-Cookie: a=b",
            "//evil.example",
            "/\\evil.example",
            "/a\\b",
            "https://evil.example/",
            "evil.example",
            "",
            "/caf\u{e9}",
            "/a b",
            "/\u{7f}",
        ] {
            assert_eq!(safe_redirect_target(bad), "/", "{bad:?}");
        }
        for good in [
            "/",
            "/assets",
            "/assets?q=web&page=2#top",
            "/%09/x",
            "/a/./b",
        ] {
            assert_eq!(safe_redirect_target(good), good);
        }
        assert_eq!(
            safe_redirect_target(&format!("/{}", "a".repeat(MAX_REDIRECT_CHARS))),
            "/"
        );
    }

    #[test]
    fn formula_prefixes_are_neutralised() {
        assert_eq!(
            neutralize_csv_cell("=HYPERLINK(\"http://x\")"),
            "'=HYPERLINK(\"http://x\")"
        );
        for cell in [
            "+1+1", "-2+A1", "-", "+", "-1,5", "-1e", "@SUM(A1)", "\tx", "\rx",
        ] {
            assert_eq!(neutralize_csv_cell(cell), format!("'{cell}"));
        }
        // Plain numbers are numbers to a spreadsheet, not formulas.
        for cell in ["-10", "+1", "-2.5", "-1e-3", "+4E5"] {
            assert_eq!(neutralize_csv_cell(cell), cell);
        }
        for cell in ["", "web-01", "a=b", "'quoted", "'"] {
            assert_eq!(neutralize_csv_cell(cell), cell);
            assert_eq!(restore_csv_cell(&neutralize_csv_cell(cell)), cell);
        }
        for cell in ["'=x", "''y"] {
            assert_eq!(neutralize_csv_cell(cell), format!("'{cell}"));
            assert_eq!(restore_csv_cell(&neutralize_csv_cell(cell)), cell);
        }
        let mut out = SafeCsvWriter::from_writer(Vec::new());
        out.write_record(["=1+1", "ok"]).unwrap();
        let text = String::from_utf8(out.into_inner().unwrap()).unwrap();
        assert_eq!(text, "'=1+1,ok\n");
    }

    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(escape_control("alice"), "alice");
        assert_eq!(
            escape_control("x\n2026-01-01 INFO forged\u{1b}[31m"),
            "x\\n2026-01-01 INFO forged\\u{1b}[31m"
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        /// Whatever comes in, what goes out is a same-origin path that a header can carry
        /// and a browser cannot read as another host.
        #[test]
        fn fuzz_redirect_target(target in "(/|//|\\\\|\\PC|[\\t\\n\\r\\x00-\\x1f]){0,24}") {
            let out = safe_redirect_target(&target);
            prop_assert!(out.starts_with('/') && !out.starts_with("//"));
            prop_assert!(out.bytes().all(|b| (0x21..=0x7e).contains(&b) && b != b'\\'));
            prop_assert!(out == "/" || out == target);
        }

        #[test]
        fn fuzz_escape_control_leaves_one_line(text in "\\PC*|[\\n\\r\\x1b\\x00-\\x1f\\x7f-\\u{9f}a]{0,40}") {
            let out = escape_control(&text);
            prop_assert!(!out.chars().any(char::is_control));
        }

        /// A neutralised cell still round-trips through the CSV reader as the same text
        /// (with its `'`), and never starts with a formula prefix.
        #[test]
        fn fuzz_neutralised_cells_round_trip(cells in proptest::collection::vec("\\PC{0,12}|['=+@\\-\\t\\r,\"\\n]{0,6}", 1..6)) {
            let mut out = SafeCsvWriter::from_writer(Vec::new());
            out.write_record(&cells).unwrap();
            let bytes = out.into_inner().unwrap();
            let mut reader = csv::ReaderBuilder::new().has_headers(false).from_reader(bytes.as_slice());
            let record = reader.records().next().unwrap().unwrap();
            prop_assert_eq!(record.len(), cells.len());
            for (got, want) in record.iter().zip(&cells) {
                let expected = neutralize_csv_cell(want);
                prop_assert_eq!(got, expected.as_ref());
                prop_assert_eq!(restore_csv_cell(got), want.as_str());
                prop_assert!(is_plain_number(got) || !matches!(got.as_bytes().first(), Some(b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r')));
            }
        }
    }
}
