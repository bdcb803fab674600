//! What we know about a certificate, where we saw it, and what is wrong with it.

use chrono::{DateTime, TimeZone, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::{fmt, net::IpAddr, path::PathBuf};
use x509_parser::{
    certificate::X509Certificate,
    extensions::{GeneralName, ParsedExtension},
    prelude::FromDer,
    public_key::PublicKey,
    x509::X509Name,
};

use crate::error::CertError;

/// The public key of a certificate, by family and size.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum KeyType {
    /// `bits` is the size of the modulus n.
    Rsa {
        bits: u32,
    },
    /// `bits` is the size of the curve (256 for P-256).
    Ec {
        bits: u32,
    },
    Ed25519,
    Other {
        oid: String,
    },
}

impl fmt::Display for KeyType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyType::Rsa { bits } => write!(f, "RSA {bits}"),
            KeyType::Ec { bits } => write!(f, "EC {bits}"),
            KeyType::Ed25519 => write!(f, "Ed25519"),
            KeyType::Other { oid } => write!(f, "key {oid}"),
        }
    }
}

/// The facts of one certificate, decoded from its DER bytes.
#[derive(Debug, Clone, Serialize)]
pub struct CertificateInfo {
    /// SHA-256 of the DER encoding, lower-case hex.
    pub fingerprint_sha256: String,
    pub subject_cn: Option<String>,
    pub subject: String,
    pub san_dns: Vec<String>,
    pub san_ip: Vec<IpAddr>,
    pub issuer_cn: Option<String>,
    pub issuer: String,
    /// Serial number, lower-case hex as encoded.
    pub serial: String,
    pub not_before: DateTime<Utc>,
    pub not_after: DateTime<Utc>,
    pub key: KeyType,
    /// The signature algorithm's name (e.g. `sha256WithRSAEncryption`), or its OID.
    pub signature_algorithm: String,
    /// The signature algorithm's OID, dotted.
    pub signature_oid: String,
    pub is_ca: bool,
    pub self_signed: bool,
    /// Whole days from not_before to not_after.
    pub validity_days: i64,
    #[serde(skip)]
    pub der: Vec<u8>,
}

impl CertificateInfo {
    pub fn from_der(der: &[u8]) -> Result<Self, CertError> {
        let (rest, cert) = X509Certificate::from_der(der)
            .map_err(|e| CertError::NotACertificate(e.to_string()))?;
        if !rest.is_empty() {
            return Err(CertError::NotACertificate(format!(
                "{} bytes after the certificate",
                rest.len()
            )));
        }
        let (san_dns, san_ip) = subject_alt_names(&cert);
        let not_before = timestamp(cert.validity().not_before.timestamp());
        let not_after = timestamp(cert.validity().not_after.timestamp());
        let signature_oid = cert.signature_algorithm.algorithm.to_id_string();
        let signature_algorithm =
            x509_parser::objects::oid2sn(&cert.signature_algorithm.algorithm, oid_registry())
                .map(str::to_owned)
                .unwrap_or_else(|_| signature_oid.clone());
        Ok(CertificateInfo {
            fingerprint_sha256: hex::encode(Sha256::digest(der)),
            subject_cn: common_name(cert.subject()),
            subject: cert.subject().to_string(),
            san_dns,
            san_ip,
            issuer_cn: common_name(cert.issuer()),
            issuer: cert.issuer().to_string(),
            serial: hex::encode(cert.raw_serial()),
            not_before,
            not_after,
            key: key_type(&cert),
            signature_algorithm,
            signature_oid,
            is_ca: cert.is_ca(),
            self_signed: is_self_signed(&cert),
            validity_days: (not_after - not_before).num_days(),
            der: der.to_vec(),
        })
    }

    /// Whole days from `now` until expiry; negative once expired.
    pub fn days_left(&self, now: DateTime<Utc>) -> i64 {
        (self.not_after - now).num_days()
    }
}

fn oid_registry() -> &'static x509_parser::oid_registry::OidRegistry<'static> {
    static REGISTRY: std::sync::OnceLock<x509_parser::oid_registry::OidRegistry<'static>> =
        std::sync::OnceLock::new();
    REGISTRY.get_or_init(|| x509_parser::oid_registry::OidRegistry::default().with_crypto())
}

fn timestamp(secs: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(secs, 0)
        .single()
        .unwrap_or(DateTime::<Utc>::MIN_UTC)
}

fn common_name(name: &X509Name<'_>) -> Option<String> {
    name.iter_common_name()
        .next()
        .and_then(|cn| cn.as_str().ok())
        .map(str::to_owned)
}

