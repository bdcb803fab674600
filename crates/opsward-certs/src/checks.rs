//! Pure checks: given certificates (and, for endpoints, the name asked for), what is wrong.

use crate::model::{CertificateInfo, KeyType, Problem, Severity};
use chrono::{DateTime, Utc};
use std::net::IpAddr;

/// "Expires within `days`" is a problem of `severity`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExpiryThreshold {
    pub days: i64,
    pub severity: Severity,
}

/// 30/14/7/1 days: the nearer the expiry, the louder.
pub const DEFAULT_THRESHOLDS: [ExpiryThreshold; 4] = [
    ExpiryThreshold {
        days: 30,
        severity: Severity::Info,
    },
    ExpiryThreshold {
        days: 14,
        severity: Severity::Warning,
    },
    ExpiryThreshold {
        days: 7,
        severity: Severity::Critical,
    },
    ExpiryThreshold {
        days: 1,
        severity: Severity::Critical,
    },
];

/// CA/Browser Forum limit for publicly-trusted TLS leaf certificates.
pub const MAX_PUBLIC_LEAF_VALIDITY_DAYS: i64 = 398;
pub const MIN_RSA_BITS: u32 = 2048;
pub const MIN_EC_BITS: u32 = 256;

#[derive(Debug, Clone)]
pub struct CheckContext {
    pub now: DateTime<Utc>,
    pub thresholds: Vec<ExpiryThreshold>,
}

impl CheckContext {
    pub fn at(now: DateTime<Utc>) -> Self {
        CheckContext {
            now,
            thresholds: DEFAULT_THRESHOLDS.to_vec(),
        }
    }

    /// The same moment with other thresholds (days; see [`thresholds_from_days`]).
    pub fn with_thresholds(&self, days: &[i64]) -> Self {
        CheckContext {
            now: self.now,
            thresholds: thresholds_from_days(days),
        }
    }
}

/// Thresholds in days with their severities: 7 days or fewer critical, 14 or fewer warning,
/// more info (so 30/14/7/1 are the defaults).
pub fn thresholds_from_days(days: &[i64]) -> Vec<ExpiryThreshold> {
    days.iter()
        .map(|&days| ExpiryThreshold {
            days,
            severity: match days {
                d if d <= 7 => Severity::Critical,
                d if d <= 14 => Severity::Warning,
                _ => Severity::Info,
            },
        })
        .collect()
}

/// Checks that need only the certificate itself. `is_leaf` says whether it is used as an
/// end-entity (position 0 of a presented chain, or a non-CA certificate in a file).
pub fn check_certificate(
    cert: &CertificateInfo,
    is_leaf: bool,
    ctx: &CheckContext,
) -> Vec<Problem> {
    let mut problems = Vec::new();
    validity_problems(cert, ctx, &mut problems);
    if let Some(p) = weak_key(cert) {
        problems.push(p);
    }
    // A root's signature over itself is never checked by clients, so its hash does not matter.
    if !(cert.self_signed && cert.is_ca) {
        if let Some(p) = weak_signature(cert) {
            problems.push(p);
        }
    }
    if is_leaf && cert.self_signed {
        problems.push(Problem::new(
            "self-signed",
            Severity::Warning,
            "self-signed leaf certificate: no client trusts it without pinning",
        ));
    }
    if is_leaf
        && !cert.self_signed
        && !cert.is_ca
        && cert.validity_days > MAX_PUBLIC_LEAF_VALIDITY_DAYS
    {
        problems.push(Problem::new(
            "long-validity",
            Severity::Warning,
            format!(
                "valid for {} days; publicly-trusted TLS certificates may be valid for at most {MAX_PUBLIC_LEAF_VALIDITY_DAYS}",
                cert.validity_days
            ),
        ));
    }
    if is_leaf {
        if let Some(due) = acme_renewal_due(&cert.issuer, cert.not_before, cert.not_after) {
            if ctx.now > due && ctx.now <= cert.not_after {
                problems.push(Problem::new(
                    "acme-renewal-overdue",
                    Severity::Warning,
                    format!(
                        "issued by an ACME CA; renewal should have happened by {} (2/3 of its lifetime)",
                        due.format("%Y-%m-%d %H:%M UTC")
                    ),
                ));
            }
        }
    }
    problems
}

/// Organisations of CAs that issue through ACME, as they appear in issuer names.
const ACME_ISSUERS: [&str; 5] = [
    "O=Let's Encrypt",
    "O=ZeroSSL",
    "O=Buypass AS",
    "O=Google Trust Services",
    "(STAGING)",
];

/// For a certificate from an ACME CA, when it should have been renewed: at two thirds of
/// its lifetime, as cert-manager does. `None` for other issuers.
pub fn acme_renewal_due(
    issuer: &str,
    not_before: DateTime<Utc>,
    not_after: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    ACME_ISSUERS
        .iter()
        .any(|o| issuer.contains(o))
        .then(|| not_before + (not_after - not_before) * 2 / 3)
}

