//! What can go wrong reading a certificate, a file, or an endpoint.

use std::time::Duration;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum CertError {
    #[error("not an X.509 certificate: {0}")]
    NotACertificate(String),
}

/// Why a file yielded no certificates (reported per file; the scan goes on).
#[derive(Debug, Error)]
pub enum FileError {
    #[error("cannot read: {0}")]
    Unreadable(#[from] std::io::Error),
    #[error("empty file")]
    Empty,
    #[error("truncated or malformed PEM: {0}")]
    BadPem(String),
    #[error("PEM certificate block {index} is not a certificate: {reason}")]
    BadPemCertificate { index: usize, reason: String },
    #[error("not a certificate file (neither PEM, DER, PKCS#12 nor a Java keystore): {0}")]
    NotACertificate(String),
    #[error("PEM without a CERTIFICATE block")]
    NoCertificateInPem,
    #[error("symbolic link loop")]
    SymlinkLoop,
    #[error("no password opens this PKCS#12 archive ({tried} tried, the empty one first)")]
    WrongPassword { tried: usize },
    #[error("truncated or malformed {0}")]
    BadKeystore(String),
}

/// Why an endpoint yielded no certificates (reported per endpoint; the scan goes on).
#[derive(Debug, Error)]
pub enum EndpointError {
    #[error("invalid target {0:?}: expected host:port, [ipv6]:port or name@address:port")]
    BadTarget(String),
    #[error("cannot resolve: {0}")]
    Resolve(std::io::Error),
    #[error("connection failed: {0}")]
    Connect(std::io::Error),
    #[error("no connection within {0:?}")]
    ConnectTimeout(Duration),
    #[error("no TLS handshake within {0:?}")]
    HandshakeTimeout(Duration),
    #[error("TLS handshake failed: {0}")]
    Handshake(String),
    #[error("STARTTLS failed: {0}")]
    StartTls(String),
    #[error("the server presented no certificate")]
    NoCertificate,
    #[error("scan deadline reached before this endpoint was done")]
    Deadline,
}