fn subject_alt_names(cert: &X509Certificate<'_>) -> (Vec<String>, Vec<IpAddr>) {
    let mut dns = Vec::new();
    let mut ips = Vec::new();
    if let Ok(Some(san)) = cert.subject_alternative_name() {
        for name in &san.value.general_names {
            match name {
                GeneralName::DNSName(d) => dns.push((*d).to_owned()),
                GeneralName::IPAddress(bytes) => match bytes.len() {
                    4 => ips.push(IpAddr::from(
                        <[u8; 4]>::try_from(*bytes).unwrap_or_default(),
                    )),
                    16 => ips.push(IpAddr::from(
                        <[u8; 16]>::try_from(*bytes).unwrap_or_default(),
                    )),
                    _ => {}
                },
                _ => {}
            }
        }
    }
    (dns, ips)
}

const OID_ED25519: &str = "1.3.101.112";

fn key_type(cert: &X509Certificate<'_>) -> KeyType {
    let spki = cert.public_key();
    let oid = spki.algorithm.algorithm.to_id_string();
    if oid == OID_ED25519 {
        return KeyType::Ed25519;
    }
    match spki.parsed() {
        Ok(PublicKey::RSA(rsa)) => KeyType::Rsa {
            bits: rsa_modulus_bits(rsa.modulus),
        },
        Ok(key @ PublicKey::EC(_)) => KeyType::Ec {
            bits: named_curve_bits(spki).unwrap_or(key.key_size() as u32),
        },
        _ => KeyType::Other { oid },
    }
}

/// The size of a named curve. (The point's length would say 528 for P-521, whose 521-bit
/// coordinates are padded to 66 bytes.)
fn named_curve_bits(spki: &x509_parser::x509::SubjectPublicKeyInfo<'_>) -> Option<u32> {
    let curve = spki
        .algorithm
        .parameters
        .as_ref()?
        .as_oid()
        .ok()?
        .to_id_string();
    match curve.as_str() {
        "1.2.840.10045.3.1.7" => Some(256), // P-256
        "1.3.132.0.34" => Some(384),        // P-384
        "1.3.132.0.35" => Some(521),        // P-521
        "1.3.132.0.10" => Some(256),        // secp256k1
        _ => None,
    }
}

/// Bits of a big-endian modulus, ignoring DER's leading zero bytes.
fn rsa_modulus_bits(modulus: &[u8]) -> u32 {
    let significant: &[u8] = match modulus.iter().position(|b| *b != 0) {
        Some(first) => &modulus[first..],
        None => return 0,
    };
    (significant.len() as u32 - 1) * 8 + (8 - significant[0].leading_zeros())
}

/// Issued by itself: the same name, and its own key verifies its signature. When the
/// signature algorithm is one we cannot verify, the same name plus matching key identifiers
/// (or none to compare) is taken as enough.
fn is_self_signed(cert: &X509Certificate<'_>) -> bool {
    if cert.subject().as_raw() != cert.issuer().as_raw() {
        return false;
    }
    match cert.verify_signature(None) {
        Ok(()) => true,
        Err(x509_parser::error::X509Error::SignatureUnsupportedAlgorithm) => {
            let mut subject_key = None;
            let mut authority_key = None;
            for ext in cert.extensions() {
                match ext.parsed_extension() {
                    ParsedExtension::SubjectKeyIdentifier(id) => subject_key = Some(id.0),
                    ParsedExtension::AuthorityKeyIdentifier(aki) => {
                        authority_key = aki.key_identifier.as_ref().map(|id| id.0)
                    }
                    _ => {}
                }
            }
            match (subject_key, authority_key) {
                (Some(s), Some(a)) => s == a,
                _ => true,
            }
        }
        Err(_) => false,
    }
}

/// Where a certificate was seen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Source {
    /// A TLS endpoint, `host:port`, with the SNI name sent (none for IP targets).
    Endpoint {
        address: String,
        sni: Option<String>,
    },
    File {
        path: PathBuf,
    },
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Endpoint { address, .. } => f.write_str(address),
            Source::File { path } => write!(f, "{}", path.display()),
        }
    }
}

/// One certificate seen at one place.
#[derive(Debug, Clone, Serialize)]
pub struct Sighting {
    pub source: Source,
    /// 0 for the leaf an endpoint presented (or the first certificate in a file), then up
    /// the chain as presented.
    pub chain_position: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Warning,
    Critical,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Critical => "critical",
        })
    }
}

/// Something wrong with a certificate, found by a check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// Stable identifier, e.g. `expired`, `hostname-mismatch`.
    pub code: &'static str,
    pub severity: Severity,
    pub message: String,
}

impl Problem {
    pub fn new(code: &'static str, severity: Severity, message: impl Into<String>) -> Self {
        Problem {
            code,
            severity,
            message: message.into(),
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}: {}", self.severity, self.code, self.message)
    }
}
