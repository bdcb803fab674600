//! STARTTLS for IMAP, POP3, FTP and LDAP against servers speaking those protocols, and
//! PostgreSQL's SSLRequest against the real PostgreSQL of the test environment.

use crate::{
    fixtures::{openssl_fingerprint_and_end, TestCa},
    starttls_servers::{Protocol, StarttlsServer},
    tls::quick,
};
use opsward_certs::{scan_endpoints, EndpointError, ScanOptions, StartTls};
use std::time::{Duration, Instant};

fn options(starttls: StartTls) -> ScanOptions {
    ScanOptions {
        starttls,
        ..quick()
    }
}

#[tokio::test]
async fn each_starttls_protocol_reaches_the_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let leaf = TestCa::new("STARTTLS CA").issue_current(&["mail.test"]);
    let (pem, _) = leaf.write(dir.path(), "leaf");
    let (fingerprint, not_after) = openssl_fingerprint_and_end(dir.path(), &pem);
    for (protocol, starttls) in [
        (Protocol::Imap, StartTls::Imap),
        (Protocol::Pop3, StartTls::Pop3),
        (Protocol::Ftp, StartTls::Ftp),
        (Protocol::Ldap, StartTls::Ldap),
    ] {
        let server = StarttlsServer::start(protocol, &leaf, false).await;
        let reports =
            scan_endpoints(&[format!("127.0.0.1:{}", server.port)], &options(starttls)).await;
        let chain = reports[0]
            .result
            .as_ref()
            .unwrap_or_else(|e| panic!("{starttls:?}: {e}"));
        assert_eq!(chain[0].fingerprint_sha256, fingerprint, "{starttls:?}");
        assert_eq!(chain[0].not_after, not_after);
    }
}

#[tokio::test]
async fn a_refused_or_wrong_prelude_is_a_clear_error_within_the_timeout() {
    let leaf = TestCa::new("STARTTLS CA").issue_current(&["mail.test"]);
    let cases = [
        (
            Protocol::Imap,
            true,
            StartTls::Imap,
            "IMAP: STARTTLS refused",
        ),
        (Protocol::Pop3, true, StartTls::Pop3, "POP3: STLS refused"),
        (
            Protocol::Ftp,
            true,
            StartTls::Ftp,
            "FTP: AUTH TLS refused: \"530",
        ),
        (
            Protocol::Ldap,
            true,
            StartTls::Ldap,
            "LDAP: StartTLS refused with result code 52",
        ),
        // Speaking one protocol to another's server.
        (
            Protocol::Imap,
            false,
            StartTls::Pop3,
            "POP3: unexpected greeting",
        ),
        (
            Protocol::Pop3,
            false,
            StartTls::Ftp,
            "FTP: not an FTP reply",
        ),
        (
            Protocol::Ftp,
            false,
            StartTls::Imap,
            "IMAP: unexpected greeting",
        ),
        (
            Protocol::Ftp,
            false,
            StartTls::Postgres,
            "PostgreSQL: not a PostgreSQL server",
        ),
    ];
    for (protocol, refuse, starttls, expected) in cases {
        let server = StarttlsServer::start(protocol, &leaf, refuse).await;
        let started = Instant::now();
        let reports =
            scan_endpoints(&[format!("127.0.0.1:{}", server.port)], &options(starttls)).await;
        assert!(started.elapsed() < Duration::from_secs(5));
        match &reports[0].result {
            Err(EndpointError::StartTls(m)) => {
                assert!(m.starts_with(expected), "{protocol:?}/{starttls:?}: {m}")
            }
            other => panic!("{protocol:?}/{starttls:?}: {other:?}"),
        }
    }
    // A server that says nothing: LDAP speaks first and waits for the answer until the timeout.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = silent.local_addr().unwrap().port();
    let hold = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((tcp, _)) = silent.accept().await {
            held.push(tcp);
        }
    });
    let mut opts = options(StartTls::Ldap);
    opts.handshake_timeout = Duration::from_millis(500);
    let reports = scan_endpoints(&[format!("127.0.0.1:{port}")], &opts).await;
    assert!(
        matches!(reports[0].result, Err(EndpointError::HandshakeTimeout(_))),
        "{:?}",
        reports[0].result
    );
    hold.abort();
}

/// The real PostgreSQL the store tests use, when it has SSL on (its certificate must then be
/// what SSLRequest leads to). With SSL off, the scan must say so.
#[tokio::test]
async fn postgres_sslrequest_reaches_the_servers_certificate() {
    use sqlx::{Connection, Row};
    let url = opsward_testkit::postgres_base_url();
    let mut conn = sqlx::PgConnection::connect(&url)
        .await
        .expect("the test PostgreSQL");
    let ssl: String = sqlx::query("SHOW ssl")
        .fetch_one(&mut conn)
        .await
        .unwrap()
        .get(0);
    let cert_file: String = sqlx::query("SHOW ssl_cert_file")
        .fetch_one(&mut conn)
        .await
        .unwrap()
        .get(0);
    let host = url
        .split('@')
        .nth(1)
        .and_then(|h| h.split('/').next())
        .unwrap_or("127.0.0.1:5432")
        .to_string();
    let host = if host.contains(':') {
        host
    } else {
        format!("{host}:5432")
    };
    // Port 5432 picks PostgreSQL by itself.
    let reports = scan_endpoints(std::slice::from_ref(&host), &options(StartTls::Auto)).await;
    if ssl != "on" {
        assert!(
            matches!(&reports[0].result, Err(EndpointError::StartTls(m)) if m.contains("ssl = off"))
        );
        return;
    }
    let chain = reports[0]
        .result
        .as_ref()
        .unwrap_or_else(|e| panic!("{host}: {e}"));
    let dir = tempfile::tempdir().unwrap();
    let path = std::path::Path::new(&cert_file);
    let path = if path.is_absolute() {
        path.to_path_buf()
    } else {
        dir.path().join("missing")
    };
    if let Ok(pem) = std::fs::read(&path) {
        let copy = dir.path().join("server.pem");
        std::fs::write(&copy, pem).unwrap();
        let (fingerprint, _) = openssl_fingerprint_and_end(dir.path(), &copy);
        assert_eq!(chain[0].fingerprint_sha256, fingerprint);
    } else {
        // The file is the server's, not ours to read: the chain must still be a certificate.
        assert_eq!(chain[0].fingerprint_sha256.len(), 64);
    }
}
