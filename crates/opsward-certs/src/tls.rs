//! Certificates on TLS endpoints: connect, (optionally) STARTTLS, handshake, record the
//! presented chain, close. Every endpoint is bounded by a connect timeout, a handshake
//! timeout and the scan's total deadline, so a dead or hostile peer costs at most those.

use crate::{error::EndpointError, model::CertificateInfo, protocols::ProtocolCheck, starttls};
use rustls::{
    client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier},
    pki_types::{CertificateDer, ServerName, UnixTime},
    DigitallySignedStruct, SignatureScheme,
};
use std::{
    net::IpAddr,
    sync::{Arc, Mutex},
    time::Duration,
};
use tokio::{net::TcpStream, sync::Semaphore, time::Instant};
use tracing::Instrument;

/// Whether to speak a plain-text protocol before the TLS handshake.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum StartTls {
    /// By port: SMTP on 25 and 587, IMAP on 143, POP3 on 110, FTP on 21, LDAP on 389,
    /// PostgreSQL on 5432; none elsewhere.
    #[default]
    Auto,
    None,
    Smtp,
    Imap,
    Pop3,
    Ftp,
    Ldap,
    Postgres,
}

#[derive(Debug, Clone)]
pub struct ScanOptions {
    pub connect_timeout: Duration,
    /// For STARTTLS plus the TLS handshake.
    pub handshake_timeout: Duration,
    /// For the whole scan; endpoints not done by then report `EndpointError::Deadline`.
    pub total_deadline: Duration,
    /// Endpoints scanned at once.
    pub concurrency: usize,
    pub starttls: StartTls,
    /// Also probe whether each endpoint that answers TLS accepts TLS 1.0 and 1.1 (two more
    /// connections, each within the same timeouts): see [`crate::protocols`].
    pub legacy_protocols: bool,
}

impl StartTls {
    pub const ALL: [StartTls; 8] = [
        StartTls::Auto,
        StartTls::None,
        StartTls::Smtp,
        StartTls::Imap,
        StartTls::Pop3,
        StartTls::Ftp,
        StartTls::Ldap,
        StartTls::Postgres,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            StartTls::Auto => "auto",
            StartTls::None => "none",
            StartTls::Smtp => "smtp",
            StartTls::Imap => "imap",
            StartTls::Pop3 => "pop3",
            StartTls::Ftp => "ftp",
            StartTls::Ldap => "ldap",
            StartTls::Postgres => "postgres",
        }
    }

    /// The protocol spoken on `port`: `Auto` picks by the well-known port.
    pub fn for_port(self, port: u16) -> StartTls {
        match (self, port) {
            (StartTls::Auto, 25 | 587) => StartTls::Smtp,
            (StartTls::Auto, 143) => StartTls::Imap,
            (StartTls::Auto, 110) => StartTls::Pop3,
            (StartTls::Auto, 21) => StartTls::Ftp,
            (StartTls::Auto, 389) => StartTls::Ldap,
            (StartTls::Auto, 5432) => StartTls::Postgres,
            (StartTls::Auto, _) => StartTls::None,
            (chosen, _) => chosen,
        }
    }

    /// Whether an SMTP STARTTLS prelude precedes the handshake on `port`.
    pub fn speaks_smtp(self, port: u16) -> bool {
        self.for_port(port) == StartTls::Smtp
    }
}

impl std::str::FromStr for StartTls {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        StartTls::ALL
            .into_iter()
            .find(|t| t.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| {
                format!("{s:?} is not a STARTTLS protocol (auto, none, smtp, imap, pop3, ftp, ldap, postgres)")
            })
    }
}

impl Default for ScanOptions {
    fn default() -> Self {
        ScanOptions {
            connect_timeout: Duration::from_secs(5),
            handshake_timeout: Duration::from_secs(5),
            total_deadline: Duration::from_secs(300),
            concurrency: 64,
            starttls: StartTls::Auto,
            legacy_protocols: true,
        }
    }
}

