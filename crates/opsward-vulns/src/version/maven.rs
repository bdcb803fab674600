//! Maven versions, ordered like Maven's `ComparableVersion`: the version is split into items
//! at `.`, `-` and digit/letter transitions (a `-` or a transition opens a nested list),
//! trailing "null" items (`0`, `""`, `final`, `ga`, `release`) are dropped, and qualifiers order
//! `alpha < beta < milestone < rc = cr < snapshot < (release) < sp < unknown (alphabetical)`.

use std::cmp::Ordering;

#[derive(Debug, Clone)]
enum Item {
    Int(Vec<u8>),
    Text(String),
    List(Vec<Item>),
}

const QUALIFIERS: [&str; 7] = ["alpha", "beta", "milestone", "rc", "snapshot", "", "sp"];

fn qualifier_rank(q: &str) -> (usize, &str) {
    match QUALIFIERS.iter().position(|k| *k == q) {
        Some(i) => (i, ""),
        None => (QUALIFIERS.len(), q),
    }
}

fn int_item(digits: &str) -> Item {
    let trimmed = digits.trim_start_matches('0');
    Item::Int(trimmed.as_bytes().to_vec())
}

fn text_item(text: &str, followed_by_digit: bool) -> Item {
    let text = match (text, followed_by_digit) {
        ("a", true) => "alpha",
        ("b", true) => "beta",
        ("m", true) => "milestone",
        _ => text,
    };
    let text = match text {
        "ga" | "final" | "release" => "",
        "cr" => "rc",
        other => other,
    };
    Item::Text(text.to_owned())
}

impl Item {
    fn is_null(&self) -> bool {
        match self {
            Item::Int(digits) => digits.is_empty(),
            Item::Text(text) => text.is_empty(),
            Item::List(items) => items.is_empty(),
        }
    }

    /// Compares with `None` standing for "nothing here" (the other version ran out).
    fn compare(&self, other: Option<&Item>) -> Ordering {
        match (self, other) {
            (Item::Int(a), None) => {
                if a.is_empty() {
                    Ordering::Equal
                } else {
                    Ordering::Greater
                }
            }
            (Item::Int(a), Some(Item::Int(b))) => a.len().cmp(&b.len()).then_with(|| a.cmp(b)),
            (Item::Int(_), Some(_)) => Ordering::Greater,
            (Item::Text(a), None) => qualifier_rank(a).cmp(&qualifier_rank("")),
            (Item::Text(_), Some(Item::Int(_))) => Ordering::Less,
            (Item::Text(a), Some(Item::Text(b))) => qualifier_rank(a).cmp(&qualifier_rank(b)),
            (Item::Text(_), Some(Item::List(_))) => Ordering::Less,
            (Item::List(items), None) => match items.first() {
                None => Ordering::Equal,
                Some(first) => first.compare(None),
            },
            (Item::List(_), Some(Item::Int(_))) => Ordering::Less,
            (Item::List(_), Some(Item::Text(_))) => Ordering::Greater,
            (Item::List(a), Some(Item::List(b))) => compare_lists(a, b),
        }
    }
}

fn compare_lists(a: &[Item], b: &[Item]) -> Ordering {
    for i in 0..a.len().max(b.len()) {
        let order = match (a.get(i), b.get(i)) {
            (None, None) => Ordering::Equal,
            (None, Some(r)) => r.compare(None).reverse(),
            (Some(l), r) => l.compare(r),
        };
        if order.is_ne() {
            return order;
        }
    }
    Ordering::Equal
}

fn normalize(items: &mut Vec<Item>) {
    // Nulls are removed from the end, and also from before a trailing (non-null) list.
    for i in (0..items.len()).rev() {
        if items[i].is_null() {
            items.remove(i);
        } else if !matches!(items[i], Item::List(_)) {
            break;
        }
    }
}

#[derive(Debug, Clone)]
pub struct MavenVersion {
    items: Vec<Item>,
}

