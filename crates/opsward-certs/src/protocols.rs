//! Old TLS versions an endpoint still accepts. rustls speaks only TLS 1.2 and 1.3, so this is
//! a small probe of its own: one connection per version (after the STARTTLS prelude, if the
//! endpoint needs one) that sends a TLS 1.0 or 1.1 ClientHello with the cipher suites clients
//! of that time offered and SNI, reads the server's first answer, and closes. A ServerHello
//! for that version means the endpoint accepts it; an alert (or a ServerHello for another
//! version) means it does not. Nothing else is sent: no key exchange, no application data.
//!
//! Every probe is bounded by the scan's connect timeout and then its handshake timeout
//! (STARTTLS, ClientHello and answer together); a peer that closes without a TLS answer,
//! sends something that is not TLS, or stays silent is an error, never a verdict.

use crate::{
    error::EndpointError,
    starttls,
    tls::{ScanOptions, Target},
};
use serde::{Deserialize, Serialize};
use std::time::Duration;
use thiserror::Error;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

/// A protocol version older than rustls can speak.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum LegacyVersion {
    #[serde(rename = "TLSv1.0")]
    Tls10,
    #[serde(rename = "TLSv1.1")]
    Tls11,
}

impl LegacyVersion {
    pub const ALL: [LegacyVersion; 2] = [LegacyVersion::Tls10, LegacyVersion::Tls11];

    pub fn as_str(self) -> &'static str {
        match self {
            LegacyVersion::Tls10 => "TLSv1.0",
            LegacyVersion::Tls11 => "TLSv1.1",
        }
    }

    /// The version as the protocol writes it (major, minor).
    pub fn wire(self) -> [u8; 2] {
        match self {
            LegacyVersion::Tls10 => [3, 1],
            LegacyVersion::Tls11 => [3, 2],
        }
    }

    /// `TLSv1.0`, `TLSv1`, `tls1.0`, `TLSv1.1`, `tls1_1`, ...
    pub fn parse(text: &str) -> Option<LegacyVersion> {
        let t = text.trim().to_ascii_lowercase().replace(['_', ' '], ".");
        match t.trim_start_matches("tlsv").trim_start_matches("tls") {
            "1" | "1.0" => Some(LegacyVersion::Tls10),
            "1.1" => Some(LegacyVersion::Tls11),
            _ => None,
        }
    }
}

impl std::fmt::Display for LegacyVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What the server answered to a ClientHello of one version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// A ServerHello for the version offered, with the cipher suite it chose and the
    /// certificates it presented (DER, leaf first; none for suites without).
    Accepted {
        cipher_suite: u16,
        chain: Vec<Vec<u8>>,
    },
    /// An alert, or a ServerHello for another version.
    Refused { reason: String },
}

/// Why a probe gave no verdict.
#[derive(Debug, Error)]
pub enum ProbeError {
    #[error("connection failed: {0}")]
    Connect(std::io::Error),
    #[error("no connection within {0:?}")]
    ConnectTimeout(Duration),
    #[error("STARTTLS failed: {0}")]
    StartTls(String),
    #[error("no TLS answer within {0:?}")]
    Timeout(Duration),
    #[error("the server closed the connection without a TLS answer")]
    Closed,
    #[error("the answer is not TLS: {0}")]
    NotTls(String),
    #[error("connection lost: {0}")]
    Io(std::io::Error),
}

/// One version probed at one endpoint.
#[derive(Debug)]
pub struct ProtocolCheck {
    pub version: LegacyVersion,
    pub result: Result<Verdict, ProbeError>,
}

impl ProtocolCheck {
    pub fn accepted(&self) -> bool {
        matches!(self.result, Ok(Verdict::Accepted { .. }))
    }
}

/// Cipher suites a TLS 1.0/1.1 client offered, strongest first, then the renegotiation
/// SCSV: ECDHE and DHE with AES-CBC, RSA key exchange, 3DES, RC4, Camellia, so a server that
/// accepts the version with any usual suite says so.
const LEGACY_SUITES: [u16; 19] = [
    0xc00a, // ECDHE-ECDSA-AES256-SHA
    0xc014, // ECDHE-RSA-AES256-SHA
    0xc009, // ECDHE-ECDSA-AES128-SHA
    0xc013, // ECDHE-RSA-AES128-SHA
    0x0039, // DHE-RSA-AES256-SHA
    0x0033, // DHE-RSA-AES128-SHA
    0x0038, // DHE-DSS-AES256-SHA
    0x0032, // DHE-DSS-AES128-SHA
    0x0035, // AES256-SHA
    0x002f, // AES128-SHA
    0x0084, // CAMELLIA256-SHA
    0x0041, // CAMELLIA128-SHA
    0xc012, // ECDHE-RSA-DES-CBC3-SHA
    0x0016, // EDH-RSA-DES-CBC3-SHA
    0x000a, // DES-CBC3-SHA
    0x0005, // RC4-SHA
    0x0004, // RC4-MD5
    0xc011, // ECDHE-RSA-RC4-SHA
    0x00ff, // TLS_EMPTY_RENEGOTIATION_INFO_SCSV
];