/// A parsed `host:port` target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub host: String,
    pub port: u16,
    /// The name clients use when it is not `host` (an asset reached by its address): sent
    /// as SNI and checked against the certificate.
    pub server_name: Option<String>,
}

impl Target {
    /// `host:port`, `1.2.3.4:port` or `[::1]:port`; without a port, 443. A name at an
    /// address, `www.example.com@192.0.2.10:443` or `www.example.com@[2001:db8::1]:443`,
    /// connects to the address and sends (and checks) the name: one server of several
    /// behind a name, reached without a hosts file.
    pub fn parse(text: &str) -> Result<Target, EndpointError> {
        let Some((name, address)) = text.split_once('@') else {
            return Target::parse_address(text);
        };
        let bad = || EndpointError::BadTarget(text.to_owned());
        let name = name.trim_end_matches('.').to_ascii_lowercase();
        // The name is what clients ask for: a DNS name (SNI carries no addresses).
        if name.parse::<IpAddr>().is_ok() || ServerName::try_from(name.as_str()).is_err() {
            return Err(bad());
        }
        if address.contains('@') {
            return Err(bad());
        }
        let mut target = Target::parse_address(address).map_err(|_| bad())?;
        if name != target.host {
            target.server_name = Some(name);
        }
        Ok(target)
    }

    fn parse_address(text: &str) -> Result<Target, EndpointError> {
        let bad = || EndpointError::BadTarget(text.to_owned());
        let (host, port) = if let Some(rest) = text.strip_prefix('[') {
            let (host, after) = rest.split_once(']').ok_or_else(bad)?;
            host.parse::<std::net::Ipv6Addr>().map_err(|_| bad())?;
            match after.strip_prefix(':') {
                Some(port) => (host, port),
                None if after.is_empty() => (host, "443"),
                None => return Err(bad()),
            }
        } else {
            match text.split_once(':') {
                Some((host, port)) if !port.contains(':') => (host, port),
                Some(_) => return Err(bad()), // a bare IPv6 address: its port is ambiguous
                None => (text, "443"),
            }
        };
        let port: u16 = port.parse().map_err(|_| bad())?;
        if host.is_empty() || port == 0 {
            return Err(bad());
        }
        Ok(Target {
            host: host.to_owned(),
            port,
            server_name: None,
        })
    }

    /// `text` as [`Target::parse`], with `server_name` as SNI when it is a host name other
    /// than the one connected to.
    pub fn with_server_name(
        text: &str,
        server_name: Option<&str>,
    ) -> Result<Target, EndpointError> {
        let mut target = Target::parse(text)?;
        target.server_name = server_name
            .filter(|n| !n.is_empty() && *n != target.host && n.parse::<IpAddr>().is_err())
            .map(str::to_owned);
        Ok(target)
    }

    /// The place as text, parsed back by [`Target::parse`]: `host:port`, or
    /// `name@address:port` when a name is sent to an address. Two servers behind one name
    /// are two places, and so are two names served at one address.
    pub fn location(&self) -> String {
        let at = crate::targets::endpoint(&self.host, self.port);
        match &self.server_name {
            Some(name) => format!("{name}@{at}"),
            None => at,
        }
    }

    /// The name the certificate must be valid for: the server name, else the host.
    pub fn checked_name(&self) -> &str {
        self.server_name.as_deref().unwrap_or(&self.host)
    }

    pub fn ip(&self) -> Option<IpAddr> {
        self.host.parse().ok()
    }

    /// The SNI name sent: the host name, none for IP addresses.
    pub fn sni(&self) -> Option<&str> {
        self.server_name
            .as_deref()
            .or_else(|| self.ip().is_none().then_some(self.host.as_str()))
    }
}

