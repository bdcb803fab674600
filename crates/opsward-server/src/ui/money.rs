//! Amounts of money as people read them: "EUR 9,000" and "EUR 1,234.50", one format on
//! every page. Amounts are stored as decimal text with an ISO 4217 code beside them.

/// `value` (decimal text such as "9000" or "-1234.5") with thousands grouped and the
/// currency code in front; cents only when there are any. Text that is not a decimal
/// number is shown as it was entered.
pub fn money_text(value: &str, currency: &str) -> String {
    let value = value.trim();
    let currency = currency.trim().to_ascii_uppercase();
    let (sign, digits) = match value.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", value),
    };
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
    let is_number = !whole.is_empty()
        && whole.bytes().all(|b| b.is_ascii_digit())
        && fraction.bytes().all(|b| b.is_ascii_digit());
    if !is_number {
        return format!("{currency} {value}");
    }
    let whole = whole.trim_start_matches('0');
    let whole = if whole.is_empty() { "0" } else { whole };
    let mut grouped = String::with_capacity(whole.len() + whole.len() / 3);
    for (i, c) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(c);
    }
    let fraction = fraction.trim_end_matches('0');
    if fraction.is_empty() {
        format!("{currency} {sign}{grouped}")
    } else {
        format!("{currency} {sign}{grouped}.{fraction:0<2}")
    }
}

#[cfg(test)]
mod tests {
    use super::money_text;

    #[test]
    fn amounts_are_grouped_with_their_currency() {
        assert_eq!(money_text("9000", "EUR"), "EUR 9,000");
        assert_eq!(money_text("1234567.5", "usd"), "USD 1,234,567.50");
        assert_eq!(money_text("999", "EUR"), "EUR 999");
        assert_eq!(money_text("-12000.00", "EUR"), "EUR -12,000");
        assert_eq!(money_text("0.25", "CHF"), "CHF 0.25");
        assert_eq!(money_text("about 5k", "EUR"), "EUR about 5k");
    }

    #[test]
    fn whole_numbers_keep_their_digits() {
        for whole in [0u64, 7, 10, 100, 1_000, 65_536, 1_000_000, 9_876_543_210] {
            let text = money_text(&whole.to_string(), "EUR");
            assert_eq!(
                text.trim_start_matches("EUR ").replace(',', ""),
                whole.to_string()
            );
        }
    }
}
