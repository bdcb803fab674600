//! Chains explained (issue 24 item 5): when a presented chain does not lead to a trust
//! anchor, look for the missing issuer where a client would: at the certificate's Authority
//! Information Access `caIssuers` URL (plain HTTP, DER, PEM or a certs-only PKCS#7, within
//! the scan's timeout and a size cap), and among the intermediates other endpoints of the same
//! scan presented. Found, the problem is `missing-intermediate` (the server's configuration is
//! the fix); not found, `untrusted-chain` says why.

use crate::{
    chain::{check_chain_with, FoundIssuer},
    inventory::{ObservedSource, SourceKind},
    model::CertificateInfo,
    TrustStore,
};
use chrono::{DateTime, Utc};
use rustls::pki_types::{pem::PemObject, CertificateDer};
use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::Duration,
};
use x509_parser::{
    certificate::X509Certificate,
    extensions::{GeneralName, ParsedExtension},
    prelude::FromDer,
};

/// Largest issuer download (an intermediate is 1-2 KiB; a PKCS#7 bundle a few).
pub const DEFAULT_MAX_ISSUER_BYTES: usize = 64 * 1024;

/// How many missing issuers are looked for above one chain (intermediate over intermediate).
const MAX_FETCH_DEPTH: usize = 3;

/// The `http://` `caIssuers` URLs of a certificate's Authority Information Access.
pub fn ca_issuer_urls(der: &[u8]) -> Vec<String> {
    let Ok((_, cert)) = X509Certificate::from_der(der) else {
        return Vec::new();
    };
    let mut urls = Vec::new();
    for ext in cert.extensions() {
        if let ParsedExtension::AuthorityInfoAccess(aia) = ext.parsed_extension() {
            for desc in &aia.accessdescs {
                if desc.access_method
                    == x509_parser::oid_registry::OID_PKIX_ACCESS_DESCRIPTOR_CA_ISSUERS
                {
                    if let GeneralName::URI(uri) = &desc.access_location {
                        if uri.to_ascii_lowercase().starts_with("http://") {
                            urls.push((*uri).to_owned());
                        }
                    }
                }
            }
        }
    }
    urls
}

/// The certificates in a `caIssuers` answer: DER, PEM, or a certs-only PKCS#7 (DER or PEM).
/// Anything else is an error naming what was expected.
pub fn issuer_certificates(body: &[u8]) -> Result<Vec<CertificateInfo>, String> {
    if body.starts_with(b"-----BEGIN PKCS7-----") {
        let der = pem_block(body, "PKCS7").ok_or("malformed PEM PKCS#7")?;
        return certificates_in_der(&der);
    }
    if body.starts_with(b"-----BEGIN") {
        let mut out = Vec::new();
        for der in CertificateDer::pem_slice_iter(body) {
            let der = der.map_err(|e| format!("malformed PEM: {e}"))?;
            out.push(CertificateInfo::from_der(der.as_ref()).map_err(|e| e.to_string())?);
        }
        return match out.is_empty() {
            true => Err("PEM without a CERTIFICATE block".into()),
            false => Ok(out),
        };
    }
    if let Ok(cert) = CertificateInfo::from_der(body) {
        return Ok(vec![cert]);
    }
    certificates_in_der(body)
}

fn pem_block(body: &[u8], label: &str) -> Option<Vec<u8>> {
    use base64::Engine;
    let text = std::str::from_utf8(body).ok()?;
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let inner = text.split_once(&begin)?.1.split_once(&end)?.0;
    let b64: String = inner.chars().filter(|c| !c.is_whitespace()).collect();
    base64::engine::general_purpose::STANDARD.decode(b64).ok()
}

/// Every certificate inside a DER structure (a PKCS#7 `SignedData` keeps them in a
/// `[0] IMPLICIT SET`): constructed values are walked, and each SEQUENCE that is a whole
/// certificate is taken. Bounded by the input: each byte is visited at most once per level,
/// and nesting deeper than 8 is not followed.
fn certificates_in_der(der: &[u8]) -> Result<Vec<CertificateInfo>, String> {
    let mut out = Vec::new();
    walk(der, 0, &mut out);
    match out.is_empty() {
        true => Err("not a certificate, PEM or PKCS#7 with certificates".into()),
        false => Ok(out),
    }
}