/// What one endpoint presented.
#[derive(Debug)]
pub struct EndpointReport {
    /// The target as given.
    pub target: String,
    pub parsed: Option<Target>,
    /// The chain as presented, leaf first.
    pub result: Result<Vec<CertificateInfo>, EndpointError>,
    /// The old protocol versions probed (none when not asked, or when the endpoint did not
    /// answer TLS at all).
    pub protocols: Vec<ProtocolCheck>,
}

/// Scan all `targets` (`host:port` texts), at most `options.concurrency` at a time. Reports
/// keep the targets' order.
pub async fn scan_endpoints(targets: &[String], options: &ScanOptions) -> Vec<EndpointReport> {
    let parsed: Vec<(String, Result<Target, EndpointError>)> = targets
        .iter()
        .map(|t| (t.clone(), Target::parse(t)))
        .collect();
    scan_targets(parsed, options).await
}

/// Scan targets already parsed (each with the text it came from), like [`scan_endpoints`].
pub async fn scan_targets(
    targets: Vec<(String, Result<Target, EndpointError>)>,
    options: &ScanOptions,
) -> Vec<EndpointReport> {
    let deadline = Instant::now() + options.total_deadline;
    let permits = Arc::new(Semaphore::new(options.concurrency.max(1)));
    let mut tasks = Vec::with_capacity(targets.len());
    let mut texts = Vec::with_capacity(targets.len());
    for (text, parsed) in targets {
        texts.push(text.clone());
        let options = options.clone();
        let permits = permits.clone();
        tasks.push(tokio::spawn(async move {
            match parsed {
                Err(e) => EndpointReport {
                    target: text,
                    parsed: None,
                    result: Err(e),
                    protocols: Vec::new(),
                },
                Ok(target) => {
                    let Ok(Ok(permit)) =
                        tokio::time::timeout_at(deadline, permits.acquire_owned()).await
                    else {
                        return EndpointReport {
                            target: text,
                            parsed: Some(target),
                            result: Err(EndpointError::Deadline),
                            protocols: Vec::new(),
                        };
                    };
                    let mut result =
                        tokio::time::timeout_at(deadline, scan_endpoint(&target, &options))
                            .await
                            .unwrap_or(Err(EndpointError::Deadline));
                    // Probed where a TLS server answered: after a handshake, or one that
                    // failed (perhaps because the server speaks nothing rustls does).
                    let answered = matches!(result, Ok(_) | Err(EndpointError::Handshake(_)));
                    let protocols = if options.legacy_protocols && answered {
                        tokio::time::timeout_at(
                            deadline,
                            crate::protocols::probe_legacy(&target, &options),
                        )
                        .await
                        .unwrap_or_default()
                    } else {
                        Vec::new()
                    };
                    drop(permit);
                    if let Err(EndpointError::Handshake(why)) = &result {
                        if let Some(chain) = crate::protocols::legacy_chain(&protocols) {
                            tracing::debug!(error = %why, "chain read over an old protocol");
                            result = Ok(chain);
                        }
                    }
                    EndpointReport {
                        target: text,
                        parsed: Some(target),
                        result,
                        protocols,
                    }
                }
            }
        }));
    }
    let mut reports = Vec::with_capacity(tasks.len());
    for (task, text) in tasks.into_iter().zip(texts) {
        reports.push(task.await.unwrap_or_else(|e| EndpointReport {
            target: text,
            parsed: None,
            result: Err(EndpointError::Handshake(format!("scan task failed: {e}"))),
            protocols: Vec::new(),
        }));
    }
    reports
}

/// Connect, STARTTLS if asked, handshake, and return the presented chain.
pub async fn scan_endpoint(
    target: &Target,
    options: &ScanOptions,
) -> Result<Vec<CertificateInfo>, EndpointError> {
    let span = tracing::info_span!("tls_scan", host = %target.host, port = target.port);
    handshake_and_record(target, options).instrument(span).await
}

