//! Human labels for stored identifiers: "in_progress" reads "In progress".
//!
//! Enums declared with [`text_enum!`](crate::text_enum) get their `label()` from
//! [`humanise_bytes`] at compile time; free-form keys (audit actions, field names) go
//! through [`humanise`] at run time.

/// `text` with its first ASCII letter capitalised and every `_`, `.` or `-` turned into a
/// space, as a fixed-size byte array so that it can be a constant. `N` must be `text.len()`.
pub const fn humanise_bytes<const N: usize>(text: &str) -> [u8; N] {
    let bytes = text.as_bytes();
    let mut out = [0u8; N];
    let mut i = 0;
    while i < N {
        let b = bytes[i];
        out[i] = if b == b'_' || b == b'.' || b == b'-' {
            b' '
        } else if i == 0 {
            b.to_ascii_uppercase()
        } else {
            b
        };
        i += 1;
    }
    out
}

/// The run-time form of [`humanise_bytes`], for keys that are not an enum.
pub fn humanise(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for (i, c) in text.chars().enumerate() {
        match c {
            '_' | '.' | '-' => out.push(' '),
            c if i == 0 => out.extend(c.to_uppercase()),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    crate::text_enum! {
        Sample { InProgress => "in_progress", Done => "done", Waiting => "waiting_customer" as "Waiting for the customer" }
    }

    #[test]
    fn labels_read_as_words() {
        assert_eq!(Sample::InProgress.label(), "In progress");
        assert_eq!(Sample::Done.label(), "Done");
        assert_eq!(Sample::Waiting.label(), "Waiting for the customer");
        assert_eq!(Sample::Waiting.as_str(), "waiting_customer");
        assert_eq!(humanise("backlog.item_update"), "Backlog item update");
        assert_eq!(humanise(""), "");
    }
}
