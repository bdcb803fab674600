//! Property-based fuzz tests of the certificate file parsers (issue 19): PEM, DER, PKCS#12,
//! JKS/JCEKS and Kubernetes secrets in YAML. Any bytes give a report (certificates or an
//! error), never a panic, in bounded time: small inputs, a fixed number of cases.

use crate::{files::parse_certificate_file, keystores::java_keystore_certificates};
use proptest::prelude::*;
use std::path::PathBuf;

fn hostile_bytes() -> impl Strategy<Value = Vec<u8>> {
    let prefixes = prop::sample::select(vec![
        b"".to_vec(),
        b"-----BEGIN CERTIFICATE-----\n".to_vec(),
        b"-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----\n".to_vec(),
        vec![0xfe, 0xed, 0xfe, 0xed, 0, 0, 0, 2], // JKS magic, version 2
        vec![0xce, 0xce, 0xce, 0xce, 0, 0, 0, 2], // JCEKS magic
        vec![0x30, 0x82, 0x01, 0x00, 0x02, 0x01, 0x03], // DER SEQUENCE, PKCS#12 version 3
        b"apiVersion: v1\nkind: Secret\ntype: kubernetes.io/tls\ndata:\n  tls.crt: ".to_vec(),
    ]);
    (prefixes, prop::collection::vec(any::<u8>(), 0..512)).prop_map(|(mut p, tail)| {
        p.extend(tail);
        p
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn fuzz_certificate_files(bytes in hostile_bytes()) {
        for name in ["x.pem", "x.der", "x.p12", "x.jks", "secret.yaml"] {
            let report = parse_certificate_file(PathBuf::from(name), &bytes);
            // A report either found something or says why not.
            prop_assert!(!report.certificates.is_empty() || report.error.is_some() || report.private_keys_skipped > 0);
        }
        let _ = java_keystore_certificates(&bytes);
    }
}