async fn handshake_and_record(
    target: &Target,
    options: &ScanOptions,
) -> Result<Vec<CertificateInfo>, EndpointError> {
    let server_name: ServerName<'static> = match (target.ip(), target.sni()) {
        (_, Some(name)) => ServerName::try_from(name.to_owned())
            .map_err(|_| EndpointError::BadTarget(name.to_owned()))?,
        (Some(ip), None) => ServerName::IpAddress(ip.into()),
        (None, None) => ServerName::try_from(target.host.clone())
            .map_err(|_| EndpointError::BadTarget(target.host.clone()))?,
    };
    let mut tcp = tokio::time::timeout(
        options.connect_timeout,
        TcpStream::connect((target.host.as_str(), target.port)),
    )
    .await
    .map_err(|_| EndpointError::ConnectTimeout(options.connect_timeout))?
    .map_err(EndpointError::Connect)?;
    let _ = tcp.set_nodelay(true);

    let prelude = options.starttls.for_port(target.port);
    let recorder = Arc::new(ChainRecorder::default());
    let handshake = async {
        starttls::prelude(&mut tcp, prelude).await?;
        let connector = tokio_rustls::TlsConnector::from(Arc::new(client_config(recorder.clone())));
        connector
            .connect(server_name, tcp)
            .await
            .map_err(|e| EndpointError::Handshake(e.to_string()))
    };
    let outcome = tokio::time::timeout(options.handshake_timeout, handshake).await;
    // Whatever happened after the server sent its certificates, they are what we came for.
    let presented = recorder.take();
    match outcome {
        Err(_) if presented.is_empty() => {
            return Err(EndpointError::HandshakeTimeout(options.handshake_timeout))
        }
        Ok(Err(e)) if presented.is_empty() => return Err(e),
        Ok(Err(e)) => tracing::debug!(error = %e, "handshake failed after the certificates"),
        // The connection is dropped (closed) here: no application data is ever sent.
        _ => {}
    }
    let mut chain = Vec::with_capacity(presented.len());
    for der in &presented {
        chain.push(
            CertificateInfo::from_der(der.as_ref())
                .map_err(|e| EndpointError::Handshake(format!("presented certificate: {e}")))?,
        );
    }
    Ok(chain)
}

fn client_config(recorder: Arc<ChainRecorder>) -> rustls::ClientConfig {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("the ring provider supports the default TLS versions")
        .dangerous()
        .with_custom_certificate_verifier(recorder)
        .with_no_client_auth()
}

/// A certificate "verifier" that records the chain the server presents and accepts it.
///
/// This is a recorder for a scanner, not a way to skip verification on a real connection:
/// the scan must see expired, self-signed and wrong-name chains to report them, and its
/// verdict is computed separately by `checks` and `chain`. The connection it serves sends no
/// application data and is closed right after the handshake. For the same reason handshake
/// signatures are accepted unchecked: a 1024-bit RSA key would otherwise end the handshake
/// before the weak certificate could be reported.
#[derive(Debug, Default)]
struct ChainRecorder {
    chain: Mutex<Vec<CertificateDer<'static>>>,
}