impl MavenVersion {
    pub fn parse(text: &str) -> Option<MavenVersion> {
        let text = text.trim().to_ascii_lowercase();
        if text.is_empty() || text.contains(char::is_whitespace) {
            return None;
        }
        // A stack of open lists; the innermost is last.
        let mut stack: Vec<Vec<Item>> = vec![vec![]];
        let bytes = text.as_bytes();
        let mut start = 0;
        let mut is_digit = false;
        let item_of = |s: &str, digit: bool, followed_by_digit: bool| {
            if digit {
                int_item(s)
            } else {
                text_item(s, followed_by_digit)
            }
        };
        for (i, &c) in bytes.iter().enumerate() {
            if c == b'.' || c == b'-' {
                let item = if i == start {
                    Item::Int(vec![])
                } else {
                    item_of(&text[start..i], is_digit, false)
                };
                stack.last_mut()?.push(item);
                start = i + 1;
                if c == b'-' {
                    stack.push(vec![]);
                }
            } else if c.is_ascii_digit() {
                if !is_digit && i > start {
                    stack
                        .last_mut()?
                        .push(item_of(&text[start..i], false, true));
                    start = i;
                    stack.push(vec![]);
                }
                is_digit = true;
            } else {
                if is_digit && i > start {
                    stack
                        .last_mut()?
                        .push(item_of(&text[start..i], true, false));
                    start = i;
                    stack.push(vec![]);
                }
                is_digit = false;
            }
        }
        if bytes.len() > start {
            stack
                .last_mut()?
                .push(item_of(&text[start..], is_digit, false));
        }
        // Close the nested lists innermost first, normalising each as Maven does.
        while stack.len() > 1 {
            let mut inner = stack.pop()?;
            normalize(&mut inner);
            stack.last_mut()?.push(Item::List(inner));
        }
        let mut items = stack.pop()?;
        normalize(&mut items);
        Some(MavenVersion { items })
    }
}

impl Ord for MavenVersion {
    fn cmp(&self, other: &Self) -> Ordering {
        compare_lists(&self.items, &other.items)
    }
}

impl PartialOrd for MavenVersion {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for MavenVersion {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for MavenVersion {}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> MavenVersion {
        MavenVersion::parse(s).unwrap_or_else(|| panic!("{s} should parse"))
    }

    #[test]
    fn qualifiers_order_as_maven_documents() {
        // From Maven's ComparableVersionTest.VERSIONS_QUALIFIER.
        let ordered = [
            "1-alpha2snapshot",
            "1-alpha2",
            "1-alpha-123",
            "1-beta-2",
            "1-beta123",
            "1-m2",
            "1-m11",
            "1-rc",
            "1-cr2",
            "1-rc123",
            "1-SNAPSHOT",
            "1",
            "1-sp",
            "1-sp2",
            "1-sp123",
            "1-abc",
            "1-def",
            "1-pom-1",
            "1-1-snapshot",
            "1-1",
            "1-2",
            "1-123",
        ];
        for pair in ordered.windows(2) {
            assert!(v(pair[0]) < v(pair[1]), "{} < {}", pair[0], pair[1]);
        }
    }

    #[test]
    fn numbers_order_as_maven_documents() {
        // From Maven's ComparableVersionTest.VERSIONS_NUMBER.
        let ordered = [
            "2.0", "2-1", "2.0.a", "2.0.0.a", "2.0.2", "2.0.123", "2.1.0", "2.1-a", "2.1b",
            "2.1-c", "2.1-1", "2.1.0.1", "2.2", "2.123", "11.a2", "11.a11", "11.b2", "11.b11",
            "11.m2", "11.m11", "11", "11.a", "11b", "11c", "11m",
        ];
        for pair in ordered.windows(2) {
            assert!(v(pair[0]) < v(pair[1]), "{} < {}", pair[0], pair[1]);
        }
    }

    #[test]
    fn equal_spellings() {
        let same = [
            ("1", "1.0.0"),
            ("1", "1-0"),
            ("1", "1.ga"),
            ("1", "1-final"),
            ("1", "1.release"),
            ("1a1", "1-alpha-1"),
            ("1b2", "1-beta-2"),
            ("1m3", "1-milestone-3"),
            ("1-cr1", "1-rc1"),
            ("1A", "1a"),
        ];
        for (a, b) in same {
            assert_eq!(v(a), v(b), "{a} == {b}");
        }
    }
}
