//! Property-based fuzz tests of the backlog's outside input (issue 19): inbound email as
//! IMAP hands it over, and CSV/JSON imports. Any input gives a value or an error, never a
//! panic, in bounded time (small inputs, a fixed number of cases).

use crate::{
    inbound::parse_message,
    transfer::{read_csv, read_json, ColumnMapping},
};
use proptest::prelude::*;

fn message() -> impl Strategy<Value = Vec<u8>> {
    let pieces = prop::sample::select(vec![
        "From: a@example.com\r\n",
        "To: ops@example.com\r\n",
        "Subject: ",
        "=?utf-8?B?",
        "=?iso-8859-1?Q?=E9?=",
        "?=",
        "\r\n",
        "\r\n\r\n",
        "Message-ID: <x@y>\r\n",
        "In-Reply-To: <",
        "References: ",
        "Content-Type: multipart/mixed; boundary=b\r\n",
        "--b\r\n",
        "--b--\r\n",
        "Content-Transfer-Encoding: base64\r\n",
        "Content-Type: text/html\r\n",
        "<p>hi</p>",
        "[#42]",
        "é",
        "\u{0}",
    ]);
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..512),
        prop::collection::vec(pieces, 0..40).prop_map(|p| p.concat().into_bytes()),
    ]
}

fn csvish() -> impl Strategy<Value = String> {
    let pieces = prop::sample::select(vec![
        "title",
        "description",
        "item_type",
        "impact",
        "urgency",
        "tags",
        ",",
        "\"",
        "\"\"",
        "\n",
        "\r\n",
        "incident",
        "problem",
        "high",
        "1",
        "3",
        "=cmd",
        "'=cmd",
        "a;b",
        "é",
        "[",
        "{",
        "}",
        "]",
        ":",
        "\"title\"",
    ]);
    prop_oneof![
        "\\PC{0,200}",
        prop::collection::vec(pieces, 0..60).prop_map(|p| p.concat()),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn fuzz_inbound_messages(raw in message()) {
        let _ = parse_message(&raw);
    }

    #[test]
    fn fuzz_backlog_imports(text in csvish()) {
        if let Ok(items) = read_csv(&text, &ColumnMapping::default()) {
            // Whatever was accepted passes the item rules (title present, sizes bounded).
            for item in &items {
                prop_assert!(!item.title.trim().is_empty());
            }
        }
        let _ = read_json(&text);
    }
}
