//! Does a presented chain lead to a trust anchor? rustls-webpki against webpki-roots plus
//! optional extra CA certificates (a private PKI).

use crate::model::{CertificateInfo, Problem, Severity};
use chrono::{DateTime, Utc};
use rustls::pki_types::{pem::PemObject, CertificateDer, TrustAnchor, UnixTime};
use std::path::Path;

/// The trust anchors chains are verified against.
#[derive(Debug, Clone, Default)]
pub struct TrustStore {
    extra: Vec<TrustAnchor<'static>>,
}

#[derive(Debug, thiserror::Error)]
pub enum TrustStoreError {
    #[error("cannot read CA file {path}: {source}")]
    Unreadable {
        path: String,
        source: std::io::Error,
    },
    #[error("CA file {path} has no usable certificate: {reason}")]
    NoAnchor { path: String, reason: String },
}

impl TrustStore {
    /// webpki-roots (Mozilla's list) only.
    pub fn public_roots() -> Self {
        TrustStore::default()
    }

    /// Also trust every certificate in the PEM file at `path`.
    pub fn add_pem_file(&mut self, path: &Path) -> Result<usize, TrustStoreError> {
        let display = path.display().to_string();
        let bytes = std::fs::read(path).map_err(|source| TrustStoreError::Unreadable {
            path: display.clone(),
            source,
        })?;
        let mut added = 0;
        for der in CertificateDer::pem_slice_iter(&bytes) {
            let der = der.map_err(|e| TrustStoreError::NoAnchor {
                path: display.clone(),
                reason: e.to_string(),
            })?;
            let anchor =
                webpki::anchor_from_trusted_cert(&der).map_err(|e| TrustStoreError::NoAnchor {
                    path: display.clone(),
                    reason: format!("{e:?}"),
                })?;
            self.extra.push(anchor.to_owned());
            added += 1;
        }
        if added == 0 {
            return Err(TrustStoreError::NoAnchor {
                path: display,
                reason: "no CERTIFICATE block".into(),
            });
        }
        Ok(added)
    }

    fn anchors(&self) -> Vec<TrustAnchor<'_>> {
        let mut anchors = webpki_roots::TLS_SERVER_ROOTS.to_vec();
        anchors.extend(self.extra.iter().cloned());
        anchors
    }
}

/// An issuer the server did not send, found elsewhere: at the AIA `caIssuers` URL of a
/// certificate of the chain, or presented by another endpoint of the same scan.
#[derive(Debug, Clone)]
pub struct FoundIssuer {
    pub certificate: CertificateInfo,
    /// Where it was found, in words: `at http://ca.example/int.der`.
    pub found: String,
}

/// `None` when `chain[0]` (the leaf) chains to a trust anchor through `chain[1..]`, else
/// what is wrong with the chain (see [`check_chain_with`]).
pub fn check_chain(
    chain: &[CertificateInfo],
    trust: &TrustStore,
    now: DateTime<Utc>,
) -> Option<Problem> {
    check_chain_with(chain, trust, &[], "", now)
}

/// `None` when the presented chain leads to a trust anchor. Otherwise one of three problems,
/// each with its own fix:
/// - `expired-intermediate`: an intermediate the server sends has expired;
/// - `missing-intermediate`: the server did not send an intermediate, but with the issuers
///   in `found` the chain is complete;
/// - `untrusted-chain`: issued by a CA nobody trusts (or the chain cannot be completed), with
///   webpki's reason and `unfound` (why no issuer was found, if one was looked for).
///
/// Expiry of the leaf is checked on its own, so the chain is verified at a moment inside the
/// leaf's validity.
pub fn check_chain_with(
    chain: &[CertificateInfo],
    trust: &TrustStore,
    found: &[FoundIssuer],
    unfound: &str,
    now: DateTime<Utc>,
) -> Option<Problem> {
    let leaf = chain.first()?;
    let leaf_der = CertificateDer::from(leaf.der.as_slice());
    let end_entity = match webpki::EndEntityCert::try_from(&leaf_der) {
        Ok(ee) => ee,
        Err(e) => return Some(untrusted(leaf, format!("leaf not usable by webpki: {e:?}"))),
    };
    let mut intermediates: Vec<CertificateDer<'_>> = chain[1..]
        .iter()
        .map(|c| CertificateDer::from(c.der.as_slice()))
        .collect();
    let at = now
        .clamp(leaf.not_before, leaf.not_after)
        .timestamp()
        .max(0) as u64;
    let anchors = trust.anchors();
    let verify = |intermediates: &[CertificateDer<'_>]| {
        end_entity
            .verify_for_usage(
                rustls::crypto::ring::default_provider()
                    .signature_verification_algorithms
                    .all,
                &anchors,
                intermediates,
                UnixTime::since_unix_epoch(std::time::Duration::from_secs(at)),
                webpki::KeyUsage::server_auth(),
                None,
                None,
            )
            .map(|_| ())
    };
    let error = match verify(&intermediates) {
        Ok(()) => return None,
        Err(e) => e,
    };
    if let Some(expired) = chain[1..]
        .iter()
        .find(|c| c.is_ca && !c.self_signed && c.not_after < now)
    {
        return Some(expired_intermediate(expired));
    }
    if matches!(error, webpki::Error::UnknownIssuer) && !found.is_empty() {
        intermediates.extend(
            found
                .iter()
                .map(|f| CertificateDer::from(f.certificate.der.as_slice())),
        );
        if verify(&intermediates).is_ok() {
            return Some(missing_intermediate(chain, found));
        }
    }
    let reason = match unfound {
        "" => format!("{error:?}"),
        why => format!("{error:?}; {why}"),
    };
    Some(untrusted(chain.last().unwrap_or(leaf), reason))
}

fn untrusted(top: &CertificateInfo, reason: String) -> Problem {
    let issuer = top.issuer_cn.as_deref().unwrap_or(&top.issuer);
    Problem::new(
        "untrusted-chain",
        Severity::Critical,
        format!(
            "issued by a CA nobody trusts ({issuer}): {reason}. For a private CA, add its root \
             to the trusted CA bundle (--ca-file, or the server's CA bundle); for a public name, \
             get the certificate from a publicly trusted CA"
        ),
    )
}

fn missing_intermediate(chain: &[CertificateInfo], found: &[FoundIssuer]) -> Problem {
    let top = chain.last().unwrap_or(&chain[0]);
    let named = found
        .iter()
        .find(|f| f.certificate.subject == top.issuer)
        .unwrap_or(&found[0]);
    let name = named
        .certificate
        .subject_cn
        .as_deref()
        .unwrap_or(&named.certificate.subject);
    Problem::new(
        "missing-intermediate",
        Severity::Critical,
        format!(
            "the server did not send the intermediate certificate {name:?} (found {}): \
             browsers may fetch it, but curl, Java, Go, Python and mobile apps refuse the \
             connection. Configure the server to send the certificate followed by the \
             intermediate (the CA's full chain file)",
            named.found
        ),
    )
}

fn expired_intermediate(expired: &CertificateInfo) -> Problem {
    let name = expired.subject_cn.as_deref().unwrap_or(&expired.subject);
    Problem::new(
        "expired-intermediate",
        Severity::Critical,
        format!(
            "the server sends the intermediate certificate {name:?}, which expired on {}: \
             replace it in the server's chain file with the CA's current intermediate (the \
             certificate itself need not change)",
            expired.not_after.format("%Y-%m-%d")
        ),
    )
}
