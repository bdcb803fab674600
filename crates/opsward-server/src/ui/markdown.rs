//! Markdown for item descriptions and comments, rendered to HTML that is safe to put on a
//! page: pulldown-cmark turns the text into HTML (raw HTML in the text included), then
//! ammonia keeps only an allow-list of tags, attributes and URL schemes. Scripts, event
//! handler attributes, `javascript:` links and styles never reach the browser.

use pulldown_cmark::{html, Options, Parser};
use std::sync::LazyLock;

static CLEANER: LazyLock<ammonia::Builder<'static>> = LazyLock::new(|| {
    let mut b = ammonia::Builder::default();
    b.url_schemes(["http", "https", "mailto"].into_iter().collect())
        .link_rel(Some("noopener noreferrer nofollow"));
    b
});

/// Sanitised HTML of `text` read as CommonMark with tables and strikethrough.
pub fn to_safe_html(text: &str) -> String {
    let mut options = Options::empty();
    options.insert(Options::ENABLE_TABLES);
    options.insert(Options::ENABLE_STRIKETHROUGH);
    let mut unsafe_html = String::with_capacity(text.len() * 3 / 2);
    html::push_html(&mut unsafe_html, Parser::new_ext(text, options));
    CLEANER.clean(&unsafe_html).to_string()
}

/// The words of `text` read as CommonMark, without its markup: for one-line summaries in
/// lists, where "`openssl` before 3.0.7" should read "openssl before 3.0.7". The result is
/// text, escaped by the template like any other.
pub fn plain_text(text: &str) -> String {
    use pulldown_cmark::Event;
    let mut out = String::with_capacity(text.len());
    for event in Parser::new(text) {
        match event {
            Event::Text(t) | Event::Code(t) => out.push_str(&t),
            Event::SoftBreak | Event::HardBreak | Event::End(_) if !out.ends_with(' ') => {
                out.push(' ')
            }
            _ => {}
        }
    }
    out.trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::{plain_text, to_safe_html};

    #[test]
    fn plain_text_drops_markup() {
        assert_eq!(
            plain_text(
                "Heap overflow in `libfoo` before **1.2**\nsee [advisory](https://example.org)"
            ),
            "Heap overflow in libfoo before 1.2 see advisory"
        );
    }

    #[test]
    fn markdown_is_rendered() {
        let html =
            to_safe_html("**Disk** full on `db-01`\n\n- one\n- [runbook](https://wiki.example/db)");
        assert!(html.contains("<strong>Disk</strong>"), "{html}");
        assert!(html.contains("<code>db-01</code>"), "{html}");
        assert!(html.contains("<li>one</li>"), "{html}");
        assert!(
            html.contains(r#"<a href="https://wiki.example/db" rel="noopener noreferrer nofollow">runbook</a>"#),
            "{html}"
        );
    }

    #[test]
    fn hostile_markdown_is_neutralised() {
        let hostile = [
            "<script>alert(1)</script>",
            "<SCRIPT SRC=//evil.example/x.js></SCRIPT>",
            "[click](javascript:alert(1))",
            "[click](JaVaScRiPt:alert(1))",
            "[click](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
            "<img src=x onerror=alert(1)>",
            "![x](x\" onerror=\"alert(1))",
            "<a href=\"#\" onclick=\"alert(1)\">x</a>",
            "<iframe src=\"https://evil.example\"></iframe>",
            "<svg onload=alert(1)><circle r=1></svg>",
            "<div style=\"background:url(javascript:alert(1))\">x</div>",
            "<form action=\"https://evil.example\"><input name=password></form>",
            "<object data=\"x.swf\"></object><embed src=\"x.swf\">",
            "<math><mi xlink:href=\"javascript:alert(1)\">x</mi></math>",
            "[x]( javascript:alert(1) )",
            "<a href=\"&#106;avascript:alert(1)\">x</a>",
        ];
        for input in hostile {
            // Alone and after a paragraph, so each is read both as a block and inline.
            for text in [input.to_string(), format!("Note:\n{input}")] {
                let html = to_safe_html(&text).to_lowercase();
                // Only markup can run anything: text is escaped, so a `<` starts a tag.
                let tags: String = html
                    .split('<')
                    .skip(1)
                    .map(|t| format!("<{}>", t.split('>').next().unwrap_or("")))
                    .collect();
                for bad in [
                    "<script",
                    "href=\"javascript",
                    "src=\"javascript",
                    " on",
                    "\ton",
                    "<iframe",
                    "style=",
                    "<form",
                    "<input",
                    "<object",
                    "<embed",
                    "href=\"data:",
                    "<svg",
                    "xlink:href",
                    "href=\" javascript",
                ] {
                    assert!(!tags.contains(bad), "{bad} survived {input:?}:\n{html}");
                }
            }
        }
        // A javascript: link keeps its text and loses its target.
        assert_eq!(
            to_safe_html("[click](javascript:alert(1))").trim(),
            r#"<p><a rel="noopener noreferrer nofollow">click</a></p>"#
        );
        assert_eq!(
            to_safe_html("<img src=x onerror=alert(1)>").trim(),
            r#"<img src="x">"#
        );
        assert_eq!(to_safe_html("<script>alert(1)</script>").trim(), "");
    }
}