/// OpenSSL's name of a suite from [`LEGACY_SUITES`], else its number.
pub fn suite_name(suite: u16) -> String {
    match suite {
        0xc00a => "ECDHE-ECDSA-AES256-SHA".into(),
        0xc014 => "ECDHE-RSA-AES256-SHA".into(),
        0xc009 => "ECDHE-ECDSA-AES128-SHA".into(),
        0xc013 => "ECDHE-RSA-AES128-SHA".into(),
        0x0039 => "DHE-RSA-AES256-SHA".into(),
        0x0033 => "DHE-RSA-AES128-SHA".into(),
        0x0038 => "DHE-DSS-AES256-SHA".into(),
        0x0032 => "DHE-DSS-AES128-SHA".into(),
        0x0035 => "AES256-SHA".into(),
        0x002f => "AES128-SHA".into(),
        0x0084 => "CAMELLIA256-SHA".into(),
        0x0041 => "CAMELLIA128-SHA".into(),
        0xc012 => "ECDHE-RSA-DES-CBC3-SHA".into(),
        0x0016 => "EDH-RSA-DES-CBC3-SHA".into(),
        0x000a => "DES-CBC3-SHA".into(),
        0x0005 => "RC4-SHA".into(),
        0x0004 => "RC4-MD5".into(),
        0xc011 => "ECDHE-RSA-RC4-SHA".into(),
        other => format!("0x{other:04x}"),
    }
}

fn push_u16(out: &mut Vec<u8>, v: u16) {
    out.extend_from_slice(&v.to_be_bytes());
}

/// `body` behind its length, in `width` bytes (1, 2 or 3).
fn with_length(out: &mut Vec<u8>, width: usize, body: &[u8]) {
    let len = (body.len() as u32).to_be_bytes();
    out.extend_from_slice(&len[4 - width..]);
    out.extend_from_slice(body);
}

/// The ClientHello record: `version` in the hello, TLS 1.0 on the record (as clients of the
/// time wrote their first record), SNI when `sni` is a name, the curves and point format
/// ECDHE needs.
pub fn client_hello(version: LegacyVersion, sni: Option<&str>, random: [u8; 32]) -> Vec<u8> {
    let mut hello = Vec::with_capacity(256);
    hello.extend_from_slice(&version.wire());
    hello.extend_from_slice(&random);
    hello.push(0); // no session id
    let mut suites = Vec::with_capacity(LEGACY_SUITES.len() * 2);
    for s in LEGACY_SUITES {
        push_u16(&mut suites, s);
    }
    with_length(&mut hello, 2, &suites);
    hello.extend_from_slice(&[1, 0]); // compression: null only
    let mut extensions = Vec::new();
    if let Some(name) = sni {
        let mut entry = vec![0]; // host_name
        with_length(&mut entry, 2, name.as_bytes());
        let mut list = Vec::new();
        with_length(&mut list, 2, &entry);
        push_u16(&mut extensions, 0x0000);
        with_length(&mut extensions, 2, &list);
    }
    // supported_groups: x25519, secp256r1, secp384r1, secp521r1.
    push_u16(&mut extensions, 0x000a);
    with_length(
        &mut extensions,
        2,
        &[0, 8, 0, 0x1d, 0, 0x17, 0, 0x18, 0, 0x19],
    );
    // ec_point_formats: uncompressed.
    push_u16(&mut extensions, 0x000b);
    with_length(&mut extensions, 2, &[1, 0]);
    with_length(&mut hello, 2, &extensions);

    let mut handshake = vec![1]; // client_hello
    with_length(&mut handshake, 3, &hello);
    let mut record = vec![22, 3, 1];
    with_length(&mut record, 2, &handshake);
    record
}

