//! The certificates practice: find certificates (in files and on TLS endpoints, including
//! SMTP STARTTLS), say what is wrong with them, and keep them: each certificate once, where
//! it is deployed, and the renewal that follows it until the replacement is served everywhere.
//!
//! - [`files::scan_paths`] and [`tls::scan_endpoints`] discover certificates and report
//!   per file / per endpoint, never stopping at the first bad one;
//! - [`checks`] and [`chain`] are pure verdicts over [`CertificateInfo`];
//! - [`assess_file`] and [`assess_endpoint`] put the two together as [`Finding`]s.

pub mod aia;
pub mod assets;
pub mod chain;
pub mod checks;
pub mod error;
pub mod files;
pub mod inventory;
pub mod keystores;
pub mod metrics;
pub mod model;
pub mod practice;
pub mod protocols;
pub mod renewal;
pub mod rescan;
pub mod revocation;
mod smtp;
pub mod starttls;
pub mod store;
pub mod sweep;
pub mod targets;
pub mod tls;

pub use chain::TrustStore;
pub use checks::CheckContext;
pub use error::{CertError, EndpointError, FileError};
pub use files::{scan_paths, scan_paths_with, FileReport};
pub use model::{CertificateInfo, KeyType, Problem, Severity, Sighting, Source};
pub use store::CertStore;
pub use tls::{scan_endpoints, scan_targets, EndpointReport, ScanOptions, StartTls, Target};

use serde::Serialize;

/// One certificate at one place, with what the checks found.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    pub sighting: Sighting,
    pub certificate: CertificateInfo,
    pub problems: Vec<Problem>,
}

/// The certificates of a file. A CA certificate in a file is a trust anchor or an
/// intermediate; anything else is judged as a leaf.
pub fn assess_file(report: &FileReport, ctx: &CheckContext) -> Vec<Finding> {
    report
        .certificates
        .iter()
        .enumerate()
        .map(|(position, cert)| Finding {
            sighting: Sighting {
                source: Source::File {
                    path: report.path.clone(),
                },
                chain_position: position,
            },
            problems: checks::check_certificate(cert, !cert.is_ca, ctx),
            certificate: cert.clone(),
        })
        .collect()
}

/// The chain an endpoint presented: every certificate on its own, and the leaf against the
/// name connected to and the trust anchors.
pub fn assess_endpoint(
    report: &EndpointReport,
    trust: &TrustStore,
    ctx: &CheckContext,
) -> Vec<Finding> {
    let (Ok(chain), Some(target)) = (&report.result, &report.parsed) else {
        return Vec::new();
    };
    let source = Source::Endpoint {
        address: report.target.clone(),
        sni: target.sni().map(str::to_owned),
    };
    chain
        .iter()
        .enumerate()
        .map(|(position, cert)| {
            let mut problems = checks::check_certificate(cert, position == 0, ctx);
            if position == 0 {
                problems.extend(protocols::old_protocol_problem(&report.protocols));
                problems.extend(checks::check_hostname(cert, target.checked_name()));
                // A self-signed leaf is already reported as such; "untrusted" adds nothing.
                if !cert.self_signed {
                    problems.extend(chain::check_chain(chain, trust, ctx.now));
                }
            }
            Finding {
                sighting: Sighting {
                    source: source.clone(),
                    chain_position: position,
                },
                certificate: cert.clone(),
                problems,
            }
        })
        .collect()
}

#[cfg(test)]
mod fuzz_tests;