fn validity_problems(cert: &CertificateInfo, ctx: &CheckContext, problems: &mut Vec<Problem>) {
    if ctx.now > cert.not_after {
        problems.push(Problem::new(
            "expired",
            Severity::Critical,
            format!(
                "expired {} ({} days ago)",
                cert.not_after.format("%Y-%m-%d %H:%M UTC"),
                (ctx.now - cert.not_after).num_days()
            ),
        ));
        return;
    }
    if ctx.now < cert.not_before {
        problems.push(Problem::new(
            "not-yet-valid",
            Severity::Critical,
            format!(
                "not valid before {}",
                cert.not_before.format("%Y-%m-%d %H:%M UTC")
            ),
        ));
    }
    let left = cert.not_after - ctx.now;
    let nearest = ctx
        .thresholds
        .iter()
        .filter(|t| left <= chrono::Duration::days(t.days))
        .min_by_key(|t| t.days);
    if let Some(threshold) = nearest {
        problems.push(Problem::new(
            "expires-soon",
            threshold.severity,
            format!(
                "expires {} (in {} days, within the {}-day threshold)",
                cert.not_after.format("%Y-%m-%d %H:%M UTC"),
                left.num_days(),
                threshold.days
            ),
        ));
    }
}

fn weak_key(cert: &CertificateInfo) -> Option<Problem> {
    let weak = match cert.key {
        KeyType::Rsa { bits } => bits < MIN_RSA_BITS,
        KeyType::Ec { bits } => bits < MIN_EC_BITS,
        KeyType::Ed25519 | KeyType::Other { .. } => false,
    };
    weak.then(|| {
        Problem::new(
            "weak-key",
            Severity::Critical,
            format!(
                "{} key is too small (minimum RSA {MIN_RSA_BITS}, EC {MIN_EC_BITS})",
                cert.key
            ),
        )
    })
}

/// Signature OIDs that use SHA-1 or MD5 (RSA PKCS#1, ECDSA, DSA).
const WEAK_SIGNATURE_OIDS: [&str; 7] = [
    "1.2.840.113549.1.1.4", // md5WithRSAEncryption
    "1.2.840.113549.1.1.2", // md2WithRSAEncryption
    "1.2.840.113549.1.1.5", // sha1WithRSAEncryption
    "1.3.14.3.2.29",        // sha1WithRSASignature (OIW)
    "1.2.840.10045.4.1",    // ecdsa-with-SHA1
    "1.2.840.10040.4.3",    // dsa-with-sha1
    "1.3.14.3.2.3",         // md5WithRSA (OIW)
];

fn weak_signature(cert: &CertificateInfo) -> Option<Problem> {
    WEAK_SIGNATURE_OIDS
        .contains(&cert.signature_oid.as_str())
        .then(|| {
            Problem::new(
                "weak-signature",
                Severity::Critical,
                format!(
                    "signed with {} (SHA-1 and MD5 signatures can be forged)",
                    cert.signature_algorithm
                ),
            )
        })
}

/// RFC 6125 name check of the leaf against the name a client connected to.
pub fn check_hostname(leaf: &CertificateInfo, target: &str) -> Option<Problem> {
    if matches_hostname(leaf, target) {
        return None;
    }
    let mut names: Vec<String> = leaf.san_dns.clone();
    names.extend(leaf.san_ip.iter().map(IpAddr::to_string));
    if names.is_empty() {
        names.extend(leaf.subject_cn.iter().map(|cn| format!("CN={cn}")));
    }
    Some(Problem::new(
        "hostname-mismatch",
        Severity::Critical,
        format!(
            "certificate is not valid for {target:?} (it names {})",
            if names.is_empty() {
                "nothing".to_string()
            } else {
                names.join(", ")
            }
        ),
    ))
}

/// IP targets match IP SANs only. DNS targets match DNS SANs, compared in lower-case A-label
/// form, with a wildcard allowed only as the whole left-most label; the subject CN counts
/// only when the certificate has no SANs at all.
pub fn matches_hostname(leaf: &CertificateInfo, target: &str) -> bool {
    let bare = target.trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = bare.parse::<IpAddr>() {
        return leaf.san_ip.contains(&ip);
    }
    let Some(host) = a_label_form(target) else {
        return false;
    };
    let has_sans = !leaf.san_dns.is_empty() || !leaf.san_ip.is_empty();
    let mut candidates: Vec<&str> = leaf.san_dns.iter().map(String::as_str).collect();
    if !has_sans {
        candidates.extend(leaf.subject_cn.as_deref());
    }
    candidates
        .into_iter()
        .filter_map(a_label_form_of_pattern)
        .any(|pattern| pattern_matches(&pattern, &host))
}

/// Lower-case ASCII (punycode) form of a host name, without a trailing dot.
fn a_label_form(name: &str) -> Option<String> {
    let name = name.strip_suffix('.').unwrap_or(name);
    if name.is_empty() || name.contains('*') {
        return None;
    }
    idna::domain_to_ascii(name)
        .ok()
        .map(|n| n.to_ascii_lowercase())
}

/// Like `a_label_form`, keeping a left-most `*` label intact.
fn a_label_form_of_pattern(pattern: &str) -> Option<String> {
    match pattern.strip_prefix("*.") {
        Some(rest) => a_label_form(rest).map(|r| format!("*.{r}")),
        None => a_label_form(pattern),
    }
}

fn pattern_matches(pattern: &str, host: &str) -> bool {
    match pattern.strip_prefix("*.") {
        // `*.com` would cover a whole top-level domain: require two labels after the wildcard.
        Some(suffix) if suffix.contains('.') => host
            .split_once('.')
            .is_some_and(|(first, rest)| !first.is_empty() && rest == suffix),
        Some(_) => false,
        None => pattern == host,
    }
}

#[cfg(test)]
#[path = "checks_tests.rs"]
mod tests;