/// RFC 5246 §7.2's name of an alert description.
fn alert_name(description: u8) -> String {
    match description {
        0 => "close_notify".into(),
        10 => "unexpected_message".into(),
        40 => "handshake_failure".into(),
        47 => "illegal_parameter".into(),
        50 => "decode_error".into(),
        70 => "protocol_version".into(),
        71 => "insufficient_security".into(),
        80 => "internal_error".into(),
        86 => "inappropriate_fallback".into(),
        112 => "unrecognized_name".into(),
        other => format!("{other}"),
    }
}

/// Most handshake bytes read before the certificate: a chain of a few large certificates.
const MAX_HANDSHAKE: usize = 256 * 1024;

fn u24(b: &[u8]) -> usize {
    (b[0] as usize) << 16 | (b[1] as usize) << 8 | b[2] as usize
}

/// The certificates (DER, leaf first) of a Certificate handshake message's body.
fn certificate_list(body: &[u8]) -> Result<Vec<Vec<u8>>, ProbeError> {
    let bad = || ProbeError::NotTls("a malformed Certificate message".into());
    if body.len() < 3 || u24(body) != body.len() - 3 {
        return Err(bad());
    }
    let mut rest = &body[3..];
    let mut chain = Vec::new();
    while !rest.is_empty() {
        if rest.len() < 3 || u24(rest) > rest.len() - 3 {
            return Err(bad());
        }
        let len = u24(rest);
        chain.push(rest[3..3 + len].to_vec());
        rest = &rest[3 + len..];
    }
    Ok(chain)
}

/// Reads the server's first answer: an alert, or handshake records up to the ServerHello
/// and, when the server accepted the version, up to its Certificate message (sent in the
/// clear before TLS 1.3), so an endpoint that speaks nothing newer still shows its chain.
pub async fn read_answer<R: AsyncReadExt + Unpin>(
    reader: &mut R,
    offered: LegacyVersion,
) -> Result<Verdict, ProbeError> {
    let mut handshake: Vec<u8> = Vec::new();
    let mut parsed = 0;
    let mut accepted: Option<u16> = None;
    let without_chain = |cipher_suite| Verdict::Accepted {
        cipher_suite,
        chain: Vec::new(),
    };
    loop {
        // Every complete handshake message read so far, in order.
        while handshake.len() >= parsed + 4 {
            let kind = handshake[parsed];
            let len = u24(&handshake[parsed + 1..]);
            if handshake.len() < parsed + 4 + len {
                break;
            }
            let body = &handshake[parsed + 4..parsed + 4 + len];
            match (accepted, kind) {
                (None, 2) => {
                    let session_len = body.get(34).copied().unwrap_or(0) as usize;
                    if body.len() < 35 + session_len + 2 || session_len > 32 {
                        return Err(ProbeError::NotTls("a malformed ServerHello".into()));
                    }
                    let version = [body[0], body[1]];
                    if version != offered.wire() {
                        // A server that speaks only older versions answers with its newest.
                        let name = match version {
                            [3, 0] => "SSLv3".to_owned(),
                            [3, minor @ 1..=4] => format!("TLSv1.{}", minor - 1),
                            [major, minor] => format!("version {major}.{minor}"),
                        };
                        return Ok(Verdict::Refused {
                            reason: format!("the server answered with {name}"),
                        });
                    }
                    accepted = Some(u16::from_be_bytes([
                        body[35 + session_len],
                        body[36 + session_len],
                    ]));
                }
                (None, other) => {
                    return Err(ProbeError::NotTls(format!(
                        "handshake message {other} where a ServerHello (2) belongs"
                    )))
                }
                (Some(cipher_suite), 11) => {
                    return Ok(Verdict::Accepted {
                        cipher_suite,
                        chain: certificate_list(body)?,
                    })
                }
                // Anything else after the ServerHello: a suite without certificates.
                (Some(cipher_suite), _) => return Ok(without_chain(cipher_suite)),
            }
            parsed += 4 + len;
        }
        if handshake.len() > MAX_HANDSHAKE {
            return match accepted {
                Some(suite) => Ok(without_chain(suite)),
                None => Err(ProbeError::NotTls("an endless ServerHello".into())),
            };
        }
        let mut header = [0u8; 5];
        match read_exact_or_eof(reader, &mut header).await? {
            0 if handshake.is_empty() => return Err(ProbeError::Closed),
            n if n < header.len() => {
                return match accepted {
                    Some(suite) => Ok(without_chain(suite)),
                    None => Err(ProbeError::NotTls(format!(
                        "a {n}-byte answer where a TLS record header has 5"
                    ))),
                }
            }
            _ => {}
        }
        let (kind, major, length) = (
            header[0],
            header[1],
            u16::from_be_bytes([header[3], header[4]]) as usize,
        );
        if !matches!(kind, 21 | 22) || major != 3 || length == 0 || length > 16384 + 2048 {
            return match accepted {
                Some(suite) => Ok(without_chain(suite)),
                None => Err(ProbeError::NotTls(format!("record header {header:02x?}"))),
            };
        }
        let mut body = vec![0u8; length];
        if read_exact_or_eof(reader, &mut body).await? < length {
            return match accepted {
                Some(suite) => Ok(without_chain(suite)),
                None => Err(ProbeError::NotTls("a truncated record".into())),
            };
        }
        if kind == 21 {
            let description = body.get(1).copied().unwrap_or(0);
            return Ok(match accepted {
                Some(suite) => without_chain(suite),
                None => Verdict::Refused {
                    reason: format!("alert {}", alert_name(description)),
                },
            });
        }
        handshake.extend_from_slice(&body);
    }
}

