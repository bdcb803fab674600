//! Gauges named and labelled like x509-certificate-exporter's, so its Grafana dashboards and
//! alert rules work on opsward unchanged: one series per certificate per place serving it.

use crate::store::Deployed;
use chrono::{DateTime, Utc};
use std::fmt::Write;

/// How a gauge's value follows from a deployed certificate and the time.
type Gauge = fn(&Deployed, DateTime<Utc>) -> i64;

/// The Prometheus text exposition of `x509_cert_not_after`, `x509_cert_not_before` and
/// `x509_cert_expired`, labelled `subject_CN`, `issuer_CN`, `serial_number` (decimal, as the
/// exporter prints it) and `source` (endpoint or path).
pub fn render_x509(deployed: &[Deployed], now: DateTime<Utc>) -> String {
    let mut out = String::new();
    let families: [(&str, &str, Gauge); 3] = [
        (
            "x509_cert_not_after",
            "Certificate expiry, seconds since the epoch",
            |d, _| d.not_after.timestamp(),
        ),
        (
            "x509_cert_not_before",
            "Certificate start of validity, seconds since the epoch",
            |d, _| d.not_before.timestamp(),
        ),
        (
            "x509_cert_expired",
            "1 if the certificate has expired",
            |d, now| i64::from(d.not_after <= now),
        ),
    ];
    for (name, help, value) in families {
        let _ = writeln!(out, "# HELP {name} {help}.\n# TYPE {name} gauge");
        for d in deployed {
            let _ = writeln!(
                out,
                "{name}{{subject_CN=\"{}\",issuer_CN=\"{}\",serial_number=\"{}\",source=\"{}\"}} {}",
                escape(d.subject_cn.as_deref().unwrap_or("")),
                escape(d.issuer_cn.as_deref().unwrap_or("")),
                hex_to_decimal(&d.serial),
                escape(&d.source),
                value(d, now)
            );
        }
    }
    out
}

/// Label values escape backslash, double quote and newline.
fn escape(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// A big-endian hex number of any length in decimal (serials are up to 20 bytes).
pub fn hex_to_decimal(hex: &str) -> String {
    // Base 10^9 limbs, least significant first.
    let mut limbs: Vec<u64> = vec![0];
    for c in hex.chars() {
        let Some(digit) = c.to_digit(16) else {
            return hex.to_owned();
        };
        let mut carry = u64::from(digit);
        for limb in limbs.iter_mut() {
            let v = *limb * 16 + carry;
            *limb = v % 1_000_000_000;
            carry = v / 1_000_000_000;
        }
        if carry > 0 {
            limbs.push(carry);
        }
    }
    let mut out = limbs.last().copied().unwrap_or(0).to_string();
    for limb in limbs.iter().rev().skip(1) {
        let _ = write!(out, "{limb:09}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn serials_print_in_decimal() {
        assert_eq!(hex_to_decimal("00"), "0");
        assert_eq!(hex_to_decimal("ff"), "255");
        assert_eq!(hex_to_decimal("0100"), "256");
        // 2^64 and a 20-byte serial, checked with Python's int(x, 16).
        assert_eq!(hex_to_decimal("010000000000000000"), "18446744073709551616");
        assert_eq!(
            hex_to_decimal("03a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3"),
            "20732964914382712927233914662503874457384366787"
        );
    }

    #[test]
    fn one_series_per_certificate_and_place() {
        let now = Utc.with_ymd_and_hms(2026, 6, 1, 0, 0, 0).unwrap();
        let d = Deployed {
            certificate_id: 1,
            subject_cn: Some("a \"quoted\" name".into()),
            issuer_cn: Some("CA".into()),
            serial: "0a".into(),
            not_before: Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap(),
            not_after: Utc.with_ymd_and_hms(2026, 5, 1, 0, 0, 0).unwrap(),
            source: "10.0.0.1:443".into(),
            chain_position: 0,
        };
        let text = render_x509(&[d], now);
        assert!(text.contains(
            "x509_cert_not_after{subject_CN=\"a \\\"quoted\\\" name\",issuer_CN=\"CA\",serial_number=\"10\",source=\"10.0.0.1:443\"} 1777593600\n"
        ), "{text}");
        assert!(text.contains("x509_cert_expired{") && text.trim_end().ends_with(" 1"));
        assert!(text.contains("# TYPE x509_cert_not_before gauge"));
    }
}
