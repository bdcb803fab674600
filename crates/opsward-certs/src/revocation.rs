//! Revocation by CRL: for each certificate of a presented chain whose issuer was presented
//! too, fetch the CRL named in its CRL distribution points (plain HTTP, as RFC 5280 expects,
//! with a timeout and a size cap), check the CRL's signature with the issuer's key, and
//! report `revoked` when the serial is listed. A CRL that cannot be fetched or verified says
//! nothing (it is logged): revocation is reported only where a CRL is reachable.

use crate::{
    model::{CertificateInfo, Problem, Severity},
    Finding,
};
use chrono::{TimeZone, Utc};
use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::Duration,
};
use thiserror::Error;
use x509_parser::{
    certificate::X509Certificate,
    extensions::{DistributionPointName, GeneralName, ParsedExtension},
    prelude::FromDer,
    revocation_list::CertificateRevocationList,
};

/// Largest CRL fetched (a big public CA's CRL is a few MiB).
pub const DEFAULT_MAX_CRL_BYTES: usize = 10 * 1024 * 1024;

#[derive(Debug, Clone, Error, PartialEq, Eq)]
pub enum RevocationError {
    #[error("cannot fetch {url}: {reason}")]
    Fetch { url: String, reason: String },
    #[error("CRL at {url} is larger than {max} bytes")]
    TooLarge { url: String, max: usize },
    #[error("no answer from {url} within {timeout:?}")]
    Timeout { url: String, timeout: Duration },
    #[error("CRL at {url} is not a CRL: {reason}")]
    Malformed { url: String, reason: String },
    #[error("CRL at {url} is not signed by the certificate's issuer")]
    NotFromIssuer { url: String },
}

/// The `http://` URLs of a certificate's CRL distribution points.
pub fn crl_urls(der: &[u8]) -> Vec<String> {
    let Ok((_, cert)) = X509Certificate::from_der(der) else {
        return Vec::new();
    };
    let mut urls = Vec::new();
    for ext in cert.extensions() {
        if let ParsedExtension::CRLDistributionPoints(points) = ext.parsed_extension() {
            for point in points.iter() {
                if let Some(DistributionPointName::FullName(names)) = &point.distribution_point {
                    for name in names {
                        if let GeneralName::URI(uri) = name {
                            if uri.to_ascii_lowercase().starts_with("http://") {
                                urls.push((*uri).to_owned());
                            }
                        }
                    }
                }
            }
        }
    }
    urls
}

/// When `cert` was revoked according to the CRL `crl` (DER or PEM), which must be signed by
/// `issuer`; `None` when it is not listed.
pub fn revoked_at(
    url: &str,
    crl: &[u8],
    cert: &CertificateInfo,
    issuer: &CertificateInfo,
) -> Result<Option<chrono::DateTime<Utc>>, RevocationError> {
    let malformed = |reason: String| RevocationError::Malformed {
        url: url.to_owned(),
        reason,
    };
    let der = if crl.starts_with(b"-----BEGIN") {
        use rustls::pki_types::pem::PemObject;
        rustls::pki_types::CertificateRevocationListDer::from_pem_slice(crl)
            .map_err(|e| malformed(e.to_string()))?
            .as_ref()
            .to_vec()
    } else {
        crl.to_vec()
    };
    let (_, list) =
        CertificateRevocationList::from_der(&der).map_err(|e| malformed(e.to_string()))?;
    let (_, issuer_cert) =
        X509Certificate::from_der(&issuer.der).map_err(|e| malformed(e.to_string()))?;
    if list.issuer().as_raw() != issuer_cert.subject().as_raw()
        || list.verify_signature(issuer_cert.public_key()).is_err()
    {
        return Err(RevocationError::NotFromIssuer {
            url: url.to_owned(),
        });
    }
    let serial = hex::decode(&cert.serial).unwrap_or_default();
    let revoked = list
        .iter_revoked_certificates()
        .find(|r| r.raw_serial() == serial.as_slice())
        .map(|r| {
            Utc.timestamp_opt(r.revocation_date.timestamp(), 0)
                .single()
                .unwrap_or_default()
        });
    Ok(revoked)
}

/// What fetching each CRL URL gave.
type Fetched = HashMap<String, Result<Arc<Vec<u8>>, RevocationError>>;

/// Fetches CRLs (each URL once per checker) and checks chains against them.
#[derive(Clone)]
pub struct CrlChecker {
    http: reqwest::Client,
    timeout: Duration,
    max_bytes: usize,
    fetched: Arc<Mutex<Fetched>>,
}

impl CrlChecker {
    pub fn new(timeout: Duration, max_bytes: usize) -> Self {
        CrlChecker {
            http: reqwest::Client::builder()
                .timeout(timeout)
                .connect_timeout(timeout)
                .redirect(reqwest::redirect::Policy::limited(3))
                .build()
                .unwrap_or_default(),
            timeout,
            max_bytes,
            fetched: Arc::default(),
        }
    }

    /// The CRL at `url` (fetched once per checker, within the timeout and size cap).
    pub async fn fetch(&self, url: &str) -> Result<Arc<Vec<u8>>, RevocationError> {
        if let Some(known) = self
            .fetched
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(url)
        {
            return known.clone();
        }
        let result = tokio::time::timeout(self.timeout, self.download(url))
            .await
            .unwrap_or_else(|_| {
                Err(RevocationError::Timeout {
                    url: url.to_owned(),
                    timeout: self.timeout,
                })
            })
            .map(Arc::new);
        self.fetched
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(url.to_owned(), result.clone());
        result
    }

    async fn download(&self, url: &str) -> Result<Vec<u8>, RevocationError> {
        let fetch = |e: reqwest::Error| RevocationError::Fetch {
            url: url.to_owned(),
            reason: e.to_string(),
        };
        let mut response = self
            .http
            .get(url)
            .send()
            .await
            .and_then(|r| r.error_for_status())
            .map_err(fetch)?;
        let too_large = || RevocationError::TooLarge {
            url: url.to_owned(),
            max: self.max_bytes,
        };
        if response
            .content_length()
            .is_some_and(|n| n > self.max_bytes as u64)
        {
            return Err(too_large());
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(fetch)? {
            if body.len() + chunk.len() > self.max_bytes {
                return Err(too_large());
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }

    /// Add a `revoked` problem to each certificate of a presented chain (`findings` of one
    /// endpoint, leaf first) that the CRL of its distribution point lists.
    pub async fn annotate(&self, findings: &mut [Finding]) {
        for i in 0..findings.len().saturating_sub(1) {
            let (cert, issuer) = (&findings[i].certificate, &findings[i + 1].certificate);
            for url in crl_urls(&cert.der) {
                let verdict = match self.fetch(&url).await {
                    Ok(crl) => revoked_at(&url, &crl, cert, issuer),
                    Err(e) => Err(e),
                };
                match verdict {
                    Ok(Some(at)) => {
                        findings[i].problems.push(Problem::new(
                            "revoked",
                            Severity::Critical,
                            format!(
                                "revoked on {} according to the CRL at {url}",
                                at.format("%Y-%m-%d %H:%M UTC")
                            ),
                        ));
                        break;
                    }
                    Ok(None) => break,
                    Err(e) => tracing::info!(error = %e, "CRL not usable"),
                }
            }
        }
    }
}

impl Default for CrlChecker {
    fn default() -> Self {
        CrlChecker::new(Duration::from_secs(5), DEFAULT_MAX_CRL_BYTES)
    }
}