/// Fills `buf` unless the peer closes first; the number of bytes read.
async fn read_exact_or_eof<R: AsyncReadExt + Unpin>(
    reader: &mut R,
    buf: &mut [u8],
) -> Result<usize, ProbeError> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]).await {
            Ok(0) => break,
            Ok(n) => filled += n,
            // A reset right after the hello is how some servers refuse it: no answer.
            Err(e) if filled == 0 && e.kind() == std::io::ErrorKind::ConnectionReset => {
                return Ok(0)
            }
            Err(e) => return Err(ProbeError::Io(e)),
        }
    }
    Ok(filled)
}

fn starttls_error(e: EndpointError) -> ProbeError {
    ProbeError::StartTls(e.to_string())
}

/// Whether `target` accepts `version`: connect (within the connect timeout), then STARTTLS
/// if the endpoint speaks it, the ClientHello and the answer (within the handshake timeout).
pub async fn probe(
    target: &Target,
    version: LegacyVersion,
    options: &ScanOptions,
) -> Result<Verdict, ProbeError> {
    let mut tcp = tokio::time::timeout(
        options.connect_timeout,
        TcpStream::connect((target.host.as_str(), target.port)),
    )
    .await
    .map_err(|_| ProbeError::ConnectTimeout(options.connect_timeout))?
    .map_err(ProbeError::Connect)?;
    let _ = tcp.set_nodelay(true);
    let mut random = [0u8; 32];
    // The random need not be secret (no key is ever agreed), only fresh.
    let provider = rustls::crypto::ring::default_provider();
    if provider.secure_random.fill(&mut random).is_err() {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos()
            .to_be_bytes();
        random[..16].copy_from_slice(&nanos);
    }
    let exchange = async {
        starttls::prelude(&mut tcp, options.starttls.for_port(target.port))
            .await
            .map_err(starttls_error)?;
        tcp.write_all(&client_hello(version, target.sni(), random))
            .await
            .map_err(ProbeError::Io)?;
        read_answer(&mut tcp, version).await
    };
    tokio::time::timeout(options.handshake_timeout, exchange)
        .await
        .map_err(|_| ProbeError::Timeout(options.handshake_timeout))?
}

/// Probes TLS 1.0 and 1.1, one after the other.
pub async fn probe_legacy(target: &Target, options: &ScanOptions) -> Vec<ProtocolCheck> {
    let mut checks = Vec::with_capacity(LegacyVersion::ALL.len());
    for version in LegacyVersion::ALL {
        let result = probe(target, version, options).await;
        checks.push(ProtocolCheck { version, result });
    }
    checks
}

/// The chain an accepted old version presented (the first with one), for an endpoint
/// whose TLS 1.2+ handshake failed.
pub fn legacy_chain(checks: &[ProtocolCheck]) -> Option<Vec<crate::model::CertificateInfo>> {
    checks.iter().find_map(|c| match &c.result {
        Ok(Verdict::Accepted { chain, .. }) if !chain.is_empty() => chain
            .iter()
            .map(|der| crate::model::CertificateInfo::from_der(der).ok())
            .collect(),
        _ => None,
    })
}

