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

/// `None` when `chain[0]` (the leaf) chains to a trust anchor through `chain[1..]`, else an
/// "untrusted or incomplete chain" problem with webpki's reason. Expiry is checked on its
/// own, so the chain is verified at a moment inside the leaf's validity.
pub fn check_chain(
    chain: &[CertificateInfo],
    trust: &TrustStore,
    now: DateTime<Utc>,
) -> Option<Problem> {
    let leaf = chain.first()?;
    let leaf_der = CertificateDer::from(leaf.der.as_slice());
    let end_entity = match webpki::EndEntityCert::try_from(&leaf_der) {
        Ok(ee) => ee,
        Err(e) => return Some(untrusted(format!("leaf not usable by webpki: {e:?}"))),
    };
    let intermediates: Vec<CertificateDer<'_>> = chain[1..]
        .iter()
        .map(|c| CertificateDer::from(c.der.as_slice()))
        .collect();
    let at = now
        .clamp(leaf.not_before, leaf.not_after)
        .timestamp()
        .max(0) as u64;
    let anchors = trust.anchors();
    let verdict = end_entity.verify_for_usage(
        rustls::crypto::ring::default_provider()
            .signature_verification_algorithms
            .all,
        &anchors,
        &intermediates,
        UnixTime::since_unix_epoch(std::time::Duration::from_secs(at)),
        webpki::KeyUsage::server_auth(),
        None,
        None,
    );
    match verdict {
        Ok(_) => None,
        Err(e) => Some(untrusted(format!("{e:?}"))),
    }
}

fn untrusted(reason: String) -> Problem {
    Problem::new(
        "untrusted-chain",
        Severity::Critical,
        format!("untrusted or incomplete chain: {reason}"),
    )
}