impl ChainRecorder {
    fn take(&self) -> Vec<CertificateDer<'static>> {
        std::mem::take(&mut *self.chain.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

impl ServerCertVerifier for ChainRecorder {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let mut chain = self.chain.lock().unwrap_or_else(|p| p.into_inner());
        chain.clear();
        chain.push(end_entity.clone().into_owned());
        chain.extend(intermediates.iter().map(|c| c.clone().into_owned()));
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        _message: &[u8],
        _cert: &CertificateDer<'_>,
        _dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Ok(HandshakeSignatureValid::assertion())
    }

    fn verify_tls13_signature(
        &self,
        _message: &[u8],
        _cert: &CertificateDer<'_>,
        _dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Ok(HandshakeSignatureValid::assertion())
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        vec![
            SignatureScheme::ECDSA_NISTP256_SHA256,
            SignatureScheme::ECDSA_NISTP384_SHA384,
            SignatureScheme::ECDSA_NISTP521_SHA512,
            SignatureScheme::ED25519,
            SignatureScheme::RSA_PSS_SHA256,
            SignatureScheme::RSA_PSS_SHA384,
            SignatureScheme::RSA_PSS_SHA512,
            SignatureScheme::RSA_PKCS1_SHA256,
            SignatureScheme::RSA_PKCS1_SHA384,
            SignatureScheme::RSA_PKCS1_SHA512,
            SignatureScheme::RSA_PKCS1_SHA1,
            SignatureScheme::ECDSA_SHA1_Legacy,
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_parse_with_ipv4_ipv6_and_names() {
        let t = Target::parse("[::1]:8443").unwrap();
        assert_eq!((t.host.as_str(), t.port, t.sni()), ("::1", 8443, None));
        let t = Target::parse("192.0.2.1:25").unwrap();
        assert_eq!((t.host.as_str(), t.port, t.sni()), ("192.0.2.1", 25, None));
        let t = Target::parse("mail.example.com").unwrap();
        assert_eq!((t.port, t.sni()), (443, Some("mail.example.com")));
        for bad in [
            "::1:443",
            "[::1",
            "[nothost]:1",
            "host:0",
            "host:x",
            ":443",
            "[::1]x",
        ] {
            assert!(Target::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_name_at_an_address_connects_to_the_address_and_sends_the_name() {
        let t = Target::parse("WWW.Example.com@192.0.2.10:8443").unwrap();
        assert_eq!(
            (t.host.as_str(), t.port, t.sni(), t.checked_name()),
            (
                "192.0.2.10",
                8443,
                Some("www.example.com"),
                "www.example.com"
            )
        );
        assert_eq!(t.location(), "www.example.com@192.0.2.10:8443");
        let t = Target::parse("www.example.com@[2001:db8::1]:443").unwrap();
        assert_eq!(
            (t.host.as_str(), t.sni()),
            ("2001:db8::1", Some("www.example.com"))
        );
        assert_eq!(t.location(), "www.example.com@[2001:db8::1]:443");
        let t = Target::parse("www.example.com@lb-1.internal").unwrap();
        assert_eq!((t.host.as_str(), t.port), ("lb-1.internal", 443));
        // The same name as the host: nothing to override.
        let t = Target::parse("host.test@host.test:443").unwrap();
        assert_eq!(
            (t.server_name.as_deref(), t.location()),
            (None, "host.test:443".into())
        );
        for bad in [
            "@192.0.2.1:443",
            "www.example.com@",
            "192.0.2.9@192.0.2.1:443",
            "a b@192.0.2.1:443",
            "www@a@192.0.2.1:443",
            "www.example.com@2001:db8::1:443",
            "www.example.com@[2001:db8::1]x",
            "www.example.com@192.0.2.1:0",
        ] {
            let e = Target::parse(bad).unwrap_err();
            assert!(e.to_string().contains("name@address:port"), "{bad}: {e}");
        }
    }

    #[test]
    fn auto_starttls_picks_the_protocol_by_port() {
        let picks: Vec<_> = [25, 587, 143, 110, 21, 389, 5432, 443, 993]
            .into_iter()
            .map(|p| StartTls::Auto.for_port(p).as_str())
            .collect();
        assert_eq!(
            picks,
            ["smtp", "smtp", "imap", "pop3", "ftp", "ldap", "postgres", "none", "none"]
        );
        assert_eq!(StartTls::Ldap.for_port(636), StartTls::Ldap);
        for t in StartTls::ALL {
            assert_eq!(t.as_str().parse::<StartTls>(), Ok(t));
        }
    }

    #[test]
    fn auto_starttls_means_smtp_on_25_and_587_only() {
        assert!(StartTls::Auto.speaks_smtp(25));
        assert!(StartTls::Auto.speaks_smtp(587));
        assert!(!StartTls::Auto.speaks_smtp(465));
        assert!(!StartTls::None.speaks_smtp(25));
        assert!(StartTls::Smtp.speaks_smtp(2525));
    }
}