/// The old-protocol problem of an endpoint that accepted any of `checks`, naming each version
/// and the suite the server chose.
pub fn old_protocol_problem(checks: &[ProtocolCheck]) -> Option<crate::model::Problem> {
    let accepted: Vec<String> = checks
        .iter()
        .filter_map(|c| match &c.result {
            Ok(Verdict::Accepted { cipher_suite, .. }) => {
                Some(format!("{} ({})", c.version, suite_name(*cipher_suite)))
            }
            _ => None,
        })
        .collect();
    (!accepted.is_empty()).then(|| {
        crate::model::Problem::new(
            "old-protocol",
            crate::model::Severity::Warning,
            format!(
                "accepts {} (deprecated by RFC 8996)",
                accepted.join(" and ")
            ),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_client_hello_is_well_formed() {
        let record = client_hello(LegacyVersion::Tls11, Some("mail.example.com"), [7; 32]);
        assert_eq!(&record[..3], &[22, 3, 1]);
        let length = u16::from_be_bytes([record[3], record[4]]) as usize;
        assert_eq!(record.len(), 5 + length);
        assert_eq!(record[5], 1, "client_hello");
        let hello_len = u32::from_be_bytes([0, record[6], record[7], record[8]]) as usize;
        assert_eq!(hello_len + 4, length);
        assert_eq!(&record[9..11], &[3, 2], "TLS 1.1 offered");
        let sni = b"mail.example.com";
        assert!(record.windows(sni.len()).any(|w| w == sni));
        let without = client_hello(LegacyVersion::Tls10, None, [7; 32]);
        assert_eq!(&without[9..11], &[3, 1]);
        assert_eq!(record.len() - without.len(), 4 + 2 + 1 + 2 + sni.len());
    }

    fn server_hello(version: [u8; 2], session: usize, suite: u16) -> Vec<u8> {
        let mut body = version.to_vec();
        body.extend_from_slice(&[1; 32]);
        body.push(session as u8);
        body.extend(std::iter::repeat_n(9, session));
        body.extend_from_slice(&suite.to_be_bytes());
        body.push(0);
        assert_eq!(body.len(), 2 + 32 + 1 + session + 3);
        let mut handshake = vec![2];
        with_length(&mut handshake, 3, &body);
        handshake
    }

    fn record(kind: u8, body: &[u8]) -> Vec<u8> {
        let mut r = vec![kind, 3, 1];
        with_length(&mut r, 2, body);
        r
    }

    async fn answer(bytes: Vec<u8>) -> Result<Verdict, ProbeError> {
        read_answer(&mut bytes.as_slice(), LegacyVersion::Tls10).await
    }

    #[tokio::test]
    async fn answers_are_read_as_verdicts_or_errors() {
        let hello = server_hello([3, 1], 32, 0xc014);
        assert_eq!(
            answer(record(22, &hello)).await.unwrap(),
            Verdict::Accepted {
                cipher_suite: 0xc014,
                chain: vec![]
            }
        );
        // The ServerHello split over two records, the Certificate message after it.
        let mut certificates = Vec::new();
        with_length(&mut certificates, 3, &[0, 0, 2, 0xaa, 0xbb, 0, 0, 1, 0xcc]);
        let mut message = vec![11];
        with_length(&mut message, 3, &certificates);
        let mut split = record(22, &hello[..20]);
        split.extend(record(22, &[&hello[20..], &message[..]].concat()));
        assert_eq!(
            answer(split).await.unwrap(),
            Verdict::Accepted {
                cipher_suite: 0xc014,
                chain: vec![vec![0xaa, 0xbb], vec![0xcc]]
            }
        );
        assert_eq!(
            answer(record(21, &[2, 70])).await.unwrap(),
            Verdict::Refused {
                reason: "alert protocol_version".into()
            }
        );
        assert!(matches!(
            answer(record(22, &server_hello([3, 3], 0, 0xc02f))).await,
            Ok(Verdict::Refused { reason }) if reason == "the server answered with TLSv1.2"
        ));
        assert!(matches!(answer(vec![]).await, Err(ProbeError::Closed)));
        assert!(matches!(
            answer(b"HTTP/1.1 400 Bad Request\r\n\r\n".to_vec()).await,
            Err(ProbeError::NotTls(_))
        ));
        let mut truncated = record(22, &hello);
        truncated.truncate(30);
        assert!(matches!(
            answer(truncated).await,
            Err(ProbeError::NotTls(_))
        ));
    }

    #[test]
    fn versions_parse_as_people_write_them() {
        for (text, version) in [
            ("TLSv1.0", LegacyVersion::Tls10),
            ("tls1", LegacyVersion::Tls10),
            ("TLSv1", LegacyVersion::Tls10),
            ("tls1_1", LegacyVersion::Tls11),
            ("TLSv1.1", LegacyVersion::Tls11),
        ] {
            assert_eq!(LegacyVersion::parse(text), Some(version), "{text}");
        }
        assert_eq!(LegacyVersion::parse("TLSv1.2"), None);
    }
}