fn walk(mut bytes: &[u8], depth: usize, out: &mut Vec<CertificateInfo>) {
    while let Some((tag, value, whole, rest)) = tlv(bytes) {
        let constructed = tag & 0x20 != 0;
        let is_certificate = tag == 0x30
            && CertificateInfo::from_der(whole)
                .map(|c| out.push(c))
                .is_ok();
        if constructed && !is_certificate && depth < 8 {
            walk(value, depth + 1, out);
        }
        bytes = rest;
    }
}

/// One DER tag-length-value: (tag, value, the whole TLV, what follows).
type Tlv<'a> = (u8, &'a [u8], &'a [u8], &'a [u8]);

/// The first TLV of `bytes`. Single-byte tags and definite lengths only (DER).
fn tlv(bytes: &[u8]) -> Option<Tlv<'_>> {
    let (&tag, rest) = bytes.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let len = rest[..n]
            .iter()
            .fold(0usize, |l, b| (l << 8) | usize::from(*b));
        (len, &rest[n..])
    };
    if rest.len() < len {
        return None;
    }
    let header = bytes.len() - rest.len();
    Some((tag, &rest[..len], &bytes[..header + len], &rest[len..]))
}

/// What one `caIssuers` URL gave: its certificates, or why none.
type Fetched = Result<Vec<CertificateInfo>, String>;

/// Fetches `caIssuers` URLs (each once per fetcher) within a timeout and a size cap.
#[derive(Clone)]
pub struct IssuerFetcher {
    http: reqwest::Client,
    timeout: Duration,
    max_bytes: usize,
    fetched: Arc<Mutex<HashMap<String, Fetched>>>,
}

impl IssuerFetcher {
    /// `timeout` bounds each download from connect to the last byte (as a whole, in
    /// [`IssuerFetcher::fetch`]).
    pub fn new(timeout: Duration, max_bytes: usize) -> Self {
        IssuerFetcher {
            http: reqwest::Client::builder()
                .connect_timeout(timeout)
                .redirect(reqwest::redirect::Policy::limited(3))
                .build()
                .unwrap_or_default(),
            timeout,
            max_bytes,
            fetched: Arc::default(),
        }
    }

    /// The certificates at `url`, or why there are none (in words, for the problem).
    pub async fn fetch(&self, url: &str) -> Result<Vec<CertificateInfo>, String> {
        let known = self
            .fetched
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(url)
            .cloned();
        if let Some(known) = known {
            return known;
        }
        let result = match tokio::time::timeout(self.timeout, self.download(url)).await {
            Ok(Ok(body)) => issuer_certificates(&body),
            Ok(Err(e)) => Err(e),
            Err(_) => Err(format!("no answer within {:?}", self.timeout)),
        }
        .map_err(|e| format!("the issuer at {url} could not be used: {e}"));
        self.fetched
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(url.to_owned(), result.clone());
        result
    }

    async fn download(&self, url: &str) -> Result<Vec<u8>, String> {
        let mut response = self
            .http
            .get(url)
            .send()
            .await
            .and_then(|r| r.error_for_status())
            .map_err(|e| e.to_string())?;
        let too_large = || format!("larger than {} bytes", self.max_bytes);
        if response
            .content_length()
            .is_some_and(|n| n > self.max_bytes as u64)
        {
            return Err(too_large());
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| e.to_string())? {
            if body.len() + chunk.len() > self.max_bytes {
                return Err(too_large());
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }

    /// Look for the issuers a presented chain lacks: the known ones (`pool`) first, then the
    /// `caIssuers` URL of the top of the chain, again above what was found, up to three
    /// levels. Returns what was found and, if a lookup failed, why.
    pub async fn missing_issuers(
        &self,
        chain: &[CertificateInfo],
        pool: &[CertificateInfo],
    ) -> (Vec<FoundIssuer>, String) {
        let mut found: Vec<FoundIssuer> = Vec::new();
        let mut why = String::new();
        let Some(mut top) = chain.last().cloned() else {
            return (found, why);
        };
        for _ in 0..MAX_FETCH_DEPTH {
            if top.self_signed {
                break;
            }
            if let Some(known) = pool.iter().find(|c| c.subject == top.issuer) {
                found.push(FoundIssuer {
                    certificate: known.clone(),
                    found: "among the intermediates other servers of this scan sent".into(),
                });
                top = known.clone();
                continue;
            }
            let urls = ca_issuer_urls(&top.der);
            let Some(url) = urls.first() else {
                why = format!(
                    "{:?} names no caIssuers URL to fetch its issuer from",
                    top.subject_cn.as_deref().unwrap_or(&top.subject)
                );
                break;
            };
            match self.fetch(url).await {
                Ok(certs) => match certs.into_iter().find(|c| c.subject == top.issuer) {
                    Some(issuer) => {
                        found.push(FoundIssuer {
                            certificate: issuer.clone(),
                            found: format!("at {url}"),
                        });
                        top = issuer;
                    }
                    None => {
                        why = format!("the certificate at {url} is not the issuer");
                        break;
                    }
                },
                Err(e) => {
                    why = e;
                    break;
                }
            }
        }
        (found, why)
    }
}

impl Default for IssuerFetcher {
    fn default() -> Self {
        IssuerFetcher::new(Duration::from_secs(5), DEFAULT_MAX_ISSUER_BYTES)
    }
}

/// The intermediates presented in `chains`: where a server omits one that another server
/// of the same scan sends, it is known without a download.
pub fn intermediates_of<'a>(
    chains: impl Iterator<Item = &'a [CertificateInfo]>,
) -> Vec<CertificateInfo> {
    let mut pool: Vec<CertificateInfo> = Vec::new();
    for cert in chains.flat_map(|chain| chain.iter().skip(1)) {
        if cert.is_ca
            && !cert.self_signed
            && !pool
                .iter()
                .any(|c| c.fingerprint_sha256 == cert.fingerprint_sha256)
        {
            pool.push(cert.clone());
        }
    }
    pool
}

/// Explain an endpoint's `untrusted-chain` (`findings`, leaf first): look for the issuers its
/// server did not send and replace the problem with `missing-intermediate` when the chain
/// then completes, or with an `untrusted-chain` that says why no issuer was found.
pub async fn explain_chain(
    findings: &mut [crate::Finding],
    pool: &[CertificateInfo],
    fetcher: &IssuerFetcher,
    trust: &TrustStore,
    now: DateTime<Utc>,
) {
    let Some(leaf) = findings.first() else {
        return;
    };
    let Some(at) = leaf
        .problems
        .iter()
        .position(|p| p.code == "untrusted-chain")
    else {
        return;
    };
    let chain: Vec<CertificateInfo> = findings.iter().map(|f| f.certificate.clone()).collect();
    let (found, why) = fetcher.missing_issuers(&chain, pool).await;
    match check_chain_with(&chain, trust, &found, &why, now) {
        Some(problem) => findings[0].problems[at] = problem,
        None => {
            findings[0].problems.remove(at);
        }
    }
}

/// [`explain_chain`] for every endpoint observed, with the intermediates all of them sent.
pub async fn explain_chains(
    observed: &mut [ObservedSource],
    fetcher: &IssuerFetcher,
    trust: &TrustStore,
    now: DateTime<Utc>,
) {
    let chains: Vec<Vec<CertificateInfo>> = observed
        .iter()
        .filter_map(|o| o.outcome.as_ref().ok())
        .map(|findings| findings.iter().map(|f| f.certificate.clone()).collect())
        .collect();
    let pool = intermediates_of(chains.iter().map(Vec::as_slice));
    for source in observed.iter_mut() {
        if let (SourceKind::Endpoint, Ok(findings)) = (source.kind, &mut source.outcome) {
            explain_chain(findings, &pool, fetcher, trust, now).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn der_walking_stops_at_truncated_and_overlong_lengths() {
        assert!(tlv(&[0x30]).is_none());
        assert!(tlv(&[0x30, 0x05, 1, 2]).is_none());
        assert!(tlv(&[0x30, 0x85, 1, 1, 1, 1, 1]).is_none());
        let (tag, value, whole, rest) = tlv(&[0x04, 0x02, 7, 8, 9]).unwrap();
        assert_eq!(
            (tag, value, whole, rest),
            (0x04, &[7u8, 8][..], &[4u8, 2, 7, 8][..], &[9u8][..])
        );
        assert!(issuer_certificates(b"<html>not here</html>").is_err());
        assert!(
            issuer_certificates(b"-----BEGIN PKCS7-----\nnot base64\n-----END PKCS7-----").is_err()
        );
    }
}
